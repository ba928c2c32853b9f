/* SPDX-License-Identifier: MIT */
/*
 * The trace's ioctl decoder: every ioctl of <linux/vfio.h>, decoded like
 * strace from the bytes the call read (its argument struct) and wrote back
 * (the info structs, after "=>"), with flags by name, fds as numbers plus
 * what the handler noted they resolved to, and the result or errno.
 *
 * The bytes are hostile: a field is printed only when the call carried
 * all of it (trace-field.h), capability chains are followed only forwards
 * inside what was written (trace-caps.c), and arrays are cut at
 * VFC_TRACE_ARRAY_MAX elements.
 *
 * Numbers are shared across file kinds (112 is IOMMU_GET_INFO on a
 * container and GET_PCI_HOT_RESET_INFO on a device), so lookups go by
 * kind. On a container, 112 and 117 are type1's (GET_INFO, DIRTY_PAGES)
 * rather than SPAPR's (TCE_GET_INFO, REGISTER_MEMORY): type1 is what we
 * serve. Unknown numbers are printed raw: the number in hex, the argument
 * and the first bytes read.
 */
#include "trace-field.h"
#include "vfc-file.h"

/* Names */

#define F(x) { x, #x }

static const struct flag dma_map_flags[] = {
	F(VFIO_DMA_MAP_FLAG_READ), F(VFIO_DMA_MAP_FLAG_WRITE),
#ifdef VFIO_DMA_MAP_FLAG_VADDR
	F(VFIO_DMA_MAP_FLAG_VADDR),
#endif
};
static const struct flag dma_unmap_flags[] = {
	F(VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP),
#ifdef VFIO_DMA_UNMAP_FLAG_ALL
	F(VFIO_DMA_UNMAP_FLAG_ALL),
#endif
#ifdef VFIO_DMA_UNMAP_FLAG_VADDR
	F(VFIO_DMA_UNMAP_FLAG_VADDR),
#endif
};
static const struct flag dirty_flags[] = {
	F(VFIO_IOMMU_DIRTY_PAGES_FLAG_START), F(VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP),
	F(VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP),
};
static const struct flag iommu_info_flags[] = {
	F(VFIO_IOMMU_INFO_PGSIZES), F(VFIO_IOMMU_INFO_CAPS),
};
static const struct flag group_flags[] = {
	F(VFIO_GROUP_FLAGS_VIABLE), F(VFIO_GROUP_FLAGS_CONTAINER_SET),
};
static const struct flag device_flags[] = {
	F(VFIO_DEVICE_FLAGS_RESET), F(VFIO_DEVICE_FLAGS_PCI), F(VFIO_DEVICE_FLAGS_PLATFORM),
	F(VFIO_DEVICE_FLAGS_AMBA), F(VFIO_DEVICE_FLAGS_CCW), F(VFIO_DEVICE_FLAGS_AP),
	F(VFIO_DEVICE_FLAGS_FSL_MC), F(VFIO_DEVICE_FLAGS_CAPS),
#ifdef VFIO_DEVICE_FLAGS_CDX
	F(VFIO_DEVICE_FLAGS_CDX),
#endif
};
static const struct flag region_flags[] = {
	F(VFIO_REGION_INFO_FLAG_READ), F(VFIO_REGION_INFO_FLAG_WRITE),
	F(VFIO_REGION_INFO_FLAG_MMAP), F(VFIO_REGION_INFO_FLAG_CAPS),
};
static const struct flag irq_info_flags[] = {
	F(VFIO_IRQ_INFO_EVENTFD), F(VFIO_IRQ_INFO_MASKABLE), F(VFIO_IRQ_INFO_AUTOMASKED),
	F(VFIO_IRQ_INFO_NORESIZE),
};
static const struct flag irq_set_flags[] = {
	F(VFIO_IRQ_SET_DATA_NONE), F(VFIO_IRQ_SET_DATA_BOOL), F(VFIO_IRQ_SET_DATA_EVENTFD),
	F(VFIO_IRQ_SET_ACTION_MASK), F(VFIO_IRQ_SET_ACTION_UNMASK),
	F(VFIO_IRQ_SET_ACTION_TRIGGER),
};
static const struct flag gfx_flags[] = {
	F(VFIO_GFX_PLANE_TYPE_PROBE), F(VFIO_GFX_PLANE_TYPE_DMABUF),
	F(VFIO_GFX_PLANE_TYPE_REGION),
};
static const struct flag ioeventfd_flags[] = {
	F(VFIO_DEVICE_IOEVENTFD_8), F(VFIO_DEVICE_IOEVENTFD_16), F(VFIO_DEVICE_IOEVENTFD_32),
	F(VFIO_DEVICE_IOEVENTFD_64),
};
static const struct flag feature_flags[] = {
	F(VFIO_DEVICE_FEATURE_GET), F(VFIO_DEVICE_FEATURE_SET), F(VFIO_DEVICE_FEATURE_PROBE),
};
static const struct flag migration_flags[] = {
	F(VFIO_MIGRATION_STOP_COPY), F(VFIO_MIGRATION_P2P),
#ifdef VFIO_MIGRATION_PRE_COPY
	F(VFIO_MIGRATION_PRE_COPY),
#endif
};
#ifdef VFIO_DEVICE_BIND_IOMMUFD
static const struct flag none_flags[] = { { 0, NULL } };
#endif

