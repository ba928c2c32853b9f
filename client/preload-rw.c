/* SPDX-License-Identifier: MIT */
/*
 * libvfio-cuse-preload.so, part 2: region access. CUSE files are not
 * seekable, so pread/pwrite on a vfio-cused device fd would fail with
 * ESPIPE. Here every positional read and write of a device fd becomes a
 * series of VFC_CUSE_DEVICE_RW ioctls of at most VFC_CUSE_RW_MAX bytes.
 *
 * The checks and their order follow the kernel's path for a vfio device
 * file (fs/read_write.c with a file that has .read/.write but no
 * .read_iter): negative offsets and bad descriptors are left to the real
 * function, which fails exactly as the kernel does; an offset past the
 * regions is the daemon's EINVAL; a short transfer at a region's end
 * stops the loop. Other fds go to the real function untouched.
 */
#include "preload-priv.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#endif
#endif
#ifndef VALGRIND_MAKE_MEM_DEFINED
#define VALGRIND_MAKE_MEM_DEFINED(addr, len) ((void)(addr), (void)(len))
#endif

#include "vfc-cuse-proto.h"
#include "vfc-macro.h"

/* glibc's fortified pread; <bits/unistd.h> declares them only with fortify. */
ssize_t __pread_chk(int fd, void *buf, size_t n, off_t off, size_t buflen);
ssize_t __pread64_chk(int fd, void *buf, size_t n, off64_t off, size_t buflen);

/* Call the real function, or fail like a missing stub. */
#define REAL(name, ...)                                               \
	({                                                            \
		const struct vfc_preload_real *r_ = vfc_preload_real(); \
		r_->name ? r_->name(__VA_ARGS__) : (errno = ENOSYS, -1); \
	})

/* The kernel's UIO_MAXIOV (<linux/uio.h> clashes with <sys/uio.h>). */
#define VFC_UIO_MAXIOV 1024

/* The kernel's MAX_RW_COUNT: one call moves at most this much. */
static size_t max_rw_count(void)
{
	return (size_t)INT_MAX & ~((size_t)getpagesize() - 1);
}

/*
 * Move @n bytes at @buf to or from device offset @off in chunks.
 * Return: the bytes done (short at a region's end), or -errno when the
 * first chunk failed. A later failure returns what was done before it.
 */
static ssize_t dev_xfer(int fd, uintptr_t buf, size_t n, uint64_t off, uint32_t flags)
{
	const struct vfc_preload_real *real = vfc_preload_real();
	size_t done = 0;
	int r;

	if (!real->ioctl)
		return -ENOSYS;
	do {
		struct vfc_cuse_rw rw = {
			.offset = off + done,
			.buf = buf + done,
			.len = (uint32_t)VFC_MIN(n - done, (size_t)VFC_CUSE_RW_MAX),
			.flags = flags,
		};

		r = real->ioctl(fd, VFC_CUSE_DEVICE_RW, &rw);
		if (r < 0)
			return done ? (ssize_t)done : -errno;
		if ((uint32_t)r > rw.len)	/* the daemon broke the protocol */
			return done ? (ssize_t)done : -EIO;
		/* valgrind cannot see the daemon write into our memory. */
		if (!(flags & VFC_CUSE_RW_WRITE) && r > 0)
			VALGRIND_MAKE_MEM_DEFINED((void *)(buf + done), r);
		done += (size_t)r;
		if ((uint32_t)r < rw.len)
			break;
	} while (done < n);
	return (ssize_t)done;
}

/* pread/pwrite on a device fd; @off is known to be >= 0. */
static ssize_t dev_rw(int fd, uintptr_t buf, size_t n, int64_t off, uint32_t flags)
{
	int saved = errno;
	ssize_t r;

	/* rw_verify_area(): the end must fit in loff_t. */
	if (n > (uint64_t)(INT64_MAX - off)) {
		errno = EINVAL;
		return -1;
	}
	r = dev_xfer(fd, buf, VFC_MIN(n, max_rw_count()), (uint64_t)off, flags);
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	errno = saved;
	return r;
}

/* preadv/pwritev and their v2 forms on a device fd; @off is >= 0. */
static ssize_t dev_rwv(int fd, const struct iovec *iov, int cnt, int64_t off, int rwf,
		       uint32_t flags)
{
	size_t max = max_rw_count(), total = 0, done = 0;
	int saved = errno, i;
	ssize_t r;

	/* import_iovec(): count, then each length, capping the total. */
	if (cnt < 0 || cnt > VFC_UIO_MAXIOV) {
		errno = EINVAL;
		return -1;
	}
	for (i = 0; i < cnt; i++) {
		if ((ssize_t)iov[i].iov_len < 0) {
			errno = EINVAL;
			return -1;
		}
		total += VFC_MIN(iov[i].iov_len, max - total);
	}
	if (total == 0)
		return 0;
	if (total > (uint64_t)(INT64_MAX - off)) {
		errno = EINVAL;
		return -1;
	}
	/* do_loop_readv_writev() takes no flag but RWF_HIPRI. */
	if (rwf & ~RWF_HIPRI) {
		errno = EOPNOTSUPP;
		return -1;
	}
	for (i = 0; i < cnt && done < total; i++) {
		size_t len = VFC_MIN(iov[i].iov_len, total - done);

		if (len == 0)
			continue;
		r = dev_xfer(fd, (uintptr_t)iov[i].iov_base, len, (uint64_t)off + done, flags);
		if (r < 0) {
			if (done)
				break;
			errno = (int)-r;
			return -1;
		}
		done += (size_t)r;
		if ((size_t)r < len)
			break;
	}
	errno = saved;
	return (ssize_t)done;
}

