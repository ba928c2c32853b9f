/* SPDX-License-Identifier: MIT */
/*
 * vfio-e2e-client: transcript output, errno names, libc wrappers that return
 * -errno, region access helpers, and IOMMU info decoding shared by the steps.
 */
#include "e2e.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

void e2e_out(const char *step, const char *fmt, ...)
{
	va_list ap;

	printf("%s: ", step);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

void e2e_fail(struct e2e *t, const char *fmt, ...)
{
	va_list ap;

	t->failures++;
	fputs("FAIL: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

const char *e2e_errname(int err)
{
	static char buf[32];
	const char *n = strerrorname_np(err);

	if (n)
		return n;
	snprintf(buf, sizeof(buf), "errno%d", err);
	return buf;
}

const char *e2e_rc(int r, char buf[static 48])
{
	if (r >= 0)
		snprintf(buf, 48, "rc=%d", r);
	else
		snprintf(buf, 48, "rc=-1 errno=%s", e2e_errname(-r));
	return buf;
}

const char *e2e_rcfd(int r, char buf[static 48])
{
	if (r >= 0)
		return "rc=fd";
	return e2e_rc(r, buf);
}

void e2e_expect_errno(struct e2e *t, const char *what, int r, int want)
{
	if (r == -want)
		return;
	if (r >= 0)
		e2e_fail(t, "%s: succeeded (rc=%d), expected errno %s", what, r, e2e_errname(want));
	else
		e2e_fail(t, "%s: errno %s, expected %s", what, e2e_errname(-r), e2e_errname(want));
}

void e2e_expect_ok(struct e2e *t, const char *what, int r)
{
	if (r < 0)
		e2e_fail(t, "%s: errno %s", what, e2e_errname(-r));
}

int e2e_ioctl(int fd, unsigned long req, void *arg)
{
	int r = ioctl(fd, req, arg);

	return r < 0 ? -errno : r;
}

int e2e_ioctl_val(int fd, unsigned long req, unsigned long arg)
{
	int r = ioctl(fd, req, arg);

	return r < 0 ? -errno : r;
}

ssize_t e2e_pread(int fd, void *buf, size_t n, off_t off)
{
	ssize_t r = pread(fd, buf, n, off);

	return r < 0 ? -errno : r;
}

ssize_t e2e_pwrite(int fd, const void *buf, size_t n, off_t off)
{
	ssize_t r = pwrite(fd, buf, n, off);

	return r < 0 ? -errno : r;
}

int e2e_close(int *fd)
{
	int r = 0;

	if (*fd >= 0 && close(*fd) < 0)
		r = -errno;
	*fd = -1;
	return r;
}

int e2e_eventfd(void)
{
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	return fd < 0 ? -errno : fd;
}

int e2e_efd_wait(int efd, int timeout_ms, uint64_t *ret_count)
{
	struct pollfd p = { .fd = efd, .events = POLLIN };
	uint64_t cnt;
	int r;

	do
		r = poll(&p, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if (r == 0)
		return 0;
	if (read(efd, &cnt, sizeof(cnt)) != (ssize_t)sizeof(cnt))
		return -errno;
	if (ret_count)
		*ret_count = cnt;
	return 1;
}

void e2e_sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

uint64_t e2e_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- region access ---- */

static int region_rw(struct e2e *t, unsigned index, bool write, unsigned off, unsigned size,
		     uint64_t *val)
{
	union {
		uint8_t u8;
		uint16_t u16;
		uint32_t u32;
		uint64_t u64;
	} v = { .u64 = 0 };
	ssize_t r;

	if (index >= VFIO_PCI_NUM_REGIONS || !t->have_region[index] || t->device < 0)
		return -ENODEV;
	if (size != 1 && size != 2 && size != 4 && size != 8)
		return -EINVAL;
	if (write) {
		switch (size) {
		case 1: v.u8 = (uint8_t)*val; break;
		case 2: v.u16 = (uint16_t)*val; break;
		case 4: v.u32 = (uint32_t)*val; break;
		default: v.u64 = *val; break;
		}
		r = e2e_pwrite(t->device, &v, size, (off_t)(t->region[index].offset + off));
	} else {
		r = e2e_pread(t->device, &v, size, (off_t)(t->region[index].offset + off));
		switch (size) {
		case 1: *val = v.u8; break;
		case 2: *val = v.u16; break;
		case 4: *val = v.u32; break;
		default: *val = v.u64; break;
		}
	}
	return (int)r;
}

int e2e_cfg_read(struct e2e *t, unsigned off, unsigned size, uint32_t *ret)
{
	uint64_t v = 0;
	int r = region_rw(t, VFIO_PCI_CONFIG_REGION_INDEX, false, off, size, &v);

	*ret = (uint32_t)v;
	return r;
}

int e2e_cfg_write(struct e2e *t, unsigned off, unsigned size, uint32_t val)
{
	uint64_t v = val;

	return region_rw(t, VFIO_PCI_CONFIG_REGION_INDEX, true, off, size, &v);
}

int e2e_bar_read(struct e2e *t, unsigned off, unsigned size, uint64_t *ret)
{
	return region_rw(t, VFIO_PCI_BAR0_REGION_INDEX, false, off, size, ret);
}

int e2e_bar_write(struct e2e *t, unsigned off, unsigned size, uint64_t val)
{
	return region_rw(t, VFIO_PCI_BAR0_REGION_INDEX, true, off, size, &val);
}

uint32_t e2e_bar_rd32(struct e2e *t, unsigned off)
{
	uint64_t v = 0;
	int r = e2e_bar_read(t, off, 4, &v);

	if (r != 4) {
		e2e_fail(t, "bar0 read 0x%x: %s", off, RC(r));
		return UINT32_MAX;
	}
	return (uint32_t)v;
}

void e2e_bar_wr32(struct e2e *t, unsigned off, uint32_t val)
{
	int r = e2e_bar_write(t, off, 4, val);

	if (r != 4)
		e2e_fail(t, "bar0 write 0x%x: %s", off, RC(r));
}

int e2e_bar_wait_clear(struct e2e *t, unsigned off, uint32_t mask, unsigned timeout_ms)
{
	uint64_t deadline = e2e_now_ms() + timeout_ms;

	for (;;) {
		uint64_t v = 0;
		int r = e2e_bar_read(t, off, 4, &v);

		if (r < 0)
			return r;
		if (!((uint32_t)v & mask))
			return 0;
		if (e2e_now_ms() > deadline)
			return -ETIMEDOUT;
		e2e_sleep_ms(2);
	}
}

int e2e_set_irqs(int device, uint32_t flags, uint32_t index, uint32_t start, uint32_t count,
		 const void *data, size_t data_size)
{
	union {
		struct vfio_irq_set s;
		uint8_t raw[sizeof(struct vfio_irq_set) + 64];
	} u;

	if (data_size > 64)
		return -E2BIG;
	memset(&u, 0, sizeof(u));
	u.s.argsz = (uint32_t)(sizeof(struct vfio_irq_set) + data_size);
	u.s.flags = flags;
	u.s.index = index;
	u.s.start = start;
	u.s.count = count;
	if (data_size)
		memcpy(u.s.data, data, data_size);
	return e2e_ioctl(device, VFIO_DEVICE_SET_IRQS, &u.s);
}

/* ---- DMA map helpers ---- */

int e2e_map(struct e2e *t, const char *step, const char *vaddr_label, uint64_t vaddr,
	    uint64_t iova, uint64_t size, uint32_t flags)
{
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m), .flags = flags, .vaddr = vaddr, .iova = iova, .size = size,
	};
	int r = e2e_ioctl(t->container, VFIO_IOMMU_MAP_DMA, &m);

	e2e_out(step, "vaddr=%s iova=0x%" PRIx64 " size=0x%" PRIx64 " flags=0x%x %s", vaddr_label,
		iova, size, flags, RC(r));
	return r;
}

int e2e_unmap(struct e2e *t, const char *step, uint64_t iova, uint64_t size, uint32_t flags,
	      uint64_t *ret_size)
{
	struct vfio_iommu_type1_dma_unmap u = {
		.argsz = sizeof(u), .flags = flags, .iova = iova, .size = size,
	};
	int r = e2e_ioctl(t->container, VFIO_IOMMU_UNMAP_DMA, &u);

	e2e_out(step, "iova=0x%" PRIx64 " size=0x%" PRIx64 " flags=0x%x %s size_out=0x%llx", iova,
		size, flags, RC(r), (unsigned long long)u.size);
	if (r >= 0 && ret_size)
		*ret_size = u.size;
	return r;
}

/* ---- IOMMU info caps ---- */

static const char *iommu_cap_name(uint16_t id)
{
	switch (id) {
	case VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE: return "IOVA_RANGE";
	case VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION: return "MIGRATION";
	case VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL: return "DMA_AVAIL";
	default: return "UNKNOWN";
	}
}

/*
 * Capabilities are only 4-byte aligned in some kernels (6.1 packs a 12-byte
 * DMA_AVAIL before IOVA_RANGE), so every field is copied out with memcpy.
 */
void e2e_print_iommu_caps(struct e2e *t, const void *buf, size_t size, uint32_t cap_offset)
{
	const uint8_t *base = buf;
	uint32_t off = cap_offset;
	unsigned n = 0;

	while (off) {
		struct vfio_info_cap_header h;

		if (off < sizeof(struct vfio_iommu_type1_info) || off > size ||
		    size - off < sizeof(h) || ++n > 32) {
			e2e_fail(t, "iommu cap chain: bad offset %u (size %zu)", off, size);
			return;
		}
		memcpy(&h, base + off, sizeof(h));
		switch (h.id) {
		case VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE: {
			struct vfio_iommu_type1_info_cap_iova_range c;

			if (size - off < sizeof(c)) {
				e2e_fail(t, "iommu cap IOVA_RANGE truncated");
				return;
			}
			memcpy(&c, base + off, sizeof(c));
			if ((size - off - sizeof(c)) / sizeof(struct vfio_iova_range) < c.nr_iovas) {
				e2e_fail(t, "iommu cap IOVA_RANGE truncated");
				return;
			}
			e2e_out("iommu.cap", "off=%u id=%s(%u) version=%u next=%u nr_iovas=%u reserved=%u",
				off, iommu_cap_name(h.id), h.id, h.version, h.next, c.nr_iovas,
				c.reserved);
			for (uint32_t i = 0; i < c.nr_iovas; i++) {
				struct vfio_iova_range rg;

				memcpy(&rg, base + off + sizeof(c) + i * sizeof(rg), sizeof(rg));
				e2e_out("iommu.iova_range", "index=%u start=0x%llx end=0x%llx", i,
					(unsigned long long)rg.start, (unsigned long long)rg.end);
			}
			break;
		}
		case VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION: {
			struct vfio_iommu_type1_info_cap_migration c;

			if (size - off < sizeof(c)) {
				e2e_fail(t, "iommu cap MIGRATION truncated");
				return;
			}
			memcpy(&c, base + off, sizeof(c));
			e2e_out("iommu.cap",
				"off=%u id=%s(%u) version=%u next=%u flags=0x%x pgsize_bitmap=0x%llx max_dirty_bitmap_size=0x%llx",
				off, iommu_cap_name(h.id), h.id, h.version, h.next, c.flags,
				(unsigned long long)c.pgsize_bitmap,
				(unsigned long long)c.max_dirty_bitmap_size);
			break;
		}
		case VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL: {
			struct vfio_iommu_type1_info_dma_avail c;

			if (size - off < sizeof(c)) {
				e2e_fail(t, "iommu cap DMA_AVAIL truncated");
				return;
			}
			memcpy(&c, base + off, sizeof(c));
			e2e_out("iommu.cap", "off=%u id=%s(%u) version=%u next=%u avail=%u", off,
				iommu_cap_name(h.id), h.id, h.version, h.next, c.avail);
			break;
		}
		default:
			e2e_out("iommu.cap", "off=%u id=%s(%u) version=%u next=%u", off,
				iommu_cap_name(h.id), h.id, h.version, h.next);
			break;
		}
		off = h.next;
	}
}

void e2e_print_dma_avail(struct e2e *t, const char *step)
{
	struct vfio_iommu_type1_info hdr = { .argsz = sizeof(hdr) };
	struct vfio_iommu_type1_info *info;
	uint32_t off;
	unsigned n = 0;
	int r;

	r = e2e_ioctl(t->container, VFIO_IOMMU_GET_INFO, &hdr);
	if (r < 0 || hdr.argsz <= sizeof(hdr) || hdr.argsz > 65536) {
		e2e_out(step, "%s argsz=%u avail=none", RC(r), hdr.argsz);
		return;
	}
	info = calloc(1, hdr.argsz);
	if (!info) {
		e2e_fail(t, "out of memory");
		return;
	}
	info->argsz = hdr.argsz;
	r = e2e_ioctl(t->container, VFIO_IOMMU_GET_INFO, info);
	for (off = r < 0 ? 0 : info->cap_offset; off; n++) {
		struct vfio_iommu_type1_info_dma_avail c;

		if (off < sizeof(*info) || off > hdr.argsz ||
		    hdr.argsz - off < sizeof(struct vfio_info_cap_header) || n > 32)
			break;
		memset(&c, 0, sizeof(c));
		memcpy(&c, (uint8_t *)info + off,
		       hdr.argsz - off < sizeof(c) ? sizeof(c.header) : sizeof(c));
		if (c.header.id == VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL && hdr.argsz - off >= sizeof(c)) {
			e2e_out(step, "%s avail=%u", RC(r), c.avail);
			free(info);
			return;
		}
		off = c.header.next;
	}
	e2e_out(step, "%s avail=none", RC(r));
	free(info);
}
