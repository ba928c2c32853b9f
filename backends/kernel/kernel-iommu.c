/* SPDX-License-Identifier: MIT */
/*
 * The kernel backend's IOMMU driver: each of our containers is a kernel
 * container (from the privileged ops), each attached group the kernel's
 * group. The kernel's type1 pins the pages of the CALLING process, so only
 * the client can map its own memory, private memory included. So MAP_DMA,
 * UNMAP_DMA and DIRTY_PAGES answer EREMOTE (MAP_DMA only once the kernel's
 * checks before pinning passed, in a dry run): the client library then asks
 * the channel for the kernel container (client_fd) and issues them there
 * itself, and the kernel checks, pins and charges the client exactly as
 * it would its own VFIO user. What the daemon keeps is the rest: GET_INFO,
 * extensions, and the container's life: a client's mappings go when the
 * kernel container goes, that is when the daemon's container and every
 * client's copy of it are closed.
 */
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kernel-priv.h"
#include "vfc-file.h"
#include "vfc-log.h"
#include "vfc-macro.h"

struct kcontainer {
	struct vfc_kernel *k;
	int fd;			/* the kernel's container */
	unsigned long type;
	bool iommu_set;
	atomic_bool told;	/* the EREMOTE line was logged */
	unsigned int groups;
};

static int kernel_check_extension(void *driver_data, void *data, unsigned long ext)
{
	struct vfc_kernel *k = driver_data;
	struct kcontainer *kc = data;
	int fd, r;

	if (kc)
		return ioctl(kc->fd, VFIO_CHECK_EXTENSION, ext) > 0 ? 1 : 0;
	/* Without a container of ours, ask a fresh kernel container. */
	fd = k->priv->ops->open_container(k->priv);
	if (fd < 0)
		return 0;
	r = ioctl(fd, VFIO_CHECK_EXTENSION, ext);
	close(fd);
	return r > 0 ? 1 : 0;
}

static int kernel_open(void *driver_data, unsigned long type, void **ret_data)
{
	struct vfc_kernel *k = driver_data;
	struct kcontainer *kc;

	if (type != VFIO_TYPE1_IOMMU && type != VFIO_TYPE1v2_IOMMU)
		return -EINVAL;
	kc = calloc(1, sizeof(*kc));
	if (!kc)
		return -ENOMEM;
	kc->k = k;
	kc->type = type;
	kc->fd = k->priv->ops->open_container(k->priv);
	if (kc->fd < 0) {
		int r = kc->fd;

		free(kc);
		return r;
	}
	*ret_data = kc;
	return 0;
}

static void kernel_release(void *data)
{
	struct kcontainer *kc = data;

	close(kc->fd);	/* with the clients' copies, the kernel unmaps and unpins */
	free(kc);
}

static int kernel_attach_group(void *data, struct vfc_group *group)
{
	struct kcontainer *kc = data;
	struct vfc_kgroup *kg = vfc_group_priv(group);
	int r;

	if (ioctl(kg->fd, VFIO_GROUP_SET_CONTAINER, &kc->fd) < 0)
		return -errno;
	if (!kc->iommu_set) {
		if (ioctl(kc->fd, VFIO_SET_IOMMU, kc->type) < 0) {
			r = -errno;
			ioctl(kg->fd, VFIO_GROUP_UNSET_CONTAINER);
			return r;
		}
		kc->iommu_set = true;
	}
	kc->groups++;
	return 0;
}

static void kernel_detach_group(void *data, struct vfc_group *group)
{
	struct kcontainer *kc = data;
	struct vfc_kgroup *kg = vfc_group_priv(group);

	if (ioctl(kg->fd, VFIO_GROUP_UNSET_CONTAINER) < 0)
		vfc_err("group %u: the kernel refused UNSET_CONTAINER: %m", kg->id);
	if (--kc->groups == 0)
		kc->iommu_set = false;	/* the kernel dropped its IOMMU and mappings */
}

/*
 * MAP_DMA, UNMAP_DMA, DIRTY_PAGES: only the client can pin its pages, so
 * these run in the client, on the kernel container (client_fd). EREMOTE,
 * which the kernel's VFIO never answers, tells the client library so; a
 * client without it sees EREMOTE, with a log line saying why.
 */
static int ioctl_in_client(struct kcontainer *kc, struct vfc_ioctl *io)
{
	pid_t pid = io->caller ? io->caller->pid : 0;

	vfc_debug("caller %d: %s runs in the client, on the kernel's container", pid,
		  io->desc ? io->desc->name : "ioctl");
	/* Once per container: a client can repeat the call without end. The
	 * library handles EREMOTE itself; others are told what to do. */
	if (!atomic_exchange(&kc->told, true))
		vfc_info("caller %d: %s on the kernel backend runs in the client (EREMOTE): the "
			 "client library does it; clients without it must run under vfio-cuse-run "
			 "(LD_PRELOAD=libvfio-cuse-preload.so)", pid,
			 io->desc ? io->desc->name : "ioctl");
	return -EREMOTE;
}

/**
 * vfc_kernel_probe_vaddr() - the vaddr of a MAP_DMA dry run (map_dry_run()).
 * @vaddr: the client's vaddr.
 * @size: the mapping's size.
 *
 * The kernel's checks before it pins look at the vaddr only for its
 * alignment and for a wrap past 2^64. So keep the low 16 bits (every page
 * size up to 64 KiB), and keep a wrapping vaddr as it is (the kernel
 * stops at the wrap, before it pins); otherwise move it below 64 KiB,
 * where vm.mmap_min_addr keeps the daemon's address space empty, so that
 * the kernel's first pin fails with EFAULT and nothing is pinned.
 * Return: the vaddr to give the kernel.
 */
