/* SPDX-License-Identifier: MIT */
/*
 * Closes that may block, off the serving threads. close() of a file is not
 * local: on FUSE it sends FLUSH and waits for that filesystem's server,
 * which any user can run, uninterruptibly. So a file fetched from a client
 * that is neither one of the daemon's own nor an eventfd is closed on a
 * thread of its own. Slots are reserved BEFORE the fetch, per uid and in
 * total, so a client can pin at most its uid's share, and the fetch is
 * refused with EMFILE once that share is used up.
 */
#pragma once

#include <sys/types.h>

#define VFC_REAPER_PER_UID 4	/* closes one uid may have pending */
#define VFC_REAPER_MAX 64	/* in total */

/**
 * vfc_reaper_reserve() - reserve a slot for a close that may block.
 * @uid: the client's uid.
 * Return: 0; -EMFILE when @uid's share or the total is used up.
 */
int vfc_reaper_reserve(uid_t uid);

/** vfc_reaper_release() - give back a slot that was not needed. */
void vfc_reaper_release(uid_t uid);

/**
 * vfc_reaper_close() - close @fd on a detached thread; the slot reserved
 * for @uid is given back when that close returns.
 * @fd: owned by the reaper from here on, on success and failure alike. If
 *      no thread can be started, @fd is kept open and its slot stays used:
 *      bounded, and safer than blocking the caller.
 */
void vfc_reaper_close(int fd, uid_t uid);

/** vfc_reaper_pending() - closes not yet returned, for @uid or (uid_t)-1 for all. */
unsigned int vfc_reaper_pending(uid_t uid);
