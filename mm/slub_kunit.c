// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for SLUB's handling of NUMA nodes that gain and lose memory.
 *
 * This file is included at the end of mm/slub.c (CONFIG_SLUB_HOTPLUG_KUNIT_TEST)
 * so that it can drive slab_memory_callback() and read slab_nodes, get_node()
 * and kmem_cache_node directly. It compiles against both generations of the
 * hotplug notifier: the memory notifier (struct memory_notify, MEM_* actions,
 * up to 6.16) and the node notifier (struct node_notify, NODE_* actions, 6.17
 * on). The generation is taken from what the tree defines, not from its
 * version.
 *
 * Every change a case makes to global state (slab_nodes, node_states[], the
 * per-node structures of existing caches, static stubs) is undone by a
 * deferred action registered right after the change, so a case that fails
 * midway leaves the kernel as it found it and the suite can run again in the
 * same boot.
 *
 * Expectations that depend on the slab's node-tracking policy follow the
 * slub_hotplug_kunit.policy= parameter:
 *
 *   normal  a node is tracked while it has normal (non-movable) memory;
 *           offlining the last normal memory untracks it (6.12 as shipped)
 *   memory  a node is tracked once it has any memory and never untracked
 *           (the 2025 "numa node notifier" series; 6.17 on)
 *
 * The default is the policy of the generation being built.
 */

#include <kunit/static_stub.h>
#include <kunit/test.h>
#include <linux/compaction.h>
#include <linux/completion.h>
#include <linux/cpu.h>
#include <linux/delay.h>
#include <linux/device.h>
#include <linux/fault-inject.h>
#include <linux/file.h>
#include <linux/kasan.h>
#include <linux/kthread.h>
#include <linux/memory.h>
#include <linux/memory_hotplug.h>
#include <linux/moduleparam.h>
#include <linux/mman.h>
#include <linux/mount.h>
#include <linux/node.h>
#include <linux/nodemask.h>
#include <linux/overflow.h>
#include <linux/sched/mm.h>
#include <linux/swap.h>
#include <linux/vmalloc.h>

#ifdef NODE_ADDING_FIRST_MEMORY
#define SLUB_HP_NODE_NOTIFY	1
#define SLUB_HP_DEFAULT_POLICY	"memory"
#else
#define SLUB_HP_NODE_NOTIFY	0
#define SLUB_HP_DEFAULT_POLICY	"normal"
#endif

#undef MODULE_PARAM_PREFIX
#define MODULE_PARAM_PREFIX "slub_hotplug_kunit."

static char *slub_hp_policy_param = SLUB_HP_DEFAULT_POLICY;
module_param_named(policy, slub_hp_policy_param, charp, 0644);
MODULE_PARM_DESC(policy, "expected node-tracking policy: normal or memory");

enum slub_hp_policy {
	SLUB_HP_POLICY_NORMAL,
	SLUB_HP_POLICY_MEMORY,
};

/*
 * Nodes the suite works on, chosen once per run by slub_hp_suite_init().
 * NUMA_NO_NODE where the machine has no such node; cases that need one skip.
 */
static struct {
	enum slub_hp_policy policy;
	int normal_nid;		/* has normal memory, tracked */
	int other_nid;		/* a second node with normal memory */
	int memless_nid;	/* possible, no memory, untracked, no structures */
	int offline_nid;	/* possible but not online */
} slub_hp;

/* ---------------------------------------------------------------------- */
/* Per-node structure access for both layouts                              */
/* ---------------------------------------------------------------------- */

#if SLUB_HP_NODE_NOTIFY
static struct kmem_cache_node **slub_hp_node_slot(struct kmem_cache *s, int nid)
{
	return &s->per_node[nid].node;
}

static struct node_barn *slub_hp_barn(struct kmem_cache *s, int nid)
{
	return get_barn_node(s, nid);
}

static bool slub_hp_barn_tracked(int nid)
{
	return node_isset(nid, slab_barn_nodes);
}

static bool slub_hp_wants_barn(struct kmem_cache *s)
{
	return cache_has_sheaves(s);
}
#else
static struct kmem_cache_node **slub_hp_node_slot(struct kmem_cache *s, int nid)
{
	return &s->node[nid];
}

static struct node_barn *slub_hp_barn(struct kmem_cache *s, int nid)
{
	return NULL;
}

static bool slub_hp_barn_tracked(int nid)
{
	return false;
}

static bool slub_hp_wants_barn(struct kmem_cache *s)
{
	return false;
}
#endif

static bool slub_hp_tracked(int nid)
{
	return node_isset(nid, slab_nodes);
}

/* ---------------------------------------------------------------------- */
/* Fault injection: a static stub on should_failslab()                      */
/* ---------------------------------------------------------------------- */

enum slub_hp_fault_target {
	SLUB_HP_FAIL_NONE,
	SLUB_HP_FAIL_NODE,	/* the k-th kmem_cache_node allocation */
	SLUB_HP_FAIL_BARN,	/* the k-th barn allocation (kmalloc) */
};

/**
 * struct slub_hp_ctx - per-case state
 * @armed: count (and maybe fail) allocations only while this is set
 * @fail: which allocation kind to fail
 * @fail_at: fail the fail_at-th allocation of that kind (1-based)
 * @node_allocs: kmem_cache_node allocations seen while armed
 * @barn_allocs: barn (kmalloc) allocations seen while armed
 * @guarded: nodes whose slab state is restored when the case ends
 * @state_saved: nodes whose node_states[] are restored when the case ends
 */
struct slub_hp_ctx {
	bool armed;
	enum slub_hp_fault_target fail;
	unsigned int fail_at;
	unsigned int node_allocs;
	unsigned int barn_allocs;
	nodemask_t guarded;
	nodemask_t state_saved;
};

static int slub_hp_should_failslab(struct kmem_cache *s, gfp_t gfpflags)
{
	struct kunit *test = kunit_get_current_test();
	struct slub_hp_ctx *ctx = test ? test->priv : NULL;
	unsigned int seen;

	if (!ctx || !ctx->armed)
		return 0;

	if (s == kmem_cache_node) {
		seen = ++ctx->node_allocs;
		if (ctx->fail == SLUB_HP_FAIL_NODE && seen == ctx->fail_at)
			return -ENOMEM;
	} else if (s->flags & SLAB_KMALLOC) {
		seen = ++ctx->barn_allocs;
		if (ctx->fail == SLUB_HP_FAIL_BARN && seen == ctx->fail_at)
			return -ENOMEM;
	}
	return 0;
}

/**
 * slub_hp_watch_allocs() - count (and optionally fail) callback allocations
 * @test: the running case
 * @fail: the allocation kind to fail, or SLUB_HP_FAIL_NONE to only count
 * @fail_at: 1-based index of the allocation of that kind to fail
 *
 * Redirects should_failslab() for the current case. Allocations are only
 * looked at while a notifier event is being delivered by slub_hp_notify().
 * The redirection ends with the case. Skips the case where the kernel cannot
 * inject slab allocation failures.
 */
static void slub_hp_watch_allocs(struct kunit *test,
				 enum slub_hp_fault_target fail,
				 unsigned int fail_at)
{
	struct slub_hp_ctx *ctx = test->priv;

	if (!IS_ENABLED(CONFIG_FAILSLAB))
		kunit_skip(test, "needs CONFIG_FAILSLAB to inject slab allocation failures");

	ctx->fail = fail;
	ctx->fail_at = fail_at;
	ctx->node_allocs = 0;
	ctx->barn_allocs = 0;
	kunit_activate_static_stub(test, should_failslab, slub_hp_should_failslab);
}

/* ---------------------------------------------------------------------- */
/* Restoring slab state and node states                                     */
/* ---------------------------------------------------------------------- */

/**
 * struct slub_hp_guard - slab state of one node, restored at case end
 * @nid: the node
 * @tracked: whether @nid was in slab_nodes
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

static bool slub_hp_listed(struct kmem_cache **list, unsigned int nr,
			   struct kmem_cache *s)
{
	unsigned int i;

	for (i = 0; i < nr; i++)
		if (list[i] == s)
			return true;
	return false;
}

/*
 * Free what the case allocated for g->nid and put slab_nodes back. Nothing is
 * freed that still holds slabs or sheaves: such a structure is left in place
 * (and reported) rather than freed under a user.
 */
static void slub_hp_restore_node(void *data)
{
	struct slub_hp_guard *g = data;
	struct kmem_cache_node *n;
	struct kmem_cache *s;

	mutex_lock(&slab_mutex);
	if (g->tracked)
		node_set(g->nid, slab_nodes);
	else
		node_clear(g->nid, slab_nodes);
#if SLUB_HP_NODE_NOTIFY
	if (g->barn_tracked)
		node_set(g->nid, slab_barn_nodes);
	else
		node_clear(g->nid, slab_barn_nodes);
#endif
	list_for_each_entry(s, &slab_caches, list) {
		struct kmem_cache_node **slot = slub_hp_node_slot(s, g->nid);

		n = *slot;
		if (n && !slub_hp_listed(g->caches, g->nr, s)) {
			if (n->nr_partial || node_nr_slabs(n)) {
				pr_err("slub_hotplug: %s keeps slabs on node %d, not freed\n",
				       s->name, g->nid);
			} else {
				*slot = NULL;
				kmem_cache_free(kmem_cache_node, n);
			}
		}
#if SLUB_HP_NODE_NOTIFY
		if (s->per_node[g->nid].barn &&
		    !slub_hp_listed(g->barns, g->nr, s)) {
			struct node_barn *barn = s->per_node[g->nid].barn;

			if (barn->nr_full || barn->nr_empty) {
				pr_err("slub_hotplug: %s keeps sheaves on node %d, not freed\n",
				       s->name, g->nid);
			} else {
				s->per_node[g->nid].barn = NULL;
				kfree(barn);
			}
		}
#endif
	}
	mutex_unlock(&slab_mutex);
}

/**
 * slub_hp_guard_node() - restore @nid's slab state when the case ends
 * @test: the running case
 * @nid: node whose slab_nodes bit and per-node structures may change
 *
 * Records which caches have a per-node structure (and barn) for @nid and
 * whether @nid is tracked, and registers an action that frees whatever the
 * case adds and restores the bits. Idempotent per node and case.
 */
static void slub_hp_guard_node(struct kunit *test, int nid)
{
	struct slub_hp_ctx *ctx = test->priv;
	struct slub_hp_guard *g;
	struct kmem_cache *s;
	unsigned int nr = 0;

	if (nid == NUMA_NO_NODE || node_isset(nid, ctx->guarded))
		return;

	g = kunit_kzalloc(test, sizeof(*g), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, g);
	g->nid = nid;

	mutex_lock(&slab_mutex);
	list_for_each_entry(s, &slab_caches, list)
		nr++;
	g->caches = kunit_kcalloc(test, nr, sizeof(*g->caches), GFP_KERNEL);
	g->barns = kunit_kcalloc(test, nr, sizeof(*g->barns), GFP_KERNEL);
	if (g->caches && g->barns) {
		list_for_each_entry(s, &slab_caches, list) {
			if (get_node(s, nid))
				g->caches[g->nr] = s;
			if (slub_hp_barn(s, nid))
				g->barns[g->nr] = s;
			if (++g->nr == nr)
				break;
		}
	}
	g->tracked = slub_hp_tracked(nid);
	g->barn_tracked = slub_hp_barn_tracked(nid);
	mutex_unlock(&slab_mutex);

	KUNIT_ASSERT_NOT_NULL(test, g->caches);
	KUNIT_ASSERT_NOT_NULL(test, g->barns);
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, slub_hp_restore_node, g));
	node_set(nid, ctx->guarded);
}

struct slub_hp_state_save {
	int nid;
	bool memory;
	bool normal;
};

static void slub_hp_restore_states(void *data)
{
	struct slub_hp_state_save *save = data;

	mem_hotplug_begin();
	if (save->normal)
		node_set_state(save->nid, N_NORMAL_MEMORY);
	else
		node_clear_state(save->nid, N_NORMAL_MEMORY);
	if (save->memory)
		node_set_state(save->nid, N_MEMORY);
	else
		node_clear_state(save->nid, N_MEMORY);
	mem_hotplug_done();
}

/**
 * slub_hp_set_states() - mock the node states the hotplug core would set
 * @test: the running case
 * @nid: the node
 * @memory: whether @nid has memory (N_MEMORY)
 * @normal: whether @nid has normal memory (N_NORMAL_MEMORY)
 *
 * Changes node_states[] under the memory hotplug lock, as online_pages() and
 * offline_pages() do, after registering an action that puts the states found
 * on first use back.
 */
