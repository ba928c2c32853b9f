// SPDX-License-Identifier: MIT
/*
 * VFIO_DEVICE_IOEVENTFD, the low power features and device DMA logging
 * of the emulated PCI devices, end to end through the core and the
 * in-process transport (vfc-local.h), as a client drives them: every
 * argument check with the kernel's errno in the kernel's order, an
 * ioeventfd's write reaching the model, wakeup eventfds, and the dirty
 * bitmap written into this process's memory. DMA goes to a fake target
 * (vfc_emu_pci_set_dma()); the IOMMU is a stub that only lets the
 * container be set, so nothing here depends on the software IOMMU.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <linux/pci_regs.h>
#include <cmocka.h>

#include "emu-pci-test.h"
#include "vfc-core.h"
#include "vfc-local.h"
#include "vfc-log.h"

#define NAME "0000:00:05.0"
#define GROUP 9
#define IOEFD(flags_, off, data_, fd_)                                                   \
	(struct vfio_device_ioeventfd){ .argsz = sizeof(struct vfio_device_ioeventfd),    \
					.flags = (flags_), .offset = (off), .data = (data_), \
					.fd = (fd_) }

/* A stub type1: enough for SET_IOMMU and GET_DEVICE_FD. */
static int stub_check(void *dd, void *data, unsigned long ext)
{
	return ext == VFIO_TYPE1v2_IOMMU || ext == VFIO_TYPE1_IOMMU;
}

static int stub_open(void *dd, unsigned long type, void **ret)
{
	*ret = (void *)1;
	return 0;
}

static void stub_release(void *data)
{
}

static int stub_attach(void *data, struct vfc_group *g)
{
	return 0;
}

static void stub_detach(void *data, struct vfc_group *g)
{
}

static int stub_ioctl(void *data, struct vfc_ioctl *io)
{
	return -ENOTTY;
}

static const struct vfc_iommu_ops stub_iommu = {
	.name = "stub",
	.check_extension = stub_check,
	.open = stub_open,
	.release = stub_release,
	.attach_group = stub_attach,
	.detach_group = stub_detach,
	.ioctl = stub_ioctl,
};

struct env {
	struct vfc_core *core;
	struct vfc_emu_pci *pci;
	struct vfc_local *l;
	struct vfc_t_mem mem;
	int c, g, d;
};

static uint64_t region(struct env *e, unsigned int index)
{
	struct vfio_region_info ri = { .argsz = sizeof(ri), .index = index };

	assert_int_equal(vfc_local_ioctl(e->l, e->d, VFIO_DEVICE_GET_REGION_INFO,
					 (unsigned long)&ri), 0);
	return ri.offset;
}

static void cmd_set(struct env *e, uint16_t set, uint16_t clear)
{
	uint64_t cfg = region(e, VFIO_PCI_CONFIG_REGION_INDEX);
	uint16_t cmd;

	assert_int_equal(vfc_local_pread(e->l, e->d, &cmd, 2, cfg + PCI_COMMAND), 2);
	cmd = (uint16_t)((cmd | set) & ~clear);
	assert_int_equal(vfc_local_pwrite(e->l, e->d, &cmd, 2, cfg + PCI_COMMAND), 2);
}

static void env_open(struct env *e)
{
	e->d = (int)vfc_local_ioctl(e->l, e->g, VFIO_GROUP_GET_DEVICE_FD, (unsigned long)NAME);
	assert_true(e->d >= 0);
}

static struct env *env_new(const char *model, const char *options)
{
	struct env *e = calloc(1, sizeof(*e));
	struct vfc_group *g;

	assert_non_null(e);
	vfc_log_set_max_level(getenv("VFC_TEST_VERBOSE") ? LOG_DEBUG : LOG_WARNING);
	assert_int_equal(vfc_core_new(&e->core), 0);
	assert_int_equal(vfc_core_add_iommu_driver(e->core, &stub_iommu, NULL), 0);
	assert_int_equal(vfc_core_add_group(e->core, GROUP, NULL, &g), 0);
	if (!strcmp(model, "test"))
		assert_int_equal(vfc_emu_pci_new(&vfc_t_model, options, &e->pci), 0);
	else
		assert_int_equal(vfc_emu_pci_create(model, options, &e->pci), 0);
	assert_int_equal(vfc_emu_pci_register(e->pci, g, NAME, NULL), 0);
	vfc_t_mem_init(&e->mem, 1u << 20);
	vfc_emu_pci_set_dma(e->pci, vfc_t_mem_dma, &e->mem);
	assert_int_equal(vfc_local_new(e->core, &e->l), 0);
	e->c = vfc_local_open_container(e->l);
	e->g = vfc_local_open_group(e->l, GROUP);
	assert_true(e->c >= 0 && e->g >= 0);
	assert_int_equal(vfc_local_ioctl(e->l, e->g, VFIO_GROUP_SET_CONTAINER,
					 (unsigned long)&e->c), 0);
	assert_int_equal(vfc_local_ioctl(e->l, e->c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), 0);
	env_open(e);
	return e;
}

