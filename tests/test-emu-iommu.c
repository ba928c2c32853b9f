// SPDX-License-Identifier: MIT
/*
 * The software type1 IOMMU's ioctls against the kernel's rules: extension
 * checks, open, GET_INFO and its capability chain, MAP_DMA and UNMAP_DMA
 * for v1 and v2, the check of the caller's memory, UPDATE_VADDR,
 * DIRTY_PAGES' first checks, the retry protocol, and the driver behind the
 * core through the in-process transport. DMA is in test-emu-iommu-dma.c,
 * dirty tracking in test-emu-iommu-dirty.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "emu-iommu-priv.h"
#include "emu-iommu-testutil.h"
#include "vfc-core.h"
#include "vfc-local.h"
#include "vfc-log.h"

#define RW (VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)
/* Real memory for the mappings to name (MAP_DMA checks it is there), never
 * touched: VA_SIZE bytes, read-write, then a read-only and a PROT_NONE page. */
#define VA_SIZE (64ull << 20)
static uint64_t VA;
#define MAP_MINSZ 32u
#define UNMAP_MINSZ 24u

static void *open_iommu(unsigned long type, const struct vfc_emu_iommu_config *cfg)
{
	void *data = NULL;

	assert_int_equal(vfc_emu_iommu_ops.open((void *)cfg, type, &data), 0);
	assert_non_null(data);
	assert_int_equal(vfc_emu_iommu_ops.attach_group(data, NULL), 0);
	return data;
}

static void close_iommu(void *data)
{
	vfc_emu_iommu_ops.release(data);
}

static int map_full(void *d, uint32_t argsz, uint32_t flags, uint64_t vaddr, uint64_t iova,
		    uint64_t size)
{
	struct vfio_iommu_type1_dma_map m = {
		.argsz = argsz, .flags = flags, .vaddr = vaddr, .iova = iova, .size = size,
	};
	struct emu_call call;
	int r = emu_ioctl(d, getpid(), VFIO_IOMMU_MAP_DMA, &m, sizeof(m), &call);

	assert_false(call.protocol_error);
	assert_int_equal(call.out_len, 0);	/* MAP writes nothing back */
	return r;
}

static int map(void *d, uint64_t iova, uint64_t size)
{
	return map_full(d, sizeof(struct vfio_iommu_type1_dma_map), RW, VA, iova, size);
}

/* Unmap; *ret_size gets the size field after the call (unchanged on error). */
static int unmap_full(void *d, uint32_t argsz, uint32_t flags, uint64_t iova, uint64_t size,
		      uint64_t *ret_size)
{
	struct {
		struct vfio_iommu_type1_dma_unmap u;
		uint8_t canary[16];
	} arg;
	struct emu_call call;
	int r;

	memset(&arg, 0xaa, sizeof(arg));
	arg.u = (struct vfio_iommu_type1_dma_unmap){
		.argsz = argsz, .flags = flags, .iova = iova, .size = size,
	};
	r = emu_ioctl(d, getpid(), VFIO_IOMMU_UNMAP_DMA, &arg, sizeof(arg), &call);
	assert_false(call.protocol_error);
	for (size_t i = 0; i < sizeof(arg.canary); i++)
		assert_int_equal(arg.canary[i], 0xaa);
	if (r == 0) {
		assert_int_equal(call.out_len, UNMAP_MINSZ);
		assert_int_equal(arg.u.argsz, argsz);
		assert_int_equal(arg.u.flags, flags);
		assert_int_equal(arg.u.iova, iova);
	} else {
		assert_int_equal(call.out_len, 0);
		assert_int_equal(arg.u.size, size);
	}
	if (ret_size)
		*ret_size = arg.u.size;
	return r;
}

static int unmap(void *d, uint64_t iova, uint64_t size, uint64_t *ret_size)
{
	return unmap_full(d, sizeof(struct vfio_iommu_type1_dma_unmap), 0, iova, size, ret_size);
}

static unsigned int count(void *d)
{
	return vfc_emu_iommu_count(d);
}

static void test_check_extension(void **state)
{
	static const struct {
		unsigned long ext;
		int none, open;
	} table[] = {
		{ VFIO_TYPE1_IOMMU, 1, 1 },
		{ VFIO_TYPE1v2_IOMMU, 1, 1 },
		{ VFIO_UNMAP_ALL, 1, 1 },
		{ VFIO_TYPE1_NESTING_IOMMU, 0, 0 },
		{ VFIO_UPDATE_VADDR, 0, 1 },
		{ VFIO_DMA_CC_IOMMU, 0, 1 },
		{ VFIO_SPAPR_TCE_IOMMU, 0, 0 },
		{ VFIO_SPAPR_TCE_v2_IOMMU, 0, 0 },
		{ VFIO_NOIOMMU_IOMMU, 0, 0 },
		{ 0, 0, 0 },
		{ 11, 0, 0 },
		{ ~0ul, 0, 0 },
	};
	void *d = open_iommu(VFIO_TYPE1v2_IOMMU, NULL);

	for (size_t i = 0; i < VFC_ARRAY_SIZE(table); i++) {
		assert_int_equal(vfc_emu_iommu_ops.check_extension(NULL, NULL, table[i].ext),
				 table[i].none);
		assert_int_equal(vfc_emu_iommu_ops.check_extension(NULL, d, table[i].ext),
				 table[i].open);
	}
	close_iommu(d);
}

static void test_open_types(void **state)
{
	struct vfc_emu_iommu_config cfg;
	void *d = NULL;

	for (unsigned long t = 0; t < 16; t++) {
		int r = vfc_emu_iommu_ops.open(NULL, t, &d);

		if (t == VFIO_TYPE1_IOMMU || t == VFIO_TYPE1v2_IOMMU) {
			assert_int_equal(r, 0);
			vfc_emu_iommu_ops.release(d);
		} else {
			/* e.g. SET_IOMMU(VFIO_UNMAP_ALL) passes check_extension
			 * and then fails in open, as in the kernel. */
			assert_int_equal(r, -EINVAL);
		}
	}
	vfc_emu_iommu_config_init(&cfg);
	cfg.pgsize_bitmap = 0x200;
	assert_int_equal(vfc_emu_iommu_ops.open(&cfg, VFIO_TYPE1_IOMMU, &d), -EINVAL);
	vfc_emu_iommu_config_init(&cfg);
	cfg.nr_iova_ranges = 0;
	assert_int_equal(vfc_emu_iommu_ops.open(&cfg, VFIO_TYPE1_IOMMU, &d), -EINVAL);
	vfc_emu_iommu_config_init(&cfg);
	cfg.iova_ranges[1].start = 0x1000;	/* overlaps range 0 */
	assert_int_equal(vfc_emu_iommu_ops.open(&cfg, VFIO_TYPE1_IOMMU, &d), -EINVAL);
}

