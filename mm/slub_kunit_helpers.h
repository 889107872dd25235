/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KUnit tests for SLUB's handling of NUMA nodes that gain and lose memory:
 * the model they hold the kernel to, what differs between the trees they
 * are built for, and the helpers the cases share.
 *
 * The tests are part of mm/slub.c, which includes, at its end,
 *
 *   slub_kunit_helpers.c  the shared helpers declared at the end of this file
 *   slub_kunit.c          suite slub_hotplug: synthetic notifier events
 *   slub_kunit_real.c     suite slub_hotplug_real: the memory hotplug core
 *
 * so that they can call the slab's hotplug callback and read slab_nodes,
 * get_node() and struct kmem_cache_node without widening them.
 */
#ifndef _MM_SLUB_KUNIT_HELPERS_H
#define _MM_SLUB_KUNIT_HELPERS_H

#include <kunit/test.h>
#include <linux/completion.h>
#include <linux/memory.h>
#include <linux/memory_hotplug.h>
#include <linux/mmzone.h>
#include <linux/node.h>
#include <linux/nodemask.h>

#include "../lib/mm_kunit_helpers.h"

/* ---------------------------------------------------------------------- */
/* The model                                                              */
/* ---------------------------------------------------------------------- */

/*
 * Whether a node is tracked (in slab_nodes: new caches get a per-node
 * structure for it):
 *
 *   normal  while it has normal (non-movable) memory; offlining the last
 *           normal memory untracks it (up to 6.16)
 *   memory  once it has any memory, and never untracked (the 2025 "numa
 *           node notifier" series; 6.17 on)
 *
 * A run expects the policy of the generation being built.
 */
enum slub_hp_policy {
	SLUB_HP_POLICY_NORMAL,
	SLUB_HP_POLICY_MEMORY,
};

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

/**
 * struct slub_hp_action - one action of the hotplug notifier
 * @action: MEM_* or NODE_*
 * @name: its name; NULL where the generation has no action in this place
 *
 * The actions are slub_hp_actions[direction][role].
 */
struct slub_hp_action {
	unsigned long action;
	const char *name;
};

#define SLUB_HP_ACTION(a) { .action = a, .name = #a }

/* The kinds of node events are sent for. */
enum slub_hp_kind {
	SLUB_HP_MEMLESS_NODE,	/* online, no memory, no CPU */
	SLUB_HP_CPU_NODE,	/* online, no memory, CPUs (and barns on 7.x) */
	SLUB_HP_OFFLINE_NODE,	/* possible, not online (mocked where none is) */
	SLUB_HP_BOOT_NODE,	/* has CPUs and memory from boot */
};

/**
 * struct slub_hp_trans - how a node's memory changes, seen when onlining
 * @on: name of the online direction, e.g. "none->normal"
 * @off: name of the offline direction, e.g. "normal->none"
 * @kind: the kind of node whose memory changes
 * @starts_online: the node starts in the post state (a boot node whose loss
 *	of memory is mocked), not the pre state
 * @first_node: the boot node is the first node with normal memory (node 0),
 *	on whose CPUs the cases otherwise run; the case moves to another's
 * @names_nid: status_change_nid (or node_notify.nid) names the node
 * @names_normal: status_change_nid_normal names the node
 * @pre_memory: N_MEMORY before onlining (after offlining)
 * @pre_normal: N_NORMAL_MEMORY before onlining
 * @post_memory: N_MEMORY after onlining (before offlining)
 * @post_normal: N_NORMAL_MEMORY after onlining
 * @prelude: the transition that brings the node into the pre state, if any
 * @cycle: run a whole online/offline cycle of this transition first
 * @before: run a whole online/offline cycle of this other transition first,
 *	about the same memory block
 */
struct slub_hp_trans {
	const char *on;
	const char *off;
	enum slub_hp_kind kind;
	bool starts_online;
	bool first_node;
	bool names_nid;
	bool names_normal;
	bool pre_memory, pre_normal;
	bool post_memory, post_normal;
	const struct slub_hp_trans *prelude;
	bool cycle;
	const struct slub_hp_trans *before;
};

