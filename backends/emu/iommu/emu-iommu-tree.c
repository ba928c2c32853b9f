// SPDX-License-Identifier: MIT
/*
 * The mapping table of the software IOMMU: a B+tree of disjoint IOVA
 * ranges, and the pools its records and nodes come from. See
 * emu-iommu-tree.h for the layout and costs.
 *
 * Every key is exact: a leaf's key[i] is rec[i]->iova, an inner node's
 * key[i] is child[i]->key[0]. So a node's key[0] is the lowest IOVA in its
 * subtree, the last key <= x in each node on the way down leads to the
 * predecessor of x, and a node's index in its parent is found by its key.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "emu-iommu-tree.h"

#define FANOUT 15u
#define MIN_FILL 5u
#define NO_KEY UINT64_MAX /* unused key slots: a count of keys <= x skips them */

/* A node: keys in cache lines 0-1, pointers in lines 2-3. level 0 is a leaf. */
struct vfc_emu_node {
	uint64_t key[FANOUT];
	uint8_t n;
	uint8_t level;
	union {
		struct vfc_emu_node *child[FANOUT];
		struct vfc_emu_map *rec[FANOUT];
		void *ptr[FANOUT];
	};
	struct vfc_emu_node *parent;
} __attribute__((aligned(64)));

_Static_assert(sizeof(struct vfc_emu_node) == 256, "a node is four cache lines");
_Static_assert(offsetof(struct vfc_emu_node, child) == 128, "pointers start a cache line");
_Static_assert(sizeof(struct vfc_emu_map) == 40, "a mapping is documented as 40 bytes");
_Static_assert(FANOUT == 15, "rank() searches 15 slots");
_Static_assert(MIN_FILL >= 2 && 2 * MIN_FILL - 1 <= FANOUT, "merges must fit");

/* Pool blocks start small and double, so a container with few mappings
 * costs little and one with a million does few allocations. Objects start
 * one cache line into a block. */
#define POOL_FIRST_BLOCK 32u
#define POOL_FIRST_NODE_BLOCK 4u
#define POOL_HEADER 64u
#define POOL_MAX_BYTES (4u << 20)

struct vfc_emu_pool_block {
	struct vfc_emu_pool_block *next;
};

/* A block of at least @bytes, 64-byte aligned, linked on @blocks. Big
 * blocks go on transparent huge pages where the kernel allows it, and use
 * all of them: *ret_n objects of @size fit. */
static void *pool_block_alloc(struct vfc_emu_pool_block **blocks, size_t n, size_t size,
			      size_t *ret_n)
{
	const size_t huge = 2u << 20;
	size_t bytes = POOL_HEADER + n * size;
	bool big = bytes >= huge;
	struct vfc_emu_pool_block *b;
	void *p;

	if (big)
		bytes = (bytes + huge - 1) & ~(huge - 1);
	if (posix_memalign(&p, big ? huge : 64, bytes))
		return NULL;
	if (big)
		(void)madvise(p, bytes, MADV_HUGEPAGE);
	b = p;
	b->next = *blocks;
	*blocks = b;
	*ret_n = (bytes - POOL_HEADER) / size;
	return (char *)p + POOL_HEADER;
}

static void pool_free(struct vfc_emu_pool_block *b)
{
	while (b) {
		struct vfc_emu_pool_block *next = b->next;

		free(b);
		b = next;
	}
}

static size_t next_block_size(size_t n, size_t size)
{
	size_t max = (POOL_MAX_BYTES - POOL_HEADER) / size;

	return n * 2 < max ? n * 2 : max;
}

void vfc_emu_tree_init(struct vfc_emu_tree *t)
{
	*t = (struct vfc_emu_tree){
		.next_block = POOL_FIRST_BLOCK,
		.next_node_block = POOL_FIRST_NODE_BLOCK,
	};
}

