/* SPDX-License-Identifier: MIT */
/*
 * Device files: what GROUP_GET_DEVICE_FD hands out. The first open of a
 * device uses its group's container (as the kernel's
 * vfio_group_use_container(): the container needs an IOMMU) and holds the
 * group open; the last close gives both back. Device ioctls are the
 * vfio-pci set: info, region info, irq info, SET_IRQS, reset, hot reset,
 * and DEVICE_FEATURE.
 *
 * Must support container/group/device being closed in any order.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vfc-log.h"
#include "vfc-private.h"

int vfc_device_open_file(struct vfc_device *dev, struct vfc_device_file **ret)
{
	struct vfc_group *g = dev->group;
	struct vfc_core *core = g->core;
	struct vfc_device_file *df;
	bool first;
	int r = 0;

	df = calloc(1, sizeof(*df));
	if (!df)
		return -ENOMEM;
	pthread_mutex_lock(&dev->open_lock);
	pthread_mutex_lock(&core->lock);
	if (!g->container) {
		vfc_info("device \"%s\": GET_DEVICE_FD: group %u has no container", dev->name, g->id);
		r = -EINVAL;
	} else if (dev->open_count == 0 && !g->container->driver) {
		vfc_info("device \"%s\": GET_DEVICE_FD: container %lu has no IOMMU set",
			 dev->name, g->container->id);
		r = -EINVAL;
	}
	if (r < 0) {
		pthread_mutex_unlock(&core->lock);
		pthread_mutex_unlock(&dev->open_lock);
		free(df);
		return r;
	}
	first = dev->open_count++ == 0;
	if (first) {
		g->container_users++;
		g->open_refs++;
	}
	pthread_mutex_unlock(&core->lock);

	if (first) {
		r = dev->ops->open_device ? dev->ops->open_device(dev->priv, dev) : 0;
		if (r < 0) {
			vfc_info("device \"%s\": open failed: %s", dev->name, strerror(-r));
			pthread_mutex_lock(&core->lock);
			dev->open_count--;
			g->container_users--;
			vfc_group_put_open_locked(g);
			pthread_mutex_unlock(&core->lock);
			pthread_mutex_unlock(&dev->open_lock);
			free(df);
			return r;
		}
	}
	pthread_mutex_unlock(&dev->open_lock);
	df->dev = dev;
	df->refs = 1;
	*ret = df;
	return 0;
}

struct vfc_device_file *vfc_device_file_ref(struct vfc_device_file *df)
{
	if (!df)
		return NULL;
	pthread_mutex_lock(&df->dev->group->core->lock);
	df->refs++;
	pthread_mutex_unlock(&df->dev->group->core->lock);
	return df;
}

struct vfc_device_file *vfc_device_file_unref(struct vfc_device_file *df)
{
	struct vfc_device *dev;
	struct vfc_core *core;
	bool gone;

	if (!df)
		return NULL;
	dev = df->dev;
	core = dev->group->core;
	pthread_mutex_lock(&core->lock);
	gone = --df->refs == 0;
	pthread_mutex_unlock(&core->lock);
	if (!gone)
		return NULL;
	free(df);

	pthread_mutex_lock(&dev->open_lock);
	pthread_mutex_lock(&core->lock);
	bool last = --dev->open_count == 0;
	pthread_mutex_unlock(&core->lock);
	if (last) {
		/* Without the core lock: the device may be waiting on it for DMA. */
		if (dev->ops->close_device)
			dev->ops->close_device(dev->priv);
		pthread_mutex_lock(&core->lock);
		dev->group->container_users--;
		vfc_group_put_open_locked(dev->group);
		pthread_mutex_unlock(&core->lock);
		vfc_debug("device \"%s\": closed", dev->name);
	}
	pthread_mutex_unlock(&dev->open_lock);
	return NULL;
}

struct vfc_device *vfc_device_file_device(struct vfc_device_file *df)
{
	return df->dev;
}

int vfc_device_dma_rw(struct vfc_device *dev, uint64_t iova, void *buf, size_t len, bool write)
{
	struct vfc_core *core = dev->group->core;
	struct vfc_container *c;
	int r;

	pthread_mutex_lock(&core->lock);
	c = dev->open_count ? dev->group->container : NULL;
	if (c)
		c->refs++;
	pthread_mutex_unlock(&core->lock);
	if (!c)
		return -ENODEV;
	pthread_rwlock_rdlock(&c->iommu_lock);
	if (c->driver && c->driver->ops->dma_rw)
		r = c->driver->ops->dma_rw(c->iommu_data, iova, buf, len, write);
	else
		r = -ENODEV;
	pthread_rwlock_unlock(&c->iommu_lock);
	vfc_container_unref(c);
	return r;
}

