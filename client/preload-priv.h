/* SPDX-License-Identifier: MIT */
/*
 * Private to libvfio-cuse-preload.so: the table of the functions it wraps,
 * resolved once with dlsym(RTLD_NEXT), and the device-fd test shared by
 * preload.c (ioctl) and preload-rw.c (the pread/pwrite family).
 *
 * Every source of the library includes this header first: it turns off
 * _FILE_OFFSET_BITS and _FORTIFY_SOURCE so that <unistd.h> and <sys/uio.h>
 * declare pread and pread64 (and the other pairs) as the distinct symbols
 * we define, rather than redirecting one name to the other or wrapping it
 * in an inline checker.
 */
#pragma once

#undef _FILE_OFFSET_BITS
#undef _FORTIFY_SOURCE

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

/* Only the interposers leave the library; everything else is hidden. */
#define VFC_EXPORT __attribute__((visibility("default")))

/*
 * The functions of the next object in the lookup order (normally libc).
 * Filled once; a NULL entry means the symbol does not exist there, and the
 * wrapper then fails with ENOSYS as a stub would.
 */
struct vfc_preload_real {
	int (*ioctl)(int fd, unsigned long req, ...);
	ssize_t (*pread)(int fd, void *buf, size_t n, off_t off);
	ssize_t (*pread64)(int fd, void *buf, size_t n, off64_t off);
	ssize_t (*pwrite)(int fd, const void *buf, size_t n, off_t off);
	ssize_t (*pwrite64)(int fd, const void *buf, size_t n, off64_t off);
	ssize_t (*preadv)(int fd, const struct iovec *iov, int cnt, off_t off);
	ssize_t (*preadv64)(int fd, const struct iovec *iov, int cnt, off64_t off);
	ssize_t (*preadv2)(int fd, const struct iovec *iov, int cnt, off_t off, int flags);
	ssize_t (*preadv64v2)(int fd, const struct iovec *iov, int cnt, off64_t off, int flags);
	ssize_t (*pwritev)(int fd, const struct iovec *iov, int cnt, off_t off);
	ssize_t (*pwritev64)(int fd, const struct iovec *iov, int cnt, off64_t off);
	ssize_t (*pwritev2)(int fd, const struct iovec *iov, int cnt, off_t off, int flags);
	ssize_t (*pwritev64v2)(int fd, const struct iovec *iov, int cnt, off64_t off, int flags);
	ssize_t (*pread_chk)(int fd, void *buf, size_t n, off_t off, size_t buflen);
	ssize_t (*pread64_chk)(int fd, void *buf, size_t n, off64_t off, size_t buflen);
	off_t (*lseek)(int fd, off_t off, int whence);
	off64_t (*lseek64)(int fd, off64_t off, int whence);
	void *(*mmap)(void *addr, size_t len, int prot, int flags, int fd, off_t off);
	void *(*mmap64)(void *addr, size_t len, int prot, int flags, int fd, off64_t off);
	int (*close)(int fd);
	int (*dup2)(int oldfd, int newfd);
	int (*dup3)(int oldfd, int newfd, int flags);
	int (*close_range)(unsigned int first, unsigned int last, int flags);
};

/*
 * Fd numbers known not to be files of vfio-cused, for the mmap and pread
 * wrappers: a file never becomes one, so only a new file under the number
 * can change the answer. close, dup2, dup3 and close_range forget it
 * (preload-dma.c); a close the library cannot see (glibc's fclose, a raw
 * syscall) leaves the number remembered, so a wrapper whose real call
 * fails as on a CUSE file (ESPIPE, ENODEV) asks again with
 * vfc_preload_stale_other(). Numbers from 65536 up are not kept.
 */
#define VFC_PRELOAD_OTHER_MAX 65536
extern _Atomic uint64_t vfc_preload_other[VFC_PRELOAD_OTHER_MAX / 64];

