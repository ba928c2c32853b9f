/* SPDX-License-Identifier: MIT */
/*
 * Tests of the log's info limiter (src/log.c): the token bucket alone,
 * with times the test brings, and the daemon's info lines through it with
 * an injected clock: a burst passes, the rest are suppressed and counted,
 * the next line that passes says how many, and other levels never wait.
 * No test depends on real time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "vfc-log.h"

static void test_bucket(void **state)
{
	struct vfc_log_limit l = { .burst = 3, .interval_ns = 10 };
	unsigned long sup = 99;

	for (int i = 0; i < 3; i++) {
		assert_true(vfc_log_limit_take(&l, 0, &sup));
		assert_int_equal(sup, 0);
	}
	assert_false(vfc_log_limit_take(&l, 0, &sup));
	assert_false(vfc_log_limit_take(&l, 5, &sup));
	assert_false(vfc_log_limit_take(&l, 9, &sup));
	/* One interval: one line, which reports the three before it. */
	assert_true(vfc_log_limit_take(&l, 10, &sup));
	assert_int_equal(sup, 3);
	assert_false(vfc_log_limit_take(&l, 19, &sup));
	/* 25 is 1.5 intervals after 10: one token, the half kept. */
	assert_true(vfc_log_limit_take(&l, 25, &sup));
	assert_int_equal(sup, 1);
	assert_false(vfc_log_limit_take(&l, 29, &sup));
	assert_true(vfc_log_limit_take(&l, 30, &sup));
	/* A long quiet refills to the burst, never past it. */
	for (int i = 0; i < 3; i++)
		assert_true(vfc_log_limit_take(&l, 1000000, &sup));
	assert_false(vfc_log_limit_take(&l, 1000000, &sup));
	/* A clock that goes back refills nothing. */
	assert_false(vfc_log_limit_take(&l, 5, &sup));
	assert_true(vfc_log_limit_take(&l, 1000010, &sup));
	assert_int_equal(sup, 2);
}

static uint64_t fake_now;

static uint64_t fake_clock(void)
{
	return fake_now;
}

/* Runs @fn with stderr in a memfd; returns what it wrote (free it). */
static char *capture(void (*fn)(void))
{
	int saved = dup(2), fd = memfd_create("log", MFD_CLOEXEC);
	char *text = calloc(1, 65536);

	assert_true(saved >= 0 && fd >= 0 && text);
	fflush(stderr);
	dup2(fd, 2);
	fn();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	assert_true(pread(fd, text, 65535, 0) >= 0);
	close(fd);
	return text;
}

static unsigned int count(const char *text, const char *what)
{
	unsigned int n = 0;

	for (const char *p = text; (p = strstr(p, what)); p += strlen(what))
		n++;
	return n;
}

static void flood(void)
{
	fake_now = 0;
	for (int i = 0; i < 10; i++)
		vfc_info("client line %d", i);
	vfc_warn("a warning");
	vfc_err("an error");
	fake_now = 1000;
	vfc_info("client line after");
}

static void test_info_limited(void **state)
{
	unsigned long info0 = vfc_log_count(LOG_INFO), sup0 = vfc_log_suppressed();
	char *text;

	vfc_log_limit_info(4, 1000, fake_clock);
	text = capture(flood);
	vfc_log_limit_info(0, 0, NULL);
	assert_int_equal(count(text, "<6>client line "), 5);
	assert_non_null(strstr(text, "<6>client line 3\n"));
	assert_null(strstr(text, "client line 4\n"));
	assert_non_null(strstr(text, "<4>a warning\n"));
	assert_non_null(strstr(text, "<3>an error\n"));
	assert_non_null(strstr(text, "<6>log: 6 client messages suppressed\n<6>client line after\n"));
	assert_int_equal(vfc_log_suppressed() - sup0, 6);
	/* Every call still counts, printed or not. */
	assert_int_equal(vfc_log_count(LOG_INFO) - info0, 11);
	free(text);
}

static void many(void)
{
	for (int i = 0; i < 10; i++)
		vfc_info("unlimited %d", i);
}

static void test_off_by_default(void **state)
{
	char *text = capture(many);

	assert_int_equal(count(text, "<6>unlimited "), 10);
	assert_null(strstr(text, "suppressed"));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bucket),
		cmocka_unit_test(test_off_by_default),
		cmocka_unit_test(test_info_limited),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
