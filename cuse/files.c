/* SPDX-License-Identifier: MIT */
/*
 * The CUSE operations of every node: open, release, ioctl, read, write: a
 * pure transport over the core's file object (vfc-file.h). Each open gets a
 * struct vfc_cuse_file around one. A handler's "I need N bytes in and M
 * out" becomes one fuse_reply_ioctl_retry() naming those ranges at the
 * caller's argument; what an ioctl needs of its caller comes from the
 * core's ioctl table.
 * The private protocol of vfc-cuse-proto.h (DEVICE_OPEN, the region access
 * forms, decoded by cuse-rw.c, IDENTIFY, CHANNEL_TOKEN) is served here too.
 */
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "cuse-rw.h"
#include "daemon.h"
#include "vfc-cuse-proto.h"
#include "vfc-log.h"
#include "vfc-trace.h"
#include "vfc-macro.h"

static __thread uint8_t xfer_buf[VFC_IOCTL_MAX_XFER];

static struct vfc_node *req_node(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* A group file going away is no longer its node's open file. */
static void group_file_forget(struct vfc_cuse_file *f)
{
	struct vfc_daemon *d = f->node->daemon;

	if (f->node->kind != VFC_NODE_GROUP)
		return;
	pthread_mutex_lock(&d->files_lock);
	if (f->node->open_file == f)
		f->node->open_file = NULL;
	pthread_mutex_unlock(&d->files_lock);
}

/*
 * Count the open against its process's and its uid's limits (quota.h);
 * the charge goes with the file and comes back at its release.
 */
static int open_charge(fuse_req_t req, struct vfc_node *node, pid_t tgid,
		       struct vfc_quota_charge *ret)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	int r;

	r = vfc_quota_charge(&node->daemon->quota, ctx->uid, tgid > 0 ? tgid : 0,
			     node->kind == VFC_NODE_CONTAINER, ret);
	if (r < 0)
		vfc_info("process %d (uid %u): open of %s refused: %s", tgid > 0 ? tgid : 0,
			 ctx->uid, node->devname,
			 r == -ENFILE ? "too many processes hold files" :
			 r == -ENOMEM ? "its container limit" : "its open-file limit");
	return r;
}

static void op_open(fuse_req_t req, struct fuse_file_info *fi)
{
	struct vfc_node *node = req_node(req);
	struct vfc_daemon *d = node->daemon;
	struct vfc_quota_charge charge;
	struct vfc_cuse_file *f;
	pid_t tgid;
	int r;

	/* the opener's process: for its limits, and vfio-cusectl's list */
	tgid = vfc_tgid_of(fuse_req_ctx(req)->pid);
	r = open_charge(req, node, tgid, &charge);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	f = calloc(1, sizeof(*f));
	r = -ENOMEM;
	if (f) {
		switch (node->kind) {
		case VFC_NODE_CONTAINER:
			r = vfc_file_open_container(d->core, &f->file);
			break;
		case VFC_NODE_GROUP:
			r = vfc_file_open_group(d->core, node->group, &f->file);
			break;
		case VFC_NODE_DEVICE:
			r = vfc_file_new_device(NULL, &f->file);	/* bound by DEVICE_OPEN */
			break;
		}
	}
	if (r < 0) {
		free(f);
		vfc_quota_uncharge(&d->quota, &charge);
		fuse_reply_err(req, -r);
		return;
	}
	f->node = node;
	f->charge = charge;
	pthread_mutex_init(&f->lock, NULL);
	fi->fh = (uintptr_t)f;
	fi->direct_io = 1;
	fi->nonseekable = 1;
	if (node->kind == VFC_NODE_GROUP) {
		pthread_mutex_lock(&d->files_lock);
		node->open_file = f;
		pthread_mutex_unlock(&d->files_lock);
	}
	atomic_fetch_add(&d->open_files, 1);
	vfc_files_track(d, f, tgid > 0 ? tgid : fuse_req_ctx(req)->pid, fuse_req_ctx(req)->uid);
	if (fuse_reply_open(req, fi) < 0) {
		/* The caller is gone: no release will come. */
		atomic_fetch_sub(&d->open_files, 1);
		vfc_files_untrack(d, f);
		group_file_forget(f);
		vfc_file_release(f->file);
		vfc_quota_uncharge(&d->quota, &f->charge);
		pthread_mutex_destroy(&f->lock);
		free(f);
	}
}

