/* SPDX-License-Identifier: MIT */
/*
 * The kernel backend's devices: each open of ours is the kernel's device
 * fd (taken when the device is first opened, through the group the core
 * has put in a kernel container with an IOMMU), and every op forwards to
 * it, region info with its MMAP flag and caps. SET_IRQS, IOEVENTFD and
 * LOW_POWER_ENTRY_WITH_WAKEUP get the client's eventfds, already fetched
 * into the daemon: the kernel takes its own reference, so interrupts and
 * ioeventfd writes go between the kernel and the client directly. Slots
 * the client could not give reach the kernel as fds it fails on alike.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kernel-priv.h"
#include "vfc-log.h"
#include "vfc-macro.h"

static int kdev_open(void *priv, struct vfc_device *dev)
{
	struct vfc_kdevice *d = priv;
	struct vfc_kernel *k = d->kg->k;
	int fd;

	fd = k->priv->ops->get_device_fd(k->priv, d->kg->fd, d->name);
	if (fd < 0) {
		vfc_err("device \"%s\": the kernel's GET_DEVICE_FD failed: %s", d->name,
			strerror(-fd));
		return fd;
	}
	pthread_mutex_lock(&d->lock);
	d->fd = fd;
	for (unsigned int i = 0; i < VFC_KERNEL_MAX_REGIONS; i++)
		d->region_offset[i] = UINT64_MAX;
	pthread_mutex_unlock(&d->lock);
	return 0;
}

static void kdev_close(void *priv)
{
	struct vfc_kdevice *d = priv;

	pthread_mutex_lock(&d->lock);
	if (d->fd >= 0)
		close(d->fd);	/* the kernel disables the device's irqs and DMA */
	d->fd = -1;
	pthread_mutex_unlock(&d->lock);
}

/* The kernel fd of an open device; the core only calls ops on open ones. */
static int kdev_fd(struct vfc_kdevice *d)
{
	int fd;

	pthread_mutex_lock(&d->lock);
	fd = d->fd;
	pthread_mutex_unlock(&d->lock);
	return fd >= 0 ? fd : -EBADF;
}

static int kdev_get_info(void *priv, struct vfio_device_info *info)
{
	struct vfc_kdevice *d = priv;

	info->flags = d->info.flags & ~VFIO_DEVICE_FLAGS_CAPS;
	info->num_regions = d->info.num_regions;
	info->num_irqs = d->info.num_irqs;
	return 0;
}

static int kdev_get_region_info(void *priv, struct vfio_region_info *info, struct vfc_caps *caps)
{
	struct vfc_kdevice *d = priv;
	union {
		struct vfio_region_info info;
		uint8_t bytes[4096];
	} buf = { .info = { .argsz = sizeof(buf), .index = info->index } };
	int fd = kdev_fd(d);

	if (fd < 0)
		return fd;
	if (ioctl(fd, VFIO_DEVICE_GET_REGION_INFO, &buf) < 0)
		return -errno;
	info->size = buf.info.size;
	/* MMAP as the kernel says: the client maps the kernel's own file. */
	info->flags = buf.info.flags & (VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE |
					VFIO_REGION_INFO_FLAG_MMAP);
	if (info->index < VFC_KERNEL_MAX_REGIONS) {
		pthread_mutex_lock(&d->lock);
		d->region_offset[info->index] = buf.info.offset;
		pthread_mutex_unlock(&d->lock);
	}
	/* Carry every cap, mmap's (SPARSE_MMAP, MSIX_MAPPABLE) included. */
	if ((buf.info.flags & VFIO_REGION_INFO_FLAG_CAPS) && buf.info.cap_offset) {
		uint32_t off = buf.info.cap_offset;

		for (unsigned int n = 0; off && n < 64; n++) {
			struct vfio_info_cap_header h;
			uint32_t end;

			if (off < sizeof(buf.info) || off > sizeof(buf) - sizeof(h))
				break;
			memcpy(&h, buf.bytes + off, sizeof(h));
			end = h.next > off ? h.next : (uint32_t)VFC_MIN(sizeof(buf), buf.info.argsz);
			if (end > sizeof(buf) || end < off + sizeof(h))
				break;
			vfc_caps_add(caps, h.id, h.version, buf.bytes + off + sizeof(h),
				     end - off - sizeof(h));
			off = h.next;
		}
	}
	return 0;
}

/* Region @index's offset in the kernel's device file, as it reported it. */
static uint64_t region_base(struct vfc_kdevice *d, unsigned int index)
{
	uint64_t base = VFC_REGION_OFFSET(index);

	pthread_mutex_lock(&d->lock);
	if (index < VFC_KERNEL_MAX_REGIONS && d->region_offset[index] != UINT64_MAX)
		base = d->region_offset[index];
	pthread_mutex_unlock(&d->lock);
	return base;
}

