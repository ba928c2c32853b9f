/* SPDX-License-Identifier: MIT */
/*
 * What a backend implements and what it may call: the IOMMU driver ops
 * table (the kernel's vfio_iommu_driver_ops), the device ops table
 * (vfio_device_ops plus the vfio-pci region/irq calls), and the registry
 * through which a backend announces its groups and devices.
 *
 * Calling conventions: every int-returning op returns >= 0 on success and
 * -errno on failure. IOMMU open/release/attach_group/detach_group run under
 * the core lock and must not call back into the core. Every other op runs
 * without it: open_device/close_device are serialised per device, and a
 * device may call vfc_device_dma_rw() from any thread while it is open.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/vfio.h>

#include "vfc-ioctl.h"

struct vfc_core;
struct vfc_group;
struct vfc_device;

/* vfio-pci's region offset encoding: index << 40. Clients use what is reported. */
#define VFC_REGION_SHIFT 40
#define VFC_REGION_OFFSET(index) ((uint64_t)(index) << VFC_REGION_SHIFT)
#define VFC_REGION_INDEX(off) ((unsigned int)((off) >> VFC_REGION_SHIFT))
#define VFC_REGION_MASK ((1ull << VFC_REGION_SHIFT) - 1)

/*
 * SET_IRQS eventfd slots that failed to resolve in the caller carry their
 * errno: -EBADF (not open) or -EINVAL (not an eventfd).
 */
#define VFC_IRQ_FD_ERROR(err) (-0x10000 - (int32_t)(err))
static inline int vfc_irq_fd_error(int32_t v)
{
	return v <= -0x10000 ? -(int)(-0x10000 - v) : 0;
}

/*
 * One group fd of PCI_HOT_RESET, resolved in the caller: @group (owned by
 * the core) when @err is 0, else -EBADF (not open in the caller), -EINVAL
 * (open, but not one of our group files) or the transport's errno.
 */
struct vfc_hot_reset_group {
	struct vfc_group *group;
	int err;
};

/* A count or size an IOMMU driver cannot know (struct vfc_iommu_stats). */
#define VFC_IOMMU_UNKNOWN UINT64_MAX

/**
 * struct vfc_iommu_stats - one container's IOMMU, as vfio-cusectl shows it.
 * @mappings: live MAP_DMA entries.
 * @mapped: bytes they cover (saturates at UINT64_MAX - 1).
 * @pinned: bytes of client memory the IOMMU holds pinned: 0 for the
 *          emulated IOMMU, which pins nothing; VFC_IOMMU_UNKNOWN where the
 *          kernel pins and charges the client, not us.
 */
struct vfc_iommu_stats {
	uint64_t mappings;
	uint64_t mapped;
	uint64_t pinned;
};

/* struct vfc_iommu_mapping.flags */
#define VFC_IOMMU_MAP_READ (1u << 0)		/* the device may read */
#define VFC_IOMMU_MAP_WRITE (1u << 1)		/* the device may write */
#define VFC_IOMMU_MAP_VADDR_INVALID (1u << 2)	/* UNMAP_DMA with VADDR: no owner */

/**
 * struct vfc_iommu_mapping - one mapping, as the @inspect op reports it.
 * @iova: first IOVA.
 * @last: last IOVA, inclusive (a mapping may end at 2^64 - 1).
 * @vaddr: the owner's address of @iova.
 * @flags: VFC_IOMMU_MAP_*.
 * @owner: the process whose memory it names; 0 when none.
 */
struct vfc_iommu_mapping {
	uint64_t iova;
	uint64_t last;
	uint64_t vaddr;
	uint32_t flags;
	pid_t owner;
};

