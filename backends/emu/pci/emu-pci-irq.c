// SPDX-License-Identifier: MIT
/*
 * Interrupts of an emulated PCI device: the INTx line, the MSI and MSI-X
 * hardware, and vfio-pci's side of them (drivers/vfio/pci/vfio_pci_intrs.c
 * of the newest kernels): the per-index, per-action SET_IRQS table, the
 * mutual exclusion of INTx, MSI and MSI-X, automasked INTx with its
 * persistent handler and the unmask eventfd, loopback triggers, dynamic
 * MSI-X (as on x86 with interrupt remapping; "msix_dyn=off" turns it off),
 * and the ERR and REQ triggers.
 *
 * An interrupt is an 8-byte write of 1 to the client's eventfd. The host
 * kernel's part is modelled where the client can see it: enabling MSI or
 * MSI-X through SET_IRQS sets the enable bit of the hardware capability
 * (MSI-X's control word is visible to the client), vectors without a
 * trigger are masked in hardware, and a vector raised while masked
 * becomes pending and is delivered when a trigger is attached.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/pci_regs.h>

#include "emu-pci-priv.h"
#include "vfc-fault.h"
#include "vfc-macro.h"
#include "vfc-trace.h"

/**
 * vfc_emu_pci_signal() - raise an interrupt on eventfd @fd (-1: none).
 *
 * The fd is shared with the client, so it cannot be made non-blocking;
 * a saturated counter would block the write. Check for room first, as
 * the kernel's eventfd_signal() saturates instead of blocking.
 */
void vfc_emu_pci_signal(int fd)
{
	vfc_eventfd_signal(fd);
}

/* An interrupt the device raises: traced, then signalled. */
static void irq_send(struct vfc_emu_pci *pci, unsigned int index, unsigned int vector, int fd)
{
	if (vfc_trace_on())
		vfc_trace_event("irq", "model=%s index=%s vector=%u eventfd=%d",
				pci->model->name, vfc_trace_irq_name(index) ?: "?", vector, fd);
	vfc_emu_pci_signal(fd);
}

/*
 * A device interrupt on its way to the client's eventfd (lock held): "irq"
 * fault rules may drop or delay it (their own trace event says so);
 * otherwise it is traced and signalled. Loopback triggers and ERR/REQ do not
 * come here: they are no interrupt of the device's.
 */
static void deliver(struct vfc_emu_pci *pci, unsigned int index, unsigned int vector, int fd)
{
	if (fd >= 0 && vfc_fault_any() &&
	    vfc_fault_irq(pci->core_dev ? vfc_device_name(pci->core_dev) : NULL, index, vector, fd))
		return;
	irq_send(pci, index, vector, fd);
}

/*
 * A negative fd de-assigns, as in the kernel; but not the core's markers
 * of client fds that failed to resolve (VFC_IRQ_FD_ERROR): those fail
 * where the kernel looks the fd up.
 */
static bool deassign(int32_t fd)
{
	return fd < 0 && !vfc_irq_fd_error(fd);
}

/*
 * eventfd_ctx_fdget(): a new O_CLOEXEC duplicate of @fd, -EBADF when it is
 * not open, -EINVAL when it is not an eventfd.
 */
static int eventfd_get(int fd)
{
	char path[64], target[64];
	ssize_t n;
	int dup;

	if (vfc_irq_fd_error(fd))
		return vfc_irq_fd_error(fd);	/* the transport could not get it */
	if (fd < 0)
		return -EBADF;
	dup = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (dup < 0)
		return errno == EBADF ? -EBADF : -errno;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", dup);
	n = readlink(path, target, sizeof(target) - 1);
	if (n >= 0) {
		target[n] = '\0';
		if (strcmp(target, "anon_inode:[eventfd]") != 0) {
			close(dup);
			return -EINVAL;
		}
	}
	return dup;
}

int vfc_emu_pci_eventfd_get(int fd)
{
	return eventfd_get(fd);
}

