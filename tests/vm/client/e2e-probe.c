/* SPDX-License-Identifier: MIT */
/*
 * vfio-e2e-client: ABI probes (--probe-abi).  Bad argsz, unknown flags and
 * ioctls, ioctls in the wrong state, what lseek/read/mmap do on a device fd,
 * and which struct fields each INFO ioctl writes.  Most results are printed,
 * not judged: errnos differ between kernel versions, and the transcript diff
 * is the judge.  Only behaviours every kernel shares are checked.
 */
#include "e2e.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define SENTINEL32 0xa5a5a5a5u

/* ---- before the group has a container ---- */

void e2e_probe_before_container(struct e2e *t)
{
	struct vfio_iommu_type1_info info = { .argsz = sizeof(info) };
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map), .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = 0x10000000, .iova = 0, .size = 0x1000,
	};
	int r, fd;

	r = e2e_ioctl_val(t->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU);
	e2e_out("probe.container_set_iommu_without_group", "%s", RC(r));
	if (r >= 0)
		e2e_fail(t, "SET_IOMMU without a group succeeded");
	r = e2e_ioctl(t->container, VFIO_IOMMU_GET_INFO, &info);
	e2e_out("probe.container_get_info_without_iommu", "%s", RC(r));
	r = e2e_ioctl(t->container, VFIO_IOMMU_MAP_DMA, &map);
	e2e_out("probe.container_map_without_iommu", "%s", RC(r));
	if (r >= 0)
		e2e_fail(t, "MAP_DMA without an IOMMU succeeded");
	r = e2e_ioctl_val(t->container, _IO(VFIO_TYPE, VFIO_BASE + 50), 0);
	e2e_out("probe.container_unknown_ioctl_without_iommu", "nr=150 %s", RC(r));

	r = e2e_ioctl(t->group, VFIO_GROUP_GET_DEVICE_FD, (void *)t->bdf);
	e2e_out("probe.group_get_device_fd_without_container", "%s", RCFD(r));
	if (r >= 0) {
		fd = r;
		e2e_close(&fd);
		e2e_fail(t, "GET_DEVICE_FD without a container succeeded");
	}
	r = e2e_ioctl_val(t->group, VFIO_GROUP_UNSET_CONTAINER, 0);
	e2e_out("probe.group_unset_container_without_container", "%s", RC(r));
	if (r >= 0)
		e2e_fail(t, "UNSET_CONTAINER without a container succeeded");

	fd = -1;
	r = e2e_ioctl(t->group, VFIO_GROUP_SET_CONTAINER, &fd);
	e2e_out("probe.group_set_container", "arg=-1 %s", RC(r));
	fd = e2e_eventfd();
	if (fd >= 0) {
		int closed = fd;

		r = e2e_ioctl(t->group, VFIO_GROUP_SET_CONTAINER, &fd);
		e2e_out("probe.group_set_container", "arg=eventfd %s", RC(r));
		if (r >= 0)
			e2e_fail(t, "SET_CONTAINER with an eventfd succeeded");
		e2e_close(&fd);
		r = e2e_ioctl(t->group, VFIO_GROUP_SET_CONTAINER, &closed);
		e2e_out("probe.group_set_container", "arg=closed_fd %s", RC(r));
	}
	r = e2e_ioctl(t->group, VFIO_GROUP_SET_CONTAINER, &t->group);
	e2e_out("probe.group_set_container", "arg=group_fd %s", RC(r));
	if (r >= 0)
		e2e_fail(t, "SET_CONTAINER with the group's own fd succeeded");
	r = e2e_ioctl(t->group, VFIO_GROUP_SET_CONTAINER, NULL);
	e2e_out("probe.group_set_container", "arg=NULL %s", RC(r));
}

/* ---- group attached, no IOMMU model yet ---- */

void e2e_probe_before_iommu(struct e2e *t)
{
	struct vfio_iommu_type1_info info = { .argsz = sizeof(info) };
	int r, fd;

	r = e2e_ioctl(t->group, VFIO_GROUP_GET_DEVICE_FD, (void *)t->bdf);
	e2e_out("probe.group_get_device_fd_without_iommu", "%s", RCFD(r));
	if (r >= 0) {
		fd = r;
		e2e_close(&fd);
		e2e_fail(t, "GET_DEVICE_FD without an IOMMU model succeeded");
	}
	r = e2e_ioctl(t->container, VFIO_IOMMU_GET_INFO, &info);
	e2e_out("probe.container_get_info_without_iommu", "%s", RC(r));
	r = e2e_ioctl_val(t->container, VFIO_SET_IOMMU, VFIO_NOIOMMU_IOMMU);
	e2e_out("probe.container_set_iommu", "type=NOIOMMU %s", RC(r));
	if (r >= 0)
		e2e_fail(t, "SET_IOMMU(NOIOMMU) on a normal group succeeded");
	r = e2e_ioctl_val(t->container, VFIO_SET_IOMMU, 99);
	e2e_out("probe.container_set_iommu", "type=99 %s", RC(r));
	if (r >= 0)
		e2e_fail(t, "SET_IOMMU(99) succeeded");
	for (unsigned long ext = 0; ext <= 11; ext += 11) {
		r = e2e_ioctl_val(t->container, VFIO_CHECK_EXTENSION, ext);
		e2e_out("probe.container_check_extension", "ext=%lu %s", ext, RC(r));
	}
}

/* ---- step 11 ---- */

static void argsz_probe(struct e2e *t, const char *name, int fd, unsigned long req, void *arg,
			uint32_t *argsz, uint32_t minsz)
{
	const uint32_t sizes[] = { 0, minsz - 1 };

	for (size_t i = 0; i < E2E_ELEMENTSOF(sizes); i++) {
		*argsz = sizes[i];
		int r = e2e_ioctl(fd, req, arg);

		e2e_out("probe.argsz", "ioctl=%s argsz=%u minsz=%u %s", name, sizes[i], minsz, RC(r));
		e2e_expect_errno(t, name, r, EINVAL);
	}
}