static const char *ext_name(uint64_t v)
{
	switch (v) {
	case VFIO_TYPE1_IOMMU: return "VFIO_TYPE1_IOMMU";
	case VFIO_SPAPR_TCE_IOMMU: return "VFIO_SPAPR_TCE_IOMMU";
	case VFIO_TYPE1v2_IOMMU: return "VFIO_TYPE1v2_IOMMU";
	case VFIO_DMA_CC_IOMMU: return "VFIO_DMA_CC_IOMMU";
	case VFIO_EEH: return "VFIO_EEH";
	case VFIO_TYPE1_NESTING_IOMMU: return "VFIO_TYPE1_NESTING_IOMMU";
	case VFIO_SPAPR_TCE_v2_IOMMU: return "VFIO_SPAPR_TCE_v2_IOMMU";
	case VFIO_NOIOMMU_IOMMU: return "VFIO_NOIOMMU_IOMMU";
	case VFIO_UNMAP_ALL: return "VFIO_UNMAP_ALL";
	case VFIO_UPDATE_VADDR: return "VFIO_UPDATE_VADDR";
	}
	return NULL;
}

/* vfio-pci's numbering (the only kind of device we serve). */
const char *vfc_trace_region_name(uint64_t v)
{
	static const char *const names[] = { "BAR0", "BAR1", "BAR2", "BAR3", "BAR4", "BAR5",
					     "ROM", "CONFIG", "VGA" };

	return v < VFC_ARRAY_SIZE(names) ? names[v] : NULL;
}

const char *vfc_trace_irq_name(uint64_t v)
{
	static const char *const names[] = { "INTX", "MSI", "MSIX", "ERR", "REQ" };

	return v < VFC_ARRAY_SIZE(names) ? names[v] : NULL;
}

static const char *mig_state_name(uint64_t v)
{
	static const char *const names[] = {
		"VFIO_DEVICE_STATE_ERROR", "VFIO_DEVICE_STATE_STOP", "VFIO_DEVICE_STATE_RUNNING",
		"VFIO_DEVICE_STATE_STOP_COPY", "VFIO_DEVICE_STATE_RESUMING",
		"VFIO_DEVICE_STATE_RUNNING_P2P", "VFIO_DEVICE_STATE_PRE_COPY",
		"VFIO_DEVICE_STATE_PRE_COPY_P2P",
	};

	return v < VFC_ARRAY_SIZE(names) ? names[v] : NULL;
}

static const char *feature_name(uint64_t v)
{
	switch (v) {
	case VFIO_DEVICE_FEATURE_MIGRATION: return "VFIO_DEVICE_FEATURE_MIGRATION";
	case VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE: return "VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE";
	case VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY: return "VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY";
	case VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP:
		return "VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP";
	case VFIO_DEVICE_FEATURE_LOW_POWER_EXIT: return "VFIO_DEVICE_FEATURE_LOW_POWER_EXIT";
	case VFIO_DEVICE_FEATURE_DMA_LOGGING_START:
		return "VFIO_DEVICE_FEATURE_DMA_LOGGING_START";
	case VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP: return "VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP";
	case VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT:
		return "VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT";
#ifdef VFIO_DEVICE_FEATURE_MIG_DATA_SIZE
	case VFIO_DEVICE_FEATURE_MIG_DATA_SIZE: return "VFIO_DEVICE_FEATURE_MIG_DATA_SIZE";
#endif
#ifdef VFIO_DEVICE_FEATURE_BUS_MASTER
	case VFIO_DEVICE_FEATURE_BUS_MASTER: return "VFIO_DEVICE_FEATURE_BUS_MASTER";
#endif
	}
	return NULL;
}

