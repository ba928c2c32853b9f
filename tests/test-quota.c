/* SPDX-License-Identifier: MIT */
/*
 * Tests of the daemon's per-client limits (cuse/quota.c): each limit is
 * hit with its errno, a release frees, the process's and the uid's counts
 * are separate, and a full table answers ENFILE without changing a count.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "quota.h"

static const struct vfc_quota_cfg small = {
	.files_per_process = 4, .files_per_uid = 6,
	.containers_per_process = 2, .containers_per_uid = 3,
};

static void test_process_limit(void **state)
{
	struct vfc_quota l;
	struct vfc_quota_charge c[5];

	assert_int_equal(vfc_quota_init(&l, &small, 16), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(vfc_quota_charge(&l, 1000, 10, false, &c[i]), 0);
	assert_int_equal(vfc_quota_charge(&l, 1000, 10, false, &c[4]), -EMFILE);
	assert_int_equal(vfc_quota_count(&l, false, 10, false), 4);
	assert_int_equal(vfc_quota_count(&l, true, 1000, false), 4);
	/* A release frees one; a second uncharge of it changes nothing. */
	vfc_quota_uncharge(&l, &c[0]);
	vfc_quota_uncharge(&l, &c[0]);
	assert_int_equal(vfc_quota_count(&l, false, 10, false), 3);
	assert_int_equal(vfc_quota_charge(&l, 1000, 10, false, &c[0]), 0);
	for (int i = 0; i < 4; i++)
		vfc_quota_uncharge(&l, &c[i]);
	assert_int_equal(vfc_quota_count(&l, false, 10, false), 0);
	assert_int_equal(vfc_quota_count(&l, true, 1000, false), 0);
	vfc_quota_fini(&l);
}

