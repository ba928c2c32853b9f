// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness: the CUSE region-access forms (RW_FAST, RW_BOUNCE,
 * RW_STASH, DEVICE_RW of include/vfc-cuse-proto.h) as cuse/files.c decodes
 * them, through cuse/cuse-rw.c, then served as files.c serves them against
 * emulated edu and pcitest devices bound to core device files. An input is
 * a sequence of accesses: the device, the ioctl number (a chosen form's
 * number with fuzzed bits, or any number), the argument, and the header
 * and data bytes. The decoder's promises are checked (lengths within each
 * form's limit, the offset within INT64_MAX, the sizes to fetch), and a
 * fast read's result must carry exactly the value read or be stashed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/vfio.h>

#include "cuse-rw.h"
#include "emu-iommu.h"
#include "emu-pci.h"
#include "fuzz-util.h"
#include "vfc-cuse-proto.h"
#include "vfc-file.h"
#include "vfc-log.h"

static const char *const names[2] = { "0000:00:05.0", "0000:00:06.0" };
static const char *const models[2] = { "edu", "pcitest" };

static struct {
	struct vfc_core *core;
	struct vfc_emu_iommu_config emu_cfg;
	struct vfc_emu_pci *pci[2];
	struct vfc_file *c, *grp[2], *dev[2];
	struct vfc_device_file *installed;
	uint8_t xfer[VFC_CUSE_RW_MAX];
} g;

static void die(const char *what, int r)
{
	fprintf(stderr, "fuzz-cuse-rw: %s: %s\n", what, strerror(-r));
	exit(1);
}

static int get_container(struct vfc_caller *caller, int fd, struct vfc_container **ret)
{
	*ret = vfc_container_ref(vfc_file_container(g.c));
	return 0;
}

static int install(struct vfc_caller *caller, struct vfc_device_file *df)
{
	g.installed = df;
	return 3;
}

static const struct vfc_caller_ops ops = { .get_container = get_container, .install_device = install };

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct vfc_caller caller = { .ops = &ops };
	struct vfc_ioctl io;
	int32_t cfd = 3;
	int r;

	vfc_log_set_max_level(getenv("FUZZ_VERBOSE") ? 7 : 2);
	vfc_emu_iommu_config_init(&g.emu_cfg);
	g.emu_cfg.vaddr_wait_ms = 0;
	if ((r = vfc_core_new(&g.core)) < 0 ||
	    (r = vfc_core_add_iommu_driver(g.core, &vfc_emu_iommu_ops, &g.emu_cfg)) < 0 ||
	    (r = vfc_file_open_container(g.core, &g.c)) < 0)
		die("core", r);
	for (int i = 0; i < 2; i++) {
		/* The name at a page's end: GET_DEVICE_FD reads up to it. */
		static char page[4096] __attribute__((aligned(4096)));
		char *name = page + sizeof(page) - strlen(names[i]) - 1;
		struct vfc_group *grp;

		if ((r = vfc_core_add_group(g.core, 7 + i, NULL, &grp)) < 0 ||
		    (r = vfc_emu_pci_create(models[i], NULL, &g.pci[i])) < 0 ||
		    (r = vfc_emu_pci_register(g.pci[i], grp, names[i], NULL)) < 0 ||
		    (r = vfc_file_open_group(g.core, 7 + i, &g.grp[i])) < 0)
			die(models[i], r);
		io = (struct vfc_ioctl){ .cmd = VFIO_GROUP_SET_CONTAINER, .in = &cfd, .in_len = 4,
					 .caller = &caller };
		if ((r = vfc_file_ioctl(g.grp[i], &io)) < 0)
			die("SET_CONTAINER", r);
		if (i == 0) {
			io = (struct vfc_ioctl){ .cmd = VFIO_SET_IOMMU, .arg = VFIO_TYPE1v2_IOMMU };
			if ((r = vfc_file_ioctl(g.c, &io)) < 0)
				die("SET_IOMMU", r);
		}
		memcpy(name, names[i], strlen(names[i]) + 1);
		io = (struct vfc_ioctl){ .cmd = VFIO_GROUP_GET_DEVICE_FD, .arg = (uintptr_t)name,
					 .in = name, .in_len = strlen(name) + 1, .caller = &caller };
		if ((r = vfc_file_ioctl(g.grp[i], &io)) < 0 ||
		    (r = vfc_file_new_device(g.installed, &g.dev[i])) < 0)
			die("GET_DEVICE_FD", r);
	}
	return 0;
}

