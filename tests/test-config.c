/* SPDX-License-Identifier: MIT */
/* vfio-cused's configuration language: good lines, and errors naming their line. */
#include <errno.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "vfc-fault.h"
#include "vfc-log.h"

static int parse(struct vfc_config *cfg, const char *text)
{
	char line[1024];

	snprintf(line, sizeof(line), "%s", text);
	return vfc_config_parse_line(cfg, line, "test:1");
}

/* Run @text as a file; return the status and what was logged. */
static int load(struct vfc_config *cfg, const char *text, char *log, size_t loglen)
{
	char path[] = "/tmp/vfc-config-XXXXXX";
	int fd = mkstemp(path), pipefd[2], saved, r;
	ssize_t n;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	assert_int_equal(pipe(pipefd), 0);
	saved = dup(2);
	dup2(pipefd[1], 2);
	r = vfc_config_load(cfg, path);
	if (r == 0)
		r = vfc_config_finish(cfg);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(pipefd[1]);
	n = read(pipefd[0], log, loglen - 1);
	log[n > 0 ? n : 0] = '\0';
	close(pipefd[0]);
	unlink(path);
	return r;
}

static void test_good(void **state)
{
	struct vfc_config cfg = { 0 };
	char log[4096];

	assert_int_equal(load(&cfg,
			      "# a comment\n"
			      "prefix vfio-cuse\n"
			      "\n"
			      "device 0000:06:0d.0 group=26 model=edu   # trailing comment\n"
			      "device 0000:06:0e.0 group=26 model=pcitest backend=emu options=x=1:y=2\n"
			      "device 0000:07:00.0 group=27 model=fake backend=fake\n"
			      "group 26 owner=0 gid=0 mode=0660\n"
			      "dma-entry-limit 100\n"
			      "worker-idle-ms 1500\n"
			      "trace /var/log/vfio-cused.trace\n"
			      "trace-format json\n"
			      "files-per-process 10\n"
			      "files-per-uid 20\n"
			      "containers-per-process 3\n"
			      "containers-per-uid 4\n"
			      "workers-per-uid 2\n"
			      "channel-conns 9\n"
			      "channel-conns-per-uid 5\n"
			      "user nobody\n",
			      log, sizeof(log)), 0);
	assert_string_equal(cfg.prefix, "vfio-cuse");
	assert_string_equal(cfg.rundir, "/run/vfio-cuse");
	assert_int_equal(cfg.n_devices, 3);
	assert_string_equal(cfg.devices[0].name, "0000:06:0d.0");
	assert_string_equal(cfg.devices[0].backend, "emu");
	assert_string_equal(cfg.devices[1].options, "x=1,y=2");
	assert_int_equal(cfg.devices[2].group, 27);
	assert_int_equal(cfg.n_groups, 2);
	assert_int_equal(cfg.groups[0].id, 26);
	assert_int_equal(cfg.groups[0].mode, 0660);
	assert_int_equal(cfg.groups[1].mode, 0600);	/* the kernel's default */
	assert_int_equal(cfg.dma_entry_limit, 100);
	assert_int_equal(cfg.worker_idle_ms, 1500);
	assert_string_equal(cfg.trace, "/var/log/vfio-cused.trace");
	assert_true(cfg.trace_json);
	assert_int_equal(cfg.quota.files_per_process, 10);
	assert_int_equal(cfg.quota.files_per_uid, 20);
	assert_int_equal(cfg.quota.containers_per_process, 3);
	assert_int_equal(cfg.quota.containers_per_uid, 4);
	assert_int_equal(cfg.workers_per_uid, 2);
	assert_int_equal(cfg.channel_conns, 9);
	assert_int_equal(cfg.channel_conns_per_uid, 5);
	assert_string_equal(cfg.user, "nobody");
	assert_int_equal(cfg.user_uid, getpwnam("nobody")->pw_uid);
	assert_int_equal(cfg.user_gid, getpwnam("nobody")->pw_gid);
	vfc_config_clear(&cfg);

	/* The command line's comma form. */
	assert_int_equal(parse(&cfg, "device 0000:00:10.0,group=5,model=edu"), 0);
	assert_int_equal(cfg.devices[0].group, 5);
	assert_int_equal(vfc_config_finish(&cfg), 0);
	assert_string_equal(cfg.prefix, "vfio");
	assert_int_equal(cfg.dma_entry_limit, 65535);
	assert_int_equal(cfg.worker_idle_ms, 30000);
	assert_int_equal(cfg.quota.files_per_process, 4096);
	assert_int_equal(cfg.quota.files_per_uid, 16384);
	assert_int_equal(cfg.quota.containers_per_process, 1024);
	assert_int_equal(cfg.quota.containers_per_uid, 4096);
	assert_int_equal(cfg.workers_per_uid, 8);
	assert_int_equal(cfg.channel_conns, 256);
	assert_int_equal(cfg.channel_conns_per_uid, 32);
	assert_null(cfg.user);	/* no drop unless asked */
	assert_null(cfg.trace);	/* no trace unless asked */
	assert_false(cfg.trace_json);
	vfc_config_clear(&cfg);

	/* --trace without a file: stderr, as text unless told */
	assert_int_equal(parse(&cfg, "trace -"), 0);
	assert_int_equal(parse(&cfg, "trace-format text"), 0);
	assert_string_equal(cfg.trace, "-");
	assert_false(cfg.trace_json);
	vfc_config_clear(&cfg);
}