static void env_free(struct env *e)
{
	vfc_local_free(e->l);
	vfc_core_free(e->core);
	vfc_emu_pci_free(e->pci);
	vfc_t_mem_fini(&e->mem);
	free(e);
}

static long ioefd(struct env *e, struct vfio_device_ioeventfd ie)
{
	return vfc_local_ioctl(e->l, e->d, VFIO_DEVICE_IOEVENTFD, (unsigned long)&ie);
}

static uint32_t bar_rd32(struct env *e, unsigned int bar, uint64_t off)
{
	uint32_t v = 0;

	assert_int_equal(vfc_local_pread(e->l, e->d, &v, 4, region(e, bar) + off), 4);
	return v;
}

struct liveness {
	struct env *e;
	uint32_t want;
};

static bool liveness_is(void *arg)
{
	struct liveness *lv = arg;

	return bar_rd32(lv->e, 0, 0x04) == lv->want;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static void efd_signal(int fd)
{
	uint64_t one = 1;

	assert_int_equal(write(fd, &one, 8), 8);
}

/* vfio_pci_ioctl_ioeventfd() and vfio_pci_ioeventfd(), error by error. */
static void test_ioeventfd_checks(void **state)
{
	struct env *e = env_new("pcitest", NULL);
	const uint64_t b0 = VFC_REGION_OFFSET(0), b4 = VFC_REGION_OFFSET(4);
	struct vfio_device_ioeventfd ie;
	int efd = vfc_t_efd(), pipefd[2];

	assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
	/* The ioctl's own checks. */
	ie = IOEFD(VFIO_DEVICE_IOEVENTFD_32, b0, 1, efd);
	ie.argsz = offsetof(struct vfio_device_ioeventfd, fd) + 3;
	assert_int_equal(ioefd(e, ie), -EINVAL);
	assert_int_equal(ioefd(e, IOEFD(0x10 | VFIO_DEVICE_IOEVENTFD_32, b0, 1, efd)), -EINVAL);
	assert_int_equal(ioefd(e, IOEFD(0, b0, 1, efd)), -EINVAL);
	assert_int_equal(ioefd(e, IOEFD(VFIO_DEVICE_IOEVENTFD_32 | VFIO_DEVICE_IOEVENTFD_16, b0, 1,
				      efd)), -EINVAL);
	assert_int_equal(ioefd(e, IOEFD(VFIO_DEVICE_IOEVENTFD_32, b0, 1, -2)), -EINVAL);
	/* vfio_pci_ioeventfd(): BARs only, inside, not over the MSI-X table. */
	assert_int_equal(ioefd(e, IOEFD(VFIO_DEVICE_IOEVENTFD_32, VFC_REGION_OFFSET(7) + 4, 1,
				      efd)), -EINVAL);
	assert_int_equal(ioefd(e, IOEFD(VFIO_DEVICE_IOEVENTFD_32, VFC_REGION_OFFSET(6), 1, efd)),
			 -EINVAL);
	assert_int_equal(ioefd(e, IOEFD(VFIO_DEVICE_IOEVENTFD_32, VFC_REGION_OFFSET(9), 1, efd)),
			 -EINVAL);
	assert_int_equal(ioefd(e, IOEFD(VFIO_DEVICE_IOEVENTFD_32, ~0ull, 1, efd)), -EINVAL);
	assert_int_equal(ioefd(e, IOEFD(VFIO_DEVICE_IOEVENTFD_32, VFC_REGION_OFFSET(1), 1, efd)),
			 -EINVAL); /* absent BAR */
	assert_int_equal(ioefd(e, IOEFD(VFIO_DEVICE_IOEVENTFD_32, VFC_REGION_OFFSET(3), 1, efd)),
			 -EINVAL); /* BAR2's upper half */
	assert_int_equal(ioefd(e, IOEFD(VFIO_DEVICE_IOEVENTFD_32, b0 + 4094, 1, efd)), -EINVAL);
	assert_int_equal(ioefd(e, IOEFD(VFIO_DEVICE_IOEVENTFD_8, b4 + 8 * 16 - 1, 1, efd)),
			 -EINVAL); /* the table's last byte */
	assert_int_equal(ioefd(e, IOEFD(VFIO_DEVICE_IOEVENTFD_32, b4 + 0x800, 1, efd)), 0);
	/* Removing what is not there; then the fd, looked up last. */
	assert_int_equal(ioefd(e, IOEFD(VFIO_DEVICE_IOEVENTFD_32, b0, 1, -1)), -ENODEV);
	assert_int_equal(ioefd(e, IOEFD(VFIO_DEVICE_IOEVENTFD_32, b0, 1, 999)), -EBADF);
	assert_int_equal(ioefd(e, IOEFD(VFIO_DEVICE_IOEVENTFD_32, b0, 1, pipefd[0])), -EINVAL);
	assert_int_equal(ioefd(e, IOEFD(VFIO_DEVICE_IOEVENTFD_32, b0 + 4092, 1, efd)), 0);
	/* A match wins over the fd: EEXIST, even for a bad one. */
	assert_int_equal(ioefd(e, IOEFD(VFIO_DEVICE_IOEVENTFD_32, b0 + 4092, 1, efd)), -EEXIST);
	assert_int_equal(ioefd(e, IOEFD(VFIO_DEVICE_IOEVENTFD_32, b0 + 4092, 1, 999)), -EEXIST);
	assert_int_equal(ioefd(e, IOEFD(VFIO_DEVICE_IOEVENTFD_32, b0 + 4092, 2, efd)), 0);
	assert_int_equal(ioefd(e, IOEFD(VFIO_DEVICE_IOEVENTFD_16, b0 + 4092, 1, efd)), 0);
	assert_int_equal(ioefd(e, IOEFD(VFIO_DEVICE_IOEVENTFD_64, b0 + 8, 1, efd)), 0);
	assert_int_equal(ioefd(e, IOEFD(VFIO_DEVICE_IOEVENTFD_32, b0 + 4092, 1, -1)), 0);
	assert_int_equal(ioefd(e, IOEFD(VFIO_DEVICE_IOEVENTFD_32, b0 + 4092, 1, -1)), -ENODEV);
	assert_int_equal(vfc_local_last_rounds(e->l), 1);

	/* Close drops them all: a new open has none. */
	assert_int_equal(vfc_local_close(e->l, e->d), 0);
	env_open(e);
	assert_int_equal(ioefd(e, IOEFD(VFIO_DEVICE_IOEVENTFD_32, b0 + 4092, 2, -1)), -ENODEV);
	env_free(e);

	/* Linux 6.1 has no iowrite64. */
	e = env_new("pcitest", "bar_rw64=off");
	assert_int_equal(ioefd(e, IOEFD(VFIO_DEVICE_IOEVENTFD_64, b0 + 8, 1, efd)), -EINVAL);
	env_free(e);
	close(pipefd[0]);
	close(pipefd[1]);
	close(efd);
}

/* The eventfd firing writes the value through the model: edu's liveness. */
static void test_ioeventfd_fires(void **state)
{
	struct env *e = env_new("edu", NULL);
	const uint64_t live = VFC_REGION_OFFSET(0) + 0x04;
	struct liveness lv = { .e = e };
	int efd = vfc_t_efd(), efd2 = vfc_t_efd();
	int fds_before = vfc_t_count_fds();

	assert_int_equal(ioefd(e, IOEFD(VFIO_DEVICE_IOEVENTFD_32, live, 0x55, efd)), 0);
	assert_int_equal(ioefd(e, IOEFD(VFIO_DEVICE_IOEVENTFD_32, live, 0x66, efd2)), 0);
	assert_int_equal(vfc_t_count_fds(), fds_before + 2); /* one duplicate each */
	efd_signal(efd);
	lv.want = ~0x55u;
	assert_true(vfc_t_wait(liveness_is, &lv));
	efd_signal(efd2);
	lv.want = ~0x66u;
	assert_true(vfc_t_wait(liveness_is, &lv));

	/* Reset keeps them, as the kernel's does. */
	assert_int_equal(vfc_local_ioctl(e->l, e->d, VFIO_DEVICE_RESET, 0), 0);
	efd_signal(efd);
	lv.want = ~0x55u;
	assert_true(vfc_t_wait(liveness_is, &lv));

	/* With memory decode off the write is dropped. */
	cmd_set(e, 0, PCI_COMMAND_MEMORY);
	efd_signal(efd2);
	sleep_ms(50);
	cmd_set(e, PCI_COMMAND_MEMORY, 0);
	assert_int_equal(bar_rd32(e, 0, 0x04), ~0x55u);

	/* Removed: nothing more. */
	assert_int_equal(ioefd(e, IOEFD(VFIO_DEVICE_IOEVENTFD_32, live, 0x66, -1)), 0);
	assert_int_equal(vfc_t_count_fds(), fds_before + 1);
	efd_signal(efd2);
	sleep_ms(50);
	assert_int_equal(bar_rd32(e, 0, 0x04), ~0x55u);

	/* Close gives every duplicate back. */
	assert_int_equal(vfc_local_close(e->l, e->d), 0);
	assert_int_equal(vfc_t_count_fds(), fds_before);
	env_open(e);
	env_free(e);
	close(efd);
	close(efd2);
}

/* VFIO_PCI_IOEVENTFD_MAX per device. */
static void test_ioeventfd_limit(void **state)
{
	struct env *e;
	struct rlimit rl;
	int efd = vfc_t_efd();

	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < 1200) {
		close(efd);
		skip();
	}
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > 4096 ? 4096 : rl.rlim_max;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
	e = env_new("edu", NULL);
	for (unsigned int i = 0; i < 1000; i++)
		assert_int_equal(ioefd(e, IOEFD(VFIO_DEVICE_IOEVENTFD_32, VFC_REGION_OFFSET(0) + 4,
					      i, efd)), 0);
	assert_int_equal(ioefd(e, IOEFD(VFIO_DEVICE_IOEVENTFD_32, VFC_REGION_OFFSET(0) + 4, 1000,
				      efd)), -ENOSPC);
	/* A removal makes room. */
	assert_int_equal(ioefd(e, IOEFD(VFIO_DEVICE_IOEVENTFD_32, VFC_REGION_OFFSET(0) + 4, 7,
				      -1)), 0);
	assert_int_equal(ioefd(e, IOEFD(VFIO_DEVICE_IOEVENTFD_32, VFC_REGION_OFFSET(0) + 4, 1000,
				      efd)), 0);
	env_free(e);
	close(efd);
}

