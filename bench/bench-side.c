/* SPDX-License-Identifier: MIT */
/*
 * bench-side: the CUSE path at its floor (issue 12). One program times the
 * same operations on the kernel's own VFIO, on vfio-cused (emulated or
 * kernel backend, under the client library) and on a bare CUSE server
 * (bench-cuse-floor), so that tests/vm/guest-daemon.sh (test "side") can
 * run them in alternating rounds of one boot and print the ratios.
 *
 *   bench-side vfio DIR GROUP BDF N FILE
 *       On DIR/vfio, DIR/GROUP and device BDF (the kernel's /dev/vfio, or
 *       vfio-cused's under vfio-cuse-run): MAP_DMA+UNMAP_DMA pairs of 4 KiB
 *       of private anonymous memory; 4-byte pread of BAR0 at 0 (the edu's
 *       id register, checked), 4-byte pwrite of BAR0 at 0x04 (liveness),
 *       256-byte pread of the config region; SET_IRQS DATA_NONE|TRIGGER on
 *       the MSI index with an eventfd attached (every trigger counted on
 *       the eventfd); the latency from a write of the edu's raise-irq
 *       register (0x60) to its MSI eventfd firing (acked through 0x64,
 *       untimed); a 4-byte pread of the regular file FILE.
 *   bench-side floor NODE N [IGNORED]
 *       On a bench-cuse-floor node: ioctls of exactly 1, 2, 3 and 4 round
 *       trips; 2 and 3 round trips moving 256 bytes out; and pairs of two
 *       2-round-trip ioctls (a MAP+UNMAP pair's 4).
 *   bench-side rss DIR GROUP N PID
 *       N MAP_DMAs of 4 KiB at N IOVAs, all of one 4 KiB private buffer;
 *       prints PID's VmRSS and RssAnon before, every N/8 mappings, after
 *       mapping and after one UNMAP of everything (the server's memory per
 *       mapping; its pools grow by blocks, hence the steps).
 *   bench-side report RAW
 *       The medians and ratios of the raw file the VM test writes.
 *
 * Output: "KEY VALUE" lines. KEY_us is microseconds per operation. With
 * BENCH_SIDE_SERVER_PID set to the CUSE server's pid (the daemon or the
 * floor), its syscalls during the timed loop, from /proc/PID/io: KEY_reads
 * and KEY_writes per operation, and KEY_rt, the round trips (timed()).
 * With BENCH_SIDE_FLOOR set to a bench-cuse-floor node, each vfio-cused
 * operation is timed in 10 blocks that take turns with blocks of the
 * floor's ioctls of the round trips the operation is claimed to use, in
 * the same process: KEY_pfloor_us, and KEY_pratio, the median of the
 * blocks' ours/floor ratios, which drift of the host hits alike.
 * The 4-byte file pread (and with BENCH_SIDE_KERNEL set, the BAR0 pread of
 * the kernel's device fd) is also timed in blocks taking turns with the
 * same pread made as a raw system call: KEY_rawratio is the wrapper's cost
 * when the library is preloaded (and 1 when it is not).
 * BENCH_SIDE_ONLY=KEY times only that operation, to count a server's
 * syscalls from outside (strace -c). Errors go to stderr with a nonzero
 * exit; no number is printed for an operation that failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>
#include <math.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "vfc-cuse-proto.h"

/* bench-cuse-floor's ioctl of exactly @n round trips moving @s bytes out. */
#define BENCH_FLOOR_IOCTL(n, s) _IOC(_IOC_NONE, 'F', (n), (s))

#define EDU_ID 0x010000edu
#define EDU_LIVENESS 0x04
#define EDU_RAISE 0x60
#define EDU_ACK 0x64
#define IOVA 0x100000ull

struct ctx {
	int c, g, d, efd, ffd, floor;
	int pf;			/* BENCH_SIDE_FLOOR's fd, or -1 */
	unsigned long pcmd, pcmd2;	/* its ioctls paired with the operation timed, 0: none */
	uint64_t bar0, cfg;
	struct vfio_iommu_type1_dma_map map;
	struct vfio_iommu_type1_dma_unmap unmap;
	unsigned long cmd, cmd2;
	uint8_t buf[4096] __attribute__((aligned(8)));
	uint8_t pbuf[4096] __attribute__((aligned(8)));
};

#define PAIR_BLOCKS 10

static pid_t server;
static const char *only;	/* BENCH_SIDE_ONLY: time this KEY alone */

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* The server's read and write syscall counts; -1 if unknown. */
static int server_io(long long *ret_r, long long *ret_w)
{
	char path[64], line[128];
	long long r = -1, w = -1;
	FILE *f;

	if (server <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/io", (int)server);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "syscr: %lld", &r);
		sscanf(line, "syscw: %lld", &w);
	}
	fclose(f);
	if (r < 0 || w < 0)
		return -1;
	*ret_r = r;
	*ret_w = w;
	return 0;
}

typedef int (*op_fn)(struct ctx *x);

