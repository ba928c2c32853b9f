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
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
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
		const struct vfc_preload_real *r_ = vfc_preload_real_fast(); \
		r_->name ? r_->name(__VA_ARGS__) : (errno = ENOSYS, -1); \
	})

/* The kernel's UIO_MAXIOV (<linux/uio.h> clashes with <sys/uio.h>). */
#define VFC_UIO_MAXIOV 1024

/* The kernel's MAX_RW_COUNT: one call moves at most this much. */
static size_t max_rw_count(void)
{
	return (size_t)INT_MAX & ~((size_t)getpagesize() - 1);
}

/* The raw ioctl; errno on failure. */
static int raw_ioctl(int fd, unsigned long cmd, unsigned long arg)
{
	const struct vfc_preload_real *real = vfc_preload_real();

	if (!real->ioctl) {
		errno = ENOSYS;
		return -1;
	}
	return real->ioctl(fd, cmd, arg);
}

/* Whether @off can travel in a fast access's number and argument. */
static bool fast_offset(uint64_t off)
{
	return (off >> 40) <= VFC_CUSE_RW_FAST_INDEX_MAX && !(off & 0xff00000000ull);
}

/*
 * One round trip: 1, 2 or 4 bytes (vfc-cuse-proto.h, VFC_CUSE_RW_FAST).
 * Return: bytes done, or -errno.
 */
static ssize_t xfer_fast(int fd, uint8_t *buf, uint32_t len, uint64_t off, bool write)
{
	unsigned long arg = (unsigned long)(off & 0xffffffffu);
	unsigned int index = (unsigned int)(off >> 40);
	struct vfc_cuse_rw_stash st;
	uint32_t value = 0;
	int r;

	if (write) {
		memcpy(&value, buf, len);
		r = raw_ioctl(fd, VFC_CUSE_RW_FAST_CMD(true, index, len),
			      arg | (unsigned long)value << 32);
		if (r < 0)
			return -errno;
		return (uint32_t)r > len ? -EIO : r;	/* more: the daemon broke the protocol */
	}
	r = raw_ioctl(fd, VFC_CUSE_RW_FAST_CMD(false, index, len), arg);
	if (r != -1) {
		value = (uint32_t)r ^ VFC_CUSE_RW_FAST_BIAS;
		memcpy(buf, &value, len);
		return len;
	}
	if (errno != VFC_CUSE_RW_STASHED)
		return -errno;
	/* The value did not fit the result, or the read was short: the
	 * daemon kept it for this thread. */
	if (raw_ioctl(fd, VFC_CUSE_RW_STASH, (unsigned long)&st) < 0)
		return -errno;
	VALGRIND_MAKE_MEM_DEFINED(&st, sizeof(st));
	if (st.len > len)
		return -EIO;
	memcpy(buf, &st.value, st.len);
	return st.len;
}

/*
 * Two round trips: up to VFC_CUSE_RW_BOUNCE_MAX bytes beside their header,
 * in a buffer on the stack. Return: bytes done, or -errno.
 */
static ssize_t xfer_bounce(int fd, uint8_t *buf, uint32_t len, uint64_t off, bool write)
{
	struct {
		struct vfc_cuse_rw_bounce h;
		uint8_t data[VFC_CUSE_RW_BOUNCE_MAX];
	} b;
	int r;

	b.h = (struct vfc_cuse_rw_bounce){
		.offset = off, .len = len, .flags = write ? VFC_CUSE_RW_WRITE : 0,
	};
	if (write)
		memcpy(b.data, buf, len);
	r = raw_ioctl(fd, VFC_CUSE_RW_BOUNCE_CMD(write ? _IOC_WRITE : _IOC_READ | _IOC_WRITE, len),
		      (unsigned long)&b);
	if (r < 0)
		return -errno;
	if ((uint32_t)r > len)
		return -EIO;
	if (!write) {
		/* valgrind cannot see the daemon write into our memory. */
		VALGRIND_MAKE_MEM_DEFINED(b.data, r);
		memcpy(buf, b.data, (size_t)r);
	}
	return r;
}