static void slub_hp_set_states(struct kunit *test, int nid, bool memory, bool normal)
{
	struct slub_hp_ctx *ctx = test->priv;

	if (!node_isset(nid, ctx->state_saved)) {
		struct slub_hp_state_save *save = kunit_kzalloc(test, sizeof(*save), GFP_KERNEL);

		KUNIT_ASSERT_NOT_NULL(test, save);
		save->nid = nid;
		save->memory = node_state(nid, N_MEMORY);
		save->normal = node_state(nid, N_NORMAL_MEMORY);
		KUNIT_ASSERT_EQ(test, 0,
				kunit_add_action_or_reset(test, slub_hp_restore_states, save));
		node_set(nid, ctx->state_saved);
	}

	mem_hotplug_begin();
	if (memory)
		node_set_state(nid, N_MEMORY);
	if (normal)
		node_set_state(nid, N_NORMAL_MEMORY);
	else
		node_clear_state(nid, N_NORMAL_MEMORY);
	if (!memory)
		node_clear_state(nid, N_MEMORY);
	mem_hotplug_done();
}

/* ---------------------------------------------------------------------- */
/* Delivering notifier events                                               */
/* ---------------------------------------------------------------------- */

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
static int slub_hp_notify(struct kunit *test, unsigned long action, int nid,
			  int nid_normal)
{
	struct slub_hp_ctx *ctx = test->priv;
#if SLUB_HP_NODE_NOTIFY
	struct node_notify arg = { .nid = nid };
#else
	struct memory_notify arg = {
		.status_change_nid = nid,
		.status_change_nid_normal = nid_normal,
	};
#endif
	int ret;

	slub_hp_guard_node(test, nid);
	slub_hp_guard_node(test, nid_normal);

	if (IS_ENABLED(CONFIG_MEMORY_HOTPLUG))
		mem_hotplug_begin();
	else
		cpus_read_lock();
	ctx->armed = true;
	ret = slab_memory_callback(NULL, action, &arg);
	ctx->armed = false;
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
 * struct slub_hp_snap - per-node pointers of every cache at one moment
 * @nr: number of caches recorded
 * @caches: the caches, in slab_caches order
 * @nodes: @nodes[i * nr_node_ids + nid] is get_node(caches[i], nid)
 * @barns: the same for barns (node notifier trees)
 * @tracked: slab_nodes at that moment
 */
struct slub_hp_snap {
	unsigned int nr;
	struct kmem_cache **caches;
	struct kmem_cache_node **nodes;
	struct node_barn **barns;
	nodemask_t tracked;
};

static struct slub_hp_snap *slub_hp_snapshot(struct kunit *test)
{
	struct slub_hp_snap *snap;
	struct kmem_cache *s;
	unsigned int nr = 0, i = 0;
	int nid;

	snap = kunit_kzalloc(test, sizeof(*snap), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, snap);

	mutex_lock(&slab_mutex);
	list_for_each_entry(s, &slab_caches, list)
		nr++;
	mutex_unlock(&slab_mutex);

	/* Room for caches created meanwhile by other threads. */
	nr += 16;
	snap->caches = kunit_kcalloc(test, nr, sizeof(*snap->caches), GFP_KERNEL);
	snap->nodes = kunit_kcalloc(test, nr * nr_node_ids, sizeof(*snap->nodes), GFP_KERNEL);
	snap->barns = kunit_kcalloc(test, nr * nr_node_ids, sizeof(*snap->barns), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, snap->caches);
	KUNIT_ASSERT_NOT_NULL(test, snap->nodes);
	KUNIT_ASSERT_NOT_NULL(test, snap->barns);

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
	snap->tracked = slab_nodes;
	mutex_unlock(&slab_mutex);
	return snap;
}

/*
 * I2: a per-node structure (or barn) seen in @before is still the one the
 * cache uses now. With @exact, also no structure appeared where there was
 * none (I4: an action the slab ignores allocates nothing).
 */
static void slub_hp_expect_kept(struct kunit *test, const struct slub_hp_snap *before,
				bool exact, const char *when)
{
	const struct slub_hp_snap *now = slub_hp_snapshot(test);
	unsigned int i, j;
	int nid;

	for (i = 0; i < before->nr; i++) {
		struct kmem_cache *s = before->caches[i];

		for (j = 0; j < now->nr && now->caches[j] != s; j++)
			;
		if (j == now->nr)
			continue;	/* destroyed meanwhile */
		for_each_node(nid) {
			struct kmem_cache_node *was = before->nodes[i * nr_node_ids + nid];
			struct kmem_cache_node *is = now->nodes[j * nr_node_ids + nid];
			struct node_barn *bwas = before->barns[i * nr_node_ids + nid];
			struct node_barn *bis = now->barns[j * nr_node_ids + nid];

			if (was || exact)
				KUNIT_EXPECT_PTR_EQ_MSG(test, is, was,
							"%s: %s node %d structure replaced or freed",
							when, s->name, nid);
			if (bwas || exact)
				KUNIT_EXPECT_PTR_EQ_MSG(test, bis, bwas,
							"%s: %s node %d barn replaced or freed",
							when, s->name, nid);
		}
	}
}

/*
 * I1: every cache has a per-node structure for every tracked node, and, on
 * trees with barns, a barn for every barn-tracked node if it uses sheaves.
 */
static void slub_hp_expect_coverage(struct kunit *test, const char *when)
{
	struct kmem_cache *s;
	unsigned int missing = 0, missing_barns = 0;
	const char *first = NULL;
	int first_nid = NUMA_NO_NODE;
	int nid;

	mutex_lock(&slab_mutex);
	list_for_each_entry(s, &slab_caches, list) {
		for_each_node_mask(nid, slab_nodes) {
			if (!get_node(s, nid)) {
				missing++;
				if (!first) {
					first = s->name;
					first_nid = nid;
				}
			}
		}
		for_each_node(nid) {
			if (slub_hp_barn_tracked(nid) && slub_hp_wants_barn(s) &&
			    !slub_hp_barn(s, nid))
				missing_barns++;
		}
	}
	mutex_unlock(&slab_mutex);

	KUNIT_EXPECT_EQ_MSG(test, missing, 0,
			    "%s: %u tracked (cache, node) pairs lack a structure, first %s node %d",
			    when, missing, first, first_nid);
	KUNIT_EXPECT_EQ_MSG(test, missing_barns, 0,
			    "%s: %u barn-tracked (cache, node) pairs lack a barn",
			    when, missing_barns);
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

static void slub_hp_destroy_cache(void *s)
{
	kmem_cache_destroy(s);
}

/**
 * slub_hp_create_cache() - create an unmergeable cache for the running case
 * @test: the running case
 * @name: cache name
 * @size: object size
 *
 * The cache is destroyed when the case ends, before any node state the case
 * changed earlier is restored.
 *
 * Return: the cache; the case is aborted if it cannot be created.
 */
static struct kmem_cache *slub_hp_create_cache(struct kunit *test, const char *name,
					       unsigned int size)
{
	struct kmem_cache *s;

	s = kmem_cache_create(name, size, 0, SLAB_NO_MERGE, NULL);
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
	struct kmem_cache *s = slub_hp_create_cache(test, "slub_hp_new", 64);
	int nid;

	for_each_node(nid) {
		if (slub_hp_tracked(nid))
			KUNIT_EXPECT_NOT_NULL_MSG(test, get_node(s, nid),
						  "%s: new cache lacks tracked node %d", when, nid);
		else
			KUNIT_EXPECT_NULL_MSG(test, get_node(s, nid),
					      "%s: new cache has untracked node %d", when, nid);
		if (slub_hp_barn_tracked(nid) && slub_hp_wants_barn(s))
			KUNIT_EXPECT_NOT_NULL_MSG(test, slub_hp_barn(s, nid),
						  "%s: new cache lacks a barn on node %d",
						  when, nid);
	}
}

/* ---------------------------------------------------------------------- */
/* The model: actions, transitions and the policy                           */
/* ---------------------------------------------------------------------- */

enum slub_hp_dir { SLUB_HP_ON, SLUB_HP_OFF };

/* Where an action stands in an online or offline sequence. */
enum slub_hp_role {
	SLUB_HP_PREPARE,	/* before anything (memory notifier only) */
	SLUB_HP_GOING,		/* before the node states change */
	SLUB_HP_STATES,		/* not an action: the core updates node_states[] */
	SLUB_HP_DONE,		/* after the node states changed */
	SLUB_HP_FINISH,		/* after everything (memory notifier only) */
	SLUB_HP_CANCEL,		/* instead of STATES and DONE, after a veto */
	SLUB_HP_END,
};

/* The order in which the hotplug core sends the actions of one direction. */
static const enum slub_hp_role slub_hp_normal_seq[] = {
	SLUB_HP_PREPARE, SLUB_HP_GOING, SLUB_HP_STATES, SLUB_HP_DONE, SLUB_HP_FINISH,
};

/* ... and when a notifier vetoes the going-online or going-offline. */
static const enum slub_hp_role slub_hp_cancel_seq[] = {
	SLUB_HP_PREPARE, SLUB_HP_GOING, SLUB_HP_CANCEL,
};

struct slub_hp_action {
	unsigned long action;
	const char *name;
	enum slub_hp_dir dir;
	enum slub_hp_role role;
};

#define SLUB_HP_ACTION(a, d, r) { .action = a, .name = #a, .dir = d, .role = r }

static const struct slub_hp_action slub_hp_actions[] = {
#if SLUB_HP_NODE_NOTIFY
	SLUB_HP_ACTION(NODE_ADDING_FIRST_MEMORY, SLUB_HP_ON, SLUB_HP_GOING),
	SLUB_HP_ACTION(NODE_ADDED_FIRST_MEMORY, SLUB_HP_ON, SLUB_HP_DONE),
	SLUB_HP_ACTION(NODE_CANCEL_ADDING_FIRST_MEMORY, SLUB_HP_ON, SLUB_HP_CANCEL),
	SLUB_HP_ACTION(NODE_REMOVING_LAST_MEMORY, SLUB_HP_OFF, SLUB_HP_GOING),
	SLUB_HP_ACTION(NODE_REMOVED_LAST_MEMORY, SLUB_HP_OFF, SLUB_HP_DONE),
	SLUB_HP_ACTION(NODE_CANCEL_REMOVING_LAST_MEMORY, SLUB_HP_OFF, SLUB_HP_CANCEL),
#else
	SLUB_HP_ACTION(MEM_PREPARE_ONLINE, SLUB_HP_ON, SLUB_HP_PREPARE),
	SLUB_HP_ACTION(MEM_GOING_ONLINE, SLUB_HP_ON, SLUB_HP_GOING),
	SLUB_HP_ACTION(MEM_ONLINE, SLUB_HP_ON, SLUB_HP_DONE),
	SLUB_HP_ACTION(MEM_CANCEL_ONLINE, SLUB_HP_ON, SLUB_HP_CANCEL),
	SLUB_HP_ACTION(MEM_GOING_OFFLINE, SLUB_HP_OFF, SLUB_HP_GOING),
	SLUB_HP_ACTION(MEM_OFFLINE, SLUB_HP_OFF, SLUB_HP_DONE),
	SLUB_HP_ACTION(MEM_CANCEL_OFFLINE, SLUB_HP_OFF, SLUB_HP_CANCEL),
	SLUB_HP_ACTION(MEM_FINISH_OFFLINE, SLUB_HP_OFF, SLUB_HP_FINISH),
#endif
};

static const struct slub_hp_action *slub_hp_find(enum slub_hp_dir dir, enum slub_hp_role role)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(slub_hp_actions); i++)
		if (slub_hp_actions[i].dir == dir && slub_hp_actions[i].role == role)
			return &slub_hp_actions[i];
	return NULL;
}

/**
 * struct slub_hp_trans - how a node's memory changes, seen when onlining
 * @on: name of the online direction, e.g. "none->normal"
 * @off: name of the offline direction, e.g. "normal->none"
 * @memless: acts on the memoryless test node (else on a node with memory)
 * @names_nid: status_change_nid (or node_notify.nid) names the node
 * @names_normal: status_change_nid_normal names the node
 * @pre_memory: N_MEMORY before onlining (after offlining)
 * @pre_normal: N_NORMAL_MEMORY before onlining
 * @post_memory: N_MEMORY after onlining (before offlining)
 * @post_normal: N_NORMAL_MEMORY after onlining
 * @prelude: the transition that brings the node into the pre state, if any
 * @cycle: run a whole online/offline cycle of this transition first
 */
struct slub_hp_trans {
	const char *on;
	const char *off;
	bool memless;
	bool names_nid;
	bool names_normal;
	bool pre_memory, pre_normal;
	bool post_memory, post_normal;
	const struct slub_hp_trans *prelude;
	bool cycle;
};

static const struct slub_hp_trans slub_hp_first_movable = {
	.on = "none->movable", .off = "movable->none", .memless = true,
	.names_nid = true, .post_memory = true,
};

static const struct slub_hp_trans slub_hp_first_normal = {
	.on = "none->normal", .off = "normal->none", .memless = true,
	.names_nid = true, .names_normal = true,
	.post_memory = true, .post_normal = true,
};