/* @k calls of the paired floor ioctls; the microseconds they took, or -1. */
static double floor_block(struct ctx *x, int k)
{
	double t = now_us();

	for (int i = 0; i < k; i++)
		if (ioctl(x->pf, x->pcmd, x->pbuf) < 0 ||
		    (x->pcmd2 && ioctl(x->pf, x->pcmd2, x->pbuf) < 0))
			return -1;
	return now_us() - t;
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int k)
{
	qsort(v, k, sizeof(v[0]), cmp_dbl);
	return k % 2 ? v[k / 2] : (v[k / 2 - 1] + v[k / 2]) / 2;
}

/*
 * Calls of an operation that takes @per_us each, for a loop of at least
 * @n calls and, when it is fast, about 100 ms: a loop of a few
 * milliseconds measures the guest's timer ticks more than the operation.
 * Not under BENCH_SIDE_ONLY, whose counts strace divides by.
 */
static int loop_calls(int n, double per_us)
{
	double want = 100e3 / (per_us > 0.1 ? per_us : 0.1);

	if (only || per_us >= 50 || want <= n)
		return n;
	return want < 100.0 * n ? (int)want : 100 * n;
}

/*
 * Warm up with @n / 10 + 1 calls of @fn, then time loop_calls() more;
 * print KEY_us and, if the server is known, its reads and writes per call
 * and KEY_rt. A CUSE request costs its server one read of /dev/cuse and
 * one write of the reply, so the round trips are at most the smaller of
 * the two counts (an upper bound: the server's other reads, as of /proc or
 * a device, and writes, as of an eventfd or a device, raise one of them;
 * strace's count of replies, in the VM test, is exact).
 * Return: the calls made in all, or -1 with errno set.
 */
static int timed(struct ctx *x, const char *key, op_fn fn, int n)
{
	long long r0, w0, r1, w1, rs = 0, ws = 0;
	int warm = n / 10 + 1, blocks = 1, per;
	double t = 0, tf = 0, ratio[PAIR_BLOCKS];
	bool have = true, paired = x->pf >= 0 && x->pcmd && !only;

	if (only && strcmp(only, key))
		return 0;
	t = now_us();
	for (int i = 0; i < warm; i++)
		if (fn(x) < 0)
			goto fail;
	n = loop_calls(n, (now_us() - t) / warm);
	if (paired) {
		blocks = PAIR_BLOCKS;
		if (floor_block(x, warm) < 0)
			goto fail_floor;
	}
	per = n / blocks > 0 ? n / blocks : 1;
	n = per * blocks;
	t = 0;
	/* With a paired floor: blocks of the floor and of ours, in turn first. */
	for (int b = 0; b < blocks; b++) {
		double fb = 0, ob;

		if (paired && b % 2 == 0 && (fb = floor_block(x, per)) < 0)
			goto fail_floor;
		have = have && server_io(&r0, &w0) == 0;
		ob = now_us();
		for (int i = 0; i < per; i++)
			if (fn(x) < 0)
				goto fail;
		ob = now_us() - ob;
		have = have && server_io(&r1, &w1) == 0;
		rs += r1 - r0;
		ws += w1 - w0;
		if (paired && b % 2 == 1 && (fb = floor_block(x, per)) < 0)
			goto fail_floor;
		t += ob;
		tf += fb;
		ratio[b] = paired ? ob / fb : 0;
	}
	printf("%s_us %.2f\n%s_n %d\n", key, t / n, key, n);
	if (paired)
		printf("%s_pfloor_us %.2f\n%s_pratio %.4f\n", key, tf / n, key, median(ratio, blocks));
	if (have) {
		double rd = (double)rs / n, wr = (double)ws / n;

		printf("%s_reads %.3f\n%s_writes %.3f\n%s_rt %.3f\n", key, rd, key, wr, key,
		       rd < wr ? rd : wr);
	}
	return warm + n;
fail:
	fprintf(stderr, "bench-side: %s: %s\n", key, strerror(errno));
	return -1;
fail_floor:
	fprintf(stderr, "bench-side: %s: the paired floor: %s\n", key, strerror(errno));
	return -1;
}

/*
 * @fn against @raw, the same call without the library's wrapper, in 10
 * blocks that take turns going first: KEY_raw_us and KEY_rawratio, the
 * median of the blocks' ratios (the wrapper's cost on an fd not ours, in
 * one process, which drift of the host hits alike).
 */
static int timed_vs_raw(struct ctx *x, const char *key, op_fn fn, op_fn raw, int n)
{
	double t = 0, tr = 0, ratio[PAIR_BLOCKS];
	int per;

	if (only)
		return 0;
	t = now_us();
	for (int i = 0; i < n / 10 + 1; i++)
		if (fn(x) < 0 || raw(x) < 0)
			goto fail;
	per = loop_calls(n, (now_us() - t) / (n / 10 + 1)) / PAIR_BLOCKS + 1;
	t = 0;
	for (int b = 0; b < PAIR_BLOCKS; b++) {
		double tb[2];

		for (int j = 0; j < 2; j++) {
			op_fn f = (b + j) % 2 ? raw : fn;
			double t0 = now_us();

			for (int i = 0; i < per; i++)
				if (f(x) < 0)
					goto fail;
			tb[(b + j) % 2] = now_us() - t0;
		}
		t += tb[0];
		tr += tb[1];
		ratio[b] = tb[0] / tb[1];
	}
	printf("%s_wrapped_us %.2f\n%s_raw_us %.2f\n%s_rawratio %.4f\n", key,
	       t / (per * PAIR_BLOCKS), key, tr / (per * PAIR_BLOCKS), key, median(ratio, PAIR_BLOCKS));
	return 0;
fail:
	fprintf(stderr, "bench-side: %s: %s\n", key, strerror(errno));
	return -1;
}

