// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for SLUB's handling of NUMA nodes that gain and lose memory,
 * through synthetic notifier events.
 *
 * Part of mm/slub.c (included at its end, after slub_kunit_helpers.c), so
 * that the cases can drive the slab's hotplug callback and read slab_nodes,
 * get_node() and kmem_cache_node directly. They compile against both
 * generations of the hotplug notifier; what differs is in
 * slub_kunit_helpers.h.
 *
 * The suite slub_hotplug delivers synthetic notifier events, every action
 * crossed with every transition of a node's memory, on mocked node_states[],
 * and checks the invariants of SLUB's node handling:
 *
 *   I1 coverage           every cache has a structure for every tracked node
 *   I2 stability          structures are never freed or replaced while their
 *                         cache lives; onlining again allocates nothing
 *   I3 failure atomicity  a going-online that fails leaves the node untracked
 *                         and a retry completes every cache
 *   I4 no-ops             ignored actions change nothing
 *   I5 allocation safety  kmem_cache_alloc_node() on any node id
 *   I6 shrink             going-offline leaves no empty slab behind
 *
 * Every change a case makes to global state is undone by a deferred action
 * registered right after the change, and each case ends by checking that it
 * left slab_nodes, node_states[] and every per-node structure as it found
 * them, so a case that fails midway leaves the kernel as it found it.
 */

#include <kunit/test.h>
#include <linux/kasan.h>
#include <linux/kthread.h>
#include <linux/sched.h>
#include <linux/workqueue.h>

#include "slub_kunit_helpers.h"

/* ---------------------------------------------------------------------- */
/* Events                                                                 */
/* ---------------------------------------------------------------------- */

/*
 * The parameters of the event cases: every action of the generation crossed
 * with every transition. A parameter is an element of slub_hp_event_ids,
 * whose index is (dir * SLUB_HP_END + role) * nr of transitions + transition.
 */
#define SLUB_HP_NR_TRANS	ARRAY_SIZE(slub_hp_transitions)

static const u8 slub_hp_event_ids[2 * SLUB_HP_END * SLUB_HP_NR_TRANS];

struct slub_hp_event {
	const struct slub_hp_action *act;
	const struct slub_hp_trans *trans;
};

static struct slub_hp_event slub_hp_event_of(const void *param)
{
	unsigned int i = (const u8 *)param - slub_hp_event_ids;
	unsigned int a = i / SLUB_HP_NR_TRANS;

	return (struct slub_hp_event){
		.act = &slub_hp_actions[a / SLUB_HP_END][a % SLUB_HP_END],
		.trans = slub_hp_transitions[i % SLUB_HP_NR_TRANS],
	};
}

static SLUB_HP_GEN_PARAMS(slub_hp_event_gen_params)
{
	const u8 *id = prev ? (const u8 *)prev + 1 : slub_hp_event_ids;
	struct slub_hp_event ev;

	for (; id < slub_hp_event_ids + ARRAY_SIZE(slub_hp_event_ids); id++) {
		ev = slub_hp_event_of(id);
		if (ev.act->name)
			break;
	}
	if (id == slub_hp_event_ids + ARRAY_SIZE(slub_hp_event_ids))
		return NULL;
	if (SLUB_HP_NAMES_NORMAL)
		snprintf(desc, KUNIT_PARAM_DESC_SIZE, "%s (%s,%s) %s", ev.act->name,
			 ev.trans->names_nid ? "nid" : "-1", ev.trans->names_normal ? "nid" : "-1",
			 slub_hp_dir(ev.act) == SLUB_HP_ON ? ev.trans->on : ev.trans->off);
	else
		snprintf(desc, KUNIT_PARAM_DESC_SIZE, "%s %s", ev.act->name,
			 slub_hp_dir(ev.act) == SLUB_HP_ON ? ev.trans->on : ev.trans->off);
	return id;
}

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
 *
 * Invariant: I1/I2/I4 per event.
 */
static void test_event(struct kunit *test)
{
	const struct slub_hp_event ev = slub_hp_event_of(test->param_value);
	const struct slub_hp_action *act = ev.act;
	const struct slub_hp_trans *t = ev.trans;
	struct slub_hp_world w = slub_hp_world(test, t);
	const struct slub_hp_snap *before;
	bool was_tracked, alloc_expected;
	nodemask_t others, now;

	slub_hp_lead_up(test, &w, t, act);

	before = slub_hp_snapshot(test);
	was_tracked = slub_hp_tracked(w.nid);
	others = before->tracked;
	node_clear(w.nid, others);

	KUNIT_EXPECT_EQ(test, slub_hp_step(test, &w, act, t), NOTIFY_OK);
	slub_hp_expect_model(test, &w, act->name);
	now = slub_hp_tracked_mask();
	node_clear(w.nid, now);
	KUNIT_EXPECT_TRUE_MSG(test, nodes_equal(now, others),
			      "%s changed the tracking of other nodes", act->name);
	slub_hp_expect_coverage(test, act->name);
	alloc_expected = !was_tracked && slub_hp_tracked(w.nid);
	slub_hp_expect_kept(test, before, !alloc_expected, act->name);
	slub_hp_expect_new_cache_nodes(test, act->name);
}

/*
 * I1, the window reviewers kept slab_nodes for: a cache created after the
 * going-online event succeeded, but before the hotplug core set the node's
 * node_states[], still gets a structure (and barn) for the new node.
 *
 * Invariant: I1 coverage.
 */
static void test_cache_created_in_window(struct kunit *test)
{
	struct slub_hp_world w = slub_hp_world(test, &slub_hp_first_normal);
	struct kmem_cache *s;

	KUNIT_ASSERT_EQ(test, slub_hp_step(test, &w, slub_hp_going_online, &slub_hp_first_normal),
			NOTIFY_OK);
	KUNIT_ASSERT_FALSE(test, node_state(w.nid, N_MEMORY));

	s = slub_hp_create_cache(test, "slub_hp_window", 128, 0);
	KUNIT_EXPECT_NOT_NULL_MSG(test, get_node(s, w.nid),
				  "cache created in the window lacks node %d", w.nid);
	if (slub_hp_wants_barn(s))
		KUNIT_EXPECT_NOT_NULL_MSG(test, slub_hp_barn(s, w.nid),
					  "cache created in the window lacks a barn on node %d",
					  w.nid);
	slub_hp_expect_coverage(test, "window");
}

/*
 * New caches get structures for exactly the tracked nodes, and those are the
 * policy's boot mask (N_NORMAL_MEMORY or N_MEMORY) while nothing is being
 * hotplugged. Where caches have barns, every node with a CPU, memoryless
 * ones included, has one (the 7.1 fix for sheaves on memoryless nodes).
 *
 * Invariant: I1 coverage at boot.
 */