/* Three round trips: up to VFC_CUSE_RW_MAX bytes. Return: bytes or -errno. */
static ssize_t xfer_large(int fd, uint8_t *buf, uint32_t len, uint64_t off, bool write)
{
	struct vfc_cuse_rw rw = {
		.offset = off, .buf = (uintptr_t)buf, .len = len,
		.flags = write ? VFC_CUSE_RW_WRITE : 0,
	};
	int r = raw_ioctl(fd, VFC_CUSE_DEVICE_RW, (unsigned long)&rw);

	if (r < 0)
		return -errno;
	if ((uint32_t)r > len)
		return -EIO;
	if (!write)
		VALGRIND_MAKE_MEM_DEFINED(buf, r);
	return r;
}

/*
 * Move @n bytes at @buf to or from device offset @off in chunks, each in
 * the fewest round trips its size allows.
 * Return: the bytes done (short at a region's end), or -errno when the
 * first chunk failed. A later failure returns what was done before it.
 */
static ssize_t dev_xfer(int fd, uintptr_t buf, size_t n, uint64_t off, uint32_t flags)
{
	bool write = flags & VFC_CUSE_RW_WRITE;
	size_t done = 0;
	ssize_t r;

	do {
		uint32_t len = (uint32_t)VFC_MIN(n - done, (size_t)VFC_CUSE_RW_MAX);
		uint8_t *p = (uint8_t *)(buf + done);
		uint64_t at = off + done;

		if ((len == 1 || len == 2 || len == 4) && fast_offset(at))
			r = xfer_fast(fd, p, len, at, write);
		else if (len <= VFC_CUSE_RW_BOUNCE_MAX)
			r = xfer_bounce(fd, p, len, at, write);
		else
			r = xfer_large(fd, p, len, at, write);
		if (r < 0)
			return done ? (ssize_t)done : r;
		done += (size_t)r;
		if ((uint32_t)r < len)
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

/* A device fd, at an offset the device path takes (the rest fail as the kernel's). */
#define IS_DEV(fd, off) \
	((off) >= 0 && !vfc_preload_known_other(fd) && vfc_preload_is_device_cached(fd))

/*
 * The first step of each wrapper, inline: a number remembered as another
 * file goes straight to the real function, with no errno saved, no call
 * of ours, so that the library costs other files (QEMU's disks among
 * them) next to nothing. Only its failure with ESPIPE, what a CUSE file
 * answers, goes on to the slow path, which asks again (and, in that rare
 * case, may leave errno at ESPIPE after a success).
 */
#define RW_FAST(fd, field, args)                                                        \
	do {                                                                            \
		if (__builtin_expect(vfc_preload_known_other(fd) &&                     \
				     atomic_load_explicit(&vfc_preload_resolved,        \
							  memory_order_acquire) &&      \
				     vfc_preload_table.field, 1)) {                     \
			ssize_t fast_r_ = vfc_preload_table.field args;                 \
									                \
			if (__builtin_expect(fast_r_ >= 0, 1) || errno != ESPIPE)       \
				return fast_r_;                                         \
		}                                                                       \
	} while (0)

/*
 * The body of each slow path: the device path, or the real call; and the
 * device path after all when the real call fails as on a CUSE file on a
 * number remembered as another file (closed where the library could not
 * see it, then reused for a device fd).
 */
#define RW_WRAP(fd, off, dev_call, real_call)                                           \
	do {                                                                            \
		int rw_saved_ = errno;                                                  \
		ssize_t rw_r_;                                                          \
                                                                                        \
		if (IS_DEV(fd, off))                                                    \
			return dev_call;                                                \
		rw_r_ = real_call;                                                      \
		if (__builtin_expect(rw_r_ < 0, 0) && (off) >= 0 &&                     \
		    vfc_preload_stale_other(fd, errno, ESPIPE)) {                       \
			errno = rw_saved_;                                              \
			return dev_call;                                                \
		}                                                                       \
		return rw_r_;                                                           \
	} while (0)

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

static __attribute__((noinline)) ssize_t pread_slow(int fd, void *buf, size_t n, off_t off)
{
	RW_WRAP(fd, off, dev_rw(fd, (uintptr_t)buf, n, off, 0),
		REAL(pread, fd, buf, n, off));
}

VFC_EXPORT ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
	RW_FAST(fd, pread, (fd, buf, n, off));
	return pread_slow(fd, buf, n, off);
}

static __attribute__((noinline)) ssize_t pread64_slow(int fd, void *buf, size_t n, off64_t off)
{
	RW_WRAP(fd, off, dev_rw(fd, (uintptr_t)buf, n, off, 0),
		REAL(pread64, fd, buf, n, off));
}

VFC_EXPORT ssize_t pread64(int fd, void *buf, size_t n, off64_t off)
{
	RW_FAST(fd, pread64, (fd, buf, n, off));
	return pread64_slow(fd, buf, n, off);
}

static __attribute__((noinline)) ssize_t pwrite_slow(int fd, const void *buf, size_t n, off_t off)
{
	RW_WRAP(fd, off, dev_rw(fd, (uintptr_t)buf, n, off, VFC_CUSE_RW_WRITE),
		REAL(pwrite, fd, buf, n, off));
}

VFC_EXPORT ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	RW_FAST(fd, pwrite, (fd, buf, n, off));
	return pwrite_slow(fd, buf, n, off);
}