static const struct slub_hp_trans slub_hp_first_movable = {
	.on = "none->movable", .off = "movable->none", .kind = SLUB_HP_MEMLESS_NODE,
	.names_nid = true, .post_memory = true,
};

static const struct slub_hp_trans slub_hp_first_normal = {
	.on = "none->normal", .off = "normal->none", .kind = SLUB_HP_MEMLESS_NODE,
	.names_nid = true, .names_normal = true,
	.post_memory = true, .post_normal = true,
};

/*
 * The same for a memoryless node with CPUs: on node notifier trees its
 * caches have barns from boot, but no per-node structure.
 */
static const struct slub_hp_trans slub_hp_cpu_first_normal = {
	.on = "none->normal (node with CPUs)", .off = "normal->none (node with CPUs)",
	.kind = SLUB_HP_CPU_NODE, .names_nid = true, .names_normal = true,
	.post_memory = true, .post_normal = true,
};

/* The same for a node that is not even online. */
static const struct slub_hp_trans slub_hp_offline_first_normal = {
	.on = "none->normal (offline node)", .off = "normal->none (offline node)",
	.kind = SLUB_HP_OFFLINE_NODE, .names_nid = true, .names_normal = true,
	.post_memory = true, .post_normal = true,
};

/* The order in which the hotplug core sends the actions of one direction. */
static const enum slub_hp_role slub_hp_normal_seq[] = {
	SLUB_HP_PREPARE, SLUB_HP_GOING, SLUB_HP_STATES, SLUB_HP_DONE, SLUB_HP_FINISH,
};

/* ... and when a notifier vetoes the going-online or going-offline. */
static const enum slub_hp_role slub_hp_cancel_seq[] = {
	SLUB_HP_PREPARE, SLUB_HP_GOING, SLUB_HP_CANCEL,
};

static const char *const slub_hp_policy_names[] = {
	[SLUB_HP_POLICY_NORMAL] = "normal",
	[SLUB_HP_POLICY_MEMORY] = "memory",
};

enum slub_hp_fault_target {
	SLUB_HP_FAIL_NONE,
	SLUB_HP_FAIL_NODE,	/* the k-th kmem_cache_node allocation */
	SLUB_HP_FAIL_BARN,	/* the k-th barn allocation (kmalloc) */
};

/**
 * struct slub_hp_run - the run's policy and the nodes it works on
 * @policy: the policy the cases expect
 * @normal_nid: has normal memory and CPUs, tracked; the cases run there
 * @other_nid: a second node with normal memory
 * @memless_nid: possible, no memory, untracked, no structures
 * @cpu_nid: online, CPUs, no memory, untracked, no structures
 * @offline_nid: possible but not online
 * @node_owner: the cache per-node structures are slab objects of, or NULL
 * @barn_owner: the cache barns are slab objects of, or NULL
 * @boot_foreign: nodes without normal memory whose @node_owner structure
 *	holds, from boot, a slab of another node (see slub_hp_suite_init())
 *
 * Chosen by slub_hp_suite_init(); NUMA_NO_NODE where the machine has no
 * such node, and cases that need one skip.
 */
struct slub_hp_run {
	enum slub_hp_policy policy;
	int normal_nid;
	int other_nid;
	int memless_nid;
	int cpu_nid;
	int offline_nid;
	struct kmem_cache *node_owner;
	struct kmem_cache *barn_owner;
	nodemask_t boot_foreign;
};

extern struct slub_hp_run slub_hp;

/*
 * How the one kind of check that depends on the policy begins its message:
 * tools/slub-kunit validate calls a case whose only failures are such
 * checks a policy change (results.POLICY_MARK there).
 */
#define SLUB_HP_POLICY_MARK	"policy: "

/* ---------------------------------------------------------------------- */
/* What differs between trees                                             */
/* ---------------------------------------------------------------------- */

