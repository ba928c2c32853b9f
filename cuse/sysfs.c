/* SPDX-License-Identifier: MIT */
/*
 * The sysfs view of emulated devices, written under <rundir>/sysfs for
 * vfio-cuse-run to mount over /sys in a client's private namespace:
 *
 *   devices/<name>/{vendor,device,subsystem_vendor,subsystem_device,class,
 *                   revision,numa_node}   text, as sysfs prints them
 *   devices/<name>/iommu_group -> ../../iommu_groups/<id>
 *   devices/<name>/driver -> ../../drivers/vfio-pci
 *   iommu_groups/<id>/devices/<name> -> ../../../devices/<name>
 *   drivers/vfio-pci/
 *
 * Clients find a device's group with readlink(iommu_group) and %d.
 */
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "vfc-log.h"
#include "vfc-macro.h"

/* snprintf into a path buffer; a path that does not fit is an error. */
_printf_(3, 4) static int pathf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static int write_text(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX];
	FILE *f;

	if (pathf(path, sizeof(path), "%s/%s", dir, name) < 0)
		return -ENAMETOOLONG;
	f = fopen(path, "we");
	if (!f)
		return -errno;
	fputs(text, f);
	return fclose(f) == 0 ? 0 : -EIO;
}

static int write_hex(const char *dir, const char *name, unsigned int digits, unsigned int v)
{
	char text[32];

	snprintf(text, sizeof(text), "0x%0*x\n", (int)digits, v);
	return write_text(dir, name, text);
}

static int mkdir_p(const char *path, mode_t mode)
{
	char tmp[PATH_MAX];

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			if (mkdir(tmp, mode) < 0 && errno != EEXIST)
				return -errno;
			*p = '/';
		}
	if (mkdir(tmp, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

/* Remove our own tree; symlinks are removed, never followed. */
static int rm_rf(const char *path)
{
	if (nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

static int write_device(const char *root, struct vfc_group *g, struct vfc_device *dev)
{
	char dir[PATH_MAX], link[PATH_MAX], target[PATH_MAX];
	uint8_t cfg[64] = { 0 };
	int r;

	/* A real device (kernel backend) has its real sysfs entry. */
	r = pathf(dir, sizeof(dir), "/sys/bus/pci/devices/%s", vfc_device_name(dev));
	if (r == 0 && access(dir, F_OK) == 0)
		return 0;
	if (vfc_device_config_read(dev, 0, cfg, sizeof(cfg)) < (ssize_t)sizeof(cfg))
		return -EIO;
	r = pathf(dir, sizeof(dir), "%s/devices/%s", root, vfc_device_name(dev));
	r = r ?: mkdir_p(dir, 0755);
	r = r ?: write_hex(dir, "vendor", 4, cfg[0] | cfg[1] << 8);
	r = r ?: write_hex(dir, "device", 4, cfg[2] | cfg[3] << 8);
	r = r ?: write_hex(dir, "revision", 2, cfg[8]);
	r = r ?: write_hex(dir, "class", 6, cfg[9] | cfg[10] << 8 | cfg[11] << 16);
	r = r ?: write_hex(dir, "subsystem_vendor", 4, cfg[0x2c] | cfg[0x2d] << 8);
	r = r ?: write_hex(dir, "subsystem_device", 4, cfg[0x2e] | cfg[0x2f] << 8);
	r = r ?: write_text(dir, "numa_node", "-1\n");
	r = r ?: pathf(link, sizeof(link), "%s/iommu_group", dir);
	r = r ?: pathf(target, sizeof(target), "../../iommu_groups/%u", vfc_group_id(g));
	if (r < 0)
		return r;
	if (symlink(target, link) < 0)
		return -errno;
	r = pathf(link, sizeof(link), "%s/driver", dir);
	if (r < 0)
		return r;
	if (symlink("../../drivers/vfio-pci", link) < 0)
		return -errno;
	r = pathf(dir, sizeof(dir), "%s/iommu_groups/%u/devices", root, vfc_group_id(g));
	r = r ?: mkdir_p(dir, 0755);
	r = r ?: pathf(link, sizeof(link), "%s/%s", dir, vfc_device_name(dev));
	r = r ?: pathf(target, sizeof(target), "../../../devices/%s", vfc_device_name(dev));
	if (r < 0)
		return r;
	return symlink(target, link) < 0 ? -errno : 0;
}

int vfc_sysfs_view_write(struct vfc_daemon *d)
{
	char root[PATH_MAX], drv[PATH_MAX];
	int r;

	r = pathf(root, sizeof(root), "%s/sysfs", d->cfg->rundir);
	r = r ?: rm_rf(root);
	r = r ?: pathf(drv, sizeof(drv), "%s/drivers/vfio-pci", root);
	r = r ?: mkdir_p(drv, 0755);
	for (struct vfc_group *g = vfc_core_next_group(d->core, NULL); g && r >= 0;
	     g = vfc_core_next_group(d->core, g))
		for (struct vfc_device *dev = vfc_group_next_device(g, NULL); dev && r >= 0;
		     dev = vfc_group_next_device(g, dev))
			r = write_device(root, g, dev);
	if (r < 0)
		vfc_err("daemon: cannot write the sysfs view under %s: %s", root, strerror(-r));
	return r;
}

void vfc_sysfs_view_remove(struct vfc_daemon *d)
{
	char root[PATH_MAX];

	if (pathf(root, sizeof(root), "%s/sysfs", d->cfg->rundir) == 0)
		rm_rf(root);
}
