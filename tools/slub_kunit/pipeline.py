# SPDX-License-Identifier: GPL-2.0
"""The run pipeline every subcommand uses: fetch a kernel, prepare its work
tree (the suite overlaid, the patches applied), configure, build and boot
it with the tree's own kunit.py, and judge what it printed.

A Session holds the work tree and the build directory of one kernel and
arch for as long as it lasts (one run, or every step of a validate or a
mutate): no other command on the same cache can change them meanwhile.
"""

import dataclasses
import hashlib
import os
import platform
import json
import re
import tempfile
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Optional, Tuple

from slub_kunit import host
from slub_kunit.common import (CacheLock, HostError, PatchError, Stages, UsageError, UserError,
				    atomic_write, is_inside, log, safe_name)
from slub_kunit.inbox.mail import Thread
from slub_kunit.inbox.patches import Patch
from slub_kunit.kernel import results, sandbox, source, tree
from slub_kunit.kernel.kunit_tool import ARCH_SPECS, ARCHES, Build, load_json, qemu_status_path
from slub_kunit.status import Exit

POLICIES = ('normal', 'memory')

# --debug: the kernel checkers a regression suite must run clean under, on
# both arches (UML has KASAN and kmemleak on x86_64 hosts).
# kmemleak scans when test_no_new_leaks asks it to; its own scan
# thread, a minute after boot, only slows an emulated machine down.
# Not SLUB_DEBUG_ON: debug flags take sheaves from 7.x caches, so barns and
# their failure paths would go unchecked; KASAN catches what it would.
DEBUG_KCONFIG = ['CONFIG_KASAN=y', 'CONFIG_PROVE_LOCKING=y', 'CONFIG_DEBUG_LIST=y',
		 'CONFIG_DEBUG_VM=y', 'CONFIG_DEBUG_KMEMLEAK=y',
		 'CONFIG_DEBUG_KMEMLEAK_AUTO_SCAN=n']

# The real-hotplug suite's own option, and --kconfig options that rule it out.
REAL_SUITE_OPTION = 'CONFIG_SLUB_HOTPLUG_REAL_KUNIT_TEST'
REAL_SUITE_NEEDS = ('CONFIG_MEMORY_HOTREMOVE=n', 'CONFIG_MEMORY_HOTPLUG=n', 'CONFIG_NUMA=n')


def expected_suites(build: Build) -> Tuple[str, ...]:
	"""The suites a boot of @build must run: the real-hotplug one only
	where its option was built."""
	if build.config_has(REAL_SUITE_OPTION):
		return results.SUITES
	return tuple(s for s in results.SUITES if s != 'slub_hotplug_real')


# Free space a run needs in the cache: a cold one unpacks and builds a
# kernel, a warm one rebuilds a few objects.
COLD_SPACE = 3 << 30
WARM_SPACE = 512 << 20


@dataclass
class RunRequest:
	"""One run of the suite, as the command line asked for it."""
	cache: str
	kernel: str = '6.12'
	commit: Optional[str] = None	# a commit of the git repository --kernel names
	commits: Optional[str] = None	# validate: the BASE..HEAD the patches came from
	arch: str = 'x86_64'
	patches: List[Patch] = field(default_factory=list)
	threads: List[Thread] = field(default_factory=list)	# mail the patches came from
	policy: Optional[str] = None
	json_path: Optional[str] = None
	junit_path: Optional[str] = None
	jobs: int = os.cpu_count() or 1
	repeat: int = 1
	kernel_args: List[str] = field(default_factory=list)
	debug: bool = False
	kconfig: List[str] = field(default_factory=list)	# --kconfig: options added
	build_dir: Optional[str] = None
	allow_suite_edits: bool = False
	distcc: Optional[str] = None	# --distcc: DISTCC_HOSTS
	trusted: bool = False		# --trusted: the tree's code runs unsandboxed

	def with_patches(self, patches: List[Patch]) -> 'RunRequest':
		"""The same request with other patches and no outputs of its own."""
		return dataclasses.replace(self, patches=list(patches), json_path=None,
					   junit_path=None)

	def kconfig_add(self) -> List[str]:
		out = [f'CONFIG_SLUB_HOTPLUG_KUNIT_REPEAT={self.repeat}'] if self.repeat > 1 else []
		if any(opt in self.kconfig for opt in REAL_SUITE_NEEDS):
			# .kunitconfig asks for the real-hotplug suite, which
			# these options rule out: kunit.py would refuse the
			# .config.
			out.append(f'{REAL_SUITE_OPTION}=n')
		return out + (DEBUG_KCONFIG if self.debug else []) + self.kconfig


