# SPDX-License-Identifier: GPL-2.0
#
# The work tree never writes through to the pristine (user's) tree, applies
# patches in order, names the patch that fails, and keeps mtimes of files
# whose content did not change.

import os
import shutil
import stat
import tempfile
import unittest

from slub_kunit.common import UserError
from slub_kunit.inbox import patches
from slub_kunit.kernel import slubc, tree
from slub_kunit.status import Exit

EXIT_PATCH = Exit.PATCH

SLUB = 'int a;\nint b;\nint c;\n'

PATCH_B = '''--- a/mm/slub.c
+++ b/mm/slub.c
@@ -1,3 +1,3 @@
 int a;
-int b;
+int b2;
 int c;
'''

PATCH_C = '''From: x
Subject: [PATCH 2/2] c

---
--- a/mm/slub.c
+++ b/mm/slub.c
@@ -1,3 +1,3 @@
 int a;
 int b2;
-int c;
+int c2;
'''

PATCH_BAD = PATCH_B.replace('-int b;', '-int zz;')

PATCH_DEL = '''--- a/Makefile
+++ /dev/null
@@ -1 +0,0 @@
-VERSION = 6
'''

PATCH_NEW = '''--- /dev/null
+++ b/mm/new/added.c
@@ -0,0 +1 @@
+int added;
'''


def snapshot(root):
	"""Content, mode and mtime of every file below root."""
	out = {}
	for d, _, files in os.walk(root):
		for name in files:
			path = os.path.join(d, name)
			st = os.stat(path)
			with open(path, 'rb') as f:
				out[os.path.relpath(path, root)] = (f.read(), st.st_mode, st.st_mtime_ns)
	return out


