/* SPDX-License-Identifier: MIT */
/*
 * Fault injection (vfc-fault.h): the rule parser, the rule table and the
 * hooks the core and the backends call. The syntax is in docs/harness.md,
 * "Fault rules".
 *
 * Why this shape: harnesses need failures they can predict, so every rule
 * decides from its own match counter (nth, every) or its own seeded
 * generator (share), never from time; and they need to see them, so every
 * injection is one info line and one "fault" trace event naming the rule.
 *
 * Threads: rules change at runtime (config, control socket) while workers
 * call the hooks. One mutex guards the table; an atomic count of rules
 * lets every hook return after one relaxed load while the table is empty.
 * Lock order: a backend's device lock may be held when a hook takes
 * rules_lock; rules_lock is never held while calling out. The registry of
 * devices for "raise" has its own lock, taken before a device's lock.
 * Delayed interrupts go to one timer thread that owns duplicates of the
 * eventfds, so no worker ever sleeps for a rule.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vfc-fault.h"
#include "vfc-log.h"
#include "vfc-private.h"
#include "vfc-trace.h"

#define MAX_RULES 64
#define MAX_RULE_LEN 256
#define MAX_TOKENS 16
#define MAX_DELAYED 1024
#define MAX_DELAY_MS 60000u

enum action {
	ACT_IOCTL,
	ACT_DMA,
	ACT_IRQ_DROP,
	ACT_IRQ_DELAY,
	ACT_RESET,
	ACT_NONVIABLE,
	ACT_RAISE,
};

static const char *const action_names[] = {
	[ACT_IOCTL] = "ioctl", [ACT_DMA] = "dma", [ACT_IRQ_DROP] = "irq",
	[ACT_IRQ_DELAY] = "irq", [ACT_RESET] = "reset", [ACT_NONVIABLE] = "nonviable",
	[ACT_RAISE] = "raise",
};

enum mode {
	MODE_ALWAYS,
	MODE_NTH,
	MODE_EVERY,
	MODE_SHARE,
};

struct rule {
	int id;
	enum action act;
	char text[MAX_RULE_LEN];
	/* matching; -1 or empty: any */
	int kind;
	unsigned int cmd;
	const char *ioctl_name;		/* the table's, static */
	long group;
	char device[64];
	int dir;			/* dma: 0 read, 1 write */
	bool has_iova;
	uint64_t iova_lo, iova_hi;	/* [lo, hi) */
	int irq_index, irq_vector;
	/* deciding */
	enum mode mode;
	uint64_t n;
	uint32_t share;			/* out of 2^32 - 1 */
	uint64_t seed, rng;
	int err;			/* positive errno */
	unsigned int delay_ms;
	unsigned int raise_index;
	/* counters */
	uint64_t matched, injected;
};

atomic_uint vfc_fault_nrules;

static pthread_mutex_t rules_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rule *rules[MAX_RULES];	/* by id order */
static unsigned int nrules;
static int next_id = 1;


/* The seeded generator: splitmix64, one step per matching call. */
static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Count a match and decide (rules_lock held). */
static bool decide_locked(struct rule *r)
{
	bool fire;

	r->matched++;
	switch (r->mode) {
	case MODE_NTH:
		fire = r->matched == r->n;
		break;
	case MODE_EVERY:
		fire = r->matched % r->n == 0;
		break;
	case MODE_SHARE:
		fire = (rng_next(&r->rng) >> 32) < r->share;
		break;
	default:
		fire = true;
		break;
	}
	if (fire)
		r->injected++;
	return fire;
}



/* Parsing */

