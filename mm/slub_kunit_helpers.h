/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the SLUB NUMA hotplug tests (mm/slub_kunit.c and
 * mm/slub_kunit_real.c): delivering events to the slab callback, guarding
 * and restoring a node's slab state, snapshots, the invariant checks, and
 * walking the hotplug core's sequences against the model. Like the tests,
 * this is part of mm/slub.c.
 */
#ifndef _MM_SLUB_KUNIT_HELPERS_H
#define _MM_SLUB_KUNIT_HELPERS_H

#include <kunit/test.h>
#include <linux/memory_hotplug.h>
#include <linux/mmzone.h>

#include "../lib/mm_kunit_helpers.h"
#include "slub_kunit_model.h"

/* ---------------------------------------------------------------------- */
/* Per-case state and fault injection                                       */
/* ---------------------------------------------------------------------- */

struct slub_hp_snap;

/**
 * struct slub_hp_ctx - per-case state
 * @test: the case
 * @start: the slab and node state when the case began
 * @node_watch: the case's kmem_cache_node allocations (and which to fail)
 * @barn_watch: the same for barns
 * @watching: @node_watch and @barn_watch are added to the case
 * @guarded: nodes whose slab state is restored when the case ends
 */
struct slub_hp_ctx {
	struct kunit *test;
	const struct slub_hp_snap *start;
	struct mm_kunit_slab_watch node_watch;
	struct mm_kunit_slab_watch barn_watch;
	bool watching;
	nodemask_t guarded;
};

static bool slub_hp_is_node_cache(const struct kmem_cache *s, void *data)
{
	return s == kmem_cache_node;
}

static bool slub_hp_is_barn(const struct kmem_cache *s, void *data)
{
	return slub_hp_is_barn_cache(s);
}

/**
 * slub_hp_add_watch() - watch the case's slab allocations, or skip the case
 * @test: the running case
 * @watch: the watch, owned by the case
 *
 * Skips the case where the kernel cannot inject slab allocation failures
 * (no CONFIG_FAILSLAB).
 */
static void slub_hp_add_watch(struct kunit *test, struct mm_kunit_slab_watch *watch)
{
	int ret = mm_kunit_failslab_add(test, watch);

	if (ret == -EOPNOTSUPP)
		kunit_skip(test, "needs CONFIG_FAILSLAB to inject slab allocation failures");
	KUNIT_ASSERT_EQ(test, ret, 0);
}

/**
 * slub_hp_watch_allocs() - count (and optionally fail) slab's allocations
 * @test: the running case
 * @fail: the allocation kind to fail, or SLUB_HP_FAIL_NONE to only count
 * @fail_at: 1-based index of the allocation of that kind to fail
 *
 * Counts the kmem_cache_node and barn allocations the case's own thread
 * makes while an event is delivered (slub_hp_notify()) or memory is onlined
 * (slub_hp_set_blocks()); resets the counts. Skips the case where the kernel
 * cannot inject slab allocation failures.
 */
static void slub_hp_watch_allocs(struct kunit *test, enum slub_hp_fault_target fail,
				 unsigned int fail_at)
{
	struct slub_hp_ctx *ctx = test->priv;

	ctx->node_watch.fail_at = fail == SLUB_HP_FAIL_NODE ? fail_at : 0;
	ctx->barn_watch.fail_at = fail == SLUB_HP_FAIL_BARN ? fail_at : 0;
	ctx->node_watch.seen = 0;
	ctx->barn_watch.seen = 0;
	if (ctx->watching)
		return;
	ctx->node_watch.match = slub_hp_is_node_cache;
	ctx->barn_watch.match = slub_hp_is_barn;
	slub_hp_add_watch(test, &ctx->node_watch);
	slub_hp_add_watch(test, &ctx->barn_watch);
	ctx->watching = true;
}

/* ---------------------------------------------------------------------- */
/* Tracking, and guarding a node's slab state                               */
/* ---------------------------------------------------------------------- */

