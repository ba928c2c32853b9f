/* SPDX-License-Identifier: MIT */
/*
 * The region-access forms' decoding (cuse-rw.h), after the layouts of
 * vfc-cuse-proto.h.
 */
#include <errno.h>
#include <string.h>

#include "cuse-rw.h"
#include "vfc-cuse-proto.h"

enum vfc_cuse_rw_form vfc_cuse_rw_form(unsigned int cmd)
{
	if (_IOC_TYPE(cmd) != VFC_CUSE_MAGIC)
		return VFC_CUSE_RW_FORM_NONE;
	if (cmd == VFC_CUSE_DEVICE_RW)
		return VFC_CUSE_RW_FORM_DEVICE_RW;
	if (cmd == VFC_CUSE_RW_STASH)
		return VFC_CUSE_RW_FORM_STASH;
	if (_IOC_NR(cmd) & VFC_CUSE_RW_FAST_NR)
		return VFC_CUSE_RW_FORM_FAST;
	if (_IOC_NR(cmd) == VFC_CUSE_RW_BOUNCE_NR)
		return VFC_CUSE_RW_FORM_BOUNCE;
	return VFC_CUSE_RW_FORM_NONE;
}

/* RW_FAST: 1, 2 or 4 bytes, all in the number and the argument. */
static int decode_fast(unsigned int cmd, uint64_t arg, struct vfc_cuse_rw_op *op)
{
	unsigned int nr = _IOC_NR(cmd), code = nr >> 4 & 3;

	op->write = nr & VFC_CUSE_RW_FAST_WRITE;
	if (code == 3 || _IOC_DIR(cmd) != _IOC_NONE || _IOC_SIZE(cmd) || (!op->write && arg >> 32))
		return -EINVAL;
	op->len = 1u << code;
	op->offset = (uint64_t)(nr & VFC_CUSE_RW_FAST_INDEX_MAX) << 40 | (arg & 0xffffffffu);
	op->value = op->write ? (uint32_t)(arg >> 32) : 0;
	return 0;
}

/* RW_BOUNCE: header and data side by side, their size in the number. */
static int decode_bounce(unsigned int cmd, struct vfc_cuse_rw_op *op)
{
	const size_t hdr = sizeof(struct vfc_cuse_rw_bounce);
	size_t size = _IOC_SIZE(cmd);
	uint32_t dir = _IOC_DIR(cmd);

	if (size < hdr || size - hdr > VFC_CUSE_RW_BOUNCE_MAX ||
	    (dir != _IOC_WRITE && dir != (_IOC_READ | _IOC_WRITE)))
		return -EINVAL;
	op->write = dir == _IOC_WRITE;
	op->len = (uint32_t)(size - hdr);
	op->hdr = hdr;
	op->in_need = op->write ? size : hdr;
	op->out_need = op->write ? 0 : op->len;
	return 0;
}

int vfc_cuse_rw_decode_cmd(unsigned int cmd, uint64_t arg, struct vfc_cuse_rw_op *op)
{
	*op = (struct vfc_cuse_rw_op){ .form = vfc_cuse_rw_form(cmd) };
	switch (op->form) {
	case VFC_CUSE_RW_FORM_FAST:
		return decode_fast(cmd, arg, op);
	case VFC_CUSE_RW_FORM_BOUNCE:
		return decode_bounce(cmd, op);
	case VFC_CUSE_RW_FORM_STASH:
		op->out_need = sizeof(struct vfc_cuse_rw_stash);
		return 0;
	case VFC_CUSE_RW_FORM_DEVICE_RW:
		op->hdr = op->in_need = sizeof(struct vfc_cuse_rw);
		return 0;
	case VFC_CUSE_RW_FORM_NONE:
		break;
	}
	return -ENOTTY;
}

int vfc_cuse_rw_decode_hdr(struct vfc_cuse_rw_op *op, const void *hdr)
{
	if (op->form == VFC_CUSE_RW_FORM_BOUNCE) {
		struct vfc_cuse_rw_bounce b;

		memcpy(&b, hdr, sizeof(b));
		if (b.len != op->len || b.flags != (op->write ? VFC_CUSE_RW_WRITE : 0) ||
		    b.offset > INT64_MAX)
			return -EINVAL;
		op->offset = b.offset;
		return 0;
	}
	if (op->form == VFC_CUSE_RW_FORM_DEVICE_RW) {
		struct vfc_cuse_rw rw;

		memcpy(&rw, hdr, sizeof(rw));
		if (rw.len > VFC_CUSE_RW_MAX || (rw.flags & ~VFC_CUSE_RW_WRITE) ||
		    rw.offset > INT64_MAX)
			return -EINVAL;
		op->offset = rw.offset;
		op->len = rw.len;
		op->buf = rw.buf;
		op->write = rw.flags & VFC_CUSE_RW_WRITE;
		/* the data travels at rw.buf, not after the header */
		op->in_need = op->hdr + (op->write ? rw.len : 0);
		op->out_need = op->write ? 0 : rw.len;
		return 0;
	}
	return -EINVAL;
}

bool vfc_cuse_rw_fast_result(uint32_t value, size_t n, uint32_t len, int32_t *ret)
{
	int32_t result = (int32_t)(value ^ VFC_CUSE_RW_FAST_BIAS);

	if (n != len || (result < 0 && result >= -4095))
		return false;
	*ret = result;
	return true;
}
