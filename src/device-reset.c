/* SPDX-License-Identifier: MIT */
/*
 * PCI hot reset of a device: GET_PCI_HOT_RESET_INFO and PCI_HOT_RESET, as
 * vfio_pci_ioctl_get_pci_hot_reset_info() and _pci_hot_reset() check them.
 * A device without the hot_reset ops (the emulated ones) answers ENODEV,
 * as vfio-pci does for a device on a root bus. With them (the kernel
 * backend), the core makes the header checks, asks the device how many
 * devices a reset affects, resolves the caller's group fds into our
 * groups through the transport, and leaves the rest to the device.
 */
#include <stdlib.h>
#include <string.h>

#include "vfc-fault.h"
#include "vfc-log.h"
#include "vfc-private.h"
#include "vfc-trace.h"

/* The kernel's copy_to_user of the header before it fails with ENOSPC. */
static int hot_reset_info_nospc(struct vfc_ioctl *io, struct vfio_pci_hot_reset_info *hdr,
				size_t minsz)
{
	int r = vfc_ioctl_need(io, minsz, minsz);

	if (r)
		return r;
	vfc_ioctl_reply(io, hdr, minsz);
	io->out_on_error = true;
	return -ENOSPC;
}

int vfc_device_ioctl_hot_reset_info(struct vfc_device *dev, struct vfc_ioctl *io)
{
	const size_t minsz = vfc_offsetofend(struct vfio_pci_hot_reset_info, count);
	const size_t entry = sizeof(struct vfio_pci_dependent_device);
	_cleanup_free_ uint8_t *reply = NULL;
	struct vfio_pci_hot_reset_info hdr;
	size_t room, len;
	int n, m, r;

	r = vfc_ioctl_need(io, minsz, 0);
	if (r)
		return r;
	memcpy(&hdr, io->in, minsz);
	if (hdr.argsz < minsz) {
		vfc_info("device \"%s\": GET_PCI_HOT_RESET_INFO: argsz %u < %zu", dev->name,
			 hdr.argsz, minsz);
		return -EINVAL;
	}
	if (!dev->ops->hot_reset_info)
		return -ENODEV;
	hdr.flags = 0;
	n = dev->ops->hot_reset_info(dev->priv, NULL, 0);
	if (n < 0) {
		vfc_debug("device \"%s\": GET_PCI_HOT_RESET_INFO: %s", dev->name, strerror(-n));
		return n;
	}
	room = (hdr.argsz - sizeof(hdr)) / entry;
	if ((size_t)n > room) {
		hdr.count = (uint32_t)n;
		return hot_reset_info_nospc(io, &hdr, minsz);
	}
	len = sizeof(hdr) + (size_t)n * entry;
	r = vfc_ioctl_need(io, minsz, len);	/* -ENOMEM past the transfer limit */
	if (r) {
		if (r == -ENOMEM)
			vfc_info("device \"%s\": GET_PCI_HOT_RESET_INFO: %d devices: too many",
				 dev->name, n);
		return r;
	}
	reply = calloc(1, len);
	if (!reply)
		return -ENOMEM;
	m = dev->ops->hot_reset_info(dev->priv, (struct vfio_pci_dependent_device *)
					       (reply + sizeof(hdr)), (unsigned int)n);
	if (m < 0)
		return m;
	if (m > n) {	/* a device came meanwhile: the kernel's count again */
		hdr.count = (uint32_t)m;
		return (size_t)m > room ? hot_reset_info_nospc(io, &hdr, minsz) : -EAGAIN;
	}
	hdr.count = (uint32_t)m;
	memcpy(reply, &hdr, sizeof(hdr));
	vfc_ioctl_reply(io, reply, sizeof(hdr) + (size_t)m * entry);
	return 0;
}

/*
 * The caller's group fds, in order, into our groups. The kernel stops at
 * the first fd it cannot use; so do we: that entry and the rest carry its
 * error, and the device fails on it where the kernel would.
 */
static void hot_reset_resolve(struct vfc_device *dev, struct vfc_ioctl *io, const uint8_t *raw,
			      struct vfc_hot_reset_group *groups, unsigned int count)
{
	int err = 0;

	for (unsigned int i = 0; i < count; i++) {
		struct vfc_group *g = NULL;
		int32_t fd;

		memcpy(&fd, raw + i * sizeof(fd), sizeof(fd));
		if (!err) {
			err = -EBADF;
			if (fd >= 0 && io->caller && io->caller->ops && io->caller->ops->get_group)
				err = io->caller->ops->get_group(io->caller, fd, &g);
			if (vfc_trace_on()) {
				if (err)
					vfc_trace_note("fd%d=%s", fd, err == -EBADF ? "EBADF" : "not-a-group");
				else
					vfc_trace_note("fd%d=group:%u", fd, g->id);
			}
			if (err)
				vfc_info("device \"%s\": PCI_HOT_RESET: group fd %d: %s", dev->name,
					 fd, err == -EBADF ? "not open in the caller" :
					 err == -EINVAL ? "not one of our groups" : strerror(-err));
		}
		groups[i] = (struct vfc_hot_reset_group){ .group = err ? NULL : g, .err = err };
	}
}

int vfc_device_ioctl_hot_reset(struct vfc_device *dev, struct vfc_ioctl *io)
{
	const size_t minsz = vfc_offsetofend(struct vfio_pci_hot_reset, count);
	_cleanup_free_ struct vfc_hot_reset_group *groups = NULL;
	struct vfio_pci_hot_reset hdr;
	int n, r;

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
	if (!dev->ops->hot_reset_info || !dev->ops->hot_reset)
		return -ENODEV;
	/* The kernel's order: no reset (ENODEV), then a count beyond the
	 * devices affected (which bounds what is read), then the fds. */
	n = dev->ops->hot_reset_info(dev->priv, NULL, 0);
	if (n < 0) {
		vfc_debug("device \"%s\": PCI_HOT_RESET: %s", dev->name, strerror(-n));
		return n;
	}
	if (hdr.count > (uint32_t)n) {
		vfc_info("device \"%s\": PCI_HOT_RESET: %u groups named, %d devices affected",
			 dev->name, hdr.count, n);
		return -EINVAL;
	}
	r = vfc_ioctl_need(io, minsz + (size_t)hdr.count * sizeof(int32_t), 0);
	if (r)
		return r;
	groups = calloc(hdr.count, sizeof(*groups));
	if (!groups)
		return -ENOMEM;
	hot_reset_resolve(dev, io, (const uint8_t *)io->in + minsz, groups, hdr.count);
	/* After the checks: a bad fd's error (carried to the last entry)
	 * comes first, from the device's op, as the kernel's would. */
	if (vfc_fault_any() && !groups[hdr.count - 1].err) {
		r = vfc_fault_reset(dev->name, (int)dev->group->id, "DEVICE_PCI_HOT_RESET");
		if (r) {
			io->injected = true;
			return r;
		}
	}
	r = dev->ops->hot_reset(dev->priv, groups, hdr.count);
	if (r < 0)
		vfc_info("device \"%s\": PCI_HOT_RESET with %u groups: %s", dev->name, hdr.count,
			 strerror(-r));
	return r;
}
