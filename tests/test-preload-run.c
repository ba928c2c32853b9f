/* SPDX-License-Identifier: MIT */
/*
 * vfio-cuse-run: LD_PRELOAD composition, options and exit codes, and the
 * private views it builds: --sysfs-view (a fake daemon tree in a temp
 * VFIO_CUSE_RUNDIR must be found the way clients look: readlink of
 * /sys/bus/pci/devices/<name>/iommu_group, basename parsed with %d) and
 * --dev-prefix (in a private /dev on a tmpfs, so the host's is untouched).
 * The commands run are test-preload-helper scenarios, or readlink(1).
 *
 * The --sysfs-view tests need root or unprivileged user namespaces (as
 * root, one of them also runs as nobody); the --dev-prefix one needs root
 * to build its private /dev. They skip where that is missing.
 *
 * Usage (from meson): test-preload-run LAUNCHER LIBRARY SHIM HELPER
 */
#include <dirent.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <cmocka.h>

#include "test-preload-spawn.h"

#define DEV "0000:fe:00.0"
#define GROUP "77"

/* All made absolute: some tests run commands in another directory. */
static char launcher[PATH_MAX], lib[PATH_MAX], shim[PATH_MAX], helper[PATH_MAX];

static struct spawn_result r;

/* snprintf that must not truncate. */
#define fmt(buf, ...) assert_true(snprintf(buf, sizeof(buf), __VA_ARGS__) < (int)sizeof(buf))

static void show(const char *what)
{
	print_message("%s: status %d\nstdout:\n%s\nstderr:\n%s\n", what, r.status, r.out, r.err);
}

/* Run the launcher with @args (NULL-terminated) and @env. */
static void launch(const char *const *args, const char *const *env,
		   void (*prep)(void *), void *data)
{
	const char *argv[24] = { launcher };
	size_t n = 1;

	for (; args && *args && n < 23; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	spawn_run(argv, env, prep, data, &r);
}

static void expect_out(const char *out)
{
	if (r.status != 0 || strcmp(r.out, out) != 0)
		show("vfio-cuse-run");
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, out);
}

static void expect_error(int status)
{
	if (r.status != status || strncmp(r.err, "vfio-cuse-run: ", 15) != 0)
		show("vfio-cuse-run");
	assert_int_equal(r.status, status);
	assert_true(strncmp(r.err, "vfio-cuse-run: ", 15) == 0);
}

static void expect_env(const char *preload, const char *node)
{
	char want[PATH_MAX * 3];

	fmt(want, "LD_PRELOAD=%s\nVFIO_CUSE_DEVICE_NODE=%s\n", preload, node);
	expect_out(want);
}

static void test_default_preload(void **state)
{
	const char *const args[] = { "--", helper, "env", NULL };

	launch(args, NULL, NULL, NULL);
	expect_env(lib, "(unset)");
	assert_string_equal(r.err, "");
}

static void test_keep_existing(void **state)
{
	const char *args[] = { "--", helper, "env", NULL };
	char env0[PATH_MAX * 2], want[PATH_MAX * 3], dir[] = "/tmp/vfc-run-XXXXXX";
	char asan[PATH_MAX];
	const char *const env[] = { env0, NULL };

	/* Prepended, the rest kept as it was. */
	fmt(env0, "LD_PRELOAD=%s", shim);
	launch(args, env, NULL, NULL);
	fmt(want, "%s:%s", lib, shim);
	expect_env(want, "(unset)");

	/* Already there: unchanged. */
	fmt(env0, "LD_PRELOAD=%s %s", shim, lib);
	launch(args, env, NULL, NULL);
	expect_env(env0 + 11, "(unset)");

	/*
	 * An ASan runtime stays first (here the shim, named like one). Not
	 * under valgrind, which puts its own libraries first in the
	 * launcher's LD_PRELOAD and removes them again at exec.
	 */
	if (RUNNING_ON_VALGRIND)
		return;
	assert_non_null(mkdtemp(dir));
	fmt(asan, "%s/libasan.so.8", dir);
	assert_int_equal(symlink(shim, asan), 0);
	fmt(env0, "LD_PRELOAD=%s", asan);
	launch(args, env, NULL, NULL);
	fmt(want, "%s:%s", asan, lib);
	expect_env(want, "(unset)");
	unlink(asan);
	rmdir(dir);
}

static void chdir_prep(void *dir)
{
	if (chdir(dir) < 0)
		_exit(124);
}

