// SPDX-License-Identifier: MIT
/*
 * Benchmark of the emulated backend's software IOMMU: MAP_DMA+UNMAP_DMA
 * pairs per second with 1k, 64k and 1M live mappings, and device DMA
 * bandwidth through the IOMMU into another process next to raw
 * process_vm_readv/writev of the same sizes. Prints one report; see
 * docs/performance.md. Usage: bench-iommu [seconds per measurement]
 *
 * bench-iommu --map-unmap LIVE random|order|local [PAIRS] runs only the
 * map/unmap part with LIVE mappings: for the time budget (0.5 s), or for
 * exactly PAIRS pairs, in run_pairs(), for
 * valgrind --tool=callgrind --toggle-collect=run_pairs.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "emu-iommu-testutil.h"
#include "vfc-local.h"

#define PAGE 4096ull
#define RW (VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)
#define CHILD_BUF (64ull << 20)

static double budget = 0.5;	/* seconds per measurement */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng_state = 88172645463325252ull;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void die(const char *what, int r)
{
	fprintf(stderr, "bench-iommu: %s: %s\n", what, strerror(r < 0 ? -r : r));
	exit(1);
}

static void *open_iommu(unsigned int limit)
{
	struct vfc_emu_iommu_config cfg;
	void *data;
	int r;

	vfc_emu_iommu_config_init(&cfg);
	cfg.dma_entry_limit = limit;
	r = vfc_emu_iommu_ops.open(&cfg, VFIO_TYPE1v2_IOMMU, &data);
	if (r)
		die("open", r);
	vfc_emu_iommu_ops.attach_group(data, NULL);
	return data;
}

static int map(void *d, struct vfc_caller *caller, uint64_t iova, uint64_t vaddr, uint64_t size)
{
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m), .flags = RW, .vaddr = vaddr, .iova = iova, .size = size,
	}, tmp;

	return emu_ioctl_fast(d, caller, VFIO_IOMMU_MAP_DMA, &m, &tmp, sizeof(m));
}

static int local_map(struct vfc_local *l, int c, uint64_t iova, uint64_t vaddr)
{
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m), .flags = RW, .vaddr = vaddr, .iova = iova, .size = PAGE,
	};

	return (int)vfc_local_ioctl(l, c, VFIO_IOMMU_MAP_DMA, (unsigned long)(uintptr_t)&m);
}

static int local_unmap(struct vfc_local *l, int c, uint64_t iova)
{
	struct vfio_iommu_type1_dma_unmap u = { .argsz = sizeof(u), .iova = iova, .size = PAGE };

	return (int)vfc_local_ioctl(l, c, VFIO_IOMMU_UNMAP_DMA, (unsigned long)(uintptr_t)&u);
}

static int unmap(void *d, struct vfc_caller *caller, uint64_t iova, uint64_t size)
{
	struct vfio_iommu_type1_dma_unmap u = { .argsz = sizeof(u), .iova = iova, .size = size },
					  tmp;

	return emu_ioctl_fast(d, caller, VFIO_IOMMU_UNMAP_DMA, &u, &tmp, sizeof(u));
}

enum pattern { RANDOM, SEQUENTIAL, LOCAL };

/* One map/unmap run: an IOMMU, either the handler's or behind vfc-local. */
struct pairs_ctx {
	enum pattern pat;
	unsigned int n;
	struct vfc_caller caller;
	struct vfc_core *core;
	struct vfc_local *l;
	int c;
	void *d;
	uint64_t va;	/* n pages of real (untouched) memory that the mappings name */
};

/*
 * n live 4 KiB mappings at even 8 KiB slots; then, at odd slots (random
 * or in order), map one more and unmap it. RANDOM and SEQUENTIAL call the
 * handler with the whole argument at once; LOCAL goes through the core and
 * the in-process transport (vfc-local.h), retry rounds and argument copies
 * included, as an ioctl does minus the CUSE round trip.
 */