/* The floor ioctls to time next to the operation timed next; 0: none. */
static void pair(struct ctx *x, unsigned long cmd, unsigned long cmd2)
{
	x->pcmd = cmd;
	x->pcmd2 = cmd2;
}

static int op_map_unmap(struct ctx *x)
{
	if (ioctl(x->c, VFIO_IOMMU_MAP_DMA, &x->map) < 0)
		return -1;
	x->unmap.size = 4096;
	if (ioctl(x->c, VFIO_IOMMU_UNMAP_DMA, &x->unmap) < 0)
		return -1;
	return x->unmap.size == 4096 ? 0 : (errno = EIO, -1);
}

static int op_bar0_read4(struct ctx *x)
{
	uint32_t v;

	if (pread(x->d, &v, 4, (off_t)x->bar0) != 4)
		return -1;
	return v == EDU_ID ? 0 : (errno = EIO, -1);
}

static int op_bar0_write4(struct ctx *x)
{
	uint32_t v = 0x12345678;

	return pwrite(x->d, &v, 4, (off_t)(x->bar0 + EDU_LIVENESS)) == 4 ? 0 : -1;
}

static int op_cfg_read256(struct ctx *x)
{
	if (pread(x->d, x->buf, 256, (off_t)x->cfg) != 256)
		return -1;
	return x->buf[0] == 0x34 && x->buf[1] == 0x12 ? 0 : (errno = EIO, -1);
}

static int op_set_irqs_trigger(struct ctx *x)
{
	struct vfio_irq_set s = {
		.argsz = sizeof(s), .index = VFIO_PCI_MSI_IRQ_INDEX, .start = 0, .count = 1,
		.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
	};

	return ioctl(x->d, VFIO_DEVICE_SET_IRQS, &s);
}

/* A control: one round trip that needs neither the caller nor a device. */
static int op_api_version(struct ctx *x)
{
	return ioctl(x->c, VFIO_GET_API_VERSION) == VFIO_API_VERSION ? 0 : (errno = EIO, -1);
}

/* The daemon's one-round-trip read itself, without the library's pread. */
static int op_bar0_read4_ioctl(struct ctx *x)
{
	int r = ioctl(x->d, VFC_CUSE_RW_FAST_CMD(false, (unsigned int)(x->bar0 >> 40), 4),
		      (unsigned long)(x->bar0 & 0xffffffffu));

	if (r == -1)
		return -1;
	return ((uint32_t)r ^ VFC_CUSE_RW_FAST_BIAS) == EDU_ID ? 0 : (errno = EIO, -1);
}

/* pread without the library's wrapper: the system call itself. */
static int op_bar0_read4_raw(struct ctx *x)
{
	uint32_t v;

	return syscall(SYS_pread64, x->d, &v, 4, (off_t)x->bar0) == 4 ? 0 : -1;
}

static int op_file_read4_raw(struct ctx *x)
{
	return syscall(SYS_pread64, x->ffd, x->buf, 4, 0) == 4 ? 0 : -1;
}

static int op_file_read4(struct ctx *x)
{
	return pread(x->ffd, x->buf, 4, 0) == 4 ? 0 : -1;
}

static int op_floor(struct ctx *x)
{
	return ioctl(x->floor, x->cmd, x->buf);
}

static int op_floor_pair(struct ctx *x)
{
	if (ioctl(x->floor, x->cmd, x->buf) < 0)
		return -1;
	return ioctl(x->floor, x->cmd2, x->buf);
}

/* Wait up to a second for the eventfd; return its count, or -1. */
static long long efd_wait(int efd)
{
	struct pollfd p = { .fd = efd, .events = POLLIN };
	uint64_t v;

	if (poll(&p, 1, 1000) != 1)
		return errno = ETIMEDOUT, -1;
	if (read(efd, &v, sizeof(v)) != sizeof(v))
		return -1;
	return (long long)v;
}

static int pw32(struct ctx *x, uint64_t off, uint32_t v)
{
	return pwrite(x->d, &v, 4, (off_t)off) == 4 ? 0 : -1;
}

/* Raise the edu's irq, wait for the MSI, add the time to @t; ack it. */
static int irq_once(struct ctx *x, double *t)
{
	double t0 = now_us();

	if (pw32(x, x->bar0 + EDU_RAISE, 1) < 0 || efd_wait(x->efd) < 0)
		return fprintf(stderr, "bench-side: irq from a write of 0x60: %s\n", strerror(errno)),
		       -1;
	*t += now_us() - t0;
	if (pw32(x, x->bar0 + EDU_ACK, 1) < 0)
		return fprintf(stderr, "bench-side: ack: %s\n", strerror(errno)), -1;
	return 0;
}

/*
 * MSI with an eventfd, bus master on; the loopback trigger, counted; then
 * the latency from the edu's raise-irq write to the eventfd.
 */
