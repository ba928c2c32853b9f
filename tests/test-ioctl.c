/* SPDX-License-Identifier: MIT */
/* The handler helpers: need/reply, capability chains, INFO replies. */
#include <stdio.h>

#include "test-util.h"

static void test_need(void **state)
{
	struct vfc_ioctl io = { 0 };

	assert_int_equal(vfc_ioctl_need(&io, 0, 0), 0);
	assert_int_equal(vfc_ioctl_need(&io, 16, 8), VFC_IOCTL_RETRY);
	assert_int_equal(io.need_in, 16);
	assert_int_equal(io.need_out, 8);
	io.in_len = 32;
	io.out_cap = 8;
	/* Never asks for less than it has. */
	assert_int_equal(vfc_ioctl_need(&io, 16, 24), VFC_IOCTL_RETRY);
	assert_int_equal(io.need_in, 32);
	assert_int_equal(io.need_out, 24);
	assert_int_equal(vfc_ioctl_need(&io, VFC_IOCTL_MAX_XFER + 1, 0), -ENOMEM);
	assert_int_equal(vfc_ioctl_need(&io, 0, VFC_IOCTL_MAX_XFER + 1), -ENOMEM);
}

static void test_caps_layout(void **state)
{
	struct vfc_caps caps = { 0 };
	uint32_t four = 0x11223344;
	uint64_t eight = 0x5566778899aabbccull;
	struct vfio_info_cap_header *h;

	vfc_caps_add(&caps, 3, 1, &four, sizeof(four));
	/* 8-byte header + 4 bytes, padded to 16 like the kernel's ALIGN. */
	assert_int_equal(caps.size, 16);
	vfc_caps_add(&caps, 1, 2, &eight, sizeof(eight));
	assert_int_equal(caps.size, 32);
	vfc_caps_add(&caps, 7, 1, NULL, 0);
	assert_int_equal(caps.size, 40);
	assert_int_equal(vfc_caps_finish(&caps, 24), 0);
	h = (struct vfio_info_cap_header *)caps.buf;
	assert_int_equal(h->id, 3);
	assert_int_equal(h->version, 1);
	assert_int_equal(h->next, 24 + 16);
	assert_memory_equal(caps.buf + 8, &four, 4);
	assert_memory_equal(caps.buf + 12, "\0\0\0\0", 4);
	h = (struct vfio_info_cap_header *)(caps.buf + 16);
	assert_int_equal(h->id, 1);
	assert_int_equal(h->version, 2);
	assert_int_equal(h->next, 24 + 32);
	h = (struct vfio_info_cap_header *)(caps.buf + 32);
	assert_int_equal(h->id, 7);
	assert_int_equal(h->next, 0);
	vfc_caps_clear(&caps);
	assert_null(caps.buf);
	assert_int_equal(caps.size, 0);

	/* Too big a chain is an error reported once, at the end. */
	static uint8_t huge[VFC_IOCTL_MAX_XFER];
	vfc_caps_add(&caps, 1, 1, huge, sizeof(huge));
	vfc_caps_add(&caps, 2, 1, &four, sizeof(four));
	assert_int_equal(vfc_caps_finish(&caps, 24), -ENOMEM);
	vfc_caps_clear(&caps);
}

static void test_reply_info_with_caps(void **state)
{
	uint8_t out[128];
	struct vfio_iommu_type1_info info = { .argsz = 24 };
	struct vfc_caps caps = { 0 };
	uint32_t v = 5;
	struct vfc_ioctl io = { .in_len = 16 };

	vfc_caps_add(&caps, 3, 1, &v, sizeof(v));
	/* No room yet for the output: a retry. */
	assert_int_equal(vfc_reply_info_with_caps(&io, &info, sizeof(info), 24, &info.flags,
						  VFIO_IOMMU_INFO_CAPS, &info.cap_offset, &caps),
			 VFC_IOCTL_RETRY);
	assert_int_equal(io.need_out, 24);
	io.out = out;
	io.out_cap = 24;
	info.argsz = 24;
	assert_int_equal(vfc_reply_info_with_caps(&io, &info, sizeof(info), 24, &info.flags,
						  VFIO_IOMMU_INFO_CAPS, &info.cap_offset, &caps), 0);
	assert_int_equal(io.out_len, 24);
	memcpy(&info, out, sizeof(info));
	assert_int_equal(info.argsz, 40);
	assert_int_equal(info.flags, VFIO_IOMMU_INFO_CAPS);
	assert_int_equal(info.cap_offset, 0);

	/* Enough argsz: the chain follows the struct. */
	info = (struct vfio_iommu_type1_info){ .argsz = 40 };
	io.out_cap = 24;
	assert_int_equal(vfc_reply_info_with_caps(&io, &info, sizeof(info), 24, &info.flags,
						  VFIO_IOMMU_INFO_CAPS, &info.cap_offset, &caps),
			 VFC_IOCTL_RETRY);
	assert_int_equal(io.need_out, 40);
	io.out_cap = 40;
	assert_int_equal(vfc_reply_info_with_caps(&io, &info, sizeof(info), 24, &info.flags,
						  VFIO_IOMMU_INFO_CAPS, &info.cap_offset, &caps), 0);
	assert_int_equal(io.out_len, 40);
	memcpy(&info, out, sizeof(info));
	assert_int_equal(info.argsz, 40);
	assert_int_equal(info.cap_offset, 24);
	struct vfio_info_cap_header h;
	memcpy(&h, out + 24, sizeof(h));
	assert_int_equal(h.id, 3);
	assert_int_equal(h.next, 0);
	vfc_caps_clear(&caps);
}

static void test_log_prefix(void **state)
{
	int pipefd[2], saved = dup(2);
	char buf[128] = { 0 };

	assert_int_equal(pipe(pipefd), 0);
	dup2(pipefd[1], 2);
	vfc_log_set_max_level(LOG_INFO);
	vfc_log(LOG_NOTICE, "group %u: \"%s\"", 26, "x");
	vfc_log(LOG_DEBUG, "dropped");
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(pipefd[1]);
	assert_true(read(pipefd[0], buf, sizeof(buf) - 1) > 0);
	close(pipefd[0]);
	assert_string_equal(buf, "<5>group 26: \"x\"\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_need),
		cmocka_unit_test(test_caps_layout),
		cmocka_unit_test(test_reply_info_with_caps),
		cmocka_unit_test(test_log_prefix),
	};
	return cmocka_run_group_tests_name("ioctl", tests, NULL, NULL);
}
