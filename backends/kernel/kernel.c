/* SPDX-License-Identifier: MIT */
/*
 * The kernel backend's object: discovery of devices (sysfs for the group
 * and driver, libpci for ids and names), a probe of each device through a
 * kernel container for its VFIO info, and a uevent monitor (libudev) that
 * keeps each group's viability what the kernel says.
 */
#include <fcntl.h>
#include <libudev.h>
#include <limits.h>
#include <pci/pci.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kernel-priv.h"
#include "vfc-log.h"
#include "vfc-macro.h"

int vfc_kernel_new(struct vfc_core *core, struct vfc_priv *priv, struct vfc_kernel **ret)
{
	struct vfc_kernel *k = calloc(1, sizeof(*k));
	int r;

	if (!k)
		return -ENOMEM;
	k->core = core;
	k->priv = priv;
	k->monitor_stop = -1;
	pthread_mutex_init(&k->lock, NULL);
	k->not_eventfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (k->not_eventfd < 0) {
		r = -errno;
		free(k);
		return r;
	}
	r = vfc_core_add_iommu_driver(core, &vfc_kernel_iommu_ops, k);
	if (r < 0) {
		close(k->not_eventfd);
		free(k);
		return r;
	}
	*ret = k;
	return 0;
}

struct vfc_kernel *vfc_kernel_free(struct vfc_kernel *k)
{
	if (!k)
		return NULL;
	if (k->monitor_running) {
		uint64_t one = 1;

		if (write(k->monitor_stop, &one, sizeof(one)) == sizeof(one))
			pthread_join(k->monitor, NULL);
	}
	if (k->monitor_stop >= 0)
		close(k->monitor_stop);
	udev_monitor_unref(k->mon);
	udev_unref(k->udev);
	for (struct vfc_kgroup *g = k->groups, *gn; g; g = gn) {
		gn = g->next;
		for (struct vfc_kdevice *d = g->devices, *dn; d; d = dn) {
			dn = d->next;
			if (d->fd >= 0)
				close(d->fd);
			pthread_mutex_destroy(&d->lock);
			free(d);
		}
		if (g->fd >= 0)
			close(g->fd);
		free(g);
	}
	close(k->not_eventfd);
	pthread_mutex_destroy(&k->lock);
	free(k);
	return NULL;
}

static int sysfs_link_basename(const char *name, const char *link, char *out, size_t len)
{
	char path[PATH_MAX], target[PATH_MAX];
	const char *base;
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s", name);
	if (access(path, F_OK) < 0)
		return -ENODEV;
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/%s", name, link);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return -ENOENT;
	target[n] = '\0';
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	if (strlen(base) >= len)
		return -ENAMETOOLONG;
	memcpy(out, base, strlen(base) + 1);
	return 0;
}

int vfc_kernel_group_of(const char *name)
{
	char base[64];
	unsigned int g;
	int r;

	r = sysfs_link_basename(name, "iommu_group", base, sizeof(base));
	if (r < 0)
		return r;
	if (sscanf(base, "%u", &g) != 1)
		return -ENOENT;
	return (int)g;
}

/* ids and names from libpci, for the log line that says what we serve. */
static void log_pci_identity(const char *name)
{
	unsigned int dom, bus, dev, fn;
	struct pci_access *pacc;
	struct pci_dev *p;
	char buf[256];

	if (sscanf(name, "%x:%x:%x.%x", &dom, &bus, &dev, &fn) != 4)
		return;
	pacc = pci_alloc();
	if (!pacc)
		return;
	pci_init(pacc);
	p = pci_get_dev(pacc, (int)dom, (int)bus, (int)dev, (int)fn);
	if (p) {
		pci_fill_info(p, PCI_FILL_IDENT | PCI_FILL_CLASS);
		vfc_info("device \"%s\": %04x:%04x class %04x: %s", name, p->vendor_id,
			 p->device_id, p->device_class,
			 pci_lookup_name(pacc, buf, sizeof(buf), PCI_LOOKUP_VENDOR | PCI_LOOKUP_DEVICE,
					 p->vendor_id, p->device_id));
		pci_free_dev(p);
	}
	pci_cleanup(pacc);
}

static bool kernel_group_viable(int fd)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };

	return ioctl(fd, VFIO_GROUP_GET_STATUS, &st) == 0 && (st.flags & VFIO_GROUP_FLAGS_VIABLE);
}

