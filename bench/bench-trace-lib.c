/* SPDX-License-Identifier: MIT */
/*
 * One side of bench-trace: a core (with the fake backend) and its hot
 * loop, built twice as loadable modules: bench-trace-on with the core as
 * shipped (the trace check in place), and bench-trace-out with the core
 * built with -DVFC_TRACE_COMPILED_OUT. bench-trace.c loads both with
 * RTLD_LOCAL, so each module's calls stay inside its own copy of the core.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <stdint.h>
#include <time.h>
#include <linux/vfio.h>

#include "fake.h"
#include "vfc-file.h"
#include "vfc-trace.h"

struct bench {
	struct vfc_core *core;
	struct vfc_fake_iommu iommu;
	struct vfc_fake_device dev;
	struct vfc_file *container, *group, *device;
};

static struct bench b;

/* The setup's caller: the container file's fd is 3; the device file is ours. */
static int get_container(struct vfc_caller *caller, int fd, struct vfc_container **ret)
{
	if (fd != 3)
		return -EBADF;
	*ret = vfc_container_ref(vfc_file_container(b.container));
	return 0;
}

static int install_device(struct vfc_caller *caller, struct vfc_device_file *df)
{
	int r = vfc_file_new_device(df, &b.device);

	return r < 0 ? r : 4;
}

static const struct vfc_caller_ops ops = {
	.get_container = get_container, .install_device = install_device,
};

static int setup_ioctl(struct vfc_file *f, unsigned int cmd, uint64_t arg, const void *in,
		       size_t len)
{
	static uint8_t inbuf[4096], outbuf[4096];
	struct vfc_caller caller = { .ops = &ops, .pid = 1 };
	struct vfc_ioctl io = { .cmd = cmd, .arg = arg, .caller = &caller };
	int r;

	/* the retry protocol, over a buffer that holds the argument and zeros */
	memset(inbuf, 0, sizeof(inbuf));
	memcpy(inbuf, in, len);
	for (int round = 0; round < 4; round++) {
		r = vfc_file_ioctl(f, &io);
		if (r != VFC_IOCTL_RETRY || io.need_in > sizeof(inbuf) ||
		    io.need_out > sizeof(outbuf))
			return r;
		io.in = inbuf;
		io.in_len = io.need_in;
		io.out = outbuf;
		io.out_cap = io.need_out;
	}
	return -EIO;
}

int bench_init(void);
double bench_run(int which, unsigned int n);
int bench_trace(const char *path);
void bench_fini(void);

int bench_init(void)
{
	static const char name[] = "0000:06:0d.0";
	const int32_t fd = 3;
	struct vfc_group *g;
	int r;

	r = vfc_core_new(&b.core);
	if (r < 0)
		return r;
	vfc_fake_device_init(&b.dev, 0x1234, 0x11e8);
	if (vfc_core_add_iommu_driver(b.core, &vfc_fake_iommu_ops, &b.iommu) < 0 ||
	    vfc_core_add_group(b.core, 26, NULL, &g) < 0 ||
	    vfc_group_add_device(g, name, &vfc_fake_device_ops, &b.dev, NULL) < 0)
		return -EIO;
	if (vfc_file_open_container(b.core, &b.container) < 0 ||
	    vfc_file_open_group(b.core, 26, &b.group) < 0)
		return -EIO;
	r = setup_ioctl(b.group, VFIO_GROUP_SET_CONTAINER, 0, &fd, sizeof(fd));
	if (r >= 0)
		r = setup_ioctl(b.container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU, NULL, 0);
	if (r >= 0)
		r = setup_ioctl(b.group, VFIO_GROUP_GET_DEVICE_FD, 0, name, sizeof(name));
	if (r != 4) {
		fprintf(stderr, "bench-trace: setup: %d\n", r);
		return -EIO;
	}
	return 0;
}

/* @n calls of GET_API_VERSION (which 0) or DEVICE_GET_INFO (which 1),
 * each one round with its bytes in place. Return: ns per call. */
double bench_run(int which, unsigned int n)
{
	struct vfio_device_info in = { .argsz = sizeof(in) }, out;
	struct vfc_ioctl io = { 0 };
	struct timespec t0, t1;
	int sink = 0;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
	for (unsigned int i = 0; i < n; i++) {
		if (which == 0) {
			io = (struct vfc_ioctl){ .cmd = VFIO_GET_API_VERSION };
			sink += vfc_file_ioctl(b.container, &io);
		} else {
			io = (struct vfc_ioctl){ .cmd = VFIO_DEVICE_GET_INFO, .in = &in,
						 .in_len = sizeof(in), .out = &out,
						 .out_cap = sizeof(out) };
			sink += vfc_file_ioctl(b.device, &io);
		}
	}
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
	if (sink != (which == 0 ? (int)n * VFIO_API_VERSION : 0))
		return -1;
	return ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / n;
}

/* Trace this copy's calls to @path, or stop with NULL. */
int bench_trace(const char *path)
{
	if (!path) {
		vfc_trace_stop();
		return 0;
	}
	return vfc_trace_start(path, VFC_TRACE_TEXT);
}

void bench_fini(void)
{
	vfc_file_release(b.device);
	vfc_file_release(b.group);
	vfc_file_release(b.container);
	vfc_fake_device_fini(&b.dev);
	vfc_core_free(b.core);
}
