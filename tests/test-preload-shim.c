/* SPDX-License-Identifier: MIT */
/*
 * A stand-in for vfio-cused in the preload library's tests, loaded with
 * LD_PRELOAD after libvfio-cuse-preload.so: it records and answers the
 * ioctls the library issues (see test-preload.h for the rules).
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "test-preload.h"

#define SHIM_EXPORT __attribute__((visibility("default")))

SHIM_EXPORT struct shim_log vfc_shim_log;

static uint8_t region[SHIM_REGION_SIZE];

__attribute__((constructor)) static void shim_init(void)
{
	for (uint32_t i = 0; i < SHIM_REGION_SIZE; i++)
		region[i] = shim_pattern(SHIM_REGION_BASE + i);
}

static int fail(int err)
{
	errno = err;
	return -1;
}

static int shim_rw(struct vfc_cuse_rw *rw)
{
	uint64_t end = SHIM_REGION_BASE + SHIM_REGION_SIZE, n;

	if (rw->len > VFC_CUSE_RW_MAX || (rw->flags & ~VFC_CUSE_RW_WRITE))
		return fail(EINVAL);
	if (rw->offset < SHIM_REGION_BASE || rw->offset >= end)
		return fail(EINVAL);
	n = rw->len < end - rw->offset ? rw->len : end - rw->offset;
	if (rw->flags & VFC_CUSE_RW_WRITE)
		memcpy(region + (rw->offset - SHIM_REGION_BASE), (void *)(uintptr_t)rw->buf, n);
	else
		memcpy((void *)(uintptr_t)rw->buf, region + (rw->offset - SHIM_REGION_BASE), n);
	return (int)n;
}

/* A fast read that did not fit the result, kept for its thread. */
static __thread struct vfc_cuse_rw_stash stash;
static __thread bool stashed;

/* VFC_CUSE_RW_FAST: decoded into @rw, answered like the daemon. */
static int shim_rw_fast(unsigned int cmd, unsigned long arg, struct vfc_cuse_rw *rw)
{
	unsigned int nr = _IOC_NR(cmd), code = nr >> 4 & 3;
	uint32_t len = 1u << code, value = (uint32_t)(arg >> 32);
	bool write = nr & VFC_CUSE_RW_FAST_WRITE;
	int32_t result;
	int n;

	*rw = (struct vfc_cuse_rw){
		.offset = (uint64_t)(nr & VFC_CUSE_RW_FAST_INDEX_MAX) << 40 | (arg & 0xffffffffu),
		.buf = 0, .len = len, .flags = write ? VFC_CUSE_RW_WRITE : 0,
	};
	if (code == 3 || _IOC_DIR(cmd) != _IOC_NONE || _IOC_SIZE(cmd) || (!write && value))
		return fail(EINVAL);
	if (write) {
		rw->buf = (uintptr_t)&value;
		return shim_rw(rw);
	}
	value = 0;
	rw->buf = (uintptr_t)&value;
	n = shim_rw(rw);
	rw->buf = 0;
	if (n < 0)
		return n;
	result = (int32_t)(value ^ VFC_CUSE_RW_FAST_BIAS);
	if ((uint32_t)n == len && (result >= 0 || result < -4095))
		return result;
	stash = (struct vfc_cuse_rw_stash){ value, (uint32_t)n };
	stashed = true;
	return fail(VFC_CUSE_RW_STASHED);
}

/* VFC_CUSE_RW_BOUNCE: checked against its number, answered in place. */
static int shim_rw_bounce(unsigned int cmd, struct vfc_cuse_rw_bounce *b, struct vfc_cuse_rw *rw)
{
	bool write = _IOC_DIR(cmd) == _IOC_WRITE;

	*rw = (struct vfc_cuse_rw){ .offset = b->offset, .len = b->len, .flags = b->flags };
	if (_IOC_SIZE(cmd) != sizeof(*b) + b->len || b->len > VFC_CUSE_RW_BOUNCE_MAX ||
	    b->flags != (write ? VFC_CUSE_RW_WRITE : 0) ||
	    (!write && _IOC_DIR(cmd) != (_IOC_READ | _IOC_WRITE)))
		return fail(EINVAL);
	rw->buf = (uintptr_t)(b + 1);
	return shim_rw(rw);
}

