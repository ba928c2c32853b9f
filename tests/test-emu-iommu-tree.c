// SPDX-License-Identifier: MIT
/*
 * The software IOMMU's mapping table against a brute-force model: random
 * inserts and erases, AVL invariants after every step, lookups, in-order
 * walks and pool reuse.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "emu-iommu-tree.h"

#define SLOTS 512
#define SLOT_SPAN 0x10000ull

struct model {
	struct vfc_emu_map *node[SLOTS];
	uint64_t iova[SLOTS], last[SLOTS];
};

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	/* xorshift64*: deterministic, so a failure reproduces */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

static void check_lookups(const struct vfc_emu_tree *t, const struct model *m)
{
	for (int k = 0; k < 64; k++) {
		uint64_t addr = rng() % (SLOTS * SLOT_SPAN);
		unsigned int s = (unsigned int)(addr / SLOT_SPAN);
		struct vfc_emu_map *want = NULL, *lb = NULL;

		if (m->node[s] && addr >= m->iova[s] && addr <= m->last[s])
			want = m->node[s];
		assert_ptr_equal(vfc_emu_tree_find(t, addr), want);
		for (unsigned int i = s; i < SLOTS && !lb; i++)
			if (m->node[i] && m->last[i] >= addr)
				lb = m->node[i];
		assert_ptr_equal(vfc_emu_tree_lower_bound(t, addr), lb);
	}
}

static void check_walk(const struct vfc_emu_tree *t, const struct model *m)
{
	struct vfc_emu_map *n = vfc_emu_tree_lower_bound(t, 0);
	size_t seen = 0;

	for (unsigned int i = 0; i < SLOTS; i++) {
		if (!m->node[i])
			continue;
		assert_ptr_equal(n, m->node[i]);
		n = vfc_emu_tree_next(n);
		seen++;
	}
	assert_null(n);
	assert_int_equal(seen, t->count);
}

static void test_random(void **state)
{
	struct vfc_emu_tree t;
	struct model *m = calloc(1, sizeof(*m));

	assert_non_null(m);
	vfc_emu_tree_init(&t);
	assert_int_equal(vfc_emu_tree_check(&t), 0);
	assert_null(vfc_emu_tree_lower_bound(&t, 0));
	for (int step = 0; step < 20000; step++) {
		unsigned int s = (unsigned int)(rng() % SLOTS);

		if (m->node[s]) {
			vfc_emu_tree_erase(&t, m->node[s]);
			vfc_emu_tree_release(&t, m->node[s]);
			m->node[s] = NULL;
		} else {
			struct vfc_emu_map *n = vfc_emu_tree_alloc(&t);

			assert_non_null(n);
			n->iova = s * SLOT_SPAN + (rng() % 8) * 0x1000;
			n->last = n->iova + (rng() % 8 + 1) * 0x1000 - 1;
			m->node[s] = n;
			m->iova[s] = n->iova;
			m->last[s] = n->last;
			vfc_emu_tree_insert(&t, n);
		}
		assert_int_equal(vfc_emu_tree_check(&t), 0);
		if (step % 64 == 0) {
			check_lookups(&t, m);
			check_walk(&t, m);
		}
	}
	check_walk(&t, m);
	vfc_emu_tree_fini(&t);
	free(m);
}

/* Sequential inserts and erases: the worst case for an unbalanced tree. */
static void test_sequential(void **state)
{
	enum { N = 100000 };
	struct vfc_emu_map **nodes = calloc(N, sizeof(*nodes));
	struct vfc_emu_tree t;

	assert_non_null(nodes);
	vfc_emu_tree_init(&t);
	for (unsigned int i = 0; i < N; i++) {
		nodes[i] = vfc_emu_tree_alloc(&t);
		assert_non_null(nodes[i]);
		nodes[i]->iova = (uint64_t)i << 12;
		nodes[i]->last = nodes[i]->iova + 0xfff;
		vfc_emu_tree_insert(&t, nodes[i]);
	}
	assert_int_equal(vfc_emu_tree_check(&t), 0);
	/* AVL height bound: 1.44 log2(n + 2) */
	assert_true(t.root->height <= 25);
	assert_ptr_equal(vfc_emu_tree_find(&t, 0x12345678), nodes[0x12345]);
	/* erase every other one, then from the front */
	for (unsigned int i = 0; i < N; i += 2) {
		vfc_emu_tree_erase(&t, nodes[i]);
		vfc_emu_tree_release(&t, nodes[i]);
	}
	assert_int_equal(vfc_emu_tree_check(&t), 0);
	assert_int_equal(t.count, N / 2);
	assert_ptr_equal(vfc_emu_tree_lower_bound(&t, 0), nodes[1]);
	for (unsigned int i = 1; i < N; i += 2) {
		vfc_emu_tree_erase(&t, nodes[i]);
		vfc_emu_tree_release(&t, nodes[i]);
	}
	assert_int_equal(vfc_emu_tree_check(&t), 0);
	assert_null(t.root);
	/* the pool hands back freed nodes before it grows */
	struct vfc_emu_pool_block *blocks = t.blocks;

	for (unsigned int i = 0; i < N; i++)
		assert_non_null(vfc_emu_tree_alloc(&t));
	assert_ptr_equal(t.blocks, blocks);
	vfc_emu_tree_fini(&t);
	free(nodes);
}

/* Ranges at both ends of the 64-bit space, with inclusive ends. */
static void test_edges(void **state)
{
	struct vfc_emu_tree t;
	struct vfc_emu_map *lo, *hi;

	vfc_emu_tree_init(&t);
	lo = vfc_emu_tree_alloc(&t);
	hi = vfc_emu_tree_alloc(&t);
	lo->iova = 0;
	lo->last = 0xfff;
	hi->iova = 0xfffffffffffff000ull;
	hi->last = UINT64_MAX;
	vfc_emu_tree_insert(&t, hi);
	vfc_emu_tree_insert(&t, lo);
	assert_ptr_equal(vfc_emu_tree_find(&t, UINT64_MAX), hi);
	assert_ptr_equal(vfc_emu_tree_find(&t, 0), lo);
	assert_null(vfc_emu_tree_find(&t, 0x1000));
	assert_ptr_equal(vfc_emu_tree_lower_bound(&t, 0x1000), hi);
	assert_null(vfc_emu_tree_next(hi));
	assert_int_equal(vfc_emu_tree_check(&t), 0);
	vfc_emu_tree_fini(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_sequential),
		cmocka_unit_test(test_edges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
