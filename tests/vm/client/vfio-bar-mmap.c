/* SPDX-License-Identifier: MIT */
/*
 * vfio-bar-mmap DIR GROUP BDF: BAR mmap through vfio-cused's channel, run
 * under vfio-cuse-run against an emulated pcitest (BAR2: 64 KiB of RAM,
 * mappable; BAR0: registers, trapped). Prints one line per check,
 * "ok: ..." or "FAIL: ...", and exits 1 on any failure.
 * It also speaks to the channel itself, as a hostile client would:
 * malformed messages and a token of no file.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "vfc-channel-proto.h"
#include "vfc-cuse-proto.h"

static int failed;

#define CHECK(what, cond)                                                          \
	do {                                                                       \
		if (cond) {                                                        \
			printf("ok: %s\n", what);                                  \
		} else {                                                           \
			printf("FAIL: %s (errno %s)\n", what,                      \
			       strerrorname_np(errno) ?: "0");                     \
			failed = 1;                                                \
		}                                                                  \
	} while (0)

static int mmap_errno(int dev, uint64_t off, size_t len, int prot, int flags)
{
	void *p;

	errno = 0;
	p = mmap(NULL, len, prot, flags, dev, (off_t)off);
	if (p != MAP_FAILED) {
		munmap(p, len);
		return 0;
	}
	return errno;
}

/* One raw request on the channel; the reply's status. */
static int raw(const char *path, const void *msg, size_t len)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct vfc_channel_reply rep = { .status = 1 };
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    send(s, msg, len, 0) != (ssize_t)len || recv(s, &rep, sizeof(rep), 0) != sizeof(rep))
		rep.status = 1;
	if (s >= 0)
		close(s);
	return rep.status;
}

