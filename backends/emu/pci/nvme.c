// SPDX-License-Identifier: MIT
/*
 * nvme: an NVMe 1.4 controller (PCI class 01:08:02) with one to sixteen
 * namespaces on a backing file or on RAM, for userspace NVMe drivers
 * (QEMU's block/nvme.c, SPDK, libvfn) without hardware. BAR0 holds the
 * registers and the doorbells (stride 0) in mappable, watched memory: the
 * client writes it directly and the framework's poller hands each changed
 * word to nvme_bar_write(), which keeps the registers the device owns and
 * kicks the work timer on a doorbell. The work runs on the device thread:
 * it takes up to NVME_BATCH commands from one submission queue with one
 * DMA, executes them (I/O straight against the backing store through a
 * bounce buffer, admin commands under the lock), writes their completions
 * with one or two DMAs and sends one interrupt per completion queue.
 * BAR4 holds the MSI-X table (65 vectors) and PBA; MSI and INTx work too.
 *
 * PCI 1234:a5e1 rev 0x01, subsystem 1234:a5e1. Vendor 0x1234 is not
 * assigned by the PCI-SIG (QEMU borrows it for edu); device 0xa5e1 is
 * ours and names no product. docs/devices.md has the registers, commands,
 * options, status codes and limits.
 *
 * Hostile input (bad queue ids and sizes, PRPs at unmapped IOVAs, LBAs out
 * of range, unknown opcodes, full queues, doorbell values past a queue's
 * size) gets the status code the specification names, an asynchronous
 * event, or Controller Fatal Status; it never blocks the daemon.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "emu-pci-model.h"
#include "vfc-log.h"
#include "vfc-macro.h"

/* BAR0 layout */
#define NVME_BAR0_SIZE 0x2000u
#define REG_CAP 0x00
#define REG_VS 0x08
#define REG_INTMS 0x0c
#define REG_INTMC 0x10
#define REG_CC 0x14
#define REG_CSTS 0x1c
#define REG_NSSR 0x20
#define REG_AQA 0x24
#define REG_ASQ 0x28
#define REG_ACQ 0x30
#define REG_DB 0x1000u

#define CC_EN (1u << 0)
#define CC_CSS(cc) (((cc) >> 4) & 7)
#define CC_MPS(cc) (((cc) >> 7) & 0xf)
#define CC_AMS(cc) (((cc) >> 11) & 7)
#define CC_SHN(cc) (((cc) >> 14) & 3)
#define CC_IOSQES(cc) (((cc) >> 16) & 0xf)
#define CC_IOCQES(cc) (((cc) >> 20) & 0xf)
#define CC_WMASK 0x00fffff1u
#define CSTS_RDY (1u << 0)
#define CSTS_CFS (1u << 1)
#define CSTS_SHST_MASK (3u << 2)
#define CSTS_SHST_OCCURRING (1u << 2)
#define CSTS_SHST_COMPLETE (2u << 2)
#define AQA_WMASK 0x0fff0fffu

/* Limits */
#define NVME_PAGE 4096u
#define NVME_MAX_IOQ 64u
#define NVME_NQ (NVME_MAX_IOQ + 1)
#define NVME_MQES 4095u		/* CAP.MQES, 0's based: 4096 entries */
#define NVME_MDTS 8u		/* 2^8 pages: 1 MiB */
#define NVME_MAX_XFER (NVME_PAGE << NVME_MDTS)
#define NVME_MAX_SEGS (NVME_MAX_XFER / NVME_PAGE + 1)
#define NVME_MSIX_VECTORS NVME_NQ
#define NVME_MSI_VECTORS 16u
#define NVME_MAX_NS 16u
#define NVME_AERL 3u		/* 0's based: 4 outstanding */
#define NVME_ACL 3u		/* 0's based abort command limit */
#define NVME_ELPE 3u		/* 0's based: 4 error log entries */
#define NVME_MAX_AEN 8u
#define NVME_BATCH 32u
#define NVME_TO 30u		/* CAP.TO in 500 ms units */
#define NVME_KAS 10u		/* keep alive granularity, 100 ms units */
#define NVME_DEFAULT_SIZE (64ull << 20)
#define NVME_MAX_SIZE (1ull << 50)

/* Status: SCT << 8 | SC */
#define SC_SUCCESS 0x000
#define SC_INVALID_OPCODE 0x001
#define SC_INVALID_FIELD 0x002
#define SC_DATA_XFER_ERROR 0x004
#define SC_INTERNAL 0x006
#define SC_ABORT_REQ 0x007
#define SC_INVALID_NS 0x00b
#define SC_CMD_SEQ_ERROR 0x00c
#define SC_INVALID_PRP_OFFSET 0x013
#define SC_LBA_RANGE 0x080
#define SC_CQ_INVALID 0x100
#define SC_INVALID_QID 0x101
#define SC_INVALID_QSIZE 0x102
#define SC_AER_LIMIT 0x105
#define SC_INVALID_VECTOR 0x108
#define SC_INVALID_LOG 0x109
#define SC_INVALID_QDELETE 0x10c
#define SC_FID_NOT_SAVEABLE 0x10d
#define SC_WRITE_FAULT 0x280
#define SC_READ_ERROR 0x281
#define SC_COMPARE_FAILURE 0x285
#define SC_NONE 0xffff	/* no completion now (Asynchronous Event Request) */

/* Admin opcodes */
#define ADM_DELETE_SQ 0x00
#define ADM_CREATE_SQ 0x01
#define ADM_GET_LOG 0x02
#define ADM_DELETE_CQ 0x04
#define ADM_CREATE_CQ 0x05
#define ADM_IDENTIFY 0x06
#define ADM_ABORT 0x08
#define ADM_SET_FEATURES 0x09
#define ADM_GET_FEATURES 0x0a
#define ADM_AER 0x0c
#define ADM_KEEP_ALIVE 0x18

/* NVM opcodes */
#define IO_FLUSH 0x00
#define IO_WRITE 0x01
#define IO_READ 0x02
#define IO_COMPARE 0x05
#define IO_WRITE_ZEROES 0x08
#define IO_DSM 0x09

/* Features */
#define FID_ARBITRATION 0x01
#define FID_POWER_MGMT 0x02
#define FID_TEMP_THRESH 0x04
#define FID_ERROR_RECOVERY 0x05
#define FID_VWC 0x06
#define FID_NUM_QUEUES 0x07
#define FID_IRQ_COALESCE 0x08
#define FID_IRQ_VECTOR 0x09
#define FID_WRITE_ATOMIC 0x0a
#define FID_AEN_CONFIG 0x0b
#define FID_KATO 0x0f

/* Asynchronous events: type 0 (error status) informations */
#define AEN_ERR_INVALID_DB 0x00
#define AEN_ERR_INVALID_DB_VALUE 0x01

#define NVME_ID_SIZE 4096u

struct nvme_sq {
	bool used;
	uint64_t base;
	uint32_t size, head, tail;
	uint16_t cqid;
};

struct nvme_cq {
	bool used;
	bool phase;
	bool ien;
	uint16_t iv;
	uint64_t base;
	uint32_t size, head, tail;
	uint32_t nsq; /* submission queues posting here */
};

struct nvme_ns {
	uint64_t off;  /* bytes into the store */
	uint64_t nlba;
};

struct nvme_cqe_out {
	uint32_t dw0;
	uint16_t sqhd, sqid, cid, status;
	uint32_t nsid;
	uint64_t lba;
};

/* One batch: commands of one submission queue, or one event completion. */
struct nvme_batch {
	uint64_t gen;
	bool aen; /* cqe[0] completes an Asynchronous Event Request */
	uint16_t sqid, cqid;
	uint64_t sq_base;
	uint32_t sq_size, sq_head, n;
	uint64_t cq_base;
	uint32_t cq_size, cq_tail;
	bool cq_phase;
	bool vwc;
	unsigned int ncqe;
	uint8_t sqe[NVME_BATCH][64];
	struct nvme_cqe_out cqe[NVME_BATCH];
};

struct nvme_seg {
	uint64_t addr, len;
};

struct nvme {
	/* options, then fixed by realize */
	char *path;
	uint64_t size;
	unsigned int nns;
	unsigned int lba_shift;
	unsigned int max_ioq;
	char serial[21];
	int fd;
	bool is_file;
	struct nvme_ns ns[NVME_MAX_NS];
	int work_timer, kato_timer;
	uint64_t created_ns; /* CLOCK_MONOTONIC at realize, for power-on hours */

	/* device thread only */
	uint8_t *bounce;	/* NVME_MAX_XFER bytes */
	uint64_t *prp_list;	/* one page of PRP entries */
	struct nvme_seg segs[NVME_MAX_SEGS];
	pthread_mutex_t work_lock; /* one work loop at a time: poller or timer */
	struct nvme_batch batch;
	uint64_t units_read, units_written; /* 512-byte units */
	uint64_t host_reads, host_writes, media_errors;

