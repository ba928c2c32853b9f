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
