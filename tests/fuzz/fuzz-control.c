// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness: the control socket's protocol (cuse/control-proto.c)
 * as the control thread runs it for a connected user: one request line of
 * any bytes, vfc_ctl_parse(), then vfc_ctl_execute() against a live core
 * (the emulated type1 IOMMU with a container, a mapping and an open fake
 * device, so that every listing has something to print). The user is one
 * that the configuration granted, not root: a trace goes to the rundir
 * (a private temporary directory), never to a file the input names. Fault
 * rules the input adds (its text goes to the rule parser of src/fault.c)
 * and the trace are cleared after each input. A reply must be a status
 * line that vfc_ctl_parse_reply() accepts.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control.h"
#include "emu-iommu.h"
#include "fake.h"
#include "vfc-fault.h"
#include "vfc-local.h"
#include "vfc-log.h"
#include "vfc-trace.h"

#define DEV "0000:06:0d.0"
#define LINE_MAX_BYTES 4096	/* the control thread's longest line */

static struct {
	struct vfc_core *core;
	struct vfc_local *l;
	struct vfc_fake_device dev;
	void *mem;
	char rundir[64];
	struct vfc_ctl_env env;
} g;

static __attribute__((noreturn)) void die(const char *what, long r)
{
	fprintf(stderr, "fuzz-control: %s: %ld\n", what, r);
	exit(1);
}

/* The daemon's open-file list, as control.c snapshots it. */
static int files(void *opaque, struct vfc_ctl_open_file **ret, size_t *ret_n)
{
	struct vfc_ctl_open_file *arr = calloc(2, sizeof(*arr));

	if (!arr)
		return -ENOMEM;
	arr[0] = (struct vfc_ctl_open_file){ .pid = 4242, .uid = 1000, .kind = VFC_FILE_CONTAINER,
					     .file_id = 1, .container = 1, .group = -1 };
	arr[1] = (struct vfc_ctl_open_file){ .pid = 4242, .uid = 1000, .kind = VFC_FILE_DEVICE,
					     .file_id = 3, .group = -1, .device = DEV };
	*ret = arr;
	*ret_n = 2;
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.iova = 0x100000,
		.size = 2 * 4096,
	};
	struct vfc_group *grp;
	long c, gr, d, r;

	vfc_log_set_max_level(getenv("FUZZ_VERBOSE") ? 7 : 2);
	snprintf(g.rundir, sizeof(g.rundir), "/tmp/fuzz-control.XXXXXX");
	if (!mkdtemp(g.rundir))
		die("mkdtemp", -errno);
	if (posix_memalign(&g.mem, 4096, 2 * 4096))
		die("posix_memalign", -ENOMEM);
	memset(g.mem, 0, 2 * 4096);
	map.vaddr = (uintptr_t)g.mem;
	if ((r = vfc_core_new(&g.core)) < 0 ||
	    (r = vfc_core_add_iommu_driver(g.core, &vfc_emu_iommu_ops, NULL)) < 0 ||
	    (r = vfc_core_add_group(g.core, 26, NULL, &grp)) < 0 ||
	    (r = vfc_core_add_group(g.core, 27, NULL, NULL)) < 0)
		die("core", r);
	vfc_fake_device_init(&g.dev, 0x1234, 0x11e8);
	if ((r = vfc_group_add_device(grp, DEV, &vfc_fake_device_ops, &g.dev, NULL)) < 0 ||
	    (r = vfc_local_new(g.core, &g.l)) < 0)
		die("device", r);
	c = vfc_local_open_container(g.l);
	gr = vfc_local_open_group(g.l, 26);
	if (c < 0 || gr < 0)
		die("open", c < 0 ? c : gr);
	if ((r = vfc_local_ioctl(g.l, (int)gr, VFIO_GROUP_SET_CONTAINER, (unsigned long)&c)) < 0 ||
	    (r = vfc_local_ioctl(g.l, (int)c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)) < 0 ||
	    (r = vfc_local_ioctl(g.l, (int)c, VFIO_IOMMU_MAP_DMA, (unsigned long)&map)) < 0)
		die("setup ioctls", r);
	d = vfc_local_ioctl(g.l, (int)gr, VFIO_GROUP_GET_DEVICE_FD, (unsigned long)DEV);
	if (d < 0)
		die("GET_DEVICE_FD", d);
	g.env = (struct vfc_ctl_env){ .core = g.core, .files = files, .rundir = g.rundir,
				      .may_name_files = false, .pid = getpid(), .uid = getuid() };
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	struct vfc_ctl_buf out = { 0 };
	struct vfc_ctl_request req;
	char line[LINE_MAX_BYTES + 1], *body;
	size_t len = n < LINE_MAX_BYTES ? n : LINE_MAX_BYTES, body_len;
	int status;

	memcpy(line, data, len);
	line[len] = '\0';
	if (vfc_ctl_parse(line, len, &req) == 0) {
		vfc_ctl_execute(&g.env, &req, &out);
		if (!out.failed && !out.len)
			abort();	/* every request gets a reply */
		if (out.data) {
			/* room for the parser's terminating NUL */
			char *copy = malloc(out.len + 1);

			if (!copy)
				abort();
			memcpy(copy, out.data, out.len);
			if (vfc_ctl_parse_reply(copy, out.len, &status, &body, &body_len) < 0 &&
			    !out.failed)
				abort();	/* a reply the tool cannot read */
			free(copy);
		}
	}
	vfc_ctl_buf_free(&out);
	vfc_fault_clear();
	vfc_trace_stop();
	return 0;
}
