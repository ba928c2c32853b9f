// SPDX-License-Identifier: MIT
/*
 * The software IOMMU's mapping table against a brute-force model: random
 * inserts, erases and range erases, the B+tree invariants (key order, node
 * fill, uniform depth, links, counts) after every step, lookups, in-order
 * walks, split points, the node reserve, and pool reuse.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "emu-iommu-tree.h"

#define SLOT_SPAN 0x10000ull

struct model {
	unsigned int slots;
	struct vfc_emu_map **node;
	uint64_t *iova, *last;
	size_t count;
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

static struct model *model_new(unsigned int slots)
{
	struct model *m = calloc(1, sizeof(*m));

	assert_non_null(m);
	m->slots = slots;
	m->node = calloc(slots, sizeof(*m->node));
	m->iova = calloc(slots, sizeof(*m->iova));
	m->last = calloc(slots, sizeof(*m->last));
	assert_true(m->node && m->iova && m->last);
	return m;
}

static void model_free(struct model *m)
{
	free(m->node);
	free(m->iova);
	free(m->last);
	free(m);
}

static void model_insert(struct vfc_emu_tree *t, struct model *m, unsigned int s)
{
	struct vfc_emu_map *n = vfc_emu_tree_alloc(t);

	assert_non_null(n);
	assert_null(n->leaf);
	n->iova = s * SLOT_SPAN + (rng() % 8) * 0x1000;
	n->last = n->iova + (rng() % 8 + 1) * 0x1000 - 1;
	m->node[s] = n;
	m->iova[s] = n->iova;
	m->last[s] = n->last;
	m->count++;
	vfc_emu_tree_insert(t, n);
}

static void model_erase(struct vfc_emu_tree *t, struct model *m, unsigned int s)
{
	vfc_emu_tree_erase(t, m->node[s]);
	vfc_emu_tree_release(t, m->node[s]);
	m->node[s] = NULL;
	m->count--;
}

/*
 * Erase every record in slots [s, s + len) the way UNMAP_DMA does: from
 * the lower bound, take the successor, erase, go on to the successor.
 */
static void model_erase_range(struct vfc_emu_tree *t, struct model *m, unsigned int s,
			      unsigned int len)
{
	uint64_t start = s * SLOT_SPAN, last = (uint64_t)(s + len) * SLOT_SPAN - 1;
	struct vfc_emu_map *n = vfc_emu_tree_lower_bound(t, start);

	while (n && n->iova <= last) {
		struct vfc_emu_map *next = vfc_emu_tree_next(n);
		unsigned int slot = (unsigned int)(n->iova / SLOT_SPAN);

		assert_ptr_equal(m->node[slot], n);
		model_erase(t, m, slot);
		assert_int_equal(vfc_emu_tree_check(t), 0);
		n = next;
	}
	for (unsigned int i = s; i < s + len && i < m->slots; i++)
		assert_null(m->node[i]);
}

static void check_lookups(const struct vfc_emu_tree *t, const struct model *m)
{
	for (int k = 0; k < 64; k++) {
		uint64_t addr = rng() % (m->slots * SLOT_SPAN);
		unsigned int s = (unsigned int)(addr / SLOT_SPAN);
		struct vfc_emu_map *want = NULL, *lb = NULL;

		if (m->node[s] && addr >= m->iova[s] && addr <= m->last[s])
			want = m->node[s];
		assert_ptr_equal(vfc_emu_tree_find(t, addr), want);
		for (unsigned int i = s; i < m->slots && !lb; i++)
			if (m->node[i] && m->last[i] >= addr)
				lb = m->node[i];
		assert_ptr_equal(vfc_emu_tree_lower_bound(t, addr), lb);
	}
	/* every record's first and last IOVA, and the gap after it */
	for (unsigned int s = 0; s < m->slots; s++) {
		if (!m->node[s])
			continue;
		assert_ptr_equal(vfc_emu_tree_find(t, m->iova[s]), m->node[s]);
		assert_ptr_equal(vfc_emu_tree_find(t, m->last[s]), m->node[s]);
		assert_ptr_equal(vfc_emu_tree_lower_bound(t, m->iova[s]), m->node[s]);
		if (m->iova[s] > s * SLOT_SPAN)
			assert_null(vfc_emu_tree_find(t, m->iova[s] - 1));
		if (m->last[s] + 1 < (s + 1) * SLOT_SPAN)
			assert_null(vfc_emu_tree_find(t, m->last[s] + 1));
	}
}

static void check_walk(const struct vfc_emu_tree *t, const struct model *m)
{
	struct vfc_emu_map *n = vfc_emu_tree_lower_bound(t, 0);
	size_t seen = 0;

	for (unsigned int i = 0; i < m->slots; i++) {
		if (!m->node[i])
			continue;
		assert_ptr_equal(n, m->node[i]);
		n = vfc_emu_tree_next(n);
		seen++;
	}
	assert_null(n);
	assert_int_equal(seen, t->count);
	assert_int_equal(seen, m->count);
}