#if SLUB_HP_NODE_NOTIFY
static const struct slub_hp_trans slub_hp_again_normal = {
	.on = "none->normal->none->normal", .off = "normal->none->normal->none",
	.memless = true, .names_nid = true, .names_normal = true,
	.post_memory = true, .post_normal = true, .cycle = true,
};

static const struct slub_hp_trans *const slub_hp_transitions[] = {
	&slub_hp_first_normal, &slub_hp_first_movable, &slub_hp_again_normal,
};
#else
static const struct slub_hp_trans slub_hp_normal_on_movable = {
	.on = "movable->normal", .off = "normal->movable", .memless = true,
	.names_normal = true,
	.pre_memory = true, .post_memory = true, .post_normal = true,
	.prelude = &slub_hp_first_movable,
};

static const struct slub_hp_trans slub_hp_no_change = {
	.on = "normal->normal", .off = "normal->normal",
	.pre_memory = true, .pre_normal = true,
	.post_memory = true, .post_normal = true,
};

static const struct slub_hp_trans *const slub_hp_transitions[] = {
	&slub_hp_first_normal, &slub_hp_first_movable,
	&slub_hp_normal_on_movable, &slub_hp_no_change,
};
#endif

/*
 * The policy: is the node tracked after @act, given it was @tracked before?
 * The memory notifier tells the slab which kind of memory changes; the node
 * notifier does not, so under the normal policy there a movable-only node is
 * expected to stay untracked only if the kernel looks at the zones itself.
 */
static bool slub_hp_model(const struct slub_hp_action *act,
			  const struct slub_hp_trans *t, bool tracked)
{
	bool named = t->names_nid || t->names_normal;

	if (slub_hp.policy == SLUB_HP_POLICY_MEMORY) {
		if (act->dir == SLUB_HP_ON && act->role == SLUB_HP_GOING && named)
			return true;
		return tracked;
	}
	if (!t->names_normal)
		return tracked;
	if (act->dir == SLUB_HP_ON && act->role == SLUB_HP_GOING)
		return true;
	if ((act->dir == SLUB_HP_OFF && act->role == SLUB_HP_DONE) ||
	    (act->dir == SLUB_HP_ON && act->role == SLUB_HP_CANCEL))
		return false;
	return tracked;
}

/**
 * struct slub_hp_world - the node under test and what the model expects
 * @nid: the node whose memory changes
 * @tracked: whether the model expects @nid in slab_nodes
 * @barn_tracked: whether the model expects @nid in slab_barn_nodes: set by
 *	the first successful going-online on trees with barns, never cleared
 */
struct slub_hp_world {
	int nid;
	bool tracked;
	bool barn_tracked;
};

static int slub_hp_arg_nid(const struct slub_hp_world *w, bool named)
{
	return named ? w->nid : NUMA_NO_NODE;
}

/* Deliver @act for @t, update the model, return the callback's result. */
static int slub_hp_step(struct kunit *test, struct slub_hp_world *w,
			const struct slub_hp_action *act, const struct slub_hp_trans *t)
{
	int ret;

	ret = slub_hp_notify(test, act->action, slub_hp_arg_nid(w, t->names_nid),
			     slub_hp_arg_nid(w, t->names_normal));
	w->tracked = slub_hp_model(act, t, w->tracked);
	if (SLUB_HP_NODE_NOTIFY && act->dir == SLUB_HP_ON && act->role == SLUB_HP_GOING &&
	    ret == NOTIFY_OK)
		w->barn_tracked = true;
	return ret;
}

/* The node's slab_nodes and slab_barn_nodes bits are what the model says. */
static void slub_hp_expect_model(struct kunit *test, const struct slub_hp_world *w,
				 const char *when)
{
	KUNIT_EXPECT_EQ_MSG(test, slub_hp_tracked(w->nid), w->tracked,
			    "%s: node %d tracked=%d, policy %s says %d", when, w->nid,
			    slub_hp_tracked(w->nid), slub_hp_policy_param, w->tracked);
	KUNIT_EXPECT_EQ_MSG(test, slub_hp_barn_tracked(w->nid), w->barn_tracked,
			    "%s: node %d in slab_barn_nodes=%d, expected %d", when, w->nid,
			    slub_hp_barn_tracked(w->nid), w->barn_tracked);
}

/*
 * Walk one direction of @t up to (not including) @stop, as the hotplug core
 * would, checking each step against the model. With @cancel, the sequence is
 * the vetoed one: GOING then CANCEL.
 */
static void slub_hp_walk(struct kunit *test, struct slub_hp_world *w,
			 const struct slub_hp_trans *t, enum slub_hp_dir dir,
			 bool cancel, enum slub_hp_role stop)
{
	const enum slub_hp_role *seq = cancel ? slub_hp_cancel_seq : slub_hp_normal_seq;
	unsigned int len = cancel ? ARRAY_SIZE(slub_hp_cancel_seq) :
				    ARRAY_SIZE(slub_hp_normal_seq);
	unsigned int i;

	for (i = 0; i < len && seq[i] != stop; i++) {
		const struct slub_hp_action *act;
		int ret;

		if (seq[i] == SLUB_HP_STATES) {
			if (!t->memless)
				continue;
			if (dir == SLUB_HP_ON)
				slub_hp_set_states(test, w->nid, t->post_memory, t->post_normal);
			else
				slub_hp_set_states(test, w->nid, t->pre_memory, t->pre_normal);
			continue;
		}
		act = slub_hp_find(dir, seq[i]);
		if (!act)
			continue;
		ret = slub_hp_step(test, w, act, t);
		KUNIT_ASSERT_EQ_MSG(test, ret, NOTIFY_OK, "setup: %s %s failed",
				    act->name, dir == SLUB_HP_ON ? t->on : t->off);
		slub_hp_expect_model(test, w, act->name);
	}
}

/* Bring the node under test into the state @t starts from when onlining. */
static void slub_hp_enter_pre(struct kunit *test, struct slub_hp_world *w,
			      const struct slub_hp_trans *t)
{
	if (t->prelude)
		slub_hp_walk(test, w, t->prelude, SLUB_HP_ON, false, SLUB_HP_END);
	if (t->cycle) {
		slub_hp_walk(test, w, t, SLUB_HP_ON, false, SLUB_HP_END);
		slub_hp_walk(test, w, t, SLUB_HP_OFF, false, SLUB_HP_END);
	}
}

/* A node none of whose caches has a per-node structure. */
static bool slub_hp_unused_node(int nid)
{
	struct kmem_cache *s;
	bool unused = true;

	mutex_lock(&slab_mutex);
	list_for_each_entry(s, &slab_caches, list)
		if (get_node(s, nid))
			unused = false;
	mutex_unlock(&slab_mutex);
	return unused && !slub_hp_tracked(nid) && !node_state(nid, N_MEMORY);
}

/* Pick the node for @t; skip the case if the machine has none. */
static struct slub_hp_world slub_hp_world(struct kunit *test, const struct slub_hp_trans *t)
{
	struct slub_hp_world w;

	if (t->memless) {
		if (slub_hp.memless_nid == NUMA_NO_NODE)
			kunit_skip(test, "needs a possible NUMA node without memory (%u %s here)",
				   nr_node_ids, nr_node_ids == 1 ? "node" : "nodes");
		w.nid = slub_hp.memless_nid;
		/* Precondition: untouched by earlier cases or runs. */
		KUNIT_ASSERT_FALSE_MSG(test, slub_hp_tracked(w.nid),
				       "node %d tracked before the case", w.nid);
		KUNIT_ASSERT_FALSE_MSG(test, node_state(w.nid, N_MEMORY),
				       "node %d has memory before the case", w.nid);
		KUNIT_ASSERT_TRUE_MSG(test, slub_hp_unused_node(w.nid),
				      "a cache has a structure for node %d before the case",
				      w.nid);
	} else {
		w.nid = slub_hp.normal_nid;
	}
	w.tracked = slub_hp_tracked(w.nid);
	w.barn_tracked = slub_hp_barn_tracked(w.nid);
	return w;
}

/* ---------------------------------------------------------------------- */
/* Cases                                                                    */
/* ---------------------------------------------------------------------- */

struct slub_hp_event_param {
	const struct slub_hp_action *act;
	const struct slub_hp_trans *trans;
};

/* Every action crossed with every transition; filled by slub_hp_suite_init(). */
static struct slub_hp_event_param
slub_hp_event_params[ARRAY_SIZE(slub_hp_actions) * ARRAY_SIZE(slub_hp_transitions)];

static void slub_hp_fill_event_params(void)
{
	unsigned int i, nt = ARRAY_SIZE(slub_hp_transitions);

	for (i = 0; i < ARRAY_SIZE(slub_hp_event_params); i++) {
		slub_hp_event_params[i].act = &slub_hp_actions[i / nt];
		slub_hp_event_params[i].trans = slub_hp_transitions[i % nt];
	}
}

static void slub_hp_event_desc(struct slub_hp_event_param *p, char *desc)
{
	const struct slub_hp_trans *t = p->trans;
	const char *change = p->act->dir == SLUB_HP_ON ? t->on : t->off;
	int nid = t->memless ? slub_hp.memless_nid : slub_hp.normal_nid;

	if (SLUB_HP_NODE_NOTIFY)
		snprintf(desc, KUNIT_PARAM_DESC_SIZE, "%s nid=%d %s",
			 p->act->name, nid, change);
	else
		snprintf(desc, KUNIT_PARAM_DESC_SIZE, "%s (%d,%d) %s", p->act->name,
			 t->names_nid ? nid : NUMA_NO_NODE,
			 t->names_normal ? nid : NUMA_NO_NODE, change);
}

KUNIT_ARRAY_PARAM(slub_hp_event, slub_hp_event_params, slub_hp_event_desc);

/*
 * Every action crossed with every transition (I1, I2, I4 and the policy).
 * The node is brought to the state in which the hotplug core would send the
 * action, by sending the events that precede it and mocking node_states[]
 * in between. Then, for the action itself:
 * - the callback returns NOTIFY_OK;
 * - the node is tracked exactly when the policy says so, and no other node's
 *   tracking changes;
 * - every cache has a structure for every tracked node (I1), also a cache
 *   created right after the action;
 * - no structure seen before is freed or replaced (I2), and an action that
 *   leaves tracking alone allocates nothing (I4).
 */
static void slub_hotplug_event(struct kunit *test)
{
	const struct slub_hp_event_param *p = test->param_value;
	const struct slub_hp_action *act = p->act;
	const struct slub_hp_trans *t = p->trans;
	struct slub_hp_world w = slub_hp_world(test, t);
	const struct slub_hp_snap *before;
	bool was_tracked, alloc_expected;
	nodemask_t others;
	int ret;

	slub_hp_enter_pre(test, &w, t);
	if (act->dir == SLUB_HP_OFF)
		slub_hp_walk(test, &w, t, SLUB_HP_ON, false, SLUB_HP_END);
	slub_hp_walk(test, &w, t, act->dir, act->role == SLUB_HP_CANCEL, act->role);

	before = slub_hp_snapshot(test);
	was_tracked = slub_hp_tracked(w.nid);
	others = before->tracked;
	node_clear(w.nid, others);

	ret = slub_hp_step(test, &w, act, t);

	KUNIT_EXPECT_EQ(test, ret, NOTIFY_OK);
	slub_hp_expect_model(test, &w, act->name);
	{
		nodemask_t now = slab_nodes;

		node_clear(w.nid, now);
		KUNIT_EXPECT_TRUE_MSG(test, nodes_equal(now, others),
				      "%s changed the tracking of other nodes", act->name);
	}
	slub_hp_expect_coverage(test, act->name);
	alloc_expected = !was_tracked && w.tracked;
	slub_hp_expect_kept(test, before, !alloc_expected, act->name);
	slub_hp_expect_new_cache_nodes(test, act->name);
}

/*
 * I1, the window reviewers kept slab_nodes for: a cache created after the
 * going-online event succeeded, but before the hotplug core set the node's
 * node_states[], still gets a structure (and barn) for the new node.
 */
static void slub_hotplug_cache_created_in_window(struct kunit *test)
{
	struct slub_hp_world w = slub_hp_world(test, &slub_hp_first_normal);
	const struct slub_hp_action *going = slub_hp_find(SLUB_HP_ON, SLUB_HP_GOING);
	struct kmem_cache *s;

	KUNIT_ASSERT_EQ(test, slub_hp_step(test, &w, going, &slub_hp_first_normal), NOTIFY_OK);
	KUNIT_ASSERT_FALSE(test, node_state(w.nid, N_MEMORY));

	s = slub_hp_create_cache(test, "slub_hp_window", 128);
	KUNIT_EXPECT_NOT_NULL_MSG(test, get_node(s, w.nid),
				  "cache created in the window lacks node %d", w.nid);
	if (slub_hp_wants_barn(s))
		KUNIT_EXPECT_NOT_NULL_MSG(test, slub_hp_barn(s, w.nid),
					  "cache created in the window lacks a barn on node %d",
					  w.nid);
	slub_hp_expect_coverage(test, "window");
}

