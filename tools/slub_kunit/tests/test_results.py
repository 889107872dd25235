# SPDX-License-Identifier: GPL-2.0
#
# Judging kunit.py's JSON: crashes, hangs and missing plans fail the run.

import unittest

from slub_kunit.judge import mutate
from slub_kunit.kernel import kunit_tool, results
from slub_kunit.status import Mutant, Status

P, F, S = Status.PASS, Status.FAIL, Status.SKIP


def group(name, cases=(), subs=()):
	return {'name': name, 'test_cases': [{'name': n, 'status': s} for n, s in cases],
		'sub_groups': list(subs)}


GOOD = group('KUnit Test Group', subs=[
	group('slub_hotplug', cases=[('a', 'PASS'), ('b', 'SKIP')],
	      subs=[group('ev', cases=[('MEM_ONLINE (2,2)', 'PASS')])]),
	group('slub_hotplug_real', cases=[('online', 'PASS')]),
	group('slub_hotplug_leaks', cases=[('no_new_leaks', 'PASS')])])


class OutcomeTest(unittest.TestCase):

	def test_pass(self):
		out = results.outcome(GOOD, 0)
		self.assertTrue(out.ok)
		self.assertEqual(out.summary(), '4 passed, 0 failed, 1 skipped')
		self.assertIn('slub_hotplug.ev.MEM_ONLINE (2,2)', out.cases)

	def test_failure_and_crash(self):
		bad = group('KUnit Test Group', subs=[group('slub_hotplug', cases=[
			('a', 'FAIL'), ('b', 'ERROR'), ('c', 'PASS')]),
			group('slub_hotplug_real', cases=[('online', 'PASS')])])
		out = results.outcome(bad, 1)
		self.assertFalse(out.ok)
		self.assertEqual(out.failed, 2)
		self.assertEqual(out.failures(), ['slub_hotplug.a', 'slub_hotplug.b'])

	def test_no_json_is_failure(self):
		out = results.outcome(None, 1)
		self.assertFalse(out.ok)
		self.assertTrue(out.problems)

	def test_missing_suite_is_failure(self):
		out = results.outcome(group('KUnit Test Group', subs=[group('other', cases=[('x', 'PASS')])]), 0)
		self.assertFalse(out.ok)
		self.assertIn('slub_hotplug', out.problems[0])

	def test_nonzero_exit_without_failures(self):
		self.assertFalse(results.outcome(GOOD, 1).ok)

	def test_leak_scan_must_run_last(self):
		early = group('KUnit Test Group', subs=[
			group('slub_hotplug_leaks', cases=[('no_new_leaks', 'PASS')]),
			group('slub_hotplug', cases=[('a', 'PASS')]),
			group('slub_hotplug_real', cases=[('online', 'PASS')])])
		out = results.outcome(early, 0)
		self.assertFalse(out.ok)
		self.assertIn('must come last', out.problems[0])


class MutantTest(unittest.TestCase):

	def test_apply_edits(self):
		text = 'a\nb\nc\n'
		self.assertEqual(mutate.apply_edits(text, [{'search': 'b\n', 'replace': 'B\n'}]), 'a\nB\nc\n')
		self.assertIsNone(mutate.apply_edits(text, [{'search': 'x', 'replace': 'y'}]))
		self.assertIsNone(mutate.apply_edits('b b', [{'search': 'b', 'replace': 'y'}]))

	def test_judge(self):
		m = {'name': 'm', 'killers': ['s.ev.MEM_OFFLINE (*,*) normal->none']}
		self.assertEqual(mutate.judge(m, ['s.ev.MEM_OFFLINE (nid,nid) normal->none'], []).status,
				 Mutant.KILLED)
		self.assertEqual(mutate.judge(m, ['s.other'], []).status, Mutant.ELSEWHERE)
		self.assertEqual(mutate.judge(m, [], []).status, Mutant.SURVIVED)
		self.assertEqual(mutate.judge(m, ['s.'], []).status, Mutant.KILLED)
		self.assertEqual(mutate.judge(m, ['t.'], []).status, Mutant.ELSEWHERE)

	def test_judge_by_splat(self):
		m = {'name': 'm', 'killers': ['splat:possible recursive locking']}
		lockdep = 'kernel log: WARNING: possible recursive locking detected'
		self.assertEqual(mutate.judge(m, [], [lockdep]).status, Mutant.KILLED)
		self.assertEqual(mutate.judge(m, [], ['kernel log: BUG: KASAN: x']).status,
				 Mutant.ELSEWHERE)

	def test_catalogues_are_well_formed(self):
		for gen in ('memory_notify', 'node_notify'):
			cat = mutate.load_catalogue(gen)
			names = [m['name'] for m in cat['mutants']]
			self.assertGreaterEqual(len(names), 25, gen)
			self.assertEqual(len(names), len(set(names)), gen)
			for m in cat['mutants']:
				self.assertTrue(m['killers'] and m['edits'] and m['invariant'], m['name'])


