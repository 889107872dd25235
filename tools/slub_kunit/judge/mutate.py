# SPDX-License-Identifier: GPL-2.0
"""Mutation check: each mutant in tools/mutants/<generation>.json breaks one
promise of mm/slub.c with a small search-and-replace. The suite must fail,
and fail in the case named as the mutant's killer. The other direction:
each patch in tools/correct/<generation>.json changes mm/slub.c the way a
maintainer would merge (a refactor, another walk order, a qualifier); the
suite must pass it, or say it cannot judge the tree.
"""

import dataclasses
import fnmatch
import json
import os
import re
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Optional, Tuple

from slub_kunit import pipeline
from slub_kunit.common import (BuildError, HostError, NotJudged, REPO, Stages, SuiteFailed,
				    UsageError, atomic_write, log)
from slub_kunit.judge import schemata
from slub_kunit.kernel import results, tree
from slub_kunit.pipeline import RunRequest
from slub_kunit.status import Correct, Exit, Mutant

CATALOGUE_DIR = os.path.join(REPO, 'tools', 'mutants')
CORRECT_DIR = os.path.join(REPO, 'tools', 'correct')
# A mutant may hang the kernel: it is stopped at ten times the build's
# measured boot (pipeline.hang_timeout()), which the baseline's boot sets.
# Most mutant hangs are an Oops in a case that held slab_mutex, after
# which nothing can finish: a mutant's kernel panics on an Oops instead,
# and panic=-1 (the QEMU machine's) ends the boot at once. Where the
# Oops struck is reported as a crash in that suite, which kills a mutant
# whose killer is in it, as a hang did.
MUTANT_ARGS = ['oops=panic']

@dataclass
class Verdict:
	name: str
	status: Mutant
	detail: str


def load_catalogue(generation: str, directory: str = CATALOGUE_DIR) -> Dict[str, Any]:
	path = os.path.join(directory, f'{generation}.json')
	with open(path) as f:
		return json.load(f)


def apply_entry(text: str, entry: Dict[str, Any]) -> Optional[str]:
	"""An entry's renames (whole words, everywhere), then its edits; None
	when a name does not occur or a search string is not found exactly once."""
	for old, new in entry.get('rename', {}).items():
		text, n = re.subn(rf'\b{re.escape(old)}\b', new, text)
		if not n:
			return None
	return apply_edits(text, entry['edits'])


def apply_edits(text: str, edits: List[Dict[str, str]]) -> Optional[str]:
	"""Applies every edit; None when a search string is not found exactly once."""
	for edit in edits:
		if text.count(edit['search']) != 1:
			return None
		text = text.replace(edit['search'], edit['replace'])
	return text


# A killer 'splat:REGEX' is a kernel log report (lockdep, KASAN, ...) that
# only a checker prints; the cases themselves pass.
SPLAT_KILLER = 'splat:'
# How a kill by a crash in the killer's suite is told.
CRASHED = 'kernel crashed in '


# What a mutant needs that a run may lack: not judged there, not a survivor.
NEEDS = (Mutant.NEEDS_DEBUG, Mutant.NEEDS_KCONFIG, Mutant.NEEDS_ARCH)


def judge(mutant: Dict[str, Any], failures: List[str], problems: List[str]) -> Verdict:
	cases = [k for k in mutant['killers'] if not k.startswith(SPLAT_KILLER)]
	splats = [k[len(SPLAT_KILLER):] for k in mutant['killers'] if k.startswith(SPLAT_KILLER)]
	hits = [f for f in failures if any(fnmatch.fnmatchcase(f, k) for k in cases)]
	hits += [p for p in problems if any(re.search(k, p) for k in splats)]
	if hits:
		return Verdict(mutant['name'], Mutant.KILLED, hits[0])
	# kunit.py names a case that crashed the kernel '' ('suite.'): the
	# crash happened in the killer's suite, where no case failed before.
	crashed = [f for f in failures if f.endswith('.') and
		   any(k.startswith(f) for k in cases)]
	if crashed:
		return Verdict(mutant['name'], Mutant.KILLED, f'{CRASHED}{crashed[0][:-1]}')
	if failures or problems:
		return Verdict(mutant['name'], Mutant.ELSEWHERE, (failures + problems)[0])
	return Verdict(mutant['name'], Mutant.SURVIVED, 'every case passed')


