/* SPDX-License-Identifier: MIT */
/*
 * The decoding trace (vfc-trace.h): every ioctl number <linux/vfio.h>
 * defines gets its name on its kind of file (the list comes from the header
 * itself, at build time: VFIO_IOCTL_NAMES); the main ioctls get every field
 * checked, flags by name, output structs and capability chains after "=>";
 * unknown numbers are printed raw; errors, injected faults and the
 * handlers' fd resolutions show; every JSON line is one valid object (a
 * small RFC 8259 validator below); the sink writes whole lines to a file;
 * and a client's flow through the in-process transport leaves one line
 * per call, with its MAP_DMA, resolutions and region accesses.
 */
#include <stdio.h>

#include "test-util.h"
#include "emu-iommu.h"
#include "vfc-file.h"
#include "vfc-trace.h"

/* A minimal JSON validator (RFC 8259): returns the end of one value. */
static const char *json_ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

static const char *json_value(const char *p, int depth);

static const char *json_string(const char *p)
{
	if (*p++ != '"')
		return NULL;
	while (*p != '"') {
		if ((unsigned char)*p < 0x20)
			return NULL;	/* also the end of the string */
		if (*p == '\\') {
			p++;
			if (*p == 'u') {
				for (int i = 1; i <= 4; i++)
					if (!strchr("0123456789abcdefABCDEF", p[i]) || !p[i])
						return NULL;
				p += 5;
				continue;
			}
			if (!*p || !strchr("\"\\/bfnrt", *p))
				return NULL;
		}
		p++;
	}
	return p + 1;
}

