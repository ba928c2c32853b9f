/* SPDX-License-Identifier: MIT */
/* Container ioctls: API version, extensions, SET_IOMMU, passthrough. */
#include "test-util.h"

static void test_api_version(void **state)
{
	struct fixture *f = *state;
	int c = vfc_local_open_container(f->l);

	assert_true(c >= 0);
	assert_int_equal(IOCTL(f, c, VFIO_GET_API_VERSION, 0), VFIO_API_VERSION);
	/* The argument is ignored, even a wild pointer. */
	assert_int_equal(IOCTL(f, c, VFIO_GET_API_VERSION, 0xdead), 0);
	assert_int_equal(vfc_local_close(f->l, c), 0);
}

static void test_check_extension(void **state)
{
	struct fixture *f = *state;
	int c = vfc_local_open_container(f->l), g;

	/* Exactly 1 for supported types (rust-vmm rejects anything else). */
	assert_int_equal(IOCTL(f, c, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU), 1);
	assert_int_equal(IOCTL(f, c, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU), 1);
	assert_int_equal(IOCTL(f, c, VFIO_CHECK_EXTENSION, VFIO_NOIOMMU_IOMMU), 0);
	assert_int_equal(IOCTL(f, c, VFIO_CHECK_EXTENSION, VFIO_SPAPR_TCE_IOMMU), 0);
	assert_int_equal(IOCTL(f, c, VFIO_CHECK_EXTENSION, 12345), 0);
	assert_int_equal(IOCTL(f, c, VFIO_CHECK_EXTENSION, ~0ul), 0);
	/* Once set, only the container's driver answers. */
	g = vfc_local_open_group(f->l, 26);
	assert_int_equal(IOCTL(f, g, VFIO_GROUP_SET_CONTAINER, &c), 0);
	assert_int_equal(IOCTL(f, c, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU), 0);
	assert_int_equal(IOCTL(f, c, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU), 1);
	assert_int_equal(IOCTL(f, c, VFIO_CHECK_EXTENSION, VFIO_NOIOMMU_IOMMU), 0);
	vfc_local_close(f->l, g);
	vfc_local_close(f->l, c);
}

static void test_set_iommu_needs_group(void **state)
{
	struct fixture *f = *state;
	int c = vfc_local_open_container(f->l);
	unsigned long before = vfc_log_count(LOG_INFO);

	assert_int_equal(IOCTL(f, c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), -EINVAL);
	assert_true(vfc_log_count(LOG_INFO) > before);
	assert_int_equal(f->iommu.opened, 0);
	vfc_local_close(f->l, c);
}

static void test_set_iommu_errors(void **state)
{
	struct fixture *f = *state;
	int c, g;

	fixture_attach(f, &c, &g, 0);
	/* No driver supports these types. */
	assert_int_equal(IOCTL(f, c, VFIO_SET_IOMMU, VFIO_NOIOMMU_IOMMU), -ENODEV);
	assert_int_equal(IOCTL(f, c, VFIO_SET_IOMMU, VFIO_SPAPR_TCE_IOMMU), -ENODEV);
	assert_int_equal(IOCTL(f, c, VFIO_SET_IOMMU, 0), -ENODEV);
	/* An extension that is no IOMMU type: the driver's open says EINVAL. */
	assert_int_equal(IOCTL(f, c, VFIO_SET_IOMMU, VFIO_UNMAP_ALL), -EINVAL);
	assert_int_equal(f->iommu.opened, 0);
	assert_int_equal(IOCTL(f, c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), 0);
	assert_int_equal(f->iommu.opened, 1);
	assert_int_equal(f->iommu.attached, 1);
	/* A second SET_IOMMU fails, whatever the type. */
	assert_int_equal(IOCTL(f, c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), -EINVAL);
	assert_int_equal(IOCTL(f, c, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU), -EINVAL);
	assert_int_equal(f->iommu.opened, 1);
	vfc_local_close(f->l, g);
	assert_int_equal(f->iommu.released, 1);
	vfc_local_close(f->l, c);
}

static void test_set_iommu_attach_refused(void **state)
{
	struct fixture *f = *state;
	int c, g;

	f->iommu.refuse_group = 26;
	fixture_attach(f, &c, &g, 0);
	/* The driver refuses every group: its IOMMU is released, none is set. */
	assert_int_equal(IOCTL(f, c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), -EBUSY);
	assert_int_equal(f->iommu.opened, 1);
	assert_int_equal(f->iommu.released, 1);
	assert_int_equal(IOCTL(f, c, VFIO_IOMMU_GET_INFO, NULL), -EINVAL);
	vfc_local_close(f->l, g);
	vfc_local_close(f->l, c);
}

