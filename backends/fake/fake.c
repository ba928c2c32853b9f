/* SPDX-License-Identifier: MIT */
/*
 * The fake backend (see fake.h). Its set_irqs follows vfio-pci's table
 * closely enough to exercise the core's SET_IRQS validation and eventfd
 * resolution; the emulated backend's is the faithful one.
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>

#include "fake.h"
#include "vfc-macro.h"

/* IOMMU */

static int fake_check_extension(void *driver_data, void *data, unsigned long ext)
{
	return ext == VFIO_TYPE1_IOMMU || ext == VFIO_TYPE1v2_IOMMU || ext == VFIO_UNMAP_ALL;
}

static int fake_open(void *driver_data, unsigned long type, void **ret_data)
{
	struct vfc_fake_iommu *f = driver_data;

	if (type != VFIO_TYPE1_IOMMU && type != VFIO_TYPE1v2_IOMMU)
		return -EINVAL;
	f->opened++;
	*ret_data = f;
	return 0;
}

static void fake_release(void *data)
{
	struct vfc_fake_iommu *f = data;

	f->released++;
}

static int fake_attach_group(void *data, struct vfc_group *group)
{
	struct vfc_fake_iommu *f = data;

	if (f->refuse_group && vfc_group_id(group) == f->refuse_group)
		return -EBUSY;
	f->attached++;
	return 0;
}

static void fake_detach_group(void *data, struct vfc_group *group)
{
	struct vfc_fake_iommu *f = data;

	f->detached++;
}

/* GET_INFO with one DMA_AVAIL cap, the kernel's way; nothing else. */
static int fake_ioctl(void *data, struct vfc_ioctl *io)
{
	const size_t minsz = vfc_offsetofend(struct vfio_iommu_type1_info, iova_pgsizes);
	struct vfio_iommu_type1_info info = { 0 };
	struct vfio_iommu_type1_info_dma_avail avail = { .avail = 42 };
	struct vfc_caps caps = { 0 };
	int r;

	if (io->cmd != VFIO_IOMMU_GET_INFO)
		return -ENOTTY;
	r = vfc_ioctl_need(io, minsz, minsz);
	if (r)
		return r;
	memcpy(&info, io->in, minsz);
	if (info.argsz < minsz)
		return -EINVAL;
	r = vfc_ioctl_need(io, minsz, VFC_MIN((size_t)info.argsz, sizeof(info)));
	if (r)
		return r;
	info.flags = VFIO_IOMMU_INFO_PGSIZES;
	info.iova_pgsizes = 4096;
	vfc_caps_add(&caps, VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, 1,
		     (const uint8_t *)&avail + sizeof(avail.header),
		     sizeof(avail) - sizeof(avail.header));
	r = vfc_reply_info_with_caps(io, &info, sizeof(info),
				     VFC_MIN((size_t)info.argsz, sizeof(info)), &info.flags,
				     VFIO_IOMMU_INFO_CAPS, &info.cap_offset, &caps);
	vfc_caps_clear(&caps);
	return r;
}

static int fake_dma_rw(void *data, uint64_t iova, void *buf, size_t len, bool write)
{
	struct vfc_fake_iommu *f = data;

	if (iova >= sizeof(f->memory) || len > sizeof(f->memory) - iova)
		return -EFAULT;
	if (write && f->memory_readonly)
		return -EFAULT;
	if (write)
		memcpy(f->memory + iova, buf, len);
	else
		memcpy(buf, f->memory + iova, len);
	return 0;
}

const struct vfc_iommu_ops vfc_fake_iommu_ops = {
	.name = "fake-type1",
	.check_extension = fake_check_extension,
	.open = fake_open,
	.release = fake_release,
	.attach_group = fake_attach_group,
	.detach_group = fake_detach_group,
	.ioctl = fake_ioctl,
	.dma_rw = fake_dma_rw,
};

/* Device */

