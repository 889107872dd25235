# SPDX-License-Identifier: GPL-2.0
"""validate: what does each patch of a series change, and which is the first
to break an invariant?

The suite runs on the baseline, then after each patch in turn, in one
session: the same work tree and build directory, so each step recompiles
only what that patch touched. A step whose cases failed is booted again
under the other policy. Every case whose result differs from the baseline
is sorted: a case is a policy change only when every check it failed under
the expected policy is the suite's check against that policy (its message
starts "policy: ") and it passes under the other policy. Any other failed
check (I1-I6 are policy-free: they read the tracking the kernel has, not
the one a policy predicts) breaks an invariant, whatever the other policy
makes of it. Where the log holds no message for a failed case (a crash),
the other policy's run alone decides.
"""

import dataclasses
import functools
import json
import os
import re
import shlex
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from slub_kunit import pipeline
from slub_kunit.common import (REPO, BuildError, HostError, NotJudged, PatchError, Stages,
				    UsageError, atomic_write, log)
from slub_kunit.inbox import answer as answers, patches as patchfiles
from slub_kunit.inbox.patches import Patch
from slub_kunit.kernel import results, source
from slub_kunit.pipeline import RunRequest
from slub_kunit.status import Change, Exit, Status, Step

# The suites' files: each case's comment names the invariant it pins, in a
# line "Invariant: ...", which is what a verdict calls a failure of it.
SUITE_FILES = ('mm/slub_kunit.c', 'mm/slub_kunit_real.c',
	       'tools/patches/runner/mm/slub_kunit_leaks.c')

TAG = re.compile(r'/\*(?:(?!\*/).)*?^ \* Invariant: (?P<inv>[^\n]+?)\.?$(?:(?!\*/).)*\*/\n'
		 r'static void (?P<case>\w+)\(struct kunit \*\w+\)$', re.S | re.M)
SUITE = re.compile(r'^static struct kunit_suite \w+ = \{\n\t\.name = "(?P<name>\w+)",\n'
		   r'(?:\t[^\n]*\n)*?\t\.test_cases = (?P<cases>\w+),$', re.M)
CASE_ARRAY = r'^static struct kunit_case {}\[\] = \{{\n(?P<body>.*?)^\}};'
CASE = re.compile(r'KUNIT_CASE\w*\(\s*(\w+)')


def parse_invariants(text: str) -> Dict[str, str]:
	"""'suite.case' -> the invariant its comment names, for every case of
	every suite the C text defines (None-valued where the tag is missing)."""
	tags = {m['case']: m['inv'] for m in TAG.finditer(text)}
	out: Dict[str, str] = {}
	for suite in SUITE.finditer(text):
		array = re.search(CASE_ARRAY.format(re.escape(suite['cases'])), text, re.S | re.M)
		for case in CASE.findall(array['body'] if array else ''):
			out[f'{suite["name"]}.{case}'] = tags.get(case, '')
	return out


@functools.lru_cache(maxsize=1)
def invariants() -> Dict[str, str]:
	"""The invariant of each case, read from the suites' files."""
	out: Dict[str, str] = {}
	for rel in SUITE_FILES:
		with open(os.path.join(REPO, rel)) as f:
			out.update(parse_invariants(f.read()))
	return out


# Bumped when the JSON report changes shape.
SCHEMA_VERSION = 1


def invariant_of(case: str) -> str:
	if case.endswith('.') or not case:
		# kunit.py's name for a suite (or the whole run) that crashed or
		# hung before its end
		return f'the kernel crashed or hung in {case[:-1] or "the run"}'
	suite, _, rest = case.partition('.')
	# --repeat's runs are the same suites under other names.
	suite = re.sub(r'_run[0-9]+$', '', suite)
	return invariants().get(f'{suite}.{rest.split(".", 1)[0]}') or 'unclassified'


def other_policy(policy: str) -> str:
	return 'memory' if policy == 'normal' else 'normal'


@dataclass
class CaseChange:
	case: str
	baseline: Status
	patched: Status
	other_policy: Status
	kind: Change

	@property
	def invariant(self) -> str:
		return invariant_of(self.case)

	def as_json(self) -> Dict[str, str]:
		return {'case': self.case, 'baseline': self.baseline.value,
			'patched': self.patched.value, 'other_policy': self.other_policy.value,
			'kind': self.kind.value, 'invariant': self.invariant}


