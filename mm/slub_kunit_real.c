// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for SLUB's NUMA node handling through the real memory hotplug
 * core: a memoryless node's offline memory blocks are onlined and offlined
 * with device_online() and device_offline(), as writing their sysfs state
 * files does. The machine needs such a node (the QEMU machine in
 * tools/testing/kunit/qemu_configs/x86_64_slub_numa.py has one); elsewhere
 * the cases skip. Part of mm/slub.c, which includes it after
 * mm/slub_kunit.c under CONFIG_SLUB_HOTPLUG_REAL_KUNIT_TEST; the helpers
 * are those of mm/slub_kunit_helpers.h.
 */

#include <kunit/test.h>

#include <linux/compaction.h>
#include <linux/cpu.h>
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/device.h>
#include <linux/swap.h>
#include <linux/vmalloc.h>
#include <linux/workqueue.h>

#include "slub_kunit_helpers.h"

#define SLUB_HP_MAX_BLOCKS	16

#define SLUB_HP_OFFLINE_TIMEOUT	(30 * HZ)

/**
 * struct slub_hp_blocks - the offline memory blocks of one node
 * @nid: the node
 * @nr: number of blocks in @mem
 * @timeout: how long an offline may retry before it is interrupted
 * @quiet: an offline that does not finish is expected: report nothing
 * @online: the node's online blocks were collected, not its offline ones
 * @mem: the blocks, each with a device reference held
 */
struct slub_hp_blocks {
	int nid;
	unsigned int nr;
	unsigned long timeout;
	bool quiet;
	bool online;
	struct memory_block *mem[SLUB_HP_MAX_BLOCKS];
};

/* Collects @arg's node's offline blocks (online ones, with ->online). */
static int slub_hp_collect_block(struct memory_block *mem, void *arg)
{
	struct slub_hp_blocks *b = arg;

	if (mem->nid != b->nid || mem->state != (b->online ? MEM_ONLINE : MEM_OFFLINE) ||
	    b->nr == SLUB_HP_MAX_BLOCKS)
		return 0;
	get_device(&mem->dev);
	b->mem[b->nr++] = mem;
	return 0;
}

/*
 * Flush every CPU's slab (or sheaves) of every cache. The core's own
 * allocations for a node it onlines (the vmalloc()ed KASAN shadow of the
 * next block, and its vm_struct) leave the onlining CPU's kmalloc slab on
 * that node; the case's later allocations without a node (KUnit's records
 * of deferred actions among them) would then pin the node's memory.
 *
 * With @shrink, also release what the slab holds on free slabs, like
 * going-offline, after emptying what keeps freed slab objects pinning their
 * pages: vmalloc's lazily freed areas, its per-node pools of free areas
 * (whose vmap_area structures stay allocated until a shrinker decays the
 * pools: drop_slab()) and KASAN's quarantine.
 */
static void slub_hp_flush_caches(bool shrink)
{
	struct kmem_cache *s;

	if (shrink) {
		vm_unmap_aliases();
		drop_slab();
	}
	cpus_read_lock();
	mutex_lock(&slab_mutex);
	list_for_each_entry(s, &slab_caches, list) {
		if (shrink)
			kasan_cache_shrink(s);
		flush_all_cpus_locked(s);
		if (shrink)
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
 * @b->timeout, so that a page that never migrates fails the case (-EINTR)
 * instead of hanging the run.
 */
static int slub_hp_offline_block(struct slub_hp_blocks *b, struct memory_block *mem)
{
	struct slub_hp_watchdog wd = { .task = current };
	int ret;

	slub_hp_flush_caches(true);
	allow_signal(SIGINT);
	INIT_DELAYED_WORK_ONSTACK(&wd.work, slub_hp_watchdog_fire);
	schedule_delayed_work(&wd.work, b->timeout);
	ret = device_offline(&mem->dev);
	cancel_delayed_work_sync(&wd.work);
	destroy_delayed_work_on_stack(&wd.work);
	flush_signals(current);
	disallow_signal(SIGINT);
	if (b->quiet)
		return ret;
	if (ret == -EINTR)
		pr_err("slub_hotplug: offlining memory%u did not finish in %lu ms\n",
		       mem->dev.id, b->timeout * 1000 / HZ);
	if (ret == -EINTR || ret == -EBUSY)
		slub_hp_report_pinned(b->nid);
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
	unsigned int i;
	int ret = 0;

	lock_device_hotplug();
	mm_kunit_failslab_start(test);
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
			ret = slub_hp_offline_block(b, mem);
		} else {
			mem->online_type = online_type;
			ret = device_online(&mem->dev);
		}
		ret = ret > 0 ? 0 : ret;	/* already in that state */
	}
	mm_kunit_failslab_stop(test);
	if (online_type != MMOP_OFFLINE)
		slub_hp_flush_caches(false);
	unlock_device_hotplug();
	return ret;
}