static void test_unknown_ioctl(void **state)
{
	void *d = open_iommu(VFIO_TYPE1v2_IOMMU, NULL);
	uint8_t buf[64] = { 0 };
	static const unsigned int cmds[] = {
		VFIO_CHECK_EXTENSION, VFIO_SET_IOMMU, VFIO_IOMMU_ENABLE, VFIO_IOMMU_DISABLE,
		VFIO_GET_API_VERSION, _IO(VFIO_TYPE, VFIO_BASE + 18), 0,
	};

	for (size_t i = 0; i < VFC_ARRAY_SIZE(cmds); i++)
		assert_int_equal(emu_ioctl(d, getpid(), cmds[i], buf, sizeof(buf), NULL), -ENOTTY);
	close_iommu(d);
}

/* The full answer: info (24) + DMA_AVAIL (12, padded to 16) + IOVA_RANGE (48). */
#define INFO_FULL 120u

static void check_chain(const uint8_t *buf, uint32_t avail)
{
	const struct vfio_iommu_type1_info *info = (const void *)buf;
	const struct vfio_iommu_type1_info_cap_migration *mig;
	const struct vfio_iommu_type1_info_dma_avail *da;
	const struct vfio_iommu_type1_info_cap_iova_range *ir;

	/* the kernel's order: MIGRATION, DMA_AVAIL, IOVA_RANGE */
	assert_int_equal(info->cap_offset, sizeof(*info));
	mig = (const void *)(buf + info->cap_offset);
	assert_int_equal(mig->header.id, VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION);
	assert_int_equal(mig->header.version, 1);
	assert_int_equal(mig->flags, 0);
	assert_int_equal(mig->pgsize_bitmap, 4096);
	assert_int_equal(mig->max_dirty_bitmap_size, 256u << 20);
	assert_int_equal(mig->header.next, 56);
	da = (const void *)(buf + mig->header.next);
	assert_int_equal(da->header.id, VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL);
	assert_int_equal(da->header.version, 1);
	assert_int_equal(da->avail, avail);
	assert_int_equal(da->header.next, 72);
	ir = (const void *)(buf + da->header.next);
	assert_int_equal(ir->header.id, VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE);
	assert_int_equal(ir->header.version, 1);
	assert_int_equal(ir->header.next, 0);
	assert_int_equal(ir->nr_iovas, 2);
	assert_int_equal(ir->iova_ranges[0].start, 0);
	assert_int_equal(ir->iova_ranges[0].end, 0xfedfffffull);
	assert_int_equal(ir->iova_ranges[1].start, 0xfef00000ull);
	assert_int_equal(ir->iova_ranges[1].end, 0xffffffffffffull);
}

static void test_get_info(void **state)
{
	void *d = open_iommu(VFIO_TYPE1_IOMMU, NULL);
	uint8_t buf[256];
	struct vfio_iommu_type1_info *info = (void *)buf;
	struct emu_call call;

	/* argsz below minsz (16) */
	for (uint32_t argsz = 0; argsz < 16; argsz += 4) {
		memset(buf, 0xaa, sizeof(buf));
		info->argsz = argsz;
		assert_int_equal(emu_ioctl(d, getpid(), VFIO_IOMMU_GET_INFO, buf, sizeof(buf),
					   &call), -EINVAL);
		assert_int_equal(call.first_need_in, 16);
		assert_int_equal(call.first_need_out, 0);
	}

	/* minsz: 16 bytes back, argsz raised, no cap_offset written */
	memset(buf, 0xaa, sizeof(buf));
	info->argsz = 16;
	assert_int_equal(emu_ioctl(d, getpid(), VFIO_IOMMU_GET_INFO, buf, sizeof(buf), &call), 0);
	assert_int_equal(call.out_len, 16);
	assert_int_equal(info->argsz, INFO_FULL);
	assert_int_equal(info->flags, VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS);
	assert_int_equal(info->iova_pgsizes, 0x40201000ull);
	assert_int_equal(info->cap_offset, 0xaaaaaaaa);

	/* the whole struct but no room for caps: cap_offset 0 */
	memset(buf, 0xaa, sizeof(buf));
	info->argsz = sizeof(*info);
	assert_int_equal(emu_ioctl(d, getpid(), VFIO_IOMMU_GET_INFO, buf, sizeof(buf), &call), 0);
	assert_int_equal(call.out_len, sizeof(*info));
	assert_int_equal(info->argsz, INFO_FULL);
	assert_int_equal(info->cap_offset, 0);
	assert_int_equal(buf[sizeof(*info)], 0xaa);

	/* one byte short of the chain */
	memset(buf, 0xaa, sizeof(buf));
	info->argsz = INFO_FULL - 1;
	assert_int_equal(emu_ioctl(d, getpid(), VFIO_IOMMU_GET_INFO, buf, sizeof(buf), &call), 0);
	assert_int_equal(info->argsz, INFO_FULL);
	assert_int_equal(info->cap_offset, 0);

	/* grown to what it asked for: the chain, in the kernel's order */
	memset(buf, 0xaa, sizeof(buf));
	info->argsz = INFO_FULL;
	assert_int_equal(emu_ioctl(d, getpid(), VFIO_IOMMU_GET_INFO, buf, sizeof(buf), &call), 0);
	assert_int_equal(call.rounds, 3);	/* header, then room for the chain */
	assert_int_equal(call.out_len, INFO_FULL);
	assert_int_equal(info->argsz, INFO_FULL);
	assert_int_equal(info->flags, VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS);
	check_chain(buf, 65535);
	assert_int_equal(buf[INFO_FULL], 0xaa);

	/* a bigger buffer: argsz stays as given */
	memset(buf, 0xaa, sizeof(buf));
	info->argsz = sizeof(buf);
	assert_int_equal(map(d, 0x100000, 0x1000), 0);
	assert_int_equal(map(d, 0x200000, 0x1000), 0);
	assert_int_equal(emu_ioctl(d, getpid(), VFIO_IOMMU_GET_INFO, buf, sizeof(buf), &call), 0);
	assert_int_equal(info->argsz, sizeof(buf));
	check_chain(buf, 65533);
	close_iommu(d);
}