void vfc_emu_tree_fini(struct vfc_emu_tree *t)
{
	pool_free(t->blocks);
	pool_free(t->node_blocks);
	vfc_emu_tree_init(t);
}

static int node_pool_grow(struct vfc_emu_tree *t)
{
	struct vfc_emu_node *nodes;
	size_t n;

	nodes = pool_block_alloc(&t->node_blocks, t->next_node_block, sizeof(*nodes), &n);
	if (!nodes)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		nodes[i].parent = t->free_nodes;
		t->free_nodes = &nodes[i];
	}
	t->n_free_nodes += n;
	t->next_node_block = next_block_size(t->next_node_block, sizeof(*nodes));
	return 0;
}

/*
 * Free nodes enough to insert every record out of the tree: one insert
 * splits at most every level and adds a root (so p inserts need at most
 * p (depth + 1) + p (p - 1) / 2), and inserts never free a node, while no
 * tree of n records has more than n / (MIN_FILL - 1) + 32 nodes. The
 * smaller bound holds.
 */
static size_t nodes_needed(const struct vfc_emu_tree *t)
{
	size_t p = t->out, by_depth = SIZE_MAX, by_size;

	if (p < (1u << 20))
		by_depth = p * (t->depth + 1) + p * (p - 1) / 2;
	by_size = (t->count + p) / (MIN_FILL - 1) + 32;
	by_size = by_size > t->nodes ? by_size - t->nodes : 0;
	return by_depth < by_size ? by_depth : by_size;
}

struct vfc_emu_map *vfc_emu_tree_alloc(struct vfc_emu_tree *t)
{
	struct vfc_emu_map *m;

	if (!t->free) {
		size_t n;

		m = pool_block_alloc(&t->blocks, t->next_block, sizeof(*m), &n);
		if (!m)
			return NULL;
		for (size_t i = 0; i < n; i++) {
			m[i].next_free = t->free;
			t->free = &m[i];
		}
		t->next_block = next_block_size(t->next_block, sizeof(*m));
	}
	t->out++;
	while (t->n_free_nodes < nodes_needed(t)) {
		if (node_pool_grow(t) < 0) {
			t->out--;
			return NULL;
		}
	}
	m = t->free;
	t->free = m->next_free;
	*m = (struct vfc_emu_map){ 0 };
	return m;
}

void vfc_emu_tree_release(struct vfc_emu_tree *t, struct vfc_emu_map *m)
{
	t->out--;
	m->next_free = t->free;
	t->free = m;
}

static struct vfc_emu_node *node_get(struct vfc_emu_tree *t, unsigned int level)
{
	struct vfc_emu_node *x;

	/* Unreachable when every insert follows its own alloc (see the header). */
	if (!t->free_nodes && node_pool_grow(t) < 0) {
		fprintf(stderr, "<2>emu-iommu: out of memory for the mapping table\n");
		abort();
	}
	x = t->free_nodes;
	t->free_nodes = x->parent;
	t->n_free_nodes--;
	t->nodes++;
	*x = (struct vfc_emu_node){ .level = (uint8_t)level };
	for (unsigned int i = 0; i < FANOUT; i++)
		x->key[i] = NO_KEY;
	return x;
}

static void node_put(struct vfc_emu_tree *t, struct vfc_emu_node *x)
{
	x->parent = t->free_nodes;
	t->free_nodes = x;
	t->n_free_nodes++;
	t->nodes--;
}

/* Start loading the rest of @x while its first key line is read, so a
 * node not in cache costs one memory latency, not several in a row. */
static inline void node_prefetch(const struct vfc_emu_node *x)
{
	__builtin_prefetch(&x->key[FANOUT - 1]);
	__builtin_prefetch(&x->ptr[0]);
	__builtin_prefetch(&x->ptr[FANOUT - 1]);
}

/* How many of @x's keys are <= @k: a binary search over the 15 sorted
 * slots without branches, so nothing mispredicts; unused slots hold
 * NO_KEY and sort last. */
