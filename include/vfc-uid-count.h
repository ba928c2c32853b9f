/* SPDX-License-Identifier: MIT */
/*
 * A small fixed table of per-uid counts, for shares that bound what one
 * uid may hold at once (the daemon's workers, the reaper's closes). An
 * entry with a count of 0 is free. The caller holds whatever lock guards
 * the table.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct vfc_uid_count {
	uid_t uid;
	unsigned int n;
};

/**
 * vfc_uid_count() - @uid's count in table @t of @size entries.
 * @create: take a free entry for @uid when it has none.
 * Return: the count to read or change; NULL when @uid has none (and
 * @create is false, or the table is full).
 */
static inline unsigned int *vfc_uid_count(struct vfc_uid_count *t, size_t size, uid_t uid,
					  bool create)
{
	for (size_t i = 0; i < size; i++)
		if (t[i].n && t[i].uid == uid)
			return &t[i].n;
	if (create)
		for (size_t i = 0; i < size; i++)
			if (!t[i].n) {
				t[i].uid = uid;
				return &t[i].n;
			}
	return NULL;
}
