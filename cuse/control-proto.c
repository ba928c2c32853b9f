/* SPDX-License-Identifier: MIT */
/*
 * The control protocol (control.h): request parsing, and each command's
 * reply as text for people or as JSON, made from the core's introspection
 * (vfc-inspect.h), the open files the transport lists, the trace
 * (vfc-trace.h) and fault injection (vfc-fault.h). No socket and no fuse
 * here, so that tests run it in-process.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "vfc-fault.h"
#include "vfc-inspect.h"
#include "vfc-trace.h"

/* Buffers */

static bool buf_reserve(struct vfc_ctl_buf *b, size_t more)
{
	size_t cap;
	char *p;

	if (b->failed)
		return false;
	if (b->len + more + 1 > VFC_CTL_MAX_REPLY) {
		b->failed = -E2BIG;
		return false;
	}
	if (b->len + more + 1 <= b->cap)
		return true;
	cap = VFC_MAX(b->cap * 2, (size_t)4096);
	while (cap < b->len + more + 1)
		cap *= 2;
	p = realloc(b->data, cap);
	if (!p) {
		b->failed = -ENOMEM;
		return false;
	}
	b->data = p;
	b->cap = cap;
	return true;
}

void vfc_ctl_buf_printf(struct vfc_ctl_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !buf_reserve(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void vfc_ctl_buf_json_string(struct vfc_ctl_buf *b, const char *s)
{
	vfc_ctl_buf_printf(b, "\"");
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			vfc_ctl_buf_printf(b, "\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			vfc_ctl_buf_printf(b, "\\u%04x", *p);
		else
			vfc_ctl_buf_printf(b, "%c", *p);
	}
	vfc_ctl_buf_printf(b, "\"");
}

void vfc_ctl_buf_free(struct vfc_ctl_buf *b)
{
	free(b->data);
	*b = (struct vfc_ctl_buf){ 0 };
}

/* Requests */

int vfc_ctl_parse(char *line, size_t len, struct vfc_ctl_request *ret)
{
	struct vfc_ctl_request req = { 0 };
	char *p = line, *end = line + len;

	if (len >= VFC_CTL_MAX_LINE)
		return -E2BIG;
	line[len] = '\0';
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)line[i] < 0x20 || (unsigned char)line[i] >= 0x7f)
			return -EINVAL;
	while (p < end) {
		while (p < end && *p == ' ')
			p++;
		if (p == end)
			break;
		if (req.argc == 0 && !req.json && !strncmp(p, "json", 4) &&
		    (p[4] == ' ' || p[4] == '\0')) {
			req.json = true;
			p += 4;
			*p = '\0';
			if (p < end)
				p++;
			continue;
		}
		if (req.argc == VFC_CTL_MAX_WORDS)
			return -EINVAL;
		/* "fault add RULE": the rule keeps its spaces. */
		if (req.argc == 2 && !strcmp(req.argv[0], "fault") && !strcmp(req.argv[1], "add")) {
			req.rest = p;
			req.argv[req.argc++] = p;
			break;
		}
		req.argv[req.argc++] = p;
		while (p < end && *p != ' ')
			p++;
		*p = '\0';
		if (p < end)
			p++;
	}
	if (!req.argc)
		return -EINVAL;
	*ret = req;
	return 0;
}

/* Rows: one object in JSON, one line under a header in text. */

struct fmt {
	struct vfc_ctl_buf *b;
	bool json;
	unsigned int rows;
	struct vfc_ctl_buf hdr, line;
	bool first_field;
};

static void row_begin(struct fmt *f)
{
	f->first_field = true;
	if (f->json)
		vfc_ctl_buf_printf(f->b, "%s{", f->rows ? "," : "");
	f->hdr.len = f->line.len = 0;
	if (f->hdr.data)
		f->hdr.data[0] = '\0';
	if (f->line.data)
		f->line.data[0] = '\0';
}

static void field_key(struct fmt *f, const char *key)
{
	if (f->json) {
		vfc_ctl_buf_printf(f->b, "%s\"%s\":", f->first_field ? "" : ",", key);
	}
	f->first_field = false;
}

