// SPDX-License-Identifier: MIT
/*
 * The software type1 IOMMU's driver ops and container ioctls: extension
 * checks, open/release, group accounting, GET_INFO, MAP_DMA, UNMAP_DMA and
 * DIRTY_PAGES, each checked in the order the kernel's
 * drivers/vfio/vfio_iommu_type1.c checks them (6.18+, where a range that
 * wraps past 2^64 gives EOVERFLOW), and VFIO_UPDATE_VADDR. DMA lives in
 * emu-iommu-dma.c, the check of a MAP_DMA caller's memory in
 * emu-iommu-mem.c, the dirty bits in emu-iommu-dirty.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "emu-iommu-priv.h"
#include "vfc-core.h"
#include "vfc-log.h"
#include "vfc-macro.h"

void vfc_emu_iommu_config_init(struct vfc_emu_iommu_config *cfg)
{
	*cfg = (struct vfc_emu_iommu_config){
		.dma_entry_limit = VFC_EMU_IOMMU_DEFAULT_DMA_ENTRY_LIMIT,
		.max_owners = VFC_EMU_IOMMU_DEFAULT_MAX_OWNERS,
		.pgsize_bitmap = VFC_EMU_IOMMU_DEFAULT_PGSIZES,
		.vaddr_wait_ms = VFC_EMU_IOMMU_DEFAULT_VADDR_WAIT_MS,
		.nr_iova_ranges = 2,
		.iova_ranges = {
			{ .start = 0, .end = 0xfedfffffull },
			{ .start = 0xfef00000ull, .end = (1ull << 48) - 1 },
		},
	};
}

static bool config_valid(const struct vfc_emu_iommu_config *cfg)
{
	if ((cfg->pgsize_bitmap & 0xfffull) || !cfg->pgsize_bitmap)
		return false;
	if (!cfg->nr_iova_ranges || cfg->nr_iova_ranges > VFC_EMU_IOMMU_MAX_RANGES)
		return false;
	for (unsigned int i = 0; i < cfg->nr_iova_ranges; i++) {
		const struct vfio_iova_range *r = &cfg->iova_ranges[i];

		if (r->end < r->start)
			return false;
		if (i && r->start <= cfg->iova_ranges[i - 1].end)
			return false;
	}
	return true;
}

/*
 * The kernel answers with its module state when no container is given and
 * with the container's otherwise. TYPE1_NESTING is gone from current
 * kernels (0). UPDATE_VADDR is 1 once a container has the IOMMU, as the
 * kernel's for containers without emulated (mdev) groups: our devices
 * stand for PCI devices behind an IOMMU. DMA_CC_IOMMU is 1 for a
 * container: process_vm_* DMA is cache coherent, as the kernel says for
 * containers whose domains all enforce coherency.
 */
static int emu_check_extension(void *driver_data, void *data, unsigned long ext)
{
	switch (ext) {
	case VFIO_TYPE1_IOMMU:
	case VFIO_TYPE1v2_IOMMU:
	case VFIO_UNMAP_ALL:
		return 1;
	case VFIO_DMA_CC_IOMMU:
	case VFIO_UPDATE_VADDR:
		return data ? 1 : 0;
	default:
		return 0;
	}
}

static int cond_init_monotonic(pthread_cond_t *cond)
{
	pthread_condattr_t attr;
	int r;

	if (pthread_condattr_init(&attr))
		return -ENOMEM;
	r = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) || pthread_cond_init(cond, &attr);
	pthread_condattr_destroy(&attr);
	return r ? -ENOMEM : 0;
}

