# SPDX-License-Identifier: GPL-2.0
"""Runs a kernel tree's own code in a sandbox: bubblewrap (bwrap).

Building and booting a tree runs its code: kunit.py, make and its
Makefiles' $(shell ...), Kconfig's $(shell,...), scripts/, a UML kernel,
QEMU on the tree's image. A patch from the list is such code. Inside the
sandbox:

- no network (a network namespace of its own), unless --distcc asks for
  the compile hosts;
- the system read-only (/usr and /etc, its secrets masked), no home
  directory, no other user's files: only the paths named here exist;
- the environment reduced to what the build needs (PATH, the locale,
  TMPDIR and the ccache, distcc and kbuild variables): no token of the
  caller's;
- its own /tmp, /dev and /proc, its own user, PID, IPC and UTS
  namespaces, no capabilities (an empty bounding set), a session of its
  own (no terminal to push input into);
- limits on its processes, open files and core dumps, and a cgroup
  (processes and memory) where the host lets the runner make one;
- write access only to the build directory and to the run's result
  directory; the work tree is read-only.

A hostile build must not change a later verdict: when the tree carries
patches, the build directory is an overlay (overlayfs, mounted in a
mount namespace of the command's own by a small helper before bwrap
starts) whose upper layer lives beside it for one session and is thrown
away after: the warm build directory below is written only by builds of
a tree without patches. ccache is read-only to untrusted builds.
"""

import enum
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional

# The system the sandbox sees, read-only.
SYSTEM_DIRS = ('/usr', '/etc')
# Secrets under /etc that root may read: masked.
MASKED = ('/etc/shadow', '/etc/gshadow', '/etc/shadow-', '/etc/gshadow-', '/etc/ssh',
	  '/etc/ssl/private', '/etc/sudoers', '/etc/sudoers.d', '/etc/security/opasswd')
# The caller's variables a build may see, besides those the runner sets.
PASSED = ('KBUILD_BUILD_TIMESTAMP', 'KBUILD_BUILD_USER', 'KBUILD_BUILD_HOST',
	  'KBUILD_BUILD_VERSION', 'SLUB_KUNIT_KVM')
SYSTEM_PATH = '/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin'
# The interpreter that runs the tree's kunit.py inside: Debian's.
PYTHON = '/usr/bin/python3'

# Per-process limits: processes of the (root) user are not counted
# against RLIMIT_NPROC, so the cgroup below bounds those where it can.
NOFILE = 65536
PIDS_MAX = 4096
# The memory a sandboxed command may use in all (its cgroup), a part of
# the machine's: QEMU's guest and a kernel build fit well below it.
MEMORY_SHARE = 0.75


class Mode(str, enum.Enum):
	"""How the tree's code was run: every output says which."""
	SANDBOXED = 'sandboxed'
	TRUSTED = 'trusted (no sandbox, --trusted)'


@dataclass
class Overlay:
	"""The build directory as an overlay: lower is the warm directory, what
	the command writes goes to upper (thrown away with the session)."""
	lower: str
	root: str	# holds upper/ and work/, beside the cache's build directories

	@property
	def upper(self) -> str:
		return os.path.join(self.root, 'upper')

	@property
	def work(self) -> str:
		return os.path.join(self.root, 'work')

	def create(self) -> None:
		os.makedirs(self.upper, exist_ok=True)
		os.makedirs(self.work, exist_ok=True)

	def remove(self) -> None:
		shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class Sandbox:
	"""What one sandboxed command may see and write, besides the system."""
	readable: List[str] = field(default_factory=list)
	writable: List[str] = field(default_factory=list)
	overlay: Optional[Overlay] = None
	network: bool = False
	cgroups: List[str] = field(default_factory=list)	# the command's own (Cgroups)

	def argv(self, cmd: List[str], cwd: str) -> List[str]:
		"""cmd run in the sandbox: the helper (overlay, cgroup, limits),
		then bwrap."""
		helper = [sys.executable, '-I', '-S', '-c', HELPER,
			  self.overlay.lower if self.overlay else '',
			  self.overlay.upper if self.overlay else '',
			  self.overlay.work if self.overlay else '',
			  ','.join(self.cgroups), '--']
		return helper + bwrap_argv(self, cwd) + ['--'] + cmd