static inline unsigned int rank(const struct vfc_emu_node *x, uint64_t k)
{
	unsigned int c = 0;

	c += (unsigned int)(x->key[c + 7] <= k) << 3;
	c += (unsigned int)(x->key[c + 3] <= k) << 2;
	c += (unsigned int)(x->key[c + 1] <= k) << 1;
	c += (unsigned int)(x->key[c] <= k);
	return c < x->n ? c : x->n; /* k == NO_KEY counts unused slots */
}

/* The child of inner node @x whose subtree holds @k's predecessor; also
 * @k's own child when @k is a key of @x. */
static inline unsigned int child_index(const struct vfc_emu_node *x, uint64_t k)
{
	unsigned int c = rank(x, k);

	return c ? c - 1 : 0;
}

static inline void set_owner(struct vfc_emu_node *x, void *p)
{
	if (x->level)
		((struct vfc_emu_node *)p)->parent = x;
	else
		((struct vfc_emu_map *)p)->leaf = x;
}

static void remove_entry(struct vfc_emu_node *x, unsigned int i)
{
	unsigned int tail = x->n - i - 1;

	memmove(&x->key[i], &x->key[i + 1], tail * sizeof(x->key[0]));
	memmove(&x->ptr[i], &x->ptr[i + 1], tail * sizeof(x->ptr[0]));
	x->n--;
	x->key[x->n] = NO_KEY;
	x->ptr[x->n] = NULL;
}

/*
 * Put (@k, @p) at @pos of @x, splitting full nodes up the tree. Split
 * points: an append keeps the left node full but for MIN_FILL - 1, so
 * mappings made in order leave nodes 11/15 full rather than half; a
 * prepend mirrors it (at 1 too: a parent gets a split child's right half
 * at 1); anything else splits in the middle.
 */
static void insert_entry(struct vfc_emu_tree *t, struct vfc_emu_node *x, unsigned int pos,
			 uint64_t k, void *p)
{
	for (;;) {
		uint64_t keys[FANOUT + 1];
		void *ptrs[FANOUT + 1];
		struct vfc_emu_node *r, *root;
		unsigned int left, i;

		if (x->n < FANOUT) {
			unsigned int tail = x->n - pos;

			memmove(&x->key[pos + 1], &x->key[pos], tail * sizeof(x->key[0]));
			memmove(&x->ptr[pos + 1], &x->ptr[pos], tail * sizeof(x->ptr[0]));
			x->key[pos] = k;
			x->ptr[pos] = p;
			x->n++;
			set_owner(x, p);
			return;
		}
		memcpy(keys, x->key, pos * sizeof(keys[0]));
		memcpy(ptrs, x->ptr, pos * sizeof(ptrs[0]));
		keys[pos] = k;
		ptrs[pos] = p;
		memcpy(&keys[pos + 1], &x->key[pos], (FANOUT - pos) * sizeof(keys[0]));
		memcpy(&ptrs[pos + 1], &x->ptr[pos], (FANOUT - pos) * sizeof(ptrs[0]));
		left = pos == FANOUT ? FANOUT + 1 - MIN_FILL : pos <= 1 ? MIN_FILL : (FANOUT + 1) / 2;

		r = node_get(t, x->level);
		for (i = 0; i < FANOUT; i++) {
			x->key[i] = i < left ? keys[i] : NO_KEY;
			x->ptr[i] = i < left ? ptrs[i] : NULL;
		}
		x->n = (uint8_t)left;
		for (i = left; i <= FANOUT; i++) {
			r->key[i - left] = keys[i];
			r->ptr[i - left] = ptrs[i];
			set_owner(r, ptrs[i]);
		}
		r->n = (uint8_t)(FANOUT + 1 - left);
		if (pos < left)
			set_owner(x, p);

		if (!x->parent) {
			root = node_get(t, x->level + 1u);
			root->key[0] = x->key[0];
			root->child[0] = x;
			root->key[1] = r->key[0];
			root->child[1] = r;
			root->n = 2;
			x->parent = r->parent = root;
			t->root = root;
			t->depth++;
			return;
		}
		pos = child_index(x->parent, x->key[0]) + 1;
		k = r->key[0];
		p = r;
		x = x->parent;
	}
}

