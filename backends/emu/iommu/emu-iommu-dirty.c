// SPDX-License-Identifier: MIT
/*
 * The software IOMMU's dirty page tracking (VFIO_IOMMU_DIRTY_PAGES, and
 * UNMAP_DMA with GET_DIRTY_BITMAP): which pages of the smallest page size
 * device DMA wrote since tracking started or since they were last
 * reported, and writing that into the caller's bitmap the way the kernel's
 * update_user_bitmap() does.
 *
 * Exact, unlike the kernel's type1 without hardware dirty tracking, which
 * reports every page of every mapping dirty: every DMA write through
 * vfc_emu_iommu_dma_rw() marks its pages, nothing else does, and a report
 * clears what it reported. Clients may rely only on the kernel's superset
 * semantics, which this meets.
 *
 * The bits live in 4 KiB bitmaps, one per 32768 pages of IOVA space
 * (128 MiB at 4 KiB pages), allocated on the first write into that space
 * and kept in a hash table until tracking stops, so memory follows what
 * devices wrote, not what clients mapped. At most DIRTY_MAX_CHUNKS of them
 * (64 MiB); a write that would need more marks its whole mapping dirty
 * (VFC_EMU_MAP_DIRTY_ALL) until its next report: a superset, never a loss.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "emu-iommu-priv.h"
#include "vfc-log.h"
#include "vfc-macro.h"

#define CHUNK_SHIFT 15				/* pages per bitmap: 32768 */
#define CHUNK_WORDS ((1u << CHUNK_SHIFT) / 64)	/* 512 words, 4 KiB */
#define DIRTY_MAX_CHUNKS 16384u

/* Output words per process_vm_writev() of a report. */
#define REPORT_WORDS 512

static uint64_t pg_shift(const struct vfc_emu_iommu *iommu)
{
	return (uint64_t)__builtin_ctzll(iommu->pgmask + 1);
}

static size_t slot_of(uint64_t key, size_t cap)
{
	return (size_t)((key * 0x9e3779b97f4a7c15ull) >> 20) & (cap - 1);
}

/* The bitmap of chunk @c, or NULL. */
static uint64_t *chunk_find(const struct vfc_emu_dirty *dt, uint64_t c)
{
	if (!dt->cap)
		return NULL;
	for (size_t i = slot_of(c + 1, dt->cap);; i = (i + 1) & (dt->cap - 1)) {
		if (dt->slots[i].key == c + 1)
			return dt->slots[i].bits;
		if (!dt->slots[i].key)
			return NULL;
	}
}

static int table_grow(struct vfc_emu_dirty *dt)
{
	size_t cap = dt->cap ? dt->cap * 2 : 64;
	struct vfc_emu_dirty_slot *slots = calloc(cap, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < dt->cap; i++) {
		size_t j;

		if (!dt->slots[i].key)
			continue;
		for (j = slot_of(dt->slots[i].key, cap); slots[j].key; j = (j + 1) & (cap - 1))
			;
		slots[j] = dt->slots[i];
	}
	free(dt->slots);
	dt->slots = slots;
	dt->cap = cap;
	return 0;
}

/* The bitmap of chunk @c, made if new; NULL at the limit or out of memory. */
static uint64_t *chunk_get(struct vfc_emu_dirty *dt, uint64_t c)
{
	uint64_t *bits = chunk_find(dt, c);
	size_t i;

	if (bits)
		return bits;
	if (dt->chunks >= DIRTY_MAX_CHUNKS)
		return NULL;
	if ((dt->chunks + 1) * 2 > dt->cap && table_grow(dt))
		return NULL;
	bits = calloc(CHUNK_WORDS, sizeof(*bits));
	if (!bits)
		return NULL;
	for (i = slot_of(c + 1, dt->cap); dt->slots[i].key; i = (i + 1) & (dt->cap - 1))
		;
	dt->slots[i] = (struct vfc_emu_dirty_slot){ .key = c + 1, .bits = bits };
	dt->chunks++;
	return bits;
}

/* Set or clear bits [lo, hi] (inclusive, within one word) of @w. */
static void word_apply(uint64_t *w, unsigned int lo, unsigned int hi, bool set)
{
	uint64_t mask = (hi == 63 ? ~0ull : (1ull << (hi + 1)) - 1) & ~((1ull << lo) - 1);

	if (set)
		*w |= mask;
	else
		*w &= ~mask;
}

