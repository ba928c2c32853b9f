/* SPDX-License-Identifier: MIT */
/* Device ioctls and region access, with a table of bad inputs each. */
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
		cmocka_unit_test_setup_teardown(test_feature_and_unknown, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_region_rw, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_device_dma, fixture_setup, fixture_teardown),
	};
	return cmocka_run_group_tests_name("device", tests, NULL, NULL);
}
