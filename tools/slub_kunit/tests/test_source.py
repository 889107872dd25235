# SPDX-License-Identifier: GPL-2.0
#
# Where kernels come from, and what the cache survives: interrupted and
# damaged downloads, failed package list updates, damaged pristine trees,
# two commands at once; and git repositories that are only ever read.

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
from unittest import mock

from slub_kunit.common import CacheLock, Stages, UserError
from slub_kunit.kernel import source
from slub_kunit.status import Exit

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.dirname(os.path.dirname(HERE))


def manifest(root):
	"""Every file and directory below root with its content and mtime."""
	out = {}
	for d, dirs, files in os.walk(root):
		for name in dirs + files:
			path = os.path.join(d, name)
			st = os.lstat(path)
			data = b''
			if os.path.isfile(path) and not os.path.islink(path):
				with open(path, 'rb') as f:
					data = f.read()
			out[os.path.relpath(path, root)] = (st.st_mode, st.st_mtime_ns, data)
	return out


def fake_kernel(root, version='9.9', kunit=True):
	for rel in source.KERNEL_MARKERS:
		os.makedirs(os.path.dirname(os.path.join(root, rel)), exist_ok=True)
		with open(os.path.join(root, rel), 'w') as f:
			f.write(f'VERSION = 9\nPATCHLEVEL = 9\nSUBLEVEL = 0\n' if rel == 'Makefile'
				else f'/* {rel} */\n')
	for rel, marker, _, _ in source.KUNIT_NEEDS if kunit else ():
		os.makedirs(os.path.dirname(os.path.join(root, rel)), exist_ok=True)
		with open(os.path.join(root, rel), 'w') as f:
			f.write(f'/* {marker} */\n')


class TempTest(unittest.TestCase):

	def setUp(self):
		self.tmp = tempfile.mkdtemp(prefix='slub-kunit-test-')
		self.cache = os.path.join(self.tmp, 'cache')
		os.makedirs(self.cache)

	def tearDown(self):
		shutil.rmtree(self.tmp)


class FakeApt(source.Apt):

	def __init__(self, names, candidates):
		self.names = names
		self.candidates = candidates

	def packages(self, pattern):
		return sorted(n for n in self.names if re.fullmatch(pattern, n))

	def candidate(self, package):
		return self.candidates.get(package)


class ResolveTest(TempTest):

	def test_newest_7(self):
		apt = FakeApt(['linux-source-6.12', 'linux-source-7.2', 'linux-source-7.10',
			       'linux-source-7.3'],
			      {'linux-source-7.2': '1', 'linux-source-7.3': '1',
			       'linux-source-7.10': None, 'linux-source-6.12': '1'})
		self.assertEqual(source.resolve_package(apt, '7'), 'linux-source-7.3')
		self.assertEqual(source.resolve_package(apt, '6.12'), 'linux-source-6.12')

	def test_no_package(self):
		with self.assertRaises(UserError) as ctx:
			source.resolve_package(FakeApt([], {}), '7')
		self.assertEqual(ctx.exception.code, Exit.USAGE)
		self.assertIn('linux-source-7.*', str(ctx.exception))

	def test_resolution_remembered_until_update(self):
		apt = FakeApt(['linux-source-7.2'], {'linux-source-7.2': '7.2.1-1'})
		source.Apt.__init__(apt, self.tmp)
		os.makedirs(apt.root)
		self.assertEqual(source.resolve(apt, '7'), ('linux-source-7.2', '7.2.1-1'))
		apt.names, apt.candidates = [], {}
		self.assertEqual(source.resolve(apt, '7'), ('linux-source-7.2', '7.2.1-1'))
		apt.forget()
		with self.assertRaises(UserError):
			source.resolve(apt, '7')

	def test_generation(self):
		os.makedirs(os.path.join(self.tmp, 'include/linux'))
		path = os.path.join(self.tmp, 'include/linux/node.h')
		with open(path, 'w') as f:
			f.write('#define MEM_ONLINE 1\n')
		self.assertEqual(source.generation_of(self.tmp), source.GEN_MEMORY)
		with open(path, 'w') as f:
			f.write('#define NODE_ADDING_FIRST_MEMORY (1<<0)\n')
		self.assertEqual(source.generation_of(self.tmp), source.GEN_NODE)

	def test_in_tree_config_refused(self):
		fake_kernel(self.tmp)
		open(os.path.join(self.tmp, '.config'), 'w').close()
		with self.assertRaises(UserError) as ctx:
			source.user_tree(self.tmp)
		self.assertIn('mrproper', str(ctx.exception))

	def test_user_tree_key_is_safe_for_kbuild(self):
		tree = os.path.join(self.tmp, 'my linux: v6')
		fake_kernel(tree)
		key = source.user_tree(tree).key
		self.assertRegex(key, r'^[A-Za-z0-9._+-]+$')


