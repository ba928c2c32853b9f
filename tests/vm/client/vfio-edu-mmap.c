/* SPDX-License-Identifier: MIT */
/*
 * vfio-edu-mmap DIR GROUP BDF: maps BAR0 of an edu (QEMU's, through the
 * kernel backend) and reads the identification register and the liveness
 * register through the mapping, under vfio-cuse-run. Prints one line and
 * exits 0 when both answer as edu does.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct vfio_region_info bar0 = { .argsz = sizeof(bar0), .index = 0 };
	volatile uint32_t *regs;
	char path[256];
	uint32_t id, live;
	int c, g, d;

	if (argc != 4)
		return 2;
	snprintf(path, sizeof(path), "%s/vfio", argv[1]);
	c = open(path, O_RDWR | O_CLOEXEC);
	snprintf(path, sizeof(path), "%s/%s", argv[1], argv[2]);
	g = open(path, O_RDWR | O_CLOEXEC);
	if (c < 0 || g < 0 || ioctl(g, VFIO_GROUP_SET_CONTAINER, &c) < 0 ||
	    ioctl(c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0) {
		printf("setup: %s\n", strerror(errno));
		return 1;
	}
	d = ioctl(g, VFIO_GROUP_GET_DEVICE_FD, argv[3]);
	if (d < 0 || ioctl(d, VFIO_DEVICE_GET_REGION_INFO, &bar0) < 0) {
		printf("device: %s\n", strerror(errno));
		return 1;
	}
	regs = mmap(NULL, bar0.size, PROT_READ | PROT_WRITE, MAP_SHARED, d, (off_t)bar0.offset);
	if (regs == MAP_FAILED) {
		printf("BAR0 flags 0x%x: mmap: %s\n", bar0.flags, strerrorname_np(errno));
		return 1;
	}
	/* Memory decode is on at open (vfio_pci_core_enable). */
	id = regs[0];
	regs[1] = 0x12345678;
	live = regs[1];
	printf("BAR0 flags 0x%x mapped: id 0x%08x, liveness 0x%08x\n", bar0.flags, id, live);
	return id == 0x010000ed && live == (uint32_t)~0x12345678u && bar0.flags == 7 ? 0 : 1;
}
