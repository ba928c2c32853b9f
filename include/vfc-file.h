/* SPDX-License-Identifier: MIT */
/*
 * The core's file object: one open container, group or device file, as a
 * transport sees it. Like the kernel's one file_operations per kind, the
 * kind dispatch lives here, not in the transports: a transport opens a
 * file, passes it ioctls and region accesses, and releases it. It learns
 * what an ioctl needs from it (struct vfc_ioctl_desc): those properties
 * sit beside each handler, in one table per kind (container.c, group.c,
 * device.c), so a new ioctl is one table row and its handler.
 *
 * Lifetime rule, as in the kernel: files may be released in any order
 * (vfc-core.h). A file is used by one transport request at a time or
 * several: the object is immutable after open but for its device binding,
 * which has its own lock.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "vfc-core.h"

enum vfc_file_kind {
	VFC_FILE_CONTAINER,
	VFC_FILE_GROUP,
	VFC_FILE_DEVICE,
};

/* struct vfc_ioctl_desc.flags */
/* Uses its caller: the caller's pid (MAP_DMA records the owner) or fds it
 * names. A transport without this bit may give a caller with pid 0. */
#define VFC_IOCTL_CALLER (1u << 0)
/* May wait for a nested request of the same transport: resolving a named
 * fd issues an ioctl on it, or closes a file of ours. A transport must
 * serve it where another request can be served meanwhile. */
#define VFC_IOCTL_NESTS (1u << 1)
/* Only on devices with VFIO_DEVICE_FLAGS_PCI; ENOTTY on others. */
#define VFC_IOCTL_PCI (1u << 2)

struct vfc_container;
struct vfc_group;
struct vfc_device;

/**
 * struct vfc_ioctl_desc - one ioctl of one file kind.
 * @cmd: its number; 0 in the row that serves every unknown number.
 * @name: as in <linux/vfio.h> without the VFIO_ prefix.
 * @flags: VFC_IOCTL_*.
 * @max_retries: the most VFC_IOCTL_RETRY rounds its handler asks for
 *               (CUSE: one round trip each, plus the first). The in-process
 *               transport fails a call that needs more with EIO.
 * @fn: the handler of this kind.
 */
struct vfc_ioctl_desc {
	unsigned int cmd;
	const char *name;
	unsigned int flags;
	unsigned int max_retries;
	union {
		int (*container)(struct vfc_container *c, struct vfc_ioctl *io);
		int (*group)(struct vfc_group *g, struct vfc_ioctl *io);
		int (*device)(struct vfc_device *d, struct vfc_ioctl *io);
	} fn;
};

struct vfc_file;

/**
 * vfc_ioctl_desc() - what ioctl @cmd is on a file of @kind.
 * Return: its row; for an unknown number, the kind's default row (name
 * "unknown"). Never NULL.
 */
const struct vfc_ioctl_desc *vfc_ioctl_desc(enum vfc_file_kind kind, unsigned int cmd);

/**
 * vfc_file_open_container() - open(/dev/vfio/vfio): a new, empty container.
 * @ret_file: the new file, owned by the caller; untouched on failure.
 * Return: 0, -ENOMEM.
 */
int vfc_file_open_container(struct vfc_core *core, struct vfc_file **ret_file);

/**
 * vfc_file_open_group() - open(/dev/vfio/@id), as the kernel's group open.
 * Return: 0; -ENODEV (no such group), -EBUSY (already open, or held by a
 * device of an earlier open), -ENOMEM.
 */
int vfc_file_open_group(struct vfc_core *core, unsigned int id, struct vfc_file **ret_file);

/**
 * vfc_file_new_device() - a device file.
 * @df: the device it serves, or NULL for one that a transport binds later
 *      (vfc_file_bind_device()). On success the reference moves to the
 *      file; on failure the caller keeps it.
 * Return: 0, -ENOMEM.
 */
int vfc_file_new_device(struct vfc_device_file *df, struct vfc_file **ret_file);

/**
 * vfc_file_release() - drop a reference (the transport's, at its last
 * close); the last gives everything back. NULL is fine.
 * Return: NULL.
 */
struct vfc_file *vfc_file_release(struct vfc_file *f);

/**
 * vfc_file_bind_device() - bind an unbound device file.
 * @df: on success the reference moves to @f; on failure the caller keeps it.
 * Return: 0; -EBUSY when @f is bound already; -EINVAL when it is no device file.
 */
int vfc_file_bind_device(struct vfc_file *f, struct vfc_device_file *df);

/**
 * vfc_file_ioctl() - one round of an ioctl (vfc-ioctl.h's retry protocol).
 * Return: the handler's result, VFC_IOCTL_RETRY, or -errno; -ENOTTY on an
 * unbound device file and for unknown numbers.
 */
int vfc_file_ioctl(struct vfc_file *f, struct vfc_ioctl *io);

/**
 * vfc_file_rw() - pread/pwrite at @off: a region's reported offset plus
 * the offset in it.
 * Return: bytes done; -EINVAL (an offset in no region, or an unbound
 * device file), -ESPIPE (containers and groups are not seekable).
 */
ssize_t vfc_file_rw(struct vfc_file *f, uint64_t off, void *buf, size_t len, bool write);

/**
 * vfc_file_mmap() - what mmap(len, MAP_SHARED or not, fd, @off) of the file
 * maps: a file a transport hands the caller to map instead.
 * Return: 0 with a new fd in *@ret_fd (the caller owns it) and its offset
 * in *@ret_off; -ENODEV for containers and groups (the kernel's VFIO files
 * have no mmap there), -EINVAL on an unbound device file, or
 * vfc_device_file_mmap()'s errno.
 */
int vfc_file_mmap(struct vfc_file *f, uint64_t off, uint64_t len, bool shared, int *ret_fd,
		  uint64_t *ret_off);

/** vfc_file_ref() - another reference; the file lives until the last unref. */
struct vfc_file *vfc_file_ref(struct vfc_file *f);

enum vfc_file_kind vfc_file_kind(const struct vfc_file *f);
/** vfc_file_id() - a number unique among the core's files, for logs and traces. */
uint64_t vfc_file_id(const struct vfc_file *f);
/** vfc_file_container() - a container file's container (borrowed), or NULL. */
struct vfc_container *vfc_file_container(const struct vfc_file *f);
/** vfc_file_group() - a group file's group number, or -1. */
int vfc_file_group(const struct vfc_file *f);
/** vfc_file_is_bound() - whether a device file serves a device. */
bool vfc_file_is_bound(struct vfc_file *f);
