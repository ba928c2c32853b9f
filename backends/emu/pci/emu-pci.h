/* SPDX-License-Identifier: MIT */
/*
 * Emulated PCI devices for the emulated backend: the factory that makes a
 * device model by name, and the glue that registers it with the core. A
 * device answers the core through struct vfc_device_ops exactly as the
 * kernel's vfio-pci answers for a conventional (non-PCIe) PCI function.
 *
 * Lifetime: create a device, register it with a group, serve; when every
 * file of the core has been released, free the device, then the core (or
 * free the core first: the device touches the core only from its own DMA,
 * which stops when the device is closed and is joined by the free).
 *
 * Writing a new model: see emu-pci-model.h.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vfc-backend.h"

struct vfc_emu_pci;
struct vfc_emu_pci_model;

/**
 * typedef vfc_emu_pci_dma_fn - where a device's DMA goes.
 * @opaque: the pointer given with the function.
 * @iova: I/O virtual address.
 * @buf: local buffer.
 * @len: bytes.
 * @write: true when the device writes client memory.
 *
 * Return: 0, -EFAULT for an IOMMU fault, or another -errno.
 */
typedef int (*vfc_emu_pci_dma_fn)(void *opaque, uint64_t iova, void *buf, size_t len,
				  bool write);

/**
 * vfc_emu_pci_create() - make a device of a built-in model.
 * @model: "edu" or "pcitest".
 * @options: NULL, or "key=value,key=value" (see docs/devices.md). Keys
 *           common to all models: "reset=on|off" (off: the device has no
 *           reset method, like QEMU's edu on the q35 root bus),
 *           "bar_rw64=on|off" (off: 8-byte BAR accesses are split in two
 *           4-byte ones, as Linux 6.1 does; on by default, as the newest
 *           kernels on x86-64), "msix_dyn=on|off" (off: MSI-X vectors
 *           cannot be added once enabled, NORESIZE, as Linux 6.1 and
 *           platforms without dynamic MSI-X; on by default, as x86 with
 *           interrupt remapping on Linux 6.5 and later), "dma_log=on|off"
 *           (off: no DMA logging, ENOTTY as plain vfio-pci answers; on by
 *           default, as a variant driver with a page tracker).
 * @ret: the new device, owned by the caller.
 *
 * The device starts its own thread (timers, unmask eventfd), closed and in
 * its power-on state.
 * Return: 0, -ENOENT for an unknown model, -EINVAL for a bad option,
 * -ENOMEM, or the -errno of a failed eventfd/epoll/timerfd/thread.
 */
int vfc_emu_pci_create(const char *model, const char *options, struct vfc_emu_pci **ret);

/**
 * vfc_emu_pci_new() - make a device of any model description.
 * @model: the model; must outlive the device.
 * @options: as for vfc_emu_pci_create().
 * @ret: the new device, owned by the caller.
 *
 * Return: as vfc_emu_pci_create(), and -EINVAL for an inconsistent model
 * (overlapping BARs, MSI-X table outside its BAR, ...).
 */
int vfc_emu_pci_new(const struct vfc_emu_pci_model *model, const char *options,
		    struct vfc_emu_pci **ret);

/**
 * vfc_emu_pci_free() - stop the device thread and free the device.
 * @pci: the device, or NULL. It must be closed (no open device file).
 *
 * Return: NULL.
 */
struct vfc_emu_pci *vfc_emu_pci_free(struct vfc_emu_pci *pci);

/**
 * vfc_emu_pci_device_ops() - the ops table that serves @pci.
 * @pci: the device.
 *
 * Its @reset is NULL when the device was made with "reset=off", its
 * log_* ops when made with "dma_log=off".
 * Return: the device's own table, alive as long as @pci; pass @pci as its
 * priv.
 */
const struct vfc_device_ops *vfc_emu_pci_device_ops(const struct vfc_emu_pci *pci);

/**
 * vfc_emu_pci_register() - announce the device in a group of the core.
 * @pci: the device; must outlive the core's use of it.
 * @group: its IOMMU group; several devices may share one.
 * @name: its name, e.g. "0000:00:04.0".
 * @ret_device: the core's handle (owned by the core), or NULL.
 *
 * Return: as vfc_group_add_device(): 0, -EEXIST, -EINVAL, -ENOMEM.
 */
int vfc_emu_pci_register(struct vfc_emu_pci *pci, struct vfc_group *group, const char *name,
			 struct vfc_device **ret_device);

/**
 * vfc_emu_pci_set_dma() - send the device's DMA somewhere else.
 * @pci: the device.
 * @fn: the target; NULL restores the default, vfc_device_dma_rw() on the
 *      core handle given to open_device.
 * @opaque: passed to @fn.
 *
 * For unit tests that run a device without the core.
 */
void vfc_emu_pci_set_dma(struct vfc_emu_pci *pci, vfc_emu_pci_dma_fn fn, void *opaque);

/**
 * vfc_emu_pci_model_name() - the model's name, for logs.
 * @pci: the device.
 * Return: a static string.
 */
const char *vfc_emu_pci_model_name(const struct vfc_emu_pci *pci);
