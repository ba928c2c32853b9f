// SPDX-License-Identifier: MIT
/*
 * Device DMA logging for emulated devices: the device side of
 * VFIO_DEVICE_FEATURE DMA_LOGGING_START, STOP and REPORT (the core does
 * vfio_main.c's checks and writes the client's bitmap). Like a variant
 * driver's tracker (mlx5vf's page tracker is the model): one START until
 * STOP (EINVAL for a second), the page size rounded down to a power of two
 * and clamped to what we track (4 KiB to 2 MiB), REPORT reads and clears,
 * and a tracker that overflowed fails every REPORT with EIO until STOP.
 *
 * Every DMA write of the device (vfc_emu_pci_dma()) marks the tracked
 * pages it touched inside the logged ranges: exact, not every mapped page.
 * The dirty pages sit in a hash set, so ranges may span any IOVA space
 * while memory grows only with the pages written, up to
 * VFC_EMU_DMA_LOG_MAX_DIRTY between two reports.
 *
 * Locking: log_lock, alone; DMA marks from any thread without the device
 * lock.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "emu-pci-priv.h"
#include "vfc-log.h"
#include "vfc-macro.h"

/* Dirty pages one log holds between reports (16 MiB of table at most). */
#define VFC_EMU_DMA_LOG_MAX_DIRTY (1u << 20)
#define LOG_MIN_SHIFT 12
#define LOG_MAX_SHIFT 21
#define LOG_EMPTY UINT64_MAX

struct emu_log_range {
	uint64_t first, last; /* closed */
};

struct emu_dma_log {
	unsigned int shift; /* tracked page size: 1 << shift */
	unsigned int n_ranges;
	struct emu_log_range *ranges;
	uint64_t *set;	/* page numbers, open addressing; LOG_EMPTY free */
	size_t cap;	/* a power of two */
	size_t count;
	bool overflow;
};

static struct emu_dma_log *log_free(struct emu_dma_log *log)
{
	if (log) {
		free(log->ranges);
		free(log->set);
		free(log);
	}
	return NULL;
}

static size_t slot_of(uint64_t page, size_t cap)
{
	return (size_t)((page * 0x9e3779b97f4a7c15ull) >> 32) & (cap - 1);
}

static uint64_t *table_new(size_t cap)
{
	uint64_t *t = malloc(cap * sizeof(*t));

	if (t)
		memset(t, 0xff, cap * sizeof(*t)); /* LOG_EMPTY everywhere */
	return t;
}

static void table_put(uint64_t *t, size_t cap, uint64_t page)
{
	size_t i = slot_of(page, cap);

	while (t[i] != LOG_EMPTY && t[i] != page)
		i = (i + 1) & (cap - 1);
	t[i] = page;
}

static int log_grow(struct emu_dma_log *log)
{
	size_t cap = log->cap * 2;
	uint64_t *t = table_new(cap);

	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i < log->cap; i++)
		if (log->set[i] != LOG_EMPTY)
			table_put(t, cap, log->set[i]);
	free(log->set);
	log->set = t;
	log->cap = cap;
	return 0;
}

static void log_mark(struct emu_dma_log *log, uint64_t page)
{
	size_t i;

	if (log->overflow)
		return;
	for (i = slot_of(page, log->cap); log->set[i] != LOG_EMPTY; i = (i + 1) & (log->cap - 1))
		if (log->set[i] == page)
			return;
	if (log->count >= VFC_EMU_DMA_LOG_MAX_DIRTY ||
	    ((log->count + 1) * 4 > log->cap * 3 && log_grow(log) < 0)) {
		log->overflow = true;	/* REPORT now fails with EIO */
		return;
	}
	table_put(log->set, log->cap, page);
	log->count++;
}

/**
 * vfc_emu_pci_log_start() - struct vfc_device_ops.log_start.
 * Return: 0 with *@page_size set to the tracked size; -EINVAL when
 * already logging; -ENOMEM.
 */
