/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Walking the hotplug core's sequences for the SLUB NUMA hotplug tests: the
 * node a transition acts on (memoryless with or without CPUs, offline, or a
 * boot node whose loss of memory is mocked), and the events the core would
 * send for it, one by one, checked against the model; also one event sent
 * from a thread of its own. Part of mm/slub.c, through mm/slub_kunit.c.
 */
#ifndef _MM_SLUB_KUNIT_WALK_H
#define _MM_SLUB_KUNIT_WALK_H

#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/sched.h>

#include "slub_kunit_helpers.h"

/**
 * struct slub_hp_world - the node under test and what the model expects
 * @nid: the node whose memory changes
 * @tracked: whether the model expects @nid to be tracked
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

/* Update the model for @act on @t, which the callback answered with @ret. */
static void slub_hp_advance(struct slub_hp_world *w, const struct slub_hp_action *act,
			    const struct slub_hp_trans *t, int ret)
{
	w->tracked = slub_hp_model(act, t, w->tracked);
	if (SLUB_HP_HAS_BARNS && act->dir == SLUB_HP_ON && act->role == SLUB_HP_GOING &&
	    ret == NOTIFY_OK)
		w->barn_tracked = true;
}

/* Deliver @act for @t, update the model, return the callback's result. */
static int slub_hp_step(struct kunit *test, struct slub_hp_world *w,
			const struct slub_hp_action *act, const struct slub_hp_trans *t)
{
	int ret;

	ret = slub_hp_notify(test, act->action, slub_hp_arg_nid(w, t->names_nid),
			     slub_hp_arg_nid(w, t->names_normal));
	slub_hp_advance(w, act, t, ret);
	return ret;
}

/**
 * struct slub_hp_sender - one notifier event sent from a thread of its own
 * @task: the sending thread
 * @action: MEM_* or NODE_* action
 * @nid: node argument, as for slub_hp_notify()
 * @nid_normal: normal-memory node argument (memory notifier only)
 * @ret: the callback's return value
 * @done: completed once the callback has returned
 */
struct slub_hp_sender {
	struct task_struct *task;
	unsigned long action;
	int nid;
	int nid_normal;
	int ret;
	struct completion done;
};

/*
 * The case's thread holds the memory hotplug lock for the sender; the
 * sender takes the CPU hotplug read lock the callback asserts. So the one
 * lock it can sleep on is slab_mutex.
 */
static int slub_hp_sender_fn(void *data)
{
	struct slub_hp_sender *snd = data;

	cpus_read_lock();
	snd->ret = slub_hp_call(snd->action, snd->nid, snd->nid_normal);
	cpus_read_unlock();
	complete(&snd->done);
	while (!kthread_should_stop())
		schedule_timeout_interruptible(HZ / 10);
	return 0;
}

/* Deferred action: stop a case's thread and drop the case's reference. */
static void slub_hp_thread_stop(void *task)
{
	kthread_stop(task);
	put_task_struct(task);
}

/**
 * slub_hp_sender() - prepare a thread that delivers @act for @t
 * @test: the running case
 * @w: the node under test
 * @act: the action to deliver
 * @t: the transition it belongs to
 *
 * The nodes named are guarded, as slub_hp_notify() does. The thread is
 * created asleep; wake it with wake_up_process(). It is stopped when the
 * case ends.
 *
 * Return: the sender, owned by the case.
 */
static struct slub_hp_sender *slub_hp_sender(struct kunit *test, const struct slub_hp_world *w,
					     const struct slub_hp_action *act,
					     const struct slub_hp_trans *t)
{
	struct slub_hp_sender *snd = kunit_kzalloc(test, sizeof(*snd), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, snd);
	snd->action = act->action;
	snd->nid = slub_hp_arg_nid(w, t->names_nid);
	snd->nid_normal = slub_hp_arg_nid(w, t->names_normal);
	slub_hp_guard_node(test, snd->nid);
	slub_hp_guard_node(test, snd->nid_normal);
	init_completion(&snd->done);
	snd->task = kthread_create(slub_hp_sender_fn, snd, "slub_hp_sender");
	KUNIT_ASSERT_FALSE(test, IS_ERR(snd->task));
	get_task_struct(snd->task);
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, slub_hp_thread_stop, snd->task));
	return snd;
}

