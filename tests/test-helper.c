/* SPDX-License-Identifier: MIT */
/*
 * vfio-cuse-helper, the real binary (argv[1]), driven through the daemon's
 * client side (cuse/helper-client.c): every kind of malformed request ends
 * it with the violation status and one line, and the client then answers
 * -EIO for good; the ops that work without VFIO work, through the helper
 * and through the direct table alike. "/dev/null's major" (1) stands in for
 * the daemon's CUSE major. Needs root (skips with 77 otherwise).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "helper-client.h"
#include "reaper.h"
#include "vfc-helper-proto.h"
#include "vfc-log.h"

#define TEST_MAJOR 1	/* /dev/null's */
#define EVENTFD_ONLY VFC_PRIV_CLIENT_FD_EVENTFD_ONLY
#define SWAP_FD 100	/* the swapping child's fd: /dev/null and its eventfd in turn */
#define NOBODY 65534
#define TEXT "vfio-cuse map file"

static const char *helper_path;
static const char *fuse_stall_path;	/* argv[2]: tests/fuse-stall.c */
static const char *fuse_file;		/* the children open it, when set */
static uid_t child_uid = NOBODY;	/* the children become it */
static bool child_swaps;		/* the children swap files into SWAP_FD */
static pid_t stall_server = -1;		/* killed by stall_teardown, even after a failure */
static char stall_dir[64];
static const unsigned int allowed[] = { 26, 27 };

