# SPDX-License-Identifier: GPL-2.0
"""export --check: the series as a reviewer would take it. checkpatch.pl
--strict has nothing to say about any patch. Each prefix is
applied with git apply (what git am does with a mail) to a copy of the
whole pristine tree and built with stock kunit.py, and run with it where
it has the series' kunitconfig, on the series' QEMU machine: every case
passes or skips. After the last, stock kunit.py's results
must be the runner's.
"""

import os
import re
import shutil
import tempfile
from typing import List, Tuple

from slub_kunit import pipeline
from slub_kunit.common import CacheLock, PatchError, REPO, Stages, run
from slub_kunit.kernel import results, source, tree
from slub_kunit.kernel.kunit_tool import QEMU_CONFIG, Build, load_json
from slub_kunit.status import Exit

KUNITCONFIG = 'mm/slub_kunit.kunitconfig'


def defined_symbols(work: str) -> set:
	"""Every Kconfig symbol the tree defines."""
	res = run(['grep', '-rhoE', '--include=Kconfig*', r'^\s*(menu)?config\s+[A-Za-z0-9_]+',
		   work], check=False)
	return {line.split()[-1] for line in res.stdout.splitlines()}


def prefix_kunitconfig(final: str, work: str) -> str:
	"""The series' kunitconfig, without the options this prefix lacks."""
	have = defined_symbols(work)
	keep = [line for line in final.splitlines()
		if not re.match(r'^CONFIG_(\w+)=', line) or
		re.match(r'^CONFIG_(\w+)=', line).group(1) in have]
	return '\n'.join(keep) + '\n'


def apply_mail(work: str, mail: str) -> None:
	res = run(['git', 'apply', '--whitespace=error-all', '-p1', mail], cwd=work, check=False)
	if res.returncode != 0:
		raise PatchError(f'git apply {os.path.basename(mail)} failed: '
				f'{res.stdout.strip()[-300:]}')


def suites_of(work: str) -> Tuple[str, ...]:
	"""The suites the tests' files of a prefix define: each must run."""
	names: List[str] = []
	for name in sorted(os.listdir(os.path.join(work, 'mm'))):
		if name.startswith('slub_kunit') and name.endswith('.c'):
			with open(os.path.join(work, 'mm', name)) as f:
				names += re.findall(r'^\t\.name = "(\w+)",$', f.read(), re.M)
	return tuple(names)


def stock_run(build: Build, root: str, jobs: int) -> results.Outcome:
	"""The prefix's own kunitconfig and machine, run by stock kunit.py;
	every suite the prefix defines must run."""
	with tempfile.TemporaryDirectory(dir=root) as tmp:
		json_path = os.path.join(tmp, 'result.json')
		code = build.kunit('run', ['--kunitconfig', build.kunitconfig, f'--json={json_path}',
					   '--timeout=300', '--jobs', str(jobs)] +
				   build.make_options(), writable=[tmp]).returncode
		return results.outcome(load_json(json_path), code, suites_of(build.tree))


def main(src: source.Source, mails: List[str], cache: str, jobs: int) -> int:
	root = os.path.join(cache, 'export')
	work = os.path.join(root, f'check-{src.key}')
	build_dir = os.path.join(cache, 'build', f'export-{src.key}-x86_64')
	with open(os.path.join(REPO, '.kunitconfig')) as f:
		final = f.read()
	stages = Stages()
	prefixes: List[str] = []
	stock = results.Outcome()
	passing = True
	with CacheLock(cache, f'export-{src.key}'):
		shutil.rmtree(work, ignore_errors=True)
		with stages.stage('copy'):
			tree.hardlink_copy(src.path, work)
		style = checkpatch(work, mails)
		for n, mail in enumerate(mails, 1):
			for rel in changed_paths(mail):
				tree.break_link(os.path.join(work, rel))
			apply_mail(work, mail)
			own = os.path.join(work, KUNITCONFIG)
			# Every prefix runs on the series' QEMU machine, taken from the
			# repository until a patch adds it: one kernel configuration
			# from the second patch on, so that each build is incremental.
			machine = QEMU_CONFIG if os.path.exists(os.path.join(work, QEMU_CONFIG)) else \
				os.path.join(REPO, QEMU_CONFIG)
			with tempfile.NamedTemporaryFile('w', suffix='.kunitconfig', dir=root) as kc:
				kc.write(prefix_kunitconfig(final, work))
				kc.flush()
				build = Build(tree=work, build_dir=build_dir, arch='x86_64', cache_dir=cache,
					      jobs=jobs, kunitconfig=own if os.path.exists(own) else kc.name,
					      qemu_config=machine)
				if not os.path.exists(own):
					with stages.stage(f'build after patch {n}/{len(mails)}'):
						build.config()
						build.build()
					prefixes.append(f'{n}/{len(mails)}: built')
					continue
				with stages.stage(f'kunit.py run after patch {n}/{len(mails)}'):
					stock = stock_run(build, root, jobs)
			prefixes.append(f'{n}/{len(mails)}: {stock.summary()}')
			passing = passing and stock.ok
			if not stock.ok:
				print(f'  after patch {n}/{len(mails)}: {stock.summary()}; ' +
				      '; '.join(stock.problems or stock.failures()[:3]))
	print(stages.table())
	for line in prefixes:
		print(f'  patch {line}')
	runner = {k: v.value for k, v in pipeline.run_suite(pipeline.RunRequest(
		cache=cache, kernel=src.path if src.package is None else
		re.sub(r'^linux-source-', '', src.package), jobs=jobs)).outcome.cases.items()}
	theirs = {k: v.value for k, v in stock.cases.items()}
	differ = sorted(k for k in set(runner) | set(theirs) if runner.get(k) != theirs.get(k))
	print(f'stock kunit.py: {stock.summary()}; runner: '
	      f'{sum(v == "PASS" for v in runner.values())} passed')
	for k in differ[:20]:
		print(f'  DIFFERS {k}: stock {theirs.get(k, "missing")}, runner {runner.get(k, "missing")}')
	ok = not differ and stock.ok and not style and passing
	print(f'{len(mails)} prefixes built and run; stock kunit.py results '
	      f'{"equal" if not differ else "DIFFER from"} the runner\'s ({len(theirs)} cases)')
	print('export --check: ' + ('every patch clean, built and passing; results equal' if ok else
				    'FAILED (' + ', '.join(
					    what for what, bad in (('checkpatch', style),
								   ('a prefix', not passing),
								   ('stock kunit.py', not stock.ok),
								   ('results differ', differ)) if bad) + ')'))
	return Exit.OK if ok else Exit.TESTS_FAILED


def checkpatch(work: str, mails: List[str]) -> List[str]:
	"""checkpatch.pl --strict on each patch; the ones it has something to
	say about, with its last line."""
	dirty = []
	for mail in mails:
		res = run(['perl', 'scripts/checkpatch.pl', '--strict', '--no-summary', '--terse',
			   mail], cwd=work, check=False)
		name = os.path.basename(mail)
		if res.returncode != 0 or res.stdout.strip():
			dirty.append(name)
			print(f'  checkpatch --strict {name}:')
			for line in res.stdout.strip().splitlines()[:10]:
				print(f'    {line}')
		else:
			print(f'  checkpatch --strict {name}: clean')
	return dirty


def changed_paths(mail: str) -> List[str]:
	with open(mail) as f:
		return sorted({m.group(1) for m in re.finditer(r'^\+\+\+ b/(\S+)', f.read(), re.M)})
