/* SPDX-License-Identifier: MIT */
/*
 * The trace decoder's field readers (trace-decode.c, trace-caps.c): a view
 * of the bytes a call carried, and helpers that print a struct's field only
 * when the call carried all of it. The bytes are a client's: every read is
 * bounds-checked against the view.
 */
#pragma once

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <linux/vfio.h>

#include "trace-priv.h"

#define VFC_TRACE_ARRAY_MAX 64
#define VFC_TRACE_CAPS_MAX 16
#define VFC_TRACE_RAW_MAX 64

struct view {
	const uint8_t *p;
	size_t len;
};

struct flag {
	uint64_t bit;
	const char *name;
};

#define FLD(T, f) offsetof(T, f), sizeof(((T *)0)->f)

static inline bool vhas(const struct view *v, size_t off, size_t sz)
{
	return v->p && off <= v->len && sz <= v->len - off;
}

static inline uint64_t vget(const struct view *v, size_t off, size_t sz)
{
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64 = 0;

	switch (sz) {
	case 1:
		memcpy(&u8, v->p + off, 1);
		return u8;
	case 2:
		memcpy(&u16, v->p + off, 2);
		return u16;
	case 4:
		memcpy(&u32, v->p + off, 4);
		return u32;
	default:
		memcpy(&u64, v->p + off, sizeof(u64));
		return u64;
	}
}

static inline int64_t vgets(const struct view *v, size_t off, size_t sz)
{
	uint64_t x = vget(v, off, sz);

	switch (sz) {
	case 1:
		return (int8_t)x;
	case 2:
		return (int16_t)x;
	case 4:
		return (int32_t)x;
	default:
		return (int64_t)x;
	}
}

static inline void fu(struct vfc_rec *r, const struct view *v, const char *name, size_t off, size_t sz)
{
	if (vhas(v, off, sz))
		vfc_rec_u(r, name, vget(v, off, sz));
}

static inline void fx(struct vfc_rec *r, const struct view *v, const char *name, size_t off, size_t sz)
{
	if (vhas(v, off, sz))
		vfc_rec_x(r, name, vget(v, off, sz));
}

static inline void fi(struct vfc_rec *r, const struct view *v, const char *name, size_t off, size_t sz)
{
	if (vhas(v, off, sz))
		vfc_rec_i(r, name, vgets(v, off, sz));
}

static inline void flags_value(struct vfc_rec *r, const char *name, uint64_t x, const struct flag *t,
			size_t n)
{
	char buf[512];
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (!(x & t[i].bit) || (x & t[i].bit) != t[i].bit)
			continue;
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s", len ? "|" : "",
					t[i].name);
		x &= ~t[i].bit;
		if (len >= sizeof(buf) - 24)
			break;
	}
	if (x || !len)
		snprintf(buf + len, sizeof(buf) - len, "%s0x%llx", len ? "|" : "",
			 (unsigned long long)x);
	vfc_rec_sym(r, name, buf);
}

static inline void fflags(struct vfc_rec *r, const struct view *v, const char *name, size_t off,
		   size_t sz, const struct flag *t, size_t n)
{
	if (vhas(v, off, sz))
		flags_value(r, name, vget(v, off, sz), t, n);
}

typedef const char *(*enum_fn)(uint64_t v);

static inline void enum_value(struct vfc_rec *r, const char *name, uint64_t x, enum_fn fn)
{
	const char *s = fn(x);

	if (s)
		vfc_rec_sym(r, name, s);
	else
		vfc_rec_u(r, name, x);
}

static inline void fenum(struct vfc_rec *r, const struct view *v, const char *name, size_t off,
		  size_t sz, enum_fn fn)
{
	if (vhas(v, off, sz))
		enum_value(r, name, vget(v, off, sz), fn);
}

/* Field macros: T is the struct being decoded, v its view. */
#define U(f) fu(r, v, #f, FLD(T, f))
#define X(f) fx(r, v, #f, FLD(T, f))
#define I(f) fi(r, v, #f, FLD(T, f))
#define FL(f, t) fflags(r, v, #f, FLD(T, f), t, VFC_ARRAY_SIZE(t))
#define EN(f, fn) fenum(r, v, #f, FLD(T, f), fn)
#define HAS(f) vhas(v, FLD(T, f))
#define GET(f) vget(v, FLD(T, f))


/* Capability chains (trace-caps.c): the caps of an info struct of @info_size
 * bytes whose chain starts at @first, printed as the field "caps". */
void vfc_trace_caps_iommu(struct vfc_rec *r, const struct view *v, uint64_t first,
			  size_t info_size);
void vfc_trace_caps_region(struct vfc_rec *r, const struct view *v, uint64_t first,
			   size_t info_size);
void vfc_trace_caps_device(struct vfc_rec *r, const struct view *v, uint64_t first,
			   size_t info_size);
