// SPDX-License-Identifier: MIT
/*
 * Unit tests of the edu model (backends/emu/pci/edu.c) against QEMU's
 * hw/misc/edu.c behaviour: config header and capability, every register,
 * the factorial worker, interrupts over INTx and MSI through real
 * eventfds, and the DMA engine on a fake DMA target (success, range
 * checks, IOMMU faults, bus mastering off), reset and no-reset.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/pci_regs.h>
#include <cmocka.h>

#include "emu-pci-test.h"

#define EVFD VFIO_IRQ_SET_DATA_EVENTFD
#define NONE VFIO_IRQ_SET_DATA_NONE
#define TRIG VFIO_IRQ_SET_ACTION_TRIGGER
#define UNMASK VFIO_IRQ_SET_ACTION_UNMASK

#define BUF 0x40000u

struct ctx {
	struct vfc_emu_pci *pci;
	struct vfc_t_mem mem;
	int intx;
};

static struct ctx *ctx_new(const char *options)
{
	struct ctx *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	assert_int_equal(vfc_emu_pci_create("edu", options, &c->pci), 0);
	vfc_t_mem_init(&c->mem, 1u << 20);
	vfc_emu_pci_set_dma(c->pci, vfc_t_mem_dma, &c->mem);
	vfc_t_open(c->pci);
	c->intx = vfc_t_efd();
	assert_int_equal(vfc_t_set_fd(c->pci, VFIO_PCI_INTX_IRQ_INDEX, TRIG, 0, c->intx), 0);
	vfc_t_cfg_write(c->pci, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	return c;
}

static void ctx_free(struct ctx *c)
{
	vfc_t_close(c->pci);
	vfc_emu_pci_free(c->pci);
	vfc_t_mem_fini(&c->mem);
	close(c->intx);
	free(c);
}

static int setup(void **state)
{
	*state = ctx_new(NULL);
	return 0;
}

static int teardown(void **state)
{
	ctx_free(*state);
	return 0;
}

static uint32_t rd(struct vfc_emu_pci *pci, uint64_t off)
{
	return (uint32_t)vfc_t_bar_read(pci, 0, off, 4);
}

static void wr(struct vfc_emu_pci *pci, uint64_t off, uint32_t val)
{
	vfc_t_bar_write(pci, 0, off, 4, val);
}

static void unmask(struct vfc_emu_pci *pci)
{
	assert_int_equal(vfc_t_set_irqs(pci, NONE | UNMASK, VFIO_PCI_INTX_IRQ_INDEX, 0, 1, NULL), 0);
}

static bool fact_done(void *arg)
{
	return !(rd(arg, 0x20) & 0x1);
}

static bool dma_done(void *arg)
{
	return !(rd(arg, 0x98) & 0x1);
}

static void dma(struct ctx *c, uint32_t src, uint32_t dst, uint32_t cnt, uint32_t cmd)
{
	wr(c->pci, 0x80, src);
	wr(c->pci, 0x88, dst);
	wr(c->pci, 0x90, cnt);
	wr(c->pci, 0x98, cmd);
	assert_true(vfc_t_wait(dma_done, c->pci));
}

static void test_config(void **state)
{
	struct vfc_emu_pci *pci = ((struct ctx *)*state)->pci;

	assert_int_equal(vfc_t_cfg_read(pci, PCI_VENDOR_ID, 4), 0x11e81234);
	assert_int_equal(vfc_t_cfg_read(pci, PCI_REVISION_ID, 1), 0x10);
	assert_int_equal(vfc_t_cfg_read(pci, PCI_CLASS_DEVICE, 2), 0x00ff);
	assert_int_equal(vfc_t_cfg_read(pci, PCI_CLASS_PROG, 1), 0);
	assert_int_equal(vfc_t_cfg_read(pci, PCI_SUBSYSTEM_VENDOR_ID, 4), 0x11001af4);
	assert_int_equal(vfc_t_cfg_read(pci, PCI_HEADER_TYPE, 1), 0);
	assert_int_equal(vfc_t_cfg_read(pci, PCI_INTERRUPT_PIN, 1), 1);
	assert_int_equal(vfc_t_cfg_read(pci, PCI_STATUS, 2), PCI_STATUS_CAP_LIST);
	assert_int_equal(vfc_t_cfg_read(pci, PCI_CAPABILITY_LIST, 1), 0x40);
	assert_int_equal(vfc_t_cfg_read(pci, 0x40, 2), PCI_CAP_ID_MSI); /* last in the list */
	assert_int_equal(vfc_t_cfg_read(pci, 0x42, 2), PCI_MSI_FLAGS_64BIT);

	vfc_t_cfg_write(pci, PCI_BASE_ADDRESS_0, 4, 0xffffffff);
	assert_int_equal(vfc_t_cfg_read(pci, PCI_BASE_ADDRESS_0, 4), 0xfff00000);
	for (unsigned int off = PCI_BASE_ADDRESS_1; off <= PCI_ROM_ADDRESS; off += 4) {
		if (off > PCI_BASE_ADDRESS_5 && off < PCI_ROM_ADDRESS)
			continue;
		vfc_t_cfg_write(pci, off, 4, 0xffffffff);
		assert_int_equal(vfc_t_cfg_read(pci, off, 4), 0);
	}

	/* As in QEMU, config space past the header and the MSI capability is
	 * writable scratch, including the two bytes after the 14-byte cap. */
	vfc_t_cfg_write(pci, 0x80, 4, 0x12345678);
	assert_int_equal(vfc_t_cfg_read(pci, 0x80, 4), 0x12345678);
	vfc_t_cfg_write(pci, 0x4e, 2, 0xbeef);
	assert_int_equal(vfc_t_cfg_read(pci, 0x4e, 2), 0xbeef);
}

