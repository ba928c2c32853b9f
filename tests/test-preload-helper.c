/* SPDX-License-Identifier: MIT */
/*
 * The VFIO client of the preload library's tests. test-preload.c and
 * test-preload-run.c run it with LD_PRELOAD set (libvfio-cuse-preload.so,
 * usually followed by test-preload-shim.so) as "helper SCENARIO [ARGS]".
 * A scenario checks what it can itself, including the shim's record of
 * the ioctls the library issued, and exits 0; a failed check prints
 * "helper: SCENARIO: file:line: check" and exits 1. Nothing else goes to
 * stderr, so the drivers can also check that the library stays quiet.
 *
 * Built without _FILE_OFFSET_BITS, so that pread and pread64 (and the
 * other pairs) are distinct functions here, each of which is tested.
 */
#undef _FILE_OFFSET_BITS
#undef _FORTIFY_SOURCE

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <linux/vfio.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test-preload.h"

ssize_t __pread_chk(int fd, void *buf, size_t n, off_t off, size_t buflen);
ssize_t __pread64_chk(int fd, void *buf, size_t n, off64_t off, size_t buflen);

static const char *scenario = "?";

#define CHECK(x)                                                               \
	do {                                                                   \
		if (!(x)) {                                                    \
			fprintf(stderr, "helper: %s: %s:%d: %s (errno %s)\n",   \
				scenario, __FILE__, __LINE__, #x,              \
				strerrorname_np(errno) ?: "0");                \
			exit(1);                                               \
		}                                                              \
	} while (0)

#define MARK 4242	/* an errno value no call sets */
#define BASE SHIM_REGION_BASE
#define SIZE SHIM_REGION_SIZE

static struct shim_log *shim;

/* Where the shim's record starts for the next call_* checks. */
static int seen;

static void log_reset(void)
{
	seen = atomic_load(&shim->n);
}

static int log_count(void)
{
	return atomic_load(&shim->n) - seen;
}