static void test_boot_mask(struct kunit *test)
{
	nodemask_t tracked = slub_hp_tracked_mask();
	nodemask_t barn_tracked = slub_hp_barn_tracked_mask();
	nodemask_t barn_boot = slub_hp_barn_boot_mask();
	nodemask_t expected = slub_hp.policy == SLUB_HP_POLICY_MEMORY ?
			      node_states[N_MEMORY] : node_states[N_NORMAL_MEMORY];

	KUNIT_EXPECT_TRUE_MSG(test, nodes_equal(tracked, expected),
			      SLUB_HP_POLICY_MARK "tracked nodes %*pbl, policy %s expects %*pbl",
			      nodemask_pr_args(&tracked), slub_hp_policy_names[slub_hp.policy],
			      nodemask_pr_args(&expected));
	KUNIT_EXPECT_TRUE_MSG(test, nodes_subset(barn_boot, barn_tracked),
			      "nodes with barns %*pbl, expected at least %*pbl",
			      nodemask_pr_args(&barn_tracked), nodemask_pr_args(&barn_boot));
	slub_hp_expect_coverage(test, "boot");
	slub_hp_expect_new_cache_nodes(test, "boot");
}

/*
 * I2: online, offline, online again. The structures made by the first online
 * survive the offline and are the ones used after the second online, which
 * allocates nothing.
 *
 * Invariant: I2 stability.
 */
static void test_reonline_reuses(struct kunit *test)
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
	KUNIT_EXPECT_EQ_MSG(test, ctx->node_watch.seen, 0,
			    "second online allocated %u per-node structures", ctx->node_watch.seen);
	KUNIT_EXPECT_EQ_MSG(test, ctx->barn_watch.seen, 0,
			    "second online allocated %u barns", ctx->barn_watch.seen);
	slub_hp_expect_kept(test, online, true, "after second online");
}

/*
 * I2's other half: destroying a cache frees its structure for a node that
 * went offline after the cache was created, whether or not the node is still
 * tracked. The case itself sees nothing wrong when that structure is skipped;
 * kmemleak does (tools/slub-kunit run --debug).
 *
 * Invariant: I2 stability.
 */
static void test_destroy_after_offline(struct kunit *test)
{
	const struct slub_hp_trans *t = &slub_hp_first_normal;
	struct slub_hp_world w = slub_hp_world(test, t);
	struct kmem_cache *s;

	slub_hp_walk(test, &w, t, SLUB_HP_ON, false, SLUB_HP_END);
	s = slub_hp_create_cache(test, "slub_hp_doomed", 96, 0);
	KUNIT_ASSERT_NOT_NULL(test, get_node(s, w.nid));

	slub_hp_walk(test, &w, t, SLUB_HP_OFF, false, SLUB_HP_END);
	KUNIT_EXPECT_NOT_NULL_MSG(test, get_node(s, w.nid),
				  "offline freed node %d's structure of a live cache", w.nid);
	kunit_release_action(test, slub_hp_destroy_cache, s);
}

/* Objects of one cache a case keeps allocated, freed when it ends. */
struct slub_hp_kept {
	struct kmem_cache *s;
	unsigned int nr;
	void *obj[];
};

/* How many slabs hold the objects @k keeps. */
static unsigned long slub_hp_kept_slabs(const struct slub_hp_kept *k)
{
	unsigned long nr = 0;
	unsigned int i, j;

	for (i = 0; i < k->nr; i++) {
		for (j = 0; j < i; j++)
			if (virt_to_slab(k->obj[j]) == virt_to_slab(k->obj[i]))
				break;
		nr += j == i;
	}
	return nr;
}

static void slub_hp_kept_release(void *data)
{
	struct slub_hp_kept *k = data;

	while (k->nr)
		kmem_cache_free(k->s, k->obj[--k->nr]);
}

/* A cache for test_going_offline_shrinks() and what it holds. */
struct slub_hp_shrinkee {
	const char *name;
	slab_flags_t flags;
	bool live;		/* keeps one object allocated */
	bool many;		/* hundreds of slabs, kept on the partial list */
	bool mixed;		/* with many: every other slab keeps an object */
	int nid;		/* the node its slabs are on */
	struct kmem_cache *s;
	struct slub_hp_kept *kept;
	unsigned long before;	/* slabs on the node once filled */
	unsigned long holding;	/* how many of them hold the objects kept */
};

/* One CPU's share of slub_hp_shrinkee_fill(). */
struct slub_hp_fill {
	struct slub_hp_shrinkee *c;
	void **objs;
	unsigned int nr;
	bool first;		/* the first CPU: a live cache keeps an object here */
};

/* Whether the @i-th object a CPU allocated for @f->c stays allocated. */
static bool slub_hp_fill_keeps(const struct slub_hp_fill *f, unsigned int i)
{
	if (f->c->mixed)
		return i % (2 * oo_objects(f->c->s->oo)) == 0;
	return f->c->live && f->first && i == 0;
}

/*
 * Runs on one CPU: fill @data's slabs and free their objects, but those the
 * cache keeps, so that what the CPU keeps (a CPU slab, CPU partial slabs,
 * sheaves) holds slabs of the node.
 */
static long slub_hp_fill_here(void *data)
{
	struct slub_hp_fill *f = data;
	struct slub_hp_shrinkee *c = f->c;
	unsigned int i, got;

	for (got = 0; got < f->nr; got++) {
		f->objs[got] = kmem_cache_alloc_node(c->s, GFP_KERNEL | __GFP_THISNODE, c->nid);
		if (!f->objs[got])
			break;
	}
	if (got < f->nr) {
		for (i = 0; i < got; i++)
			kmem_cache_free(c->s, f->objs[i]);
		return -ENOMEM;
	}
	for (i = 0; i < got; i++) {
		if (slub_hp_fill_keeps(f, i))
			c->kept->obj[c->kept->nr++] = f->objs[i];
		else
			kmem_cache_free(c->s, f->objs[i]);
	}
	return 0;
}

/*
 * Fill eight slabs of @c on its node from every online CPU (a cache with
 * many: 256, and a min_partial, as its sysfs file can set, that keeps every
 * free slab on the node's partial list), each CPU freeing what it
 * allocated but what @c keeps: each CPU may then hold slabs of the node for
 * @c, as a busy machine's CPUs do.
 */
