/* SPDX-License-Identifier: MIT */
/*
 * Tests of the daemon's per-client limits (cuse/quota.c): each limit is
 * hit with its errno, a release frees, the process's and the uid's counts
 * are separate, a full table answers ENFILE to a new uid without changing a
 * count, a pid reused by another uid starts afresh, and one uid's many
 * processes cannot fill the table.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
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

/* A full table refuses new uids with ENFILE, counts a new process to its
 * uid alone when no entry is left for it, and keeps serving those it has. */
static void test_table_full(void **state)
{
	struct vfc_quota l;
	struct vfc_quota_charge c[3], x, y;

	assert_int_equal(vfc_quota_init(&l, &small, 3), 0);
	assert_int_equal(vfc_quota_charge(&l, 1000, 10, false, &c[0]), 0);	/* 2 slots */
	/* A new uid takes the last entry; its process is counted to it alone. */
	assert_int_equal(vfc_quota_charge(&l, 1001, 20, false, &c[1]), 0);
	assert_int_equal(c[1].tgid, 0);
	assert_int_equal(vfc_quota_count(&l, false, 20, false), 0);
	assert_int_equal(vfc_quota_count(&l, true, 1001, false), 1);
	/* Another uid finds none. */
	assert_int_equal(vfc_quota_charge(&l, 1002, 30, false, &x), -ENFILE);
	assert_int_equal(vfc_quota_count(&l, true, 1002, false), 0);
	/* A new process of a known uid goes to its uid alone. */
	assert_int_equal(vfc_quota_charge(&l, 1000, 12, false, &x), 0);
	assert_int_equal(x.tgid, 0);
	assert_int_equal(vfc_quota_count(&l, true, 1000, false), 2);
	vfc_quota_uncharge(&l, &x);
	assert_int_equal(vfc_quota_count(&l, true, 1000, false), 1);
	/* Known ones go on. */
	assert_int_equal(vfc_quota_charge(&l, 1000, 10, false, &c[2]), 0);
	assert_int_equal(vfc_quota_count(&l, false, 10, false), 2);
	/* Freeing a uid frees its entry. */
	vfc_quota_uncharge(&l, &c[1]);
	assert_int_equal(vfc_quota_charge(&l, 1002, 30, false, &y), 0);
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

/* A pid reused by another uid's process is another process: it is not
 * charged with what the first one's files still hold. */
static void test_pid_reused_by_other_uid(void **state)
{
	struct vfc_quota l;
	struct vfc_quota_charge c[4], x;

	assert_int_equal(vfc_quota_init(&l, &small, 16), 0);
	/* pid 777 of uid 1000 reaches its process limit (4; uid limit 6), then
	 * exits while its files live on in a child. */
	for (int i = 0; i < 4; i++)
		assert_int_equal(vfc_quota_charge(&l, 1000, 777, false, &c[i]), 0);
	assert_int_equal(vfc_quota_charge(&l, 1000, 777, false, &x), -EMFILE);
	/* pid 777 is now a process of uid 2000: a fresh count. */
	assert_int_equal(vfc_quota_charge(&l, 2000, 777, false, &x), 0);
	assert_int_equal(vfc_quota_count(&l, true, 2000, false), 1);
	vfc_quota_uncharge(&l, &x);
	for (int i = 0; i < 4; i++)
		vfc_quota_uncharge(&l, &c[i]);
	for (size_t i = 0; i < l.n_slots; i++)
		assert_int_equal(l.slot[i].files, 0);
	vfc_quota_fini(&l);
}

/* One uid with many processes takes at most VFC_QUOTA_PROCS_PER_UID
 * entries, so other uids still find room, root included. */
static void test_one_uid_cannot_fill_the_table(void **state)
{
	const struct vfc_quota_cfg big = { 1000, 100000, 1000, 100000 };
	enum { N = 4 * VFC_QUOTA_PROCS_PER_UID };
	struct vfc_quota_charge *c = calloc(N, sizeof(*c)), r0, r1;
	struct vfc_quota l;
	unsigned int procs = 0;

	assert_non_null(c);
	assert_int_equal(vfc_quota_init(&l, &big, VFC_QUOTA_PROCS_PER_UID + 8), 0);
	for (int i = 0; i < N; i++) {
		assert_int_equal(vfc_quota_charge(&l, 1000, 100 + i, false, &c[i]), 0);
		procs += c[i].tgid != 0;
	}
	assert_int_equal(procs, VFC_QUOTA_PROCS_PER_UID);
	assert_int_equal(vfc_quota_count(&l, true, 1000, false), N);
	assert_int_equal(vfc_quota_charge(&l, 0, 1, false, &r0), 0);
	assert_int_equal(r0.tgid, 1);	/* root's process has its own entry */
	assert_int_equal(vfc_quota_charge(&l, 1001, 2, false, &r1), 0);
	vfc_quota_uncharge(&l, &r0);
	vfc_quota_uncharge(&l, &r1);
	for (int i = 0; i < N; i++)
		vfc_quota_uncharge(&l, &c[i]);
	for (size_t i = 0; i < l.n_slots; i++)
		assert_int_equal(l.slot[i].files, 0);
	vfc_quota_fini(&l);
	free(c);
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
		cmocka_unit_test(test_pid_reused_by_other_uid),
		cmocka_unit_test(test_one_uid_cannot_fill_the_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
