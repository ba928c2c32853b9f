/* SPDX-License-Identifier: MIT */
/*
 * Log lines to stderr with sd-daemon "<N>" prefixes. One fprintf per line,
 * so lines from several threads do not interleave. Info lines, which
 * clients cause, pass a token bucket once the daemon turns it on.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

#include "vfc-log.h"

static atomic_int max_level = LOG_INFO;
static atomic_ulong counts[LOG_DEBUG + 1];

void vfc_log_set_max_level(int level)
{
	atomic_store(&max_level, level);
}

int vfc_log_get_max_level(void)
{
	return atomic_load(&max_level);
}

/* The info limiter: off while info_limit.burst is 0. */
static pthread_mutex_t limit_lock = PTHREAD_MUTEX_INITIALIZER;
static struct vfc_log_limit info_limit;
static uint64_t (*limit_clock)(void);
static atomic_ulong suppressed_total;

bool vfc_log_limit_take(struct vfc_log_limit *l, uint64_t now_ns, unsigned long *ret_suppressed)
{
	if (!l->started) {
		l->started = true;
		l->tokens = l->burst;
		l->last = now_ns;
	}
	if (now_ns > l->last && l->interval_ns) {
		uint64_t refill = (now_ns - l->last) / l->interval_ns;

		if (refill >= l->burst - l->tokens) {
			/* Full: the time past that counts for nothing. */
			l->tokens = l->burst;
			l->last = now_ns;
		} else if (refill) {
			l->tokens += (unsigned int)refill;
			l->last += refill * l->interval_ns;
		}
	}
	if (!l->tokens) {
		l->suppressed++;
		return false;
	}
	l->tokens--;
	*ret_suppressed = l->suppressed;
	l->suppressed = 0;
	return true;
}

static uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void vfc_log_limit_info(unsigned int burst, uint64_t interval_ns, uint64_t (*clock)(void))
{
	pthread_mutex_lock(&limit_lock);
	info_limit = (struct vfc_log_limit){ .burst = burst, .interval_ns = interval_ns };
	limit_clock = clock ? clock : monotonic_ns;
	pthread_mutex_unlock(&limit_lock);
}

unsigned long vfc_log_suppressed(void)
{
	return atomic_load(&suppressed_total);
}

/* May this info line be printed? *@ret_suppressed: lines to report first. */
static bool info_may_pass(unsigned long *ret_suppressed)
{
	bool pass = true;

	*ret_suppressed = 0;
	pthread_mutex_lock(&limit_lock);
	if (info_limit.burst)
		pass = vfc_log_limit_take(&info_limit, limit_clock(), ret_suppressed);
	pthread_mutex_unlock(&limit_lock);
	if (!pass)
		atomic_fetch_add(&suppressed_total, 1);
	return pass;
}

unsigned long vfc_log_count(int level)
{
	if (level < 0 || level > LOG_DEBUG)
		return 0;
	return atomic_load(&counts[level]);
}

void vfc_log(int level, const char *fmt, ...)
{
	int saved = errno;
	unsigned long suppressed = 0;
	char line[1024];
	va_list ap;

	if (level < 0)
		level = 0;
	if (level > LOG_DEBUG)
		level = LOG_DEBUG;
	atomic_fetch_add(&counts[level], 1);
	if (level > atomic_load(&max_level)) {
		errno = saved;
		return;
	}
	if (level == LOG_INFO && !info_may_pass(&suppressed)) {
		errno = saved;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (suppressed)
		fprintf(stderr, "<%d>log: %lu client messages suppressed\n<%d>%s\n", LOG_INFO,
			suppressed, level, line);
	else
		fprintf(stderr, "<%d>%s\n", level, line);
	errno = saved;
}
