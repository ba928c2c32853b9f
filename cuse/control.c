/* SPDX-License-Identifier: MIT */
/*
 * The control socket, <rundir>/control, for vfio-cusectl (control.h), and
 * the list of open files it shows as clients. A unix stream socket served
 * on a thread of its own, like the channel: it never waits on a client.
 * Each connection carries one request line and gets one reply; sockets
 * are non-blocking, a line is at most VFC_CTL_MAX_LINE bytes, a connection
 * lives at most VFC_CTL_CONN_MS, and connections are limited in all and
 * per uid. Who may connect (SO_PEERCRED, SO_PEERGROUPS): root, the daemon's
 * own user, and the uids and gids of control-allow-uid/-gid.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "daemon.h"
#include "vfc-inspect.h"
#include "vfc-log.h"
#include "vfc-trace.h"
#include "vfc-macro.h"

#define VFC_CTL_MAX_CONNS 16		/* connections in all */
#define VFC_CTL_MAX_CONNS_UID 4		/* ... of one uid */
#define VFC_CTL_CONN_MS 5000		/* from accept to the end of the reply */
#define VFC_CTL_MAX_PEER_GROUPS 256

struct ctl_conn {
	int fd;
	uid_t uid;
	pid_t pid;
	bool may_name_files;
	uint64_t deadline;		/* CLOCK_MONOTONIC ms */
	size_t in_len;
	char in[VFC_CTL_MAX_LINE + 1];
	struct vfc_ctl_buf out;		/* the reply, once made */
	size_t out_off;
};

struct vfc_control {
	struct vfc_daemon *d;
	int fd, stop;
	char path[108];
	pthread_t thread;
	struct ctl_conn *conns[VFC_CTL_MAX_CONNS];
	unsigned int n;
};

/* The list of open files */

void vfc_files_track(struct vfc_daemon *d, struct vfc_cuse_file *f, pid_t pid, uid_t uid)
{
	f->opener_pid = pid;
	f->opener_uid = uid;
	pthread_mutex_lock(&d->files_lock);
	f->all_prev = NULL;
	f->all_next = d->all_files;
	if (f->all_next)
		f->all_next->all_prev = f;
	d->all_files = f;
	pthread_mutex_unlock(&d->files_lock);
}

void vfc_files_untrack(struct vfc_daemon *d, struct vfc_cuse_file *f)
{
	pthread_mutex_lock(&d->files_lock);
	if (f->all_prev)
		f->all_prev->all_next = f->all_next;
	else if (d->all_files == f)
		d->all_files = f->all_next;
	if (f->all_next)
		f->all_next->all_prev = f->all_prev;
	f->all_prev = f->all_next = NULL;
	pthread_mutex_unlock(&d->files_lock);
}

/* vfc_ctl_env.files: a snapshot of the list. Device names live as long
 * as the core. */
static int files_snapshot(void *opaque, struct vfc_ctl_open_file **ret, size_t *ret_n)
{
	struct vfc_daemon *d = opaque;
	struct vfc_ctl_open_file *arr;
	size_t n = 0, i = 0;

	pthread_mutex_lock(&d->files_lock);
	for (struct vfc_cuse_file *f = d->all_files; f; f = f->all_next)
		n++;
	arr = calloc(n ? n : 1, sizeof(*arr));
	if (!arr) {
		pthread_mutex_unlock(&d->files_lock);
		return -ENOMEM;
	}
	for (struct vfc_cuse_file *f = d->all_files; f; f = f->all_next, i++) {
		arr[i] = (struct vfc_ctl_open_file){
			.pid = f->opener_pid,
			.uid = f->opener_uid,
			.kind = vfc_file_kind(f->file),
			.file_id = vfc_file_id(f->file),
			.group = vfc_file_group(f->file),
		};
		vfc_inspect_file(f->file, &arr[i].container, &arr[i].device);
	}
	pthread_mutex_unlock(&d->files_lock);
	*ret = arr;
	*ret_n = n;
	return 0;
}

/* The socket */

/* Deadlines in ms, on the trace's monotonic clock. */
static uint64_t now_ms(void)
{
	return vfc_trace_now_ns() / 1000000;
}

static bool in_list(const uint32_t *list, unsigned int n, uint32_t v)
{
	for (unsigned int i = 0; i < n; i++)
		if (list[i] == v)
			return true;
	return false;
}

/* Whether the peer of @fd (@cred) may use the socket. */
static bool allowed(const struct vfc_config *cfg, int fd, const struct ucred *cred)
{
	gid_t groups[VFC_CTL_MAX_PEER_GROUPS];
	socklen_t len = sizeof(groups);

	if (cred->uid == 0 || cred->uid == geteuid())
		return true;
	if (in_list(cfg->control_uids, cfg->n_control_uids, cred->uid) ||
	    in_list(cfg->control_gids, cfg->n_control_gids, cred->gid))
		return true;
	if (!cfg->n_control_gids ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0)
		return false;
	for (size_t i = 0; i < len / sizeof(gid_t); i++)
		if (in_list(cfg->control_gids, cfg->n_control_gids, groups[i]))
			return true;
	return false;
}

