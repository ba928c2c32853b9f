/* SPDX-License-Identifier: MIT */
/*
 * Who is calling, and the fds named inside their arguments.
 *
 * FUSE gives the calling THREAD's id. pidfd_open() wants a thread-group
 * leader, so the tgid is looked up first (tgid.c: a cache whose every
 * answer is confirmed within the request). Fds are fetched with the
 * privileged get_client_fd (include/vfc-priv.h): pidfd_getfd(), which
 * needs ptrace rights over the caller, done by the daemon itself, or by
 * vfio-cuse-helper once the daemon runs unprivileged. It returns only files
 * of our own nodes and eventfds (only eventfds for SET_IRQS, so that one
 * never closes a file of ours), judged without asking any filesystem; it
 * closes anything else off our threads, since a FUSE file's close can
 * block forever. A fetched duplicate of one of our own CUSE files is
 * identified by its rdev, and a container with VFC_CUSE_IDENTIFY (served
 * by another thread: no lock may be held here), and closed at once, so its
 * release is never delayed.
 *
 * A thread id stands for its process only while its request is in
 * flight: once a FUSE request has been read, its caller waits for the
 * answer and cannot exit, even when killed (fs/fuse/dev.c,
 * request_wait_answer), so its tid cannot be reused meanwhile. Nothing
 * here trusts a tid beyond the request that carried it: tgid.c keeps
 * tids, but only as hints checked anew in each request.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "daemon.h"
#include "tgid.h"
#include "vfc-cuse-proto.h"
#include "vfc-log.h"
#include "vfc-macro.h"

/*
 * Fetch the caller's fd @fd; @flags as get_client_fd's. Return: a local
 * O_CLOEXEC fd, owned by the caller, or -errno.
 */
static int caller_fetch(struct vfc_cuse_caller *c, int fd, uint32_t flags)
{
	struct vfc_priv *priv = c->daemon->priv;
	int r;

	if (c->base.pid <= 0)
		return -ESRCH;
	if (fd < 0)
		return -EBADF;
	r = priv->ops->get_client_fd(priv, c->base.pid, c->tid, fd, flags);
	if (r == -EMFILE)
		vfc_info("caller %d (uid %u): fd %d: refused: too many of this uid's files are "
			 "still being closed (a filesystem that does not answer?)", c->base.pid,
			 c->base.uid, fd);
	if (r == -EPERM)
		vfc_err("caller %d: fetching its fd %d was refused: it holds no file of our "
			"nodes, or the privileged side lacks CAP_SYS_PTRACE", c->base.pid, fd);
	return r;
}

/*
 * statx of a fetched fd, asking no filesystem server. get_client_fd only
 * ever returns files of our nodes and eventfds, but the rdev decides.
 */
static int fd_rdev(int fd, dev_t *ret)
{
	struct statx stx;

	if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_TYPE, &stx) < 0 ||
	    !S_ISCHR(stx.stx_mode))
		return -EBADFD;
	*ret = makedev(stx.stx_rdev_major, stx.stx_rdev_minor);
	return 0;
}

static int caller_get_container(struct vfc_caller *base, int fd, struct vfc_container **ret)
{
	struct vfc_cuse_caller *c = (struct vfc_cuse_caller *)base;
	struct vfc_cuse_identity id = { 0 };
	struct vfc_container *container;
	dev_t rdev;
	int local, r;

	local = caller_fetch(c, fd, 0);
	if (local == -EBADFD)
		vfc_info("caller %d: fd %d is neither one of our files nor an eventfd",
			 c->base.pid, fd);
	if (local < 0)
		return local == -EBADF ? -EBADF : -EBADFD;
	if (fd_rdev(local, &rdev) < 0 || rdev != c->daemon->container_dev) {
		close(local);	/* ours or an eventfd: this close cannot block */
		return -EBADFD;
	}
	r = ioctl(local, VFC_CUSE_IDENTIFY, &id);
	r = r < 0 ? -errno : 0;
	close(local);	/* never keep our own files */
	if (r < 0 || id.kind != VFC_CUSE_KIND_CONTAINER) {
		vfc_warn("caller %d: fd %d: identify failed: %s", c->base.pid, fd,
			 r < 0 ? strerror(-r) : "not a container");
		return -EBADFD;
	}
	container = vfc_core_find_container(c->daemon->core, id.id);
	if (!container)
		return -EBADFD;
	*ret = container;
	return 0;
}

/*
 * SET_IRQS's eventfds. Asked for in eventfd-only mode, so no file of ours
 * ever reaches this thread and nothing here closes one: SET_IRQS nests no
 * request and is served on the poll thread (nodes.c).
 */
