/* SPDX-License-Identifier: MIT */
/*
 * Helpers of the retry-friendly ioctl interface: asking for bytes,
 * replying, fetching a client string, and building capability chains laid
 * out the way the kernel's vfio_info_add_capability()/vfio_info_cap_shift()
 * lay them out.
 */
#include <string.h>
#include <unistd.h>

#include "vfc-log.h"
#include "vfc-private.h"

int vfc_ioctl_need(struct vfc_ioctl *io, size_t in, size_t out)
{
	if (io->in_len >= in && io->out_cap >= out)
		return 0;
	if (in > VFC_IOCTL_MAX_XFER || out > VFC_IOCTL_MAX_XFER)
		return -ENOMEM;
	io->need_in = VFC_MAX(in, io->in_len);
	io->need_out = VFC_MAX(out, io->out_cap);
	return VFC_IOCTL_RETRY;
}

void vfc_ioctl_reply(struct vfc_ioctl *io, const void *buf, size_t len)
{
	/* A handler that replies without asking for room is a bug of ours. */
	if (len > io->out_cap) {
		vfc_err("ioctl 0x%x: reply of %zu bytes with room for %zu", io->cmd, len,
			io->out_cap);
		len = io->out_cap;
	}
	memcpy(io->out, buf, len);
	io->out_len = len;
}

/*
 * strndup_user(arg, max): the kernel scans at most @max bytes for the NUL
 * and fails with EINVAL when there is none. Scanning stops at the NUL, so
 * the kernel never touches a page after it; ask first for the bytes up to
 * the end of the argument's page, and only then for more.
 */
int vfc_ioctl_get_string(struct vfc_ioctl *io, size_t max, const char **ret)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t first = page - (size_t)(io->arg & (page - 1));
	const char *nul;
	int r;

	if (first > max)
		first = max;
	r = vfc_ioctl_need(io, first, 0);
	if (r)
		return r;
	nul = memchr(io->in, '\0', VFC_MIN(io->in_len, max));
	if (nul) {
		*ret = io->in;
		return 0;
	}
	if (io->in_len >= max)
		return -EINVAL;
	return vfc_ioctl_need(io, max, 0);
}

void vfc_caps_add(struct vfc_caps *caps, uint16_t id, uint16_t version, const void *body,
		  size_t len)
{
	struct vfio_info_cap_header hdr = { .id = id, .version = version, .next = 0 };
	/* Each cap is padded to 8 bytes, padding included in the size. */
	size_t at = caps->size;
	size_t end = at + ((sizeof(hdr) + len + 7) & ~(size_t)7);
	uint8_t *buf;

	if (caps->error)
		return;
	if (end > VFC_IOCTL_MAX_XFER) {
		caps->error = -ENOMEM;
		return;
	}
	buf = realloc(caps->buf, end);
	if (!buf) {
		caps->error = -ENOMEM;
		return;
	}
	memset(buf + caps->size, 0, end - caps->size);
	if (caps->size) {
		/* Link the previous tail; offsets are chain-relative for now. */
		size_t tail = 0;
		struct vfio_info_cap_header *h;

		for (;;) {
			h = (struct vfio_info_cap_header *)(buf + tail);
			if (!h->next)
				break;
			tail = h->next;
		}
		h->next = (uint32_t)at;
	}
	memcpy(buf + at, &hdr, sizeof(hdr));
	if (len)
		memcpy(buf + at + sizeof(hdr), body, len);
	caps->buf = buf;
	caps->size = end;
}

int vfc_caps_finish(struct vfc_caps *caps, size_t info_size)
{
	size_t at = 0;

	if (caps->error)
		return caps->error;
	if (!caps->size)
		return 0;
	for (;;) {
		struct vfio_info_cap_header *h = (struct vfio_info_cap_header *)(caps->buf + at);
		size_t next = h->next;

		if (!next)
			break;
		h->next = (uint32_t)(next + info_size);
		at = next;
	}
	return 0;
}

void vfc_caps_clear(struct vfc_caps *caps)
{
	free(caps->buf);
	*caps = (struct vfc_caps){ 0 };
}

int vfc_reply_info_with_caps(struct vfc_ioctl *io, void *info, size_t info_size,
			     size_t copy_len, uint32_t *flags, uint32_t caps_flag,
			     uint32_t *cap_offset, struct vfc_caps *caps)
{
	uint32_t *argsz = info;	/* every VFIO info struct starts with argsz */
	_cleanup_free_ uint8_t *out = NULL;
	size_t out_len = copy_len;
	int r;

	if (caps->size) {
		*flags |= caps_flag;
		if (*argsz < info_size + caps->size) {
			*argsz = (uint32_t)(info_size + caps->size);
			*cap_offset = 0;
		} else {
			out_len = info_size + caps->size;
			*cap_offset = (uint32_t)info_size;
		}
	}
	r = vfc_ioctl_need(io, io->in_len, out_len);
	if (r)
		return r;
	out = malloc(out_len ? out_len : 1);
	if (!out)
		return -ENOMEM;
	memcpy(out, info, VFC_MIN(copy_len, info_size));
	if (out_len > copy_len) {
		r = vfc_caps_finish(caps, info_size);
		if (r)
			return r;
		memcpy(out + info_size, caps->buf, caps->size);
	}
	vfc_ioctl_reply(io, out, out_len);
	return 0;
}
