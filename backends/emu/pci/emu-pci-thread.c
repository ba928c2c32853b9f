// SPDX-License-Identifier: MIT
/*
 * The device thread of an emulated PCI device: one per device, alive from
 * creation to free. It sleeps in epoll_wait() on four kinds of fd:
 *   - a private eventfd that wakes it (state changed, stop);
 *   - a timerfd armed to the earliest model timer (CLOCK_MONOTONIC);
 *   - the client's INTx unmask eventfd, registered edge-triggered, so
 *     that every write by the client is one unmask (vfio-pci's virqfd);
 *   - the client's ioeventfds, the same way: one write, one device write.
 * Model timer callbacks run here, without the device lock.
 *
 * The client's eventfds are watched, never read: the fd is shared with the
 * client, so it cannot be made non-blocking, and a read racing with the
 * client's own read would block this thread. The kernel drains the
 * counter instead; see docs/devices.md.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>

#include "emu-pci-priv.h"
#include "vfc-macro.h"

#define EV_WAKE 0
#define EV_TIMER 1
#define EV_UNMASK 2 /* + generation */
#define EV_IOEVENTFD (1ull << 63) /* | the ioeventfd's id */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void drain(int fd)
{
	uint64_t v;

	while (read(fd, &v, sizeof(v)) == sizeof(v))
		;
}

static void wake(struct vfc_emu_pci *pci)
{
	static const uint64_t one = 1;

	if (write(pci->wakefd, &one, sizeof(one)) != sizeof(one))
		return; /* counter full: the thread is awake anyway */
}

/* Arm the timerfd to the earliest armed timer (lock held). */
static void rearm(struct vfc_emu_pci *pci)
{
	struct itimerspec its = { 0 };
	uint64_t first = UINT64_MAX;

	for (unsigned int i = 0; i < pci->ntimers; i++)
		if (pci->timers[i].armed && pci->timers[i].deadline < first)
			first = pci->timers[i].deadline;
	if (first != UINT64_MAX) {
		if (first == 0)
			first = 1; /* 0 would disarm */
		its.it_value.tv_sec = (time_t)(first / 1000000000ull);
		its.it_value.tv_nsec = (long)(first % 1000000000ull);
	}
	timerfd_settime(pci->timerfd, TFD_TIMER_ABSTIME, &its, NULL);
}

int vfc_emu_pci_timer_add(struct vfc_emu_pci *pci,
			  void (*cb)(struct vfc_emu_pci *pci, void *opaque), void *opaque)
{
	if (pci->ntimers >= VFC_EMU_PCI_MAX_TIMERS)
		return -ENOSPC;
	pci->timers[pci->ntimers] = (struct emu_timer){ .cb = cb, .opaque = opaque };
	return (int)pci->ntimers++;
}

void vfc_emu_pci_timer_mod(struct vfc_emu_pci *pci, int id, uint64_t delay_ns)
{
	struct emu_timer *t = &pci->timers[id];

	t->armed = true;
	t->deadline = now_ns() + delay_ns;
	rearm(pci);
}

void vfc_emu_pci_timer_del(struct vfc_emu_pci *pci, int id)
{
	pci->timers[id].armed = false;
	rearm(pci);
}

/** vfc_emu_pci_timers_disarm() - disarm every timer (lock held). */
void vfc_emu_pci_timers_disarm(struct vfc_emu_pci *pci)
{
	for (unsigned int i = 0; i < pci->ntimers; i++)
		pci->timers[i].armed = false;
	rearm(pci);
}

/**
 * vfc_emu_pci_thread_watch() - watch the client's unmask eventfd @fd.
 * @pci: the device (lock held).
 * @fd: our duplicate; the caller keeps owning it.
 * @gen: tells events of this registration from stale ones.
 *
 * An eventfd already signalled reports an edge at once, as vfio-pci's
 * virqfd handles an event pending at registration.
 * Return: 0, or the -errno of epoll_ctl().
 */
