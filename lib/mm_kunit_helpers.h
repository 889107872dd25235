/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KUnit helpers for memory-management tests: fail chosen slab allocations
 * of the running test from inside the allocator, and mock a node's
 * node_states[] for the length of a test.
 */
#ifndef _LIB_MM_KUNIT_HELPERS_H
#define _LIB_MM_KUNIT_HELPERS_H

#include <linux/list.h>
#include <linux/nodemask.h>
#include <linux/types.h>

struct kunit;
struct kmem_cache;

/**
 * struct mm_kunit_slab_watch - slab allocations a test counts, and may fail
 * @match: whether an allocation from the cache counts; NULL counts all
 * @hook: called for every counted allocation before it is judged; may be NULL
 * @data: passed to @match and @hook
 * @fail_at: fail the @fail_at-th counted allocation (1-based); 0 fails none
 * @seen: counted allocations so far
 * @failed: allocations this watch failed
 * @list: internal
 *
 * The caller owns the structure (kunit_kzalloc() it); the helpers only link
 * it to the test, and unlink it when the test ends.
 */
struct mm_kunit_slab_watch {
	bool (*match)(const struct kmem_cache *s, void *data);
	void (*hook)(struct mm_kunit_slab_watch *w, void *data);
	void *data;
	unsigned int fail_at;
	unsigned int seen;
	unsigned int failed;
	struct list_head list;
};

int mm_kunit_failslab_add(struct kunit *test, struct mm_kunit_slab_watch *w);
void mm_kunit_failslab_start(struct kunit *test);
void mm_kunit_failslab_stop(struct kunit *test);

int mm_kunit_set_node_state(struct kunit *test, int nid, enum node_states state,
			    bool set);

#endif /* _LIB_MM_KUNIT_HELPERS_H */
