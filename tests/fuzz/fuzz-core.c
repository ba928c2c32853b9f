// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness: the core's ioctl and read/write dispatch for
 * container, group and device files, through the in-process transport
 * (vfc-local.h), with state carried across calls. An input is a program:
 * its first byte picks a core, the rest is a sequence of operations (open
 * a container or group, close, dup, ioctl with any VFIO command number and
 * argument bytes from the input, pread, pwrite, fill DMA memory), each
 * working on a table of 16 pretend fds.
 *
 * Core 0: the fake IOMMU and fake devices (groups 5 and 6; group 6 holds
 * two). Core 1: the emulated type1 IOMMU and the emulated edu (group 7),
 * pcitest (group 8) and nvme (group 9) devices, whose DMA reaches this
 * process's memory through the IOMMU, so a mapped buffer filled from the
 * input becomes the NVMe queues and the edu DMA source.
 *
 * Pointers inside arguments that the daemon writes through (UNMAP_DMA's
 * and DIRTY_PAGES' bitmaps, DMA logging's report and ranges) are bent into
 * a guarded scratch buffer, and MAP_DMA's vaddr into the guarded DMA
 * buffer, so no write can land in the harness's own data. Everything an
 * input opened is closed at its end; the cores and devices live across
 * inputs, as they live across clients in vfio-cused.
 */
#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <linux/vfio.h>

#include "emu-iommu.h"
#include "emu-pci.h"
#include "fake.h"
#include "fuzz-util.h"
#include "vfc-local.h"
#include "vfc-log.h"

#define SLOTS 16
#define ARG_SIZE (VFC_IOCTL_MAX_XFER + 4096)
#define DMA_SIZE (1u << 20)
#define SCRATCH_SIZE (64u * 1024u)
#define RW_MAX 4096u
#define N_EVENTFDS 4

enum kind { K_NONE, K_CONTAINER, K_GROUP, K_DEVICE };

struct slot {
	int fd;
	enum kind kind;
};

static struct {
	struct vfc_core *core[2];
	struct vfc_fake_iommu fake_iommu;
	struct vfc_fake_device fake[3];
	struct vfc_emu_iommu_config emu_cfg;
	struct vfc_emu_pci *emu[3];
	uint8_t *arg, *dma, *scratch;
	int eventfds[N_EVENTFDS];
} g;

static const unsigned int group_ids[2][3] = { { 5, 6, 5 }, { 7, 8, 9 } };
static const char *const dev_names[2][3] = {
	{ "0000:00:05.0", "0000:00:06.0", "0000:00:06.1" },
	{ "0000:00:07.0", "0000:00:08.0", "0000:00:09.0" },
};

static bool trace;	/* FUZZ_TRACE=1: print every call and its result */

static long xioctl(struct vfc_local *l, int fd, unsigned int cmd, unsigned long arg)
{
	long r = vfc_local_ioctl(l, fd, cmd, arg);

	if (trace)
		fprintf(stderr, "fuzz-core: ioctl(%d, %u) = %ld\n", fd, cmd, r);
	return r;
}

static ssize_t xrw(struct vfc_local *l, int fd, void *buf, size_t len, uint64_t off, bool write)
{
	ssize_t r = write ? vfc_local_pwrite(l, fd, buf, len, off)
			  : vfc_local_pread(l, fd, buf, len, off);

	if (trace) {
		fprintf(stderr, "fuzz-core: %s(%d, %zu @ 0x%llx) = %zd", write ? "pwrite" : "pread",
			fd, len, (unsigned long long)off, r);
		for (ssize_t i = 0; i < r && i < 8; i++)
			fprintf(stderr, " %02x", ((uint8_t *)buf)[i]);
		fputc('\n', stderr);
	}
	return r;
}

static void die(const char *what, int r)
{
	fprintf(stderr, "fuzz-core: %s: %s\n", what, strerror(-r));
	exit(1);
}

