// SPDX-License-Identifier: MIT
/*
 * edu: register-compatible with QEMU's educational device (qemu/qemu
 * hw/misc/edu.c, docs/specs/edu.rst). PCI 1234:11e8 rev 0x10, class 0x00ff,
 * BAR0 1 MiB of 32-bit MMIO, INTx pin A and one MSI vector (64-bit
 * address, no masking).
 *
 * The factorial is computed on the device thread (status bit 0 while it
 * runs); the DMA engine completes after a timer, 1 ms by default
 * ("dma_delay_us"; QEMU uses 100 ms). Differences from QEMU 7.2, all in
 * docs/devices.md: a transfer may end exactly at the end of the 4 KiB
 * buffer (QEMU 7.2 kills the VM there), one past it is refused without
 * moving data (the command still completes), a zero-length transfer is a
 * no-op, and reset returns the registers to power-on state.
 */
#include <errno.h>
#include <string.h>

#include "emu-pci-model.h"
#include "vfc-log.h"

#define EDU_FACT_IRQ 0x00000001u
#define EDU_DMA_IRQ 0x00000100u

#define EDU_DMA_START 0x40000u
#define EDU_DMA_SIZE 4096u

#define EDU_STATUS_COMPUTING 0x01u
#define EDU_STATUS_IRQFACT 0x80u

#define EDU_DMA_RUN 0x1u
#define EDU_DMA_DIR(cmd) (((cmd) & 0x2) >> 1)
#define EDU_DMA_FROM_PCI 0 /* RAM -> device buffer */
#define EDU_DMA_TO_PCI 1   /* device buffer -> RAM */
#define EDU_DMA_IRQ_EN 0x4u

#define EDU_PAGE 4096u

struct edu {
	/* settings */
	uint64_t dma_delay_ns;
	uint64_t dma_mask;
	int fact_timer;
	int dma_timer;

	/* registers */
	uint32_t addr4;
	uint32_t fact;
	uint32_t status;
	uint32_t irq_status;
	uint64_t dma_src, dma_dst, dma_cnt, dma_cmd;
	uint8_t dma_buf[EDU_DMA_SIZE];
};

static void edu_raise_irq(struct vfc_emu_pci *pci, struct edu *edu, uint32_t val)
{
	edu->irq_status |= val;
	if (!edu->irq_status)
		return;
	if (vfc_emu_pci_msi_enabled(pci))
		vfc_emu_pci_msi_notify(pci, 0);
	else
		vfc_emu_pci_set_irq(pci, true);
}

static void edu_lower_irq(struct vfc_emu_pci *pci, struct edu *edu, uint32_t val)
{
	edu->irq_status &= ~val;
	if (!edu->irq_status && !vfc_emu_pci_msi_enabled(pci))
		vfc_emu_pci_set_irq(pci, false);
}

/* n! modulo 2^32, as QEMU's loop computes it; 34! and up are 0 mod 2^32. */
static uint32_t factorial(uint32_t n)
{
	uint32_t r = 1;

	if (n >= 34)
		return 0;
	while (n > 0)
		r *= n--;
	return r;
}

static void edu_fact_timer(struct vfc_emu_pci *pci, void *opaque)
{
	struct edu *edu = opaque;

	vfc_emu_pci_lock(pci);
	if (edu->status & EDU_STATUS_COMPUTING) {
		edu->fact = factorial(edu->fact);
		edu->status &= ~EDU_STATUS_COMPUTING;
		if (edu->status & EDU_STATUS_IRQFACT)
			edu_raise_irq(pci, edu, EDU_FACT_IRQ);
	}
	vfc_emu_pci_unlock(pci);
}

/* Exactly to the end is fine; QEMU 7.2 refuses it with hw_error(). */
static bool edu_range_ok(uint64_t start, uint64_t cnt)
{
	return start >= EDU_DMA_START && start <= EDU_DMA_START + EDU_DMA_SIZE &&
	       cnt <= EDU_DMA_START + EDU_DMA_SIZE - start;
}

