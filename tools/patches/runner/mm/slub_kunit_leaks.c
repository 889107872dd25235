// SPDX-License-Identifier: GPL-2.0
/*
 * The kmemleak scan after the SLUB hotplug suites, for tools/slub-kunit run
 * --debug: objects the suites allocated and lost are reported as a failed
 * case. It reads kmemleak's debugfs file the way a user does, from a kernel
 * thread with a mm of its own, which upstream would not take: the runner's
 * own patch builds it (CONFIG_DEBUG_KMEMLEAK kernels only), and the series
 * tools/slub-kunit exports leaves it out.
 */

#include <kunit/test.h>
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/mman.h>
#include <linux/mount.h>
#include <linux/sched/mm.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

/* Objects allocated from here on are the suites': they run after it. */
static unsigned long slub_hp_start;

static int __init slub_hp_leaks_start(void)
{
	slub_hp_start = jiffies;
	return 0;
}
late_initcall_sync(slub_hp_leaks_start);

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
	    time_before(allocated, slub_hp_start))
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
 *
 * Invariant: no leaks.
 */
static void test_no_new_leaks(struct kunit *test)
{
	unsigned int leaks = 0, reported = 0;
	char *buf, *entry, *next;
	ssize_t len;

	buf = kunit_kzalloc(test, SLUB_HP_LEAK_REPORT, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	/* What the suites' restores handed to call_rcu_tasks() is freed by now. */
	if (IS_ENABLED(CONFIG_TASKS_RCU))
		rcu_barrier_tasks();
	else
		rcu_barrier();
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

static struct kunit_case slub_hotplug_leaks_cases[] = {
	KUNIT_CASE_SLOW(test_no_new_leaks),
	{}
};

/*
 * Its own object, linked right after mm/slub.o, so that KUnit runs it after
 * the suites there (one section, in link order). The runner checks that it
 * ran last.
 */
static struct kunit_suite slub_hotplug_leaks_suite = {
	.name = "slub_hotplug_leaks",
	.test_cases = slub_hotplug_leaks_cases,
};

kunit_test_suites(&slub_hotplug_leaks_suite);