static const char *json_number(const char *p)
{
	if (*p == '-')
		p++;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		while (*p >= '0' && *p <= '9')
			p++;
	else
		return NULL;
	if (*p == '.') {
		if (!(*++p >= '0' && *p <= '9'))
			return NULL;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	return p;
}

static const char *json_value(const char *p, int depth)
{
	p = json_ws(p);
	if (depth > 32)
		return NULL;
	if (*p == '{' || *p == '[') {
		char close = *p == '{' ? '}' : ']';
		bool obj = *p == '{';

		p = json_ws(p + 1);
		if (*p == close)
			return p + 1;
		for (;;) {
			if (obj) {
				p = json_string(json_ws(p));
				if (!p || *(p = json_ws(p)) != ':')
					return NULL;
				p++;
			}
			p = json_value(p, depth + 1);
			if (!p)
				return NULL;
			p = json_ws(p);
			if (*p == close)
				return p + 1;
			if (*p++ != ',')
				return NULL;
		}
	}
	if (*p == '"')
		return json_string(p);
	if (!strncmp(p, "true", 4))
		return p + 4;
	if (!strncmp(p, "false", 5))
		return p + 5;
	if (!strncmp(p, "null", 4))
		return p + 4;
	return json_number(p);
}

/* One line: one object, then the newline, nothing else. */
static bool json_line_valid(const char *line)
{
	const char *end;

	if (*line != '{')
		return false;
	end = json_value(line, 0);
	return end && end[0] == '\n' && end[1] == '\0';
}

static void test_json_validator(void **state)
{
	assert_true(json_line_valid("{\"a\":[1,-2,3.5,{\"b\":\"x\\\"\\u00ff\"}],\"c\":true}\n"));
	assert_false(json_line_valid("{\"a\":0x10}\n"));
	assert_false(json_line_valid("{\"a\":\"\n\"}\n"));
	assert_false(json_line_valid("{\"a\":1,}\n"));
	assert_false(json_line_valid("{\"a\":1}"));
	assert_false(json_line_valid("{\"a\":01}\n"));
}

static char *fmt(enum vfc_trace_format format, unsigned int kind, unsigned int cmd, uint64_t arg,
		 const void *in, size_t in_len, const void *out, size_t out_len, int result)
{
	struct vfc_trace_ioctl c = {
		.kind = kind, .file_id = 7, .pid = 4242, .cmd = cmd, .arg = arg, .in = in,
		.in_len = in_len, .out = out, .out_len = out_len, .result = result,
		.duration_ns = 1500,
	};
	char *line = vfc_trace_format_ioctl(&c, format);

	assert_non_null(line);
	if (format == VFC_TRACE_JSON && !json_line_valid(line))
		fail_msg("invalid JSON line: %s", line);
	if (getenv("VFC_TEST_VERBOSE"))
		fputs(line, stderr);
	return line;
}

#define TEXT(...) fmt(VFC_TRACE_TEXT, __VA_ARGS__)
#define JSON(...) fmt(VFC_TRACE_JSON, __VA_ARGS__)

static void expect(char *line, const char *what)
{
	if (!strstr(line, what))
		fail_msg("\"%s\" not in: %s", what, line);
}

/* Every ioctl <linux/vfio.h> defines, from the header at build time. */
struct named {
	const char *name;
	unsigned int cmd;
};

#define X(n) { #n, n },
static const struct named vfio_ioctls[] = { VFIO_IOCTL_NAMES };
#undef X

static unsigned int kind_of(const char *name)
{
	if (!strncmp(name, "VFIO_GROUP_", 11))
		return VFC_FILE_GROUP;
	if (!strncmp(name, "VFIO_DEVICE_", 12) || !strncmp(name, "VFIO_MIG_", 9))
		return VFC_FILE_DEVICE;
	return VFC_FILE_CONTAINER;
}

/* SPAPR's names for numbers type1 also uses on a container. */
static const char *alias_of(const char *name)
{
	if (!strcmp(name, "VFIO_IOMMU_SPAPR_TCE_GET_INFO"))
		return "VFIO_IOMMU_GET_INFO";
	if (!strcmp(name, "VFIO_IOMMU_SPAPR_REGISTER_MEMORY"))
		return "VFIO_IOMMU_DIRTY_PAGES";
	return name;
}

static void test_every_ioctl_named(void **state)
{
	uint8_t zeros[256] = { 0 };

	assert_true(VFC_ARRAY_SIZE(vfio_ioctls) >= 30);	/* Debian 12's header has 30 */
	for (size_t i = 0; i < VFC_ARRAY_SIZE(vfio_ioctls); i++) {
		const struct named *n = &vfio_ioctls[i];
		const char *want = alias_of(n->name);
		unsigned int kind = kind_of(n->name);
		const char *got = vfc_trace_ioctl_name(kind, n->cmd);
		_cleanup_free_ char *t = NULL, *j = NULL, *j0 = NULL;
		char call[96];

		if (!got)
			fail_msg("%s (0x%x) has no name on a %u file", n->name, n->cmd, kind);
		assert_string_equal(got, want);
		if (want != n->name)	/* an alias: the same number, so only one name */
			assert_int_equal(vfc_trace_ioctl_name(kind, n->cmd), n->cmd ? got : NULL);
		/* decoded with a zeroed struct, and with nothing read at all */
		t = TEXT(kind, n->cmd, 0, zeros, sizeof(zeros), zeros, sizeof(zeros), 0);
		snprintf(call, sizeof(call), "%s(", want);
		expect(t, call);
		j = JSON(kind, n->cmd, 0, zeros, sizeof(zeros), zeros, sizeof(zeros), 0);
		snprintf(call, sizeof(call), "\"name\":\"%s\"", want);
		expect(j, call);
		j0 = JSON(kind, n->cmd, 0, NULL, 0, NULL, 0, -EINVAL);
	}
}

static void test_numbers_by_kind(void **state)
{
	/* 112: type1 GET_INFO on a container, hot reset info on a device */
	assert_string_equal(vfc_trace_ioctl_name(VFC_FILE_CONTAINER, VFIO_BASE + 12 + (';' << 8)),
			    "VFIO_IOMMU_GET_INFO");
	assert_string_equal(vfc_trace_ioctl_name(VFC_FILE_DEVICE, VFIO_IOMMU_GET_INFO),
			    "VFIO_DEVICE_GET_PCI_HOT_RESET_INFO");
	assert_null(vfc_trace_ioctl_name(VFC_FILE_GROUP, VFIO_IOMMU_MAP_DMA));
	assert_null(vfc_trace_ioctl_name(VFC_FILE_CONTAINER, VFIO_GROUP_GET_STATUS));
}

static void test_container_ioctls(void **state)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map), .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = 0x7f0000001000, .iova = 0x100000, .size = 0x2000,
	};
	struct {
		struct vfio_iommu_type1_dma_unmap u;
		struct vfio_bitmap b;
	} unmap = {
		.u = { .argsz = sizeof(unmap), .flags = VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP,
		       .iova = 0x100000, .size = 0x2000 },
		.b = { .pgsize = 4096, .size = 8, .data = (__u64 *)0x5000 },
	};
	struct {
		struct vfio_iommu_type1_dirty_bitmap d;
		struct vfio_iommu_type1_dirty_bitmap_get g;
	} dirty = {
		.d = { .argsz = sizeof(dirty), .flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP },
		.g = { .iova = 0x100000, .size = 0x8000,
		       .bitmap = { .pgsize = 4096, .size = 8, .data = (__u64 *)0x6000 } },
	};
	_cleanup_free_ char *a = NULL, *b = NULL, *c = NULL, *d = NULL, *e = NULL, *f = NULL,
			      *g = NULL, *h = NULL, *k = NULL, *m = NULL;
	uint32_t op = VFIO_DMA_MAP_FLAG_VADDR;

	a = TEXT(VFC_FILE_CONTAINER, VFIO_IOMMU_MAP_DMA, 0x1000, &map, sizeof(map), NULL, 0, 0);
	expect(a, "[pid 4242] container 7: VFIO_IOMMU_MAP_DMA({argsz=32, "
		  "flags=VFIO_DMA_MAP_FLAG_READ|VFIO_DMA_MAP_FLAG_WRITE, vaddr=0x7f0000001000, "
		  "iova=0x100000, size=0x2000}) = 0 <1.500us>");
	b = JSON(VFC_FILE_CONTAINER, VFIO_IOMMU_MAP_DMA, 0x1000, &map, sizeof(map), NULL, 0, 0);
	expect(b, "\"event\":\"ioctl\",\"pid\":4242,\"file\":\"container\",\"file_id\":7,"
		  "\"name\":\"VFIO_IOMMU_MAP_DMA\",\"cmd\":\"0x3b71\",\"arg\":{\"argsz\":32,"
		  "\"flags\":\"VFIO_DMA_MAP_FLAG_READ|VFIO_DMA_MAP_FLAG_WRITE\","
		  "\"vaddr\":\"0x7f0000001000\",\"iova\":\"0x100000\",\"size\":\"0x2000\"},\"result\":0,"
		  "\"duration_ns\":1500}\n");
	/* only whole fields of what was read */
	c = TEXT(VFC_FILE_CONTAINER, VFIO_IOMMU_MAP_DMA, 0x1000, &map, 10, NULL, 0, -EINVAL);
	expect(c, "VFIO_IOMMU_MAP_DMA({argsz=32, flags=VFIO_DMA_MAP_FLAG_READ|"
		  "VFIO_DMA_MAP_FLAG_WRITE}) = -1 EINVAL (Invalid argument)");
	/* unknown flag bits stay visible */
	map.flags |= 0x100;
	d = TEXT(VFC_FILE_CONTAINER, VFIO_IOMMU_MAP_DMA, 0, &map, sizeof(map), NULL, 0, -EINVAL);
	expect(d, "flags=VFIO_DMA_MAP_FLAG_READ|VFIO_DMA_MAP_FLAG_WRITE|0x100,");
	e = TEXT(VFC_FILE_CONTAINER, VFIO_IOMMU_UNMAP_DMA, 0, &unmap, sizeof(unmap), &unmap,
		 sizeof(unmap.u), 0);
	expect(e, "VFIO_IOMMU_UNMAP_DMA({argsz=48, flags=VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP, "
		  "iova=0x100000, size=0x2000, bitmap={pgsize=0x1000, size=8, data=0x5000}} => "
		  "{argsz=48, flags=VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP, iova=0x100000, "
		  "size=0x2000})");
	f = TEXT(VFC_FILE_CONTAINER, VFIO_IOMMU_DIRTY_PAGES, 0, &dirty, sizeof(dirty), NULL, 0, 0);
	expect(f, "VFIO_IOMMU_DIRTY_PAGES({argsz=48, flags=VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP, "
		  "iova=0x100000, size=0x8000, bitmap={pgsize=0x1000, size=8, data=0x6000}})");
	g = TEXT(VFC_FILE_CONTAINER, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU, NULL, 0, NULL, 0, 1);
	expect(g, "VFIO_CHECK_EXTENSION(VFIO_TYPE1v2_IOMMU) = 1");
	h = TEXT(VFC_FILE_CONTAINER, VFIO_SET_IOMMU, 77, NULL, 0, NULL, 0, -EINVAL);
	expect(h, "VFIO_SET_IOMMU(77) = -1 EINVAL");
	k = TEXT(VFC_FILE_CONTAINER, VFIO_GET_API_VERSION, 0, NULL, 0, NULL, 0, 0);
	expect(k, "VFIO_GET_API_VERSION() = 0 <");
	m = TEXT(VFC_FILE_CONTAINER, VFIO_IOMMU_MAP_DMA, 0, &op, 0, NULL, 0, -EOVERFLOW);
	expect(m, "VFIO_IOMMU_MAP_DMA({}) = -1 EOVERFLOW");
}

