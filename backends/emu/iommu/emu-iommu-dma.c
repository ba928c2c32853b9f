// SPDX-License-Identifier: MIT
/*
 * The software IOMMU's DMA side: the owner table (one pidfd per process
 * that has live mappings, or had them lately), reaping the mappings of
 * owners that exited, and device DMA through process_vm_readv/writev.
 *
 * An owner whose last mapping goes stays in the table, idle, pidfd and
 * all: a client that maps and unmaps in pairs would otherwise pay a
 * pidfd_open() and a close() per pair. The next map of the same pid polls
 * the idle owner's pidfd first (a dead one is dropped: the pid was
 * reused) and takes it back. Idle owners count against max_owners; a new
 * owner at the limit evicts the idle one checked longest ago, and only
 * without an idle one is the map refused. Reaps drop the dead idle ones.
 *
 * Owner death: a pidfd becomes readable when its process exits, and it
 * never names a later process that reuses the pid. A dma_rw polls the
 * pidfds of the owners it is about to touch (at most every 10 ms per
 * owner), and a failed process_vm_* call polls again, so no DMA reaches a
 * process that reuses a dead owner's pid: the dead owner's mappings go
 * instead. GET_INFO reaps before it counts DMA_AVAIL, and a MAP_DMA that
 * would fail with EEXIST or ENOSPC reaps and tries again, so a dead
 * owner's mappings never block a map. vfc_emu_iommu_reap() lets a daemon
 * reap from its main loop to free entries and pidfds sooner.
 * Where pidfd_open() is missing, the start time in /proc/<pid>/stat
 * identifies the process instead (slower: a file read per check).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "emu-iommu-priv.h"
#include "vfc-log.h"
#include "vfc-macro.h"

/* iovecs per process_vm_* call: a 1 MiB transfer over 4 KiB mappings fits
 * in one call. The kernel allows UIO_MAXIOV (1024). */
#define DMA_BATCH 256

/* Distinct owners one dma_rw tracks by hand; past that it polls them all. */
#define DMA_MAX_OWNERS 8

/* How long a DMA trusts an owner's last liveness check. */
#define OWNER_FRESH_NS (10ull * 1000 * 1000)

static int sys_pidfd_open(pid_t pid, unsigned int flags)
{
	return (int)syscall(SYS_pidfd_open, pid, flags);
}

/*
 * The start time (field 22) of @pid from /proc/<pid>/stat, for where
 * pidfds are missing. Return: 0, or -ESRCH when it is gone or a zombie.
 */
static int proc_start_time(pid_t pid, uint64_t *ret)
{
	char path[64], buf[1024], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -ESRCH;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -ESRCH;
	buf[n] = '\0';
	/* "pid (comm) S ...": comm may hold anything, so start after its ')' */
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ' || !p[2])
		return -ESRCH;
	p += 2;
	if (*p == 'Z' || *p == 'X' || *p == 'x')
		return -ESRCH;
	for (int field = 3; field < 22; field++) {
		p = strchr(p, ' ');
		if (!p)
			return -ESRCH;
		p++;
	}
	*ret = strtoull(p, NULL, 10);
	return 0;
}

/* Has owner @o exited? Only for owners without a pidfd. */
static bool proc_owner_dead(const struct vfc_emu_owner *o)
{
	uint64_t start;

	return proc_start_time(o->pid, &start) < 0 || start != o->start_time;
}

static unsigned int mark_dead_locked(struct vfc_emu_iommu *iommu, const uint32_t *idx,
				     unsigned int n, bool cached);
static unsigned int sweep_dead_locked(struct vfc_emu_iommu *iommu);

/* CLOCK_MONOTONIC_COARSE in ns: a vDSO read, no syscall. */
static uint64_t coarse_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Close owner @o's pidfd and free its slot; it must own no mapping. */
static void owner_drop(struct vfc_emu_owner *o)
{
	if (o->pidfd >= 0)
		close(o->pidfd);
	if (o->maps_fd >= 0)
		close(o->maps_fd);
	*o = (struct vfc_emu_owner){ .pidfd = -1, .maps_fd = -1 };
}