class SplatTest(unittest.TestCase):

	def test_clean_log(self):
		log = 'KTAP version 1\n    ok 1 a\n=== slub ===\nslub_hotplug: memory notifier\n'
		self.assertEqual(results.splats(log), [])

	def test_warning_and_kasan(self):
		log = ('WARNING: CPU: 0 PID: 1 at arch/um/drivers/virt-pci.c:1005 um_pci_init\n'
		       'KTAP version 1\nok 1 a\n'
		       '------------[ cut here ]------------\n'
		       'WARNING: CPU: 0 PID: 1 at mm/slub.c:123 foo+0x1/0x2\n'
		       '==================================================================\n'
		       'BUG: KASAN: slab-use-after-free in bar+0x3/0x4\n'
		       'unreferenced object 0xffff888 (size 64):\n')
		got = results.splats(log)
		self.assertEqual(len(got), 3)
		self.assertTrue(got[0].startswith('WARNING: CPU: 0'))

	def test_boot_warning_with_timestamps(self):
		# printk.time=1 is always passed: the KTAP header has a prefix too.
		log = ('[    0.090000] WARNING: CPU: 0 PID: 1 at '
		       'arch/um/drivers/virt-pci.c:1005 um_pci_init\n'
		       '[    0.090000] KTAP version 1\n[    0.090000] ok 1 a\n')
		self.assertEqual(results.splats(log), [])
		log += '[    1.500000] WARNING: CPU: 1 PID: 9 at mm/slub.c:1 f+0x1/0x2\n'
		self.assertEqual(len(results.splats(log)), 1)


class FlakeTest(unittest.TestCase):

	def test_differences(self):
		a = results.Outcome(cases={'s.a': P, 's.b': S, 's.c': P})
		b = results.Outcome(cases={'s.a': P, 's.b': P})
		self.assertEqual(results.differences(a, b),
				 ['s.b: SKIP then PASS', 's.c: PASS then missing'])
		self.assertEqual(results.differences(a, a), [])


class JunitTest(unittest.TestCase):

	def test_junit(self):
		import os
		import tempfile
		from xml.etree import ElementTree as ET
		out = results.outcome(GOOD, 0)
		with tempfile.TemporaryDirectory() as tmp:
			path = os.path.join(tmp, 'r.xml')
			results.write_junit(path, out, results.RunMeta(
				kernel='linux-source-6.12 6.12.117-1', arch='x86_64', policy='normal',
				patches=[{'name': 'a.patch', 'sha256': 'ab'}]))
			root = ET.parse(path).getroot()
		self.assertEqual(root.get('tests'), '5')
		names = [s.get('name') for s in root.findall('testsuite')]
		self.assertEqual(names, ['slub_hotplug', 'slub_hotplug_real', 'slub_hotplug_leaks'])
		props = {p.get('name'): p.get('value') for p in root.iter('property')}
		self.assertEqual(props['patch.0'], 'a.patch sha256:ab')
		self.assertEqual(len(root.findall('.//skipped')), 1)