/* A text column: @width characters, or the value's length. */
static void text_cell(struct fmt *f, const char *key, int width, const char *value)
{
	char up[32];
	size_t i;

	for (i = 0; key[i] && i + 1 < sizeof(up); i++)
		up[i] = key[i] >= 'a' && key[i] <= 'z' ? key[i] - 'a' + 'A' : key[i] == '_' ? ' ' : key[i];
	up[i] = '\0';
	vfc_ctl_buf_printf(&f->hdr, "%s%-*s", f->hdr.len ? " " : "", width, up);
	vfc_ctl_buf_printf(&f->line, "%s%-*s", f->line.len ? " " : "", width, value);
}

static void field_str(struct fmt *f, const char *key, int width, const char *value)
{
	field_key(f, key);
	if (f->json) {
		if (value)
			vfc_ctl_buf_json_string(f->b, value);
		else
			vfc_ctl_buf_printf(f->b, "null");
	} else {
		text_cell(f, key, width, value ? value : "-");
	}
}

/* A number; VFC_IOMMU_UNKNOWN shows as null / "?" when @may_be_unknown. */
static void field_num(struct fmt *f, const char *key, int width, uint64_t v, bool hex,
		      bool may_be_unknown)
{
	char s[32];

	if (may_be_unknown && v == VFC_IOMMU_UNKNOWN) {
		field_key(f, key);
		if (f->json)
			vfc_ctl_buf_printf(f->b, "null");
		else
			text_cell(f, key, width, "?");
		return;
	}
	snprintf(s, sizeof(s), hex ? "0x%" PRIx64 : "%" PRIu64, v);
	field_key(f, key);
	if (f->json)
		vfc_ctl_buf_printf(f->b, hex ? "\"%s\"" : "%s", s);	/* 64-bit hex as strings */
	else
		text_cell(f, key, width, s);
}

static void field_bool(struct fmt *f, const char *key, int width, bool v)
{
	field_key(f, key);
	if (f->json)
		vfc_ctl_buf_printf(f->b, v ? "true" : "false");
	else
		text_cell(f, key, width, v ? "yes" : "no");
}

static void row_end(struct fmt *f)
{
	if (f->json) {
		vfc_ctl_buf_printf(f->b, "}");
	} else {
		/* trim the padding of the last column */
		while (f->hdr.len && f->hdr.data[f->hdr.len - 1] == ' ')
			f->hdr.data[--f->hdr.len] = '\0';
		while (f->line.len && f->line.data[f->line.len - 1] == ' ')
			f->line.data[--f->line.len] = '\0';
		if (!f->rows)
			vfc_ctl_buf_printf(f->b, "%s\n", f->hdr.data ? f->hdr.data : "");
		vfc_ctl_buf_printf(f->b, "%s\n", f->line.data ? f->line.data : "");
		if (f->hdr.failed || f->line.failed)
			f->b->failed = f->hdr.failed ? f->hdr.failed : f->line.failed;
	}
	f->rows++;
}

static void list_begin(struct fmt *f, const char *name)
{
	if (f->json)
		vfc_ctl_buf_printf(f->b, "\"%s\":[", name);
	f->rows = 0;
}

static void list_end(struct fmt *f, const char *none)
{
	if (f->json)
		vfc_ctl_buf_printf(f->b, "]");
	else if (!f->rows && none)
		vfc_ctl_buf_printf(f->b, "%s\n", none);
}

static void fmt_fini(struct fmt *f)
{
	vfc_ctl_buf_free(&f->hdr);
	vfc_ctl_buf_free(&f->line);
}

/* Commands */

static int group_row(void *opaque, const struct vfc_inspect_group *g)
{
	struct fmt *f = opaque;

	row_begin(f);
	field_num(f, "id", 6, g->id, false, false);
	field_bool(f, "viable", 6, g->viable);
	field_bool(f, "open", 4, g->open_refs > 0);
	field_num(f, "open_refs", 9, g->open_refs, false, false);
	if (g->container)
		field_num(f, "container", 9, g->container, false, false);
	else
		field_str(f, "container", 9, NULL);
	field_num(f, "devices", 7, g->n_devices, false, false);
	row_end(f);
	return f->b->failed;
}