static void test_get_info_config(void **state)
{
	struct vfc_emu_iommu_config cfg;
	uint8_t buf[256] = { 0 };
	struct vfio_iommu_type1_info *info = (void *)buf;
	const struct vfio_iommu_type1_info_cap_iova_range *ir;
	void *d;

	vfc_emu_iommu_config_init(&cfg);
	cfg.pgsize_bitmap = 0xfffffffffffff000ull;	/* what 6.1 reports on VT-d */
	cfg.dma_entry_limit = 7;
	cfg.nr_iova_ranges = 1;
	cfg.iova_ranges[0] = (struct vfio_iova_range){ 0, UINT64_MAX };
	d = open_iommu(VFIO_TYPE1v2_IOMMU, &cfg);
	info->argsz = sizeof(buf);
	assert_int_equal(emu_ioctl(d, getpid(), VFIO_IOMMU_GET_INFO, buf, sizeof(buf), NULL), 0);
	assert_int_equal(info->iova_pgsizes, 0xfffffffffffff000ull);
	assert_int_equal(((struct vfio_iommu_type1_info_dma_avail *)(buf + 56))->avail, 7);
	ir = (const void *)(buf + 72);
	assert_int_equal(ir->nr_iovas, 1);
	assert_int_equal(ir->iova_ranges[0].end, UINT64_MAX);
	/* A mapping may end at 2^64 - 1 when the range allows it. */
	assert_int_equal(map(d, 0xfffffffffffff000ull, 0x1000), 0);
	assert_int_equal(map(d, 0xffffffffffffe000ull, 0x2000), -EEXIST);
	assert_int_equal(map(d, 0xffffffffffffe000ull, 0x1000), 0);
	assert_int_equal(unmap(d, 0xffffffffffffe000ull, 0x2000, NULL), 0);
	assert_int_equal(count(d), 0);
	close_iommu(d);
}

static void run_map_table(unsigned long type)
{
	const struct {
		uint32_t argsz, flags;
		uint64_t vaddr, iova, size;
		int expect;
	} table[] = {
		{ 0, RW, VA, 0x10000, 0x1000, -EINVAL },
		{ MAP_MINSZ - 1, RW, VA, 0x10000, 0x1000, -EINVAL },
		{ MAP_MINSZ, 1u << 3, VA, 0x10000, 0x1000, -EINVAL },
		{ MAP_MINSZ, RW | (1u << 31), VA, 0x10000, 0x1000, -EINVAL },
		{ MAP_MINSZ, VFIO_DMA_MAP_FLAG_VADDR, VA, 0x10000, 0x1000, -ENOENT },
		{ MAP_MINSZ, RW | VFIO_DMA_MAP_FLAG_VADDR, VA, 0x10000, 0x1000, -EINVAL },
		{ MAP_MINSZ, 0, VA, 0x10000, 0x1000, -EINVAL },
		{ MAP_MINSZ, RW, VA, 0x10000, 0, -EINVAL },
		{ MAP_MINSZ, RW, VA, 0x10800, 0x1000, -EINVAL },
		{ MAP_MINSZ, RW, VA + 0x800, 0x10000, 0x1000, -EINVAL },
		{ MAP_MINSZ, RW, VA, 0x10000, 0x1800, -EINVAL },
		{ MAP_MINSZ, RW, VA, 0x10000, 0x200, -EINVAL },
		/* wrapping past 2^64: EOVERFLOW, checked before prot and alignment */
		{ MAP_MINSZ, RW, VA, 0xfffffffffffff000ull, 0x2000, -EOVERFLOW },
		{ MAP_MINSZ, RW, 0xfffffffffffff000ull, 0x10000, 0x2000, -EOVERFLOW },
		{ MAP_MINSZ, 0, VA, 0xfffffffffffff000ull, 0x2000, -EOVERFLOW },
		{ MAP_MINSZ, RW, VA, 0xfffffffffffff000ull, 0x1800, -EOVERFLOW },
		{ MAP_MINSZ, RW, VA, 0x10000, UINT64_MAX, -EOVERFLOW },
		/* ending exactly at 2^64 does not wrap; it is outside the ranges */
		{ MAP_MINSZ, RW, VA, 0xfffffffffffff000ull, 0x1000, -EINVAL },
		/* the MSI window and the 48-bit end */
		{ MAP_MINSZ, RW, VA, 0xfee00000ull, 0x1000, -EINVAL },
		{ MAP_MINSZ, RW, VA, 0xfeeff000ull, 0x1000, -EINVAL },
		{ MAP_MINSZ, RW, VA, 0xfed00000ull, 0x200000, -EINVAL },
		{ MAP_MINSZ, RW, VA, 0xffff0000ull, 0x1000, 0 },
		{ MAP_MINSZ, RW, VA, 0xfedff000ull, 0x1000, 0 },
		{ MAP_MINSZ, RW, VA, 0xfef00000ull, 0x1000, 0 },
		{ MAP_MINSZ, RW, VA, 0xfffffffff000ull, 0x1000, 0 },
		{ MAP_MINSZ, RW, VA, 0x1000000000000ull, 0x1000, -EINVAL },
		{ MAP_MINSZ, RW, VA, 0xffffffffe000ull, 0x2000, -EEXIST },
		{ MAP_MINSZ, RW, VA, 0xfffffffe0000ull, 0x20000, -EEXIST },
		{ MAP_MINSZ, RW, VA, 0xfffffffe0000ull, 0x10000, 0 },
		/* argsz beyond minsz, one permission each */
		{ 4096, VFIO_DMA_MAP_FLAG_READ, VA, 0x20000, 0x1000, 0 },
		{ MAP_MINSZ, VFIO_DMA_MAP_FLAG_WRITE, VA, 0x21000, 0x1000, 0 },
		/* the caller's memory, checked last: vaddr 0 has none */
		{ MAP_MINSZ, RW, 0, 0x22000, 0x1000, -EFAULT },
		{ MAP_MINSZ, RW, 0, 0xfee00000ull, 0x1000, -EINVAL },
		{ MAP_MINSZ, RW, 0, 0x20000, 0x1000, -EEXIST },
		{ MAP_MINSZ, RW, VA, 0x22000, 0x1000, 0 },
	};
	void *d = open_iommu(type, NULL);
	unsigned int n = 0;

	for (size_t i = 0; i < VFC_ARRAY_SIZE(table); i++) {
		int r = map_full(d, table[i].argsz, table[i].flags, table[i].vaddr, table[i].iova,
				 table[i].size);

		if (r != table[i].expect)
			fail_msg("type %lu row %zu: %d, expected %d", type, i, r, table[i].expect);
		n += !r;
		assert_int_equal(count(d), n);
	}
	close_iommu(d);
}

static void test_map_table_v1(void **state)
{
	run_map_table(VFIO_TYPE1_IOMMU);
}

static void test_map_table_v2(void **state)
{
	run_map_table(VFIO_TYPE1v2_IOMMU);
}

static void test_map_retry(void **state)
{
	void *d = open_iommu(VFIO_TYPE1v2_IOMMU, NULL);
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m), .flags = RW, .vaddr = VA, .iova = 0x10000, .size = 0x1000,
	};
	struct emu_call call;

	assert_int_equal(emu_ioctl(d, getpid(), VFIO_IOMMU_MAP_DMA, &m, sizeof(m), &call), 0);
	assert_int_equal(call.rounds, 2);
	assert_int_equal(call.first_need_in, MAP_MINSZ);
	assert_int_equal(call.first_need_out, 0);
	/* The argument cannot be read: the handler never gets further. */
	assert_int_equal(emu_ioctl(d, getpid(), VFIO_IOMMU_MAP_DMA, &m, 16, &call), -EFAULT);
	assert_int_equal(count(d), 1);
	close_iommu(d);
}


