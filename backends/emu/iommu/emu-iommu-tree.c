// SPDX-License-Identifier: MIT
/*
 * The mapping table of the software IOMMU: an intrusive AVL tree of
 * disjoint IOVA ranges and the pool its nodes come from. See
 * emu-iommu-tree.h for the costs.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "emu-iommu-tree.h"

/* Pool blocks start small and double, so a container with few mappings
 * costs little and one with a million does few allocations. */
#define POOL_FIRST_BLOCK 32u
#define POOL_MAX_BLOCK 65536u

_Static_assert(sizeof(struct vfc_emu_map) == 56, "a mapping is documented as 56 bytes");

struct vfc_emu_pool_block {
	struct vfc_emu_pool_block *next;
	size_t n;
	struct vfc_emu_map nodes[];
};

/* Big blocks go on transparent huge pages where the kernel allows it: a
 * walk down a tree of a million nodes then misses the TLB far less. */
static void *pool_block_alloc(size_t bytes)
{
	const size_t huge = 2u << 20;
	void *p;

	if (bytes < huge)
		return malloc(bytes);
	bytes = (bytes + huge - 1) & ~(huge - 1);
	if (posix_memalign(&p, huge, bytes))
		return NULL;
	(void)madvise(p, bytes, MADV_HUGEPAGE);
	return p;
}

void vfc_emu_tree_init(struct vfc_emu_tree *t)
{
	*t = (struct vfc_emu_tree){ .next_block = POOL_FIRST_BLOCK };
}

void vfc_emu_tree_fini(struct vfc_emu_tree *t)
{
	struct vfc_emu_pool_block *b = t->blocks;

	while (b) {
		struct vfc_emu_pool_block *next = b->next;

		free(b);
		b = next;
	}
	vfc_emu_tree_init(t);
}

struct vfc_emu_map *vfc_emu_tree_alloc(struct vfc_emu_tree *t)
{
	struct vfc_emu_map *m;

	if (!t->free) {
		size_t n = t->next_block;
		struct vfc_emu_pool_block *b;

		b = pool_block_alloc(sizeof(*b) + n * sizeof(b->nodes[0]));
		if (!b)
			return NULL;
		b->n = n;
		b->next = t->blocks;
		t->blocks = b;
		for (size_t i = 0; i < n; i++) {
			b->nodes[i].left = t->free;
			t->free = &b->nodes[i];
		}
		if (n < POOL_MAX_BLOCK)
			t->next_block = n * 2;
	}
	m = t->free;
	t->free = m->left;
	*m = (struct vfc_emu_map){ 0 };
	return m;
}

void vfc_emu_tree_release(struct vfc_emu_tree *t, struct vfc_emu_map *m)
{
	m->left = t->free;
	m->right = m->parent = NULL;
	t->free = m;
}

static inline unsigned int height(const struct vfc_emu_map *m)
{
	return m ? m->height : 0;
}

static inline void update_height(struct vfc_emu_map *m)
{
	unsigned int l = height(m->left), r = height(m->right);

	m->height = (uint8_t)((l > r ? l : r) + 1);
}

/* Point whatever pointed at @old (its parent's link, or the root) at @new. */
static inline void replace_child(struct vfc_emu_tree *t, struct vfc_emu_map *parent,
				 struct vfc_emu_map *old, struct vfc_emu_map *new)
{
	if (!parent)
		t->root = new;
	else if (parent->left == old)
		parent->left = new;
	else
		parent->right = new;
}

static struct vfc_emu_map *rotate_left(struct vfc_emu_tree *t, struct vfc_emu_map *x)
{
	struct vfc_emu_map *y = x->right;

	x->right = y->left;
	if (y->left)
		y->left->parent = x;
	y->parent = x->parent;
	replace_child(t, x->parent, x, y);
	y->left = x;
	x->parent = y;
	update_height(x);
	update_height(y);
	return y;
}

static struct vfc_emu_map *rotate_right(struct vfc_emu_tree *t, struct vfc_emu_map *x)
{
	struct vfc_emu_map *y = x->left;

	x->left = y->right;
	if (y->right)
		y->right->parent = x;
	y->parent = x->parent;
	replace_child(t, x->parent, x, y);
	y->right = x;
	x->parent = y;
	update_height(x);
	update_height(y);
	return y;
}

/* Restore the AVL property at @n, whose children are balanced. Return the
 * subtree's new root. */
static struct vfc_emu_map *rebalance(struct vfc_emu_tree *t, struct vfc_emu_map *n)
{
	int bf = (int)height(n->left) - (int)height(n->right);