@dataclass
class CatalogueRun:
	"""What mutate found, and what it took."""
	what: str			# kernel, generation, arch, policy
	verdicts: List[Verdict]
	built: str			# how the mutants were built
	stages: Stages

	@property
	def killed(self) -> int:
		"""Mutants a case caught: the one named, or another (a crash in
		another case kills too; the verdict names where)."""
		return sum(1 for v in self.verdicts if v.status in (Mutant.KILLED, Mutant.ELSEWHERE))

	@property
	def skipped(self) -> int:
		return sum(1 for v in self.verdicts if v.status in NEEDS)

	@property
	def failed(self) -> int:
		return len(self.verdicts) - self.killed - self.skipped


def run_catalogue(req: RunRequest, only: Optional[List[str]] = None,
		  each: bool = False, arch_only: bool = False) -> CatalogueRun:
	"""The mutant catalogue of the tree's generation, each mutant judged;
	with arch_only, only the entries whose killer needs req.arch."""
	stages = Stages()
	with pipeline.session(req, stages) as s:
		s.prepare(req.patches)
		catalogue = load_catalogue(s.generation)
		entries = select(catalogue['mutants'], only)
		if arch_only:
			entries = [m for m in entries if req.arch in m.get('arch', ())]
		what = f'{s.src.label} ({s.generation}), {req.arch}, policy {s.policy}'
		if not entries:
			return CatalogueRun(what, [], 'built: nothing (no entry)', stages)
		baseline(s)
		if each:
			verdicts = [run_one(s, catalogue, mutant) for mutant in entries]
			built = f'built: one kernel per mutant (--rebuild-each), {len(entries)} in all'
		else:
			verdicts, built = run_schemata(s, catalogue, entries)
	return CatalogueRun(what, verdicts, built, stages)


def baseline(s: pipeline.Session) -> None:
	log(f'baseline: {s.src.label}, {s.req.arch}, policy {s.policy}')
	base, _ = s.build_and_boot()
	if not base.ok:
		raise SuiteFailed('the suite fails on the unmodified kernel: '
				f'{base.summary()}')
	# From here on a crash is judged by the killer's rule below.
	s.again = False


def main(req: RunRequest, only: Optional[List[str]], correct: bool = False,
	 each: bool = False) -> int:
	if correct:
		return main_correct(req, only)
	run = run_catalogue(req, only, each)
	print(f'\nMutants for {run.what}:')
	for v in run.verdicts:
		print(f'  {v.status.value:<16} {v.name:<40} {v.detail}')
	print(run.built)
	print('Stages:')
	print(run.stages.table())
	print(f'{run.killed} killed of {len(run.verdicts) - run.skipped} mutants')
	print(f'{run.killed} passed, {run.failed} failed, {run.skipped} skipped')
	return Exit.OK if run.failed == 0 else Exit.TESTS_FAILED


def main_correct(req: RunRequest, only: Optional[List[str]]) -> int:
	stages = Stages()
	with pipeline.session(req, stages) as s:
		s.prepare(req.patches)
		catalogue = load_catalogue(s.generation, CORRECT_DIR)
		entries = select(catalogue['correct'], only)
		baseline(s)
		judged = [run_correct(s, catalogue, entry) for entry in entries]
		what = f'{s.src.label} ({s.generation}), {req.arch}, policy {s.policy}'
	return report_correct(judged, what)


def report_correct(judged: List[Tuple[str, Correct, str]], what: str) -> int:
	print(f'\nCorrect patches for {what}:')
	for name, status, detail in judged:
		print(f'  {status.value:<16} {name:<40} {detail}')
	passed = sum(1 for _, st, _ in judged if st == Correct.PASSED)
	unjudged = sum(1 for _, st, _ in judged if st == Correct.NOT_JUDGED)
	failed = len(judged) - passed - unjudged
	print(f'{passed} passed and {unjudged} not judged of {len(judged)} correct patches')
	print(f'{passed} passed, {failed} failed, {unjudged} skipped')
	return Exit.OK if failed == 0 else Exit.TESTS_FAILED