static long feature(struct env *e, uint32_t flags, const void *payload, size_t len,
		    uint32_t argsz)
{
	uint8_t buf[sizeof(struct vfio_device_feature) + 64] = { 0 };
	struct vfio_device_feature *f = (void *)buf;

	assert_true(len <= 64);
	f->argsz = argsz;
	f->flags = flags;
	if (len)
		memcpy(f->data, payload, len);
	return vfc_local_ioctl(e->l, e->d, VFIO_DEVICE_FEATURE, (unsigned long)buf);
}

#define F_SZ(len) ((uint32_t)(sizeof(struct vfio_device_feature) + (len)))
#define PROBE VFIO_DEVICE_FEATURE_PROBE
#define GET VFIO_DEVICE_FEATURE_GET
#define SET VFIO_DEVICE_FEATURE_SET

/* The probe answers the e2e client records against the kernel. */
static void test_feature_probes(void **state)
{
	struct env *e = env_new("edu", NULL);
	static const struct {
		uint32_t id;
		long probe, get, set;
	} t[] = {
		{ VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY, 0, -EINVAL, 0 },
		{ VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP, 0, -EINVAL, 0 },
		{ VFIO_DEVICE_FEATURE_LOW_POWER_EXIT, 0, -EINVAL, 0 },
		{ VFIO_DEVICE_FEATURE_DMA_LOGGING_START, 0, -EINVAL, 0 },
		{ VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP, 0, -EINVAL, 0 },
		{ VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT, 0, 0, -EINVAL },
		{ VFIO_DEVICE_FEATURE_MIGRATION, -ENOTTY, -ENOTTY, -ENOTTY },
		{ VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, -ENOTTY, -ENOTTY, -ENOTTY },
		{ VFIO_DEVICE_FEATURE_PCI_VF_TOKEN, -ENOTTY, -ENOTTY, -ENOTTY },
		{ 99, -ENOTTY, -ENOTTY, -ENOTTY },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		assert_int_equal(feature(e, PROBE | t[i].id, NULL, 0, F_SZ(0)), t[i].probe);
		assert_int_equal(feature(e, PROBE | GET | t[i].id, NULL, 0, F_SZ(0)), t[i].get);
		assert_int_equal(feature(e, PROBE | SET | t[i].id, NULL, 0, F_SZ(0)), t[i].set);
	}
	/* Without PROBE: neither GET nor SET, or the wrong one: EINVAL. */
	assert_int_equal(feature(e, VFIO_DEVICE_FEATURE_LOW_POWER_EXIT, NULL, 0, F_SZ(0)), -EINVAL);
	assert_int_equal(feature(e, GET | VFIO_DEVICE_FEATURE_LOW_POWER_EXIT, NULL, 0, F_SZ(0)),
			 -EINVAL);
	assert_int_equal(feature(e, GET | SET | VFIO_DEVICE_FEATURE_LOW_POWER_EXIT, NULL, 0,
				 F_SZ(0)), -EINVAL);
	env_free(e);

	/* dma_log=off: plain vfio-pci, no logging ops. */
	e = env_new("edu", "dma_log=off,reset=off");
	for (uint32_t id = VFIO_DEVICE_FEATURE_DMA_LOGGING_START;
	     id <= VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT; id++) {
		assert_int_equal(feature(e, PROBE | id, NULL, 0, F_SZ(0)), -ENOTTY);
		assert_int_equal(feature(e, PROBE | GET | id, NULL, 0, F_SZ(0)), -ENOTTY);
	}
	assert_int_equal(feature(e, PROBE | VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY, NULL, 0, F_SZ(0)),
			 0);
	assert_int_equal(vfc_local_ioctl(e->l, e->d, VFIO_DEVICE_RESET, 0), -EINVAL);
	env_free(e);
}

