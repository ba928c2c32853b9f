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

/*
 * Under l->lock: the entry of uid @key, or of process @key opened by @uid
 * (a pid reused by another uid's process is another entry), or NULL.
 */
static struct vfc_quota_slot *find(struct vfc_quota *l, bool is_uid, uint32_t key, uid_t uid)
{
	for (size_t i = 0; i < l->n_slots; i++) {
		const struct vfc_quota_slot *s = &l->slot[i];

		if (s->files && s->is_uid == is_uid && s->key == key && (is_uid || s->uid == uid))
			return &l->slot[i];
	}
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
	u = find(l, true, (uint32_t)uid, uid);
	if (with_process)
		p = find(l, false, (uint32_t)tgid, uid);
	/* The process's limit first: it is the one a well-behaved client
	 * meets, as RLIMIT_NOFILE before the uid's share. */
	r = fits(p, container, l->cfg.files_per_process, l->cfg.containers_per_process);
	if (r == 0)
		r = fits(u, container, l->cfg.files_per_uid, l->cfg.containers_per_uid);
	if (r == 0 && !u && !(nu = find_free(l, NULL)))
		r = -ENFILE;
	/* No entry for a new process (the uid has its share of entries, or
	 * the table is full): count it to its uid alone. */
	if (r == 0 && with_process && !p &&
	    ((u && u->procs >= VFC_QUOTA_PROCS_PER_UID) || !(np = find_free(l, nu))))
		with_process = false;
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
		*np = (struct vfc_quota_slot){ .key = (uint32_t)tgid, .is_uid = false, .uid = uid };
		p = np;
		u->procs++;
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

/* One file less in @s. Return: whether @s is free now. */
static bool drop(struct vfc_quota_slot *s, bool container)
{
	if (!s)
		return false;
	s->files--;
	if (container && s->containers)
		s->containers--;
	if (s->files)
		return false;
	*s = (struct vfc_quota_slot){ 0 };
	return true;
}

void vfc_quota_uncharge(struct vfc_quota *l, struct vfc_quota_charge *c)
{
	struct vfc_quota_slot *u;

	if (!c->charged)
		return;
	pthread_mutex_lock(&l->lock);
	u = find(l, true, (uint32_t)c->uid, c->uid);
	if (c->tgid > 0 && drop(find(l, false, (uint32_t)c->tgid, c->uid), c->container) && u &&
	    u->procs)
		u->procs--;
	drop(u, c->container);
	pthread_mutex_unlock(&l->lock);
	c->charged = false;
}

unsigned int vfc_quota_count(struct vfc_quota *l, bool is_uid, uint32_t key, bool containers)
{
	struct vfc_quota_slot *s;
	unsigned int n = 0;

	pthread_mutex_lock(&l->lock);
	/* a process's count, whichever uid opened it */
	for (size_t i = 0; i < l->n_slots; i++) {
		s = &l->slot[i];
		if (s->files && s->is_uid == is_uid && s->key == key)
			n += containers ? s->containers : s->files;
	}
	pthread_mutex_unlock(&l->lock);
	return n;
}
