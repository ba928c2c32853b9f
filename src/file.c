/* SPDX-License-Identifier: MIT */
/*
 * The core's file object (vfc-file.h): what a transport opens, the kind
 * dispatch of every ioctl through the kinds' tables, region access, and
 * release. The transports (cuse/files.c, src/local.c) only move bytes.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vfc-fault.h"
#include "vfc-inspect.h"
#include "vfc-log.h"
#include "vfc-macro.h"
#include "vfc-private.h"
#include "vfc-trace.h"

struct vfc_file {
	enum vfc_file_kind kind;
	uint64_t id;
	_Atomic unsigned int refs;
	struct vfc_container *container;	/* VFC_FILE_CONTAINER */
	struct vfc_group_file *group;		/* VFC_FILE_GROUP */
	pthread_mutex_t lock;			/* device */
	struct vfc_device_file *device;		/* VFC_FILE_DEVICE, once bound */
};

static _Atomic uint64_t next_id = 1;

const struct vfc_ioctl_desc *vfc_ioctl_desc(enum vfc_file_kind kind, unsigned int cmd)
{
	const struct vfc_ioctl_desc *t;
	size_t n;

	switch (kind) {
	case VFC_FILE_CONTAINER:
		t = vfc_container_ioctls, n = vfc_container_n_ioctls;
		break;
	case VFC_FILE_GROUP:
		t = vfc_group_ioctls, n = vfc_group_n_ioctls;
		break;
	default:
		t = vfc_device_ioctls, n = vfc_device_n_ioctls;
		break;
	}
	for (size_t i = 0; i + 1 < n; i++)
		if (t[i].cmd == cmd)
			return &t[i];
	return &t[n - 1];
}

static int file_new(enum vfc_file_kind kind, struct vfc_file **ret)
{
	struct vfc_file *f = calloc(1, sizeof(*f));

	if (!f)
		return -ENOMEM;
	f->kind = kind;
	f->id = atomic_fetch_add(&next_id, 1);
	f->refs = 1;
	pthread_mutex_init(&f->lock, NULL);
	*ret = f;
	return 0;
}

static void file_free(struct vfc_file *f)
{
	pthread_mutex_destroy(&f->lock);
	free(f);
}

int vfc_file_open_container(struct vfc_core *core, struct vfc_file **ret_file)
{
	struct vfc_file *f;
	int r = file_new(VFC_FILE_CONTAINER, &f);

	if (r < 0)
		return r;
	r = vfc_container_open(core, &f->container);
	if (r < 0) {
		file_free(f);
		return r;
	}
	*ret_file = f;
	return 0;
}

int vfc_file_open_group(struct vfc_core *core, unsigned int id, struct vfc_file **ret_file)
{
	struct vfc_file *f;
	int r = file_new(VFC_FILE_GROUP, &f);

	if (r < 0)
		return r;
	r = vfc_group_open(core, id, &f->group);
	if (r < 0) {
		file_free(f);
		return r;
	}
	*ret_file = f;
	return 0;
}

int vfc_file_new_device(struct vfc_device_file *df, struct vfc_file **ret_file)
{
	struct vfc_file *f;
	int r = file_new(VFC_FILE_DEVICE, &f);

	if (r < 0)
		return r;
	f->device = df;	/* ref moved to the file */
	*ret_file = f;
	return 0;
}

struct vfc_file *vfc_file_ref(struct vfc_file *f)
{
	atomic_fetch_add(&f->refs, 1);
	return f;
}

struct vfc_file *vfc_file_release(struct vfc_file *f)
{
	if (!f || atomic_fetch_sub(&f->refs, 1) != 1)
		return NULL;
	vfc_container_unref(f->container);
	vfc_group_close(f->group);
	vfc_device_file_unref(f->device);
	file_free(f);
	return NULL;
}

int vfc_file_bind_device(struct vfc_file *f, struct vfc_device_file *df)
{
	int r = 0;

	if (f->kind != VFC_FILE_DEVICE)
		return -EINVAL;
	pthread_mutex_lock(&f->lock);
	if (f->device)
		r = -EBUSY;
	else
		f->device = df;	/* ref moved to the file */
	pthread_mutex_unlock(&f->lock);
	return r;
}

