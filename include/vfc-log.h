/* SPDX-License-Identifier: MIT */
/*
 * Logging to stderr with sd-daemon "<N>" level prefixes, which journald
 * understands. Every message should name its object ("group 26: ...") and
 * quote strings that came from clients.
 */
#pragma once

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

#define vfc_debug(...) vfc_log(LOG_DEBUG, __VA_ARGS__)
#define vfc_info(...) vfc_log(LOG_INFO, __VA_ARGS__)
#define vfc_notice(...) vfc_log(LOG_NOTICE, __VA_ARGS__)
#define vfc_warn(...) vfc_log(LOG_WARNING, __VA_ARGS__)
#define vfc_err(...) vfc_log(LOG_ERR, __VA_ARGS__)
