// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers shared by the SLUB NUMA hotplug tests (mm/slub_kunit.c and
 * mm/slub_kunit_real.c), declared in mm/slub_kunit_helpers.h: the model's
 * policy, delivering events to the slab callback, guarding and restoring a
 * node's slab state, snapshots, the invariant checks, walking the hotplug
 * core's sequences against the model, and the allocation slow path's node
 * fallback. Part of mm/slub.c, which includes this file before the tests.
 *
 * What the tests change of the slab's own state, and SLUB has no operation
 * to undo, is undone in one place below ("What a synthetic event leaves
 * behind"), by functions that each mirror the code of mm/slub.c they undo.
 */

#include <kunit/test.h>
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/kasan.h>
#include <linux/kthread.h>
#include <linux/memory_hotplug.h>
#include <linux/mmzone.h>
#include <linux/sched.h>

#include "slub_kunit_helpers.h"

struct slub_hp_run slub_hp = {
	.policy = SLUB_HP_DEFAULT_POLICY,
};

/**
 * slub_hp_model() - the policy: is the node tracked after an action?
 * @act: the action delivered
 * @t: the transition it belongs to
 * @tracked: whether the node was tracked before
 *
 * The memory notifier tells the slab which kind of memory changes; the node
 * notifier does not, so under the normal policy there a movable-only node is
 * expected to stay untracked only if the kernel looks at the zones itself.
 *
 * Return: whether the node is tracked after @act.
 */
bool slub_hp_model(const struct slub_hp_action *act, const struct slub_hp_trans *t,
		   bool tracked)
{
	bool named = t->names_nid || t->names_normal;

	if (slub_hp.policy == SLUB_HP_POLICY_MEMORY) {
		if (slub_hp_dir(act) == SLUB_HP_ON && slub_hp_role(act) == SLUB_HP_GOING && named)
			return true;
		return tracked;
	}
	if (!t->names_normal)
		return tracked;
	if (slub_hp_dir(act) == SLUB_HP_ON && slub_hp_role(act) == SLUB_HP_GOING)
		return true;
	if ((slub_hp_dir(act) == SLUB_HP_OFF && slub_hp_role(act) == SLUB_HP_DONE) ||
	    (slub_hp_dir(act) == SLUB_HP_ON && slub_hp_role(act) == SLUB_HP_CANCEL))
		return false;
	return tracked;
}

#if !SLUB_HP_HAVE_SLAB_NODES || !SLUB_HP_HAVE_SLAB_BARN_NODES
/**
 * slub_hp_probe() - whether a cache created now gets @nid
 * @nid: the node
 * @barn: ask for a barn instead of a per-node structure
 *
 * For trees without a tracking mask to read. Not under slab_mutex.
 *
 * Return: whether a new cache has a per-node structure (or barn) for @nid.
 */
bool slub_hp_probe(int nid, bool barn)
{
	struct kmem_cache *s = kmem_cache_create("slub_hp_probe", 64, 0, SLAB_NO_MERGE, NULL);
	bool has;

	if (!s)
		return false;
	has = barn ? !!slub_hp_barn(s, nid) : !!get_node(s, nid);
	kmem_cache_destroy(s);
	return has;
}
#endif

/* ---------------------------------------------------------------------- */
/* What a synthetic event leaves behind                                   */
/* ---------------------------------------------------------------------- */

/*
 * A synthetic event makes the slab track a node, and give every cache a
 * per-node structure (and a barn) for it, that no memory hotplug will ever
 * take away; and a case may need them back after an offline. SLUB has no
 * operation for either outside the notifier, so these functions do it, each
 * mirroring the code of mm/slub.c named in its comment. Change them when
 * that code changes. Callers hold slab_mutex.
 */

/* node_set()/node_clear() on slab_nodes, as slab_mem_going_online_callback() does. */
static void slub_hp_set_tracked(int nid, bool on)
{
	lockdep_assert_held(&slab_mutex);
#if SLUB_HP_HAVE_SLAB_NODES
	if (on)
		node_set(nid, slab_nodes);
	else
		node_clear(nid, slab_nodes);
#endif
}

/* The same for slab_barn_nodes (node notifier trees). */
static void slub_hp_set_barn_tracked(int nid, bool on)
{
	lockdep_assert_held(&slab_mutex);
#if SLUB_HP_HAVE_BARNS && SLUB_HP_HAVE_SLAB_BARN_NODES
	if (on)
		node_set(nid, slab_barn_nodes);
	else
		node_clear(nid, slab_barn_nodes);
#endif
}

/*
 * Give @s a structure for @nid, as slab_mem_going_online_callback() does:
 * kmem_cache_alloc() from kmem_cache_node (any node: @nid may have no
 * memory), init_kmem_cache_node(), then publish it.
 */
static bool slub_hp_give_node(struct kmem_cache *s, int nid)
{
	struct kmem_cache_node *n = kmem_cache_alloc(kmem_cache_node, GFP_KERNEL);

	if (!n)
		return false;
	init_kmem_cache_node(n);
	*slub_hp_node_slot(s, nid) = n;
	return true;
}

/*
 * Unpublish @s's structure for @nid, unless it still holds slabs, which only
 * the cache's destruction may free. Returns the structure, for
 * slub_hp_free_retired() to free; NULL if there is none or it is kept.
 * *@kept tells the two apart.
 */
static struct kmem_cache_node *slub_hp_retire_node(struct kmem_cache *s, int nid, bool *kept)
{
	struct kmem_cache_node *n = get_node(s, nid);

	*kept = n && (n->nr_partial || node_nr_slabs(n));
	if (!n || *kept)
		return NULL;
	WRITE_ONCE(*slub_hp_node_slot(s, nid), NULL);
	return n;
}

/*
 * The same for @s's barn for @nid; kept while it holds sheaves, which
 * free_kmem_cache_nodes() warns about.
 */
static void *slub_hp_retire_barn(struct kmem_cache *s, int nid, bool *kept)
{
#if SLUB_HP_HAVE_BARNS
	struct node_barn *barn = get_barn_node(s, nid);

	*kept = barn && (barn->nr_full || barn->nr_empty);
	if (!barn || *kept)
		return NULL;
	WRITE_ONCE(s->per_node[nid].barn, NULL);
	return barn;
#else
	*kept = false;
	return NULL;
#endif
}

/* ---------------------------------------------------------------------- */
/* Per-case state and fault injection                                     */
/* ---------------------------------------------------------------------- */

/*
 * An allocation is a per-node structure's (or a barn's) if it comes from
 * the cache that holds the structures (barns) the kernel has already made,
 * as their slabs say: whichever cache a tree allocates them from.
 */
bool slub_hp_is_node_cache(const struct kmem_cache *s, void *data)
{
	return s && s == slub_hp.node_owner;
}

static bool slub_hp_is_barn(const struct kmem_cache *s, void *data)
{
	return s && s == slub_hp.barn_owner;
}

/**
 * slub_hp_add_watch() - watch the case's slab allocations, or skip the case
 * @test: the running case
 * @watch: the watch, owned by the case
 *
 * Skips the case where the kernel cannot inject slab allocation failures
 * (no CONFIG_FAILSLAB).
 */
void slub_hp_add_watch(struct kunit *test, struct mm_kunit_slab_watch *watch)
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
void slub_hp_watch_allocs(struct kunit *test, enum slub_hp_fault_target fail,
			  unsigned int fail_at)
{
	struct slub_hp_ctx *ctx = test->priv;

	if (fail == SLUB_HP_FAIL_NODE && !slub_hp.node_owner)
		kunit_skip(test, "per-node structures are not slab objects here: none to fail");
	if (fail == SLUB_HP_FAIL_BARN && !slub_hp.barn_owner)
		kunit_skip(test, "barns are not slab objects here: none to fail");
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

/* Deferred action: stop a case's thread and drop the case's reference. */
void slub_hp_thread_stop(void *task)
{
	kthread_stop(task);
	put_task_struct(task);
}

/* ---------------------------------------------------------------------- */
/* Tracking, and guarding a node's slab state                             */
/* ---------------------------------------------------------------------- */

/* Whether slab pages can come from @nid: it has memory below ZONE_MOVABLE. */
bool slub_hp_supplies(int nid)
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
nodemask_t slub_hp_tracked_mask(void)
{
	return slub_hp_mask_of(slub_hp_tracked);
}

/* The nodes new caches with sheaves get barns for (slab_barn_nodes). */
nodemask_t slub_hp_barn_tracked_mask(void)
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

/**
 * struct slub_hp_retired - structures a restore unpublished
 * @rcu: frees them once no reader can hold them
 * @nodes: per-node structures, from the kmem_cache_node cache
 * @barns: barns, from kmalloc
 * @nr_nodes: entries in @nodes
 * @nr_barns: entries in @barns
 * @size: room in each array
 */
struct slub_hp_retired {
	struct rcu_head rcu;
	struct kmem_cache_node **nodes;
	void **barns;
	unsigned int nr_nodes;
	unsigned int nr_barns;
	unsigned int size;
};

static void slub_hp_free_retired_rcu(struct rcu_head *head)
{
	struct slub_hp_retired *r = container_of(head, struct slub_hp_retired, rcu);
	unsigned int i;

	for (i = 0; i < r->nr_nodes; i++)
		kmem_cache_free(kmem_cache_node, r->nodes[i]);
	for (i = 0; i < r->nr_barns; i++)
		kfree(r->barns[i]);
	kfree(r->nodes);
	kfree(r->barns);
	kfree(r);
}

/*
 * Free what a restore unpublished, once no reader can hold it. SLUB's own
 * offline never frees a per-node structure, because nothing but
 * slab_mutex, which get_node() users do not take, orders them against it:
 * a reader on the allocation or free path may have loaded the pointer just
 * cleared and been preempted before taking n->list_lock. Those readers
 * load and use it without sleeping in between, so once every task has gone
 * through a voluntary context switch (or user mode, or idle), as an RCU
 * Tasks grace period waits for, none holds it. On a kernel that cannot be
 * preempted that is an ordinary RCU grace period, and the option selects
 * NEED_TASKS_RCU for the others. The restore does not wait for it: a case
 * that crashed leaves a task that never ends its exit, and the grace
 * period with it; the structures are then never freed, and the run goes on.
 */
static void slub_hp_free_retired(struct slub_hp_retired *r)
{
	if (r->nr_nodes || r->nr_barns) {
		call_rcu_tasks(&r->rcu, slub_hp_free_retired_rcu);
		return;
	}
	kfree(r->nodes);
	kfree(r->barns);
	kfree(r);
}

/* Put back @s's share of g->nid's state; what is taken away goes to @r. */
static void slub_hp_restore_cache(struct slub_hp_guard *g, struct kmem_cache *s,
				  struct slub_hp_retired *r)
{
	void *gone;
	bool kept;

	/* Created while the node was untracked: cover it again (I1). */
	if (!get_node(s, g->nid) && g->tracked && !slub_hp_give_node(s, g->nid))
		pr_err("slub_hotplug: %s lacks node %d\n", s->name, g->nid);
	/* A cache created meanwhile rightly covers a node still tracked. */
	if (get_node(s, g->nid) && !g->tracked && !slub_hp_listed(g->caches, g->nr, s) &&
	    r->nr_nodes < r->size) {
		gone = slub_hp_retire_node(s, g->nid, &kept);
		if (gone)
			r->nodes[r->nr_nodes++] = gone;
		if (kept)
			pr_err("slub_hotplug: %s keeps slabs on node %d\n", s->name, g->nid);
	}
	if (slub_hp_barn(s, g->nid) && !g->barn_tracked &&
	    !slub_hp_listed(g->barns, g->nr, s) && r->nr_barns < r->size) {
		gone = slub_hp_retire_barn(s, g->nid, &kept);
		if (gone)
			r->barns[r->nr_barns++] = gone;
		if (kept)
			pr_err("slub_hotplug: %s keeps sheaves on node %d\n", s->name, g->nid);
	}
}

/*
 * Put the tracking bits back and take away what the case added for g->nid.
 * Nothing is taken that still holds slabs or sheaves, and a node that
 * really has memory now (a real offline that failed) stays tracked with
 * its structures: taking them away would crash the next allocation there.
 * What is taken is freed only when no reader can hold it. The case's final
 * check reports what was left.
 */
static void slub_hp_restore_node(void *data)
{
	struct slub_hp_guard *g = data;
	struct slub_hp_retired *r;
	struct kmem_cache *s;

	if (slub_hp_supplies(g->nid) && !g->tracked) {
		pr_err("slub_hotplug: node %d has memory again; left tracked\n", g->nid);
		return;
	}
	r = kzalloc(sizeof(*r), GFP_KERNEL);
	if (!r)
		return;	/* the case's final check reports what is left */
	r->size = slub_hp_nr_caches() + 16;
	r->nodes = kcalloc(r->size, sizeof(*r->nodes), GFP_KERNEL);
	r->barns = kcalloc(r->size, sizeof(*r->barns), GFP_KERNEL);
	if (!r->nodes || !r->barns)
		r->size = 0;

	mutex_lock(&slab_mutex);
	slub_hp_set_tracked(g->nid, g->tracked);
	slub_hp_set_barn_tracked(g->nid, g->barn_tracked);
	list_for_each_entry(s, &slab_caches, list)
		slub_hp_restore_cache(g, s, r);
	mutex_unlock(&slab_mutex);
	slub_hp_free_retired(r);
}

unsigned int slub_hp_nr_caches(void)
{
	struct kmem_cache *s;
	unsigned int nr = 0;

	mutex_lock(&slab_mutex);
	list_for_each_entry(s, &slab_caches, list)
		nr++;
	mutex_unlock(&slab_mutex);
	return nr;
}

/* All slabs of a cache, on every node. */
unsigned long slub_hp_nr_slabs(struct kmem_cache *s)
{
	struct kmem_cache_node *n;
	unsigned long nr = 0;
	int nid;

	for_each_kmem_cache_node(s, nid, n)
		nr += node_nr_slabs(n);
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
void slub_hp_guard_node(struct kunit *test, int nid)
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
void slub_hp_set_states(struct kunit *test, int nid, bool memory, bool normal)
{
	KUNIT_ASSERT_EQ(test, 0, mm_kunit_set_node_state(test, nid, N_MEMORY, memory));
	KUNIT_ASSERT_EQ(test, 0, mm_kunit_set_node_state(test, nid, N_NORMAL_MEMORY, normal));
}

/* ---------------------------------------------------------------------- */
/* Memory blocks the events are about                                     */
/* ---------------------------------------------------------------------- */

#ifdef CONFIG_MEMORY_HOTPLUG

struct slub_hp_block_search {
	struct slub_hp_ctx *ctx;
	struct slub_hp_block *b;
	bool found;
};

static bool slub_hp_block_taken(struct slub_hp_ctx *ctx, unsigned long pfn)
{
	unsigned int i;

	for (i = 0; i < ctx->nr_taken; i++)
		if (ctx->taken[i] == pfn)
			return true;
	return false;
}

/*
 * The node's first offline block not yet handed out for a spare block;
 * else its last online one.
 */
static int slub_hp_find_block(struct memory_block *mem, void *arg)
{
	struct slub_hp_block_search *search = arg;
	struct slub_hp_block *b = search->b;
	unsigned long pfn = section_nr_to_pfn(mem->start_section_nr);

	if (mem->nid != b->nid || slub_hp_block_taken(search->ctx, pfn) ||
	    mem->state != (b->spare ? MEM_OFFLINE : MEM_ONLINE))
		return 0;
	b->start_pfn = pfn;
	search->found = true;
	return b->spare;
}

/* As online_pages() before its first notification: the range joins a zone. */
static void slub_hp_block_enter(struct slub_hp_block *b, bool normal)
{
	if (!b->spare || b->zone)
		return;
	mem_hotplug_begin();
	b->zone = zone_for_pfn_range(normal ? MMOP_ONLINE_KERNEL : MMOP_ONLINE_MOVABLE, b->nid,
				     NULL, b->start_pfn, b->nr_pages);
#if SLUB_HP_HAVE_BARNS
	move_pfn_range_to_zone(b->zone, b->start_pfn, b->nr_pages, NULL, MIGRATE_MOVABLE, true);
#else
	move_pfn_range_to_zone(b->zone, b->start_pfn, b->nr_pages, NULL, MIGRATE_ISOLATE);
#endif
	mem_hotplug_done();
}

/*
 * As online_pages() and offline_pages() before they change node_states[]:
 * the zone counts the range as present, or no longer. The pages themselves
 * never reach the page allocator.
 */
static void slub_hp_block_count(struct slub_hp_block *b, bool present)
{
	if (!b->spare || !b->zone || b->present == present)
		return;
	mem_hotplug_begin();
	adjust_present_page_count(pfn_to_page(b->start_pfn), NULL,
				  present ? b->nr_pages : -(long)b->nr_pages);
	b->present = present;
	mem_hotplug_done();
}

/* As offline_pages() after its last notification, or a cancelled online. */
static void slub_hp_block_leave(struct slub_hp_block *b)
{
	if (!b->spare || !b->zone)
		return;
	slub_hp_block_count(b, false);
	mem_hotplug_begin();
	remove_pfn_range_from_zone(b->zone, b->start_pfn, b->nr_pages);
	b->zone = NULL;
	mem_hotplug_done();
}

static void slub_hp_block_undo(void *b)
{
	slub_hp_block_leave(b);
}

/**
 * slub_hp_block() - a memory block of @nid for the case's events
 * @test: the running case
 * @nid: the node
 * @spare: an offline block, whose onlining the events stand for; else an
 *	online one
 *
 * Each block is handed out once per case. A spare block is moved into a
 * zone and counted present as the events go (see slub_hp_step() and
 * slub_hp_walk()), and taken out of it again when the case ends. Skips the
 * case where @nid has no such block: the core sends no event there.
 *
 * Return: the block, owned by the case.
 */
struct slub_hp_block *slub_hp_block(struct kunit *test, int nid, bool spare)
{
	struct slub_hp_ctx *ctx = test->priv;
	struct slub_hp_block *b = kunit_kzalloc(test, sizeof(*b), GFP_KERNEL);
	struct slub_hp_block_search search = { .ctx = ctx, .b = b };

	KUNIT_ASSERT_NOT_NULL(test, b);
	KUNIT_ASSERT_LT(test, ctx->nr_taken, ARRAY_SIZE(ctx->taken));
	b->nid = nid;
	b->spare = spare;
	b->nr_pages = memory_block_size_bytes() >> PAGE_SHIFT;
	for_each_memory_block(&search, slub_hp_find_block);
	if (!search.found)
		kunit_skip(test, "node %d has no %s memory block: the core sends no event for it",
			   nid, spare ? "offline" : "online");
	ctx->taken[ctx->nr_taken++] = b->start_pfn;
	if (spare)
		KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, slub_hp_block_undo, b));
	return b;
}

#else /* !CONFIG_MEMORY_HOTPLUG */

static void slub_hp_block_enter(struct slub_hp_block *b, bool normal) {}
static void slub_hp_block_count(struct slub_hp_block *b, bool present) {}
static void slub_hp_block_leave(struct slub_hp_block *b) {}

struct slub_hp_block *slub_hp_block(struct kunit *test, int nid, bool spare)
{
	kunit_skip(test, "needs CONFIG_MEMORY_HOTPLUG: without it the core sends no event");
	return NULL;
}

#endif /* CONFIG_MEMORY_HOTPLUG */

/**
 * struct slub_hp_hidden - a boot node's present pages, while its loss of
 *	memory is mocked
 * @nid: the node
 * @present: its zones' present pages
 * @node_present: its pgdat's
 */
struct slub_hp_hidden {
	int nid;
	unsigned long present[MAX_NR_ZONES];
	unsigned long node_present;
};

static void slub_hp_show_zones(void *data)
{
	struct slub_hp_hidden *h = data;
	pg_data_t *pgdat = NODE_DATA(h->nid);
	int z;

	mem_hotplug_begin();
	for (z = 0; z < MAX_NR_ZONES; z++)
		pgdat->node_zones[z].present_pages = h->present[z];
	pgdat->node_present_pages = h->node_present;
	mem_hotplug_done();
}

/* How many of @b's pages lie in @zone's span (at most its present pages). */
static unsigned long slub_hp_block_in_zone(const struct slub_hp_block *b, struct zone *zone)
{
	unsigned long lo = max(b->start_pfn, zone->zone_start_pfn);
	unsigned long hi = min(b->start_pfn + b->nr_pages, zone_end_pfn(zone));

	return hi > lo ? min(hi - lo, zone->present_pages) : 0;
}

/*
 * Count present, in @nid's zones that go (those up to ZONE_NORMAL if
 * @movable, else all), only @b's pages (none without @b); with @movable the
 * rest counts in ZONE_MOVABLE (the node keeps movable memory). Only the
 * counts change, the pages stay where they are and in use. The counts are
 * put back when the case ends, or earlier with slub_hp_show_zones().
 */
static struct slub_hp_hidden *slub_hp_recount_zones(struct kunit *test, int nid,
						    const struct slub_hp_block *b, bool movable)
{
	struct slub_hp_hidden *h = kunit_kzalloc(test, sizeof(*h), GFP_KERNEL);
	int z, last = movable ? ZONE_NORMAL : MAX_NR_ZONES - 1;
	pg_data_t *pgdat = NODE_DATA(nid);
	unsigned long moved = 0, keep, total = 0;

	KUNIT_ASSERT_NOT_NULL(test, h);
	h->nid = nid;
	mem_hotplug_begin();
	for (z = 0; z < MAX_NR_ZONES; z++)
		h->present[z] = pgdat->node_zones[z].present_pages;
	h->node_present = pgdat->node_present_pages;
	for (z = 0; z <= last; z++) {
		keep = b ? slub_hp_block_in_zone(b, &pgdat->node_zones[z]) : 0;
		moved += pgdat->node_zones[z].present_pages - keep;
		pgdat->node_zones[z].present_pages = keep;
	}
	if (movable)
		pgdat->node_zones[ZONE_MOVABLE].present_pages += moved;
	for (z = 0; z < MAX_NR_ZONES; z++)
		total += pgdat->node_zones[z].present_pages;
	pgdat->node_present_pages = total;
	mem_hotplug_done();
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, slub_hp_show_zones, h));
	return h;
}

