/* SPDX-License-Identifier: MIT */
/* Group files: open rules, GET_STATUS, SET/UNSET_CONTAINER, GET_DEVICE_FD. */
#include <sys/mman.h>

#include "test-util.h"

static void test_open(void **state)
{
	struct fixture *f = *state;
	int g = vfc_local_open_group(f->l, 26);

	assert_true(g >= 0);
	/* A group has a single opener. */
	assert_int_equal(vfc_local_open_group(f->l, 26), -EBUSY);
	assert_int_equal(vfc_local_open_group(f->l, 99), -ENODEV);
	assert_int_equal(vfc_local_close(f->l, g), 0);
	assert_int_equal(vfc_local_close(f->l, g), -EBADF);
	g = vfc_local_open_group(f->l, 26);
	assert_true(g >= 0);
	vfc_local_close(f->l, g);
}

static void test_get_status(void **state)
{
	struct fixture *f = *state;
	struct vfio_group_status st = { .argsz = sizeof(st), .flags = 0xff };
	int c, g = vfc_local_open_group(f->l, 26);

	assert_int_equal(IOCTL(f, g, VFIO_GROUP_GET_STATUS, &st), 0);
	assert_int_equal(st.flags, VFIO_GROUP_FLAGS_VIABLE);
	assert_int_equal(vfc_local_last_rounds(f->l), 1);
	/* argsz below minsz, even by one; larger is fine. */
	st.argsz = sizeof(st) - 1;
	assert_int_equal(IOCTL(f, g, VFIO_GROUP_GET_STATUS, &st), -EINVAL);
	st.argsz = 0;
	assert_int_equal(IOCTL(f, g, VFIO_GROUP_GET_STATUS, &st), -EINVAL);
	st.argsz = UINT32_MAX;
	assert_int_equal(IOCTL(f, g, VFIO_GROUP_GET_STATUS, &st), 0);
	assert_int_equal(st.argsz, UINT32_MAX);
	/* A bad pointer faults. */
	assert_int_equal(IOCTL(f, g, VFIO_GROUP_GET_STATUS, NULL), -EFAULT);

	c = vfc_local_open_container(f->l);
	assert_int_equal(IOCTL(f, g, VFIO_GROUP_SET_CONTAINER, &c), 0);
	st.argsz = sizeof(st);
	assert_int_equal(IOCTL(f, g, VFIO_GROUP_GET_STATUS, &st), 0);
	assert_int_equal(st.flags, VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET);

	/* Viability comes from the backend; an attached group stays VIABLE. */
	vfc_group_set_viable(f->g26, false);
	assert_int_equal(IOCTL(f, g, VFIO_GROUP_GET_STATUS, &st), 0);
	assert_int_equal(st.flags, VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET);
	assert_int_equal(IOCTL(f, g, VFIO_GROUP_UNSET_CONTAINER, 0), 0);
	assert_int_equal(IOCTL(f, g, VFIO_GROUP_GET_STATUS, &st), 0);
	assert_int_equal(st.flags, 0);
	/* A group that is not viable cannot join a container. */
	assert_int_equal(IOCTL(f, g, VFIO_GROUP_SET_CONTAINER, &c), -EPERM);
	vfc_group_set_viable(f->g26, true);
	assert_int_equal(IOCTL(f, g, VFIO_GROUP_SET_CONTAINER, &c), 0);
	vfc_local_close(f->l, g);
	vfc_local_close(f->l, c);
}

static void test_set_container_bad_fds(void **state)
{
	struct fixture *f = *state;
	int c = vfc_local_open_container(f->l);
	int g = vfc_local_open_group(f->l, 26), g27 = vfc_local_open_group(f->l, 27);
	int efd = eventfd(0, EFD_CLOEXEC), bad = -1, closed;

	closed = dup(efd);
	close(closed);
	/* Not open in the caller: EBADF. */
	assert_int_equal(IOCTL(f, g, VFIO_GROUP_SET_CONTAINER, &bad), -EBADF);
	assert_int_equal(IOCTL(f, g, VFIO_GROUP_SET_CONTAINER, &closed), -EBADF);
	/* Open but no container: EBADFD (6.1 said EINVAL; see docs/abi.md). */
	assert_int_equal(IOCTL(f, g, VFIO_GROUP_SET_CONTAINER, &efd), -EBADFD);
	/* A group fd where a container belongs, even the group's own. */
	assert_int_equal(IOCTL(f, g, VFIO_GROUP_SET_CONTAINER, &g27), -EBADFD);
	assert_int_equal(IOCTL(f, g, VFIO_GROUP_SET_CONTAINER, &g), -EBADFD);
	/* An argument the caller cannot read. */
	assert_int_equal(IOCTL(f, g, VFIO_GROUP_SET_CONTAINER, NULL), -EFAULT);
	assert_int_equal(f->iommu.attached, 0);

	assert_int_equal(IOCTL(f, g, VFIO_GROUP_SET_CONTAINER, &c), 0);
	/* Already in a container: EINVAL comes before the fd's kind. */
	assert_int_equal(IOCTL(f, g, VFIO_GROUP_SET_CONTAINER, &c), -EINVAL);
	assert_int_equal(IOCTL(f, g, VFIO_GROUP_SET_CONTAINER, &efd), -EINVAL);
	assert_int_equal(IOCTL(f, g, VFIO_GROUP_SET_CONTAINER, &bad), -EBADF);
	close(efd);
	vfc_local_close(f->l, g);
	vfc_local_close(f->l, g27);
	vfc_local_close(f->l, c);
}

