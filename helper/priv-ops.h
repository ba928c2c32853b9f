/* SPDX-License-Identifier: MIT */
/*
 * The privileged operations of include/vfc-priv.h, done in the calling
 * process. Shared by the daemon's direct table (vfc_priv_direct()) and by
 * vfio-cuse-helper. Each checks its own arguments, logs nothing, allocates
 * nothing (but the reaper's threads), and returns a new O_CLOEXEC fd owned by the caller, or -errno.
 *
 * "Client process": one that holds an open file of a character device of
 * @cuse_major, the daemon's CUSE major (0 matches no process).
 */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include "vfc-priv.h"

#define VFC_PRIV_NAME_MAX 64	/* device names, NUL included */

/** vfc_priv_do_open_container() - the kernel's /dev/vfio/vfio. Return: fd, -errno of open. */
int vfc_priv_do_open_container(void);

/** vfc_priv_do_open_group() - the kernel's /dev/vfio/@group. Return: fd, -errno of open. */
int vfc_priv_do_open_group(unsigned int group);

/**
 * vfc_priv_do_get_device_fd() - VFIO_GROUP_GET_DEVICE_FD.
 * @group_fd: a kernel group fd; borrowed.
 * @name: the device's name, shorter than VFC_PRIV_NAME_MAX.
 * Return: fd; -EINVAL (empty or too long name), -EBADF, or the ioctl's errno.
 */
int vfc_priv_do_get_device_fd(int group_fd, const char *name);

/**
 * vfc_priv_do_get_client_fd() - pidfd_getfd() of fd @fd of client process
 * @pid, whose thread @tid made the request.
 * @flags: 0, or VFC_PRIV_CLIENT_FD_EVENTFD_ONLY.
 *
 * Only two kinds of file come back: files of the daemon's CUSE nodes
 * (character devices of @cuse_major) and eventfds, the only ones a VFIO
 * argument names; neither can block its holder's close on a foreign
 * server. With VFC_PRIV_CLIENT_FD_EVENTFD_ONLY, only eventfds: closing
 * one never sends a request anywhere. The file is judged in the client
 * first (/proc/@pid/fd and fdinfo, asking no filesystem server), and any
 * other kind is refused without being fetched. A client that swaps
 * another file in between that check and the fetch has it closed on the
 * reaper (reaper.h), whose slot is reserved before the fetch.
 * Return: fd; -ESRCH (no such process, or @tid is not one of its threads),
 * -EPERM (not a client, or no ptrace rights), -EBADF, -EBADFD (open, but
 * neither a file of ours nor an eventfd; with EVENTFD_ONLY, not an
 * eventfd), -EINVAL (an unknown bit in @flags), -EMFILE (the caller's uid has
 * VFC_REAPER_PER_UID swapped-in files still closing, or all uids have
 * VFC_REAPER_MAX), or the errno of pidfd_open/pidfd_getfd.
 */
int vfc_priv_do_get_client_fd(unsigned int cuse_major, pid_t pid, pid_t tid, int fd,
			      uint32_t flags);
