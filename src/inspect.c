/* SPDX-License-Identifier: MIT */
/*
 * Introspection of the core (vfc-inspect.h), for vfio-cusectl: snapshots
 * of groups, devices, containers and mappings handed to a visitor under
 * the locks that keep them still. Reads only.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vfc-inspect.h"
#include "vfc-private.h"

int vfc_inspect_groups(struct vfc_core *core,
		       int (*fn)(void *opaque, const struct vfc_inspect_group *g), void *opaque)
{
	int r = 0;

	pthread_mutex_lock(&core->lock);
	for (struct vfc_group *g = core->groups; g && !r; g = g->next) {
		struct vfc_inspect_group info = {
			.id = g->id,
			.viable = g->viable,
			.open_refs = g->open_refs,
			.container = g->container ? g->container->id : 0,
		};

		for (struct vfc_device *d = g->devices; d; d = d->next)
			info.n_devices++;
		r = fn(opaque, &info);
	}
	pthread_mutex_unlock(&core->lock);
	return r;
}

int vfc_inspect_devices(struct vfc_core *core,
			int (*fn)(void *opaque, const struct vfc_inspect_device *d), void *opaque)
{
	int r = 0;

	pthread_mutex_lock(&core->lock);
	for (struct vfc_group *g = core->groups; g && !r; g = g->next)
		for (struct vfc_device *d = g->devices; d && !r; d = d->next) {
			struct vfc_inspect_device info = {
				.name = d->name,
				.group = g->id,
				.open_count = d->open_count,
				.flags = d->info.flags,
				.num_regions = d->info.num_regions,
				.num_irqs = d->info.num_irqs,
			};

			r = fn(opaque, &info);
		}
	pthread_mutex_unlock(&core->lock);
	return r;
}

int vfc_inspect_containers(struct vfc_core *core,
			   int (*fn)(void *opaque, const struct vfc_inspect_container *c),
			   void *opaque)
{
	struct vfc_inspect_container *arr;
	struct vfc_container *c, *last = NULL;
	size_t n = 0, i = 0;
	int r = 0;

	/* A snapshot under the core's lock; then each IOMMU's counts under
	 * its own locks only, and the visits under none. */
	pthread_mutex_lock(&core->lock);
	for (c = core->containers; c; c = c->next) {
		last = c;
		n++;
	}
	arr = calloc(n ? n : 1, sizeof(*arr));
	if (!arr) {
		pthread_mutex_unlock(&core->lock);
		return -ENOMEM;
	}
	/* The list is newest first: walk it backwards for id order. */
	for (c = last; c; c = c->prev, i++) {
		struct vfc_inspect_container *info = &arr[i];

		info->id = c->id;
		pthread_rwlock_rdlock(&c->iommu_lock);
		if (c->driver) {
			info->iommu = c->driver->ops->name;	/* static */
			info->type = c->iommu_type;
		}
		for (struct vfc_group *g = c->groups; g; g = g->container_next) {
			if (info->n_groups < VFC_INSPECT_MAX_GROUPS)
				info->groups[info->n_groups] = g->id;
			info->n_groups++;
		}
		pthread_rwlock_unlock(&c->iommu_lock);
	}
	pthread_mutex_unlock(&core->lock);
	for (i = 0; i < n && !r; i++) {
		int k = vfc_inspect_mappings(core, arr[i].id, &arr[i].stats, NULL, NULL);

		if (k == -ENOENT)
			continue;	/* closed meanwhile */
		if (k == -ENODEV)
			arr[i].stats = (struct vfc_iommu_stats){ 0 };
		r = fn(opaque, &arr[i]);
	}
	free(arr);
	return r;
}

int vfc_inspect_mappings(struct vfc_core *core, unsigned long id,
			 struct vfc_iommu_stats *ret_stats,
			 int (*fn)(void *opaque, const struct vfc_iommu_mapping *m), void *opaque)
{
	struct vfc_container *c = vfc_core_find_container(core, id);	/* new ref */
	struct vfc_iommu_stats st;
	int r;

	if (!c)
		return -ENOENT;
	/* The IOMMU lock alone: a long walk does not hold the core. */
	pthread_rwlock_rdlock(&c->iommu_lock);
	if (!c->driver) {
		r = -ENODEV;
	} else if (!c->driver->ops->inspect) {
		*ret_stats = (struct vfc_iommu_stats){ VFC_IOMMU_UNKNOWN, VFC_IOMMU_UNKNOWN,
						       VFC_IOMMU_UNKNOWN };
		r = -EOPNOTSUPP;
	} else {
		r = c->driver->ops->inspect(c->iommu_data, &st, fn, opaque);
		*ret_stats = st;	/* filled before any visit */
	}
	pthread_rwlock_unlock(&c->iommu_lock);
	vfc_container_unref(c);
	return r;
}