def classify(base: results.Outcome, patched: results.Outcome,
	     alt: Optional[results.Outcome],
	     blocks: Optional[Dict[str, List[List[str]]]] = None) -> List[CaseChange]:
	"""Every case whose result differs between baseline and patched; blocks
	are the patched run's failure messages (results.failure_blocks())."""
	changes = []
	for case in sorted(set(base.cases) | set(patched.cases)):
		b = base.cases.get(case, Status.MISSING)
		p = patched.cases.get(case, Status.MISSING)
		if b == p:
			continue
		o = alt.cases.get(case, Status.MISSING) if alt else Status.MISSING
		if p in (Status.PASS, Status.SKIP):
			kind = Change.NEW if b == Status.MISSING else Change.FIXED
		elif p == Status.MISSING:
			kind = Change.GONE
		elif o == Status.PASS and (blocks is None or not blocks.get(case) or
					   results.policy_only(blocks[case])):
			kind = Change.POLICY
		else:
			kind = Change.INVARIANT
		changes.append(CaseChange(case, b, p, o, kind))
	return changes


def verdict(changes: List[CaseChange], problems: List[str]) -> Tuple[Step, str]:
	"""The step's verdict and a one-line account of it."""
	broken = sorted({c.invariant for c in changes if c.kind == Change.INVARIANT})
	if problems:
		broken.append('kernel: ' + problems[0])
	policy = [c for c in changes if c.kind == Change.POLICY]
	if broken:
		return Step.BROKEN, 'invariants broken: ' + '; '.join(broken)
	if policy:
		return Step.POLICY, (f'policy expectations changed: {len(policy)} case(s) fail as '
				     'expected and pass under the other policy; no invariant broken')
	if changes:
		return Step.CHANGED, 'no invariant broken; some cases changed'
	return Step.NO_CHANGE, 'no behaviour change'


@dataclass
class StepResult:
	"""The tree after the first n patches."""
	n: int
	patch: Patch
	status: Step = Step.NO_CHANGE
	line: str = ''
	summary: str = ''
	problems: List[str] = field(default_factory=list)
	fuzz: List[str] = field(default_factory=list)
	changes: List[CaseChange] = field(default_factory=list)
	new: List[str] = field(default_factory=list)	# changed since the step before
	failures: Dict[str, List[str]] = field(default_factory=dict)	# KUnit's lines, by case

	def as_json(self, total: int) -> Dict[str, Any]:
		return {'step': self.n, 'of': total,
			'patch': pipeline.patch_meta(self.patch),
			'verdict': self.status.value, 'detail': self.line,
			'summary': self.summary, 'problems': self.problems, 'fuzz': self.fuzz,
			'changes': [c.as_json() for c in self.changes], 'new_changes': self.new,
			'failures': self.failures}


def run_steps(s: pipeline.Session, series: List[Patch],
	      base: results.Outcome) -> List[StepResult]:
	"""Each patch on top of those before it, until one does not apply or
	build: the steps before it still count."""
	steps: List[StepResult] = []
	before: Dict[str, Status] = dict(base.cases)
	for n, patch in enumerate(series, 1):
		step = StepResult(n, patch)
		steps.append(step)
		log(f'step {n}/{len(series)}: {patch.label}')
		try:
			s.prepare(series[:n])
			step.fuzz = list(s.fuzz)
			s.build_kernel()
		except (PatchError, BuildError, NotJudged, HostError) as err:
			step.status = next(v for k, v in STUCK.items() if isinstance(err, k))
			step.line = str(err)
			break
		except OSError as err:
			step.status, step.line = Step.HOST_FAILED, f'{err.strerror or err}'
			break
		try:
			out, _ = s.boot()
			blocks = results.failure_blocks(s.build.kernel_log())
			step.failures = results.failure_lines(blocks, out.failures())
			alt = None
			# A hang is no policy matter: the other policy is not booted.
			if out.failures() and not pipeline.hung(out):
				alt, _ = s.boot(other_policy(s.policy),
						stage=f'boot, policy {other_policy(s.policy)}')
		except HostError as err:
			step.status, step.line = Step.HOST_FAILED, str(err)
			break
		step.changes = classify(base, out, alt, blocks)
		step.status, step.line = verdict(step.changes, out.problems)
		step.summary, step.problems = out.summary(), out.problems
		step.new = [c for c in sorted(set(before) | set(out.cases))
			    if before.get(c, Status.MISSING) != out.cases.get(c, Status.MISSING)]
		before = dict(out.cases)
	return steps


# Why a step was not booted, by the error that stopped it.
STUCK = {PatchError: Step.NO_APPLY, BuildError: Step.NO_BUILD, NotJudged: Step.NOT_JUDGED,
	 HostError: Step.HOST_FAILED}


def first(steps: List[StepResult], status: Step) -> Optional[StepResult]:
	return next((st for st in steps if st.status == status), None)


