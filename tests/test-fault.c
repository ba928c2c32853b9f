// SPDX-License-Identifier: MIT
/*
 * Fault injection (vfc-fault.h): the rule parser with its messages, the
 * table (add, remove, list, clear), matching by ioctl, kind, group and
 * device, counting (nth, every), seeded shares, and every action end to
 * end through the in-process transport (vfc-local.h) on an emulated edu
 * behind the software IOMMU, as a VFIO client sees it: an injected errno
 * on exactly the chosen call, a non-viable group, a failed reset, ERR/REQ
 * raised on the client's eventfd, a DMA fault as edu shows it, and
 * interrupts dropped or held back.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/pci_regs.h>
#include <cmocka.h>

#include "emu-iommu.h"
#include "emu-pci-test.h"
#include "vfc-fault.h"
#include "vfc-file.h"
#include "vfc-local.h"
#include "vfc-log.h"

#define NAME "0000:00:04.0"
#define GROUP 7
#define IOVA 0x100000ull
#define BUF 0x40000u


/* Parsing */

static void expect_bad(const char *rule, const char *msg)
{
	char err[160];

	assert_int_equal(vfc_fault_add(rule, err, sizeof(err)), -EINVAL);
	if (!strstr(err, msg))
		fail_msg("rule \"%s\": message \"%s\" lacks \"%s\"", rule, err, msg);
}

static void test_parse(void **state)
{
	static const char *const good[] = {
		"ioctl MAP_DMA nth=3 errno=ENOMEM",
		"ioctl IOMMU_MAP_DMA every=2 errno=12",
		"ioctl SET_IRQS share=12.5% seed=42 errno=EIO device=0000:00:04.0",
		"ioctl DEVICE_GET_REGION_INFO errno=EFAULT group=3",
		"ioctl GET_STATUS kind=group errno=EBUSY",
		"  ioctl\tGET_INFO kind=device errno=ENODEV  ",
		"dma device=0000:00:04.0 dir=read iova=0x1000-0x2000 nth=1",
		"dma share=50",
		"irq drop index=msi vector=0 every=3",
		"irq delay=250 device=x index=msix",
		"reset errno=EIO device=x",
		"nonviable group=26",
	};
	char err[160];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		int id = vfc_fault_add(good[i], err, sizeof(err));

		if (id <= 0)
			fail_msg("rule \"%s\": %d: %s", good[i], id, err);
	}
	vfc_fault_clear();
	assert_false(vfc_fault_any());

	expect_bad("", "empty rule");
	expect_bad("explode now", "unknown action");
	expect_bad("ioctl errno=EIO", "name comes next");
	expect_bad("ioctl MAP_DMA", "errno= is required");
	expect_bad("ioctl MAP_DMA errno=EWHAT", "not an errno");
	expect_bad("ioctl MAP_DMA errno=0", "not an errno");
	expect_bad("ioctl FROB errno=EIO", "no ioctl \"FROB\"");
	expect_bad("ioctl GET_INFO errno=EIO", "ambiguous");
	expect_bad("ioctl MAP_DMA kind=device errno=EIO", "on that kind of file");
	expect_bad("ioctl MAP_DMA errno=EIO group=3", "container ioctl");
	expect_bad("ioctl MAP_DMA errno=EIO nth=0", "a count from 1");
	expect_bad("ioctl MAP_DMA errno=EIO nth=2 every=3", "only one of");
	expect_bad("ioctl MAP_DMA errno=EIO share=0", "percentage");
	expect_bad("ioctl MAP_DMA errno=EIO share=101", "percentage");
	expect_bad("ioctl MAP_DMA errno=EIO seed=3", "seed= goes with share=");
	expect_bad("ioctl MAP_DMA errno=EIO colour=red", "unknown key");
	expect_bad("ioctl MAP_DMA errno=EIO errno=EIO", "given twice");
	expect_bad("ioctl MAP_DMA errno=EIO nth", "key=value expected");
	expect_bad("dma errno=EIO", "take no errno=");
	expect_bad("dma iova=5-5", "LO < HI");
	expect_bad("dma dir=sideways", "dir=");
	expect_bad("irq", "drop or delay");
	expect_bad("irq delay=0", "1 to 60000 ms");
	expect_bad("irq hold", "drop or delay");
	expect_bad("irq drop index=err2", "index=");
	expect_bad("reset device=x", "errno= is required");
	expect_bad("nonviable", "group= is required");
	expect_bad("nonviable group=3 nth=2", "take no nth=");
	expect_bad("raise", "err or req");
	expect_bad("raise req", "device= is required");
	expect_bad("ioctl MAP_DMA errno=EIO a=1 b=2 c=3 d=4 e=5 f=6 g=7 h=8 i=9 j=10 k=11 l=12 "
		   "m=13 n=14", "too many words");
	assert_false(vfc_fault_any());
}

