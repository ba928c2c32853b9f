// SPDX-License-Identifier: MIT
/*
 * The control protocol (cuse/control.h, include/vfc-control-proto.h) and
 * the core's introspection (vfc-inspect.h), in-process: request parsing
 * with hostile lines, reply framing, and every listing command run on a
 * core with the emulated type1 IOMMU and fake devices, driven through the
 * in-process transport: a container with a group and a MAP_DMA of this
 * process's memory, and an open device, show up as text and as JSON.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "control.h"
#include "daemon.h"
#include "emu-iommu.h"
#include "fake.h"
#include "vfc-inspect.h"
#include "vfc-local.h"
#include "vfc-log.h"

#define DEV "0000:06:0d.0"
#define IOVA 0x100000ull

struct env {
	struct vfc_core *core;
	struct vfc_fake_device dev;
	struct vfc_local *l;
	int c, g, d;
	void *mem;
	struct vfc_ctl_env ctl;
};

static int parse(const char *s, struct vfc_ctl_request *req, char *buf)
{
	size_t len = strlen(s);

	memcpy(buf, s, len + 1);
	return vfc_ctl_parse(buf, len, req);
}

static void test_parse(void **state)
{
	static char buf[VFC_CTL_MAX_LINE + 16];
	struct vfc_ctl_request req;
	char *longline;

	assert_int_equal(parse("status", &req, buf), 0);
	assert_false(req.json);
	assert_int_equal(req.argc, 1);
	assert_string_equal(req.argv[0], "status");

	assert_int_equal(parse("  json   mappings  3 ", &req, buf), 0);
	assert_true(req.json);
	assert_int_equal(req.argc, 2);
	assert_string_equal(req.argv[1], "3");

	/* "json" is a mode only in first place */
	assert_int_equal(parse("trace on json", &req, buf), 0);
	assert_false(req.json);
	assert_int_equal(req.argc, 3);

	/* the rule keeps its spaces */
	assert_int_equal(parse("fault add ioctl=MAP_DMA nth=2 errno=ENOMEM", &req, buf), 0);
	assert_int_equal(req.argc, 3);
	assert_string_equal(req.rest, "ioctl=MAP_DMA nth=2 errno=ENOMEM");

	assert_int_equal(parse("", &req, buf), -EINVAL);
	assert_int_equal(parse("    ", &req, buf), -EINVAL);
	assert_int_equal(parse("json", &req, buf), -EINVAL);
	assert_int_equal(parse("status\x01", &req, buf), -EINVAL);
	assert_int_equal(parse("st\xc3\xa9tus", &req, buf), -EINVAL);
	assert_int_equal(parse("a b c d e f g h i j k l m n o p q", &req, buf), -EINVAL);

	longline = malloc(VFC_CTL_MAX_LINE + 1);
	assert_non_null(longline);
	memset(longline, 'a', VFC_CTL_MAX_LINE);
	longline[VFC_CTL_MAX_LINE] = '\0';
	assert_int_equal(vfc_ctl_parse(longline, VFC_CTL_MAX_LINE, &req), -E2BIG);
	free(longline);
}

static void test_parse_reply(void **state)
{
	char buf[64], *body;
	size_t len;
	int status;

	strcpy(buf, "OK 3\nab\n");
	assert_int_equal(vfc_ctl_parse_reply(buf, 8, &status, &body, &len), 0);
	assert_int_equal(status, 0);
	assert_int_equal(len, 3);
	assert_string_equal(body, "ab\n");

	strcpy(buf, "OK 0\n");
	assert_int_equal(vfc_ctl_parse_reply(buf, 5, &status, &body, &len), 0);
	assert_int_equal(len, 0);

	strcpy(buf, "ERR 38 function not implemented\n");
	assert_int_equal(vfc_ctl_parse_reply(buf, strlen(buf), &status, &body, &len), 0);
	assert_int_equal(status, -ENOSYS);
	assert_string_equal(body, "function not implemented");

	strcpy(buf, "OK 9\nshort");	/* body shorter than announced */
	assert_int_equal(vfc_ctl_parse_reply(buf, strlen(buf), &status, &body, &len), -EPROTO);
	strcpy(buf, "OK -1\n");
	assert_int_equal(vfc_ctl_parse_reply(buf, strlen(buf), &status, &body, &len), -EPROTO);
	strcpy(buf, "ERR 0 no\n");
	assert_int_equal(vfc_ctl_parse_reply(buf, strlen(buf), &status, &body, &len), -EPROTO);
	strcpy(buf, "HELLO\n");
	assert_int_equal(vfc_ctl_parse_reply(buf, strlen(buf), &status, &body, &len), -EPROTO);
	strcpy(buf, "OK 1");
	assert_int_equal(vfc_ctl_parse_reply(buf, strlen(buf), &status, &body, &len), -EPROTO);
}