static void slub_hp_shrinkee_fill(struct kunit *test, struct slub_hp_shrinkee *c)
{
	unsigned int slabs = c->many ? 256 : 8;
	struct slub_hp_fill f = { .c = c, .nr = oo_objects(c->s->oo) * slabs, .first = true };
	int cpu;

	f.objs = kunit_kcalloc(test, f.nr, sizeof(*f.objs), GFP_KERNEL);
	c->kept = kunit_kzalloc(test, struct_size(c->kept, obj, slabs * num_online_cpus()),
				GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, f.objs);
	KUNIT_ASSERT_NOT_NULL(test, c->kept);
	c->kept->s = c->s;
	/* Registered after the cache's destruction: runs before it. */
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, slub_hp_kept_release, c->kept));
	if (c->many)
		c->s->min_partial = 4096;
	for_each_online_cpu(cpu) {
		KUNIT_ASSERT_EQ_MSG(test, work_on_cpu(cpu, slub_hp_fill_here, &f), 0,
				    "%s: cannot fill slabs on node %d from CPU %d",
				    c->name, c->nid, cpu);
		f.first = false;
	}
	/* Under KASAN freed objects wait in quarantine: give them back. */
	kasan_cache_shrink(c->s);
	c->before = slub_hp_nr_slabs(c->s);
	c->holding = slub_hp_kept_slabs(c->kept);
	KUNIT_ASSERT_GT_MSG(test, c->before, c->holding,
			    "%s: freed slabs already released (%lu slabs, %lu holding objects)",
			    c->name, c->before, c->holding);
	if (c->many)
		KUNIT_ASSERT_GE_MSG(test, c->before, 128, "%s: only %lu slabs on node %d",
				    c->name, c->before, c->nid);
}

/*
 * slab_nodes (and slab_barn_nodes) change only under slab_mutex, which cache
 * creation and the other readers of the masks hold: every action, of every
 * transition, sent from a thread of its own while the case holds slab_mutex,
 * changes no node's tracking until the case lets go; then it takes effect as
 * the model says. Covers the clearing on offline as well as the setting on
 * going-online. A going-offline that waited for slab_mutex still shrinks
 * (I6): where the node really has memory, free slabs left on it by a cache
 * are released once the case lets go.
 *
 * Invariant: tracking changes only under slab_mutex; I6 when contended.
 */
static void test_event_under_slab_mutex(struct kunit *test)
{
	const struct slub_hp_event ev = slub_hp_event_of(test->param_value);
	struct slub_hp_world w = slub_hp_world(test, ev.trans);
	struct slub_hp_shrinkee left = { .name = "slub_hp_contended", .nid = w.nid };
	nodemask_t tracked, barns, held_tracked, held_barns;
	struct slub_hp_sender *snd;
	unsigned long delivered;
	bool settled = false, shrinks;
	unsigned int i;

	if (!SLUB_HP_MASKS_READABLE_LOCKED)
		kunit_skip(test, "the tree has no tracking mask to read under slab_mutex");
	slub_hp_lead_up(test, &w, ev.trans, ev.act);
	shrinks = slub_hp_dir(ev.act) == SLUB_HP_OFF && slub_hp_role(ev.act) == SLUB_HP_GOING &&
		  slub_hp_supplies(w.nid) && IS_ENABLED(CONFIG_SLUB_DEBUG);
	if (shrinks) {
		left.s = slub_hp_create_cache(test, left.name, 256, 0);
		slub_hp_shrinkee_fill(test, &left);
	}
	snd = slub_hp_sender(test, &w, ev.act, ev.trans);
	tracked = slub_hp_tracked_mask();
	barns = slub_hp_barn_tracked_mask();

	/* No assertion while the locks are held. */
	if (IS_ENABLED(CONFIG_MEMORY_HOTPLUG))
		mem_hotplug_begin();
	mutex_lock(&slab_mutex);
	wake_up_process(snd->task);
	for (i = 0; i < 2000 && !settled; i++) {
		usleep_range(1000, 2000);
		settled = slub_hp_sender_settled(snd);
	}
	held_tracked = slub_hp_tracked_mask();
	held_barns = slub_hp_barn_tracked_mask();
	mutex_unlock(&slab_mutex);
	delivered = wait_for_completion_timeout(&snd->done, 10 * HZ);
	if (IS_ENABLED(CONFIG_MEMORY_HOTPLUG))
		mem_hotplug_done();

	KUNIT_ASSERT_GT_MSG(test, delivered, 0, "%s did not return in 10 s", ev.act->name);
	KUNIT_EXPECT_TRUE_MSG(test, settled, "%s neither returned nor waited for slab_mutex",
			      ev.act->name);
	KUNIT_EXPECT_TRUE_MSG(test, nodes_equal(held_tracked, tracked),
			      "%s changed slab_nodes from %*pbl to %*pbl without slab_mutex",
			      ev.act->name, nodemask_pr_args(&tracked),
			      nodemask_pr_args(&held_tracked));
	KUNIT_EXPECT_TRUE_MSG(test, nodes_equal(held_barns, barns),
			      "%s changed slab_barn_nodes from %*pbl to %*pbl without slab_mutex",
			      ev.act->name, nodemask_pr_args(&barns),
			      nodemask_pr_args(&held_barns));
	KUNIT_EXPECT_EQ(test, snd->ret, NOTIFY_OK);
	slub_hp_advance(&w, ev.act, ev.trans, snd->ret);
	slub_hp_expect_model(test, &w, ev.act->name);
	if (shrinks)
		KUNIT_EXPECT_EQ_MSG(test, slub_hp_nr_slabs(left.s), 0,
				    "%s, sent while slab_mutex was held, left %lu of %lu free slabs",
				    ev.act->name, slub_hp_nr_slabs(left.s), left.before);
}

/* ---------------------------------------------------------------------- */
/* The allocation slow path, failures and races                           */
/* ---------------------------------------------------------------------- */

/*
 * I5 after every action of every transition: the node is brought to where
 * the hotplug core would send the action and the action is delivered; then
 * kmem_cache_alloc_node() for the node, with and without __GFP_THISNODE,
 * from a cold, a warm and a fragmented cache, gives what the slow path
 * promises for the node as the action left it.
 *
 * Invariant: I5 allocation safety per event.
 */
static void test_event_alloc(struct kunit *test)
{
	const struct slub_hp_event ev = slub_hp_event_of(test->param_value);
	struct slub_hp_world w = slub_hp_world(test, ev.trans);

	slub_hp_lead_up(test, &w, ev.trans, ev.act);
	KUNIT_ASSERT_EQ(test, slub_hp_step(test, &w, ev.act, ev.trans), NOTIFY_OK);
	slub_hp_expect_alloc(test, w.nid, SLUB_HP_ALLOC_BOTH, ev.act->name);
}

