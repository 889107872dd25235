/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The model the SLUB NUMA hotplug tests hold the kernel to: the actions of
 * the hotplug notifier, the order in which the hotplug core sends them, the
 * transitions of a node's memory, and the tracking policy:
 *
 *   normal  a node is tracked while it has normal (non-movable) memory;
 *           offlining the last normal memory untracks it (up to 6.16)
 *   memory  a node is tracked once it has any memory and is never
 *           untracked (the 2025 "numa node notifier" series; 6.17 on)
 *
 * slub_hp.policy starts as the policy of the generation being built. Also
 * the nodes a run works on. Part of mm/slub.c, through mm/slub_kunit.c.
 */
#ifndef _MM_SLUB_KUNIT_MODEL_H
#define _MM_SLUB_KUNIT_MODEL_H

#include <linux/memory.h>
#include <linux/node.h>
#include <linux/nodemask.h>

/* ---------------------------------------------------------------------- */
/* The model: actions, transitions and the policy                           */
/* ---------------------------------------------------------------------- */

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

struct slub_hp_action {
	unsigned long action;
	const char *name;
	enum slub_hp_dir dir;
	enum slub_hp_role role;
};

#define SLUB_HP_ACTION(a, d, r) { .action = a, .name = #a, .dir = d, .role = r }

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

enum slub_hp_fault_target {
	SLUB_HP_FAIL_NONE,
	SLUB_HP_FAIL_NODE,	/* the k-th kmem_cache_node allocation */
	SLUB_HP_FAIL_BARN,	/* the k-th barn allocation (kmalloc) */
};

/* Which allocation a going-online is made to fail at (I3). */
struct slub_hp_fault_param {
	const char *desc;
	enum slub_hp_fault_target target;
	unsigned int where;	/* 0: first, 1: middle, 2: last */
};

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

#include "slub_kunit_compat.h"

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

/*
 * The run's policy and the nodes it works on, chosen by slub_hp_suite_init().
 * NUMA_NO_NODE where the machine has no such node; cases that need one skip.
 */
static struct {
	enum slub_hp_policy policy;
	int normal_nid;		/* has normal memory, tracked */
	int other_nid;		/* a second node with normal memory */
	int memless_nid;	/* possible, no memory, untracked, no structures */
	int cpu_nid;		/* online, CPUs, no memory, untracked, no structures */
	int offline_nid;	/* possible but not online */
} slub_hp = {
	.policy = SLUB_HP_DEFAULT_POLICY,
};

static const struct slub_hp_action *slub_hp_find(enum slub_hp_dir dir, enum slub_hp_role role)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(slub_hp_actions); i++)
		if (slub_hp_actions[i].dir == dir && slub_hp_actions[i].role == role)
			return &slub_hp_actions[i];
	return NULL;
}

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

#endif /* _MM_SLUB_KUNIT_MODEL_H */
