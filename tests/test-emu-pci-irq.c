// SPDX-License-Identifier: MIT
/*
 * Unit tests of the emulated PCI framework's interrupts, on the test model
 * of emu-pci-test.h, with real eventfds: GET_IRQ_INFO, the SET_IRQS table
 * of the newest kernel's vfio-pci with its errnos, automasked INTx with ioctl,
 * config-space and eventfd unmasking, MSI with per-vector masking, MSI-X
 * with its PBA, REQ, loopback triggers, reset and close, and the DMA gate.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/pci_regs.h>
#include <cmocka.h>

#include "emu-pci-test.h"

#define NONE VFIO_IRQ_SET_DATA_NONE
#define BOOL VFIO_IRQ_SET_DATA_BOOL
#define EVFD VFIO_IRQ_SET_DATA_EVENTFD
#define MASK VFIO_IRQ_SET_ACTION_MASK
#define UNMASK VFIO_IRQ_SET_ACTION_UNMASK
#define TRIG VFIO_IRQ_SET_ACTION_TRIGGER
#define INTX VFIO_PCI_INTX_IRQ_INDEX
#define MSI VFIO_PCI_MSI_IRQ_INDEX
#define MSIX VFIO_PCI_MSIX_IRQ_INDEX
#define ERR VFIO_PCI_ERR_IRQ_INDEX
#define REQ VFIO_PCI_REQ_IRQ_INDEX

#define MSI_CAP 0x40
#define MSIX_CAP 0x58

static int setup(void **state)
{
	struct vfc_emu_pci *pci = vfc_t_new(&vfc_t_model, NULL);

	vfc_t_open(pci);
	*state = pci;
	return 0;
}

static int teardown(void **state)
{
	struct vfc_emu_pci *pci = *state;

	vfc_t_close(pci);
	vfc_emu_pci_free(pci);
	return 0;
}

static void line(struct vfc_emu_pci *pci, int level)
{
	vfc_t_bar_write(pci, 0, T_REG_SET_IRQ, 4, (uint64_t)level);
}

static void test_irq_info(void **state)
{
	struct vfc_emu_pci *pci = *state;
	const struct vfc_device_ops *ops = vfc_emu_pci_device_ops(pci);
	static const struct {
		uint32_t flags, count;
	} want[] = {
		[INTX] = { VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_MASKABLE |
				   VFIO_IRQ_INFO_AUTOMASKED, 1 },
		[MSI] = { VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE, 8 },
		[MSIX] = { VFIO_IRQ_INFO_EVENTFD, 16 }, /* dynamic MSI-X */
		[REQ] = { VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE, 1 },
	};

	for (unsigned int i = 0; i < 5; i++) {
		struct vfio_irq_info info = { .argsz = sizeof(info), .index = i };
		int r = ops->get_irq_info(pci, &info);

		if (i == ERR) {
			assert_int_equal(r, -EINVAL); /* conventional PCI: no AER */
			continue;
		}
		assert_int_equal(r, 0);
		assert_int_equal(info.flags, want[i].flags);
		assert_int_equal(info.count, want[i].count);
	}

	/* No pin, no MSI, no MSI-X: counts are 0. */
	struct vfc_emu_pci_model m = vfc_t_model;
	struct vfio_irq_info info = { .argsz = sizeof(info) };

	m.interrupt_pin = 0;
	m.msi_vectors = 0;
	m.msix_vectors = 0;
	struct vfc_emu_pci *bare = vfc_t_new(&m, NULL);

	vfc_t_open(bare);
	for (unsigned int i = INTX; i <= MSIX; i++) {
		info.index = i;
		assert_int_equal(vfc_emu_pci_device_ops(bare)->get_irq_info(bare, &info), 0);
		assert_int_equal(info.count, 0);
	}
	/* Without an MSI-X capability there is no dynamic MSI-X: NORESIZE,
	 * as the real edu's vfio-pci answers. */
	assert_int_equal(info.flags, VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE);
	assert_int_equal(vfc_t_set_fd(bare, INTX, TRIG, 0, vfc_t_efd()), -EINVAL);
	assert_int_equal(vfc_t_cfg_read(bare, PCI_CAPABILITY_LIST, 1), 0);
	assert_int_equal(vfc_t_cfg_read(bare, PCI_STATUS, 2), 0);
	vfc_t_close(bare);
	vfc_emu_pci_free(bare);
}

