/* SPDX-License-Identifier: MIT */
/*
 * The transport-facing API of the VFIO core: create a core, open its
 * container, group and device files, pass them ioctls and region accesses,
 * and release them. The core never sees libfuse; a transport (CUSE, or the
 * in-process one in vfc-local.h) turns its requests into these calls.
 *
 * Lifetime rule, as in the kernel: containers, groups and devices may be
 * closed in any order. A device file keeps its group open (a second open
 * of the group gets EBUSY until the device closes) and the group keeps its
 * container and IOMMU.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "vfc-backend.h"
#include "vfc-ioctl.h"

struct vfc_container;
struct vfc_group_file;
struct vfc_device_file;

/**
 * struct vfc_caller_ops - what a transport resolves for the core.
 * @get_container: the container behind the caller's fd @fd. Called with
 *                 no core lock held (the transport may issue a nested
 *                 ioctl to find out). Return 0 and a NEW reference in
 *                 *@ret; -EBADF when @fd is not open in the caller;
 *                 -EBADFD when it is open but not one of our containers.
 * @get_eventfd: duplicate the caller's eventfd @fd into this process.
 *               Return the local fd (O_CLOEXEC; the core owns it); -EBADF
 *               when @fd is not open in the caller; -EINVAL when it is
 *               open but no eventfd (the transport has disposed of it,
 *               without blocking on the file's filesystem and without a
 *               request to itself: SET_IRQS is not VFC_IOCTL_NESTS, so this
 *               must not wait on another request); -EMFILE when
 *               the caller may not have more files judged now.
 * @install_device: give the caller an fd for @df. Return the fd number
 *                  the caller sees; on success the reference on @df moves
 *                  to the transport; on failure the core keeps it.
 * @get_group: the group whose file the caller's fd @fd is (PCI_HOT_RESET's
 *             group fds). Called with no core lock held, from an ioctl
 *             marked VFC_IOCTL_NESTS: the transport may issue a nested
 *             request, and closes whatever it fetched before returning
 *             (that close may be the group file's release). Return 0 and
 *             the group in *@ret (owned by the core, which keeps its groups
 *             as long as it lives); -EBADF when @fd is not open in the
 *             caller; -EINVAL when it is open but not one of our group
 *             files; or the transport's errno (-EMFILE, -EPERM, -ESRCH).
 */
struct vfc_caller_ops {
	int (*get_container)(struct vfc_caller *caller, int fd, struct vfc_container **ret);
	int (*get_eventfd)(struct vfc_caller *caller, int fd);
	int (*get_group)(struct vfc_caller *caller, int fd, struct vfc_group **ret);
	int (*install_device)(struct vfc_caller *caller, struct vfc_device_file *df);
};

/**
 * struct vfc_caller - the process behind one request.
 * @ops: resolution callbacks; any may be NULL (the core then answers as
 *       for an fd that is not open: EBADF; or ENOTTY for install).
 * @pid: its thread-group id in our pid namespace (0 if unknown).
 * @uid: its uid.
 * @gid: its gid.
 */
struct vfc_caller {
	const struct vfc_caller_ops *ops;
	pid_t pid;
	uid_t uid;
	gid_t gid;
};

/**
 * vfc_core_new() - an empty core: no drivers, groups or devices.
 * @ret_core: the new core.
 * Return: 0, -ENOMEM.
 */
int vfc_core_new(struct vfc_core **ret_core);

/**
 * vfc_core_free() - free a core and everything registered with it.
 * @core: the core, or NULL. Every file must have been released.
 * Return: NULL.
 */
struct vfc_core *vfc_core_free(struct vfc_core *core);

/**
 * vfc_core_find_group() - look a group up by number.
 * Return: the group (owned by the core), or NULL.
 */
struct vfc_group *vfc_core_find_group(struct vfc_core *core, unsigned int id);

/**
 * vfc_core_for_each_group() - iterate groups in registration order.
 * @core: the core.
 * @prev: NULL to start, or the previous group.
 * Return: the next group, or NULL.
 */
