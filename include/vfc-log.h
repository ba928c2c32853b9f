/* SPDX-License-Identifier: MIT */
/*
 * Logging to stderr with sd-daemon "<N>" level prefixes, which journald
 * understands. Every message should name its object ("group 26: ...") and
 * quote strings that came from clients.
 *
 * Info is the level of what a client caused (a bad input, a refused
 * request): once the daemon serves, it turns on the info limiter, and info
 * lines then pass a token bucket, so a hostile client cannot flood the
 * journal. Errors, warnings and notices are never limited.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <syslog.h>

#include "vfc-macro.h"

/**
 * vfc_log_set_max_level() - drop messages above @level.
 * @level: a syslog LOG_* level; the default is LOG_INFO.
 */
void vfc_log_set_max_level(int level);

/**
 * vfc_log_get_max_level() - the current threshold.
 * Return: a syslog LOG_* level.
 */
int vfc_log_get_max_level(void);

/**
 * vfc_log() - print one line with an sd-daemon prefix.
 * @level: a syslog LOG_* level.
 * @fmt: printf format, without a trailing newline.
 *
 * Preserves errno.
 */
void vfc_log(int level, const char *fmt, ...) _printf_(2, 3);

/**
 * vfc_log_count() - how many messages at @level were printed or dropped.
 * @level: a syslog LOG_* level.
 *
 * Tests use it to check that a bad input produced a log line.
 * Return: the number of calls at that level since start.
 */
unsigned long vfc_log_count(int level);

/**
 * struct vfc_log_limit - a token bucket: @burst lines at once, then one
 * per @interval_ns. Zero-initialised state with @burst and @interval_ns
 * set is full.
 */
struct vfc_log_limit {
	unsigned int burst;
	uint64_t interval_ns;
	/* state */
	bool started;
	unsigned int tokens;
	uint64_t last;			/* time of the last refill */
	unsigned long suppressed;	/* since the last line that passed */
};

/**
 * vfc_log_limit_take() - may one more line pass @l at time @now_ns?
 * @ret_suppressed: when it may, the lines suppressed since the last one
 *                  that passed (to report first); written only then.
 *
 * Pure: the caller brings the time and the lock. A clock that goes back
 * refills nothing.
 * Return: true when the line may be printed.
 */
bool vfc_log_limit_take(struct vfc_log_limit *l, uint64_t now_ns, unsigned long *ret_suppressed);

/**
 * vfc_log_limit_info() - limit info lines from now on to @burst at once,
 * then one per @interval_ns; a line that passes after suppressed ones is
 * preceded by "N client messages suppressed".
 * @burst: 0 turns the limiter off (the default).
 * @clock: the time in ns; NULL for CLOCK_MONOTONIC (tests bring theirs).
 */
void vfc_log_limit_info(unsigned int burst, uint64_t interval_ns, uint64_t (*clock)(void));

/** vfc_log_suppressed() - info lines the limiter suppressed since start. */
unsigned long vfc_log_suppressed(void);

#define vfc_debug(...) vfc_log(LOG_DEBUG, __VA_ARGS__)
#define vfc_info(...) vfc_log(LOG_INFO, __VA_ARGS__)
#define vfc_notice(...) vfc_log(LOG_NOTICE, __VA_ARGS__)
#define vfc_warn(...) vfc_log(LOG_WARNING, __VA_ARGS__)
#define vfc_err(...) vfc_log(LOG_ERR, __VA_ARGS__)