const char *vfc_trace_errno_name(int e)
{
	const char *s = e > 0 ? strerrorname_np(e) : NULL;

	return s ? s : "errno";
}

/*
 * Decoders: each prints its struct as the field @name (NULL: the bare
 * value, as the text's arguments). @v holds the bytes; @c the whole call.
 */
typedef void (*dec_fn)(struct vfc_rec *r, const char *name, const struct view *v,
		       const struct vfc_trace_ioctl *c);

static void d_argsz_flags(struct vfc_rec *r, const char *name, const struct view *v,
			  const struct vfc_trace_ioctl *c)
{
	vfc_rec_open(r, name, '{');
	fu(r, v, "argsz", 0, 4);
	fx(r, v, "flags", 4, 4);
	vfc_rec_close(r, '}');
}

static void d_ext(struct vfc_rec *r, const char *name, const struct view *v,
		  const struct vfc_trace_ioctl *c)
{
	enum_value(r, name, c->arg, ext_name);
}

/* An int the argument points to (an fd, a dma-buf id). */
static void d_int(struct vfc_rec *r, const char *name, const struct view *v,
		  const struct vfc_trace_ioctl *c)
{
	if (vhas(v, 0, 4))
		vfc_rec_i(r, name, vgets(v, 0, 4));
	else
		vfc_rec_x(r, name, c->arg);
}

static void d_string(struct vfc_rec *r, const char *name, const struct view *v,
		     const struct vfc_trace_ioctl *c)
{
	size_t n = v->p ? strnlen((const char *)v->p, v->len) : 0;

	vfc_rec_str(r, name, (const char *)v->p, VFC_MIN(n, (size_t)256));
}

static void d_iommu_info(struct vfc_rec *r, const char *name, const struct view *v,
			 const struct vfc_trace_ioctl *c)
{
#define T struct vfio_iommu_type1_info
	vfc_rec_open(r, name, '{');
	U(argsz);
	FL(flags, iommu_info_flags);
	X(iova_pgsizes);
	U(cap_offset);
	if (HAS(cap_offset) && HAS(flags) && (GET(flags) & VFIO_IOMMU_INFO_CAPS))
		vfc_trace_caps_iommu(r, v, GET(cap_offset), sizeof(T));
	vfc_rec_close(r, '}');
#undef T
}

static void bitmap(struct vfc_rec *r, const char *name, const struct view *v, size_t off)
{
	struct view bv = { .p = v->p ? v->p + VFC_MIN(off, v->len) : NULL,
			   .len = off < v->len ? v->len - off : 0 };

	if (!vhas(&bv, 0, 8))
		return;
	v = &bv;
#define T struct vfio_bitmap
	vfc_rec_open(r, name, '{');
	X(pgsize);
	U(size);
	X(data);
	vfc_rec_close(r, '}');
#undef T
}

static void d_map_dma(struct vfc_rec *r, const char *name, const struct view *v,
		      const struct vfc_trace_ioctl *c)
{
#define T struct vfio_iommu_type1_dma_map
	vfc_rec_open(r, name, '{');
	U(argsz);
	FL(flags, dma_map_flags);
	X(vaddr);
	X(iova);
	X(size);
	vfc_rec_close(r, '}');
#undef T
}

static void d_unmap_dma(struct vfc_rec *r, const char *name, const struct view *v,
			const struct vfc_trace_ioctl *c)
{
#define T struct vfio_iommu_type1_dma_unmap
	vfc_rec_open(r, name, '{');
	U(argsz);
	FL(flags, dma_unmap_flags);
	X(iova);
	X(size);
	if (HAS(flags) && (GET(flags) & VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP))
		bitmap(r, "bitmap", v, sizeof(T));
	vfc_rec_close(r, '}');
#undef T
}

static void d_dirty_pages(struct vfc_rec *r, const char *name, const struct view *v,
			  const struct vfc_trace_ioctl *c)
{
#define T struct vfio_iommu_type1_dirty_bitmap
	vfc_rec_open(r, name, '{');
	U(argsz);
	FL(flags, dirty_flags);
	if (HAS(flags) && (GET(flags) & VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP)) {
		size_t o = sizeof(T);

		if (vhas(v, o + offsetof(struct vfio_iommu_type1_dirty_bitmap_get, bitmap), 0)) {
			vfc_rec_x(r, "iova", vget(v, o, 8));
			vfc_rec_x(r, "size", vget(v, o + 8, 8));
			bitmap(r, "bitmap", v,
			       o + offsetof(struct vfio_iommu_type1_dirty_bitmap_get, bitmap));
		}
	}
	vfc_rec_close(r, '}');
#undef T
}