class WorkTreeTest(unittest.TestCase):

	def setUp(self):
		self.tmp = tempfile.mkdtemp(prefix='slub-kunit-test-')
		self.pristine = os.path.join(self.tmp, 'linux')
		self.repo = os.path.join(self.tmp, 'repo')
		self.work_root = os.path.join(self.tmp, 'work')
		os.makedirs(os.path.join(self.pristine, 'mm'))
		with open(os.path.join(self.pristine, 'mm/slub.c'), 'w') as f:
			f.write(SLUB)
		with open(os.path.join(self.pristine, 'Makefile'), 'w') as f:
			f.write('VERSION = 6\n')
		os.makedirs(os.path.join(self.repo, 'mm'))
		os.makedirs(os.path.join(self.repo, 'tools/patches'))
		with open(os.path.join(self.repo, 'mm/slub_kunit.c'), 'w') as f:
			f.write('/* suite */\n')
		with open(os.path.join(self.repo, 'tools/patches/series'), 'w') as f:
			f.write('')
		self.before = snapshot(self.pristine)

	def tearDown(self):
		for d, dirs, _ in os.walk(self.tmp):
			for name in dirs:
				os.chmod(os.path.join(d, name), 0o755)
		shutil.rmtree(self.tmp)

	def patch_file(self, name, text):
		path = os.path.join(self.tmp, name)
		with open(path, 'w') as f:
			f.write(text)
		return path

	reuse = False

	def prepare(self, files, edits=None):
		return tree.prepare(self.pristine, 'test tree', self.work_root, 'k',
				    patches.read_all(files), repo=self.repo, edits=edits,
				    reuse=self.reuse).path

	def read(self, work, rel):
		with open(os.path.join(work, rel)) as f:
			return f.read()

	def test_overlay_and_patches_in_order(self):
		work = self.prepare([self.patch_file('b.patch', PATCH_B),
				     self.patch_file('c.mbox', PATCH_C)])
		self.assertEqual(self.read(work, 'mm/slub.c'), 'int a;\nint b2;\nint c2;\n')
		self.assertEqual(self.read(work, 'mm/slub_kunit.c'), '/* suite */\n')
		self.assertEqual(snapshot(self.pristine), self.before)

	def test_failing_patch_is_named_and_changes_nothing(self):
		self.prepare([])
		work_before = snapshot(os.path.join(self.work_root, 'k'))
		with self.assertRaises(UserError) as ctx:
			self.prepare([self.patch_file('bad.patch', PATCH_BAD)])
		self.assertIn('bad.patch', str(ctx.exception))
		self.assertEqual(ctx.exception.code, EXIT_PATCH)
		self.assertEqual(snapshot(self.pristine), self.before)
		self.assertEqual(snapshot(os.path.join(self.work_root, 'k')), work_before)
		self.assertFalse(os.path.exists(os.path.join(self.work_root, 'k.staging')))

	def test_read_only_tree(self):
		for d, _, _ in os.walk(self.pristine):
			os.chmod(d, 0o555)
		os.chmod(os.path.join(self.pristine, 'mm/slub.c'), 0o444)
		before = snapshot(self.pristine)
		work = self.prepare([self.patch_file('b.patch', PATCH_B)])
		self.assertIn('b2', self.read(work, 'mm/slub.c'))
		self.assertEqual(snapshot(self.pristine), before)

	def test_unchanged_content_keeps_mtime(self):
		patch = self.patch_file('b.patch', PATCH_B)
		work = self.prepare([patch])
		first = os.stat(os.path.join(work, 'mm/slub.c')).st_mtime_ns
		work = self.prepare([patch])
		self.assertEqual(os.stat(os.path.join(work, 'mm/slub.c')).st_mtime_ns, first)

	def test_file_edited_in_place_gets_newer_mtime(self):
		os.makedirs(os.path.join(self.pristine, 'mm'), exist_ok=True)
		with open(os.path.join(self.pristine, 'mm/memory_hotplug.c'), 'w') as f:
			f.write('core\n')
		os.utime(os.path.join(self.pristine, 'mm/memory_hotplug.c'), ns=(10**9, 10**9))
		work = self.prepare([])
		tree.mark_modified(work, 'mm/memory_hotplug.c')
		work = self.prepare([])
		self.assertGreater(os.stat(os.path.join(work, 'mm/memory_hotplug.c')).st_mtime_ns, 10**9)
		self.assertEqual(os.stat(os.path.join(self.pristine, 'mm/memory_hotplug.c')).st_mtime_ns,
				 10**9)

	def test_dropped_patch_gives_newer_file(self):
		work = self.prepare([self.patch_file('b.patch', PATCH_B)])
		patched = os.stat(os.path.join(work, 'mm/slub.c')).st_mtime_ns
		os.utime(os.path.join(work, 'mm/slub.c'), ns=(patched, patched))
		work = self.prepare([])
		self.assertEqual(self.read(work, 'mm/slub.c'), SLUB)
		self.assertGreaterEqual(os.stat(os.path.join(work, 'mm/slub.c')).st_mtime_ns, patched)
		self.assertEqual(snapshot(self.pristine), self.before)


	def test_deleting_and_adding_patches_undone_when_dropped(self):
		self.prepare([self.patch_file('del.patch', PATCH_DEL),
			      self.patch_file('new.patch', PATCH_NEW)])
		work = os.path.join(self.work_root, 'k')
		self.assertFalse(os.path.exists(os.path.join(work, 'Makefile')))
		self.assertEqual(self.read(work, 'mm/new/added.c'), 'int added;\n')
		self.prepare([])
		self.assertEqual(self.read(work, 'Makefile'), 'VERSION = 6\n')
		self.assertFalse(os.path.exists(os.path.join(work, 'mm/new/added.c')))
		self.assertEqual(snapshot(self.pristine), self.before)

	def test_failing_patch_after_deleting_one_changes_nothing(self):
		self.prepare([self.patch_file('b.patch', PATCH_B)])
		work = os.path.join(self.work_root, 'k')
		work_before = snapshot(work)
		with self.assertRaises(UserError):
			self.prepare([self.patch_file('del.patch', PATCH_DEL),
				      self.patch_file('bad.patch', PATCH_BAD)])
		self.assertEqual(snapshot(work), work_before)
		self.assertEqual(snapshot(self.pristine), self.before)

	def test_failing_patch_after_a_path_marked_twice(self):
		"""mark_modified() appends: a path the manifest lists twice is put
		back once, and a failing patch still leaves the tree as it was."""
		work = self.prepare([self.patch_file('b.patch', PATCH_B)])
		tree.mark_modified(work, 'mm/slub.c')
		tree.mark_modified(work, 'mm/slub.c')
		work_before = snapshot(work)
		with self.assertRaises(UserError) as ctx:
			self.prepare([self.patch_file('bad.patch', PATCH_BAD)])
		self.assertEqual(ctx.exception.code, EXIT_PATCH)
		self.assertEqual({k: v[0] for k, v in snapshot(work).items()},
				 {k: v[0] for k, v in work_before.items()})
		self.assertEqual(snapshot(self.pristine), self.before)

	def test_mutant_edit_then_back(self):
		work = self.prepare([], edits={'mm/slub.c': 'int mutant;\n'})
		self.assertEqual(self.read(work, 'mm/slub.c'), 'int mutant;\n')
		work = self.prepare([])
		self.assertEqual(self.read(work, 'mm/slub.c'), SLUB)
		self.assertEqual(snapshot(self.pristine), self.before)