static void test_iommu_info_caps(void **state)
{
	struct {
		struct vfio_iommu_type1_info info;
		struct vfio_iommu_type1_info_cap_iova_range range;
		struct vfio_iova_range r[2];
		struct vfio_iommu_type1_info_dma_avail avail;
	} out = { 0 };
	uint32_t argsz = sizeof(out);
	_cleanup_free_ char *t = NULL, *j = NULL, *bad = NULL;

	out.info = (struct vfio_iommu_type1_info){
		.argsz = sizeof(out), .flags = VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS,
		.iova_pgsizes = 0x1000, .cap_offset = offsetof(typeof(out), range),
	};
	out.range.header = (struct vfio_info_cap_header){
		.id = VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, .version = 1,
		.next = offsetof(typeof(out), avail),
	};
	out.range.nr_iovas = 2;
	out.r[0] = (struct vfio_iova_range){ 0, 0xfedfffff };
	out.r[1] = (struct vfio_iova_range){ 0xfef00000, 0xffffffffffffffff };
	out.avail.header = (struct vfio_info_cap_header){
		.id = VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, .version = 1 };
	out.avail.avail = 65535;
	t = TEXT(VFC_FILE_CONTAINER, VFIO_IOMMU_GET_INFO, 0, &argsz, 4, &out, sizeof(out), 0);
	expect(t, "VFIO_IOMMU_GET_INFO({argsz=88} => {argsz=88, "
		  "flags=VFIO_IOMMU_INFO_PGSIZES|VFIO_IOMMU_INFO_CAPS, iova_pgsizes=0x1000, "
		  "cap_offset=24, caps=[{id=VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, nr_iovas=2, "
		  "iova_ranges=[{start=0x0, end=0xfedfffff}, {start=0xfef00000, "
		  "end=0xffffffffffffffff}], version=1}, {id=VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, "
		  "avail=65535, version=1}]}) = 0");
	j = JSON(VFC_FILE_CONTAINER, VFIO_IOMMU_GET_INFO, 0, &argsz, 4, &out, sizeof(out), 0);
	/* as a string: a reader taking JSON numbers as doubles would round it */
	expect(j, "\"end\":\"0xffffffffffffffff\"");
	/* a hostile chain: a loop back to itself, a count past the bytes */
	out.avail.header.next = offsetof(typeof(out), range);
	out.range.nr_iovas = 1000000;
	bad = JSON(VFC_FILE_CONTAINER, VFIO_IOMMU_GET_INFO, 0, &argsz, 4, &out, sizeof(out), 0);
	expect(bad, "\"avail\":65535");
}