/*
 * Put every block back in the state it was collected in, offline (or, with
 * ->online, online as movable: a movable-only node's), then drop the device
 * references. Offline in reverse, online in order, as slub_hp_set_blocks().
 */
static void slub_hp_put_blocks(void *data)
{
	struct slub_hp_blocks *b = data;
	struct memory_block *mem;
	unsigned int i;
	int ret;

	lock_device_hotplug();
	for (i = 0; i < b->nr; i++) {
		mem = b->mem[b->online ? i : b->nr - 1 - i];
		if (mem->state == (b->online ? MEM_ONLINE : MEM_OFFLINE))
			continue;
		if (b->online) {
			mem->online_type = MMOP_ONLINE_MOVABLE;
			ret = device_online(&mem->dev);
		} else {
			ret = slub_hp_offline_block(b, mem);
		}
		if (ret < 0)
			pr_err("slub_hotplug: memory%u on node %d stays %s: %d\n", mem->dev.id,
			       b->nid, b->online ? "offline" : "online", ret);
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
static void slub_hp_run_node_threads(int nid)
{
	mem_hotplug_begin();
	kswapd_run(nid);
	kcompactd_run(nid);
	mem_hotplug_done();
}

static void slub_hp_start_node_threads(struct kunit *test, int nid)
{
	slub_hp_run_node_threads(nid);
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, slub_hp_stop_node_threads,
							   (void *)(long)nid));
}

/**
 * slub_hp_real_node_of() - the offline memory blocks of a node of one kind
 * @test: the running case
 * @t: a transition whose kind names the node (a memoryless node, one with CPUs)
 *
 * Skips the case where the machine has no such node with offline
 * hot-pluggable memory. Guards the node's slab state and registers an
 * action that offlines the blocks again and drops the references.
 *
 * Return: the blocks.
 */
static struct slub_hp_blocks *slub_hp_real_node_of(struct kunit *test,
						   const struct slub_hp_trans *t)
{
	struct slub_hp_blocks *b = kunit_kzalloc(test, sizeof(*b), GFP_KERNEL);
	struct slub_hp_world w;

	KUNIT_ASSERT_NOT_NULL(test, b);
	w = slub_hp_world(test, t);
	b->nid = w.nid;
	b->timeout = SLUB_HP_OFFLINE_TIMEOUT;
	for_each_memory_block(b, slub_hp_collect_block);
	if (!b->nr)
		kunit_skip(test, "node %d has no offline memory blocks to hotplug", b->nid);
	slub_hp_guard_node(test, b->nid);
	slub_hp_start_node_threads(test, b->nid);
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, slub_hp_put_blocks, b));
	return b;
}

/* The offline memory blocks of the memoryless node without CPUs. */
static struct slub_hp_blocks *slub_hp_real_node(struct kunit *test)
{
	return slub_hp_real_node_of(test, &slub_hp_first_normal);
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

/*
 * Fills @obj with up to @nr objects of @s asked for on @nid (__GFP_NOWARN
 * added), stopping at the first failure; sets @on_node to how many came
 * from @nid. Makes no KUnit call, so a work item on another CPU can use it.
 * Returns how many allocations succeeded.
 */
static unsigned int slub_hp_fill(struct kmem_cache *s, int nid, gfp_t gfp, void **obj,
				 unsigned int nr, unsigned int *on_node)
{
	unsigned int got = 0;

	*on_node = 0;
	while (got < nr) {
		obj[got] = kmem_cache_alloc_node(s, gfp | __GFP_NOWARN, nid);
		if (!obj[got])
			break;
		if (folio_nid(virt_to_folio(obj[got])) == nid)
			(*on_node)++;
		got++;
	}
	return got;
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

	o = kunit_kzalloc(test, struct_size(o, obj, nr), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, o);
	o->s = s;
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, slub_hp_free_objs, o));
	o->nr = slub_hp_fill(s, nid, gfp, o->obj, nr, on_node);
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
	struct kmem_cache *s = slub_hp_create_cache(test, "slub_hp_real", 192, 0);
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
			    SLUB_HP_POLICY_MARK "%s: node %d tracked=%d, policy %s says %d",
			    when, w->nid,
			    slub_hp_tracked(w->nid), slub_hp_policy_names[slub_hp.policy],
			    w->tracked);
	slub_hp_expect_coverage(test, when);
}