static int perr(char *err, size_t len, const char *fmt, ...) _printf_(3, 4);
static int perr(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (len) {
		va_start(ap, fmt);
		vsnprintf(err, len, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static bool parse_u64(const char *s, uint64_t *ret)
{
	char *end;
	unsigned long long v;

	if (!*s || *s == '-' || *s == '+')
		return false;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end)
		return false;
	*ret = v;
	return true;
}

static bool parse_errno(const char *s, int *ret)
{
	uint64_t v;

	if (parse_u64(s, &v)) {
		if (v < 1 || v > 4095)
			return false;
		*ret = (int)v;
		return true;
	}
	for (int e = 1; e < 200; e++) {
		const char *n = strerrorname_np(e);

		if (n && !strcmp(n, s)) {
			*ret = e;
			return true;
		}
	}
	return false;
}

/* "12.5" or "12.5%": a percentage in (0, 100], as a 32-bit threshold. */
static bool parse_share(const char *s, uint32_t *ret)
{
	char buf[32], *end;
	size_t n = strlen(s);
	double p;

	if (!n || n >= sizeof(buf) || *s == '-' || *s == '+')
		return false;
	memcpy(buf, s, n + 1);
	if (buf[n - 1] == '%')
		buf[n - 1] = '\0';
	errno = 0;
	p = strtod(buf, &end);
	if (errno || *end || end == buf || !(p > 0) || p > 100)
		return false;
	*ret = p >= 100 ? UINT32_MAX : (uint32_t)(p / 100.0 * 4294967296.0);
	return true;
}

/*
 * An ioctl name: a table row's name ("IOMMU_MAP_DMA"), or that name
 * without its IOMMU_, GROUP_ or DEVICE_ prefix ("MAP_DMA"), when only one
 * row answers to it.
 */
static int find_ioctl(const char *name, int kind, struct rule *r, char *err, size_t len)
{
	static const struct {
		const struct vfc_ioctl_desc *t;
		const size_t *n;
		int kind;
	} tables[] = {
		{ vfc_container_ioctls, &vfc_container_n_ioctls, VFC_FILE_CONTAINER },
		{ vfc_group_ioctls, &vfc_group_n_ioctls, VFC_FILE_GROUP },
		{ vfc_device_ioctls, &vfc_device_n_ioctls, VFC_FILE_DEVICE },
	};
	static const char *const prefixes[] = { "IOMMU_", "GROUP_", "DEVICE_" };
	unsigned int found = 0;

	for (size_t i = 0; i < VFC_ARRAY_SIZE(tables); i++) {
		if (kind >= 0 && tables[i].kind != kind)
			continue;
		for (size_t j = 0; j + 1 < *tables[i].n; j++) {
			const char *tn = tables[i].t[j].name;
			bool hit = !strcmp(tn, name);

			for (size_t p = 0; !hit && p < VFC_ARRAY_SIZE(prefixes); p++)
				hit = !strncmp(tn, prefixes[p], strlen(prefixes[p])) &&
				      !strcmp(tn + strlen(prefixes[p]), name);
			if (!hit)
				continue;
			if (found++) {
				return perr(err, len, "ioctl \"%s\" is ambiguous (%s, %s): "
					    "give its full name", name, r->ioctl_name, tn);
			}
			r->ioctl_name = tn;
			r->cmd = tables[i].t[j].cmd;
			r->kind = tables[i].kind;
		}
	}
	if (!found)
		return perr(err, len, "no ioctl \"%.64s\"%s", name,
			    kind >= 0 ? " on that kind of file" : "");
	return 0;
}

static int parse_irq_index(const char *s, int *ret)
{
	static const char *const names[] = { "intx", "msi", "msix" };
	uint64_t v;

	for (int i = 0; i < (int)VFC_ARRAY_SIZE(names); i++)
		if (!strcmp(s, names[i])) {
			*ret = i;
			return 0;
		}
	if (!parse_u64(s, &v) || v > 2)
		return -EINVAL;
	*ret = (int)v;
	return 0;
}

/* Which keys each action takes. */
#define K_ERRNO (1u << 0)
#define K_KIND (1u << 1)
#define K_GROUP (1u << 2)
#define K_DEVICE (1u << 3)
#define K_COUNT (1u << 4)
#define K_DIR (1u << 5)
#define K_IOVA (1u << 6)
#define K_INDEX (1u << 7)
#define K_VECTOR (1u << 8)

static const unsigned int allowed[] = {
	[ACT_IOCTL] = K_ERRNO | K_KIND | K_GROUP | K_DEVICE | K_COUNT,
	[ACT_DMA] = K_DEVICE | K_COUNT | K_DIR | K_IOVA,
	[ACT_IRQ_DROP] = K_DEVICE | K_COUNT | K_INDEX | K_VECTOR,
	[ACT_IRQ_DELAY] = K_DEVICE | K_COUNT | K_INDEX | K_VECTOR,
	[ACT_RESET] = K_ERRNO | K_GROUP | K_DEVICE | K_COUNT,
	[ACT_NONVIABLE] = K_GROUP,
	[ACT_RAISE] = K_DEVICE,
};

static int parse_key(struct rule *r, const char *key, const char *val, unsigned int *seen,
		     char *err, size_t len)
{
	static const struct {
		const char *name;
		unsigned int bit;
	} keys[] = {
		{ "errno", K_ERRNO }, { "kind", K_KIND }, { "group", K_GROUP },
		{ "device", K_DEVICE }, { "nth", K_COUNT }, { "every", K_COUNT },
		{ "share", K_COUNT }, { "seed", K_COUNT }, { "dir", K_DIR }, { "iova", K_IOVA },
		{ "index", K_INDEX }, { "vector", K_VECTOR },
	};
	unsigned int bit = 0;
	uint64_t v;

	for (size_t i = 0; i < VFC_ARRAY_SIZE(keys); i++)
		if (!strcmp(keys[i].name, key))
			bit = keys[i].bit;
	if (!bit)
		return perr(err, len, "unknown key \"%.32s\"", key);
	if (!(allowed[r->act] & bit))
		return perr(err, len, "\"%s\" rules take no %s=", action_names[r->act], key);

	if (!strcmp(key, "errno")) {
		if (!parse_errno(val, &r->err))
			return perr(err, len, "errno=%.32s: not an errno name or number 1-4095",
				    val);
	} else if (!strcmp(key, "kind")) {
		if (!strcmp(val, "container"))
			r->kind = VFC_FILE_CONTAINER;
		else if (!strcmp(val, "group"))
			r->kind = VFC_FILE_GROUP;
		else if (!strcmp(val, "device"))
			r->kind = VFC_FILE_DEVICE;
		else
			return perr(err, len, "kind=%.32s: container, group or device", val);
	} else if (!strcmp(key, "group")) {
		if (!parse_u64(val, &v) || v > INT_MAX)
			return perr(err, len, "group=%.32s: not a group number", val);
		r->group = (long)v;
	} else if (!strcmp(key, "device")) {
		if (!*val || strlen(val) >= sizeof(r->device))
			return perr(err, len, "device=: a name of 1 to %zu bytes",
				    sizeof(r->device) - 1);
		strcpy(r->device, val);
	} else if (!strcmp(key, "seed")) {
		if (!parse_u64(val, &r->seed))
			return perr(err, len, "seed=%.32s: not a number", val);
		*seen |= 1u << 31;
	} else if (!strcmp(key, "nth") || !strcmp(key, "every") || !strcmp(key, "share")) {
		if (r->mode != MODE_ALWAYS)
			return perr(err, len, "only one of nth=, every= and share=");
		if (!strcmp(key, "share")) {
			if (!parse_share(val, &r->share))
				return perr(err, len, "share=%.32s: a percentage in (0, 100]", val);
			r->mode = MODE_SHARE;
		} else {
			if (!parse_u64(val, &r->n) || r->n == 0)
				return perr(err, len, "%s=%.32s: a count from 1", key, val);
			r->mode = key[0] == 'n' ? MODE_NTH : MODE_EVERY;
		}
	} else if (!strcmp(key, "dir")) {
		if (!strcmp(val, "read"))
			r->dir = 0;
		else if (!strcmp(val, "write"))
			r->dir = 1;
		else
			return perr(err, len, "dir=%.32s: read (from memory) or write (to memory)",
				    val);
	} else if (!strcmp(key, "iova")) {
		char lo[32];
		const char *dash = strchr(val, '-');

		if (!dash || (size_t)(dash - val) >= sizeof(lo))
			return perr(err, len, "iova=%.40s: LO-HI", val);
		memcpy(lo, val, (size_t)(dash - val));
		lo[dash - val] = '\0';
		if (!parse_u64(lo, &r->iova_lo) || !parse_u64(dash + 1, &r->iova_hi) ||
		    r->iova_hi <= r->iova_lo)
			return perr(err, len, "iova=%.40s: LO-HI with LO < HI", val);
		r->has_iova = true;
	} else if (!strcmp(key, "index")) {
		if (parse_irq_index(val, &r->irq_index) < 0)
			return perr(err, len, "index=%.32s: intx, msi, msix or 0-2", val);
	} else if (!strcmp(key, "vector")) {
		if (!parse_u64(val, &v) || v > 2047)
			return perr(err, len, "vector=%.32s: 0-2047", val);
		r->irq_vector = (int)v;
	}
	if (*seen & bit & ~K_COUNT)
		return perr(err, len, "%s= given twice", key);
	*seen |= bit;
	return 0;
}

/* The action word and its argument: tokens[0] and maybe tokens[1]. */
static int parse_action(struct rule *r, char **tok, unsigned int ntok, unsigned int *used,
			char *err, size_t len)
{
	const char *a = tok[0];

	*used = 1;
	if (!strcmp(a, "ioctl")) {
		r->act = ACT_IOCTL;
		if (ntok < 2 || strchr(tok[1], '='))
			return perr(err, len, "ioctl: the ioctl's name comes next (e.g. MAP_DMA)");
		*used = 2;
	} else if (!strcmp(a, "dma")) {
		r->act = ACT_DMA;
	} else if (!strcmp(a, "irq")) {
		uint64_t ms;

		if (ntok < 2)
			return perr(err, len, "irq: drop or delay=MS comes next");
		*used = 2;
		if (!strcmp(tok[1], "drop")) {
			r->act = ACT_IRQ_DROP;
		} else if (!strncmp(tok[1], "delay=", 6)) {
			if (!parse_u64(tok[1] + 6, &ms) || ms == 0 || ms > MAX_DELAY_MS)
				return perr(err, len, "irq delay=%.32s: 1 to %u ms", tok[1] + 6,
					    MAX_DELAY_MS);
			r->act = ACT_IRQ_DELAY;
			r->delay_ms = (unsigned int)ms;
		} else {
			return perr(err, len, "irq: drop or delay=MS, not \"%.32s\"", tok[1]);
		}
	} else if (!strcmp(a, "reset")) {
		r->act = ACT_RESET;
	} else if (!strcmp(a, "nonviable")) {
		r->act = ACT_NONVIABLE;
	} else if (!strcmp(a, "raise")) {
		r->act = ACT_RAISE;
		if (ntok < 2 || (strcmp(tok[1], "err") && strcmp(tok[1], "req")))
			return perr(err, len, "raise: err or req comes next");
		r->raise_index = tok[1][1] == 'r' ? VFIO_PCI_ERR_IRQ_INDEX : VFIO_PCI_REQ_IRQ_INDEX;
		*used = 2;
	} else {
		return perr(err, len, "unknown action \"%.32s\" (ioctl, dma, irq, reset, "
			    "nonviable, raise)", a);
	}
	return 0;
}

static int parse_rule(const char *text, struct rule *r, char *err, size_t len)
{
	char buf[MAX_RULE_LEN], *tok[MAX_TOKENS], *save = NULL, *t;
	unsigned int ntok = 0, used, seen = 0;
	const char *ioctl_name = NULL;
	size_t pos = 0;
	int e;

	if (!text || strlen(text) >= sizeof(buf))
		return perr(err, len, "a rule is at most %d bytes", MAX_RULE_LEN - 1);
	strcpy(buf, text);
	for (t = strtok_r(buf, " \t\r\n", &save); t; t = strtok_r(NULL, " \t\r\n", &save)) {
		if (ntok == MAX_TOKENS)
			return perr(err, len, "too many words (at most %d)", MAX_TOKENS);
		tok[ntok++] = t;
	}
	if (!ntok)
		return perr(err, len, "empty rule");

	*r = (struct rule){ .kind = -1, .group = -1, .dir = -1, .irq_index = -1,
			    .irq_vector = -1, .seed = 1 };
	e = parse_action(r, tok, ntok, &used, err, len);
	if (e)
		return e;
	if (r->act == ACT_IOCTL)
		ioctl_name = tok[1];
	for (unsigned int i = used; i < ntok; i++) {
		char *eq = strchr(tok[i], '=');

		if (!eq || eq == tok[i])
			return perr(err, len, "\"%.32s\": key=value expected", tok[i]);
		*eq = '\0';
		e = parse_key(r, tok[i], eq + 1, &seen, err, len);
		*eq = '=';
		if (e)
			return e;
	}
	if ((seen & (1u << 31)) && r->mode != MODE_SHARE)
		return perr(err, len, "seed= goes with share=");
	if (ioctl_name) {
		e = find_ioctl(ioctl_name, r->kind, r, err, len);
		if (e)
			return e;
		if (r->kind == VFC_FILE_CONTAINER && (r->group >= 0 || r->device[0]))
			return perr(err, len, "%s is a container ioctl: no group= or device=",
				    r->ioctl_name);
		if (r->kind == VFC_FILE_GROUP && r->device[0])
			return perr(err, len, "%s is a group ioctl: no device=", r->ioctl_name);
	}
	if ((r->act == ACT_IOCTL || r->act == ACT_RESET) && !r->err)
		return perr(err, len, "%s: errno= is required", action_names[r->act]);
	if (r->act == ACT_NONVIABLE && r->group < 0)
		return perr(err, len, "nonviable: group= is required");
	if (r->act == ACT_RAISE && !r->device[0])
		return perr(err, len, "raise: device= is required");
	r->rng = r->seed;

	/* The canonical text: the words, one space apart. */
	for (unsigned int i = 0; i < ntok; i++)
		pos += (size_t)snprintf(r->text + pos, sizeof(r->text) - pos, "%s%s",
					i ? " " : "", tok[i]);
	return 0;
}


/* Raising ERR and REQ */

struct reg_dev {
	char *name;
	vfc_fault_raise_fn fn;
	void *opaque;
	struct reg_dev *next;
};

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct reg_dev *reg_devs;

int vfc_fault_register_device(const char *device, vfc_fault_raise_fn fn, void *opaque)
{
	struct reg_dev *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	d->name = strdup(device);
	if (!d->name) {
		free(d);
		return -ENOMEM;
	}
	d->fn = fn;
	d->opaque = opaque;
	pthread_mutex_lock(&reg_lock);
	d->next = reg_devs;
	reg_devs = d;
	pthread_mutex_unlock(&reg_lock);
	return 0;
}

void vfc_fault_unregister_device(void *opaque)
{
	struct reg_dev **p, *d;

	pthread_mutex_lock(&reg_lock);
	for (p = &reg_devs; (d = *p);) {
		if (d->opaque == opaque) {
			*p = d->next;
			free(d->name);
			free(d);
		} else {
			p = &d->next;
		}
	}
	pthread_mutex_unlock(&reg_lock);
}

/* A raise rule acts once, when added. Return: devices signalled. */
static unsigned int raise_now(const struct rule *r)
{
	const char *what = r->raise_index == VFIO_PCI_ERR_IRQ_INDEX ? "ERR" : "REQ";
	unsigned int n = 0;
	bool known = false;

	pthread_mutex_lock(&reg_lock);
	for (struct reg_dev *d = reg_devs; d; d = d->next) {
		int e;

		if (strcmp(d->name, r->device))
			continue;
		known = true;
		e = d->fn(d->opaque, r->raise_index);
		if (e == 0)
			n++;
		vfc_trace_event("fault", "rule=%d action=raise device=%s index=%s result=%s",
				r->id, d->name, what, e ? "no-eventfd" : "signalled");
		vfc_info("fault rule %d: device \"%s\": %s interrupt %s", r->id, d->name, what,
			 e ? "not raised: no eventfd set" : "raised");
	}
	pthread_mutex_unlock(&reg_lock);
	if (!known)
		vfc_info("fault rule %d: raise %s: no device \"%s\"", r->id, what, r->device);
	return n;
}


/* Delayed interrupts: one thread, a queue of eventfd duplicates. */

struct delayed {
	int fd;
	struct timespec due;
};

static pthread_mutex_t delay_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t delay_cond;
static struct delayed delayed[MAX_DELAYED];
static unsigned int ndelayed;
static bool delay_running, delay_stop;
static pthread_t delay_thread;
static pthread_once_t delay_once = PTHREAD_ONCE_INIT;

static void delay_init(void)
{
	pthread_condattr_t a;

	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&delay_cond, &a);
	pthread_condattr_destroy(&a);
}

static bool ts_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}