static void test_group_ioctls(void **state)
{
	struct vfio_group_status st = { .argsz = sizeof(st),
					.flags = VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET };
	const char name[] = "0000:06:0d.0\"\n\xff";
	int32_t fd = 5;
	_cleanup_free_ char *a = NULL, *b = NULL, *c = NULL, *d = NULL;

	a = TEXT(VFC_FILE_GROUP, VFIO_GROUP_GET_STATUS, 0, &st, 4, &st, sizeof(st), 0);
	expect(a, "[pid 4242] group 7: VFIO_GROUP_GET_STATUS({argsz=8} => {argsz=8, "
		  "flags=VFIO_GROUP_FLAGS_VIABLE|VFIO_GROUP_FLAGS_CONTAINER_SET}) = 0");
	b = TEXT(VFC_FILE_GROUP, VFIO_GROUP_SET_CONTAINER, 0x1000, &fd, 4, NULL, 0, -EBADF);
	expect(b, "VFIO_GROUP_SET_CONTAINER(5) = -1 EBADF (Bad file descriptor)");
	c = TEXT(VFC_FILE_GROUP, VFIO_GROUP_GET_DEVICE_FD, 0, name, sizeof(name), NULL, 0, 9);
	expect(c, "VFIO_GROUP_GET_DEVICE_FD(\"0000:06:0d.0\\\"\\x0a\\xff\") = 9");
	d = JSON(VFC_FILE_GROUP, VFIO_GROUP_GET_DEVICE_FD, 0, name, sizeof(name), NULL, 0, 9);
	expect(d, "\"arg\":\"0000:06:0d.0\\\"\\n\\u00ff\"");
}