/* Whether slab pages can come from @nid: it has memory below ZONE_MOVABLE. */
static bool slub_hp_supplies(int nid)
{
	pg_data_t *pgdat;
	int z;

	if (nid < 0 || nid >= nr_node_ids || !node_possible(nid))
		return false;
	pgdat = NODE_DATA(nid);
	if (!pgdat)
		return false;
	for (z = 0; z <= ZONE_NORMAL; z++)
		if (zone_managed_pages(&pgdat->node_zones[z]))
			return true;
	return false;
}

static nodemask_t slub_hp_mask_of(bool (*has)(int nid))
{
	nodemask_t mask = NODE_MASK_NONE;
	int nid;

	for_each_node(nid)
		if (has(nid))
			node_set(nid, mask);
	return mask;
}

/* The nodes new caches get structures for (slab_nodes where it exists). */
static nodemask_t slub_hp_tracked_mask(void)
{
	return slub_hp_mask_of(slub_hp_tracked);
}

/* The nodes new caches with sheaves get barns for (slab_barn_nodes). */
static nodemask_t slub_hp_barn_tracked_mask(void)
{
	return slub_hp_mask_of(slub_hp_barn_tracked);
}

/**
 * struct slub_hp_guard - slab state of one node, restored at case end
 * @nid: the node
 * @tracked: whether @nid was tracked
 * @barn_tracked: whether @nid was in slab_barn_nodes (node notifier trees)
 * @caches: caches that had a per-node structure for @nid
 * @barns: caches that had a barn for @nid
 * @nr: number of entries in @caches and @barns
 */
struct slub_hp_guard {
	int nid;
	bool tracked;
	bool barn_tracked;
	struct kmem_cache **caches;
	struct kmem_cache **barns;
	unsigned int nr;
};

static bool slub_hp_listed(struct kmem_cache **list, unsigned int nr, struct kmem_cache *s)
{
	unsigned int i;

	for (i = 0; i < nr; i++)
		if (list[i] == s)
			return true;
	return false;
}

/*
 * Put the tracking bits back and free what the case allocated for g->nid.
 * Nothing is freed that still holds slabs or sheaves, and a node that
 * really has memory now (a real offline that failed) stays tracked with
 * its structures: taking them away would crash the next allocation there.
 * The case's final check reports what was left.
 */
static void slub_hp_restore_node(void *data)
{
	struct slub_hp_guard *g = data;
	struct kmem_cache_node **slot;
	struct kmem_cache *s;

	if (slub_hp_supplies(g->nid) && !g->tracked) {
		pr_err("slub_hotplug: node %d has memory again; left tracked\n", g->nid);
		return;
	}
	mutex_lock(&slab_mutex);
	slub_hp_set_tracked(g->nid, g->tracked);
	slub_hp_set_barn_tracked(g->nid, g->barn_tracked);
	list_for_each_entry(s, &slab_caches, list) {
		slot = slub_hp_node_slot(s, g->nid);
		/* Created while the node was untracked: cover it again (I1). */
		if (!*slot && g->tracked) {
			*slot = kmem_cache_alloc_node(kmem_cache_node, GFP_KERNEL, g->nid);
			if (*slot)
				init_kmem_cache_node(*slot);
			else
				pr_err("slub_hotplug: %s lacks node %d\n", s->name, g->nid);
		}
		/* A cache created meanwhile rightly covers a node still tracked. */
		if (*slot && !g->tracked && !slub_hp_listed(g->caches, g->nr, s)) {
			if ((*slot)->nr_partial || node_nr_slabs(*slot)) {
				pr_err("slub_hotplug: %s keeps slabs on node %d\n",
				       s->name, g->nid);
			} else {
				kmem_cache_free(kmem_cache_node, *slot);
				*slot = NULL;
			}
		}
		if (slub_hp_barn(s, g->nid) && !g->barn_tracked &&
		    !slub_hp_listed(g->barns, g->nr, s) &&
		    !slub_hp_free_idle_barn(s, g->nid))
			pr_err("slub_hotplug: %s keeps sheaves on node %d\n", s->name, g->nid);
	}
	mutex_unlock(&slab_mutex);
}