static __attribute__((noinline)) ssize_t pwrite64_slow(int fd, const void *buf, size_t n, off64_t off)
{
	RW_WRAP(fd, off, dev_rw(fd, (uintptr_t)buf, n, off, VFC_CUSE_RW_WRITE),
		REAL(pwrite64, fd, buf, n, off));
}

VFC_EXPORT ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off)
{
	RW_FAST(fd, pwrite64, (fd, buf, n, off));
	return pwrite64_slow(fd, buf, n, off);
}

/*
 * The fortified forms that _FORTIFY_SOURCE builds (QEMU's among them)
 * call instead of pread. An overflowing @n goes to the real one, which
 * aborts as it should.
 */
static __attribute__((noinline)) ssize_t __pread_chk_slow(int fd, void *buf, size_t n, off_t off, size_t buflen)
{
	RW_WRAP(fd, off, dev_rw(fd, (uintptr_t)buf, n, off, 0),
		REAL(pread_chk, fd, buf, n, off, buflen));
}

VFC_EXPORT ssize_t __pread_chk(int fd, void *buf, size_t n, off_t off, size_t buflen)
{
	if (n > buflen)
		return REAL(pread_chk, fd, buf, n, off, buflen);	/* aborts */
	RW_FAST(fd, pread_chk, (fd, buf, n, off, buflen));
	return __pread_chk_slow(fd, buf, n, off, buflen);
}

static __attribute__((noinline)) ssize_t __pread64_chk_slow(int fd, void *buf, size_t n, off64_t off, size_t buflen)
{
	RW_WRAP(fd, off, dev_rw(fd, (uintptr_t)buf, n, off, 0),
		REAL(pread64_chk, fd, buf, n, off, buflen));
}

VFC_EXPORT ssize_t __pread64_chk(int fd, void *buf, size_t n, off64_t off, size_t buflen)
{
	if (n > buflen)
		return REAL(pread64_chk, fd, buf, n, off, buflen);	/* aborts */
	RW_FAST(fd, pread64_chk, (fd, buf, n, off, buflen));
	return __pread64_chk_slow(fd, buf, n, off, buflen);
}

static __attribute__((noinline)) ssize_t preadv_slow(int fd, const struct iovec *iov, int cnt, off_t off)
{
	RW_WRAP(fd, off, dev_rwv(fd, iov, cnt, off, 0, 0),
		REAL(preadv, fd, iov, cnt, off));
}

VFC_EXPORT ssize_t preadv(int fd, const struct iovec *iov, int cnt, off_t off)
{
	RW_FAST(fd, preadv, (fd, iov, cnt, off));
	return preadv_slow(fd, iov, cnt, off);
}

static __attribute__((noinline)) ssize_t preadv64_slow(int fd, const struct iovec *iov, int cnt, off64_t off)
{
	RW_WRAP(fd, off, dev_rwv(fd, iov, cnt, off, 0, 0),
		REAL(preadv64, fd, iov, cnt, off));
}