void vfc_kernel_group_refresh(struct vfc_kgroup *kg)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };

	/* Its last device leaving vfio-pci deletes the kernel's group: our
	 * fd then answers ENODEV. Once a device is back on vfio-pci there is a
	 * new group under the same number: take it. */
	if (ioctl(kg->fd, VFIO_GROUP_GET_STATUS, &st) < 0 && errno == ENODEV) {
		int fd = kg->k->priv->ops->open_group(kg->k->priv, kg->id);

		if (fd >= 0) {
			close(kg->fd);
			kg->fd = fd;
			vfc_notice("group %u: the kernel's group was re-created: reopened", kg->id);
		}
		vfc_group_set_viable(kg->group, kernel_group_viable(kg->fd));
		return;
	}
	vfc_group_set_viable(kg->group, st.flags & VFIO_GROUP_FLAGS_VIABLE);
}

static int group_get(struct vfc_kernel *k, unsigned int id, struct vfc_kgroup **ret)
{
	struct vfc_kgroup *kg;
	int r;

	for (kg = k->groups; kg; kg = kg->next)
		if (kg->id == id) {
			*ret = kg;
			return 0;
		}
	kg = calloc(1, sizeof(*kg));
	if (!kg)
		return -ENOMEM;
	kg->k = k;
	kg->id = id;
	kg->fd = k->priv->ops->open_group(k->priv, id);
	if (kg->fd < 0) {
		r = kg->fd;
		vfc_err("group %u: cannot open the kernel's /dev/vfio/%u: %s", id, id, strerror(-r));
		free(kg);
		return r;
	}
	r = vfc_core_add_group(k->core, id, kg, &kg->group);
	if (r < 0) {
		vfc_err("group %u: already served by another backend", id);
		close(kg->fd);
		free(kg);
		return r;
	}
	vfc_group_set_iommu_ops(kg->group, &vfc_kernel_iommu_ops);
	vfc_kernel_group_refresh(kg);
	kg->next = k->groups;
	k->groups = kg;
	*ret = kg;
	return 0;
}

/*
 * The device's VFIO_DEVICE_GET_INFO, asked of the kernel once: put the group
 * in a container of its own for the moment, take the device fd, ask, undo.
 */
