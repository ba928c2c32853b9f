// SPDX-License-Identifier: MIT
/*
 * Device DMA through the software IOMMU: transfers split across mappings,
 * permissions, faults, another process's memory, owners that die with
 * live mappings, idle owners (kept after their last unmap: reused, evicted
 * at the limit, dropped when dead), DMA to a vaddr invalidated by
 * UNMAP_DMA with VADDR (it waits, bounded; the new owner), 1 TiB of IOVA
 * aliasing one 4 GiB buffer without RSS, and DMA racing map/unmap.
 */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "emu-iommu-priv.h"
#include "emu-iommu-testutil.h"
#include "vfc-log.h"

#define RW (VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)
#define PAGE 4096ul

static void *open_iommu(void)
{
	struct vfc_emu_iommu_config cfg;
	void *data = NULL;

	vfc_emu_iommu_config_init(&cfg);
	assert_int_equal(vfc_emu_iommu_ops.open(&cfg, VFIO_TYPE1v2_IOMMU, &data), 0);
	assert_int_equal(vfc_emu_iommu_ops.attach_group(data, NULL), 0);
	return data;
}

static int map_for(void *d, pid_t pid, uint64_t iova, const void *vaddr, uint64_t size,
		   uint32_t flags)
{
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m), .flags = flags, .vaddr = (uint64_t)(uintptr_t)vaddr,
		.iova = iova, .size = size,
	};

	return emu_ioctl(d, pid, VFIO_IOMMU_MAP_DMA, &m, sizeof(m), NULL);
}

static int unmap(void *d, uint64_t iova, uint64_t size, uint64_t *ret_size)
{
	struct vfio_iommu_type1_dma_unmap u = { .argsz = sizeof(u), .iova = iova, .size = size };
	int r = emu_ioctl(d, getpid(), VFIO_IOMMU_UNMAP_DMA, &u, sizeof(u), NULL);

	if (ret_size)
		*ret_size = u.size;
	return r;
}

static int dma(void *d, uint64_t iova, void *buf, size_t len, bool write)
{
	return vfc_emu_iommu_ops.dma_rw(d, iova, buf, len, write);
}

static uint8_t pat(unsigned int seed, size_t i)
{
	return (uint8_t)(seed * 37 + i * 131 + (i >> 9));
}

static void *pages(size_t n)
{
	void *p = mmap(NULL, n * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);

	assert_true(p != MAP_FAILED);
	return p;
}

static void test_dma_split(void **state)
{
	void *d = open_iommu();
	uint8_t *buf = pages(4), *io = malloc(4 * PAGE), *chk = malloc(4 * PAGE);

	/* IOVA [0x10000, 0x14000) is buf's second half, then its first half. */
	assert_int_equal(map_for(d, getpid(), 0x10000, buf + 2 * PAGE, 2 * PAGE, RW), 0);
	assert_int_equal(map_for(d, getpid(), 0x12000, buf, 2 * PAGE, RW), 0);
	for (size_t i = 0; i < 4 * PAGE; i++)
		io[i] = pat(1, i);
	assert_int_equal(dma(d, 0x10000, io, 4 * PAGE, true), 0);
	assert_memory_equal(buf + 2 * PAGE, io, 2 * PAGE);
	assert_memory_equal(buf, io + 2 * PAGE, 2 * PAGE);
	memset(chk, 0, 4 * PAGE);
	assert_int_equal(dma(d, 0x11ff0, chk, 0x20, false), 0);
	assert_memory_equal(chk, io + 0x1ff0, 0x20);
	assert_int_equal(dma(d, 0x10000, chk, 4 * PAGE, false), 0);
	assert_memory_equal(chk, io, 4 * PAGE);

	/* a gap anywhere in the range: EFAULT, and nothing moved */
	memcpy(chk, buf, 4 * PAGE);
	memset(io, 0xee, 4 * PAGE);
	assert_int_equal(dma(d, 0x13000, io, 2 * PAGE, true), -EFAULT);
	assert_int_equal(dma(d, 0x0f000, io, 2 * PAGE, true), -EFAULT);
	assert_int_equal(dma(d, 0x14000, io, 1, false), -EFAULT);
	assert_memory_equal(chk, buf, 4 * PAGE);
	/* nothing to move, and ranges that wrap */
	assert_int_equal(dma(d, 0x14000, io, 0, true), 0);
	assert_int_equal(dma(d, UINT64_MAX - 10, io, 100, false), -EFAULT);
	vfc_emu_iommu_ops.release(d);
	munmap(buf, 4 * PAGE);
	free(io);
	free(chk);
}

