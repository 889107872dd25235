# SPDX-License-Identifier: GPL-2.0
#
# A hung kernel is found at ten times the build's measured boot, and named.

import json
import os
import shutil
import tempfile
import time
import unittest

from slub_kunit import pipeline
from slub_kunit.common import HostError, Stages
from slub_kunit.kernel import kunit_tool


BANNER = '[    0.000000] Linux version 6.12.0 (gcc) #1 SMP\n'
PASSING = {'name': 'KUnit Test Group', 'test_cases': [], 'sub_groups': [
	{'name': 'slub_hotplug', 'test_cases': [{'name': 'test_event', 'status': 'PASS'}],
	 'sub_groups': []},
	{'name': 'slub_hotplug_real', 'test_cases': [{'name': 'test_stress', 'status': 'PASS'}],
	 'sub_groups': []}]}


class FakeBuild:
	"""exec() plays one boot after another: each takes its time (None: until
	the timeout), prints its log, and leaves its JSON result and QEMU's
	status, if any."""

	def __init__(self, build_dir, timeout, takes=None, boots=None):
		self.build_dir, self.timeout = build_dir, timeout
		self.overlay = None
		self.spec = kunit_tool.ARCH_SPECS['x86_64']
		self.boots = list(boots or [{'takes': takes, 'log': BANNER}])
		self.booted = 0
		self.log = ''

	def output_dir(self):
		return self.build_dir

	def config_has(self, option):
		return True

	def exec(self, json_path, kernel_args):
		boot = self.boots[min(self.booted, len(self.boots) - 1)]
		self.booted += 1
		takes = boot.get('takes')
		time.sleep(self.timeout if takes is None else takes)
		self.log = boot.get('log', BANNER)
		if boot.get('result'):
			with open(json_path, 'w') as f:
				json.dump(boot['result'], f)
		if boot.get('status'):
			with open(os.path.join(os.path.dirname(json_path), 'qemu-status.json'), 'w') as f:
				json.dump(boot['status'], f)
		return 0 if boot.get('result') else 1

	def kernel_log(self):
		return self.log


class HangTest(unittest.TestCase):

	def setUp(self):
		self.tmp = tempfile.mkdtemp(prefix='slub-kunit-hang-')
		self.req = pipeline.RunRequest(cache=self.tmp)

	def tearDown(self):
		shutil.rmtree(self.tmp)

	def test_timeout_from_the_measured_boot(self):
		self.assertEqual(pipeline.hang_timeout(self.tmp, self.req), pipeline.FIRST_BOOT)
		pipeline.record_boot(self.tmp, self.req, 8.1)
		self.assertEqual(pipeline.hang_timeout(self.tmp, self.req), 81)
		pipeline.record_boot(self.tmp, self.req, 2.0)
		self.assertEqual(pipeline.hang_timeout(self.tmp, self.req), pipeline.HANG_FLOOR)
		debug = pipeline.RunRequest(cache=self.tmp, debug=True)
		self.assertEqual(pipeline.hang_timeout(self.tmp, debug), pipeline.HANG_FLOOR_DEBUG)
		# --repeat boots take longer: measured apart
		repeat = pipeline.RunRequest(cache=self.tmp, repeat=5)
		self.assertIsNone(pipeline.measured_boot(self.tmp, repeat))
		with open(os.path.join(self.tmp, pipeline.BOOT_RECORD), 'w') as f:
			f.write('garbage')
		self.assertIsNone(pipeline.measured_boot(self.tmp, self.req))

	def test_a_hang_is_named(self):
		"""Booted twice, the second time with twice the time, then named."""
		pipeline.record_boot(self.tmp, self.req, 8.0)
		build = FakeBuild(self.tmp, timeout=1)
		out, raw = pipeline.boot(self.req, build, Stages(), 'normal')
		self.assertIsNone(raw)
		self.assertEqual(build.booted, 2)
		self.assertTrue(out.problems[0].startswith('the kernel hung: no complete result after '
							   '2 s (10x this build\'s measured boot of '
							   '8.0 s'), out.problems)
		self.assertFalse(out.ok)
		self.assertEqual(build.timeout, 1)

	def test_a_hang_on_a_busy_host_is_not_blamed(self):
		"""A boot slower than the timeout, then one that passes: the second
		boot's result stands."""
		build = FakeBuild(self.tmp, timeout=1, boots=[
			{'takes': None}, {'takes': 0.0, 'log': BANNER + 'KTAP version 1\n',
					  'result': PASSING}])
		out, _ = pipeline.boot(self.req, build, Stages(), 'normal')
		self.assertTrue(out.ok, out.problems)
		self.assertEqual(build.booted, 2)

	def test_mutants_are_not_booted_again_for_a_hang(self):
		build = FakeBuild(self.tmp, timeout=1)
		out, _ = pipeline.boot(self.req, build, Stages(), 'normal', again=False)
		self.assertEqual(build.booted, 1)
		self.assertTrue(pipeline.hung(out))

	def test_a_quick_crash_is_not_a_hang(self):
		build = FakeBuild(self.tmp, timeout=60, takes=0.0)
		out, _ = pipeline.boot(self.req, build, Stages(), 'normal')
		self.assertFalse(any('hung' in p for p in out.problems))
		self.assertIsNone(pipeline.measured_boot(self.tmp, self.req))
		# it printed but died before any KTAP: booted once more, then blamed
		self.assertEqual(build.booted, 2)
		self.assertFalse(out.ok)