static void conn_free(struct ctl_conn *c)
{
	close(c->fd);
	vfc_ctl_buf_free(&c->out);
	free(c);
}

static void accept_one(struct vfc_control *ctl)
{
	static const char refused[] = "ERR 13 permission denied\n";
	struct ucred cred = { 0 };
	socklen_t len = sizeof(cred);
	unsigned int same = 0;
	struct ctl_conn *c;
	int fd = accept4(ctl->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0) {
		vfc_accept_failed("control");
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		close(fd);
		return;
	}
	if (!allowed(ctl->d->cfg, fd, &cred)) {
		vfc_info("control: process %d (uid %u): refused: not root, the daemon's user or "
			 "granted", cred.pid, cred.uid);
		(void)!send(fd, refused, sizeof(refused) - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
		close(fd);
		return;
	}
	for (unsigned int i = 0; i < ctl->n; i++)
		same += ctl->conns[i]->uid == cred.uid;
	/* Granted users leave the last VFC_CTL_MAX_CONNS_UID connections to
	 * root and the daemon's user, who have no per-uid bound. */
	if (ctl->n >= VFC_CTL_MAX_CONNS ||
	    (cred.uid != 0 && cred.uid != geteuid() &&
	     (same >= VFC_CTL_MAX_CONNS_UID ||
	      ctl->n >= VFC_CTL_MAX_CONNS - VFC_CTL_MAX_CONNS_UID))) {
		vfc_warn("control: process %d (uid %u): refused: too many connections", cred.pid,
			 cred.uid);
		close(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	c->fd = fd;
	c->uid = cred.uid;
	c->pid = cred.pid;
	c->may_name_files = cred.uid == 0 || cred.uid == geteuid();
	c->deadline = now_ms() + VFC_CTL_CONN_MS;
	ctl->conns[ctl->n++] = c;
}

static void conn_execute(struct vfc_control *ctl, struct ctl_conn *c, size_t line_len)
{
	struct vfc_daemon *d = ctl->d;
	struct vfc_ctl_env env = {
		.core = d->core,
		.files = files_snapshot,
		.opaque = d,
		.rundir = d->cfg->rundir,
		.may_name_files = c->may_name_files,
		.pid = getpid(),
		.uid = geteuid(),
	};
	struct vfc_ctl_request req;
	int r;

	r = vfc_ctl_parse(c->in, line_len, &req);
	if (r < 0) {
		vfc_info("control: process %d (uid %u): %s request", c->pid, c->uid,
			 r == -E2BIG ? "a too long" : "a malformed");
		vfc_ctl_buf_printf(&c->out, "ERR %d %s\n", -r,
				   r == -E2BIG ? "request too long" : "malformed request");
		return;
	}
	/* Commands that change something are logged. */
	if (!strcmp(req.argv[0], "trace") ||
	    (!strcmp(req.argv[0], "fault") && (req.argc < 2 || strcmp(req.argv[1], "list"))))
		vfc_notice("control: process %d (uid %u): %s %s%s%s%s", c->pid, c->uid,
			   req.argv[0], req.argc > 1 ? req.argv[1] : "",
			   req.rest ? " \"" : "", req.rest ? req.rest : "", req.rest ? "\"" : "");
	vfc_ctl_execute(&env, &req, &c->out);
}

/* Read what came, answer a whole line. Return: 0 to keep it, -1 to end it. */
static int conn_read(struct vfc_control *ctl, struct ctl_conn *c)
{
	ssize_t n;
	char *nl;

	if (c->out.len || c->out.failed)
		return 0;	/* answering: anything more is ignored */
	n = recv(c->fd, c->in + c->in_len, VFC_CTL_MAX_LINE - c->in_len, MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	if (n == 0)
		return -1;
	c->in_len += (size_t)n;
	nl = memchr(c->in, '\n', c->in_len);
	if (nl) {
		conn_execute(ctl, c, (size_t)(nl - c->in));
	} else if (c->in_len >= VFC_CTL_MAX_LINE) {
		vfc_info("control: process %d (uid %u): a request longer than %u bytes", c->pid,
			 c->uid, VFC_CTL_MAX_LINE - 1);
		vfc_ctl_buf_printf(&c->out, "ERR %d request too long\n", E2BIG);
	}
	return c->out.failed ? -1 : 0;
}

/* Send what the socket takes. Return: 0 to keep it, -1 to end it (done). */
static int conn_write(struct ctl_conn *c)
{
	ssize_t n;

	while (c->out_off < c->out.len) {
		n = send(c->fd, c->out.data + c->out_off, c->out.len - c->out_off,
			 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		c->out_off += (size_t)n;
	}
	return -1;
}

static void *control_main(void *arg)
{
	struct vfc_control *ctl = arg;
	struct pollfd pfds[VFC_CTL_MAX_CONNS + 2];

	for (;;) {
		uint64_t now = now_ms(), next = UINT64_MAX;
		int timeout;

		pfds[0] = (struct pollfd){ .fd = ctl->stop, .events = POLLIN };
		pfds[1] = (struct pollfd){ .fd = ctl->fd, .events = POLLIN };
		for (unsigned int i = 0; i < ctl->n; i++) {
			struct ctl_conn *c = ctl->conns[i];

			pfds[2 + i] = (struct pollfd){ .fd = c->fd,
						       .events = c->out.len ? POLLOUT : POLLIN };
			next = VFC_MIN(next, c->deadline);
		}
		timeout = next == UINT64_MAX ? -1 : next <= now ? 0 : (int)VFC_MIN(next - now, 60000u);
		if (poll(pfds, 2 + ctl->n, timeout) < 0) {
			if (errno == EINTR)
				continue;
			vfc_err("control: poll: %m");
			break;
		}
		if (pfds[0].revents)
			break;
		now = now_ms();
		for (unsigned int i = ctl->n; i-- > 0;) {
			struct ctl_conn *c = ctl->conns[i];
			int r = 0;

			if (pfds[2 + i].revents & (POLLERR | POLLHUP | POLLNVAL) &&
			    !(pfds[2 + i].revents & POLLIN))
				r = -1;
			else if (pfds[2 + i].revents & POLLIN)
				r = conn_read(ctl, c);
			if (r == 0 && c->out.len)
				r = conn_write(c);
			if (r == 0 && now >= c->deadline) {
				vfc_info("control: process %d (uid %u): too slow: dropped", c->pid,
					 c->uid);
				r = -1;
			}
			if (r < 0) {
				conn_free(c);
				ctl->conns[i] = ctl->conns[--ctl->n];
			}
		}
		if (pfds[1].revents & POLLIN)
			accept_one(ctl);
	}
	return NULL;
}

/*
 * With --user, the daemon opens <rundir>/trace (a granted user's `trace
 * on`) after it dropped root, in a rundir that stays root's: make the file
 * now, the daemon user's, private. A failure only costs that command.
 */
static void give_trace_file(const struct vfc_config *cfg)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path) + 16];
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/trace", cfg->rundir) >= sizeof(path))
		return;
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0640);
	if (fd < 0 || fchown(fd, cfg->user_uid, cfg->user_gid) < 0)
		vfc_warn("control: %s for the trace of granted users: %m", path);
	if (fd >= 0)
		close(fd);
}

int vfc_control_start(struct vfc_daemon *d)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const struct vfc_config *cfg = d->cfg;
	struct vfc_control *ctl;
	bool granted = cfg->n_control_uids || cfg->n_control_gids;
	int r;

	ctl = calloc(1, sizeof(*ctl));
	if (!ctl)
		return -ENOMEM;
	ctl->d = d;
	ctl->fd = ctl->stop = -1;
	if ((size_t)snprintf(ctl->path, sizeof(ctl->path), "%s/control", cfg->rundir) >=
	    sizeof(sa.sun_path)) {
		vfc_err("control: rundir \"%s\" is too long for a socket path", cfg->rundir);
		free(ctl);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, ctl->path, strlen(ctl->path) + 1);
	ctl->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	ctl->stop = eventfd(0, EFD_CLOEXEC);
	if (ctl->fd < 0 || ctl->stop < 0)
		goto fail;
	mkdir(cfg->rundir, 0755);
	unlink(ctl->path);	/* a previous daemon's */
	/* The peer's credentials decide; the mode only keeps others from
	 * even connecting when nothing is granted. */
	if (bind(ctl->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(ctl->path, granted ? 0666 : 0600) < 0 ||
	    (cfg->user && chown(ctl->path, cfg->user_uid, cfg->user_gid) < 0) ||
	    listen(ctl->fd, 16) < 0)
		goto fail;
	r = -pthread_create(&ctl->thread, NULL, control_main, ctl);
	if (r < 0) {
		errno = -r;
		goto fail;
	}
	d->control = ctl;
	vfc_info("control: %s", ctl->path);
	if (cfg->user)
		give_trace_file(cfg);
	return 0;

fail:
	r = -errno;
	vfc_err("control: cannot serve %s: %s", ctl->path, strerror(-r));
	if (ctl->fd >= 0) {
		close(ctl->fd);
		unlink(ctl->path);
	}
	if (ctl->stop >= 0)
		close(ctl->stop);
	free(ctl);
	return r;
}

void vfc_control_stop(struct vfc_daemon *d)
{
	struct vfc_control *ctl = d->control;
	uint64_t one = 1;

	if (!ctl)
		return;
	if (write(ctl->stop, &one, sizeof(one)) != sizeof(one))
		vfc_warn("control: cannot stop its thread");
	pthread_join(ctl->thread, NULL);
	for (unsigned int i = 0; i < ctl->n; i++)
		conn_free(ctl->conns[i]);
	close(ctl->fd);
	close(ctl->stop);
	unlink(ctl->path);
	free(ctl);
	d->control = NULL;
}