static void test_uid_limit(void **state)
{
	struct vfc_quota l;
	struct vfc_quota_charge a[4], b[3], other[4];

	assert_int_equal(vfc_quota_init(&l, &small, 16), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(vfc_quota_charge(&l, 1000, 10, false, &a[i]), 0);
	/* A second process of the same uid: the uid's 6 are the limit. */
	for (int i = 0; i < 2; i++)
		assert_int_equal(vfc_quota_charge(&l, 1000, 11, false, &b[i]), 0);
	assert_int_equal(vfc_quota_charge(&l, 1000, 11, false, &b[2]), -EMFILE);
	assert_int_equal(vfc_quota_count(&l, false, 11, false), 2);
	/* Another uid is unaffected. */
	for (int i = 0; i < 4; i++)
		assert_int_equal(vfc_quota_charge(&l, 1001, 12, false, &other[i]), 0);
	/* The first process closing one frees the uid's share for the second. */
	vfc_quota_uncharge(&l, &a[3]);
	assert_int_equal(vfc_quota_charge(&l, 1000, 11, false, &b[2]), 0);
	for (int i = 0; i < 3; i++)
		vfc_quota_uncharge(&l, &a[i]);
	for (int i = 0; i < 3; i++)
		vfc_quota_uncharge(&l, &b[i]);
	for (int i = 0; i < 4; i++)
		vfc_quota_uncharge(&l, &other[i]);
	for (size_t i = 0; i < l.n_slots; i++)
		assert_int_equal(l.slot[i].files, 0);
	vfc_quota_fini(&l);
}

static void test_containers(void **state)
{
	struct vfc_quota l;
	struct vfc_quota_charge c[3], d[2], f;

	assert_int_equal(vfc_quota_init(&l, &small, 16), 0);
	assert_int_equal(vfc_quota_charge(&l, 1000, 10, true, &c[0]), 0);
	assert_int_equal(vfc_quota_charge(&l, 1000, 10, true, &c[1]), 0);
	assert_int_equal(vfc_quota_charge(&l, 1000, 10, true, &c[2]), -ENOMEM);
	/* Other files still open in the process. */
	assert_int_equal(vfc_quota_charge(&l, 1000, 10, false, &f), 0);
	/* The uid's 3 containers: one left for another process. */
	assert_int_equal(vfc_quota_charge(&l, 1000, 11, true, &d[0]), 0);
	assert_int_equal(vfc_quota_charge(&l, 1000, 11, true, &d[1]), -ENOMEM);
	assert_int_equal(vfc_quota_count(&l, true, 1000, true), 3);
	vfc_quota_uncharge(&l, &c[0]);
	assert_int_equal(vfc_quota_count(&l, true, 1000, true), 2);
	assert_int_equal(vfc_quota_charge(&l, 1000, 11, true, &d[1]), 0);
	vfc_quota_uncharge(&l, &c[1]);
	vfc_quota_uncharge(&l, &f);
	vfc_quota_uncharge(&l, &d[0]);
	vfc_quota_uncharge(&l, &d[1]);
	assert_int_equal(vfc_quota_count(&l, true, 1000, false), 0);
	vfc_quota_fini(&l);
}

/* A caller whose process is not known is charged to its uid only. */
static void test_unknown_process(void **state)
{
	struct vfc_quota l;
	struct vfc_quota_charge c[7];

	assert_int_equal(vfc_quota_init(&l, &small, 16), 0);
	for (int i = 0; i < 6; i++)
		assert_int_equal(vfc_quota_charge(&l, 1000, 0, false, &c[i]), 0);
	assert_int_equal(vfc_quota_charge(&l, 1000, -1, false, &c[6]), -EMFILE);
	assert_int_equal(vfc_quota_count(&l, false, 0, false), 0);
	for (int i = 0; i < 6; i++)
		vfc_quota_uncharge(&l, &c[i]);
	vfc_quota_fini(&l);
}

/* A full table refuses new processes and uids with ENFILE, and keeps
 * serving those it has. */
static void test_table_full(void **state)
{
	struct vfc_quota l;
	struct vfc_quota_charge c[3], x, y;

	assert_int_equal(vfc_quota_init(&l, &small, 3), 0);
	assert_int_equal(vfc_quota_charge(&l, 1000, 10, false, &c[0]), 0);	/* 2 slots */
	/* A new uid and process need 2: only 1 left. */
	assert_int_equal(vfc_quota_charge(&l, 1001, 20, false, &x), -ENFILE);
	assert_int_equal(vfc_quota_count(&l, true, 1001, false), 0);
	/* A new process of a known uid needs 1. */
	assert_int_equal(vfc_quota_charge(&l, 1000, 11, false, &c[1]), 0);
	assert_int_equal(vfc_quota_charge(&l, 1000, 12, false, &x), -ENFILE);
	assert_int_equal(vfc_quota_count(&l, true, 1000, false), 2);
	/* Known ones go on. */
	assert_int_equal(vfc_quota_charge(&l, 1000, 10, false, &c[2]), 0);
	/* Freeing a process frees its slot. */
	vfc_quota_uncharge(&l, &c[1]);
	assert_int_equal(vfc_quota_charge(&l, 1000, 12, false, &y), 0);
	vfc_quota_uncharge(&l, &y);
	vfc_quota_uncharge(&l, &c[0]);
	vfc_quota_uncharge(&l, &c[2]);
	for (size_t i = 0; i < l.n_slots; i++)
		assert_int_equal(l.slot[i].files, 0);
	vfc_quota_fini(&l);
}

/* The charge follows the file: a pid reused while an older file of that
 * pid lives on shares its count, and a release gives back exactly what its
 * open took, never more. */
static void test_charge_follows_file(void **state)
{
	struct vfc_quota l;
	struct vfc_quota_charge old, new;

	assert_int_equal(vfc_quota_init(&l, &small, 16), 0);
	assert_int_equal(vfc_quota_charge(&l, 1000, 10, true, &old), 0);
	/* pid 10 is now another process of uid 1001. */
	assert_int_equal(vfc_quota_charge(&l, 1001, 10, false, &new), 0);
	vfc_quota_uncharge(&l, &new);
	assert_int_equal(vfc_quota_count(&l, false, 10, false), 1);
	assert_int_equal(vfc_quota_count(&l, false, 10, true), 1);
	assert_int_equal(vfc_quota_count(&l, true, 1000, false), 1);
	vfc_quota_uncharge(&l, &old);
	assert_int_equal(vfc_quota_count(&l, false, 10, false), 0);
	vfc_quota_fini(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_process_limit),
		cmocka_unit_test(test_uid_limit),
		cmocka_unit_test(test_containers),
		cmocka_unit_test(test_unknown_process),
		cmocka_unit_test(test_table_full),
		cmocka_unit_test(test_charge_follows_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