/*
 * MAP_DMA looks at the caller's memory as pin_user_pages() would: EFAULT
 * for a hole, PROT_NONE, a range only partly mapped, or read-only memory
 * mapped for device writes; READ needs readable, WRITE writable pages. The
 * IOVA checks come first. With and without PROCMAP_QUERY.
 */
static void run_map_memory(bool text)
{
	const uint64_t ro = VA + VA_SIZE, none = ro + 0x1000;
	const uint32_t R = VFIO_DMA_MAP_FLAG_READ, W = VFIO_DMA_MAP_FLAG_WRITE;
	uint8_t *hole = mmap(NULL, 0x4000, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t *wo = mmap(NULL, 0x1000, PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t h, iova = 0x100000;
	void *d = open_iommu(VFIO_TYPE1v2_IOMMU, NULL);

	assert_true(hole != MAP_FAILED && wo != MAP_FAILED);
	assert_int_equal(munmap(hole + 0x1000, 0x1000), 0);
	assert_int_equal(munmap(hole + 0x3000, 0x1000), 0);
	h = (uint64_t)(uintptr_t)hole;
	((struct vfc_emu_iommu *)d)->no_procmap_query = text;
	const struct {
		uint32_t flags;
		uint64_t vaddr, size;
		int expect;
	} table[] = {
		{ RW, ro, 0x1000, -EFAULT },
		{ W, ro, 0x1000, -EFAULT },
		{ R, ro, 0x1000, 0 },
		{ R, none, 0x1000, -EFAULT },
		{ W, none, 0x1000, -EFAULT },
		{ RW, none, 0x1000, -EFAULT },
		{ RW, ro - 0x1000, 0x2000, -EFAULT },	/* read-write, then read-only */
		{ R, ro - 0x2000, 0x3000, 0 },
		{ R, ro - 0x1000, 0x3000, -EFAULT },	/* ... then PROT_NONE */
		{ RW, h, 0x3000, -EFAULT },		/* a hole in the middle */
		{ R, h, 0x2000, -EFAULT },
		{ R, h + 0x1000, 0x2000, -EFAULT },
		{ RW, h, 0x1000, 0 },
		{ RW, h + 0x2000, 0x1000, 0 },
		{ RW, h + 0x2000, 0x2000, -EFAULT },	/* runs past the end */
		{ W, (uint64_t)(uintptr_t)wo, 0x1000, 0 },	/* FOLL_WRITE needs no VM_READ */
		{ RW, (uint64_t)(uintptr_t)wo, 0x1000, 0 },
		{ R, (uint64_t)(uintptr_t)wo, 0x1000, -EFAULT },
		{ RW, 0x1000, 0x1000, -EFAULT },		/* nothing near 0 */
		{ R, 0xffffffffff600000ull, 0x1000, -EFAULT },	/* above user space */
		{ RW, VA, VA_SIZE, 0 },
	};

	for (size_t i = 0; i < VFC_ARRAY_SIZE(table); i++) {
		int r = map_full(d, MAP_MINSZ, table[i].flags, table[i].vaddr, iova, table[i].size);

		if (r != table[i].expect)
			fail_msg("text %d row %zu: %d, expected %d", text, i, r, table[i].expect);
		iova += 0x10000000;
	}
	/* IOVA, overlap and limit checks come before memory: */
	assert_int_equal(map_full(d, MAP_MINSZ, RW, 0x1000, 0xfee00000ull, 0x1000), -EINVAL);
	assert_int_equal(map_full(d, MAP_MINSZ, RW, 0x1000, 0x20100000, 0x1000), -EEXIST);
	assert_int_equal(map_full(d, MAP_MINSZ, RW, 0x1000, 1ull << 48, 0x1000), -EINVAL);
	assert_int_equal(map_full(d, MAP_MINSZ, RW, 0x1800, 0x30000, 0x1000), -EINVAL);
	close_iommu(d);
	munmap(hole, 0x4000);
	munmap(wo, 0x1000);
}

static void test_map_memory(void **state)
{
	run_map_memory(false);
	run_map_memory(true);
}

/* The check costs O(mappings the range spans), not O(pages): 64 GiB of
 * untouched memory maps as fast as a page. */
static void test_map_memory_big(void **state)
{
	const uint64_t big = 64ull << 30;
	void *p = mmap(NULL, big, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	struct timespec t0, t1;
	void *d;

	if (p == MAP_FAILED)
		skip();	/* valgrind limits the address space */
	d = open_iommu(VFIO_TYPE1v2_IOMMU, NULL);
	for (int text = 0; text < 2; text++) {
		((struct vfc_emu_iommu *)d)->no_procmap_query = text;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		assert_int_equal(map_full(d, MAP_MINSZ, RW, (uint64_t)(uintptr_t)p, 1ull << 40,
					  big), 0);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		assert_true(t1.tv_sec - t0.tv_sec < 2);
		assert_int_equal(unmap(d, 1ull << 40, big, NULL), 0);
	}
	/* and an owner whose map fd is stale (after exec) is read afresh */
	close(((struct vfc_emu_iommu *)d)->owners[0].maps_fd);
	((struct vfc_emu_iommu *)d)->owners[0].maps_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	((struct vfc_emu_iommu *)d)->no_procmap_query = true;
	assert_int_equal(map(d, 0x10000, 0x1000), 0);
	close_iommu(d);
	munmap(p, big);
}

static void test_map_overlap(void **state)
{
	void *d = open_iommu(VFIO_TYPE1v2_IOMMU, NULL);

	assert_int_equal(map(d, 0x100000, 0x4000), 0);
	assert_int_equal(map(d, 0x100000, 0x4000), -EEXIST);
	assert_int_equal(map(d, 0x0ff000, 0x2000), -EEXIST);	/* over the start */
	assert_int_equal(map(d, 0x103000, 0x2000), -EEXIST);	/* over the end */
	assert_int_equal(map(d, 0x101000, 0x1000), -EEXIST);	/* inside */
	assert_int_equal(map(d, 0x0f0000, 0x20000), -EEXIST);	/* around */
	/* adjacent on both sides: fine, and never merged */
	assert_int_equal(map(d, 0x0ff000, 0x1000), 0);
	assert_int_equal(map(d, 0x104000, 0x1000), 0);
	assert_int_equal(count(d), 3);
	uint64_t size;

	assert_int_equal(unmap(d, 0x104000, 0x1000, &size), 0);
	assert_int_equal(size, 0x1000);
	assert_int_equal(unmap(d, 0x0ff000, 0x1000, &size), 0);
	assert_int_equal(size, 0x1000);
	assert_int_equal(count(d), 1);
	close_iommu(d);
}

static void test_map_enospc(void **state)
{
	struct vfc_emu_iommu_config cfg;
	uint8_t buf[256] = { 0 };
	struct vfio_iommu_type1_info *info = (void *)buf;
	void *d;

	vfc_emu_iommu_config_init(&cfg);
	cfg.dma_entry_limit = 4;
	d = open_iommu(VFIO_TYPE1_IOMMU, &cfg);
	for (uint64_t i = 0; i < 4; i++)
		assert_int_equal(map(d, 0x10000 * (i + 1), 0x1000), 0);
	assert_int_equal(map(d, 0x100000, 0x1000), -ENOSPC);
	/* The overlap check comes first, and bad ranges after. */
	assert_int_equal(map(d, 0x10000, 0x1000), -EEXIST);
	assert_int_equal(map(d, 0xfee00000ull, 0x1000), -ENOSPC);
	info->argsz = sizeof(buf);
	assert_int_equal(emu_ioctl(d, getpid(), VFIO_IOMMU_GET_INFO, buf, sizeof(buf), NULL), 0);
	assert_int_equal(((struct vfio_iommu_type1_info_dma_avail *)(buf + 24))->avail, 0);
	assert_int_equal(unmap(d, 0x10000, 0x1000, NULL), 0);
	assert_int_equal(map(d, 0x100000, 0x1000), 0);
	assert_int_equal(map(d, 0x200000, 0x1000), -ENOSPC);
	close_iommu(d);
}

static void run_unmap_checks(unsigned long type)
{
	static const struct {
		uint32_t argsz, flags;
		uint64_t iova, size;
		int expect;
	} table[] = {
		{ 0, 0, 0x10000, 0x1000, -EINVAL },
		{ UNMAP_MINSZ - 1, 0, 0x10000, 0x1000, -EINVAL },
		{ UNMAP_MINSZ, 1u << 3, 0x10000, 0x1000, -EINVAL },
		{ UNMAP_MINSZ, VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP, 0x10000, 0x1000, -EINVAL },
		/* the struct vfio_bitmap is read: past our 40 bytes, EFAULT */
		{ UNMAP_MINSZ + 24, VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP, 0x10000, 0x1000, -EFAULT },
		{ UNMAP_MINSZ, VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP | VFIO_DMA_UNMAP_FLAG_ALL, 0, 0,
		  -EINVAL },
		{ UNMAP_MINSZ, VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP | VFIO_DMA_UNMAP_FLAG_VADDR,
		  0x10000, 0x1000, -EINVAL },
		/* VADDR of nothing: success, 0 (VADDR|ALL: test_update_vaddr) */
		{ UNMAP_MINSZ, VFIO_DMA_UNMAP_FLAG_VADDR, 0x10000, 0x1000, 0 },
		{ UNMAP_MINSZ, VFIO_DMA_UNMAP_FLAG_ALL, 0x1000, 0, -EINVAL },
		{ UNMAP_MINSZ, VFIO_DMA_UNMAP_FLAG_ALL, 0, 0x1000, -EINVAL },
		{ UNMAP_MINSZ, VFIO_DMA_UNMAP_FLAG_ALL, 0x800, 0, -EINVAL },
		{ UNMAP_MINSZ, 0, 0x10000, 0, -EINVAL },
		{ UNMAP_MINSZ, 0, 0x10800, 0x1000, -EINVAL },
		{ UNMAP_MINSZ, 0, 0x10000, 0x1800, -EINVAL },
		{ UNMAP_MINSZ, 0, 0xfffffffffffff000ull, 0x2000, -EOVERFLOW },
		{ UNMAP_MINSZ, 0, 0x2000, UINT64_MAX & ~0xfffull, -EOVERFLOW },
		{ UNMAP_MINSZ, 0, 0x1000, UINT64_MAX & ~0xfffull, 0 },
		/* an unaligned iova is EINVAL before the wrap check */
		{ UNMAP_MINSZ, 0, 0xfffffffffffff800ull, 0x2000, -EINVAL },
		/* ends exactly at 2^64: no wrap, nothing there */
		{ UNMAP_MINSZ, 0, 0xfffffffffffff000ull, 0x1000, 0 },
		{ UNMAP_MINSZ, 0, 0, 0xfffffffffffff000ull, 0 },
		{ 4096, 0, 0x10000, 0x1000, 0 },
	};
	void *d = open_iommu(type, NULL);

	for (size_t i = 0; i < VFC_ARRAY_SIZE(table); i++) {
		uint64_t size;
		int r;

		/* a mapping just outside every request above */
		assert_int_equal(map(d, 0x200000, 0x1000), 0);
		r = unmap_full(d, table[i].argsz, table[i].flags, table[i].iova, table[i].size,
			       &size);
		if (r != table[i].expect)
			fail_msg("type %lu row %zu: %d, expected %d", type, i, r, table[i].expect);
		if (!r) {
			if (table[i].size == 0xfffffffffffff000ull) {
				assert_int_equal(size, 0x1000);
				continue;
			}
			assert_int_equal(size, 0);	/* nothing there: success, 0 */
		}
		assert_int_equal(count(d), 1);
		assert_int_equal(unmap(d, 0x200000, 0x1000, NULL), 0);
	}
	close_iommu(d);
}

static void test_unmap_checks_v1(void **state)
{
	run_unmap_checks(VFIO_TYPE1_IOMMU);
}

static void test_unmap_checks_v2(void **state)
{
	run_unmap_checks(VFIO_TYPE1v2_IOMMU);
}

static void test_unmap_all(void **state)
{
	for (unsigned long type = VFIO_TYPE1_IOMMU; type <= VFIO_TYPE1v2_IOMMU; type += 2) {
		void *d = open_iommu(type, NULL);
		uint64_t size;

		assert_int_equal(unmap_full(d, UNMAP_MINSZ, VFIO_DMA_UNMAP_FLAG_ALL, 0, 0, &size), 0);
		assert_int_equal(size, 0);
		assert_int_equal(map(d, 0x10000, 0x3000), 0);
		assert_int_equal(map(d, 0x20000, 0x1000), 0);
		assert_int_equal(map(d, 0xfffffffff000ull, 0x1000), 0);
		assert_int_equal(unmap_full(d, UNMAP_MINSZ, VFIO_DMA_UNMAP_FLAG_ALL, 0, 0, &size), 0);
		assert_int_equal(size, 0x5000);
		assert_int_equal(count(d), 0);
		close_iommu(d);
	}
}

static void test_unmap_v1_bisect(void **state)
{
	void *d = open_iommu(VFIO_TYPE1_IOMMU, NULL);
	uint64_t size;

	assert_int_equal(map(d, 0x10000, 0x4000), 0);
	assert_int_equal(map(d, 0x14000, 0x4000), 0);
	/* starting inside a mapping: success, nothing unmapped */
	assert_int_equal(unmap(d, 0x11000, 0x1000, &size), 0);
	assert_int_equal(size, 0);
	assert_int_equal(unmap(d, 0x11000, 0x8000, &size), 0);	/* not even the next one */
	assert_int_equal(size, 0);
	assert_int_equal(count(d), 2);
	/* covering the first IOVA takes the whole mapping */
	assert_int_equal(unmap(d, 0x10000, 0x1000, &size), 0);
	assert_int_equal(size, 0x4000);
	assert_int_equal(count(d), 1);
	/* from a gap into the middle of the next one */
	assert_int_equal(unmap(d, 0xf000, 0x6000, &size), 0);
	assert_int_equal(size, 0x4000);
	assert_int_equal(count(d), 0);
	/* several, the last one bisected */
	assert_int_equal(map(d, 0x10000, 0x2000), 0);
	assert_int_equal(map(d, 0x13000, 0x2000), 0);
	assert_int_equal(map(d, 0x16000, 0x2000), 0);
	assert_int_equal(unmap(d, 0x10000, 0x7000, &size), 0);
	assert_int_equal(size, 0x6000);
	assert_int_equal(count(d), 0);
	close_iommu(d);
}

static void test_unmap_v2_exact(void **state)
{
	void *d = open_iommu(VFIO_TYPE1v2_IOMMU, NULL);
	uint64_t size;

	assert_int_equal(map(d, 0x10000, 0x4000), 0);
	assert_int_equal(map(d, 0x14000, 0x4000), 0);
	assert_int_equal(map(d, 0x20000, 0x1000), 0);
	/* cutting a mapping at either end fails, and the size is left alone */
	assert_int_equal(unmap(d, 0x11000, 0x1000, &size), -EINVAL);
	assert_int_equal(unmap(d, 0x10000, 0x1000, &size), -EINVAL);
	assert_int_equal(unmap(d, 0x10000, 0x5000, &size), -EINVAL);
	assert_int_equal(unmap(d, 0xf000, 0x2000, &size), -EINVAL);
	assert_int_equal(unmap(d, 0x13000, 0x2000, &size), -EINVAL);
	assert_int_equal(count(d), 3);
	/* exact and multiple */
	assert_int_equal(unmap(d, 0x14000, 0x4000, &size), 0);
	assert_int_equal(size, 0x4000);
	assert_int_equal(map(d, 0x14000, 0x4000), 0);
	assert_int_equal(unmap(d, 0x10000, 0x8000, &size), 0);
	assert_int_equal(size, 0x8000);
	/* a range with gaps around whole mappings */
	assert_int_equal(map(d, 0x30000, 0x1000), 0);
	assert_int_equal(unmap(d, 0x0, 0x100000, &size), 0);
	assert_int_equal(size, 0x2000);
	/* nothing: success, 0 */
	assert_int_equal(unmap(d, 0x10000, 0x10000, &size), 0);
	assert_int_equal(size, 0);
	assert_int_equal(count(d), 0);
	close_iommu(d);
}

static void test_unmap_retry(void **state)
{
	void *d = open_iommu(VFIO_TYPE1v2_IOMMU, NULL);
	struct vfio_iommu_type1_dma_unmap u = {
		.argsz = sizeof(u), .iova = 0x10000, .size = 0x1000,
	};
	struct emu_call call;

	assert_int_equal(map(d, 0x10000, 0x1000), 0);
	/* Without room for the answer nothing changes. */
	assert_int_equal(emu_ioctl(d, getpid(), VFIO_IOMMU_UNMAP_DMA, &u, 16, &call), -EFAULT);
	assert_int_equal(call.first_need_in, UNMAP_MINSZ);
	assert_int_equal(call.first_need_out, UNMAP_MINSZ);
	assert_int_equal(count(d), 1);
	assert_int_equal(emu_ioctl(d, getpid(), VFIO_IOMMU_UNMAP_DMA, &u, sizeof(u), &call), 0);
	assert_int_equal(call.rounds, 2);
	assert_int_equal(u.size, 0x1000);
	close_iommu(d);
}

static int dirty(void *d, uint32_t argsz, uint32_t flags, uint64_t iova, uint64_t size)
{
	struct {
		struct vfio_iommu_type1_dirty_bitmap hdr;
		struct vfio_iommu_type1_dirty_bitmap_get range;
	} arg = {
		.hdr = { .argsz = argsz, .flags = flags },
		.range = { .iova = iova, .size = size,
			   .bitmap = { .pgsize = 4096, .size = 8, .data = NULL } },
	};
	struct emu_call call;
	int r = emu_ioctl(d, getpid(), VFIO_IOMMU_DIRTY_PAGES, &arg, sizeof(arg), &call);

	assert_false(call.protocol_error);
	assert_int_equal(call.out_len, 0);
	return r;
}


static int map_vaddr(void *d, uint64_t vaddr, uint64_t iova, uint64_t size)
{
	return map_full(d, MAP_MINSZ, VFIO_DMA_MAP_FLAG_VADDR, vaddr, iova, size);
}

/*
 * VFIO_UPDATE_VADDR: UNMAP_DMA with VADDR invalidates what an unmap would
 * take (v1 and v2 rules, ALL included) and reports its size; MAP_DMA with
 * VADDR gives back exactly one invalidated mapping: ENOENT for nothing,
 * EINVAL for a valid one or another range, no permission flag allowed.
 */
static void run_update_vaddr(unsigned long type)
{
	const uint32_t V = VFIO_DMA_UNMAP_FLAG_VADDR;
	void *d = open_iommu(type, NULL);
	uint64_t size;

	assert_int_equal(map(d, 0x100000, 0x2000), 0);
	assert_int_equal(map(d, 0x200000, 0x1000), 0);
	assert_int_equal(map_vaddr(d, VA, 0x300000, 0x1000), -ENOENT);
	assert_int_equal(map_vaddr(d, VA, 0x100000, 0x2000), -EINVAL);	/* still valid */
	assert_int_equal(unmap_full(d, UNMAP_MINSZ, V, 0x100000, 0x2000, &size), 0);
	assert_int_equal(size, 0x2000);
	assert_int_equal(count(d), 2);
	assert_int_equal(unmap_full(d, UNMAP_MINSZ, V, 0x100000, 0x2000, &size), -EINVAL);
	/* one invalid in the range: EINVAL, and the valid one stays valid */
	assert_int_equal(unmap_full(d, UNMAP_MINSZ, V, 0, 0x400000, &size), -EINVAL);
	assert_int_equal(map_vaddr(d, VA, 0x200000, 0x1000), -EINVAL);
	if (type == VFIO_TYPE1v2_IOMMU)
		assert_int_equal(unmap_full(d, UNMAP_MINSZ, V, 0x101000, 0x1000, &size), -EINVAL);
	/* the range must be the mapping's */
	assert_int_equal(map_vaddr(d, VA, 0x100000, 0x1000), -EINVAL);
	assert_int_equal(map_vaddr(d, VA, 0x101000, 0x1000), -EINVAL);
	assert_int_equal(map_vaddr(d, VA, 0x0ff000, 0x3000), -EINVAL);
	assert_int_equal(map_full(d, MAP_MINSZ, V | VFIO_DMA_MAP_FLAG_READ, VA, 0x100000, 0x2000),
			 -EINVAL);
	assert_int_equal(map_vaddr(d, VA + 0x800, 0x100000, 0x2000), -EINVAL);
	assert_int_equal(map_vaddr(d, VA, 0x100000, 0), -EINVAL);
	assert_int_equal(map_vaddr(d, UINT64_MAX - 0xfff, 0x100000, 0x2000), -EOVERFLOW);
	/* nothing is pinned again: the new vaddr's memory is not checked */
	assert_int_equal(map_vaddr(d, 0x1000, 0x100000, 0x2000), 0);
	assert_int_equal(map_vaddr(d, VA, 0x100000, 0x2000), -EINVAL);
	/* a new map over an invalid one is EEXIST, as over any */
	assert_int_equal(unmap_full(d, UNMAP_MINSZ, V, 0x100000, 0x2000, &size), 0);
	assert_int_equal(map(d, 0x100000, 0x1000), -EEXIST);
	assert_int_equal(map_vaddr(d, VA, 0x100000, 0x2000), 0);
	/* ALL|VADDR invalidates everything; a plain unmap takes invalid ones */
	assert_int_equal(unmap_full(d, UNMAP_MINSZ, V | VFIO_DMA_UNMAP_FLAG_ALL, 0, 0, &size), 0);
	assert_int_equal(size, 0x3000);
	assert_int_equal(unmap_full(d, UNMAP_MINSZ, V | VFIO_DMA_UNMAP_FLAG_ALL, 0, 0, &size),
			 -EINVAL);
	assert_int_equal(unmap_full(d, UNMAP_MINSZ, V | VFIO_DMA_UNMAP_FLAG_ALL, 0, 0x1000, &size),
			 -EINVAL);
	assert_int_equal(unmap_full(d, UNMAP_MINSZ, V, 0x100000, 0, &size), -EINVAL);
	assert_int_equal(unmap_full(d, UNMAP_MINSZ, V, 0xfffffffffffff000ull, 0x2000, &size),
			 -EOVERFLOW);
	assert_int_equal(unmap_full(d, UNMAP_MINSZ, V | VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP,
				    0x100000, 0x2000, &size), -EINVAL);
	assert_int_equal(unmap(d, 0x200000, 0x1000, &size), 0);
	assert_int_equal(size, 0x1000);
	assert_int_equal(count(d), 1);
	if (type == VFIO_TYPE1_IOMMU) {
		/* v1: a range starting inside the mapping takes nothing */
		assert_int_equal(unmap_full(d, UNMAP_MINSZ, V | VFIO_DMA_UNMAP_FLAG_ALL, 0, 0,
					    &size), -EINVAL);
		assert_int_equal(map_vaddr(d, VA, 0x100000, 0x2000), 0);
		assert_int_equal(unmap_full(d, UNMAP_MINSZ, V, 0x101000, 0x1000, &size), 0);
		assert_int_equal(size, 0);
	}
	close_iommu(d);	/* with an invalid mapping: valgrind checks */
}

static void test_update_vaddr_v1(void **state)
{
	run_update_vaddr(VFIO_TYPE1_IOMMU);
}

static void test_update_vaddr_v2(void **state)
{
	run_update_vaddr(VFIO_TYPE1v2_IOMMU);
}

static void test_dirty_pages(void **state)
{
	void *d1 = open_iommu(VFIO_TYPE1_IOMMU, NULL);
	void *d = open_iommu(VFIO_TYPE1v2_IOMMU, NULL);
	const uint32_t full = 8 + sizeof(struct vfio_iommu_type1_dirty_bitmap_get);

	assert_int_equal(dirty(d1, 8, VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP, 0, 0), -EACCES);
	assert_int_equal(dirty(d1, 0, 1u << 9, 0, 0), -EACCES);	/* before any check */
	assert_int_equal(dirty(d, 7, VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP, 0, 0), -EINVAL);
	assert_int_equal(dirty(d, 8, 1u << 3, 0, 0), -EINVAL);
	assert_int_equal(dirty(d, 8, 0, 0, 0), -EINVAL);
	assert_int_equal(dirty(d, 8, VFIO_IOMMU_DIRTY_PAGES_FLAG_START |
				     VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP, 0, 0), -EINVAL);
	assert_int_equal(dirty(d, 8, VFIO_IOMMU_DIRTY_PAGES_FLAG_START, 0, 0), 0);	/* test-emu-iommu-dirty */
	assert_int_equal(dirty(d, 8, VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP, 0, 0), 0);
	assert_int_equal(dirty(d, 8, VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP, 0, 0x1000), -EINVAL);
	assert_int_equal(dirty(d, full - 1, VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP, 0, 0x1000),
			 -EINVAL);
	assert_int_equal(dirty(d, full, VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP, 0, 0), -EINVAL);
	assert_int_equal(dirty(d, full, VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP,
			       0xfffffffffffff000ull, 0x2000), -EOVERFLOW);
	assert_int_equal(dirty(d, full, VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP, 0, 0x1000),
			 -EINVAL);
	close_iommu(d1);
	close_iommu(d);
}

static void test_detach_last_group(void **state)
{
	void *d = open_iommu(VFIO_TYPE1v2_IOMMU, NULL);

	assert_int_equal(vfc_emu_iommu_ops.attach_group(d, NULL), 0);	/* two groups */
	assert_int_equal(map(d, 0x10000, 0x1000), 0);
	assert_int_equal(map(d, 0x20000, 0x1000), 0);
	vfc_emu_iommu_ops.detach_group(d, NULL);
	assert_int_equal(count(d), 2);
	vfc_emu_iommu_ops.detach_group(d, NULL);
	assert_int_equal(count(d), 0);
	/* release with live mappings frees them (valgrind checks) */
	assert_int_equal(vfc_emu_iommu_ops.attach_group(d, NULL), 0);
	for (uint64_t i = 0; i < 100; i++)
		assert_int_equal(map(d, 0x100000 + i * 0x2000, 0x1000), 0);
	close_iommu(d);
}

static void test_no_pid(void **state)
{
	void *d = open_iommu(VFIO_TYPE1v2_IOMMU, NULL);
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m), .flags = RW, .vaddr = VA, .iova = 0x10000, .size = 0x1000,
	};

	/* A caller we cannot name cannot have its memory reached. */
	assert_int_equal(emu_ioctl(d, 0, VFIO_IOMMU_MAP_DMA, &m, sizeof(m), NULL), -EFAULT);
	assert_int_equal(count(d), 0);
	close_iommu(d);
}

static void test_max_owners(void **state)
{
	struct vfc_emu_iommu_config cfg;
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m), .flags = RW, .vaddr = VA, .iova = 0x10000, .size = 0x1000,
	};
	pid_t self = getpid(), parent = fork();	/* another process, with our memory */
	void *d;

	if (!parent) {
		pause();
		_exit(0);
	}
	assert_true(parent > 0);
	vfc_emu_iommu_config_init(&cfg);
	cfg.max_owners = 1;
	d = open_iommu(VFIO_TYPE1v2_IOMMU, &cfg);
	assert_int_equal(emu_ioctl(d, self, VFIO_IOMMU_MAP_DMA, &m, sizeof(m), NULL), 0);
	m.iova = 0x20000;
	assert_int_equal(emu_ioctl(d, self, VFIO_IOMMU_MAP_DMA, &m, sizeof(m), NULL), 0);
	m.iova = 0x30000;
	assert_int_equal(emu_ioctl(d, parent, VFIO_IOMMU_MAP_DMA, &m, sizeof(m), NULL), -ENOSPC);
	assert_int_equal(unmap(d, 0, 0x100000, NULL), 0);
	/* once its mappings are gone, its owner idles and makes room */
	assert_int_equal(emu_ioctl(d, parent, VFIO_IOMMU_MAP_DMA, &m, sizeof(m), NULL), 0);
	close_iommu(d);
	kill(parent, SIGKILL);
	waitpid(parent, NULL, 0);
}