@dataclass
class RunResult:
	req: RunRequest
	outcome: results.Outcome
	meta: results.RunMeta
	stages: Stages
	raw: Optional[Dict[str, Any]] = None
	build: Optional[Build] = None
	flaky: List[str] = field(default_factory=list)


def build_dir_for(req: RunRequest, src: source.Source) -> str:
	suffix = '-debug' if req.debug else ''
	if req.kconfig:
		# One build directory per set of added options, named by them.
		digest = hashlib.sha256('\n'.join(sorted(req.kconfig)).encode()).hexdigest()
		suffix += f'-kconfig-{digest[:10]}'
	return os.path.abspath(req.build_dir or os.path.join(
		req.cache, 'build', f'{src.key}-{req.arch}{suffix}'))


# What kbuild cannot take in a source or build path: make splits words on
# white space and rules on ':', and expands '$', '#', '%' and '='.
KBUILD_UNSAFE = re.compile(r'[\s:#$%=\\"\']')


def check_paths(req: RunRequest) -> None:
	"""Refuses, before any work, a cache or build directory kbuild cannot
	build in, and one inside the user's tree (which the runner only reads;
	it would write there, and the next run would find the tree unclean)."""
	dirs = [('--cache', req.cache), ('--build-dir', req.build_dir)]
	for what, path in dirs:
		if path and KBUILD_UNSAFE.search(path):
			raise UsageError(f'{what} {path!r}: kbuild cannot build in a path with white '
					'space or any of : # $ % = \\ " \'')
	if not source.looks_like_path(req.kernel):
		return
	user = os.path.realpath(req.kernel)
	for what, path in dirs:
		if path and is_inside(os.path.realpath(path), user):
			raise UsageError(f'{what} {path}: inside --kernel {req.kernel}, which the '
					'runner only reads')


def suite_files(patch: Patch) -> List[str]:
	"""The suite's own files (what the runner overlays) that patch edits."""
	ours = set(tree.overlay_files())
	return [rel for rel in patch.paths() if rel in ours]


def check_suite_edits(patches: List[Patch], allowed: bool) -> None:
	"""A patch under test that also edits the suite would judge itself:
	refused unless allowed, and then said wherever the patch is named."""
	for patch in patches:
		files = suite_files(patch)
		if files and not allowed:
			raise PatchError(f'patch {patch.label} edits the suite itself '
					f'({", ".join(files)}); refused (--allow-suite-edits judges it '
					'anyway, and says so in the verdict)')


def patch_meta(patch: Patch) -> Dict[str, Any]:
	meta: Dict[str, Any] = {'name': patch.name, 'subject': patch.subject,
				'sha256': patch.sha256}
	if patch.message_id:
		meta['message_id'] = patch.message_id
	files = suite_files(patch)
	if files:
		meta['edits_suite'] = files
	return meta


def check_space(req: RunRequest, warm: bool) -> None:
	st = os.statvfs(req.cache)
	free = st.f_bavail * st.f_frsize
	need = WARM_SPACE if warm else COLD_SPACE
	if free < need:
		raise HostError(f'cache directory {req.cache} has {free >> 20} MiB free; '
				f'this run needs about {need >> 20} MiB')


def metadata(req: RunRequest, src: source.Source, policy: str,
	     patches: List[Patch], fuzz: List[str],
	     generation: Optional[str] = None) -> results.RunMeta:
	return results.RunMeta(
		kernel=src.label, arch=req.arch, patches=[patch_meta(p) for p in patches],
		package=src.package, version=src.version, commit=src.commit,
		generation=generation or src.generation, policy=policy, fuzz=fuzz,
		host=platform.node(), debug=req.debug, kconfig=list(req.kconfig), repeat=req.repeat,
		series=[t.as_json() for t in req.threads], sandbox=mode_of(req).value)


def mode_of(req: RunRequest) -> sandbox.Mode:
	return sandbox.Mode.TRUSTED if req.trusted else sandbox.Mode.SANDBOXED


# A boot with no complete result after HANG_FACTOR times the tree's own
# measured boot has hung (a patch that deadlocks, a mutant that loops):
# the boot is stopped there, never before the floor, and the verdict says
# so. Before any boot of the build directory is measured, kunit.py's own
# default applies.
HANG_FACTOR = 10
HANG_FLOOR = 60
HANG_FLOOR_DEBUG = 300
FIRST_BOOT = 300
FIRST_BOOT_DEBUG = 600
BOOT_RECORD = '.slub-kunit-boot.json'
# How a hang begins in an outcome's problems.
HUNG = 'the kernel hung'