/*
 * Make a boot node's zones agree with node_states[] while its loss of
 * memory is mocked: its zones up to ZONE_NORMAL count no present pages,
 * and with @movable their pages count in ZONE_MOVABLE instead (the node
 * keeps movable memory), else the node counts none at all.
 */
static struct slub_hp_hidden *slub_hp_hide_zones(struct kunit *test, int nid, bool movable)
{
	return slub_hp_recount_zones(test, nid, NULL, movable);
}

/**
 * slub_hp_frame_last_block() - make @b a boot node's last (normal) memory
 * @test: the running case
 * @b: an online block of the node
 * @movable: the node keeps movable memory (it loses its last normal memory)
 *
 * The core sends the going-offline of a node's last (normal) memory only
 * once the node's other blocks are offline. So count present only @b's
 * pages in the zones that go (up to ZONE_NORMAL if @movable, the rest then
 * counting in ZONE_MOVABLE; else all zones). Does nothing where that is so
 * already. Only the counts change; the pages stay where they are and in
 * use. Undone when the case ends.
 */
void slub_hp_frame_last_block(struct kunit *test, const struct slub_hp_block *b,
			      bool movable)
{
	pg_data_t *pgdat = NODE_DATA(b->nid);
	int z, last = movable ? ZONE_NORMAL : MAX_NR_ZONES - 1;

	for (z = 0; z <= last; z++)
		if (pgdat->node_zones[z].present_pages !=
		    slub_hp_block_in_zone(b, &pgdat->node_zones[z]))
			break;
	if (z <= last)
		slub_hp_recount_zones(test, b->nid, b, movable);
}