static void test_table(void **state)
{
	char buf[512], small[8], err[80];
	int a, b;
	size_t n;

	a = vfc_fault_add("ioctl MAP_DMA   nth=3 errno=ENOMEM", err, sizeof(err));
	b = vfc_fault_add("nonviable group=5", err, sizeof(err));
	assert_true(a > 0 && b > a);
	n = vfc_fault_list(buf, sizeof(buf));
	assert_int_equal(n, strlen(buf));
	snprintf(err, sizeof(err), "%d: ioctl MAP_DMA nth=3 errno=ENOMEM (matched 0, injected 0)\n",
		 a);
	assert_non_null(strstr(buf, err));
	snprintf(err, sizeof(err), "%d: nonviable group=5 (matched 0, injected 0)\n", b);
	assert_non_null(strstr(buf, err));
	/* Truncated like snprintf, still NUL-terminated. */
	assert_int_equal(vfc_fault_list(small, sizeof(small)), n);
	assert_int_equal(strlen(small), sizeof(small) - 1);

	assert_int_equal(vfc_fault_remove(a), 0);
	assert_int_equal(vfc_fault_remove(a), -ENOENT);
	n = vfc_fault_list(buf, sizeof(buf));
	assert_null(strstr(buf, "MAP_DMA"));
	assert_int_equal(vfc_fault_remove(b), 0);
	assert_false(vfc_fault_any());
	assert_int_equal(vfc_fault_list(buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");

	/* Ids are never reused; the table is bounded. */
	for (int i = 0; i < 64; i++)
		assert_true(vfc_fault_add("dma", err, sizeof(err)) > b);
	assert_int_equal(vfc_fault_add("dma", err, sizeof(err)), -ENOSPC);
	assert_non_null(strstr(err, "too many rules"));
	vfc_fault_clear();
}


/* Matching and counting, at the hook */

static int map(void)
{
	return vfc_fault_ioctl_match(VFC_FILE_CONTAINER, VFIO_IOMMU_MAP_DMA, -1, NULL);
}

static void test_counting(void **state)
{
	char err[80];
	unsigned long infos = vfc_log_count(LOG_INFO);

	assert_true(vfc_fault_add("ioctl MAP_DMA nth=3 errno=ENOMEM", err, sizeof(err)) > 0);
	for (int i = 1; i <= 10; i++)
		assert_int_equal(map(), i == 3 ? -ENOMEM : 0);
	assert_int_equal(vfc_fault_ioctl_match(VFC_FILE_CONTAINER, VFIO_IOMMU_UNMAP_DMA, -1, NULL),
			 0);
	assert_true(vfc_log_count(LOG_INFO) > infos);
	vfc_fault_clear();

	assert_true(vfc_fault_add("ioctl MAP_DMA every=4 errno=EAGAIN", err, sizeof(err)) > 0);
	for (int i = 1; i <= 20; i++)
		assert_int_equal(map(), i % 4 ? 0 : -EAGAIN);
	vfc_fault_clear();

	/* Filters: kind, group, device. */
	assert_true(vfc_fault_add("ioctl SET_IRQS errno=EINVAL device=a", err, sizeof(err)) > 0);
	assert_true(vfc_fault_add("ioctl GET_STATUS errno=EBUSY group=3", err, sizeof(err)) > 0);
	assert_int_equal(vfc_fault_ioctl_match(VFC_FILE_DEVICE, VFIO_DEVICE_SET_IRQS, 1, "a"),
			 -EINVAL);
	assert_int_equal(vfc_fault_ioctl_match(VFC_FILE_DEVICE, VFIO_DEVICE_SET_IRQS, 1, "b"), 0);
	assert_int_equal(vfc_fault_ioctl_match(VFC_FILE_DEVICE, VFIO_DEVICE_SET_IRQS, 1, NULL), 0);
	/* Same number on another kind: not this ioctl. */
	assert_int_equal(vfc_fault_ioctl_match(VFC_FILE_CONTAINER, VFIO_DEVICE_SET_IRQS, -1, NULL),
			 0);
	assert_int_equal(vfc_fault_ioctl_match(VFC_FILE_GROUP, VFIO_GROUP_GET_STATUS, 3, NULL),
			 -EBUSY);
	assert_int_equal(vfc_fault_ioctl_match(VFC_FILE_GROUP, VFIO_GROUP_GET_STATUS, 4, NULL), 0);
	vfc_fault_clear();

	/* Two rules on one call: both count, the first in id order wins. */
	assert_true(vfc_fault_add("ioctl MAP_DMA every=2 errno=EIO", err, sizeof(err)) > 0);
	assert_true(vfc_fault_add("ioctl MAP_DMA errno=ENOSPC", err, sizeof(err)) > 0);
	assert_int_equal(map(), -ENOSPC);
	assert_int_equal(map(), -EIO);
	vfc_fault_clear();
}

static unsigned int run_share(const char *rule, uint8_t *seq, unsigned int n)
{
	char err[80];
	unsigned int hits = 0;

	assert_true(vfc_fault_add(rule, err, sizeof(err)) > 0);
	for (unsigned int i = 0; i < n; i++) {
		seq[i] = map() != 0;
		hits += seq[i];
	}
	vfc_fault_clear();
	return hits;
}

static void test_seeds(void **state)
{
	enum { N = 10000 };
	static uint8_t a[N], b[N], c[N];
	unsigned int ha, hb, hc;

	ha = run_share("ioctl MAP_DMA share=25% seed=7 errno=EIO", a, N);
	hb = run_share("ioctl MAP_DMA share=25 seed=7 errno=EIO", b, N);
	hc = run_share("ioctl MAP_DMA share=25% seed=8 errno=EIO", c, N);
	/* Same seed, same sequence; another seed, another. */
	assert_int_equal(ha, hb);
	assert_memory_equal(a, b, N);
	assert_memory_not_equal(a, c, N);
	/* docs/harness.md: within 2 points of the share over 10000 calls. */
	assert_in_range(ha, N * 23 / 100, N * 27 / 100);
	assert_in_range(hc, N * 23 / 100, N * 27 / 100);
	assert_int_equal(run_share("ioctl MAP_DMA share=100 errno=EIO", a, 100), 100);
	assert_in_range(run_share("ioctl MAP_DMA share=0.5 seed=1 errno=EIO", a, N), 20, 80);
}


/* End to end: edu through the core, the software IOMMU and vfc-local.h */

struct env {
	struct vfc_core *core;
	struct vfc_emu_pci *edu;
	struct vfc_local *l;
	int c, g, d;
	uint8_t *mem;
	uint64_t bar0, cfg;
};

static struct vfio_iommu_type1_dma_map map_arg(struct env *e, uint64_t iova)
{
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)e->mem,
		.iova = iova,
		.size = 2 * 4096,
	};
	return m;
}

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	struct vfc_group *g;

	assert_non_null(e);
	assert_int_equal(posix_memalign((void **)&e->mem, 4096, 2 * 4096), 0);
	memset(e->mem, 0, 2 * 4096);
	assert_int_equal(vfc_core_new(&e->core), 0);
	assert_int_equal(vfc_core_add_iommu_driver(e->core, &vfc_emu_iommu_ops, NULL), 0);
	assert_int_equal(vfc_core_add_group(e->core, GROUP, NULL, &g), 0);
	assert_int_equal(vfc_emu_pci_create("edu", NULL, &e->edu), 0);
	assert_int_equal(vfc_emu_pci_register(e->edu, g, NAME, NULL), 0);
	assert_int_equal(vfc_local_new(e->core, &e->l), 0);
	e->c = vfc_local_open_container(e->l);
	e->g = vfc_local_open_group(e->l, GROUP);
	assert_true(e->c >= 0 && e->g >= 0);
	e->d = -1;
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	vfc_fault_clear();
	vfc_local_free(e->l);
	vfc_core_free(e->core);
	vfc_emu_pci_free(e->edu);
	free(e->mem);
	free(e);
	return 0;
}