/*
 * New caches get structures for exactly slab_nodes, and slab_nodes is the
 * policy's boot mask (N_NORMAL_MEMORY or N_MEMORY) while nothing is being
 * hotplugged.
 */
static void slub_hotplug_boot_mask(struct kunit *test)
{
	nodemask_t expected = slub_hp.policy == SLUB_HP_POLICY_MEMORY ?
			      node_states[N_MEMORY] : node_states[N_NORMAL_MEMORY];

	KUNIT_EXPECT_TRUE_MSG(test, nodes_equal(slab_nodes, expected),
			      "slab_nodes %*pbl, policy %s expects %*pbl",
			      nodemask_pr_args(&slab_nodes), slub_hp_policy_param,
			      nodemask_pr_args(&expected));
	slub_hp_expect_coverage(test, "boot");
	slub_hp_expect_new_cache_nodes(test, "boot");
}

/*
 * I2's other half: destroying a cache frees its structure for a node that
 * went offline after the cache was created, whether or not the node is still
 * tracked. The case itself sees nothing wrong when that structure is skipped;
 * slub_hotplug_no_new_leaks, at the end of the run, reports it under kmemleak
 * (tools/slub-kunit run --debug).
 */
static void slub_hotplug_destroy_after_offline(struct kunit *test)
{
	const struct slub_hp_trans *t = &slub_hp_first_normal;
	struct slub_hp_world w = slub_hp_world(test, t);
	struct kmem_cache *s;

	slub_hp_walk(test, &w, t, SLUB_HP_ON, false, SLUB_HP_END);
	s = slub_hp_create_cache(test, "slub_hp_doomed", 96);
	KUNIT_ASSERT_NOT_NULL(test, get_node(s, w.nid));

	slub_hp_walk(test, &w, t, SLUB_HP_OFF, false, SLUB_HP_END);
	KUNIT_EXPECT_NOT_NULL_MSG(test, get_node(s, w.nid),
				  "offline freed node %d's structure of a live cache", w.nid);
	kunit_release_action(test, slub_hp_destroy_cache, s);
}

/*
 * Likewise for the structures a failed going-online leaves behind (I3): the
 * caches served before the failure keep a structure for a node that stays
 * untracked, under either policy, and destroying such a cache frees it.
 */
static void slub_hotplug_destroy_after_failed_online(struct kunit *test)
{
	const struct slub_hp_trans *t = &slub_hp_first_normal;
	struct slub_hp_world w = slub_hp_world(test, t);
	const struct slub_hp_action *going = slub_hp_find(SLUB_HP_ON, SLUB_HP_GOING);
	unsigned int nodes, barns, caches;
	struct kmem_cache *s;

	/* New caches go first in slab_caches: fail at the last cache. */
	s = slub_hp_create_cache(test, "slub_hp_doomed", 96);
	slub_hp_count(w.nid, &nodes, &barns, &caches);
	slub_hp_watch_allocs(test, SLUB_HP_FAIL_NODE, caches);
	KUNIT_ASSERT_EQ(test, slub_hp_step(test, &w, going, t), notifier_from_errno(-ENOMEM));
	KUNIT_ASSERT_FALSE(test, slub_hp_tracked(w.nid));
	KUNIT_ASSERT_NOT_NULL_MSG(test, get_node(s, w.nid),
				  "the new cache was not served before the failure");
	kunit_release_action(test, slub_hp_destroy_cache, s);
}

/*
 * I2: online, offline, online again. The structures made by the first online
 * survive the offline and are the ones used after the second online, which
 * allocates nothing.
 */
static void slub_hotplug_reonline_reuses(struct kunit *test)
{
	const struct slub_hp_trans *t = &slub_hp_first_normal;
	struct slub_hp_world w = slub_hp_world(test, t);
	struct slub_hp_ctx *ctx = test->priv;
	const struct slub_hp_snap *online;

	slub_hp_walk(test, &w, t, SLUB_HP_ON, false, SLUB_HP_END);
	KUNIT_ASSERT_TRUE(test, slub_hp_tracked(w.nid));
	online = slub_hp_snapshot(test);

	slub_hp_walk(test, &w, t, SLUB_HP_OFF, false, SLUB_HP_END);
	slub_hp_expect_kept(test, online, false, "after offline");

	slub_hp_watch_allocs(test, SLUB_HP_FAIL_NONE, 0);
	slub_hp_walk(test, &w, t, SLUB_HP_ON, false, SLUB_HP_END);
	KUNIT_EXPECT_TRUE(test, slub_hp_tracked(w.nid));
	KUNIT_EXPECT_EQ_MSG(test, ctx->node_allocs, 0,
			    "second online allocated %u per-node structures", ctx->node_allocs);
	KUNIT_EXPECT_EQ_MSG(test, ctx->barn_allocs, 0,
			    "second online allocated %u barns", ctx->barn_allocs);
	slub_hp_expect_kept(test, online, true, "after second online");
}

struct slub_hp_fault_param {
	const char *desc;
	enum slub_hp_fault_target target;
	unsigned int where;	/* 0: first, 1: middle, 2: last */
};

static const struct slub_hp_fault_param slub_hp_fault_params[] = {
	{ "kmem_cache_node fails at first cache", SLUB_HP_FAIL_NODE, 0 },
	{ "kmem_cache_node fails at middle cache", SLUB_HP_FAIL_NODE, 1 },
	{ "kmem_cache_node fails at last cache", SLUB_HP_FAIL_NODE, 2 },
#if SLUB_HP_NODE_NOTIFY
	{ "barn fails at first cache with sheaves", SLUB_HP_FAIL_BARN, 0 },
	{ "barn fails at middle cache with sheaves", SLUB_HP_FAIL_BARN, 1 },
	{ "barn fails at last cache with sheaves", SLUB_HP_FAIL_BARN, 2 },
#endif
};

KUNIT_ARRAY_PARAM_DESC(slub_hp_fault, slub_hp_fault_params, desc);

static unsigned int slub_hp_pick(unsigned int where, unsigned int n)
{
	return where == 0 ? 1 : where == 1 ? (n + 1) / 2 : n;
}

/*
 * Position (0-based, in slab_caches order) of the @k-th cache that will
 * allocate a barn for @nid, i.e. how many caches the callback completes
 * before that allocation fails.
 */
static unsigned int slub_hp_barn_position(int nid, unsigned int k)
{
	struct kmem_cache *s;
	unsigned int pos = 0, seen = 0;

	mutex_lock(&slab_mutex);
	list_for_each_entry(s, &slab_caches, list) {
		if (!get_node(s, nid) && slub_hp_wants_barn(s) && !slub_hp_barn(s, nid) &&
		    ++seen == k)
			break;
		pos++;
	}
	mutex_unlock(&slab_mutex);
	return pos;
}

/*
 * I3: the going-online event fails inside the allocator at the k-th cache.
 * The callback returns an error and leaves the node untracked; the cancel
 * the hotplug core sends next frees nothing; a retry succeeds, completes
 * every cache and reuses what the failed attempt made.
 */
static void slub_hotplug_going_online_fails(struct kunit *test)
{
	const struct slub_hp_fault_param *p = test->param_value;
	const struct slub_hp_trans *t = &slub_hp_first_normal;
	struct slub_hp_world w = slub_hp_world(test, t);
	const struct slub_hp_action *going = slub_hp_find(SLUB_HP_ON, SLUB_HP_GOING);
	const struct slub_hp_action *cancel = slub_hp_find(SLUB_HP_ON, SLUB_HP_CANCEL);
	struct slub_hp_ctx *ctx = test->priv;
	unsigned int nodes, barns, caches, want_barns = 0, k, made_nodes, made_barns;
	const struct slub_hp_snap *failed;
	struct kmem_cache *s;
	bool barn_tracked;
	int ret;

	slub_hp_count(w.nid, &nodes, &barns, &caches);
	KUNIT_ASSERT_EQ(test, nodes, 0);
	mutex_lock(&slab_mutex);
	list_for_each_entry(s, &slab_caches, list)
		if (slub_hp_wants_barn(s) && !slub_hp_barn(s, w.nid))
			want_barns++;
	mutex_unlock(&slab_mutex);

	if (p->target == SLUB_HP_FAIL_BARN) {
		if (!want_barns)
			kunit_skip(test, "node %d needs no barns: no cache with sheaves lacks one",
				   w.nid);
		k = slub_hp_pick(p->where, want_barns);
		made_nodes = slub_hp_barn_position(w.nid, k);
		made_barns = k - 1;
	} else {
		k = slub_hp_pick(p->where, caches);
		made_nodes = k - 1;
		made_barns = 0;	/* counted after the failure */
	}
	barn_tracked = slub_hp_barn_tracked(w.nid);

	slub_hp_watch_allocs(test, p->target, k);
	ret = slub_hp_step(test, &w, going, t);
	KUNIT_EXPECT_EQ_MSG(test, ret, notifier_from_errno(-ENOMEM),
			    "%s: going-online returned %d", p->desc, ret);
	KUNIT_EXPECT_FALSE_MSG(test, slub_hp_tracked(w.nid),
			       "node %d tracked after a failed going-online", w.nid);
	KUNIT_EXPECT_EQ_MSG(test, slub_hp_barn_tracked(w.nid), barn_tracked,
			    "barn tracking of node %d changed by a failed going-online", w.nid);
	KUNIT_ASSERT_GT_MSG(test, p->target == SLUB_HP_FAIL_NODE ? ctx->node_allocs :
			    ctx->barn_allocs, 0,
			    "should_failslab() never reached the stub: is mm/failslab.c patched?");
	slub_hp_count(w.nid, &nodes, &barns, &caches);
	KUNIT_EXPECT_EQ_MSG(test, nodes, made_nodes,
			    "caches done before the failure keep their structure");
	if (p->target == SLUB_HP_FAIL_BARN)
		KUNIT_EXPECT_EQ(test, barns, made_barns);
	else
		made_barns = barns;
	slub_hp_expect_coverage(test, "after failure");

	/* The hotplug core cancels after a failed going-online. */
	failed = slub_hp_snapshot(test);
	ret = slub_hp_notify(test, cancel->action, w.nid, w.nid);
	KUNIT_EXPECT_EQ(test, ret, NOTIFY_OK);
	KUNIT_EXPECT_FALSE(test, slub_hp_tracked(w.nid));
	slub_hp_expect_kept(test, failed, false, "cancel after failure");

	/* Retry without the fault. */
	slub_hp_watch_allocs(test, SLUB_HP_FAIL_NONE, 0);
	ret = slub_hp_step(test, &w, going, t);
	KUNIT_EXPECT_EQ(test, ret, NOTIFY_OK);
	KUNIT_EXPECT_TRUE(test, slub_hp_tracked(w.nid));
	slub_hp_count(w.nid, &nodes, &barns, &caches);
	KUNIT_EXPECT_EQ(test, nodes, caches);
	KUNIT_EXPECT_EQ_MSG(test, ctx->node_allocs, caches - made_nodes,
			    "retry allocated %u structures for %u caches, %u were kept",
			    ctx->node_allocs, caches, made_nodes);
	KUNIT_EXPECT_EQ(test, ctx->barn_allocs, want_barns - made_barns);
	slub_hp_expect_kept(test, failed, false, "retry");
	slub_hp_expect_coverage(test, "retry");
}

/*
 * I6: going-offline flushes and shrinks every cache. A cache whose objects
 * were all freed keeps no slab that kmem_cache_shrink() would still release.
 */
static void slub_hotplug_going_offline_shrinks(struct kunit *test)
{
	const struct slub_hp_action *going = slub_hp_find(SLUB_HP_OFF, SLUB_HP_GOING);
	struct kmem_cache *s = slub_hp_create_cache(test, "slub_hp_shrink", 256);
	unsigned long before = 0, after_offline = 0, after_shrink = 0;
	unsigned int i, nr = oo_objects(s->oo) * 8;
	struct kmem_cache_node *n;
	void **objs;
	int nid;

	if (!IS_ENABLED(CONFIG_SLUB_DEBUG))
		kunit_skip(test, "needs CONFIG_SLUB_DEBUG to count slabs per node");
	objs = kunit_kcalloc(test, nr, sizeof(*objs), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, objs);
	for (i = 0; i < nr; i++) {
		objs[i] = kmem_cache_alloc_node(s, GFP_KERNEL, slub_hp.normal_nid);
		KUNIT_ASSERT_NOT_NULL(test, objs[i]);
	}
	for (i = 0; i < nr; i++)
		kmem_cache_free(s, objs[i]);
	/* Under KASAN freed objects wait in quarantine: give them back. */
	kasan_cache_shrink(s);

	for_each_kmem_cache_node(s, nid, n)
		before += node_nr_slabs(n);
	KUNIT_ASSERT_GT_MSG(test, before, 0, "freed slabs already released: nothing to shrink");

	KUNIT_EXPECT_EQ(test, slub_hp_notify(test, going->action,
					     SLUB_HP_NODE_NOTIFY ? slub_hp.normal_nid :
					     NUMA_NO_NODE, NUMA_NO_NODE), NOTIFY_OK);
	for_each_kmem_cache_node(s, nid, n)
		after_offline += node_nr_slabs(n);

	kmem_cache_shrink(s);
	for_each_kmem_cache_node(s, nid, n)
		after_shrink += node_nr_slabs(n);

	KUNIT_ASSERT_LT_MSG(test, after_shrink, before, "shrinking released nothing");
	KUNIT_EXPECT_EQ_MSG(test, after_offline, after_shrink,
			    "%lu slabs before, %lu after going-offline, %lu after shrink",
			    before, after_offline, after_shrink);
}

