/* SPDX-License-Identifier: MIT */
/* The kernel backend's private layouts, shared by kernel*.c only. */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <linux/vfio.h>

#include "kernel.h"

#define VFC_KERNEL_MAX_REGIONS 16

struct vfc_kdevice;

struct vfc_kgroup {
	struct vfc_kernel *k;
	unsigned int id;
	int fd;				/* the kernel's /dev/vfio/<id> */
	struct vfc_group *group;	/* ours */
	struct vfc_kdevice *devices;
	struct vfc_kgroup *next;
};

struct vfc_kdevice {
	struct vfc_kgroup *kg;
	char name[32];
	pthread_mutex_t lock;		/* fd and region offsets */
	int fd;				/* the kernel's device fd while open */
	struct vfio_device_info info;	/* as probed at registration */
	uint64_t region_offset[VFC_KERNEL_MAX_REGIONS];
	struct vfc_kdevice *next;
};

struct vfc_kernel {
	struct vfc_core *core;
	struct vfc_priv *priv;
	pthread_mutex_t lock;		/* groups list */
	struct vfc_kgroup *groups;
	int not_eventfd;		/* an open fd that is no eventfd (SET_IRQS errors) */
	/* uevent monitor */
	pthread_t monitor;
	bool monitor_running;
	int monitor_stop;		/* eventfd */
	struct udev *udev;
	struct udev_monitor *mon;
};

extern const struct vfc_device_ops vfc_kernel_device_ops;

/* kernel-device.c: the core's SET_IRQS slots as the kernel is given them. */
int vfc_kernel_irq_fds(int32_t *fds, unsigned int count, int not_eventfd);

/* kernel-device.c: PCI_HOT_RESET's groups as the kernel is given them. */
int vfc_kernel_hot_reset_fds(struct vfc_kernel *k, const struct vfc_hot_reset_group *groups,
			     unsigned int count, int32_t *fds);
void vfc_kernel_hot_reset_fds_close(struct vfc_kernel *k, int32_t *fds, unsigned int count);

/* kernel-iommu.c: the vaddr of a MAP_DMA dry run, which the kernel cannot pin. */
uint64_t vfc_kernel_probe_vaddr(uint64_t vaddr, uint64_t size);

/* kernel.c: refresh a group's viability from the kernel's GET_STATUS. */
void vfc_kernel_group_refresh(struct vfc_kgroup *kg);