static void test_passthrough(void **state)
{
	struct fixture *f = *state;
	struct vfio_iommu_type1_info info = { .argsz = sizeof(info) };
	int c, g;

	c = vfc_local_open_container(f->l);
	/* Without an IOMMU the kernel answers EINVAL to anything else. */
	assert_int_equal(IOCTL(f, c, VFIO_IOMMU_GET_INFO, &info), -EINVAL);
	assert_int_equal(IOCTL(f, c, VFIO_IOMMU_MAP_DMA, &info), -EINVAL);
	assert_int_equal(IOCTL(f, c, 0x5401, &info), -EINVAL);
	vfc_local_close(f->l, c);

	fixture_attach(f, &c, &g, VFIO_TYPE1v2_IOMMU);
	/* With one, the driver answers; its unknowns are ENOTTY. */
	assert_int_equal(IOCTL(f, c, 0x5401, &info), -ENOTTY);
	assert_int_equal(IOCTL(f, c, VFIO_IOMMU_GET_INFO, &info), 0);
	/* argsz 24 has no room for the cap: CAPS set, argsz raised, offset 0. */
	assert_int_equal(info.flags, VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS);
	assert_int_equal(info.argsz, sizeof(info) + 16);
	assert_int_equal(info.cap_offset, 0);
	assert_int_equal(info.iova_pgsizes, 4096);
	vfc_local_close(f->l, g);
	vfc_local_close(f->l, c);
}

static void test_iommu_goes_with_last_group(void **state)
{
	struct fixture *f = *state;
	int c, g26, g27;

	fixture_attach(f, &c, &g26, 0);
	g27 = vfc_local_open_group(f->l, 27);
	assert_int_equal(IOCTL(f, g27, VFIO_GROUP_SET_CONTAINER, &c), 0);
	assert_int_equal(IOCTL(f, c, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU), 0);
	assert_int_equal(f->iommu.attached, 2);
	/* A group joining a container with an IOMMU is attached at once. */
	assert_int_equal(IOCTL(f, g26, VFIO_GROUP_UNSET_CONTAINER, 0), 0);
	assert_int_equal(f->iommu.detached, 1);
	assert_int_equal(IOCTL(f, g26, VFIO_GROUP_SET_CONTAINER, &c), 0);
	assert_int_equal(f->iommu.attached, 3);
	assert_int_equal(IOCTL(f, g26, VFIO_GROUP_UNSET_CONTAINER, 0), 0);
	assert_int_equal(f->iommu.released, 0);
	assert_int_equal(IOCTL(f, g27, VFIO_GROUP_UNSET_CONTAINER, 0), 0);
	/* The last group left: the container is deprivileged. */
	assert_int_equal(f->iommu.released, 1);
	assert_int_equal(IOCTL(f, c, VFIO_IOMMU_GET_INFO, NULL), -EINVAL);
	assert_int_equal(IOCTL(f, c, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU), 1);
	/* ... and can be set up again. */
	assert_int_equal(IOCTL(f, g27, VFIO_GROUP_SET_CONTAINER, &c), 0);
	assert_int_equal(IOCTL(f, c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), 0);
	vfc_local_close(f->l, c);
	vfc_local_close(f->l, g26);
	vfc_local_close(f->l, g27);
}

/* A group bound to one IOMMU driver: only that one serves it. */
static void test_iommu_affinity(void **state)
{
	struct fixture *f = *state;
	static struct vfc_iommu_ops other_ops;
	struct vfc_fake_iommu *other = calloc(1, sizeof(*other));
	int c, g26, g27;

	other_ops = vfc_fake_iommu_ops;
	other_ops.name = "other";
	assert_int_equal(vfc_core_add_iommu_driver(f->core, &other_ops, other), 0);
	vfc_group_set_iommu_ops(f->g27, &other_ops);

	/* Groups of different drivers cannot share a container. */
	fixture_attach(f, &c, &g26, 0);
	g27 = vfc_local_open_group(f->l, 27);
	assert_int_equal(IOCTL(f, g27, VFIO_GROUP_SET_CONTAINER, &c), -EPERM);
	vfc_local_close(f->l, g26);

	/* Alone, group 27 gets the other driver, though the fake comes first. */
	assert_int_equal(IOCTL(f, g27, VFIO_GROUP_SET_CONTAINER, &c), 0);
	other->refuse_group = 0;
	assert_int_equal(IOCTL(f, c, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU), 1);
	assert_int_equal(IOCTL(f, c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), 0);
	assert_int_equal(other->opened, 1);
	assert_int_equal(f->iommu.opened, 0);
	/* A group of any driver cannot join a container of the other. */
	g26 = vfc_local_open_group(f->l, 26);
	assert_int_equal(IOCTL(f, g26, VFIO_GROUP_SET_CONTAINER, &c), -EPERM);
	vfc_local_close(f->l, g26);
	vfc_local_close(f->l, g27);
	vfc_local_close(f->l, c);
	assert_int_equal(other->released, 1);
	free(other);
}

static void test_find_container(void **state)
{
	struct fixture *f = *state;
	struct vfc_container *c, *found;

	assert_int_equal(vfc_container_open(f->core, &c), 0);
	found = vfc_core_find_container(f->core, vfc_container_id(c));
	assert_ptr_equal(found, c);
	vfc_container_unref(found);
	unsigned long id = vfc_container_id(c);
	assert_null(vfc_container_unref(c));
	assert_null(vfc_core_find_container(f->core, id));
	assert_null(vfc_container_unref(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_api_version, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_check_extension, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_set_iommu_needs_group, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_set_iommu_errors, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_set_iommu_attach_refused, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_passthrough, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_iommu_goes_with_last_group, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_iommu_affinity, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_find_container, fixture_setup, fixture_teardown),
	};
	return cmocka_run_group_tests_name("container", tests, NULL, NULL);
}
