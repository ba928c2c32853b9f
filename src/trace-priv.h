/* SPDX-License-Identifier: MIT */
/*
 * The trace's line builder, shared by the sink (trace.c) and the ioctl
 * decoder (trace-decode.c): one growing buffer that writes the same fields
 * either as text ("name=value, ...") or as JSON members, so the decoder
 * is written once for both formats.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vfc-macro.h"
#include "vfc-trace.h"

#define VFC_TRACE_DEPTH 8
/* A line that would grow past this is dropped (arrays and chains are
 * bounded, so only a hostile pile of them could get there). */
#define VFC_TRACE_LINE_MAX (64u * 1024u)

struct vfc_rec {
	char *buf;
	size_t len, cap;
	bool json;
	bool oom;
	unsigned int depth;
	bool first[VFC_TRACE_DEPTH];
};

void vfc_rec_init(struct vfc_rec *r, enum vfc_trace_format format);
void vfc_rec_printf(struct vfc_rec *r, const char *fmt, ...) _printf_(2, 3);
void vfc_rec_raw(struct vfc_rec *r, const char *s, size_t n);
/* A JSON string literal of @s (@n bytes), quotes included. */
void vfc_rec_json_str(struct vfc_rec *r, const char *s, size_t n);
/* The separator and "name=" / "\"name\":" of a field; NULL: array element. */
void vfc_rec_key(struct vfc_rec *r, const char *name);
void vfc_rec_u(struct vfc_rec *r, const char *name, uint64_t v);
void vfc_rec_i(struct vfc_rec *r, const char *name, int64_t v);
/* Hex in text, a number in JSON. */
void vfc_rec_x(struct vfc_rec *r, const char *name, uint64_t v);
/* A symbol: bare in text, a string in JSON. */
void vfc_rec_sym(struct vfc_rec *r, const char *name, const char *s);
/* A client's string: quoted in both, at most @max bytes shown. */
void vfc_rec_str(struct vfc_rec *r, const char *name, const char *s, size_t n);
void vfc_rec_bool(struct vfc_rec *r, const char *name, bool v);
/* '{' or '[' after the field's key; vfc_rec_close() with the matching one. */
void vfc_rec_open(struct vfc_rec *r, const char *name, char bracket);
void vfc_rec_close(struct vfc_rec *r, char bracket);
/* The "name=value ..." pairs of vfc_trace_event() as fields. */
void vfc_rec_pairs(struct vfc_rec *r, const char *pairs);
/* The line's start: text "HH:MM:SS.uuuuuu " (UTC), JSON {"ts":...,"event":..  */
void vfc_rec_begin(struct vfc_rec *r, const char *event);
/* Closes the line and adds its newline; returns the buffer (caller frees)
 * or NULL when out of memory. */
char *vfc_rec_end(struct vfc_rec *r);

/* Writes one finished line to the sink, in one write(). */
void vfc_trace_write(const char *line);
/* The current format. */
enum vfc_trace_format vfc_trace_get_format(void);
/* This thread's notes, "name=value ..." ("" when none). */
const char *vfc_trace_notes(void);

/* The decoder (trace-decode.c): the call's fields after vfc_rec_begin(). */
void vfc_trace_decode_ioctl(struct vfc_rec *r, const struct vfc_trace_ioctl *call,
			    const char *notes);