def table(changes: List[CaseChange], policy: str) -> str:
	if not changes:
		return '  No case changed.'
	width = max(len(c.case) for c in changes)
	rows = [f'  {"case":<{width}}  {"baseline":<8}  {"patched":<8}  '
		f'{"patched, " + other_policy(policy):<16}  kind']
	for c in changes:
		rows.append(f'  {c.case:<{width}}  {c.baseline.value:<8}  {c.patched.value:<8}  '
			    f'{c.other_policy.value:<16}  {c.kind.value} ({c.invariant})')
	return '\n'.join(rows)


def reproduce(req: RunRequest, commits: Optional[str]) -> str:
	"""One command that does it again; for a series from the list, one
	that fetches it with b4 first, so that it works anywhere."""
	cmd = ['tools/slub-kunit', 'validate', '--kernel', req.kernel, '--arch', req.arch]
	fetch = []
	if commits:
		cmd += ['--commits', commits]
	elif len(req.threads) == 1 and len(dict.fromkeys(p.source for p in req.patches)) == 1:
		thread = req.threads[0]
		fetch = ['b4', 'mbox', '-o', '-', thread.msgid]
		cmd += ['--patch', 'thread.mbox', '--revision', str(thread.revision)]
		for msgid in thread.taken:
			if msgid not in thread.series_ids:
				cmd += ['--reply-patch', msgid]
	else:
		for path in dict.fromkeys(p.source for p in req.patches):
			cmd += ['--patch', path]
	if req.policy:
		cmd += ['--expect-policy', req.policy]
	if req.debug:
		cmd.append('--debug')
	for opt in req.kconfig:
		cmd += ['--kconfig', opt]
	if req.repeat > 1:
		cmd += ['--repeat', str(req.repeat)]
	line = ' '.join(shlex.quote(c) for c in cmd)
	if fetch:
		return ' '.join(shlex.quote(c) for c in fetch) + ' > thread.mbox && ' + line
	return line


def overall(steps: List[StepResult], total: int) -> Tuple[str, int]:
	bad, policy = first(steps, Step.BROKEN), first(steps, Step.POLICY)
	stuck = next((st for st in steps if st.status in STUCK.values()), None)
	if bad:
		line = f'first bad: patch {bad.n}/{total} ({bad.patch.label}): {bad.line}'
		if policy:
			line += f'; first policy change: patch {policy.n}/{total}'
		code = Exit.INVARIANT
	elif stuck:
		line = f'patch {stuck.n}/{total} ({stuck.patch.label}) {stuck.status.value}; ' \
		       'no invariant broken before it'
		if stuck.status == Step.HOST_FAILED:
			line += f' (no verdict on it or on what follows: {stuck.line})'
		code = next(kind.code for kind, st in STUCK.items() if st == stuck.status)
	elif policy:
		line = f'no invariant broken; first policy change: patch {policy.n}/{total} ' \
		       f'({policy.patch.label})'
		code = Exit.OK
	else:
		line = 'no invariant broken'
		code = Exit.OK
	return line, int(code)


def text_report(meta: results.RunMeta, baseline: str, steps: List[StepResult], total: int,
		line: str, repro: str) -> str:
	"""A short report fit for a mailing-list reply."""
	out = [f'SLUB NUMA hotplug suite (slub-kunit), {meta.kernel}, {meta.arch}, '
	       f'expected policy {meta.policy}',
	       f'Baseline: {baseline}', f'The tree\'s code ran: {meta.sandbox}', '']
	for st in steps:
		out.append(f'  [{st.n}/{total}] {st.patch.subject or st.patch.name}')
		out.append(f'        {st.status.value}' + (f': {st.line}' if st.line and
							  st.status in (*STUCK.values(),
									Step.BROKEN) else ''))
		edited = pipeline.suite_files(st.patch)
		if edited:
			out.append(f'        NOTE: this patch also edits the suite: {", ".join(edited)}')
	if len(steps) < total:
		out.append(f'  ({total - len(steps)} later patch(es) not tested)')
	out += ['', line]
	shown = first(steps, Step.BROKEN) or first(steps, Step.POLICY)
	if shown and shown.changes:
		out += ['', f'Cases changed at patch {shown.n}/{total}:']
		for c in shown.changes:
			out.append(f'  {c.case}: {c.baseline.value} -> {c.patched.value} '
				   f'({c.kind.value}, {c.invariant})')
	out += ['', f'Reproduce: {repro}', '']
	return '\n'.join(out)