static void pairs_setup(struct pairs_ctx *x, unsigned int n, enum pattern pat)
{
	const uint64_t base = 1ull << 32;
	struct vfc_emu_iommu_config cfg;
	void *va;
	int r;

	*x = (struct pairs_ctx){ .pat = pat, .n = n, .caller = { .pid = getpid() }, .c = -1 };
	/* MAP_DMA checks the caller's memory, so the mappings name real
	 * memory: one reservation, never touched. */
	va = mmap(NULL, (size_t)n * PAGE, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (va == MAP_FAILED)
		die("mmap", errno);
	x->va = (uint64_t)(uintptr_t)va;
	vfc_emu_iommu_config_init(&cfg);
	cfg.dma_entry_limit = n + 16;
	if (pat == LOCAL) {
		struct vfc_group *g;
		int gfd;

		if (vfc_core_new(&x->core) ||
		    vfc_core_add_iommu_driver(x->core, &vfc_emu_iommu_ops, &cfg) ||
		    vfc_core_add_group(x->core, 1, NULL, &g) || vfc_local_new(x->core, &x->l))
			die("core", ENOMEM);
		x->c = vfc_local_open_container(x->l);
		gfd = vfc_local_open_group(x->l, 1);
		if (x->c < 0 || gfd < 0 ||
		    vfc_local_ioctl(x->l, gfd, VFIO_GROUP_SET_CONTAINER,
				    (unsigned long)(uintptr_t)&x->c) ||
		    vfc_local_ioctl(x->l, x->c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
			die("container", EINVAL);
	} else {
		r = vfc_emu_iommu_ops.open(&cfg, VFIO_TYPE1v2_IOMMU, &x->d);
		if (r)
			die("open", r);
		vfc_emu_iommu_ops.attach_group(x->d, NULL);
	}
	for (uint64_t i = 0; i < n; i++) {
		r = pat == LOCAL ? local_map(x->l, x->c, base + i * 2 * PAGE, x->va + i * PAGE)
				 : map(x->d, &x->caller, base + i * 2 * PAGE,
				       x->va + i * PAGE, PAGE);
		if (r)
			die("populate", r);
	}
}

/* @count map+unmap pairs, the @done-th pair first. Not inlined, so that
 * callgrind can count it alone: --toggle-collect=run_pairs. */
static __attribute__((noinline)) void run_pairs(struct pairs_ctx *x, unsigned long done,
						 unsigned int count)
{
	const uint64_t base = 1ull << 32;
	int r;

	for (unsigned int k = 0; k < count; k++) {
		uint64_t slot = x->pat == SEQUENTIAL ? (done + k) % x->n : rng() % x->n;
		uint64_t iova = base + slot * 2 * PAGE + PAGE;

		if (x->pat == LOCAL) {
			r = local_map(x->l, x->c, iova, x->va);
			if (!r)
				r = local_unmap(x->l, x->c, iova);
		} else {
			r = map(x->d, &x->caller, iova, x->va, PAGE);
			if (!r)
				r = unmap(x->d, &x->caller, iova, PAGE);
		}
		if (r)
			die("map/unmap", r);
	}
}

static void pairs_teardown(struct pairs_ctx *x)
{
	if (x->pat == LOCAL) {
		vfc_local_free(x->l);
		vfc_core_free(x->core);
	} else {
		vfc_emu_iommu_ops.release(x->d);
	}
	munmap((void *)(uintptr_t)x->va, (size_t)x->n * PAGE);
}

/* Pairs for the time budget, or exactly @fixed pairs when it is not 0.
 * Returns pairs per second and the mean ns of one MAP_DMA or UNMAP_DMA. */
static double bench_map_unmap(unsigned int n, enum pattern pat, unsigned long fixed,
			      double *ret_ns_per_op)
{
	struct pairs_ctx x;
	unsigned long pairs = 0;
	double t0, t;

	pairs_setup(&x, n, pat);
	t0 = now();
	do {
		unsigned int k = fixed && fixed - pairs < 256 ? (unsigned int)(fixed - pairs) : 256;

		run_pairs(&x, pairs, k);
		pairs += k;
		t = now() - t0;
	} while (fixed ? pairs < fixed : t < budget);
	pairs_teardown(&x);
	*ret_ns_per_op = t * 1e9 / (double)(pairs * 2);
	return (double)pairs / t;
}

/* bench-iommu --map-unmap LIVE PATTERN [PAIRS]: one map/unmap run. */
static int main_map_unmap(int argc, char **argv)
{
	static const char *const names[] = { "random", "order", "local" };
	unsigned long live, pairs = 0;
	int pat = -1;
	double ns;

	if (argc < 4 || argc > 5)
		return 2;
	live = strtoul(argv[2], NULL, 0);
	for (int i = 0; i < 3; i++)
		if (!strcmp(argv[3], names[i]))
			pat = i;
	if (argc == 5)
		pairs = strtoul(argv[4], NULL, 0);
	if (live < 1 || live > 100000000 || pat < 0)
		return 2;
	bench_map_unmap((unsigned int)live, (enum pattern)pat, pairs, &ns);
	printf("%lu live, %s: %.0f ns per ioctl\n", live, names[pat], ns);
	return 0;
}

struct peer {
	pid_t pid;
	int go;
	uint8_t *buf;
};

/* A client process with CHILD_BUF bytes of touched memory at p->buf. */
static void peer_start(struct peer *p)
{
	int ready[2], go[2];
	char b;

	p->buf = mmap(NULL, CHILD_BUF, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p->buf == MAP_FAILED || pipe2(ready, O_CLOEXEC) || pipe2(go, O_CLOEXEC))
		die("peer setup", errno);
	p->pid = fork();
	if (p->pid < 0)
		die("fork", errno);
	if (!p->pid) {
		close(ready[0]);
		close(go[1]);
		memset(p->buf, 0x5a, CHILD_BUF);
		if (write(ready[1], "r", 1) != 1 || read(go[0], &b, 1) < 0)
			_exit(1);
		_exit(0);
	}
	close(ready[1]);
	close(go[0]);
	if (read(ready[0], &b, 1) != 1)
		die("peer start", EIO);
	close(ready[0]);
	p->go = go[1];
}

static void peer_stop(struct peer *p)
{
	close(p->go);
	waitpid(p->pid, NULL, 0);
	munmap(p->buf, CHILD_BUF);
}

/* One transfer of @len bytes at offset @off of the peer's buffer: raw
 * process_vm_* when @d is NULL, else dma_rw through @d at @iova + @off. */
static void one_dma(void *d, struct peer *p, uint64_t iova, size_t off, uint8_t *local,
		    size_t len, bool write)
{
	int r;

	if (d) {
		r = vfc_emu_iommu_ops.dma_rw(d, iova + off, local, len, write);
	} else {
		struct iovec l = { local, len }, rem = { p->buf + off, len };
		ssize_t n = write ? process_vm_writev(p->pid, &l, 1, &rem, 1, 0)
				  : process_vm_readv(p->pid, &l, 1, &rem, 1, 0);

		r = n == (ssize_t)len ? 0 : -EFAULT;
	}
	if (r)
		die("dma", r);
}

/*
 * Bytes per second of raw process_vm_* and of dma_rw through each of
 * @ds[0..n), measured in alternating rounds so that the machine's drift
 * hits all of them alike. ret[0] is raw, ret[1 + i] is @ds[i].
 */
static void bench_dma(void **ds, unsigned int n, struct peer *p, uint64_t iova, size_t len,
		      bool write, double *ret)
{
	uint8_t *local = aligned_alloc(PAGE, len);
	size_t slots = CHILD_BUF / len, done = 0;
	const unsigned int batch = len >= (1u << 20) ? 8 : 256;
	double spent[8] = { 0 }, start = now();

	if (!local || n + 1 > 8)
		die("alloc", ENOMEM);
	memset(local, 0xa5, len);
	while (now() - start < budget * (n + 1)) {
		/* Each method in turn goes first, and touches memory the
		 * others have not just pulled into the cache. */
		for (unsigned int j = 0; j <= n; j++) {
			unsigned int m = (j + (unsigned int)(done / batch)) % (n + 1);
			size_t first = done + (size_t)m * (slots / (n + 1));
			double t0 = now();

			for (unsigned int k = 0; k < batch; k++)
				one_dma(m ? ds[m - 1] : NULL, p, iova, ((first + k) % slots) * len,
					local, len, write);
			spent[m] += now() - t0;
		}
		done += batch;
	}
	for (unsigned int m = 0; m <= n; m++)
		ret[m] = (double)done * (double)len / spent[m];
	free(local);
}

static void print_machine(void)
{
	char line[256], model[256] = "unknown";
	FILE *f = fopen("/proc/cpuinfo", "re");

	while (f && fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');

		if (!strncmp(line, "model name", 10) && colon) {
			snprintf(model, sizeof(model), "%s", colon + 2);
			model[strcspn(model, "\n")] = '\0';
			break;
		}
	}
	if (f)
		fclose(f);
	printf("machine: %ld CPUs online, %s\n", sysconf(_SC_NPROCESSORS_ONLN), model);
}

int main(int argc, char **argv)
{
	static const unsigned int sizes[] = { 1000, 64000, 1000000 };
	static const size_t xfers[] = { 4096, 1 << 20 };
	double base_ns[3] = { 0 };
	struct peer p;
	void *d, *d4k;

	if (argc > 1 && !strcmp(argv[1], "--map-unmap")) {
		if (main_map_unmap(argc, argv) == 2) {
			fprintf(stderr, "usage: bench-iommu [seconds]\n"
					"       bench-iommu --map-unmap LIVE random|order|local [PAIRS]\n");
			return 2;
		}
		return 0;
	}
	if (argc > 1)
		budget = atof(argv[1]) > 0 ? atof(argv[1]) : budget;
	print_machine();
	printf("\nMAP_DMA + UNMAP_DMA of a 4 KiB mapping among n live ones, TYPE1v2\n");
	printf("ns per ioctl (and growth from 1k); log2(1M)/log2(1k) = 2.0\n");
	printf("%10s %20s %20s %20s\n", "live maps", "handler, random", "handler, in order",
	       "vfc-local, random");
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		printf("%10u", sizes[i]);
		for (int pat = RANDOM; pat <= LOCAL; pat++) {
			double ns;

			bench_map_unmap(sizes[i], pat, 0, &ns);
			if (!i)
				base_ns[pat] = ns;
			printf(" %11.0f (%5.2fx)", ns, ns / base_ns[pat]);
		}
		printf("\n");
		fflush(stdout);
	}

	peer_start(&p);
	struct vfc_caller caller = { .pid = p.pid };

	/* the peer's buffer as one mapping, and as 4 KiB mappings */
	d = open_iommu(65535);
	if (map(d, &caller, 1ull << 32, (uint64_t)(uintptr_t)p.buf, CHILD_BUF))
		die("map peer", EINVAL);
	d4k = open_iommu(CHILD_BUF / PAGE);
	for (uint64_t off = 0; off < CHILD_BUF; off += PAGE)
		if (map(d4k, &caller, (1ull << 32) + off, (uint64_t)(uintptr_t)p.buf + off, PAGE))
			die("map peer 4k", EINVAL);

	printf("\nDMA into another process (GB/s), buffer %llu MiB\n", CHILD_BUF >> 20);
	printf("%-6s %8s %10s %10s %12s %8s %10s\n", "dir", "size", "raw", "1 mapping", "ratio",
	       "4K maps", "ratio");
	for (int w = 0; w < 2; w++) {
		for (size_t i = 0; i < sizeof(xfers) / sizeof(xfers[0]); i++) {
			void *ds[2] = { d, d4k };
			double bw[3], raw, one, many;

			bench_dma(ds, 2, &p, 1ull << 32, xfers[i], w, bw);
			raw = bw[0];
			one = bw[1];
			many = bw[2];

			printf("%-6s %7zuK %10.2f %10.2f %11.0f%% %8.2f %9.0f%%\n",
			       w ? "write" : "read", xfers[i] >> 10, raw / 1e9, one / 1e9,
			       100 * one / raw, many / 1e9, 100 * many / raw);
			fflush(stdout);
		}
	}
	vfc_emu_iommu_ops.release(d);
	vfc_emu_iommu_ops.release(d4k);
	peer_stop(&p);
	return 0;
}
