# SPDX-License-Identifier: GPL-2.0
#
# Mutation check: each mutant in tools/mutants/<generation>.json breaks one
# promise of mm/slub.c with a small search-and-replace. The suite must fail,
# and fail in the case named as the mutant's killer.

import fnmatch
import json
import os
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from slub_kunit import source, tree
from slub_kunit.cli import (RunRequest, build_and_exec, make_build,
			    prepare_tree_locked, CacheLock)
from slub_kunit.common import (EXIT_OK, EXIT_TESTS_FAILED, EXIT_USAGE, REPO,
			       Stages, UserError, log)

CATALOGUE_DIR = os.path.join(REPO, 'tools', 'mutants')
# A mutant may hang the kernel; the unmutated suite boots and runs in seconds
# (about a minute with --debug's checkers).
MUTANT_TIMEOUT = 120
MUTANT_TIMEOUT_DEBUG = 300

KILLED = 'killed'
ELSEWHERE = 'killed elsewhere'
SURVIVED = 'SURVIVED'
NO_BUILD = 'does not build'
STALE = 'stale'
NEEDS_DEBUG = 'needs --debug'


@dataclass
class Verdict:
	name: str
	status: str
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


def judge(mutant: Dict[str, Any], failures: List[str], problems: List[str]) -> Verdict:
	hits = [f for f in failures if any(fnmatch.fnmatchcase(f, k) for k in mutant['killers'])]
	if hits:
		return Verdict(mutant['name'], KILLED, hits[0])
	# kunit.py names a case that crashed the kernel '' ('suite.'): the
	# crash happened in the killer's suite, where no case failed before.
	crashed = [f for f in failures if f.endswith('.') and
		   any(k.startswith(f) for k in mutant['killers'])]
	if crashed:
		return Verdict(mutant['name'], KILLED, f'kernel crashed in {crashed[0][:-1]}')
	if failures or problems:
		return Verdict(mutant['name'], ELSEWHERE, (failures + problems)[0])
	return Verdict(mutant['name'], SURVIVED, 'every case passed')


def _write(path: str, text: str) -> None:
	tmp = path + '.slub-kunit-tmp'
	with open(tmp, 'w') as f:
		f.write(text)
	os.replace(tmp, path)


def main(req: RunRequest, only: Optional[List[str]]) -> int:
	stages = Stages()
	src, work = prepare_tree_locked(req, stages)
	catalogue = load_catalogue(src.generation)
	mutants = catalogue['mutants']
	if only:
		unknown = set(only) - {m['name'] for m in mutants}
		if unknown:
			raise UserError(f'no such mutant: {", ".join(sorted(unknown))}', EXIT_USAGE)
		mutants = [m for m in mutants if m['name'] in only]
	policy = req.policy or source.default_policy(src.generation)
	build = make_build(req, src, work)
	build.timeout = MUTANT_TIMEOUT_DEBUG if req.debug else MUTANT_TIMEOUT

	verdicts: List[Verdict] = []
	with CacheLock(req.cache, f'{src.key}-{req.arch}'):
		log(f'baseline: {src.label}, {req.arch}, policy {policy}')
		base, _ = build_and_exec(req, build, stages, policy)
		if not base.ok:
			raise UserError('the suite fails on the unmutated kernel: '
					f'{base.summary()}', EXIT_TESTS_FAILED)
		for mutant in mutants:
			if mutant.get('debug') and not req.debug:
				# Only a checker (kmemleak, KASAN) sees what it breaks.
				verdicts.append(Verdict(mutant['name'], NEEDS_DEBUG,
							'its killer runs under --debug only'))
				continue
			rel = mutant.get('file', catalogue['file'])
			tree.mark_modified(work, rel)
			target = os.path.join(work, rel)
			with open(target) as f:
				pristine = f.read()
			try:
				verdicts.append(run_mutant(req, build, stages, policy, target,
							   pristine, mutant))
			finally:
				_write(target, pristine)

	print(f'\nMutants for {src.label} ({src.generation}), {req.arch}, policy {policy}:')
	for v in verdicts:
		print(f'  {v.status:<16} {v.name:<34} {v.detail}')
	killed = sum(1 for v in verdicts if v.status == KILLED)
	skipped = sum(1 for v in verdicts if v.status == NEEDS_DEBUG)
	failed = len(verdicts) - killed - skipped
	print(f'{killed} killed of {len(verdicts) - skipped} mutants')
	print(f'{killed} passed, {failed} failed, {skipped} skipped')
	return EXIT_OK if failed == 0 else EXIT_TESTS_FAILED


def run_mutant(req: RunRequest, build, stages: Stages, policy: str, target: str,
	       pristine: str, mutant: Dict[str, Any]) -> Verdict:
	text = apply_edits(pristine, mutant['edits'])
	if text is None:
		return Verdict(mutant['name'], STALE, 'search text not found exactly once')
	log(f'mutant {mutant["name"]}: {mutant["invariant"]}')
	_write(target, text)
	try:
		out, _ = build_and_exec(req, build, stages, policy)
	except UserError as err:
		return Verdict(mutant['name'], NO_BUILD, str(err))
	return judge(mutant, out.failures(), out.problems)