uint64_t vfc_kernel_probe_vaddr(uint64_t vaddr, uint64_t size)
{
	if (size && vaddr + size - 1 < vaddr)
		return vaddr;
	return vaddr & 0xffff;
}

/*
 * MAP_DMA without VADDR: every check the kernel makes before it pins
 * (argsz, flags, alignment, wrap, overlap, the entry limit, the aperture
 * and the reserved ranges) is asked of the kernel itself, on the kernel
 * container, with a vaddr it cannot pin (vfc_kernel_probe_vaddr()). An
 * errno other than EFAULT is the kernel's answer for the client; EFAULT
 * means the arguments passed up to the memory step, which only the client
 * can take: EREMOTE. The kernel holds its container's lock across the
 * whole call, so no other map sees the dry run's entry.
 */
static int map_dry_run(struct kcontainer *kc, struct vfc_ioctl *io)
{
	const size_t minsz = vfc_offsetofend(struct vfio_iommu_type1_dma_map, size);
	struct vfio_iommu_type1_dma_map map;
	pid_t pid = io->caller ? io->caller->pid : 0;
	int r;

	r = vfc_ioctl_need(io, minsz, 0);
	if (r)
		return r;
	memcpy(&map, io->in, minsz);
	/* VADDR changes a mapping's vaddr without pinning: never a dry run. */
	if (map.flags & VFIO_DMA_MAP_FLAG_VADDR)
		return ioctl_in_client(kc, io);
	map.vaddr = vfc_kernel_probe_vaddr(map.vaddr, map.size);
	if (ioctl(kc->fd, VFIO_IOMMU_MAP_DMA, &map) < 0) {
		r = -errno;
		if (r == -EFAULT)
			return ioctl_in_client(kc, io);
		vfc_info("caller %d: MAP_DMA iova 0x%llx size 0x%llx flags 0x%x: %s (the kernel's "
			 "checks)", pid, (unsigned long long)map.iova,
			 (unsigned long long)map.size, map.flags, strerror(-r));
		return r;
	}
	/* Pinned memory of ours: cannot happen with an empty first page. */
	vfc_err("caller %d: MAP_DMA dry run at vaddr 0x%llx mapped; unmapping it", pid,
		(unsigned long long)map.vaddr);
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap), .iova = map.iova, .size = map.size,
	};
	if (ioctl(kc->fd, VFIO_IOMMU_UNMAP_DMA, &unmap) < 0)
		vfc_err("caller %d: unmapping the dry run: %m", pid);
	return ioctl_in_client(kc, io);
}

static int kernel_client_fd(void *data)
{
	struct kcontainer *kc = data;
	int fd;

	if (!kc->iommu_set)
		return -ENODEV;
	fd = fcntl(kc->fd, F_DUPFD_CLOEXEC, 0);
	return fd < 0 ? -errno : fd;
}

/* GET_INFO: the kernel's answer, bytes and all, for up to 64 KiB of argsz. */
static int ioctl_get_info(struct kcontainer *kc, struct vfc_ioctl *io)
{
	const size_t minsz = vfc_offsetofend(struct vfio_iommu_type1_info, iova_pgsizes);
	_cleanup_free_ uint8_t *buf = NULL;
	uint32_t argsz, len;
	int r;

	r = vfc_ioctl_need(io, minsz, 0);
	if (r)
		return r;
	memcpy(&argsz, io->in, sizeof(argsz));
	if (argsz < minsz)
		return -EINVAL;
	len = (uint32_t)VFC_MIN((size_t)argsz, VFC_IOCTL_MAX_XFER);
	r = vfc_ioctl_need(io, len, len);
	if (r)
		return r;
	buf = malloc(len);
	if (!buf)
		return -ENOMEM;
	/* Bytes the kernel does not write keep the caller's values. */
	memcpy(buf, io->in, len);
	memcpy(buf, &len, sizeof(len));
	if (ioctl(kc->fd, VFIO_IOMMU_GET_INFO, buf) < 0)
		return -errno;
	memcpy(&len, buf, sizeof(len));
	if (len == VFC_MIN((size_t)argsz, VFC_IOCTL_MAX_XFER))
		memcpy(buf, &argsz, sizeof(argsz));	/* unchanged: the caller's own */
	vfc_ioctl_reply(io, buf, VFC_MIN((size_t)argsz, VFC_IOCTL_MAX_XFER));
	return 0;
}

static int kernel_ioctl(void *data, struct vfc_ioctl *io)
{
	struct kcontainer *kc = data;

	switch (io->cmd) {
	case VFIO_IOMMU_GET_INFO:
		return ioctl_get_info(kc, io);
	case VFIO_IOMMU_MAP_DMA:
		return map_dry_run(kc, io);
	case VFIO_IOMMU_UNMAP_DMA:
	case VFIO_IOMMU_DIRTY_PAGES:
		return ioctl_in_client(kc, io);
	default:
		return -ENOTTY;
	}
}

static int kernel_dma_rw(void *data, uint64_t iova, void *buf, size_t len, bool write)
{
	return -ENODEV;	/* real devices DMA through the real IOMMU */
}

const struct vfc_iommu_ops vfc_kernel_iommu_ops = {
	.name = "kernel-type1",
	.check_extension = kernel_check_extension,
	.open = kernel_open,
	.release = kernel_release,
	.attach_group = kernel_attach_group,
	.detach_group = kernel_detach_group,
	.ioctl = kernel_ioctl,
	.dma_rw = kernel_dma_rw,
	.client_fd = kernel_client_fd,
};
