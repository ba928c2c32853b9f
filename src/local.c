/* SPDX-License-Identifier: MIT */
/*
 * The in-process transport (see vfc-local.h): a pretend fd table of core
 * files (vfc-file.h) and the retry loop a CUSE caller's kernel would run,
 * over our own memory.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "vfc-local.h"
#include "vfc-log.h"
#include "vfc-private.h"

/* Files are shared between dup()ed fds, as struct file is. */
struct local_file {
	struct vfc_file *file;
	unsigned int fds;
};

struct vfc_local {
	struct vfc_core *core;
	struct vfc_caller caller;
	struct local_file *files[VFC_LOCAL_MAX_FILES];
	unsigned int last_rounds;
	bool last_injected;
};

static struct vfc_local *local_from_caller(struct vfc_caller *c)
{
	return (struct vfc_local *)((char *)c - offsetof(struct vfc_local, caller));
}

static struct local_file *local_get(struct vfc_local *l, int fd)
{
	if (fd < VFC_LOCAL_FD_BASE || fd >= VFC_LOCAL_FD_BASE + VFC_LOCAL_MAX_FILES)
		return NULL;
	return l->files[fd - VFC_LOCAL_FD_BASE];
}

static int local_install(struct vfc_local *l, struct local_file *f)
{
	for (int i = 0; i < VFC_LOCAL_MAX_FILES; i++)
		if (!l->files[i]) {
			l->files[i] = f;
			f->fds++;
			return VFC_LOCAL_FD_BASE + i;
		}
	return -EMFILE;
}

static int local_caller_get_container(struct vfc_caller *caller, int fd,
				      struct vfc_container **ret)
{
	struct local_file *f = local_get(local_from_caller(caller), fd);

	if (f) {
		if (vfc_file_kind(f->file) != VFC_FILE_CONTAINER)
			return -EBADFD;
		*ret = vfc_container_ref(vfc_file_container(f->file));
		return 0;
	}
	return fcntl(fd, F_GETFD) < 0 ? -EBADF : -EBADFD;
}

/* The in-process caller is trusted: closing its non-eventfd here is fine. */
static int local_caller_get_eventfd(struct vfc_caller *caller, int fd)
{
	char path[64], target[64];
	ssize_t n;
	int r;

	if (local_get(local_from_caller(caller), fd))
		return -EBADF;	/* not a real fd, so surely not an eventfd */
	if (fd >= VFC_LOCAL_FD_BASE)
		return -EBADF;
	r = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (r < 0)
		return -errno;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", r);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0 || (target[n] = '\0', strcmp(target, "anon_inode:[eventfd]"))) {
		close(r);
		return -EINVAL;
	}
	return r;
}

static int local_caller_install_device(struct vfc_caller *caller, struct vfc_device_file *df)
{
	struct local_file *f = calloc(1, sizeof(*f));
	int fd;

	if (!f)
		return -ENOMEM;
	/* Unbound first, so that a failure leaves df with the core. */
	fd = vfc_file_new_device(NULL, &f->file);
	if (fd == 0)
		fd = local_install(local_from_caller(caller), f);
	if (fd < 0) {
		vfc_file_release(f->file);
		free(f);
		return fd;
	}
	vfc_file_bind_device(f->file, df);	/* ref moved; cannot fail on a new file */
	return fd;
}

static int local_caller_get_group(struct vfc_caller *caller, int fd, struct vfc_group **ret)
{
	struct vfc_local *l = local_from_caller(caller);
	struct local_file *f = local_get(l, fd);
	struct vfc_group *g;

	if (f) {
		g = vfc_file_kind(f->file) == VFC_FILE_GROUP
			    ? vfc_core_find_group(l->core, (unsigned int)vfc_file_group(f->file))
			    : NULL;
		if (!g)
			return -EINVAL;
		*ret = g;
		return 0;
	}
	return fcntl(fd, F_GETFD) < 0 ? -EBADF : -EINVAL;
}

static const struct vfc_caller_ops local_caller_ops = {
	.get_container = local_caller_get_container,
	.get_eventfd = local_caller_get_eventfd,
	.install_device = local_caller_install_device,
	.get_group = local_caller_get_group,
};

int vfc_local_new(struct vfc_core *core, struct vfc_local **ret)
{
	struct vfc_local *l = calloc(1, sizeof(*l));

	if (!l)
		return -ENOMEM;
	l->core = core;
	l->caller = (struct vfc_caller){
		.ops = &local_caller_ops, .pid = getpid(), .uid = getuid(), .gid = getgid(),
	};
	*ret = l;
	return 0;
}

struct vfc_local *vfc_local_free(struct vfc_local *l)
{
	if (!l)
		return NULL;
	for (int i = 0; i < VFC_LOCAL_MAX_FILES; i++)
		if (l->files[i])
			vfc_local_close(l, VFC_LOCAL_FD_BASE + i);
	free(l);
	return NULL;
}