static unsigned int slub_hp_nr_caches(void)
{
	struct kmem_cache *s;
	unsigned int nr = 0;

	mutex_lock(&slab_mutex);
	list_for_each_entry(s, &slab_caches, list)
		nr++;
	mutex_unlock(&slab_mutex);
	return nr;
}

/**
 * slub_hp_guard_node() - restore @nid's slab state when the case ends
 * @test: the running case
 * @nid: node whose tracking and per-node structures may change
 *
 * Records which caches have a per-node structure (and barn) for @nid and
 * whether @nid is tracked, and registers an action that frees whatever the
 * case adds and restores the bits. Idempotent per node and case.
 */
static void slub_hp_guard_node(struct kunit *test, int nid)
{
	struct slub_hp_ctx *ctx = test->priv;
	unsigned int nr = slub_hp_nr_caches() + 16;
	struct slub_hp_guard *g;
	struct kmem_cache *s;

	if (nid == NUMA_NO_NODE || node_isset(nid, ctx->guarded))
		return;

	g = kunit_kzalloc(test, sizeof(*g), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, g);
	g->caches = kunit_kcalloc(test, nr, sizeof(*g->caches), GFP_KERNEL);
	g->barns = kunit_kcalloc(test, nr, sizeof(*g->barns), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, g->caches);
	KUNIT_ASSERT_NOT_NULL(test, g->barns);
	g->nid = nid;
	g->tracked = slub_hp_tracked(nid);
	g->barn_tracked = slub_hp_barn_tracked(nid);

	mutex_lock(&slab_mutex);
	list_for_each_entry(s, &slab_caches, list) {
		if (g->nr == nr)
			break;
		if (get_node(s, nid))
			g->caches[g->nr] = s;
		if (slub_hp_barn(s, nid))
			g->barns[g->nr] = s;
		g->nr++;
	}
	mutex_unlock(&slab_mutex);

	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, slub_hp_restore_node, g));
	node_set(nid, ctx->guarded);
}

/**
 * slub_hp_set_states() - mock the node states the hotplug core would set
 * @test: the running case
 * @nid: the node
 * @memory: whether @nid has memory (N_MEMORY)
 * @normal: whether @nid has normal memory (N_NORMAL_MEMORY)
 *
 * The states found on first use are put back when the case ends.
 */
static void slub_hp_set_states(struct kunit *test, int nid, bool memory, bool normal)
{
	KUNIT_ASSERT_EQ(test, 0, mm_kunit_set_node_state(test, nid, N_MEMORY, memory));
	KUNIT_ASSERT_EQ(test, 0, mm_kunit_set_node_state(test, nid, N_NORMAL_MEMORY, normal));
}

/**
 * slub_hp_notify() - deliver one notifier event to the slab callback
 * @test: the running case
 * @action: MEM_* or NODE_* action
 * @nid: node that gains its first or loses its last memory, or NUMA_NO_NODE
 * @nid_normal: the same for normal memory (memory notifier only)
 *
 * Calls slab_memory_callback() with the locks the hotplug core holds: the
 * memory hotplug lock, and with it the CPU hotplug read lock. The nodes named
 * are guarded first, so whatever the callback changes is undone at case end.
 *
 * Return: the callback's notifier return value.
 */
static int slub_hp_notify(struct kunit *test, unsigned long action, int nid, int nid_normal)
{
	int ret;

	slub_hp_guard_node(test, nid);
	slub_hp_guard_node(test, nid_normal);

	if (IS_ENABLED(CONFIG_MEMORY_HOTPLUG))
		mem_hotplug_begin();
	else
		cpus_read_lock();
	mm_kunit_failslab_start(test);
	ret = slub_hp_call(action, nid, nid_normal);
	mm_kunit_failslab_stop(test);
	if (IS_ENABLED(CONFIG_MEMORY_HOTPLUG))
		mem_hotplug_done();
	else
		cpus_read_unlock();
	return ret;
}

/* ---------------------------------------------------------------------- */
/* Snapshots and invariant checks                                           */
/* ---------------------------------------------------------------------- */