static void probe_argsz(struct e2e *t)
{
	struct vfio_group_status gs;
	struct vfio_device_info di;
	struct vfio_region_info ri;
	struct vfio_irq_info ii;
	struct vfio_iommu_type1_info info;
	struct vfio_iommu_type1_dma_map map;
	struct vfio_iommu_type1_dma_unmap unmap;
	int m1 = -1;
	union {
		struct vfio_irq_set s;
		uint8_t raw[sizeof(struct vfio_irq_set) + 4];
	} is;
	int r;

	memset(&gs, 0, sizeof(gs));
	argsz_probe(t, "GROUP_GET_STATUS", t->group, VFIO_GROUP_GET_STATUS, &gs, &gs.argsz,
		    e2e_offsetofend(struct vfio_group_status, flags));
	memset(&di, 0, sizeof(di));
	argsz_probe(t, "DEVICE_GET_INFO", t->device, VFIO_DEVICE_GET_INFO, &di, &di.argsz,
		    e2e_offsetofend(struct vfio_device_info, num_irqs));
	memset(&ri, 0, sizeof(ri));
	argsz_probe(t, "DEVICE_GET_REGION_INFO", t->device, VFIO_DEVICE_GET_REGION_INFO, &ri,
		    &ri.argsz, e2e_offsetofend(struct vfio_region_info, offset));
	memset(&ii, 0, sizeof(ii));
	argsz_probe(t, "DEVICE_GET_IRQ_INFO", t->device, VFIO_DEVICE_GET_IRQ_INFO, &ii, &ii.argsz,
		    e2e_offsetofend(struct vfio_irq_info, count));

	/* SET_IRQS: REQ with DATA_EVENTFD -1 is a valid no-op to start from. */
	memset(&is, 0, sizeof(is));
	is.s.flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	is.s.index = VFIO_PCI_REQ_IRQ_INDEX;
	is.s.count = 1;
	memcpy(is.s.data, &m1, sizeof(m1));
	is.s.argsz = sizeof(is);
	r = e2e_ioctl(t->device, VFIO_DEVICE_SET_IRQS, &is.s);
	e2e_out("probe.set_irqs_baseline", "index=REQ eventfd=-1 %s", RC(r));
	argsz_probe(t, "DEVICE_SET_IRQS", t->device, VFIO_DEVICE_SET_IRQS, &is.s, &is.s.argsz,
		    e2e_offsetofend(struct vfio_irq_set, count));
	is.s.argsz = sizeof(struct vfio_irq_set); /* no room for the eventfd */
	r = e2e_ioctl(t->device, VFIO_DEVICE_SET_IRQS, &is.s);
	e2e_out("probe.set_irqs_short_data", "index=REQ argsz=%u %s", is.s.argsz, RC(r));
	e2e_expect_errno(t, "SET_IRQS without room for data", r, EINVAL);

	memset(&info, 0, sizeof(info));
	argsz_probe(t, "IOMMU_GET_INFO", t->container, VFIO_IOMMU_GET_INFO, &info, &info.argsz,
		    e2e_offsetofend(struct vfio_iommu_type1_info, iova_pgsizes));

	/* MAP and UNMAP: arguments that would succeed with a valid argsz. */
	memset(&map, 0, sizeof(map));
	map.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
	map.vaddr = (uint64_t)(uintptr_t)t->buf;
	map.iova = 0x800000;
	map.size = 0x1000;
	argsz_probe(t, "IOMMU_MAP_DMA", t->container, VFIO_IOMMU_MAP_DMA, &map, &map.argsz,
		    e2e_offsetofend(struct vfio_iommu_type1_dma_map, size));
	memset(&unmap, 0, sizeof(unmap));
	unmap.iova = 0x800000;
	unmap.size = 0x1000;
	argsz_probe(t, "IOMMU_UNMAP_DMA", t->container, VFIO_IOMMU_UNMAP_DMA, &unmap, &unmap.argsz,
		    e2e_offsetofend(struct vfio_iommu_type1_dma_unmap, size));
	/* In case a broken implementation mapped it anyway. */
	unmap.argsz = sizeof(unmap);
	unmap.size = 0x1000;
	r = e2e_ioctl(t->container, VFIO_IOMMU_UNMAP_DMA, &unmap);
	e2e_out("probe.argsz_cleanup_unmap", "%s size_out=0x%llx", RC(r), (unsigned long long)unmap.size);
	if (r < 0 || unmap.size != 0)
		e2e_fail(t, "a MAP_DMA with a bad argsz left a mapping");
}

