/* SPDX-License-Identifier: MIT */
/*
 * The daemon's side of vfio-cuse-helper: starting it, and the struct
 * vfc_priv whose ops are requests to it over a SOCK_SEQPACKET socket
 * (include/vfc-helper-proto.h). One request is in flight at a time (a
 * mutex; the daemon is multi-threaded). Arguments the helper would take as
 * a protocol violation are refused here with an errno and never sent, so
 * only a subverted daemon can make the helper exit. A helper that ends, or
 * answers outside the protocol, is reaped and logged once; every op then
 * fails with -EIO.
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helper-client.h"
#include "vfc-helper-proto.h"
#include "vfc-log.h"
#include "vfc-macro.h"

const char vfc_priv_helper_default_path[] = VFC_HELPER_PATH;

struct helper {
	struct vfc_priv base;
	pthread_mutex_t lock;		/* one request at a time; all below */
	int sock;
	pid_t pid;
	bool gone;
	int wait_status;		/* once gone */
	unsigned int *groups, n_groups;
};

static struct helper *to_helper(struct vfc_priv *p)
{
	return (struct helper *)p;
}

/* Wait for child @pid to end. Return: its wait status. */
static int reap(pid_t pid)
{
	int st = 0;

	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return st;
}

/* The helper ended or broke the protocol: stop using it, reap it, log once.
 * @kill_it: it may still run (it broke the protocol). Locked. */
static void helper_lost(struct helper *h, const char *why, bool kill_it)
{
	char how[64];
	int st;

	if (h->gone)
		return;
	h->gone = true;
	shutdown(h->sock, SHUT_RDWR);
	if (kill_it)
		kill(h->pid, SIGKILL);
	st = reap(h->pid);
	h->wait_status = st;
	if (WIFEXITED(st))
		snprintf(how, sizeof(how), "status %d%s", WEXITSTATUS(st),
			 WEXITSTATUS(st) == VFC_HELPER_EXIT_VIOLATION ? " (protocol violation)" : "");
	else
		snprintf(how, sizeof(how), "killed by signal %d", WTERMSIG(st));
	vfc_err("privileged helper exited: %s %s; privileged operations now fail with EIO", how,
		why);
}

static int send_request(struct helper *h, const void *msg, size_t len, const int *fds,
			unsigned int n_fds)
{
	union { struct cmsghdr h; char buf[CMSG_SPACE(4 * sizeof(int))]; } c = { 0 };
	struct iovec iov = { .iov_base = (void *)msg, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (n_fds > 4)
		return -EINVAL;
	if (n_fds) {
		c.h.cmsg_len = CMSG_LEN(n_fds * sizeof(int));
		c.h.cmsg_level = SOL_SOCKET;
		c.h.cmsg_type = SCM_RIGHTS;
		memcpy(CMSG_DATA(&c.h), fds, n_fds * sizeof(int));
		mh.msg_control = &c;
		mh.msg_controllen = CMSG_SPACE(n_fds * sizeof(int));
	}
	do
		n = sendmsg(h->sock, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EBADF)
		return -EBADF;	/* one of @fds: nothing was sent */
	if (n != (ssize_t)len) {
		helper_lost(h, "before it got a request", false);
		return -EIO;
	}
	return 0;
}

/* One reply: its status, and its fd (or -1) in @ret_fd. -EIO if the
 * helper is gone or the reply is outside the protocol. */
static int recv_reply(struct helper *h, int32_t *ret_status, int *ret_fd)
{
	union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } c;
	struct vfc_helper_reply rep;
	struct iovec iov = { .iov_base = &rep, .iov_len = sizeof(rep) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &c,
			     .msg_controllen = sizeof(c) };
	struct cmsghdr *cm;
	int fd = -1;
	ssize_t n;

	do
		n = recvmsg(h->sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n <= 0) {
		helper_lost(h, "while serving a request", false);
		return -EIO;
	}
	cm = CMSG_FIRSTHDR(&mh);
	if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
	    cm->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(&fd, CMSG_DATA(cm), sizeof(fd));
	if (n != sizeof(rep) || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || rep.reserved ||
	    rep.status > 0 || rep.status < -4095 || (cm && fd < 0) || (cm && CMSG_NXTHDR(&mh, cm))) {
		if (fd >= 0)
			close(fd);
		helper_lost(h, "after a reply outside the protocol", true);
		return -EIO;
	}
	*ret_status = rep.status;
	*ret_fd = fd;
	return 0;
}