/* Guard the nodes an event names, and its block's node: a callback may act on it. */
static void slub_hp_guard_event(struct kunit *test, int nid, int nid_normal,
				const struct slub_hp_block *b)
{
	slub_hp_guard_node(test, nid);
	slub_hp_guard_node(test, nid_normal);
	slub_hp_guard_node(test, b->nid);
}

/**
 * slub_hp_need_event() - skip the case where the core cannot send @action
 * @test: the running case
 * @action: MEM_* or NODE_* action
 *
 * Without CONFIG_MEMORY_HOTREMOVE there is no offline_pages(), and none of
 * the offline direction's events is ever sent.
 */
void slub_hp_need_event(struct kunit *test, unsigned long action)
{
	const struct slub_hp_action *off = slub_hp_actions[SLUB_HP_OFF];
	int role;

	if (IS_ENABLED(CONFIG_MEMORY_HOTREMOVE))
		return;
	for (role = 0; role < SLUB_HP_END; role++)
		if (off[role].name && off[role].action == action)
			kunit_skip(test, "needs CONFIG_MEMORY_HOTREMOVE: the core never sends %s",
				   off[role].name);
}

/**
 * slub_hp_notify() - deliver one notifier event to the slab callback
 * @test: the running case
 * @action: MEM_* or NODE_* action
 * @nid: node that gains its first or loses its last memory, or NUMA_NO_NODE
 * @nid_normal: the same for normal memory (memory notifier only)
 * @b: the memory block the event is about
 *
 * Calls slab_memory_callback() with the locks the hotplug core holds: the
 * memory hotplug lock, and with it the CPU hotplug read lock. The nodes named
 * and the block's node are guarded first, so whatever the callback changes is
 * undone at case end.
 *
 * Return: the callback's notifier return value.
 */