static void probe_flags(struct e2e *t)
{
	uint64_t va = (uint64_t)(uintptr_t)t->buf;
	int r;

	static const uint32_t bad_map_flags[] = { 1u << 3, 1u << 31 };
	for (size_t i = 0; i < E2E_ELEMENTSOF(bad_map_flags); i++) {
		r = e2e_map(t, "probe.map_flags", "buf", va, 0x800000, 0x1000,
			    VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE | bad_map_flags[i]);
		e2e_expect_errno(t, "MAP_DMA with an unknown flag", r, EINVAL);
		if (r >= 0)
			e2e_unmap(t, "probe.map_flags_cleanup", 0x800000, 0x1000, 0, NULL);
	}
	/* VADDR update of a mapping that does not exist. */
	e2e_map(t, "probe.map_flag_vaddr", "buf", va, 0x800000, 0x1000, VFIO_DMA_MAP_FLAG_VADDR);
	static const uint32_t bad_unmap_flags[] = { 1u << 3, 1u << 31 };
	for (size_t i = 0; i < E2E_ELEMENTSOF(bad_unmap_flags); i++) {
		r = e2e_unmap(t, "probe.unmap_flags", 0x800000, 0x1000, bad_unmap_flags[i], NULL);
		e2e_expect_errno(t, "UNMAP_DMA with an unknown flag", r, EINVAL);
	}
	r = e2e_unmap(t, "probe.unmap_flag_all_dirty", 0, 0,
		      VFIO_DMA_UNMAP_FLAG_ALL | VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP, NULL);
	if (r >= 0)
		e2e_fail(t, "UNMAP with ALL|GET_DIRTY_BITMAP succeeded");

	/* SET_IRQS: unknown flag bits, two data types, two actions, overflows. */
	static const struct {
		const char *what;
		uint32_t flags, index, start, count;
	} irqs[] = {
		{ "flag_bit6", VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER | (1u << 6),
		  VFIO_PCI_MSI_IRQ_INDEX, 0, 0 },
		{ "flag_bit31", VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER | (1u << 31),
		  VFIO_PCI_MSI_IRQ_INDEX, 0, 0 },
		{ "two_data_types", VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_ACTION_TRIGGER,
		  VFIO_PCI_MSI_IRQ_INDEX, 0, 0 },
		{ "two_actions", VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_MASK | VFIO_IRQ_SET_ACTION_UNMASK,
		  VFIO_PCI_INTX_IRQ_INDEX, 0, 1 },
		{ "no_data_type", VFIO_IRQ_SET_ACTION_TRIGGER, VFIO_PCI_MSI_IRQ_INDEX, 0, 0 },
		{ "start1_count_max", VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
		  VFIO_PCI_MSI_IRQ_INDEX, 1, UINT32_MAX },
		{ "start_max_count1", VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
		  VFIO_PCI_MSI_IRQ_INDEX, UINT32_MAX, 1 },
		{ "bool_count_max", VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_ACTION_TRIGGER,
		  VFIO_PCI_MSI_IRQ_INDEX, 0, UINT32_MAX },
		{ "count2", VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER, VFIO_PCI_MSI_IRQ_INDEX, 0, 2 },
		{ "index5", VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER, 5, 0, 0 },
		{ "index_err", VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER, VFIO_PCI_ERR_IRQ_INDEX, 0, 0 },
		{ "msix_count0", VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER, VFIO_PCI_MSIX_IRQ_INDEX, 0, 0 },
		{ "msi_mask", VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_MASK, VFIO_PCI_MSI_IRQ_INDEX, 0, 1 },
		{ "intx_unmask_disabled", VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK,
		  VFIO_PCI_INTX_IRQ_INDEX, 0, 1 },
	};
	for (size_t i = 0; i < E2E_ELEMENTSOF(irqs); i++) {
		r = e2e_set_irqs(t->device, irqs[i].flags, irqs[i].index, irqs[i].start, irqs[i].count,
				 NULL, 0);
		e2e_out("probe.set_irqs", "case=%s flags=0x%x index=%u start=%u count=%u %s",
			irqs[i].what, irqs[i].flags, irqs[i].index, irqs[i].start, irqs[i].count,
			RC(r));
		if (i < 3 || i == 4)
			e2e_expect_errno(t, irqs[i].what, r, EINVAL);
	}
}

/* Fills an INFO struct with a sentinel and prints every field it returns. */
static void probe_sentinels(struct e2e *t)
{
	struct vfio_group_status gs;
	struct vfio_device_info di;
	struct vfio_region_info ri;
	struct vfio_irq_info ii;
	struct vfio_iommu_type1_info info;
	int r;

	memset(&gs, 0xa5, sizeof(gs));
	gs.argsz = sizeof(gs);
	r = e2e_ioctl(t->group, VFIO_GROUP_GET_STATUS, &gs);
	e2e_out("probe.sentinel", "ioctl=GROUP_GET_STATUS %s argsz=0x%x flags=0x%x", RC(r), gs.argsz,
		gs.flags);
	memset(&di, 0xa5, sizeof(di));
	di.argsz = sizeof(di);
	r = e2e_ioctl(t->device, VFIO_DEVICE_GET_INFO, &di);
	e2e_out("probe.sentinel",
		"ioctl=DEVICE_GET_INFO %s argsz=0x%x flags=0x%x num_regions=0x%x num_irqs=0x%x cap_offset=0x%x",
		RC(r), di.argsz, di.flags, di.num_regions, di.num_irqs, di.cap_offset);
	for (unsigned idx = 0; idx <= VFIO_PCI_CONFIG_REGION_INDEX; idx += VFIO_PCI_CONFIG_REGION_INDEX) {
		memset(&ri, 0xa5, sizeof(ri));
		ri.argsz = sizeof(ri);
		ri.index = idx;
		r = e2e_ioctl(t->device, VFIO_DEVICE_GET_REGION_INFO, &ri);
		e2e_out("probe.sentinel",
			"ioctl=DEVICE_GET_REGION_INFO index=%u %s argsz=0x%x flags=0x%x cap_offset=0x%x size=0x%llx offset=0x%llx",
			idx, RC(r), ri.argsz, ri.flags & ~VFIO_REGION_INFO_FLAG_MMAP, ri.cap_offset,
			(unsigned long long)ri.size, (unsigned long long)ri.offset);
	}
	memset(&ii, 0xa5, sizeof(ii));
	ii.argsz = sizeof(ii);
	ii.index = VFIO_PCI_INTX_IRQ_INDEX;
	r = e2e_ioctl(t->device, VFIO_DEVICE_GET_IRQ_INFO, &ii);
	e2e_out("probe.sentinel", "ioctl=DEVICE_GET_IRQ_INFO index=0 %s argsz=0x%x flags=0x%x count=0x%x",
		RC(r), ii.argsz, ii.flags, ii.count);
	memset(&info, 0xa5, sizeof(info));
	info.argsz = sizeof(info);
	r = e2e_ioctl(t->container, VFIO_IOMMU_GET_INFO, &info);
	e2e_out("probe.sentinel",
		"ioctl=IOMMU_GET_INFO %s argsz=0x%x flags=0x%x iova_pgsizes=0x%llx cap_offset=0x%x",
		RC(r), info.argsz, info.flags, (unsigned long long)info.iova_pgsizes, info.cap_offset);
}