static int call_locked(struct helper *h, const void *msg, size_t len, const int *fds,
		       unsigned int n_fds)
{
	_cleanup_close_ int fd = -1;
	int32_t status;
	int r, extra;

	if (h->gone)
		return -EIO;
	r = send_request(h, msg, len, fds, n_fds);
	r = r ?: recv_reply(h, &status, &fd);
	if (r < 0)
		return r;
	if ((status == 0) != (fd >= 0)) {
		helper_lost(h, "after a reply with a wrong fd count", true);
		return -EIO;
	}
	if (status < 0)
		return status;
	/* Hold our copy until the helper has closed its own (the protocol's
	 * "closed" notice): then its close is never the last reference. */
	r = recv_reply(h, &status, &extra);
	if (r < 0)
		return r;
	if (status || extra >= 0) {
		if (extra >= 0)
			close(extra);
		helper_lost(h, "after a wrong \"closed\" notice", true);
		return -EIO;
	}
	return TAKE_FD(fd);
}

int vfc_priv_helper_call(struct vfc_priv *p, const void *msg, size_t len, const int *fds,
			 unsigned int n_fds)
{
	struct helper *h = to_helper(p);
	int r;

	pthread_mutex_lock(&h->lock);
	r = call_locked(h, msg, len, fds, n_fds);
	pthread_mutex_unlock(&h->lock);
	return r;
}

int vfc_priv_helper_wait_status(struct vfc_priv *p)
{
	struct helper *h = to_helper(p);
	int r;

	pthread_mutex_lock(&h->lock);
	r = h->gone ? h->wait_status : -1;
	pthread_mutex_unlock(&h->lock);
	return r;
}

static int helper_open_container(struct vfc_priv *p)
{
	struct vfc_helper_open_container m = { .hdr.op = VFC_HELPER_OPEN_CONTAINER };

	return vfc_priv_helper_call(p, &m, sizeof(m), NULL, 0);
}

static int helper_open_group(struct vfc_priv *p, unsigned int group)
{
	struct vfc_helper_open_group m = { .hdr.op = VFC_HELPER_OPEN_GROUP, .group = group };
	struct helper *h = to_helper(p);

	for (unsigned int i = 0; i < h->n_groups; i++)
		if (h->groups[i] == group)
			return vfc_priv_helper_call(p, &m, sizeof(m), NULL, 0);
	return -EPERM;	/* not a group the helper was started with */
}

static int helper_get_device_fd(struct vfc_priv *p, int group_fd, const char *name)
{
	struct vfc_helper_get_device_fd m = { .hdr.op = VFC_HELPER_GET_DEVICE_FD };
	size_t n = strnlen(name, VFC_HELPER_NAME_MAX);

	if (group_fd < 0)
		return -EBADF;
	if (n == 0 || n == VFC_HELPER_NAME_MAX)
		return -EINVAL;
	memcpy(m.name, name, n);	/* the rest stays zero */
	return vfc_priv_helper_call(p, &m, sizeof(m), &group_fd, 1);
}

