// SPDX-License-Identifier: MIT
/*
 * Unit tests of the kernel backend's translations, which need no kernel
 * VFIO (the VM tests `kcompare` and `kflow` run them against the real
 * one): the core's SET_IRQS slots that did not resolve in the caller, as
 * the kernel is given them (issue 13, item 1), and the vaddr of a MAP_DMA
 * dry run, which must keep every answer the kernel gives before it pins
 * and never be pinnable itself (item 3), and PCI_HOT_RESET's groups as the
 * kernel is given them (item 9).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "kernel-priv.h"

/* Every slot kind: kept, or turned into what makes the kernel fail alike. */
static void test_irq_fds(void **state)
{
	int efd = eventfd(0, EFD_CLOEXEC), null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int32_t fds[6] = {
		efd, -1, -7, VFC_IRQ_FD_ERROR(EINVAL), VFC_IRQ_FD_ERROR(EBADF),
		VFC_IRQ_FD_ERROR(EMFILE),
	};

	(void)state;
	assert_true(efd >= 0 && null >= 0);
	/* The first marker is EINVAL: the kernel answers it itself. */
	assert_int_equal(vfc_kernel_irq_fds(fds, 6, null), 0);
	assert_int_equal(fds[0], efd);
	assert_int_equal(fds[1], -1);
	assert_int_equal(fds[2], -7);	/* the kernel's own reading of negatives */
	assert_int_equal(fds[3], null);
	assert_int_equal(fds[4], INT32_MAX);
	errno = 0;
	assert_int_equal(fcntl(fds[4], F_GETFD), -1);
	assert_int_equal(errno, EBADF);
	assert_int_equal(fds[5], null);	/* the kernel fails it with EINVAL ... */

	/* ... which the backend answers with the marker's own errno, when
	 * that slot is the first the kernel cannot look up. */
	int32_t emfile[3] = { efd, VFC_IRQ_FD_ERROR(EMFILE), VFC_IRQ_FD_ERROR(EBADF) };

	assert_int_equal(vfc_kernel_irq_fds(emfile, 3, null), -EMFILE);
	assert_int_equal(emfile[1], null);
	assert_int_equal(emfile[2], INT32_MAX);
	int32_t ebadf[2] = { VFC_IRQ_FD_ERROR(EBADF), VFC_IRQ_FD_ERROR(EMFILE) };

	assert_int_equal(vfc_kernel_irq_fds(ebadf, 2, null), 0);
	assert_int_equal(vfc_kernel_irq_fds(NULL, 0, null), 0);
	close(efd);
	close(null);
}

/* Nothing of this process lies at @va: no line of /proc/self/maps covers it. */
static int unmapped(uint64_t va)
{
	FILE *f = fopen("/proc/self/maps", "re");
	unsigned long long lo, hi;
	char line[512];
	int free_here = 1;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%llx-%llx", &lo, &hi) == 2 && va >= lo && va < hi)
			free_here = 0;
	fclose(f);
	return free_here;
}

static void test_probe_vaddr(void **state)
{
	static const struct {
		uint64_t vaddr, size;
	} cases[] = {
		{ 0x7f0000001000, 0x1000 },		/* aligned */
		{ 0x7f0000001800, 0x1000 },		/* 2 KiB off: EINVAL stays */
		{ 0x7f0000010000, 0x200000 },		/* 64 KiB aligned */
		{ 0x7f00000ff000, 1ull << 40 },		/* big */
		{ 0x1000, 0x1000 },			/* already low */
		{ 0, 0 },				/* size 0: EINVAL stays */
		{ 0x7f0000001000, ~0ull - 0x7f0000001000 + 1 }, /* ends at 2^64 - 1 */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t v = cases[i].vaddr, n = cases[i].size, p = vfc_kernel_probe_vaddr(v, n);

		assert_true(p < 0x10000);
		assert_int_equal(p & 0xffff, v & 0xffff);	/* alignment answers */
		assert_false(n && p + n - 1 < p);		/* no wrap where none was */
		assert_true(unmapped(p));			/* the pin fails */
	}
	/* A wrapping vaddr stays: the kernel stops at the wrap, before pinning. */
	assert_int_equal(vfc_kernel_probe_vaddr(0xfffffffffffff000ull, 0x2000), 0xfffffffffffff000ull);
	assert_int_equal(vfc_kernel_probe_vaddr(0x7f0000001000, ~0ull - 0x7f0000001000 + 2),
			 0x7f0000001000);
}