static ssize_t kdev_region_rw(void *priv, unsigned int index, uint64_t off, void *buf, size_t len,
			      bool write)
{
	struct vfc_kdevice *d = priv;
	uint64_t base = region_base(d, index);
	int fd = kdev_fd(d);
	ssize_t n;

	if (fd < 0)
		return fd;
	n = write ? pwrite(fd, buf, len, (off_t)(base + off)) : pread(fd, buf, len, (off_t)(base + off));
	return n < 0 ? -errno : n;
}

/*
 * mmap: the client maps the kernel's device file itself, at the kernel's
 * region offset. What that file gives a client beyond the mapping is what
 * the daemon forwards to it anyway (docs/security.md).
 */
static int kdev_region_mmap(void *priv, unsigned int index, uint64_t off, uint64_t len,
			    int *ret_fd, uint64_t *ret_off)
{
	struct vfc_kdevice *d = priv;
	uint64_t base = region_base(d, index);
	int fd = kdev_fd(d);

	if (fd < 0)
		return fd;
	fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	*ret_fd = fd;
	*ret_off = base + off;
	return 0;
}

static int kdev_get_irq_info(void *priv, struct vfio_irq_info *info)
{
	struct vfc_kdevice *d = priv;
	struct vfio_irq_info ki = { .argsz = sizeof(ki), .index = info->index };
	int fd = kdev_fd(d);

	if (fd < 0)
		return fd;
	if (ioctl(fd, VFIO_DEVICE_GET_IRQ_INFO, &ki) < 0)
		return -errno;
	info->flags = ki.flags;
	info->count = ki.count;
	return 0;
}

/**
 * vfc_kernel_irq_fds() - turn the core's eventfd slots into what the
 * kernel's SET_IRQS is given.
 * @fds: @count slots, rewritten in place: local eventfds and negative
 *       client values stay; VFC_IRQ_FD_ERROR() markers become an fd the
 *       kernel fails on in the same way where it looks the slot up:
 *       EBADF, a number never open (above any fd table's limit); EINVAL
 *       and every other errno, @not_eventfd (open, no eventfd).
 * @count: the number of slots.
 * @not_eventfd: an open fd that is no eventfd.
 *
 * Return: 0, or the errno of the first marker when the kernel cannot give
 * it itself (say -EMFILE: the caller's share of judged files was used
 * up). The caller answers it where the kernel fails on @not_eventfd with
 * EINVAL, so the kernel's earlier checks still win.
 */
int vfc_kernel_irq_fds(int32_t *fds, unsigned int count, int not_eventfd)
{
	int first = 0;

	for (unsigned int i = 0; i < count; i++) {
		int err = vfc_irq_fd_error(fds[i]);

		if (!err)
			continue;
		if (!first)
			first = err;
		/* EBADF: a number beyond nr_open's ceiling, never open. */
		fds[i] = err == -EBADF ? INT32_MAX : not_eventfd;
	}
	/* The kernel stops at the first slot it cannot look up. */
	return first == -EBADF || first == -EINVAL ? 0 : first;
}

static int kdev_set_irqs(void *priv, uint32_t flags, unsigned int index, unsigned int start,
			 unsigned int count, const void *data)
{
	struct vfc_kdevice *d = priv;
	struct vfc_kernel *k = d->kg->k;
	size_t size = 0;
	_cleanup_free_ struct vfio_irq_set *set = NULL;
	int fd = kdev_fd(d), other = 0, r;

	if (fd < 0)
		return fd;
	if (flags & VFIO_IRQ_SET_DATA_BOOL)
		size = count;
	else if (flags & VFIO_IRQ_SET_DATA_EVENTFD)
		size = (size_t)count * sizeof(int32_t);
	set = calloc(1, sizeof(*set) + size);
	if (!set)
		return -ENOMEM;
	*set = (struct vfio_irq_set){ .argsz = (uint32_t)(sizeof(*set) + size), .flags = flags,
				      .index = index, .start = start, .count = count };
	if (size)
		memcpy(set->data, data, size);
	/* Slots the client could not give: the kernel meets the same error
	 * where it looks the fd up, so its errno order holds. */
	if (flags & VFIO_IRQ_SET_DATA_EVENTFD)
		other = vfc_kernel_irq_fds((int32_t *)set->data, count, k->not_eventfd);
	r = ioctl(fd, VFIO_DEVICE_SET_IRQS, set) < 0 ? -errno : 0;
	if (r == -EINVAL && other)
		r = other;	/* where it looked up a slot the client could not give */
	return r;
}

