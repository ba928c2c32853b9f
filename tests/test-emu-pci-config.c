// SPDX-License-Identifier: MIT
/*
 * Unit tests of the emulated PCI framework's config space and regions, on
 * the test model of emu-pci-test.h: header values and read-only bits, BAR
 * sizing (32-bit, 64-bit, I/O, absent, ROM), the capability list, bus
 * master and decode rules at open, close and reset, access splitting, and
 * region and device info, all as the newest kernel's vfio-pci answers them.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <linux/pci_regs.h>
#include <cmocka.h>

#include "emu-pci-test.h"

static int setup(void **state)
{
	struct vfc_emu_pci *pci = vfc_t_new(&vfc_t_model, NULL);

	vfc_t_open(pci);
	vfc_t_log_clear();
	*state = pci;
	return 0;
}

static int teardown(void **state)
{
	struct vfc_emu_pci *pci = *state;

	vfc_t_close(pci);
	vfc_emu_pci_free(pci);
	return 0;
}

static void test_header(void **state)
{
	struct vfc_emu_pci *pci = *state;
	uint16_t cmd;

	assert_int_equal(vfc_t_cfg_read(pci, PCI_VENDOR_ID, 2), 0xabcd);
	assert_int_equal(vfc_t_cfg_read(pci, PCI_DEVICE_ID, 2), 0x0042);
	assert_int_equal(vfc_t_cfg_read(pci, PCI_VENDOR_ID, 4), 0x0042abcd);
	assert_int_equal(vfc_t_cfg_read(pci, PCI_REVISION_ID, 1), 0x07);
	assert_int_equal(vfc_t_cfg_read(pci, PCI_CLASS_REVISION, 4), 0x05800007);
	assert_int_equal(vfc_t_cfg_read(pci, PCI_HEADER_TYPE, 1), PCI_HEADER_TYPE_NORMAL);
	assert_int_equal(vfc_t_cfg_read(pci, PCI_SUBSYSTEM_VENDOR_ID, 2), 0xabcd);
	assert_int_equal(vfc_t_cfg_read(pci, PCI_SUBSYSTEM_ID, 2), 0x0001);
	assert_int_equal(vfc_t_cfg_read(pci, PCI_STATUS, 2), PCI_STATUS_CAP_LIST);
	assert_int_equal(vfc_t_cfg_read(pci, PCI_CAPABILITY_LIST, 1), 0x40);
	assert_int_equal(vfc_t_cfg_read(pci, PCI_INTERRUPT_PIN, 1), 1);
	assert_int_equal(vfc_t_cfg_read(pci, PCI_INTERRUPT_LINE, 1), 0x0b);
	assert_int_equal(vfc_t_cfg_read(pci, PCI_BIST, 1), 0);
	assert_int_equal(vfc_t_cfg_read(pci, PCI_CARDBUS_CIS, 4), 0);

	/* pci_enable_device() turned decode on; bus master is off at open. */
	cmd = (uint16_t)vfc_t_cfg_read(pci, PCI_COMMAND, 2);
	assert_int_equal(cmd, PCI_COMMAND_MEMORY | PCI_COMMAND_IO);
}

static void test_read_only(void **state)
{
	struct vfc_emu_pci *pci = *state;
	static const struct {
		unsigned int off, size;
	} ro[] = {
		{ PCI_VENDOR_ID, 4 }, { PCI_CLASS_REVISION, 4 }, { PCI_HEADER_TYPE, 1 },
		{ PCI_SUBSYSTEM_VENDOR_ID, 4 }, { PCI_CAPABILITY_LIST, 1 },
		{ PCI_INTERRUPT_PIN, 1 }, { PCI_MIN_GNT, 2 }, { PCI_STATUS, 2 },
		{ PCI_CARDBUS_CIS, 4 }, { 0x80, 4 }, { 0xfc, 4 }, { 0x38, 4 },
	};

	for (size_t i = 0; i < sizeof(ro) / sizeof(ro[0]); i++) {
		uint32_t before = vfc_t_cfg_read(pci, ro[i].off, ro[i].size);

		vfc_t_cfg_write(pci, ro[i].off, ro[i].size, ~before);
		assert_int_equal(vfc_t_cfg_read(pci, ro[i].off, ro[i].size), before);
	}

	/* vfio-pci passes these through; the device decides. */
	vfc_t_cfg_write(pci, PCI_CACHE_LINE_SIZE, 1, 0x10);
	assert_int_equal(vfc_t_cfg_read(pci, PCI_CACHE_LINE_SIZE, 1), 0x10);
	vfc_t_cfg_write(pci, PCI_LATENCY_TIMER, 1, 0x40); /* conventional, QEMU-like: RO */
	assert_int_equal(vfc_t_cfg_read(pci, PCI_LATENCY_TIMER, 1), 0);
	vfc_t_cfg_write(pci, PCI_BIST, 1, 0x40);
	assert_int_equal(vfc_t_cfg_read(pci, PCI_BIST, 1), 0);

	/* Interrupt line is virtualized and writable. */
	vfc_t_cfg_write(pci, PCI_INTERRUPT_LINE, 1, 0x05);
	assert_int_equal(vfc_t_cfg_read(pci, PCI_INTERRUPT_LINE, 1), 0x05);
}