static size_t page(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

static struct vfc_priv *start(void)
{
	struct vfc_priv *p = NULL;

	assert_int_equal(vfc_priv_helper_start(helper_path, allowed, 2, TEST_MAJOR, &p), 0);
	return p;
}

/* A client stand-in: a child, as nobody, with a shared memfd mapping, a
 * private one and a read-only shared one, and (@hold) /dev/null open. */
struct child {
	pid_t pid;
	int release;		/* write a byte: it exits */
	int memfd;		/* its fd numbers and addresses */
	int evfd;		/* an eventfd holding 5 */
	int nullfd;		/* /dev/null, when @hold */
	int fusefd;		/* fuse_file, when set */
	uint64_t shared, private_, readonly;
};

static void child_main(bool hold, int up, int down)
{
	struct child c = { 0 };
	char *guard, *shared, byte;

	for (int fd = 0; fd < 1024; fd++)	/* nothing of major 1 unless @hold */
		if (fd != up && fd != down)
			close(fd);
	c.nullfd = hold ? open("/dev/null", O_RDONLY) : -1;
	if (hold && c.nullfd < 0)
		_exit(1);
	c.evfd = eventfd(5, 0);
	c.fusefd = fuse_file ? open(fuse_file, O_RDONLY) : -1;
	if (c.evfd < 0 || (fuse_file && c.fusefd < 0))
		_exit(1);
	c.memfd = memfd_create("vfc-test", 0);
	if (c.memfd < 0 || ftruncate(c.memfd, 2 * page()) < 0)
		_exit(1);
	shared = mmap(NULL, 2 * page(), PROT_READ | PROT_WRITE, MAP_SHARED, c.memfd, 0);
	/* A private page between PROT_NONE ones: a VMA of its own. */
	guard = mmap(NULL, 3 * page(), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	c.readonly = (uintptr_t)mmap(NULL, page(), PROT_READ, MAP_SHARED, c.memfd, 0);
	if (shared == MAP_FAILED || guard == MAP_FAILED || c.readonly == (uintptr_t)MAP_FAILED ||
	    mprotect(guard + page(), page(), PROT_READ | PROT_WRITE) < 0)
		_exit(1);
	memcpy(shared, TEXT, sizeof(TEXT));
	c.shared = (uintptr_t)shared;
	c.private_ = (uintptr_t)(guard + page());
	/* Another user, as clients are, still dumpable as they are. */
	if (setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
	    setresuid(child_uid, child_uid, child_uid) < 0 ||
	    prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
		_exit(1);
	if (write(up, &c, sizeof(c)) != sizeof(c))
		_exit(1);
	if (child_swaps) {
		struct pollfd pfd = { .fd = down, .events = POLLIN };

		/* Between the check and the fetch, the other kind may come. */
		while (poll(&pfd, 1, 0) == 0)
			if (dup2(c.nullfd, SWAP_FD) < 0 || dup2(c.evfd, SWAP_FD) < 0)
				_exit(1);
	}
	_exit(read(down, &byte, 1) < 0);
}

static void child_start(struct child *c, bool hold)
{
	int up[2], down[2];

	assert_int_equal(pipe2(up, O_CLOEXEC), 0);
	assert_int_equal(pipe2(down, O_CLOEXEC), 0);
	c->pid = fork();
	assert_true(c->pid >= 0);
	if (c->pid == 0)
		child_main(hold, up[1], down[0]);
	close(up[1]);
	close(down[0]);
	{
		struct child got;

		assert_int_equal(read(up[0], &got, sizeof(got)), sizeof(got));
		c->memfd = got.memfd;
		c->evfd = got.evfd;
		c->nullfd = got.nullfd;
		c->fusefd = got.fusefd;
		c->shared = got.shared;
		c->private_ = got.private_;
		c->readonly = got.readonly;
	}
	close(up[0]);
	c->release = down[1];
}

static void child_stop(struct child *c)
{
	int st;

	assert_int_equal(write(c->release, "x", 1), 1);
	close(c->release);
	assert_int_equal(waitpid(c->pid, &st, 0), c->pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* Whether our fd @fd is an eventfd, by its fdinfo. */
static bool is_eventfd(int fd)
{
	char path[64], buf[512];
	ssize_t n;
	int info;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	info = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(info >= 0);
	n = read(info, buf, sizeof(buf) - 1);
	close(info);
	assert_true(n > 0);
	buf[n] = '\0';
	return strstr(buf, "\neventfd-count:") != NULL;
}

/* The ops that work on a machine without VFIO, on table @p. */
static void check_ops(struct vfc_priv *p)
{
	const struct vfc_priv_ops *ops = p->ops;
	struct child client, stranger;
	struct stat a;
	int fd, devnull;
	uint64_t count;

	/* No VFIO here: the kernel's nodes are missing (or, in a VM, work). */
	fd = ops->open_container(p);
	assert_true(access("/dev/vfio/vfio", F_OK) == 0 ? fd >= 0 : fd == -ENOENT);
	if (fd >= 0)
		close(fd);
	fd = ops->open_group(p, 26);
	assert_true(access("/dev/vfio/26", F_OK) == 0 ? fd >= 0 : fd == -ENOENT);
	if (fd >= 0)
		close(fd);
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	assert_int_equal(ops->get_device_fd(p, devnull, ""), -EINVAL);
	assert_int_equal(ops->get_device_fd(p, -1, "0000:00:01.0"), -EBADF);

	child_start(&client, true);
	child_start(&stranger, false);

	/* get_client_fd: the client's eventfd, the same file. */
	fd = ops->get_client_fd(p, client.pid, client.pid, client.evfd, 0);
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(read(fd, &count, sizeof(count)), sizeof(count));
	assert_int_equal(count, 5);
	close(fd);
	/* ... and its file of the daemon's major. */
	fd = ops->get_client_fd(p, client.pid, client.pid, client.nullfd, 0);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &a), 0);
	assert_true(S_ISCHR(a.st_mode) && major(a.st_rdev) == TEST_MAJOR);
	close(fd);
	/* Anything else is not handed out: EBADFD, closed off our thread. */
	assert_int_equal(ops->get_client_fd(p, client.pid, client.pid, client.memfd, 0), -EBADFD);
	assert_int_equal(ops->get_client_fd(p, client.pid, getpid(), client.memfd, 0), -ESRCH);
	assert_int_equal(ops->get_client_fd(p, client.pid, client.pid, 999, 0), -EBADF);
	assert_int_equal(ops->get_client_fd(p, stranger.pid, stranger.pid, stranger.memfd, 0), -EPERM);
	assert_int_equal(ops->get_client_fd(p, 0, 1, 0, 0), -ESRCH);
	assert_int_equal(ops->get_client_fd(p, client.pid, client.pid, -1, 0), -EBADF);

	/* Eventfd-only (SET_IRQS): the eventfd comes, the same file ... */
	fd = ops->get_client_fd(p, client.pid, client.pid, client.evfd, EVENTFD_ONLY);
	assert_true(fd >= 0);
	assert_true(is_eventfd(fd));
	count = 7;	/* the read above emptied it */
	assert_int_equal(write(fd, &count, sizeof(count)), sizeof(count));
	assert_int_equal(read(fd, &count, sizeof(count)), sizeof(count));
	assert_int_equal(count, 7);
	close(fd);
	/* ... but a file of the daemon's major is refused in place, as is a
	 * regular file, with the errors SET_IRQS maps to EINVAL; EBADF stays. */
	assert_int_equal(ops->get_client_fd(p, client.pid, client.pid, client.nullfd,
					    EVENTFD_ONLY), -EBADFD);
	assert_int_equal(ops->get_client_fd(p, client.pid, client.pid, client.memfd,
					    EVENTFD_ONLY), -EBADFD);
	assert_int_equal(ops->get_client_fd(p, client.pid, client.pid, 999, EVENTFD_ONLY),
			 -EBADF);
	assert_int_equal(ops->get_client_fd(p, stranger.pid, stranger.pid, stranger.evfd,
					    EVENTFD_ONLY), -EPERM);
	/* An unknown flag: refused, and the helper is not ended by it. */
	assert_int_equal(ops->get_client_fd(p, client.pid, client.pid, client.evfd, 1u << 7),
			 -EINVAL);
	fd = ops->get_client_fd(p, client.pid, client.pid, client.evfd, EVENTFD_ONLY);
	assert_true(fd >= 0);
	close(fd);

	child_stop(&client);
	child_stop(&stranger);
	close(devnull);
}

static void test_helper_ops(void **state)
{
	struct vfc_priv *p = start();
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);

	check_ops(p);
	/* Refused before sending: no violation, the helper lives on. */
	assert_int_equal(p->ops->open_group(p, 28), -EPERM);
	assert_int_equal(p->ops->get_device_fd(p, devnull,
		"0123456789012345678901234567890123456789012345678901234567890123"), -EINVAL);
	/* Not an open fd: sendmsg refuses it, nothing is sent. */
	assert_int_equal(p->ops->get_device_fd(p, 999, "0000:00:01.0"), -EBADF);
	/* Sent: the helper checks it is an allowed group's fd. */
	assert_int_equal(p->ops->get_device_fd(p, devnull, "0000:00:01.0"), -EBADF);
	assert_int_equal(vfc_priv_helper_wait_status(p), -1);
	close(devnull);
	vfc_priv_helper_free(p);
}

/* The direct table needs pidfd_open, which valgrind 3.19 lacks: skip there. */
static void skip_without_pidfd(void)
{
	int pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0);

	if (pidfd < 0 && errno == ENOSYS) {
		print_message("no pidfd_open here (valgrind 3.19 lacks it): "
			      "skipping the direct table\n");
		skip();
	}
	close(pidfd);
}

static void test_direct_ops(void **state)
{
	struct vfc_priv *p = vfc_priv_direct();
	struct child client;

	skip_without_pidfd();
	child_start(&client, true);
	assert_int_equal(p->ops->get_client_fd(p, client.pid, client.pid, client.memfd, 0), -EPERM);
	child_stop(&client);
	vfc_priv_direct_set_major(TEST_MAJOR);
	check_ops(p);
	vfc_priv_direct_set_major(0);
}

/*
 * Eventfd-only mode against a client that swaps a file of "our" major and
 * an eventfd into one fd number as fast as it can: whatever was judged,
 * only eventfds come back; a file of ours swapped in after the check goes
 * to the reaper, whose slots all come back.
 */
static void check_swapping_client(struct vfc_priv *p, bool observe)
{
	unsigned int got = 0, refused = 0, ours = 0;
	struct child c;

	child_swaps = true;
	child_start(&c, true);
	child_swaps = false;
	alarm(30);
	for (unsigned int i = 0; i < 2000; i++) {
		int fd = p->ops->get_client_fd(p, c.pid, c.pid, SWAP_FD, EVENTFD_ONLY);

		if (fd == -EMFILE)	/* the reaper's share, in use: wait */
			continue;
		if (fd < 0) {
			/* procfs may miss the number while dup2 replaces it */
			if (fd != -EBADF)
				assert_int_equal(fd, -EBADFD);
			refused++;
			continue;
		}
		if (!is_eventfd(fd))
			fail_msg("round %u: fd %d is not an eventfd", i, fd);
		got++;
		close(fd);
	}
	/* Without the flag both kinds come, as SET_CONTAINER wants. */
	for (unsigned int i = 0; i < 2000 && !ours; i++) {
		int fd = p->ops->get_client_fd(p, c.pid, c.pid, SWAP_FD, 0);

		if (fd >= 0) {
			ours += !is_eventfd(fd);
			close(fd);
		}
	}
	alarm(0);
	child_stop(&c);
	print_message("eventfd-only: %u eventfds, %u refused; a file of ours without it: %s\n",
		      got, refused, ours ? "yes" : "no");
	assert_true(got > 0 && refused > 0);
	if (observe) {
		for (int i = 0; i < 500 && vfc_reaper_pending((uid_t)-1); i++)
			usleep(10000);
		assert_int_equal(vfc_reaper_pending((uid_t)-1), 0);
	}
}

static void test_swapping_client_direct(void **state)
{
	skip_without_pidfd();
	vfc_priv_direct_set_major(TEST_MAJOR);
	check_swapping_client(vfc_priv_direct(), true);
	vfc_priv_direct_set_major(0);
}

static void test_swapping_client_helper(void **state)
{
	struct vfc_priv *p = start();

	check_swapping_client(p, false);
	vfc_priv_helper_free(p);
}

/*
 * A client names a file whose close blocks forever (a FUSE file whose
 * server never answers FLUSH). get_client_fd must answer at once without
 * fetching it, and serve everyone else meanwhile. The reaper, for files
 * swapped in after that check, closes off the caller's thread, charges
 * the client's uid, refuses that uid past its share, and gets every slot
 * back once the server dies.
 */
static void check_stalling_fs(struct vfc_priv *p, bool observe)
{
	char dir[] = "/tmp/vfc-stall-XXXXXX", file[64], line[16] = "";
	struct child hostile, other;
	int out[2], st, fusefd = -1;
	pid_t server;
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(stall_dir, sizeof(stall_dir), "%s", dir);
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	server = stall_server = fork();
	assert_true(server >= 0);
	if (server == 0) {
		dup2(out[1], STDOUT_FILENO);
		execl(fuse_stall_path, fuse_stall_path, dir, (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	f = fdopen(out[0], "r");
	if (!fgets(line, sizeof(line), f) || strcmp(line, "ready\n")) {
		fclose(f);
		waitpid(server, &st, 0);
		rmdir(dir);
		print_message("cannot mount FUSE here: skipping the stalling filesystem\n");
		skip();
	}
	snprintf(file, sizeof(file), "%s/f", dir);
	fuse_file = file;
	child_start(&hostile, true);	/* opens the file, then becomes nobody */
	fuse_file = NULL;
	child_uid = NOBODY - 1;		/* another user */
	child_start(&other, true);
	child_uid = NOBODY;

	alarm(20);	/* a blocked call fails the test instead of hanging it */
	/* Judged where it is, never fetched: nothing to close, nothing held. */
	for (unsigned int i = 0; i < 2 * VFC_REAPER_PER_UID; i++)
		assert_int_equal(p->ops->get_client_fd(p, hostile.pid, hostile.pid,
						       hostile.fusefd, 0), -EBADFD);
	/* The same in eventfd-only mode (SET_IRQS). */
	assert_int_equal(p->ops->get_client_fd(p, hostile.pid, hostile.pid, hostile.fusefd,
					       EVENTFD_ONLY), -EBADFD);
	if (observe)
		assert_int_equal(vfc_reaper_pending((uid_t)-1), 0);
	/* The hostile client's own files still come, and the next client's;
	 * the helper, single-threaded, is not stuck. */
	st = p->ops->get_client_fd(p, hostile.pid, hostile.pid, hostile.evfd, 0);
	assert_true(st >= 0);
	close(st);
	st = p->ops->get_client_fd(p, other.pid, other.pid, other.evfd, 0);
	assert_true(st >= 0);
	close(st);
	if (observe) {
		/* A file swapped in after that check goes to the reaper: its
		 * closes block, are charged to the uid, and end its share. */
		fusefd = open(file, O_RDONLY | O_CLOEXEC);
		assert_true(fusefd >= 0);
		for (unsigned int i = 0; i < VFC_REAPER_PER_UID; i++) {
			assert_int_equal(vfc_reaper_reserve(NOBODY), 0);
			vfc_reaper_close(dup(fusefd), NOBODY);
		}
		assert_int_equal(vfc_reaper_pending(NOBODY), VFC_REAPER_PER_UID);
		assert_int_equal(vfc_reaper_reserve(NOBODY), -EMFILE);
		assert_int_equal(vfc_reaper_reserve(0), 0);	/* another uid's share */
		vfc_reaper_release(0);
		usleep(100000);	/* the closes reached the server and wait */
		assert_int_equal(vfc_reaper_pending(NOBODY), VFC_REAPER_PER_UID);
	}
	alarm(0);

	/* The server dies: the kernel aborts its connection, the closes return. */
	kill(server, SIGKILL);
	waitpid(server, &st, 0);
	stall_server = -1;
	fclose(f);
	if (observe) {
		for (int i = 0; i < 500 && vfc_reaper_pending((uid_t)-1); i++)
			usleep(10000);
		assert_int_equal(vfc_reaper_pending((uid_t)-1), 0);
		close(fusefd);
	}
	child_stop(&hostile);
	child_stop(&other);
	umount2(dir, MNT_DETACH);
	rmdir(dir);
}

/* After a failed check too: a server left alive would block every close of
 * its file, the failing test's children's included. */
static int stall_teardown(void **state)
{
	if (stall_server > 0) {
		kill(stall_server, SIGKILL);
		waitpid(stall_server, NULL, 0);
		stall_server = -1;
		umount2(stall_dir, MNT_DETACH);
		rmdir(stall_dir);
	}
	alarm(0);
	return 0;
}

static void test_stalling_fs_direct(void **state)
{
	skip_without_pidfd();
	vfc_priv_direct_set_major(TEST_MAJOR);
	check_stalling_fs(vfc_priv_direct(), true);
	vfc_priv_direct_set_major(0);
}

static void test_stalling_fs_helper(void **state)
{
	struct vfc_priv *p = start();

	check_stalling_fs(p, false);
	vfc_priv_helper_free(p);
}

/* Malformed requests. */

struct bad {
	const char *what;
	uint32_t op;
	size_t len;
	unsigned int n_fds;
	uint32_t words[8];	/* after the header: 32-bit fields in order */
	const char *name;	/* get_device_fd's name field, raw */
	size_t name_len;
};

#define NAME_OK "0000:00:01.0"
static const char name_no_nul[64] =
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
static const char name_junk[] = "0000:00:01.0\0junk";

#define SZ(op) vfc_helper_ops[op].size
static const struct bad bad_cases[] = {
	{ "short", VFC_HELPER_OPEN_GROUP, 12, 0, { 26 } },
	{ "long", VFC_HELPER_OPEN_GROUP, 20, 0, { 26 } },
	{ "longer than any", VFC_HELPER_OPEN_CONTAINER, 100, 0 },
	{ "header only", VFC_HELPER_GET_CLIENT_FD, 8, 0 },
	{ "4 bytes", VFC_HELPER_OPEN_CONTAINER, 4, 0 },
	{ "empty with an fd", VFC_HELPER_OPEN_CONTAINER, 0, 1 },
	{ "wrong op for the size", VFC_HELPER_OPEN_GROUP, SZ(VFC_HELPER_GET_CLIENT_FD), 0, { 26 } },
	{ "wrong op for the fd", VFC_HELPER_OPEN_GROUP, SZ(VFC_HELPER_GET_DEVICE_FD), 1 },
	{ "op 0", 0, 8, 0 },
	{ "op past the table", VFC_HELPER_N_OPS, 8, 0 },
	{ "op 0xffffffff", 0xffffffff, 8, 0 },
	{ "header reserved", VFC_HELPER_OPEN_CONTAINER, 8, 0, { 0 }, NULL, 0 },
	{ "an fd where none is expected", VFC_HELPER_OPEN_CONTAINER, 8, 1 },
	{ "an fd for open_group", VFC_HELPER_OPEN_GROUP, 16, 1, { 26 } },
	{ "no fd where one is expected", VFC_HELPER_GET_DEVICE_FD, 72, 0, { 0 }, NAME_OK, 13 },
	{ "two fds", VFC_HELPER_GET_DEVICE_FD, 72, 2, { 0 }, NAME_OK, 13 },
	{ "group not allowed", VFC_HELPER_OPEN_GROUP, 16, 0, { 28 } },
	{ "group 0", VFC_HELPER_OPEN_GROUP, 16, 0, { 0 } },
	{ "open_group reserved", VFC_HELPER_OPEN_GROUP, 16, 0, { 26, 1 } },
	{ "name without NUL", VFC_HELPER_GET_DEVICE_FD, 72, 1, { 0 }, name_no_nul, 64 },
	{ "empty name", VFC_HELPER_GET_DEVICE_FD, 72, 1, { 0 }, "", 1 },
	{ "bytes after the NUL", VFC_HELPER_GET_DEVICE_FD, 72, 1, { 0 }, name_junk,
	  sizeof(name_junk) },
	/* op 4 was open_map_file, retired: any message of it is a violation */
	{ "retired op 4", 4, 32, 0, { 1, 0, 0x1000, 0, 0x2000 } },
	{ "retired op 4, header only", 4, 8, 0 },
	/* get_client_fd: pid, tid, fd, flags */
	{ "client pid 0", VFC_HELPER_GET_CLIENT_FD, 24, 0, { 0, 1, 0 } },
	{ "client pid -5", VFC_HELPER_GET_CLIENT_FD, 24, 0, { -5u, 1, 0 } },
	{ "client tid 0", VFC_HELPER_GET_CLIENT_FD, 24, 0, { 1, 0, 0 } },
	{ "client fd -1", VFC_HELPER_GET_CLIENT_FD, 24, 0, { 1, 1, -1u } },
	{ "client flags unknown", VFC_HELPER_GET_CLIENT_FD, 24, 0, { 1, 1, 0, 2 } },
	{ "client flags high bit", VFC_HELPER_GET_CLIENT_FD, 24, 0, { 1, 1, 0, 0x80000001u } },
};

/* Count the lines of @text containing @what. */
static int count_lines(const char *text, const char *what)
{
	int n = 0;

	for (const char *p = text; (p = strstr(p, what)); p += strlen(what))
		n++;
	return n;
}

static void test_violations(void **state)
{
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);

	for (unsigned int i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad *b = &bad_cases[i];
		uint8_t msg[128] = { 0 };
		int fds[2] = { devnull, devnull };
		char log[4096] = "";
		int saved, tmp, r1, r2, r3, st;
		unsigned long errs;
		struct vfc_priv *p;
		ssize_t n;
		FILE *f;

		memcpy(msg, &b->op, 4);
		memcpy(msg + 8, b->words, sizeof(b->words));
		if (!strcmp(b->what, "header reserved"))
			msg[4] = 1;
		if (b->name)
			memcpy(msg + 8, b->name, b->name_len);

		/* The helper's stderr and ours go to a file while it runs. */
		f = tmpfile();
		assert_non_null(f);
		tmp = fileno(f);
		saved = dup(2);
		dup2(tmp, 2);
		errs = vfc_log_count(LOG_ERR);
		p = start();
		r1 = vfc_priv_helper_call(p, msg, b->len, fds, b->n_fds);
		r2 = p->ops->open_container(p);
		r3 = p->ops->get_client_fd(p, getpid(), getpid(), 0, 0);
		st = vfc_priv_helper_wait_status(p);
		errs = vfc_log_count(LOG_ERR) - errs;
		vfc_priv_helper_free(p);
		fflush(stderr);
		dup2(saved, 2);
		close(saved);
		n = pread(tmp, log, sizeof(log) - 1, 0);
		log[n > 0 ? n : 0] = '\0';
		fclose(f);

		if (r1 != -EIO || r2 != -EIO || r3 != -EIO)
			fail_msg("%s: %d %d %d, not -EIO", b->what, r1, r2, r3);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != VFC_HELPER_EXIT_VIOLATION)
			fail_msg("%s: wait status %#x", b->what, st);
		if (errs != 1 || count_lines(log, "vfio-cuse-helper: protocol violation") != 1 ||
		    count_lines(log, "privileged helper exited: status 3 (protocol violation)") != 1)
			fail_msg("%s: %lu errors logged: \"%s\"", b->what, errs, log);
	}
	close(devnull);
}

/* The raw binary: start-up checks, the wire, and the daemon's end. */

static pid_t spawn(const char *const *argv, int type, int *ret_sock)
{
	int sv[2];
	pid_t pid;

	assert_int_equal(socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int quiet = open("/dev/null", O_WRONLY);

		if (dup2(fcntl(sv[1], F_DUPFD, 10), VFC_HELPER_SOCKET_FD) < 0 || dup2(quiet, 2) < 0)
			_exit(125);
		execv(helper_path, (char **)argv);
		_exit(127);
	}
	close(sv[1]);
	*ret_sock = sv[0];
	return pid;
}

static int wait_exit(pid_t pid)
{
	int st;

	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static void test_raw(void **state)
{
	const char *ok[] = { helper_path, "1", "26", NULL };
	const char *none[] = { helper_path, NULL };
	const char *word[] = { helper_path, "1", "x26", NULL };
	const char *sign[] = { helper_path, "-1", NULL };
	struct vfc_helper_open_group req = { .hdr.op = VFC_HELPER_OPEN_GROUP, .group = 26 };
	struct vfc_helper_reply rep;
	int sock;
	pid_t pid;

	/* Bad argv, or no SOCK_SEQPACKET socket on fd 3. */
	pid = spawn(none, SOCK_SEQPACKET, &sock);
	assert_int_equal(wait_exit(pid), VFC_HELPER_EXIT_SETUP);
	close(sock);
	pid = spawn(word, SOCK_SEQPACKET, &sock);
	assert_int_equal(wait_exit(pid), VFC_HELPER_EXIT_SETUP);
	close(sock);
	pid = spawn(sign, SOCK_SEQPACKET, &sock);
	assert_int_equal(wait_exit(pid), VFC_HELPER_EXIT_SETUP);
	close(sock);
	pid = spawn(ok, SOCK_STREAM, &sock);
	assert_int_equal(wait_exit(pid), VFC_HELPER_EXIT_SETUP);
	close(sock);

	/* The wire: one 8-byte reply, no fd, for a failed op. */
	pid = spawn(ok, SOCK_SEQPACKET, &sock);
	assert_int_equal(send(sock, &req, sizeof(req), 0), sizeof(req));
	assert_int_equal(recv(sock, &rep, sizeof(rep), 0), sizeof(rep));
	assert_true(access("/dev/vfio/26", F_OK) == 0 || rep.status == -ENOENT);
	assert_int_equal(rep.reserved, 0);
	/* The daemon's end closes: the helper exits 0. */
	close(sock);
	assert_int_equal(wait_exit(pid), VFC_HELPER_EXIT_OK);

	/* A helper path that does not exist: start fails, nothing runs. */
	{
		struct vfc_priv *p = NULL;

		assert_int_equal(vfc_priv_helper_start("/nonexistent/helper", allowed, 2, 1, &p),
				 -ENOENT);
		assert_null(p);
	}
}

/* Our newest child: the helper just started. */
static pid_t newest_child(void)
{
	char path[64];
	int pid = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/children", gettid());
	f = fopen(path, "re");
	assert_non_null(f);
	while (fscanf(f, "%d", &pid) == 1)
		;
	fclose(f);
	return pid;
}

/* A helper killed under us: -EIO from then on, logged once. */
static void test_helper_killed(void **state)
{
	struct vfc_priv *p = start();
	unsigned long errs = vfc_log_count(LOG_ERR);
	pid_t pid = newest_child();
	int st;

	assert_true(pid > 0);
	assert_int_equal(vfc_priv_helper_wait_status(p), -1);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(p->ops->open_container(p), -EIO);
	assert_int_equal(p->ops->open_group(p, 26), -EIO);
	st = vfc_priv_helper_wait_status(p);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	assert_int_equal(vfc_log_count(LOG_ERR) - errs, 1);
	vfc_priv_helper_free(p);
}

/* The daemon's side checks replies too: a "helper" that breaks the protocol
 * is killed, reported once, and every op fails with -EIO. */
static void test_bad_replies(void **state)
{
	static const char *const replies[] = {
		"garbage",				/* 7 bytes */
		"\\001\\000\\000\\000\\000\\000\\000\\000",	/* status 1 */
		"\\000\\000\\000\\000\\000\\000\\000\\000",	/* status 0, no fd */
		"\\376\\377\\377\\377\\001\\000\\000\\000",	/* reserved 1 */
	};
	char path[] = "/tmp/vfc-fake-helper-XXXXXX";

	for (unsigned int i = 0; i < sizeof(replies) / sizeof(replies[0]); i++) {
		int fd = mkstemp(path), st;
		unsigned long errs;
		struct vfc_priv *p = NULL;

		assert_true(fd >= 0);
		assert_true(dprintf(fd, "#!/bin/sh\nprintf '%s' >&3\nexec sleep 10\n", replies[i]) > 0);
		assert_int_equal(fchmod(fd, 0700), 0);
		close(fd);
		assert_int_equal(vfc_priv_helper_start(path, allowed, 2, TEST_MAJOR, &p), 0);
		errs = vfc_log_count(LOG_ERR);
		assert_int_equal(p->ops->open_container(p), -EIO);
		assert_int_equal(p->ops->open_container(p), -EIO);
		assert_int_equal(vfc_log_count(LOG_ERR) - errs, 1);
		st = vfc_priv_helper_wait_status(p);
		assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
		vfc_priv_helper_free(p);
		unlink(path);
		strcpy(path, "/tmp/vfc-fake-helper-XXXXXX");
	}
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_raw),
		cmocka_unit_test(test_helper_ops),
		cmocka_unit_test(test_direct_ops),
		cmocka_unit_test_teardown(test_stalling_fs_direct, stall_teardown),
		cmocka_unit_test_teardown(test_stalling_fs_helper, stall_teardown),
		cmocka_unit_test(test_swapping_client_direct),
		cmocka_unit_test(test_swapping_client_helper),
		cmocka_unit_test(test_violations),
		cmocka_unit_test(test_helper_killed),
		cmocka_unit_test(test_bad_replies),
	};

	if (argc < 3) {
		fprintf(stderr, "usage: test-helper PATH-TO-vfio-cuse-helper PATH-TO-vfc-fuse-stall\n");
		return 1;
	}
	if (geteuid() != 0) {
		printf("not root: skipping (the helper's ops need root)\n");
		return 77;
	}
	helper_path = argv[1];
	fuse_stall_path = argv[2];
	vfc_log_set_max_level(LOG_WARNING);
	return cmocka_run_group_tests_name("helper", tests, NULL, NULL);
}
