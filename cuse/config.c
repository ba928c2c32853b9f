/* SPDX-License-Identifier: MIT */
/*
 * vfio-cused's configuration language, one statement per line:
 *
 *   prefix vfio                       node prefix under /dev
 *   rundir /run/vfio-cuse             where the sysfs view is written
 *   dma-entry-limit 65535             type1 mappings per container
 *   device NAME group=N model=M [backend=emu] [options=K=V:K=V...]
 *   device NAME backend=kernel        a real device bound to vfio-pci; its
 *                                     group is the kernel's
 *   group N [owner=USER|UID] [gid=GROUP|GID] [mode=0660]
 *   user vfio-cuse                    run as this user once the nodes exist
 *   fault RULE                        a fault injection rule (docs/harness.md);
 *                                     repeatable, added as the line is read
 *   trace FILE                        the decoding trace to FILE ("-": stderr)
 *   trace-format text|json            its format (default text)
 *   control-allow-uid USER|UID        may also use the control socket
 *   control-allow-gid GROUP|GID       (vfio-cusectl); repeatable
 *   files-per-process 4096 (and the other limits of limit_keys[])
 *
 * '#' starts a comment. The command line's --device takes the same words
 * as a device line, comma-separated; so model options are separated by ':'
 * (they reach the model comma-separated). Every error names its line.
 */
#include <ctype.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "vfc-fault.h"
#include "vfc-log.h"
#include "vfc-macro.h"

static int parse_uint(const char *s, unsigned long max, int base, unsigned long *ret)
{
	char *end;
	unsigned long v;

	if (!*s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, base);
	if (errno || *end || v > max)
		return -EINVAL;
	*ret = v;
	return 0;
}

/* A PCI name as sysfs spells it: DDDD:BB:DD.F, lower-case hex. */
static bool valid_pci_name(const char *s)
{
	unsigned int dom, bus, dev, fn;
	char tail;

	if (strlen(s) != 12 || sscanf(s, "%4x:%2x:%2x.%1x%c", &dom, &bus, &dev, &fn, &tail) != 4)
		return false;
	for (const char *p = s; *p; p++)
		if (isupper((unsigned char)*p))
			return false;
	return dev < 32 && fn < 8 && s[4] == ':' && s[7] == ':' && s[10] == '.';
}

/* The kernel's IOMMU group of PCI device @name, or -errno. */
static int sysfs_iommu_group(const char *name)
{
	char path[96], target[256];
	const char *base;
	unsigned int g;
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", name);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	base = strrchr(target, '/');
	if (sscanf(base ? base + 1 : target, "%u", &g) != 1 || g > INT_MAX)
		return -EINVAL;
	return (int)g;
}

static struct vfc_cfg_group *group_get(struct vfc_config *cfg, unsigned int id)
{
	struct vfc_cfg_group *g;

	for (unsigned int i = 0; i < cfg->n_groups; i++)
		if (cfg->groups[i].id == id)
			return &cfg->groups[i];
	g = realloc(cfg->groups, (cfg->n_groups + 1) * sizeof(*g));
	if (!g)
		return NULL;
	cfg->groups = g;
	g = &cfg->groups[cfg->n_groups++];
	*g = (struct vfc_cfg_group){ .id = id, .uid = 0, .gid = 0, .mode = 0600 };
	return g;
}

static int set_string(char **dst, const char *v)
{
	char *s = strdup(v);

	if (!s)
		return -ENOMEM;
	free(*dst);
	*dst = s;
	return 0;
}