static void d_spapr_memory(struct vfc_rec *r, const char *name, const struct view *v,
			   const struct vfc_trace_ioctl *c)
{
#define T struct vfio_iommu_spapr_register_memory
	vfc_rec_open(r, name, '{');
	U(argsz);
	X(flags);
	X(vaddr);
	X(size);
	vfc_rec_close(r, '}');
#undef T
}

static void d_spapr_create(struct vfc_rec *r, const char *name, const struct view *v,
			   const struct vfc_trace_ioctl *c)
{
#define T struct vfio_iommu_spapr_tce_create
	vfc_rec_open(r, name, '{');
	U(argsz);
	X(flags);
	U(page_shift);
	X(window_size);
	U(levels);
	X(start_addr);
	vfc_rec_close(r, '}');
#undef T
}

static void d_spapr_remove(struct vfc_rec *r, const char *name, const struct view *v,
			   const struct vfc_trace_ioctl *c)
{
#define T struct vfio_iommu_spapr_tce_remove
	vfc_rec_open(r, name, '{');
	U(argsz);
	X(flags);
	X(start_addr);
	vfc_rec_close(r, '}');
#undef T
}

static void d_eeh(struct vfc_rec *r, const char *name, const struct view *v,
		  const struct vfc_trace_ioctl *c)
{
#define T struct vfio_eeh_pe_op
	vfc_rec_open(r, name, '{');
	U(argsz);
	X(flags);
	U(op);
	vfc_rec_close(r, '}');
#undef T
}

static void d_group_status(struct vfc_rec *r, const char *name, const struct view *v,
			   const struct vfc_trace_ioctl *c)
{
#define T struct vfio_group_status
	vfc_rec_open(r, name, '{');
	U(argsz);
	FL(flags, group_flags);
	vfc_rec_close(r, '}');
#undef T
}

static void d_device_info(struct vfc_rec *r, const char *name, const struct view *v,
			  const struct vfc_trace_ioctl *c)
{
#define T struct vfio_device_info
	vfc_rec_open(r, name, '{');
	U(argsz);
	FL(flags, device_flags);
	U(num_regions);
	U(num_irqs);
	U(cap_offset);
	if (HAS(cap_offset) && HAS(flags) && (GET(flags) & VFIO_DEVICE_FLAGS_CAPS))
		vfc_trace_caps_device(r, v, GET(cap_offset), sizeof(T));
	vfc_rec_close(r, '}');
#undef T
}

static void d_region_info(struct vfc_rec *r, const char *name, const struct view *v,
			  const struct vfc_trace_ioctl *c)
{
#define T struct vfio_region_info
	vfc_rec_open(r, name, '{');
	U(argsz);
	FL(flags, region_flags);
	EN(index, vfc_trace_region_name);
	U(cap_offset);
	X(size);
	X(offset);
	if (HAS(cap_offset) && HAS(flags) && (GET(flags) & VFIO_REGION_INFO_FLAG_CAPS))
		vfc_trace_caps_region(r, v, GET(cap_offset), sizeof(T));
	vfc_rec_close(r, '}');
#undef T
}

static void d_irq_info(struct vfc_rec *r, const char *name, const struct view *v,
		       const struct vfc_trace_ioctl *c)
{
#define T struct vfio_irq_info
	vfc_rec_open(r, name, '{');
	U(argsz);
	FL(flags, irq_info_flags);
	EN(index, vfc_trace_irq_name);
	U(count);
	vfc_rec_close(r, '}');
#undef T
}

/* @n elements of @size at @off: fds (signed) or bools; cut past the max. */
static void array(struct vfc_rec *r, const char *name, const struct view *v, size_t off,
		  uint64_t n, size_t size, bool is_signed)
{
	uint64_t i;

	vfc_rec_open(r, name, '[');
	for (i = 0; i < n && i < VFC_TRACE_ARRAY_MAX; i++) {
		size_t o = off + (size_t)i * size;

		if (!vhas(v, o, size))
			break;
		if (is_signed)
			vfc_rec_i(r, NULL, vgets(v, o, size));
		else
			vfc_rec_u(r, NULL, vget(v, o, size));
	}
	if (i < n && i == VFC_TRACE_ARRAY_MAX && !r->json) {
		vfc_rec_key(r, NULL);
		vfc_rec_raw(r, "...", 3);
	}
	vfc_rec_close(r, ']');
}

