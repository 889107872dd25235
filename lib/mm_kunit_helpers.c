// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit helpers for memory-management tests.
 *
 * Failing slab allocations: should_failslab(), the allocator's own fault
 * injection point, carries a KUnit static stub. A test that adds a struct
 * mm_kunit_slab_watch gets the stub for the allocations its own thread makes
 * between mm_kunit_failslab_start() and mm_kunit_failslab_stop(): every
 * allocation the watch matches is counted, and the fail_at-th one fails.
 * Other threads, interrupts and the test's cleanup are never touched.
 *
 * Mocking node states: mm_kunit_set_node_state() changes one node's bit in
 * node_states[] under the memory hotplug lock, as the hotplug core does, and
 * the bit found on first use is put back when the test ends.
 */

#include <kunit/resource.h>
#include <kunit/static_stub.h>
#include <kunit/test.h>
#include <linux/fault-inject.h>
#include <linux/memory_hotplug.h>
#include <linux/sched.h>

#include "mm_kunit_helpers.h"

#define MM_KUNIT_FAILSLAB	"mm_kunit_failslab"
#define MM_KUNIT_NODE_STATES	"mm_kunit_node_states"

/**
 * struct mm_kunit_failslab - the watches of one test
 * @res: the named resource that finds this structure from the test
 * @watches: the test's struct mm_kunit_slab_watch entries
 * @task: the thread whose allocations count now, or NULL
 * @busy: set while a hook runs, so that its own allocations do not count
 */
struct mm_kunit_failslab {
	struct kunit_resource res;
	struct list_head watches;
	struct task_struct *task;
	bool busy;
};

static void *mm_kunit_named(struct kunit *test, const char *name)
{
	struct kunit_resource *res = kunit_find_named_resource(test, name);
	void *data;

	if (!res)
		return NULL;
	data = res->data;
	/* The test's own reference keeps it until the test ends. */
	kunit_put_resource(res);
	return data;
}

#ifdef CONFIG_FAILSLAB
static int mm_kunit_should_failslab(struct kmem_cache *s, gfp_t gfpflags)
{
	struct kunit *test = kunit_get_current_test();
	struct mm_kunit_slab_watch *w;
	struct mm_kunit_failslab *fs;
	int ret = 0;

	if (!test || !in_task())
		return 0;
	fs = mm_kunit_named(test, MM_KUNIT_FAILSLAB);
	if (!fs || fs->task != current || fs->busy)
		return 0;

	list_for_each_entry(w, &fs->watches, list) {
		if (w->match && !w->match(s, w->data))
			continue;
		w->seen++;
		if (w->hook) {
			fs->busy = true;
			w->hook(w, w->data);
			fs->busy = false;
		}
		if (w->seen == w->fail_at) {
			w->failed++;
			ret = -ENOMEM;
		}
	}
	return ret;
}

/**
 * mm_kunit_failslab_add() - count, and maybe fail, the test's slab allocations
 * @test: the running test
 * @w: what to count and which allocation to fail; @w->seen and @w->failed
 *	are reset
 *
 * Redirects should_failslab() for @test on first use. Allocations count only
 * while the test has called mm_kunit_failslab_start() and not yet
 * mm_kunit_failslab_stop(), and only those of the thread that started.
 *
 * Return: 0, -ENOMEM, or -EOPNOTSUPP without CONFIG_FAILSLAB.
 */
int mm_kunit_failslab_add(struct kunit *test, struct mm_kunit_slab_watch *w)
{
	struct mm_kunit_failslab *fs = mm_kunit_named(test, MM_KUNIT_FAILSLAB);
	int ret;

	if (!fs) {
		fs = kunit_kzalloc(test, sizeof(*fs), GFP_KERNEL);
		if (!fs)
			return -ENOMEM;
		INIT_LIST_HEAD(&fs->watches);
		ret = kunit_add_named_resource(test, NULL, NULL, &fs->res,
					       MM_KUNIT_FAILSLAB, fs);
		if (ret)
			return ret;
		kunit_activate_static_stub(test, should_failslab,
					   mm_kunit_should_failslab);
	}
	w->seen = 0;
	w->failed = 0;
	list_add_tail(&w->list, &fs->watches);
	return 0;
}
#else
int mm_kunit_failslab_add(struct kunit *test, struct mm_kunit_slab_watch *w)
{
	return -EOPNOTSUPP;
}
#endif
EXPORT_SYMBOL_GPL(mm_kunit_failslab_add);

