/* SPDX-License-Identifier: MIT */
/*
 * bench-kb: the kernel backend's costs against the kernel's own VFIO and
 * against the CUSE floor, in the test VM (tests/vm/guest-daemon.sh, test
 * "kbench", prints the ratios; docs/performance.md).
 *
 *   bench-kb vfio DIR GROUP BDF N   MAP_DMA+UNMAP_DMA pairs of 4 KiB of
 *                                   private memory, and 4-byte BAR0 reads
 *                                   through a mapping and through pread.
 *                                   DIR is the kernel's /dev/vfio, or
 *                                   vfio-cused's under vfio-cuse-run.
 *   bench-kb floor NODE N           pairs of two ioctls on a
 *                                   bench-cuse-floor node: the 4 round
 *                                   trips a MAP+UNMAP pair costs when each
 *                                   ioctl needs its data read once.
 * Prints "name value" lines: us per pair, ns per 4-byte read.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int floor_run(const char *node, int n)
{
	uint64_t arg = 0;
	int fd = open(node, O_RDWR | O_CLOEXEC);
	double t;

	if (fd < 0) {
		perror(node);
		return 1;
	}
	for (int i = 0; i < n / 10; i++)
		ioctl(fd, _IO(';', 113), &arg);
	t = now_ns();
	for (int i = 0; i < n; i++)
		if (ioctl(fd, _IO(';', 113), &arg) || ioctl(fd, _IO(';', 114), &arg))
			return 1;
	printf("floor_pair_us %.2f\n", (now_ns() - t) / n / 1e3);
	return 0;
}

static int vfio_run(const char *dir, const char *group, const char *bdf, int n)
{
	struct vfio_region_info bar0 = { .argsz = sizeof(bar0), .index = 0 };
	struct vfio_iommu_type1_dma_unmap unmap = { .argsz = sizeof(unmap), .iova = 0x100000,
						    .size = 4096 };
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map), .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.iova = 0x100000, .size = 4096,
	};
	volatile uint32_t *regs;
	char path[256];
	uint32_t v = 0;
	void *mem;
	int c, g, d, reads = n * 10;
	double t;

	snprintf(path, sizeof(path), "%s/vfio", dir);
	c = open(path, O_RDWR | O_CLOEXEC);
	snprintf(path, sizeof(path), "%s/%s", dir, group);
	g = open(path, O_RDWR | O_CLOEXEC);
	mem = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (c < 0 || g < 0 || mem == MAP_FAILED || ioctl(g, VFIO_GROUP_SET_CONTAINER, &c) ||
	    ioctl(c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)) {
		fprintf(stderr, "bench-kb: setup: %s\n", strerror(errno));
		return 1;
	}
	map.vaddr = (uintptr_t)mem;
	for (int i = 0; i < n / 10 + 1; i++)
		if (ioctl(c, VFIO_IOMMU_MAP_DMA, &map) || ioctl(c, VFIO_IOMMU_UNMAP_DMA, &unmap))
			return fprintf(stderr, "bench-kb: map: %s\n", strerror(errno)), 1;
	t = now_ns();
	for (int i = 0; i < n; i++) {
		ioctl(c, VFIO_IOMMU_MAP_DMA, &map);
		ioctl(c, VFIO_IOMMU_UNMAP_DMA, &unmap);
	}
	printf("map_unmap_pair_us %.2f\n", (now_ns() - t) / n / 1e3);

	d = ioctl(g, VFIO_GROUP_GET_DEVICE_FD, bdf);
	if (d < 0 || ioctl(d, VFIO_DEVICE_GET_REGION_INFO, &bar0)) {
		fprintf(stderr, "bench-kb: device: %s\n", strerror(errno));
		return 1;
	}
	regs = mmap(NULL, bar0.size, PROT_READ | PROT_WRITE, MAP_SHARED, d, (off_t)bar0.offset);
	if (regs == MAP_FAILED) {
		fprintf(stderr, "bench-kb: mmap: %s\n", strerror(errno));
		return 1;
	}
	t = now_ns();
	for (int i = 0; i < reads; i++)
		v |= regs[0];
	printf("bar_read_mmap_ns %.1f\n", (now_ns() - t) / reads);
	t = now_ns();
	for (int i = 0; i < n; i++)
		if (pread(d, &v, 4, (off_t)bar0.offset) != 4)
			return 1;
	printf("bar_read_pread_ns %.1f\n", (now_ns() - t) / n);
	return v == 0x010000ed ? 0 : 1;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 4 && !strcmp(argv[1], "floor"))
		return floor_run(argv[2], atoi(argv[3]));
	if (argc == 6 && !strcmp(argv[1], "vfio"))
		return vfio_run(argv[2], argv[3], argv[4], atoi(argv[5]));
	fprintf(stderr, "usage: see the head of bench-kb.c\n");
	return 2;
}