static int kdev_reset(void *priv)
{
	struct vfc_kdevice *d = priv;
	int fd = kdev_fd(d);

	if (fd < 0)
		return fd;
	return ioctl(fd, VFIO_DEVICE_RESET) < 0 ? -errno : 0;
}

/*
 * VFIO_DEVICE_IOEVENTFD, forwarded: the core has made the kernel's argument
 * checks and fetched the eventfd; the kernel takes its own reference, so
 * its writes to the device need no daemon. The client's region offset
 * becomes the kernel's; a slot the client could not give is handed over
 * as for SET_IRQS, so the kernel fails it where it looks it up.
 */
static int kdev_ioeventfd(void *priv, uint64_t offset, uint64_t data, unsigned int count, int fd)
{
	struct vfc_kdevice *d = priv;
	unsigned int index = VFC_REGION_INDEX(offset);
	struct vfio_device_ioeventfd ie = {
		.argsz = sizeof(ie), .flags = count, .data = data, .fd = fd,
		.offset = region_base(d, index) + (offset & VFC_REGION_MASK),
	};
	int kfd = kdev_fd(d), other, r;

	if (kfd < 0)
		return kfd;
	other = vfc_kernel_irq_fds(&ie.fd, 1, d->kg->k->not_eventfd);
	r = ioctl(kfd, VFIO_DEVICE_IOEVENTFD, &ie) < 0 ? -errno : 0;
	return r == -EINVAL && other ? other : r;
}

/* DEVICE_FEATURE SET of a feature with @len bytes of payload. */
static int kdev_feature_set(struct vfc_kdevice *d, uint32_t feature, const void *payload,
			    size_t len)
{
	union {
		struct vfio_device_feature f;
		uint8_t bytes[sizeof(struct vfio_device_feature) + 16];
	} buf = { .f = { .argsz = (uint32_t)(sizeof(buf.f) + len),
			 .flags = VFIO_DEVICE_FEATURE_SET | feature } };
	int fd = kdev_fd(d);

	if (fd < 0)
		return fd;
	if (len > sizeof(buf) - sizeof(buf.f))
		return -EINVAL;
	if (len)
		memcpy(buf.f.data, payload, len);
	return ioctl(fd, VFIO_DEVICE_FEATURE, &buf) < 0 ? -errno : 0;
}

/* LOW_POWER_ENTRY, or _WITH_WAKEUP with @wake_fd (the kernel keeps its own
 * reference on it), forwarded: vfio-pci's runtime PM does the rest. */
static int kdev_pm_entry(void *priv, int wake_fd)
{
	struct vfio_device_low_power_entry_with_wakeup w = { .wakeup_eventfd = wake_fd };

	if (wake_fd < 0)
		return kdev_feature_set(priv, VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY, NULL, 0);
	return kdev_feature_set(priv, VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP, &w,
				sizeof(w));
}

static int kdev_pm_exit(void *priv)
{
	return kdev_feature_set(priv, VFIO_DEVICE_FEATURE_LOW_POWER_EXIT, NULL, 0);
}

/*
 * DEVICE_FEATURE as the driver answers it: the core hands PROBEs and the
 * features it forwards, with any pointer inside already one of ours.
 */
static int kdev_feature(void *priv, uint32_t flags, void *data, size_t len)
{
	struct vfc_kdevice *d = priv;
	_cleanup_free_ struct vfio_device_feature *f = NULL;
	int fd = kdev_fd(d), r;

	if (fd < 0)
		return fd;
	if (len > 4096)
		return -EINVAL;
	f = calloc(1, sizeof(*f) + len);
	if (!f)
		return -ENOMEM;
	f->argsz = (uint32_t)(sizeof(*f) + len);
	f->flags = flags;
	if (len)
		memcpy(f->data, data, len);
	r = ioctl(fd, VFIO_DEVICE_FEATURE, f) < 0 ? -errno : 0;
	if (len)
		memcpy(data, f->data, len);
	return r;
}

/* The kernel's GET_PCI_HOT_RESET_INFO, with room for @max devices. */
static int kdev_hot_reset_info(void *priv, struct vfio_pci_dependent_device *devices,
			       unsigned int max)
{
	struct vfc_kdevice *d = priv;
	_cleanup_free_ struct vfio_pci_hot_reset_info *info = NULL;
	size_t size = sizeof(*info) + (size_t)max * sizeof(*devices);
	int fd = kdev_fd(d);

	if (fd < 0)
		return fd;
	info = calloc(1, size);
	if (!info)
		return -ENOMEM;
	info->argsz = (uint32_t)size;
	if (ioctl(fd, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, info) < 0)
		return errno == ENOSPC ? (int)VFC_MIN(info->count, (uint32_t)INT32_MAX) : -errno;
	if (info->count > max)
		return -EIO;
	if (info->count)
		memcpy(devices, info->devices, info->count * sizeof(*devices));
	return (int)info->count;
}

