# SPDX-License-Identifier: GPL-2.0
#
# validate, patch by patch, on a kernel faked at the session: the verdict
# after each step, the first bad patch, steps that do not apply or build,
# the baseline being the same request without patches, and a --json that
# holds to the schema kept beside this file.

import contextlib
import io
import json
import os
import shutil
import tempfile
import unittest
from contextlib import contextmanager
from unittest import mock

from slub_kunit import pipeline
from slub_kunit.common import BuildError, HostError, PatchError
from slub_kunit.inbox import patches
from slub_kunit.judge import validate
from slub_kunit.kernel import results, source
from slub_kunit.status import Exit, Status

HERE = os.path.dirname(os.path.abspath(__file__))
WINDOW = 'slub_hotplug.test_cache_created_in_window'
EVENT = 'slub_hotplug.test_event.MEM_GOING_ONLINE (nid,-1) none->movable'
BOOT = 'slub_hotplug.test_boot_mask'

PATCH = '''From {sha} Mon Sep 17 00:00:00 2001
From: A <a@example.org>
Subject: [PATCH {n}/3] mm/slub: step {n}

Body {n}.
---
--- a/mm/slub.c
+++ b/mm/slub.c
@@ -1 +1 @@
-int a;
+int a{n};
'''


def check_schema(value, schema, where='$'):
	"""The part of JSON Schema the kept schema uses: type, enum, required,
	properties, items, minimum."""
	types = schema.get('type')
	if types:
		names = types if isinstance(types, list) else [types]
		py = {'object': dict, 'array': list, 'string': str, 'boolean': bool, 'null': type(None),
		      'integer': int}
		ok = any(isinstance(value, py[t]) and not (t == 'integer' and isinstance(value, bool))
			 for t in names)
		assert ok, f'{where}: {value!r} is not {types}'
	if 'enum' in schema:
		assert value in schema['enum'], f'{where}: {value!r} not in {schema["enum"]}'
	if 'minimum' in schema and isinstance(value, int) and not isinstance(value, bool):
		assert value >= schema['minimum'], f'{where}: {value} < {schema["minimum"]}'
	if isinstance(value, dict):
		for key in schema.get('required', []):
			assert key in value, f'{where}: no {key}'
		for key, sub in schema.get('properties', {}).items():
			if key in value:
				check_schema(value[key], sub, f'{where}.{key}')
	if isinstance(value, list) and 'items' in schema:
		for i, item in enumerate(value):
			check_schema(item, schema['items'], f'{where}[{i}]')


class FakeBuild:
	"""The kernel log of the last boot: KUnit's lines for each failed case."""

	def __init__(self, session):
		self.session = session

	def kernel_log(self):
		out = ['KTAP version 1']
		for name, status in self.session.last.items():
			if status == Status.FAIL:
				case = name.split('.')[1]
				out += [f'[ 1.0]     # {case}: EXPECTATION FAILED at mm/slub_kunit.c:42',
					'[ 1.0]     Expected node_state(nid, N_NORMAL_MEMORY), but',
					f'[ 1.0] not ok 1 {case}']
		return '\n'.join(out) + '\n'


class FakeSession:
	"""Applies nothing and builds nothing: the n-th prefix of the series
	gives the outcomes the test says."""

	def __init__(self, req, outcomes, tree, fail_apply=None, fail_build=None):
		self.req = req
		self.src = source.Source(path=tree, label='linux-source-6.12 6.12.1-1',
					 key='k', package='linux-source-6.12', version='6.12.1-1')
		self.outcomes = outcomes
		self.fail_apply, self.fail_build = fail_apply, fail_build
		self.n = 0
		self.fuzz = []
		self.boots = []
		self.build = FakeBuild(self)

	policy = 'normal'
	generation = source.GEN_MEMORY

	def prepare(self, series, edits=None):
		if self.fail_apply is not None and len(series) == self.fail_apply:
			raise PatchError(f'patch {series[-1].name} does not apply')
		self.n = len(series)

	def build_kernel(self):
		if self.fail_build is not None and self.n == self.fail_build:
			raise BuildError('kunit.py build failed for x86_64')

	def boot(self, policy=None, stage=''):
		self.boots.append((self.n, policy or self.policy))
		cases = self.outcomes[self.n][policy or self.policy]
		self.last = dict(cases)
		return results.Outcome(cases=dict(cases)), None

	def build_and_boot(self):
		self.build_kernel()
		return self.boot()


