# SPDX-License-Identifier: GPL-2.0
"""What the host needs: Debian packages (installed when run as root), and a
QEMU front that keeps kunit.py's '-accel kvm' away from QEMU where KVM
guests hang.
"""

import ast
import hashlib
import os
import re
import shutil
import string
from typing import Callable, Dict, List, NamedTuple

from slub_kunit.common import HostError, is_inside, log, run, write_if_changed

# What must exist on the host -> the Debian package that provides it.
COMMON_NEEDS: Dict[str, str] = {
	'make': 'make',
	'gcc': 'gcc',
	'flex': 'flex',
	'bison': 'bison',
	'bc': 'bc',
	'patch': 'patch',
	'ccache': 'ccache',
	'xz': 'xz-utils',
	'tar': 'tar',
	'dpkg-deb': 'dpkg',
	'apt-get': 'apt',
	'perl': 'perl',
	'/usr/include/gelf.h': 'libelf-dev',
	'/usr/include/openssl/ssl.h': 'libssl-dev',
	'/usr/share/keyrings/debian-archive-keyring.gpg': 'debian-archive-keyring',
	# The sandbox the tree's code runs in, and the Python that runs the
	# tree's kunit.py inside it.
	'bwrap': 'bubblewrap',
	'/usr/bin/python3': 'python3',
}

ARCH_NEEDS: Dict[str, Dict[str, str]] = {
	'x86_64': {
		'qemu-system-x86_64': 'qemu-system-x86',
		'/usr/share/qemu/qboot.rom': 'qemu-system-data',
	},
	'um': {},
	'ppc64le': {
		'qemu-system-ppc64': 'qemu-system-ppc',
		'/usr/share/qemu/slof.bin': 'qemu-system-data',
		'powerpc64le-linux-gnu-gcc': 'gcc-powerpc64le-linux-gnu',
	},
}


def _present(what: str) -> bool:
	if what.startswith('/'):
		return os.path.exists(what)
	return shutil.which(what) is not None


def missing_packages(arches: List[str]) -> List[str]:
	needs = dict(COMMON_NEEDS)
	for arch in arches:
		needs.update(ARCH_NEEDS[arch])
	return sorted({pkg for what, pkg in needs.items() if not _present(what)})


# What reading mail needs: git mailsplit and mailinfo, and b4 for threads.
MAIL_NEEDS: Dict[str, str] = {'git': 'git', 'b4': 'b4'}
# What the runner's own tests use besides: git send-email (a reply threads
# as it should), distcc and distccd (compiles go out through ccache), and
# the sandbox, whose tests would otherwise skip on a fresh machine.
TEST_NEEDS: Dict[str, str] = dict(MAIL_NEEDS, **{
	'/usr/lib/git-core/git-send-email': 'git-email', 'distcc': 'distcc',
	'distccd': 'distcc', 'bwrap': 'bubblewrap', '/usr/bin/python3': 'python3'})


def ensure_commands(needs: Dict[str, str]) -> None:
	"""ensure_packages() for a few commands only."""
	missing = sorted({pkg for what, pkg in needs.items() if not _present(what)})
	if missing:
		_install(missing, lambda: sorted({pkg for what, pkg in needs.items()
						  if not _present(what)}))


def ensure_packages(arches: List[str]) -> None:
	"""Installs what is missing as root; otherwise says what to install."""
	missing = missing_packages(arches)
	if missing:
		_install(missing, lambda: missing_packages(arches))


def _install(missing: List[str], still_missing: Callable[[], List[str]]) -> None:
	line = 'apt-get install -y ' + ' '.join(missing)
	if os.geteuid() != 0:
		raise HostError(f'missing packages; run as root: {line}')
	log(f'installing {" ".join(missing)}')
	env = dict(os.environ, DEBIAN_FRONTEND='noninteractive')
	res = run(['apt-get', 'install', '-y', '-q'] + missing, env=env, check=False)
	if res.returncode != 0:
		run(['apt-get', 'update', '-q'], env=env)
		run(['apt-get', 'install', '-y', '-q'] + missing, env=env)
	still = still_missing()
	if still:
		raise HostError(f'still missing after install: {" ".join(still)}')