int vfc_device_match_pci(struct vfc_device *dev, const char *buf)
{
	size_t n = strlen(dev->name);

	if (strncmp(dev->name, buf, n))
		return 0;
	if (buf[n] == '\0')
		return 1;
	if (buf[n] != ' ')
		return 0;
	/* Options follow: only vf_token= exists, and we have no PF/VF. */
	vfc_info("device \"%s\": GET_DEVICE_FD: options \"%.64s\" refused (no SR-IOV)",
		 dev->name, buf + n + 1);
	return -EINVAL;
}

static int device_ioctl_get_info(struct vfc_device *dev, struct vfc_ioctl *io)
{
	const size_t minsz = vfc_offsetofend(struct vfio_device_info, num_irqs);
	struct vfio_device_info info = { 0 };
	struct vfc_caps caps = { 0 };
	size_t copy;
	int r;

	r = vfc_ioctl_need(io, minsz, minsz);
	if (r)
		return r;
	memcpy(&info, io->in, minsz);
	if (info.argsz < minsz) {
		vfc_info("device \"%s\": GET_INFO: argsz %u < %zu", dev->name, info.argsz, minsz);
		return -EINVAL;
	}
	copy = VFC_MIN((size_t)info.argsz, sizeof(info));
	r = vfc_ioctl_need(io, minsz, copy);
	if (r)
		return r;
	info.flags = dev->info.flags & ~VFIO_DEVICE_FLAGS_CAPS;
	info.num_regions = dev->info.num_regions;
	info.num_irqs = dev->info.num_irqs;
	r = vfc_reply_info_with_caps(io, &info, sizeof(info), copy, &info.flags,
				     VFIO_DEVICE_FLAGS_CAPS, &info.cap_offset, &caps);
	vfc_caps_clear(&caps);
	return r;
}

static int device_ioctl_get_region_info(struct vfc_device *dev, struct vfc_ioctl *io)
{
	const size_t minsz = vfc_offsetofend(struct vfio_region_info, offset);
	struct vfio_region_info info;
	struct vfc_caps caps = { 0 };
	int r;

	r = vfc_ioctl_need(io, minsz, minsz);
	if (r)
		return r;
	memcpy(&info, io->in, minsz);
	if (info.argsz < minsz) {
		vfc_info("device \"%s\": GET_REGION_INFO: argsz %u < %zu", dev->name, info.argsz,
			 minsz);
		return -EINVAL;
	}
	if (info.index >= dev->info.num_regions) {
		vfc_info("device \"%s\": GET_REGION_INFO: index %u >= %u", dev->name, info.index,
			 dev->info.num_regions);
		return -EINVAL;
	}
	info.offset = VFC_REGION_OFFSET(info.index);
	info.flags = 0;
	info.size = 0;
	r = dev->ops->get_region_info(dev->priv, &info, &caps);
	if (r < 0) {
		vfc_info("device \"%s\": GET_REGION_INFO: index %u: %s", dev->name, info.index,
			 strerror(-r));
		vfc_caps_clear(&caps);
		return r;
	}
	/* MMAP only where the device can hand out a file to map. */
	info.flags &= ~(uint32_t)VFIO_REGION_INFO_FLAG_CAPS;
	if (!dev->ops->region_mmap)
		info.flags &= ~(uint32_t)VFIO_REGION_INFO_FLAG_MMAP;
	r = vfc_reply_info_with_caps(io, &info, sizeof(info), minsz, &info.flags,
				     VFIO_REGION_INFO_FLAG_CAPS, &info.cap_offset, &caps);
	vfc_caps_clear(&caps);
	return r;
}

static int device_ioctl_get_irq_info(struct vfc_device *dev, struct vfc_ioctl *io)
{
	const size_t minsz = vfc_offsetofend(struct vfio_irq_info, count);
	struct vfio_irq_info info;
	int r;

	r = vfc_ioctl_need(io, minsz, minsz);
	if (r)
		return r;
	memcpy(&info, io->in, minsz);
	if (info.argsz < minsz || info.index >= dev->info.num_irqs) {
		vfc_info("device \"%s\": GET_IRQ_INFO: argsz %u, index %u: invalid", dev->name,
			 info.argsz, info.index);
		return -EINVAL;
	}
	info.flags = 0;
	info.count = 0;
	r = dev->ops->get_irq_info(dev->priv, &info);
	if (r < 0) {
		vfc_info("device \"%s\": GET_IRQ_INFO: index %u: %s", dev->name, info.index,
			 strerror(-r));
		return r;
	}
	vfc_ioctl_reply(io, &info, minsz);
	return 0;
}

