/* SPDX-License-Identifier: MIT */
/*
 * The channel: what CUSE cannot carry between vfio-cused and its client
 * library, above all files. A SOCK_SEQPACKET unix socket (its path comes
 * with the token, below), one request and one reply per message, every
 * integer in host byte order.
 *
 * Proof of holding a file. A request names a file of the daemon by a
 * token, which only an ioctl on that very file yields
 * (VFC_CUSE_CHANNEL_TOKEN, vfc-cuse-proto.h): 128 random bits, one per
 * open file, dead with the file's release. So a client obtains nothing
 * through the channel for a file it does not hold, or did not get a token
 * of from a process that held it (which could as well have passed it the
 * file). The daemon never receives an fd on the channel; it only sends.
 *
 * Message table (every request has exactly its size; anything else is
 * EINVAL, logged, and the connection is kept):
 *
 *   op  name      request                          reply
 *   1   MMAP      struct vfc_channel_mmap (48)     struct vfc_channel_reply (16)
 *                                                  + SCM_RIGHTS 1 fd if status 0
 *   2   IOMMU_FD  struct vfc_channel_iommu_fd (24) the same
 */
#pragma once

#include <stdint.h>

#define VFC_CHANNEL_TOKEN_SIZE 16
#define VFC_CHANNEL_PATH_MAX 108	/* sizeof(sun_path) */

enum {
	VFC_CHANNEL_MMAP = 1,
	VFC_CHANNEL_IOMMU_FD = 2,
	VFC_CHANNEL_N_OPS,
};

struct vfc_channel_hdr {
	uint32_t op;
	uint32_t reserved;	/* 0 */
};

/*
 * MMAP: mmap(@length, @prot, @flags, device fd, @offset) of the device file
 * behind @token. The reply's fd is mapped at the reply's offset instead,
 * with the same @length, @prot and @flags. Errors are the kernel's for that
 * mmap() (vfio_pci_core_mmap()), plus EBADF for a token of no open file.
 */
struct vfc_channel_mmap {
	struct vfc_channel_hdr hdr;
	uint8_t token[VFC_CHANNEL_TOKEN_SIZE];
	uint64_t offset;
	uint64_t length;
	uint32_t prot;
	uint32_t flags;
};

/*
 * IOMMU_FD: the IOMMU of the container file behind @token, as an fd the
 * client uses itself: the kernel backend's kernel container, on which the
 * client maps its own memory (the kernel pins the caller's pages). Sent
 * after the daemon answered MAP_DMA, UNMAP_DMA or DIRTY_PAGES with EREMOTE.
 * Errors: EBADF (a token of no open file), ENOTTY (not a container file),
 * ENODEV (no IOMMU set), EOPNOTSUPP (an IOMMU without one: emulated).
 */
struct vfc_channel_iommu_fd {
	struct vfc_channel_hdr hdr;
	uint8_t token[VFC_CHANNEL_TOKEN_SIZE];
};

struct vfc_channel_reply {
	int32_t status;		/* 0 or -errno */
	uint32_t reserved;
	uint64_t offset;	/* MMAP: where to map the fd */
};
