/* SPDX-License-Identifier: MIT */
/*
 * Who is calling, and the fds named inside their arguments.
 *
 * FUSE gives the calling THREAD's id. pidfd_open() wants a thread-group
 * leader, so the tgid is read from /proc first. Fds are fetched with the
 * privileged get_client_fd (include/vfc-priv.h): pidfd_getfd(), which
 * needs ptrace rights over the caller, done by the daemon itself, or by
 * vfio-cuse-helper once the daemon runs unprivileged. A fetched duplicate
 * of one of our own CUSE files is identified with VFC_CUSE_IDENTIFY
 * (served by another thread: no lock may be held here) and closed at
 * once, so its release is never delayed.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "vfc-cuse-proto.h"
#include "vfc-log.h"
#include "vfc-macro.h"

pid_t vfc_tgid_of(pid_t tid)
{
	char path[64], line[256];
	FILE *f;
	pid_t tgid = -ESRCH;

	if (tid <= 0)
		return -ESRCH;
	snprintf(path, sizeof(path), "/proc/%d/status", tid);
	f = fopen(path, "re");
	if (!f)
		return -ESRCH;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Tgid: %d", &tgid) == 1)
			break;
	fclose(f);
	return tgid;
}

/* Fetch the caller's fd @fd. Return: a local O_CLOEXEC fd or -errno. */
static int caller_fetch(struct vfc_cuse_caller *c, int fd)
{
	struct vfc_priv *priv = c->daemon->priv;
	int r;

	if (c->base.pid <= 0)
		return -ESRCH;
	if (fd < 0)
		return -EBADF;
	r = priv->ops->get_client_fd(priv, c->base.pid, c->tid, fd);
	if (r == -EPERM)
		vfc_err("caller %d: fetching its fd %d was refused: it holds no file of our "
			"nodes, or the privileged side lacks CAP_SYS_PTRACE", c->base.pid, fd);
	return r;
}

static int caller_get_container(struct vfc_caller *base, int fd, struct vfc_container **ret)
{
	struct vfc_cuse_caller *c = (struct vfc_cuse_caller *)base;
	struct vfc_cuse_identity id = { 0 };
	struct vfc_container *container;
	struct stat st;
	int local, r;

	local = caller_fetch(c, fd);
	if (local < 0)
		return local == -EBADF ? -EBADF : local;
	if (fstat(local, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != c->daemon->container_dev) {
		close(local);
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

static int caller_get_fd(struct vfc_caller *base, int fd)
{
	return caller_fetch((struct vfc_cuse_caller *)base, fd);
}

static int caller_install_device(struct vfc_caller *base, struct vfc_device_file *df)
{
	struct vfc_cuse_caller *c = (struct vfc_cuse_caller *)base;

	return vfc_armed_bind(c->daemon, c->tid, df);
}

static const struct vfc_caller_ops cuse_caller_ops = {
	.get_container = caller_get_container,
	.get_fd = caller_get_fd,
	.install_device = caller_install_device,
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
