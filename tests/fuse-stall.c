/* SPDX-License-Identifier: MIT */
/*
 * vfc-fuse-stall MOUNTPOINT: a hostile filesystem for the hardening tests.
 * It serves one file, "f" (mode 0666), and never answers FLUSH, so every
 * close() of that file blocks its caller, uninterruptibly, until this
 * server dies and the kernel aborts the connection. Prints "ready" on
 * stdout once mounted, then serves until killed. Needs the right to mount
 * FUSE (root here). Exit status 77 when it cannot mount.
 */
#define FUSE_USE_VERSION 314
#include <errno.h>
#include <fuse_lowlevel.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FILE_INO 2

static void fill(fuse_ino_t ino, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_mode = ino == FUSE_ROOT_ID ? S_IFDIR | 0755 : S_IFREG | 0666;
	st->st_nlink = 1;
	st->st_size = ino == FUSE_ROOT_ID ? 0 : 4096;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e = { .ino = FILE_INO, .attr_timeout = 3600,
				      .entry_timeout = 3600 };

	if (parent != FUSE_ROOT_ID || strcmp(name, "f")) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	fill(FILE_INO, &e.attr);
	fuse_reply_entry(req, &e);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st;

	fill(ino, &st);
	fuse_reply_attr(req, &st, 3600);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	fuse_reply_open(req, fi);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	fuse_reply_buf(req, NULL, 0);
}

/* The point: a FLUSH is never answered. The request is leaked on purpose. */
static void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	fprintf(stderr, "vfc-fuse-stall: holding a FLUSH\n");
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	fuse_reply_err(req, 0);
}

static const struct fuse_lowlevel_ops ops = {
	.lookup = op_lookup,
	.getattr = op_getattr,
	.open = op_open,
	.read = op_read,
	.flush = op_flush,
	.release = op_release,
};

int main(int argc, char **argv)
{
	char *fargv[] = { argv[0], (char *)"-o", (char *)"allow_other", NULL };
	struct fuse_args args = FUSE_ARGS_INIT(3, fargv);
	struct fuse_session *se;

	if (argc != 2) {
		fprintf(stderr, "usage: vfc-fuse-stall MOUNTPOINT\n");
		return 2;
	}
	se = fuse_session_new(&args, &ops, sizeof(ops), NULL);
	if (!se || fuse_session_mount(se, argv[1]) != 0) {
		fprintf(stderr, "vfc-fuse-stall: cannot mount FUSE at %s\n", argv[1]);
		return 77;
	}
	printf("ready\n");
	fflush(stdout);
	/* Single-threaded: a held FLUSH blocks nothing of ours. */
	fuse_session_loop(se);
	fuse_session_unmount(se);
	fuse_session_destroy(se);
	return 0;
}