static const struct shim_call *log_at(int i)
{
	CHECK(seen + i < atomic_load(&shim->n) && seen + i < SHIM_MAX_CALLS);
	return &shim->calls[seen + i];
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	CHECK(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static dev_t rdev_of_path(const char *path)
{
	struct stat st;

	CHECK(stat(path, &st) == 0);
	return st.st_rdev;
}

static dev_t rdev_of_fd(int fd)
{
	struct stat st;

	CHECK(fstat(fd, &st) == 0);
	return st.st_rdev;
}

/* A device fd the library's way; checks the one DEVICE_OPEN it caused. */
static int get_cuse_fd(int gfd)
{
	const struct shim_call *c;
	int fd;

	log_reset();
	errno = MARK;
	fd = ioctl(gfd, VFIO_GROUP_GET_DEVICE_FD, "cuse:0000:fe:00.0");
	CHECK(fd >= 0);
	CHECK(errno == MARK);
	CHECK(log_count() == 1);
	c = log_at(0);
	CHECK(c->cmd == VFC_CUSE_DEVICE_OPEN && c->fd == fd && c->arg == gfd && c->ret == fd);
	CHECK(c->tid == gettid());
	CHECK(strcmp(c->name, "cuse:0000:fe:00.0") == 0);
	return fd;
}

/* A group of "vfio-cused": a character device of the node's major. */
static int open_group(void)
{
	int gfd = open("/dev/zero", O_RDONLY | O_CLOEXEC);

	CHECK(gfd >= 0);
	return gfd;
}

/* A group of "the kernel": anything else, here a pipe. */
static int open_kernel_group(void)
{
	int p[2];

	CHECK(pipe2(p, O_CLOEXEC) == 0);
	close(p[1]);
	return p[0];
}

static void sc_getfd_cuse(int argc, char **argv)
{
	int gfd = open_group(), fd = get_cuse_fd(gfd);

	CHECK(fcntl(fd, F_GETFD) == FD_CLOEXEC);
	CHECK((fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDWR);
	CHECK(rdev_of_fd(fd) == rdev_of_path(getenv(VFC_CUSE_ENV_DEVICE_NODE)));
	/* The same request with garbage above bit 31: the kernel ignores it. */
	log_reset();
	CHECK(ioctl(gfd, (1ul << 32) | VFIO_GROUP_GET_DEVICE_FD, "cuse:x") > fd);
	CHECK(log_count() == 1 && log_at(0)->cmd == VFC_CUSE_DEVICE_OPEN);
}

static void sc_getfd_fail(int argc, char **argv)
{
	int gfd = open_group(), nfds = count_fds();
	const struct shim_call *c;

	log_reset();
	errno = MARK;
	CHECK(ioctl(gfd, VFIO_GROUP_GET_DEVICE_FD, "fail") == -1);
	CHECK(errno == ENODEV);
	CHECK(log_count() == 1);
	c = log_at(0);
	CHECK(c->cmd == VFC_CUSE_DEVICE_OPEN && c->fd >= 0 && c->arg == gfd);
	/* The device-node file was closed, errno notwithstanding. */
	CHECK(fcntl(c->fd, F_GETFD) == -1 && errno == EBADF);
	CHECK(count_fds() == nfds);
}

/* Another driver's group gets the real ioctl, and no node is opened. */
static void sc_getfd_kernel(int argc, char **argv)
{
	int gfd = open_kernel_group(), nfds = count_fds(), fd;
	const struct shim_call *c;

	log_reset();
	errno = MARK;
	fd = ioctl(gfd, VFIO_GROUP_GET_DEVICE_FD, "kernel");
	CHECK(fd >= 0 && errno == MARK);
	CHECK(log_count() == 1);
	c = log_at(0);
	CHECK(c->cmd == VFIO_GROUP_GET_DEVICE_FD && c->fd == gfd && c->ret == fd);
	CHECK(rdev_of_fd(fd) == rdev_of_path("/dev/zero"));
	CHECK(count_fds() == nfds + 1);
	/* Without the library's help, a vfio-cused group says EOPNOTSUPP. */
	CHECK(ioctl(gfd, VFIO_GROUP_GET_DEVICE_FD, "cuse:x") == -1 && errno == EOPNOTSUPP);
}

static void sc_getfd_open_errno(int argc, char **argv)
{
	int gfd = open_group(), nfds = count_fds();

	log_reset();
	errno = MARK;
	CHECK(ioctl(gfd, VFIO_GROUP_GET_DEVICE_FD, "cuse:x") == -1);
	CHECK(errno == atoi(getenv("VFC_SHIM_OPEN_ERRNO")));
	CHECK(log_count() == 1 && log_at(0)->cmd == VFC_CUSE_DEVICE_OPEN);
	CHECK(count_fds() == nfds);
}

/* No node: GET_DEVICE_FD goes to the (shim's) kernel as it is, even on a
 * character device that would share the node's major. */
static void sc_getfd_nonode(int argc, char **argv)
{
	int gfd = open_group(), nfds = count_fds(), fd;

	log_reset();
	errno = MARK;
	fd = ioctl(gfd, VFIO_GROUP_GET_DEVICE_FD, "kernel");
	CHECK(fd >= 0 && errno == MARK);
	CHECK(log_count() == 1 && log_at(0)->cmd == VFIO_GROUP_GET_DEVICE_FD);
	CHECK(count_fds() == nfds + 1);
	log_reset();
	CHECK(ioctl(gfd, VFIO_GROUP_GET_DEVICE_FD, "fail") == -1 && errno == ENODEV);
	CHECK(ioctl(gfd, VFIO_GROUP_GET_DEVICE_FD, "cuse:nolib") == -1 && errno == EOPNOTSUPP);
	CHECK(log_count() == 2);
	CHECK(count_fds() == nfds + 1);
}

/* A node that cannot be opened fails the ioctl with open's errno. */
static void sc_getfd_open_fails(int argc, char **argv)
{
	int gfd = open_group(), nfds = count_fds();

	log_reset();
	CHECK(ioctl(gfd, VFIO_GROUP_GET_DEVICE_FD, "cuse:x") == -1);
	CHECK(errno == atoi(argv[0]));
	CHECK(log_count() == 1 && log_at(0)->cmd == VFIO_GROUP_GET_DEVICE_FD);
	CHECK(count_fds() == nfds);
}

/* Other ioctls reach the next library unchanged, even VFIO ones. */
static void sc_passthrough(int argc, char **argv)
{
	int gfd = open_group();
	int v = 7;

	log_reset();
	errno = MARK;
	CHECK(ioctl(gfd, VFIO_GET_API_VERSION) == -1 && errno == ENOTTY);
	CHECK(ioctl(gfd, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) == -1 && errno == ENOTTY);
	CHECK(ioctl(gfd, VFIO_GROUP_GET_STATUS, &v) == -1 && errno == ENOTTY);
	CHECK(log_count() == 3);
	CHECK(log_at(0)->cmd == VFIO_GET_API_VERSION && log_at(0)->fd == gfd);
	CHECK(log_at(1)->cmd == VFIO_CHECK_EXTENSION && log_at(1)->arg == VFIO_TYPE1v2_IOMMU);
	CHECK(log_at(2)->cmd == VFIO_GROUP_GET_STATUS && log_at(2)->arg == (long)&v);
	/* Not recorded by the shim, but must still work. */
	CHECK(ioctl(gfd, FIONREAD, &v) == -1 && errno == ENOTTY);
}

struct thread_arg {
	int gfd;
	int rounds;
};

static void *getfd_thread(void *p)
{
	struct thread_arg *a = p;
	uint8_t b;

	for (int i = 0; i < a->rounds; i++) {
		int fd = ioctl(a->gfd, VFIO_GROUP_GET_DEVICE_FD, "cuse:thread");

		CHECK(fd >= 0);
		CHECK(pread(fd, &b, 1, BASE + i) == 1 && b == shim_pattern(BASE + i));
		CHECK(close(fd) == 0);
	}
	return NULL;
}

/* Many threads at once: each gets its own file. */
static void sc_getfd_threads(int argc, char **argv)
{
	struct thread_arg a = { open_group(), 100 };
	pthread_t t[4];
	int i;

	for (i = 0; i < 4; i++)
		CHECK(pthread_create(&t[i], NULL, getfd_thread, &a) == 0);
	for (i = 0; i < 4; i++)
		CHECK(pthread_join(t[i], NULL) == 0);
}

/* Three outcomes, each with a debug line the driver checks. */
static void sc_debug(int argc, char **argv)
{
	int gfd = open_group();

	CHECK(ioctl(gfd, VFIO_GROUP_GET_DEVICE_FD, "cuse:0000:fe:00.0") >= 0);
	CHECK(ioctl(open_kernel_group(), VFIO_GROUP_GET_DEVICE_FD, "kernel") >= 0);
	CHECK(ioctl(gfd, VFIO_GROUP_GET_DEVICE_FD, "fail") == -1);
}

/*
 * Checks the next region access in the record, and that it took the form
 * of the fewest round trips: fast (1, 2 or 4 bytes at an offset that fits
 * the number), bounce (up to 4 KiB), else the RW struct naming @buf.
 */
static void check_rw(int i, int fd, uint64_t off, const void *buf, uint32_t len, uint32_t flags)
{
	const struct shim_call *c = log_at(i);
	bool write = flags & VFC_CUSE_RW_WRITE;

	CHECK(c->fd == fd);
	if ((len == 1 || len == 2 || len == 4) && off >> 40 < 16 && !(off & 0xff00000000ull))
		CHECK(c->cmd == VFC_CUSE_RW_FAST_CMD(write, (unsigned int)(off >> 40), len) &&
		      c->rw.buf == 0);
	else if (len <= VFC_CUSE_RW_BOUNCE_MAX)
		CHECK(c->cmd == VFC_CUSE_RW_BOUNCE_CMD(write ? _IOC_WRITE : _IOC_READ | _IOC_WRITE,
						       len) &&
		      c->rw.buf == 0);
	else
		CHECK(c->cmd == VFC_CUSE_DEVICE_RW && c->rw.buf == (uintptr_t)buf);
	CHECK(c->rw.offset == off);
	CHECK(c->rw.len == len);
	CHECK(c->rw.flags == flags);
}

static bool is_pattern(const uint8_t *b, size_t n, uint64_t off)
{
	for (size_t i = 0; i < n; i++)
		if (b[i] != shim_pattern(off + i))
			return false;
	return true;
}

static void sc_rw_basic(int argc, char **argv)
{
	int fd = get_cuse_fd(open_group()), d;
	uint8_t b[64], w[8] = "abcdefg";

	log_reset();
	errno = MARK;
	CHECK(pread(fd, b, 16, BASE + 0x10) == 16 && errno == MARK);
	CHECK(is_pattern(b, 16, BASE + 0x10));
	CHECK(pread64(fd, b, 4, BASE + 0x20) == 4 && is_pattern(b, 4, BASE + 0x20));
	CHECK(pwrite(fd, w, 8, BASE + 0x100) == 8);
	CHECK(pwrite64(fd, w, 4, BASE + 0x200) == 4);
	CHECK(__pread_chk(fd, b, 8, BASE + 0x100, sizeof(b)) == 8);
	CHECK(memcmp(b, w, 8) == 0);
	CHECK(__pread64_chk(fd, b, 4, BASE + 0x200, sizeof(b)) == 4);
	CHECK(memcmp(b, w, 4) == 0);
	CHECK(errno == MARK);
	CHECK(log_count() == 6);
	check_rw(0, fd, BASE + 0x10, b, 16, 0);
	check_rw(1, fd, BASE + 0x20, b, 4, 0);
	check_rw(2, fd, BASE + 0x100, w, 8, VFC_CUSE_RW_WRITE);
	check_rw(3, fd, BASE + 0x200, w, 4, VFC_CUSE_RW_WRITE);
	check_rw(4, fd, BASE + 0x100, b, 8, 0);
	check_rw(5, fd, BASE + 0x200, b, 4, 0);

	/* Any copy of the fd is a device fd: st_rdev, not fd numbers. */
	d = dup(fd);
	CHECK(d >= 0);
	CHECK(dup2(fd, 200) == 200);
	log_reset();
	CHECK(pread(d, b, 1, BASE) == 1 && pread(200, b, 1, BASE) == 1);
	check_rw(0, d, BASE, b, 1, 0);
	check_rw(1, 200, BASE, b, 1, 0);
	/* So is any open of the node. */
	d = open(getenv(VFC_CUSE_ENV_DEVICE_NODE), O_RDONLY | O_CLOEXEC);
	CHECK(d >= 0);
	CHECK(pread(d, b, 1, BASE) == 1 && log_count() == 3);
}

static void sc_rw_chunks(int argc, char **argv)
{
	static uint8_t b[200000];
	int fd = get_cuse_fd(open_group());

	log_reset();
	CHECK(pread(fd, b, 150000, BASE) == 150000 && is_pattern(b, 150000, BASE));
	CHECK(log_count() == 3);
	check_rw(0, fd, BASE, b, 65536, 0);
	check_rw(1, fd, BASE + 65536, b + 65536, 65536, 0);
	check_rw(2, fd, BASE + 131072, b + 131072, 150000 - 131072, 0);

	memset(b, 0xa5, sizeof(b));
	log_reset();
	CHECK(pwrite(fd, b, 200000, BASE + 7) == 200000);
	CHECK(log_count() == 4);
	check_rw(3, fd, BASE + 7 + 196608, b + 196608, 200000 - 196608, VFC_CUSE_RW_WRITE);
	memset(b, 0, sizeof(b));
	CHECK(pread(fd, b, 200000, BASE + 7) == 200000);
	for (int i = 0; i < 200000; i++)
		CHECK(b[i] == 0xa5);
}

static void sc_rw_short(int argc, char **argv)
{
	static uint8_t b[131072];
	int fd = get_cuse_fd(open_group());

	/* Short at the region's end. */
	log_reset();
	CHECK(pread(fd, b, 4096, BASE + SIZE - 100) == 100);
	CHECK(is_pattern(b, 100, BASE + SIZE - 100) && log_count() == 1);
	log_reset();
	CHECK(pread(fd, b, 131072, BASE + SIZE - 70000) == 70000);
	CHECK(log_count() == 2);
	check_rw(1, fd, BASE + SIZE - 70000 + 65536, b + 65536, 131072 - 65536, 0);

	/* A failure after progress returns the progress, errno untouched. */
	log_reset();
	errno = MARK;
	CHECK(pwrite(fd, b, 131072, BASE + SIZE - 65536) == 65536 && errno == MARK);
	CHECK(log_count() == 2 && log_at(1)->ret == -1 && log_at(1)->err == EINVAL);

	/* Outside every region: the daemon's EINVAL. */
	CHECK(pread(fd, b, 4, BASE + SIZE) == -1 && errno == EINVAL);
	CHECK(pread(fd, b, 4, 0) == -1 && errno == EINVAL);
}

static void sc_rw_edge(int argc, char **argv)
{
	int fd = get_cuse_fd(open_group());
	uint8_t b[16] = { 0 };

	/* Negative offsets never reach the daemon; the kernel says EINVAL. */
	log_reset();
	CHECK(pread(fd, b, 4, -1) == -1 && errno == EINVAL);
	CHECK(pwrite64(fd, b, 4, -4096) == -1 && errno == EINVAL);
	CHECK(__pread64_chk(fd, b, 4, -1, sizeof(b)) == -1 && errno == EINVAL);
	/* So does an end beyond loff_t. */
	CHECK(pread(fd, b, 16, INT64_MAX - 8) == -1 && errno == EINVAL);
	CHECK(log_count() == 0);

	/* Zero bytes still ask the daemon, which checks the offset. */
	errno = MARK;
	CHECK(pread(fd, b, 0, BASE) == 0 && errno == MARK);
	CHECK(pread(fd, b, 0, 0) == -1 && errno == EINVAL);
	CHECK(log_count() == 2);
	check_rw(0, fd, BASE, b, 0, 0);
}

static void sc_rw_vec(int argc, char **argv)
{
	static uint8_t a[16], c[70000], d[100], e[100];
	int fd = get_cuse_fd(open_group());
	struct iovec iov[3] = { { a, sizeof(a) }, { NULL, 0 }, { c, sizeof(c) } };
	struct iovec big[1025];
	struct iovec tail[2] = { { d, sizeof(d) }, { e, sizeof(e) } };
	volatile int minus_one = -1;	/* hidden from gcc's access checks */

	log_reset();
	errno = MARK;
	CHECK(preadv(fd, iov, 3, BASE) == 70016 && errno == MARK);
	CHECK(is_pattern(a, 16, BASE) && is_pattern(c, sizeof(c), BASE + 16));
	CHECK(log_count() == 3);
	check_rw(0, fd, BASE, a, 16, 0);
	check_rw(1, fd, BASE + 16, c, 65536, 0);
	check_rw(2, fd, BASE + 16 + 65536, c + 65536, sizeof(c) - 65536, 0);

	log_reset();
	CHECK(preadv64(fd, iov, 3, BASE + 1) == 70016);
	CHECK(pwritev(fd, iov, 1, BASE + 2) == 16);
	CHECK(pwritev64(fd, iov, 1, BASE + 3) == 16);
	CHECK(preadv2(fd, iov, 1, BASE + 4, 0) == 16);
	CHECK(preadv64v2(fd, iov, 1, BASE + 5, RWF_HIPRI) == 16);
	CHECK(pwritev2(fd, iov, 1, BASE + 6, 0) == 16);
	CHECK(pwritev64v2(fd, iov, 1, BASE + 7, RWF_HIPRI) == 16);
	CHECK(log_count() == 3 + 6);
	check_rw(3, fd, BASE + 2, a, 16, VFC_CUSE_RW_WRITE);
	check_rw(4, fd, BASE + 3, a, 16, VFC_CUSE_RW_WRITE);
	check_rw(5, fd, BASE + 4, a, 16, 0);
	check_rw(6, fd, BASE + 5, a, 16, 0);
	check_rw(7, fd, BASE + 6, a, 16, VFC_CUSE_RW_WRITE);
	check_rw(8, fd, BASE + 7, a, 16, VFC_CUSE_RW_WRITE);

	/* Short in the middle: stop there. */
	log_reset();
	CHECK(preadv(fd, tail, 2, BASE + SIZE - 150) == 150);
	CHECK(log_count() == 2);
	check_rw(1, fd, BASE + SIZE - 50, e, 100, 0);

	/* The kernel's checks on a .read/.write file, none reaching us. */
	log_reset();
	CHECK(preadv2(fd, iov, 1, BASE, RWF_NOWAIT) == -1 && errno == EOPNOTSUPP);
	CHECK(pwritev2(fd, iov, 1, BASE, RWF_DSYNC) == -1 && errno == EOPNOTSUPP);
	CHECK(preadv(fd, iov, 0, BASE) == 0);
	CHECK(preadv(fd, iov, minus_one, BASE) == -1 && errno == EINVAL);
	for (int i = 0; i < 1025; i++)
		big[i] = (struct iovec){ a, 1 };
	CHECK(preadv(fd, big, 1025, BASE) == -1 && errno == EINVAL);
	CHECK(preadv(fd, iov, 1, -1) == -1 && errno == EINVAL);
	CHECK(preadv2(fd, iov, 1, -2, 0) == -1 && errno == EINVAL);
	/* -1 is "the file position": left to the real preadv2 (here /dev/null). */
	CHECK(preadv2(fd, iov, 1, -1, 0) == 0);
	CHECK(log_count() == 0);
	CHECK(preadv(fd, big, 1024, BASE) == 1024 && log_count() == 1024);
}

/* fds that are not the node's are left alone, errno included. */
static void sc_rw_other(int argc, char **argv)
{
	char path[] = "/tmp/vfc-preload-XXXXXX";
	int f = mkostemp(path, O_CLOEXEC), z = open("/dev/zero", O_RDWR | O_CLOEXEC);
	uint8_t b[8] = { 1 }, w[4] = "xyz";
	struct iovec iov = { b, 4 };

	CHECK(f >= 0 && z >= 0);
	unlink(path);
	log_reset();
	errno = MARK;
	CHECK(pwrite(f, w, 4, 10) == 4 && pread(f, b, 4, 10) == 4 && memcmp(b, w, 4) == 0);
	CHECK(pwritev(f, &iov, 1, 20) == 4 && preadv64(f, &iov, 1, 20) == 4);
	CHECK(pread(z, b, 8, 0) == 8 && b[0] == 0);
	CHECK(pread64(z, b, 8, 1ll << 40) == 8);
	CHECK(errno == MARK);
	CHECK(pread(-1, b, 1, 0) == -1 && errno == EBADF);
	CHECK(pread(987, b, 1, 0) == -1 && errno == EBADF);
	CHECK(log_count() == 0);
}

/*
 * Fast accesses: a read's value travels in the ioctl's result, biased so
 * that only 0x7ffff001..0x7fffffff would read as an errno; those, and a
 * short read, are fetched with a second ioctl.
 */
static void sc_rw_fast(int argc, char **argv)
{
	static const uint32_t direct[] = { 0, 1, 0xffffffff, 0x80000000, 0x7ffff000, 0xfffff000,
					   0x12345678 };
	static const uint32_t fetched[] = { 0x7ffff001, 0x7fffffff, 0x7ffff800 };
	int fd = get_cuse_fd(open_group());
	uint32_t v;
	uint16_t h = 0xbeef;
	uint8_t b = 0x42, r8;
	uint16_t r16;

	for (size_t i = 0; i < sizeof(direct) / sizeof(direct[0]); i++) {
		log_reset();
		CHECK(pwrite(fd, &direct[i], 4, BASE + 0x40) == 4);
		CHECK(pread(fd, &v, 4, BASE + 0x40) == 4 && v == direct[i]);
		CHECK(log_count() == 2);
		check_rw(0, fd, BASE + 0x40, &direct[i], 4, VFC_CUSE_RW_WRITE);
		check_rw(1, fd, BASE + 0x40, &v, 4, 0);
	}
	for (size_t i = 0; i < sizeof(fetched) / sizeof(fetched[0]); i++) {
		log_reset();
		errno = MARK;
		CHECK(pwrite(fd, &fetched[i], 4, BASE + 0x44) == 4);
		CHECK(pread(fd, &v, 4, BASE + 0x44) == 4 && v == fetched[i] && errno == MARK);
		CHECK(log_count() == 3);
		CHECK(log_at(1)->ret == -1 && log_at(1)->err == VFC_CUSE_RW_STASHED);
		CHECK(log_at(2)->cmd == VFC_CUSE_RW_STASH && log_at(2)->ret == 0);
	}
	/* 1 and 2 bytes; odd offsets are fine. */
	log_reset();
	CHECK(pwrite(fd, &h, 2, BASE + 0x51) == 2 && pwrite(fd, &b, 1, BASE + 0x53) == 1);
	CHECK(pread(fd, &r16, 2, BASE + 0x51) == 2 && r16 == 0xbeef);
	CHECK(pread(fd, &r8, 1, BASE + 0x53) == 1 && r8 == 0x42);
	CHECK(log_count() == 4);
	check_rw(3, fd, BASE + 0x53, &r8, 1, 0);
	/* 3 bytes take the bounce form. */
	log_reset();
	CHECK(pread(fd, &v, 3, BASE + 0x51) == 3 && log_count() == 1);
	check_rw(0, fd, BASE + 0x51, &v, 3, 0);
	/* Short at the region's end: 2 of 4 bytes, fetched. */
	log_reset();
	v = 0;
	CHECK(pread(fd, &v, 4, BASE + SIZE - 2) == 2 && is_pattern((uint8_t *)&v, 2, BASE + SIZE - 2));
	CHECK(log_count() == 2 && log_at(1)->cmd == VFC_CUSE_RW_STASH);
	/* Offsets that do not fit the number take the bounce form. */
	log_reset();
	CHECK(pread(fd, &v, 4, BASE + (1ull << 32)) == -1 && errno == EINVAL);
	CHECK(pwrite(fd, &v, 4, 16ull << 40) == -1 && errno == EINVAL);
	CHECK(log_count() == 2);
	check_rw(0, fd, BASE + (1ull << 32), &v, 4, 0);
	check_rw(1, fd, 16ull << 40, &v, 4, VFC_CUSE_RW_WRITE);
	/* Outside every region, in the fast form too. */
	CHECK(pread(fd, &v, 4, 0) == -1 && errno == EINVAL);
	CHECK(pwrite(fd, &v, 2, 5ull << 40) == -1 && errno == EINVAL);
}

/*
 * Numbers found to be other files are remembered: after a close the
 * library cannot see (a raw dup2 over the number), the real call goes on.
 */
static void sc_rw_other_cache(int argc, char **argv)
{
	char path[] = "/tmp/vfc-preload-XXXXXX";
	int f = mkostemp(path, O_CLOEXEC), dev = open(getenv(VFC_CUSE_ENV_DEVICE_NODE), O_RDWR);
	uint8_t b[4] = { 1, 2, 3, 4 };

	CHECK(f >= 0 && dev >= 0);
	unlink(path);
	CHECK(pwrite(f, b, 4, 0) == 4);
	log_reset();
	CHECK(pread(dev, b, 4, BASE) == 4 && log_count() == 1);
	/* The node is /dev/null, whose pread succeeds: the remembered
	 * number goes to the real call, which reads nothing. */
	CHECK(syscall(SYS_dup2, dev, f) == f);
	CHECK(pread(f, b, 4, BASE) == 0 && log_count() == 1);
	/* A close the library sees forgets the number. */
	CHECK(close(f) == 0 && dup2(dev, f) == f);
	CHECK(pread(f, b, 4, BASE) == 4 && log_count() == 2);
	check_rw(1, f, BASE, b, 4, 0);
}

/*
 * The same, with a node whose files fail pread with ESPIPE as CUSE files
 * do (/dev/ptmx): the remembered number is asked about again.
 */
static void sc_rw_other_stale(int argc, char **argv)
{
	char path[] = "/tmp/vfc-preload-XXXXXX";
	int f = mkostemp(path, O_CLOEXEC), dev = open(getenv(VFC_CUSE_ENV_DEVICE_NODE), O_RDWR);
	uint8_t b[4] = { 0 };

	CHECK(f >= 0 && dev >= 0);
	unlink(path);
	CHECK(pread(f, b, 4, 0) == 0);	/* remembered as another file */
	CHECK(syscall(SYS_dup2, dev, f) == f);
	log_reset();
	/* errno may be left at ESPIPE here (the fast path saves none). */
	CHECK(pread(f, b, 4, BASE) == 4 && is_pattern(b, 4, BASE));
	CHECK(log_count() == 1);
	check_rw(0, f, BASE, b, 4, 0);
	/* Forgotten: the next call takes the device path at once. */
	errno = MARK;
	CHECK(pread(f, b, 4, BASE + 4) == 4 && errno == MARK && log_count() == 2);
	/* Negative offsets still fail as the kernel's. */
	CHECK(pread(f, b, 4, -1) == -1 && errno == EINVAL);
}

/* No node at all: no fd is a device fd. */
static void sc_rw_nonode(int argc, char **argv)
{
	int n = open("/dev/null", O_RDWR | O_CLOEXEC);
	uint8_t b[4] = { 0 };

	CHECK(n >= 0);
	log_reset();
	errno = MARK;
	CHECK(pread(n, b, 4, 0) == 0 && pwrite(n, b, 4, 0) == 4 && errno == MARK);
	CHECK(log_count() == 0);
}

/* A forked child keeps using the fd; so does the parent. */
static void sc_fork(int argc, char **argv)
{
	int fd = get_cuse_fd(open_group()), st;
	uint8_t b[8];
	pid_t pid;

	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		scenario = "fork (child)";
		log_reset();
		CHECK(pread(fd, b, 8, BASE + 8) == 8 && is_pattern(b, 8, BASE + 8));
		CHECK(log_count() == 1);
		check_rw(0, fd, BASE + 8, b, 8, 0);
		CHECK(ioctl(open_group(), VFIO_GROUP_GET_DEVICE_FD, "cuse:child") > fd);
		_exit(0);
	}
	CHECK(waitpid(pid, &st, 0) == pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	log_reset();
	CHECK(pread(fd, b, 8, BASE) == 8 && log_count() == 1);
}

/*
 * The node is a symlink we re-point: the cached st_rdev is refreshed when
 * a character device does not match it.
 */
static void sc_restat(int argc, char **argv)
{
	const char *link = getenv(VFC_CUSE_ENV_DEVICE_NODE);
	int n = open("/dev/null", O_RDWR | O_CLOEXEC), z = open("/dev/zero", O_RDWR | O_CLOEXEC);
	char tmp[PATH_MAX];
	uint8_t b[4];

	CHECK(n >= 0 && z >= 0);
	log_reset();
	CHECK(pread(n, b, 4, BASE) == 4 && log_count() == 1);
	CHECK(pread(z, b, 4, 0) == 4 && b[0] == 0 && log_count() == 1);

	snprintf(tmp, sizeof(tmp), "%s.new", link);
	CHECK(symlink("/dev/zero", tmp) == 0 && rename(tmp, link) == 0);
	/* z was found to be another file, and a file stays what it is: only
	 * files opened since are the new node's. */
	CHECK(pread(z, b, 4, BASE) == 4 && log_count() == 1);
	z = open("/dev/zero", O_RDWR | O_CLOEXEC);
	CHECK(z >= 0);
	CHECK(pread(z, b, 4, BASE) == 4 && log_count() == 2);
	check_rw(1, z, BASE, b, 4, 0);
	CHECK(pread(n, b, 4, BASE) == 0 && log_count() == 2);
}

/* Without the shim: the library's RW reaches /dev/null, which says ENOTTY. */
static void sc_noshim(int argc, char **argv)
{
	int n = open("/dev/null", O_RDWR | O_CLOEXEC), z = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	uint8_t b[4] = { 0 };
	struct iovec iov = { b, 4 };

	CHECK(n >= 0 && z >= 0);
	CHECK(pread(n, b, 4, 0) == -1 && errno == ENOTTY);
	CHECK(pread64(n, b, 4, 0) == -1 && errno == ENOTTY);
	CHECK(pwrite(n, b, 4, 0) == -1 && errno == ENOTTY);
	CHECK(pwritev64(n, &iov, 1, 0) == -1 && errno == ENOTTY);
	CHECK(preadv2(n, &iov, 1, 0, 0) == -1 && errno == ENOTTY);
	CHECK(__pread64_chk(n, b, 4, 0, 4) == -1 && errno == ENOTTY);
	/* read/write are not ours. */
	CHECK(write(n, b, 4) == 4 && read(n, b, 4) == 0);
	CHECK(pread(z, b, 4, 0) == 4);
}

/* Without the library: the same calls on /dev/null succeed. */
static void sc_control(int argc, char **argv)
{
	int n = open("/dev/null", O_RDWR | O_CLOEXEC);
	uint8_t b[4] = { 0 };

	CHECK(n >= 0);
	CHECK(pread(n, b, 4, 0) == 0 && pwrite(n, b, 4, 0) == 4);
}

/* Without the shim or a node: GET_DEVICE_FD is the kernel's ioctl. */
static void sc_noshim_getfd(int argc, char **argv)
{
	int gfd = open_group(), nfds = count_fds();

	CHECK(ioctl(gfd, VFIO_GROUP_GET_DEVICE_FD, "0000:00:01.0") == -1 && errno == ENOTTY);
	CHECK(count_fds() == nfds);
}

/*
 * Without the shim, with /dev/null as the node: DEVICE_OPEN reaches the
 * kernel, which says ENOTTY; the opened file is closed again.
 */
static void sc_noshim_open(int argc, char **argv)
{
	int gfd = open_group(), nfds = count_fds();

	errno = MARK;
	CHECK(ioctl(gfd, VFIO_GROUP_GET_DEVICE_FD, "0000:00:01.0") == -1 && errno == ENOTTY);
	CHECK(count_fds() == nfds);
}

/*
 * mmap: other fds are untouched, errno included; on a device fd the checks
 * of mmap(2) come first, then the daemon is asked for its channel token
 * (here /dev/null answers ENOTTY: no daemon, so ENODEV, as a file without
 * mmap gives).
 */
static void sc_mmap(int argc, char **argv)
{
	int fd = get_cuse_fd(open_group()), plain = memfd_create("plain", MFD_CLOEXEC);
	const struct shim_call *c;
	void *p;

	CHECK(plain >= 0 && ftruncate(plain, 4096) == 0);
	errno = MARK;
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, plain, 0);
	CHECK(p != MAP_FAILED && errno == MARK);
	munmap(p, 4096);
	p = mmap64(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(p != MAP_FAILED && errno == MARK);
	munmap(p, 4096);
	CHECK(mmap(NULL, 4096, PROT_READ, MAP_SHARED, 12345, 0) == MAP_FAILED && errno == EBADF);

	log_reset();
	CHECK(mmap(NULL, 0, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED && errno == EINVAL);
	CHECK(mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 512) == MAP_FAILED && errno == EINVAL);
	CHECK(mmap(NULL, 4096, PROT_READ, 0, fd, 0) == MAP_FAILED &&
	      errno == EINVAL);
	CHECK(log_count() == 0);	/* refused before asking anyone */
	CHECK(mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 1ull << 40) == MAP_FAILED &&
	      errno == ENODEV);
	CHECK(log_count() == 1);
	c = log_at(0);
	CHECK(c->cmd == VFC_CUSE_CHANNEL_TOKEN && c->fd == fd);
	CHECK(mmap64(NULL, 4096, PROT_READ, MAP_SHARED, fd, 1ull << 40) == MAP_FAILED &&
	      errno == ENODEV);
	/* A number known to be another file (the memfd above), then given a
	 * device fd by dup2 or by a close and a reopen: the device path again. */
	CHECK(dup2(fd, plain) == plain);
	log_reset();
	CHECK(mmap(NULL, 4096, PROT_READ, MAP_SHARED, plain, 1ull << 40) == MAP_FAILED &&
	      errno == ENODEV);
	CHECK(log_count() == 1 && log_at(0)->fd == plain);
	{
		int other = memfd_create("other", MFD_CLOEXEC), again;

		CHECK(other >= 0 && ftruncate(other, 4096) == 0);
		p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, other, 0);
		CHECK(p != MAP_FAILED);
		munmap(p, 4096);
		CHECK(close(other) == 0);
		again = fcntl(fd, F_DUPFD_CLOEXEC, other);	/* the lowest free from there */
		CHECK(again == other);
		log_reset();
		CHECK(mmap(NULL, 4096, PROT_READ, MAP_SHARED, again, 1ull << 40) == MAP_FAILED &&
		      errno == ENODEV);
		CHECK(log_count() == 1 && log_at(0)->fd == again);
	}
	/* A read-only open cannot be mapped shared and writable: EACCES. */
	{
		char path[64];
		int ro;

		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		ro = open(path, O_RDONLY | O_CLOEXEC);
		CHECK(ro >= 0);
		CHECK(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0) == MAP_FAILED &&
		      errno == EACCES);
		close(ro);
	}
}