static void test_intx_automask(void **state)
{
	struct vfc_emu_pci *pci = *state;
	int fd = vfc_t_efd();

	assert_int_equal(vfc_t_set_fd(pci, INTX, TRIG, 0, fd), 0);
	line(pci, 1);
	assert_int_equal(vfc_t_efd_take(fd), 1);
	assert_int_equal(vfc_t_cfg_read(pci, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT,
			 PCI_STATUS_INTERRUPT);

	/* Masked now: a second edge of the device's condition is not sent. */
	line(pci, 0);
	line(pci, 1);
	assert_int_equal(vfc_t_efd_take(fd), 0);

	/* Unmasking while still asserted signals again and stays masked. */
	assert_int_equal(vfc_t_set_irqs(pci, NONE | UNMASK, INTX, 0, 1, NULL), 0);
	assert_int_equal(vfc_t_efd_take(fd), 1);
	line(pci, 0);
	line(pci, 1);
	assert_int_equal(vfc_t_efd_take(fd), 0);

	/* Deassert, unmask: the next assertion fires once. */
	line(pci, 0);
	assert_int_equal(vfc_t_set_irqs(pci, NONE | UNMASK, INTX, 0, 1, NULL), 0);
	assert_int_equal(vfc_t_efd_take(fd), 0);
	line(pci, 1);
	assert_int_equal(vfc_t_efd_take(fd), 1);
	line(pci, 0);

	/* Unmask with a BOOL: 0 does nothing, 1 unmasks. */
	uint8_t b = 0;

	assert_int_equal(vfc_t_set_irqs(pci, BOOL | UNMASK, INTX, 0, 1, &b), 0);
	line(pci, 1);
	assert_int_equal(vfc_t_efd_take(fd), 0);
	line(pci, 0);
	b = 1;
	assert_int_equal(vfc_t_set_irqs(pci, BOOL | UNMASK, INTX, 0, 1, &b), 0);
	line(pci, 1);
	assert_int_equal(vfc_t_efd_take(fd), 1);
	line(pci, 0);
	close(fd);
}

static void test_intx_mask_and_disable(void **state)
{
	struct vfc_emu_pci *pci = *state;
	uint8_t b = 1;
	int fd = vfc_t_efd();

	assert_int_equal(vfc_t_set_fd(pci, INTX, TRIG, 0, fd), 0);
	assert_int_equal(vfc_t_set_irqs(pci, NONE | MASK, INTX, 0, 1, NULL), 0);
	line(pci, 1);
	assert_int_equal(vfc_t_efd_take(fd), 0);
	assert_int_equal(vfc_t_set_irqs(pci, NONE | UNMASK, INTX, 0, 1, NULL), 0);
	assert_int_equal(vfc_t_efd_take(fd), 1); /* pending at unmask */
	line(pci, 0);
	assert_int_equal(vfc_t_set_irqs(pci, NONE | UNMASK, INTX, 0, 1, NULL), 0);
	assert_int_equal(vfc_t_set_irqs(pci, BOOL | MASK, INTX, 0, 1, &b), 0);
	line(pci, 1);
	assert_int_equal(vfc_t_efd_take(fd), 0);
	line(pci, 0);
	assert_int_equal(vfc_t_set_irqs(pci, NONE | UNMASK, INTX, 0, 1, NULL), 0);

	/* PCI_COMMAND_INTX_DISABLE masks; clearing it unmasks. */
	vfc_t_cfg_write(pci, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_INTX_DISABLE);
	line(pci, 1);
	assert_int_equal(vfc_t_efd_take(fd), 0);
	/* The ioctl cannot unmask behind the disable bit. */
	assert_int_equal(vfc_t_set_irqs(pci, NONE | UNMASK, INTX, 0, 1, NULL), 0);
	assert_int_equal(vfc_t_efd_take(fd), 0);
	/* Nor does the loopback trigger signal. */
	assert_int_equal(vfc_t_set_irqs(pci, NONE | TRIG, INTX, 0, 1, NULL), 0);
	assert_int_equal(vfc_t_efd_take(fd), 0);
	vfc_t_cfg_write(pci, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_int_equal(vfc_t_efd_take(fd), 1); /* still asserted at unmask */
	line(pci, 0);

	/* Disabled INTx while the line is high, then enabled: fires at once. */
	assert_int_equal(vfc_t_set_irqs(pci, NONE | TRIG, INTX, 0, 0, NULL), 0);
	line(pci, 1);
	assert_int_equal(vfc_t_set_fd(pci, INTX, TRIG, 0, fd), 0);
	assert_int_equal(vfc_t_efd_take(fd), 1);
	line(pci, 0);

	/* A bad eventfd leaves the current one in place. */
	assert_int_equal(vfc_t_set_fd(pci, INTX, TRIG, 0, 999), -EBADF);
	/* So do the core's markers of client fds that did not resolve: they
	 * are errors, not the negative fd that de-assigns. */
	assert_int_equal(vfc_t_set_fd(pci, INTX, TRIG, 0, VFC_IRQ_FD_ERROR(EINVAL)), -EINVAL);
	assert_int_equal(vfc_t_set_fd(pci, INTX, TRIG, 0, VFC_IRQ_FD_ERROR(EBADF)), -EBADF);
	assert_int_equal(vfc_t_set_fd(pci, INTX, UNMASK, 0, VFC_IRQ_FD_ERROR(EINVAL)), -EINVAL);
	assert_int_equal(vfc_t_set_irqs(pci, NONE | TRIG, INTX, 0, 1, NULL), 0);
	assert_int_equal(vfc_t_efd_take(fd), 1);

	/* De-assigning the eventfd with -1 keeps INTx enabled but silent. */
	assert_int_equal(vfc_t_set_fd(pci, INTX, TRIG, 0, -1), 0);
	assert_int_equal(vfc_t_set_fd(pci, MSI, TRIG, 0, fd), -EINVAL);
	assert_int_equal(vfc_t_set_irqs(pci, NONE | TRIG, INTX, 0, 1, NULL), 0);
	assert_int_equal(vfc_t_efd_take(fd), 0);
	/* The handler stays: an assertion still masks, without a signal;
	 * attaching an eventfd then does not fire; unmasking does. */
	line(pci, 1);
	assert_int_equal(vfc_t_set_fd(pci, INTX, TRIG, 0, fd), 0);
	assert_int_equal(vfc_t_efd_take(fd), 0);
	assert_int_equal(vfc_t_set_irqs(pci, NONE | UNMASK, INTX, 0, 1, NULL), 0);
	assert_int_equal(vfc_t_efd_take(fd), 1);
	line(pci, 0);

	/* Enabling INTx with -1: enabled, no eventfd, a bad fd enables nothing. */
	assert_int_equal(vfc_t_set_irqs(pci, NONE | TRIG, INTX, 0, 0, NULL), 0);
	assert_int_equal(vfc_t_set_fd(pci, INTX, TRIG, 0, 999), -EBADF);
	assert_int_equal(vfc_t_set_irqs(pci, NONE | TRIG, INTX, 0, 0, NULL), -EINVAL);
	assert_int_equal(vfc_t_set_fd(pci, INTX, TRIG, 0, -1), 0);
	assert_int_equal(vfc_t_set_irqs(pci, NONE | TRIG, INTX, 0, 0, NULL), 0);
	close(fd);
}

static bool efd_ready(void *arg)
{
	int *fd = arg;

	return vfc_t_efd_take(fd[0]) == 1;
}

static void test_intx_unmask_eventfd(void **state)
{
	struct vfc_emu_pci *pci = *state;
	int fd = vfc_t_efd(), ufd = vfc_t_efd(), other = vfc_t_efd(), p[2];

	assert_int_equal(vfc_t_set_fd(pci, INTX, UNMASK, 0, ufd), -EINVAL); /* INTx off */
	assert_int_equal(vfc_t_set_fd(pci, INTX, TRIG, 0, fd), 0);
	assert_int_equal(vfc_t_set_fd(pci, INTX, UNMASK, 0, ufd), 0);
	assert_int_equal(vfc_t_set_fd(pci, INTX, UNMASK, 0, other), -EBUSY);
	assert_int_equal(vfc_t_set_fd(pci, INTX, MASK, 0, other), -ENOTTY);

	line(pci, 1);
	assert_int_equal(vfc_t_efd_take(fd), 1);
	line(pci, 0);
	/* The client writes the unmask eventfd; the device thread unmasks. */
	assert_int_equal(write(ufd, &(uint64_t){ 1 }, 8), 8);
	line(pci, 1);
	assert_true(vfc_t_wait(efd_ready, &fd)); /* fires once unmasked */
	line(pci, 0);

	/* Unmasking while asserted through the eventfd: signalled again. */
	line(pci, 1);
	assert_int_equal(write(ufd, &(uint64_t){ 1 }, 8), 8);
	assert_true(vfc_t_wait(efd_ready, &fd));
	line(pci, 0);

	/* -1 stops it; then a pipe is refused, a closed fd too. */
	assert_int_equal(vfc_t_set_fd(pci, INTX, UNMASK, 0, -1), 0);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(vfc_t_set_fd(pci, INTX, UNMASK, 0, p[0]), -EINVAL);
	assert_int_equal(vfc_t_set_fd(pci, INTX, TRIG, 0, p[1]), -EINVAL);
	close(p[0]);
	close(p[1]);
	assert_int_equal(vfc_t_set_fd(pci, INTX, UNMASK, 0, p[0]), -EBADF);
	assert_int_equal(vfc_t_set_fd(pci, INTX, UNMASK, 0, other), 0);
	close(fd);
	close(ufd);
	close(other);
}

static void test_loopback(void **state)
{
	struct vfc_emu_pci *pci = *state;
	int fd = vfc_t_efd(), v[3] = { vfc_t_efd(), vfc_t_efd(), vfc_t_efd() };
	uint8_t bools[3] = { 1, 0, 1 }, zero = 0;
	int32_t fds[3] = { v[0], v[1], v[2] };

	/* Loopback needs the index enabled. */
	assert_int_equal(vfc_t_set_irqs(pci, NONE | TRIG, INTX, 0, 1, NULL), -EINVAL);
	assert_int_equal(vfc_t_set_fd(pci, INTX, TRIG, 0, fd), 0);
	assert_int_equal(vfc_t_set_irqs(pci, NONE | TRIG, INTX, 0, 1, NULL), 0);
	assert_int_equal(vfc_t_efd_take(fd), 1);
	assert_int_equal(vfc_t_set_irqs(pci, BOOL | TRIG, INTX, 0, 1, &zero), 0);
	assert_int_equal(vfc_t_efd_take(fd), 0);
	assert_int_equal(vfc_t_set_irqs(pci, BOOL | TRIG, INTX, 0, 1, &bools[0]), 0);
	assert_int_equal(vfc_t_efd_take(fd), 1);
	assert_int_equal(vfc_t_set_irqs(pci, NONE | TRIG, INTX, 0, 0, NULL), 0);

	assert_int_equal(vfc_t_set_irqs(pci, EVFD | TRIG, MSIX, 0, 3, fds), 0);
	assert_int_equal(vfc_t_set_irqs(pci, BOOL | TRIG, MSIX, 0, 3, bools), 0);
	assert_int_equal(vfc_t_efd_take(v[0]), 1);
	assert_int_equal(vfc_t_efd_take(v[1]), 0);
	assert_int_equal(vfc_t_efd_take(v[2]), 1);
	assert_int_equal(vfc_t_set_irqs(pci, NONE | TRIG, MSIX, 1, 2, NULL), 0);
	assert_int_equal(vfc_t_efd_take(v[0]), 0);
	assert_int_equal(vfc_t_efd_take(v[1]), 1);
	assert_int_equal(vfc_t_efd_take(v[2]), 1);
	/* Vectors without an eventfd are skipped, even past those enabled. */
	assert_int_equal(vfc_t_set_irqs(pci, NONE | TRIG, MSIX, 2, 14, NULL), 0);
	assert_int_equal(vfc_t_efd_take(v[2]), 1);
	assert_int_equal(vfc_t_efd_take(v[1]), 0);
	close(fd);
	for (int i = 0; i < 3; i++)
		close(v[i]);
}

static void test_set_irqs_errors(void **state)
{
	struct vfc_emu_pci *pci = *state;
	int fd = vfc_t_efd();
	int32_t fds[2] = { fd, fd };
	uint8_t b = 1;

	/* Actions an index does not have: ENOTTY. */
	assert_int_equal(vfc_t_set_irqs(pci, NONE | MASK, MSI, 0, 1, NULL), -ENOTTY);
	assert_int_equal(vfc_t_set_irqs(pci, NONE | UNMASK, MSI, 0, 1, NULL), -ENOTTY);
	assert_int_equal(vfc_t_set_irqs(pci, NONE | MASK, MSIX, 0, 1, NULL), -ENOTTY);
	assert_int_equal(vfc_t_set_irqs(pci, NONE | UNMASK, REQ, 0, 1, NULL), -ENOTTY);
	assert_int_equal(vfc_t_set_irqs(pci, NONE, INTX, 0, 1, NULL), -ENOTTY);
	assert_int_equal(vfc_t_set_irqs(pci, NONE | MASK | UNMASK, INTX, 0, 1, NULL), -ENOTTY);

	/* Validation: bad data type, unknown flags, ranges, ERR. */
	assert_int_equal(vfc_t_set_irqs(pci, NONE | BOOL | TRIG, INTX, 0, 1, &b), -EINVAL);
	assert_int_equal(vfc_t_set_irqs(pci, TRIG, INTX, 0, 1, NULL), -EINVAL);
	assert_int_equal(vfc_t_set_irqs(pci, NONE | TRIG | (1u << 9), INTX, 0, 1, NULL), -EINVAL);
	assert_int_equal(vfc_t_set_irqs(pci, EVFD | TRIG, INTX, 1, 1, fds), -EINVAL);
	assert_int_equal(vfc_t_set_irqs(pci, EVFD | TRIG, INTX, 0, 2, fds), -EINVAL);
	assert_int_equal(vfc_t_set_irqs(pci, EVFD | TRIG, MSI, 8, 1, fds), -EINVAL);
	assert_int_equal(vfc_t_set_irqs(pci, EVFD | TRIG, MSI, 7, 2, fds), -EINVAL);
	assert_int_equal(vfc_t_set_irqs(pci, EVFD | TRIG, MSIX, 16, 0, fds), -EINVAL);
	assert_int_equal(vfc_t_set_irqs(pci, EVFD | TRIG, ERR, 0, 1, fds), -EINVAL);
	assert_int_equal(vfc_t_set_irqs(pci, NONE | TRIG, ERR, 0, 0, NULL), -EINVAL);
	assert_int_equal(vfc_t_set_irqs(pci, EVFD | TRIG, 5, 0, 1, fds), -EINVAL);
	assert_int_equal(vfc_t_set_irqs(pci, EVFD | TRIG, MSI, 1, UINT32_MAX - 1, fds), -EINVAL);

	/* Disabling what is not enabled: EINVAL, as the kernel. */
	assert_int_equal(vfc_t_set_irqs(pci, NONE | TRIG, INTX, 0, 0, NULL), -EINVAL);
	assert_int_equal(vfc_t_set_irqs(pci, NONE | TRIG, MSI, 0, 0, NULL), -EINVAL);
	assert_int_equal(vfc_t_set_irqs(pci, NONE | TRIG, MSIX, 0, 0, NULL), -EINVAL);
	/* Enabling zero vectors: pci_alloc_irq_vectors() says ERANGE. */
	assert_int_equal(vfc_t_set_irqs(pci, EVFD | TRIG, MSI, 0, 0, fds), -ERANGE);
	assert_int_equal(vfc_t_set_irqs(pci, EVFD | TRIG, MSIX, 0, 0, fds), -ERANGE);
	/* Masking INTx that is not enabled. */
	assert_int_equal(vfc_t_set_irqs(pci, NONE | MASK, INTX, 0, 1, NULL), -EINVAL);
	assert_int_equal(vfc_t_set_irqs(pci, NONE | UNMASK, INTX, 0, 1, NULL), -EINVAL);
	close(fd);
}

/*
 * Issue 13, item 1: slots the core could not resolve in the caller
 * (VFC_IRQ_FD_ERROR: EINVAL for a file that is no eventfd, EBADF for a
 * number not open) fail with that errno for every index and action that
 * looks an eventfd up, and change nothing: never the de-assigning -1.
 */
static void test_bad_eventfd_slots(void **state)
{
	struct vfc_emu_pci *pci = *state;
	static const int errs[] = { EINVAL, EBADF };
	int fd = vfc_t_efd(), before;
	int32_t two[2];

	for (unsigned int e = 0; e < sizeof(errs) / sizeof(errs[0]); e++) {
		const int32_t bad = VFC_IRQ_FD_ERROR(errs[e]);

		before = vfc_t_count_fds();
		/* INTx trigger, disabled: nothing enabled. */
		assert_int_equal(vfc_t_set_fd(pci, INTX, TRIG, 0, bad), -errs[e]);
		assert_int_equal(vfc_t_set_irqs(pci, NONE | TRIG, INTX, 0, 0, NULL), -EINVAL);
		/* INTx trigger, enabled: the current eventfd stays. */
		assert_int_equal(vfc_t_set_fd(pci, INTX, TRIG, 0, fd), 0);
		assert_int_equal(vfc_t_set_fd(pci, INTX, TRIG, 0, bad), -errs[e]);
		assert_int_equal(vfc_t_set_irqs(pci, NONE | TRIG, INTX, 0, 1, NULL), 0);
		assert_int_equal(vfc_t_efd_take(fd), 1);
		/* INTx unmask by eventfd: nothing watched (a good one then fits). */
		assert_int_equal(vfc_t_set_fd(pci, INTX, UNMASK, 0, bad), -errs[e]);
		assert_int_equal(vfc_t_set_fd(pci, INTX, UNMASK, 0, fd), 0);
		assert_int_equal(vfc_t_set_fd(pci, INTX, UNMASK, 0, -1), 0);
		assert_int_equal(vfc_t_set_irqs(pci, NONE | TRIG, INTX, 0, 0, NULL), 0);

		/* MSI and MSI-X, first or later slot: the enable is undone. */
		for (unsigned int index = MSI; index <= MSIX; index++) {
			unsigned int flags = index == MSI ? MSI_CAP + PCI_MSI_FLAGS
							  : MSIX_CAP + PCI_MSIX_FLAGS;
			uint32_t enable = index == MSI ? PCI_MSI_FLAGS_ENABLE : PCI_MSIX_FLAGS_ENABLE;

			assert_int_equal(vfc_t_set_fd(pci, index, TRIG, 0, bad), -errs[e]);
			two[0] = fd;
			two[1] = bad;
			assert_int_equal(vfc_t_set_irqs(pci, EVFD | TRIG, index, 0, 2, two), -errs[e]);
			assert_int_equal(vfc_t_cfg_read(pci, flags, 2) & enable, 0);
			assert_int_equal(vfc_t_set_irqs(pci, NONE | TRIG, index, 0, 0, NULL), -EINVAL);
			/* Enabled: vector 1 fails, vector 0 keeps its eventfd. */
			assert_int_equal(vfc_t_set_irqs(pci, EVFD | TRIG, index, 0, 2, two), -errs[e]);
			two[1] = -1;
			assert_int_equal(vfc_t_set_irqs(pci, EVFD | TRIG, index, 0, 2, two), 0);
			assert_int_equal(vfc_t_set_fd(pci, index, TRIG, 1, bad), -errs[e]);
			assert_int_equal(vfc_t_set_irqs(pci, NONE | TRIG, index, 0, 1, NULL), 0);
			assert_int_equal(vfc_t_efd_take(fd), 1);
			assert_int_equal(vfc_t_set_irqs(pci, NONE | TRIG, index, 0, 0, NULL), 0);
		}

		/* ERR: no such index on conventional PCI, before any lookup. */
		assert_int_equal(vfc_t_set_fd(pci, ERR, TRIG, 0, bad), -EINVAL);

		/* REQ: unset or set, the trigger stays what it was. */
		assert_int_equal(vfc_t_set_fd(pci, REQ, TRIG, 0, bad), -errs[e]);
		assert_int_equal(vfc_t_set_irqs(pci, NONE | TRIG, REQ, 0, 1, NULL), -EINVAL);
		assert_int_equal(vfc_t_set_fd(pci, REQ, TRIG, 0, fd), 0);
		assert_int_equal(vfc_t_set_fd(pci, REQ, TRIG, 0, bad), -errs[e]);
		assert_int_equal(vfc_t_set_irqs(pci, NONE | TRIG, REQ, 0, 1, NULL), 0);
		assert_int_equal(vfc_t_efd_take(fd), 1);
		assert_int_equal(vfc_t_set_fd(pci, REQ, TRIG, 0, -1), 0);

		/* Any other errno the transport carries is answered as it is. */
		assert_int_equal(vfc_t_set_fd(pci, INTX, TRIG, 0, VFC_IRQ_FD_ERROR(EMFILE)),
				 -EMFILE);
		assert_int_equal(vfc_t_set_fd(pci, REQ, TRIG, 0, VFC_IRQ_FD_ERROR(EMFILE)),
				 -EMFILE);
		assert_int_equal(vfc_t_count_fds(), before);
	}
	close(fd);
}

static void test_mutual_exclusion(void **state)
{
	struct vfc_emu_pci *pci = *state;
	int fd = vfc_t_efd();

	assert_int_equal(vfc_t_set_fd(pci, INTX, TRIG, 0, fd), 0);
	assert_int_equal(vfc_t_set_fd(pci, MSI, TRIG, 0, fd), -EINVAL);
	assert_int_equal(vfc_t_set_fd(pci, MSIX, TRIG, 0, fd), -EINVAL);
	assert_int_equal(vfc_t_set_irqs(pci, NONE | TRIG, MSI, 0, 0, NULL), -EINVAL);
	assert_int_equal(vfc_t_set_irqs(pci, NONE | TRIG, INTX, 0, 0, NULL), 0);

	assert_int_equal(vfc_t_set_fd(pci, MSI, TRIG, 0, fd), 0);
	assert_int_equal(vfc_t_set_fd(pci, INTX, TRIG, 0, fd), -EINVAL);
	assert_int_equal(vfc_t_set_irqs(pci, NONE | MASK, INTX, 0, 1, NULL), -EINVAL);
	assert_int_equal(vfc_t_set_fd(pci, MSIX, TRIG, 0, fd), -EINVAL);
	assert_int_equal(vfc_t_set_irqs(pci, NONE | TRIG, MSIX, 0, 0, NULL), -EINVAL);
	assert_int_equal(vfc_t_set_irqs(pci, NONE | TRIG, MSI, 0, 0, NULL), 0);

	assert_int_equal(vfc_t_set_fd(pci, MSIX, TRIG, 0, fd), 0);
	assert_int_equal(vfc_t_set_fd(pci, MSI, TRIG, 0, fd), -EINVAL);
	assert_int_equal(vfc_t_set_fd(pci, INTX, TRIG, 0, fd), -EINVAL);
	assert_int_equal(vfc_t_set_irqs(pci, NONE | TRIG, MSIX, 0, 0, NULL), 0);
	assert_int_equal(vfc_t_set_fd(pci, INTX, TRIG, 0, fd), 0);
	close(fd);
}

static void test_msi(void **state)
{
	struct vfc_emu_pci *pci = *state;
	int v[3] = { vfc_t_efd(), vfc_t_efd(), vfc_t_efd() };
	int32_t fds[2] = { v[0], v[1] };
	unsigned int mask = MSI_CAP + PCI_MSI_MASK_64, pend = MSI_CAP + PCI_MSI_PENDING_64;

	/* Before: no MSI from the device. */
	vfc_t_bar_write(pci, 0, T_REG_MSI, 4, 0);
	assert_int_equal(vfc_t_efd_take(v[0]), 0);

	assert_int_equal(vfc_t_set_irqs(pci, EVFD | TRIG, MSI, 0, 2, fds), 0);
	/* vfio-pci now shows 2 vectors capable; the enable bit is the client's. */
	assert_int_equal(vfc_t_cfg_read(pci, MSI_CAP + PCI_MSI_FLAGS, 2),
			 PCI_MSI_FLAGS_64BIT | PCI_MSI_FLAGS_MASKBIT | (1 << 1));
	assert_int_equal(vfc_t_cfg_read(pci, mask, 4), 0xfc); /* host masks unused */
	vfc_t_bar_write(pci, 0, T_REG_MSI, 4, 1);
	assert_int_equal(vfc_t_efd_take(v[1]), 1);
	assert_int_equal(vfc_t_efd_take(v[0]), 0);
	vfc_t_bar_write(pci, 0, T_REG_MSI, 4, 2); /* beyond what was enabled */
	assert_int_equal(vfc_t_efd_take(v[0]) + vfc_t_efd_take(v[1]), 0);

	/* Client sets enable and MME within range: both stick now. */
	vfc_t_cfg_write(pci, MSI_CAP + PCI_MSI_FLAGS, 2,
		    PCI_MSI_FLAGS_64BIT | PCI_MSI_FLAGS_ENABLE | (1 << 4));
	assert_int_equal(vfc_t_cfg_read(pci, MSI_CAP + PCI_MSI_FLAGS, 2),
			 PCI_MSI_FLAGS_64BIT | PCI_MSI_FLAGS_MASKBIT | PCI_MSI_FLAGS_ENABLE |
				 (1 << 1) | (1 << 4));

	/* Per-vector mask: pending while masked, sent on unmask. */
	vfc_t_cfg_write(pci, mask, 4, 0x1);
	vfc_t_bar_write(pci, 0, T_REG_MSI, 4, 0);
	assert_int_equal(vfc_t_efd_take(v[0]), 0);
	assert_int_equal(vfc_t_cfg_read(pci, pend, 4), 0x1);
	vfc_t_cfg_write(pci, pend, 4, 0); /* pending is read-only */
	assert_int_equal(vfc_t_cfg_read(pci, pend, 4), 0x1);
	vfc_t_cfg_write(pci, mask, 4, 0);
	assert_int_equal(vfc_t_efd_take(v[0]), 1);
	assert_int_equal(vfc_t_cfg_read(pci, pend, 4), 0);

	/* No resizing: vector 2 was not enabled. */
	assert_int_equal(vfc_t_set_fd(pci, MSI, TRIG, 2, v[2]), -EINVAL);
	/* Swap vector 0's eventfd; -1 de-assigns vector 1. */
	assert_int_equal(vfc_t_set_fd(pci, MSI, TRIG, 0, v[2]), 0);
	assert_int_equal(vfc_t_set_fd(pci, MSI, TRIG, 1, -1), 0);
	vfc_t_bar_write(pci, 0, T_REG_MSI, 4, 0);
	vfc_t_bar_write(pci, 0, T_REG_MSI, 4, 1);
	assert_int_equal(vfc_t_efd_take(v[2]), 1);
	assert_int_equal(vfc_t_efd_take(v[0]) + vfc_t_efd_take(v[1]), 0);

	/* The client turns the enable bit off: the device stops sending. */
	vfc_t_cfg_write(pci, MSI_CAP + PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_64BIT);
	vfc_t_bar_write(pci, 0, T_REG_MSI, 4, 0);
	assert_int_equal(vfc_t_efd_take(v[2]), 0);
	vfc_t_cfg_write(pci, MSI_CAP + PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_64BIT | PCI_MSI_FLAGS_ENABLE);

	/* Disable: MMC keeps showing the last enabled count (msi_qmax). */
	assert_int_equal(vfc_t_set_irqs(pci, NONE | TRIG, MSI, 0, 0, NULL), 0);
	assert_int_equal(vfc_t_cfg_read(pci, MSI_CAP + PCI_MSI_FLAGS, 1) & PCI_MSI_FLAGS_QMASK, 2);
	vfc_t_bar_write(pci, 0, T_REG_MSI, 4, 0);
	assert_int_equal(vfc_t_efd_take(v[2]), 0);

	/* fd < 0 only leaves a vector without eventfd; a closed fd undoes
	 * the whole enable. */
	fds[1] = -5;
	assert_int_equal(vfc_t_set_irqs(pci, EVFD | TRIG, MSI, 0, 2, fds), 0);
	assert_int_equal(vfc_t_set_irqs(pci, NONE | TRIG, MSI, 0, 0, NULL), 0);
	fds[1] = 999; /* not open (a just-closed number would be reused by the dup) */
	assert_int_equal(fcntl(999, F_GETFD), -1);
	assert_int_equal(vfc_t_set_irqs(pci, EVFD | TRIG, MSI, 0, 2, fds), -EBADF);
	assert_int_equal(vfc_t_set_irqs(pci, NONE | TRIG, MSI, 0, 0, NULL), -EINVAL);
	fds[1] = VFC_IRQ_FD_ERROR(EINVAL);	/* not an eventfd, in the caller */
	assert_int_equal(vfc_t_set_irqs(pci, EVFD | TRIG, MSI, 0, 2, fds), -EINVAL);
	assert_int_equal(vfc_t_set_irqs(pci, NONE | TRIG, MSI, 0, 0, NULL), -EINVAL);
	for (int i = 0; i < 3; i++)
		close(v[i]);
}

static void test_msix(void **state)
{
	struct vfc_emu_pci *pci = *state;
	int v[4] = { vfc_t_efd(), vfc_t_efd(), vfc_t_efd(), vfc_t_efd() };
	int32_t fds[4] = { v[0], v[1], -1, v[3] };

	assert_int_equal(vfc_t_set_irqs(pci, EVFD | TRIG, MSIX, 0, 4, fds), 0);
	/* The MSI-X control word is the hardware's: enabled by the host. */
	assert_int_equal(vfc_t_cfg_read(pci, MSIX_CAP + PCI_MSIX_FLAGS, 2),
			 PCI_MSIX_FLAGS_ENABLE | 15);

	vfc_t_bar_write(pci, 0, T_REG_MSIX, 4, 3);
	assert_int_equal(vfc_t_efd_take(v[3]), 1);
	/* Vector 2 has no handler, 9 was not allocated: both pend. */
	vfc_t_bar_write(pci, 0, T_REG_MSIX, 4, 2);
	vfc_t_bar_write(pci, 0, T_REG_MSIX, 4, 9);
	vfc_t_bar_write(pci, 0, T_REG_MSIX, 4, 99); /* no such entry */
	assert_int_equal(vfc_t_bar_read(pci, 5, 0x800, 4), (1u << 2) | (1u << 9));
	assert_int_equal(vfc_t_bar_read(pci, 5, 0x801, 1), 0x02);
	vfc_t_bar_write(pci, 5, 0x800, 4, 0); /* read-only */
	assert_int_equal(vfc_t_bar_read(pci, 5, 0x800, 8), (1u << 2) | (1u << 9));

	/* A handler for vector 2 delivers what was pending. */
	assert_int_equal(vfc_t_set_fd(pci, MSIX, TRIG, 2, v[2]), 0);
	assert_int_equal(vfc_t_efd_take(v[2]), 1);
	assert_int_equal(vfc_t_bar_read(pci, 5, 0x800, 4), 1u << 9);
	/* Dynamic MSI-X: vector 9 gets an interrupt on demand, and its
	 * pending message with it. */
	assert_int_equal(vfc_t_set_fd(pci, MSIX, TRIG, 9, v[2]), 0);
	assert_int_equal(vfc_t_efd_take(v[2]), 1);
	assert_int_equal(vfc_t_bar_read(pci, 5, 0x800, 4), 0);
	vfc_t_bar_write(pci, 0, T_REG_MSIX, 4, 9);
	assert_int_equal(vfc_t_efd_take(v[2]), 1);
	assert_int_equal(vfc_t_set_fd(pci, MSIX, TRIG, 9, -1), 0);
	assert_int_equal(vfc_t_set_fd(pci, MSIX, TRIG, 12, -1), 0); /* never had one: fine */

	/* The client cannot touch the table nor the enable bit. */
	vfc_t_cfg_write(pci, MSIX_CAP + PCI_MSIX_FLAGS, 2, 0);
	vfc_t_bar_write(pci, 0, T_REG_MSIX, 4, 0);
	assert_int_equal(vfc_t_efd_take(v[0]), 1);

	/* Reset keeps MSI-X working (the host restores its state). */
	assert_int_equal(vfc_t_reset(pci), 0);
	assert_int_equal(vfc_t_cfg_read(pci, MSIX_CAP + PCI_MSIX_FLAGS, 2),
			 PCI_MSIX_FLAGS_ENABLE | 15);
	assert_int_equal(vfc_t_bar_read(pci, 5, 0x800, 4), 0);
	vfc_t_bar_write(pci, 0, T_REG_MSIX, 4, 1);
	assert_int_equal(vfc_t_efd_take(v[1]), 1);

	assert_int_equal(vfc_t_set_irqs(pci, NONE | TRIG, MSIX, 0, 0, NULL), 0);
	assert_int_equal(vfc_t_cfg_read(pci, MSIX_CAP + PCI_MSIX_FLAGS, 2), 15);
	vfc_t_bar_write(pci, 0, T_REG_MSIX, 4, 1);
	assert_int_equal(vfc_t_efd_take(v[1]), 0);
	assert_int_equal(vfc_t_bar_read(pci, 5, 0x800, 4), 0);
	for (int i = 0; i < 4; i++)
		close(v[i]);
}

/* Without dynamic MSI-X (Linux 6.1, or no interrupt remapping). */
static void test_msix_static(void **state)
{
	struct vfc_emu_pci *pci = vfc_t_new(&vfc_t_model, "msix_dyn=off");
	struct vfio_irq_info info = { .argsz = sizeof(info), .index = MSIX };
	int v[2] = { vfc_t_efd(), vfc_t_efd() };
	int32_t fds[2] = { v[0], v[1] };

	(void)state;
	vfc_t_open(pci);
	assert_int_equal(vfc_emu_pci_device_ops(pci)->get_irq_info(pci, &info), 0);
	assert_int_equal(info.flags, VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE);
	assert_int_equal(vfc_t_set_irqs(pci, EVFD | TRIG, MSIX, 0, 2, fds), 0);
	assert_int_equal(vfc_t_set_fd(pci, MSIX, TRIG, 2, v[0]), -EINVAL);
	assert_int_equal(vfc_t_set_fd(pci, MSIX, TRIG, 1, v[0]), 0);
	assert_int_equal(vfc_t_set_irqs(pci, NONE | TRIG, MSIX, 1, 4, NULL), 0);
	assert_int_equal(vfc_t_efd_take(v[0]), 1);
	/* A failing block undoes what it set, not what was there before. */
	fds[0] = v[1];
	fds[1] = 999;
	assert_int_equal(vfc_t_set_irqs(pci, EVFD | TRIG, MSIX, 0, 2, fds), -EBADF);
	assert_int_equal(vfc_t_set_irqs(pci, NONE | TRIG, MSIX, 0, 2, NULL), 0);
	assert_int_equal(vfc_t_efd_take(v[0]) + vfc_t_efd_take(v[1]), 0);
	vfc_t_close(pci);
	vfc_emu_pci_free(pci);
	close(v[0]);
	close(v[1]);
}

static void test_req(void **state)
{
	struct vfc_emu_pci *pci = *state;
	int fd = vfc_t_efd();
	uint8_t b = 1;

	assert_int_equal(vfc_t_set_irqs(pci, NONE | TRIG, REQ, 0, 1, NULL), -EINVAL); /* none set */
	assert_int_equal(vfc_t_set_irqs(pci, BOOL | TRIG, REQ, 0, 1, &b), 0);
	assert_int_equal(vfc_t_set_irqs(pci, EVFD | TRIG, REQ, 0, 0, NULL), -EINVAL);
	assert_int_equal(vfc_t_set_fd(pci, REQ, TRIG, 0, fd), 0);
	assert_int_equal(vfc_t_set_irqs(pci, NONE | TRIG, REQ, 0, 1, NULL), 0);
	assert_int_equal(vfc_t_efd_take(fd), 1);
	assert_int_equal(vfc_t_set_irqs(pci, BOOL | TRIG, REQ, 0, 1, &b), 0);
	assert_int_equal(vfc_t_efd_take(fd), 1);
	assert_int_equal(vfc_t_set_irqs(pci, BOOL | TRIG, REQ, 0, 0, NULL), -EINVAL);
	/* fd < -1 is ignored, -1 de-assigns, DATA_NONE with count 0 too. */
	assert_int_equal(vfc_t_set_fd(pci, REQ, TRIG, 0, -7), 0);
	assert_int_equal(vfc_t_set_irqs(pci, NONE | TRIG, REQ, 0, 1, NULL), 0);
	assert_int_equal(vfc_t_efd_take(fd), 1);
	assert_int_equal(vfc_t_set_irqs(pci, NONE | TRIG, REQ, 0, 0, NULL), 0);
	assert_int_equal(vfc_t_set_irqs(pci, NONE | TRIG, REQ, 0, 1, NULL), -EINVAL);
	assert_int_equal(vfc_t_set_fd(pci, REQ, TRIG, 0, fd), 0);
	assert_int_equal(vfc_t_set_fd(pci, REQ, TRIG, 0, -1), 0);
	assert_int_equal(vfc_t_set_irqs(pci, NONE | TRIG, REQ, 0, 1, NULL), -EINVAL);
	/* Coexists with any other index. */
	assert_int_equal(vfc_t_set_fd(pci, MSI, TRIG, 0, fd), 0);
	assert_int_equal(vfc_t_set_fd(pci, REQ, TRIG, 0, fd), 0);
	close(fd);
}

static void test_close_drops_eventfds(void **state)
{
	struct vfc_emu_pci *pci = *state;
	int fd = vfc_t_efd(), ufd = vfc_t_efd();
	int before = vfc_t_count_fds();

	assert_int_equal(vfc_t_set_fd(pci, INTX, TRIG, 0, fd), 0);
	assert_int_equal(vfc_t_set_fd(pci, INTX, UNMASK, 0, ufd), 0);
	assert_int_equal(vfc_t_set_fd(pci, REQ, TRIG, 0, fd), 0);
	assert_int_equal(vfc_t_count_fds(), before + 3);
	vfc_t_cfg_write(pci, PCI_COMMAND, 2, PCI_COMMAND_INTX_DISABLE);

	vfc_t_close(pci);
	assert_int_equal(vfc_t_count_fds(), before);
	vfc_t_open(pci);
	/* Fresh state: nothing enabled, INTx disable clear, unmask fd free. */
	assert_int_equal(vfc_t_set_irqs(pci, NONE | TRIG, INTX, 0, 0, NULL), -EINVAL);
	assert_int_equal(vfc_t_cfg_read(pci, PCI_COMMAND, 2) & PCI_COMMAND_INTX_DISABLE, 0);
	assert_int_equal(vfc_t_set_fd(pci, MSIX, TRIG, 0, fd), 0);
	vfc_t_close(pci);
	assert_int_equal(vfc_t_count_fds(), before);
	vfc_t_open(pci);
	close(fd);
	close(ufd);
}

static void test_reset_keeps_eventfds(void **state)
{
	struct vfc_emu_pci *pci = *state;
	int fd = vfc_t_efd();

	assert_int_equal(vfc_t_set_fd(pci, INTX, TRIG, 0, fd), 0);
	line(pci, 1);
	assert_int_equal(vfc_t_efd_take(fd), 1);
	/* The reset drops the line; INTx stays masked until unmasked. */
	assert_int_equal(vfc_t_reset(pci), 0);
	assert_int_equal(vfc_t_cfg_read(pci, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT, 0);
	line(pci, 1);
	assert_int_equal(vfc_t_efd_take(fd), 0);
	assert_int_equal(vfc_t_set_irqs(pci, NONE | UNMASK, INTX, 0, 1, NULL), 0);
	assert_int_equal(vfc_t_efd_take(fd), 1);
	line(pci, 0);
	assert_int_equal(vfc_t_set_irqs(pci, NONE | TRIG, INTX, 0, 0, NULL), 0);

	assert_int_equal(vfc_t_set_fd(pci, MSI, TRIG, 0, fd), 0);
	assert_int_equal(vfc_t_reset(pci), 0);
	vfc_t_bar_write(pci, 0, T_REG_MSI, 4, 0);
	assert_int_equal(vfc_t_efd_take(fd), 1);
	close(fd);
}

static bool dma_done(void *arg)
{
	struct vfc_emu_pci *pci = arg;

	return vfc_t_bar_read(pci, 0, T_REG_DMA_RESULT, 4) != 1;
}

static void test_dma_gate(void **state)
{
	struct vfc_emu_pci *pci = *state;
	struct vfc_t_mem mem;

	vfc_t_mem_init(&mem, 4096);
	memcpy(mem.mem + 0x100, "0123456789abcdef", 16);

	/* Without a target the device is not open to the core: ENODEV. */
	vfc_t_cfg_write(pci, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	vfc_t_bar_write(pci, 0, T_REG_DMA, 4, 0x100);
	assert_true(vfc_t_wait(dma_done, pci));
	assert_int_equal((int32_t)vfc_t_bar_read(pci, 0, T_REG_DMA_RESULT, 4), -ENODEV);

	vfc_emu_pci_set_dma(pci, vfc_t_mem_dma, &mem);
	vfc_t_bar_write(pci, 0, T_REG_DMA, 4, 0x100);
	assert_true(vfc_t_wait(dma_done, pci));
	assert_int_equal(vfc_t_bar_read(pci, 0, T_REG_DMA_RESULT, 4), 0);
	assert_true(vfc_t_bar_read(pci, 0, 0, 8) == 0x3736353433323130ull);

	/* Bus master off: the bus refuses, the target is never reached. */
	vfc_t_cfg_write(pci, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	mem.calls = 0;
	vfc_t_bar_write(pci, 0, T_REG_DMA, 4, 0x100);
	assert_true(vfc_t_wait(dma_done, pci));
	assert_int_equal((int32_t)vfc_t_bar_read(pci, 0, T_REG_DMA_RESULT, 4), -EIO);
	assert_int_equal(mem.calls, 0);

	vfc_t_close(pci);
	vfc_emu_pci_set_dma(pci, NULL, NULL);
	vfc_t_open(pci);
	vfc_t_mem_fini(&mem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_irq_info, setup, teardown),
		cmocka_unit_test_setup_teardown(test_intx_automask, setup, teardown),
		cmocka_unit_test_setup_teardown(test_intx_mask_and_disable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_intx_unmask_eventfd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loopback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_irqs_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_eventfd_slots, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mutual_exclusion, setup, teardown),
		cmocka_unit_test_setup_teardown(test_msi, setup, teardown),
		cmocka_unit_test_setup_teardown(test_msix, setup, teardown),
		cmocka_unit_test(test_msix_static),
		cmocka_unit_test_setup_teardown(test_req, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_drops_eventfds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_keeps_eventfds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dma_gate, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