/*
 * Two things differ, each decided from what the tree defines, not from its
 * version:
 *
 *   the notifier   memory notifier: struct memory_notify, MEM_* actions
 *                  (up to 6.16); node notifier: struct node_notify,
 *                  NODE_* actions (6.17 on)
 *   the layout     s->node[] and an allocation slow path that ignores an
 *                  untracked node (up to 6.18); s->per_node[] with barns
 *                  for caches with sheaves (7.x)
 *
 * A tree may also lack a static name the tests read: a patch under test can
 * drop slab_nodes and take new caches' nodes from node_states[] instead, or
 * give the callback another name. The SLUB_HP_HAVE_* switches say what the
 * tree has, and SLUB_HP_CALLBACK names the function the slab registers on
 * the hotplug notifier (tools/slub-kunit writes them into slub_kunit_tree.h
 * from the tree it builds); without them the tree is taken to be as
 * released.
 */
#if __has_include("slub_kunit_tree.h")
#include "slub_kunit_tree.h"
#else
#define SLUB_HP_HAVE_SLAB_NODES		1
#define SLUB_HP_HAVE_SLAB_BARN_NODES	1
#ifdef NODE_ADDING_FIRST_MEMORY
#define SLUB_HP_NODE_NOTIFIER		1
#define SLUB_HP_HAVE_BARNS		1
#else
#define SLUB_HP_NODE_NOTIFIER		0
#define SLUB_HP_HAVE_BARNS		0
#endif
#define SLUB_HP_CALLBACK		slab_memory_callback
#endif

/*
 * Whether the tracking masks can be read with slab_mutex held: where the
 * tree lacks one, reading it means creating a cache, which takes the mutex.
 */
#define SLUB_HP_MASKS_READABLE_LOCKED \
	(SLUB_HP_HAVE_SLAB_NODES && (!SLUB_HP_HAVE_BARNS || SLUB_HP_HAVE_SLAB_BARN_NODES))

/* The notifier the slab listens on */

#if SLUB_HP_NODE_NOTIFIER

#define SLUB_HP_GENERATION	"node notifier"
#define SLUB_HP_DEFAULT_POLICY	SLUB_HP_POLICY_MEMORY
/* The event names only the node, not which kind of memory it gains. */
#define SLUB_HP_NAMES_NORMAL	false

static const struct slub_hp_action slub_hp_actions[2][SLUB_HP_END] = {
	[SLUB_HP_ON] = {
		[SLUB_HP_GOING] = SLUB_HP_ACTION(NODE_ADDING_FIRST_MEMORY),
		[SLUB_HP_DONE] = SLUB_HP_ACTION(NODE_ADDED_FIRST_MEMORY),
		[SLUB_HP_CANCEL] = SLUB_HP_ACTION(NODE_CANCEL_ADDING_FIRST_MEMORY),
	},
	[SLUB_HP_OFF] = {
		[SLUB_HP_GOING] = SLUB_HP_ACTION(NODE_REMOVING_LAST_MEMORY),
		[SLUB_HP_DONE] = SLUB_HP_ACTION(NODE_REMOVED_LAST_MEMORY),
		[SLUB_HP_CANCEL] = SLUB_HP_ACTION(NODE_CANCEL_REMOVING_LAST_MEMORY),
	},
};

/* A node's memory comes and goes as a whole: no normal->movable event. */
static const struct slub_hp_trans slub_hp_again_normal = {
	.on = "none->normal->none->normal", .off = "normal->none->normal->none",
	.kind = SLUB_HP_MEMLESS_NODE, .names_nid = true, .names_normal = true,
	.post_memory = true, .post_normal = true, .cycle = true,
};

/* A boot node with CPUs loses all its memory (mocked), and gets it back. */
static const struct slub_hp_trans slub_hp_boot_loss = {
	.on = "none->normal (boot node)", .off = "normal->none (boot node)",
	.kind = SLUB_HP_BOOT_NODE, .starts_online = true,
	.names_nid = true, .names_normal = true,
	.post_memory = true, .post_normal = true,
};

