/* SPDX-License-Identifier: MIT */
/*
 * Shared by the libFuzzer harnesses: a cursor over the fuzzer's input
 * (reads past its end give zeros, so every input is a valid program), and
 * harness-owned memory with a large PROT_NONE guard behind it, for the
 * buffers whose addresses go into ioctl arguments. The core and the
 * emulated IOMMU write to such addresses with process_vm_writev on this
 * process: a write that runs past the buffer stops at the guard with
 * EFAULT instead of corrupting the harness.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

struct fz_in {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t fz_u8(struct fz_in *in)
{
	uint8_t v = 0;

	if (in->n) {
		v = *in->p++;
		in->n--;
	}
	return v;
}

static inline uint16_t fz_u16(struct fz_in *in)
{
	return (uint16_t)(fz_u8(in) | fz_u8(in) << 8);
}

static inline uint32_t fz_u32(struct fz_in *in)
{
	return fz_u16(in) | (uint32_t)fz_u16(in) << 16;
}

static inline uint64_t fz_u64(struct fz_in *in)
{
	return fz_u32(in) | (uint64_t)fz_u32(in) << 32;
}

/* Copy up to @len input bytes to @dst, zero the rest. Return: bytes taken. */
static inline size_t fz_bytes(struct fz_in *in, void *dst, size_t len)
{
	size_t k = len < in->n ? len : in->n;

	memcpy(dst, in->p, k);
	memset((uint8_t *)dst + k, 0, len - k);
	in->p += k;
	in->n -= k;
	return k;
}

/* The guard behind each buffer: larger than any bitmap or report a single
 * ioctl may ask the daemon to write (the kernel caps dirty bitmaps at 2^31
 * pages, 256 MiB). */
#define FZ_GUARD (4ull << 30)

/* @size bytes of read-write memory (page multiple) followed by FZ_GUARD
 * bytes of PROT_NONE. Exits on failure: this runs once, at start. */
static inline uint8_t *fz_guarded(size_t size)
{
	uint8_t *p = mmap(NULL, size + FZ_GUARD, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED || mprotect(p, size, PROT_READ | PROT_WRITE) < 0) {
		perror("fuzz: mmap");
		exit(1);
	}
	return p;
}