static bool same_file(int a, int b)
{
	struct stat sa, sb;

	return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

/* Our groups become the kernel's group fds; everything else fails alike. */
static void test_hot_reset_fds(void **state)
{
	struct vfc_kernel k = { .not_eventfd = open("/dev/null", O_RDONLY | O_CLOEXEC) };
	struct vfc_kgroup kg[2] = {
		{ .k = &k, .id = 5, .fd = eventfd(0, EFD_CLOEXEC) },
		{ .k = &k, .id = 6, .fd = eventfd(0, EFD_CLOEXEC) },
	};
	int ours[2], theirs;	/* stand-ins for struct vfc_group */
	struct vfc_group *g5 = (struct vfc_group *)&ours[0], *g6 = (struct vfc_group *)&ours[1];
	struct vfc_group *other = (struct vfc_group *)&theirs;
	int32_t fds[5];

	(void)state;
	assert_true(k.not_eventfd >= 0 && kg[0].fd >= 0 && kg[1].fd >= 0);
	pthread_mutex_init(&k.lock, NULL);
	kg[0].group = g5;
	kg[1].group = g6;
	kg[0].next = &kg[1];
	k.groups = &kg[0];

	const struct vfc_hot_reset_group good[2] = { { g6, 0 }, { g5, 0 } };

	assert_int_equal(vfc_kernel_hot_reset_fds(&k, good, 2, fds), 0);
	assert_true(fds[0] >= 0 && fds[0] != kg[1].fd && same_file(fds[0], kg[1].fd));
	assert_true(fds[1] >= 0 && fds[1] != kg[0].fd && same_file(fds[1], kg[0].fd));
	assert_true(fcntl(fds[0], F_GETFD) & FD_CLOEXEC);
	vfc_kernel_hot_reset_fds_close(&k, fds, 2);
	errno = 0;
	assert_int_equal(fcntl(fds[0], F_GETFD), -1);	/* the duplicates are gone */
	assert_int_equal(errno, EBADF);
	assert_int_equal(fcntl(kg[1].fd, F_GETFD), FD_CLOEXEC);	/* ours stay */

	/* Another backend's group and a fd that is no group: /dev/null
	 * (EINVAL); a fd not open: a number never open (EBADF). */
	const struct vfc_hot_reset_group bad[5] = {
		{ g5, 0 }, { other, 0 }, { NULL, -EINVAL }, { NULL, -EBADF }, { NULL, -EMFILE },
	};

	assert_int_equal(vfc_kernel_hot_reset_fds(&k, bad, 5, fds), 0);
	assert_true(same_file(fds[0], kg[0].fd));
	assert_int_equal(fds[1], k.not_eventfd);
	assert_int_equal(fds[2], k.not_eventfd);
	assert_int_equal(fds[3], INT32_MAX);
	assert_int_equal(fds[4], k.not_eventfd);
	vfc_kernel_hot_reset_fds_close(&k, fds, 5);
	assert_int_equal(fcntl(k.not_eventfd, F_GETFD), FD_CLOEXEC);

	/* The first error is one the kernel cannot give: it is returned, for
	 * where the kernel says EINVAL. */
	const struct vfc_hot_reset_group emfile[2] = { { NULL, -EMFILE }, { NULL, -EBADF } };

	assert_int_equal(vfc_kernel_hot_reset_fds(&k, emfile, 2, fds), -EMFILE);
	assert_int_equal(fds[0], k.not_eventfd);
	assert_int_equal(fds[1], INT32_MAX);
	vfc_kernel_hot_reset_fds_close(&k, fds, 2);
	const struct vfc_hot_reset_group ebadf[2] = { { NULL, -EBADF }, { NULL, -EMFILE } };

	assert_int_equal(vfc_kernel_hot_reset_fds(&k, ebadf, 2, fds), 0);
	vfc_kernel_hot_reset_fds_close(&k, fds, 2);
	assert_int_equal(vfc_kernel_hot_reset_fds(&k, NULL, 0, fds), 0);

	close(kg[0].fd);
	close(kg[1].fd);
	close(k.not_eventfd);
	pthread_mutex_destroy(&k.lock);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_irq_fds),
		cmocka_unit_test(test_probe_vaddr),
		cmocka_unit_test(test_hot_reset_fds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
