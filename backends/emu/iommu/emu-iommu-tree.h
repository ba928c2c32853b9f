/* SPDX-License-Identifier: MIT */
/*
 * The software IOMMU's mapping table: a B+tree of disjoint IOVA ranges,
 * ordered by start, and the pools its records and nodes come from. Not
 * thread-safe: the caller locks.
 *
 * Layout: a mapping is a 40-byte record (struct vfc_emu_map) that does not
 * move while it is allocated, so callers may keep pointers to it. The
 * nodes are 256 bytes, four 64-byte-aligned cache lines: up to 15 keys
 * (each entry's lowest IOVA) in the first two lines and 15 pointers
 * (children, or in a leaf the records) in the last two. A node is searched
 * by a branch-free binary search, its other lines prefetched meanwhile.
 * Every node but the root holds 5 to 15 entries; all leaves are at the same
 * depth. A record points back to its leaf and a node to its parent, for
 * vfc_emu_tree_next() and erase.
 *
 * Cost: map, unmap and lookup are O(log n), about log_10(n) nodes; an
 * unmap of k mappings is O(k + log n) (erase rebalances in amortized O(1)).
 *
 * Memory per mapping: the 40-byte record plus its share of a leaf that
 * holds 5 to 15 records (17 to 51 bytes) and of the inner nodes above (a
 * further tenth to a quarter of that): 58 to about 105 bytes. Mapped in
 * order, leaves are 11/15 full and a mapping takes 66 bytes; mapped at
 * random, 67. No malloc headers; pool blocks of 2 MiB and more are advised
 * onto transparent huge pages.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Device permissions of a mapping, and its state bits (in @prot). */
#define VFC_EMU_PROT_READ 0x1
#define VFC_EMU_PROT_WRITE 0x2
/* UNMAP_DMA with VADDR invalidated its vaddr; it has no owner until a
 * MAP_DMA with VADDR gives it a new vaddr and the caller as its owner. */
#define VFC_EMU_MAP_VADDR_INVALID 0x4
/* Dirty tracking lost track of it (out of bitmap memory): every page of it
 * counts as dirty until the next report. */
#define VFC_EMU_MAP_DIRTY_ALL 0x8

/* The owner of a mapping whose vaddr is invalid. */
#define VFC_EMU_NO_OWNER UINT32_MAX

struct vfc_emu_node;

/**
 * struct vfc_emu_map - one MAP_DMA.
 * @iova: first IOVA.
 * @last: last IOVA, inclusive, so a mapping may end at 2^64 - 1.
 * @vaddr: the owner's virtual address of @iova.
 * @leaf: the leaf that holds the record; NULL out of the tree.
 * @next_free: the pool's free list, while the record is free.
 * @owner: index of the owner in the container's owner table, or
 *         VFC_EMU_NO_OWNER while the vaddr is invalid.
 * @prot: VFC_EMU_PROT_* and VFC_EMU_MAP_* bits.
 */
struct vfc_emu_map {
	uint64_t iova;
	uint64_t last;
	uint64_t vaddr;
	union {
		struct vfc_emu_node *leaf;
		struct vfc_emu_map *next_free;
	};
	uint32_t owner;
	uint8_t prot;
};

struct vfc_emu_pool_block;

/**
 * struct vfc_emu_tree - the table.
 * @root: the tree; NULL when empty.
 * @count: records in the tree.
 * @depth: levels of nodes; 0 when empty, 1 when the root is a leaf.
 * @nodes: nodes in the tree.
 * @out: records allocated and not in the tree (fresh or erased).
 * @free: the record pool's free list.
 * @blocks: the record pool's blocks, for freeing.
 * @next_block: records in the next block the record pool allocates.
 * @free_nodes: the node pool's free list, linked through the parent link.
 * @n_free_nodes: nodes on @free_nodes.
 * @node_blocks: the node pool's blocks, for freeing.
 * @next_node_block: nodes in the next block the node pool allocates.
 */
struct vfc_emu_tree {
	struct vfc_emu_node *root;
	size_t count;
	unsigned int depth;
	size_t nodes;
	size_t out;
	struct vfc_emu_map *free;
	struct vfc_emu_pool_block *blocks;
	size_t next_block;
	struct vfc_emu_node *free_nodes;
	size_t n_free_nodes;
	struct vfc_emu_pool_block *node_blocks;
	size_t next_node_block;
};

/** vfc_emu_tree_init() - an empty table. */
void vfc_emu_tree_init(struct vfc_emu_tree *t);

/** vfc_emu_tree_fini() - free every record, node and pool; the table becomes empty. */
void vfc_emu_tree_fini(struct vfc_emu_tree *t);

/**
 * vfc_emu_tree_alloc() - a record from the pool, not in the tree. It also
 * reserves the tree nodes that inserting every record out of the tree can
 * need, so that vfc_emu_tree_insert() need not allocate.
 * Return: the record, zeroed, or NULL when out of memory.
 */
struct vfc_emu_map *vfc_emu_tree_alloc(struct vfc_emu_tree *t);

/** vfc_emu_tree_release() - give back a record that is not in the tree. */
void vfc_emu_tree_release(struct vfc_emu_tree *t, struct vfc_emu_map *m);

/**
 * vfc_emu_tree_insert() - link @m, whose range overlaps no record's.
 * @t: the table.
 * @m: a record from vfc_emu_tree_alloc() with iova and last set. Its
 * nodes were reserved then; only a record erased and inserted again
 * without an alloc in between can find the reserve short, and then the
 * node pool grows, aborting if that fails.
 */
void vfc_emu_tree_insert(struct vfc_emu_tree *t, struct vfc_emu_map *m);

/**
 * vfc_emu_tree_erase() - unlink @m; it is not freed. Other records do not
 * move, so a successor taken before the erase stays valid.
 */
void vfc_emu_tree_erase(struct vfc_emu_tree *t, struct vfc_emu_map *m);

/**
 * vfc_emu_tree_find() - the record whose range holds @addr.
 * Return: the record, or NULL.
 */
struct vfc_emu_map *vfc_emu_tree_find(const struct vfc_emu_tree *t, uint64_t addr);

/**
 * vfc_emu_tree_lower_bound() - the lowest record that ends at or after @start.
 * Return: the record, or NULL.
 */
struct vfc_emu_map *vfc_emu_tree_lower_bound(const struct vfc_emu_tree *t, uint64_t start);

/**
 * vfc_emu_tree_next() - in-order successor of @m, which is in a tree.
 * Return: the record, or NULL.
 */
struct vfc_emu_map *vfc_emu_tree_next(const struct vfc_emu_map *m);

/**
 * vfc_emu_tree_check() - verify the whole table, for tests: key order and
 * disjointness, each key equal to its entry's lowest IOVA, node fill (5 to
 * 15, the root at least 1 as a leaf and 2 above), every leaf at the same
 * depth, parent and leaf links, unused keys, the counts, and the node
 * pool's free count.
 * Return: 0, or -EUCLEAN at the first broken invariant.
 */
int vfc_emu_tree_check(const struct vfc_emu_tree *t);
