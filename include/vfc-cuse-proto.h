/* SPDX-License-Identifier: MIT */
/*
 * The private protocol between vfio-cused and its client library
 * (libvfio-cuse-preload.so), spoken as ioctls on vfio-cused's own CUSE
 * nodes. Nothing here is VFIO ABI; unmodified clients never see it.
 *
 * Device fds. CUSE cannot hand a new fd to a caller, so the library makes
 * one: it opens the device node (<prefix>/cuse-device) and issues
 * VFC_CUSE_DEVICE_OPEN on that new file, naming its group fd and the
 * device's name. vfio-cused resolves the group fd in the calling process
 * (it must hold that group file), runs the group's GET_DEVICE_FD, and
 * binds the device to the very file the request came on. The caller so
 * gets a real fd: it survives dup and fork, and the device closes when its
 * last copy does. Device ioctls then travel on it like any other.
 *
 * One request names both files, so no state waits between requests for a
 * thread id to claim it: a GET_DEVICE_FD issued straight on a group fd
 * (a client without the library) binds nothing and fails with EOPNOTSUPP.
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

#include <errno.h>
#include <linux/ioctl.h>
#include <stdint.h>

#define VFC_CUSE_MAGIC 0xEA

/* Node names under /dev: "<prefix>/vfio", "<prefix>/<group>", and: */
#define VFC_CUSE_DEVICE_NODE_NAME "cuse-device"
/* The library finds the device node through this variable, else the default. */
#define VFC_CUSE_ENV_DEVICE_NODE "VFIO_CUSE_DEVICE_NODE"
#define VFC_CUSE_DEFAULT_DEVICE_NODE "/dev/vfio/" VFC_CUSE_DEVICE_NODE_NAME

/*
 * VFC_CUSE_DEVICE_OPEN, on a freshly opened device node: what
 * VFIO_GROUP_GET_DEVICE_FD(@group_fd, @name) would open, bound to this
 * file. Returns @device_fd, the caller's own number of this file.
 * Errors: those of GET_DEVICE_FD on that group (EFAULT for @name
 * included), and EBUSY (this file is bound already), EINVAL (@flags or
 * @reserved not 0), EBADF (@group_fd or @device_fd is not an fd number, or
 * @group_fd is not open in the caller), ENOTTY (@group_fd is not one of
 * the daemon's group files), EMFILE (the caller's uid has too many of its
 * files being closed by the daemon; see docs/daemon.md).
 * Number 1 was VFC_CUSE_DEVICE_ARM, which is gone: it left a file armed
 * for whichever thread next had the same id.
 */
struct vfc_cuse_device_open {
	int32_t group_fd;	/* the caller's group fd */
	int32_t device_fd;	/* the caller's fd of this file, returned */
	uint64_t name;		/* caller address of the device's name, as GET_DEVICE_FD's arg */
	uint32_t flags;		/* 0 */
	uint32_t reserved;	/* 0 */
};
#define VFC_CUSE_DEVICE_OPEN _IOW(VFC_CUSE_MAGIC, 4, struct vfc_cuse_device_open)

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
 * Small accesses in fewer round trips. The first request of a CUSE ioctl
 * carries only its number and its argument's value; every byte more costs
 * a retry, that is one more round trip. So the library picks, per chunk:
 *
 * VFC_CUSE_RW_FAST: 1, 2 or 4 bytes at an offset whose bits 32..39 and
 * 44..63 are clear (a region index below 16 and an offset in the region
 * below 4 GiB), in ONE round trip, everything in the number and the
 * argument: cmd = VFC_CUSE_RW_FAST_CMD(write, index, len), an _IO number
 * (no direction, no size: tools such as valgrind then take the argument
 * for no pointer); arg = the offset's low 32 bits, plus for a write the
 * data (the @len bytes as they lie in memory, in a uint32_t) in bits
 * 32..63.
 * A write returns the bytes written. A read of all @len bytes returns
 * their value (as a write takes it) XOR VFC_CUSE_RW_FAST_BIAS: the ioctl's
 * result is an int, the values -4095..-1 are errno, and the bias moves the
 * values that would land there to 0x7ffff001..0x7fffffff, which
 * registers rarely hold. Such a value, or a short read, is kept for the
 * calling thread and the read fails with VFC_CUSE_RW_STASHED; the
 * library then fetches it with VFC_CUSE_RW_STASH (two round trips). The
 * device is read once either way: register reads may have side effects.
 *
 * VFC_CUSE_RW_BOUNCE: up to VFC_CUSE_RW_BOUNCE_MAX bytes in TWO round
 * trips. The library puts a struct vfc_cuse_rw_bounce and the data side
 * by side in its own buffer; cmd = VFC_CUSE_RW_BOUNCE_CMD(dir, len) names
 * the total size, so the first answer can ask for the header and the data
 * at once. dir is _IOC_WRITE for a write, _IOC_READ | _IOC_WRITE for a
 * read (its data comes back after the header). Returns bytes done.
 *
 * Anything larger uses VFC_CUSE_DEVICE_RW above: three round trips per
 * 64 KiB. Errors of all three are those of VFC_CUSE_DEVICE_RW, and EINVAL
 * for a malformed number or header.
 */
/* Numbers 0x80..0xff: 0x80 | write << 6 | log2(len) << 4 | region index. */
#define VFC_CUSE_RW_FAST_NR 0x80
#define VFC_CUSE_RW_FAST_WRITE 0x40
#define VFC_CUSE_RW_FAST_CMD(write, index, len)                                   \
	_IO(VFC_CUSE_MAGIC, VFC_CUSE_RW_FAST_NR | ((write) ? VFC_CUSE_RW_FAST_WRITE : 0) | \
				    ((len) == 4 ? 2 : (len) == 2 ? 1 : 0) << 4 | (index))
#define VFC_CUSE_RW_FAST_INDEX_MAX 15
#define VFC_CUSE_RW_FAST_BIAS 0x80000000u
#define VFC_CUSE_RW_STASHED ENOANO	/* no error of a region access */

struct vfc_cuse_rw_stash {
	uint32_t value;		/* as a fast read would have returned it, unbiased */
	uint32_t len;		/* bytes read: may be short at a region's end */
};
#define VFC_CUSE_RW_STASH _IOR(VFC_CUSE_MAGIC, 7, struct vfc_cuse_rw_stash)

struct vfc_cuse_rw_bounce {
	uint64_t offset;	/* region offset + offset in the region */
	uint32_t len;		/* bytes of data after this header */
	uint32_t flags;		/* VFC_CUSE_RW_WRITE, matching cmd's dir */
};
#define VFC_CUSE_RW_BOUNCE_NR 6
#define VFC_CUSE_RW_BOUNCE_MAX 4096u
#define VFC_CUSE_RW_BOUNCE_CMD(dir, len) \
	_IOC((dir), VFC_CUSE_MAGIC, VFC_CUSE_RW_BOUNCE_NR, sizeof(struct vfc_cuse_rw_bounce) + (len))

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

/*
 * VFC_CUSE_CHANNEL_TOKEN, on a device or container file: the token that
 * names this very file on the daemon's channel (vfc-channel-proto.h), and
 * the channel's path. The same token for the file's life. ENOTTY on groups.
 */
struct vfc_cuse_channel_token {
	uint8_t token[16];
	char path[108];		/* NUL-terminated */
	uint32_t reserved;
};
#define VFC_CUSE_CHANNEL_TOKEN _IOR(VFC_CUSE_MAGIC, 5, struct vfc_cuse_channel_token)