static int emu_open(void *driver_data, unsigned long type, void **ret_data)
{
	const struct vfc_emu_iommu_config *cfg = driver_data;
	struct vfc_emu_iommu_config defaults;
	struct vfc_emu_iommu *iommu;

	if (type != VFIO_TYPE1_IOMMU && type != VFIO_TYPE1v2_IOMMU)
		return -EINVAL;
	if (!cfg) {
		vfc_emu_iommu_config_init(&defaults);
		cfg = &defaults;
	}
	if (!config_valid(cfg))
		return -EINVAL;
	iommu = calloc(1, sizeof(*iommu));
	if (!iommu)
		return -ENOMEM;
	if (pthread_mutex_init(&iommu->lock, NULL)) {
		free(iommu);
		return -ENOMEM;
	}
	if (cond_init_monotonic(&iommu->vaddr_cond)) {
		pthread_mutex_destroy(&iommu->lock);
		free(iommu);
		return -ENOMEM;
	}
	iommu->v2 = type == VFIO_TYPE1v2_IOMMU;
	iommu->cfg = *cfg;
	iommu->pgmask = (cfg->pgsize_bitmap & -cfg->pgsize_bitmap) - 1;
	vfc_emu_tree_init(&iommu->tree);
	*ret_data = iommu;
	return 0;
}

/* Drop every mapping; the pool and owner table stay for reuse. */
static void remove_all_locked(struct vfc_emu_iommu *iommu)
{
	struct vfc_emu_map *m = vfc_emu_tree_lower_bound(&iommu->tree, 0);

	while (m) {
		struct vfc_emu_map *next = vfc_emu_tree_next(m);

		vfc_emu_iommu_remove_locked(iommu, m);
		m = next;
	}
}

static void emu_release(void *data)
{
	struct vfc_emu_iommu *iommu = data;

	if (!iommu)
		return;
	vfc_emu_dirty_stop_locked(iommu);
	/* The nodes live in the pool: free them wholesale. */
	vfc_emu_tree_fini(&iommu->tree);
	iommu->last_hit = NULL;
	vfc_emu_iommu_owners_free(iommu);
	pthread_cond_destroy(&iommu->vaddr_cond);
	pthread_mutex_destroy(&iommu->lock);
	free(iommu);
}

/* Groups only count here: we have no reserved regions per group, and the
 * core never attaches a group twice. */
static int emu_attach_group(void *data, struct vfc_group *group)
{
	struct vfc_emu_iommu *iommu = data;

	pthread_mutex_lock(&iommu->lock);
	iommu->groups++;
	pthread_mutex_unlock(&iommu->lock);
	return 0;
}

/* As in the kernel, the last group leaving takes every mapping with it. */
static void emu_detach_group(void *data, struct vfc_group *group)
{
	struct vfc_emu_iommu *iommu = data;

	pthread_mutex_lock(&iommu->lock);
	if (iommu->groups && !--iommu->groups)
		remove_all_locked(iommu);
	pthread_mutex_unlock(&iommu->lock);
}

