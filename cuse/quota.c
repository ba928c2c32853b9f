/* SPDX-License-Identifier: MIT */
/*
 * Per-client limits (quota.h): one small table of per-uid and per-process
 * counts, searched linearly; opens are rare next to ioctls, and the table
 * is bounded, so the daemon's memory is too.
 */
#include <errno.h>
#include <stdlib.h>

#include "quota.h"

int vfc_quota_init(struct vfc_quota *l, const struct vfc_quota_cfg *cfg, size_t n_slots)
{
	l->slot = calloc(n_slots, sizeof(*l->slot));
	if (!l->slot)
		return -ENOMEM;
	l->n_slots = n_slots;
	l->cfg = *cfg;
	pthread_mutex_init(&l->lock, NULL);
	return 0;
}

void vfc_quota_fini(struct vfc_quota *l)
{
	if (!l->slot)
		return;
	pthread_mutex_destroy(&l->lock);
	free(l->slot);
	l->slot = NULL;
	l->n_slots = 0;
}

/* Under l->lock: the entry of @key, or NULL. */
static struct vfc_quota_slot *find(struct vfc_quota *l, bool is_uid, uint32_t key)
{
	for (size_t i = 0; i < l->n_slots; i++)
		if (l->slot[i].files && l->slot[i].is_uid == is_uid && l->slot[i].key == key)
			return &l->slot[i];
	return NULL;
}

/* Under l->lock: a free entry other than @not, or NULL. */
static struct vfc_quota_slot *find_free(struct vfc_quota *l, const struct vfc_quota_slot *not)
{
	for (size_t i = 0; i < l->n_slots; i++)
		if (!l->slot[i].files && &l->slot[i] != not)
			return &l->slot[i];
	return NULL;
}

/* Would one more file (container) fit in @s, under @files and @containers? */
static int fits(const struct vfc_quota_slot *s, bool container, unsigned int files,
		unsigned int containers)
{
	if (!s)
		return 0;
	if (s->files >= files)
		return -EMFILE;
	if (container && s->containers >= containers)
		return -ENOMEM;
	return 0;
}

int vfc_quota_charge(struct vfc_quota *l, uid_t uid, pid_t tgid, bool container,
		      struct vfc_quota_charge *ret)
{
	struct vfc_quota_slot *u, *p = NULL, *nu = NULL, *np = NULL;
	bool with_process = tgid > 0;
	int r;

	pthread_mutex_lock(&l->lock);
	u = find(l, true, (uint32_t)uid);
	if (with_process)
		p = find(l, false, (uint32_t)tgid);
	/* The process's limit first: it is the one a well-behaved client
	 * meets, as RLIMIT_NOFILE before the uid's share. */
	r = fits(p, container, l->cfg.files_per_process, l->cfg.containers_per_process);
	if (r == 0)
		r = fits(u, container, l->cfg.files_per_uid, l->cfg.containers_per_uid);
	if (r == 0 && !u && !(nu = find_free(l, NULL)))
		r = -ENFILE;
	if (r == 0 && with_process && !p && !(np = find_free(l, nu)))
		r = -ENFILE;
	/* A limit of 0 is never configured (config.c), but stays safe. */
	if (r == 0 && (!l->cfg.files_per_uid || (with_process && !l->cfg.files_per_process)))
		r = -EMFILE;
	if (r == 0 && container &&
	    (!l->cfg.containers_per_uid || (with_process && !l->cfg.containers_per_process)))
		r = -ENOMEM;
	if (r < 0) {
		pthread_mutex_unlock(&l->lock);
		return r;
	}
	if (nu) {
		*nu = (struct vfc_quota_slot){ .key = (uint32_t)uid, .is_uid = true };
		u = nu;
	}
	if (np) {
		*np = (struct vfc_quota_slot){ .key = (uint32_t)tgid, .is_uid = false };
		p = np;
	}
	u->files++;
	u->containers += container;
	if (p) {
		p->files++;
		p->containers += container;
	}
	pthread_mutex_unlock(&l->lock);
	*ret = (struct vfc_quota_charge){
		.uid = uid, .tgid = with_process ? tgid : 0, .container = container, .charged = true,
	};
	return 0;
}

static void drop(struct vfc_quota_slot *s, bool container)
{
	if (!s)
		return;
	s->files--;
	if (container && s->containers)
		s->containers--;
	if (!s->files)
		*s = (struct vfc_quota_slot){ 0 };
}

void vfc_quota_uncharge(struct vfc_quota *l, struct vfc_quota_charge *c)
{
	if (!c->charged)
		return;
	pthread_mutex_lock(&l->lock);
	drop(find(l, true, (uint32_t)c->uid), c->container);
	if (c->tgid > 0)
		drop(find(l, false, (uint32_t)c->tgid), c->container);
	pthread_mutex_unlock(&l->lock);
	c->charged = false;
}

unsigned int vfc_quota_count(struct vfc_quota *l, bool is_uid, uint32_t key, bool containers)
{
	struct vfc_quota_slot *s;
	unsigned int n = 0;

	pthread_mutex_lock(&l->lock);
	s = find(l, is_uid, key);
	if (s)
		n = containers ? s->containers : s->files;
	pthread_mutex_unlock(&l->lock);
	return n;
}
