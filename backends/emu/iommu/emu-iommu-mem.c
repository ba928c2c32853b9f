// SPDX-License-Identifier: MIT
/*
 * The software IOMMU's look at a MAP_DMA caller's memory. The kernel's
 * type1 pins the range with pin_user_pages(FOLL_LONGTERM, plus FOLL_WRITE
 * when the device may write), which fails with EFAULT where nothing is
 * mapped, where the mapping lacks the permission the pin asks for (VM_WRITE
 * with FOLL_WRITE, VM_READ without it: so PROT_NONE never pins), and
 * anywhere in a range that is only partly mapped. We judge the same from
 * the caller's memory map, without pinning or touching a page, so the cost
 * is O(mappings of the caller the range spans), not O(pages).
 *
 * The map is read through one fd on /proc/<pid>/maps per owner, opened at
 * the owner's first MAP_DMA and kept until the owner goes: with the
 * PROCMAP_QUERY ioctl (Linux 6.11+) one query per VMA the range spans,
 * otherwise by reading the text up to the range's end. The caller is in
 * its ioctl, so it is alive while we look; an fd opened before the owner
 * called exec() names its old memory (queries fail, the text is empty),
 * and is opened again once.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "emu-iommu-priv.h"
#include "vfc-log.h"

/*
 * PROCMAP_QUERY, from <linux/fs.h> of Linux 6.11 and later; Debian 12's
 * headers (6.1) lack it. The kernel takes any size from query_addr's end on.
 */
#ifndef PROCMAP_QUERY
struct procmap_query {
	uint64_t size;
	uint64_t query_flags;
	uint64_t query_addr;
	uint64_t vma_start;
	uint64_t vma_end;
	uint64_t vma_flags;
	uint64_t vma_page_size;
	uint64_t vma_offset;
	uint64_t inode;
	uint32_t dev_major;
	uint32_t dev_minor;
	uint32_t vma_name_size;
	uint32_t build_id_size;
	uint64_t vma_name_addr;
	uint64_t build_id_addr;
};
#define PROCMAP_QUERY _IOWR('f', 17, struct procmap_query)
#define PROCMAP_QUERY_VMA_READABLE 0x01
#define PROCMAP_QUERY_VMA_WRITABLE 0x02
#endif

/* Text lines longer than this (long paths) are skipped past their start. */
#define MAPS_BUF 16384

/* Open @o's /proc/<pid>/maps and make sure it is @o's process. */
static int maps_open(struct vfc_emu_owner *o)
{
	char path[32];
	struct pollfd pfd = { .fd = o->pidfd, .events = POLLIN };
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)o->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int r = errno;

		vfc_info("emu-iommu: owner %d: cannot read its memory map: %s", (int)o->pid,
			 strerror(r));
		return r == ENOENT || r == ESRCH ? -ESRCH : -EFAULT;
	}
	/* Alive after the open: the file is of that process, not of one that
	 * reused its pid. */
	if (o->pidfd >= 0 && poll(&pfd, 1, 0) != 0) {
		close(fd);
		return -ESRCH;
	}
	o->maps_fd = fd;
	return 0;
}

static bool perm_ok(bool readable, bool writable, bool write)
{
	return write ? writable : readable;
}

/*
 * With PROCMAP_QUERY: 0, -EFAULT, or -ENOTTY (no such ioctl: use the text)
 * or -ESTALE (the fd names a memory that is gone) for the caller to handle.
 */
static int check_query(int fd, uint64_t va, uint64_t last, bool write)
{
	uint64_t need = va;

	for (;;) {
		struct procmap_query q = { .size = sizeof(q), .query_addr = need };

		if (ioctl(fd, PROCMAP_QUERY, &q) < 0) {
			switch (errno) {
			case ENOENT:	/* no VMA holds @need: a hole */
				return -EFAULT;
			case ENOTTY:
			case EINVAL:
				return -ENOTTY;
			default:	/* ESRCH and the like: the mm is gone */
				return -ESTALE;
			}
		}
		if (q.vma_start > need || q.vma_end <= need)
			return -EFAULT;
		if (!perm_ok(q.vma_flags & PROCMAP_QUERY_VMA_READABLE,
			     q.vma_flags & PROCMAP_QUERY_VMA_WRITABLE, write))
			return -EFAULT;
		if (q.vma_end - 1 >= last)
			return 0;
		need = q.vma_end;
	}
}

