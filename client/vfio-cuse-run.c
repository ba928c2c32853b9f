/* SPDX-License-Identifier: MIT */
/*
 * vfio-cuse-run [OPTIONS] -- CMD [ARGS...]: run an unmodified VFIO client
 * against vfio-cused. It puts libvfio-cuse-preload.so in front of
 * LD_PRELOAD, optionally builds a private mount namespace (run-ns.c) in
 * which the daemon's devices appear in sysfs and its /dev/<prefix> appears
 * at /dev/vfio, and execs CMD.
 *
 * Exit status: CMD's own; 127 if CMD cannot be run; 125 for our errors.
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "run.h"
#include "vfc-cuse-proto.h"

#define EXIT_LAUNCHER 125
#define EXIT_NOT_RUN 127
#define PRELOAD_NAME "libvfio-cuse-preload.so"

/* From meson: where `meson install` puts us and the library. */
#ifndef VFC_RUN_BINDIR
#error "VFC_RUN_BINDIR must name the installed bindir"
#endif
#ifndef VFC_RUN_PRELOAD_PATH
#error "VFC_RUN_PRELOAD_PATH must name the installed library"
#endif

struct options {
	const char *preload;
	const char *dev_prefix;
	bool sysfs_view;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vfio-cuse-run [OPTIONS] [--] CMD [ARGS...]\n"
		"Run an unmodified VFIO client against vfio-cused.\n"
		"\n"
		"  --preload PATH       the preload library; by default\n"
		"                         %s\n"
		"                       (in a build tree, the %s next to this program)\n"
		"  --dev-prefix PREFIX  vfio-cused serves /dev/PREFIX: show it at /dev/vfio\n"
		"  --sysfs-view         show vfio-cused's devices in /sys/bus/pci/devices and\n"
		"                       /sys/kernel/iommu_groups (from $VFIO_CUSE_RUNDIR,\n"
		"                       default %s)\n"
		"  -v, --verbose        say what is done\n"
		"  -h, --help           this text\n"
		"      --version        print the version\n"
		"\n"
		"Both view options run CMD in a private mount namespace (a user namespace\n"
		"too when not root). Exit status: CMD's, 127 if CMD cannot be run, 125 for\n"
		"errors of vfio-cuse-run itself.\n",
		VFC_RUN_PRELOAD_PATH, PRELOAD_NAME, RUN_DEFAULT_RUNDIR);
}

/* A relative path of non-empty components without "." or "..". */
static bool prefix_ok(const char *p)
{
	const char *c = p;

	if (!*p || *p == '/' || strlen(p) > NAME_MAX)
		return false;
	while (*c) {
		size_t n = strcspn(c, "/");

		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		c += n;
		if (*c == '/' && !*++c)
			return false;
	}
	return true;
}

/*
 * The library by default: VFC_RUN_PRELOAD_PATH (libdir's) when we run
 * from bindir, as installed. Anywhere else, as in the build tree, the
 * library next to our own executable if it is there, else libdir's.
 * Returns a new string, or NULL on ENOMEM.
 */
static char *default_preload(void)
{
	char exe[PATH_MAX], *dir, *path;
	ssize_t n;

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0) {
		run_debug("/proc/self/exe: %s: using %s", strerror(errno), VFC_RUN_PRELOAD_PATH);
		return strdup(VFC_RUN_PRELOAD_PATH);
	}
	exe[n] = '\0';
	dir = dirname(exe);
	if (strcmp(dir, VFC_RUN_BINDIR) == 0)
		return strdup(VFC_RUN_PRELOAD_PATH);
	if (asprintf(&path, "%s/%s", dir, PRELOAD_NAME) < 0)
		return NULL;
	if (access(path, F_OK) == 0)
		return path;
	free(path);
	return strdup(VFC_RUN_PRELOAD_PATH);
}

/*
 * The library to preload, as an absolute path: --preload's (resolved if
 * it has a '/'; a bare name is left to ld.so's search), else the default
 * above, which must be readable.
 */
static int preload_path(const char *opt, char **ret)
{
	_cleanup_free_ char *path = NULL;

	if (opt && !strchr(opt, '/')) {
		path = strdup(opt);
	} else if (opt) {
		path = realpath(opt, NULL);
		if (!path) {
			run_msg("--preload %s: %s", opt, strerror(errno));
			return -errno;
		}
	} else {
		path = default_preload();
		if (path && access(path, R_OK) < 0) {
			run_msg("%s: %s (use --preload PATH)", path, strerror(errno));
			return -errno;
		}
	}
	if (!path)
		return -ENOMEM;
	/* ld.so splits LD_PRELOAD at both. */
	if (strpbrk(path, ": \t")) {
		run_msg("%s: LD_PRELOAD cannot hold a path with ':' or blanks", path);
		return -EINVAL;
	}
	*ret = TAKE_PTR(path);
	return 0;
}

static bool is_sanitizer_runtime(const char *path, size_t len)
{
	const char *base = memrchr(path, '/', len);

	base = base ? base + 1 : path;
	return strncmp(base, "libasan", 7) == 0 || strncmp(base, "libclang_rt.asan", 16) == 0;
}

/*
 * The new LD_PRELOAD: @lib first, then whatever was there, which is kept
 * as it is. An AddressSanitizer runtime that comes first stays first, as
 * it must. Nothing changes if @lib is already listed.
 */