static void test_json_string(void **state)
{
	struct vfc_ctl_buf b = { 0 };

	vfc_ctl_buf_json_string(&b, "a\"b\\c\n\x7f\xff");
	assert_int_equal(b.failed, 0);
	assert_string_equal(b.data, "\"a\\\"b\\\\c\\u000a\\u007f\\u00ff\"");
	vfc_ctl_buf_free(&b);
}

/* Two open files of this process, as a transport would list them. */
static int files(void *opaque, struct vfc_ctl_open_file **ret, size_t *ret_n)
{
	struct vfc_ctl_open_file *arr = calloc(2, sizeof(*arr));

	assert_non_null(arr);
	arr[0] = (struct vfc_ctl_open_file){ .pid = 4242, .uid = 1000, .kind = VFC_FILE_CONTAINER,
					     .file_id = 1, .container = 1, .group = -1 };
	arr[1] = (struct vfc_ctl_open_file){ .pid = 4242, .uid = 1000, .kind = VFC_FILE_DEVICE,
					     .file_id = 3, .group = -1, .device = DEV };
	*ret = arr;
	*ret_n = 2;
	return 0;
}

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.iova = IOVA,
		.size = 2 * 4096,
	};
	struct vfc_group *g;

	vfc_log_set_max_level(getenv("VFC_TEST_VERBOSE") ? LOG_DEBUG : LOG_WARNING);
	assert_non_null(e);
	assert_int_equal(posix_memalign(&e->mem, 4096, 2 * 4096), 0);
	memset(e->mem, 0, 2 * 4096);
	map.vaddr = (uintptr_t)e->mem;
	assert_int_equal(vfc_core_new(&e->core), 0);
	assert_int_equal(vfc_core_add_iommu_driver(e->core, &vfc_emu_iommu_ops, NULL), 0);
	assert_int_equal(vfc_core_add_group(e->core, 26, NULL, &g), 0);
	assert_int_equal(vfc_core_add_group(e->core, 27, NULL, NULL), 0);
	vfc_fake_device_init(&e->dev, 0x1234, 0x11e8);
	assert_int_equal(vfc_group_add_device(g, DEV, &vfc_fake_device_ops, &e->dev, NULL), 0);
	assert_int_equal(vfc_local_new(e->core, &e->l), 0);
	e->c = vfc_local_open_container(e->l);
	e->g = vfc_local_open_group(e->l, 26);
	assert_true(e->c >= 0 && e->g >= 0);
	assert_int_equal(vfc_local_ioctl(e->l, e->g, VFIO_GROUP_SET_CONTAINER,
					 (unsigned long)&e->c), 0);
	assert_int_equal(vfc_local_ioctl(e->l, e->c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), 0);
	assert_int_equal(vfc_local_ioctl(e->l, e->c, VFIO_IOMMU_MAP_DMA, (unsigned long)&map), 0);
	e->d = (int)vfc_local_ioctl(e->l, e->g, VFIO_GROUP_GET_DEVICE_FD, (unsigned long)DEV);
	assert_true(e->d >= 0);
	e->ctl = (struct vfc_ctl_env){ .core = e->core, .files = files, .rundir = "/nonexistent",
				       .pid = getpid(), .uid = getuid() };
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	vfc_local_free(e->l);
	vfc_core_free(e->core);
	vfc_fake_device_fini(&e->dev);
	free(e->mem);
	free(e);
	return 0;
}

