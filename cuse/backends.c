/* SPDX-License-Identifier: MIT */
/*
 * Turning the configuration into backend objects: IOMMU drivers, groups and
 * devices registered with the core. "emu" is the emulated backend (software
 * type1 IOMMU, emulated PCI models); "fake" the test backend's device,
 * which the emulated IOMMU serves too.
 */
#include <string.h>

#include "daemon.h"
#include "emu-iommu.h"
#include "emu-pci.h"
#include "fake.h"
#include "kernel.h"
#include "vfc-log.h"

static struct vfc_kernel *kernel_backend;

static struct vfc_emu_iommu_config emu_iommu_cfg;
static struct vfc_emu_pci **emu_devices;
static unsigned int n_emu_devices;

static int add_emu_device(struct vfc_daemon *d, const struct vfc_cfg_device *cd,
			  struct vfc_group *g)
{
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
	arr = realloc(emu_devices, (n_emu_devices + 1) * sizeof(*arr));
	if (!arr) {
		vfc_emu_pci_free(pci);
		return -ENOMEM;
	}
	emu_devices = arr;
	emu_devices[n_emu_devices++] = pci;
	return vfc_emu_pci_register(pci, g, cd->name, NULL);
}

static struct vfc_fake_device **fake_devices;
static unsigned int n_fake_devices;

static int add_fake_device(struct vfc_daemon *d, const struct vfc_cfg_device *cd,
			   struct vfc_group *g)
{
	struct vfc_fake_device *fd, **arr;

	if (strcmp(cd->model, "fake")) {
		vfc_err("device \"%s\": backend fake has only model fake", cd->name);
		return -EINVAL;
	}
	arr = realloc(fake_devices, (n_fake_devices + 1) * sizeof(*arr));
	if (!arr)
		return -ENOMEM;
	fake_devices = arr;	/* realloc may have moved and freed the old array */
	fd = calloc(1, sizeof(*fd));
	if (!fd)
		return -ENOMEM;
	fake_devices[n_fake_devices++] = fd;
	vfc_fake_device_init(fd, 0x1234, 0x11e8);
	return vfc_group_add_device(g, cd->name, &vfc_fake_device_ops, fd, NULL);
}

int vfc_backends_setup(struct vfc_daemon *d)
{
	const struct vfc_config *cfg = d->cfg;
	int r;

	vfc_emu_iommu_config_init(&emu_iommu_cfg);
	emu_iommu_cfg.dma_entry_limit = (unsigned int)cfg->dma_entry_limit;
	r = vfc_core_add_iommu_driver(d->core, &vfc_emu_iommu_ops, &emu_iommu_cfg);
	if (r < 0)
		return r;
	/* Groups of emulated devices are ours to make, bound to the software
	 * IOMMU; the kernel backend makes the groups of real devices. A group
	 * holds devices of one backend only. */
	for (unsigned int i = 0; i < cfg->n_groups; i++) {
		unsigned int id = cfg->groups[i].id, kernel = 0, other = 0;
		struct vfc_group *g;

		for (unsigned int j = 0; j < cfg->n_devices; j++)
			if (cfg->devices[j].group != id)
				continue;
			else if (!strcmp(cfg->devices[j].backend, "kernel"))
				kernel++;
			else
				other++;
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
		struct vfc_group *g = vfc_core_find_group(d->core, cd->group);

		if (!strcmp(cd->backend, "kernel")) {
			if (!kernel_backend) {
				r = vfc_kernel_new(d->core, d->priv, &kernel_backend);
				if (r >= 0)
					r = vfc_kernel_monitor_start(kernel_backend);
				if (r < 0)
					return r;
			}
			r = vfc_kernel_add_device(kernel_backend, cd->name);
		} else if (!strcmp(cd->backend, "emu")) {
			r = add_emu_device(d, cd, g);
		} else if (!strcmp(cd->backend, "fake")) {
			r = add_fake_device(d, cd, g);
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
	for (unsigned int i = 0; i < n_fake_devices; i++) {
		vfc_fake_device_fini(fake_devices[i]);
		free(fake_devices[i]);
	}
	free(fake_devices);
	fake_devices = NULL;
	n_fake_devices = 0;
	for (unsigned int i = 0; i < n_emu_devices; i++)
		vfc_emu_pci_free(emu_devices[i]);
	free(emu_devices);
	emu_devices = NULL;
	n_emu_devices = 0;
}