int vfc_emu_iommu_owner_get_locked(struct vfc_emu_iommu *iommu, pid_t pid, uint32_t *ret_idx)
{
	unsigned int used = 0, free_slot = iommu->n_owners, idle = iommu->n_owners;
	int fd;

	if (pid <= 0)
		return -EFAULT;
	for (unsigned int i = 0; i < iommu->n_owners; i++) {
		struct vfc_emu_owner *o = &iommu->owners[i];

		if (o->pid == pid) {
			/* The same pid, but maybe a later process: then the
			 * old one's mappings go and the caller gets a new slot.
			 * An idle owner is polled whatever its last check: it
			 * may have died long ago, unnoticed by any DMA. */
			if (mark_dead_locked(iommu, &i, 1, o->nmaps > 0)) {
				sweep_dead_locked(iommu);
				return vfc_emu_iommu_owner_get_locked(iommu, pid, ret_idx);
			}
			*ret_idx = i;
			return 0;
		}
		if (!o->pid) {
			if (free_slot == iommu->n_owners)
				free_slot = i;
			continue;
		}
		used++;
		if (!o->nmaps && (idle == iommu->n_owners ||
				  o->alive_at < iommu->owners[idle].alive_at))
			idle = i;
	}
	if (used >= iommu->cfg.max_owners) {
		/* Full: an idle owner makes room; with none, refuse. */
		if (idle == iommu->n_owners)
			return -ENOSPC;
		vfc_debug("emu-iommu: owner table full: evicting idle owner %d",
			  iommu->owners[idle].pid);
		owner_drop(&iommu->owners[idle]);
		free_slot = idle;
	}
	if (free_slot == iommu->n_owners) {
		struct vfc_emu_owner *o;

		o = realloc(iommu->owners, (iommu->n_owners + 1) * sizeof(*o));
		if (!o)
			return -ENOMEM;
		iommu->owners = o;
		iommu->n_owners++;
	}
	/* pidfd_open() always sets close-on-exec. */
	fd = sys_pidfd_open(pid, 0);
	iommu->pidfd_opens++;
	if (fd < 0) {
		switch (errno) {
		case ESRCH:
			return -ESRCH;
		case EINVAL:	/* not a thread-group leader */
			return -EFAULT;
		case ENOSYS:
			break;
		default:
			return -ENOMEM;
		}
	}
	/* Just found alive, by the pidfd_open() or the start time below. */
	iommu->owners[free_slot] = (struct vfc_emu_owner){
		.pid = pid, .pidfd = fd, .maps_fd = -1, .alive_at = coarse_now(),
	};
	if (fd < 0 && proc_start_time(pid, &iommu->owners[free_slot].start_time) < 0) {
		iommu->owners[free_slot] = (struct vfc_emu_owner){ .pidfd = -1, .maps_fd = -1 };
		return -ESRCH;
	}
	*ret_idx = free_slot;
	return 0;
}

void vfc_emu_iommu_owner_put_locked(struct vfc_emu_iommu *iommu, uint32_t idx)
{
	struct vfc_emu_owner *o = &iommu->owners[idx];

	/* A live owner without mappings stays, idle, for its next map. */
	if (o->nmaps || !o->pid || !o->dead)
		return;
	owner_drop(o);
}

void vfc_emu_iommu_owners_free(struct vfc_emu_iommu *iommu)
{
	for (unsigned int i = 0; i < iommu->n_owners; i++) {
		if (iommu->owners[i].pid && iommu->owners[i].pidfd >= 0)
			close(iommu->owners[i].pidfd);
		if (iommu->owners[i].pid && iommu->owners[i].maps_fd >= 0)
			close(iommu->owners[i].maps_fd);
	}
	free(iommu->owners);
	iommu->owners = NULL;
	iommu->n_owners = 0;
}

void vfc_emu_iommu_remove_locked(struct vfc_emu_iommu *iommu, struct vfc_emu_map *m)
{
	uint32_t owner = m->owner;

	if (iommu->last_hit == m)
		iommu->last_hit = NULL;
	if (iommu->dirty.on)
		vfc_emu_dirty_forget_locked(iommu, m);
	if (m->prot & VFC_EMU_MAP_VADDR_INVALID) {
		/* A DMA waiting for its vaddr now faults. */
		iommu->vaddr_invalid--;
		pthread_cond_broadcast(&iommu->vaddr_cond);
	}
	vfc_emu_tree_erase(&iommu->tree, m);
	vfc_emu_tree_release(&iommu->tree, m);
	if (owner == VFC_EMU_NO_OWNER)
		return;
	iommu->owners[owner].nmaps--;
	vfc_emu_iommu_owner_put_locked(iommu, owner);
}