/* Run @line; return the reply's body (malloc'ed) and its status. */
static char *run(struct env *e, const char *line, int *ret_status)
{
	struct vfc_ctl_request req;
	struct vfc_ctl_buf out = { 0 };
	char buf[VFC_CTL_MAX_LINE], *body, *copy;
	size_t len;
	int status;

	strcpy(buf, line);
	assert_int_equal(vfc_ctl_parse(buf, strlen(buf), &req), 0);
	vfc_ctl_execute(&e->ctl, &req, &out);
	assert_int_equal(out.failed, 0);
	assert_non_null(out.data);
	assert_int_equal(vfc_ctl_parse_reply(out.data, out.len, &status, &body, &len), 0);
	copy = strdup(body);
	assert_non_null(copy);
	vfc_ctl_buf_free(&out);
	*ret_status = status;
	return copy;
}

static void test_inspect_api(void **state)
{
	struct env *e = *state;
	struct vfc_iommu_stats st;

	assert_int_equal(vfc_inspect_mappings(e->core, 1, &st, NULL, NULL), 0);
	assert_int_equal(st.mappings, 1);
	assert_int_equal(st.mapped, 2 * 4096);
	assert_int_equal(st.pinned, 0);	/* the emulated IOMMU pins nothing */
	assert_int_equal(vfc_inspect_mappings(e->core, 99, &st, NULL, NULL), -ENOENT);
}

static void test_text(void **state)
{
	struct env *e = *state;
	char want[64], *s;
	int status;

	s = run(e, "groups", &status);
	assert_int_equal(status, 0);
	assert_non_null(strstr(s, "ID     VIABLE OPEN OPEN REFS CONTAINER DEVICES\n"));
	assert_non_null(strstr(s, "\n26     yes    yes  2         1         1\n"));
	assert_non_null(strstr(s, "\n27     yes    no   0         -         0\n"));
	free(s);

	s = run(e, "devices", &status);
	assert_int_equal(status, 0);
	assert_non_null(strstr(s, "NAME           GROUP  OPEN COUNT REGIONS IRQS FLAGS\n"
				  DEV "   26     1          9       5    pci,reset\n"));
	free(s);

	s = run(e, "containers", &status);
	assert_int_equal(status, 0);
	assert_non_null(strstr(s, "emu-type1 type1v2 26"));
	assert_non_null(strstr(s, " 1        8192         0"));
	free(s);

	s = run(e, "mappings 1", &status);
	assert_int_equal(status, 0);
	snprintf(want, sizeof(want), "0x%lx", (unsigned long)(uintptr_t)e->mem);
	assert_non_null(strstr(s, "container 1:\n"));
	assert_non_null(strstr(s, "0x100000"));
	assert_non_null(strstr(s, want));
	assert_non_null(strstr(s, " rw "));
	snprintf(want, sizeof(want), " %d\n", (int)getpid());
	assert_non_null(strstr(s, want));
	free(s);

	s = run(e, "clients", &status);
	assert_int_equal(status, 0);
	assert_non_null(strstr(s, "4242     1000   container 1, device " DEV "\n"));
	free(s);

	s = run(e, "status", &status);
	assert_int_equal(status, 0);
	assert_non_null(strstr(s, "mappings           1\n"));
	assert_non_null(strstr(s, "pinned bytes       0\n"));
	assert_non_null(strstr(s, "clients            1\n"));
	free(s);
}

