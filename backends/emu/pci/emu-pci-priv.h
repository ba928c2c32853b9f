/* SPDX-License-Identifier: MIT */
/*
 * The emulated-PCI device object, shared by the framework's files only:
 * emu-pci.c (object, options, device ops, BAR access), emu-pci-config.c
 * (config space: the emulated hardware and vfio-pci's virtualization of
 * it), emu-pci-irq.c (INTx, MSI, MSI-X and SET_IRQS), emu-pci-thread.c
 * (the device thread: timers, the INTx unmask eventfd and ioeventfds),
 * emu-pci-ioeventfd.c (VFIO_DEVICE_IOEVENTFD), emu-pci-power.c (the low
 * power features) and emu-pci-dmalog.c (DMA logging).
 *
 * Two layers, as on a real host: "hardware" (cfg, wmask, w1cmask: what the
 * device itself implements) and "vfio" (vconfig, virt, vwrite: what
 * vfio-pci shows the client and which bits it lets through). Every field
 * is protected by @lock unless noted.
 */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/vfio.h>

#include "emu-pci-model.h"

#define EMU_CFG_SIZE 256
#define EMU_HDR_SIZE 64
#define EMU_IRQ_NONE VFIO_PCI_NUM_IRQS

/* cap_map values besides a capability id (PCI_CAP_ID_*). */
#define EMU_MAP_BASIC 0x00
#define EMU_MAP_UNASSIGNED 0xff

struct emu_timer {
	bool armed;
	uint64_t deadline; /* CLOCK_MONOTONIC ns */
	void (*cb)(struct vfc_emu_pci *pci, void *opaque);
	void *opaque;
};

struct vfc_emu_pci {
	const struct vfc_emu_pci_model *model;
	void *priv;
	pthread_mutex_t lock;

	/* options, fixed after creation */
	bool reset_works;
	unsigned int io_max; /* largest BAR access chunk: 8, or 4 as Linux 6.1 */
	bool msix_dyn;	     /* dynamic MSI-X, as on x86 with IR since 6.5 */
	bool dma_log;	     /* DMA logging offered, as a variant driver's */
	struct vfc_device_ops ops; /* what vfc_emu_pci_device_ops() gives */

	/* layout, fixed after creation */
	uint64_t bar_addr[6]; /* "host firmware" addresses */
	int bar_memfd[6];     /* mappable BARs: their shared memory, else -1 */
	uint8_t *bar_mem[6];  /* ... mapped here */
	uint32_t *bar_shadow[6]; /* watched ones: what the poller saw last */

	/* the poller of watched BARs (emu-pci-poll.c), while open */
	pthread_t poll_thread;
	bool poll_running;
	int poll_stop;
	uint64_t poll_scans, poll_hits; /* under lock */
	bool poll_in_scan;		/* under lock: bar_write comes from the poller */
	uint8_t msi_pos, msi_len;
	uint8_t msix_pos;
	uint32_t msix_table_size; /* bytes: vectors * 16 */
	uint32_t msix_pba_size;	  /* bytes */

	/* hardware */
	uint8_t cfg[EMU_CFG_SIZE];
	uint8_t wmask[EMU_CFG_SIZE];
	uint8_t w1cmask[EMU_CFG_SIZE];
	uint8_t saved_hdr[EMU_HDR_SIZE]; /* pci_save_state() at open */
	bool intx_line;
	uint64_t *msix_pba; /* pending bits */

	/* vfio-pci */
	uint8_t vconfig[EMU_CFG_SIZE];
	uint8_t cap_map[EMU_CFG_SIZE];
	uint8_t virt[EMU_CFG_SIZE];
	uint8_t vwrite[EMU_CFG_SIZE];
	uint8_t msi_qmax;
	bool open;
	uint64_t epoch;
	struct vfc_device *core_dev; /* from open_device; core-owned */

	/* vfio-pci interrupt state */
	unsigned int irq_type; /* VFIO_PCI_*_IRQ_INDEX or EMU_IRQ_NONE */
	unsigned int num_ctx;  /* vectors allocated when the index was enabled */
	unsigned int ctx_size; /* the index's count */
	int *ctx;	       /* triggers (local fds or -1), ctx_size of them */
	bool intx_masked;
	bool virq_disabled;
	int unmask_fd;
	uint64_t unmask_gen;
	int err_trigger;
	int req_trigger;