static void d_set_irqs(struct vfc_rec *r, const char *name, const struct view *v,
		       const struct vfc_trace_ioctl *c)
{
#define T struct vfio_irq_set
	vfc_rec_open(r, name, '{');
	U(argsz);
	FL(flags, irq_set_flags);
	EN(index, vfc_trace_irq_name);
	U(start);
	U(count);
	if (HAS(flags) && HAS(count)) {
		uint64_t f = GET(flags);

		if (f & VFIO_IRQ_SET_DATA_EVENTFD)
			array(r, "data", v, sizeof(T), GET(count), 4, true);
		else if (f & VFIO_IRQ_SET_DATA_BOOL)
			array(r, "data", v, sizeof(T), GET(count), 1, false);
	}
	vfc_rec_close(r, '}');
#undef T
}

static void d_hot_reset_info(struct vfc_rec *r, const char *name, const struct view *v,
			     const struct vfc_trace_ioctl *c)
{
#define T struct vfio_pci_hot_reset_info
	vfc_rec_open(r, name, '{');
	U(argsz);
	X(flags);
	U(count);
	if (HAS(count) && v->len > sizeof(T)) {
		uint64_t n = GET(count);

		vfc_rec_open(r, "devices", '[');
		for (uint64_t i = 0; i < n && i < VFC_TRACE_ARRAY_MAX; i++) {
			size_t o = sizeof(T) + (size_t)i * sizeof(struct vfio_pci_dependent_device);
			char bdf[32];

			if (!vhas(v, o, sizeof(struct vfio_pci_dependent_device)))
				break;
			vfc_rec_open(r, NULL, '{');
			vfc_rec_u(r, "group_id", vget(v, o, 4));
			snprintf(bdf, sizeof(bdf), "%04x:%02x:%02x.%x", (unsigned int)vget(v, o + 4, 2),
				 (unsigned int)vget(v, o + 6, 1), (unsigned int)vget(v, o + 7, 1) >> 3,
				 (unsigned int)vget(v, o + 7, 1) & 7);
			vfc_rec_sym(r, "bdf", bdf);
			vfc_rec_close(r, '}');
		}
		vfc_rec_close(r, ']');
	}
	vfc_rec_close(r, '}');
#undef T
}

static void d_hot_reset(struct vfc_rec *r, const char *name, const struct view *v,
			const struct vfc_trace_ioctl *c)
{
#define T struct vfio_pci_hot_reset
	vfc_rec_open(r, name, '{');
	U(argsz);
	X(flags);
	U(count);
	if (HAS(count))
		array(r, "group_fds", v, sizeof(T), GET(count), 4, true);
	vfc_rec_close(r, '}');
#undef T
}

static void d_gfx_plane(struct vfc_rec *r, const char *name, const struct view *v,
			const struct vfc_trace_ioctl *c)
{
#define T struct vfio_device_gfx_plane_info
	vfc_rec_open(r, name, '{');
	U(argsz);
	FL(flags, gfx_flags);
	U(drm_plane_type);
	X(drm_format);
	X(drm_format_mod);
	U(width);
	U(height);
	U(stride);
	U(size);
	U(x_pos);
	U(y_pos);
	U(x_hot);
	U(y_hot);
	U(region_index);
	vfc_rec_close(r, '}');
#undef T
}

static void d_ioeventfd(struct vfc_rec *r, const char *name, const struct view *v,
			const struct vfc_trace_ioctl *c)
{
#define T struct vfio_device_ioeventfd
	vfc_rec_open(r, name, '{');
	U(argsz);
	FL(flags, ioeventfd_flags);
	X(offset);
	X(data);
	I(fd);
	vfc_rec_close(r, '}');
#undef T
}

