/* SPDX-License-Identifier: MIT */
/*
 * The channel (include/vfc-channel-proto.h): a SOCK_SEQPACKET socket in the
 * rundir, served on a thread of its own, for what CUSE cannot carry. A
 * request names a device file by the token that only an ioctl on that file
 * yields. The thread never waits on a client: sockets are non-blocking, a
 * reply that does not fit ends the connection, and nothing here issues a
 * request to our own nodes. It only sends fds, never takes any.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon.h"
#include "vfc-channel-proto.h"
#include "vfc-log.h"
#include "vfc-macro.h"
#include "vfc-trace.h"

struct conn {
	int fd;
	uid_t uid;
	pid_t pid;
};

int vfc_channel_token(struct vfc_daemon *d, struct vfc_cuse_file *f, uint8_t ret_token[16])
{
	int r = 0;

	if (!d->channel_running)
		return -EOPNOTSUPP;
	pthread_mutex_lock(&d->files_lock);
	if (!f->has_token) {
		if (getrandom(f->token, sizeof(f->token), 0) != (ssize_t)sizeof(f->token)) {
			r = -EIO;
		} else {
			f->has_token = true;
			f->token_next = d->token_files;
			d->token_files = f;
		}
	}
	if (r == 0)
		memcpy(ret_token, f->token, sizeof(f->token));
	pthread_mutex_unlock(&d->files_lock);
	return r;
}

void vfc_channel_forget(struct vfc_daemon *d, struct vfc_cuse_file *f)
{
	pthread_mutex_lock(&d->files_lock);
	if (f->has_token)
		for (struct vfc_cuse_file **pp = &d->token_files; *pp; pp = &(*pp)->token_next)
			if (*pp == f) {
				*pp = f->token_next;
				break;
			}
	f->has_token = false;
	pthread_mutex_unlock(&d->files_lock);
}

/* The core file behind @token, with a new reference, or NULL. */
static struct vfc_file *token_lookup(struct vfc_daemon *d, const uint8_t token[16])
{
	struct vfc_file *file = NULL;
	uint8_t diff;

	pthread_mutex_lock(&d->files_lock);
	for (struct vfc_cuse_file *f = d->token_files; f && !file; f = f->token_next) {
		diff = 0;
		for (unsigned int i = 0; i < VFC_CHANNEL_TOKEN_SIZE; i++)	/* no early exit */
			diff |= f->token[i] ^ token[i];
		if (!diff)
			file = vfc_file_ref(f->file);
	}
	pthread_mutex_unlock(&d->files_lock);
	return file;
}

static int reply(struct conn *c, const struct vfc_channel_reply *rep, int fd)
{
	struct iovec iov = { .iov_base = (void *)rep, .iov_len = sizeof(*rep) };
	union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } cm;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (fd >= 0) {
		memset(&cm, 0, sizeof(cm));
		cm.h = (struct cmsghdr){ .cmsg_len = CMSG_LEN(sizeof(int)), .cmsg_level = SOL_SOCKET,
					 .cmsg_type = SCM_RIGHTS };
		memcpy(CMSG_DATA(&cm.h), &fd, sizeof(fd));
		mh.msg_control = &cm;
		mh.msg_controllen = sizeof(cm);
	}
	return sendmsg(c->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t)sizeof(*rep) ? 0 : -EIO;
}

/* MMAP: the fd to map (ours to close once sent) and where, or -errno. */
static int serve_mmap(struct vfc_daemon *d, uid_t uid, pid_t pid,
		      const struct vfc_channel_mmap *m, uint64_t *ret_offset)
{
	struct vfc_file *file;
	int fd = -1, r;

	file = token_lookup(d, m->token);
	if (!file) {
		vfc_info("channel: client %d (uid %u): MMAP with a token of no open file", pid,
			 uid);
		return -EBADF;
	}
	r = vfc_file_mmap(file, m->offset, m->length, m->flags & MAP_SHARED, &fd, ret_offset);
	vfc_file_release(file);
	/* fd: a dup of the device's memory or the kernel's file: no flush */
	return r < 0 ? r : fd;
}

