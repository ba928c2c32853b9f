/* SPDX-License-Identifier: MIT */
/*
 * The core's private object layouts, shared by core.c, container.c,
 * group.c and device.c only.
 *
 * Locking: core->lock guards the whole object graph (registrations,
 * group<->container links, open counts and every refcount). A container's
 * iommu_lock (rwlock) guards its IOMMU driver and data: written when the
 * IOMMU is set, groups attach or detach, or the IOMMU goes; read for
 * passthrough ioctls and device DMA. Order: dev->open_lock, core->lock,
 * container->iommu_lock. No lock is held across a caller callback.
 *
 * Must support container/group/device being closed in any order.
 */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vfc-core.h"
#include "vfc-file.h"

#define VFC_MAX_IOMMU_DRIVERS 8

struct vfc_iommu_driver {
	const struct vfc_iommu_ops *ops;
	void *driver_data;
};

struct vfc_core {
	pthread_mutex_t lock;
	struct vfc_iommu_driver drivers[VFC_MAX_IOMMU_DRIVERS];
	unsigned int n_drivers;
	struct vfc_group *groups, *groups_tail;
	struct vfc_container *containers;
	unsigned long next_container_id;
};

struct vfc_container {
	struct vfc_core *core;
	unsigned int refs;			/* under core->lock */
	unsigned long id;
	struct vfc_container *next, *prev;	/* core->containers */
	pthread_rwlock_t iommu_lock;
	const struct vfc_iommu_driver *driver;	/* under both locks */
	void *iommu_data;
	unsigned long iommu_type;		/* SET_IOMMU's, while driver is set */
	struct vfc_group *groups;		/* attached, via container_next */
};

struct vfc_group {
	struct vfc_core *core;
	unsigned int id;
	void *priv;
	const struct vfc_iommu_ops *iommu_ops;	/* the only driver it accepts, or NULL */
	bool viable;
	/* The open file plus one per device with open_count > 0 (the kernel's
	 * references on group->opened_file). 0 means not open. */
	unsigned int open_refs;
	struct vfc_container *container;
	unsigned int container_users;		/* 1 + open devices, as the kernel */
	struct vfc_group *container_next;
	struct vfc_device *devices, *devices_tail;
	struct vfc_group *next;
};

struct vfc_group_file {
	struct vfc_group *group;
};

struct vfc_device {
	struct vfc_group *group;
	char *name;
	const struct vfc_device_ops *ops;
	void *priv;
	struct vfio_device_info info;		/* flags, num_regions, num_irqs */
	pthread_mutex_t open_lock;		/* serialises open/close_device */
	unsigned int open_count;		/* under core->lock */
	struct vfc_device *next;
};

struct vfc_device_file {
	struct vfc_device *dev;
	unsigned int refs;			/* under core->lock */
};

/* Each kind's ioctls, the unknown-number row last (vfc-file.h). */
extern const struct vfc_ioctl_desc vfc_container_ioctls[];
extern const size_t vfc_container_n_ioctls;
extern const struct vfc_ioctl_desc vfc_group_ioctls[];
extern const size_t vfc_group_n_ioctls;
extern const struct vfc_ioctl_desc vfc_device_ioctls[];
extern const size_t vfc_device_n_ioctls;

/* container.c */
void vfc_container_put_locked(struct vfc_container *c);
int vfc_container_attach_group_locked(struct vfc_container *c, struct vfc_group *g);
void vfc_group_detach_container_locked(struct vfc_group *g);

/* group.c */
void vfc_group_put_open_locked(struct vfc_group *g);

/* device.c */
int vfc_device_open_file(struct vfc_device *dev, struct vfc_device_file **ret);
/* vfio_check_feature(): 1 to go on, else the answer (0 for a probe). */
int vfc_feature_check(uint32_t flags, size_t argsz, uint32_t ops, size_t minsz);
/*
 * The caller's memory behind a pointer in an argument, moved with
 * process_vm_readv/writev: @n iovecs of the caller, @local the same total.
 * Return: 0, or -EFAULT when any byte did not move (logged).
 */
int vfc_device_caller_rw(struct vfc_device *dev, struct vfc_ioctl *io, void *local, size_t len,
			 const struct iovec *remote, unsigned long n, bool write);
/* LOW_POWER_ENTRY, _WITH_WAKEUP and _EXIT through the pm ops. */
int vfc_device_feature_low_power(struct vfc_device *dev, struct vfc_ioctl *io, uint32_t feature,
				 uint32_t flags, size_t argsz);
/* The kernel's LOG_MAX_RANGES: the ranges that fit in one page. */
size_t vfc_log_max_ranges(void);

/* The payload of a feature: @len bytes after the 8-byte header. */
static inline int vfc_feature_need(struct vfc_ioctl *io, size_t len, size_t out)
{
	return vfc_ioctl_need(io, sizeof(struct vfio_device_feature) + len,
			      out ? sizeof(struct vfio_device_feature) + out : 0);
}

static inline void *vfc_feature_data(const struct vfc_ioctl *io)
{
	return (uint8_t *)(uintptr_t)io->in + sizeof(struct vfio_device_feature);
}

/* device-feature.c: DEVICE_FEATURE for a device with the feature op */
int vfc_device_feature_forward(struct vfc_device *dev, struct vfc_ioctl *io, uint32_t flags,
			       size_t argsz);
/* device-reset.c: the ioctls, for device.c's table */
int vfc_device_ioctl_hot_reset_info(struct vfc_device *dev, struct vfc_ioctl *io);
int vfc_device_ioctl_hot_reset(struct vfc_device *dev, struct vfc_ioctl *io);
void vfc_device_free(struct vfc_device *dev);

/* ioctl.c: fetch a NUL-terminated string of at most max bytes at the argument */
int vfc_ioctl_get_string(struct vfc_ioctl *io, size_t max, const char **ret);