static int compose_ld_preload(const char *lib, const char *old, char **ret)
{
	static const char sep[] = ": \t";
	size_t first = 0, liblen = strlen(lib);
	const char *p;
	char *s = NULL;
	int r;

	if (!old || !*old) {
		s = strdup(lib);
		goto out;
	}
	for (p = old; *p; ) {
		size_t n = strcspn(p, sep);

		if (n == liblen && strncmp(p, lib, n) == 0) {
			s = strdup(old);
			goto out;
		}
		p += n;
		p += strspn(p, sep);
	}
	p = old + strspn(old, sep);
	if (is_sanitizer_runtime(p, strcspn(p, sep)))
		first = (size_t)(p - old) + strcspn(p, sep);
	if (first)
		r = asprintf(&s, "%.*s:%s%s", (int)first, old, lib, old + first);
	else
		r = asprintf(&s, "%s:%s", lib, old);
	if (r < 0)
		s = NULL;
out:
	if (!s)
		return -ENOMEM;
	*ret = s;
	return 0;
}

static int parse(int argc, char **argv, struct options *o)
{
	enum { OPT_PRELOAD = 0x100, OPT_DEV_PREFIX, OPT_SYSFS_VIEW, OPT_VERSION };
	static const struct option longopts[] = {
		{ "preload", required_argument, NULL, OPT_PRELOAD },
		{ "dev-prefix", required_argument, NULL, OPT_DEV_PREFIX },
		{ "sysfs-view", no_argument, NULL, OPT_SYSFS_VIEW },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ 0 }
	};
	int c;

	/* '+': stop at CMD, whose options are its own. */
	while ((c = getopt_long(argc, argv, "+vh", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_PRELOAD:
			o->preload = optarg;
			break;
		case OPT_DEV_PREFIX:
			if (!prefix_ok(optarg)) {
				run_msg("--dev-prefix '%s': want a relative path under /dev "
					"without '.' or '..'", optarg);
				return -EINVAL;
			}
			o->dev_prefix = optarg;
			break;
		case OPT_SYSFS_VIEW:
			o->sysfs_view = true;
			break;
		case 'v':
			run_verbose = true;
			break;
		case 'h':
			usage(stdout);
			exit(EXIT_SUCCESS);
		case OPT_VERSION:
			printf("vfio-cuse-run %s\n", VFC_VERSION);
			exit(EXIT_SUCCESS);
		default:
			fprintf(stderr, "Try 'vfio-cuse-run --help'.\n");
			return -EINVAL;
		}
	}
	if (optind >= argc) {
		run_msg("no command given (vfio-cuse-run [OPTIONS] -- CMD [ARGS...])");
		return -EINVAL;
	}
	return 0;
}

/* The daemon's run directory as an absolute path. */
static int rundir_path(char **ret)
{
	const char *env = getenv("VFIO_CUSE_RUNDIR");
	const char *dir = env && *env ? env : RUN_DEFAULT_RUNDIR;
	char *abs = realpath(dir, NULL);

	/* A missing one is reported, as "no devices", by run_sysfs_view(). */
	if (!abs && errno == ENOENT && *dir == '/')
		abs = strdup(dir);
	if (!abs) {
		run_msg("VFIO_CUSE_RUNDIR %s: %s", dir, strerror(errno));
		return -errno;
	}
	*ret = abs;
	return 0;
}

static int setup(const struct options *o)
{
	_cleanup_free_ char *lib = NULL, *ld = NULL, *rundir = NULL;
	bool prefix = o->dev_prefix && strcmp(o->dev_prefix, "vfio") != 0;
	const char *sysfs;
	int r;

	r = preload_path(o->preload, &lib);
	if (r < 0)
		return r;
	r = compose_ld_preload(lib, getenv("LD_PRELOAD"), &ld);
	if (r < 0)
		return r;
	if (o->sysfs_view) {
		r = rundir_path(&rundir);
		if (r < 0)
			return r;
	}

	if (prefix || o->sysfs_view) {
		r = run_enter_namespace();
		if (r < 0)
			return r;
	}
	if (prefix) {
		r = run_dev_prefix(o->dev_prefix);
		if (r < 0)
			return r;
	}
	if (o->sysfs_view) {
		/* Tests point this at a fake tree; undocumented otherwise. */
		sysfs = getenv("VFIO_CUSE_RUN_SYSFS");
		r = run_sysfs_view(sysfs && *sysfs ? sysfs : "/sys", rundir);
		if (r < 0)
			return r;
	}

	if (setenv("LD_PRELOAD", ld, 1) < 0 ||
	    (o->dev_prefix && setenv(VFC_CUSE_ENV_DEVICE_NODE, VFC_CUSE_DEFAULT_DEVICE_NODE, 1) < 0)) {
		run_msg("setenv: %s", strerror(errno));
		return -errno;
	}
	run_debug("LD_PRELOAD=%s", ld);
	return 0;
}

int main(int argc, char **argv)
{
	struct options o = { 0 };

	if (parse(argc, argv, &o) < 0 || setup(&o) < 0)
		return EXIT_LAUNCHER;
	execvp(argv[optind], argv + optind);
	run_msg("%s: %s", argv[optind], strerror(errno));
	return EXIT_NOT_RUN;
}
