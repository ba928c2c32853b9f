// SPDX-License-Identifier: MIT
/*
 * VFIO_DEVICE_IOEVENTFD for emulated devices: vfio_pci_ioeventfd() of
 * drivers/vfio/pci/vfio_pci_rdwr.c. Each ioeventfd is a (BAR, offset,
 * data, size) write bound to a client eventfd; when the eventfd fires, the
 * device thread performs that write as a trapped write would (the model's
 * bar_write, its side effects included), dropped while memory decode is
 * off, as the kernel's handler drops it.
 *
 * The eventfd is our duplicate of the client's, watched edge-triggered on
 * the device thread and never read (see emu-pci-thread.c): each write by
 * the client is one device write; writes between two wake-ups of the
 * thread make one, as the kernel's virqfd coalesces them. The kernel
 * drops every ioeventfd at close (vfio_pci_core_disable()), none at reset.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "emu-pci-priv.h"
#include "vfc-log.h"

struct emu_ioeventfd {
	struct emu_ioeventfd *next;
	uint64_t id; /* the thread's epoll tag */
	unsigned int bar;
	uint64_t pos;
	uint64_t data;
	unsigned int count;
	int fd;
};

static void ioeventfd_free(struct vfc_emu_pci *pci, struct emu_ioeventfd *e)
{
	vfc_emu_pci_thread_unwatch(pci, e->fd);
	close(e->fd);
	free(e);
}

/* vfio_pci_ioeventfd(), check for check; the core did the ioctl's own. */
static int ioeventfd_locked(struct vfc_emu_pci *pci, uint64_t offset, uint64_t data,
			    unsigned int count, int fd)
{
	const struct vfc_emu_pci_model *m = pci->model;
	uint64_t pos = offset & VFC_REGION_MASK, bar = offset >> VFC_REGION_SHIFT;
	uint64_t len, x_start, x_end;
	struct emu_ioeventfd *e, **pp;
	int r;

	if (bar > VFIO_PCI_BAR5_REGION_INDEX)
		return -EINVAL; /* only BARs: not config, ROM or VGA */
	len = m->bars[bar].type == VFC_EMU_BAR_NONE ? 0 : m->bars[bar].size;
	if (pos + count > len)
		return -EINVAL; /* absent BARs and upper halves are 0 long */
	if (m->msix_vectors && bar == m->msix_bar) {
		x_start = m->msix_table_offset;
		x_end = x_start + m->msix_vectors * 16ull;
		if (!(pos + count <= x_start || pos >= x_end))
			return -EINVAL; /* no working around MSI-X table writes */
	}
	if (count == 8 && pci->io_max < 8)
		return -EINVAL; /* 6.1: no iowrite64 */

	for (pp = &pci->ioeventfds; (e = *pp); pp = &e->next) {
		if (e->pos != pos || e->bar != bar || e->data != data || e->count != count)
			continue;
		if (fd != -1)
			return -EEXIST; /* a marker too: the kernel never looks it up */
		*pp = e->next;
		ioeventfd_free(pci, e);
		pci->n_ioeventfds--;
		return 0;
	}
	if (fd == -1)
		return -ENODEV;
	if (pci->n_ioeventfds >= VFC_EMU_IOEVENTFD_MAX)
		return -ENOSPC;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->fd = vfc_emu_pci_eventfd_get(fd); /* vfio_virqfd_enable(): EBADF, EINVAL */
	if (e->fd < 0) {
		r = e->fd;
		free(e);
		return r;
	}
	e->id = pci->ioeventfd_next_id++;
	e->bar = (unsigned int)bar;
	e->pos = pos;
	e->data = data;
	e->count = count;
	r = vfc_emu_pci_thread_watch_ioeventfd(pci, e->fd, e->id);
	if (r < 0) {
		close(e->fd);
		free(e);
		return r;
	}
	e->next = pci->ioeventfds;
	pci->ioeventfds = e;
	pci->n_ioeventfds++;
	return 0;
}

/**
 * vfc_emu_pci_ioeventfd() - struct vfc_device_ops.ioeventfd.
 * @priv: the device.
 * @offset: the client's region offset (BAR index << 40 | position).
 * @data: the value to write.
 * @count: 1, 2, 4 or 8 bytes.
 * @fd: a local eventfd (duplicated here), -1 to remove, or a marker.
 *
 * Return: 0; -EINVAL (not a BAR, past its end, over the MSI-X table, 8
 * bytes with bar_rw64=off, or an fd that is no eventfd); -EEXIST (the same
 * write is bound already); -ENODEV (-1 for a write not bound); -ENOSPC
 * (VFC_EMU_IOEVENTFD_MAX bound); -EBADF; -ENOMEM.
 */
int vfc_emu_pci_ioeventfd(void *priv, uint64_t offset, uint64_t data, unsigned int count,
			  int fd)
{
	struct vfc_emu_pci *pci = priv;
	int r;

	pthread_mutex_lock(&pci->lock);
	r = ioeventfd_locked(pci, offset, data, count, fd);
	pthread_mutex_unlock(&pci->lock);
	return r;
}

void vfc_emu_pci_ioeventfd_fired(struct vfc_emu_pci *pci, uint64_t id)
{
	uint8_t buf[8];
	struct emu_ioeventfd *e;

	for (e = pci->ioeventfds; e && e->id != id; e = e->next)
		;
	if (!e || !pci->open)
		return; /* removed meanwhile */
	for (unsigned int i = 0; i < e->count; i++)
		buf[i] = (uint8_t)(e->data >> (8 * i));
	/* -EIO with memory decode off: the kernel's handler skips the write. */
	if (vfc_emu_pci_bar_rw_locked(pci, e->bar, e->pos, buf, e->count, true) < 0)
		vfc_debug("emu-pci %s: ioeventfd write to BAR%u at 0x%llx dropped",
			  pci->model->name, e->bar, (unsigned long long)e->pos);
}

void vfc_emu_pci_ioeventfds_free(struct vfc_emu_pci *pci)
{
	while (pci->ioeventfds) {
		struct emu_ioeventfd *e = pci->ioeventfds;

		pci->ioeventfds = e->next;
		ioeventfd_free(pci, e);
	}
	pci->n_ioeventfds = 0;
}
