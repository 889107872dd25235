# SPDX-License-Identifier: GPL-2.0
#
# The runner's promises under a shared directory, odd paths and a patch
# that reaches for what is not its business (README, "Safety").

import os
import shutil
import sys
import tempfile
import unittest
from unittest import mock

from slub_kunit import common, host
from slub_kunit.kernel import source
from slub_kunit.status import Exit
from slub_kunit.tests.test_inputs import run_cli


class SafetyTest(unittest.TestCase):

	def setUp(self):
		self.tmp = tempfile.mkdtemp(prefix='slub-kunit-test-')
		self.cache = os.path.join(self.tmp, 'cache')
		self.packages = mock.patch.object(host, 'missing_packages', return_value=[])
		self.packages.start()
		self.work = mock.patch.object(source, 'get_source',
					      side_effect=AssertionError('work started'))
		self.work.start()
		self.kernel = os.path.join(self.tmp, 'linux')
		os.makedirs(os.path.join(self.kernel, 'mm'))
		with open(os.path.join(self.kernel, 'Makefile'), 'w') as f:
			f.write('VERSION = 6\n')

	def tearDown(self):
		self.work.stop()
		self.packages.stop()
		shutil.rmtree(self.tmp)

	def refused(self, argv, words):
		code, err, _ = run_cli(argv)
		self.assertEqual(code, Exit.USAGE, err)
		self.assertEqual(len(err.strip().splitlines()), 1, err)
		self.assertIn(words, err)

	def test_link_at_the_output_is_replaced_not_followed(self):
		victim = os.path.join(self.tmp, 'victim')
		with open(victim, 'w') as f:
			f.write('mine\n')
		out = os.path.join(self.tmp, 'out.json')
		os.symlink(victim, out)
		common.atomic_write(out, 'result\n')
		with open(victim) as f:
			self.assertEqual(f.read(), 'mine\n')
		self.assertFalse(os.path.islink(out))

	def test_no_temporary_name_another_user_can_plant(self):
		"""The old temporary name was <out>.slub-kunit-tmp.<pid>."""
		victim = os.path.join(self.tmp, 'victim')
		with open(victim, 'w') as f:
			f.write('mine\n')
		out = os.path.join(self.tmp, 'out.json')
		os.symlink(victim, f'{out}.slub-kunit-tmp.{os.getpid()}')
		common.atomic_write(out, 'result\n')
		with open(victim) as f:
			self.assertEqual(f.read(), 'mine\n')
		leftovers = [n for n in os.listdir(self.tmp) if n.endswith('.slub-kunit-tmp')]
		self.assertEqual(leftovers, [])

	def test_build_dir_inside_the_users_tree(self):
		for build in (self.kernel, os.path.join(self.kernel, 'build'),
			      os.path.join(self.kernel, 'mm', '..', 'out')):
			with self.subTest(build=build):
				self.refused(['run', '--kernel', self.kernel, '--cache', self.cache,
					      '--build-dir', build], 'only reads')
		self.refused(['run', '--kernel', self.kernel,
			      '--cache', os.path.join(self.kernel, '.cache')], 'only reads')
		self.assertEqual(sorted(os.listdir(self.kernel)), ['Makefile', 'mm'])

	def test_a_patch_that_edits_the_suite(self):
		from slub_kunit import pipeline
		from slub_kunit.inbox import patches
		path = os.path.join(self.tmp, 'sneaky.patch')
		with open(path, 'w') as f:
			f.write('Subject: [PATCH] mm/slub: fix\n\n'
				'--- a/mm/slub.c\n+++ b/mm/slub.c\n@@ -1 +1 @@\n-a\n+b\n'
				'--- a/mm/slub_kunit.c\n+++ b/mm/slub_kunit.c\n@@ -1 +1 @@\n-a\n+b\n')
		for cmd in ('run', 'validate'):
			code, err, _ = run_cli([cmd, '--cache', self.cache, '--patch', path])
			self.assertEqual(code, Exit.PATCH, err)
			self.assertIn('edits the suite itself (mm/slub_kunit.c)', err)
		with self.assertRaises(AssertionError):	# got past the check, to the work
			run_cli(['run', '--cache', self.cache, '--patch', path, '--allow-suite-edits'])
		meta = pipeline.patch_meta(patches.read(path)[0])
		self.assertEqual(meta['edits_suite'], ['mm/slub_kunit.c'])

	def test_paths_kbuild_cannot_use(self):
		for bad in ('with space', 'with:colon', 'with$dollar'):
			with self.subTest(path=bad):
				self.refused(['run', '--cache', os.path.join(self.tmp, bad)],
					     'kbuild cannot build')
				self.refused(['run', '--cache', self.cache,
					      '--build-dir', os.path.join(self.tmp, bad)],
					     'kbuild cannot build')
				self.assertFalse(os.path.exists(os.path.join(self.tmp, bad)))