/*
 * DMA page by page, as an IOMMU translates: a page that faults (or any
 * page while bus mastering is off) reads as zeros and drops writes, as
 * accesses to unassigned memory do in QEMU; edu never notices.
 */
static void edu_dma_pages(struct vfc_emu_pci *pci, uint64_t addr, uint8_t *buf, uint64_t len,
			  bool write)
{
	while (len) {
		uint64_t chunk = EDU_PAGE - (addr & (EDU_PAGE - 1));

		if (chunk > len)
			chunk = len;
		if (vfc_emu_pci_dma(pci, addr, buf, chunk, write) < 0 && !write)
			memset(buf, 0, chunk);
		addr += chunk;
		buf += chunk;
		len -= chunk;
	}
}

static void edu_dma_timer(struct vfc_emu_pci *pci, void *opaque)
{
	struct edu *edu = opaque;
	uint8_t bounce[EDU_DMA_SIZE];
	uint64_t epoch, ram, dev, cnt;
	bool to_ram, ok;

	vfc_emu_pci_lock(pci);
	if (!(edu->dma_cmd & EDU_DMA_RUN)) {
		vfc_emu_pci_unlock(pci);
		return;
	}
	epoch = vfc_emu_pci_epoch(pci);
	to_ram = EDU_DMA_DIR(edu->dma_cmd) == EDU_DMA_TO_PCI;
	cnt = edu->dma_cnt;
	dev = to_ram ? edu->dma_src : edu->dma_dst;
	ram = (to_ram ? edu->dma_dst : edu->dma_src) & edu->dma_mask;
	ok = edu_range_ok(dev, cnt);
	if (ok && to_ram)
		memcpy(bounce, edu->dma_buf + (dev - EDU_DMA_START), cnt);
	if (!ok)
		vfc_debug("edu: DMA 0x%llx+0x%llx outside the buffer, not done",
			  (unsigned long long)dev, (unsigned long long)cnt);
	vfc_emu_pci_unlock(pci);

	if (ok)
		edu_dma_pages(pci, ram, bounce, cnt, to_ram);

	vfc_emu_pci_lock(pci);
	if (vfc_emu_pci_epoch(pci) == epoch && (edu->dma_cmd & EDU_DMA_RUN)) {
		if (ok && !to_ram)
			memcpy(edu->dma_buf + (dev - EDU_DMA_START), bounce, cnt);
		edu->dma_cmd &= ~(uint64_t)EDU_DMA_RUN;
		if (edu->dma_cmd & EDU_DMA_IRQ_EN)
			edu_raise_irq(pci, edu, EDU_DMA_IRQ);
	}
	vfc_emu_pci_unlock(pci);
}

static uint64_t edu_read(struct vfc_emu_pci *pci, unsigned int bar, uint64_t addr,
			 unsigned int size)
{
	struct edu *edu = vfc_emu_pci_priv(pci);
	uint64_t val = ~0ull;

	if (size < 4)
		return 0; /* QEMU: below min_access_size, reads as unassigned */
	if (addr < 0x80 && size != 4)
		return val;

	switch (addr) {
	case 0x00:
		val = 0x010000edu;
		break;
	case 0x04:
		val = edu->addr4;
		break;
	case 0x08:
		val = edu->fact;
		break;
	case 0x20:
		val = edu->status;
		break;
	case 0x24:
		val = edu->irq_status;
		break;
	case 0x80:
		val = edu->dma_src;
		break;
	case 0x88:
		val = edu->dma_dst;
		break;
	case 0x90:
		val = edu->dma_cnt;
		break;
	case 0x98:
		val = edu->dma_cmd;
		break;
	}
	return val;
}