/*
 * A cache that lived through a node's offline keeps its structure for the
 * node (I2), while the node is tracked or not as the policy says: asked for
 * that node, the slow path goes by tracking and memory, not by the
 * structure it finds (I5), and shrinking the cache still works.
 *
 * Invariant: I2 stability and I5 allocation safety.
 */
static void test_alloc_outlived_offline(struct kunit *test)
{
	const struct slub_hp_trans *t = &slub_hp_first_normal;
	struct slub_hp_world w = slub_hp_world(test, t);
	struct kmem_cache *s;

	slub_hp_walk(test, &w, t, SLUB_HP_ON, false, SLUB_HP_END);
	s = slub_hp_create_cache(test, "slub_hp_outlived", 96, 0);
	KUNIT_ASSERT_NOT_NULL(test, get_node(s, w.nid));
	slub_hp_walk(test, &w, t, SLUB_HP_OFF, false, SLUB_HP_END);
	KUNIT_ASSERT_NOT_NULL(test, get_node(s, w.nid));

	slub_hp_expect_alloc_in(test, s, w.nid, SLUB_HP_ALLOC_BOTH, "cache outlived offline");
	KUNIT_EXPECT_EQ(test, kmem_cache_shrink(s), 0);
	KUNIT_EXPECT_EQ(test, slub_hp_nr_slabs(s), 0);
}

/*
 * Likewise for the structures a failed going-online leaves behind (I3): the
 * caches served before the failure keep a structure for a node that stays
 * untracked, under either policy, and destroying such a cache frees it.
 * Which caches are served first is the callback's choice: failing the last
 * allocation leaves at most one cache unserved, so one of two new caches is.
 *
 * Invariant: I2 stability.
 */
static void test_destroy_after_failed_online(struct kunit *test)
{
	const struct slub_hp_trans *t = &slub_hp_first_normal;
	struct slub_hp_world w = slub_hp_world(test, t);
	struct kmem_cache *a = slub_hp_create_cache(test, "slub_hp_doomed", 96, 0);
	struct kmem_cache *b = slub_hp_create_cache(test, "slub_hp_doomed2", 96, 0);
	unsigned int nodes, barns, caches;
	struct kmem_cache *s;

	slub_hp_count(w.nid, &nodes, &barns, &caches);
	KUNIT_ASSERT_EQ(test, nodes, 0);
	slub_hp_watch_allocs(test, SLUB_HP_FAIL_NODE, caches);
	KUNIT_ASSERT_EQ(test, slub_hp_step(test, &w, slub_hp_going_online, t),
			notifier_from_errno(-ENOMEM));
	KUNIT_ASSERT_FALSE(test, slub_hp_tracked(w.nid));
	s = get_node(a, w.nid) ? a : b;
	KUNIT_ASSERT_NOT_NULL_MSG(test, get_node(s, w.nid),
				  "neither new cache was served before the failure");
	kunit_release_action(test, slub_hp_destroy_cache, s);
}

/* Which allocation a going-online is made to fail at (I3). */
struct slub_hp_fault_param {
	const char *desc;
	enum slub_hp_fault_target target;
	unsigned int where;	/* 0: first, 1: middle, 2: last */
};

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

KUNIT_ARRAY_PARAM_DESC(slub_hp_fault, slub_hp_fault_params, desc);

static unsigned int slub_hp_wanting_barns(int nid)
{
	struct kmem_cache *s;
	unsigned int nr = 0;

	mutex_lock(&slab_mutex);
	list_for_each_entry(s, &slab_caches, list)
		if (slub_hp_wants_barn(s) && !slub_hp_barn(s, nid))
			nr++;
	mutex_unlock(&slab_mutex);
	return nr;
}

/*
 * The cancel the hotplug core sends after a failed going-online frees
 * nothing and tracks nothing; a retry without the fault then succeeds,
 * completes every cache, allocating only what the failure left undone.
 */
static void slub_hp_cancel_and_retry(struct kunit *test, struct slub_hp_world *w,
				     unsigned int made_nodes, unsigned int want_barns,
				     unsigned int made_barns)
{
	const struct slub_hp_action *cancel = slub_hp_action(SLUB_HP_ON, SLUB_HP_CANCEL);
	struct slub_hp_ctx *ctx = test->priv;
	const struct slub_hp_snap *failed = slub_hp_snapshot(test);
	unsigned int nodes, barns, caches;

	KUNIT_EXPECT_EQ(test, slub_hp_notify(test, cancel->action, w->nid, w->nid, w->blk),
			NOTIFY_OK);
	KUNIT_EXPECT_FALSE(test, slub_hp_tracked(w->nid));
	slub_hp_expect_kept(test, failed, false, "cancel after failure");

	slub_hp_watch_allocs(test, SLUB_HP_FAIL_NONE, 0);
	KUNIT_EXPECT_EQ(test, slub_hp_step(test, w, slub_hp_going_online, &slub_hp_first_normal),
			NOTIFY_OK);
	KUNIT_EXPECT_TRUE(test, slub_hp_tracked(w->nid));
	slub_hp_count(w->nid, &nodes, &barns, &caches);
	KUNIT_EXPECT_EQ(test, nodes, caches);
	KUNIT_EXPECT_EQ_MSG(test, ctx->node_watch.seen, caches - made_nodes,
			    "retry allocated %u structures for %u caches, %u were kept",
			    ctx->node_watch.seen, caches, made_nodes);
	KUNIT_EXPECT_EQ(test, ctx->barn_watch.seen, want_barns - made_barns);
	slub_hp_expect_kept(test, failed, false, "retry");
	slub_hp_expect_coverage(test, "retry");
}

/* Allocations @watch let through: those it counted, less the one it failed. */
static unsigned int slub_hp_made(const struct mm_kunit_slab_watch *watch)
{
	return watch->seen - watch->failed;
}

/**
 * struct slub_hp_published - what a going-online has published so far
 * @nid: the node going online, which no cache had anything for before
 * @nr: caches recorded in @seen
 * @max: room in @seen
 * @full: a cache did not fit in @seen
 * @seen: each cache seen with a structure or barn for @nid, and the first
 *	structure and barn seen
 */
struct slub_hp_published {
	int nid;
	unsigned int nr;
	unsigned int max;
	bool full;
	struct {
		struct kmem_cache *s;
		void *node;
		void *barn;
	} *seen;
};

/*
 * Runs inside the callback, which holds slab_mutex, at each allocation it
 * makes: records the structures and barns it has published by then.
 */