static int device_row(void *opaque, const struct vfc_inspect_device *d)
{
	struct fmt *f = opaque;
	char kind[32];

	snprintf(kind, sizeof(kind), "%s%s", d->flags & VFIO_DEVICE_FLAGS_PCI ? "pci" : "other",
		 d->flags & VFIO_DEVICE_FLAGS_RESET ? ",reset" : "");
	row_begin(f);
	field_str(f, "name", 14, d->name);
	field_num(f, "group", 6, d->group, false, false);
	field_num(f, "open_count", 10, d->open_count, false, false);
	field_num(f, "regions", 7, d->num_regions, false, false);
	field_num(f, "irqs", 4, d->num_irqs, false, false);
	field_str(f, "flags", 9, kind);
	row_end(f);
	return f->b->failed;
}

static const char *iommu_type_name(unsigned long type)
{
	switch (type) {
	case VFIO_TYPE1_IOMMU:
		return "type1";
	case VFIO_TYPE1v2_IOMMU:
		return "type1v2";
	case 0:
		return NULL;
	default:
		return "other";
	}
}

struct totals {
	unsigned int containers;
	uint64_t mappings, mapped, pinned;
	bool mappings_unknown, pinned_unknown;
};

static void add_sat(uint64_t *sum, uint64_t v, bool *unknown)
{
	if (v == VFC_IOMMU_UNKNOWN) {
		*unknown = true;
		return;
	}
	*sum = *sum + v < *sum || *sum + v >= UINT64_MAX ? UINT64_MAX - 1 : *sum + v;
}

struct containers_ctx {
	struct fmt *f;
	struct totals t;
};

static int container_row(void *opaque, const struct vfc_inspect_container *c)
{
	struct containers_ctx *cx = opaque;
	struct fmt *f = cx->f;
	struct vfc_ctl_buf groups = { 0 };
	bool dummy = false;

	cx->t.containers++;
	add_sat(&cx->t.mappings, c->stats.mappings, &cx->t.mappings_unknown);
	add_sat(&cx->t.mapped, c->stats.mapped, &dummy);
	add_sat(&cx->t.pinned, c->stats.pinned, &cx->t.pinned_unknown);
	if (!f)
		return 0;
	row_begin(f);
	field_num(f, "id", 4, c->id, false, false);
	field_str(f, "iommu", 9, c->iommu);
	field_str(f, "type", 7, iommu_type_name(c->type));
	field_key(f, "groups");
	for (unsigned int i = 0; i < VFC_MIN(c->n_groups, VFC_INSPECT_MAX_GROUPS); i++)
		vfc_ctl_buf_printf(&groups, "%s%u", i ? "," : "", c->groups[i]);
	if (c->n_groups > VFC_INSPECT_MAX_GROUPS)
		vfc_ctl_buf_printf(&groups, ",...");
	if (f->json)
		vfc_ctl_buf_printf(f->b, "[%s]", groups.data && !groups.failed ? groups.data : "");
	else
		text_cell(f, "groups", 8, groups.data && !groups.failed ? groups.data : "-");
	vfc_ctl_buf_free(&groups);
	f->first_field = false;
	field_num(f, "mappings", 8, c->stats.mappings, false, true);
	field_num(f, "mapped_bytes", 12, c->stats.mapped, false, true);
	field_num(f, "pinned_bytes", 12, c->stats.pinned, false, true);
	row_end(f);
	return f->b->failed;
}

static int mapping_row(void *opaque, const struct vfc_iommu_mapping *m)
{
	struct fmt *f = opaque;
	char flags[16];

	snprintf(flags, sizeof(flags), "%s%s%s", m->flags & VFC_IOMMU_MAP_READ ? "r" : "-",
		 m->flags & VFC_IOMMU_MAP_WRITE ? "w" : "-",
		 m->flags & VFC_IOMMU_MAP_VADDR_INVALID ? "i" : "");
	row_begin(f);
	field_num(f, "iova", 18, m->iova, true, false);
	/* the whole space is 2^64 bytes: shown as 0 */
	field_num(f, "size", 12, m->last - m->iova + 1, true, false);
	field_num(f, "vaddr", 18, m->vaddr, true, false);
	field_str(f, "flags", 5, flags);
	field_num(f, "owner", 7, (uint64_t)m->owner, false, false);
	row_end(f);
	return f->b->failed;
}