/* IOMMU_FD: the container's client fd (ours to close once sent), or -errno. */
static int serve_iommu_fd(struct vfc_daemon *d, uid_t uid, pid_t pid,
			  const struct vfc_channel_iommu_fd *m)
{
	struct vfc_container *container;
	struct vfc_file *file;
	int fd;

	file = token_lookup(d, m->token);
	if (!file) {
		vfc_info("channel: client %d (uid %u): IOMMU_FD with a token of no open file",
			 pid, uid);
		return -EBADF;
	}
	container = vfc_file_container(file);
	fd = container ? vfc_container_client_fd(container) : -ENOTTY;
	vfc_file_release(file);
	return fd;	/* the kernel's container: no flush */
}

/* One trace event per message, with its reply. @hdr: NULL when malformed. */
static void trace_message(uid_t uid, pid_t pid, const struct vfc_channel_hdr *hdr,
			  const struct vfc_channel_reply *rep, int fd)
{
	const struct vfc_channel_mmap *m = (const void *)hdr;
	uint32_t op = hdr ? hdr->op : 0;
	int32_t status = rep->status;

	if (op == VFC_CHANNEL_MMAP)
		vfc_trace_event("channel", "pid=%d uid=%u op=MMAP offset=0x%llx length=0x%llx "
				"prot=0x%x flags=0x%x status=%d%s%s reply_offset=0x%llx fd=%d",
				(int)pid, (unsigned int)uid,
				(unsigned long long)m->offset, (unsigned long long)m->length,
				m->prot, m->flags, status, status < 0 ? " errno=" : "",
				status < 0 ? vfc_trace_errno_name(-status) : "",
				(unsigned long long)rep->offset, fd);
	else
		vfc_trace_event("channel", "pid=%d uid=%u op=%s status=%d%s%s fd=%d", (int)pid,
				(unsigned int)uid, op == VFC_CHANNEL_IOMMU_FD ? "IOMMU_FD" :
				"malformed", status, status < 0 ? " errno=" : "",
				status < 0 ? vfc_trace_errno_name(-status) : "", fd);
}

void vfc_channel_handle(struct vfc_daemon *d, uid_t uid, pid_t pid, const void *msg, size_t len,
			int msg_flags, struct vfc_channel_reply *ret_reply, int *ret_fd)
{
	/* The message table: one size per op. */
	static const size_t sizes[VFC_CHANNEL_N_OPS] = {
		[VFC_CHANNEL_MMAP] = sizeof(struct vfc_channel_mmap),
		[VFC_CHANNEL_IOMMU_FD] = sizeof(struct vfc_channel_iommu_fd),
	};
	union {
		struct vfc_channel_hdr hdr;
		struct vfc_channel_mmap mmap;
		struct vfc_channel_iommu_fd iommu_fd;
	} m = { 0 };
	const struct vfc_channel_hdr *well_formed = NULL;
	uint64_t off = 0;
	int r;

	*ret_reply = (struct vfc_channel_reply){ .status = -EINVAL };
	*ret_fd = -1;
	if (msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
		vfc_info("channel: client %d (uid %u): a message %s", pid, uid,
			 msg_flags & MSG_CTRUNC ? "carrying fds (dropped)" : "too long");
		goto out;
	}
	memcpy(&m, msg, VFC_MIN(len, sizeof(m)));
	if (len < sizeof(m.hdr) || m.hdr.reserved || m.hdr.op == 0 ||
	    m.hdr.op >= VFC_CHANNEL_N_OPS || len != sizes[m.hdr.op]) {
		vfc_info("channel: client %d (uid %u): malformed message: op %u, %zu bytes", pid,
			 uid, len >= sizeof(m.hdr) ? m.hdr.op : 0, len);
		goto out;
	}
	well_formed = &m.hdr;
	if (m.hdr.op == VFC_CHANNEL_IOMMU_FD)
		r = serve_iommu_fd(d, uid, pid, &m.iommu_fd);
	else
		r = serve_mmap(d, uid, pid, &m.mmap, &off);
	if (r < 0) {
		ret_reply->status = r;
		goto out;
	}
	*ret_reply = (struct vfc_channel_reply){ .status = 0, .offset = off };
	*ret_fd = r;
out:
	if (vfc_trace_on())
		trace_message(uid, pid, well_formed, ret_reply, *ret_fd);
}