/* For vfio-cuse-run's tests. */
static void sc_env(int argc, char **argv)
{
	const char *p = getenv("LD_PRELOAD"), *n = getenv(VFC_CUSE_ENV_DEVICE_NODE);

	printf("LD_PRELOAD=%s\n%s=%s\n", p ? p : "(unset)", VFC_CUSE_ENV_DEVICE_NODE,
	       n ? n : "(unset)");
}

/* argv: NAME [REAL]: what a client finds for NAME (and a real entry). */
static void sc_sysfs(int argc, char **argv)
{
	const char *sys = getenv("VFIO_CUSE_RUN_SYSFS") ?: "/sys";
	char path[PATH_MAX], link[PATH_MAX], vendor[16] = "";
	struct stat st;
	ssize_t n;
	FILE *f;
	int group;

	CHECK(argc >= 1);
	snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/iommu_group", sys, argv[0]);
	n = readlink(path, link, sizeof(link) - 1);
	CHECK(n > 0);
	link[n] = '\0';
	CHECK(sscanf(basename(link), "%d", &group) == 1);
	snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/vendor", sys, argv[0]);
	f = fopen(path, "re");
	CHECK(f && fgets(vendor, sizeof(vendor), f));
	fclose(f);
	snprintf(path, sizeof(path), "%s/kernel/iommu_groups/%d/devices/%s", sys, group, argv[0]);
	printf("group=%d vendor=%s listed=%d\n", group, strtok(vendor, "\n"),
	       stat(path, &st) == 0 && S_ISDIR(st.st_mode));
	if (argc >= 2) {
		snprintf(path, sizeof(path), "%s/bus/pci/devices/%s", sys, argv[1]);
		n = readlink(path, link, sizeof(link) - 1);
		CHECK(n > 0);
		link[n] = '\0';
		printf("real=%s stat=%d\n", link, stat(path, &st) == 0);
	}
}