static int irq_run(struct ctx *x, int n)
{
	uint8_t sb[sizeof(struct vfio_irq_set) + sizeof(int32_t)] __attribute__((aligned(8)));
	struct vfio_irq_set *s = (struct vfio_irq_set *)sb;
	long long r0 = 0, w0 = 0, r1, w1, got;
	int i, calls, warm = n / 10 + 1, blocks, per;
	double t = 0, tf = 0, ratio[PAIR_BLOCKS];
	uint16_t cmd;
	bool paired;

	x->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	*s = (struct vfio_irq_set){
		.argsz = sizeof(sb), .index = VFIO_PCI_MSI_IRQ_INDEX, .start = 0, .count = 1,
		.flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
	};
	memcpy(s->data, &x->efd, sizeof(int32_t));
	if (x->efd < 0 || ioctl(x->d, VFIO_DEVICE_SET_IRQS, s) < 0) {
		fprintf(stderr, "bench-side: SET_IRQS MSI eventfd: %s\n", strerror(errno));
		return -1;
	}
	if (pread(x->d, &cmd, 2, (off_t)(x->cfg + PCI_COMMAND)) != 2)
		return fprintf(stderr, "bench-side: PCI_COMMAND: %s\n", strerror(errno)), -1;
	cmd |= PCI_COMMAND_MASTER | PCI_COMMAND_MEMORY;
	if (pwrite(x->d, &cmd, 2, (off_t)(x->cfg + PCI_COMMAND)) != 2)
		return fprintf(stderr, "bench-side: PCI_COMMAND: %s\n", strerror(errno)), -1;

	pair(x, BENCH_FLOOR_IOCTL(2, 8), 0);
	calls = timed(x, "set_irqs_trigger", op_set_irqs_trigger, n);
	if (calls < 0)
		return -1;
	if (only && strcmp(only, "set_irqs_trigger") && strcmp(only, "irq_latency"))
		return 0;
	if (only && !strcmp(only, "irq_latency"))
		goto latency;
	got = efd_wait(x->efd);
	printf("set_irqs_trigger_fired %lld of %d\n", got, calls);
	if (got != calls) {
		fprintf(stderr, "bench-side: the loopback fired %lld times, not %d\n", got, calls);
		return -1;
	}

	if (only)
		return 0;
latency:
	/* The edu's raise-irq register: a write, then the MSI. */
	t = 0;
	for (i = 0; i < warm; i++)
		if (irq_once(x, &t) < 0)
			return -1;
	n = loop_calls(n, t / warm);
	pair(x, BENCH_FLOOR_IOCTL(1, 8), 0);
	paired = x->pf >= 0 && !only;
	blocks = paired ? PAIR_BLOCKS : 1;
	per = n / blocks > 0 ? n / blocks : 1;
	n = per * blocks;
	if (paired && floor_block(x, warm) < 0)
		return fprintf(stderr, "bench-side: the paired floor: %s\n", strerror(errno)), -1;
	if (server_io(&r0, &w0) < 0)
		r0 = -1;
	t = 0;
	for (int b = 0; b < blocks; b++) {
		double fb = 0, ob = 0;

		if (paired && b % 2 == 0 && (fb = floor_block(x, per)) < 0)
			return fprintf(stderr, "bench-side: the paired floor: %s\n", strerror(errno)), -1;
		for (i = 0; i < per; i++)
			if (irq_once(x, &ob) < 0)
				return -1;
		if (paired && b % 2 == 1 && (fb = floor_block(x, per)) < 0)
			return fprintf(stderr, "bench-side: the paired floor: %s\n", strerror(errno)), -1;
		t += ob;
		tf += fb;
		ratio[b] = paired ? ob / fb : 0;
	}
	printf("irq_latency_us %.2f\nirq_latency_n %d\n", t / n, n);
	if (paired)
		printf("irq_latency_pfloor_us %.2f\nirq_latency_pratio %.4f\n", tf / n,
		       median(ratio, blocks));
	if (r0 >= 0 && server_io(&r1, &w1) == 0)	/* raise + ack, and the signal */
		printf("irq_loop_reads %.3f\nirq_loop_writes %.3f\n", (double)(r1 - r0) / n,
		       (double)(w1 - w0) / n);
	return 0;
}

static int vfio_open(struct ctx *x, const char *dir, const char *group)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/vfio", dir);
	x->c = open(path, O_RDWR | O_CLOEXEC);
	if (x->c < 0)
		return fprintf(stderr, "bench-side: %s: %s\n", path, strerror(errno)), -1;
	snprintf(path, sizeof(path), "%s/%s", dir, group);
	x->g = open(path, O_RDWR | O_CLOEXEC);
	if (x->g < 0)
		return fprintf(stderr, "bench-side: %s: %s\n", path, strerror(errno)), -1;
	if (ioctl(x->g, VFIO_GROUP_SET_CONTAINER, &x->c) < 0 ||
	    ioctl(x->c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0)
		return fprintf(stderr, "bench-side: setup: %s\n", strerror(errno)), -1;
	x->map = (struct vfio_iommu_type1_dma_map){
		.argsz = sizeof(x->map), .iova = IOVA, .size = 4096,
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
	};
	x->unmap = (struct vfio_iommu_type1_dma_unmap){
		.argsz = sizeof(x->unmap), .iova = IOVA, .size = 4096,
	};
	void *mem = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return -1;
	memset(mem, 0x5a, 4096);
	x->map.vaddr = (uintptr_t)mem;
	return 0;
}