static int emu_ioctl_get_info(struct vfc_emu_iommu *iommu, struct vfc_ioctl *io)
{
	const size_t minsz = vfc_offsetofend(struct vfio_iommu_type1_info, iova_pgsizes);
	struct vfio_iommu_type1_info info = { 0 };
	struct {
		uint32_t nr_iovas;
		uint32_t reserved;
		struct vfio_iova_range ranges[VFC_EMU_IOMMU_MAX_RANGES];
	} iova_cap = { 0 };
	struct vfio_iommu_type1_info_cap_migration mig = {
		/* the kernel's: no flags, the smallest page size, and
		 * DIRTY_BITMAP_SIZE_MAX */
		.flags = 0,
		.pgsize_bitmap = iommu->pgmask + 1,
		.max_dirty_bitmap_size = VFC_EMU_DIRTY_BITMAP_SIZE_MAX,
	};
	struct vfc_caps caps = { 0 };
	uint32_t avail;
	int r;

	r = vfc_ioctl_need(io, minsz, 0);
	if (r)
		return r;
	memcpy(&info, io->in, minsz);
	if (info.argsz < minsz)
		return -EINVAL;

	pthread_mutex_lock(&iommu->lock);
	vfc_emu_iommu_reap_locked(iommu);
	avail = iommu->cfg.dma_entry_limit - (uint32_t)iommu->tree.count;
	pthread_mutex_unlock(&iommu->lock);

	info.flags = VFIO_IOMMU_INFO_PGSIZES;
	info.iova_pgsizes = iommu->cfg.pgsize_bitmap;

	/* Kernel order: MIGRATION, DMA_AVAIL, IOVA_RANGE. */
	vfc_caps_add(&caps, VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION, 1,
		     (const uint8_t *)&mig + sizeof(mig.header), sizeof(mig) - sizeof(mig.header));
	vfc_caps_add(&caps, VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, 1, &avail, sizeof(avail));
	iova_cap.nr_iovas = iommu->cfg.nr_iova_ranges;
	memcpy(iova_cap.ranges, iommu->cfg.iova_ranges,
	       iova_cap.nr_iovas * sizeof(iova_cap.ranges[0]));
	vfc_caps_add(&caps, VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, 1, &iova_cap,
		     offsetof(typeof(iova_cap), ranges) +
			     iova_cap.nr_iovas * sizeof(iova_cap.ranges[0]));

	r = vfc_reply_info_with_caps(io, &info, sizeof(info),
				     VFC_MIN((size_t)info.argsz, sizeof(info)), &info.flags,
				     VFIO_IOMMU_INFO_CAPS, &info.cap_offset, &caps);
	vfc_caps_clear(&caps);
	return r;
}

static bool in_iova_ranges(const struct vfc_emu_iommu *iommu, uint64_t start, uint64_t last)
{
	for (unsigned int i = 0; i < iommu->cfg.nr_iova_ranges; i++) {
		const struct vfio_iova_range *r = &iommu->cfg.iova_ranges[i];

		if (start >= r->start && last <= r->end)
			return true;
	}
	return false;
}

static int map_locked(struct vfc_emu_iommu *iommu, const struct vfio_iommu_type1_dma_map *map,
		      uint8_t prot, pid_t pid)
{
	uint64_t last = map->iova + map->size - 1;
	struct vfc_emu_map *m;
	uint32_t owner;
	int r;

	if ((map->size | map->iova | map->vaddr) & iommu->pgmask)
		return -EINVAL;
	m = vfc_emu_tree_lower_bound(&iommu->tree, map->iova);
	if (m && m->iova <= last)
		return -EEXIST;
	if (iommu->tree.count >= iommu->cfg.dma_entry_limit)
		return -ENOSPC;
	if (!in_iova_ranges(iommu, map->iova, last))
		return -EINVAL;

	r = vfc_emu_iommu_owner_get_locked(iommu, pid, &owner);
	if (r)
		return r;
	/* Last, as the kernel pins last: the caller's memory must be there
	 * with the permission the pin would ask for. */
	r = vfc_emu_iommu_check_memory_locked(iommu, owner, map->vaddr, map->size,
					      prot & VFC_EMU_PROT_WRITE);
	/* While tracking, the kernel allocates the mapping's bitmap last. */
	if (!r && iommu->dirty.on &&
	    (map->size - 1) / (iommu->pgmask + 1) + 1 > VFC_EMU_DIRTY_PAGES_MAX)
		r = -EINVAL;
	if (r) {
		vfc_emu_iommu_owner_put_locked(iommu, owner);
		return r;
	}
	m = vfc_emu_tree_alloc(&iommu->tree);
	if (!m) {
		vfc_emu_iommu_owner_put_locked(iommu, owner);
		return -ENOMEM;
	}
	m->iova = map->iova;
	m->last = last;
	m->vaddr = map->vaddr;
	m->owner = owner;
	m->prot = prot;
	vfc_emu_tree_insert(&iommu->tree, m);
	iommu->owners[owner].nmaps++;
	return 0;
}

/*
 * MAP_DMA with VADDR: give the mapping that UNMAP_DMA with VADDR invalidated
 * its new vaddr, and make the caller its owner (the kernel's
 * vfio_change_dma_owner()). Like the kernel, neither the IOVA ranges nor
 * the memory are checked: nothing is pinned again.
 */