static int parse_device(struct vfc_config *cfg, char **words, int n, const char *where)
{
	struct vfc_cfg_device dev = { 0 };
	struct vfc_cfg_device *arr;
	bool have_group = false;
	unsigned long v;
	int r = -EINVAL;

	if (n < 1) {
		vfc_err("%s: device: a name is needed", where);
		return -EINVAL;
	}
	if (!valid_pci_name(words[0])) {
		vfc_err("%s: device: \"%s\" is not a PCI name like 0000:06:0d.0", where, words[0]);
		return -EINVAL;
	}
	for (unsigned int i = 0; i < cfg->n_devices; i++)
		if (!strcmp(cfg->devices[i].name, words[0])) {
			vfc_err("%s: device \"%s\" is declared twice", where, words[0]);
			return -EINVAL;
		}
	if (set_string(&dev.name, words[0]) < 0)
		goto nomem;
	for (int i = 1; i < n; i++) {
		char *eq = strchr(words[i], '=');

		if (!eq) {
			vfc_err("%s: device: \"%s\" is not key=value", where, words[i]);
			goto fail;
		}
		*eq = '\0';
		const char *key = words[i], *val = eq + 1;
		if (!strcmp(key, "group")) {
			if (parse_uint(val, INT_MAX, 10, &v) < 0) {
				vfc_err("%s: device: group \"%s\" is not a number", where, val);
				goto fail;
			}
			dev.group = (unsigned int)v;
			have_group = true;
		} else if (!strcmp(key, "model")) {
			if (set_string(&dev.model, val) < 0)
				goto nomem;
		} else if (!strcmp(key, "backend")) {
			if (set_string(&dev.backend, val) < 0)
				goto nomem;
		} else if (!strcmp(key, "options")) {
			if (set_string(&dev.options, val) < 0)
				goto nomem;
			for (char *p = dev.options; *p; p++)
				if (*p == ':')
					*p = ',';
		} else {
			vfc_err("%s: device: unknown key \"%s\"", where, key);
			goto fail;
		}
	}
	if (!dev.backend && set_string(&dev.backend, "emu") < 0)
		goto nomem;
	if (!strcmp(dev.backend, "kernel")) {
		/* A real device: its group is the kernel's, its model vfio-pci. */
		int g = sysfs_iommu_group(dev.name);

		if (dev.model && strcmp(dev.model, "vfio-pci")) {
			vfc_err("%s: device \"%s\": backend=kernel serves vfio-pci devices; drop "
				"model=", where, dev.name);
			goto fail;
		}
		if (g < 0) {
			vfc_err("%s: device \"%s\": no such PCI device with an IOMMU group "
				"(/sys/bus/pci/devices/%s/iommu_group)", where, dev.name, dev.name);
			goto fail;
		}
		if (have_group && dev.group != (unsigned int)g) {
			vfc_err("%s: device \"%s\" is in the kernel's group %d, not %u", where,
				dev.name, g, dev.group);
			goto fail;
		}
		dev.group = (unsigned int)g;
		have_group = true;
		if (!dev.model && set_string(&dev.model, "vfio-pci") < 0)
			goto nomem;
	}
	if (!have_group || !dev.model) {
		vfc_err("%s: device \"%s\": group= and model= are needed", where, dev.name);
		goto fail;
	}
	if (!group_get(cfg, dev.group))
		goto nomem;
	arr = realloc(cfg->devices, (cfg->n_devices + 1) * sizeof(*arr));
	if (!arr)
		goto nomem;
	cfg->devices = arr;
	cfg->devices[cfg->n_devices++] = dev;
	return 0;

nomem:
	r = -ENOMEM;
fail:
	free(dev.name);
	free(dev.model);
	free(dev.backend);
	free(dev.options);
	return r;
}