static int vfio_run(const char *dir, const char *group, const char *bdf, int n, const char *file)
{
	struct vfio_region_info bar0 = { .argsz = sizeof(bar0), .index = VFIO_PCI_BAR0_REGION_INDEX };
	struct vfio_region_info cfg = { .argsz = sizeof(cfg), .index = VFIO_PCI_CONFIG_REGION_INDEX };
	const char *pf = getenv("BENCH_SIDE_FLOOR");
	static struct ctx x;

	x.pf = -1;
	if (pf && (x.pf = open(pf, O_RDWR | O_CLOEXEC)) < 0)
		return fprintf(stderr, "bench-side: %s: %s\n", pf, strerror(errno)), 1;
	if (vfio_open(&x, dir, group) < 0)
		return 1;
	x.ffd = open(file, O_RDONLY | O_CLOEXEC);
	if (x.ffd < 0)
		return fprintf(stderr, "bench-side: %s: %s\n", file, strerror(errno)), 1;
	pair(&x, BENCH_FLOOR_IOCTL(2, 8), BENCH_FLOOR_IOCTL(2, 8));
	if (timed(&x, "map_unmap", op_map_unmap, n) < 0)
		return 1;
	x.d = ioctl(x.g, VFIO_GROUP_GET_DEVICE_FD, bdf);
	if (x.d < 0 || ioctl(x.d, VFIO_DEVICE_GET_REGION_INFO, &bar0) < 0 ||
	    ioctl(x.d, VFIO_DEVICE_GET_REGION_INFO, &cfg) < 0)
		return fprintf(stderr, "bench-side: device %s: %s\n", bdf, strerror(errno)), 1;
	x.bar0 = bar0.offset;
	x.cfg = cfg.offset;
	printf("bar0_offset 0x%llx\ncfg_offset 0x%llx\n", (unsigned long long)x.bar0,
	       (unsigned long long)x.cfg);
	pair(&x, BENCH_FLOOR_IOCTL(1, 8), 0);
	if (timed(&x, "api_version", op_api_version, n) < 0 ||
	    timed(&x, "bar0_read4", op_bar0_read4, n) < 0 ||
	    timed(&x, "bar0_write4", op_bar0_write4, n) < 0)
		return 1;
	/* Ours only: the kernel's device file knows no such ioctl. */
	if (x.pf >= 0 && timed(&x, "bar0_read4_ioctl", op_bar0_read4_ioctl, n) < 0)
		return 1;
	pair(&x, BENCH_FLOOR_IOCTL(2, 256), 0);
	if (timed(&x, "cfg_read256", op_cfg_read256, n) < 0)
		return 1;
	pair(&x, 0, 0);
	if (timed(&x, "file_read4", op_file_read4, n) < 0 ||
	    timed_vs_raw(&x, "file_read4", op_file_read4, op_file_read4_raw, n) < 0)
		return 1;
	/* Only the kernel's device fd is not ours: the raw call would fail on ours. */
	if (x.pf < 0 && getenv("BENCH_SIDE_KERNEL") &&
	    timed_vs_raw(&x, "bar0_read4", op_bar0_read4, op_bar0_read4_raw, n) < 0)
		return 1;
	if (irq_run(&x, n) < 0)
		return 1;
	return 0;
}

static int floor_run(const char *node, int n)
{
	static struct ctx x = { .pf = -1 };
	char key[32];

	x.floor = open(node, O_RDWR | O_CLOEXEC);
	if (x.floor < 0)
		return fprintf(stderr, "bench-side: %s: %s\n", node, strerror(errno)), 1;
	for (unsigned int rt = 1; rt <= 4; rt++) {
		x.cmd = BENCH_FLOOR_IOCTL(rt, 8);
		snprintf(key, sizeof(key), "floor_rt%u", rt);
		if (timed(&x, key, op_floor, n) < 0)
			return 1;
	}
	for (unsigned int rt = 2; rt <= 3; rt++) {
		x.cmd = BENCH_FLOOR_IOCTL(rt, 256);
		snprintf(key, sizeof(key), "floor_rt%u_out256", rt);
		if (timed(&x, key, op_floor, n) < 0)
			return 1;
		if ((!only || !strcmp(only, key)) && x.buf[255] != 0xa5)
			return fprintf(stderr, "bench-side: %s: no data came out\n", key), 1;
	}
	x.cmd = x.cmd2 = BENCH_FLOOR_IOCTL(2, 8);
	return timed(&x, "floor_pair22", op_floor_pair, n) < 0;
}

/* @field of /proc/@pid/status, or of smaps_rollup if it names a mapping total. */
static long long status_kb(pid_t pid, const char *field)
{
	char path[64], line[128];
	long long v = -1;
	size_t len = strlen(field);
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid,
		 strncmp(field, "Vm", 2) && strncmp(field, "Rss", 3) ? "smaps_rollup" : "status");
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, len) && line[len] == ':')
			v = strtoll(line + len + 1, NULL, 10);
	fclose(f);
	return v;
}

