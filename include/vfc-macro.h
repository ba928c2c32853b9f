/* SPDX-License-Identifier: MIT */
/*
 * Small helpers used everywhere: cleanup attributes, ownership transfer and
 * min/max. Modelled on systemd's macro.h, written for this tree.
 */
#pragma once

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _warn_unused_ __attribute__((warn_unused_result))

#define VFC_MIN(a, b) ((a) < (b) ? (a) : (b))
#define VFC_MAX(a, b) ((a) > (b) ? (a) : (b))
#define VFC_ARRAY_SIZE(x) (sizeof(x) / sizeof((x)[0]))
#define vfc_offsetofend(type, member) \
	(offsetof(type, member) + sizeof(((type *)0)->member))

static inline void vfc_freep(void *p)
{
	free(*(void **)p);
}
#define _cleanup_free_ _cleanup_(vfc_freep)

static inline void vfc_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}
#define _cleanup_close_ _cleanup_(vfc_closep)

/* Hand a pointer over: return its value and leave NULL behind. */
#define TAKE_PTR(p)                         \
	({                                  \
		__typeof__(p) _p_ = (p);    \
		(p) = NULL;                 \
		_p_;                        \
	})

/* Hand an fd over: return its value and leave -1 behind. */
#define TAKE_FD(fd)                 \
	({                          \
		int _fd_ = (fd);    \
		(fd) = -1;          \
		_fd_;               \
	})

/* Define a cleanup function for a type whose destructor takes a pointer. */
#define VFC_DEFINE_CLEANUP(type, func)               \
	static inline void func##p(type **p)         \
	{                                            \
		if (*p)                              \
			func(*p);                    \
	}