static void *delay_main(void *arg)
{
	pthread_mutex_lock(&delay_lock);
	while (!delay_stop) {
		struct timespec now;
		unsigned int first = 0;

		if (!ndelayed) {
			pthread_cond_wait(&delay_cond, &delay_lock);
			continue;
		}
		for (unsigned int i = 1; i < ndelayed; i++)
			if (ts_before(&delayed[i].due, &delayed[first].due))
				first = i;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (ts_before(&now, &delayed[first].due)) {
			pthread_cond_timedwait(&delay_cond, &delay_lock, &delayed[first].due);
			continue;
		}
		vfc_eventfd_signal(delayed[first].fd);
		close(delayed[first].fd);
		delayed[first] = delayed[--ndelayed];
	}
	pthread_mutex_unlock(&delay_lock);
	return arg;
}

/* Return: 0 when queued; -errno (the caller then delivers at once). */
static int delay_queue(int fd, unsigned int ms)
{
	struct timespec due;
	int dup, r = 0;

	pthread_once(&delay_once, delay_init);
	dup = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (dup < 0)
		return -errno;
	clock_gettime(CLOCK_MONOTONIC, &due);
	due.tv_sec += ms / 1000;
	due.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (due.tv_nsec >= 1000000000L) {
		due.tv_sec++;
		due.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&delay_lock);
	if (ndelayed == MAX_DELAYED) {
		r = -ENOSPC;
	} else if (!delay_running) {
		delay_stop = false;
		r = -pthread_create(&delay_thread, NULL, delay_main, NULL);
		delay_running = r == 0;
	}
	if (r == 0) {
		delayed[ndelayed++] = (struct delayed){ .fd = dup, .due = due };
		pthread_cond_signal(&delay_cond);
	}
	pthread_mutex_unlock(&delay_lock);
	if (r)
		close(dup);
	return r;
}

