# SPDX-License-Identifier: GPL-2.0
#
# Command line of tools/slub-kunit.

import argparse
import fcntl
import os
import platform
import sys
import tempfile
import unittest
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from slub_kunit import host, results, source, tree
from slub_kunit.common import (EXIT_INTERRUPTED, EXIT_OK, EXIT_SETUP,
			       EXIT_TESTS_FAILED, EXIT_USAGE, REPO, Stages,
			       UserError, die, log)
from slub_kunit.kunit_tool import ARCHES, Build, load_json

POLICIES = ('normal', 'memory')

# --debug: the kernel checkers a regression suite must run clean under, on
# both arches (UML has KASAN and kmemleak on x86_64 hosts).
# kmemleak scans when slub_hotplug_no_new_leaks asks it to; its own scan
# thread, a minute after boot, only slows an emulated machine down.
# Not SLUB_DEBUG_ON: debug flags take sheaves from 7.x caches, so barns and
# their failure paths would go unchecked; KASAN catches what it would.
DEBUG_KCONFIG_ALL = ['CONFIG_KASAN=y', 'CONFIG_PROVE_LOCKING=y', 'CONFIG_DEBUG_LIST=y',
		     'CONFIG_DEBUG_VM=y', 'CONFIG_DEBUG_KMEMLEAK=y',
		     'CONFIG_DEBUG_KMEMLEAK_AUTO_SCAN=n']
DEBUG_KCONFIG = {'x86_64': DEBUG_KCONFIG_ALL, 'um': DEBUG_KCONFIG_ALL}


def default_cache() -> str:
	env = os.environ.get('SLUB_KUNIT_CACHE')
	if env:
		return env
	base = os.environ.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'), '.cache')
	return os.path.join(base, 'slub-kunit')


@dataclass
class RunRequest:
	kernel: str = '6.12'
	arch: str = 'x86_64'
	patches: List[str] = field(default_factory=list)
	policy: Optional[str] = None
	json_path: Optional[str] = None
	junit_path: Optional[str] = None
	cache: str = field(default_factory=default_cache)
	jobs: int = os.cpu_count() or 1
	kconfig_add: List[str] = field(default_factory=list)
	kernel_args: List[str] = field(default_factory=list)
	debug: bool = False
	build_dir: Optional[str] = None


@dataclass
class RunResult:
	req: RunRequest
	outcome: results.Outcome
	meta: Dict[str, Any]
	stages: Stages
	work: str = ''
	build: Optional[Build] = None


class CacheLock:
	"""One run at a time per work tree: runs share trees and build dirs."""

	def __init__(self, cache: str, key: str) -> None:
		os.makedirs(os.path.join(cache, 'locks'), exist_ok=True)
		self.path = os.path.join(cache, 'locks', f'{key}.lock')
		self.fd = -1

	def __enter__(self) -> 'CacheLock':
		self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
		try:
			fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
		except BlockingIOError:
			log(f'waiting for another slub-kunit run on {os.path.basename(self.path)}')
			fcntl.flock(self.fd, fcntl.LOCK_EX)
		return self

	def __exit__(self, *exc: Any) -> None:
		os.close(self.fd)


def writable_dir(path: str, what: str) -> None:
	"""Creates path if needed; one line and exit 3 if it cannot be written."""
	try:
		os.makedirs(path, exist_ok=True)
	except OSError as e:
		raise UserError(f'{what} {path}: {e.strerror}', EXIT_SETUP)
	if not os.access(path, os.W_OK):
		raise UserError(f'{what} {path} is not writable', EXIT_SETUP)


def check_cache(cache: str) -> None:
	writable_dir(cache, 'cache directory')
	st = os.statvfs(cache)
	free = st.f_bavail * st.f_frsize
	if free < 3 << 30:
		raise UserError(f'cache directory {cache} has {free >> 20} MiB free; '
				'a kernel tree and its build need about 3 GiB', EXIT_SETUP)


def prepare_tree(req: RunRequest, stages: Stages) -> Tuple[source.Source, str]:
	host.ensure_packages([req.arch])
	src = source.get_source(req.kernel, req.cache, stages)
	with stages.stage('prepare'):
		# A Debian tree in the cache never changes: refresh its work
		# tree in place. A user's tree may have: copy it anew.
		work = tree.prepare(src.path, src.label, os.path.join(req.cache, 'work'),
				    src.key, req.patches, reuse=src.package is not None)
	return src, work


