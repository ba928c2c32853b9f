// SPDX-License-Identifier: MIT
/*
 * The thread id -> thread group cache (cuse/tgid.c): hits cost no /proc
 * read, misses one; an entry that names the wrong group for a live thread
 * (as after a tid's reuse by another process) and an entry of a thread
 * that exited are corrected, never believed; a real tid reuse through
 * ns_last_pid where root may force one; hostile tids; threads at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "tgid.h"

static struct vfc_tgid_cache cache;

static uint64_t reads(void)
{
	return cache.proc_reads;
}

static int reset(void **state)
{
	memset(&cache, 0, sizeof(cache));
	return 0;
}

/* A child that waits until its pipe closes: a live process of our making. */
static pid_t child_start(int *ret_release)
{
	int p[2];
	pid_t pid;
	char b;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[1]);
		_exit(read(p[0], &b, 1) < 0);
	}
	close(p[0]);
	*ret_release = p[1];
	return pid;
}

static void child_stop(pid_t pid, int release)
{
	close(release);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
}

static void test_hit_and_miss(void **state)
{
	pid_t self = getpid(), tid = gettid();

	/* miss: one read, then hits: none */
	assert_int_equal(vfc_tgid_cache_lookup(&cache, tid), self);
	assert_int_equal(reads(), 1);
	for (int i = 0; i < 100; i++)
		assert_int_equal(vfc_tgid_cache_lookup(&cache, tid), self);
	assert_int_equal(reads(), 1);
	/* the uncached read agrees */
	assert_int_equal(vfc_tgid_read_proc(tid), self);
}

static void *thread_tid(void *arg)
{
	*(pid_t *)arg = gettid();
	return NULL;
}

static void *thread_lookup(void *arg)
{
	pid_t tid = gettid();

	for (int i = 0; i < 2000; i++)
		if (vfc_tgid_cache_lookup(&cache, tid) != getpid())
			return (void *)1;
	return NULL;
}

/* A thread's tid names its process, not itself. */
static void test_thread(void **state)
{
	pthread_t t;
	void *r;

	assert_int_equal(pthread_create(&t, NULL, thread_lookup, NULL), 0);
	assert_int_equal(pthread_join(t, &r), 0);
	assert_null(r);
}

/* Another process's live tid cached with our pid: corrected by one read. */
static void test_stale_wrong_group(void **state)
{
	int release;
	pid_t child = child_start(&release);

	vfc_tgid_cache_store(&cache, child, getpid());
	assert_int_equal(vfc_tgid_cache_lookup(&cache, child), child);
	assert_int_equal(reads(), 1);
	assert_int_equal(vfc_tgid_cache_lookup(&cache, child), child);
	assert_int_equal(reads(), 1);
	/* and the other way: our tid cached as the child's */
	vfc_tgid_cache_store(&cache, gettid(), child);
	assert_int_equal(vfc_tgid_cache_lookup(&cache, gettid()), getpid());
	assert_int_equal(reads(), 2);
	child_stop(child, release);
}