int slub_hp_notify(struct kunit *test, unsigned long action, int nid, int nid_normal,
		   const struct slub_hp_block *b)
{
	int ret;

	slub_hp_need_event(test, action);
	slub_hp_guard_event(test, nid, nid_normal, b);

	if (IS_ENABLED(CONFIG_MEMORY_HOTPLUG))
		mem_hotplug_begin();
	else
		cpus_read_lock();
	mm_kunit_failslab_start(test);
	ret = slub_hp_call(action, nid, nid_normal, b->start_pfn, b->nr_pages);
	mm_kunit_failslab_stop(test);
	if (IS_ENABLED(CONFIG_MEMORY_HOTPLUG))
		mem_hotplug_done();
	else
		cpus_read_unlock();
	return ret;
}

/* ---------------------------------------------------------------------- */
/* Snapshots and invariant checks                                         */
/* ---------------------------------------------------------------------- */

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

const struct slub_hp_snap *slub_hp_snapshot(struct kunit *test)
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

void slub_hp_expect_kept(struct kunit *test, const struct slub_hp_snap *before,
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

/* A barn that holds nothing, as barn_init() leaves it; read only. */
static bool slub_hp_barn_pristine(void *p)
{
#if SLUB_HP_HAVE_BARNS
	struct node_barn *barn = p;
	unsigned long flags;

	if (barn->nr_full || barn->nr_empty || barn->sheaves_full.next != &barn->sheaves_full ||
	    barn->sheaves_empty.next != &barn->sheaves_empty ||
	    !spin_trylock_irqsave(&barn->lock, flags))
		return false;
	spin_unlock_irqrestore(&barn->lock, flags);
#endif
	return true;
}

/*
 * A per-node structure that holds nothing, as init_kmem_cache_node() leaves
 * it: empty lists, zero counts, a lock that can be taken (an uninitialised
 * one splats under spinlock debugging). The lists are compared, not followed, so that
 * garbage fails the check instead of the kernel.
 */
bool slub_hp_node_pristine(struct kmem_cache_node *n)
{
	unsigned long flags;

	if (n->nr_partial || n->partial.next != &n->partial || n->partial.prev != &n->partial)
		return false;
#ifdef CONFIG_SLUB_DEBUG
	if (atomic_long_read(&n->nr_slabs) || atomic_long_read(&n->total_objects) ||
	    n->full.next != &n->full || n->full.prev != &n->full)
		return false;
#endif
	if (!spin_trylock_irqsave(&n->list_lock, flags))
		return false;
	spin_unlock_irqrestore(&n->list_lock, flags);
	return true;
}

/* Whether a CPU of @nid is present, online or not. */
static bool slub_hp_node_has_cpu(int nid)
{
	unsigned int cpu;

	for_each_present_cpu(cpu)
		if (cpu_to_node(cpu) == nid)
			return true;
	return false;
}

/*
 * I1: every cache has a per-node structure for every tracked node, and, on
 * trees with barns, a barn for every barn-tracked node if it uses sheaves.
 * On a node that has no memory for slabs every structure must also be as
 * initialised, holding nothing; so must its barns if it has no CPU at all.
 * (A CPU that went down may leave sheaves in its node's barn: the slab
 * empties barns when a node loses its memory, not when a CPU goes.)
 */
void slub_hp_expect_coverage(struct kunit *test, const char *when)
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
		if (!slub_hp_node_has_cpu(nid))
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
			if (s == slub_hp.node_owner && node_isset(nid, slub_hp.boot_foreign))
				continue;
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
void slub_hp_count(int nid, unsigned int *nodes, unsigned int *barns,
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

/**
 * slub_hp_pick() - the first, middle or last of @n
 * @where: 0 for the first, 1 for the middle, 2 for the last
 * @n: how many there are
 *
 * Return: the 1-based index.
 */
unsigned int slub_hp_pick(unsigned int where, unsigned int n)
{
	return where == 0 ? 1 : where == 1 ? (n + 1) / 2 : n;
}

/* Deferred action: destroy a case's cache. */
void slub_hp_destroy_cache(void *s)
{
	kmem_cache_destroy(s);
}

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
struct kmem_cache *slub_hp_create_cache(struct kunit *test, const char *name,
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
void slub_hp_expect_new_cache_nodes(struct kunit *test, const char *when)
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
/* Walking the hotplug core's sequences                                   */
/* ---------------------------------------------------------------------- */

static int slub_hp_arg_nid(const struct slub_hp_world *w, bool named)
{
	return named ? w->nid : NUMA_NO_NODE;
}

/* Update the model for @act on @t, which the callback answered with @ret. */
void slub_hp_advance(struct slub_hp_world *w, const struct slub_hp_action *act,
		     const struct slub_hp_trans *t, int ret)
{
	w->tracked = slub_hp_model(act, t, w->tracked);
	if (SLUB_HP_HAS_BARNS && slub_hp_dir(act) == SLUB_HP_ON &&
	    slub_hp_role(act) == SLUB_HP_GOING &&
	    ret == NOTIFY_OK)
		w->barn_tracked = true;
}

/* The block the events of @t are about. */
static struct slub_hp_block *slub_hp_world_block(const struct slub_hp_world *w,
						 const struct slub_hp_trans *t)
{
	return t == w->trans || t == w->trans->before ? w->blk : w->pre_blk;
}

/*
 * Bring the node and the block of @t to where the core has them when it
 * sends @act: the node online (add_memory_resource() onlines it before any
 * block of it), and from the going-online on the block in its zone
 * (online_pages()). Returns the block.
 */
static struct slub_hp_block *slub_hp_before_event(struct kunit *test,
						  const struct slub_hp_world *w,
						  const struct slub_hp_action *act,
						  const struct slub_hp_trans *t)
{
	struct slub_hp_block *b = slub_hp_world_block(w, t);

	if (!node_online(w->nid))
		KUNIT_ASSERT_EQ(test, 0, mm_kunit_set_node_state(test, w->nid, N_ONLINE, true));
	if (slub_hp_dir(act) == SLUB_HP_ON && slub_hp_role(act) == SLUB_HP_GOING)
		slub_hp_block_enter(b, t->post_normal);
	if (t->starts_online && slub_hp_dir(act) == SLUB_HP_OFF && !w->hidden)
		slub_hp_frame_last_block(test, b, t->pre_memory);
	return b;
}

/*
 * Deliver @act for @t, update the model, return the callback's result. The
 * block is where online_pages() and offline_pages() have it at that event:
 * in its zone from the going-online on, out of it after a cancelled online
 * or a finished offline.
 */
int slub_hp_step(struct kunit *test, struct slub_hp_world *w,
		 const struct slub_hp_action *act, const struct slub_hp_trans *t)
{
	struct slub_hp_block *b = slub_hp_before_event(test, w, act, t);
	enum slub_hp_role role = slub_hp_role(act);
	bool on = slub_hp_dir(act) == SLUB_HP_ON;
	int ret;

	ret = slub_hp_notify(test, act->action, slub_hp_arg_nid(w, t->names_nid),
			     slub_hp_arg_nid(w, t->names_normal), b);
	if ((on && role == SLUB_HP_CANCEL) || (!on && role == SLUB_HP_DONE))
		slub_hp_block_leave(b);
	slub_hp_advance(w, act, t, ret);
	return ret;
}

/*
 * The case's thread holds the memory hotplug lock for the sender; the
 * sender takes the CPU hotplug read lock the callback asserts. So the one
 * lock it can sleep on is slab_mutex.
 */
static int slub_hp_sender_fn(void *data)
{
	struct slub_hp_sender *snd = data;

	cpus_read_lock();
	snd->ret = slub_hp_call(snd->action, snd->nid, snd->nid_normal, snd->blk->start_pfn,
				snd->blk->nr_pages);
	cpus_read_unlock();
	complete(&snd->done);
	while (!kthread_should_stop())
		schedule_timeout_interruptible(HZ / 10);
	return 0;
}

/**
 * slub_hp_sender() - prepare a thread that delivers @act for @t
 * @test: the running case
 * @w: the node under test
 * @act: the action to deliver
 * @t: the transition it belongs to
 *
 * The node and block are brought where the core has them for @act, and
 * the nodes guarded, as slub_hp_step() and slub_hp_notify() do. The thread is
 * created asleep; wake it with wake_up_process(). It is stopped when the
 * case ends.
 *
 * Return: the sender, owned by the case.
 */
struct slub_hp_sender *slub_hp_sender(struct kunit *test, const struct slub_hp_world *w,
				      const struct slub_hp_action *act,
				      const struct slub_hp_trans *t)
{
	struct slub_hp_sender *snd = kunit_kzalloc(test, sizeof(*snd), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, snd);
	slub_hp_need_event(test, act->action);
	snd->action = act->action;
	snd->nid = slub_hp_arg_nid(w, t->names_nid);
	snd->nid_normal = slub_hp_arg_nid(w, t->names_normal);
	snd->blk = slub_hp_before_event(test, w, act, t);
	slub_hp_guard_event(test, snd->nid, snd->nid_normal, snd->blk);
	init_completion(&snd->done);
	snd->task = kthread_create(slub_hp_sender_fn, snd, "slub_hp_sender");
	KUNIT_ASSERT_FALSE(test, IS_ERR(snd->task));
	get_task_struct(snd->task);
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, slub_hp_thread_stop, snd->task));
	return snd;
}

/**
 * slub_hp_mutex_waited() - whether a thread waits for a mutex
 * @lock: the mutex, held by the caller
 *
 * Read from the mutex itself: a waiter sets MUTEX_FLAG_WAITERS (bit 0 of
 * the owner word, private to kernel/locking/) until the last one leaves;
 * on PREEMPT_RT the rt_mutex keeps its waiters in a tree.
 *
 * Return: true if some thread sleeps on @lock.
 */
bool slub_hp_mutex_waited(struct mutex *lock)
{
#ifdef CONFIG_PREEMPT_RT
	return !RB_EMPTY_ROOT(&lock->rtmutex.waiters.rb_root);
#else
	return atomic_long_read(&lock->owner) & 0x01;
#endif
}

/*
 * Whether the sender has delivered its event, or a thread waits for
 * slab_mutex (in a test kernel, at rest but for the case, the sender) at
 * two looks 10 ms apart.
 */
bool slub_hp_sender_settled(struct slub_hp_sender *snd)
{
	if (completion_done(&snd->done))
		return true;
	if (!slub_hp_mutex_waited(&slab_mutex))
		return false;
	usleep_range(10000, 11000);
	return completion_done(&snd->done) || slub_hp_mutex_waited(&slab_mutex);
}

/*
 * The node's tracking bits are what the model says; the one check that
 * depends on the policy begins with SLUB_HP_POLICY_MARK.
 */
void slub_hp_expect_model(struct kunit *test, const struct slub_hp_world *w,
			  const char *when)
{
	bool tracked = slub_hp_tracked(w->nid);
	bool barn_tracked = slub_hp_barn_tracked(w->nid);

	KUNIT_EXPECT_EQ_MSG(test, tracked, w->tracked,
			    SLUB_HP_POLICY_MARK "%s: node %d tracked=%d, policy %s says %d",
			    when, w->nid, tracked, slub_hp_policy_names[slub_hp.policy],
			    w->tracked);
	KUNIT_EXPECT_EQ_MSG(test, barn_tracked, w->barn_tracked,
			    "%s: node %d in slab_barn_nodes=%d, expected %d", when, w->nid,
			    barn_tracked, w->barn_tracked);
}

/* The roles of one direction, as the hotplug core sends them. */
static const enum slub_hp_role *slub_hp_seq(bool cancel, unsigned int *len)
{
	*len = cancel ? ARRAY_SIZE(slub_hp_cancel_seq) : ARRAY_SIZE(slub_hp_normal_seq);
	return cancel ? slub_hp_cancel_seq : slub_hp_normal_seq;
}

/*
 * A mocked state is one a machine can have: node_states[] of @nid say what
 * its zones say, as node_states_check_changes_online() and _offline() read
 * them (N_NORMAL_MEMORY: present pages in a zone up to ZONE_NORMAL).
 */
static void slub_hp_assert_zones_agree(struct kunit *test, int nid)
{
	pg_data_t *pgdat = NODE_DATA(nid);
	bool memory = false, normal = false;
	int z;

	for (z = 0; z < MAX_NR_ZONES; z++) {
		if (!populated_zone(&pgdat->node_zones[z]))
			continue;
		memory = true;
		normal |= z <= ZONE_NORMAL;
	}
	KUNIT_ASSERT_EQ_MSG(test, memory, node_state(nid, N_MEMORY),
			    "node %d: N_MEMORY disagrees with its zones", nid);
	KUNIT_ASSERT_EQ_MSG(test, normal, node_state(nid, N_NORMAL_MEMORY),
			    "node %d: N_NORMAL_MEMORY disagrees with its zones", nid);
}

/*
 * The core's change of node_states[] in an online or offline of @t, with
 * the zones it follows: the spare block counts as present from the online
 * on; a boot node whose loss of memory is mocked hides its present pages
 * until it gets them back.
 */
static void slub_hp_change_states(struct kunit *test, struct slub_hp_world *w,
				  const struct slub_hp_trans *t, enum slub_hp_dir dir)
{
	bool on = dir == SLUB_HP_ON;
	bool memory = on ? t->post_memory : t->pre_memory;
	bool normal = on ? t->post_normal : t->pre_normal;

	slub_hp_block_count(slub_hp_world_block(w, t), on);
	if (t->starts_online && !on && !w->hidden)
		w->hidden = slub_hp_hide_zones(test, w->nid, memory);
	if (t->starts_online && on && w->hidden) {
		kunit_release_action(test, slub_hp_show_zones, w->hidden);
		w->hidden = NULL;
	}
	slub_hp_set_states(test, w->nid, memory, normal);
	slub_hp_assert_zones_agree(test, w->nid);
}

/*
 * Walk one direction of @t up to (not including) @stop, as the hotplug core
 * would, checking each step against the model. With @cancel, the sequence is
 * the vetoed one: GOING then CANCEL.
 */
void slub_hp_walk(struct kunit *test, struct slub_hp_world *w,
		  const struct slub_hp_trans *t, enum slub_hp_dir dir,
		  bool cancel, enum slub_hp_role stop)
{
	unsigned int i, len;
	const enum slub_hp_role *seq = slub_hp_seq(cancel, &len);

	for (i = 0; i < len && seq[i] != stop; i++) {
		const struct slub_hp_action *act;
		int ret;

		if (seq[i] == SLUB_HP_STATES) {
			slub_hp_change_states(test, w, t, dir);
			continue;
		}
		act = slub_hp_action(dir, seq[i]);
		if (!act)
			continue;
		ret = slub_hp_step(test, w, act, t);
		KUNIT_ASSERT_EQ_MSG(test, ret, NOTIFY_OK, "setup: %s %s failed",
				    act->name, dir == SLUB_HP_ON ? t->on : t->off);
		slub_hp_expect_model(test, w, act->name);
	}
}

/* Update the model for a whole online (or offline) of @t through the core. */
void slub_hp_model_walk(struct slub_hp_world *w, const struct slub_hp_trans *t,
			enum slub_hp_dir dir, bool cancel)
{
	unsigned int i, len;
	const enum slub_hp_role *seq = slub_hp_seq(cancel, &len);
	const struct slub_hp_action *act;

	for (i = 0; i < len; i++) {
		act = slub_hp_action(dir, seq[i]);
		if (act)
			w->tracked = slub_hp_model(act, t, w->tracked);
	}
}

/*
 * Bring the node under test to where the hotplug core would send @act for
 * @t: through the events that precede it, mocking node_states[] between.
 */
void slub_hp_lead_up(struct kunit *test, struct slub_hp_world *w,
		     const struct slub_hp_trans *t, const struct slub_hp_action *act)
{
	if (t->starts_online) {
		if (slub_hp_dir(act) == SLUB_HP_ON)
			slub_hp_walk(test, w, t, SLUB_HP_OFF, false, SLUB_HP_END);
	} else {
		if (t->prelude)
			slub_hp_walk(test, w, t->prelude, SLUB_HP_ON, false, SLUB_HP_END);
		if (t->before) {
			slub_hp_walk(test, w, t->before, SLUB_HP_ON, false, SLUB_HP_END);
			slub_hp_walk(test, w, t->before, SLUB_HP_OFF, false, SLUB_HP_END);
		}
		if (t->cycle) {
			slub_hp_walk(test, w, t, SLUB_HP_ON, false, SLUB_HP_END);
			slub_hp_walk(test, w, t, SLUB_HP_OFF, false, SLUB_HP_END);
		}
		if (slub_hp_dir(act) == SLUB_HP_OFF)
			slub_hp_walk(test, w, t, SLUB_HP_ON, false, SLUB_HP_END);
	}
	slub_hp_walk(test, w, t, slub_hp_dir(act), slub_hp_role(act) == SLUB_HP_CANCEL,
		     slub_hp_role(act));
}

/* The memoryless node, untouched by earlier cases; skips if there is none. */
int slub_hp_memless(struct kunit *test)
{
	int nid = slub_hp.memless_nid;

	if (nid == NUMA_NO_NODE)
		kunit_skip(test, "needs a possible NUMA node without memory (%u %s here)",
			   nr_node_ids, nr_node_ids == 1 ? "node" : "nodes");
	KUNIT_ASSERT_TRUE_MSG(test, slub_hp_unused_node(nid),
			      "node %d has memory, tracking or structures before the case", nid);
	return nid;
}

/* The memoryless node with CPUs, untouched by earlier cases; skips if none. */
int slub_hp_cpu_node(struct kunit *test)
{
	int nid = slub_hp.cpu_nid;

	if (nid == NUMA_NO_NODE)
		kunit_skip(test, "needs an online NUMA node with CPUs and no memory");
	KUNIT_ASSERT_TRUE_MSG(test, slub_hp_unused_node(nid),
			      "node %d has memory, tracking or structures before the case", nid);
	return nid;
}

/*
 * A possible node that is not online. Where the machine has none (x86 onlines
 * every node that has memory or a CPU), the memoryless node is taken offline
 * in node_states[] for the length of the case.
 */
int slub_hp_offline(struct kunit *test)
{
	int nid = slub_hp.offline_nid;

	if (nid != NUMA_NO_NODE)
		return nid;
	nid = slub_hp_memless(test);
	KUNIT_ASSERT_EQ(test, 0, mm_kunit_set_node_state(test, nid, N_ONLINE, false));
	return nid;
}

/*
 * A second boot node with CPUs and memory, whose loss of memory a case
 * mocks. Not the node the case runs on (slub_hp_case_init() keeps it on
 * the first node's CPUs): a node that lost its normal memory only in
 * node_states[] still hands out pages, and the slab must not be asked for
 * them there.
 */
static int slub_hp_boot_node(struct kunit *test)
{
	if (slub_hp.other_nid == NUMA_NO_NODE)
		kunit_skip(test, "needs a second NUMA node with memory");
	return slub_hp.other_nid;
}

/* Deferred action: the cases' home and second node swap back, or again. */
static void slub_hp_swap_home(void *unused)
{
	swap(slub_hp.normal_nid, slub_hp.other_nid);
	set_cpus_allowed_ptr(current, cpumask_of_node(slub_hp.normal_nid));
}

/*
 * The first node with normal memory (node 0), as the boot node whose loss of
 * memory a case mocks: where the cases run on its CPUs, this case runs on the
 * second node's instead, which takes its place as the node with memory for
 * the length of the case.
 */
static int slub_hp_first_node(struct kunit *test)
{
	int first = first_node(node_states[N_NORMAL_MEMORY]);

	if (slub_hp.other_nid == NUMA_NO_NODE)
		kunit_skip(test, "needs a second NUMA node with memory");
	if (slub_hp.normal_nid == first) {
		slub_hp_swap_home(NULL);
		KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, slub_hp_swap_home, NULL));
	}
	KUNIT_ASSERT_EQ(test, slub_hp.other_nid, first);
	return first;
}

