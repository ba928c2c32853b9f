/* SPDX-License-Identifier: MIT */
/*
 * vfio-cused: serves the VFIO core as CUSE character devices. Wiring only:
 * options and configuration, nodes, the privileged side, backends, the
 * privilege drop, the loop, and shutdown.
 */
#include <getopt.h>
#include <stdatomic.h>
#include <grp.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "control.h"
#include "daemon.h"
#include "helper-client.h"
#include "vfc-fault.h"
#include "vfc-log.h"
#include "vfc-macro.h"
#include "vfc-trace.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: vfio-cused [options]\n"
		"  -c, --config FILE     configuration file (see docs/daemon.md)\n"
		"  -d, --device SPEC     NAME,group=N,model=M[,backend=emu]  (repeatable)\n"
		"  -g, --group SPEC      N[,owner=U][,gid=G][,mode=0660]     (repeatable)\n"
		"  -p, --prefix PREFIX   serve /dev/PREFIX/... (default vfio)\n"
		"  -r, --rundir DIR      sysfs view and state (default /run/vfio-cuse)\n"
		"  -u, --user USER       run as USER once started; a helper keeps the privileges\n"
		"      --helper PATH     that helper (default %s)\n"
		"      --trace[=FILE]    decode every ioctl, access, DMA and interrupt to FILE\n"
		"                        (default: stderr)\n"
		"      --trace-format F  text (default) or json: one object per line\n"
		"  -v, --verbose         log debug messages\n"
		"  -h, --help\n"
		"      --version\n", vfc_priv_helper_default_path);
}

static const char *helper_path = vfc_priv_helper_default_path;