/* The same for node 0, the node an id of 0 must not be mistaken for none. */
static const struct slub_hp_trans slub_hp_first_node_loss = {
	.on = "none->normal (first node)", .off = "normal->none (first node)",
	.kind = SLUB_HP_BOOT_NODE, .starts_online = true, .first_node = true,
	.names_nid = true, .names_normal = true,
	.post_memory = true, .post_normal = true,
};

static const struct slub_hp_trans *const slub_hp_transitions[] = {
	&slub_hp_first_normal, &slub_hp_first_movable, &slub_hp_again_normal,
	&slub_hp_offline_first_normal, &slub_hp_boot_loss, &slub_hp_cpu_first_normal,
	&slub_hp_first_node_loss,
};

/* The node notifier's events name the node only, not the memory block. */
static inline int slub_hp_call(unsigned long action, int nid, int nid_normal,
			       unsigned long start_pfn, unsigned long nr_pages)
{
	struct node_notify arg = { .nid = nid };

	return SLUB_HP_CALLBACK(NULL, action, &arg);
}

static inline int slub_hp_register_notifier(struct notifier_block *nb)
{
	return register_node_notifier(nb);
}

static inline void slub_hp_unregister_notifier(struct notifier_block *nb)
{
	unregister_node_notifier(nb);
}

#else /* !SLUB_HP_NODE_NOTIFIER */

#define SLUB_HP_GENERATION	"memory notifier"
#define SLUB_HP_DEFAULT_POLICY	SLUB_HP_POLICY_NORMAL
/* status_change_nid_normal says when a node gains or loses normal memory. */
#define SLUB_HP_NAMES_NORMAL	true

static const struct slub_hp_action slub_hp_actions[2][SLUB_HP_END] = {
	[SLUB_HP_ON] = {
		[SLUB_HP_PREPARE] = SLUB_HP_ACTION(MEM_PREPARE_ONLINE),
		[SLUB_HP_GOING] = SLUB_HP_ACTION(MEM_GOING_ONLINE),
		[SLUB_HP_DONE] = SLUB_HP_ACTION(MEM_ONLINE),
		[SLUB_HP_CANCEL] = SLUB_HP_ACTION(MEM_CANCEL_ONLINE),
	},
	[SLUB_HP_OFF] = {
		[SLUB_HP_GOING] = SLUB_HP_ACTION(MEM_GOING_OFFLINE),
		[SLUB_HP_DONE] = SLUB_HP_ACTION(MEM_OFFLINE),
		[SLUB_HP_CANCEL] = SLUB_HP_ACTION(MEM_CANCEL_OFFLINE),
		[SLUB_HP_FINISH] = SLUB_HP_ACTION(MEM_FINISH_OFFLINE),
	},
};

/* Every memory block sends events: also when the node's kind changes. */
static const struct slub_hp_trans slub_hp_normal_on_movable = {
	.on = "movable->normal", .off = "normal->movable", .kind = SLUB_HP_MEMLESS_NODE,
	.names_normal = true,
	.pre_memory = true, .post_memory = true, .post_normal = true,
	.prelude = &slub_hp_first_movable,
};

/*
 * A node that had normal memory, lost it (and its tracking, under policy
 * normal, not its caches' structures), then gains and loses movable memory.
 */
static const struct slub_hp_trans slub_hp_movable_after_normal = {
	.on = "none->movable (after normal)", .off = "movable->none (after normal)",
	.kind = SLUB_HP_MEMLESS_NODE, .names_nid = true, .post_memory = true,
	.before = &slub_hp_first_normal,
};

static const struct slub_hp_trans slub_hp_no_change = {
	.on = "normal->normal", .off = "normal->normal", .kind = SLUB_HP_BOOT_NODE,
	.pre_memory = true, .pre_normal = true,
	.post_memory = true, .post_normal = true,
};

