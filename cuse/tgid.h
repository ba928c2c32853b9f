/* SPDX-License-Identifier: MIT */
/*
 * Which process a FUSE request's thread belongs to, cheaply: a small
 * lock-free cache of thread id -> thread-group id, each answer checked
 * with one tgkill(tgid, tid, 0) before use. Free of libfuse, so its tests
 * build it alone (tests/test-tgid.c).
 */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#define VFC_TGID_CACHE_SLOTS 256	/* a power of two */

/**
 * struct vfc_tgid_cache - thread id -> thread-group id, as hints.
 * @slot: (tid << 32 | tgid) per slot, indexed by the tid's low bits; 0 is
 *        empty. Each slot is one atomic word, so readers and writers need
 *        no lock and never see half an entry.
 * @proc_reads: /proc/<tid>/status reads made (misses and stale entries),
 *              for tests and statistics.
 *
 * Zero-initialised is empty. An entry is only a hint: it is used only
 * once the kernel confirms, within the request, that thread tid exists
 * and belongs to group tgid.
 */
struct vfc_tgid_cache {
	uint64_t slot[VFC_TGID_CACHE_SLOTS];
	uint64_t proc_reads;
};

/**
 * vfc_tgid_cache_lookup() - the thread group of thread @tid.
 * @c: the cache.
 * @tid: a thread id in our pid namespace, as FUSE names a caller; any
 *       value (0, negative, or past pid_max) is safe.
 *
 * A cached entry is confirmed with tgkill(tgid, @tid, 0): the kernel
 * answers ESRCH unless thread @tid exists in thread group tgid (0 or
 * EPERM: it does). Otherwise /proc/@tid/status is read and the entry
 * refilled. The answer is the current one; it stays true only while
 * @tid cannot exit, as while its FUSE request is in flight.
 *
 * Return: the tgid (> 0), or -ESRCH (no such thread, or @tid <= 0).
 */
pid_t vfc_tgid_cache_lookup(struct vfc_tgid_cache *c, pid_t tid);

/**
 * vfc_tgid_cache_store() - remember @tid -> @tgid, replacing the slot's
 * entry. Lookups check it before use, so a wrong entry costs a /proc read,
 * never a wrong answer (tests store wrong ones on purpose).
 * @c: the cache.
 * @tid: > 0, or nothing is stored.
 * @tgid: > 0, or nothing is stored.
 */
void vfc_tgid_cache_store(struct vfc_tgid_cache *c, pid_t tid, pid_t tgid);

/**
 * vfc_tgid_read_proc() - the thread group of @tid from /proc/@tid/status,
 * uncached.
 * Return: the tgid (> 0), or -ESRCH.
 */
pid_t vfc_tgid_read_proc(pid_t tid);

/**
 * vfc_tgid_of() - vfc_tgid_cache_lookup() on the daemon's one cache
 * (also declared in daemon.h).
 * Return: the tgid (> 0), or -ESRCH.
 */
pid_t vfc_tgid_of(pid_t tid);