static void probe_device_misc(struct e2e *t)
{
	int r;

	/* Hot reset info: ENODEV, or ENOSPC with count filled. */
	struct vfio_pci_hot_reset_info hr = { .argsz = sizeof(hr) };
	r = e2e_ioctl(t->device, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, &hr);
	e2e_out("probe.hot_reset_info", "argsz_in=%zu %s flags=0x%x count=%u", sizeof(hr), RC(r),
		hr.flags, hr.count);
	if (r >= 0 || (r != -ENODEV && r != -ENOSPC))
		e2e_fail(t, "GET_PCI_HOT_RESET_INFO with no room: %s", RC(r));
	struct vfio_pci_hot_reset hrst = { .argsz = sizeof(hrst), .count = 0 };
	r = e2e_ioctl(t->device, VFIO_DEVICE_PCI_HOT_RESET, &hrst);
	e2e_out("probe.hot_reset", "count=0 %s", RC(r));
	/* Room for four devices; then resets naming our group, an eventfd,
	 * and a closed fd (the kernel backend resolves and forwards them). */
	struct {
		struct vfio_pci_hot_reset_info h;
		struct vfio_pci_dependent_device d[4];
	} hr4 = { .h = { .argsz = sizeof(hr4) } };
	r = e2e_ioctl(t->device, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, &hr4);
	e2e_out("probe.hot_reset_info", "argsz_in=%zu %s flags=0x%x count=%u", sizeof(hr4), RC(r),
		hr4.h.flags, hr4.h.count);
	int hefd = e2e_eventfd();
	const struct {
		const char *name;
		int32_t fd;
	} hfds[] = { { "group", t->group }, { "eventfd", hefd }, { "closed_fd", 1000 } };
	for (size_t i = 0; i < E2E_ELEMENTSOF(hfds); i++) {
		struct {
			struct vfio_pci_hot_reset h;
			int32_t fd;
		} h1 = { .h = { .argsz = sizeof(h1), .count = 1 }, .fd = hfds[i].fd };

		r = e2e_ioctl(t->device, VFIO_DEVICE_PCI_HOT_RESET, &h1);
		e2e_out("probe.hot_reset", "count=1 fd=%s %s", hfds[i].name, RC(r));
	}
	if (hefd >= 0)
		close(hefd);

	/* DEVICE_FEATURE probes. */
	static const struct {
		uint32_t feature;
		const char *name;
	} feats[] = {
		{ 0, "PCI_VF_TOKEN" },	{ 1, "MIGRATION" },	       { 2, "MIG_DEVICE_STATE" },
		{ 3, "LOW_POWER_ENTRY" }, { 4, "LOW_POWER_ENTRY_WITH_WAKEUP" },
		{ 5, "LOW_POWER_EXIT" },  { 6, "DMA_LOGGING_START" }, { 0xffff, "UNKNOWN" },
	};
	static const struct {
		uint32_t flags;
		const char *name;
	} modes[] = {
		{ VFIO_DEVICE_FEATURE_PROBE, "probe" },
		{ VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_GET, "probe_get" },
		{ VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_SET, "probe_set" },
	};
	for (size_t i = 0; i < E2E_ELEMENTSOF(feats); i++) {
		char line[256];
		size_t len = 0;

		for (size_t m = 0; m < E2E_ELEMENTSOF(modes); m++) {
			struct vfio_device_feature f = { .argsz = sizeof(f), .flags = modes[m].flags | feats[i].feature };

			r = e2e_ioctl(t->device, VFIO_DEVICE_FEATURE, &f);
			len += (size_t)snprintf(line + len, sizeof(line) - len, " %s=%s", modes[m].name,
						r >= 0 ? "ok" : e2e_errname(-r));
		}
		e2e_out("probe.device_feature", "feature=%s(%u)%s", feats[i].name, feats[i].feature, line);
	}
	struct vfio_device_feature fb = { .argsz = sizeof(fb), .flags = VFIO_DEVICE_FEATURE_PROBE | (1u << 20) };
	r = e2e_ioctl(t->device, VFIO_DEVICE_FEATURE, &fb);
	e2e_out("probe.device_feature", "feature=bad_flag_bit20 %s", RC(r));
	fb.argsz = 4;
	fb.flags = VFIO_DEVICE_FEATURE_PROBE;
	r = e2e_ioctl(t->device, VFIO_DEVICE_FEATURE, &fb);
	e2e_out("probe.device_feature", "feature=argsz4 %s", RC(r));
	fb.argsz = sizeof(fb);
	fb.flags = VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_SET | 3;
	r = e2e_ioctl(t->device, VFIO_DEVICE_FEATURE, &fb);
	e2e_out("probe.device_feature", "feature=get_and_set %s", RC(r));
	struct {
		struct vfio_device_feature h;
		struct vfio_device_feature_mig_state s;
	} mig = { .h = { .argsz = sizeof(mig),
			 .flags = VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE },
		  .s = { .device_state = VFIO_DEVICE_STATE_STOP } };
	r = e2e_ioctl(t->device, VFIO_DEVICE_FEATURE, &mig);
	e2e_out("probe.device_feature", "feature=MIG_DEVICE_STATE set %s", RC(r));

	/* IOEVENTFD: a 4-byte write of 0x55 to the liveness register. */
	int efd = e2e_eventfd();
	if (efd >= 0) {
		const uint64_t bar0 = t->region[VFIO_PCI_BAR0_REGION_INDEX].offset;
		struct vfio_device_ioeventfd io = {
			.argsz = sizeof(io), .flags = VFIO_DEVICE_IOEVENTFD_32,
			.offset = bar0 + EDU_LIVENESS, .data = 0x55, .fd = efd,
		};

		e2e_bar_wr32(t, EDU_LIVENESS, 0);
		r = e2e_ioctl(t->device, VFIO_DEVICE_IOEVENTFD, &io);
		e2e_out("probe.ioeventfd", "region=BAR0 off=0x04 size=4 data=0x55 %s", RC(r));
		if (r == 0) {
			uint64_t one = 1, deadline = e2e_now_ms() + 2000;
			uint32_t x;

			r = e2e_ioctl(t->device, VFIO_DEVICE_IOEVENTFD, &io);
			e2e_out("probe.ioeventfd_again", "%s", RC(r));
			if (write(efd, &one, sizeof(one)) != (ssize_t)sizeof(one))
				e2e_fail(t, "write to the ioeventfd: %s", e2e_errname(errno));
			while ((x = e2e_bar_rd32(t, EDU_LIVENESS)) != ~0x55u && e2e_now_ms() < deadline)
				e2e_sleep_ms(2);
			e2e_out("probe.ioeventfd_fired", "liveness=0x%08x", x);
			io.fd = -1;
			r = e2e_ioctl(t->device, VFIO_DEVICE_IOEVENTFD, &io);
			e2e_out("probe.ioeventfd_remove", "%s", RC(r));
			r = e2e_ioctl(t->device, VFIO_DEVICE_IOEVENTFD, &io);
			e2e_out("probe.ioeventfd_remove_again", "%s", RC(r));
		}
		io.fd = efd;
		io.offset = t->region[VFIO_PCI_CONFIG_REGION_INDEX].offset + 0x04;
		r = e2e_ioctl(t->device, VFIO_DEVICE_IOEVENTFD, &io);
		e2e_out("probe.ioeventfd", "region=CONFIG off=0x04 size=4 %s", RC(r));
		io.offset = bar0 + EDU_LIVENESS;
		io.flags = VFIO_DEVICE_IOEVENTFD_32 | VFIO_DEVICE_IOEVENTFD_16;
		r = e2e_ioctl(t->device, VFIO_DEVICE_IOEVENTFD, &io);
		e2e_out("probe.ioeventfd", "region=BAR0 two_sizes %s", RC(r));
		e2e_close(&efd);
	}

	/* Region access outside what was reported. */
	uint32_t v = 0;
	const uint64_t cfg = t->region[VFIO_PCI_CONFIG_REGION_INDEX].offset;
	const uint64_t cfg_size = t->region[VFIO_PCI_CONFIG_REGION_INDEX].size;
	ssize_t n = e2e_pread(t->device, &v, 4, (off_t)(cfg + cfg_size));
	e2e_out("probe.pread", "region=CONFIG off=size len=4 %s", RC((int)n));
	n = e2e_pread(t->device, &v, 4, (off_t)(cfg + cfg_size - 2));
	e2e_out("probe.pread", "region=CONFIG off=size-2 len=4 %s", RC((int)n));
	v = 0;
	n = e2e_pread(t->device, &v, 4, (off_t)(cfg + 1));
	e2e_out("probe.pread", "region=CONFIG off=0x1 len=4 %s val=0x%08x", RC((int)n), n == 4 ? v : 0);
	const uint64_t bar0 = t->region[VFIO_PCI_BAR0_REGION_INDEX].offset;
	const uint64_t bar0_size = t->region[VFIO_PCI_BAR0_REGION_INDEX].size;
	n = e2e_pread(t->device, &v, 4, (off_t)(bar0 + bar0_size));
	e2e_out("probe.pread", "region=BAR0 off=size len=4 %s", RC((int)n));
	if (t->have_region[1]) {
		n = e2e_pread(t->device, &v, 4, (off_t)t->region[1].offset);
		e2e_out("probe.pread", "region=BAR1 off=0 len=4 %s", RC((int)n));
	}
	if (t->have_region[VFIO_PCI_ROM_REGION_INDEX]) {
		n = e2e_pread(t->device, &v, 4, (off_t)t->region[VFIO_PCI_ROM_REGION_INDEX].offset);
		e2e_out("probe.pread", "region=ROM off=0 len=4 %s", RC((int)n));
	}
	uint64_t last = 0;
	for (unsigned i = 0; i < VFIO_PCI_NUM_REGIONS; i++)
		if (t->have_region[i] && t->region[i].offset > last)
			last = t->region[i].offset;
	n = e2e_pread(t->device, &v, 4, (off_t)(last + (1ULL << 40)));
	e2e_out("probe.pread", "region=none off=last_region+2^40 len=4 %s", RC((int)n));
	uint8_t big[64];
	n = e2e_pread(t->device, big, sizeof(big), (off_t)bar0);
	e2e_out("probe.pread", "region=BAR0 off=0 len=64 %s", RC((int)n));

	/* lseek and read() use the file position. */
	off_t o = lseek(t->device, 0, SEEK_SET);
	e2e_out("probe.lseek", "whence=SET off=0 %s", RC(o < 0 ? -errno : (int)o));
	for (unsigned i = 0; i < 2; i++) {
		v = 0;
		n = read(t->device, &v, 4);
		if (n < 0)
			n = -errno;
		e2e_out("probe.read", "call=%u len=4 %s val=0x%08x", i + 1, RC((int)n), n == 4 ? v : 0);
	}
}

