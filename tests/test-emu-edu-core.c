// SPDX-License-Identifier: MIT
/*
 * End to end: an edu device registered with the real core behind the
 * emulated type1 IOMMU, driven through the in-process transport
 * (vfc-local.h) exactly as a VFIO client drives /dev/vfio: container,
 * group, MAP_DMA of this process's memory, device fd, config and BAR0
 * through pread/pwrite, MSI through SET_IRQS, DMA both ways and into an
 * unmapped IOVA, reset. No fake DMA target: the bytes go through
 * vfc_device_dma_rw() and process_vm_readv/writev.
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

#include "emu-iommu.h"
#include "emu-pci-test.h"
#include "vfc-local.h"

#define NAME "0000:00:04.0"
#define IOVA 0x100000ull
#define BUF 0x40000u

struct env {
	struct vfc_core *core;
	struct vfc_emu_pci *edu;
	struct vfc_local *l;
	int c, g, d;
	uint8_t *mem;
	uint64_t bar0, cfg;
};

static uint32_t rd(struct env *e, uint64_t off)
{
	uint32_t v = 0;

	assert_int_equal(vfc_local_pread(e->l, e->d, &v, 4, e->bar0 + off), 4);
	return v;
}

static void wr(struct env *e, uint64_t off, uint32_t v)
{
	assert_int_equal(vfc_local_pwrite(e->l, e->d, &v, 4, e->bar0 + off), 4);
}

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.iova = IOVA,
		.size = 2 * 4096,
	};
	struct vfio_region_info ri = { .argsz = sizeof(ri) };
	struct vfc_group *g;
	uint16_t cmd;

	assert_non_null(e);
	assert_int_equal(posix_memalign((void **)&e->mem, 4096, 2 * 4096), 0);
	memset(e->mem, 0, 2 * 4096);
	map.vaddr = (uintptr_t)e->mem;

	assert_int_equal(vfc_core_new(&e->core), 0);
	assert_int_equal(vfc_core_add_iommu_driver(e->core, &vfc_emu_iommu_ops, NULL), 0);
	assert_int_equal(vfc_core_add_group(e->core, 7, NULL, &g), 0);
	assert_int_equal(vfc_emu_pci_create("edu", NULL, &e->edu), 0);
	assert_int_equal(vfc_emu_pci_register(e->edu, g, NAME, NULL), 0);

	assert_int_equal(vfc_local_new(e->core, &e->l), 0);
	e->c = vfc_local_open_container(e->l);
	e->g = vfc_local_open_group(e->l, 7);
	assert_true(e->c >= 0 && e->g >= 0);
	assert_int_equal(vfc_local_ioctl(e->l, e->g, VFIO_GROUP_SET_CONTAINER,
					 (unsigned long)&e->c), 0);
	assert_int_equal(vfc_local_ioctl(e->l, e->c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), 0);
	assert_int_equal(vfc_local_ioctl(e->l, e->c, VFIO_IOMMU_MAP_DMA, (unsigned long)&map), 0);
	e->d = (int)vfc_local_ioctl(e->l, e->g, VFIO_GROUP_GET_DEVICE_FD, (unsigned long)NAME);
	assert_true(e->d >= 0);

	ri.index = VFIO_PCI_BAR0_REGION_INDEX;
	assert_int_equal(vfc_local_ioctl(e->l, e->d, VFIO_DEVICE_GET_REGION_INFO,
					 (unsigned long)&ri), 0);
	assert_int_equal(ri.size, 1u << 20);
	assert_int_equal(ri.flags, VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE);
	e->bar0 = ri.offset;
	ri.index = VFIO_PCI_CONFIG_REGION_INDEX;
	assert_int_equal(vfc_local_ioctl(e->l, e->d, VFIO_DEVICE_GET_REGION_INFO,
					 (unsigned long)&ri), 0);
	assert_int_equal(ri.size, 256);
	e->cfg = ri.offset;

	/* Bus master is off at open; a driver turns it on. */
	assert_int_equal(vfc_local_pread(e->l, e->d, &cmd, 2, e->cfg + PCI_COMMAND), 2);
	assert_int_equal(cmd & PCI_COMMAND_MASTER, 0);
	cmd |= PCI_COMMAND_MASTER;
	assert_int_equal(vfc_local_pwrite(e->l, e->d, &cmd, 2, e->cfg + PCI_COMMAND), 2);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	vfc_local_free(e->l);
	vfc_core_free(e->core);
	vfc_emu_pci_free(e->edu);
	free(e->mem);
	free(e);
	return 0;
}

