/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The allocation slow path's node fallback (I5), for the SLUB NUMA hotplug
 * tests: kmem_cache_alloc_node() for one node, with and without
 * __GFP_THISNODE, from a cache in each of these states:
 *
 *   cold         no CPU slab or sheaf: the slow path starts from nothing
 *   warm         the CPU's slab (or sheaf) holds objects of another node, so
 *                the request is a node mismatch; or of the node itself
 *   fragmented   more than min_partial partial slabs on every node with
 *                memory, so the partial lists of the node and then of the
 *                other nodes are searched before a new slab is allocated
 *
 * What the allocation must give follows from the node's memory (the pages
 * it really has, not what mocked node_states[] say), whether it is tracked,
 * and what the generation's slow path does with an untracked node. Part of
 * mm/slub.c, through mm/slub_kunit.c.
 */
#ifndef _MM_SLUB_KUNIT_ALLOC_H
#define _MM_SLUB_KUNIT_ALLOC_H

#include <linux/kasan.h>
#include <linux/mmzone.h>

#include "slub_kunit_helpers.h"

enum slub_hp_cache_state {
	SLUB_HP_COLD,
	SLUB_HP_WARM_ANY,
	SLUB_HP_WARM_OTHER,
	SLUB_HP_WARM_HERE,
	SLUB_HP_FRAGMENTED,
	SLUB_HP_CPU_PARTIAL,
	SLUB_HP_NR_STATES,
};

static const char *const slub_hp_state_names[] = {
	[SLUB_HP_COLD] = "cold",
	[SLUB_HP_WARM_ANY] = "warm for no node",
	[SLUB_HP_WARM_OTHER] = "warm on another node",
	[SLUB_HP_WARM_HERE] = "warm on the node",
	[SLUB_HP_FRAGMENTED] = "fragmented",
	[SLUB_HP_CPU_PARTIAL] = "CPU partial slabs of several nodes",
};

/**
 * struct slub_hp_expect - what one allocation for a node must give
 * @object: an object (else NULL)
 * @maybe: an object or NULL, either is right
 * @node: the node it must come from, or NUMA_NO_NODE for any node that has
 *	memory for slabs
 * @nearby: slabs of @node, or for no node in particular the CPU's own, may
 *	serve it (not so for a node without memory, which takes other nodes'
 *	partial slabs only where they hold more than the cache's minimum)
 */
struct slub_hp_expect {
	bool object;
	bool maybe;
	int node;
	bool nearby;
};

/*
 * The slow path's promise for @nid, on the CPU the caller keeps to. An
 * allocation for no node in particular (NUMA_NO_NODE, or an untracked node
 * on a slow path that drops those) takes what the CPU has at hand, else
 * starts at the CPU's own node: under __GFP_THISNODE it can fail only where
 * that node has no memory (x86 gives a CPU on a memoryless node none).
 */
static struct slub_hp_expect slub_hp_alloc_expect(int nid, bool thisnode, bool tracked)
{
	if (nid == NUMA_NO_NODE || (SLUB_HP_DROPS_UNTRACKED && !tracked))
		return (struct slub_hp_expect){ .object = true, .node = NUMA_NO_NODE,
			.maybe = thisnode && !slub_hp_supplies(numa_mem_id()), .nearby = true };
	if (!slub_hp_supplies(nid))
		return (struct slub_hp_expect){ .object = !thisnode, .node = NUMA_NO_NODE };
	return (struct slub_hp_expect){ .object = true, .node = nid, .nearby = true };
}

/* A node with slab memory other than @nid, the CPU's own if it can. */
static int slub_hp_other_supplier(int nid)
{
	int local = numa_mem_id(), other;

	if (local != nid && slub_hp_supplies(local))
		return local;
	for_each_node(other)
		if (other != nid && slub_hp_supplies(other))
			return other;
	return NUMA_NO_NODE;
}