static int set_vaddr_locked(struct vfc_emu_iommu *iommu,
			    const struct vfio_iommu_type1_dma_map *map, pid_t pid)
{
	uint64_t last = map->iova + map->size - 1;
	struct vfc_emu_map *m;
	uint32_t owner;
	int r;

	if ((map->size | map->iova | map->vaddr) & iommu->pgmask)
		return -EINVAL;
	m = vfc_emu_tree_lower_bound(&iommu->tree, map->iova);
	if (!m || m->iova > last)
		return -ENOENT;
	if (!(m->prot & VFC_EMU_MAP_VADDR_INVALID) || m->iova != map->iova || m->last != last)
		return -EINVAL;
	r = vfc_emu_iommu_owner_get_locked(iommu, pid, &owner);
	if (r)
		return r;
	m->vaddr = map->vaddr;
	m->owner = owner;
	m->prot &= (uint8_t)~VFC_EMU_MAP_VADDR_INVALID;
	iommu->owners[owner].nmaps++;
	iommu->vaddr_invalid--;
	pthread_cond_broadcast(&iommu->vaddr_cond);
	return 0;
}

static int emu_ioctl_map_dma(struct vfc_emu_iommu *iommu, struct vfc_ioctl *io)
{
	const size_t minsz = vfc_offsetofend(struct vfio_iommu_type1_dma_map, size);
	const uint32_t mask = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE |
			      VFIO_DMA_MAP_FLAG_VADDR;
	struct vfio_iommu_type1_dma_map map;
	bool set_vaddr;
	uint8_t prot = 0;
	pid_t pid;
	int r;

	r = vfc_ioctl_need(io, minsz, 0);
	if (r)
		return r;
	memcpy(&map, io->in, minsz);
	if (map.argsz < minsz || (map.flags & ~mask))
		return -EINVAL;
	if (!map.size)
		return -EINVAL;
	if (map.iova + (map.size - 1) < map.iova || map.vaddr + (map.size - 1) < map.vaddr)
		return -EOVERFLOW;
	set_vaddr = map.flags & VFIO_DMA_MAP_FLAG_VADDR;
	if (map.flags & VFIO_DMA_MAP_FLAG_READ)
		prot |= VFC_EMU_PROT_READ;
	if (map.flags & VFIO_DMA_MAP_FLAG_WRITE)
		prot |= VFC_EMU_PROT_WRITE;
	/* VADDR takes no permission; a new mapping needs one. */
	if ((prot != 0) == set_vaddr)
		return -EINVAL;
	pid = io->caller ? io->caller->pid : 0;

	pthread_mutex_lock(&iommu->lock);
	if (set_vaddr) {
		r = set_vaddr_locked(iommu, &map, pid);
	} else {
		r = map_locked(iommu, &map, prot, pid);
		/* Mappings of owners that exited must not be in the way. */
		if ((r == -EEXIST || r == -ENOSPC) && vfc_emu_iommu_reap_locked(iommu))
			r = map_locked(iommu, &map, prot, pid);
	}
	pthread_mutex_unlock(&iommu->lock);
	if (r)
		vfc_debug("emu-iommu: MAP_DMA%s iova 0x%llx size 0x%llx: %s",
			  set_vaddr ? " VADDR" : "", (unsigned long long)map.iova,
			  (unsigned long long)map.size, strerror(-r));
	return r;
}

/* v2 must not cut a mapping at either end of [start, last]. */
static bool v2_bisects(struct vfc_emu_iommu *iommu, uint64_t start, uint64_t last)
{
	struct vfc_emu_map *m = vfc_emu_tree_find(&iommu->tree, start);

	if (m && m->iova != start)
		return true;
	m = vfc_emu_tree_find(&iommu->tree, last);
	return m && m->last != last;
}

