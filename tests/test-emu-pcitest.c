// SPDX-License-Identifier: MIT
/*
 * Unit tests of the pcitest model (backends/emu/pci/pcitest.c), driven as
 * Linux's pci_endpoint_test driver drives pci-epf-test: config header and
 * BARs (64-bit, MSI-X in BAR4), register rules, the WRITE, READ and COPY
 * commands with CRC32 checksums on a fake DMA target, failures, and the
 * interrupt raised on the requested INTx, MSI or MSI-X vector.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/pci_regs.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "emu-pci-test.h"

#define EVFD VFIO_IRQ_SET_DATA_EVENTFD
#define NONE VFIO_IRQ_SET_DATA_NONE
#define TRIG VFIO_IRQ_SET_ACTION_TRIGGER
#define UNMASK VFIO_IRQ_SET_ACTION_UNMASK

#define R_MAGIC 0x00
#define R_COMMAND 0x04
#define R_STATUS 0x08
#define R_SRC_LO 0x0c
#define R_SRC_HI 0x10
#define R_DST_LO 0x14
#define R_DST_HI 0x18
#define R_SIZE 0x1c
#define R_CHECKSUM 0x20
#define R_IRQ_TYPE 0x24
#define R_IRQ_NUMBER 0x28
#define R_FLAGS 0x2c
#define R_CAPS 0x30

#define C_INTX 0x01
#define C_MSI 0x02
#define C_MSIX 0x04
#define C_READ 0x08
#define C_WRITE 0x10
#define C_COPY 0x20

#define S_READ_OK 0x001
#define S_READ_FAIL 0x002
#define S_WRITE_OK 0x004
#define S_WRITE_FAIL 0x008
#define S_COPY_OK 0x010
#define S_COPY_FAIL 0x020
#define S_IRQ 0x040
#define S_SRC_BAD 0x080
#define S_DST_BAD 0x100

struct ctx {
	struct vfc_emu_pci *pci;
	struct vfc_t_mem mem;
	int v[8];
};

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	int32_t fds[8];

	assert_non_null(c);
	assert_int_equal(vfc_emu_pci_create("pcitest", NULL, &c->pci), 0);
	vfc_t_mem_init(&c->mem, 1u << 20);
	vfc_emu_pci_set_dma(c->pci, vfc_t_mem_dma, &c->mem);
	vfc_t_open(c->pci);
	vfc_t_cfg_write(c->pci, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	for (int i = 0; i < 8; i++)
		fds[i] = c->v[i] = vfc_t_efd();
	assert_int_equal(vfc_t_set_irqs(c->pci, EVFD | TRIG, VFIO_PCI_MSIX_IRQ_INDEX, 0, 8, fds), 0);
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	vfc_t_close(c->pci);
	vfc_emu_pci_free(c->pci);
	vfc_t_mem_fini(&c->mem);
	for (int i = 0; i < 8; i++)
		close(c->v[i]);
	free(c);
	return 0;
}

static uint32_t rd(struct ctx *c, uint64_t off)
{
	return (uint32_t)vfc_t_bar_read(c->pci, 0, off, 4);
}

static void wr(struct ctx *c, uint64_t off, uint32_t val)
{
	vfc_t_bar_write(c->pci, 0, off, 4, val);
}

/* Linux's crc32_le(~0, ...), bit by bit. */
static uint32_t crc32_ref(const uint8_t *p, size_t n)
{
	uint32_t crc = ~0u;

	while (n--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
	}
	return crc;
}

/* Program a transfer and run it, interrupt on MSI-X vector @vec (1-based). */
static uint32_t run(struct ctx *c, uint32_t cmd, uint64_t src, uint64_t dst, uint32_t size,
		    unsigned int vec)
{
	wr(c, R_SRC_LO, (uint32_t)src);
	wr(c, R_SRC_HI, (uint32_t)(src >> 32));
	wr(c, R_DST_LO, (uint32_t)dst);
	wr(c, R_DST_HI, (uint32_t)(dst >> 32));
	wr(c, R_SIZE, size);
	wr(c, R_IRQ_TYPE, 2);
	wr(c, R_IRQ_NUMBER, vec);
	wr(c, R_COMMAND, cmd);
	assert_int_equal(vfc_t_efd_wait(c->v[vec - 1]), 1);
	assert_int_equal(rd(c, R_COMMAND), 0);
	return rd(c, R_STATUS);
}