class HostFaultTest(unittest.TestCase):
	"""The machine's failures are never the kernel's verdict."""

	def setUp(self):
		self.tmp = tempfile.mkdtemp(prefix='slub-kunit-host-')
		self.req = pipeline.RunRequest(cache=self.tmp)
		self.pause = pipeline.HOST_PAUSE
		pipeline.HOST_PAUSE = 0.0

	def tearDown(self):
		pipeline.HOST_PAUSE = self.pause
		shutil.rmtree(self.tmp)

	def boot(self, *boots):
		build = FakeBuild(self.tmp, timeout=30, boots=list(boots))
		return build, pipeline.boot(self.req, build, Stages(), 'normal')

	def test_qemu_that_cannot_start_is_the_host(self):
		cannot = {'takes': 0.0, 'log': 'qemu-system-x86_64: cannot set up guest memory '
			  '\'pc.ram\': Cannot allocate memory\n', 'status': {'exit': 1, 'passed_on': []}}
		with self.assertRaisesRegex(HostError, 'QEMU did not start the kernel: cannot set up '
					    'guest memory'):
			self.boot(cannot)

	def test_qemu_killed_mid_boot_is_the_host(self):
		killed = {'takes': 0.0, 'log': BANNER + 'KTAP version 1\n',
			  'status': {'signal': 9, 'passed_on': []}}
		with self.assertRaisesRegex(HostError, 'killed by signal 9'):
			self.boot(killed)

	def test_qemu_stopped_from_outside_is_the_host(self):
		stopped = {'takes': 0.0, 'log': BANNER + 'qemu-system-x86_64: terminating on signal '
			   '15 from pid 4242 (kill)\n', 'status': {'exit': 0, 'passed_on': []}}
		with self.assertRaisesRegex(HostError, 'stopped from outside'):
			self.boot(stopped)

	def test_a_host_failure_is_tried_again(self):
		build, (out, _) = self.boot({'takes': 0.0, 'log': ''},
					    {'takes': 0.0, 'log': BANNER, 'result': PASSING})
		self.assertTrue(out.ok, out.problems)
		self.assertEqual(build.booted, 2)

	def test_kunit_timeout_is_a_hang_not_the_host(self):
		"""kunit.py's own timeout ends QEMU through the front: the kernel
		hung."""
		ended = {'takes': None, 'log': BANNER + 'KTAP version 1\n',
			 'status': {'signal': 15, 'passed_on': [15]}}
		build = FakeBuild(self.tmp, timeout=1, boots=[ended])
		out, _ = pipeline.boot(self.req, build, Stages(), 'normal')
		self.assertTrue(pipeline.hung(out))

	def test_the_baseline_is_booted_when_it_has_not_passed_lately(self):
		"""A patched kernel that dies twice: the kernel without the patches
		(below the overlay) is booted; if it dies too, the host is at fault."""
		image = os.path.join(self.tmp, 'arch', 'x86', 'boot')
		os.makedirs(image)
		open(os.path.join(image, 'bzImage'), 'w').close()
		dies = {'takes': 0.0, 'log': BANNER}
		build = FakeBuild(self.tmp, timeout=30, boots=[dies])
		build.overlay = object()
		with self.assertRaisesRegex(HostError, 'without the patches fails on this host too'):
			pipeline.boot(self.req, build, Stages(), 'normal')
		self.assertEqual(build.booted, 3)
		# it passed a minute ago: the patch is blamed, without a third boot
		pipeline.record_boot(self.tmp, self.req, 8.0)
		build = FakeBuild(self.tmp, timeout=30, boots=[dies])
		build.overlay = object()
		out, _ = pipeline.boot(self.req, build, Stages(), 'normal')
		self.assertFalse(out.ok)
		self.assertEqual(build.booted, 2)
