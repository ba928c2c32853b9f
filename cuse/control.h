/* SPDX-License-Identifier: MIT */
/*
 * The daemon's half of the control protocol (include/vfc-control-proto.h):
 * fuse-free request parsing and reply formatting from the core's
 * introspection (vfc-inspect.h) and a snapshot of the daemon's open files
 * (control-proto.c); and the socket (control.c).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "vfc-control-proto.h"
#include "vfc-core.h"
#include "vfc-file.h"
#include "vfc-macro.h"

#define VFC_CTL_MAX_WORDS 16
#define VFC_CTL_MAX_REPLY (8u << 20)	/* a longer body is cut: status E2BIG */

/* A growing reply; an allocation failure or VFC_CTL_MAX_REPLY sets @failed. */
struct vfc_ctl_buf {
	char *data;
	size_t len, cap;
	int failed;		/* 0, -ENOMEM or -E2BIG */
};

void vfc_ctl_buf_printf(struct vfc_ctl_buf *b, const char *fmt, ...) _printf_(2, 3);
/** vfc_ctl_buf_json_string() - @s as a quoted JSON string; bytes >= 0x80 as \u00XX. */
void vfc_ctl_buf_json_string(struct vfc_ctl_buf *b, const char *s);
void vfc_ctl_buf_free(struct vfc_ctl_buf *b);

/**
 * struct vfc_ctl_request - a parsed request line.
 * @json: the reply is JSON.
 * @argc: words after the optional "json".
 * @argv: the words, pointing into the parsed line.
 * @rest: for "fault add": the text after "add", spaces kept; else NULL.
 */
struct vfc_ctl_request {
	bool json;
	int argc;
	char *argv[VFC_CTL_MAX_WORDS];
	char *rest;
};

/**
 * vfc_ctl_parse() - parse one request line.
 * @line: the bytes, without their newline; modified; NUL-terminated at
 *        @len.
 * @len: its length.
 * @ret: the request, written on success.
 * Return: 0; -EINVAL for an empty line, a byte that is not printable
 * ASCII, or more than VFC_CTL_MAX_WORDS words; -E2BIG for a line of
 * VFC_CTL_MAX_LINE bytes or more.
 */
int vfc_ctl_parse(char *line, size_t len, struct vfc_ctl_request *ret);

/**
 * struct vfc_ctl_open_file - one open file of a client, as the transport
 * saw its open.
 * @pid: the opener's process (thread group) id, in the daemon's pid
 *       namespace; 0 when it was not visible.
 * @uid: the opener's uid.
 * @kind: container, group or device file.
 * @file_id: the core file's number (vfc_file_id()).
 * @container: for a container file, its number.
 * @group: for a group file, its number; else -1.
 * @device: for a bound device file, the device's name; else NULL.
 */
struct vfc_ctl_open_file {
	pid_t pid;
	uid_t uid;
	enum vfc_file_kind kind;
	uint64_t file_id;
	unsigned long container;
	int group;
	const char *device;
};

/**
 * struct vfc_ctl_env - what a request may see and change.
 * @core: the core.
 * @files: the transport's open files, or NULL when it has none to show;
 *         return 0 with a malloc'ed array (the caller frees it) and its
 *         count, or -errno.
 * @opaque: for @files.
 * @rundir: the daemon's rundir: "trace on" without FILE writes there.
 * @may_name_files: the requester may name a trace FILE (root, or the
 *                  daemon's own user); a granted user may not.
 * @pid: the daemon's pid, for status.
 * @uid: the daemon's uid, for status.
 */
struct vfc_ctl_env {
	struct vfc_core *core;
	int (*files)(void *opaque, struct vfc_ctl_open_file **ret, size_t *ret_n);
	void *opaque;
	const char *rundir;
	bool may_name_files;
	pid_t pid;
	uid_t uid;
};

/**
 * vfc_ctl_execute() - run @req and write the whole reply (status line and
 * body) to @out.
 * @env: the daemon's state.
 * @req: a parsed request.
 * @out: an empty buffer.
 * Return: 0 when the command succeeded, else its -errno (the reply then
 * says ERR); -ENOMEM when not even the reply could be made (@out failed).
 */
int vfc_ctl_execute(const struct vfc_ctl_env *env, const struct vfc_ctl_request *req,
		    struct vfc_ctl_buf *out);

/* The daemon side (control.c) */
struct vfc_daemon;
/**
 * vfc_control_start() - listen on <rundir>/control (mode 0660, owner the
 * daemon's user) and serve it on a thread of its own.
 * Return: 0, or -errno of the socket (logged).
 */
int vfc_control_start(struct vfc_daemon *d);
/** vfc_control_stop() - end the thread, close every connection, remove the socket. */
void vfc_control_stop(struct vfc_daemon *d);