static int parse_args(int argc, char **argv, struct vfc_config *cfg)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "device", required_argument, NULL, 'd' },
		{ "group", required_argument, NULL, 'g' },
		{ "prefix", required_argument, NULL, 'p' },
		{ "rundir", required_argument, NULL, 'r' },
		{ "user", required_argument, NULL, 'u' },
		{ "helper", required_argument, NULL, 'H' },
		{ "trace", optional_argument, NULL, 'T' },
		{ "trace-format", required_argument, NULL, 'F' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	char line[1024];
	int c, r;

	while ((c = getopt_long(argc, argv, "c:d:g:p:r:u:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			r = vfc_config_load(cfg, optarg);
			break;
		case 'd':
		case 'g':
		case 'p':
		case 'r':
		case 'u':
			snprintf(line, sizeof(line), "%s %s",
				 c == 'd' ? "device" : c == 'g' ? "group" : c == 'p' ? "prefix" :
				 c == 'r' ? "rundir" : "user", optarg);
			r = vfc_config_parse_line(cfg, line, "command line");
			break;
		case 'T':
		case 'F':
			snprintf(line, sizeof(line), "%s %s", c == 'T' ? "trace" : "trace-format",
				 c == 'T' && !optarg ? "-" : optarg);
			r = vfc_config_parse_line(cfg, line, "command line");
			break;
		case 'H':
			helper_path = optarg;
			r = 0;
			break;
		case 'v':
			vfc_log_set_max_level(LOG_DEBUG);
			r = 0;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("vfio-cused %s\n", VFC_VERSION);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
		if (r < 0)
			return r;
	}
	if (optind < argc) {
		vfc_err("vfio-cused: unexpected argument \"%s\"", argv[optind]);
		return -EINVAL;
	}
	return vfc_config_finish(cfg);
}

/* The privileged operations serve clients of our major: done by the daemon
 * itself, or by the helper (started with the configured groups) when it
 * is going to drop to cfg->user. */
static int priv_setup(struct vfc_daemon *d)
{
	unsigned int groups[VFC_MAX_NODES];
	int r;

	vfc_priv_direct_set_major(d->major);
	if (!d->cfg->user)
		return 0;
	for (unsigned int i = 0; i < d->cfg->n_groups; i++)
		groups[i] = d->cfg->groups[i].id;
	r = vfc_priv_helper_start(helper_path, groups, d->cfg->n_groups, d->major, &d->priv);
	if (r < 0)
		vfc_err("vfio-cused: cannot start the privileged helper \"%s\": %s", helper_path,
			strerror(-r));
	return r;
}

/* Become cfg->user for good. glibc applies each call to every thread. */
static int drop_privileges(const struct vfc_config *cfg)
{
	uid_t ruid, euid, suid;
	gid_t rgid, egid, sgid;

	if (setgroups(0, NULL) < 0 || setresgid(cfg->user_gid, cfg->user_gid, cfg->user_gid) < 0 ||
	    setresuid(cfg->user_uid, cfg->user_uid, cfg->user_uid) < 0) {
		vfc_err("vfio-cused: cannot become user \"%s\": %m", cfg->user);
		return -EPERM;
	}
	if (getresuid(&ruid, &euid, &suid) < 0 || getresgid(&rgid, &egid, &sgid) < 0 ||
	    ruid == 0 || euid == 0 || suid == 0 || ruid != cfg->user_uid || euid != ruid ||
	    suid != ruid || rgid != cfg->user_gid || egid != rgid || sgid != rgid) {
		vfc_err("vfio-cused: still root after becoming user \"%s\"", cfg->user);
		return -EPERM;
	}
	vfc_notice("vfio-cused: running as user \"%s\" (uid %u); privileged operations go "
		   "through %s", cfg->user, ruid, helper_path);
	return 0;
}

/*
 * Everything start-up made, in the reverse order. Backends and the core go
 * only when no client holds a file: a file still open (its client outlived
 * the nodes) keeps core objects that nothing may free under it, and the
 * process's exit takes them.
 */
static void daemon_free(struct vfc_daemon *d)
{
	unsigned int open_files;

	vfc_control_stop(d);
	vfc_channel_stop(d);
	vfc_nodes_destroy(d);
	open_files = atomic_load(&d->open_files);
	if (open_files) {
		/* The backends keep running (the kernel backend's monitor may
		 * still use the helper): the exit takes them, and the helper. */
		vfc_notice("vfio-cused: %u file(s) still open: the core is left to the exit",
			   open_files);
		return;
	}
	vfc_backends_teardown(d);
	d->core = vfc_core_free(d->core);
	vfc_quota_fini(&d->quota);	/* every release handed its charge back */
	if (d->priv != vfc_priv_direct())
		d->priv = vfc_priv_helper_free(d->priv);
}

int main(int argc, char **argv)
{
	static struct vfc_daemon d;
	struct vfc_config cfg = { 0 };
	sigset_t mask;
	int r, sfd;

	/* One malloc arena for every thread: malloc_trim() after a load then
	 * gives back what the workers freed too (a thread arena keeps its free
	 * top). The daemon's threads seldom allocate at once. */
	mallopt(M_ARENA_MAX, 1);

	signal(SIGPIPE, SIG_IGN);
	r = parse_args(argc, argv, &cfg);
	if (r < 0) {
		vfc_fault_clear();
		return 2;
	}
	if (!cfg.n_devices)
		vfc_warn("vfio-cused: no device configured: only /dev/%s/vfio will exist", cfg.prefix);
	/* Opened now, as root: the file stays writable after the drop. */
	if (cfg.trace) {
		r = vfc_trace_start(cfg.trace, cfg.trace_json ? VFC_TRACE_JSON : VFC_TRACE_TEXT);
		if (r < 0) {
			vfc_err("vfio-cused: trace \"%s\": %s", cfg.trace, strerror(-r));
			return 1;
		}
	}

	/* Threads inherit the mask: signals arrive only through the signalfd. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0) {
		vfc_err("vfio-cused: signalfd: %m");
		return 1;
	}

	d.cfg = &cfg;
	d.priv = vfc_priv_direct();
	pthread_mutex_init(&d.lock, NULL);
	pthread_cond_init(&d.cond, NULL);
	pthread_mutex_init(&d.files_lock, NULL);
	if (vfc_quota_init(&d.quota, &cfg.quota, VFC_QUOTA_SLOTS) < 0) {
		vfc_err("vfio-cused: out of memory");
		return 1;
	}
	/* Nodes first: the privileged side needs their major, and backends
	 * need the privileged side. Nothing is served before the loop runs.
	 * Privileges go last, before the workers exist; glibc's set*id reach
	 * a backend's thread too, and no per-thread capability is kept. */
	r = vfc_core_new(&d.core);
	if (r >= 0)
		r = vfc_nodes_create(&d);
	if (r >= 0)
		r = priv_setup(&d);
	if (r >= 0)
		r = vfc_backends_setup(&d);
	if (r >= 0)
		r = vfc_sysfs_view_write(&d);
	if (r >= 0 && vfc_channel_start(&d) < 0)
		vfc_warn("vfio-cused: no channel: BAR mmap is not offered");
	if (r >= 0 && vfc_control_start(&d) < 0)
		vfc_warn("vfio-cused: no control socket: vfio-cusectl cannot reach this daemon");
	if (r >= 0 && cfg.user)
		r = drop_privileges(&cfg);
	if (r < 0) {
		vfc_err("vfio-cused: start-up failed: %s", strerror(-r));
		daemon_free(&d);
		vfc_fault_clear();
		close(sfd);
		vfc_config_clear(&cfg);
		return 1;
	}
	vfc_notice("vfio-cused: serving /dev/%s/vfio and %u group(s)", cfg.prefix, cfg.n_groups);
	vfc_sd_notify("READY=1\nSTATUS=serving");
	/* From now on info lines are what clients cause: limit them. */
	vfc_log_limit_info(cfg.log_burst, (uint64_t)cfg.log_interval_ms * 1000000u, NULL);

	r = vfc_loop_run(&d, sfd);

	vfc_sd_notify("STOPPING=1");
	vfc_notice("vfio-cused: stopping");
	/* Clients that still hold files lose them with the nodes. */
	daemon_free(&d);
	vfc_fault_clear();	/* delayed interrupts go out now */
	vfc_sysfs_view_remove(&d);
	close(sfd);
	vfc_trace_stop();
	vfc_config_clear(&cfg);
	return r < 0 ? 1 : 0;
}