/* A device file's device: bound once, never unbound before release. */
static struct vfc_device_file *file_device(struct vfc_file *f)
{
	struct vfc_device_file *df;

	pthread_mutex_lock(&f->lock);
	df = f->device;
	pthread_mutex_unlock(&f->lock);
	return df;
}

bool vfc_file_is_bound(struct vfc_file *f)
{
	return f->kind == VFC_FILE_DEVICE && file_device(f);
}

/* The ioctl fault rules' view of a call: kind, number, group, device. */
static int file_fault(struct vfc_file *f, const struct vfc_ioctl_desc *d)
{
	struct vfc_device_file *df;

	switch (f->kind) {
	case VFC_FILE_GROUP:
		return vfc_fault_ioctl_match(f->kind, d->cmd,
					     (int)vfc_group_file_group(f->group)->id, NULL);
	case VFC_FILE_DEVICE:
		df = file_device(f);
		if (!df)
			return 0;
		return vfc_fault_ioctl_match(f->kind, d->cmd, (int)df->dev->group->id,
					     df->dev->name);
	default:
		return vfc_fault_ioctl_match(f->kind, d->cmd, -1, NULL);
	}
}

static inline __attribute__((always_inline)) int file_ioctl(struct vfc_file *f,
							    struct vfc_ioctl *io)
{
	const struct vfc_ioctl_desc *d = vfc_ioctl_desc(f->kind, io->cmd);
	struct vfc_device_file *df;

	io->out_len = 0;
	io->out_on_error = false;
	io->desc = d;
	io->injected = false;
	/* Fault rules count a call once: on its first round, which carries
	 * no bytes yet (VFIO ioctls are _IO); retries carry some. */
	if (vfc_fault_any() && !io->in_len && !io->out_cap && d->cmd) {
		int r = file_fault(f, d);

		if (r) {
			io->injected = true;
			return r;
		}
	}
	switch (f->kind) {
	case VFC_FILE_CONTAINER:
		return d->fn.container(f->container, io);
	case VFC_FILE_GROUP:
		return d->fn.group(vfc_group_file_group(f->group), io);
	case VFC_FILE_DEVICE:
		df = file_device(f);
		if (!df)
			return -ENOTTY;	/* a transport's file not bound yet */
		if ((d->flags & VFC_IOCTL_PCI) && !(df->dev->info.flags & VFIO_DEVICE_FLAGS_PCI))
			return vfc_device_ioctls[vfc_device_n_ioctls - 1].fn.device(df->dev, io);
		return d->fn.device(df->dev, io);
	}
	return -ENOTTY;
}

/*
 * The trace sees one line per completed call: rounds that end in
 * VFC_IOCTL_RETRY are skipped, and the duration is the final round's, the
 * one that does the work (a handler changes nothing before its input is
 * complete). The transport's round trips are not in it.
 */
static __attribute__((noinline, cold)) int file_ioctl_traced(struct vfc_file *f,
							     struct vfc_ioctl *io)
{
	uint64_t t0;
	int r;

	vfc_trace_note_reset();
	t0 = vfc_trace_now_ns();
	r = file_ioctl(f, io);
	if (r != VFC_IOCTL_RETRY) {
		bool out = (r >= 0 || io->out_on_error) && io->out_len;

		vfc_trace_ioctl(&(struct vfc_trace_ioctl){
			.kind = f->kind, .file_id = f->id,
			.pid = io->caller ? io->caller->pid : 0,
			.cmd = io->cmd, .arg = io->arg, .in = io->in, .in_len = io->in_len,
			.out = out ? io->out : NULL, .out_len = out ? io->out_len : 0,
			.result = r, .duration_ns = vfc_trace_now_ns() - t0,
			.injected = io->injected });
	}
	return r;
}