def make_build(req: RunRequest, src: source.Source, work: str) -> Build:
	suffix = '-debug' if req.debug else ''
	kconfig = list(req.kconfig_add) + (DEBUG_KCONFIG[req.arch] if req.debug else [])
	build_dir = req.build_dir or os.path.join(req.cache, 'build',
						  f'{src.key}-{req.arch}{suffix}')
	return Build(tree=work, arch=req.arch, cache_dir=req.cache, jobs=req.jobs,
		     build_dir=os.path.abspath(build_dir),
		     kconfig_add=kconfig, timeout=600 if req.debug else 300)


def metadata(req: RunRequest, src: source.Source, policy: str) -> Dict[str, Any]:
	return {
		'kernel': src.label,
		'package': src.package,
		'version': src.version,
		'generation': src.generation,
		'arch': req.arch,
		'policy': policy,
		'patches': [{'name': os.path.basename(p), 'sha256': tree.sha256(p)}
			    for p in req.patches],
		'host': platform.node(),
		'debug': req.debug,
	}


def boot_and_run(req: RunRequest, build: Build, stages: Stages, policy: str,
		 stage: str = 'boot and run') -> Tuple[results.Outcome, Optional[Dict[str, Any]]]:
	"""Boots the built kernel once; judges cases and the kernel log."""
	with tempfile.TemporaryDirectory(prefix='slub-kunit-') as tmp:
		json_tmp = os.path.join(tmp, 'result.json')
		with stages.stage(stage):
			code = build.exec(json_tmp, [f'slub_hotplug_kunit.policy={policy}'] +
					  req.kernel_args)
		result = load_json(json_tmp)
	outcome = results.outcome(result, code)
	for line in results.repeat_differences(outcome)[:5]:
		outcome.problems.append(f'not repeatable in one boot: {line}')
	for line in results.splats(build.kernel_log())[:5]:
		outcome.problems.append(f'kernel log: {line}')
	return outcome, result


def build_and_exec(req: RunRequest, build: Build, stages: Stages,
		   policy: str) -> Tuple[results.Outcome, Optional[Dict[str, Any]]]:
	with stages.stage('configure'):
		build.config()
	with stages.stage('build'):
		build.build()
	return boot_and_run(req, build, stages, policy)


def run_suite(req: RunRequest) -> RunResult:
	"""Fetch, prepare, build and run; never raises for failing cases."""
	if req.arch not in ARCHES:
		raise UserError(f'--arch {req.arch}: expected one of {", ".join(ARCHES)}', EXIT_USAGE)
	for patch in req.patches:
		tree.check_patch(patch)
	if req.build_dir:
		writable_dir(req.build_dir, '--build-dir')
	stages = Stages()
	src, work = prepare_tree_locked(req, stages)
	policy = req.policy or source.default_policy(src.generation)
	meta = metadata(req, src, policy)
	log(f'kernel {src.label} ({src.generation} generation), arch {req.arch}, '
	    f'policy {policy}, patches: '
	    f'{", ".join(p["name"] for p in meta["patches"]) or "none"}')
	build = make_build(req, src, work)
	with CacheLock(req.cache, os.path.basename(build.build_dir)):
		outcome, raw = build_and_exec(req, build, stages, policy)
	if req.json_path:
		results.write_json(req.json_path, raw, meta)
	if req.junit_path:
		results.write_junit(req.junit_path, outcome, meta)
	return RunResult(req=req, outcome=outcome, meta=meta, stages=stages, work=work,
			 build=build)


def flake_check(res: RunResult) -> List[str]:
	"""Boots the same kernel again; returns the cases whose result changed."""
	assert res.build is not None
	with CacheLock(res.build.cache_dir, os.path.basename(res.build.build_dir)):
		again, _ = boot_and_run(res.req, res.build, res.stages, res.meta['policy'],
					stage='second boot')
	changed = results.differences(res.outcome, again)
	changed += [f'second boot: {p}' for p in again.problems]
	return changed


def prepare_tree_locked(req: RunRequest, stages: Stages) -> Tuple[source.Source, str]:
	check_cache(req.cache)
	with CacheLock(req.cache, 'prepare'):
		return prepare_tree(req, stages)


def report(res: RunResult) -> None:
	print('Stages:')
	print(res.stages.table())
	for problem in res.outcome.problems:
		print(f'FAILURE: {problem}')
	for name in res.outcome.failures():
		print(f'FAILED: {name}')


# --- subcommands -------------------------------------------------------------