/**
 * struct slub_hp_held - objects a check holds to put a cache in a state
 * @s: the cache
 * @nr: number of objects in @obj
 * @max: room in @obj
 * @obj: the objects
 */
struct slub_hp_held {
	struct kmem_cache *s;
	unsigned int nr;
	unsigned int max;
	void **obj;
};

/* Free what @h holds and shrink the cache back to cold: no slab at all. */
static void slub_hp_release(struct slub_hp_held *h)
{
	while (h->nr)
		kmem_cache_free(h->s, h->obj[--h->nr]);
	kmem_cache_shrink(h->s);
}

static void *slub_hp_hold(struct slub_hp_held *h, int nid, gfp_t gfp)
{
	void *obj;

	if (h->nr == h->max)
		return NULL;
	obj = kmem_cache_alloc_node(h->s, gfp | __GFP_NOWARN, nid);
	if (obj)
		h->obj[h->nr++] = obj;
	return obj;
}

/*
 * Leave more than min_partial partial slabs on node @nid: fill that many
 * slabs and more, then free every other object. Shrinking moves the slabs
 * from CPU slabs, CPU partial lists and sheaves to the node's list.
 */
static bool slub_hp_fragment_node(struct slub_hp_held *h, int nid)
{
	unsigned int i, kept, first = h->nr;
	unsigned int want = (h->s->min_partial + 2) * oo_objects(h->s->oo);

	for (i = 0; i < want; i++)
		if (!slub_hp_hold(h, nid, GFP_KERNEL | __GFP_THISNODE))
			return false;
	for (i = kept = first; i < h->nr; i++) {
		if ((i - first) % 2)
			kmem_cache_free(h->s, h->obj[i]);
		else
			h->obj[kept++] = h->obj[i];
	}
	h->nr = kept;
	return true;
}

/* Nodes that supply slab memory and are tracked. */
static unsigned int slub_hp_nr_suppliers(void)
{
	unsigned int nr = 0;
	int node;

	for_each_node(node)
		nr += slub_hp_supplies(node) && slub_hp_tracked(node);
	return nr;
}

/*
 * Put slabs of every node with memory on this CPU's partial list: fill two
 * slabs on each node, then free the first object of each full slab here,
 * which moves it to the freeing CPU's partial list. (Freeing only after all
 * the allocations: one for another node empties the list.) With migration
 * disabled; false where the cache keeps no such list, or it ends up holding
 * fewer than two nodes.
 */
static bool slub_hp_fill_cpu_partial(struct slub_hp_held *h)
{
	unsigned int per = oo_objects(h->s->oo), i, kept, first = h->nr;
	struct slab *prev = NULL, *slab;
	nodemask_t on_list;
	int node;

	if (!slub_hp_has_cpu_partial(h->s))
		return false;
	for_each_node(node) {
		if (!slub_hp_supplies(node) || !slub_hp_tracked(node))
			continue;
		for (i = 0; i < 2 * per; i++)
			if (!slub_hp_hold(h, node, GFP_KERNEL | __GFP_THISNODE))
				return false;
	}
	for (i = kept = first; i < h->nr; i++) {
		slab = virt_to_slab(h->obj[i]);
		if (slab != prev)
			kmem_cache_free(h->s, h->obj[i]);
		else
			h->obj[kept++] = h->obj[i];
		prev = slab;
	}
	h->nr = kept;
	/* Under KASAN freed objects wait in quarantine: free them, here. */
	kasan_cache_shrink(h->s);
	on_list = slub_hp_cpu_partial_nodes(h->s);
	return nodes_weight(on_list) >= 2;
}

/*
 * Put the cache in @state for an allocation for @nid. Returns false where
 * the state cannot be made (no second node for a warm mismatch, a node
 * without memory cannot hold a CPU slab, one node cannot be fragmented
 * against another). Asserts only outside the warm states, which run with
 * migration disabled.
 */
