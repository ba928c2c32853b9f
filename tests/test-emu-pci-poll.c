/* SPDX-License-Identifier: MIT */
/*
 * Watched, mappable BARs (emu-pci-poll.c): a model sees the client's writes
 * through a mapping, soon, word by word, through the same bar_write as
 * trapped writes; not while memory decode is off; not for a reset; and the
 * poller sleeps when nothing changes. A test model: BAR0, 4 KiB, watched.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <linux/pci_regs.h>
#include <cmocka.h>

#include "emu-pci-model.h"
#include "emu-pci-test.h"

#define SEEN_MAX 64

struct seen {
	unsigned int n;
	uint64_t off[SEEN_MAX];
	uint64_t val[SEEN_MAX];
};

static void w_write(struct vfc_emu_pci *pci, unsigned int bar, uint64_t off, uint64_t val,
		    unsigned int size)
{
	struct seen *s = vfc_emu_pci_priv(pci);

	if (s->n < SEEN_MAX) {
		s->off[s->n] = off;
		s->val[s->n] = val;
		s->n++;
	}
}

static uint64_t w_read(struct vfc_emu_pci *pci, unsigned int bar, uint64_t off, unsigned int size)
{
	return 0;
}

static const struct vfc_emu_pci_model watched_model = {
	.name = "watched",
	.vendor_id = 0x1234,
	.device_id = 0xbeef,
	.bars = {
		[0] = { .type = VFC_EMU_BAR_MEM32, .size = 4096, .mappable = true, .watched = true },
	},
	.priv_size = sizeof(struct seen),
	.bar_read = w_read,
	.bar_write = w_write,
};

struct ctx {
	struct vfc_emu_pci *pci;
	volatile uint32_t *map;
};

static unsigned int seen_n(struct ctx *c)
{
	unsigned int n;

	/* The model's state is written under the device lock: read it so. */
	vfc_t_cfg_read(c->pci, 0, 2);	/* a barrier through the lock */
	n = __atomic_load_n(&((struct seen *)vfc_emu_pci_priv(c->pci))->n, __ATOMIC_ACQUIRE);
	return n;
}

static bool has_seen(void *arg)
{
	return seen_n(arg) > 0;
}

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	const struct vfc_device_ops *ops;
	uint64_t off;
	int fd;

	assert_non_null(c);
	c->pci = vfc_t_new(&watched_model, NULL);
	vfc_t_open(c->pci);
	vfc_t_cfg_write(c->pci, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	ops = vfc_emu_pci_device_ops(c->pci);
	assert_int_equal(ops->region_mmap(c->pci, 0, 0, 4096, &fd, &off), 0);
	c->map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)off);
	assert_true(c->map != MAP_FAILED);
	close(fd);
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	munmap((void *)c->map, 4096);
	vfc_t_close(c->pci);
	vfc_emu_pci_free(c->pci);
	free(c);
	return 0;
}

static void test_write_seen(void **state)
{
	struct ctx *c = *state;
	struct seen *s = vfc_emu_pci_priv(c->pci);

	c->map[0x40 / 4] = 0xdeadbeef;
	assert_true(vfc_t_wait(has_seen, c));
	assert_int_equal(seen_n(c), 1);
	assert_int_equal(s->off[0], 0x40);
	assert_int_equal(s->val[0], 0xdeadbeef);
	/* Trapped reads see the same memory. */
	assert_int_equal(vfc_t_bar_read(c->pci, 0, 0x40, 4), 0xdeadbeef);
	/* A trapped write reaches the model at once, and only once. */
	vfc_t_bar_write(c->pci, 0, 0x80, 4, 7);
	assert_int_equal(seen_n(c), 2);
	assert_int_equal(s->off[1], 0x80);
	assert_int_equal(c->map[0x80 / 4], 7);
	usleep(30000);
	assert_int_equal(seen_n(c), 2);
}

/* While busy, a write is seen within the spin window: a few ms at most
 * even on a loaded machine; measured, not timed as a test (bench/). */
static void test_back_to_back(void **state)
{
	struct ctx *c = *state;

	for (uint32_t i = 1; i <= 20; i++) {
		c->map[0] = i;
		assert_true(vfc_t_wait(has_seen, c));
		while (seen_n(c) < i)
			usleep(100);
	}
	assert_int_equal(seen_n(c), 20);
}

static void test_decode_off_and_reset(void **state)
{
	struct ctx *c = *state;
	uint64_t scans, hits;

	vfc_t_cfg_write(c->pci, PCI_COMMAND, 2, 0);	/* memory decode off */
	c->map[4] = 1;
	usleep(50000);
	assert_int_equal(seen_n(c), 0);
	vfc_t_cfg_write(c->pci, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	c->map[5] = 2;
	assert_true(vfc_t_wait(has_seen, c));
	/* The reset clears the memory: no write of the client's. */
	vfc_emu_pci_poll_stats(c->pci, &scans, &hits);
	assert_int_equal(vfc_t_reset(c->pci), 0);
	usleep(50000);
	assert_int_equal(c->map[5], 0);
	assert_int_equal(seen_n(c), 1);
}

/*
 * Idle, the poller sleeps: at most one scan per 10 ms after the spin. The
 * bound is taken against the time that really passed, so a loaded machine
 * that oversleeps the window cannot fail it; only a poller that scans
 * faster than it should can.
 */
static void test_idle(void **state)
{
	struct ctx *c = *state;
	uint64_t s0, s1, hits;
	struct timespec t0, t1;
	struct rusage r0, r1;
	double cpu, ms;

	usleep(100000);	/* past the spin window and the back-off */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	vfc_emu_pci_poll_stats(c->pci, &s0, &hits);
	getrusage(RUSAGE_SELF, &r0);
	usleep(500000);
	getrusage(RUSAGE_SELF, &r1);
	vfc_emu_pci_poll_stats(c->pci, &s1, &hits);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
	cpu = (r1.ru_utime.tv_sec - r0.ru_utime.tv_sec + r1.ru_stime.tv_sec - r0.ru_stime.tv_sec) +
	      (r1.ru_utime.tv_usec - r0.ru_utime.tv_usec + r1.ru_stime.tv_usec -
	       r0.ru_stime.tv_usec) / 1e6;
	/* Informational (docs/devices.md), not a check: CPU on idle. */
	print_message("idle: %llu scans in %.0f ms, %.3f%% of a CPU\n",
		      (unsigned long long)(s1 - s0), ms, cpu / (ms / 1e3) * 100);
	assert_true(s1 - s0 <= (uint64_t)(ms / 10) + 10);	/* one per 10 ms, some slack */
	assert_true(s1 - s0 >= 1);	/* it does still look */
}

/* Closed, the poller is gone; reopened, it runs again. */
static void test_close_open(void **state)
{
	struct ctx *c = *state;
	uint64_t s0, s1, hits;

	vfc_t_close(c->pci);
	vfc_emu_pci_poll_stats(c->pci, &s0, &hits);
	usleep(50000);
	vfc_emu_pci_poll_stats(c->pci, &s1, &hits);
	assert_int_equal(s0, s1);
	vfc_t_open(c->pci);
	vfc_t_cfg_write(c->pci, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	c->map[9] = 9;
	assert_true(vfc_t_wait(has_seen, c));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_write_seen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_back_to_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_decode_off_and_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_open, setup, teardown),
	};

	return cmocka_run_group_tests_name("emu-pci-poll", tests, NULL, NULL);
}
