# SPDX-License-Identifier: GPL-2.0
"""test's plan: every arch and line at its depth; a line Debian stopped
serving is skipped with its reason, anything else still fails."""

import unittest
from unittest import mock

from slub_kunit import pipeline, testplan
from slub_kunit.common import HostError
from slub_kunit.kernel import source
from slub_kunit.testplan import Mutants, Row


class PlanTest(unittest.TestCase):

	def test_default_covers_both_generations_on_every_arch(self):
		rows = testplan.plan(None, None)
		for kernel in ('6.12', '7'):
			for arch in ('x86_64', 'um', 'ppc64le'):
				self.assertIn((kernel, arch), [(r.kernel, r.arch) for r in rows])
		self.assertIn(Row('7.2', 'x86_64', optional=True), rows)
		depth = {(r.kernel, r.arch): r.mutants for r in testplan.catalogues(rows)}
		self.assertEqual(depth, {('6.12', 'x86_64'): Mutants.ALL, ('7', 'x86_64'): Mutants.ALL,
					 ('6.12', 'ppc64le'): Mutants.ARCH, ('7', 'ppc64le'): Mutants.ARCH})

	def test_named_kernels_and_arches_cross(self):
		rows = testplan.plan(['7.2'], ['um', 'ppc64le'])
		self.assertEqual(rows, [Row('7.2', 'um'), Row('7.2', 'ppc64le', Mutants.ARCH)])
		self.assertFalse(any(r.optional for r in rows))


class OptionalLineTest(unittest.TestCase):

	def matrix(self, err: Exception, optional: bool):
		with mock.patch.object(pipeline, 'run_suite', side_effect=err):
			return testplan.suite_rows([Row('7.2', 'x86_64', optional=optional)],
						    '/nonexistent', 1, False)

	def test_gone_line_is_skipped_with_its_reason(self):
		table, total = self.matrix(source.NoPackage('--kernel 7.2: no Debian package'), True)
		self.assertEqual(total, [0, 0, 1])
		self.assertTrue(table[0][3])
		self.assertIn('skipped: --kernel 7.2: no Debian package', table[0][2])

	def test_gone_line_that_was_asked_for_fails(self):
		with self.assertRaises(source.NoPackage):
			self.matrix(source.NoPackage('gone'), False)

	def test_a_machine_fault_is_no_skip(self):
		table, total = self.matrix(HostError('disk full'), True)
		self.assertEqual(total, [0, 1, 0])
		self.assertFalse(table[0][3])


if __name__ == '__main__':
	unittest.main()
