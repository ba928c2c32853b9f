/* SPDX-License-Identifier: MIT */
/*
 * vfio-e2e-client: an unmodified-style VFIO client for QEMU's edu device.
 *
 *   vfio-e2e-client --group N --device BDF [--vfio-dir /dev/vfio]
 *                   [--close-order cgd|cdg|gcd|gdc|dcg|dgc] [--probe-abi] [--no-mmap]
 *                   [--private-dma]
 *
 * This file owns the flow: options, the container/group/IOMMU set-up (steps
 * 1-3), the device and its region/irq infos (step 4), the teardown (step 12)
 * and the close-order check (step 13).  Device I/O and interrupts are in
 * e2e-device.c, the ABI probes in e2e-probe.c.
 *
 * Exit status: 0 if every functional check passed, 1 otherwise, 2 on bad
 * usage.  Each failed check prints "FAIL: ..." and the run continues where
 * it can.
 */
#include "e2e.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static const struct {
	unsigned long ext;
	const char *name;
} extensions[] = {
	{ VFIO_TYPE1_IOMMU, "TYPE1" },
	{ VFIO_TYPE1v2_IOMMU, "TYPE1v2" },
	{ VFIO_NOIOMMU_IOMMU, "NOIOMMU" },
	{ VFIO_UNMAP_ALL, "UNMAP_ALL" },
	{ VFIO_UPDATE_VADDR, "UPDATE_VADDR" },
	{ VFIO_DMA_CC_IOMMU, "DMA_CC" },
	{ VFIO_TYPE1_NESTING_IOMMU, "NESTING" },
};

static void print_extensions(struct e2e *t, const char *step)
{
	for (size_t i = 0; i < E2E_ELEMENTSOF(extensions); i++) {
		int r = e2e_ioctl_val(t->container, VFIO_CHECK_EXTENSION, extensions[i].ext);

		e2e_out(step, "ext=%s(%lu) %s", extensions[i].name, extensions[i].ext, RC(r));
		if (extensions[i].ext == VFIO_TYPE1v2_IOMMU && r != 1)
			e2e_fail(t, "CHECK_EXTENSION(TYPE1v2) returned %d, expected 1", r);
	}
}

static int group_status(struct e2e *t, int fd, const char *step, uint32_t *ret_flags)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };
	int r = e2e_ioctl(fd, VFIO_GROUP_GET_STATUS, &st);

	e2e_out(step, "%s flags=0x%x", RC(r), r < 0 ? 0 : st.flags);
	if (r >= 0 && ret_flags)
		*ret_flags = st.flags;
	return r;
}

static int open_group(struct e2e *t, const char *step)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%d", t->vfio_dir, t->group_nr);
	fd = open(path, O_RDWR | O_CLOEXEC);
	e2e_out(step, "%s", RCFD(fd < 0 ? -errno : fd));
	return fd < 0 ? -errno : fd;
}

/* Step 1: container, extensions, group, SET_CONTAINER, SET_IOMMU. */
static int step1_container(struct e2e *t)
{
	char path[PATH_MAX];
	uint32_t flags = 0;
	int r;

	snprintf(path, sizeof(path), "%s/vfio", t->vfio_dir);
	t->container = open(path, O_RDWR | O_CLOEXEC);
	r = t->container < 0 ? -errno : t->container;
	e2e_out("container.open", "%s", RCFD(r));
	if (r < 0) {
		e2e_fail(t, "cannot open the container");
		return r;
	}
	r = e2e_ioctl_val(t->container, VFIO_GET_API_VERSION, 0);
	e2e_out("container.get_api_version", "%s", RC(r));
	if (r != VFIO_API_VERSION)
		e2e_fail(t, "GET_API_VERSION returned %d, expected %d", r, VFIO_API_VERSION);
	print_extensions(t, "container.check_extension");

	r = open_group(t, "group.open");
	if (r < 0) {
		e2e_fail(t, "cannot open group %d", t->group_nr);
		return r;
	}
	t->group = r;
	r = group_status(t, t->group, "group.get_status", &flags);
	e2e_expect_ok(t, "GROUP_GET_STATUS", r);
	if (r >= 0 && !(flags & VFIO_GROUP_FLAGS_VIABLE))
		e2e_fail(t, "group %d is not viable", t->group_nr);

	if (t->probe_abi)
		e2e_probe_before_container(t);

	r = e2e_ioctl(t->group, VFIO_GROUP_SET_CONTAINER, &t->container);
	e2e_out("group.set_container", "%s", RC(r));
	if (r < 0) {
		e2e_fail(t, "GROUP_SET_CONTAINER: %s", RC(r));
		return r;
	}
	r = group_status(t, t->group, "group.get_status", &flags);
	if (r >= 0 && flags != (VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET))
		e2e_fail(t, "group flags 0x%x after SET_CONTAINER, expected 0x3", flags);

	if (t->probe_abi)
		e2e_probe_before_iommu(t);

	r = e2e_ioctl_val(t->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU);
	e2e_out("container.set_iommu", "type=TYPE1v2 %s", RC(r));
	if (r < 0) {
		e2e_fail(t, "SET_IOMMU(TYPE1v2): %s", RC(r));
		return r;
	}
	r = e2e_ioctl_val(t->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU);
	e2e_out("container.set_iommu_again", "type=TYPE1v2 %s", RC(r));
	e2e_expect_errno(t, "second SET_IOMMU", r, EINVAL);
	print_extensions(t, "container.check_extension_after_set_iommu");
	return 0;
}

