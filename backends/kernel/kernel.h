/* SPDX-License-Identifier: MIT */
/*
 * The kernel backend: real PCI devices bound to the kernel's vfio-pci,
 * served through vfio-cused's nodes. The kernel does the IOMMU work and the
 * device access: each of our containers is a kernel container, each group
 * a kernel group, each open device a kernel device fd. Client eventfds go
 * straight to the kernel's SET_IRQS, so interrupts reach the client with
 * no daemon in the path. Everything that needs privileges goes through
 * struct vfc_priv (include/vfc-priv.h).
 */
#pragma once

#include "vfc-backend.h"
#include "vfc-core.h"
#include "vfc-priv.h"

struct vfc_kernel;

/* The IOMMU driver; its driver_data is the struct vfc_kernel. */
extern const struct vfc_iommu_ops vfc_kernel_iommu_ops;

/**
 * vfc_kernel_new() - the backend, registering its IOMMU driver with @core.
 * @core: the core.
 * @priv: privileged operations; must outlive the backend.
 * @ret: the backend.
 * Return: 0, -ENOMEM.
 */
int vfc_kernel_new(struct vfc_core *core, struct vfc_priv *priv, struct vfc_kernel **ret);

/**
 * vfc_kernel_free() - stop the monitor and free. Every file of the core must
 * have been released. NULL is fine.
 * Return: NULL.
 */
struct vfc_kernel *vfc_kernel_free(struct vfc_kernel *k);

/**
 * vfc_kernel_group_of() - a PCI device's IOMMU group, from sysfs.
 * @name: e.g. "0000:00:01.0".
 * Return: the group number, -ENODEV (no such device), -ENOENT (no IOMMU
 * group: no IOMMU, or it is off).
 */
int vfc_kernel_group_of(const char *name);

/**
 * vfc_kernel_add_device() - serve a device bound to vfio-pci.
 * @k: the backend.
 * @name: its PCI name.
 *
 * The device's group is registered with the core under the kernel's group
 * number, if not yet. The device is probed once through a kernel container
 * for its VFIO_DEVICE_GET_INFO answer.
 * Return: 0; -ENODEV (no such device), -EINVAL (not bound to vfio-pci),
 * -EPERM (its group is not viable), or the errno of a kernel call.
 */
int vfc_kernel_add_device(struct vfc_kernel *k, const char *name);

/**
 * vfc_kernel_monitor_start() - watch driver binds, unbinds and removals of
 * our devices (kernel uevents through libudev), keeping group viability
 * the kernel's.
 * Return: 0 or -errno.
 */
int vfc_kernel_monitor_start(struct vfc_kernel *k);
