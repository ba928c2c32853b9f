/* SPDX-License-Identifier: MIT */
/*
 * libvfio-cuse-preload.so, part 1: resolving the wrapped functions, telling
 * vfio-cused's device fds apart from all others, and the one ioctl the
 * library changes: VFIO_GROUP_GET_DEVICE_FD.
 *
 * CUSE cannot install a new fd in its caller, so for a group fd of
 * vfio-cused (a character device of its nodes' major) we open its device
 * node and issue VFC_CUSE_DEVICE_OPEN on that new file, naming the group
 * fd and the name: the daemon binds the device to that very file
 * (include/vfc-cuse-proto.h). Any other group fd (the kernel's own VFIO)
 * gets the real GET_DEVICE_FD, untouched.
 *
 * The library keeps no state but caches: the resolved function table and
 * the node's st_rdev. So dup, fork and exec of a child that is preloaded
 * again all need nothing from us. No locks are held across any call, and
 * nothing is allocated or printed unless VFIO_CUSE_DEBUG is set.
 */
#include "preload-priv.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "vfc-cuse-proto.h"

struct vfc_preload_real vfc_preload_table;
atomic_bool vfc_preload_resolved;
#define real vfc_preload_table
static pthread_once_t real_once = PTHREAD_ONCE_INIT;

/* The node's st_rdev as last seen; 0 until the node was first found. */
static _Atomic uint64_t node_rdev;

/* POSIX's way to store dlsym's void * into a function pointer. */
#define RESOLVE(field, sym) (*(void **)&real.field = dlsym(RTLD_NEXT, sym))

static void resolve(void)
{
	RESOLVE(ioctl, "ioctl");
	RESOLVE(pread, "pread");
	RESOLVE(pread64, "pread64");
	RESOLVE(pwrite, "pwrite");
	RESOLVE(pwrite64, "pwrite64");
	RESOLVE(preadv, "preadv");
	RESOLVE(preadv64, "preadv64");
	RESOLVE(preadv2, "preadv2");
	RESOLVE(preadv64v2, "preadv64v2");
	RESOLVE(pwritev, "pwritev");
	RESOLVE(pwritev64, "pwritev64");
	RESOLVE(pwritev2, "pwritev2");
	RESOLVE(pwritev64v2, "pwritev64v2");
	RESOLVE(pread_chk, "__pread_chk");
	RESOLVE(pread64_chk, "__pread64_chk");
	RESOLVE(lseek, "lseek");
	RESOLVE(lseek64, "lseek64");
	RESOLVE(mmap, "mmap");
	RESOLVE(mmap64, "mmap64");
	RESOLVE(close, "close");
	RESOLVE(dup2, "dup2");
	RESOLVE(dup3, "dup3");
	RESOLVE(close_range, "close_range");
	atomic_store_explicit(&vfc_preload_resolved, true, memory_order_release);
}

const struct vfc_preload_real *vfc_preload_real(void)
{
	pthread_once(&real_once, resolve);
	return &real;
}

/*
 * Resolve before main() so that wrappers called later, from any thread or
 * signal handler, never reach dlsym(), which may lock and allocate.
 */
__attribute__((constructor)) static void preload_init(void)
{
	vfc_preload_real();
}

int vfc_preload_real_close(int fd)
{
	const struct vfc_preload_real *r = vfc_preload_real();

	if (!r->close) {
		errno = ENOSYS;
		return -1;
	}
	return r->close(fd);
}

const char *vfc_preload_node(void)
{
	const char *p = getenv(VFC_CUSE_ENV_DEVICE_NODE);

	return p && *p ? p : VFC_CUSE_DEFAULT_DEVICE_NODE;
}

bool vfc_preload_is_device(int fd)
{
	int saved = errno;
	struct stat st, node;
	uint64_t cached;
	bool ret = false;

	/* The cheap test first: most fds are not character devices. */
	if (fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode))
		goto out;
	cached = atomic_load_explicit(&node_rdev, memory_order_relaxed);
	if (cached != 0 && cached == (uint64_t)st.st_rdev) {
		ret = true;
		goto out;
	}
	/* Unknown yet, or the daemon came back with another dev_t. */
	if (stat(vfc_preload_node(), &node) < 0 || !S_ISCHR(node.st_mode))
		goto out;
	atomic_store_explicit(&node_rdev, (uint64_t)node.st_rdev, memory_order_relaxed);
	ret = node.st_rdev == st.st_rdev;
