/* SPDX-License-Identifier: MIT */
/*
 * Private to the software IOMMU: the per-container state shared by the
 * ioctl side (emu-iommu.c) and the DMA side (emu-iommu-dma.c).
 */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>

#include "emu-iommu.h"
#include "emu-iommu-tree.h"

/**
 * struct vfc_emu_owner - a process whose memory some mappings name.
 * @pid: its thread-group id; 0 for a free slot.
 * @pidfd: pidfd_open() of @pid (close-on-exec): readable once it exits,
 *         and immune to pid reuse. -1 where pidfd_open() is missing
 *         (kernels before 5.3, valgrind 3.19): @start_time stands in.
 * @start_time: the process's start time from /proc/<pid>/stat, which a
 *              later process reusing the pid cannot share.
 * @alive_at: CLOCK_MONOTONIC_COARSE ns of the last check that found it
 *            alive (pidfd_open() included); a DMA trusts it for 10 ms, a
 *            map reusing an idle owner not at all.
 * @nmaps: live mappings it owns. At 0 the owner stays, idle, for the
 *         next map of @pid; it is freed when found dead, evicted when the
 *         table is full, or at release.
 * @dead: mark of a reap in progress; an owner so marked goes with its
 *        last mapping.
 * @maps_fd: its /proc/<pid>/maps (close-on-exec), opened at its first
 *           MAP_DMA for the memory check (emu-iommu-mem.c); -1 until then.
 */
struct vfc_emu_owner {
	pid_t pid;
	int pidfd;
	int maps_fd;
	uint64_t start_time;
	uint64_t alive_at;
	uint32_t nmaps;
	bool dead;
};

/* The kernel's DIRTY_BITMAP_PAGES_MAX: most pages of a tracked mapping. */
#define VFC_EMU_DIRTY_PAGES_MAX 0x7fffffffull
/* Its DIRTY_BITMAP_SIZE_MAX: the bytes of that many bits, in u64 words. */
#define VFC_EMU_DIRTY_BITMAP_SIZE_MAX (((VFC_EMU_DIRTY_PAGES_MAX + 63) / 64) * 8)

/* One bitmap of the dirty tracker: chunk number + 1 (0: empty slot). */
struct vfc_emu_dirty_slot {
	uint64_t key;
	uint64_t *bits;
};

/**
 * struct vfc_emu_dirty - dirty page tracking (emu-iommu-dirty.c).
 * @on: between DIRTY_PAGES START and STOP.
 * @slots: open-addressed table of bitmaps, @cap slots (a power of two).
 * @cap: slots.
 * @chunks: bitmaps allocated.
 * @n_all: mappings with VFC_EMU_MAP_DIRTY_ALL.
 */
struct vfc_emu_dirty {
	bool on;
	struct vfc_emu_dirty_slot *slots;
	size_t cap;
	size_t chunks;
	unsigned int n_all;
};

/**
 * struct vfc_emu_iommu - one container's IOMMU (the kernel's struct
 * vfio_iommu).
 * @lock: guards everything below; held across a DMA so that an unmap
 *        never returns while a transfer into its memory is under way.
 * @vaddr_cond: signalled when a mapping's vaddr becomes valid again or an
 *              invalid one goes (CLOCK_MONOTONIC); DMA waits on it.
 * @v2: TYPE1v2 semantics for unmap.
 * @cfg: the configuration, copied at open.
 * @pgmask: smallest page size minus one: the alignment mask.
 * @tree: the mappings.
 * @last_hit: the mapping the last lookup found, or NULL.
 * @owners: owner slots; a mapping's owner field indexes this.
 * @n_owners: slots in use (owners with mappings, or idle) or free in
 *            @owners.
 * @groups: number of attached groups.
 * @pidfd_opens: pidfd_open() calls made for owners, for tests and stats.
 * @no_procmap_query: the kernel has no PROCMAP_QUERY; read the text.
 * @vaddr_invalid: mappings whose vaddr is invalid (VFC_EMU_MAP_VADDR_INVALID).
 * @dirty: dirty page tracking.
 */
struct vfc_emu_iommu {
	pthread_mutex_t lock;
	pthread_cond_t vaddr_cond;
	bool v2;
	struct vfc_emu_iommu_config cfg;
	uint64_t pgmask;
	struct vfc_emu_tree tree;
	struct vfc_emu_map *last_hit;
	struct vfc_emu_owner *owners;
	unsigned int n_owners;
	unsigned int groups;
	uint64_t pidfd_opens;
	bool no_procmap_query;
	unsigned int vaddr_invalid;
	struct vfc_emu_dirty dirty;
};