static void test_infos(void **state)
{
	struct vfc_emu_pci *pci = ((struct ctx *)*state)->pci;
	const struct vfc_device_ops *ops = vfc_emu_pci_device_ops(pci);
	static const uint32_t counts[] = { 1, 1, 0 };

	for (unsigned int i = 0; i < 9; i++) {
		struct vfio_region_info info = { .argsz = sizeof(info), .index = i };
		struct vfc_caps caps = { 0 };
		int r = ops->get_region_info(pci, &info, &caps);

		if (i == VFIO_PCI_VGA_REGION_INDEX) {
			assert_int_equal(r, -EINVAL);
			continue;
		}
		assert_int_equal(r, 0);
		if (i == 0) {
			assert_int_equal(info.size, 1u << 20);
			assert_int_equal(info.flags,
					 VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE);
		} else if (i != VFIO_PCI_CONFIG_REGION_INDEX) {
			assert_int_equal(info.size, 0);
			assert_int_equal(info.flags, 0);
		}
	}
	for (unsigned int i = 0; i < 3; i++) {
		struct vfio_irq_info info = { .argsz = sizeof(info), .index = i };

		assert_int_equal(ops->get_irq_info(pci, &info), 0);
		assert_int_equal(info.count, counts[i]);
	}
}

static void test_registers(void **state)
{
	struct vfc_emu_pci *pci = ((struct ctx *)*state)->pci;

	assert_int_equal(rd(pci, 0x00), 0x010000ed);
	assert_int_equal(rd(pci, 0x04), 0);
	wr(pci, 0x04, 0x12345678);
	assert_int_equal(rd(pci, 0x04), 0xedcba987);
	wr(pci, 0x00, 0); /* read-only */
	assert_int_equal(rd(pci, 0x00), 0x010000ed);

	/* Below 0x80 only 4-byte accesses; smaller ones are not decoded. */
	assert_int_equal(vfc_t_bar_read(pci, 0, 0x00, 2), 0);
	assert_int_equal(vfc_t_bar_read(pci, 0, 0x00, 1), 0);
	vfc_t_bar_write(pci, 0, 0x04, 2, 0);
	assert_int_equal(rd(pci, 0x04), 0xedcba987);
	/* Unknown offsets read all ones. */
	assert_int_equal(rd(pci, 0x0c), 0xffffffff);
	assert_int_equal(rd(pci, 0x84), 0xffffffff);
	assert_int_equal(rd(pci, 0xffffc), 0xffffffff);

	/* DMA registers hold 64 bits; a 4-byte write zero-extends. */
	vfc_t_bar_write(pci, 0, 0x88, 8, 0x1122334455667788ull);
	assert_true(vfc_t_bar_read(pci, 0, 0x88, 8) == 0x1122334455667788ull);
	wr(pci, 0x88, 0xdeadbeef);
	assert_true(vfc_t_bar_read(pci, 0, 0x88, 8) == 0xdeadbeefull);
	assert_true(vfc_t_bar_read(pci, 0, 0x00, 8) == ~0ull); /* below 0x80: 4 only */

	/* Status: only bit 7 is writable; irq status via raise and ack. */
	wr(pci, 0x20, 0xff);
	assert_int_equal(rd(pci, 0x20), 0x80);
	wr(pci, 0x20, 0);
	assert_int_equal(rd(pci, 0x20), 0);
	assert_int_equal(rd(pci, 0x24), 0);
	wr(pci, 0x24, 0x5); /* read-only */
	assert_int_equal(rd(pci, 0x24), 0);
}

