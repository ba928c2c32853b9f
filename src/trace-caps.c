/* SPDX-License-Identifier: MIT */
/*
 * The trace decoder's capability chains (vfio_info_cap_header, offsets from
 * the info struct's start): IOMMU_GET_INFO's, REGION_INFO's and
 * DEVICE_GET_INFO's. A chain is followed only forwards, inside the bytes
 * the call wrote back, for at most VFC_TRACE_CAPS_MAX capabilities.
 */
#include "trace-field.h"

/* Capability chains (offsets from the info struct's start) */

typedef void (*cap_fn)(struct vfc_rec *r, const struct view *v, uint16_t id, size_t off,
		       size_t end);

static void caps_chain(struct vfc_rec *r, const struct view *v, uint64_t first, size_t info_size,
		       cap_fn fn)
{
	size_t off = first;

	if (!first || first < info_size || !vhas(v, off, sizeof(struct vfio_info_cap_header)))
		return;
	vfc_rec_open(r, "caps", '[');
	for (unsigned int n = 0; n < VFC_TRACE_CAPS_MAX; n++) {
		struct vfio_info_cap_header h;
		size_t end;

		if (!vhas(v, off, sizeof(h)))
			break;
		memcpy(&h, v->p + off, sizeof(h));
		/* a cap ends where the next begins, or at the end of the bytes */
		end = h.next > off && h.next <= v->len ? h.next : v->len;
		vfc_rec_open(r, NULL, '{');
		fn(r, v, h.id, off, end);
		vfc_rec_u(r, "version", h.version);
		vfc_rec_close(r, '}');
		if (!h.next || h.next <= off)
			break;
		off = h.next;
	}
	vfc_rec_close(r, ']');
}

/* A view of one capability's bytes, so the field macros apply. */
static struct view cap_view(const struct view *v, size_t off, size_t end)
{
	return (struct view){ .p = v->p + off, .len = end - off };
}

static void iommu_cap(struct vfc_rec *r, const struct view *whole, uint16_t id, size_t off,
		      size_t end)
{
	struct view cv = cap_view(whole, off, end), *v = &cv;

	switch (id) {
	case VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE: {
#define T struct vfio_iommu_type1_info_cap_iova_range
		size_t base = offsetof(T, iova_ranges);
		uint64_t n;

		vfc_rec_sym(r, "id", "VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE");
		U(nr_iovas);
		if (!HAS(nr_iovas))
			break;
		n = GET(nr_iovas);
		vfc_rec_open(r, "iova_ranges", '[');
		for (uint64_t i = 0; i < n && i < VFC_TRACE_ARRAY_MAX; i++) {
			size_t o = base + i * sizeof(struct vfio_iova_range);

			if (!vhas(v, o, sizeof(struct vfio_iova_range)))
				break;
			vfc_rec_open(r, NULL, '{');
			vfc_rec_x(r, "start", vget(v, o, 8));
			vfc_rec_x(r, "end", vget(v, o + 8, 8));
			vfc_rec_close(r, '}');
		}
		vfc_rec_close(r, ']');
		break;
#undef T
	}
	case VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION:
#define T struct vfio_iommu_type1_info_cap_migration
		vfc_rec_sym(r, "id", "VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION");
		U(flags);
		X(pgsize_bitmap);
		U(max_dirty_bitmap_size);
		break;
#undef T
	case VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL:
#define T struct vfio_iommu_type1_info_dma_avail
		vfc_rec_sym(r, "id", "VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL");
		U(avail);
		break;
#undef T
	default:
		vfc_rec_u(r, "id", id);
	}
}

static void region_cap(struct vfc_rec *r, const struct view *whole, uint16_t id, size_t off,
		       size_t end)
{
	struct view cv = cap_view(whole, off, end), *v = &cv;

	switch (id) {
	case VFIO_REGION_INFO_CAP_SPARSE_MMAP: {
#define T struct vfio_region_info_cap_sparse_mmap
		size_t base = offsetof(T, areas);
		uint64_t n;

		vfc_rec_sym(r, "id", "VFIO_REGION_INFO_CAP_SPARSE_MMAP");
		U(nr_areas);
		if (!HAS(nr_areas))
			break;
		n = GET(nr_areas);
		vfc_rec_open(r, "areas", '[');
		for (uint64_t i = 0; i < n && i < VFC_TRACE_ARRAY_MAX; i++) {
			size_t o = base + i * sizeof(struct vfio_region_sparse_mmap_area);

			if (!vhas(v, o, sizeof(struct vfio_region_sparse_mmap_area)))
				break;
			vfc_rec_open(r, NULL, '{');
			vfc_rec_x(r, "offset", vget(v, o, 8));
			vfc_rec_x(r, "size", vget(v, o + 8, 8));
			vfc_rec_close(r, '}');
		}
		vfc_rec_close(r, ']');
		break;
#undef T
	}
	case VFIO_REGION_INFO_CAP_TYPE:
#define T struct vfio_region_info_cap_type
		vfc_rec_sym(r, "id", "VFIO_REGION_INFO_CAP_TYPE");
		X(type);
		U(subtype);
		break;
#undef T
	case VFIO_REGION_INFO_CAP_MSIX_MAPPABLE:
		vfc_rec_sym(r, "id", "VFIO_REGION_INFO_CAP_MSIX_MAPPABLE");
		break;
	case VFIO_REGION_INFO_CAP_NVLINK2_SSATGT:
#define T struct vfio_region_info_cap_nvlink2_ssatgt
		vfc_rec_sym(r, "id", "VFIO_REGION_INFO_CAP_NVLINK2_SSATGT");
		X(tgt);
		break;
#undef T
	case VFIO_REGION_INFO_CAP_NVLINK2_LNKSPD:
#define T struct vfio_region_info_cap_nvlink2_lnkspd
		vfc_rec_sym(r, "id", "VFIO_REGION_INFO_CAP_NVLINK2_LNKSPD");
		U(link_speed);
		break;
#undef T
	default:
		vfc_rec_u(r, "id", id);
	}
}

static void device_cap(struct vfc_rec *r, const struct view *v, uint16_t id, size_t off,
		       size_t end)
{
	static const char *const names[] = {
		NULL, "VFIO_DEVICE_INFO_CAP_ZPCI_BASE", "VFIO_DEVICE_INFO_CAP_ZPCI_GROUP",
		"VFIO_DEVICE_INFO_CAP_ZPCI_UTIL", "VFIO_DEVICE_INFO_CAP_ZPCI_PFIP",
	};

	if (id < VFC_ARRAY_SIZE(names) && names[id])
		vfc_rec_sym(r, "id", names[id]);
	else
		vfc_rec_u(r, "id", id);
}


void vfc_trace_caps_iommu(struct vfc_rec *r, const struct view *v, uint64_t first,
			  size_t info_size)
{
	caps_chain(r, v, first, info_size, iommu_cap);
}

void vfc_trace_caps_region(struct vfc_rec *r, const struct view *v, uint64_t first,
			   size_t info_size)
{
	caps_chain(r, v, first, info_size, region_cap);
}

void vfc_trace_caps_device(struct vfc_rec *r, const struct view *v, uint64_t first,
			   size_t info_size)
{
	caps_chain(r, v, first, info_size, device_cap);
}
