# SPDX-License-Identifier: GPL-2.0
"""Drives the tree's own tools/testing/kunit/kunit.py, one stage at a time
(config, build, exec), and reads back its --json result.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, TextIO

from slub_kunit import host, procs
from slub_kunit.common import (BuildError, HostError, NotJudged, REPO, atomic_write, is_inside,
				    safe_name)
from slub_kunit.kernel import results, sandbox

QEMU_CONFIG = 'tools/testing/kunit/qemu_configs/x86_64_slub_numa.py'
PPC_QEMU_CONFIG = 'tools/testing/kunit/qemu_configs/ppc64le_slub_numa.py'


@dataclass(frozen=True)
class Arch:
	"""How the runner builds and boots for one of its --arch names."""
	kunit_arch: str			# kunit.py's --arch
	qemu_config: Optional[str]	# the machine, relative to the tree
	qemu: Optional[str]		# the QEMU the front wraps; None under UML
	image: str			# what the build leaves to boot
	cross_compile: Optional[str] = None


ARCH_SPECS: Dict[str, Arch] = {
	'x86_64': Arch('x86_64', QEMU_CONFIG, 'qemu-system-x86_64', 'arch/x86/boot/bzImage'),
	'um': Arch('um', None, None, 'linux'),
	# pseries, cross-compiled: powerpc's HAVE_MEMORYLESS_NODES and a
	# possible node that is never online are real there.
	'ppc64le': Arch('powerpc', PPC_QEMU_CONFIG, 'qemu-system-ppc64', 'vmlinux',
			'powerpc64le-linux-gnu-'),
}
ARCHES = tuple(ARCH_SPECS)
# What test runs unless told: the arches of every CI run.
TEST_ARCHES = ('x86_64', 'um')


def distcc_env(hosts: str, cache_dir: str) -> Dict[str, str]:
	"""How ccache hands its misses to distcc. A host that is down or
	refuses a job costs a local compile, never the build (DISTCC_FALLBACK),
	and is left alone for a minute after (distcc's backoff)."""
	state = os.path.join(cache_dir, 'distcc')
	os.makedirs(state, exist_ok=True)	# distcc runs locally without it
	return {'CCACHE_PREFIX': 'distcc', 'DISTCC_HOSTS': hosts,
		'DISTCC_DIR': state, 'DISTCC_FALLBACK': '1',
		'DISTCC_BACKOFF_PERIOD': '60'}


def distcc_slots(hosts: str) -> int:
	"""The compile slots a DISTCC_HOSTS list offers: each host's /LIMIT,
	else distcc's defaults (2 for localhost, 4 for others)."""
	total = 0
	for spec in hosts.split():
		if spec.startswith('-') or spec.startswith('+'):
			continue
		m = re.search(r'/(\d+)', spec)
		name = re.split(r'[:/,]', spec, maxsplit=1)[0]
		total += int(m.group(1)) if m else (2 if name == 'localhost' else 4)
	return total


@dataclass
class Build:
	"""One kernel tree built for one arch in one build directory."""
	tree: str
	build_dir: str
	arch: str
	cache_dir: str
	jobs: int = os.cpu_count() or 1
	kunitconfig: str = os.path.join(REPO, '.kunitconfig')
	kconfig_add: List[str] = field(default_factory=list)
	timeout: int = 300
	# The QEMU machine, relative to the tree; '' for the arch's own.
	qemu_config: Optional[str] = ''
	# distcc's host list (DISTCC_HOSTS); None compiles here only.
	distcc: Optional[str] = None
	# --trusted: the tree's code runs as the runner does, unsandboxed.
	trusted: bool = False
	# The build directory as an overlay thrown away after the session
	# (a tree with patches); None writes it.
	overlay: Optional[sandbox.Overlay] = None
	# Whether the tree's builds may add to ccache (a Debian tree without
	# patches); untrusted ones only read it.
	ccache_writable: bool = True

	@property
	def mode(self) -> sandbox.Mode:
		return sandbox.Mode.TRUSTED if self.trusted else sandbox.Mode.SANDBOXED

	def output_dir(self) -> str:
		"""Where what the tree's commands write to the build directory is
		read back: the overlay's upper layer, when there is one."""
		return self.overlay.upper if self.overlay else self.build_dir

	def config_has(self, option: str) -> bool:
		"""Whether the built .config sets @option to y (the overlay's, if
		the build wrote one there)."""
		for where in dict.fromkeys((self.output_dir(), self.build_dir)):
			try:
				with open(os.path.join(where, '.config')) as f:
					return f'\n{option}=y\n' in '\n' + f.read()
			except OSError:
				continue
		return False

	def ccache_dir(self) -> str:
		return (os.environ.get('SLUB_KUNIT_CCACHE_DIR') or
			os.path.join(self.cache_dir, 'ccache'))

	@property
	def spec(self) -> Arch:
		return ARCH_SPECS[self.arch]

	def machine(self) -> Optional[str]:
		"""The QEMU machine's file, relative to the tree (None: UML)."""
		if self.spec.qemu is None:
			return None
		return self.qemu_config if self.qemu_config != '' else self.spec.qemu_config

	def front(self) -> Optional[host.Front]:
		"""The QEMU front (None under UML)."""
		if self.spec.qemu is None:
			return None
		return host.qemu_front(os.path.join(self.cache_dir, 'bin'), self.spec.qemu)

	def own_env(self) -> Dict[str, str]:
		"""What the runner sets for the tree's commands."""
		env = {'PYTHONDONTWRITEBYTECODE': '1', 'CCACHE_DIR': self.ccache_dir(),
		       'CCACHE_MAXSIZE': os.environ.get('CCACHE_MAXSIZE', '8G'),
		       'CCACHE_BASEDIR': os.environ.get('CCACHE_BASEDIR', self.cache_dir)}
		if not self.trusted and not self.ccache_writable:
			env.update({'CCACHE_READONLY': '1', 'CCACHE_NOSTATS': '1'})
		if self.distcc:
			env.update(distcc_env(self.distcc, self.cache_dir))
		return env

	def env(self) -> Dict[str, str]:
		"""The unsandboxed (--trusted) environment: the caller's, plus the
		runner's."""
		env = dict(os.environ)
		env.update(self.own_env())
		front = self.front()
		if front:
			env['PATH'] = front.dir + os.pathsep + env.get('PATH', '')
		return env

	def sandbox(self, writable: List[str], front: Optional[host.Front]) -> sandbox.Sandbox:
		"""What a command of the tree may see: the tree read-only, the
		build directory (or its overlay), ccache as the trust allows, the
		QEMU front, and writable, the run's result directory."""
		ccache = self.ccache_dir()
		os.makedirs(ccache, exist_ok=True)
		os.makedirs(self.build_dir, exist_ok=True)
		readable = [self.tree, self.kunitconfig]
		if front:
			readable.append(front.dir)
			# A QEMU of the caller's outside the system (its own build)
			qemu_dir = os.path.dirname(front.qemu)
			if not any(is_inside(qemu_dir, d) for d in sandbox.SYSTEM_DIRS):
				readable.append(qemu_dir)
		machine = self.machine()
		if machine and os.path.isabs(machine):
			readable.append(machine)	# a machine from outside the tree
		rw = [self.build_dir] + writable
		if self.distcc:
			rw.append(os.path.join(self.cache_dir, 'distcc'))
		(rw if self.ccache_writable else readable).append(ccache)
		return sandbox.Sandbox(readable=readable, writable=rw, overlay=self.overlay,
				       network=bool(self.distcc))

	def common(self) -> List[str]:
		args = ['--build_dir', self.build_dir, '--arch', self.spec.kunit_arch]
		machine = self.machine()
		if machine:
			args += ['--qemu_config', os.path.join(self.tree, machine)]
		if self.spec.cross_compile:
			args += ['--cross_compile', self.spec.cross_compile]
		return args

	def make_options(self) -> List[str]:
		args = []
		if shutil.which('ccache'):
			args += ['--make_options', f'CC=ccache {self.spec.cross_compile or ""}gcc']
		return args

	def kunit(self, sub: str, args: List[str], capture: bool = False,
		  ccache: bool = True, writable: Optional[List[str]] = None,
		  extra_env: Optional[Dict[str, str]] = None) -> subprocess.CompletedProcess:
		"""The tree's kunit.py SUB, sandboxed unless trusted; writable are
		the directories besides the build directory it may write."""
		kunit_py = os.path.join(self.tree, 'tools/testing/kunit/kunit.py')
		extra = dict(extra_env or {})
		# ccache stays in front of distcc: its misses go out through
		# CCACHE_PREFIX, which a disabled ccache would not use.
		if not ccache and not self.distcc:
			extra['CCACHE_DISABLE'] = '1'
		if self.trusted:
			cmd = [sys.executable, kunit_py, sub] + self.common() + args
			env = dict(self.env(), **extra)
		else:
			front = self.front()
			box = self.sandbox(writable or [], front)
			cmd = box.argv([sandbox.PYTHON, kunit_py, sub] + self.common() + args,
				       self.tree)
			env = sandbox.environment(dict(self.own_env(), **extra),
						  front.dir if front else None)
			name = f'{sandbox.PREFIX}{os.getpid()}-{safe_name(self.build_dir)}'
			groups = sandbox.Cgroups(name)
			box.cgroups = groups.make()
		try:
			return procs.run(cmd, cwd=self.tree, env=env, text=True,
					 errors='backslashreplace',
					 stdout=subprocess.PIPE if capture else None,
					 stderr=subprocess.STDOUT if capture else None)
		finally:
			if not self.trusted:
				groups.remove()

	def config(self) -> None:
		os.makedirs(os.path.dirname(self.build_dir), exist_ok=True)
		args = ['--kunitconfig', self.kunitconfig] + self.make_options()
		for opt in self.kconfig_add:
			args += ['--kconfig_add', opt]
		# Not with an empty ccache either: the compiler probes would
		# leave results in it, and ccache_pays() then say yes.
		res = self.kunit('config', args, capture=True, ccache=self.ccache_pays())
		if res.returncode != 0:
			print(res.stdout)
			self.machine_failed(res.stdout, 'configuration')
			raise BuildError(f'kunit.py config failed for {self.arch}')

	def machine_failed(self, output: str, what: str) -> None:
		"""HostError if output says the machine failed (disk, memory, a
		killed compiler, a sandbox that could not be set up: what the
		helper or bwrap say before anything of the tree runs), not the
		tree."""
		if output.lstrip().startswith(SANDBOX_FAILURE):
			raise HostError(f'the sandbox could not be set up for the {self.arch} {what}: '
					f'{output.strip().splitlines()[0][:200]}')
		machine = MACHINE_FAILURE.search(output)
		if machine:
			raise HostError(f'the machine failed the {self.arch} {what}, not the tree: '
					f'{machine.group(0).strip()[:200]}')

	def ccache_pays(self) -> bool:
		"""Whether ccache can save anything on this build.

		A cache miss costs about 40 % more than plain gcc here (ccache hashes
		every header and runs the preprocessor), so a cold build with an
		empty ccache runs with CCACHE_DISABLE: the compiler command, and so
		kbuild's view of it, stays 'ccache gcc' for later builds, which
		populate the cache and hit it when mutate or validate restores a
		file.
		"""
		if os.path.exists(os.path.join(self.build_dir, 'vmlinux')):
			return True
		return ccache_has_results(self.ccache_dir())

	def build(self) -> None:
		args = ['--kunitconfig', self.kunitconfig, '--jobs', str(self.jobs)]
		args += self.make_options()
		for opt in self.kconfig_add:
			args += ['--kconfig_add', opt]
		with BuildProgress(self.output_dir(), record=self.overlay is None) as progress:
			res = self.kunit('build', args, capture=True, ccache=self.ccache_pays())
		if res.returncode == 0:
			progress.record()
			return
		print(res.stdout[-20000:])
		self.machine_failed(res.stdout, 'build')
		suite_error = suite_only_error(res.stdout)
		if suite_error:
			raise NotJudged('not judged: the suite does not compile against this tree: '
					f'{suite_error}')
		raise BuildError(f'kunit.py build failed for {self.arch} (errors above)')

	def exec(self, json_path: str, kernel_args: List[str],
		 filter_glob: Optional[str] = None, raw: bool = False) -> int:
		"""Boots the built kernel; kunit.py writes its JSON result to
		json_path, and the QEMU front how QEMU ended to qemu_status_path()
		beside it."""
		args = [f'--json={json_path}', f'--timeout={self.timeout}']
		# Timestamps, so that the time the suites took can be read off.
		for arg in ['printk.time=1'] + kernel_args:
			args += ['--kernel_args', arg]
		if raw:
			args += ['--raw_output=all']
		if filter_glob:
			args.append(filter_glob)
		status = qemu_status_path(json_path)
		for path in (json_path, status):
			if os.path.exists(path):
				os.unlink(path)
		return self.kunit('exec', args, writable=[os.path.dirname(json_path)],
				  extra_env={host.QEMU_STATUS_ENV: status}).returncode


	def kernel_log(self) -> str:
		"""What the kernel printed in the last exec (kunit.py keeps it)."""
		try:
			with open(os.path.join(self.output_dir(), 'test.log'), errors='replace') as f:
				return f.read()
		except OSError:
			return ''


def qemu_status_path(json_path: str) -> str:
	return os.path.join(os.path.dirname(json_path), 'qemu-status.json')


# Where a build directory remembers how many objects its last full build
# compiled: what the next one can be measured against.
OBJECTS_FILE = '.slub-kunit-objects'


# A build that failed for want of disk or memory, or whose compiler was
# killed: the machine's failure, not the tree's.
MACHINE_FAILURE = re.compile(r'^.*(?:No space left on device|Cannot allocate memory|'
			     r'virtual memory exhausted|out of memory|'
			     r'Killed signal terminated program|internal compiler error: '
			     r'Killed).*$', re.M)

# What the sandbox's helper and bwrap print when they cannot set it up.
SANDBOX_FAILURE = ('slub-kunit sandbox:', 'bwrap:')

# The suite's own C files: an error only there means the tree lacks or
# changed what the suite reads, not that the kernel is broken.
SUITE_SOURCES = re.compile(r'(?:^|/)(?:slub_kunit\w*\.[ch]|mm_kunit_helpers\.[ch])$')
COMPILER_ERROR = re.compile(r'^(\S+?):\d+(?::\d+)?: (?:fatal )?error: (.*)$', re.M)


def suite_only_error(output: str) -> Optional[str]:
	"""The first compiler error, if every error of a failed build is in
	the suite's own files; None if any is elsewhere, or none was found."""
	errors = COMPILER_ERROR.findall(output)
	if not errors or not all(SUITE_SOURCES.search(path) for path, _ in errors):
		return None
	path, message = errors[0]
	return f'{os.path.basename(path)}: {message}'[:300]


def objects_since(build_dir: str, since: float) -> int:
	"""Object files below build_dir written at or after since."""
	n = 0
	try:
		with os.scandir(build_dir) as it:
			for entry in it:
				if entry.is_dir(follow_symlinks=False):
					n += objects_since(entry.path, since)
				elif entry.name.endswith('.o'):
					try:
						n += entry.stat(follow_symlinks=False).st_mtime >= since
					except OSError:
						pass
	except OSError:
		pass
	return n


def minutes(seconds: float) -> str:
	m, s = divmod(int(seconds), 60)
	return f'{m} min {s:02d} s' if m else f'{s} s'


class BuildProgress:
	"""How far a build is, while kunit.py builds in silence.

	On a terminal, one line that updates every second: objects compiled,
	out of what the last full build of that directory compiled when known,
	and the time so far. Elsewhere (a CI log) the same at most every 30 s.
	"""

	def __init__(self, build_dir: str, out: TextIO = sys.stdout,
		     tty: Optional[bool] = None, period: Optional[float] = None,
		     record: bool = True) -> None:
		self.build_dir = build_dir
		self.recording = record
		self.out = out
		self.tty = out.isatty() if tty is None else tty
		self.period = period if period is not None else (1.0 if self.tty else 30.0)
		self.full = not os.path.exists(os.path.join(build_dir, 'vmlinux'))
		self.expected = self.read_expected()
		self.stop = threading.Event()
		self.thread = threading.Thread(target=self.loop, daemon=True)
		self.start = 0.0

	def read_expected(self) -> Optional[int]:
		try:
			with open(os.path.join(self.build_dir, OBJECTS_FILE)) as f:
				return int(f.read().split()[0])
		except (OSError, ValueError, IndexError):
			return None

	def line(self) -> str:
		done = objects_since(self.build_dir, self.start)
		took = minutes(time.time() - self.start)
		if self.expected:
			return f'[slub-kunit] build: {done} of ~{self.expected} objects, {took}'
		return f'[slub-kunit] build: {done} objects, {took}'

	def loop(self) -> None:
		while not self.stop.wait(self.period):
			if self.tty:
				self.out.write('\r' + self.line().ljust(60))
			else:
				self.out.write(self.line() + '\n')
			self.out.flush()

	def __enter__(self) -> 'BuildProgress':
		self.start = time.time() - 1	# mtimes have a coarse grain
		self.thread.start()
		return self

	def __exit__(self, *exc: Any) -> None:
		self.stop.set()
		self.thread.join()
		if self.tty:
			self.out.write('\r' + ' ' * 60 + '\r')
			self.out.flush()

	def record(self) -> None:
		"""After a full build that succeeded: what the next one expects."""
		if self.full and self.recording:
			atomic_write(os.path.join(self.build_dir, OBJECTS_FILE),
				     f'{objects_since(self.build_dir, self.start)}\n')


# 'make olddefconfig' alone leaves a few dozen results (kconfig's compiler
# probes); a kernel build leaves well over a thousand.
CCACHE_WORTH = 200


def ccache_has_results(ccache: str, at_least: int = CCACHE_WORTH) -> bool:
	"""Whether a ccache directory holds at_least compile results.

	Results live two levels down (0/a/...R); the first level also holds
	'stats' files.
	"""
	found = 0
	for top in '0123456789abcdef':
		try:
			with os.scandir(os.path.join(ccache, top)) as subs:
				for sub in subs:
					if sub.is_dir():
						found += sum(1 for n in os.listdir(sub.path)
							     if n.endswith('R'))
		except OSError:
			continue
		if found >= at_least:
			return True
	return False


def suite_run_time(log: str) -> Optional[float]:
	"""Seconds from the first KTAP line to the last top-level result."""
	start = end = None
	for line in log.splitlines():
		m = results.STAMP.match(line)
		if not m:
			continue
		rest = line[m.end():]
		if start is None and re.match(r'K?TAP version', rest):
			start = float(m.group(1))
		elif start is not None and re.match(r'(not )?ok \d+ ', rest):
			end = float(m.group(1))
	return end - start if start is not None and end is not None else None


def load_json(path: str) -> Optional[Dict[str, Any]]:
	try:
		with open(path) as f:
			return json.load(f)
	except (OSError, ValueError):
		return None