/*
 * The mappings an unmap of [start, last] takes, in order: v1 stops at one
 * that starts before @start (it unmaps nothing more, successfully); one
 * covering a mapping's first IOVA takes the whole mapping.
 */
static struct vfc_emu_map *unmap_next(struct vfc_emu_iommu *iommu, struct vfc_emu_map *m,
				      uint64_t start, uint64_t last)
{
	if (!m || m->iova > last || (!iommu->v2 && start > m->iova))
		return NULL;
	return m;
}

/*
 * The v1/v2 unmap of [start, last]; returns -EINVAL for a v2 bisection.
 * With @bitmap (GET_DIRTY_BITMAP), each mapping's dirty bits go to the
 * caller @pid first, bit 0 being @start; a fault there stops the unmap
 * with EFAULT, the mappings before it gone, as in the kernel.
 */
static int unmap_locked(struct vfc_emu_iommu *iommu, uint64_t start, uint64_t last, bool all,
			const struct vfio_bitmap *bitmap, pid_t pid, uint64_t *ret_unmapped)
{
	struct vfc_emu_map *m;
	uint64_t unmapped = 0;
	int r;

	if (iommu->v2 && !all && v2_bisects(iommu, start, last))
		return -EINVAL;
	m = unmap_next(iommu, vfc_emu_tree_lower_bound(&iommu->tree, start), start, last);
	while (m) {
		struct vfc_emu_map *next = vfc_emu_tree_next(m);

		if (bitmap) {
			r = vfc_emu_dirty_report_locked(iommu, pid, (uint64_t)(uintptr_t)bitmap->data,
							start, m);
			if (r)
				return r;
		}
		unmapped += m->last - m->iova + 1;
		vfc_emu_iommu_remove_locked(iommu, m);
		m = unmap_next(iommu, next, start, last);
	}
	*ret_unmapped = unmapped;
	return 0;
}

/*
 * The kernel's access_ok() on x86-64 (4-level paging): the range ends at
 * or below the top of user space, without wrapping.
 */
static bool user_range_ok(uint64_t addr, uint64_t size)
{
	const uint64_t task_size_max = (1ull << 47) - 4096;

	return addr + size >= addr && addr + size <= task_size_max;
}

/*
 * The kernel's verify_bitmap_size() of a bitmap of @pgsize pages for
 * @size bytes: enough bytes (u64 words) for the pages, and not more than
 * DIRTY_BITMAP_SIZE_MAX. A @pgsize of 0 shifts by nothing, as x86 does.
 */
static bool bitmap_size_ok(uint64_t size, uint64_t pgsize, uint64_t bitmap_size)
{
	uint64_t npages = size >> (pgsize ? __builtin_ctzll(pgsize) : 0);

	return npages && bitmap_size && bitmap_size <= VFC_EMU_DIRTY_BITMAP_SIZE_MAX &&
	       bitmap_size >= ((npages + 63) / 64) * 8;
}

/*
 * UNMAP_DMA with VADDR: the same mappings as an unmap, invalidated instead
 * of removed; each gives up its owner. The kernel undoes the ones it
 * marked when it meets one already invalid, and fails with EINVAL; we look
 * first, so nothing changes then.
 */
static int invalidate_locked(struct vfc_emu_iommu *iommu, uint64_t start, uint64_t last,
			     bool all, uint64_t *ret_unmapped)
{
	struct vfc_emu_map *first, *m;
	uint64_t unmapped = 0;

	if (iommu->v2 && !all && v2_bisects(iommu, start, last))
		return -EINVAL;
	first = unmap_next(iommu, vfc_emu_tree_lower_bound(&iommu->tree, start), start, last);
	for (m = first; m; m = unmap_next(iommu, vfc_emu_tree_next(m), start, last))
		if (m->prot & VFC_EMU_MAP_VADDR_INVALID)
			return -EINVAL;
	for (m = first; m; m = unmap_next(iommu, vfc_emu_tree_next(m), start, last)) {
		uint32_t owner = m->owner;

		unmapped += m->last - m->iova + 1;
		m->prot |= VFC_EMU_MAP_VADDR_INVALID;
		m->owner = VFC_EMU_NO_OWNER;
		iommu->vaddr_invalid++;
		iommu->owners[owner].nmaps--;
		vfc_emu_iommu_owner_put_locked(iommu, owner);
	}
	*ret_unmapped = unmapped;
	return 0;
}

