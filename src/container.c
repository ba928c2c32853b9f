/* SPDX-License-Identifier: MIT */
/*
 * Containers: one per open of /dev/vfio/vfio. A container owns at most one
 * IOMMU (driver + data), set by SET_IOMMU once a group is attached and
 * dropped when its last group leaves. References: the open file, and each
 * attached group.
 *
 * Must support container/group/device being closed in any order.
 */
#include <string.h>

#include "vfc-log.h"
#include "vfc-private.h"

int vfc_container_open(struct vfc_core *core, struct vfc_container **ret)
{
	struct vfc_container *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->core = core;
	c->refs = 1;
	pthread_rwlock_init(&c->iommu_lock, NULL);
	pthread_mutex_lock(&core->lock);
	c->id = core->next_container_id++;
	c->next = core->containers;
	if (c->next)
		c->next->prev = c;
	core->containers = c;
	pthread_mutex_unlock(&core->lock);
	vfc_debug("container %lu: opened", c->id);
	*ret = c;
	return 0;
}

struct vfc_container *vfc_container_ref(struct vfc_container *c)
{
	if (!c)
		return NULL;
	pthread_mutex_lock(&c->core->lock);
	c->refs++;
	pthread_mutex_unlock(&c->core->lock);
	return c;
}

void vfc_container_put_locked(struct vfc_container *c)
{
	struct vfc_core *core = c->core;

	if (--c->refs)
		return;
	/* Groups hold references, so none can be attached and no IOMMU is set. */
	if (c->groups || c->driver)
		vfc_err("container %lu: freed with groups attached", c->id);
	if (c->prev)
		c->prev->next = c->next;
	else
		core->containers = c->next;
	if (c->next)
		c->next->prev = c->prev;
	vfc_debug("container %lu: freed", c->id);
	pthread_rwlock_destroy(&c->iommu_lock);
	free(c);
}

struct vfc_container *vfc_container_unref(struct vfc_container *c)
{
	struct vfc_core *core;

	if (!c)
		return NULL;
	core = c->core;
	pthread_mutex_lock(&core->lock);
	vfc_container_put_locked(c);
	pthread_mutex_unlock(&core->lock);
	return NULL;
}

unsigned long vfc_container_id(const struct vfc_container *c)
{
	return c->id;
}

struct vfc_container *vfc_core_find_container(struct vfc_core *core, unsigned long id)
{
	struct vfc_container *c;

	pthread_mutex_lock(&core->lock);
	for (c = core->containers; c; c = c->next)
		if (c->id == id) {
			c->refs++;
			break;
		}
	pthread_mutex_unlock(&core->lock);
	return c;
}

/* Whether driver @d may serve every group attached to @c. */
static bool driver_allowed(const struct vfc_container *c, const struct vfc_iommu_driver *d)
{
	for (const struct vfc_group *g = c->groups; g; g = g->container_next)
		if (g->iommu_ops && g->iommu_ops != d->ops)
			return false;
	return true;
}

/* Called with core->lock held; takes iommu_lock for writing. */
int vfc_container_attach_group_locked(struct vfc_container *c, struct vfc_group *g)
{
	int r = 0;

	/* The kernel's iommu_group_claim_dma_owner() refuses a group in use
	 * by another driver. */
	if (!g->viable) {
		vfc_info("group %u: SET_CONTAINER: group is not viable", g->id);
		return -EPERM;
	}
	pthread_rwlock_wrlock(&c->iommu_lock);
	/* Groups bound to different IOMMU drivers cannot share a container,
	 * as the kernel's real and no-IOMMU groups cannot. */
	for (const struct vfc_group *o = c->groups; o; o = o->container_next)
		if (o->iommu_ops != g->iommu_ops) {
			pthread_rwlock_unlock(&c->iommu_lock);
			vfc_info("group %u: SET_CONTAINER: container %lu holds group %u of another "
				 "backend", g->id, c->id, o->id);
			return -EPERM;
		}
	if (c->driver && g->iommu_ops && g->iommu_ops != c->driver->ops) {
		pthread_rwlock_unlock(&c->iommu_lock);
		vfc_info("group %u: SET_CONTAINER: container %lu's IOMMU is %s", g->id, c->id,
			 c->driver->ops->name);
		return -EINVAL;
	}
	if (c->driver) {
		r = c->driver->ops->attach_group(c->iommu_data, g);
		if (r < 0) {
			pthread_rwlock_unlock(&c->iommu_lock);
			vfc_info("group %u: container %lu: %s refused the group: %s", g->id,
				 c->id, c->driver->ops->name, strerror(-r));
			return r;
		}
	}
	g->container = c;
	g->container_users = 1;
	g->container_next = c->groups;
	c->groups = g;
	c->refs++;	/* ref held by the group */
	pthread_rwlock_unlock(&c->iommu_lock);
	vfc_debug("group %u: attached to container %lu", g->id, c->id);
	return 0;
}