class RefreshWorkTreeTest(WorkTreeTest):
	"""The same cases with a Debian tree's in-place refresh."""

	reuse = True

	def test_refreshed_in_place(self):
		work = self.prepare([self.patch_file('b.patch', PATCH_B)])
		open(os.path.join(work, 'build-left-this'), 'w').close()
		self.prepare([])
		self.assertTrue(os.path.exists(os.path.join(work, 'build-left-this')))

	def test_ctrl_c_or_full_disk_during_refresh(self):
		import errno
		from unittest import mock
		work = self.prepare([self.patch_file('b.patch', PATCH_B)])
		work_before = snapshot(work)
		for fault in (KeyboardInterrupt(), OSError(errno.ENOSPC, 'No space left')):
			with mock.patch.object(tree, 'apply_patch', side_effect=fault):
				with self.assertRaises(type(fault)):
					self.prepare([self.patch_file('c.patch', PATCH_B)])
			self.assertEqual(snapshot(work), work_before)
			self.assertFalse(os.path.exists(tree.state_path(work, tree.DIRTY)))
		self.assertEqual(snapshot(self.pristine), self.before)
		# and the tree stays usable
		work = self.prepare([self.patch_file('b.patch', PATCH_B),
				     self.patch_file('c.mbox', PATCH_C)])
		self.assertEqual(self.read(work, 'mm/slub.c'), 'int a;\nint b2;\nint c2;\n')

	def test_a_patch_cannot_reach_the_runner_state(self):
		"""A failing patch naming the bookkeeping once kept in the tree: the
		next run must still undo what an earlier patch changed."""
		work = self.prepare([self.patch_file('b.patch', PATCH_B)])
		evil = ('--- a/.slub-kunit-manifest\n+++ b/.slub-kunit-manifest\n'
			'@@ -1 +1 @@\n-mm/slub.c\n+nothing\n' + PATCH_BAD)
		with self.assertRaises(UserError):
			self.prepare([self.patch_file('evil.patch', evil)])
		work = self.prepare([])
		self.assertEqual(self.read(work, 'mm/slub.c'), SLUB)
		self.assertFalse(os.path.lexists(os.path.join(work, '.slub-kunit-manifest')))
		self.assertTrue(os.path.isfile(tree.state_path(work, tree.MANIFEST)))

	def test_interrupted_refresh_copies_anew(self):
		work = self.prepare([])
		open(tree.state_path(work, tree.DIRTY), 'w').close()
		open(os.path.join(work, 'build-left-this'), 'w').close()
		self.prepare([])
		self.assertFalse(os.path.exists(os.path.join(work, 'build-left-this')))
		self.assertFalse(os.path.exists(tree.state_path(work, tree.DIRTY)))

	def test_same_tree_as_a_fresh_copy(self):
		patches = [self.patch_file('b.patch', PATCH_B), self.patch_file('new.patch', PATCH_NEW)]
		self.prepare([self.patch_file('del.patch', PATCH_DEL)])
		work = self.prepare(patches)
		refreshed = {rel: v[:2] for rel, v in snapshot(work).items()}
		self.reuse = False
		shutil.rmtree(work)
		fresh = {rel: v[:2] for rel, v in snapshot(self.prepare(patches)).items()}
		self.assertEqual(refreshed, fresh)