def bwrap_argv(box: Sandbox, cwd: str) -> List[str]:
	# A user namespace of its own, as the caller's uid: bwrap run by root
	# otherwise leaves the bounding set full, every exec then "gains"
	# capabilities that no_new_privs takes away again, and the kernel
	# clears ADDR_NO_RANDOMIZE on the way, so a UML kernel (7.x) that
	# re-executes itself without ASLR loops for ever, printing nothing.
	args = ['bwrap', '--die-with-parent', '--new-session',
		'--unshare-user', '--uid', str(os.getuid()), '--gid', str(os.getgid()),
		'--cap-drop', 'ALL',
		'--unshare-ipc', '--unshare-pid', '--unshare-uts', '--unshare-cgroup-try']
	if not box.network:
		args.append('--unshare-net')
	for d in SYSTEM_DIRS:
		args += ['--ro-bind', d, d]
	for name in sorted(os.listdir('/')):
		target = os.path.join('/', name)
		if os.path.islink(target) and os.readlink(target).startswith('usr/'):
			args += ['--symlink', os.readlink(target), target]	# merged /usr
	for path in MASKED:
		if os.path.isdir(path) and not os.path.islink(path):
			args += ['--tmpfs', path]
		elif os.path.lexists(path):
			args += ['--ro-bind', '/dev/null', path]
	args += ['--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp', '--tmpfs', '/var/tmp']
	if os.environ.get('SLUB_KUNIT_KVM') == '1' and os.path.exists('/dev/kvm'):
		args += ['--dev-bind', '/dev/kvm', '/dev/kvm']
	for path in box.readable:
		args += ['--ro-bind', path, path]
	for path in box.writable:
		args += ['--bind', path, path]
	return args + ['--chdir', cwd]


def is_locale(name: str) -> bool:
	"""The locale variables pass as the caller set them: ccache hashes
	them, so that builds in and out of the sandbox share its results."""
	return name in ('LANG', 'LANGUAGE') or name.startswith('LC_')


def environment(runner_env: Dict[str, str], front: Optional[str] = None) -> Dict[str, str]:
	"""The environment of a sandboxed command: runner_env holds what the
	runner sets (ccache, distcc, the result file); of the caller's own,
	only the kbuild variables pass."""
	env = {k: v for k, v in os.environ.items() if k in PASSED or is_locale(k)}
	env.setdefault('LANG', 'C.UTF-8')
	env.update({'PATH': (front + os.pathsep if front else '') + SYSTEM_PATH,
		    'HOME': '/tmp', 'TMPDIR': '/tmp',
		    'PYTHONDONTWRITEBYTECODE': '1', 'CCACHE_TEMPDIR': '/tmp/ccache'})
	env.update(runner_env)
	return env


