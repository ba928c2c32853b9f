/* SPDX-License-Identifier: MIT */
/*
 * vfio-e2e-client: shared state and helpers.
 *
 * The client is an ordinary VFIO user (like the example in the kernel's
 * Documentation/driver-api/vfio.rst) that drives QEMU's edu device and prints
 * a canonical transcript: one line per step, "step: key=value ...", holding
 * only what the ABI returns and nothing that varies between runs (no fd
 * numbers, pointers, timings).  Transcripts of the real kernel and of
 * vfio-cuse are diffed, so every printed value is part of the contract.
 *
 * Only plain libc calls touch VFIO objects: open, ioctl, pread, pwrite, read,
 * write, lseek, mmap, munmap, eventfd, poll, close.  Helpers here return
 * >= 0 on success and -errno on failure.
 */
#ifndef VFIO_E2E_H
#define VFIO_E2E_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/vfio.h>

#define E2E_ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))
#define e2e_offsetofend(T, m) (offsetof(T, m) + sizeof(((T *)0)->m))

/* Layout of the test: where the DMA buffer sits in IOVA space. */
#define E2E_DMA_IOVA 0x100000ULL
#define E2E_DMA_SIZE 0x100000ULL

/* QEMU edu registers (qemu docs/specs/edu.rst). */
#define EDU_ID 0x00
#define EDU_LIVENESS 0x04
#define EDU_FACT 0x08
#define EDU_STATUS 0x20
#define EDU_STATUS_COMPUTING 0x01
#define EDU_STATUS_IRQFACT 0x80
#define EDU_IRQ_STATUS 0x24
#define EDU_IRQ_RAISE 0x60
#define EDU_IRQ_ACK 0x64
#define EDU_DMA_SRC 0x80
#define EDU_DMA_DST 0x88
#define EDU_DMA_CNT 0x90
#define EDU_DMA_CMD 0x98
#define EDU_DMA_RUN 0x1
#define EDU_DMA_FROM_DEV 0x2
#define EDU_DMA_IRQ 0x4
#define EDU_DMA_BUF 0x40000ULL
#define EDU_IDENT 0x010000edU

struct e2e {
	/* options */
	const char *vfio_dir;
	int group_nr;
	const char *bdf;
	const char *close_order;
	bool probe_abi;
	bool no_mmap;
	bool private_dma;	/* the DMA buffer: private anonymous memory */

	/* VFIO fds, -1 when closed */
	int container;
	int group;
	int device;

	/* 1 MiB memfd-backed MAP_SHARED DMA buffer */
	uint8_t *buf;

	/* region infos as reported by the device (index < VFIO_PCI_NUM_REGIONS) */
	struct vfio_region_info region[VFIO_PCI_NUM_REGIONS];
	bool have_region[VFIO_PCI_NUM_REGIONS];

	unsigned failures;
};

/* ---- transcript ---- */
void e2e_out(const char *step, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void e2e_fail(struct e2e *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "EINVAL" for EINVAL; never a number unless the errno has no name. */
const char *e2e_errname(int err);
/* "rc=N" for r >= 0, "rc=-1 errno=ENAME" for r < 0 (r is -errno). */
const char *e2e_rc(int r, char buf[static 48]);
#define RC(r) e2e_rc((r), (char[48]){ 0 })
/* Like RC() but an fd result prints as "rc=fd" (fd numbers vary). */
const char *e2e_rcfd(int r, char buf[static 48]);
#define RCFD(r) e2e_rcfd((r), (char[48]){ 0 })
/* Prints FAIL unless r is -want. */
void e2e_expect_errno(struct e2e *t, const char *what, int r, int want);
/* Prints FAIL unless r == 0. */
void e2e_expect_ok(struct e2e *t, const char *what, int r);

/* ---- libc wrappers returning -errno ---- */
int e2e_ioctl(int fd, unsigned long req, void *arg);
int e2e_ioctl_val(int fd, unsigned long req, unsigned long arg);
ssize_t e2e_pread(int fd, void *buf, size_t n, off_t off);
ssize_t e2e_pwrite(int fd, const void *buf, size_t n, off_t off);
int e2e_close(int *fd);
int e2e_eventfd(void);
/* Waits up to timeout_ms for the eventfd; 1 and *ret_count when it fired,
 * 0 when it did not, -errno on error. */
int e2e_efd_wait(int efd, int timeout_ms, uint64_t *ret_count);
void e2e_sleep_ms(unsigned ms);
uint64_t e2e_now_ms(void);

/* ---- device access through the reported region offsets ---- */
int e2e_cfg_read(struct e2e *t, unsigned off, unsigned size, uint32_t *ret);
int e2e_cfg_write(struct e2e *t, unsigned off, unsigned size, uint32_t val);
/* BAR0 accesses of size 1, 2, 4 or 8 bytes; return bytes moved or -errno. */
int e2e_bar_read(struct e2e *t, unsigned off, unsigned size, uint64_t *ret);
int e2e_bar_write(struct e2e *t, unsigned off, unsigned size, uint64_t val);
uint32_t e2e_bar_rd32(struct e2e *t, unsigned off);
void e2e_bar_wr32(struct e2e *t, unsigned off, uint32_t val);
/* Polls BAR0 register off until (value & mask) == 0; 0, -ETIMEDOUT or -errno. */
int e2e_bar_wait_clear(struct e2e *t, unsigned off, uint32_t mask, unsigned timeout_ms);

/* SET_IRQS with an optional data array; returns 0 or -errno. */
int e2e_set_irqs(int device, uint32_t flags, uint32_t index, uint32_t start, uint32_t count,
		 const void *data, size_t data_size);

/* MAP/UNMAP printing helpers (vaddr is printed as the label). */
int e2e_map(struct e2e *t, const char *step, const char *vaddr_label, uint64_t vaddr,
	    uint64_t iova, uint64_t size, uint32_t flags);
int e2e_unmap(struct e2e *t, const char *step, uint64_t iova, uint64_t size, uint32_t flags,
	      uint64_t *ret_size);

/* Prints the walk of an IOMMU_GET_INFO capability chain in buf[0..size). */
void e2e_print_iommu_caps(struct e2e *t, const void *buf, size_t size, uint32_t cap_offset);
/* Fetches IOMMU info with caps and prints the DMA_AVAIL cap's avail. */
void e2e_print_dma_avail(struct e2e *t, const char *step);

/* ---- steps ---- */
void e2e_step5_config(struct e2e *t);
void e2e_step6_bar0(struct e2e *t);
void e2e_step7_dma(struct e2e *t);
void e2e_step8_msi(struct e2e *t);
void e2e_step9_intx(struct e2e *t);
void e2e_step10_loopback(struct e2e *t);
void e2e_probe_before_container(struct e2e *t);
void e2e_probe_before_iommu(struct e2e *t);
void e2e_step11_probes(struct e2e *t);

#endif
