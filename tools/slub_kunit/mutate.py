# SPDX-License-Identifier: GPL-2.0
#
# Mutation check: each mutant in tools/mutants/<generation>.json breaks one
# promise of mm/slub.c with a small search-and-replace. The suite must fail,
# and fail in the case named as the mutant's killer.

import fnmatch
import json
import os
import re
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from slub_kunit import pipeline, tree
from slub_kunit.common import REPO, Stages, UserError, atomic_write, log
from slub_kunit.pipeline import RunRequest
from slub_kunit.status import Exit, Mutant

CATALOGUE_DIR = os.path.join(REPO, 'tools', 'mutants')
# A mutant may hang the kernel; the unmutated suite boots and runs in about
# ten seconds (a minute or two with --debug's checkers).
MUTANT_TIMEOUT = 60
MUTANT_TIMEOUT_DEBUG = 300

@dataclass
class Verdict:
	name: str
	status: Mutant
	detail: str


def load_catalogue(generation: str) -> Dict[str, Any]:
	path = os.path.join(CATALOGUE_DIR, f'{generation}.json')
	with open(path) as f:
		return json.load(f)


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
		return Verdict(mutant['name'], Mutant.KILLED, f'kernel crashed in {crashed[0][:-1]}')
	if failures or problems:
		return Verdict(mutant['name'], Mutant.ELSEWHERE, (failures + problems)[0])
	return Verdict(mutant['name'], Mutant.SURVIVED, 'every case passed')


def main(req: RunRequest, only: Optional[List[str]]) -> int:
	stages = Stages()
	with pipeline.session(req, stages) as s:
		catalogue = load_catalogue(s.src.generation)
		mutants = select(catalogue['mutants'], only)
		s.build.timeout = MUTANT_TIMEOUT_DEBUG if req.debug else MUTANT_TIMEOUT
		s.prepare(req.patches)
		log(f'baseline: {s.src.label}, {req.arch}, policy {s.policy}')
		base, _ = s.build_and_boot()
		if not base.ok:
			raise UserError('the suite fails on the unmutated kernel: '
					f'{base.summary()}', Exit.TESTS_FAILED)
		verdicts = [run_one(s, catalogue, mutant) for mutant in mutants]
		label, generation, policy = s.src.label, s.src.generation, s.policy

	print(f'\nMutants for {label} ({generation}), {req.arch}, policy {policy}:')
	for v in verdicts:
		print(f'  {v.status.value:<16} {v.name:<40} {v.detail}')
	killed = sum(1 for v in verdicts if v.status == Mutant.KILLED)
	skipped = sum(1 for v in verdicts if v.status == Mutant.NEEDS_DEBUG)
	failed = len(verdicts) - killed - skipped
	print(f'{killed} killed of {len(verdicts) - skipped} mutants')
	print(f'{killed} passed, {failed} failed, {skipped} skipped')
	return Exit.OK if failed == 0 else Exit.TESTS_FAILED


def select(mutants: List[Dict[str, Any]], only: Optional[List[str]]) -> List[Dict[str, Any]]:
	if not only:
		return mutants
	unknown = set(only) - {m['name'] for m in mutants}
	if unknown:
		raise UserError(f'no such mutant: {", ".join(sorted(unknown))}', Exit.USAGE)
	return [m for m in mutants if m['name'] in only]


def run_one(s: pipeline.Session, catalogue: Dict[str, Any], mutant: Dict[str, Any]) -> Verdict:
	"""Breaks one file of the work tree, builds and boots, puts it back."""
	if mutant.get('debug') and not s.req.debug:
		# Only a checker (kmemleak, lockdep, KASAN) sees what it breaks.
		return Verdict(mutant['name'], Mutant.NEEDS_DEBUG, 'its killer runs under --debug only')
	rel = mutant.get('file', catalogue['file'])
	tree.mark_modified(s.work, rel)
	target = os.path.join(s.work, rel)
	with open(target) as f:
		pristine = f.read()
	text = apply_edits(pristine, mutant['edits'])
	if text is None:
		return Verdict(mutant['name'], Mutant.STALE, 'search text not found exactly once')
	log(f'mutant {mutant["name"]}: {mutant["invariant"]}')
	atomic_write(target, text)
	try:
		out, _ = s.build_and_boot()
	except UserError as err:
		if err.code != Exit.BUILD:
			raise
		return Verdict(mutant['name'], Mutant.NO_BUILD, str(err))
	finally:
		atomic_write(target, pristine)
	return judge(mutant, out.failures(), out.problems)
