/* SPDX-License-Identifier: MIT */
/*
 * vfio-cuse-run's mount namespace: entering it, and the two views it
 * builds there. Clients find a device's IOMMU group through sysfs, which
 * only the kernel writes, so vfio-cused writes a look-alike tree under its
 * run directory and we show it in place: tmpfs mounts over
 * /sys/bus/pci/devices and /sys/kernel/iommu_groups that repeat the real
 * entries and add the daemon's. With --dev-prefix, /dev/<prefix> is shown
 * at /dev/vfio. Nothing here is visible outside the namespace.
 *
 * A directory is "covered" by mounting a tmpfs over it after opening the
 * original: symlinks are copied as they are, and everything else is
 * bind-mounted from /proc/self/fd/<original>/<name>, which still reaches
 * the hidden directory.
 *
 * Mounts that ignore the source or type (bind, remount, propagation) pass
 * "none" rather than NULL, as mount(8) does; valgrind insists on strings.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "run.h"

bool run_verbose;

void run_msg(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	fputs("vfio-cuse-run: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	errno = saved;
}

/* Print "vfio-cuse-run: <what>: <errno text>" and return -errno. */
#define run_fail(err, fmt, ...)                                                    \
	({                                                                         \
		int e_ = (err);                                                    \
		run_msg(fmt ": %s", ##__VA_ARGS__, strerror(e_));                  \
		-e_;                                                               \
	})

static void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

static int write_file(const char *path, const char *text)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	size_t len = strlen(text);

	if (fd < 0)
		return -errno;
	if (write(fd, text, len) != (ssize_t)len)
		return errno ? -errno : -EIO;
	return 0;
}

int run_enter_namespace(void)
{
	uid_t uid = geteuid();
	gid_t gid = getegid();
	char map[64];
	int r;

	if (uid == 0 && unshare(CLONE_NEWNS) == 0) {
		run_debug("entered a private mount namespace");
	} else {
		if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
			return run_fail(errno, "cannot create a user and mount namespace "
					"(are unprivileged user namespaces disabled?)");
		/* Older kernels have no setgroups file; nothing to deny there. */
		r = write_file("/proc/self/setgroups", "deny");
		if (r < 0 && r != -ENOENT)
			return run_fail(-r, "/proc/self/setgroups");
		snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)uid, (unsigned)uid);
		r = write_file("/proc/self/uid_map", map);
		if (r < 0)
			return run_fail(-r, "/proc/self/uid_map");
		snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)gid, (unsigned)gid);
		r = write_file("/proc/self/gid_map", map);
		if (r < 0)
			return run_fail(-r, "/proc/self/gid_map");
		run_debug("entered a user namespace (uid %u, gid %u) and a mount namespace",
			  (unsigned)uid, (unsigned)gid);
	}
	if (mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0)
		return run_fail(errno, "making / private in the new mount namespace");
	return 0;
}

/* One entry of a directory about to be covered. */
struct entry {
	char *name;
	char *target;		/* a symlink's target; NULL for the rest */
	bool dir;
};

struct entries {
	struct entry *v;
	size_t n;
};

static void entries_clear(struct entries *e)
{
	for (size_t i = 0; i < e->n; i++) {
		free(e->v[i].name);
		free(e->v[i].target);
	}
	free(e->v);
	e->v = NULL;
	e->n = 0;
}