TOOLS = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def with_tag(tag):
	"""Pids of live sleep processes whose command line holds tag."""
	out = []
	for pid in os.listdir('/proc'):
		if not pid.isdigit():
			continue
		try:
			with open(f'/proc/{pid}/stat') as f:
				stat = f.read()
			with open(f'/proc/{pid}/cmdline', 'rb') as f:
				cmdline = f.read()
		except OSError:
			continue
		if '(sleep) ' in stat and ') Z ' not in stat and tag.encode() in cmdline:
			out.append(int(pid))
	return out


class SignalTest(unittest.TestCase):
	"""What CI does on a timeout: every process the runner started ends."""

	DRIVER = '''
import sys
sys.path.insert(0, {tools!r})
from slub_kunit import procs
with procs.catching_signals():
    try:
        procs.run(['sh', '-c', 'sleep {tag} & sleep {tag} & (sleep {tag}; true); wait'])
    except procs.Interrupted as sig:
        procs.end_all()
        sys.exit(sig.code)
'''

	def start(self):
		import random
		import subprocess
		import time
		tag = f'{random.randint(10000, 99999)}.{os.getpid()}'
		driver = subprocess.Popen([sys.executable, '-c',
					   self.DRIVER.format(tools=TOOLS, tag=tag)],
					  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
		self.addCleanup(self.kill_all, driver, tag)
		deadline = time.monotonic() + 10
		while len(with_tag(tag)) < 3 and time.monotonic() < deadline:
			time.sleep(0.05)
		self.assertEqual(len(with_tag(tag)), 3)
		return driver, tag

	def kill_all(self, driver, tag):
		import signal
		for pid in [driver.pid] + with_tag(tag):
			try:
				os.kill(pid, signal.SIGKILL)
			except ProcessLookupError:
				pass
		driver.wait()

	def gone_within(self, tag, seconds):
		import time
		deadline = time.monotonic() + seconds
		while with_tag(tag) and time.monotonic() < deadline:
			time.sleep(0.05)
		return not with_tag(tag)

	def test_term_and_hup_end_every_child(self):
		import signal
		for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
			with self.subTest(sig=sig.name):
				driver, tag = self.start()
				driver.send_signal(sig)
				self.assertEqual(driver.wait(timeout=10), 128 + sig)
				self.assertTrue(self.gone_within(tag, 1))

	def test_children_do_not_outlive_a_killed_runner(self):
		import signal
		from slub_kunit import procs
		driver, tag = self.start()
		driver.send_signal(signal.SIGKILL)
		driver.wait()
		self.assertTrue(self.gone_within(tag, procs.GRACE + 2))


class LinkedTreeTest(unittest.TestCase):
	"""A user's tree whose directories are symbolic links."""

	def setUp(self):
		self.tmp = tempfile.mkdtemp(prefix='slub-kunit-test-')
		self.kernel = os.path.join(self.tmp, 'linux')
		self.outside = os.path.join(self.tmp, 'elsewhere')
		self.repo = os.path.join(self.tmp, 'repo')
		os.makedirs(os.path.join(self.outside, 'mm'))
		os.makedirs(os.path.join(self.outside, 'docs', 'dev-tools'))
		with open(os.path.join(self.outside, 'mm', 'slub.c'), 'w') as f:
			f.write('int a;\n')
		os.makedirs(self.kernel)
		os.symlink(os.path.join(self.outside, 'mm'), os.path.join(self.kernel, 'mm'))
		os.symlink('../elsewhere/docs', os.path.join(self.kernel, 'Documentation'))
		for rel, text in (('mm/slub_kunit.c', '/* suite */\n'), ('tools/patches/series', ''),
				  ('Documentation/dev-tools/x.rst', 'doc\n')):
			os.makedirs(os.path.dirname(os.path.join(self.repo, rel)), exist_ok=True)
			with open(os.path.join(self.repo, rel), 'w') as f:
				f.write(text)

	def tearDown(self):
		shutil.rmtree(self.tmp)

	def test_overlay_never_writes_through_a_link(self):
		from slub_kunit.kernel import tree
		work = tree.prepare(self.kernel, 'user tree', os.path.join(self.tmp, 'work'), 'k', [],
				    repo=self.repo).path
		self.assertEqual(sorted(os.listdir(os.path.join(self.outside, 'mm'))), ['slub.c'])
		self.assertEqual(os.listdir(os.path.join(self.outside, 'docs', 'dev-tools')), [])
		self.assertFalse(os.path.islink(os.path.join(work, 'mm')))
		self.assertEqual(sorted(os.listdir(os.path.join(work, 'mm'))), ['slub.c', 'slub_kunit.c'])
		self.assertTrue(os.path.isfile(os.path.join(work, 'Documentation/dev-tools/x.rst')))


class MachineFailureTest(unittest.TestCase):
	"""The machine failing is exit 3, never a verdict on the patch."""

	def build_failing_with(self, output):
		from slub_kunit.kernel import kunit_tool
		b = kunit_tool.Build(tree='/nonexistent', build_dir='/nonexistent/b', arch='x86_64',
				     cache_dir='/nonexistent/c')
		done = mock.Mock(returncode=2, stdout=output)
		with mock.patch.object(kunit_tool.Build, 'kunit', return_value=done), \
		     mock.patch('builtins.print'):
			b.build()

	def test_full_disk_or_killed_compiler(self):
		for out in ('mm/slub.o: No space left on device\nmake: *** Error 1\n',
			    "gcc: fatal error: Killed signal terminated program cc1\n",
			    'cc1: out of memory allocating 65536 bytes\n'):
			with self.subTest(out=out):
				with self.assertRaises(common.UserError) as ctx:
					self.build_failing_with(out)
				self.assertEqual(ctx.exception.code, Exit.SETUP)
				self.assertIn('machine', str(ctx.exception))

	def test_a_tree_without_mm_slub_c_is_not_judged(self):
		from slub_kunit.kernel import tree
		tmp = tempfile.mkdtemp(prefix='slub-kunit-test-')
		self.addCleanup(shutil.rmtree, tmp)
		os.makedirs(os.path.join(tmp, 'mm'))
		with self.assertRaises(common.UserError) as ctx:
			tree.write_tree_header(tmp)
		self.assertEqual(ctx.exception.code, Exit.NOT_JUDGED)

	def test_run_writes_its_json_when_it_stops_early(self):
		import json
		from contextlib import contextmanager
		from slub_kunit import pipeline
		tmp = tempfile.mkdtemp(prefix='slub-kunit-test-')
		self.addCleanup(shutil.rmtree, tmp)
		os.makedirs(os.path.join(tmp, 'include/linux'))
		open(os.path.join(tmp, 'include/linux/node.h'), 'w').close()
		src = source.Source(path=tmp, label='a tree', key='k')
		fake = mock.Mock(src=src, policy='normal')
		fake.prepare.side_effect = common.NotJudged('not judged: the tree has no mm/slub.c')

		@contextmanager
		def session(req, stages):
			yield fake
		out = os.path.join(tmp, 'out.json')
		req = pipeline.RunRequest(cache=tmp, json_path=out)
		with mock.patch.object(pipeline, 'session', session):
			with self.assertRaises(common.UserError):
				pipeline.run_suite(req)
		with open(out) as f:
			data = json.load(f)
		self.assertEqual(data['slub_kunit']['error']['exit'], Exit.NOT_JUDGED)
		self.assertEqual(data['slub_kunit']['kernel'], 'a tree')