static long ioc(struct env *e, int fd, unsigned int cmd, const void *arg)
{
	return vfc_local_ioctl(e->l, fd, cmd, (unsigned long)arg);
}

static void attach(struct env *e)
{
	assert_int_equal(ioc(e, e->g, VFIO_GROUP_SET_CONTAINER, &e->c), 0);
	assert_int_equal(vfc_local_ioctl(e->l, e->c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), 0);
}

static void open_device(struct env *e)
{
	struct vfio_region_info ri = { .argsz = sizeof(ri) };
	struct vfio_iommu_type1_dma_map m = map_arg(e, IOVA);
	uint16_t cmd;

	attach(e);
	assert_int_equal(ioc(e, e->c, VFIO_IOMMU_MAP_DMA, &m), 0);
	e->d = (int)ioc(e, e->g, VFIO_GROUP_GET_DEVICE_FD, NAME);
	assert_true(e->d >= 0);
	ri.index = VFIO_PCI_BAR0_REGION_INDEX;
	assert_int_equal(ioc(e, e->d, VFIO_DEVICE_GET_REGION_INFO, &ri), 0);
	e->bar0 = ri.offset;
	ri.index = VFIO_PCI_CONFIG_REGION_INDEX;
	assert_int_equal(ioc(e, e->d, VFIO_DEVICE_GET_REGION_INFO, &ri), 0);
	e->cfg = ri.offset;
	assert_int_equal(vfc_local_pread(e->l, e->d, &cmd, 2, e->cfg + PCI_COMMAND), 2);
	cmd |= PCI_COMMAND_MASTER;
	assert_int_equal(vfc_local_pwrite(e->l, e->d, &cmd, 2, e->cfg + PCI_COMMAND), 2);
}

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