static void slub_hp_note_published(struct mm_kunit_slab_watch *watch, void *data)
{
	struct slub_hp_published *pub = data;
	struct kmem_cache *s;
	unsigned int i;

	list_for_each_entry(s, &slab_caches, list) {
		void *node = get_node(s, pub->nid), *barn = slub_hp_barn(s, pub->nid);

		if (!node && !barn)
			continue;
		for (i = 0; i < pub->nr && pub->seen[i].s != s; i++)
			;
		if (i == pub->max) {
			pub->full = true;
			continue;
		}
		pub->nr = max(pub->nr, i + 1);
		pub->seen[i].s = s;
		pub->seen[i].node = pub->seen[i].node ?: node;
		pub->seen[i].barn = pub->seen[i].barn ?: barn;
	}
}

/*
 * I3: the going-online event fails inside the allocator at the k-th per-node
 * structure (or barn). The callback returns an error and leaves the node
 * untracked. Whatever it published before the failure stays in place (I2:
 * readers may already hold it); what it allocated and never published it
 * may keep or free. In which order it walks the caches, and on 7.x whether
 * a cache's structure or its barn comes first, is its own choice: nothing
 * here depends on either. The cancel frees nothing; a retry completes,
 * allocating only what is still missing.
 *
 * Invariant: I3 failure atomicity.
 */
static void test_going_online_fails(struct kunit *test)
{
	const struct slub_hp_fault_param *p = test->param_value;
	struct slub_hp_world w = slub_hp_world(test, &slub_hp_first_normal);
	unsigned int nodes, barns, caches, barns_before, k, i;
	unsigned int want_barns = slub_hp_wanting_barns(w.nid);
	struct slub_hp_ctx *ctx = test->priv;
	bool fail_barn = p->target == SLUB_HP_FAIL_BARN;
	bool barn_tracked = w.barn_tracked;
	struct slub_hp_published pub = { .nid = w.nid };
	int ret;

	slub_hp_count(w.nid, &nodes, &barns_before, &caches);
	KUNIT_ASSERT_EQ(test, nodes, 0);
	if (fail_barn && !want_barns)
		kunit_skip(test, "node %d needs no barns: no cache with sheaves lacks one", w.nid);
	k = slub_hp_pick(p->where, fail_barn ? want_barns : caches);
	pub.max = caches + 16;
	pub.seen = kunit_kcalloc(test, pub.max, sizeof(*pub.seen), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, pub.seen);

	slub_hp_watch_allocs(test, p->target, k);
	ctx->node_watch.hook = slub_hp_note_published;
	ctx->barn_watch.hook = slub_hp_note_published;
	ctx->node_watch.data = &pub;
	ctx->barn_watch.data = &pub;
	ret = slub_hp_step(test, &w, slub_hp_going_online, &slub_hp_first_normal);
	ctx->node_watch.hook = NULL;
	ctx->barn_watch.hook = NULL;
	KUNIT_EXPECT_EQ_MSG(test, ret, notifier_from_errno(-ENOMEM),
			    "%s: going-online returned %d", p->desc, ret);
	KUNIT_EXPECT_FALSE_MSG(test, slub_hp_tracked(w.nid),
			       "node %d tracked after a failed going-online", w.nid);
	KUNIT_EXPECT_EQ_MSG(test, slub_hp_barn_tracked(w.nid), barn_tracked,
			    "barn tracking of node %d changed by a failed going-online", w.nid);
	KUNIT_ASSERT_GT_MSG(test, fail_barn ? ctx->barn_watch.seen : ctx->node_watch.seen, 0,
			    "should_failslab() never reached the stub: is mm/failslab.c patched?");
	KUNIT_ASSERT_EQ_MSG(test, fail_barn ? ctx->barn_watch.failed : ctx->node_watch.failed, 1,
			    "%s: going-online made fewer than %u such allocations", p->desc, k);
	KUNIT_ASSERT_FALSE(test, pub.full);

	for (i = 0; i < pub.nr; i++) {
		if (pub.seen[i].node)
			KUNIT_EXPECT_PTR_EQ_MSG(test, (void *)get_node(pub.seen[i].s, w.nid),
						pub.seen[i].node,
						"%s: %s's published structure freed or replaced",
						p->desc, pub.seen[i].s->name);
		if (pub.seen[i].barn)
			KUNIT_EXPECT_PTR_EQ_MSG(test, slub_hp_barn(pub.seen[i].s, w.nid),
						pub.seen[i].barn,
						"%s: %s's published barn freed or replaced",
						p->desc, pub.seen[i].s->name);
	}
	slub_hp_count(w.nid, &nodes, &barns, &caches);
	barns -= barns_before;
	KUNIT_EXPECT_LE_MSG(test, nodes, slub_hp_made(&ctx->node_watch),
			    "%s: more structures in place than were allocated", p->desc);
	KUNIT_EXPECT_LE_MSG(test, barns, slub_hp_made(&ctx->barn_watch),
			    "%s: more barns in place than were allocated", p->desc);
	slub_hp_expect_coverage(test, "after failure");
	w.barn_tracked = barn_tracked;
	slub_hp_cancel_and_retry(test, &w, nodes, want_barns, barns);
}

/*
 * I6: going-offline flushes and shrinks every cache, so that no cache keeps
 * a slab kmem_cache_shrink() would still release: caches that hold only free
 * slabs, on either side (in slab_caches) of a cache still holding a live
 * object, caches with debug flags (which on node-notifier trees also means
 * without sheaves), and caches whose partial list holds hundreds of slabs,
 * all free or every other one in use; each filled and emptied from every
 * CPU, so that every CPU's slabs or sheaves hold some of them, not only the
 * callback's. A slab holding an object is never released. The memory
 * notifier sends going-offline for every block, mostly naming no node; the
 * node notifier only when a node loses its last memory, and always names
 * it: here the node that holds the slabs.
 *
 * Invariant: I6 shrink.
 */
