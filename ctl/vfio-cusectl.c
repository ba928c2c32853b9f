/* SPDX-License-Identifier: MIT */
/*
 * vfio-cusectl: the operator's tool for a running vfio-cused. It sends one
 * request line to <rundir>/control (include/vfc-control-proto.h) and
 * prints the reply: lists of groups, devices, containers, mappings and
 * clients, the trace switch and fault rules. The daemon formats the
 * replies, as text or JSON; this tool only frames them and turns an ERR
 * into a message and an exit status.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "vfc-control-proto.h"

#define MAX_REPLY (64u << 20)

static void usage(FILE *out)
{
	fprintf(out,
		"usage: vfio-cusectl [--rundir DIR] [--json] COMMAND [ARG...]\n"
		"commands:\n"
		"  status                  the daemon, counts, pinned memory, trace state\n"
		"  groups                  IOMMU groups: viable, open, container, devices\n"
		"  devices                 devices: group, open count, regions, irqs\n"
		"  containers              containers: IOMMU, groups, mappings, pinned bytes\n"
		"  mappings [CONTAINER]    DMA mappings: iova, size, vaddr, flags, owner pid\n"
		"  clients                 client processes: pid, uid, open files\n"
		"  trace on [FILE] [--format text|json]\n"
		"  trace off\n"
		"  fault add RULE          (rule syntax: docs/harness.md)\n"
		"  fault rm ID\n"
		"  fault clear\n"
		"  fault list\n"
		"options:\n"
		"  -r, --rundir DIR        the daemon's rundir (default $VFIO_CUSE_RUNDIR,\n"
		"                          else /run/vfio-cuse)\n"
		"  -j, --json              JSON output, one object\n"
		"  -h, --help\n"
		"      --version\n");
}

/* Append @s to the request, checking room. */
static int add(char *req, size_t size, const char *s)
{
	size_t len = strlen(req);

	if (strchr(s, '\n') || len + strlen(s) + 2 >= size)
		return -E2BIG;
	snprintf(req + len, size - len, "%s%s", len ? " " : "", s);
	return 0;
}

/* The request line for argv; trace's FILE made absolute. */
static int build_request(int argc, char **argv, bool json, char *req, size_t size)
{
	char cwd[PATH_MAX], abs[PATH_MAX + 1024];
	const char *format = NULL, *file = NULL;
	int r = 0;

	req[0] = '\0';
	if (json)
		r = add(req, size, "json");
	if (!strcmp(argv[0], "trace") && argc >= 2 && !strcmp(argv[1], "on")) {
		for (int i = 2; i < argc; i++) {
			if (!strcmp(argv[i], "--format") && i + 1 < argc)
				format = argv[++i];
			else if (!strncmp(argv[i], "--format=", 9))
				format = argv[i] + 9;
			else if (!strncmp(argv[i], "--", 2))
				return -EINVAL;	/* not a file name: "--format" without its value */
			else if (!file)
				file = argv[i];
			else
				return -EINVAL;
		}
		if (format && strcmp(format, "text") && strcmp(format, "json"))
			return -EINVAL;
		if (file && file[0] != '/') {
			if (!getcwd(cwd, sizeof(cwd)))
				return -errno;
			snprintf(abs, sizeof(abs), "%s/%s", cwd, file);
			file = abs;
		}
		if (file && strchr(file, ' '))
			return -EINVAL;
		r = r ?: add(req, size, "trace");
		r = r ?: add(req, size, "on");
		if (file)
			r = r ?: add(req, size, file);
		if (format)
			r = r ?: add(req, size, format);
		return r;
	}
	for (int i = 0; i < argc && !r; i++)
		r = add(req, size, argv[i]);
	return r;
}

static int talk(const char *rundir, const char *req, char **ret_reply, size_t *ret_len)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 10 };
	size_t len = 0, cap = 65536;
	char *buf = NULL, *p;
	ssize_t n;
	int fd, r;

	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", rundir, VFC_CTL_SOCKET) >=
	    sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		fprintf(stderr, "vfio-cusectl: cannot reach the daemon at %s: %s\n", sa.sun_path,
			strerror(-r));
		close(fd);
		return r;
	}
	errno = 0;
	if (send(fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req) ||
	    send(fd, "\n", 1, MSG_NOSIGNAL) != 1) {
		r = errno ? -errno : -EIO;	/* a short send leaves errno alone */
		goto fail;
	}
	buf = malloc(cap + 1);
	if (!buf) {
		r = -ENOMEM;
		goto fail;
	}
	for (;;) {
		if (len == cap) {
			if (cap >= MAX_REPLY) {
				r = -E2BIG;
				goto fail;
			}
			cap *= 2;
			p = realloc(buf, cap + 1);
			if (!p) {
				r = -ENOMEM;
				goto fail;
			}
			buf = p;
		}
		n = recv(fd, buf + len, cap - len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	*ret_reply = buf;
	*ret_len = len;
	return 0;

fail:
	fprintf(stderr, "vfio-cusectl: talking to %s: %s\n", sa.sun_path, strerror(-r));
	free(buf);
	close(fd);
	return r;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "rundir", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	const char *rundir = getenv("VFIO_CUSE_RUNDIR") ?: "/run/vfio-cuse";
	char req[VFC_CTL_MAX_LINE], *reply = NULL, *body;
	size_t len = 0, body_len;
	bool json = false;
	int c, r, status;

	/* "+": options stop at the command, so "trace on --format json" works */
	while ((c = getopt_long(argc, argv, "+r:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			rundir = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("vfio-cusectl %s\n", VFC_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	r = build_request(argc - optind, argv + optind, json, req, sizeof(req));
	if (r < 0) {
		if (r == -EINVAL)
			usage(stderr);
		else
			fprintf(stderr, "vfio-cusectl: %s\n", strerror(-r));
		return 2;
	}
	r = talk(rundir, req, &reply, &len);
	if (r < 0)
		return 1;
	r = vfc_ctl_parse_reply(reply, len, &status, &body, &body_len);
	if (r < 0) {
		fprintf(stderr, "vfio-cusectl: a malformed reply from the daemon\n");
		free(reply);
		return 1;
	}
	if (status < 0) {
		fprintf(stderr, "vfio-cusectl: %s (%s)\n", body, strerror(-status));
		free(reply);
		return status == -EINVAL ? 2 : 1;
	}
	fwrite(body, 1, body_len, stdout);
	free(reply);
	return fflush(stdout) == 0 ? 0 : 1;
}