/* A boot node with CPUs loses its normal memory (mocked), and gets it back. */
static const struct slub_hp_trans slub_hp_boot_loss = {
	.on = "movable->normal (boot node)", .off = "normal->movable (boot node)",
	.kind = SLUB_HP_BOOT_NODE, .starts_online = true, .names_normal = true,
	.pre_memory = true, .post_memory = true, .post_normal = true,
};

/* The same for node 0, the node an id of 0 must not be mistaken for none. */
static const struct slub_hp_trans slub_hp_first_node_loss = {
	.on = "movable->normal (first node)", .off = "normal->movable (first node)",
	.kind = SLUB_HP_BOOT_NODE, .starts_online = true, .first_node = true,
	.names_normal = true, .pre_memory = true, .post_memory = true, .post_normal = true,
};

static const struct slub_hp_trans *const slub_hp_transitions[] = {
	&slub_hp_first_normal, &slub_hp_first_movable,
	&slub_hp_normal_on_movable, &slub_hp_movable_after_normal, &slub_hp_no_change,
	&slub_hp_offline_first_normal, &slub_hp_boot_loss, &slub_hp_cpu_first_normal,
	&slub_hp_first_node_loss,
};

/* Every event of the memory notifier carries the block's range. */
static inline int slub_hp_call(unsigned long action, int nid, int nid_normal,
			       unsigned long start_pfn, unsigned long nr_pages)
{
	struct memory_notify arg = {
		.start_pfn = start_pfn,
		.nr_pages = nr_pages,
		.status_change_nid = nid,
		.status_change_nid_normal = nid_normal,
	};

	return SLUB_HP_CALLBACK(NULL, action, &arg);
}

static inline int slub_hp_register_notifier(struct notifier_block *nb)
{
	return register_memory_notifier(nb);
}

static inline void slub_hp_unregister_notifier(struct notifier_block *nb)
{
	unregister_memory_notifier(nb);
}

#endif /* SLUB_HP_NODE_NOTIFIER */

/*
 * A parameter generator, whose signature KUnit changed (a struct kunit came
 * first, from the release that added KUNIT_CASE_PARAM_WITH_INIT()).
 */
#ifdef KUNIT_CASE_PARAM_WITH_INIT
#define SLUB_HP_GEN_PARAMS(name) \
	const void *(name)(struct kunit *test, const void *prev, char *desc)
#else
#define SLUB_HP_GEN_PARAMS(name) const void *(name)(const void *prev, char *desc)
#endif

/* The direction @act belongs to, and where it stands in its sequence. */
static inline enum slub_hp_dir slub_hp_dir(const struct slub_hp_action *act)
{
	return (act - &slub_hp_actions[0][0]) / SLUB_HP_END;
}

static inline enum slub_hp_role slub_hp_role(const struct slub_hp_action *act)
{
	return (act - &slub_hp_actions[0][0]) % SLUB_HP_END;
}

/* The action of @dir in place @role, or NULL where the generation has none. */
static inline const struct slub_hp_action *slub_hp_action(enum slub_hp_dir dir,
							  enum slub_hp_role role)
{
	const struct slub_hp_action *act = &slub_hp_actions[dir][role];

	return act->name ? act : NULL;
}

/* The going-online every generation has, which most cases start with. */
static const struct slub_hp_action *const slub_hp_going_online =
	&slub_hp_actions[SLUB_HP_ON][SLUB_HP_GOING];

/* The layout */

#if SLUB_HP_HAVE_BARNS

/* Caches with sheaves have a barn per node. */
#define SLUB_HP_HAS_BARNS	true
/*
 * The allocation slow path keeps the node it is asked for, tracked or not:
 * __GFP_THISNODE on a node that cannot supply fails.
 */
#define SLUB_HP_DROPS_UNTRACKED	false

static inline struct kmem_cache_node **slub_hp_node_slot(struct kmem_cache *s, int nid)
{
	return &s->per_node[nid].node;
}