int main(int argc, char **argv)
{
	struct vfio_region_info bar2 = { .argsz = sizeof(bar2), .index = 2 };
	struct vfio_region_info bar0 = { .argsz = sizeof(bar0), .index = 0 };
	struct vfc_cuse_channel_token t = { 0 };
	struct vfc_channel_mmap m = { .hdr = { .op = VFC_CHANNEL_MMAP }, .length = 4096,
				      .prot = PROT_READ, .flags = MAP_SHARED };
	const long page = sysconf(_SC_PAGESIZE);
	char path[256], buf[16];
	uint8_t *map;
	int c, g, d;

	if (argc != 4)
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(path, sizeof(path), "%s/vfio", argv[1]);
	c = open(path, O_RDWR | O_CLOEXEC);
	snprintf(path, sizeof(path), "%s/%s", argv[1], argv[2]);
	g = open(path, O_RDWR | O_CLOEXEC);
	if (c < 0 || g < 0 || ioctl(g, VFIO_GROUP_SET_CONTAINER, &c) < 0 ||
	    ioctl(c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0) {
		printf("FAIL: setup: %s\n", strerror(errno));
		return 1;
	}
	d = ioctl(g, VFIO_GROUP_GET_DEVICE_FD, argv[3]);
	CHECK("GET_DEVICE_FD", d >= 0);
	CHECK("BAR2 region info: READ|WRITE|MMAP",
	      ioctl(d, VFIO_DEVICE_GET_REGION_INFO, &bar2) == 0 && bar2.flags == 7 &&
	      bar2.size == 65536);
	CHECK("BAR0 region info: READ|WRITE, trapped",
	      ioctl(d, VFIO_DEVICE_GET_REGION_INFO, &bar0) == 0 && bar0.flags == 3);

	map = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_SHARED, d, (off_t)bar2.offset);
	CHECK("mmap of BAR2, 64 KiB, shared, read-write", map != MAP_FAILED);
	if (map == MAP_FAILED)
		return 1;
	memcpy(map + 100, "through the map", 16);
	CHECK("what the mapping wrote, pread reads",
	      pread(d, buf, 16, (off_t)(bar2.offset + 100)) == 16 &&
	      !memcmp(buf, "through the map", 16));
	CHECK("what pwrite wrote, the mapping shows",
	      pwrite(d, "through pwrite!", 16, (off_t)(bar2.offset + 60000)) == 16 &&
	      !memcmp(map + 60000, "through pwrite!", 16));
	{
		/* Small accesses travel in the ioctl's number and result; the
		 * values that would read as an errno, and short reads, take a
		 * second ioctl (include/vfc-cuse-proto.h). Both ways agree with
		 * the mapping. */
		static const uint32_t vals[] = { 0, 0xffffffff, 0x80000000, 0x7ffff000,
						 0x7ffff001, 0x7fffffff, 0xfffff001, 0x12345678 };
		bool ok = true;
		uint32_t v;
		uint16_t h;
		uint8_t b;

		for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
			memcpy(map + 200, &vals[i], 4);
			ok = ok && pread(d, &v, 4, (off_t)(bar2.offset + 200)) == 4 && v == vals[i];
			v = ~vals[i];
			ok = ok && pwrite(d, &v, 4, (off_t)(bar2.offset + 204)) == 4 &&
			     !memcmp(map + 204, &v, 4);
		}
		CHECK("4-byte pread and pwrite of values across the whole range agree with the map",
		      ok);
		memcpy(map + 301, "\x34\x12\x56", 3);
		CHECK("2- and 1-byte pread at odd offsets",
		      pread(d, &h, 2, (off_t)(bar2.offset + 301)) == 2 && h == 0x1234 &&
		      pread(d, &b, 1, (off_t)(bar2.offset + 303)) == 1 && b == 0x56);
		memcpy(map + 65534, "\xab\xcd", 2);
		v = 0;
		CHECK("a 4-byte pread 2 bytes before the BAR's end reads those 2",
		      pread(d, &v, 4, (off_t)(bar2.offset + 65534)) == 2 &&
		      !memcmp(&v, "\xab\xcd", 2));
		CHECK("a 4-byte pread at the BAR's end: EINVAL",
		      pread(d, &v, 4, (off_t)(bar2.offset + 65536)) == -1 && errno == EINVAL);
	}
	{
		long at = 60000 / page * page;
		uint8_t *p2 = mmap(NULL, page, PROT_READ, MAP_SHARED, d, (off_t)(bar2.offset + at));

		CHECK("a second mapping, of one page at an offset, shares it",
		      p2 != MAP_FAILED && !memcmp(p2 + (60000 - at), map + 60000, 16));
		if (p2 != MAP_FAILED)
			munmap(p2, page);
	}
	close(d);
	/* Documented difference (docs/abi.md): the kernel keeps a mapped
	 * device open; here the last close closes it, and its reset clears
	 * pcitest's RAM. The mapping itself stays valid. */
	CHECK("after close() the mapping stays valid; the device closed and reset its RAM",
	      map[100] == 0 && map[60000] == 0);
	munmap(map, 65536);

	d = ioctl(g, VFIO_GROUP_GET_DEVICE_FD, argv[3]);
	/* The kernel's errors for mmap of a device fd. */
	CHECK("BAR0 (registers): EINVAL",
	      mmap_errno(d, bar0.offset, 4096, PROT_READ, MAP_SHARED) == EINVAL);
	CHECK("MAP_PRIVATE: EINVAL",
	      mmap_errno(d, bar2.offset, 4096, PROT_READ, MAP_PRIVATE) == EINVAL);
	CHECK("offset not page-aligned: EINVAL",
	      mmap_errno(d, bar2.offset + 16, 4096, PROT_READ, MAP_SHARED) == EINVAL);
	CHECK("past the region: EINVAL",
	      mmap_errno(d, bar2.offset + 61440, 8192, PROT_READ, MAP_SHARED) == EINVAL);
	CHECK("config region: EINVAL",
	      mmap_errno(d, 7ull << 40, 4096, PROT_READ, MAP_SHARED) == EINVAL);
	CHECK("no such region: EINVAL",
	      mmap_errno(d, 20ull << 40, 4096, PROT_READ, MAP_SHARED) == EINVAL);
	CHECK("length 0: EINVAL", mmap_errno(d, bar2.offset, 0, PROT_READ, MAP_SHARED) == EINVAL);
	CHECK("a group fd: ENODEV (no mmap)",
	      mmap_errno(g, 0, 4096, PROT_READ, MAP_SHARED) == ENODEV);

	/* The channel, spoken to directly. */
	CHECK("channel token of the device file",
	      ioctl(d, VFC_CUSE_CHANNEL_TOKEN, &t) == 0 && t.path[0] == '/');
	CHECK("channel token of a group file: ENOTTY",
	      ioctl(g, VFC_CUSE_CHANNEL_TOKEN, &t) < 0 && errno == ENOTTY);
	memset(m.token, 0x5a, sizeof(m.token));
	m.offset = bar2.offset;
	CHECK("a token of no file: EBADF", raw(t.path, &m, sizeof(m)) == -EBADF);
	CHECK("a short message: EINVAL", raw(t.path, &m, sizeof(m) - 1) == -EINVAL);
	{
		uint8_t longer[sizeof(m) + 8] = { 0 };

		memcpy(longer, &m, sizeof(m));
		CHECK("a long message: EINVAL", raw(t.path, longer, sizeof(longer)) == -EINVAL);
	}
	m.hdr.op = 9;
	CHECK("an unknown op: EINVAL", raw(t.path, &m, sizeof(m)) == -EINVAL);
	m.hdr.op = VFC_CHANNEL_MMAP;
	m.hdr.reserved = 1;
	CHECK("a reserved field set: EINVAL", raw(t.path, &m, sizeof(m)) == -EINVAL);
	m.hdr.reserved = 0;
	/* The device file's own token asks for the wrong things. */
	{
		struct vfc_channel_iommu_fd io = { .hdr = { .op = VFC_CHANNEL_IOMMU_FD } };
		struct vfc_cuse_channel_token ct = { 0 };

		memcpy(io.token, t.token, sizeof(io.token));
		CHECK("IOMMU_FD with a device file's token: ENOTTY",
		      raw(t.path, &io, sizeof(io)) == -ENOTTY);
		CHECK("channel token of the container file", ioctl(c, VFC_CUSE_CHANNEL_TOKEN, &ct) == 0);
		memcpy(m.token, ct.token, sizeof(m.token));
		CHECK("MMAP with a container file's token: ENODEV", raw(t.path, &m, sizeof(m)) == -ENODEV);
		memcpy(io.token, ct.token, sizeof(io.token));
		CHECK("IOMMU_FD of an emulated container: EOPNOTSUPP",
		      raw(t.path, &io, sizeof(io)) == -EOPNOTSUPP);
	}
	/* A file that is gone: its token names nothing any more. */
	memcpy(m.token, t.token, sizeof(m.token));
	CHECK("MMAP with the device file's token, file open: works",
	      raw(t.path, &m, sizeof(m)) == 0);
	close(d);
	CHECK("MMAP with the token of a released file: EBADF", raw(t.path, &m, sizeof(m)) == -EBADF);
	return failed;
}
