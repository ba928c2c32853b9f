/* SPDX-License-Identifier: MIT */
/*
 * The kernel backend's IOMMU driver: each of our containers is a kernel
 * container (from the privileged ops), each attached group the kernel's
 * group. The kernel's type1 pins the pages of the CALLING process, and the
 * caller of the kernel's MAP_DMA is the daemon: so a client's DMA memory
 * must be memory the daemon can map too. For each MAP_DMA the daemon finds
 * the client's mapping in /proc/<pid>/maps, which must be shared (memfd,
 * hugetlbfs, MAP_SHARED anonymous memory), opens the file behind it
 * (/proc/<pid>/map_files, a privileged op), maps the same pages and hands
 * its own address to the kernel. Private memory cannot be mapped by anyone
 * but its owner: EOPNOTSUPP and a log line naming the fix. The daemon's
 * views go when the kernel's mappings go: on UNMAP_DMA, on the last group
 * leaving, on the container's release (the client closing it or dying).
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kernel-priv.h"
#include "vfc-log.h"
#include "vfc-macro.h"

struct kmap {
	uint64_t iova, size;
	void *addr;		/* the daemon's view of the client's pages */
	struct kmap *next;
};

struct kcontainer {
	struct vfc_kernel *k;
	int fd;			/* the kernel's container */
	unsigned long type;
	bool iommu_set;
	unsigned int groups;
	pthread_mutex_t lock;	/* maps */
	struct kmap *maps;
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
	pthread_mutex_init(&kc->lock, NULL);
	*ret_data = kc;
	return 0;
}

static void maps_drop(struct kcontainer *kc, uint64_t iova, uint64_t size, bool all)
{
	pthread_mutex_lock(&kc->lock);
	for (struct kmap **pp = &kc->maps; *pp;) {
		struct kmap *m = *pp;

		/* The kernel removes, v1 or v2, the mappings that start in range. */
		if (all || (m->iova >= iova && m->iova - iova < size)) {
			*pp = m->next;
			munmap(m->addr, m->size);
			free(m);
		} else {
			pp = &m->next;
		}
	}
	pthread_mutex_unlock(&kc->lock);
}

static void kernel_release(void *data)
{
	struct kcontainer *kc = data;

	close(kc->fd);	/* the kernel unmaps and unpins everything */
	maps_drop(kc, 0, 0, true);
	pthread_mutex_destroy(&kc->lock);
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
	if (--kc->groups == 0) {
		/* The kernel dropped its IOMMU and every mapping with it. */
		kc->iommu_set = false;
		maps_drop(kc, 0, 0, true);
	}
}

/* The client's VMA holding [vaddr, vaddr + size): bounds, file offset, shared. */
struct vma {
	uint64_t start, end, pgoff;
	bool shared, writable;
};

static int find_vma(pid_t pid, uint64_t vaddr, uint64_t size, struct vma *ret)
{
	char path[64], line[512];
	FILE *f;
	int r = -EFAULT;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return -ESRCH;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long start, end, off;
		char perms[8];

		if (sscanf(line, "%llx-%llx %7s %llx", &start, &end, perms, &off) != 4)
			continue;
		if (vaddr < start || vaddr >= end)
			continue;
		if (size > end - vaddr)
			break;	/* spans mappings: the kernel's pinning would fault past it */
		*ret = (struct vma){ .start = start, .end = end, .pgoff = off,
				     .shared = perms[3] == 's', .writable = perms[1] == 'w' };
		r = 0;
		break;
	}
	fclose(f);
	return r;
}

/* A view of the client's pages in the daemon. Return: 0 and *addr, or -errno. */
static int map_client(struct kcontainer *kc, pid_t pid, uint64_t vaddr, uint64_t size,
		      bool write, void **addr)
{
	struct vma vma;
	void *p;
	int fd, r;

	r = find_vma(pid, vaddr, size, &vma);
	if (r < 0)
		return r;
	if (!vma.shared) {
		vfc_err("caller %d: MAP_DMA of private memory at 0x%llx: the kernel backend can "
			"only map shared memory: use memfd_create or MAP_SHARED (QEMU: -object "
			"memory-backend-memfd,share=on)", pid, (unsigned long long)vaddr);
		return -EOPNOTSUPP;
	}
	fd = kc->k->priv->ops->open_map_file(kc->k->priv, pid, vma.start, vma.end);
	if (fd < 0) {
		vfc_err("caller %d: cannot open the file behind 0x%llx-0x%llx: %s", pid,
			(unsigned long long)vma.start, (unsigned long long)vma.end, strerror(-fd));
		return fd == -EOPNOTSUPP ? -EOPNOTSUPP : -EFAULT;
	}
	p = mmap(NULL, size, PROT_READ | (write ? PROT_WRITE : 0), MAP_SHARED, fd,
		 (off_t)(vma.pgoff + (vaddr - vma.start)));
	r = p == MAP_FAILED ? -errno : 0;
	close(fd);
	if (r < 0)
		return r == -EACCES ? -EFAULT : r;
	*addr = p;
	return 0;
}