static void test_dma_permissions(void **state)
{
	void *d = open_iommu();
	uint8_t *buf = pages(2);
	uint8_t x[16] = { 1, 2, 3 };

	assert_int_equal(map_for(d, getpid(), 0x20000, buf, PAGE, VFIO_DMA_MAP_FLAG_READ), 0);
	assert_int_equal(map_for(d, getpid(), 0x21000, buf + PAGE, PAGE, VFIO_DMA_MAP_FLAG_WRITE),
			 0);
	/* device writes need WRITE, device reads need READ */
	assert_int_equal(dma(d, 0x20000, x, sizeof(x), true), -EFAULT);
	assert_int_equal(dma(d, 0x20000, x, sizeof(x), false), 0);
	assert_int_equal(dma(d, 0x21000, x, sizeof(x), false), -EFAULT);
	assert_int_equal(dma(d, 0x21000, x, sizeof(x), true), 0);
	/* across both: each direction faults on one of them */
	assert_int_equal(dma(d, 0x20ff8, x, sizeof(x), true), -EFAULT);
	assert_int_equal(dma(d, 0x20ff8, x, sizeof(x), false), -EFAULT);
	vfc_emu_iommu_ops.release(d);
	munmap(buf, 2 * PAGE);
}

/* The owner's memory went away or is read-only: a fault, never a crash. */
static void test_dma_owner_memory(void **state)
{
	void *d = open_iommu();
	uint8_t *buf = pages(2);
	uint8_t x[64] = { 0 };

	assert_int_equal(map_for(d, getpid(), 0x30000, buf, 2 * PAGE, RW), 0);
	assert_int_equal(mprotect(buf + PAGE, PAGE, PROT_READ), 0);
	assert_int_equal(dma(d, 0x31000, x, sizeof(x), true), -EFAULT);
	assert_int_equal(dma(d, 0x31000, x, sizeof(x), false), 0);
	assert_int_equal(munmap(buf, 2 * PAGE), 0);
	assert_int_equal(dma(d, 0x30000, x, sizeof(x), false), -EFAULT);
	assert_int_equal(dma(d, 0x30000, x, sizeof(x), true), -EFAULT);
	/* the owner is alive: its mapping stays */
	assert_int_equal(vfc_emu_iommu_count(d), 1);
	vfc_emu_iommu_ops.release(d);
}

/* More segments than one process_vm_* call takes. */
static void test_dma_many_segments(void **state)
{
	enum { N = 600 };
	void *d = open_iommu();
	uint8_t *buf = pages(N), *io = malloc(N * PAGE), *chk = malloc(N * PAGE);

	/* page i of the IOVA range is page N-1-i of buf: nothing merges */
	for (size_t i = 0; i < N; i++)
		assert_int_equal(map_for(d, getpid(), 0x100000 + i * PAGE, buf + (N - 1 - i) * PAGE,
					 PAGE, RW), 0);
	for (size_t i = 0; i < N * PAGE; i++)
		io[i] = pat(2, i);
	assert_int_equal(dma(d, 0x100000 + 100, io, N * PAGE - 200, true), 0);
	for (size_t i = 1; i < N - 1; i++)
		assert_memory_equal(buf + (N - 1 - i) * PAGE, io + i * PAGE - 100, PAGE);
	assert_int_equal(dma(d, 0x100000 + 100, chk, N * PAGE - 200, false), 0);
	assert_memory_equal(chk, io, N * PAGE - 200);
	vfc_emu_iommu_ops.release(d);
	munmap(buf, N * PAGE);
	free(io);
	free(chk);
}

/* Adjacent mappings of contiguous memory still move in one piece. */
static void test_dma_contiguous(void **state)
{
	enum { N = 300 };
	void *d = open_iommu();
	uint8_t *buf = pages(N), *io = malloc(N * PAGE);

	for (size_t i = 0; i < N; i++)
		assert_int_equal(map_for(d, getpid(), 0x100000 + i * PAGE, buf + i * PAGE, PAGE,
					 RW), 0);
	for (size_t i = 0; i < N * PAGE; i++)
		io[i] = pat(3, i);
	assert_int_equal(dma(d, 0x100000, io, N * PAGE, true), 0);
	assert_memory_equal(buf, io, N * PAGE);
	vfc_emu_iommu_ops.release(d);
	munmap(buf, N * PAGE);
	free(io);
}