static void test_low_power(void **state)
{
	struct env *e = env_new("edu", NULL);
	struct vfio_device_low_power_entry_with_wakeup w = { .wakeup_eventfd = -1 };
	struct vfio_device_info info = { .argsz = sizeof(info) };
	const uint32_t entry = SET | VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY;
	const uint32_t wake = SET | VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP;
	const uint32_t exit_ = SET | VFIO_DEVICE_FEATURE_LOW_POWER_EXIT;
	int efd = vfc_t_efd(), pipefd[2];
	uint32_t v = 0;

	assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
	assert_int_equal(feature(e, entry, NULL, 0, F_SZ(0)), 0);
	assert_int_equal(feature(e, entry, NULL, 0, F_SZ(0)), -EINVAL); /* engaged */
	assert_int_equal(feature(e, wake, &w, sizeof(w), F_SZ(sizeof(w))), -EINVAL); /* fd -1 */
	w.wakeup_eventfd = efd;
	assert_int_equal(feature(e, wake, &w, sizeof(w), F_SZ(sizeof(w))), -EINVAL); /* engaged */
	/* Accesses work in low power: the device resumes for them. */
	assert_int_equal(vfc_local_pread(e->l, e->d, &v, 4, VFC_REGION_OFFSET(0)), 4);
	assert_int_equal(v, 0x010000ed);
	assert_int_equal(feature(e, exit_, NULL, 0, F_SZ(0)), 0);
	assert_int_equal(feature(e, exit_, NULL, 0, F_SZ(0)), 0);

	/* WITH_WAKEUP: payload size, then fd -1, then the fd itself. */
	assert_int_equal(feature(e, wake, &w, sizeof(w), F_SZ(sizeof(w) - 1)), -EINVAL);
	w.wakeup_eventfd = -1;
	assert_int_equal(feature(e, wake, &w, sizeof(w), F_SZ(sizeof(w))), -EINVAL);
	w.wakeup_eventfd = 999;
	assert_int_equal(feature(e, wake, &w, sizeof(w), F_SZ(sizeof(w))), -EBADF);
	w.wakeup_eventfd = pipefd[0];
	assert_int_equal(feature(e, wake, &w, sizeof(w), F_SZ(sizeof(w))), -EINVAL);
	w.wakeup_eventfd = efd;
	assert_int_equal(feature(e, wake, &w, sizeof(w), F_SZ(sizeof(w))), 0);
	assert_int_equal(vfc_local_last_rounds(e->l), 2);
	assert_int_equal(vfc_t_efd_take(efd), 0);
	/* Any device ioctl wakes it: signalled once, and low power is left. */
	assert_int_equal(vfc_local_ioctl(e->l, e->d, VFIO_DEVICE_GET_INFO, (unsigned long)&info),
			 0);
	assert_int_equal(vfc_t_efd_take(efd), 1);
	assert_int_equal(vfc_local_ioctl(e->l, e->d, VFIO_DEVICE_GET_INFO, (unsigned long)&info),
			 0);
	assert_int_equal(vfc_t_efd_take(efd), 0);
	assert_int_equal(feature(e, exit_, NULL, 0, F_SZ(0)), 0);
	/* A region access wakes it too. */
	assert_int_equal(feature(e, wake, &w, sizeof(w), F_SZ(sizeof(w))), 0);
	assert_int_equal(vfc_local_pread(e->l, e->d, &v, 4, VFC_REGION_OFFSET(7)), 4);
	assert_int_equal(vfc_t_efd_take(efd), 1);
	/* A probe is an ioctl too. */
	assert_int_equal(feature(e, wake, &w, sizeof(w), F_SZ(sizeof(w))), 0);
	assert_int_equal(feature(e, PROBE | 99, NULL, 0, F_SZ(0)), -ENOTTY);
	assert_int_equal(vfc_t_efd_take(efd), 1);
	/* Close leaves low power without a signal, and lets the fd go. */
	assert_int_equal(feature(e, wake, &w, sizeof(w), F_SZ(sizeof(w))), 0);
	assert_int_equal(vfc_local_close(e->l, e->d), 0);
	assert_int_equal(vfc_t_efd_take(efd), 0);
	env_open(e);
	assert_int_equal(feature(e, entry, NULL, 0, F_SZ(0)), 0); /* not engaged any more */
	env_free(e);
	close(pipefd[0]);
	close(pipefd[1]);
	close(efd);
}