/* DEVICE_FEATURE: the header, then the feature's own struct. */
static void feature_data(struct vfc_rec *r, const struct view *whole, uint64_t feature)
{
	size_t off = offsetof(struct vfio_device_feature, data);
	struct view dv = { .p = whole->p ? whole->p + VFC_MIN(off, whole->len) : NULL,
			   .len = off < whole->len ? whole->len - off : 0 };
	const struct view *v = &dv;

	if (!dv.len)
		return;
	switch (feature) {
	case VFIO_DEVICE_FEATURE_MIGRATION:
#define T struct vfio_device_feature_migration
		vfc_rec_open(r, "data", '{');
		FL(flags, migration_flags);
		vfc_rec_close(r, '}');
		break;
#undef T
	case VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE:
#define T struct vfio_device_feature_mig_state
		vfc_rec_open(r, "data", '{');
		EN(device_state, mig_state_name);
		I(data_fd);
		vfc_rec_close(r, '}');
		break;
#undef T
	case VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP:
#define T struct vfio_device_low_power_entry_with_wakeup
		vfc_rec_open(r, "data", '{');
		I(wakeup_eventfd);
		U(reserved);
		vfc_rec_close(r, '}');
		break;
#undef T
	case VFIO_DEVICE_FEATURE_DMA_LOGGING_START:
#define T struct vfio_device_feature_dma_logging_control
		vfc_rec_open(r, "data", '{');
		X(page_size);
		U(num_ranges);
		X(ranges);
		vfc_rec_close(r, '}');
		break;
#undef T
	case VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT:
#define T struct vfio_device_feature_dma_logging_report
		vfc_rec_open(r, "data", '{');
		X(iova);
		X(length);
		X(page_size);
		X(bitmap);
		vfc_rec_close(r, '}');
		break;
#undef T
#ifdef VFIO_DEVICE_FEATURE_MIG_DATA_SIZE
	case VFIO_DEVICE_FEATURE_MIG_DATA_SIZE:
#define T struct vfio_device_feature_mig_data_size
		vfc_rec_open(r, "data", '{');
		U(stop_copy_length);
		vfc_rec_close(r, '}');
		break;
#undef T
#endif
#ifdef VFIO_DEVICE_FEATURE_BUS_MASTER
	case VFIO_DEVICE_FEATURE_BUS_MASTER:
#define T struct vfio_device_feature_bus_master
		vfc_rec_open(r, "data", '{');
		U(op);
		vfc_rec_close(r, '}');
		break;
#undef T
#endif
	default:
		break;	/* LOW_POWER_ENTRY/EXIT, DMA_LOGGING_STOP: no data */
	}
}

static void d_feature(struct vfc_rec *r, const char *name, const struct view *v,
		      const struct vfc_trace_ioctl *c)
{
	uint64_t flags, feature;
	const char *fname;

#define T struct vfio_device_feature
	vfc_rec_open(r, name, '{');
	U(argsz);
	if (HAS(flags)) {
		flags = GET(flags);
		feature = flags & VFIO_DEVICE_FEATURE_MASK;
		fname = feature_name(feature);
		flags_value(r, "flags", flags & ~(uint64_t)VFIO_DEVICE_FEATURE_MASK, feature_flags,
			    VFC_ARRAY_SIZE(feature_flags));
		if (fname)
			vfc_rec_sym(r, "feature", fname);
		else
			vfc_rec_u(r, "feature", feature);
		/* PROBE carries no data; GET's data is what comes back */
		if (!(flags & VFIO_DEVICE_FEATURE_PROBE) &&
		    (!(flags & VFIO_DEVICE_FEATURE_GET) || v->p == c->out))
			feature_data(r, v, feature);
	}
	vfc_rec_close(r, '}');
#undef T
}

#ifdef VFIO_DEVICE_BIND_IOMMUFD
static void d_bind_iommufd(struct vfc_rec *r, const char *name, const struct view *v,
			   const struct vfc_trace_ioctl *c)
{
#define T struct vfio_device_bind_iommufd
	vfc_rec_open(r, name, '{');
	U(argsz);
	X(flags);
	I(iommufd);
	U(out_devid);
	vfc_rec_close(r, '}');
#undef T
	(void)none_flags;
}

static void d_attach_pt(struct vfc_rec *r, const char *name, const struct view *v,
			const struct vfc_trace_ioctl *c)
{
#define T struct vfio_device_attach_iommufd_pt
	vfc_rec_open(r, name, '{');
	U(argsz);
	X(flags);
	U(pt_id);
	vfc_rec_close(r, '}');
#undef T
}
#endif