class HostilePatchTest(WorkTreeTest):
	"""Patches are untrusted: nothing outside the work tree is touched."""

	reuse = True

	def outside_file(self):
		outside = os.path.join(self.tmp, 'outside')
		os.makedirs(outside)
		with open(os.path.join(outside, 'victim'), 'w') as f:
			f.write('keep me\n')
		return outside

	def test_symlink_out_of_the_tree_refused(self):
		outside = self.outside_file()
		os.symlink(outside, os.path.join(self.pristine, 'mm', 'link'))
		self.before = snapshot(self.pristine)
		patch = PATCH_NEW.replace('mm/new/added.c', 'mm/link/victim')
		with self.assertRaises(UserError) as ctx:
			self.prepare([self.patch_file('escape.patch', patch)])
		self.assertEqual(ctx.exception.code, EXIT_PATCH)
		self.assertIn('symbolic link', str(ctx.exception))
		with open(os.path.join(outside, 'victim')) as f:
			self.assertEqual(f.read(), 'keep me\n')
		self.assertEqual(snapshot(self.pristine), self.before)

	def test_failing_patch_naming_a_directory_removes_nothing(self):
		work = self.prepare([])
		before = snapshot(work)
		bad = PATCH_BAD + PATCH_B.replace('mm/slub.c', 'mm')
		with self.assertRaises(UserError):
			self.prepare([self.patch_file('dir.patch', bad)])
		self.assertEqual(snapshot(work), before)
		self.assertTrue(os.path.isdir(os.path.join(work, 'mm')))

	def test_fuzz_is_reported(self):
		with open(os.path.join(self.pristine, 'mm/slub.c'), 'w') as f:
			f.write('int a0;\nint b;\nint c0;\n')
		wt = tree.prepare(self.pristine, 'test tree', self.work_root, 'k',
				  patches.read_all([self.patch_file('b.patch', PATCH_B)]),
				  repo=self.repo, reuse=self.reuse)
		self.assertTrue(wt.fuzz)
		self.assertIn('b.patch', wt.fuzz[0])
		self.assertIn('fuzz', wt.fuzz[0])

	def test_disk_full_while_patching(self):
		from unittest import mock
		full = mock.Mock(returncode=1, stdout='patching file mm/slub.c\n'
				 'patch: **** write error : No space left on device\n')
		with mock.patch.object(patches, 'run', return_value=full):
			with self.assertRaises(UserError) as ctx:
				self.prepare([self.patch_file('b.patch', PATCH_B)])
		self.assertEqual(ctx.exception.code, Exit.SETUP)
		self.assertIn('disk full', str(ctx.exception))
		self.assertNotIn('[', str(ctx.exception))

	def test_ctrl_c_while_copying_leaves_no_staging(self):
		from unittest import mock
		self.reuse = False
		with mock.patch.object(tree, 'run', side_effect=KeyboardInterrupt):
			with self.assertRaises(KeyboardInterrupt):
				self.prepare([])
		self.assertEqual([n for n in os.listdir(self.work_root) if 'staging' in n], [])

	def test_new_unpack_of_the_pristine_tree_is_copied_afresh(self):
		work = tree.prepare(self.pristine, 'test tree', self.work_root, 'k', [],
				    repo=self.repo, reuse=True, unpack_id='one').path
		open(os.path.join(work, 'build-left-this'), 'w').close()
		tree.prepare(self.pristine, 'test tree', self.work_root, 'k', [],
			     repo=self.repo, reuse=True, unpack_id='two')
		self.assertFalse(os.path.exists(os.path.join(work, 'build-left-this')))


class TreeHeaderTest(unittest.TestCase):

	SLUB = ('static nodemask_t slab_nodes;\nslab_memory_callback kmem_cache_node get_node '
		'init_kmem_cache_node node_nr_slabs flush_all_cpus_locked '
		'__kmem_cache_do_shrink;\n'
		'static int slab_memory_callback(struct notifier_block *self,\n'
		'\t\t\t\tunsigned long action, void *arg)\n{\n\treturn 0;\n}\n'
		'void __init kmem_cache_init(void)\n{\n'
		'\thotplug_memory_notifier(slab_memory_callback, SLAB_CALLBACK_PRI);\n}\n')

	def test_what_the_tree_has(self):
		text = slubc.tree_header(self.SLUB)
		self.assertIn('#define SLUB_HP_HAVE_SLAB_NODES\t1', text)
		self.assertIn('#define SLUB_HP_HAVE_SLAB_BARN_NODES\t0', text)
		self.assertIn('#define SLUB_HP_NODE_NOTIFIER\t0', text)
		node = self.SLUB.replace('hotplug_memory_notifier', 'hotplug_node_notifier')
		self.assertIn('#define SLUB_HP_NODE_NOTIFIER\t1', slubc.tree_header(node))
		text = slubc.tree_header(self.SLUB.replace('static nodemask_t slab_nodes;', ''))
		self.assertIn('#define SLUB_HP_HAVE_SLAB_NODES\t0', text)

	def test_missing_callback_is_not_judged(self):
		with self.assertRaises(UserError) as ctx:
			slubc.tree_header(self.SLUB.replace('hotplug_memory_notifier', 'other'))
		self.assertEqual(ctx.exception.code, Exit.NOT_JUDGED)
		self.assertIn('not judged', str(ctx.exception))
		with self.assertRaises(UserError) as ctx:
			slubc.tree_header(self.SLUB.replace('node_nr_slabs', 'nr_slabs_of'))
		self.assertEqual(ctx.exception.code, Exit.NOT_JUDGED)
		self.assertIn('node_nr_slabs', str(ctx.exception))


