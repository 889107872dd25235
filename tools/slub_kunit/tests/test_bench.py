# SPDX-License-Identifier: GPL-2.0
#
# The bench's table and its verdicts on the targets.

import os
import shutil
import tempfile
import unittest

from slub_kunit import bench
from slub_kunit.bench import Row, Timed


class BenchTableTest(unittest.TestCase):

	def rows(self, runner_cold, hand_cold, runner_warm, hand_warm):
		return [Row('runner', Timed(runner_cold, True), Timed(runner_warm, True, 2.5)),
			Row('hand', Timed(hand_cold, True), Timed(hand_warm, True))]

	def test_ratios_and_in_kernel_time(self):
		text = bench.table(self.rows(660.0, 600.0, 40.0, 20.0), 'label')
		self.assertIn('| runner / by hand | 1.10x (+10.0 %) | 2.00x (+100.0 %) |', text)
		self.assertIn('| suites inside the kernel | | 2.5 s |', text)

	def test_targets(self):
		met = bench.verdicts(self.rows(650.0, 600.0, 44.0, 20.0))
		self.assertTrue(all(line.endswith(': met') for line in met), met)
		missed = bench.verdicts(self.rows(700.0, 600.0, 46.0, 20.0))
		self.assertTrue(all(line.endswith(': MISSED') for line in missed), missed)

	def test_warm_only(self):
		rows = [Row('runner', None, Timed(30.0, True)), Row('hand', None, Timed(25.0, False))]
		text = bench.table(rows, 'label')
		self.assertIn('| hand | - | 25.0 s (FAILED) |', text)
		self.assertEqual(len(bench.verdicts(rows)), 1)

	def test_stock_suite_location(self):
		tmp = tempfile.mkdtemp(prefix='slub-kunit-test-')
		try:
			self.assertIsNone(bench.stock_suite(tmp))
			os.makedirs(os.path.join(tmp, 'lib', 'tests'))
			open(os.path.join(tmp, 'lib', 'slub_kunit.c'), 'w').close()
			self.assertEqual(bench.stock_suite(tmp), 'lib/slub_kunit.c')
			open(os.path.join(tmp, 'lib', 'tests', 'slub_kunit.c'), 'w').close()
			self.assertEqual(bench.stock_suite(tmp), 'lib/tests/slub_kunit.c')
		finally:
			shutil.rmtree(tmp)


class CcacheTest(unittest.TestCase):

	def test_probes_are_not_results(self):
		from slub_kunit.kernel.kunit_tool import ccache_has_results
		tmp = tempfile.mkdtemp(prefix='slub-kunit-test-')
		try:
			self.assertFalse(ccache_has_results(os.path.join(tmp, 'none')))
			os.makedirs(os.path.join(tmp, '3'))
			open(os.path.join(tmp, '3', 'stats'), 'w').close()
			self.assertFalse(ccache_has_results(tmp))
			os.makedirs(os.path.join(tmp, '3', 'a'))
			open(os.path.join(tmp, '3', 'a', 'x0R'), 'w').close()
			self.assertTrue(ccache_has_results(tmp, at_least=1))
			# What 'make olddefconfig' leaves is not a kernel's worth.
			for i in range(40):
				open(os.path.join(tmp, '3', 'a', f'p{i}R'), 'w').close()
			self.assertFalse(ccache_has_results(tmp))
			os.makedirs(os.path.join(tmp, 'f', '0'))
			for i in range(200):
				open(os.path.join(tmp, 'f', '0', f'k{i}R'), 'w').close()
			self.assertTrue(ccache_has_results(tmp))
		finally:
			shutil.rmtree(tmp)
