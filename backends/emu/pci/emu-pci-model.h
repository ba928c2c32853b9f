/* SPDX-License-Identifier: MIT */
/*
 * What a device model gives the emulated-PCI framework and what it may
 * call. The framework owns config space, the vfio-pci view of it, BAR
 * decoding, interrupts (INTx, MSI, MSI-X and their eventfds), reset and a
 * thread with timers; a model owns its registers.
 *
 * Locking: every device has one mutex. Model callbacks (reset, bar_read,
 * bar_write, set_option) run with it held. Timer callbacks run on the
 * device thread WITHOUT it: they take it with vfc_emu_pci_lock() and must
 * drop it around vfc_emu_pci_dma(), which may block on the core. Helpers
 * marked "lock held" must be called with the mutex held.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "emu-pci.h"

enum vfc_emu_bar_type {
	VFC_EMU_BAR_NONE = 0,
	VFC_EMU_BAR_MEM32,
	VFC_EMU_BAR_MEM64, /* takes the next BAR slot as its upper half */
	VFC_EMU_BAR_IO,
};

/**
 * struct vfc_emu_pci_range - a byte range of a BAR; a list of them ends
 * with one of length 0.
 */
struct vfc_emu_pci_range {
	uint64_t off, len;
};

/**
 * struct vfc_emu_pci_bar - one base address register.
 * @type: enum vfc_emu_bar_type.
 * @prefetch: memory BARs only.
 * @size: a power of two; memory at least 16 bytes, I/O 4 to 256 bytes.
 * @mappable: plain RAM that the client may mmap (memory BARs of at least a
 *            page): the framework keeps it in shared memory (a memfd),
 *            serves reads and writes itself, and clears it at reset. The
 *            model's bar_read/bar_write are not called for it; it reaches
 *            the bytes with vfc_emu_pci_bar_mem().
 * @watched: mappable, and the model wants the client's writes there: a
 *           poller hands each changed 4-byte word to bar_write (lock
 *           held), soon after the client wrote it (emu-pci-poll.c).
 * @watch: watched only: the 4-byte aligned ranges the poller scans, for a
 *         BAR whose registers are few; NULL for all of it. The client's
 *         writes elsewhere stay in the memory unseen.
 */
struct vfc_emu_pci_bar {
	uint8_t type;
	bool prefetch;
	uint64_t size;
	bool mappable;
	bool watched;
	const struct vfc_emu_pci_range *watch;
};

/* Most timers a model may add. */
#define VFC_EMU_PCI_MAX_TIMERS 4

/**
 * struct vfc_emu_pci_model - a device model.
 * @name: the name vfc_emu_pci_create() knows it by.
 * @vendor_id: config 0x00.
 * @device_id: config 0x02.
 * @subsystem_vendor_id: config 0x2c.
 * @subsystem_id: config 0x2e.
 * @revision: config 0x08.
 * @class_code: config 0x09..0x0b as 0xBBSSPP (base, sub, prog-if).
 * @interrupt_pin: 0 for none, 1 for INTA.
 * @bars: BAR0..5.
 * @msi_vectors: 0 for no MSI capability, else 1, 2, 4, 8, 16 or 32.
 * @msi_64bit: the MSI capability has a 64-bit address.
 * @msi_maskbit: the MSI capability has per-vector mask and pending bits.
 * @msix_vectors: 0 for no MSI-X capability, else 1 to 2048.
 * @msix_bar: the BAR holding the table and the PBA.
 * @msix_table_offset: 8-byte aligned.
 * @msix_pba_offset: 8-byte aligned.
 * @devspec_writable: config bytes outside the header and the capabilities
 *                    are read/write scratch, as in QEMU; else read-only 0.
 * @priv_size: bytes of zeroed model state, see vfc_emu_pci_priv().
 * @init: set up the model state (add timers); lock not held. May be NULL.
 * @set_option: one "key=value" the framework does not know; lock not
 *              held; return 0 or -EINVAL. May be NULL (every key fails).
 * @realize: finish the set-up once every option is known (open backing
 *           files, size tables); lock not held; return 0 or -errno. May
 *           be NULL. @destroy runs whether or not it succeeded.
 * @destroy: free what @init made; lock not held. May be NULL.
 * @reset: return the registers to power-on state; lock held. The
 *         framework has already disarmed every timer and deasserted INTx.
 * @bar_read: read @size (1, 2, 4 or 8) bytes at @off of BAR @bar, naturally
 *            aligned; lock held. Not called for the MSI-X table and PBA.
 * @bar_write: write; lock held.
 * @poll_work: called by the poller of watched BARs, lock not held, after
 *             a scan that handed bar_write changed words: the model may do
 *             there the work those writes started (vfc_emu_pci_polling()),
 *             on the thread that noticed them, instead of waking another.
 *             May be NULL.
 */