/* ---------------------------------------------------------------------- */
/* Allocation fallback                                                      */
/* ---------------------------------------------------------------------- */

enum slub_hp_target {
	SLUB_HP_NO_NODE,
	SLUB_HP_MEMORY_NODE,
	SLUB_HP_TRACKED_MEMLESS,
	SLUB_HP_UNTRACKED_MEMLESS,
	SLUB_HP_OFFLINE_NODE,
};

struct slub_hp_alloc_param {
	const char *desc;
	enum slub_hp_target target;
	bool thisnode;
};

static const struct slub_hp_alloc_param slub_hp_alloc_params[] = {
	{ "NUMA_NO_NODE", SLUB_HP_NO_NODE, false },
	{ "NUMA_NO_NODE __GFP_THISNODE", SLUB_HP_NO_NODE, true },
	{ "node with memory", SLUB_HP_MEMORY_NODE, false },
	{ "node with memory __GFP_THISNODE", SLUB_HP_MEMORY_NODE, true },
	{ "tracked memoryless node", SLUB_HP_TRACKED_MEMLESS, false },
	{ "tracked memoryless node __GFP_THISNODE", SLUB_HP_TRACKED_MEMLESS, true },
	{ "untracked memoryless node", SLUB_HP_UNTRACKED_MEMLESS, false },
	{ "untracked memoryless node __GFP_THISNODE", SLUB_HP_UNTRACKED_MEMLESS, true },
	{ "possible offline node", SLUB_HP_OFFLINE_NODE, false },
	{ "possible offline node __GFP_THISNODE", SLUB_HP_OFFLINE_NODE, true },
};

KUNIT_ARRAY_PARAM_DESC(slub_hp_alloc, slub_hp_alloc_params, desc);

static void slub_hp_free_obj(void *obj)
{
	struct slab *slab = virt_to_slab(obj);

	kmem_cache_free(slab->slab_cache, obj);
}

/*
 * I5: kmem_cache_alloc_node() with any node id never crashes, and the object
 * comes from where the slow path promises:
 * - a node with memory supplies the object itself;
 * - a node that cannot supply one (no memory, untracked, offline) makes the
 *   allocation fall back to a node with memory, unless __GFP_THISNODE is
 *   set: then a tracked node fails the allocation; an untracked one fails it
 *   on node-notifier trees, whose slow path keeps the constraint, and is
 *   ignored on memory-notifier trees, whose slow path drops it.
 */
static void slub_hotplug_alloc_node(struct kunit *test)
{
	const struct slub_hp_alloc_param *p = test->param_value;
	gfp_t gfp = GFP_KERNEL | __GFP_NOWARN | (p->thisnode ? __GFP_THISNODE : 0);
	struct kmem_cache *s;
	bool expect_object;
	int nid, got;
	void *obj;

	switch (p->target) {
	case SLUB_HP_NO_NODE:
		nid = NUMA_NO_NODE;
		break;
	case SLUB_HP_MEMORY_NODE:
		nid = slub_hp.other_nid != NUMA_NO_NODE ? slub_hp.other_nid : slub_hp.normal_nid;
		break;
	case SLUB_HP_OFFLINE_NODE:
		nid = slub_hp.offline_nid;
		if (nid == NUMA_NO_NODE)
			kunit_skip(test, "needs a possible node that is not online");
		break;
	default:
		nid = slub_hp_world(test, &slub_hp_first_normal).nid;
		break;
	}

	if (p->target == SLUB_HP_TRACKED_MEMLESS) {
		struct slub_hp_world w = { .nid = nid };

		KUNIT_ASSERT_EQ(test, slub_hp_step(test, &w,
						   slub_hp_find(SLUB_HP_ON, SLUB_HP_GOING),
						   &slub_hp_first_normal), NOTIFY_OK);
		KUNIT_ASSERT_TRUE(test, slub_hp_tracked(nid));
	}

	s = slub_hp_create_cache(test, "slub_hp_alloc", 96);
	obj = kmem_cache_alloc_node(s, gfp, nid);
	if (obj)
		KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, slub_hp_free_obj, obj));

	switch (p->target) {
	case SLUB_HP_NO_NODE:
	case SLUB_HP_MEMORY_NODE:
		expect_object = true;
		break;
	case SLUB_HP_TRACKED_MEMLESS:
		expect_object = !p->thisnode;
		break;
	default:
		expect_object = !p->thisnode || !SLUB_HP_NODE_NOTIFY;
		break;
	}

	if (!expect_object) {
		KUNIT_EXPECT_NULL_MSG(test, obj, "node %d cannot supply, yet got an object", nid);
		return;
	}
	KUNIT_ASSERT_NOT_NULL_MSG(test, obj, "no object for node %d", nid);
	got = folio_nid(virt_to_folio(obj));
	KUNIT_EXPECT_TRUE_MSG(test, node_state(got, N_MEMORY),
			      "object on node %d, which has no memory", got);
	if (p->target == SLUB_HP_MEMORY_NODE)
		KUNIT_EXPECT_EQ_MSG(test, got, nid, "asked for node %d", nid);
}

/* ---------------------------------------------------------------------- */
/* Real memory hotplug                                                      */
/* ---------------------------------------------------------------------- */

#define SLUB_HP_MAX_BLOCKS	16

/**
 * struct slub_hp_blocks - the offline memory blocks of one node
 * @nid: the node
 * @nr: number of blocks in @mem
 * @mem: the blocks, each with a device reference held
 */
struct slub_hp_blocks {
	int nid;
	unsigned int nr;
	struct memory_block *mem[SLUB_HP_MAX_BLOCKS];
};

#ifdef CONFIG_MEMORY_HOTREMOVE
static int slub_hp_collect_block(struct memory_block *mem, void *arg)
{
	struct slub_hp_blocks *b = arg;

	if (mem->nid != b->nid || mem->state != MEM_OFFLINE || b->nr == SLUB_HP_MAX_BLOCKS)
		return 0;
	get_device(&mem->dev);
	b->mem[b->nr++] = mem;
	return 0;
}

/*
 * Release what the slab holds on free slabs and sheaves, like going-offline,
 * after emptying what keeps freed slab objects pinning their pages: vmalloc's
 * lazily freed areas, its per-node pools of free areas (whose vmap_area
 * structures stay allocated until a shrinker decays the pools: drop_slab())
 * and KASAN's quarantine.
 */
static void slub_hp_shrink_all(void)
{
	struct kmem_cache *s;

	vm_unmap_aliases();
	drop_slab();
	cpus_read_lock();
	mutex_lock(&slab_mutex);
	list_for_each_entry(s, &slab_caches, list) {
		kasan_cache_shrink(s);
		flush_all_cpus_locked(s);
		__kmem_cache_do_shrink(s);
	}
	mutex_unlock(&slab_mutex);
	cpus_read_unlock();
}

#ifdef CONFIG_SLUB_DEBUG
/* Prints where up to @max objects of @slab in use were allocated. */
static unsigned int slub_hp_report_slab(struct kmem_cache *s, struct slab *slab,
					unsigned int max)
{
	unsigned int shown = 0;
	void *p;

	for_each_object(p, s, slab_address(slab), slab->objects) {
		struct track *a = get_track(s, p, TRACK_ALLOC);

		if (shown == max)
			break;
		if (a->addr && time_after_eq(a->when, get_track(s, p, TRACK_FREE)->when)) {
			print_track("  in use, allocated", a, jiffies);
			shown++;
		}
	}
	return shown;
}
#endif

/*
 * Offlining failed with -EBUSY: name what the slab still holds on the node,
 * with the allocation site of up to three objects of each cache where the
 * cache records it (slub_debug=U, on under --debug).
 */
static void slub_hp_report_pinned(int nid)
{
	struct kmem_cache_node *n;
	struct kmem_cache *s;

	mutex_lock(&slab_mutex);
	list_for_each_entry(s, &slab_caches, list) {
#ifdef CONFIG_SLUB_DEBUG
		unsigned int shown = 0;
		unsigned long flags;
		struct slab *slab;
#endif

		n = get_node(s, nid);
		if (!n || !node_nr_slabs(n))
			continue;
		pr_err("slub_hotplug: %s holds %lu slab(s) on node %d\n", s->name,
		       node_nr_slabs(n), nid);
#ifdef CONFIG_SLUB_DEBUG
		if (!(s->flags & SLAB_STORE_USER))
			continue;
		spin_lock_irqsave(&n->list_lock, flags);
		list_for_each_entry(slab, &n->full, slab_list)
			shown += slub_hp_report_slab(s, slab, 3 - shown);
		list_for_each_entry(slab, &n->partial, slab_list)
			shown += slub_hp_report_slab(s, slab, 3 - shown);
		spin_unlock_irqrestore(&n->list_lock, flags);
#endif
	}
	mutex_unlock(&slab_mutex);
}

#define SLUB_HP_OFFLINE_TIMEOUT	(30 * HZ)

struct slub_hp_watchdog {
	struct delayed_work work;
	struct task_struct *task;
};

static void slub_hp_watchdog_fire(struct work_struct *work)
{
	struct slub_hp_watchdog *wd = container_of(to_delayed_work(work),
						   struct slub_hp_watchdog, work);

	send_sig(SIGINT, wd->task, 1);
}

/*
 * Offline one block after draining what keeps freed objects pinning pages.
 * offline_pages() retries migration for as long as no signal is pending,
 * which for a kernel thread is forever: a watchdog signals the case after
 * SLUB_HP_OFFLINE_TIMEOUT, so that a page that never migrates fails the
 * case (-EINTR) instead of hanging the run.
 */
static int slub_hp_offline_block(struct memory_block *mem, int nid)
{
	struct slub_hp_watchdog wd = { .task = current };
	int ret;

	slub_hp_shrink_all();
	allow_signal(SIGINT);
	INIT_DELAYED_WORK_ONSTACK(&wd.work, slub_hp_watchdog_fire);
	schedule_delayed_work(&wd.work, SLUB_HP_OFFLINE_TIMEOUT);
	ret = device_offline(&mem->dev);
	cancel_delayed_work_sync(&wd.work);
	destroy_delayed_work_on_stack(&wd.work);
	flush_signals(current);
	disallow_signal(SIGINT);
	if (ret == -EINTR)
		pr_err("slub_hotplug: offlining memory%u did not finish in %d s\n",
		       mem->dev.id, SLUB_HP_OFFLINE_TIMEOUT / HZ);
	if (ret == -EINTR || ret == -EBUSY)
		slub_hp_report_pinned(nid);
	return ret;
}

/**
 * slub_hp_set_blocks() - online or offline every block through the core
 * @test: the running case
 * @b: the blocks
 * @online_type: MMOP_ONLINE_KERNEL, MMOP_ONLINE_MOVABLE or MMOP_OFFLINE
 *
 * Does what writing the block's sysfs state file does: device_online() or
 * device_offline() under the device hotplug lock. The case's stub watches
 * (and may fail) the slab's allocations meanwhile.
 *
 * Return: 0, or the first error.
 */
static int slub_hp_set_blocks(struct kunit *test, struct slub_hp_blocks *b, int online_type)
{
	struct slub_hp_ctx *ctx = test->priv;
	unsigned int i;
	int ret = 0;

	lock_device_hotplug();
	ctx->armed = true;
	for (i = 0; i < b->nr && !ret; i++) {
		/*
		 * Offline in reverse: what the kernel allocated while
		 * onlining a block lives in the blocks onlined before it.
		 * KASAN's shadow of block n, for one, is vmalloc()ed on
		 * the node, i.e. in blocks 0..n-1; offlining block n frees
		 * it, but only into vmalloc's lazy list and pools and
		 * KASAN's quarantine: slub_hp_offline_block() drains them.
		 */
		struct memory_block *mem = online_type == MMOP_OFFLINE ?
					   b->mem[b->nr - 1 - i] : b->mem[i];

		if (online_type == MMOP_OFFLINE) {
			ret = slub_hp_offline_block(mem, b->nid);
		} else {
			mem->online_type = online_type;
			ret = device_online(&mem->dev);
		}
		ret = ret > 0 ? 0 : ret;	/* already in that state */
	}
	ctx->armed = false;
	unlock_device_hotplug();
	return ret;
}