static void test_preload_option(void **state)
{
	char dir[] = "/tmp/vfc-run-XXXXXX", link[PATH_MAX];
	const char *args[] = { "--preload", "./x.so", "--", helper, "env", NULL };

	/* A relative path is made absolute (and resolved). */
	assert_non_null(mkdtemp(dir));
	fmt(link, "%s/x.so", dir);
	assert_int_equal(symlink(lib, link), 0);
	launch(args, NULL, chdir_prep, dir);
	expect_env(lib, "(unset)");
	unlink(link);
	rmdir(dir);

	args[1] = "/nonexistent/libx.so";
	launch(args, NULL, NULL, NULL);
	expect_error(125);
	assert_non_null(strstr(r.err, "/nonexistent/libx.so"));
}

static void test_usage(void **state)
{
	const char *const none[] = { NULL };
	const char *const bogus[] = { "--bogus", "--", "true", NULL };
	const char *const dotdot[] = { "--dev-prefix", "../x", "--", "true", NULL };
	const char *const abs[] = { "--dev-prefix", "/dev/x", "--", "true", NULL };
	const char *const empty[] = { "--dev-prefix", "a//b", "--", "true", NULL };
	const char *const help[] = { "--help", NULL };

	launch(none, NULL, NULL, NULL);
	expect_error(125);
	launch(bogus, NULL, NULL, NULL);
	assert_int_equal(r.status, 125);
	launch(dotdot, NULL, NULL, NULL);
	expect_error(125);
	launch(abs, NULL, NULL, NULL);
	expect_error(125);
	launch(empty, NULL, NULL, NULL);
	expect_error(125);
	launch(help, NULL, NULL, NULL);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "Usage: vfio-cuse-run"));
}

static void test_exec(void **state)
{
	const char *const missing[] = { "--", "/nonexistent/cmd", NULL };
	const char *const noexec[] = { "/dev/null", NULL };
	const char *const exit3[] = { helper, "exit", "3", NULL };

	launch(missing, NULL, NULL, NULL);
	expect_error(127);
	assert_non_null(strstr(r.err, "/nonexistent/cmd: No such file or directory"));
	launch(noexec, NULL, NULL, NULL);
	expect_error(127);
	launch(exit3, NULL, NULL, NULL);
	assert_int_equal(r.status, 3);
}

/* --dev-prefix vfio is the default place: only the variable changes. */
static void test_dev_prefix_vfio(void **state)
{
	const char *const args[] = { "--dev-prefix", "vfio", "--", helper, "env", NULL };

	launch(args, NULL, NULL, NULL);
	expect_env(lib, "/dev/vfio/cuse-device");
}

/* The launcher could not make a namespace: unprivileged ones are off. */
static void skip_if_no_userns(void)
{
	if (r.status == 77 || (r.status == 125 && strstr(r.err, "user and mount namespace"))) {
		print_message("no unprivileged user namespaces here:\n%s\n", r.err);
		skip();
	}
}

static void skip_unless_root(void)
{
	if (geteuid() != 0) {
		print_message("needs root\n");
		skip();
	}
}

