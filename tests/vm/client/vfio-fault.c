/* SPDX-License-Identifier: MIT */
/*
 * vfio-fault: a VFIO client that prints what it sees, one line per call,
 * for the VM test "fault" (tests/vm/guest-daemon.sh): the daemon runs with
 * fault rules in its config, and the test checks that exactly the injected
 * errors show here, and that the daemon logged each injection.
 *   vfio-fault DIR GROUP BDF NONVIABLE-GROUP
 * Steps: five MAP_DMA (the 3rd fails by rule), two resets (the 1st fails),
 * an edu DMA from RAM whose read faults (by rule) then one that does not,
 * and a group the rules made non-viable. Needs only libc and
 * <linux/vfio.h>; run it under vfio-cuse-run for the device fd.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>

#define IOVA 0x100000ull
#define BUF 0x40000u

static const char *ename(int e)
{
	const char *s = strerrorname_np(e);

	return s ? s : "?";
}

static void result(const char *what, int rc)
{
	if (rc < 0)
		printf("%s: rc=-1 errno=%s\n", what, ename(errno));
	else
		printf("%s: rc=%d\n", what, rc);
}

static int d;
static uint64_t bar0;

static uint64_t rd(uint64_t off)
{
	uint64_t v = 0;

	if (pread(d, &v, 8, (off_t)(bar0 + off)) != 8)
		printf("bar0 read 0x%llx: %s\n", (unsigned long long)off, strerror(errno));
	return v;
}

static void wr(uint64_t off, uint64_t v)
{
	if (pwrite(d, &v, 8, (off_t)(bar0 + off)) != 8)
		printf("bar0 write 0x%llx: %s\n", (unsigned long long)off, strerror(errno));
}

/* One edu DMA; waits up to 5 s for it (polled, 1 ms apart). */
static void edu_dma(uint64_t src, uint64_t dst, uint64_t cmd)
{
	struct timespec ms = { 0, 1000000 };

	wr(0x80, src);
	wr(0x88, dst);
	wr(0x90, 4096);
	wr(0x98, cmd);
	for (int i = 0; i < 5000 && (rd(0x98) & 1); i++)
		nanosleep(&ms, NULL);
}

int main(int argc, char **argv)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };
	struct vfio_region_info ri = { .argsz = sizeof(ri) };
	char path[256], what[32];
	uint8_t *mem;
	uint16_t cmd;
	int c, g, c2, g2;
	bool zeros = true, same;

	if (argc != 5) {
		fprintf(stderr, "usage: vfio-fault DIR GROUP BDF NONVIABLE-GROUP\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/vfio", argv[1]);
	c = open(path, O_RDWR);
	snprintf(path, sizeof(path), "%s/%s", argv[1], argv[2]);
	g = open(path, O_RDWR);
	if (c < 0 || g < 0 || ioctl(g, VFIO_GROUP_SET_CONTAINER, &c) < 0 ||
	    ioctl(c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0) {
		printf("setup: %s\n", strerror(errno));
		return 1;
	}
	mem = mmap(NULL, 5 * 8192, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return 1;
	for (unsigned int i = 1; i <= 5; i++) {
		struct vfio_iommu_type1_dma_map m = {
			.argsz = sizeof(m),
			.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
			.vaddr = (uintptr_t)mem + (i - 1) * 8192ull,
			.iova = IOVA + (i - 1) * 0x10000ull,
			.size = 8192,
		};

		snprintf(what, sizeof(what), "map %u", i);
		result(what, ioctl(c, VFIO_IOMMU_MAP_DMA, &m));
	}

	d = ioctl(g, VFIO_GROUP_GET_DEVICE_FD, argv[3]);
	if (d < 0) {
		result("device", d);
		return 1;
	}
	result("reset 1", ioctl(d, VFIO_DEVICE_RESET));
	result("reset 2", ioctl(d, VFIO_DEVICE_RESET));

	/* edu: bus master on, then RAM -> buffer -> RAM's second page. */
	ri.index = VFIO_PCI_CONFIG_REGION_INDEX;
	if (ioctl(d, VFIO_DEVICE_GET_REGION_INFO, &ri) < 0 ||
	    pread(d, &cmd, 2, (off_t)(ri.offset + PCI_COMMAND)) != 2)
		return 1;
	cmd |= PCI_COMMAND_MASTER;
	if (pwrite(d, &cmd, 2, (off_t)(ri.offset + PCI_COMMAND)) != 2)
		return 1;
	ri.index = VFIO_PCI_BAR0_REGION_INDEX;
	if (ioctl(d, VFIO_DEVICE_GET_REGION_INFO, &ri) < 0)
		return 1;
	bar0 = ri.offset;
	for (unsigned int i = 0; i < 4096; i++)
		mem[i] = (uint8_t)(i * 7 + 1);
	/* The first read of RAM faults by rule: edu's buffer gets zeros. */
	edu_dma(IOVA, BUF, 0x1);
	memset(mem + 4096, 0xaa, 4096);
	edu_dma(BUF, IOVA + 4096, 0x1 | 0x2);
	for (unsigned int i = 0; i < 4096; i++)
		zeros &= mem[4096 + i] == 0;
	printf("dma 1: %s\n", zeros ? "zeros" : "data");
	edu_dma(IOVA, BUF, 0x1);
	edu_dma(BUF, IOVA + 4096, 0x1 | 0x2);
	same = !memcmp(mem, mem + 4096, 4096);
	printf("dma 2: %s\n", same ? "data" : "wrong");

	/* The group the rules made non-viable. */
	snprintf(path, sizeof(path), "%s/vfio", argv[1]);
	c2 = open(path, O_RDWR);
	snprintf(path, sizeof(path), "%s/%s", argv[1], argv[4]);
	g2 = open(path, O_RDWR);
	if (c2 < 0 || g2 < 0) {
		printf("nonviable: open: %s\n", strerror(errno));
		return 1;
	}
	result("nonviable status", ioctl(g2, VFIO_GROUP_GET_STATUS, &st));
	printf("nonviable flags: 0x%x\n", st.flags);
	result("nonviable set_container", ioctl(g2, VFIO_GROUP_SET_CONTAINER, &c2));
	printf("done\n");
	return 0;
}