/* Called with core->lock held. */
void vfc_group_detach_container_locked(struct vfc_group *g)
{
	struct vfc_container *c = g->container;
	struct vfc_group **pp;

	pthread_rwlock_wrlock(&c->iommu_lock);
	if (c->driver)
		c->driver->ops->detach_group(c->iommu_data, g);
	for (pp = &c->groups; *pp; pp = &(*pp)->container_next)
		if (*pp == g) {
			*pp = g->container_next;
			break;
		}
	g->container = NULL;
	g->container_next = NULL;
	g->container_users = 0;
	/* Detaching the last group deprivileges the container. */
	if (c->driver && !c->groups) {
		vfc_debug("container %lu: last group left, %s released", c->id,
			  c->driver->ops->name);
		c->driver->ops->release(c->iommu_data);
		c->driver = NULL;
		c->iommu_data = NULL;
		c->iommu_type = 0;
	}
	pthread_rwlock_unlock(&c->iommu_lock);
	vfc_debug("group %u: detached from container %lu", g->id, c->id);
	vfc_container_put_locked(c);	/* the group's ref */
}

int vfc_container_client_fd(struct vfc_container *c)
{
	int r = -ENODEV;

	pthread_rwlock_rdlock(&c->iommu_lock);
	if (c->driver)
		r = c->driver->ops->client_fd ? c->driver->ops->client_fd(c->iommu_data)
					      : -EOPNOTSUPP;
	pthread_rwlock_unlock(&c->iommu_lock);
	return r;
}

static int container_ioctl_get_api_version(struct vfc_container *c, struct vfc_ioctl *io)
{
	return VFIO_API_VERSION;
}

static int container_ioctl_check_extension(struct vfc_container *c, struct vfc_ioctl *io)
{
	unsigned long ext = (unsigned long)io->arg;
	struct vfc_core *core = c->core;
	int r = 0;

	pthread_mutex_lock(&core->lock);
	pthread_rwlock_rdlock(&c->iommu_lock);
	if (c->driver) {
		r = c->driver->ops->check_extension(c->driver->driver_data, c->iommu_data, ext);
	} else {
		for (unsigned int i = 0; i < core->n_drivers; i++) {
			const struct vfc_iommu_driver *d = &core->drivers[i];

			if (!driver_allowed(c, d))
				continue;
			r = d->ops->check_extension(d->driver_data, NULL, ext);
			if (r > 0)
				break;
		}
	}
	pthread_rwlock_unlock(&c->iommu_lock);
	pthread_mutex_unlock(&core->lock);
	return r;
}

/* Attach every group of @c to a freshly opened IOMMU; undo on failure. */
static int container_attach_all(struct vfc_container *c, const struct vfc_iommu_driver *d,
				void *data)
{
	struct vfc_group *g;
	int r = -ENODEV;

	for (g = c->groups; g; g = g->container_next) {
		r = d->ops->attach_group(data, g);
		if (r < 0)
			goto undo_attach;
	}
	return r;

undo_attach:
	for (struct vfc_group *u = c->groups; u != g; u = u->container_next)
		d->ops->detach_group(data, u);
	return r;
}