/* One message. Return: 0 to keep the connection, -1 to end it. */
static int serve(struct vfc_daemon *d, struct conn *c)
{
	/* One byte more than the longest message, to see one too long. */
	uint8_t raw[sizeof(struct vfc_channel_mmap) + 1];
	struct iovec iov = { .iov_base = raw, .iov_len = sizeof(raw) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n = recvmsg(c->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	struct vfc_channel_reply rep;
	int fd, r;

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	if (n == 0)
		return -1;	/* the client closed it */
	vfc_channel_handle(d, c->uid, c->pid, raw, (size_t)n, mh.msg_flags, &rep, &fd);
	r = reply(c, &rep, fd);
	if (fd >= 0)
		close(fd);
	return r;
}

static unsigned int conns_of(const struct conn *conns, unsigned int n, uid_t uid)
{
	unsigned int k = 0;

	for (unsigned int i = 0; i < n; i++)
		k += conns[i].uid == uid;
	return k;
}

static void accept_one(struct vfc_daemon *d, struct conn *conns, unsigned int *n)
{
	struct ucred cred = { 0 };
	socklen_t len = sizeof(cred);
	int fd = accept4(d->channel_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0) {
		vfc_accept_failed("channel");
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		close(fd);
		return;
	}
	if (*n >= VFC_MIN(d->cfg->channel_conns, VFC_CHANNEL_MAX_CONNS) ||
	    conns_of(conns, *n, cred.uid) >= d->cfg->channel_conns_per_uid) {
		vfc_info("channel: client %d (uid %u): refused: too many connections", cred.pid,
			 cred.uid);
		close(fd);
		return;
	}
	conns[(*n)++] = (struct conn){ .fd = fd, .uid = cred.uid, .pid = cred.pid };
}

static void *channel_main(void *arg)
{
	static struct conn conns[VFC_CHANNEL_MAX_CONNS];
	static struct pollfd pfds[VFC_CHANNEL_MAX_CONNS + 2];
	struct vfc_daemon *d = arg;
	unsigned int n = 0;

	for (;;) {
		pfds[0] = (struct pollfd){ .fd = d->channel_stop, .events = POLLIN };
		pfds[1] = (struct pollfd){ .fd = d->channel_fd, .events = POLLIN };
		for (unsigned int i = 0; i < n; i++)
			pfds[2 + i] = (struct pollfd){ .fd = conns[i].fd, .events = POLLIN };
		if (poll(pfds, 2 + n, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfds[0].revents)
			break;
		for (unsigned int i = n; i-- > 0;) {
			if (!pfds[2 + i].revents)
				continue;
			if (serve(d, &conns[i]) < 0) {
				close(conns[i].fd);
				conns[i] = conns[--n];
			}
		}
		if (pfds[1].revents & POLLIN)
			accept_one(d, conns, &n);
	}
	for (unsigned int i = 0; i < n; i++)
		close(conns[i].fd);
	return NULL;
}

int vfc_channel_start(struct vfc_daemon *d)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int r;

	d->channel_fd = d->channel_stop = -1;
	if ((size_t)snprintf(d->channel_path, sizeof(d->channel_path), "%s/channel",
			     d->cfg->rundir) >= sizeof(sa.sun_path)) {
		vfc_err("channel: rundir \"%s\" is too long for a socket path", d->cfg->rundir);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, d->channel_path, strlen(d->channel_path) + 1);
	d->channel_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	d->channel_stop = eventfd(0, EFD_CLOEXEC);
	if (d->channel_fd < 0 || d->channel_stop < 0)
		goto fail;
	mkdir(d->cfg->rundir, 0755);
	unlink(d->channel_path);	/* a previous daemon's */
	if (bind(d->channel_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(d->channel_path, 0666) < 0 || listen(d->channel_fd, 64) < 0)
		goto fail;
	r = -pthread_create(&d->channel_thread, NULL, channel_main, d);
	if (r < 0) {
		errno = -r;
		goto fail;
	}
	d->channel_running = true;
	vfc_info("channel: %s", d->channel_path);
	return 0;

fail:
	r = -errno;
	vfc_err("channel: cannot serve %s: %s", d->channel_path, strerror(-r));
	if (d->channel_fd >= 0)
		close(d->channel_fd);
	if (d->channel_stop >= 0)
		close(d->channel_stop);
	d->channel_fd = d->channel_stop = -1;
	return r;
}

void vfc_channel_stop(struct vfc_daemon *d)
{
	uint64_t one = 1;

	if (!d->channel_running)
		return;
	if (write(d->channel_stop, &one, sizeof(one)) != sizeof(one))
		vfc_warn("channel: cannot stop its thread");
	pthread_join(d->channel_thread, NULL);
	close(d->channel_fd);
	close(d->channel_stop);
	unlink(d->channel_path);
	d->channel_running = false;
}
