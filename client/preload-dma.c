/* SPDX-License-Identifier: MIT */
/*
 * libvfio-cuse-preload.so, part 4: DMA mapping on the kernel backend. The
 * kernel's type1 pins the pages of the process that calls MAP_DMA, so only
 * the client can map its own memory. For a container of the kernel
 * backend, vfio-cused answers MAP_DMA, UNMAP_DMA and DIRTY_PAGES with
 * EREMOTE; the library then gets the kernel's container over the channel
 * (IOMMU_FD) and issues the call there itself. The kernel then checks,
 * pins and charges this process exactly as for its own VFIO user.
 *
 * The kernel container is kept per fd number of our container, so later
 * calls go straight to the kernel. close, dup2, dup3 and close_range are
 * wrapped to drop an entry when its fd number goes, so the kernel's
 * container never outlives ours here; a close by raw syscall is not seen
 * (docs/client.md). The table is small and fixed, under a mutex that is
 * never held across a call into the kernel or the daemon.
 */
#include "preload-priv.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vfc-channel-proto.h"

#define KCACHE_SIZE 16

static pthread_mutex_t kcache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	int fd;		/* our container's fd number, -1 if free */
	int kfd;	/* the kernel's container */
} kcache[KCACHE_SIZE] = { [0 ... KCACHE_SIZE - 1] = { -1, -1 } };
static atomic_uint kcache_used;	/* entries in use: the close fast path */

/* A new duplicate of the kernel container for @fd, or -1. */
static int kcache_get(int fd)
{
	int kfd = -1;

	if (!atomic_load_explicit(&kcache_used, memory_order_relaxed))
		return -1;
	pthread_mutex_lock(&kcache_lock);
	for (int i = 0; i < KCACHE_SIZE; i++)
		if (kcache[i].fd == fd) {
			kfd = fcntl(kcache[i].kfd, F_DUPFD_CLOEXEC, 0);
			break;
		}
	pthread_mutex_unlock(&kcache_lock);
	return kfd;
}

/* Keep @kfd (moved here) for @fd; when full, entries go in turn. */
static void kcache_put(int fd, int kfd)
{
	static unsigned int victim;
	int slot = -1, old;

	if (kfd < 0)
		return;
	pthread_mutex_lock(&kcache_lock);
	for (int i = 0; i < KCACHE_SIZE && slot < 0; i++)
		if (kcache[i].fd == fd)
			slot = i;
	for (int i = 0; i < KCACHE_SIZE && slot < 0; i++)
		if (kcache[i].fd < 0)
			slot = i;
	if (slot < 0)
		slot = (int)(victim++ % KCACHE_SIZE);
	old = kcache[slot].kfd;
	if (kcache[slot].fd < 0)
		atomic_fetch_add(&kcache_used, 1);
	kcache[slot].fd = fd;
	kcache[slot].kfd = kfd;
	pthread_mutex_unlock(&kcache_lock);
	if (old >= 0)
		vfc_preload_real_close(old);
}

#define OTHER_MAX VFC_PRELOAD_OTHER_MAX
_Atomic uint64_t vfc_preload_other[OTHER_MAX / 64];
#define other vfc_preload_other
static atomic_uint other_used;	/* any bit set: the close fast path */

void vfc_preload_set_other(int fd)
{
	if (fd < 0 || fd >= OTHER_MAX)
		return;
	atomic_store_explicit(&other_used, 1, memory_order_relaxed);
	atomic_fetch_or_explicit(&other[fd / 64], 1ull << (fd % 64), memory_order_relaxed);
}

void vfc_preload_forget_range(unsigned int first, unsigned int last)
{
	if (!atomic_load_explicit(&other_used, memory_order_relaxed) || first >= OTHER_MAX)
		return;
	if (last >= OTHER_MAX)
		last = OTHER_MAX - 1;
	for (unsigned int fd = first; fd <= last; fd++) {
		if (fd % 64 == 0 && last - fd >= 63) {
			atomic_store_explicit(&other[fd / 64], 0, memory_order_relaxed);
			fd += 63;
			continue;
		}
		atomic_fetch_and_explicit(&other[fd / 64], ~(1ull << (fd % 64)),
					  memory_order_relaxed);
	}
}

