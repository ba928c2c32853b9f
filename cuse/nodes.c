/* SPDX-License-Identifier: MIT */
/*
 * CUSE nodes and the event loop. Every node is its own CUSE device in this
 * one process: we open /dev/cuse ourselves, create the session with
 * cuse_lowlevel_new() and adopt the fd with fuse_session_mount("/dev/fd/N")
 * (cuse_lowlevel_setup() would daemonize and install signal handlers once
 * per node). The first node takes a dynamic major; the others share it
 * with their own minors, since dynamic majors run out after ~140 nodes.
 * Each node is confirmed through /sys/class/cuse/<name> and its /dev entry:
 * a taken name is rejected by the kernel without a word.
 *
 * One poll thread reads requests from every node and serves them itself,
 * except SET_CONTAINER and DEVICE_OPEN, which go to a pool of workers that
 * grows while all are busy: they may wait on a nested request (the
 * daemon's own VFC_CUSE_IDENTIFY, or the release of a fetched file of
 * ours), which the poll thread serves. SET_IRQS stays on the poll thread:
 * it fetches eventfds only, so it never holds or closes a file of ours
 * (caller.c). Workers serve at most
 * workers-per-uid requests of one uid at once, so a uid whose requests
 * stall can pin only its own share.
 */
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "vfc-cuse-proto.h"
#include "vfc-log.h"
#include "vfc-macro.h"
#include "vfc-uid-count.h"

struct vfc_work {
	struct vfc_node *node;
	struct fuse_buf buf;
	uint32_t uid;		/* the caller's, from the request header */
	struct vfc_work *next;
};

/* Under d->lock: how many requests of each uid the workers are serving. */
static struct vfc_uid_count running[VFC_MAX_WORKERS];

static unsigned int *running_of(uint32_t uid, bool create)
{
	return vfc_uid_count(running, VFC_MAX_WORKERS, uid, create);
}

/* Requests of one uid that workers serve at once (workers-per-uid); the
 * rest wait queued. */
static bool uid_may_run(const struct vfc_daemon *d, uint32_t uid)
{
	unsigned int *n = running_of(uid, false);

	return !n || *n < d->cfg->workers_per_uid;
}

static void sysfs_name(const char *devname, char *out, size_t len)
{
	snprintf(out, len, "%s", devname);
	for (char *p = out; *p; p++)
		if (*p == '/')
			*p = '!';
}

