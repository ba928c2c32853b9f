/* SPDX-License-Identifier: MIT */
/*
 * The channel (cuse/channel.c, include/vfc-channel-proto.h), in-process:
 * the daemon's own channel thread serves a socket in a temporary rundir,
 * for core files opened here as vfio-cused opens them. A valid MMAP maps
 * pcitest's BAR2; every malformed message, a token of no file, a token of
 * a file the asker does not hold (released), and tokens of the wrong kind
 * of file get their errno; a flood of connections is cut at the limit;
 * none of it disturbs the next request.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "daemon.h"
#include "emu-iommu.h"
#include "emu-pci.h"
#include "vfc-channel-proto.h"
#include "vfc-log.h"

#define NAME "0000:00:05.0"

struct env {
	struct vfc_daemon d;
	struct vfc_config cfg;
	char rundir[64];
	struct vfc_emu_pci *pci;
	struct vfc_file *c, *g, *dev;
	struct vfc_cuse_file cf, df;	/* what files.c would hold */
	uint8_t ctoken[16], dtoken[16];
};

static struct env *the_env;

static int get_container(struct vfc_caller *caller, int fd, struct vfc_container **ret)
{
	*ret = vfc_container_ref(vfc_file_container(the_env->c));
	return 0;
}

static struct vfc_device_file *installed;

static int install(struct vfc_caller *caller, struct vfc_device_file *df)
{
	installed = df;
	return 3;
}

static const struct vfc_caller_ops ops = { .get_container = get_container,
					   .install_device = install };

/* The channel-conns-per-uid the tests configure. */
#define CONNS_UID 5

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	struct vfc_caller caller = { .ops = &ops };
	struct vfc_group *grp;
	char *page = aligned_alloc(4096, 4096), *name;
	int32_t cfd = 3;
	struct vfc_ioctl io;

	assert_non_null(e);
	the_env = e;
	vfc_log_set_max_level(LOG_WARNING);
	snprintf(e->rundir, sizeof(e->rundir), "/tmp/vfc-channel-XXXXXX");
	assert_non_null(mkdtemp(e->rundir));
	e->cfg.rundir = e->rundir;
	e->cfg.channel_conns = 256;
	e->cfg.channel_conns_per_uid = CONNS_UID;	/* configured, not the default */
	e->d.cfg = &e->cfg;
	pthread_mutex_init(&e->d.files_lock, NULL);
	assert_int_equal(vfc_core_new(&e->d.core), 0);
	assert_int_equal(vfc_core_add_iommu_driver(e->d.core, &vfc_emu_iommu_ops, NULL), 0);
	assert_int_equal(vfc_core_add_group(e->d.core, 9, NULL, &grp), 0);
	assert_int_equal(vfc_emu_pci_create("pcitest", NULL, &e->pci), 0);
	assert_int_equal(vfc_emu_pci_register(e->pci, grp, NAME, NULL), 0);

	assert_int_equal(vfc_file_open_container(e->d.core, &e->c), 0);
	assert_int_equal(vfc_file_open_group(e->d.core, 9, &e->g), 0);
	io = (struct vfc_ioctl){ .cmd = VFIO_GROUP_SET_CONTAINER, .in = &cfd, .in_len = 4,
				 .caller = &caller };
	assert_int_equal(vfc_file_ioctl(e->g, &io), 0);
	io = (struct vfc_ioctl){ .cmd = VFIO_SET_IOMMU, .arg = VFIO_TYPE1v2_IOMMU };
	assert_int_equal(vfc_file_ioctl(e->c, &io), 0);
	name = page + 4096 - sizeof(NAME);
	memcpy(name, NAME, sizeof(NAME));
	io = (struct vfc_ioctl){ .cmd = VFIO_GROUP_GET_DEVICE_FD, .arg = (uintptr_t)name,
				 .in = name, .in_len = sizeof(NAME), .caller = &caller };
	assert_int_equal(vfc_file_ioctl(e->g, &io), 3);
	free(page);
	assert_int_equal(vfc_file_new_device(installed, &e->dev), 0);

	e->cf.file = e->c;
	e->df.file = e->dev;
	assert_int_equal(vfc_channel_start(&e->d), 0);
	assert_int_equal(vfc_channel_token(&e->d, &e->cf, e->ctoken), 0);
	assert_int_equal(vfc_channel_token(&e->d, &e->df, e->dtoken), 0);
	assert_memory_not_equal(e->ctoken, e->dtoken, 16);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	vfc_channel_stop(&e->d);
	vfc_channel_forget(&e->d, &e->cf);
	vfc_channel_forget(&e->d, &e->df);
	vfc_file_release(e->dev);
	vfc_file_release(e->g);
	vfc_file_release(e->c);
	vfc_core_free(e->d.core);
	vfc_emu_pci_free(e->pci);
	rmdir(e->rundir);
	free(e);
	return 0;
}

