# SPDX-License-Identifier: GPL-2.0
"""Reading kunit.py's JSON result (KernelCI format): per-case outcomes,
totals, and the metadata this tool adds. No KTAP is parsed here; that is
kunit.py's job.
"""

import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, Iterator, List, Optional, Tuple

from slub_kunit.common import atomic_write
from slub_kunit.status import Status

SUITES = ('slub_hotplug', 'slub_hotplug_real')
# The runner's kmemleak scan (debug kernels): only meaningful after the rest.
LEAKS_SUITE = 'slub_hotplug_leaks'


def leaves(group: Dict[str, Any], prefix: str = '') -> Iterator[Tuple[str, Status]]:
	"""Yields (suite.case[.param], status) for every leaf of a JSON group."""
	for case in group.get('test_cases', []):
		yield f'{prefix}{case["name"]}', Status.of(case['status'])
	for sub in group.get('sub_groups', []):
		yield from leaves(sub, f'{prefix}{sub["name"]}.')


@dataclass
class Outcome:
	"""What one run produced."""
	cases: Dict[str, Status] = field(default_factory=dict)
	problems: List[str] = field(default_factory=list)

	@property
	def passed(self) -> int:
		return sum(1 for s in self.cases.values() if s == Status.PASS)

	@property
	def failed(self) -> int:
		return sum(1 for s in self.cases.values() if s.failed)

	@property
	def skipped(self) -> int:
		return sum(1 for s in self.cases.values() if s == Status.SKIP)

	@property
	def ok(self) -> bool:
		return not self.problems and self.failed == 0 and self.passed > 0

	def summary(self) -> str:
		return f'{self.passed} passed, {self.failed} failed, {self.skipped} skipped'

	def failures(self) -> List[str]:
		return [name for name, s in self.cases.items() if s.failed]


def outcome(result: Optional[Dict[str, Any]], exit_code: int,
	    suites: Tuple[str, ...] = SUITES) -> Outcome:
	"""Judges a run: a crash, a hang or a missing plan is a failure."""
	out = Outcome()
	if result is None:
		out.problems.append('kunit.py wrote no JSON result (crash or hang?)')
		return out
	for name, status in leaves(result):
		# Drop the 'KUnit Test Group.' root kunit.py puts first.
		out.cases[name.split('.', 1)[1] if name.startswith('KUnit Test Group.') else name] = status
	order = list(dict.fromkeys(name.split('.', 1)[0] for name in out.cases))
	for suite in suites:
		if suite not in order:
			out.problems.append(f'suite {suite} did not run (no test plan)')
	if LEAKS_SUITE in order and order[-1] != LEAKS_SUITE:
		out.problems.append(f'suite {LEAKS_SUITE} ran before {order[-1]}: '
				    'its kmemleak scan must come last')
	if exit_code != 0 and out.failed == 0:
		out.problems.append(f'kunit.py exited with {exit_code}')
	if not out.cases:
		out.problems.append('no test case ran')
	return out


def differences(first: Outcome, second: Outcome) -> List[str]:
	"""Cases whose result differs between two runs of the same kernel."""
	out = []
	for name in sorted(set(first.cases) | set(second.cases)):
		a = first.cases.get(name, Status.MISSING)
		b = second.cases.get(name, Status.MISSING)
		if a != b:
			out.append(f'{name}: {a.value} then {b.value}')
	return out


def repeat_differences(out: Outcome) -> List[str]:
	"""Cases of slub_hotplug_runN (and _real_runN) that differ from run 1."""
	diffs = []
	for name, status in out.cases.items():
		m = re.match(r'^(slub_hotplug(?:_real)?)_run(\d+)\.(.*)$', name)
		if not m:
			continue
		first = out.cases.get(f'{m.group(1)}.{m.group(3)}', Status.MISSING)
		if first != status:
			diffs.append(f'{name}: {status.value}, run 1 {first.value}')
	return diffs


# Kernel log lines that mean something went wrong even if every case passed.
SPLAT = re.compile(r'(^|\] )(WARNING:|BUG:|BUG |Oops|general protection fault|Kernel panic|'
		   r'kernel BUG|UBSAN:|KASAN:|possible circular locking|'
		   r'possible recursive locking|inconsistent lock state|'
		   r'INFO: task .* blocked|unreferenced object|list_add corruption|'
		   r'list_del corruption|RCU detected stall)')


def splats(log: str) -> List[str]:
	"""The first line of each splat the test run caused.

	Only what the kernel printed from the first KTAP header on counts:
	earlier splats belong to the boot (UML's virt-pci warns when no virtio
	device is configured), not to the suite.
	"""
	out = []
	lines = log.splitlines()
	start = next((n for n, line in enumerate(lines)
		      if re.match(r'\s*K?TAP version', STAMP.sub('', line))), 0)
	for line in lines[start:]:
		if SPLAT.search(line) and not line.strip().startswith('#'):
			out.append(line.strip())
	return out


# printk.time=1 (always passed) puts "[    2.345678] " before every line;
# the one pattern for it (group 1: the seconds).
STAMP = re.compile(r'^\[\s*(\d+\.\d+)\]\s?')
FAILED_AT = re.compile(r'#\s*(\S+): ((?:EXPECTATION|ASSERTION) FAILED at )(\S+)(.*)$')
RESULT = re.compile(r'^\s*(?:not )?ok \d+ (.*?)(?:\s+#.*)?$')


def failure_lines(found: Dict[str, List[List[str]]], cases: List[str], blocks: int = 2,
		  lines: int = 5) -> Dict[str, List[str]]:
	"""KUnit's own account of why each of cases failed: the first blocks
	failure messages of each, as failure_blocks() found them in the kernel
	log, each with up to lines lines that follow it."""
	out: Dict[str, List[str]] = {}
	for case in cases:
		# A log cut before its subtest headers names a test by its last name.
		mine = found.get(case) or found.get(case.split('.')[-1], [])
		if mine:
			out[case] = [text for block in mine[:blocks] for text in block[:lines + 1]]
	return out


