// SPDX-License-Identifier: MIT
/*
 * Runtime low power for emulated devices: VFIO_DEVICE_FEATURE
 * LOW_POWER_ENTRY, LOW_POWER_ENTRY_WITH_WAKEUP and LOW_POWER_EXIT, as
 * vfio_pci_core.c has them (vfio_pci_core_pm_entry/_exit, the runtime
 * suspend and resume callbacks).
 *
 * The kernel model: entry drops vfio-pci's runtime PM reference, and the
 * device suspends once no ioctl or region access holds another. Every
 * device ioctl and pread/pwrite takes one (the core calls pm_use around
 * them), so the device resumes for it: with a wakeup eventfd, the resume
 * signals it and leaves low power for good; without, the device suspends
 * again afterwards, until LOW_POWER_EXIT. Suspending masks INTx if the
 * client has it enabled and unmasked, and resuming unmasks it (an
 * interrupt asserted meanwhile is then signalled).
 *
 * Our models have no PM capability, like QEMU's edu, so the power state
 * itself stays D0, as pci_set_power_state() leaves such a device: its
 * registers, DMA and MSI go on. Close leaves low power without signalling.
 */
#include <errno.h>
#include <unistd.h>

#include "emu-pci-priv.h"
#include "vfc-log.h"

/* vfio_pci_core_runtime_suspend() (lock held). */
static void pm_suspend(struct vfc_emu_pci *pci)
{
	pci->pm_suspended = true;
	pci->pm_intx_masked = pci->irq_type == VFIO_PCI_INTX_IRQ_INDEX && !pci->intx_masked;
	if (pci->pm_intx_masked)
		vfc_emu_pci_intx_mask(pci);
}

/* __vfio_pci_runtime_pm_exit() (lock held). */
static void pm_exit_locked(struct vfc_emu_pci *pci)
{
	pci->pm_engaged = false;
	if (pci->pm_wake_fd >= 0)
		close(pci->pm_wake_fd);
	pci->pm_wake_fd = -1;
}

/* vfio_pci_core_runtime_resume() (lock held). */
static void pm_resume(struct vfc_emu_pci *pci)
{
	pci->pm_suspended = false;
	if (pci->pm_wake_fd >= 0) {
		vfc_emu_pci_signal(pci->pm_wake_fd);
		pm_exit_locked(pci);
		vfc_debug("emu-pci %s: woken from low power", pci->model->name);
	}
	if (pci->pm_intx_masked) {
		pci->pm_intx_masked = false;
		vfc_emu_pci_intx_unmask(pci);
	}
}

/** vfc_emu_pci_pm_use() - struct vfc_device_ops.pm_use. */
void vfc_emu_pci_pm_use(void *priv, bool get)
{
	struct vfc_emu_pci *pci = priv;

	pthread_mutex_lock(&pci->lock);
	if (get) {
		pci->pm_users++;
		if (pci->pm_suspended)
			pm_resume(pci);
	} else if (pci->pm_users) {
		pci->pm_users--;
		if (!pci->pm_users && pci->pm_engaged && !pci->pm_suspended && pci->open)
			pm_suspend(pci);
	}
	pthread_mutex_unlock(&pci->lock);
}

/**
 * vfc_emu_pci_pm_entry() - struct vfc_device_ops.pm_entry.
 * @priv: the device.
 * @wake_fd: a local eventfd (duplicated here), or -1.
 * Return: 0; -EINVAL when already in low power; -EMFILE and the like from
 * the duplicate.
 */
int vfc_emu_pci_pm_entry(void *priv, int wake_fd)
{
	struct vfc_emu_pci *pci = priv;
	int fd = -1;

	pthread_mutex_lock(&pci->lock);
	if (pci->pm_engaged) {
		pthread_mutex_unlock(&pci->lock);
		return -EINVAL;
	}
	if (wake_fd >= 0) {
		fd = vfc_emu_pci_eventfd_get(wake_fd);
		if (fd < 0) {
			pthread_mutex_unlock(&pci->lock);
			return fd;
		}
	}
	pci->pm_engaged = true;
	pci->pm_wake_fd = fd;
	/* With no ioctl under way (a direct call), suspend now. */
	if (!pci->pm_users && pci->open)
		pm_suspend(pci);
	pthread_mutex_unlock(&pci->lock);
	vfc_debug("emu-pci %s: low power entered%s", pci->model->name,
		  fd >= 0 ? ", with a wakeup eventfd" : "");
	return 0;
}

/**
 * vfc_emu_pci_pm_exit() - struct vfc_device_ops.pm_exit. After a wakeup
 * resume there is nothing left to do: 0 all the same, as the kernel.
 * Return: 0.
 */
int vfc_emu_pci_pm_exit(void *priv)
{
	struct vfc_emu_pci *pci = priv;

	pthread_mutex_lock(&pci->lock);
	if (pci->pm_suspended)
		pm_resume(pci);
	pm_exit_locked(pci);
	pthread_mutex_unlock(&pci->lock);
	return 0;
}

void vfc_emu_pci_pm_close(struct vfc_emu_pci *pci)
{
	/* vfio_pci_runtime_pm_exit() first, so the resume signals nothing. */
	pm_exit_locked(pci);
	if (pci->pm_suspended)
		pm_resume(pci);
}