/* Step 2: IOMMU_GET_INFO with the bare struct, then grown to walk the caps. */
static void step2_iommu_info(struct e2e *t)
{
	struct vfio_iommu_type1_info info = { .argsz = sizeof(info) };
	struct vfio_iommu_type1_info *full;
	uint32_t need;
	int r;

	r = e2e_ioctl(t->container, VFIO_IOMMU_GET_INFO, &info);
	e2e_out("iommu.get_info",
		"argsz_in=%zu %s flags=0x%x argsz=%u cap_offset=%u iova_pgsizes=0x%llx",
		sizeof(info), RC(r), info.flags, info.argsz, info.cap_offset,
		(unsigned long long)info.iova_pgsizes);
	if (r < 0) {
		e2e_fail(t, "IOMMU_GET_INFO: %s", RC(r));
		return;
	}
	if (!(info.flags & VFIO_IOMMU_INFO_PGSIZES) || !(info.iova_pgsizes & 0x1000))
		e2e_fail(t, "IOMMU_GET_INFO: no 4 KiB page size");
	if (!(info.flags & VFIO_IOMMU_INFO_CAPS) || info.argsz <= sizeof(info)) {
		e2e_fail(t, "IOMMU_GET_INFO: no capability chain");
		return;
	}
	need = info.argsz;
	if (need > 65536) {
		e2e_fail(t, "IOMMU_GET_INFO: argsz %u is absurd", need);
		return;
	}
	full = calloc(1, need);
	if (!full) {
		e2e_fail(t, "out of memory");
		return;
	}
	full->argsz = need;
	r = e2e_ioctl(t->container, VFIO_IOMMU_GET_INFO, full);
	e2e_out("iommu.get_info", "argsz_in=%u %s flags=0x%x argsz=%u cap_offset=%u iova_pgsizes=0x%llx",
		need, RC(r), full->flags, full->argsz, full->cap_offset,
		(unsigned long long)full->iova_pgsizes);
	if (r < 0)
		e2e_fail(t, "IOMMU_GET_INFO (grown): %s", RC(r));
	else if (!full->cap_offset)
		e2e_fail(t, "IOMMU_GET_INFO (grown): cap_offset is 0");
	else
		e2e_print_iommu_caps(t, full, need, full->cap_offset);
	free(full);
}

/* Step 3: the 1 MiB buffer (a memfd, or private anonymous memory with
 * --private-dma), its mapping, and the MAP/UNMAP semantics. */