static int cmd_mappings_one(const struct vfc_ctl_env *env, struct fmt *f, unsigned long id)
{
	struct vfc_iommu_stats st = { 0 };
	int r;

	if (f->json)
		vfc_ctl_buf_printf(f->b, "{\"container\":%lu,", id);
	else
		vfc_ctl_buf_printf(f->b, "container %lu:\n", id);
	list_begin(f, "mappings");
	r = vfc_inspect_mappings(env->core, id, &st, mapping_row, f);
	list_end(f, r == 0 ? "  (no mappings)" : NULL);
	if (r == -ENODEV) {
		st = (struct vfc_iommu_stats){ 0 };
		if (!f->json)
			vfc_ctl_buf_printf(f->b, "  (no IOMMU set: no mappings)\n");
		r = 0;
	} else if (r == -EOPNOTSUPP) {
		if (!f->json)
			vfc_ctl_buf_printf(f->b, "  (its IOMMU cannot list mappings: the kernel's "
					   "type1 keeps them)\n");
	}
	if (f->json) {
		vfc_ctl_buf_printf(f->b, ",\"listed\":%s,", r == -EOPNOTSUPP ? "false" : "true");
		f->first_field = true;
		field_num(f, "count", 0, st.mappings, false, true);
		field_num(f, "mapped_bytes", 0, st.mapped, false, true);
		field_num(f, "pinned_bytes", 0, st.pinned, false, true);
		vfc_ctl_buf_printf(f->b, "}");
	}
	return r == -EOPNOTSUPP ? 0 : r;
}

static int collect_id(void *opaque, const struct vfc_inspect_container *c)
{
	struct vfc_ctl_buf *ids = opaque;

	if (buf_reserve(ids, sizeof(unsigned long))) {
		memcpy(ids->data + ids->len, &c->id, sizeof(c->id));
		ids->len += sizeof(c->id);
	}
	return ids->failed;
}

static int cmd_mappings(const struct vfc_ctl_env *env, const struct vfc_ctl_request *req,
			struct fmt *f, char *err, size_t errlen)
{
	struct vfc_ctl_buf ids = { 0 };
	unsigned long id;
	char *end;
	int r = 0;

	if (req->argc > 2) {
		snprintf(err, errlen, "usage: mappings [CONTAINER]");
		return -EINVAL;
	}
	if (req->argc == 2) {
		errno = 0;
		id = strtoul(req->argv[1], &end, 10);
		if (errno || *end || !id || req->argv[1][0] == '-') {
			snprintf(err, errlen, "container \"%.64s\" is not a number", req->argv[1]);
			return -EINVAL;
		}
		if (f->json)
			vfc_ctl_buf_printf(f->b, "{\"containers\":[");
		r = cmd_mappings_one(env, f, id);
		if (r == -ENOENT)
			snprintf(err, errlen, "no container %lu", id);
		if (f->json)
			vfc_ctl_buf_printf(f->b, "]}\n");
		return r;
	}
	/* Every container: their ids first, without holding the core meanwhile. */
	r = vfc_inspect_containers(env->core, collect_id, &ids);
	if (r)
		goto out;
	if (f->json)
		vfc_ctl_buf_printf(f->b, "{\"containers\":[");
	for (size_t i = 0; i + sizeof(unsigned long) <= ids.len && !f->b->failed; i += sizeof(id)) {
		memcpy(&id, ids.data + i, sizeof(id));
		if (f->json && i)
			vfc_ctl_buf_printf(f->b, ",");
		r = cmd_mappings_one(env, f, id);
		if (r == -ENOENT)	/* closed meanwhile */
			r = 0;
		if (r)
			break;
	}
	if (f->json)
		vfc_ctl_buf_printf(f->b, "]}\n");
	else if (!ids.len)
		vfc_ctl_buf_printf(f->b, "no containers\n");
out:
	vfc_ctl_buf_free(&ids);
	return r;
}

