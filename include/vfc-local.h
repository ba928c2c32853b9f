/* SPDX-License-Identifier: MIT */
/*
 * An in-process transport: a table of pretend file descriptors for
 * containers, groups and devices, and an ioctl entry point that runs the
 * retry protocol against this process's own memory exactly as CUSE runs it
 * against a caller's. Tests and the demo use it; the CUSE transport is the
 * real one.
 *
 * Pretend fds are numbered from VFC_LOCAL_FD_BASE so they never collide
 * with real fds, which stay usable where an ioctl names an fd (eventfds in
 * SET_IRQS). Not thread-safe: one local instance per thread.
 */
#pragma once

#include <sys/types.h>

#include "vfc-core.h"

#define VFC_LOCAL_FD_BASE (1 << 20)
#define VFC_LOCAL_MAX_FILES 1024

struct vfc_local;

/**
 * vfc_local_new() - a pretend process talking to @core.
 * Return: 0, -ENOMEM.
 */
int vfc_local_new(struct vfc_core *core, struct vfc_local **ret);

/** vfc_local_free() - close every pretend fd, then free. NULL is fine. Return: NULL. */
struct vfc_local *vfc_local_free(struct vfc_local *l);

/** vfc_local_open_container() - open(/dev/vfio/vfio). Return: fd or -errno. */
int vfc_local_open_container(struct vfc_local *l);

/** vfc_local_open_group() - open(/dev/vfio/<id>). Return: fd, -ENODEV, -EBUSY. */
int vfc_local_open_group(struct vfc_local *l, unsigned int id);

/**
 * vfc_local_ioctl() - ioctl(fd, cmd, arg) through the retry protocol.
 * @l: the pretend process.
 * @fd: a pretend fd.
 * @cmd: the ioctl number.
 * @arg: an address in this process, or an integer.
 *
 * Bytes move with process_vm_readv/writev on ourselves, so an argument the
 * caller cannot read gives EFAULT as it would through CUSE.
 * Return: the ioctl's result, or -errno (-EBADF for an unknown fd).
 */
long vfc_local_ioctl(struct vfc_local *l, int fd, unsigned int cmd, unsigned long arg);

/** vfc_local_last_rounds() - retries the last vfc_local_ioctl() needed. */
unsigned int vfc_local_last_rounds(const struct vfc_local *l);

/**
 * vfc_local_last_injected() - whether a fault rule failed the last
 * vfc_local_ioctl() (struct vfc_ioctl's @injected).
 */
bool vfc_local_last_injected(const struct vfc_local *l);

/** vfc_local_close() - close a pretend fd. Return: 0 or -EBADF. */
int vfc_local_close(struct vfc_local *l, int fd);

/** vfc_local_dup() - dup a pretend fd (shares the file). Return: fd or -errno. */
int vfc_local_dup(struct vfc_local *l, int fd);

/** vfc_local_pread() - pread on a device fd. Return: bytes or -errno. */
ssize_t vfc_local_pread(struct vfc_local *l, int fd, void *buf, size_t len, uint64_t off);

/** vfc_local_pwrite() - pwrite on a device fd. Return: bytes or -errno. */
ssize_t vfc_local_pwrite(struct vfc_local *l, int fd, const void *buf, size_t len, uint64_t off);