/* Suspended, INTx is masked; the resume unmasks and signals what came. */
static void test_low_power_intx(void **state)
{
	struct vfc_emu_pci *pci = vfc_t_new(&vfc_t_model, NULL);
	const struct vfc_device_ops *ops = vfc_emu_pci_device_ops(pci);
	int trig = vfc_t_efd();

	vfc_t_open(pci);
	assert_int_equal(vfc_t_set_fd(pci, VFIO_PCI_INTX_IRQ_INDEX, VFIO_IRQ_SET_ACTION_TRIGGER, 0,
				      trig), 0);
	ops->pm_use(pci, true);
	assert_int_equal(ops->pm_entry(pci, -1), 0);
	ops->pm_use(pci, false);	/* the ioctl ends: suspended */
	vfc_t_bar_write(pci, 0, T_REG_SET_IRQ, 4, 1);	/* the device asserts INTx */
	assert_int_equal(vfc_t_efd_take(trig), 0);
	ops->pm_use(pci, true);		/* an access: resume, unmask, signal */
	assert_int_equal(vfc_t_efd_take(trig), 1);
	ops->pm_use(pci, false);
	vfc_t_bar_write(pci, 0, T_REG_SET_IRQ, 4, 0);
	assert_int_equal(ops->pm_exit(pci), 0);
	vfc_t_close(pci);
	vfc_emu_pci_free(pci);
	close(trig);
}