out:
	errno = saved;
	return ret;
}

bool vfc_preload_is_device_cached(int fd)
{
	int saved = errno;
	bool ret = false;

	if (fd < 0 || vfc_preload_known_other(fd))
		return false;
	if (vfc_preload_is_device(fd))
		ret = true;
	else if (fcntl(fd, F_GETFD) >= 0)	/* an open file, of another kind */
		vfc_preload_set_other(fd);
	errno = saved;
	return ret;
}

bool vfc_preload_stale_other(int fd, int err, int cuse_err)
{
	if (err != cuse_err || !vfc_preload_known_other(fd))
		return false;
	vfc_preload_forget_range((unsigned int)fd, (unsigned int)fd);
	return vfc_preload_is_device_cached(fd);
}

bool vfc_preload_is_ours(int fd)
{
	int saved = errno;
	struct stat st;
	bool ret = false;

	if (fstat(fd, &st) == 0 && S_ISCHR(st.st_mode)) {
		/* vfc_preload_is_device() refreshes the cached node rdev. */
		uint64_t node;

		ret = vfc_preload_is_device(fd);
		node = atomic_load_explicit(&node_rdev, memory_order_relaxed);
		ret = ret || (node != 0 && major((dev_t)node) == major(st.st_rdev));
	}
	errno = saved;
	return ret;
}

/*
 * lseek: the kernel's VFIO files have no llseek and answer ESPIPE; CUSE's
 * answer 0 (noop_llseek). Say what the kernel says.
 */
VFC_EXPORT off_t lseek(int fd, off_t off, int whence)
{
	if (vfc_preload_is_ours(fd)) {
		errno = ESPIPE;
		return -1;
	}
	return vfc_preload_real()->lseek(fd, off, whence);
}

VFC_EXPORT off64_t lseek64(int fd, off64_t off, int whence)
{
	if (vfc_preload_is_ours(fd)) {
		errno = ESPIPE;
		return -1;
	}
	return vfc_preload_real()->lseek64(fd, off, whence);
}

/* A line for VFIO_CUSE_DEBUG, built on the stack: async-signal-safe. */
struct debug_line {
	char buf[512];
	size_t len;
};

static void put_str(struct debug_line *l, const char *s)
{
	while (*s && l->len < sizeof(l->buf) - 1)
		l->buf[l->len++] = *s++;
}

static void put_int(struct debug_line *l, long v)
{
	char tmp[24];
	unsigned long u = v < 0 ? -(unsigned long)v : (unsigned long)v;
	size_t i = sizeof(tmp);

	tmp[--i] = '\0';
	do {
		tmp[--i] = '0' + u % 10;
		u /= 10;
	} while (u);
	if (v < 0)
		tmp[--i] = '-';
	put_str(l, tmp + i);
}

static void put_errno(struct debug_line *l, int err)
{
	const char *name = strerrorname_np(err);

	if (name) {
		put_str(l, name);
	} else {
		put_str(l, "errno ");
		put_int(l, err);
	}
}

/* A client's string: quoted, at most 64 bytes, non-printables escaped. */
static void put_quoted(struct debug_line *l, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	char esc[5] = "\\x00";
	size_t i;

	put_str(l, "\"");
	for (i = 0; s[i] && i < 64; i++) {
		unsigned char c = s[i];

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
			char one[2] = { (char)c, '\0' };

			put_str(l, one);
		} else {
			esc[2] = hex[c >> 4];
			esc[3] = hex[c & 15];
			put_str(l, esc);
		}
	}
	put_str(l, s[i] ? "\"..." : "\"");
}

/*
 * One line per GET_DEVICE_FD when VFIO_CUSE_DEBUG is set. @name is printed
 * only if the real ioctl ran and did not fail with EFAULT, so a bad
 * pointer cannot crash us where the kernel would answer EFAULT.
 */