/**
 * struct slub_hp_snap - slab and node state at one moment
 * @nr: number of caches recorded
 * @caches: the caches, in slab_caches order
 * @nodes: @nodes[i * nr_node_ids + nid] is get_node(caches[i], nid)
 * @barns: the same for barns (node notifier trees)
 * @tracked: the tracked nodes
 * @barn_tracked: the nodes in slab_barn_nodes
 * @online: node_states[N_ONLINE]
 * @memory: node_states[N_MEMORY]
 * @normal: node_states[N_NORMAL_MEMORY]
 */
struct slub_hp_snap {
	unsigned int nr;
	struct kmem_cache **caches;
	struct kmem_cache_node **nodes;
	void **barns;
	nodemask_t tracked, barn_tracked;
	nodemask_t online, memory, normal;
};

/* Fill @snap; room for a few caches created meanwhile by other threads. */
static int slub_hp_snap_take(struct kunit *test, struct slub_hp_snap *snap)
{
	unsigned int nr = slub_hp_nr_caches() + 16, i = 0;
	struct kmem_cache *s;
	int nid;

	snap->caches = kunit_kcalloc(test, nr, sizeof(*snap->caches), GFP_KERNEL);
	snap->nodes = kunit_kcalloc(test, nr * nr_node_ids, sizeof(*snap->nodes), GFP_KERNEL);
	snap->barns = kunit_kcalloc(test, nr * nr_node_ids, sizeof(*snap->barns), GFP_KERNEL);
	if (!snap->caches || !snap->nodes || !snap->barns)
		return -ENOMEM;

	snap->tracked = slub_hp_tracked_mask();
	snap->barn_tracked = slub_hp_barn_tracked_mask();
	snap->online = node_states[N_ONLINE];
	snap->memory = node_states[N_MEMORY];
	snap->normal = node_states[N_NORMAL_MEMORY];
	mutex_lock(&slab_mutex);
	list_for_each_entry(s, &slab_caches, list) {
		if (i == nr)
			break;
		snap->caches[i] = s;
		for_each_node(nid) {
			snap->nodes[i * nr_node_ids + nid] = get_node(s, nid);
			snap->barns[i * nr_node_ids + nid] = slub_hp_barn(s, nid);
		}
		i++;
	}
	snap->nr = i;
	mutex_unlock(&slab_mutex);
	return 0;
}

static const struct slub_hp_snap *slub_hp_snapshot(struct kunit *test)
{
	struct slub_hp_snap *snap = kunit_kzalloc(test, sizeof(*snap), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, snap);
	KUNIT_ASSERT_EQ(test, 0, slub_hp_snap_take(test, snap));
	return snap;
}

static int slub_hp_snap_index(const struct slub_hp_snap *snap, struct kmem_cache *s)
{
	unsigned int i;

	for (i = 0; i < snap->nr; i++)
		if (snap->caches[i] == s)
			return i;
	return -1;
}

/*
 * I2: a per-node structure (or barn) seen in @before is still the one the
 * cache uses in @now. With @exact, also no structure appeared where there
 * was none (I4: an action the slab ignores allocates nothing). Returns the
 * number of (cache, node) pairs that differ.
 */
static unsigned int slub_hp_expect_same(struct kunit *test, const struct slub_hp_snap *before,
					const struct slub_hp_snap *now, bool exact,
					const char *when)
{
	unsigned int i, differ = 0;
	int j, nid;

	for (i = 0; i < before->nr; i++) {
		struct kmem_cache *s = before->caches[i];

		j = slub_hp_snap_index(now, s);
		if (j < 0)
			continue;	/* destroyed meanwhile */
		for_each_node(nid) {
			struct kmem_cache_node *was = before->nodes[i * nr_node_ids + nid];
			struct kmem_cache_node *is = now->nodes[j * nr_node_ids + nid];
			void *bwas = before->barns[i * nr_node_ids + nid];
			void *bis = now->barns[j * nr_node_ids + nid];

			if ((was || exact) && is != was) {
				KUNIT_FAIL(test, "%s: %s node %d structure %s", when, s->name, nid,
					   was ? "replaced or freed" : "allocated");
				differ++;
			}
			if ((bwas || exact) && bis != bwas) {
				KUNIT_FAIL(test, "%s: %s node %d barn %s", when, s->name, nid,
					   bwas ? "replaced or freed" : "allocated");
				differ++;
			}
		}
	}
	return differ;
}

