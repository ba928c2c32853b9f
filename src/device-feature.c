/* SPDX-License-Identifier: MIT */
/*
 * DEVICE_FEATURE for a device whose own driver answers it (struct
 * vfc_device_ops.feature: the kernel backend, where vfio-pci or a variant
 * driver decides). Every PROBE is the driver's. Features whose payload
 * holds no pointer and hands back no fd go as they are (PCI_VF_TOKEN,
 * MIGRATION, MIG_DEVICE_STATE GET, MIG_DATA_SIZE, DMA_LOGGING_STOP);
 * DMA_LOGGING_START and _REPORT get their pointers made into this
 * process's memory, the caller's ranges copied in and the report's bitmap
 * copied out in bounded chunks. MIG_DEVICE_STATE SET may create a data
 * fd, which CUSE cannot hand to the caller: it is refused with
 * EOPNOTSUPP once the driver's own checks have passed. A feature we do
 * not know is refused alike, since its payload may hold pointers.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "vfc-log.h"
#include "vfc-private.h"

#define GETSET (VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_SET)

/* Words of a report's bitmap moved per round: 1 MiB (32 GiB of 4 KiB pages). */
#define LOG_CHUNK_WORDS (128u * 1024u)
/* The largest report bitmap served: 256 MiB, type1's DIRTY_BITMAP_SIZE_MAX. */
#define LOG_REPORT_MAX_BYTES (256ull << 20)

/* The driver's answer to a PROBE of the same feature and operations. */
static int feature_probe(struct vfc_device *dev, uint32_t flags)
{
	return dev->ops->feature(dev->priv,
				 (flags & (VFIO_DEVICE_FEATURE_MASK | GETSET)) |
					 VFIO_DEVICE_FEATURE_PROBE,
				 NULL, 0);
}

/*
 * A payload of at most @size bytes with no pointer in it: the client's
 * argsz (so the driver's own size check answers), written back when @out.
 */
static int feature_plain(struct vfc_device *dev, struct vfc_ioctl *io, uint32_t flags,
			 size_t argsz, size_t size, bool out)
{
	const size_t hdr = sizeof(struct vfio_device_feature);
	size_t len = VFC_MIN(argsz, size);
	uint8_t buf[hdr + 64];
	int r;

	if (size > 64)
		return -EINVAL;
	r = vfc_feature_need(io, len, out ? len : 0);
	if (r)
		return r;
	memcpy(buf, io->in, hdr + len);
	r = dev->ops->feature(dev->priv, flags, buf + hdr, len);
	if (r == 0 && out && len)
		vfc_ioctl_reply(io, buf, hdr + len);
	return r;
}

/*
 * The first @n ranges at the caller's @addr, into @ranges. The kernel
 * copies them one at a time: Return how many could be read in a row.
 */
static size_t log_read_ranges(struct vfc_device *dev, struct vfc_ioctl *io, uint64_t addr,
			      struct vfio_device_feature_dma_logging_range *ranges, size_t n)
{
	const size_t one = sizeof(*ranges);
	struct iovec remote = { .iov_base = (void *)(uintptr_t)addr, .iov_len = n * one };
	size_t i;

	if (vfc_device_caller_rw(dev, io, ranges, n * one, &remote, 1, false) == 0)
		return n;
	for (i = 0; i < n; i++) {
		remote = (struct iovec){ .iov_base = (void *)(uintptr_t)(addr + i * one),
					 .iov_len = one };
		if (vfc_device_caller_rw(dev, io, &ranges[i], one, &remote, 1, false) < 0)
			break;
	}
	return i;
}

/*
 * DMA_LOGGING_START: the ranges the caller could give, in memory of ours
 * that ends where the first one it could not give would start, at an
 * inaccessible page: the driver checks them in its order and faults
 * where the kernel would have faulted in the caller.
 */