/* Pick the node for @t; skip the case if the machine has none. */
struct slub_hp_world slub_hp_world(struct kunit *test, const struct slub_hp_trans *t)
{
	struct slub_hp_world w;

	if (t->kind == SLUB_HP_MEMLESS_NODE)
		w.nid = slub_hp_memless(test);
	else if (t->kind == SLUB_HP_CPU_NODE)
		w.nid = slub_hp_cpu_node(test);
	else if (t->kind == SLUB_HP_OFFLINE_NODE)
		w.nid = slub_hp_offline(test);
	else
		w.nid = t->first_node ? slub_hp_first_node(test) :
			t->starts_online ? slub_hp_boot_node(test) : slub_hp.normal_nid;
	w.tracked = slub_hp_tracked(w.nid);
	w.barn_tracked = slub_hp_barn_tracked(w.nid);
	w.trans = t;
	w.hidden = NULL;
	w.blk = slub_hp_block(test, w.nid, !t->starts_online && t->kind != SLUB_HP_BOOT_NODE);
	w.pre_blk = t->prelude ? slub_hp_block(test, w.nid, true) : NULL;
	return w;
}

/* ---------------------------------------------------------------------- */
/* The allocation slow path                                               */
/* ---------------------------------------------------------------------- */

/* Nodes of the slabs on this CPU's partial list; migration disabled. */
static nodemask_t slub_hp_cpu_partial_nodes(struct kmem_cache *s)
{
	nodemask_t nodes = NODE_MASK_NONE;
#if !SLUB_HP_HAVE_BARNS && defined(CONFIG_SLUB_CPU_PARTIAL)
	struct kmem_cache_cpu *c;
	unsigned long flags;
	struct slab *slab;

	local_lock_irqsave(&s->cpu_slab->lock, flags);
	c = this_cpu_ptr(s->cpu_slab);
	for (slab = slub_percpu_partial(c); slab; slab = slab->next)
		node_set(slab_nid(slab), nodes);
	local_unlock_irqrestore(&s->cpu_slab->lock, flags);
#endif
	return nodes;
}

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
 *
 * Which slab serves it (a partial one, another node's, a new one) is the
 * allocator's choice, not part of I5.
 */
struct slub_hp_expect {
	bool object;
	bool maybe;
	int node;
};

/*
 * The slow path's promise for @nid, on the CPU the caller keeps to. An
 * allocation for no node in particular (NUMA_NO_NODE, or an untracked node
 * on a slow path that drops those) takes what the CPU has at hand, else
 * looks at the partial slabs of the CPU's memory node (numa_mem_id()) and
 * asks the page allocator for the CPU's own node (numa_node_id()): under
 * __GFP_THISNODE it can fail only where one of the two has no memory. On
 * x86 a CPU of a memoryless node has that node as both; with
 * CONFIG_HAVE_MEMORYLESS_NODES (powerpc) its memory node is another.
 */
static struct slub_hp_expect slub_hp_alloc_expect(int nid, bool thisnode, bool tracked)
{
	bool local = slub_hp_supplies(numa_node_id()) && slub_hp_supplies(numa_mem_id());

	if (nid == NUMA_NO_NODE || (SLUB_HP_DROPS_UNTRACKED && !tracked))
		return (struct slub_hp_expect){ .object = true, .node = NUMA_NO_NODE,
			.maybe = thisnode && !local };
	if (!slub_hp_supplies(nid))
		return (struct slub_hp_expect){ .object = !thisnode, .node = NUMA_NO_NODE };
	return (struct slub_hp_expect){ .object = true, .node = nid };
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
 * Leave partial slabs on node @nid, more of them than the cache keeps at
 * the least (so that the allocator may lend them to other nodes): fill
 * that many slabs and more, then free every other object. Shrinking moves
 * the slabs from CPU slabs, CPU partial lists and sheaves to the node's
 * list.
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
			if (node_nr_slabs(n) && !n->nr_partial)
				return false;
		return true;
	}
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
void slub_hp_expect_alloc_in(struct kunit *test, struct kmem_cache *s, int nid,
			     unsigned int flags, const char *when)
{
	struct slub_hp_held h = { .s = s, .max = 1 };
	enum slub_hp_cache_state state;

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

/* The same, from a cache created for the check (@flags: SLUB_HP_ALLOC_*). */
void slub_hp_expect_alloc(struct kunit *test, int nid, unsigned int flags,
			  const char *when)
{
	bool debug = flags & SLUB_HP_ALLOC_DEBUG;
	struct kmem_cache *s = slub_hp_create_cache(test, debug ? "slub_hp_slowpath_debug" :
						    "slub_hp_slowpath", 96,
						    debug ? SLUB_HP_DEBUG_FLAGS : 0);

	slub_hp_expect_alloc_in(test, s, nid, flags, when);
	kunit_release_action(test, slub_hp_destroy_cache, s);
}

/* ---------------------------------------------------------------------- */
/* Suite and case set-up                                                  */
/* ---------------------------------------------------------------------- */

/*
 * Each case runs on the CPUs of a node with memory, so that what the slow
 * path does with the CPU's own node is the same from run to run; and checks,
 * last of all, that it left the kernel as it found it.
 */
int slub_hp_case_init(struct kunit *test)
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

/* The cache whose slab holds @obj, or NULL if @obj is not a slab object. */
static struct kmem_cache *slub_hp_owner(const void *obj)
{
	struct slab *slab;

	if (!obj || !virt_addr_valid(obj))
		return NULL;
	slab = virt_to_slab(obj);
	return slab ? slab->slab_cache : NULL;
}

/*
 * Which caches per-node structures and barns come from, read off the ones
 * the caches have for slub_hp.normal_nid.
 */
static void slub_hp_find_owners(void)
{
	struct kmem_cache *s;

	slub_hp.node_owner = NULL;
	slub_hp.barn_owner = NULL;
	mutex_lock(&slab_mutex);
	list_for_each_entry(s, &slab_caches, list) {
		if (!slub_hp.node_owner)
			slub_hp.node_owner = slub_hp_owner(get_node(s, slub_hp.normal_nid));
		if (!slub_hp.barn_owner)
			slub_hp.barn_owner = slub_hp_owner(slub_hp_barn(s, slub_hp.normal_nid));
	}
	mutex_unlock(&slab_mutex);
}

/* The nodes the cases work on. */
/*
 * kmem_cache_init() gives the cache of per-node structures its own structure
 * for every node tracked at boot, from a slab of that node; a node whose
 * memory is all movable (tracked under the memory policy) has none to give,
 * so the slab comes from another node and stays on the structure's partial
 * list ("SLUB: Allocating a useless per node structure in order to be able
 * to continue"). Only a machine with such a node at boot has it: the
 * coverage check leaves that one structure alone.
 */
static void slub_hp_find_boot_foreign(void)
{
	static bool found;
	struct kmem_cache_node *n;
	int nid;

	/* Once, before any case: a later suite must not excuse what a case left. */
	if (found || !slub_hp.node_owner)
		return;
	found = true;
	for_each_node(nid) {
		n = get_node(slub_hp.node_owner, nid);
		if (n && !slub_hp_supplies(nid) && !slub_hp_node_pristine(n))
			node_set(nid, slub_hp.boot_foreign);
	}
}

int slub_hp_suite_init(struct kunit_suite *suite)
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
	slub_hp_find_owners();
	slub_hp_find_boot_foreign();

	pr_info("%s: %s, policy %s, nodes: normal %d other %d memoryless %d with CPUs %d offline %d\n",
		suite->name, SLUB_HP_GENERATION, slub_hp_policy_names[slub_hp.policy],
		slub_hp.normal_nid, slub_hp.other_nid, slub_hp.memless_nid, slub_hp.cpu_nid,
		slub_hp.offline_nid);
	/* The machine as /sys/devices/system/node/ would show it. */
	pr_info("%s: possible %*pbl online %*pbl has_memory %*pbl has_normal_memory %*pbl has_cpu %*pbl\n",
		suite->name, nodemask_pr_args(&node_states[N_POSSIBLE]),
		nodemask_pr_args(&node_states[N_ONLINE]),
		nodemask_pr_args(&node_states[N_MEMORY]),
		nodemask_pr_args(&node_states[N_NORMAL_MEMORY]),
		nodemask_pr_args(&node_states[N_CPU]));
	return 0;
}
