/* SPDX-License-Identifier: MIT */
/*
 * Shared by the preload library's tests: test-preload-shim.c, a second
 * LD_PRELOAD library loaded after libvfio-cuse-preload.so that stands in
 * for vfio-cused, and test-preload-helper.c, the client it runs in.
 *
 * The shim sees every ioctl the library issues, because the library's
 * "real" ioctl is the next one in the lookup order. It records the VFIO
 * and vfio-cuse ones and answers them like the daemon would:
 * - VFC_CUSE_DEVICE_ARM: remembers the fd number per thread; fails with
 *   $VFC_SHIM_ARM_ERRNO (a number) if that is set.
 * - VFIO_GROUP_GET_DEVICE_FD, by the name's prefix: "cuse:" returns the
 *   number this thread armed (EINVAL if none, as an unarmed daemon would);
 *   "kernel" opens /dev/zero and returns that, like a kernel group; "fail"
 *   fails with ENODEV; anything else goes on to the real ioctl.
 * - VFC_CUSE_DEVICE_RW: one emulated region of SHIM_REGION_SIZE bytes at
 *   SHIM_REGION_BASE holding shim_pattern(); EINVAL outside it, short at
 *   its end, EINVAL for len > VFC_CUSE_RW_MAX or unknown flags.
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
	struct vfc_cuse_rw rw;	/* for VFC_CUSE_DEVICE_RW */
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