/**
 * struct vfc_iommu_ops - an IOMMU driver, e.g. type1.
 * @name: for logs.
 * @check_extension: @data is NULL when no container uses the driver yet.
 *                   Return 1 for a supported extension or type, else 0.
 * @open: create per-container state for IOMMU type @type.
 *        Return 0 and *@ret_data, or -EINVAL for a type it cannot open.
 * @release: free what @open made (all mappings go).
 * @attach_group: a group joins the container. Return 0 or -errno.
 * @detach_group: a group leaves the container.
 * @ioctl: every container ioctl the core does not handle itself (MAP_DMA,
 *         UNMAP_DMA, GET_INFO, ...). Follows the vfc_ioctl retry protocol;
 *         returns -ENOTTY for unknown commands.
 * @dma_rw: a device reads or writes @len bytes at @iova. Return 0, or
 *          -EFAULT when any byte is unmapped or lacks the permission.
 * @client_fd: optional; an fd of the IOMMU itself that a client may use
 *             directly (the kernel backend's kernel container: only the
 *             client can pin its own memory). Return a new O_CLOEXEC fd,
 *             owned by the caller; -ENODEV before the IOMMU is set up.
 * @inspect: optional, for vfio-cusectl (vfc-inspect.h): fill *@ret_stats
 *           (VFC_IOMMU_UNKNOWN for what the driver cannot know), then, if
 *           @fn is not NULL, call it for each mapping in IOVA order until
 *           it returns nonzero, and return that. @fn runs under the
 *           driver's lock and must not call into the core or the driver.
 *           Without the op, everything is unknown.
 */
struct vfc_iommu_ops {
	const char *name;
	int (*check_extension)(void *driver_data, void *data, unsigned long ext);
	int (*open)(void *driver_data, unsigned long type, void **ret_data);
	void (*release)(void *data);
	int (*attach_group)(void *data, struct vfc_group *group);
	void (*detach_group)(void *data, struct vfc_group *group);
	int (*ioctl)(void *data, struct vfc_ioctl *io);
	int (*dma_rw)(void *data, uint64_t iova, void *buf, size_t len, bool write);
	int (*client_fd)(void *data);
	int (*inspect)(void *data, struct vfc_iommu_stats *ret_stats,
		       int (*fn)(void *opaque, const struct vfc_iommu_mapping *m), void *opaque);
};

