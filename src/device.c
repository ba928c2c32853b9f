/* SPDX-License-Identifier: MIT */
/*
 * Device files: what GROUP_GET_DEVICE_FD hands out. The first open of a
 * device uses its group's container (as the kernel's
 * vfio_group_use_container(): the container needs an IOMMU) and holds the
 * group open; the last close gives both back. Device ioctls are the
 * vfio-pci set: info, region info, irq info, SET_IRQS, reset, hot reset
 * (device-reset.c), and DEVICE_FEATURE (forwarded ones in
 * device-feature.c).
 *
 * Must support container/group/device being closed in any order.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/uio.h>

#include "vfc-fault.h"
#include "vfc-log.h"
#include "vfc-private.h"
#include "vfc-trace.h"

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
			/* -1 de-assigns; the kernel's ERR and REQ leave their
			 * trigger alone for other negative values. */
			local[i] = client[i] == -1 ? -1 : -2;
			continue;
		}
		fd = -EBADF;
		if (io->caller && io->caller->ops && io->caller->ops->get_eventfd)
			fd = io->caller->ops->get_eventfd(io->caller, client[i]);
		if (vfc_trace_on())
			vfc_trace_note("fd%d=%s", client[i], fd >= 0 ? "eventfd" :
				       fd == -EINVAL ? "not-an-eventfd" : "EBADF");
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
	if (vfc_fault_any()) {
		int r = vfc_fault_reset(dev->name, (int)dev->group->id, "DEVICE_RESET");

		if (r) {
			io->injected = true;
			return r;
		}
	}
	return dev->ops->reset(dev->priv);
}

/* vfio_check_feature(): 1 to go on, else the answer (0 for a probe). */
int vfc_feature_check(uint32_t flags, size_t argsz, uint32_t ops, size_t minsz)
{
	if ((flags & (VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_SET)) & ~ops)
		return -EINVAL;
	if (flags & VFIO_DEVICE_FEATURE_PROBE)
		return 0;
	if (!(flags & (VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_SET)))
		return -EINVAL;
	if (argsz < minsz)
		return -EINVAL;
	return 1;
}

/*
 * One eventfd named in an argument: a local duplicate, or the caller's
 * errno (-EBADF not open, -EINVAL no eventfd), logged once here.
 */
static int device_get_eventfd(struct vfc_device *dev, struct vfc_ioctl *io, const char *what,
			      int32_t fd)
{
	int r = -EBADF;

	if (io->caller && io->caller->ops && io->caller->ops->get_eventfd)
		r = io->caller->ops->get_eventfd(io->caller, fd);
	if (vfc_trace_on())
		vfc_trace_note("fd%d=%s", fd, r >= 0 ? "eventfd" : r == -EINVAL ? "not-an-eventfd" :
			       "EBADF");
	if (r < 0)
		vfc_info("device \"%s\": %s: fd %d: %s", dev->name, what, fd,
			 r == -EBADF ? "not open in the caller" :
			 r == -EINVAL ? "not an eventfd" : strerror(-r));
	return r;
}

/*
 * The caller's memory outside the argument, where the kernel follows a
 * pointer inside it (DMA logging's ranges and report bitmap). The retry
 * protocol reaches only the argument, so these bytes move with
 * process_vm_readv/writev on the calling process, which the transport
 * holds still for the request (vfc_caller.pid), as the emulated IOMMU
 * reaches mapped memory. @n iovecs of the caller, @local the same total.
 * Return: 0, or -EFAULT when any byte did not move (logged).
 */
int vfc_device_caller_rw(struct vfc_device *dev, struct vfc_ioctl *io, void *local, size_t len,
		     const struct iovec *remote, unsigned long n, bool write)
{
	struct iovec l = { .iov_base = local, .iov_len = len };
	pid_t pid = io->caller ? io->caller->pid : 0;
	ssize_t r;

	if (!len)
		return 0;
	if (pid <= 0) {
		vfc_info("device \"%s\": DEVICE_FEATURE: the caller's memory is out of reach (no pid)",
			 dev->name);
		return -EFAULT;
	}
	r = write ? process_vm_writev(pid, &l, 1, remote, n, 0)
		  : process_vm_readv(pid, &l, 1, remote, n, 0);
	if (r == (ssize_t)len)
		return 0;
	if (r < 0 && errno != EFAULT)
		vfc_info("device \"%s\": DEVICE_FEATURE: %s the memory of caller %d: %s",
			 dev->name, write ? "writing" : "reading", (int)pid, strerror(errno));
	else
		vfc_info("device \"%s\": DEVICE_FEATURE: bad address in caller %d", dev->name,
			 (int)pid);
	return -EFAULT;
}

