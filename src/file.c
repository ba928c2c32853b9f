/* SPDX-License-Identifier: MIT */
/*
 * The core's file object (vfc-file.h): what a transport opens, the kind
 * dispatch of every ioctl through the kinds' tables, region access, and
 * release. The transports (cuse/files.c, src/local.c) only move bytes.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "vfc-inspect.h"
#include "vfc-log.h"
#include "vfc-macro.h"
#include "vfc-private.h"

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

int vfc_file_ioctl(struct vfc_file *f, struct vfc_ioctl *io)
{
	const struct vfc_ioctl_desc *d = vfc_ioctl_desc(f->kind, io->cmd);
	struct vfc_device_file *df;

	io->out_len = 0;
	io->out_on_error = false;
	io->desc = d;
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

ssize_t vfc_file_rw(struct vfc_file *f, uint64_t off, void *buf, size_t len, bool write)
{
	struct vfc_device_file *df;

	if (f->kind != VFC_FILE_DEVICE)
		return -ESPIPE;
	df = file_device(f);
	if (!df)
		return -EINVAL;
	return vfc_device_file_rw(df, off, buf, len, write);
}

int vfc_file_mmap(struct vfc_file *f, uint64_t off, uint64_t len, bool shared, int *ret_fd,
		  uint64_t *ret_off)
{
	struct vfc_device_file *df;

	if (f->kind != VFC_FILE_DEVICE)
		return -ENODEV;
	df = file_device(f);
	if (!df)
		return -EINVAL;
	return vfc_device_file_mmap(df, off, len, shared, ret_fd, ret_off);
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