static void test_config(void **state)
{
	struct ctx *c = *state;
	struct vfc_emu_pci *pci = c->pci;
	static const uint32_t sized[] = { 0xfffff000, 0, 0xffff000c, 0xffffffff, 0xfffff000, 0 };

	assert_int_equal(vfc_t_cfg_read(pci, PCI_VENDOR_ID, 4), 0x7e571234);
	assert_int_equal(vfc_t_cfg_read(pci, PCI_SUBSYSTEM_VENDOR_ID, 4), 0x7e571234);
	assert_int_equal(vfc_t_cfg_read(pci, PCI_CLASS_REVISION, 4), 0xff000001);
	assert_int_equal(vfc_t_cfg_read(pci, PCI_INTERRUPT_PIN, 1), 1);
	for (unsigned int i = 0; i < 6; i++) {
		vfc_t_cfg_write(pci, PCI_BASE_ADDRESS_0 + 4 * i, 4, 0xffffffff);
		assert_int_equal(vfc_t_cfg_read(pci, PCI_BASE_ADDRESS_0 + 4 * i, 4), sized[i]);
	}
	assert_int_equal(vfc_t_cfg_read(pci, PCI_CAPABILITY_LIST, 1), 0x40);
	assert_int_equal(vfc_t_cfg_read(pci, 0x40, 4),
			 PCI_CAP_ID_MSI | 0x58 << 8 |
				 (PCI_MSI_FLAGS_64BIT | PCI_MSI_FLAGS_MASKBIT) << 16);
	/* MSI-X is enabled by setup: the hardware control word shows it. */
	assert_int_equal(vfc_t_cfg_read(pci, 0x58, 4),
			 PCI_CAP_ID_MSIX | (uint32_t)(PCI_MSIX_FLAGS_ENABLE | 7) << 16);
	assert_int_equal(vfc_t_cfg_read(pci, 0x58 + PCI_MSIX_TABLE, 4), 4);
	assert_int_equal(vfc_t_cfg_read(pci, 0x58 + PCI_MSIX_PBA, 4), 0x804);
	vfc_t_cfg_write(pci, 0x80, 4, 0x12345678);
	assert_int_equal(vfc_t_cfg_read(pci, 0x80, 4), 0);
}

static void test_infos(void **state)
{
	struct ctx *c = *state;
	const struct vfc_device_ops *ops = vfc_emu_pci_device_ops(c->pci);
	static const uint64_t sizes[] = { 4096, 0, 65536, 0, 4096, 0, 0, 256 };
	static const uint32_t counts[] = { 1, 4, 8, 0, 1 };

	for (unsigned int i = 0; i < 8; i++) {
		struct vfio_region_info info = { .argsz = sizeof(info), .index = i };
		struct vfc_caps caps = { 0 };

		assert_int_equal(ops->get_region_info(c->pci, &info, &caps), 0);
		assert_int_equal(info.size, sizes[i]);
		/* BAR2, plain RAM, is the one mappable region. */
		assert_int_equal(info.flags, !sizes[i] ? 0 : i == 2 ? 7 : 3);
	}
	for (unsigned int i = 0; i < 5; i++) {
		struct vfio_irq_info info = { .argsz = sizeof(info), .index = i };
		int r = ops->get_irq_info(c->pci, &info);

		assert_int_equal(r, i == VFIO_PCI_ERR_IRQ_INDEX ? -EINVAL : 0);
		if (!r)
			assert_int_equal(info.count, counts[i]);
	}
}

/*
 * BAR2 through the memfd the framework hands out: what the client writes
 * in its mapping, a trapped read sees, and the other way; reset clears it;
 * other BARs have no file to map.
 */
