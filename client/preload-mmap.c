/* SPDX-License-Identifier: MIT */
/*
 * libvfio-cuse-preload.so, part 3: mmap of a device fd. CUSE has no mmap,
 * so the library asks the daemon over its channel (vfc-channel-proto.h)
 * for a file that maps what the device fd would, and maps that instead:
 * the caller gets an ordinary MAP_SHARED mapping of the device's memory.
 * Every other fd goes to the real mmap untouched, errno included. The
 * checks mmap(2) makes before a driver sees the call are made here, in
 * the kernel's order; the driver's (vfio_pci_core_mmap()) in the daemon.
 */
#include "preload-priv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "vfc-channel-proto.h"
#include "vfc-cuse-proto.h"

int vfc_preload_channel(int fd, void *msg, size_t len, uint64_t *ret_off)
{
	const struct vfc_preload_real *r = vfc_preload_real();
	struct vfc_cuse_channel_token t = { 0 };
	struct vfc_channel_reply rep = { 0 };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } cm;
	struct iovec iov = { .iov_base = &rep, .iov_len = sizeof(rep) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &cm,
			     .msg_controllen = sizeof(cm) };
	int sock, got = -1, err;
	ssize_t n;

	if (r->ioctl(fd, VFC_CUSE_CHANNEL_TOKEN, &t) < 0)
		return errno == EOPNOTSUPP || errno == ENOTTY ? -ENODEV : -errno;
	/* Every request carries the token right after its header. */
	memcpy((uint8_t *)msg + sizeof(struct vfc_channel_hdr), t.token, sizeof(t.token));
	t.path[sizeof(t.path) - 1] = '\0';
	memcpy(sa.sun_path, t.path, sizeof(sa.sun_path) - 1);
	sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (sock < 0)
		return -errno;
	if (connect(sock, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    send(sock, msg, len, MSG_NOSIGNAL) != (ssize_t)len) {
		err = errno;
		close(sock);
		return -(err == ENOENT || err == ECONNREFUSED ? ENODEV : err);
	}
	memset(&cm, 0, sizeof(cm));
	n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	err = errno;
	close(sock);
	if (n < 0)
		return -err;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(&got, CMSG_DATA(c), sizeof(got));
	if (n != (ssize_t)sizeof(rep) || (rep.status == 0) != (got >= 0) || rep.status > 0) {
		if (got >= 0)
			close(got);
		return -EPROTO;
	}
	if (rep.status < 0)
		return rep.status;
	*ret_off = rep.offset;
	return got;
}

static void *device_mmap(void *addr, size_t len, int prot, int flags, int fd, uint64_t off)
{
	const struct vfc_preload_real *r = vfc_preload_real();
	const uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	int saved = errno, type = flags & MAP_TYPE, mode, mfd;
	uint64_t moff = 0;
	void *p;

	/* mmap(2) before the driver: length, offset, map type, file mode. */
	if (!len || off % page) {
		errno = EINVAL;
		return MAP_FAILED;
	}
	if (type != MAP_SHARED && type != MAP_SHARED_VALIDATE && type != MAP_PRIVATE) {
		errno = EINVAL;
		return MAP_FAILED;
	}
	mode = fcntl(fd, F_GETFL);
	if (mode < 0)
		return MAP_FAILED;
	mode &= O_ACCMODE;
	if (mode == O_WRONLY || (type != MAP_PRIVATE && (prot & PROT_WRITE) && mode != O_RDWR)) {
		errno = EACCES;
		return MAP_FAILED;
	}
	{
		struct vfc_channel_mmap m = { .hdr = { .op = VFC_CHANNEL_MMAP }, .offset = off,
					      .length = len, .prot = (uint32_t)prot,
					      .flags = (uint32_t)flags };

		mfd = vfc_preload_channel(fd, &m, sizeof(m), &moff);
	}
	if (mfd < 0) {
		errno = -mfd;
		return MAP_FAILED;
	}
	p = r->mmap64(addr, len, prot, flags, mfd, (off64_t)moff);
	if (p != MAP_FAILED)
		errno = saved;
	saved = errno;
	close(mfd);	/* the mapping keeps the file */
	errno = saved;
	return p;
}

/*
 * Whether @fd is a device fd of ours. Numbers found to be other files are
 * remembered until they are freed, so mmap of other files costs no
 * syscall of ours after the first (bench/bench-mmap-other.sh).
 */
static bool is_device_cached(int fd, int flags)
{
	return !(flags & MAP_ANONYMOUS) && vfc_preload_is_device_cached(fd);
}

/* CUSE files have no mmap: ENODEV from the real one on a remembered number. */
static bool is_stale(void *p, int fd, int flags)
{
	return p == MAP_FAILED && !(flags & MAP_ANONYMOUS) &&
	       vfc_preload_stale_other(fd, errno, ENODEV);
}

/**
 * mmap() - the interposer for every mmap of the process: device fds of
 * vfio-cused go to device_mmap(), everything else to the real mmap.
 */
VFC_EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	const struct vfc_preload_real *r = vfc_preload_real();
	int saved = errno;
	void *p;

	if (is_device_cached(fd, flags))
		return device_mmap(addr, len, prot, flags, fd, (uint64_t)off);
	if (!r->mmap) {
		errno = ENOSYS;
		return MAP_FAILED;
	}
	p = r->mmap(addr, len, prot, flags, fd, off);
	if (is_stale(p, fd, flags)) {
		errno = saved;
		return device_mmap(addr, len, prot, flags, fd, (uint64_t)off);
	}
	return p;
}

VFC_EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off64_t off)
{
	const struct vfc_preload_real *r = vfc_preload_real();
	int saved = errno;
	void *p;

	if (is_device_cached(fd, flags))
		return device_mmap(addr, len, prot, flags, fd, (uint64_t)off);
	if (!r->mmap64) {
		errno = ENOSYS;
		return MAP_FAILED;
	}
	p = r->mmap64(addr, len, prot, flags, fd, off);
	if (is_stale(p, fd, flags)) {
		errno = saved;
		return device_mmap(addr, len, prot, flags, fd, (uint64_t)off);
	}
	return p;
}