int vfc_emu_pci_log_start(void *priv, const struct vfio_device_feature_dma_logging_range *ranges,
			  unsigned int n, uint64_t *page_size)
{
	struct vfc_emu_pci *pci = priv;
	struct emu_dma_log *log;
	unsigned int shift = LOG_MIN_SHIFT;

	/* mlx5vf: ilog2() of what was asked, clamped to the device's range. */
	if (*page_size)
		shift = 63 - (unsigned int)__builtin_clzll(*page_size);
	shift = VFC_MAX(LOG_MIN_SHIFT, VFC_MIN(LOG_MAX_SHIFT, shift));

	log = calloc(1, sizeof(*log));
	if (!log)
		return -ENOMEM;
	log->shift = shift;
	log->ranges = calloc(n ? n : 1, sizeof(*log->ranges));
	log->cap = 1024;
	log->set = table_new(log->cap);
	if (!log->ranges || !log->set) {
		log_free(log);
		return -ENOMEM;
	}
	for (unsigned int i = 0; i < n; i++)
		if (ranges[i].length) /* an empty one logs nothing */
			log->ranges[log->n_ranges++] = (struct emu_log_range){
				.first = ranges[i].iova,
				.last = ranges[i].iova + ranges[i].length - 1 };

	pthread_mutex_lock(&pci->log_lock);
	if (pci->log) {
		pthread_mutex_unlock(&pci->log_lock);
		log_free(log);
		return -EINVAL;
	}
	pci->log = log;
	pthread_mutex_unlock(&pci->log_lock);
	*page_size = 1ull << shift;
	return 0;
}

/** vfc_emu_pci_log_stop() - struct vfc_device_ops.log_stop. Return: 0. */
int vfc_emu_pci_log_stop(void *priv)
{
	struct vfc_emu_pci *pci = priv;
	struct emu_dma_log *log;

	pthread_mutex_lock(&pci->log_lock);
	log = pci->log;
	pci->log = NULL;
	pthread_mutex_unlock(&pci->log_lock);
	log_free(log);
	return 0;
}

/**
 * vfc_emu_pci_log_report() - struct vfc_device_ops.log_report: @set gets
 * each dirty tracked page that meets [@iova, @iova + @length), which is
 * then clean; nothing is cleared when @set fails.
 * Return: 0; -EINVAL when not logging; -EIO after an overflow; @set's
 * -errno; -ENOMEM.
 */
int vfc_emu_pci_log_report(void *priv, uint64_t iova, uint64_t length,
			   int (*set)(void *opaque, uint64_t iova, uint64_t length), void *opaque)
{
	struct vfc_emu_pci *pci = priv;
	struct emu_dma_log *log;
	uint64_t last = iova + length - 1, *t = NULL;
	size_t kept = 0;
	int r = 0;

	pthread_mutex_lock(&pci->log_lock);
	log = pci->log;
	if (!log) {
		r = -EINVAL;
		goto out;
	}
	if (log->overflow) {
		vfc_info("emu-pci %s: DMA logging: more than %u dirty pages since the last report",
			 pci->model->name, VFC_EMU_DMA_LOG_MAX_DIRTY);
		r = -EIO;
		goto out;
	}
	if (!length || !log->count)
		goto out;
	for (size_t i = 0; i < log->cap; i++) {
		uint64_t p = log->set[i], first = p << log->shift;
		uint64_t plast = first + ((1ull << log->shift) - 1);

		if (p == LOG_EMPTY || first > last || plast < iova)
			continue;
		r = set(opaque, first, 1ull << log->shift);
		if (r < 0)
			goto out;
	}
	/* Clear what was reported: rebuild without it. */
	t = table_new(log->cap);
	if (!t) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < log->cap; i++) {
		uint64_t p = log->set[i], first = p << log->shift;
		uint64_t plast = first + ((1ull << log->shift) - 1);

		if (p == LOG_EMPTY || !(first > last || plast < iova))
			continue;
		table_put(t, log->cap, p);
		kept++;
	}
	free(log->set);
	log->set = t;
	log->count = kept;
out:
	pthread_mutex_unlock(&pci->log_lock);
	return r;
}

void vfc_emu_pci_log_write(struct vfc_emu_pci *pci, uint64_t iova, size_t len)
{
	struct emu_dma_log *log;
	uint64_t last;

	if (!len)
		return;
	last = iova + len - 1;
	if (last < iova)
		last = UINT64_MAX;
	pthread_mutex_lock(&pci->log_lock);
	log = pci->log;
	for (unsigned int i = 0; log && i < log->n_ranges; i++) {
		const struct emu_log_range *rg = &log->ranges[i];
		uint64_t a = VFC_MAX(iova, rg->first), b = VFC_MIN(last, rg->last);

		if (a > b)
			continue;
		for (uint64_t p = a >> log->shift; p <= b >> log->shift && !log->overflow; p++) {
			log_mark(log, p);
			if (p == UINT64_MAX >> log->shift)
				break;
		}
	}
	pthread_mutex_unlock(&pci->log_lock);
}