static void test_bar2_mmap(void **state)
{
	struct ctx *c = *state;
	const struct vfc_device_ops *ops = vfc_emu_pci_device_ops(c->pci);
	const size_t page = (size_t)sysconf(_SC_PAGESIZE);
	uint64_t off = 1;
	uint8_t *map;
	int fd = -1;

	assert_non_null(ops->region_mmap);
	assert_int_equal(ops->region_mmap(c->pci, 0, 0, page, &fd, &off), -EINVAL);
	assert_int_equal(ops->region_mmap(c->pci, 4, 0, page, &fd, &off), -EINVAL);
	assert_int_equal(ops->region_mmap(c->pci, 2, page, page, &fd, &off), 0);
	assert_true(fd >= 0 && (fcntl(fd, F_GETFD) & FD_CLOEXEC));
	assert_int_equal(off, page);
	map = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)off);
	assert_true(map != MAP_FAILED);
	close(fd);	/* the mapping keeps the memory */

	memcpy(map + 8, "mapped!", 8);
	assert_int_equal(vfc_t_bar_read(c->pci, 2, page + 8, 8), 0x2164657070616dull); /* "mapped!" */
	vfc_t_bar_write(c->pci, 2, page + 16, 4, 0x01020304);
	assert_int_equal(map[16], 4);
	assert_int_equal(map[19], 1);
	assert_int_equal(ops->reset(c->pci), 0);
	assert_int_equal(map[8], 0);
	munmap(map, page);
}

static void test_bars(void **state)
{
	struct ctx *c = *state;
	uint8_t *pattern = malloc(65536), *back = malloc(65536);

	assert_non_null(pattern);
	assert_non_null(back);
	wr(c, R_MAGIC, 0xa5a5a5a5);
	assert_int_equal(rd(c, R_MAGIC), 0xa5a5a5a5);
	assert_int_equal(vfc_t_bar_read(c->pci, 0, R_MAGIC + 1, 2), 0xa5a5);
	assert_int_equal(rd(c, R_CAPS), 0xf);
	wr(c, R_CAPS, 0);
	assert_int_equal(rd(c, R_CAPS), 0xf);
	wr(c, 0x40, 0xffffffff);
	assert_int_equal(rd(c, 0x40), 0);
	assert_int_equal(rd(c, 0xffc), 0);

	/* BAR2 is memory, as pci_endpoint_test's BAR test expects. */
	for (unsigned int i = 0; i < 65536; i++)
		pattern[i] = (uint8_t)(i ^ (i >> 8));
	assert_int_equal(vfc_t_rw(c->pci, 2, 0, pattern, 65536, true), 65536);
	assert_int_equal(vfc_t_rw(c->pci, 2, 0, back, 65536, false), 65536);
	assert_memory_equal(pattern, back, 65536);
	assert_int_equal(vfc_t_rw(c->pci, 2, 65535, back, 4, false), 1);

	/* BAR4: the MSI-X table is hidden, the PBA is empty. */
	assert_int_equal(vfc_t_bar_read(c->pci, 4, 0, 4), 0xffffffff);
	assert_int_equal(vfc_t_bar_read(c->pci, 4, 0x7c, 4), 0xffffffff);
	assert_int_equal(vfc_t_bar_read(c->pci, 4, 0x80, 4), 0);
	assert_int_equal(vfc_t_bar_read(c->pci, 4, 0x800, 4), 0);
	free(pattern);
	free(back);
}

static void test_write(void **state)
{
	struct ctx *c = *state;

	/* The device writes random bytes to RAM and reports their CRC. */
	assert_int_equal(run(c, C_WRITE, 0, 0x10001, 0x3000, 3), S_WRITE_OK | S_IRQ);
	assert_int_equal(rd(c, R_CHECKSUM), crc32_ref(c->mem.mem + 0x10001, 0x3000));
	for (int i = 0; i < 8; i++)
		assert_int_equal(vfc_t_efd_take(c->v[i]), 0);
	/* Zero bytes: the CRC of nothing. */
	assert_int_equal(run(c, C_WRITE, 0, 0x10000, 0, 8), S_WRITE_OK | S_IRQ);
	assert_int_equal(rd(c, R_CHECKSUM), 0xffffffff);
}