def boot_record(build_dir: str) -> Dict[str, Any]:
	try:
		with open(os.path.join(build_dir, BOOT_RECORD)) as f:
			data = json.load(f)
	except (OSError, ValueError):
		return {}
	return data if isinstance(data, dict) else {}


def measured_boot(build_dir: str, req: RunRequest) -> Optional[float]:
	"""The last passing boot of this build directory with this --repeat,
	in seconds; None if there was none."""
	value = boot_record(build_dir).get(f'repeat={req.repeat}')
	return float(value) if isinstance(value, (int, float)) and value > 0 else None


def passed_lately(build_dir: str, within: float) -> bool:
	"""Whether a kernel of this build directory passed on this host in
	the last within seconds."""
	when = boot_record(build_dir).get('passed_at')
	return isinstance(when, (int, float)) and 0 <= time.time() - when <= within


def record_boot(build_dir: str, req: RunRequest, seconds: float) -> None:
	path = os.path.join(build_dir, BOOT_RECORD)
	data = boot_record(build_dir)
	data[f'repeat={req.repeat}'] = round(seconds, 1)
	data['passed_at'] = int(time.time())
	try:
		atomic_write(path, json.dumps(data) + '\n')
	except OSError:
		pass	# only a measurement


def hang_timeout(build_dir: str, req: RunRequest) -> int:
	measured = measured_boot(build_dir, req)
	if measured is None:
		return FIRST_BOOT_DEBUG if req.debug else FIRST_BOOT
	least = HANG_FLOOR_DEBUG if req.debug else HANG_FLOOR
	return int(max(least, HANG_FACTOR * measured + 0.5))


def why_timeout(build_dir: str, req: RunRequest, timeout: int) -> str:
	measured = measured_boot(build_dir, req)
	if measured is None:
		return 'no boot of this build measured yet: kunit.py\'s default'
	return f'{HANG_FACTOR}x this build\'s measured boot of {measured:.1f} s, at least ' \
	       f'{HANG_FLOOR_DEBUG if req.debug else HANG_FLOOR} s'


def boot(req: RunRequest, build: Build, stages: Stages, policy: str,
	 stage: str = 'boot and run', again: bool = True
	 ) -> Tuple[results.Outcome, Optional[Dict[str, Any]]]:
	"""Boots a built kernel and judges the cases and the kernel log; the
	machine's faults are never the kernel's verdict.

	A boot the machine failed (see host_fault()) is tried twice more, then
	raises HostError. A kernel that printed but died before any KTAP
	output is booted once more. With again, so is one that hung or died
	mid-run (a hang with twice the time): the second boot's result
	stands."""
	for attempt in range(HOST_TRIES):
		outcome, raw, fault = boot_once(req, build, stages, policy, stage)
		if fault is None:
			break
		log(f'{stage}: the machine failed the boot, not the kernel: {fault}')
		if attempt + 1 == HOST_TRIES:
			raise HostError(f'{HOST_FAILURE}: {fault} ({HOST_TRIES} boots)')
		time.sleep(HOST_PAUSE * (attempt + 1))
	if not (died_before_ktap(build, outcome) or (again and (crashed(outcome) or hung(outcome)))):
		return outcome, raw
	why = 'hung' if hung(outcome) else 'died'
	log(f'{stage}: the kernel {why}; booted once more before it is blamed')
	timeout = build.timeout
	if hung(outcome):
		build.timeout = 2 * timeout
	try:
		second, raw2, fault = boot_once(req, build, stages, policy, f'{stage}, again')
	finally:
		build.timeout = timeout
	if fault is not None:
		raise HostError(f'{HOST_FAILURE}: {fault}')
	if died(build, second) and not baseline_boots(req, build, stages, policy):
		raise HostError('the kernel without the patches fails on this host too: '
				'no verdict on the patches')
	return second, raw2


# How long a pass of the kernel without patches vouches for this host.
BASELINE_FRESH = 3600


def died(build: Build, out: results.Outcome) -> bool:
	return died_before_ktap(build, out) or crashed(out) or hung(out)