static int helper_get_client_fd(struct vfc_priv *p, pid_t pid, pid_t tid, int fd,
				uint32_t flags)
{
	struct vfc_helper_get_client_fd m = {
		.hdr.op = VFC_HELPER_GET_CLIENT_FD, .pid = pid, .tid = tid, .fd = fd,
		.flags = flags & VFC_PRIV_CLIENT_FD_EVENTFD_ONLY ?
			 VFC_HELPER_CLIENT_FD_EVENTFD_ONLY : 0,
	};

	/* An unknown flag would end the helper: refuse it here. */
	if (flags & ~VFC_PRIV_CLIENT_FD_FLAGS)
		return -EINVAL;
	if (pid <= 0 || tid <= 0)
		return -ESRCH;
	if (fd < 0)
		return -EBADF;
	return vfc_priv_helper_call(p, &m, sizeof(m), NULL, 0);
}

static const struct vfc_priv_ops helper_ops = {
	.open_container = helper_open_container,
	.open_group = helper_open_group,
	.get_device_fd = helper_get_device_fd,
	.get_client_fd = helper_get_client_fd,
};

/* Between fork and exec: async-signal-safe calls only. Reports exec's
 * errno on @report_fd and exits. */
static _Noreturn void child_exec(const char *path, char **argv, int sock, int report_fd)
{
	int e;

	/* Out of fd 3's way first, then make the socket fd 3, inherited. */
	report_fd = fcntl(report_fd, F_DUPFD_CLOEXEC, VFC_HELPER_SOCKET_FD + 1);
	if (report_fd >= 0 && (sock == VFC_HELPER_SOCKET_FD ?
			       fcntl(sock, F_SETFD, 0) : dup2(sock, VFC_HELPER_SOCKET_FD)) >= 0)
		execv(path, argv);
	e = errno;
	if (report_fd >= 0 && write(report_fd, &e, sizeof(e)) != sizeof(e))
		_exit(126);	/* cannot even say why */
	_exit(127);
}

int vfc_priv_helper_start(const char *helper_path, const unsigned int *groups, unsigned int n,
			  unsigned int major, struct vfc_priv **ret)
{
	_cleanup_free_ char **argv = calloc(n + 3, sizeof(*argv));
	_cleanup_free_ char *numbers = malloc((n + 1) * 12);
	_cleanup_close_ int sock = -1, child_sock = -1, report_r = -1, report_w = -1;
	int sv[2], pipefd[2], e = 0;
	struct helper *h;
	char *s = numbers;
	ssize_t got;
	pid_t pid;

	if (!argv || !numbers)
		return -ENOMEM;
	argv[0] = (char *)helper_path;
	for (unsigned int i = 0; i <= n; i++) {
		argv[i + 1] = s;
		s += sprintf(s, "%u", i ? groups[i - 1] : major) + 1;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	sock = sv[0];
	child_sock = sv[1];
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -errno;
	report_r = pipefd[0];
	report_w = pipefd[1];
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0)
		child_exec(helper_path, argv, child_sock, report_w);
	close(TAKE_FD(report_w));
	/* Nothing to read: exec succeeded (the pipe closed with it). */
	do
		got = read(report_r, &e, sizeof(e));
	while (got < 0 && errno == EINTR);
	if (got == sizeof(e)) {
		reap(pid);
		return -e;
	}
	/* Allocated only now: a child that failed to exec held nothing. */
	h = calloc(1, sizeof(*h));
	if (h)
		h->groups = calloc(n ? n : 1, sizeof(*groups));
	if (!h || !h->groups) {
		free(h);
		close(TAKE_FD(sock));	/* the helper exits */
		reap(pid);
		return -ENOMEM;
	}
	memcpy(h->groups, groups, n * sizeof(*groups));
	h->n_groups = n;
	h->sock = TAKE_FD(sock);
	h->pid = pid;
	h->base.ops = &helper_ops;
	pthread_mutex_init(&h->lock, NULL);
	*ret = &h->base;
	return 0;
}

struct vfc_priv *vfc_priv_helper_free(struct vfc_priv *p)
{
	struct helper *h;

	if (!p)
		return NULL;
	h = to_helper(p);
	close(h->sock);
	if (!h->gone)
		reap(h->pid);
	pthread_mutex_destroy(&h->lock);
	free(h->groups);
	free(h);
	return NULL;
}