class AptUpdateTest(TempTest):

	def test_failed_update_is_not_stamped(self):
		apt = source.Apt(self.cache)
		failed = mock.Mock(returncode=100, stdout='Err:1 http://x trixie InRelease\n')
		with mock.patch.object(source, 'run', return_value=failed):
			with self.assertRaises(UserError) as ctx:
				apt.update()
		self.assertIn('no Debian package index reachable', str(ctx.exception))
		self.assertFalse(os.path.exists(apt.stamp))

	def test_update_without_lists_is_not_stamped(self):
		apt = source.Apt(self.cache)
		ok_but_empty = mock.Mock(returncode=0, stdout='Hit:1 ...\n')
		with mock.patch.object(source, 'run', return_value=ok_but_empty):
			with self.assertRaises(UserError):
				apt.update()
		self.assertFalse(os.path.exists(apt.stamp))

	def test_good_update_is_stamped(self):
		apt = source.Apt(self.cache)
		apt.write_config()
		open(os.path.join(apt.lists, 'deb.debian.org_dists_sid_main_binary-all_Packages'),
		     'w').close()
		with mock.patch.object(source, 'run', return_value=mock.Mock(returncode=0, stdout='')):
			apt.update()
		self.assertTrue(apt.fresh())


class DownloadTest(TempTest):
	"""apt-get download writes under the final name as it goes: a .deb is
	only ever kept once its size and SHA256 match the index."""

	DATA = b'a real .deb would be here\n'

	def apt(self, payload):
		apt = source.Apt(self.cache)
		want = {'Size': str(len(self.DATA)), 'SHA256': hashlib.sha256(self.DATA).hexdigest()}
		apt.record = mock.Mock(return_value=want)

		def fake_run(cmd, cwd=None, **kw):
			self.assertIn('download', cmd)
			with open(os.path.join(cwd, source.deb_name('linux-source-9.9', '9.9-1')),
				  'wb') as f:
				f.write(payload)
			return mock.Mock(returncode=0, stdout='')
		return apt, fake_run

	def test_good_download(self):
		apt, fake = self.apt(self.DATA)
		dest = os.path.join(self.cache, 'debs')
		with mock.patch.object(source, 'run', side_effect=fake):
			path = apt.download('linux-source-9.9', '9.9-1', dest)
		with open(path, 'rb') as f:
			self.assertEqual(f.read(), self.DATA)
		self.assertEqual(os.listdir(dest), [os.path.basename(path)])

	def test_truncated_download_never_takes_the_name(self):
		apt, fake = self.apt(self.DATA[:5])
		dest = os.path.join(self.cache, 'debs')
		with mock.patch.object(source, 'run', side_effect=fake):
			with self.assertRaises(UserError) as ctx:
				apt.download('linux-source-9.9', '9.9-1', dest)
		self.assertEqual(ctx.exception.code, Exit.SETUP)
		self.assertEqual(os.listdir(dest), [])

	def test_what_a_killed_download_left_is_removed(self):
		apt, fake = self.apt(self.DATA)
		dest = os.path.join(self.cache, 'debs')
		stale = os.path.join(dest, 'download.k1ll3d')
		os.makedirs(stale)
		with open(os.path.join(stale, 'linux-source-9.9_9.9-1_all.deb'), 'wb') as f:
			f.write(b'half')
		with mock.patch.object(source, 'run', side_effect=fake):
			path = apt.download('linux-source-9.9', '9.9-1', dest)
		self.assertEqual(os.listdir(dest), [os.path.basename(path)])

	def test_damaged_deb_in_the_cache_is_fetched_again(self):
		apt, fake = self.apt(self.DATA)
		dest = os.path.join(self.cache, 'debs')
		os.makedirs(dest)
		with open(os.path.join(dest, source.deb_name('linux-source-9.9', '9.9-1')), 'wb') as f:
			f.write(b'half')
		with mock.patch.object(source, 'run', side_effect=fake) as run:
			path = apt.download('linux-source-9.9', '9.9-1', dest)
		self.assertEqual(run.call_count, 1)
		with open(path, 'rb') as f:
			self.assertEqual(f.read(), self.DATA)