/*
 * Whether the sender has delivered its event, or sleeps uninterruptibly (on
 * slab_mutex) at two looks 10 ms apart.
 */
static bool slub_hp_sender_settled(struct slub_hp_sender *snd)
{
	if (completion_done(&snd->done))
		return true;
	if (READ_ONCE(snd->task->__state) != TASK_UNINTERRUPTIBLE)
		return false;
	usleep_range(10000, 11000);
	return completion_done(&snd->done) ||
	       READ_ONCE(snd->task->__state) == TASK_UNINTERRUPTIBLE;
}

/* The node's tracking bits are what the model says. */
static void slub_hp_expect_model(struct kunit *test, const struct slub_hp_world *w,
				 const char *when)
{
	bool tracked = slub_hp_tracked(w->nid);
	bool barn_tracked = slub_hp_barn_tracked(w->nid);

	KUNIT_EXPECT_EQ_MSG(test, tracked, w->tracked,
			    "%s: node %d tracked=%d, policy %s says %d", when, w->nid,
			    tracked, slub_hp_policy_names[slub_hp.policy], w->tracked);
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
 * Walk one direction of @t up to (not including) @stop, as the hotplug core
 * would, checking each step against the model. With @cancel, the sequence is
 * the vetoed one: GOING then CANCEL.
 */
static void slub_hp_walk(struct kunit *test, struct slub_hp_world *w,
			 const struct slub_hp_trans *t, enum slub_hp_dir dir,
			 bool cancel, enum slub_hp_role stop)
{
	unsigned int i, len;
	const enum slub_hp_role *seq = slub_hp_seq(cancel, &len);

	for (i = 0; i < len && seq[i] != stop; i++) {
		const struct slub_hp_action *act;
		int ret;

		if (seq[i] == SLUB_HP_STATES) {
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

/* Update the model for a whole online (or offline) of @t through the core. */
static void slub_hp_model_walk(struct slub_hp_world *w, const struct slub_hp_trans *t,
			       enum slub_hp_dir dir, bool cancel)
{
	unsigned int i, len;
	const enum slub_hp_role *seq = slub_hp_seq(cancel, &len);
	const struct slub_hp_action *act;

	for (i = 0; i < len; i++) {
		act = slub_hp_find(dir, seq[i]);
		if (act)
			w->tracked = slub_hp_model(act, t, w->tracked);
	}
}

/*
 * Bring the node under test to where the hotplug core would send @act for
 * @t: through the events that precede it, mocking node_states[] between.
 */
static void slub_hp_lead_up(struct kunit *test, struct slub_hp_world *w,
			    const struct slub_hp_trans *t, const struct slub_hp_action *act)
{
	if (t->starts_online) {
		if (act->dir == SLUB_HP_ON)
			slub_hp_walk(test, w, t, SLUB_HP_OFF, false, SLUB_HP_END);
	} else {
		if (t->prelude)
			slub_hp_walk(test, w, t->prelude, SLUB_HP_ON, false, SLUB_HP_END);
		if (t->cycle) {
			slub_hp_walk(test, w, t, SLUB_HP_ON, false, SLUB_HP_END);
			slub_hp_walk(test, w, t, SLUB_HP_OFF, false, SLUB_HP_END);
		}
		if (act->dir == SLUB_HP_OFF)
			slub_hp_walk(test, w, t, SLUB_HP_ON, false, SLUB_HP_END);
	}
	slub_hp_walk(test, w, t, act->dir, act->role == SLUB_HP_CANCEL, act->role);
}

/* The memoryless node, untouched by earlier cases; skips if there is none. */
static int slub_hp_memless(struct kunit *test)
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
static int slub_hp_cpu_node(struct kunit *test)
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
static int slub_hp_offline(struct kunit *test)
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
static struct slub_hp_world slub_hp_world(struct kunit *test, const struct slub_hp_trans *t)
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
	return w;
}

#endif /* _MM_SLUB_KUNIT_WALK_H */