class CScanTest(unittest.TestCase):
	"""What a correct patch may change without the tree looking different."""

	CB = ('static int slab_memory_callback(struct notifier_block *self,\n'
	      '\t\t\t\tunsigned long action, void *arg)\n{\n\treturn 0;\n}\n')

	def test_qualified_masks(self):
		for decl in ('static nodemask_t slab_nodes;',
			     'static nodemask_t slab_nodes __read_mostly;',
			     'static nodemask_t __read_mostly slab_nodes;',
			     'static nodemask_t slab_nodes __initdata = NODE_MASK_NONE;',
			     'static nodemask_t slab_nodes __section(".data..x") __aligned(8);',
			     'static\n\tnodemask_t\n\tslab_nodes /* tracked */;',
			     'nodemask_t slab_nodes = { { [0] = 1UL } };'):
			with self.subTest(decl=decl):
				self.assertTrue(slubc.declares(slubc.clean(decl), 'nodemask_t', 'slab_nodes'))

	def test_the_name_beside_its_qualifiers(self):
		code = slubc.clean('static nodemask_t slab_nodes __read_mostly;\n'
				   'static nodemask_t __initdata boot_nodes = NODE_MASK_NONE;\n'
				   'nodemask_t ____cacheline_aligned slab_barn_nodes __section(".x");\n'
				   'static nodemask_t *not_a_mask;\nstatic nodemask_t masks[2];\n')
		self.assertEqual(slubc.declared(code, 'nodemask_t'),
				 ['slab_nodes', 'boot_nodes', 'slab_barn_nodes'])
		text = slubc.tree_header(TreeHeaderTest.SLUB.replace(
			'slab_nodes;', 'slab_nodes __read_mostly;'))
		self.assertIn('#define SLUB_HP_HAVE_SLAB_NODES\t1', text)
		self.assertNotIn('#define slab_nodes', text)

	def test_not_a_declaration(self):
		for text in ('/* static nodemask_t slab_nodes; */',
			     '// static nodemask_t slab_nodes;',
			     'void f(void)\n{\n\tstatic nodemask_t slab_nodes;\n}\n',
			     'static void f(nodemask_t slab_nodes);',
			     '#define X static nodemask_t slab_nodes;',
			     'static nodemask_t slab_nodes_old;',
			     'const char *s = "static nodemask_t slab_nodes;";'):
			with self.subTest(text=text):
				self.assertFalse(slubc.declares(slubc.clean(text), 'nodemask_t', 'slab_nodes'))

	def test_callback_through_the_registration(self):
		renamed = self.CB.replace('slab_memory_callback', 'slab_node_event')
		reg = renamed + 'void __init init(void)\n{\n\thotplug_node_notifier(slab_node_event, 1);\n}\n'
		self.assertEqual(slubc.slab_callback(slubc.clean(reg)), slubc.Callback('node', 'slab_node_event'))
		block = (self.CB + 'static struct notifier_block slab_nb __read_mostly = {\n'
			 '\t.priority = 1,\n\t.notifier_call = slab_memory_callback,\n};\n'
			 'void __init init(void)\n{\n\tregister_memory_notifier(&slab_nb);\n}\n')
		self.assertEqual(slubc.slab_callback(slubc.clean(block)),
				 slubc.Callback('memory', 'slab_memory_callback'))

	def test_renamed_masks_are_found_where_unambiguous(self):
		m = slubc.tracking_masks
		self.assertEqual(m(['slab_nodes'], False), {'slab_nodes': 'slab_nodes'})
		self.assertEqual(m(['slab_tracked'], False), {'slab_nodes': 'slab_tracked'})
		self.assertEqual(m(['slab_tracked', 'slab_barn_nodes'], True),
				 {'slab_nodes': 'slab_tracked', 'slab_barn_nodes': 'slab_barn_nodes'})
		self.assertEqual(m(['slab_nodes', 'barns_here'], True),
				 {'slab_nodes': 'slab_nodes', 'slab_barn_nodes': 'barns_here'})
		# dropped, not renamed; or two candidates: the suite observes instead
		self.assertEqual(m([], False), {})
		self.assertEqual(m(['slab_barn_nodes'], True), {'slab_barn_nodes': 'slab_barn_nodes'})
		self.assertEqual(m(['a', 'b'], True), {})
		text = slubc.tree_header(TreeHeaderTest.SLUB.replace('slab_nodes;', 'slab_online;'))
		self.assertIn('#define slab_nodes\tslab_online', text)
		self.assertIn('#define SLUB_HP_HAVE_SLAB_NODES\t1', text)

	def test_node_notifier_wins_and_comments_do_not_count(self):
		both = (self.CB + 'void f(void)\n{\n'
			'\thotplug_memory_notifier(slab_memory_callback, 1);\n'
			'\thotplug_node_notifier(slab_memory_callback, 1);\n}\n')
		self.assertEqual(slubc.slab_callback(slubc.clean(both)).notifier, 'node')
		commented = self.CB + '/* hotplug_node_notifier(slab_memory_callback, 1); */\n'
		self.assertIsNone(slubc.slab_callback(slubc.clean(commented)))
		undefined = 'void f(void)\n{\n\thotplug_node_notifier(elsewhere, 1);\n}\n'
		self.assertIsNone(slubc.slab_callback(slubc.clean(undefined)))