def select(mutants: List[Dict[str, Any]], only: Optional[List[str]]) -> List[Dict[str, Any]]:
	if not only:
		return mutants
	unknown = set(only) - {m['name'] for m in mutants}
	if unknown:
		raise UsageError(f'no such mutant: {", ".join(sorted(unknown))}')
	return [m for m in mutants if m['name'] in only]


@dataclass
class Tried:
	"""One catalogue entry built and booted, or why it was not."""
	outcome: Optional[results.Outcome] = None
	stale: bool = False
	stopped: Optional[Exit] = None	# BUILD, NOT_JUDGED or SETUP (the host)
	detail: str = ''


@contextmanager
def booting_with(s: pipeline.Session, extra: List[str],
		 without: Tuple[str, ...] = ()) -> Iterator[None]:
	"""Within, s boots with extra kernel arguments and without those in
	without; after, as before."""
	before = s.req
	args = [a for a in before.kernel_args if a not in without] + extra
	s.req = dataclasses.replace(before, kernel_args=args)
	try:
		yield
	finally:
		s.req = before


def try_entry(s: pipeline.Session, catalogue: Dict[str, Any], entry: Dict[str, Any],
	      what: str, kernel_args: Optional[List[str]] = None) -> Tried:
	"""Changes one file of the work tree as entry says, builds and boots
	(with kernel_args added), puts the file back."""
	rel = entry.get('file', catalogue['file'])
	tree.mark_modified(s.work, rel)
	target = os.path.join(s.work, rel)
	with open(target) as f:
		pristine = f.read()
	text = apply_entry(pristine, entry)
	if text is None:
		return Tried(stale=True, detail='search text not found exactly once')
	log(f'{what} {entry["name"]}: {entry.get("invariant") or entry.get("reason")}')
	atomic_write(target, text)
	try:
		with booting_with(s, kernel_args or []):
			out, _ = s.build_and_boot()
	except (BuildError, NotJudged, HostError) as err:
		return Tried(stopped=err.code, detail=str(err))
	finally:
		atomic_write(target, pristine)
	return Tried(outcome=out)


def needs(req: RunRequest, mutant: Dict[str, Any]) -> Optional[Verdict]:
	"""Why the mutant cannot be judged in this run's configuration: its
	killer runs only under --debug (a checker, kmemleak, lockdep or KASAN,
	sees what it breaks), only in a kernel built with its "kconfig"
	options (e.g. without MEMORY_HOTREMOVE), or only on the machines of its
	"arch" list (a state only they have). None if it can."""
	if mutant.get('arch') and req.arch not in mutant['arch']:
		return Verdict(mutant['name'], Mutant.NEEDS_ARCH,
			       f'its killer runs only with --arch {" or ".join(mutant["arch"])}')
	if mutant.get('debug') and not req.debug:
		return Verdict(mutant['name'], Mutant.NEEDS_DEBUG, 'its killer runs under --debug only')
	missing = [opt for opt in mutant.get('kconfig', []) if opt not in req.kconfig]
	if missing:
		return Verdict(mutant['name'], Mutant.NEEDS_KCONFIG,
			       f'its killer runs only with --kconfig {" --kconfig ".join(missing)}')
	return None


def run_one(s: pipeline.Session, catalogue: Dict[str, Any], mutant: Dict[str, Any]) -> Verdict:
	"""Breaks one file of the work tree, builds and boots, puts it back."""
	name = mutant['name']
	skip = needs(s.req, mutant)
	if skip:
		return skip
	tried = try_entry(s, catalogue, mutant, 'mutant', MUTANT_ARGS)
	if tried.stale:
		return Verdict(name, Mutant.STALE, tried.detail)
	if tried.stopped is not None:
		status = {Exit.BUILD: Mutant.NO_BUILD, Exit.SETUP: Mutant.HOST}.get(
			tried.stopped, Mutant.NOT_JUDGED)
		return Verdict(name, status, tried.detail)
	assert tried.outcome is not None
	with booting_with(s, MUTANT_ARGS):
		# The mutant's kernel is still the one built.
		return judged_on_host(s, mutant, tried.outcome)