/*
 * Onlining a memoryless node's blocks as kernel memory through the hotplug
 * core sets N_MEMORY and N_NORMAL_MEMORY, tracks the node under both
 * policies, and gives every cache a structure for it. Slab objects asked
 * for on the node come from it, with and without __GFP_THISNODE. Once the
 * suite's objects are freed the blocks offline again; the node's structures
 * survive the offline (I2) and its tracking follows the policy.
 *
 * Invariant: real hotplug path.
 */
static void test_online_kernel(struct kunit *test)
{
	struct slub_hp_blocks *b = slub_hp_real_node(test);
	struct slub_hp_world w = { .nid = b->nid, .tracked = slub_hp_tracked(b->nid) };
	struct slub_hp_placed thisnode, any;
	const struct slub_hp_snap *online;

	KUNIT_ASSERT_EQ(test, slub_hp_set_blocks(test, b, MMOP_ONLINE_KERNEL), 0);
	slub_hp_model_walk(&w, &slub_hp_first_normal, SLUB_HP_ON, false);
	slub_hp_expect_real(test, &w, true, true, "online kernel");
	slub_hp_expect_alloc(test, b->nid, SLUB_HP_ALLOC_BOTH, "online kernel");

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
	slub_hp_expect_alloc(test, b->nid, SLUB_HP_ALLOC_BOTH, "offline");
}

/*
 * Onlining the blocks as movable memory sets N_MEMORY but not
 * N_NORMAL_MEMORY; the node is tracked only under the memory policy. Slab
 * pages never come from movable memory: no object asked for on the node,
 * with or without __GFP_THISNODE, lands there. The blocks offline again.
 *
 * Invariant: real hotplug path.
 */
static void test_online_movable(struct kunit *test)
{
	struct slub_hp_blocks *b = slub_hp_real_node(test);
	struct slub_hp_world w = { .nid = b->nid, .tracked = slub_hp_tracked(b->nid) };
	struct slub_hp_placed thisnode, any;

	KUNIT_ASSERT_EQ(test, slub_hp_set_blocks(test, b, MMOP_ONLINE_MOVABLE), 0);
	slub_hp_model_walk(&w, &slub_hp_first_movable, SLUB_HP_ON, false);
	slub_hp_expect_real(test, &w, true, false, "online movable");
	slub_hp_expect_alloc(test, b->nid, SLUB_HP_ALLOC_BOTH, "online movable");

	slub_hp_alloc_twice(test, b->nid, &thisnode, &any);
	KUNIT_EXPECT_EQ_MSG(test, thisnode.got,
			    SLUB_HP_DROPS_UNTRACKED && !slub_hp_tracked(b->nid) ? 64 : 0,
			    "__GFP_THISNODE on movable-only node %d, tracked=%d",
			    b->nid, slub_hp_tracked(b->nid));
	KUNIT_EXPECT_EQ_MSG(test, thisnode.on_node, 0,
			    "%u slab objects on movable-only node %d", thisnode.on_node, b->nid);
	KUNIT_EXPECT_EQ(test, any.got, 64);
	KUNIT_EXPECT_EQ_MSG(test, any.on_node, 0,
			    "%u slab objects on movable-only node %d", any.on_node, b->nid);

	KUNIT_EXPECT_EQ(test, slub_hp_set_blocks(test, b, MMOP_OFFLINE), 0);
	slub_hp_model_walk(&w, &slub_hp_first_movable, SLUB_HP_OFF, false);
	slub_hp_expect_real(test, &w, false, false, "offline");
	slub_hp_expect_alloc(test, b->nid, SLUB_HP_ALLOC_BOTH, "offline");
}