static int cmp_file(const void *a, const void *b)
{
	const struct vfc_ctl_open_file *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return x->file_id < y->file_id ? -1 : x->file_id > y->file_id;
}

static void file_desc(const struct vfc_ctl_open_file *o, char *s, size_t len)
{
	switch (o->kind) {
	case VFC_FILE_CONTAINER:
		snprintf(s, len, "container %lu", o->container);
		break;
	case VFC_FILE_GROUP:
		snprintf(s, len, "group %d", o->group);
		break;
	default:
		snprintf(s, len, "device %s", o->device ? o->device : "(not bound)");
		break;
	}
}

static int cmd_clients(const struct vfc_ctl_env *env, struct fmt *f)
{
	struct vfc_ctl_open_file *files = NULL;
	size_t n = 0;
	char desc[300];
	int r;

	if (!env->files)
		return -EOPNOTSUPP;
	r = env->files(env->opaque, &files, &n);
	if (r < 0)
		return r;
	qsort(files, n, sizeof(*files), cmp_file);
	if (f->json)
		vfc_ctl_buf_printf(f->b, "{");
	list_begin(f, "clients");
	for (size_t i = 0; i < n;) {
		size_t j = i;

		if (f->json) {
			vfc_ctl_buf_printf(f->b, "%s{\"pid\":%d,\"uid\":%u,\"files\":[",
					   f->rows ? "," : "", (int)files[i].pid, files[i].uid);
			for (; j < n && files[j].pid == files[i].pid; j++) {
				const struct vfc_ctl_open_file *o = &files[j];

				vfc_ctl_buf_printf(f->b, "%s{\"kind\":\"%s\",\"file\":%" PRIu64,
						   j > i ? "," : "",
						   o->kind == VFC_FILE_CONTAINER ? "container" :
						   o->kind == VFC_FILE_GROUP ? "group" : "device",
						   o->file_id);
				if (o->kind == VFC_FILE_CONTAINER)
					vfc_ctl_buf_printf(f->b, ",\"container\":%lu", o->container);
				else if (o->kind == VFC_FILE_GROUP)
					vfc_ctl_buf_printf(f->b, ",\"group\":%d", o->group);
				else {
					vfc_ctl_buf_printf(f->b, ",\"device\":");
					if (o->device)
						vfc_ctl_buf_json_string(f->b, o->device);
					else
						vfc_ctl_buf_printf(f->b, "null");
				}
				vfc_ctl_buf_printf(f->b, "}");
			}
			vfc_ctl_buf_printf(f->b, "]}");
			f->rows++;
		} else {
			if (!f->rows)
				vfc_ctl_buf_printf(f->b, "%-8s %-6s %s\n", "PID", "UID", "OPEN FILES");
			vfc_ctl_buf_printf(f->b, "%-8d %-6u ", (int)files[i].pid, files[i].uid);
			for (; j < n && files[j].pid == files[i].pid; j++) {
				file_desc(&files[j], desc, sizeof(desc));
				vfc_ctl_buf_printf(f->b, "%s%s", j > i ? ", " : "", desc);
			}
			vfc_ctl_buf_printf(f->b, "\n");
			f->rows++;
		}
		i = j;
	}
	list_end(f, "no clients");
	if (f->json)
		vfc_ctl_buf_printf(f->b, "}\n");
	free(files);
	return 0;
}

static int count_group(void *opaque, const struct vfc_inspect_group *g)
{
	unsigned int *n = opaque;

	n[0]++;
	n[1] += g->open_refs > 0;
	return 0;
}

static int count_device(void *opaque, const struct vfc_inspect_device *d)
{
	unsigned int *n = opaque;

	n[0]++;
	n[1] += d->open_count > 0;
	return 0;
}

