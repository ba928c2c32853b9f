/* SPDX-License-Identifier: MIT */
/*
 * vfio-cuse-demo: drives the VFIO core in-process, the way the usage
 * example of the kernel's Documentation/driver-api/vfio.rst drives
 * /dev/vfio, and prints each step. The main job until the daemon exists.
 */
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "fake.h"
#include "vfc-core.h"
#include "vfc-local.h"
#include "vfc-log.h"

#define GROUP 26
#define DEVICE "0000:06:0d.0"

static int failures;

static long step(const char *what, long r)
{
	if (r < 0) {
		printf("  %-44s FAILED: %s\n", what, strerror((int)-r));
		failures++;
	} else {
		printf("  %-44s ok (%ld)\n", what, r);
	}
	return r;
}

int main(void)
{
	static struct vfc_fake_iommu iommu;
	static struct vfc_fake_device fdev;
	struct vfc_core *core;
	struct vfc_group *group;
	struct vfc_local *l;
	int container, grp, dev, efd;

	vfc_log_set_max_level(LOG_WARNING);
	if (vfc_core_new(&core) < 0)
		return 1;
	vfc_fake_device_init(&fdev, 0x1234, 0x11e8);
	vfc_core_add_iommu_driver(core, &vfc_fake_iommu_ops, &iommu);
	vfc_core_add_group(core, GROUP, NULL, &group);
	vfc_group_add_device(group, DEVICE, &vfc_fake_device_ops, &fdev, NULL);
	vfc_local_new(core, &l);

	printf("vfio-cuse demo: the VFIO core in-process, group %d, device %s\n", GROUP, DEVICE);
	container = (int)step("open container", vfc_local_open_container(l));
	step("GET_API_VERSION", vfc_local_ioctl(l, container, VFIO_GET_API_VERSION, 0));
	step("CHECK_EXTENSION(TYPE1v2)",
	     vfc_local_ioctl(l, container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU));
	grp = (int)step("open group", vfc_local_open_group(l, GROUP));

	struct vfio_group_status status = { .argsz = sizeof(status) };
	step("GROUP_GET_STATUS", vfc_local_ioctl(l, grp, VFIO_GROUP_GET_STATUS,
						  (unsigned long)&status));
	printf("    viable=%d container_set=%d\n", !!(status.flags & VFIO_GROUP_FLAGS_VIABLE),
	       !!(status.flags & VFIO_GROUP_FLAGS_CONTAINER_SET));
	step("GROUP_SET_CONTAINER", vfc_local_ioctl(l, grp, VFIO_GROUP_SET_CONTAINER,
						     (unsigned long)&container));
	step("SET_IOMMU(TYPE1v2)", vfc_local_ioctl(l, container, VFIO_SET_IOMMU,
						    VFIO_TYPE1v2_IOMMU));

	struct vfio_iommu_type1_info iinfo = { .argsz = sizeof(iinfo) };
	step("IOMMU_GET_INFO", vfc_local_ioctl(l, container, VFIO_IOMMU_GET_INFO,
						(unsigned long)&iinfo));
	printf("    pgsizes=0x%llx flags=0x%x argsz needed for caps=%u\n",
	       (unsigned long long)iinfo.iova_pgsizes, iinfo.flags, iinfo.argsz);

	dev = (int)step("GROUP_GET_DEVICE_FD", vfc_local_ioctl(l, grp, VFIO_GROUP_GET_DEVICE_FD,
							       (unsigned long)DEVICE));
	struct vfio_device_info dinfo = { .argsz = sizeof(dinfo) };
	step("DEVICE_GET_INFO", vfc_local_ioctl(l, dev, VFIO_DEVICE_GET_INFO, (unsigned long)&dinfo));
	printf("    flags=0x%x regions=%u irqs=%u\n", dinfo.flags, dinfo.num_regions, dinfo.num_irqs);
	for (unsigned int i = 0; i < dinfo.num_regions; i++) {
		struct vfio_region_info r = { .argsz = sizeof(r), .index = i };

		if (vfc_local_ioctl(l, dev, VFIO_DEVICE_GET_REGION_INFO, (unsigned long)&r) == 0)
			printf("    region %u: size 0x%llx offset 0x%llx flags 0x%x\n", i,
			       (unsigned long long)r.size, (unsigned long long)r.offset, r.flags);
		else
			printf("    region %u: none\n", i);
	}
	uint16_t ids[2] = { 0 };
	step("read config vendor/device", vfc_local_pread(l, dev, ids, sizeof(ids),
							  VFIO_PCI_CONFIG_REGION_INDEX * (1ull << 40)));
	printf("    %04x:%04x\n", ids[0], ids[1]);

	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	struct { struct vfio_irq_set hdr; int32_t fd; } irq = {
		{ sizeof(irq), VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
		  VFIO_PCI_MSI_IRQ_INDEX, 0, 1 }, efd
	};
	step("SET_IRQS(MSI, eventfd)", vfc_local_ioctl(l, dev, VFIO_DEVICE_SET_IRQS,
							(unsigned long)&irq));
	struct vfio_irq_set loop = { sizeof(loop), VFIO_IRQ_SET_DATA_NONE |
				     VFIO_IRQ_SET_ACTION_TRIGGER, VFIO_PCI_MSI_IRQ_INDEX, 0, 1 };
	step("SET_IRQS(MSI, loopback trigger)", vfc_local_ioctl(l, dev, VFIO_DEVICE_SET_IRQS,
								 (unsigned long)&loop));
	uint64_t n = 0;
	step("eventfd signalled", read(efd, &n, sizeof(n)) == sizeof(n) && n == 1 ? 1 : -EIO);
	step("DEVICE_RESET", vfc_local_ioctl(l, dev, VFIO_DEVICE_RESET, 0));

	step("close container fd (device keeps it)", vfc_local_close(l, container));
	step("close group fd (device keeps it)", vfc_local_close(l, grp));
	step("device still answers", vfc_local_ioctl(l, dev, VFIO_DEVICE_GET_INFO,
						      (unsigned long)&dinfo));
	step("close device fd", vfc_local_close(l, dev));
	step("group can be opened again", vfc_local_close(l, vfc_local_open_group(l, GROUP)));
	close(efd);
	vfc_local_free(l);
	vfc_core_free(core);
	printf("%s\n", failures ? "demo: FAILED" : "demo: all steps ok");
	return failures ? 1 : 0;
}
