/* SPDX-License-Identifier: MIT */
/*
 * Thread id -> thread-group id for FUSE callers (tgid.h), without a /proc
 * read per request. FUSE names a request's caller by its thread; ioctls
 * that use the caller need its process, and this used to cost an
 * fopen/fgets of /proc/<tid>/status on every round trip.
 *
 * Why a cached entry can be trusted after one syscall: tgkill(tgid, tid,
 * 0) reaches do_send_specific(), which finds task @tid and fails with
 * ESRCH unless it exists and its tgid is @tgid; only then are permissions
 * checked (EPERM for an unprivileged daemon: still a match). The caller's
 * thread cannot exit while its request is in flight (fs/fuse/dev.c,
 * request_wait_answer), so a confirmed entry is its current process. An
 * entry left by a thread that exited, whose tid another process reuses,
 * fails the check and is refilled from /proc. The slots are single
 * atomic words: the poll thread and the workers share them without a lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "tgid.h"

static struct vfc_tgid_cache daemon_cache;

static uint64_t *slot_of(struct vfc_tgid_cache *c, pid_t tid)
{
	/* Thread ids are handed out in sequence: their low bits spread well. */
	return &c->slot[(uint32_t)tid & (VFC_TGID_CACHE_SLOTS - 1)];
}

pid_t vfc_tgid_read_proc(pid_t tid)
{
	static const char tag[] = "\nTgid:";
	char path[32], buf[1024], *p;
	long tgid;
	ssize_t n;
	int fd;

	if (tid <= 0)
		return -ESRCH;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -ESRCH;
	/* Name (at most 64 escaped bytes), Umask, State, then Tgid. */
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -ESRCH;
	buf[n] = '\0';
	p = strstr(buf, tag);
	if (!p)
		return -ESRCH;
	tgid = strtol(p + sizeof(tag) - 1, NULL, 10);
	return tgid > 0 && tgid <= INT32_MAX ? (pid_t)tgid : -ESRCH;
}

void vfc_tgid_cache_store(struct vfc_tgid_cache *c, pid_t tid, pid_t tgid)
{
	if (tid <= 0 || tgid <= 0)
		return;
	__atomic_store_n(slot_of(c, tid), (uint64_t)(uint32_t)tid << 32 | (uint32_t)tgid,
			 __ATOMIC_RELAXED);
}

pid_t vfc_tgid_cache_lookup(struct vfc_tgid_cache *c, pid_t tid)
{
	uint64_t e;
	pid_t tgid;

	if (tid <= 0)
		return -ESRCH;
	e = __atomic_load_n(slot_of(c, tid), __ATOMIC_RELAXED);
	if ((pid_t)(e >> 32) == tid) {
		tgid = (pid_t)(uint32_t)e;
		/* ESRCH: gone, or now of another group. Anything else but
		 * EPERM (a security module's say) is no proof: read /proc. */
		if (syscall(SYS_tgkill, tgid, tid, 0) == 0 || errno == EPERM)
			return tgid;
	}
	__atomic_fetch_add(&c->proc_reads, 1, __ATOMIC_RELAXED);
	tgid = vfc_tgid_read_proc(tid);
	if (tgid > 0)
		vfc_tgid_cache_store(c, tid, tgid);
	return tgid;
}

pid_t vfc_tgid_of(pid_t tid)
{
	return vfc_tgid_cache_lookup(&daemon_cache, tid);
}