static int parse_group(struct vfc_config *cfg, char **words, int n, const char *where)
{
	struct vfc_cfg_group *g;
	unsigned long v;

	if (n < 1 || parse_uint(words[0], INT_MAX, 10, &v) < 0) {
		vfc_err("%s: group: a group number is needed", where);
		return -EINVAL;
	}
	g = group_get(cfg, (unsigned int)v);
	if (!g)
		return -ENOMEM;
	for (int i = 1; i < n; i++) {
		char *eq = strchr(words[i], '=');
		const char *val;

		if (!eq) {
			vfc_err("%s: group: \"%s\" is not key=value", where, words[i]);
			return -EINVAL;
		}
		*eq = '\0';
		val = eq + 1;
		if (!strcmp(words[i], "owner")) {
			struct passwd *pw = getpwnam(val);

			if (pw)
				g->uid = pw->pw_uid;
			else if (parse_uint(val, INT_MAX, 10, &v) == 0)
				g->uid = (uid_t)v;
			else {
				vfc_err("%s: group: no user \"%s\"", where, val);
				return -EINVAL;
			}
		} else if (!strcmp(words[i], "gid")) {
			struct group *gr = getgrnam(val);

			if (gr)
				g->gid = gr->gr_gid;
			else if (parse_uint(val, INT_MAX, 10, &v) == 0)
				g->gid = (gid_t)v;
			else {
				vfc_err("%s: group: no group \"%s\"", where, val);
				return -EINVAL;
			}
		} else if (!strcmp(words[i], "mode")) {
			if (parse_uint(val, 0777, 8, &v) < 0) {
				vfc_err("%s: group: mode \"%s\" is not octal 0..0777", where, val);
				return -EINVAL;
			}
			g->mode = (mode_t)v;
		} else {
			vfc_err("%s: group: unknown key \"%s\"", where, words[i]);
			return -EINVAL;
		}
	}
	return 0;
}

/* control-allow-uid USER|UID, control-allow-gid GROUP|GID */
static int parse_control_grant(struct vfc_config *cfg, const char *key, const char *val,
			       const char *where)
{
	bool uid = !strcmp(key, "control-allow-uid");
	unsigned int *n = uid ? &cfg->n_control_uids : &cfg->n_control_gids;
	unsigned long v;

	if (uid) {
		struct passwd *pw = getpwnam(val);

		if (pw)
			v = pw->pw_uid;
		else if (parse_uint(val, INT_MAX, 10, &v) < 0) {
			vfc_err("%s: %s: no user \"%s\"", where, key, val);
			return -EINVAL;
		}
	} else {
		struct group *gr = getgrnam(val);

		if (gr)
			v = gr->gr_gid;
		else if (parse_uint(val, INT_MAX, 10, &v) < 0) {
			vfc_err("%s: %s: no group \"%s\"", where, key, val);
			return -EINVAL;
		}
	}
	if (*n == VFC_CFG_MAX_CONTROL_GRANTS) {
		vfc_err("%s: %s: at most %u", where, key, VFC_CFG_MAX_CONTROL_GRANTS);
		return -EINVAL;
	}
	if (uid)
		cfg->control_uids[(*n)++] = (uid_t)v;
	else
		cfg->control_gids[(*n)++] = (gid_t)v;
	return 0;
}

static bool valid_prefix(const char *p)
{
	size_t n = strlen(p);

	if (!n || n > 64 || p[0] == '/' || p[n - 1] == '/' || strstr(p, "..") || strstr(p, "//"))
		return false;
	for (; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("-_./", *p))
			return false;
	return true;
}

/* fault RULE: the words again one space apart, to the rule table at once. */
static int parse_fault(char **words, int n, const char *where)
{
	char rule[512] = "", msg[160];
	size_t pos = 0;
	int r;

	for (int i = 0; i < n; i++) {
		int k = snprintf(rule + pos, sizeof(rule) - pos, "%s%s", i ? " " : "", words[i]);

		if (k < 0 || (size_t)k >= sizeof(rule) - pos) {
			vfc_err("%s: fault: rule too long", where);
			return -EINVAL;
		}
		pos += (size_t)k;
	}
	r = vfc_fault_add(rule, msg, sizeof(msg));
	if (r < 0) {
		vfc_err("%s: fault: %s", where, msg);
		return r == -ENOMEM ? r : -EINVAL;
	}
	return 0;
}
/* The per-client limits (docs/daemon.md, "Limits"): 1..max, default def. */
static const struct limit_key {
	const char *name;
	size_t offset;
	unsigned int max, def;
} limit_keys[] = {
	{ "files-per-process", offsetof(struct vfc_config, quota.files_per_process), 1u << 20, 4096 },
	{ "files-per-uid", offsetof(struct vfc_config, quota.files_per_uid), 1u << 20, 16384 },
	{ "containers-per-process", offsetof(struct vfc_config, quota.containers_per_process),
	  1u << 20, 1024 },
	{ "containers-per-uid", offsetof(struct vfc_config, quota.containers_per_uid), 1u << 20,
	  4096 },
	{ "workers-per-uid", offsetof(struct vfc_config, workers_per_uid), VFC_MAX_WORKERS / 2, 8 },
	{ "channel-conns", offsetof(struct vfc_config, channel_conns), VFC_CHANNEL_MAX_CONNS, 256 },
	{ "channel-conns-per-uid", offsetof(struct vfc_config, channel_conns_per_uid),
	  VFC_CHANNEL_MAX_CONNS, 32 },
	{ "log-burst", offsetof(struct vfc_config, log_burst), 1u << 20, 100 },
	{ "log-interval-ms", offsetof(struct vfc_config, log_interval_ms), 3600000, 1000 },
};

