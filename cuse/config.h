/* SPDX-License-Identifier: MIT */
/*
 * vfio-cused's configuration (config.c): the parsed file and command line.
 * Free of libfuse and of every backend, so that what only parses, such as
 * test-config and fuzz-config, links neither.
 */
#pragma once

#include <stdbool.h>

#include <sys/types.h>

#include "quota.h"

/* Bounds of the config keys that size the daemon (daemon.h uses them too). */
#define VFC_MAX_WORKERS 64
#define VFC_CHANNEL_MAX_CONNS 1024	/* the most channel-conns may be */

/* CUSE nodes of one daemon: the container node, groups and spares. */
#define VFC_MAX_NODES 512

struct vfc_cfg_device {
	char *name;		/* e.g. 0000:06:0d.0 */
	unsigned int group;
	char *backend;		/* "emu", "fake" or "kernel" */
	char *model;		/* "edu", "pcitest", ... */
	char *options;		/* model options, may be NULL */
};

#define VFC_CFG_MAX_CONTROL_GRANTS 16

struct vfc_cfg_group {
	unsigned int id;
	uid_t uid;
	gid_t gid;
	mode_t mode;
};

struct vfc_config {
	char *prefix;		/* node prefix under /dev, default "vfio" */
	char *rundir;		/* default /run/vfio-cuse */
	struct vfc_cfg_device *devices;
	unsigned int n_devices;
	struct vfc_cfg_group *groups;
	unsigned int n_groups;
	unsigned long dma_entry_limit;
	unsigned int worker_idle_ms;	/* a worker idle this long exits; default 30 s */
	/* per-client limits (docs/daemon.md, "Limits") */
	struct vfc_quota_cfg quota;	/* files and containers per process, per uid */
	unsigned int workers_per_uid;	/* requests of one uid on workers at once */
	unsigned int channel_conns, channel_conns_per_uid;
	unsigned int log_burst, log_interval_ms;	/* the info limiter (vfc-log.h) */
	char *user;		/* drop to this user after start-up, or NULL */
	char *trace;		/* trace to this file ("-": stderr), or NULL: off */
	bool trace_json;	/* trace-format json */
	uid_t user_uid;
	gid_t user_gid;
	/* who else may use the control socket (control-allow-uid/-gid) */
	uid_t control_uids[VFC_CFG_MAX_CONTROL_GRANTS];
	unsigned int n_control_uids;
	gid_t control_gids[VFC_CFG_MAX_CONTROL_GRANTS];
	unsigned int n_control_gids;
};

/**
 * vfc_config_parse_line() - one line of the configuration language.
 * @cfg: where it goes.
 * @line: the text (modified).
 * @where: "FILE:N" for messages.
 * Return: 0, -EINVAL (logged with @where and the problem), -ENOMEM.
 */
int vfc_config_parse_line(struct vfc_config *cfg, char *line, const char *where);
int vfc_config_load(struct vfc_config *cfg, const char *path);
int vfc_config_finish(struct vfc_config *cfg);
void vfc_config_clear(struct vfc_config *cfg);