/* A node whose memory is all movable since boot, and its blocks; skips if none. */
static struct slub_hp_blocks *slub_hp_movable_boot_node(struct kunit *test)
{
	struct slub_hp_blocks *b = kunit_kzalloc(test, sizeof(*b), GFP_KERNEL);
	int nid;

	KUNIT_ASSERT_NOT_NULL(test, b);
	b->nid = NUMA_NO_NODE;
	for_each_node_state(nid, N_MEMORY)
		if (!node_state(nid, N_NORMAL_MEMORY) && nid != slub_hp.normal_nid)
			b->nid = nid;
	if (b->nid == NUMA_NO_NODE)
		kunit_skip(test, "needs a node with movable memory only, from boot");
	b->online = true;
	b->timeout = SLUB_HP_OFFLINE_TIMEOUT;
	for_each_memory_block(b, slub_hp_collect_block);
	if (!b->nr)
		kunit_skip(test, "node %d has no online memory blocks", b->nid);
	slub_hp_guard_node(test, b->nid);
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, slub_hp_put_blocks, b));
	return b;
}

/*
 * A node whose memory has been all ZONE_MOVABLE since early boot was
 * tracked, or not, by kmem_cache_init() from node_states[]. Hotplugging the
 * same memory must give the same answer (the boot-time special case the
 * 2025 "Do not special case N_NORMAL nodes for slab_nodes" series was
 * about): its blocks are offlined, the node is left untracked as a node
 * that never had memory is, and the blocks are onlined as movable again
 * through the core; the node is then tracked exactly when it was at boot,
 * which is what the policy says of a node with movable memory only.
 *
 * Invariant: I1 coverage at boot.
 */
static void test_movable_from_boot(struct kunit *test)
{
	struct slub_hp_blocks *b = slub_hp_movable_boot_node(test);
	bool boot = slub_hp_tracked(b->nid);
	struct slub_hp_world w = { .nid = b->nid };

	KUNIT_ASSERT_EQ_MSG(test, slub_hp_set_blocks(test, b, MMOP_OFFLINE), 0,
			    "could not offline node %d's movable memory", b->nid);
	KUNIT_ASSERT_FALSE(test, node_state(b->nid, N_MEMORY));
	/*
	 * Neither generation untracks a node that loses movable memory only:
	 * start from where a node that never had memory is, untracked (its
	 * structures stay, as after any offline; the guard restores the bit),
	 * so that the online shows what hotplug alone gives.
	 */
	mutex_lock(&slab_mutex);
	slub_hp_set_tracked(b->nid, false);
	mutex_unlock(&slab_mutex);
	w.tracked = false;
	KUNIT_ASSERT_EQ(test, slub_hp_set_blocks(test, b, MMOP_ONLINE_MOVABLE), 0);
	slub_hp_model_walk(&w, &slub_hp_first_movable, SLUB_HP_ON, false);
	KUNIT_EXPECT_EQ_MSG(test, slub_hp_tracked(b->nid), boot,
			    "node %d: tracked=%d at boot, %d once the same memory is hotplugged",
			    b->nid, boot, slub_hp_tracked(b->nid));
	KUNIT_EXPECT_EQ_MSG(test, boot, w.tracked,
			    SLUB_HP_POLICY_MARK
			    "node %d, movable memory only: tracked=%d at boot, policy %s says %d",
			    b->nid, boot, slub_hp_policy_names[slub_hp.policy], w.tracked);
	slub_hp_expect_coverage(test, "movable memory from boot, hotplugged again");
}

static int slub_hp_veto_online(struct notifier_block *nb, unsigned long action, void *arg)
{
	return action == slub_hp_going_online->action ?
	       NOTIFY_BAD : NOTIFY_OK;
}

static int slub_hp_veto_offline(struct notifier_block *nb, unsigned long action, void *arg)
{
	return action == slub_hp_action(SLUB_HP_OFF, SLUB_HP_GOING)->action ?
	       NOTIFY_BAD : NOTIFY_OK;
}