static inline void *slub_hp_barn(struct kmem_cache *s, int nid)
{
	return get_barn_node(s, nid);
}

static inline bool slub_hp_wants_barn(struct kmem_cache *s)
{
	return cache_has_sheaves(s);
}

/*
 * Nodes that must have a barn whenever nothing is being hotplugged: every
 * node with a CPU, memoryless ones too (the 7.1 fix for sheaves there).
 */
static inline nodemask_t slub_hp_barn_boot_mask(void)
{
	return node_states[N_CPU];
}

/* Caches keep no CPU partial lists of slabs: CPU sheaves instead. */
static inline bool slub_hp_has_cpu_partial(struct kmem_cache *s)
{
	return false;
}

#else /* !SLUB_HP_HAVE_BARNS */

#define SLUB_HP_HAS_BARNS	false
/*
 * The allocation slow path ignores a node that is not tracked, even with
 * __GFP_THISNODE, and allocates as if NUMA_NO_NODE had been passed.
 */
#define SLUB_HP_DROPS_UNTRACKED	true

static inline struct kmem_cache_node **slub_hp_node_slot(struct kmem_cache *s, int nid)
{
	return &s->node[nid];
}

static inline void *slub_hp_barn(struct kmem_cache *s, int nid)
{
	return NULL;
}

static inline bool slub_hp_wants_barn(struct kmem_cache *s)
{
	return false;
}

static inline nodemask_t slub_hp_barn_boot_mask(void)
{
	return NODE_MASK_NONE;
}

/*
 * Whether @s's CPU partial list can hold slabs of two nodes at once: it
 * holds cpu_partial_slabs slabs, which SLUB sizes from the objects a slab
 * has (one, with 64 KiB pages, for small objects).
 */
static inline bool slub_hp_has_cpu_partial(struct kmem_cache *s)
{
#ifdef CONFIG_SLUB_CPU_PARTIAL
	return kmem_cache_has_cpu_partial(s) && s->cpu_partial_slabs >= 2;
#else
	return false;
#endif
}

#endif /* SLUB_HP_HAVE_BARNS */

/* The tracking masks: slab_nodes, and slab_barn_nodes where caches have barns */

#if !SLUB_HP_HAVE_SLAB_NODES || !SLUB_HP_HAVE_SLAB_BARN_NODES
bool slub_hp_probe(int nid, bool barn);
#endif

#if SLUB_HP_HAVE_SLAB_NODES
static inline bool slub_hp_tracked(int nid)
{
	return node_isset(nid, slab_nodes);
}

/* The same, read with slab_mutex held, as a cache creation reads it. */
static inline bool slub_hp_tracked_locked(int nid)
{
	lockdep_assert_held(&slab_mutex);
	return node_isset(nid, slab_nodes);
}
#else
/* Without slab_nodes, a node is tracked if a new cache gets it. */
static inline bool slub_hp_tracked(int nid)
{
	return slub_hp_probe(nid, false);
}

/* There is no mask to read with slab_mutex held. */
static inline bool slub_hp_tracked_locked(int nid)
{
	return false;
}
#endif

#if SLUB_HP_HAVE_BARNS
#if SLUB_HP_HAVE_SLAB_BARN_NODES
static inline bool slub_hp_barn_tracked(int nid)
{
	return node_isset(nid, slab_barn_nodes);
}
#else
static inline bool slub_hp_barn_tracked(int nid)
{
	return slub_hp_probe(nid, true);
}
#endif
#else
static inline bool slub_hp_barn_tracked(int nid)
{
	return false;
}
#endif

/*
 * The helpers the cases share, defined in slub_kunit_helpers.c under the
 * same headings.
 */

/* The model, and the run it is held to */
bool slub_hp_model(const struct slub_hp_action *act, const struct slub_hp_trans *t, bool tracked);

/* ---------------------------------------------------------------------- */
/* Per-case state and fault injection                                     */
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
 * @taken: the first page frames of the memory blocks handed out to the case
 * @nr_taken: number of entries in @taken
 */
