/* SPDX-License-Identifier: MIT */
/*
 * vfio-map-probe: maps DMA memory of a chosen kind through a VFIO
 * container, for the kernel backend's tests in the VM.
 *   vfio-map-probe DIR GROUP private   MAP_DMA of private anonymous memory:
 *                                      prints the result and exits
 *   vfio-map-probe DIR GROUP hold      MAP_DMA of 1 MiB of memfd memory,
 *                                      prints "mapped", then sleeps until
 *                                      killed (with its mappings live)
 *   vfio-map-probe DIR GROUP hold-private   the same with private memory
 *   vfio-map-probe DIR GROUP hugetlb   MAP_DMA of one 2 MiB huge page
 *   vfio-map-probe DIR GROUP readonly  private read-only memory: mapped
 *                                      READ, then READ|WRITE (the kernel
 *                                      refuses to pin it writable)
 *   vfio-map-probe DIR GROUP iova      the kernel's checks before it pins
 *                                      (the MSI window, the aperture,
 *                                      alignment, wrap), with good and with
 *                                      unmapped memory, then memory that
 *                                      cannot be pinned, then a good map:
 *                                      one line "case: result ..."
 */

#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/vfio.h>

#define SIZE (1u << 20)

int main(int argc, char **argv)
{
	char path[256];
	int c, g;
	void *mem;

	if (argc != 4)
		return 2;
	snprintf(path, sizeof(path), "%s/vfio", argv[1]);
	c = open(path, O_RDWR);
	snprintf(path, sizeof(path), "%s/%s", argv[1], argv[2]);
	g = open(path, O_RDWR);
	if (c < 0 || g < 0 || ioctl(g, VFIO_GROUP_SET_CONTAINER, &c) < 0 ||
	    ioctl(c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0) {
		printf("setup: %s\n", strerror(errno));
		return 1;
	}
	if (!strcmp(argv[3], "hugetlb")) {
		struct vfio_iommu_type1_dma_map hm = {
			.argsz = sizeof(hm), .iova = 0x200000, .size = 2u << 20,
			.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		};

		mem = mmap(NULL, 2u << 20, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
		if (mem == MAP_FAILED) {
			printf("hugetlb: %s\n", strerrorname_np(errno));
			return 1;
		}
		hm.vaddr = (uintptr_t)mem;
		printf("map: %s\n", ioctl(c, VFIO_IOMMU_MAP_DMA, &hm) ? strerrorname_np(errno) : "ok");
		return 0;
	}
	if (!strcmp(argv[3], "readonly")) {
		struct vfio_iommu_type1_dma_map rm = {
			.argsz = sizeof(rm), .iova = 0x100000, .size = SIZE,
			.flags = VFIO_DMA_MAP_FLAG_READ,
		};
		int r1, r2;

		mem = mmap(NULL, SIZE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (mem == MAP_FAILED)
			return 1;
		rm.vaddr = (uintptr_t)mem;
		r1 = ioctl(c, VFIO_IOMMU_MAP_DMA, &rm) ? errno : 0;
		rm.iova = 0x400000;
		rm.flags |= VFIO_DMA_MAP_FLAG_WRITE;
		r2 = ioctl(c, VFIO_IOMMU_MAP_DMA, &rm) ? errno : 0;
		printf("map_read: %s map_write: %s\n", r1 ? strerrorname_np(r1) : "ok",
		       r2 ? strerrorname_np(r2) : "ok");
		return 0;
	}
	if (!strcmp(argv[3], "iova")) {
		const uint32_t rw = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
		uint8_t *good = mmap(NULL, 0x2000, PROT_READ | PROT_WRITE,
				     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		uint8_t *hole = mmap(NULL, 0x1000, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (good == MAP_FAILED || hole == MAP_FAILED)
			return 1;
		munmap(hole, 0x1000);
		memset(good, 1, 0x2000);
		const struct {
			const char *name;
			uint8_t *vaddr;
			uint64_t iova, size;
		} cases[] = {
			{ "msi_window", good, 0xfee00000, 0x1000 },
			{ "unmapped_in_msi_window", hole, 0xfee00000, 0x1000 },
			{ "beyond_aperture", good, 1ull << 52, 0x1000 },
			{ "unmapped_beyond_aperture", hole, 1ull << 52, 0x1000 },
			{ "unaligned_iova", hole, 0x100800, 0x1000 },
			{ "size0", hole, 0x100000, 0 },
			{ "wrap", hole, 0xfffffffffffff000ull, 0x2000 },
			{ "unmapped", hole, 0x100000, 0x1000 },
			{ "good", good, 0x100000, 0x2000 },
			{ "overlap", hole, 0x101000, 0x1000 },
		};
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			struct vfio_iommu_type1_dma_map m = {
				.argsz = sizeof(m), .flags = rw, .vaddr = (uintptr_t)cases[i].vaddr,
				.iova = cases[i].iova, .size = cases[i].size,
			};

			printf("%s%s: %s", i ? " " : "", cases[i].name,
			       ioctl(c, VFIO_IOMMU_MAP_DMA, &m) ? strerrorname_np(errno) : "ok");
		}
		printf("\n");
		return 0;
	}
	if (!strcmp(argv[3], "private") || !strcmp(argv[3], "hold-private")) {
		mem = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	} else {
		int fd = memfd_create("dma", MFD_CLOEXEC);

		if (fd < 0 || ftruncate(fd, SIZE) < 0)
			return 1;
		mem = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	}
	if (mem == MAP_FAILED)
		return 1;
	memset(mem, 0x5a, SIZE);
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map), .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)mem, .iova = 0x100000, .size = SIZE,
	};
	if (ioctl(c, VFIO_IOMMU_MAP_DMA, &map) < 0) {
		printf("map: %s errno=%d\n", strerrorname_np(errno), errno);
		return strcmp(argv[3], "private") ? 1 : 0;
	}
	printf("map: ok\n");
	if (!strncmp(argv[3], "hold", 4)) {
		printf("mapped\n");
		fflush(stdout);
		for (;;)
			pause();
	}
	return 0;
}