/* A thread that exited: its entry fails the check; nothing is invented. */
static void test_stale_dead(void **state)
{
	pthread_t t;
	pid_t tid = 0;

	assert_int_equal(pthread_create(&t, NULL, thread_tid, &tid), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_true(tid > 0);
	vfc_tgid_cache_store(&cache, tid, getpid());
	/* unless the tid went to someone already, it is gone */
	if (vfc_tgid_read_proc(tid) > 0) {
		print_message("tid %d already reused: skipping\n", tid);
		skip();
	}
	assert_int_equal(vfc_tgid_cache_lookup(&cache, tid), -ESRCH);
	assert_int_equal(reads(), 1);
	assert_int_equal(vfc_tgid_cache_lookup(&cache, tid), -ESRCH);
	assert_int_equal(reads(), 2);	/* a failure is not cached */
}

/*
 * The real thing: a thread of ours exits and a new process gets its tid.
 * Root can ask for the next pid through ns_last_pid; without it, or if
 * another fork takes the number first, skip (the stale tests above cover
 * the logic).
 */
static void test_tid_reuse(void **state)
{
	pthread_t t;
	pid_t tid = 0, child;
	int release, p[2];
	char b;
	FILE *f;

	assert_int_equal(pthread_create(&t, NULL, thread_tid, &tid), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	/* cached while it lived, as a request would have left it */
	vfc_tgid_cache_store(&cache, tid, getpid());

	f = fopen("/proc/sys/kernel/ns_last_pid", "we");
	if (!f || fprintf(f, "%d", tid - 1) < 0 || fclose(f) != 0) {
		print_message("cannot write ns_last_pid: skipping the real reuse\n");
		skip();
	}
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		close(p[1]);
		_exit(read(p[0], &b, 1) < 0);
	}
	close(p[0]);
	release = p[1];
	if (child != tid) {
		child_stop(child, release);
		print_message("the child got %d, not %d: skipping\n", child, tid);
		skip();
	}
	assert_int_equal(vfc_tgid_cache_lookup(&cache, tid), child);
	assert_int_equal(reads(), 1);
	child_stop(child, release);
	/* and once that process is gone too */
	assert_int_equal(vfc_tgid_cache_lookup(&cache, tid), -ESRCH);
}

/* Two tids in one slot take turns; each answer stays right. */
static void test_collision(void **state)
{
	pid_t tid = gettid(), other = tid + VFC_TGID_CACHE_SLOTS;

	vfc_tgid_cache_store(&cache, other, 1);
	assert_int_equal(vfc_tgid_cache_lookup(&cache, tid), getpid());
	assert_int_equal(reads(), 1);
	vfc_tgid_cache_store(&cache, other, 1);
	assert_int_equal(vfc_tgid_cache_lookup(&cache, tid), getpid());
	assert_int_equal(reads(), 2);
}

static void test_hostile_tids(void **state)
{
	const pid_t bad[] = { 0, -1, -ESRCH, INT_MIN, INT_MAX, 4194305, 0x7ffffff0 };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(vfc_tgid_cache_lookup(&cache, bad[i]), -ESRCH);
		assert_int_equal(vfc_tgid_read_proc(bad[i]), -ESRCH);
		/* stored junk changes nothing */
		vfc_tgid_cache_store(&cache, bad[i], getpid());
		assert_int_equal(vfc_tgid_cache_lookup(&cache, bad[i]), -ESRCH);
	}
	/* nothing stored for <= 0 */
	for (unsigned int i = 0; i < VFC_TGID_CACHE_SLOTS; i++)
		assert_true(cache.slot[i] == 0 || (int32_t)(cache.slot[i] >> 32) > 0);
	/* pid 1 exists, as a real tgid, but tid 1 in group INT_MAX does not */
	vfc_tgid_cache_store(&cache, 1, INT_MAX);
	assert_int_equal(vfc_tgid_cache_lookup(&cache, 1), 1);
}

/* The poll thread and the workers at once. */
static void test_threads(void **state)
{
	enum { N = 8 };
	pthread_t t[N];
	void *r;

	for (int i = 0; i < N; i++)
		assert_int_equal(pthread_create(&t[i], NULL, thread_lookup, NULL), 0);
	for (int i = 0; i < N; i++) {
		assert_int_equal(pthread_join(t[i], &r), 0);
		assert_null(r);
	}
	assert_true(reads() <= N);
}

/* The daemon's own cache, as files.c and caller.c use it. */
static void test_daemon_cache(void **state)
{
	assert_int_equal(vfc_tgid_of(gettid()), getpid());
	assert_int_equal(vfc_tgid_of(gettid()), getpid());
	assert_int_equal(vfc_tgid_of(0), -ESRCH);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_hit_and_miss, reset),
		cmocka_unit_test_setup(test_thread, reset),
		cmocka_unit_test_setup(test_stale_wrong_group, reset),
		cmocka_unit_test_setup(test_stale_dead, reset),
		cmocka_unit_test_setup(test_tid_reuse, reset),
		cmocka_unit_test_setup(test_collision, reset),
		cmocka_unit_test_setup(test_hostile_tids, reset),
		cmocka_unit_test_setup(test_threads, reset),
		cmocka_unit_test_setup(test_daemon_cache, reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