static void check(bool ok, const char *what, unsigned int cmd)
{
	if (!ok) {
		fprintf(stderr, "fuzz-cuse-rw: cmd 0x%x: %s\n", cmd, what);
		abort();
	}
}

/* A number of the form @pick, with bits from the input where they vary. */
static unsigned int pick_cmd(struct fz_in *in, uint8_t pick)
{
	uint32_t bits = fz_u32(in);

	switch (pick % 6) {
	case 0:	/* RW_FAST: index, log2(len) and write from the input */
		return _IO(VFC_CUSE_MAGIC, VFC_CUSE_RW_FAST_NR | (bits & 0x7f));
	case 1:	/* RW_BOUNCE: any direction and size */
		return _IOC(bits >> 30, VFC_CUSE_MAGIC, VFC_CUSE_RW_BOUNCE_NR, bits & 0x3fff);
	case 2:
		return VFC_CUSE_RW_STASH;
	case 3:
		return VFC_CUSE_DEVICE_RW;
	case 4:	/* any number of the magic */
		return _IOC(bits >> 30, VFC_CUSE_MAGIC, bits & 0xff, bits >> 8 & 0x3fff);
	default:
		return bits;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	struct fz_in in = { data, n };

	for (int k = 0; k < 32 && in.n; k++) {
		uint8_t sel = fz_u8(&in);
		struct vfc_file *dev = g.dev[sel & 1];
		unsigned int cmd = pick_cmd(&in, sel >> 1);
		uint64_t arg = fz_u64(&in);
		struct vfc_cuse_rw_op op;
		uint8_t hdr[32];
		ssize_t r;

		/* Offsets mostly in the regions: index << 40 from a small byte. */
		if (sel & 0x80)
			arg = (arg & 0xfff) | (uint64_t)fz_u8(&in) << 32;
		r = vfc_cuse_rw_decode_cmd(cmd, arg, &op);
		check(r == 0 || r == -EINVAL || r == -ENOTTY, "decode_cmd's errno", cmd);
		check((r == -ENOTTY) == (vfc_cuse_rw_form(cmd) == VFC_CUSE_RW_FORM_NONE),
		      "ENOTTY for exactly the other numbers", cmd);
		if (r < 0)
			continue;
		if (op.form == VFC_CUSE_RW_FORM_STASH) {
			check(op.out_need == sizeof(struct vfc_cuse_rw_stash), "stash size", cmd);
			continue;
		}
		if (op.form == VFC_CUSE_RW_FORM_FAST) {
			uint8_t buf[4];
			uint32_t value = 0;
			int32_t res;

			check(op.len == 1 || op.len == 2 || op.len == 4, "fast len", cmd);
			check(op.offset <= INT64_MAX && !op.in_need && !op.out_need, "fast op", cmd);
			if (op.write)
				memcpy(buf, &op.value, op.len);
			r = vfc_file_rw(dev, op.offset, buf, op.len, op.write);
			check(r < 0 || (size_t)r <= op.len, "fast rw length", cmd);
			if (op.write || r < 0)
				continue;
			memcpy(&value, buf, (size_t)r);
			if (vfc_cuse_rw_fast_result(value, (size_t)r, op.len, &res)) {
				check(res >= 0 || res < -4095, "fast result reads as an errno", cmd);
				check(((uint32_t)res ^ VFC_CUSE_RW_FAST_BIAS) == value, "fast value", cmd);
			}
			continue;
		}
		check(op.hdr && op.hdr <= sizeof(hdr) && op.in_need >= op.hdr, "header size", cmd);
		fz_bytes(&in, hdr, op.hdr);
		if (vfc_cuse_rw_decode_hdr(&op, hdr) < 0)
			continue;
		check(op.offset <= INT64_MAX, "offset", cmd);
		if (op.form == VFC_CUSE_RW_FORM_BOUNCE) {
			check(op.len <= VFC_CUSE_RW_BOUNCE_MAX, "bounce len", cmd);
			check(op.in_need == op.hdr + (op.write ? op.len : 0), "bounce in", cmd);
		} else {
			check(op.len <= VFC_CUSE_RW_MAX, "rw len", cmd);
			check(op.in_need == op.hdr + (op.write ? op.len : 0), "rw in", cmd);
		}
		check(op.out_need == (op.write ? 0 : op.len), "out", cmd);
		if (op.write)
			fz_bytes(&in, g.xfer, op.len);
		r = vfc_file_rw(dev, op.offset, g.xfer, op.len, op.write);
		check(r < 0 || (size_t)r <= op.len, "rw length", cmd);
	}
	return 0;
}
