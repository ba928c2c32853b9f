/* SPDX-License-Identifier: MIT */
/*
 * The control protocol of vfio-cused: <rundir>/control, a unix stream
 * socket that vfio-cusectl talks to. One request line per connection, one
 * reply, then the daemon closes the connection.
 *
 *   request:  [json ]COMMAND [ARG...]\n   printable ASCII, words split by
 *                                         spaces, under VFC_CTL_MAX_LINE
 *                                         bytes with its newline
 *   reply:    OK <length>\n<length bytes of body>
 *             ERR <errno number> <message>\n
 *
 * With "json" first, the body is one JSON object (one line); else it is
 * text for people. Commands: docs/daemon.md, "vfio-cusectl".
 */
#pragma once

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define VFC_CTL_SOCKET "control"	/* in the rundir */
#define VFC_CTL_MAX_LINE 4096		/* a request, newline included */

/**
 * vfc_ctl_parse_reply() - split a whole reply, for the tool and tests.
 * @buf: the bytes received, with room for one more byte; modified
 *       (NUL-terminated).
 * @len: their count.
 * @ret_status: 0, or the negative errno of an ERR reply.
 * @ret_body: the body (OK) or the message (ERR), NUL-terminated.
 * @ret_body_len: its length.
 * Return: 0; -EPROTO for a reply that is neither a well-formed OK with
 * exactly its announced body, nor an ERR line.
 */
static inline int vfc_ctl_parse_reply(char *buf, size_t len, int *ret_status, char **ret_body,
				      size_t *ret_body_len)
{
	char *nl = memchr(buf, '\n', len), *end;
	unsigned long v;

	buf[len] = '\0';
	if (!nl)
		return -EPROTO;
	*nl = '\0';
	if (!strncmp(buf, "OK ", 3) && buf[3] >= '0' && buf[3] <= '9') {
		errno = 0;
		v = strtoul(buf + 3, &end, 10);
		if (errno || *end || v != len - (size_t)(nl + 1 - buf))
			return -EPROTO;
		*ret_status = 0;
		*ret_body = nl + 1;
		*ret_body_len = v;
		return 0;
	}
	if (!strncmp(buf, "ERR ", 4) && buf[4] >= '1' && buf[4] <= '9' && nl + 1 == buf + len) {
		errno = 0;
		v = strtoul(buf + 4, &end, 10);
		if (errno || v > 4095 || (*end != ' ' && *end))
			return -EPROTO;
		*ret_status = -(int)v;
		*ret_body = *end ? end + 1 : end;
		*ret_body_len = strlen(*ret_body);
		return 0;
	}
	return -EPROTO;
}