KUNIT_DEFINE_ACTION_WRAPPER(slub_hp_unregister_veto, slub_hp_unregister_notifier,
			    struct notifier_block *);

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
	KUNIT_ASSERT_EQ(test, 0, slub_hp_register_notifier(nb));
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, slub_hp_unregister_veto, nb));
	return nb;
}

/*
 * A notifier after the slab's refuses the going-online: the online fails,
 * the hotplug core sends the cancel, and the slab ends as the policy says
 * for a going-online followed by its cancel. Every cache keeps the
 * structure the going-online made (I2), and a later online succeeds.
 *
 * Invariant: real hotplug path.
 */
static void test_veto_online(struct kunit *test)
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
 *
 * Invariant: real hotplug path.
 */
static void test_veto_offline(struct kunit *test)
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
 *
 * Invariant: real hotplug path.
 */
static void test_online_fails(struct kunit *test)
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
	/*
	 * I3 leaves the walk free to stop at the failing cache or to go on:
	 * what it made before the failure, and whatever it made after, stays.
	 */
	slub_hp_count(b->nid, &made, &barns, &caches);
	KUNIT_EXPECT_GE(test, made, nodes + slub_hp_pick(1, caches) - 1);
	KUNIT_EXPECT_EQ(test, made - nodes, ctx->node_watch.seen - ctx->node_watch.failed);

	slub_hp_watch_allocs(test, SLUB_HP_FAIL_NONE, 0);
	KUNIT_ASSERT_EQ(test, slub_hp_set_blocks(test, b, MMOP_ONLINE_KERNEL), 0);
	KUNIT_EXPECT_TRUE(test, slub_hp_tracked(b->nid));
	KUNIT_EXPECT_EQ(test, ctx->node_watch.seen, caches - made);
	slub_hp_expect_coverage(test, "online after failure");
	KUNIT_EXPECT_EQ(test, slub_hp_set_blocks(test, b, MMOP_OFFLINE), 0);
}

#ifdef CONFIG_HOTPLUG_CPU
/* A memoryless node with CPUs gaining movable memory, for the CPU cases. */
static const struct slub_hp_trans slub_hp_cpu_first_movable = {
	.on = "none->movable (node with CPUs)", .off = "movable->none (node with CPUs)",
	.kind = SLUB_HP_CPU_NODE, .names_nid = true, .post_memory = true,
};

/* Brings the CPU a case took down back up, if it is still down. */
static void slub_hp_cpu_back_up(void *data)
{
	unsigned int cpu = (unsigned long)data;
	int ret;

	if (cpu_online(cpu))
		return;
	ret = add_cpu(cpu);
	if (ret)
		pr_err("slub_hotplug: CPU %u stays offline: %d\n", cpu, ret);
}

/**
 * slub_hp_node_cpu() - a CPU of @nid the case can take down
 * @test: the running case
 * @nid: the node
 *
 * Skips the case where @nid has no online CPU other than the one the case
 * runs on, or where that CPU cannot go offline.
 *
 * Return: the CPU.
 */
static unsigned int slub_hp_node_cpu(struct kunit *test, int nid)
{
	unsigned int cpu;

	for_each_cpu_and(cpu, cpumask_of_node(nid), cpu_online_mask)
		if (cpu != raw_smp_processor_id() && cpu_is_hotpluggable(cpu))
			return cpu;
	kunit_skip(test, "node %d has no CPU that can go offline", nid);
	return 0;
}

/* Takes @cpu down through the CPU hotplug core until the case ends. */
static void slub_hp_cpu_down(struct kunit *test, unsigned int cpu)
{
	KUNIT_ASSERT_EQ_MSG(test, remove_cpu(cpu), 0, "CPU %u did not go offline", cpu);
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, slub_hp_cpu_back_up,
							   (void *)(unsigned long)cpu));
}

/**
 * struct slub_hp_on_cpu - allocations a work item makes on one CPU
 * @s: the cache
 * @nid: the node asked for, or NUMA_NO_NODE
 * @gfp: allocation flags (__GFP_NOWARN is added)
 * @got: how many of SLUB_HP_ON_CPU_OBJS allocations succeeded (each
 *	object is freed again on the same CPU once all are made)
 * @on_node: how many objects came from @nid
 */
struct slub_hp_on_cpu {
	struct kmem_cache *s;
	int nid;
	gfp_t gfp;
	unsigned int got;
	unsigned int on_node;
};