static void step3_dma_map(struct e2e *t)
{
	uint64_t va, got = 0;
	void *hole;
	int memfd = -1, r;

	if (t->private_dma) {
		t->buf = mmap(NULL, E2E_DMA_SIZE, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	} else {
		memfd = memfd_create("vfio-e2e-dma", MFD_CLOEXEC);
		if (memfd < 0 || ftruncate(memfd, (off_t)E2E_DMA_SIZE) < 0) {
			e2e_fail(t, "memfd: %s", e2e_errname(errno));
			return;
		}
		t->buf = mmap(NULL, E2E_DMA_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
		e2e_close(&memfd);
	}
	if (t->buf == MAP_FAILED) {
		t->buf = NULL;
		e2e_fail(t, "mmap of the memfd: %s", e2e_errname(errno));
		return;
	}
	memset(t->buf, 0, E2E_DMA_SIZE);
	va = (uint64_t)(uintptr_t)t->buf;
	const uint32_t rw = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;

	r = e2e_map(t, "dma.map", "buf", va, E2E_DMA_IOVA, E2E_DMA_SIZE, rw);
	e2e_expect_ok(t, "MAP_DMA 1 MiB", r);
	e2e_print_dma_avail(t, "dma.avail_after_map");

	r = e2e_map(t, "dma.map_same", "buf", va, E2E_DMA_IOVA, E2E_DMA_SIZE, rw);
	e2e_expect_errno(t, "MAP_DMA same range", r, EEXIST);
	r = e2e_map(t, "dma.map_overlap_tail", "buf", va, E2E_DMA_IOVA + 0x80000, E2E_DMA_SIZE, rw);
	e2e_expect_errno(t, "MAP_DMA overlapping tail", r, EEXIST);
	r = e2e_map(t, "dma.map_overlap_inside", "buf", va, E2E_DMA_IOVA + 0x1000, 0x1000, rw);
	e2e_expect_errno(t, "MAP_DMA inside a mapping", r, EEXIST);
	r = e2e_map(t, "dma.map_unaligned_iova", "buf", va, 0x400800, 0x1000, rw);
	e2e_expect_errno(t, "MAP_DMA unaligned iova", r, EINVAL);
	r = e2e_map(t, "dma.map_unaligned_vaddr", "buf+0x800", va + 0x800, 0x400000, 0x1000, rw);
	e2e_expect_errno(t, "MAP_DMA unaligned vaddr", r, EINVAL);
	r = e2e_map(t, "dma.map_unaligned_size", "buf", va, 0x400000, 0x800, rw);
	e2e_expect_errno(t, "MAP_DMA unaligned size", r, EINVAL);
	r = e2e_map(t, "dma.map_size0", "buf", va, 0x400000, 0, rw);
	e2e_expect_errno(t, "MAP_DMA size 0", r, EINVAL);
	r = e2e_map(t, "dma.map_noprot", "buf", va, 0x400000, 0x1000, 0);
	e2e_expect_errno(t, "MAP_DMA without READ|WRITE", r, EINVAL);
	/* Wrapping ranges: EINVAL on 6.1, EOVERFLOW on newer kernels. */
	r = e2e_map(t, "dma.map_wrap_iova", "buf", va, 0xfffffffffffff000ULL, 0x2000, rw);
	if (r >= 0)
		e2e_fail(t, "MAP_DMA with a wrapping iova succeeded");
	r = e2e_map(t, "dma.map_wrap_vaddr", "0xfffffffffffff000", 0xfffffffffffff000ULL, 0x400000,
		    0x2000, rw);
	if (r >= 0)
		e2e_fail(t, "MAP_DMA with a wrapping vaddr succeeded");
	/* Outside the IOVA ranges: the MSI window and past the address width. */
	r = e2e_map(t, "dma.map_msi_window", "buf", va, 0xfee00000ULL, 0x1000, rw);
	if (r >= 0)
		e2e_fail(t, "MAP_DMA in the MSI window succeeded");
	r = e2e_map(t, "dma.map_beyond_aperture", "buf", va, 1ULL << 52, 0x1000, rw);
	if (r >= 0)
		e2e_fail(t, "MAP_DMA beyond the aperture succeeded");
	/* A vaddr with nothing mapped behind it. */
	hole = mmap(NULL, 0x10000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (hole != MAP_FAILED) {
		munmap(hole, 0x10000);
		r = e2e_map(t, "dma.map_unmapped_vaddr", "hole", (uint64_t)(uintptr_t)hole,
			    0x400000, 0x1000, rw);
		/* The kernel pins at MAP_DMA and fails with EFAULT; vfio-cuse's
		 * emulated IOMMU pins nothing and faults at DMA time instead
		 * (docs/abi.md). The transcript shows which; neither fails. */
		if (r >= 0)
			e2e_unmap(t, "dma.unmap", 0x400000, 0x1000, 0, NULL);
	}

	/* Adjacent mappings are not merged: each unmaps on its own. */
	r = e2e_map(t, "dma.map_adjacent_a", "buf", va, 0x300000, 0x1000, rw);
	e2e_expect_ok(t, "MAP_DMA adjacent A", r);
	r = e2e_map(t, "dma.map_adjacent_b", "buf+0x1000", va + 0x1000, 0x301000, 0x1000, rw);
	e2e_expect_ok(t, "MAP_DMA adjacent B", r);
	r = e2e_unmap(t, "dma.unmap_adjacent_a", 0x300000, 0x1000, 0, &got);
	if (r < 0 || got != 0x1000)
		e2e_fail(t, "UNMAP of adjacent mapping A: %s size 0x%" PRIx64, RC(r), got);
	r = e2e_unmap(t, "dma.unmap_adjacent_b", 0x300000, 0x2000, 0, &got);
	if (r < 0 || got != 0x1000)
		e2e_fail(t, "UNMAP covering mapping B: %s size 0x%" PRIx64, RC(r), got);
	/* Type1v2 refuses to bisect a mapping. */
	r = e2e_map(t, "dma.map_8k", "buf", va, 0x300000, 0x2000, rw);
	e2e_expect_ok(t, "MAP_DMA 8 KiB", r);
	r = e2e_unmap(t, "dma.unmap_bisect_head", 0x300000, 0x1000, 0, NULL);
	e2e_expect_errno(t, "UNMAP bisecting the head", r, EINVAL);
	r = e2e_unmap(t, "dma.unmap_bisect_tail", 0x301000, 0x1000, 0, NULL);
	e2e_expect_errno(t, "UNMAP bisecting the tail", r, EINVAL);
	r = e2e_unmap(t, "dma.unmap_unaligned", 0x300800, 0x1000, 0, NULL);
	e2e_expect_errno(t, "UNMAP unaligned", r, EINVAL);
	r = e2e_unmap(t, "dma.unmap_wrap", 0xfffffffffffff000ULL, 0x2000, 0, NULL);
	if (r >= 0)
		e2e_fail(t, "UNMAP with a wrapping range succeeded");
	r = e2e_unmap(t, "dma.unmap_8k", 0x300000, 0x2000, 0, &got);
	if (r < 0 || got != 0x2000)
		e2e_fail(t, "UNMAP 8 KiB: %s size 0x%" PRIx64, RC(r), got);
	e2e_print_dma_avail(t, "dma.avail_after_probes");
}

static const char *region_name(unsigned i)
{
	static const char *const names[] = { "BAR0", "BAR1", "BAR2", "BAR3", "BAR4",
					     "BAR5", "ROM",  "CONFIG", "VGA" };

	return i < E2E_ELEMENTSOF(names) ? names[i] : "NONE";
}

static const char *irq_name(unsigned i)
{
	static const char *const names[] = { "INTX", "MSI", "MSIX", "ERR", "REQ" };

	return i < E2E_ELEMENTSOF(names) ? names[i] : "NONE";
}

/* Caps may be only 4-byte aligned: copy every field out with memcpy. */
static void print_region_caps(struct e2e *t, unsigned index, const uint8_t *buf, size_t size,
			      uint32_t off)
{
	unsigned n = 0;

	while (off) {
		struct vfio_info_cap_header h;

		if (off < sizeof(struct vfio_region_info) || off > size || size - off < sizeof(h) ||
		    ++n > 32) {
			e2e_fail(t, "region %u cap chain: bad offset %u", index, off);
			return;
		}
		memcpy(&h, buf + off, sizeof(h));
		if (h.id == VFIO_REGION_INFO_CAP_SPARSE_MMAP &&
		    size - off >= sizeof(struct vfio_region_info_cap_sparse_mmap)) {
			struct vfio_region_info_cap_sparse_mmap c;

			memcpy(&c, buf + off, sizeof(c));
			e2e_out("region.cap", "index=%u off=%u id=SPARSE_MMAP(%u) version=%u next=%u nr_areas=%u",
				index, off, h.id, h.version, h.next, c.nr_areas);
			for (uint32_t i = 0; i < c.nr_areas &&
			     (size - off - sizeof(c)) / sizeof(struct vfio_region_sparse_mmap_area) > i; i++) {
				struct vfio_region_sparse_mmap_area a;

				memcpy(&a, buf + off + sizeof(c) + i * sizeof(a), sizeof(a));
				e2e_out("region.sparse_area", "index=%u area=%u offset=0x%llx size=0x%llx",
					index, i, (unsigned long long)a.offset, (unsigned long long)a.size);
			}
		} else if (h.id == VFIO_REGION_INFO_CAP_TYPE &&
			   size - off >= sizeof(struct vfio_region_info_cap_type)) {
			struct vfio_region_info_cap_type c;

			memcpy(&c, buf + off, sizeof(c));
			e2e_out("region.cap", "index=%u off=%u id=TYPE(%u) version=%u next=%u type=0x%x subtype=0x%x",
				index, off, h.id, h.version, h.next, c.type, c.subtype);
		} else {
			e2e_out("region.cap", "index=%u off=%u id=%u version=%u next=%u", index, off, h.id,
				h.version, h.next);
		}
		off = h.next;
	}
}

static void region_info(struct e2e *t, unsigned index)
{
	struct vfio_region_info ri = { .argsz = sizeof(ri), .index = index };
	int r = e2e_ioctl(t->device, VFIO_DEVICE_GET_REGION_INFO, &ri);

	if (r < 0) {
		e2e_out("region.info", "index=%u(%s) %s", index, region_name(index), RC(r));
		if (index < VFIO_PCI_NUM_REGIONS && index != VFIO_PCI_VGA_REGION_INDEX)
			e2e_fail(t, "GET_REGION_INFO(%u): %s", index, RC(r));
		return;
	}
	e2e_out("region.info",
		"index=%u(%s) %s flags=0x%x mmap=%d caps=%d size=0x%llx offset=0x%llx argsz=%u cap_offset=%u",
		index, region_name(index), RC(r), ri.flags & ~VFIO_REGION_INFO_FLAG_MMAP,
		!!(ri.flags & VFIO_REGION_INFO_FLAG_MMAP), !!(ri.flags & VFIO_REGION_INFO_FLAG_CAPS),
		(unsigned long long)ri.size, (unsigned long long)ri.offset, ri.argsz, ri.cap_offset);
	if (index < VFIO_PCI_NUM_REGIONS) {
		t->region[index] = ri;
		t->have_region[index] = true;
	}
	if ((ri.flags & VFIO_REGION_INFO_FLAG_CAPS) && ri.argsz > sizeof(ri) && ri.argsz <= 65536) {
		uint32_t need = ri.argsz;
		struct vfio_region_info *full = calloc(1, need);

		if (!full) {
			e2e_fail(t, "out of memory");
			return;
		}
		full->argsz = need;
		full->index = index;
		r = e2e_ioctl(t->device, VFIO_DEVICE_GET_REGION_INFO, full);
		e2e_out("region.info_grown", "index=%u argsz_in=%u %s argsz=%u cap_offset=%u", index,
			need, RC(r), full->argsz, full->cap_offset);
		if (r >= 0)
			print_region_caps(t, index, (const uint8_t *)full, need, full->cap_offset);
		free(full);
	}
}

/* Step 4: device fds, device info, region and irq infos. */
static int step4_device(struct e2e *t)
{
	struct vfio_device_info di = { .argsz = sizeof(di) };
	int r, fd2;

	r = e2e_ioctl(t->group, VFIO_GROUP_GET_DEVICE_FD, (void *)t->bdf);
	e2e_out("device.get_fd", "name=BDF %s", RCFD(r));
	if (r < 0) {
		e2e_fail(t, "GET_DEVICE_FD(%s): %s", t->bdf, RC(r));
		return r;
	}
	t->device = r;

	fd2 = e2e_ioctl(t->group, VFIO_GROUP_GET_DEVICE_FD, (void *)t->bdf);
	e2e_out("device.get_fd_again", "name=BDF %s", RCFD(fd2));
	if (fd2 >= 0) {
		struct vfio_device_info d2 = { .argsz = sizeof(d2) };

		r = e2e_ioctl(fd2, VFIO_DEVICE_GET_INFO, &d2);
		e2e_out("device.second_fd_info", "%s num_regions=%u num_irqs=%u", RC(r),
			d2.num_regions, d2.num_irqs);
		r = e2e_close(&fd2);
		e2e_out("device.second_fd_close", "%s", RC(r));
	}
	r = e2e_ioctl(t->group, VFIO_GROUP_GET_DEVICE_FD, (void *)"nope");
	e2e_out("device.get_fd", "name=nope %s", RCFD(r));
	if (r >= 0) {
		fd2 = r;
		e2e_close(&fd2);
	}
	e2e_expect_errno(t, "GET_DEVICE_FD(nope)", r, ENODEV);

	r = e2e_ioctl(t->device, VFIO_DEVICE_GET_INFO, &di);
	e2e_out("device.info", "argsz_in=%zu %s flags=0x%x num_regions=%u num_irqs=%u argsz=%u cap_offset=%u",
		sizeof(di), RC(r), di.flags, di.num_regions, di.num_irqs, di.argsz, di.cap_offset);
	if (r < 0 || !(di.flags & VFIO_DEVICE_FLAGS_PCI) || di.num_regions < VFIO_PCI_NUM_REGIONS ||
	    di.num_irqs < VFIO_PCI_NUM_IRQS)
		e2e_fail(t, "DEVICE_GET_INFO: %s flags 0x%x regions %u irqs %u", RC(r), di.flags,
			 di.num_regions, di.num_irqs);

	for (unsigned i = 0; i < 10; i++)
		region_info(t, i);
	if (!t->have_region[VFIO_PCI_CONFIG_REGION_INDEX] || !t->have_region[VFIO_PCI_BAR0_REGION_INDEX])
		return -ENODEV;

	for (unsigned i = 0; i < 6; i++) {
		struct vfio_irq_info ii = { .argsz = sizeof(ii), .index = i };

		r = e2e_ioctl(t->device, VFIO_DEVICE_GET_IRQ_INFO, &ii);
		if (r < 0)
			e2e_out("irq.info", "index=%u(%s) %s", i, irq_name(i), RC(r));
		else
			e2e_out("irq.info", "index=%u(%s) %s flags=0x%x count=%u argsz=%u", i,
				irq_name(i), RC(r), ii.flags, ii.count, ii.argsz);
		if (i == VFIO_PCI_INTX_IRQ_INDEX &&
		    (r < 0 || ii.count != 1 ||
		     ii.flags != (VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_MASKABLE | VFIO_IRQ_INFO_AUTOMASKED)))
			e2e_fail(t, "INTx irq info: %s flags 0x%x count %u", RC(r), ii.flags, ii.count);
		if (i == VFIO_PCI_MSI_IRQ_INDEX && (r < 0 || ii.count != 1))
			e2e_fail(t, "MSI irq info: %s count %u", RC(r), ii.count);
	}
	return 0;
}

/* Step 12: reset, unmaps, UNMAP_ALL. */
static void step12_teardown(struct e2e *t)
{
	uint64_t got = 0;
	int r;

	if (t->device >= 0) {
		r = e2e_ioctl_val(t->device, VFIO_DEVICE_RESET, 0);
		e2e_out("device.reset", "%s", RC(r));
	}
	if (t->buf) {
		r = e2e_unmap(t, "dma.unmap", E2E_DMA_IOVA, E2E_DMA_SIZE, 0, &got);
		if (r < 0 || got != E2E_DMA_SIZE)
			e2e_fail(t, "UNMAP of the 1 MiB mapping: %s size 0x%" PRIx64, RC(r), got);
		got = UINT64_MAX;
		r = e2e_unmap(t, "dma.unmap_nothing", E2E_DMA_IOVA, E2E_DMA_SIZE, 0, &got);
		if (r < 0 || got != 0)
			e2e_fail(t, "UNMAP of nothing: %s size 0x%" PRIx64, RC(r), got);

		uint64_t va = (uint64_t)(uintptr_t)t->buf;
		const uint32_t rw = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;

		r = e2e_map(t, "dma.map_for_unmap_all", "buf", va, 0x400000, 0x1000, rw);
		e2e_expect_ok(t, "MAP_DMA before UNMAP_ALL", r);
		r = e2e_map(t, "dma.map_for_unmap_all", "buf+0x2000", va + 0x2000, 0x500000, 0x2000, rw);
		e2e_expect_ok(t, "MAP_DMA before UNMAP_ALL", r);
		r = e2e_unmap(t, "dma.unmap_all_bad", 0x400000, 0, VFIO_DMA_UNMAP_FLAG_ALL, NULL);
		e2e_expect_errno(t, "UNMAP_ALL with iova != 0", r, EINVAL);
		r = e2e_unmap(t, "dma.unmap_all", 0, 0, VFIO_DMA_UNMAP_FLAG_ALL, &got);
		if (r < 0 || got != 0x3000)
			e2e_fail(t, "UNMAP_ALL: %s size 0x%" PRIx64 ", expected 0x3000", RC(r), got);
		r = e2e_unmap(t, "dma.unmap_all_empty", 0, 0, VFIO_DMA_UNMAP_FLAG_ALL, &got);
		if (r < 0 || got != 0)
			e2e_fail(t, "UNMAP_ALL of nothing: %s size 0x%" PRIx64, RC(r), got);
		e2e_print_dma_avail(t, "dma.avail_after_unmap");
		munmap(t->buf, E2E_DMA_SIZE);
		t->buf = NULL;
	}
}

static int *close_fd_for(struct e2e *t, char c, const char **ret_name)
{
	switch (c) {
	case 'c': *ret_name = "container"; return &t->container;
	case 'g': *ret_name = "group"; return &t->group;
	default: *ret_name = "device"; return &t->device;
	}
}

/* Step 13: close in the requested order; the survivors keep working. */
static void step13_close(struct e2e *t)
{
	for (unsigned i = 0; i < 3; i++) {
		const char *name;
		int *fd = close_fd_for(t, t->close_order[i], &name);
		int r = e2e_close(fd);

		e2e_out("close", "fd=%s %s", name, RC(r));
		if (r < 0)
			e2e_fail(t, "close(%s): %s", name, RC(r));
		if (i == 2)
			break;
		if (t->device >= 0) {
			struct vfio_device_info di = { .argsz = sizeof(di) };
			uint64_t id = 0;

			r = e2e_ioctl(t->device, VFIO_DEVICE_GET_INFO, &di);
			e2e_out("close.device_alive", "after=%s %s num_regions=%u", name, RC(r),
				di.num_regions);
			if (r < 0)
				e2e_fail(t, "device fd stopped answering after closing the %s", name);
			r = e2e_bar_read(t, EDU_ID, 4, &id);
			e2e_out("close.device_bar0_ident", "after=%s %s val=0x%08" PRIx64, name, RC(r),
				r == 4 ? id : 0);
			if (r != 4 || id != EDU_IDENT)
				e2e_fail(t, "BAR0 read after closing the %s: %s", name, RC(r));
		}
		if (t->group >= 0)
			group_status(t, t->group, "close.group_status", NULL);
		if (t->group < 0 && t->device >= 0) {
			/* The device still holds the group open (EBUSY on 6.1). */
			int g = open_group(t, "close.group_reopen_while_device_open");

			if (g >= 0)
				e2e_close(&g);
		}
	}

	int g = open_group(t, "close.group_reopen");
	if (g < 0) {
		e2e_fail(t, "reopening group %d after closing everything: %s", t->group_nr, RC(g));
		return;
	}
	uint32_t flags = 0;
	int r = group_status(t, g, "close.group_reopen_status", &flags);
	if (r < 0 || flags != VFIO_GROUP_FLAGS_VIABLE)
		e2e_fail(t, "reopened group: %s flags 0x%x, expected 0x1", RC(r), flags);
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/vfio", t->vfio_dir);
	int c = open(path, O_RDWR | O_CLOEXEC);
	if (c >= 0) {
		r = e2e_ioctl(g, VFIO_GROUP_SET_CONTAINER, &c);
		e2e_out("close.group_reopen_set_container", "%s", RC(r));
		e2e_expect_ok(t, "SET_CONTAINER on the reopened group", r);
		group_status(t, g, "close.group_reopen_status", NULL);
	}
	r = e2e_close(&g);
	e2e_out("close.group_reopen_close", "%s", RC(r));
	r = e2e_close(&c);
	e2e_out("close.container_reopen_close", "%s", RC(r));
}

/* --pause: wait for a line on @fifo; the client's state stays as it is. */
static void pause_on(const char *fifo)
{
	char buf[64];
	int fd;

	e2e_out("pause", "waiting");
	fflush(stdout);
	fd = open(fifo, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		e2e_out("pause", "open: %s", strerror(errno));
		return;
	}
	while (read(fd, buf, sizeof(buf)) < 0 && errno == EINTR)
		;
	close(fd);
	e2e_out("pause", "resumed");
}

static void usage(FILE *f)
{
	fputs("usage: vfio-e2e-client --group N --device BDF [--vfio-dir /dev/vfio]\n"
	      "                       [--close-order cgd|cdg|gcd|gdc|dcg|dgc] [--probe-abi] [--no-mmap]\n"
	      "                       [--private-dma] [--pause FIFO]\n"
	      "  --pause FIFO: once the container, its DMA mapping and the device are set\n"
	      "  up, print \"pause: waiting\" and wait until a line (or EOF) is read from\n"
	      "  FIFO, then go on (the VM test ctl inspects the live client meanwhile)\n",
	      f);
}

static bool valid_order(const char *s)
{
	static const char *const orders[] = { "cgd", "cdg", "gcd", "gdc", "dcg", "dgc" };

	for (size_t i = 0; i < E2E_ELEMENTSOF(orders); i++)
		if (!strcmp(s, orders[i]))
			return true;
	return false;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "group", required_argument, NULL, 'g' },
		{ "device", required_argument, NULL, 'd' },
		{ "vfio-dir", required_argument, NULL, 'v' },
		{ "close-order", required_argument, NULL, 'o' },
		{ "probe-abi", no_argument, NULL, 'p' },
		{ "no-mmap", no_argument, NULL, 'm' },
		{ "private-dma", no_argument, NULL, 'P' },
		{ "pause", required_argument, NULL, 'W' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct e2e t = {
		.vfio_dir = "/dev/vfio", .group_nr = -1, .close_order = "cgd",
		.container = -1, .group = -1, .device = -1,
	};
	const char *pause_fifo = NULL;
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'g':
			errno = 0;
			long n = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || n < 0 || n > INT_MAX) {
				fprintf(stderr, "vfio-e2e-client: bad --group '%s'\n", optarg);
				return 2;
			}
			t.group_nr = (int)n;
			break;
		case 'd': t.bdf = optarg; break;
		case 'v': t.vfio_dir = optarg; break;
		case 'o':
			if (!valid_order(optarg)) {
				fprintf(stderr, "vfio-e2e-client: bad --close-order '%s'\n", optarg);
				return 2;
			}
			t.close_order = optarg;
			break;
		case 'p': t.probe_abi = true; break;
		case 'm': t.no_mmap = true; break;
		case 'P': t.private_dma = true; break;
		case 'W': pause_fifo = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc || t.group_nr < 0 || !t.bdf) {
		usage(stderr);
		return 2;
	}

	/* The BDF is an input, not a result: it is printed as "BDF". */
	e2e_out("start", "probe_abi=%d mmap=%d close_order=%s", t.probe_abi, !t.no_mmap,
		t.close_order);
	if (step1_container(&t) < 0)
		goto out;
	step2_iommu_info(&t);
	step3_dma_map(&t);
	if (step4_device(&t) == 0) {
		if (pause_fifo)
			pause_on(pause_fifo);
		e2e_step5_config(&t);
		e2e_step6_bar0(&t);
		e2e_step7_dma(&t);
		e2e_step8_msi(&t);
		e2e_step9_intx(&t);
		e2e_step10_loopback(&t);
		if (t.probe_abi)
			e2e_step11_probes(&t);
	}
	step12_teardown(&t);
	if (t.device >= 0)
		step13_close(&t);
out:
	e2e_close(&t.device);
	e2e_close(&t.group);
	e2e_close(&t.container);
	if (t.failures)
		e2e_out("result", "FAIL failures=%u", t.failures);
	else
		e2e_out("result", "PASS");
	return t.failures ? 1 : 0;
}