def add_run_options(p: argparse.ArgumentParser) -> None:
	p.add_argument('--kernel', default='6.12',
		       help='6.12 (default), 7 (newest linux-source-7.*), 7.N, or a kernel tree path')
	p.add_argument('--arch', default='x86_64', choices=ARCHES)
	p.add_argument('--patch', action='append', default=[], metavar='FILE',
		       help='patch or mbox to apply with -p1 after the suite; repeatable, in order')
	p.add_argument('--expect-policy', '--policy', dest='policy', choices=POLICIES,
		       help='policy the suite expects (default: the generation\'s own)')
	p.add_argument('--cache', default=default_cache(),
		       help='cache for sources, trees and builds (default: %(default)s)')
	p.add_argument('--jobs', type=int, default=os.cpu_count() or 1)
	p.add_argument('--build-dir', metavar='DIR',
		       help='build directory (default: one per kernel, arch and --debug '
		       'in the cache)')
	p.add_argument('--repeat', type=int, default=1, choices=range(1, 6), metavar='N',
		       help='run the suites N times (1-5) in one boot; results must not differ '
		       'and the last suite checks the state is restored')
	p.add_argument('--debug', action='store_true',
		       help='build with KASAN (x86_64), lockdep, DEBUG_LIST, DEBUG_VM, '
		       'SLUB_DEBUG_ON and kmemleak (x86_64) in a build directory of its own; '
		       'any splat fails the run')
	p.add_argument('--json', dest='json_path', metavar='FILE',
		       help='write kunit.py\'s JSON result, with run metadata, to FILE')
	p.add_argument('--junit', dest='junit_path', metavar='FILE',
		       help='write a JUnit XML report, with run metadata, to FILE')


def request_from(args: argparse.Namespace) -> RunRequest:
	return RunRequest(kernel=args.kernel, arch=args.arch, patches=args.patch,
			  policy=args.policy, json_path=args.json_path, cache=args.cache,
			  jobs=args.jobs, junit_path=args.junit_path, debug=args.debug,
			  build_dir=args.build_dir,
			  kconfig_add=[f'CONFIG_SLUB_HOTPLUG_KUNIT_REPEAT={args.repeat}']
			  if getattr(args, 'repeat', 1) > 1 else [])


def cmd_run(args: argparse.Namespace) -> int:
	res = run_suite(request_from(args))
	report(res)
	print(res.outcome.summary())
	return EXIT_OK if res.outcome.ok else EXIT_TESTS_FAILED


def run_unit_tests() -> Tuple[int, int, int]:
	"""Runs the runner's own tests; returns (passed, failed, skipped)."""
	loader = unittest.TestLoader()
	suite = loader.discover(os.path.join(REPO, 'tools', 'slub_kunit', 'tests'),
				top_level_dir=os.path.join(REPO, 'tools'))
	res = unittest.TextTestRunner(verbosity=1, stream=sys.stdout).run(suite)
	failed = len(res.failures) + len(res.errors) + len(res.unexpectedSuccesses)
	skipped = len(res.skipped)
	return res.testsRun - failed - skipped, failed, skipped


def cmd_test(args: argparse.Namespace) -> int:
	rows = []
	passed, failed, skipped = run_unit_tests()
	rows.append(('runner unit tests', '-', f'{passed} passed, {failed} failed, '
		     f'{skipped} skipped', failed == 0))
	total = [passed, failed, skipped]
	for kernel in args.kernel or ['6.12', '7']:
		for arch in args.arch or list(ARCHES):
			req = RunRequest(kernel=kernel, arch=arch, cache=args.cache, jobs=args.jobs,
					 debug=args.debug)
			try:
				res = run_suite(req)
			except UserError as err:
				rows.append((kernel, arch, f'error: {err}', False))
				total[1] += 1
				continue
			changed = flake_check(res) if res.outcome.ok else []
			report(res)
			for line in changed:
				print(f'FLAKY: {line}')
			out = res.outcome
			ok = out.ok and not changed
			rows.append((res.meta['kernel'], arch, out.summary() +
				     (f', {len(changed)} differ on a second boot' if changed else
				      ', same on a second boot' if out.ok else '') +
				     f' ({res.stages.total():.0f} s)', ok))
			total[0] += out.passed
			total[1] += out.failed + (0 if ok or out.failed else 1)
			total[2] += out.skipped
	print('\nslub-kunit test matrix:')
	for kernel, arch, text, ok in rows:
		print(f'  {"ok  " if ok else "FAIL"} {kernel:<36} {arch:<7} {text}')
	print(f'{total[0]} passed, {total[1]} failed, {total[2]} skipped')
	return EXIT_OK if all(ok for *_, ok in rows) else EXIT_TESTS_FAILED