#define SLUB_HP_ON_CPU_OBJS	64

static long slub_hp_on_cpu_fn(void *arg)
{
	struct slub_hp_on_cpu *on = arg;
	void *obj[SLUB_HP_ON_CPU_OBJS];
	unsigned int i;

	on->got = slub_hp_fill(on->s, on->nid, on->gfp, obj, SLUB_HP_ON_CPU_OBJS,
			       &on->on_node);
	for (i = 0; i < on->got; i++)
		kmem_cache_free(on->s, obj[i]);
	return 0;
}

/*
 * A CPU that comes up on a node which gained memory while the CPU was down
 * finds the node's per-node structures and barns in place: bringing it up
 * replaces or frees none of them (I2), leaves the tracking as the policy
 * has it, and every cache still covers every tracked node (I1). From the
 * CPU, allocations with and without a node keep succeeding. The memory is
 * onlined movable: kernel memory on a node with a running CPU would take
 * that CPU's unmovable allocations and could not go offline again, and the
 * case must leave the machine as it found it.
 *
 * Invariant: I2 stability.
 */
static void test_cpu_up_after_node_gained_memory(struct kunit *test)
{
	struct slub_hp_blocks *b = slub_hp_real_node_of(test, &slub_hp_cpu_first_movable);
	struct slub_hp_world w = { .nid = b->nid, .tracked = slub_hp_tracked(b->nid) };
	unsigned int cpu = slub_hp_node_cpu(test, b->nid);
	struct slub_hp_on_cpu on = { .gfp = GFP_KERNEL };
	const struct slub_hp_snap *gained;

	slub_hp_cpu_down(test, cpu);
	KUNIT_ASSERT_EQ(test, slub_hp_set_blocks(test, b, MMOP_ONLINE_MOVABLE), 0);
	slub_hp_model_walk(&w, &slub_hp_cpu_first_movable, SLUB_HP_ON, false);
	slub_hp_expect_real(test, &w, true, false, "node gained memory, CPU down");
	gained = slub_hp_snapshot(test);

	KUNIT_ASSERT_EQ_MSG(test, add_cpu(cpu), 0, "CPU %u did not come up", cpu);
	slub_hp_expect_kept(test, gained, false, "CPU up");
	slub_hp_expect_real(test, &w, true, false, "CPU up");

	on.s = slub_hp_create_cache(test, "slub_hp_cpu_up", 192, 0);
	for (on.nid = NUMA_NO_NODE; on.nid < (int)nr_node_ids; on.nid++) {
		if (on.nid != NUMA_NO_NODE && !node_state(on.nid, N_ONLINE))
			continue;
		work_on_cpu(cpu, slub_hp_on_cpu_fn, &on);
		KUNIT_EXPECT_EQ_MSG(test, on.got, SLUB_HP_ON_CPU_OBJS,
				    "CPU %u (node %d) up: allocations for node %d failed",
				    cpu, b->nid, on.nid);
	}
	kunit_release_action(test, slub_hp_destroy_cache, on.s);
	KUNIT_EXPECT_EQ(test, slub_hp_set_blocks(test, b, MMOP_OFFLINE), 0);
}

/*
 * A CPU that goes down hands back every object its caches hold for it (its
 * CPU slab and partial slabs, or its sheaves): with the CPU down nothing
 * else flushes them, and a node whose free slabs only that CPU held must
 * still be able to lose its memory (I6). The objects are allocated on the
 * memoryless node's new memory from a CPU of the memoryless node with CPUs,
 * and freed there (such a CPU caches remote objects); the cache, made
 * before the node gained memory, lives on.
 *
 * Invariant: I6 going-offline releases free slabs.
 */