/* Resolve @count client eventfds into local ones, or error markers. */
static void device_resolve_eventfds(struct vfc_device *dev, struct vfc_ioctl *io,
				    const int32_t *client, int32_t *local, unsigned int count)
{
	for (unsigned int i = 0; i < count; i++) {
		int fd;

		if (client[i] < 0) {
			local[i] = -1;
			continue;
		}
		fd = -EBADF;
		if (io->caller && io->caller->ops && io->caller->ops->get_eventfd)
			fd = io->caller->ops->get_eventfd(io->caller, client[i]);
		if (fd == -EINVAL) {
			vfc_info("device \"%s\": SET_IRQS: fd %d is not an eventfd", dev->name,
				 client[i]);
			local[i] = VFC_IRQ_FD_ERROR(EINVAL);
		} else if (fd < 0) {
			vfc_info("device \"%s\": SET_IRQS: fd %d: %s", dev->name, client[i],
				 fd == -EBADF ? "not open in the caller" : strerror(-fd));
			local[i] = VFC_IRQ_FD_ERROR(-fd);
		} else {
			local[i] = fd;
		}
	}
}

static int device_ioctl_set_irqs(struct vfc_device *dev, struct vfc_ioctl *io)
{
	const size_t minsz = vfc_offsetofend(struct vfio_irq_set, count);
	const uint32_t known = VFIO_IRQ_SET_DATA_TYPE_MASK | VFIO_IRQ_SET_ACTION_TYPE_MASK;
	_cleanup_free_ int32_t *fds = NULL;
	struct vfio_irq_set hdr;
	struct vfio_irq_info irq = { .argsz = sizeof(irq) };
	unsigned int max = 0;
	size_t size, data_size = 0;
	int r;

	r = vfc_ioctl_need(io, minsz, 0);
	if (r)
		return r;
	memcpy(&hdr, io->in, minsz);
	if (hdr.index < dev->info.num_irqs) {
		irq.index = hdr.index;
		if (dev->ops->get_irq_info(dev->priv, &irq) >= 0)
			max = irq.count;
	}
	/* vfio_set_irqs_validate_and_prepare(), check for check. */
	if (hdr.argsz < minsz || hdr.index >= dev->info.num_irqs ||
	    hdr.count >= UINT32_MAX - hdr.start || (hdr.flags & ~known)) {
		vfc_info("device \"%s\": SET_IRQS: argsz %u flags 0x%x index %u start %u count %u: invalid",
			 dev->name, hdr.argsz, hdr.flags, hdr.index, hdr.start, hdr.count);
		return -EINVAL;
	}
	if (hdr.start >= max || hdr.start + hdr.count > max) {
		vfc_info("device \"%s\": SET_IRQS: index %u start %u count %u beyond %u vectors",
			 dev->name, hdr.index, hdr.start, hdr.count, max);
		return -EINVAL;
	}
	switch (hdr.flags & VFIO_IRQ_SET_DATA_TYPE_MASK) {
	case VFIO_IRQ_SET_DATA_NONE:
		size = 0;
		break;
	case VFIO_IRQ_SET_DATA_BOOL:
		size = sizeof(uint8_t);
		break;
	case VFIO_IRQ_SET_DATA_EVENTFD:
		size = sizeof(int32_t);
		break;
	default:
		vfc_info("device \"%s\": SET_IRQS: flags 0x%x name no single data type",
			 dev->name, hdr.flags);
		return -EINVAL;
	}
	if (size) {
		data_size = (size_t)hdr.count * size;
		if (hdr.argsz - minsz < data_size) {
			vfc_info("device \"%s\": SET_IRQS: argsz %u too small for %u entries",
				 dev->name, hdr.argsz, hdr.count);
			return -EINVAL;
		}
		r = vfc_ioctl_need(io, minsz + data_size, 0);
		if (r)
			return r;
	}
	if (size == sizeof(int32_t)) {
		fds = malloc(data_size ? data_size : 1);
		if (!fds)
			return -ENOMEM;
		device_resolve_eventfds(dev, io, (const int32_t *)((const uint8_t *)io->in + minsz),
					fds, hdr.count);
	}
	r = dev->ops->set_irqs(dev->priv, hdr.flags, hdr.index, hdr.start, hdr.count,
			       fds ? (const void *)fds : (const uint8_t *)io->in + minsz);
	if (r < 0)
		vfc_info("device \"%s\": SET_IRQS: flags 0x%x index %u start %u count %u: %s",
			 dev->name, hdr.flags, hdr.index, hdr.start, hdr.count, strerror(-r));
	if (fds)
		for (unsigned int i = 0; i < hdr.count; i++)
			if (fds[i] >= 0)
				close(fds[i]);
	return r;
}