/* Stop the thread; pending interrupts are delivered now, not lost. */
static void delay_flush(void)
{
	static pthread_mutex_t flush_lock = PTHREAD_MUTEX_INITIALIZER;
	bool join;

	pthread_once(&delay_once, delay_init);
	pthread_mutex_lock(&flush_lock);	/* one joiner at a time */
	pthread_mutex_lock(&delay_lock);
	join = delay_running;
	delay_stop = true;
	pthread_cond_signal(&delay_cond);
	pthread_mutex_unlock(&delay_lock);
	if (join)
		pthread_join(delay_thread, NULL);
	pthread_mutex_lock(&delay_lock);
	for (unsigned int i = 0; i < ndelayed; i++) {
		vfc_eventfd_signal(delayed[i].fd);
		close(delayed[i].fd);
	}
	ndelayed = 0;
	delay_running = false;
	pthread_mutex_unlock(&delay_lock);
	pthread_mutex_unlock(&flush_lock);
}


/* The table */

int vfc_fault_add(const char *text, char *err, size_t err_len)
{
	struct rule *r = calloc(1, sizeof(*r));
	int e;

	if (!r)
		return -ENOMEM;
	if (err_len)
		err[0] = '\0';
	e = parse_rule(text, r, err, err_len);
	if (e) {
		free(r);
		return e;
	}
	pthread_mutex_lock(&rules_lock);
	if (nrules == MAX_RULES && r->act != ACT_RAISE) {
		pthread_mutex_unlock(&rules_lock);
		free(r);
		perr(err, err_len, "too many rules (at most %d)", MAX_RULES);
		return -ENOSPC;
	}
	r->id = next_id++;
	if (r->act != ACT_RAISE) {
		rules[nrules++] = r;
		atomic_store_explicit(&vfc_fault_nrules, nrules, memory_order_relaxed);
	}
	pthread_mutex_unlock(&rules_lock);
	vfc_info("fault rule %d added: %s", r->id, r->text);
	e = r->id;
	if (r->act == ACT_RAISE) {
		/* One-shot: it acts now and is not kept. */
		raise_now(r);
		free(r);
	}
	return e;
}

