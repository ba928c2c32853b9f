/* SPDX-License-Identifier: MIT */
/*
 * For the software IOMMU's tests and benchmark only: run one container
 * ioctl against the driver's ioctl op the way a transport does, with the
 * retry protocol, on a struct in this process's memory.
 */
#pragma once

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "emu-iommu.h"
#include "vfc-core.h"

/**
 * struct emu_call - the statistics of the last emu_ioctl().
 * @rounds: calls of the op, the last one included.
 * @first_need_in: need_in of the first RETRY (0 if none).
 * @first_need_out: need_out of the first RETRY.
 * @out_len: bytes written back.
 * @protocol_error: a handler bug seen: a RETRY that asked for no more than
 *                  it had, or a reply bigger than the room.
 */
struct emu_call {
	unsigned int rounds;
	size_t first_need_in, first_need_out;
	size_t out_len;
	bool protocol_error;
};

/**
 * emu_ioctl() - ioctl(container, @cmd, @arg) on the driver's ioctl op.
 * @data: the container's IOMMU data.
 * @pid: the caller's pid (struct vfc_caller).
 * @cmd: the ioctl number.
 * @arg: the argument struct; @arg_size bytes are readable and writable.
 * @arg_size: its size; a need beyond it is answered with EFAULT, as the
 *            kernel's copy_from_user would.
 * @call: statistics, or NULL.
 *
 * Starts with no bytes in and no room out, as CUSE does.
 * Return: the op's result.
 */
static inline int emu_ioctl(void *data, pid_t pid, unsigned int cmd, void *arg,
			    size_t arg_size, struct emu_call *call)
{
	struct vfc_caller caller = { .pid = pid };
	struct vfc_ioctl io = { .cmd = cmd, .arg = (uint64_t)(uintptr_t)arg, .caller = &caller };
	struct emu_call stats = { 0 };
	void *in = NULL, *out = NULL;
	int r;

	for (;;) {
		io.out_len = 0;
		r = vfc_emu_iommu_ops.ioctl(data, &io);
		stats.rounds++;
		if (r != VFC_IOCTL_RETRY)
			break;
		if (stats.rounds == 1) {
			stats.first_need_in = io.need_in;
			stats.first_need_out = io.need_out;
		}
		if ((io.need_in <= io.in_len && io.need_out <= io.out_cap) || stats.rounds > 8) {
			stats.protocol_error = true;
			r = -EPROTO;
			break;
		}
		if (io.need_in > arg_size || io.need_out > arg_size) {
			r = -EFAULT;
			break;
		}
		free(in);
		free(out);
		in = malloc(io.need_in + 1);
		out = calloc(1, io.need_out + 1);
		if (!in || !out) {
			r = -ENOMEM;
			break;
		}
		memcpy(in, arg, io.need_in);
		io.in = in;
		io.in_len = io.need_in;
		io.out = out;
		io.out_cap = io.need_out;
	}
	if (r >= 0 && io.out_len) {
		if (io.out_len > io.out_cap)
			stats.protocol_error = true;
		else
			memcpy(arg, out, io.out_len);
		stats.out_len = io.out_len;
	}
	free(in);
	free(out);
	if (call)
		*call = stats;
	return r;
}

/**
 * emu_ioctl_fast() - the same with the whole struct passed at once, as a
 * transport that guessed the size right would: one call, no retry.
 * @data: the container's IOMMU data.
 * @caller: the caller.
 * @cmd: the ioctl number.
 * @arg: the argument, @size bytes, also the output buffer.
 * @tmp: scratch of @size bytes for the output.
 * @size: the size.
 * Return: the op's result.
 */
static inline int emu_ioctl_fast(void *data, struct vfc_caller *caller, unsigned int cmd,
				 void *arg, void *tmp, size_t size)
{
	struct vfc_ioctl io = {
		.cmd = cmd, .arg = (uint64_t)(uintptr_t)arg, .caller = caller,
		.in = arg, .in_len = size, .out = tmp, .out_cap = size,
	};
	int r = vfc_emu_iommu_ops.ioctl(data, &io);

	if (r >= 0 && io.out_len)
		memcpy(arg, tmp, io.out_len);
	return r;
}
