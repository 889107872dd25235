# SPDX-License-Identifier: GPL-2.0
"""tools/slub-kunit bench: what the runner costs over calling the tree's own
kunit.py by hand with the same kunitconfig and QEMU machine, on one tree
and arch, cold (empty build directory and compiler cache) and warm (one
test file touched). For context, stock kunit.py running the kernel's own
SLUB suite, and the suites' run time inside the kernel.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Dict, List, Optional

from slub_kunit import pipeline, procs
from slub_kunit.common import CacheLock, REPO, Stages, log
from slub_kunit.kernel.kunit_tool import QEMU_CONFIG, suite_run_time
from slub_kunit.pipeline import RunRequest
from slub_kunit.status import Exit

COLD_OVERHEAD_TARGET = 0.10
WARM_TARGET_S = 45.0

# The kernel's own SLUB suite: lib/tests/slub_kunit.c since 6.15,
# lib/slub_kunit.c before.
STOCK_SUITE = ('lib/tests/slub_kunit.c', 'lib/slub_kunit.c')
STOCK_KUNITCONFIG = 'CONFIG_KUNIT=y\nCONFIG_SLUB_DEBUG=y\nCONFIG_SLUB_KUNIT_TEST=y\n'


@dataclass
class Timed:
	seconds: float
	ok: bool
	in_kernel: Optional[float] = None


@dataclass
class Row:
	label: str
	cold: Optional[Timed] = None
	warm: Optional[Timed] = None


def timed(name: str, cmd: List[str], cwd: str, env: Dict[str, str], logs: str,
	  build_dir: str) -> Timed:
	"""Runs cmd to completion, its output into logs/name.log; wall time."""
	path = os.path.join(logs, f'{name}.log')
	log(f'{name}: {" ".join(os.path.basename(c) if c == cmd[0] else c for c in cmd)}')
	start = time.monotonic()
	with open(path, 'w') as out:
		code = procs.run(cmd, cwd=cwd, env=env, stdout=out,
				 stderr=subprocess.STDOUT).returncode
	took = time.monotonic() - start
	try:
		with open(os.path.join(build_dir, 'test.log'), errors='replace') as f:
			in_kernel = suite_run_time(f.read())
	except OSError:
		in_kernel = None
	log(f'{name}: {took:.1f} s, exit {code} (output: {path})')
	return Timed(took, code == 0, in_kernel)


def touch(path: str) -> None:
	os.utime(path)


def fresh(path: str) -> str:
	if os.path.exists(path):
		shutil.rmtree(path)
	os.makedirs(path)
	return path


def fmt(t: Optional[Timed]) -> str:
	if t is None:
		return '-'
	return f'{t.seconds:.1f} s' + ('' if t.ok else ' (FAILED)')


def ratio(a: Optional[Timed], b: Optional[Timed]) -> str:
	if a is None or b is None or b.seconds <= 0:
		return '-'
	return f'{a.seconds / b.seconds:.2f}x ({(a.seconds / b.seconds - 1) * 100:+.1f} %)'


def table(rows: List[Row], label: str) -> str:
	runner, hand = rows[0], rows[1]
	lines = [f'bench: {label}',
		 '',
		 '| | cold | warm (mm/slub_kunit.c touched) |',
		 '|---|---|---|']
	for row in rows:
		lines.append(f'| {row.label} | {fmt(row.cold)} | {fmt(row.warm)} |')
	lines.append(f'| runner / by hand | {ratio(runner.cold, hand.cold)} | '
		     f'{ratio(runner.warm, hand.warm)} |')
	in_kernel = next((t.in_kernel for t in (runner.warm, runner.cold, hand.warm)
			  if t and t.in_kernel is not None), None)
	if in_kernel is not None:
		lines.append(f'| suites inside the kernel | | {in_kernel:.1f} s |')
	return '\n'.join(lines)


def verdicts(rows: List[Row]) -> List[str]:
	runner, hand = rows[0], rows[1]
	out = []
	if runner.cold and hand.cold:
		over = runner.cold.seconds / hand.cold.seconds - 1
		met = 'met' if over <= COLD_OVERHEAD_TARGET else 'MISSED'
		out.append(f'cold overhead {over * 100:+.1f} % (target at most '
			   f'{COLD_OVERHEAD_TARGET * 100:.0f} %): {met}')
	if runner.warm:
		met = 'met' if runner.warm.seconds < WARM_TARGET_S else 'MISSED'
		out.append(f'warm time-to-verdict {runner.warm.seconds:.1f} s (target under '
			   f'{WARM_TARGET_S:.0f} s): {met}')
	return out


def stock_suite(work: str) -> Optional[str]:
	return next((rel for rel in STOCK_SUITE if os.path.isfile(os.path.join(work, rel))), None)


def main(req: RunRequest, cold: bool, stock: bool) -> int:
	# The work tree is prepared under its lock, which is then let go: the
	# runner timed below takes it itself.
	with pipeline.session(req, Stages()) as s:
		s.prepare([])
		src, work, env = s.src, s.work, s.build.env()
	root = os.path.join(req.cache, 'bench', f'{src.key}-{req.arch}')
	logs = os.path.join(root, 'logs')
	os.makedirs(logs, exist_ok=True)
	dirs = {name: os.path.join(root, name) for name in
		('runner-build', 'runner-ccache', 'hand-build', 'stock-build')}
	label = f'{src.label}, {req.arch}, {req.jobs} jobs, {os.cpu_count()} CPUs'
	log(f'bench: {label}; builds in {root}')
	# Timings mean nothing while another bench builds beside this one.
	with CacheLock(req.cache, f'bench-{src.key}-{req.arch}'):
		rows = measure(req, work, env, dirs, logs, cold, stock)
	print()
	print(table(rows, label))
	print()
	for line in verdicts(rows):
		print(line)
	runs = [t for row in rows for t in (row.cold, row.warm) if t]
	failed = sum(1 for t in runs if not t.ok)
	print(f'{len(runs) - failed} passed, {failed} failed, 0 skipped')
	return Exit.OK if failed == 0 else Exit.TESTS_FAILED


def measure(req: RunRequest, work: str, env: Dict[str, str], dirs: Dict[str, str],
	    logs: str, cold: bool, stock: bool) -> List[Row]:
	"""Runs every timed build and boot, in order; returns the table's rows."""
	runner_env = dict(env, SLUB_KUNIT_CCACHE_DIR=dirs['runner-ccache'])
	runner_cmd = [sys.executable, os.path.join(REPO, 'tools', 'slub-kunit'), 'run',
		      '--kernel', req.kernel, '--arch', req.arch, '--cache', req.cache,
		      '--jobs', str(req.jobs), '--build-dir', dirs['runner-build']]
	kunit_py = [sys.executable, os.path.join(work, 'tools/testing/kunit/kunit.py'), 'run',
		    '--arch', req.arch, '--jobs', str(req.jobs)]
	hand_cmd = kunit_py + ['--build_dir', dirs['hand-build'],
			       '--kunitconfig', os.path.join(REPO, '.kunitconfig')]
	if req.arch != 'um':
		hand_cmd += ['--qemu_config', os.path.join(work, QEMU_CONFIG)]
	test_file = os.path.join(work, 'mm', 'slub_kunit.c')

	rows = [Row('tools/slub-kunit run'), Row('kunit.py by hand, same kunitconfig and QEMU')]
	if cold:
		for name in dirs:
			fresh(dirs[name])
		rows[0].cold = timed('runner-cold', runner_cmd, REPO, runner_env, logs,
				     dirs['runner-build'])
		rows[1].cold = timed('hand-cold', hand_cmd, work, env, logs, dirs['hand-build'])
	touch(test_file)
	rows[0].warm = timed('runner-warm', runner_cmd, REPO, runner_env, logs,
			     dirs['runner-build'])
	touch(test_file)
	rows[1].warm = timed('hand-warm', hand_cmd, work, env, logs, dirs['hand-build'])

	suite = stock_suite(work) if stock else None
	if suite:
		row = Row(f'stock kunit.py, the kernel\'s own {suite}')
		with tempfile.NamedTemporaryFile('w', suffix='.kunitconfig') as kc:
			kc.write(STOCK_KUNITCONFIG)
			kc.flush()
			stock_cmd = kunit_py + ['--build_dir', dirs['stock-build'],
						'--kunitconfig', kc.name]
			if cold:
				row.cold = timed('stock-cold', stock_cmd, work, env, logs,
						 dirs['stock-build'])
			touch(os.path.join(work, suite))
			row.warm = timed('stock-warm', stock_cmd, work, env, logs,
					 dirs['stock-build'])
		rows.append(row)
	return rows
