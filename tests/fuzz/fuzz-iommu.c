// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness: the emulated type1 IOMMU (backends/emu/iommu/) through
 * its ops table, as the core drives it: MAP_DMA (with VADDR), UNMAP_DMA
 * (ALL, VADDR, GET_DIRTY_BITMAP), GET_INFO, DIRTY_PAGES (START, STOP,
 * GET_BITMAP), device DMA (dma_rw) and reaping, on one container per
 * input, checking the mapping tree's invariants (vfc_emu_tree_check())
 * after every step; a broken invariant aborts, which libFuzzer reports.
 *
 * The fields are taken from the input, but every vaddr points into a
 * guarded 1 MiB buffer of this process, and every bitmap pointer into a
 * guarded scratch buffer, so DMA and bitmap writes (process_vm_writev on
 * ourselves) can only land there.
 */
#include <errno.h>
#include <pthread.h>
#include <unistd.h>
#include <linux/vfio.h>

#include "emu-iommu-priv.h"
#include "emu-iommu-testutil.h"
#include "fuzz-util.h"
#include "vfc-log.h"

#define DMA_SIZE (1u << 20)
#define SCRATCH_SIZE (64u * 1024u)
#define ARG_SIZE 4096u

static uint8_t *dma, *scratch;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	vfc_log_set_max_level(getenv("FUZZ_VERBOSE") ? 7 : 2);
	dma = fz_guarded(DMA_SIZE);
	scratch = fz_guarded(SCRATCH_SIZE);
	return 0;
}

static void check(struct vfc_emu_iommu *iommu)
{
	int r;

	pthread_mutex_lock(&iommu->lock);
	r = vfc_emu_tree_check(&iommu->tree);
	pthread_mutex_unlock(&iommu->lock);
	if (r) {
		fprintf(stderr, "fuzz-iommu: mapping tree invariant broken: %d\n", r);
		abort();
	}
}

/* An IOVA or size: a few pages near interesting places, or any value. */
static uint64_t addr(struct fz_in *in)
{
	static const uint64_t bases[] = {
		0, 0x100000, 0xfee00000, 0xfef00000, 1ull << 47, (1ull << 48) - 0x10000,
		UINT64_MAX - 0xffff,
	};
	uint8_t b = fz_u8(in);

	if (b >= 0xf0)
		return fz_u64(in);
	return bases[b % 7] + (uint64_t)fz_u8(in) * 4096 + (b & 0x80 ? fz_u16(in) : 0);
}

static uint64_t size(struct fz_in *in)
{
	uint8_t b = fz_u8(in);

	if (b >= 0xf0)
		return fz_u64(in);
	return (uint64_t)(b % 32 + (b & 0x20 ? 0 : 1)) * 4096 + (b & 0x40 ? fz_u8(in) : 0) +
	       (b & 0x80 ? 0x200000 : 0);
}

static uint64_t scratch_ptr(struct fz_in *in)
{
	return (uintptr_t)scratch + fz_u16(in) % SCRATCH_SIZE;
}

