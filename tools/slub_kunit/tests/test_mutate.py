# SPDX-License-Identifier: GPL-2.0
#
# A mutant killed by a crash is booted again with its killer alone, so that
# the report names the case that catches it; the verdict stays a kill.

import unittest

from slub_kunit import mutate, pipeline, results
from slub_kunit.status import Mutant, Status

KILLER = 'slub_hotplug.slub_hotplug_cache_created_in_window'
MUTANT = {'name': 'm', 'killers': [KILLER]}


class FakeSession:

	def __init__(self, cases):
		self.req = pipeline.RunRequest(cache='/nonexistent', kernel_args=['a=1'])
		self.cases = cases
		self.args = []

	def boot(self, policy=None, stage=''):
		self.args.append(list(self.req.kernel_args))
		return results.Outcome(cases=dict(self.cases)), None


class AloneIfCrashed(unittest.TestCase):

	def crashed(self):
		return mutate.judge(MUTANT, ['slub_hotplug.'], ['kunit.py exited with 1'])

	def test_the_killer_alone_names_itself(self):
		s = FakeSession({KILLER: Status.FAIL})
		got = mutate.alone_if_crashed(s, MUTANT, self.crashed())
		self.assertEqual(got.status, Mutant.KILLED)
		self.assertTrue(got.detail.startswith(f'{KILLER} (alone; in the full run the kernel '
						      'crashed in slub_hotplug first)'), got.detail)
		self.assertEqual(s.args, [['a=1', f'kunit.filter_glob={KILLER}']])
		self.assertEqual(s.req.kernel_args, ['a=1'])

	def test_a_killer_that_passes_alone_keeps_the_crash(self):
		s = FakeSession({KILLER: Status.PASS})
		got = mutate.alone_if_crashed(s, MUTANT, self.crashed())
		self.assertEqual((got.status, got.detail), (Mutant.KILLED,
							    'kernel crashed in slub_hotplug'))

	def test_a_named_kill_boots_nothing_more(self):
		s = FakeSession({})
		named = mutate.judge(MUTANT, [KILLER], [])
		self.assertIs(mutate.alone_if_crashed(s, MUTANT, named), named)
		self.assertEqual(s.args, [])
