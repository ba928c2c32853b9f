/* SPDX-License-Identifier: MIT */
/*
 * Per-client limits on the files opened through the daemon's nodes:
 * files (container, group and device files) and containers, per process
 * and per uid. A charge is taken at open and handed back at release with
 * the file, so the count follows the file and never the pid: a reused pid
 * can neither take back what another process was charged nor lose what it
 * holds, and a process entry is also keyed by its opener's uid, so a pid
 * reused by another uid's process starts from nothing. Free of libfuse,
 * so its tests build it alone (tests/test-quota.c).
 */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Entries for processes and uids holding files at once. A new uid past it
 * fails its opens (ENFILE); a new process past it (or past its uid's
 * VFC_QUOTA_PROCS_PER_UID) is counted to its uid alone. */
#define VFC_QUOTA_SLOTS 4096

struct vfc_quota_cfg {
	unsigned int files_per_process;		/* EMFILE past it */
	unsigned int files_per_uid;		/* EMFILE past it */
	unsigned int containers_per_process;	/* ENOMEM past it */
	unsigned int containers_per_uid;	/* ENOMEM past it */
};

/*
 * Process entries one uid may hold; its further processes are counted to
 * the uid alone (their own limit unchecked), so that one uid running many
 * processes cannot fill the table and lock every other user out.
 */
#define VFC_QUOTA_PROCS_PER_UID 256

struct vfc_quota_slot {
	uint32_t key;		/* a uid, or a tgid */
	bool is_uid;
	uid_t uid;		/* a process's: its opener's uid (pids are reused) */
	unsigned int files, containers;	/* files == 0: free */
	unsigned int procs;	/* a uid's: its process entries */
};

/**
 * struct vfc_quota - the counts, under their own lock.
 * @slot: one entry per uid and per process that holds a file; an entry
 *        whose files count is 0 is free.
 */
struct vfc_quota {
	pthread_mutex_t lock;
	struct vfc_quota_cfg cfg;
	struct vfc_quota_slot *slot;
	size_t n_slots;
};

/* What one open was charged: kept with its file, handed back at release. */
struct vfc_quota_charge {
	uid_t uid;
	pid_t tgid;		/* 0: the caller's process was not known */
	bool container;
	bool charged;
};

/**
 * vfc_quota_init() - an empty table of @n_slots entries with limits @cfg.
 * Return: 0, -ENOMEM.
 */
int vfc_quota_init(struct vfc_quota *l, const struct vfc_quota_cfg *cfg, size_t n_slots);
/** vfc_quota_fini() - free the table; every charge must be back. */
void vfc_quota_fini(struct vfc_quota *l);

/**
 * vfc_quota_charge() - count one more file (a container if @container)
 * for uid @uid and process @tgid.
 * @tgid: the caller's thread-group id; 0 or less when unknown (a caller
 *        not visible in our pid namespace): only the uid is charged.
 * @ret: the charge to hand back; written only on success.
 *
 * Either both counts go up, or neither does; a process that finds no entry
 * (the table full, or its uid holding VFC_QUOTA_PROCS_PER_UID) is charged
 * to its uid alone, and @ret's tgid is then 0.
 * Return: 0; -EMFILE (the process's or the uid's file limit), -ENOMEM
 * (its container limit), -ENFILE (no entry left for a new uid).
 */
int vfc_quota_charge(struct vfc_quota *l, uid_t uid, pid_t tgid, bool container,
		      struct vfc_quota_charge *ret);

/**
 * vfc_quota_uncharge() - hand back charge @c (once: it is cleared); a
 * charge never taken is ignored.
 */
void vfc_quota_uncharge(struct vfc_quota *l, struct vfc_quota_charge *c);

/**
 * vfc_quota_count() - the files (or containers) uid @uid or process
 * @tgid holds, for tests and statistics.
 */
unsigned int vfc_quota_count(struct vfc_quota *l, bool is_uid, uint32_t key, bool containers);