/* The dev_t the kernel gave node @n, from /sys/class/cuse/<name>/dev. */
static int node_read_dev(struct vfc_node *n, dev_t *ret)
{
	char name[160], path[256], text[32];
	unsigned int maj, min;
	ssize_t len;
	int fd;

	sysfs_name(n->devname, name, sizeof(name));
	snprintf(path, sizeof(path), "/sys/class/cuse/%s/dev", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	len = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (len <= 0)
		return -EIO;
	text[len] = '\0';
	if (sscanf(text, "%u:%u", &maj, &min) != 2)
		return -EIO;
	*ret = makedev(maj, min);
	return 0;
}

static int node_start(struct vfc_daemon *d, struct vfc_node *n, unsigned int major,
		      unsigned int minor)
{
	char devinfo[160], mnt[32], path[192];
	const char *dev_info_argv[] = { devinfo };
	char *argv[] = { (char *)"vfio-cused", NULL };
	struct fuse_args args = FUSE_ARGS_INIT(1, argv);
	struct cuse_info ci = {
		.dev_major = major, .dev_minor = minor, .dev_info_argc = 1,
		.dev_info_argv = dev_info_argv, .flags = CUSE_UNRESTRICTED_IOCTL,
	};
	struct fuse_buf buf = { 0 };
	struct stat st;
	int fd, r;

	snprintf(devinfo, sizeof(devinfo), "DEVNAME=%s", n->devname);
	fd = open("/dev/cuse", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		vfc_err("node %s: cannot open /dev/cuse: %s (is the cuse module loaded?)",
			n->devname, strerror(-r));
		return r;
	}
	n->se = cuse_lowlevel_new(&args, &ci, &vfc_cuse_ops, n);
	fuse_opt_free_args(&args);	/* libfuse parsed them into a copy of its own */
	if (!n->se) {
		close(fd);
		vfc_err("node %s: cuse_lowlevel_new failed", n->devname);
		return -ENOMEM;
	}
	snprintf(mnt, sizeof(mnt), "/dev/fd/%d", fd);
	if (fuse_session_mount(n->se, mnt) < 0) {
		close(fd);
		vfc_err("node %s: cannot adopt /dev/cuse", n->devname);
		return -EIO;
	}
	/* Serve CUSE_INIT here, before the loop runs. */
	while (!n->init_done) {
		struct pollfd p = { .fd = fuse_session_fd(n->se), .events = POLLIN };

		if (poll(&p, 1, 5000) <= 0) {
			vfc_err("node %s: no CUSE_INIT from the kernel", n->devname);
			free(buf.mem);
			return -ETIMEDOUT;
		}
		r = fuse_session_receive_buf(n->se, &buf);
		if (r == -EINTR)
			continue;
		if (r <= 0) {
			free(buf.mem);
			vfc_err("node %s: CUSE init failed: %s", n->devname, strerror(-r));
			return r < 0 ? r : -EIO;
		}
		fuse_session_process_buf(n->se, &buf);
	}
	free(buf.mem);

	/* The kernel rejects a taken name or number after init without a
	 * word: the session then shows POLLERR (and the /sys/class/cuse entry,
	 * if any, is another daemon's). */
	{
		struct pollfd p = { .fd = fuse_session_fd(n->se), .events = POLLIN };

		if (poll(&p, 1, 0) > 0 && (p.revents & (POLLERR | POLLHUP))) {
			vfc_err("node %s: the kernel refused it: the name or number is taken by "
				"another CUSE device (another vfio-cused?)", n->devname);
			return -EEXIST;
		}
	}
	r = node_read_dev(n, &n->dev);
	if (r == 0 && major && n->dev != makedev(major, minor))
		r = -EEXIST;	/* the entry is someone else's */
	if (r < 0) {
		vfc_err("node %s: the kernel did not create it (name or number taken by another "
			"CUSE device?): /sys/class/cuse entry missing", n->devname);
		return -EEXIST;
	}
	snprintf(path, sizeof(path), "/dev/%s", n->devname);
	if (stat(path, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != n->dev) {
		vfc_err("node %s: %s belongs to another driver (the kernel's vfio?); "
			"serve under another prefix, e.g. --prefix vfio-cuse", n->devname, path);
		return -EEXIST;
	}
	return 0;
}

static int node_set_owner(struct vfc_node *n, uid_t uid, gid_t gid, mode_t mode)
{
	char path[192];

	snprintf(path, sizeof(path), "/dev/%s", n->devname);
	if (chown(path, uid, gid) < 0 || chmod(path, mode) < 0) {
		int r = -errno;

		vfc_err("node %s: cannot set owner %u:%u mode %04o: %s", n->devname, uid, gid,
			mode, strerror(-r));
		return r;
	}
	return 0;
}

static struct vfc_node *node_add(struct vfc_daemon *d, enum vfc_node_kind kind,
				 unsigned int group, const char *leaf)
{
	struct vfc_node *n = &d->nodes[d->n_nodes++];

	*n = (struct vfc_node){ .daemon = d, .kind = kind, .group = group };
	snprintf(n->devname, sizeof(n->devname), "%s/%s", d->cfg->prefix, leaf);
	return n;
}

int vfc_nodes_create(struct vfc_daemon *d)
{
	struct vfc_node *n;
	char leaf[32];
	int r;

	n = node_add(d, VFC_NODE_CONTAINER, 0, "vfio");
	r = node_start(d, n, 0, 0);
	if (r < 0)
		return r;
	d->major = major(n->dev);
	d->container_dev = n->dev;
	r = node_set_owner(n, 0, 0, 0666);
	if (r < 0)
		return r;

	n = node_add(d, VFC_NODE_DEVICE, 0, "cuse-device");
	r = node_start(d, n, d->major, minor(d->container_dev) + 1);
	if (r < 0)
		return r;
	d->device_dev = n->dev;
	r = node_set_owner(n, 0, 0, 0666);
	if (r < 0)
		return r;

	for (unsigned int i = 0; i < d->cfg->n_groups; i++) {
		const struct vfc_cfg_group *g = &d->cfg->groups[i];

		snprintf(leaf, sizeof(leaf), "%u", g->id);
		n = node_add(d, VFC_NODE_GROUP, g->id, leaf);
		r = node_start(d, n, d->major, minor(d->container_dev) + 2 + i);
		if (r < 0)
			return r;
		r = node_set_owner(n, g->uid, g->gid, g->mode);
		if (r < 0)
			return r;
		vfc_info("group %u: /dev/%s (owner %u:%u, mode %04o)", g->id, n->devname, g->uid,
			 g->gid, g->mode);
	}
	return 0;
}

void vfc_nodes_destroy(struct vfc_daemon *d)
{
	for (unsigned int i = 0; i < d->n_nodes; i++)
		if (d->nodes[i].se) {
			fuse_session_destroy(d->nodes[i].se);
			d->nodes[i].se = NULL;
		}
	d->n_nodes = 0;
}

/*
 * Whether a request read from @node may issue a nested request to the
 * daemon: a FUSE_IOCTL whose row in the core's table says
 * VFC_IOCTL_NESTS (SET_CONTAINER; not SET_IRQS, whose eventfd-only fetch
 * never hands this process a file of ours), or our DEVICE_OPEN. Peeks
 * at the raw request, laid out by the FUSE kernel ABI (linux/fuse.h, not
 * includable beside libfuse's own copy): struct fuse_in_header (40 bytes,
 * opcode at 4), then struct fuse_ioctl_in (cmd at 12 into it).
 */
#define VFC_FUSE_OPCODE_OFF 4
#define VFC_FUSE_UID_OFF 24
#define VFC_FUSE_OPCODE_IOCTL 39
#define VFC_FUSE_IOCTL_CMD_OFF (40 + 12)

static bool may_nest(const struct vfc_node *node, const struct fuse_buf *buf)
{
	uint32_t opcode, cmd;

	if (node->kind == VFC_NODE_CONTAINER)
		return false;
	if ((buf->flags & FUSE_BUF_IS_FD) || buf->size < VFC_FUSE_IOCTL_CMD_OFF + 4)
		return true;	/* cannot tell: be safe */
	memcpy(&opcode, (const uint8_t *)buf->mem + VFC_FUSE_OPCODE_OFF, 4);
	if (opcode != VFC_FUSE_OPCODE_IOCTL)
		return false;
	memcpy(&cmd, (const uint8_t *)buf->mem + VFC_FUSE_IOCTL_CMD_OFF, 4);
	/* DEVICE_OPEN, ours, fetches the group fd and closes its duplicate:
	 * if that is the last reference, its release comes back to us. */
	if (node->kind == VFC_NODE_DEVICE && cmd == VFC_CUSE_DEVICE_OPEN)
		return true;
	return vfc_ioctl_desc(node->kind == VFC_NODE_GROUP ? VFC_FILE_GROUP : VFC_FILE_DEVICE,
			      cmd)->flags & VFC_IOCTL_NESTS;
}

/* Under d->lock: unlink and return the first request whose uid is under
 * its share, or NULL. */
static struct vfc_work *queue_take(struct vfc_daemon *d)
{
	struct vfc_work *prev = NULL;

	for (struct vfc_work *w = d->queue; w; prev = w, w = w->next) {
		if (!uid_may_run(d, w->uid))
			continue;
		if (prev)
			prev->next = w->next;
		else
			d->queue = w->next;
		if (d->queue_tail == w)
			d->queue_tail = prev;
		return w;
	}
	return NULL;
}

/* @ms from now on CLOCK_REALTIME, pthread_cond_timedwait()'s clock. */
static struct timespec deadline_in(unsigned int ms)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_sec += ms / 1000;
	t.tv_nsec += (long)(ms % 1000) * 1000000;
	if (t.tv_nsec >= 1000000000) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000;
	}
	return t;
}