# How the suite begins the message of its one kind of check that depends on
# the policy expected (mm/slub_kunit_helpers.c, slub_hp_expect_model()).
POLICY_MARK = 'policy: '
SUBTEST = re.compile(r'^\s*#\s*Subtest:\s*(.*?)\s*$')


def failure_blocks(log: str) -> Dict[str, List[List[str]]]:
	"""Every 'EXPECTATION (or ASSERTION) FAILED at file:line' message of the
	kernel log, with all the lines that follow it, by the full name of the
	test it belongs to (suite.case or suite.case.param, as Outcome.cases
	names them): the innermost test that ends after it."""
	out: Dict[str, List[List[str]]] = {}
	path: List[str] = []
	pending: List[List[str]] = []
	current: Optional[List[str]] = None
	for raw in log.splitlines():
		line = STAMP.sub('', raw).rstrip()
		sub = SUBTEST.match(line)
		if sub:
			path.append(sub.group(1))
			current = None
			continue
		m = FAILED_AT.search(line)
		if m:
			where = re.sub(r'^(\.\./)+work/[^/]+/', '', m.group(3))
			current = [f'{m.group(2)}{where}{m.group(4)}']
			pending.append(current)
			continue
		r = RESULT.match(line)
		if r:
			name = r.group(1).strip()
			if path and path[-1] == name:
				full = '.'.join(path)
				path.pop()
			else:
				full = '.'.join(path + [name])
			if pending:
				out.setdefault(full, []).extend(pending)
			pending, current = [], None
			continue
		if current is not None and line.strip() and \
		   not line.lstrip().startswith(('KTAP', '1..')):
			current.append(line.strip())
	return out


def policy_only(blocks: List[List[str]]) -> bool:
	"""Whether every one of a test's failure messages is the suite's check
	against the policy it expects (and there is at least one)."""
	return bool(blocks) and all(any(line.startswith(POLICY_MARK) for line in block)
				    for block in blocks)


@dataclass
class RunMeta:
	"""What a run was made of, written beside its results: the tree, the
	arch, the policy it expected, the patches, and why it stopped early."""
	kernel: str
	arch: str
	patches: List[Dict[str, Any]] = field(default_factory=list)
	package: Optional[str] = None
	version: Optional[str] = None
	commit: Optional[str] = None
	generation: Optional[str] = None
	policy: Optional[str] = None
	fuzz: List[str] = field(default_factory=list)
	host: str = ''
	debug: bool = False
	kconfig: List[str] = field(default_factory=list)
	repeat: int = 1
	series: List[Dict[str, Any]] = field(default_factory=list)
	# How the tree's code ran: sandboxed, or trusted (--trusted)
	sandbox: str = ''
	# Set when the run stopped before a result: {'exit': code, 'message': ...}
	error: Optional[Dict[str, Any]] = None

	def as_json(self) -> Dict[str, Any]:
		out = asdict(self)
		if self.error is None:
			del out['error']
		return out


def annotate(result: Dict[str, Any], meta: RunMeta) -> Dict[str, Any]:
	"""Records kernel, arch, policy and patches in kunit.py's JSON."""
	result = dict(result)
	result['kernel'] = meta.kernel
	result['arch'] = meta.arch
	result['slub_kunit'] = meta.as_json()
	return result


def write_json(path: str, result: Optional[Dict[str, Any]], meta: RunMeta) -> None:
	data = annotate(result or {'name': 'KUnit Test Group', 'sub_groups': [],
				   'test_cases': []}, meta)
	atomic_write(path, json.dumps(data, indent=4) + '\n')


def write_junit(path: str, out: Outcome, meta: RunMeta) -> None:
	"""A JUnit XML report: one testsuite per KUnit suite, run metadata as
	properties."""
	from xml.etree import ElementTree as ET
	root = ET.Element('testsuites', name='slub-kunit', tests=str(len(out.cases)),
			  failures=str(out.failed), skipped=str(out.skipped))
	props = {k: v for k, v in meta.as_json().items() if k != 'patches'}
	for i, patch in enumerate(meta.patches):
		props[f'patch.{i}'] = f'{patch["name"]} sha256:{patch["sha256"]}'
	suites: Dict[str, ET.Element] = {}
	for name, status in out.cases.items():
		suite_name, _, case = name.partition('.')
		suite = suites.get(suite_name)
		if suite is None:
			suite = ET.SubElement(root, 'testsuite', name=suite_name)
			plist = ET.SubElement(suite, 'properties')
			for key, value in props.items():
				ET.SubElement(plist, 'property', name=key, value=str(value))
			suites[suite_name] = suite
		tc = ET.SubElement(suite, 'testcase', classname=suite_name, name=case)
		if status == Status.SKIP:
			ET.SubElement(tc, 'skipped')
		elif status != Status.PASS:
			ET.SubElement(tc, 'failure', message=status.value)
	for problem in out.problems:
		suite = ET.SubElement(root, 'testsuite', name='slub-kunit')
		tc = ET.SubElement(suite, 'testcase', classname='slub-kunit', name='run')
		ET.SubElement(tc, 'failure', message=problem)
	for suite in suites.values():
		cases = suite.findall('testcase')
		suite.set('tests', str(len(cases)))
		suite.set('failures', str(sum(1 for c in cases if c.find('failure') is not None)))
		suite.set('skipped', str(sum(1 for c in cases if c.find('skipped') is not None)))
	atomic_write(path, ET.tostring(root, encoding='utf-8', xml_declaration=True))