static void edu_write(struct vfc_emu_pci *pci, unsigned int bar, uint64_t addr, uint64_t val,
		      unsigned int size)
{
	struct edu *edu = vfc_emu_pci_priv(pci);
	bool running = edu->dma_cmd & EDU_DMA_RUN;

	if (size < 4 || (addr < 0x80 && size != 4))
		return;

	switch (addr) {
	case 0x04:
		edu->addr4 = ~(uint32_t)val;
		break;
	case 0x08:
		if (edu->status & EDU_STATUS_COMPUTING)
			break;
		edu->fact = (uint32_t)val;
		edu->status |= EDU_STATUS_COMPUTING;
		vfc_emu_pci_timer_mod(pci, edu->fact_timer, 0);
		break;
	case 0x20:
		if (val & EDU_STATUS_IRQFACT)
			edu->status |= EDU_STATUS_IRQFACT;
		else
			edu->status &= ~EDU_STATUS_IRQFACT;
		break;
	case 0x60:
		edu_raise_irq(pci, edu, (uint32_t)val);
		break;
	case 0x64:
		edu_lower_irq(pci, edu, (uint32_t)val);
		break;
	case 0x80:
		if (!running)
			edu->dma_src = val;
		break;
	case 0x88:
		if (!running)
			edu->dma_dst = val;
		break;
	case 0x90:
		if (!running)
			edu->dma_cnt = val;
		break;
	case 0x98:
		if (!(val & EDU_DMA_RUN) || running)
			break;
		edu->dma_cmd = val;
		vfc_emu_pci_timer_mod(pci, edu->dma_timer, edu->dma_delay_ns);
		break;
	}
}

static void edu_reset(struct vfc_emu_pci *pci)
{
	struct edu *edu = vfc_emu_pci_priv(pci);

	edu->addr4 = 0;
	edu->fact = 0;
	edu->status = 0;
	edu->irq_status = 0;
	edu->dma_src = edu->dma_dst = edu->dma_cnt = edu->dma_cmd = 0;
	memset(edu->dma_buf, 0, sizeof(edu->dma_buf));
}

static int edu_init(struct vfc_emu_pci *pci)
{
	struct edu *edu = vfc_emu_pci_priv(pci);

	edu->dma_delay_ns = 1000000;	   /* 1 ms */
	edu->dma_mask = (1ull << 28) - 1; /* QEMU's default dma_mask */
	edu->fact_timer = vfc_emu_pci_timer_add(pci, edu_fact_timer, edu);
	edu->dma_timer = vfc_emu_pci_timer_add(pci, edu_dma_timer, edu);
	if (edu->fact_timer < 0 || edu->dma_timer < 0)
		return -ENOSPC;
	return 0;
}

static int edu_set_option(struct vfc_emu_pci *pci, const char *key, const char *value)
{
	struct edu *edu = vfc_emu_pci_priv(pci);
	uint64_t v;

	if (vfc_emu_pci_parse_u64(value, &v) < 0)
		return -EINVAL;
	if (!strcmp(key, "dma_delay_us")) {
		if (v > 60ull * 1000 * 1000)
			return -EINVAL;
		edu->dma_delay_ns = v * 1000;
	} else if (!strcmp(key, "dma_mask")) {
		edu->dma_mask = v;
	} else {
		return -EINVAL;
	}
	return 0;
}

const struct vfc_emu_pci_model vfc_emu_edu_model = {
	.name = "edu",
	.vendor_id = 0x1234,
	.device_id = 0x11e8,
	/* QEMU's default subsystem ids (pci_set_default_subsystem_id()) */
	.subsystem_vendor_id = 0x1af4,
	.subsystem_id = 0x1100,
	.revision = 0x10,
	.class_code = 0x00ff00, /* PCI_CLASS_OTHERS: base 0x00, sub 0xff */
	.interrupt_pin = 1,
	.bars = { [0] = { .type = VFC_EMU_BAR_MEM32, .size = 1u << 20 } },
	.msi_vectors = 1,
	.msi_64bit = true,
	.msi_maskbit = false,
	.devspec_writable = true, /* QEMU: config beyond the header is RAM */
	.priv_size = sizeof(struct edu),
	.init = edu_init,
	.set_option = edu_set_option,
	.reset = edu_reset,
	.bar_read = edu_read,
	.bar_write = edu_write,
};