def baseline_boots(req: RunRequest, build: Build, stages: Stages, policy: str) -> bool:
	"""Whether the kernel without the patches (the build directory below
	the overlay) passes on this host: known if it did in the last hour,
	else booted now. True where there is nothing to compare with."""
	if build.overlay is None or passed_lately(build.build_dir, BASELINE_FRESH):
		return True
	if not os.path.exists(os.path.join(build.build_dir, build.spec.image)):
		return True
	overlay, build.overlay = build.overlay, None
	try:
		base, _, fault = boot_once(req, build, stages, policy, 'boot, the kernel without patches')
		return fault is None and not died(build, base)
	finally:
		build.overlay = overlay


# How often a boot the machine failed is tried, and the pause after each.
HOST_TRIES = 3
HOST_PAUSE = 5.0
# How a host failure is told.
HOST_FAILURE = 'the machine failed the boot, not the kernel'
# Linux's banner: the kernel started.
BANNER = re.compile(r'Linux version \d')
QEMU_ERROR = re.compile(r'^qemu-system-\S+: (.*)$', re.M)


def hung(out: results.Outcome) -> bool:
	return any(p.startswith(HUNG) for p in out.problems)


def crashed(out: results.Outcome) -> bool:
	"""kunit.py names a suite that did not finish 'suite.', a run that
	did not ''."""
	return any(f == '' or f.endswith('.') for f in out.failures())


def died_before_ktap(build: Build, out: results.Outcome) -> bool:
	return not out.cases and not hung(out) and bool(BANNER.search(build.kernel_log()))


def read_status(path: str) -> Optional[Dict[str, Any]]:
	data = load_json(path)
	return data if isinstance(data, dict) else None


def host_fault(arch: str, log_text: str, status: Optional[Dict[str, Any]],
	       timed_out: bool) -> Optional[str]:
	"""Why a boot is the machine's failure, not the kernel's; None if it is
	not: QEMU (or UML) never started the kernel, or QEMU was ended by a
	signal that neither kunit.py's timeout nor the runner sent."""
	qemu_said = QEMU_ERROR.search(log_text)
	if status is not None and 'signal' in status and not status.get('passed_on') \
	   and not timed_out:
		return f'QEMU was killed by signal {status["signal"]}, which nobody of the run sent'
	if qemu_said and 'terminating on signal' in qemu_said.group(1) and \
	   not (status or {}).get('passed_on') and not timed_out:
		return f'QEMU was stopped from outside: {qemu_said.group(1)[:160]}'
	if BANNER.search(log_text):
		return None
	if qemu_said:
		return f'QEMU did not start the kernel: {qemu_said.group(1)[:160]}'
	if ARCH_SPECS[arch].qemu and status is None and not timed_out:
		return 'QEMU ended without a word, and so did its front (killed?)'
	return f'the {"UML kernel" if arch == "um" else "kernel"} printed nothing'


def boot_once(req: RunRequest, build: Build, stages: Stages, policy: str, stage: str
	      ) -> Tuple[results.Outcome, Optional[Dict[str, Any]], Optional[str]]:
	"""One boot: the outcome, kunit.py's JSON, and the machine's fault if
	it was one."""
	scratch = os.path.join(req.cache, 'tmp')
	os.makedirs(scratch, exist_ok=True)
	with tempfile.TemporaryDirectory(prefix='boot-', dir=scratch) as tmp:
		json_tmp = os.path.join(tmp, 'result.json')
		with stages.stage(stage):
			start = time.monotonic()
			code = build.exec(json_tmp, [f'slub_hotplug_kunit.policy={policy}'] +
					  req.kernel_args)
			took = time.monotonic() - start
		raw = load_json(json_tmp)
		status = read_status(qemu_status_path(json_tmp))
	outcome = results.outcome(raw, code, expected_suites(build))
	kernel_log = build.kernel_log()
	timed_out = took >= build.timeout - 1
	complete = raw is not None and not outcome.problems
	if not complete:
		fault = host_fault(req.arch, kernel_log, status, timed_out)
		if fault:
			return outcome, raw, fault
	if timed_out and not complete:
		outcome.problems.insert(0, f'{HUNG}: no complete result after '
					f'{build.timeout} s ({why_timeout(build.output_dir(), req, build.timeout)})')
	elif outcome.ok:
		record_boot(build.output_dir(), req, took)
		build.timeout = hang_timeout(build.output_dir(), req)
	for line in results.repeat_differences(outcome)[:5]:
		outcome.problems.append(f'not repeatable in one boot: {line}')
	for line in results.splats(kernel_log)[:5]:
		outcome.problems.append(f'kernel log: {line}')
	return outcome, raw, None