	if (bf > 1) {
		if (height(n->left->left) < height(n->left->right))
			rotate_left(t, n->left);
		return rotate_right(t, n);
	}
	if (bf < -1) {
		if (height(n->right->right) < height(n->right->left))
			rotate_right(t, n->right);
		return rotate_left(t, n);
	}
	update_height(n);
	return n;
}

/* Walk from @n to the root fixing heights and balance. Stops early once
 * a subtree's height is unchanged and it needed no rotation. */
static void retrace(struct vfc_emu_tree *t, struct vfc_emu_map *n)
{
	while (n) {
		unsigned int before = n->height;
		struct vfc_emu_map *top = rebalance(t, n);

		if (top == n && top->height == before)
			return;
		n = top->parent;
	}
}

void vfc_emu_tree_insert(struct vfc_emu_tree *t, struct vfc_emu_map *m)
{
	struct vfc_emu_map **link = &t->root, *parent = NULL;

	while (*link) {
		parent = *link;
		link = m->iova < parent->iova ? &parent->left : &parent->right;
	}
	m->left = m->right = NULL;
	m->parent = parent;
	m->height = 1;
	*link = m;
	t->count++;
	retrace(t, parent);
}

void vfc_emu_tree_erase(struct vfc_emu_tree *t, struct vfc_emu_map *m)
{
	struct vfc_emu_map *start;

	if (m->left && m->right) {
		/* Move the successor s, which has no left child, into m's place. */
		struct vfc_emu_map *s = m->right;

		while (s->left)
			s = s->left;
		if (s == m->right) {
			start = s;
		} else {
			start = s->parent;
			start->left = s->right;
			if (s->right)
				s->right->parent = start;
			s->right = m->right;
			m->right->parent = s;
		}
		s->left = m->left;
		m->left->parent = s;
		s->parent = m->parent;
		replace_child(t, m->parent, m, s);
		s->height = m->height;
	} else {
		struct vfc_emu_map *child = m->left ? m->left : m->right;

		if (child)
			child->parent = m->parent;
		replace_child(t, m->parent, m, child);
		start = m->parent;
	}
	m->left = m->right = m->parent = NULL;
	t->count--;
	/* Erase may need rotations all the way up: no early stop here. */
	while (start) {
		start = rebalance(t, start);
		start = start->parent;
	}
}

struct vfc_emu_map *vfc_emu_tree_find(const struct vfc_emu_tree *t, uint64_t addr)
{
	struct vfc_emu_map *n = t->root;

	while (n) {
		if (addr < n->iova)
			n = n->left;
		else if (addr > n->last)
			n = n->right;
		else
			return n;
	}
	return NULL;
}

struct vfc_emu_map *vfc_emu_tree_lower_bound(const struct vfc_emu_tree *t, uint64_t start)
{
	struct vfc_emu_map *n = t->root, *best = NULL;

	/* Ranges are disjoint and sorted, so "last >= start" is monotonic. */
	while (n) {
		if (n->last >= start) {
			best = n;
			if (n->iova <= start)
				break;
			n = n->left;
		} else {
			n = n->right;
		}
	}
	return best;
}

struct vfc_emu_map *vfc_emu_tree_next(const struct vfc_emu_map *m)
{
	struct vfc_emu_map *n;

	if (m->right) {
		n = m->right;
		while (n->left)
			n = n->left;
		return n;
	}
	while (m->parent && m->parent->right == m)
		m = m->parent;
	return m->parent;
}

/* Check the subtree at @n; return its height, or -1. Updates *prev_last
 * and *seen for the in-order checks. */
static int check_subtree(const struct vfc_emu_map *n, const struct vfc_emu_map *parent,
			 const struct vfc_emu_map **prev, size_t *seen)
{
	int hl, hr;

	if (!n)
		return 0;
	if (n->parent != parent || n->last < n->iova)
		return -1;
	hl = check_subtree(n->left, n, prev, seen);
	if (hl < 0)
		return -1;
	if (*prev && (*prev)->last >= n->iova)
		return -1;
	*prev = n;
	(*seen)++;
	hr = check_subtree(n->right, n, prev, seen);
	if (hr < 0 || hl - hr > 1 || hr - hl > 1)
		return -1;
	if (n->height != (hl > hr ? hl : hr) + 1)
		return -1;
	return n->height;
}

int vfc_emu_tree_check(const struct vfc_emu_tree *t)
{
	const struct vfc_emu_map *prev = NULL;
	size_t seen = 0;

	if (check_subtree(t->root, NULL, &prev, &seen) < 0 || seen != t->count)
		return -EUCLEAN;
	return 0;
}
