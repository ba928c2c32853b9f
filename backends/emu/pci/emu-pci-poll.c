/* SPDX-License-Identifier: MIT */
/*
 * Noticing the client's writes to mapped device memory. A BAR that a model
 * declares `mappable` and `watched` lives in shared memory the client maps;
 * its writes there never reach the daemon, so a poller thread compares the
 * memory (or the ranges the model names) with a shadow copy, 4 bytes at a
 * time, and hands every changed word to the model's bar_write, under the
 * device lock, as if the client had written it through the trapped path;
 * then it calls the model's poll_work, without the lock, to do what those
 * writes started right there. The same value written twice is
 * one change: right for doorbells and producer indexes, which only move.
 *
 * The poller runs while the device is open, and adapts: right after a
 * change it rescans at once (yielding the CPU between scans) for
 * VFC_EMU_POLL_SPIN_NS; then it sleeps, doubling from
 * VFC_EMU_POLL_MIN_SLEEP_NS up to VFC_EMU_POLL_MAX_SLEEP_NS while nothing
 * changes: one scan of the watched words every 10 ms. After a second with
 * no change it is deep idle: one scan every 100 ms (VFC_EMU_POLL_DEEP_*), so
 * an idle device costs little (each wake-up is a timer and two context
 * switches), and the first write after a quiet second waits up to 100 ms.
 */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "emu-pci-priv.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* One watched range of @bar (lock held). Return: words changed. */
static unsigned int scan_range(struct vfc_emu_pci *pci, unsigned int bar, size_t first,
			       size_t words)
{
	const uint32_t *mem = (const uint32_t *)pci->bar_mem[bar];
	uint32_t *shadow = pci->bar_shadow[bar];
	unsigned int changed = 0;

	for (size_t i = first; i < first + words; i++) {
		uint32_t v = __atomic_load_n(&mem[i], __ATOMIC_RELAXED);

		if (v == shadow[i])
			continue;
		shadow[i] = v;
		changed++;
		/* Memory writes are dropped while decode is off, as on the bus. */
		if (vfc_emu_pci_memory_enabled(pci) && pci->model->bar_write)
			pci->model->bar_write(pci, bar, i * 4, v, 4);
	}
	return changed;
}

/* One pass over every watched BAR (lock held). Return: words changed. */
static unsigned int scan_locked(struct vfc_emu_pci *pci)
{
	unsigned int changed = 0;

	pci->poll_scans++;
	pci->poll_in_scan = true;
	for (unsigned int bar = 0; bar < 6; bar++) {
		const struct vfc_emu_pci_bar *b = &pci->model->bars[bar];
		size_t words = b->size / 4;

		if (!pci->bar_shadow[bar])
			continue;
		if (!b->watch) {
			changed += scan_range(pci, bar, 0, words);
			continue;
		}
		for (const struct vfc_emu_pci_range *r = b->watch; r->len; r++)
			if (r->off / 4 < words)
				changed += scan_range(pci, bar, r->off / 4,
						      r->len / 4 < words - r->off / 4 ?
							      r->len / 4 : words - r->off / 4);
	}
	pci->poll_in_scan = false;
	pci->poll_hits += changed;
	return changed;
}

bool vfc_emu_pci_polling(struct vfc_emu_pci *pci)
{
	return pci->poll_in_scan;
}

static void *poll_main(void *arg)
{
	struct vfc_emu_pci *pci = arg;
	uint64_t last_change = now_ns(), sleep_ns = 0;

	for (;;) {
		struct pollfd p = { .fd = pci->poll_stop, .events = POLLIN };
		struct timespec ts = { .tv_sec = (time_t)(sleep_ns / 1000000000ull),
				       .tv_nsec = (long)(sleep_ns % 1000000000ull) };
		unsigned int changed;
		uint64_t t;

		if (sleep_ns ? ppoll(&p, 1, &ts, NULL) > 0 : poll(&p, 1, 0) > 0)
			break;
		pthread_mutex_lock(&pci->lock);
		changed = scan_locked(pci);
		pthread_mutex_unlock(&pci->lock);
		if (changed && pci->model->poll_work)
			pci->model->poll_work(pci);
		t = now_ns();
		if (changed) {
			last_change = t;
			sleep_ns = 0;
		} else if (t - last_change < VFC_EMU_POLL_SPIN_NS) {
			sleep_ns = 0;
			sched_yield();
		} else {
			uint64_t max = t - last_change < VFC_EMU_POLL_DEEP_AFTER_NS ?
					       VFC_EMU_POLL_MAX_SLEEP_NS : VFC_EMU_POLL_DEEP_SLEEP_NS;

			sleep_ns = sleep_ns ? sleep_ns * 2 : VFC_EMU_POLL_MIN_SLEEP_NS;
			if (sleep_ns > max)
				sleep_ns = max;
		}
	}
	return NULL;
}

int vfc_emu_pci_poll_start(struct vfc_emu_pci *pci)
{
	bool watched = false;
	int r;

	for (unsigned int bar = 0; bar < 6; bar++)
		watched |= pci->bar_shadow[bar] != NULL;
	if (!watched || pci->poll_running)
		return 0;
	pci->poll_stop = eventfd(0, EFD_CLOEXEC);
	if (pci->poll_stop < 0)
		return -errno;
	r = -pthread_create(&pci->poll_thread, NULL, poll_main, pci);
	if (r < 0) {
		close(pci->poll_stop);
		pci->poll_stop = -1;
		return r;
	}
	pci->poll_running = true;
	return 0;
}

void vfc_emu_pci_poll_stop(struct vfc_emu_pci *pci)
{
	uint64_t one = 1;

	if (!pci->poll_running)
		return;
	if (write(pci->poll_stop, &one, sizeof(one)) != sizeof(one))
		abort();	/* an eventfd write of 1 cannot fail here */
	pthread_join(pci->poll_thread, NULL);
	close(pci->poll_stop);
	pci->poll_stop = -1;
	pci->poll_running = false;
}

void vfc_emu_pci_poll_stats(struct vfc_emu_pci *pci, uint64_t *ret_scans, uint64_t *ret_hits)
{
	pthread_mutex_lock(&pci->lock);
	*ret_scans = pci->poll_scans;
	*ret_hits = pci->poll_hits;
	pthread_mutex_unlock(&pci->lock);
}
