/* SPDX-License-Identifier: MIT */
/*
 * Shared fixture for the core's tests: a core with the fake IOMMU driver,
 * group 26 holding two fake devices and group 27 holding one, and an
 * in-process transport to drive it like a client would.
 */
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <cmocka.h>

#include "fake.h"
#include "vfc-core.h"
#include "vfc-local.h"
#include "vfc-log.h"

#define DEV0 "0000:06:0d.0"
#define DEV1 "0000:06:0d.1"
#define DEV2 "0000:07:00.0"

struct fixture {
	struct vfc_core *core;
	struct vfc_fake_iommu iommu;
	struct vfc_fake_device dev[3];
	struct vfc_group *g26, *g27;
	struct vfc_local *l;
};

static inline int fixture_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	vfc_log_set_max_level(getenv("VFC_TEST_VERBOSE") ? LOG_DEBUG : LOG_WARNING);
	assert_non_null(f);
	assert_int_equal(vfc_core_new(&f->core), 0);
	assert_int_equal(vfc_core_add_iommu_driver(f->core, &vfc_fake_iommu_ops, &f->iommu), 0);
	assert_int_equal(vfc_core_add_group(f->core, 26, NULL, &f->g26), 0);
	assert_int_equal(vfc_core_add_group(f->core, 27, NULL, &f->g27), 0);
	for (int i = 0; i < 3; i++)
		vfc_fake_device_init(&f->dev[i], 0x1234, 0x11e8 + i);
	assert_int_equal(vfc_group_add_device(f->g26, DEV0, &vfc_fake_device_ops, &f->dev[0], NULL), 0);
	assert_int_equal(vfc_group_add_device(f->g26, DEV1, &vfc_fake_device_ops, &f->dev[1], NULL), 0);
	assert_int_equal(vfc_group_add_device(f->g27, DEV2, &vfc_fake_device_ops, &f->dev[2], NULL), 0);
	assert_int_equal(vfc_local_new(f->core, &f->l), 0);
	*state = f;
	return 0;
}

static inline int fixture_teardown(void **state)
{
	struct fixture *f = *state;

	vfc_local_free(f->l);
	/* Every open must have been undone: the IOMMU gone, devices closed. */
	assert_int_equal(f->iommu.opened, f->iommu.released);
	assert_int_equal(f->iommu.attached, f->iommu.detached);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(f->dev[i].opens, f->dev[i].closes);
		vfc_fake_device_fini(&f->dev[i]);
	}
	vfc_core_free(f->core);
	free(f);
	return 0;
}

#define IOCTL(f, fd, cmd, arg) vfc_local_ioctl((f)->l, (fd), (cmd), (unsigned long)(arg))

/* container + group 26 + SET_CONTAINER + SET_IOMMU(type) */
static inline void fixture_attach(struct fixture *f, int *container, int *group, int type)
{
	*container = vfc_local_open_container(f->l);
	assert_true(*container >= 0);
	*group = vfc_local_open_group(f->l, 26);
	assert_true(*group >= 0);
	assert_int_equal(IOCTL(f, *group, VFIO_GROUP_SET_CONTAINER, container), 0);
	if (type)
		assert_int_equal(IOCTL(f, *container, VFIO_SET_IOMMU, type), 0);
}

/* ... and GET_DEVICE_FD(DEV0). */
static inline int fixture_device(struct fixture *f, int *container, int *group)
{
	int dev;

	fixture_attach(f, container, group, VFIO_TYPE1v2_IOMMU);
	dev = (int)IOCTL(f, *group, VFIO_GROUP_GET_DEVICE_FD, DEV0);
	assert_true(dev >= 0);
	return dev;
}