@dataclass
class Session:
	"""A kernel and arch whose work tree and build directory this command
	holds until the session ends."""
	req: RunRequest
	src: source.Source
	build: Build
	stages: Stages
	work: str = ''
	fuzz: List[str] = field(default_factory=list)
	# Called with the overlay once the session makes one (session()
	# removes it at the end).
	on_overlay: Optional[Any] = None
	# Whether a kernel that hung or died mid-run is booted once more before
	# it is blamed (mutate has a rule of its own for crashes).
	again: bool = True

	@property
	def generation(self) -> str:
		"""The work tree's, once prepared (patches may move the slab to
		another notifier), else the pristine tree's; what the suite's C
		decides from the same mm/slub.c."""
		return source.generation_of(self.work or self.src.path)

	@property
	def policy(self) -> str:
		return self.req.policy or source.default_policy(self.generation)

	@property
	def mode(self) -> sandbox.Mode:
		return self.build.mode

	def untrusted(self, patches: List[Patch]) -> None:
		"""From the first patch on, what the tree's code writes goes to an
		overlay over the build directory, thrown away with the session,
		and ccache is only read: a later verdict is never built from it."""
		if self.build.trusted or not patches:
			return
		self.build.ccache_writable = False
		if self.build.overlay is None:
			overlay = sandbox.Overlay(lower=self.build.build_dir,
						  root=overlay_root(self.req.cache, self.build.build_dir))
			overlay.create()
			record = os.path.join(self.build.build_dir, BOOT_RECORD)
			if os.path.exists(record):
				with open(record) as f:
					atomic_write(os.path.join(overlay.upper, BOOT_RECORD), f.read())
			self.build.overlay = overlay
			if self.on_overlay:
				self.on_overlay(overlay)

	def warm_first(self, patches: List[Patch]) -> None:
		"""Before the first build of patches in a sandbox, the tree without
		them is built where the overlay will lie, if nothing is there yet:
		later runs of other patches then start warm."""
		if self.build.trusted or not patches or \
		   os.path.exists(os.path.join(self.build.build_dir, 'vmlinux')):
			return
		log('building the tree without the patches first: the warm build directory '
		    'is only ever written by it')
		self.prepare([])
		self.build_kernel()

	def prepare(self, patches: List[Patch], edits: Optional[Dict[str, str]] = None) -> None:
		self.untrusted(patches)
		with self.stages.stage('prepare'):
			wt = tree.prepare(self.src.path, self.src.label,
					  os.path.join(self.req.cache, 'work'), self.src.key, patches,
					  edits=edits, reuse=self.src.package is not None or
					  self.src.commit is not None, unpack_id=self.src.unpack_id)
		self.work, self.fuzz = wt.path, wt.fuzz
		self.build.tree = wt.path
		for note in wt.fuzz:
			log(f'warning: applied with fuzz: {note}')

	def build_kernel(self) -> None:
		with self.stages.stage('configure'):
			tree.write_tree_header(self.work)
			self.build.config()
		with self.stages.stage('build'):
			self.build.build()

	def boot(self, policy: Optional[str] = None, stage: str = 'boot and run'
		 ) -> Tuple[results.Outcome, Optional[Dict[str, Any]]]:
		return boot(self.req, self.build, self.stages, policy or self.policy, stage,
			    self.again)

	def build_and_boot(self) -> Tuple[results.Outcome, Optional[Dict[str, Any]]]:
		self.build_kernel()
		return self.boot()