/*
 * A child process: fills @len bytes at @buf (allocated before the fork, so
 * the parent knows the address) with pat(@seed), says ready, waits for go,
 * then checks for pat(@expect) when @expect is not 0. Exit status 0 = ok.
 */
struct child {
	pid_t pid;
	int go;		/* write end: let it go */
};

static struct child spawn(uint8_t *buf, size_t len, unsigned int seed, unsigned int expect)
{
	int ready[2], go[2];
	struct child c;
	char b = 0;

	assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
	assert_int_equal(pipe2(go, O_CLOEXEC), 0);
	c.pid = fork();
	assert_true(c.pid >= 0);
	if (c.pid == 0) {
		close(ready[0]);
		close(go[1]);
		for (size_t i = 0; i < len; i++)
			buf[i] = pat(seed, i);
		if (write(ready[1], &b, 1) != 1)
			_exit(2);
		if (read(go[0], &b, 1) != 1)
			_exit(3);
		for (size_t i = 0; expect && i < len; i++)
			if (buf[i] != pat(expect, i))
				_exit(1);
		_exit(0);
	}
	close(ready[1]);
	close(go[0]);
	assert_int_equal(read(ready[0], &b, 1), 1);
	close(ready[0]);
	c.go = go[1];
	return c;
}

static int finish(struct child c)
{
	int status;

	assert_int_equal(write(c.go, "g", 1), 1);
	close(c.go);
	assert_int_equal(waitpid(c.pid, &status, 0), c.pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void test_dma_cross_process(void **state)
{
	const size_t len = 64 * 1024;
	void *d = open_iommu();
	uint8_t *buf = pages(len / PAGE), *io = malloc(len);
	struct child c;

	memset(buf, 0, len);
	c = spawn(buf, len, 7, 9);
	/* The daemon maps on behalf of the client: the client's pid, its address. */
	assert_int_equal(map_for(d, c.pid, 0x100000, buf, len, RW), 0);
	assert_int_equal(dma(d, 0x100000, io, len, false), 0);
	for (size_t i = 0; i < len; i++)
		if (io[i] != pat(7, i))
			fail_msg("byte %zu: 0x%x", i, io[i]);
	assert_int_equal(buf[1], 0);	/* our own copy is untouched */
	for (size_t i = 0; i < len; i++)
		io[i] = pat(9, i);
	assert_int_equal(dma(d, 0x100000, io, len, true), 0);
	assert_int_equal(buf[1], 0);
	assert_int_equal(finish(c), 0);
	vfc_emu_iommu_ops.release(d);
	munmap(buf, len);
	free(io);
}

/* One transfer over the memory of several processes, past the fast path. */
static void test_dma_many_owners(void **state)
{
	enum { N = 11 };
	void *d = open_iommu();
	uint8_t *buf = pages(1), *io = malloc(N * PAGE);
	struct child c[N];

	struct child x;
	siginfo_t si;

	for (unsigned int i = 0; i < N; i++) {
		c[i] = spawn(buf, PAGE, 20 + i, 40 + i);
		assert_int_equal(map_for(d, c[i].pid, 0x100000 + i * PAGE, buf, PAGE, RW), 0);
	}
	/* one more owner, elsewhere, that dies: it must not fail these DMAs */
	x = spawn(buf, PAGE, 99, 0);
	assert_int_equal(map_for(d, x.pid, 0x200000, buf, PAGE, RW), 0);
	assert_int_equal(kill(x.pid, SIGKILL), 0);
	assert_int_equal(waitid(P_PID, x.pid, &si, WEXITED | WNOWAIT), 0);
	for (unsigned int n = 2; n <= N; n += N - 2) {
		/* 2 owners take the batched path, 11 the any-owner one */
		assert_int_equal(dma(d, 0x100000, io, n * PAGE, false), 0);
		for (unsigned int i = 0; i < n; i++)
			for (size_t k = 0; k < PAGE; k++)
				if (io[i * PAGE + k] != pat(20 + i, k))
					fail_msg("owner %u byte %zu", i, k);
	}
	for (unsigned int i = 0; i < N; i++)
		for (size_t k = 0; k < PAGE; k++)
			io[i * PAGE + k] = pat(40 + i, k);
	assert_int_equal(dma(d, 0x100000, io, N * PAGE, true), 0);
	assert_int_equal(vfc_emu_iommu_count(d), N);	/* the dead one's went */
	for (unsigned int i = 0; i < N; i++)
		assert_int_equal(finish(c[i]), 0);
	assert_int_equal(waitpid(x.pid, NULL, 0), x.pid);
	close(x.go);
	vfc_emu_iommu_ops.release(d);
	munmap(buf, PAGE);
	free(io);
}

static void test_owner_death(void **state)
{
	void *d = open_iommu();
	uint8_t *buf = pages(4), *mine = pages(1);
	uint8_t x[32] = { 0 };
	struct child c;
	siginfo_t si;

	/* twice: killed and left a zombie, then killed and reaped */
	for (int round = 0; round < 2; round++) {
		c = spawn(buf, 4 * PAGE, 5, 0);
		assert_int_equal(map_for(d, c.pid, 0x100000, buf, PAGE, RW), 0);
		assert_int_equal(map_for(d, c.pid, 0x101000, buf + PAGE, PAGE, RW), 0);
		assert_int_equal(map_for(d, c.pid, 0x200000, buf + 2 * PAGE, 2 * PAGE, RW), 0);
		assert_int_equal(map_for(d, getpid(), 0x300000, mine, PAGE, RW), 0);
		assert_int_equal(dma(d, 0x100ff0, x, sizeof(x), false), 0);
		assert_int_equal(x[0], pat(5, 0xff0));
		assert_int_equal(vfc_emu_iommu_reap(d), 0);

		assert_int_equal(kill(c.pid, SIGKILL), 0);
		if (round == 0) {
			/* exited, not reaped: the pid cannot be reused yet */
			assert_int_equal(waitid(P_PID, c.pid, &si, WEXITED | WNOWAIT), 0);
			/* a DMA that does not touch its memory is not its business */
			assert_int_equal(dma(d, 0x300000, x, sizeof(x), false), 0);
			assert_int_equal(vfc_emu_iommu_count(d), 4);
			assert_int_equal(dma(d, 0x100000, x, sizeof(x), true), -EFAULT);
			/* the DMA's check took all three of its mappings */
			assert_int_equal(vfc_emu_iommu_count(d), 1);
			assert_int_equal(dma(d, 0x200000, x, sizeof(x), false), -EFAULT);
		} else {
			assert_int_equal(waitpid(c.pid, NULL, 0), c.pid);
			assert_int_equal(vfc_emu_iommu_reap(d), 3);
			assert_int_equal(vfc_emu_iommu_count(d), 1);
			assert_int_equal(dma(d, 0x101000, x, sizeof(x), false), -EFAULT);
		}
		/* our own mapping is untouched */
		assert_int_equal(dma(d, 0x300000, x, sizeof(x), true), 0);
		/* the IOVAs are free to map again */
		assert_int_equal(map_for(d, getpid(), 0x100000, mine, PAGE, RW), 0);
		assert_int_equal(unmap(d, 0, 1ull << 32, NULL), 0);
		if (round == 0)
			assert_int_equal(waitpid(c.pid, NULL, 0), c.pid);
		close(c.go);
	}
	vfc_emu_iommu_ops.release(d);
	munmap(buf, 4 * PAGE);
	munmap(mine, PAGE);
}

/* An ioctl notices a dead owner before it answers. */
static void test_owner_death_ioctl(void **state)
{
	void *d = open_iommu();
	uint8_t *buf = pages(1);
	uint8_t info[256] = { 0 };
	struct child c = spawn(buf, PAGE, 5, 0);
	uint64_t size = 1;

	assert_int_equal(map_for(d, c.pid, 0x100000, buf, PAGE, RW), 0);
	assert_int_equal(kill(c.pid, SIGKILL), 0);
	assert_int_equal(waitpid(c.pid, NULL, 0), c.pid);
	/* its IOVA is free for the next map: no EEXIST */
	assert_int_equal(map_for(d, getpid(), 0x100000, buf, PAGE, RW), 0);
	assert_int_equal(unmap(d, 0x100000, PAGE, &size), 0);
	assert_int_equal(size, PAGE);
	close(c.go);

	c = spawn(buf, PAGE, 5, 0);
	assert_int_equal(map_for(d, c.pid, 0x100000, buf, PAGE, RW), 0);
	assert_int_equal(kill(c.pid, SIGKILL), 0);
	assert_int_equal(waitpid(c.pid, NULL, 0), c.pid);
	((struct vfio_iommu_type1_info *)info)->argsz = sizeof(info);
	assert_int_equal(emu_ioctl(d, getpid(), VFIO_IOMMU_GET_INFO, info, sizeof(info), NULL), 0);
	assert_int_equal(((struct vfio_iommu_type1_info_dma_avail *)(info + 56))->avail, 65535);
	close(c.go);
	/* a map for a process that is gone fails */
	assert_int_equal(map_for(d, c.pid, 0x100000, buf, PAGE, RW), -ESRCH);
	vfc_emu_iommu_ops.release(d);
	munmap(buf, PAGE);
}

/* pidfd_open() calls the container made so far. */
static uint64_t pidfd_opens(void *d)
{
	return ((struct vfc_emu_iommu *)d)->pidfd_opens;
}

/* Open fds of this process. */
static unsigned int count_fds(void)
{
	DIR *dir = opendir("/proc/self/fd");
	unsigned int n = 0;

	assert_non_null(dir);
	while (readdir(dir))
		n++;
	closedir(dir);
	return n;
}

static bool have_pidfd(void)
{
	int fd = (int)syscall(SYS_pidfd_open, getpid(), 0);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* MAP+UNMAP pairs of one process open its pidfd once: the owner idles. */
static void test_owner_idle_reuse(void **state)
{
	void *d = open_iommu();
	uint8_t *buf = pages(1), x[16];
	uint64_t opens = pidfd_opens(d);
	unsigned int fds = count_fds();

	for (int i = 0; i < 100; i++) {
		assert_int_equal(map_for(d, getpid(), 0x100000, buf, PAGE, RW), 0);
		assert_int_equal(dma(d, 0x100000, x, sizeof(x), false), 0);
		assert_int_equal(unmap(d, 0x100000, PAGE, NULL), 0);
	}
	assert_int_equal(pidfd_opens(d) - opens, 1);
	/* the idle owner holds its pidfd (where pidfd_open exists) and its
	 * /proc/<pid>/maps ... */
	assert_int_equal(count_fds(), fds + have_pidfd() + 1);
	/* ... which a reap of a live process leaves alone */
	assert_int_equal(vfc_emu_iommu_reap(d), 0);
	assert_int_equal(map_for(d, getpid(), 0x100000, buf, PAGE, RW), 0);
	assert_int_equal(pidfd_opens(d) - opens, 1);
	/* release closes it, idle or not (valgrind --track-fds sees the rest) */
	vfc_emu_iommu_ops.release(d);
	assert_int_equal(count_fds(), fds);
	munmap(buf, PAGE);
}

/* Idle owners count against max_owners and make room for new ones. */
static void test_owner_idle_evict(void **state)
{
	struct vfc_emu_iommu_config cfg;
	uint8_t *buf = pages(1);
	struct child a = spawn(buf, PAGE, 1, 0), b = spawn(buf, PAGE, 2, 0),
		     c = spawn(buf, PAGE, 3, 0);
	unsigned int fds = count_fds();
	uint64_t opens;
	uint8_t x[16];
	void *d;

	vfc_emu_iommu_config_init(&cfg);
	cfg.max_owners = 2;
	assert_int_equal(vfc_emu_iommu_ops.open(&cfg, VFIO_TYPE1v2_IOMMU, &d), 0);
	assert_int_equal(vfc_emu_iommu_ops.attach_group(d, NULL), 0);
	opens = pidfd_opens(d);

	assert_int_equal(map_for(d, a.pid, 0x100000, buf, PAGE, RW), 0);
	assert_int_equal(unmap(d, 0x100000, PAGE, NULL), 0);	/* a idles */
	assert_int_equal(map_for(d, b.pid, 0x200000, buf, PAGE, RW), 0);
	/* full (a idle, b mapped): c evicts a */
	assert_int_equal(map_for(d, c.pid, 0x300000, buf, PAGE, RW), 0);
	assert_int_equal(pidfd_opens(d) - opens, 3);
	/* full, none idle: refused as before */
	assert_int_equal(map_for(d, a.pid, 0x100000, buf, PAGE, RW), -ENOSPC);
	assert_int_equal(pidfd_opens(d) - opens, 3);
	/* c idles: a evicts it, with a new pidfd since its old one went */
	assert_int_equal(unmap(d, 0x300000, PAGE, NULL), 0);
	assert_int_equal(map_for(d, a.pid, 0x100000, buf, PAGE, RW), 0);
	assert_int_equal(pidfd_opens(d) - opens, 4);
	assert_int_equal(dma(d, 0x100000, x, sizeof(x), false), 0);
	assert_int_equal(x[3], pat(1, 3));
	assert_int_equal(dma(d, 0x200000, x, sizeof(x), false), 0);
	assert_int_equal(x[3], pat(2, 3));
	/* evicted pidfds were closed: two owners, two pidfds and maps fds */
	assert_int_equal(count_fds(), fds + 2 * (have_pidfd() + 1));
	vfc_emu_iommu_ops.release(d);
	assert_int_equal(count_fds(), fds);
	assert_int_equal(finish(a), 0);
	assert_int_equal(finish(b), 0);
	assert_int_equal(finish(c), 0);
	munmap(buf, PAGE);
}

/* An idle owner that died is never taken back, and reaps drop it. */
static void test_owner_idle_dead(void **state)
{
	void *d = open_iommu();
	uint8_t *buf = pages(1);
	unsigned int fds = count_fds();
	struct child c;
	uint64_t opens;

	/* Its next map finds it dead: the pid is gone, the map fails. */
	c = spawn(buf, PAGE, 4, 0);
	assert_int_equal(map_for(d, c.pid, 0x100000, buf, PAGE, RW), 0);
	assert_int_equal(unmap(d, 0x100000, PAGE, NULL), 0);
	assert_int_equal(kill(c.pid, SIGKILL), 0);
	assert_int_equal(waitpid(c.pid, NULL, 0), c.pid);
	close(c.go);
	opens = pidfd_opens(d);
	assert_int_equal(map_for(d, c.pid, 0x100000, buf, PAGE, RW), -ESRCH);
	if (have_pidfd())	/* a fresh pidfd_open was tried, and failed */
		assert_int_equal(pidfd_opens(d) - opens, 1);
	assert_int_equal(count_fds(), fds);
	assert_int_equal(vfc_emu_iommu_count(d), 0);

	/* A reap finds it dead: its pidfd is closed, no mapping counted. */
	c = spawn(buf, PAGE, 5, 0);
	assert_int_equal(map_for(d, c.pid, 0x100000, buf, PAGE, RW), 0);
	assert_int_equal(unmap(d, 0x100000, PAGE, NULL), 0);
	/* c.go, its pidfd and its maps */
	assert_int_equal(count_fds(), fds + 1 + have_pidfd() + 1);
	assert_int_equal(kill(c.pid, SIGKILL), 0);
	assert_int_equal(waitpid(c.pid, NULL, 0), c.pid);
	close(c.go);
	assert_int_equal(vfc_emu_iommu_reap(d), 0);
	assert_int_equal(count_fds(), fds);
	vfc_emu_iommu_ops.release(d);
	munmap(buf, PAGE);
}

static double now(void);

static int invalidate(void *d, uint64_t iova, uint64_t size)
{
	struct vfio_iommu_type1_dma_unmap u = {
		.argsz = sizeof(u), .flags = VFIO_DMA_UNMAP_FLAG_VADDR, .iova = iova, .size = size,
	};

	return emu_ioctl(d, getpid(), VFIO_IOMMU_UNMAP_DMA, &u, sizeof(u), NULL);
}

static int set_vaddr(void *d, pid_t pid, uint64_t iova, const void *vaddr, uint64_t size)
{
	return map_for(d, pid, iova, vaddr, size, VFIO_DMA_MAP_FLAG_VADDR);
}

struct vaddr_dma {
	void *d;
	uint64_t iova;
	uint8_t buf[64];
	atomic_int done;
	int r;
};

static void *vaddr_dma_thread(void *arg)
{
	struct vaddr_dma *v = arg;

	v->r = dma(v->d, v->iova, v->buf, sizeof(v->buf), false);
	atomic_store(&v->done, 1);
	return NULL;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* DMA to an invalidated vaddr waits until MAP_DMA with VADDR gives one. */
static void test_vaddr_dma_waits(void **state)
{
	void *d = open_iommu();
	uint8_t *old = pages(1), *new = pages(1);
	struct vaddr_dma v = { .d = d, .iova = 0x100000 };
	pthread_t t;

	for (size_t i = 0; i < PAGE; i++) {
		old[i] = pat(1, i);
		new[i] = pat(2, i);
	}
	assert_int_equal(map_for(d, getpid(), 0x100000, old, PAGE, RW), 0);
	assert_int_equal(invalidate(d, 0x100000, PAGE), 0);
	assert_int_equal(pthread_create(&t, NULL, vaddr_dma_thread, &v), 0);
	sleep_ms(100);
	assert_int_equal(atomic_load(&v.done), 0);
	/* other mappings still work meanwhile */
	assert_int_equal(map_for(d, getpid(), 0x200000, old, PAGE, RW), 0);
	assert_int_equal(dma(d, 0x200000, v.buf, 8, false), 0);
	assert_int_equal(set_vaddr(d, getpid(), 0x100000, new, PAGE), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(v.r, 0);
	assert_memory_equal(v.buf, new, sizeof(v.buf));

	/* an unmap of the invalid mapping ends the wait with a fault */
	atomic_store(&v.done, 0);
	assert_int_equal(invalidate(d, 0x100000, PAGE), 0);
	assert_int_equal(pthread_create(&t, NULL, vaddr_dma_thread, &v), 0);
	sleep_ms(50);
	assert_int_equal(unmap(d, 0x100000, PAGE, NULL), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(v.r, -EFAULT);
	/* a permission fault does not wait */
	assert_int_equal(map_for(d, getpid(), 0x100000, old, PAGE, VFIO_DMA_MAP_FLAG_READ), 0);
	assert_int_equal(invalidate(d, 0x100000, PAGE), 0);
	assert_int_equal(dma(d, 0x100000, v.buf, 8, true), -EFAULT);
	vfc_emu_iommu_ops.release(d);
	munmap(old, PAGE);
	munmap(new, PAGE);
}

/* The wait is bounded by vaddr_wait_ms; 0 faults at once. */
static void test_vaddr_dma_timeout(void **state)
{
	struct vfc_emu_iommu_config cfg;
	uint8_t *buf = pages(1), x[8];
	double t0;
	void *d;

	vfc_emu_iommu_config_init(&cfg);
	assert_int_equal(cfg.vaddr_wait_ms, 10000);
	for (unsigned int ms = 0; ms <= 100; ms += 100) {
		cfg.vaddr_wait_ms = ms;
		assert_int_equal(vfc_emu_iommu_ops.open(&cfg, VFIO_TYPE1v2_IOMMU, &d), 0);
		assert_int_equal(vfc_emu_iommu_ops.attach_group(d, NULL), 0);
		assert_int_equal(map_for(d, getpid(), 0x100000, buf, PAGE, RW), 0);
		assert_int_equal(invalidate(d, 0x100000, PAGE), 0);
		t0 = now();
		assert_int_equal(dma(d, 0x100000, x, sizeof(x), false), -EFAULT);
		assert_true(now() - t0 >= ms / 1000.0 - 0.001);
		assert_true(now() - t0 < ms / 1000.0 + 5);
		vfc_emu_iommu_ops.release(d);
	}
	munmap(buf, PAGE);
}

/*
 * An invalidated mapping has no owner: its old owner's death does not take
 * it (a reap keeps it), and MAP_DMA with VADDR makes the caller the owner,
 * as the kernel's vfio_change_dma_owner() (UPDATE_VADDR across processes).
 */
static void test_vaddr_new_owner(void **state)
{
	void *d = open_iommu();
	uint8_t *buf = pages(1), x[16];
	struct child c = spawn(buf, PAGE, 7, 0);

	assert_int_equal(map_for(d, c.pid, 0x100000, buf, PAGE, RW), 0);
	assert_int_equal(dma(d, 0x100000, x, sizeof(x), false), 0);
	assert_int_equal(x[3], pat(7, 3));
	assert_int_equal(invalidate(d, 0x100000, PAGE), 0);
	assert_int_equal(kill(c.pid, SIGKILL), 0);
	assert_int_equal(waitpid(c.pid, NULL, 0), c.pid);
	close(c.go);
	assert_int_equal(vfc_emu_iommu_reap(d), 0);
	assert_int_equal(vfc_emu_iommu_count(d), 1);
	for (size_t i = 0; i < PAGE; i++)
		buf[i] = pat(8, i);
	assert_int_equal(set_vaddr(d, getpid(), 0x100000, buf, PAGE), 0);
	assert_int_equal(dma(d, 0x100000, x, sizeof(x), false), 0);
	assert_int_equal(x[3], pat(8, 3));
	vfc_emu_iommu_ops.release(d);
	munmap(buf, PAGE);
}

static long rss_pages(void)
{
	long size, resident;
	FILE *f = fopen("/proc/self/statm", "re");

	assert_non_null(f);
	assert_int_equal(fscanf(f, "%ld %ld", &size, &resident), 2);
	fclose(f);
	return resident;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_alias_1tb(void **state)
{
	const uint64_t four_g = 4ull << 30, base = 1ull << 32;
	void *d = open_iommu();
	uint8_t *big;
	long rss0, rss1;
	double t0, t1;
	uint64_t size;
	uint32_t v = 0x12345678, w = 0;

	big = mmap(NULL, four_g, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (big == MAP_FAILED)
		skip();
	rss0 = rss_pages();
	t0 = now();
	for (uint64_t i = 0; i < 256; i++)
		assert_int_equal(map_for(d, getpid(), base + i * four_g, big, four_g, RW), 0);
	t1 = now();
	rss1 = rss_pages();
	assert_int_equal(vfc_emu_iommu_count(d), 256);
	print_message("1 TiB mapped in %.3f ms, RSS +%ld KiB\n", (t1 - t0) * 1e3,
		      (rss1 - rss0) * (long)PAGE / 1024);
	assert_true(t1 - t0 < 2.0);
	assert_true((rss1 - rss0) * (long)PAGE < 8l << 20);
	/* the last alias and the first one are the same memory */
	assert_int_equal(dma(d, base + 255 * four_g + four_g - 4, &v, 4, true), 0);
	assert_int_equal(dma(d, base + four_g - 4, &w, 4, false), 0);
	assert_int_equal(w, v);
	assert_int_equal(memcmp(big + four_g - 4, &v, 4), 0);
	assert_int_equal(unmap(d, base, 256 * four_g, &size), 0);
	assert_int_equal(size, 1ull << 40);
	vfc_emu_iommu_ops.release(d);
	munmap(big, four_g);
}

struct race {
	void *d;
	uint8_t *buf;
	atomic_bool stop;
	unsigned long ok, fault, other;
};

static void *race_dma(void *arg)
{
	struct race *r = arg;
	uint8_t x[256] = { 0 };	/* a write may come before any read filled it */

	while (!atomic_load(&r->stop)) {
		int e = dma(r->d, 0x10000 + 0x100, x, sizeof(x), (r->ok + r->fault) & 1);

		if (e == 0)
			r->ok++;
		else if (e == -EFAULT)
			r->fault++;
		else
			r->other++;
	}
	return NULL;
}

static void test_dma_races_map(void **state)
{
	struct race r = { .d = open_iommu(), .buf = pages(2) };
	pthread_t t;
	uint8_t x[16];

	assert_int_equal(pthread_create(&t, NULL, race_dma, &r), 0);
	for (int i = 0; i < 3000; i++) {
		uint64_t size;

		assert_int_equal(map_for(r.d, getpid(), 0x10000, r.buf, 2 * PAGE, RW), 0);
		assert_int_equal(unmap(r.d, 0x10000, 2 * PAGE, &size), 0);
		assert_int_equal(size, 2 * PAGE);
		/* once unmap returns, no DMA reaches the memory */
		assert_int_equal(dma(r.d, 0x10000, x, sizeof(x), true), -EFAULT);
	}
	atomic_store(&r.stop, true);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(r.other, 0);
	vfc_emu_iommu_ops.release(r.d);
	munmap(r.buf, 2 * PAGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dma_split),
		cmocka_unit_test(test_dma_permissions),
		cmocka_unit_test(test_dma_owner_memory),
		cmocka_unit_test(test_dma_many_segments),
		cmocka_unit_test(test_dma_contiguous),
		cmocka_unit_test(test_dma_cross_process),
		cmocka_unit_test(test_dma_many_owners),
		cmocka_unit_test(test_owner_death),
		cmocka_unit_test(test_owner_death_ioctl),
		cmocka_unit_test(test_owner_idle_reuse),
		cmocka_unit_test(test_owner_idle_evict),
		cmocka_unit_test(test_owner_idle_dead),
		cmocka_unit_test(test_vaddr_dma_waits),
		cmocka_unit_test(test_vaddr_dma_timeout),
		cmocka_unit_test(test_vaddr_new_owner),
		cmocka_unit_test(test_alias_1tb),
		cmocka_unit_test(test_dma_races_map),
	};

	vfc_log_set_max_level(getenv("VFC_TEST_VERBOSE") ? LOG_DEBUG : LOG_WARNING);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