static void probe_mmap(struct e2e *t)
{
	const struct vfio_region_info *b = &t->region[VFIO_PCI_BAR0_REGION_INDEX];
	const struct vfio_region_info *c = &t->region[VFIO_PCI_CONFIG_REGION_INDEX];
	void *p;

	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, t->device, (off_t)c->offset);
	e2e_out("probe.mmap", "region=CONFIG len=4096 %s", p == MAP_FAILED ? RC(-errno) : "rc=ok");
	if (p != MAP_FAILED) {
		e2e_fail(t, "mmap of the config region succeeded");
		munmap(p, 4096);
	}
	p = mmap(NULL, b->size, PROT_READ | PROT_WRITE, MAP_SHARED, t->device, (off_t)b->offset);
	if (p == MAP_FAILED) {
		e2e_out("probe.mmap", "region=BAR0 len=0x%llx %s", (unsigned long long)b->size,
			RC(-errno));
	} else {
		uint32_t id = *(volatile uint32_t *)p;

		e2e_out("probe.mmap", "region=BAR0 len=0x%llx rc=ok ident=0x%08x",
			(unsigned long long)b->size, id);
		munmap(p, b->size);
	}
	p = mmap(NULL, 2 * b->size, PROT_READ, MAP_SHARED, t->device, (off_t)b->offset);
	e2e_out("probe.mmap", "region=BAR0 len=2*size %s", p == MAP_FAILED ? RC(-errno) : "rc=ok");
	if (p != MAP_FAILED)
		munmap(p, 2 * b->size);
}