static bool dma_done(void *arg)
{
	return !(rd(arg, 0x98) & 1);
}

static void dma(struct env *e, uint64_t src, uint64_t dst, uint32_t cnt, uint32_t cmd)
{
	wr(e, 0x80, (uint32_t)src);
	wr(e, 0x88, (uint32_t)dst);
	wr(e, 0x90, cnt);
	wr(e, 0x98, cmd);
	assert_true(vfc_t_wait(dma_done, e));
}

static void test_device(void **state)
{
	struct env *e = *state;
	struct vfio_device_info info = { .argsz = sizeof(info) };
	struct vfio_irq_info irq = { .argsz = sizeof(irq), .index = VFIO_PCI_ERR_IRQ_INDEX };
	uint32_t id = 0;

	assert_int_equal(vfc_local_ioctl(e->l, e->d, VFIO_DEVICE_GET_INFO, (unsigned long)&info),
			 0);
	assert_int_equal(info.flags, VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET);
	assert_int_equal(info.num_regions, 9);
	assert_int_equal(info.num_irqs, 5);
	assert_int_equal(vfc_local_ioctl(e->l, e->d, VFIO_DEVICE_GET_IRQ_INFO, (unsigned long)&irq),
			 -EINVAL);
	assert_int_equal(vfc_local_pread(e->l, e->d, &id, 4, e->cfg), 4);
	assert_int_equal(id, 0x11e81234);
	assert_int_equal(rd(e, 0), 0x010000ed);
	wr(e, 4, 0x0000ffff);
	assert_int_equal(rd(e, 4), 0xffff0000);
	assert_int_equal(vfc_local_ioctl(e->l, e->d, VFIO_DEVICE_RESET, 0), 0);
	assert_int_equal(rd(e, 4), 0);
}

static void test_dma_msi(void **state)
{
	struct env *e = *state;
	struct {
		struct vfio_irq_set set;
		int32_t fd;
	} irqs = {
		.set = {
			.argsz = sizeof(irqs),
			.flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
			.index = VFIO_PCI_MSI_IRQ_INDEX,
			.count = 1,
		},
	};
	uint8_t zero[4096] = { 0 };

	irqs.fd = vfc_t_efd();
	assert_int_equal(vfc_local_ioctl(e->l, e->d, VFIO_DEVICE_SET_IRQS, (unsigned long)&irqs),
			 0);
	for (unsigned int i = 0; i < 4096; i++)
		e->mem[i] = (uint8_t)(i * 5 + 1);

	/* RAM -> device buffer (the whole 4 KiB), then back to the other page. */
	dma(e, IOVA, BUF, 4096, 0x1 | 0x4);
	assert_int_equal(vfc_t_efd_wait(irqs.fd), 1);
	assert_int_equal(rd(e, 0x24), 0x100);
	wr(e, 0x64, 0x100);
	dma(e, BUF, IOVA + 4096, 4096, 0x1 | 0x2 | 0x4);
	assert_int_equal(vfc_t_efd_wait(irqs.fd), 1);
	assert_memory_equal(e->mem + 4096, e->mem, 4096);

	/* An unmapped IOVA faults in the IOMMU: edu reads zeros. */
	dma(e, 0x200000, BUF, 4096, 0x1);
	dma(e, BUF, IOVA + 4096, 4096, 0x1 | 0x2);
	assert_memory_equal(e->mem + 4096, zero, 4096);
	close(irqs.fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_device, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dma_msi, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