/* argv: PREFIXNODE: /dev/vfio/cuse-device must be that file. */
static void sc_devnode(int argc, char **argv)
{
	struct stat a, b;
	int n;

	CHECK(argc >= 1);
	CHECK(strcmp(getenv(VFC_CUSE_ENV_DEVICE_NODE), "/dev/vfio/cuse-device") == 0);
	CHECK(stat("/dev/vfio/cuse-device", &a) == 0 && stat(argv[0], &b) == 0);
	CHECK(a.st_dev == b.st_dev && a.st_ino == b.st_ino);
	CHECK(access("/dev/vfio/kernel-marker", F_OK) == -1 && errno == ENOENT);
	n = open("/dev/null", O_WRONLY | O_CLOEXEC);
	CHECK(n >= 0 && write(n, "x", 1) == 1);
	printf("devnode ok\n");
}

/* lseek on the daemon's files is ESPIPE, as on the kernel's VFIO files;
 * other files seek as usual. */
static void sc_lseek(int argc, char **argv)
{
	int d = open(getenv(VFC_CUSE_ENV_DEVICE_NODE), O_RDONLY | O_CLOEXEC);
	int f = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);

	CHECK(d >= 0 && f >= 0);
	errno = 0;
	CHECK(lseek(d, 0, SEEK_SET) == -1 && errno == ESPIPE);
	errno = 0;
	CHECK(lseek64(d, 4, SEEK_CUR) == -1 && errno == ESPIPE);
	CHECK(lseek(f, 2, SEEK_SET) == 2);
	CHECK(lseek64(f, 0, SEEK_CUR) == 2);
	errno = 0;
	CHECK(lseek(-1, 0, SEEK_SET) == -1 && errno == EBADF);
	close(d);
	close(f);
}

