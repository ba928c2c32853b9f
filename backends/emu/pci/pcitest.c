// SPDX-License-Identifier: MIT
/*
 * pcitest: a DMA and interrupt test device in the spirit of Linux's PCI
 * endpoint test function (drivers/pci/endpoint/functions/pci-epf-test.c,
 * driven from the host by drivers/misc/pci_endpoint_test.c). It proves
 * the framework beyond edu: a 64-bit prefetchable BAR, the MSI-X table
 * and PBA in their own BAR, MSI with per-vector masking and several
 * vectors.
 *
 * PCI 1234:7e57 rev 0x01, class 0xff0000. Vendor 0x1234 is not assigned
 * by the PCI-SIG (QEMU borrows it for edu and its VGA); device 0x7e57 is
 * ours. BAR0: 4 KiB of registers with pci-epf-test's layout; BAR2: 64 KiB
 * of plain memory (64-bit, prefetchable); BAR4: 4 KiB holding the MSI-X
 * table (8 vectors) at 0 and the PBA at 0x800. INTx pin A, MSI with 4
 * vectors. A command written to BAR0 runs on the device thread, then
 * raises the interrupt the registers name. docs/devices.md has the map.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "emu-pci-model.h"

#define PT_MAGIC 0x00
#define PT_COMMAND 0x04
#define PT_STATUS 0x08
#define PT_SRC_LO 0x0c
#define PT_SRC_HI 0x10
#define PT_DST_LO 0x14
#define PT_DST_HI 0x18
#define PT_SIZE 0x1c
#define PT_CHECKSUM 0x20
#define PT_IRQ_TYPE 0x24
#define PT_IRQ_NUMBER 0x28
#define PT_FLAGS 0x2c
#define PT_CAPS 0x30
#define PT_REGS 0x40

#define CMD_RAISE_INTX (1u << 0)
#define CMD_RAISE_MSI (1u << 1)
#define CMD_RAISE_MSIX (1u << 2)
#define CMD_READ (1u << 3)
#define CMD_WRITE (1u << 4)
#define CMD_COPY (1u << 5)

#define ST_READ_SUCCESS (1u << 0)
#define ST_READ_FAIL (1u << 1)
#define ST_WRITE_SUCCESS (1u << 2)
#define ST_WRITE_FAIL (1u << 3)
#define ST_COPY_SUCCESS (1u << 4)
#define ST_COPY_FAIL (1u << 5)
#define ST_IRQ_RAISED (1u << 6)
#define ST_SRC_ADDR_INVALID (1u << 7)
#define ST_DST_ADDR_INVALID (1u << 8)

#define IRQ_TYPE_INTX 0
#define IRQ_TYPE_MSI 1
#define IRQ_TYPE_MSIX 2

#define CAP_UNALIGNED_ACCESS (1u << 0)
#define CAP_MSI (1u << 1)
#define CAP_MSIX (1u << 2)
#define CAP_INTX (1u << 3)

#define PT_MAX_XFER (1u << 20)
#define PT_DATA_SIZE (64u * 1024u)
#define PT_MSIX_VECTORS 8u

struct pcitest {
	uint64_t cmd_delay_ns;
	int cmd_timer;
	uint32_t crc_table[256];
	uint64_t rng;
	uint8_t regs[PT_REGS];
};

static uint32_t reg32(const struct pcitest *pt, unsigned int off)
{
	return (uint32_t)pt->regs[off] | (uint32_t)pt->regs[off + 1] << 8 |
	       (uint32_t)pt->regs[off + 2] << 16 | (uint32_t)pt->regs[off + 3] << 24;
}

static void reg_set32(struct pcitest *pt, unsigned int off, uint32_t v)
{
	for (unsigned int i = 0; i < 4; i++)
		pt->regs[off + i] = (uint8_t)(v >> (8 * i));
}

/* Linux's crc32_le(~0, buf, len): reflected CRC-32, no final inversion. */
static uint32_t pt_crc32(const struct pcitest *pt, const uint8_t *buf, size_t len)
{
	uint32_t crc = ~0u;

	for (size_t i = 0; i < len; i++)
		crc = pt->crc_table[(crc ^ buf[i]) & 0xff] ^ (crc >> 8);
	return crc;
}

static void pt_random(struct pcitest *pt, uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		pt->rng ^= pt->rng << 13;
		pt->rng ^= pt->rng >> 7;
		pt->rng ^= pt->rng << 17;
		buf[i] = (uint8_t)(pt->rng >> 24);
	}
}