static void probe_unknown_ioctls(struct e2e *t)
{
	static const struct {
		unsigned long req;
		const char *name;
	} reqs[] = {
		{ VFIO_GET_API_VERSION, "100(GET_API_VERSION)" },
		{ VFIO_GROUP_GET_STATUS, "103(GROUP_GET_STATUS)" },
		{ VFIO_DEVICE_GET_INFO, "107(DEVICE_GET_INFO)" },
		{ VFIO_IOMMU_MAP_DMA, "113(IOMMU_MAP_DMA/DEVICE_PCI_HOT_RESET)" },
		{ VFIO_IOMMU_DIRTY_PAGES, "117(IOMMU_DIRTY_PAGES/DEVICE_FEATURE)" },
		{ VFIO_EEH_PE_OP, "121(EEH_PE_OP)" },
		{ _IO(VFIO_TYPE, VFIO_BASE + 50), "150" },
		{ 0x5401, "TCGETS" },
	};
	struct {
		const char *kind;
		int fd;
	} fds[] = { { "container", t->container }, { "group", t->group }, { "device", t->device } };
	/* Zeroed, large enough for any of these structs; argsz 0 where it matters. */
	uint64_t arg[16];

	for (size_t f = 0; f < E2E_ELEMENTSOF(fds); f++) {
		for (size_t i = 0; i < E2E_ELEMENTSOF(reqs); i++) {
			/* Skip the ones that are valid on this kind. */
			if ((f == 0 && (i == 0 || i == 3)) || (f == 1 && i == 1) || (f == 2 && i == 2))
				continue;
			memset(arg, 0, sizeof(arg));
			int r = e2e_ioctl(fds[f].fd, reqs[i].req, arg);

			e2e_out("probe.ioctl_other", "fd=%s ioctl=%s %s", fds[f].kind, reqs[i].name,
				RC(r));
		}
	}
}

static void probe_group(struct e2e *t)
{
	int r, fd;

	/* A name with no NUL within 4096 bytes, one of 4095 characters, and "". */
	char *name = malloc(8192);
	if (name) {
		memset(name, 'x', 8192);
		r = e2e_ioctl(t->group, VFIO_GROUP_GET_DEVICE_FD, name);
		e2e_out("probe.get_device_fd", "name=no_nul_8192 %s", RCFD(r));
		if (r >= 0) {
			fd = r;
			e2e_close(&fd);
		}
		name[4095] = '\0';
		r = e2e_ioctl(t->group, VFIO_GROUP_GET_DEVICE_FD, name);
		e2e_out("probe.get_device_fd", "name=x*4095 %s", RCFD(r));
		if (r >= 0) {
			fd = r;
			e2e_close(&fd);
		}
		memset(name, 'x', 4096);
		name[4096] = '\0';
		r = e2e_ioctl(t->group, VFIO_GROUP_GET_DEVICE_FD, name);
		e2e_out("probe.get_device_fd", "name=x*4096 %s", RCFD(r));
		if (r >= 0) {
			fd = r;
			e2e_close(&fd);
		}
		free(name);
	}
	r = e2e_ioctl(t->group, VFIO_GROUP_GET_DEVICE_FD, (void *)"");
	e2e_out("probe.get_device_fd", "name=empty %s", RCFD(r));
	if (r >= 0) {
		fd = r;
		e2e_close(&fd);
	}
	r = e2e_ioctl(t->group, VFIO_GROUP_GET_DEVICE_FD, NULL);
	e2e_out("probe.get_device_fd", "name=NULL %s", RCFD(r));

	/* SET_CONTAINER again, with the container, an eventfd, the group itself. */
	r = e2e_ioctl(t->group, VFIO_GROUP_SET_CONTAINER, &t->container);
	e2e_out("probe.group_set_container_again", "arg=container %s", RC(r));
	if (r >= 0)
		e2e_fail(t, "a second SET_CONTAINER succeeded");
	fd = e2e_eventfd();
	if (fd >= 0) {
		r = e2e_ioctl(t->group, VFIO_GROUP_SET_CONTAINER, &fd);
		e2e_out("probe.group_set_container_again", "arg=eventfd %s", RC(r));
		e2e_close(&fd);
	}
	r = e2e_ioctl(t->group, VFIO_GROUP_SET_CONTAINER, &t->group);
	e2e_out("probe.group_set_container_again", "arg=group_fd %s", RC(r));
	r = e2e_ioctl_val(t->group, VFIO_GROUP_UNSET_CONTAINER, 0);
	e2e_out("probe.group_unset_container_with_device_open", "%s", RC(r));
	if (r >= 0)
		e2e_fail(t, "UNSET_CONTAINER with a device open succeeded");
	r = e2e_ioctl_val(t->container, VFIO_CHECK_EXTENSION, 0);
	e2e_out("probe.container_check_extension", "ext=0 %s", RC(r));
}

/* ---- issue 13: bad eventfd slots, unpinnable memory, IOVA checks first, UPDATE_VADDR ---- */

/* SET_IRQS naming a file that is no eventfd, a closed fd, and our own
 * device fd, for every index and action that looks an eventfd up. */