static long log_start(struct env *e, uint64_t page_size, uint32_t n,
		      const struct vfio_device_feature_dma_logging_range *ranges,
		      uint64_t *ret_page_size)
{
	uint8_t buf[sizeof(struct vfio_device_feature) +
		    sizeof(struct vfio_device_feature_dma_logging_control)] = { 0 };
	struct vfio_device_feature *f = (void *)buf;
	struct vfio_device_feature_dma_logging_control *c = (void *)f->data;
	long r;

	f->argsz = sizeof(buf);
	f->flags = SET | VFIO_DEVICE_FEATURE_DMA_LOGGING_START;
	c->page_size = page_size;
	c->num_ranges = n;
	c->ranges = (uintptr_t)ranges;
	r = vfc_local_ioctl(e->l, e->d, VFIO_DEVICE_FEATURE, (unsigned long)buf);
	if (ret_page_size)
		*ret_page_size = c->page_size;
	return r;
}

static long log_report(struct env *e, uint64_t iova, uint64_t length, uint64_t page_size,
		       void *bitmap)
{
	struct vfio_device_feature_dma_logging_report rep = {
		.iova = iova, .length = length, .page_size = page_size,
		.bitmap = (uintptr_t)bitmap,
	};

	return feature(e, GET | VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT, &rep, sizeof(rep),
		       F_SZ(sizeof(rep)));
}

