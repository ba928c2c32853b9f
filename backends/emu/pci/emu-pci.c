// SPDX-License-Identifier: MIT
/*
 * The emulated PCI device object: creation from a model and options, the
 * vfio-pci device ops (drivers/vfio/pci/vfio_pci_core.c of the newest
 * kernels: device, region and irq info, open/close/reset) and BAR access
 * (vfio_pci_rdwr.c: naturally aligned chunks of up to 8 bytes, the MSI-X
 * table hidden, memory BARs refused while memory decode is off), DMA, and
 * the factory of built-in models.
 *
 * Regions are numbered as vfio-pci's and are never mmap-able (CUSE has no
 * mmap). There is no expansion ROM and no VGA.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/pci_regs.h>

#include "emu-pci-priv.h"
#include "vfc-fault.h"
#include "vfc-log.h"
#include "vfc-macro.h"
#include "vfc-trace.h"

static const struct vfc_emu_pci_model *const builtin_models[] = {
	&vfc_emu_edu_model,
	&vfc_emu_pcitest_model,
	&vfc_emu_nvme_model,
};

/* Distinct "firmware" BAR windows for devices made in one process. */
static unsigned int instance_counter;

void *vfc_emu_pci_priv(struct vfc_emu_pci *pci)
{
	return pci->priv;
}

void vfc_emu_pci_lock(struct vfc_emu_pci *pci)
{
	pthread_mutex_lock(&pci->lock);
}

void vfc_emu_pci_unlock(struct vfc_emu_pci *pci)
{
	pthread_mutex_unlock(&pci->lock);
}

uint64_t vfc_emu_pci_epoch(struct vfc_emu_pci *pci)
{
	return pci->epoch;
}

const char *vfc_emu_pci_model_name(const struct vfc_emu_pci *pci)
{
	return pci->model->name;
}