class ValidateTest(unittest.TestCase):

	def test_classify(self):
		from slub_kunit.judge import validate
		from slub_kunit.status import Change, Step
		ev = 'slub_hotplug.test_event.MEM_OFFLINE (nid,nid) x'
		win = 'slub_hotplug.test_cache_created_in_window'
		boot = 'slub_hotplug.test_boot_mask'
		base = results.Outcome(cases={ev: P, win: P, boot: P})
		patched = results.Outcome(cases={ev: F, win: F, boot: P})
		alt = results.Outcome(cases={ev: P, win: F})
		changes = validate.classify(base, patched, alt)
		kinds = {c.case.split('.')[1]: c.kind for c in changes}
		self.assertEqual(kinds, {'test_event': Change.POLICY,
					 'test_cache_created_in_window': Change.INVARIANT})
		step, line = validate.verdict(changes, [])
		self.assertEqual(step, Step.BROKEN)
		self.assertIn('I1 coverage', line)
		policy_only = [c for c in changes if c.kind == Change.POLICY]
		self.assertEqual(validate.verdict(policy_only, [])[0], Step.POLICY)
		self.assertEqual(validate.verdict([], [])[0], Step.NO_CHANGE)

	def test_classify_by_message(self):
		# A case that also failed a policy-free check breaks an invariant,
		# even where the other policy's tracking makes it pass; one whose
		# only failures are the policy check is a policy change.
		from slub_kunit.judge import validate
		from slub_kunit.status import Change
		log = '\n'.join([
			'[    1.0] KTAP version 1',
			'[    1.0] # Subtest: slub_hotplug',
			'[    1.0] 1..2',
			'[    1.1]     # Subtest: test_event',
			'[    1.1]     # test_event: EXPECTATION FAILED at mm/slub_kunit_helpers.c:10',
			'[    1.1]     Expected tracked == w->tracked, but',
			'[    1.1] policy: MEM_ONLINE: node 3 tracked=1, policy normal says 0',
			'[    1.1]     not ok 1 MEM_ONLINE (nid,-1) none->movable',
			'[    1.2]     # test_event: EXPECTATION FAILED at mm/slub_kunit_helpers.c:10',
			'[    1.2] policy: MEM_OFFLINE: node 3 tracked=1, policy normal says 0',
			'[    1.2]     # test_event: EXPECTATION FAILED at mm/slub_kunit_helpers.c:900',
			'[    1.2] MEM_OFFLINE: node 3 __GFP_THISNODE, cold cache: no object',
			'[    1.2]     not ok 2 MEM_OFFLINE (nid,-1) movable->none',
			'[    1.3] not ok 1 test_event',
			'[    1.3] not ok 1 slub_hotplug',
		])
		blocks = results.failure_blocks(log)
		on = 'slub_hotplug.test_event.MEM_ONLINE (nid,-1) none->movable'
		off = 'slub_hotplug.test_event.MEM_OFFLINE (nid,-1) movable->none'
		self.assertEqual(len(blocks[on]), 1)
		self.assertEqual(len(blocks[off]), 2)
		base = results.Outcome(cases={on: P, off: P})
		patched = results.Outcome(cases={on: F, off: F})
		alt = results.Outcome(cases={on: P, off: P})
		kinds = {c.case: c.kind for c in validate.classify(base, patched, alt, blocks)}
		self.assertEqual(kinds, {on: Change.POLICY, off: Change.INVARIANT})
		# No message found (a crash): the other policy's run decides.
		kinds = {c.case: c.kind for c in validate.classify(base, patched, alt, {})}
		self.assertEqual(kinds, {on: Change.POLICY, off: Change.POLICY})

	def test_classify_notifier_change(self):
		# A patch that moves the slab to the node notifier renames the
		# event cases: the old ones are gone, the new ones new, not fixed.
		from slub_kunit.judge import validate
		from slub_kunit.status import Change
		old = 'slub_hotplug.test_event.MEM_ONLINE (nid,nid) none->normal'
		new = 'slub_hotplug.test_event.NODE_ADDED_FIRST_MEMORY none->normal'
		was = 'slub_hotplug.test_reonline_reuses'
		base = results.Outcome(cases={old: P, was: F})
		patched = results.Outcome(cases={new: P, was: P})
		kinds = {c.case: c.kind for c in validate.classify(base, patched, None)}
		self.assertEqual(kinds, {old: Change.GONE, new: Change.NEW, was: Change.FIXED})