def judged_on_host(s: pipeline.Session, mutant: Dict[str, Any],
		   out: results.Outcome) -> Verdict:
	"""alone_if_crashed(), or "not judged (host)" when the machine failed
	the boots it takes: never "killed"."""
	try:
		return alone_if_crashed(s, mutant, out)
	except HostError as err:
		return Verdict(mutant['name'], Mutant.HOST, str(err))


def alone_if_crashed(s: pipeline.Session, mutant: Dict[str, Any],
		     out: results.Outcome) -> Verdict:
	"""The verdict on one boot of a mutant's kernel. When the kernel died
	before the killer had failed (oops=panic ends the boot at the first
	Oops), the kernel is booted once more with only the killer's case
	(kunit.filter_glob): the report then names the case that catches the
	mutant, as a full run without oops=panic would have. Otherwise the
	verdict is the full run's."""
	verdict = judge(mutant, out.failures(), out.problems)
	named = verdict.status == Mutant.KILLED and not verdict.detail.startswith(CRASHED)
	if named or not pipeline.crashed(out):
		return verdict
	killer = next((k for k in mutant['killers'] if not k.startswith(SPLAT_KILLER)), '')
	parts = killer.split('.')
	if len(parts) < 2 or any(c in '.'.join(parts[:2]) for c in '*?['):
		return verdict
	with booting_with(s, [f'kunit.filter_glob={parts[0]}.{parts[1]}']):
		again, _ = s.boot(stage='boot and run, the killer alone')
	alone = judge(mutant, again.failures(), [])
	where = verdict.detail[len(CRASHED):] if verdict.detail.startswith(CRASHED) else 'the run'
	if alone.status == Mutant.KILLED and not alone.detail.startswith(CRASHED):
		return Verdict(verdict.name, Mutant.KILLED,
			       f'{alone.detail} (alone; in the full run the kernel died in {where} '
			       'first)')
	if alone.status == Mutant.KILLED:
		# The kernel died in the killer's case, the only one that ran:
		# the killer caught the mutant, whatever ran before it in the
		# full run (suites are not run in an order one can rely on).
		return Verdict(verdict.name, Mutant.KILLED,
			       f'the kernel died in {parts[0]}.{parts[1]}, run alone (in the full '
			       f'run it died in {where} first)')
	# Last, the full run as it was before oops=panic (a hang costs its
	# timeout): its verdict is the mutant's.
	with booting_with(s, [], without=tuple(MUTANT_ARGS)):
		full, _ = s.boot(stage='boot and run, without oops=panic')
	return judge(mutant, full.failures(), full.problems)


def run_schemata(s: pipeline.Session, catalogue: Dict[str, Any],
		 mutants: List[Dict[str, Any]]) -> Tuple[List[Verdict], str]:
	"""Every mutant the schemata can express in one kernel, built once and
	booted once per mutant with slub_kunit_mutant=N; the others built one
	at a time as before. Verdicts in catalogue order, judged as run_one()
	judges them."""
	runnable = [m for m in mutants if not needs(s.req, m)]
	woven, apart = weave(s, catalogue, runnable)
	verdicts: Dict[str, Verdict] = {}
	if woven:
		verdicts.update(boot_woven(s, runnable, woven))
	booted = set(verdicts)
	for m in mutants:
		if m['name'] not in verdicts:
			if m['name'] in apart:
				log(f'mutant {m["name"]} built on its own: {apart[m["name"]]}')
			verdicts[m['name']] = run_one(s, catalogue, m)
	alone = [m['name'] for m in runnable if m['name'] not in booted]
	built = (f'built: 1 kernel for {len(booted)} mutant(s) (schemata), '
		 f'{len(alone)} on their own' + (f': {", ".join(alone)}' if alone else ''))
	return [verdicts[m['name']] for m in mutants], built