/* Set or clear the bits of pages [p0, p1] within chunk bitmap @bits. */
static void chunk_apply(uint64_t *bits, uint64_t p0, uint64_t p1, bool set)
{
	unsigned int b0 = (unsigned int)(p0 & ((1u << CHUNK_SHIFT) - 1));
	unsigned int b1 = (unsigned int)(p1 & ((1u << CHUNK_SHIFT) - 1));

	for (unsigned int w = b0 / 64; w <= b1 / 64; w++)
		word_apply(&bits[w], w == b0 / 64 ? b0 % 64 : 0, w == b1 / 64 ? b1 % 64 : 63, set);
}

static void set_all(struct vfc_emu_iommu *iommu, struct vfc_emu_map *m, bool all)
{
	if (!!(m->prot & VFC_EMU_MAP_DIRTY_ALL) == all)
		return;
	if (all) {
		m->prot |= VFC_EMU_MAP_DIRTY_ALL;
		iommu->dirty.n_all++;
	} else {
		m->prot &= (uint8_t)~VFC_EMU_MAP_DIRTY_ALL;
		iommu->dirty.n_all--;
	}
}

void vfc_emu_dirty_mark_locked(struct vfc_emu_iommu *iommu, struct vfc_emu_map *m,
			       uint64_t first, uint64_t last)
{
	struct vfc_emu_dirty *dt = &iommu->dirty;
	uint64_t sh = pg_shift(iommu), p0 = first >> sh, p1 = last >> sh;

	if (!dt->on || (m->prot & VFC_EMU_MAP_DIRTY_ALL))
		return;
	for (uint64_t c = p0 >> CHUNK_SHIFT;; c++) {
		uint64_t lo = VFC_MAX(p0, c << CHUNK_SHIFT);
		uint64_t hi = VFC_MIN(p1, ((c + 1) << CHUNK_SHIFT) - 1);
		uint64_t *bits = chunk_get(dt, c);

		if (!bits) {
			vfc_debug("emu-iommu: dirty bitmaps full: mapping at 0x%llx counts as "
				  "all dirty", (unsigned long long)m->iova);
			set_all(iommu, m, true);
			return;
		}
		chunk_apply(bits, lo, hi, true);
		if (hi == p1)
			return;
	}
}

void vfc_emu_dirty_forget_locked(struct vfc_emu_iommu *iommu, struct vfc_emu_map *m)
{
	struct vfc_emu_dirty *dt = &iommu->dirty;
	uint64_t sh = pg_shift(iommu), p0 = m->iova >> sh, p1 = m->last >> sh;
	uint64_t c0 = p0 >> CHUNK_SHIFT, c1 = p1 >> CHUNK_SHIFT;

	set_all(iommu, m, false);
	if (!dt->chunks)
		return;
	/* Whichever is fewer: the chunks the mapping spans, or the table. */
	if (c1 - c0 < dt->cap) {
		for (uint64_t c = c0;; c++) {
			uint64_t *bits = chunk_find(dt, c);

			if (bits)
				chunk_apply(bits, VFC_MAX(p0, c << CHUNK_SHIFT),
					    VFC_MIN(p1, ((c + 1) << CHUNK_SHIFT) - 1), false);
			if (c == c1)
				return;
		}
	}
	for (size_t i = 0; i < dt->cap; i++) {
		uint64_t c = dt->slots[i].key - 1;

		if (dt->slots[i].key && c >= c0 && c <= c1)
			chunk_apply(dt->slots[i].bits, VFC_MAX(p0, c << CHUNK_SHIFT),
				    VFC_MIN(p1, ((c + 1) << CHUNK_SHIFT) - 1), false);
	}
}

int vfc_emu_dirty_start_locked(struct vfc_emu_iommu *iommu)
{
	uint64_t sh = pg_shift(iommu);

	if (iommu->dirty.on)
		return 0;
	/* The kernel allocates a bitmap per mapping and refuses one of more
	 * than INT_MAX pages (DIRTY_BITMAP_PAGES_MAX). */
	for (struct vfc_emu_map *m = vfc_emu_tree_lower_bound(&iommu->tree, 0); m;
	     m = vfc_emu_tree_next(m))
		if (((m->last - m->iova) >> sh) + 1 > VFC_EMU_DIRTY_PAGES_MAX)
			return -EINVAL;
	iommu->dirty.on = true;
	return 0;
}

