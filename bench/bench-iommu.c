// SPDX-License-Identifier: MIT
/*
 * Benchmark of the emulated backend's software IOMMU: MAP_DMA+UNMAP_DMA
 * pairs per second with 1k, 64k and 1M live mappings, and device DMA
 * bandwidth through the IOMMU into another process next to raw
 * process_vm_readv/writev of the same sizes. Prints one report; see
 * docs/performance.md. Usage: bench-iommu [seconds per measurement]
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

/*
 * n live 4 KiB mappings at even 8 KiB slots; then, at odd slots (random
 * or in order), map one more and unmap it. RANDOM and SEQUENTIAL call the
 * handler with the whole argument at once; LOCAL goes through the core and
 * the in-process transport (vfc-local.h), retry rounds and argument copies
 * included, as an ioctl does minus the CUSE round trip. Returns pairs per
 * second and the mean ns of one MAP_DMA or UNMAP_DMA.
 */
static double bench_map_unmap(unsigned int n, enum pattern pat, double *ret_ns_per_op)
{
	const uint64_t base = 1ull << 32;
	struct vfc_caller caller = { .pid = getpid() };
	struct vfc_emu_iommu_config cfg;
	struct vfc_core *core = NULL;
	struct vfc_local *l = NULL;
	unsigned long pairs = 0;
	int c = -1;
	void *d = NULL;
	double t0, t;
	int r;

	vfc_emu_iommu_config_init(&cfg);
	cfg.dma_entry_limit = n + 16;
	if (pat == LOCAL) {
		struct vfc_group *g;
		int gfd;

		if (vfc_core_new(&core) || vfc_core_add_iommu_driver(core, &vfc_emu_iommu_ops, &cfg) ||
		    vfc_core_add_group(core, 1, NULL, &g) || vfc_local_new(core, &l))
			die("core", ENOMEM);
		c = vfc_local_open_container(l);
		gfd = vfc_local_open_group(l, 1);
		if (c < 0 || gfd < 0 ||
		    vfc_local_ioctl(l, gfd, VFIO_GROUP_SET_CONTAINER, (unsigned long)(uintptr_t)&c) ||
		    vfc_local_ioctl(l, c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
			die("container", EINVAL);
	} else {
		r = vfc_emu_iommu_ops.open(&cfg, VFIO_TYPE1v2_IOMMU, &d);
		if (r)
			die("open", r);
		vfc_emu_iommu_ops.attach_group(d, NULL);
	}
	for (uint64_t i = 0; i < n; i++) {
		r = pat == LOCAL ? local_map(l, c, base + i * 2 * PAGE, 0x10000000ull + i * PAGE)
				 : map(d, &caller, base + i * 2 * PAGE, 0x10000000ull + i * PAGE, PAGE);
		if (r)
			die("populate", r);
	}
	t0 = now();
	do {
		for (int k = 0; k < 256; k++) {
			uint64_t slot = pat == SEQUENTIAL ? (pairs + (uint64_t)k) % n : rng() % n;
			uint64_t iova = base + slot * 2 * PAGE + PAGE;

			if (pat == LOCAL) {
				r = local_map(l, c, iova, 0x10000000ull);
				if (!r)
					r = local_unmap(l, c, iova);
			} else {
				r = map(d, &caller, iova, 0x10000000ull, PAGE);
				if (!r)
					r = unmap(d, &caller, iova, PAGE);
			}
			if (r)
				die("map/unmap", r);
		}
		pairs += 256;
		t = now() - t0;
	} while (t < budget);
	if (pat == LOCAL) {
		vfc_local_free(l);
		vfc_core_free(core);
	} else {
		vfc_emu_iommu_ops.release(d);
	}
	*ret_ns_per_op = t * 1e9 / (double)(pairs * 2);
	return (double)pairs / t;
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

			bench_map_unmap(sizes[i], pat, &ns);
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
