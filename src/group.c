/* SPDX-License-Identifier: MIT */
/*
 * Group files: /dev/vfio/<id>, one opener at a time. The open file and
 * every device opened through it keep the group "open" (open_refs); when
 * the last of them goes, the group leaves its container, as the kernel's
 * group release does once device fds have dropped their file references.
 *
 * Must support container/group/device being closed in any order.
 */
#include <string.h>

#include "vfc-fault.h"
#include "vfc-log.h"
#include "vfc-private.h"
#include "vfc-trace.h"

int vfc_group_open(struct vfc_core *core, unsigned int id, struct vfc_group_file **ret)
{
	struct vfc_group_file *gf;
	struct vfc_group *g;
	int r = 0;

	gf = calloc(1, sizeof(*gf));
	if (!gf)
		return -ENOMEM;
	pthread_mutex_lock(&core->lock);
	for (g = core->groups; g; g = g->next)
		if (g->id == id)
			break;
	if (!g) {
		r = -ENODEV;
	} else if (g->open_refs) {
		/* Also while a device of an earlier open is still open. */
		vfc_info("group %u: already open", id);
		r = -EBUSY;
	} else {
		g->open_refs = 1;
		gf->group = g;
	}
	pthread_mutex_unlock(&core->lock);
	if (r < 0) {
		free(gf);
		return r;
	}
	vfc_debug("group %u: opened", id);
	*ret = gf;
	return 0;
}

void vfc_group_put_open_locked(struct vfc_group *g)
{
	if (--g->open_refs)
		return;
	if (g->container)
		vfc_group_detach_container_locked(g);
	vfc_debug("group %u: released", g->id);
}

void vfc_group_close(struct vfc_group_file *gf)
{
	struct vfc_core *core;

	if (!gf)
		return;
	core = gf->group->core;
	pthread_mutex_lock(&core->lock);
	vfc_group_put_open_locked(gf->group);
	pthread_mutex_unlock(&core->lock);
	free(gf);
}

struct vfc_group *vfc_group_file_group(struct vfc_group_file *gf)
{
	return gf->group;
}

static int group_ioctl_get_status(struct vfc_group *g, struct vfc_ioctl *io)
{
	const size_t minsz = vfc_offsetofend(struct vfio_group_status, flags);
	struct vfio_group_status status;
	int r;

	r = vfc_ioctl_need(io, minsz, minsz);
	if (r)
		return r;
	memcpy(&status, io->in, minsz);
	if (status.argsz < minsz) {
		vfc_info("group %u: GET_STATUS: argsz %u < %zu", g->id, status.argsz, minsz);
		return -EINVAL;
	}
	status.flags = 0;
	pthread_mutex_lock(&g->core->lock);
	if (g->container)
		status.flags = VFIO_GROUP_FLAGS_CONTAINER_SET | VFIO_GROUP_FLAGS_VIABLE;
	else if (g->viable)
		status.flags = VFIO_GROUP_FLAGS_VIABLE;
	pthread_mutex_unlock(&g->core->lock);
	/* A "nonviable" rule: another driver claimed the group's DMA (docs/harness.md). */
	if (vfc_fault_group_nonviable(g->id, "GROUP_GET_STATUS: VIABLE cleared")) {
		status.flags &= ~VFIO_GROUP_FLAGS_VIABLE;
		io->injected = true;
	}
	vfc_ioctl_reply(io, &status, minsz);
	return 0;
}

static int group_ioctl_set_container(struct vfc_group *g, struct vfc_ioctl *io)
{
	struct vfc_container *c = NULL;
	int32_t fd;
	int r, resolved;

	r = vfc_ioctl_need(io, sizeof(fd), 0);
	if (r)
		return r;
	memcpy(&fd, io->in, sizeof(fd));

	/* Resolve before locking: the transport may issue a nested ioctl. */
	if (io->caller && io->caller->ops && io->caller->ops->get_container)
		resolved = io->caller->ops->get_container(io->caller, fd, &c);
	else
		resolved = -EBADF;
	if (vfc_trace_on()) {
		if (resolved == 0)
			vfc_trace_note("fd%d=container:%lu", fd, c->id);
		else
			vfc_trace_note("fd%d=%s", fd, resolved == -EBADF ? "EBADF" : "not-a-container");
	}
	if (resolved == -EBADF) {
		vfc_info("group %u: SET_CONTAINER: fd %d is not open in the caller", g->id, fd);
		return -EBADF;
	}

	pthread_mutex_lock(&g->core->lock);
	if (g->container) {
		vfc_info("group %u: SET_CONTAINER: already in container %lu", g->id,
			 g->container->id);
		r = -EINVAL;
	} else if (resolved < 0) {
		vfc_info("group %u: SET_CONTAINER: fd %d is not a VFIO container", g->id, fd);
		r = -EBADFD;
	} else if (vfc_fault_group_nonviable(g->id, "GROUP_SET_CONTAINER: EPERM")) {
		/* iommu_group_claim_dma_owner() of a group another driver owns */
		io->injected = true;
		r = -EPERM;
	} else {
		r = vfc_container_attach_group_locked(c, g);
	}
	if (c)
		vfc_container_put_locked(c);	/* the lookup's reference */
	pthread_mutex_unlock(&g->core->lock);
	return r;
}