static void slub_hp_expect_kept(struct kunit *test, const struct slub_hp_snap *before,
				bool exact, const char *when)
{
	slub_hp_expect_same(test, before, slub_hp_snapshot(test), exact, when);
}

/*
 * The case left the kernel as it found it: the tracking masks, the node
 * states, and every per-node structure and barn of every cache that existed
 * when it began (none freed, none replaced, none left behind). Runs last of
 * the case's cleanups, also after a case that failed midway.
 */
static void slub_hp_expect_restored(void *data)
{
	struct slub_hp_ctx *ctx = data;
	struct kunit *test = ctx->test;
	const struct slub_hp_snap *was = ctx->start;
	struct slub_hp_snap now = {};

	if (slub_hp_snap_take(test, &now)) {
		KUNIT_FAIL(test, "no memory to check the state the case left");
		return;
	}
	KUNIT_EXPECT_TRUE_MSG(test, nodes_equal(now.tracked, was->tracked),
			      "left tracked nodes %*pbl, found %*pbl",
			      nodemask_pr_args(&now.tracked), nodemask_pr_args(&was->tracked));
	KUNIT_EXPECT_TRUE_MSG(test, nodes_equal(now.barn_tracked, was->barn_tracked),
			      "left barn-tracked nodes %*pbl, found %*pbl",
			      nodemask_pr_args(&now.barn_tracked),
			      nodemask_pr_args(&was->barn_tracked));
	KUNIT_EXPECT_TRUE(test, nodes_equal(now.online, was->online));
	KUNIT_EXPECT_TRUE(test, nodes_equal(now.memory, was->memory));
	KUNIT_EXPECT_TRUE(test, nodes_equal(now.normal, was->normal));
	slub_hp_expect_same(test, was, &now, true, "after the case");
}

/*
 * A per-node structure that holds nothing, as init_kmem_cache_node() leaves
 * it: empty lists, zero counts, a lock that is free (and, with spinlock
 * debugging, initialised). The lists are compared, not followed, so that
 * garbage fails the check instead of the kernel.
 */
static bool slub_hp_node_pristine(struct kmem_cache_node *n)
{
	unsigned long flags;

	if (n->nr_partial || n->partial.next != &n->partial || n->partial.prev != &n->partial)
		return false;
#ifdef CONFIG_SLUB_DEBUG
	if (atomic_long_read(&n->nr_slabs) || atomic_long_read(&n->total_objects) ||
	    n->full.next != &n->full || n->full.prev != &n->full)
		return false;
#endif
#if defined(CONFIG_DEBUG_SPINLOCK) && !defined(CONFIG_PREEMPT_RT)
	if (n->list_lock.rlock.magic != SPINLOCK_MAGIC)
		return false;
#endif
	if (!spin_trylock_irqsave(&n->list_lock, flags))
		return false;
	spin_unlock_irqrestore(&n->list_lock, flags);
	return true;
}

/*
 * I1: every cache has a per-node structure for every tracked node, and, on
 * trees with barns, a barn for every barn-tracked node if it uses sheaves.
 * On a node that has no memory for slabs every structure must also be as
 * initialised, holding nothing; so must its barns if it has no CPU either.
 */
