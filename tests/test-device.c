/* SPDX-License-Identifier: MIT */
/* Device ioctls and region access, with a table of bad inputs each. */
#include <stdio.h>
#include <sys/mman.h>

#include "test-util.h"

struct dev_env {
	int c, g, d;
};

static void env_open(struct fixture *f, struct dev_env *e)
{
	e->d = fixture_device(f, &e->c, &e->g);
}

static void env_close(struct fixture *f, struct dev_env *e)
{
	vfc_local_close(f->l, e->d);
	vfc_local_close(f->l, e->g);
	vfc_local_close(f->l, e->c);
}

static void test_get_info(void **state)
{
	struct fixture *f = *state;
	struct vfio_device_info info;
	struct dev_env e;

	env_open(f, &e);
	memset(&info, 0xaa, sizeof(info));
	info.argsz = sizeof(info);
	assert_int_equal(IOCTL(f, e.d, VFIO_DEVICE_GET_INFO, &info), 0);
	assert_int_equal(info.flags, VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET);
	assert_int_equal(info.num_regions, 9);
	assert_int_equal(info.num_irqs, 5);
	assert_int_equal(info.cap_offset, 0);
	assert_int_equal(info.argsz, sizeof(info));

	/* argsz of exactly minsz: the kernel writes 16 bytes, no more. */
	memset(&info, 0xaa, sizeof(info));
	info.argsz = 16;
	assert_int_equal(IOCTL(f, e.d, VFIO_DEVICE_GET_INFO, &info), 0);
	assert_int_equal(info.num_irqs, 5);
	assert_int_equal(info.cap_offset, 0xaaaaaaaa);
	assert_int_equal(vfc_local_last_rounds(f->l), 1);

	/* Bad argsz. */
	static const uint32_t bad[] = { 0, 1, 4, 15 };
	for (unsigned int i = 0; i < VFC_ARRAY_SIZE(bad); i++) {
		info.argsz = bad[i];
		assert_int_equal(IOCTL(f, e.d, VFIO_DEVICE_GET_INFO, &info), -EINVAL);
	}
	/* Huge argsz: fine, only sizeof(info) comes back. */
	info.argsz = UINT32_MAX;
	assert_int_equal(IOCTL(f, e.d, VFIO_DEVICE_GET_INFO, &info), 0);
	assert_int_equal(info.argsz, UINT32_MAX);
	assert_int_equal(IOCTL(f, e.d, VFIO_DEVICE_GET_INFO, NULL), -EFAULT);
	env_close(f, &e);
}

static void test_region_info(void **state)
{
	struct fixture *f = *state;
	struct dev_env e;
	struct {
		struct vfio_region_info info;
		struct vfio_region_info_cap_type type;
	} big;
	struct vfio_region_info info;

	env_open(f, &e);
	/* CONFIG: no caps, cap_offset echoes what the caller passed. */
	info = (struct vfio_region_info){ .argsz = sizeof(info), .index = 7, .cap_offset = 77 };
	assert_int_equal(IOCTL(f, e.d, VFIO_DEVICE_GET_REGION_INFO, &info), 0);
	assert_int_equal(info.size, 256);
	assert_int_equal(info.offset, 7ull << 40);
	assert_int_equal(info.flags, VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE);
	assert_int_equal(info.cap_offset, 77);

	/* BAR0 has a cap: too small an argsz grows, CAPS set, offset 0. */
	info = (struct vfio_region_info){ .argsz = sizeof(info), .index = 0, .cap_offset = 77 };
	assert_int_equal(IOCTL(f, e.d, VFIO_DEVICE_GET_REGION_INFO, &info), 0);
	assert_int_equal(info.argsz, sizeof(big));
	assert_int_equal(info.cap_offset, 0);
	/* MMAP is never offered: the transport cannot map. */
	assert_int_equal(info.flags, VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE |
				     VFIO_REGION_INFO_FLAG_CAPS);
	memset(&big, 0xcc, sizeof(big));
	big.info.argsz = info.argsz;
	big.info.index = 0;
	assert_int_equal(IOCTL(f, e.d, VFIO_DEVICE_GET_REGION_INFO, &big), 0);
	assert_int_equal(big.info.cap_offset, sizeof(big.info));
	assert_int_equal(big.type.header.id, VFIO_REGION_INFO_CAP_TYPE);
	assert_int_equal(big.type.header.version, 1);
	assert_int_equal(big.type.header.next, 0);
	assert_int_equal(big.type.type, 1);
	assert_int_equal(big.type.subtype, 2);
	assert_true(vfc_local_last_rounds(f->l) <= 2);

	/* Absent BAR: size 0, flags 0. */
	info = (struct vfio_region_info){ .argsz = sizeof(info), .index = 3 };
	assert_int_equal(IOCTL(f, e.d, VFIO_DEVICE_GET_REGION_INFO, &info), 0);
	assert_int_equal(info.size, 0);
	assert_int_equal(info.flags, 0);

	/* Bad inputs: argsz, indexes (VGA absent: the device says EINVAL). */
	static const struct { uint32_t argsz, index; } bad[] = {
		{ 0, 0 }, { 31, 0 }, { 32, 8 }, { 32, 9 }, { 32, 1000 }, { 32, UINT32_MAX },
		{ UINT32_MAX, 9 },
	};
	for (unsigned int i = 0; i < VFC_ARRAY_SIZE(bad); i++) {
		info = (struct vfio_region_info){ .argsz = bad[i].argsz, .index = bad[i].index };
		assert_int_equal(IOCTL(f, e.d, VFIO_DEVICE_GET_REGION_INFO, &info), -EINVAL);
	}
	env_close(f, &e);
}

