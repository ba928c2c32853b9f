/* SPDX-License-Identifier: MIT */
/*
 * Turning the configuration into backend objects: IOMMU drivers, groups and
 * devices registered with the core, and freeing them at exit. Each backend
 * is a row of one table, {name, setup, add_device, teardown}, found by the
 * name a device line gives; what the backends make is kept in the daemon
 * (struct vfc_backend_state, daemon.h). "emu" is the emulated backend
 * (software type1 IOMMU, emulated PCI models); "fake" the test backend's
 * device, which the emulated IOMMU serves too; "kernel" real devices bound
 * to vfio-pci, in the kernel's groups.
 */
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "emu-iommu.h"
#include "emu-pci.h"
#include "fake.h"
#include "kernel.h"
#include "vfc-log.h"
#include "vfc-macro.h"

/*
 * struct vfc_backend - one kind of device.
 * @name: the device line's backend=.
 * @kernel_groups: its groups are the kernel's, made by the backend itself;
 *                 otherwise the daemon makes them, bound to the software
 *                 IOMMU.
 * @setup: at start-up, before any device; NULL for nothing.
 * @add_device: one configured device, and its group in the core if one
 *              exists yet.
 * @teardown: free what setup and add_device made; every file of the core
 *            has been released. NULL for nothing.
 */
struct vfc_backend {
	const char *name;
	bool kernel_groups;
	int (*setup)(struct vfc_daemon *d);
	int (*add_device)(struct vfc_daemon *d, const struct vfc_cfg_device *cd,
			  struct vfc_group *g);
	void (*teardown)(struct vfc_daemon *d);
};

static int emu_setup(struct vfc_daemon *d)
{
	struct vfc_backend_state *s = &d->backends;

	s->emu_iommu_cfg = calloc(1, sizeof(*s->emu_iommu_cfg));
	if (!s->emu_iommu_cfg)
		return -ENOMEM;
	vfc_emu_iommu_config_init(s->emu_iommu_cfg);
	s->emu_iommu_cfg->dma_entry_limit = (unsigned int)d->cfg->dma_entry_limit;
	return vfc_core_add_iommu_driver(d->core, &vfc_emu_iommu_ops, s->emu_iommu_cfg);
}

static int emu_add_device(struct vfc_daemon *d, const struct vfc_cfg_device *cd,
			  struct vfc_group *g)
{
	struct vfc_backend_state *s = &d->backends;
	struct vfc_emu_pci *pci, **arr;
	int r;

	r = vfc_emu_pci_create(cd->model, cd->options, &pci);
	if (r == -ENOENT) {
		vfc_err("device \"%s\": no emulated model \"%s\" (edu, pcitest, nvme)", cd->name,
			cd->model);
		return -EINVAL;
	}
	if (r < 0)
		return r;
	arr = realloc(s->emu_devices, (s->n_emu_devices + 1) * sizeof(*arr));
	if (!arr) {
		vfc_emu_pci_free(pci);
		return -ENOMEM;
	}
	s->emu_devices = arr;
	s->emu_devices[s->n_emu_devices++] = pci;
	return vfc_emu_pci_register(pci, g, cd->name, NULL);
}

/* After the kernel's and fake devices: the IOMMU config outlives the core's
 * last container, and the core never reads it again. */
static void emu_teardown(struct vfc_daemon *d)
{
	struct vfc_backend_state *s = &d->backends;

	for (unsigned int i = 0; i < s->n_emu_devices; i++)
		vfc_emu_pci_free(s->emu_devices[i]);
	free(s->emu_devices);
	s->emu_devices = NULL;
	s->n_emu_devices = 0;
	free(s->emu_iommu_cfg);
	s->emu_iommu_cfg = NULL;
}

static int fake_add_device(struct vfc_daemon *d, const struct vfc_cfg_device *cd,
			   struct vfc_group *g)
{
	struct vfc_backend_state *s = &d->backends;
	struct vfc_fake_device *fd, **arr;

	if (strcmp(cd->model, "fake")) {
		vfc_err("device \"%s\": backend fake has only model fake", cd->name);
		return -EINVAL;
	}
	arr = realloc(s->fake_devices, (s->n_fake_devices + 1) * sizeof(*arr));
	if (!arr)
		return -ENOMEM;
	s->fake_devices = arr;	/* realloc may have moved and freed the old array */
	fd = calloc(1, sizeof(*fd));
	if (!fd)
		return -ENOMEM;
	s->fake_devices[s->n_fake_devices++] = fd;
	vfc_fake_device_init(fd, 0x1234, 0x11e8);
	return vfc_group_add_device(g, cd->name, &vfc_fake_device_ops, fd, NULL);
}