int vfc_fault_remove(int id)
{
	struct rule *r = NULL;

	pthread_mutex_lock(&rules_lock);
	for (unsigned int i = 0; i < nrules; i++)
		if (rules[i]->id == id) {
			r = rules[i];
			memmove(&rules[i], &rules[i + 1], (nrules - i - 1) * sizeof(rules[0]));
			nrules--;
			break;
		}
	atomic_store_explicit(&vfc_fault_nrules, nrules, memory_order_relaxed);
	pthread_mutex_unlock(&rules_lock);
	if (!r)
		return -ENOENT;
	vfc_info("fault rule %d removed (matched %" PRIu64 ", injected %" PRIu64 ")", id,
		 r->matched, r->injected);
	free(r);
	return 0;
}

void vfc_fault_clear(void)
{
	pthread_mutex_lock(&rules_lock);
	for (unsigned int i = 0; i < nrules; i++)
		free(rules[i]);
	nrules = 0;
	atomic_store_explicit(&vfc_fault_nrules, 0, memory_order_relaxed);
	pthread_mutex_unlock(&rules_lock);
	delay_flush();
}

size_t vfc_fault_count(void)
{
	size_t n;

	pthread_mutex_lock(&rules_lock);
	n = nrules;
	pthread_mutex_unlock(&rules_lock);
	return n;
}

