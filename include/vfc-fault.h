/* SPDX-License-Identifier: MIT */
/*
 * Fault injection for test harnesses: rules, from the configuration file
 * or changed at runtime (vfio-cusectl), that fail matching ioctls with a
 * given errno, fail device DMA as an IOMMU fault would, drop or delay
 * interrupts, fail resets, make a group non-viable, or raise a device's
 * ERR and REQ interrupts. Deterministic (counts and seeds), and every
 * injection shows in the trace (vfc-trace.h) as a "fault" event.
 */
#pragma once

#include <stddef.h>

/**
 * vfc_fault_add() - parse and add one rule (syntax: docs/harness.md).
 * @rule: the rule's text.
 * @err: a buffer for a message saying what is wrong with @rule.
 * @err_len: its size.
 * Return: the rule's id (> 0); -EINVAL for a bad rule, -ENOSPC when too
 * many rules exist, -ENOMEM.
 */
int vfc_fault_add(const char *rule, char *err, size_t err_len);

/**
 * vfc_fault_remove() - remove rule @id.
 * Return: 0, -ENOENT.
 */
int vfc_fault_remove(int id);

/**
 * vfc_fault_clear() - remove every rule. Interrupts that delay rules hold
 * back are delivered now, and their timer thread is joined (call it at exit).
 */
void vfc_fault_clear(void);

/**
 * vfc_fault_list() - the rules, one per line ("ID: RULE (matched N, injected M)").
 * @buf: where to write; always NUL-terminated when @len > 0.
 * @len: its size.
 * Return: the length the whole list needs, without the NUL, like snprintf.
 */
size_t vfc_fault_list(char *buf, size_t len);

/** vfc_fault_count() - how many rules there are now. */
size_t vfc_fault_count(void);

/*
 * The hooks: what the core and the backends call where a rule may act.
 * Each costs one relaxed atomic load while no rule exists (vfc_fault_any()).
 * A hook that injects logs one info line and emits a "fault" trace event.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* How many rules exist; the hooks' fast path. */
extern atomic_uint vfc_fault_nrules;

/** vfc_fault_any() - whether any rule exists (one relaxed load). */
static inline bool vfc_fault_any(void)
{
	return atomic_load_explicit(&vfc_fault_nrules, memory_order_relaxed) != 0;
}

/**
 * vfc_fault_ioctl_match() - count one ioctl call against the "ioctl" rules.
 * @kind: the file kind (enum vfc_file_kind).
 * @cmd: the ioctl number.
 * @group: the group of a group or device file, -1 for a container.
 * @device: a device file's device name, or NULL.
 *
 * Called once per call, on its first round, before the handler.
 * Return: 0, or the -errno a rule fails this call with.
 */
int vfc_fault_ioctl_match(int kind, unsigned int cmd, int group, const char *device);

/**
 * vfc_fault_group_nonviable() - whether a "nonviable" rule holds @group.
 * @what: the ioctl that asks and what it does then ("GROUP_SET_CONTAINER:
 *        EPERM"), for the log line and the trace event written when true.
 */
bool vfc_fault_group_nonviable(unsigned int group, const char *what);

/**
 * vfc_fault_reset() - count one reset of @device against the "reset" rules.
 * @what: "DEVICE_RESET" or "DEVICE_PCI_HOT_RESET".
 * Return: 0, or the -errno the reset fails with.
 */
int vfc_fault_reset(const char *device, int group, const char *what);

/**
 * vfc_fault_dma() - count one device DMA against the "dma" rules.
 * @device: the device's name (NULL: unknown, matches only rules without
 *          device=).
 * @iova: first address; @len: bytes; @write: device to memory.
 * Return: 0, or -EFAULT: fail it as the IOMMU fails an unmapped access.
 */
int vfc_fault_dma(const char *device, uint64_t iova, uint64_t len, bool write);

/**
 * vfc_fault_irq() - count one interrupt about to be signalled on @fd.
 * @index: VFIO_PCI_*_IRQ_INDEX; @vector: its vector.
 * Return: false to deliver it now; true when a rule dropped it, or took
 * it over to signal it later (a duplicate of @fd, from its own thread).
 */
bool vfc_fault_irq(const char *device, unsigned int index, unsigned int vector, int fd);

/**
 * typedef vfc_fault_raise_fn - signal a device's ERR or REQ eventfd.
 * @opaque: as registered; @index: VFIO_PCI_ERR_IRQ_INDEX or _REQ_.
 * Return: 0 when an eventfd was signalled; -ENOENT when none is set.
 */
typedef int (*vfc_fault_raise_fn)(void *opaque, unsigned int index);

/**
 * vfc_fault_register_device() - let "raise" rules reach a device.
 * @device: its name (copied).
 * @fn: how to raise; called with the registry's lock held (so that no call
 *       runs after vfc_fault_unregister_device() returns): it must not
 *       register or unregister devices itself.
 * @opaque: passed to @fn, and the key of vfc_fault_unregister_device().
 * Return: 0, -ENOMEM.
 */
int vfc_fault_register_device(const char *device, vfc_fault_raise_fn fn, void *opaque);

/** vfc_fault_unregister_device() - forget @opaque; no call runs after it returns. */
void vfc_fault_unregister_device(void *opaque);