static void setup(void)
{
	static const char *const models[3][2] = {
		{ "edu", NULL }, { "pcitest", NULL }, { "nvme", "size=1M" },
	};
	struct vfc_group *grp[3];
	int r;

	trace = getenv("FUZZ_TRACE");
	vfc_log_set_max_level(getenv("FUZZ_VERBOSE") ? 7 : 2);	/* LOG_CRIT */
	g.arg = fz_guarded(ARG_SIZE);
	g.dma = fz_guarded(DMA_SIZE);
	g.scratch = fz_guarded(SCRATCH_SIZE);
	for (int i = 0; i < N_EVENTFDS; i++)
		if ((g.eventfds[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
			die("eventfd", -errno);

	if ((r = vfc_core_new(&g.core[0])) < 0 ||
	    (r = vfc_core_add_iommu_driver(g.core[0], &vfc_fake_iommu_ops, &g.fake_iommu)) < 0)
		die("fake core", r);
	for (int i = 0; i < 2; i++)
		if ((r = vfc_core_add_group(g.core[0], 5 + i, NULL, &grp[i])) < 0)
			die("fake group", r);
	for (int i = 0; i < 3; i++) {
		vfc_fake_device_init(&g.fake[i], 0x1234, 0x11e8 + i);
		r = vfc_group_add_device(grp[i ? 1 : 0], dev_names[0][i], &vfc_fake_device_ops,
					 &g.fake[i], NULL);
		if (r < 0)
			die("fake device", r);
	}

	vfc_emu_iommu_config_init(&g.emu_cfg);
	g.emu_cfg.vaddr_wait_ms = 0;	/* a DMA to an invalidated vaddr must not stall */
	g.emu_cfg.dma_entry_limit = 256;
	if ((r = vfc_core_new(&g.core[1])) < 0 ||
	    (r = vfc_core_add_iommu_driver(g.core[1], &vfc_emu_iommu_ops, &g.emu_cfg)) < 0)
		die("emu core", r);
	for (int i = 0; i < 3; i++) {
		if ((r = vfc_core_add_group(g.core[1], 7 + i, NULL, &grp[i])) < 0 ||
		    (r = vfc_emu_pci_create(models[i][0], models[i][1], &g.emu[i])) < 0 ||
		    (r = vfc_emu_pci_register(g.emu[i], grp[i], dev_names[1][i], NULL)) < 0)
			die(models[i][0], r);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	setup();
	return 0;
}

static struct slot *pick(struct slot *s, struct fz_in *in)
{
	return &s[fz_u8(in) % SLOTS];
}

static void put(struct slot *s, int fd, enum kind kind)
{
	if (fd < 0)
		return;
	for (int i = 0; i < SLOTS; i++)
		if (s[i].kind == K_NONE) {
			s[i] = (struct slot){ fd, kind };
			return;
		}
	/* table full: keep the fd open, the local transport closes it at the end */
}

/* A pointer the daemon may write through: into the guarded scratch buffer. */
static void bend_scratch(size_t len, size_t off)
{
	uint64_t v;

	if (len < off + 8)
		return;
	memcpy(&v, g.arg + off, 8);
	v = (uint64_t)(uintptr_t)g.scratch + v % SCRATCH_SIZE;
	memcpy(g.arg + off, &v, 8);
}

/* MAP_DMA's vaddr: into the guarded DMA buffer, keeping its low bits. */
static void bend_vaddr(size_t len)
{
	uint64_t v;

	if (len < 16)
		return;
	memcpy(&v, g.arg + 8, 8);
	v = (uint64_t)(uintptr_t)g.dma + v % DMA_SIZE;
	memcpy(g.arg + 8, &v, 8);
}

static void fix_pointers(enum kind kind, unsigned int cmd, size_t len)
{
	uint32_t flags = 0;

	if (len >= 8)
		memcpy(&flags, g.arg + 4, 4);
	if (kind == K_CONTAINER) {
		if (cmd == VFIO_IOMMU_MAP_DMA)
			bend_vaddr(len);
		else if (cmd == VFIO_IOMMU_UNMAP_DMA || cmd == VFIO_IOMMU_DIRTY_PAGES)
			bend_scratch(len, 40);	/* struct vfio_bitmap's data */
	} else if (kind == K_DEVICE && cmd == VFIO_DEVICE_FEATURE) {
		switch (flags & VFIO_DEVICE_FEATURE_MASK) {
		case VFIO_DEVICE_FEATURE_DMA_LOGGING_START:
			bend_scratch(len, 8 + 16);	/* ranges */
			break;
		case VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT:
			bend_scratch(len, 8 + 24);	/* bitmap */
			break;
		}
	}
}

/* Any VFIO command (100 + n) or, rarely, any number at all. */
static unsigned int pick_cmd(struct fz_in *in)
{
	uint8_t b = fz_u8(in);

	return b < 0xf0 ? _IO(VFIO_TYPE, VFIO_BASE + b % 26) : fz_u32(in);
}

static void op_ioctl(struct vfc_local *l, struct slot *s, struct fz_in *in)
{
	struct slot *t = pick(s, in);
	unsigned int cmd = pick_cmd(in);
	size_t len = fz_u16(in) % 512;
	uint8_t how = fz_u8(in);

	memset(g.arg, 0, 4096);
	fz_bytes(in, g.arg, len);
	if (how & 1 && len >= 4) {	/* argsz: the length given */
		uint32_t a = (uint32_t)len;

		memcpy(g.arg, &a, 4);
	}
	fix_pointers(t->kind, cmd, len);
	xioctl(l, t->fd, cmd, (unsigned long)g.arg);
}

static void op_ioctl_int(struct vfc_local *l, struct slot *s, struct fz_in *in)
{
	struct slot *t = pick(s, in);
	unsigned int cmd = pick_cmd(in);

	xioctl(l, t->fd, cmd, fz_u8(in) < 0x80 ? fz_u8(in) : fz_u64(in));
}

static void op_set_container(struct vfc_local *l, struct slot *s, struct fz_in *in)
{
	struct slot *grp = pick(s, in), *c = pick(s, in);
	int fd = c->fd;

	memcpy(g.arg, &fd, sizeof(fd));
	xioctl(l, grp->fd, VFIO_GROUP_SET_CONTAINER, (unsigned long)g.arg);
}

static void op_get_device(struct vfc_local *l, struct slot *s, int core, struct fz_in *in)
{
	struct slot *grp = pick(s, in);
	uint8_t b = fz_u8(in);

	if (b < 0xc0)
		snprintf((char *)g.arg, 64, "%s", dev_names[core][b % 3]);
	else
		fz_bytes(in, g.arg, 64);
	put(s, (int)xioctl(l, grp->fd, VFIO_GROUP_GET_DEVICE_FD, (unsigned long)g.arg),
	    K_DEVICE);
}

static void op_map(struct vfc_local *l, struct slot *s, struct fz_in *in)
{
	struct slot *c = pick(s, in);
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m),
		.flags = fz_u8(in) % 4 ? VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE
				       : fz_u8(in) & 7,
		.vaddr = (uintptr_t)g.dma + (fz_u8(in) % (DMA_SIZE / 4096)) * 4096ull,
		.iova = fz_u8(in) * 4096ull,
		.size = (fz_u8(in) % 16 + 1) * 4096ull,
	};

	if (m.vaddr + m.size > (uintptr_t)g.dma + DMA_SIZE)
		m.vaddr = (uintptr_t)g.dma;
	memcpy(g.arg, &m, sizeof(m));
	xioctl(l, c->fd, VFIO_IOMMU_MAP_DMA, (unsigned long)g.arg);
}

static void op_set_irqs(struct vfc_local *l, struct slot *s, struct fz_in *in)
{
	struct slot *d = pick(s, in);
	static const uint32_t actions[] = {
		VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
		VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
		VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_ACTION_TRIGGER,
		VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_MASK,
		VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK,
		VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_UNMASK,
		VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_ACTION_MASK,
		VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER | VFIO_IRQ_SET_DATA_BOOL,
	};
	struct vfio_irq_set *set = (struct vfio_irq_set *)g.arg;
	uint8_t b = fz_u8(in);
	unsigned int count = fz_u8(in) % 9;

	*set = (struct vfio_irq_set){
		.flags = actions[b % 8],
		.index = (b >> 3) % 6,
		.start = fz_u8(in) % 4,
		.count = count,
	};
	for (unsigned int i = 0; i < count; i++) {
		uint8_t e = fz_u8(in);
		int32_t fd = e < 0xe0 ? g.eventfds[e % N_EVENTFDS] : -1;

		if (set->flags & VFIO_IRQ_SET_DATA_BOOL)
			set->data[i] = e & 1;
		else
			memcpy(set->data + 4 * i, &fd, 4);
	}
	set->argsz = sizeof(*set) + (set->flags & VFIO_IRQ_SET_DATA_EVENTFD ? 4 * count
					 : set->flags & VFIO_IRQ_SET_DATA_BOOL ? count : 0);
	xioctl(l, d->fd, VFIO_DEVICE_SET_IRQS, (unsigned long)g.arg);
}

static void op_rw(struct vfc_local *l, struct slot *s, struct fz_in *in, bool write)
{
	static uint8_t buf[RW_MAX];
	struct slot *d = pick(s, in);
	uint8_t b = fz_u8(in);
	uint64_t off = (uint64_t)((b & 0x7f) % 10) << 40 | (b & 0x80 ? fz_u32(in) : fz_u16(in));
	size_t len = fz_u16(in) % (RW_MAX + 1);

	if (fz_u8(in) < 8)
		off = fz_u64(in);
	if (write)
		fz_bytes(in, buf, len);
	xrw(l, d->fd, buf, len, off, write);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };
	struct slot s[SLOTS];
	struct vfc_local *l;
	int core = fz_u8(&in) & 1;

	for (int i = 0; i < SLOTS; i++)
		s[i] = (struct slot){ -1, K_NONE };
	if (vfc_local_new(g.core[core], &l) < 0)
		return 0;
	for (unsigned int steps = 0; in.n && steps < 256; steps++) {
		struct slot *t;

		switch (fz_u8(&in) % 16) {
		case 0:
			put(s, vfc_local_open_container(l), K_CONTAINER);
			break;
		case 1: {
			uint8_t b = fz_u8(&in);

			put(s, vfc_local_open_group(l, b < 0xf0 ? group_ids[core][b % 3] : b),
			    K_GROUP);
			break;
		}
		case 2:
			t = pick(s, &in);
			if (vfc_local_close(l, t->fd) == 0)
				*t = (struct slot){ -1, K_NONE };
			break;
		case 3:
			t = pick(s, &in);
			put(s, vfc_local_dup(l, t->fd), t->kind);
			break;
		case 4:
			op_set_container(l, s, &in);
			break;
		case 5:
			t = pick(s, &in);
			xioctl(l, t->fd, VFIO_SET_IOMMU, fz_u8(&in) % 10);
			break;
		case 6:
			op_get_device(l, s, core, &in);
			break;
		case 7:
			op_map(l, s, &in);
			break;
		case 8:
		case 9:
			op_ioctl(l, s, &in);
			break;
		case 10:
			op_ioctl_int(l, s, &in);
			break;
		case 11:
			op_rw(l, s, &in, false);
			break;
		case 12:
			op_rw(l, s, &in, true);
			break;
		case 13:
			op_set_irqs(l, s, &in);
			break;
		case 14: {	/* guest memory: queues, descriptors, DMA sources */
			size_t off = fz_u16(&in) * 16ull % DMA_SIZE;
			size_t len = fz_u16(&in) % 2048;

			if (off + len > DMA_SIZE)
				len = DMA_SIZE - off;
			fz_bytes(&in, g.dma + off, len);
			break;
		}
		case 15:	/* let the devices' threads run */
			sched_yield();
			break;
		}
	}
	vfc_local_free(l);
	return 0;
}