int vfc_config_parse_line(struct vfc_config *cfg, char *line, const char *where)
{
	char *words[32], *save = NULL, *w, *hash;
	unsigned long v;
	int n = 0;

	hash = strchr(line, '#');
	if (hash)
		*hash = '\0';
	for (w = strtok_r(line, " \t\r\n,", &save); w; w = strtok_r(NULL, " \t\r\n,", &save)) {
		if (n == (int)VFC_ARRAY_SIZE(words)) {
			vfc_err("%s: too many words", where);
			return -EINVAL;
		}
		words[n++] = w;
	}
	if (n == 0)
		return 0;
	if (!strcmp(words[0], "device"))
		return parse_device(cfg, words + 1, n - 1, where);
	if (!strcmp(words[0], "group"))
		return parse_group(cfg, words + 1, n - 1, where);
	if (!strcmp(words[0], "fault"))
		return parse_fault(words + 1, n - 1, where);
	if (n != 2) {
		vfc_err("%s: \"%s\" takes one value", where, words[0]);
		return -EINVAL;
	}
	if (!strcmp(words[0], "prefix")) {
		if (!valid_prefix(words[1])) {
			vfc_err("%s: prefix \"%s\": use letters, digits, '-', '_', '.' and inner '/'",
				where, words[1]);
			return -EINVAL;
		}
		return set_string(&cfg->prefix, words[1]);
	}
	if (!strcmp(words[0], "rundir")) {
		if (words[1][0] != '/') {
			vfc_err("%s: rundir \"%s\" must be absolute", where, words[1]);
			return -EINVAL;
		}
		return set_string(&cfg->rundir, words[1]);
	}
	if (!strcmp(words[0], "user")) {
		struct passwd *pw = getpwnam(words[1]);

		if (!pw) {
			vfc_err("%s: user: no user \"%s\"", where, words[1]);
			return -EINVAL;
		}
		if (pw->pw_uid == 0) {
			vfc_err("%s: user \"%s\" is root: nothing would be dropped", where, words[1]);
			return -EINVAL;
		}
		cfg->user_uid = pw->pw_uid;
		cfg->user_gid = pw->pw_gid;
		return set_string(&cfg->user, words[1]);
	}
	if (!strcmp(words[0], "dma-entry-limit")) {
		if (parse_uint(words[1], UINT32_MAX, 10, &v) < 0 || v == 0) {
			vfc_err("%s: dma-entry-limit \"%s\" is not a number in 1..2^32-1", where,
				words[1]);
			return -EINVAL;
		}
		cfg->dma_entry_limit = v;
		return 0;
	}
	for (size_t i = 0; i < VFC_ARRAY_SIZE(limit_keys); i++) {
		const struct limit_key *k = &limit_keys[i];

		if (strcmp(words[0], k->name))
			continue;
		if (parse_uint(words[1], k->max, 10, &v) < 0 || v == 0) {
			vfc_err("%s: %s \"%s\" is not a number in 1..%u", where, k->name, words[1],
				k->max);
			return -EINVAL;
		}
		*(unsigned int *)((char *)cfg + k->offset) = (unsigned int)v;
		return 0;
	}
	if (!strcmp(words[0], "worker-idle-ms")) {
		if (parse_uint(words[1], 86400000, 10, &v) < 0 || v == 0) {
			vfc_err("%s: worker-idle-ms \"%s\" is not a number in 1..86400000", where,
				words[1]);
			return -EINVAL;
		}
		cfg->worker_idle_ms = (unsigned int)v;
		return 0;
	}
	if (!strcmp(words[0], "trace"))
		return set_string(&cfg->trace, words[1]);
	if (!strcmp(words[0], "trace-format")) {
		if (strcmp(words[1], "text") && strcmp(words[1], "json")) {
			vfc_err("%s: trace-format \"%s\": text or json", where, words[1]);
			return -EINVAL;
		}
		cfg->trace_json = !strcmp(words[1], "json");
		return 0;
	}
	if (!strcmp(words[0], "control-allow-uid") || !strcmp(words[0], "control-allow-gid"))
		return parse_control_grant(cfg, words[0], words[1], where);
	vfc_err("%s: unknown statement \"%s\"", where, words[0]);
	return -EINVAL;
}

