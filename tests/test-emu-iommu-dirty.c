// SPDX-License-Identifier: MIT
/*
 * Dirty page tracking in the software IOMMU: the MIGRATION capability is
 * in test-emu-iommu.c; here DIRTY_PAGES START, STOP and GET_BITMAP and
 * UNMAP_DMA with GET_DIRTY_BITMAP against the kernel's argument checks,
 * exact bits (only pages a device wrote), the kernel's bitmap layout for
 * mappings that do not start on a word of the bitmap, faults in the
 * caller's bitmap, and the fallback when bitmap memory runs out.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "emu-iommu-priv.h"
#include "emu-iommu-testutil.h"

#define RW (VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)
#define PAGE 4096ull
#define START VFIO_IOMMU_DIRTY_PAGES_FLAG_START
#define STOP VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP
#define GET VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP

static uint8_t *mem;	/* 64 pages the mappings name */

static void *open_iommu(unsigned long type)
{
	void *d = NULL;

	assert_int_equal(vfc_emu_iommu_ops.open(NULL, type, &d), 0);
	assert_int_equal(vfc_emu_iommu_ops.attach_group(d, NULL), 0);
	return d;
}

static int map(void *d, uint64_t iova, uint64_t npages)
{
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m), .flags = RW, .vaddr = (uint64_t)(uintptr_t)mem,
		.iova = iova, .size = npages * PAGE,
	};

	return emu_ioctl(d, getpid(), VFIO_IOMMU_MAP_DMA, &m, sizeof(m), NULL);
}

static int ctl(void *d, uint32_t argsz, uint32_t flags)
{
	struct vfio_iommu_type1_dirty_bitmap a = { .argsz = argsz, .flags = flags };
	struct emu_call call;
	int r = emu_ioctl(d, getpid(), VFIO_IOMMU_DIRTY_PAGES, &a, sizeof(a), &call);

	assert_false(call.protocol_error);
	return r;
}

static int get_full(void *d, uint32_t argsz, uint64_t iova, uint64_t size, uint64_t pgsize,
		    void *data, uint64_t bsize)
{
	struct {
		struct vfio_iommu_type1_dirty_bitmap hdr;
		struct vfio_iommu_type1_dirty_bitmap_get range;
	} a = {
		.hdr = { .argsz = argsz, .flags = GET },
		.range = { .iova = iova, .size = size,
			   .bitmap = { .pgsize = pgsize, .size = bsize,
				       .data = (__u64 *)data } },
	};
	struct emu_call call;
	int r = emu_ioctl(d, getpid(), VFIO_IOMMU_DIRTY_PAGES, &a, sizeof(a), &call);

	assert_false(call.protocol_error);
	assert_int_equal(call.out_len, 0);	/* nothing back in the struct */
	assert_true(call.rounds <= 3);
	return r;
}

static int get(void *d, uint64_t iova, uint64_t size, uint64_t *bits, uint64_t bsize)
{
	return get_full(d, 8 + sizeof(struct vfio_iommu_type1_dirty_bitmap_get), iova, size, PAGE,
			bits, bsize);
}

static int unmap_get(void *d, uint32_t argsz, uint32_t flags, uint64_t iova, uint64_t size,
		     uint64_t pgsize, void *data, uint64_t bsize, uint64_t *ret_size)
{
	struct {
		struct vfio_iommu_type1_dma_unmap u;
		struct vfio_bitmap b;
	} a = {
		.u = { .argsz = argsz, .flags = flags, .iova = iova, .size = size },
		.b = { .pgsize = pgsize, .size = bsize, .data = (__u64 *)data },
	};
	struct emu_call call;
	int r = emu_ioctl(d, getpid(), VFIO_IOMMU_UNMAP_DMA, &a, sizeof(a), &call);

	assert_false(call.protocol_error);
	assert_int_equal(call.out_len, r ? 0 : 24);
	if (ret_size)
		*ret_size = a.u.size;
	return r;
}

static int wr(void *d, uint64_t iova, size_t len)
{
	uint8_t buf[3 * PAGE] = { 1 };

	assert_true(len <= sizeof(buf));
	return vfc_emu_iommu_ops.dma_rw(d, iova, buf, len, true);
}