void vfc_emu_tree_insert(struct vfc_emu_tree *t, struct vfc_emu_map *m)
{
	uint64_t k = m->iova;
	struct vfc_emu_node *x = t->root;

	t->out--;
	t->count++;
	if (!x) {
		x = node_get(t, 0);
		t->root = x;
		t->depth = 1;
	}
	while (x->level) {
		if (k < x->key[0])
			x->key[0] = k; /* the new lowest IOVA in this subtree */
		x = x->child[child_index(x, k)];
		node_prefetch(x);
	}
	insert_entry(t, x, rank(x, k), k, m);
}

/* @x's lowest key was @old and is now x->key[0]: fix the ancestors' copies. */
static void fix_min(struct vfc_emu_node *x, uint64_t old)
{
	struct vfc_emu_node *p;

	while ((p = x->parent)) {
		unsigned int i = child_index(p, old);

		p->key[i] = x->key[0];
		if (i)
			return;
		x = p;
	}
}

/* Append @b's entries to @a, its left neighbour. */
static void merge(struct vfc_emu_node *a, struct vfc_emu_node *b)
{
	for (unsigned int i = 0; i < b->n; i++) {
		a->key[a->n + i] = b->key[i];
		a->ptr[a->n + i] = b->ptr[i];
		set_owner(a, b->ptr[i]);
	}
	a->n = (uint8_t)(a->n + b->n);
}

/* Refill @x, which may hold fewer than MIN_FILL entries, from a neighbour,
 * or merge it with one and go on up. */
static void rebalance(struct vfc_emu_tree *t, struct vfc_emu_node *x)
{
	while (x->n < MIN_FILL) {
		struct vfc_emu_node *p = x->parent, *l, *r;
		unsigned int i;

		if (!p) {
			if (!x->n) {
				node_put(t, x);
				t->root = NULL;
				t->depth = 0;
			} else if (x->level && x->n == 1) {
				t->root = x->child[0];
				t->root->parent = NULL;
				node_put(t, x);
				t->depth--;
			}
			return;
		}
		i = child_index(p, x->key[0]);
		l = i ? p->child[i - 1] : NULL;
		r = i + 1u < p->n ? p->child[i + 1] : NULL;
		if (l && l->n > MIN_FILL) {
			memmove(&x->key[1], &x->key[0], x->n * sizeof(x->key[0]));
			memmove(&x->ptr[1], &x->ptr[0], x->n * sizeof(x->ptr[0]));
			x->key[0] = l->key[l->n - 1];
			x->ptr[0] = l->ptr[l->n - 1];
			x->n++;
			set_owner(x, x->ptr[0]);
			remove_entry(l, l->n - 1u);
			p->key[i] = x->key[0];
			return;
		}
		if (r && r->n > MIN_FILL) {
			x->key[x->n] = r->key[0];
			x->ptr[x->n] = r->ptr[0];
			set_owner(x, x->ptr[x->n]);
			x->n++;
			remove_entry(r, 0);
			p->key[i + 1] = r->key[0];
			return;
		}
		if (l) {
			merge(l, x);
			remove_entry(p, i);
			node_put(t, x);
		} else {
			merge(x, r);
			remove_entry(p, i + 1);
			node_put(t, r);
		}
		x = p;
	}
}

void vfc_emu_tree_erase(struct vfc_emu_tree *t, struct vfc_emu_map *m)
{
	struct vfc_emu_node *x = m->leaf;
	unsigned int i = rank(x, m->iova) - 1;

	remove_entry(x, i);
	m->leaf = NULL;
	t->count--;
	t->out++;
	if (!i && x->n)
		fix_min(x, m->iova);
	rebalance(t, x);
}

