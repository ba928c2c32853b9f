/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the unit tests of the emulated PCI devices
 * (tests/test-emu-*.c; the code is tests/test-emu-pci-util.c). They drive
 * a device through its struct vfc_device_ops exactly as the core would,
 * with a fake DMA target instead of the IOMMU, and read interrupts back
 * from real eventfds. Every helper fails the running CMocka test on an
 * unexpected error. Waits poll with a generous bound; nothing is timed.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "emu-pci-model.h"

/* How long a wait may take before the test fails: generous on purpose. */
#define T_WAIT_MS 20000

/* The test model: every framework feature, registers to poke interrupts. */
extern const struct vfc_emu_pci_model vfc_t_model;
#define T_REG_SET_IRQ 0x100	/* write: INTx line level */
#define T_REG_MSI 0x104		/* write: send MSI vector */
#define T_REG_MSIX 0x108	/* write: send MSI-X vector */
#define T_REG_RESETS 0x10c	/* read: model resets so far */
#define T_REG_DMA 0x110		/* write: DMA 16 bytes from this IOVA into BAR0 0 */
#define T_REG_DMA_RESULT 0x114	/* read: that DMA's return value */

/** struct vfc_t_access - one BAR access seen by the test model. */
struct vfc_t_access {
	unsigned int bar;
	uint64_t off;
	unsigned int size;
	bool write;
};
#define T_LOG_MAX 64
/* The test model's access log (reset with vfc_t_log_clear()). */
extern struct vfc_t_access vfc_t_log[T_LOG_MAX];
extern unsigned int vfc_t_log_len;
void vfc_t_log_clear(void);

/* Device ops shortcuts (the ops table of the device). */
struct vfc_emu_pci *vfc_t_new(const struct vfc_emu_pci_model *model, const char *options);
void vfc_t_open(struct vfc_emu_pci *pci);
void vfc_t_close(struct vfc_emu_pci *pci);
ssize_t vfc_t_rw(struct vfc_emu_pci *pci, unsigned int index, uint64_t off, void *buf, size_t len,
	     bool write);
uint32_t vfc_t_cfg_read(struct vfc_emu_pci *pci, unsigned int off, unsigned int size);
void vfc_t_cfg_write(struct vfc_emu_pci *pci, unsigned int off, unsigned int size, uint32_t val);
uint64_t vfc_t_bar_read(struct vfc_emu_pci *pci, unsigned int bar, uint64_t off, unsigned int size);
void vfc_t_bar_write(struct vfc_emu_pci *pci, unsigned int bar, uint64_t off, unsigned int size,
		 uint64_t val);
int vfc_t_set_irqs(struct vfc_emu_pci *pci, uint32_t flags, unsigned int index, unsigned int start,
	       unsigned int count, const void *data);
int vfc_t_set_fd(struct vfc_emu_pci *pci, unsigned int index, uint32_t action, unsigned int start,
	     int fd);
int vfc_t_reset(struct vfc_emu_pci *pci);

/* Eventfds. */
int vfc_t_efd(void);
uint64_t vfc_t_efd_take(int fd);	/* non-blocking: the counter, or 0 */
uint64_t vfc_t_efd_wait(int fd);	/* waits up to T_WAIT_MS for a signal */
int vfc_t_count_fds(void);

/* Poll @fn(@arg) until true or T_WAIT_MS; return its last value. */
bool vfc_t_wait(bool (*fn)(void *arg), void *arg);

/**
 * struct vfc_t_mem - the fake DMA target: IOVA [0, size) maps @mem, except
 * [fault_start, fault_end), which faults as an unmapped IOVA.
 */
struct vfc_t_mem {
	uint8_t *mem;
	uint64_t size;
	uint64_t fault_start, fault_end;
	unsigned int calls;
};
void vfc_t_mem_init(struct vfc_t_mem *m, uint64_t size);
void vfc_t_mem_fini(struct vfc_t_mem *m);
int vfc_t_mem_dma(void *opaque, uint64_t iova, void *buf, size_t len, bool write);
