# SPDX-License-Identifier: GPL-2.0
#
# A hung kernel is found at ten times the build's measured boot, and named.

import os
import shutil
import tempfile
import time
import unittest

from slub_kunit import pipeline
from slub_kunit.common import Stages


class FakeBuild:
	"""exec() takes as long as the test says and writes no result."""

	def __init__(self, build_dir, timeout, takes):
		self.build_dir, self.timeout, self.takes = build_dir, timeout, takes

	def exec(self, json_path, kernel_args):
		time.sleep(self.takes)
		return 1

	def kernel_log(self):
		return ''


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
		pipeline.record_boot(self.tmp, self.req, 8.0)
		build = FakeBuild(self.tmp, timeout=1, takes=1.0)
		out, raw = pipeline.boot(self.req, build, Stages(), 'normal')
		self.assertIsNone(raw)
		self.assertTrue(out.problems[0].startswith('the kernel hung: no complete result after '
							   '1 s (10x this build\'s measured boot of '
							   '8.0 s'), out.problems)
		self.assertFalse(out.ok)

	def test_a_quick_crash_is_not_a_hang(self):
		build = FakeBuild(self.tmp, timeout=60, takes=0.0)
		out, _ = pipeline.boot(self.req, build, Stages(), 'normal')
		self.assertFalse(any('hung' in p for p in out.problems))
		self.assertIsNone(pipeline.measured_boot(self.tmp, self.req))