/**
 * vfc_kernel_hot_reset_fds() - PCI_HOT_RESET's groups as the kernel is
 * given them.
 * @k: the backend.
 * @groups: @count entries resolved by the core.
 * @count: the number of entries.
 * @fds: @count slots to fill: a duplicate of the kernel group fd that this
 *       backend holds for each of its groups (owned by the caller, closed
 *       with vfc_kernel_hot_reset_fds_close() whether or not this fails);
 *       for a fd the caller did not have open, a number never open
 *       (the kernel: EBADF); for any other entry, /dev/null (EINVAL).
 *
 * Return: 0, the errno of the first entry the kernel cannot give itself
 * (say -EMFILE; the caller answers it where the kernel says EINVAL), or
 * -errno of a dup (every slot is then filled anyway).
 */
int vfc_kernel_hot_reset_fds(struct vfc_kernel *k, const struct vfc_hot_reset_group *groups,
			     unsigned int count, int32_t *fds)
{
	int first = 0, r = 0;

	pthread_mutex_lock(&k->lock);	/* kg->fd changes under it */
	for (unsigned int i = 0; i < count; i++) {
		struct vfc_kgroup *kg = NULL;
		int err = groups[i].err;

		if (!err) {
			for (kg = k->groups; kg; kg = kg->next)
				if (kg->group == groups[i].group)
					break;
			if (!kg)
				err = -EINVAL;	/* another backend's group */
		}
		if (err && !first)
			first = err;
		fds[i] = err == -EBADF ? INT32_MAX : -1;
		if (kg) {
			fds[i] = fcntl(kg->fd, F_DUPFD_CLOEXEC, 0);
			if (fds[i] < 0 && !r)
				r = -errno;
		}
		if (fds[i] < 0)
			fds[i] = err == -EBADF ? INT32_MAX : k->not_eventfd;
	}
	pthread_mutex_unlock(&k->lock);
	if (r)
		return r;
	return first == -EBADF || first == -EINVAL ? 0 : first;
}

/* Close what vfc_kernel_hot_reset_fds() duplicated. */
void vfc_kernel_hot_reset_fds_close(struct vfc_kernel *k, int32_t *fds, unsigned int count)
{
	for (unsigned int i = 0; i < count; i++)
		if (fds[i] >= 0 && fds[i] != INT32_MAX && fds[i] != k->not_eventfd)
			close(fds[i]);	/* the kernel's group files: a local close */
}

static int kdev_hot_reset(void *priv, const struct vfc_hot_reset_group *groups, unsigned int count)
{
	struct vfc_kdevice *d = priv;
	struct vfc_kernel *k = d->kg->k;
	_cleanup_free_ struct vfio_pci_hot_reset *hr = NULL;
	int fd = kdev_fd(d), other, r;

	if (fd < 0)
		return fd;
	hr = calloc(1, sizeof(*hr) + (size_t)count * sizeof(int32_t));
	if (!hr)
		return -ENOMEM;
	hr->argsz = (uint32_t)(sizeof(*hr) + (size_t)count * sizeof(int32_t));
	hr->count = count;
	other = vfc_kernel_hot_reset_fds(k, groups, count, hr->group_fds);
	r = ioctl(fd, VFIO_DEVICE_PCI_HOT_RESET, hr) < 0 ? -errno : 0;
	vfc_kernel_hot_reset_fds_close(k, hr->group_fds, count);
	return r == -EINVAL && other ? other : r;
}

const struct vfc_device_ops vfc_kernel_device_ops = {
	.open_device = kdev_open,
	.close_device = kdev_close,
	.get_info = kdev_get_info,
	.get_region_info = kdev_get_region_info,
	.region_rw = kdev_region_rw,
	.get_irq_info = kdev_get_irq_info,
	.set_irqs = kdev_set_irqs,
	.region_mmap = kdev_region_mmap,
	.reset = kdev_reset,
	.match = vfc_device_match_pci,
	.ioeventfd = kdev_ioeventfd,
	.pm_entry = kdev_pm_entry,
	.pm_exit = kdev_pm_exit,
	.hot_reset_info = kdev_hot_reset_info,
	.hot_reset = kdev_hot_reset,
	.feature = kdev_feature,
};