static int conn(struct env *e)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", e->d.channel_path);
	assert_true(s >= 0);
	assert_int_equal(connect(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return s;
}

/* One request on connection @s; the status, and the fd if one came. */
static int ask(int s, const void *msg, size_t len, int *ret_fd, uint64_t *ret_off)
{
	struct vfc_channel_reply rep = { .status = 1 };
	union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } cm;
	struct iovec iov = { .iov_base = &rep, .iov_len = sizeof(rep) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &cm,
			     .msg_controllen = sizeof(cm) };
	int fd = -1;

	assert_int_equal(send(s, msg, len, 0), (ssize_t)len);
	assert_int_equal(recvmsg(s, &mh, MSG_CMSG_CLOEXEC), sizeof(rep));
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		memcpy(&fd, CMSG_DATA(c), sizeof(fd));
	assert_true((rep.status == 0) == (fd >= 0));	/* an fd with success only */
	if (ret_fd)
		*ret_fd = fd;
	else if (fd >= 0)
		close(fd);
	if (ret_off)
		*ret_off = rep.offset;
	return rep.status;
}

static struct vfc_channel_mmap mmap_req(const uint8_t token[16])
{
	struct vfc_channel_mmap m = { .hdr = { .op = VFC_CHANNEL_MMAP },
				      .offset = 2ull << 40, .length = 4096,
				      .prot = PROT_READ | PROT_WRITE, .flags = MAP_SHARED };

	memcpy(m.token, token, 16);
	return m;
}

static void test_mmap(void **state)
{
	struct env *e = *state;
	struct vfc_channel_mmap m = mmap_req(e->dtoken);
	uint64_t off = 1;
	uint32_t v = 0;
	uint8_t *p;
	int s = conn(e), fd;

	assert_int_equal(ask(s, &m, sizeof(m), &fd, &off), 0);
	assert_int_equal(off, 0);
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)off);
	assert_true(p != MAP_FAILED);
	close(fd);
	memcpy(p, "\x11\x22\x33\x44", 4);
	assert_int_equal(vfc_file_rw(e->dev, 2ull << 40, &v, 4, false), 4);
	assert_int_equal(v, 0x44332211);
	munmap(p, 4096);
	/* The kernel's checks, through the channel. */
	m.offset = 0;	/* BAR0: registers */
	assert_int_equal(ask(s, &m, sizeof(m), NULL, NULL), -EINVAL);
	m = mmap_req(e->dtoken);
	m.flags = MAP_PRIVATE;
	assert_int_equal(ask(s, &m, sizeof(m), NULL, NULL), -EINVAL);
	m = mmap_req(e->dtoken);
	m.offset += 512;
	assert_int_equal(ask(s, &m, sizeof(m), NULL, NULL), -EINVAL);
	m = mmap_req(e->dtoken);
	m.length = 65536 + 4096;
	assert_int_equal(ask(s, &m, sizeof(m), NULL, NULL), -EINVAL);
	close(s);
}

