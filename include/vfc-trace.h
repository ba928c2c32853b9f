/* SPDX-License-Identifier: MIT */
/*
 * The decoding trace (vfio-cused --trace): one line per event, decoded
 * like strace, as text or as one JSON object per line. Events come from
 * the core's file object (ioctls, region accesses, mmap requests), the
 * backends (device DMA, interrupts), the client channel and fault
 * injection (vfc-fault.h). With the trace off, an event costs one relaxed
 * atomic load: callers test vfc_trace_on() before building anything.
 */
#pragma once

#include <stdbool.h>
#include <stdatomic.h>

#include "vfc-macro.h"

enum vfc_trace_format {
	VFC_TRACE_TEXT,
	VFC_TRACE_JSON,
};

extern atomic_bool vfc_trace_enabled;

/** vfc_trace_on() - whether events are written now. */
static inline bool vfc_trace_on(void)
{
	return atomic_load_explicit(&vfc_trace_enabled, memory_order_relaxed);
}

/**
 * vfc_trace_start() - write events to @path from now on, replacing any
 * earlier destination.
 * @path: a file to append to; "-" or NULL for stderr.
 * @format: text or JSON lines.
 * Return: 0, or -errno from opening @path.
 */
int vfc_trace_start(const char *path, enum vfc_trace_format format);

/** vfc_trace_stop() - stop writing events and close the destination. */
void vfc_trace_stop(void);

/**
 * vfc_trace_event() - one free-form event line.
 * @event: its kind ("dma", "irq", "fault", "channel", ...).
 * @fmt: the decoded fields, as "name=value" pairs separated by spaces.
 *
 * Does nothing when the trace is off.
 */
void vfc_trace_event(const char *event, const char *fmt, ...) _printf_(2, 3);