def from_commits(req: RunRequest, spec: str) -> RunRequest:
	"""The request for BASE..HEAD of the git repository --kernel names: the
	tree of BASE (git archive) and each commit as a patch (git
	format-patch); nothing in the repository is written."""
	if '..' not in spec or spec.count('..') != 1 or '...' in spec:
		raise UsageError(f'--commits {spec}: expected BASE..HEAD')
	if not source.looks_like_path(req.kernel):
		raise UsageError('--commits needs --kernel PATH, a git repository')
	base_rev, head_rev = spec.split('..')
	repo = source.git_repo(req.kernel)
	base = source.resolve_commit(repo, base_rev or 'HEAD')
	head = source.resolve_commit(repo, head_rev or 'HEAD')
	res = source.git(repo, ['format-patch', '--stdout', '--no-signature', f'{base}..{head}'],
			 capture_output=True)
	if res.returncode != 0:
		raise UsageError(f'git format-patch {spec} failed: '
				f'{res.stderr.decode(errors="replace").strip()[-200:]}')
	if not res.stdout.strip():
		raise UsageError(f'--commits {spec}: no commits in that range')
	series_dir = os.path.join(req.cache, 'series')
	os.makedirs(series_dir, exist_ok=True)
	path = os.path.join(series_dir, f'{base[:12]}..{head[:12]}.mbox')
	atomic_write(path, res.stdout)
	return dataclasses.replace(req, patches=patchfiles.read(path), commit=base, commits=spec)


@dataclass(frozen=True)
class Answer:
	"""Where validate's answer goes besides the terminal and --json."""
	report: Optional[str] = None	# --report: plain text
	reply: Optional[str] = None	# --reply: a reply mail to the series
	checks: Optional[str] = None	# --checks: patchwork checks, one per patch
	sender: str = ''		# the reply's From


def main(req: RunRequest, answer: Answer = Answer()) -> int:
	series = list(req.patches)
	pipeline.check_suite_edits(series, req.allow_suite_edits)
	json_path = req.json_path
	stages = Stages()
	with pipeline.session(req.with_patches([]), stages) as s:
		# The policy expected of the baseline is expected of every step:
		# a patch that changes it shows as a policy change.
		s.req = dataclasses.replace(s.req, policy=s.policy)
		log(f'baseline: {s.src.label}, {req.arch}, expected policy {s.policy}')
		s.prepare([])
		generation = s.generation
		base, _ = s.build_and_boot()
		steps = run_steps(s, series, base)
		meta = pipeline.metadata(req, s.src, s.policy, series, [], generation)
	baseline = base.summary() + (f'; {base.problems[0]}' if base.problems else '')
	total = len(series)
	line, code = overall(steps, total)
	if not base.ok:
		# A fix is judged by what it changes; the answer says the tree it
		# changes was not clean.
		line += f'; NOTE: the baseline itself failed ({baseline})'

	repro = reproduce(req, req.commits)

	print(f'\nvalidate: {meta.kernel}, {req.arch}, expected policy {meta.policy}, '
	      f'{total} patch(es); baseline {baseline}; the tree\'s code ran {meta.sandbox}')
	for st in steps:
		print(f'\n[{st.n}/{total}] {st.patch.label}: {st.status.value}' +
		      (f'\n  {st.line}' if st.line else ''))
		edited = pipeline.suite_files(st.patch)
		if edited:
			print(f'  NOTE: this patch also edits the suite: {", ".join(edited)}')
		for note in st.fuzz:
			print(f'  WARNING: applied with fuzz: {note}')
		if st.changes:
			print(table(st.changes, meta.policy))
	print(f'\nverdict: {line}')
	data = {'slub_kunit_validate': SCHEMA_VERSION, **{k: getattr(meta, k) for k in (
		'kernel', 'package', 'version', 'commit', 'generation', 'arch', 'policy', 'debug',
		'repeat', 'series', 'sandbox')}, 'kernel_spec': req.kernel,
		'baseline_ok': base.ok,
		'other_policy': other_policy(meta.policy),
		'series_patches': [pipeline.patch_meta(p) for p in series],
		'baseline': baseline, 'steps': [st.as_json(total) for st in steps],
		'tested': len(steps), 'patches': total, 'verdict': line, 'reproduce': repro}
	bad, pol = first(steps, Step.BROKEN), first(steps, Step.POLICY)
	data['first_bad'] = bad.n if bad else None
	data['first_policy_change'] = pol.n if pol else None
	if json_path:
		atomic_write(json_path, json.dumps(data, indent=2) + '\n')
	if answer.report:
		atomic_write(answer.report, text_report(meta, baseline, steps, total, line, repro))
	thread = req.threads[0] if len(req.threads) == 1 else None
	if answer.reply:
		answers.write_reply(answer.reply, data, thread, answer.sender)
		log(f'reply written to {answer.reply}' + (f', in reply to <{thread.msgid}>'
							 if thread else ''))
	if answer.checks:
		answers.write_checks(answer.checks, data)
		log(f'{total} patchwork check(s) written to {answer.checks}')
	return code