struct vfc_emu_pci_model {
	const char *name;
	uint16_t vendor_id;
	uint16_t device_id;
	uint16_t subsystem_vendor_id;
	uint16_t subsystem_id;
	uint8_t revision;
	uint32_t class_code;
	uint8_t interrupt_pin;
	struct vfc_emu_pci_bar bars[6];
	unsigned int msi_vectors;
	bool msi_64bit;
	bool msi_maskbit;
	unsigned int msix_vectors;
	uint8_t msix_bar;
	uint32_t msix_table_offset;
	uint32_t msix_pba_offset;
	bool devspec_writable;
	size_t priv_size;
	int (*init)(struct vfc_emu_pci *pci);
	int (*set_option)(struct vfc_emu_pci *pci, const char *key, const char *value);
	int (*realize)(struct vfc_emu_pci *pci);
	void (*destroy)(struct vfc_emu_pci *pci);
	void (*reset)(struct vfc_emu_pci *pci);
	uint64_t (*bar_read)(struct vfc_emu_pci *pci, unsigned int bar, uint64_t off,
			     unsigned int size);
	void (*bar_write)(struct vfc_emu_pci *pci, unsigned int bar, uint64_t off, uint64_t val,
			  unsigned int size);
	void (*poll_work)(struct vfc_emu_pci *pci);
};

/**
 * vfc_emu_pci_polling() - whether the bar_write being called (lock held)
 * comes from the poller, which calls @poll_work after its scan; false for
 * a trapped write, whose work needs another thread (a timer).
 */
bool vfc_emu_pci_polling(struct vfc_emu_pci *pci);

/**
 * vfc_emu_pci_bar_mem() - the bytes of a mappable BAR, as the daemon sees
 * them; the client's mapping shares them. NULL for other BARs.
 */
uint8_t *vfc_emu_pci_bar_mem(struct vfc_emu_pci *pci, unsigned int bar);

/**
 * vfc_emu_pci_bar_store32() - the device's own write of a 32-bit word of a
 * mappable BAR (lock held): the client sees it, and a watched BAR's poller
 * does not report it as the client's. For registers the device owns
 * (status, read-only fields) and for putting back what the client may not
 * change. @off is 4-byte aligned and inside the BAR.
 */
void vfc_emu_pci_bar_store32(struct vfc_emu_pci *pci, unsigned int bar, uint64_t off,
			     uint32_t val);

/**
 * vfc_emu_pci_poll_stats() - how often the poller of watched BARs scanned
 * them, and how many changed words it handed to the model. For tests and
 * the idle-cost measurement.
 */
void vfc_emu_pci_poll_stats(struct vfc_emu_pci *pci, uint64_t *ret_scans, uint64_t *ret_hits);

/** vfc_emu_pci_priv() - the model state (@priv_size zeroed bytes). */
void *vfc_emu_pci_priv(struct vfc_emu_pci *pci);

void vfc_emu_pci_lock(struct vfc_emu_pci *pci);
void vfc_emu_pci_unlock(struct vfc_emu_pci *pci);

