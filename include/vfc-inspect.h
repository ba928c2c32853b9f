/* SPDX-License-Identifier: MIT */
/*
 * Introspection of the core for vfio-cusectl: groups, devices, containers
 * and each container's mappings, as snapshots handed to a visitor. Read
 * only; nothing here changes the core's state.
 *
 * Locking: the group and device visitors run under the core's lock; the
 * mapping visitor under its container's IOMMU lock and the IOMMU driver's
 * own; the container visitor under none (it gets a snapshot). A visitor
 * called under a lock must not call into the core, and should only format
 * what it is given. Strings it receives are valid during the call.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "vfc-backend.h"
#include "vfc-core.h"
#include "vfc-file.h"

/* The groups struct vfc_inspect_container names at most. */
#define VFC_INSPECT_MAX_GROUPS 32

/**
 * struct vfc_inspect_group - one group.
 * @id: its number, as in /dev/vfio/<id>.
 * @viable: the backend's word on isolation (vfc_group_set_viable()).
 * @open_refs: the open group file plus each device opened through it; 0
 *             when the group is not open.
 * @container: the container it is attached to, or 0.
 * @n_devices: its devices.
 */
struct vfc_inspect_group {
	unsigned int id;
	bool viable;
	unsigned int open_refs;
	unsigned long container;
	unsigned int n_devices;
};

/**
 * struct vfc_inspect_device - one device.
 * @name: its name, e.g. "0000:06:0d.0".
 * @group: its group's number.
 * @open_count: device files open on it (0: closed).
 * @flags: VFIO_DEVICE_FLAGS_* of its DEVICE_GET_INFO.
 * @num_regions: regions it reports.
 * @num_irqs: interrupt indexes it reports.
 */
struct vfc_inspect_device {
	const char *name;
	unsigned int group;
	unsigned int open_count;
	uint32_t flags;
	uint32_t num_regions;
	uint32_t num_irqs;
};

/**
 * struct vfc_inspect_container - one container (one open of /dev/vfio/vfio).
 * @id: its number, as in the daemon's log lines.
 * @iommu: its IOMMU driver's name, or NULL before SET_IOMMU.
 * @type: the IOMMU type SET_IOMMU chose (VFIO_TYPE1v2_IOMMU...), or 0.
 * @n_groups: groups attached.
 * @groups: the first VFC_INSPECT_MAX_GROUPS of them.
 * @stats: the IOMMU's counts (struct vfc_iommu_stats); all
 *         VFC_IOMMU_UNKNOWN when the driver cannot say, all 0 without an
 *         IOMMU.
 */
struct vfc_inspect_container {
	unsigned long id;
	const char *iommu;
	unsigned long type;
	unsigned int n_groups;
	unsigned int groups[VFC_INSPECT_MAX_GROUPS];
	struct vfc_iommu_stats stats;
};

/**
 * vfc_inspect_groups() - visit every group, in registration order.
 * @core: the core.
 * @fn: the visitor; a nonzero return stops the walk.
 * @opaque: passed to @fn.
 * Return: 0, or @fn's nonzero return.
 */
int vfc_inspect_groups(struct vfc_core *core,
		       int (*fn)(void *opaque, const struct vfc_inspect_group *g), void *opaque);

/**
 * vfc_inspect_devices() - visit every device, group by group.
 * @core: the core.
 * @fn: the visitor; a nonzero return stops the walk.
 * @opaque: passed to @fn.
 * Return: 0, or @fn's nonzero return.
 */
int vfc_inspect_devices(struct vfc_core *core,
			int (*fn)(void *opaque, const struct vfc_inspect_device *d), void *opaque);

/**
 * vfc_inspect_containers() - visit every open container, in id order, as
 * they were when the call began (a container closed meanwhile is left
 * out; the counts are read after the snapshot, without the core's lock).
 * @core: the core.
 * @fn: the visitor, called with no lock held; a nonzero return stops the
 *      walk.
 * @opaque: passed to @fn.
 * Return: 0, @fn's nonzero return, or -ENOMEM.
 */
int vfc_inspect_containers(struct vfc_core *core,
			   int (*fn)(void *opaque, const struct vfc_inspect_container *c),
			   void *opaque);

/**
 * vfc_inspect_mappings() - one container's counts and mappings.
 * @core: the core.
 * @id: the container's number.
 * @ret_stats: its counts, written on success and on -EOPNOTSUPP (all
 *             VFC_IOMMU_UNKNOWN then).
 * @fn: called for each mapping in IOVA order, or NULL for the counts only;
 *      a nonzero return stops the walk.
 * @opaque: passed to @fn.
 * Return: 0, @fn's nonzero return; -ENOENT for no such container, -ENODEV
 * when it has no IOMMU yet (no mapping can exist), -EOPNOTSUPP when its
 * IOMMU driver cannot list them (the kernel backend: the client maps on
 * the kernel's container itself, and type1 has no listing).
 */
int vfc_inspect_mappings(struct vfc_core *core, unsigned long id,
			 struct vfc_iommu_stats *ret_stats,
			 int (*fn)(void *opaque, const struct vfc_iommu_mapping *m), void *opaque);

/**
 * vfc_inspect_file() - what one of the core's files is open on, for a
 * transport's list of clients.
 * @f: the file.
 * @ret_container: a container file's container number, else 0.
 * @ret_device: a bound device file's device name (valid as long as the
 *              core), else NULL.
 *
 * A group file's group is vfc_file_group().
 */
void vfc_inspect_file(struct vfc_file *f, unsigned long *ret_container, const char **ret_device);
