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

from slub_kunit import common, host, source
from slub_kunit.tests.test_inputs import run_cli
from slub_kunit.status import Exit


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
