/* SPDX-License-Identifier: MIT */
/*
 * bench-cuse-floor NAME: the floor for CUSE ioctls, a CUSE device that does
 * nothing but the protocol. Every ioctl asks once for 8 bytes at its
 * argument (one fuse_reply_ioctl_retry) and then answers 0: two round
 * trips, as a VFIO ioctl with data costs vfio-cused. Single-threaded, no
 * /proc reads, no locks. Serves /dev/NAME until killed. Run as root where
 * /dev/cuse exists (the test VM).
 */
#define FUSE_USE_VERSION 314
#include <cuse_lowlevel.h>
#include <fuse_lowlevel.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>

static void op_open(fuse_req_t req, struct fuse_file_info *fi)
{
	fi->nonseekable = 1;
	fuse_reply_open(req, fi);
}

static void op_ioctl(fuse_req_t req, int cmd, void *arg, struct fuse_file_info *fi,
		     unsigned int flags, const void *in_buf, size_t in_bufsz, size_t out_bufsz)
{
	if (in_bufsz < 8) {
		struct iovec iov = { arg, 8 };

		fuse_reply_ioctl_retry(req, &iov, 1, NULL, 0);
		return;
	}
	fuse_reply_ioctl(req, 0, NULL, 0);
}

static const struct cuse_lowlevel_ops ops = {
	.open = op_open,
	.ioctl = op_ioctl,
};

int main(int argc, char **argv)
{
	char devname[128];
	const char *dev_info_argv[] = { devname };
	struct cuse_info ci = { .dev_info_argc = 1, .dev_info_argv = dev_info_argv,
				.flags = CUSE_UNRESTRICTED_IOCTL };
	char *fargv[] = { argv[0], (char *)"-f", (char *)"-s", NULL };

	if (argc != 2) {
		fprintf(stderr, "usage: bench-cuse-floor NAME\n");
		return 2;
	}
	snprintf(devname, sizeof(devname), "DEVNAME=%s", argv[1]);
	return cuse_lowlevel_main(3, fargv, &ci, &ops, NULL);
}