static void test_device_ioctls(void **state)
{
	struct vfio_device_info info = { .argsz = sizeof(info), .flags = VFIO_DEVICE_FLAGS_PCI |
					 VFIO_DEVICE_FLAGS_RESET, .num_regions = 9, .num_irqs = 5 };
	struct {
		struct vfio_region_info ri;
		struct vfio_region_info_cap_sparse_mmap sp;
		struct vfio_region_sparse_mmap_area a[1];
	} region = {
		.ri = { .argsz = sizeof(region), .flags = VFIO_REGION_INFO_FLAG_READ |
			VFIO_REGION_INFO_FLAG_WRITE | VFIO_REGION_INFO_FLAG_MMAP |
			VFIO_REGION_INFO_FLAG_CAPS, .index = 0, .cap_offset = sizeof(region.ri),
			.size = 0x4000, .offset = 0 },
		.sp = { .header = { .id = VFIO_REGION_INFO_CAP_SPARSE_MMAP, .version = 1 },
			.nr_areas = 1 },
		.a = { { .offset = 0x1000, .size = 0x3000 } },
	};
	struct vfio_region_info cfg = { .argsz = sizeof(cfg), .index = VFIO_PCI_CONFIG_REGION_INDEX };
	struct vfio_irq_info irq = { .argsz = sizeof(irq), .flags = VFIO_IRQ_INFO_EVENTFD |
				     VFIO_IRQ_INFO_MASKABLE | VFIO_IRQ_INFO_AUTOMASKED,
				     .index = VFIO_PCI_INTX_IRQ_INDEX, .count = 1 };
	struct {
		struct vfio_irq_set s;
		int32_t fds[2];
	} set = { .s = { .argsz = sizeof(set), .flags = VFIO_IRQ_SET_DATA_EVENTFD |
			 VFIO_IRQ_SET_ACTION_TRIGGER, .index = VFIO_PCI_MSIX_IRQ_INDEX, .start = 0,
			 .count = 2 }, .fds = { 11, -1 } };
	struct {
		struct vfio_irq_set s;
		uint8_t b[3];
	} bools = { .s = { .argsz = sizeof(bools), .flags = VFIO_IRQ_SET_DATA_BOOL |
			   VFIO_IRQ_SET_ACTION_MASK, .index = VFIO_PCI_MSI_IRQ_INDEX, .start = 1,
			   .count = 3 }, .b = { 1, 0, 1 } };
	struct {
		struct vfio_pci_hot_reset_info i;
		struct vfio_pci_dependent_device d[1];
	} hri = { .i = { .argsz = sizeof(hri), .count = 1 },
		  .d = { { .group_id = 26, .segment = 0, .bus = 6, .devfn = (0xd << 3) | 1 } } };
	struct {
		struct vfio_pci_hot_reset h;
		int32_t fds[1];
	} hr = { .h = { .argsz = sizeof(hr), .count = 1 }, .fds = { 4 } };
	struct vfio_device_ioeventfd ioe = { .argsz = sizeof(ioe), .flags = VFIO_DEVICE_IOEVENTFD_32,
					     .offset = 0x1000, .data = 0xabcd, .fd = 12 };
	struct vfio_device_gfx_plane_info gfx = { .argsz = sizeof(gfx),
						  .flags = VFIO_GFX_PLANE_TYPE_PROBE |
							   VFIO_GFX_PLANE_TYPE_REGION };
	_cleanup_free_ char *a = NULL, *b = NULL, *c = NULL, *d = NULL, *e = NULL, *f = NULL,
			      *g = NULL, *h = NULL, *i = NULL, *k = NULL, *l = NULL, *m = NULL;
	uint32_t argsz = sizeof(info);

	a = TEXT(VFC_FILE_DEVICE, VFIO_DEVICE_GET_INFO, 0, &argsz, 4, &info, sizeof(info), 0);
	expect(a, "[pid 4242] device 7: VFIO_DEVICE_GET_INFO({argsz=20} => {argsz=20, "
		  "flags=VFIO_DEVICE_FLAGS_RESET|VFIO_DEVICE_FLAGS_PCI, num_regions=9, num_irqs=5, "
		  "cap_offset=0}) = 0");
	b = TEXT(VFC_FILE_DEVICE, VFIO_DEVICE_GET_REGION_INFO, 0, &region, 16, &region,
		 sizeof(region), 0);
	expect(b, "VFIO_DEVICE_GET_REGION_INFO({argsz=64, flags=VFIO_REGION_INFO_FLAG_READ|"
		  "VFIO_REGION_INFO_FLAG_WRITE|VFIO_REGION_INFO_FLAG_MMAP|VFIO_REGION_INFO_FLAG_CAPS, "
		  "index=BAR0, cap_offset=32} => {argsz=64");
	expect(b, "size=0x4000, offset=0x0, caps=[{id=VFIO_REGION_INFO_CAP_SPARSE_MMAP, "
		  "nr_areas=1, areas=[{offset=0x1000, size=0x3000}], version=1}]})");
	c = TEXT(VFC_FILE_DEVICE, VFIO_DEVICE_GET_REGION_INFO, 0, &cfg, 16, NULL, 0, 0);
	expect(c, "index=CONFIG");
	d = TEXT(VFC_FILE_DEVICE, VFIO_DEVICE_GET_IRQ_INFO, 0, &irq, 16, &irq, sizeof(irq), 0);
	expect(d, "VFIO_DEVICE_GET_IRQ_INFO({argsz=16, flags=VFIO_IRQ_INFO_EVENTFD|"
		  "VFIO_IRQ_INFO_MASKABLE|VFIO_IRQ_INFO_AUTOMASKED, index=INTX, count=1} => {");
	e = TEXT(VFC_FILE_DEVICE, VFIO_DEVICE_SET_IRQS, 0, &set, sizeof(set), NULL, 0, 0);
	expect(e, "VFIO_DEVICE_SET_IRQS({argsz=28, flags=VFIO_IRQ_SET_DATA_EVENTFD|"
		  "VFIO_IRQ_SET_ACTION_TRIGGER, index=MSIX, start=0, count=2, data=[11, -1]}) = 0");
	f = TEXT(VFC_FILE_DEVICE, VFIO_DEVICE_SET_IRQS, 0, &bools, sizeof(bools), NULL, 0, 0);
	expect(f, "flags=VFIO_IRQ_SET_DATA_BOOL|VFIO_IRQ_SET_ACTION_MASK, index=MSI, start=1, "
		  "count=3, data=[1, 0, 1]}");
	g = TEXT(VFC_FILE_DEVICE, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, 0, &hri, 4, &hri,
		 sizeof(hri), 0);
	expect(g, "VFIO_DEVICE_GET_PCI_HOT_RESET_INFO({argsz=20} => {argsz=20, flags=0x0, count=1, "
		  "devices=[{group_id=26, bdf=0000:06:0d.1}]}) = 0");
	h = TEXT(VFC_FILE_DEVICE, VFIO_DEVICE_PCI_HOT_RESET, 0, &hr, sizeof(hr), NULL, 0, 0);
	expect(h, "VFIO_DEVICE_PCI_HOT_RESET({argsz=16, flags=0x0, count=1, group_fds=[4]}) = 0");
	i = TEXT(VFC_FILE_DEVICE, VFIO_DEVICE_IOEVENTFD, 0, &ioe, sizeof(ioe), NULL, 0, 0);
	expect(i, "VFIO_DEVICE_IOEVENTFD({argsz=32, flags=VFIO_DEVICE_IOEVENTFD_32, "
		  "offset=0x1000, data=0xabcd, fd=12}) = 0");
	k = TEXT(VFC_FILE_DEVICE, VFIO_DEVICE_QUERY_GFX_PLANE, 0, &gfx, sizeof(gfx), NULL, 0,
		 -ENOTTY);
	expect(k, "VFIO_DEVICE_QUERY_GFX_PLANE({argsz=64, flags=VFIO_GFX_PLANE_TYPE_PROBE|"
		  "VFIO_GFX_PLANE_TYPE_REGION, drm_plane_type=0");
	expect(k, "= -1 ENOTTY");
	l = TEXT(VFC_FILE_DEVICE, VFIO_DEVICE_RESET, 0, NULL, 0, NULL, 0, 0);
	expect(l, "VFIO_DEVICE_RESET() = 0");
	m = JSON(VFC_FILE_DEVICE, VFIO_DEVICE_SET_IRQS, 0, &set, sizeof(set), NULL, 0, 0);
	expect(m, "\"index\":\"MSIX\",\"start\":0,\"count\":2,\"data\":[11,-1]");
}