	/* lock held */
	uint64_t gen; /* bumped by every controller or function reset */
	uint32_t cc, csts, intms;
	bool shn_pending;
	bool poll_kick; /* the poller's scan asked for the work loop */
	bool ioq_created; /* since the last reset: Number of Queues is fixed */
	unsigned int rr;
	struct nvme_sq sq[NVME_NQ];
	struct nvme_cq cq[NVME_NQ];
	uint32_t msi_pending; /* MSI vectors held by INTMS */
	uint32_t feat_arb, feat_power, feat_temp, feat_err_rec, feat_coalesce, feat_atomic;
	uint32_t feat_aen, feat_kato;
	bool feat_vwc;
	uint8_t ivc_cd[NVME_MSIX_VECTORS];
	uint16_t aer_cid[NVME_AERL + 1];
	unsigned int naer;
	uint16_t aborted_cid[NVME_AERL + 1]; /* aborted AERs, completion due */
	unsigned int naborted;
	uint32_t aen[NVME_MAX_AEN];
	unsigned int naen;
	uint8_t aen_masked; /* event types reported, not yet cleared by a log read */
	uint8_t errlog[NVME_ELPE + 1][64];
	uint64_t err_count;
	uint64_t commands; /* for tests: every command completed */
};

static unsigned int nvme_instances;

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