static int emu_ioctl_unmap_dma(struct vfc_emu_iommu *iommu, struct vfc_ioctl *io)
{
	const size_t minsz = vfc_offsetofend(struct vfio_iommu_type1_dma_unmap, size);
	const uint32_t mask = VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP | VFIO_DMA_UNMAP_FLAG_ALL |
			      VFIO_DMA_UNMAP_FLAG_VADDR;
	struct vfio_iommu_type1_dma_unmap unmap;
	struct vfio_bitmap bitmap = { 0 };
	bool all, vaddr, get_dirty;
	uint64_t last = 0, unmapped = 0;
	int r;

	r = vfc_ioctl_need(io, minsz, minsz);
	if (r)
		return r;
	memcpy(&unmap, io->in, minsz);
	if (unmap.argsz < minsz || (unmap.flags & ~mask))
		return -EINVAL;
	get_dirty = unmap.flags & VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP;
	if (get_dirty && (unmap.flags & (VFIO_DMA_UNMAP_FLAG_ALL | VFIO_DMA_UNMAP_FLAG_VADDR)))
		return -EINVAL;
	if (get_dirty) {
		/* The struct vfio_bitmap that follows, read only now. */
		if (unmap.argsz < minsz + sizeof(bitmap))
			return -EINVAL;
		r = vfc_ioctl_need(io, minsz + sizeof(bitmap), minsz);
		if (r)
			return r;
		memcpy(&bitmap, (const uint8_t *)io->in + minsz, sizeof(bitmap));
		if (!user_range_ok((uint64_t)(uintptr_t)bitmap.data, bitmap.size) ||
		    !bitmap_size_ok(unmap.size, bitmap.pgsize, bitmap.size))
			return -EINVAL;
	}
	all = unmap.flags & VFIO_DMA_UNMAP_FLAG_ALL;
	vaddr = unmap.flags & VFIO_DMA_UNMAP_FLAG_VADDR;

	pthread_mutex_lock(&iommu->lock);
	if (unmap.iova & iommu->pgmask) {
		r = -EINVAL;
	} else if (all) {
		r = unmap.iova || unmap.size ? -EINVAL : 0;
		last = UINT64_MAX;
	} else if (!unmap.size || (unmap.size & iommu->pgmask)) {
		r = -EINVAL;
	} else {
		last = unmap.iova + (unmap.size - 1);
		r = last < unmap.iova ? -EOVERFLOW : 0;
	}
	/* A bitmap only while tracking, of the smallest page size. */
	if (!r && get_dirty && (!iommu->dirty.on || bitmap.pgsize != iommu->pgmask + 1))
		r = -EINVAL;
	if (!r && vaddr)
		r = invalidate_locked(iommu, unmap.iova, last, all, &unmapped);
	else if (!r)
		r = unmap_locked(iommu, unmap.iova, last, all, get_dirty ? &bitmap : NULL,
				 io->caller ? io->caller->pid : 0, &unmapped);
	pthread_mutex_unlock(&iommu->lock);
	if (r) {
		vfc_debug("emu-iommu: UNMAP_DMA%s iova 0x%llx size 0x%llx: %s",
			  vaddr ? " VADDR" : "", (unsigned long long)unmap.iova,
			  (unsigned long long)unmap.size, strerror(-r));
		return r;
	}

	/* The kernel writes back the first minsz bytes, and only on success. */
	unmap.size = unmapped;
	vfc_ioctl_reply(io, &unmap, minsz);
	return 0;
}