int vfc_emu_pci_thread_watch(struct vfc_emu_pci *pci, int fd, uint64_t gen)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.u64 = EV_UNMASK + gen };

	if (epoll_ctl(pci->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	return 0;
}

/*
 * An ioeventfd (emu-pci-ioeventfd.c), edge-triggered as the unmask
 * eventfd: one write of the client's is one device write, and one already
 * signalled fires at once, as vfio_virqfd_enable() runs a pending event.
 */
int vfc_emu_pci_thread_watch_ioeventfd(struct vfc_emu_pci *pci, int fd, uint64_t id)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.u64 = EV_IOEVENTFD | id };

	if (epoll_ctl(pci->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	return 0;
}

/** vfc_emu_pci_thread_unwatch() - stop watching @fd (lock held). */
void vfc_emu_pci_thread_unwatch(struct vfc_emu_pci *pci, int fd)
{
	epoll_ctl(pci->epfd, EPOLL_CTL_DEL, fd, NULL);
}

/* Fire expired timers, one at a time, without the lock. */
static void run_timers(struct vfc_emu_pci *pci)
{
	for (;;) {
		void (*cb)(struct vfc_emu_pci *, void *) = NULL;
		void *opaque = NULL;
		uint64_t now = now_ns();

		pthread_mutex_lock(&pci->lock);
		for (unsigned int i = 0; i < pci->ntimers && !cb && !pci->stopping; i++) {
			struct emu_timer *t = &pci->timers[i];

			if (t->armed && t->deadline <= now) {
				t->armed = false;
				cb = t->cb;
				opaque = t->opaque;
			}
		}
		if (!cb)
			rearm(pci);
		pthread_mutex_unlock(&pci->lock);
		if (!cb)
			return;
		cb(pci, opaque);
	}
}

static void *thread_main(void *arg)
{
	struct vfc_emu_pci *pci = arg;

	for (;;) {
		struct epoll_event evs[8];
		bool stop;
		int n;

		n = epoll_wait(pci->epfd, evs, (int)VFC_ARRAY_SIZE(evs), -1);
		if (n < 0 && errno != EINTR)
			break; /* cannot happen with valid fds; stop serving timers */
		for (int i = 0; i < n; i++) {
			uint64_t tag = evs[i].data.u64;

			if (tag == EV_WAKE) {
				drain(pci->wakefd);
			} else if (tag == EV_TIMER) {
				drain(pci->timerfd);
			} else if (tag & EV_IOEVENTFD) {
				pthread_mutex_lock(&pci->lock);
				vfc_emu_pci_ioeventfd_fired(pci, tag & ~EV_IOEVENTFD);
				pthread_mutex_unlock(&pci->lock);
			} else {
				pthread_mutex_lock(&pci->lock);
				vfc_emu_pci_intx_unmask_event(pci, tag - EV_UNMASK);
				pthread_mutex_unlock(&pci->lock);
			}
		}
		pthread_mutex_lock(&pci->lock);
		stop = pci->stopping;
		pthread_mutex_unlock(&pci->lock);
		if (stop)
			break;
		run_timers(pci);
	}
	return NULL;
}

/**
 * vfc_emu_pci_thread_start() - create the fds and start the thread.
 * @pci: the device, not yet shared.
 * Return: 0, or the -errno of eventfd/timerfd/epoll/pthread_create.
 */
int vfc_emu_pci_thread_start(struct vfc_emu_pci *pci)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int r;

	pci->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (pci->epfd < 0)
		return -errno;
	pci->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (pci->wakefd < 0)
		return -errno;
	pci->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (pci->timerfd < 0)
		return -errno;
	ev.data.u64 = EV_WAKE;
	if (epoll_ctl(pci->epfd, EPOLL_CTL_ADD, pci->wakefd, &ev) < 0)
		return -errno;
	ev.data.u64 = EV_TIMER;
	if (epoll_ctl(pci->epfd, EPOLL_CTL_ADD, pci->timerfd, &ev) < 0)
		return -errno;
	r = pthread_create(&pci->thread, NULL, thread_main, pci);
	if (r)
		return -r;
	pci->thread_started = true;
	return 0;
}

/**
 * vfc_emu_pci_thread_stop() - stop and join the thread, close its fds.
 * @pci: the device (lock not held). Safe after a failed start.
 */
void vfc_emu_pci_thread_stop(struct vfc_emu_pci *pci)
{
	if (pci->thread_started) {
		pthread_mutex_lock(&pci->lock);
		pci->stopping = true;
		pthread_mutex_unlock(&pci->lock);
		wake(pci);
		pthread_join(pci->thread, NULL);
		pci->thread_started = false;
	}
	vfc_closep(&pci->timerfd);
	vfc_closep(&pci->wakefd);
	vfc_closep(&pci->epfd);
	pci->timerfd = pci->wakefd = pci->epfd = -1;
}