int vfc_emu_pci_parse_u64(const char *value, uint64_t *ret)
{
	unsigned long long v;
	char *end;

	if (!value || !*value || *value == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(value, &end, 0);
	if (errno || *end)
		return -EINVAL;
	*ret = v;
	return 0;
}

static int parse_bool(const char *value, bool *ret)
{
	static const char *const yes[] = { "on", "1", "yes", "true" };
	static const char *const no[] = { "off", "0", "no", "false" };

	for (size_t i = 0; i < VFC_ARRAY_SIZE(yes); i++) {
		if (!strcmp(value, yes[i])) {
			*ret = true;
			return 0;
		}
		if (!strcmp(value, no[i])) {
			*ret = false;
			return 0;
		}
	}
	return -EINVAL;
}

static int apply_options(struct vfc_emu_pci *pci, const char *options)
{
	_cleanup_free_ char *copy = NULL;
	char *save = NULL;

	if (!options || !*options)
		return 0;
	copy = strdup(options);
	if (!copy)
		return -ENOMEM;
	for (char *kv = strtok_r(copy, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *value = strchr(kv, '=');
		bool b = false;
		int r;

		if (!value)
			return -EINVAL;
		*value++ = '\0';
		if (!strcmp(kv, "reset")) {
			r = parse_bool(value, &b);
			if (r == 0)
				pci->reset_works = b;
		} else if (!strcmp(kv, "bar_rw64")) {
			r = parse_bool(value, &b);
			if (r == 0)
				pci->io_max = b ? 8 : 4;
		} else if (!strcmp(kv, "msix_dyn")) {
			r = parse_bool(value, &b);
			if (r == 0)
				pci->msix_dyn = b;
		} else if (!strcmp(kv, "dma_log")) {
			r = parse_bool(value, &b);
			if (r == 0)
				pci->dma_log = b;
		} else if (pci->model->set_option) {
			r = pci->model->set_option(pci, kv, value);
		} else {
			r = -EINVAL;
		}
		if (r < 0) {
			vfc_debug("emu-pci %s: bad option \"%s\"", pci->model->name, kv);
			return r;
		}
	}
	return 0;
}

static bool is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

static int model_check(const struct vfc_emu_pci_model *m)
{
	const struct vfc_emu_pci_bar *mb;

	if (!m->name || m->interrupt_pin > 4)
		return -EINVAL;
	for (unsigned int i = 0; i < 6; i++) {
		const struct vfc_emu_pci_bar *b = &m->bars[i];

		switch (b->type) {
		case VFC_EMU_BAR_NONE:
			break;
		case VFC_EMU_BAR_IO:
			if (!is_pow2(b->size) || b->size < 4 || b->size > 256 || b->prefetch)
				return -EINVAL;
			break;
		case VFC_EMU_BAR_MEM64:
			if (i == 5 || m->bars[i + 1].type != VFC_EMU_BAR_NONE)
				return -EINVAL;
			i++;
			/* fall through */
		case VFC_EMU_BAR_MEM32:
			if (!is_pow2(b->size) || b->size < 16 ||
			    (b->type == VFC_EMU_BAR_MEM32 && b->size > (1ull << 31)))
				return -EINVAL;
			break;
		default:
			return -EINVAL;
		}
		if (b->watched && !b->mappable)
			return -EINVAL;
		if (b->watch && !b->watched)
			return -EINVAL;
		for (const struct vfc_emu_pci_range *r = b->watch; r && r->len; r++)
			if ((r->off | r->len) % 4 || r->off >= b->size || r->len > b->size - r->off)
				return -EINVAL;
		/* Mappable: RAM of whole pages, with no MSI-X structure in it. */
		if (b->mappable && (b->type == VFC_EMU_BAR_IO || b->type == VFC_EMU_BAR_NONE ||
				    b->size < (uint64_t)sysconf(_SC_PAGESIZE) ||
				    (m->msix_vectors && m->msix_bar == i)))
			return -EINVAL;
	}
	if (m->msi_vectors && (!is_pow2(m->msi_vectors) || m->msi_vectors > 32))
		return -EINVAL;
	if (m->msix_vectors) {
		uint64_t table = m->msix_vectors * 16ull, pba = (m->msix_vectors + 63) / 64 * 8;

		if (m->msix_vectors > 2048 || m->msix_bar > 5)
			return -EINVAL;
		mb = &m->bars[m->msix_bar];
		if (mb->type != VFC_EMU_BAR_MEM32 && mb->type != VFC_EMU_BAR_MEM64)
			return -EINVAL;
		if ((m->msix_table_offset | m->msix_pba_offset) & 7)
			return -EINVAL;
		if (m->msix_table_offset + table > mb->size || m->msix_pba_offset + pba > mb->size)
			return -EINVAL;
		if (m->msix_table_offset < m->msix_pba_offset + pba &&
		    m->msix_pba_offset < m->msix_table_offset + table)
			return -EINVAL;
	}
	return 0;
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* Addresses as a host firmware would assign them: largest BAR first. */
static void assign_bars(struct vfc_emu_pci *pci)
{
	unsigned int idx = __atomic_fetch_add(&instance_counter, 1, __ATOMIC_RELAXED);
	uint64_t cur[3] = {
		0xc0000000ull + (idx % 32) * 0x01000000ull, /* 32-bit memory */
		0x8000000000ull + (idx % 256) * 0x100000000ull, /* 64-bit memory */
		0xc000ull + (idx % 64) * 0x100ull, /* I/O */
	};
	bool done[6] = { false };

	for (;;) {
		int best = -1;

		for (int i = 0; i < 6; i++) {
			const struct vfc_emu_pci_bar *b = &pci->model->bars[i];

			if (b->type != VFC_EMU_BAR_NONE && !done[i] &&
			    (best < 0 || b->size > pci->model->bars[best].size))
				best = i;
		}
		if (best < 0)
			return;
		const struct vfc_emu_pci_bar *b = &pci->model->bars[best];
		unsigned int space = b->type == VFC_EMU_BAR_IO ? 2 : b->type == VFC_EMU_BAR_MEM64;

		pci->bar_addr[best] = align_up(cur[space], b->size);
		cur[space] = pci->bar_addr[best] + b->size;
		done[best] = true;
	}
}

static size_t bar_mem_size(const struct vfc_emu_pci *pci, unsigned int bar)
{
	const size_t page = (size_t)sysconf(_SC_PAGESIZE);

	return (pci->model->bars[bar].size + page - 1) / page * page;
}

/* Shared memory for each mappable BAR. */
static int bars_map(struct vfc_emu_pci *pci)
{
	for (unsigned int i = 0; i < 6; i++) {
		char name[32];
		void *p;

		if (!pci->model->bars[i].mappable)
			continue;
		snprintf(name, sizeof(name), "vfc-%s-bar%u", pci->model->name, i);
		pci->bar_memfd[i] = memfd_create(name, MFD_CLOEXEC);
		if (pci->bar_memfd[i] < 0 ||
		    ftruncate(pci->bar_memfd[i], (off_t)bar_mem_size(pci, i)) < 0)
			return -errno;
		p = mmap(NULL, bar_mem_size(pci, i), PROT_READ | PROT_WRITE, MAP_SHARED,
			 pci->bar_memfd[i], 0);
		if (p == MAP_FAILED)
			return -errno;
		pci->bar_mem[i] = p;
		if (pci->model->bars[i].watched) {
			pci->bar_shadow[i] = calloc(1, bar_mem_size(pci, i));
			if (!pci->bar_shadow[i])
				return -ENOMEM;
		}
	}
	return 0;
}

uint8_t *vfc_emu_pci_bar_mem(struct vfc_emu_pci *pci, unsigned int bar)
{
	return bar < 6 ? pci->bar_mem[bar] : NULL;
}

void vfc_emu_pci_bar_store32(struct vfc_emu_pci *pci, unsigned int bar, uint64_t off,
			     uint32_t val)
{
	if (bar >= 6 || !pci->bar_mem[bar] || off % 4 || off >= pci->model->bars[bar].size)
		return;
	__atomic_store_n((uint32_t *)(pci->bar_mem[bar] + off), val, __ATOMIC_RELEASE);
	if (pci->bar_shadow[bar])
		pci->bar_shadow[bar][off / 4] = val;
}

struct vfc_emu_pci *vfc_emu_pci_free(struct vfc_emu_pci *pci)
{
	if (!pci)
		return NULL;
	vfc_fault_unregister_device(pci);
	vfc_emu_pci_thread_stop(pci);
	vfc_emu_pci_ioeventfds_free(pci);
	vfc_emu_pci_pm_close(pci);
	vfc_emu_pci_log_stop(pci);
	vfc_emu_pci_irq_free(pci);
	vfc_emu_pci_poll_stop(pci);
	for (unsigned int i = 0; i < 6; i++) {
		free(pci->bar_shadow[i]);
		if (pci->bar_mem[i])
			munmap(pci->bar_mem[i], bar_mem_size(pci, i));
		if (pci->bar_memfd[i] >= 0)
			close(pci->bar_memfd[i]);
	}
	if (pci->model->destroy && pci->priv)
		pci->model->destroy(pci);
	free(pci->priv);
	pthread_mutex_destroy(&pci->log_lock);
	pthread_mutex_destroy(&pci->lock);
	free(pci);
	return NULL;
}

VFC_DEFINE_CLEANUP(struct vfc_emu_pci, vfc_emu_pci_free)

static void device_reset(struct vfc_emu_pci *pci);
static void ops_init(struct vfc_emu_pci *pci);

int vfc_emu_pci_new(const struct vfc_emu_pci_model *model, const char *options,
		    struct vfc_emu_pci **ret)
{
	_cleanup_(vfc_emu_pci_freep) struct vfc_emu_pci *pci = NULL;
	int r;

	r = model_check(model);
	if (r < 0)
		return r;
	pci = calloc(1, sizeof(*pci));
	if (!pci)
		return -ENOMEM;
	pci->model = model;
	pthread_mutex_init(&pci->lock, NULL);
	pthread_mutex_init(&pci->log_lock, NULL);
	pci->pm_wake_fd = -1;
	pci->epfd = pci->wakefd = pci->timerfd = -1;
	for (unsigned int i = 0; i < 6; i++)
		pci->bar_memfd[i] = -1;
	pci->poll_stop = -1;
	r = bars_map(pci);
	if (r < 0)
		return r;
	pci->reset_works = true;
	pci->io_max = 8;
	pci->msix_dyn = true;
	pci->dma_log = true;
	r = vfc_emu_pci_irq_init(pci);
	if (r < 0)
		return r;
	pci->priv = calloc(1, model->priv_size ? model->priv_size : 1);
	if (!pci->priv)
		return -ENOMEM;
	if (model->init) {
		r = model->init(pci);
		if (r < 0) {
			free(TAKE_PTR(pci->priv));
			return r;
		}
	}
	r = apply_options(pci, options);
	if (r < 0)
		return r;
	ops_init(pci);
	if (model->realize) {
		r = model->realize(pci);
		if (r < 0)
			return r;
	}
	assign_bars(pci);
	r = vfc_emu_pci_config_init(pci);
	if (r < 0)
		return r;
	pthread_mutex_lock(&pci->lock);
	device_reset(pci);
	pthread_mutex_unlock(&pci->lock);
	r = vfc_emu_pci_thread_start(pci);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(pci);
	return 0;
}

int vfc_emu_pci_create(const char *model, const char *options, struct vfc_emu_pci **ret)
{
	for (size_t i = 0; model && i < VFC_ARRAY_SIZE(builtin_models); i++)
		if (!strcmp(builtin_models[i]->name, model))
			return vfc_emu_pci_new(builtin_models[i], options, ret);
	return -ENOENT;
}

void vfc_emu_pci_set_dma(struct vfc_emu_pci *pci, vfc_emu_pci_dma_fn fn, void *opaque)
{
	pthread_mutex_lock(&pci->lock);
	pci->dma_fn = fn;
	pci->dma_opaque = opaque;
	pthread_mutex_unlock(&pci->lock);
}

int vfc_emu_pci_dma(struct vfc_emu_pci *pci, uint64_t addr, void *buf, size_t len, bool write)
{
	vfc_emu_pci_dma_fn fn;
	struct vfc_device *dev;
	void *opaque;
	bool master;
	int r;

	pthread_mutex_lock(&pci->lock);
	master = vfc_emu_pci_cfg_word(pci, PCI_COMMAND) & PCI_COMMAND_MASTER;
	fn = pci->dma_fn;
	opaque = pci->dma_opaque;
	dev = pci->core_dev;
	pthread_mutex_unlock(&pci->lock);

	if (!master)
		return -EIO;
	/* A "dma" fault rule: the IOMMU faults the access (docs/devices.md). */
	if (vfc_fault_any() && vfc_fault_dma(dev ? vfc_device_name(dev) : NULL, addr, len, write))
		return -EFAULT;
	if (fn)
		r = fn(opaque, addr, buf, len, write);
	else if (!dev)
		return -ENODEV;
	else
		r = vfc_device_dma_rw(dev, addr, buf, len, write);
	/* DMA logging: a write that reached the IOMMU, even one that faulted
	 * part way, may have changed pages. */
	if (write && (r == 0 || r == -EFAULT))
		vfc_emu_pci_log_write(pci, addr, len);
	if (vfc_trace_on())
		vfc_trace_event("dma", "model=%s iova=0x%llx len=%zu dir=%s result=%d%s%s",
				pci->model->name, (unsigned long long)addr, len,
				write ? "to-memory" : "from-memory", r, r < 0 ? " errno=" : "",
				r < 0 ? vfc_trace_errno_name(-r) : "");
	return r;
}

/* A function reset: timers stop, INTx drops, config as the host restores it. */
static void device_reset(struct vfc_emu_pci *pci)
{
	vfc_emu_pci_timers_disarm(pci);
	pci->epoch++;
	vfc_emu_pci_set_irq(pci, false);
	vfc_emu_pci_config_reset(pci);
	for (unsigned int i = 0; i < 6; i++)
		if (pci->bar_mem[i]) {
			memset(pci->bar_mem[i], 0, pci->model->bars[i].size);
			if (pci->bar_shadow[i])	/* a reset is no write of the client's */
				memset(pci->bar_shadow[i], 0, pci->model->bars[i].size);
		}
	if (pci->model->reset)
		pci->model->reset(pci);
}

/* vfio_pci_core_enable(): reset, bus master off, decode on, shadow config. */
static int emu_open_device(void *priv, struct vfc_device *dev)
{
	struct vfc_emu_pci *pci = priv;

	pthread_mutex_lock(&pci->lock);
	pci->core_dev = dev;
	pci->open = true;
	if (pci->reset_works)
		device_reset(pci);
	vfc_emu_pci_config_enable(pci);
	pthread_mutex_unlock(&pci->lock);
	return vfc_emu_pci_poll_start(pci);
}

/*
 * vfio_pci_core_disable(): low power left (no wakeup signal), bus master
 * off, irqs and ioeventfds off, reset, state restored; DMA logging stops,
 * as a variant driver's close stops its tracker.
 */
static void emu_close_device(void *priv)
{
	struct vfc_emu_pci *pci = priv;

	vfc_emu_pci_poll_stop(pci);	/* it takes the lock */
	vfc_emu_pci_log_stop(pci);	/* it takes its own */
	pthread_mutex_lock(&pci->lock);
	vfc_emu_pci_pm_close(pci);
	vfc_emu_pci_cfg_set_word(pci, PCI_COMMAND,
				 vfc_emu_pci_cfg_word(pci, PCI_COMMAND) & ~PCI_COMMAND_MASTER);
	vfc_emu_pci_irq_disable(pci);
	vfc_emu_pci_ioeventfds_free(pci);
	vfc_emu_pci_cfg_set_word(pci, PCI_COMMAND, PCI_COMMAND_INTX_DISABLE);
	if (pci->reset_works)
		device_reset(pci);
	vfc_emu_pci_config_disable(pci);
	pci->open = false;
	pthread_mutex_unlock(&pci->lock);
}

static int emu_get_info(void *priv, struct vfio_device_info *info)
{
	struct vfc_emu_pci *pci = priv;

	info->flags = VFIO_DEVICE_FLAGS_PCI;
	if (pci->reset_works)
		info->flags |= VFIO_DEVICE_FLAGS_RESET;
	info->num_regions = VFIO_PCI_NUM_REGIONS;
	info->num_irqs = VFIO_PCI_NUM_IRQS;
	return 0;
}

static int emu_get_region_info(void *priv, struct vfio_region_info *info, struct vfc_caps *caps)
{
	struct vfc_emu_pci *pci = priv;

	switch (info->index) {
	case VFIO_PCI_CONFIG_REGION_INDEX:
		info->size = EMU_CFG_SIZE;
		info->flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
		return 0;
	case VFIO_PCI_BAR0_REGION_INDEX ... VFIO_PCI_BAR5_REGION_INDEX: {
		const struct vfc_emu_pci_bar *b = &pci->model->bars[info->index];

		info->size = b->type == VFC_EMU_BAR_NONE ? 0 : b->size;
		info->flags = info->size ? VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE
					 : 0;
		if (pci->bar_mem[info->index])
			info->flags |= VFIO_REGION_INFO_FLAG_MMAP;
		return 0;
	}
	case VFIO_PCI_ROM_REGION_INDEX:
		info->size = 0;
		info->flags = 0;
		return 0;
	default: /* VGA: no VGA device; nothing beyond */
		return -EINVAL;
	}
}

static uint64_t le_get(const uint8_t *p, unsigned int size)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < size; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static void le_put(uint8_t *p, unsigned int size, uint64_t v)
{
	for (unsigned int i = 0; i < size; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void bar_access(struct vfc_emu_pci *pci, unsigned int bar, uint64_t off, uint8_t *buf,
		       unsigned int size, bool write)
{
	const struct vfc_emu_pci_model *m = pci->model;

	if (pci->bar_mem[bar]) {	/* shared with the client's mappings */
		if (!write) {
			memcpy(buf, pci->bar_mem[bar] + off, size);
			return;
		}
		memcpy(pci->bar_mem[bar] + off, buf, size);
		if (pci->bar_shadow[bar]) {
			/* A trapped write to a watched BAR: the model sees it now,
			 * in the words it touched, and the poller does not again. */
			uint64_t first = off / 4, last = (off + size - 1) / 4;

			for (uint64_t w = first; w <= last; w++) {
				memcpy(&pci->bar_shadow[bar][w], pci->bar_mem[bar] + w * 4, 4);
				if (m->bar_write)
					m->bar_write(pci, bar, w * 4, pci->bar_shadow[bar][w], 4);
			}
		}
		return;
	}

	if (m->msix_vectors && bar == m->msix_bar && off >= m->msix_pba_offset &&
	    off < m->msix_pba_offset + pci->msix_pba_size) {
		if (!write)
			le_put(buf, size,
			       vfc_emu_pci_msix_pba_read(pci, off - m->msix_pba_offset, size));
		return; /* the PBA is read-only */
	}
	if (write) {
		if (m->bar_write)
			m->bar_write(pci, bar, off, le_get(buf, size), size);
	} else {
		le_put(buf, size, m->bar_read ? m->bar_read(pci, bar, off, size) : 0);
	}
}

/* vfio_pci_bar_rw() and do_io_rw(). */
ssize_t vfc_emu_pci_bar_rw_locked(struct vfc_emu_pci *pci, unsigned int bar, uint64_t off,
				  uint8_t *buf, size_t len, bool write)
{
	const struct vfc_emu_pci_bar *b = &pci->model->bars[bar];
	bool test_mem = b->type != VFC_EMU_BAR_IO;
	uint64_t x_start = 0, x_end = 0;
	size_t done = 0, count;

	if (b->type == VFC_EMU_BAR_NONE || off >= b->size)
		return -EINVAL;
	count = len < b->size - off ? len : (size_t)(b->size - off);
	if (pci->model->msix_vectors && bar == pci->model->msix_bar) {
		x_start = pci->model->msix_table_offset;
		x_end = x_start + pci->model->msix_vectors * 16ull;
	}

	while (done < count) {
		size_t left = count - done, fillable, filled;

		if (off < x_start)
			fillable = left < x_start - off ? left : (size_t)(x_start - off);
		else if (off >= x_end)
			fillable = left;
		else
			fillable = 0;

		if (fillable) {
			if (fillable >= 8 && pci->io_max >= 8 && !(off % 8))
				filled = 8;
			else if (fillable >= 4 && !(off % 4))
				filled = 4;
			else if (fillable >= 2 && !(off % 2))
				filled = 2;
			else
				filled = 1;
			if (test_mem && !vfc_emu_pci_memory_enabled(pci))
				return -EIO;
			bar_access(pci, bar, off, buf + done, (unsigned int)filled, write);
		} else {
			/* The MSI-X table: reads fill with 0xff, writes are dropped. */
			filled = left < x_end - off ? left : (size_t)(x_end - off);
			if (!write)
				memset(buf + done, 0xff, filled);
		}
		done += filled;
		off += filled;
	}
	return (ssize_t)done;
}

static ssize_t emu_region_rw(void *priv, unsigned int index, uint64_t off, void *buf, size_t len,
			     bool write)
{
	struct vfc_emu_pci *pci = priv;
	ssize_t r;

	pthread_mutex_lock(&pci->lock);
	switch (index) {
	case VFIO_PCI_CONFIG_REGION_INDEX:
		r = vfc_emu_pci_config_rw(pci, off, buf, len, write);
		break;
	case VFIO_PCI_BAR0_REGION_INDEX ... VFIO_PCI_BAR5_REGION_INDEX:
		r = vfc_emu_pci_bar_rw_locked(pci, index, off, buf, len, write);
		break;
	default: /* no ROM, no VGA */
		r = -EINVAL;
		break;
	}
	pthread_mutex_unlock(&pci->lock);
	return r;
}

static int emu_get_irq_info(void *priv, struct vfio_irq_info *info)
{
	struct vfc_emu_pci *pci = priv;
	int r;

	pthread_mutex_lock(&pci->lock);
	r = vfc_emu_pci_get_irq_info_locked(pci, info);
	pthread_mutex_unlock(&pci->lock);
	return r;
}

static int emu_set_irqs(void *priv, uint32_t flags, unsigned int index, unsigned int start,
			unsigned int count, const void *data)
{
	struct vfc_emu_pci *pci = priv;
	int r;

	pthread_mutex_lock(&pci->lock);
	r = vfc_emu_pci_set_irqs_locked(pci, flags, index, start, count, data);
	pthread_mutex_unlock(&pci->lock);
	return r;
}

/* The memfd behind a mappable BAR; the core has checked the range. */
static int emu_region_mmap(void *priv, unsigned int index, uint64_t off, uint64_t len,
			   int *ret_fd, uint64_t *ret_off)
{
	struct vfc_emu_pci *pci = priv;
	int fd;

	if (index >= 6 || pci->bar_memfd[index] < 0)
		return -EINVAL;
	fd = fcntl(pci->bar_memfd[index], F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	*ret_fd = fd;
	*ret_off = off;
	return 0;
}

/* pci_try_reset_function(): config space survives, as do the eventfds. */
static int emu_reset(void *priv)
{
	struct vfc_emu_pci *pci = priv;

	pthread_mutex_lock(&pci->lock);
	device_reset(pci);
	pthread_mutex_unlock(&pci->lock);
	return 0;
}

/* The device's ops table, as its options make it (vfc_emu_pci_new()). */
static void ops_init(struct vfc_emu_pci *pci)
{
	pci->ops = (struct vfc_device_ops){
		.open_device = emu_open_device,
		.close_device = emu_close_device,
		.get_info = emu_get_info,
		.get_region_info = emu_get_region_info,
		.region_rw = emu_region_rw,
		.get_irq_info = emu_get_irq_info,
		.set_irqs = emu_set_irqs,
		.region_mmap = emu_region_mmap,
		.reset = pci->reset_works ? emu_reset : NULL,
		.match = vfc_device_match_pci,
		.ioeventfd = vfc_emu_pci_ioeventfd,
		.pm_use = vfc_emu_pci_pm_use,
		.pm_entry = vfc_emu_pci_pm_entry,
		.pm_exit = vfc_emu_pci_pm_exit,
	};
	if (pci->dma_log) {
		pci->ops.log_start = vfc_emu_pci_log_start;
		pci->ops.log_stop = vfc_emu_pci_log_stop;
		pci->ops.log_report = vfc_emu_pci_log_report;
	}
}

const struct vfc_device_ops *vfc_emu_pci_device_ops(const struct vfc_emu_pci *pci)
{
	return &pci->ops;
}

/* A "raise" fault rule: signal the ERR or REQ eventfd the client set. */
static int emu_raise(void *opaque, unsigned int index)
{
	struct vfc_emu_pci *pci = opaque;
	int fd;

	pthread_mutex_lock(&pci->lock);
	fd = index == VFIO_PCI_REQ_IRQ_INDEX ? pci->req_trigger : pci->err_trigger;
	vfc_emu_pci_signal(fd);
	pthread_mutex_unlock(&pci->lock);
	return fd < 0 ? -ENOENT : 0;
}

int vfc_emu_pci_register(struct vfc_emu_pci *pci, struct vfc_group *group, const char *name,
			 struct vfc_device **ret_device)
{
	int r = vfc_group_add_device(group, name, vfc_emu_pci_device_ops(pci), pci, ret_device);

	if (r == 0 && vfc_fault_register_device(name, emu_raise, pci) < 0)
		vfc_info("device \"%s\": out of memory: raise fault rules will not reach it",
			 name);
	return r;
}