static void probe_irq_slots(struct e2e *t)
{
	int pfd[2] = { -1, -1 }, efd = e2e_eventfd(), closed = -1, r;
	int32_t m1 = -1;

	if (efd < 0 || pipe2(pfd, O_CLOEXEC) < 0) {
		e2e_fail(t, "probe.irq_slot: setup: %s", e2e_errname(errno));
		e2e_close(&efd);
		return;
	}
	/* A number far above the others, so no later open takes it. */
	closed = fcntl(efd, F_DUPFD_CLOEXEC, 900);
	e2e_close(&closed);
	closed = fcntl(efd, F_DUPFD_CLOEXEC, 900);
	if (closed >= 0) {
		int n = closed;

		e2e_close(&closed);
		closed = n;
	}
	const struct {
		const char *name;
		int32_t fd;
	} bad[] = { { "pipe", pfd[0] }, { "closed_fd", closed }, { "device_fd", t->device } };
	const uint32_t evt = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	const uint32_t off = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER;

	/* Start from nothing enabled (what earlier steps left is not printed). */
	e2e_set_irqs(t->device, off, VFIO_PCI_INTX_IRQ_INDEX, 0, 0, NULL, 0);
	e2e_set_irqs(t->device, off, VFIO_PCI_MSI_IRQ_INDEX, 0, 0, NULL, 0);
	e2e_set_irqs(t->device, off, VFIO_PCI_MSIX_IRQ_INDEX, 0, 0, NULL, 0);
	for (size_t i = 0; i < E2E_ELEMENTSOF(bad); i++) {
		const int32_t fd = bad[i].fd;
		static const struct {
			const char *name;
			uint32_t index, flags;
			int32_t enable;	/* 1: enable it with a good eventfd first */
		} cases[] = {
			{ "intx_trigger", VFIO_PCI_INTX_IRQ_INDEX, VFIO_IRQ_SET_ACTION_TRIGGER, 0 },
			{ "intx_trigger_enabled", VFIO_PCI_INTX_IRQ_INDEX, VFIO_IRQ_SET_ACTION_TRIGGER, 1 },
			{ "intx_unmask", VFIO_PCI_INTX_IRQ_INDEX, VFIO_IRQ_SET_ACTION_UNMASK, 1 },
			{ "msi_trigger", VFIO_PCI_MSI_IRQ_INDEX, VFIO_IRQ_SET_ACTION_TRIGGER, 0 },
			{ "msi_trigger_enabled", VFIO_PCI_MSI_IRQ_INDEX, VFIO_IRQ_SET_ACTION_TRIGGER, 1 },
			{ "msix_trigger", VFIO_PCI_MSIX_IRQ_INDEX, VFIO_IRQ_SET_ACTION_TRIGGER, 0 },
			{ "err_trigger", VFIO_PCI_ERR_IRQ_INDEX, VFIO_IRQ_SET_ACTION_TRIGGER, 0 },
			{ "req_trigger", VFIO_PCI_REQ_IRQ_INDEX, VFIO_IRQ_SET_ACTION_TRIGGER, 0 },
		};

		for (size_t c = 0; c < E2E_ELEMENTSOF(cases); c++) {
			int en = 0, after;

			if (cases[c].enable)
				en = e2e_set_irqs(t->device, evt, cases[c].index, 0, 1, &efd, sizeof(efd));
			r = e2e_set_irqs(t->device, VFIO_IRQ_SET_DATA_EVENTFD | cases[c].flags,
					 cases[c].index, 0, 1, &fd, sizeof(fd));
			/* Still enabled (0) or not (EINVAL) after the failure? */
			after = e2e_set_irqs(t->device, off, cases[c].index, 0, 0, NULL, 0);
			e2e_out("probe.irq_slot", "fd=%s case=%s%s %s disable_after=%s", bad[i].name,
				cases[c].name, en < 0 ? " enable_failed" : "", RC(r), RC(after));
			if (r >= 0 && cases[c].index != VFIO_PCI_ERR_IRQ_INDEX)
				e2e_fail(t, "SET_IRQS %s with fd=%s succeeded", cases[c].name,
					 bad[i].name);
		}
		e2e_set_irqs(t->device, evt, VFIO_PCI_REQ_IRQ_INDEX, 0, 1, &m1, sizeof(m1));
	}
	/* The other ioctls that name an eventfd: IOEVENTFD, LOW_POWER_ENTRY_WITH_WAKEUP. */
	for (size_t i = 0; i < E2E_ELEMENTSOF(bad); i++) {
		struct vfio_device_ioeventfd io = {
			.argsz = sizeof(io), .flags = VFIO_DEVICE_IOEVENTFD_32,
			.offset = t->region[VFIO_PCI_BAR0_REGION_INDEX].offset + EDU_LIVENESS,
			.data = 0x55, .fd = bad[i].fd,
		};
		struct {
			struct vfio_device_feature f;
			struct vfio_device_low_power_entry_with_wakeup w;
		} lp = {
			.f = { .argsz = sizeof(lp), .flags = VFIO_DEVICE_FEATURE_SET |
						    VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP },
			.w = { .wakeup_eventfd = bad[i].fd },
		};

		r = e2e_ioctl(t->device, VFIO_DEVICE_IOEVENTFD, &io);
		e2e_out("probe.eventfd_slot", "fd=%s ioctl=IOEVENTFD %s", bad[i].name, RC(r));
		if (r >= 0) {
			io.fd = -1;
			e2e_ioctl(t->device, VFIO_DEVICE_IOEVENTFD, &io);
		}
		r = e2e_ioctl(t->device, VFIO_DEVICE_FEATURE, &lp);
		e2e_out("probe.eventfd_slot", "fd=%s ioctl=LOW_POWER_ENTRY_WITH_WAKEUP %s",
			bad[i].name, RC(r));
		if (r >= 0) {
			struct vfio_device_feature x = {
				.argsz = sizeof(x),
				.flags = VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_LOW_POWER_EXIT,
			};

			e2e_ioctl(t->device, VFIO_DEVICE_FEATURE, &x);
		}
	}
	/* REQ (and ERR) de-assign on -1 only; another negative fd leaves the
	 * trigger in place (vfio_pci_set_ctx_trigger_single()). */
	int32_t m2 = -2;
	int set = e2e_set_irqs(t->device, evt, VFIO_PCI_REQ_IRQ_INDEX, 0, 1, &efd, sizeof(efd));
	r = e2e_set_irqs(t->device, evt, VFIO_PCI_REQ_IRQ_INDEX, 0, 1, &m2, sizeof(m2));
	int fire = e2e_set_irqs(t->device, off, VFIO_PCI_REQ_IRQ_INDEX, 0, 1, NULL, 0);
	e2e_out("probe.irq_slot", "fd=-2 case=req_trigger set=%s %s trigger_after=%s",
		set < 0 ? "failed" : "ok", RC(r), RC(fire));
	e2e_set_irqs(t->device, evt, VFIO_PCI_REQ_IRQ_INDEX, 0, 1, &m1, sizeof(m1));
	e2e_close(&pfd[0]);
	e2e_close(&pfd[1]);
	e2e_close(&efd);
}

