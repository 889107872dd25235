# SPDX-License-Identifier: GPL-2.0
"""The test command: which kernel line runs on which arch, to what depth,
and the table of verdicts and where the time went.

Every row boots its kernel twice and asks for the same results both times.
The x86_64 rows of the two generations also run their mutant catalogue
(every node case runs there); the ppc64le rows run the mutants only a
pseries machine can kill (a catalogue entry's "arch"), since the rest are
killed on x86_64 already and a full catalogue there costs about ten
minutes each. An extra kernel line (7.2, the 7.x line before the newest)
adds its suite run; when Debian no longer serves it, its row says so and
is skipped, not failed: the archive is not the suite's verdict.
"""

import enum
import os
import sys
import unittest
from dataclasses import dataclass
from typing import List, Optional, Tuple

from slub_kunit import pipeline
from slub_kunit.common import REPO, Stages, UsageError, UserError
from slub_kunit.judge import hostile, mutate
from slub_kunit.kernel import source
from slub_kunit.kernel.kunit_tool import TEST_ARCHES
from slub_kunit.pipeline import RunRequest
from slub_kunit.status import Exit, Mutant


class Mutants(enum.Enum):
	NONE = 'none'
	ALL = 'all'		# the generation's whole catalogue
	ARCH = 'arch'		# only the entries that need this arch


@dataclass(frozen=True)
class Row:
	kernel: str
	arch: str
	mutants: Mutants = Mutants.NONE
	optional: bool = False	# a line Debian may stop serving


# Both generations on every arch; the catalogues where they add most per
# minute. Order: every suite first, so a broken tree fails early.
DEFAULT_PLAN: Tuple[Row, ...] = (
	Row('6.12', 'x86_64', Mutants.ALL),
	Row('6.12', 'um'),
	Row('7', 'x86_64', Mutants.ALL),
	Row('7', 'um'),
	Row('6.12', 'ppc64le', Mutants.ARCH),
	Row('7', 'ppc64le', Mutants.ARCH),
	Row('7.2', 'x86_64', optional=True),
)


def plan(kernels: Optional[List[str]], arches: Optional[List[str]]) -> List[Row]:
	"""The default plan, or, with --kernel or --arch, every named kernel
	on every named arch (the default's kernels or arches for the other),
	with the catalogue depth the default gives that arch."""
	if not kernels and not arches:
		return list(DEFAULT_PLAN)
	kernels = kernels or ['6.12', '7']
	arches = arches or ['x86_64', 'um']
	depth = {'x86_64': Mutants.ALL, 'ppc64le': Mutants.ARCH}
	return [Row(k, a, depth.get(a, Mutants.NONE)) for k in kernels for a in arches]


def catalogues(rows: List[Row]) -> List[Row]:
	return [r for r in rows if r.mutants != Mutants.NONE]


# One line of the table: kernel, arch, what happened, whether it is ok.
Line = Tuple[str, str, str, bool]
Timings = List[Tuple[str, Stages]]


def run_unit_tests() -> Tuple[int, int, int]:
	"""Runs the runner's own tests; returns (passed, failed, skipped)."""
	loader = unittest.TestLoader()
	suite = loader.discover(os.path.join(REPO, 'tools', 'slub_kunit', 'tests'),
				top_level_dir=os.path.join(REPO, 'tools'))
	res = unittest.TextTestRunner(verbosity=1, stream=sys.stdout).run(suite)
	failed = len(res.failures) + len(res.errors) + len(res.unexpectedSuccesses)
	skipped = len(res.skipped)
	return res.testsRun - failed - skipped, failed, skipped