static int device_probe(struct vfc_kernel *k, struct vfc_kgroup *kg, struct vfc_kdevice *d)
{
	_cleanup_close_ int cfd = -1, dfd = -1;
	int r = 0;

	cfd = k->priv->ops->open_container(k->priv);
	if (cfd < 0)
		return cfd;
	if (ioctl(kg->fd, VFIO_GROUP_SET_CONTAINER, &cfd) < 0)
		return -errno;
	if (ioctl(cfd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0 &&
	    ioctl(cfd, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU) < 0) {
		r = -errno;
		goto undo_container;
	}
	dfd = k->priv->ops->get_device_fd(k->priv, kg->fd, d->name);
	if (dfd < 0) {
		r = dfd;
		goto undo_container;
	}
	d->info = (struct vfio_device_info){ .argsz = sizeof(d->info) };
	if (ioctl(dfd, VFIO_DEVICE_GET_INFO, &d->info) < 0)
		r = -errno;
	close(TAKE_FD(dfd));
undo_container:
	ioctl(kg->fd, VFIO_GROUP_UNSET_CONTAINER);
	return r;
}

int vfc_kernel_add_device(struct vfc_kernel *k, const char *name)
{
	struct vfc_kgroup *kg;
	struct vfc_kdevice *d;
	char driver[64] = "";
	int group, r;

	group = vfc_kernel_group_of(name);
	if (group == -ENODEV) {
		vfc_err("device \"%s\": no such PCI device", name);
		return -ENODEV;
	}
	if (group < 0) {
		vfc_err("device \"%s\": no IOMMU group (is the IOMMU on? intel_iommu=on)", name);
		return group;
	}
	if (sysfs_link_basename(name, "driver", driver, sizeof(driver)) < 0 ||
	    strcmp(driver, "vfio-pci")) {
		vfc_err("device \"%s\": bound to %s, not vfio-pci: echo vfio-pci > "
			"/sys/bus/pci/devices/%s/driver_override, then reprobe it", name,
			driver[0] ? driver : "no driver", name);
		return -EINVAL;
	}
	log_pci_identity(name);
	pthread_mutex_lock(&k->lock);
	r = group_get(k, (unsigned int)group, &kg);
	if (r < 0)
		goto unlock;
	if (!kernel_group_viable(kg->fd)) {
		vfc_err("group %d: not viable: bind every device of the group to vfio-pci", group);
		r = -EPERM;
		goto unlock;
	}
	d = calloc(1, sizeof(*d));
	if (!d) {
		r = -ENOMEM;
		goto unlock;
	}
	d->kg = kg;
	d->fd = -1;
	snprintf(d->name, sizeof(d->name), "%s", name);
	pthread_mutex_init(&d->lock, NULL);
	r = device_probe(k, kg, d);
	if (r < 0) {
		vfc_err("device \"%s\": probing it through the kernel's VFIO failed: %s", name,
			strerror(-r));
		goto free_device;
	}
	r = vfc_group_add_device(kg->group, name, &vfc_kernel_device_ops, d, NULL);
	if (r < 0)
		goto free_device;
	d->next = kg->devices;
	kg->devices = d;
	vfc_info("device \"%s\": kernel VFIO, group %d, %u regions, %u irqs%s", name, group,
		 d->info.num_regions, d->info.num_irqs,
		 d->info.flags & VFIO_DEVICE_FLAGS_RESET ? ", reset" : ", no reset method");
	pthread_mutex_unlock(&k->lock);
	return 0;

free_device:
	pthread_mutex_destroy(&d->lock);
	free(d);
unlock:
	pthread_mutex_unlock(&k->lock);
	return r;
}

static struct vfc_kgroup *group_of_device(struct vfc_kernel *k, const char *name)
{
	for (struct vfc_kgroup *g = k->groups; g; g = g->next)
		for (struct vfc_kdevice *d = g->devices; d; d = d->next)
			if (!strcmp(d->name, name))
				return g;
	return NULL;
}

static void *monitor_main(void *arg)
{
	struct vfc_kernel *k = arg;
	struct pollfd p[2] = {
		{ .fd = udev_monitor_get_fd(k->mon), .events = POLLIN },
		{ .fd = k->monitor_stop, .events = POLLIN },
	};

	for (;;) {
		struct udev_device *dev;
		const char *action, *sysname, *driver;
		struct vfc_kgroup *kg;
		int group;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		dev = udev_monitor_receive_device(k->mon);
		if (!dev)
			continue;
		action = udev_device_get_action(dev);
		sysname = udev_device_get_sysname(dev);
		driver = udev_device_get_driver(dev);
		group = sysname ? vfc_kernel_group_of(sysname) : -ENOENT;
		pthread_mutex_lock(&k->lock);
		kg = sysname ? group_of_device(k, sysname) : NULL;
		if (!kg && group >= 0)
			for (kg = k->groups; kg && kg->id != (unsigned int)group; kg = kg->next)
				;
		if (kg && action) {
			vfc_kernel_group_refresh(kg);
			if (!strcmp(action, "remove"))
				vfc_err("group %u: device \"%s\" was REMOVED from the system", kg->id,
					sysname);
			else if (!strcmp(action, "bind") && driver && strcmp(driver, "vfio-pci"))
				vfc_err("group %u: device \"%s\" is now bound to %s: the group is NOT "
					"viable until it is bound to vfio-pci again", kg->id, sysname,
					driver);
			else
				vfc_notice("group %u: device \"%s\": %s%s%s", kg->id, sysname, action,
					   driver ? " to " : "", driver ? driver : "");
		}
		pthread_mutex_unlock(&k->lock);
		udev_device_unref(dev);
	}
	return NULL;
}

int vfc_kernel_monitor_start(struct vfc_kernel *k)
{
	int r;

	k->udev = udev_new();
	if (!k->udev)
		return -ENOMEM;
	/* Kernel uevents, not udevd's: they need no udevd running. */
	k->mon = udev_monitor_new_from_netlink(k->udev, "kernel");
	if (!k->mon)
		return -EIO;
	r = udev_monitor_filter_add_match_subsystem_devtype(k->mon, "pci", NULL);
	if (r < 0)
		return r;
	r = udev_monitor_enable_receiving(k->mon);
	if (r < 0)
		return r;
	k->monitor_stop = eventfd(0, EFD_CLOEXEC);
	if (k->monitor_stop < 0)
		return -errno;
	r = -pthread_create(&k->monitor, NULL, monitor_main, k);
	if (r < 0)
		return r;
	k->monitor_running = true;
	return 0;
}