class PristineTreeTest(TempTest):
	"""A real (tiny) linux-source .deb, unpacked; then damaged."""

	def make_deb(self):
		pkg = os.path.join(self.tmp, 'pkg')
		tree = os.path.join(self.tmp, 'linux-source-9.9')
		fake_kernel(tree)
		os.makedirs(os.path.join(pkg, 'usr/src'))
		os.makedirs(os.path.join(pkg, 'DEBIAN'))
		with open(os.path.join(pkg, 'DEBIAN/control'), 'w') as f:
			f.write('Package: linux-source-9.9\nVersion: 9.9-1\nArchitecture: all\n'
				'Maintainer: t <t@example.org>\nDescription: t\n')
		subprocess.run(['tar', '-cJf', os.path.join(pkg, 'usr/src/linux-source-9.9.tar.xz'),
				'-C', self.tmp, 'linux-source-9.9'], check=True)
		deb = os.path.join(self.tmp, 'linux-source-9.9_9.9-1_all.deb')
		subprocess.run(['dpkg-deb', '--build', '-Znone', pkg, deb], check=True,
			       capture_output=True)
		return deb

	def test_unpack_damage_and_unpack_again(self):
		if not shutil.which('dpkg-deb'):
			self.skipTest('needs dpkg-deb')
		deb = self.make_deb()
		dest = os.path.join(self.cache, 'src', 'linux-source-9.9_9.9-1')
		os.makedirs(os.path.dirname(dest))
		source.unpack(deb, 'linux-source-9.9', dest)
		self.assertIsNone(source.damaged(dest))
		first = source.read_stamp(dest)[1]
		os.unlink(os.path.join(dest, 'mm/slub.c'))
		self.assertIn('of its', source.damaged(dest))
		apt = mock.Mock()
		apt.download.return_value = deb
		with mock.patch.object(source, 'Apt', return_value=apt), \
		     mock.patch.object(source, 'resolve', return_value=('linux-source-9.9', '9.9-1')):
			src = source.debian_source('9.9', self.cache, Stages())
		self.assertTrue(os.path.isfile(os.path.join(src.path, 'mm/slub.c')))
		self.assertIsNone(source.damaged(src.path))
		self.assertNotEqual(src.unpack_id, first)
		self.assertEqual([n for n in os.listdir(os.path.dirname(dest)) if 'partial' in n], [])

	def test_failed_unpack_says_one_line_and_leaves_nothing(self):
		bad = os.path.join(self.tmp, 'bad.deb')
		with open(bad, 'wb') as f:
			f.write(b'not a deb' * 100)
		dest = os.path.join(self.cache, 'src', 'x')
		os.makedirs(os.path.dirname(dest))
		with self.assertRaises(UserError) as ctx:
			source.unpack(bad, 'linux-source-9.9', dest)
		self.assertEqual(ctx.exception.code, Exit.SETUP)
		self.assertNotIn('\n', str(ctx.exception))
		self.assertEqual(os.listdir(os.path.dirname(dest)), [])


class LockTest(TempTest):

	def test_second_command_waits(self):
		code = ('import sys, time; sys.path.insert(0, %r)\n'
			'from slub_kunit.common import CacheLock\n'
			'with CacheLock(%r, "work-x"):\n'
			'    print("held", flush=True); time.sleep(1.5)\n') % (TOOLS, self.cache)
		holder = subprocess.Popen([sys.executable, '-c', code], stdout=subprocess.PIPE,
					  text=True)
		self.assertEqual(holder.stdout.readline().strip(), 'held')
		start = time.monotonic()
		with mock.patch('slub_kunit.common.log'), CacheLock(self.cache, 'work-x'):
			waited = time.monotonic() - start
		holder.wait()
		holder.stdout.close()
		self.assertGreater(waited, 0.5)
		start = time.monotonic()
		with CacheLock(self.cache, 'work-y'):
			self.assertLess(time.monotonic() - start, 0.5)