struct slub_hp_ctx {
	struct kunit *test;
	const struct slub_hp_snap *start;
	struct mm_kunit_slab_watch node_watch;
	struct mm_kunit_slab_watch barn_watch;
	bool watching;
	nodemask_t guarded;
	unsigned long taken[4];
	unsigned int nr_taken;
};

bool slub_hp_is_node_cache(const struct kmem_cache *s, void *data);
bool slub_hp_mutex_waited(struct mutex *lock);
void slub_hp_need_event(struct kunit *test, unsigned long action);
void slub_hp_add_watch(struct kunit *test, struct mm_kunit_slab_watch *watch);
void slub_hp_watch_allocs(struct kunit *test, enum slub_hp_fault_target fail, unsigned int fail_at);
void slub_hp_thread_stop(void *task);

/* ---------------------------------------------------------------------- */
/* Tracking, and guarding a node's slab state                             */
/* ---------------------------------------------------------------------- */

bool slub_hp_supplies(int nid);
nodemask_t slub_hp_tracked_mask(void);
nodemask_t slub_hp_barn_tracked_mask(void);
unsigned int slub_hp_nr_caches(void);
unsigned long slub_hp_nr_slabs(struct kmem_cache *s);
void slub_hp_guard_node(struct kunit *test, int nid);
void slub_hp_set_states(struct kunit *test, int nid, bool memory, bool normal);

/**
 * struct slub_hp_block - the memory block a synthetic event is about
 * @nid: its node
 * @start_pfn: its first page frame, as the memory notifier's events carry it
 * @nr_pages: its size in pages
 * @spare: an offline block, which the case moves into a zone and counts as
 *	present where online_pages() and offline_pages() do; else an online
 *	block of a boot node, which stays as it is
 * @zone: the zone @spare is in, NULL while it is in none
 * @present: @spare is counted in its zone's present pages
 *
 * The hotplug core sends events only about a block of an online node, whose
 * range lies in one zone of that node, with node_states[] following the
 * zones: a case brings the block to the state the core would have it in
 * when it sends each event.
 */
struct slub_hp_block {
	int nid;
	unsigned long start_pfn;
	unsigned long nr_pages;
	bool spare;
	struct zone *zone;
	bool present;
};

struct slub_hp_block *slub_hp_block(struct kunit *test, int nid, bool spare);
void slub_hp_frame_last_block(struct kunit *test, const struct slub_hp_block *b,
			      bool movable);
int slub_hp_notify(struct kunit *test, unsigned long action, int nid, int nid_normal,
		   const struct slub_hp_block *b);

/* ---------------------------------------------------------------------- */
/* Snapshots and invariant checks                                         */
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

const struct slub_hp_snap *slub_hp_snapshot(struct kunit *test);
void slub_hp_expect_kept(struct kunit *test, const struct slub_hp_snap *before, bool exact,
			 const char *when);
bool slub_hp_node_pristine(struct kmem_cache_node *n);
void slub_hp_expect_coverage(struct kunit *test, const char *when);
void slub_hp_count(int nid, unsigned int *nodes, unsigned int *barns, unsigned int *caches);
unsigned int slub_hp_pick(unsigned int where, unsigned int n);
void slub_hp_destroy_cache(void *s);
struct kmem_cache *slub_hp_create_cache(struct kunit *test, const char *name, unsigned int size,
					slab_flags_t flags);
void slub_hp_expect_new_cache_nodes(struct kunit *test, const char *when);

/* ---------------------------------------------------------------------- */
/* Walking the hotplug core's sequences                                   */
/* ---------------------------------------------------------------------- */

struct slub_hp_hidden;

