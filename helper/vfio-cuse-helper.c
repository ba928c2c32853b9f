/* SPDX-License-Identifier: MIT */
/*
 * vfio-cuse-helper: the privileged half of vfio-cused (docs/security.md).
 * The daemon starts it as root, before dropping its own privileges, and
 * asks it for the closed set of operations of include/vfc-helper-proto.h
 * over the SOCK_SEQPACKET socket on fd 3. The daemon is assumed subverted:
 * each request is checked against the op table and its fields' ranges
 * before anything is done, and any violation ends this process.
 *
 * argv: the daemon's CUSE major, then the groups open_group may open.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "priv-ops.h"
#include "vfc-helper-proto.h"

#define SOCK VFC_HELPER_SOCKET_FD
#define MAX_GROUPS 1024

static unsigned int groups[MAX_GROUPS], n_groups, cuse_major;

/* One line, and the end. @op: the request's, or -1 at start-up. */
static _Noreturn void die(int status, const char *why, int64_t op)
{
	if (op < 0)
		fprintf(stderr, "<3>vfio-cuse-helper: %s\n", why);
	else
		fprintf(stderr, "<3>vfio-cuse-helper: %s (op %" PRId64 ")\n", why, op);
	_exit(status);
}

static unsigned int parse_number(const char *s)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (*s < '0' || *s > '9' || *end || errno || v > INT32_MAX)
		die(VFC_HELPER_EXIT_SETUP, "usage: vfio-cuse-helper CUSE-MAJOR [GROUP]...", -1);
	return (unsigned int)v;
}

/* Keep only the capabilities the ops need, for good (NO_NEW_PRIVS: no exec
 * gives more back). Without them, ops fail with EPERM or EACCES. */
static void keep_capabilities(void)
{
	const uint64_t keep = 1ULL << CAP_DAC_OVERRIDE | 1ULL << CAP_SYS_PTRACE;
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct c[2];

	if (syscall(SYS_capget, &h, c) < 0)
		die(VFC_HELPER_EXIT_SETUP, "capget failed", -1);
	for (int i = 0; i < 2; i++) {
		c[i].permitted &= (uint32_t)(keep >> 32 * i);
		c[i].effective = c[i].permitted;
		c[i].inheritable = 0;
	}
	if (syscall(SYS_capset, &h, c) < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		die(VFC_HELPER_EXIT_SETUP, "cannot drop capabilities", -1);
}

static bool group_allowed(uint32_t group)
{
	for (unsigned int i = 0; i < n_groups; i++)
		if (groups[i] == group)
			return true;
	return false;
}

/* Dies unless @m has its op's size and fd count, and every field is in range. */
static void check(const union vfc_helper_request *m, ssize_t len, int flags, unsigned int n_fds)
{
	const struct vfc_helper_get_client_fd *cf = &m->get_client_fd;
	const char *name = m->get_device_fd.name;
	uint32_t op = m->hdr.op;
	size_t n;
	bool ok;

	if ((flags & (MSG_TRUNC | MSG_CTRUNC)) || len < (ssize_t)sizeof(m->hdr) || op == 0 ||
	    op >= VFC_HELPER_N_OPS || len != vfc_helper_ops[op].size ||
	    n_fds != vfc_helper_ops[op].n_fds || m->hdr.reserved)
		die(VFC_HELPER_EXIT_VIOLATION, "protocol violation: size, op, fds or header", op);
	switch (op) {
	case VFC_HELPER_OPEN_GROUP:
		ok = !m->open_group.reserved && group_allowed(m->open_group.group);
		break;
	case VFC_HELPER_GET_DEVICE_FD:
		n = strnlen(name, VFC_HELPER_NAME_MAX);
		ok = n > 0 && n < VFC_HELPER_NAME_MAX;
		while (ok && n < VFC_HELPER_NAME_MAX)
			ok = !name[n++];
		break;
	case VFC_HELPER_GET_CLIENT_FD:
		ok = cf->pid > 0 && cf->tid > 0 && cf->fd >= 0 &&
		     !(cf->flags & ~VFC_HELPER_CLIENT_FD_FLAGS);
		break;
	default:
		ok = true;
	}
	if (!ok)
		die(VFC_HELPER_EXIT_VIOLATION, "protocol violation: a field out of range", op);
}

/* Whether @fd is the kernel's /dev/vfio/<group> of an allowed group. */
static bool allowed_group_fd(int fd)
{
	struct statx in, node;
	char path[32];

	if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_TYPE, &in) < 0 ||
	    !S_ISCHR(in.stx_mode))
		return false;
	for (unsigned int i = 0; i < n_groups; i++) {
		snprintf(path, sizeof(path), "/dev/vfio/%u", groups[i]);
		if (statx(AT_FDCWD, path, 0, STATX_TYPE, &node) == 0 && S_ISCHR(node.stx_mode) &&
		    node.stx_rdev_major == in.stx_rdev_major &&
		    node.stx_rdev_minor == in.stx_rdev_minor)
			return true;
	}
	return false;
}