/* vfio_pci_core_pm_entry() and _with_wakeup(), vfio_pci_core_pm_exit(). */
int vfc_device_feature_low_power(struct vfc_device *dev, struct vfc_ioctl *io,
				    uint32_t feature, uint32_t flags, size_t argsz)
{
	struct vfio_device_low_power_entry_with_wakeup entry;
	bool wakeup = feature == VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP;
	int fd, r;

	r = vfc_feature_check(flags, argsz, VFIO_DEVICE_FEATURE_SET, wakeup ? sizeof(entry) : 0);
	if (r != 1)
		return r;
	if (feature == VFIO_DEVICE_FEATURE_LOW_POWER_EXIT)
		return dev->ops->pm_exit(dev->priv);
	if (!wakeup)
		r = dev->ops->pm_entry(dev->priv, -1);
	else {
		r = vfc_feature_need(io, sizeof(entry), 0);
		if (r)
			return r;
		memcpy(&entry, vfc_feature_data(io), sizeof(entry));
		if (entry.wakeup_eventfd < 0) {
			vfc_info("device \"%s\": LOW_POWER_ENTRY_WITH_WAKEUP: fd %d", dev->name,
				 entry.wakeup_eventfd);
			return -EINVAL;
		}
		fd = device_get_eventfd(dev, io, "LOW_POWER_ENTRY_WITH_WAKEUP",
					entry.wakeup_eventfd);
		if (fd < 0)
			return fd;
		r = dev->ops->pm_entry(dev->priv, fd);
		close(fd);
	}
	if (r < 0)
		vfc_info("device \"%s\": LOW_POWER_ENTRY: %s", dev->name,
			 r == -EINVAL ? "already in low power" : strerror(-r));
	return r;
}

/* The kernel's LOG_MAX_RANGES: the ranges that fit in one page. */
size_t vfc_log_max_ranges(void)
{
	return (size_t)sysconf(_SC_PAGESIZE) / sizeof(struct vfio_device_feature_dma_logging_range);
}

static bool log_aligned(uint64_t v, uint64_t page_size)
{
	return (v & (page_size - 1)) == 0;	/* IS_ALIGNED(), for any page_size */
}

