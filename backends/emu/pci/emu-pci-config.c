// SPDX-License-Identifier: MIT
/*
 * Config space of an emulated PCI device, in two layers as on a real host.
 *
 * The hardware layer is what the device implements: a 256-byte type-0
 * header plus capabilities, with per-byte writable and write-1-to-clear
 * masks, and the host firmware's BAR addresses.
 *
 * The vfio layer is what vfio-pci (drivers/vfio/pci/vfio_pci_config.c)
 * shows the client: a shadow copy ("vconfig") taken at open, per-byte
 * "virtualized" and "writable" permissions, BAR sizing emulated on the
 * shadow, the MSI capability virtualized (the enable bit only sticks while
 * the MSI index is enabled through SET_IRQS, the multiple-message fields
 * follow the vectors last enabled), the MSI-X capability read-only, and
 * INTx disable emulated. Accesses are cut into naturally aligned chunks of
 * at most a dword that never straddle two capabilities, as the kernel does.
 */
#include <errno.h>
#include <string.h>
#include <linux/pci_regs.h>

#include "emu-pci-priv.h"

#define HOST_IRQ_LINE 0x0b /* what the host firmware routed INTA to */

uint16_t vfc_emu_pci_cfg_word(const struct vfc_emu_pci *pci, unsigned int off)
{
	return (uint16_t)(pci->cfg[off] | pci->cfg[off + 1] << 8);
}

void vfc_emu_pci_cfg_set_word(struct vfc_emu_pci *pci, unsigned int off, uint16_t val)
{
	pci->cfg[off] = (uint8_t)val;
	pci->cfg[off + 1] = (uint8_t)(val >> 8);
}

static void put16(uint8_t *p, unsigned int off, uint16_t val)
{
	p[off] = (uint8_t)val;
	p[off + 1] = (uint8_t)(val >> 8);
}

static void put32(uint8_t *p, unsigned int off, uint32_t val)
{
	for (unsigned int i = 0; i < 4; i++)
		p[off + i] = (uint8_t)(val >> (8 * i));
}

static uint32_t get32(const uint8_t *p, unsigned int off)
{
	return (uint32_t)p[off] | (uint32_t)p[off + 1] << 8 | (uint32_t)p[off + 2] << 16 |
	       (uint32_t)p[off + 3] << 24;
}

static unsigned int ilog2_u(unsigned int v)
{
	unsigned int r = 0;

	while (v > 1) {
		v >>= 1;
		r++;
	}
	return r;
}

static uint32_t bar_flags(const struct vfc_emu_pci_bar *bar)
{
	uint32_t f;

	if (bar->type == VFC_EMU_BAR_IO)
		return PCI_BASE_ADDRESS_SPACE_IO;
	f = PCI_BASE_ADDRESS_SPACE_MEMORY;
	if (bar->prefetch)
		f |= PCI_BASE_ADDRESS_MEM_PREFETCH;
	if (bar->type == VFC_EMU_BAR_MEM64)
		f |= PCI_BASE_ADDRESS_MEM_TYPE_64;
	return f;
}

static unsigned int msi_len(const struct vfc_emu_pci_model *m)
{
	unsigned int len = 10;

	if (m->msi_64bit)
		len += 4;
	if (m->msi_maskbit)
		len += 10;
	return len;
}

