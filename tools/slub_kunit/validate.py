# SPDX-License-Identifier: GPL-2.0
#
# validate: what does a patch change, and does it break an invariant?
#
# Runs the suite on the baseline and on the patched kernel (same work tree
# and build directory, so only what the patch touches recompiles), boots the
# patched kernel a second time under the other policy, and sorts every case
# whose result changed: a case that fails under the expected policy but
# passes under the other one is a policy change; one that fails under both
# is a broken invariant.

import fnmatch
from dataclasses import dataclass
from typing import List, Optional, Tuple

from slub_kunit import results
from slub_kunit.cli import RunRequest, boot_and_run, run_suite
from slub_kunit.common import EXIT_OK, Stages

EXIT_INVARIANT = 6

# Which invariant each case pins, for the verdict (first match wins).
INVARIANTS: Tuple[Tuple[str, str], ...] = (
	('slub_hotplug.slub_hotplug_cache_created_in_window', 'I1 coverage'),
	('slub_hotplug.slub_hotplug_reonline_reuses', 'I2 stability'),
	('slub_hotplug.slub_hotplug_going_online_fails.*', 'I3 failure atomicity'),
	('slub_hotplug.slub_hotplug_alloc_node.*', 'I5 allocation safety'),
	('slub_hotplug.slub_hotplug_going_offline_shrinks', 'I6 shrink'),
	('slub_hotplug.slub_hotplug_event.*', 'I1/I2/I4 per event'),
	('slub_hotplug.slub_hotplug_boot_mask', 'I1 coverage at boot'),
	('slub_hotplug_real.*', 'real hotplug path'),
)

POLICY = 'policy'
INVARIANT = 'invariant'
FIXED = 'fixed'


@dataclass
class Change:
	case: str
	baseline: str
	patched: str
	other_policy: str
	kind: str

	@property
	def invariant(self) -> str:
		for pattern, name in INVARIANTS:
			if fnmatch.fnmatchcase(self.case, pattern):
				return name
		return 'unclassified'


def other_policy(policy: str) -> str:
	return 'memory' if policy == 'normal' else 'normal'


def classify(base: results.Outcome, patched: results.Outcome,
	     alt: Optional[results.Outcome]) -> List[Change]:
	"""Every case whose result differs between baseline and patched."""
	changes = []
	for case in sorted(set(base.cases) | set(patched.cases)):
		b = base.cases.get(case, 'missing')
		p = patched.cases.get(case, 'missing')
		if b == p:
			continue
		o = alt.cases.get(case, 'missing') if alt else 'missing'
		if p in (results.PASS, results.SKIP):
			kind = FIXED
		elif o == results.PASS:
			kind = POLICY
		else:
			kind = INVARIANT
		changes.append(Change(case, b, p, o, kind))
	return changes


def verdict(changes: List[Change], policy: str, problems: List[str]) -> str:
	broken = sorted({c.invariant for c in changes if c.kind == INVARIANT})
	if problems:
		broken.append('kernel: ' + problems[0])
	policy_changes = [c for c in changes if c.kind == POLICY]
	if broken:
		return 'invariants broken: ' + '; '.join(broken)
	if policy_changes:
		return (f'policy expectations changed: {len(policy_changes)} case(s) fail under '
			f'{policy} and pass under {other_policy(policy)}; no invariant broken')
	if changes:
		return 'no invariant broken; some cases changed (see above)'
	return 'no behaviour change'


def table(changes: List[Change], policy: str) -> str:
	if not changes:
		return 'No case changed.'
	width = max(len(c.case) for c in changes)
	head = (f'  {"case":<{width}}  {"baseline":<8}  {"patched":<8}  '
		f'{"patched, " + other_policy(policy):<16}  kind')
	rows = [head]
	for c in changes:
		rows.append(f'  {c.case:<{width}}  {c.baseline:<8}  {c.patched:<8}  '
			    f'{c.other_policy:<16}  {c.kind} ({c.invariant})')
	return '\n'.join(rows)


def main(req: RunRequest) -> int:
	base_req = RunRequest(kernel=req.kernel, arch=req.arch, patches=[], policy=req.policy,
			      cache=req.cache, jobs=req.jobs)
	base = run_suite(base_req)
	patched = run_suite(req)
	policy = patched.meta['policy']
	alt = None
	if patched.outcome.failures():
		assert patched.build is not None
		alt, _ = boot_and_run(patched.req, patched.build, Stages(), other_policy(policy),
				      stage=f'boot, policy {other_policy(policy)}')
	changes = classify(base.outcome, patched.outcome, alt)
	print(f'\nvalidate: {patched.meta["kernel"]}, {req.arch}, expected policy {policy}, '
	      f'patches: {", ".join(p["name"] for p in patched.meta["patches"])}')
	print(table(changes, policy))
	problems = patched.outcome.problems
	line = verdict(changes, policy, problems)
	print(f'verdict: {line}')
	broken = any(c.kind == INVARIANT for c in changes) or bool(problems)
	print(patched.outcome.summary())
	return EXIT_INVARIANT if broken else EXIT_OK