static bool slub_hp_make_state(struct kunit *test, struct slub_hp_held *h,
			       enum slub_hp_cache_state state, int nid)
{
	int other = slub_hp_other_supplier(nid), node;
	struct kmem_cache_node *n;

	switch (state) {
	case SLUB_HP_COLD:
		return true;
	case SLUB_HP_WARM_ANY:
		/*
		 * The CPU's slab, or sheaf, holds what no particular node was
		 * asked for: on a memoryless node's CPU, remote objects.
		 */
		if (!slub_hp_hold(h, NUMA_NO_NODE, GFP_KERNEL) ||
		    !slub_hp_hold(h, NUMA_NO_NODE, GFP_KERNEL))
			return false;
		kmem_cache_free(h->s, h->obj[--h->nr]);
		return true;
	case SLUB_HP_WARM_OTHER:
		return other != NUMA_NO_NODE && slub_hp_hold(h, other, GFP_KERNEL);
	case SLUB_HP_WARM_HERE:
		return nid != NUMA_NO_NODE && slub_hp_supplies(nid) &&
		       slub_hp_hold(h, nid, GFP_KERNEL);
	case SLUB_HP_CPU_PARTIAL:
		return slub_hp_fill_cpu_partial(h);
	default:
		if (other == NUMA_NO_NODE)
			return false;
		for_each_node(node)
			if (slub_hp_supplies(node) && slub_hp_tracked(node))
				KUNIT_ASSERT_TRUE_MSG(test, slub_hp_fragment_node(h, node),
						      "cannot fill slabs on node %d", node);
		kmem_cache_shrink(h->s);
		for_each_kmem_cache_node(h->s, node, n)
			if (node_nr_slabs(n))
				KUNIT_ASSERT_GT_MSG(test, n->nr_partial, h->s->min_partial,
						    "node %d not fragmented", node);
		return true;
	}
}

/* All slabs of a cache, on every node. */
static unsigned long slub_hp_nr_slabs(struct kmem_cache *s)
{
	struct kmem_cache_node *n;
	unsigned long nr = 0;
	int nid;

	for_each_kmem_cache_node(s, nid, n)
		nr += node_nr_slabs(n);
	return nr;
}

/* One allocation for @nid from a cache in @state, checked against the slow path's promise. */
static void slub_hp_check_alloc(struct kunit *test, struct slub_hp_held *h,
				enum slub_hp_cache_state state, int nid, bool thisnode,
				const char *when)
{
	gfp_t gfp = GFP_KERNEL | __GFP_NOWARN | (thisnode ? __GFP_THISNODE : 0);
	bool warm = state == SLUB_HP_WARM_ANY || state == SLUB_HP_WARM_OTHER ||
		    state == SLUB_HP_WARM_HERE || state == SLUB_HP_CPU_PARTIAL;
	bool tracked = nid != NUMA_NO_NODE && slub_hp_tracked(nid);
	const char *flag = thisnode ? " __GFP_THISNODE" : "";
	const char *what = slub_hp_state_names[state];
	struct slub_hp_expect want;
	unsigned long slabs;
	void *obj;
	int got;

	/* A cold or fragmented cache is made first: it may assert. */
	if (!warm && !slub_hp_make_state(test, h, state, nid))
		return;
	/* What the CPU's node is, and a warm CPU slab or sheaf, stay put. */
	migrate_disable();
	if (warm && !slub_hp_make_state(test, h, state, nid)) {
		migrate_enable();
		KUNIT_EXPECT_FALSE_MSG(test, state == SLUB_HP_CPU_PARTIAL &&
				       slub_hp_has_cpu_partial(h->s) && slub_hp_nr_suppliers() >= 2,
				       "%s: could not put slabs of two nodes on the CPU's partial list",
				       when);
		slub_hp_release(h);
		return;
	}
	want = slub_hp_alloc_expect(nid, thisnode, tracked);
	slabs = slub_hp_nr_slabs(h->s);
	obj = kmem_cache_alloc_node(h->s, gfp, nid);
	migrate_enable();
	if (obj)
		h->obj[h->nr++] = obj;
	got = obj ? folio_nid(virt_to_folio(obj)) : NUMA_NO_NODE;

	if (!obj && want.maybe)
		;
	else if (!want.object)
		KUNIT_EXPECT_NULL_MSG(test, obj,
				      "%s: node %d%s, %s cache: an object from node %d, but no node may supply it",
				      when, nid, flag, what, got);
	else if (!obj)
		KUNIT_FAIL(test, "%s: node %d%s, %s cache: no object", when, nid, flag, what);
	else if (want.node != NUMA_NO_NODE)
		KUNIT_EXPECT_EQ_MSG(test, got, want.node,
				    "%s: node %d%s, %s cache: object from node %d, not %d",
				    when, nid, flag, what, got, want.node);
	else
		KUNIT_EXPECT_TRUE_MSG(test, slub_hp_supplies(got),
				      "%s: node %d%s, %s cache: object from node %d, which has no memory",
				      when, nid, flag, what, got);
	if (obj && (state == SLUB_HP_FRAGMENTED || (state == SLUB_HP_CPU_PARTIAL && want.nearby)))
		KUNIT_EXPECT_EQ_MSG(test, slub_hp_nr_slabs(h->s), slabs,
				    "%s: node %d%s: a new slab although partial slabs were free",
				    when, nid, flag);
	slub_hp_release(h);
}