/**
 * vfc_emu_pci_epoch() - a number that changes at every function reset,
 * including those of open and close when the device can reset (lock
 * held). A timer callback that dropped the lock for DMA compares it to
 * know whether its work is still wanted. Without a reset, work goes on
 * across close and open, as on real hardware; its DMA then fails because
 * close turned bus mastering off.
 */
uint64_t vfc_emu_pci_epoch(struct vfc_emu_pci *pci);

/**
 * vfc_emu_pci_timer_add() - add a timer (from @init only).
 * @pci: the device.
 * @cb: called on the device thread without the lock.
 * @opaque: passed to @cb.
 *
 * Return: the timer id (>= 0), or -ENOSPC past VFC_EMU_PCI_MAX_TIMERS.
 */
int vfc_emu_pci_timer_add(struct vfc_emu_pci *pci,
			  void (*cb)(struct vfc_emu_pci *pci, void *opaque), void *opaque);

/**
 * vfc_emu_pci_timer_mod() - (re)arm a timer to fire @delay_ns from now
 * (lock held). 0 means as soon as the device thread can.
 */
void vfc_emu_pci_timer_mod(struct vfc_emu_pci *pci, int id, uint64_t delay_ns);

/** vfc_emu_pci_timer_del() - disarm a timer (lock held). */
void vfc_emu_pci_timer_del(struct vfc_emu_pci *pci, int id);

/**
 * vfc_emu_pci_set_irq() - drive the INTx line (lock held).
 * @pci: the device.
 * @level: asserted or not; shows in PCI_STATUS_INTERRUPT.
 */
void vfc_emu_pci_set_irq(struct vfc_emu_pci *pci, bool level);

/**
 * vfc_emu_pci_msi_enabled() - whether the device may send MSI (lock
 * held): the enable bit of the hardware MSI capability, which vfio-pci
 * sets when the client enables the MSI index with SET_IRQS.
 */
bool vfc_emu_pci_msi_enabled(struct vfc_emu_pci *pci);

/**
 * vfc_emu_pci_msi_vectors() - how many MSI vectors the device may send
 * (lock held): 0 when MSI is disabled, else 2^(multiple message enable).
 */
unsigned int vfc_emu_pci_msi_vectors(struct vfc_emu_pci *pci);

/** vfc_emu_pci_msi_notify() - send MSI @vector (lock held). */
void vfc_emu_pci_msi_notify(struct vfc_emu_pci *pci, unsigned int vector);

/** vfc_emu_pci_msix_enabled() - MSI-X enabled in hardware (lock held). */
bool vfc_emu_pci_msix_enabled(struct vfc_emu_pci *pci);

/** vfc_emu_pci_msix_notify() - send MSI-X @vector (lock held). */
void vfc_emu_pci_msix_notify(struct vfc_emu_pci *pci, unsigned int vector);

/**
 * vfc_emu_pci_dma() - DMA to or from client memory, lock NOT held.
 * @pci: the device.
 * @addr: bus (I/O virtual) address.
 * @buf: local buffer.
 * @len: bytes.
 * @write: true to write client memory.
 *
 * Fails when bus mastering is off in PCI_COMMAND, as the bus would.
 * Return: 0, -EIO when bus mastering is off, -EFAULT for an IOMMU fault,
 * -ENODEV when the device is not open, or the target's -errno.
 */
int vfc_emu_pci_dma(struct vfc_emu_pci *pci, uint64_t addr, void *buf, size_t len, bool write);

/**
 * vfc_emu_pci_parse_u64() - parse an option value (decimal, 0x hex, 0 octal).
 * Return: 0, or -EINVAL for junk or overflow.
 */
int vfc_emu_pci_parse_u64(const char *value, uint64_t *ret);

/* The built-in models. */
extern const struct vfc_emu_pci_model vfc_emu_edu_model;
extern const struct vfc_emu_pci_model vfc_emu_pcitest_model;
extern const struct vfc_emu_pci_model vfc_emu_nvme_model;