static int caller_get_eventfd(struct vfc_caller *base, int fd)
{
	struct vfc_cuse_caller *c = (struct vfc_cuse_caller *)base;
	int local = caller_fetch(c, fd, VFC_PRIV_CLIENT_FD_EVENTFD_ONLY);

	if (local == -EBADFD)
		return -EINVAL;	/* refused, or closed by the privileged side's reaper */
	if (local < 0)
		return local == -EMFILE ? -EMFILE : -EBADF;
	return local;	/* an eventfd, the only kind that mode returns */
}

int vfc_cuse_caller_get_group(struct vfc_cuse_caller *c, int fd, struct vfc_cuse_file **ret_file,
			      int *ret_dup)
{
	struct vfc_daemon *d = c->daemon;
	struct vfc_cuse_file *file = NULL;
	dev_t rdev;
	int local;

	local = caller_fetch(c, fd, 0);
	if (local == -EBADFD)
		return -ENOTTY;
	if (local < 0)
		return local;
	if (fd_rdev(local, &rdev) < 0) {
		close(local);	/* an eventfd */
		return -ENOTTY;
	}
	/* Our duplicate keeps the file open: it is the group's one open file. */
	pthread_mutex_lock(&d->files_lock);
	for (unsigned int i = 0; i < d->n_nodes; i++)
		if (d->nodes[i].kind == VFC_NODE_GROUP && d->nodes[i].dev == rdev)
			file = d->nodes[i].open_file;
	pthread_mutex_unlock(&d->files_lock);
	if (!file) {
		close(local);
		return -ENOTTY;
	}
	*ret_file = file;
	*ret_dup = local;
	return 0;
}

/*
 * PCI_HOT_RESET's group fds. The fetched duplicate keeps the group file
 * open only until the close below, which may be that file's release: the
 * ioctl is NESTS, served where a nested request can be served meanwhile,
 * and no lock is held. The group itself is the core's for good.
 */
static int caller_get_group_op(struct vfc_caller *base, int fd, struct vfc_group **ret)
{
	struct vfc_cuse_caller *c = (struct vfc_cuse_caller *)base;
	struct vfc_cuse_file *file;
	struct vfc_group *g;
	int dup, id, r;

	r = vfc_cuse_caller_get_group(c, fd, &file, &dup);
	if (r == -ENOTTY)
		return -EINVAL;
	if (r < 0)
		return r;
	id = vfc_file_group(file->file);
	close(dup);	/* ours, never another filesystem's: cannot block */
	g = id >= 0 ? vfc_core_find_group(c->daemon->core, (unsigned int)id) : NULL;
	if (!g)
		return -EINVAL;
	*ret = g;
	return 0;
}

static int caller_install_device(struct vfc_caller *base, struct vfc_device_file *df)
{
	struct vfc_cuse_caller *c = (struct vfc_cuse_caller *)base;
	int r;

	if (!c->bind) {
		vfc_notice("caller %d (thread %d): GET_DEVICE_FD needs the client library: run "
			   "the client under vfio-cuse-run (LD_PRELOAD=libvfio-cuse-preload.so)",
			   c->base.pid, c->tid);
		return -EOPNOTSUPP;
	}
	r = vfc_file_bind_device(c->bind->file, df);
	return r < 0 ? r : c->bind_fd;	/* on success the ref moved to the file */
}

static const struct vfc_caller_ops cuse_caller_ops = {
	.get_container = caller_get_container,
	.get_eventfd = caller_get_eventfd,
	.install_device = caller_install_device,
	.get_group = caller_get_group_op,
};

void vfc_cuse_caller_init_anonymous(struct vfc_cuse_caller *c, struct vfc_daemon *d,
				    fuse_req_t req)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);

	*c = (struct vfc_cuse_caller){
		.base = { .ops = &cuse_caller_ops, .pid = 0, .uid = ctx->uid, .gid = ctx->gid },
		.daemon = d,
		.tid = ctx->pid,
	};
}

int vfc_cuse_caller_init(struct vfc_cuse_caller *c, struct vfc_daemon *d, fuse_req_t req)
{
	pid_t tgid;

	vfc_cuse_caller_init_anonymous(c, d, req);
	tgid = vfc_tgid_of(c->tid);
	c->base.pid = tgid > 0 ? tgid : 0;
	return tgid > 0 ? 0 : -ESRCH;
}

void vfc_cuse_caller_fini(struct vfc_cuse_caller *c)
{
	/* Nothing is held today: each fetch is one privileged op. */
}