#ifdef VFIO_MIG_GET_PRECOPY_INFO
static void d_precopy(struct vfc_rec *r, const char *name, const struct view *v,
		      const struct vfc_trace_ioctl *c)
{
#define T struct vfio_precopy_info
	vfc_rec_open(r, name, '{');
	U(argsz);
	X(flags);
	U(initial_bytes);
	U(dirty_bytes);
	vfc_rec_close(r, '}');
#undef T
}
#endif

/* The tables: per kind, number, name, decoder of the input and output. */
struct dec {
	unsigned int cmd;
	const char *name;
	dec_fn in, out;
};

#define D(c, i, o) { c, #c, i, o }

static const struct dec container_decs[] = {
	D(VFIO_GET_API_VERSION, NULL, NULL),
	D(VFIO_CHECK_EXTENSION, d_ext, NULL),
	D(VFIO_SET_IOMMU, d_ext, NULL),
	D(VFIO_IOMMU_GET_INFO, d_argsz_flags, d_iommu_info),
	D(VFIO_IOMMU_MAP_DMA, d_map_dma, NULL),
	D(VFIO_IOMMU_UNMAP_DMA, d_unmap_dma, d_unmap_dma),
	D(VFIO_IOMMU_ENABLE, NULL, NULL),
	D(VFIO_IOMMU_DISABLE, NULL, NULL),
	D(VFIO_IOMMU_DIRTY_PAGES, d_dirty_pages, NULL),
	D(VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY, d_spapr_memory, NULL),
	D(VFIO_IOMMU_SPAPR_TCE_CREATE, d_spapr_create, d_spapr_create),
	D(VFIO_IOMMU_SPAPR_TCE_REMOVE, d_spapr_remove, NULL),
	D(VFIO_EEH_PE_OP, d_eeh, NULL),
};

static const struct dec group_decs[] = {
	D(VFIO_GROUP_GET_STATUS, d_argsz_flags, d_group_status),
	D(VFIO_GROUP_SET_CONTAINER, d_int, NULL),
	D(VFIO_GROUP_UNSET_CONTAINER, NULL, NULL),
	D(VFIO_GROUP_GET_DEVICE_FD, d_string, NULL),
};

static const struct dec device_decs[] = {
	D(VFIO_DEVICE_GET_INFO, d_argsz_flags, d_device_info),
	D(VFIO_DEVICE_GET_REGION_INFO, d_region_info, d_region_info),
	D(VFIO_DEVICE_GET_IRQ_INFO, d_irq_info, d_irq_info),
	D(VFIO_DEVICE_SET_IRQS, d_set_irqs, NULL),
	D(VFIO_DEVICE_RESET, NULL, NULL),
	D(VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, d_argsz_flags, d_hot_reset_info),
	D(VFIO_DEVICE_PCI_HOT_RESET, d_hot_reset, NULL),
	D(VFIO_DEVICE_QUERY_GFX_PLANE, d_gfx_plane, d_gfx_plane),
	D(VFIO_DEVICE_GET_GFX_DMABUF, d_int, NULL),
	D(VFIO_DEVICE_IOEVENTFD, d_ioeventfd, NULL),
	D(VFIO_DEVICE_FEATURE, d_feature, d_feature),
#ifdef VFIO_DEVICE_BIND_IOMMUFD
	D(VFIO_DEVICE_BIND_IOMMUFD, d_bind_iommufd, d_bind_iommufd),
#endif
#ifdef VFIO_DEVICE_ATTACH_IOMMUFD_PT
	D(VFIO_DEVICE_ATTACH_IOMMUFD_PT, d_attach_pt, d_attach_pt),
#endif
#ifdef VFIO_DEVICE_DETACH_IOMMUFD_PT
	D(VFIO_DEVICE_DETACH_IOMMUFD_PT, d_argsz_flags, NULL),
#endif
#ifdef VFIO_MIG_GET_PRECOPY_INFO
	D(VFIO_MIG_GET_PRECOPY_INFO, d_argsz_flags, d_precopy),
#endif
};

