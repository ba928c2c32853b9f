/* SPDX-License-Identifier: MIT */
/*
 * The decoding of the region-access forms of vfc-cuse-proto.h (RW_FAST,
 * RW_BOUNCE, RW_STASH, DEVICE_RW): what an ioctl number, its argument and
 * its header say, checked, before anything touches a device. Pure and free
 * of libfuse: files.c serves with it, and tests/fuzz/fuzz-cuse-rw.c feeds
 * it any number, argument and header.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum vfc_cuse_rw_form {
	VFC_CUSE_RW_FORM_NONE,		/* not a region access */
	VFC_CUSE_RW_FORM_FAST,
	VFC_CUSE_RW_FORM_BOUNCE,
	VFC_CUSE_RW_FORM_STASH,
	VFC_CUSE_RW_FORM_DEVICE_RW,
};

/**
 * struct vfc_cuse_rw_op - one region access, as decoded.
 * @form: which form.
 * @write: a write.
 * @offset: where (region offset + offset in the region), <= INT64_MAX.
 * @len: the bytes to move: 1, 2 or 4 (FAST), at most VFC_CUSE_RW_BOUNCE_MAX
 *       (BOUNCE) or VFC_CUSE_RW_MAX (DEVICE_RW).
 * @value: FAST write: the value, in its low @len bytes.
 * @buf: DEVICE_RW: the caller's address of the data.
 * @hdr: BOUNCE, DEVICE_RW: the header's size, at the argument.
 * @in_need: the bytes to fetch from the argument (header and data) before
 *           serving; @out_need: the bytes of room to give back. For STASH,
 *           only @out_need; for FAST, both 0.
 */
struct vfc_cuse_rw_op {
	enum vfc_cuse_rw_form form;
	bool write;
	uint64_t offset;
	uint32_t len;
	uint32_t value;
	uint64_t buf;
	size_t hdr;
	size_t in_need, out_need;
};

/** vfc_cuse_rw_form() - the form of ioctl @cmd on a device file. */
enum vfc_cuse_rw_form vfc_cuse_rw_form(unsigned int cmd);

/**
 * vfc_cuse_rw_decode_cmd() - what @cmd and @arg alone say: all of a FAST
 * access; the length, direction and sizes of a BOUNCE; the header size of
 * a DEVICE_RW; the result size of a STASH.
 * @op: filled in; for BOUNCE and DEVICE_RW vfc_cuse_rw_decode_hdr() follows.
 * Return: 0; -EINVAL (malformed); -ENOTTY (@cmd is no region access).
 */
int vfc_cuse_rw_decode_cmd(unsigned int cmd, uint64_t arg, struct vfc_cuse_rw_op *op);

/**
 * vfc_cuse_rw_decode_hdr() - the header of a BOUNCE or DEVICE_RW: its
 * offset, and for DEVICE_RW its length, direction and buffer; @in_need and
 * @out_need grow to the data.
 * @hdr: @op->hdr bytes.
 * Return: 0; -EINVAL (a BOUNCE header that does not match its number, a
 * flag, a length past the form's limit, an offset past INT64_MAX).
 */
int vfc_cuse_rw_decode_hdr(struct vfc_cuse_rw_op *op, const void *hdr);

/**
 * vfc_cuse_rw_fast_result() - the ioctl result that carries a fast read
 * of @n bytes of @value (@len asked), if one can: the value biased, when
 * it does not read as an errno and the read was not short.
 * Return: true and *@ret; false: the read is stashed (VFC_CUSE_RW_STASHED).
 */
bool vfc_cuse_rw_fast_result(uint32_t value, size_t n, uint32_t len, int32_t *ret);