void vfc_fake_device_init(struct vfc_fake_device *fd, uint16_t vendor, uint16_t device)
{
	memset(fd, 0, sizeof(*fd));
	memcpy(fd->config, &vendor, 2);
	memcpy(fd->config + 2, &device, 2);
	fd->intx_fd = fd->unmask_fd = -1;
	for (unsigned int i = 0; i < VFC_ARRAY_SIZE(fd->msi_fds); i++)
		fd->msi_fds[i] = -1;
}

static void close_slot(int *slot)
{
	if (*slot >= 0)
		close(*slot);
	*slot = -1;
}

void vfc_fake_device_fini(struct vfc_fake_device *fd)
{
	close_slot(&fd->intx_fd);
	close_slot(&fd->unmask_fd);
	for (unsigned int i = 0; i < VFC_ARRAY_SIZE(fd->msi_fds); i++)
		close_slot(&fd->msi_fds[i]);
}

static int fake_open_device(void *priv, struct vfc_device *dev)
{
	struct vfc_fake_device *fd = priv;

	if (fd->fail_open < 0)
		return fd->fail_open;
	fd->opens++;
	fd->dev = dev;
	return 0;
}

static void fake_close_device(void *priv)
{
	struct vfc_fake_device *fd = priv;

	fd->closes++;
	fd->dev = NULL;
	vfc_fake_device_fini(fd);
}

static int fake_get_info(void *priv, struct vfio_device_info *info)
{
	struct vfc_fake_device *fd = priv;

	info->flags = VFIO_DEVICE_FLAGS_PCI | (fd->no_reset ? 0 : VFIO_DEVICE_FLAGS_RESET);
	info->num_regions = VFIO_PCI_NUM_REGIONS;
	info->num_irqs = VFIO_PCI_NUM_IRQS;
	return 0;
}

static int fake_get_region_info(void *priv, struct vfio_region_info *info, struct vfc_caps *caps)
{
	struct vfio_region_info_cap_type type = { .type = 1, .subtype = 2 };

	switch (info->index) {
	case VFIO_PCI_BAR0_REGION_INDEX:
		info->size = 4096;
		/* MMAP is offered on purpose: the core must strip it. */
		info->flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE |
			      VFIO_REGION_INFO_FLAG_MMAP;
		vfc_caps_add(caps, VFIO_REGION_INFO_CAP_TYPE, 1,
			     (const uint8_t *)&type + sizeof(type.header),
			     sizeof(type) - sizeof(type.header));
		return 0;
	case VFIO_PCI_CONFIG_REGION_INDEX:
		info->size = 256;
		info->flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
		return 0;
	case VFIO_PCI_VGA_REGION_INDEX:
		return -EINVAL;
	default:
		info->size = 0;
		info->flags = 0;
		return 0;
	}
}

static ssize_t fake_region_rw(void *priv, unsigned int index, uint64_t off, void *buf,
			      size_t len, bool write)
{
	struct vfc_fake_device *fd = priv;
	uint8_t *mem;
	size_t size;

	switch (index) {
	case VFIO_PCI_BAR0_REGION_INDEX:
		mem = fd->bar0;
		size = sizeof(fd->bar0);
		break;
	case VFIO_PCI_CONFIG_REGION_INDEX:
		mem = fd->config;
		size = sizeof(fd->config);
		break;
	default:
		return -EINVAL;
	}
	if (off >= size)
		return -EINVAL;
	len = VFC_MIN(len, size - off);
	if (write)
		memcpy(mem + off, buf, len);
	else
		memcpy(buf, mem + off, len);
	return (ssize_t)len;
}

static int fake_get_irq_info(void *priv, struct vfio_irq_info *info)
{
	switch (info->index) {
	case VFIO_PCI_INTX_IRQ_INDEX:
		info->flags = VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_MASKABLE |
			      VFIO_IRQ_INFO_AUTOMASKED;
		info->count = 1;
		return 0;
	case VFIO_PCI_MSI_IRQ_INDEX:
		info->flags = VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE;
		info->count = 4;
		return 0;
	case VFIO_PCI_MSIX_IRQ_INDEX:
		info->flags = VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE;
		info->count = 0;
		return 0;
	case VFIO_PCI_REQ_IRQ_INDEX:
		info->flags = VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE;
		info->count = 1;
		return 0;
	default:
		return -EINVAL;	/* ERR: conventional PCI */
	}
}

