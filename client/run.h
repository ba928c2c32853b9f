/* SPDX-License-Identifier: MIT */
/*
 * Private to vfio-cuse-run: the mount namespace work (run-ns.c) that the
 * launcher (vfio-cuse-run.c) calls before it execs the command.
 *
 * Every function prints its own "vfio-cuse-run: ..." message on failure
 * and returns -errno; main() then exits with 125 without printing again.
 */
#pragma once

#include <stdbool.h>

#include "vfc-macro.h"

/* Where the daemon writes its sysfs tree, unless $VFIO_CUSE_RUNDIR says. */
#define RUN_DEFAULT_RUNDIR "/run/vfio-cuse"

extern bool run_verbose;

/**
 * run_msg() - print "vfio-cuse-run: " and a line to stderr.
 * @fmt: printf format, without the newline.
 *
 * Preserves errno.
 */
void run_msg(const char *fmt, ...) _printf_(1, 2);

/* Messages printed only with --verbose. */
#define run_debug(...)                        \
	do {                                  \
		if (run_verbose)              \
			run_msg(__VA_ARGS__); \
	} while (0)

/**
 * run_enter_namespace() - move this process into a private mount namespace.
 *
 * As root, unshare(CLONE_NEWNS). Otherwise (or if that is refused) a new
 * user namespace as well, mapping our own uid and gid to themselves with
 * setgroups denied, so that the command runs as the same user. Then makes
 * every mount private, so nothing done here reaches the host.
 * Return: 0, or -errno (EPERM: namespaces not allowed here).
 */
int run_enter_namespace(void);

/**
 * run_dev_prefix() - show /dev/@prefix at /dev/vfio.
 * @prefix: the daemon's node prefix under /dev, already validated.
 *
 * Bind-mounts /dev/@prefix over /dev/vfio. If /dev/vfio does not exist,
 * first covers /dev with a tmpfs that repeats every entry of the real one
 * (by bind mounts) plus an empty vfio directory. Needs the private
 * namespace of run_enter_namespace().
 * Return: 0, or -errno (ENOENT: /dev/@prefix does not exist).
 */
int run_dev_prefix(const char *prefix);

/**
 * run_sysfs_view() - show vfio-cused's devices and groups in sysfs.
 * @sysfs: the sysfs mount, "/sys" except in tests.
 * @rundir: the daemon's run directory, an absolute path.
 *
 * Covers @sysfs/bus/pci/devices with a read-only tmpfs holding the real
 * entries plus a symlink per @rundir/sysfs/devices/<name>, and does the
 * same for @sysfs/kernel/iommu_groups with @rundir/sysfs/iommu_groups/<id>.
 * A missing iommu_groups directory is created on a copy of its parent if
 * possible, else skipped with a warning. Needs the private namespace.
 * Return: 0, or -errno when the device view cannot be built.
 */
int run_sysfs_view(const char *sysfs, const char *rundir);
