// SPDX-License-Identifier: MIT
/*
 * A load on vfio-cused's worker pool and its memory, for the VM test
 * "load" (issue 8, item 3): NPROC processes, each under its own uid (when
 * run as root), each with NTHREADS threads probing DEVICE_FEATURE on one
 * device fd for SECONDS (DEVICE_FEATURE is served by the workers, and
 * workers serve at most 8 requests of one uid at once, so several uids
 * are needed to grow the pool); then NCONTAINERS containers opened at once
 * and closed again. Prints what it did; the test measures the daemon.
 *
 * Usage: vfio-load DEVDIR GROUP BDF SECONDS NPROC NTHREADS NCONTAINERS
 * (under vfio-cuse-run, for the device fd).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int dev;
static double until;

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static void *prober(void *arg)
{
	struct vfio_device_feature f = {
		.argsz = sizeof(f),
		.flags = VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_SET |
			 VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY,
	};
	long n = 0;

	while (now() < until) {
		if (ioctl(dev, VFIO_DEVICE_FEATURE, &f) < 0 && errno != ENOTTY)
			return (void *)-1L;
		n++;
	}
	return (void *)n;
}

int main(int argc, char **argv)
{
	char path[256];
	int c, g, nproc, nthreads, ncont, failed = 0;
	struct rlimit rl;
	int *fds;

	if (argc != 8) {
		fprintf(stderr, "usage: vfio-load DEVDIR GROUP BDF SECONDS NPROC NTHREADS NCONTAINERS\n");
		return 2;
	}
	nproc = atoi(argv[5]);
	nthreads = atoi(argv[6]);
	ncont = atoi(argv[7]);
	snprintf(path, sizeof(path), "%s/vfio", argv[1]);
	c = open(path, O_RDWR | O_CLOEXEC);
	snprintf(path, sizeof(path), "%s/%s", argv[1], argv[2]);
	g = open(path, O_RDWR | O_CLOEXEC);
	if (c < 0 || g < 0 || ioctl(g, VFIO_GROUP_SET_CONTAINER, &c) < 0 ||
	    ioctl(c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0 ||
	    (dev = ioctl(g, VFIO_GROUP_GET_DEVICE_FD, argv[3])) < 0) {
		printf("FAIL: setup: %s\n", strerror(errno));
		return 1;
	}
	until = now() + atof(argv[4]);
	for (int p = 0; p < nproc; p++) {
		pid_t pid = fork();

		if (pid < 0) {
			printf("FAIL: fork: %s\n", strerror(errno));
			return 1;
		}
		if (pid == 0) {
			pthread_t t[64];
			long total = 0;
			int bad = 0;

			if (geteuid() == 0 && setuid(60000 + p) < 0)
				_exit(3);
			for (int i = 0; i < nthreads && i < 64; i++)
				pthread_create(&t[i], NULL, prober, NULL);
			for (int i = 0; i < nthreads && i < 64; i++) {
				void *r;

				pthread_join(t[i], &r);
				if ((long)r < 0)
					bad = 1;
				else
					total += (long)r;
			}
			printf("process %d (uid %d): %ld probes%s\n", p, (int)getuid(), total,
			       bad ? ", some failed" : "");
			fflush(stdout);
			_exit(bad);
		}
	}
	for (int p = 0; p < nproc; p++) {
		int st;

		if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
			failed = 1;
	}
	/* Containers: all open at once, then all closed. */
	rl.rlim_cur = rl.rlim_max = (rlim_t)ncont + 64;
	setrlimit(RLIMIT_NOFILE, &rl);
	fds = calloc((size_t)ncont, sizeof(*fds));
	snprintf(path, sizeof(path), "%s/vfio", argv[1]);
	for (int i = 0; fds && i < ncont; i++) {
		fds[i] = open(path, O_RDWR | O_CLOEXEC);
		if (fds[i] < 0) {
			printf("FAIL: container %d: %s\n", i, strerror(errno));
			failed = 1;
			ncont = i;
			break;
		}
	}
	for (int i = 0; fds && i < ncont; i++)
		close(fds[i]);
	printf("%d containers opened and closed\n", ncont);
	printf("%s\n", failed ? "FAIL" : "done");
	return failed;
}