static void signal_fd(struct vfc_fake_device *fd, int efd)
{
	uint64_t one = 1;

	if (efd >= 0 && write(efd, &one, sizeof(one)) == sizeof(one))
		fd->triggers++;
}

static int take_fd(int *slot, int32_t v)
{
	int r = vfc_irq_fd_error(v);

	if (r)
		return r;
	close_slot(slot);
	if (v >= 0) {
		*slot = fcntl(v, F_DUPFD_CLOEXEC, 0);
		if (*slot < 0)
			return -errno;
	}
	return 0;
}

static int fake_set_irqs(void *priv, uint32_t flags, unsigned int index, unsigned int start,
			 unsigned int count, const void *data)
{
	struct vfc_fake_device *fd = priv;
	uint32_t action = flags & VFIO_IRQ_SET_ACTION_TYPE_MASK;
	const int32_t *fds = data;
	const uint8_t *bools = data;
	int r;

	fd->last_flags = flags;
	fd->last_index = index;
	fd->last_start = start;
	fd->last_count = count;
	if (index == VFIO_PCI_INTX_IRQ_INDEX) {
		if (action == VFIO_IRQ_SET_ACTION_MASK || action == VFIO_IRQ_SET_ACTION_UNMASK) {
			if (start != 0 || count != 1)
				return -EINVAL;
			if (flags & VFIO_IRQ_SET_DATA_EVENTFD) {
				if (action == VFIO_IRQ_SET_ACTION_MASK)
					return -ENOTTY;
				return take_fd(&fd->unmask_fd, fds[0]);
			}
			if ((flags & VFIO_IRQ_SET_DATA_NONE) || bools[0])
				fd->intx_masked = action == VFIO_IRQ_SET_ACTION_MASK;
			return 0;
		}
		if (action != VFIO_IRQ_SET_ACTION_TRIGGER)
			return -ENOTTY;
		if (count == 0 && (flags & VFIO_IRQ_SET_DATA_NONE)) {
			close_slot(&fd->intx_fd);
			return 0;
		}
		if (start != 0 || count != 1)
			return -EINVAL;
		if (flags & VFIO_IRQ_SET_DATA_EVENTFD)
			return take_fd(&fd->intx_fd, fds[0]);
		if (fd->intx_fd < 0)
			return -EINVAL;
		if ((flags & VFIO_IRQ_SET_DATA_NONE) || bools[0])
			signal_fd(fd, fd->intx_fd);
		return 0;
	}
	if (index == VFIO_PCI_MSI_IRQ_INDEX) {
		if (action != VFIO_IRQ_SET_ACTION_TRIGGER)
			return -ENOTTY;
		if (count == 0 && (flags & VFIO_IRQ_SET_DATA_NONE)) {
			for (unsigned int i = 0; i < VFC_ARRAY_SIZE(fd->msi_fds); i++)
				close_slot(&fd->msi_fds[i]);
			return 0;
		}
		for (unsigned int i = 0; i < count; i++) {
			if (flags & VFIO_IRQ_SET_DATA_EVENTFD) {
				r = take_fd(&fd->msi_fds[start + i], fds[i]);
				if (r)
					return r;
			} else if ((flags & VFIO_IRQ_SET_DATA_NONE) || bools[i]) {
				signal_fd(fd, fd->msi_fds[start + i]);
			}
		}
		return 0;
	}
	return -ENOTTY;
}

static int fake_reset(void *priv)
{
	struct vfc_fake_device *fd = priv;

	fd->resets++;
	memset(fd->bar0, 0, sizeof(fd->bar0));
	return 0;
}

const struct vfc_device_ops vfc_fake_device_ops = {
	.open_device = fake_open_device,
	.close_device = fake_close_device,
	.get_info = fake_get_info,
	.get_region_info = fake_get_region_info,
	.region_rw = fake_region_rw,
	.get_irq_info = fake_get_irq_info,
	.set_irqs = fake_set_irqs,
	.reset = fake_reset,
	.match = vfc_device_match_pci,
};