/*
 * Poll the pidfds of owners @idx[0..n) and mark the exited ones dead.
 * With @cached, an owner found alive less than OWNER_FRESH_NS ago is not
 * polled again: a pid is reused only after its process exited, was reaped
 * and every other pid was handed out, which takes far longer than that.
 * Return: how many exited. A poll error counts as no news.
 */
static unsigned int mark_dead_locked(struct vfc_emu_iommu *iommu, const uint32_t *idx,
				     unsigned int n, bool cached)
{
	struct pollfd stack_fds[DMA_MAX_OWNERS];
	_cleanup_free_ struct pollfd *heap_fds = NULL;
	struct pollfd *fds = stack_fds;
	uint64_t t = coarse_now();
	unsigned int dead = 0, stale = 0;

	for (unsigned int i = 0; i < n; i++)
		stale += !cached || t - iommu->owners[idx[i]].alive_at >= OWNER_FRESH_NS;
	if (!stale)
		return 0;
	if (n > DMA_MAX_OWNERS) {
		heap_fds = calloc(n, sizeof(*heap_fds));
		if (!heap_fds)
			return 0;
		fds = heap_fds;
	}
	for (unsigned int i = 0; i < n; i++)
		fds[i] = (struct pollfd){ .fd = iommu->owners[idx[i]].pidfd, .events = POLLIN };
	/* poll() skips the -1 of owners without a pidfd */
	if (poll(fds, n, 0) < 0)
		return 0;
	for (unsigned int i = 0; i < n; i++) {
		struct vfc_emu_owner *o = &iommu->owners[idx[i]];

		if (o->pidfd >= 0 ? fds[i].revents != 0 : proc_owner_dead(o)) {
			o->dead = true;
			dead++;
		} else {
			o->alive_at = t;
		}
	}
	return dead;
}

/*
 * Remove every mapping of an owner marked dead, which drops the owner with
 * its last one, and drop the dead idle owners. O(n) in mappings.
 * Return: mappings removed.
 */
static unsigned int sweep_dead_locked(struct vfc_emu_iommu *iommu)
{
	struct vfc_emu_map *m = vfc_emu_tree_lower_bound(&iommu->tree, 0);
	unsigned int removed = 0;

	while (m) {
		struct vfc_emu_map *next = vfc_emu_tree_next(m);
		struct vfc_emu_owner *o =
			m->owner == VFC_EMU_NO_OWNER ? NULL : &iommu->owners[m->owner];

		/* A mapping whose vaddr is invalid has no owner: it waits for
		 * the next one (UPDATE_VADDR across exec or to another process). */
		if (o && o->dead) {
			pid_t pid = o->pid;

			removed++;
			if (o->nmaps == 1)
				vfc_debug("emu-iommu: owner %d exited, its mappings are gone", pid);
			vfc_emu_iommu_remove_locked(iommu, m);
		}
		m = next;
	}
	for (unsigned int i = 0; i < iommu->n_owners; i++)
		if (iommu->owners[i].pid && iommu->owners[i].dead) {
			vfc_debug("emu-iommu: idle owner %d exited", iommu->owners[i].pid);
			owner_drop(&iommu->owners[i]);
		}
	return removed;
}

unsigned int vfc_emu_iommu_reap_locked(struct vfc_emu_iommu *iommu)
{
	uint32_t stack_idx[DMA_MAX_OWNERS];
	_cleanup_free_ uint32_t *heap_idx = NULL;
	uint32_t *idx = stack_idx;
	unsigned int n = 0;

	if (iommu->n_owners > DMA_MAX_OWNERS) {
		heap_idx = calloc(iommu->n_owners, sizeof(*heap_idx));
		if (!heap_idx)
			return 0;
		idx = heap_idx;
	}
	for (unsigned int i = 0; i < iommu->n_owners; i++)
		if (iommu->owners[i].pid)
			idx[n++] = i;
	if (!mark_dead_locked(iommu, idx, n, false))
		return 0;
	return sweep_dead_locked(iommu);
}

/* The mapping holding @iova, trying the last hit first. */
static struct vfc_emu_map *lookup_locked(struct vfc_emu_iommu *iommu, uint64_t iova)
{
	struct vfc_emu_map *m = iommu->last_hit;