class CheckPatchTest(unittest.TestCase):

	def setUp(self):
		self.tmp = tempfile.mkdtemp(prefix='slub-kunit-test-')

	def tearDown(self):
		shutil.rmtree(self.tmp)

	def check(self, data):
		path = os.path.join(self.tmp, 'p.patch')
		with open(path, 'wb') as f:
			f.write(data)
		with self.assertRaises(UserError) as ctx:
			patches.read(path)
		self.assertEqual(ctx.exception.code, EXIT_PATCH)
		self.assertNotIn('\n', str(ctx.exception))
		return str(ctx.exception)

	def test_missing(self):
		with self.assertRaises(UserError):
			patches.read(os.path.join(self.tmp, 'nope.patch'))

	def test_empty(self):
		self.assertIn('empty', self.check(b''))

	def test_binary(self):
		self.assertIn('binary', self.check(b'\x7fELF\x00\x01\x02'))

	def test_no_diff(self):
		self.assertIn('no diff', self.check(b'just some text\n'))

	def test_absolute_or_climbing_paths_refused(self):
		for bad in ('b//etc/passwd', 'b/../../outside', 'b/mm/../../x', 'passwd'):
			text = PATCH_B.replace('+++ b/mm/slub.c', f'+++ {bad}')
			self.assertIn('outside the kernel tree', self.check(text.encode()), bad)

	def test_paths(self):
		path = os.path.join(self.tmp, 'p.patch')
		with open(path, 'w') as f:
			f.write(PATCH_B)
		self.assertEqual(patches.read(path)[0].paths(), ['mm/slub.c'])

	def test_mbox_split_and_named(self):
		path = os.path.join(self.tmp, 's.mbox')
		with open(path, 'w') as f:
			for n in (1, 2, 3):
				f.write(f'From {"%040x" % n} Mon Sep 17 00:00:00 2001\n'
					f'From: A <a@b>\nSubject: [PATCH {n}/3] step {n}\n\nbody\n---\n'
					+ PATCH_B)
		got = patches.read(path)
		self.assertEqual([p.name for p in got], ['s.mbox [1/3]', 's.mbox [2/3]', 's.mbox [3/3]'])
		self.assertEqual([p.subject for p in got], ['step 1', 'step 2', 'step 3'])
		self.assertEqual(len({p.sha256 for p in got}), 3)


if __name__ == '__main__':
	unittest.main()