static void test_dirty_checks(void **state)
{
	const uint32_t full = 8 + sizeof(struct vfio_iommu_type1_dirty_bitmap_get);
	void *d1 = open_iommu(VFIO_TYPE1_IOMMU), *d = open_iommu(VFIO_TYPE1v2_IOMMU);
	uint64_t bits[4] = { 0 };

	/* v1: EACCES before anything is read */
	assert_int_equal(ctl(d1, 8, START), -EACCES);
	assert_int_equal(ctl(d1, 0, 1u << 9), -EACCES);
	assert_int_equal(ctl(d, 7, START), -EINVAL);
	assert_int_equal(ctl(d, 8, 1u << 3), -EINVAL);
	assert_int_equal(ctl(d, 8, 0), -EINVAL);
	assert_int_equal(ctl(d, 8, START | STOP), -EINVAL);
	assert_int_equal(ctl(d, 8, STOP), 0);	/* not tracking: fine */
	/* GET_BITMAP: argsz, range, bitmap, then the IOMMU's rules */
	assert_int_equal(map(d, 0x100000, 4), 0);
	assert_int_equal(get_full(d, 8, 0x100000, 4 * PAGE, PAGE, bits, 8), -EINVAL);
	assert_int_equal(get_full(d, full - 1, 0x100000, 4 * PAGE, PAGE, bits, 8), -EINVAL);
	assert_int_equal(get(d, 0x100000, 0, bits, 8), -EINVAL);
	assert_int_equal(get(d, 0xfffffffffffff000ull, 0x2000, bits, 8), -EOVERFLOW);
	assert_int_equal(get(d, 0x100000, 4 * PAGE, (void *)(1ull << 47), 8), -EINVAL);
	assert_int_equal(get(d, 0x100000, 4 * PAGE, (void *)((1ull << 47) - 4096 - 8), 16),
			 -EINVAL);
	assert_int_equal(get(d, 0x100000, 4 * PAGE, bits, 0), -EINVAL);
	assert_int_equal(get(d, 0x100000, 65 * PAGE, bits, 8), -EINVAL);	/* 2 words */
	assert_int_equal(get(d, 0x100000, 4 * PAGE, bits, (256ull << 20) + 8), -EINVAL);
	assert_int_equal(get_full(d, full, 0x100000, 4 * PAGE, 0, bits, 8), -EINVAL);
	assert_int_equal(get(d, 0x100000, 4 * PAGE, bits, 8), -EINVAL);	/* not tracking */
	assert_int_equal(ctl(d, 8, START), 0);
	assert_int_equal(ctl(d, 8, START), 0);
	assert_int_equal(get_full(d, full, 0x100000, 4 * PAGE, 2 * PAGE, bits, 8), -EINVAL);
	assert_int_equal(get(d, 0x100800, 4 * PAGE, bits, 8), -EINVAL);
	assert_int_equal(get(d, 0x100000, 4 * PAGE + 0x800, bits, 8), -EINVAL);
	assert_int_equal(get(d, 0x101000, 3 * PAGE, bits, 8), -EINVAL);	/* cuts a mapping */
	assert_int_equal(get(d, 0x100000, 2 * PAGE, bits, 8), -EINVAL);
	assert_int_equal(get(d, 0x100000, 4 * PAGE, (void *)0x1000, 8), -EFAULT);
	assert_int_equal(get(d, 0x200000, 4 * PAGE, (void *)0x1000, 8), 0);	/* nothing there */
	assert_int_equal(get(d, 0x100000, 4 * PAGE, bits, 8), 0);
	assert_int_equal(ctl(d, 8, STOP), 0);
	assert_int_equal(ctl(d, 8, STOP), 0);
	vfc_emu_iommu_ops.release(d1);
	vfc_emu_iommu_ops.release(d);
}

/* Only the pages a device wrote, once; reads mark nothing. */
static void test_dirty_exact(void **state)
{
	void *d = open_iommu(VFIO_TYPE1v2_IOMMU);
	uint64_t bits[4];
	uint8_t x[8];

	assert_int_equal(map(d, 0x100000, 8), 0);
	assert_int_equal(map(d, 0x108000, 8), 0);
	assert_int_equal(map(d, 0x200000, 1), 0);
	assert_int_equal(wr(d, 0x100000, 8), 0);	/* before START: not counted */
	assert_int_equal(ctl(d, 8, START), 0);
	assert_int_equal(wr(d, 0x101000, 1), 0);
	assert_int_equal(wr(d, 0x106fff, 2), 0);	/* pages 6 and 7 */
	assert_int_equal(wr(d, 0x107800, PAGE + 0x1000), 0);	/* 7, 8, 9: two mappings */
	assert_int_equal(vfc_emu_iommu_ops.dma_rw(d, 0x10c000, x, 8, false), 0);
	memset(bits, 0xff, sizeof(bits));
	assert_int_equal(get(d, 0x100000, 16 * PAGE, bits, 8), 0);
	assert_int_equal(bits[0], (1u << 1) | (1u << 6) | (1u << 7) | (1u << 8) | (1u << 9));
	assert_int_equal(bits[1], ~0ull);	/* beyond the bitmap: untouched */
	/* reported bits are cleared */
	assert_int_equal(get(d, 0x100000, 16 * PAGE, bits, 8), 0);
	assert_int_equal(bits[0], 0);
	/* a range with a gap, and a later mapping: bit 0 is the range's iova */
	assert_int_equal(wr(d, 0x200000, 1), 0);
	assert_int_equal(wr(d, 0x10f000, 1), 0);
	{
		uint64_t big[5];

		memset(big, 0xff, sizeof(big));
		/* 257 pages, 5 words; words 1-3 cover no mapping: untouched */
		assert_int_equal(get(d, 0x100000, 0x101000, big, sizeof(big)), 0);
		assert_int_equal(big[0], 1ull << 15);
		assert_int_equal(big[1], ~0ull);
		assert_int_equal(big[3], ~0ull);
		assert_int_equal(big[4], 1);	/* page 256 */
	}
	vfc_emu_iommu_ops.release(d);
}

