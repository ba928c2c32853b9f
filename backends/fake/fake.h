/* SPDX-License-Identifier: MIT */
/*
 * A fake backend for tests and the in-process demo: an IOMMU driver that
 * answers TYPE1/TYPE1v2 and records what the core asks of it, and a
 * vfio-pci-shaped device with plain memory behind BAR0 and config space,
 * counters on every op, and knobs to make ops fail. It proves the core's
 * behaviour, not a device's: the emulated backend has the real models.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "vfc-backend.h"

/* Counters and knobs of the fake IOMMU driver, shared by all containers. */
struct vfc_fake_iommu {
	unsigned int opened, released, attached, detached;
	unsigned int refuse_group;	/* attach_group fails for this group id (0: none) */
	uint8_t memory[1 << 16];	/* IOVA 0..64K maps here, read-write */
	bool memory_readonly;
};

extern const struct vfc_iommu_ops vfc_fake_iommu_ops;

/* The fake device. BAR0 is 4 KiB of memory with a CAP_TYPE capability. */
struct vfc_fake_device {
	struct vfc_device *dev;		/* set while open */
	unsigned int opens, closes, resets;
	int fail_open;			/* open_device returns this when < 0 */
	bool no_reset;
	uint8_t config[256];
	uint8_t bar0[4096];
	int intx_fd, msi_fds[4], unmask_fd;
	bool intx_masked;
	unsigned int triggers;		/* loopback triggers delivered */
	/* the last SET_IRQS the device saw */
	uint32_t last_flags;
	unsigned int last_index, last_start, last_count;
};

extern const struct vfc_device_ops vfc_fake_device_ops;

/** vfc_fake_device_init() - power-on state; @vendor/@device go to config. */
void vfc_fake_device_init(struct vfc_fake_device *fd, uint16_t vendor, uint16_t device);

/** vfc_fake_device_fini() - close the eventfds the device still holds. */
void vfc_fake_device_fini(struct vfc_fake_device *fd);