/* MAP_DMA of memory the kernel cannot pin, and IOVAs it refuses before it
 * looks at memory at all. Every success is unmapped again, printed. */
static void probe_map_memory(struct e2e *t)
{
	const uint32_t rw = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
	uint8_t *none, *part, *ro, *hole;
	const uint64_t iova = 0xa00000;
	int r;

	none = mmap(NULL, 0x2000, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	part = mmap(NULL, 0x2000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ro = mmap(NULL, 0x1000, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	hole = mmap(NULL, 0x2000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (none == MAP_FAILED || part == MAP_FAILED || ro == MAP_FAILED || hole == MAP_FAILED) {
		e2e_fail(t, "probe.map_memory: mmap: %s", e2e_errname(errno));
		return;
	}
	munmap(hole, 0x2000);
	munmap(part + 0x1000, 0x1000);
	memset(part, 0x5a, 0x1000);

	const struct {
		const char *name;
		uint8_t *vaddr;
		uint64_t iova, size;
		uint32_t flags;
	} cases[] = {
		/* item 2: what pin_user_pages refuses */
		{ "unmapped", hole, iova, 0x1000, rw },
		{ "prot_none", none, iova, 0x1000, rw },
		{ "partly_mapped", part, iova, 0x2000, rw },
		{ "readonly_write", ro, iova, 0x1000, rw },
		{ "readonly_writeonly", ro, iova, 0x1000, VFIO_DMA_MAP_FLAG_WRITE },
		{ "readonly_read", ro, iova, 0x1000, VFIO_DMA_MAP_FLAG_READ },
		/* item 3: the IOVA is judged before the memory */
		{ "unmapped_in_msi_window", hole, 0xfee00000ULL, 0x1000, rw },
		{ "prot_none_in_msi_window", none, 0xfee00000ULL, 0x1000, rw },
		{ "unmapped_across_msi_window", hole, 0xfedff000ULL, 0x2000, rw },
		{ "unmapped_beyond_aperture", hole, 1ULL << 52, 0x1000, rw },
		{ "unmapped_at_top", hole, 0xfffffffffffff000ULL, 0x1000, rw },
		{ "unmapped_overlapping", hole, E2E_DMA_IOVA, 0x1000, rw },
		{ "unmapped_unaligned", hole + 0x800, iova, 0x1000, rw },
	};
	for (size_t i = 0; i < E2E_ELEMENTSOF(cases); i++) {
		char step[64];

		snprintf(step, sizeof(step), "probe.map_memory");
		r = e2e_map(t, step, cases[i].name, (uint64_t)(uintptr_t)cases[i].vaddr,
			    cases[i].iova, cases[i].size, cases[i].flags);
		(void)r;
		/* Printed either way, so both transcripts have the line. */
		if (cases[i].iova == iova)
			e2e_unmap(t, "probe.map_memory_unmap", iova, cases[i].size, 0, NULL);
	}
	munmap(none, 0x2000);
	munmap(part, 0x1000);
	munmap(ro, 0x1000);
}

/* UPDATE_VADDR: the extension, a VADDR map of nothing, invalidate and restore. */
static void probe_update_vaddr(struct e2e *t)
{
	const uint32_t rw = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
	const uint64_t va = (uint64_t)(uintptr_t)t->buf, iova = 0xb00000;
	int r;

	r = e2e_ioctl_val(t->container, VFIO_CHECK_EXTENSION, VFIO_UPDATE_VADDR);
	e2e_out("probe.update_vaddr", "check_extension %s", RC(r));
	e2e_map(t, "probe.update_vaddr_map_of_nothing", "buf", va, iova, 0x1000,
		VFIO_DMA_MAP_FLAG_VADDR);
	r = e2e_map(t, "probe.update_vaddr_map", "buf", va, iova, 0x1000, rw);
	e2e_expect_ok(t, "MAP_DMA for UPDATE_VADDR", r);
	e2e_unmap(t, "probe.update_vaddr_unmap_vaddr", iova, 0x1000, VFIO_DMA_UNMAP_FLAG_VADDR,
		  NULL);
	e2e_unmap(t, "probe.update_vaddr_unmap_vaddr_again", iova, 0x1000,
		  VFIO_DMA_UNMAP_FLAG_VADDR, NULL);
	e2e_map(t, "probe.update_vaddr_map_with_prot", "buf", va, iova, 0x1000,
		VFIO_DMA_MAP_FLAG_VADDR | VFIO_DMA_MAP_FLAG_READ);
	e2e_map(t, "probe.update_vaddr_map_other_size", "buf", va, iova, 0x2000,
		VFIO_DMA_MAP_FLAG_VADDR);
	e2e_map(t, "probe.update_vaddr_restore", "buf", va, iova, 0x1000, VFIO_DMA_MAP_FLAG_VADDR);
	e2e_map(t, "probe.update_vaddr_restore_again", "buf", va, iova, 0x1000,
		VFIO_DMA_MAP_FLAG_VADDR);
	e2e_unmap(t, "probe.update_vaddr_unmap", iova, 0x1000, 0, NULL);
}

void e2e_step11_probes(struct e2e *t)
{
	probe_argsz(t);
	probe_flags(t);
	probe_sentinels(t);
	probe_device_misc(t);
	if (!t->no_mmap)
		probe_mmap(t);
	probe_unknown_ioctls(t);
	probe_group(t);
	probe_irq_slots(t);
	probe_map_memory(t);
	probe_update_vaddr(t);
}