/*
 * A worker thread runs on a stack of ours (its TLS, with the 128 KiB
 * transfer buffer, lies at the stack's top), so that when it exits its
 * memory goes back: glibc keeps the stacks of its own threads in a cache.
 */
#define VFC_WORKER_STACK (8u << 20)	/* reserved, not committed */

struct vfc_worker {
	struct vfc_daemon *d;
	pthread_t thread;
	void *stack;		/* NULL: a free slot */
	bool exited;		/* under d->lock: to be joined and its stack unmapped */
};

static struct vfc_worker worker_slots[VFC_MAX_WORKERS];

/* The poll thread's eventfd, written by each worker that exits. */
static int reap_fd = -1;

/*
 * A worker serves queued requests; one that finds nothing to do for
 * worker_idle_ms exits, so the pool shrinks back after a load, and tells
 * the poll thread to join it (workers_reap()).
 */
static void *worker_main(void *arg)
{
	struct vfc_worker *self = arg;
	struct vfc_daemon *d = self->d;
	uint64_t one = 1;

	pthread_mutex_lock(&d->lock);
	for (;;) {
		/* Idle from now: wakeups without work (another worker's
		 * exit broadcasts) do not restart the clock. */
		struct timespec t = deadline_in(d->cfg->worker_idle_ms);
		struct vfc_work *w;
		unsigned int *n;
		bool timed_out = false;

		while (!(w = queue_take(d)) && !d->stopping && !timed_out) {
			d->idle++;
			timed_out = pthread_cond_timedwait(&d->cond, &d->lock, &t) == ETIMEDOUT;
			d->idle--;
		}
		if (!w)
			break;
		n = running_of(w->uid, true);	/* fewer uids run than workers */
		(*n)++;
		pthread_mutex_unlock(&d->lock);

		fuse_session_process_buf(w->node->se, &w->buf);

		pthread_mutex_lock(&d->lock);
		(*n)--;
		/* A request of this uid may have waited for the share. */
		if (d->queue)
			pthread_cond_signal(&d->cond);
		w->next = d->free_work;
		d->free_work = w;
	}
	d->workers--;
	self->exited = true;
	pthread_cond_broadcast(&d->cond);	/* workers_stop() waits for 0 */
	pthread_mutex_unlock(&d->lock);
	if (reap_fd >= 0 && write(reap_fd, &one, sizeof(one)) < 0)
		vfc_debug("daemon: reap eventfd: %s", strerror(errno));
	return NULL;
}