static void bitmap(struct vfio_bitmap *bm, struct fz_in *in)
{
	uint8_t b = fz_u8(in);

	bm->pgsize = b & 1 ? fz_u64(in) : 4096ull << (b >> 1) % 3 * 9;
	bm->size = b & 0x10 ? fz_u64(in) : fz_u16(in);
	bm->data = (__u64 *)(uintptr_t)((b & 0xe0) == 0xe0 ? fz_u64(in) % 4096 : scratch_ptr(in));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	struct fz_in in = { data, n };
	struct vfc_emu_iommu_config cfg;
	uint8_t arg[ARG_SIZE] __attribute__((aligned(8)));
	struct vfc_emu_iommu *iommu;
	uint8_t first = fz_u8(&in);
	pid_t pid = getpid();
	void *d;

	vfc_emu_iommu_config_init(&cfg);
	cfg.vaddr_wait_ms = 0;
	cfg.dma_entry_limit = first & 2 ? 64 : 65535;
	if (first & 4)
		cfg.pgsize_bitmap = 0x10000ull << (first >> 6);	/* 64K...512K pages */
	if (first & 8) {
		cfg.nr_iova_ranges = 2;
		cfg.iova_ranges[0] = (struct vfio_iova_range){ 0, 0xfffff };
		cfg.iova_ranges[1] = (struct vfio_iova_range){ 0x200000, 0xfffffffffffull };
	}
	if (vfc_emu_iommu_ops.open(&cfg, first & 1 ? VFIO_TYPE1v2_IOMMU : VFIO_TYPE1_IOMMU,
				   &d) < 0)
		return 0;
	iommu = d;
	for (unsigned int steps = 0; in.n && steps < 512; steps++) {
		uint8_t op = fz_u8(&in);

		memset(arg, 0, 64);
		switch (op % 9) {
		case 0:
		case 1: {	/* MAP_DMA */
			struct vfio_iommu_type1_dma_map *m = (void *)arg;
			uint8_t f = fz_u8(&in);

			m->argsz = f & 0x80 ? fz_u8(&in) : sizeof(*m);
			m->flags = f & 0x40 ? f & 7 : VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
			m->vaddr = (uintptr_t)dma + (f & 0x20 ? fz_u32(&in) % DMA_SIZE
							      : fz_u8(&in) % 256 * 4096ull);
			m->iova = addr(&in);
			m->size = size(&in);
			emu_ioctl(d, pid, VFIO_IOMMU_MAP_DMA, arg, sizeof(arg), NULL);
			break;
		}
		case 2:
		case 3: {	/* UNMAP_DMA */
			struct vfio_iommu_type1_dma_unmap *u = (void *)arg;
			uint8_t f = fz_u8(&in);

			u->flags = f & 0x80 ? fz_u32(&in) : f & 7;
			u->iova = f & 0x40 ? 0 : addr(&in);
			u->size = f & 0x20 ? 0 : size(&in);
			u->argsz = sizeof(*u);
			if (u->flags & VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP) {
				bitmap((struct vfio_bitmap *)u->data, &in);
				u->argsz += sizeof(struct vfio_bitmap);
			}
			if (f & 0x10)
				u->argsz = fz_u8(&in);
			emu_ioctl(d, pid, VFIO_IOMMU_UNMAP_DMA, arg, sizeof(arg), NULL);
			break;
		}
		case 4: {	/* GET_INFO, with any argsz */
			struct vfio_iommu_type1_info *i = (void *)arg;

			i->argsz = fz_u8(&in) < 0x20 ? fz_u16(&in) % ARG_SIZE : fz_u8(&in);
			emu_ioctl(d, pid, VFIO_IOMMU_GET_INFO, arg, sizeof(arg), NULL);
			break;
		}
		case 5: {	/* DIRTY_PAGES */
			struct vfio_iommu_type1_dirty_bitmap *b = (void *)arg;
			struct vfio_iommu_type1_dirty_bitmap_get *gb = (void *)b->data;
			static const uint32_t flags[] = {
				VFIO_IOMMU_DIRTY_PAGES_FLAG_START, VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP,
				VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP,
				VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP,
			};
			uint8_t f = fz_u8(&in);

			b->flags = f & 0x80 ? fz_u32(&in) : flags[f % 4];
			b->argsz = sizeof(*b);
			if (b->flags & VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP) {
				gb->iova = addr(&in);
				gb->size = size(&in);
				bitmap(&gb->bitmap, &in);
				b->argsz += sizeof(*gb);
			}
			if (f & 0x40)
				b->argsz = fz_u8(&in);
			emu_ioctl(d, pid, VFIO_IOMMU_DIRTY_PAGES, arg, sizeof(arg), NULL);
			break;
		}
		case 6:
		case 7: {	/* a device's DMA */
			static uint8_t buf[8192];
			uint64_t iova = addr(&in);
			size_t len = fz_u16(&in) % sizeof(buf);

			vfc_emu_iommu_ops.dma_rw(d, iova, buf, len, op & 0x80);
			break;
		}
		case 8:
			if (op & 0x80)
				vfc_emu_iommu_reap(d);
			else	/* a raw ioctl: any command, any bytes */
				emu_ioctl(d, pid, fz_u8(&in) < 0x80 ? _IO(VFIO_TYPE, VFIO_BASE + fz_u8(&in) % 26)
								    : fz_u32(&in),
					  arg, (fz_bytes(&in, arg, 64), sizeof(arg)), NULL);
			break;
		}
		check(iommu);
	}
	vfc_emu_iommu_ops.release(d);
	return 0;
}
