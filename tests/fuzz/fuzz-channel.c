// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness: the channel protocol (include/vfc-channel-proto.h) as
 * vfio-cused parses it, one message at a time through vfc_channel_handle()
 * (cuse/channel.c), without a socket. The daemon's state is set up once, as
 * in tests/test-channel.c: the emulated IOMMU and a pcitest device, a
 * container with its token, the device's file with its token, and an
 * unbound device file with a token. An input is a sequence of messages:
 * a selector byte (which token to put in, or the input's own bytes; the
 * recvmsg flags), a length and the bytes. Every reply must be 0 with an fd
 * or -errno without one; an fd sent is checked and closed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/vfio.h>

#include "daemon.h"
#include "emu-iommu.h"
#include "emu-pci.h"
#include "fuzz-util.h"
#include "vfc-channel-proto.h"
#include "vfc-log.h"

#define NAME "0000:00:05.0"

static struct {
	struct vfc_daemon d;
	struct vfc_config cfg;
	struct vfc_emu_iommu_config emu_cfg;
	struct vfc_emu_pci *pci;
	struct vfc_file *c, *g, *dev, *unbound;
	struct vfc_cuse_file cf, df, uf;	/* what files.c would hold */
	uint8_t token[3][VFC_CHANNEL_TOKEN_SIZE];
	struct vfc_device_file *installed;
} g;

static void die(const char *what, int r)
{
	fprintf(stderr, "fuzz-channel: %s: %s\n", what, strerror(-r));
	exit(1);
}

static int get_container(struct vfc_caller *caller, int fd, struct vfc_container **ret)
{
	*ret = vfc_container_ref(vfc_file_container(g.c));
	return 0;
}

static int install(struct vfc_caller *caller, struct vfc_device_file *df)
{
	g.installed = df;
	return 3;
}

static const struct vfc_caller_ops ops = { .get_container = get_container, .install_device = install };

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct vfc_caller caller = { .ops = &ops };
	/* The name at a page's end: GET_DEVICE_FD reads up to it. */
	static char page[4096] __attribute__((aligned(4096)));
	char *name = page + sizeof(page) - sizeof(NAME);
	struct vfc_group *grp;
	int32_t cfd = 3;
	struct vfc_ioctl io;
	int r;

	vfc_log_set_max_level(getenv("FUZZ_VERBOSE") ? 7 : 2);
	g.d.cfg = &g.cfg;
	pthread_mutex_init(&g.d.files_lock, NULL);
	vfc_emu_iommu_config_init(&g.emu_cfg);
	g.emu_cfg.vaddr_wait_ms = 0;
	if ((r = vfc_core_new(&g.d.core)) < 0 ||
	    (r = vfc_core_add_iommu_driver(g.d.core, &vfc_emu_iommu_ops, &g.emu_cfg)) < 0 ||
	    (r = vfc_core_add_group(g.d.core, 9, NULL, &grp)) < 0 ||
	    (r = vfc_emu_pci_create("pcitest", NULL, &g.pci)) < 0 ||
	    (r = vfc_emu_pci_register(g.pci, grp, NAME, NULL)) < 0)
		die("core", r);
	if ((r = vfc_file_open_container(g.d.core, &g.c)) < 0 ||
	    (r = vfc_file_open_group(g.d.core, 9, &g.g)) < 0)
		die("open", r);
	io = (struct vfc_ioctl){ .cmd = VFIO_GROUP_SET_CONTAINER, .in = &cfd, .in_len = 4,
				 .caller = &caller };
	if ((r = vfc_file_ioctl(g.g, &io)) < 0)
		die("SET_CONTAINER", r);
	io = (struct vfc_ioctl){ .cmd = VFIO_SET_IOMMU, .arg = VFIO_TYPE1v2_IOMMU };
	if ((r = vfc_file_ioctl(g.c, &io)) < 0)
		die("SET_IOMMU", r);
	memcpy(name, NAME, sizeof(NAME));
	io = (struct vfc_ioctl){ .cmd = VFIO_GROUP_GET_DEVICE_FD, .arg = (uintptr_t)name,
				 .in = name, .in_len = sizeof(NAME), .caller = &caller };
	if ((r = vfc_file_ioctl(g.g, &io)) < 0)
		die("GET_DEVICE_FD", r);
	if ((r = vfc_file_new_device(g.installed, &g.dev)) < 0 ||
	    (r = vfc_file_new_device(NULL, &g.unbound)) < 0)
		die("device file", r);
	g.cf.file = g.c;
	g.df.file = g.dev;
	g.uf.file = g.unbound;
	g.d.channel_running = true;	/* tokens, without the thread */
	if ((r = vfc_channel_token(&g.d, &g.cf, g.token[0])) < 0 ||
	    (r = vfc_channel_token(&g.d, &g.df, g.token[1])) < 0 ||
	    (r = vfc_channel_token(&g.d, &g.uf, g.token[2])) < 0)
		die("token", r);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	struct fz_in in = { data, n };

	for (int k = 0; k < 64 && in.n; k++) {
		uint8_t raw[sizeof(struct vfc_channel_mmap) + 1];
		uint8_t sel = fz_u8(&in);
		size_t len = fz_u8(&in) % (sizeof(raw) + 1);
		unsigned int which = sel & 3, fl = sel >> 2 & 7;
		int flags = fl == 7 ? MSG_TRUNC : fl == 6 ? MSG_CTRUNC : 0;
		struct vfc_channel_reply rep;
		int fd;

		fz_bytes(&in, raw, len);
		memset(raw + len, 0xa5, sizeof(raw) - len);
		if (which < 3 && len >= sizeof(struct vfc_channel_hdr) + VFC_CHANNEL_TOKEN_SIZE)
			memcpy(raw + sizeof(struct vfc_channel_hdr), g.token[which],
			       VFC_CHANNEL_TOKEN_SIZE);
		vfc_channel_handle(&g.d, 1000, 4242, raw, len, flags, &rep, &fd);
		if (rep.status > 0 || rep.status < -4095 || (fd >= 0) != (rep.status == 0) ||
		    rep.reserved) {
			fprintf(stderr, "fuzz-channel: reply status %d with fd %d\n", rep.status, fd);
			abort();
		}
		if (fd >= 0) {
			struct stat st;

			if (fstat(fd, &st) < 0)
				abort();	/* an fd we were given must be open */
			close(fd);
		}
	}
	return 0;
}