#define IS_DEV(fd, off) ((off) >= 0 && vfc_preload_is_device(fd))

/**
 * pread() - and the rest below: the libc functions of the same names.
 * @fd: any fd; only vfio-cused device fds are handled here.
 * @buf: the caller's buffer.
 * @n: bytes to move.
 * @off: the device offset (region offset + offset in the region).
 *
 * Return: bytes moved, or -1 with errno: EINVAL (negative offset, end past
 * INT64_MAX, no region at @off, bad vector), EOPNOTSUPP (RWF_* flags other
 * than RWF_HIPRI), or what the daemon or transport reports (EFAULT,
 * ENOTCONN after the daemon died, ...). Other fds: the real function's.
 */

VFC_EXPORT ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
	if (IS_DEV(fd, off))
		return dev_rw(fd, (uintptr_t)buf, n, off, 0);
	return REAL(pread, fd, buf, n, off);
}

VFC_EXPORT ssize_t pread64(int fd, void *buf, size_t n, off64_t off)
{
	if (IS_DEV(fd, off))
		return dev_rw(fd, (uintptr_t)buf, n, off, 0);
	return REAL(pread64, fd, buf, n, off);
}

VFC_EXPORT ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	if (IS_DEV(fd, off))
		return dev_rw(fd, (uintptr_t)buf, n, off, VFC_CUSE_RW_WRITE);
	return REAL(pwrite, fd, buf, n, off);
}

VFC_EXPORT ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off)
{
	if (IS_DEV(fd, off))
		return dev_rw(fd, (uintptr_t)buf, n, off, VFC_CUSE_RW_WRITE);
	return REAL(pwrite64, fd, buf, n, off);
}

/*
 * The fortified forms that _FORTIFY_SOURCE builds (QEMU's among them)
 * call instead of pread. An overflowing @n goes to the real one, which
 * aborts as it should.
 */
VFC_EXPORT ssize_t __pread_chk(int fd, void *buf, size_t n, off_t off, size_t buflen)
{
	if (n <= buflen && IS_DEV(fd, off))
		return dev_rw(fd, (uintptr_t)buf, n, off, 0);
	return REAL(pread_chk, fd, buf, n, off, buflen);
}

VFC_EXPORT ssize_t __pread64_chk(int fd, void *buf, size_t n, off64_t off, size_t buflen)
{
	if (n <= buflen && IS_DEV(fd, off))
		return dev_rw(fd, (uintptr_t)buf, n, off, 0);
	return REAL(pread64_chk, fd, buf, n, off, buflen);
}

VFC_EXPORT ssize_t preadv(int fd, const struct iovec *iov, int cnt, off_t off)
{
	if (IS_DEV(fd, off))
		return dev_rwv(fd, iov, cnt, off, 0, 0);
	return REAL(preadv, fd, iov, cnt, off);
}

VFC_EXPORT ssize_t preadv64(int fd, const struct iovec *iov, int cnt, off64_t off)
{
	if (IS_DEV(fd, off))
		return dev_rwv(fd, iov, cnt, off, 0, 0);
	return REAL(preadv64, fd, iov, cnt, off);
}

VFC_EXPORT ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
	if (IS_DEV(fd, off))
		return dev_rwv(fd, iov, cnt, off, 0, VFC_CUSE_RW_WRITE);
	return REAL(pwritev, fd, iov, cnt, off);
}

VFC_EXPORT ssize_t pwritev64(int fd, const struct iovec *iov, int cnt, off64_t off)
{
	if (IS_DEV(fd, off))
		return dev_rwv(fd, iov, cnt, off, 0, VFC_CUSE_RW_WRITE);
	return REAL(pwritev64, fd, iov, cnt, off);
}

/*
 * The v2 forms: offset -1 means the file position, which vfio-cused keeps
 * for read/write, so it goes to the real function like any negative one.
 */
VFC_EXPORT ssize_t preadv2(int fd, const struct iovec *iov, int cnt, off_t off, int rwf)
{
	if (IS_DEV(fd, off))
		return dev_rwv(fd, iov, cnt, off, rwf, 0);
	return REAL(preadv2, fd, iov, cnt, off, rwf);
}

VFC_EXPORT ssize_t preadv64v2(int fd, const struct iovec *iov, int cnt, off64_t off, int rwf)
{
	if (IS_DEV(fd, off))
		return dev_rwv(fd, iov, cnt, off, rwf, 0);
	return REAL(preadv64v2, fd, iov, cnt, off, rwf);
}

VFC_EXPORT ssize_t pwritev2(int fd, const struct iovec *iov, int cnt, off_t off, int rwf)
{
	if (IS_DEV(fd, off))
		return dev_rwv(fd, iov, cnt, off, rwf, VFC_CUSE_RW_WRITE);
	return REAL(pwritev2, fd, iov, cnt, off, rwf);
}

VFC_EXPORT ssize_t pwritev64v2(int fd, const struct iovec *iov, int cnt, off64_t off, int rwf)
{
	if (IS_DEV(fd, off))
		return dev_rwv(fd, iov, cnt, off, rwf, VFC_CUSE_RW_WRITE);
	return REAL(pwritev64v2, fd, iov, cnt, off, rwf);
}