static void test_cpu_down_releases_node(struct kunit *test)
{
	struct slub_hp_blocks *b = slub_hp_real_node(test);
	struct slub_hp_on_cpu on = { .nid = b->nid, .gfp = GFP_KERNEL | __GFP_THISNODE };
	unsigned int cpu;

	if (slub_hp.cpu_nid == NUMA_NO_NODE)
		kunit_skip(test, "needs an online NUMA node with CPUs and no memory");
	cpu = slub_hp_node_cpu(test, slub_hp.cpu_nid);
	/* Made first: a cache made later has its structure for the node on it. */
	on.s = slub_hp_create_cache(test, "slub_hp_cpu_down", 192, 0);
	KUNIT_ASSERT_EQ(test, slub_hp_set_blocks(test, b, MMOP_ONLINE_KERNEL), 0);
	work_on_cpu(cpu, slub_hp_on_cpu_fn, &on);
	KUNIT_ASSERT_EQ_MSG(test, on.got, SLUB_HP_ON_CPU_OBJS,
			    "allocations on node %d from CPU %u failed", b->nid, cpu);
	KUNIT_ASSERT_EQ(test, on.on_node, SLUB_HP_ON_CPU_OBJS);

	slub_hp_cpu_down(test, cpu);
	KUNIT_EXPECT_EQ_MSG(test, slub_hp_set_blocks(test, b, MMOP_OFFLINE), 0,
			    "node %d stayed pinned after CPU %u, which freed its objects, went down",
			    b->nid, cpu);
}
#else
static void test_cpu_up_after_node_gained_memory(struct kunit *test)
{
	kunit_skip(test, "needs CONFIG_HOTPLUG_CPU");
}

static void test_cpu_down_releases_node(struct kunit *test)
{
	kunit_skip(test, "needs CONFIG_HOTPLUG_CPU");
}
#endif /* CONFIG_HOTPLUG_CPU */

#define SLUB_HP_STRESS_THREADS	2
#define SLUB_HP_STRESS_MS	3000

/**
 * struct slub_hp_stressor - a thread that churns caches during hotplug
 * @task: the thread
 * @name: the name of its caches, its own (DEBUG_VM warns about duplicates)
 * @caches: caches it created
 * @objects: objects it allocated
 * @uncovered: caches that lacked a structure for a node tracked right after
 *	they were created (under slab_mutex)
 * @pause: shared; while set, the thread waits between two caches
 */
struct slub_hp_stressor {
	struct task_struct *task;
	const bool *pause;
	char name[24];
	unsigned int caches;
	unsigned int objects;
	unsigned int uncovered;
};

/* Whether @s covers every tracked node, read under slab_mutex. */
static bool slub_hp_covered_now(struct kmem_cache *s)
{
	bool covered = true;
	int nid;

	mutex_lock(&slab_mutex);
	for_each_node(nid)
		if (slub_hp_tracked_locked(nid) && !get_node(s, nid))
			covered = false;
	mutex_unlock(&slab_mutex);
	return covered;
}

static int slub_hp_stress_fn(void *data)
{
	struct slub_hp_stressor *st = data;
	struct kmem_cache *s;
	void *obj;
	int nid;

	while (!kthread_should_stop()) {
		if (READ_ONCE(*st->pause)) {
			msleep(20);
			continue;
		}
		s = kmem_cache_create(st->name, 64 + 64 * (st->caches % 4), 0,
				      SLAB_NO_MERGE, NULL);
		if (!s) {
			schedule_timeout_interruptible(1);
			continue;
		}
		st->caches++;
		if (!slub_hp_covered_now(s))
			st->uncovered++;
		for_each_node(nid) {
			obj = kmem_cache_alloc_node(s, GFP_KERNEL | __GFP_NOWARN, nid);
			if (obj) {
				st->objects++;
				kmem_cache_free(s, obj);
			}
		}
		kmem_cache_destroy(s);
		cond_resched();
	}
	return 0;
}

static void slub_hp_stop_stressor(void *data)
{
	struct slub_hp_stressor *st = data;

	kthread_stop(st->task);
	put_task_struct(st->task);
}

/*
 * Offline @b while the threads run: objects in flight keep slab pages on the
 * node, so an offline may be refused (-EBUSY) or retry without end; it is
 * cut short (-EINTR) after a quarter of a second. Either is no failure.
 */
static int slub_hp_try_offline(struct kunit *test, struct slub_hp_blocks *b)
{
	int ret;

	b->timeout = HZ / 4;
	b->quiet = true;
	ret = slub_hp_set_blocks(test, b, MMOP_OFFLINE);
	b->timeout = SLUB_HP_OFFLINE_TIMEOUT;
	b->quiet = false;
	KUNIT_EXPECT_TRUE_MSG(test, !ret || ret == -EBUSY || ret == -EINTR,
			      "offline during the stress failed: %d", ret);
	return ret;
}