static int feature_log_start(struct vfc_device *dev, struct vfc_ioctl *io, uint32_t flags,
			     size_t argsz)
{
	const size_t hdr = sizeof(struct vfio_device_feature);
	const size_t page = (size_t)sysconf(_SC_PAGESIZE);
	struct vfio_device_feature_dma_logging_control control, k;
	_cleanup_free_ struct vfio_device_feature_dma_logging_range *ranges = NULL;
	size_t n, readable, bytes, map_len;
	uint8_t *map;
	int r;

	r = feature_probe(dev, flags);
	if (r < 0)
		return r;
	r = vfc_feature_check(flags, argsz, VFIO_DEVICE_FEATURE_SET, sizeof(control));
	if (r != 1)
		return r;
	r = vfc_feature_need(io, sizeof(control), sizeof(control));
	if (r)
		return r;
	memcpy(&control, vfc_feature_data(io), sizeof(control));
	k = control;
	n = control.num_ranges;
	if (!n || n > vfc_log_max_ranges()) {
		/* Refused before the ranges are read: the driver says how. */
		k.ranges = 0;
		return dev->ops->feature(dev->priv, flags, &k, sizeof(k));
	}
	ranges = calloc(n, sizeof(*ranges));
	if (!ranges)
		return -ENOMEM;
	readable = log_read_ranges(dev, io, control.ranges, ranges, n);
	bytes = readable * sizeof(*ranges);
	map_len = (bytes + page - 1) / page * page + page;
	map = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (map == MAP_FAILED)
		return -ENOMEM;
	if (mprotect(map + map_len - page, page, PROT_NONE) < 0) {
		munmap(map, map_len);
		return -ENOMEM;
	}
	memcpy(map + map_len - page - bytes, ranges, bytes);
	k.ranges = (uint64_t)(uintptr_t)(map + map_len - page - bytes);
	r = dev->ops->feature(dev->priv, flags, &k, sizeof(k));
	munmap(map, map_len);
	if (r < 0) {
		vfc_info("device \"%s\": DMA_LOGGING_START of %zu ranges: %s", dev->name, n,
			 strerror(-r));
		return r;
	}
	/* The caller's own ranges pointer goes back, with the driver's page size. */
	control.page_size = k.page_size;
	{
		uint8_t reply[sizeof(struct vfio_device_feature) + sizeof(control)];

		memcpy(reply, io->in, hdr);
		memcpy(reply + hdr, &control, sizeof(control));
		vfc_ioctl_reply(io, reply, sizeof(reply));
	}
	return 0;
}

/*
 * DMA_LOGGING_REPORT in chunks of the bitmap: each is read from the caller
 * first (the driver ORs its bits in, as into the pinned pages, and a
 * bitmap that is not there fails before the log is cleared), reported
 * into by the driver, and written back.
 */