static void fd_put(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static unsigned int irq_count(struct vfc_emu_pci *pci, unsigned int index)
{
	switch (index) {
	case VFIO_PCI_INTX_IRQ_INDEX:
		return pci->vconfig[PCI_INTERRUPT_PIN] ? 1 : 0;
	case VFIO_PCI_MSI_IRQ_INDEX:
		if (!pci->msi_pos)
			return 0;
		return 1u << ((pci->cfg[pci->msi_pos + PCI_MSI_FLAGS] & PCI_MSI_FLAGS_QMASK) >> 1);
	case VFIO_PCI_MSIX_IRQ_INDEX:
		if (!pci->msix_pos)
			return 0;
		return (vfc_emu_pci_cfg_word(pci, pci->msix_pos + PCI_MSIX_FLAGS) &
			PCI_MSIX_FLAGS_QSIZE) + 1;
	case VFIO_PCI_REQ_IRQ_INDEX:
		return 1;
	default: /* ERR exists for PCIe devices only */
		return 0;
	}
}

/**
 * vfc_emu_pci_get_irq_info_locked() - VFIO_DEVICE_GET_IRQ_INFO.
 * @pci: the device (lock held).
 * @info: index in, flags and count out.
 *
 * Return: 0, or -EINVAL for ERR (conventional PCI) or an unknown index.
 */
int vfc_emu_pci_get_irq_info_locked(struct vfc_emu_pci *pci, struct vfio_irq_info *info)
{
	switch (info->index) {
	case VFIO_PCI_INTX_IRQ_INDEX:
	case VFIO_PCI_MSI_IRQ_INDEX:
	case VFIO_PCI_MSIX_IRQ_INDEX:
	case VFIO_PCI_REQ_IRQ_INDEX:
		break;
	default:
		return -EINVAL;
	}
	info->flags = VFIO_IRQ_INFO_EVENTFD;
	info->count = irq_count(pci, info->index);
	if (info->index == VFIO_PCI_INTX_IRQ_INDEX)
		info->flags |= VFIO_IRQ_INFO_MASKABLE | VFIO_IRQ_INFO_AUTOMASKED;
	else if (info->index != VFIO_PCI_MSIX_IRQ_INDEX || !pci->msix_dyn || !pci->msix_pos)
		/* Dynamic MSI-X needs an MSI-X capability (pci_msix_can_alloc_dyn). */
		info->flags |= VFIO_IRQ_INFO_NORESIZE;
	return 0;
}

/* INTx */

static bool is_intx(const struct vfc_emu_pci *pci)
{
	return pci->irq_type == VFIO_PCI_INTX_IRQ_INDEX;
}

static int intx_trigger(const struct vfc_emu_pci *pci)
{
	return is_intx(pci) && pci->ctx ? pci->ctx[0] : -1;
}

static void send_intx_eventfd(struct vfc_emu_pci *pci)
{
	if (is_intx(pci) && !pci->virq_disabled)
		deliver(pci, VFIO_PCI_INTX_IRQ_INDEX, 0, intx_trigger(pci));
}

/*
 * The host's INTx handler, registered for as long as INTx is enabled, with
 * or without an eventfd: level-triggered, it masks, then signals.
 */
static void intx_eval(struct vfc_emu_pci *pci)
{
	if (is_intx(pci) && pci->intx_line && !pci->intx_masked) {
		pci->intx_masked = true;
		send_intx_eventfd(pci);
	}
}

void vfc_emu_pci_set_irq(struct vfc_emu_pci *pci, bool level)
{
	uint16_t status = vfc_emu_pci_cfg_word(pci, PCI_STATUS);

	pci->intx_line = level;
	if (level)
		status |= PCI_STATUS_INTERRUPT;
	else
		status &= (uint16_t)~PCI_STATUS_INTERRUPT;
	vfc_emu_pci_cfg_set_word(pci, PCI_STATUS, status);
	intx_eval(pci);
}

/** vfc_emu_pci_intx_mask() - vfio_pci_intx_mask() (lock held). */
void vfc_emu_pci_intx_mask(struct vfc_emu_pci *pci)
{
	if (is_intx(pci))
		pci->intx_masked = true;
}

/**
 * vfc_emu_pci_intx_unmask() - vfio_pci_intx_unmask() (lock held): an
 * interrupt still asserted is signalled again and stays masked.
 */
void vfc_emu_pci_intx_unmask(struct vfc_emu_pci *pci)
{
	if (!is_intx(pci) || !pci->intx_masked || pci->virq_disabled)
		return;
	if (pci->intx_line) {
		send_intx_eventfd(pci);
		return;
	}
	pci->intx_masked = false;
}

/** vfc_emu_pci_intx_unmask_event() - the unmask eventfd fired (lock held). */
void vfc_emu_pci_intx_unmask_event(struct vfc_emu_pci *pci, uint64_t gen)
{
	if (pci->unmask_fd >= 0 && gen == pci->unmask_gen)
		vfc_emu_pci_intx_unmask(pci);
}

static void unmask_fd_put(struct vfc_emu_pci *pci)
{
	if (pci->unmask_fd < 0)
		return;
	vfc_emu_pci_thread_unwatch(pci, pci->unmask_fd);
	fd_put(&pci->unmask_fd);
	pci->unmask_gen++;
}

/* @trigger: our eventfd, or -1; owned by the device on success. */
static int intx_enable(struct vfc_emu_pci *pci, int trigger)
{
	if (pci->irq_type != EMU_IRQ_NONE)
		return -EINVAL;
	if (!pci->model->interrupt_pin)
		return -ENODEV;
	pci->ctx = malloc(sizeof(*pci->ctx));
	if (!pci->ctx)
		return -ENOMEM;
	pci->ctx[0] = trigger;
	pci->num_ctx = pci->ctx_size = 1;
	pci->intx_masked = pci->virq_disabled;
	pci->irq_type = VFIO_PCI_INTX_IRQ_INDEX;
	intx_eval(pci); /* request_irq() on an asserted level fires at once */
	return 0;
}

static void intx_disable(struct vfc_emu_pci *pci)
{
	unmask_fd_put(pci);
	fd_put(&pci->ctx[0]);
	free(pci->ctx);
	pci->ctx = NULL;
	pci->num_ctx = pci->ctx_size = 0;
	pci->irq_type = EMU_IRQ_NONE;
}

static int intx_set_mask(struct vfc_emu_pci *pci, unsigned int start, unsigned int count,
			 uint32_t flags, const void *data)
{
	if (!is_intx(pci) || start != 0 || count != 1)
		return -EINVAL;
	if (flags & VFIO_IRQ_SET_DATA_NONE)
		vfc_emu_pci_intx_mask(pci);
	else if (flags & VFIO_IRQ_SET_DATA_BOOL) {
		if (*(const uint8_t *)data)
			vfc_emu_pci_intx_mask(pci);
	} else if (flags & VFIO_IRQ_SET_DATA_EVENTFD)
		return -ENOTTY; /* vfio-pci has no mask eventfd */
	return 0;
}

static int intx_set_unmask(struct vfc_emu_pci *pci, unsigned int start, unsigned int count,
			   uint32_t flags, const void *data)
{
	int32_t fd;
	int r;

	if (!is_intx(pci) || start != 0 || count != 1)
		return -EINVAL;
	if (flags & VFIO_IRQ_SET_DATA_NONE) {
		vfc_emu_pci_intx_unmask(pci);
		return 0;
	}
	if (flags & VFIO_IRQ_SET_DATA_BOOL) {
		if (*(const uint8_t *)data)
			vfc_emu_pci_intx_unmask(pci);
		return 0;
	}
	memcpy(&fd, data, sizeof(fd));
	if (deassign(fd)) {
		unmask_fd_put(pci);
		return 0;
	}
	r = eventfd_get(fd);
	if (r < 0)
		return r;
	if (pci->unmask_fd >= 0) {
		close(r);
		return -EBUSY;
	}
	pci->unmask_gen++;
	/* A signal already pending shows up as the first edge. */
	fd = vfc_emu_pci_thread_watch(pci, r, pci->unmask_gen);
	if (fd < 0) {
		close(r);
		return fd;
	}
	pci->unmask_fd = r;
	return 0;
}

static int intx_set_trigger(struct vfc_emu_pci *pci, unsigned int start, unsigned int count,
			    uint32_t flags, const void *data)
{
	int32_t fd;
	int r;

	if (is_intx(pci) && !count && (flags & VFIO_IRQ_SET_DATA_NONE)) {
		intx_disable(pci);
		return 0;
	}
	if (!(is_intx(pci) || pci->irq_type == EMU_IRQ_NONE) || start != 0 || count != 1)
		return -EINVAL;
	if (flags & VFIO_IRQ_SET_DATA_EVENTFD) {
		int trigger = -1;

		/* The new eventfd is checked before the old one goes. */
		memcpy(&fd, data, sizeof(fd));
		if (!deassign(fd)) {
			trigger = eventfd_get(fd);
			if (trigger < 0)
				return trigger;
		}
		if (is_intx(pci)) {
			fd_put(&pci->ctx[0]);
			pci->ctx[0] = trigger;
			return 0;
		}
		r = intx_enable(pci, trigger);
		if (r < 0 && trigger >= 0)
			close(trigger);
		return r;
	}
	if (!is_intx(pci))
		return -EINVAL;
	if (flags & VFIO_IRQ_SET_DATA_NONE)
		send_intx_eventfd(pci);
	else if (*(const uint8_t *)data)
		send_intx_eventfd(pci);
	return 0;
}

/* MSI and MSI-X hardware */

static unsigned int msi_mask_reg(const struct vfc_emu_pci *pci)
{
	return pci->msi_pos + (pci->model->msi_64bit ? PCI_MSI_MASK_64 : PCI_MSI_MASK_32);
}

static uint32_t cfg32(const struct vfc_emu_pci *pci, unsigned int off)
{
	return (uint32_t)pci->cfg[off] | (uint32_t)pci->cfg[off + 1] << 8 |
	       (uint32_t)pci->cfg[off + 2] << 16 | (uint32_t)pci->cfg[off + 3] << 24;
}

static void cfg_set32(struct vfc_emu_pci *pci, unsigned int off, uint32_t val)
{
	for (unsigned int i = 0; i < 4; i++)
		pci->cfg[off + i] = (uint8_t)(val >> (8 * i));
}

static uint32_t msi_valid_bits(const struct vfc_emu_pci *pci)
{
	unsigned int n = pci->model->msi_vectors;

	return n >= 32 ? 0xffffffffu : (1u << n) - 1;
}

static bool vector_has_trigger(const struct vfc_emu_pci *pci, unsigned int index, unsigned int v)
{
	return pci->irq_type == index && v < pci->ctx_size && pci->ctx[v] >= 0;
}

/* The host masks the vectors it has no handler for. */
static void msi_host_masks(struct vfc_emu_pci *pci)
{
	uint32_t mask = msi_valid_bits(pci);

	if (!pci->model->msi_maskbit)
		return;
	for (unsigned int v = 0; v < pci->model->msi_vectors; v++)
		if (vector_has_trigger(pci, VFIO_PCI_MSI_IRQ_INDEX, v))
			mask &= ~(1u << v);
	cfg_set32(pci, msi_mask_reg(pci), mask);
}

static void msi_deliver(struct vfc_emu_pci *pci, unsigned int v)
{
	if (vector_has_trigger(pci, VFIO_PCI_MSI_IRQ_INDEX, v))
		deliver(pci, VFIO_PCI_MSI_IRQ_INDEX, v, pci->ctx[v]);
}

bool vfc_emu_pci_msi_enabled(struct vfc_emu_pci *pci)
{
	return pci->msi_pos && (pci->cfg[pci->msi_pos + PCI_MSI_FLAGS] & PCI_MSI_FLAGS_ENABLE);
}

unsigned int vfc_emu_pci_msi_vectors(struct vfc_emu_pci *pci)
{
	if (!vfc_emu_pci_msi_enabled(pci))
		return 0;
	return 1u << ((pci->cfg[pci->msi_pos + PCI_MSI_FLAGS] & PCI_MSI_FLAGS_QSIZE) >> 4);
}

void vfc_emu_pci_msi_notify(struct vfc_emu_pci *pci, unsigned int vector)
{
	if (vector >= vfc_emu_pci_msi_vectors(pci))
		return;
	if (pci->model->msi_maskbit && (cfg32(pci, msi_mask_reg(pci)) & (1u << vector))) {
		unsigned int pend = msi_mask_reg(pci) + 4;

		cfg_set32(pci, pend, cfg32(pci, pend) | (1u << vector));
		return;
	}
	msi_deliver(pci, vector);
}

/** vfc_emu_pci_msi_hw_mask_changed() - send what the new mask releases. */
void vfc_emu_pci_msi_hw_mask_changed(struct vfc_emu_pci *pci)
{
	unsigned int pend = msi_mask_reg(pci) + 4;
	uint32_t release = cfg32(pci, pend) & ~cfg32(pci, msi_mask_reg(pci));

	if (!release || !vfc_emu_pci_msi_enabled(pci))
		return;
	cfg_set32(pci, pend, cfg32(pci, pend) & ~release);
	for (unsigned int v = 0; v < 32; v++)
		if (release & (1u << v))
			msi_deliver(pci, v);
}

/** vfc_emu_pci_msi_hw_flags_write() - vfio-pci writes MSI flags to hardware. */
void vfc_emu_pci_msi_hw_flags_write(struct vfc_emu_pci *pci, uint16_t flags)
{
	unsigned int p = pci->msi_pos + PCI_MSI_FLAGS;
	uint8_t w = pci->wmask[p];

	pci->cfg[p] = (uint8_t)((pci->cfg[p] & ~w) | (flags & w));
	vfc_emu_pci_msi_hw_mask_changed(pci);
}

static void msix_set_flags(struct vfc_emu_pci *pci, bool enable)
{
	unsigned int p = pci->msix_pos + PCI_MSIX_FLAGS;
	uint16_t flags = vfc_emu_pci_cfg_word(pci, p) & (uint16_t)~(PCI_MSIX_FLAGS_ENABLE |
								   PCI_MSIX_FLAGS_MASKALL);

	vfc_emu_pci_cfg_set_word(pci, p, enable ? flags | PCI_MSIX_FLAGS_ENABLE : flags);
}

bool vfc_emu_pci_msix_enabled(struct vfc_emu_pci *pci)
{
	return pci->msix_pos && (vfc_emu_pci_cfg_word(pci, pci->msix_pos + PCI_MSIX_FLAGS) &
				 PCI_MSIX_FLAGS_ENABLE);
}

void vfc_emu_pci_msix_notify(struct vfc_emu_pci *pci, unsigned int vector)
{
	if (!vfc_emu_pci_msix_enabled(pci) || vector >= pci->model->msix_vectors)
		return;
	if (vector_has_trigger(pci, VFIO_PCI_MSIX_IRQ_INDEX, vector))
		deliver(pci, VFIO_PCI_MSIX_IRQ_INDEX, vector, pci->ctx[vector]);
	else
		pci->msix_pba[vector / 64] |= 1ull << (vector % 64);
}

uint64_t vfc_emu_pci_msix_pba_read(struct vfc_emu_pci *pci, uint64_t off, unsigned int size)
{
	uint64_t val = 0;

	for (unsigned int i = 0; i < size; i++) {
		uint64_t byte = off + i;
		uint64_t word = pci->msix_pba[byte / 8];

		val |= ((word >> (8 * (byte % 8))) & 0xff) << (8 * i);
	}
	return val;
}

/* vfio-pci's MSI and MSI-X triggers */

/*
 * Vectors below the count enabled first have a host interrupt; with
 * dynamic MSI-X any table entry gets one on demand, and keeps it until
 * MSI-X is disabled. @v is below ctx_size (the capability's count).
 */
static int msi_set_vector_signal(struct vfc_emu_pci *pci, unsigned int v, int fd, bool msix)
{
	bool had = pci->ctx[v] >= 0;
	int r;

	if (had) {
		fd_put(&pci->ctx[v]);
		if (!msix)
			msi_host_masks(pci);
	}
	if (deassign(fd))
		return 0;
	if (!had && v >= pci->num_ctx && !(msix && pci->msix_dyn))
		return -EINVAL; /* pci_irq_vector(): no such vector allocated */
	r = eventfd_get(fd);
	if (r < 0)
		return r;
	pci->ctx[v] = r;
	if (!msix) {
		msi_host_masks(pci);
		vfc_emu_pci_msi_hw_mask_changed(pci);
	} else if (pci->msix_pba[v / 64] & (1ull << (v % 64))) {
		pci->msix_pba[v / 64] &= ~(1ull << (v % 64));
		vfc_emu_pci_signal(r);
	}
	return 0;
}

static int msi_set_block(struct vfc_emu_pci *pci, unsigned int start, unsigned int count,
			 const int32_t *fds, bool msix)
{
	unsigned int i, j;
	int r = 0;

	for (i = 0, j = start; i < count && !r; i++, j++) {
		int32_t fd = -1;

		if (fds)
			memcpy(&fd, &fds[i], sizeof(fd));
		r = msi_set_vector_signal(pci, j, fd, msix);
	}
	if (r) {
		/* undo the vectors this call reached, as the kernel does */
		for (i = start; i < j; i++)
			msi_set_vector_signal(pci, i, -1, msix);
	}
	return r;
}

static int msi_enable(struct vfc_emu_pci *pci, unsigned int nvec, bool msix)
{
	unsigned int size = irq_count(pci, msix ? VFIO_PCI_MSIX_IRQ_INDEX : VFIO_PCI_MSI_IRQ_INDEX);

	if (pci->irq_type != EMU_IRQ_NONE)
		return -EINVAL;
	if (nvec == 0)
		return -ERANGE; /* pci_alloc_irq_vectors(dev, 1, 0, ...) */
	pci->ctx = malloc(size * sizeof(*pci->ctx));
	if (!pci->ctx)
		return -ENOMEM;
	for (unsigned int v = 0; v < size; v++)
		pci->ctx[v] = -1;
	pci->ctx_size = size;
	pci->num_ctx = nvec;
	if (msix) {
		pci->irq_type = VFIO_PCI_MSIX_IRQ_INDEX;
		msix_set_flags(pci, true);
	} else {
		unsigned int p = pci->msi_pos + PCI_MSI_FLAGS;
		unsigned int qmax = 0;

		while ((1u << qmax) < nvec)
			qmax++;
		pci->irq_type = VFIO_PCI_MSI_IRQ_INDEX;
		pci->msi_qmax = (uint8_t)qmax;
		pci->cfg[p] = (uint8_t)((pci->cfg[p] & ~PCI_MSI_FLAGS_QSIZE) | qmax << 4 |
					PCI_MSI_FLAGS_ENABLE);
		msi_host_masks(pci);
	}
	return 0;
}

static void msi_disable(struct vfc_emu_pci *pci, bool msix)
{
	for (unsigned int v = 0; v < pci->ctx_size; v++)
		fd_put(&pci->ctx[v]);
	free(pci->ctx);
	pci->ctx = NULL;
	pci->num_ctx = pci->ctx_size = 0;
	pci->irq_type = EMU_IRQ_NONE;
	if (msix) {
		msix_set_flags(pci, false);
		memset(pci->msix_pba, 0, pci->msix_pba_size);
	} else {
		unsigned int p = pci->msi_pos + PCI_MSI_FLAGS;

		pci->cfg[p] &= (uint8_t)~PCI_MSI_FLAGS_ENABLE;
		if (pci->model->msi_maskbit) {
			/* pci_msi_shutdown() leaves every vector unmasked */
			cfg_set32(pci, msi_mask_reg(pci), 0);
			cfg_set32(pci, msi_mask_reg(pci) + 4, 0);
		}
	}
}

static int msi_set_trigger(struct vfc_emu_pci *pci, unsigned int index, unsigned int start,
			   unsigned int count, uint32_t flags, const void *data)
{
	bool msix = index == VFIO_PCI_MSIX_IRQ_INDEX;
	int r;

	if (pci->irq_type == index && !count && (flags & VFIO_IRQ_SET_DATA_NONE)) {
		msi_disable(pci, msix);
		return 0;
	}
	if (!(pci->irq_type == index || pci->irq_type == EMU_IRQ_NONE))
		return -EINVAL;
	if (flags & VFIO_IRQ_SET_DATA_EVENTFD) {
		if (pci->irq_type == index)
			return msi_set_block(pci, start, count, data, msix);
		r = msi_enable(pci, start + count, msix);
		if (r < 0)
			return r;
		r = msi_set_block(pci, start, count, data, msix);
		if (r < 0)
			msi_disable(pci, msix);
		return r;
	}
	if (pci->irq_type != index)
		return -EINVAL;
	for (unsigned int i = start; i < start + count; i++) { /* no eventfd: skipped */
		if (pci->ctx[i] < 0)
			continue;
		if ((flags & VFIO_IRQ_SET_DATA_NONE) || ((const uint8_t *)data)[i - start])
			irq_send(pci, index, i, pci->ctx[i]);
	}
	return 0;
}

/* vfio_pci_set_ctx_trigger_single(), for REQ. */
static int set_trigger_single(int *trigger, unsigned int count, uint32_t flags, const void *data)
{
	if (flags & VFIO_IRQ_SET_DATA_NONE) {
		if (*trigger >= 0) {
			if (count)
				vfc_emu_pci_signal(*trigger);
			else
				fd_put(trigger);
			return 0;
		}
	} else if (flags & VFIO_IRQ_SET_DATA_BOOL) {
		if (!count)
			return -EINVAL;
		if (*(const uint8_t *)data)
			vfc_emu_pci_signal(*trigger);
		return 0;
	} else if (flags & VFIO_IRQ_SET_DATA_EVENTFD) {
		int32_t fd;

		if (!count)
			return -EINVAL;
		memcpy(&fd, data, sizeof(fd));
		if (fd == -1) {
			fd_put(trigger);
		} else if (fd >= 0 || vfc_irq_fd_error(fd)) {
			int r = eventfd_get(fd);

			if (r < 0)
				return r;
			fd_put(trigger);
			*trigger = r;
		}
		return 0;
	}
	return -EINVAL;
}

/*
 * vfio_set_irqs_validate_and_prepare(), minus argsz: the core has done it,
 * but a device must not depend on that to stay in bounds.
 */
static int validate(struct vfc_emu_pci *pci, uint32_t flags, unsigned int index,
		    unsigned int start, unsigned int count, const void *data)
{
	unsigned int max;

	if (index >= VFIO_PCI_NUM_IRQS || count >= UINT32_MAX - start ||
	    (flags & ~(VFIO_IRQ_SET_DATA_TYPE_MASK | VFIO_IRQ_SET_ACTION_TYPE_MASK)))
		return -EINVAL;
	max = irq_count(pci, index);
	if (start >= max || start + count > max)
		return -EINVAL;
	switch (flags & VFIO_IRQ_SET_DATA_TYPE_MASK) {
	case VFIO_IRQ_SET_DATA_NONE:
		return 0;
	case VFIO_IRQ_SET_DATA_BOOL:
	case VFIO_IRQ_SET_DATA_EVENTFD:
		return count && !data ? -EINVAL : 0;
	default:
		return -EINVAL;
	}
}

/**
 * vfc_emu_pci_set_irqs_locked() - vfio_pci_set_irqs_ioctl() (lock held).
 * @pci: the device.
 * @flags: one DATA_* type and one ACTION_* action.
 * @index: VFIO_PCI_*_IRQ_INDEX.
 * @start: first vector.
 * @count: vectors.
 * @data: NULL, @count bools, or @count local fds (-1 to de-assign); the
 *        device dups those it keeps (O_CLOEXEC) and never closes them.
 *
 * Return: 0; -ENOTTY for an action the index lacks; -EINVAL for a bad
 * range, a state that forbids it (another index enabled, ...), or an fd
 * that is not an eventfd; -EBADF for a closed fd; -EBUSY for a second
 * unmask eventfd; -ENODEV for INTx without a pin; -ERANGE for enabling
 * MSI/MSI-X with zero vectors; -ENOMEM.
 */
int vfc_emu_pci_set_irqs_locked(struct vfc_emu_pci *pci, uint32_t flags, unsigned int index,
				unsigned int start, unsigned int count, const void *data)
{
	uint32_t action = flags & VFIO_IRQ_SET_ACTION_TYPE_MASK;
	int r;

	r = validate(pci, flags, index, start, count, data);
	if (r < 0)
		return r;

	switch (index) {
	case VFIO_PCI_INTX_IRQ_INDEX:
		switch (action) {
		case VFIO_IRQ_SET_ACTION_MASK:
			return intx_set_mask(pci, start, count, flags, data);
		case VFIO_IRQ_SET_ACTION_UNMASK:
			return intx_set_unmask(pci, start, count, flags, data);
		case VFIO_IRQ_SET_ACTION_TRIGGER:
			return intx_set_trigger(pci, start, count, flags, data);
		}
		break;
	case VFIO_PCI_MSI_IRQ_INDEX:
	case VFIO_PCI_MSIX_IRQ_INDEX:
		if (action == VFIO_IRQ_SET_ACTION_TRIGGER)
			return msi_set_trigger(pci, index, start, count, flags, data);
		break;
	case VFIO_PCI_REQ_IRQ_INDEX:
		if (action == VFIO_IRQ_SET_ACTION_TRIGGER) {
			if (start != 0 || count > 1)
				return -EINVAL;
			return set_trigger_single(&pci->req_trigger, count, flags, data);
		}
		break;
	}
	return -ENOTTY;
}

/**
 * vfc_emu_pci_irq_disable() - interrupts off at close, as
 * vfio_pci_core_disable() and vfio_pci_core_close_device() do (lock held).
 */
void vfc_emu_pci_irq_disable(struct vfc_emu_pci *pci)
{
	if (is_intx(pci))
		intx_disable(pci);
	else if (pci->irq_type == VFIO_PCI_MSI_IRQ_INDEX)
		msi_disable(pci, false);
	else if (pci->irq_type == VFIO_PCI_MSIX_IRQ_INDEX)
		msi_disable(pci, true);
	fd_put(&pci->err_trigger);
	fd_put(&pci->req_trigger);
	pci->intx_masked = false;
}

/**
 * vfc_emu_pci_irq_hw_reset() - interrupt hardware after a function reset
 * (lock held): MSI and MSI-X are off, except what the host restores
 * because the client has them enabled (pci_restore_msi_state()).
 */
void vfc_emu_pci_irq_hw_reset(struct vfc_emu_pci *pci)
{
	if (pci->msix_pba)
		memset(pci->msix_pba, 0, pci->msix_pba_size);
	if (pci->irq_type == VFIO_PCI_MSIX_IRQ_INDEX)
		msix_set_flags(pci, true);
	if (pci->irq_type == VFIO_PCI_MSI_IRQ_INDEX) {
		unsigned int p = pci->msi_pos + PCI_MSI_FLAGS;

		pci->cfg[p] = (uint8_t)((pci->cfg[p] & ~PCI_MSI_FLAGS_QSIZE) |
					pci->msi_qmax << 4 | PCI_MSI_FLAGS_ENABLE);
		msi_host_masks(pci);
	}
	vfc_emu_pci_set_irq(pci, pci->intx_line);
}

int vfc_emu_pci_irq_init(struct vfc_emu_pci *pci)
{
	pci->irq_type = EMU_IRQ_NONE;
	pci->unmask_fd = -1;
	pci->err_trigger = -1;
	pci->req_trigger = -1;
	if (pci->model->msix_vectors) {
		pci->msix_pba_size = (pci->model->msix_vectors + 63) / 64 * 8;
		pci->msix_pba = calloc(1, pci->msix_pba_size);
		if (!pci->msix_pba)
			return -ENOMEM;
	}
	return 0;
}

void vfc_emu_pci_irq_free(struct vfc_emu_pci *pci)
{
	vfc_emu_pci_irq_disable(pci);
	free(pci->msix_pba);
	pci->msix_pba = NULL;
}
