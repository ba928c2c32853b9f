/* SPDX-License-Identifier: MIT */
/*
 * The core's file object (vfc-file.h), used directly as a transport would:
 * every kind opens, dispatches by kind, answers region access or ESPIPE,
 * and releases in any order; an unbound device file answers ENOTTY and
 * EINVAL until bound, and binds once. The ioctl tables: every number of
 * <linux/vfio.h> that each kind serves has its row and name, numbers that
 * collide across kinds get each kind's row, and the flags are coherent.
 */
#include "test-util.h"
#include "vfc-file.h"

/* One round of an ioctl that needs no data. */
static int ioctl0(struct vfc_file *file, unsigned int cmd, unsigned long arg)
{
	struct vfc_ioctl io = { .cmd = cmd, .arg = arg };

	return vfc_file_ioctl(file, &io);
}

static void test_kinds(void **state)
{
	struct fixture *f = *state;
	struct vfc_file *c, *g, *d;
	uint8_t b;

	assert_int_equal(vfc_file_open_container(f->core, &c), 0);
	assert_int_equal(vfc_file_open_group(f->core, 26, &g), 0);
	assert_int_equal(vfc_file_new_device(NULL, &d), 0);
	assert_int_equal(vfc_file_kind(c), VFC_FILE_CONTAINER);
	assert_int_equal(vfc_file_kind(g), VFC_FILE_GROUP);
	assert_int_equal(vfc_file_kind(d), VFC_FILE_DEVICE);
	assert_true(vfc_file_id(c) != vfc_file_id(g) && vfc_file_id(g) != vfc_file_id(d));
	assert_non_null(vfc_file_container(c));
	assert_null(vfc_file_container(g));
	assert_int_equal(vfc_file_group(g), 26);
	assert_int_equal(vfc_file_group(c), -1);

	/* Dispatch by kind: one number, three meanings. */
	assert_int_equal(ioctl0(c, VFIO_GET_API_VERSION, 0), VFIO_API_VERSION);
	assert_int_equal(ioctl0(c, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU), 1);
	assert_int_equal(ioctl0(g, VFIO_GET_API_VERSION, 0), -ENOTTY);
	assert_int_equal(ioctl0(c, VFIO_GROUP_UNSET_CONTAINER, 0), -EINVAL);	/* no IOMMU */
	assert_int_equal(ioctl0(g, VFIO_GROUP_UNSET_CONTAINER, 0), -EINVAL);	/* none set */
	assert_int_equal(ioctl0(g, 0x5401, 0), -ENOTTY);

	/* Only devices are seekable; an unbound one is no device yet. */
	assert_int_equal(vfc_file_rw(c, 0, &b, 1, false), -ESPIPE);
	assert_int_equal(vfc_file_rw(g, 0, &b, 1, true), -ESPIPE);
	assert_int_equal(vfc_file_rw(d, 7ull << 40, &b, 1, false), -EINVAL);
	assert_int_equal(ioctl0(d, VFIO_DEVICE_RESET, 0), -ENOTTY);
	assert_false(vfc_file_is_bound(d));
	assert_int_equal(vfc_file_bind_device(c, NULL), -EINVAL);

	/* The group is taken while its file lives. */
	{
		struct vfc_file *again = NULL;

		assert_int_equal(vfc_file_open_group(f->core, 26, &again), -EBUSY);
		assert_null(again);
	}
	assert_null(vfc_file_release(d));
	assert_null(vfc_file_release(g));
	assert_null(vfc_file_release(c));
	assert_null(vfc_file_release(NULL));
	assert_int_equal(vfc_file_open_group(f->core, 99, &g), -ENODEV);
}

/* A transport's caller: its one container, and the device it was given. */
static struct vfc_file *the_container;
static struct vfc_device_file *installed;

static int get_container(struct vfc_caller *caller, int fd, struct vfc_container **ret)
{
	if (fd != 3)
		return -EBADF;
	*ret = vfc_container_ref(vfc_file_container(the_container));
	return 0;
}

static int install(struct vfc_caller *caller, struct vfc_device_file *df)
{
	installed = df;	/* the reference moves to us */
	return 42;
}

static const struct vfc_caller_ops ops = { .get_container = get_container,
					   .install_device = install };

/* The whole flow on core files, then release in the kernel's worst order:
 * container and group first, the device keeps working. */