static int add(const char *rule)
{
	char err[160];
	int id = vfc_fault_add(rule, err, sizeof(err));

	if (id <= 0)
		fail_msg("rule \"%s\": %s", rule, err);
	return id;
}

/* The 3rd MAP_DMA fails with ENOMEM, and only it; io->injected says so. */
static void test_map_dma_nth(void **state)
{
	struct env *e = *state;
	struct vfio_iommu_type1_dma_map m;
	char list[256];

	attach(e);
	add("ioctl MAP_DMA nth=3 errno=ENOMEM");
	for (unsigned int i = 1; i <= 5; i++) {
		m = map_arg(e, IOVA + i * 0x10000);
		assert_int_equal(ioc(e, e->c, VFIO_IOMMU_MAP_DMA, &m), i == 3 ? -ENOMEM : 0);
		assert_int_equal(vfc_local_last_injected(e->l), i == 3);
	}
	/* The injected call changed nothing: its range is still free. */
	m = map_arg(e, IOVA + 3 * 0x10000);
	assert_int_equal(ioc(e, e->c, VFIO_IOMMU_MAP_DMA, &m), 0);
	assert_false(vfc_local_last_injected(e->l));
	vfc_fault_list(list, sizeof(list));
	assert_non_null(strstr(list, "(matched 6, injected 1)"));
}