static void test_set_container_iommu_refuses(void **state)
{
	struct fixture *f = *state;
	int c, g26, g27;

	fixture_attach(f, &c, &g26, VFIO_TYPE1v2_IOMMU);
	f->iommu.refuse_group = 27;
	g27 = vfc_local_open_group(f->l, 27);
	assert_int_equal(IOCTL(f, g27, VFIO_GROUP_SET_CONTAINER, &c), -EBUSY);
	struct vfio_group_status st = { .argsz = sizeof(st) };
	assert_int_equal(IOCTL(f, g27, VFIO_GROUP_GET_STATUS, &st), 0);
	assert_int_equal(st.flags, VFIO_GROUP_FLAGS_VIABLE);
	vfc_local_close(f->l, g27);
	vfc_local_close(f->l, g26);
	vfc_local_close(f->l, c);
}

static void test_unset_container(void **state)
{
	struct fixture *f = *state;
	int c, g, d;

	g = vfc_local_open_group(f->l, 26);
	assert_int_equal(IOCTL(f, g, VFIO_GROUP_UNSET_CONTAINER, 0), -EINVAL);
	vfc_local_close(f->l, g);

	d = fixture_device(f, &c, &g);
	/* An open device is a container user. */
	assert_int_equal(IOCTL(f, g, VFIO_GROUP_UNSET_CONTAINER, 0), -EBUSY);
	vfc_local_close(f->l, d);
	assert_int_equal(IOCTL(f, g, VFIO_GROUP_UNSET_CONTAINER, 0), 0);
	assert_int_equal(IOCTL(f, g, VFIO_GROUP_UNSET_CONTAINER, 0), -EINVAL);
	vfc_local_close(f->l, g);
	vfc_local_close(f->l, c);
}

static void test_get_device_fd_order(void **state)
{
	struct fixture *f = *state;
	int c, g;

	g = vfc_local_open_group(f->l, 26);
	/* No container: EINVAL. */
	assert_int_equal(IOCTL(f, g, VFIO_GROUP_GET_DEVICE_FD, DEV0), -EINVAL);
	c = vfc_local_open_container(f->l);
	assert_int_equal(IOCTL(f, g, VFIO_GROUP_SET_CONTAINER, &c), 0);
	/* Container without IOMMU: EINVAL. */
	assert_int_equal(IOCTL(f, g, VFIO_GROUP_GET_DEVICE_FD, DEV0), -EINVAL);
	assert_int_equal(f->dev[0].opens, 0);
	assert_int_equal(IOCTL(f, c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), 0);
	/* Name checks come first: unknown names are ENODEV even so. */
	assert_int_equal(IOCTL(f, g, VFIO_GROUP_GET_DEVICE_FD, "nope"), -ENODEV);
	vfc_local_close(f->l, g);
	vfc_local_close(f->l, c);
}

static void test_get_device_fd_names(void **state)
{
	struct fixture *f = *state;
	int c, g, d, d2;

	fixture_attach(f, &c, &g, VFIO_TYPE1v2_IOMMU);
	/* A device of another group, a prefix, a longer name, empty. */
	assert_int_equal(IOCTL(f, g, VFIO_GROUP_GET_DEVICE_FD, DEV2), -ENODEV);
	assert_int_equal(IOCTL(f, g, VFIO_GROUP_GET_DEVICE_FD, "0000:06:0d"), -ENODEV);
	assert_int_equal(IOCTL(f, g, VFIO_GROUP_GET_DEVICE_FD, DEV0 "0"), -ENODEV);
	assert_int_equal(IOCTL(f, g, VFIO_GROUP_GET_DEVICE_FD, ""), -ENODEV);
	/* vfio-pci options after a space: no PF/VF here, so refused. */
	assert_int_equal(IOCTL(f, g, VFIO_GROUP_GET_DEVICE_FD,
			       DEV0 " vf_token=2ab74924-c335-45f4-9b16-8569e5b08258"), -EINVAL);
	assert_int_equal(IOCTL(f, g, VFIO_GROUP_GET_DEVICE_FD, NULL), -EFAULT);
	assert_int_equal(f->dev[0].opens, 0);

	d = (int)IOCTL(f, g, VFIO_GROUP_GET_DEVICE_FD, DEV0);
	assert_true(d >= 0);
	assert_int_equal(vfc_local_last_rounds(f->l), 1);
	/* A device may be opened more than once; open_device runs once. */
	d2 = (int)IOCTL(f, g, VFIO_GROUP_GET_DEVICE_FD, DEV0);
	assert_true(d2 >= 0 && d2 != d);
	assert_int_equal(f->dev[0].opens, 1);
	vfc_local_close(f->l, d);
	assert_int_equal(f->dev[0].closes, 0);
	vfc_local_close(f->l, d2);
	assert_int_equal(f->dev[0].closes, 1);
	vfc_local_close(f->l, g);
	vfc_local_close(f->l, c);
}