	/* DMA target */
	vfc_emu_pci_dma_fn dma_fn;
	void *dma_opaque;

	/* VFIO_DEVICE_IOEVENTFD (emu-pci-ioeventfd.c) */
	struct emu_ioeventfd *ioeventfds; /* a list */
	unsigned int n_ioeventfds;
	uint64_t ioeventfd_next_id;

	/* runtime low power (emu-pci-power.c) */
	bool pm_engaged;	/* LOW_POWER_ENTRY*: pm_runtime_engaged */
	int pm_wake_fd;		/* LOW_POWER_ENTRY_WITH_WAKEUP's eventfd, or -1 */
	unsigned int pm_users;	/* ioctls and accesses under way */
	bool pm_suspended;	/* engaged and no user: runtime suspended */
	bool pm_intx_masked;	/* INTx masked by the suspend */

	/* DMA logging (emu-pci-dmalog.c); its own lock, taken alone */
	pthread_mutex_t log_lock;
	struct emu_dma_log *log; /* NULL when not logging */

	/* device thread */
	pthread_t thread;
	bool thread_started;
	bool stopping;
	int epfd, wakefd, timerfd;
	struct emu_timer timers[VFC_EMU_PCI_MAX_TIMERS];
	unsigned int ntimers;
};

/* emu-pci-config.c */
int vfc_emu_pci_config_init(struct vfc_emu_pci *pci);
void vfc_emu_pci_config_enable(struct vfc_emu_pci *pci);
void vfc_emu_pci_config_reset(struct vfc_emu_pci *pci);
void vfc_emu_pci_config_disable(struct vfc_emu_pci *pci);
ssize_t vfc_emu_pci_config_rw(struct vfc_emu_pci *pci, uint64_t off, void *buf, size_t len,
			      bool write);
/** vfc_emu_pci_memory_enabled() - the client's memory decode bit (lock held). */
bool vfc_emu_pci_memory_enabled(struct vfc_emu_pci *pci);
/** vfc_emu_pci_cfg_word() - a little-endian word of hardware config. */
uint16_t vfc_emu_pci_cfg_word(const struct vfc_emu_pci *pci, unsigned int off);
/** vfc_emu_pci_cfg_set_word() - set one, bypassing the write masks. */
void vfc_emu_pci_cfg_set_word(struct vfc_emu_pci *pci, unsigned int off, uint16_t val);

/* emu-pci-irq.c */
/** vfc_emu_pci_irq_init() - no interrupt enabled. Return: 0, -ENOMEM. */
int vfc_emu_pci_irq_init(struct vfc_emu_pci *pci);
/** vfc_emu_pci_irq_free() - close every eventfd, free the PBA. */
void vfc_emu_pci_irq_free(struct vfc_emu_pci *pci);
int vfc_emu_pci_get_irq_info_locked(struct vfc_emu_pci *pci, struct vfio_irq_info *info);
int vfc_emu_pci_set_irqs_locked(struct vfc_emu_pci *pci, uint32_t flags, unsigned int index,
				unsigned int start, unsigned int count, const void *data);
void vfc_emu_pci_irq_disable(struct vfc_emu_pci *pci);
void vfc_emu_pci_irq_hw_reset(struct vfc_emu_pci *pci);
void vfc_emu_pci_intx_mask(struct vfc_emu_pci *pci);
void vfc_emu_pci_intx_unmask(struct vfc_emu_pci *pci);
void vfc_emu_pci_intx_unmask_event(struct vfc_emu_pci *pci, uint64_t gen);
void vfc_emu_pci_msi_hw_flags_write(struct vfc_emu_pci *pci, uint16_t flags);
void vfc_emu_pci_msi_hw_mask_changed(struct vfc_emu_pci *pci);
/** vfc_emu_pci_msix_pba_read() - @size bytes of the PBA at @off. */
uint64_t vfc_emu_pci_msix_pba_read(struct vfc_emu_pci *pci, uint64_t off, unsigned int size);
void vfc_emu_pci_signal(int fd);