class RepeatTest(unittest.TestCase):

	def test_repeat_differences(self):
		out = results.Outcome(cases={'slub_hotplug.a': P, 'slub_hotplug_run2.a': F,
					     'slub_hotplug_real.b': P, 'slub_hotplug_real_run2.b': P})
		self.assertEqual(results.repeat_differences(out),
				 ['slub_hotplug_run2.a: FAIL, run 1 PASS'])


if __name__ == '__main__':
	unittest.main()


class BuildErrorTest(unittest.TestCase):
	"""A build that fails only in the suite's files is not the patch's fault."""

	def test_suite_only(self):
		out = ('  CC      mm/slub.o\n'
		       'In file included from ../mm/slub.c:7710:\n'
		       '../mm/slub_kunit_compat.h:111:16: error: implicit declaration of '
		       "function 'slab_memory_callback'\n"
		       '../mm/slub_kunit_helpers.h:20:3: error: unknown type name \'x\'\n')
		self.assertEqual(kunit_tool.suite_only_error(out),
				 "slub_kunit_compat.h: implicit declaration of function "
				 "'slab_memory_callback'")

	def test_kernel_error_is_a_build_failure(self):
		out = ("../mm/slub.c:5900:3: error: expected ';' before '}' token\n"
		       '../mm/slub_kunit.c:12:1: error: unknown type name \'x\'\n')
		self.assertIsNone(kunit_tool.suite_only_error(out))
		self.assertIsNone(kunit_tool.suite_only_error('make: *** [Makefile] Error 2\n'))


class CatalogueEntryTest(unittest.TestCase):
	"""Mutants and correct patches: one file changed, built, booted, put back."""

	def setUp(self):
		import os
		import shutil
		import tempfile
		self.tmp = tempfile.mkdtemp(prefix='slub-kunit-test-')
		self.addCleanup(shutil.rmtree, self.tmp)
		os.makedirs(os.path.join(self.tmp, 'work', 'mm'))
		self.slub = os.path.join(self.tmp, 'work', 'mm', 'slub.c')
		with open(self.slub, 'w') as f:
			f.write('int a;\n')

	def session(self, cases=None, error=None):
		from unittest import mock
		fake = mock.Mock(work=self.slub[:-len('/mm/slub.c')])
		seen = []

		def build_and_boot():
			with open(self.slub) as f:
				seen.append(f.read())
			if error:
				raise error
			return results.Outcome(cases=cases or {}), None
		fake.build_and_boot.side_effect = build_and_boot
		from slub_kunit.pipeline import RunRequest
		fake.req = RunRequest(cache=self.tmp)
		return fake, seen

	def test_correct_and_mutant(self):
		from slub_kunit.common import NotJudged
		from slub_kunit.status import Correct, Exit
		cat = {'file': 'mm/slub.c'}
		entry = {'name': 'x', 'reason': 'r', 'edits': [{'search': 'int a;', 'replace': 'int b;'}]}
		s, seen = self.session({'s.c': Status.PASS})
		self.assertEqual(mutate.run_correct(s, cat, entry)[1], Correct.PASSED)
		self.assertEqual(seen, ['int b;\n'])
		s, _ = self.session({'s.c': Status.FAIL})
		self.assertEqual(mutate.run_correct(s, cat, entry)[1], Correct.FLAGGED)
		s, _ = self.session(error=NotJudged('not judged: x'))
		self.assertEqual(mutate.run_correct(s, cat, entry)[1], Correct.NOT_JUDGED)
		stale = dict(entry, edits=[{'search': 'int z;', 'replace': ''}])
		self.assertEqual(mutate.run_correct(s, cat, stale)[1], Correct.STALE)
		renamed = {'name': 'y', 'reason': 'r', 'rename': {'a': 'c'}, 'edits': []}
		s, seen = self.session({'s.c': Status.PASS})
		mutate.run_correct(s, cat, renamed)
		self.assertEqual(seen, ['int c;\n'])
		mutant = dict(entry, invariant='I', killers=['s.c'])
		s, _ = self.session({'s.c': Status.FAIL})
		self.assertEqual(mutate.run_one(s, cat, mutant).status, Mutant.KILLED)
		with open(self.slub) as f:
			self.assertEqual(f.read(), 'int a;\n')
