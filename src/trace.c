/* SPDX-License-Identifier: MIT */
/*
 * The decoding trace (vfc-trace.h). Placeholder: the interface is fixed so
 * that its users can be written against it; the decoder replaces this.
 */
#include <errno.h>

#include "vfc-trace.h"

atomic_bool vfc_trace_enabled;

int vfc_trace_start(const char *path, enum vfc_trace_format format)
{
	return -ENOSYS;
}

void vfc_trace_stop(void)
{
}

void vfc_trace_event(const char *event, const char *fmt, ...)
{
}