static void test_errors_name_their_line(void **state)
{
	static const struct { const char *text, *where, *what; } cases[] = {
		{ "prefix vfio\nbogus 1\n", ":2:", "unknown statement \"bogus\"" },
		{ "\n\ndevice 0000:06:0d group=1 model=edu\n", ":3:", "not a PCI name" },
		{ "device 0000:06:0D.0 group=1 model=edu\n", ":1:", "not a PCI name" },
		{ "device 0000:06:20.0 group=1 model=edu\n", ":1:", "not a PCI name" },
		{ "device 0000:06:0d.0 model=edu\n", ":1:", "group= and model= are needed" },
		{ "device 0000:06:0d.0 group=x model=edu\n", ":1:", "is not a number" },
		{ "device 0000:06:0d.0 group=-1 model=edu\n", ":1:", "is not a number" },
		{ "device 0000:06:0d.0 group=99999999999 model=edu\n", ":1:", "is not a number" },
		{ "device 0000:06:0d.0 group=1 model=edu colour=red\n", ":1:", "unknown key \"colour\"" },
		{ "device 0000:06:0d.0 group=1 model=edu loose\n", ":1:", "is not key=value" },
		{ "device 0000:06:0d.0 group=1 model=edu\ndevice 0000:06:0d.0 group=2 model=edu\n",
		  ":2:", "declared twice" },
		{ "group 1 mode=0999\n", ":1:", "is not octal" },
		{ "group 1 owner=no-such-user-here\n", ":1:", "no user" },
		{ "group x\n", ":1:", "a group number is needed" },
		{ "prefix /abs\n", ":1:", "prefix \"/abs\"" },
		{ "prefix a/../b\n", ":1:", "prefix" },
		{ "prefix a b\n", ":1:", "takes one value" },
		{ "rundir relative\n", ":1:", "must be absolute" },
		{ "dma-entry-limit 0\n", ":1:", "dma-entry-limit" },
		{ "worker-idle-ms 0\n", ":1:", "worker-idle-ms" },
		{ "files-per-process 0\n", ":1:", "files-per-process \"0\" is not a number" },
		{ "workers-per-uid 33\n", ":1:", "workers-per-uid" },
		{ "channel-conns 1025\n", ":1:", "channel-conns" },
		{ "containers-per-uid x\n", ":1:", "containers-per-uid" },
		{ "worker-idle-ms 86400001\n", ":1:", "worker-idle-ms" },
		{ "prefix p\nuser no-such-user-here\n", ":2:", "user: no user \"no-such-user-here\"" },
		{ "user root\n", ":1:", "user \"root\" is root" },
		{ "user nobody nobody\n", ":1:", "\"user\" takes one value" },
		{ "fault\n", ":1:", "fault: empty rule" },
		{ "\nfault ioctl MAP_DMA nth=3\n", ":2:", "fault: ioctl: errno= is required" },
		{ "fault melt device=x\n", ":1:", "unknown action \"melt\"" },
		{ "trace-format xml\n", ":1:", "trace-format \"xml\": text or json" },
		{ "trace\n", ":1:", "\"trace\" takes one value" },
	};
	char log[4096];

	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vfc_config cfg = { 0 };

		assert_int_equal(load(&cfg, cases[i].text, log, sizeof(log)), -EINVAL);
		if (!strstr(log, cases[i].where) || !strstr(log, cases[i].what))
			fail_msg("case %u: log \"%s\" lacks \"%s\" and \"%s\"", i, log,
				 cases[i].where, cases[i].what);
		vfc_config_clear(&cfg);
	}
}

/* fault RULE, repeatable: each line adds a rule to the table as it is read. */
static void test_fault(void **state)
{
	struct vfc_config cfg = { 0 };
	char log[4096], list[512];

	assert_int_equal(load(&cfg, "device 0000:06:0d.0 group=1 model=edu\n"
				    "fault ioctl MAP_DMA nth=3 errno=ENOMEM   # the third map\n"
				    "fault  irq drop  index=msi every=2\n", log, sizeof(log)), 0);
	vfc_fault_list(list, sizeof(list));
	assert_non_null(strstr(list, ": ioctl MAP_DMA nth=3 errno=ENOMEM (matched 0"));
	assert_non_null(strstr(list, ": irq drop index=msi every=2 (matched 0"));
	vfc_config_clear(&cfg);
	vfc_fault_clear();
}

static void test_finish_checks(void **state)
{
	struct vfc_config cfg = { 0 };
	char log[4096];

	assert_int_equal(load(&cfg, "group 3 mode=0600\n", log, sizeof(log)), -EINVAL);
	assert_non_null(strstr(log, "group 3 has no device"));
	vfc_config_clear(&cfg);
	/* A line too long for the parser is an error, not a truncation. */
	char big[2100];
	memset(big, 'a', sizeof(big) - 2);
	big[sizeof(big) - 2] = '\n';
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(load(&cfg, big, log, sizeof(log)), -EINVAL);
	assert_non_null(strstr(log, "line longer than"));
	vfc_config_clear(&cfg);
	assert_int_equal(vfc_config_load(&cfg, "/nonexistent/vfio-cused.conf"), -ENOENT);
	vfc_config_clear(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_errors_name_their_line),
		cmocka_unit_test(test_finish_checks),
		cmocka_unit_test(test_fault),
	};
	vfc_log_set_max_level(LOG_INFO);
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