static void test_irq_info(void **state)
{
	struct fixture *f = *state;
	struct vfio_irq_info irq;
	struct dev_env e;

	env_open(f, &e);
	irq = (struct vfio_irq_info){ .argsz = sizeof(irq), .index = 0, .flags = 0xff };
	assert_int_equal(IOCTL(f, e.d, VFIO_DEVICE_GET_IRQ_INFO, &irq), 0);
	assert_int_equal(irq.flags, VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_MASKABLE |
				    VFIO_IRQ_INFO_AUTOMASKED);
	assert_int_equal(irq.count, 1);
	irq = (struct vfio_irq_info){ .argsz = sizeof(irq), .index = 1 };
	assert_int_equal(IOCTL(f, e.d, VFIO_DEVICE_GET_IRQ_INFO, &irq), 0);
	assert_int_equal(irq.count, 4);

	static const struct { uint32_t argsz, index; } bad[] = {
		{ 0, 0 }, { 15, 0 }, { 16, 3 /* ERR on conventional PCI */ }, { 16, 5 },
		{ 16, UINT32_MAX },
	};
	for (unsigned int i = 0; i < VFC_ARRAY_SIZE(bad); i++) {
		irq = (struct vfio_irq_info){ .argsz = bad[i].argsz, .index = bad[i].index };
		assert_int_equal(IOCTL(f, e.d, VFIO_DEVICE_GET_IRQ_INFO, &irq), -EINVAL);
	}
	env_close(f, &e);
}

struct irq_set_buf {
	struct vfio_irq_set hdr;
	int32_t data[8];
};

static long set_irqs(struct fixture *f, int d, uint32_t argsz, uint32_t flags, uint32_t index,
		     uint32_t start, uint32_t count, const int32_t *fds)
{
	struct irq_set_buf b = {
		.hdr = { .argsz = argsz, .flags = flags, .index = index, .start = start,
			 .count = count },
	};

	if (fds)
		memcpy(b.data, fds, VFC_MIN(count, 8u) * sizeof(int32_t));
	return IOCTL(f, d, VFIO_DEVICE_SET_IRQS, &b);
}