/* pci_epf_test_raise_irq(): vectors are numbered from 1 (lock held). */
static void pt_raise_irq(struct vfc_emu_pci *pci, uint32_t type, uint32_t number)
{
	switch (type) {
	case IRQ_TYPE_INTX:
		/* an Assert_INTx / Deassert_INTx pair, as endpoint controllers send */
		vfc_emu_pci_set_irq(pci, true);
		vfc_emu_pci_set_irq(pci, false);
		break;
	case IRQ_TYPE_MSI:
		if (number >= 1)
			vfc_emu_pci_msi_notify(pci, number - 1);
		break;
	case IRQ_TYPE_MSIX:
		if (number >= 1)
			vfc_emu_pci_msix_notify(pci, number - 1);
		break;
	}
}

struct pt_xfer {
	uint32_t cmd;
	uint64_t src, dst;
	uint32_t size, checksum;
	uint32_t status;
};

/* The DMA part of READ, WRITE and COPY, without the lock. */
static void pt_xfer_run(struct vfc_emu_pci *pci, struct pcitest *pt, struct pt_xfer *x,
			uint8_t *buf)
{
	if (x->cmd & CMD_WRITE) {
		if (vfc_emu_pci_dma(pci, x->dst, buf, x->size, true) < 0)
			x->status |= ST_WRITE_FAIL | ST_DST_ADDR_INVALID;
		else
			x->status |= ST_WRITE_SUCCESS;
	} else if (x->cmd & CMD_READ) {
		if (vfc_emu_pci_dma(pci, x->src, buf, x->size, false) < 0)
			x->status |= ST_READ_FAIL | ST_SRC_ADDR_INVALID;
		else if (pt_crc32(pt, buf, x->size) != x->checksum)
			x->status |= ST_READ_FAIL;
		else
			x->status |= ST_READ_SUCCESS;
	} else {
		if (vfc_emu_pci_dma(pci, x->src, buf, x->size, false) < 0)
			x->status |= ST_COPY_FAIL | ST_SRC_ADDR_INVALID;
		else if (vfc_emu_pci_dma(pci, x->dst, buf, x->size, true) < 0)
			x->status |= ST_COPY_FAIL | ST_DST_ADDR_INVALID;
		else
			x->status |= ST_COPY_SUCCESS;
	}
}

static uint32_t fail_bit(uint32_t cmd)
{
	return cmd & CMD_WRITE ? ST_WRITE_FAIL : cmd & CMD_READ ? ST_READ_FAIL : ST_COPY_FAIL;
}

/* pci_epf_test_cmd_handler(); called with the lock held, may drop it. */
static void pt_command(struct vfc_emu_pci *pci, struct pcitest *pt)
{
	uint32_t cmd = reg32(pt, PT_COMMAND);
	uint32_t type = reg32(pt, PT_IRQ_TYPE), number = reg32(pt, PT_IRQ_NUMBER);
	struct pt_xfer x = { .cmd = cmd };
	uint64_t epoch;
	uint8_t *buf;

	if (!cmd)
		return;
	reg_set32(pt, PT_COMMAND, 0);
	reg_set32(pt, PT_STATUS, 0);
	if (type > IRQ_TYPE_MSIX)
		return;

	if (cmd & CMD_RAISE_INTX) {
		reg_set32(pt, PT_STATUS, ST_IRQ_RAISED);
		pt_raise_irq(pci, IRQ_TYPE_INTX, 0);
		return;
	}
	if (!(cmd & (CMD_WRITE | CMD_READ | CMD_COPY))) {
		unsigned int count;

		if (cmd & CMD_RAISE_MSI)
			count = vfc_emu_pci_msi_vectors(pci);
		else
			count = vfc_emu_pci_msix_enabled(pci) ? PT_MSIX_VECTORS : 0;

		if (!(cmd & (CMD_RAISE_MSI | CMD_RAISE_MSIX)) || !number || number > count)
			return;
		reg_set32(pt, PT_STATUS, ST_IRQ_RAISED);
		pt_raise_irq(pci, cmd & CMD_RAISE_MSI ? IRQ_TYPE_MSI : IRQ_TYPE_MSIX, number);
		return;
	}

	x.src = (uint64_t)reg32(pt, PT_SRC_HI) << 32 | reg32(pt, PT_SRC_LO);
	x.dst = (uint64_t)reg32(pt, PT_DST_HI) << 32 | reg32(pt, PT_DST_LO);
	x.size = reg32(pt, PT_SIZE);
	x.checksum = reg32(pt, PT_CHECKSUM);
	buf = x.size <= PT_MAX_XFER ? malloc(x.size ? x.size : 1) : NULL;
	if (!buf) {
		reg_set32(pt, PT_STATUS, fail_bit(cmd) | ST_IRQ_RAISED);
		pt_raise_irq(pci, type, number);
		return;
	}
	if (cmd & CMD_WRITE) {
		pt_random(pt, buf, x.size);
		x.checksum = pt_crc32(pt, buf, x.size);
	}
	epoch = vfc_emu_pci_epoch(pci);
	vfc_emu_pci_unlock(pci);
	pt_xfer_run(pci, pt, &x, buf);
	free(buf);
	vfc_emu_pci_lock(pci);
	if (vfc_emu_pci_epoch(pci) != epoch)
		return;
	if (x.status & ST_WRITE_SUCCESS)
		reg_set32(pt, PT_CHECKSUM, x.checksum);
	reg_set32(pt, PT_STATUS, x.status | ST_IRQ_RAISED);
	pt_raise_irq(pci, type, number);
}