static void sc_exit(int argc, char **argv)
{
	exit(argc >= 1 ? atoi(argv[0]) : 0);
}

static const struct {
	const char *name;
	void (*fn)(int argc, char **argv);
	bool shim;
} scenarios[] = {
	{ "getfd-cuse", sc_getfd_cuse, true },
	{ "getfd-fail", sc_getfd_fail, true },
	{ "getfd-kernel", sc_getfd_kernel, true },
	{ "getfd-open-errno", sc_getfd_open_errno, true },
	{ "mmap", sc_mmap, true },
	{ "getfd-nonode", sc_getfd_nonode, true },
	{ "getfd-open-fails", sc_getfd_open_fails, true },
	{ "getfd-threads", sc_getfd_threads, true },
	{ "passthrough", sc_passthrough, true },
	{ "debug", sc_debug, true },
	{ "rw-basic", sc_rw_basic, true },
	{ "rw-chunks", sc_rw_chunks, true },
	{ "rw-short", sc_rw_short, true },
	{ "rw-edge", sc_rw_edge, true },
	{ "rw-vec", sc_rw_vec, true },
	{ "rw-other", sc_rw_other, true },
	{ "rw-fast", sc_rw_fast, true },
	{ "rw-other-cache", sc_rw_other_cache, true },
	{ "rw-other-stale", sc_rw_other_stale, true },
	{ "rw-nonode", sc_rw_nonode, true },
	{ "fork", sc_fork, true },
	{ "lseek", sc_lseek, true },
	{ "restat", sc_restat, true },
	{ "noshim", sc_noshim, false },
	{ "noshim-getfd", sc_noshim_getfd, false },
	{ "noshim-open", sc_noshim_open, false },
	{ "control", sc_control, false },
	{ "env", sc_env, false },
	{ "sysfs", sc_sysfs, false },
	{ "devnode", sc_devnode, false },
	{ "exit", sc_exit, false },
};

int main(int argc, char **argv)
{
	CHECK(argc >= 2);
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
		if (strcmp(argv[1], scenarios[i].name) != 0)
			continue;
		scenario = argv[1];
		if (scenarios[i].shim) {
			shim = dlsym(RTLD_DEFAULT, SHIM_LOG_SYMBOL);
			CHECK(shim != NULL);
		}
		scenarios[i].fn(argc - 2, argv + 2);
		return 0;
	}
	fprintf(stderr, "helper: unknown scenario '%s'\n", argv[1]);
	return 2;
}