VFC_EXPORT ssize_t preadv64(int fd, const struct iovec *iov, int cnt, off64_t off)
{
	RW_FAST(fd, preadv64, (fd, iov, cnt, off));
	return preadv64_slow(fd, iov, cnt, off);
}

static __attribute__((noinline)) ssize_t pwritev_slow(int fd, const struct iovec *iov, int cnt, off_t off)
{
	RW_WRAP(fd, off, dev_rwv(fd, iov, cnt, off, 0, VFC_CUSE_RW_WRITE),
		REAL(pwritev, fd, iov, cnt, off));
}

VFC_EXPORT ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
	RW_FAST(fd, pwritev, (fd, iov, cnt, off));
	return pwritev_slow(fd, iov, cnt, off);
}

static __attribute__((noinline)) ssize_t pwritev64_slow(int fd, const struct iovec *iov, int cnt, off64_t off)
{
	RW_WRAP(fd, off, dev_rwv(fd, iov, cnt, off, 0, VFC_CUSE_RW_WRITE),
		REAL(pwritev64, fd, iov, cnt, off));
}

VFC_EXPORT ssize_t pwritev64(int fd, const struct iovec *iov, int cnt, off64_t off)
{
	RW_FAST(fd, pwritev64, (fd, iov, cnt, off));
	return pwritev64_slow(fd, iov, cnt, off);
}

/*
 * The v2 forms: offset -1 means the file position, which vfio-cused keeps
 * for read/write, so it goes to the real function like any negative one.
 */
static __attribute__((noinline)) ssize_t preadv2_slow(int fd, const struct iovec *iov, int cnt, off_t off, int rwf)
{
	RW_WRAP(fd, off, dev_rwv(fd, iov, cnt, off, rwf, 0),
		REAL(preadv2, fd, iov, cnt, off, rwf));
}

VFC_EXPORT ssize_t preadv2(int fd, const struct iovec *iov, int cnt, off_t off, int rwf)
{
	RW_FAST(fd, preadv2, (fd, iov, cnt, off, rwf));
	return preadv2_slow(fd, iov, cnt, off, rwf);
}

static __attribute__((noinline)) ssize_t preadv64v2_slow(int fd, const struct iovec *iov, int cnt, off64_t off, int rwf)
{
	RW_WRAP(fd, off, dev_rwv(fd, iov, cnt, off, rwf, 0),
		REAL(preadv64v2, fd, iov, cnt, off, rwf));
}

VFC_EXPORT ssize_t preadv64v2(int fd, const struct iovec *iov, int cnt, off64_t off, int rwf)
{
	RW_FAST(fd, preadv64v2, (fd, iov, cnt, off, rwf));
	return preadv64v2_slow(fd, iov, cnt, off, rwf);
}

static __attribute__((noinline)) ssize_t pwritev2_slow(int fd, const struct iovec *iov, int cnt, off_t off, int rwf)
{
	RW_WRAP(fd, off, dev_rwv(fd, iov, cnt, off, rwf, VFC_CUSE_RW_WRITE),
		REAL(pwritev2, fd, iov, cnt, off, rwf));
}

VFC_EXPORT ssize_t pwritev2(int fd, const struct iovec *iov, int cnt, off_t off, int rwf)
{
	RW_FAST(fd, pwritev2, (fd, iov, cnt, off, rwf));
	return pwritev2_slow(fd, iov, cnt, off, rwf);
}

static __attribute__((noinline)) ssize_t pwritev64v2_slow(int fd, const struct iovec *iov, int cnt, off64_t off, int rwf)
{
	RW_WRAP(fd, off, dev_rwv(fd, iov, cnt, off, rwf, VFC_CUSE_RW_WRITE),
		REAL(pwritev64v2, fd, iov, cnt, off, rwf));
}

VFC_EXPORT ssize_t pwritev64v2(int fd, const struct iovec *iov, int cnt, off64_t off, int rwf)
{
	RW_FAST(fd, pwritev64v2, (fd, iov, cnt, off, rwf));
	return pwritev64v2_slow(fd, iov, cnt, off, rwf);
}