/* Under d->lock: start a worker in a free slot. Return 0 or -errno. */
static int worker_start(struct vfc_daemon *d)
{
	struct vfc_worker *slot = NULL;
	pthread_attr_t attr;
	void *stack;
	int r;

	for (unsigned int i = 0; i < VFC_MAX_WORKERS && !slot; i++)
		if (!worker_slots[i].stack)
			slot = &worker_slots[i];
	if (!slot)
		return -EAGAIN;	/* exited ones not joined yet */
	stack = mmap(NULL, VFC_WORKER_STACK, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
	if (stack == MAP_FAILED)
		return -errno;
	/* A guard page below, as glibc gives its own stacks. */
	mprotect(stack, (size_t)getpagesize(), PROT_NONE);
	pthread_attr_init(&attr);
	pthread_attr_setstack(&attr, stack, VFC_WORKER_STACK);
	*slot = (struct vfc_worker){ .d = d, .stack = stack };
	r = -pthread_create(&slot->thread, &attr, worker_main, slot);
	pthread_attr_destroy(&attr);
	if (r) {
		munmap(stack, VFC_WORKER_STACK);
		slot->stack = NULL;
		return r;
	}
	d->workers++;
	return 0;
}

/* Join the workers that exited and unmap their stacks. Return how many. */
static unsigned int workers_reap(struct vfc_daemon *d)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < VFC_MAX_WORKERS; i++) {
		struct vfc_worker *slot = &worker_slots[i];
		bool exited;

		pthread_mutex_lock(&d->lock);
		exited = slot->stack && slot->exited;
		pthread_mutex_unlock(&d->lock);
		if (!exited)
			continue;
		pthread_join(slot->thread, NULL);
		munmap(slot->stack, VFC_WORKER_STACK);
		pthread_mutex_lock(&d->lock);
		slot->stack = NULL;
		slot->exited = false;
		pthread_mutex_unlock(&d->lock);
		n++;
	}
	return n;
}