static uint64_t drain(int efd)
{
	uint64_t v = 0;

	if (read(efd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

static void test_set_irqs_bad_inputs(void **state)
{
	struct fixture *f = *state;
	const uint32_t trig_fd = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	const uint32_t trig_none = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER;
	const uint32_t hdr = sizeof(struct vfio_irq_set);
	int32_t fds[8] = { -1, -1, -1, -1, -1, -1, -1, -1 };
	struct dev_env e;

	env_open(f, &e);
	static const struct {
		uint32_t argsz, flags, index, start, count;
		int err;
	} bad[] = {
		{ 0, trig_none, 0, 0, 1, -EINVAL },		/* argsz */
		{ 19, trig_none, 0, 0, 1, -EINVAL },
		{ 20, trig_none, 5, 0, 1, -EINVAL },		/* index */
		{ 20, trig_none, UINT32_MAX, 0, 1, -EINVAL },
		{ 20, trig_none | (1u << 6), 0, 0, 1, -EINVAL },	/* unknown flag */
		{ 20, trig_none | (1u << 31), 0, 0, 1, -EINVAL },
		{ 20, trig_none, 1, 1, UINT32_MAX, -EINVAL },	/* start + count wraps */
		{ 20, trig_none, 1, UINT32_MAX, 1, -EINVAL },
		{ 20, trig_none, 1, 4, 0, -EINVAL },		/* start beyond count */
		{ 20, trig_none, 1, 2, 3, -EINVAL },		/* start + count > 4 */
		{ 20, trig_none, 3, 0, 0, -EINVAL },		/* ERR: no vectors */
		{ 20, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_DATA_BOOL |
			      VFIO_IRQ_SET_ACTION_TRIGGER, 0, 0, 1, -EINVAL },	/* two data types */
		{ 20, VFIO_IRQ_SET_ACTION_TRIGGER, 0, 0, 1, -EINVAL },	/* no data type */
		{ 20, trig_fd, 1, 0, 1, -EINVAL },		/* no room for the fd */
		{ 27, trig_fd, 1, 0, 2, -EINVAL },
		{ 20, VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_ACTION_TRIGGER, 1, 0, 1, -EINVAL },
		/* Actions the index does not have: the device's ENOTTY. */
		{ 20, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_MASK, 1, 0, 1, -ENOTTY },
		{ 20, VFIO_IRQ_SET_DATA_NONE, 0, 0, 1, -ENOTTY },
		{ 20, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_MASK |
			      VFIO_IRQ_SET_ACTION_UNMASK, 0, 0, 1, -ENOTTY },
		{ 24, VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_MASK, 0, 0, 1, -ENOTTY },
	};
	for (unsigned int i = 0; i < VFC_ARRAY_SIZE(bad); i++) {
		long r = set_irqs(f, e.d, bad[i].argsz, bad[i].flags, bad[i].index, bad[i].start,
				  bad[i].count, fds);
		if (r != bad[i].err)
			fail_msg("case %u: got %ld, want %d", i, r, bad[i].err);
	}
	/* An unreadable argument. */
	assert_int_equal(IOCTL(f, e.d, VFIO_DEVICE_SET_IRQS, NULL), -EFAULT);
	/* fds that are not open, or are no eventfd. */
	int notefd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int32_t closed = 1000000 - 1;
	assert_int_equal(set_irqs(f, e.d, hdr + 4, trig_fd, 0, 0, 1, &closed), -EBADF);
	assert_int_equal(set_irqs(f, e.d, hdr + 4, trig_fd, 0, 0, 1, &notefd), -EINVAL);
	/* A pretend (container) fd is no eventfd either. */
	assert_int_equal(set_irqs(f, e.d, hdr + 4, trig_fd, 0, 0, 1, &e.c), -EBADF);
	/* ENOTTY wins over a bad fd, as in the kernel's order. */
	assert_int_equal(set_irqs(f, e.d, hdr + 4, VFIO_IRQ_SET_DATA_EVENTFD |
				  VFIO_IRQ_SET_ACTION_MASK, 1, 0, 1, &closed), -ENOTTY);
	close(notefd);
	/* Nothing leaked into the device. */
	assert_int_equal(f->dev[0].intx_fd, -1);
	env_close(f, &e);
}

static void test_set_irqs_eventfds(void **state)
{
	struct fixture *f = *state;
	const uint32_t hdr = sizeof(struct vfio_irq_set);
	struct dev_env e;
	int32_t efd[4];
	uint8_t bools[8] = { 0, 1, 0, 1 };

	env_open(f, &e);
	for (int i = 0; i < 4; i++)
		efd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	/* INTx: assign, loopback DATA_NONE and DATA_BOOL, de-assign with -1. */
	assert_int_equal(set_irqs(f, e.d, hdr + 4, VFIO_IRQ_SET_DATA_EVENTFD |
				  VFIO_IRQ_SET_ACTION_TRIGGER, 0, 0, 1, efd), 0);
	assert_true(f->dev[0].intx_fd >= 0);
	assert_int_equal(set_irqs(f, e.d, hdr, VFIO_IRQ_SET_DATA_NONE |
				  VFIO_IRQ_SET_ACTION_TRIGGER, 0, 0, 1, NULL), 0);
	assert_int_equal(drain(efd[0]), 1);
	struct { struct vfio_irq_set h; uint8_t b[8]; } bb = {
		.h = { .argsz = hdr + 1, .flags = VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_ACTION_TRIGGER,
		       .index = 0, .start = 0, .count = 1 },
		.b = { 1 },
	};
	assert_int_equal(IOCTL(f, e.d, VFIO_DEVICE_SET_IRQS, &bb), 0);
	assert_int_equal(drain(efd[0]), 1);
	int32_t minus_one = -1;
	assert_int_equal(set_irqs(f, e.d, hdr + 4, VFIO_IRQ_SET_DATA_EVENTFD |
				  VFIO_IRQ_SET_ACTION_TRIGGER, 0, 0, 1, &minus_one), 0);
	assert_int_equal(f->dev[0].intx_fd, -1);

	/* MSI: four vectors in one call (one round for header, one for data). */
	assert_int_equal(set_irqs(f, e.d, hdr + 16, VFIO_IRQ_SET_DATA_EVENTFD |
				  VFIO_IRQ_SET_ACTION_TRIGGER, 1, 0, 4, efd), 0);
	assert_int_equal(vfc_local_last_rounds(f->l), 2);
	memcpy(bb.b, bools, sizeof(bools));
	bb.h = (struct vfio_irq_set){ .argsz = hdr + 4, .flags = VFIO_IRQ_SET_DATA_BOOL |
				      VFIO_IRQ_SET_ACTION_TRIGGER, .index = 1, .start = 0, .count = 4 };
	assert_int_equal(IOCTL(f, e.d, VFIO_DEVICE_SET_IRQS, &bb), 0);
	assert_int_equal(drain(efd[0]), 0);
	assert_int_equal(drain(efd[1]), 1);
	assert_int_equal(drain(efd[2]), 0);
	assert_int_equal(drain(efd[3]), 1);
	/* A bad fd in the middle of a block fails the call. */
	int32_t mixed[2] = { efd[0], 999999 };
	assert_int_equal(set_irqs(f, e.d, hdr + 8, VFIO_IRQ_SET_DATA_EVENTFD |
				  VFIO_IRQ_SET_ACTION_TRIGGER, 1, 0, 2, mixed), -EBADF);
	/* count 0 with DATA_NONE disables the index. */
	assert_int_equal(set_irqs(f, e.d, hdr, VFIO_IRQ_SET_DATA_NONE |
				  VFIO_IRQ_SET_ACTION_TRIGGER, 1, 0, 0, NULL), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(f->dev[0].msi_fds[i], -1);
	/* The core closed every fd it fetched: only ours stay. */
	for (int i = 0; i < 4; i++)
		close(efd[i]);
	env_close(f, &e);
}

static void test_reset(void **state)
{
	struct fixture *f = *state;
	struct dev_env e;
	int g27, d2;

	env_open(f, &e);
	assert_int_equal(IOCTL(f, e.d, VFIO_DEVICE_RESET, 0), 0);
	assert_int_equal(f->dev[0].resets, 1);
	env_close(f, &e);

	/* A device without reset: EINVAL, as vfio-pci when !reset_works. */
	struct vfc_core *core;
	struct vfc_group *g;
	struct vfc_local *l;
	struct vfc_fake_device fd;
	struct vfc_fake_iommu *iommu = calloc(1, sizeof(*iommu));

	vfc_fake_device_init(&fd, 1, 2);
	fd.no_reset = true;
	assert_int_equal(vfc_core_new(&core), 0);
	assert_int_equal(vfc_core_add_iommu_driver(core, &vfc_fake_iommu_ops, iommu), 0);
	assert_int_equal(vfc_core_add_group(core, 5, NULL, &g), 0);
	assert_int_equal(vfc_group_add_device(g, "x", &vfc_fake_device_ops, &fd, NULL), 0);
	assert_int_equal(vfc_local_new(core, &l), 0);
	int c = vfc_local_open_container(l);
	g27 = vfc_local_open_group(l, 5);
	assert_int_equal(vfc_local_ioctl(l, g27, VFIO_GROUP_SET_CONTAINER, (unsigned long)&c), 0);
	assert_int_equal(vfc_local_ioctl(l, c, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU), 0);
	d2 = (int)vfc_local_ioctl(l, g27, VFIO_GROUP_GET_DEVICE_FD, (unsigned long)"x");
	assert_true(d2 >= 0);
	struct vfio_device_info info = { .argsz = sizeof(info) };
	assert_int_equal(vfc_local_ioctl(l, d2, VFIO_DEVICE_GET_INFO, (unsigned long)&info), 0);
	assert_int_equal(info.flags, VFIO_DEVICE_FLAGS_PCI);
	assert_int_equal(vfc_local_ioctl(l, d2, VFIO_DEVICE_RESET, 0), -EINVAL);
	vfc_local_free(l);
	vfc_core_free(core);
	free(iommu);
}

static void test_hot_reset(void **state)
{
	struct fixture *f = *state;
	struct dev_env e;
	struct vfio_pci_hot_reset_info hri;
	struct { struct vfio_pci_hot_reset h; int32_t fds[1]; } hr;

	env_open(f, &e);
	hri = (struct vfio_pci_hot_reset_info){ .argsz = sizeof(hri) };
	assert_int_equal(IOCTL(f, e.d, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, &hri), -ENODEV);
	hri.argsz = 11;
	assert_int_equal(IOCTL(f, e.d, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, &hri), -EINVAL);

	hr = (typeof(hr)){ .h = { .argsz = sizeof(hr), .count = 1 }, .fds = { e.g } };
	assert_int_equal(IOCTL(f, e.d, VFIO_DEVICE_PCI_HOT_RESET, &hr), -ENODEV);
	hr.h.count = 0;	/* only cdev-opened devices may pass none */
	assert_int_equal(IOCTL(f, e.d, VFIO_DEVICE_PCI_HOT_RESET, &hr), -EINVAL);
	hr.h.count = 1;
	hr.h.flags = 1;
	assert_int_equal(IOCTL(f, e.d, VFIO_DEVICE_PCI_HOT_RESET, &hr), -EINVAL);
	hr.h.flags = 0;
	hr.h.argsz = 11;
	assert_int_equal(IOCTL(f, e.d, VFIO_DEVICE_PCI_HOT_RESET, &hr), -EINVAL);
	env_close(f, &e);
}

static void test_feature_and_unknown(void **state)
{
	struct fixture *f = *state;
	struct dev_env e;
	struct vfio_device_feature feat;

	env_open(f, &e);
	static const struct { uint32_t argsz, flags; int err; } cases[] = {
		{ 0, VFIO_DEVICE_FEATURE_PROBE, -EINVAL },
		{ 7, VFIO_DEVICE_FEATURE_PROBE, -EINVAL },
		{ 8, 1u << 19, -EINVAL },
		{ 8, VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_SET, -EINVAL },
		{ 8, VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_PROBE,
		  -ENOTTY },
		{ 8, VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_MIGRATION, -ENOTTY },
		{ 8, VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_PCI_VF_TOKEN, -ENOTTY },
		{ 8, VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY, -ENOTTY },
		{ 8, VFIO_DEVICE_FEATURE_GET | 0xffff, -ENOTTY },
	};
	for (unsigned int i = 0; i < VFC_ARRAY_SIZE(cases); i++) {
		feat = (struct vfio_device_feature){ .argsz = cases[i].argsz, .flags = cases[i].flags };
		assert_int_equal(IOCTL(f, e.d, VFIO_DEVICE_FEATURE, &feat), cases[i].err);
	}
	assert_int_equal(IOCTL(f, e.d, VFIO_DEVICE_QUERY_GFX_PLANE, &feat), -ENOTTY);
	assert_int_equal(IOCTL(f, e.d, VFIO_DEVICE_GET_GFX_DMABUF, &feat), -ENOTTY);
	assert_int_equal(IOCTL(f, e.d, VFIO_DEVICE_IOEVENTFD, &feat), -ENOTTY);
	assert_int_equal(IOCTL(f, e.d, VFIO_GET_API_VERSION, 0), -ENOTTY);
	assert_int_equal(IOCTL(f, e.d, VFIO_GROUP_GET_STATUS, &feat), -ENOTTY);
	assert_int_equal(IOCTL(f, e.d, 0x5401, 0), -ENOTTY);
	env_close(f, &e);
}

static void test_region_rw(void **state)
{
	struct fixture *f = *state;
	struct dev_env e;
	uint32_t v = 0xdeadbeef, back = 0;
	uint16_t vendor = 0;
	uint8_t big[8192];

	env_open(f, &e);
	assert_int_equal(vfc_local_pread(f->l, e.d, &vendor, 2, 7ull << 40), 2);
	assert_int_equal(vendor, 0x1234);
	assert_int_equal(vfc_local_pwrite(f->l, e.d, &v, 4, 0x10), 4);
	assert_int_equal(vfc_local_pread(f->l, e.d, &back, 4, 0x10), 4);
	assert_int_equal(back, v);
	/* Short at the end of a region; nothing past it. */
	assert_int_equal(vfc_local_pread(f->l, e.d, big, sizeof(big), 0), 4096);
	assert_int_equal(vfc_local_pread(f->l, e.d, big, 4, 4096), -EINVAL);
	/* Offsets in no region. */
	assert_int_equal(vfc_local_pread(f->l, e.d, big, 4, 9ull << 40), -EINVAL);
	assert_int_equal(vfc_local_pread(f->l, e.d, big, 4, ~0ull), -EINVAL);
	assert_int_equal(vfc_local_pwrite(f->l, e.d, big, 4, 200ull << 40), -EINVAL);
	/* Container and group files are not seekable. */
	assert_int_equal(vfc_local_pread(f->l, e.c, big, 4, 0), -ESPIPE);
	assert_int_equal(vfc_local_pread(f->l, e.g, big, 4, 0), -ESPIPE);
	env_close(f, &e);
}

static void test_device_dma(void **state)
{
	struct fixture *f = *state;
	struct vfc_device *dev;
	struct dev_env e;
	char buf[8] = "dmadata";

	env_open(f, &e);
	dev = f->dev[0].dev;
	assert_non_null(dev);
	assert_int_equal(vfc_device_dma_rw(dev, 0x100, buf, sizeof(buf), true), 0);
	assert_memory_equal(f->iommu.memory + 0x100, "dmadata", 8);
	assert_int_equal(vfc_device_dma_rw(dev, 1 << 16, buf, 1, false), -EFAULT);
	env_close(f, &e);
	/* Closed: no container to DMA through. */
	assert_int_equal(vfc_device_dma_rw(dev, 0x100, buf, 1, false), -ENODEV);
}

/*
 * A device whose driver answers hot reset and DEVICE_FEATURE itself (as
 * the kernel backend's): what the core checks first, and what reaches it.
 */
static struct {
	int info;			/* devices affected, or -errno */
	unsigned int info_calls, reset_calls;
	struct vfc_hot_reset_group groups[4];
	unsigned int count;
	int feature_ret;
	unsigned int feature_calls;
	uint32_t feature_flags;
	uint8_t feature_data[64];
	size_t feature_len;
	struct vfio_device_feature_dma_logging_report reports[4];
	unsigned int n_reports;
	uint64_t start_ranges;		/* where START's ranges were given */
	struct vfio_device_feature_dma_logging_range start_first;
} fwd;

static int fwd_hot_reset_info(void *priv, struct vfio_pci_dependent_device *devices,
			      unsigned int max)
{
	(void)priv;
	fwd.info_calls++;
	if (fwd.info < 0)
		return fwd.info;
	for (unsigned int i = 0; i < (unsigned int)fwd.info && i < max; i++)
		devices[i] = (struct vfio_pci_dependent_device){ .group_id = 5 + i, .bus = 1,
								 .devfn = (uint8_t)i };
	return fwd.info;
}

static int fwd_hot_reset(void *priv, const struct vfc_hot_reset_group *groups, unsigned int count)
{
	(void)priv;
	fwd.reset_calls++;
	fwd.count = count;
	memcpy(fwd.groups, groups, VFC_MIN(count, 4u) * sizeof(*groups));
	for (unsigned int i = 0; i < count; i++)
		if (groups[i].err)
			return groups[i].err;
	return 0;
}

static int fwd_feature(void *priv, uint32_t flags, void *data, size_t len)
{
	(void)priv;
	fwd.feature_calls++;
	fwd.feature_flags = flags;
	fwd.feature_len = len;
	if (len && len <= sizeof(fwd.feature_data))
		memcpy(fwd.feature_data, data, len);
	if (fwd.feature_ret)
		return fwd.feature_ret;
	switch (flags & VFIO_DEVICE_FEATURE_MASK) {
	case VFIO_DEVICE_FEATURE_MIGRATION:
		((struct vfio_device_feature_migration *)data)->flags = VFIO_MIGRATION_STOP_COPY;
		break;
	case VFIO_DEVICE_FEATURE_DMA_LOGGING_START:
		if (flags & VFIO_DEVICE_FEATURE_PROBE)
			break;
		if (!((struct vfio_device_feature_dma_logging_control *)data)->num_ranges)
			return -EINVAL;
		fwd.start_ranges = ((struct vfio_device_feature_dma_logging_control *)data)->ranges;
		memcpy(&fwd.start_first, (void *)(uintptr_t)fwd.start_ranges, sizeof(fwd.start_first));
		((struct vfio_device_feature_dma_logging_control *)data)->page_size = 8192;
		break;
	case VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT:
		if (!(flags & VFIO_DEVICE_FEATURE_PROBE)) {
			struct vfio_device_feature_dma_logging_report *r = data;
			uint64_t *bm = (uint64_t *)(uintptr_t)r->bitmap;

			if (!bm)
				return -EINVAL;	/* as the kernel's checks before the bitmap */
			if (fwd.n_reports < 4)
				fwd.reports[fwd.n_reports++] = *r;
			bm[0] |= 1u << 1;	/* the chunk's second page */
		}
		break;
	default:
		break;
	}
	return 0;
}

struct fwd_env {
	struct vfc_core *core;
	struct vfc_fake_iommu iommu;
	struct vfc_fake_device dev[3];
	struct vfc_device_ops ops;
	struct vfc_local *l;
	int c, g5, g6, g7, d;
};

static void fwd_open(struct fwd_env *e)
{
	struct vfc_group *g[3];

	memset(&fwd, 0, sizeof(fwd));
	fwd.info = 2;
	e->ops = vfc_fake_device_ops;
	e->ops.hot_reset_info = fwd_hot_reset_info;
	e->ops.hot_reset = fwd_hot_reset;
	e->ops.feature = fwd_feature;
	assert_int_equal(vfc_core_new(&e->core), 0);
	assert_int_equal(vfc_core_add_iommu_driver(e->core, &vfc_fake_iommu_ops, &e->iommu), 0);
	for (int i = 0; i < 3; i++) {
		char name[16];

		vfc_fake_device_init(&e->dev[i], 0x1234, 0x11e8);
		assert_int_equal(vfc_core_add_group(e->core, 5 + i, NULL, &g[i]), 0);
		snprintf(name, sizeof(name), "0000:01:00.%d", i);
		assert_int_equal(vfc_group_add_device(g[i], name, i < 2 ? &e->ops : &vfc_fake_device_ops,
						      &e->dev[i], NULL), 0);
	}
	assert_int_equal(vfc_local_new(e->core, &e->l), 0);
	e->c = vfc_local_open_container(e->l);
	e->g5 = vfc_local_open_group(e->l, 5);
	e->g6 = vfc_local_open_group(e->l, 6);
	e->g7 = vfc_local_open_group(e->l, 7);
	assert_int_equal(vfc_local_ioctl(e->l, e->g5, VFIO_GROUP_SET_CONTAINER, (unsigned long)&e->c), 0);
	assert_int_equal(vfc_local_ioctl(e->l, e->c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), 0);
	e->d = (int)vfc_local_ioctl(e->l, e->g5, VFIO_GROUP_GET_DEVICE_FD,
				    (unsigned long)"0000:01:00.0");
	assert_true(e->d >= 0);
}

static void fwd_close(struct fwd_env *e)
{
	vfc_local_close(e->l, e->d);
	vfc_local_close(e->l, e->g5);
	vfc_local_close(e->l, e->g6);
	vfc_local_close(e->l, e->g7);
	vfc_local_close(e->l, e->c);
	vfc_local_free(e->l);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(e->dev[i].opens, e->dev[i].closes);
		vfc_fake_device_fini(&e->dev[i]);
	}
	vfc_core_free(e->core);
}

#define FIOCTL(e, cmd, arg) vfc_local_ioctl((e)->l, (e)->d, (cmd), (unsigned long)(arg))

static void test_hot_reset_forward(void **state)
{
	struct fwd_env e = { 0 };
	struct {
		struct vfio_pci_hot_reset_info h;
		struct vfio_pci_dependent_device devs[3];
	} hri;
	struct { struct vfio_pci_hot_reset h; int32_t fds[3]; } hr;
	int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);

	(void)state;
	fwd_open(&e);
	/* INFO: too small an argsz fills count and fails with ENOSPC. */
	memset(&hri, 0xaa, sizeof(hri));
	hri.h.argsz = sizeof(hri.h) + sizeof(hri.devs[0]);
	assert_int_equal(FIOCTL(&e, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, &hri), -ENOSPC);
	assert_int_equal(hri.h.count, 2);
	assert_int_equal(hri.h.flags, 0);
	assert_int_equal(hri.h.argsz, sizeof(hri.h) + sizeof(hri.devs[0]));
	assert_int_equal(hri.devs[0].group_id, 0xaaaaaaaa);	/* nothing past the header */
	/* Room for both: the device's list. */
	hri.h.argsz = sizeof(hri);
	assert_int_equal(FIOCTL(&e, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, &hri), 0);
	assert_int_equal(hri.h.count, 2);
	assert_int_equal(hri.devs[0].group_id, 5);
	assert_int_equal(hri.devs[1].group_id, 6);
	assert_int_equal(hri.devs[1].devfn, 1);
	assert_int_equal(hri.devs[2].group_id, 0xaaaaaaaa);
	hri.h.argsz = 11;	/* the core's check first */
	assert_int_equal(FIOCTL(&e, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, &hri), -EINVAL);
	fwd.info = -ENODEV;
	hri.h.argsz = sizeof(hri);
	assert_int_equal(FIOCTL(&e, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, &hri), -ENODEV);
	fwd.info = 2;

	/* HOT_RESET: our groups reach the device in the caller's order. */
	hr = (typeof(hr)){ .h = { .argsz = sizeof(hr), .count = 2 }, .fds = { e.g6, e.g5 } };
	assert_int_equal(FIOCTL(&e, VFIO_DEVICE_PCI_HOT_RESET, &hr), 0);
	assert_int_equal(fwd.reset_calls, 1);
	assert_int_equal(fwd.count, 2);
	assert_int_equal(fwd.groups[0].err, 0);
	assert_ptr_equal(fwd.groups[0].group, vfc_core_find_group(e.core, 6));
	assert_ptr_equal(fwd.groups[1].group, vfc_core_find_group(e.core, 5));
	/* The first bad fd decides, and what follows carries its error. */
	static const struct { int which; int err; } bad[] = {
		{ 0, -EBADF },	/* not open */
		{ 1, -EINVAL },	/* a container */
		{ 2, -EINVAL },	/* open, no group of ours */
		{ 3, -EBADF },	/* negative */
	};
	for (unsigned int i = 0; i < VFC_ARRAY_SIZE(bad); i++) {
		int32_t fd = bad[i].which == 0 ? 999 : bad[i].which == 1 ? e.c :
			     bad[i].which == 2 ? devnull : -5;

		hr = (typeof(hr)){ .h = { .argsz = sizeof(hr), .count = 2 }, .fds = { e.g5, fd } };
		assert_int_equal(FIOCTL(&e, VFIO_DEVICE_PCI_HOT_RESET, &hr), bad[i].err);
		assert_int_equal(fwd.groups[0].err, 0);
		assert_int_equal(fwd.groups[1].err, bad[i].err);
		assert_null(fwd.groups[1].group);
	}
	hr = (typeof(hr)){ .h = { .argsz = sizeof(hr), .count = 2 }, .fds = { 999, e.g5 } };
	assert_int_equal(FIOCTL(&e, VFIO_DEVICE_PCI_HOT_RESET, &hr), -EBADF);
	assert_int_equal(fwd.groups[1].err, -EBADF);
	/* Kernel order: argsz/flags/count 0, then ENODEV, then the count
	 * against the devices affected; the fds are not read before. */
	fwd.reset_calls = 0;
	hr = (typeof(hr)){ .h = { .argsz = sizeof(hr), .count = 3 }, .fds = { e.g5, e.g6, e.g7 } };
	assert_int_equal(FIOCTL(&e, VFIO_DEVICE_PCI_HOT_RESET, &hr), -EINVAL);
	assert_int_equal(vfc_local_last_rounds(e.l), 1);
	hr.h.count = 0x40000000;	/* bounded by the devices, not by argsz */
	assert_int_equal(FIOCTL(&e, VFIO_DEVICE_PCI_HOT_RESET, &hr), -EINVAL);
	fwd.info = -ENODEV;
	assert_int_equal(FIOCTL(&e, VFIO_DEVICE_PCI_HOT_RESET, &hr), -ENODEV);
	hr.h.count = 0;
	assert_int_equal(FIOCTL(&e, VFIO_DEVICE_PCI_HOT_RESET, &hr), -EINVAL);
	hr.h.count = 1;
	hr.h.flags = 1;
	assert_int_equal(FIOCTL(&e, VFIO_DEVICE_PCI_HOT_RESET, &hr), -EINVAL);
	assert_int_equal(fwd.reset_calls, 0);
	/* The emulated device next door keeps its ENODEV. */
	close(devnull);
	fwd_close(&e);
}

static void test_feature_forward(void **state)
{
	const size_t hdr = sizeof(struct vfio_device_feature);
	struct fwd_env e = { 0 };
	union {
		struct vfio_device_feature f;
		uint8_t b[64];
	} a;
	struct vfio_device_feature_dma_logging_control control;
	struct vfio_device_feature_dma_logging_report report;
	struct vfio_device_feature_dma_logging_range ranges[2] = {
		{ .iova = 0x100000, .length = 0x10000 }, { .iova = 0x200000, .length = 0x1000 },
	};

	(void)state;
	fwd_open(&e);
	/* PROBE: the driver's answer, header only. */
	fwd.feature_ret = -ENOTTY;
	a.f = (struct vfio_device_feature){ .argsz = 8, .flags = VFIO_DEVICE_FEATURE_PROBE |
				VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE };
	assert_int_equal(FIOCTL(&e, VFIO_DEVICE_FEATURE, &a), -ENOTTY);
	assert_int_equal(fwd.feature_flags, a.f.flags);
	assert_int_equal(fwd.feature_len, 0);
	fwd.feature_ret = 0;
	a.f.flags = VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_GET |
		    VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT;
	assert_int_equal(FIOCTL(&e, VFIO_DEVICE_FEATURE, &a), 0);
	/* The core's header checks stay first. */
	a.f.argsz = 7;
	assert_int_equal(FIOCTL(&e, VFIO_DEVICE_FEATURE, &a), -EINVAL);

	/* MIGRATION GET: forwarded, written back. */
	memset(&a, 0, sizeof(a));
	a.f = (struct vfio_device_feature){ .argsz = hdr + 8,
				.flags = VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIGRATION };
	assert_int_equal(FIOCTL(&e, VFIO_DEVICE_FEATURE, &a), 0);
	assert_int_equal(((struct vfio_device_feature_migration *)a.f.data)->flags,
			 VFIO_MIGRATION_STOP_COPY);
	/* ... with the client's argsz, so the driver's size check answers. */
	a.f.argsz = hdr + 4;
	assert_int_equal(FIOCTL(&e, VFIO_DEVICE_FEATURE, &a), 0);
	assert_int_equal(fwd.feature_len, 4);
	/* MIG_DEVICE_STATE SET: the driver's probe, then EOPNOTSUPP (no data fd
	 * can reach the caller); the driver's own ENOTTY when it has none. */
	fwd.feature_calls = 0;
	a.f = (struct vfio_device_feature){ .argsz = hdr + 8,
				.flags = VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE };
	assert_int_equal(FIOCTL(&e, VFIO_DEVICE_FEATURE, &a), -EOPNOTSUPP);
	assert_int_equal(fwd.feature_calls, 1);
	assert_true(fwd.feature_flags & VFIO_DEVICE_FEATURE_PROBE);
	a.f.argsz = hdr + 4;
	assert_int_equal(FIOCTL(&e, VFIO_DEVICE_FEATURE, &a), -EINVAL);
	fwd.feature_ret = -ENOTTY;
	assert_int_equal(FIOCTL(&e, VFIO_DEVICE_FEATURE, &a), -ENOTTY);
	/* A feature not known here: the driver's errno, or EOPNOTSUPP. */
	a.f.flags = VFIO_DEVICE_FEATURE_SET | 0x777;
	assert_int_equal(FIOCTL(&e, VFIO_DEVICE_FEATURE, &a), -ENOTTY);
	fwd.feature_ret = 0;
	assert_int_equal(FIOCTL(&e, VFIO_DEVICE_FEATURE, &a), -EOPNOTSUPP);

	/* DMA_LOGGING_START: the ranges are copied in; the caller keeps its
	 * own pointer, with the driver's page size. */
	memset(&a, 0, sizeof(a));
	control = (struct vfio_device_feature_dma_logging_control){
		.page_size = 4096, .num_ranges = 2, .ranges = (uintptr_t)ranges };
	a.f = (struct vfio_device_feature){ .argsz = hdr + sizeof(control),
				.flags = VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_DMA_LOGGING_START };
	memcpy(a.f.data, &control, sizeof(control));
	assert_int_equal(FIOCTL(&e, VFIO_DEVICE_FEATURE, &a), 0);
	{
		struct vfio_device_feature_dma_logging_control got, back;

		memcpy(&got, fwd.feature_data, sizeof(got));
		memcpy(&back, a.f.data, sizeof(back));
		assert_int_not_equal(got.ranges, (uintptr_t)ranges);
		assert_int_equal(back.ranges, (uintptr_t)ranges);
		assert_int_equal(back.page_size, 8192);
	}
	/* A second range the caller cannot read: the driver gets the first
	 * one just before an inaccessible page, where it faults as the kernel
	 * would have in the caller. */
	{
		const size_t page = (size_t)sysconf(_SC_PAGESIZE);
		uint8_t *m = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		assert_true(m != MAP_FAILED);
		assert_int_equal(mprotect(m + page, page, PROT_NONE), 0);
		memcpy(m + page - sizeof(ranges[0]), &ranges[1], sizeof(ranges[0]));
		control.ranges = (uintptr_t)(m + page - sizeof(ranges[0]));
		memcpy(a.f.data, &control, sizeof(control));
		assert_int_equal(FIOCTL(&e, VFIO_DEVICE_FEATURE, &a), 0);
		assert_int_equal((fwd.start_ranges + sizeof(ranges[0])) % page, 0);
		assert_int_equal(fwd.start_first.iova, ranges[1].iova);
		munmap(m, 2 * page);
	}
	/* Counts the driver refuses before reading: no pointer of ours. */
	control.num_ranges = 0;
	memcpy(a.f.data, &control, sizeof(control));
	assert_int_equal(FIOCTL(&e, VFIO_DEVICE_FEATURE, &a), -EINVAL);
	assert_int_equal(fwd.feature_len, sizeof(control));
	assert_int_equal(((struct vfio_device_feature_dma_logging_control *)fwd.feature_data)->ranges, 0);
	/* DMA_LOGGING_STOP: as is. */
	a.f = (struct vfio_device_feature){ .argsz = hdr,
				.flags = VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP };
	assert_int_equal(FIOCTL(&e, VFIO_DEVICE_FEATURE, &a), 0);
	assert_int_equal(fwd.feature_len, 0);

	/* DMA_LOGGING_REPORT: the driver writes a buffer of ours, ORed into
	 * the caller's bitmap, in chunks of 2^23 pages. */
	{
		const uint64_t words = 128 * 1024 + 2;	/* two chunks */
		uint64_t *bm = calloc(words, 8);

		assert_non_null(bm);
		bm[0] = 1u << 5;	/* other bits stay */
		report = (struct vfio_device_feature_dma_logging_report){
			.iova = 0x1000, .length = words * 64 * 4096 - 4096, .page_size = 4096,
			.bitmap = (uintptr_t)bm };
		memset(&a, 0, sizeof(a));
		a.f = (struct vfio_device_feature){ .argsz = hdr + sizeof(report),
				.flags = VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT };
		memcpy(a.f.data, &report, sizeof(report));
		fwd.n_reports = 0;
		assert_int_equal(FIOCTL(&e, VFIO_DEVICE_FEATURE, &a), 0);
		assert_int_equal(fwd.n_reports, 2);
		assert_int_equal(fwd.reports[0].iova, 0x1000);
		assert_int_equal(fwd.reports[0].length, 128ull * 1024 * 64 * 4096);
		assert_int_equal(fwd.reports[1].iova, 0x1000 + 128ull * 1024 * 64 * 4096);
		assert_int_equal(fwd.reports[1].length, 2 * 64 * 4096 - 4096);
		assert_int_equal(bm[0], (1u << 5) | (1u << 1));
		assert_int_equal(bm[128 * 1024], 1u << 1);
		assert_int_equal(bm[1], 0);
		/* A bitmap the caller does not have: EFAULT before the driver. */
		report.bitmap = 8;
		memcpy(a.f.data, &report, sizeof(report));
		fwd.n_reports = 0;
		assert_int_equal(FIOCTL(&e, VFIO_DEVICE_FEATURE, &a), -EFAULT);
		assert_int_equal(fwd.n_reports, 0);
		/* Past 256 MiB of bitmap: refused. */
		report.length = 1ull << 50;
		memcpy(a.f.data, &report, sizeof(report));
		assert_int_equal(FIOCTL(&e, VFIO_DEVICE_FEATURE, &a), -E2BIG);
		/* A bad page size: the driver answers, with no bitmap of ours. */
		report.page_size = 4095;
		memcpy(a.f.data, &report, sizeof(report));
		assert_int_equal(FIOCTL(&e, VFIO_DEVICE_FEATURE, &a), -EINVAL);
		assert_int_equal(fwd.feature_len, sizeof(report));
		assert_int_equal(((struct vfio_device_feature_dma_logging_report *)fwd.feature_data)->bitmap, 0);
		free(bm);
	}
	fwd_close(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_get_info, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_region_info, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_irq_info, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_set_irqs_bad_inputs, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_set_irqs_eventfds, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_reset, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_hot_reset, fixture_setup, fixture_teardown),
		cmocka_unit_test(test_hot_reset_forward),
		cmocka_unit_test(test_feature_forward),
		cmocka_unit_test_setup_teardown(test_feature_and_unknown, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_region_rw, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_device_dma, fixture_setup, fixture_teardown),
	};
	return cmocka_run_group_tests_name("device", tests, NULL, NULL);
}