/* The hardware at power-on, with the firmware's BAR addresses in place. */
static void config_build(struct vfc_emu_pci *pci, uint8_t *cfg)
{
	const struct vfc_emu_pci_model *m = pci->model;

	memset(cfg, 0, EMU_CFG_SIZE);
	put16(cfg, PCI_VENDOR_ID, m->vendor_id);
	put16(cfg, PCI_DEVICE_ID, m->device_id);
	if (pci->msi_pos || pci->msix_pos)
		put16(cfg, PCI_STATUS, PCI_STATUS_CAP_LIST);
	cfg[PCI_REVISION_ID] = m->revision;
	cfg[PCI_CLASS_PROG] = (uint8_t)m->class_code;
	cfg[PCI_CLASS_DEVICE] = (uint8_t)(m->class_code >> 8);
	cfg[PCI_CLASS_DEVICE + 1] = (uint8_t)(m->class_code >> 16);
	cfg[PCI_HEADER_TYPE] = PCI_HEADER_TYPE_NORMAL;
	for (unsigned int i = 0; i < 6; i++) {
		const struct vfc_emu_pci_bar *bar = &m->bars[i];

		if (bar->type == VFC_EMU_BAR_NONE)
			continue;
		put32(cfg, PCI_BASE_ADDRESS_0 + 4 * i, (uint32_t)pci->bar_addr[i] | bar_flags(bar));
		if (bar->type == VFC_EMU_BAR_MEM64) {
			put32(cfg, PCI_BASE_ADDRESS_0 + 4 * (i + 1),
			      (uint32_t)(pci->bar_addr[i] >> 32));
			i++;
		}
	}
	put16(cfg, PCI_SUBSYSTEM_VENDOR_ID, m->subsystem_vendor_id);
	put16(cfg, PCI_SUBSYSTEM_ID, m->subsystem_id);
	cfg[PCI_CAPABILITY_LIST] = pci->msi_pos ? pci->msi_pos : pci->msix_pos;
	cfg[PCI_INTERRUPT_PIN] = m->interrupt_pin;
	cfg[PCI_INTERRUPT_LINE] = m->interrupt_pin ? HOST_IRQ_LINE : 0;

	if (pci->msi_pos) {
		unsigned int p = pci->msi_pos;
		uint16_t flags = (uint16_t)(ilog2_u(m->msi_vectors) << 1);

		if (m->msi_64bit)
			flags |= PCI_MSI_FLAGS_64BIT;
		if (m->msi_maskbit)
			flags |= PCI_MSI_FLAGS_MASKBIT;
		cfg[p + PCI_CAP_LIST_ID] = PCI_CAP_ID_MSI;
		cfg[p + PCI_CAP_LIST_NEXT] = pci->msix_pos;
		put16(cfg, p + PCI_MSI_FLAGS, flags);
	}
	if (pci->msix_pos) {
		unsigned int p = pci->msix_pos;

		cfg[p + PCI_CAP_LIST_ID] = PCI_CAP_ID_MSIX;
		cfg[p + PCI_CAP_LIST_NEXT] = 0;
		put16(cfg, p + PCI_MSIX_FLAGS, (uint16_t)(m->msix_vectors - 1));
		put32(cfg, p + PCI_MSIX_TABLE, m->msix_table_offset | m->msix_bar);
		put32(cfg, p + PCI_MSIX_PBA, m->msix_pba_offset | m->msix_bar);
	}
}