static int entries_add(struct entries *e, const char *name, const char *target, bool dir)
{
	struct entry *v = realloc(e->v, (e->n + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	e->v = v;
	v[e->n] = (struct entry){ .name = strdup(name), .dir = dir };
	if (!v[e->n].name)
		return -ENOMEM;
	if (target && !(v[e->n].target = strdup(target))) {
		free(v[e->n].name);
		return -ENOMEM;
	}
	e->n++;
	return 0;
}

static bool entries_has(const struct entries *e, const char *name)
{
	for (size_t i = 0; i < e->n; i++)
		if (strcmp(e->v[i].name, name) == 0)
			return true;
	return false;
}

/* Read the entries of directory @dfd: names, kinds and symlink targets. */
static int read_entries(int dfd, const char *path, struct entries *ret)
{
	_cleanup_(closedirp) DIR *d = NULL;
	struct dirent *de;
	int fd, r;

	fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return run_fail(errno, "%s", path);
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return run_fail(errno, "%s", path);
	}
	while ((errno = 0, de = readdir(d))) {
		char target[PATH_MAX];
		struct stat st;
		ssize_t n;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;	/* gone meanwhile */
		if (S_ISLNK(st.st_mode)) {
			n = readlinkat(dfd, de->d_name, target, sizeof(target) - 1);
			if (n < 0)
				continue;
			target[n] = '\0';
			r = entries_add(ret, de->d_name, target, false);
		} else {
			r = entries_add(ret, de->d_name, NULL, S_ISDIR(st.st_mode));
		}
		if (r < 0)
			return run_fail(-r, "%s", path);
	}
	if (errno)
		return run_fail(errno, "reading %s", path);
	return 0;
}

/*
 * Cover @path with a tmpfs. It repeats the entries of the original except
 * those named in @extra, then gets @extra's entries (symlinks when they
 * have a target, else empty directories). @flags are the tmpfs's mount
 * flags; @rdonly remounts it read-only at the end.
 */
static int cover_dir(const char *path, const struct entries *extra, unsigned long flags,
		     bool rdonly)
{
	_cleanup_(entries_clear) struct entries old = { 0 };
	_cleanup_close_ int ofd = -1, nfd = -1;
	char src[PATH_MAX], dst[PATH_MAX];
	size_t i;
	int r;

	ofd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ofd < 0)
		return run_fail(errno, "%s", path);
	r = read_entries(ofd, path, &old);
	if (r < 0)
		return r;
	if (mount("tmpfs", path, "tmpfs", flags, "mode=0755") < 0)
		return run_fail(errno, "mounting a tmpfs on %s", path);
	nfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (nfd < 0)
		return run_fail(errno, "%s", path);

	for (i = 0; i < old.n; i++) {
		const struct entry *e = &old.v[i];

		if (entries_has(extra, e->name))
			continue;
		if (e->target) {
			if (symlinkat(e->target, nfd, e->name) < 0)
				return run_fail(errno, "symlink %s/%s", path, e->name);
			continue;
		}
		if (e->dir)
			r = mkdirat(nfd, e->name, 0755);
		else
			r = mknodat(nfd, e->name, S_IFREG | 0644, 0);
		if (r < 0)
			return run_fail(errno, "creating %s/%s", path, e->name);
		if (snprintf(src, sizeof(src), "/proc/self/fd/%d/%s", ofd, e->name) >=
			    (int)sizeof(src) ||
		    snprintf(dst, sizeof(dst), "%s/%s", path, e->name) >= (int)sizeof(dst))
			return run_fail(ENAMETOOLONG, "%s/%s", path, e->name);
		if (mount(src, dst, "none", MS_BIND | MS_REC, NULL) < 0) {
			/* One entry we cannot repeat should not stop the rest. */
			run_msg("warning: cannot repeat %s in the private view: %s", dst,
				strerror(errno));
			unlinkat(nfd, e->name, e->dir ? AT_REMOVEDIR : 0);
		}
	}

	for (i = 0; i < extra->n; i++) {
		const struct entry *e = &extra->v[i];

		if (e->target)
			r = symlinkat(e->target, nfd, e->name);
		else
			r = mkdirat(nfd, e->name, 0755);
		if (r < 0)
			return run_fail(errno, "creating %s/%s", path, e->name);
		run_debug("%s/%s%s%s", path, e->name, e->target ? " -> " : "",
			  e->target ? e->target : "");
	}

	if (rdonly && mount("none", path, "none", MS_REMOUNT | MS_BIND | MS_RDONLY | flags, NULL) < 0)
		return run_fail(errno, "making %s read-only", path);
	return 0;
}

/*
 * Make sure directory @path exists in our namespace. If it does not,
 * cover its parent (recursively, up to but not including "/") with a
 * tmpfs copy that has it as an extra, empty directory.
 */