/**
 * struct slub_hp_world - the node under test and what the model expects
 * @nid: the node whose memory changes
 * @tracked: whether the model expects @nid to be tracked
 * @barn_tracked: whether the model expects @nid in slab_barn_nodes: set by
 *	the first successful going-online on trees with barns, never cleared
 * @trans: the transition the world was made for
 * @blk: the block its events are about
 * @pre_blk: the block the events of @trans's prelude are about
 * @hidden: the present pages of a boot node whose loss of memory is mocked
 */
struct slub_hp_world {
	int nid;
	bool tracked;
	bool barn_tracked;
	const struct slub_hp_trans *trans;
	struct slub_hp_block *blk;
	struct slub_hp_block *pre_blk;
	struct slub_hp_hidden *hidden;
};

/**
 * struct slub_hp_sender - one notifier event sent from a thread of its own
 * @task: the sending thread
 * @action: MEM_* or NODE_* action
 * @nid: node argument, as for slub_hp_notify()
 * @nid_normal: normal-memory node argument (memory notifier only)
 * @blk: the block the event is about
 * @ret: the callback's return value
 * @done: completed once the callback has returned
 */
struct slub_hp_sender {
	struct task_struct *task;
	unsigned long action;
	int nid;
	int nid_normal;
	const struct slub_hp_block *blk;
	int ret;
	struct completion done;
};

void slub_hp_advance(struct slub_hp_world *w, const struct slub_hp_action *act,
		     const struct slub_hp_trans *t, int ret);
int slub_hp_step(struct kunit *test, struct slub_hp_world *w, const struct slub_hp_action *act,
		 const struct slub_hp_trans *t);
struct slub_hp_sender *slub_hp_sender(struct kunit *test, const struct slub_hp_world *w,
				      const struct slub_hp_action *act,
				      const struct slub_hp_trans *t);
bool slub_hp_sender_settled(struct slub_hp_sender *snd);
void slub_hp_expect_model(struct kunit *test, const struct slub_hp_world *w, const char *when);
void slub_hp_walk(struct kunit *test, struct slub_hp_world *w, const struct slub_hp_trans *t,
		  enum slub_hp_dir dir, bool cancel, enum slub_hp_role stop);
void slub_hp_model_walk(struct slub_hp_world *w, const struct slub_hp_trans *t,
			enum slub_hp_dir dir, bool cancel);
void slub_hp_lead_up(struct kunit *test, struct slub_hp_world *w, const struct slub_hp_trans *t,
		     const struct slub_hp_action *act);
int slub_hp_memless(struct kunit *test);
int slub_hp_cpu_node(struct kunit *test);
int slub_hp_offline(struct kunit *test);
struct slub_hp_world slub_hp_world(struct kunit *test, const struct slub_hp_trans *t);

/* ---------------------------------------------------------------------- */
/* The allocation slow path                                               */
/* ---------------------------------------------------------------------- */

/* Which allocations slub_hp_expect_alloc() makes, and from which cache. */
#define SLUB_HP_ALLOC_PLAIN	BIT(0)
#define SLUB_HP_ALLOC_THISNODE	BIT(1)
#define SLUB_HP_ALLOC_BOTH	(SLUB_HP_ALLOC_PLAIN | SLUB_HP_ALLOC_THISNODE)
#define SLUB_HP_ALLOC_DEBUG	BIT(2)	/* a cache with SLUB_HP_DEBUG_FLAGS */

/* The debug flags of the tests' debug caches (no sheaves on 7.x). */
#define SLUB_HP_DEBUG_FLAGS	(SLAB_RED_ZONE | SLAB_POISON | SLAB_STORE_USER)

void slub_hp_expect_alloc_in(struct kunit *test, struct kmem_cache *s, int nid, unsigned int flags,
			     const char *when);
void slub_hp_expect_alloc(struct kunit *test, int nid, unsigned int flags, const char *when);

/* ---------------------------------------------------------------------- */
/* Suite and case set-up                                                  */
/* ---------------------------------------------------------------------- */

int slub_hp_case_init(struct kunit *test);
int slub_hp_suite_init(struct kunit_suite *suite);

#endif /* _MM_SLUB_KUNIT_HELPERS_H */