/* The driver behind the core, driven like a client through vfc-local. */
static void test_through_core(void **state)
{
	struct vfc_core *core;
	struct vfc_local *l;
	struct vfc_group *g;
	int c, gfd;
	uint8_t buf[256] = { 0 };
	struct vfio_iommu_type1_info *info = (void *)buf;
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m), .flags = RW, .vaddr = VA, .iova = 0x10000, .size = 0x1000,
	};
	struct vfio_iommu_type1_dma_unmap u = {
		.argsz = sizeof(u), .iova = 0x10000, .size = 0x1000,
	};

	assert_int_equal(vfc_core_new(&core), 0);
	assert_int_equal(vfc_core_add_iommu_driver(core, &vfc_emu_iommu_ops, NULL), 0);
	assert_int_equal(vfc_core_add_group(core, 5, NULL, &g), 0);
	assert_int_equal(vfc_local_new(core, &l), 0);
	c = vfc_local_open_container(l);
	assert_true(c >= 0);
	gfd = vfc_local_open_group(l, 5);
	assert_true(gfd >= 0);

	assert_int_equal(vfc_local_ioctl(l, c, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU), 1);
	assert_int_equal(vfc_local_ioctl(l, c, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU), 1);
	assert_int_equal(vfc_local_ioctl(l, c, VFIO_CHECK_EXTENSION, VFIO_TYPE1_NESTING_IOMMU), 0);
	assert_int_equal(vfc_local_ioctl(l, c, VFIO_CHECK_EXTENSION, VFIO_UPDATE_VADDR), 0);
	assert_int_equal(vfc_local_ioctl(l, c, VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU), 0);
	assert_int_equal(vfc_local_ioctl(l, gfd, VFIO_GROUP_SET_CONTAINER,
					 (unsigned long)(uintptr_t)&c), 0);
	/* UNMAP_ALL passes check_extension and then fails open */
	assert_int_equal(vfc_local_ioctl(l, c, VFIO_SET_IOMMU, VFIO_UNMAP_ALL), -EINVAL);
	assert_int_equal(vfc_local_ioctl(l, c, VFIO_SET_IOMMU, VFIO_TYPE1_NESTING_IOMMU), -ENODEV);
	assert_int_equal(vfc_local_ioctl(l, c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), 0);
	assert_int_equal(vfc_local_ioctl(l, c, VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU), 1);
	assert_int_equal(vfc_local_ioctl(l, c, VFIO_CHECK_EXTENSION, VFIO_UPDATE_VADDR), 1);

	assert_int_equal(vfc_local_ioctl(l, c, VFIO_IOMMU_MAP_DMA, (unsigned long)(uintptr_t)&m), 0);
	assert_int_equal(vfc_local_ioctl(l, c, VFIO_IOMMU_MAP_DMA, (unsigned long)(uintptr_t)&m),
			 -EEXIST);
	info->argsz = 16;
	assert_int_equal(vfc_local_ioctl(l, c, VFIO_IOMMU_GET_INFO,
					 (unsigned long)(uintptr_t)info), 0);
	assert_int_equal(info->argsz, INFO_FULL);
	assert_int_equal(vfc_local_ioctl(l, c, VFIO_IOMMU_GET_INFO,
					 (unsigned long)(uintptr_t)info), 0);
	check_chain(buf, 65534);
	assert_int_equal(vfc_local_ioctl(l, c, VFIO_IOMMU_UNMAP_DMA,
					 (unsigned long)(uintptr_t)&u), 0);
	assert_int_equal(u.size, 0x1000);
	assert_int_equal(vfc_local_ioctl(l, c, VFIO_IOMMU_DIRTY_PAGES, 0), -EFAULT);
	assert_int_equal(vfc_local_ioctl(l, c, VFIO_IOMMU_ENABLE, 0), -ENOTTY);

	assert_int_equal(vfc_local_close(l, gfd), 0);
	assert_int_equal(vfc_local_close(l, c), 0);
	vfc_local_free(l);
	vfc_core_free(core);
}

