/* SPDX-License-Identifier: MIT */
/*
 * The emulated backend's software type1 IOMMU: VFIO_TYPE1_IOMMU and
 * VFIO_TYPE1v2_IOMMU as the kernel's drivers/vfio/vfio_iommu_type1.c
 * answers them, with device DMA carried out by process_vm_readv/writev on
 * the memory of the process that mapped it. Mapping pins and touches no
 * memory; it checks, from the caller's memory map, that a pin would have
 * succeeded. VFIO_UPDATE_VADDR and exact dirty page tracking are served.
 * See docs/abi.md for the deliberate differences from the kernel.
 */
#pragma once

#include <stdint.h>
#include <linux/vfio.h>

#include "vfc-backend.h"

/* The most IOVA ranges a configuration may report. */
#define VFC_EMU_IOMMU_MAX_RANGES 8

/**
 * struct vfc_emu_iommu_config - what a container opened by the driver
 * reports and enforces. The driver copies it at open time, as the kernel
 * reads its dma_entry_limit module parameter at open time.
 * @dma_entry_limit: most live mappings per container (the kernel's
 *                   dma_entry_limit module parameter, 65535 by default).
 * @max_owners: most distinct processes with live mappings per container;
 *              each costs one pidfd in the daemon. Processes whose last
 *              mapping went stay (idle) within this count, and are
 *              evicted to make room for a new one.
 * @pgsize_bitmap: VFIO_IOMMU_GET_INFO iova_pgsizes; its lowest bit is the
 *                 alignment MAP_DMA and UNMAP_DMA require. It must be at
 *                 least 4096.
 * @vaddr_wait_ms: how long a device DMA waits for a vaddr that UNMAP_DMA
 *                 with VADDR invalidated to be given again by MAP_DMA with
 *                 VADDR, before it fails with EFAULT (the kernel's type1
 *                 of 5.12 to 6.2 waited without a bound); 0 fails at once.
 * @nr_iova_ranges: entries used in @iova_ranges (at least 1).
 * @iova_ranges: sorted, disjoint, inclusive ranges a mapping must fit in,
 *               reported in the IOVA_RANGE capability.
 */
struct vfc_emu_iommu_config {
	unsigned int dma_entry_limit;
	unsigned int max_owners;
	uint64_t pgsize_bitmap;
	unsigned int vaddr_wait_ms;
	unsigned int nr_iova_ranges;
	struct vfio_iova_range iova_ranges[VFC_EMU_IOMMU_MAX_RANGES];
};

/*
 * The defaults mimic an Intel VT-d with a 48-bit address width under a
 * 6.8+ kernel: 4K|2M|1G pages, and the IOVA space minus the interrupt
 * (MSI) window 0xfee00000-0xfeefffff that intel-iommu reserves.
 */
#define VFC_EMU_IOMMU_DEFAULT_DMA_ENTRY_LIMIT 65535u
#define VFC_EMU_IOMMU_DEFAULT_MAX_OWNERS 64u
#define VFC_EMU_IOMMU_DEFAULT_PGSIZES 0x40201000ull
#define VFC_EMU_IOMMU_DEFAULT_VADDR_WAIT_MS 10000u

/**
 * vfc_emu_iommu_config_init() - fill @cfg with the defaults.
 * @cfg: the configuration.
 */
void vfc_emu_iommu_config_init(struct vfc_emu_iommu_config *cfg);

/**
 * vfc_emu_iommu_ops - the driver. Register it with
 * vfc_core_add_iommu_driver(core, &vfc_emu_iommu_ops, cfg), where @cfg is a
 * struct vfc_emu_iommu_config that outlives the core, or NULL for the
 * defaults. Every MAP_DMA records the caller's pid (struct vfc_caller) as
 * the owner of the mapping; dma_rw moves bytes to and from that process.
 */
extern const struct vfc_iommu_ops vfc_emu_iommu_ops;

/**
 * vfc_emu_iommu_reap() - drop the mappings of owners that have exited.
 * @data: a container's IOMMU data, as returned by the open op.
 *
 * Calling it is optional: a DMA never reaches an exited owner (it checks
 * the owners it touches and drops their mappings), GET_INFO reaps before
 * it counts DMA_AVAIL, and a MAP_DMA that a dead owner's mapping would
 * fail reaps and retries. A daemon may call it from its main loop to free
 * a dead owner's entries and pidfd sooner.
 * Return: the number of mappings removed.
 */
unsigned int vfc_emu_iommu_reap(void *data);

/**
 * vfc_emu_iommu_count() - live mappings, for tests and statistics.
 * @data: a container's IOMMU data.
 * Return: the number of mappings.
 */
unsigned int vfc_emu_iommu_count(void *data);