static int ensure_dir(const char *path, unsigned long flags, bool rdonly)
{
	_cleanup_(entries_clear) struct entries extra = { 0 };
	_cleanup_free_ char *parent = NULL;
	struct stat st;
	char *slash;
	int r;

	if (stat(path, &st) == 0)
		return S_ISDIR(st.st_mode) ? 0 : run_fail(ENOTDIR, "%s", path);
	if (errno != ENOENT)
		return run_fail(errno, "%s", path);

	parent = strdup(path);
	if (!parent)
		return run_fail(ENOMEM, "%s", path);
	slash = strrchr(parent, '/');
	if (!slash || slash == parent)
		return run_fail(ENOENT, "%s (will not cover /)", path);
	*slash = '\0';
	r = ensure_dir(parent, flags, rdonly);
	if (r < 0)
		return r;
	r = entries_add(&extra, slash + 1, NULL, true);
	if (r < 0)
		return run_fail(-r, "%s", path);
	run_debug("%s does not exist: covering %s to create it", path, parent);
	return cover_dir(parent, &extra, flags, rdonly);
}

int run_dev_prefix(const char *prefix)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_close_ int fd = -1;
	char src[64];
	int r;

	if (asprintf(&path, "/dev/%s", prefix) < 0)
		return run_fail(ENOMEM, "--dev-prefix");
	fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return run_fail(errno, "%s (is vfio-cused serving this prefix?)", path);
	r = ensure_dir("/dev/vfio", MS_NOSUID, false);
	if (r < 0)
		return r;
	snprintf(src, sizeof(src), "/proc/self/fd/%d", fd);
	if (mount(src, "/dev/vfio", "none", MS_BIND | MS_REC, NULL) < 0)
		return run_fail(errno, "bind-mounting %s on /dev/vfio", path);
	run_debug("%s is shown at /dev/vfio", path);
	return 0;
}

/*
 * The daemon's entries under @dir as symlinks to themselves, for
 * cover_dir(). A missing @dir gives none.
 */
static int daemon_entries(const char *dir, struct entries *ret)
{
	_cleanup_(closedirp) DIR *d = opendir(dir);
	struct dirent *de;
	int r;

	if (!d) {
		if (errno != ENOENT)
			return run_fail(errno, "%s", dir);
		run_msg("warning: %s does not exist: vfio-cused shows no devices", dir);
		return 0;
	}
	while ((errno = 0, de = readdir(d))) {
		_cleanup_free_ char *target = NULL;

		if (de->d_name[0] == '.')
			continue;
		if (asprintf(&target, "%s/%s", dir, de->d_name) < 0)
			return run_fail(ENOMEM, "%s", dir);
		r = entries_add(ret, de->d_name, target, false);
		if (r < 0)
			return run_fail(-r, "%s", dir);
	}
	if (errno)
		return run_fail(errno, "reading %s", dir);
	return 0;
}

int run_sysfs_view(const char *sysfs, const char *rundir)
{
	const unsigned long flags = MS_NOSUID | MS_NODEV | MS_NOEXEC;
	_cleanup_(entries_clear) struct entries devs = { 0 }, groups = { 0 };
	_cleanup_free_ char *devdir = NULL, *grpdir = NULL, *emudev = NULL, *emugrp = NULL;
	int r;

	if (asprintf(&devdir, "%s/bus/pci/devices", sysfs) < 0 ||
	    asprintf(&grpdir, "%s/kernel/iommu_groups", sysfs) < 0 ||
	    asprintf(&emudev, "%s/sysfs/devices", rundir) < 0 ||
	    asprintf(&emugrp, "%s/sysfs/iommu_groups", rundir) < 0)
		return run_fail(ENOMEM, "--sysfs-view");

	r = daemon_entries(emudev, &devs);
	if (r < 0)
		return r;
	r = daemon_entries(emugrp, &groups);
	if (r < 0)
		return r;

	r = ensure_dir(devdir, flags, true);
	if (r < 0)
		return r;
	r = cover_dir(devdir, &devs, flags, true);
	if (r < 0)
		return r;

	r = ensure_dir(grpdir, flags, true);
	if (r < 0) {
		run_msg("warning: no %s in the private view: IOMMU groups cannot be listed there",
			grpdir);
		return 0;
	}
	return cover_dir(grpdir, &groups, flags, true);
}
