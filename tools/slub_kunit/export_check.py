# SPDX-License-Identifier: GPL-2.0
#
# export --check: the series as a reviewer would take it. checkpatch.pl
# --strict has nothing to say about any patch. Each prefix is
# applied with git apply (what git am does with a mail) to a copy of the
# whole pristine tree and built with stock kunit.py; after the last, stock
# kunit.py runs the series' own kunitconfig and QEMU machine, and its
# results must be the runner's.

import os
import re
import shutil
import tempfile
from typing import List

from slub_kunit import pipeline, results, source, tree
from slub_kunit.common import CacheLock, Stages, UserError, log, run
from slub_kunit.kunit_tool import QEMU_CONFIG, Build, load_json
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
		raise UserError(f'git apply {os.path.basename(mail)} failed: '
				f'{res.stdout.strip()[-300:]}', Exit.PATCH)


def main(src: source.Source, mails: List[str], cache: str, jobs: int) -> int:
	root = os.path.join(cache, 'export')
	work = os.path.join(root, f'check-{src.key}')
	build_dir = os.path.join(cache, 'build', f'export-{src.key}-x86_64')
	final = None
	stages = Stages()
	with CacheLock(cache, f'export-{src.key}'):
		shutil.rmtree(work, ignore_errors=True)
		with stages.stage('copy'):
			tree.hardlink_copy(src.path, work)
		style = checkpatch(work, mails)
		for n, mail in enumerate(mails, 1):
			for rel in changed_paths(mail):
				tree.break_link(os.path.join(work, rel))
			apply_mail(work, mail)
			config_path = os.path.join(work, KUNITCONFIG)
			if final is None and os.path.exists(config_path):
				with open(config_path) as f:
					final = f.read()
			kconfig = prefix_kunitconfig(final or 'CONFIG_KUNIT=y\n', work)
			with tempfile.NamedTemporaryFile('w', suffix='.kunitconfig', dir=root) as kc:
				kc.write(kconfig)
				kc.flush()
				# A prefix without the series' QEMU machine builds for
				# kunit.py's own.
				machine = QEMU_CONFIG if os.path.exists(os.path.join(
					work, QEMU_CONFIG)) else None
				build = Build(tree=work, build_dir=build_dir, arch='x86_64',
					      cache_dir=cache, jobs=jobs, kunitconfig=kc.name,
					      qemu_config=machine)
				with stages.stage(f'build after patch {n}/{len(mails)}'):
					build.config()
					build.build()
		log('stock kunit.py run with the series\' kunitconfig and QEMU machine')
		build = Build(tree=work, build_dir=build_dir, arch='x86_64', cache_dir=cache,
			      jobs=jobs, kunitconfig=os.path.join(work, KUNITCONFIG))
		with tempfile.TemporaryDirectory(dir=root) as tmp:
			json_path = os.path.join(tmp, 'result.json')
			with stages.stage('kunit.py run'):
				code = build.kunit('run', ['--kunitconfig', build.kunitconfig,
							   f'--json={json_path}', '--timeout=300',
							   '--jobs', str(jobs)] +
						   build.make_options()).returncode
			stock = results.outcome(load_json(json_path), code)
	print(stages.table())
	runner = {k: v.value for k, v in pipeline.run_suite(pipeline.RunRequest(
		cache=cache, kernel=src.path if src.package is None else
		re.sub(r'^linux-source-', '', src.package), jobs=jobs)).outcome.cases.items()}
	theirs = {k: v.value for k, v in stock.cases.items()}
	differ = sorted(k for k in set(runner) | set(theirs) if runner.get(k) != theirs.get(k))
	print(f'stock kunit.py: {stock.summary()}; runner: '
	      f'{sum(v == "PASS" for v in runner.values())} passed')
	for k in differ[:20]:
		print(f'  DIFFERS {k}: stock {theirs.get(k, "missing")}, runner {runner.get(k, "missing")}')
	ok = not differ and stock.ok and not style
	print(f'{len(mails)} prefixes built; stock kunit.py results '
	      f'{"equal" if not differ else "DIFFER from"} the runner\'s ({len(theirs)} cases)')
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