static int group_ioctl_unset_container(struct vfc_group *g, struct vfc_ioctl *io)
{
	int r = 0;

	pthread_mutex_lock(&g->core->lock);
	if (!g->container) {
		vfc_info("group %u: UNSET_CONTAINER: no container set", g->id);
		r = -EINVAL;
	} else if (g->container_users != 1) {
		vfc_info("group %u: UNSET_CONTAINER: %u device(s) still open", g->id,
			 g->container_users - 1);
		r = -EBUSY;
	} else {
		vfc_group_detach_container_locked(g);
	}
	pthread_mutex_unlock(&g->core->lock);
	return r;
}

/*
 * Find the device @buf names. Return: 0 and the device, -ENODEV, or a
 * match op's error (vfio-pci: -EINVAL for options after the name).
 */
static int group_find_device(struct vfc_group *g, const char *buf, struct vfc_device **ret)
{
	struct vfc_device *d;
	int r = 0;

	/* The device list is fixed once registered: no lock needed to walk it. */
	for (d = g->devices; d; d = d->next) {
		r = d->ops->match ? d->ops->match(d, buf) : !strcmp(d->name, buf);
		if (r)
			break;
	}
	if (r < 0)
		return r;
	if (!d)
		return -ENODEV;
	*ret = d;
	return 0;
}

static int group_ioctl_get_device_fd(struct vfc_group *g, struct vfc_ioctl *io)
{
	struct vfc_device_file *df = NULL;
	struct vfc_device *d;
	const char *name;
	int r, fd;

	r = vfc_ioctl_get_string(io, 4096, &name);
	if (r == -EINVAL)
		vfc_info("group %u: GET_DEVICE_FD: no NUL within 4096 bytes", g->id);
	if (r)
		return r;
	/*
	 * A non-viable group (a fault rule): only kernels before 5.19 let a
	 * group that has a container lose viability, and their
	 * GET_DEVICE_FD checked it before looking the name up: EINVAL.
	 * Without a container the open fails with EINVAL anyway, below.
	 */
	if (vfc_fault_any()) {
		bool has_container;

		pthread_mutex_lock(&g->core->lock);
		has_container = g->container;
		pthread_mutex_unlock(&g->core->lock);
		if (has_container && vfc_fault_group_nonviable(g->id, "GROUP_GET_DEVICE_FD: EINVAL")) {
			io->injected = true;
			return -EINVAL;
		}
	}
	r = group_find_device(g, name, &d);
	if (r < 0) {
		vfc_info("group %u: GET_DEVICE_FD: \"%.64s\": %s", g->id, name,
			 r == -ENODEV ? "no such device in the group" : strerror(-r));
		return r;
	}
	r = vfc_device_open_file(d, &df);
	if (r < 0)
		return r;
	if (!io->caller || !io->caller->ops || !io->caller->ops->install_device) {
		vfc_device_file_unref(df);
		return -ENOTTY;
	}
	fd = io->caller->ops->install_device(io->caller, df);
	if (fd < 0) {
		vfc_info("group %u: GET_DEVICE_FD: \"%s\": cannot give the caller an fd: %s",
			 g->id, d->name, strerror(-fd));
		vfc_device_file_unref(df);
		return fd;
	}
	/* ref moved to the transport */
	vfc_debug("group %u: device \"%s\" opened as fd %d", g->id, d->name, fd);
	if (vfc_trace_on())
		vfc_trace_note("device=\"%s\" fd=%d", d->name, fd);
	return fd;
}

static int group_ioctl_unknown(struct vfc_group *g, struct vfc_ioctl *io)
{
	vfc_info("group %u: unknown ioctl 0x%x", g->id, io->cmd);
	return -ENOTTY;
}

/*
 * A group's ioctls (vfc-file.h). SET_CONTAINER resolves the caller's fd,
 * which may issue a nested request (CUSE: an identify ioctl on it).
 * GET_DEVICE_FD reads the name up to the end of its page, then into the
 * next one. It uses the caller only to give it the new file.
 */
#define ROW(c, n, f, r, h) { .cmd = c, .name = n, .flags = f, .max_retries = r, .fn.group = h }
const struct vfc_ioctl_desc vfc_group_ioctls[] = {
	ROW(VFIO_GROUP_GET_STATUS, "GROUP_GET_STATUS", 0, 1, group_ioctl_get_status),
	ROW(VFIO_GROUP_SET_CONTAINER, "GROUP_SET_CONTAINER", VFC_IOCTL_CALLER | VFC_IOCTL_NESTS, 1,
	    group_ioctl_set_container),
	ROW(VFIO_GROUP_UNSET_CONTAINER, "GROUP_UNSET_CONTAINER", 0, 0,
	    group_ioctl_unset_container),
	ROW(VFIO_GROUP_GET_DEVICE_FD, "GROUP_GET_DEVICE_FD", VFC_IOCTL_CALLER, 2,
	    group_ioctl_get_device_fd),
	ROW(0, "unknown", 0, 0, group_ioctl_unknown),
};
const size_t vfc_group_n_ioctls = VFC_ARRAY_SIZE(vfc_group_ioctls);
#undef ROW