/* vfio_ioctl_device_feature_logging_start(), check for check. */
static int device_feature_log_start(struct vfc_device *dev, struct vfc_ioctl *io,
				    uint32_t flags, size_t argsz)
{
	struct vfio_device_feature_dma_logging_control control;
	_cleanup_free_ struct vfio_device_feature_dma_logging_range *ranges = NULL;
	struct iovec remote;
	uint64_t page_size;
	size_t n, readable;
	int r;

	r = vfc_feature_check(flags, argsz, VFIO_DEVICE_FEATURE_SET, sizeof(control));
	if (r != 1)
		return r;
	r = vfc_feature_need(io, sizeof(control), sizeof(control));
	if (r)
		return r;
	memcpy(&control, vfc_feature_data(io), sizeof(control));
	n = control.num_ranges;
	if (!n || n > vfc_log_max_ranges()) {
		vfc_info("device \"%s\": DMA_LOGGING_START: %zu ranges (1 to %zu)", dev->name, n,
			 vfc_log_max_ranges());
		return n ? -E2BIG : -EINVAL;
	}
	ranges = calloc(n, sizeof(*ranges));
	if (!ranges)
		return -ENOMEM;
	/* The kernel copies one range at a time and checks it: find how many
	 * are readable, check those, and fault only past the last good one. */
	remote = (struct iovec){ .iov_base = (void *)(uintptr_t)control.ranges,
				 .iov_len = n * sizeof(*ranges) };
	readable = n;
	if (vfc_device_caller_rw(dev, io, ranges, n * sizeof(*ranges), &remote, 1, false) < 0) {
		readable = 0;
		for (size_t i = 0; i < n; i++) {
			remote = (struct iovec){
				.iov_base = (void *)(uintptr_t)(control.ranges + i * sizeof(*ranges)),
				.iov_len = sizeof(*ranges) };
			if (vfc_device_caller_rw(dev, io, &ranges[i], sizeof(*ranges), &remote, 1, false) < 0)
				break;
			readable++;
		}
	}
	for (size_t i = 0; i < readable; i++) {
		uint64_t last;

		if (!log_aligned(ranges[i].iova, control.page_size) ||
		    !log_aligned(ranges[i].length, control.page_size)) {
			vfc_info("device \"%s\": DMA_LOGGING_START: range %zu (0x%llx, 0x%llx) not aligned to page size 0x%llx",
				 dev->name, i, (unsigned long long)ranges[i].iova,
				 (unsigned long long)ranges[i].length,
				 (unsigned long long)control.page_size);
			return -EINVAL;
		}
		if (ranges[i].iova + ranges[i].length < ranges[i].iova) {
			vfc_info("device \"%s\": DMA_LOGGING_START: range %zu wraps", dev->name, i);
			return -EOVERFLOW;
		}
		/* The interval tree's closed intervals, with its arithmetic. */
		last = ranges[i].iova + ranges[i].length - 1;
		for (size_t j = 0; j < i; j++) {
			uint64_t jlast = ranges[j].iova + ranges[j].length - 1;

			if (ranges[j].iova <= last && ranges[i].iova <= jlast) {
				vfc_info("device \"%s\": DMA_LOGGING_START: range %zu overlaps range %zu",
					 dev->name, i, j);
				return -EINVAL;
			}
		}
	}
	if (readable < n)
		return -EFAULT;
	page_size = control.page_size;
	r = dev->ops->log_start(dev->priv, ranges, (unsigned int)n, &page_size);
	control.page_size = page_size;
	if (r < 0) {
		vfc_info("device \"%s\": DMA_LOGGING_START: %s", dev->name,
			 r == -EINVAL ? "already logging" : strerror(-r));
		return r;
	}
	/* copy_to_user(arg->data, &control): the header goes back unchanged. */
	{
		uint8_t reply[sizeof(struct vfio_device_feature) + sizeof(control)];

		memcpy(reply, io->in, sizeof(struct vfio_device_feature));
		memcpy(reply + sizeof(struct vfio_device_feature), &control, sizeof(control));
		vfc_ioctl_reply(io, reply, sizeof(reply));
	}
	vfc_debug("device \"%s\": DMA logging of %zu ranges, page size 0x%llx", dev->name, n,
		  (unsigned long long)control.page_size);
	return 0;
}

/* The bits a report sets, as runs of bit numbers. */
struct log_run {
	uint64_t first, n;
};

struct log_report_acc {
	uint64_t iova, length, page_size;
	struct log_run *runs;
	size_t n, cap;
};

/* Past this many runs a report fails with ENOMEM (a device tracks fewer). */
#define LOG_REPORT_MAX_RUNS (2u << 20)

/* iova_bitmap_set(): the report pages that [iova, iova + length) touches. */
static int log_report_set(void *opaque, uint64_t iova, uint64_t length)
{
	struct log_report_acc *a = opaque;
	uint64_t end = iova + length, rend = a->iova + a->length;

	if (!length || end < iova)
		end = UINT64_MAX;	/* a device's range to the top */
	if (iova < a->iova)
		iova = a->iova;
	if (end > rend)
		end = rend;
	if (iova >= end)
		return 0;
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 64;
		struct log_run *p;

		if (a->n >= LOG_REPORT_MAX_RUNS)
			return -ENOMEM;
		p = realloc(a->runs, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		a->runs = p;
		a->cap = cap;
	}
	a->runs[a->n].first = (iova - a->iova) / a->page_size;
	a->runs[a->n].n = (end - 1 - a->iova) / a->page_size - a->runs[a->n].first + 1;
	a->n++;
	return 0;
}

static int log_run_cmp(const void *x, const void *y)
{
	const struct log_run *a = x, *b = y;

	return a->first < b->first ? -1 : a->first > b->first;
}

/* Sort and merge the runs so that the words they touch come in order. */
static size_t log_runs_merge(struct log_run *r, size_t n)
{
	size_t out = 0;

	if (!n)
		return 0;
	qsort(r, n, sizeof(*r), log_run_cmp);
	for (size_t i = 1; i < n; i++) {
		uint64_t end = r[out].first + r[out].n;

		if (r[i].first <= end) {
			if (r[i].first + r[i].n > end)
				r[out].n = r[i].first + r[i].n - r[out].first;
		} else {
			r[++out] = r[i];
		}
	}
	return out + 1;
}

/* Words of the caller's bitmap moved per process_vm call. */
#define LOG_BATCH_WORDS 512u