/* Offline whatever a case left online, then drop the device references. */
static void slub_hp_put_blocks(void *data)
{
	struct slub_hp_blocks *b = data;
	unsigned int i;
	int ret;

	lock_device_hotplug();
	for (i = b->nr; i-- > 0;) {
		if (b->mem[i]->state == MEM_ONLINE) {
			ret = slub_hp_offline_block(b->mem[i], b->nid);
			if (ret < 0)
				pr_err("slub_hotplug: memory%u on node %d stays online: %d\n",
				       b->mem[i]->dev.id, b->nid, ret);
		}
	}
	unlock_device_hotplug();
	for (i = 0; i < b->nr; i++)
		put_device(&b->mem[i]->dev);
}

static void slub_hp_stop_node_threads(void *data)
{
	int nid = (long)data;

	mem_hotplug_begin();
	if (!node_state(nid, N_MEMORY)) {
		kswapd_stop(nid);
		kcompactd_stop(nid);
	}
	mem_hotplug_done();
}

/*
 * Since 6.17 online_pages() starts the node's kswapd and kcompactd with
 * kthread_create_on_node(), so their task_struct, stack vmap_area and
 * kthread data are slab objects on the memory just onlined. Those pages
 * are unmovable and make offlining the node's last kernel memory fail
 * with -EBUSY before the slab is even asked to shrink. Start both threads
 * while the node has no memory, so that they live elsewhere and the
 * hotplug core reuses them; offline_pages() stops them as usual.
 */
static void slub_hp_start_node_threads(struct kunit *test, int nid)
{
	mem_hotplug_begin();
	kswapd_run(nid);
	kcompactd_run(nid);
	mem_hotplug_done();
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, slub_hp_stop_node_threads,
							   (void *)(long)nid));
}

/**
 * slub_hp_real_node() - the memoryless node's offline memory blocks
 * @test: the running case
 *
 * Skips the case where the machine has no memoryless node with offline
 * hot-pluggable memory. Guards the node's slab state and registers an
 * action that offlines the blocks again and drops the references.
 *
 * Return: the blocks.
 */
static struct slub_hp_blocks *slub_hp_real_node(struct kunit *test)
{
	struct slub_hp_blocks *b = kunit_kzalloc(test, sizeof(*b), GFP_KERNEL);
	struct slub_hp_world w;

	KUNIT_ASSERT_NOT_NULL(test, b);
	w = slub_hp_world(test, &slub_hp_first_normal);
	b->nid = w.nid;
	for_each_memory_block(b, slub_hp_collect_block);
	if (!b->nr)
		kunit_skip(test, "node %d has no offline memory blocks to hotplug", b->nid);
	slub_hp_guard_node(test, b->nid);
	slub_hp_start_node_threads(test, b->nid);
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, slub_hp_put_blocks, b));
	return b;
}

/**
 * struct slub_hp_objs - objects a case holds, freed when it ends
 * @s: their cache
 * @nr: number of objects in @obj
 * @obj: the objects
 */
struct slub_hp_objs {
	struct kmem_cache *s;
	unsigned int nr;
	void *obj[];
};

static void slub_hp_free_objs(void *data)
{
	struct slub_hp_objs *o = data;

	while (o->nr)
		kmem_cache_free(o->s, o->obj[--o->nr]);
}

/**
 * slub_hp_alloc_many() - allocate objects for a node and see where they land
 * @test: the running case
 * @s: the cache
 * @nid: the node asked for
 * @gfp: allocation flags (__GFP_NOWARN is added)
 * @nr: how many to allocate
 * @got: set to how many allocations succeeded
 * @on_node: set to how many of them came from @nid
 *
 * The objects stay allocated (so each one takes a new slot) until the case
 * ends or slub_hp_free_objs() is released early.
 *
 * Return: the objects.
 */
static struct slub_hp_objs *slub_hp_alloc_many(struct kunit *test, struct kmem_cache *s,
					       int nid, gfp_t gfp, unsigned int nr,
					       unsigned int *got, unsigned int *on_node)
{
	struct slub_hp_objs *o;
	void *obj;

	o = kunit_kzalloc(test, struct_size(o, obj, nr), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, o);
	o->s = s;
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, slub_hp_free_objs, o));
	*on_node = 0;
	while (o->nr < nr) {
		obj = kmem_cache_alloc_node(s, gfp | __GFP_NOWARN, nid);
		if (!obj)
			break;
		o->obj[o->nr++] = obj;
		if (folio_nid(virt_to_folio(obj)) == nid)
			(*on_node)++;
	}
	*got = o->nr;
	return o;
}

/* Where slub_hp_alloc_twice()'s objects came from, per round. */
struct slub_hp_placed {
	unsigned int got;
	unsigned int on_node;
};

/**
 * slub_hp_alloc_twice() - where a fresh cache's objects for a node land
 * @test: the running case
 * @nid: the node asked for
 * @thisnode: set to what 64 allocations with __GFP_THISNODE gave
 * @any: set to what 64 allocations without it gave
 *
 * Each round's objects are freed before the next, and the cache is
 * destroyed at the end: afterwards no slab page of the suite pins the
 * node's memory, and its blocks can go offline.
 */
static void slub_hp_alloc_twice(struct kunit *test, int nid,
				struct slub_hp_placed *thisnode, struct slub_hp_placed *any)
{
	struct kmem_cache *s = slub_hp_create_cache(test, "slub_hp_real", 192);
	struct slub_hp_objs *objs;

	objs = slub_hp_alloc_many(test, s, nid, GFP_KERNEL | __GFP_THISNODE, 64,
				  &thisnode->got, &thisnode->on_node);
	kunit_release_action(test, slub_hp_free_objs, objs);
	objs = slub_hp_alloc_many(test, s, nid, GFP_KERNEL, 64, &any->got, &any->on_node);
	kunit_release_action(test, slub_hp_free_objs, objs);
	kunit_release_action(test, slub_hp_destroy_cache, s);
}

/* After a transition: node_states[], the policy and coverage. */
static void slub_hp_expect_real(struct kunit *test, const struct slub_hp_world *w,
				bool memory, bool normal, const char *when)
{
	KUNIT_EXPECT_EQ_MSG(test, node_state(w->nid, N_MEMORY), memory,
			    "%s: N_MEMORY of node %d (%lu present pages)", when, w->nid,
			    NODE_DATA(w->nid)->node_present_pages);
	KUNIT_EXPECT_EQ_MSG(test, node_state(w->nid, N_NORMAL_MEMORY), normal,
			    "%s: N_NORMAL_MEMORY of node %d", when, w->nid);
	KUNIT_EXPECT_EQ_MSG(test, slub_hp_tracked(w->nid), w->tracked,
			    "%s: node %d tracked=%d, policy %s says %d", when, w->nid,
			    slub_hp_tracked(w->nid), slub_hp_policy_param, w->tracked);
	slub_hp_expect_coverage(test, when);
}

/* Update the model for a whole online (or offline) of @t through the core. */
static void slub_hp_model_walk(struct slub_hp_world *w, const struct slub_hp_trans *t,
			       enum slub_hp_dir dir, bool cancel)
{
	const enum slub_hp_role *seq = cancel ? slub_hp_cancel_seq : slub_hp_normal_seq;
	unsigned int len = cancel ? ARRAY_SIZE(slub_hp_cancel_seq) :
				    ARRAY_SIZE(slub_hp_normal_seq);
	const struct slub_hp_action *act;
	unsigned int i;

	for (i = 0; i < len; i++) {
		act = slub_hp_find(dir, seq[i]);
		if (act)
			w->tracked = slub_hp_model(act, t, w->tracked);
	}
}

/*
 * Onlining a memoryless node's blocks as kernel memory through the hotplug
 * core sets N_MEMORY and N_NORMAL_MEMORY, tracks the node under both
 * policies, and gives every cache a structure for it. Slab objects asked
 * for on the node come from it, with and without __GFP_THISNODE. Once the
 * suite's objects are freed the blocks offline again; the node's structures
 * survive the offline (I2) and its tracking follows the policy.
 */
static void slub_hotplug_real_online_kernel(struct kunit *test)
{
	struct slub_hp_blocks *b = slub_hp_real_node(test);
	struct slub_hp_world w = { .nid = b->nid, .tracked = slub_hp_tracked(b->nid) };
	struct slub_hp_placed thisnode, any;
	const struct slub_hp_snap *online;

	KUNIT_ASSERT_EQ(test, slub_hp_set_blocks(test, b, MMOP_ONLINE_KERNEL), 0);
	slub_hp_model_walk(&w, &slub_hp_first_normal, SLUB_HP_ON, false);
	slub_hp_expect_real(test, &w, true, true, "online kernel");

	slub_hp_alloc_twice(test, b->nid, &thisnode, &any);
	KUNIT_EXPECT_EQ_MSG(test, thisnode.got, 64,
			    "__GFP_THISNODE allocations failed on node %d", b->nid);
	KUNIT_EXPECT_EQ_MSG(test, thisnode.on_node, thisnode.got,
			    "__GFP_THISNODE objects off node %d", b->nid);
	KUNIT_EXPECT_EQ(test, any.got, 64);
	KUNIT_EXPECT_EQ_MSG(test, any.on_node, any.got,
			    "objects for node %d came from elsewhere", b->nid);
	online = slub_hp_snapshot(test);

	KUNIT_EXPECT_EQ_MSG(test, slub_hp_set_blocks(test, b, MMOP_OFFLINE), 0,
			    "offline failed with the suite's objects freed");
	slub_hp_model_walk(&w, &slub_hp_first_normal, SLUB_HP_OFF, false);
	slub_hp_expect_real(test, &w, false, false, "offline");
	slub_hp_expect_kept(test, online, false, "offline");
}

/*
 * Onlining the blocks as movable memory sets N_MEMORY but not
 * N_NORMAL_MEMORY; the node is tracked only under the memory policy. Slab
 * pages never come from movable memory: no object asked for on the node,
 * with or without __GFP_THISNODE, lands there. The blocks offline again.
 */
static void slub_hotplug_real_online_movable(struct kunit *test)
{
	struct slub_hp_blocks *b = slub_hp_real_node(test);
	struct slub_hp_world w = { .nid = b->nid, .tracked = slub_hp_tracked(b->nid) };
	struct slub_hp_placed thisnode, any;

	KUNIT_ASSERT_EQ(test, slub_hp_set_blocks(test, b, MMOP_ONLINE_MOVABLE), 0);
	slub_hp_model_walk(&w, &slub_hp_first_movable, SLUB_HP_ON, false);
	slub_hp_expect_real(test, &w, true, false, "online movable");

	slub_hp_alloc_twice(test, b->nid, &thisnode, &any);
	KUNIT_EXPECT_EQ_MSG(test, thisnode.on_node, 0,
			    "%u slab objects on movable-only node %d", thisnode.on_node, b->nid);
	KUNIT_EXPECT_EQ(test, any.got, 64);
	KUNIT_EXPECT_EQ_MSG(test, any.on_node, 0,
			    "%u slab objects on movable-only node %d", any.on_node, b->nid);

	KUNIT_EXPECT_EQ(test, slub_hp_set_blocks(test, b, MMOP_OFFLINE), 0);
	slub_hp_model_walk(&w, &slub_hp_first_movable, SLUB_HP_OFF, false);
	slub_hp_expect_real(test, &w, false, false, "offline");
}

static int slub_hp_veto_online(struct notifier_block *nb, unsigned long action, void *arg)
{
	return action == slub_hp_find(SLUB_HP_ON, SLUB_HP_GOING)->action ?
	       NOTIFY_BAD : NOTIFY_OK;
}

static int slub_hp_veto_offline(struct notifier_block *nb, unsigned long action, void *arg)
{
	return action == slub_hp_find(SLUB_HP_OFF, SLUB_HP_GOING)->action ?
	       NOTIFY_BAD : NOTIFY_OK;
}

static void slub_hp_unregister_veto(void *nb)
{
#if SLUB_HP_NODE_NOTIFY
	unregister_node_notifier(nb);
#else
	unregister_memory_notifier(nb);
#endif
}

/**
 * slub_hp_add_veto() - refuse one action after the slab has seen it
 * @test: the running case
 * @fn: slub_hp_veto_online or slub_hp_veto_offline
 *
 * Registers a notifier on the chain the slab listens on, with a lower
 * priority than SLAB_CALLBACK_PRI so that it runs after the slab's callback,
 * and an action that unregisters it when the case ends.
 *
 * Return: the notifier block, to release early with kunit_release_action().
 */