static void test_device_feature(void **state)
{
	struct {
		struct vfio_device_feature f;
		struct vfio_device_feature_mig_state s;
	} mig = { .f = { .argsz = sizeof(mig), .flags = VFIO_DEVICE_FEATURE_SET |
			 VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE },
		  .s = { .device_state = VFIO_DEVICE_STATE_STOP_COPY, .data_fd = -1 } };
	struct {
		struct vfio_device_feature f;
		struct vfio_device_feature_migration m;
	} get = { .f = { .argsz = sizeof(get), .flags = VFIO_DEVICE_FEATURE_GET |
			 VFIO_DEVICE_FEATURE_MIGRATION },
		  .m = { .flags = VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P } };
	struct {
		struct vfio_device_feature f;
		struct vfio_device_feature_dma_logging_control c;
	} log = { .f = { .argsz = sizeof(log), .flags = VFIO_DEVICE_FEATURE_SET |
			 VFIO_DEVICE_FEATURE_DMA_LOGGING_START },
		  .c = { .page_size = 4096, .num_ranges = 2, .ranges = 0x7000 } };
	struct vfio_device_feature probe = {
		.argsz = sizeof(probe), .flags = VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_SET |
		VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY };
	_cleanup_free_ char *a = NULL, *b = NULL, *c = NULL, *d = NULL, *e = NULL;

	a = TEXT(VFC_FILE_DEVICE, VFIO_DEVICE_FEATURE, 0, &mig, sizeof(mig), &mig, sizeof(mig), 0);
	expect(a, "VFIO_DEVICE_FEATURE({argsz=16, flags=VFIO_DEVICE_FEATURE_SET, "
		  "feature=VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, data={"
		  "device_state=VFIO_DEVICE_STATE_STOP_COPY, data_fd=-1}}");
	/* GET: the data shown is what comes back */
	b = TEXT(VFC_FILE_DEVICE, VFIO_DEVICE_FEATURE, 0, &get, sizeof(get.f), &get, sizeof(get), 0);
	expect(b, "feature=VFIO_DEVICE_FEATURE_MIGRATION} => {argsz=16, "
		  "flags=VFIO_DEVICE_FEATURE_GET, feature=VFIO_DEVICE_FEATURE_MIGRATION, "
		  "data={flags=VFIO_MIGRATION_STOP_COPY|VFIO_MIGRATION_P2P}})");
	c = TEXT(VFC_FILE_DEVICE, VFIO_DEVICE_FEATURE, 0, &log, sizeof(log), NULL, 0, 0);
	expect(c, "feature=VFIO_DEVICE_FEATURE_DMA_LOGGING_START, data={page_size=0x1000, "
		  "num_ranges=2, ranges=0x7000}");
	d = TEXT(VFC_FILE_DEVICE, VFIO_DEVICE_FEATURE, 0, &probe, sizeof(probe), NULL, 0, 0);
	expect(d, "flags=VFIO_DEVICE_FEATURE_SET|VFIO_DEVICE_FEATURE_PROBE, "
		  "feature=VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY})");
	e = JSON(VFC_FILE_DEVICE, VFIO_DEVICE_FEATURE, 0, &mig, sizeof(mig), NULL, 0, 0);
	expect(e, "\"feature\":\"VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE\",\"data\":{"
		  "\"device_state\":\"VFIO_DEVICE_STATE_STOP_COPY\",\"data_fd\":-1}");
}

static void test_unknown_and_errors(void **state)
{
	uint8_t in[3] = { 1, 2, 0xff };
	struct vfc_trace_ioctl inj = { .kind = VFC_FILE_CONTAINER, .file_id = 1, .pid = 1,
				       .cmd = VFIO_IOMMU_MAP_DMA, .result = -ENOMEM,
				       .injected = true };
	_cleanup_free_ char *a = NULL, *b = NULL, *c = NULL, *d = NULL, *e = NULL;

	a = TEXT(VFC_FILE_DEVICE, 0x3b99, 0x7ffd1000, in, sizeof(in), NULL, 0, -ENOTTY);
	expect(a, "device 7: 0x3b99(arg=0x7ffd1000, in=0102ff) = -1 ENOTTY");
	b = JSON(VFC_FILE_GROUP, 0x5401, 0x10, NULL, 0, NULL, 0, -ENOTTY);
	expect(b, "\"name\":\"unknown\",\"cmd\":\"0x5401\",\"arg\":\"0x10\",\"result\":-25,"
		  "\"errno\":\"ENOTTY\"");
	c = vfc_trace_format_ioctl(&inj, VFC_TRACE_TEXT);
	expect(c, "= -1 ENOMEM (injected)");
	d = vfc_trace_format_ioctl(&inj, VFC_TRACE_JSON);
	assert_true(json_line_valid(d));
	expect(d, "\"errno\":\"ENOMEM\",\"injected\":true");
	/* an errno the table lacks: its number */
	e = JSON(VFC_FILE_DEVICE, VFIO_DEVICE_RESET, 0, NULL, 0, NULL, 0, -4000);
	expect(e, "\"errno\":4000");
	assert_string_equal(vfc_trace_errno_name(4000), "errno");
	assert_string_equal(vfc_trace_errno_name(EBADFD), "EBADFD");
	/* every errno glibc names, not a list of our own */
	assert_string_equal(vfc_trace_errno_name(ENOANO), "ENOANO");
	assert_string_equal(vfc_trace_errno_name(0), "errno");
}