static void test_bar_sizing_32(void **state)
{
	struct vfc_emu_pci *pci = *state;
	uint32_t orig = vfc_t_cfg_read(pci, PCI_BASE_ADDRESS_0, 4);

	/* The host firmware's address: aligned, non-zero, 32-bit memory. */
	assert_int_not_equal(orig & ~0xfffu, 0);
	assert_int_equal(orig & 0xfff, PCI_BASE_ADDRESS_SPACE_MEMORY);

	vfc_t_cfg_write(pci, PCI_BASE_ADDRESS_0, 4, 0xffffffff);
	assert_int_equal(vfc_t_cfg_read(pci, PCI_BASE_ADDRESS_0, 4), 0xfffff000);
	vfc_t_cfg_write(pci, PCI_BASE_ADDRESS_0, 4, orig);
	assert_int_equal(vfc_t_cfg_read(pci, PCI_BASE_ADDRESS_0, 4), orig);

	/* Low bits are the type, whatever is written; bytes work too. */
	vfc_t_cfg_write(pci, PCI_BASE_ADDRESS_0, 4, 0x12345fff);
	assert_int_equal(vfc_t_cfg_read(pci, PCI_BASE_ADDRESS_0, 4), 0x12345000);
	vfc_t_cfg_write(pci, PCI_BASE_ADDRESS_0 + 3, 1, 0xab);
	assert_int_equal(vfc_t_cfg_read(pci, PCI_BASE_ADDRESS_0 + 2, 2), 0xab34);

	/* The BAR is virtual: the device still answers at the same region. */
	vfc_t_bar_write(pci, 0, 0, 4, 0xdeadbeef);
	assert_int_equal(vfc_t_bar_read(pci, 0, 0, 4), 0xdeadbeef);
}

static void test_bar_sizing_64(void **state)
{
	struct vfc_emu_pci *pci = *state;
	uint32_t lo = vfc_t_cfg_read(pci, PCI_BASE_ADDRESS_2, 4);
	uint32_t hi = vfc_t_cfg_read(pci, PCI_BASE_ADDRESS_3, 4);

	assert_int_equal(lo & 0xf, PCI_BASE_ADDRESS_MEM_TYPE_64 | PCI_BASE_ADDRESS_MEM_PREFETCH);
	assert_int_not_equal(hi, 0); /* placed above 4 GiB by the firmware */

	vfc_t_cfg_write(pci, PCI_BASE_ADDRESS_2, 4, 0xffffffff);
	vfc_t_cfg_write(pci, PCI_BASE_ADDRESS_3, 4, 0xffffffff);
	assert_int_equal(vfc_t_cfg_read(pci, PCI_BASE_ADDRESS_2, 4), 0xfff0000c);
	assert_int_equal(vfc_t_cfg_read(pci, PCI_BASE_ADDRESS_3, 4), 0xffffffff);
	vfc_t_cfg_write(pci, PCI_BASE_ADDRESS_2, 4, lo);
	vfc_t_cfg_write(pci, PCI_BASE_ADDRESS_3, 4, hi);
	assert_int_equal(vfc_t_cfg_read(pci, PCI_BASE_ADDRESS_2, 4), lo);
	assert_int_equal(vfc_t_cfg_read(pci, PCI_BASE_ADDRESS_3, 4), hi);
}