static int rss_run(const char *dir, const char *group, int n, pid_t pid)
{
	static struct ctx x = { .pf = -1 };
	long long rss[3], anon[3], first_step = -1;
	int first_maps = 0;
	double t;

	if (vfio_open(&x, dir, group) < 0)
		return 1;
	/* One map and unmap first: the container's first pool blocks. */
	if (op_map_unmap(&x) < 0)
		return fprintf(stderr, "bench-side: rss: %s\n", strerror(errno)), 1;
	rss[0] = status_kb(pid, "VmRSS");
	anon[0] = status_kb(pid, "RssAnon");
	t = now_us();
	for (int i = 0; i < n; i++) {
		x.map.iova = IOVA + (uint64_t)i * 4096;
		if (ioctl(x.c, VFIO_IOMMU_MAP_DMA, &x.map) < 0)
			return fprintf(stderr, "bench-side: rss: map %d: %s\n", i, strerror(errno)),
			       1;
		/* The steps: the pools grow by blocks, not by mapping. */
		if ((i + 1) % (n / 8 > 0 ? n / 8 : 1) == 0) {
			long long v = status_kb(pid, "VmRSS");

			if (first_step < 0) {
				first_step = v;
				first_maps = i + 1;
			}
			printf("rss_step maps=%d vmrss_kb=%lld rssanon_kb=%lld anonhuge_kb=%lld\n",
			       i + 1, v, status_kb(pid, "RssAnon"), status_kb(pid, "AnonHugePages"));
		}
	}
	t = now_us() - t;
	rss[1] = status_kb(pid, "VmRSS");
	anon[1] = status_kb(pid, "RssAnon");
	x.unmap = (struct vfio_iommu_type1_dma_unmap){ .argsz = sizeof(x.unmap),
						       .flags = VFIO_DMA_UNMAP_FLAG_ALL };
	if (ioctl(x.c, VFIO_IOMMU_UNMAP_DMA, &x.unmap) < 0 || x.unmap.size != (uint64_t)n * 4096)
		return fprintf(stderr, "bench-side: rss: unmap all: %s\n", strerror(errno)), 1;
	rss[2] = status_kb(pid, "VmRSS");
	anon[2] = status_kb(pid, "RssAnon");
	if (rss[0] < 0 || rss[1] < 0 || rss[2] < 0)
		return fprintf(stderr, "bench-side: rss: no /proc/%d/status\n", (int)pid), 1;
	printf("rss_maps %d\nrss_map_us %.2f\n", n, t / n);
	printf("rss_vmrss_kb %lld %lld %lld\nrss_anon_kb %lld %lld %lld\n", rss[0], rss[1], rss[2],
	       anon[0], anon[1], anon[2]);
	printf("rss_per_map_B %.1f\nrss_anon_per_map_B %.1f\n", (rss[1] - rss[0]) * 1024.0 / n,
	       (anon[1] - anon[0]) * 1024.0 / n);
	/* Past the first step: without the pools' first blocks. */
	if (first_step >= 0 && n > first_maps)
		printf("rss_slope_after_first_step_B %.1f\n",
		       (rss[1] - first_step) * 1024.0 / (n - first_maps));
	return 0;
}


/*
 * The report: medians over rounds of the raw lines "PATH ROUND KEY VALUE"
 * that tests/vm/guest-daemon.sh collects, and the ratios of issue 12's
 * table. The floor of a row is the bare CUSE server doing the number of
 * round trips ours was MEASURED to do (rounded); the count ours is claimed
 * to use is printed next to it.
 */
#define MAX_VALS 4096

static struct raw {
	char path[16], key[48];
	double v;
} raws[MAX_VALS];
static int n_raws;

/* The median of PATH's KEY over the rounds; NAN if it never came. */
static double med(const char *path, const char *key)
{
	double v[64];
	int k = 0;

	for (int i = 0; i < n_raws && k < 64; i++)
		if (!strcmp(raws[i].path, path) && !strcmp(raws[i].key, key))
			v[k++] = raws[i].v;
	if (!k)
		return NAN;
	qsort(v, k, sizeof(v[0]), cmp_dbl);
	return k % 2 ? v[k / 2] : (v[k / 2 - 1] + v[k / 2]) / 2;
}

static int count_of(const char *path, const char *key)
{
	int k = 0;

	for (int i = 0; i < n_raws; i++)
		k += !strcmp(raws[i].path, path) && !strcmp(raws[i].key, key);
	return k;
}

/* @v with @prec decimals, or "n/a". */
static void fmt(char *b, size_t n, int prec, double v)
{
	if (isnan(v))
		snprintf(b, n, "n/a");
	else
		snprintf(b, n, "%.*f", prec, v);
}

static double floor_for(int rt, bool out256)
{
	char key[32];

	if (rt < 1 || rt > 4)
		return NAN;
	if (out256 && (rt == 2 || rt == 3)) {
		snprintf(key, sizeof(key), "floor_rt%d_out256_us", rt);
		return med("floor", key);
	}
	snprintf(key, sizeof(key), "floor_rt%d_us", rt);
	return med("floor", key);
}