/**
 * struct vfc_device_ops - a device model or a real device.
 * @open_device: first open of the device; @dev is the core's handle.
 * @close_device: last close; the device must drop client eventfds and
 *                stop DMA.
 * @get_info: fill flags, num_regions, num_irqs.
 * @get_region_info: @info->index is below num_regions; @info->offset is
 *                   preset to VFC_REGION_OFFSET(index). Fill size, flags,
 *                   and optionally caps. Return 0 or -EINVAL.
 * @region_rw: access @len bytes at @off of region @index. Return bytes
 *             done (may be short at the end), or -EINVAL / -EIO.
 * @get_irq_info: @info->index is below num_irqs. Fill flags and count, or
 *                return -EINVAL for an index the device does not have.
 * @set_irqs: the header has been validated against get_irq_info's count.
 *            For DATA_EVENTFD, @data holds @count int32 values: a local fd
 *            already resolved in this process, -1 for "none", -2 for any
 *            other negative client value (none for every index but ERR and
 *            REQ, where the kernel then leaves the trigger as it is), or a
 *            VFC_IRQ_FD_ERROR() marker for a client fd
 *            that could not be used; the device returns
 *            vfc_irq_fd_error(value) at the point where the kernel would
 *            have looked the fd up, so errno ordering stays the kernel's.
 *            The device dup()s the fds it keeps. For DATA_BOOL, @count
 *            bytes. Return 0 or -errno (-ENOTTY for an action the index
 *            does not support).
 * @region_mmap: optional; the file behind a mappable region. Called only
 *               for a region whose get_region_info flags carry MMAP, with
 *               a page-aligned range inside it (the core has checked it as
 *               vfio_pci_core_mmap() does). Return 0 with a new O_CLOEXEC
 *               fd in *@ret_fd, owned by the caller, that maps the range
 *               at *@ret_off with MAP_SHARED; or -errno. Without it, the
 *               core never offers MMAP.
 * @reset: NULL when the device cannot reset (VFIO_DEVICE_RESET: EINVAL).
 * @match: optional; decide whether @buf names the device. Return 1, 0, or
 *         -errno. Without it the name must be equal.
 * @ioeventfd: optional (VFIO_DEVICE_IOEVENTFD; without it ENOTTY): the
 *             core has done vfio_pci_ioctl_ioeventfd()'s checks (argsz,
 *             flags, one size, fd >= -1). @offset is the client's region
 *             offset, @count 1, 2, 4 or 8 bytes, @fd a local eventfd, -1,
 *             or a VFC_IRQ_FD_ERROR() marker, reported where the kernel
 *             looks the fd up. The device dup()s what it keeps. Return 0
 *             or -errno as vfio_pci_ioeventfd().
 * @pm_use: optional; the kernel's runtime PM reference, taken (@get) and
 *          dropped around every device ioctl round and region access: a
 *          device in low power resumes for it.
 * @pm_entry: optional (LOW_POWER_ENTRY and _WITH_WAKEUP; without it
 *            ENOTTY): enter low power; @wake_fd a local eventfd to signal
 *            and leave low power at the next resume, or -1; the device
 *            dup()s it. Return 0, -EINVAL when already in low power.
 * @pm_exit: LOW_POWER_EXIT; required with @pm_entry. Return 0.
 * @log_start: optional (DMA_LOGGING_*; without it ENOTTY): start logging
 *             the device's DMA writes to @n ranges, checked by the core as
 *             vfio_ioctl_device_feature_logging_start() does (aligned to
 *             the page size asked for, no overlap, no wrap). The device
 *             may change *@page_size to what it tracks. Return 0 or
 *             -errno (-EINVAL when already logging).
 * @log_stop: required with @log_start. Return 0 or -errno.
 * @log_report: required with @log_start: read and clear the pages written
 *              in [@iova, @iova + @length), calling @set for each written
 *              range (in any order; clipping is the caller's). Return 0,
 *              @set's -errno, or the device's (-EINVAL when not logging).
 * @hot_reset_info: optional (without it GET_PCI_HOT_RESET_INFO and
 *                  PCI_HOT_RESET answer ENODEV, as for a device on a root
 *                  bus): the devices a hot reset of this device affects,
 *                  as vfio_pci_ioctl_get_pci_hot_reset_info() finds them.
 *                  Fill at most @max entries of @devices (NULL when @max
 *                  is 0). Return how many devices are affected (more than
 *                  @max: none was filled), or -errno (-ENODEV: neither a
 *                  slot nor a bus reset).
 * @hot_reset: required with @hot_reset_info: PCI_HOT_RESET naming @count
 *             groups, in the caller's order. The core has made the
 *             kernel's header checks and checked @count against the
 *             devices affected. The device fails as the kernel does at
 *             the first entry with an error (its errno where the kernel
 *             would say EBADF or EINVAL), then as its reset does.
 * @feature: optional; DEVICE_FEATURE as the device's own driver answers it
 *           (the kernel backend). The core calls it for every PROBE (with
 *           @len 0), and for the features it forwards: PCI_VF_TOKEN,
 *           MIGRATION GET, MIG_DEVICE_STATE GET, DMA_LOGGING_STOP, and
 *           DMA_LOGGING_START and _REPORT with their pointers made
 *           pointers into this process. @flags the client's, @data the
 *           @len payload bytes, rewritten in place as the kernel writes
 *           the argument. Return 0 or -errno, the driver's. LOW_POWER_*
 *           still go through @pm_entry/@pm_exit, and log_* are unused.
 */
struct vfc_device_ops {
	int (*open_device)(void *priv, struct vfc_device *dev);
	void (*close_device)(void *priv);
	int (*get_info)(void *priv, struct vfio_device_info *info);
	int (*get_region_info)(void *priv, struct vfio_region_info *info,
			       struct vfc_caps *caps);
	ssize_t (*region_rw)(void *priv, unsigned int index, uint64_t off,
			     void *buf, size_t len, bool write);
	int (*get_irq_info)(void *priv, struct vfio_irq_info *info);
	int (*set_irqs)(void *priv, uint32_t flags, unsigned int index,
			unsigned int start, unsigned int count, const void *data);
	int (*region_mmap)(void *priv, unsigned int index, uint64_t off, uint64_t len,
			   int *ret_fd, uint64_t *ret_off);
	int (*reset)(void *priv);
	int (*match)(struct vfc_device *dev, const char *buf);
	int (*ioeventfd)(void *priv, uint64_t offset, uint64_t data, unsigned int count, int fd);
	void (*pm_use)(void *priv, bool get);
	int (*pm_entry)(void *priv, int wake_fd);
	int (*pm_exit)(void *priv);
	int (*log_start)(void *priv, const struct vfio_device_feature_dma_logging_range *ranges,
			 unsigned int n, uint64_t *page_size);
	int (*log_stop)(void *priv);
	int (*log_report)(void *priv, uint64_t iova, uint64_t length,
			  int (*set)(void *opaque, uint64_t iova, uint64_t length), void *opaque);
	int (*hot_reset_info)(void *priv, struct vfio_pci_dependent_device *devices,
			      unsigned int max);
	int (*hot_reset)(void *priv, const struct vfc_hot_reset_group *groups, unsigned int count);
	int (*feature)(void *priv, uint32_t flags, void *data, size_t len);
};

