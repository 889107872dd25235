# SPDX-License-Identifier: GPL-2.0
#
# Shared helpers: errors that end the run with one line, timed stages,
# subprocess calls without a shell.

import os
import subprocess
import sys
import time
from contextlib import contextmanager
from typing import Dict, Iterator, List, Optional, Sequence

# Exit codes. validate has more of its own.
EXIT_OK = 0
EXIT_TESTS_FAILED = 1
EXIT_USAGE = 2
EXIT_SETUP = 3
EXIT_PATCH = 4
EXIT_BUILD = 5
EXIT_INTERRUPTED = 130

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))


class UserError(Exception):
	"""An error the user can act on; printed as one line, then exit."""

	def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
		super().__init__(message)
		self.code = code


def log(msg: str) -> None:
	print(f'[slub-kunit] {msg}', flush=True)


class Stages:
	"""Records how long each stage of a run took."""

	def __init__(self) -> None:
		self.times: List[tuple] = []

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

	def table(self) -> str:
		width = max([len(n) for n, _ in self.times] + [5])
		rows = [f'  {n:<{width}} {t:7.1f} s' for n, t in self.times]
		rows.append(f'  {"total":<{width}} {self.total():7.1f} s')
		return '\n'.join(rows)


def run(cmd: Sequence[str], cwd: Optional[str] = None,
	env: Optional[Dict[str, str]] = None, capture: bool = True,
	check: bool = True) -> subprocess.CompletedProcess:
	"""Runs cmd (no shell). With capture, returns its output as text."""
	try:
		res = subprocess.run(list(cmd), cwd=cwd, env=env, text=True,
				     errors='backslashreplace',
				     stdout=subprocess.PIPE if capture else None,
				     stderr=subprocess.STDOUT if capture else None)
	except FileNotFoundError:
		raise UserError(f'{cmd[0]}: command not found', EXIT_SETUP)
	if check and res.returncode != 0:
		tail = (res.stdout or '').strip().splitlines()[-1:] if capture else []
		detail = f': {tail[0]}' if tail else ''
		raise UserError(f'{" ".join(cmd[:3])} failed with exit code '
				f'{res.returncode}{detail}', EXIT_SETUP)
	return res


def die(err: UserError) -> int:
	print(f'slub-kunit: error: {err}', file=sys.stderr, flush=True)
	return err.code
