// SPDX-License-Identifier: MIT
/*
 * Helpers shared by the emulated PCI device tests: ops shortcuts, eventfd
 * reading, bounded waits, a fake DMA target, and a test model that has
 * every framework feature (see emu-pci-test.h).
 */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <cmocka.h>

#include "emu-pci-test.h"

struct vfc_t_access vfc_t_log[T_LOG_MAX];
unsigned int vfc_t_log_len;

void vfc_t_log_clear(void)
{
	vfc_t_log_len = 0;
}

struct vfc_t_priv {
	uint8_t bar0[4096];
	uint8_t bar1[32];
	unsigned int resets;
	int dma_result;
};

static void log_access(unsigned int bar, uint64_t off, unsigned int size, bool write)
{
	if (vfc_t_log_len < T_LOG_MAX)
		vfc_t_log[vfc_t_log_len++] = (struct vfc_t_access){ bar, off, size, write };
}

static uint64_t vfc_t_read(struct vfc_emu_pci *pci, unsigned int bar, uint64_t off,
			   unsigned int size)
{
	struct vfc_t_priv *p = vfc_emu_pci_priv(pci);
	const uint8_t *src = bar == 0 ? p->bar0 : bar == 1 ? p->bar1 : NULL;
	uint64_t v = 0;

	log_access(bar, off, size, false);
	if (bar == 0 && off == T_REG_RESETS)
		return p->resets;
	if (bar == 0 && off == T_REG_DMA_RESULT)
		return (uint32_t)p->dma_result;
	for (unsigned int i = 0; src && i < size; i++)
		v |= (uint64_t)src[off + i] << (8 * i);
	return v;
}

static void vfc_t_dma_timer(struct vfc_emu_pci *pci, void *opaque)
{
	struct vfc_t_priv *p = opaque;
	uint8_t buf[16];
	uint32_t iova;
	int r;

	vfc_emu_pci_lock(pci);
	memcpy(&iova, p->bar0 + T_REG_DMA, sizeof(iova));
	vfc_emu_pci_unlock(pci);
	r = vfc_emu_pci_dma(pci, iova, buf, sizeof(buf), false);
	vfc_emu_pci_lock(pci);
	if (r == 0)
		memcpy(p->bar0, buf, sizeof(buf));
	p->dma_result = r;
	vfc_emu_pci_unlock(pci);
}

static int vfc_t_init(struct vfc_emu_pci *pci)
{
	int id = vfc_emu_pci_timer_add(pci, vfc_t_dma_timer, vfc_emu_pci_priv(pci));

	return id < 0 ? id : 0;
}

static void vfc_t_write(struct vfc_emu_pci *pci, unsigned int bar, uint64_t off, uint64_t val,
		    unsigned int size)
{
	struct vfc_t_priv *p = vfc_emu_pci_priv(pci);
	uint8_t *dst = bar == 0 ? p->bar0 : bar == 1 ? p->bar1 : NULL;

	log_access(bar, off, size, true);
	for (unsigned int i = 0; dst && i < size; i++)
		dst[off + i] = (uint8_t)(val >> (8 * i));
	if (bar != 0)
		return;
	if (off == T_REG_SET_IRQ)
		vfc_emu_pci_set_irq(pci, val & 1);
	else if (off == T_REG_MSI)
		vfc_emu_pci_msi_notify(pci, (unsigned int)val);
	else if (off == T_REG_MSIX)
		vfc_emu_pci_msix_notify(pci, (unsigned int)val);
	else if (off == T_REG_DMA) {
		p->dma_result = 1;
		vfc_emu_pci_timer_mod(pci, 0, 0);
	}
}

static void vfc_t_model_reset(struct vfc_emu_pci *pci)
{
	struct vfc_t_priv *p = vfc_emu_pci_priv(pci);

	memset(p->bar0, 0, sizeof(p->bar0));
	memset(p->bar1, 0, sizeof(p->bar1));
	p->resets++;
}

const struct vfc_emu_pci_model vfc_t_model = {
	.name = "test",
	.vendor_id = 0xabcd,
	.device_id = 0x0042,
	.subsystem_vendor_id = 0xabcd,
	.subsystem_id = 0x0001,
	.revision = 0x07,
	.class_code = 0x058000,
	.interrupt_pin = 1,
	.bars = {
		[0] = { .type = VFC_EMU_BAR_MEM32, .size = 4096 },
		[1] = { .type = VFC_EMU_BAR_IO, .size = 32 },
		[2] = { .type = VFC_EMU_BAR_MEM64, .prefetch = true, .size = 1u << 20 },
		[5] = { .type = VFC_EMU_BAR_MEM32, .size = 4096 },
	},
	.msi_vectors = 8,
	.msi_64bit = true,
	.msi_maskbit = true,
	.msix_vectors = 16,
	.msix_bar = 5,
	.msix_table_offset = 0,
	.msix_pba_offset = 0x800,
	.priv_size = sizeof(struct vfc_t_priv),
	.init = vfc_t_init,
	.reset = vfc_t_model_reset,
	.bar_read = vfc_t_read,
	.bar_write = vfc_t_write,
};