static void status_num(struct fmt *f, const char *key, const char *label, uint64_t v,
		       bool unknown, const char *note)
{
	if (f->json) {
		field_key(f, key);
		if (unknown)
			vfc_ctl_buf_printf(f->b, "null");
		else
			vfc_ctl_buf_printf(f->b, "%" PRIu64, v);
	} else if (unknown) {
		vfc_ctl_buf_printf(f->b, "%-18s unknown%s%s\n", label, note ? " " : "",
				   note ? note : "");
	} else {
		vfc_ctl_buf_printf(f->b, "%-18s %" PRIu64 "%s%s\n", label, v, note ? " " : "",
				   note ? note : "");
	}
}

static int cmd_status(const struct vfc_ctl_env *env, struct fmt *f)
{
	struct containers_ctx cx = { 0 };
	unsigned int groups[2] = { 0 }, devices[2] = { 0 };
	struct vfc_ctl_open_file *files = NULL;
	size_t n_files = 0, n_clients = 0, rules;
	bool files_known = false;

	vfc_inspect_groups(env->core, count_group, groups);
	vfc_inspect_devices(env->core, count_device, devices);
	vfc_inspect_containers(env->core, container_row, &cx);
	if (env->files && env->files(env->opaque, &files, &n_files) == 0) {
		files_known = true;
		qsort(files, n_files, sizeof(*files), cmp_file);
		for (size_t i = 0; i < n_files; i++)
			n_clients += !i || files[i].pid != files[i - 1].pid;
		free(files);
	}
	rules = vfc_fault_count();
	if (f->json) {
		vfc_ctl_buf_printf(f->b, "{\"version\":");
		vfc_ctl_buf_json_string(f->b, VFC_VERSION);
		vfc_ctl_buf_printf(f->b, ",\"pid\":%d,\"uid\":%u,\"trace\":%s,",
				   (int)env->pid, env->uid, vfc_trace_on() ? "true" : "false");
		f->first_field = true;
	} else {
		vfc_ctl_buf_printf(f->b, "%-18s %s\n%-18s %d (uid %u)\n%-18s %s\n", "vfio-cused",
				   VFC_VERSION, "pid", (int)env->pid, env->uid, "trace",
				   vfc_trace_on() ? "on" : "off");
	}
	status_num(f, "groups", "groups", groups[0], false, NULL);
	status_num(f, "groups_open", "groups open", groups[1], false, NULL);
	status_num(f, "devices", "devices", devices[0], false, NULL);
	status_num(f, "devices_open", "devices open", devices[1], false, NULL);
	status_num(f, "containers", "containers", cx.t.containers, false, NULL);
	status_num(f, "clients", "clients", n_clients, !files_known, NULL);
	status_num(f, "open_files", "open files", n_files, !files_known, NULL);
	status_num(f, "mappings", "mappings", cx.t.mappings, cx.t.mappings_unknown,
		   cx.t.mappings_unknown ? "(a kernel-backed container keeps its own)" : NULL);
	status_num(f, "mapped_bytes", "mapped bytes", cx.t.mapped, cx.t.mappings_unknown, NULL);
	/* The emulated IOMMU pins nothing; the kernel's type1 pins and charges
	 * the client's RLIMIT_MEMLOCK, which the daemon cannot see. */
	status_num(f, "pinned_bytes", "pinned bytes", cx.t.pinned, cx.t.pinned_unknown,
		   cx.t.pinned_unknown ? "(kernel containers pin in their clients)" : NULL);
	status_num(f, "fault_rules", "fault rules", rules, false, NULL);
	if (f->json)
		vfc_ctl_buf_printf(f->b, "}\n");
	return 0;
}

static int cmd_trace(const struct vfc_ctl_env *env, const struct vfc_ctl_request *req,
		     struct fmt *f, char *err, size_t errlen)
{
	enum vfc_trace_format format = VFC_TRACE_TEXT;
	char path[PATH_MAX];
	const char *file = NULL;
	int r;