/*
 * The kernel's layout: a mapping whose first bit is not bit 0 of a word is
 * shifted into place, the word ORed with what the caller had there; the
 * rest of its last word is zeroed.
 */
static void test_dirty_layout(void **state)
{
	void *d = open_iommu(VFIO_TYPE1v2_IOMMU);
	uint64_t bits[4];

	assert_int_equal(map(d, 0x103000, 4), 0);	/* bits 3..6 */
	assert_int_equal(map(d, 0x13c000, 8), 0);	/* bits 60..67: two words */
	assert_int_equal(ctl(d, 8, START), 0);
	assert_int_equal(wr(d, 0x104000, 1), 0);	/* bit 4 */
	assert_int_equal(wr(d, 0x13f000, 1), 0);	/* bit 63 */
	assert_int_equal(wr(d, 0x143000, 1), 0);	/* bit 67 */
	bits[0] = 0xf000000000000087ull;	/* bits 0-2, 7 and 60-63 set */
	bits[1] = ~0ull;
	bits[2] = 0x5555;
	assert_int_equal(get(d, 0x100000, 0x80 * PAGE, bits, 16), 0);
	/* word 0: the first mapping ORs into it, the second too */
	assert_int_equal(bits[0], 0xf000000000000097ull);
	/* word 1: the second mapping's bits 64-67 (bit 67 set), the rest 0 */
	assert_int_equal(bits[1], 1ull << 3);
	assert_int_equal(bits[2], 0x5555);
	vfc_emu_iommu_ops.release(d);
}

static void test_dirty_unmap(void **state)
{
	const uint32_t F = VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP, full = 24 + 24;
	void *d = open_iommu(VFIO_TYPE1v2_IOMMU);
	uint64_t bits[2] = { 0 }, size;

	assert_int_equal(map(d, 0x100000, 4), 0);
	assert_int_equal(map(d, 0x104000, 4), 0);
	/* not tracking: EINVAL, after the argument checks */
	assert_int_equal(unmap_get(d, 24, F, 0x100000, 8 * PAGE, PAGE, bits, 8, &size), -EINVAL);
	assert_int_equal(unmap_get(d, full - 1, F, 0x100000, 8 * PAGE, PAGE, bits, 8, &size),
			 -EINVAL);
	assert_int_equal(unmap_get(d, full, F | VFIO_DMA_UNMAP_FLAG_VADDR, 0x100000, 8 * PAGE,
				   PAGE, bits, 8, &size), -EINVAL);
	assert_int_equal(unmap_get(d, full, F, 0x100000, 8 * PAGE, PAGE, bits, 8, &size), -EINVAL);
	assert_int_equal(vfc_emu_iommu_count(d), 2);
	assert_int_equal(ctl(d, 8, START), 0);
	assert_int_equal(unmap_get(d, full, F, 0x100000, 8 * PAGE, 2 * PAGE, bits, 8, &size),
			 -EINVAL);
	assert_int_equal(unmap_get(d, full, F, 0x100000, 8 * PAGE, PAGE, bits, 0, &size), -EINVAL);
	assert_int_equal(unmap_get(d, full, F, 0x100000, 8 * PAGE, PAGE, (void *)(1ull << 47), 8,
				   &size), -EINVAL);
	assert_int_equal(unmap_get(d, full, F, 0x101000, 7 * PAGE, PAGE, bits, 8, &size), -EINVAL);
	/* a bitmap the caller cannot write: EFAULT, nothing unmapped */
	assert_int_equal(unmap_get(d, full, F, 0x100000, 8 * PAGE, PAGE, (void *)0x1000, 8, &size),
			 -EFAULT);
	assert_int_equal(vfc_emu_iommu_count(d), 2);
	assert_int_equal(wr(d, 0x102000, 1), 0);
	assert_int_equal(wr(d, 0x107000, 1), 0);
	assert_int_equal(unmap_get(d, full, F, 0x100000, 8 * PAGE, PAGE, bits, 8, &size), 0);
	assert_int_equal(size, 8 * PAGE);
	assert_int_equal(bits[0], (1u << 2) | (1u << 7));
	assert_int_equal(vfc_emu_iommu_count(d), 0);
	/* a mapping unmapped while tracking leaves no bits behind */
	assert_int_equal(map(d, 0x100000, 4), 0);
	assert_int_equal(get(d, 0x100000, 4 * PAGE, bits, 8), 0);
	assert_int_equal(bits[0], 0);
	/* STOP forgets, START begins clean */
	assert_int_equal(wr(d, 0x100000, 1), 0);
	assert_int_equal(ctl(d, 8, STOP), 0);
	assert_int_equal(ctl(d, 8, START), 0);
	assert_int_equal(get(d, 0x100000, 4 * PAGE, bits, 8), 0);
	assert_int_equal(bits[0], 0);
	vfc_emu_iommu_ops.release(d);	/* while tracking: valgrind checks */
}