/*
 * GET_BITMAP of [iova, last]: like a v2 unmap, it must not cut a mapping;
 * each mapping in it reports its bits, bit 0 being @iova.
 */
static int dirty_bitmap_locked(struct vfc_emu_iommu *iommu, pid_t pid, uint64_t data,
			       uint64_t iova, uint64_t last)
{
	if (v2_bisects(iommu, iova, last))
		return -EINVAL;
	for (struct vfc_emu_map *m = vfc_emu_tree_lower_bound(&iommu->tree, iova);
	     m && m->iova <= last; m = vfc_emu_tree_next(m)) {
		int r = vfc_emu_dirty_report_locked(iommu, pid, data, iova, m);

		if (r)
			return r;
	}
	return 0;
}

/*
 * DIRTY_PAGES, checked in the kernel's order: v1 is EACCES before
 * anything is read; one flag exactly; START and STOP may repeat; GET_BITMAP
 * checks its range and bitmap, then wants tracking on. The bits are exact
 * (emu-iommu-dirty.c).
 */
static int emu_ioctl_dirty_pages(struct vfc_emu_iommu *iommu, struct vfc_ioctl *io)
{
	const size_t minsz = vfc_offsetofend(struct vfio_iommu_type1_dirty_bitmap, flags);
	const uint32_t mask = VFIO_IOMMU_DIRTY_PAGES_FLAG_START |
			      VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP |
			      VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP;
	const uint64_t pgsize = iommu->pgmask + 1;
	struct vfio_iommu_type1_dirty_bitmap dirty;
	struct vfio_iommu_type1_dirty_bitmap_get range;
	uint64_t last;
	int r;

	if (!iommu->v2)
		return -EACCES;
	r = vfc_ioctl_need(io, minsz, 0);
	if (r)
		return r;
	memcpy(&dirty, io->in, minsz);
	if (dirty.argsz < minsz || (dirty.flags & ~mask))
		return -EINVAL;
	if (__builtin_popcount(dirty.flags) != 1)
		return -EINVAL;
	if (dirty.flags & VFIO_IOMMU_DIRTY_PAGES_FLAG_START) {
		pthread_mutex_lock(&iommu->lock);
		r = vfc_emu_dirty_start_locked(iommu);
		pthread_mutex_unlock(&iommu->lock);
		if (r)
			vfc_info("emu-iommu: DIRTY_PAGES START: a mapping has more than %llu pages",
				 (unsigned long long)VFC_EMU_DIRTY_PAGES_MAX);
		return r;
	}
	if (dirty.flags & VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP) {
		pthread_mutex_lock(&iommu->lock);
		vfc_emu_dirty_stop_locked(iommu);
		pthread_mutex_unlock(&iommu->lock);
		return 0;
	}

	if (dirty.argsz - minsz < sizeof(range))
		return -EINVAL;
	r = vfc_ioctl_need(io, minsz + sizeof(range), 0);
	if (r)
		return r;
	memcpy(&range, (const uint8_t *)io->in + minsz, sizeof(range));
	if (!range.size)
		return -EINVAL;
	last = range.iova + (range.size - 1);
	if (last < range.iova)
		return -EOVERFLOW;
	if (!user_range_ok((uint64_t)(uintptr_t)range.bitmap.data, range.bitmap.size) ||
	    !bitmap_size_ok(range.size, range.bitmap.pgsize, range.bitmap.size))
		return -EINVAL;

	pthread_mutex_lock(&iommu->lock);
	if (range.bitmap.pgsize != pgsize || (range.iova & iommu->pgmask) ||
	    (range.size & iommu->pgmask) || !iommu->dirty.on)
		r = -EINVAL;
	else
		r = dirty_bitmap_locked(iommu, io->caller ? io->caller->pid : 0,
					(uint64_t)(uintptr_t)range.bitmap.data, range.iova, last);
	pthread_mutex_unlock(&iommu->lock);
	if (r)
		vfc_debug("emu-iommu: DIRTY_PAGES GET_BITMAP iova 0x%llx size 0x%llx: %s",
			  (unsigned long long)range.iova, (unsigned long long)range.size,
			  strerror(-r));
	return r;
}