void vfc_emu_dirty_stop_locked(struct vfc_emu_iommu *iommu)
{
	struct vfc_emu_dirty *dt = &iommu->dirty;

	if (dt->n_all)
		for (struct vfc_emu_map *m = vfc_emu_tree_lower_bound(&iommu->tree, 0); m;
		     m = vfc_emu_tree_next(m))
			set_all(iommu, m, false);
	for (size_t i = 0; i < dt->cap; i++)
		free(dt->slots[i].bits);
	free(dt->slots);
	*dt = (struct vfc_emu_dirty){ 0 };
}

/* Bits of pages [p, p + 64) that are also <= @p1, from the store. */
static uint64_t get_word(const struct vfc_emu_dirty *dt, uint64_t p, uint64_t p1, bool all)
{
	uint64_t w = 0, n = p1 - p + 1;

	if (all) {
		w = ~0ull;
	} else {
		for (unsigned int k = 0; k < 64 && p + k <= p1;) {
			uint64_t c = (p + k) >> CHUNK_SHIFT;
			const uint64_t *bits = chunk_find(dt, c);
			unsigned int take = (unsigned int)VFC_MIN(
				(uint64_t)(64 - k), ((c + 1) << CHUNK_SHIFT) - (p + k));

			if (bits) {
				uint64_t b = (p + k) & ((1u << CHUNK_SHIFT) - 1);
				uint64_t v = bits[b / 64] >> (b % 64);

				if (b % 64 && b / 64 + 1 < CHUNK_WORDS)
					v |= bits[b / 64 + 1] << (64 - b % 64);
				if (take < 64)
					v &= (1ull << take) - 1;
				w |= v << k;
			}
			k += take;
		}
	}
	if (n < 64)
		w &= (1ull << n) - 1;
	return w;
}

static int user_rw(pid_t pid, uint64_t addr, void *buf, size_t len, bool write)
{
	struct iovec local = { .iov_base = buf, .iov_len = len };
	struct iovec remote = { .iov_base = (void *)(uintptr_t)addr, .iov_len = len };
	ssize_t n;

	if (pid <= 0)
		return -EFAULT;
	n = write ? process_vm_writev(pid, &local, 1, &remote, 1, 0)
		  : process_vm_readv(pid, &local, 1, &remote, 1, 0);
	return n == (ssize_t)len ? 0 : -EFAULT;
}

int vfc_emu_dirty_report_locked(struct vfc_emu_iommu *iommu, pid_t pid, uint64_t data,
				uint64_t base_iova, struct vfc_emu_map *m)
{
	const struct vfc_emu_dirty *dt = &iommu->dirty;
	uint64_t sh = pg_shift(iommu), p0 = m->iova >> sh, p1 = m->last >> sh;
	uint64_t nbits = p1 - p0 + 1, bit_off = (m->iova - base_iova) >> sh;
	unsigned int shift = (unsigned int)(bit_off % 64);
	uint64_t nwords = (nbits + shift + 63) / 64, addr = data + (bit_off / 64) * 8;
	bool all = m->prot & VFC_EMU_MAP_DIRTY_ALL;
	uint64_t out[REPORT_WORDS], leftover = 0, prev = 0;
	int r;

	/* As update_user_bitmap(): the mapping's bits shifted into place, the
	 * first word ORed with what the caller's bitmap held there. */
	if (shift) {
		r = user_rw(pid, addr, &leftover, sizeof(leftover), false);
		if (r)
			return r;
	}
	for (uint64_t j = 0; j < nwords;) {
		size_t n = (size_t)VFC_MIN(nwords - j, (uint64_t)REPORT_WORDS);

		for (size_t k = 0; k < n; k++, j++) {
			uint64_t cur = j * 64 < nbits ? get_word(dt, p0 + j * 64, p1, all) : 0;

			out[k] = shift ? cur << shift | prev >> (64 - shift) : cur;
			prev = cur;
		}
		if (j == n)
			out[0] |= leftover;
		r = user_rw(pid, addr + (j - n) * 8, out, n * 8, true);
		if (r)
			return r;
	}
	vfc_emu_dirty_forget_locked(iommu, m);
	return 0;
}