static void op_release(fuse_req_t req, struct fuse_file_info *fi)
{
	struct vfc_cuse_file *f = (struct vfc_cuse_file *)(uintptr_t)fi->fh;

	vfc_files_untrack(f->node->daemon, f);
	group_file_forget(f);
	vfc_channel_forget(f->node->daemon, f);
	vfc_file_release(f->file);
	vfc_quota_uncharge(&f->node->daemon->quota, &f->charge);
	pthread_mutex_destroy(&f->lock);
	atomic_fetch_sub(&f->node->daemon->open_files, 1);
	free(f);
	fuse_reply_err(req, 0);
}

/*
 * VFC_CUSE_DEVICE_OPEN: the struct, then the name as the group's
 * GET_DEVICE_FD handler asks for it. The group fd is resolved again in
 * every round, within the round's own request, so no round trusts what
 * an earlier one saw.
 */
static void file_device_open(struct vfc_cuse_file *f, fuse_req_t req, void *arg, const void *in_buf,
			     size_t in_bufsz)
{
	struct vfc_daemon *d = f->node->daemon;
	struct vfc_cuse_device_open op;
	struct vfc_cuse_caller caller;
	struct vfc_cuse_file *group;
	struct vfc_ioctl io;
	int dup = -1, r;

	if (in_bufsz < sizeof(op)) {
		struct iovec iov = { arg, sizeof(op) };

		fuse_reply_ioctl_retry(req, &iov, 1, NULL, 0);
		return;
	}
	memcpy(&op, in_buf, sizeof(op));
	if (op.flags || op.reserved) {
		vfc_info("device node: DEVICE_OPEN: flags 0x%x, reserved 0x%x: must be 0", op.flags,
			 op.reserved);
		fuse_reply_err(req, EINVAL);
		return;
	}
	if (op.group_fd < 0 || op.device_fd < 0) {
		fuse_reply_err(req, EBADF);
		return;
	}
	if (vfc_file_is_bound(f->file)) {
		vfc_info("device node: DEVICE_OPEN: this file is bound to a device already");
		fuse_reply_err(req, EBUSY);
		return;
	}
	r = vfc_cuse_caller_init(&caller, d, req);
	if (r == 0)
		r = vfc_cuse_caller_get_group(&caller, op.group_fd, &group, &dup);
	if (r < 0) {
		if (r == -ENOTTY)
			vfc_info("caller %d: DEVICE_OPEN: fd %d is not one of our groups",
				 caller.base.pid, op.group_fd);
		fuse_reply_err(req, -r);
		return;
	}
	caller.bind = f;
	caller.bind_fd = op.device_fd;
	io = (struct vfc_ioctl){
		.cmd = VFIO_GROUP_GET_DEVICE_FD, .arg = op.name,
		.in = (const uint8_t *)in_buf + sizeof(op), .in_len = in_bufsz - sizeof(op),
		.out = xfer_buf, .out_cap = 0, .caller = &caller.base,
	};
	r = vfc_file_ioctl(group->file, &io);
	close(dup);	/* no lock held: this may be the release of the group file */
	vfc_cuse_caller_fini(&caller);
	if (r == VFC_IOCTL_RETRY) {
		struct iovec in[2] = { { arg, sizeof(op) },
				       { (void *)(uintptr_t)op.name, io.need_in } };

		fuse_reply_ioctl_retry(req, in, io.need_in ? 2 : 1, NULL, 0);
	} else if (r < 0) {
		fuse_reply_err(req, -r);
	} else {
		fuse_reply_ioctl(req, r, NULL, 0);
	}
}