/*
 * OR the runs' bits into the caller's bitmap at @bitmap, as
 * iova_bitmap_set() sets bits in the pinned pages: other bits stay. Only
 * the words that get a bit are read and written, in batches.
 */
static int log_report_write(struct vfc_device *dev, struct vfc_ioctl *io, uint64_t bitmap,
			    const struct log_run *runs, size_t n)
{
	uint64_t words[LOG_BATCH_WORDS], masks[LOG_BATCH_WORDS];
	struct iovec iov[LOG_BATCH_WORDS];
	uint64_t idx[LOG_BATCH_WORDS];
	size_t i = 0, nw;
	uint64_t bit = n ? runs[0].first : 0;
	int r;

	while (i < n) {
		/* Gather up to a batch of distinct words, in order. */
		for (nw = 0; nw < LOG_BATCH_WORDS && i < n;) {
			uint64_t w = bit / 64, end = runs[i].first + runs[i].n;
			uint64_t stop = VFC_MIN(end, (w + 1) * 64);
			uint64_t m = (stop - bit == 64) ? UINT64_MAX
				     : ((1ull << (stop - bit)) - 1) << (bit % 64);

			if (nw && idx[nw - 1] == w) {
				masks[nw - 1] |= m;
			} else {
				idx[nw] = w;
				masks[nw] = m;
				iov[nw] = (struct iovec){
					.iov_base = (void *)(uintptr_t)(bitmap + w * 8),
					.iov_len = 8 };
				nw++;
			}
			bit = stop;
			if (bit == end && ++i < n)
				bit = runs[i].first;
		}
		r = vfc_device_caller_rw(dev, io, words, nw * 8, iov, nw, false);
		if (r < 0)
			return r;
		for (size_t k = 0; k < nw; k++)
			words[k] |= masks[k];
		r = vfc_device_caller_rw(dev, io, words, nw * 8, iov, nw, true);
		if (r < 0)
			return r;
	}
	return 0;
}

/* vfio_ioctl_device_feature_logging_report(), check for check. */
static int device_feature_log_report(struct vfc_device *dev, struct vfc_ioctl *io,
				     uint32_t flags, size_t argsz)
{
	struct vfio_device_feature_dma_logging_report report;
	struct log_report_acc acc = { 0 };
	uint64_t nbits, last_byte;
	struct iovec probe[2];
	uint8_t b[2];
	size_t n;
	int r;

	r = vfc_feature_check(flags, argsz, VFIO_DEVICE_FEATURE_GET, sizeof(report));
	if (r != 1)
		return r;
	r = vfc_feature_need(io, sizeof(report), 0);
	if (r)
		return r;
	memcpy(&report, vfc_feature_data(io), sizeof(report));
	if (report.page_size < 4096 || (report.page_size & (report.page_size - 1))) {
		vfc_info("device \"%s\": DMA_LOGGING_REPORT: page size 0x%llx", dev->name,
			 (unsigned long long)report.page_size);
		return -EINVAL;
	}
	if (report.iova + report.length < report.iova) {
		vfc_info("device \"%s\": DMA_LOGGING_REPORT: range wraps", dev->name);
		return -EOVERFLOW;
	}
	/* The bitmap must be there before the device's log is cleared: the
	 * kernel pins its first page first. Its first and last bytes stand
	 * for all of it; the words that get bits are written below. */
	if (report.length) {
		nbits = (report.length - 1) / report.page_size + 1;
		last_byte = (nbits + 63) / 64 * 8 - 1;
		probe[0] = (struct iovec){ .iov_base = (void *)(uintptr_t)report.bitmap,
					   .iov_len = 1 };
		probe[1] = (struct iovec){
			.iov_base = (void *)(uintptr_t)(report.bitmap + last_byte), .iov_len = 1 };
		r = vfc_device_caller_rw(dev, io, b, 2, probe, 2, false);
		if (r < 0)
			return r;
	}
	acc.iova = report.iova;
	acc.length = report.length;
	acc.page_size = report.page_size;
	r = dev->ops->log_report(dev->priv, report.iova, report.length, log_report_set, &acc);
	if (r < 0) {
		vfc_info("device \"%s\": DMA_LOGGING_REPORT: %s", dev->name,
			 r == -EINVAL ? "not logging" : strerror(-r));
		free(acc.runs);
		return r;
	}
	n = log_runs_merge(acc.runs, acc.n);
	r = log_report_write(dev, io, report.bitmap, acc.runs, n);
	free(acc.runs);
	return r;
}

