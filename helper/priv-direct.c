/* SPDX-License-Identifier: MIT */
/*
 * The direct table of include/vfc-priv.h: the daemon runs the privileged
 * operations itself (it is root, or holds what each op needs), serving the
 * clients of the major set once its nodes exist.
 */
#include "priv-ops.h"

static unsigned int direct_major;

void vfc_priv_direct_set_major(unsigned int cuse_major)
{
	__atomic_store_n(&direct_major, cuse_major, __ATOMIC_RELEASE);
}

static int direct_open_container(struct vfc_priv *p)
{
	return vfc_priv_do_open_container();
}

static int direct_open_group(struct vfc_priv *p, unsigned int group)
{
	return vfc_priv_do_open_group(group);
}

static int direct_get_device_fd(struct vfc_priv *p, int group_fd, const char *name)
{
	return vfc_priv_do_get_device_fd(group_fd, name);
}

static int direct_get_client_fd(struct vfc_priv *p, pid_t pid, pid_t tid, int fd,
				uint32_t flags)
{
	return vfc_priv_do_get_client_fd(__atomic_load_n(&direct_major, __ATOMIC_ACQUIRE), pid,
					 tid, fd, flags);
}

static const struct vfc_priv_ops direct_ops = {
	.open_container = direct_open_container,
	.open_group = direct_open_group,
	.get_device_fd = direct_get_device_fd,
	.get_client_fd = direct_get_client_fd,
};

struct vfc_priv *vfc_priv_direct(void)
{
	static struct vfc_priv direct = { .ops = &direct_ops };

	return &direct;
}