static int device_ioctl_reset(struct vfc_device *dev, struct vfc_ioctl *io)
{
	if (!dev->ops->reset || !(dev->info.flags & VFIO_DEVICE_FLAGS_RESET)) {
		vfc_info("device \"%s\": RESET: not supported", dev->name);
		return -EINVAL;
	}
	return dev->ops->reset(dev->priv);
}

/*
 * vfio-pci answers ENODEV when neither a slot nor a bus reset is possible,
 * as for a device on a root bus (QEMU's edu on q35). Ours are all there.
 */
static int device_ioctl_hot_reset_info(struct vfc_device *dev, struct vfc_ioctl *io)
{
	const size_t minsz = vfc_offsetofend(struct vfio_pci_hot_reset_info, count);
	struct vfio_pci_hot_reset_info hdr;
	int r;

	r = vfc_ioctl_need(io, minsz, 0);
	if (r)
		return r;
	memcpy(&hdr, io->in, minsz);
	if (hdr.argsz < minsz) {
		vfc_info("device \"%s\": GET_PCI_HOT_RESET_INFO: argsz %u < %zu", dev->name,
			 hdr.argsz, minsz);
		return -EINVAL;
	}
	return -ENODEV;
}

static int device_ioctl_hot_reset(struct vfc_device *dev, struct vfc_ioctl *io)
{
	const size_t minsz = vfc_offsetofend(struct vfio_pci_hot_reset, count);
	struct vfio_pci_hot_reset hdr;
	int r;

	r = vfc_ioctl_need(io, minsz, 0);
	if (r)
		return r;
	memcpy(&hdr, io->in, minsz);
	/* A group-opened device must name its groups: count 0 is invalid. */
	if (hdr.argsz < minsz || hdr.flags || hdr.count == 0) {
		vfc_info("device \"%s\": PCI_HOT_RESET: argsz %u flags 0x%x count %u: invalid",
			 dev->name, hdr.argsz, hdr.flags, hdr.count);
		return -EINVAL;
	}
	return -ENODEV;
}

static int device_ioctl_feature(struct vfc_device *dev, struct vfc_ioctl *io)
{
	const size_t minsz = vfc_offsetofend(struct vfio_device_feature, flags);
	const uint32_t known = VFIO_DEVICE_FEATURE_MASK | VFIO_DEVICE_FEATURE_SET |
			       VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_PROBE;
	struct vfio_device_feature feature;
	int r;

	r = vfc_ioctl_need(io, minsz, 0);
	if (r)
		return r;
	memcpy(&feature, io->in, minsz);
	if (feature.argsz < minsz || (feature.flags & ~known) ||
	    (!(feature.flags & VFIO_DEVICE_FEATURE_PROBE) &&
	     (feature.flags & VFIO_DEVICE_FEATURE_SET) && (feature.flags & VFIO_DEVICE_FEATURE_GET))) {
		vfc_info("device \"%s\": DEVICE_FEATURE: argsz %u flags 0x%x: invalid", dev->name,
			 feature.argsz, feature.flags);
		return -EINVAL;
	}
	/* No migration, dirty logging, low power or VF token: ENOTTY, as for
	 * a device without those ops. */
	vfc_debug("device \"%s\": DEVICE_FEATURE %u: not supported", dev->name,
		  feature.flags & VFIO_DEVICE_FEATURE_MASK);
	return -ENOTTY;
}

static int device_ioctl_unsupported(struct vfc_device *dev, struct vfc_ioctl *io)
{
	vfc_info("device \"%s\": ioctl 0x%x (%s) not supported", dev->name, io->cmd,
		 io->desc->name);
	return -ENOTTY;
}

/*
 * A device's ioctls (vfc-file.h). SET_IRQS resolves the caller's eventfds;
 * it does not nest: get_eventfd hands back eventfds only and disposes of
 * any other file without a request to the transport (vfc-core.h). The
 * numbers vfio-pci has but we refuse are listed, so that logs and traces
 * name them; the last row serves the rest.
 */
