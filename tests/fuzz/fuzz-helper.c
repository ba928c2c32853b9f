// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness: vfio-cuse-helper's request handling, in-process. The
 * helper's own source is compiled in (its main() renamed, _exit() turned
 * into a longjmp back here, its socket an fd of ours), and each input is a
 * sequence of messages sent on a SOCK_SEQPACKET pair, any size up to 128
 * bytes, carrying no fd, an eventfd, /dev/null, or two fds. Each goes
 * through the helper loop's steps: recvmsg, the control data checks,
 * check(), serve() and reply(). A protocol violation ends the input, as it
 * ends the helper (exit status 3); any other exit, or a crash, is a
 * finding. The loop body below mirrors main()'s, which cannot run here: it
 * closes every other fd and drops capabilities.
 *
 * serve() runs for real, but harmlessly: no group is allowed, so
 * OPEN_GROUP is a violation and GET_DEVICE_FD finds no allowed group fd;
 * the CUSE major is one no process holds, so GET_CLIENT_FD refuses every
 * process before fetching anything; OPEN_CONTAINER opens /dev/vfio/vfio
 * where it exists, and the fd is received and closed here.
 */
#include <setjmp.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vfc-helper-proto.h"

static int fuzz_sock = -1;
static jmp_buf fuzz_exit_jmp;
static int fuzz_exit_status;

static _Noreturn void fuzz_exit(int status)
{
	fuzz_exit_status = status;
	longjmp(fuzz_exit_jmp, 1);
}

#undef VFC_HELPER_SOCKET_FD
#define VFC_HELPER_SOCKET_FD fuzz_sock
#define _exit(s) fuzz_exit(s)
#define main vfc_helper_main
#include "../../helper/vfio-cuse-helper.c"
#undef main
#undef _exit

#include "fuzz-util.h"

#define UNUSED_MAJOR 4094	/* no process holds a device of it */

static int peer = -1, efd = -1, devnull = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0 ||
	    (efd = eventfd(0, EFD_CLOEXEC)) < 0 ||
	    (devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0) {
		perror("fuzz-helper");
		exit(1);
	}
	fuzz_sock = sv[0];
	peer = sv[1];
	cuse_major = UNUSED_MAJOR;
	n_groups = 0;
	return 0;
}

static void send_request(const uint8_t *buf, size_t len, unsigned int fds)
{
	union { struct cmsghdr h; char buf[CMSG_SPACE(2 * sizeof(int))]; } c;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	int pass[2] = { fds == 2 ? devnull : efd, devnull };

	if (fds) {
		unsigned int n = fds == 3 ? 2 : 1;

		memset(&c, 0, sizeof(c));
		c.h = (struct cmsghdr){ .cmsg_len = CMSG_LEN(n * sizeof(int)),
					.cmsg_level = SOL_SOCKET, .cmsg_type = SCM_RIGHTS };
		memcpy(CMSG_DATA(&c.h), pass, n * sizeof(int));
		mh.msg_control = &c;
		mh.msg_controllen = CMSG_SPACE(n * sizeof(int));
	}
	if (sendmsg(peer, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
		perror("fuzz-helper: sendmsg");
		abort();
	}
}

/* Read the replies, closing any fd they carry. */
static void drain(void)
{
	for (;;) {
		struct vfc_helper_reply rep;
		union { struct cmsghdr h; char buf[CMSG_SPACE(4 * sizeof(int))]; } c;
		struct iovec iov = { .iov_base = &rep, .iov_len = sizeof(rep) };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &c,
				     .msg_controllen = sizeof(c) };

		if (recvmsg(peer, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) < 0)
			return;
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
			if (cm->cmsg_type == SCM_RIGHTS)
				for (size_t i = 0; i < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++)
					close(((int *)CMSG_DATA(cm))[i]);
	}
}

/* The last message's control data, global so that the longjmp of an exit
 * can close the fds it carried, which the exiting helper would drop. */
static union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } c;
static struct msghdr mh;

static void close_received(void)
{
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
			for (size_t i = 0; i < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++)
				close(((int *)CMSG_DATA(cm))[i]);
	mh.msg_controllen = 0;
}

/* One turn of the helper's loop (main() in helper/vfio-cuse-helper.c). */
static void serve_one(void)
{
	union vfc_helper_request m = { 0 };
	struct iovec iov = { .iov_base = &m, .iov_len = sizeof(m) };
	unsigned int n_fds = 0;
	int fd_in = -1, r;
	ssize_t len;

	mh = (struct msghdr){ .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &c,
			      .msg_controllen = sizeof(c) };
	len = recvmsg(SOCK, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	if (len < 0)
		mh.msg_controllen = 0;
	if (len < 0)
		fuzz_exit(VFC_HELPER_EXIT_IO);
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
		    cm->cmsg_len != CMSG_LEN(sizeof(int)) || n_fds++)
			die(VFC_HELPER_EXIT_VIOLATION, "protocol violation: control data", m.hdr.op);
		memcpy(&fd_in, CMSG_DATA(cm), sizeof(fd_in));
	}
	if (len == 0 && !n_fds && !(mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)))
		fuzz_exit(VFC_HELPER_EXIT_OK);	/* a zero-length message: the helper takes it for EOF */
	check(&m, len, mh.msg_flags, n_fds);
	mh.msg_controllen = 0;	/* fd_in is closed below */
	r = serve(&m, fd_in);
	if (fd_in >= 0)
		close(fd_in);
	reply(r < 0 ? r : 0, r);
	if (r >= 0) {
		close(r);
		reply(0, -1);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	struct fz_in in = { data, n };
	volatile unsigned int msgs = 0;

	drain();
	if (setjmp(fuzz_exit_jmp)) {
		/* The helper would have exited: drop what is left in the socket
		 * (a received fd of a cut-off message is lost, as in the helper's
		 * exit) and accept only a violation or a clean end. */
		close_received();
		drain();
		while (recv(fuzz_sock, (char[256]){ 0 }, 256, MSG_DONTWAIT) >= 0)
			;
		if (fuzz_exit_status != VFC_HELPER_EXIT_VIOLATION &&
		    fuzz_exit_status != VFC_HELPER_EXIT_OK) {
			fprintf(stderr, "fuzz-helper: helper exit status %d\n", fuzz_exit_status);
			abort();
		}
		return 0;
	}
	while (in.n && msgs < 16) {
		uint8_t buf[128], b = fz_u8(&in);
		size_t len = fz_u8(&in) % (sizeof(buf) + 1);
		uint32_t op = b % VFC_HELPER_N_OPS;
		unsigned int fds = (b >> 4) & 3;

		fz_bytes(&in, buf, len);
		if (b & 0x80 && op) {	/* a real op's header, size and fd count */
			len = vfc_helper_ops[op].size;
			memcpy(buf, (uint32_t[2]){ op, 0 }, 8);
			fds = vfc_helper_ops[op].n_fds ? 1 + (b >> 6 & 1) : 0;
		}
		send_request(buf, len, fds);
		msgs++;
		serve_one();
		drain();
	}
	return 0;
}