static void test_malformed(void **state)
{
	struct env *e = *state;
	struct vfc_channel_mmap m = mmap_req(e->dtoken);
	uint8_t longer[sizeof(m) + 8] = { 0 };
	int s = conn(e);

	memcpy(longer, &m, sizeof(m));
	assert_int_equal(ask(s, &m, sizeof(m) - 1, NULL, NULL), -EINVAL);	/* short */
	assert_int_equal(ask(s, longer, sizeof(longer), NULL, NULL), -EINVAL);	/* long */
	assert_int_equal(ask(s, &m, 4, NULL, NULL), -EINVAL);			/* half a header */
	m.hdr.op = 0;
	assert_int_equal(ask(s, &m, sizeof(m), NULL, NULL), -EINVAL);
	m.hdr.op = VFC_CHANNEL_N_OPS;
	assert_int_equal(ask(s, &m, sizeof(m), NULL, NULL), -EINVAL);
	m.hdr.op = VFC_CHANNEL_IOMMU_FD;	/* the wrong size for that op */
	assert_int_equal(ask(s, &m, sizeof(m), NULL, NULL), -EINVAL);
	m.hdr.op = VFC_CHANNEL_MMAP;
	m.hdr.reserved = 1;
	assert_int_equal(ask(s, &m, sizeof(m), NULL, NULL), -EINVAL);
	/* A message carrying an fd: dropped, and EINVAL. */
	{
		union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } cm = { 0 };
		struct vfc_channel_reply rep;
		struct iovec iov = { .iov_base = &m, .iov_len = sizeof(m) };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &cm,
				     .msg_controllen = sizeof(cm) };
		int one = 0;

		m.hdr.reserved = 0;
		cm.h = (struct cmsghdr){ .cmsg_len = CMSG_LEN(sizeof(int)), .cmsg_level = SOL_SOCKET,
					 .cmsg_type = SCM_RIGHTS };
		memcpy(CMSG_DATA(&cm.h), &one, sizeof(one));
		assert_int_equal(sendmsg(s, &mh, 0), sizeof(m));
		assert_int_equal(recv(s, &rep, sizeof(rep), 0), sizeof(rep));
		assert_int_equal(rep.status, -EINVAL);
	}
	/* And the connection still serves a good request. */
	m = mmap_req(e->dtoken);
	assert_int_equal(ask(s, &m, sizeof(m), NULL, NULL), 0);
	close(s);
}

static void test_tokens(void **state)
{
	struct env *e = *state;
	struct vfc_channel_mmap m = mmap_req(e->dtoken);
	struct vfc_channel_iommu_fd io = { .hdr = { .op = VFC_CHANNEL_IOMMU_FD } };
	int s = conn(e);

	/* Unauthenticated: a token nobody was given. */
	memset(m.token, 0, 16);
	assert_int_equal(ask(s, &m, sizeof(m), NULL, NULL), -EBADF);
	m.token[15] = 1;
	assert_int_equal(ask(s, &m, sizeof(m), NULL, NULL), -EBADF);
	/* Tokens of the wrong kind of file. */
	m = mmap_req(e->ctoken);
	assert_int_equal(ask(s, &m, sizeof(m), NULL, NULL), -ENODEV);
	memcpy(io.token, e->dtoken, 16);
	assert_int_equal(ask(s, &io, sizeof(io), NULL, NULL), -ENOTTY);
	memcpy(io.token, e->ctoken, 16);
	assert_int_equal(ask(s, &io, sizeof(io), NULL, NULL), -EOPNOTSUPP);	/* emulated */
	/* A file its holder released: its token names nothing any more. */
	vfc_channel_forget(&e->d, &e->df);
	m = mmap_req(e->dtoken);
	assert_int_equal(ask(s, &m, sizeof(m), NULL, NULL), -EBADF);
	close(s);
}

static void test_connection_limit(void **state)
{
	struct env *e = *state;
	struct vfc_channel_mmap m = mmap_req(e->dtoken);
	int s[CONNS_UID + 1], refused = 0;
	char byte;

	for (int i = 0; i <= CONNS_UID; i++)
		s[i] = conn(e);
	/* The one past the limit is closed by the daemon: it reads EOF. */
	usleep(100000);
	for (int i = 0; i <= CONNS_UID; i++)
		if (recv(s[i], &byte, 1, MSG_DONTWAIT) == 0)
			refused++;
	assert_int_equal(refused, 1);
	for (int i = 0; i <= CONNS_UID; i++)
		close(s[i]);
	usleep(100000);
	s[0] = conn(e);
	assert_int_equal(ask(s[0], &m, sizeof(m), NULL, NULL), 0);
	close(s[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_mmap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tokens, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connection_limit, setup, teardown),
	};

	return cmocka_run_group_tests_name("channel", tests, NULL, NULL);
}
