/* SPDX-License-Identifier: MIT */
/*
 * The privileged operations vfio-cused needs after start-up, behind one
 * table: done directly while the daemon is root, or asked of the separate
 * privileged helper (vfio-cuse-helper) once the daemon runs as an
 * unprivileged user. A closed set, each with bounded arguments:
 *
 *  - open_container: the kernel's /dev/vfio/vfio;
 *  - open_group: the kernel's /dev/vfio/<group>, for a group the daemon
 *    was configured with at start (the helper keeps that list);
 *  - get_device_fd: VFIO_GROUP_GET_DEVICE_FD on a kernel group fd;
 *  - get_client_fd: pidfd_getfd() of a client's fd (needs ptrace rights);
 *    @tid is the calling thread FUSE named, which must still belong to
 *    @pid once the pidfd is open (pid reuse). @flags is 0 or
 *    VFC_PRIV_CLIENT_FD_EVENTFD_ONLY.
 *
 * get_client_fd serves only client processes: those that hold an open file
 * of one of the daemon's CUSE nodes. (A fifth op, open_map_file, is gone:
 * the kernel backend's clients map their own memory.)
 *
 * Every op returns a new O_CLOEXEC fd owned by the caller, or -errno.
 */
#pragma once

#include <stdint.h>
#include <sys/types.h>

struct vfc_priv;

/*
 * get_client_fd's @flags: hand back an eventfd or nothing. A file of the
 * daemon's own nodes is then refused like any other file (-EBADFD), so the
 * caller never holds one and never closes one: no nested release, and the
 * request may be served on the thread that serves the nodes. One swapped
 * in after the check is closed on the reaper, never by the caller.
 */
#define VFC_PRIV_CLIENT_FD_EVENTFD_ONLY (1u << 0)
#define VFC_PRIV_CLIENT_FD_FLAGS VFC_PRIV_CLIENT_FD_EVENTFD_ONLY	/* all known */

struct vfc_priv_ops {
	int (*open_container)(struct vfc_priv *p);
	int (*open_group)(struct vfc_priv *p, unsigned int group);
	int (*get_device_fd)(struct vfc_priv *p, int group_fd, const char *name);
	int (*get_client_fd)(struct vfc_priv *p, pid_t pid, pid_t tid, int fd, uint32_t flags);
};

struct vfc_priv {
	const struct vfc_priv_ops *ops;
};

/**
 * vfc_priv_direct() - the table that does every op itself (the daemon is
 * root, or holds the capabilities each op needs).
 * Return: a static instance.
 */
struct vfc_priv *vfc_priv_direct(void);

/**
 * vfc_priv_direct_set_major() - the daemon's CUSE major, once its nodes
 * exist. The direct table's get_client_fd serves only
 * processes holding a file of that major; until it is set, none (-EPERM).
 */
void vfc_priv_direct_set_major(unsigned int cuse_major);
