/* SPDX-License-Identifier: MIT */
/*
 * The private protocol between vfio-cused and its client library
 * (libvfio-cuse-preload.so), spoken as ioctls on vfio-cused's own CUSE
 * nodes. Nothing here is VFIO ABI; unmodified clients never see it.
 *
 * Device fds. CUSE cannot hand a new fd to a caller, so the library makes
 * one: it opens the device node (<prefix>/cuse-device), ARMs it with its own
 * fd number, then issues the real VFIO_GROUP_GET_DEVICE_FD on the group fd
 * from the same thread. vfio-cused binds the opened device to the armed
 * file and returns that fd number as the ioctl's result, so the caller
 * gets a real fd: it survives dup and fork, and the device closes when its
 * last copy does. Device ioctls then travel on it like any other.
 *
 * Region access. CUSE files are not seekable: pread/pwrite fail with
 * ESPIPE and read/write reach the daemon at offset 0. The library turns
 * pread/pwrite on a device fd into VFC_CUSE_DEVICE_RW; read/write go to
 * the daemon unchanged and use a file position it keeps per open file.
 *
 * Magic 0xEA: not in the kernel's ioctl-number table; the numbers carry
 * direction and size so that they cannot equal a VFIO number.
 */
#pragma once

#include <linux/ioctl.h>
#include <stdint.h>

#define VFC_CUSE_MAGIC 0xEA

/* Node names under /dev: "<prefix>/vfio", "<prefix>/<group>", and: */
#define VFC_CUSE_DEVICE_NODE_NAME "cuse-device"
/* The library finds the device node through this variable, else the default. */
#define VFC_CUSE_ENV_DEVICE_NODE "VFIO_CUSE_DEVICE_NODE"
#define VFC_CUSE_DEFAULT_DEVICE_NODE "/dev/vfio/" VFC_CUSE_DEVICE_NODE_NAME

/*
 * On a freshly opened device node: the next VFIO_GROUP_GET_DEVICE_FD from
 * this thread binds its device here and returns @arg (an integer: the
 * caller's own fd number of this file). EBUSY if already armed or bound.
 * _IO, not _IOW: the argument is a value, and tools that decode ioctl
 * numbers (valgrind, strace) must not read memory at it.
 */
#define VFC_CUSE_DEVICE_ARM _IO(VFC_CUSE_MAGIC, 1)

/* VFC_CUSE_DEVICE_RW: pread/pwrite on a device fd. Returns bytes done. */
struct vfc_cuse_rw {
	uint64_t offset;	/* region offset + offset in the region */
	uint64_t buf;		/* caller address of the data */
	uint32_t len;		/* at most VFC_CUSE_RW_MAX */
	uint32_t flags;
};
#define VFC_CUSE_RW_WRITE (1u << 0)
#define VFC_CUSE_RW_MAX (64u * 1024u)
#define VFC_CUSE_DEVICE_RW _IOWR(VFC_CUSE_MAGIC, 2, struct vfc_cuse_rw)

/*
 * VFC_CUSE_IDENTIFY: which of the daemon's objects a file is. Only the
 * daemon itself may ask (it fetched a caller's fd with pidfd_getfd and
 * needs to know which container it is); others get EPERM.
 */
struct vfc_cuse_identity {
	uint32_t kind;		/* VFC_CUSE_KIND_* */
	uint32_t pad;
	uint64_t id;		/* container id, group number, or 0 */
};
#define VFC_CUSE_KIND_CONTAINER 1
#define VFC_CUSE_KIND_GROUP 2
#define VFC_CUSE_KIND_DEVICE 3
#define VFC_CUSE_IDENTIFY _IOR(VFC_CUSE_MAGIC, 3, struct vfc_cuse_identity)
