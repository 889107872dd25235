# SPDX-License-Identifier: GPL-2.0
"""Shared helpers: errors that end the run with one line, timed stages,
subprocess calls without a shell, atomic writes and cache locks.
"""

import fcntl
import hashlib
import os
import re
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from typing import Dict, Iterator, List, Optional, Sequence, Tuple, Union

from slub_kunit import procs
from slub_kunit.status import Exit

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))


class UserError(Exception):
	"""An error the user can act on; printed as one line, then the exit code
	of its kind. Raise one of the kinds below, catch by kind."""
	code = Exit.USAGE


class UsageError(UserError):
	"""Bad arguments or input the user named (not a patch)."""
	code = Exit.USAGE


class HostError(UserError):
	"""The machine: packages, cache, downloads, disk, a tool that failed."""
	code = Exit.SETUP


class PatchError(UserError):
	"""A patch that does not apply, is not a patch, or a series that is
	incomplete."""
	code = Exit.PATCH


class BuildError(UserError):
	"""The kernel does not build."""
	code = Exit.BUILD


class SuiteFailed(UserError):
	"""The suite failed where it must pass (the unmodified kernel)."""
	code = Exit.TESTS_FAILED


class NotJudged(UserError):
	"""The tree lacks what the suite drives or reads."""
	code = Exit.NOT_JUDGED


def printable(text: str) -> str:
	"""text with everything a terminal could act on escaped: control
	characters (escape sequences that move the cursor or set a title),
	undecodable bytes (read with surrogateescape) and other unprintables."""
	out = []
	for c in text:
		if c.isprintable() or c == ' ':
			out.append(c)
		elif 0xdc80 <= ord(c) <= 0xdcff:
			out.append(f'\\x{ord(c) - 0xdc00:02x}')
		else:
			out.append(c.encode('unicode_escape', 'backslashreplace').decode('ascii'))
	return ''.join(out)


def log(msg: str) -> None:
	print(f'[slub-kunit] {printable(msg)}', flush=True)


def die(err: UserError) -> int:
	print(f'slub-kunit: error: {printable(str(err))}', file=sys.stderr, flush=True)
	return int(err.code)


class Stages:
	"""Records how long each stage of a run took."""

	def __init__(self) -> None:
		self.times: List[Tuple[str, float]] = []

	@contextmanager
	def stage(self, name: str) -> Iterator[None]:
		log(f'{name} ...')
		start = time.monotonic()
		try:
			yield
		finally:
			took = time.monotonic() - start
			self.times.append((name, took))
			log(f'{name}: {took:.1f} s')

	def total(self) -> float:
		return sum(t for _, t in self.times)

	def summary(self) -> str:
		"""One line: each kind of stage (its name up to a comma), how often
		and how long in all, in the order first seen."""
		kinds: Dict[str, List[float]] = {}
		for name, took in self.times:
			kinds.setdefault(name.split(',')[0], []).append(took)
		parts = [f'{k} {sum(v):.0f} s' + (f' ({len(v)}x)' if len(v) > 1 else '')
			 for k, v in kinds.items()]
		return ', '.join(parts) + f'; total {self.total():.0f} s'

	def table(self) -> str:
		width = max([len(n) for n, _ in self.times] + [5])
		rows = [f'  {n:<{width}} {t:7.1f} s' for n, t in self.times]
		rows.append(f'  {"total":<{width}} {self.total():7.1f} s')
		return '\n'.join(rows)


def run(cmd: Sequence[str], cwd: Optional[str] = None,
	env: Optional[Dict[str, str]] = None, capture: bool = True,
	check: bool = True, input_text: Optional[str] = None) -> subprocess.CompletedProcess:
	"""Runs cmd (no shell), with input_text on its stdin if given. With
	capture, returns its output as text."""
	try:
		res = procs.run(list(cmd), cwd=cwd, env=env, text=True,
				errors='surrogateescape' if input_text is not None else
				'backslashreplace', input=input_text,
				stdout=subprocess.PIPE if capture else None,
				stderr=subprocess.STDOUT if capture else None)
	except FileNotFoundError:
		raise HostError(f'{cmd[0]}: command not found')
	if check and res.returncode != 0:
		tail = (res.stdout or '').strip().splitlines()[-1:] if capture else []
		detail = f': {tail[0]}' if tail else ''
		raise HostError(f'{" ".join(cmd[:3])} failed with exit code '
				f'{res.returncode}{detail}')
	return res


def atomic_write(path: str, data: Union[str, bytes], mode: Optional[int] = None) -> None:
	"""Writes path whole or not at all: a temporary file beside it, then
	rename. A reader never sees half a file, and an interrupted write
	leaves the old one. The temporary name is random and created with
	O_EXCL | O_NOFOLLOW (mkstemp), so another user of a shared directory
	cannot plant a link there; the rename replaces a link at path itself,
	never what it points to."""
	directory, name = os.path.split(os.path.abspath(path))
	fd, tmp = tempfile.mkstemp(prefix=f'.{name}.', suffix='.slub-kunit-tmp', dir=directory)
	try:
		with os.fdopen(fd, 'wb' if isinstance(data, bytes) else 'w') as f:
			f.write(data)
		os.chmod(tmp, 0o644 if mode is None else mode)
		os.replace(tmp, path)
	except BaseException:
		try:
			os.unlink(tmp)
		except OSError:
			pass
		raise


def write_if_changed(path: str, text: str, mode: Optional[int] = None) -> bool:
	"""atomic_write() unless path already reads text (its mtime then stays,
	so make rebuilds nothing for it); returns whether it wrote."""
	try:
		with open(path) as f:
			if f.read() == text:
				return False
	except OSError:
		pass
	atomic_write(path, text, mode)
	return True


def is_inside(path: str, root: str) -> bool:
	"""Whether path is root or lies below it (both already resolved)."""
	return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def safe_name(text: str) -> str:
	"""A directory name from anything (a path, a version): what kbuild
	and a shell take without quoting, plus a hash so names stay apart."""
	short = re.sub(r'[^A-Za-z0-9._+-]+', '_', text).strip('_.')[-48:] or 'x'
	return f'{short}-{hashlib.sha1(text.encode()).hexdigest()[:8]}'


class CacheLock:
	"""An exclusive lock on one part of the cache, across processes.

	Held from the start to the end of whatever reads or writes that part
	(a work tree from prepare through boot, the apt state during an update),
	so that two commands on one cache take turns instead of mixing their
	work. Released by the kernel if the process dies.
	"""

	def __init__(self, cache: str, key: str) -> None:
		self.dir = os.path.join(cache, 'locks')
		self.key = key
		self.path = os.path.join(self.dir, f'{re.sub(r"[^A-Za-z0-9._+-]", "_", key)}.lock')
		self.fd = -1

	def __enter__(self) -> 'CacheLock':
		os.makedirs(self.dir, exist_ok=True)
		self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
		try:
			fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
		except BlockingIOError:
			log(f'waiting for another slub-kunit command ({self.key})')
			fcntl.flock(self.fd, fcntl.LOCK_EX)
		return self

	def __exit__(self, *exc: object) -> None:
		os.close(self.fd)
		self.fd = -1