static void test_json(void **state)
{
	struct env *e = *state;
	char want[128], *s;
	int status;

	s = run(e, "json groups", &status);
	assert_int_equal(status, 0);
	assert_string_equal(s, "{\"groups\":[{\"id\":26,\"viable\":true,\"open\":true,"
			    "\"open_refs\":2,\"container\":1,\"devices\":1},{\"id\":27,"
			    "\"viable\":true,\"open\":false,\"open_refs\":0,\"container\":null,"
			    "\"devices\":0}]}\n");
	free(s);

	s = run(e, "json containers", &status);
	assert_int_equal(status, 0);
	assert_string_equal(s, "{\"containers\":[{\"id\":1,\"iommu\":\"emu-type1\",\"type\":"
			    "\"type1v2\",\"groups\":[26],\"mappings\":1,\"mapped_bytes\":8192,"
			    "\"pinned_bytes\":0}]}\n");
	free(s);

	s = run(e, "json mappings", &status);
	assert_int_equal(status, 0);
	snprintf(want, sizeof(want), "{\"iova\":\"0x100000\",\"size\":\"0x2000\",\"vaddr\":"
		 "\"0x%lx\",\"flags\":\"rw\",\"owner\":%d}", (unsigned long)(uintptr_t)e->mem,
		 (int)getpid());
	assert_non_null(strstr(s, want));
	assert_non_null(strstr(s, "\"listed\":true,\"count\":1,\"mapped_bytes\":8192"));
	free(s);

	s = run(e, "json clients", &status);
	assert_int_equal(status, 0);
	assert_string_equal(s, "{\"clients\":[{\"pid\":4242,\"uid\":1000,\"files\":[{\"kind\":"
			    "\"container\",\"file\":1,\"container\":1},{\"kind\":\"device\","
			    "\"file\":3,\"device\":\"" DEV "\"}]}]}\n");
	free(s);
}

static void test_errors(void **state)
{
	struct env *e = *state;
	char *s;
	int status;

	s = run(e, "mappings 99", &status);
	assert_int_equal(status, -ENOENT);
	assert_string_equal(s, "no container 99");
	free(s);
	s = run(e, "mappings x", &status);
	assert_int_equal(status, -EINVAL);
	free(s);
	s = run(e, "frobnicate", &status);
	assert_int_equal(status, -EINVAL);
	free(s);
	/* a granted user may not name a file the daemon writes */
	s = run(e, "trace on /etc/passwd", &status);
	assert_int_equal(status, -EPERM);
	free(s);
	s = run(e, "fault rm 0", &status);
	assert_int_equal(status, -EINVAL);
	free(s);
	/* a bad rule is refused with the parser's message */
	s = run(e, "fault add this-is-no-rule", &status);
	assert_int_equal(status, -EINVAL);
	assert_non_null(strstr(s, "this-is-no-rule"));
	free(s);
	s = run(e, "fault list", &status);
	assert_int_equal(status, 0);
	free(s);
}

/* An IOMMU without the inspect op (as the kernel backend's): unknown, not 0. */
static void test_unknown(void **state)
{
	struct vfc_fake_iommu iommu = { 0 };
	struct vfc_fake_device dev;
	struct env e = { 0 };
	struct vfc_group *g;
	char *s;
	int status;

	assert_int_equal(vfc_core_new(&e.core), 0);
	assert_int_equal(vfc_core_add_iommu_driver(e.core, &vfc_fake_iommu_ops, &iommu), 0);
	assert_int_equal(vfc_core_add_group(e.core, 26, NULL, &g), 0);
	vfc_fake_device_init(&dev, 0x1234, 0x11e8);
	assert_int_equal(vfc_group_add_device(g, DEV, &vfc_fake_device_ops, &dev, NULL), 0);
	assert_int_equal(vfc_local_new(e.core, &e.l), 0);
	e.c = vfc_local_open_container(e.l);
	e.g = vfc_local_open_group(e.l, 26);
	assert_int_equal(vfc_local_ioctl(e.l, e.g, VFIO_GROUP_SET_CONTAINER, (unsigned long)&e.c), 0);
	e.ctl = (struct vfc_ctl_env){ .core = e.core, .rundir = "/nonexistent" };

	/* before SET_IOMMU: no mappings can exist */
	s = run(&e, "json containers", &status);
	assert_string_equal(s, "{\"containers\":[{\"id\":1,\"iommu\":null,\"type\":null,"
			    "\"groups\":[26],\"mappings\":0,\"mapped_bytes\":0,"
			    "\"pinned_bytes\":0}]}\n");
	free(s);
	assert_int_equal(vfc_local_ioctl(e.l, e.c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), 0);
	s = run(&e, "json containers", &status);
	assert_string_equal(s, "{\"containers\":[{\"id\":1,\"iommu\":\"fake-type1\",\"type\":"
			    "\"type1v2\",\"groups\":[26],\"mappings\":null,\"mapped_bytes\":null,"
			    "\"pinned_bytes\":null}]}\n");
	free(s);
	s = run(&e, "mappings 1", &status);
	assert_int_equal(status, 0);
	assert_non_null(strstr(s, "cannot list mappings"));
	free(s);
	s = run(&e, "json mappings 1", &status);
	assert_non_null(strstr(s, "\"listed\":false,\"count\":null"));
	free(s);
	s = run(&e, "status", &status);
	assert_non_null(strstr(s, "pinned bytes       unknown"));
	assert_non_null(strstr(s, "clients            unknown"));	/* no transport list */
	free(s);
	s = run(&e, "clients", &status);
	assert_int_equal(status, -EOPNOTSUPP);
	free(s);

	vfc_local_free(e.l);
	vfc_core_free(e.core);
	vfc_fake_device_fini(&dev);
}