size_t vfc_fault_list(char *buf, size_t len)
{
	size_t need = 0;

	if (len)
		buf[0] = '\0';
	pthread_mutex_lock(&rules_lock);
	for (unsigned int i = 0; i < nrules; i++) {
		const struct rule *r = rules[i];
		int n = snprintf(need < len ? buf + need : NULL, need < len ? len - need : 0,
				 "%d: %s (matched %" PRIu64 ", injected %" PRIu64 ")\n", r->id,
				 r->text, r->matched, r->injected);

		if (n > 0)
			need += (size_t)n;
	}
	pthread_mutex_unlock(&rules_lock);
	return need;
}


/* The hooks */

static bool match_dev(const struct rule *r, const char *device)
{
	return !r->device[0] || (device && !strcmp(r->device, device));
}

int vfc_fault_ioctl_match(int kind, unsigned int cmd, int group, const char *device)
{
	const char *name = NULL;
	uint64_t call = 0;
	int id = 0, e = 0;

	pthread_mutex_lock(&rules_lock);
	for (unsigned int i = 0; i < nrules; i++) {
		struct rule *r = rules[i];

		if (r->act != ACT_IOCTL || r->kind != kind || r->cmd != cmd ||
		    (r->group >= 0 && r->group != group) || !match_dev(r, device))
			continue;
		if (decide_locked(r) && !e) {
			e = r->err;
			id = r->id;
			name = r->ioctl_name;
			call = r->matched;
		}
	}
	pthread_mutex_unlock(&rules_lock);
	if (!e)
		return 0;
	vfc_trace_event("fault", "rule=%d action=ioctl ioctl=%s call=%" PRIu64 " group=%d "
			"device=%s errno=%s", id, name, call, group, device ? device : "-",
			vfc_trace_errno_name(e));
	vfc_info("fault rule %d: %s call %" PRIu64 " failed with %s", id, name, call,
		 vfc_trace_errno_name(e));
	return -e;
}