	if (req->argc == 2 && !strcmp(req->argv[1], "off")) {
		vfc_trace_stop();
		vfc_ctl_buf_printf(f->b, f->json ? "{\"trace\":false}\n" : "trace off\n");
		return 0;
	}
	if (req->argc < 2 || req->argc > 4 || strcmp(req->argv[1], "on"))
		goto usage;
	for (int i = 2; i < req->argc; i++) {
		if (!strcmp(req->argv[i], "json"))
			format = VFC_TRACE_JSON;
		else if (!strcmp(req->argv[i], "text"))
			format = VFC_TRACE_TEXT;
		else if (!file && req->argv[i][0] == '/')
			file = req->argv[i];
		else
			goto usage;
	}
	if (file && !env->may_name_files) {
		snprintf(err, errlen, "only root and the daemon's user may name a trace file; "
			 "others trace to %s/trace", env->rundir);
		return -EPERM;
	}
	if (!file) {
		if ((size_t)snprintf(path, sizeof(path), "%s/trace", env->rundir) >= sizeof(path))
			return -ENAMETOOLONG;
		file = path;
	}
	r = vfc_trace_start(file, format);
	if (r < 0) {
		snprintf(err, errlen, "cannot trace to \"%.200s\": %s", file, strerror(-r));
		return r;
	}
	if (f->json) {
		vfc_ctl_buf_printf(f->b, "{\"trace\":true,\"file\":");
		vfc_ctl_buf_json_string(f->b, file);
		vfc_ctl_buf_printf(f->b, ",\"format\":\"%s\"}\n",
				   format == VFC_TRACE_JSON ? "json" : "text");
	} else {
		vfc_ctl_buf_printf(f->b, "trace on: %s (%s)\n", file,
				   format == VFC_TRACE_JSON ? "json" : "text");
	}
	return 0;
usage:
	snprintf(err, errlen, "usage: trace on [/ABSOLUTE/FILE] [text|json] | trace off");
	return -EINVAL;
}

static int cmd_fault(const struct vfc_ctl_env *env, const struct vfc_ctl_request *req,
		     struct fmt *f, char *err, size_t errlen)
{
	const char *verb = req->argc >= 2 ? req->argv[1] : "";
	unsigned long id;
	char *end, *list;
	size_t need;
	int r;

	if (!strcmp(verb, "add") && req->argc == 3 && req->rest && *req->rest) {
		err[0] = '\0';
		r = vfc_fault_add(req->rest, err, errlen);
		if (r < 0) {
			if (!err[0])
				snprintf(err, errlen, "%s", strerror(-r));
			return r;
		}
		vfc_ctl_buf_printf(f->b, f->json ? "{\"id\":%d}\n" : "fault rule %d added\n", r);
		return 0;
	}
	if ((!strcmp(verb, "rm") || !strcmp(verb, "remove")) && req->argc == 3) {
		errno = 0;
		id = strtoul(req->argv[2], &end, 10);
		if (errno || *end || !id || id > INT_MAX || req->argv[2][0] == '-') {
			snprintf(err, errlen, "rule \"%.32s\" is not a number", req->argv[2]);
			return -EINVAL;
		}
		r = vfc_fault_remove((int)id);
		if (r < 0) {
			snprintf(err, errlen, "no fault rule %lu", id);
			return r;
		}
		vfc_ctl_buf_printf(f->b, f->json ? "{\"removed\":%lu}\n" :
				   "fault rule %lu removed\n", id);
		return 0;
	}
	if (!strcmp(verb, "clear") && req->argc == 2) {
		vfc_fault_clear();
		vfc_ctl_buf_printf(f->b, f->json ? "{\"cleared\":true}\n" : "fault rules cleared\n");
		return 0;
	}
	if (!strcmp(verb, "list") && req->argc == 2) {
		need = vfc_fault_list(NULL, 0);
		if (need >= VFC_CTL_MAX_REPLY / 2)
			return -E2BIG;
		list = malloc(need + 1);
		if (!list)
			return -ENOMEM;
		vfc_fault_list(list, need + 1);
		if (f->json) {
			/* one string per line */
			vfc_ctl_buf_printf(f->b, "{\"rules\":[");
			for (char *save = NULL, *l = strtok_r(list, "\n", &save), *first = l; l;
			     l = strtok_r(NULL, "\n", &save)) {
				vfc_ctl_buf_printf(f->b, "%s", l == first ? "" : ",");
				vfc_ctl_buf_json_string(f->b, l);
			}
			vfc_ctl_buf_printf(f->b, "]}\n");
		} else if (need) {
			vfc_ctl_buf_printf(f->b, "%s%s", list, list[need - 1] == '\n' ? "" : "\n");
		} else {
			vfc_ctl_buf_printf(f->b, "no fault rules\n");
		}
		free(list);
		return 0;
	}
	snprintf(err, errlen, "usage: fault add RULE | fault rm ID | fault clear | fault list");
	return -EINVAL;
}