/**
 * slub_hp_expect_alloc_in() - the slow path of @s keeps its promise for @nid
 * @test: the running case
 * @s: the cache, which the caller owns
 * @nid: the node to allocate for, or NUMA_NO_NODE
 * @flags: which allocations: bit 0 without __GFP_THISNODE, bit 1 with it
 * @when: what happened before, for the messages
 *
 * Allocates from @s in every state (cold, warm on another node and on
 * @nid, fragmented) and checks each object: whether there is one, and
 * which node it comes from. A fragmented cache must serve it from a partial
 * slab, never from a new one, and never from another node under
 * __GFP_THISNODE. @s is left cold.
 */
static void slub_hp_expect_alloc_in(struct kunit *test, struct kmem_cache *s, int nid,
				    unsigned int flags, const char *when)
{
	struct slub_hp_held h = { .s = s, .max = 1 };
	enum slub_hp_cache_state state;

#ifdef CONFIG_NUMA
	/* Always search other nodes' partial slabs, never by chance. */
	h.s->remote_node_defrag_ratio = 1024;
#endif
	h.max += nr_node_ids * (h.s->min_partial + 2) * oo_objects(h.s->oo);
	h.obj = kunit_kcalloc(test, h.max, sizeof(*h.obj), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, h.obj);
	for (state = 0; state < SLUB_HP_NR_STATES; state++) {
		if (flags & BIT(0))
			slub_hp_check_alloc(test, &h, state, nid, false, when);
		if (flags & BIT(1))
			slub_hp_check_alloc(test, &h, state, nid, true, when);
	}
}

/* The same, from a cache created for the check. */
static void slub_hp_expect_alloc(struct kunit *test, int nid, unsigned int flags,
				 const char *when)
{
	struct kmem_cache *s = slub_hp_create_cache(test, "slub_hp_slowpath", 96, 0);

	slub_hp_expect_alloc_in(test, s, nid, flags, when);
	kunit_release_action(test, slub_hp_destroy_cache, s);
}

#define SLUB_HP_ALLOC_PLAIN	BIT(0)
#define SLUB_HP_ALLOC_THISNODE	BIT(1)
#define SLUB_HP_ALLOC_BOTH	(SLUB_HP_ALLOC_PLAIN | SLUB_HP_ALLOC_THISNODE)

#endif /* _MM_SLUB_KUNIT_ALLOC_H */