static uint32_t group_flags(struct env *e)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };

	assert_int_equal(ioc(e, e->g, VFIO_GROUP_GET_STATUS, &st), 0);
	return st.flags;
}

static void test_nonviable(void **state)
{
	struct env *e = *state;
	int id;

	assert_int_equal(group_flags(e), VFIO_GROUP_FLAGS_VIABLE);
	id = add("nonviable group=7");
	assert_int_equal(group_flags(e), 0);
	assert_true(vfc_local_last_injected(e->l));
	assert_int_equal(ioc(e, e->g, VFIO_GROUP_SET_CONTAINER, &e->c), -EPERM);
	assert_true(vfc_local_last_injected(e->l));
	/* Without a container, GET_DEVICE_FD fails first with EINVAL, as ever. */
	assert_int_equal(ioc(e, e->g, VFIO_GROUP_GET_DEVICE_FD, NAME), -EINVAL);
	assert_false(vfc_local_last_injected(e->l));
	/* Another group is untouched; removing the rule makes it viable again. */
	assert_int_equal(vfc_fault_remove(id), 0);
	attach(e);
	assert_int_equal(group_flags(e), VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET);

	/* With a container set: VIABLE goes, GET_DEVICE_FD fails with EINVAL,
	 * as in the kernels before 5.19, the only ones where this can happen. */
	add("nonviable group=7");
	assert_int_equal(group_flags(e), VFIO_GROUP_FLAGS_CONTAINER_SET);
	assert_int_equal(ioc(e, e->g, VFIO_GROUP_GET_DEVICE_FD, NAME), -EINVAL);
	assert_true(vfc_local_last_injected(e->l));
	vfc_fault_clear();
	e->d = (int)ioc(e, e->g, VFIO_GROUP_GET_DEVICE_FD, NAME);
	assert_true(e->d >= 0);
}

static void test_reset(void **state)
{
	struct env *e = *state;

	open_device(e);
	add("reset errno=EIO device=" NAME " nth=2");
	wr(e, 4, 0x0000ffff);
	assert_int_equal(ioc(e, e->d, VFIO_DEVICE_RESET, NULL), 0);
	assert_false(vfc_local_last_injected(e->l));
	assert_int_equal(rd(e, 4), 0);
	wr(e, 4, 0x0000ffff);
	assert_int_equal(ioc(e, e->d, VFIO_DEVICE_RESET, NULL), -EIO);
	assert_true(vfc_local_last_injected(e->l));
	/* The failed reset did not happen. */
	assert_int_equal(rd(e, 4), 0xffff0000);
	vfc_fault_clear();
	add("reset errno=EBUSY device=someone-else");
	assert_int_equal(ioc(e, e->d, VFIO_DEVICE_RESET, NULL), 0);
}

static void set_trigger(struct env *e, unsigned int index, int fd)
{
	struct {
		struct vfio_irq_set set;
		int32_t fd;
	} irqs = {
		.set = {
			.argsz = sizeof(irqs),
			.flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
			.index = index,
			.count = 1,
		},
		.fd = fd,
	};

	assert_int_equal(ioc(e, e->d, VFIO_DEVICE_SET_IRQS, &irqs), 0);
}