int vfc_config_load(struct vfc_config *cfg, const char *path)
{
	FILE *f = fopen(path, "re");
	char line[1024], where[PATH_MAX + 32];
	unsigned int lineno = 0;
	int r = 0;

	if (!f) {
		r = -errno;
		vfc_err("config \"%s\": %s", path, strerror(-r));
		return r;
	}
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		snprintf(where, sizeof(where), "%s:%u", path, lineno);
		if (!strchr(line, '\n') && !feof(f)) {
			vfc_err("%s: line longer than %zu bytes", where, sizeof(line) - 2);
			r = -EINVAL;
			break;
		}
		r = vfc_config_parse_line(cfg, line, where);
		if (r < 0)
			break;
	}
	fclose(f);
	return r;
}

int vfc_config_finish(struct vfc_config *cfg)
{
	if (!cfg->prefix && set_string(&cfg->prefix, "vfio") < 0)
		return -ENOMEM;
	if (!cfg->rundir && set_string(&cfg->rundir, "/run/vfio-cuse") < 0)
		return -ENOMEM;
	if (!cfg->dma_entry_limit)
		cfg->dma_entry_limit = 65535;
	if (!cfg->worker_idle_ms)
		cfg->worker_idle_ms = 30000;
	for (size_t i = 0; i < VFC_ARRAY_SIZE(limit_keys); i++) {
		unsigned int *v = (unsigned int *)((char *)cfg + limit_keys[i].offset);

		if (!*v)
			*v = limit_keys[i].def;
	}
	for (unsigned int i = 0; i < cfg->n_groups; i++) {
		bool used = false;

		for (unsigned int j = 0; j < cfg->n_devices; j++)
			used |= cfg->devices[j].group == cfg->groups[i].id;
		if (!used) {
			vfc_err("config: group %u has no device", cfg->groups[i].id);
			return -EINVAL;
		}
	}
	if (cfg->n_groups + 2 > VFC_MAX_NODES) {
		vfc_err("config: %u groups: at most %u", cfg->n_groups, VFC_MAX_NODES - 2);
		return -EINVAL;
	}
	return 0;
}

void vfc_config_clear(struct vfc_config *cfg)
{
	for (unsigned int i = 0; i < cfg->n_devices; i++) {
		free(cfg->devices[i].name);
		free(cfg->devices[i].model);
		free(cfg->devices[i].backend);
		free(cfg->devices[i].options);
	}
	free(cfg->devices);
	free(cfg->groups);
	free(cfg->prefix);
	free(cfg->rundir);
	free(cfg->user);
	free(cfg->trace);
	*cfg = (struct vfc_config){ 0 };
}