	if (m && m->iova <= iova && iova <= m->last)
		return m;
	return vfc_emu_tree_find(&iommu->tree, iova);
}

/* Segments of one transfer queued for one process_vm_* call. */
struct dma_batch {
	pid_t pid;
	bool write;
	unsigned long nl, nr;
	size_t bytes;
	struct iovec local[DMA_BATCH];
	struct iovec remote[DMA_BATCH];
};

/* One process_vm_* call; -EFAULT unless every byte moved. */
static int batch_flush(struct dma_batch *b)
{
	ssize_t n;

	if (!b->nl)
		return 0;
	if (b->write)
		n = process_vm_writev(b->pid, b->local, b->nl, b->remote, b->nr, 0);
	else
		n = process_vm_readv(b->pid, b->local, b->nl, b->remote, b->nr, 0);
	b->nl = b->nr = 0;
	if (n < 0 || (size_t)n != b->bytes)
		return -EFAULT;
	b->bytes = 0;
	return 0;
}

/* Queue @len bytes between @lp here and @rp in process @pid. */
static int batch_add(struct dma_batch *b, pid_t pid, uint8_t *lp, uint64_t rp, size_t len)
{
	bool merge_local, merge_remote;
	int r;

	if (b->nl && b->pid != pid) {
		r = batch_flush(b);
		if (r)
			return r;
	}
	b->pid = pid;
	merge_local = b->nl && (uint8_t *)b->local[b->nl - 1].iov_base +
				       b->local[b->nl - 1].iov_len == lp;
	merge_remote = b->nr && (uint64_t)(uintptr_t)b->remote[b->nr - 1].iov_base +
					b->remote[b->nr - 1].iov_len == rp;
	if ((!merge_local && b->nl == DMA_BATCH) || (!merge_remote && b->nr == DMA_BATCH)) {
		r = batch_flush(b);
		if (r)
			return r;
		merge_local = merge_remote = false;
	}
	if (merge_local)
		b->local[b->nl - 1].iov_len += len;
	else
		b->local[b->nl++] = (struct iovec){ .iov_base = lp, .iov_len = len };
	if (merge_remote)
		b->remote[b->nr - 1].iov_len += len;
	else
		b->remote[b->nr++] = (struct iovec){ .iov_base = (void *)(uintptr_t)rp,
						     .iov_len = len };
	b->bytes += len;
	return 0;
}

#define ANY_OWNER UINT32_MAX

/*
 * Move the bytes of [iova, last] held by mappings of @owner (or of every
 * owner, in order, with ANY_OWNER), walking from @first. Segments of one
 * owner share calls: one call for the whole transfer unless it needs more
 * than DMA_BATCH iovecs.
 */
static int xfer_owner(struct vfc_emu_iommu *iommu, struct dma_batch *b,
		      struct vfc_emu_map *first, uint64_t iova, uint64_t last, uint8_t *buf,
		      uint32_t owner)
{
	uint64_t cur = iova;
	int r;

	for (struct vfc_emu_map *m = first; m; m = vfc_emu_tree_next(m)) {
		uint64_t seg_last = VFC_MIN(m->last, last);

		if (owner == ANY_OWNER || m->owner == owner) {
			r = batch_add(b, iommu->owners[m->owner].pid, buf + (cur - iova),
				      m->vaddr + (cur - m->iova), (size_t)(seg_last - cur + 1));
			if (r)
				return r;
		}
		if (seg_last == last)
			break;
		cur = seg_last + 1;
	}
	return batch_flush(b);
}

/*
 * A DMA met a mapping whose vaddr UNMAP_DMA with VADDR invalidated: wait,
 * with the lock dropped, until MAP_DMA with VADDR gives it again or it
 * goes, as the kernel's type1 of 5.12 to 6.2 did (vfio_find_dma_valid(),
 * without a bound; newer kernels refuse VADDR updates with emulated
 * devices instead). We wait cfg.vaddr_wait_ms in all, from the first wait
 * (@deadline, zero until then), so that a client that never comes back
 * cannot hold a device thread forever.
 * Return: 0 to look again; -EFAULT once the time is up.
 */
static int wait_vaddr_locked(struct vfc_emu_iommu *iommu, uint64_t iova,
			     struct timespec *deadline)
{
	int r;