/*
 * @steps random steps: an insert with probability @insert_pct % (when the
 * slot is free), else an erase of one slot, or one in @range_div times of
 * a run of up to 40 slots. Invariants after each.
 */
static void random_steps(struct vfc_emu_tree *t, struct model *m, int steps,
			 unsigned int insert_pct, unsigned int range_div)
{
	for (int step = 0; step < steps; step++) {
		unsigned int s = (unsigned int)(rng() % m->slots);
		bool insert = rng() % 100 < insert_pct;

		if (insert && !m->node[s])
			model_insert(t, m, s);
		else if (!insert && rng() % range_div == 0)
			model_erase_range(t, m, s, (unsigned int)(rng() % 40) + 1);
		else if (!insert && m->node[s])
			model_erase(t, m, s);
		assert_int_equal(vfc_emu_tree_check(t), 0);
		assert_int_equal(t->count, m->count);
		if (step % 256 == 0) {
			check_lookups(t, m);
			check_walk(t, m);
		}
	}
}

/* Dense churn in a small table: half the slots live, the tree 2-3 deep. */
static void test_random(void **state)
{
	struct vfc_emu_tree t;
	struct model *m = model_new(512);

	vfc_emu_tree_init(&t);
	assert_int_equal(vfc_emu_tree_check(&t), 0);
	assert_null(vfc_emu_tree_lower_bound(&t, 0));
	assert_null(vfc_emu_tree_find(&t, 0));
	random_steps(&t, m, 20000, 50, 8);
	check_walk(&t, m);
	vfc_emu_tree_fini(&t);
	model_free(m);
}

/* Grow to thousands and shrink to nothing, twice: root splits and root
 * collapses at every depth, borrows and merges on every level. */
static void test_grow_shrink(void **state)
{
	struct vfc_emu_tree t;
	struct model *m = model_new(4096);
	unsigned int max_depth = 0;

	vfc_emu_tree_init(&t);
	for (int round = 0; round < 2; round++) {
		while (m->count < 3000) {
			random_steps(&t, m, 64, 95, 64);
			max_depth = t.depth > max_depth ? t.depth : max_depth;
		}
		check_lookups(&t, m);
		check_walk(&t, m);
		while (m->count > 0)
			random_steps(&t, m, 64, m->count > 200 ? 15 : 0, 8);
		assert_null(t.root);
		assert_int_equal(t.depth, 0);
		assert_int_equal(t.nodes, 0);
	}
	/* 3,000 records: at least 3 levels at 15 per node, at most 5 at 5 */
	assert_in_range(max_depth, 3, 5);
	vfc_emu_tree_fini(&t);
	model_free(m);
}