static void test_bar_sizing_io_absent_rom(void **state)
{
	struct vfc_emu_pci *pci = *state;
	uint32_t io = vfc_t_cfg_read(pci, PCI_BASE_ADDRESS_1, 4);

	assert_int_equal(io & 0x3, PCI_BASE_ADDRESS_SPACE_IO);
	vfc_t_cfg_write(pci, PCI_BASE_ADDRESS_1, 4, 0xffffffff);
	assert_int_equal(vfc_t_cfg_read(pci, PCI_BASE_ADDRESS_1, 4), 0xffffffe1);

	vfc_t_cfg_write(pci, PCI_BASE_ADDRESS_4, 4, 0xffffffff);
	assert_int_equal(vfc_t_cfg_read(pci, PCI_BASE_ADDRESS_4, 4), 0);
	vfc_t_cfg_write(pci, PCI_ROM_ADDRESS, 4, 0xffffffff);
	assert_int_equal(vfc_t_cfg_read(pci, PCI_ROM_ADDRESS, 4), 0);
	vfc_t_cfg_write(pci, PCI_ROM_ADDRESS, 4, 0xfffe0001);
	assert_int_equal(vfc_t_cfg_read(pci, PCI_ROM_ADDRESS, 4), 0);
}

static void test_cap_list(void **state)
{
	struct vfc_emu_pci *pci = *state;
	unsigned int pos = vfc_t_cfg_read(pci, PCI_CAPABILITY_LIST, 1), n = 0;
	uint8_t ids[4] = { 0 };

	while (pos && n < 4) {
		assert_int_equal(pos & 3, 0);
		ids[n++] = (uint8_t)vfc_t_cfg_read(pci, pos + PCI_CAP_LIST_ID, 1);
		pos = vfc_t_cfg_read(pci, pos + PCI_CAP_LIST_NEXT, 1);
	}
	assert_int_equal(n, 2);
	assert_int_equal(ids[0], PCI_CAP_ID_MSI);
	assert_int_equal(ids[1], PCI_CAP_ID_MSIX);

	/* MSI: 64-bit and maskable; vfio-pci shows no multiple-message
	 * capability until the client has enabled that many vectors. */
	assert_int_equal(vfc_t_cfg_read(pci, 0x40 + PCI_MSI_FLAGS, 2),
			 PCI_MSI_FLAGS_64BIT | PCI_MSI_FLAGS_MASKBIT);
	assert_int_equal(vfc_t_cfg_read(pci, 0x40 + PCI_CAP_LIST_NEXT, 1), 0x58);

	/* MSI-X: 16 entries, table at BAR5 + 0, PBA at BAR5 + 0x800. */
	assert_int_equal(vfc_t_cfg_read(pci, 0x58 + PCI_MSIX_FLAGS, 2), 15);
	assert_int_equal(vfc_t_cfg_read(pci, 0x58 + PCI_MSIX_TABLE, 4), 0x00000005);
	assert_int_equal(vfc_t_cfg_read(pci, 0x58 + PCI_MSIX_PBA, 4), 0x00000805);
	assert_int_equal(vfc_t_cfg_read(pci, 0x58 + PCI_CAP_LIST_NEXT, 1), 0);

	/* The MSI-X capability is read-only to the client. */
	vfc_t_cfg_write(pci, 0x58 + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	assert_int_equal(vfc_t_cfg_read(pci, 0x58 + PCI_MSIX_FLAGS, 2), 15);
	vfc_t_cfg_write(pci, 0x58 + PCI_MSIX_TABLE, 4, 0x1000);
	assert_int_equal(vfc_t_cfg_read(pci, 0x58 + PCI_MSIX_TABLE, 4), 5);

	/* MSI address and data are virtual, the enable bit does not stick. */
	vfc_t_cfg_write(pci, 0x40 + PCI_MSI_ADDRESS_LO, 4, 0xfee00000);
	vfc_t_cfg_write(pci, 0x40 + PCI_MSI_ADDRESS_HI, 4, 0x1);
	vfc_t_cfg_write(pci, 0x40 + PCI_MSI_DATA_64, 2, 0x4041);
	assert_int_equal(vfc_t_cfg_read(pci, 0x40 + PCI_MSI_ADDRESS_LO, 4), 0xfee00000);
	assert_int_equal(vfc_t_cfg_read(pci, 0x40 + PCI_MSI_ADDRESS_HI, 4), 1);
	assert_int_equal(vfc_t_cfg_read(pci, 0x40 + PCI_MSI_DATA_64, 2), 0x4041);
	vfc_t_cfg_write(pci, 0x40 + PCI_MSI_FLAGS, 2,
		    PCI_MSI_FLAGS_64BIT | PCI_MSI_FLAGS_ENABLE | (3 << 4));
	assert_int_equal(vfc_t_cfg_read(pci, 0x40 + PCI_MSI_FLAGS, 2),
			 PCI_MSI_FLAGS_64BIT | PCI_MSI_FLAGS_MASKBIT);
}

static void test_bus_master_and_decode(void **state)
{
	struct vfc_emu_pci *pci = *state;
	uint8_t b[4];

	vfc_t_cfg_write(pci, PCI_COMMAND, 2,
		    PCI_COMMAND_MEMORY | PCI_COMMAND_IO | PCI_COMMAND_MASTER | PCI_COMMAND_SERR |
			    PCI_COMMAND_PARITY);
	/* PARITY is not implemented (as in QEMU), the rest sticks. */
	assert_int_equal(vfc_t_cfg_read(pci, PCI_COMMAND, 2),
			 PCI_COMMAND_MEMORY | PCI_COMMAND_IO | PCI_COMMAND_MASTER |
				 PCI_COMMAND_SERR);

	/* Memory decode off: memory BARs fail with EIO, I/O BARs still work. */
	vfc_t_cfg_write(pci, PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MASTER);
	assert_int_equal(vfc_t_rw(pci, 0, 0, b, 4, false), -EIO);
	assert_int_equal(vfc_t_rw(pci, 0, 0, b, 4, true), -EIO);
	assert_int_equal(vfc_t_rw(pci, 2, 0, b, 4, false), -EIO);
	assert_int_equal(vfc_t_rw(pci, 1, 0, b, 4, false), 4);
	vfc_t_cfg_write(pci, PCI_COMMAND, 1, PCI_COMMAND_MEMORY);
	assert_int_equal(vfc_t_rw(pci, 0, 0, b, 4, false), 4);

	/* Close clears bus mastering; a new open finds it off again. */
	vfc_t_cfg_write(pci, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	vfc_t_close(pci);
	vfc_t_open(pci);
	assert_int_equal(vfc_t_cfg_read(pci, PCI_COMMAND, 2), PCI_COMMAND_MEMORY | PCI_COMMAND_IO);
}

static void test_intx_disable_virtual(void **state)
{
	struct vfc_emu_pci *pci = *state;

	vfc_t_cfg_write(pci, PCI_COMMAND + 1, 1, PCI_COMMAND_INTX_DISABLE >> 8);
	assert_int_equal(vfc_t_cfg_read(pci, PCI_COMMAND, 2),
			 PCI_COMMAND_MEMORY | PCI_COMMAND_IO | PCI_COMMAND_INTX_DISABLE);
	/* Status still reports the line, whatever the disable bit says. */
	vfc_t_bar_write(pci, 0, T_REG_SET_IRQ, 4, 1);
	assert_int_equal(vfc_t_cfg_read(pci, PCI_STATUS, 2),
			 PCI_STATUS_CAP_LIST | PCI_STATUS_INTERRUPT);
	vfc_t_bar_write(pci, 0, T_REG_SET_IRQ, 4, 0);
	assert_int_equal(vfc_t_cfg_read(pci, PCI_STATUS, 2), PCI_STATUS_CAP_LIST);
	/* Reopening clears the disable bit (vfio_pci_core_enable()). */
	vfc_t_close(pci);
	vfc_t_open(pci);
	assert_int_equal(vfc_t_cfg_read(pci, PCI_COMMAND, 2) & PCI_COMMAND_INTX_DISABLE, 0);
}

static void test_config_access_sizes(void **state)
{
	struct vfc_emu_pci *pci = *state;
	uint8_t all[256], one[256];

	assert_int_equal(vfc_t_rw(pci, VFIO_PCI_CONFIG_REGION_INDEX, 0, all, 256, false), 256);
	for (unsigned int i = 0; i < 256; i++)
		one[i] = (uint8_t)vfc_t_cfg_read(pci, i, 1);
	assert_memory_equal(all, one, 256);
	assert_int_equal(vfc_t_cfg_read(pci, 1, 2), 0x42ab);
	assert_int_equal(vfc_t_cfg_read(pci, 1, 4), 0x030042ab);
	assert_int_equal(vfc_t_cfg_read(pci, 0x3f, 2), 0x0500); /* header, then MSI */

	/* Past the end: EFAULT, as vfio-pci; nothing is read. */
	assert_int_equal(vfc_t_rw(pci, VFIO_PCI_CONFIG_REGION_INDEX, 252, all, 8, false), -EFAULT);
	assert_int_equal(vfc_t_rw(pci, VFIO_PCI_CONFIG_REGION_INDEX, 256, all, 1, false), -EFAULT);
	assert_int_equal(vfc_t_rw(pci, VFIO_PCI_CONFIG_REGION_INDEX, 255, all, 1, false), 1);

	/* A long write is split too: bytes 0x0c..0x0f, cache line size sticks. */
	memset(one, 0x20, 4);
	assert_int_equal(vfc_t_rw(pci, VFIO_PCI_CONFIG_REGION_INDEX, 0x0c, one, 4, true), 4);
	assert_int_equal(vfc_t_cfg_read(pci, PCI_CACHE_LINE_SIZE, 4), 0x00000020);
}

static void test_region_and_device_info(void **state)
{
	struct vfc_emu_pci *pci = *state;
	const struct vfc_device_ops *ops = vfc_emu_pci_device_ops(pci);
	struct vfio_device_info dinfo = { .argsz = sizeof(dinfo) };
	static const struct {
		uint64_t size;
		uint32_t flags;
	} want[] = {
		{ 4096, 3 }, { 32, 3 }, { 1u << 20, 3 }, { 0, 0 }, { 0, 0 }, { 4096, 3 },
		{ 0, 0 }, { 256, 3 },
	};

	assert_int_equal(ops->get_info(pci, &dinfo), 0);
	assert_int_equal(dinfo.flags, VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET);
	assert_int_equal(dinfo.num_regions, 9);
	assert_int_equal(dinfo.num_irqs, 5);

	for (unsigned int i = 0; i < 8; i++) {
		struct vfio_region_info info = { .argsz = sizeof(info), .index = i };
		struct vfc_caps caps = { 0 };

		assert_int_equal(ops->get_region_info(pci, &info, &caps), 0);
		assert_int_equal(info.size, want[i].size);
		assert_int_equal(info.flags, want[i].flags); /* never MMAP */
		assert_int_equal(caps.size, 0);
	}
	struct vfio_region_info vga = { .argsz = sizeof(vga), .index = VFIO_PCI_VGA_REGION_INDEX };
	struct vfc_caps caps = { 0 };

	assert_int_equal(ops->get_region_info(pci, &vga, &caps), -EINVAL);
}

static void test_bar_access_split(void **state)
{
	struct vfc_emu_pci *pci = *state;
	uint8_t b[16];

	/* The newest kernels pass aligned 8-byte accesses whole. */
	vfc_t_log_clear();
	vfc_t_bar_write(pci, 0, 8, 8, 0x1122334455667788ull);
	assert_int_equal(vfc_t_log_len, 1);
	assert_int_equal(vfc_t_log[0].off, 8);
	assert_int_equal(vfc_t_log[0].size, 8);
	assert_true(vfc_t_bar_read(pci, 0, 8, 8) == 0x1122334455667788ull);
	vfc_t_log_clear();
	vfc_t_bar_read(pci, 0, 4, 8); /* misaligned for 8: two dwords */
	assert_int_equal(vfc_t_log_len, 2);
	assert_int_equal(vfc_t_log[1].off, 8);
	assert_int_equal(vfc_t_log[1].size, 4);

	/* Misaligned: 1 + 2 + 4 + 1 bytes. */
	vfc_t_log_clear();
	assert_int_equal(vfc_t_rw(pci, 0, 1, b, 8, true), 8);
	assert_int_equal(vfc_t_log_len, 4);
	assert_int_equal(vfc_t_log[0].size, 1);
	assert_int_equal(vfc_t_log[1].size, 2);
	assert_int_equal(vfc_t_log[2].size, 4);
	assert_int_equal(vfc_t_log[3].size, 1);
	assert_true(vfc_t_log[3].write);

	/* Short at the end, EINVAL past it or on an absent BAR. */
	assert_int_equal(vfc_t_rw(pci, 0, 4092, b, 16, false), 4);
	assert_int_equal(vfc_t_rw(pci, 0, 4096, b, 1, false), -EINVAL);
	assert_int_equal(vfc_t_rw(pci, 1, 30, b, 4, false), 2);
	assert_int_equal(vfc_t_rw(pci, 3, 0, b, 4, false), -EINVAL); /* upper half of BAR2 */
	assert_int_equal(vfc_t_rw(pci, 4, 0, b, 4, false), -EINVAL);
	assert_int_equal(vfc_t_rw(pci, VFIO_PCI_ROM_REGION_INDEX, 0, b, 4, false), -EINVAL);
	assert_int_equal(vfc_t_rw(pci, VFIO_PCI_VGA_REGION_INDEX, 0, b, 4, false), -EINVAL);

	/* The MSI-X table reads 0xff and drops writes; the model never sees it. */
	vfc_t_log_clear();
	memset(b, 0, sizeof(b));
	assert_int_equal(vfc_t_rw(pci, 5, 0, b, 16, true), 16);
	assert_int_equal(vfc_t_rw(pci, 5, 0xf8, b, 16, false), 16);
	for (unsigned int i = 0; i < 8; i++)
		assert_int_equal(b[i], 0xff);
	assert_int_equal(vfc_t_log_len, 1); /* 0x100..0x107 are the model's */
	assert_int_equal(vfc_t_log[0].off, 0x100);
	assert_int_equal(vfc_t_log[0].size, 8);
	assert_int_equal(vfc_t_bar_read(pci, 5, 0x800, 4), 0); /* PBA, nothing pending */
}

static void test_bar_rw64_off(void **state)
{
	struct vfc_emu_pci *pci = vfc_t_new(&vfc_t_model, "bar_rw64=off");

	(void)state;
	vfc_t_open(pci);
	/* Linux 6.1 has no 8-byte accessors: two dwords. */
	vfc_t_log_clear();
	vfc_t_bar_read(pci, 0, 8, 8);
	assert_int_equal(vfc_t_log_len, 2);
	assert_int_equal(vfc_t_log[0].off, 8);
	assert_int_equal(vfc_t_log[0].size, 4);
	assert_int_equal(vfc_t_log[1].off, 12);
	assert_int_equal(vfc_t_log[1].size, 4);
	vfc_t_close(pci);
	vfc_emu_pci_free(pci);
}

static void test_reset(void **state)
{
	struct vfc_emu_pci *pci = *state;
	uint32_t resets = (uint32_t)vfc_t_bar_read(pci, 0, T_REG_RESETS, 4);

	vfc_t_cfg_write(pci, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	vfc_t_cfg_write(pci, PCI_BASE_ADDRESS_0, 4, 0xfeb00000);
	vfc_t_cfg_write(pci, PCI_CACHE_LINE_SIZE, 1, 0x10);
	vfc_t_bar_write(pci, 0, 0x20, 4, 0x55aa55aa);

	/* The host saves and restores config around the function reset. */
	assert_int_equal(vfc_t_reset(pci), 0);
	assert_int_equal(vfc_t_bar_read(pci, 0, T_REG_RESETS, 4), resets + 1);
	assert_int_equal(vfc_t_bar_read(pci, 0, 0x20, 4), 0);
	assert_int_equal(vfc_t_cfg_read(pci, PCI_COMMAND, 2), PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	assert_int_equal(vfc_t_cfg_read(pci, PCI_BASE_ADDRESS_0, 4), 0xfeb00000);
	assert_int_equal(vfc_t_cfg_read(pci, PCI_CACHE_LINE_SIZE, 1), 0x10);

	/* Open resets too, and close puts back the state saved at open. */
	vfc_t_close(pci);
	assert_int_equal(vfc_t_bar_read(pci, 0, T_REG_RESETS, 4) >= resets + 2, 1);
	vfc_t_open(pci);
	assert_int_equal(vfc_t_cfg_read(pci, PCI_CACHE_LINE_SIZE, 1), 0);
	assert_int_not_equal(vfc_t_cfg_read(pci, PCI_BASE_ADDRESS_0, 4), 0xfeb00000);
}

static void test_no_reset_option(void **state)
{
	struct vfc_emu_pci *pci = vfc_t_new(&vfc_t_model, "reset=off");
	const struct vfc_device_ops *ops = vfc_emu_pci_device_ops(pci);
	struct vfio_device_info dinfo = { .argsz = sizeof(dinfo) };

	(void)state;
	assert_null(ops->reset);
	vfc_t_open(pci);
	assert_int_equal(ops->get_info(pci, &dinfo), 0);
	assert_int_equal(dinfo.flags, VFIO_DEVICE_FLAGS_PCI);
	/* Without a reset method the registers survive close and open. */
	vfc_t_bar_write(pci, 0, 0x20, 4, 0x12345678);
	vfc_t_close(pci);
	vfc_t_open(pci);
	assert_int_equal(vfc_t_bar_read(pci, 0, 0x20, 4), 0x12345678);
	vfc_t_close(pci);
	vfc_emu_pci_free(pci);
}

static void test_factory_and_options(void **state)
{
	struct vfc_emu_pci *pci = NULL;

	(void)state;
	assert_int_equal(vfc_emu_pci_create("nosuch", NULL, &pci), -ENOENT);
	assert_int_equal(vfc_emu_pci_create(NULL, NULL, &pci), -ENOENT);
	assert_int_equal(vfc_emu_pci_create("edu", "nosuch=1", &pci), -EINVAL);
	assert_int_equal(vfc_emu_pci_create("edu", "reset", &pci), -EINVAL);
	assert_int_equal(vfc_emu_pci_create("edu", "reset=maybe", &pci), -EINVAL);
	assert_int_equal(vfc_emu_pci_create("edu", "dma_delay_us=-1", &pci), -EINVAL);
	assert_int_equal(vfc_emu_pci_new(&vfc_t_model, "dma_delay_us=1", &pci), -EINVAL);
	assert_null(pci);

	assert_int_equal(vfc_emu_pci_create("edu", "reset=off,dma_delay_us=100000", &pci), 0);
	assert_string_equal(vfc_emu_pci_model_name(pci), "edu");
	pci = vfc_emu_pci_free(pci);
	assert_int_equal(vfc_emu_pci_create("edu", "msix_dyn=2", &pci), -EINVAL);
	assert_int_equal(vfc_emu_pci_create("pcitest", "cmd_delay_us=5,bar_rw64=off,msix_dyn=off",
					    &pci), 0);
	assert_string_equal(vfc_emu_pci_model_name(pci), "pcitest");
	vfc_emu_pci_free(pci);
}

static void test_bad_models(void **state)
{
	struct vfc_emu_pci_model m = vfc_t_model;
	struct vfc_emu_pci *pci = NULL;

	(void)state;
	m.bars[0].size = 3000; /* not a power of two */
	assert_int_equal(vfc_emu_pci_new(&m, NULL, &pci), -EINVAL);
	m = vfc_t_model;
	m.bars[3].type = VFC_EMU_BAR_MEM32; /* inside BAR2's upper half */
	m.bars[3].size = 4096;
	assert_int_equal(vfc_emu_pci_new(&m, NULL, &pci), -EINVAL);
	m = vfc_t_model;
	m.msix_pba_offset = 0x80; /* overlaps the table */
	assert_int_equal(vfc_emu_pci_new(&m, NULL, &pci), -EINVAL);
	m = vfc_t_model;
	m.msix_bar = 1; /* an I/O BAR */
	assert_int_equal(vfc_emu_pci_new(&m, NULL, &pci), -EINVAL);
	m = vfc_t_model;
	m.msi_vectors = 3;
	assert_int_equal(vfc_emu_pci_new(&m, NULL, &pci), -EINVAL);
	assert_null(pci);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_header, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bar_sizing_32, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bar_sizing_64, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bar_sizing_io_absent_rom, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cap_list, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bus_master_and_decode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_intx_disable_virtual, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_access_sizes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_region_and_device_info, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bar_access_split, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
		cmocka_unit_test(test_bar_rw64_off),
		cmocka_unit_test(test_no_reset_option),
		cmocka_unit_test(test_factory_and_options),
		cmocka_unit_test(test_bad_models),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
