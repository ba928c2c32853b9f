/* SPDX-License-Identifier: MIT */
/*
 * libvfio-cuse-preload.so. Runs test-preload-helper, an unmodified client,
 * with the library preloaded and usually test-preload-shim after it: the
 * shim stands in for vfio-cused by recording and answering the ioctls the
 * library issues, so the helper checks which ioctls a call turned into,
 * with which arguments, on which thread, and what the caller got back.
 *
 * These machines have no /dev/cuse, so the "device node" is /dev/null: an
 * fd is a device fd when its st_rdev is the node's, and anyone can open
 * /dev/null. Without the shim, a pread on /dev/null then fails with ENOTTY
 * (the RW ioctl reached the kernel), where it reads 0 bytes without the
 * library. Needs no privileges.
 *
 * Usage (from meson): test-preload LIBRARY SHIM HELPER
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "test-preload-spawn.h"
#include "vfc-cuse-proto.h"

static const char *lib, *shim, *helper;
static char with_shim[PATH_MAX * 2 + 16], lib_only[PATH_MAX + 16];

#define NODE_NULL VFC_CUSE_ENV_DEVICE_NODE "=/dev/null"
#define NODE_NONE VFC_CUSE_ENV_DEVICE_NODE "=/nonexistent/cuse-device"

/* Run "helper SCENARIO ARG" with @preload and @env; NULL-terminated env. */
static void run(struct spawn_result *r, const char *preload, const char *scenario,
		const char *arg, const char *const *env)
{
	const char *argv[] = { helper, scenario, arg, NULL };
	const char *add[16];
	size_t n = 0;

	if (preload)
		add[n++] = preload;
	add[n++] = NODE_NULL;
	for (; env && *env && n < 15; env++)
		add[n++] = *env;
	add[n] = NULL;
	spawn_run(argv, add, NULL, NULL, r);
}

/* The scenario passes and nothing at all is printed on stderr. */
static void expect_ok(const char *preload, const char *scenario, const char *arg,
		      const char *const *env)
{
	static struct spawn_result r;

	run(&r, preload, scenario, arg, env);
	if (r.status != 0 || r.err[0])
		print_message("helper %s: status %d, stderr:\n%s", scenario, r.status, r.err);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.err, "");
}

#define SHIM_TEST(fn, scenario, ...)                                         \
	static void fn(void **state)                                         \
	{                                                                    \
		const char *const env[] = { __VA_ARGS__ };                   \
		expect_ok(with_shim, scenario, NULL, env);                   \
	}

SHIM_TEST(test_getfd_cuse, "getfd-cuse", NULL)
SHIM_TEST(test_getfd_fail, "getfd-fail", NULL)
SHIM_TEST(test_getfd_kernel, "getfd-kernel", NULL)
SHIM_TEST(test_getfd_open_notty, "getfd-open-errno", "VFC_SHIM_OPEN_ERRNO=25", NULL)
SHIM_TEST(test_getfd_open_busy, "getfd-open-errno", "VFC_SHIM_OPEN_ERRNO=16", NULL)
SHIM_TEST(test_getfd_nonode, "getfd-nonode", NODE_NONE, NULL)
/* A path through a non-directory does not exist either. */
SHIM_TEST(test_getfd_nonode_notdir, "getfd-nonode",
	  VFC_CUSE_ENV_DEVICE_NODE "=/dev/null/cuse-device", NULL)
SHIM_TEST(test_getfd_threads, "getfd-threads", NULL)
SHIM_TEST(test_passthrough, "passthrough", NULL)
SHIM_TEST(test_rw_basic, "rw-basic", NULL)
SHIM_TEST(test_rw_chunks, "rw-chunks", NULL)
SHIM_TEST(test_rw_short, "rw-short", NULL)
SHIM_TEST(test_rw_edge, "rw-edge", NULL)
SHIM_TEST(test_rw_vec, "rw-vec", NULL)
SHIM_TEST(test_rw_other, "rw-other", NULL)
SHIM_TEST(test_rw_fast, "rw-fast", NULL)
SHIM_TEST(test_rw_other_cache, "rw-other-cache", NULL)

/* A node whose files answer pread with ESPIPE, like CUSE files. */
static void test_rw_other_stale(void **state)
{
	const char *const env[] = { VFC_CUSE_ENV_DEVICE_NODE "=/dev/ptmx", NULL };

	if (access("/dev/ptmx", R_OK | W_OK) != 0)
		skip();
	expect_ok(with_shim, "rw-other-stale", NULL, env);
}
SHIM_TEST(test_rw_nonode, "rw-nonode", NODE_NONE, NULL)
SHIM_TEST(test_fork, "fork", NULL)
SHIM_TEST(test_lseek, "lseek", NULL)
SHIM_TEST(test_mmap, "mmap", NULL)

/*
 * A node that is no character device names no daemon: the group fd is not
 * taken for one of its groups, and the ioctl goes on as it is (the shim's
 * "group" then answers like vfio-cused without the library: EOPNOTSUPP).
 */