static int missed;

/* The floor of @rt round trips; @pair: two 2-round-trip ioctls for 4. */
static double floor_of(int rt, bool out256, bool pair)
{
	return pair && rt == 4 ? med("floor", "floor_pair22_us") : floor_for(rt, out256);
}

/*
 * One row: ours (PATH's KEY) against the floor of the round trips ours is
 * claimed to use (the goal's ratio): the floor path's median, and the
 * median over rounds of the floor timed in turn with ours in the same
 * process (KEY_pratio; the verdict uses it where there is one); the floor
 * of the count measured (the server's syscalls per operation of @rt_from,
 * else KEY); and the kernel's KKEY. @goal_floor / @goal_kernel: the ratio
 * the goal allows, 0 none; @out256: the floor moves 256 bytes out; @pair:
 * the floor of 4 is two ioctls of 2.
 */
static void row(const char *name, const char *path, const char *key, int claimed,
		const char *kpath, const char *kkey, double goal_floor, double goal_kernel,
		bool out256, bool pair, const char *rt_from)
{
	char k[64], a[32], rt[32], fc[32], rc[32], rp[32], fm[32], rm[32], kb[32], rk[32], g[32];
	double ours, kern = NAN, flc = NAN, flm = NAN, pr, m, judged;
	const char *verdict = "n/a", *rtcheck = "n/a";
	int frt;

	snprintf(k, sizeof(k), "%s_us", key);
	ours = med(path, k);
	snprintf(k, sizeof(k), "%s_pratio", key);
	pr = med(path, k);
	snprintf(k, sizeof(k), "%s_rt", rt_from ? rt_from : key);
	m = med(path, k);
	if (kpath) {
		snprintf(k, sizeof(k), "%s_us", kkey);
		kern = med(kpath, k);
	}
	frt = isnan(m) ? -1 : (int)lround(m);
	if (frt >= 0)
		rtcheck = frt == claimed ? "as-claimed" : "DIFFERS";
	if (goal_floor > 0) {
		flc = floor_of(claimed, out256, pair);
		flm = floor_of(frt, out256, pair);
	}
	fmt(a, sizeof(a), 2, ours);
	fmt(rt, sizeof(rt), 2, m);
	fmt(fc, sizeof(fc), 2, flc);
	fmt(rc, sizeof(rc), 3, ours / flc);
	fmt(rp, sizeof(rp), 3, goal_floor > 0 ? pr : NAN);
	fmt(fm, sizeof(fm), 2, flm);
	fmt(rm, sizeof(rm), 3, ours / flm);
	fmt(kb, sizeof(kb), 2, kern);
	fmt(rk, sizeof(rk), 3, ours / kern);
	if (goal_kernel > 0) {	/* the same process with and without the wrapper */
		snprintf(k, sizeof(k), "%s_rawratio", key);
		pr = med(path, k);
		fmt(rp, sizeof(rp), 3, pr);
	}
	judged = isnan(pr) ? ours / flc : pr;
	if (goal_floor > 0 && !isnan(judged))
		verdict = judged <= goal_floor ? "MET" : "MISSED";
	if (goal_kernel > 0 && !isnan(isnan(pr) ? ours / kern : pr))
		verdict = (isnan(pr) ? ours / kern : pr) <= goal_kernel ? "MET" : "MISSED";
	if (!strcmp(verdict, "MISSED"))
		missed++;
	snprintf(g, sizeof(g), "%s%.2fx", goal_floor > 0 ? "floor<=" : "kernel<=",
		 goal_floor > 0 ? goal_floor : goal_kernel);
	printf("side-row: %-20s ours_us=%-8s rt_claimed=%d rt_measured=%-4s %-10s "
	       "floor%d%s_us=%-7s ours/floor=%-6s ours/floor_paired=%-6s "
	       "floor_measured_rt_us=%-7s ours/floor_measured_rt=%-6s "
	       "kernel_us=%-6s ours/kernel=%-7s goal=%s %s\n",
	       name, a, claimed, rt, rtcheck, claimed, pair ? "(2+2)" : out256 ? "(256B)" : "", fc, rc,
	       rp, fm, rm, kb, rk, goal_floor > 0 || goal_kernel > 0 ? g : "none", verdict);
}

