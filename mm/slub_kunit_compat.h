/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What differs between the trees the SLUB NUMA hotplug tests are built
 * for, and nothing else. Two things differ, each decided from what the tree
 * defines, not from its version:
 *
 *   the notifier   memory notifier: struct memory_notify, MEM_* actions
 *                  (up to 6.16); node notifier: struct node_notify,
 *                  NODE_* actions (6.17 on)
 *   the layout     s->node[] and an allocation slow path that ignores an
 *                  untracked node (up to 6.18); s->per_node[] with barns
 *                  for caches with sheaves (7.x)
 *
 * Included by slub_kunit_model.h after the model's types.
 *
 * A tree may also lack a static name the tests read: a patch under test can
 * drop slab_nodes and take new caches' nodes from node_states[] instead, or
 * give the callback another name. The SLUB_HP_HAVE_* switches say what the
 * tree has, and SLUB_HP_CALLBACK names the function the slab registers on
 * the hotplug notifier (tools/slub-kunit writes them into slub_kunit_tree.h
 * from the tree it builds); without them the tree is taken to be as
 * released.
 */
#ifndef _MM_SLUB_KUNIT_COMPAT_H
#define _MM_SLUB_KUNIT_COMPAT_H

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

#if !SLUB_HP_HAVE_SLAB_NODES || !SLUB_HP_HAVE_SLAB_BARN_NODES
static void *slub_hp_barn(struct kmem_cache *s, int nid);

/*
 * Where the tree has no tracking mask: whether a cache created now gets a
 * per-node structure (or, with @barn, a barn) for @nid. Not under slab_mutex.
 */
static bool __maybe_unused slub_hp_probe(int nid, bool barn)
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

/* The notifier the slab listens on */

#if SLUB_HP_NODE_NOTIFIER

#define SLUB_HP_GENERATION	"node notifier"
#define SLUB_HP_DEFAULT_POLICY	SLUB_HP_POLICY_MEMORY
/* The event names only the node, not which kind of memory it gains. */
#define SLUB_HP_NAMES_NORMAL	false