static const struct dec *dec_find(unsigned int kind, unsigned int cmd)
{
	const struct dec *t;
	size_t n;

	switch (kind) {
	case VFC_FILE_CONTAINER:
		t = container_decs, n = VFC_ARRAY_SIZE(container_decs);
		break;
	case VFC_FILE_GROUP:
		t = group_decs, n = VFC_ARRAY_SIZE(group_decs);
		break;
	case VFC_FILE_DEVICE:
		t = device_decs, n = VFC_ARRAY_SIZE(device_decs);
		break;
	default:
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		if (t[i].cmd == cmd)
			return &t[i];
	return NULL;
}

const char *vfc_trace_ioctl_name(unsigned int kind, unsigned int cmd)
{
	const struct dec *d = dec_find(kind, cmd);

	return d ? d->name : NULL;
}

static const char *kind_name(unsigned int kind)
{
	switch (kind) {
	case VFC_FILE_CONTAINER: return "container";
	case VFC_FILE_GROUP: return "group";
	case VFC_FILE_DEVICE: return "device";
	}
	return "file";
}

static void raw_bytes(struct vfc_rec *r, const char *name, const struct view *v)
{
	char hex[VFC_TRACE_RAW_MAX * 2 + 1];
	size_t n = VFC_MIN(v->len, (size_t)VFC_TRACE_RAW_MAX);

	for (size_t i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", v->p[i]);
	hex[2 * n] = '\0';
	vfc_rec_sym(r, name, hex);
}

void vfc_trace_decode_ioctl(struct vfc_rec *r, const struct vfc_trace_ioctl *c,
			    const char *notes)
{
	const struct dec *d = dec_find(c->kind, c->cmd);
	struct view in = { c->in, c->in ? c->in_len : 0 };
	struct view out = { c->out, c->out ? c->out_len : 0 };
	const char *ename = NULL;
	char cmd[16];

	snprintf(cmd, sizeof(cmd), "0x%x", c->cmd);
	if (c->result < 0 && strcmp(vfc_trace_errno_name(-c->result), "errno"))
		ename = vfc_trace_errno_name(-c->result);
	if (r->json) {
		vfc_rec_i(r, "pid", c->pid);
		vfc_rec_sym(r, "file", kind_name(c->kind));
		vfc_rec_u(r, "file_id", c->file_id);
		vfc_rec_sym(r, "name", d ? d->name : "unknown");
		vfc_rec_sym(r, "cmd", cmd);
		if (!d) {
			vfc_rec_x(r, "arg", c->arg);
			if (in.len)
				raw_bytes(r, "in", &in);
		} else if (d->in) {
			d->in(r, "arg", &in, c);
		}
		if (d && d->out && out.len)
			d->out(r, "out", &out, c);
		else if (!d && out.len)
			raw_bytes(r, "out", &out);
		vfc_rec_i(r, "result", c->result);
		if (c->result < 0) {
			if (ename)
				vfc_rec_sym(r, "errno", ename);
			else
				vfc_rec_i(r, "errno", -c->result);
		}
		if (c->injected)
			vfc_rec_bool(r, "injected", true);
		if (notes && *notes) {
			vfc_rec_open(r, "resolved", '{');
			vfc_rec_pairs(r, notes);
			vfc_rec_close(r, '}');
		}
		vfc_rec_u(r, "duration_ns", c->duration_ns);
		return;
	}

	/* [pid 1234] container 3: VFIO_IOMMU_MAP_DMA({...}) = 0 <1.2us> */
	vfc_rec_printf(r, "[pid %d] %s %llu: %s(", (int)c->pid, kind_name(c->kind),
		       (unsigned long long)c->file_id, d ? d->name : cmd);
	r->first[0] = true;
	if (!d) {
		vfc_rec_x(r, "arg", c->arg);
		if (in.len)
			raw_bytes(r, "in", &in);
	} else if (d->in) {
		d->in(r, NULL, &in, c);
	}
	if (d && d->out && out.len) {
		vfc_rec_raw(r, " => ", 4);
		r->first[0] = true;
		d->out(r, NULL, &out, c);
	} else if (!d && out.len) {
		vfc_rec_raw(r, " => ", 4);
		r->first[0] = true;
		raw_bytes(r, "out", &out);
	}
	vfc_rec_raw(r, ")", 1);
	if (c->result >= 0)
		vfc_rec_printf(r, " = %d", c->result);
	else if (c->injected)
		vfc_rec_printf(r, " = -1 %s (injected)", ename ? ename : "?");
	else if (ename)
		vfc_rec_printf(r, " = -1 %s (%s)", ename, strerror(-c->result));
	else
		vfc_rec_printf(r, " = -1 errno %d", -c->result);
	if (notes && *notes)
		vfc_rec_printf(r, " [%s]", notes);
	vfc_rec_printf(r, " <%llu.%03lluus>", (unsigned long long)(c->duration_ns / 1000),
		       (unsigned long long)(c->duration_ns % 1000));
}
