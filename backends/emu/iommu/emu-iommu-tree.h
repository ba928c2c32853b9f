/* SPDX-License-Identifier: MIT */
/*
 * The software IOMMU's mapping table: an intrusive AVL tree of disjoint
 * IOVA ranges, ordered by start, with parent links for in-order walks, and
 * a pool allocator for its nodes. Not thread-safe: the caller locks.
 *
 * Cost: map, unmap and lookup are O(log n); an unmap of k mappings is
 * O(k + log n). One mapping takes 56 bytes of pool (struct
 * vfc_emu_map), with no malloc header.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Device permissions of a mapping. */
#define VFC_EMU_PROT_READ 0x1
#define VFC_EMU_PROT_WRITE 0x2

/**
 * struct vfc_emu_map - one MAP_DMA.
 * @left: tree link, lower IOVAs.
 * @right: tree link, higher IOVAs.
 * @parent: tree link; NULL at the root.
 * @iova: first IOVA.
 * @last: last IOVA, inclusive, so a mapping may end at 2^64 - 1.
 * @vaddr: the owner's virtual address of @iova.
 * @owner: index of the owner in the container's owner table.
 * @height: AVL height of the subtree (a leaf is 1).
 * @prot: VFC_EMU_PROT_* bits.
 */
struct vfc_emu_map {
	struct vfc_emu_map *left, *right, *parent;
	uint64_t iova;
	uint64_t last;
	uint64_t vaddr;
	uint32_t owner;
	uint8_t height;
	uint8_t prot;
};

struct vfc_emu_pool_block;

/**
 * struct vfc_emu_tree - the table.
 * @root: the tree.
 * @count: nodes in the tree.
 * @free: the pool's free list, linked through ->left.
 * @blocks: the pool's blocks, for freeing.
 * @next_block: nodes in the next block the pool allocates.
 */
struct vfc_emu_tree {
	struct vfc_emu_map *root;
	size_t count;
	struct vfc_emu_map *free;
	struct vfc_emu_pool_block *blocks;
	size_t next_block;
};

/** vfc_emu_tree_init() - an empty table. */
void vfc_emu_tree_init(struct vfc_emu_tree *t);

/** vfc_emu_tree_fini() - free every node and the pool; the table becomes empty. */
void vfc_emu_tree_fini(struct vfc_emu_tree *t);

/**
 * vfc_emu_tree_alloc() - a node from the pool, not in the tree.
 * Return: the node, or NULL when out of memory.
 */
struct vfc_emu_map *vfc_emu_tree_alloc(struct vfc_emu_tree *t);

/** vfc_emu_tree_release() - give back a node that is not in the tree. */
void vfc_emu_tree_release(struct vfc_emu_tree *t, struct vfc_emu_map *m);

/**
 * vfc_emu_tree_insert() - link @m, whose range overlaps no node's.
 * @t: the table.
 * @m: a node with iova and last set.
 */
void vfc_emu_tree_insert(struct vfc_emu_tree *t, struct vfc_emu_map *m);

/**
 * vfc_emu_tree_erase() - unlink @m; it is not freed. Other nodes do not
 * move, so a successor taken before the erase stays valid.
 */
void vfc_emu_tree_erase(struct vfc_emu_tree *t, struct vfc_emu_map *m);

/**
 * vfc_emu_tree_find() - the node whose range holds @addr.
 * Return: the node, or NULL.
 */
struct vfc_emu_map *vfc_emu_tree_find(const struct vfc_emu_tree *t, uint64_t addr);

/**
 * vfc_emu_tree_lower_bound() - the lowest node that ends at or after @start.
 * Return: the node, or NULL.
 */
struct vfc_emu_map *vfc_emu_tree_lower_bound(const struct vfc_emu_tree *t, uint64_t start);

/** vfc_emu_tree_next() - in-order successor. Return: the node, or NULL. */
struct vfc_emu_map *vfc_emu_tree_next(const struct vfc_emu_map *m);

/**
 * vfc_emu_tree_check() - verify order, disjointness, parent links, AVL
 * heights and balance, and the count. For tests.
 * Return: 0, or -EUCLEAN at the first broken invariant.
 */
int vfc_emu_tree_check(const struct vfc_emu_tree *t);
