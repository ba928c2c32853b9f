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
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "vfc-macro.h"

enum vfc_trace_format {
	VFC_TRACE_TEXT,
	VFC_TRACE_JSON,
};

extern atomic_bool vfc_trace_enabled;

/** vfc_trace_on() - whether events are written now. */
#ifdef VFC_TRACE_COMPILED_OUT
/* bench/bench-trace.c's baseline: a core built without the check. */
static inline bool vfc_trace_on(void)
{
	return false;
}
#else
static inline bool vfc_trace_on(void)
{
	return atomic_load_explicit(&vfc_trace_enabled, memory_order_relaxed);
}
#endif

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

/**
 * struct vfc_trace_ioctl - one completed ioctl, as the decoder sees it.
 * @kind: the file's kind (enum vfc_file_kind of vfc-file.h).
 * @file_id: vfc_file_id() of the file.
 * @pid: the caller's pid (0 when the transport does not know it).
 * @cmd: the ioctl number.
 * @arg: the raw argument (an integer for CHECK_EXTENSION and SET_IOMMU).
 * @in: the bytes read at @arg (@in_len of them; may be fewer than the
 *      struct when the call failed early: only whole fields are printed).
 * @out: the bytes written back at @arg (@out_len; 0 when none).
 * @result: the call's result: >= 0, or -errno.
 * @duration_ns: how long the core took (vfc_file_ioctl()'s final round).
 * @injected: a fault rule failed the call (struct vfc_ioctl.injected).
 */
struct vfc_trace_ioctl {
	unsigned int kind;
	uint64_t file_id;
	pid_t pid;
	unsigned int cmd;
	uint64_t arg;
	const void *in;
	size_t in_len;
	const void *out;
	size_t out_len;
	int result;
	uint64_t duration_ns;
	bool injected;
};

/**
 * vfc_trace_ioctl() - write one decoded ioctl line, with the resolutions
 * noted by its handler on this thread (vfc_trace_note()), which it clears.
 * @call: the call.
 *
 * Does nothing when the trace is off.
 */
void vfc_trace_ioctl(const struct vfc_trace_ioctl *call);

/**
 * vfc_trace_format_ioctl() - the line vfc_trace_ioctl() would write
 * (with its newline), without writing it and without the notes.
 * @call: the call.
 * @format: text or JSON.
 * Return: a string the caller frees, or NULL when out of memory.
 */
char *vfc_trace_format_ioctl(const struct vfc_trace_ioctl *call, enum vfc_trace_format format);

/**
 * vfc_trace_format_event() - the line vfc_trace_event() would write.
 * Return: a string the caller frees, or NULL when out of memory.
 */
char *vfc_trace_format_event(enum vfc_trace_format format, const char *event,
			     const char *fmt, ...) _printf_(3, 4);

/**
 * vfc_trace_note() - note what an fd of the current ioctl resolved to
 * ("container=3", "fd5=eventfd"), as "name=value" pairs. Kept per thread
 * until the ioctl's line is written (or vfc_trace_note_reset()). Call it
 * only when vfc_trace_on(); a note that does not fit is dropped.
 */
void vfc_trace_note(const char *fmt, ...) _printf_(1, 2);

/** vfc_trace_note_reset() - forget this thread's notes. */
void vfc_trace_note_reset(void);

/**
 * vfc_trace_errno_name() - "EINVAL" for EINVAL.
 * Return: the name, or "errno" for one the trace does not know. Never NULL.
 */
const char *vfc_trace_errno_name(int e);

/** vfc_trace_irq_name() - "MSI" for VFIO_PCI_MSI_IRQ_INDEX; NULL past REQ. */
const char *vfc_trace_irq_name(uint64_t index);

/** vfc_trace_region_name() - "BAR0".."VGA" for vfio-pci's regions; NULL past VGA. */
const char *vfc_trace_region_name(uint64_t index);

/** vfc_trace_now_ns() - a monotonic clock for durations. */
uint64_t vfc_trace_now_ns(void);

/**
 * vfc_trace_ioctl_name() - the <linux/vfio.h> name of ioctl @cmd on a
 * file of @kind, or NULL when it is none. Where two names share a number
 * on one kind (type1's IOMMU_GET_INFO and DIRTY_PAGES against SPAPR's
 * TCE_GET_INFO and REGISTER_MEMORY), the type1 name: we serve type1.
 */
const char *vfc_trace_ioctl_name(unsigned int kind, unsigned int cmd);