static int device_ioctl_feature(struct vfc_device *dev, struct vfc_ioctl *io)
{
	const size_t minsz = vfc_offsetofend(struct vfio_device_feature, flags);
	const uint32_t known = VFIO_DEVICE_FEATURE_MASK | VFIO_DEVICE_FEATURE_SET |
			       VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_PROBE;
	struct vfio_device_feature feature;
	uint32_t id;
	size_t argsz;
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
	id = feature.flags & VFIO_DEVICE_FEATURE_MASK;
	argsz = feature.argsz - minsz;
	if (dev->ops->feature)	/* the device's own driver decides (device-feature.c) */
		return vfc_device_feature_forward(dev, io, feature.flags, argsz);
	/* vfio_ioctl_device_feature(), then vfio-pci's device_feature op. No
	 * migration and no VF token: ENOTTY, as a device without those. */
	switch (id) {
	case VFIO_DEVICE_FEATURE_DMA_LOGGING_START:
	case VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP:
	case VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT:
		if (!dev->ops->log_start)
			break;
		if (id == VFIO_DEVICE_FEATURE_DMA_LOGGING_START)
			return device_feature_log_start(dev, io, feature.flags, argsz);
		if (id == VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT)
			return device_feature_log_report(dev, io, feature.flags, argsz);
		r = vfc_feature_check(feature.flags, argsz, VFIO_DEVICE_FEATURE_SET, 0);
		return r != 1 ? r : dev->ops->log_stop(dev->priv);
	case VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY:
	case VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP:
	case VFIO_DEVICE_FEATURE_LOW_POWER_EXIT:
		if (!dev->ops->pm_entry)
			break;
		return vfc_device_feature_low_power(dev, io, id, feature.flags, argsz);
	default:
		break;
	}
	vfc_debug("device \"%s\": DEVICE_FEATURE %u: not supported", dev->name, id);
	return -ENOTTY;
}

/* vfio_pci_ioctl_ioeventfd(); the rest is the device's vfio_pci_ioeventfd(). */
static int device_ioctl_ioeventfd(struct vfc_device *dev, struct vfc_ioctl *io)
{
	const size_t minsz = vfc_offsetofend(struct vfio_device_ioeventfd, fd);
	struct vfio_device_ioeventfd ie;
	unsigned int count;
	int fd, r;

	if (!dev->ops->ioeventfd)
		return -ENOTTY;
	r = vfc_ioctl_need(io, minsz, 0);
	if (r)
		return r;
	memcpy(&ie, io->in, minsz);
	count = ie.flags & VFIO_DEVICE_IOEVENTFD_SIZE_MASK;
	if (ie.argsz < minsz || (ie.flags & ~VFIO_DEVICE_IOEVENTFD_SIZE_MASK) ||
	    __builtin_popcount(count) != 1 || ie.fd < -1) {
		vfc_info("device \"%s\": IOEVENTFD: argsz %u flags 0x%x fd %d: invalid", dev->name,
			 ie.argsz, ie.flags, ie.fd);
		return -EINVAL;
	}
	fd = -1;
	if (ie.fd >= 0) {
		fd = device_get_eventfd(dev, io, "IOEVENTFD", ie.fd);
		if (fd < 0)
			fd = VFC_IRQ_FD_ERROR(-fd);	/* reported where the kernel looks */
	}
	r = dev->ops->ioeventfd(dev->priv, ie.offset, ie.data, count, fd);
	if (fd >= 0)
		close(fd);
	if (r < 0)
		vfc_info("device \"%s\": IOEVENTFD at 0x%llx, %u bytes, data 0x%llx, fd %d: %s",
			 dev->name, (unsigned long long)ie.offset, count,
			 (unsigned long long)ie.data, ie.fd, strerror(-r));
	return r;
}

static int device_ioctl_unsupported(struct vfc_device *dev, struct vfc_ioctl *io)
{
	vfc_info("device \"%s\": ioctl 0x%x (%s) not supported", dev->name, io->cmd,
		 io->desc->name);
	return -ENOTTY;
}

/*
 * The kernel takes a runtime PM reference around every device ioctl
 * (vfio_device_fops_unl_ioctl()): a device in low power resumes for it.
 * Each handler round here is one such call to the device.
 */
static void device_pm_use(struct vfc_device *dev, bool get)
{
	if (dev->ops->pm_use)
		dev->ops->pm_use(dev->priv, get);
}

