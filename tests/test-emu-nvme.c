// SPDX-License-Identifier: MIT
/*
 * Unit tests of the NVMe model (backends/emu/pci/nvme.c), played as a host
 * driver plays it: registers and doorbells through the trapped BAR0 path
 * (and once through the mapped memory the poller watches), queues and data
 * in a fake DMA space that stands for host memory, completions found by
 * their phase bit and announced on the MSI-X eventfd of their queue. It
 * covers the registers and controller states, every admin command and its
 * errors, asynchronous events, the keep alive timer, I/O with every PRP
 * layout on RAM and on a backing file, the options, full queues and queues
 * at unmapped addresses. Every wait is bounded (T_WAIT_MS).
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/pci_regs.h>
#include <cmocka.h>

#include "emu-pci-test.h"

#define EVFD VFIO_IRQ_SET_DATA_EVENTFD
#define TRIG VFIO_IRQ_SET_ACTION_TRIGGER

/* Registers */
#define R_CAP 0x00
#define R_VS 0x08
#define R_INTMS 0x0c
#define R_INTMC 0x10
#define R_CC 0x14
#define R_CSTS 0x1c
#define R_AQA 0x24
#define R_ASQ 0x28
#define R_ACQ 0x30
#define R_SQTDBL(q) (0x1000u + 8u * (q))
#define R_CQHDBL(q) (0x1000u + 8u * (q) + 4u)
#define CC_ON 0x00460001u	/* EN, IOSQES 6, IOCQES 4 */
#define CSTS_RDY 0x1u
#define CSTS_CFS 0x2u
#define CSTS_SHST 0xcu
#define CAP_WANT (0xfffull | 1ull << 16 | 30ull << 24 | 1ull << 37)

/* Status: SCT << 8 | SC */
#define S_OK 0x000
#define S_OPCODE 0x001
#define S_FIELD 0x002
#define S_XFER 0x004
#define S_ABORTED 0x007
#define S_NS 0x00b
#define S_SEQ 0x00c
#define S_PRP_OFF 0x013
#define S_LBA 0x080
#define S_CQ 0x100
#define S_QID 0x101
#define S_QSIZE 0x102
#define S_AERL 0x105
#define S_VECTOR 0x108
#define S_LOG 0x109
#define S_QDELETE 0x10c
#define S_NOSAVE 0x10d
#define S_COMPARE 0x285

/* Opcodes */
#define A_DEL_SQ 0x00
#define A_NEW_SQ 0x01
#define A_LOG 0x02
#define A_DEL_CQ 0x04
#define A_NEW_CQ 0x05
#define A_IDENTIFY 0x06
#define A_ABORT 0x08
#define A_SET 0x09
#define A_GET 0x0a
#define A_AER 0x0c
#define A_KEEP_ALIVE 0x18
#define IO_FLUSH 0x00
#define IO_WRITE 0x01
#define IO_READ 0x02
#define IO_COMPARE 0x05
#define IO_ZEROES 0x08
#define IO_DSM 0x09

/* Host memory: queues, identify and log buffers, PRP lists, data. */
#define MEM_SIZE (4u << 20)
#define PAGE 4096u
#define ASQ_IOVA 0x0000u
#define ACQ_IOVA 0x1000u
#define SQ_IOVA(q) (0x2000u * (q) + 0x2000u)	/* q < 8 */
#define CQ_IOVA(q) (SQ_IOVA(q) + 0x1000u)
#define BUF 0x20000u
#define LIST 0x30000u				/* 8 pages */
#define DATA_A 0x100000u			/* 1 MiB + 8 KiB */
#define DATA_B 0x280000u			/* 1 MiB + 8 KiB */
#define UNMAPPED 0x100000000ull

#define OPTS "size=4M,namespaces=2"
#define NS_BLOCKS 4096u	/* 4 MiB / 2 namespaces / 512 */
#define MAX_BLOCKS 2048u	/* MDTS 8: 1 MiB of 512-byte blocks */
#define NVEC 4
#define NQ 8

struct q {
	uint64_t base;
	uint32_t size;
	uint32_t pos;		/* SQ: tail, CQ: head */
	bool phase;		/* CQ: the phase of new entries */
	unsigned int vec;	/* CQ: MSI-X vector */
	unsigned int cqid;	/* SQ: its completion queue */
};

struct ctx {
	struct vfc_emu_pci *pci;
	struct vfc_t_mem mem;
	int efd[NVEC];
	struct q sq[NQ], cq[NQ];
	uint16_t cid;
	unsigned int lba_shift;
	bool mapped;		/* registers through the mapped BAR and the poller */
};

struct cmd {
	uint32_t dw[16];
};

struct cqe {
	uint32_t dw0;
	uint16_t sqhd, sqid, cid, status;
	bool dnr;
};

/* ---- little-endian host memory ---- */

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) | (uint32_t)get16(p + 2) << 16;
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static uint8_t *hm(struct ctx *c, uint64_t iova)
{
	assert_true(iova < MEM_SIZE);
	return c->mem.mem + iova;
}

static void fill(uint8_t *p, size_t n, uint32_t seed)
{
	uint32_t x = seed * 2654435761u + 1;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (uint8_t)x;
	}
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* ---- device set-up ---- */

static struct ctx *ctx_new(const char *options)
{
	struct ctx *c = calloc(1, sizeof(*c));
	int32_t fds[NVEC];

	assert_non_null(c);
	assert_int_equal(vfc_emu_pci_create("nvme", options, &c->pci), 0);
	vfc_t_mem_init(&c->mem, MEM_SIZE);
	vfc_emu_pci_set_dma(c->pci, vfc_t_mem_dma, &c->mem);
	vfc_t_open(c->pci);
	vfc_t_cfg_write(c->pci, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	for (int i = 0; i < NVEC; i++)
		fds[i] = c->efd[i] = vfc_t_efd();
	assert_int_equal(vfc_t_set_irqs(c->pci, EVFD | TRIG, VFIO_PCI_MSIX_IRQ_INDEX, 0, NVEC, fds),
			 0);
	c->lba_shift = 9;
	return c;
}

static void ctx_free(struct ctx *c)
{
	if (!c)
		return;
	vfc_t_close(c->pci);
	vfc_emu_pci_free(c->pci);
	vfc_t_mem_fini(&c->mem);
	for (int i = 0; i < NVEC; i++)
		close(c->efd[i]);
	free(c);
}

static uint32_t rd(struct ctx *c, uint64_t off)
{
	if (c->mapped)
		return le32toh(__atomic_load_n((uint32_t *)(vfc_emu_pci_bar_mem(c->pci, 0) + off),
					       __ATOMIC_ACQUIRE));
	return (uint32_t)vfc_t_bar_read(c->pci, 0, off, 4);
}

static uint64_t rd64(struct ctx *c, uint64_t off)
{
	if (c->mapped)
		return rd(c, off) | (uint64_t)rd(c, off + 4) << 32;
	return vfc_t_bar_read(c->pci, 0, off, 8);
}

static void wr(struct ctx *c, uint64_t off, uint32_t v)
{
	if (c->mapped)
		__atomic_store_n((uint32_t *)(vfc_emu_pci_bar_mem(c->pci, 0) + off), htole32(v),
				 __ATOMIC_RELEASE);
	else
		vfc_t_bar_write(c->pci, 0, off, 4, v);
}

static void wr64(struct ctx *c, uint64_t off, uint64_t v)
{
	if (c->mapped) {
		wr(c, off, (uint32_t)v);
		wr(c, off + 4, (uint32_t)(v >> 32));
	} else {
		vfc_t_bar_write(c->pci, 0, off, 8, v);
	}
}

struct csts_want {
	struct ctx *c;
	uint32_t mask, val;
};

static bool csts_is(void *arg)
{
	struct csts_want *w = arg;

	return (rd(w->c, R_CSTS) & w->mask) == w->val;
}

/* Wait (bounded) until CSTS & @mask is @val. */
static void wait_csts(struct ctx *c, uint32_t mask, uint32_t val)
{
	struct csts_want w = { c, mask, val };

	assert_true(vfc_t_wait(csts_is, &w));
}

/* Admin queues of @sqn and @cqn entries, then CC = @cc; RDY is not awaited. */
static void ctrl_start(struct ctx *c, uint32_t sqn, uint32_t cqn, uint32_t cc, uint64_t asq)
{
	memset(hm(c, ACQ_IOVA), 0, PAGE);
	wr(c, R_AQA, (cqn - 1) << 16 | (sqn - 1));
	wr64(c, R_ASQ, asq);
	wr64(c, R_ACQ, ACQ_IOVA);
	c->sq[0] = (struct q){ .base = asq, .size = sqn };
	c->cq[0] = (struct q){ .base = ACQ_IOVA, .size = cqn, .phase = true };
	wr(c, R_CC, cc);
}

static void ctrl_enable2(struct ctx *c, uint32_t sqn, uint32_t cqn)
{
	ctrl_start(c, sqn, cqn, CC_ON, ASQ_IOVA);
	wait_csts(c, CSTS_RDY | CSTS_CFS, CSTS_RDY);
}

static void ctrl_enable(struct ctx *c, uint32_t entries)
{
	ctrl_enable2(c, entries, entries);
}

static void ctrl_disable(struct ctx *c)
{
	wr(c, R_CC, 0);
	wait_csts(c, ~0u, 0);
}

static int setup_off(void **state)
{
	*state = ctx_new(OPTS);
	return 0;
}

static int setup(void **state)
{
	struct ctx *c = ctx_new(OPTS);

	ctrl_enable(c, 64);
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	ctx_free(*state);
	return 0;
}

/* ---- commands ---- */

static struct cmd cmd(uint8_t opc, uint32_t nsid)
{
	struct cmd k = { .dw = { opc, nsid } };