/**
 * vfc_core_add_iommu_driver() - register an IOMMU driver.
 * @core: the core.
 * @ops: the driver; must outlive @core.
 * @driver_data: passed to check_extension and open.
 *
 * Drivers are asked in registration order, as the kernel's list is.
 * Return: 0, -ENOMEM.
 */
int vfc_core_add_iommu_driver(struct vfc_core *core, const struct vfc_iommu_ops *ops,
			      void *driver_data);

/**
 * vfc_core_add_group() - announce an IOMMU group.
 * @core: the core.
 * @id: the group number, as in /dev/vfio/<id>.
 * @priv: backend data, see vfc_group_priv().
 * @ret_group: the group, owned by @core (not a new reference).
 *
 * A new group is viable.
 * Return: 0, -EEXIST for a taken number, -ENOMEM.
 */
int vfc_core_add_group(struct vfc_core *core, unsigned int id, void *priv,
		       struct vfc_group **ret_group);

/**
 * vfc_group_add_device() - announce a device in a group.
 * @group: its group.
 * @name: its name, e.g. "0000:06:0d.0"; copied.
 * @ops: its ops; must outlive the core.
 * @priv: passed to every op.
 * @ret_device: the device, owned by the core (may be NULL).
 *
 * Return: 0, -EEXIST for a name taken anywhere in the core, -EINVAL for an
 * empty name or one of 4096 bytes or more, -ENOMEM.
 */
int vfc_group_add_device(struct vfc_group *group, const char *name,
			 const struct vfc_device_ops *ops, void *priv,
			 struct vfc_device **ret_device);

/**
 * vfc_group_set_viable() - a backend's word on isolation.
 * @group: the group.
 * @viable: false when some device of the group is bound to a driver that
 *          is not ours: SET_CONTAINER then fails with EPERM and
 *          GET_STATUS clears VIABLE until the group is attached.
 */
void vfc_group_set_viable(struct vfc_group *group, bool viable);

/**
 * vfc_group_set_iommu_ops() - bind a group to one IOMMU driver.
 * @group: the group.
 * @ops: the only driver that may serve it (e.g. the kernel backend's for
 *       real devices), or NULL for any.
 *
 * Containers then mix only groups that accept the same driver (EPERM, as
 * the kernel refuses to mix real and no-IOMMU groups), CHECK_EXTENSION and
 * SET_IOMMU consider only that driver, and a group joining a container
 * whose IOMMU is another driver's is refused with EINVAL.
 */
void vfc_group_set_iommu_ops(struct vfc_group *group, const struct vfc_iommu_ops *ops);

unsigned int vfc_group_id(const struct vfc_group *group);
void *vfc_group_priv(const struct vfc_group *group);
const char *vfc_device_name(const struct vfc_device *dev);

/**
 * vfc_device_match_pci() - vfio-pci's name matching, for @match.
 * @dev: the device.
 * @buf: the client's string.
 *
 * The name alone matches. The name followed by a space and options is
 * what vfio-pci parses for "vf_token=<uuid>"; our devices are neither PF
 * nor VF, so any option is refused as vfio-pci refuses a token there.
 * Return: 1 match, 0 no match, -EINVAL for options.
 */
int vfc_device_match_pci(struct vfc_device *dev, const char *buf);

/**
 * vfc_device_dma_rw() - a device's DMA through its container's IOMMU.
 * @dev: the device; must be open.
 * @iova: the I/O virtual address.
 * @buf: local buffer.
 * @len: bytes.
 * @write: true to write client memory.
 *
 * Return: 0, -EFAULT for an IOMMU fault, -ENODEV when the device is not
 * open (no container).
 */
int vfc_device_dma_rw(struct vfc_device *dev, uint64_t iova, void *buf, size_t len,
		      bool write);

/**
 * vfc_eventfd_signal() - add 1 to eventfd @fd, as the kernel's
 * eventfd_signal(): never blocks (a saturated counter loses the signal, as
 * the kernel's cannot fail either). @fd < 0 does nothing.
 */
void vfc_eventfd_signal(int fd);