static void pt_cmd_timer(struct vfc_emu_pci *pci, void *opaque)
{
	vfc_emu_pci_lock(pci);
	pt_command(pci, opaque);
	vfc_emu_pci_unlock(pci);
}

static uint64_t pt_read(struct vfc_emu_pci *pci, unsigned int bar, uint64_t off,
			unsigned int size)
{
	struct pcitest *pt = vfc_emu_pci_priv(pci);
	const uint8_t *src;
	size_t limit;
	uint64_t v = 0;

	if (bar != 0)
		return 0;	/* BAR2 is the framework's (mappable); BAR4 MSI-X */
	src = pt->regs;
	limit = PT_REGS;
	for (unsigned int i = 0; i < size; i++)
		if (off + i < limit)
			v |= (uint64_t)src[off + i] << (8 * i);
	return v;
}

static void pt_write(struct vfc_emu_pci *pci, unsigned int bar, uint64_t off, uint64_t val,
		     unsigned int size)
{
	struct pcitest *pt = vfc_emu_pci_priv(pci);
	bool command = false;

	if (bar != 0)
		return;
	for (unsigned int i = 0; i < size; i++) {
		uint64_t p = off + i;

		if (p >= PT_REGS || (p >= PT_CAPS && p < PT_CAPS + 4))
			continue; /* CAPS is read-only, the rest reads 0 */
		pt->regs[p] = (uint8_t)(val >> (8 * i));
		command |= p >= PT_COMMAND && p < PT_COMMAND + 4;
	}
	if (command && reg32(pt, PT_COMMAND))
		vfc_emu_pci_timer_mod(pci, pt->cmd_timer, pt->cmd_delay_ns);
}

static void pt_reset(struct vfc_emu_pci *pci)
{
	struct pcitest *pt = vfc_emu_pci_priv(pci);

	memset(pt->regs, 0, sizeof(pt->regs));
	reg_set32(pt, PT_CAPS, CAP_UNALIGNED_ACCESS | CAP_MSI | CAP_MSIX | CAP_INTX);
	pt->rng = 0x7e57c0de5eedull;
}

static int pt_init(struct vfc_emu_pci *pci)
{
	struct pcitest *pt = vfc_emu_pci_priv(pci);

	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
		pt->crc_table[i] = c;
	}
	pt->cmd_timer = vfc_emu_pci_timer_add(pci, pt_cmd_timer, pt);
	return pt->cmd_timer < 0 ? pt->cmd_timer : 0;
}

static int pt_set_option(struct vfc_emu_pci *pci, const char *key, const char *value)
{
	struct pcitest *pt = vfc_emu_pci_priv(pci);
	uint64_t v;

	if (strcmp(key, "cmd_delay_us") || vfc_emu_pci_parse_u64(value, &v) < 0 ||
	    v > 60ull * 1000 * 1000)
		return -EINVAL;
	pt->cmd_delay_ns = v * 1000;
	return 0;
}

const struct vfc_emu_pci_model vfc_emu_pcitest_model = {
	.name = "pcitest",
	.vendor_id = 0x1234,
	.device_id = 0x7e57,
	.subsystem_vendor_id = 0x1234,
	.subsystem_id = 0x7e57,
	.revision = 0x01,
	.class_code = 0xff0000, /* PCI_CLASS_OTHERS as a base class */
	.interrupt_pin = 1,
	.bars = {
		[0] = { .type = VFC_EMU_BAR_MEM32, .size = 4096 },
		[2] = { .type = VFC_EMU_BAR_MEM64, .prefetch = true, .size = PT_DATA_SIZE,
			.mappable = true },
		[4] = { .type = VFC_EMU_BAR_MEM32, .size = 4096 },
	},
	.msi_vectors = 4,
	.msi_64bit = true,
	.msi_maskbit = true,
	.msix_vectors = PT_MSIX_VECTORS,
	.msix_bar = 4,
	.msix_table_offset = 0,
	.msix_pba_offset = 0x800,
	.priv_size = sizeof(struct pcitest),
	.init = pt_init,
	.set_option = pt_set_option,
	.reset = pt_reset,
	.bar_read = pt_read,
	.bar_write = pt_write,
};