static void slub_hp_expect_coverage(struct kunit *test, const char *when)
{
	nodemask_t tracked = slub_hp_tracked_mask();
	nodemask_t barn_tracked = slub_hp_barn_tracked_mask();
	unsigned int missing = 0, missing_barns = 0, unclean = 0;
	int first_nid = NUMA_NO_NODE, unclean_nid = NUMA_NO_NODE;
	const char *first = NULL, *unclean_name = NULL;
	nodemask_t empty = NODE_MASK_NONE, idle = NODE_MASK_NONE;
	struct kmem_cache *s;
	int nid;

	for_each_node(nid) {
		if (slub_hp_supplies(nid))
			continue;
		node_set(nid, empty);
		if (!node_state(nid, N_CPU))
			node_set(nid, idle);
	}
	mutex_lock(&slab_mutex);
	list_for_each_entry(s, &slab_caches, list) {
		for_each_node_mask(nid, tracked) {
			if (get_node(s, nid))
				continue;
			if (!missing++) {
				first = s->name;
				first_nid = nid;
			}
		}
		for_each_node_mask(nid, barn_tracked)
			if (slub_hp_wants_barn(s) && !slub_hp_barn(s, nid))
				missing_barns++;
		for_each_node_mask(nid, empty) {
			if ((!get_node(s, nid) || slub_hp_node_pristine(get_node(s, nid))) &&
			    (!node_isset(nid, idle) || !slub_hp_barn(s, nid) ||
			     slub_hp_barn_pristine(slub_hp_barn(s, nid))))
				continue;
			if (!unclean++) {
				unclean_name = s->name;
				unclean_nid = nid;
			}
		}
	}
	mutex_unlock(&slab_mutex);

	KUNIT_EXPECT_EQ_MSG(test, missing, 0,
			    "%s: %u tracked (cache, node) pairs lack a structure, first %s node %d",
			    when, missing, first, first_nid);
	KUNIT_EXPECT_EQ_MSG(test, missing_barns, 0,
			    "%s: %u barn-tracked (cache, node) pairs lack a barn",
			    when, missing_barns);
	KUNIT_EXPECT_EQ_MSG(test, unclean, 0,
			    "%s: %u structures or barns of empty nodes not as initialised, first %s node %d",
			    when, unclean, unclean_name, unclean_nid);
}

/* Count caches with a structure (and a barn) for @nid. */
static void slub_hp_count(int nid, unsigned int *nodes, unsigned int *barns,
			  unsigned int *caches)
{
	struct kmem_cache *s;

	*nodes = 0;
	*barns = 0;
	*caches = 0;
	mutex_lock(&slab_mutex);
	list_for_each_entry(s, &slab_caches, list) {
		(*caches)++;
		if (get_node(s, nid))
			(*nodes)++;
		if (slub_hp_barn(s, nid))
			(*barns)++;
	}
	mutex_unlock(&slab_mutex);
}

KUNIT_DEFINE_ACTION_WRAPPER(slub_hp_destroy_cache, kmem_cache_destroy, struct kmem_cache *);

/**
 * slub_hp_create_cache() - create an unmergeable cache for the running case
 * @test: the running case
 * @name: cache name
 * @size: object size
 * @flags: SLAB_* flags besides SLAB_NO_MERGE
 *
 * The cache is destroyed when the case ends, before any node state the case
 * changed earlier is restored.
 *
 * Return: the cache; the case is aborted if it cannot be created.
 */
static struct kmem_cache *slub_hp_create_cache(struct kunit *test, const char *name,
					       unsigned int size, slab_flags_t flags)
{
	struct kmem_cache *s;

	s = kmem_cache_create(name, size, 0, SLAB_NO_MERGE | flags, NULL);
	KUNIT_ASSERT_NOT_NULL(test, s);
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, slub_hp_destroy_cache, s));
	return s;
}

/*
 * I1 for caches created now: per-node structures for exactly the tracked
 * nodes, not for the nodes node_states[] reports.
 */
static void slub_hp_expect_new_cache_nodes(struct kunit *test, const char *when)
{
	nodemask_t tracked = slub_hp_tracked_mask();
	nodemask_t barn_tracked = slub_hp_barn_tracked_mask();
	struct kmem_cache *s = slub_hp_create_cache(test, "slub_hp_new", 64, 0);
	int nid;

	for_each_node(nid) {
		if (node_isset(nid, tracked))
			KUNIT_EXPECT_NOT_NULL_MSG(test, get_node(s, nid),
						  "%s: new cache lacks tracked node %d", when, nid);
		else
			KUNIT_EXPECT_NULL_MSG(test, get_node(s, nid),
					      "%s: new cache has untracked node %d", when, nid);
		if (node_isset(nid, barn_tracked) && slub_hp_wants_barn(s))
			KUNIT_EXPECT_NOT_NULL_MSG(test, slub_hp_barn(s, nid),
						  "%s: new cache lacks a barn on node %d",
						  when, nid);
	}
	kunit_release_action(test, slub_hp_destroy_cache, s);
}

