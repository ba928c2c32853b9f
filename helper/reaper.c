/* SPDX-License-Identifier: MIT */
/*
 * Closes that may block (reaper.h): one detached thread per pending close,
 * bounded per uid and in total. The table is small and fixed: at most
 * VFC_REAPER_MAX closes, so at most that many distinct uids.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "reaper.h"
#include "vfc-uid-count.h"
#include "vfc-macro.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct vfc_uid_count slots[VFC_REAPER_MAX];
static unsigned int total;

/* Under lock: @uid's entry, a free one if @create, or NULL. */
static unsigned int *count_of(uid_t uid, bool create)
{
	return vfc_uid_count(slots, VFC_REAPER_MAX, uid, create);
}

int vfc_reaper_reserve(uid_t uid)
{
	unsigned int *n;
	int r = -EMFILE;

	pthread_mutex_lock(&lock);
	if (total < VFC_REAPER_MAX) {
		n = count_of(uid, true);	/* total < MAX: an entry is free */
		if (n && *n < VFC_REAPER_PER_UID) {
			(*n)++;
			total++;
			r = 0;
		}
	}
	pthread_mutex_unlock(&lock);
	return r;
}

void vfc_reaper_release(uid_t uid)
{
	unsigned int *n;

	pthread_mutex_lock(&lock);
	n = count_of(uid, false);
	if (n && *n) {
		(*n)--;
		total--;
	}
	pthread_mutex_unlock(&lock);
}

unsigned int vfc_reaper_pending(uid_t uid)
{
	unsigned int *n, r;

	pthread_mutex_lock(&lock);
	n = uid == (uid_t)-1 ? &total : count_of(uid, false);
	r = n ? *n : 0;
	pthread_mutex_unlock(&lock);
	return r;
}

static void *reap(void *arg)
{
	uintptr_t v = (uintptr_t)arg;

	prctl(PR_SET_NAME, "vfc-reaper");	/* for ps and the tests */
	close((int)(v & 0xffffffffu));
	vfc_reaper_release((uid_t)(v >> 32));
	return NULL;
}

void vfc_reaper_close(int fd, uid_t uid)
{
	pthread_attr_t attr;
	pthread_t t;
	uintptr_t v = (uintptr_t)(uint32_t)fd | (uintptr_t)uid << 32;

	_Static_assert(sizeof(uintptr_t) >= 8, "fd and uid travel in one pointer");
	if (pthread_attr_init(&attr))
		return;
	/* A close needs little stack; PTHREAD_STACK_MIN is too tight for
	 * the sanitizers. */
	pthread_attr_setstacksize(&attr, 256 * 1024);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, reap, (void *)v)) {
		/* @fd stays open and its slot used: see reaper.h. */
	}
	pthread_attr_destroy(&attr);
}
