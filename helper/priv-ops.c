/* SPDX-License-Identifier: MIT */
/*
 * The privileged operations themselves (helper/priv-ops.h), as the helper
 * and the daemon's direct table (priv-direct.c) run them. Everything about another process goes
 * through one /proc/<pid> directory fd: procfs binds it to that process, so
 * a reused pid cannot switch processes between the checks and the open.
 * Files of other processes are only stat'ed, with AT_STATX_DONT_SYNC, so
 * no filesystem server (FUSE) is ever asked: a client cannot stall us.
 * For the same reason a fetched fd is judged without asking its file's
 * server, and one that may block on close goes to the reaper (reaper.h),
 * which starts a thread: the only allocation here.
 */
#include <dirent.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "priv-ops.h"
#include "reaper.h"
#include "vfc-macro.h"

int vfc_priv_do_open_container(void)
{
	int fd = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

int vfc_priv_do_open_group(unsigned int group)
{
	char path[32];
	int fd;

	snprintf(path, sizeof(path), "/dev/vfio/%u", group);
	fd = open(path, O_RDWR | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int vfc_priv_do_get_device_fd(int group_fd, const char *name)
{
	int fd;

	if (group_fd < 0)
		return -EBADF;
	if (!name[0] || strnlen(name, VFC_PRIV_NAME_MAX) == VFC_PRIV_NAME_MAX)
		return -EINVAL;
	fd = ioctl(group_fd, VFIO_GROUP_GET_DEVICE_FD, name);	/* O_CLOEXEC */
	return fd < 0 ? -errno : fd;
}

static int open_proc(pid_t pid)
{
	char path[32];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd >= 0 ? fd : errno == ENOENT ? -ESRCH : -errno;
}

/* 0 if the process of @proc holds a file of a char device of @major, or -EPERM. */
static int check_client(int proc, unsigned int major)
{
	_cleanup_close_ int dir = -1;
	char buf[4096];
	ssize_t n;

	if (!major)
		return -EPERM;
	dir = openat(proc, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	while ((n = getdents64(dir, buf, sizeof(buf))) > 0)
		for (ssize_t off = 0; off < n;) {
			struct dirent64 *de = (struct dirent64 *)(buf + off);
			struct statx stx;

			off += de->d_reclen;
			if (de->d_name[0] != '.' &&
			    statx(dir, de->d_name, AT_STATX_DONT_SYNC, STATX_TYPE, &stx) == 0 &&
			    S_ISCHR(stx.stx_mode) && stx.stx_rdev_major == major)
				return 0;
		}
	return n < 0 ? -errno : -EPERM;
}

/*
 * What a file is, asking no filesystem server: a file of a character
 * device of @major (the daemon's own CUSE nodes: no flush, so closing it
 * never waits on anyone but the daemon), an eventfd (its fdinfo has a
 * count line no other file shows), or anything else. @dir and @name name
 * the file as for statx() (following the /proc magic link, which asks no
 * filesystem either) and @info is its fdinfo's path under @dir.
 */
enum fd_kind { FD_CUSE, FD_EVENTFD, FD_OTHER, FD_NONE };

static enum fd_kind judge(int dir, const char *name, int flags, const char *info,
			  unsigned int major)
{
	static const char tag[] = "\neventfd-count:";
	_cleanup_close_ int fd = -1;
	struct statx stx;
	char buf[512];
	ssize_t n;

	if (statx(dir, name, flags | AT_STATX_DONT_SYNC, STATX_TYPE, &stx) < 0)
		return errno == ENOENT ? FD_NONE : FD_OTHER;
	if (S_ISCHR(stx.stx_mode) && stx.stx_rdev_major == major)
		return FD_CUSE;
	fd = openat(dir, info, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? FD_NONE : FD_OTHER;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return FD_OTHER;
	buf[n] = '\0';
	return strstr(buf, tag) ? FD_EVENTFD : FD_OTHER;
}

int vfc_priv_do_get_client_fd(unsigned int cuse_major, pid_t pid, pid_t tid, int fd,
			      uint32_t flags)
{
	const bool eventfd_only = flags & VFC_PRIV_CLIENT_FD_EVENTFD_ONLY;
	_cleanup_close_ int pidfd = -1, proc = -1;
	char task[32], name[32], info[32];
	struct stat owner;
	int r;

	if (flags & ~VFC_PRIV_CLIENT_FD_FLAGS)
		return -EINVAL;
	if (pid <= 0 || tid <= 0)
		return -ESRCH;
	if (fd < 0)
		return -EBADF;
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0)
		return errno == EINVAL ? -ESRCH : -errno;	/* EINVAL: not a leader */
	/* If /proc/<pid> is already another process, the pidfd's is gone and
	 * pidfd_getfd fails. */
	proc = open_proc(pid);
	if (proc < 0)
		return proc;
	snprintf(task, sizeof(task), "task/%d", (int)tid);
	if (faccessat(proc, task, F_OK, 0) < 0)
		return -ESRCH;	/* the thread left, or the pid was reused */
	r = check_client(proc, cuse_major);
	if (r < 0)
		return r;
	/* Judge the client's file where it is: what is not ours is never
	 * fetched, so never closed here. */
	snprintf(name, sizeof(name), "fd/%d", fd);
	snprintf(info, sizeof(info), "fdinfo/%d", fd);
	switch (judge(proc, name, 0, info, cuse_major)) {
	case FD_NONE:
		return -EBADF;
	case FD_OTHER:
		return -EBADFD;
	case FD_CUSE:
		if (eventfd_only)
			return -EBADFD;
		break;
	default:
		break;
	}
	/* The client may swap another file in before the fetch: reserve a
	 * reaper slot for that case, charged to the process's (e)uid. */
	if (fstat(proc, &owner) < 0)
		return -errno;
	r = vfc_reaper_reserve(owner.st_uid);
	if (r < 0)
		return r;
	r = (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);	/* O_CLOEXEC */
	if (r < 0) {
		r = -errno;
		vfc_reaper_release(owner.st_uid);
		return r;
	}
	snprintf(info, sizeof(info), "/proc/self/fdinfo/%d", r);
	switch (judge(r, "", AT_EMPTY_PATH, info, cuse_major)) {
	case FD_EVENTFD:
		vfc_reaper_release(owner.st_uid);
		return r;
	case FD_CUSE:
		/* Swapped in after the check. Closing it may be the last
		 * reference, whose release waits for the daemon: never on
		 * the caller's thread when it asked for an eventfd. */
		if (!eventfd_only) {
			vfc_reaper_release(owner.st_uid);
			return r;
		}
		break;
	default:
		break;
	}
	vfc_reaper_close(r, owner.st_uid);	/* fd moved to the reaper */
	return -EBADFD;
}