static int ioctl_map_dma(struct kcontainer *kc, struct vfc_ioctl *io)
{
	const size_t minsz = vfc_offsetofend(struct vfio_iommu_type1_dma_map, size);
	struct vfio_iommu_type1_dma_map map;
	pid_t pid = io->caller ? io->caller->pid : 0;
	struct kmap *m;
	void *addr;
	int r;

	r = vfc_ioctl_need(io, minsz, 0);
	if (r)
		return r;
	memcpy(&map, io->in, minsz);
	if (map.argsz < minsz || (map.flags & ~(VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)))
		return -EINVAL;	/* VADDR: not offered (UPDATE_VADDR is 0) */
	/*
	 * Arguments the kernel rejects before it looks at memory (no
	 * permission, size 0, misalignment, a wrap): let it say so, with the
	 * client's own values, which it never dereferences then.
	 */
	if (!(map.flags & (VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)) || !map.size ||
	    ((map.iova | map.vaddr | map.size) & 0xfff) || map.vaddr + map.size - 1 < map.vaddr ||
	    map.iova + map.size - 1 < map.iova) {
		if (ioctl(kc->fd, VFIO_IOMMU_MAP_DMA, &map) < 0)
			return -errno;
		/* Never expected: undo a mapping of the daemon's own memory. */
		struct vfio_iommu_type1_dma_unmap undo = {
			.argsz = sizeof(undo), .iova = map.iova, .size = map.size,
		};
		ioctl(kc->fd, VFIO_IOMMU_UNMAP_DMA, &undo);
		vfc_err("caller %d: the kernel accepted MAP_DMA arguments it should refuse", pid);
		return -EINVAL;
	}
	if (pid <= 0)
		return -EFAULT;
	r = map_client(kc, pid, map.vaddr, map.size, map.flags & VFIO_DMA_MAP_FLAG_WRITE, &addr);
	if (r < 0)
		return r;
	m = calloc(1, sizeof(*m));
	if (!m) {
		munmap(addr, map.size);
		return -ENOMEM;
	}
	map.vaddr = (uintptr_t)addr;
	if (ioctl(kc->fd, VFIO_IOMMU_MAP_DMA, &map) < 0) {
		r = -errno;
		munmap(addr, map.size);
		free(m);
		return r;
	}
	*m = (struct kmap){ .iova = map.iova, .size = map.size, .addr = addr };
	pthread_mutex_lock(&kc->lock);
	m->next = kc->maps;
	kc->maps = m;
	pthread_mutex_unlock(&kc->lock);
	return 0;
}

static int ioctl_unmap_dma(struct kcontainer *kc, struct vfc_ioctl *io)
{
	const size_t minsz = vfc_offsetofend(struct vfio_iommu_type1_dma_unmap, size);
	struct vfio_iommu_type1_dma_unmap unmap, req;
	int r;

	r = vfc_ioctl_need(io, minsz, minsz);
	if (r)
		return r;
	memcpy(&unmap, io->in, minsz);
	/* The dirty bitmap names client memory the kernel would write: refused. */
	if (unmap.argsz >= minsz && (unmap.flags & VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP))
		return -EINVAL;
	req = unmap;
	unmap.argsz = (uint32_t)VFC_MIN((size_t)unmap.argsz, minsz);
	if (ioctl(kc->fd, VFIO_IOMMU_UNMAP_DMA, &unmap) < 0)
		return -errno;
	maps_drop(kc, req.iova, req.size, req.flags & VFIO_DMA_UNMAP_FLAG_ALL);
	unmap.argsz = req.argsz;
	vfc_ioctl_reply(io, &unmap, minsz);
	return 0;
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

/*
 * DIRTY_PAGES: START and STOP go to the kernel as they are. GET_BITMAP names
 * client memory for the kernel to write, which would be the daemon's:
 * refused with EINVAL, after the kernel's own argument checks.
 */
static int ioctl_dirty_pages(struct kcontainer *kc, struct vfc_ioctl *io)
{
	const size_t minsz = vfc_offsetofend(struct vfio_iommu_type1_dirty_bitmap, flags);
	struct vfio_iommu_type1_dirty_bitmap db;
	int r;

	r = vfc_ioctl_need(io, minsz, 0);
	if (r)
		return r;
	memcpy(&db, io->in, minsz);
	if (db.argsz >= minsz && (db.flags & VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP))
		return -EINVAL;
	db.argsz = (uint32_t)VFC_MIN((size_t)db.argsz, minsz);
	return ioctl(kc->fd, VFIO_IOMMU_DIRTY_PAGES, &db) < 0 ? -errno : 0;
}

static int kernel_ioctl(void *data, struct vfc_ioctl *io)
{
	struct kcontainer *kc = data;

	switch (io->cmd) {
	case VFIO_IOMMU_GET_INFO:
		return ioctl_get_info(kc, io);
	case VFIO_IOMMU_MAP_DMA:
		return ioctl_map_dma(kc, io);
	case VFIO_IOMMU_UNMAP_DMA:
		return ioctl_unmap_dma(kc, io);
	case VFIO_IOMMU_DIRTY_PAGES:
		return ioctl_dirty_pages(kc, io);
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
};