/* The name is read like strndup_user(arg, PAGE_SIZE): up to its NUL. */
static void test_get_device_fd_page_rules(void **state)
{
	struct fixture *f = *state;
	long page = sysconf(_SC_PAGESIZE);
	char *mem = mmap(NULL, 3 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int c, g, d;

	assert_true(mem != MAP_FAILED);
	assert_int_equal(mprotect(mem + 2 * page, page, PROT_NONE), 0);
	fixture_attach(f, &c, &g, VFIO_TYPE1v2_IOMMU);

	/* A name ending right before an unreadable page works. */
	char *tail = mem + 2 * page - sizeof(DEV0);
	memcpy(tail, DEV0, sizeof(DEV0));
	d = (int)IOCTL(f, g, VFIO_GROUP_GET_DEVICE_FD, tail);
	assert_true(d >= 0);
	vfc_local_close(f->l, d);

	/* A name crossing into the next page is read in a second round. */
	char *cross = mem + page - 4;
	memcpy(cross, DEV0, sizeof(DEV0));
	d = (int)IOCTL(f, g, VFIO_GROUP_GET_DEVICE_FD, cross);
	assert_true(d >= 0);
	assert_int_equal(vfc_local_last_rounds(f->l), 2);
	vfc_local_close(f->l, d);

	/* No NUL within 4096 readable bytes: EINVAL. */
	memset(mem, 'a', 2 * page);
	assert_int_equal(IOCTL(f, g, VFIO_GROUP_GET_DEVICE_FD, mem), -EINVAL);
	assert_int_equal(IOCTL(f, g, VFIO_GROUP_GET_DEVICE_FD, mem + 100), -EINVAL);
	/* 4095 characters and a NUL is the longest name: no such device. */
	mem[4095] = '\0';
	assert_int_equal(IOCTL(f, g, VFIO_GROUP_GET_DEVICE_FD, mem), -ENODEV);
	/* Running into an unreadable page before any NUL: EFAULT. */
	assert_int_equal(IOCTL(f, g, VFIO_GROUP_GET_DEVICE_FD, mem + 2 * page - 10), -EFAULT);

	vfc_local_close(f->l, g);
	vfc_local_close(f->l, c);
	munmap(mem, 3 * page);
}

static void test_get_device_fd_open_fails(void **state)
{
	struct fixture *f = *state;
	int c, g;

	f->dev[0].fail_open = -EIO;
	fixture_attach(f, &c, &g, VFIO_TYPE1v2_IOMMU);
	assert_int_equal(IOCTL(f, g, VFIO_GROUP_GET_DEVICE_FD, DEV0), -EIO);
	/* Nothing is held: the container can be unset at once. */
	assert_int_equal(IOCTL(f, g, VFIO_GROUP_UNSET_CONTAINER, 0), 0);
	vfc_local_close(f->l, g);
	vfc_local_close(f->l, c);
	assert_int_equal(vfc_local_open_group(f->l, 26) >= 0, 1);
}

static void test_unknown_ioctls(void **state)
{
	struct fixture *f = *state;
	int g = vfc_local_open_group(f->l, 26);

	assert_int_equal(IOCTL(f, g, VFIO_GET_API_VERSION, 0), -ENOTTY);
	assert_int_equal(IOCTL(f, g, VFIO_DEVICE_GET_INFO, 0), -ENOTTY);
	assert_int_equal(IOCTL(f, g, 0x5401, 0), -ENOTTY);
	vfc_local_close(f->l, g);
}

static void test_registry(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(vfc_core_add_group(f->core, 26, NULL, NULL), -EEXIST);
	assert_int_equal(vfc_group_add_device(f->g27, DEV0, &vfc_fake_device_ops, &f->dev[0], NULL),
			 -EEXIST);
	assert_int_equal(vfc_group_add_device(f->g27, "", &vfc_fake_device_ops, &f->dev[0], NULL),
			 -EINVAL);
	assert_ptr_equal(vfc_core_find_group(f->core, 27), f->g27);
	assert_null(vfc_core_find_group(f->core, 28));
	assert_ptr_equal(vfc_core_next_group(f->core, NULL), f->g26);
	assert_ptr_equal(vfc_core_next_group(f->core, f->g26), f->g27);
	assert_null(vfc_core_next_group(f->core, f->g27));
	assert_int_equal(vfc_group_id(f->g27), 27);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_get_status, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_set_container_bad_fds, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_set_container_iommu_refuses, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_unset_container, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_get_device_fd_order, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_get_device_fd_names, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_get_device_fd_page_rules, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_get_device_fd_open_fails, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_unknown_ioctls, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_registry, fixture_setup, fixture_teardown),
	};
	return cmocka_run_group_tests_name("group", tests, NULL, NULL);
}