int main(void)
{
	void *va = mmap(NULL, VA_SIZE + 0x2000, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (va == MAP_FAILED || mprotect((uint8_t *)va + VA_SIZE, 0x1000, PROT_READ) ||
	    mprotect((uint8_t *)va + VA_SIZE + 0x1000, 0x1000, PROT_NONE))
		return 1;
	VA = (uint64_t)(uintptr_t)va;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_extension),
		cmocka_unit_test(test_open_types),
		cmocka_unit_test(test_unknown_ioctl),
		cmocka_unit_test(test_get_info),
		cmocka_unit_test(test_get_info_config),
		cmocka_unit_test(test_map_table_v1),
		cmocka_unit_test(test_map_table_v2),
		cmocka_unit_test(test_map_retry),
		cmocka_unit_test(test_map_memory),
		cmocka_unit_test(test_map_memory_big),
		cmocka_unit_test(test_map_overlap),
		cmocka_unit_test(test_map_enospc),
		cmocka_unit_test(test_unmap_checks_v1),
		cmocka_unit_test(test_unmap_checks_v2),
		cmocka_unit_test(test_unmap_all),
		cmocka_unit_test(test_unmap_v1_bisect),
		cmocka_unit_test(test_unmap_v2_exact),
		cmocka_unit_test(test_unmap_retry),
		cmocka_unit_test(test_update_vaddr_v1),
		cmocka_unit_test(test_update_vaddr_v2),
		cmocka_unit_test(test_dirty_pages),
		cmocka_unit_test(test_detach_last_group),
		cmocka_unit_test(test_no_pid),
		cmocka_unit_test(test_max_owners),
		cmocka_unit_test(test_through_core),
	};

	vfc_log_set_max_level(getenv("VFC_TEST_VERBOSE") ? LOG_DEBUG : LOG_WARNING);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