/**
 * mm_kunit_failslab_start() - count the calling thread's allocations from now
 * @test: the running test
 */
void mm_kunit_failslab_start(struct kunit *test)
{
	struct mm_kunit_failslab *fs = mm_kunit_named(test, MM_KUNIT_FAILSLAB);

	if (fs)
		fs->task = current;
}
EXPORT_SYMBOL_GPL(mm_kunit_failslab_start);

/**
 * mm_kunit_failslab_stop() - stop counting allocations
 * @test: the running test
 */
void mm_kunit_failslab_stop(struct kunit *test)
{
	struct mm_kunit_failslab *fs = mm_kunit_named(test, MM_KUNIT_FAILSLAB);

	if (fs)
		fs->task = NULL;
}
EXPORT_SYMBOL_GPL(mm_kunit_failslab_stop);

/**
 * struct mm_kunit_node_states - node states a test changed
 * @res: the named resource that finds this structure from the test
 * @saved: per state, the nodes whose bit was recorded
 * @was: per state, the recorded bits
 */
struct mm_kunit_node_states {
	struct kunit_resource res;
	nodemask_t saved[NR_NODE_STATES];
	nodemask_t was[NR_NODE_STATES];
};

static void mm_kunit_put_node_state(int nid, enum node_states state, bool set)
{
	if (state == N_ONLINE && set)
		node_set_online(nid);
	else if (state == N_ONLINE)
		node_set_offline(nid);
	else if (set)
		node_set_state(nid, state);
	else
		node_clear_state(nid, state);
}

static void mm_kunit_restore_node_states(void *data)
{
	struct mm_kunit_node_states *st = data;
	int state, nid;

	mem_hotplug_begin();
	for (state = 0; state < NR_NODE_STATES; state++)
		for_each_node_mask(nid, st->saved[state])
			mm_kunit_put_node_state(nid, state,
						node_isset(nid, st->was[state]));
	mem_hotplug_done();
}

static struct mm_kunit_node_states *mm_kunit_node_states(struct kunit *test)
{
	struct mm_kunit_node_states *st = mm_kunit_named(test, MM_KUNIT_NODE_STATES);

	if (st)
		return st;
	st = kunit_kzalloc(test, sizeof(*st), GFP_KERNEL);
	if (!st)
		return NULL;
	if (kunit_add_named_resource(test, NULL, NULL, &st->res,
				     MM_KUNIT_NODE_STATES, st))
		return NULL;
	if (kunit_add_action_or_reset(test, mm_kunit_restore_node_states, st))
		return NULL;
	return st;
}

/**
 * mm_kunit_set_node_state() - mock one node state bit for the running test
 * @test: the running test
 * @nid: the node
 * @state: the state, N_ONLINE included
 * @set: set or clear it
 *
 * Changes node_states[] under the memory hotplug lock, as online_pages(),
 * offline_pages() and try_online_node() do. The first change of a (node,
 * state) pair records the bit found, and every recorded bit is put back
 * when the test ends, also when it fails midway. Only node_states[] change:
 * the node keeps its memory, CPUs and pgdat.
 *
 * Return: 0, or -ENOMEM if the record could not be made (nothing changed).
 */
int mm_kunit_set_node_state(struct kunit *test, int nid, enum node_states state,
			    bool set)
{
	struct mm_kunit_node_states *st = mm_kunit_node_states(test);

	if (!st)
		return -ENOMEM;
	mem_hotplug_begin();
	if (!node_isset(nid, st->saved[state])) {
		node_set(nid, st->saved[state]);
		if (node_state(nid, state))
			node_set(nid, st->was[state]);
	}
	mm_kunit_put_node_state(nid, state, set);
	mem_hotplug_done();
	return 0;
}
EXPORT_SYMBOL_GPL(mm_kunit_set_node_state);
