/* SPDX-License-Identifier: MIT */
/*
 * The decoding trace's sink and line builder (vfc-trace.h): where lines go
 * (a file opened in append mode, or stderr), in which format, and how one
 * line is built as text or as one JSON object. The ioctl decoder is in
 * trace-decode.c.
 *
 * Thread safety: lines are built by each thread on its own, then written
 * under one lock in a single write() (a loop only for a short write to a
 * pipe), so lines never interleave and vfc_trace_stop() never closes an
 * fd in use. With the trace off, callers pay one relaxed atomic load.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "trace-priv.h"

atomic_bool vfc_trace_enabled;

static pthread_mutex_t sink_lock = PTHREAD_MUTEX_INITIALIZER;
static int sink_fd = -1;		/* under sink_lock; STDERR_FILENO for "-" */
static bool sink_may_block;		/* under sink_lock: a pipe, socket or tty */
static _Atomic int sink_format;		/* enum vfc_trace_format */

/* Per thread: what the current ioctl's fds resolved to. */
static __thread char notes[512];
static __thread size_t notes_len;

static bool is_regular(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

/*
 * Under sink_lock: whether a write to a sink that may block (a pipe whose
 * reader stopped, a full socket) would wait. The trace is written with
 * device and core locks held, so such a line is dropped instead.
 */
static bool sink_would_block(void)
{
	struct pollfd p = { .fd = sink_fd, .events = POLLOUT };

	return sink_may_block && poll(&p, 1, 0) != 1;
}

int vfc_trace_start(const char *path, enum vfc_trace_format format)
{
	int fd = STDERR_FILENO, old;

	if (format != VFC_TRACE_TEXT && format != VFC_TRACE_JSON)
		return -EINVAL;
	if (path && strcmp(path, "-")) {
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
		if (fd < 0)
			return -errno;
	}
	pthread_mutex_lock(&sink_lock);
	old = sink_fd;
	sink_fd = fd;
	sink_may_block = !is_regular(fd);
	atomic_store(&sink_format, (int)format);
	atomic_store(&vfc_trace_enabled, true);
	pthread_mutex_unlock(&sink_lock);
	if (old > STDERR_FILENO)
		close(old);
	return 0;
}

void vfc_trace_stop(void)
{
	int old;

	pthread_mutex_lock(&sink_lock);
	atomic_store(&vfc_trace_enabled, false);
	old = sink_fd;
	sink_fd = -1;
	pthread_mutex_unlock(&sink_lock);
	if (old > STDERR_FILENO)
		close(old);
}

enum vfc_trace_format vfc_trace_get_format(void)
{
	return (enum vfc_trace_format)atomic_load(&sink_format);
}

void vfc_trace_write(const char *line)
{
	size_t len = strlen(line), done = 0;

	pthread_mutex_lock(&sink_lock);
	while (sink_fd >= 0 && done < len && !sink_would_block()) {
		ssize_t n = write(sink_fd, line + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;	/* a full disk loses lines, never the daemon */
		done += (size_t)n;
	}
	pthread_mutex_unlock(&sink_lock);
}

uint64_t vfc_trace_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Notes */

void vfc_trace_note(const char *fmt, ...)
{
	size_t room = sizeof(notes) - notes_len;
	va_list ap;
	int n;

	if (room < 2)
		return;
	if (notes_len)
		notes[notes_len++] = ' ', room--;
	va_start(ap, fmt);
	n = vsnprintf(notes + notes_len, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= room) {
		/* drop what did not fit, and its separator */
		notes_len -= notes_len && notes[notes_len - 1] == ' ';
		notes[notes_len] = '\0';
		return;
	}
	notes_len += (size_t)n;
}

void vfc_trace_note_reset(void)
{
	notes_len = 0;
	notes[0] = '\0';
}

const char *vfc_trace_notes(void)
{
	return notes_len ? notes : "";
}

/* The line builder */

void vfc_rec_init(struct vfc_rec *r, enum vfc_trace_format format)
{
	*r = (struct vfc_rec){ .json = format == VFC_TRACE_JSON };
	r->first[0] = true;
}

static bool rec_grow(struct vfc_rec *r, size_t more)
{
	size_t cap;
	char *b;

	if (r->oom)
		return false;
	if (r->len + more + 1 <= r->cap)
		return true;
	cap = r->cap ? r->cap : 256;
	while (cap < r->len + more + 1)
		cap *= 2;
	if (cap > VFC_TRACE_LINE_MAX + 4096) {
		r->oom = true;
		return false;
	}
	b = realloc(r->buf, cap);
	if (!b) {
		r->oom = true;
		return false;
	}
	r->buf = b;
	r->cap = cap;
	return true;
}

void vfc_rec_raw(struct vfc_rec *r, const char *s, size_t n)
{
	if (!rec_grow(r, n))
		return;
	memcpy(r->buf + r->len, s, n);
	r->len += n;
	r->buf[r->len] = '\0';
}

void vfc_rec_printf(struct vfc_rec *r, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !rec_grow(r, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(r->buf + r->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	r->len += (size_t)n;
}

/* JSON (RFC 8259): quote, backslash and controls escaped; other bytes as
 * they are, but bytes >= 0x80 as \u00XX so that a client's invalid UTF-8
 * cannot make the line invalid. */
void vfc_rec_json_str(struct vfc_rec *r, const char *s, size_t n)
{
	vfc_rec_raw(r, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			vfc_rec_printf(r, "\\%c", c);
		else if (c == '\n')
			vfc_rec_raw(r, "\\n", 2);
		else if (c == '\t')
			vfc_rec_raw(r, "\\t", 2);
		else if (c < 0x20 || c >= 0x7f)
			vfc_rec_printf(r, "\\u%04x", c);
		else
			vfc_rec_raw(r, (const char *)&c, 1);
	}
	vfc_rec_raw(r, "\"", 1);
}

/* Text: a client's string in C syntax, as strace prints it. */
static void rec_text_str(struct vfc_rec *r, const char *s, size_t n)
{
	vfc_rec_raw(r, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			vfc_rec_printf(r, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			vfc_rec_printf(r, "\\x%02x", c);
		else
			vfc_rec_raw(r, (const char *)&c, 1);
	}
	vfc_rec_raw(r, "\"", 1);
}

void vfc_rec_key(struct vfc_rec *r, const char *name)
{
	unsigned int d = r->depth;

	if (!r->first[d])
		vfc_rec_raw(r, r->json ? "," : ", ", r->json ? 1 : 2);
	r->first[d] = false;
	if (!name)
		return;
	if (r->json) {
		vfc_rec_json_str(r, name, strlen(name));
		vfc_rec_raw(r, ":", 1);
	} else {
		vfc_rec_printf(r, "%s=", name);
	}
}

void vfc_rec_u(struct vfc_rec *r, const char *name, uint64_t v)
{
	vfc_rec_key(r, name);
	vfc_rec_printf(r, "%llu", (unsigned long long)v);
}

void vfc_rec_i(struct vfc_rec *r, const char *name, int64_t v)
{
	vfc_rec_key(r, name);
	vfc_rec_printf(r, "%lld", (long long)v);
}

void vfc_rec_x(struct vfc_rec *r, const char *name, uint64_t v)
{
	vfc_rec_key(r, name);
	/* JSON: a hex string, as vfio-cusectl's; IOVAs and addresses pass
	 * 2^53, where readers that take numbers as doubles would round them. */
	vfc_rec_printf(r, r->json ? "\"0x%llx\"" : "0x%llx", (unsigned long long)v);
}

void vfc_rec_sym(struct vfc_rec *r, const char *name, const char *s)
{
	vfc_rec_key(r, name);
	if (r->json)
		vfc_rec_json_str(r, s, strlen(s));
	else
		vfc_rec_raw(r, s, strlen(s));
}

void vfc_rec_str(struct vfc_rec *r, const char *name, const char *s, size_t n)
{
	vfc_rec_key(r, name);
	if (r->json)
		vfc_rec_json_str(r, s, n);
	else
		rec_text_str(r, s, n);
}

void vfc_rec_bool(struct vfc_rec *r, const char *name, bool v)
{
	vfc_rec_key(r, name);
	vfc_rec_printf(r, "%s", v ? "true" : "false");
}

void vfc_rec_open(struct vfc_rec *r, const char *name, char bracket)
{
	vfc_rec_key(r, name);
	vfc_rec_raw(r, &bracket, 1);
	if (r->depth + 1 < VFC_TRACE_DEPTH)
		r->depth++;
	r->first[r->depth] = true;
}

void vfc_rec_close(struct vfc_rec *r, char bracket)
{
	vfc_rec_raw(r, &bracket, 1);
	if (r->depth)
		r->depth--;
}

/*
 * A JSON number: decimal digits as strtoull reads them, nothing else. A 0x
 * value stays a string, as vfc_rec_x() writes it (addresses pass 2^53).
 */
static bool pair_number(const char *v, size_t n, unsigned long long *ret)
{
	char tmp[32], *end;

	if (!n || n >= sizeof(tmp) || (n > 1 && v[0] == '0'))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)v[i]))
			return false;
	memcpy(tmp, v, n);
	tmp[n] = '\0';
	errno = 0;
	*ret = strtoull(tmp, &end, 10);
	return !errno && !*end;
}

/*
 * "name=value name="quoted value" word": text keeps it as written (a
 * space-separated list); JSON makes each pair a member: decimal values
 * numbers, 0x values strings, quoted values strings without their quotes, others
 * strings, and a word without '=' a member set to true. Keys are JSON
 * strings (escaped), so nothing in the pairs can break the object.
 */
void vfc_rec_pairs(struct vfc_rec *r, const char *p)
{
	if (!r->json) {
		vfc_rec_raw(r, p, strlen(p));
		return;
	}
	while (*p) {
		const char *k, *eq, *v;
		size_t kn, vn;
		unsigned long long num;
		bool quoted = false;

		while (*p == ' ')
			p++;
		if (!*p)
			break;
		k = p;
		while (*p && *p != ' ' && *p != '=')
			p++;
		kn = (size_t)(p - k);
		eq = *p == '=' ? p : NULL;
		if (!eq) {
			vfc_rec_key(r, NULL);
			vfc_rec_json_str(r, k, kn);
			vfc_rec_raw(r, ":true", 5);
			continue;
		}
		v = ++p;
		if (*v == '"') {
			quoted = true;
			v = ++p;
			while (*p && *p != '"')
				p += p[0] == '\\' && p[1] ? 2 : 1;
			vn = (size_t)(p - v);
			if (*p)
				p++;
		} else {
			while (*p && *p != ' ')
				p++;
			vn = (size_t)(p - v);
		}
		vfc_rec_key(r, NULL);
		vfc_rec_json_str(r, k, kn);
		vfc_rec_raw(r, ":", 1);
		if (!quoted && pair_number(v, vn, &num)) {
			vfc_rec_printf(r, "%llu", num);
		} else if (!quoted && vn && v[0] == '-' && pair_number(v + 1, vn - 1, &num) &&
			   num <= (unsigned long long)INT64_MAX) {
			vfc_rec_printf(r, "-%llu", num);
		} else if (quoted) {
			/* undo the text's \" and \\ escapes */
			char *u = malloc(vn + 1);
			size_t un = 0;

			if (!u) {
				r->oom = true;
				return;
			}
			for (size_t i = 0; i < vn; i++) {
				if (v[i] == '\\' && i + 1 < vn)
					i++;
				u[un++] = v[i];
			}
			vfc_rec_json_str(r, u, un);
			free(u);
		} else {
			vfc_rec_json_str(r, v, vn);
		}
	}
}

void vfc_rec_begin(struct vfc_rec *r, const char *event)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (r->json) {
		vfc_rec_printf(r, "{\"ts\":%lld.%06ld,\"event\":", (long long)ts.tv_sec,
			       ts.tv_nsec / 1000);
		vfc_rec_json_str(r, event, strlen(event));
		r->depth = 1;
		r->first[1] = false;
		return;
	}
	gmtime_r(&ts.tv_sec, &tm);
	vfc_rec_printf(r, "%02d:%02d:%02d.%06ld ", tm.tm_hour, tm.tm_min, tm.tm_sec,
		       ts.tv_nsec / 1000);
}

char *vfc_rec_end(struct vfc_rec *r)
{
	if (r->json)
		vfc_rec_raw(r, "}\n", 2);
	else
		vfc_rec_raw(r, "\n", 1);
	if (r->oom) {
		free(r->buf);
		return NULL;
	}
	return r->buf;
}

/* Events */

static __attribute__((format(printf, 3, 0))) char *
format_event(enum vfc_trace_format format, const char *event, const char *fmt, va_list ap)
{
	_cleanup_free_ char *pairs = NULL;
	struct vfc_rec r;

	if (vasprintf(&pairs, fmt, ap) < 0)
		return NULL;
	vfc_rec_init(&r, format);
	vfc_rec_begin(&r, event);
	if (!r.json)
		vfc_rec_printf(&r, "%s: ", event);
	vfc_rec_pairs(&r, pairs);
	return vfc_rec_end(&r);
}

char *vfc_trace_format_event(enum vfc_trace_format format, const char *event, const char *fmt,
			     ...)
{
	va_list ap;
	char *line;

	va_start(ap, fmt);
	line = format_event(format, event, fmt, ap);
	va_end(ap);
	return line;
}

void vfc_trace_event(const char *event, const char *fmt, ...)
{
	_cleanup_free_ char *line = NULL;
	va_list ap;

	if (!vfc_trace_on())
		return;
	va_start(ap, fmt);
	line = format_event(vfc_trace_get_format(), event, fmt, ap);
	va_end(ap);
	if (line)
		vfc_trace_write(line);
}

char *vfc_trace_format_ioctl(const struct vfc_trace_ioctl *call, enum vfc_trace_format format)
{
	struct vfc_rec r;

	vfc_rec_init(&r, format);
	vfc_rec_begin(&r, "ioctl");
	vfc_trace_decode_ioctl(&r, call, "");
	return vfc_rec_end(&r);
}

void vfc_trace_ioctl(const struct vfc_trace_ioctl *call)
{
	_cleanup_free_ char *line = NULL;
	struct vfc_rec r;

	if (vfc_trace_on()) {
		vfc_rec_init(&r, vfc_trace_get_format());
		vfc_rec_begin(&r, "ioctl");
		vfc_trace_decode_ioctl(&r, call, vfc_trace_notes());
		line = vfc_rec_end(&r);
		if (line)
			vfc_trace_write(line);
	}
	vfc_trace_note_reset();
}