struct vfc_emu_pci *vfc_t_new(const struct vfc_emu_pci_model *model, const char *options)
{
	struct vfc_emu_pci *pci = NULL;

	assert_int_equal(vfc_emu_pci_new(model, options, &pci), 0);
	assert_non_null(pci);
	return pci;
}

void vfc_t_open(struct vfc_emu_pci *pci)
{
	assert_int_equal(vfc_emu_pci_device_ops(pci)->open_device(pci, NULL), 0);
}

void vfc_t_close(struct vfc_emu_pci *pci)
{
	vfc_emu_pci_device_ops(pci)->close_device(pci);
}

ssize_t vfc_t_rw(struct vfc_emu_pci *pci, unsigned int index, uint64_t off, void *buf, size_t len,
	     bool write)
{
	return vfc_emu_pci_device_ops(pci)->region_rw(pci, index, off, buf, len, write);
}

uint32_t vfc_t_cfg_read(struct vfc_emu_pci *pci, unsigned int off, unsigned int size)
{
	uint8_t b[4] = { 0 };
	uint32_t v = 0;

	assert_int_equal(vfc_t_rw(pci, VFIO_PCI_CONFIG_REGION_INDEX, off, b, size, false), size);
	for (unsigned int i = 0; i < size; i++)
		v |= (uint32_t)b[i] << (8 * i);
	return v;
}

void vfc_t_cfg_write(struct vfc_emu_pci *pci, unsigned int off, unsigned int size, uint32_t val)
{
	uint8_t b[4];

	for (unsigned int i = 0; i < 4; i++)
		b[i] = (uint8_t)(val >> (8 * i));
	assert_int_equal(vfc_t_rw(pci, VFIO_PCI_CONFIG_REGION_INDEX, off, b, size, true), size);
}

uint64_t vfc_t_bar_read(struct vfc_emu_pci *pci, unsigned int bar, uint64_t off, unsigned int size)
{
	uint8_t b[8] = { 0 };
	uint64_t v = 0;

	assert_int_equal(vfc_t_rw(pci, bar, off, b, size, false), size);
	for (unsigned int i = 0; i < size; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return v;
}

void vfc_t_bar_write(struct vfc_emu_pci *pci, unsigned int bar, uint64_t off, unsigned int size,
		 uint64_t val)
{
	uint8_t b[8];

	for (unsigned int i = 0; i < 8; i++)
		b[i] = (uint8_t)(val >> (8 * i));
	assert_int_equal(vfc_t_rw(pci, bar, off, b, size, true), size);
}

int vfc_t_set_irqs(struct vfc_emu_pci *pci, uint32_t flags, unsigned int index, unsigned int start,
	       unsigned int count, const void *data)
{
	return vfc_emu_pci_device_ops(pci)->set_irqs(pci, flags, index, start, count, data);
}

int vfc_t_set_fd(struct vfc_emu_pci *pci, unsigned int index, uint32_t action, unsigned int start,
	     int fd)
{
	int32_t fds[1] = { fd };

	return vfc_t_set_irqs(pci, VFIO_IRQ_SET_DATA_EVENTFD | action, index, start, 1, fds);
}

int vfc_t_reset(struct vfc_emu_pci *pci)
{
	const struct vfc_device_ops *ops = vfc_emu_pci_device_ops(pci);

	assert_non_null(ops->reset);
	return ops->reset(pci);
}

int vfc_t_efd(void)
{
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	assert_true(fd >= 0);
	return fd;
}

uint64_t vfc_t_efd_take(int fd)
{
	uint64_t v;

	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

uint64_t vfc_t_efd_wait(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (poll(&p, 1, T_WAIT_MS) != 1)
		return 0;
	return vfc_t_efd_take(fd);
}

int vfc_t_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory's own fd */
}

bool vfc_t_wait(bool (*fn)(void *arg), void *arg)
{
	struct timespec pause = { .tv_nsec = 200 * 1000 };

	for (unsigned long waited_us = 0; waited_us < T_WAIT_MS * 1000ul; waited_us += 200) {
		if (fn(arg))
			return true;
		nanosleep(&pause, NULL);
	}
	return fn(arg);
}

void vfc_t_mem_init(struct vfc_t_mem *m, uint64_t size)
{
	*m = (struct vfc_t_mem){ .size = size };
	m->mem = calloc(1, size);
	assert_non_null(m->mem);
}

void vfc_t_mem_fini(struct vfc_t_mem *m)
{
	free(m->mem);
	m->mem = NULL;
}

int vfc_t_mem_dma(void *opaque, uint64_t iova, void *buf, size_t len, bool write)
{
	struct vfc_t_mem *m = opaque;

	__atomic_add_fetch(&m->calls, 1, __ATOMIC_SEQ_CST);
	if (iova >= m->size || len > m->size - iova)
		return -EFAULT;
	if (iova < m->fault_end && iova + len > m->fault_start)
		return -EFAULT;
	if (write)
		memcpy(m->mem + iova, buf, len);
	else
		memcpy(buf, m->mem + iova, len);
	return 0;
}
