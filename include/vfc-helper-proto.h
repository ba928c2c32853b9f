/* SPDX-License-Identifier: MIT */
/*
 * The wire protocol between vfio-cused and vfio-cuse-helper: one
 * SOCK_SEQPACKET socket, fd 3 in the helper. The daemon sends one request
 * message per op; each op has ONE size and ONE number of fds passed in
 * (vfc_helper_ops[]), so the helper can check a message against the table
 * before it reads a field. Every field is fixed-width; reserved fields and
 * the bytes after a string's NUL are zero.
 *
 * The helper answers each request with a struct vfc_helper_reply carrying
 * status 0 and exactly one fd (SCM_RIGHTS), or status -errno and no fd.
 * After a reply with an fd, the helper closes its own copy and then sends a
 * second reply, {0, 0} without an fd: the "closed" notice. The daemon keeps
 * its copy open until that notice arrives, so the helper never drops the
 * last reference of a file it passed on. (That could be a client's file of
 * one of the daemon's own CUSE nodes, whose release waits for the daemon:
 * a helper stuck there while the daemon waits for its reply is a deadlock.)
 *
 * Anything else from the daemon (a size, an op, an fd count, a value out of
 * its range, a nonzero reserved byte) ends the helper with
 * VFC_HELPER_EXIT_VIOLATION and one line on stderr. The end of the socket
 * ends it with 0.
 */
#pragma once

#include <stdint.h>

#define VFC_HELPER_SOCKET_FD 3
#define VFC_HELPER_NAME_MAX 64		/* device name, NUL included */

/* The helper's exit statuses. */
#define VFC_HELPER_EXIT_OK 0		/* the daemon closed the socket */
#define VFC_HELPER_EXIT_SETUP 2		/* bad argv, fd 3 not the socket, capset */
#define VFC_HELPER_EXIT_VIOLATION 3	/* a request broke this protocol */
#define VFC_HELPER_EXIT_IO 4		/* the socket failed */

enum vfc_helper_op {
	VFC_HELPER_OPEN_CONTAINER = 1,
	VFC_HELPER_OPEN_GROUP = 2,
	VFC_HELPER_GET_DEVICE_FD = 3,
	/* 4 was OPEN_MAP_FILE, retired: the client maps its own memory now */
	VFC_HELPER_GET_CLIENT_FD = 5,
	VFC_HELPER_N_OPS,
};

struct vfc_helper_hdr {
	uint32_t op;			/* enum vfc_helper_op */
	uint32_t reserved;
};

struct vfc_helper_open_container {
	struct vfc_helper_hdr hdr;
};

struct vfc_helper_open_group {
	struct vfc_helper_hdr hdr;
	uint32_t group;			/* one the helper was started with */
	uint32_t reserved;
};

/* Passes the kernel group fd in. */
struct vfc_helper_get_device_fd {
	struct vfc_helper_hdr hdr;
	char name[VFC_HELPER_NAME_MAX];	/* NUL-terminated, zero-filled */
};

/* get_client_fd's flags: only an eventfd may come back (vfc-priv.h). */
#define VFC_HELPER_CLIENT_FD_EVENTFD_ONLY (1u << 0)
#define VFC_HELPER_CLIENT_FD_FLAGS VFC_HELPER_CLIENT_FD_EVENTFD_ONLY	/* all known */

struct vfc_helper_get_client_fd {
	struct vfc_helper_hdr hdr;
	int32_t pid, tid;		/* > 0 */
	int32_t fd;			/* >= 0 */
	uint32_t flags;			/* VFC_HELPER_CLIENT_FD_*; others are a violation */
};

union vfc_helper_request {
	struct vfc_helper_hdr hdr;
	struct vfc_helper_open_container open_container;
	struct vfc_helper_open_group open_group;
	struct vfc_helper_get_device_fd get_device_fd;
	struct vfc_helper_get_client_fd get_client_fd;
};

struct vfc_helper_reply {
	int32_t status;			/* 0 (one fd attached) or -errno (none) */
	uint32_t reserved;
};

/* The one size and fd count of each op's request. */
static const struct {
	uint32_t size;
	uint32_t n_fds;
} vfc_helper_ops[VFC_HELPER_N_OPS] = {
	[VFC_HELPER_OPEN_CONTAINER] = { sizeof(struct vfc_helper_open_container), 0 },
	[VFC_HELPER_OPEN_GROUP] = { sizeof(struct vfc_helper_open_group), 0 },
	[VFC_HELPER_GET_DEVICE_FD] = { sizeof(struct vfc_helper_get_device_fd), 1 },
	/* op 4: size 0, so every message of it is a violation */
	[VFC_HELPER_GET_CLIENT_FD] = { sizeof(struct vfc_helper_get_client_fd), 0 },
};

/* Every size differs, so no op's message passes for another's. */
_Static_assert(sizeof(struct vfc_helper_open_container) == 8, "wire size");
_Static_assert(sizeof(struct vfc_helper_open_group) == 16, "wire size");
_Static_assert(sizeof(struct vfc_helper_get_device_fd) == 72, "wire size");
_Static_assert(sizeof(struct vfc_helper_get_client_fd) == 24, "wire size");
_Static_assert(sizeof(struct vfc_helper_reply) == 8, "wire size");