static inline bool vfc_preload_known_other(int fd)
{
	return fd >= 0 && fd < VFC_PRELOAD_OTHER_MAX &&
	       (atomic_load_explicit(&vfc_preload_other[fd / 64], memory_order_relaxed) >>
		(fd % 64) & 1);
}

void vfc_preload_set_other(int fd);
void vfc_preload_forget_range(unsigned int first, unsigned int last);

/**
 * vfc_preload_is_device_cached() - vfc_preload_is_device() that remembers
 * other files: no syscall for a number already found to be one.
 * @fd: any fd number.
 *
 * Return: whether @fd is a vfio-cused device fd. errno is kept.
 */
bool vfc_preload_is_device_cached(int fd);

/**
 * vfc_preload_stale_other() - after a real call on a remembered number
 * failed with @err, whether the number now holds a device fd of ours.
 * @fd: the number.
 * @err: the real call's errno.
 * @cuse_err: the errno a CUSE file gives that call (ESPIPE, ENODEV).
 *
 * Return: true when @fd was remembered as another file but is a device
 * fd (it is then forgotten). errno is kept.
 */
bool vfc_preload_stale_other(int fd, int err, int cuse_err);

/** vfc_preload_real_close() - the real close(), for the library's own fds. */
int vfc_preload_real_close(int fd);

/**
 * vfc_preload_real() - the resolved table.
 *
 * Resolves it on first use (normally from the library's constructor, so
 * that later calls, including those from signal handlers, only read it).
 * Return: the table; never NULL.
 */
const struct vfc_preload_real *vfc_preload_real(void);

/* The table and whether it is filled: for the wrappers' inline fast path. */
extern struct vfc_preload_real vfc_preload_table;
extern atomic_bool vfc_preload_resolved;

/** vfc_preload_real_fast() - vfc_preload_real() without a call once resolved. */
static inline const struct vfc_preload_real *vfc_preload_real_fast(void)
{
	if (__builtin_expect(atomic_load_explicit(&vfc_preload_resolved, memory_order_acquire), 1))
		return &vfc_preload_table;
	return vfc_preload_real();
}

/**
 * vfc_preload_node() - the path of vfio-cused's device node.
 *
 * Return: $VFIO_CUSE_DEVICE_NODE if set and not empty, else
 * VFC_CUSE_DEFAULT_DEVICE_NODE. Not owned by the caller.
 */
const char *vfc_preload_node(void);

/**
 * vfc_preload_is_device() - whether @fd is a file of vfio-cused's device
 * node, that is a character device with the node's st_rdev.
 * @fd: any fd number.
 *
 * fstat()s @fd; only when it is a character device with an rdev other
 * than the cached one does it stat() the node again. Preserves errno.
 * Return: true for a device fd; false otherwise, also for a bad fd.
 */
bool vfc_preload_is_device(int fd);

/**
 * vfc_preload_is_ours() - whether @fd is a file of any vfio-cused node:
 * the daemon gives all its nodes the device node's major.
 * @fd: any fd number.
 *
 * Preserves errno.
 * Return: true for a container, group or device fd of the daemon.
 */
bool vfc_preload_is_ours(int fd);

/**
 * vfc_preload_channel() - one request to vfio-cused's channel about our file
 * @fd (vfc-channel-proto.h): its token, from VFC_CUSE_CHANNEL_TOKEN on @fd,
 * goes in right after @msg's header; then one connection, one request,
 * one reply.
 * Return: the fd the reply carried (O_CLOEXEC, the caller's), with the
 * reply's offset in *@ret_off; or -errno: the daemon's status, ENODEV when
 * there is no channel, EPROTO for a reply outside the protocol.
 */
int vfc_preload_channel(int fd, void *msg, size_t len, uint64_t *ret_off);

/**
 * vfc_preload_iommu_ioctl() - MAP_DMA, UNMAP_DMA and DIRTY_PAGES on a
 * container of ours: on the kernel's container when the daemon said so
 * (EREMOTE), else as they are. Return: the ioctl's result, -1 and errno.
 */
int vfc_preload_iommu_ioctl(int fd, unsigned long req, void *arg);