/**
 * vfc_emu_iommu_remove_locked() - unlink and free one mapping, dropping
 * its owner's count (the owner stays, idle, when that was its last one,
 * unless it is marked dead).
 * @iommu: the container, locked.
 * @m: a mapping in its tree.
 */
void vfc_emu_iommu_remove_locked(struct vfc_emu_iommu *iommu, struct vfc_emu_map *m);

/**
 * vfc_emu_iommu_owner_get_locked() - the owner slot for @pid, made if new.
 * @iommu: the container, locked.
 * @pid: the caller's thread-group id.
 * @ret_idx: the slot index; its nmaps is not raised.
 *
 * An idle owner of @pid is taken back once its pidfd shows it alive; a
 * dead one is dropped and a new owner made. A new owner at max_owners
 * evicts the idle owner checked longest ago (its pidfd is closed).
 *
 * Return: 0; -EFAULT for pid 0 (a caller whose memory we cannot name);
 * -ESRCH when @pid has already exited; -ENOSPC at max_owners with none of
 * them idle; -ENOMEM when out of memory or file descriptors.
 */
int vfc_emu_iommu_owner_get_locked(struct vfc_emu_iommu *iommu, pid_t pid,
				   uint32_t *ret_idx);

/**
 * vfc_emu_iommu_owner_put_locked() - after slot @idx lost a mapping (or
 * did not get one): free it if it owns nothing and is marked dead; a live
 * owner without mappings stays, idle.
 * @iommu: the container, locked.
 * @idx: the slot.
 */
void vfc_emu_iommu_owner_put_locked(struct vfc_emu_iommu *iommu, uint32_t idx);

/**
 * vfc_emu_iommu_reap_locked() - remove the mappings of exited owners.
 * @iommu: the container, locked.
 * Return: mappings removed.
 */
unsigned int vfc_emu_iommu_reap_locked(struct vfc_emu_iommu *iommu);

/**
 * vfc_emu_iommu_owners_free() - close every pidfd, idle owners' included,
 * and free the table; for release.
 */
void vfc_emu_iommu_owners_free(struct vfc_emu_iommu *iommu);

/**
 * vfc_emu_iommu_check_memory_locked() - would pin_user_pages() pin the
 * range in owner @idx's memory (emu-iommu-mem.c)?
 * @iommu: the container, locked.
 * @idx: the owner slot (the MAP_DMA caller).
 * @va: the first address.
 * @size: bytes; not 0, and @va + @size - 1 does not wrap.
 * @write: the device may write (FOLL_WRITE): every page must be writable;
 *         otherwise readable.
 * Return: 0; -EFAULT for a hole, a mapping without the permission, or a
 * memory map we cannot read; -ESRCH when the owner has exited.
 */
int vfc_emu_iommu_check_memory_locked(struct vfc_emu_iommu *iommu, uint32_t idx, uint64_t va,
				      uint64_t size, bool write);

/**
 * vfc_emu_dirty_start_locked() - DIRTY_PAGES START: track from now on;
 * nothing if already tracking.
 * Return: 0; -EINVAL when a mapping has more than VFC_EMU_DIRTY_PAGES_MAX
 * pages, as the kernel's bitmap allocation refuses it.
 */
int vfc_emu_dirty_start_locked(struct vfc_emu_iommu *iommu);

/** vfc_emu_dirty_stop_locked() - DIRTY_PAGES STOP: forget every bit. */
void vfc_emu_dirty_stop_locked(struct vfc_emu_iommu *iommu);

/**
 * vfc_emu_dirty_mark_locked() - a device wrote [@first, @last] of @m;
 * nothing unless tracking.
 */
void vfc_emu_dirty_mark_locked(struct vfc_emu_iommu *iommu, struct vfc_emu_map *m,
			       uint64_t first, uint64_t last);

/** vfc_emu_dirty_forget_locked() - clear @m's bits (reported, or unmapped). */
void vfc_emu_dirty_forget_locked(struct vfc_emu_iommu *iommu, struct vfc_emu_map *m);

/**
 * vfc_emu_dirty_report_locked() - write @m's bits into the bitmap at @data
 * in process @pid, whose bit 0 is @base_iova, as the kernel's
 * update_user_bitmap(); then clear them.
 * Return: 0, or -EFAULT when the caller's bitmap cannot be read or written.
 */
int vfc_emu_dirty_report_locked(struct vfc_emu_iommu *iommu, pid_t pid, uint64_t data,
				uint64_t base_iova, struct vfc_emu_map *m);

/** vfc_emu_iommu_dma_rw() - the dma_rw op. */
int vfc_emu_iommu_dma_rw(void *data, uint64_t iova, void *buf, size_t len, bool write);