struct vfc_group *vfc_core_next_group(struct vfc_core *core, struct vfc_group *prev);

/**
 * vfc_group_next_device() - iterate a group's devices in registration order.
 * @group: the group.
 * @prev: NULL to start, or the previous device.
 * Return: the next device (owned by the core), or NULL.
 */
struct vfc_device *vfc_group_next_device(struct vfc_group *group, struct vfc_device *prev);

/**
 * vfc_device_config_read() - read a device's PCI config space, open or not
 * (for the sysfs view: vendor, device, class...).
 * Return: bytes read, or -errno from the device.
 */
ssize_t vfc_device_config_read(struct vfc_device *dev, uint64_t off, void *buf, size_t len);

/* Containers: one per open of /dev/vfio/vfio. */

/**
 * vfc_container_open() - a new, empty container.
 * Return: 0 with a new reference in *@ret, -ENOMEM.
 */
int vfc_container_open(struct vfc_core *core, struct vfc_container **ret);
struct vfc_container *vfc_container_ref(struct vfc_container *c);
/** vfc_container_unref() - drop a reference; NULL is fine. Return: NULL. */
struct vfc_container *vfc_container_unref(struct vfc_container *c);
/** vfc_container_id() - a number unique in the core, for logs and identity ioctls. */
unsigned long vfc_container_id(const struct vfc_container *c);
/**
 * vfc_container_client_fd() - the container's IOMMU as an fd the client may
 * use itself (struct vfc_iommu_ops.client_fd).
 * Return: a new fd, owned by the caller; -ENODEV without an IOMMU;
 * -EOPNOTSUPP when the IOMMU has none (emulated).
 */
int vfc_container_client_fd(struct vfc_container *c);
/** vfc_core_find_container() - by id. Return: a NEW reference, or NULL. */
struct vfc_container *vfc_core_find_container(struct vfc_core *core, unsigned long id);

/* Group files: one per successful open of /dev/vfio/<id>. */

/**
 * vfc_group_open() - open a group, as the kernel's group open does.
 * Return: 0 and the file; -ENODEV for no such group; -EBUSY when it is
 * already open, or still held by a device file of an earlier open.
 */
int vfc_group_open(struct vfc_core *core, unsigned int id, struct vfc_group_file **ret);
/** vfc_group_close() - release the file from vfc_group_open(). NULL is fine. */
void vfc_group_close(struct vfc_group_file *gf);
struct vfc_group *vfc_group_file_group(struct vfc_group_file *gf);

/* Device files: from GROUP_GET_DEVICE_FD. */

/**
 * vfc_device_file_mmap() - mmap() of a device fd, as vfio_pci_core_mmap()
 * judges it (vfc_file_mmap()).
 * @off: the file offset: a region's reported offset plus the offset in it.
 * @len: bytes.
 * @shared: MAP_SHARED was asked for.
 * @ret_fd: a new fd to map instead, owned by the caller.
 * @ret_off: the offset to map it at.
 * Return: 0; -EINVAL (empty, not page-aligned, not shared, a region that
 * is not mappable, or a range past it), or the device's errno.
 */
int vfc_device_file_mmap(struct vfc_device_file *df, uint64_t off, uint64_t len, bool shared,
			 int *ret_fd, uint64_t *ret_off);

struct vfc_device_file *vfc_device_file_ref(struct vfc_device_file *df);
/** vfc_device_file_unref() - the last reference closes the device. Return: NULL. */
struct vfc_device_file *vfc_device_file_unref(struct vfc_device_file *df);
struct vfc_device *vfc_device_file_device(struct vfc_device_file *df);

/**
 * vfc_device_file_rw() - pread/pwrite on a device fd (vfc_file_rw()).
 * @df: the device file.
 * @off: the file offset: a region's reported offset plus the offset in it.
 * @buf: local buffer.
 * @len: bytes.
 * @write: direction.
 * Return: bytes done, or -EINVAL for an offset in no region.
 */
ssize_t vfc_device_file_rw(struct vfc_device_file *df, uint64_t off, void *buf, size_t len,
			   bool write);