# Where the QEMU front writes how QEMU ended, when the runner asks.
QEMU_STATUS_ENV = 'SLUB_KUNIT_QEMU_STATUS'

QEMU_FRONT = '''#!/usr/bin/env python3
# Written by slub-kunit: drops the accelerators kunit.py asks for first so
# that QEMU uses TCG (KVM guests hang on some hosts); SLUB_KUNIT_KVM=1
# keeps them. With SLUB_KUNIT_QEMU_STATUS set, QEMU runs as its child and
# how it ended is written there (JSON): its exit code or signal, and the
# signals the front passed on to it (kunit.py's timeout, an interrupt),
# so that a QEMU killed by somebody else is told from one that was asked
# to stop.
import json
import os
import signal
import subprocess
import sys

real = $real
args = sys.argv[1:]
if os.environ.get('SLUB_KUNIT_KVM') != '1':
	out = []
	skip = False
	for i, arg in enumerate(args):
		if skip:
			skip = False
			continue
		if arg == '-accel' and i + 1 < len(args) and args[i + 1] in ('kvm', 'hvf'):
			skip = True
			continue
		out.append(arg)
	args = out
status = os.environ.get('SLUB_KUNIT_QEMU_STATUS')
if not status:
	os.execv(real, [real] + args)
passed = []
child = subprocess.Popen([real] + args)


def pass_on(signum, frame):
	passed.append(signum)
	child.send_signal(signum)


for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
	signal.signal(s, pass_on)
code = child.wait()
ended = {'exit': code} if code >= 0 else {'signal': -code}
ended['passed_on'] = passed
with open(status + '.tmp', 'w') as f:
	json.dump(ended, f)
os.rename(status + '.tmp', status)
if code < 0:
	signal.signal(-code, signal.SIG_DFL)
	os.kill(os.getpid(), -code)
sys.exit(code)
'''


class Front(NamedTuple):
	"""A QEMU front: the directory to put first in PATH, and the QEMU it
	calls."""
	dir: str
	qemu: str


def qemu_front(bin_dir: str, qemu: str = 'qemu-system-x86_64') -> Front:
	"""Writes the QEMU front for the QEMU the caller's PATH finds into a
	directory of its own under bin_dir. Each QEMU has its own front: two
	runners on one cache whose PATHs find different QEMUs do not rewrite
	each other's."""
	real = real_qemu(bin_dir, qemu)
	prune_fronts(bin_dir, qemu)
	own = os.path.join(bin_dir, hashlib.sha256(real.encode()).hexdigest()[:12])
	os.makedirs(own, exist_ok=True)
	text = string.Template(QEMU_FRONT).substitute(real=repr(real))
	write_if_changed(os.path.join(own, qemu), text, mode=0o755)
	return Front(own, real)


def prune_fronts(bin_dir: str, qemu: str) -> None:
	"""Removes the fronts of QEMUs that are gone (a test's stand-in)."""
	try:
		names = os.listdir(bin_dir)
	except OSError:
		return
	for name in names:
		front = os.path.join(bin_dir, name, qemu)
		try:
			with open(front) as f:
				match = re.search(r"^real = (.*)$", f.read(), re.M)
		except OSError:
			continue
		if match and not os.path.exists(ast.literal_eval(match.group(1))):
			shutil.rmtree(os.path.dirname(front), ignore_errors=True)


def real_qemu(bin_dir: str, qemu: str = 'qemu-system-x86_64') -> str:
	"""The QEMU the caller's PATH finds, the fronts under bin_dir left
	out: a runner started by another (bench) inherits a PATH that
	already has one first."""
	fronts = os.path.realpath(bin_dir)
	search = os.pathsep.join(d for d in os.environ.get('PATH', os.defpath).split(os.pathsep)
				 if d and not is_inside(os.path.realpath(d), fronts))
	real = shutil.which(qemu, path=search)
	if real is None:
		package = next((needs[qemu] for needs in ARCH_NEEDS.values() if qemu in needs),
			       'qemu-system')
		raise HostError(f'{qemu} not found: apt-get install {package}')
	return os.path.abspath(real)