/* A node without memory that no cache has a structure for. */
static bool slub_hp_unused_node(int nid)
{
	unsigned int nodes, barns, caches;

	slub_hp_count(nid, &nodes, &barns, &caches);
	return !nodes && !slub_hp_tracked(nid) && !node_state(nid, N_MEMORY);
}

/* ---------------------------------------------------------------------- */
/* Suite and case set-up                                                    */
/* ---------------------------------------------------------------------- */

/*
 * Each case runs on the CPUs of a node with memory, so that what the slow
 * path does with the CPU's own node is the same from run to run; and checks,
 * last of all, that it left the kernel as it found it.
 */
static int slub_hp_case_init(struct kunit *test)
{
	struct slub_hp_ctx *ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);
	struct slub_hp_snap *start = kunit_kzalloc(test, sizeof(*start), GFP_KERNEL);

	if (!ctx || !start || slub_hp_snap_take(test, start))
		return -ENOMEM;
	set_cpus_allowed_ptr(current, cpumask_of_node(slub_hp.normal_nid));
	ctx->test = test;
	ctx->start = start;
	test->priv = ctx;
	return kunit_add_action_or_reset(test, slub_hp_expect_restored, ctx);
}

/* The nodes the cases work on. */
static int slub_hp_suite_init(struct kunit_suite *suite)
{
	int nid;

	/*
	 * The first node with normal memory and CPUs, whichever CPU runs this:
	 * each case's nodes are the same in every boot.
	 */
	slub_hp.normal_nid = numa_mem_id();
	for_each_node_state(nid, N_NORMAL_MEMORY)
		if (node_state(nid, N_CPU)) {
			slub_hp.normal_nid = nid;
			break;
		}
	slub_hp.other_nid = NUMA_NO_NODE;
	slub_hp.memless_nid = NUMA_NO_NODE;
	slub_hp.cpu_nid = NUMA_NO_NODE;
	slub_hp.offline_nid = NUMA_NO_NODE;
	for_each_node_state(nid, N_NORMAL_MEMORY)
		if (nid != slub_hp.normal_nid && slub_hp.other_nid == NUMA_NO_NODE)
			slub_hp.other_nid = nid;
	/*
	 * Prefer an online memoryless node without CPUs (whose barns stay
	 * empty, and which may own hot-pluggable memory), then one with
	 * CPUs; fall back to an offline one.
	 */
	for_each_online_node(nid)
		if (slub_hp.memless_nid == NUMA_NO_NODE && slub_hp_unused_node(nid) &&
		    !node_state(nid, N_CPU))
			slub_hp.memless_nid = nid;
	for_each_online_node(nid)
		if (slub_hp.memless_nid == NUMA_NO_NODE && slub_hp_unused_node(nid))
			slub_hp.memless_nid = nid;
	for_each_online_node(nid)
		if (slub_hp.cpu_nid == NUMA_NO_NODE && slub_hp_unused_node(nid) &&
		    node_state(nid, N_CPU))
			slub_hp.cpu_nid = nid;
	for_each_node(nid) {
		if (node_online(nid))
			continue;
		if (slub_hp.memless_nid == NUMA_NO_NODE && slub_hp_unused_node(nid))
			slub_hp.memless_nid = nid;
		else if (slub_hp.offline_nid == NUMA_NO_NODE && nid != slub_hp.memless_nid)
			slub_hp.offline_nid = nid;
	}

	pr_info("%s: %s, policy %s, nodes: normal %d other %d memoryless %d with CPUs %d offline %d\n",
		suite->name, SLUB_HP_GENERATION, slub_hp_policy_names[slub_hp.policy],
		slub_hp.normal_nid, slub_hp.other_nid, slub_hp.memless_nid, slub_hp.cpu_nid,
		slub_hp.offline_nid);
	return 0;
}

#endif /* _MM_SLUB_KUNIT_HELPERS_H */