def outcomes():
	ok = {WINDOW: Status.PASS, EVENT: Status.PASS, BOOT: Status.PASS}
	policy = dict(ok, **{EVENT: Status.FAIL})
	broken = dict(policy, **{WINDOW: Status.FAIL})
	return {0: {'normal': ok, 'memory': ok},
		1: {'normal': policy, 'memory': ok},
		2: {'normal': broken, 'memory': dict(ok, **{WINDOW: Status.FAIL})},
		3: {'normal': broken, 'memory': dict(ok, **{WINDOW: Status.FAIL})}}


class ValidateSeriesTest(unittest.TestCase):

	def setUp(self):
		self.tmp = tempfile.mkdtemp(prefix='slub-kunit-test-')
		mbox = os.path.join(self.tmp, 'series.mbox')
		with open(mbox, 'w') as f:
			for n in (1, 2, 3):
				f.write(PATCH.format(sha='%040x' % n, n=n))
		self.series = patches.read(mbox)
		self.tree = os.path.join(self.tmp, 'linux')
		os.makedirs(os.path.join(self.tree, 'include/linux'))
		with open(os.path.join(self.tree, 'include/linux/node.h'), 'w') as f:
			f.write('/* memory notifier */\n')
		self.req = pipeline.RunRequest(cache=self.tmp, patches=self.series, debug=True,
					       repeat=3, build_dir='/b', kernel_args=['x=1'],
					       json_path=os.path.join(self.tmp, 'v.json'))
		self.answer = validate.Answer(report=os.path.join(self.tmp, 'report.txt'))

	def tearDown(self):
		shutil.rmtree(self.tmp)

	def validate(self, **kw):
		seen = {}

		@contextmanager
		def fake(req, stages):
			seen['req'] = req
			seen['session'] = FakeSession(req, outcomes(), self.tree, **kw)
			yield seen['session']
		out = io.StringIO()
		with mock.patch.object(pipeline, 'session', fake), contextlib.redirect_stdout(out):
			code = validate.main(self.req, self.answer)
		return code, out.getvalue(), seen

	def test_first_bad_is_patch_2(self):
		code, out, seen = self.validate()
		self.assertEqual(code, Exit.INVARIANT)
		self.assertIn('first bad: patch 2/3 (series.mbox [2/3] ("mm/slub: step 2"))', out)
		self.assertIn('; first policy change: patch 1/3', out)
		with open(self.req.json_path) as f:
			data = json.load(f)
		with open(os.path.join(HERE, 'validate.schema.json')) as f:
			check_schema(data, json.load(f))
		self.assertEqual(data['first_bad'], 2)
		self.assertEqual(data['first_policy_change'], 1)
		self.assertEqual([s['verdict'] for s in data['steps']],
				 ['policy expectations changed; no invariant broken',
				  'invariants broken', 'invariants broken'])
		self.assertEqual(data['steps'][1]['new_changes'], [WINDOW])
		with open(os.path.join(self.tmp, 'report.txt')) as f:
			report = f.read()
		self.assertIn('First bad'.lower(), report.lower())
		self.assertIn(f'{WINDOW}: PASS -> FAIL (invariant, I1 coverage)', report)
		self.assertIn('Reproduce: tools/slub-kunit validate --kernel 6.12', report)

	def test_baseline_is_the_same_request_without_patches(self):
		_, _, seen = self.validate()
		base = seen['req']
		self.assertEqual(base.patches, [])
		self.assertEqual((base.debug, base.repeat, base.build_dir, base.kernel_args),
				 (True, 3, '/b', ['x=1']))
		# every step boots once, and again under the other policy when it fails
		self.assertEqual(seen['session'].boots, [(0, 'normal'), (1, 'normal'), (1, 'memory'),
							 (2, 'normal'), (2, 'memory'), (3, 'normal'),
							 (3, 'memory')])

	def test_step_that_does_not_apply_is_named(self):
		code, out, _ = self.validate(fail_apply=2)
		self.assertEqual(code, Exit.PATCH)
		self.assertIn('[2/3] series.mbox [2/3] ("mm/slub: step 2"): does not apply', out)
		with open(self.req.json_path) as f:
			data = json.load(f)
		self.assertEqual(data['tested'], 2)
		self.assertEqual(data['steps'][0]['verdict'],
				 'policy expectations changed; no invariant broken')

	def test_step_that_does_not_build_after_a_bad_one(self):
		code, out, _ = self.validate(fail_build=3)
		self.assertEqual(code, Exit.INVARIANT)
		self.assertIn('[3/3] series.mbox [3/3] ("mm/slub: step 3"): does not build', out)


if __name__ == '__main__':
	unittest.main()


class HangingSession(FakeSession):
	"""The first patch hangs the kernel."""

	def boot(self, policy=None, stage=''):
		if self.n != 1:
			return super().boot(policy, stage)
		self.boots.append((self.n, policy or self.policy))
		self.last = {}
		return results.Outcome(cases={'slub_hotplug.': Status.ERROR},
				       problems=[f'{pipeline.HUNG}: no complete result after 75 s']), None