/* Put a freshly opened file in the table. Return: fd, or -errno (released). */
static int local_add(struct vfc_local *l, struct vfc_file *file)
{
	struct local_file *f = calloc(1, sizeof(*f));
	int r = -ENOMEM;

	if (f) {
		f->file = file;
		r = local_install(l, f);
	}
	if (r < 0) {
		vfc_file_release(file);
		free(f);
	}
	return r;
}

int vfc_local_open_container(struct vfc_local *l)
{
	struct vfc_file *file;
	int r = vfc_file_open_container(l->core, &file);

	return r < 0 ? r : local_add(l, file);
}

int vfc_local_open_group(struct vfc_local *l, unsigned int id)
{
	struct vfc_file *file;
	int r = vfc_file_open_group(l->core, id, &file);

	return r < 0 ? r : local_add(l, file);
}

int vfc_local_close(struct vfc_local *l, int fd)
{
	struct local_file *f = local_get(l, fd);

	if (!f)
		return -EBADF;
	l->files[fd - VFC_LOCAL_FD_BASE] = NULL;
	if (--f->fds)
		return 0;
	vfc_file_release(f->file);
	free(f);
	return 0;
}

int vfc_local_dup(struct vfc_local *l, int fd)
{
	struct local_file *f = local_get(l, fd);

	if (!f)
		return -EBADF;
	return local_install(l, f);
}

static int self_copy(void *dst, const void *src, size_t len)
{
	struct iovec local = { .iov_base = dst, .iov_len = len };
	struct iovec remote = { .iov_base = (void *)src, .iov_len = len };
	ssize_t n;

	if (!len)
		return 0;
	n = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
	return n == (ssize_t)len ? 0 : -EFAULT;
}

long vfc_local_ioctl(struct vfc_local *l, int fd, unsigned int cmd, unsigned long arg)
{
	struct local_file *f = local_get(l, fd);
	_cleanup_free_ uint8_t *in = NULL, *out = NULL;
	struct vfc_ioctl io = { .cmd = cmd, .arg = arg, .caller = &l->caller };
	const struct vfc_ioctl_desc *d;
	int r;

	if (!f)
		return -EBADF;
	d = vfc_ioctl_desc(vfc_file_kind(f->file), cmd);
	l->last_rounds = 0;
	l->last_injected = false;
	for (;;) {
		r = vfc_file_ioctl(f->file, &io);
		l->last_injected = io.injected;
		if (r != VFC_IOCTL_RETRY)
			break;
		/* A handler must ask for more each round, within bounds, and
		 * in no more rounds than its table row says. */
		if (++l->last_rounds > d->max_retries ||
		    (io.need_in <= io.in_len && io.need_out <= io.out_cap) ||
		    io.need_in > VFC_IOCTL_MAX_XFER || io.need_out > VFC_IOCTL_MAX_XFER) {
			vfc_err("local: ioctl 0x%x (%s): handler retry protocol violated in round %u "
				"(the table allows %u)", cmd, d->name, l->last_rounds, d->max_retries);
			return -EIO;
		}
		free(in);
		free(out);
		in = malloc(io.need_in + 1);
		out = calloc(1, io.need_out + 1);
		if (!in || !out)
			return -ENOMEM;
		/* CUSE fails the whole ioctl with EFAULT when a range is not
		 * readable or writable. */
		r = self_copy(in, (const void *)arg, io.need_in);
		if (r < 0)
			return r;
		io.in = in;
		io.in_len = io.need_in;
		io.out = out;
		io.out_cap = io.need_out;
	}
	if ((r >= 0 || io.out_on_error) && io.out_len) {
		struct iovec local = { .iov_base = out, .iov_len = io.out_len };
		struct iovec remote = { .iov_base = (void *)arg, .iov_len = io.out_len };

		if (process_vm_writev(getpid(), &local, 1, &remote, 1, 0) != (ssize_t)io.out_len)
			return -EFAULT;
	}
	return r;
}

unsigned int vfc_local_last_rounds(const struct vfc_local *l)
{
	return l->last_rounds;
}

bool vfc_local_last_injected(const struct vfc_local *l)
{
	return l->last_injected;
}

static ssize_t local_rw(struct vfc_local *l, int fd, void *buf, size_t len, uint64_t off,
			bool write)
{
	struct local_file *f = local_get(l, fd);

	if (!f)
		return -EBADF;
	return vfc_file_rw(f->file, off, buf, len, write);
}

ssize_t vfc_local_pread(struct vfc_local *l, int fd, void *buf, size_t len, uint64_t off)
{
	return local_rw(l, fd, buf, len, off, false);
}

ssize_t vfc_local_pwrite(struct vfc_local *l, int fd, const void *buf, size_t len, uint64_t off)
{
	return local_rw(l, fd, (void *)buf, len, off, true);
}