static void fake_teardown(struct vfc_daemon *d)
{
	struct vfc_backend_state *s = &d->backends;

	for (unsigned int i = 0; i < s->n_fake_devices; i++) {
		vfc_fake_device_fini(s->fake_devices[i]);
		free(s->fake_devices[i]);
	}
	free(s->fake_devices);
	s->fake_devices = NULL;
	s->n_fake_devices = 0;
}

/* The kernel backend comes with its first device. */
static int kernel_add_device(struct vfc_daemon *d, const struct vfc_cfg_device *cd,
			     struct vfc_group *g)
{
	struct vfc_backend_state *s = &d->backends;
	int r;

	if (!s->kernel) {
		r = vfc_kernel_new(d->core, d->priv, &s->kernel);
		if (r >= 0)
			r = vfc_kernel_monitor_start(s->kernel);
		if (r < 0)
			return r;
	}
	return vfc_kernel_add_device(s->kernel, cd->name);
}

/* Its monitor thread goes first: it adds and removes devices of the core. */
static void kernel_teardown(struct vfc_daemon *d)
{
	d->backends.kernel = vfc_kernel_free(d->backends.kernel);
}

/* Torn down in this order, set up in the reverse one. */
static const struct vfc_backend backends[] = {
	{ .name = "kernel", .kernel_groups = true, .add_device = kernel_add_device,
	  .teardown = kernel_teardown },
	{ .name = "fake", .add_device = fake_add_device, .teardown = fake_teardown },
	{ .name = "emu", .setup = emu_setup, .add_device = emu_add_device,
	  .teardown = emu_teardown },
};

static const struct vfc_backend *backend_find(const char *name)
{
	for (unsigned int i = 0; i < VFC_ARRAY_SIZE(backends); i++)
		if (!strcmp(backends[i].name, name))
			return &backends[i];
	return NULL;
}

int vfc_backends_setup(struct vfc_daemon *d)
{
	const struct vfc_config *cfg = d->cfg;
	int r;

	for (unsigned int i = VFC_ARRAY_SIZE(backends); i-- > 0;)
		if (backends[i].setup) {
			r = backends[i].setup(d);
			if (r < 0)
				return r;
		}
	/* Groups of emulated devices are ours to make, bound to the software
	 * IOMMU; the kernel backend makes the groups of real devices. A group
	 * holds devices of one backend only. */
	for (unsigned int i = 0; i < cfg->n_groups; i++) {
		unsigned int id = cfg->groups[i].id, kernel = 0, other = 0;
		struct vfc_group *g;

		for (unsigned int j = 0; j < cfg->n_devices; j++) {
			const struct vfc_backend *b = backend_find(cfg->devices[j].backend);

			if (cfg->devices[j].group != id)
				continue;
			else if (b && b->kernel_groups)
				kernel++;
			else
				other++;
		}
		if (kernel && other) {
			vfc_err("group %u: real (backend=kernel) and emulated devices cannot share "
				"a group", id);
			return -EINVAL;
		}
		if (kernel)
			continue;
		r = vfc_core_add_group(d->core, id, NULL, &g);
		if (r < 0)
			return r;
		vfc_group_set_iommu_ops(g, &vfc_emu_iommu_ops);
	}
	for (unsigned int i = 0; i < cfg->n_devices; i++) {
		const struct vfc_cfg_device *cd = &cfg->devices[i];
		const struct vfc_backend *b = backend_find(cd->backend);

		if (b) {
			r = b->add_device(d, cd, vfc_core_find_group(d->core, cd->group));
		} else {
			vfc_err("device \"%s\": unknown backend \"%s\"", cd->name, cd->backend);
			r = -EINVAL;
		}
		if (r < 0) {
			vfc_err("device \"%s\": cannot be set up: %s", cd->name, strerror(-r));
			return r;
		}
		vfc_info("device \"%s\": %s/%s in group %u", cd->name, cd->backend, cd->model,
			 cd->group);
	}
	return 0;
}

void vfc_backends_teardown(struct vfc_daemon *d)
{
	for (unsigned int i = 0; i < VFC_ARRAY_SIZE(backends); i++)
		if (backends[i].teardown)
			backends[i].teardown(d);
}