/* Linux 6.1 splits an 8-byte access in two dwords: the high half of each
 * DMA register is out of reach there, 0x84 is not a register. */
static void test_rw64_off(void **state)
{
	struct ctx *c = ctx_new("bar_rw64=off");

	(void)state;
	wr(c->pci, 0x80, 0xdeadbeef);
	assert_true(vfc_t_bar_read(c->pci, 0, 0x80, 8) == 0xffffffffdeadbeefull);
	vfc_t_bar_write(c->pci, 0, 0x88, 8, 0x1122334455667788ull);
	assert_int_equal(rd(c->pci, 0x88), 0x55667788);
	assert_true(vfc_t_bar_read(c->pci, 0, 0x00, 8) == 0x010000edull); /* ident, liveness */
	ctx_free(c);
}

static void test_factorial(void **state)
{
	struct ctx *c = *state;
	static const uint32_t in[] = { 0, 1, 5, 12, 13, 33, 34, 0xffffffff };
	static const uint32_t out[] = { 1, 1, 120, 479001600u, 1932053504u, 2147483648u, 0, 0 };

	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		wr(c->pci, 0x08, in[i]);
		assert_true(vfc_t_wait(fact_done, c->pci));
		assert_int_equal(rd(c->pci, 0x08), out[i]);
	}
	assert_int_equal(rd(c->pci, 0x24), 0);
	assert_int_equal(vfc_t_efd_take(c->intx), 0);

	/* With bit 7 set, the result raises irq status 0x1 on INTx. */
	wr(c->pci, 0x20, 0x80);
	wr(c->pci, 0x08, 6);
	assert_int_equal(vfc_t_efd_wait(c->intx), 1);
	assert_int_equal(rd(c->pci, 0x08), 720);
	assert_int_equal(rd(c->pci, 0x24), 0x1);
	assert_int_equal(rd(c->pci, 0x20), 0x80);
	assert_int_equal(vfc_t_cfg_read(c->pci, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT,
			 PCI_STATUS_INTERRUPT);
	wr(c->pci, 0x64, 0x1);
	assert_int_equal(rd(c->pci, 0x24), 0);
	assert_int_equal(vfc_t_cfg_read(c->pci, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT, 0);
	unmask(c->pci);
	assert_int_equal(vfc_t_efd_take(c->intx), 0);
}

static void test_irq_intx(void **state)
{
	struct ctx *c = *state;

	wr(c->pci, 0x60, 0x1000);
	assert_int_equal(rd(c->pci, 0x24), 0x1000);
	assert_int_equal(vfc_t_efd_take(c->intx), 1);
	wr(c->pci, 0x60, 0x2); /* ORs in; INTx is automasked */
	assert_int_equal(rd(c->pci, 0x24), 0x1002);
	assert_int_equal(vfc_t_efd_take(c->intx), 0);
	wr(c->pci, 0x64, 0x1000);
	assert_int_equal(rd(c->pci, 0x24), 0x2);
	unmask(c->pci); /* still asserted: signalled again */
	assert_int_equal(vfc_t_efd_take(c->intx), 1);
	wr(c->pci, 0x64, 0xffffffff);
	assert_int_equal(rd(c->pci, 0x24), 0);
	unmask(c->pci);
	assert_int_equal(vfc_t_efd_take(c->intx), 0);
	wr(c->pci, 0x60, 0); /* raising nothing asserts nothing */
	assert_int_equal(vfc_t_efd_take(c->intx), 0);

	/* INTx disable in PCI_COMMAND holds it back until cleared. */
	vfc_t_cfg_write(c->pci, PCI_COMMAND, 2,
		    PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE);
	wr(c->pci, 0x60, 0x4);
	assert_int_equal(vfc_t_efd_take(c->intx), 0);
	vfc_t_cfg_write(c->pci, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	assert_int_equal(vfc_t_efd_take(c->intx), 1);
	wr(c->pci, 0x64, 0x4);
	unmask(c->pci);
}

static void test_irq_msi(void **state)
{
	struct ctx *c = *state;
	int msi = vfc_t_efd();

	assert_int_equal(vfc_t_set_irqs(c->pci, NONE | TRIG, VFIO_PCI_INTX_IRQ_INDEX, 0, 0, NULL), 0);
	assert_int_equal(vfc_t_set_fd(c->pci, VFIO_PCI_MSI_IRQ_INDEX, TRIG, 0, msi), 0);
	wr(c->pci, 0x60, 0x8);
	assert_int_equal(vfc_t_efd_take(msi), 1);
	assert_int_equal(vfc_t_cfg_read(c->pci, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT, 0);
	wr(c->pci, 0x60, 0x8); /* every raise is a message */
	assert_int_equal(vfc_t_efd_take(msi), 1);
	wr(c->pci, 0x64, 0x8);
	wr(c->pci, 0x20, 0x80);
	wr(c->pci, 0x08, 3);
	assert_int_equal(vfc_t_efd_wait(msi), 1);
	assert_int_equal(rd(c->pci, 0x24), 0x1);
	assert_int_equal(vfc_t_efd_take(c->intx), 0);

	/* MSI off again: edu falls back to INTx, which nobody listens to. */
	assert_int_equal(vfc_t_set_irqs(c->pci, NONE | TRIG, VFIO_PCI_MSI_IRQ_INDEX, 0, 0, NULL), 0);
	wr(c->pci, 0x60, 0x8);
	assert_int_equal(vfc_t_efd_take(msi), 0);
	assert_int_equal(vfc_t_cfg_read(c->pci, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT,
			 PCI_STATUS_INTERRUPT);
	close(msi);
}

static void test_dma_roundtrip(void **state)
{
	struct ctx *c = *state;

	for (unsigned int i = 0; i < 4096; i++)
		c->mem.mem[0x1000 + i] = (uint8_t)(i * 7 + 3);

	/* RAM -> buffer, ending exactly at the buffer's end; the 28-bit DMA
	 * mask drops the high bits of the RAM address, as QEMU does. */
	dma(c, 0x10001000, BUF, 0x1000, 0x1 | 0x4);
	assert_int_equal(rd(c->pci, 0x24), 0x100);
	assert_int_equal(vfc_t_efd_take(c->intx), 1);
	assert_int_equal(rd(c->pci, 0x98), 0x4);
	wr(c->pci, 0x64, 0x100);
	unmask(c->pci);

	/* buffer -> RAM, no interrupt asked. */
	dma(c, BUF, 0x5000, 0x1000, 0x1 | 0x2);
	assert_memory_equal(c->mem.mem + 0x5000, c->mem.mem + 0x1000, 0x1000);
	assert_int_equal(rd(c->pci, 0x24), 0);
	assert_int_equal(vfc_t_efd_take(c->intx), 0);

	/* A piece from the middle, across an IOVA page boundary. */
	dma(c, BUF + 0x7f0, 0x8ff8, 0x20, 0x1 | 0x2);
	assert_memory_equal(c->mem.mem + 0x8ff8, c->mem.mem + 0x17f0, 0x20);
	assert_int_equal(rd(c->pci, 0x80), BUF + 0x7f0);
	assert_int_equal(rd(c->pci, 0x88), 0x8ff8);
	assert_int_equal(rd(c->pci, 0x90), 0x20);
}

static void test_dma_range(void **state)
{
	struct ctx *c = *state;

	/* One past the end, before the start, zero bytes: nothing moves, but
	 * the command completes and raises its interrupt. */
	c->mem.calls = 0;
	dma(c, 0x1000, BUF + 1, 0x1000, 0x1 | 0x4);
	dma(c, BUF - 1, 0x1000, 0x10, 0x1 | 0x2);
	dma(c, BUF + 0x1000, 0x1000, 0x1, 0x1 | 0x2);
	dma(c, BUF + 0x1000, 0x1000, 0, 0x1 | 0x2);
	dma(c, BUF, 0x1000, 0xffffffff, 0x1 | 0x2);
	assert_int_equal(c->mem.calls, 0);
	assert_int_equal(rd(c->pci, 0x24), 0x100);
	assert_int_equal(vfc_t_efd_take(c->intx), 1);
}

static void test_dma_fault(void **state)
{
	struct ctx *c = *state;
	uint8_t zero[0x800] = { 0 };

	memset(c->mem.mem + 0x1800, 0xa5, 0x1000);
	c->mem.fault_start = 0x2000;
	c->mem.fault_end = 0x3000;

	/* An IOMMU fault reads as zeros, page by page; edu cannot tell. */
	dma(c, 0x1800, BUF, 0x1000, 0x1 | 0x4);
	assert_int_equal(rd(c->pci, 0x24), 0x100);
	dma(c, BUF, 0x6000, 0x1000, 0x1 | 0x2);
	assert_memory_equal(c->mem.mem + 0x6000, c->mem.mem + 0x1800, 0x800);
	assert_memory_equal(c->mem.mem + 0x6800, zero, 0x800);

	/* Writes to a faulting page are dropped; the rest lands (the zeros
	 * of the buffer's second half). */
	memset(c->mem.mem + 0x2800, 0x5a, 0x800);
	memset(c->mem.mem + 0x3000, 0x77, 0x800);
	dma(c, BUF, 0x2800, 0x1000, 0x1 | 0x2);
	for (unsigned int i = 0; i < 0x800; i++) {
		assert_int_equal(c->mem.mem[0x2800 + i], 0x5a);
		assert_int_equal(c->mem.mem[0x3000 + i], 0);
	}

	/* Bus mastering off: the target is never reached, reads are zeros. */
	vfc_t_cfg_write(c->pci, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	c->mem.calls = 0;
	dma(c, 0x1800, BUF, 0x800, 0x1);
	assert_int_equal(c->mem.calls, 0);
	vfc_t_cfg_write(c->pci, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	dma(c, BUF, 0x7000, 0x800, 0x1 | 0x2);
	assert_memory_equal(c->mem.mem + 0x7000, zero, 0x800);
}

static void test_dma_busy_and_reset(void **state)
{
	struct ctx *c = ctx_new("dma_delay_us=60000000"); /* never fires here */

	(void)state;
	wr(c->pci, 0x98, 0x4); /* no start bit: ignored */
	assert_int_equal(rd(c->pci, 0x98), 0);
	wr(c->pci, 0x80, 0x1000);
	wr(c->pci, 0x88, BUF);
	wr(c->pci, 0x90, 0x10);
	wr(c->pci, 0x98, 0x1 | 0x4);
	assert_int_equal(rd(c->pci, 0x98), 0x5);
	/* While running, the DMA registers ignore writes. */
	wr(c->pci, 0x80, 0x2000);
	wr(c->pci, 0x88, 0);
	wr(c->pci, 0x90, 0x20);
	wr(c->pci, 0x98, 0x1 | 0x2);
	assert_int_equal(rd(c->pci, 0x80), 0x1000);
	assert_int_equal(rd(c->pci, 0x88), BUF);
	assert_int_equal(rd(c->pci, 0x90), 0x10);
	assert_int_equal(rd(c->pci, 0x98), 0x5);

	/* Reset: power-on registers, the transfer is dropped. */
	wr(c->pci, 0x04, 1);
	wr(c->pci, 0x20, 0x80);
	wr(c->pci, 0x60, 0x40);
	assert_int_equal(vfc_t_efd_take(c->intx), 1);
	assert_int_equal(vfc_t_reset(c->pci), 0);
	for (unsigned int off = 0x04; off <= 0x24; off += 4)
		if (off != 0x0c && (off < 0x0c || off >= 0x20))
			assert_int_equal(rd(c->pci, off), 0);
	for (unsigned int off = 0x80; off <= 0x98; off += 8)
		assert_int_equal(rd(c->pci, off), 0);
	assert_int_equal(vfc_t_cfg_read(c->pci, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT, 0);
	assert_int_equal(c->mem.calls, 0);
	ctx_free(c);
}

static void test_no_reset(void **state)
{
	struct ctx *c = ctx_new("reset=off");

	(void)state;
	assert_null(vfc_emu_pci_device_ops(c->pci)->reset);
	wr(c->pci, 0x04, 0x0f0f0f0f);
	wr(c->pci, 0x08, 4);
	assert_true(vfc_t_wait(fact_done, c->pci));
	vfc_t_close(c->pci);
	vfc_t_open(c->pci);
	assert_int_equal(rd(c->pci, 0x04), 0xf0f0f0f0);
	assert_int_equal(rd(c->pci, 0x08), 24);
	ctx_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_infos, setup, teardown),
		cmocka_unit_test_setup_teardown(test_registers, setup, teardown),
		cmocka_unit_test(test_rw64_off),
		cmocka_unit_test_setup_teardown(test_factorial, setup, teardown),
		cmocka_unit_test_setup_teardown(test_irq_intx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_irq_msi, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dma_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dma_range, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dma_fault, setup, teardown),
		cmocka_unit_test(test_dma_busy_and_reset),
		cmocka_unit_test(test_no_reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