static void test_getfd_open_fails(void **state)
{
	const char *const env[] = { VFC_CUSE_ENV_DEVICE_NODE "=/", NULL };

	expect_ok(with_shim, "getfd-open-fails", "95", env);
}

/* The node is a symlink the helper re-points from /dev/null to /dev/zero. */
static void test_restat(void **state)
{
	char dir[] = "/tmp/vfc-preload-XXXXXX", link[64], env0[96];
	const char *const env[] = { env0, NULL };

	assert_non_null(mkdtemp(dir));
	snprintf(link, sizeof(link), "%s/node", dir);
	assert_int_equal(symlink("/dev/null", link), 0);
	snprintf(env0, sizeof(env0), "%s=%s", VFC_CUSE_ENV_DEVICE_NODE, link);
	expect_ok(with_shim, "restat", NULL, env);
	unlink(link);
	rmdir(dir);
}

/* One line per GET_DEVICE_FD on stderr, and only with VFIO_CUSE_DEBUG. */
static void test_debug(void **state)
{
	const char *const env[] = { "VFIO_CUSE_DEBUG=1", NULL };
	static struct spawn_result r;
	char *l1, *l2, *l3, *save = NULL;

	run(&r, with_shim, "debug", NULL, env);
	print_message("%s", r.err);
	assert_int_equal(r.status, 0);
	l1 = strtok_r(r.err, "\n", &save);
	l2 = strtok_r(NULL, "\n", &save);
	l3 = strtok_r(NULL, "\n", &save);
	assert_non_null(l3);
	assert_null(strtok_r(NULL, "\n", &save));
	assert_true(strncmp(l1, "vfio-cuse-preload[", 18) == 0);
	assert_non_null(strstr(l1, "VFIO_GROUP_GET_DEVICE_FD on group fd "));
	assert_non_null(strstr(l1, " \"cuse:0000:fe:00.0\": vfio-cused device through /dev/null: fd "));
	assert_non_null(strstr(l2, " \"kernel\": not a group of vfio-cused, passed on; node /dev/null: fd "));
	assert_non_null(strstr(l3, " \"fail\": vfio-cused group, through /dev/null: failed with ENODEV"));

	/* The same run without the variable prints nothing. */
	expect_ok(with_shim, "debug", NULL, NULL);
}

/* Without the shim the RW ioctl reaches /dev/null: ENOTTY. */
static void test_noshim(void **state)
{
	expect_ok(lib_only, "noshim", NULL, NULL);
}

/* ... where the same calls succeed without the library. */
static void test_control(void **state)
{
	expect_ok(NULL, "control", NULL, NULL);
}

/* No node, no shim: GET_DEVICE_FD is the kernel's own ioctl. */
static void test_noshim_getfd(void **state)
{
	const char *const env[] = { NODE_NONE, NULL };

	expect_ok(lib_only, "noshim-getfd", NULL, env);
}

/* DEVICE_OPEN through the kernel, whose /dev/null says ENOTTY. */
static void test_noshim_open(void **state)
{
	expect_ok(lib_only, "noshim-open", NULL, NULL);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_getfd_cuse),
		cmocka_unit_test(test_getfd_fail),
		cmocka_unit_test(test_getfd_kernel),
		cmocka_unit_test(test_getfd_open_notty),
		cmocka_unit_test(test_getfd_open_busy),
		cmocka_unit_test(test_getfd_nonode),
		cmocka_unit_test(test_getfd_nonode_notdir),
		cmocka_unit_test(test_getfd_open_fails),
		cmocka_unit_test(test_getfd_threads),
		cmocka_unit_test(test_mmap),
		cmocka_unit_test(test_passthrough),
		cmocka_unit_test(test_debug),
		cmocka_unit_test(test_rw_basic),
		cmocka_unit_test(test_rw_chunks),
		cmocka_unit_test(test_rw_short),
		cmocka_unit_test(test_rw_edge),
		cmocka_unit_test(test_rw_vec),
		cmocka_unit_test(test_rw_other),
		cmocka_unit_test(test_rw_fast),
		cmocka_unit_test(test_rw_other_cache),
		cmocka_unit_test(test_rw_other_stale),
		cmocka_unit_test(test_rw_nonode),
		cmocka_unit_test(test_fork),
		cmocka_unit_test(test_lseek),
		cmocka_unit_test(test_restat),
		cmocka_unit_test(test_noshim),
		cmocka_unit_test(test_control),
		cmocka_unit_test(test_noshim_getfd),
		cmocka_unit_test(test_noshim_open),
	};

	if (argc != 4) {
		fprintf(stderr, "usage: %s LIBRARY SHIM HELPER\n", argv[0]);
		return 2;
	}
	lib = argv[1];
	shim = argv[2];
	helper = argv[3];
	snprintf(with_shim, sizeof(with_shim), "LD_PRELOAD=%s:%s", lib, shim);
	snprintf(lib_only, sizeof(lib_only), "LD_PRELOAD=%s", lib);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