static void test_read(void **state)
{
	struct ctx *c = *state;

	for (unsigned int i = 0; i < 0x2345; i++)
		c->mem.mem[0x20000 + i] = (uint8_t)(i * 31);
	wr(c, R_CHECKSUM, crc32_ref(c->mem.mem + 0x20000, 0x2345));
	assert_int_equal(run(c, C_READ, 0x20000, 0, 0x2345, 1), S_READ_OK | S_IRQ);
	wr(c, R_CHECKSUM, crc32_ref(c->mem.mem + 0x20000, 0x2345) ^ 1);
	assert_int_equal(run(c, C_READ, 0x20000, 0, 0x2345, 1), S_READ_FAIL | S_IRQ);
}

static void test_copy(void **state)
{
	struct ctx *c = *state;

	for (unsigned int i = 0; i < 0x1800; i++)
		c->mem.mem[0x30000 + i] = (uint8_t)(i * 13 + 1);
	assert_int_equal(run(c, C_COPY, 0x30000, 0x40800, 0x1800, 5), S_COPY_OK | S_IRQ);
	assert_memory_equal(c->mem.mem + 0x40800, c->mem.mem + 0x30000, 0x1800);
}

static void test_failures(void **state)
{
	struct ctx *c = *state;

	c->mem.fault_start = 0x50000;
	c->mem.fault_end = 0x51000;
	assert_int_equal(run(c, C_WRITE, 0, 0x50800, 0x100, 2),
			 S_WRITE_FAIL | S_DST_BAD | S_IRQ);
	assert_int_equal(run(c, C_READ, 0x4ff00, 0, 0x200, 2), S_READ_FAIL | S_SRC_BAD | S_IRQ);
	assert_int_equal(run(c, C_COPY, 0x50000, 0x1000, 0x10, 2),
			 S_COPY_FAIL | S_SRC_BAD | S_IRQ);
	assert_int_equal(run(c, C_COPY, 0x1000, 0x50000, 0x10, 2),
			 S_COPY_FAIL | S_DST_BAD | S_IRQ);
	/* Beyond the IOVA space of the target, and bigger than 1 MiB. */
	assert_int_equal(run(c, C_WRITE, 0, 0x100000000ull, 0x10, 2),
			 S_WRITE_FAIL | S_DST_BAD | S_IRQ);
	assert_int_equal(run(c, C_WRITE, 0, 0, (1u << 20) + 1, 2), S_WRITE_FAIL | S_IRQ);

	/* Bus mastering off: the bus refuses every transfer. */
	vfc_t_cfg_write(c->pci, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	c->mem.calls = 0;
	assert_int_equal(run(c, C_READ, 0x1000, 0, 0x10, 2), S_READ_FAIL | S_SRC_BAD | S_IRQ);
	assert_int_equal(c->mem.calls, 0);
}

static bool command_taken(void *arg)
{
	return rd(arg, R_COMMAND) == 0;
}

static void test_raise(void **state)
{
	struct ctx *c = *state;
	int intx = vfc_t_efd(), msi[4] = { vfc_t_efd(), vfc_t_efd(), vfc_t_efd(), vfc_t_efd() };
	int32_t fds[4] = { msi[0], msi[1], msi[2], msi[3] };

	/* MSI-X: vectors are numbered from 1, beyond the table nothing. */
	wr(c, R_IRQ_NUMBER, 8);
	wr(c, R_COMMAND, C_MSIX);
	assert_int_equal(vfc_t_efd_wait(c->v[7]), 1);
	assert_int_equal(rd(c, R_STATUS), S_IRQ);
	wr(c, R_IRQ_NUMBER, 9);
	wr(c, R_COMMAND, C_MSIX);
	assert_true(vfc_t_wait(command_taken, c));
	assert_int_equal(rd(c, R_STATUS), 0);
	wr(c, R_IRQ_NUMBER, 0);
	wr(c, R_COMMAND, C_MSIX);
	assert_true(vfc_t_wait(command_taken, c));
	assert_int_equal(rd(c, R_STATUS), 0);

	/* MSI with 4 vectors. */
	assert_int_equal(vfc_t_set_irqs(c->pci, NONE | TRIG, VFIO_PCI_MSIX_IRQ_INDEX, 0, 0, NULL), 0);
	assert_int_equal(vfc_t_set_irqs(c->pci, EVFD | TRIG, VFIO_PCI_MSI_IRQ_INDEX, 0, 4, fds), 0);
	wr(c, R_IRQ_NUMBER, 2);
	wr(c, R_COMMAND, C_MSI);
	assert_int_equal(vfc_t_efd_wait(msi[1]), 1);
	assert_int_equal(rd(c, R_STATUS), S_IRQ);
	wr(c, R_IRQ_NUMBER, 5);
	wr(c, R_COMMAND, C_MSI);
	assert_true(vfc_t_wait(command_taken, c));
	assert_int_equal(rd(c, R_STATUS), 0);
	/* A transfer can signal MSI too. */
	wr(c, R_IRQ_TYPE, 1);
	wr(c, R_IRQ_NUMBER, 4);
	wr(c, R_SIZE, 16);
	wr(c, R_DST_LO, 0x100);
	wr(c, R_COMMAND, C_WRITE);
	assert_int_equal(vfc_t_efd_wait(msi[3]), 1);
	assert_int_equal(rd(c, R_STATUS), S_WRITE_OK | S_IRQ);

	/* INTx: a pulse, so the line is low again and unmask stays quiet. */
	assert_int_equal(vfc_t_set_irqs(c->pci, NONE | TRIG, VFIO_PCI_MSI_IRQ_INDEX, 0, 0, NULL), 0);
	assert_int_equal(vfc_t_set_fd(c->pci, VFIO_PCI_INTX_IRQ_INDEX, TRIG, 0, intx), 0);
	wr(c, R_COMMAND, C_INTX);
	assert_int_equal(vfc_t_efd_wait(intx), 1);
	assert_int_equal(rd(c, R_STATUS), S_IRQ);
	assert_int_equal(vfc_t_cfg_read(c->pci, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT, 0);
	assert_int_equal(vfc_t_set_irqs(c->pci, NONE | UNMASK, VFIO_PCI_INTX_IRQ_INDEX, 0, 1, NULL), 0);
	assert_int_equal(vfc_t_efd_take(intx), 0);
	wr(c, R_IRQ_TYPE, 0);
	wr(c, R_COMMAND, C_COPY);
	assert_int_equal(vfc_t_efd_wait(intx), 1);
	assert_int_equal(rd(c, R_STATUS), S_COPY_OK | S_IRQ);

	close(intx);
	for (int i = 0; i < 4; i++)
		close(msi[i]);
}

static void test_bad_irq_type(void **state)
{
	struct ctx *c = *state;

	c->mem.calls = 0;
	wr(c, R_STATUS, 0x1234);
	wr(c, R_IRQ_TYPE, 3);
	wr(c, R_SIZE, 16);
	wr(c, R_COMMAND, C_WRITE);
	assert_true(vfc_t_wait(command_taken, c));
	assert_int_equal(rd(c, R_STATUS), 0);
	assert_int_equal(c->mem.calls, 0);
}

static void test_reset(void **state)
{
	struct ctx *c = *state;

	wr(c, R_MAGIC, 0x11111111);
	wr(c, R_SIZE, 0x22);
	vfc_t_bar_write(c->pci, 2, 0x100, 4, 0x33333333);
	assert_int_equal(vfc_t_reset(c->pci), 0);
	assert_int_equal(rd(c, R_MAGIC), 0);
	assert_int_equal(rd(c, R_SIZE), 0);
	assert_int_equal(rd(c, R_CAPS), 0xf);
	assert_int_equal(vfc_t_bar_read(c->pci, 2, 0x100, 4), 0);
	/* MSI-X survives the reset. */
	wr(c, R_IRQ_NUMBER, 1);
	wr(c, R_COMMAND, C_MSIX);
	assert_int_equal(vfc_t_efd_wait(c->v[0]), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_infos, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bars, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bar2_mmap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_raise, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_irq_type, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
