/* SPDX-License-Identifier: MIT */
/*
 * The retry-friendly ioctl handler interface shared by the core, the
 * backends and every transport, plus the capability-chain builder.
 *
 * VFIO ioctls are _IO(';', 100 + n): the number carries no size, so a
 * handler learns how many bytes it needs only by reading them. A handler
 * gets the bytes the transport already fetched from the caller's argument.
 * When they are not enough, it returns VFC_IOCTL_RETRY and names, in
 * need_in and need_out, how many bytes it wants read from and writable at
 * the argument address. The transport fetches them (CUSE: one
 * fuse_reply_ioctl_retry round trip) and calls the handler again from
 * scratch. A handler changes no state before its input is complete, so it
 * may be called any number of times with a growing prefix.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/vfio.h>

/* Returned by a handler that needs more bytes; see need_in and need_out. */
#define VFC_IOCTL_RETRY (-0x10000)

/*
 * Most bytes one ioctl may read or write at its argument. CUSE moves about
 * 128 KiB per direction; nothing in the VFIO ABI we serve needs more than
 * this (the largest is SET_IRQS for 2048 MSI-X vectors: 8 KiB of fds).
 */
#define VFC_IOCTL_MAX_XFER (64u * 1024u)

struct vfc_caller;
struct vfc_ioctl_desc;

/**
 * struct vfc_ioctl - one ioctl call as the core sees it.
 * @cmd: the ioctl number.
 * @arg: the caller's raw argument: an address in the caller, or an integer.
 * @in: @in_len bytes read from the caller at @arg.
 * @out: a buffer of @out_cap bytes; on success the first @out_len bytes are
 *       written back to the caller at @arg.
 * @out_on_error: set by a handler whose failure still writes @out_len
 *                bytes back, as the kernel copies GET_PCI_HOT_RESET_INFO's
 *                count out before it fails with ENOSPC.
 * @need_in: with VFC_IOCTL_RETRY, how many bytes to read at @arg.
 * @need_out: with VFC_IOCTL_RETRY, how many bytes must be writable at @arg.
 * @caller: the transport's view of the calling process (fd resolution).
 * @desc: the ioctl's row of its kind's table (vfc-file.h), set by
 *        vfc_file_ioctl() for the handler's logs.
 * @injected: set by vfc_file_ioctl() when a fault rule (vfc-fault.h)
 *            failed this call instead of its handler; the trace marks it.
 */
struct vfc_ioctl {
	unsigned int cmd;
	uint64_t arg;
	const void *in;
	size_t in_len;
	void *out;
	size_t out_cap;
	size_t out_len;
	bool out_on_error;
	size_t need_in;
	size_t need_out;
	struct vfc_caller *caller;
	const struct vfc_ioctl_desc *desc;
	bool injected;
};

/**
 * vfc_ioctl_need() - make sure the call carries enough bytes.
 * @io: the call.
 * @in: bytes that must have been read at the argument.
 * @out: bytes that must be writable at the argument.
 *
 * Never asks for less than the call already has.
 * Return: 0 when both are there; VFC_IOCTL_RETRY with need_in/need_out set
 * otherwise; -ENOMEM when either exceeds VFC_IOCTL_MAX_XFER.
 */
int vfc_ioctl_need(struct vfc_ioctl *io, size_t in, size_t out);

/**
 * vfc_ioctl_reply() - set the bytes to write back at the argument.
 * @io: the call; must have @len bytes of output capacity (vfc_ioctl_need()).
 * @buf: the bytes.
 * @len: how many.
 */
void vfc_ioctl_reply(struct vfc_ioctl *io, const void *buf, size_t len);


/**
 * struct vfc_caps - a capability chain under construction.
 *
 * Offsets in @buf are relative to the chain's start; vfc_caps_finish()
 * shifts them by the size of the info struct, as the kernel's
 * vfio_info_cap_shift() does.
 */
struct vfc_caps {
	uint8_t *buf;
	size_t size;
	int error;
};

/**
 * vfc_caps_add() - append a capability.
 * @caps: the chain.
 * @id: capability id.
 * @version: capability version.
 * @body: bytes after the header (may be NULL when @len is 0).
 * @len: length of @body.
 *
 * Errors are sticky in @caps->error and reported by vfc_caps_finish().
 */
void vfc_caps_add(struct vfc_caps *caps, uint16_t id, uint16_t version,
		  const void *body, size_t len);

/**
 * vfc_caps_finish() - lay a chain out behind an info struct.
 * @caps: the chain.
 * @info_size: sizeof the info struct the chain follows.
 * Return: 0, or the first error met while building (-ENOMEM).
 */
int vfc_caps_finish(struct vfc_caps *caps, size_t info_size);

/**
 * vfc_caps_clear() - free a chain's memory. Safe on a zeroed chain.
 * @caps: the chain.
 */
void vfc_caps_clear(struct vfc_caps *caps);

/**
 * vfc_reply_info_with_caps() - answer an INFO ioctl that may carry caps,
 * exactly as the kernel does.
 * @io: the call; its input must already hold @minsz bytes.
 * @info: the info struct, starting with argsz, flags, ...; modified.
 * @info_size: sizeof the info struct (also where the chain starts).
 * @copy_len: bytes of @info the kernel copies back: min(argsz, sizeof) for
 *            most INFO ioctls, the full struct for REGION_INFO.
 * @flags: pointer to the flags word inside @info.
 * @caps_flag: the *_FLAG_CAPS bit for @flags.
 * @cap_offset: pointer to the cap_offset word inside @info.
 * @caps: the chain (finished or not); may be empty.
 *
 * With a chain and a big enough argsz, writes the info and the chain and
 * sets cap_offset. With a too small argsz, raises argsz to what is needed
 * and zeroes cap_offset. The CAPS flag is set whenever the chain is not
 * empty. Asks for a retry when the output room is not there yet.
 * Return: 0, VFC_IOCTL_RETRY, or -errno.
 */
int vfc_reply_info_with_caps(struct vfc_ioctl *io, void *info, size_t info_size,
			     size_t copy_len, uint32_t *flags, uint32_t caps_flag,
			     uint32_t *cap_offset, struct vfc_caps *caps);