#define PM(h)                                                              \
	static int h##_pm(struct vfc_device *dev, struct vfc_ioctl *io)     \
	{                                                                  \
		int r;                                                     \
		device_pm_use(dev, true);                                  \
		r = h(dev, io);                                            \
		device_pm_use(dev, false);                                 \
		return r;                                                  \
	}
PM(device_ioctl_get_info)
PM(device_ioctl_get_region_info)
PM(device_ioctl_get_irq_info)
PM(device_ioctl_set_irqs)
PM(device_ioctl_reset)
PM(device_ioctl_feature)
PM(vfc_device_ioctl_hot_reset_info)
PM(vfc_device_ioctl_hot_reset)
PM(device_ioctl_ioeventfd)
PM(device_ioctl_unsupported)
#undef PM

/*
 * A device's ioctls (vfc-file.h). SET_IRQS and IOEVENTFD resolve the
 * caller's eventfds; they do not nest: get_eventfd hands back eventfds
 * only and disposes of any other file without a request to the transport
 * (vfc-core.h). DEVICE_FEATURE resolves LOW_POWER_ENTRY_WITH_WAKEUP's
 * eventfd the same way, and DMA logging reads and writes the caller's
 * memory behind pointers in the argument: a page there may belong to a
 * FUSE mapping whose server is the caller itself, so it is marked NESTS
 * to be served where a stalled request holds only a worker. PCI_HOT_RESET
 * resolves group fds: closing a fetched one may be our own group file's
 * release, so it NESTS too (device-reset.c). The numbers
 * vfio-pci has but we refuse are listed, so that logs and traces name
 * them; the last row serves the rest.
 */
#define ROW(c, n, f, r, h) { .cmd = c, .name = n, .flags = f, .max_retries = r, .fn.device = h }
const struct vfc_ioctl_desc vfc_device_ioctls[] = {
	ROW(VFIO_DEVICE_GET_INFO, "DEVICE_GET_INFO", 0, 2, device_ioctl_get_info_pm),
	ROW(VFIO_DEVICE_GET_REGION_INFO, "DEVICE_GET_REGION_INFO", 0, 2,
	    device_ioctl_get_region_info_pm),
	ROW(VFIO_DEVICE_GET_IRQ_INFO, "DEVICE_GET_IRQ_INFO", 0, 1, device_ioctl_get_irq_info_pm),
	ROW(VFIO_DEVICE_SET_IRQS, "DEVICE_SET_IRQS", VFC_IOCTL_CALLER, 2,
	    device_ioctl_set_irqs_pm),
	ROW(VFIO_DEVICE_RESET, "DEVICE_RESET", 0, 0, device_ioctl_reset_pm),
	ROW(VFIO_DEVICE_FEATURE, "DEVICE_FEATURE", VFC_IOCTL_CALLER | VFC_IOCTL_NESTS, 2,
	    device_ioctl_feature_pm),
	ROW(VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, "DEVICE_GET_PCI_HOT_RESET_INFO", VFC_IOCTL_PCI, 2,
	    vfc_device_ioctl_hot_reset_info_pm),
	ROW(VFIO_DEVICE_PCI_HOT_RESET, "DEVICE_PCI_HOT_RESET",
	    VFC_IOCTL_CALLER | VFC_IOCTL_NESTS | VFC_IOCTL_PCI, 2, vfc_device_ioctl_hot_reset_pm),
	ROW(VFIO_DEVICE_QUERY_GFX_PLANE, "DEVICE_QUERY_GFX_PLANE", 0, 0,
	    device_ioctl_unsupported_pm),
	ROW(VFIO_DEVICE_GET_GFX_DMABUF, "DEVICE_GET_GFX_DMABUF", 0, 0,
	    device_ioctl_unsupported_pm),
	ROW(VFIO_DEVICE_IOEVENTFD, "DEVICE_IOEVENTFD", VFC_IOCTL_CALLER | VFC_IOCTL_PCI, 1,
	    device_ioctl_ioeventfd_pm),
	ROW(0, "unknown", 0, 0, device_ioctl_unsupported_pm),
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
	ssize_t r;

	if (index >= dev->info.num_regions) {
		vfc_info("device \"%s\": %s at 0x%llx: no such region", dev->name,
			 write ? "write" : "read", (unsigned long long)off);
		return -EINVAL;
	}
	if (!len)
		return 0;
	/* vfio_pci_rw(): a device in low power resumes for the access. */
	device_pm_use(dev, true);
	r = dev->ops->region_rw(dev->priv, index, off & VFC_REGION_MASK, buf, len, write);
	device_pm_use(dev, false);
	return r;
}