int vfc_file_ioctl(struct vfc_file *f, struct vfc_ioctl *io)
{
	if (__builtin_expect(vfc_trace_on(), 0))
		return file_ioctl_traced(f, io);
	return file_ioctl(f, io);
}

/* "BAR0", "CONFIG"... for vfio-pci devices, "region N" for others. */
static void region_label(const struct vfc_device *dev, unsigned int index, char *buf, size_t n)
{
	const char *pci = vfc_trace_region_name(index);

	if ((dev->info.flags & VFIO_DEVICE_FLAGS_PCI) && pci)
		snprintf(buf, n, "%s", pci);
	else
		snprintf(buf, n, "%u", index);
}

static void trace_rw(struct vfc_file *f, struct vfc_device_file *df, uint64_t off,
		     const void *buf, size_t len, bool write, ssize_t r, uint64_t ns)
{
	char region[16], value[40] = "";
	uint64_t v = 0;

	region_label(df->dev, VFC_REGION_INDEX(off), region, sizeof(region));
	/* the value that moved: written, or read when the read succeeded */
	if (len <= 8 && (write || r == (ssize_t)len)) {
		memcpy(&v, buf, len);	/* little-endian, as the device sees it */
		snprintf(value, sizeof(value), " value=0x%llx", (unsigned long long)v);
	}
	vfc_trace_event(write ? "write" : "read",
			"device=%llu name=\"%s\" region=%s offset=0x%llx len=%zu%s result=%zd "
			"duration_ns=%llu", (unsigned long long)f->id, df->dev->name, region,
			(unsigned long long)(off & VFC_REGION_MASK), len, value, r,
			(unsigned long long)ns);
}

ssize_t vfc_file_rw(struct vfc_file *f, uint64_t off, void *buf, size_t len, bool write)
{
	struct vfc_device_file *df;
	uint64_t t0;
	ssize_t r;

	if (f->kind != VFC_FILE_DEVICE)
		return -ESPIPE;
	df = file_device(f);
	if (!df)
		return -EINVAL;
	if (!vfc_trace_on())
		return vfc_device_file_rw(df, off, buf, len, write);
	t0 = vfc_trace_now_ns();
	r = vfc_device_file_rw(df, off, buf, len, write);
	trace_rw(f, df, off, buf, len, write, r, vfc_trace_now_ns() - t0);
	return r;
}

int vfc_file_mmap(struct vfc_file *f, uint64_t off, uint64_t len, bool shared, int *ret_fd,
		  uint64_t *ret_off)
{
	struct vfc_device_file *df;
	int r;

	if (f->kind != VFC_FILE_DEVICE)
		return -ENODEV;
	df = file_device(f);
	if (!df)
		return -EINVAL;
	r = vfc_device_file_mmap(df, off, len, shared, ret_fd, ret_off);
	if (vfc_trace_on()) {
		char region[16];

		region_label(df->dev, VFC_REGION_INDEX(off), region, sizeof(region));
		vfc_trace_event("mmap", "device=%llu name=\"%s\" region=%s offset=0x%llx len=0x%llx "
				"shared=%d result=%d", (unsigned long long)f->id, df->dev->name,
				region, (unsigned long long)(off & VFC_REGION_MASK),
				(unsigned long long)len, shared, r);
	}
	return r;
}

enum vfc_file_kind vfc_file_kind(const struct vfc_file *f)
{
	return f->kind;
}

uint64_t vfc_file_id(const struct vfc_file *f)
{
	return f->id;
}

struct vfc_container *vfc_file_container(const struct vfc_file *f)
{
	return f->container;
}

int vfc_file_group(const struct vfc_file *f)
{
	return f->group ? (int)vfc_group_file_group(f->group)->id : -1;
}

/* vfc-inspect.h; here because it needs the file's layout. */
void vfc_inspect_file(struct vfc_file *f, unsigned long *ret_container, const char **ret_device)
{
	struct vfc_device_file *df = f->kind == VFC_FILE_DEVICE ? file_device(f) : NULL;

	*ret_container = f->container ? f->container->id : 0;
	*ret_device = df ? df->dev->name : NULL;
}