/* VFC_CUSE_DEVICE_RW: the struct first, then the data in or out. */
static void file_rw(struct vfc_cuse_file *f, fuse_req_t req, void *arg, const void *in_buf,
		    size_t in_bufsz, size_t out_bufsz)
{
	struct vfc_cuse_rw_op op;
	ssize_t n;

	if (!vfc_file_is_bound(f->file)) {
		fuse_reply_err(req, ENOTTY);
		return;
	}
	vfc_cuse_rw_decode_cmd(VFC_CUSE_DEVICE_RW, (uintptr_t)arg, &op);
	if (in_bufsz < op.hdr) {
		struct iovec iov = { arg, op.hdr };

		fuse_reply_ioctl_retry(req, &iov, 1, NULL, 0);
		return;
	}
	if (vfc_cuse_rw_decode_hdr(&op, in_buf) < 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if (!op.len) {
		/* Still an offset in no region is EINVAL. */
		n = vfc_file_rw(f->file, op.offset, xfer_buf, 0, false);
		if (n < 0)
			fuse_reply_err(req, (int)-n);
		else
			fuse_reply_ioctl(req, 0, NULL, 0);
		return;
	}
	if (op.write) {
		if (in_bufsz < op.in_need) {
			struct iovec iov[2] = { { arg, op.hdr },
						{ (void *)(uintptr_t)op.buf, op.len } };

			fuse_reply_ioctl_retry(req, iov, 2, NULL, 0);
			return;
		}
		memcpy(xfer_buf, (const uint8_t *)in_buf + op.hdr, op.len);
		n = vfc_file_rw(f->file, op.offset, xfer_buf, op.len, true);
		if (n < 0)
			fuse_reply_err(req, (int)-n);
		else
			fuse_reply_ioctl(req, (int)n, NULL, 0);
		return;
	}
	if (out_bufsz < op.out_need) {
		struct iovec in = { arg, op.hdr };
		struct iovec out = { (void *)(uintptr_t)op.buf, op.len };

		fuse_reply_ioctl_retry(req, &in, 1, &out, 1);
		return;
	}
	n = vfc_file_rw(f->file, op.offset, xfer_buf, op.len, false);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_ioctl(req, (int)n, xfer_buf, (size_t)n);
}

/* A region access's error, never the fast read's "fetch it" signal. */
static int rw_errno(ssize_t n)
{
	return n == -VFC_CUSE_RW_STASHED ? EIO : (int)-n;
}

/* Under f->lock: keep @value and @len for thread @tid; a thread has one. */
static void stash_put(struct vfc_cuse_file *f, pid_t tid, uint32_t value, uint32_t len)
{
	unsigned int i, slot = f->stash_next;

	for (i = 0; i < VFC_CUSE_STASH_SLOTS; i++)
		if (f->stash[i].tid == tid)
			break;
	if (i < VFC_CUSE_STASH_SLOTS) {
		slot = i;
	} else {
		/* A thread that died between its read and its fetch leaves its
		 * slot behind: the oldest goes. */
		f->stash_next = (f->stash_next + 1) % VFC_CUSE_STASH_SLOTS;
	}
	f->stash[slot].tid = tid;
	f->stash[slot].value = value;
	f->stash[slot].len = len;
}

/*
 * VFC_CUSE_RW_FAST: 1, 2 or 4 bytes, all in the number and the argument,
 * in one round trip (vfc-cuse-proto.h).
 */
static void file_rw_fast(struct vfc_cuse_file *f, fuse_req_t req, unsigned int cmd, void *arg)
{
	struct vfc_cuse_rw_op op;
	uint8_t buf[4];
	uint32_t value = 0;
	int32_t result;
	ssize_t n;

	if (vfc_cuse_rw_decode_cmd(cmd, (uintptr_t)arg, &op) < 0) {
		vfc_info("thread %d: fast region access 0x%x: malformed (arg 0x%llx)",
			 fuse_req_ctx(req)->pid, cmd, (unsigned long long)(uintptr_t)arg);
		fuse_reply_err(req, EINVAL);
		return;
	}
	if (op.write) {
		memcpy(buf, &op.value, op.len);
		n = vfc_file_rw(f->file, op.offset, buf, op.len, true);
		if (n < 0)
			fuse_reply_err(req, rw_errno(n));
		else
			fuse_reply_ioctl(req, (int)n, NULL, 0);
		return;
	}
	n = vfc_file_rw(f->file, op.offset, buf, op.len, false);
	if (n < 0 || (size_t)n > op.len) {
		fuse_reply_err(req, n < 0 ? rw_errno(n) : EIO);
		return;
	}
	memcpy(&value, buf, (size_t)n);
	if (vfc_cuse_rw_fast_result(value, (size_t)n, op.len, &result)) {
		fuse_reply_ioctl(req, result, NULL, 0);
		return;
	}
	/* The value would read as an errno, or the read was short. */
	pthread_mutex_lock(&f->lock);
	stash_put(f, fuse_req_ctx(req)->pid, value, (uint32_t)n);
	pthread_mutex_unlock(&f->lock);
	fuse_reply_err(req, VFC_CUSE_RW_STASHED);
}

/* VFC_CUSE_RW_STASH: what the calling thread's last fast read kept. */
static void file_rw_stash(struct vfc_cuse_file *f, fuse_req_t req, void *arg, size_t out_bufsz)
{
	pid_t tid = fuse_req_ctx(req)->pid;
	struct vfc_cuse_rw_stash st;
	unsigned int i;

	if (out_bufsz < sizeof(st)) {
		struct iovec iov = { arg, sizeof(st) };

		fuse_reply_ioctl_retry(req, NULL, 0, &iov, 1);
		return;
	}
	pthread_mutex_lock(&f->lock);
	for (i = 0; i < VFC_CUSE_STASH_SLOTS; i++)
		if (tid && f->stash[i].tid == tid)
			break;
	if (i < VFC_CUSE_STASH_SLOTS) {
		st = (struct vfc_cuse_rw_stash){ f->stash[i].value, f->stash[i].len };
		f->stash[i].tid = 0;
	}
	pthread_mutex_unlock(&f->lock);
	if (i == VFC_CUSE_STASH_SLOTS) {
		vfc_info("thread %d fetched a fast read it does not have (more than %d "
			 "threads of one file at once?)", tid, VFC_CUSE_STASH_SLOTS);
		fuse_reply_err(req, EIO);
		return;
	}
	fuse_reply_ioctl(req, 0, &st, sizeof(st));
}

/*
 * VFC_CUSE_RW_BOUNCE: the header and the data side by side at @arg, their
 * size in the number: both asked for at once, two round trips in all.
 */
static void file_rw_bounce(struct vfc_cuse_file *f, fuse_req_t req, unsigned int cmd, void *arg,
			   const void *in_buf, size_t in_bufsz, size_t out_bufsz)
{
	struct vfc_cuse_rw_op op;
	ssize_t n;

	if (vfc_cuse_rw_decode_cmd(cmd, (uintptr_t)arg, &op) < 0) {
		vfc_info("thread %d: region access 0x%x: malformed", fuse_req_ctx(req)->pid, cmd);
		fuse_reply_err(req, EINVAL);
		return;
	}
	if (in_bufsz < op.in_need || out_bufsz < op.out_need) {
		struct iovec in = { arg, op.in_need };
		struct iovec out = { (uint8_t *)arg + op.hdr, op.len };

		fuse_reply_ioctl_retry(req, &in, 1, op.out_need ? &out : NULL, op.out_need ? 1 : 0);
		return;
	}
	if (vfc_cuse_rw_decode_hdr(&op, in_buf) < 0) {
		const struct vfc_cuse_rw_bounce *b = in_buf;

		vfc_info("thread %d: region access: header (len %u, flags 0x%x, offset 0x%llx) "
			 "does not match its number 0x%x", fuse_req_ctx(req)->pid, b->len, b->flags,
			 (unsigned long long)b->offset, cmd);
		fuse_reply_err(req, EINVAL);
		return;
	}
	if (op.write)
		memcpy(xfer_buf, (const uint8_t *)in_buf + op.hdr, op.len);
	n = vfc_file_rw(f->file, op.offset, xfer_buf, op.len, op.write);
	if (n < 0)
		fuse_reply_err(req, rw_errno(n));
	else
		fuse_reply_ioctl(req, (int)n, op.write ? NULL : xfer_buf, op.write ? 0 : (size_t)n);
}

/* VFC_CUSE_CHANNEL_TOKEN: this file's name on the channel. */
static void file_channel_token(struct vfc_cuse_file *f, fuse_req_t req, void *arg,
			       size_t out_bufsz)
{
	struct vfc_daemon *d = f->node->daemon;
	struct vfc_cuse_channel_token t = { 0 };
	int r;

	if (out_bufsz < sizeof(t)) {
		struct iovec iov = { arg, sizeof(t) };

		fuse_reply_ioctl_retry(req, NULL, 0, &iov, 1);
		return;
	}
	r = vfc_channel_token(d, f, t.token);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	snprintf(t.path, sizeof(t.path), "%s", d->channel_path);
	fuse_reply_ioctl(req, 0, &t, sizeof(t));
}

/* VFC_CUSE_IDENTIFY: only for the daemon itself. */
static void file_identify(struct vfc_cuse_file *f, fuse_req_t req, void *arg, size_t out_bufsz)
{
	struct vfc_cuse_identity id = { 0 };

	if (vfc_tgid_of(fuse_req_ctx(req)->pid) != getpid()) {
		fuse_reply_err(req, EPERM);
		return;
	}
	if (out_bufsz < sizeof(id)) {
		struct iovec iov = { arg, sizeof(id) };

		fuse_reply_ioctl_retry(req, NULL, 0, &iov, 1);
		return;
	}
	switch (vfc_file_kind(f->file)) {
	case VFC_FILE_CONTAINER:
		id.kind = VFC_CUSE_KIND_CONTAINER;
		id.id = vfc_container_id(vfc_file_container(f->file));
		break;
	case VFC_FILE_GROUP:
		id.kind = VFC_CUSE_KIND_GROUP;
		id.id = (uint64_t)vfc_file_group(f->file);
		break;
	case VFC_FILE_DEVICE:
		id.kind = VFC_CUSE_KIND_DEVICE;
		break;
	}
	fuse_reply_ioctl(req, 0, &id, sizeof(id));
}

static void op_ioctl(fuse_req_t req, int cmd, void *arg, struct fuse_file_info *fi,
		     unsigned int flags, const void *in_buf, size_t in_bufsz, size_t out_bufsz)
{
	struct vfc_cuse_file *f = (struct vfc_cuse_file *)(uintptr_t)fi->fh;
	struct vfc_daemon *d = f->node->daemon;
	unsigned int ucmd = (unsigned int)cmd;
	enum vfc_cuse_rw_form form;
	struct vfc_cuse_caller caller;
	struct vfc_ioctl io;
	int r;

	switch (ucmd) {
	case VFC_CUSE_IDENTIFY:
		file_identify(f, req, arg, out_bufsz);
		return;
	case VFC_CUSE_DEVICE_OPEN:
		if (f->node->kind != VFC_NODE_DEVICE) {
			fuse_reply_err(req, ENOTTY);
			return;
		}
		file_device_open(f, req, arg, in_buf, in_bufsz);
		return;
	case VFC_CUSE_CHANNEL_TOKEN:
		if (f->node->kind == VFC_NODE_GROUP) {
			fuse_reply_err(req, ENOTTY);
			return;
		}
		file_channel_token(f, req, arg, out_bufsz);
		return;
	case VFC_CUSE_DEVICE_RW:
		if (f->node->kind != VFC_NODE_DEVICE) {
			fuse_reply_err(req, ENOTTY);
			return;
		}
		file_rw(f, req, arg, in_buf, in_bufsz, out_bufsz);
		return;
	default:
		break;
	}
	form = vfc_cuse_rw_form(ucmd);
	if (f->node->kind == VFC_NODE_DEVICE && form != VFC_CUSE_RW_FORM_NONE) {
		/* DEVICE_RW went above */
		if (!vfc_file_is_bound(f->file))
			fuse_reply_err(req, ENOTTY);
		else if (form == VFC_CUSE_RW_FORM_STASH)
			file_rw_stash(f, req, arg, out_bufsz);
		else if (form == VFC_CUSE_RW_FORM_FAST)
			file_rw_fast(f, req, ucmd, arg);
		else
			file_rw_bounce(f, req, ucmd, arg, in_buf, in_bufsz, out_bufsz);
		return;
	}
	if (out_bufsz > sizeof(xfer_buf) || in_bufsz > VFC_IOCTL_MAX_XFER) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	/* Reading /proc for the tgid costs more than the rest of a small
	 * ioctl: do it only for those that use the caller, and for an unbound
	 * device file (which answers ENOTTY) not at all. The trace shows
	 * every caller's pid, so it pays that cost for every ioctl. */
	if (((vfc_ioctl_desc(vfc_file_kind(f->file), ucmd)->flags & VFC_IOCTL_CALLER) ||
	     vfc_trace_on()) &&
	    (f->node->kind != VFC_NODE_DEVICE || vfc_file_is_bound(f->file)))
		vfc_cuse_caller_init(&caller, d, req);
	else
		vfc_cuse_caller_init_anonymous(&caller, d, req);
	io = (struct vfc_ioctl){
		.cmd = ucmd, .arg = (uintptr_t)arg, .in = in_buf, .in_len = in_bufsz,
		.out = xfer_buf, .out_cap = out_bufsz, .caller = &caller.base,
	};
	r = vfc_file_ioctl(f->file, &io);
	vfc_cuse_caller_fini(&caller);
	if (r == VFC_IOCTL_RETRY) {
		struct iovec in = { arg, io.need_in }, out = { arg, io.need_out };

		fuse_reply_ioctl_retry(req, io.need_in ? &in : NULL, io.need_in ? 1 : 0,
				       io.need_out ? &out : NULL, io.need_out ? 1 : 0);
	} else if (r < 0 && io.out_on_error && io.out_len) {
		/* CUSE copies the data out, then returns the negative result. */
		fuse_reply_ioctl(req, r, io.out, io.out_len);
	} else if (r < 0) {
		/* ENOSYS would reach the caller as ENOTTY anyway; say so. */
		fuse_reply_err(req, r == -ENOSYS ? ENOTTY : -r);
	} else {
		fuse_reply_ioctl(req, r, io.out_len ? io.out : NULL, io.out_len);
	}
}

/*
 * read/write without the library: at a position kept per open file, in
 * xfer_buf. Return: bytes done, or -errno (EINVAL before a device is bound).
 */
static ssize_t file_rw_at_pos(struct vfc_cuse_file *f, size_t size, bool write)
{
	ssize_t n;

	if (!vfc_file_is_bound(f->file))
		return -EINVAL;	/* containers and groups included, as before */
	pthread_mutex_lock(&f->lock);
	n = vfc_file_rw(f->file, f->pos, xfer_buf, size, write);
	if (n > 0)
		f->pos += (uint64_t)n;
	pthread_mutex_unlock(&f->lock);
	return n;
}

static void op_read(fuse_req_t req, size_t size, off_t off, struct fuse_file_info *fi)
{
	ssize_t n = file_rw_at_pos((struct vfc_cuse_file *)(uintptr_t)fi->fh,
				   VFC_MIN(size, sizeof(xfer_buf)), false);

	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_buf(req, (const char *)xfer_buf, (size_t)n);
}

static void op_write(fuse_req_t req, const char *buf, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	ssize_t n;

	size = VFC_MIN(size, sizeof(xfer_buf));
	memcpy(xfer_buf, buf, size);
	n = file_rw_at_pos((struct vfc_cuse_file *)(uintptr_t)fi->fh, size, true);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_write(req, (size_t)n);
}

static void op_init_done(void *userdata)
{
	struct vfc_node *node = userdata;

	node->init_done = true;
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	/* Requests are processed on other threads than the one that read
	 * them: no per-thread splice pipes. */
	conn->want &= ~(FUSE_CAP_SPLICE_READ | FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE);
}

const struct cuse_lowlevel_ops vfc_cuse_ops = {
	.init = op_init,
	.init_done = op_init_done,
	.open = op_open,
	.release = op_release,
	.read = op_read,
	.write = op_write,
	.ioctl = op_ioctl,
};