@dataclass
class Woven:
	"""The catalogue's mutants woven into the work tree's files."""
	texts: Dict[str, str]		# file -> its woven text
	numbers: Dict[str, int]		# mutant -> its slub_kunit_mutant=N


def weave(s: pipeline.Session, catalogue: Dict[str, Any],
	  mutants: List[Dict[str, Any]]) -> Tuple[Optional[Woven], Dict[str, str]]:
	"""The woven text of each file the mutants edit, and the mutants that
	cannot be woven (name -> why). Mutant numbers are unique across files."""
	files: Dict[str, List[Dict[str, Any]]] = {}
	for m in mutants:
		files.setdefault(m.get('file', catalogue['file']), []).append(m)
	home = catalogue['file']
	texts: Dict[str, str] = {}
	numbers: Dict[str, int] = {}
	apart: Dict[str, str] = {}
	for rel in [home] + sorted(set(files) - {home}):
		with open(os.path.join(s.work, rel)) as f:
			pristine = f.read()
		schema = schemata.build(pristine, [(m['name'], m['edits']) for m in files.get(rel, [])],
					selector_home=rel == home, first=max(numbers.values(), default=0) + 1)
		texts[rel] = schema.text
		numbers.update(schema.numbers)
		apart.update(schema.apart)
	return (Woven(texts, numbers) if numbers else None), apart


def boot_woven(s: pipeline.Session, mutants: List[Dict[str, Any]], woven: Woven) -> Dict[str, Verdict]:
	"""Builds the woven tree once; boots it with no mutant selected (it
	must pass as the pristine kernel does), then once per mutant."""
	pristine: Dict[str, str] = {}
	for rel, text in woven.texts.items():
		target = os.path.join(s.work, rel)
		with open(target) as f:
			pristine[rel] = f.read()
		tree.mark_modified(s.work, rel)
		atomic_write(target, text)
	verdicts: Dict[str, Verdict] = {}
	try:
		try:
			s.build_kernel()
		except (BuildError, NotJudged) as err:
			log(f'the schemata do not build ({err}); building each mutant on its own')
			return {}
		off, _ = s.boot(stage='boot and run, no mutant selected')
		if not off.ok:
			log(f'with no mutant selected the schemata kernel fails ({off.summary()}); '
			    'building each mutant on its own')
			return {}
		for m in mutants:
			number = woven.numbers.get(m['name'])
			if number is None:
				continue
			log(f'mutant {m["name"]} (slub_kunit_mutant={number}): '
			    f'{m.get("invariant") or m.get("reason")}')
			with booting_with(s, MUTANT_ARGS + [f'{schemata.SELECTOR}={number}']):
				try:
					out, _ = s.boot(stage=f'boot and run, mutant {number}')
				except HostError as err:
					verdicts[m['name']] = Verdict(m['name'], Mutant.HOST, str(err))
					continue
				verdicts[m['name']] = judged_on_host(s, m, out)
	finally:
		for rel, text in pristine.items():
			atomic_write(os.path.join(s.work, rel), text)
	return verdicts


def run_correct(s: pipeline.Session, catalogue: Dict[str, Any],
		entry: Dict[str, Any]) -> Tuple[str, Correct, str]:
	"""Builds and boots one correct patch: every case must pass."""
	name = entry['name']
	tried = try_entry(s, catalogue, entry, 'correct patch')
	if tried.stale:
		return name, Correct.STALE, tried.detail
	if tried.stopped is not None:
		status = {Exit.BUILD: Correct.NO_BUILD, Exit.SETUP: Correct.HOST}.get(
			tried.stopped, Correct.NOT_JUDGED)
		return name, status, tried.detail
	assert tried.outcome is not None
	if tried.outcome.ok:
		return name, Correct.PASSED, tried.outcome.summary()
	return name, Correct.FLAGGED, (tried.outcome.failures() + tried.outcome.problems)[0]