/* GET_DEVICE_FD straight on a group: what a kernel group would answer. */
static int shim_get_device_fd(const char *name)
{
	if (strncmp(name, "cuse:", 5) == 0)
		return fail(EOPNOTSUPP);	/* as vfio-cused, without the library */
	if (strcmp(name, "kernel") == 0)
		return open("/dev/zero", O_RDWR | O_CLOEXEC);
	return fail(ENODEV);
}

/* DEVICE_OPEN on a device-node file: what vfio-cused would answer. */
static int shim_device_open(int fd, const struct vfc_cuse_device_open *op)
{
	const char *name = (const char *)(uintptr_t)op->name;
	const char *env = getenv("VFC_SHIM_OPEN_ERRNO");

	if (env)
		return fail(atoi(env));
	if (op->flags || op->reserved)
		return fail(EINVAL);
	if (op->device_fd != fd)
		return fail(EBADF);	/* the library names the file it issues on */
	if (strncmp(name, "cuse:", 5) == 0)
		return op->device_fd;
	return fail(ENODEV);
}

SHIM_EXPORT int ioctl(int fd, unsigned long req, ...)
{
	static int (*next)(int, unsigned long, ...);
	unsigned int cmd = (unsigned int)req;
	struct shim_call *c = NULL;
	va_list ap;
	void *arg;
	int i, ret;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (!next)
		*(void **)&next = dlsym(RTLD_NEXT, "ioctl");

	if (_IOC_TYPE(cmd) != VFC_CUSE_MAGIC && _IOC_TYPE(cmd) != VFIO_TYPE)
		return next(fd, req, arg);

	i = atomic_fetch_add(&vfc_shim_log.n, 1);
	if (i < SHIM_MAX_CALLS) {
		c = &vfc_shim_log.calls[i];
		c->cmd = req;
		c->fd = fd;
		c->tid = gettid();
		c->arg = (long)arg;
	}

	if (cmd == VFC_CUSE_DEVICE_OPEN) {
		const struct vfc_cuse_device_open *op = arg;

		if (c) {
			c->arg = op->group_fd;
			strncpy(c->name, (const char *)(uintptr_t)op->name, SHIM_NAME_MAX - 1);
		}
		ret = shim_device_open(fd, op);
	} else if (cmd == VFC_CUSE_DEVICE_RW) {
		if (c)
			c->rw = *(struct vfc_cuse_rw *)arg;
		ret = shim_rw(arg);
	} else if (_IOC_TYPE(cmd) == VFC_CUSE_MAGIC && (_IOC_NR(cmd) & VFC_CUSE_RW_FAST_NR)) {
		struct vfc_cuse_rw rw;

		ret = shim_rw_fast(cmd, (unsigned long)arg, &rw);
		if (c) {
			c->rw = rw;
			c->rw.buf = 0;	/* the data travels in the number and result */
		}
	} else if (_IOC_TYPE(cmd) == VFC_CUSE_MAGIC && _IOC_NR(cmd) == VFC_CUSE_RW_BOUNCE_NR) {
		struct vfc_cuse_rw rw;

		ret = shim_rw_bounce(cmd, arg, &rw);
		if (c) {
			c->rw = rw;
			c->rw.buf = 0;	/* the library's own buffer */
		}
	} else if (cmd == VFC_CUSE_RW_STASH) {
		ret = stashed ? 0 : fail(EIO);
		if (stashed)
			*(struct vfc_cuse_rw_stash *)arg = stash;
		stashed = false;
	} else if (cmd == VFIO_GROUP_GET_DEVICE_FD && (strncmp(arg, "cuse:", 5) == 0 ||
		   strcmp(arg, "kernel") == 0 || strcmp(arg, "fail") == 0)) {
		if (c)
			strncpy(c->name, arg, SHIM_NAME_MAX - 1);
		ret = shim_get_device_fd(arg);
	} else {
		ret = next(fd, req, arg);
	}
	if (c) {
		c->ret = ret;
		c->err = ret < 0 ? errno : 0;
	}
	return ret;
}