	return k;
}

static void cmd_prp(struct cmd *k, uint64_t prp1, uint64_t prp2)
{
	k->dw[6] = (uint32_t)prp1;
	k->dw[7] = (uint32_t)(prp1 >> 32);
	k->dw[8] = (uint32_t)prp2;
	k->dw[9] = (uint32_t)(prp2 >> 32);
}

static void cmd_lba(struct cmd *k, uint64_t slba, uint32_t nlb)
{
	k->dw[10] = (uint32_t)slba;
	k->dw[11] = (uint32_t)(slba >> 32);
	k->dw[12] = nlb - 1;
}

/* Put @k in submission queue @qid with a new command id; no doorbell. */
static uint16_t sq_put(struct ctx *c, unsigned int qid, struct cmd k)
{
	struct q *q = &c->sq[qid];
	uint8_t *e = hm(c, q->base + q->pos * 64ull);
	uint16_t cid = ++c->cid;

	k.dw[0] = (k.dw[0] & 0xffff) | (uint32_t)cid << 16;
	for (int i = 0; i < 16; i++)
		put32(e + 4 * i, k.dw[i]);
	q->pos = (q->pos + 1) % q->size;
	return cid;
}

static void sq_ring(struct ctx *c, unsigned int qid)
{
	wr(c, R_SQTDBL(qid), c->sq[qid].pos);
}

struct cq_ref {
	struct ctx *c;
	unsigned int qid;
};

static bool cqe_posted(void *arg)
{
	struct cq_ref *r = arg;
	const struct q *q = &r->c->cq[r->qid];
	uint32_t dw3 = le32toh(__atomic_load_n(
		(uint32_t *)(r->c->mem.mem + q->base + q->pos * 16ull + 12), __ATOMIC_ACQUIRE));

	return ((dw3 >> 16) & 1) == q->phase;
}

/* Whether completion queue @qid holds an entry the host has not taken. */
static bool cq_has(struct ctx *c, unsigned int qid)
{
	struct cq_ref r = { c, qid };

	return cqe_posted(&r);
}

/* Wait (bounded) for the next entry of CQ @qid, take it; @ring: head doorbell. */
static void cq_pop(struct ctx *c, unsigned int qid, struct cqe *ret, bool ring)
{
	struct cq_ref r = { c, qid };
	struct q *q = &c->cq[qid];
	const uint8_t *e;
	uint32_t dw3;

	assert_true(vfc_t_wait(cqe_posted, &r));
	e = hm(c, q->base + q->pos * 16ull);
	dw3 = get32(e + 12);
	*ret = (struct cqe){ .dw0 = get32(e), .sqhd = get16(e + 8), .sqid = get16(e + 10),
			     .cid = (uint16_t)dw3,
			     .status = (uint16_t)(((dw3 >> 17) & 0xff) | ((dw3 >> 25) & 7) << 8),
			     .dnr = dw3 >> 31 };
	if (++q->pos == q->size) {
		q->pos = 0;
		q->phase = !q->phase;
	}
	if (ring)
		wr(c, R_CQHDBL(qid), q->pos);
}

/*
 * Submit @k on SQ @qid and wait for its completion, which must be the next
 * entry of the SQ's CQ and be signalled on the CQ's MSI-X vector.
 * Return: the status, SCT << 8 | SC; @ret_dw0 gets DW0.
 */
static uint16_t exec(struct ctx *c, unsigned int qid, struct cmd k, uint32_t *ret_dw0)
{
	unsigned int cqid = c->sq[qid].cqid, vec = c->cq[cqid].vec;
	struct cqe e;
	uint16_t cid;

	if (vec < NVEC)
		vfc_t_efd_take(c->efd[vec]);
	cid = sq_put(c, qid, k);
	sq_ring(c, qid);
	cq_pop(c, cqid, &e, true);
	assert_int_equal(e.cid, cid);
	assert_int_equal(e.sqid, qid);
	assert_int_equal(e.sqhd, c->sq[qid].pos);
	if (e.status == S_OK)
		assert_false(e.dnr);
	if (vec < NVEC)
		assert_true(vfc_t_efd_wait(c->efd[vec]) >= 1);
	if (ret_dw0)
		*ret_dw0 = e.dw0;
	return e.status;
}

static uint16_t admin(struct ctx *c, struct cmd k, uint32_t *ret_dw0)
{
	return exec(c, 0, k, ret_dw0);
}

static uint16_t identify(struct ctx *c, uint32_t cns, uint32_t nsid, uint64_t iova)
{
	struct cmd k = cmd(A_IDENTIFY, nsid);

	if (iova < MEM_SIZE)
		memset(hm(c, iova), 0xee, PAGE);
	cmd_prp(&k, iova, 0);
	k.dw[10] = cns;
	return admin(c, k, NULL);
}

static uint16_t get_feat(struct ctx *c, uint32_t fid, uint32_t sel, uint32_t cdw11, uint32_t *dw0)
{
	struct cmd k = cmd(A_GET, 0);

	k.dw[10] = fid | sel << 8;
	k.dw[11] = cdw11;
	return admin(c, k, dw0);
}

static uint16_t set_feat(struct ctx *c, uint32_t fid, uint32_t cdw11, uint32_t *dw0)
{
	struct cmd k = cmd(A_SET, 0);

	k.dw[10] = fid;
	k.dw[11] = cdw11;
	return admin(c, k, dw0);
}

static uint16_t get_log(struct ctx *c, uint32_t lid, uint32_t nsid, uint32_t bytes, uint64_t lpo,
			bool rae)
{
	struct cmd k = cmd(A_LOG, nsid);
	uint32_t numd = bytes / 4 - 1;

	memset(hm(c, BUF), 0xaa, 2 * PAGE);
	cmd_prp(&k, BUF, BUF + PAGE);
	k.dw[10] = lid | (rae ? 1u << 15 : 0) | numd << 16;
	k.dw[11] = numd >> 16;
	k.dw[12] = (uint32_t)lpo;
	k.dw[13] = (uint32_t)(lpo >> 32);
	return admin(c, k, NULL);
}

static uint16_t create_cq(struct ctx *c, uint32_t qid, uint32_t size, uint64_t base, uint32_t flags,
			  uint32_t iv)
{
	struct cmd k = cmd(A_NEW_CQ, 0);
	uint16_t st;

	if (base + size * 16ull <= MEM_SIZE)
		memset(hm(c, base), 0, size * 16ull);
	cmd_prp(&k, base, 0);
	k.dw[10] = qid | (size - 1) << 16;
	k.dw[11] = flags | iv << 16;
	st = admin(c, k, NULL);
	if (st == S_OK && qid < NQ)
		c->cq[qid] = (struct q){ .base = base, .size = size, .phase = true, .vec = iv };
	return st;
}

static uint16_t create_sq(struct ctx *c, uint32_t qid, uint32_t size, uint64_t base, uint32_t flags,
			  uint32_t cqid)
{
	struct cmd k = cmd(A_NEW_SQ, 0);
	uint16_t st;

	cmd_prp(&k, base, 0);
	k.dw[10] = qid | (size - 1) << 16;
	k.dw[11] = flags | cqid << 16;
	st = admin(c, k, NULL);
	if (st == S_OK && qid < NQ)
		c->sq[qid] = (struct q){ .base = base, .size = size, .cqid = cqid };
	return st;
}

static uint16_t delete_q(struct ctx *c, uint8_t opc, uint32_t qid)
{
	struct cmd k = cmd(opc, 0);

	k.dw[10] = qid;
	return admin(c, k, NULL);
}

/* I/O queue pair @qid: SQ of @sq_size entries on a CQ of @cq_size, vector @vec. */
static void ioq_add(struct ctx *c, unsigned int qid, uint32_t sq_size, uint32_t cq_size,
		    unsigned int vec)
{
	assert_int_equal(create_cq(c, qid, cq_size, CQ_IOVA(qid), 3, vec), S_OK);
	assert_int_equal(create_sq(c, qid, sq_size, SQ_IOVA(qid), 1, qid), S_OK);
}

/*
 * PRP1 and PRP2 for @len contiguous bytes at @iova, as a host builds them:
 * a list at @list (any qword in a page) when more than two pages are
 * touched, chained through the last entry of each list page.
 */
static void prp_build(struct ctx *c, uint64_t iova, uint64_t len, uint64_t list, uint64_t *p1,
		      uint64_t *p2)
{
	uint64_t first = PAGE - iova % PAGE, addr = iova + first;

	*p1 = iova;
	*p2 = 0;
	if (len <= first)
		return;
	len -= first;
	if (len <= PAGE) {
		*p2 = addr;
		return;
	}
	*p2 = list;
	while (len) {
		if (list % PAGE == PAGE - 8 && len > PAGE) {
			put64(hm(c, list), list + 8); /* the next list page */
			list += 8;
			continue;
		}
		put64(hm(c, list), addr);
		list += 8;
		addr += PAGE;
		len -= len < PAGE ? len : PAGE;
	}
}

/* Read, Write or Compare of @nlb blocks at @slba with a PRP list at @list. */
static uint16_t rw_list(struct ctx *c, uint8_t opc, uint32_t nsid, uint64_t slba, uint32_t nlb,
			uint64_t iova, uint64_t list)
{
	struct cmd k = cmd(opc, nsid);
	uint64_t p1, p2;

	prp_build(c, iova, (uint64_t)nlb << c->lba_shift, list, &p1, &p2);
	cmd_prp(&k, p1, p2);
	cmd_lba(&k, slba, nlb);
	return exec(c, 1, k, NULL);
}

static uint16_t rw(struct ctx *c, uint8_t opc, uint32_t nsid, uint64_t slba, uint32_t nlb,
		   uint64_t iova)
{
	return rw_list(c, opc, nsid, slba, nlb, iova, LIST);
}

/* Write a pattern at @slba, read it back through other buffers; compare. */
static void roundtrip(struct ctx *c, uint32_t nsid, uint64_t slba, uint32_t nlb, uint64_t src,
		      uint64_t src_list, uint64_t dst, uint64_t dst_list, uint32_t seed)
{
	size_t len = (size_t)nlb << c->lba_shift;

	fill(hm(c, src), len, seed);
	memset(hm(c, dst), 0, len);
	assert_int_equal(rw_list(c, IO_WRITE, nsid, slba, nlb, src, src_list), S_OK);
	assert_int_equal(rw_list(c, IO_READ, nsid, slba, nlb, dst, dst_list), S_OK);
	assert_memory_equal(hm(c, dst), hm(c, src), len);
}

/* ---- registers and controller states ---- */

static void test_registers(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(rd64(c, R_CAP), CAP_WANT);
	assert_int_equal(rd(c, R_VS), 0x00010400);
	assert_int_equal(rd(c, R_CC), 0);
	assert_int_equal(rd(c, R_CSTS), 0);

	/* Read-only registers come back after a write. */
	wr64(c, R_CAP, 0);
	assert_int_equal(rd64(c, R_CAP), CAP_WANT);
	wr(c, R_CAP + 4, 0xffffffff);
	assert_int_equal(rd64(c, R_CAP), CAP_WANT);
	wr(c, R_VS, 0x00020000);
	assert_int_equal(rd(c, R_VS), 0x00010400);
	wr(c, R_CSTS, 0xffffffff);
	assert_int_equal(rd(c, R_CSTS), 0);
	wr(c, 0x38, 0x12345678); /* CMBLOC: no CMB */
	assert_int_equal(rd(c, 0x38), 0);
	wr(c, 0xe00, 0x12345678); /* PMRCAP: no PMR */
	assert_int_equal(rd(c, 0xe00), 0);

	/* Writable fields only. */
	wr(c, R_AQA, 0xffffffff);
	assert_int_equal(rd(c, R_AQA), 0x0fff0fff);
	wr64(c, R_ASQ, 0x123456789abcdefull);
	assert_int_equal(rd64(c, R_ASQ), 0x123456789abc000ull);
	wr64(c, R_ACQ, 0xfedcba9876543fffull);
	assert_int_equal(rd64(c, R_ACQ), 0xfedcba9876543000ull);
	wr(c, R_CC, 0xff460000);
	assert_int_equal(rd(c, R_CC), 0x00460000);
	assert_int_equal(rd(c, R_CSTS), 0);
	/* INTMS and INTMC are not for MSI-X, which is on. */
	wr(c, R_INTMS, 1);
	assert_int_equal(rd(c, R_INTMS), 0);
	assert_int_equal(rd(c, R_INTMC), 0);
}

static void test_enable_disable(void **state)
{
	struct ctx *c = *state;
	uint32_t dw0 = 1;

	ctrl_enable(c, 64);
	assert_int_equal(rd(c, R_CC), CC_ON);
	assert_int_equal(rd(c, R_CSTS), CSTS_RDY);
	ioq_add(c, 1, 16, 16, 1);
	assert_int_equal(get_feat(c, 0x08, 0, 0, NULL), S_OK);
	assert_int_equal(set_feat(c, 0x08, 0x0102, NULL), S_OK);

	/* CC.EN 1 -> 0: not ready, queues and features gone, doorbells 0. */
	wr(c, R_CC, CC_ON & ~1u);
	wait_csts(c, CSTS_RDY, 0);
	assert_int_equal(rd(c, R_CSTS), 0);
	assert_int_equal(rd(c, R_CC), CC_ON & ~1u);
	assert_int_equal(rd(c, R_SQTDBL(0)), 0);
	assert_int_equal(rd(c, R_CQHDBL(1)), 0);
	/* A doorbell of a disabled controller goes nowhere. */
	wr(c, R_SQTDBL(0), 1);

	ctrl_enable(c, 32);
	ioq_add(c, 1, 16, 16, 1); /* qid 1 is free again */
	assert_int_equal(get_feat(c, 0x08, 0, 0, &dw0), S_OK);
	assert_int_equal(dw0, 0);
	assert_int_equal(identify(c, 1, 0, BUF), S_OK);
	assert_int_equal(get16(hm(c, BUF)), 0x1234);
}

static void test_shutdown(void **state)
{
	struct ctx *c = *state;

	ctrl_enable(c, 64);
	wr(c, R_CC, CC_ON | 1u << 14); /* SHN: normal */
	wait_csts(c, CSTS_SHST, 0x8);  /* shutdown complete */
	assert_int_equal(rd(c, R_CSTS) & CSTS_CFS, 0);
	ctrl_disable(c);
	ctrl_enable(c, 64);
	assert_int_equal(identify(c, 1, 0, BUF), S_OK);
	/* An abrupt shutdown, too. */
	wr(c, R_CC, CC_ON | 2u << 14);
	wait_csts(c, CSTS_SHST, 0x8);
}

static void test_bad_enable(void **state)
{
	struct ctx *c = *state;
	static const struct {
		uint32_t aqa, cc;
	} bad[] = {
		{ 0x00000000, CC_ON },		/* one-entry admin queues */
		{ 0x00000001, CC_ON },		/* one-entry admin CQ */
		{ 0x00010000, CC_ON },		/* one-entry admin SQ */
		{ 0x003f003f, CC_ON | 1u << 7 },	/* MPS 8 KiB: MPSMAX is 4 KiB */
		{ 0x003f003f, CC_ON | 1u << 4 },	/* CSS 1 */
		{ 0x003f003f, CC_ON | 1u << 11 },	/* AMS: weighted round robin */
		{ 0x003f003f, 0x00450001 },		/* IOSQES 32 bytes */
		{ 0x003f003f, 0x00560001 },		/* IOCQES 32 bytes */
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		wr(c, R_AQA, bad[i].aqa);
		wr64(c, R_ASQ, ASQ_IOVA);
		wr64(c, R_ACQ, ACQ_IOVA);
		wr(c, R_CC, bad[i].cc);
		wait_csts(c, CSTS_CFS, CSTS_CFS);
		assert_int_equal(rd(c, R_CSTS) & CSTS_RDY, 0);
		ctrl_disable(c);
	}
	/* I/O queue entry sizes of 0 are fine until a queue is made. */
	ctrl_start(c, 64, 64, 0x00000001, ASQ_IOVA);
	wait_csts(c, CSTS_RDY | CSTS_CFS, CSTS_RDY);
	assert_int_equal(create_cq(c, 1, 16, CQ_IOVA(1), 3, 1), S_FIELD);
	ctrl_disable(c);
	ctrl_enable(c, 2);
	assert_int_equal(identify(c, 1, 0, BUF), S_OK);
}

static void test_vfio_reset(void **state)
{
	struct ctx *c = *state;
	uint32_t dw0 = 0;

	ioq_add(c, 1, 16, 16, 1);
	assert_int_equal(set_feat(c, 0x01, 0x03020102, NULL), S_OK);
	assert_int_equal(identify(c, 0x42, 0, BUF), S_FIELD);
	assert_int_equal(vfc_t_reset(c->pci), 0);

	assert_int_equal(rd64(c, R_CAP), CAP_WANT);
	assert_int_equal(rd(c, R_VS), 0x00010400);
	assert_int_equal(rd(c, R_CC), 0);
	assert_int_equal(rd(c, R_CSTS), 0);
	assert_int_equal(rd(c, R_AQA), 0);
	assert_int_equal(rd64(c, R_ASQ), 0);
	assert_int_equal(rd64(c, R_ACQ), 0);
	assert_int_equal(rd(c, R_SQTDBL(0)), 0);

	ctrl_enable(c, 64);
	assert_int_equal(get_feat(c, 0x01, 0, 0, &dw0), S_OK);
	assert_int_equal(dw0, 5);
	ioq_add(c, 1, 16, 16, 1);
	/* The error log is empty again. */
	assert_int_equal(get_log(c, 0x01, 0, 256, 0, false), S_OK);
	assert_true(all_zero(hm(c, BUF), 256));
}

/* ---- admin commands ---- */

static void test_identify(void **state)
{
	struct ctx *c = *state;
	const uint8_t *d = hm(c, BUF);
	uint8_t nguid[2][16], copy[PAGE];
	struct cmd k;

	assert_int_equal(identify(c, 1, 0, BUF), S_OK);
	assert_int_equal(get16(d + 0), 0x1234);		/* VID */
	assert_int_equal(get16(d + 2), 0x1234);		/* SSVID */
	assert_memory_equal(d + 4, "VFC", 3);		/* SN */
	for (int i = 0; i < 20; i++)
		assert_true(d[4 + i] >= 0x20 && d[4 + i] <= 0x7e);
	assert_memory_equal(d + 24, "vfio-cuse emulated NVMe                 ", 40);
	assert_int_equal(d[77], 8);			/* MDTS */
	assert_int_equal(get32(d + 80), 0x00010400);	/* VER */
	assert_int_equal(d[259], 3);			/* AERL */
	assert_int_equal(d[262], 3);			/* ELPE */
	assert_int_equal(get16(d + 320), 10);		/* KAS */
	assert_int_equal(d[512], 0x66);			/* SQES */
	assert_int_equal(d[513], 0x44);			/* CQES */
	assert_int_equal(get32(d + 516), 2);		/* NN */
	assert_int_equal(get16(d + 520) & 0x0d, 0x0d);	/* ONCS: Compare, DSM, Write Zeroes */
	assert_int_equal(d[525] & 1, 1);		/* VWC present */
	assert_int_equal(get32(d + 536), 0);		/* SGLS: none */
	assert_memory_equal(d + 768, "nqn.", 4);	/* SUBNQN */

	for (uint32_t ns = 1; ns <= 2; ns++) {
		assert_int_equal(identify(c, 0, ns, BUF), S_OK);
		assert_int_equal(get64(d + 0), NS_BLOCKS);	/* NSZE */
		assert_int_equal(get64(d + 8), NS_BLOCKS);	/* NCAP */
		assert_int_equal(d[25], 0);			/* NLBAF */
		assert_int_equal(d[26], 0);			/* FLBAS */
		assert_int_equal(d[33], 0x09);			/* DLFEAT */
		assert_int_equal(get32(d + 128), 9u << 16);	/* LBAF0: LBADS 9 */
		memcpy(nguid[ns - 1], d + 104, 16);
		assert_false(all_zero(nguid[ns - 1], 16));
	}
	assert_memory_not_equal(nguid[0], nguid[1], 16);

	/* Active namespace lists. */
	assert_int_equal(identify(c, 2, 0, BUF), S_OK);
	assert_int_equal(get32(d), 1);
	assert_int_equal(get32(d + 4), 2);
	assert_true(all_zero(d + 8, PAGE - 8));
	assert_int_equal(identify(c, 2, 1, BUF), S_OK);
	assert_int_equal(get32(d), 2);
	assert_true(all_zero(d + 4, PAGE - 4));
	assert_int_equal(identify(c, 2, 2, BUF), S_OK);
	assert_true(all_zero(d, PAGE));
	assert_int_equal(identify(c, 2, 0xfffffffe, BUF), S_NS);

	/* Descriptors: the NGUID, a UUID, then the end. */
	assert_int_equal(identify(c, 3, 2, BUF), S_OK);
	assert_int_equal(d[0], 2);
	assert_int_equal(d[1], 16);
	assert_memory_equal(d + 4, nguid[1], 16);
	assert_int_equal(d[20], 3);
	assert_int_equal(d[21], 16);
	assert_int_equal(d[24 + 6] >> 4, 8);		/* UUID version 8 */
	assert_int_equal(d[24 + 8] >> 6, 2);		/* RFC variant */
	assert_true(all_zero(d + 40, PAGE - 40));

	assert_int_equal(identify(c, 0x7f, 0, BUF), S_FIELD);
	assert_int_equal(identify(c, 0, 3, BUF), S_NS);
	assert_int_equal(identify(c, 0, 0, BUF), S_NS);
	assert_int_equal(identify(c, 0, 0xffffffff, BUF), S_NS);
	assert_int_equal(identify(c, 3, 9, BUF), S_NS);

	/* A data buffer at an offset, over PRP1 and PRP2. */
	assert_int_equal(identify(c, 1, 0, BUF), S_OK);
	memcpy(copy, d, PAGE);
	memset(hm(c, BUF), 0xee, 3 * PAGE);
	k = cmd(A_IDENTIFY, 0);
	cmd_prp(&k, BUF + 0x800, BUF + 2 * PAGE);
	k.dw[10] = 1;
	assert_int_equal(admin(c, k, NULL), S_OK);
	assert_memory_equal(hm(c, BUF + 0x800), copy, 0x800);
	assert_memory_equal(hm(c, BUF + 2 * PAGE), copy + 0x800, PAGE - 0x800);
	for (unsigned int i = 0; i < PAGE; i++)
		assert_int_equal(*hm(c, BUF + PAGE + i), 0xee);
}

/* Two controllers in one process have distinct serials and namespace ids. */
static void test_identify_unique(void **state)
{
	struct ctx *c = *state, *c2 = ctx_new("size=1M");
	uint8_t sn[20], nguid[16];

	ctrl_enable(c2, 8);
	assert_int_equal(identify(c, 1, 0, BUF), S_OK);
	memcpy(sn, hm(c, BUF + 4), 20);
	assert_int_equal(identify(c, 0, 1, BUF), S_OK);
	memcpy(nguid, hm(c, BUF + 104), 16);
	assert_int_equal(identify(c2, 1, 0, BUF), S_OK);
	assert_memory_not_equal(hm(c2, BUF + 4), sn, 20);
	assert_int_equal(identify(c2, 0, 1, BUF), S_OK);
	assert_int_equal(get64(hm(c2, BUF)), 2048);
	assert_memory_not_equal(hm(c2, BUF + 104), nguid, 16);
	assert_int_equal(identify(c2, 3, 1, BUF), S_OK);
	assert_memory_not_equal(hm(c2, BUF + 4), nguid, 16);
	ctx_free(c2);

	/* The serial option. */
	c2 = ctx_new("size=1M,serial=HELLO-1");
	ctrl_enable(c2, 8);
	assert_int_equal(identify(c2, 1, 0, BUF), S_OK);
	assert_memory_equal(hm(c2, BUF + 4), "HELLO-1             ", 20);
	ctx_free(c2);
}

static void test_queues(void **state)
{
	struct ctx *c = *state;

	/* Completion queues. */
	assert_int_equal(create_cq(c, 0, 16, CQ_IOVA(1), 3, 1), S_QID);
	assert_int_equal(create_cq(c, 17, 16, CQ_IOVA(1), 3, 1), S_QID); /* 16 by default */
	assert_int_equal(create_cq(c, 0xffff, 16, CQ_IOVA(1), 3, 1), S_QID);
	assert_int_equal(create_cq(c, 1, 1, CQ_IOVA(1), 3, 1), S_QSIZE);
	assert_int_equal(create_cq(c, 1, 4097, CQ_IOVA(1), 3, 1), S_QSIZE);
	assert_int_equal(create_cq(c, 1, 16, CQ_IOVA(1), 2, 1), S_FIELD);	/* PC 0 */
	assert_int_equal(create_cq(c, 1, 16, CQ_IOVA(1) + 0x10, 3, 1), S_PRP_OFF);
	assert_int_equal(create_cq(c, 1, 16, CQ_IOVA(1), 3, 65), S_VECTOR);
	assert_int_equal(create_cq(c, 1, 16, CQ_IOVA(1), 3, 0xffff), S_VECTOR);
	assert_int_equal(create_cq(c, 1, 16, CQ_IOVA(1), 3, 1), S_OK);
	assert_int_equal(create_cq(c, 1, 16, CQ_IOVA(1), 3, 1), S_QID);	/* in use */
	assert_int_equal(create_cq(c, 2, 4096, UNMAPPED, 3, 64), S_OK);	/* the largest */
	assert_int_equal(create_cq(c, 16, 2, CQ_IOVA(3), 1, 0), S_OK);	/* no interrupts */

	/* Submission queues. */
	assert_int_equal(create_sq(c, 1, 16, SQ_IOVA(1), 1, 0), S_CQ);	/* the admin CQ */
	assert_int_equal(create_sq(c, 1, 16, SQ_IOVA(1), 1, 5), S_CQ);	/* no such CQ */
	assert_int_equal(create_sq(c, 1, 16, SQ_IOVA(1), 1, 17), S_CQ);
	assert_int_equal(create_sq(c, 0, 16, SQ_IOVA(1), 1, 1), S_QID);
	assert_int_equal(create_sq(c, 17, 16, SQ_IOVA(1), 1, 1), S_QID);
	assert_int_equal(create_sq(c, 1, 1, SQ_IOVA(1), 1, 1), S_QSIZE);
	assert_int_equal(create_sq(c, 1, 4097, SQ_IOVA(1), 1, 1), S_QSIZE);
	assert_int_equal(create_sq(c, 1, 65536, SQ_IOVA(1), 1, 1), S_QSIZE);
	assert_int_equal(create_sq(c, 1, 16, SQ_IOVA(1), 0, 1), S_FIELD);	/* PC 0 */
	assert_int_equal(create_sq(c, 1, 16, SQ_IOVA(1) + 0x40, 1, 1), S_PRP_OFF);
	assert_int_equal(create_sq(c, 1, 16, SQ_IOVA(1), 1, 1), S_OK);
	assert_int_equal(create_sq(c, 1, 16, SQ_IOVA(1), 1, 1), S_QID);	/* in use */
	assert_int_equal(create_sq(c, 2, 4096, UNMAPPED, 1, 1), S_OK);	/* two on CQ 1 */

	/* Deletion. */
	assert_int_equal(delete_q(c, A_DEL_CQ, 1), S_QDELETE);
	assert_int_equal(delete_q(c, A_DEL_SQ, 0), S_QID);
	assert_int_equal(delete_q(c, A_DEL_CQ, 0), S_QID);
	assert_int_equal(delete_q(c, A_DEL_SQ, 3), S_QID);
	assert_int_equal(delete_q(c, A_DEL_CQ, 3), S_QID);
	assert_int_equal(delete_q(c, A_DEL_SQ, 0xffff), S_QID);
	assert_int_equal(delete_q(c, A_DEL_SQ, 1), S_OK);
	assert_int_equal(delete_q(c, A_DEL_SQ, 1), S_QID);
	assert_int_equal(delete_q(c, A_DEL_CQ, 1), S_QDELETE);	/* SQ 2 still */
	assert_int_equal(delete_q(c, A_DEL_SQ, 2), S_OK);
	assert_int_equal(delete_q(c, A_DEL_CQ, 1), S_OK);
	assert_int_equal(delete_q(c, A_DEL_CQ, 1), S_QID);
	assert_int_equal(delete_q(c, A_DEL_CQ, 2), S_OK);
	assert_int_equal(delete_q(c, A_DEL_CQ, 16), S_OK);

	/* The pair works after all that. */
	ioq_add(c, 1, 16, 16, 1);
	assert_int_equal(exec(c, 1, cmd(IO_FLUSH, 1), NULL), S_OK);
}

static void test_queues_option(void **state)
{
	struct ctx *c = ctx_new("size=1M,queues=2");
	uint32_t dw0 = 0;

	(void)state;
	ctrl_enable(c, 8);
	assert_int_equal(get_feat(c, 0x07, 0, 0, &dw0), S_OK);
	assert_int_equal(dw0, 0x00010001);
	assert_int_equal(create_cq(c, 3, 16, CQ_IOVA(3), 3, 1), S_QID);
	assert_int_equal(create_cq(c, 2, 16, CQ_IOVA(2), 3, 1), S_OK);
	assert_int_equal(create_sq(c, 3, 16, SQ_IOVA(3), 1, 2), S_QID);
	assert_int_equal(create_sq(c, 2, 16, SQ_IOVA(2), 1, 2), S_OK);
	ctx_free(c);
}

static void test_features(void **state)
{
	struct ctx *c = *state;
	uint32_t dw0 = 0, arb_default;

	/* Number of Queues: fixed once an I/O queue exists. */
	assert_int_equal(get_feat(c, 0x07, 0, 0, &dw0), S_OK);
	assert_int_equal(dw0, 0x000f000f);
	assert_int_equal(set_feat(c, 0x07, 0x0000ffff, NULL), S_FIELD);
	assert_int_equal(set_feat(c, 0x07, 0xffff0000, NULL), S_FIELD);
	dw0 = 0;
	assert_int_equal(set_feat(c, 0x07, 0x00030003, &dw0), S_OK);
	assert_int_equal(dw0, 0x000f000f);
	assert_int_equal(create_cq(c, 1, 16, CQ_IOVA(1), 3, 1), S_OK);
	assert_int_equal(set_feat(c, 0x07, 0x00030003, NULL), S_SEQ);
	assert_int_equal(get_feat(c, 0x07, 0, 0, &dw0), S_OK);

	/* Interrupt Coalescing. */
	assert_int_equal(set_feat(c, 0x08, 0x0a05, NULL), S_OK);
	assert_int_equal(get_feat(c, 0x08, 0, 0, &dw0), S_OK);
	assert_int_equal(dw0, 0x0a05);
	assert_int_equal(get_feat(c, 0x08, 1, 0, &dw0), S_OK);	/* default */
	assert_int_equal(dw0, 0);
	assert_int_equal(get_feat(c, 0x08, 2, 0, &dw0), S_OK);	/* saved: none, so default */
	assert_int_equal(dw0, 0);
	assert_int_equal(get_feat(c, 0x08, 3, 0, &dw0), S_OK);	/* capabilities */
	assert_int_equal(dw0 & 0x7, 0x4);			/* changeable only */

	/* Volatile Write Cache. */
	assert_int_equal(get_feat(c, 0x06, 0, 0, &dw0), S_OK);
	assert_int_equal(dw0, 1);
	assert_int_equal(set_feat(c, 0x06, 0, NULL), S_OK);
	assert_int_equal(get_feat(c, 0x06, 0, 0, &dw0), S_OK);
	assert_int_equal(dw0, 0);
	assert_int_equal(get_feat(c, 0x06, 1, 0, &dw0), S_OK);
	assert_int_equal(dw0, 1);
	assert_int_equal(get_feat(c, 0x06, 3, 0, &dw0), S_OK);
	assert_int_equal(dw0 & 0x7, 0x4);
	assert_int_equal(set_feat(c, 0x06, 1, NULL), S_OK);
	assert_int_equal(get_feat(c, 0x06, 0, 0, &dw0), S_OK);
	assert_int_equal(dw0, 1);

	/* Arbitration. */
	assert_int_equal(get_feat(c, 0x01, 1, 0, &dw0), S_OK);
	arb_default = dw0;
	assert_int_equal(set_feat(c, 0x01, 0x03020102, NULL), S_OK);
	assert_int_equal(get_feat(c, 0x01, 0, 0, &dw0), S_OK);
	assert_int_equal(dw0, 0x03020102);
	assert_int_equal(get_feat(c, 0x01, 1, 0, &dw0), S_OK);
	assert_int_equal(dw0, arb_default);

	/* Temperature Threshold, Power Management, Interrupt Vector Configuration. */
	assert_int_equal(get_feat(c, 0x04, 0, 0, &dw0), S_OK);
	assert_int_equal(dw0, 0x157);
	assert_int_equal(set_feat(c, 0x04, 0x160, NULL), S_OK);
	assert_int_equal(get_feat(c, 0x04, 0, 0, &dw0), S_OK);
	assert_int_equal(dw0, 0x160);
	assert_int_equal(set_feat(c, 0x04, 1u << 16 | 0x160, NULL), S_FIELD); /* sensor 1 */
	assert_int_equal(set_feat(c, 0x02, 1, NULL), S_FIELD);	/* power state 1 */
	assert_int_equal(set_feat(c, 0x02, 0, NULL), S_OK);
	assert_int_equal(get_feat(c, 0x09, 0, 1, &dw0), S_OK);
	assert_int_equal(dw0, 1);
	assert_int_equal(set_feat(c, 0x09, 0, NULL), S_FIELD);	/* admin vector, coalesced */
	assert_int_equal(get_feat(c, 0x09, 0, 65, &dw0), S_FIELD);

	/* Unknown, saved, bad select. */
	assert_int_equal(get_feat(c, 0x7f, 0, 0, NULL), S_FIELD);
	assert_int_equal(set_feat(c, 0x7f, 0, NULL), S_FIELD);
	assert_int_equal(get_feat(c, 0x00, 0, 0, NULL), S_FIELD);
	assert_int_equal(set_feat(c, 1u << 31 | 0x08, 0, NULL), S_NOSAVE);
	assert_int_equal(get_feat(c, 0x08, 4, 0, NULL), S_FIELD);
	assert_int_equal(get_feat(c, 0x08, 7, 0, NULL), S_FIELD);
}

static void test_log_pages(void **state)
{
	struct ctx *c = *state;
	const uint8_t *d = hm(c, BUF);
	uint16_t cid;

	/* The error log starts empty; a failed command leaves an entry. */
	assert_int_equal(get_log(c, 0x01, 0, 256, 0, false), S_OK);
	assert_true(all_zero(d, 256));
	assert_int_equal(identify(c, 0x42, 7, BUF), S_FIELD);
	cid = c->cid;
	assert_int_equal(get_log(c, 0x01, 0, 256, 0, false), S_OK);
	assert_int_equal(get64(d + 0), 1);		/* error count */
	assert_int_equal(get16(d + 8), 0);		/* SQID */
	assert_int_equal(get16(d + 10), cid);		/* CID */
	assert_int_equal(get16(d + 12) >> 1, S_FIELD);	/* status field */
	assert_int_equal(get32(d + 24), 7);		/* NSID */
	assert_true(all_zero(d + 64, 192));

	/* An I/O error: newest first, with its LBA. */
	ioq_add(c, 1, 16, 16, 1);
	assert_int_equal(rw(c, IO_READ, 2, NS_BLOCKS, 1, DATA_A), S_LBA);
	cid = c->cid;
	assert_int_equal(get_log(c, 0x01, 0, 256, 0, false), S_OK);
	assert_int_equal(get64(d + 0), 2);
	assert_int_equal(get16(d + 8), 1);
	assert_int_equal(get16(d + 10), cid);
	assert_int_equal(get16(d + 12) >> 1, S_LBA);
	assert_int_equal(get64(d + 16), NS_BLOCKS);
	assert_int_equal(get32(d + 24), 2);
	assert_int_equal(get64(d + 64), 1);
	/* An offset, and more bytes than the log has. */
	assert_int_equal(get_log(c, 0x01, 0, 1024, 64, false), S_OK);
	assert_int_equal(get64(d + 0), 1);
	assert_true(all_zero(d + 64, 1024 - 64));
	assert_int_equal(d[1024], 0xaa);

	/* SMART / health: for the controller only. */
	assert_int_equal(get_log(c, 0x02, 0xffffffff, 512, 0, false), S_OK);
	assert_int_equal(get16(d + 1), 310);	/* composite temperature, kelvin */
	assert_int_equal(d[3], 100);		/* available spare */
	assert_int_equal(get64(d + 176), 2);	/* error log entries */
	assert_int_equal(get_log(c, 0x02, 0, 512, 0, false), S_OK);
	assert_int_equal(get_log(c, 0x02, 1, 512, 0, false), S_FIELD);

	/* Firmware slots: slot 1 active. */
	assert_int_equal(get_log(c, 0x03, 0, 512, 0, false), S_OK);
	assert_int_equal(d[0] & 7, 1);
	assert_memory_equal(d + 8, "1.0     ", 8);

	assert_int_equal(get_log(c, 0x7f, 0, 512, 0, false), S_LOG);
	assert_int_equal(get_log(c, 0x00, 0, 512, 0, false), S_LOG);
	assert_int_equal(get_log(c, 0x01, 0, 64, 2, false), S_FIELD);	/* not dword aligned */
	assert_int_equal(get_log(c, 0x01, 0, 64, 1024, false), S_FIELD);	/* past the log */
	assert_int_equal(get_log(c, 0x03, 0, 64, 1ull << 32, false), S_FIELD);
	assert_int_equal(get_log(c, 0x01, 0, 8u << 20, 0, false), S_FIELD);	/* over MDTS */
}

static void test_smart_counters(void **state)
{
	struct ctx *c = *state;
	const uint8_t *d = hm(c, BUF);
	uint64_t reads, writes, units_r, units_w;

	ioq_add(c, 1, 16, 16, 1);
	assert_int_equal(get_log(c, 0x02, 0, 512, 0, false), S_OK);
	units_r = get64(d + 32);
	units_w = get64(d + 48);
	reads = get64(d + 64);
	writes = get64(d + 80);
	assert_int_equal(units_r | units_w | reads | writes, 0);

	fill(hm(c, DATA_A), 1001 * 512, 1);
	assert_int_equal(rw(c, IO_WRITE, 1, 0, 1001, DATA_A), S_OK);
	assert_int_equal(rw(c, IO_WRITE, 2, 0, 1, DATA_A), S_OK);
	for (int i = 0; i < 3; i++)
		assert_int_equal(rw(c, IO_READ, 1, 8 * i, 8, DATA_B), S_OK);
	assert_int_equal(rw(c, IO_READ, 1, NS_BLOCKS, 8, DATA_B), S_LBA); /* not counted */

	assert_int_equal(get_log(c, 0x02, 0, 512, 0, false), S_OK);
	assert_int_equal(get64(d + 32), 1);	/* 24 units read, in thousands rounded up */
	assert_int_equal(get64(d + 48), 2);	/* 1002 units written */
	assert_int_equal(get64(d + 64), 3);	/* host read commands */
	assert_int_equal(get64(d + 80), 2);	/* host write commands */
	assert_int_equal(get64(d + 176), 1);	/* error log entries */
}

static void test_abort(void **state)
{
	struct ctx *c = *state;
	struct cmd k = cmd(A_ABORT, 0);
	uint32_t dw0 = 0;
	uint16_t aer;
	struct cqe e;

	/* Nothing to abort: the command is done, DW0 bit 0 says not aborted. */
	k.dw[10] = 0x7777u << 16;
	assert_int_equal(admin(c, k, &dw0), S_OK);
	assert_int_equal(dw0 & 1, 1);
	ioq_add(c, 1, 16, 16, 1);
	k.dw[10] = 1 | 0x7777u << 16;
	assert_int_equal(admin(c, k, &dw0), S_OK);
	assert_int_equal(dw0 & 1, 1);

	/* An outstanding AER: the Abort completes, then the AER, aborted. */
	aer = sq_put(c, 0, cmd(A_AER, 0));
	sq_ring(c, 0);
	assert_int_equal(get_feat(c, 0x08, 0, 0, NULL), S_OK); /* the AER waits */
	k.dw[10] = (uint32_t)aer << 16;
	dw0 = 1;
	assert_int_equal(admin(c, k, &dw0), S_OK);
	assert_int_equal(dw0 & 1, 0);
	cq_pop(c, 0, &e, true);
	assert_int_equal(e.cid, aer);
	assert_int_equal(e.sqid, 0);
	assert_int_equal(e.status, S_ABORTED);
	/* Once only. */
	assert_int_equal(admin(c, k, &dw0), S_OK);
	assert_int_equal(dw0 & 1, 1);
	assert_false(cq_has(c, 0));
}

/*
 * Aborts of AERs never overflow a completion queue: with a 2-entry admin
 * CQ the aborted AER's completion waits for room; and a full batch of 32
 * commands with 4 Aborts of older AERs gives every completion once.
 */
static void test_abort_room(void **state)
{
	struct ctx *c = *state;
	struct cmd k = cmd(A_ABORT, 0);
	uint16_t aer[4], cids[32], ab;
	bool seen[32] = { false }, aborted[4] = { false };
	unsigned int want, got = 0;
	uint32_t dw0 = 1;
	struct cqe e;

	ctrl_disable(c);
	ctrl_enable2(c, 8, 2);
	aer[0] = sq_put(c, 0, cmd(A_AER, 0));
	sq_ring(c, 0);
	assert_int_equal(get_feat(c, 0x08, 0, 0, NULL), S_OK);
	k.dw[10] = (uint32_t)aer[0] << 16;
	ab = sq_put(c, 0, k);
	sq_ring(c, 0);
	cq_pop(c, 0, &e, false);
	assert_int_equal(e.cid, ab);
	assert_false(cq_has(c, 0)); /* no room: nothing more yet */
	wr(c, R_CQHDBL(0), c->cq[0].pos);
	if ((e.dw0 & 1) == 0) {
		cq_pop(c, 0, &e, true);
		assert_int_equal(e.cid, aer[0]);
		assert_int_equal(e.status, S_ABORTED);
	}

	ctrl_disable(c);
	ctrl_enable(c, 64);
	for (int i = 0; i < 4; i++)
		aer[i] = sq_put(c, 0, cmd(A_AER, 0));
	sq_ring(c, 0);
	assert_int_equal(get_feat(c, 0x08, 0, 0, NULL), S_OK);
	for (int i = 0; i < 32; i++) {
		k.dw[10] = (uint32_t)aer[i / 8] << 16;
		cids[i] = sq_put(c, 0, i % 8 == 3 ? k : cmd(A_KEEP_ALIVE, 0));
	}
	sq_ring(c, 0);
	want = 32;
	while (got < want) {
		int i;

		cq_pop(c, 0, &e, true);
		got++;
		for (i = 0; i < 32 && cids[i] != e.cid; i++)
			;
		if (i < 32) {
			assert_false(seen[i]);
			seen[i] = true;
			assert_int_equal(e.status, S_OK);
			if (i % 8 == 3 && !(e.dw0 & 1)) {
				aborted[i / 8] = true;
				want++;
			}
			continue;
		}
		for (i = 0; i < 4 && aer[i] != e.cid; i++)
			;
		assert_true(i < 4);
		assert_int_equal(e.status, S_ABORTED);
		assert_true(aborted[i]);
		aborted[i] = false;
	}
	assert_int_equal(get_feat(c, 0x08, 0, 0, &dw0), S_OK);
	assert_false(cq_has(c, 0));
	assert_int_equal(rd(c, R_CSTS), CSTS_RDY);
}

static void test_aer(void **state)
{
	struct ctx *c = *state;
	uint16_t aer[5];
	struct cqe e;

	ioq_add(c, 1, 16, 16, 1);
	/* A doorbell of a queue that does not exist. */
	aer[0] = sq_put(c, 0, cmd(A_AER, 0));
	sq_ring(c, 0);
	wr(c, R_SQTDBL(9), 1);
	cq_pop(c, 0, &e, true);
	assert_int_equal(e.cid, aer[0]);
	assert_int_equal(e.status, S_OK);
	assert_int_equal(e.dw0, 0x00010000);	/* error, invalid doorbell, log 01h */
	assert_int_equal(get_log(c, 0x01, 0, 64, 0, false), S_OK);

	/* A value past the queue's size: an SQ tail, then a CQ head. */
	aer[1] = sq_put(c, 0, cmd(A_AER, 0));
	sq_ring(c, 0);
	wr(c, R_SQTDBL(1), 16);
	cq_pop(c, 0, &e, true);
	assert_int_equal(e.cid, aer[1]);
	assert_int_equal(e.dw0, 0x00010100);	/* error, invalid doorbell value */
	assert_int_equal(get_log(c, 0x01, 0, 64, 0, false), S_OK);
	aer[2] = sq_put(c, 0, cmd(A_AER, 0));
	sq_ring(c, 0);
	wr(c, R_CQHDBL(0), 64);
	cq_pop(c, 0, &e, true);
	assert_int_equal(e.cid, aer[2]);
	assert_int_equal(e.dw0, 0x00010100);

	/*
	 * Reported, the error type is masked until the host reads the error
	 * log with RAE cleared (NVMe 1.4, 5.2).
	 */
	aer[3] = sq_put(c, 0, cmd(A_AER, 0));
	sq_ring(c, 0);
	wr(c, R_CQHDBL(7), 1);
	assert_int_equal(get_feat(c, 0x08, 0, 0, NULL), S_OK);
	assert_int_equal(get_log(c, 0x01, 0, 64, 0, true), S_OK);	/* RAE: stays */
	assert_false(cq_has(c, 0));
	assert_int_equal(get_log(c, 0x01, 0, 64, 0, false), S_OK);
	cq_pop(c, 0, &e, true);
	assert_int_equal(e.cid, aer[3]);
	assert_int_equal(e.dw0, 0x00010000);
	assert_int_equal(get_log(c, 0x01, 0, 64, 0, false), S_OK);

	/* The I/O queue still works: the bad doorbell value was not taken. */
	assert_int_equal(exec(c, 1, cmd(IO_FLUSH, 1), NULL), S_OK);

	/* At most 4 outstanding. */
	for (int i = 0; i < 4; i++)
		aer[i] = sq_put(c, 0, cmd(A_AER, 0));
	sq_ring(c, 0);
	assert_int_equal(admin(c, cmd(A_AER, 0), NULL), S_AERL);
	wr(c, R_SQTDBL(12), 3);
	cq_pop(c, 0, &e, true);
	assert_true(e.cid == aer[0] || e.cid == aer[1] || e.cid == aer[2] || e.cid == aer[3]);
	assert_int_equal(e.dw0, 0x00010000);
	assert_false(cq_has(c, 0));
	/* One completed: room for one more, not two. */
	aer[4] = sq_put(c, 0, cmd(A_AER, 0));
	sq_ring(c, 0);
	assert_int_equal(admin(c, cmd(A_AER, 0), NULL), S_AERL);
	assert_int_equal(get_log(c, 0x01, 0, 64, 0, false), S_OK);
	assert_false(cq_has(c, 0)); /* no event pending: the AERs wait */
}

static void test_keep_alive(void **state)
{
	struct ctx *c = *state;
	uint32_t dw0 = 0;

	assert_int_equal(admin(c, cmd(A_KEEP_ALIVE, 0), NULL), S_OK);	/* KATO 0: off */
	assert_int_equal(get_feat(c, 0x0f, 0, 0, &dw0), S_OK);
	assert_int_equal(dw0, 0);
	/* A minute, so that nothing here can expire it. */
	assert_int_equal(set_feat(c, 0x0f, 60000, NULL), S_OK);
	assert_int_equal(get_feat(c, 0x0f, 0, 0, &dw0), S_OK);
	assert_int_equal(dw0, 60000);
	assert_int_equal(admin(c, cmd(A_KEEP_ALIVE, 0), NULL), S_OK);
	assert_int_equal(rd(c, R_CSTS), CSTS_RDY);
	/* One second (one KAS) without a Keep Alive: controller fatal. */
	assert_int_equal(set_feat(c, 0x0f, 1000, NULL), S_OK);
	wait_csts(c, CSTS_CFS, CSTS_CFS);
	assert_int_equal(rd(c, R_CSTS) & CSTS_RDY, CSTS_RDY);
	ctrl_disable(c);
	ctrl_enable(c, 64);
	assert_int_equal(get_feat(c, 0x0f, 0, 0, &dw0), S_OK);
	assert_int_equal(dw0, 0);
}

static void test_admin_misc(void **state)
{
	struct ctx *c = *state;
	struct cmd k = cmd(A_GET, 0);

	assert_int_equal(admin(c, cmd(0x7f, 0), NULL), S_OPCODE);
	assert_int_equal(admin(c, cmd(0xc1, 0), NULL), S_OPCODE);	/* vendor specific */
	assert_int_equal(admin(c, cmd(0x80, 0), NULL), S_OPCODE);	/* Format NVM: absent */
	k.dw[10] = 0x08;
	k.dw[0] |= 1u << 8;	/* fused */
	assert_int_equal(admin(c, k, NULL), S_FIELD);
	k.dw[0] = A_GET | 1u << 14;	/* SGL */
	assert_int_equal(admin(c, k, NULL), S_FIELD);
	/* Identify at an unmapped address: the transfer fails. */
	assert_int_equal(identify(c, 1, 0, UNMAPPED), S_XFER);
	assert_int_equal(rd(c, R_CSTS), CSTS_RDY);
}

/* ---- I/O ---- */

static void test_io_prp(void **state)
{
	struct ctx *c = *state;
	const uint64_t list2 = LIST + 4 * PAGE;

	ioq_add(c, 1, 64, 64, 1);
	/* PRP1 only: a page, and 3.5 KiB at an offset. */
	roundtrip(c, 1, 0, 8, DATA_A, LIST, DATA_B, list2, 1);
	roundtrip(c, 1, 8, 7, DATA_A + 0x200, LIST, DATA_B + 0x200, list2, 2);
	/* PRP1 and PRP2: two whole pages; a page at an offset over two. */
	roundtrip(c, 1, 16, 16, DATA_A, LIST, DATA_B, list2, 3);
	roundtrip(c, 1, 32, 8, DATA_A + 0x804, LIST, DATA_B + 0x800, list2, 4);
	/* A list: 64 KiB with PRP1 at an offset; read back page aligned. */
	roundtrip(c, 1, 64, 128, DATA_A + 0x400, LIST, DATA_B, list2, 5);
	/* A list pointer with an offset, as QEMU's driver makes them. */
	roundtrip(c, 1, 256, 512, DATA_A, LIST + 8, DATA_B + 0x10, list2 + 0x800, 6);
	/* MDTS (1 MiB), the list chained over a page boundary. */
	roundtrip(c, 1, 1024, MAX_BLOCKS, DATA_A, LIST + PAGE - 16, DATA_B, list2 + PAGE - 8, 7);
	roundtrip(c, 1, 2048, MAX_BLOCKS, DATA_A + 0x200, LIST + PAGE - 24, DATA_B + 0x600,
		  list2, 8);
	/* Data written in one layout reads back in pieces. */
	memset(hm(c, DATA_B), 0, 8 * PAGE);
	for (int i = 0; i < 8; i++)
		assert_int_equal(rw(c, IO_READ, 1, 2048 + 8 * i, 8, DATA_B + (uint64_t)i * PAGE),
				 S_OK);
	assert_memory_equal(hm(c, DATA_B), hm(c, DATA_A + 0x200), 8 * PAGE);

	/* Over MDTS. */
	assert_int_equal(rw(c, IO_READ, 1, 0, MAX_BLOCKS + 1, DATA_A), S_FIELD);
	assert_int_equal(rw(c, IO_WRITE, 1, 0, MAX_BLOCKS + 1, DATA_A), S_FIELD);
}

static void test_io_prp_errors(void **state)
{
	struct ctx *c = *state;
	struct cmd k;

	ioq_add(c, 1, 64, 64, 1);
	/* An unmapped IOVA: in PRP1, in PRP2, as the list pointer, in the list. */
	k = cmd(IO_READ, 1);
	cmd_prp(&k, UNMAPPED, 0);
	cmd_lba(&k, 0, 8);
	assert_int_equal(exec(c, 1, k, NULL), S_XFER);
	k = cmd(IO_WRITE, 1);
	cmd_prp(&k, UNMAPPED, 0);
	cmd_lba(&k, 0, 8);
	assert_int_equal(exec(c, 1, k, NULL), S_XFER);
	k = cmd(IO_WRITE, 1);
	cmd_prp(&k, DATA_A, UNMAPPED);
	cmd_lba(&k, 0, 16);
	assert_int_equal(exec(c, 1, k, NULL), S_XFER);
	k = cmd(IO_READ, 1);
	cmd_prp(&k, DATA_A, UNMAPPED);
	cmd_lba(&k, 0, 24);
	assert_int_equal(exec(c, 1, k, NULL), S_XFER);
	put64(hm(c, LIST), DATA_A + PAGE);
	put64(hm(c, LIST + 8), UNMAPPED);
	k = cmd(IO_READ, 1);
	cmd_prp(&k, DATA_A, LIST);
	cmd_lba(&k, 0, 24);
	assert_int_equal(exec(c, 1, k, NULL), S_XFER);

	/* Misaligned: PRP1 off a dword, PRP2 and list entries off a page. */
	k = cmd(IO_WRITE, 1);
	cmd_prp(&k, DATA_A + 2, 0);
	cmd_lba(&k, 0, 1);
	assert_int_equal(exec(c, 1, k, NULL), S_PRP_OFF);
	k = cmd(IO_WRITE, 1);
	cmd_prp(&k, DATA_A, DATA_A + PAGE + 0x10);
	cmd_lba(&k, 0, 16);
	assert_int_equal(exec(c, 1, k, NULL), S_PRP_OFF);
	put64(hm(c, LIST), DATA_A + PAGE);
	put64(hm(c, LIST + 8), DATA_A + 2 * PAGE + 0x200);
	k = cmd(IO_WRITE, 1);
	cmd_prp(&k, DATA_A, LIST);
	cmd_lba(&k, 0, 24);
	assert_int_equal(exec(c, 1, k, NULL), S_PRP_OFF);
	k = cmd(IO_WRITE, 1);
	cmd_prp(&k, DATA_A, LIST + 4); /* a list pointer off a qword */
	cmd_lba(&k, 0, 24);
	assert_int_equal(exec(c, 1, k, NULL), S_PRP_OFF);

	/*
	 * A chain pointer must be page aligned: one at an offset, and a list
	 * whose only slot points at itself, which must not spin forever.
	 */
	put64(hm(c, LIST + PAGE - 16), DATA_A + PAGE);
	put64(hm(c, LIST + PAGE - 8), LIST + PAGE + 8);
	put64(hm(c, LIST + PAGE + 8), DATA_A + 2 * PAGE);
	put64(hm(c, LIST + PAGE + 16), DATA_A + 3 * PAGE);
	k = cmd(IO_WRITE, 1);
	cmd_prp(&k, DATA_A, LIST + PAGE - 16);
	cmd_lba(&k, 0, 32);
	assert_int_equal(exec(c, 1, k, NULL), S_PRP_OFF);
	put64(hm(c, LIST + PAGE - 8), LIST + PAGE - 8);
	k = cmd(IO_READ, 1);
	cmd_prp(&k, DATA_A, LIST + PAGE - 8);
	cmd_lba(&k, 0, 24);
	assert_int_equal(exec(c, 1, k, NULL), S_PRP_OFF);

	/* SGLs and fused operations are not supported. */
	k = cmd(IO_READ, 1);
	cmd_prp(&k, DATA_A, 0);
	cmd_lba(&k, 0, 1);
	k.dw[0] |= 1u << 14;
	assert_int_equal(exec(c, 1, k, NULL), S_FIELD);
	k.dw[0] = IO_READ | 2u << 14;
	assert_int_equal(exec(c, 1, k, NULL), S_FIELD);
	k.dw[0] = IO_COMPARE | 1u << 8;
	assert_int_equal(exec(c, 1, k, NULL), S_FIELD);
	k.dw[0] = IO_WRITE | 2u << 8;
	assert_int_equal(exec(c, 1, k, NULL), S_FIELD);
	/* The controller is fine after all of it. */
	roundtrip(c, 1, 0, 24, DATA_A, LIST, DATA_B, LIST + PAGE, 9);
	assert_int_equal(rd(c, R_CSTS), CSTS_RDY);
}

static void test_io_commands(void **state)
{
	struct ctx *c = *state;
	const size_t blk = 512;
	uint8_t *a = hm(c, DATA_A), *b = hm(c, DATA_B);
	struct cmd k;

	ioq_add(c, 1, 64, 64, 1);

	/* Write Zeroes, without and with Deallocate. */
	fill(a, 32 * blk, 11);
	assert_int_equal(rw(c, IO_WRITE, 1, 100, 32, DATA_A), S_OK);
	k = cmd(IO_ZEROES, 1);
	cmd_lba(&k, 104, 8);
	assert_int_equal(exec(c, 1, k, NULL), S_OK);
	k = cmd(IO_ZEROES, 1);
	cmd_lba(&k, 120, 4);
	k.dw[12] |= 1u << 25; /* DEAC */
	assert_int_equal(exec(c, 1, k, NULL), S_OK);
	memset(b, 0xff, 32 * blk);
	assert_int_equal(rw(c, IO_READ, 1, 100, 32, DATA_B), S_OK);
	assert_memory_equal(b, a, 4 * blk);
	assert_true(all_zero(b + 4 * blk, 8 * blk));
	assert_memory_equal(b + 12 * blk, a + 12 * blk, 8 * blk);
	assert_true(all_zero(b + 20 * blk, 4 * blk));
	assert_memory_equal(b + 24 * blk, a + 24 * blk, 8 * blk);

	/* Dataset Management: deallocated ranges read 0; hints change nothing. */
	fill(a, 32 * blk, 12);
	assert_int_equal(rw(c, IO_WRITE, 1, 200, 32, DATA_A), S_OK);
	memset(hm(c, BUF), 0, PAGE);
	put32(hm(c, BUF + 4), 3);
	put64(hm(c, BUF + 8), 202);
	put32(hm(c, BUF + 16 + 4), 5);
	put64(hm(c, BUF + 16 + 8), 220);
	put64(hm(c, BUF + 32 + 8), 1ull << 60);	/* length 0: ignored */
	k = cmd(IO_DSM, 1);
	cmd_prp(&k, BUF, 0);
	k.dw[10] = 2;		/* three ranges */
	k.dw[11] = 1;		/* integral dataset for read: a hint */
	assert_int_equal(exec(c, 1, k, NULL), S_OK);
	assert_int_equal(rw(c, IO_READ, 1, 200, 32, DATA_B), S_OK);
	assert_memory_equal(b, a, 32 * blk);
	k.dw[11] = 1u << 2;	/* AD */
	assert_int_equal(exec(c, 1, k, NULL), S_OK);
	memset(b, 0xff, 32 * blk);
	assert_int_equal(rw(c, IO_READ, 1, 200, 32, DATA_B), S_OK);
	assert_memory_equal(b, a, 2 * blk);
	assert_true(all_zero(b + 2 * blk, 3 * blk));
	assert_memory_equal(b + 5 * blk, a + 5 * blk, 15 * blk);
	assert_true(all_zero(b + 20 * blk, 5 * blk));
	assert_memory_equal(b + 25 * blk, a + 25 * blk, 7 * blk);

	/* Compare. */
	fill(a, 8 * blk, 13);
	assert_int_equal(rw(c, IO_WRITE, 1, 300, 8, DATA_A), S_OK);
	assert_int_equal(rw(c, IO_COMPARE, 1, 300, 8, DATA_A), S_OK);
	a[7 * blk + 100] ^= 0x40;
	assert_int_equal(rw(c, IO_COMPARE, 1, 300, 8, DATA_A), S_COMPARE);
	assert_int_equal(rw(c, IO_COMPARE, 1, 300, 6, DATA_A), S_OK);

	/* Flush: one namespace or all. */
	assert_int_equal(exec(c, 1, cmd(IO_FLUSH, 1), NULL), S_OK);
	assert_int_equal(exec(c, 1, cmd(IO_FLUSH, 0xffffffff), NULL), S_OK);
	assert_int_equal(exec(c, 1, cmd(IO_FLUSH, 3), NULL), S_NS);
	assert_int_equal(exec(c, 1, cmd(IO_FLUSH, 0), NULL), S_NS);

	/* Forced unit access writes, and with the volatile write cache off. */
	assert_int_equal(set_feat(c, 0x06, 0, NULL), S_OK);
	fill(a, 8 * blk, 14);
	k = cmd(IO_WRITE, 1);
	cmd_prp(&k, DATA_A, 0);
	cmd_lba(&k, 400, 8);
	k.dw[12] |= 1u << 30;
	assert_int_equal(exec(c, 1, k, NULL), S_OK);
	assert_int_equal(rw(c, IO_READ, 1, 400, 8, DATA_B), S_OK);
	assert_memory_equal(b, a, 8 * blk);
}

static void test_io_namespaces(void **state)
{
	struct ctx *c = *state;
	const size_t len = 8 * 512;
	struct cmd k;

	ioq_add(c, 1, 64, 64, 1);
	ioq_add(c, 2, 64, 64, 2); /* a second pair, on another vector */
	fill(hm(c, DATA_A), len, 21);
	fill(hm(c, DATA_A + len), len, 22);
	assert_int_equal(rw(c, IO_WRITE, 1, 0, 8, DATA_A), S_OK);
	k = cmd(IO_WRITE, 2);
	cmd_prp(&k, DATA_A + len, 0);
	cmd_lba(&k, 0, 8);
	assert_int_equal(exec(c, 2, k, NULL), S_OK);
	assert_int_equal(rw(c, IO_READ, 1, 0, 8, DATA_B), S_OK);
	assert_memory_equal(hm(c, DATA_B), hm(c, DATA_A), len);
	assert_int_equal(rw(c, IO_READ, 2, 0, 8, DATA_B), S_OK);
	assert_memory_equal(hm(c, DATA_B), hm(c, DATA_A + len), len);
	/* The last block of each namespace. */
	roundtrip(c, 2, NS_BLOCKS - 1, 1, DATA_A, LIST, DATA_B, LIST, 23);
	roundtrip(c, 1, NS_BLOCKS - 1, 1, DATA_A + 512, LIST, DATA_B + 512, LIST, 24);
	assert_int_equal(rw(c, IO_READ, 2, NS_BLOCKS - 1, 1, DATA_B), S_OK);
	assert_memory_equal(hm(c, DATA_B), hm(c, DATA_A), 512);
	assert_int_equal(rw(c, IO_READ, 2, 0, 8, DATA_B), S_OK);
	assert_memory_equal(hm(c, DATA_B), hm(c, DATA_A + len), len);
	k = cmd(IO_READ, 1);
	cmd_prp(&k, DATA_B, 0);
	cmd_lba(&k, 0, 8);
	assert_int_equal(exec(c, 2, k, NULL), S_OK); /* ns 1 through SQ 2 */
	assert_int_equal(rw(c, IO_COMPARE, 1, 0, 8, DATA_B), S_OK);
}

static void test_io_errors(void **state)
{
	struct ctx *c = *state;
	struct cmd k;

	ioq_add(c, 1, 64, 64, 1);
	/* LBA out of range. */
	assert_int_equal(rw(c, IO_READ, 1, NS_BLOCKS, 1, DATA_A), S_LBA);
	assert_int_equal(rw(c, IO_WRITE, 1, NS_BLOCKS - 1, 2, DATA_A), S_LBA);
	assert_int_equal(rw(c, IO_COMPARE, 2, 1ull << 63, 1, DATA_A), S_LBA);
	assert_int_equal(rw(c, IO_READ, 1, UINT64_MAX, 1, DATA_A), S_LBA);
	k = cmd(IO_ZEROES, 1);
	cmd_lba(&k, NS_BLOCKS - 100, 101);
	assert_int_equal(exec(c, 1, k, NULL), S_LBA);
	memset(hm(c, BUF), 0, 32);
	put32(hm(c, BUF + 4), 1);
	put64(hm(c, BUF + 8), 0);
	put32(hm(c, BUF + 16 + 4), 11);
	put64(hm(c, BUF + 16 + 8), NS_BLOCKS - 10);
	k = cmd(IO_DSM, 1);
	cmd_prp(&k, BUF, 0);
	k.dw[10] = 1;
	k.dw[11] = 1u << 2;
	assert_int_equal(exec(c, 1, k, NULL), S_LBA);

	/* Invalid namespace ids. */
	assert_int_equal(rw(c, IO_READ, 3, 0, 1, DATA_A), S_NS);
	assert_int_equal(rw(c, IO_WRITE, 0, 0, 1, DATA_A), S_NS);
	assert_int_equal(rw(c, IO_COMPARE, 0xffffffff, 0, 1, DATA_A), S_NS);
	k = cmd(IO_ZEROES, 17);
	cmd_lba(&k, 0, 1);
	assert_int_equal(exec(c, 1, k, NULL), S_NS);
	k = cmd(IO_DSM, 0);
	cmd_prp(&k, BUF, 0);
	assert_int_equal(exec(c, 1, k, NULL), S_NS);

	/* Unknown opcodes. */
	assert_int_equal(exec(c, 1, cmd(0x7e, 1), NULL), S_OPCODE);
	assert_int_equal(exec(c, 1, cmd(0x04, 1), NULL), S_OPCODE);	/* Write Uncorrectable */
	assert_int_equal(exec(c, 1, cmd(0x81, 1), NULL), S_OPCODE);
	assert_int_equal(rd(c, R_CSTS), CSTS_RDY);
}

/* A CQ of 2 entries has room for one completion until its head moves. */
static void test_full_cq(void **state)
{
	struct ctx *c = *state;
	uint16_t cids[4];
	struct cqe e;

	ioq_add(c, 1, 8, 2, 1);
	for (int i = 0; i < 4; i++) {
		struct cmd k = cmd(IO_WRITE, 1);

		fill(hm(c, DATA_A + (uint64_t)i * PAGE), PAGE, 30 + (uint32_t)i);
		cmd_prp(&k, DATA_A + (uint64_t)i * PAGE, 0);
		cmd_lba(&k, 8ull * (uint64_t)i, 8);
		cids[i] = sq_put(c, 1, k);
	}
	sq_ring(c, 1);
	for (int i = 0; i < 4; i++) {
		cq_pop(c, 1, &e, false);
		assert_int_equal(e.cid, cids[i]);
		assert_int_equal(e.status, S_OK);
		assert_int_equal(e.sqhd, i + 1);
		/* The device has looked at the queue since: still nothing. */
		assert_int_equal(get_feat(c, 0x08, 0, 0, NULL), S_OK);
		assert_false(cq_has(c, 1));
		wr(c, R_CQHDBL(1), c->cq[1].pos);
	}
	assert_int_equal(get_feat(c, 0x08, 0, 0, NULL), S_OK);
	assert_false(cq_has(c, 1));
	assert_int_equal(rw(c, IO_READ, 1, 0, 32, DATA_B), S_OK);
	assert_memory_equal(hm(c, DATA_B), hm(c, DATA_A), 4 * PAGE);
}

/* Queues whose memory the device cannot reach: Controller Fatal Status. */
static void test_unmapped_queues(void **state)
{
	struct ctx *c = *state;

	/* An I/O SQ. */
	assert_int_equal(create_cq(c, 1, 16, CQ_IOVA(1), 3, 1), S_OK);
	assert_int_equal(create_sq(c, 1, 16, UNMAPPED, 1, 1), S_OK);
	wr(c, R_SQTDBL(1), 1);
	wait_csts(c, CSTS_CFS, CSTS_CFS);
	ctrl_disable(c);

	/* An I/O CQ. */
	ctrl_enable(c, 64);
	assert_int_equal(create_cq(c, 1, 16, UNMAPPED, 3, 1), S_OK);
	assert_int_equal(create_sq(c, 1, 16, SQ_IOVA(1), 1, 1), S_OK);
	sq_put(c, 1, cmd(IO_FLUSH, 1));
	sq_ring(c, 1);
	wait_csts(c, CSTS_CFS, CSTS_CFS);
	/* Fatal: further doorbells are ignored. */
	wr(c, R_SQTDBL(0), 1);
	ctrl_disable(c);

	/* The admin SQ, then the admin CQ. */
	ctrl_start(c, 64, 64, CC_ON, UNMAPPED);
	wait_csts(c, CSTS_RDY, CSTS_RDY);
	wr(c, R_SQTDBL(0), 1);
	wait_csts(c, CSTS_CFS, CSTS_CFS);
	ctrl_disable(c);
	wr(c, R_AQA, 0x003f003f);
	wr64(c, R_ASQ, ASQ_IOVA);
	wr64(c, R_ACQ, UNMAPPED + PAGE);
	wr(c, R_CC, CC_ON);
	wait_csts(c, CSTS_RDY, CSTS_RDY);
	c->sq[0] = (struct q){ .base = ASQ_IOVA, .size = 64 };
	sq_put(c, 0, cmd(A_KEEP_ALIVE, 0));
	sq_ring(c, 0);
	wait_csts(c, CSTS_CFS, CSTS_CFS);
	ctrl_disable(c);

	ctrl_enable(c, 64);
	assert_int_equal(identify(c, 1, 0, BUF), S_OK);
}

/*
 * The client's own path: registers and doorbells written in the mapped
 * BAR, seen by the poller. Queues deleted and made again start from
 * doorbell 0, whatever the old queue's doorbell said.
 */
static void test_mapped_doorbells(void **state)
{
	struct ctx *c = *state;

	c->mapped = true;
	ctrl_enable(c, 16);
	assert_int_equal(rd64(c, R_CAP), CAP_WANT);
	assert_int_equal(identify(c, 1, 0, BUF), S_OK);
	assert_int_equal(get16(hm(c, BUF)), 0x1234);
	/* One command per queue life: the new queue's first doorbell values
	 * are the ones the old queue left in the BAR. */
	fill(hm(c, DATA_A), 4 * PAGE, 40);
	for (int round = 0; round < 3; round++) {
		ioq_add(c, 1, 16, 16, 1);
		if (round == 0) {
			assert_int_equal(rw(c, IO_WRITE, 1, 0, 32, DATA_A), S_OK);
		} else {
			memset(hm(c, DATA_B), 0, 4 * PAGE);
			assert_int_equal(rw(c, IO_READ, 1, 0, 32, DATA_B), S_OK);
			assert_memory_equal(hm(c, DATA_B), hm(c, DATA_A), 4 * PAGE);
		}
		assert_int_equal(rd(c, R_SQTDBL(1)), 1);
		assert_int_equal(rd(c, R_CQHDBL(1)), 1);
		assert_int_equal(delete_q(c, A_DEL_SQ, 1), S_OK);
		assert_int_equal(delete_q(c, A_DEL_CQ, 1), S_OK);
	}
	wr(c, R_CC, 0);
	wait_csts(c, ~0u, 0);
}


/* ---- options and stores ---- */

#define MAX_TMP 4
static char tmp_paths[MAX_TMP][64];
static unsigned int tmp_count;

/* A unique file name in /tmp, removed at the end of the run. */
static const char *tmp_name(void)
{
	char *p;

	assert_true(tmp_count < MAX_TMP);
	p = tmp_paths[tmp_count++];
	snprintf(p, sizeof(tmp_paths[0]), "/tmp/test-emu-nvme-%d-%u.img", (int)getpid(), tmp_count);
	unlink(p);
	return p;
}

static int tmp_cleanup(void **state)
{
	(void)state;
	for (unsigned int i = 0; i < tmp_count; i++)
		unlink(tmp_paths[i]);
	return 0;
}

static void test_file_store(void **state)
{
	const char *path = tmp_name();
	uint8_t want[PAGE + 512], back[PAGE];
	char opts[128];
	struct ctx *c;
	struct cmd k;
	int fd;

	(void)state;
	snprintf(opts, sizeof(opts), "file=%s,size=1M", path);
	c = ctx_new(opts);
	ctrl_enable(c, 8);
	assert_int_equal(identify(c, 0, 1, BUF), S_OK);
	assert_int_equal(get64(hm(c, BUF)), 2048);
	ioq_add(c, 1, 16, 16, 1);
	fill(hm(c, DATA_A), 2 * PAGE, 51);
	assert_int_equal(rw(c, IO_WRITE, 1, 10, 8, DATA_A), S_OK);
	assert_int_equal(rw(c, IO_WRITE, 1, 2047, 1, DATA_A + PAGE), S_OK);
	k = cmd(IO_ZEROES, 1);
	cmd_lba(&k, 12, 2);
	k.dw[12] |= 1u << 25;
	assert_int_equal(exec(c, 1, k, NULL), S_OK);
	assert_int_equal(exec(c, 1, cmd(IO_FLUSH, 0xffffffff), NULL), S_OK);
	memcpy(want, hm(c, DATA_A), PAGE);
	memset(want + 2 * 512, 0, 2 * 512);
	memcpy(want + PAGE, hm(c, DATA_A + PAGE), 512);
	ctx_free(c);

	/* The file holds it once the device is gone. */
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(lseek(fd, 0, SEEK_END), 1 << 20);
	assert_int_equal(pread(fd, back, PAGE, 10 * 512), PAGE);
	assert_memory_equal(back, want, PAGE);
	assert_int_equal(pread(fd, back, 512, 2047 * 512), 512);
	assert_memory_equal(back, want + PAGE, 512);
	assert_int_equal(pread(fd, back, PAGE, 0), PAGE);
	assert_true(all_zero(back, 10 * 512 > PAGE ? PAGE : 10 * 512));
	close(fd);

	/* A new device on the file takes its size from it and reads it back. */
	snprintf(opts, sizeof(opts), "file=%s", path);
	c = ctx_new(opts);
	ctrl_enable(c, 8);
	assert_int_equal(identify(c, 0, 1, BUF), S_OK);
	assert_int_equal(get64(hm(c, BUF)), 2048);
	ioq_add(c, 1, 16, 16, 1);
	assert_int_equal(rw(c, IO_READ, 1, 10, 8, DATA_B), S_OK);
	assert_memory_equal(hm(c, DATA_B), want, PAGE);
	assert_int_equal(rw(c, IO_READ, 1, 2047, 1, DATA_B), S_OK);
	assert_memory_equal(hm(c, DATA_B), want + PAGE, 512);
	ctx_free(c);

	/* Split in two namespaces, the file's last block is the second's. */
	snprintf(opts, sizeof(opts), "file=%s,namespaces=2", path);
	c = ctx_new(opts);
	ctrl_enable(c, 8);
	assert_int_equal(identify(c, 0, 2, BUF), S_OK);
	assert_int_equal(get64(hm(c, BUF)), 1024);
	ioq_add(c, 1, 16, 16, 1);
	assert_int_equal(rw(c, IO_READ, 2, 1023, 1, DATA_B), S_OK);
	assert_memory_equal(hm(c, DATA_B), want + PAGE, 512);
	ctx_free(c);
}

static void test_options(void **state)
{
	static const char *const bad[] = {
		"size=0", "size=", "size=-1", "size=1Q", "size=1MB", "size=2P",
		"namespaces=0", "namespaces=17", "namespaces=x",
		"block_size=1024", "block_size=0", "block_size=",
		"queues=0", "queues=65",
		"serial=", "serial=123456789012345678901", "serial=a b",
		"file=", "file=/tmp", "bogus=1", "size",
		"size=4K,namespaces=16", "size=2K,block_size=4096",
	};
	static const char *const good[] = {
		"size=1M,namespaces=16", "size=64K,namespaces=16,block_size=4096",
		"queues=64,size=1M", "queues=1,size=1M", "serial=12345678901234567890,size=1M",
		"block_size=512,size=1M", "size=1048576",
	};
	char opts[128], missing[64];
	struct vfc_emu_pci *pci;
	int fds = vfc_t_count_fds();

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		pci = NULL;
		if (vfc_emu_pci_create("nvme", bad[i], &pci) >= 0)
			fail_msg("options \"%s\" were accepted", bad[i]);
		assert_null(pci);
	}
	/* A missing file without a size is not made. */
	snprintf(missing, sizeof(missing), "%s", tmp_name());
	snprintf(opts, sizeof(opts), "file=%s", missing);
	pci = NULL;
	assert_int_equal(vfc_emu_pci_create("nvme", opts, &pci), -ENOENT);
	assert_null(pci);
	assert_int_equal(access(missing, F_OK), -1);
	assert_int_equal(vfc_t_count_fds(), fds);

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		pci = NULL;
		if (vfc_emu_pci_create("nvme", good[i], &pci) < 0)
			fail_msg("options \"%s\" were refused", good[i]);
		vfc_emu_pci_free(pci);
	}
	assert_int_equal(vfc_t_count_fds(), fds);
}