	if (!deadline->tv_sec && !deadline->tv_nsec) {
		clock_gettime(CLOCK_MONOTONIC, deadline);
		deadline->tv_sec += iommu->cfg.vaddr_wait_ms / 1000;
		deadline->tv_nsec += (long)(iommu->cfg.vaddr_wait_ms % 1000) * 1000000;
		if (deadline->tv_nsec >= 1000000000) {
			deadline->tv_sec++;
			deadline->tv_nsec -= 1000000000;
		}
	}
	r = iommu->cfg.vaddr_wait_ms ? pthread_cond_timedwait(&iommu->vaddr_cond, &iommu->lock,
							       deadline)
				     : ETIMEDOUT;
	if (r == ETIMEDOUT) {
		vfc_info("emu-iommu: DMA at 0x%llx: its vaddr stayed invalid (UNMAP_DMA VADDR) "
			 "for %u ms: fault", (unsigned long long)iova, iommu->cfg.vaddr_wait_ms);
		return -EFAULT;
	}
	return 0;
}

int vfc_emu_iommu_dma_rw(void *data, uint64_t iova, void *buf, size_t len, bool write)
{
	struct vfc_emu_iommu *iommu = data;
	uint8_t need = write ? VFC_EMU_PROT_WRITE : VFC_EMU_PROT_READ;
	uint32_t owners[DMA_MAX_OWNERS];
	unsigned int n_owners;
	bool many, reaped = false;
	struct dma_batch batch;	/* 8 KiB of iovecs: no allocation per DMA */
	struct vfc_emu_map *first, *m;
	struct timespec deadline = { 0, 0 };
	uint64_t last, cur;
	int r = 0;

	batch.nl = batch.nr = 0;
	batch.bytes = 0;
	if (!len)
		return 0;
	last = iova + (len - 1);
	if (last < iova)
		return -EFAULT;

	pthread_mutex_lock(&iommu->lock);
again:
	/* Every byte must be mapped with the permission before any moves. */
	n_owners = 0;
	many = false;
	cur = iova;
	first = m = lookup_locked(iommu, iova);
	for (;;) {
		unsigned int i;

		if (!m || m->iova > cur || !(m->prot & need)) {
			r = -EFAULT;
			goto unlock;
		}
		if (m->prot & VFC_EMU_MAP_VADDR_INVALID) {
			r = wait_vaddr_locked(iommu, iova, &deadline);
			if (r)
				goto unlock;
			goto again;
		}
		for (i = 0; i < n_owners && owners[i] != m->owner; i++)
			;
		if (i == n_owners) {
			if (n_owners < DMA_MAX_OWNERS)
				owners[n_owners++] = m->owner;
			else
				many = true;
		}
		if (m->last >= last)
			break;
		cur = m->last + 1;
		m = vfc_emu_tree_next(m);
	}
	iommu->last_hit = m;

	/*
	 * No DMA reaches an owner that exited, nor whoever reuses its pid:
	 * its mappings go, and the range is checked again (and faults where
	 * they were). The second pass trusts the first one's check.
	 */
	if (!reaped && (many ? vfc_emu_iommu_reap_locked(iommu)
			     : mark_dead_locked(iommu, owners, n_owners, true) &&
				       sweep_dead_locked(iommu))) {
		reaped = true;
		goto again;
	}
	batch.write = write;
	if (many)
		r = xfer_owner(iommu, &batch, first, iova, last, buf, ANY_OWNER);
	for (unsigned int i = 0; i < n_owners && !many && !r; i++)
		r = xfer_owner(iommu, &batch, first, iova, last, buf, owners[i]);
	/* Written pages are dirty; after a fault too, as some bytes may have
	 * moved (a superset, as dirty tracking promises). */
	if (write && iommu->dirty.on)
		for (m = first, cur = iova;; m = vfc_emu_tree_next(m)) {
			uint64_t seg_last = VFC_MIN(m->last, last);

			vfc_emu_dirty_mark_locked(iommu, m, cur, seg_last);
			if (seg_last == last)
				break;
			cur = seg_last + 1;
		}
	if (r) {
		/* The owner may have exited, or unmapped its memory. */
		if (vfc_emu_iommu_reap_locked(iommu))
			vfc_debug("emu-iommu: DMA at 0x%llx hit an exited owner",
				  (unsigned long long)iova);
	}
unlock:
	pthread_mutex_unlock(&iommu->lock);
	return r;
}