static void test_going_offline_shrinks(struct kunit *test)
{
	const struct slub_hp_action *going = slub_hp_action(SLUB_HP_OFF, SLUB_HP_GOING);
	int nid = SLUB_HP_NODE_NOTIFIER ? slub_hp.normal_nid : NUMA_NO_NODE;
	struct slub_hp_shrinkee caches[] = {
		{ .name = "slub_hp_free_older" },
		{ .name = "slub_hp_live", .live = true },
		{ .name = "slub_hp_free_newer" },
		{ .name = "slub_hp_debug", .flags = SLUB_HP_DEBUG_FLAGS },
		{ .name = "slub_hp_debug_live", .flags = SLUB_HP_DEBUG_FLAGS, .live = true },
		{ .name = "slub_hp_many_free", .many = true },
		{ .name = "slub_hp_many_mixed", .many = true, .mixed = true },
	};
	struct slub_hp_shrinkee *c;
	struct slub_hp_block *block;
	unsigned long after;
	unsigned int i;

	if (!IS_ENABLED(CONFIG_SLUB_DEBUG))
		kunit_skip(test, "needs CONFIG_SLUB_DEBUG to count slabs per node");
	/* Before any object is held: these skip where the core sends no such event. */
	slub_hp_need_event(test, going->action);
	block = slub_hp_block(test, slub_hp.normal_nid, false);
	for (i = 0; i < ARRAY_SIZE(caches); i++) {
		c = &caches[i];
		c->s = slub_hp_create_cache(test, c->name, 256, c->flags);
		c->nid = slub_hp.normal_nid;
		slub_hp_shrinkee_fill(test, c);
	}

	/* The node notifier's going-offline is about the node's last memory. */
	if (SLUB_HP_NODE_NOTIFIER)
		slub_hp_frame_last_block(test, block, false);
	KUNIT_EXPECT_EQ(test, slub_hp_notify(test, going->action, nid, nid, block), NOTIFY_OK);
	for (i = 0; i < ARRAY_SIZE(caches); i++) {
		c = &caches[i];
		after = slub_hp_nr_slabs(c->s);
		kmem_cache_shrink(c->s);
		KUNIT_EXPECT_EQ_MSG(test, after, slub_hp_nr_slabs(c->s),
				    "%s: %lu slabs before, %lu after going-offline, %lu after shrink",
				    c->name, c->before, after, slub_hp_nr_slabs(c->s));
		KUNIT_EXPECT_EQ_MSG(test, after, c->holding,
				    "%s: %lu slabs left after going-offline, %lu hold objects",
				    c->name, after, c->holding);
		kunit_release_action(test, slub_hp_kept_release, c->kept);
	}
}

/* When a cache creation is made to fail, and how far the memoryless node is. */
enum slub_hp_phase {
	SLUB_HP_UNTRACKED,	/* the memoryless node as at boot */
	SLUB_HP_IN_WINDOW,	/* after its going-online, before node_states[] */
	SLUB_HP_TRACKED,	/* after a whole online (states mocked) */
};