/* In order, then reversed: the append and prepend split points. */
static void test_sequential(void **state)
{
	enum { N = 100000 };
	struct vfc_emu_map **nodes = calloc(N, sizeof(*nodes));
	struct vfc_emu_tree t;

	assert_non_null(nodes);
	for (int dir = 0; dir < 2; dir++) {
		vfc_emu_tree_init(&t);
		for (unsigned int k = 0; k < N; k++) {
			unsigned int i = dir ? N - 1 - k : k;

			nodes[i] = vfc_emu_tree_alloc(&t);
			assert_non_null(nodes[i]);
			nodes[i]->iova = (uint64_t)i << 12;
			nodes[i]->last = nodes[i]->iova + 0xfff;
			vfc_emu_tree_insert(&t, nodes[i]);
			if (k % 997 == 0)
				assert_int_equal(vfc_emu_tree_check(&t), 0);
		}
		assert_int_equal(vfc_emu_tree_check(&t), 0);
		/* Leaves 11/15 full: 9,091 leaves and 910 inner nodes. */
		assert_true(t.nodes <= N / 10 + 16);
		assert_true(t.depth <= 5);
		assert_ptr_equal(vfc_emu_tree_find(&t, 0x12345678), nodes[0x12345]);
		/* erase every other one, then the rest from the front */
		for (unsigned int i = 0; i < N; i += 2) {
			vfc_emu_tree_erase(&t, nodes[i]);
			vfc_emu_tree_release(&t, nodes[i]);
			if (i % 998 == 0)
				assert_int_equal(vfc_emu_tree_check(&t), 0);
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
		/* the pool hands back freed records before it grows */
		struct vfc_emu_pool_block *blocks = t.blocks;

		for (unsigned int i = 0; i < N; i++)
			assert_non_null(vfc_emu_tree_alloc(&t));
		assert_ptr_equal(t.blocks, blocks);
		vfc_emu_tree_fini(&t);
	}
	free(nodes);
}

/* Records allocated long before their insert: the reserve covers them all,
 * so no insert needs the node pool to grow. */
static void test_reserve(void **state)
{
	enum { N = 5000 };
	struct vfc_emu_map **nodes = calloc(N, sizeof(*nodes));
	struct vfc_emu_tree t;
	size_t free_before;

	assert_non_null(nodes);
	vfc_emu_tree_init(&t);
	for (unsigned int i = 0; i < N; i++) {
		nodes[i] = vfc_emu_tree_alloc(&t);
		assert_non_null(nodes[i]);
		nodes[i]->iova = (rng() % (1ull << 40)) << 12;
		nodes[i]->last = nodes[i]->iova + 0xfff;
	}
	free_before = t.n_free_nodes;
	for (unsigned int i = 0; i < N; i++)
		if (!vfc_emu_tree_find(&t, nodes[i]->iova))
			vfc_emu_tree_insert(&t, nodes[i]);
		else
			vfc_emu_tree_release(&t, nodes[i]);
	assert_int_equal(vfc_emu_tree_check(&t), 0);
	assert_int_equal(t.out, 0);
	assert_int_equal(t.nodes + t.n_free_nodes, free_before);
	vfc_emu_tree_fini(&t);
	free(nodes);
}

/* Ranges at both ends of the 64-bit space, with inclusive ends; the last
 * key equal to the value that marks unused key slots. */
static void test_edges(void **state)
{
	struct vfc_emu_tree t;
	struct vfc_emu_map *lo, *hi, *top;

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
	vfc_emu_tree_erase(&t, hi);
	vfc_emu_tree_release(&t, hi);

	/* a one-byte mapping at 2^64 - 1, behind 40 one-byte ones, so that it
	 * sits at the end of a full leaf and of a partly filled one */
	for (int round = 0; round < 2; round++) {
		struct vfc_emu_map *below[40];
		unsigned int n = round ? 40 : 14;

		for (unsigned int i = 0; i < n; i++) {
			below[i] = vfc_emu_tree_alloc(&t);
			below[i]->iova = below[i]->last = UINT64_MAX - 1 - 2 * i;
			vfc_emu_tree_insert(&t, below[i]);
		}
		top = vfc_emu_tree_alloc(&t);
		top->iova = top->last = UINT64_MAX;
		vfc_emu_tree_insert(&t, top);
		assert_int_equal(vfc_emu_tree_check(&t), 0);
		assert_ptr_equal(vfc_emu_tree_find(&t, UINT64_MAX), top);
		assert_ptr_equal(vfc_emu_tree_lower_bound(&t, UINT64_MAX), top);
		assert_ptr_equal(vfc_emu_tree_find(&t, UINT64_MAX - 1), below[0]);
		assert_null(vfc_emu_tree_find(&t, UINT64_MAX - 2));
		assert_ptr_equal(vfc_emu_tree_lower_bound(&t, UINT64_MAX - 2), below[0]);
		assert_ptr_equal(vfc_emu_tree_next(below[0]), top);
		assert_null(vfc_emu_tree_next(top));
		vfc_emu_tree_erase(&t, top);
		vfc_emu_tree_release(&t, top);
		assert_null(vfc_emu_tree_find(&t, UINT64_MAX));
		assert_null(vfc_emu_tree_lower_bound(&t, UINT64_MAX));
		for (unsigned int i = 0; i < n; i++) {
			vfc_emu_tree_erase(&t, below[i]);
			vfc_emu_tree_release(&t, below[i]);
			assert_int_equal(vfc_emu_tree_check(&t), 0);
		}
	}
	assert_ptr_equal(vfc_emu_tree_lower_bound(&t, 0), lo);
	assert_int_equal(t.count, 1);
	vfc_emu_tree_fini(&t);
}

/* The checker itself sees a record whose key or leaf link is wrong, and
 * ranges that overlap. */
static void test_check_catches(void **state)
{
	struct vfc_emu_tree t;
	struct vfc_emu_map *m[100];

	vfc_emu_tree_init(&t);
	for (unsigned int i = 0; i < 100; i++) {
		m[i] = vfc_emu_tree_alloc(&t);
		m[i]->iova = (uint64_t)i << 12;
		m[i]->last = m[i]->iova + 0xfff;
		vfc_emu_tree_insert(&t, m[i]);
	}
	assert_int_equal(vfc_emu_tree_check(&t), 0);
	m[50]->iova++;
	assert_int_equal(vfc_emu_tree_check(&t), -EUCLEAN);
	m[50]->iova--;
	m[50]->last += 0x1000;
	assert_int_equal(vfc_emu_tree_check(&t), -EUCLEAN);
	m[50]->last -= 0x1000;
	struct vfc_emu_node *leaf = m[50]->leaf;

	m[50]->leaf = m[0]->leaf == leaf ? m[99]->leaf : m[0]->leaf;
	assert_int_equal(vfc_emu_tree_check(&t), -EUCLEAN);
	m[50]->leaf = leaf;
	t.count++;
	assert_int_equal(vfc_emu_tree_check(&t), -EUCLEAN);
	t.count--;
	assert_int_equal(vfc_emu_tree_check(&t), 0);
	vfc_emu_tree_fini(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_grow_shrink),
		cmocka_unit_test(test_sequential),
		cmocka_unit_test(test_reserve),
		cmocka_unit_test(test_edges),
		cmocka_unit_test(test_check_catches),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