/* An ASCII field, space padded, as Identify wants. */
static void put_str(uint8_t *p, size_t len, const char *s)
{
	size_t n = strlen(s);

	memset(p, ' ', len);
	memcpy(p, s, n < len ? n : len);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint32_t reg_read(struct vfc_emu_pci *pci, unsigned int off)
{
	return __atomic_load_n((uint32_t *)(vfc_emu_pci_bar_mem(pci, 0) + off), __ATOMIC_ACQUIRE);
}

static uint64_t reg_read64(struct vfc_emu_pci *pci, unsigned int off)
{
	return (uint64_t)reg_read(pci, off) | (uint64_t)reg_read(pci, off + 4) << 32;
}

static void reg_store(struct vfc_emu_pci *pci, unsigned int off, uint32_t v)
{
	vfc_emu_pci_bar_store32(pci, 0, off, v);
}

static uint64_t cap_value(void)
{
	return (uint64_t)NVME_MQES |
	       1ull << 16 |			/* CQR: contiguous queues required */
	       (uint64_t)NVME_TO << 24 |	/* TO */
	       1ull << 37;			/* CSS: the NVM command set */
	/* DSTRD 0, MPSMIN 0 and MPSMAX 0 (4 KiB pages), no NSSR, no CMB */
}

/* ---- interrupts (lock held) ---- */

static bool cq_pending(const struct nvme_cq *cq)
{
	return cq->used && cq->ien && cq->head != cq->tail;
}

static void intx_update(struct vfc_emu_pci *pci, struct nvme *nv)
{
	bool level = false;

	if (!vfc_emu_pci_msix_enabled(pci) && !vfc_emu_pci_msi_enabled(pci) && !(nv->intms & 1))
		for (unsigned int i = 0; i < NVME_NQ && !level; i++)
			level = cq_pending(&nv->cq[i]);
	vfc_emu_pci_set_irq(pci, level);
}

static void cq_notify(struct vfc_emu_pci *pci, struct nvme *nv, struct nvme_cq *cq)
{
	unsigned int count;

	if (!cq->ien)
		return;
	if (vfc_emu_pci_msix_enabled(pci)) {
		vfc_emu_pci_msix_notify(pci, cq->iv);
	} else if ((count = vfc_emu_pci_msi_vectors(pci)) > 0) {
		unsigned int v = cq->iv % count;

		if (nv->intms & (1u << v))
			nv->msi_pending |= 1u << v;
		else
			vfc_emu_pci_msi_notify(pci, v);
	} else {
		intx_update(pci, nv);
	}
}

/* ---- controller state (lock held) ---- */

static void csts_set(struct vfc_emu_pci *pci, struct nvme *nv, uint32_t csts)
{
	nv->csts = csts;
	reg_store(pci, REG_CSTS, csts);
}

static void ctrl_fatal(struct vfc_emu_pci *pci, struct nvme *nv, const char *why)
{
	if (nv->csts & CSTS_CFS)
		return;
	vfc_info("nvme: controller fatal status: %s", why);
	csts_set(pci, nv, nv->csts | CSTS_CFS);
	vfc_emu_pci_timer_del(pci, nv->kato_timer);
}

/* Have the work loop run: right after the poller's scan, or on a timer. */
static void kick(struct vfc_emu_pci *pci, struct nvme *nv)
{
	if (vfc_emu_pci_polling(pci))
		nv->poll_kick = true;
	else
		vfc_emu_pci_timer_mod(pci, nv->work_timer, 0);
}

static void kato_arm(struct vfc_emu_pci *pci, struct nvme *nv)
{
	uint64_t ms, unit = NVME_KAS * 100ull;

	if (!nv->feat_kato || !(nv->csts & CSTS_RDY)) {
		vfc_emu_pci_timer_del(pci, nv->kato_timer);
		return;
	}
	ms = (nv->feat_kato + unit - 1) / unit * unit; /* rounded up to KAS */
	vfc_emu_pci_timer_mod(pci, nv->kato_timer, ms * 1000000ull);
}

/* The queues, interrupts and pending events of a controller reset. */
static void queues_reset(struct vfc_emu_pci *pci, struct nvme *nv)
{
	nv->gen++;
	memset(nv->sq, 0, sizeof(nv->sq));
	memset(nv->cq, 0, sizeof(nv->cq));
	nv->naer = nv->naen = nv->naborted = 0;
	nv->aen_masked = 0;
	nv->shn_pending = false;
	nv->ioq_created = false;
	nv->msi_pending = 0;
	nv->rr = 0;
	vfc_emu_pci_timer_del(pci, nv->work_timer);
	vfc_emu_pci_timer_del(pci, nv->kato_timer);
	/* The doorbells start from 0 again: a host writing the value the
	 * old queue left must still be seen. */
	for (unsigned int off = REG_DB; off < NVME_BAR0_SIZE; off += 4)
		reg_store(pci, off, 0);
	vfc_emu_pci_set_irq(pci, false);
}

/* Features to their defaults: at power-on and at every controller reset. */
static void features_reset(struct nvme *nv)
{
	nv->feat_arb = 5;	/* arbitration burst 2^5 = NVME_BATCH */
	nv->feat_power = 0;
	nv->feat_temp = 0x157;	/* 343 K over-temperature threshold */
	nv->feat_err_rec = 0;
	nv->feat_coalesce = 0;
	nv->feat_atomic = 0;
	nv->feat_aen = 0;
	nv->feat_kato = 0;
	nv->feat_vwc = true;
	memset(nv->ivc_cd, 0, sizeof(nv->ivc_cd));
}

static void ctrl_reset(struct vfc_emu_pci *pci, struct nvme *nv)
{
	queues_reset(pci, nv);
	features_reset(nv);
	nv->cc = 0;
	nv->intms = 0;
	reg_store(pci, REG_CC, 0);
	reg_store(pci, REG_INTMS, 0);
	reg_store(pci, REG_INTMC, 0);
	csts_set(pci, nv, 0);
}

static void ctrl_enable(struct vfc_emu_pci *pci, struct nvme *nv)
{
	uint32_t aqa = reg_read(pci, REG_AQA), cc = nv->cc;
	uint32_t asqs = (aqa & 0xfff) + 1, acqs = ((aqa >> 16) & 0xfff) + 1;

	if (nv->csts & CSTS_CFS)
		return;
	if (CC_CSS(cc) != 0 || CC_MPS(cc) != 0 || CC_AMS(cc) != 0) {
		ctrl_fatal(pci, nv, "CC.EN with an unsupported CSS, MPS or AMS");
		return;
	}
	if ((CC_IOSQES(cc) && CC_IOSQES(cc) != 6) || (CC_IOCQES(cc) && CC_IOCQES(cc) != 4)) {
		ctrl_fatal(pci, nv, "CC.EN with I/O queue entry sizes other than 64 and 16");
		return;
	}
	if (asqs < 2 || acqs < 2) {
		ctrl_fatal(pci, nv, "CC.EN with an admin queue of one entry");
		return;
	}
	nv->sq[0] = (struct nvme_sq){ .used = true, .base = reg_read64(pci, REG_ASQ),
				      .size = asqs, .cqid = 0 };
	nv->cq[0] = (struct nvme_cq){ .used = true, .phase = true, .ien = true, .iv = 0,
				      .base = reg_read64(pci, REG_ACQ), .size = acqs, .nsq = 1 };
	csts_set(pci, nv, CSTS_RDY);
}

static void cc_write(struct vfc_emu_pci *pci, struct nvme *nv, uint32_t val)
{
	uint32_t old = nv->cc;

	nv->cc = val & CC_WMASK;
	reg_store(pci, REG_CC, nv->cc);
	if ((old & CC_EN) && !(nv->cc & CC_EN)) {
		uint32_t cc = nv->cc;

		ctrl_reset(pci, nv);
		nv->cc = cc;
		reg_store(pci, REG_CC, cc);
		return;
	}
	if (!(old & CC_EN) && (nv->cc & CC_EN))
		ctrl_enable(pci, nv);
	if (!CC_SHN(old) && CC_SHN(nv->cc) && (nv->csts & CSTS_SHST_MASK) == 0) {
		/* the work thread stops taking commands and syncs the store */
		csts_set(pci, nv, (nv->csts & ~CSTS_SHST_MASK) | CSTS_SHST_OCCURRING);
		nv->shn_pending = true;
		kick(pci, nv);
	}
}

/* Queue an asynchronous event; the work thread completes a request. */
static void aen_raise(struct vfc_emu_pci *pci, struct nvme *nv, uint8_t type, uint8_t info,
		      uint8_t log)
{
	uint32_t ev = type | (uint32_t)info << 8 | (uint32_t)log << 16;

	for (unsigned int i = 0; i < nv->naen; i++)
		if (nv->aen[i] == ev)
			return; /* one of a kind pending at a time */
	if (nv->naen < NVME_MAX_AEN)
		nv->aen[nv->naen++] = ev;
	kick(pci, nv);
}

static void doorbell_write(struct vfc_emu_pci *pci, struct nvme *nv, uint64_t off, uint32_t val)
{
	unsigned int idx = (unsigned int)((off - REG_DB) / 4), qid = idx / 2;

	if (!(nv->csts & CSTS_RDY) || (nv->csts & CSTS_CFS))
		return; /* doorbells of a disabled controller go nowhere */
	if (idx & 1) {
		struct nvme_cq *cq = qid < NVME_NQ ? &nv->cq[qid] : NULL;

		if (!cq || !cq->used) {
			aen_raise(pci, nv, 0, AEN_ERR_INVALID_DB, 0x01);
			return;
		}
		if (val >= cq->size) {
			aen_raise(pci, nv, 0, AEN_ERR_INVALID_DB_VALUE, 0x01);
			return;
		}
		cq->head = val;
		intx_update(pci, nv);
		kick(pci, nv); /* a full queue may have room now */
	} else {
		struct nvme_sq *sq = qid < NVME_NQ ? &nv->sq[qid] : NULL;

		if (!sq || !sq->used) {
			aen_raise(pci, nv, 0, AEN_ERR_INVALID_DB, 0x01);
			return;
		}
		if (val >= sq->size) {
			aen_raise(pci, nv, 0, AEN_ERR_INVALID_DB_VALUE, 0x01);
			return;
		}
		sq->tail = val;
		kick(pci, nv);
	}
}

static void msi_unmasked(struct vfc_emu_pci *pci, struct nvme *nv)
{
	uint32_t send = nv->msi_pending & ~nv->intms;

	nv->msi_pending &= ~send;
	for (unsigned int v = 0; send; v++, send >>= 1)
		if (send & 1)
			vfc_emu_pci_msi_notify(pci, v);
}

/* Every changed word of BAR0, from the poller or a trapped write. */
static void nvme_bar_write(struct vfc_emu_pci *pci, unsigned int bar, uint64_t off, uint64_t val,
			   unsigned int size)
{
	struct nvme *nv = vfc_emu_pci_priv(pci);
	uint32_t v = (uint32_t)val;

	if (bar != 0 || size != 4 || off % 4)
		return; /* the framework hands watched BARs over in aligned words */
	if (off >= REG_DB) {
		doorbell_write(pci, nv, off, v);
		return;
	}
	switch (off) {
	case REG_INTMS:
	case REG_INTMC:
		/* Not to be used with MSI-X (NVMe 1.4, 3.1.3, 3.1.4): ignored then. */
		if (!vfc_emu_pci_msix_enabled(pci)) {
			if (off == REG_INTMS)
				nv->intms |= v;
			else
				nv->intms &= ~v;
		}
		reg_store(pci, REG_INTMS, nv->intms);
		reg_store(pci, REG_INTMC, nv->intms);
		msi_unmasked(pci, nv);
		intx_update(pci, nv);
		return;
	case REG_CC:
		cc_write(pci, nv, v);
		return;
	case REG_AQA:
		reg_store(pci, REG_AQA, v & AQA_WMASK);
		return;
	case REG_ASQ:
	case REG_ACQ:
		reg_store(pci, (unsigned int)off, v & ~(NVME_PAGE - 1)); /* page aligned */
		return;
	case REG_ASQ + 4:
	case REG_ACQ + 4:
		return; /* plain read/write */
	case REG_CAP:
		reg_store(pci, REG_CAP, (uint32_t)cap_value());
		return;
	case REG_CAP + 4:
		reg_store(pci, REG_CAP + 4, (uint32_t)(cap_value() >> 32));
		return;
	case REG_VS:
		reg_store(pci, REG_VS, 0x00010400);
		return;
	case REG_CSTS:
		reg_store(pci, REG_CSTS, nv->csts);
		return;
	default:
		reg_store(pci, (unsigned int)off, 0); /* reserved and absent: read-only 0 */
		return;
	}
}

static uint64_t nvme_bar_read(struct vfc_emu_pci *pci, unsigned int bar, uint64_t off,
			      unsigned int size)
{
	(void)pci;
	(void)bar;
	(void)off;
	(void)size;
	return 0; /* BAR0 is the framework's memory; BAR4 holds only MSI-X */
}

/* Function reset (FLR, open, close) and power-on; lock held. */
static void nvme_reset(struct vfc_emu_pci *pci)
{
	struct nvme *nv = vfc_emu_pci_priv(pci);

	ctrl_reset(pci, nv);
	nv->err_count = 0;
	memset(nv->errlog, 0, sizeof(nv->errlog));
	reg_store(pci, REG_CAP, (uint32_t)cap_value());
	reg_store(pci, REG_CAP + 4, (uint32_t)(cap_value() >> 32));
	reg_store(pci, REG_VS, 0x00010400);
}

/* ---- data transfer (device thread, lock not held) ---- */

static int seg_add(struct nvme *nv, unsigned int *n, uint64_t addr, uint64_t len)
{
	if (*n && nv->segs[*n - 1].addr + nv->segs[*n - 1].len == addr) {
		nv->segs[*n - 1].len += len;
		return 0;
	}
	if (*n >= NVME_MAX_SEGS)
		return -E2BIG;
	nv->segs[(*n)++] = (struct nvme_seg){ addr, len };
	return 0;
}

/*
 * The data pointer of a command as segments of bus addresses, merged where
 * they touch. PRP entries after the first carry no offset; a list pointer
 * is qword aligned and the last entry of a full list page chains the next.
 */
static uint16_t prp_map(struct vfc_emu_pci *pci, struct nvme *nv, uint64_t prp1, uint64_t prp2,
			uint64_t len, unsigned int *ret_n)
{
	uint64_t first, rem, list;
	unsigned int n = 0;

	*ret_n = 0;
	if (!len)
		return SC_SUCCESS;
	if (prp1 & 3)
		return SC_INVALID_PRP_OFFSET;
	first = NVME_PAGE - (prp1 & (NVME_PAGE - 1));
	if (first > len)
		first = len;
	seg_add(nv, &n, prp1, first);
	rem = len - first;
	if (rem && rem <= NVME_PAGE) {
		if (prp2 & (NVME_PAGE - 1))
			return SC_INVALID_PRP_OFFSET;
		seg_add(nv, &n, prp2, rem);
		rem = 0;
	}
	list = prp2;
	while (rem) {
		uint64_t need = (rem + NVME_PAGE - 1) / NVME_PAGE;
		uint64_t room = (NVME_PAGE - (list & (NVME_PAGE - 1))) / 8;
		bool chain = need > room;
		uint64_t k = chain ? room : need;

		if (list & 7)
			return SC_INVALID_PRP_OFFSET;
		if (vfc_emu_pci_dma(pci, list, nv->prp_list, k * 8, false) < 0)
			return SC_DATA_XFER_ERROR;
		for (uint64_t j = 0; j < k; j++) {
			uint64_t e = nv->prp_list[j], l = rem < NVME_PAGE ? rem : NVME_PAGE;

			if (chain && j == k - 1) {
				/* a list pointer in a list has no offset, which
				 * also bounds the walk: every next page holds 511
				 * entries */
				if (e & (NVME_PAGE - 1))
					return SC_INVALID_PRP_OFFSET;
				list = e;
				break;
			}
			if (e & (NVME_PAGE - 1))
				return SC_INVALID_PRP_OFFSET;
			if (seg_add(nv, &n, e, l) < 0)
				return SC_INVALID_FIELD;
			rem -= l;
		}
	}
	*ret_n = n;
	return SC_SUCCESS;
}

/* Move @len bytes between the bounce buffer and the command's memory. */
static uint16_t dma_cmd(struct vfc_emu_pci *pci, struct nvme *nv, const uint8_t *sqe,
			void *buf, uint64_t len, bool to_host)
{
	uint32_t dw0 = get32(sqe);
	unsigned int n;
	uint8_t *p = buf;
	uint16_t st;

	if ((dw0 >> 14) & 3)
		return SC_INVALID_FIELD; /* SGLs: SGLS is 0 in Identify */
	st = prp_map(pci, nv, get64(sqe + 24), get64(sqe + 32), len, &n);
	if (st != SC_SUCCESS)
		return st;
	for (unsigned int i = 0; i < n; i++) {
		if (vfc_emu_pci_dma(pci, nv->segs[i].addr, p, nv->segs[i].len, to_host) < 0)
			return SC_DATA_XFER_ERROR;
		p += nv->segs[i].len;
	}
	return SC_SUCCESS;
}

/* ---- the backing store (device thread) ---- */

static int store_rw(struct nvme *nv, uint8_t *buf, uint64_t off, uint64_t len, bool write)
{
	while (len) {
		ssize_t r = write ? pwrite(nv->fd, buf, len, (off_t)off)
				  : pread(nv->fd, buf, len, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0) {
			if (write)
				return -EIO;
			memset(buf, 0, len); /* past the end of a shrunk file */
			return 0;
		}
		buf += r;
		off += (uint64_t)r;
		len -= (uint64_t)r;
	}
	return 0;
}

static int store_zero(struct nvme *nv, uint64_t off, uint64_t len, bool deallocate)
{
	if (deallocate &&
	    fallocate(nv->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) == 0)
		return 0;
	if (fallocate(nv->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) == 0)
		return 0;
	if (fallocate(nv->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) == 0)
		return 0;
	memset(nv->bounce, 0, NVME_MAX_XFER);
	while (len) {
		uint64_t l = len < NVME_MAX_XFER ? len : NVME_MAX_XFER;
		int r = store_rw(nv, nv->bounce, off, l, true);

		if (r < 0)
			return r;
		off += l;
		len -= l;
	}
	return 0;
}

static int store_sync(struct nvme *nv)
{
	if (nv->is_file && fdatasync(nv->fd) < 0)
		return -errno;
	return 0;
}

/* ---- I/O commands (device thread, lock not held) ---- */

static const struct nvme_ns *ns_get(const struct nvme *nv, uint32_t nsid)
{
	return nsid >= 1 && nsid <= nv->nns ? &nv->ns[nsid - 1] : NULL;
}

static uint16_t lba_check(const struct nvme_ns *ns, uint64_t slba, uint64_t nlb)
{
	return slba >= ns->nlba || nlb > ns->nlba - slba ? SC_LBA_RANGE : SC_SUCCESS;
}

static uint16_t io_rw(struct vfc_emu_pci *pci, struct nvme *nv, const struct nvme_batch *b,
		      const uint8_t *sqe, const struct nvme_ns *ns, struct nvme_cqe_out *c)
{
	uint8_t op = sqe[0];
	uint64_t slba = get64(sqe + 40), nlb = (get32(sqe + 48) & 0xffff) + 1;
	uint64_t len = nlb << nv->lba_shift, off;
	bool fua = get32(sqe + 48) & (1u << 30);
	uint16_t st;

	c->lba = slba;
	st = lba_check(ns, slba, nlb);
	if (st != SC_SUCCESS)
		return st;
	if (len > NVME_MAX_XFER)
		return SC_INVALID_FIELD; /* past MDTS */
	off = ns->off + (slba << nv->lba_shift);
	if (op == IO_READ) {
		if (store_rw(nv, nv->bounce, off, len, false) < 0) {
			nv->media_errors++;
			return SC_READ_ERROR;
		}
		st = dma_cmd(pci, nv, sqe, nv->bounce, len, true);
		if (st == SC_SUCCESS) {
			nv->units_read += nlb << (nv->lba_shift - 9);
			nv->host_reads++;
		}
		return st;
	}
	st = dma_cmd(pci, nv, sqe, nv->bounce, len, false);
	if (st != SC_SUCCESS)
		return st;
	if (op == IO_COMPARE) {
		uint8_t *mine = malloc(len);
		bool same;

		if (!mine)
			return SC_INTERNAL;
		if (store_rw(nv, mine, off, len, false) < 0) {
			free(mine);
			nv->media_errors++;
			return SC_READ_ERROR;
		}
		same = !memcmp(mine, nv->bounce, len);
		free(mine);
		return same ? SC_SUCCESS : SC_COMPARE_FAILURE;
	}
	if (store_rw(nv, nv->bounce, off, len, true) < 0 ||
	    ((fua || !b->vwc) && store_sync(nv) < 0)) {
		nv->media_errors++;
		return SC_WRITE_FAULT;
	}
	nv->units_written += nlb << (nv->lba_shift - 9);
	nv->host_writes++;
	return SC_SUCCESS;
}

static uint16_t io_write_zeroes(struct nvme *nv, const struct nvme_batch *b, const uint8_t *sqe,
				const struct nvme_ns *ns, struct nvme_cqe_out *c)
{
	uint32_t cdw12 = get32(sqe + 48);
	uint64_t slba = get64(sqe + 40), nlb = (cdw12 & 0xffff) + 1;
	uint16_t st;

	c->lba = slba;
	st = lba_check(ns, slba, nlb);
	if (st != SC_SUCCESS)
		return st;
	if (store_zero(nv, ns->off + (slba << nv->lba_shift), nlb << nv->lba_shift,
		       cdw12 & (1u << 25)) < 0 ||
	    (((cdw12 & (1u << 30)) || !b->vwc) && store_sync(nv) < 0)) {
		nv->media_errors++;
		return SC_WRITE_FAULT;
	}
	nv->host_writes++;
	return SC_SUCCESS;
}

static uint16_t io_dsm(struct vfc_emu_pci *pci, struct nvme *nv, const uint8_t *sqe,
		       const struct nvme_ns *ns, struct nvme_cqe_out *c)
{
	unsigned int nr = (get32(sqe + 40) & 0xff) + 1;
	bool ad = get32(sqe + 44) & (1u << 2);
	uint16_t st = dma_cmd(pci, nv, sqe, nv->bounce, nr * 16ull, false);

	if (st != SC_SUCCESS)
		return st;
	for (unsigned int i = 0; i < nr; i++) {
		const uint8_t *r = nv->bounce + i * 16;

		c->lba = get64(r + 8);
		st = lba_check(ns, get64(r + 8), get32(r + 4));
		if (st != SC_SUCCESS && get32(r + 4))
			return st;
	}
	if (!ad)
		return SC_SUCCESS; /* integral read/write hints: nothing to do */
	for (unsigned int i = 0; i < nr; i++) {
		const uint8_t *r = nv->bounce + i * 16;
		uint64_t nlb = get32(r + 4);

		if (nlb && store_zero(nv, ns->off + (get64(r + 8) << nv->lba_shift),
				      nlb << nv->lba_shift, true) < 0)
			return SC_WRITE_FAULT;
	}
	return SC_SUCCESS;
}

static uint16_t io_exec(struct vfc_emu_pci *pci, struct nvme *nv, const struct nvme_batch *b,
			const uint8_t *sqe, struct nvme_cqe_out *c)
{
	uint32_t nsid = get32(sqe + 4), dw0 = get32(sqe);
	const struct nvme_ns *ns = ns_get(nv, nsid);

	c->nsid = nsid;
	if ((dw0 >> 8) & 3)
		return SC_INVALID_FIELD; /* fused operations: FUSES is 0 */
	switch (sqe[0]) {
	case IO_FLUSH:
		if (!ns && nsid != 0xffffffffu)
			return SC_INVALID_NS;
		return store_sync(nv) < 0 ? SC_WRITE_FAULT : SC_SUCCESS;
	case IO_WRITE:
	case IO_READ:
	case IO_COMPARE:
		return ns ? io_rw(pci, nv, b, sqe, ns, c) : SC_INVALID_NS;
	case IO_WRITE_ZEROES:
		return ns ? io_write_zeroes(nv, b, sqe, ns, c) : SC_INVALID_NS;
	case IO_DSM:
		return ns ? io_dsm(pci, nv, sqe, ns, c) : SC_INVALID_NS;
	default:
		return SC_INVALID_OPCODE;
	}
}

/* ---- admin commands: state under the lock, then the data transfer ---- */

static void identify_ctrl(struct nvme *nv, uint8_t *d)
{
	char subnqn[64];

	put16(d + 0, 0x1234);	/* VID */
	put16(d + 2, 0x1234);	/* SSVID */
	put_str(d + 4, 20, nv->serial);
	put_str(d + 24, 40, "vfio-cuse emulated NVMe");
	put_str(d + 64, 8, "1.0");
	d[72] = 5;		/* RAB: 2^5 */
	d[77] = NVME_MDTS;
	put16(d + 78, 1);	/* CNTLID */
	put32(d + 80, 0x00010400); /* VER */
	d[111] = 1;		/* CNTRLTYPE: I/O controller */
	put16(d + 256, 0);	/* OACS: no optional admin commands */
	d[258] = NVME_ACL;
	d[259] = NVME_AERL;
	d[260] = 0x03;		/* FRMW: one slot, read-only */
	d[261] = 0x04;		/* LPA: extended data (offsets) for Get Log Page */
	d[262] = NVME_ELPE;
	d[263] = 0;		/* NPSS: one power state */
	put16(d + 266, 0x157);	/* WCTEMP 343 K */
	put16(d + 268, 0x175);	/* CCTEMP 373 K */
	put16(d + 320, NVME_KAS);
	d[512] = 0x66;		/* SQES: 64 bytes */
	d[513] = 0x44;		/* CQES: 16 bytes */
	put16(d + 514, 0);	/* MAXCMD: not a fabrics controller */
	put32(d + 516, nv->nns); /* NN */
	put16(d + 520, 0x1d);	/* ONCS: Compare, DSM, Write Zeroes, Save/Select */
	d[525] = 0x07;		/* VWC present; Flush with NSID FFFFFFFFh */
	put32(d + 536, 0);	/* SGLS: none */
	snprintf(subnqn, sizeof(subnqn), "nqn.2026-12.dev.vfio-cuse:nvme:%s", nv->serial);
	memcpy(d + 768, subnqn, strlen(subnqn));
	put16(d + 2048, 2500);	/* PSD0 MP: 25 W */
}

static void identify_ns(struct nvme *nv, const struct nvme_ns *ns, uint32_t nsid, uint8_t *d)
{
	put64(d + 0, ns->nlba);		/* NSZE */
	put64(d + 8, ns->nlba);		/* NCAP */
	put64(d + 16, ns->nlba);	/* NUSE */
	d[24] = 0x01;			/* NSFEAT: thin provisioning (deallocate) */
	d[25] = 0;			/* NLBAF: one format */
	d[26] = 0;			/* FLBAS: format 0, no metadata */
	d[33] = 0x09;			/* DLFEAT: deallocated reads 0; Write Zeroes DEAC */
	put64(d + 48, ns->nlba << nv->lba_shift); /* NVMCAP, low half */
	d[104] = 0x76; d[105] = 0x66; d[106] = 0x63; /* NGUID: "vfc", serial, nsid */
	/* the whole serial folded into 9 bytes: "VFC00000001" and
	 * "VFC00000002" must not give the same NGUID */
	for (size_t i = 0; nv->serial[i]; i++)
		d[107 + i % 9] ^= (uint8_t)nv->serial[i];
	put32(d + 116, nsid);
	put32(d + 128, (uint32_t)nv->lba_shift << 16); /* LBAF0: MS 0, LBADS, RP 0 */
}

static uint16_t admin_identify(struct nvme *nv, const uint8_t *sqe, uint8_t *d)
{
	uint32_t nsid = get32(sqe + 4), cns = get32(sqe + 40) & 0xff;
	const struct nvme_ns *ns = ns_get(nv, nsid);

	memset(d, 0, NVME_ID_SIZE);
	switch (cns) {
	case 0x00: /* namespace */
		if (nsid == 0xffffffffu)
			return SC_INVALID_NS; /* no common namespace capabilities here */
		if (!ns)
			return SC_INVALID_NS;
		identify_ns(nv, ns, nsid, d);
		return SC_SUCCESS;
	case 0x01:
		identify_ctrl(nv, d);
		return SC_SUCCESS;
	case 0x02: { /* active namespace ids greater than nsid */
		unsigned int k = 0;

		if (nsid >= 0xfffffffeu)
			return SC_INVALID_NS;
		for (uint32_t i = nsid + 1; i <= nv->nns; i++)
			put32(d + 4 * k++, i);
		return SC_SUCCESS;
	}
	case 0x03: /* namespace identification descriptors: NGUID and UUID */
		if (!ns)
			return SC_INVALID_NS;
		d[0] = 0x02;
		d[1] = 16;
		identify_ns(nv, ns, nsid, d + 1024);
		memcpy(d + 4, d + 1024 + 104, 16);
		memset(d + 1024, 0, 256);
		d[20] = 0x03;
		d[21] = 16;
		memcpy(d + 24, d + 4, 16);
		d[24 + 6] = (uint8_t)((d[24 + 6] & 0x0f) | 0x80); /* a version 8 UUID */
		d[24 + 8] = (uint8_t)((d[24 + 8] & 0x3f) | 0x80);
		return SC_SUCCESS;
	default:
		return SC_INVALID_FIELD;
	}
}

static uint16_t admin_get_log(struct nvme *nv, const uint8_t *sqe, uint8_t *d, uint64_t *len)
{
	uint32_t cdw10 = get32(sqe + 40), cdw11 = get32(sqe + 44), nsid = get32(sqe + 4);
	uint64_t numd = ((uint64_t)(cdw11 & 0xffff) << 16 | cdw10 >> 16) + 1;
	uint64_t lpo = get64(sqe + 48), size;
	uint8_t log[512] = { 0 };

	*len = numd * 4;
	switch (cdw10 & 0xff) {
	case 0x01: /* error information, newest first */
		size = (NVME_ELPE + 1) * 64;
		for (unsigned int i = 0; i <= NVME_ELPE && i < nv->err_count; i++)
			memcpy(log + i * 64, nv->errlog[(nv->err_count - 1 - i) % (NVME_ELPE + 1)],
			       64);
		break;
	case 0x02: { /* SMART / health, for the controller */
		uint64_t hours = (now_ns() - nv->created_ns) / 3600000000000ull;

		if (nsid != 0 && nsid != 0xffffffffu)
			return SC_INVALID_FIELD; /* LPA bit 0 is 0: no per-namespace data */
		size = 512;
		put16(log + 1, 310);	/* composite temperature, 310 K */
		log[3] = 100;		/* available spare */
		log[4] = 10;		/* its threshold */
		put64(log + 32, (nv->units_read + 999) / 1000);
		put64(log + 48, (nv->units_written + 999) / 1000);
		put64(log + 64, nv->host_reads);
		put64(log + 80, nv->host_writes);
		put64(log + 112, 1);	/* power cycles */
		put64(log + 128, hours);
		put64(log + 160, nv->media_errors);
		put64(log + 176, nv->err_count);
		break;
	}
	case 0x03: /* firmware slot information */
		size = 512;
		log[0] = 1;		/* AFI: slot 1 active */
		put_str((uint8_t *)log + 8, 8, "1.0");
		break;
	default:
		return SC_INVALID_LOG;
	}
	if (lpo & 3 || lpo > size)
		return SC_INVALID_FIELD;
	if (*len > NVME_MAX_XFER)
		return SC_INVALID_FIELD;
	memset(d, 0, *len);
	memcpy(d, log + lpo, size - lpo < *len ? size - lpo : *len);
	/* RAE clear: the events of this log's type (01h error, 02h SMART,
	 * that is types 0 and 1) are read; report them again */
	if (!(cdw10 & (1u << 15)) && (cdw10 & 0xff) <= 0x02)
		nv->aen_masked &= (uint8_t)~(1u << ((cdw10 & 0xff) - 1));
	return SC_SUCCESS;
}

static uint16_t create_cq(struct vfc_emu_pci *pci, struct nvme *nv, const uint8_t *sqe)
{
	uint32_t cdw10 = get32(sqe + 40), cdw11 = get32(sqe + 44);
	uint16_t qid = (uint16_t)cdw10, iv = (uint16_t)(cdw11 >> 16);
	uint32_t qsize = (cdw10 >> 16) + 1;
	uint64_t base = get64(sqe + 24);

	if (!qid || qid > nv->max_ioq || nv->cq[qid].used)
		return SC_INVALID_QID;
	if (qsize < 2 || qsize > NVME_MQES + 1)
		return SC_INVALID_QSIZE;
	if (!(cdw11 & 1))
		return SC_INVALID_FIELD; /* CAP.CQR: physically contiguous only */
	if (base & (NVME_PAGE - 1))
		return SC_INVALID_PRP_OFFSET;
	if (CC_IOCQES(nv->cc) != 4)
		return SC_INVALID_FIELD;
	if ((cdw11 & 2) && iv >= NVME_MSIX_VECTORS)
		return SC_INVALID_VECTOR;
	nv->cq[qid] = (struct nvme_cq){ .used = true, .phase = true, .ien = cdw11 & 2, .iv = iv,
					.base = base, .size = qsize };
	/* The doorbell starts from 0: a first head value equal to what an
	 * old queue left there must still be seen by the poller. */
	reg_store(pci, REG_DB + qid * 8u + 4, 0);
	nv->ioq_created = true;
	return SC_SUCCESS;
}

static uint16_t create_sq(struct vfc_emu_pci *pci, struct nvme *nv, const uint8_t *sqe)
{
	uint32_t cdw10 = get32(sqe + 40), cdw11 = get32(sqe + 44);
	uint16_t qid = (uint16_t)cdw10, cqid = (uint16_t)(cdw11 >> 16);
	uint32_t qsize = (cdw10 >> 16) + 1;
	uint64_t base = get64(sqe + 24);

	if (!cqid || cqid > nv->max_ioq || !nv->cq[cqid].used)
		return SC_CQ_INVALID;
	if (!qid || qid > nv->max_ioq || nv->sq[qid].used)
		return SC_INVALID_QID;
	if (qsize < 2 || qsize > NVME_MQES + 1)
		return SC_INVALID_QSIZE;
	if (!(cdw11 & 1))
		return SC_INVALID_FIELD;
	if (base & (NVME_PAGE - 1))
		return SC_INVALID_PRP_OFFSET;
	if (CC_IOSQES(nv->cc) != 6)
		return SC_INVALID_FIELD;
	nv->sq[qid] = (struct nvme_sq){ .used = true, .base = base, .size = qsize, .cqid = cqid };
	reg_store(pci, REG_DB + qid * 8u, 0); /* as for a completion queue */
	nv->cq[cqid].nsq++;
	nv->ioq_created = true;
	return SC_SUCCESS;
}

static uint16_t delete_sq(struct nvme *nv, const uint8_t *sqe)
{
	uint16_t qid = (uint16_t)get32(sqe + 40);

	if (!qid || qid >= NVME_NQ || !nv->sq[qid].used)
		return SC_INVALID_QID;
	/* Commands are done when taken: nothing is left to abort. */
	nv->cq[nv->sq[qid].cqid].nsq--;
	nv->sq[qid] = (struct nvme_sq){ 0 };
	return SC_SUCCESS;
}

static uint16_t delete_cq(struct vfc_emu_pci *pci, struct nvme *nv, const uint8_t *sqe)
{
	uint16_t qid = (uint16_t)get32(sqe + 40);

	if (!qid || qid >= NVME_NQ || !nv->cq[qid].used)
		return SC_INVALID_QID;
	if (nv->cq[qid].nsq)
		return SC_INVALID_QDELETE;
	nv->cq[qid] = (struct nvme_cq){ 0 };
	intx_update(pci, nv);
	return SC_SUCCESS;
}

/* Get Features SEL 3: saveable 0, namespace specific 0, changeable 1. */
#define FEAT_CAP_CHANGEABLE 0x4u

static uint16_t features(struct vfc_emu_pci *pci, struct nvme *nv, const uint8_t *sqe, bool set,
			 uint32_t *dw0)
{
	uint32_t cdw10 = get32(sqe + 40), cdw11 = get32(sqe + 44);
	uint8_t fid = (uint8_t)cdw10;
	unsigned int sel = (cdw10 >> 8) & 7;
	uint32_t *val = NULL, def = 0;
	bool get_default = !set && (sel == 1 || sel == 2); /* nothing is saved */

	if (set && (cdw10 & (1u << 31)))
		return SC_FID_NOT_SAVEABLE;
	if (!set && sel > 3)
		return SC_INVALID_FIELD;
	switch (fid) {
	case FID_ARBITRATION:
		val = &nv->feat_arb;
		def = 5;
		if (set)
			cdw11 &= 0xffffff07u;
		break;
	case FID_POWER_MGMT:
		val = &nv->feat_power;
		if (set && (cdw11 & 0x1f) != 0)
			return SC_INVALID_FIELD; /* one power state */
		break;
	case FID_TEMP_THRESH:
		val = &nv->feat_temp;
		def = 0x157;
		if ((cdw11 >> 16) & 0x3f) /* TMPSEL: composite only; THSEL ignored */
			return SC_INVALID_FIELD;
		if (set)
			cdw11 &= 0xffff;
		break;
	case FID_ERROR_RECOVERY:
		val = &nv->feat_err_rec;
		if (set)
			cdw11 &= 0xffff; /* TLER; DULBE needs a feature we lack */
		break;
	case FID_VWC:
		if (sel == 3) {
			*dw0 = FEAT_CAP_CHANGEABLE;
			return SC_SUCCESS;
		}
		if (set)
			nv->feat_vwc = cdw11 & 1;
		*dw0 = get_default ? 1 : nv->feat_vwc;
		return SC_SUCCESS;
	case FID_NUM_QUEUES: {
		uint32_t both = (nv->max_ioq - 1) | (nv->max_ioq - 1) << 16;

		if (sel == 3) {
			*dw0 = 0;
			return SC_SUCCESS;
		}
		if (set) {
			if ((cdw11 & 0xffff) == 0xffff || (cdw11 >> 16) == 0xffff)
				return SC_INVALID_FIELD;
			if (nv->ioq_created)
				return SC_CMD_SEQ_ERROR;
		}
		*dw0 = both; /* every request gets every queue */
		return SC_SUCCESS;
	}
	case FID_IRQ_COALESCE:
		val = &nv->feat_coalesce;
		if (set)
			cdw11 &= 0xffff;
		break;
	case FID_IRQ_VECTOR: {
		uint16_t iv = (uint16_t)cdw11;

		if (iv >= NVME_MSIX_VECTORS)
			return SC_INVALID_FIELD;
		if (sel == 3) {
			*dw0 = FEAT_CAP_CHANGEABLE;
			return SC_SUCCESS;
		}
		if (set) {
			if (iv == 0 && !(cdw11 & (1u << 16)))
				return SC_INVALID_FIELD; /* the admin vector is never coalesced */
			nv->ivc_cd[iv] = (cdw11 >> 16) & 1;
		}
		*dw0 = iv | (uint32_t)(get_default ? iv == 0 : nv->ivc_cd[iv]) << 16;
		return SC_SUCCESS;
	}
	case FID_WRITE_ATOMIC:
		val = &nv->feat_atomic;
		if (set)
			cdw11 &= 1;
		break;
	case FID_AEN_CONFIG:
		val = &nv->feat_aen;
		if (set)
			cdw11 &= 0x3ff;
		break;
	case FID_KATO:
		val = &nv->feat_kato;
		break;
	default:
		return SC_INVALID_FIELD;
	}
	if (sel == 3) {
		*dw0 = FEAT_CAP_CHANGEABLE;
		return SC_SUCCESS;
	}
	if (set) {
		*val = cdw11;
		if (fid == FID_KATO)
			kato_arm(pci, nv);
	}
	*dw0 = get_default ? def : *val;
	return SC_SUCCESS;
}

static uint16_t admin_abort(struct nvme *nv, const uint8_t *sqe, uint32_t *dw0)
{
	uint32_t cdw10 = get32(sqe + 40);
	uint16_t sqid = (uint16_t)cdw10, cid = (uint16_t)(cdw10 >> 16);

	*dw0 = 1; /* not aborted: every command but AER is done when taken */
	if (sqid != 0)
		return SC_SUCCESS;
	for (unsigned int i = 0; i < nv->naer; i++) {
		if (nv->aer_cid[i] != cid)
			continue;
		/* The AER itself completes with Command Abort Requested, after
		 * the Abort and when its completion queue has room. */
		nv->aborted_cid[nv->naborted++] = cid;
		nv->aer_cid[i] = nv->aer_cid[--nv->naer];
		*dw0 = 0;
		return SC_SUCCESS;
	}
	return SC_SUCCESS;
}

/*
 * One admin command. Returns the status, or SC_NONE for an Asynchronous
 * Event Request taken for later.
 */
static uint16_t admin_exec(struct vfc_emu_pci *pci, struct nvme *nv, const struct nvme_batch *b,
			   const uint8_t *sqe, struct nvme_cqe_out *c)
{
	uint32_t dw0 = get32(sqe);
	uint64_t xfer = 0;
	bool to_host = true;
	uint16_t st;

	c->nsid = get32(sqe + 4);
	vfc_emu_pci_lock(pci);
	if (nv->gen != b->gen) {
		vfc_emu_pci_unlock(pci);
		return SC_INTERNAL; /* reset under us: the result is dropped */
	}
	if ((dw0 >> 8) & 3) {
		st = SC_INVALID_FIELD;
	} else if ((dw0 >> 14) & 3) {
		st = SC_INVALID_FIELD; /* admin commands use PRPs only */
	} else {
		switch (sqe[0]) {
		case ADM_DELETE_SQ:
			st = delete_sq(nv, sqe);
			break;
		case ADM_CREATE_SQ:
			st = create_sq(pci, nv, sqe);
			break;
		case ADM_DELETE_CQ:
			st = delete_cq(pci, nv, sqe);
			break;
		case ADM_CREATE_CQ:
			st = create_cq(pci, nv, sqe);
			break;
		case ADM_GET_LOG:
			st = admin_get_log(nv, sqe, nv->bounce, &xfer);
			break;
		case ADM_IDENTIFY:
			st = admin_identify(nv, sqe, nv->bounce);
			xfer = NVME_ID_SIZE;
			break;
		case ADM_ABORT:
			st = admin_abort(nv, sqe, &c->dw0);
			break;
		case ADM_SET_FEATURES:
		case ADM_GET_FEATURES:
			st = features(pci, nv, sqe, sqe[0] == ADM_SET_FEATURES, &c->dw0);
			break;
		case ADM_AER:
			if (nv->naer + nv->naborted > NVME_AERL) {
				st = SC_AER_LIMIT;
			} else {
				nv->aer_cid[nv->naer++] = (uint16_t)(dw0 >> 16);
				st = SC_NONE;
				if (nv->naen)
					kick(pci, nv);
			}
			break;
		case ADM_KEEP_ALIVE:
			kato_arm(pci, nv);
			st = SC_SUCCESS;
			break;
		default:
			st = SC_INVALID_OPCODE;
			break;
		}
	}
	vfc_emu_pci_unlock(pci);
	if (st == SC_SUCCESS && xfer)
		st = dma_cmd(pci, nv, sqe, nv->bounce, xfer, to_host);
	return st;
}

/* ---- the work loop (device thread) ---- */

static uint32_t cq_room(const struct nvme_cq *cq)
{
	return cq->size - 1 - (cq->tail + cq->size - cq->head) % cq->size;
}

/* Choose the next batch (lock held). Return: true when there is one. */
static bool batch_pick(struct vfc_emu_pci *pci, struct nvme *nv, struct nvme_batch *b)
{
	if (!(nv->csts & CSTS_RDY) || (nv->csts & (CSTS_CFS | CSTS_SHST_MASK)))
		return false;
	b->gen = nv->gen;
	b->vwc = nv->feat_vwc;
	b->ncqe = 0;
	b->aen = false;
	if (cq_room(&nv->cq[0])) {
		struct nvme_cq *cq = &nv->cq[0];
		struct nvme_cqe_out *c = &b->cqe[0];
		unsigned int e = 0;

		/* the first event whose type is not masked */
		while (e < nv->naen && (nv->aen_masked & (1u << (nv->aen[e] & 7))))
			e++;
		*c = (struct nvme_cqe_out){ .sqhd = (uint16_t)nv->sq[0].head, .sqid = 0 };
		if (nv->naborted) {
			c->cid = nv->aborted_cid[0];
			c->status = SC_ABORT_REQ;
			memmove(nv->aborted_cid, nv->aborted_cid + 1,
				--nv->naborted * sizeof(nv->aborted_cid[0]));
		} else if (nv->naer && e < nv->naen) {
			c->cid = nv->aer_cid[0];
			c->dw0 = nv->aen[e];
			nv->aen_masked |= (uint8_t)(1u << (nv->aen[e] & 7));
			nv->naen--;
			memmove(nv->aen + e, nv->aen + e + 1, (nv->naen - e) * sizeof(nv->aen[0]));
			memmove(nv->aer_cid, nv->aer_cid + 1, --nv->naer * sizeof(nv->aer_cid[0]));
		} else {
			c = NULL;
		}
		if (c) {
			b->aen = true;
			b->sqid = b->cqid = 0;
			b->n = 0;
			b->cq_base = cq->base;
			b->cq_size = cq->size;
			b->cq_tail = cq->tail;
			b->cq_phase = cq->phase;
			b->ncqe = 1;
			return true;
		}
	}
	for (unsigned int i = 0; i < NVME_NQ; i++) {
		unsigned int q = (nv->rr + i) % NVME_NQ;
		struct nvme_sq *sq = &nv->sq[q];
		struct nvme_cq *cq;
		uint32_t n, room, burst;

		if (!sq->used || sq->head == sq->tail)
			continue;
		cq = &nv->cq[sq->cqid];
		room = cq_room(cq);
		if (!room)
			continue; /* full: wait for its head doorbell */
		n = sq->tail > sq->head ? sq->tail - sq->head : sq->size - sq->head;
		burst = (nv->feat_arb & 7) == 7 ? NVME_BATCH : 1u << (nv->feat_arb & 7);
		if (n > NVME_BATCH)
			n = NVME_BATCH;
		if (n > room)
			n = room;
		if (n > burst)
			n = burst;
		nv->rr = q + 1;
		b->sqid = (uint16_t)q;
		b->cqid = sq->cqid;
		b->sq_base = sq->base;
		b->sq_size = sq->size;
		b->sq_head = sq->head;
		b->n = n;
		b->cq_base = cq->base;
		b->cq_size = cq->size;
		b->cq_tail = cq->tail;
		b->cq_phase = cq->phase;
		(void)pci;
		return true;
	}
	return false;
}

static void errlog_add(struct nvme *nv, const struct nvme_cqe_out *c)
{
	uint8_t *e = nv->errlog[nv->err_count % (NVME_ELPE + 1)];

	nv->err_count++;
	memset(e, 0, 64);
	put64(e + 0, nv->err_count);
	put16(e + 8, c->sqid);
	put16(e + 10, c->cid);
	put16(e + 12, (uint16_t)(c->status << 1)); /* the status field, phase clear */
	put16(e + 14, 0xffff);			   /* parameter location: none given */
	put64(e + 16, c->lba);
	put32(e + 24, c->nsid);
}

static int cqes_write(struct vfc_emu_pci *pci, const struct nvme_batch *b)
{
	uint8_t buf[NVME_BATCH * 16];
	unsigned int first = b->cq_size - b->cq_tail;

	if (first > b->ncqe)
		first = b->ncqe;
	for (unsigned int i = 0; i < b->ncqe; i++) {
		const struct nvme_cqe_out *c = &b->cqe[i];
		bool phase = i < first ? b->cq_phase : !b->cq_phase;
		uint16_t status = c->status;
		uint32_t dw3 = c->cid | (uint32_t)phase << 16 | (uint32_t)(status & 0xff) << 17 |
			       (uint32_t)((status >> 8) & 7) << 25;

		if (status != SC_SUCCESS && status != SC_ABORT_REQ)
			dw3 |= 1u << 31; /* DNR: retrying will not help */
		put32(buf + i * 16, c->dw0);
		put32(buf + i * 16 + 4, 0);
		put32(buf + i * 16 + 8, c->sqhd | (uint32_t)c->sqid << 16);
		put32(buf + i * 16 + 12, dw3);
	}
	/* Entries before the phase-carrying last dword are fine to land in
	 * any order: the host reads an entry only once its phase flips. */
	if (vfc_emu_pci_dma(pci, b->cq_base + b->cq_tail * 16ull, buf, first * 16ull, true) < 0)
		return -EFAULT;
	if (b->ncqe > first &&
	    vfc_emu_pci_dma(pci, b->cq_base, buf + first * 16, (b->ncqe - first) * 16ull, true) < 0)
		return -EFAULT;
	return 0;
}

static void batch_commit(struct vfc_emu_pci *pci, struct nvme *nv, const struct nvme_batch *b)
{
	struct nvme_cq *cq = &nv->cq[b->cqid];

	if (!b->aen && nv->sq[b->sqid].used)
		nv->sq[b->sqid].head = (b->sq_head + b->n) % b->sq_size;
	if (!b->ncqe || !cq->used)
		return;
	for (unsigned int i = 0; i < b->ncqe; i++) {
		if (b->cqe[i].status != SC_SUCCESS)
			errlog_add(nv, &b->cqe[i]);
		if (++cq->tail == cq->size) {
			cq->tail = 0;
			cq->phase = !cq->phase;
		}
	}
	nv->commands += b->ncqe;
	cq_notify(pci, nv, cq);
}

static void batch_run(struct vfc_emu_pci *pci, struct nvme *nv, struct nvme_batch *b)
{
	const char *fatal = NULL;

	if (b->n && vfc_emu_pci_dma(pci, b->sq_base + b->sq_head * 64ull, b->sqe, b->n * 64ull,
				    false) < 0) {
		fatal = "cannot read a submission queue";
		goto commit;
	}
	for (unsigned int i = 0; i < b->n; i++) {
		const uint8_t *sqe = b->sqe[i];
		struct nvme_cqe_out *c = &b->cqe[b->ncqe];

		*c = (struct nvme_cqe_out){ .sqhd = (uint16_t)((b->sq_head + i + 1) % b->sq_size),
					    .sqid = b->sqid, .cid = (uint16_t)(get32(sqe) >> 16) };
		if (b->sqid == 0)
			c->status = admin_exec(pci, nv, b, sqe, c);
		else
			c->status = io_exec(pci, nv, b, sqe, c);
		if (c->status == SC_NONE)
			continue;
		b->ncqe++;
	}
	if (b->ncqe && cqes_write(pci, b) < 0)
		fatal = "cannot write a completion queue";
commit:
	vfc_emu_pci_lock(pci);
	if (nv->gen == b->gen) {
		if (fatal)
			ctrl_fatal(pci, nv, fatal);
		else
			batch_commit(pci, nv, b);
	}
	vfc_emu_pci_unlock(pci);
}

static void work_loop(struct vfc_emu_pci *pci, struct nvme *nv)
{
	struct nvme_batch *b = &nv->batch;

	for (;;) {
		bool more;

		vfc_emu_pci_lock(pci);
		if (nv->shn_pending) {
			uint64_t gen = nv->gen;

			nv->shn_pending = false;
			vfc_emu_pci_unlock(pci);
			store_sync(nv);
			vfc_emu_pci_lock(pci);
			if (nv->gen == gen)
				csts_set(pci, nv, (nv->csts & ~CSTS_SHST_MASK) | CSTS_SHST_COMPLETE);
			vfc_emu_pci_unlock(pci);
			return;
		}
		more = batch_pick(pci, nv, b);
		vfc_emu_pci_unlock(pci);
		if (!more)
			return;
		batch_run(pci, nv, b);
	}
}

/* The work timer, on the device thread. */
static void nvme_work(struct vfc_emu_pci *pci, void *opaque)
{
	struct nvme *nv = opaque;

	pthread_mutex_lock(&nv->work_lock);
	work_loop(pci, nv);
	pthread_mutex_unlock(&nv->work_lock);
}

/* After a scan of BAR0 by the poller: doorbells rung through the mapping. */
static void nvme_poll_work(struct vfc_emu_pci *pci)
{
	struct nvme *nv = vfc_emu_pci_priv(pci);
	bool kicked;

	vfc_emu_pci_lock(pci);
	kicked = nv->poll_kick;
	nv->poll_kick = false;
	vfc_emu_pci_unlock(pci);
	if (!kicked)
		return;
	pthread_mutex_lock(&nv->work_lock);
	work_loop(pci, nv);
	pthread_mutex_unlock(&nv->work_lock);
}

static void nvme_kato_expired(struct vfc_emu_pci *pci, void *opaque)
{
	struct nvme *nv = opaque;

	vfc_emu_pci_lock(pci);
	if (nv->feat_kato && (nv->csts & CSTS_RDY))
		ctrl_fatal(pci, nv, "keep alive timer expired");
	vfc_emu_pci_unlock(pci);
}

/* ---- set-up ---- */

static int nvme_init(struct vfc_emu_pci *pci)
{
	struct nvme *nv = vfc_emu_pci_priv(pci);

	pthread_mutex_init(&nv->work_lock, NULL);
	nv->fd = -1;
	nv->nns = 1;
	nv->lba_shift = 9;
	nv->max_ioq = 16;
	snprintf(nv->serial, sizeof(nv->serial), "VFC%08u",
		 __atomic_fetch_add(&nvme_instances, 1, __ATOMIC_RELAXED));
	features_reset(nv);
	nv->work_timer = vfc_emu_pci_timer_add(pci, nvme_work, nv);
	if (nv->work_timer < 0)
		return nv->work_timer;
	nv->kato_timer = vfc_emu_pci_timer_add(pci, nvme_kato_expired, nv);
	return nv->kato_timer < 0 ? nv->kato_timer : 0;
}

/* 64M, 1G, 4096, 512K: a size with an optional binary suffix. */
static int parse_size(const char *value, uint64_t *ret)
{
	static const char suffixes[] = "KMGT";
	char *end;
	unsigned long long v;
	const char *s;

	if (!value || *value < '0' || *value > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(value, &end, 10);
	if (errno)
		return -EINVAL;
	if (*end) {
		s = strchr(suffixes, *end);
		if (!s || end[1])
			return -EINVAL;
		for (int i = 0; i <= s - suffixes; i++) {
			if (v > UINT64_MAX / 1024)
				return -EINVAL;
			v *= 1024;
		}
	}
	*ret = v;
	return 0;
}

static int nvme_set_option(struct vfc_emu_pci *pci, const char *key, const char *value)
{
	struct nvme *nv = vfc_emu_pci_priv(pci);
	uint64_t v;

	if (!strcmp(key, "file")) {
		if (!*value || nv->path)
			return -EINVAL;
		nv->path = strdup(value);
		return nv->path ? 0 : -ENOMEM;
	}
	if (!strcmp(key, "size")) {
		if (parse_size(value, &v) < 0 || !v || v > NVME_MAX_SIZE)
			return -EINVAL;
		nv->size = v;
		return 0;
	}
	if (!strcmp(key, "namespaces")) {
		if (vfc_emu_pci_parse_u64(value, &v) < 0 || v < 1 || v > NVME_MAX_NS)
			return -EINVAL;
		nv->nns = (unsigned int)v;
		return 0;
	}
	if (!strcmp(key, "block_size")) {
		if (vfc_emu_pci_parse_u64(value, &v) < 0 || (v != 512 && v != 4096))
			return -EINVAL;
		nv->lba_shift = v == 512 ? 9 : 12;
		return 0;
	}
	if (!strcmp(key, "queues")) {
		if (vfc_emu_pci_parse_u64(value, &v) < 0 || v < 1 || v > NVME_MAX_IOQ)
			return -EINVAL;
		nv->max_ioq = (unsigned int)v;
		return 0;
	}
	if (!strcmp(key, "serial")) {
		size_t n = strlen(value);

		if (!n || n > 20)
			return -EINVAL;
		for (size_t i = 0; i < n; i++)
			if (value[i] < 0x21 || value[i] > 0x7e)
				return -EINVAL;
		memcpy(nv->serial, value, n + 1);
		return 0;
	}
	return -EINVAL;
}

static int store_open(struct nvme *nv)
{
	struct stat st;

	if (!nv->path) {
		nv->fd = memfd_create("vfc-nvme-ram", MFD_CLOEXEC);
		if (nv->fd < 0)
			return -errno;
		if (!nv->size)
			nv->size = NVME_DEFAULT_SIZE;
		return ftruncate(nv->fd, (off_t)nv->size) < 0 ? -errno : 0;
	}
	nv->is_file = true;
	nv->fd = open(nv->path, O_RDWR | O_CLOEXEC | (nv->size ? O_CREAT : 0), 0600);
	if (nv->fd < 0) {
		int r = -errno;

		vfc_err("nvme: cannot open %s: %s", nv->path, strerror(-r));
		return r;
	}
	if (fstat(nv->fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode)) {
		vfc_err("nvme: %s is not a regular file", nv->path);
		return -EINVAL;
	}
	if (!nv->size)
		nv->size = (uint64_t)st.st_size;
	if (nv->size > NVME_MAX_SIZE) {
		vfc_err("nvme: %s is larger than %llu bytes", nv->path,
			(unsigned long long)NVME_MAX_SIZE);
		return -EFBIG;
	}
	if ((uint64_t)st.st_size < nv->size && ftruncate(nv->fd, (off_t)nv->size) < 0)
		return -errno;
	return 0;
}

static int nvme_realize(struct vfc_emu_pci *pci)
{
	struct nvme *nv = vfc_emu_pci_priv(pci);
	uint64_t per;
	int r;

	r = store_open(nv);
	if (r < 0)
		return r;
	per = nv->size / nv->nns >> nv->lba_shift;
	if (!per) {
		vfc_err("nvme: %llu bytes cannot hold %u namespaces of %u-byte blocks",
			(unsigned long long)nv->size, nv->nns, 1u << nv->lba_shift);
		return -EINVAL;
	}
	for (unsigned int i = 0; i < nv->nns; i++)
		nv->ns[i] = (struct nvme_ns){ .off = (uint64_t)i * (per << nv->lba_shift),
					      .nlba = per };
	nv->bounce = malloc(NVME_MAX_XFER);
	nv->prp_list = malloc(NVME_PAGE);
	if (!nv->bounce || !nv->prp_list)
		return -ENOMEM;
	nv->created_ns = now_ns();
	vfc_info("nvme %s: %s, %u namespace(s) of %llu blocks of %u bytes", nv->serial,
		 nv->path ? nv->path : "RAM", nv->nns, (unsigned long long)per,
		 1u << nv->lba_shift);
	return 0;
}

static void nvme_destroy(struct vfc_emu_pci *pci)
{
	struct nvme *nv = vfc_emu_pci_priv(pci);

	if (nv->fd >= 0) {
		store_sync(nv);
		close(nv->fd);
	}
	pthread_mutex_destroy(&nv->work_lock);
	free(nv->path);
	free(nv->bounce);
	free(nv->prp_list);
}

/* The poller scans the defined registers and the doorbells that exist. */
static const struct vfc_emu_pci_range nvme_watch[] = {
	{ 0, REG_ACQ + 8 },
	{ REG_DB, NVME_NQ * 8 },
	{ 0, 0 },
};

const struct vfc_emu_pci_model vfc_emu_nvme_model = {
	.name = "nvme",
	.vendor_id = 0x1234,
	.device_id = 0xa5e1,
	.subsystem_vendor_id = 0x1234,
	.subsystem_id = 0xa5e1,
	.revision = 0x01,
	.class_code = 0x010802, /* mass storage, NVM, NVM Express */
	.interrupt_pin = 1,
	.bars = {
		[0] = { .type = VFC_EMU_BAR_MEM64, .size = NVME_BAR0_SIZE, .mappable = true,
			.watched = true, .watch = nvme_watch },
		[4] = { .type = VFC_EMU_BAR_MEM32, .size = 4096 },
	},
	.msi_vectors = NVME_MSI_VECTORS,
	.msi_64bit = true,
	.msi_maskbit = true,
	.msix_vectors = NVME_MSIX_VECTORS,
	.msix_bar = 4,
	.msix_table_offset = 0,
	.msix_pba_offset = 0x800,
	.priv_size = sizeof(struct nvme),
	.init = nvme_init,
	.set_option = nvme_set_option,
	.realize = nvme_realize,
	.destroy = nvme_destroy,
	.reset = nvme_reset,
	.bar_read = nvme_bar_read,
	.bar_write = nvme_bar_write,
	.poll_work = nvme_poll_work,
};