/* Mappings of more than INT_MAX pages cannot be tracked (the kernel's
 * bitmap limit): START refuses, and so does MAP while tracking. */
static void test_dirty_huge(void **state)
{
	const uint64_t big = (1ull << 43) + PAGE;	/* INT_MAX + 2 pages */
	void *p = mmap(NULL, big, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m), .flags = RW, .vaddr = (uint64_t)(uintptr_t)p,
		.iova = 1ull << 44, .size = big,
	};
	void *d;

	if (p == MAP_FAILED)
		skip();
	d = open_iommu(VFIO_TYPE1v2_IOMMU);
	assert_int_equal(emu_ioctl(d, getpid(), VFIO_IOMMU_MAP_DMA, &m, sizeof(m), NULL), 0);
	assert_int_equal(ctl(d, 8, START), -EINVAL);
	assert_int_equal(emu_ioctl(d, getpid(), VFIO_IOMMU_UNMAP_DMA, &(struct
		vfio_iommu_type1_dma_unmap){ .argsz = 24, .iova = 1ull << 44, .size = big },
		24, NULL), 0);
	assert_int_equal(ctl(d, 8, START), 0);
	assert_int_equal(emu_ioctl(d, getpid(), VFIO_IOMMU_MAP_DMA, &m, sizeof(m), NULL), -EINVAL);
	m.size -= 2 * PAGE;	/* INT_MAX pages: the most */
	assert_int_equal(emu_ioctl(d, getpid(), VFIO_IOMMU_MAP_DMA, &m, sizeof(m), NULL), 0);
	vfc_emu_iommu_ops.release(d);
	munmap(p, big);
}

/*
 * Bitmap memory is bounded: past 16384 bitmaps (each 128 MiB of IOVA), a
 * write marks its whole mapping dirty until its next report.
 */
static void test_dirty_limit(void **state)
{
	const unsigned int n = 16384;
	const uint64_t stride = 128ull << 20;
	void *d = open_iommu(VFIO_TYPE1v2_IOMMU);
	uint64_t bits = 0;

	for (unsigned int i = 0; i <= n; i++)
		assert_int_equal(map(d, (1ull << 32) + i * stride, 2), 0);
	assert_int_equal(ctl(d, 8, START), 0);
	for (unsigned int i = 0; i < n; i++)
		assert_int_equal(wr(d, (1ull << 32) + i * stride, 1), 0);
	assert_int_equal(((struct vfc_emu_iommu *)d)->dirty.chunks, n);
	assert_int_equal(wr(d, (1ull << 32) + n * stride, 1), 0);	/* one page of two */
	assert_int_equal(get(d, (1ull << 32) + n * stride, 2 * PAGE, &bits, 8), 0);
	assert_int_equal(bits, 3);	/* both: a superset */
	assert_int_equal(get(d, (1ull << 32) + n * stride, 2 * PAGE, &bits, 8), 0);
	assert_int_equal(bits, 0);
	assert_int_equal(get(d, 1ull << 32, 2 * PAGE, &bits, 8), 0);
	assert_int_equal(bits, 1);
	assert_int_equal(ctl(d, 8, STOP), 0);
	assert_int_equal(((struct vfc_emu_iommu *)d)->dirty.chunks, 0);
	vfc_emu_iommu_ops.release(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dirty_checks),
		cmocka_unit_test(test_dirty_exact),
		cmocka_unit_test(test_dirty_layout),
		cmocka_unit_test(test_dirty_unmap),
		cmocka_unit_test(test_dirty_huge),
		cmocka_unit_test(test_dirty_limit),
	};

	mem = mmap(NULL, 64 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