static struct vfc_work *work_get(struct vfc_daemon *d)
{
	struct vfc_work *w;

	pthread_mutex_lock(&d->lock);
	w = d->free_work;
	if (w)
		d->free_work = w->next;
	pthread_mutex_unlock(&d->lock);
	return w ? w : calloc(1, sizeof(*w));
}

static void work_put(struct vfc_daemon *d, struct vfc_work *w)
{
	pthread_mutex_lock(&d->lock);
	w->next = d->free_work;
	d->free_work = w;
	pthread_mutex_unlock(&d->lock);
}

/*
 * Under d->lock: grow while every worker is busy: a request may wait on a
 * nested one. Requests of a uid at its share do not count: they wait for
 * their own uid's workers, so one uid cannot take every worker.
 */
static void pool_grow_locked(struct vfc_daemon *d)
{
	unsigned int queued = 0;

	for (struct vfc_work *q = d->queue; q; q = q->next)
		queued += uid_may_run(d, q->uid);
	if (queued > d->idle && d->workers < VFC_MAX_WORKERS) {
		int r = worker_start(d);

		/* EAGAIN: every slot holds a worker that exited and is not
		 * joined yet; the poll thread grows the pool after joining. */
		if (r < 0 && r != -EAGAIN)
			vfc_warn("daemon: cannot start a worker thread: %s", strerror(-r));
	}
}

static void work_queue(struct vfc_daemon *d, struct vfc_work *w)
{

	w->next = NULL;
	pthread_mutex_lock(&d->lock);
	if (d->queue_tail)
		d->queue_tail->next = w;
	else
		d->queue = w;
	d->queue_tail = w;
	pool_grow_locked(d);
	pthread_cond_signal(&d->cond);
	pthread_mutex_unlock(&d->lock);
}

static void workers_stop(struct vfc_daemon *d)
{
	pthread_mutex_lock(&d->lock);
	d->stopping = true;
	pthread_cond_broadcast(&d->cond);
	while (d->workers)
		pthread_cond_wait(&d->cond, &d->lock);
	pthread_mutex_unlock(&d->lock);
	workers_reap(d);
	/* Requests still queued are never answered: the daemon is going. */
	while (d->queue) {
		struct vfc_work *w = d->queue;

		d->queue = w->next;
		w->next = d->free_work;
		d->free_work = w;
	}
	d->queue_tail = NULL;
	while (d->free_work) {
		struct vfc_work *w = d->free_work;

		d->free_work = w->next;
		free(w->buf.mem);
		free(w);
	}
}

/* Quiet time after requests before freed memory goes back (malloc_trim). */
#define VFC_TRIM_IDLE_MS 2000

/* Requests read per wakeup, one per ready node. */
#define VFC_LOOP_EVENTS 16

/* A node whose connection ended: no longer watched. */
static void node_gone(int ep, struct vfc_node *node, unsigned int *alive)
{
	node->gone = true;
	epoll_ctl(ep, EPOLL_CTL_DEL, fuse_session_fd(node->se), NULL);
	(*alive)--;
}