/* emu-pci-ioeventfd.c */
/* Most ioeventfds per device: the kernel's VFIO_PCI_IOEVENTFD_MAX. */
#define VFC_EMU_IOEVENTFD_MAX 1000
int vfc_emu_pci_ioeventfd(void *priv, uint64_t offset, uint64_t data, unsigned int count,
			  int fd);
/** vfc_emu_pci_ioeventfd_fired() - the thread saw ioeventfd @id fire (lock held). */
void vfc_emu_pci_ioeventfd_fired(struct vfc_emu_pci *pci, uint64_t id);
/** vfc_emu_pci_ioeventfds_free() - drop every ioeventfd (lock held): close. */
void vfc_emu_pci_ioeventfds_free(struct vfc_emu_pci *pci);
/** vfc_emu_pci_bar_rw_locked() - a trapped BAR access (lock held), as pread/pwrite. */
ssize_t vfc_emu_pci_bar_rw_locked(struct vfc_emu_pci *pci, unsigned int bar, uint64_t off,
				  uint8_t *buf, size_t len, bool write);
/** vfc_emu_pci_eventfd_get() - eventfd_ctx_fdget() on a core fd or marker. */
int vfc_emu_pci_eventfd_get(int fd);

/* emu-pci-power.c */
void vfc_emu_pci_pm_use(void *priv, bool get);
int vfc_emu_pci_pm_entry(void *priv, int wake_fd);
int vfc_emu_pci_pm_exit(void *priv);
/** vfc_emu_pci_pm_close() - leave low power without a signal (lock held). */
void vfc_emu_pci_pm_close(struct vfc_emu_pci *pci);

/* emu-pci-dmalog.c */
int vfc_emu_pci_log_start(void *priv, const struct vfio_device_feature_dma_logging_range *ranges,
			  unsigned int n, uint64_t *page_size);
int vfc_emu_pci_log_stop(void *priv);
int vfc_emu_pci_log_report(void *priv, uint64_t iova, uint64_t length,
			   int (*set)(void *opaque, uint64_t iova, uint64_t length), void *opaque);
/** vfc_emu_pci_log_write() - the device wrote [@iova, +@len): mark it (no lock held). */
void vfc_emu_pci_log_write(struct vfc_emu_pci *pci, uint64_t iova, size_t len);

/* emu-pci-thread.c */
int vfc_emu_pci_thread_start(struct vfc_emu_pci *pci);
void vfc_emu_pci_thread_stop(struct vfc_emu_pci *pci);
void vfc_emu_pci_timers_disarm(struct vfc_emu_pci *pci);
int vfc_emu_pci_thread_watch(struct vfc_emu_pci *pci, int fd, uint64_t gen);
/** vfc_emu_pci_thread_watch_ioeventfd() - watch ioeventfd @id's @fd (lock held). */
int vfc_emu_pci_thread_watch_ioeventfd(struct vfc_emu_pci *pci, int fd, uint64_t id);
void vfc_emu_pci_thread_unwatch(struct vfc_emu_pci *pci, int fd);

/* emu-pci-poll.c: the client's writes to watched, mapped BARs. */
#define VFC_EMU_POLL_SPIN_NS 2000000ull	/* rescan at once this long after a change */
#define VFC_EMU_POLL_MIN_SLEEP_NS 50000ull
#define VFC_EMU_POLL_MAX_SLEEP_NS 10000000ull	/* idle: one scan per 10 ms */
#define VFC_EMU_POLL_DEEP_AFTER_NS 1000000000ull	/* quiet this long: deep idle */
#define VFC_EMU_POLL_DEEP_SLEEP_NS 100000000ull	/* deep idle: one scan per 100 ms */
/** vfc_emu_pci_poll_start() - start the poller if a BAR is watched (lock not held). */
int vfc_emu_pci_poll_start(struct vfc_emu_pci *pci);
/** vfc_emu_pci_poll_stop() - stop and join it (lock not held). */
void vfc_emu_pci_poll_stop(struct vfc_emu_pci *pci);