static long log_stop(struct env *e)
{
	return feature(e, SET | VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP, NULL, 0, F_SZ(0));
}

/* vfio_ioctl_device_feature_logging_start()'s checks, in order. */
static void test_dma_log_start_checks(void **state)
{
	struct env *e = env_new("pcitest", NULL);
	const size_t max = (size_t)sysconf(_SC_PAGESIZE) / 16;
	struct vfio_device_feature_dma_logging_range *r = calloc(max + 1, sizeof(*r));
	uint8_t *guard;
	uint64_t ps = 0;

	assert_non_null(r);
	/* argsz too small for the control struct */
	assert_int_equal(feature(e, SET | VFIO_DEVICE_FEATURE_DMA_LOGGING_START, NULL, 0,
				 F_SZ(23)), -EINVAL);
	assert_int_equal(log_start(e, 4096, 0, r, NULL), -EINVAL);
	assert_int_equal(log_start(e, 4096, (uint32_t)max + 1, r, NULL), -E2BIG);
	r[0] = (struct vfio_device_feature_dma_logging_range){ 0x1000, 0x1800 };
	assert_int_equal(log_start(e, 4096, 1, r, NULL), -EINVAL);
	r[0] = (struct vfio_device_feature_dma_logging_range){ 0x800, 0x1000 };
	assert_int_equal(log_start(e, 4096, 1, r, NULL), -EINVAL);
	r[0] = (struct vfio_device_feature_dma_logging_range){ ~0xfffull, 0x2000 };
	assert_int_equal(log_start(e, 4096, 1, r, NULL), -EOVERFLOW);
	r[0] = (struct vfio_device_feature_dma_logging_range){ 0x0, 0x4000 };
	r[1] = (struct vfio_device_feature_dma_logging_range){ 0x3000, 0x1000 };
	assert_int_equal(log_start(e, 4096, 2, r, NULL), -EINVAL); /* overlap */
	assert_int_equal(log_start(e, 4096, 1, (void *)8, NULL), -EFAULT);
	/* Range 0 readable and bad, range 1 not readable: EINVAL comes first. */
	guard = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(guard != MAP_FAILED);
	assert_int_equal(munmap(guard + 4096, 4096), 0);
	memcpy(guard + 4096 - 16,
	       &(struct vfio_device_feature_dma_logging_range){ 0x10, 0x1000 }, 16);
	assert_int_equal(log_start(e, 4096, 2, (void *)(guard + 4096 - 16), NULL), -EINVAL);
	memcpy(guard + 4096 - 16,
	       &(struct vfio_device_feature_dma_logging_range){ 0x0, 0x1000 }, 16);
	assert_int_equal(log_start(e, 4096, 2, (void *)(guard + 4096 - 16), NULL), -EFAULT);
	assert_int_equal(munmap(guard, 4096), 0);

	/* Accepted: the page size comes back as tracked. */
	r[0] = (struct vfio_device_feature_dma_logging_range){ 0x0, 0xc000 }; /* IS_ALIGNED: a mask */
	assert_int_equal(log_start(e, 0x3000, 1, r, &ps), 0);
	assert_int_equal(ps, 0x2000);
	assert_int_equal(vfc_local_last_rounds(e->l), 2);
	assert_int_equal(log_start(e, 0x3000, 1, r, NULL), -EINVAL); /* already */
	assert_int_equal(log_stop(e), 0);
	assert_int_equal(log_stop(e), 0);
	r[0] = (struct vfio_device_feature_dma_logging_range){ 0x0, 1ull << 40 };
	assert_int_equal(log_start(e, 1ull << 30, 1, r, &ps), 0);
	assert_int_equal(ps, 2u << 20);
	assert_int_equal(log_stop(e), 0);
	/* The most ranges a page holds. */
	for (size_t i = 0; i < max; i++)
		r[i] = (struct vfio_device_feature_dma_logging_range){ i * 0x2000, 0x1000 };
	assert_int_equal(log_start(e, 4096, (uint32_t)max, r, &ps), 0);
	assert_int_equal(ps, 4096);
	env_free(e);
	free(r);
}

#define PT_COMMAND 0x04
#define PT_STATUS 0x08
#define PT_DST_LO 0x14
#define PT_DST_HI 0x18
#define PT_SIZE 0x1c
#define PT_WRITE 0x10
#define PT_WRITE_OK 0x04

static void pt_wr(struct env *e, uint64_t off, uint32_t v)
{
	assert_int_equal(vfc_local_pwrite(e->l, e->d, &v, 4, VFC_REGION_OFFSET(0) + off), 4);
}