def suite_rows(rows: List[Row], cache: str, jobs: int, debug: bool,
	       timings: Optional[Timings] = None) -> Tuple[List[Line], List[int]]:
	"""Runs the suite of every row, each booted twice; returns the table's
	rows and the (passed, failed, skipped) totals, and adds each run's
	stages to timings."""
	table = []
	total = [0, 0, 0]
	timings = timings if timings is not None else []
	for row in rows:
		req = RunRequest(cache=cache, kernel=row.kernel, arch=row.arch, jobs=jobs, debug=debug)
		try:
			res = pipeline.run_suite(req, second_boot=True)
		except source.NoPackage as err:
			if not row.optional:
				raise
			table.append((row.kernel, row.arch, f'skipped: {err}', True))
			total[2] += 1
			continue
		except UsageError:
			raise
		except UserError as err:
			table.append((row.kernel, row.arch, f'error: {err}', False))
			total[1] += 1
			continue
		changed = res.flaky
		pipeline.report(res)
		timings.append((f'{res.meta.kernel} {row.arch} suite', res.stages))
		for line in changed:
			print(f'FLAKY: {line}')
		out = res.outcome
		ok = out.ok and not changed
		table.append((res.meta.kernel, row.arch, out.summary() +
			      (f', {len(changed)} differ on a second boot' if changed else
			       ', same on a second boot' if out.ok else '') +
			      f' ({res.stages.total():.0f} s)', ok))
		total[0] += out.passed
		total[1] += out.failed + (0 if ok or out.failed else 1)
		total[2] += out.skipped
	return table, total


def hostile_rows(kernel: str, arches: List[str], cache: str, timings: Timings,
		 total: List[int]) -> List[Line]:
	"""The hostile patches (judge/hostile.py) on one kernel, under each
	arch they are made for (x86_64 and um)."""
	arches = [a for a in TEST_ARCHES if a in arches]
	if not arches:
		return []
	stages = Stages()
	with stages.stage('hostile patches'):
		rows = hostile.check(kernel, cache, arches)
	timings.append((f'{kernel} hostile patches', stages))
	for *_, ok in rows:
		total[0 if ok else 1] += 1
	return rows


def mutant_rows(rows: List[Row], cache: str, jobs: int, debug: bool, timings: Timings,
		total: List[int]) -> List[Line]:
	"""Each row's mutants: the generation's catalogue on x86_64 (where
	every node case runs), the entries only an arch can kill on that arch.
	A mutant that survives fails the test."""
	table = []
	for row in rows:
		req = RunRequest(cache=cache, kernel=row.kernel, arch=row.arch, jobs=jobs, debug=debug)
		try:
			run = mutate.run_catalogue(req, arch_only=row.mutants == Mutants.ARCH)
		except UsageError:
			raise
		except UserError as err:
			table.append((row.kernel, row.arch, f'mutants: error: {err}', False))
			total[1] += 1
			continue
		for v in run.verdicts:
			if v.status != Mutant.KILLED and v.status not in mutate.NEEDS:
				print(f'MUTANT {v.status.value}: {v.name}: {v.detail}')
		kernel = run.what.split(' (')[0]
		timings.append((f'{kernel} {row.arch} mutants', run.stages))
		judged = len(run.verdicts) - run.skipped
		text = (f'mutants: {run.killed} killed of {judged}'
			+ (f', {run.failed} not' if run.failed else '')
			+ (' (only those needing this arch)' if row.mutants == Mutants.ARCH
			   else '')
			+ f' ({run.built.split(": ", 1)[-1]}; {run.stages.total():.0f} s)')
		table.append((kernel, row.arch, text, run.failed == 0))
		total[0] += run.killed
		total[1] += run.failed
		total[2] += run.skipped
	return table


def main(rows: List[Row], cache: str, jobs: int, debug: bool, hostile_patches: bool = True,
	 catalogues_too: bool = True) -> int:
	"""The runner's unit tests, then every row's suite, the hostile
	patches and the catalogues; prints the table and where the time went."""
	passed, failed, skipped = run_unit_tests()
	table = [('runner unit tests', '-', f'{passed} passed, {failed} failed, '
		  f'{skipped} skipped', failed == 0)]
	timings: Timings = []
	more, total = suite_rows(rows, cache, jobs, debug, timings)
	table += more
	if hostile_patches:
		table += hostile_rows(rows[0].kernel, [r.arch for r in rows], cache, timings, total)
	if catalogues_too:
		table += mutant_rows(catalogues(rows), cache, jobs, debug, timings, total)
	print('\nslub-kunit test matrix:')
	for kernel, arch, text, ok in table:
		print(f'  {"ok  " if ok else "FAIL"} {kernel:<36} {arch:<7} {text}')
	print('\nWhere the time went:')
	for what, stages in timings:
		print(f'  {what}: {stages.summary()}')
	print(f'{total[0] + passed} passed, {total[1] + failed} failed, '
	      f'{total[2] + skipped} skipped')
	return Exit.OK if all(ok for *_, ok in table) else Exit.TESTS_FAILED