static struct notifier_block *slub_hp_add_veto(struct kunit *test, notifier_fn_t fn)
{
	struct notifier_block *nb = kunit_kzalloc(test, sizeof(*nb), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, nb);
	nb->notifier_call = fn;
	nb->priority = SLAB_CALLBACK_PRI - 1;
#if SLUB_HP_NODE_NOTIFY
	KUNIT_ASSERT_EQ(test, 0, register_node_notifier(nb));
#else
	KUNIT_ASSERT_EQ(test, 0, register_memory_notifier(nb));
#endif
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, slub_hp_unregister_veto, nb));
	return nb;
}

/*
 * A notifier after the slab's refuses the going-online: the online fails,
 * the hotplug core sends the cancel, and the slab ends as the policy says
 * for a going-online followed by its cancel. Every cache keeps the
 * structure the going-online made (I2), and a later online succeeds.
 */
static void slub_hotplug_real_veto_online(struct kunit *test)
{
	struct slub_hp_blocks *b = slub_hp_real_node(test);
	struct slub_hp_world w = { .nid = b->nid, .tracked = slub_hp_tracked(b->nid) };
	struct notifier_block *veto;
	const struct slub_hp_snap *vetoed;

	veto = slub_hp_add_veto(test, slub_hp_veto_online);
	KUNIT_EXPECT_LT_MSG(test, slub_hp_set_blocks(test, b, MMOP_ONLINE_KERNEL), 0,
			    "online succeeded despite the veto");
	slub_hp_model_walk(&w, &slub_hp_first_normal, SLUB_HP_ON, true);
	slub_hp_expect_real(test, &w, false, false, "vetoed online");
	vetoed = slub_hp_snapshot(test);

	kunit_release_action(test, slub_hp_unregister_veto, veto);
	KUNIT_ASSERT_EQ(test, slub_hp_set_blocks(test, b, MMOP_ONLINE_KERNEL), 0);
	w.tracked = slub_hp_tracked(b->nid);
	slub_hp_model_walk(&w, &slub_hp_first_normal, SLUB_HP_ON, false);
	slub_hp_expect_real(test, &w, true, true, "online after veto");
	slub_hp_expect_kept(test, vetoed, false, "online after veto");
	KUNIT_EXPECT_EQ(test, slub_hp_set_blocks(test, b, MMOP_OFFLINE), 0);
}

/*
 * A notifier after the slab's refuses the going-offline: the offline fails,
 * the core sends the cancel, the node keeps its memory, its states and its
 * tracking. Without the veto the offline then succeeds.
 */
static void slub_hotplug_real_veto_offline(struct kunit *test)
{
	struct slub_hp_blocks *b = slub_hp_real_node(test);
	struct slub_hp_world w = { .nid = b->nid, .tracked = slub_hp_tracked(b->nid) };
	struct notifier_block *veto;

	KUNIT_ASSERT_EQ(test, slub_hp_set_blocks(test, b, MMOP_ONLINE_KERNEL), 0);
	slub_hp_model_walk(&w, &slub_hp_first_normal, SLUB_HP_ON, false);

	veto = slub_hp_add_veto(test, slub_hp_veto_offline);
	KUNIT_EXPECT_LT_MSG(test, slub_hp_set_blocks(test, b, MMOP_OFFLINE), 0,
			    "offline succeeded despite the veto");
	slub_hp_model_walk(&w, &slub_hp_first_normal, SLUB_HP_OFF, true);
	slub_hp_expect_real(test, &w, true, true, "vetoed offline");

	kunit_release_action(test, slub_hp_unregister_veto, veto);
	KUNIT_EXPECT_EQ(test, slub_hp_set_blocks(test, b, MMOP_OFFLINE), 0);
	slub_hp_model_walk(&w, &slub_hp_first_normal, SLUB_HP_OFF, false);
	slub_hp_expect_real(test, &w, false, false, "offline after veto");
}

/*
 * I3 on the real path: the slab's going-online allocation fails inside the
 * allocator at the middle cache; the online fails cleanly (the blocks stay
 * offline, the node untracked, what was made is kept), and a retry succeeds.
 */
static void slub_hotplug_real_online_fails(struct kunit *test)
{
	struct slub_hp_blocks *b = slub_hp_real_node(test);
	struct slub_hp_ctx *ctx = test->priv;
	unsigned int nodes, barns, caches, made;

	slub_hp_count(b->nid, &nodes, &barns, &caches);
	slub_hp_watch_allocs(test, SLUB_HP_FAIL_NODE, slub_hp_pick(1, caches));
	KUNIT_EXPECT_EQ(test, slub_hp_set_blocks(test, b, MMOP_ONLINE_KERNEL), -ENOMEM);
	KUNIT_EXPECT_EQ(test, b->mem[0]->state, MEM_OFFLINE);
	KUNIT_EXPECT_FALSE(test, node_state(b->nid, N_MEMORY));
	KUNIT_EXPECT_FALSE(test, slub_hp_tracked(b->nid));
	slub_hp_count(b->nid, &made, &barns, &caches);
	KUNIT_EXPECT_EQ(test, made, nodes + slub_hp_pick(1, caches) - 1);

	slub_hp_watch_allocs(test, SLUB_HP_FAIL_NONE, 0);
	KUNIT_ASSERT_EQ(test, slub_hp_set_blocks(test, b, MMOP_ONLINE_KERNEL), 0);
	KUNIT_EXPECT_TRUE(test, slub_hp_tracked(b->nid));
	KUNIT_EXPECT_EQ(test, ctx->node_allocs, caches - made);
	slub_hp_expect_coverage(test, "online after failure");
	KUNIT_EXPECT_EQ(test, slub_hp_set_blocks(test, b, MMOP_OFFLINE), 0);
}

static struct kunit_case slub_hotplug_real_cases[] = {
	KUNIT_CASE_SLOW(slub_hotplug_real_online_kernel),
	KUNIT_CASE_SLOW(slub_hotplug_real_online_movable),
	KUNIT_CASE_SLOW(slub_hotplug_real_veto_online),
	KUNIT_CASE_SLOW(slub_hotplug_real_veto_offline),
	KUNIT_CASE_SLOW(slub_hotplug_real_online_fails),
	{}
};
#endif /* CONFIG_MEMORY_HOTREMOVE */

#ifndef CONFIG_MEMORY_HOTREMOVE
static void slub_hotplug_real_unsupported(struct kunit *test)
{
	kunit_skip(test, "needs CONFIG_MEMORY_HOTREMOVE to online and offline memory");
}

static struct kunit_case slub_hotplug_real_cases[] = {
	KUNIT_CASE(slub_hotplug_real_unsupported),
	{}
};
#endif

/* ---------------------------------------------------------------------- */
/* Suite                                                                    */
/* ---------------------------------------------------------------------- */

static int slub_hp_case_init(struct kunit *test)
{
	struct slub_hp_ctx *ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);

	if (!ctx)
		return -ENOMEM;
	test->priv = ctx;
	return 0;
}

static void slub_hp_take_state(void);

static int slub_hp_suite_init(struct kunit_suite *suite)
{
	int nid;

	slub_hp_take_state();
	slub_hp_fill_event_params();
	if (!strcmp(slub_hp_policy_param, "normal")) {
		slub_hp.policy = SLUB_HP_POLICY_NORMAL;
	} else if (!strcmp(slub_hp_policy_param, "memory")) {
		slub_hp.policy = SLUB_HP_POLICY_MEMORY;
	} else {
		pr_err("slub_hotplug: policy=%s: expected normal or memory\n",
		       slub_hp_policy_param);
		return -EINVAL;
	}

	slub_hp.normal_nid = numa_mem_id();
	slub_hp.other_nid = NUMA_NO_NODE;
	slub_hp.memless_nid = NUMA_NO_NODE;
	slub_hp.offline_nid = NUMA_NO_NODE;
	for_each_node_state(nid, N_NORMAL_MEMORY)
		if (nid != slub_hp.normal_nid && slub_hp.other_nid == NUMA_NO_NODE)
			slub_hp.other_nid = nid;
	/* Prefer an online memoryless node; fall back to an offline one. */
	for_each_online_node(nid)
		if (slub_hp.memless_nid == NUMA_NO_NODE && slub_hp_unused_node(nid))
			slub_hp.memless_nid = nid;
	for_each_node(nid) {
		if (node_online(nid))
			continue;
		if (slub_hp.memless_nid == NUMA_NO_NODE && slub_hp_unused_node(nid))
			slub_hp.memless_nid = nid;
		else if (slub_hp.offline_nid == NUMA_NO_NODE && nid != slub_hp.memless_nid)
			slub_hp.offline_nid = nid;
	}

	pr_info("slub_hotplug: %s notifier, policy %s, nodes: normal %d other %d memoryless %d offline %d\n",
		SLUB_HP_NODE_NOTIFY ? "node" : "memory", slub_hp_policy_param,
		slub_hp.normal_nid, slub_hp.other_nid, slub_hp.memless_nid, slub_hp.offline_nid);
	return 0;
}

static struct kunit_case slub_hotplug_cases[] = {
	KUNIT_CASE(slub_hotplug_boot_mask),
	KUNIT_CASE_PARAM(slub_hotplug_event, slub_hp_event_gen_params),
	KUNIT_CASE(slub_hotplug_cache_created_in_window),
	KUNIT_CASE(slub_hotplug_reonline_reuses),
	KUNIT_CASE(slub_hotplug_destroy_after_offline),
	KUNIT_CASE(slub_hotplug_destroy_after_failed_online),
	KUNIT_CASE_PARAM(slub_hotplug_going_online_fails, slub_hp_fault_gen_params),
	KUNIT_CASE(slub_hotplug_going_offline_shrinks),
	KUNIT_CASE_PARAM(slub_hotplug_alloc_node, slub_hp_alloc_gen_params),
	{}
};

static struct kunit_suite slub_hotplug_suite = {
	.name = "slub_hotplug",
	.suite_init = slub_hp_suite_init,
	.init = slub_hp_case_init,
	.test_cases = slub_hotplug_cases,
};

/*
 * The real-hotplug cases online and offline memory through the hotplug core;
 * they are slow under emulation, and skip where no memoryless node has
 * offline memory blocks.
 */
static struct kunit_suite slub_hotplug_real_suite = {
	.name = "slub_hotplug_real",
	.suite_init = slub_hp_suite_init,
	.init = slub_hp_case_init,
	.test_cases = slub_hotplug_real_cases,
};

/*
 * CONFIG_SLUB_HOTPLUG_KUNIT_REPEAT runs both suites that many times in one
 * boot, as slub_hotplug_runN and slub_hotplug_real_runN: a case that
 * depends on what an earlier run left behind gives a different result.
 */
#ifndef CONFIG_SLUB_HOTPLUG_KUNIT_REPEAT
#define CONFIG_SLUB_HOTPLUG_KUNIT_REPEAT 1
#endif

#define SLUB_HP_RUN(n)								\
static struct kunit_suite slub_hotplug_suite_run##n = {			\
	.name = "slub_hotplug_run" #n,						\
	.suite_init = slub_hp_suite_init,					\
	.init = slub_hp_case_init,						\
	.test_cases = slub_hotplug_cases,					\
};										\
static struct kunit_suite slub_hotplug_real_suite_run##n = {			\
	.name = "slub_hotplug_real_run" #n,					\
	.suite_init = slub_hp_suite_init,					\
	.init = slub_hp_case_init,						\
	.test_cases = slub_hotplug_real_cases,					\
}

#if CONFIG_SLUB_HOTPLUG_KUNIT_REPEAT >= 2
SLUB_HP_RUN(2);
#endif
#if CONFIG_SLUB_HOTPLUG_KUNIT_REPEAT >= 3
SLUB_HP_RUN(3);
#endif
#if CONFIG_SLUB_HOTPLUG_KUNIT_REPEAT >= 4
SLUB_HP_RUN(4);
#endif
#if CONFIG_SLUB_HOTPLUG_KUNIT_REPEAT >= 5
SLUB_HP_RUN(5);
#endif

/*
 * What the suites may change, recorded before the first case runs and
 * compared after the last: slab_nodes, slab_barn_nodes, N_MEMORY,
 * N_NORMAL_MEMORY and every per-node structure and barn of every cache.
 */
static struct {
	bool taken;
	unsigned long jiffies;
	nodemask_t tracked, barn_tracked, memory, normal;
	unsigned int nr;
	struct kmem_cache **caches;
	void **ptrs;		/* nr * nr_node_ids structures, then as many barns */
} slub_hp_boot_state;