struct slub_hp_create_param {
	const char *desc;
	enum slub_hp_fault_target target;
	bool last;		/* the last node's allocation, else the first's */
	enum slub_hp_phase phase;
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

KUNIT_ARRAY_PARAM_DESC(slub_hp_create, slub_hp_create_params, desc);

static bool slub_hp_cache_listed(const char *name)
{
	struct kmem_cache *s;
	bool found = false;

	mutex_lock(&slab_mutex);
	list_for_each_entry(s, &slab_caches, list)
		found |= !strcmp(s->name, name);
	mutex_unlock(&slab_mutex);
	return found;
}

/* A cache created now has a structure, as initialised, for every tracked node. */
static void slub_hp_expect_new_cache_complete(struct kunit *test, struct kmem_cache *s,
					      const char *when)
{
	nodemask_t tracked = slub_hp_tracked_mask();
	nodemask_t barn_tracked = slub_hp_barn_tracked_mask();
	int nid;

	for_each_node_mask(nid, tracked) {
		KUNIT_EXPECT_NOT_NULL_MSG(test, get_node(s, nid), "%s: lacks node %d", when, nid);
		if (get_node(s, nid))
			KUNIT_EXPECT_TRUE_MSG(test, slub_hp_node_pristine(get_node(s, nid)),
					      "%s: node %d structure not as initialised",
					      when, nid);
	}
	for_each_node_mask(nid, barn_tracked)
		if (slub_hp_wants_barn(s))
			KUNIT_EXPECT_NOT_NULL_MSG(test, slub_hp_barn(s, nid),
						  "%s: lacks a barn on node %d", when, nid);
}

/* Bring the memoryless node to @phase; returns the node, or NUMA_NO_NODE. */
static int slub_hp_enter_phase(struct kunit *test, enum slub_hp_phase phase)
{
	struct slub_hp_world w;

	if (phase == SLUB_HP_UNTRACKED)
		return NUMA_NO_NODE;
	w = slub_hp_world(test, &slub_hp_first_normal);
	if (phase == SLUB_HP_IN_WINDOW)
		KUNIT_ASSERT_EQ(test,
				slub_hp_step(test, &w, slub_hp_going_online, &slub_hp_first_normal),
				NOTIFY_OK);
	else
		slub_hp_walk(test, &w, &slub_hp_first_normal, SLUB_HP_ON, false, SLUB_HP_END);
	KUNIT_ASSERT_TRUE(test, slub_hp_tracked(w.nid));
	return w.nid;
}

/*
 * I3 for cache creation: the k-th per-node structure (or barn) allocation
 * inside kmem_cache_create() fails, with the memoryless node untracked, in
 * its going-online window, or tracked. The creation fails cleanly: NULL,
 * nothing left on slab_caches (and nothing leaked, which kmemleak checks
 * under tools/slub-kunit run --debug). A retry succeeds and covers every
 * tracked node with an initialised structure and barn.
 *
 * Invariant: I3 failure atomicity.
 */
static void test_create_fails(struct kunit *test)
{
	const struct slub_hp_create_param *p = test->param_value;
	struct slub_hp_ctx *ctx = test->priv;
	unsigned int nr = slub_hp_nr_caches(), nodes, k;
	int nid = slub_hp_enter_phase(test, p->phase);
	struct kmem_cache *s;
	nodemask_t mask;

	mask = p->target == SLUB_HP_FAIL_BARN ? slub_hp_barn_tracked_mask() :
	       slub_hp_tracked_mask();
	nodes = nodes_weight(mask);
	k = p->last ? nodes : 1;
	slub_hp_watch_allocs(test, p->target, k);
	mm_kunit_failslab_start(test);
	s = kmem_cache_create("slub_hp_doomed", 96, 0, SLAB_NO_MERGE, NULL);
	mm_kunit_failslab_stop(test);
	kmem_cache_destroy(s);
	KUNIT_EXPECT_NULL_MSG(test, s, "%s: the cache was created", p->desc);
	KUNIT_EXPECT_EQ_MSG(test, p->target == SLUB_HP_FAIL_BARN ? ctx->barn_watch.seen :
			    ctx->node_watch.seen, k,
			    "%s: %u tracked nodes, failed allocation not the %u-th", p->desc,
			    nodes, k);
	if (nid != NUMA_NO_NODE)
		KUNIT_EXPECT_TRUE(test, slub_hp_tracked(nid));
	KUNIT_EXPECT_EQ(test, slub_hp_nr_caches(), nr);
	KUNIT_EXPECT_FALSE_MSG(test, slub_hp_cache_listed("slub_hp_doomed"),
			       "%s: a failed cache is on slab_caches", p->desc);

	s = slub_hp_create_cache(test, "slub_hp_retry", 96, 0);
	slub_hp_expect_new_cache_complete(test, s, p->desc);
}

enum slub_hp_target {
	SLUB_HP_TO_NO_NODE,
	SLUB_HP_TO_MEMORY,
	SLUB_HP_TO_TRACKED_MEMLESS,
	SLUB_HP_TO_UNTRACKED_MEMLESS,
	SLUB_HP_TO_OFFLINE,
};

struct slub_hp_alloc_param {
	const char *desc;
	enum slub_hp_target target;
	bool thisnode;
};

static const struct slub_hp_alloc_param slub_hp_alloc_params[] = {
	{ "NUMA_NO_NODE", SLUB_HP_TO_NO_NODE, false },
	{ "NUMA_NO_NODE __GFP_THISNODE", SLUB_HP_TO_NO_NODE, true },
	{ "node with memory", SLUB_HP_TO_MEMORY, false },
	{ "node with memory __GFP_THISNODE", SLUB_HP_TO_MEMORY, true },
	{ "tracked memoryless node", SLUB_HP_TO_TRACKED_MEMLESS, false },
	{ "tracked memoryless node __GFP_THISNODE", SLUB_HP_TO_TRACKED_MEMLESS, true },
	{ "untracked memoryless node", SLUB_HP_TO_UNTRACKED_MEMLESS, false },
	{ "untracked memoryless node __GFP_THISNODE", SLUB_HP_TO_UNTRACKED_MEMLESS, true },
	{ "possible offline node", SLUB_HP_TO_OFFLINE, false },
	{ "possible offline node __GFP_THISNODE", SLUB_HP_TO_OFFLINE, true },
};

KUNIT_ARRAY_PARAM_DESC(slub_hp_alloc, slub_hp_alloc_params, desc);

/* The node a parameter of test_alloc_node() asks for. */
static int slub_hp_alloc_target(struct kunit *test, const struct slub_hp_alloc_param *p)
{
	struct slub_hp_world w;

	switch (p->target) {
	case SLUB_HP_TO_NO_NODE:
		return NUMA_NO_NODE;
	case SLUB_HP_TO_MEMORY:
		return slub_hp.other_nid != NUMA_NO_NODE ? slub_hp.other_nid : slub_hp.normal_nid;
	case SLUB_HP_TO_OFFLINE:
		return slub_hp_offline(test);
	default:
		w = slub_hp_world(test, &slub_hp_first_normal);
		if (p->target == SLUB_HP_TO_TRACKED_MEMLESS) {
			KUNIT_ASSERT_EQ(test, slub_hp_step(test, &w,
							   slub_hp_going_online,
							   &slub_hp_first_normal), NOTIFY_OK);
			KUNIT_ASSERT_TRUE(test, slub_hp_tracked(w.nid));
		}
		return w.nid;
	}
}

/*
 * I5: kmem_cache_alloc_node() with any node id never crashes, and the object
 * comes from where the slow path promises, from a plain cache and from one
 * with debug flags:
 * - a node with memory supplies the object itself;
 * - a node that cannot supply one (no memory, untracked, offline) makes the
 *   allocation fall back to a node with memory, unless __GFP_THISNODE is
 *   set: then a tracked node fails the allocation; an untracked one fails it
 *   on node-notifier trees, whose slow path keeps the constraint, and is
 *   ignored on memory-notifier trees, whose slow path drops it.
 *
 * Invariant: I5 allocation safety.
 */
static void test_alloc_node(struct kunit *test)
{
	const struct slub_hp_alloc_param *p = test->param_value;
	unsigned int how = p->thisnode ? SLUB_HP_ALLOC_THISNODE : SLUB_HP_ALLOC_PLAIN;
	int nid = slub_hp_alloc_target(test, p);

	slub_hp_expect_alloc(test, nid, how, p->desc);
	/*
	 * The same promise from a cache with debug flags, which takes the slow
	 * path's other branches: no CPU slab (or sheaves), one object at a
	 * time from a partial or new slab.
	 */
	slub_hp_expect_alloc(test, nid, how | SLUB_HP_ALLOC_DEBUG, "debug cache");
}

/* What a CPU of a memoryless node asks for, and how. */
static const struct slub_hp_alloc_param slub_hp_cpu_alloc_params[] = {
	{ "NUMA_NO_NODE", SLUB_HP_TO_NO_NODE, false },
	{ "NUMA_NO_NODE __GFP_THISNODE", SLUB_HP_TO_NO_NODE, true },
	{ "its own node", SLUB_HP_TO_UNTRACKED_MEMLESS, false },
	{ "its own node __GFP_THISNODE", SLUB_HP_TO_UNTRACKED_MEMLESS, true },
	{ "node with memory", SLUB_HP_TO_MEMORY, false },
	{ "node with memory __GFP_THISNODE", SLUB_HP_TO_MEMORY, true },
};

KUNIT_ARRAY_PARAM_DESC(slub_hp_cpu_alloc, slub_hp_cpu_alloc_params, desc);

/*
 * I5 as a CPU of a memoryless node sees it (the 7.0 and 7.1 trouble with
 * sheaves there). What that CPU frees, and what it is given for no node in
 * particular, comes from other nodes, and sits in its CPU slab or sheaves
 * and its node's barn; an allocation from that CPU for a node still gets an
 * object of that node, or none under __GFP_THISNODE where the node has no
 * memory, its own included.
 *
 * Invariant: I5 allocation safety.
 */
static void test_alloc_memoryless_cpu(struct kunit *test)
{
	const struct slub_hp_alloc_param *p = test->param_value;
	int cpu_nid = slub_hp_cpu_node(test), nid;

	KUNIT_ASSERT_EQ(test, 0, set_cpus_allowed_ptr(current, cpumask_of_node(cpu_nid)));
	KUNIT_ASSERT_EQ(test, numa_node_id(), cpu_nid);
	switch (p->target) {
	case SLUB_HP_TO_NO_NODE:
		nid = NUMA_NO_NODE;
		break;
	case SLUB_HP_TO_MEMORY:
		nid = slub_hp.normal_nid;
		break;
	default:
		nid = cpu_nid;
		break;
	}
	slub_hp_expect_alloc(test, nid, p->thisnode ? SLUB_HP_ALLOC_THISNODE : SLUB_HP_ALLOC_PLAIN,
			     p->desc);
}

/**
 * struct slub_hp_racer - a cache creation racing a going-online
 * @task: the creating thread, SCHED_FIFO on the case's CPU
 * @nid: the node going online
 * @s: the cache it created
 * @done: completed when @s is set
 * @woken: the callback has woken @task
 * @blocked: @task was asleep (on slab_mutex) when the callback went on
 * @early: the callback tracked @nid before every cache had a structure
 */
struct slub_hp_racer {
	struct task_struct *task;
	int nid;
	struct kmem_cache *s;
	struct completion done;
	bool woken;
	bool blocked;
	bool early;
};

static int slub_hp_racer_fn(void *data)
{
	struct slub_hp_racer *r = data;

	r->s = kmem_cache_create("slub_hp_racer", 64, 0, SLAB_NO_MERGE, NULL);
	complete(&r->done);
	while (!kthread_should_stop())
		schedule_timeout_interruptible(HZ / 10);
	return 0;
}

/*
 * Runs inside the callback, at each per-node structure it allocates, with
 * slab_mutex held: the node must not be tracked yet (readers that do not
 * take slab_mutex would find it without a structure). The first time, it
 * wakes the racer, which preempts this thread and blocks on slab_mutex.
 */
static void slub_hp_race_hook(struct mm_kunit_slab_watch *watch, void *data)
{
	struct slub_hp_racer *r = data;

	if (slub_hp_tracked_locked(r->nid))
		r->early = true;
	if (r->woken)
		return;
	r->woken = true;
	wake_up_process(r->task);
	r->blocked = slub_hp_mutex_waited(&slab_mutex);
}

/*
 * I1 under concurrency, the race slab_nodes was made for, made to happen on
 * purpose: a cache created by another thread while going-online runs ends
 * up with the new node. The creator runs SCHED_FIFO on the callback's CPU;
 * woken from inside the callback, it blocks on slab_mutex at once and runs
 * the moment the callback releases it, before the callback's next
 * instruction. So the node must be tracked, under slab_mutex, by then; and
 * not before every existing cache has its structure. Where the scheduler
 * does not run the racer inside the callback the case proves nothing, and
 * skips unless it already failed.
 *
 * Invariant: I1 under concurrency.
 */
static void test_create_races_online(struct kunit *test)
{
	struct slub_hp_world w = slub_hp_world(test, &slub_hp_first_normal);
	struct mm_kunit_slab_watch *watch;
	struct slub_hp_racer *r;
	int cpu;

	if (!preempt_model_full())
		kunit_skip(test, "needs full preemption (preempt=full) to run the racer at once");
	watch = kunit_kzalloc(test, sizeof(*watch), GFP_KERNEL);
	r = kunit_kzalloc(test, sizeof(*r), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, watch);
	KUNIT_ASSERT_NOT_NULL(test, r);
	cpu = get_cpu();
	put_cpu();
	KUNIT_ASSERT_EQ(test, 0, set_cpus_allowed_ptr(current, cpumask_of(cpu)));

	r->nid = w.nid;
	init_completion(&r->done);
	r->task = kthread_create(slub_hp_racer_fn, r, "slub_hp_racer");
	KUNIT_ASSERT_FALSE(test, IS_ERR(r->task));
	get_task_struct(r->task);
	kthread_bind(r->task, cpu);
	sched_set_fifo(r->task);
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, slub_hp_thread_stop, r->task));

	watch->match = slub_hp_is_node_cache;
	watch->hook = slub_hp_race_hook;
	watch->data = r;
	slub_hp_add_watch(test, watch);
	KUNIT_ASSERT_EQ(test, slub_hp_step(test, &w, slub_hp_going_online, &slub_hp_first_normal),
			NOTIFY_OK);
	KUNIT_ASSERT_TRUE_MSG(test, r->woken, "going-online allocated no structure");
	KUNIT_ASSERT_GT(test, wait_for_completion_timeout(&r->done, 10 * HZ), 0);
	KUNIT_ASSERT_NOT_NULL(test, r->s);
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, slub_hp_destroy_cache, r->s));

	KUNIT_EXPECT_FALSE_MSG(test, r->early,
			       "node %d tracked before every cache had its structure", w.nid);
	KUNIT_EXPECT_NOT_NULL_MSG(test, get_node(r->s, w.nid),
				  "a cache created as going-online released slab_mutex lacks node %d",
				  w.nid);
	if (slub_hp_wants_barn(r->s))
		KUNIT_EXPECT_NOT_NULL_MSG(test, slub_hp_barn(r->s, w.nid),
					  "the racing cache lacks a barn on node %d", w.nid);
	slub_hp_expect_coverage(test, "after the race");
	if (!r->blocked && test->status == KUNIT_SUCCESS)
		kunit_skip(test, "the racer was not run inside the callback: no race to judge");
}

