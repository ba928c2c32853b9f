/* SPDX-License-Identifier: MIT */
/*
 * Shared by the preload library's tests: test-preload-shim.c, a second
 * LD_PRELOAD library loaded after libvfio-cuse-preload.so that stands in
 * for vfio-cused, and test-preload-helper.c, the client it runs in.
 *
 * The shim sees every ioctl the library issues, because the library's
 * "real" ioctl is the next one in the lookup order. It records the VFIO
 * and vfio-cuse ones and answers them like the daemon would:
 * - VFC_CUSE_DEVICE_OPEN (recorded with the group fd as arg and the name):
 *   fails with $VFC_SHIM_OPEN_ERRNO (a number) if that is set; a name
 *   starting with "cuse:" returns the device fd, like the daemon; any
 *   other fails with ENODEV.
 * - VFIO_GROUP_GET_DEVICE_FD, by the name's prefix: "cuse:" fails with
 *   EOPNOTSUPP, as vfio-cused does without the library; "kernel" opens
 *   /dev/zero and returns that, like a kernel group; "fail" fails with
 *   ENODEV; anything else goes on to the real ioctl.
 * The library takes a group fd for vfio-cused's when it is a character
 * device of the node's major: with /dev/null as the node, /dev/zero is
 * such a group; a pipe is a kernel one.
 * - VFC_CUSE_DEVICE_RW: one emulated region of SHIM_REGION_SIZE bytes at
 *   SHIM_REGION_BASE holding shim_pattern(); EINVAL outside it, short at
 *   its end, EINVAL for len > VFC_CUSE_RW_MAX or unknown flags.
 * - The same region through VFC_CUSE_RW_FAST (with the daemon's result
 *   encoding and its stash, per thread, fetched by VFC_CUSE_RW_STASH) and
 *   VFC_CUSE_RW_BOUNCE; each is recorded decoded into the call's rw, with
 *   buf 0 (the data is not at a caller's buffer).
 */
#pragma once

#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include "vfc-cuse-proto.h"

#define SHIM_LOG_SYMBOL "vfc_shim_log"
#define SHIM_MAX_CALLS 2048
#define SHIM_NAME_MAX 32

/* Like vfio-pci's region 1 (index << 40). */
#define SHIM_REGION_BASE (1ull << 40)
#define SHIM_REGION_SIZE (256u * 1024u)

struct shim_call {
	unsigned long cmd;
	int fd;
	pid_t tid;
	long arg;		/* the raw argument */
	int ret;
	int err;		/* errno when ret < 0 */
	struct vfc_cuse_rw rw;	/* for the region access forms, decoded */
	char name[SHIM_NAME_MAX];	/* for GET_DEVICE_FD */
};

struct shim_log {
	atomic_int n;
	struct shim_call calls[SHIM_MAX_CALLS];
};

static inline uint8_t shim_pattern(uint64_t off)
{
	return (uint8_t)(off * 7 + (off >> 9) + 0x5a);
}