class ValidateHangTest(unittest.TestCase):

	def test_a_hang_is_named_and_not_booted_again(self):
		tmp = tempfile.mkdtemp(prefix='slub-kunit-test-')
		self.addCleanup(shutil.rmtree, tmp)
		mbox = os.path.join(tmp, 'hang.patch')
		with open(mbox, 'w') as f:
			f.write(PATCH.format(sha='%040x' % 1, n=1))
		req = pipeline.RunRequest(cache=tmp, patches=patches.read(mbox))
		seen = {}

		@contextmanager
		def fake(req, stages):
			seen['session'] = HangingSession(req, outcomes(), tmp)
			yield seen['session']
		with mock.patch.object(pipeline, 'session', fake), \
		     contextlib.redirect_stdout(io.StringIO()) as out:
			code = validate.main(req)
		self.assertEqual(code, Exit.INVARIANT)
		self.assertEqual(seen['session'].boots, [(0, 'normal'), (1, 'normal')])
		self.assertIn('the kernel crashed or hung in slub_hotplug', out.getvalue())
		self.assertIn('kernel: the kernel hung: no complete result after 75 s', out.getvalue())


class HostFailingSession(FakeSession):
	"""The machine fails the boots of the second patch's kernel."""

	def boot(self, policy=None, stage=''):
		if self.n == 2:
			raise HostError('the machine failed the boot, not the kernel: QEMU did not '
					'start the kernel: cannot set up guest memory (3 boots)')
		return super().boot(policy, stage)


class ValidateHostFailureTest(unittest.TestCase):

	def test_a_boot_the_machine_failed_is_no_verdict(self):
		"""A step whose boots the machine failed: "host failure, not the
		patch", exit 3, a patchwork warning, never "invariants broken"."""
		tmp = tempfile.mkdtemp(prefix='slub-kunit-test-')
		self.addCleanup(shutil.rmtree, tmp)
		mbox = os.path.join(tmp, 'series.mbox')
		with open(mbox, 'w') as f:
			for n in (1, 2, 3):
				f.write(PATCH.format(sha='%040x' % n, n=n))
		ok = {WINDOW: Status.PASS, EVENT: Status.PASS, BOOT: Status.PASS}
		same = {n: {'normal': ok, 'memory': ok} for n in range(4)}
		req = pipeline.RunRequest(cache=tmp, patches=patches.read(mbox))
		checks = os.path.join(tmp, 'checks.json')

		@contextmanager
		def fake(req, stages):
			yield HostFailingSession(req, same, tmp)
		with mock.patch.object(pipeline, 'session', fake), \
		     contextlib.redirect_stdout(io.StringIO()) as out:
			code = validate.main(req, validate.Answer(checks=checks))
		self.assertEqual(code, Exit.SETUP)
		self.assertIn('[2/3] series.mbox [2/3] ("mm/slub: step 2"): host failure, not the '
			      'patch', out.getvalue())
		self.assertNotIn('invariants broken', out.getvalue())
		with open(checks) as f:
			states = [c['check']['state'] for c in json.load(f)]
		self.assertEqual(states, ['success', 'warning', 'warning'])


class EveryCaseHasAnInvariant(unittest.TestCase):
	"""A case validate cannot name the invariant of reads 'unclassified' in
	a verdict: every case of the suites' files names one in its comment,
	and the names are read from there, not kept in Python."""

	SUITE = """
/*
 * What it does.
 *
 * Invariant: I9 example.
 */
static void test_renamed(struct kunit *test)
{
}

/* No tag. */
static void test_untagged(struct kunit *test)
{
}

static struct kunit_case example_cases[] = {
	KUNIT_CASE(test_renamed),
	KUNIT_CASE_PARAM(test_untagged, some_gen_params),
	{}
};

static struct kunit_suite example_suite = {
	.name = "example",
	.init = example_init,
	.test_cases = example_cases,
};
"""

	def test_parse(self):
		self.assertEqual(validate.parse_invariants(self.SUITE),
				 {'example.test_renamed': 'I9 example', 'example.test_untagged': ''})

	def test_every_case_is_classified(self):
		found = validate.invariants()
		self.assertGreater(len(found), 15)
		for case, inv in found.items():
			self.assertTrue(inv, f'{case} names no invariant')
		self.assertEqual(validate.invariant_of('slub_hotplug_run2.test_alloc_node.p'),
				 'I5 allocation safety')
		self.assertEqual(validate.invariant_of('slub_hotplug.test_gone'), 'unclassified')