static void test_raise(void **state)
{
	struct env *e = *state;
	char list[64];
	int req = vfc_t_efd();

	open_device(e);
	/* No eventfd yet: nothing to signal, and the rule is still one-shot. */
	assert_true(add("raise req device=" NAME) > 0);
	set_trigger(e, VFIO_PCI_REQ_IRQ_INDEX, req);
	assert_int_equal(vfc_t_efd_take(req), 0);
	assert_true(add("raise req device=" NAME) > 0);
	assert_int_equal(vfc_t_efd_take(req), 1);
	assert_true(add("raise req device=" NAME) > 0);
	assert_int_equal(vfc_t_efd_take(req), 1);
	/* edu is conventional PCI: it has no ERR index, so nothing is raised. */
	assert_true(add("raise err device=" NAME) > 0);
	assert_true(add("raise req device=0000:00:05.0") > 0);
	assert_int_equal(vfc_t_efd_take(req), 0);
	/* One-shot: not kept in the table. */
	assert_int_equal(vfc_fault_list(list, sizeof(list)), 0);
	assert_false(vfc_fault_any());
	close(req);
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

/* edu: a faulted page reads as zeros and drops writes (docs/devices.md). */
static void test_dma_fault(void **state)
{
	struct env *e = *state;
	uint8_t zero[4096] = { 0 };
	int id;

	open_device(e);
	for (unsigned int i = 0; i < 4096; i++)
		e->mem[i] = (uint8_t)(i * 7 + 3);

	/* Reads from RAM fault: the buffer gets zeros. */
	id = add("dma device=" NAME " dir=read");
	dma(e, IOVA, BUF, 4096, 0x1);
	assert_int_equal(vfc_fault_remove(id), 0);
	memset(e->mem + 4096, 0xaa, 4096);
	dma(e, BUF, IOVA + 4096, 4096, 0x1 | 0x2);
	assert_memory_equal(e->mem + 4096, zero, 4096);

	/* Now the read goes through, and the write back faults: RAM untouched. */
	dma(e, IOVA, BUF, 4096, 0x1);
	memset(e->mem + 4096, 0xaa, 4096);
	add("dma device=" NAME " iova=0x101000-0x102000");
	dma(e, BUF, IOVA + 4096, 4096, 0x1 | 0x2);
	assert_int_equal(e->mem[4096], 0xaa);
	assert_int_equal(e->mem[8191], 0xaa);
	vfc_fault_clear();
	dma(e, BUF, IOVA + 4096, 4096, 0x1 | 0x2);
	assert_memory_equal(e->mem + 4096, e->mem, 4096);
}

static void test_irq(void **state)
{
	struct env *e = *state;
	int msi = vfc_t_efd();

	open_device(e);
	set_trigger(e, VFIO_PCI_MSI_IRQ_INDEX, msi);

	/* The 2nd MSI is dropped; the 1st and 3rd arrive. */
	add("irq drop device=" NAME " index=msi nth=2");
	for (unsigned int i = 1; i <= 3; i++) {
		wr(e, 0x60, 0x1);
		assert_int_equal(vfc_t_efd_take(msi), i == 2 ? 0 : 1);
		wr(e, 0x64, 0x1);
	}
	vfc_fault_clear();

	/* Held back: not there at once, there when the rules go (the flush). */
	add("irq delay=60000 device=" NAME " index=msi");
	wr(e, 0x60, 0x1);
	assert_int_equal(vfc_t_efd_take(msi), 0);
	vfc_fault_clear();
	assert_int_equal(vfc_t_efd_wait(msi), 1);

	/* A short delay arrives by itself, from the timer thread. */
	add("irq delay=1 device=" NAME);
	wr(e, 0x60, 0x1);
	assert_int_equal(vfc_t_efd_wait(msi), 1);
	vfc_fault_clear();
	close(msi);
}

/*
 * pcitest, run without the core (as tests/test-emu-pcitest.c): the device
 * has no name, so rules without device= reach it. A DMA fault sets the
 * failed bit and the invalid-address bit of the side that faulted.
 */
#define PT_COMMAND 0x04
#define PT_STATUS 0x08
#define PT_SIZE 0x1c
#define PT_IRQ_TYPE 0x24
#define PT_IRQ_NUMBER 0x28

static uint32_t pt_run(struct vfc_emu_pci *pci, int efd, uint32_t cmd, uint32_t src,
		       uint32_t dst)
{
	vfc_t_bar_write(pci, 0, 0x0c, 4, src);
	vfc_t_bar_write(pci, 0, 0x10, 4, 0);
	vfc_t_bar_write(pci, 0, 0x14, 4, dst);
	vfc_t_bar_write(pci, 0, 0x18, 4, 0);
	vfc_t_bar_write(pci, 0, PT_SIZE, 4, 0x100);
	vfc_t_bar_write(pci, 0, PT_IRQ_TYPE, 4, 2);
	vfc_t_bar_write(pci, 0, PT_IRQ_NUMBER, 4, 1);
	vfc_t_bar_write(pci, 0, PT_COMMAND, 4, cmd);
	assert_int_equal(vfc_t_efd_wait(efd), 1);
	return (uint32_t)vfc_t_bar_read(pci, 0, PT_STATUS, 4);
}

static void test_pcitest_dma(void **state)
{
	enum { COPY = 0x20, READ = 0x08, COPY_OK = 0x10, COPY_FAIL = 0x20, READ_FAIL = 0x02,
	       IRQ = 0x40, SRC_BAD = 0x80, DST_BAD = 0x100 };
	struct vfc_emu_pci *pci;
	struct vfc_t_mem mem;
	int32_t efd = vfc_t_efd();

	assert_int_equal(vfc_emu_pci_create("pcitest", NULL, &pci), 0);
	vfc_t_mem_init(&mem, 1u << 20);
	vfc_emu_pci_set_dma(pci, vfc_t_mem_dma, &mem);
	vfc_t_open(pci);
	vfc_t_cfg_write(pci, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	assert_int_equal(vfc_t_set_irqs(pci, VFIO_IRQ_SET_DATA_EVENTFD |
					VFIO_IRQ_SET_ACTION_TRIGGER, VFIO_PCI_MSIX_IRQ_INDEX, 0, 1,
					&efd), 0);

	assert_int_equal(pt_run(pci, efd, COPY, 0x1000, 0x2000), COPY_OK | IRQ);
	add("dma dir=write nth=1");
	assert_int_equal(pt_run(pci, efd, COPY, 0x1000, 0x2000), COPY_FAIL | DST_BAD | IRQ);
	assert_int_equal(pt_run(pci, efd, COPY, 0x1000, 0x2000), COPY_OK | IRQ);
	vfc_fault_clear();
	add("dma dir=read iova=0x3000-0x3001");
	assert_int_equal(pt_run(pci, efd, READ, 0x3000, 0), READ_FAIL | SRC_BAD | IRQ);
	assert_int_equal(pt_run(pci, efd, COPY, 0x2f01, 0x5000), COPY_FAIL | SRC_BAD | IRQ);
	assert_int_equal(pt_run(pci, efd, COPY, 0x2e00, 0x5000), COPY_OK | IRQ);
	vfc_fault_clear();

	vfc_t_close(pci);
	vfc_emu_pci_free(pci);
	vfc_t_mem_fini(&mem);
	close(efd);
}

/* Thread safety: rules come and go while calls match (run under TSan/helgrind). */
static void *churn(void *arg)
{
	char err[80];

	for (int i = 0; i < 2000; i++) {
		int id = vfc_fault_add("ioctl MAP_DMA every=2 errno=EIO", err, sizeof(err));

		if (id > 0)
			vfc_fault_remove(id);
	}
	return arg;
}

static void test_threads(void **state)
{
	pthread_t t;

	assert_int_equal(pthread_create(&t, NULL, churn, NULL), 0);
	for (int i = 0; i < 20000; i++) {
		int r = map();

		assert_true(r == 0 || r == -EIO);
	}
	pthread_join(t, NULL);
	vfc_fault_clear();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_counting),
		cmocka_unit_test(test_seeds),
		cmocka_unit_test(test_threads),
		cmocka_unit_test_setup_teardown(test_map_dma_nth, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nonviable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_raise, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dma_fault, setup, teardown),
		cmocka_unit_test_setup_teardown(test_irq, setup, teardown),
		cmocka_unit_test(test_pcitest_dma),
	};

	vfc_log_set_max_level(LOG_WARNING);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
