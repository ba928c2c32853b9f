/* SPDX-License-Identifier: MIT */
/*
 * Log lines to stderr with sd-daemon "<N>" prefixes. One fprintf per line,
 * so lines from several threads do not interleave.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>

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

unsigned long vfc_log_count(int level)
{
	if (level < 0 || level > LOG_DEBUG)
		return 0;
	return atomic_load(&counts[level]);
}

void vfc_log(int level, const char *fmt, ...)
{
	int saved = errno;
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
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "<%d>%s\n", level, line);
	errno = saved;
}