static void slub_hp_take_state(void)
{
	unsigned int nr = 0, i = 0;
	struct kmem_cache *s;
	int nid;

	if (slub_hp_boot_state.taken)
		return;
	slub_hp_boot_state.jiffies = jiffies;
	mutex_lock(&slab_mutex);
	list_for_each_entry(s, &slab_caches, list)
		nr++;
	slub_hp_boot_state.caches = kcalloc(nr, sizeof(s), GFP_KERNEL);
	slub_hp_boot_state.ptrs = kcalloc(2 * nr * nr_node_ids, sizeof(void *), GFP_KERNEL);
	if (slub_hp_boot_state.caches && slub_hp_boot_state.ptrs) {
		list_for_each_entry(s, &slab_caches, list) {
			if (i == nr)
				break;
			slub_hp_boot_state.caches[i] = s;
			for_each_node(nid) {
				slub_hp_boot_state.ptrs[i * nr_node_ids + nid] = get_node(s, nid);
				slub_hp_boot_state.ptrs[(nr + i) * nr_node_ids + nid] =
					slub_hp_barn(s, nid);
			}
			i++;
		}
		slub_hp_boot_state.nr = i;
		slub_hp_boot_state.taken = true;
	}
	slub_hp_boot_state.tracked = slab_nodes;
	for_each_node(nid)
		if (slub_hp_barn_tracked(nid))
			node_set(nid, slub_hp_boot_state.barn_tracked);
	mutex_unlock(&slab_mutex);
	slub_hp_boot_state.memory = node_states[N_MEMORY];
	slub_hp_boot_state.normal = node_states[N_NORMAL_MEMORY];
}

/*
 * Everything the suites changed is back as it was before their first case:
 * the tracking masks, the node states, and every per-node structure and
 * barn of every cache that existed then (none freed, none replaced, none
 * left behind).
 */
static void slub_hotplug_state_restored(struct kunit *test)
{
	nodemask_t barn_tracked = NODE_MASK_NONE;
	unsigned int i, nr = slub_hp_boot_state.nr, changed = 0;
	struct kmem_cache *s;
	int nid;

	KUNIT_ASSERT_TRUE_MSG(test, slub_hp_boot_state.taken,
			      "no state recorded before the suites");
	kunit_info(test, "slub_hotplug: suites ran for %u ms\n",
		   jiffies_to_msecs(jiffies - slub_hp_boot_state.jiffies));
	for_each_node(nid)
		if (slub_hp_barn_tracked(nid))
			node_set(nid, barn_tracked);
	KUNIT_EXPECT_TRUE_MSG(test, nodes_equal(slab_nodes, slub_hp_boot_state.tracked),
			      "slab_nodes %*pbl, before the suites %*pbl",
			      nodemask_pr_args(&slab_nodes),
			      nodemask_pr_args(&slub_hp_boot_state.tracked));
	KUNIT_EXPECT_TRUE(test, nodes_equal(barn_tracked, slub_hp_boot_state.barn_tracked));
	KUNIT_EXPECT_TRUE(test, nodes_equal(node_states[N_MEMORY], slub_hp_boot_state.memory));
	KUNIT_EXPECT_TRUE(test, nodes_equal(node_states[N_NORMAL_MEMORY],
					    slub_hp_boot_state.normal));

	mutex_lock(&slab_mutex);
	list_for_each_entry(s, &slab_caches, list) {
		for (i = 0; i < nr && slub_hp_boot_state.caches[i] != s; i++)
			;
		if (i == nr)
			continue;	/* created after the snapshot */
		for_each_node(nid) {
			if (get_node(s, nid) != slub_hp_boot_state.ptrs[i * nr_node_ids + nid] ||
			    slub_hp_barn(s, nid) !=
			    slub_hp_boot_state.ptrs[(nr + i) * nr_node_ids + nid])
				changed++;
		}
	}
	mutex_unlock(&slab_mutex);
	KUNIT_EXPECT_EQ_MSG(test, changed, 0,
			    "%u (cache, node) structures or barns differ from before the suites",
			    changed);
}

#ifdef CONFIG_DEBUG_KMEMLEAK
#define SLUB_HP_LEAK_REPORT	SZ_128K
#define SLUB_HP_LEAK_MIN_AGE_MS	6000	/* kmemleak reports objects 5 s old */

/**
 * struct slub_hp_kmemleak_io - one conversation with kmemleak
 * @scans: how many times to write "scan" before reading the report
 * @buf: where the report goes, NUL-terminated
 * @size: size of @buf
 * @ret: the length of the report, or a negative errno
 * @done: completed when @ret is set
 */
struct slub_hp_kmemleak_io {
	unsigned int scans;
	char *buf;
	size_t size;
	ssize_t ret;
	struct completion done;
};

/* Scans and reads the report through user buffer @ubuf of @io->size bytes. */
static ssize_t slub_hp_kmemleak_rw(struct slub_hp_kmemleak_io *io, unsigned long ubuf)
{
	struct file_system_type *type = get_fs_type("debugfs");
	struct vfsmount *mnt;
	unsigned int i;
	size_t n = 0;
	struct file *f;
	loff_t pos;
	ssize_t ret;

	if (!type)
		return -ENODEV;
	mnt = kern_mount(type);
	put_filesystem(type);
	if (IS_ERR(mnt))
		return PTR_ERR(mnt);
	f = file_open_root_mnt(mnt, "kmemleak", O_RDWR, 0);
	if (IS_ERR(f)) {
		ret = PTR_ERR(f);
		goto out_mnt;
	}
	ret = -EFAULT;
	if (copy_to_user((char __user *)ubuf, "scan", 4))
		goto out_file;
	for (i = 0; i < io->scans; i++) {
		pos = 0;
		ret = vfs_write(f, (const char __user *)ubuf, 4, &pos);
		if (ret < 0)
			goto out_file;
	}
	pos = 0;
	while (n < io->size - 1) {
		ret = vfs_read(f, (char __user *)ubuf, io->size - 1 - n, &pos);
		if (ret <= 0)
			break;
		if (copy_from_user(io->buf + n, (const char __user *)ubuf, ret)) {
			ret = -EFAULT;
			break;
		}
		n += ret;
	}
	io->buf[n] = '\0';
	if (ret >= 0)
		ret = n;
out_file:
	fput(f);
out_mnt:
	kern_unmount(mnt);
	return ret;
}

/*
 * The conversation runs in a thread of its own, with an mm of its own that
 * it also tears down. Not in the case's thread: an mm attached there is torn
 * down when the thread exits, after the case, and the slab frees of that
 * teardown go through should_failslab()'s static stub, which looks up
 * current->kunit_test, a test that no longer exists by then.
 */
static int slub_hp_kmemleak_thread(void *data)
{
	struct slub_hp_kmemleak_io *io = data;
	struct mm_struct *mm = mm_alloc();
	unsigned long ubuf;

	io->ret = -ENOMEM;
	if (!mm)
		goto out;
	mm->task_size = TASK_SIZE;
	arch_pick_mmap_layout(mm, &current->signal->rlim[RLIMIT_STACK]);
	kthread_use_mm(mm);
	ubuf = vm_mmap(NULL, 0, io->size, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, 0);
	if (!IS_ERR_VALUE(ubuf)) {
		io->ret = slub_hp_kmemleak_rw(io, ubuf);
		vm_munmap(ubuf, io->size);
	}
	kthread_unuse_mm(mm);
	mmput(mm);
out:
	complete(&io->done);
	return 0;
}

/**
 * slub_hp_kmemleak() - have kmemleak scan, then read its report
 * @scans: how many scans
 * @buf: where the report goes, NUL-terminated
 * @size: size of @buf
 *
 * KUnit kernels have no user space to write /sys/kernel/debug/kmemleak, so
 * a helper thread mounts debugfs internally and writes and reads the file
 * itself, through a user mapping: the file's handlers take user buffers
 * only. A report longer than @buf is cut short.
 *
 * Return: the length of the report, or a negative errno.
 */
static ssize_t slub_hp_kmemleak(unsigned int scans, char *buf, size_t size)
{
	struct slub_hp_kmemleak_io io = { .scans = scans, .buf = buf, .size = size };
	struct task_struct *t;

	init_completion(&io.done);
	t = kthread_run(slub_hp_kmemleak_thread, &io, "slub_hp_kmemleak");
	if (IS_ERR(t))
		return PTR_ERR(t);
	wait_for_completion(&io.done);
	return io.ret;
}

/*
 * Prints one "unreferenced object" entry of kmemleak's report if the object
 * was allocated after the suites began; returns whether it was.
 */
static bool slub_hp_report_leak(char *entry)
{
	const char *when = strstr(entry, "jiffies ");
	unsigned long allocated;
	char *line;

	if (!when || sscanf(when, "jiffies %lu", &allocated) != 1 ||
	    time_before(allocated, slub_hp_boot_state.jiffies))
		return false;
	while ((line = strsep(&entry, "\n")))
		if (*line)
			pr_err("%s\n", line);
	return true;
}

/*
 * Nothing allocated while the suites ran is left unreferenced: after the
 * last case, and once every object is old enough for kmemleak to judge, a
 * scan reports no object allocated after the first suite began. Objects
 * from the boot are not the suite's and are ignored; the ones that count
 * are printed in full, so that the runner quotes them.
 */
static void slub_hotplug_no_new_leaks(struct kunit *test)
{
	unsigned int leaks = 0, reported = 0;
	char *buf, *entry, *next;
	ssize_t len;

	KUNIT_ASSERT_TRUE_MSG(test, slub_hp_boot_state.taken,
			      "no start time recorded before the suites");
	buf = kunit_kzalloc(test, SLUB_HP_LEAK_REPORT, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	msleep(SLUB_HP_LEAK_MIN_AGE_MS);
	/*
	 * kmemleak holds back an object whose contents changed since the
	 * previous scan, and its first scan of an object always sees a change:
	 * the report after the second scan is the one that counts.
	 */
	len = slub_hp_kmemleak(2, buf, SLUB_HP_LEAK_REPORT);
	KUNIT_ASSERT_GE_MSG(test, len, 0, "kmemleak scan failed");
	KUNIT_EXPECT_LT_MSG(test, len, SLUB_HP_LEAK_REPORT - 1, "kmemleak report cut short");

	for (entry = strstr(buf, "unreferenced object"); entry; entry = next) {
		next = strstr(entry + 1, "unreferenced object");
		if (next)
			next[-1] = '\0';
		leaks += slub_hp_report_leak(entry);
		reported++;
	}
	kunit_info(test, "kmemleak: %u unreferenced object(s), %u allocated during the suites\n",
		   reported, leaks);
	KUNIT_EXPECT_EQ_MSG(test, leaks, 0,
			    "kmemleak: %u object(s) allocated during the suites leaked (above)",
			    leaks);
}
#else
static void slub_hotplug_no_new_leaks(struct kunit *test)
{
	kunit_skip(test, "needs CONFIG_DEBUG_KMEMLEAK (tools/slub-kunit run --debug)");
}
#endif

static struct kunit_case slub_hotplug_restored_cases[] = {
	KUNIT_CASE(slub_hotplug_state_restored),
	KUNIT_CASE_SLOW(slub_hotplug_no_new_leaks),
	{}
};

static struct kunit_suite slub_hotplug_restored_suite = {
	.name = "slub_hotplug_restored",
	.test_cases = slub_hotplug_restored_cases,
};

/* One list per repeat count, so that the state check runs last. */
#if CONFIG_SLUB_HOTPLUG_KUNIT_REPEAT >= 5
kunit_test_suites(&slub_hotplug_suite, &slub_hotplug_real_suite,
		  &slub_hotplug_suite_run2, &slub_hotplug_real_suite_run2,
		  &slub_hotplug_suite_run3, &slub_hotplug_real_suite_run3,
		  &slub_hotplug_suite_run4, &slub_hotplug_real_suite_run4,
		  &slub_hotplug_suite_run5, &slub_hotplug_real_suite_run5,
		  &slub_hotplug_restored_suite);
#elif CONFIG_SLUB_HOTPLUG_KUNIT_REPEAT == 4
kunit_test_suites(&slub_hotplug_suite, &slub_hotplug_real_suite,
		  &slub_hotplug_suite_run2, &slub_hotplug_real_suite_run2,
		  &slub_hotplug_suite_run3, &slub_hotplug_real_suite_run3,
		  &slub_hotplug_suite_run4, &slub_hotplug_real_suite_run4,
		  &slub_hotplug_restored_suite);
#elif CONFIG_SLUB_HOTPLUG_KUNIT_REPEAT == 3
kunit_test_suites(&slub_hotplug_suite, &slub_hotplug_real_suite,
		  &slub_hotplug_suite_run2, &slub_hotplug_real_suite_run2,
		  &slub_hotplug_suite_run3, &slub_hotplug_real_suite_run3,
		  &slub_hotplug_restored_suite);
#elif CONFIG_SLUB_HOTPLUG_KUNIT_REPEAT == 2
kunit_test_suites(&slub_hotplug_suite, &slub_hotplug_real_suite,
		  &slub_hotplug_suite_run2, &slub_hotplug_real_suite_run2,
		  &slub_hotplug_restored_suite);
#else
kunit_test_suites(&slub_hotplug_suite, &slub_hotplug_real_suite,
		  &slub_hotplug_restored_suite);
#endif