static int report_run(const char *file)
{
	char line[256];
	FILE *f = fopen(file, "re");
	int round;

	if (!f)
		return fprintf(stderr, "bench-side: %s: %s\n", file, strerror(errno)), 1;
	while (fgets(line, sizeof(line), f) && n_raws < MAX_VALS) {
		struct raw *r = &raws[n_raws];

		if (sscanf(line, "%15s %d %47s %lf", r->path, &round, r->key, &r->v) == 4)
			n_raws++;
	}
	fclose(f);
	printf("side: rounds kernel=%d kernel+lib=%d floor=%d emu=%d kb=%d (medians over rounds; "
	       "us per operation; rt_measured = the smaller of the CUSE server's reads and writes per "
	       "operation, an upper bound of its round trips; exact counts: side-strace; "
	       "ours/floor_paired: the floor timed in turn with ours in one process, judged where "
	       "present; for the nondev rows that column is the wrapped call against the raw "
	       "system call in one process, under the library)\n",
	       count_of("kernel", "map_unmap_us"), count_of("kernel+lib", "map_unmap_us"),
	       count_of("floor", "floor_rt1_us"), count_of("emu", "map_unmap_us"),
	       count_of("kb", "map_unmap_us"));
	printf("side-floor: rt1=%.2f rt2=%.2f rt3=%.2f rt4=%.2f pair22=%.2f rt2_out256=%.2f "
	       "rt3_out256=%.2f us; measured rt %.2f %.2f %.2f %.2f %.2f\n",
	       med("floor", "floor_rt1_us"), med("floor", "floor_rt2_us"), med("floor", "floor_rt3_us"),
	       med("floor", "floor_rt4_us"), med("floor", "floor_pair22_us"),
	       med("floor", "floor_rt2_out256_us"), med("floor", "floor_rt3_out256_us"),
	       med("floor", "floor_rt1_rt"), med("floor", "floor_rt2_rt"), med("floor", "floor_rt3_rt"),
	       med("floor", "floor_rt4_rt"), med("floor", "floor_pair22_rt"));
	row("map_unmap4k/emu", "emu", "map_unmap", 4, "kernel", "map_unmap", 1.3, 0, false, true, NULL);
	row("map_unmap4k/kb", "kb", "map_unmap", 0, "kernel", "map_unmap", 0, 0, false, false, NULL);
	row("api_version/emu", "emu", "api_version", 1, "kernel", "api_version", 1.3, 0, false, false,
	    NULL);
	row("api_version/kb", "kb", "api_version", 1, "kernel", "api_version", 1.3, 0, false, false,
	    NULL);
	row("bar0_read4/emu", "emu", "bar0_read4", 1, "kernel", "bar0_read4", 1.3, 0, false, false, NULL);
	row("bar0_read4_ioctl/emu", "emu", "bar0_read4_ioctl", 1, "kernel", "bar0_read4", 1.3, 0, false,
	    false, NULL);
	row("bar0_read4_ioctl/kb", "kb", "bar0_read4_ioctl", 1, "kernel", "bar0_read4", 1.3, 0, false,
	    false, NULL);
	row("bar0_write4/emu", "emu", "bar0_write4", 1, "kernel", "bar0_write4", 1.3, 0, false, false, NULL);
	row("cfg_read256/emu", "emu", "cfg_read256", 2, "kernel", "cfg_read256", 1.3, 0, true, false, NULL);
	row("bar0_read4/kb", "kb", "bar0_read4", 1, "kernel", "bar0_read4", 1.3, 0, false, false, NULL);
	row("bar0_write4/kb", "kb", "bar0_write4", 1, "kernel", "bar0_write4", 1.3, 0, false, false, NULL);
	row("cfg_read256/kb", "kb", "cfg_read256", 2, "kernel", "cfg_read256", 1.3, 0, true, false, NULL);
	row("set_irqs_trigger/emu", "emu", "set_irqs_trigger", 2, "kernel", "set_irqs_trigger", 1.3, 0,
	    false, false, NULL);
	row("set_irqs_trigger/kb", "kb", "set_irqs_trigger", 2, "kernel", "set_irqs_trigger", 1.3, 0,
	    false, false, NULL);
	row("nondev_file_read4", "kernel+lib", "file_read4", 0, "kernel", "file_read4", 0, 1.05, false,
	    false, NULL);
	row("nondev_vfio_read4", "kernel+lib", "bar0_read4", 0, "kernel", "bar0_read4", 0, 1.05, false,
	    false, NULL);
	row("irq_latency/emu", "emu", "irq_latency", 1, "kernel", "irq_latency", 1.3, 0, false, false,
	    "bar0_write4");
	row("irq_latency/kb", "kb", "irq_latency", 1, "kernel", "irq_latency", 1.3, 0, false, false,
	    "bar0_write4");
	printf("side-sanity: without the library, wrapped/raw pread ratios (should be 1): "
	       "file_read4=%.3f bar0_read4=%.3f\n", med("kernel", "file_read4_rawratio"),
	       med("kernel", "bar0_read4_rawratio"));
	printf("side: %d goals missed\n", missed);
	return 0;
}

int main(int argc, char **argv)
{
	const char *p = getenv("BENCH_SIDE_SERVER_PID");

	setvbuf(stdout, NULL, _IOLBF, 0);
	server = p ? (pid_t)atoi(p) : 0;
	only = getenv("BENCH_SIDE_ONLY");
	if (argc == 7 && !strcmp(argv[1], "vfio"))
		return vfio_run(argv[2], argv[3], argv[4], atoi(argv[5]), argv[6]);
	if ((argc == 4 || argc == 5) && !strcmp(argv[1], "floor"))	/* 5: ignored */
		return floor_run(argv[2], atoi(argv[3]));
	if (argc == 6 && !strcmp(argv[1], "rss"))
		return rss_run(argv[2], argv[3], atoi(argv[4]), (pid_t)atoi(argv[5]));
	if (argc == 3 && !strcmp(argv[1], "report"))
		return report_run(argv[2]);
	fprintf(stderr, "usage: see the head of bench-side.c\n");
	return 2;
}
