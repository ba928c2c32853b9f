/* SPDX-License-Identifier: MIT */
/*
 * The core object: its lock, the IOMMU drivers, and the registry of groups
 * and devices that backends announce. Groups and devices live as long as
 * the core; what clients open is refcounted in container.c, group.c and
 * device.c.
 */
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "vfc-log.h"
#include "vfc-private.h"

int vfc_core_new(struct vfc_core **ret_core)
{
	struct vfc_core *core = calloc(1, sizeof(*core));

	if (!core)
		return -ENOMEM;
	pthread_mutex_init(&core->lock, NULL);
	core->next_container_id = 1;
	*ret_core = core;
	return 0;
}

struct vfc_core *vfc_core_free(struct vfc_core *core)
{
	struct vfc_group *g, *gnext;

	if (!core)
		return NULL;
	if (core->containers)
		vfc_err("core: freed with container %lu still open", core->containers->id);
	for (g = core->groups; g; g = gnext) {
		struct vfc_device *d, *dnext;

		gnext = g->next;
		if (g->open_refs)
			vfc_err("group %u: freed while open", g->id);
		for (d = g->devices; d; d = dnext) {
			dnext = d->next;
			vfc_device_free(d);
		}
		free(g);
	}
	pthread_mutex_destroy(&core->lock);
	free(core);
	return NULL;
}

int vfc_core_add_iommu_driver(struct vfc_core *core, const struct vfc_iommu_ops *ops,
			      void *driver_data)
{
	int r = 0;

	pthread_mutex_lock(&core->lock);
	if (core->n_drivers == VFC_MAX_IOMMU_DRIVERS)
		r = -ENOMEM;
	else
		core->drivers[core->n_drivers++] = (struct vfc_iommu_driver){ ops, driver_data };
	pthread_mutex_unlock(&core->lock);
	return r;
}

static struct vfc_group *find_group_locked(struct vfc_core *core, unsigned int id)
{
	for (struct vfc_group *g = core->groups; g; g = g->next)
		if (g->id == id)
			return g;
	return NULL;
}

struct vfc_group *vfc_core_find_group(struct vfc_core *core, unsigned int id)
{
	struct vfc_group *g;

	pthread_mutex_lock(&core->lock);
	g = find_group_locked(core, id);
	pthread_mutex_unlock(&core->lock);
	return g;
}

struct vfc_group *vfc_core_next_group(struct vfc_core *core, struct vfc_group *prev)
{
	struct vfc_group *g;

	pthread_mutex_lock(&core->lock);
	g = prev ? prev->next : core->groups;
	pthread_mutex_unlock(&core->lock);
	return g;
}

int vfc_core_add_group(struct vfc_core *core, unsigned int id, void *priv,
		       struct vfc_group **ret_group)
{
	struct vfc_group *g;

	pthread_mutex_lock(&core->lock);
	if (find_group_locked(core, id)) {
		pthread_mutex_unlock(&core->lock);
		return -EEXIST;
	}
	g = calloc(1, sizeof(*g));
	if (!g) {
		pthread_mutex_unlock(&core->lock);
		return -ENOMEM;
	}
	g->core = core;
	g->id = id;
	g->priv = priv;
	g->viable = true;
	if (core->groups_tail)
		core->groups_tail->next = g;
	else
		core->groups = g;
	core->groups_tail = g;
	pthread_mutex_unlock(&core->lock);
	if (ret_group)
		*ret_group = g;
	return 0;
}

static bool device_name_taken_locked(struct vfc_core *core, const char *name)
{
	for (struct vfc_group *g = core->groups; g; g = g->next)
		for (struct vfc_device *d = g->devices; d; d = d->next)
			if (!strcmp(d->name, name))
				return true;
	return false;
}

int vfc_group_add_device(struct vfc_group *group, const char *name,
			 const struct vfc_device_ops *ops, void *priv,
			 struct vfc_device **ret_device)
{
	struct vfc_core *core = group->core;
	struct vfio_device_info info = { .argsz = sizeof(info) };
	struct vfc_device *d;
	size_t len = strnlen(name, 4096);
	int r;

	if (!len || len >= 4096)
		return -EINVAL;
	r = ops->get_info(priv, &info);
	if (r < 0)
		return r;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->name = strdup(name);
	if (!d->name) {
		free(d);
		return -ENOMEM;
	}
	d->group = group;
	d->ops = ops;
	d->priv = priv;
	d->info = info;
	pthread_mutex_init(&d->open_lock, NULL);

	pthread_mutex_lock(&core->lock);
	if (device_name_taken_locked(core, name)) {
		pthread_mutex_unlock(&core->lock);
		vfc_device_free(d);
		return -EEXIST;
	}
	if (group->devices_tail)
		group->devices_tail->next = d;
	else
		group->devices = d;
	group->devices_tail = d;
	pthread_mutex_unlock(&core->lock);
	if (ret_device)
		*ret_device = d;
	return 0;
}

void vfc_device_free(struct vfc_device *dev)
{
	pthread_mutex_destroy(&dev->open_lock);
	free(dev->name);
	free(dev);
}

void vfc_group_set_viable(struct vfc_group *group, bool viable)
{
	pthread_mutex_lock(&group->core->lock);
	if (group->viable != viable)
		vfc_notice("group %u: now %s", group->id, viable ? "viable" : "NOT viable");
	group->viable = viable;
	pthread_mutex_unlock(&group->core->lock);
}

void vfc_group_set_iommu_ops(struct vfc_group *group, const struct vfc_iommu_ops *ops)
{
	pthread_mutex_lock(&group->core->lock);
	group->iommu_ops = ops;
	pthread_mutex_unlock(&group->core->lock);
}

unsigned int vfc_group_id(const struct vfc_group *group)
{
	return group->id;
}

void *vfc_group_priv(const struct vfc_group *group)
{
	return group->priv;
}

const char *vfc_device_name(const struct vfc_device *dev)
{
	return dev->name;
}

struct vfc_device *vfc_group_next_device(struct vfc_group *group, struct vfc_device *prev)
{
	struct vfc_device *d;

	pthread_mutex_lock(&group->core->lock);
	d = prev ? prev->next : group->devices;
	pthread_mutex_unlock(&group->core->lock);
	return d;
}

ssize_t vfc_device_config_read(struct vfc_device *dev, uint64_t off, void *buf, size_t len)
{
	if (dev->info.num_regions <= VFIO_PCI_CONFIG_REGION_INDEX)
		return -EINVAL;
	return dev->ops->region_rw(dev->priv, VFIO_PCI_CONFIG_REGION_INDEX, off, buf, len, false);
}

void vfc_eventfd_signal(int fd)
{
	static const uint64_t one = 1;
	struct pollfd p = { .fd = fd, .events = POLLOUT };

	if (fd < 0 || poll(&p, 1, 0) != 1 || !(p.revents & POLLOUT))
		return;
	if (write(fd, &one, sizeof(one)) != sizeof(one))
		return;	/* nothing to do: the kernel's signal cannot fail either */
}