/* ---------------------------------------------------------------------- */
/* The suite                                                              */
/* ---------------------------------------------------------------------- */

static struct kunit_case slub_hotplug_cases[] = {
	KUNIT_CASE(test_boot_mask),
	KUNIT_CASE_PARAM(test_event, slub_hp_event_gen_params),
	KUNIT_CASE(test_cache_created_in_window),
	KUNIT_CASE_PARAM(test_event_under_slab_mutex, slub_hp_event_gen_params),
	KUNIT_CASE(test_reonline_reuses),
	KUNIT_CASE(test_destroy_after_offline),
	KUNIT_CASE_PARAM(test_event_alloc, slub_hp_event_gen_params),
	KUNIT_CASE(test_destroy_after_failed_online),
	KUNIT_CASE(test_alloc_outlived_offline),
	KUNIT_CASE_PARAM(test_going_online_fails, slub_hp_fault_gen_params),
	KUNIT_CASE(test_going_offline_shrinks),
	KUNIT_CASE_PARAM(test_create_fails, slub_hp_create_gen_params),
	KUNIT_CASE_PARAM(test_alloc_node, slub_hp_alloc_gen_params),
	KUNIT_CASE_PARAM(test_alloc_memoryless_cpu, slub_hp_cpu_alloc_gen_params),
	KUNIT_CASE(test_create_races_online),
	{}
};

static struct kunit_suite slub_hotplug_suite = {
	.name = "slub_hotplug",
	.suite_init = slub_hp_suite_init,
	.init = slub_hp_case_init,
	.test_cases = slub_hotplug_cases,
};

/*
 * With the real-hotplug suite, registered at the end of slub_kunit_real.c,
 * before it: suites run in the order of one kunit_test_suites(), but two
 * registrations in one file run in whatever order the compiler emits them.
 */
#ifndef CONFIG_SLUB_HOTPLUG_REAL_KUNIT_TEST
kunit_test_suite(slub_hotplug_suite);
#endif
