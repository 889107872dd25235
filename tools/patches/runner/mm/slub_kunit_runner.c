// SPDX-License-Identifier: GPL-2.0
/*
 * What only tools/slub-kunit needs of the SLUB hotplug tests, kept out of
 * the series it exports: a kernel parameter for the policy the tests expect
 * (to judge a patch that changes it) and running the suites up to five times
 * in one boot (to see whether a run depends on what an earlier one left).
 * The kmemleak scan after the last suite is mm/slub_kunit_leaks.c.
 *
 * Included at the end of mm/slub.c after mm/slub_kunit.c, by the runner's
 * own patch, which also adds CONFIG_SLUB_HOTPLUG_KUNIT_REPEAT.
 */

#include <linux/moduleparam.h>

#undef MODULE_PARAM_PREFIX
#define MODULE_PARAM_PREFIX "slub_hotplug_kunit."

static int slub_hp_policy_set(const char *val, const struct kernel_param *kp)
{
	int i = sysfs_match_string(slub_hp_policy_names, val);

	if (i < 0)
		return -EINVAL;
	slub_hp.policy = i;
	return 0;
}

static int slub_hp_policy_get(char *buffer, const struct kernel_param *kp)
{
	return sysfs_emit(buffer, "%s\n", slub_hp_policy_names[slub_hp.policy]);
}

static const struct kernel_param_ops slub_hp_policy_ops = {
	.set = slub_hp_policy_set,
	.get = slub_hp_policy_get,
};

/* slub_hotplug_kunit.policy=normal|memory on the kernel command line. */
module_param_cb(policy, &slub_hp_policy_ops, NULL, 0644);
MODULE_PARM_DESC(policy, "node-tracking policy the tests expect: normal or memory");

/*
 * CONFIG_SLUB_HOTPLUG_KUNIT_REPEAT runs both suites that many times in one
 * boot, as slub_hotplug_runN and slub_hotplug_real_runN: a case that
 * depends on what an earlier run left behind gives a different result.
 * The real-hotplug suite has its own option.
 */
#ifdef CONFIG_SLUB_HOTPLUG_REAL_KUNIT_TEST
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
};										\
kunit_test_suites(&slub_hotplug_suite_run##n, &slub_hotplug_real_suite_run##n)
#else
#define SLUB_HP_RUN(n)								\
static struct kunit_suite slub_hotplug_suite_run##n = {			\
	.name = "slub_hotplug_run" #n,						\
	.suite_init = slub_hp_suite_init,					\
	.init = slub_hp_case_init,						\
	.test_cases = slub_hotplug_cases,					\
};										\
kunit_test_suite(slub_hotplug_suite_run##n)
#endif

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