static int run(const struct vfc_ctl_env *env, const struct vfc_ctl_request *req, struct fmt *f,
	       char *err, size_t errlen)
{
	const char *cmd = req->argv[0];
	int r;

	if (!strcmp(cmd, "status") && req->argc == 1)
		return cmd_status(env, f);
	if (!strcmp(cmd, "groups") && req->argc == 1) {
		if (f->json)
			vfc_ctl_buf_printf(f->b, "{");
		list_begin(f, "groups");
		r = vfc_inspect_groups(env->core, group_row, f);
		list_end(f, "no groups");
		if (f->json)
			vfc_ctl_buf_printf(f->b, "}\n");
		return r;
	}
	if (!strcmp(cmd, "devices") && req->argc == 1) {
		if (f->json)
			vfc_ctl_buf_printf(f->b, "{");
		list_begin(f, "devices");
		r = vfc_inspect_devices(env->core, device_row, f);
		list_end(f, "no devices");
		if (f->json)
			vfc_ctl_buf_printf(f->b, "}\n");
		return r;
	}
	if (!strcmp(cmd, "containers") && req->argc == 1) {
		struct containers_ctx cx = { .f = f };

		if (f->json)
			vfc_ctl_buf_printf(f->b, "{");
		list_begin(f, "containers");
		r = vfc_inspect_containers(env->core, container_row, &cx);
		list_end(f, "no containers");
		if (f->json)
			vfc_ctl_buf_printf(f->b, "}\n");
		return r;
	}
	if (!strcmp(cmd, "mappings"))
		return cmd_mappings(env, req, f, err, errlen);
	if (!strcmp(cmd, "clients") && req->argc == 1)
		return cmd_clients(env, f);
	if (!strcmp(cmd, "trace"))
		return cmd_trace(env, req, f, err, errlen);
	if (!strcmp(cmd, "fault"))
		return cmd_fault(env, req, f, err, errlen);
	snprintf(err, errlen, "unknown command \"%.32s\" or wrong arguments (status, groups, "
		 "devices, containers, mappings [ID], clients, trace, fault)", cmd);
	return -EINVAL;
}

int vfc_ctl_execute(const struct vfc_ctl_env *env, const struct vfc_ctl_request *req,
		    struct vfc_ctl_buf *out)
{
	struct vfc_ctl_buf body = { 0 };
	struct fmt f = { .b = &body, .json = req->json };
	char err[512] = "";
	int r;

	r = run(env, req, &f, err, sizeof(err));
	fmt_fini(&f);
	if (r > 0)		/* a visitor's stop: the body's failure */
		r = body.failed ? body.failed : -EIO;
	if (r == 0 && body.failed)
		r = body.failed;
	if (r == 0) {
		vfc_ctl_buf_printf(out, "OK %zu\n", body.len);
		if (buf_reserve(out, body.len)) {
			memcpy(out->data + out->len, body.data ? body.data : "", body.len);
			out->len += body.len;
			out->data[out->len] = '\0';
		}
	} else {
		if (!err[0])
			snprintf(err, sizeof(err), "%s", strerror(-r));
		for (char *p = err; *p; p++)
			if (*p == '\n' || (unsigned char)*p < 0x20)
				*p = ' ';
		vfc_ctl_buf_printf(out, "ERR %d %s\n", -r, err);
	}
	vfc_ctl_buf_free(&body);
	return out->failed ? -ENOMEM : r;
}