static int container_ioctl_set_iommu(struct vfc_container *c, struct vfc_ioctl *io)
{
	unsigned long type = (unsigned long)io->arg;
	struct vfc_core *core = c->core;
	int r = -ENODEV;

	pthread_mutex_lock(&core->lock);
	pthread_rwlock_wrlock(&c->iommu_lock);
	/* Only adding a group privileges a container; no second IOMMU. */
	if (!c->groups || c->driver) {
		vfc_info("container %lu: SET_IOMMU(%lu): %s", c->id, type,
			 c->driver ? "IOMMU already set" : "no group attached");
		r = -EINVAL;
		goto unlock;
	}
	for (unsigned int i = 0; i < core->n_drivers; i++) {
		const struct vfc_iommu_driver *d = &core->drivers[i];
		void *data;

		if (!driver_allowed(c, d) ||
		    d->ops->check_extension(d->driver_data, NULL, type) <= 0)
			continue;
		r = d->ops->open(d->driver_data, type, &data);
		if (r < 0)
			continue;
		r = container_attach_all(c, d, data);
		if (r < 0) {
			d->ops->release(data);
			continue;
		}
		c->driver = d;
		c->iommu_data = data;
		c->iommu_type = type;
		vfc_debug("container %lu: IOMMU type %lu set (%s)", c->id, type, d->ops->name);
		break;
	}
	if (r < 0)
		vfc_info("container %lu: SET_IOMMU(%lu): %s", c->id, type, strerror(-r));
unlock:
	pthread_rwlock_unlock(&c->iommu_lock);
	pthread_mutex_unlock(&core->lock);
	return r;
}

static int container_ioctl_passthrough(struct vfc_container *c, struct vfc_ioctl *io)
{
	int r;

	pthread_rwlock_rdlock(&c->iommu_lock);
	if (c->driver) {
		r = c->driver->ops->ioctl(c->iommu_data, io);
	} else {
		/* The kernel answers EINVAL, not ENOTTY, without an IOMMU. */
		vfc_info("container %lu: ioctl 0x%x (%s) without an IOMMU set", c->id, io->cmd,
			 io->desc->name);
		r = -EINVAL;
	}
	pthread_rwlock_unlock(&c->iommu_lock);
	return r;
}

/*
 * A container's ioctls (vfc-file.h). The IOMMU's go to its driver; the
 * retries are those of the type1 ABI (GET_INFO: the struct, then its cap
 * chain; UNMAP and DIRTY_PAGES: the struct, then the bitmap's). The last
 * row serves every other number, which the driver refuses, or EINVAL
 * without an IOMMU, as the kernel does.
 */
#define ROW(c, n, f, r, h) { .cmd = c, .name = n, .flags = f, .max_retries = r, .fn.container = h }
const struct vfc_ioctl_desc vfc_container_ioctls[] = {
	ROW(VFIO_GET_API_VERSION, "GET_API_VERSION", 0, 0, container_ioctl_get_api_version),
	ROW(VFIO_CHECK_EXTENSION, "CHECK_EXTENSION", 0, 0, container_ioctl_check_extension),
	ROW(VFIO_SET_IOMMU, "SET_IOMMU", 0, 0, container_ioctl_set_iommu),
	ROW(VFIO_IOMMU_GET_INFO, "IOMMU_GET_INFO", VFC_IOCTL_CALLER, 2, container_ioctl_passthrough),
	ROW(VFIO_IOMMU_MAP_DMA, "IOMMU_MAP_DMA", VFC_IOCTL_CALLER, 1, container_ioctl_passthrough),
	ROW(VFIO_IOMMU_UNMAP_DMA, "IOMMU_UNMAP_DMA", VFC_IOCTL_CALLER, 2,
	    container_ioctl_passthrough),
	ROW(VFIO_IOMMU_ENABLE, "IOMMU_ENABLE", VFC_IOCTL_CALLER, 0, container_ioctl_passthrough),
	ROW(VFIO_IOMMU_DISABLE, "IOMMU_DISABLE", VFC_IOCTL_CALLER, 0, container_ioctl_passthrough),
	ROW(VFIO_IOMMU_DIRTY_PAGES, "IOMMU_DIRTY_PAGES", VFC_IOCTL_CALLER, 2,
	    container_ioctl_passthrough),
	ROW(0, "unknown", VFC_IOCTL_CALLER, 0, container_ioctl_passthrough),
};
const size_t vfc_container_n_ioctls = VFC_ARRAY_SIZE(vfc_container_ioctls);
#undef ROW