/* The socket of control.c, served by its thread in this process. */
static int sock_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* Send @req, read to the end; the first line of the reply in @line. */
static void sock_ask(const char *path, const void *req, size_t len, char *line, size_t size)
{
	char buf[8192];
	size_t got = 0;
	ssize_t n;
	int fd = sock_connect(path);

	if (send(fd, req, len, MSG_NOSIGNAL) < 0)
		assert_true(errno == EPIPE || errno == ECONNRESET);
	while (got < sizeof(buf) - 1 && (n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	close(fd);
	snprintf(line, size, "%.*s", (int)strcspn(buf, "\n"), buf);
}

static void test_socket(void **state)
{
	struct vfc_config cfg = { 0 };
	static struct vfc_daemon d;
	char dir[] = "/tmp/vfc-control-XXXXXX", path[128], line[256], *big;
	int idle[4], extra;
	ssize_t n;

	vfc_log_set_max_level(LOG_ERR);
	assert_non_null(mkdtemp(dir));
	cfg.rundir = dir;
	d.cfg = &cfg;
	pthread_mutex_init(&d.files_lock, NULL);
	assert_int_equal(vfc_core_new(&d.core), 0);
	assert_int_equal(vfc_control_start(&d), 0);
	snprintf(path, sizeof(path), "%s/control", dir);

	sock_ask(path, "status\n", 7, line, sizeof(line));
	assert_memory_equal(line, "OK ", 3);
	sock_ask(path, "json groups\n", 12, line, sizeof(line));
	assert_string_equal(line, "OK 14");		/* {"groups":[]} */
	sock_ask(path, "st\x00tus\n", 7, line, sizeof(line));
	assert_string_equal(line, "ERR 22 malformed request");
	big = malloc(3 * VFC_CTL_MAX_LINE);
	assert_non_null(big);
	memset(big, 'x', 3 * VFC_CTL_MAX_LINE);
	sock_ask(path, big, 3 * VFC_CTL_MAX_LINE, line, sizeof(line));
	assert_string_equal(line, "ERR 7 request too long");
	free(big);

	/* Four silent connections of this uid: the fifth is closed at once,
	 * and once they go, requests are served again. */
	for (int i = 0; i < 4; i++)
		idle[i] = sock_connect(path);
	extra = sock_connect(path);
	n = recv(extra, line, sizeof(line), 0);	/* closed by the daemon, no reply */
	assert_int_equal(n, 0);
	close(extra);
	for (int i = 0; i < 4; i++)
		close(idle[i]);
	for (int tries = 0;; tries++) {
		sock_ask(path, "status\n", 7, line, sizeof(line));
		if (!strncmp(line, "OK ", 3) || tries == 1000)
			break;
		usleep(1000);	/* the thread notices the closes */
	}
	assert_memory_equal(line, "OK ", 3);

	vfc_control_stop(&d);
	assert_int_equal(access(path, F_OK), -1);
	vfc_core_free(d.core);
	pthread_mutex_destroy(&d.files_lock);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_reply),
		cmocka_unit_test(test_json_string),
		cmocka_unit_test_setup_teardown(test_inspect_api, setup, teardown),
		cmocka_unit_test_setup_teardown(test_text, setup, teardown),
		cmocka_unit_test_setup_teardown(test_json, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test(test_unknown),
		cmocka_unit_test(test_socket),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
