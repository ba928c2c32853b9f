/* SPDX-License-Identifier: MIT */
/*
 * Object lifetimes: container, group and device files closed in every
 * order; a device fd keeps its group and container (and IOMMU) alive and
 * working; the group cannot be reopened until its devices close.
 */
#include "test-util.h"

enum { CONTAINER, GROUP, DEVICE };

static void check_device_works(struct fixture *f, int d)
{
	struct vfio_device_info info = { .argsz = sizeof(info) };
	uint16_t vendor = 0;
	char buf[4] = "abc";

	assert_int_equal(IOCTL(f, d, VFIO_DEVICE_GET_INFO, &info), 0);
	assert_int_equal(vfc_local_pread(f->l, d, &vendor, 2, 7ull << 40), 2);
	assert_int_equal(vendor, 0x1234);
	assert_int_equal(vfc_device_dma_rw(f->dev[0].dev, 0, buf, sizeof(buf), true), 0);
}

static void run_order(struct fixture *f, const int order[3])
{
	int fds[3];

	fds[DEVICE] = fixture_device(f, &fds[CONTAINER], &fds[GROUP]);
	for (int i = 0; i < 3; i++) {
		int kind = order[i];

		assert_int_equal(vfc_local_close(f->l, fds[kind]), 0);
		fds[kind] = -1;
		if (fds[DEVICE] >= 0) {
			/* The device still works and holds the IOMMU. */
			check_device_works(f, fds[DEVICE]);
			assert_int_equal(f->iommu.released, f->iommu.opened - 1);
			/* The group stays taken while its device is open. */
			assert_int_equal(vfc_local_open_group(f->l, 26), -EBUSY);
		}
	}
	/* All gone: IOMMU released, device closed, group free again. */
	assert_int_equal(f->iommu.released, f->iommu.opened);
	assert_int_equal(f->dev[0].opens, f->dev[0].closes);
	int g = vfc_local_open_group(f->l, 26);
	assert_true(g >= 0);
	vfc_local_close(f->l, g);
}

static void test_all_close_orders(void **state)
{
	static const int orders[6][3] = {
		{ CONTAINER, GROUP, DEVICE }, { CONTAINER, DEVICE, GROUP },
		{ GROUP, CONTAINER, DEVICE }, { GROUP, DEVICE, CONTAINER },
		{ DEVICE, CONTAINER, GROUP }, { DEVICE, GROUP, CONTAINER },
	};
	struct fixture *f = *state;

	for (int i = 0; i < 6; i++)
		run_order(f, orders[i]);
	assert_int_equal(f->iommu.opened, 6);
}

static void test_container_freed_last(void **state)
{
	struct fixture *f = *state;
	struct vfc_container *c;
	int cfd, gfd, dfd;
	unsigned long id;

	dfd = fixture_device(f, &cfd, &gfd);
	/* Find our container's id through a fresh one: ids grow by one. */
	assert_int_equal(vfc_container_open(f->core, &c), 0);
	id = vfc_container_id(c) - 1;
	vfc_container_unref(c);
	c = vfc_core_find_container(f->core, id);
	assert_non_null(c);
	vfc_container_unref(c);

	vfc_local_close(f->l, cfd);
	vfc_local_close(f->l, gfd);
	/* Held by the group, which the device holds. */
	c = vfc_core_find_container(f->core, id);
	assert_non_null(c);
	vfc_container_unref(c);
	vfc_local_close(f->l, dfd);
	assert_null(vfc_core_find_container(f->core, id));
}

static void test_dup_shares_file(void **state)
{
	struct fixture *f = *state;
	int c, g, d, d2;

	d = fixture_device(f, &c, &g);
	d2 = vfc_local_dup(f->l, d);
	assert_true(d2 >= 0);
	vfc_local_close(f->l, d);
	check_device_works(f, d2);
	assert_int_equal(f->dev[0].closes, 0);
	vfc_local_close(f->l, d2);
	assert_int_equal(f->dev[0].closes, 1);
	vfc_local_close(f->l, g);
	vfc_local_close(f->l, c);
}

static void test_two_devices_one_group(void **state)
{
	struct fixture *f = *state;
	int c, g, d0, d1;

	d0 = fixture_device(f, &c, &g);
	d1 = (int)IOCTL(f, g, VFIO_GROUP_GET_DEVICE_FD, DEV1);
	assert_true(d1 >= 0);
	vfc_local_close(f->l, g);
	vfc_local_close(f->l, c);
	vfc_local_close(f->l, d0);
	/* One device left: still no reopen, IOMMU still there. */
	assert_int_equal(vfc_local_open_group(f->l, 26), -EBUSY);
	assert_int_equal(f->iommu.released, 0);
	vfc_local_close(f->l, d1);
	assert_int_equal(f->iommu.released, 1);
	g = vfc_local_open_group(f->l, 26);
	assert_true(g >= 0);
	vfc_local_close(f->l, g);
}

static void test_two_groups_one_container(void **state)
{
	struct fixture *f = *state;
	int c, g26, g27, d2;

	fixture_attach(f, &c, &g26, 0);
	g27 = vfc_local_open_group(f->l, 27);
	assert_int_equal(IOCTL(f, g27, VFIO_GROUP_SET_CONTAINER, &c), 0);
	assert_int_equal(IOCTL(f, c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), 0);
	d2 = (int)IOCTL(f, g27, VFIO_GROUP_GET_DEVICE_FD, DEV2);
	assert_true(d2 >= 0);
	/* Closing group 26 detaches it; 27 keeps the IOMMU. */
	vfc_local_close(f->l, g26);
	assert_int_equal(f->iommu.detached, 1);
	assert_int_equal(f->iommu.released, 0);
	vfc_local_close(f->l, c);
	vfc_local_close(f->l, g27);
	assert_int_equal(f->iommu.released, 0);
	vfc_local_close(f->l, d2);
	assert_int_equal(f->iommu.released, 1);
}

/* A client that simply goes away: everything it held is released. */
static void test_client_vanishes(void **state)
{
	struct fixture *f = *state;
	struct vfc_local *other;
	int c, g, d, efd = eventfd(0, EFD_CLOEXEC);

	assert_int_equal(vfc_local_new(f->core, &other), 0);
	c = vfc_local_open_container(other);
	g = vfc_local_open_group(other, 26);
	assert_int_equal(vfc_local_ioctl(other, g, VFIO_GROUP_SET_CONTAINER, (unsigned long)&c), 0);
	assert_int_equal(vfc_local_ioctl(other, c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), 0);
	d = (int)vfc_local_ioctl(other, g, VFIO_GROUP_GET_DEVICE_FD, (unsigned long)DEV0);
	assert_true(d >= 0);
	struct { struct vfio_irq_set h; int32_t fd; } s = {
		{ sizeof(s), VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, 1, 0, 1 }, efd
	};
	assert_int_equal(vfc_local_ioctl(other, d, VFIO_DEVICE_SET_IRQS, (unsigned long)&s), 0);
	assert_int_equal(vfc_local_open_group(f->l, 26), -EBUSY);
	vfc_local_free(other);	/* the transport closes all its files */
	assert_int_equal(f->dev[0].msi_fds[0], -1);
	g = vfc_local_open_group(f->l, 26);
	assert_true(g >= 0);
	vfc_local_close(f->l, g);
	close(efd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_all_close_orders, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_container_freed_last, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_dup_shares_file, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_two_devices_one_group, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_two_groups_one_container, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_client_vanishes, fixture_setup, fixture_teardown),
	};
	return cmocka_run_group_tests_name("lifetime", tests, NULL, NULL);
}