static void test_block_size(void **state)
{
	struct ctx *c = ctx_new("size=4M,block_size=4096");
	const uint8_t *d = hm(c, BUF);

	(void)state;
	c->lba_shift = 12;
	ctrl_enable(c, 8);
	assert_int_equal(identify(c, 0, 1, BUF), S_OK);
	assert_int_equal(get64(d), 1024);
	assert_int_equal(get32(d + 128), 12u << 16);
	ioq_add(c, 1, 16, 16, 1);
	roundtrip(c, 1, 0, 1, DATA_A + 0x100, LIST, DATA_B, LIST + PAGE, 61);
	roundtrip(c, 1, 5, 2, DATA_A, LIST, DATA_B + 0x800, LIST + PAGE, 62);
	roundtrip(c, 1, 1024 - 256, 256, DATA_A, LIST + 8, DATA_B, LIST + 2 * PAGE - 16, 63);
	assert_int_equal(rw(c, IO_READ, 1, 0, 257, DATA_B), S_FIELD);	/* over MDTS */
	assert_int_equal(rw(c, IO_READ, 1, 1023, 2, DATA_B), S_LBA);
	assert_int_equal(get_log(c, 0x02, 0, 512, 0, false), S_OK);
	assert_int_equal(get64(d + 48), 3);	/* 259 blocks: 2072 units of 512 */
	ctx_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_registers, setup_off, teardown),
		cmocka_unit_test_setup_teardown(test_enable_disable, setup_off, teardown),
		cmocka_unit_test_setup_teardown(test_shutdown, setup_off, teardown),
		cmocka_unit_test_setup_teardown(test_bad_enable, setup_off, teardown),
		cmocka_unit_test_setup_teardown(test_vfio_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_identify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_identify_unique, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queues, setup, teardown),
		cmocka_unit_test(test_queues_option),
		cmocka_unit_test_setup_teardown(test_features, setup, teardown),
		cmocka_unit_test_setup_teardown(test_log_pages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_smart_counters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_abort, setup, teardown),
		cmocka_unit_test_setup_teardown(test_abort_room, setup, teardown),
		cmocka_unit_test_setup_teardown(test_aer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keep_alive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_admin_misc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_io_prp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_io_prp_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_io_commands, setup, teardown),
		cmocka_unit_test_setup_teardown(test_io_namespaces, setup, teardown),
		cmocka_unit_test_setup_teardown(test_io_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_cq, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unmapped_queues, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mapped_doorbells, setup_off, teardown),
		cmocka_unit_test(test_file_store),
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_block_size),
	};

	return cmocka_run_group_tests(tests, NULL, tmp_cleanup);
}