int vfc_loop_run(struct vfc_daemon *d, int stop_fd)
{
	struct epoll_event ev[VFC_LOOP_EVENTS];
	unsigned int alive = 0;
	bool served = false;
	int ep, r = 0;

	/* epoll, not poll: nothing to rebuild per request, and the kernel's
	 * cost follows the ready nodes, not all of them. */
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		return -errno;
	reap_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (reap_fd < 0 ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, stop_fd,
		      &(struct epoll_event){ .events = EPOLLIN, .data.ptr = NULL }) < 0 ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, reap_fd,
		      &(struct epoll_event){ .events = EPOLLIN, .data.ptr = &reap_fd }) < 0) {
		r = -errno;
		if (reap_fd >= 0)
			close(reap_fd);
		reap_fd = -1;
		close(ep);
		return r;
	}
	for (unsigned int i = 0; i < d->n_nodes; i++) {
		struct epoll_event e = { .events = EPOLLIN, .data.ptr = &d->nodes[i] };

		if (d->nodes[i].gone)
			continue;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fuse_session_fd(d->nodes[i].se), &e) < 0) {
			r = -errno;
			vfc_err("daemon: cannot watch node %s: %s", d->nodes[i].devname,
				strerror(-r));
			close(ep);
			return r;
		}
		alive++;
	}
	for (;;) {
		int n;

		if (!alive) {
			vfc_err("daemon: every node is gone");
			r = -ENODEV;
			break;
		}
		n = epoll_wait(ep, ev, VFC_LOOP_EVENTS, served ? VFC_TRIM_IDLE_MS : -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		if (n == 0) {
			/* Quiet since the last request: give what the load
			 * freed back to the system (glibc keeps freed memory in
			 * its arenas otherwise; 20,000 closed containers held
			 * 9 MB). */
			malloc_trim(0);
			served = false;
			continue;
		}
		served = true;
		for (int i = 0; i < n; i++)
			if (!ev[i].data.ptr)
				goto out;
		for (int i = 0; i < n; i++) {
			uint64_t v;

			if (ev[i].data.ptr != &reap_fd)
				continue;
			/* Workers left: join them, and trim once the pool is empty. */
			if (read(reap_fd, &v, sizeof(v)) == sizeof(v) && workers_reap(d)) {
				struct vfc_work *spare = NULL;

				pthread_mutex_lock(&d->lock);
				pool_grow_locked(d);	/* for what waited on a slot */
				if (!d->workers) {
					/* The load is over: keep one request
					 * buffer (libfuse's are 1 MiB each). */
					spare = d->free_work ? d->free_work->next : NULL;
					if (d->free_work)
						d->free_work->next = NULL;
					served = true;	/* trim after the quiet time */
				}
				pthread_mutex_unlock(&d->lock);
				while (spare) {
					struct vfc_work *w = spare;

					spare = w->next;
					free(w->buf.mem);
					free(w);
				}
			}
			ev[i].data.ptr = NULL;	/* not a node */
		}
		for (int i = 0; i < n; i++) {
			struct vfc_node *node = ev[i].data.ptr;
			struct vfc_work *w;
			int got;

			if (!node || node->gone)
				continue;
			if (!(ev[i].events & EPOLLIN)) {
				vfc_err("node %s: connection lost", node->devname);
				node_gone(ep, node, &alive);
				continue;
			}
			w = work_get(d);
			if (!w) {
				r = -ENOMEM;
				goto out;
			}
			got = fuse_session_receive_buf(node->se, &w->buf);
			if (got == -EINTR || got == -EAGAIN || got == -ENOENT) {
				work_put(d, w);
				continue;
			}
			if (got <= 0) {
				work_put(d, w);
				if (fuse_session_exited(node->se) || got < 0) {
					vfc_err("node %s: connection ended", node->devname);
					node_gone(ep, node, &alive);
				}
				continue;
			}
			/* Only SET_CONTAINER waits on a nested request (it
			 * identifies the container with an ioctl on the container
			 * node): it goes to the workers. Everything else is served
			 * here, saving a thread hand-off per request; so the nested
			 * IDENTIFY and releases of fetched duplicates never wait. */
			if (!may_nest(node, &w->buf)) {
				fuse_session_process_buf(node->se, &w->buf);
				work_put(d, w);
				continue;
			}
			w->node = node;
			w->uid = UINT32_MAX;	/* unknown: shares the share of all unknowns */
			if (!(w->buf.flags & FUSE_BUF_IS_FD) &&
			    w->buf.size >= VFC_FUSE_UID_OFF + sizeof(w->uid))
				memcpy(&w->uid, (const uint8_t *)w->buf.mem + VFC_FUSE_UID_OFF,
				       sizeof(w->uid));
			work_queue(d, w);
		}
	}
out:
	close(ep);
	workers_stop(d);
	close(reap_fd);
	reap_fd = -1;
	return r;
}