#define ROW(c, n, f, r, h) { .cmd = c, .name = n, .flags = f, .max_retries = r, .fn.device = h }
const struct vfc_ioctl_desc vfc_device_ioctls[] = {
	ROW(VFIO_DEVICE_GET_INFO, "DEVICE_GET_INFO", 0, 2, device_ioctl_get_info),
	ROW(VFIO_DEVICE_GET_REGION_INFO, "DEVICE_GET_REGION_INFO", 0, 2,
	    device_ioctl_get_region_info),
	ROW(VFIO_DEVICE_GET_IRQ_INFO, "DEVICE_GET_IRQ_INFO", 0, 1, device_ioctl_get_irq_info),
	ROW(VFIO_DEVICE_SET_IRQS, "DEVICE_SET_IRQS", VFC_IOCTL_CALLER, 2,
	    device_ioctl_set_irqs),
	ROW(VFIO_DEVICE_RESET, "DEVICE_RESET", 0, 0, device_ioctl_reset),
	ROW(VFIO_DEVICE_FEATURE, "DEVICE_FEATURE", 0, 1, device_ioctl_feature),
	ROW(VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, "DEVICE_GET_PCI_HOT_RESET_INFO", VFC_IOCTL_PCI, 1,
	    device_ioctl_hot_reset_info),
	ROW(VFIO_DEVICE_PCI_HOT_RESET, "DEVICE_PCI_HOT_RESET", VFC_IOCTL_CALLER | VFC_IOCTL_PCI, 1,
	    device_ioctl_hot_reset),
	ROW(VFIO_DEVICE_QUERY_GFX_PLANE, "DEVICE_QUERY_GFX_PLANE", 0, 0, device_ioctl_unsupported),
	ROW(VFIO_DEVICE_GET_GFX_DMABUF, "DEVICE_GET_GFX_DMABUF", 0, 0, device_ioctl_unsupported),
	ROW(VFIO_DEVICE_IOEVENTFD, "DEVICE_IOEVENTFD", 0, 0, device_ioctl_unsupported),
	ROW(0, "unknown", 0, 0, device_ioctl_unsupported),
};
const size_t vfc_device_n_ioctls = VFC_ARRAY_SIZE(vfc_device_ioctls);
#undef ROW

int vfc_device_file_mmap(struct vfc_device_file *df, uint64_t off, uint64_t len, bool shared,
			 int *ret_fd, uint64_t *ret_off)
{
	const uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	struct vfc_device *dev = df->dev;
	unsigned int index = VFC_REGION_INDEX(off);
	struct vfio_region_info info = { .argsz = sizeof(info), .index = index };
	struct vfc_caps caps = { 0 };
	uint64_t start = off & VFC_REGION_MASK, phys_len;
	int r;

	/* mmap(2)'s own checks come first, then vfio_pci_core_mmap()'s. */
	if (!len || off % page) {
		vfc_info("device \"%s\": mmap at 0x%llx, %llu bytes: %s", dev->name,
			 (unsigned long long)off, (unsigned long long)len,
			 len ? "offset not page-aligned" : "empty");
		return -EINVAL;
	}
	if (index >= dev->info.num_regions || !shared || index >= VFIO_PCI_ROM_REGION_INDEX ||
	    !dev->ops->region_mmap) {
		vfc_info("device \"%s\": mmap of region %u: %s", dev->name, index,
			 !shared ? "not MAP_SHARED" : "not a mappable region");
		return -EINVAL;
	}
	info.offset = VFC_REGION_OFFSET(index);
	r = dev->ops->get_region_info(dev->priv, &info, &caps);
	vfc_caps_clear(&caps);
	if (r < 0 || !(info.flags & VFIO_REGION_INFO_FLAG_MMAP)) {
		vfc_info("device \"%s\": mmap of region %u: not mappable", dev->name, index);
		return -EINVAL;
	}
	phys_len = (info.size + page - 1) / page * page;
	if (len > phys_len || start > phys_len - len) {
		vfc_info("device \"%s\": mmap of region %u at 0x%llx, %llu bytes: past its %llu",
			 dev->name, index, (unsigned long long)start, (unsigned long long)len,
			 (unsigned long long)phys_len);
		return -EINVAL;
	}
	return dev->ops->region_mmap(dev->priv, index, start, len, ret_fd, ret_off);
}

ssize_t vfc_device_file_rw(struct vfc_device_file *df, uint64_t off, void *buf, size_t len,
			   bool write)
{
	struct vfc_device *dev = df->dev;
	unsigned int index = VFC_REGION_INDEX(off);

	if (index >= dev->info.num_regions) {
		vfc_info("device \"%s\": %s at 0x%llx: no such region", dev->name,
			 write ? "write" : "read", (unsigned long long)off);
		return -EINVAL;
	}
	if (!len)
		return 0;
	return dev->ops->region_rw(dev->priv, index, off & VFC_REGION_MASK, buf, len, write);
}