static void debug_report(int gfd, const char *name, bool name_ok, const char *what,
			 const char *node, int ret, int err)
{
	struct debug_line l = { .len = 0 };
	const char *p;
	ssize_t n;

	put_str(&l, "vfio-cuse-preload[");
	put_int(&l, getpid());
	put_str(&l, "]: VFIO_GROUP_GET_DEVICE_FD on group fd ");
	put_int(&l, gfd);
	if (name_ok) {
		put_str(&l, " ");
		put_quoted(&l, name);
	}
	put_str(&l, ": ");
	put_str(&l, what);
	put_str(&l, node);
	if (ret >= 0) {
		put_str(&l, ": fd ");
		put_int(&l, ret);
	} else {
		put_str(&l, ": failed with ");
		put_errno(&l, err);
	}
	if (l.len == sizeof(l.buf) - 1)
		l.len--;
	l.buf[l.len++] = '\n';
	for (p = l.buf; p < l.buf + l.len; p += n) {
		n = write(STDERR_FILENO, p, l.buf + l.len - p);
		if (n < 0 && errno == EINTR)
			n = 0;
		else if (n <= 0)
			break;
	}
}

/*
 * GET_DEVICE_FD: for one of vfio-cused's groups, open its device node and
 * DEVICE_OPEN there; for any other fd, the real ioctl.
 * On return errno is the failing step's, or the caller's own on success.
 */
static int get_device_fd(int gfd, unsigned long req, void *arg)
{
	const struct vfc_preload_real *r = vfc_preload_real();
	const char *node = vfc_preload_node();
	const char *debug = getenv("VFIO_CUSE_DEBUG");
	bool dbg = debug && *debug;
	struct vfc_cuse_device_open op;
	int saved = errno, devfd, ret, err;

	if (!r->ioctl) {
		errno = ENOSYS;
		return -1;
	}
	if (!vfc_preload_is_ours(gfd)) {
		errno = saved;
		ret = r->ioctl(gfd, req, arg);
		err = errno;
		if (dbg)
			debug_report(gfd, arg, ret >= 0 || err != EFAULT,
				     "not a group of vfio-cused, passed on; node ", node, ret, err);
		errno = err;
		return ret;
	}

	devfd = open(node, O_RDWR | O_CLOEXEC);
	if (devfd < 0) {
		err = errno;
		if (dbg)
			debug_report(gfd, arg, false, "cannot open ", node, -1, err);
		errno = err;
		return -1;
	}
	op = (struct vfc_cuse_device_open){
		.group_fd = gfd, .device_fd = devfd, .name = (uint64_t)(uintptr_t)arg,
	};
	ret = r->ioctl(devfd, VFC_CUSE_DEVICE_OPEN, &op);
	err = errno;
	if (ret >= 0 && ret != devfd) {
		/* Only a daemon that does not speak this protocol answers so;
		 * the number is not ours to close. */
		ret = -1;
		err = EPROTO;
	}
	if (ret < 0)
		close(devfd);
	if (dbg)
		debug_report(gfd, arg, ret >= 0 || err != EFAULT, ret >= 0 ?
			     "vfio-cused device through " : "vfio-cused group, through ",
			     node, ret, err);
	errno = ret >= 0 ? saved : err;
	return ret;
}

/**
 * ioctl() - the interposer for every ioctl of the process.
 * @fd: any fd.
 * @req: the request; compared like the kernel does, as unsigned int.
 *
 * Everything but VFIO_GROUP_GET_DEVICE_FD goes to the real ioctl as it is.
 * Return: the ioctl's result, or -1 with errno.
 */
VFC_EXPORT int ioctl(int fd, unsigned long req, ...)
{
	const struct vfc_preload_real *r;
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);

	switch ((unsigned int)req) {
	case VFIO_GROUP_GET_DEVICE_FD:
		return get_device_fd(fd, req, arg);
	case VFIO_IOMMU_MAP_DMA:
	case VFIO_IOMMU_UNMAP_DMA:
	case VFIO_IOMMU_DIRTY_PAGES:
		return vfc_preload_iommu_ioctl(fd, req, arg);
	default:
		break;
	}
	r = vfc_preload_real();
	if (!r->ioctl) {
		errno = ENOSYS;
		return -1;
	}
	return r->ioctl(fd, req, arg);
}
