/* SPDX-License-Identifier: MIT */
/*
 * vfio-e2e-client: the edu device itself, steps 5 to 10: config space, BAR0
 * registers, DMA through the IOVA mapping, MSI, INTx (with its automask), and
 * the SET_IRQS loopback.  All device access is pread/pwrite at the offsets
 * GET_REGION_INFO reported.
 */
#include "e2e.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define PCI_COMMAND_IO 0x1
#define PCI_COMMAND_MEMORY 0x2
#define PCI_COMMAND_MASTER 0x4
#define PCI_STATUS_CAP_LIST 0x10

/* Step 5: config space through the CONFIG region. */
void e2e_step5_config(struct e2e *t)
{
	static const struct {
		const char *name;
		unsigned off, size;
	} fields[] = {
		{ "vendor", 0x00, 2 },      { "device", 0x02, 2 },      { "status", 0x06, 2 },
		{ "revision", 0x08, 1 },    { "prog_if", 0x09, 1 },     { "class", 0x0a, 2 },
		{ "cache_line", 0x0c, 1 },  { "header_type", 0x0e, 1 }, { "bar0", 0x10, 4 },
		{ "bar1", 0x14, 4 },        { "bar2", 0x18, 4 },        { "bar3", 0x1c, 4 },
		{ "bar4", 0x20, 4 },        { "bar5", 0x24, 4 },        { "subsys_vendor", 0x2c, 2 },
		{ "subsys_id", 0x2e, 2 },   { "rom", 0x30, 4 },         { "cap_ptr", 0x34, 1 },
		{ "int_pin", 0x3d, 1 },
	};
	uint32_t v, vendor = 0, devid = 0, status = 0, cap_ptr = 0, bar0 = 0, cmd = 0;
	int r;

	for (size_t i = 0; i < E2E_ELEMENTSOF(fields); i++) {
		r = e2e_cfg_read(t, fields[i].off, fields[i].size, &v);
		e2e_out("config.read", "field=%s off=0x%02x size=%u %s val=0x%0*x", fields[i].name,
			fields[i].off, fields[i].size, RC(r), (int)fields[i].size * 2, r < 0 ? 0 : v);
		if (r != (int)fields[i].size) {
			e2e_fail(t, "config read of %s: %s", fields[i].name, RC(r));
			continue;
		}
		switch (fields[i].off) {
		case 0x00: vendor = v; break;
		case 0x02: devid = v; break;
		case 0x06: status = v; break;
		case 0x10: bar0 = v; break;
		case 0x34: cap_ptr = v; break;
		}
	}
	if (vendor != 0x1234 || devid != 0x11e8)
		e2e_fail(t, "config: id %04x:%04x, expected 1234:11e8", vendor, devid);
	r = e2e_cfg_read(t, 0x00, 4, &v);
	e2e_out("config.read", "field=id32 off=0x00 size=4 %s val=0x%08x", RC(r), r < 0 ? 0 : v);

	/* Capability list. */
	if (status & PCI_STATUS_CAP_LIST) {
		unsigned pos = cap_ptr & ~3u, n = 0;

		while (pos && n++ < 48) {
			uint32_t id = 0, next = 0, word = 0;

			if (e2e_cfg_read(t, pos, 1, &id) != 1 || e2e_cfg_read(t, pos + 1, 1, &next) != 1) {
				e2e_fail(t, "config: cannot read the capability at 0x%x", pos);
				break;
			}
			r = e2e_cfg_read(t, pos + 2, 2, &word);
			e2e_out("config.cap", "off=0x%02x id=0x%02x next=0x%02x word2=0x%04x", pos, id,
				next, r == 2 ? word : 0);
			pos = next & ~3u;
		}
	} else {
		e2e_out("config.cap", "none");
	}

	/* BAR0 sizing as a guest driver does it, then restore. */
	r = e2e_cfg_write(t, 0x10, 4, 0xffffffff);
	e2e_cfg_read(t, 0x10, 4, &v);
	e2e_out("config.bar0_sizing", "write_rc=%d readback=0x%08x", r, v);
	if ((v & 0xfffffff0) != 0xfff00000)
		e2e_fail(t, "BAR0 sizing read 0x%08x, expected a 1 MiB mask", v);
	r = e2e_cfg_write(t, 0x10, 4, bar0);
	e2e_cfg_read(t, 0x10, 4, &v);
	e2e_out("config.bar0_restore", "write_rc=%d readback=0x%08x", r, v);
	if (v != bar0)
		e2e_fail(t, "BAR0 restore read 0x%08x, expected 0x%08x", v, bar0);

	/* Read-only fields ignore writes. */
	r = e2e_cfg_write(t, 0x00, 2, 0xabcd);
	e2e_cfg_read(t, 0x00, 2, &v);
	e2e_out("config.write_vendor", "write_rc=%d readback=0x%04x", r, v);
	if (v != 0x1234)
		e2e_fail(t, "vendor id became 0x%04x after a write", v);

	/* PCI_COMMAND: bus master is clear at open; enable MEMORY|MASTER. */
	r = e2e_cfg_read(t, 0x04, 2, &cmd);
	e2e_out("config.command", "when=open %s val=0x%04x", RC(r), cmd);
	if (r == 2 && (cmd & PCI_COMMAND_MASTER))
		e2e_fail(t, "bus master is set at open (0x%04x)", cmd);
	r = e2e_cfg_write(t, 0x04, 2, cmd | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	e2e_cfg_read(t, 0x04, 2, &v);
	e2e_out("config.command", "when=enabled write_rc=%d val=0x%04x", r, v);
	if ((v & (PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER)) != (PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER))
		e2e_fail(t, "PCI_COMMAND 0x%04x after enabling MEMORY|MASTER", v);
}

/* Step 6: BAR0 registers. */
void e2e_step6_bar0(struct e2e *t)
{
	uint64_t v = 0;
	uint32_t x;
	int r;

	x = e2e_bar_rd32(t, EDU_ID);
	e2e_out("bar0.ident", "val=0x%08x", x);
	if (x != EDU_IDENT)
		e2e_fail(t, "edu ident 0x%08x, expected 0x%08x", x, EDU_IDENT);

	e2e_bar_wr32(t, EDU_LIVENESS, 0x12345678);
	x = e2e_bar_rd32(t, EDU_LIVENESS);
	e2e_out("bar0.liveness", "write=0x12345678 read=0x%08x", x);
	if (x != ~0x12345678u)
		e2e_fail(t, "liveness read 0x%08x, expected 0x%08x", x, ~0x12345678u);

	e2e_bar_wr32(t, EDU_STATUS, 0);
	e2e_bar_wr32(t, EDU_FACT, 5);
	r = e2e_bar_wait_clear(t, EDU_STATUS, EDU_STATUS_COMPUTING, 5000);
	x = e2e_bar_rd32(t, EDU_FACT);
	e2e_out("bar0.factorial", "in=5 wait=%s out=%u", r == 0 ? "done" : e2e_errname(-r), x);
	if (r < 0 || x != 120)
		e2e_fail(t, "factorial of 5: wait %s, read %u", RC(r), x);

	/* 8-byte access at 0x80 (edu allows 4 and 8 bytes there). */
	r = e2e_bar_write(t, EDU_DMA_SRC, 8, 0x0123456789abc000ULL);
	e2e_out("bar0.write8", "off=0x80 val=0x0123456789abc000 %s", RC(r));
	r = e2e_bar_read(t, EDU_DMA_SRC, 8, &v);
	e2e_out("bar0.read8", "off=0x80 %s val=0x%016" PRIx64, RC(r), r < 0 ? 0 : v);
	if (r != 8)
		e2e_fail(t, "8-byte read at 0x80: %s", RC(r));
	r = e2e_bar_read(t, EDU_DMA_SRC, 4, &v);
	e2e_out("bar0.read4", "off=0x80 %s val=0x%08" PRIx64, RC(r), r < 0 ? 0 : v);
	r = e2e_bar_read(t, EDU_DMA_SRC + 4, 4, &v);
	e2e_out("bar0.read4", "off=0x84 %s val=0x%08" PRIx64, RC(r), r < 0 ? 0 : v);

	/* Sub-dword accesses below 0x80 (edu ignores them). */
	r = e2e_bar_read(t, EDU_ID, 2, &v);
	e2e_out("bar0.read2", "off=0x00 %s val=0x%04" PRIx64, RC(r), r < 0 ? 0 : v);
	r = e2e_bar_read(t, EDU_ID, 1, &v);
	e2e_out("bar0.read1", "off=0x00 %s val=0x%02" PRIx64, RC(r), r < 0 ? 0 : v);
	r = e2e_bar_write(t, EDU_LIVENESS, 2, 0x5555);
	x = e2e_bar_rd32(t, EDU_LIVENESS);
	e2e_out("bar0.write2", "off=0x04 val=0x5555 %s liveness_after=0x%08x", RC(r), x);
}

static void dma_regs(struct e2e *t, uint32_t src, uint32_t dst, uint32_t cnt, uint32_t cmd)
{
	e2e_bar_wr32(t, EDU_DMA_SRC, src);
	e2e_bar_wr32(t, EDU_DMA_DST, dst);
	e2e_bar_wr32(t, EDU_DMA_CNT, cnt);
	e2e_bar_wr32(t, EDU_DMA_CMD, cmd);
}

/* Step 7: RAM -> edu buffer -> RAM through the IOVA mapping. */
void e2e_step7_dma(struct e2e *t)
{
	enum { N = 1024, BACK = 0x8000 };
	int r;

	if (!t->buf) {
		e2e_fail(t, "dma: no DMA buffer");
		return;
	}
	for (unsigned i = 0; i < N; i++)
		t->buf[i] = (uint8_t)(i * 7 + 3);
	memset(t->buf + BACK, 0, N);

	dma_regs(t, (uint32_t)E2E_DMA_IOVA, (uint32_t)EDU_DMA_BUF, N, EDU_DMA_RUN);
	r = e2e_bar_wait_clear(t, EDU_DMA_CMD, EDU_DMA_RUN, 5000);
	e2e_out("dma.to_device", "src=iova+0x0 dst=0x40000 cnt=%u wait=%s", N,
		r == 0 ? "done" : e2e_errname(-r));
	if (r < 0)
		e2e_fail(t, "DMA RAM->device did not complete: %s", RC(r));

	dma_regs(t, (uint32_t)EDU_DMA_BUF, (uint32_t)(E2E_DMA_IOVA + BACK), N,
		 EDU_DMA_RUN | EDU_DMA_FROM_DEV);
	r = e2e_bar_wait_clear(t, EDU_DMA_CMD, EDU_DMA_RUN, 5000);
	e2e_out("dma.from_device", "src=0x40000 dst=iova+0x8000 cnt=%u wait=%s", N,
		r == 0 ? "done" : e2e_errname(-r));
	if (r < 0)
		e2e_fail(t, "DMA device->RAM did not complete: %s", RC(r));

	unsigned bad = 0;
	for (unsigned i = 0; i < N; i++)
		bad += t->buf[BACK + i] != (uint8_t)(i * 7 + 3);
	e2e_out("dma.compare", "bytes=%u mismatches=%u", N, bad);
	if (bad)
		e2e_fail(t, "DMA round trip: %u of %u bytes differ", bad, N);
}

/* Waits for an interrupt, prints it, checks and acks the edu irq status. */
static bool irq_expect(struct e2e *t, const char *step, int efd, uint32_t want_status)
{
	uint64_t cnt = 0;
	int r = e2e_efd_wait(efd, 5000, &cnt);
	uint32_t st = e2e_bar_rd32(t, EDU_IRQ_STATUS);

	e2e_out(step, "fired=%d count=%" PRIu64 " irq_status=0x%x", r > 0, r > 0 ? cnt : 0, st);
	if (r <= 0 || cnt != 1 || st != want_status)
		e2e_fail(t, "%s: fired %d count %" PRIu64 " status 0x%x, expected 0x%x", step, r > 0,
			 cnt, st, want_status);
	e2e_bar_wr32(t, EDU_IRQ_ACK, st);
	return r > 0;
}

/* Step 8: MSI. */
void e2e_step8_msi(struct e2e *t)
{
	int efd = e2e_eventfd(), r;

	/* Start from a quiet device. */
	e2e_bar_wr32(t, EDU_IRQ_ACK, 0xffffffff);
	e2e_bar_wr32(t, EDU_STATUS, 0);
	if (efd < 0) {
		e2e_fail(t, "eventfd: %s", RC(efd));
		return;
	}
	r = e2e_set_irqs(t->device, VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
			 VFIO_PCI_MSI_IRQ_INDEX, 0, 1, &efd, sizeof(efd));
	e2e_out("msi.enable", "%s", RC(r));
	if (r < 0) {
		e2e_fail(t, "SET_IRQS(MSI, eventfd): %s", RC(r));
		e2e_close(&efd);
		return;
	}

	e2e_bar_wr32(t, EDU_IRQ_RAISE, 0x1234);
	irq_expect(t, "msi.raise", efd, 0x1234);

	e2e_bar_wr32(t, EDU_STATUS, EDU_STATUS_IRQFACT);
	e2e_bar_wr32(t, EDU_FACT, 5);
	irq_expect(t, "msi.factorial", efd, 0x1);
	uint32_t x = e2e_bar_rd32(t, EDU_FACT);
	e2e_out("msi.factorial_result", "out=%u", x);
	if (x != 120)
		e2e_fail(t, "factorial with irq: %u", x);
	e2e_bar_wr32(t, EDU_STATUS, 0);

	if (t->buf) {
		dma_regs(t, (uint32_t)E2E_DMA_IOVA, (uint32_t)EDU_DMA_BUF, 64, EDU_DMA_RUN | EDU_DMA_IRQ);
		irq_expect(t, "msi.dma", efd, 0x100);
	}

	r = e2e_set_irqs(t->device, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
			 VFIO_PCI_MSI_IRQ_INDEX, 0, 0, NULL, 0);
	e2e_out("msi.disable", "%s", RC(r));
	e2e_expect_ok(t, "SET_IRQS(MSI, count 0)", r);
	e2e_close(&efd);
}

/* Step 9: INTx, level-triggered and automasked. */
void e2e_step9_intx(struct e2e *t)
{
	int efd = e2e_eventfd(), ufd = -1, r;
	uint64_t cnt = 0;

	if (efd < 0) {
		e2e_fail(t, "eventfd: %s", RC(efd));
		return;
	}
	r = e2e_set_irqs(t->device, VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
			 VFIO_PCI_INTX_IRQ_INDEX, 0, 1, &efd, sizeof(efd));
	e2e_out("intx.enable", "%s", RC(r));
	if (r < 0) {
		e2e_fail(t, "SET_IRQS(INTx, eventfd): %s", RC(r));
		e2e_close(&efd);
		return;
	}

	e2e_bar_wr32(t, EDU_IRQ_RAISE, 0x1);
	irq_expect(t, "intx.raise", efd, 0x1);

	/* Automasked: a new assertion is not delivered until unmasked. */
	e2e_bar_wr32(t, EDU_IRQ_RAISE, 0x2);
	r = e2e_efd_wait(efd, 300, &cnt);
	e2e_out("intx.raise_while_masked", "fired=%d", r > 0);
	if (r != 0)
		e2e_fail(t, "INTx fired while automasked (%s)", RC(r));
	r = e2e_set_irqs(t->device, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK,
			 VFIO_PCI_INTX_IRQ_INDEX, 0, 1, NULL, 0);
	e2e_out("intx.unmask", "%s", RC(r));
	e2e_expect_ok(t, "SET_IRQS(INTx, UNMASK)", r);
	/* The line is still asserted, so the unmask delivers it (and masks again). */
	irq_expect(t, "intx.after_unmask", efd, 0x2);

	/* The unmask eventfd variant. */
	ufd = e2e_eventfd();
	if (ufd < 0) {
		e2e_fail(t, "eventfd: %s", RC(ufd));
	} else {
		r = e2e_set_irqs(t->device, VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_UNMASK,
				 VFIO_PCI_INTX_IRQ_INDEX, 0, 1, &ufd, sizeof(ufd));
		e2e_out("intx.unmask_eventfd", "%s", RC(r));
		if (r == 0) {
			uint64_t one = 1;

			e2e_bar_wr32(t, EDU_IRQ_RAISE, 0x4);
			r = e2e_efd_wait(efd, 300, &cnt);
			e2e_out("intx.raise_while_masked", "fired=%d", r > 0);
			if (r != 0)
				e2e_fail(t, "INTx fired while automasked (%s)", RC(r));
			if (write(ufd, &one, sizeof(one)) != (ssize_t)sizeof(one))
				e2e_fail(t, "write to the unmask eventfd: %s", e2e_errname(errno));
			irq_expect(t, "intx.after_unmask_eventfd", efd, 0x4);
			int m1 = -1;
			r = e2e_set_irqs(t->device, VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_UNMASK,
					 VFIO_PCI_INTX_IRQ_INDEX, 0, 1, &m1, sizeof(m1));
			e2e_out("intx.unmask_eventfd_remove", "%s", RC(r));
		}
		e2e_close(&ufd);
	}

	/* Mask explicitly, raise, nothing; unmask delivers. */
	r = e2e_set_irqs(t->device, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK,
			 VFIO_PCI_INTX_IRQ_INDEX, 0, 1, NULL, 0);
	e2e_out("intx.unmask", "%s", RC(r));
	r = e2e_set_irqs(t->device, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_MASK,
			 VFIO_PCI_INTX_IRQ_INDEX, 0, 1, NULL, 0);
	e2e_out("intx.mask", "%s", RC(r));
	e2e_bar_wr32(t, EDU_IRQ_RAISE, 0x8);
	r = e2e_efd_wait(efd, 300, &cnt);
	e2e_out("intx.raise_while_masked", "fired=%d", r > 0);
	if (r != 0)
		e2e_fail(t, "INTx fired while masked (%s)", RC(r));
	r = e2e_set_irqs(t->device, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK,
			 VFIO_PCI_INTX_IRQ_INDEX, 0, 1, NULL, 0);
	e2e_out("intx.unmask", "%s", RC(r));
	irq_expect(t, "intx.after_unmask", efd, 0x8);

	r = e2e_set_irqs(t->device, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
			 VFIO_PCI_INTX_IRQ_INDEX, 0, 0, NULL, 0);
	e2e_out("intx.disable", "%s", RC(r));
	e2e_expect_ok(t, "SET_IRQS(INTx, count 0)", r);
	e2e_close(&efd);
}

static void loopback(struct e2e *t, const char *step, unsigned index, int efd, uint32_t data_flag,
		     uint8_t b, bool want)
{
	uint64_t cnt = 0;
	int r = e2e_set_irqs(t->device, data_flag | VFIO_IRQ_SET_ACTION_TRIGGER, index, 0, 1,
			     data_flag == VFIO_IRQ_SET_DATA_BOOL ? &b : NULL,
			     data_flag == VFIO_IRQ_SET_DATA_BOOL ? 1 : 0);
	int w = efd < 0 ? 0 : e2e_efd_wait(efd, want ? 5000 : 100, &cnt);

	e2e_out(step, "%s fired=%d count=%" PRIu64, RC(r), w > 0, w > 0 ? cnt : 0);
	if (r < 0 || (w > 0) != want || (want && cnt != 1))
		e2e_fail(t, "%s: %s fired %d", step, RC(r), w > 0);
}

/* Step 10: SET_IRQS DATA_NONE/DATA_BOOL|ACTION_TRIGGER signal the eventfd. */
void e2e_step10_loopback(struct e2e *t)
{
	static const unsigned idx[] = { VFIO_PCI_MSI_IRQ_INDEX, VFIO_PCI_INTX_IRQ_INDEX };

	for (size_t i = 0; i < E2E_ELEMENTSOF(idx); i++) {
		const char *n = idx[i] == VFIO_PCI_MSI_IRQ_INDEX ? "msi" : "intx";
		char step[64];
		int efd, r;

		/* Not enabled: nothing to loop back to. */
		r = e2e_set_irqs(t->device, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
				 idx[i], 0, 1, NULL, 0);
		snprintf(step, sizeof(step), "loopback.%s_disabled", n);
		e2e_out(step, "%s", RC(r));

		efd = e2e_eventfd();
		if (efd < 0) {
			e2e_fail(t, "eventfd: %s", RC(efd));
			return;
		}
		r = e2e_set_irqs(t->device, VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
				 idx[i], 0, 1, &efd, sizeof(efd));
		snprintf(step, sizeof(step), "loopback.%s_enable", n);
		e2e_out(step, "%s", RC(r));
		e2e_expect_ok(t, step, r);
		snprintf(step, sizeof(step), "loopback.%s_none", n);
		loopback(t, step, idx[i], efd, VFIO_IRQ_SET_DATA_NONE, 0, true);
		snprintf(step, sizeof(step), "loopback.%s_bool1", n);
		loopback(t, step, idx[i], efd, VFIO_IRQ_SET_DATA_BOOL, 1, true);
		snprintf(step, sizeof(step), "loopback.%s_bool0", n);
		loopback(t, step, idx[i], efd, VFIO_IRQ_SET_DATA_BOOL, 0, false);
		r = e2e_set_irqs(t->device, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
				 idx[i], 0, 0, NULL, 0);
		snprintf(step, sizeof(step), "loopback.%s_disable", n);
		e2e_out(step, "%s", RC(r));
		e2e_expect_ok(t, step, r);
		e2e_close(&efd);
	}
}