# Runs before bwrap, outside the sandbox (it is the runner's code): puts
# itself into a cgroup of its own where it can, mounts the overlay in a
# mount namespace of its own, sets the limits, then becomes bwrap. argv:
# LOWER UPPER WORK CGROUP -- BWRAP...
HELPER = r'''
import ctypes, os, resource, sys
lower, upper, work, cgroup = sys.argv[1:5]
argv = sys.argv[6:]
libc = ctypes.CDLL(None, use_errno=True)

def fail(what):
    err = ctypes.get_errno()
    sys.stderr.write(f'slub-kunit sandbox: {what}: {os.strerror(err)}\n')
    sys.exit(125)

for group in filter(None, cgroup.split(',')):
    with open(os.path.join(group, 'cgroup.procs'), 'w') as f:
        f.write(str(os.getpid()))
if lower:
    CLONE_NEWNS, CLONE_NEWUSER = 0x00020000, 0x10000000
    uid, gid = os.getuid(), os.getgid()
    if libc.unshare(CLONE_NEWNS | (CLONE_NEWUSER if uid else 0)) != 0:
        fail('unshare')
    if uid:
        with open('/proc/self/setgroups', 'w') as f:
            f.write('deny')
        with open('/proc/self/uid_map', 'w') as f:
            f.write(f'{uid} {uid} 1')
        with open('/proc/self/gid_map', 'w') as f:
            f.write(f'{gid} {gid} 1')
    MS_REC, MS_PRIVATE = 0x4000, 0x40000
    if libc.mount(b'none', b'/', None, MS_REC | MS_PRIVATE, None) != 0:
        fail('private mounts')
    opts = f'lowerdir={lower},upperdir={upper},workdir={work}'.encode()
    if libc.mount(b'overlay', lower.encode(), b'overlay', 0, opts) != 0:
        fail(f'overlay on {lower}')
def limit(which, most):
    soft, hard = resource.getrlimit(which)
    most = most if hard == resource.RLIM_INFINITY else min(most, hard)
    resource.setrlimit(which, (most, most))

limit(resource.RLIMIT_CORE, 0)
limit(resource.RLIMIT_NOFILE, @NOFILE@)
limit(resource.RLIMIT_NPROC, @PIDS_MAX@)
os.execvp(argv[0], argv)
'''.replace('@NOFILE@', str(NOFILE)).replace('@PIDS_MAX@', str(PIDS_MAX))


class Cgroups:
	"""A cgroup per sandboxed command, bounding its processes and memory,
	where the host lets the runner make one: cgroup v1's pids and memory
	hierarchies, or a v2 group whose parent delegates both. Elsewhere
	none, and the per-process limits alone apply."""

	def __init__(self, name: str) -> None:
		self.name = name
		self.dirs: List[str] = []

	def make(self) -> List[str]:
		memory = int(os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') * MEMORY_SHARE)
		limits = {'pids': ('pids.max', str(PIDS_MAX)),
			  'memory': ('memory.limit_in_bytes', str(memory))}
		for ctl, (knob, value) in limits.items():
			parent = own_cgroup(ctl)
			if parent is None:
				continue
			remove_orphans(parent)
			path = os.path.join(parent, self.name)
			try:
				os.makedirs(path, exist_ok=True)
				with open(os.path.join(path, knob), 'w') as f:
					f.write(value)
			except OSError:
				rmdir(path)
				continue
			self.dirs.append(path)
		return self.dirs

	def remove(self) -> None:
		for path in self.dirs:
			rmdir(path)
		self.dirs = []


# A command's cgroup is named after the runner's pid: PREFIX<pid>-...
PREFIX = 'slub-kunit-'


def remove_orphans(parent: str) -> None:
	"""The cgroups of runners that died (SIGKILL) before removing them."""
	try:
		names = os.listdir(parent)
	except OSError:
		return
	for name in names:
		pid = name[len(PREFIX):].split('-', 1)[0]
		if name.startswith(PREFIX) and pid.isdigit() and not os.path.exists(f'/proc/{pid}'):
			rmdir(os.path.join(parent, name), tries=1)


def own_cgroup(controller: str) -> Optional[str]:
	"""The directory of this process's cgroup in controller's v1
	hierarchy, if that hierarchy is mounted at /sys/fs/cgroup/<controller>."""
	root = os.path.join('/sys/fs/cgroup', controller)
	try:
		with open('/proc/self/cgroup') as f:
			for line in f:
				_, ctls, path = line.rstrip('\n').split(':', 2)
				if controller in ctls.split(','):
					full = os.path.join(root, path.lstrip('/'))
					return full if os.path.isdir(full) else None
	except (OSError, ValueError):
		pass
	return None


def rmdir(path: str, tries: int = 50) -> None:
	"""A cgroup's directory goes once its last process has: a few tries."""
	for _ in range(tries):
		try:
			os.rmdir(path)
			return
		except FileNotFoundError:
			return
		except OSError:
			time.sleep(0.02)