/*
 * A bounded stress: threads create caches, allocate from them on every node
 * and destroy them, while the memoryless node's memory is onlined (as kernel
 * and as movable memory in turn) and offlined through the hotplug core,
 * every other time with the threads paused between two caches.
 * Nothing may crash or splat (the runner reads the kernel log); every cache
 * covers every node tracked right after its creation; online never fails;
 * once the threads stop the memory offlines and coverage holds.
 *
 * Invariant: I1 under concurrency (real hotplug).
 */
static void test_stress(struct kunit *test)
{
	struct slub_hp_blocks *b = slub_hp_real_node(test);
	unsigned long until = jiffies + msecs_to_jiffies(SLUB_HP_STRESS_MS);
	struct slub_hp_stressor *st;
	unsigned int i, cycles = 0, offlined = 0, caches = 0;
	bool pause = false;

	st = kunit_kcalloc(test, SLUB_HP_STRESS_THREADS, sizeof(*st), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, st);
	for (i = 0; i < SLUB_HP_STRESS_THREADS; i++) {
		st[i].pause = &pause;
		snprintf(st[i].name, sizeof(st[i].name), "slub_hp_stress%u", i);
		st[i].task = kthread_run(slub_hp_stress_fn, &st[i], "slub_hp_stress/%u", i);
		KUNIT_ASSERT_FALSE(test, IS_ERR(st[i].task));
		get_task_struct(st[i].task);
		KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, slub_hp_stop_stressor,
								   &st[i]));
	}
	/* Online as kernel and as movable memory in turn; offline when it can. */
	while (time_before(jiffies, until)) {
		if (b->mem[0]->state == MEM_OFFLINE) {
			/* The offline stopped them; online must not start them. */
			slub_hp_run_node_threads(b->nid);
			KUNIT_EXPECT_EQ(test, slub_hp_set_blocks(test, b, cycles % 2 ?
								 MMOP_ONLINE_MOVABLE :
								 MMOP_ONLINE_KERNEL), 0);
			cycles++;
		}
		msleep(50);
		/* Every other offline with the threads between two caches. */
		WRITE_ONCE(pause, cycles % 2);
		offlined += !slub_hp_try_offline(test, b);
		WRITE_ONCE(pause, false);
	}
	for (i = 0; i < SLUB_HP_STRESS_THREADS; i++) {
		kunit_release_action(test, slub_hp_stop_stressor, &st[i]);
		caches += st[i].caches;
		KUNIT_EXPECT_EQ_MSG(test, st[i].uncovered, 0,
				    "thread %u: %u of %u caches lacked a tracked node", i,
				    st[i].uncovered, st[i].caches);
	}
	KUNIT_EXPECT_EQ_MSG(test, slub_hp_set_blocks(test, b, MMOP_OFFLINE), 0,
			    "offline failed once the threads stopped");
	slub_hp_expect_coverage(test, "after the stress");
	kunit_info(test, "%u online/offline cycles (%u offlined) beside %u caches\n",
		   cycles, offlined, caches);
	KUNIT_EXPECT_GT(test, cycles, 0);
	KUNIT_EXPECT_GT(test, caches, 0);
}

static struct kunit_case slub_hotplug_real_cases[] = {
	KUNIT_CASE_SLOW(test_online_kernel),
	KUNIT_CASE_SLOW(test_online_movable),
	KUNIT_CASE_SLOW(test_veto_online),
	KUNIT_CASE_SLOW(test_veto_offline),
	KUNIT_CASE_SLOW(test_online_fails),
	KUNIT_CASE_SLOW(test_stress),
	KUNIT_CASE_SLOW(test_movable_from_boot),
	KUNIT_CASE_SLOW(test_cpu_up_after_node_gained_memory),
	KUNIT_CASE_SLOW(test_cpu_down_releases_node),
	{}
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
 * Registered with the synthetic-event suite, which mm/slub_kunit.c then
 * leaves to this file: suites run in the order of one kunit_test_suites(),
 * and the synthetic events come first so that a real offline gone wrong
 * cannot take them with it.
 */
kunit_test_suites(&slub_hotplug_suite, &slub_hotplug_real_suite);