class GitTest(TempTest):
	"""A commit of the user's repository is read with git archive; the
	repository, its index and its .git are left exactly as they were."""

	def setUp(self):
		super().setUp()
		if not shutil.which('git'):
			self.skipTest('needs git')
		self.repo = os.path.join(self.tmp, 'linux')
		fake_kernel(self.repo)
		self.git('init', '-q')
		self.git('add', '-A')
		self.git('commit', '-q', '-m', 'base')
		self.base = self.git('rev-parse', 'HEAD').strip()
		for n in (1, 2, 3):
			with open(os.path.join(self.repo, 'mm/slub.c'), 'a') as f:
				f.write(f'int step{n};\n')
			self.git('commit', '-q', '-am', f'mm/slub: step {n}')
		# A user's work in progress, which nothing may disturb.
		with open(os.path.join(self.repo, 'Makefile'), 'a') as f:
			f.write('# wip\n')

	def git(self, *args):
		env = dict(os.environ, GIT_AUTHOR_NAME='T', GIT_AUTHOR_EMAIL='t@example.org',
			   GIT_COMMITTER_NAME='T', GIT_COMMITTER_EMAIL='t@example.org')
		return subprocess.run(['git', '-C', self.repo] + list(args), check=True,
				      capture_output=True, text=True, env=env).stdout

	def test_commit_tree_and_range_leave_the_repository_alone(self):
		from slub_kunit import pipeline
		from slub_kunit.judge import validate
		before = manifest(self.repo)
		src = source.get_source(self.repo, self.cache, Stages(), commit=self.base)
		with open(os.path.join(src.path, 'mm/slub.c')) as f:
			self.assertEqual(f.read(), '/* mm/slub.c */\n')
		self.assertEqual(src.commit, self.base)
		req = validate.from_commits(pipeline.RunRequest(cache=self.cache, kernel=self.repo),
					    f'{self.base[:8]}..HEAD')
		self.assertEqual(req.commit, self.base)
		self.assertEqual([p.subject for p in req.patches],
				 ['mm/slub: step 1', 'mm/slub: step 2', 'mm/slub: step 3'])
		self.assertEqual(manifest(self.repo), before)

	def test_bad_revision(self):
		with self.assertRaises(UserError) as ctx:
			source.get_source(self.repo, self.cache, Stages(), commit='nosuchrev')
		self.assertEqual(ctx.exception.code, Exit.USAGE)


if __name__ == '__main__':
	unittest.main()


class OneDetectorTest(unittest.TestCase):
	"""The runner and the suite's C read the generation from the same place:
	the callback mm/slub.c registers, in the tree as patched."""

	SLUB = ('static int slab_memory_callback(struct notifier_block *self,\n'
		'\t\t\t\tunsigned long action, void *arg)\n{\n\treturn 0;\n}\n'
		'static nodemask_t slab_nodes;\n'
		'kmem_cache_node get_node init_kmem_cache_node node_nr_slabs '
		'flush_all_cpus_locked __kmem_cache_do_shrink;\n'
		'void __init kmem_cache_init(void)\n{\n'
		'\thotplug_memory_notifier(slab_memory_callback, SLAB_CALLBACK_PRI);\n}\n')

	def tree(self, slub, node_h):
		root = tempfile.mkdtemp(prefix='slub-kunit-test-')
		self.addCleanup(shutil.rmtree, root)
		os.makedirs(os.path.join(root, 'mm'))
		os.makedirs(os.path.join(root, 'include/linux'))
		with open(os.path.join(root, 'mm/slub.c'), 'w') as f:
			f.write(slub)
		with open(os.path.join(root, 'include/linux/node.h'), 'w') as f:
			f.write(node_h)
		return root

	def agree(self, root):
		from slub_kunit.kernel import slubc
		with open(os.path.join(root, 'mm/slub.c')) as f:
			header = slubc.tree_header(f.read())
		c_node = '#define SLUB_HP_NODE_NOTIFIER\t1' in header
		return source.generation_of(root), c_node

	def test_middle_of_the_node_notifier_series(self):
		# the core's node notifier is there, the slab still on the memory one
		mid = self.tree(self.SLUB, '#define NODE_ADDING_FIRST_MEMORY 0\n')
		self.assertEqual(self.agree(mid), (source.GEN_MEMORY, False))
		self.assertEqual(source.default_policy(source.generation_of(mid)), 'normal')
		# the patch that moves the slab over
		moved = self.tree(self.SLUB.replace('hotplug_memory_notifier', 'hotplug_node_notifier'),
				  '#define NODE_ADDING_FIRST_MEMORY 0\n')
		self.assertEqual(self.agree(moved), (source.GEN_NODE, True))
		self.assertEqual(source.default_policy(source.generation_of(moved)), 'memory')


class OldKUnitTest(TempTest):
	"""A tree whose KUnit predates what the suite uses (Debian's 6.1) is
	refused in one line, before any build."""

	def test_refused(self):
		tree = os.path.join(self.tmp, 'linux-6.1')
		fake_kernel(tree, kunit=False)
		with self.assertRaises(source.UsageError) as ctx:
			source.get_source(tree, self.cache, None)
		self.assertIn('no deferred actions', str(ctx.exception))
		fake_kernel(tree)
		self.assertEqual(source.get_source(tree, self.cache, None).path, tree)