/* The fd numbers [@first, @last] are going: forget their entries. */
static void kcache_drop_range(unsigned int first, unsigned int last)
{
	int drop[KCACHE_SIZE], n = 0;

	vfc_preload_forget_range(first, last);
	if (!atomic_load_explicit(&kcache_used, memory_order_relaxed))
		return;
	pthread_mutex_lock(&kcache_lock);
	for (int i = 0; i < KCACHE_SIZE; i++)
		if (kcache[i].fd >= 0 && (unsigned int)kcache[i].fd >= first &&
		    (unsigned int)kcache[i].fd <= last) {
			drop[n++] = kcache[i].kfd;
			kcache[i].fd = kcache[i].kfd = -1;
			atomic_fetch_sub(&kcache_used, 1);
		}
	pthread_mutex_unlock(&kcache_lock);
	while (n--)
		vfc_preload_real_close(drop[n]);
}

int vfc_preload_iommu_ioctl(int fd, unsigned long req, void *arg)
{
	const struct vfc_preload_real *r = vfc_preload_real();
	struct vfc_channel_iommu_fd m = { .hdr = { .op = VFC_CHANNEL_IOMMU_FD } };
	int saved = errno, kfd, ret, err;
	uint64_t unused;

	kfd = kcache_get(fd);
	if (kfd < 0) {
		ret = r->ioctl(fd, req, arg);
		if (ret >= 0 || errno != EREMOTE || !vfc_preload_is_ours(fd))
			return ret;
		kfd = vfc_preload_channel(fd, &m, sizeof(m), &unused);
		if (kfd < 0) {
			errno = -kfd;
			return -1;
		}
		kcache_put(fd, fcntl(kfd, F_DUPFD_CLOEXEC, 0));
	}
	errno = saved;
	ret = r->ioctl(kfd, req, arg);
	err = errno;
	vfc_preload_real_close(kfd);
	errno = err;
	return ret;
}

/* The wrappers that see fd numbers go. */
VFC_EXPORT int close(int fd)
{
	if (fd >= 0)
		kcache_drop_range((unsigned int)fd, (unsigned int)fd);
	return vfc_preload_real_close(fd);
}

VFC_EXPORT int dup2(int oldfd, int newfd)
{
	const struct vfc_preload_real *r = vfc_preload_real();

	/* Forgetting is always safe: at worst, one lookup again later. */
	if (newfd >= 0 && oldfd != newfd)
		kcache_drop_range((unsigned int)newfd, (unsigned int)newfd);
	if (!r->dup2) {
		errno = ENOSYS;
		return -1;
	}
	return r->dup2(oldfd, newfd);
}

VFC_EXPORT int dup3(int oldfd, int newfd, int flags)
{
	const struct vfc_preload_real *r = vfc_preload_real();

	/* Forgetting is always safe: at worst, one lookup again later. */
	if (newfd >= 0 && oldfd != newfd)
		kcache_drop_range((unsigned int)newfd, (unsigned int)newfd);
	if (!r->dup3) {
		errno = ENOSYS;
		return -1;
	}
	return r->dup3(oldfd, newfd, flags);
}

VFC_EXPORT int close_range(unsigned int first, unsigned int last, int flags)
{
	const struct vfc_preload_real *r = vfc_preload_real();

	/* CLOSE_RANGE_CLOEXEC closes nothing now. */
	if (!(flags & 4 /* CLOSE_RANGE_CLOEXEC */) && first <= last)
		kcache_drop_range(first, last);
	if (!r->close_range) {
		errno = ENOSYS;
		return -1;
	}
	return r->close_range(first, last, flags);
}