#define PREP_CHECK(x)                                                            \
	do {                                                                     \
		if (!(x)) {                                                      \
			fprintf(stderr, "prep: %s: %s\n", #x, strerror(errno));  \
			_exit(124);                                              \
		}                                                                \
	} while (0)

/*
 * In the child, before the launcher: a private /dev on a tmpfs holding
 * null, a "vfc-test" prefix directory with a cuse-device file, and, if
 * @data is set, a /dev/vfio of its own (the kernel's) with a marker.
 */
static void dev_prep(void *data)
{
	int fd;

	PREP_CHECK(unshare(CLONE_NEWNS) == 0);
	PREP_CHECK(mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) == 0);
	PREP_CHECK(mount("tmpfs", "/dev", "tmpfs", MS_NOSUID, "mode=0755") == 0);
	PREP_CHECK(mknod("/dev/null", S_IFCHR | 0666, makedev(1, 3)) == 0);
	PREP_CHECK(chmod("/dev/null", 0666) == 0);
	PREP_CHECK(mkdir("/dev/vfc-test", 0755) == 0);
	fd = open("/dev/vfc-test/cuse-device", O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	PREP_CHECK(fd >= 0);
	close(fd);
	if (data) {
		PREP_CHECK(mkdir("/dev/vfio", 0755) == 0);
		fd = open("/dev/vfio/kernel-marker", O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
		PREP_CHECK(fd >= 0);
		close(fd);
	}
}

static void test_dev_prefix(void **state)
{
	const char *const args[] = { "--dev-prefix", "vfc-test", "--", helper, "devnode",
				     "/dev/vfc-test/cuse-device", NULL };

	skip_unless_root();
	/* No /dev/vfio: /dev is covered by a copy that has one. */
	launch(args, NULL, dev_prep, NULL);
	expect_out("devnode ok\n");
	/* The kernel's /dev/vfio exists: ours is mounted over it. */
	launch(args, NULL, dev_prep, (void *)1);
	expect_out("devnode ok\n");

	/* A prefix the daemon does not serve. */
	const char *const missing[] = { "--dev-prefix", "vfc-none", "--", helper, "exit", NULL };

	launch(missing, NULL, dev_prep, NULL);
	expect_error(125);
}

static void write_text(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX];
	FILE *f;

	fmt(path, "%s/%s", dir, name);
	f = fopen(path, "we");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void mkdirs(const char *base, const char *sub)
{
	char path[PATH_MAX], *p;

	fmt(path, "%s/%s", base, sub);
	for (p = path + strlen(base) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
		*p = '/';
	}
	assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
}

static void ln(const char *target, const char *base, const char *name)
{
	char path[PATH_MAX];

	fmt(path, "%s/%s", base, name);
	assert_int_equal(symlink(target, path), 0);
}

/* The tree vfio-cused writes, for one device DEV in group GROUP. */
static void make_rundir(char *dir)
{
	char d[PATH_MAX];

	assert_non_null(mkdtemp(dir));
	assert_int_equal(chmod(dir, 0755), 0);
	mkdirs(dir, "sysfs/devices/" DEV);
	mkdirs(dir, "sysfs/iommu_groups/" GROUP "/devices");
	mkdirs(dir, "sysfs/drivers/vfio-pci");
	fmt(d, "%s/sysfs/devices/" DEV, dir);
	write_text(d, "vendor", "0x1234\n");
	write_text(d, "device", "0x11e8\n");
	write_text(d, "class", "0x00ff00\n");
	ln("../../iommu_groups/" GROUP, d, "iommu_group");
	ln("../../drivers/vfio-pci", d, "driver");
	ln("../../../devices/" DEV, dir, "sysfs/iommu_groups/" GROUP "/devices/" DEV);
}

static void rm_tree(const char *dir)
{
	char cmd[PATH_MAX + 16];

	fmt(cmd, "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* The first real entry of /sys/bus/pci/devices and its link, if any. */
static bool real_entry(char *name, size_t nlen, char *link, size_t llen)
{
	DIR *d = opendir("/sys/bus/pci/devices");
	struct dirent *de;
	char path[PATH_MAX];
	ssize_t n = -1;

	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(name, nlen, "%s", de->d_name);
		fmt(path, "/sys/bus/pci/devices/%s", name);
		n = readlink(path, link, llen - 1);
		break;
	}
	if (d)
		closedir(d);
	if (n < 0)
		return false;
	link[n] = '\0';
	return true;
}

static void test_sysfs_view(void **state)
{
	char dir[] = "/tmp/vfc-run-XXXXXX", env0[PATH_MAX], want[PATH_MAX * 2];
	char name[256] = "", link[PATH_MAX];
	const char *const env[] = { env0, NULL };
	bool real;

	make_rundir(dir);
	fmt(env0, "VFIO_CUSE_RUNDIR=%s", dir);
	real = real_entry(name, sizeof(name), link, sizeof(link));

	const char *const args[] = { "--sysfs-view", "--", helper, "sysfs", DEV,
				     real ? name : NULL, NULL };
	launch(args, env, NULL, NULL);
	if (r.status != 0)
		rm_tree(dir);
	skip_if_no_userns();
	if (real)
		snprintf(want, sizeof(want),
			 "group=" GROUP " vendor=0x1234 listed=1\nreal=%s stat=1\n", link);
	else
		fmt(want, "group=" GROUP " vendor=0x1234 listed=1\n");
	expect_out(want);
	assert_string_equal(r.err, "");

	/* What a shell script would do. readlink(1) is not built with ASan. */
	if (!SPAWN_ASAN) {
		const char *const rl[] = { "--sysfs-view", "--", "readlink",
					   "/sys/bus/pci/devices/" DEV "/iommu_group", NULL };
		launch(rl, env, NULL, NULL);
		expect_out("../../iommu_groups/" GROUP "\n");
	}

	/* The host saw none of it. */
	assert_int_equal(access("/sys/bus/pci/devices/" DEV, F_OK), -1);
	assert_int_equal(access("/sys/kernel/iommu_groups/" GROUP "/devices/" DEV, F_OK), -1);

	/* No daemon tree: a warning, and the command still runs. */
	fmt(env0, "VFIO_CUSE_RUNDIR=%s/none", dir);
	const char *const ex[] = { "--sysfs-view", "--", helper, "exit", "0", NULL };
	launch(ex, env, NULL, NULL);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.err, "vfio-cuse-run: warning: "));
	rm_tree(dir);
}

/* As nobody: a user namespace mapping nobody to itself. */
static void nobody_prep(void *data)
{
	PREP_CHECK(setgroups(0, NULL) == 0);
	PREP_CHECK(setresgid(65534, 65534, 65534) == 0);
	PREP_CHECK(setresuid(65534, 65534, 65534) == 0);
	if (access(helper, X_OK) < 0 || access(data, R_OK | X_OK) < 0)
		_exit(77);
}

static void test_sysfs_view_user(void **state)
{
	char dir[] = "/tmp/vfc-run-XXXXXX", env0[PATH_MAX];
	const char *const env[] = { env0, NULL };
	const char *const args[] = { "--sysfs-view", "--", helper, "sysfs", DEV, NULL };

	make_rundir(dir);
	fmt(env0, "VFIO_CUSE_RUNDIR=%s", dir);
	launch(args, env, geteuid() == 0 ? nobody_prep : NULL, dir);
	rm_tree(dir);
	skip_if_no_userns();
	expect_out("group=" GROUP " vendor=0x1234 listed=1\n");
}

/*
 * A fake sysfs (VFIO_CUSE_RUN_SYSFS) without kernel/iommu_groups, and one
 * without bus/: the missing directories appear on a covered copy of their
 * parent, whose other entries stay.
 */
static void test_sysfs_missing_dirs(void **state)
{
	char dir[] = "/tmp/vfc-run-XXXXXX", sys[] = "/tmp/vfc-sys-XXXXXX";
	char env0[PATH_MAX], env1[PATH_MAX], path[PATH_MAX];
	const char *const env[] = { env0, env1, NULL };
	const char *const args[] = { "--sysfs-view", "--", helper, "sysfs", DEV,
				     "0000:00:00.0", NULL };

	make_rundir(dir);
	assert_non_null(mkdtemp(sys));
	mkdirs(sys, "bus/pci/devices");
	mkdirs(sys, "kernel/mm");
	fmt(path, "%s/kernel", sys);
	write_text(path, "uevent_seqnum", "42\n");
	ln("../../../devices/pci0000:00/0000:00:00.0", sys, "bus/pci/devices/0000:00:00.0");
	fmt(env0, "VFIO_CUSE_RUNDIR=%s", dir);
	fmt(env1, "VFIO_CUSE_RUN_SYSFS=%s", sys);

	launch(args, env, NULL, NULL);
	if (r.status != 0) {
		rm_tree(sys);
		rm_tree(dir);
	}
	skip_if_no_userns();
	expect_out("group=" GROUP " vendor=0x1234 listed=1\n"
		   "real=../../../devices/pci0000:00/0000:00:00.0 stat=0\n");
	fmt(path, "%s/kernel/iommu_groups", sys);
	assert_int_equal(access(path, F_OK), -1);

	/* The covered parent keeps its files. */
	if (!SPAWN_ASAN) {
		fmt(path, "%s/kernel/uevent_seqnum", sys);
		const char *const cat[] = { "--sysfs-view", "--", "cat", path, NULL };
		launch(cat, env, NULL, NULL);
		expect_out("42\n");
	}

	/* No bus/ at all. */
	fmt(path, "%s/bus", sys);
	rm_tree(path);
	const char *const args2[] = { "--sysfs-view", "--", helper, "sysfs", DEV, NULL };
	launch(args2, env, NULL, NULL);
	expect_out("group=" GROUP " vendor=0x1234 listed=1\n");
	assert_int_equal(access(path, F_OK), -1);

	rm_tree(sys);
	rm_tree(dir);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_preload),
		cmocka_unit_test(test_keep_existing),
		cmocka_unit_test(test_preload_option),
		cmocka_unit_test(test_usage),
		cmocka_unit_test(test_exec),
		cmocka_unit_test(test_dev_prefix_vfio),
		cmocka_unit_test(test_dev_prefix),
		cmocka_unit_test(test_sysfs_view),
		cmocka_unit_test(test_sysfs_view_user),
		cmocka_unit_test(test_sysfs_missing_dirs),
	};

	if (argc != 5) {
		fprintf(stderr, "usage: %s LAUNCHER LIBRARY SHIM HELPER\n", argv[0]);
		return 2;
	}
	for (int i = 1; i < 5; i++) {
		char *dst[] = { NULL, launcher, lib, shim, helper };

		if (!realpath(argv[i], dst[i])) {
			fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
			return 2;
		}
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
