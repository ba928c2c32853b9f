/* SPDX-License-Identifier: MIT */
/*
 * The daemon's side of vfio-cuse-helper (helper-client.c): start it, and a
 * struct vfc_priv whose ops are requests to it (include/vfc-helper-proto.h).
 */
#pragma once

#include <stddef.h>

#include "vfc-priv.h"

/* Where vfio-cuse-helper is installed. */
extern const char vfc_priv_helper_default_path[];

/**
 * vfc_priv_helper_start() - fork and exec the helper, with one end of a
 * SOCK_SEQPACKET socketpair as its fd 3 (every other fd of ours is
 * O_CLOEXEC). It inherits our signal mask: with SIGTERM blocked, as in the
 * daemon, it outlives us until our end of the socket closes.
 * @helper_path: the program.
 * @groups: @n: the groups its open_group may open (copied).
 * @major: the daemon's CUSE major: its client processes are the ones
 *         holding a file of this major.
 * @ret: the table, which the caller owns; free it with vfc_priv_helper_free().
 *
 * Ops give what the helper answers, -EINVAL/-EBADF/-ESRCH/-EPERM for
 * arguments it would refuse (they are never sent), and -EIO once the
 * helper is gone. Its end is logged once, at error level. Ops are
 * serialised; any thread may call them.
 * Return: 0; -ENOMEM; the errno of socketpair, fork, or of exec (e.g.
 * -ENOENT for a wrong @helper_path: nothing is left running).
 */
int vfc_priv_helper_start(const char *helper_path, const unsigned int *groups, unsigned int n,
			  unsigned int major, struct vfc_priv **ret);

/**
 * vfc_priv_helper_free() - close our end (the helper then exits 0), reap
 * it, free @p. NULL is fine.
 * Return: NULL.
 */
struct vfc_priv *vfc_priv_helper_free(struct vfc_priv *p);

/**
 * vfc_priv_helper_call() - send one request as it is, with @fds (borrowed),
 * and wait for the reply. The ops use it; tests send malformed requests
 * with it.
 * @p: a table from vfc_priv_helper_start().
 * Return: a new fd owned by the caller; the helper's -errno; -EBADF (one of
 * @fds is not open: nothing was sent); -EINVAL (more than 4 fds); -EIO (the
 * helper is gone, or ended on this request).
 */
int vfc_priv_helper_call(struct vfc_priv *p, const void *msg, size_t len, const int *fds,
			 unsigned int n_fds);

/**
 * vfc_priv_helper_wait_status() - how the helper ended, once it has.
 * Return: its waitpid() status, or -1 while it runs.
 */
int vfc_priv_helper_wait_status(struct vfc_priv *p);
