/* SPDX-License-Identifier: MIT */
/*
 * bench-cuse-floor NAME: the floor for CUSE ioctls, a CUSE device that does
 * nothing but the protocol. Single-threaded, no /proc reads, no locks.
 * Serves /dev/NAME until killed (SIGTERM or SIGINT), then prints on stdout
 * how many requests each kind of ioctl took, so that the round trips can
 * be checked. Run as root where /dev/cuse exists (the test VM).
 *
 * Two kinds of ioctl:
 *  - BENCH_FLOOR_IOCTL(n, s), magic 'F', number n (1 to 4), size s: answered
 *    in exactly n round trips. Round k < n asks (fuse_reply_ioctl_retry)
 *    for k times the 8 bytes at the argument in, so the next round can
 *    tell how far it got from in_bufsz alone, and for s bytes at the
 *    argument out; round n answers 0 with those s bytes (0xa5), so a read
 *    of s bytes costs what it costs. With n = 1 no data moves.
 *  - any other number: asks once for 8 bytes at its argument and then
 *    answers 0, two round trips, as a VFIO ioctl with data costs
 *    vfio-cused (bench-kb's floor).
 * The caller's argument must hold max(8, s) bytes.
 */
#define FUSE_USE_VERSION 314
#include <cuse_lowlevel.h>
#include <fuse_lowlevel.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>

#define BENCH_FLOOR_MAGIC 'F'
#define BENCH_FLOOR_MAX_RT 4
#define BENCH_FLOOR_MAX_OUT 4096

/* Requests seen and ioctls answered, per round-trip count (0: the others). */
static struct {
	unsigned long requests, ioctls;
} count[BENCH_FLOOR_MAX_RT + 1];

static unsigned char out_data[BENCH_FLOOR_MAX_OUT];

static void op_open(fuse_req_t req, struct fuse_file_info *fi)
{
	fi->nonseekable = 1;
	fuse_reply_open(req, fi);
}

static void floor_n(fuse_req_t req, void *arg, unsigned int n, size_t s, size_t in_bufsz,
		    size_t out_bufsz)
{
	struct iovec in[BENCH_FLOOR_MAX_RT], out = { arg, s };
	size_t done = in_bufsz / 8;	/* retries so far */

	count[n].requests++;
	if (done + 1 >= n) {
		count[n].ioctls++;
		fuse_reply_ioctl(req, 0, out_bufsz >= s && s ? out_data : NULL,
				 out_bufsz >= s ? s : 0);
		return;
	}
	for (size_t i = 0; i <= done; i++)
		in[i] = (struct iovec){ arg, 8 };
	fuse_reply_ioctl_retry(req, in, done + 1, s ? &out : NULL, s ? 1 : 0);
}

static void op_ioctl(fuse_req_t req, int cmd, void *arg, struct fuse_file_info *fi,
		     unsigned int flags, const void *in_buf, size_t in_bufsz, size_t out_bufsz)
{
	unsigned int c = (unsigned int)cmd, n = _IOC_NR(c);
	size_t s = _IOC_SIZE(c);

	if (_IOC_TYPE(c) == BENCH_FLOOR_MAGIC) {
		if (n < 1 || n > BENCH_FLOOR_MAX_RT || s > BENCH_FLOOR_MAX_OUT) {
			fuse_reply_err(req, EINVAL);
			return;
		}
		floor_n(req, arg, n, s, in_bufsz, out_bufsz);
		return;
	}
	count[0].requests++;
	if (in_bufsz < 8) {
		struct iovec iov = { arg, 8 };

		fuse_reply_ioctl_retry(req, &iov, 1, NULL, 0);
		return;
	}
	count[0].ioctls++;
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
	int r;

	if (argc != 2) {
		fprintf(stderr, "usage: bench-cuse-floor NAME\n");
		return 2;
	}
	memset(out_data, 0xa5, sizeof(out_data));
	snprintf(devname, sizeof(devname), "DEVNAME=%s", argv[1]);
	r = cuse_lowlevel_main(3, fargv, &ci, &ops, NULL);
	for (unsigned int n = 0; n <= BENCH_FLOOR_MAX_RT; n++)
		if (count[n].ioctls)
			printf("floor_count kind=%s%.0u ioctls=%lu requests=%lu per_ioctl=%.3f\n",
			       n ? "rt" : "plain", n, count[n].ioctls, count[n].requests,
			       (double)count[n].requests / count[n].ioctls);
	return r;
}