static void test_bind(void **state)
{
	struct fixture *f = *state;
	struct vfc_caller caller = { .ops = &ops };
	struct vfio_device_info info = { .argsz = sizeof(info) };
	struct vfc_file *g, *d;
	int32_t cfd = 3;
	char *page = aligned_alloc(4096, 4096), *name;
	uint8_t out[64];
	uint16_t vendor = 0;
	struct vfc_ioctl io;

	assert_int_equal(vfc_file_open_container(f->core, &the_container), 0);
	assert_int_equal(vfc_file_open_group(f->core, 26, &g), 0);
	io = (struct vfc_ioctl){ .cmd = VFIO_GROUP_SET_CONTAINER, .in = &cfd,
				 .in_len = sizeof(cfd), .caller = &caller };
	assert_int_equal(vfc_file_ioctl(g, &io), 0);
	assert_int_equal(ioctl0(the_container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), 0);

	/* GET_DEVICE_FD: the name, which is read to the end of its page (as
	 * strndup_user may), so put it at the very end; then the transport
	 * installs the file. */
	assert_non_null(page);
	name = page + 4096 - sizeof(DEV0);
	memcpy(name, DEV0, sizeof(DEV0));
	installed = NULL;
	io = (struct vfc_ioctl){ .cmd = VFIO_GROUP_GET_DEVICE_FD, .arg = (uintptr_t)name,
				 .in = name, .in_len = sizeof(DEV0), .caller = &caller };
	assert_int_equal(vfc_file_ioctl(g, &io), 42);
	free(page);
	assert_non_null(installed);
	assert_int_equal(vfc_file_new_device(NULL, &d), 0);
	assert_int_equal(vfc_file_bind_device(d, installed), 0);
	assert_int_equal(vfc_file_bind_device(d, installed), -EBUSY);
	assert_true(vfc_file_is_bound(d));

	vfc_file_release(the_container);
	vfc_file_release(g);
	io = (struct vfc_ioctl){ .cmd = VFIO_DEVICE_GET_INFO, .in = &info, .in_len = sizeof(info),
				 .out = out, .out_cap = sizeof(out) };
	assert_int_equal(vfc_file_ioctl(d, &io), 0);
	assert_int_equal(vfc_file_rw(d, 7ull << 40, &vendor, 2, false), 2);
	assert_int_equal(vendor, 0x1234);
	assert_int_equal(f->iommu.released, 0);	/* held by the device */
	vfc_file_release(d);
	assert_int_equal(f->iommu.released, 1);
}