@contextmanager
def session(req: RunRequest, stages: Stages) -> Iterator[Session]:
	"""Fetches the kernel and holds its work tree and build directory."""
	if req.arch not in ARCHES:
		raise UsageError(f'--arch {req.arch}: expected one of {", ".join(ARCHES)}')
	check_paths(req)
	check_suite_edits(req.patches, req.allow_suite_edits)
	writable_dir(req.cache, 'cache directory')
	if req.build_dir:
		writable_dir(req.build_dir, '--build-dir')
	host.ensure_packages([req.arch])
	src = source.get_source(req.kernel, req.cache, stages, req.commit)
	build_dir = build_dir_for(req, src)
	check_space(req, warm=os.path.isdir(os.path.join(req.cache, 'work', src.key)) and
		    os.path.exists(os.path.join(build_dir, 'vmlinux')))
	if req.distcc:
		host.ensure_commands({'distcc': 'distcc'})
	if not req.trusted:
		host.ensure_commands({'bwrap': 'bubblewrap', '/usr/bin/python3': 'python3'})
	# Only a Debian tree without patches adds to ccache from a sandbox.
	build = Build(tree='', arch=req.arch, cache_dir=req.cache, jobs=req.jobs, distcc=req.distcc,
		      build_dir=build_dir, kconfig_add=req.kconfig_add(),
		      timeout=hang_timeout(build_dir, req), trusted=req.trusted,
		      ccache_writable=req.trusted or src.package is not None)
	with ExitStack() as locks:
		# Always the work tree first, then the build directory.
		locks.enter_context(CacheLock(req.cache, f'work-{src.key}'))
		locks.enter_context(CacheLock(req.cache, f'build-{safe_name(build_dir)}'))
		remove_overlays(req.cache, build_dir)	# of a run that was killed
		log(f'the tree\'s code runs {build.mode.value}')
		s = Session(req=req, src=src, build=build, stages=stages,
			    on_overlay=lambda o: locks.callback(o.remove))
		yield s


def overlay_root(cache: str, build_dir: str) -> str:
	return os.path.join(cache, 'sandbox', f'{safe_name(build_dir)}.{os.getpid()}')


def remove_overlays(cache: str, build_dir: str) -> None:
	"""Overlays of build_dir that a killed run left (its lock is ours)."""
	top = os.path.join(cache, 'sandbox')
	prefix = safe_name(build_dir) + '.'
	try:
		names = os.listdir(top)
	except OSError:
		return
	for name in names:
		if name.startswith(prefix):
			sandbox.Overlay(lower=build_dir, root=os.path.join(top, name)).remove()


def writable_dir(path: str, what: str) -> None:
	"""Creates path if needed; one line and exit 3 if it cannot be written."""
	try:
		os.makedirs(path, exist_ok=True)
	except OSError as e:
		raise HostError(f'{what} {path}: {e.strerror}')
	if not os.access(path, os.W_OK):
		raise HostError(f'{what} {path} is not writable')


def write_outputs(req: RunRequest, raw: Optional[Dict[str, Any]],
		  outcome: results.Outcome, meta: results.RunMeta) -> None:
	if req.json_path:
		results.write_json(req.json_path, raw, meta)
	if req.junit_path:
		results.write_junit(req.junit_path, outcome, meta)


def run_suite(req: RunRequest, second_boot: bool = False) -> RunResult:
	"""Fetch, prepare, build and run; never raises for failing cases. With
	second_boot, a kernel whose run passed is booted once more (same
	session, so the same kernel) and every case that changed is listed."""
	stages = Stages()
	meta = results.RunMeta(kernel=req.kernel, arch=req.arch,
			       patches=[patch_meta(p) for p in req.patches], sandbox=mode_of(req).value)
	try:
		with session(req, stages) as s:
			meta = metadata(req, s.src, s.policy, req.patches, [])
			s.warm_first(req.patches)
			s.prepare(req.patches)
			meta.fuzz, meta.generation, meta.policy = s.fuzz, s.generation, s.policy
			log(f'kernel {s.src.label} ({s.generation} generation), arch {req.arch}, '
			    f'policy {s.policy}, patches: '
			    f'{", ".join(p.name for p in req.patches) or "none"}')
			outcome, raw = s.build_and_boot()
			res = RunResult(req=req, outcome=outcome, meta=meta, stages=stages, raw=raw,
					build=s.build)
			if second_boot and outcome.ok:
				again, _ = s.boot(stage='second boot')
				res.flaky = results.differences(outcome, again)
				res.flaky += [f'second boot: {p}' for p in again.problems]
	except (UserError, OSError) as err:
		# No result, but the outputs say why: a patch, the tree, or the
		# machine (exit 3), never a verdict made up.
		code = err.code if isinstance(err, UserError) else Exit.SETUP
		meta.error = {'exit': int(code), 'message': str(err)}
		if not isinstance(err, UsageError):
			write_outputs(req, None, results.Outcome(), meta)
		raise
	write_outputs(req, raw, outcome, meta)
	return res


def report(res: RunResult) -> None:
	print('Stages:')
	print(res.stages.table())
	for note in res.meta.fuzz:
		print(f'WARNING: applied with fuzz: {note}')
	for problem in res.outcome.problems:
		print(f'FAILURE: {problem}')
	for name in res.outcome.failures():
		print(f'FAILED: {name}')