bool vfc_fault_group_nonviable(unsigned int group, const char *what)
{
	int id = 0;

	if (!vfc_fault_any())
		return false;
	pthread_mutex_lock(&rules_lock);
	for (unsigned int i = 0; i < nrules; i++) {
		struct rule *r = rules[i];

		if (r->act == ACT_NONVIABLE && r->group == (long)group) {
			r->matched++;
			r->injected++;
			id = r->id;
			break;
		}
	}
	pthread_mutex_unlock(&rules_lock);
	if (!id)
		return false;
	vfc_trace_event("fault", "rule=%d action=nonviable group=%u effect=\"%s\"", id, group,
			what);
	vfc_info("fault rule %d: group %u is not viable: %s", id, group, what);
	return true;
}

int vfc_fault_reset(const char *device, int group, const char *what)
{
	uint64_t call = 0;
	int id = 0, e = 0;

	if (!vfc_fault_any())
		return 0;
	pthread_mutex_lock(&rules_lock);
	for (unsigned int i = 0; i < nrules; i++) {
		struct rule *r = rules[i];

		if (r->act != ACT_RESET || (r->group >= 0 && r->group != group) ||
		    !match_dev(r, device))
			continue;
		if (decide_locked(r) && !e) {
			e = r->err;
			id = r->id;
			call = r->matched;
		}
	}
	pthread_mutex_unlock(&rules_lock);
	if (!e)
		return 0;
	vfc_trace_event("fault", "rule=%d action=reset device=%s ioctl=%s call=%" PRIu64
			" errno=%s", id, device, what, call, vfc_trace_errno_name(e));
	vfc_info("fault rule %d: device \"%s\": %s %" PRIu64 " failed with %s", id, device,
		 what, call, vfc_trace_errno_name(e));
	return -e;
}