/* One line's "start-end perms"; false for anything else. */
static bool parse_line(const char *p, const char *end, uint64_t *ret_start, uint64_t *ret_end,
		       bool *ret_r, bool *ret_w)
{
	uint64_t v[2] = { 0, 0 };

	for (int i = 0; i < 2; i++) {
		const char *s = p;

		for (; p < end && ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')); p++)
			v[i] = v[i] << 4 | (uint64_t)(*p <= '9' ? *p - '0' : *p - 'a' + 10);
		if (p == s || p >= end || *p != (i ? ' ' : '-'))
			return false;
		p++;
	}
	if (end - p < 2)
		return false;
	*ret_start = v[0];
	*ret_end = v[1];
	*ret_r = p[0] == 'r';
	*ret_w = p[1] == 'w';
	return true;
}

/*
 * By reading the text, lines in address order, up to the range's end.
 * Return: 0, -EFAULT, or -ESTALE when the file shows no line at all (its
 * memory is gone: no live process has an empty map).
 */
static int check_text(int fd, uint64_t va, uint64_t last, bool write)
{
	char buf[MAPS_BUF];
	size_t have = 0;
	bool any = false, skipping = false;
	uint64_t need = va;

	if (lseek(fd, 0, SEEK_SET) < 0)
		return -ESTALE;
	for (;;) {
		ssize_t n = read(fd, buf + have, sizeof(buf) - have);
		char *p = buf, *nl;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return any ? -EFAULT : -ESTALE;
		have += (size_t)n;
		while ((nl = memchr(p, '\n', have - (size_t)(p - buf)))) {
			uint64_t s, e;
			bool r, w;

			if (skipping) {
				skipping = false;
			} else if (parse_line(p, nl, &s, &e, &r, &w)) {
				any = true;
				if (e > need) {
					if (s > need || !perm_ok(r, w, write))
						return -EFAULT;
					if (e - 1 >= last)
						return 0;
					need = e;
				}
			}
			p = nl + 1;
		}
		have -= (size_t)(p - buf);
		if (have == sizeof(buf)) {
			/* A line longer than the buffer: its start was judged
			 * (or is judged now); drop the rest up to its end. */
			uint64_t s, e;
			bool r, w;

			if (!skipping && parse_line(buf, buf + have, &s, &e, &r, &w) && e > need) {
				any = true;
				if (s > need || !perm_ok(r, w, write))
					return -EFAULT;
				if (e - 1 >= last)
					return 0;
				need = e;
			}
			skipping = true;
			have = 0;
		} else {
			memmove(buf, p, have);
		}
	}
}

int vfc_emu_iommu_check_memory_locked(struct vfc_emu_iommu *iommu, uint32_t idx, uint64_t va,
				      uint64_t size, bool write)
{
	struct vfc_emu_owner *o = &iommu->owners[idx];
	uint64_t last = va + (size - 1);
	int r = -ESTALE;

	for (int attempt = 0; attempt < 2 && r == -ESTALE; attempt++) {
		if (attempt && o->maps_fd >= 0) {
			close(o->maps_fd);
			o->maps_fd = -1;
		}
		if (o->maps_fd < 0) {
			r = maps_open(o);
			if (r)
				return r;
		}
		r = iommu->no_procmap_query ? -ENOTTY : check_query(o->maps_fd, va, last, write);
		if (r == -ENOTTY) {
			iommu->no_procmap_query = true;
			r = check_text(o->maps_fd, va, last, write);
		}
	}
	if (r == -ESTALE)
		r = -EFAULT;
	if (r)
		vfc_debug("emu-iommu: MAP_DMA: owner %d: vaddr 0x%llx size 0x%llx is not %s memory",
			  (int)o->pid, (unsigned long long)va, (unsigned long long)size,
			  write ? "writable" : "readable");
	return r;
}
