/* SPDX-License-Identifier: MIT */
/*
 * vfio-cused's private shared header: CUSE nodes, the
 * per-open file objects, and the pieces main.c wires together. Only cuse/
 * includes <cuse_lowlevel.h>. The configuration is config.h, which has no
 * libfuse in it.
 */
#pragma once

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>
#include <cuse_lowlevel.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <unistd.h>

#include "config.h"
#include "vfc-core.h"
#include "quota.h"
#include "vfc-file.h"
#include "vfc-log.h"
#include "vfc-priv.h"


/* Nodes and files (nodes.c, files.c) */

enum vfc_node_kind {
	VFC_NODE_CONTAINER,
	VFC_NODE_GROUP,
	VFC_NODE_DEVICE,
};

struct vfc_daemon;

struct vfc_node {
	struct vfc_daemon *daemon;
	enum vfc_node_kind kind;
	unsigned int group;		/* VFC_NODE_GROUP */
	char devname[128];		/* "vfio/26" */
	struct fuse_session *se;
	dev_t dev;			/* confirmed through /sys/class/cuse */
	/* VFC_NODE_GROUP: the one open file of the group (the core lets a
	 * group be open once at a time), under daemon->files_lock */
	struct vfc_cuse_file *open_file;
	bool init_done;
	bool gone;
};

struct vfc_emu_iommu_config;
struct vfc_emu_pci;
struct vfc_fake_device;
struct vfc_kernel;

/* What the backends made (backends.c); vfc_backends_teardown() frees it. */
struct vfc_backend_state {
	struct vfc_emu_iommu_config *emu_iommu_cfg;	/* the software IOMMU's */
	struct vfc_emu_pci **emu_devices;
	unsigned int n_emu_devices;
	struct vfc_fake_device **fake_devices;
	unsigned int n_fake_devices;
	struct vfc_kernel *kernel;		/* made with its first device */
};

struct vfc_daemon {
	struct vfc_core *core;
	struct vfc_config *cfg;
	/* privileged operations: vfc_priv_direct(), or the helper's once
	 * the daemon runs as cfg->user */
	struct vfc_priv *priv;
	struct vfc_backend_state backends;
	struct vfc_node nodes[VFC_MAX_NODES];
	unsigned int n_nodes;
	unsigned int major;
	dev_t container_dev, device_dev;
	pthread_mutex_t files_lock;	/* vfc_node.open_file, token_files */
	struct vfc_quota quota;	/* files and containers of each process and uid */
	struct vfc_cuse_file *token_files;	/* files with a channel token */
	_Atomic unsigned int open_files;	/* opened and not yet released */
	/* the channel (channel.c) */
	int channel_fd, channel_stop;
	char channel_path[108];
	pthread_t channel_thread;
	bool channel_running;
	/* the control socket (control.c); every open file for its clients
	 * list, under files_lock */
	struct vfc_control *control;
	struct vfc_cuse_file *all_files;
	/* worker pool */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct vfc_work *queue, *queue_tail;
	struct vfc_work *free_work;
	unsigned int workers, idle;
	bool stopping;
};

/* Threads of one device file whose fast reads may wait to be fetched. */
#define VFC_CUSE_STASH_SLOTS 16

/* One open of one of our nodes: the core's file, and what CUSE adds. */
struct vfc_cuse_file {
	struct vfc_node *node;
	struct vfc_file *file;			/* the core's */
	pthread_mutex_t lock;			/* pos, stash */
	uint64_t pos;				/* read/write position */
	/* fast reads that did not fit the ioctl's result, per thread
	 * (vfc-cuse-proto.h, VFC_CUSE_RW_STASH); the oldest goes first */
	struct {
		pid_t tid;			/* 0: free */
		uint32_t value, len;
	} stash[VFC_CUSE_STASH_SLOTS];
	unsigned int stash_next;
	/* its channel token, once asked for; under daemon->files_lock */
	bool has_token;
	uint8_t token[16];
	struct vfc_cuse_file *token_next;
	/* who opened it, and d->all_files (under daemon->files_lock) */
	pid_t opener_pid;
	uid_t opener_uid;
	struct vfc_cuse_file *all_prev, *all_next;
	struct vfc_quota_charge charge;		/* what its open counted */
};

extern const struct cuse_lowlevel_ops vfc_cuse_ops;

int vfc_nodes_create(struct vfc_daemon *d);
void vfc_nodes_destroy(struct vfc_daemon *d);
int vfc_loop_run(struct vfc_daemon *d, int stop_fd);

/* Callers (caller.c) */

struct vfc_cuse_caller {
	struct vfc_caller base;
	struct vfc_daemon *daemon;
	pid_t tid;
	/* VFC_CUSE_DEVICE_OPEN: the device file the request came on, which
	 * install_device binds, and the caller's number of it */
	struct vfc_cuse_file *bind;
	int32_t bind_fd;
};

/**
 * vfc_cuse_caller_init() - the caller of @req, as the core wants it.
 * Return: 0, or -ESRCH when its process is not visible to us.
 */
