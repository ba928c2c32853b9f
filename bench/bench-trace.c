/* SPDX-License-Identifier: MIT */
/*
 * What the trace costs when it is off: the core's in-process ioctl path
 * (vfc_file_ioctl() on GET_API_VERSION, and on DEVICE_GET_INFO with its
 * bytes in place), with the core as shipped against the same core built
 * with the trace check compiled out (-DVFC_TRACE_COMPILED_OUT), and with
 * the trace on, writing text to /dev/null. Both copies of the core are
 * loadable modules (bench-trace-lib.c) in one process. A round runs 8
 * pairs of short blocks alternating between them (the order swapped every
 * block) and keeps each side's best block, in thread CPU time, so that
 * the other tenants of a shared machine disturb it least; the report is
 * the median ratio over the rounds and its spread (the middle half and
 * the extremes).
 *
 * Usage: bench-trace [rounds [calls per round]]; run from the build dir
 * (the modules are found next to the program).
 */
#include <dlfcn.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct side {
	void *h;
	int (*init)(void);
	double (*run)(int which, unsigned int n);
	int (*trace)(const char *path);
	void (*fini)(void);
};

static int load(struct side *s, const char *dir, const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	s->h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!s->h) {
		fprintf(stderr, "bench-trace: %s\n", dlerror());
		return -1;
	}
	s->init = (int (*)(void))dlsym(s->h, "bench_init");
	s->run = (double (*)(int, unsigned int))dlsym(s->h, "bench_run");
	s->trace = (int (*)(const char *))dlsym(s->h, "bench_trace");
	s->fini = (void (*)(void))dlsym(s->h, "bench_fini");
	if (!s->init || !s->run || !s->trace || !s->fini || s->init() < 0) {
		fprintf(stderr, "bench-trace: %s: cannot set up\n", path);
		return -1;
	}
	return 0;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void report(const char *what, double *ratio, unsigned int n, double base_ns)
{
	qsort(ratio, n, sizeof(*ratio), cmp);
	printf("  %-34s %.3f  (middle half %.3f..%.3f, all %.3f..%.3f; base %.1f ns/call)\n",
	       what, ratio[n / 2], ratio[n / 4], ratio[3 * n / 4], ratio[0], ratio[n - 1],
	       base_ns);
}

int main(int argc, char **argv)
{
	unsigned int rounds = argc > 1 ? (unsigned int)atoi(argv[1]) : 41;
	unsigned int calls = argc > 2 ? (unsigned int)atoi(argv[2]) : 200000;
	static const char *const names[] = { "GET_API_VERSION", "DEVICE_GET_INFO" };
	char self[PATH_MAX];
	struct side on, out;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	double *off_r, *traced_r, base[2] = { 0 };

	if (n < 0 || rounds < 4 || !calls)
		return 2;
	self[n] = '\0';
	if (load(&on, dirname(self), "bench-trace-on.so") < 0 ||
	    load(&out, self, "bench-trace-out.so") < 0)
		return 77;
	off_r = calloc(rounds, sizeof(double));
	traced_r = calloc(rounds, sizeof(double));
	if (!off_r || !traced_r)
		return 1;
	printf("bench-trace: %u rounds of %u calls; ratio to the core without the trace check "
	       "(median per round)\n", rounds, calls);
	for (int which = 0; which < 2; which++) {
		/* warm up both */
		on.run(which, calls);
		out.run(which, calls);
		for (unsigned int r = 0; r < rounds; r++) {
			double t_out, t_on, t_traced;

			/* a round: 8 alternating pairs of short blocks, the best
			 * block of each side (what the noise of a shared machine
			 * least disturbs) */
			t_on = t_out = 1e30;
			for (int k = 0; k < 8; k++) {
				double a, b;

				if ((r + k) % 2) {
					a = on.run(which, calls / 8);
					b = out.run(which, calls / 8);
				} else {
					b = out.run(which, calls / 8);
					a = on.run(which, calls / 8);
				}
				t_on = a < t_on ? a : t_on;
				t_out = b < t_out ? b : t_out;
			}
			off_r[r] = t_on / t_out;
			base[which] += t_out / rounds;
			/* the trace on, to /dev/null, far fewer calls: it is slower */
			if (on.trace("/dev/null") < 0)
				return 1;
			t_traced = on.run(which, calls / 20 + 1);
			on.trace(NULL);
			traced_r[r] = t_traced / t_out;
		}
		printf("%s:\n", names[which]);
		report("trace off (the check in place)", off_r, rounds, base[which]);
		report("trace on, text to /dev/null", traced_r, rounds, base[which]);
	}
	on.fini();
	out.fini();
	return 0;
}