static int feature_log_report(struct vfc_device *dev, struct vfc_ioctl *io, uint32_t flags,
			      size_t argsz)
{
	struct vfio_device_feature_dma_logging_report report, k;
	_cleanup_free_ uint64_t *buf = NULL;
	uint64_t ps, nbits, words;
	int r;

	r = feature_probe(dev, flags);
	if (r < 0)
		return r;
	r = vfc_feature_check(flags, argsz, VFIO_DEVICE_FEATURE_GET, sizeof(report));
	if (r != 1)
		return r;
	r = vfc_feature_need(io, sizeof(report), 0);
	if (r)
		return r;
	memcpy(&report, vfc_feature_data(io), sizeof(report));
	ps = report.page_size;
	if (ps < 4096 || (ps & (ps - 1)) || !report.length ||
	    report.iova + report.length < report.iova) {
		/* Refused, or nothing to report, before any bitmap is touched:
		 * the driver answers, with no memory behind the pointer. */
		k = report;
		k.bitmap = 0;
		return dev->ops->feature(dev->priv, flags, &k, sizeof(k));
	}
	nbits = (report.length - 1) / ps + 1;
	words = (nbits + 63) / 64;
	if (words * 8 > LOG_REPORT_MAX_BYTES) {
		vfc_info("device \"%s\": DMA_LOGGING_REPORT: a bitmap of %llu bytes, past the %llu served",
			 dev->name, (unsigned long long)(words * 8), LOG_REPORT_MAX_BYTES);
		return -E2BIG;
	}
	buf = malloc((size_t)VFC_MIN(words, LOG_CHUNK_WORDS) * 8);
	if (!buf)
		return -ENOMEM;
	for (uint64_t w = 0; w < words; w += LOG_CHUNK_WORDS) {
		uint64_t cw = VFC_MIN(words - w, LOG_CHUNK_WORDS);
		uint64_t off = w * 64 * ps, rest = report.length - off;
		struct iovec remote = {
			.iov_base = (void *)(uintptr_t)(report.bitmap + w * 8),
			.iov_len = (size_t)cw * 8 };

		r = vfc_device_caller_rw(dev, io, buf, (size_t)cw * 8, &remote, 1, false);
		if (r < 0)
			return r;
		k = report;
		k.iova = report.iova + off;
		k.length = (rest - 1) / ps + 1 <= cw * 64 ? rest : cw * 64 * ps;
		k.bitmap = (uint64_t)(uintptr_t)buf;
		r = dev->ops->feature(dev->priv, flags, &k, sizeof(k));
		if (r < 0) {
			vfc_info("device \"%s\": DMA_LOGGING_REPORT: %s", dev->name, strerror(-r));
			return r;
		}
		r = vfc_device_caller_rw(dev, io, buf, (size_t)cw * 8, &remote, 1, true);
		if (r < 0)
			return r;
	}
	return 0;
}

int vfc_device_feature_forward(struct vfc_device *dev, struct vfc_ioctl *io, uint32_t flags,
			       size_t argsz)
{
	uint32_t id = flags & VFIO_DEVICE_FEATURE_MASK;
	int r;

	if (flags & VFIO_DEVICE_FEATURE_PROBE)
		return feature_probe(dev, flags);
	switch (id) {
	case VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY:
	case VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP:
	case VFIO_DEVICE_FEATURE_LOW_POWER_EXIT:
		if (dev->ops->pm_entry)	/* the wakeup eventfd is the caller's */
			return vfc_device_feature_low_power(dev, io, id, flags, argsz);
		break;
	case VFIO_DEVICE_FEATURE_PCI_VF_TOKEN:
		return feature_plain(dev, io, flags, argsz, 16, false);
	case VFIO_DEVICE_FEATURE_MIGRATION:
		return feature_plain(dev, io, flags, argsz,
				     sizeof(struct vfio_device_feature_migration), true);
	case VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE:
		if (!(flags & VFIO_DEVICE_FEATURE_SET))
			return feature_plain(dev, io, flags, argsz,
					     sizeof(struct vfio_device_feature_mig_state), true);
		r = feature_probe(dev, flags);
		if (r < 0)
			return r;
		if (argsz < sizeof(struct vfio_device_feature_mig_state))
			return -EINVAL;
		vfc_notice("device \"%s\": MIG_DEVICE_STATE SET refused: a migration data fd "
			   "cannot be handed to the caller over CUSE", dev->name);
		return -EOPNOTSUPP;
#ifdef VFIO_DEVICE_FEATURE_MIG_DATA_SIZE
	case VFIO_DEVICE_FEATURE_MIG_DATA_SIZE:
		return feature_plain(dev, io, flags, argsz,
				     sizeof(struct vfio_device_feature_mig_data_size), true);
#endif
	case VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP:
		return feature_plain(dev, io, flags, argsz, 0, false);
	case VFIO_DEVICE_FEATURE_DMA_LOGGING_START:
		return feature_log_start(dev, io, flags, argsz);
	case VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT:
		return feature_log_report(dev, io, flags, argsz);
	default:
		break;
	}
	r = feature_probe(dev, flags);
	if (r < 0)
		return r;
	vfc_notice("device \"%s\": DEVICE_FEATURE %u refused: its argument is not known to be "
		   "free of pointers and fds", dev->name, id);
	return -EOPNOTSUPP;
}