static int serve(const union vfc_helper_request *m, int fd_in)
{
	const struct vfc_helper_get_client_fd *cf = &m->get_client_fd;

	switch (m->hdr.op) {
	case VFC_HELPER_OPEN_CONTAINER:
		return vfc_priv_do_open_container();
	case VFC_HELPER_OPEN_GROUP:
		return vfc_priv_do_open_group(m->open_group.group);
	case VFC_HELPER_GET_DEVICE_FD:
		if (!allowed_group_fd(fd_in))
			return -EBADF;
		return vfc_priv_do_get_device_fd(fd_in, m->get_device_fd.name);
	default:
		return vfc_priv_do_get_client_fd(cuse_major, cf->pid, cf->tid, cf->fd,
						 cf->flags & VFC_HELPER_CLIENT_FD_EVENTFD_ONLY ?
						 VFC_PRIV_CLIENT_FD_EVENTFD_ONLY : 0);
	}
}

/* Send {status} with @fd attached if >= 0. The daemon gone ends us with 0. */
static void reply(int32_t status, int fd)
{
	struct vfc_helper_reply rep = { .status = status };
	struct iovec iov = { .iov_base = &rep, .iov_len = sizeof(rep) };
	union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } c;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (fd >= 0) {
		memset(&c, 0, sizeof(c));
		c.h = (struct cmsghdr){ .cmsg_len = CMSG_LEN(sizeof(int)), .cmsg_level = SOL_SOCKET,
					.cmsg_type = SCM_RIGHTS };
		memcpy(CMSG_DATA(&c.h), &fd, sizeof(fd));
		mh.msg_control = &c;
		mh.msg_controllen = sizeof(c);
	}
	if (sendmsg(SOCK, &mh, MSG_NOSIGNAL) != (ssize_t)sizeof(rep))
		_exit(errno == EPIPE || errno == ECONNRESET ? VFC_HELPER_EXIT_OK : VFC_HELPER_EXIT_IO);
}

int main(int argc, char **argv)
{
	int type = 0;
	socklen_t type_len = sizeof(type);

	if (argc < 2 || argc - 2 > MAX_GROUPS ||
	    getsockopt(SOCK, SOL_SOCKET, SO_TYPE, &type, &type_len) < 0 || type != SOCK_SEQPACKET)
		die(VFC_HELPER_EXIT_SETUP, "usage: vfio-cuse-helper CUSE-MAJOR [GROUP]... "
			"with a SOCK_SEQPACKET socket on fd 3", -1);
	cuse_major = parse_number(argv[1]);
	for (int i = 2; i < argc; i++)
		groups[n_groups++] = parse_number(argv[i]);
	close_range(SOCK + 1, ~0U, 0);	/* nothing of the daemon's but the socket */
	keep_capabilities();

	for (;;) {
		union vfc_helper_request m = { 0 };
		union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } c;
		struct iovec iov = { .iov_base = &m, .iov_len = sizeof(m) };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &c,
				     .msg_controllen = sizeof(c) };
		unsigned int n_fds = 0;
		int fd_in = -1, r;
		ssize_t len;

		len = recvmsg(SOCK, &mh, MSG_CMSG_CLOEXEC);
		if (len < 0 && errno == EINTR)
			continue;
		if (len < 0)
			_exit(errno == ECONNRESET ? VFC_HELPER_EXIT_OK : VFC_HELPER_EXIT_IO);
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
			if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
			    cm->cmsg_len != CMSG_LEN(sizeof(int)) || n_fds++)
				die(VFC_HELPER_EXIT_VIOLATION, "protocol violation: control data",
				    m.hdr.op);
			memcpy(&fd_in, CMSG_DATA(cm), sizeof(fd_in));
		}
		if (len == 0 && !n_fds && !(mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)))
			_exit(VFC_HELPER_EXIT_OK);	/* the daemon closed the socket */
		check(&m, len, mh.msg_flags, n_fds);
		r = serve(&m, fd_in);
		if (fd_in >= 0)
			close(fd_in);
		reply(r < 0 ? r : 0, r);
		if (r >= 0) {
			close(r);
			reply(0, -1);	/* the "closed" notice */
		}
	}
}