def cmd_validate(args: argparse.Namespace) -> int:
	from slub_kunit import validate
	if not args.patch:
		raise UserError('validate needs at least one --patch FILE', EXIT_USAGE)
	return validate.main(request_from(args))


def cmd_export(args: argparse.Namespace) -> int:
	from slub_kunit import export
	return export.main(RunRequest(kernel=args.kernel, cache=args.cache), args.out)


def cmd_mutate(args: argparse.Namespace) -> int:
	from slub_kunit import mutate
	return mutate.main(request_from(args), args.only)


def cmd_bench(args: argparse.Namespace) -> int:
	from slub_kunit import bench
	req = RunRequest(kernel=args.kernel, arch=args.arch, cache=args.cache, jobs=args.jobs)
	return bench.main(req, cold=not args.warm_only, stock=not args.no_stock)


def parser() -> argparse.ArgumentParser:
	p = argparse.ArgumentParser(
		prog='slub-kunit',
		description='Build a kernel with the SLUB NUMA hotplug KUnit suite and run it.')
	sub = p.add_subparsers(dest='command', required=True)

	run_p = sub.add_parser('run', help='run the suite on one kernel and arch')
	add_run_options(run_p)
	run_p.set_defaults(func=cmd_run)

	test_p = sub.add_parser('test', help='runner unit tests, then the suite on '
				'6.12 and 7.x under x86_64 and um (what CI runs)')
	test_p.add_argument('--kernel', action='append',
			    help='kernels to run (default: 6.12 and 7); repeatable')
	test_p.add_argument('--arch', action='append', choices=ARCHES,
			    help='arches to run (default: x86_64 and um); repeatable')
	test_p.add_argument('--cache', default=default_cache())
	test_p.add_argument('--jobs', type=int, default=os.cpu_count() or 1)
	test_p.add_argument('--debug', action='store_true',
			    help='the debug kernels of run --debug instead (cold: ~15 min '
			    'more per x86_64 kernel)')
	test_p.set_defaults(func=cmd_test)

	val_p = sub.add_parser('validate', help='run the suite without and with the patches '
			       'and report what changed: policy expectations or invariants')
	add_run_options(val_p)
	val_p.set_defaults(func=cmd_validate)

	exp_p = sub.add_parser('export', help='write the suite as a git format-patch series '
			       'with a cover letter')
	exp_p.add_argument('--kernel', default='6.12', help='tree the series is made against')
	exp_p.add_argument('--cache', default=default_cache())
	exp_p.add_argument('--out', required=True, metavar='DIR')
	exp_p.set_defaults(func=cmd_export)

	mut_p = sub.add_parser('mutate', help='break mm/slub.c on purpose, one mutant at '
			       'a time, and check the suite catches each')
	add_run_options(mut_p)
	mut_p.add_argument('--only', action='append', metavar='NAME',
			   help='run only this mutant; repeatable')
	mut_p.set_defaults(func=cmd_mutate)

	bench_p = sub.add_parser('bench', help='time-to-verdict of the runner against the '
				 'tree\'s kunit.py by hand, cold and warm')
	bench_p.add_argument('--kernel', default='6.12',
			     help='6.12 (default), 7, 7.N, or a kernel tree path')
	bench_p.add_argument('--arch', default='x86_64', choices=ARCHES)
	bench_p.add_argument('--cache', default=default_cache())
	bench_p.add_argument('--jobs', type=int, default=os.cpu_count() or 1)
	bench_p.add_argument('--warm-only', action='store_true',
			     help='skip the cold builds (reuse the bench\'s build directories)')
	bench_p.add_argument('--no-stock', action='store_true',
			     help='skip stock kunit.py on the kernel\'s own slub_kunit suite')
	bench_p.set_defaults(func=cmd_bench)
	return p


def main(argv: List[str]) -> int:
	args = parser().parse_args(argv)
	try:
		return args.func(args)
	except UserError as err:
		return die(err)
	except OSError as err:
		# A disk filling up or a directory vanishing under a run: the
		# work tree has been put back; say what failed, not where.
		where = f' ({err.filename})' if err.filename else ''
		return die(UserError(f'{err.strerror or err}{where}', EXIT_SETUP))
	except KeyboardInterrupt:
		print('slub-kunit: interrupted; the cache stays usable', file=sys.stderr)
		return EXIT_INTERRUPTED