int vfc_cuse_caller_init(struct vfc_cuse_caller *c, struct vfc_daemon *d, fuse_req_t req);
/**
 * vfc_cuse_caller_init_anonymous() - the same without the pid (0): for
 * ioctls that never use it. The thread id is still known.
 */
void vfc_cuse_caller_init_anonymous(struct vfc_cuse_caller *c, struct vfc_daemon *d,
				    fuse_req_t req);
void vfc_cuse_caller_fini(struct vfc_cuse_caller *c);
/** vfc_tgid_of() - the thread group of thread @tid. Return: tgid or -errno. */
pid_t vfc_tgid_of(pid_t tid);
/**
 * vfc_cuse_caller_get_group() - the group file behind the caller's fd @fd.
 * @c: a caller with its pid.
 * @fd: the caller's fd number.
 * @ret_file: the group's open file; valid while *@ret_dup stays open.
 * @ret_dup: our duplicate of the caller's fd, which keeps that file open:
 *           the caller owns it and must close it with no lock held (the
 *           close may send a release to the daemon).
 * Return: 0; -EBADF (not open in the caller), -ENOTTY (not one of our
 * group files), -EMFILE, or the errno of fetching it (ESRCH, EPERM).
 */
int vfc_cuse_caller_get_group(struct vfc_cuse_caller *c, int fd, struct vfc_cuse_file **ret_file,
			      int *ret_dup);

/* The channel (channel.c, include/vfc-channel-proto.h) */


/**
 * vfc_channel_start() - listen on <rundir>/channel (mode 0666) and serve it
 * on a thread of its own.
 * Return: 0, or -errno of the socket (logged).
 */
int vfc_channel_start(struct vfc_daemon *d);
/** vfc_channel_stop() - end the thread, close every connection, remove the socket. */
void vfc_channel_stop(struct vfc_daemon *d);
/**
 * vfc_channel_token() - the channel token of device-node file @f, made on
 * first use. Return: 0, -EOPNOTSUPP (no channel), or getrandom's errno.
 */
int vfc_channel_token(struct vfc_daemon *d, struct vfc_cuse_file *f, uint8_t ret_token[16]);
/** vfc_channel_forget() - @f goes: its token names nothing any more. */
void vfc_channel_forget(struct vfc_daemon *d, struct vfc_cuse_file *f);
struct vfc_channel_reply;
/**
 * vfc_channel_handle() - serve one channel message, without a socket (the
 * channel thread's serve(), and tests/fuzz/fuzz-channel.c).
 * @uid: @pid: its sender, for messages.
 * @msg: @len: the message as received (any bytes, any length).
 * @msg_flags: recvmsg's flags (MSG_TRUNC, MSG_CTRUNC: refused).
 * @ret_reply: the reply to send: status 0 or -errno (EINVAL malformed,
 *             EBADF a token of no open file, the operation's errno).
 * @ret_fd: the fd to send with it, or -1: the caller owns it and closes
 *          it once sent.
 */
void vfc_channel_handle(struct vfc_daemon *d, uid_t uid, pid_t pid, const void *msg, size_t len,
			int msg_flags, struct vfc_channel_reply *ret_reply, int *ret_fd);

/* The control socket (control.c, control.h) and its list of clients */

/** vfc_files_track() - @f was opened by process @pid (or thread, when its
 * process is not known) of @uid. */
void vfc_files_track(struct vfc_daemon *d, struct vfc_cuse_file *f, pid_t pid, uid_t uid);
/** vfc_files_untrack() - @f goes. */
void vfc_files_untrack(struct vfc_daemon *d, struct vfc_cuse_file *f);

/**
 * vfc_accept_failed() - after accept4() on a listening socket failed: when
 * the daemon is out of fds or memory, the connection stays queued and poll
 * reports it at once again, so wait a little instead of spinning. Clients
 * can drive the daemon's fd count (channel connections, fetched fds).
 * @who: the socket, for the log.
 */
static inline void vfc_accept_failed(const char *who)
{
	if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
		vfc_warn("%s: accept: %m; waiting 100 ms", who);
		usleep(100000);
	}
}

/* Service manager and sysfs view (notify.c, sysfs.c) */

void vfc_sd_notify(const char *state);
int vfc_sysfs_view_write(struct vfc_daemon *d);
void vfc_sysfs_view_remove(struct vfc_daemon *d);

/* Backends (backends.c) */

/**
 * vfc_backends_setup() - register the IOMMU drivers, make the groups of
 * emulated devices, and add every configured device, each by the backend
 * its line names.
 * Return: 0; -EINVAL (logged: an unknown backend or model, a group mixing
 * real and emulated devices), or the backend's -errno. What was made stays
 * for vfc_backends_teardown().
 */
int vfc_backends_setup(struct vfc_daemon *d);
/**
 * vfc_backends_teardown() - stop the backends' threads and free what they
 * made; only once no file is open, and before vfc_core_free(). Safe after
 * a failed or partial setup, and twice.
 */
void vfc_backends_teardown(struct vfc_daemon *d);