static void masks_build(struct vfc_emu_pci *pci)
{
	const struct vfc_emu_pci_model *m = pci->model;

	memset(pci->wmask, 0, sizeof(pci->wmask));
	memset(pci->w1cmask, 0, sizeof(pci->w1cmask));

	/* As QEMU's conventional PCI devices (hw/pci/pci.c pci_init_wmask). */
	put16(pci->wmask, PCI_COMMAND,
	      PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_SERR |
		      PCI_COMMAND_INTX_DISABLE);
	put16(pci->w1cmask, PCI_STATUS,
	      PCI_STATUS_PARITY | PCI_STATUS_SIG_TARGET_ABORT | PCI_STATUS_REC_TARGET_ABORT |
		      PCI_STATUS_REC_MASTER_ABORT | PCI_STATUS_SIG_SYSTEM_ERROR |
		      PCI_STATUS_DETECTED_PARITY);
	pci->wmask[PCI_CACHE_LINE_SIZE] = 0xff;
	pci->wmask[PCI_INTERRUPT_LINE] = 0xff;

	if (m->devspec_writable)
		memset(pci->wmask + EMU_HDR_SIZE, 0xff, EMU_CFG_SIZE - EMU_HDR_SIZE);
	if (pci->msi_pos) {
		unsigned int p = pci->msi_pos, data, mask;

		memset(pci->wmask + p, 0, pci->msi_len);
		pci->wmask[p + PCI_MSI_FLAGS] = PCI_MSI_FLAGS_ENABLE | PCI_MSI_FLAGS_QSIZE;
		put32(pci->wmask, p + PCI_MSI_ADDRESS_LO, 0xfffffffc);
		if (m->msi_64bit) {
			put32(pci->wmask, p + PCI_MSI_ADDRESS_HI, 0xffffffff);
			data = PCI_MSI_DATA_64;
			mask = PCI_MSI_MASK_64;
		} else {
			data = PCI_MSI_DATA_32;
			mask = PCI_MSI_MASK_32;
		}
		put16(pci->wmask, p + data, 0xffff);
		if (m->msi_maskbit)
			put32(pci->wmask, p + mask,
			      m->msi_vectors == 32 ? 0xffffffffu : (1u << m->msi_vectors) - 1);
	}
	if (pci->msix_pos) {
		memset(pci->wmask + pci->msix_pos, 0, PCI_CAP_MSIX_SIZEOF);
		put16(pci->wmask, pci->msix_pos + PCI_MSIX_FLAGS,
		      PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	}
}

/* Little-endian permission bits for a field of 1 to 4 bytes. */
static void perm_set(struct vfc_emu_pci *pci, unsigned int off, unsigned int len, uint32_t virt,
		     uint32_t write)
{
	for (unsigned int i = 0; i < len; i++) {
		pci->virt[off + i] = (uint8_t)(virt >> (8 * i));
		pci->vwrite[off + i] = (uint8_t)(write >> (8 * i));
	}
}

/* vfio-pci's permission tables: init_pci_cap_basic_perm() and friends. */
static void perms_build(struct vfc_emu_pci *pci)
{
	const struct vfc_emu_pci_model *m = pci->model;

	/* Unassigned bytes: raw access to the hardware. */
	memset(pci->cap_map, EMU_MAP_UNASSIGNED, sizeof(pci->cap_map));
	memset(pci->virt, 0, sizeof(pci->virt));
	memset(pci->vwrite, 0xff, sizeof(pci->vwrite));

	memset(pci->cap_map, EMU_MAP_BASIC, EMU_HDR_SIZE);
	memset(pci->vwrite, 0, EMU_HDR_SIZE);
	perm_set(pci, PCI_VENDOR_ID, 2, 0xffff, 0);
	perm_set(pci, PCI_DEVICE_ID, 2, 0xffff, 0);
	perm_set(pci, PCI_COMMAND, 2, PCI_COMMAND_INTX_DISABLE, 0xffff);
	perm_set(pci, PCI_STATUS, 2, PCI_STATUS_CAP_LIST, 0);
	perm_set(pci, PCI_CACHE_LINE_SIZE, 1, 0, 0xff);
	perm_set(pci, PCI_LATENCY_TIMER, 1, 0, 0xff);
	perm_set(pci, PCI_BIST, 1, 0, 0xff);
	for (unsigned int i = 0; i < 6; i++)
		perm_set(pci, PCI_BASE_ADDRESS_0 + 4 * i, 4, 0xffffffff, 0xffffffff);
	perm_set(pci, PCI_ROM_ADDRESS, 4, 0xffffffff, 0xffffffff);
	perm_set(pci, PCI_CAPABILITY_LIST, 1, 0xff, 0);
	perm_set(pci, PCI_INTERRUPT_LINE, 1, 0xff, 0xff);
	perm_set(pci, PCI_INTERRUPT_PIN, 1, 0xff, 0);

	if (pci->msi_pos) {
		unsigned int p = pci->msi_pos;

		memset(pci->cap_map + p, PCI_CAP_ID_MSI, pci->msi_len);
		memset(pci->virt + p, 0, pci->msi_len);
		memset(pci->vwrite + p, 0, pci->msi_len);
		perm_set(pci, p + PCI_CAP_LIST_NEXT, 1, 0xff, 0);
		perm_set(pci, p + PCI_MSI_FLAGS, 1, 0xff, 0xff);
		perm_set(pci, p + PCI_MSI_ADDRESS_LO, 4, 0xffffffff, 0xffffffff);
		if (m->msi_64bit) {
			perm_set(pci, p + PCI_MSI_ADDRESS_HI, 4, 0xffffffff, 0xffffffff);
			perm_set(pci, p + PCI_MSI_DATA_64, 2, 0xffff, 0xffff);
			if (m->msi_maskbit) {
				perm_set(pci, p + PCI_MSI_MASK_64, 4, 0, 0xffffffff);
				perm_set(pci, p + PCI_MSI_PENDING_64, 4, 0, 0xffffffff);
			}
		} else {
			perm_set(pci, p + PCI_MSI_DATA_32, 2, 0xffff, 0xffff);
			if (m->msi_maskbit) {
				perm_set(pci, p + PCI_MSI_MASK_32, 4, 0, 0xffffffff);
				perm_set(pci, p + PCI_MSI_PENDING_32, 4, 0, 0xffffffff);
			}
		}
	}
	if (pci->msix_pos) {
		/* Read straight from the hardware, writes dropped. */
		memset(pci->cap_map + pci->msix_pos, PCI_CAP_ID_MSIX, PCI_CAP_MSIX_SIZEOF);
		memset(pci->virt + pci->msix_pos, 0, PCI_CAP_MSIX_SIZEOF);
		memset(pci->vwrite + pci->msix_pos, 0, PCI_CAP_MSIX_SIZEOF);
	}
}

/**
 * vfc_emu_pci_config_init() - lay config space out for the model.
 * @pci: the device, with its model and BAR addresses set.
 *
 * Capabilities go from 0x40 on, dword aligned: MSI first, then MSI-X.
 * Return: 0, or -EINVAL when they do not fit.
 */
int vfc_emu_pci_config_init(struct vfc_emu_pci *pci)
{
	const struct vfc_emu_pci_model *m = pci->model;
	unsigned int pos = EMU_HDR_SIZE;

	if (m->msi_vectors) {
		pci->msi_pos = (uint8_t)pos;
		pci->msi_len = (uint8_t)msi_len(m);
		pos += (pci->msi_len + 3u) & ~3u;
	}
	if (m->msix_vectors) {
		if (pos + PCI_CAP_MSIX_SIZEOF > EMU_CFG_SIZE)
			return -EINVAL;
		pci->msix_pos = (uint8_t)pos;
	}
	config_build(pci, pci->cfg);
	masks_build(pci);
	perms_build(pci);
	memcpy(pci->vconfig, pci->cfg, sizeof(pci->vconfig));
	return 0;
}

static bool has_bar_type(const struct vfc_emu_pci *pci, bool io)
{
	for (unsigned int i = 0; i < 6; i++) {
		uint8_t t = pci->model->bars[i].type;

		if (t != VFC_EMU_BAR_NONE && (t == VFC_EMU_BAR_IO) == io)
			return true;
	}
	return false;
}

/**
 * vfc_emu_pci_config_enable() - what vfio_pci_core_enable() does to config
 * space, minus the reset (the caller resets in between, see emu-pci.c).
 * @pci: the device (lock held).
 *
 * Bus mastering off, pci_enable_device() turning on memory and I/O decode,
 * INTx disable cleared, the state saved for close, then the shadow copy.
 */
void vfc_emu_pci_config_enable(struct vfc_emu_pci *pci)
{
	uint16_t cmd = vfc_emu_pci_cfg_word(pci, PCI_COMMAND);

	cmd &= (uint16_t)~(PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE);
	if (has_bar_type(pci, false))
		cmd |= PCI_COMMAND_MEMORY;
	if (has_bar_type(pci, true))
		cmd |= PCI_COMMAND_IO;
	vfc_emu_pci_cfg_set_word(pci, PCI_COMMAND, cmd);
	memcpy(pci->saved_hdr, pci->cfg, EMU_HDR_SIZE);

	memcpy(pci->vconfig, pci->cfg, sizeof(pci->vconfig));
	pci->virq_disabled = false;
}

/**
 * vfc_emu_pci_config_reset() - a function reset as pci_try_reset_function()
 * performs it: the header is saved, the device resets, the header and any
 * MSI/MSI-X state the host has enabled are restored (lock held).
 * @pci: the device.
 */
void vfc_emu_pci_config_reset(struct vfc_emu_pci *pci)
{
	uint8_t hdr[EMU_HDR_SIZE];

	memcpy(hdr, pci->cfg, sizeof(hdr));
	config_build(pci, pci->cfg);
	memcpy(pci->cfg, hdr, sizeof(hdr));
	vfc_emu_pci_irq_hw_reset(pci);
}

/**
 * vfc_emu_pci_config_disable() - the config part of vfio_pci_core_disable()
 * once interrupts are off and the device was reset: the state saved at
 * open comes back, then pci_disable_device() clears bus mastering.
 * @pci: the device (lock held).
 */
void vfc_emu_pci_config_disable(struct vfc_emu_pci *pci)
{
	uint16_t status = vfc_emu_pci_cfg_word(pci, PCI_STATUS);

	memcpy(pci->cfg, pci->saved_hdr, EMU_HDR_SIZE);
	vfc_emu_pci_cfg_set_word(pci, PCI_STATUS, status);
	vfc_emu_pci_cfg_set_word(pci, PCI_COMMAND,
				 vfc_emu_pci_cfg_word(pci, PCI_COMMAND) & ~PCI_COMMAND_MASTER);
	pci->virq_disabled = false;
}

bool vfc_emu_pci_memory_enabled(struct vfc_emu_pci *pci)
{
	return pci->vconfig[PCI_COMMAND] & PCI_COMMAND_MEMORY;
}

/* A write of the hardware: only writable bits change, W1C bits clear. */
static void hw_write(struct vfc_emu_pci *pci, unsigned int pos, uint8_t val, uint8_t bits)
{
	uint8_t w = bits & pci->wmask[pos];
	uint8_t c = bits & pci->w1cmask[pos];

	pci->cfg[pos] = (uint8_t)((pci->cfg[pos] & ~w) | (val & w));
	pci->cfg[pos] &= (uint8_t)~(val & c);
}

/* vfio_bar_fixup(): BAR sizing on the shadow copy. */
static void bar_fixup(struct vfc_emu_pci *pci)
{
	const struct vfc_emu_pci_model *m = pci->model;

	for (unsigned int i = 0; i < 6; i++) {
		unsigned int off = PCI_BASE_ADDRESS_0 + 4 * i;
		const struct vfc_emu_pci_bar *bar = &m->bars[i];
		uint64_t mask;

		if (bar->type == VFC_EMU_BAR_NONE) {
			put32(pci->vconfig, off, 0);
			continue;
		}
		mask = ~(bar->size - 1);
		put32(pci->vconfig, off, (get32(pci->vconfig, off) & (uint32_t)mask) | bar_flags(bar));
		if (bar->type == VFC_EMU_BAR_MEM64) {
			off += 4;
			put32(pci->vconfig, off, get32(pci->vconfig, off) & (uint32_t)(mask >> 32));
			i++;
		}
	}
	/* No expansion ROM: the ROM BAR reads 0 whatever is written. */
	put32(pci->vconfig, PCI_ROM_ADDRESS, 0);
}

static unsigned int cap_start(const struct vfc_emu_pci *pci, unsigned int pos)
{
	uint8_t id = pci->cap_map[pos];

	if (id == EMU_MAP_UNASSIGNED)
		return pos;
	if (id == PCI_CAP_ID_MSI)
		return pci->msi_pos;
	if (id == PCI_CAP_ID_MSIX)
		return pci->msix_pos;
	return 0;
}

static void msi_read_fixup(struct vfc_emu_pci *pci)
{
	uint8_t *flags = &pci->vconfig[pci->msi_pos + PCI_MSI_FLAGS];

	*flags = (uint8_t)((*flags & ~PCI_MSI_FLAGS_QMASK) | pci->msi_qmax << 1);
}

/* vfio_msi_config_write()'s tail: fix up flags, write them to hardware. */
static void msi_write_fixup(struct vfc_emu_pci *pci)
{
	unsigned int p = pci->msi_pos + PCI_MSI_FLAGS;
	uint16_t flags = (uint16_t)(pci->vconfig[p] | pci->vconfig[p + 1] << 8);

	if (pci->irq_type != VFIO_PCI_MSI_IRQ_INDEX)
		flags &= (uint16_t)~PCI_MSI_FLAGS_ENABLE;
	if (((flags & PCI_MSI_FLAGS_QSIZE) >> 4) > pci->msi_qmax) {
		flags &= (uint16_t)~PCI_MSI_FLAGS_QSIZE;
		flags |= (uint16_t)(pci->msi_qmax << 4);
	}
	put16(pci->vconfig, p, flags);
	vfc_emu_pci_msi_hw_flags_write(pci, flags);
}

static void command_written(struct vfc_emu_pci *pci, unsigned int offset, const uint8_t *val,
			    unsigned int count)
{
	if (offset == PCI_COMMAND) {
		uint8_t mask = PCI_COMMAND_MEMORY | PCI_COMMAND_IO;

		/* Remember the memory/io enables for __vfio_pci_memory_enabled(). */
		pci->vconfig[PCI_COMMAND] = (uint8_t)((pci->vconfig[PCI_COMMAND] & ~mask) |
						      (val[0] & mask));
	}
	if (offset <= PCI_COMMAND + 1 && offset + count > PCI_COMMAND) {
		bool disable = pci->vconfig[PCI_COMMAND + 1] & (PCI_COMMAND_INTX_DISABLE >> 8);

		if (disable && !pci->virq_disabled) {
			pci->virq_disabled = true;
			vfc_emu_pci_intx_mask(pci);
		} else if (!disable && pci->virq_disabled) {
			pci->virq_disabled = false;
			vfc_emu_pci_intx_unmask(pci);
		}
	}
}

/* One chunk: at most a dword, naturally aligned, inside one capability. */
static void chunk_rw(struct vfc_emu_pci *pci, unsigned int pos, uint8_t *buf, unsigned int count,
		     bool write)
{
	uint8_t id = pci->cap_map[pos];
	unsigned int offset = pos - cap_start(pci, pos);

	if (!write) {
		if (id == EMU_MAP_BASIC &&
		    ((pos >= PCI_BASE_ADDRESS_0 && pos < PCI_BASE_ADDRESS_5 + 4) ||
		     (pos >= PCI_ROM_ADDRESS && pos < PCI_ROM_ADDRESS + 4)))
			bar_fixup(pci);
		if (id == PCI_CAP_ID_MSI && offset <= PCI_MSI_FLAGS &&
		    offset + count >= PCI_MSI_FLAGS)
			msi_read_fixup(pci);
		for (unsigned int i = 0; i < count; i++) {
			unsigned int p = pos + i;

			buf[i] = (uint8_t)((pci->cfg[p] & ~pci->virt[p]) |
					   (pci->vconfig[p] & pci->virt[p]));
		}
		return;
	}

	for (unsigned int i = 0; i < count; i++) {
		unsigned int p = pos + i;
		uint8_t w = pci->vwrite[p], v = pci->virt[p];

		if (w & v)
			pci->vconfig[p] = (uint8_t)((pci->vconfig[p] & ~(w & v)) | (buf[i] & w & v));
		if (w & ~v)
			hw_write(pci, p, buf[i], (uint8_t)(w & ~v));
	}
	if (id == EMU_MAP_BASIC)
		command_written(pci, offset, buf, count);
	if (id == PCI_CAP_ID_MSI) {
		unsigned int mask = pci->model->msi_64bit ? PCI_MSI_MASK_64 : PCI_MSI_MASK_32;

		if (offset <= PCI_MSI_FLAGS && offset + count >= PCI_MSI_FLAGS)
			msi_write_fixup(pci);
		if (pci->model->msi_maskbit && offset + count > mask && offset < mask + 4)
			vfc_emu_pci_msi_hw_mask_changed(pci);
	}
}

/**
 * vfc_emu_pci_config_rw() - the client's access to the config region.
 * @pci: the device (lock held).
 * @off: offset in config space.
 * @buf: bytes to write, or room for the bytes read.
 * @len: length; any size, cut into chunks as vfio_config_do_rw() does.
 * @write: direction.
 *
 * Return: @len, or -EFAULT when the access does not fit in config space
 * (vfio-pci's answer; nothing is done then).
 */
ssize_t vfc_emu_pci_config_rw(struct vfc_emu_pci *pci, uint64_t off, void *buf, size_t len,
			      bool write)
{
	uint8_t *p = buf;
	size_t done = 0;

	if (off >= EMU_CFG_SIZE || len > EMU_CFG_SIZE - off)
		return -EFAULT;

	while (done < len) {
		unsigned int pos = (unsigned int)(off + done);
		size_t count = len - done, same = 1;

		while ((pos + same) % 4 && pci->cap_map[pos + same] == pci->cap_map[pos])
			same++;
		count = count < same ? count : same;
		if (count >= 4 && !(pos % 4))
			count = 4;
		else if (count >= 2 && !(pos % 2))
			count = 2;
		else
			count = 1;
		chunk_rw(pci, pos, p + done, (unsigned int)count, write);
		done += count;
	}
	return (ssize_t)done;
}