static void test_events(void **state)
{
	_cleanup_free_ char *a = NULL, *b = NULL, *c = NULL;

	a = vfc_trace_format_event(VFC_TRACE_JSON, "dma", "model=%s iova=0x%x len=%d dir=%s "
				   "result=%d name=\"%s\" odd=007 flag", "edu", 0x1000, 4096,
				   "to-memory", -14, "a \\\"b\\\" \\\\ \n\x01");
	assert_true(json_line_valid(a));
	expect(a, "\"event\":\"dma\",\"model\":\"edu\",\"iova\":\"0x1000\",\"len\":4096,"
		  "\"dir\":\"to-memory\",\"result\":-14,\"name\":\"a \\\"b\\\" \\\\ \\n\\u0001\","
		  "\"odd\":\"007\",\"flag\":true}\n");
	b = vfc_trace_format_event(VFC_TRACE_TEXT, "irq", "index=%s vector=%u eventfd=%d", "MSI",
				   0, 9);
	expect(b, " irq: index=MSI vector=0 eventfd=9\n");
	c = vfc_trace_format_event(VFC_TRACE_JSON, "x", "k=\"unterminated");
	assert_true(json_line_valid(c));
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf = calloc(1, 1 << 20);
	size_t n;

	assert_non_null(f);
	assert_non_null(buf);
	n = fread(buf, 1, (1 << 20) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* Every line of @text is a valid JSON object; returns how many. */
static unsigned int json_lines(char *text)
{
	unsigned int n = 0;

	for (char *p = text, *nl; *p; p = nl + 1) {
		char save;

		nl = strchr(p, '\n');
		assert_non_null(nl);
		save = nl[1];
		nl[1] = '\0';
		if (!json_line_valid(p))
			fail_msg("invalid JSON line: %s", p);
		nl[1] = save;
		n++;
	}
	return n;
}

static unsigned int count(const char *text, const char *what)
{
	unsigned int n = 0;

	for (const char *p = text; (p = strstr(p, what)); p++)
		n++;
	return n;
}

static void test_sink_file(void **state)
{
	char path[] = "/tmp/vfc-test-trace-XXXXXX";
	int fd = mkstemp(path);
	_cleanup_free_ char *text = NULL;
	struct vfc_trace_ioctl c = { .kind = VFC_FILE_DEVICE, .cmd = VFIO_DEVICE_RESET };

	assert_true(fd >= 0);
	close(fd);
	assert_false(vfc_trace_on());
	vfc_trace_event("dma", "never=1");	/* off: nothing */
	assert_int_equal(vfc_trace_start("/nonexistent/dir/x", VFC_TRACE_TEXT), -ENOENT);
	assert_false(vfc_trace_on());
	assert_int_equal(vfc_trace_start(path, 7), -EINVAL);
	assert_int_equal(vfc_trace_start(path, VFC_TRACE_JSON), 0);
	assert_true(vfc_trace_on());
	vfc_trace_event("irq", "index=MSI vector=0 eventfd=12");
	vfc_trace_note("fd5=eventfd");
	vfc_trace_note("device=\"%s\"", "x y");
	vfc_trace_ioctl(&c);
	vfc_trace_ioctl(&c);	/* the notes went with the first line */
	vfc_trace_stop();
	assert_false(vfc_trace_on());
	vfc_trace_event("dma", "never=2");
	/* a restart appends, in the new format */
	assert_int_equal(vfc_trace_start(path, VFC_TRACE_TEXT), 0);
	vfc_trace_note("fd5=eventfd");
	vfc_trace_ioctl(&c);
	vfc_trace_stop();

	text = slurp(path);
	unlink(path);
	assert_null(strstr(text, "never"));
	expect(text, "\"resolved\":{\"fd5\":\"eventfd\",\"device\":\"x y\"}");
	assert_int_equal(count(text, "\"resolved\""), 1);
	expect(text, "VFIO_DEVICE_RESET() = 0 [fd5=eventfd] <0.000us>\n");
	{
		/* only the JSON part */
		char *t = strstr(text, "VFIO_DEVICE_RESET()");

		while (t > text && t[-1] != '\n')
			t--;
		*t = '\0';
		assert_int_equal(json_lines(text), 3);
	}
}

/* The core's fixture, but with the emulated type1 IOMMU: MAP_DMA works. */
static int emu_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	vfc_log_set_max_level(getenv("VFC_TEST_VERBOSE") ? LOG_DEBUG : LOG_WARNING);
	assert_non_null(f);
	assert_int_equal(vfc_core_new(&f->core), 0);
	assert_int_equal(vfc_core_add_iommu_driver(f->core, &vfc_emu_iommu_ops, NULL), 0);
	assert_int_equal(vfc_core_add_group(f->core, 26, NULL, &f->g26), 0);
	vfc_fake_device_init(&f->dev[0], 0x1234, 0x11e8);
	assert_int_equal(vfc_group_add_device(f->g26, DEV0, &vfc_fake_device_ops, &f->dev[0], NULL), 0);
	assert_int_equal(vfc_local_new(f->core, &f->l), 0);
	*state = f;
	return 0;
}

static int emu_teardown(void **state)
{
	struct fixture *f = *state;

	vfc_local_free(f->l);
	assert_int_equal(f->dev[0].opens, f->dev[0].closes);
	vfc_fake_device_fini(&f->dev[0]);
	vfc_core_free(f->core);
	free(f);
	return 0;
}

/* A client's flow through the in-process transport, traced to a file. */
static void test_local_flow(void **state)
{
	struct fixture *f = *state;
	char path[] = "/tmp/vfc-test-trace-XXXXXX";
	int tfd = mkstemp(path), c, g, d, efd;
	_cleanup_free_ char *text = NULL;
	static uint8_t buf[8192] __attribute__((aligned(4096)));
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map), .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)buf, .iova = 0x4000, .size = sizeof(buf),
	};
	struct vfio_region_info ri = { .argsz = sizeof(ri), .index = VFIO_PCI_CONFIG_REGION_INDEX };
	struct {
		struct vfio_irq_set s;
		int32_t fd;
	} set = { .s = { .argsz = sizeof(set), .flags = VFIO_IRQ_SET_DATA_EVENTFD |
			 VFIO_IRQ_SET_ACTION_TRIGGER, .index = VFIO_PCI_INTX_IRQ_INDEX,
			 .count = 1 } };
	uint16_t vendor = 0;
	char want[128];

	assert_true(tfd >= 0);
	close(tfd);
	assert_int_equal(vfc_trace_start(path, VFC_TRACE_TEXT), 0);
	d = fixture_device(f, &c, &g);
	assert_int_equal(IOCTL(f, c, VFIO_IOMMU_MAP_DMA, &map), 0);
	assert_int_equal(IOCTL(f, d, VFIO_DEVICE_GET_REGION_INFO, &ri), 0);
	assert_int_equal(vfc_local_pread(f->l, d, &vendor, 2, ri.offset), 2);
	efd = eventfd(0, EFD_CLOEXEC);
	set.fd = efd;
	assert_int_equal(IOCTL(f, d, VFIO_DEVICE_SET_IRQS, &set), 0);
	set.fd = 999;	/* not open */
	assert_int_equal(IOCTL(f, d, VFIO_DEVICE_SET_IRQS, &set), -EBADF);
	vfc_trace_stop();
	close(efd);
	assert_int_equal(vfc_local_close(f->l, d), 0);
	assert_int_equal(vfc_local_close(f->l, g), 0);
	assert_int_equal(vfc_local_close(f->l, c), 0);

	text = slurp(path);
	unlink(path);
	if (getenv("VFC_TEST_VERBOSE"))
		fputs(text, stderr);
	snprintf(want, sizeof(want), "[pid %d] container ", (int)getpid());
	expect(text, want);
	snprintf(want, sizeof(want), "VFIO_GROUP_SET_CONTAINER(%d) = 0 [fd%d=container:", c, c);
	expect(text, want);
	expect(text, "VFIO_SET_IOMMU(VFIO_TYPE1v2_IOMMU) = 0");
	snprintf(want, sizeof(want), "VFIO_GROUP_GET_DEVICE_FD(\"%s\") = %d [device=\"%s\" fd=%d]",
		 DEV0, d, DEV0, d);
	expect(text, want);
	snprintf(want, sizeof(want), "VFIO_IOMMU_MAP_DMA({argsz=32, flags=VFIO_DMA_MAP_FLAG_READ|"
		 "VFIO_DMA_MAP_FLAG_WRITE, vaddr=%p, iova=0x4000, size=0x2000}) = 0", (void *)buf);
	expect(text, want);
	/* each call took a retry round; each is one line, with its output */
	assert_int_equal(count(text, "VFIO_IOMMU_MAP_DMA("), 1);
	assert_int_equal(count(text, "VFIO_DEVICE_GET_REGION_INFO("), 1);
	expect(text, "index=CONFIG, cap_offset=0, size=0x0, offset=0x0} => {");
	expect(text, "read: device=");
	expect(text, "region=CONFIG offset=0x0 len=2 value=0x1234 result=2");
	snprintf(want, sizeof(want), "data=[%d]}) = 0 [fd%d=eventfd]", efd, efd);
	expect(text, want);
	expect(text, "data=[999]}) = -1 EBADF (Bad file descriptor) [fd999=EBADF]");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_validator),
		cmocka_unit_test(test_every_ioctl_named),
		cmocka_unit_test(test_numbers_by_kind),
		cmocka_unit_test(test_container_ioctls),
		cmocka_unit_test(test_iommu_info_caps),
		cmocka_unit_test(test_group_ioctls),
		cmocka_unit_test(test_device_ioctls),
		cmocka_unit_test(test_device_feature),
		cmocka_unit_test(test_unknown_and_errors),
		cmocka_unit_test(test_events),
		cmocka_unit_test(test_sink_file),
		cmocka_unit_test_setup_teardown(test_local_flow, emu_setup, emu_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