static bool pt_written(void *arg)
{
	struct env *e = arg;

	return bar_rd32(e, 0, PT_STATUS) & PT_WRITE_OK;
}

/* pcitest's WRITE command: the device writes @size bytes at @iova. */
static void pt_dma_write(struct env *e, uint64_t iova, uint32_t size)
{
	pt_wr(e, PT_DST_LO, (uint32_t)iova);
	pt_wr(e, PT_DST_HI, (uint32_t)(iova >> 32));
	pt_wr(e, PT_SIZE, size);
	pt_wr(e, PT_STATUS, 0);	/* so the wait sees this command's */
	pt_wr(e, PT_COMMAND, PT_WRITE);
	assert_true(vfc_t_wait(pt_written, e));
}

static void test_dma_log_report(void **state)
{
	struct env *e = env_new("pcitest", NULL);
	struct vfio_device_feature_dma_logging_range r[2] = {
		{ 0x0, 0x10000 }, { 0x20000, 0x10000 },
	};
	uint64_t bm[4], ps;

	cmd_set(e, PCI_COMMAND_MASTER, 0);
	/* Not logging yet. */
	memset(bm, 0, sizeof(bm));
	assert_int_equal(log_report(e, 0, 0x40000, 4096, bm), -EINVAL);
	assert_int_equal(log_start(e, 4096, 2, r, &ps), 0);
	assert_int_equal(ps, 4096);

	/* The report's own checks. */
	assert_int_equal(log_report(e, 0, 0x40000, 2048, bm), -EINVAL);
	assert_int_equal(log_report(e, 0, 0x40000, 3 * 4096, bm), -EINVAL);
	assert_int_equal(log_report(e, ~0ull, 2, 4096, bm), -EOVERFLOW);
	assert_int_equal(log_report(e, 0, 0x40000, 4096, NULL), -EFAULT);
	assert_int_equal(feature(e, GET | VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT, NULL, 0, F_SZ(31)),
			 -EINVAL);

	/* Writes at 0x1800 (2 pages), 0x8000 and 0x18000 (outside). */
	pt_dma_write(e, 0x1800, 0x1000);
	pt_dma_write(e, 0x8000, 16);
	pt_dma_write(e, 0x18000, 0x100);
	pt_dma_write(e, 0x2f000, 0x1000);
	/* Bits already set stay set: the kernel ORs into the bitmap. */
	bm[0] = 1ull << 63;
	assert_int_equal(log_report(e, 0, 0x40000, 4096, bm), 0);
	assert_int_equal(bm[0], (1ull << 63) | (1ull << 1) | (1ull << 2) | (1ull << 8) |
				(1ull << 0x2f));
	/* Read and cleared. */
	memset(bm, 0, sizeof(bm));
	assert_int_equal(log_report(e, 0, 0x40000, 4096, bm), 0);
	assert_int_equal(bm[0], 0);

	/* A window: only what meets it is reported and cleared. */
	pt_dma_write(e, 0x3000, 0x1000);
	pt_dma_write(e, 0x21000, 0x1000);
	assert_int_equal(log_report(e, 0x20000, 0x10000, 4096, bm), 0);
	assert_int_equal(bm[0], 1ull << 1);
	/* Coarser report pages: 64 KiB each, page 0 has 0x3000. */
	memset(bm, 0, sizeof(bm));
	assert_int_equal(log_report(e, 0, 0x40000, 0x10000, bm), 0);
	assert_int_equal(bm[0], 1);
	/* Stop: reports fail again; close stops too. */
	assert_int_equal(log_stop(e), 0);
	assert_int_equal(log_report(e, 0, 0x40000, 4096, bm), -EINVAL);
	assert_int_equal(log_start(e, 4096, 2, r, &ps), 0);
	assert_int_equal(vfc_local_close(e->l, e->d), 0);
	env_open(e);
	assert_int_equal(log_report(e, 0, 0x40000, 4096, bm), -EINVAL);
	env_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ioeventfd_checks),
		cmocka_unit_test(test_ioeventfd_fires),
		cmocka_unit_test(test_ioeventfd_limit),
		cmocka_unit_test(test_feature_probes),
		cmocka_unit_test(test_low_power),
		cmocka_unit_test(test_low_power_intx),
		cmocka_unit_test(test_dma_log_start_checks),
		cmocka_unit_test(test_dma_log_report),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