static struct vfc_emu_node *descend(const struct vfc_emu_tree *t, uint64_t k)
{
	struct vfc_emu_node *x = t->root;

	while (x->level) {
		x = x->child[child_index(x, k)];
		node_prefetch(x);
	}
	return x;
}

/* The first record after leaf @x, or NULL. */
static struct vfc_emu_map *next_leaf_first(const struct vfc_emu_node *x)
{
	const struct vfc_emu_node *p;

	while ((p = x->parent)) {
		unsigned int i = child_index(p, x->key[0]);

		if (i + 1u < p->n) {
			x = p->child[i + 1];
			while (x->level)
				x = x->child[0];
			return x->rec[0];
		}
		x = p;
	}
	return NULL;
}

struct vfc_emu_map *vfc_emu_tree_find(const struct vfc_emu_tree *t, uint64_t addr)
{
	struct vfc_emu_node *x;
	struct vfc_emu_map *m;
	unsigned int c;

	if (!t->root)
		return NULL;
	x = descend(t, addr);
	c = rank(x, addr);
	if (!c)
		return NULL;
	m = x->rec[c - 1];
	return addr <= m->last ? m : NULL;
}

struct vfc_emu_map *vfc_emu_tree_lower_bound(const struct vfc_emu_tree *t, uint64_t start)
{
	struct vfc_emu_node *x;
	unsigned int c;

	if (!t->root)
		return NULL;
	/* The record starting at or before @start, if it reaches it, else
	 * the one after. */
	x = descend(t, start);
	c = rank(x, start);
	if (c && x->rec[c - 1]->last >= start)
		return x->rec[c - 1];
	return c < x->n ? x->rec[c] : next_leaf_first(x);
}

struct vfc_emu_map *vfc_emu_tree_next(const struct vfc_emu_map *m)
{
	const struct vfc_emu_node *x = m->leaf;
	unsigned int c = rank(x, m->iova);

	return c < x->n ? x->rec[c] : next_leaf_first(x);
}

struct check {
	const struct vfc_emu_map *prev;
	size_t records, nodes;
};

static int check_node(const struct vfc_emu_node *x, const struct vfc_emu_node *parent,
		      unsigned int level, struct check *c)
{
	unsigned int min = parent ? MIN_FILL : level ? 2 : 1;

	if (x->parent != parent || x->level != level || x->n < min || x->n > FANOUT)
		return -1;
	c->nodes++;
	for (unsigned int i = 0; i < FANOUT; i++) {
		if (i >= x->n && (x->key[i] != NO_KEY || x->ptr[i]))
			return -1;
		if (i && i < x->n && x->key[i] <= x->key[i - 1])
			return -1;
	}
	for (unsigned int i = 0; i < x->n; i++) {
		if (level) {
			if (x->child[i]->key[0] != x->key[i] ||
			    check_node(x->child[i], x, level - 1, c) < 0)
				return -1;
			continue;
		}
		const struct vfc_emu_map *m = x->rec[i];

		if (m->leaf != x || m->iova != x->key[i] || m->last < m->iova ||
		    (c->prev && c->prev->last >= m->iova))
			return -1;
		c->prev = m;
		c->records++;
	}
	return 0;
}

int vfc_emu_tree_check(const struct vfc_emu_tree *t)
{
	struct check c = { 0 };
	size_t free_nodes = 0;

	for (const struct vfc_emu_node *x = t->free_nodes; x; x = x->parent)
		free_nodes++;
	if (free_nodes != t->n_free_nodes)
		return -EUCLEAN;
	if (!t->root)
		return t->count || t->depth || t->nodes ? -EUCLEAN : 0;
	if (t->root->level + 1u != t->depth || check_node(t->root, NULL, t->root->level, &c) < 0 ||
	    c.records != t->count || c.nodes != t->nodes)
		return -EUCLEAN;
	return 0;
}
