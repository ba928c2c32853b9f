// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness: the emulated PCI models (edu, pcitest, nvme) through
 * their device ops, as the core calls them after its own checks: config
 * space and BAR reads and writes of any offset and size, SET_IRQS of every
 * data type and any action bits on the vectors the device reports, reset,
 * and region/irq info. The device's DMA goes to a 1 MiB "guest memory"
 * buffer that the input fills (vfc_emu_pci_set_dma()), so the NVMe
 * controller's admin and I/O queues, PRPs and commands, and edu's DMA
 * sources, are fuzzed data. Byte 0 picks the model; the device is opened
 * for each input and closed at its end.
 */
#include <errno.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <linux/vfio.h>

#include "emu-pci.h"
#include "fuzz-util.h"
#include "vfc-log.h"

#define GMEM_SIZE (1u << 20)
#define RW_MAX 4096u
#define N_EVENTFDS 4

static struct vfc_emu_pci *dev[3];
static uint8_t gmem[GMEM_SIZE];
static int eventfds[N_EVENTFDS];
static bool trace;	/* FUZZ_TRACE=1: print every region access */

/* Guest memory at IOVA 0; anything beyond faults, as an unmapped IOVA. */
static int gmem_dma(void *opaque, uint64_t iova, void *buf, size_t len, bool write)
{
	if (iova > GMEM_SIZE || len > GMEM_SIZE - iova)
		return -EFAULT;
	if (write)
		memcpy(gmem + iova, buf, len);
	else
		memcpy(buf, gmem + iova, len);
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *const models[3][2] = {
		{ "edu", NULL }, { "pcitest", NULL }, { "nvme", "size=1M" },
	};

	trace = getenv("FUZZ_TRACE");
	vfc_log_set_max_level(getenv("FUZZ_VERBOSE") ? 7 : 2);
	for (int i = 0; i < N_EVENTFDS; i++)
		if ((eventfds[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
			exit(1);
	for (int i = 0; i < 3; i++) {
		if (vfc_emu_pci_create(models[i][0], models[i][1], &dev[i]) < 0) {
			fprintf(stderr, "fuzz-pci: cannot create %s\n", models[i][0]);
			exit(1);
		}
		vfc_emu_pci_set_dma(dev[i], gmem_dma, NULL);
	}
	return 0;
}

static void set_irqs(struct vfc_emu_pci *pci, const struct vfc_device_ops *ops,
		     struct vfio_device_info *info, struct fz_in *in)
{
	static const uint32_t data_types[] = {
		VFIO_IRQ_SET_DATA_NONE, VFIO_IRQ_SET_DATA_BOOL, VFIO_IRQ_SET_DATA_EVENTFD,
	};
	struct vfio_irq_info irq = { .argsz = sizeof(irq) };
	uint8_t b = fz_u8(in);
	uint32_t flags = data_types[b % 3] | (fz_u8(in) & 7) << 3;	/* any action bits */
	unsigned int start, count;
	int32_t fds[64];
	uint8_t bools[64];

	irq.index = (b >> 2) % (info->num_irqs ? info->num_irqs : 1);
	if (ops->get_irq_info(pci, &irq) < 0 || !irq.count)
		return;
	start = fz_u8(in) % irq.count;
	count = fz_u8(in) % (irq.count - start + 1);
	if (count > 64)
		count = 64;
	for (unsigned int i = 0; i < count; i++) {
		uint8_t e = fz_u8(in);

		bools[i] = e & 1;
		fds[i] = e < 0xe0 ? eventfds[e % N_EVENTFDS] : -1;
	}
	ops->set_irqs(pci, flags, irq.index, start, count,
		      flags & VFIO_IRQ_SET_DATA_EVENTFD ? (const void *)fds : bools);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	struct fz_in in = { data, n };
	struct vfc_emu_pci *pci = dev[fz_u8(&in) % 3];
	const struct vfc_device_ops *ops = vfc_emu_pci_device_ops(pci);
	struct vfio_device_info info = { .argsz = sizeof(info) };
	static uint8_t buf[RW_MAX];

	if (ops->open_device(pci, NULL) < 0)
		return 0;
	if (ops->get_info(pci, &info) < 0)
		goto out;
	for (unsigned int steps = 0; in.n && steps < 256; steps++) {
		uint8_t op = fz_u8(&in);

		switch (op % 8) {
		case 0:
		case 1:
		case 2: {	/* region read/write; mostly config and BAR0 */
			static const unsigned int idx[] = { 7, 0, 7, 0, 1, 2, 3, 4, 5, 6, 8, 0 };
			uint8_t b = fz_u8(&in);
			unsigned int index = idx[(b & 0xf) % 12] % info.num_regions;
			ssize_t r;
			uint64_t off = b & 0x80 ? fz_u32(&in) : fz_u16(&in) % 0x2000;
			size_t len = b & 0x40 ? fz_u16(&in) % (RW_MAX + 1) : 1u << (fz_u8(&in) % 4);

			if (op & 0x80)
				fz_bytes(&in, buf, len);
			r = ops->region_rw(pci, index, off, buf, len, op & 0x80);
			if (trace)
				fprintf(stderr, "fuzz-pci: %s(%u, 0x%llx, %zu) = %zd: %02x %02x %02x %02x\n",
					op & 0x80 ? "write" : "read", index, (unsigned long long)off,
					len, r, buf[0], buf[1], buf[2], buf[3]);
			break;
		}
		case 3:
			set_irqs(pci, ops, &info, &in);
			break;
		case 4: {	/* guest memory */
			size_t off = fz_u16(&in) * 16ull % GMEM_SIZE;
			size_t len = fz_u16(&in) % 2048;

			if (off + len > GMEM_SIZE)
				len = GMEM_SIZE - off;
			fz_bytes(&in, gmem + off, len);
			break;
		}
		case 5:
			if (op & 0x80 && ops->reset)
				ops->reset(pci);
			else
				sched_yield();
			break;
		case 6: {
			struct vfio_region_info ri = { .argsz = sizeof(ri) };
			struct vfc_caps caps = { 0 };

			ri.index = fz_u8(&in) % info.num_regions;
			ops->get_region_info(pci, &ri, &caps);
			vfc_caps_clear(&caps);
			break;
		}
		case 7:
			usleep(fz_u8(&in) % 4 * 50);	/* let timers and queues run */
			break;
		}
	}
out:
	if (trace)	/* the first completion queue entries' status words */
		for (unsigned int i = 0; i < 4; i++)
			fprintf(stderr, "fuzz-pci: gmem 0x%x: %02x%02x\n", 0x1100e + 16 * i,
				gmem[0x1100f + 16 * i], gmem[0x1100e + 16 * i]);
	ops->close_device(pci);
	return 0;
}