static const struct slub_hp_action slub_hp_actions[] = {
	SLUB_HP_ACTION(NODE_ADDING_FIRST_MEMORY, SLUB_HP_ON, SLUB_HP_GOING),
	SLUB_HP_ACTION(NODE_ADDED_FIRST_MEMORY, SLUB_HP_ON, SLUB_HP_DONE),
	SLUB_HP_ACTION(NODE_CANCEL_ADDING_FIRST_MEMORY, SLUB_HP_ON, SLUB_HP_CANCEL),
	SLUB_HP_ACTION(NODE_REMOVING_LAST_MEMORY, SLUB_HP_OFF, SLUB_HP_GOING),
	SLUB_HP_ACTION(NODE_REMOVED_LAST_MEMORY, SLUB_HP_OFF, SLUB_HP_DONE),
	SLUB_HP_ACTION(NODE_CANCEL_REMOVING_LAST_MEMORY, SLUB_HP_OFF, SLUB_HP_CANCEL),
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

static inline int slub_hp_call(unsigned long action, int nid, int nid_normal)
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

static const struct slub_hp_action slub_hp_actions[] = {
	SLUB_HP_ACTION(MEM_PREPARE_ONLINE, SLUB_HP_ON, SLUB_HP_PREPARE),
	SLUB_HP_ACTION(MEM_GOING_ONLINE, SLUB_HP_ON, SLUB_HP_GOING),
	SLUB_HP_ACTION(MEM_ONLINE, SLUB_HP_ON, SLUB_HP_DONE),
	SLUB_HP_ACTION(MEM_CANCEL_ONLINE, SLUB_HP_ON, SLUB_HP_CANCEL),
	SLUB_HP_ACTION(MEM_GOING_OFFLINE, SLUB_HP_OFF, SLUB_HP_GOING),
	SLUB_HP_ACTION(MEM_OFFLINE, SLUB_HP_OFF, SLUB_HP_DONE),
	SLUB_HP_ACTION(MEM_CANCEL_OFFLINE, SLUB_HP_OFF, SLUB_HP_CANCEL),
	SLUB_HP_ACTION(MEM_FINISH_OFFLINE, SLUB_HP_OFF, SLUB_HP_FINISH),
};

/* Every memory block sends events: also when the node's kind changes. */
static const struct slub_hp_trans slub_hp_normal_on_movable = {
	.on = "movable->normal", .off = "normal->movable", .kind = SLUB_HP_MEMLESS_NODE,
	.names_normal = true,
	.pre_memory = true, .post_memory = true, .post_normal = true,
	.prelude = &slub_hp_first_movable,
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
	&slub_hp_normal_on_movable, &slub_hp_no_change,
	&slub_hp_offline_first_normal, &slub_hp_boot_loss, &slub_hp_cpu_first_normal,
	&slub_hp_first_node_loss,
};

static inline int slub_hp_call(unsigned long action, int nid, int nid_normal)
{
	struct memory_notify arg = {
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

static void *slub_hp_barn(struct kmem_cache *s, int nid)
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

/* A barn that holds nothing, as barn_init() leaves it; read only. */
static inline bool slub_hp_barn_pristine(void *p)
{
	struct node_barn *barn = p;

	unsigned long flags;

	if (barn->nr_full || barn->nr_empty || barn->sheaves_full.next != &barn->sheaves_full ||
	    barn->sheaves_empty.next != &barn->sheaves_empty ||
	    !spin_trylock_irqsave(&barn->lock, flags))
		return false;
	spin_unlock_irqrestore(&barn->lock, flags);
	return true;
}

/* Frees @s's barn for @nid unless it holds sheaves; false if it does. */
static inline bool slub_hp_free_idle_barn(struct kmem_cache *s, int nid)
{
	struct node_barn *barn = s->per_node[nid].barn;

	if (barn && (barn->nr_full || barn->nr_empty))
		return false;
	s->per_node[nid].barn = NULL;
	kfree(barn);
	return true;
}

/* Whether @s is the kmalloc cache barns come from. */
static inline bool slub_hp_is_barn_cache(const struct kmem_cache *s)
{
	return (s->flags & SLAB_KMALLOC) &&
	       s->object_size == kmalloc_size_roundup(sizeof(struct node_barn));
}

#if SLUB_HP_HAVE_SLAB_BARN_NODES
static inline bool slub_hp_barn_tracked(int nid)
{
	return node_isset(nid, slab_barn_nodes);
}

/* Caller holds slab_mutex. */
static inline void slub_hp_set_barn_tracked(int nid, bool on)
{
	if (on)
		node_set(nid, slab_barn_nodes);
	else
		node_clear(nid, slab_barn_nodes);
}
#else
static inline bool slub_hp_barn_tracked(int nid)
{
	return slub_hp_probe(nid, true);
}

static inline void slub_hp_set_barn_tracked(int nid, bool on)
{
}
#endif

/* Caches keep no CPU partial lists of slabs: CPU sheaves instead. */
static inline bool slub_hp_has_cpu_partial(struct kmem_cache *s)
{
	return false;
}

static inline nodemask_t slub_hp_cpu_partial_nodes(struct kmem_cache *s)
{
	return NODE_MASK_NONE;
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

static void *slub_hp_barn(struct kmem_cache *s, int nid)
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

static inline bool slub_hp_barn_pristine(void *barn)
{
	return true;
}

static inline bool slub_hp_free_idle_barn(struct kmem_cache *s, int nid)
{
	return true;
}

static inline bool slub_hp_is_barn_cache(const struct kmem_cache *s)
{
	return false;
}

static inline bool slub_hp_barn_tracked(int nid)
{
	return false;
}

static inline void slub_hp_set_barn_tracked(int nid, bool on)
{
}

static inline bool slub_hp_has_cpu_partial(struct kmem_cache *s)
{
	return kmem_cache_has_cpu_partial(s);
}

/* Nodes of the slabs on this CPU's partial list; migration disabled. */
static nodemask_t slub_hp_cpu_partial_nodes(struct kmem_cache *s)
{
	nodemask_t nodes = NODE_MASK_NONE;
#ifdef CONFIG_SLUB_CPU_PARTIAL
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

#endif /* SLUB_HP_HAVE_BARNS */

/* The k-th per-node structure fails, or, where caches have them, the k-th barn. */
static const struct slub_hp_fault_param slub_hp_fault_params[] = {
	{ "kmem_cache_node fails at first cache", SLUB_HP_FAIL_NODE, 0 },
	{ "kmem_cache_node fails at middle cache", SLUB_HP_FAIL_NODE, 1 },
	{ "kmem_cache_node fails at last cache", SLUB_HP_FAIL_NODE, 2 },
#if SLUB_HP_HAVE_BARNS
	{ "barn fails at first cache with sheaves", SLUB_HP_FAIL_BARN, 0 },
	{ "barn fails at middle cache with sheaves", SLUB_HP_FAIL_BARN, 1 },
	{ "barn fails at last cache with sheaves", SLUB_HP_FAIL_BARN, 2 },
#endif
};

/* kmem_cache_create() fails at a per-node structure, or at a barn. */
static const struct slub_hp_create_param slub_hp_create_params[] = {
	{ "kmem_cache_node fails at first node", SLUB_HP_FAIL_NODE, false, SLUB_HP_UNTRACKED },
	{ "kmem_cache_node fails at last node", SLUB_HP_FAIL_NODE, true, SLUB_HP_UNTRACKED },
	{ "kmem_cache_node fails at new node in window", SLUB_HP_FAIL_NODE, true,
	  SLUB_HP_IN_WINDOW },
	{ "kmem_cache_node fails at new node once tracked", SLUB_HP_FAIL_NODE, true,
	  SLUB_HP_TRACKED },
#if SLUB_HP_HAVE_BARNS
	{ "barn fails at first node", SLUB_HP_FAIL_BARN, false, SLUB_HP_UNTRACKED },
	{ "barn fails at last node", SLUB_HP_FAIL_BARN, true, SLUB_HP_UNTRACKED },
	{ "barn fails at new node in window", SLUB_HP_FAIL_BARN, true, SLUB_HP_IN_WINDOW },
#endif
};

#if SLUB_HP_HAVE_SLAB_NODES
static inline bool slub_hp_tracked(int nid)
{
	return node_isset(nid, slab_nodes);
}

/* Caller holds slab_mutex. */
static inline void slub_hp_set_tracked(int nid, bool on)
{
	if (on)
		node_set(nid, slab_nodes);
	else
		node_clear(nid, slab_nodes);
}

/*
 * Whether @nid is tracked, read with slab_mutex held, as a cache creation
 * reads it; false where the tree has no mask to read.
 */
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

static inline void slub_hp_set_tracked(int nid, bool on)
{
}

static inline bool slub_hp_tracked_locked(int nid)
{
	return false;
}
#endif

#endif /* _MM_SLUB_KUNIT_COMPAT_H */