int vfc_fault_dma(const char *device, uint64_t iova, uint64_t len, bool write)
{
	uint64_t call = 0;
	int id = 0;

	if (!vfc_fault_any())
		return 0;
	pthread_mutex_lock(&rules_lock);
	for (unsigned int i = 0; i < nrules; i++) {
		struct rule *r = rules[i];

		if (r->act != ACT_DMA || !match_dev(r, device) ||
		    (r->dir >= 0 && r->dir != (int)write) ||
		    (r->has_iova && (iova >= r->iova_hi || (len && iova + len - 1 < r->iova_lo))))
			continue;
		if (decide_locked(r) && !id) {
			id = r->id;
			call = r->matched;
		}
	}
	pthread_mutex_unlock(&rules_lock);
	if (!id)
		return 0;
	vfc_trace_event("fault", "rule=%d action=dma device=%s iova=0x%" PRIx64 " len=%" PRIu64
			" dir=%s call=%" PRIu64 " result=EFAULT", id, device ? device : "-", iova,
			len, write ? "write" : "read", call);
	vfc_info("fault rule %d: device \"%s\": DMA %s of %" PRIu64 " bytes at IOVA 0x%" PRIx64
		 " faulted", id, device ? device : "-", write ? "write" : "read", len, iova);
	return -EFAULT;
}

bool vfc_fault_irq(const char *device, unsigned int index, unsigned int vector, int fd)
{
	const char *iname = vfc_trace_irq_name(index) ?: "?";
	unsigned int delay = 0;
	uint64_t call = 0;
	int id = 0, q;

	if (!vfc_fault_any() || fd < 0)
		return false;
	pthread_mutex_lock(&rules_lock);
	for (unsigned int i = 0; i < nrules; i++) {
		struct rule *r = rules[i];

		if ((r->act != ACT_IRQ_DROP && r->act != ACT_IRQ_DELAY) || !match_dev(r, device) ||
		    (r->irq_index >= 0 && r->irq_index != (int)index) ||
		    (r->irq_vector >= 0 && r->irq_vector != (int)vector))
			continue;
		if (decide_locked(r) && !id) {
			id = r->id;
			call = r->matched;
			delay = r->act == ACT_IRQ_DELAY ? r->delay_ms : 0;
		}
	}
	pthread_mutex_unlock(&rules_lock);
	if (!id)
		return false;
	if (!delay) {
		vfc_trace_event("fault", "rule=%d action=irq-drop device=%s index=%s vector=%u "
				"eventfd=%d call=%" PRIu64, id, device ? device : "-", iname, vector,
				fd, call);
		vfc_info("fault rule %d: device \"%s\": %s vector %u dropped", id,
			 device ? device : "-", iname, vector);
		return true;
	}
	q = delay_queue(fd, delay);
	vfc_trace_event("fault", "rule=%d action=irq-delay device=%s index=%s vector=%u "
			"eventfd=%d call=%" PRIu64 " delay_ms=%u%s", id, device ? device : "-",
			iname, vector, fd, call, delay, q ? " result=delivered-now" : "");
	vfc_info("fault rule %d: device \"%s\": %s vector %u %s %u ms", id,
		 device ? device : "-", iname, vector, q ? "could not be delayed" : "delayed", delay);
	return q == 0;
}