static int emu_ioctl(void *data, struct vfc_ioctl *io)
{
	struct vfc_emu_iommu *iommu = data;

	switch (io->cmd) {
	case VFIO_IOMMU_GET_INFO:
		return emu_ioctl_get_info(iommu, io);
	case VFIO_IOMMU_MAP_DMA:
		return emu_ioctl_map_dma(iommu, io);
	case VFIO_IOMMU_UNMAP_DMA:
		return emu_ioctl_unmap_dma(iommu, io);
	case VFIO_IOMMU_DIRTY_PAGES:
		return emu_ioctl_dirty_pages(iommu, io);
	default:
		return -ENOTTY;
	}
}

unsigned int vfc_emu_iommu_reap(void *data)
{
	struct vfc_emu_iommu *iommu = data;
	unsigned int n;

	pthread_mutex_lock(&iommu->lock);
	n = vfc_emu_iommu_reap_locked(iommu);
	pthread_mutex_unlock(&iommu->lock);
	return n;
}

unsigned int vfc_emu_iommu_count(void *data)
{
	struct vfc_emu_iommu *iommu = data;
	unsigned int n;

	pthread_mutex_lock(&iommu->lock);
	n = (unsigned int)iommu->tree.count;
	pthread_mutex_unlock(&iommu->lock);
	return n;
}

/*
 * The inspect op: the mappings from the tree. The emulated IOMMU pins
 * nothing (a DMA reads and writes the owner's memory when it happens).
 */
static int emu_inspect(void *data, struct vfc_iommu_stats *ret_stats,
		       int (*fn)(void *opaque, const struct vfc_iommu_mapping *m), void *opaque)
{
	struct vfc_emu_iommu *iommu = data;
	struct vfc_iommu_stats st = { .pinned = 0 };
	int r = 0;

	pthread_mutex_lock(&iommu->lock);
	st.mappings = iommu->tree.count;
	for (struct vfc_emu_map *m = vfc_emu_tree_lower_bound(&iommu->tree, 0); m;
	     m = vfc_emu_tree_next(m)) {
		uint64_t size = m->last - m->iova + 1;	/* 0: the whole space */

		if (!size || st.mapped + size < st.mapped || st.mapped + size >= UINT64_MAX)
			st.mapped = UINT64_MAX - 1;
		else
			st.mapped += size;
	}
	*ret_stats = st;
	for (struct vfc_emu_map *m = vfc_emu_tree_lower_bound(&iommu->tree, 0); fn && m && !r;
	     m = vfc_emu_tree_next(m)) {
		struct vfc_iommu_mapping info = {
			.iova = m->iova,
			.last = m->last,
			.vaddr = m->vaddr,
			.flags = (m->prot & VFC_EMU_PROT_READ ? VFC_IOMMU_MAP_READ : 0) |
				 (m->prot & VFC_EMU_PROT_WRITE ? VFC_IOMMU_MAP_WRITE : 0) |
				 (m->prot & VFC_EMU_MAP_VADDR_INVALID ?
				  VFC_IOMMU_MAP_VADDR_INVALID : 0),
			.owner = m->owner != VFC_EMU_NO_OWNER && m->owner < iommu->n_owners ?
				 iommu->owners[m->owner].pid : 0,
		};

		r = fn(opaque, &info);
	}
	pthread_mutex_unlock(&iommu->lock);
	return r;
}

const struct vfc_iommu_ops vfc_emu_iommu_ops = {
	.name = "emu-type1",
	.check_extension = emu_check_extension,
	.open = emu_open,
	.release = emu_release,
	.attach_group = emu_attach_group,
	.detach_group = emu_detach_group,
	.ioctl = emu_ioctl,
	.dma_rw = vfc_emu_iommu_dma_rw,
	.inspect = emu_inspect,
};
