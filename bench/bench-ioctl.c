/* SPDX-License-Identifier: MIT */
/*
 * bench-ioctl: the cost of one VFIO ioctl through vfio-cused's CUSE nodes,
 * side by side with the kernel's own VFIO in the same machine and run.
 * Usage: bench-ioctl KERNEL_DIR KERNEL_GROUP OUR_DIR OUR_GROUP [N]
 * e.g. bench-ioctl /dev/vfio 1 /dev/vfio-cuse 27 (run in the test VM).
 *
 * GET_API_VERSION carries no data (one FUSE round trip for us);
 * GROUP_GET_STATUS reads and writes 8 bytes (one retry round for us).
 * Prints microseconds per call and our/kernel ratios.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <linux/vfio.h>

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

struct side {
	const char *name;
	double api_us, status_us;
};

static int measure(const char *dir, const char *group, int n, struct side *s)
{
	char path[256];
	struct vfio_group_status st = { .argsz = sizeof(st) };
	int c, g;
	double t;

	snprintf(path, sizeof(path), "%s/vfio", dir);
	c = open(path, O_RDWR | O_CLOEXEC);
	snprintf(path, sizeof(path), "%s/%s", dir, group);
	g = open(path, O_RDWR | O_CLOEXEC);
	if (c < 0 || g < 0) {
		perror(path);
		return -1;
	}
	for (int i = 0; i < n / 10; i++)	/* warm up */
		ioctl(c, VFIO_GET_API_VERSION);
	t = now_us();
	for (int i = 0; i < n; i++)
		if (ioctl(c, VFIO_GET_API_VERSION) != VFIO_API_VERSION)
			return -1;
	s->api_us = (now_us() - t) / n;
	t = now_us();
	for (int i = 0; i < n; i++)
		if (ioctl(g, VFIO_GROUP_GET_STATUS, &st) != 0)
			return -1;
	s->status_us = (now_us() - t) / n;
	close(g);
	close(c);
	return 0;
}

int main(int argc, char **argv)
{
	struct side k = { "kernel" }, o = { "vfio-cused" };
	int n = argc > 5 ? atoi(argv[5]) : 2000;

	if (argc < 5) {
		fprintf(stderr, "usage: bench-ioctl KERNEL_DIR KERNEL_GROUP OUR_DIR OUR_GROUP [N]\n");
		return 2;
	}
	if (measure(argv[1], argv[2], n, &k) < 0 || measure(argv[3], argv[4], n, &o) < 0)
		return 1;
	printf("bench-ioctl: %d calls each, same machine, same run\n", n);
	printf("  %-28s %10s %12s %8s\n", "ioctl", "kernel us", "vfio-cused us", "ratio");
	printf("  %-28s %10.2f %12.2f %7.1fx\n", "GET_API_VERSION (no data)", k.api_us, o.api_us,
	       o.api_us / k.api_us);
	printf("  %-28s %10.2f %12.2f %7.1fx\n", "GROUP_GET_STATUS (1 retry)", k.status_us,
	       o.status_us, o.status_us / k.status_us);
	return 0;
}
