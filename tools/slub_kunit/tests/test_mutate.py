# SPDX-License-Identifier: GPL-2.0
#
# A mutant killed by a crash is booted again with its killer alone, so that
# the report names the case that catches it; the verdict stays a kill.

import unittest

from slub_kunit import pipeline
from slub_kunit.judge import mutate
from slub_kunit.kernel import results
from slub_kunit.status import Mutant, Status

KILLER = 'slub_hotplug.test_cache_created_in_window'
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

	def crashed(self, where='slub_hotplug.'):
		return results.Outcome(cases={where: Status.ERROR}, problems=['kunit.py exited'])

	def test_the_killer_alone_names_itself(self):
		s = FakeSession({KILLER: Status.FAIL})
		got = mutate.alone_if_crashed(s, MUTANT, self.crashed())
		self.assertEqual(got.status, Mutant.KILLED)
		self.assertTrue(got.detail.startswith(f'{KILLER} (alone; in the full run the kernel '
						      'died in slub_hotplug first)'), got.detail)
		self.assertEqual(s.args, [['a=1', f'kunit.filter_glob={KILLER}']])
		self.assertEqual(s.req.kernel_args, ['a=1'])

	def test_a_run_that_died_before_any_suite_ended(self):
		# kunit.py names it '' (the 6.12 catalogue's slab-pages-from-movable
		# under oops=panic was 'killed elsewhere' by that name)
		s = FakeSession({KILLER: Status.FAIL})
		got = mutate.alone_if_crashed(s, MUTANT, self.crashed(''))
		self.assertEqual(got.status, Mutant.KILLED)
		self.assertIn('died in the run first', got.detail)

	def test_a_killer_that_passes_alone_gets_the_full_run_as_before(self):
		s = FakeSession({KILLER: Status.PASS})
		s.req = pipeline.RunRequest(cache='/nonexistent', kernel_args=['a=1'] +
					    mutate.MUTANT_ARGS)
		got = mutate.alone_if_crashed(s, MUTANT, self.crashed())
		# the fake's third boot: every case passes, as the killer did alone
		self.assertEqual(got.status, Mutant.SURVIVED)
		self.assertEqual(s.args, [['a=1'] + mutate.MUTANT_ARGS + [f'kunit.filter_glob={KILLER}'],
					  ['a=1']])

	def test_the_killer_alone_dies_too(self):
		# The 6.12 catalogue's offline-frees-node-structures: in the full
		# run the kernel died in slub_hotplug_real, linked first; alone,
		# the killer's case is the one it dies in.
		s = FakeSession({'slub_hotplug.': Status.ERROR})
		got = mutate.alone_if_crashed(s, MUTANT, self.crashed('slub_hotplug_real.'))
		self.assertEqual(got.status, Mutant.KILLED)
		self.assertIn(f'the kernel died in {KILLER}, run alone', got.detail)
		self.assertEqual(len(s.args), 1)

	def test_a_named_kill_boots_nothing_more(self):
		s = FakeSession({})
		got = mutate.alone_if_crashed(s, MUTANT, results.Outcome(cases={KILLER: Status.FAIL}))
		self.assertEqual((got.status, got.detail), (Mutant.KILLED, KILLER))
		self.assertEqual(s.args, [])

	def test_no_crash_no_second_boot(self):
		s = FakeSession({})
		got = mutate.alone_if_crashed(s, MUTANT, results.Outcome(cases={'x.y': Status.FAIL}))
		self.assertEqual(got.status, Mutant.ELSEWHERE)
		self.assertEqual(s.args, [])


class WhatAMutantNeeds(unittest.TestCase):
	"""A mutant whose killer runs only under --debug or only in another
	configuration is not judged elsewhere: not a survivor, not a kill."""

	def test_needs(self):
		plain = pipeline.RunRequest(cache='/nonexistent')
		hotremove_n = pipeline.RunRequest(cache='/nonexistent',
						  kconfig=['CONFIG_MEMORY_HOTREMOVE=n'])
		debug = pipeline.RunRequest(cache='/nonexistent', debug=True)
		self.assertIsNone(mutate.needs(plain, MUTANT))
		self.assertEqual(mutate.needs(plain, dict(MUTANT, debug=True)).status,
				 Mutant.NEEDS_DEBUG)
		self.assertIsNone(mutate.needs(debug, dict(MUTANT, debug=True)))
		wants = dict(MUTANT, kconfig=['CONFIG_MEMORY_HOTREMOVE=n'])
		verdict = mutate.needs(plain, wants)
		self.assertEqual(verdict.status, Mutant.NEEDS_KCONFIG)
		self.assertIn('--kconfig CONFIG_MEMORY_HOTREMOVE=n', verdict.detail)
		self.assertIsNone(mutate.needs(hotremove_n, wants))
		ppc = dict(MUTANT, arch=['ppc64le'])
		self.assertEqual(mutate.needs(plain, ppc).status, Mutant.NEEDS_ARCH)
		self.assertIsNone(mutate.needs(pipeline.RunRequest(cache='/nonexistent',
								   arch='ppc64le'), ppc))

	def test_catalogue_kconfig_entries_are_options(self):
		import json
		import os
		for gen in ('memory_notify', 'node_notify'):
			with open(os.path.join(mutate.CATALOGUE_DIR, f'{gen}.json')) as f:
				for m in json.load(f)['mutants']:
					for opt in m.get('kconfig', []):
						self.assertRegex(opt, r'^CONFIG_\w+=(y|n|m|\d+)$', m['name'])