static void test_tables(void **state)
{
	static const struct {
		enum vfc_file_kind kind;
		unsigned int cmd;
		const char *name;
	} rows[] = {
		{ VFC_FILE_CONTAINER, VFIO_GET_API_VERSION, "GET_API_VERSION" },
		{ VFC_FILE_CONTAINER, VFIO_CHECK_EXTENSION, "CHECK_EXTENSION" },
		{ VFC_FILE_CONTAINER, VFIO_SET_IOMMU, "SET_IOMMU" },
		{ VFC_FILE_CONTAINER, VFIO_IOMMU_GET_INFO, "IOMMU_GET_INFO" },
		{ VFC_FILE_CONTAINER, VFIO_IOMMU_MAP_DMA, "IOMMU_MAP_DMA" },
		{ VFC_FILE_CONTAINER, VFIO_IOMMU_UNMAP_DMA, "IOMMU_UNMAP_DMA" },
		{ VFC_FILE_CONTAINER, VFIO_IOMMU_ENABLE, "IOMMU_ENABLE" },
		{ VFC_FILE_CONTAINER, VFIO_IOMMU_DISABLE, "IOMMU_DISABLE" },
		{ VFC_FILE_CONTAINER, VFIO_IOMMU_DIRTY_PAGES, "IOMMU_DIRTY_PAGES" },
		{ VFC_FILE_GROUP, VFIO_GROUP_GET_STATUS, "GROUP_GET_STATUS" },
		{ VFC_FILE_GROUP, VFIO_GROUP_SET_CONTAINER, "GROUP_SET_CONTAINER" },
		{ VFC_FILE_GROUP, VFIO_GROUP_UNSET_CONTAINER, "GROUP_UNSET_CONTAINER" },
		{ VFC_FILE_GROUP, VFIO_GROUP_GET_DEVICE_FD, "GROUP_GET_DEVICE_FD" },
		{ VFC_FILE_DEVICE, VFIO_DEVICE_GET_INFO, "DEVICE_GET_INFO" },
		{ VFC_FILE_DEVICE, VFIO_DEVICE_GET_REGION_INFO, "DEVICE_GET_REGION_INFO" },
		{ VFC_FILE_DEVICE, VFIO_DEVICE_GET_IRQ_INFO, "DEVICE_GET_IRQ_INFO" },
		{ VFC_FILE_DEVICE, VFIO_DEVICE_SET_IRQS, "DEVICE_SET_IRQS" },
		{ VFC_FILE_DEVICE, VFIO_DEVICE_RESET, "DEVICE_RESET" },
		{ VFC_FILE_DEVICE, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, "DEVICE_GET_PCI_HOT_RESET_INFO" },
		{ VFC_FILE_DEVICE, VFIO_DEVICE_PCI_HOT_RESET, "DEVICE_PCI_HOT_RESET" },
		{ VFC_FILE_DEVICE, VFIO_DEVICE_QUERY_GFX_PLANE, "DEVICE_QUERY_GFX_PLANE" },
		{ VFC_FILE_DEVICE, VFIO_DEVICE_GET_GFX_DMABUF, "DEVICE_GET_GFX_DMABUF" },
		{ VFC_FILE_DEVICE, VFIO_DEVICE_IOEVENTFD, "DEVICE_IOEVENTFD" },
		{ VFC_FILE_DEVICE, VFIO_DEVICE_FEATURE, "DEVICE_FEATURE" },
	};

	for (size_t i = 0; i < VFC_ARRAY_SIZE(rows); i++) {
		const struct vfc_ioctl_desc *d = vfc_ioctl_desc(rows[i].kind, rows[i].cmd);

		assert_int_equal(d->cmd, rows[i].cmd);
		assert_string_equal(d->name, rows[i].name);
		assert_non_null(d->fn.container);
		/* A request that may nest does so by resolving caller fds. */
		if (d->flags & VFC_IOCTL_NESTS)
			assert_true(d->flags & VFC_IOCTL_CALLER);
		assert_true(d->max_retries <= 4);
	}
	/* Numbers shared across kinds (112 to 117) get each kind's row. */
	assert_string_equal(vfc_ioctl_desc(VFC_FILE_CONTAINER, VFIO_IOMMU_MAP_DMA)->name,
			    "IOMMU_MAP_DMA");
	assert_string_equal(vfc_ioctl_desc(VFC_FILE_DEVICE, VFIO_IOMMU_MAP_DMA)->name,
			    "DEVICE_PCI_HOT_RESET");
	/* Unknown numbers: the default row, never NULL. */
	for (int k = VFC_FILE_CONTAINER; k <= VFC_FILE_DEVICE; k++) {
		const struct vfc_ioctl_desc *d = vfc_ioctl_desc(k, 0x5401);

		assert_int_equal(d->cmd, 0);
		assert_string_equal(d->name, "unknown");
		assert_non_null(d->fn.container);
	}
	/* What the transports build on. */
	assert_true(vfc_ioctl_desc(VFC_FILE_GROUP, VFIO_GROUP_SET_CONTAINER)->flags & VFC_IOCTL_NESTS);
	/* SET_IRQS takes eventfds only: nothing of ours to close, no nesting. */
	assert_false(vfc_ioctl_desc(VFC_FILE_DEVICE, VFIO_DEVICE_SET_IRQS)->flags & VFC_IOCTL_NESTS);
	assert_true(vfc_ioctl_desc(VFC_FILE_DEVICE, VFIO_DEVICE_SET_IRQS)->flags & VFC_IOCTL_CALLER);
	assert_true(vfc_ioctl_desc(VFC_FILE_CONTAINER, VFIO_IOMMU_MAP_DMA)->flags & VFC_IOCTL_CALLER);
	assert_false(vfc_ioctl_desc(VFC_FILE_CONTAINER, VFIO_GET_API_VERSION)->flags);
	assert_true(vfc_ioctl_desc(VFC_FILE_DEVICE, VFIO_DEVICE_PCI_HOT_RESET)->flags & VFC_IOCTL_PCI);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_kinds, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_bind, fixture_setup, fixture_teardown),
		cmocka_unit_test(test_tables),
	};

	return cmocka_run_group_tests_name("file", tests, NULL, NULL);
}
