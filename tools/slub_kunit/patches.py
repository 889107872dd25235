# SPDX-License-Identifier: GPL-2.0
#
# Patches are untrusted input. A file given with --patch (a diff, a git
# format-patch file or an mbox of several) is read whole, split into its
# messages, and refused before anything is touched if it is not a diff or
# names a path outside the tree. A patch is applied to one work tree only,
# through a private copy of every file it touches.

import email.header
import hashlib
import os
import re
from dataclasses import dataclass
from typing import List, Set

from slub_kunit.common import UserError, printable, run
from slub_kunit.status import Exit

# git format-patch and git send-email start every message of an mbox so.
MBOX_FROM = re.compile(r'^From [0-9a-f]{40} Mon Sep 17 00:00:00 2001$', re.M)


@dataclass(frozen=True)
class Patch:
	"""One patch: a file, or one message of an mbox file."""
	source: str	# the file it came from, absolute
	index: int	# 1-based place in that file
	count: int	# messages in that file
	text: str

	@property
	def name(self) -> str:
		base = printable(os.path.basename(self.source))
		return f'{base} [{self.index}/{self.count}]' if self.count > 1 else base

	@property
	def subject(self) -> str:
		"""The subject, RFC 2047 words decoded, printable whatever its bytes."""
		m = re.search(r'^Subject:[ \t]*(.*(?:\n[ \t].*)*)', self.text, re.M)
		if not m:
			return ''
		subject = decode_header_text(m.group(1))
		subject = re.sub(r'\s+', ' ', subject).strip()
		return printable(re.sub(r'^\[[^]]*\]\s*', '', subject))

	@property
	def data(self) -> bytes:
		"""The patch's bytes, as read."""
		return self.text.encode('utf-8', 'surrogateescape')

	@property
	def sha256(self) -> str:
		return hashlib.sha256(self.data).hexdigest()

	@property
	def label(self) -> str:
		return f'{self.name} ("{self.subject}")' if self.subject else self.name

	def paths(self) -> List[str]:
		"""Files it touches, relative to the tree (-p1), old and new names."""
		return sorted(touched(self.text))


def decode_header_text(raw: str) -> str:
	"""A header's value with its RFC 2047 encoded words decoded; words in
	an unknown charset, or broken, are left as they are."""
	try:
		parts = email.header.decode_header(raw)
	except (ValueError, LookupError, AssertionError):
		return raw
	out = []
	for value, charset in parts:
		if isinstance(value, str):
			out.append(value)
			continue
		if charset is None:
			# the text between encoded words, as decode_header() keeps it
			out.append(value.decode('raw-unicode-escape', 'replace'))
			continue
		try:
			out.append(value.decode(charset, 'replace'))
		except LookupError:
			out.append(value.decode('ascii', 'replace'))
	return ''.join(out)


def touched(text: str) -> Set[str]:
	out = set()
	for line in text.splitlines():
		m = re.match(r'^(?:---|\+\+\+) (\S+)', line)
		if m and m.group(1) != '/dev/null':
			name = m.group(1)
			out.add(name.split('/', 1)[1] if '/' in name else '')
		m = re.match(r'^(?:rename|copy) (?:from|to) (.+)$', line)
		if m:
			out.add(m.group(1))
	return out


def outside(rel: str) -> bool:
	"""Whether a -p1 path leaves the tree: absolute, empty or climbing."""
	if not rel or rel.startswith('/') or '\\' in rel:
		return True
	parts = rel.split('/')
	return '..' in parts or os.path.normpath(rel).startswith('..')


def read(path: str) -> List[Patch]:
	"""The patches in a file, checked: readable, a text diff, paths inside
	the tree. Raises UserError (exit 4) naming the file and the problem."""
	name = os.path.basename(path)
	if not os.path.isfile(path):
		raise UserError(f'patch {path}: no such file', Exit.PATCH)
	try:
		with open(path, 'rb') as f:
			data = f.read()
	except OSError as e:
		raise UserError(f'patch {path}: {e.strerror}', Exit.PATCH)
	if not data.strip():
		raise UserError(f'patch {name}: empty file', Exit.PATCH)
	if b'\0' in data:
		raise UserError(f'patch {name}: binary file, not a diff', Exit.PATCH)
	text = data.decode('utf-8', errors='surrogateescape')
	starts = [m.start() for m in MBOX_FROM.finditer(text)]
	if not starts or starts[0] != 0:
		starts = [0] + starts
	chunks = [text[a:b] for a, b in zip(starts, starts[1:] + [len(text)])]
	out = [Patch(os.path.abspath(path), i + 1, len(chunks), chunk)
	       for i, chunk in enumerate(chunks)]
	for patch in out:
		check(patch)
	return out


def check(patch: Patch) -> None:
	if not re.search(r'^\+\+\+ ', patch.text, re.M):
		raise UserError(f'patch {patch.name}: no diff in it', Exit.PATCH)
	for rel in patch.paths():
		if outside(rel):
			raise UserError(f'patch {patch.name}: path "{rel}" is outside the kernel '
					'tree; refused', Exit.PATCH)


def read_all(paths: List[str]) -> List[Patch]:
	out: List[Patch] = []
	for path in paths:
		out += read(path)
	return out


def series(patch_dir: str) -> List[Patch]:
	"""The patches a quilt-style series file in patch_dir lists, in order."""
	with open(os.path.join(patch_dir, 'series')) as f:
		names = [line.strip() for line in f if line.strip() and not line.startswith('#')]
	return read_all([os.path.join(patch_dir, n) for n in names])


def check_targets(tree: str, patch: Patch) -> None:
	"""No file the patch touches may lead out of the tree through a link."""
	root = os.path.realpath(tree)
	for rel in patch.paths():
		real = os.path.realpath(os.path.join(tree, rel))
		if real != root and not real.startswith(root + os.sep):
			raise UserError(f'patch {patch.name}: "{rel}" leads out of the tree through a '
					'symbolic link; refused', Exit.PATCH)


def apply(tree: str, patch: Patch, label: str) -> List[str]:
	"""Applies patch with -p1 to tree, whose files it touches must already be
	private copies. Returns the lines saying a hunk needed fuzz."""
	check_targets(tree, patch)
	res = run(['patch', '-p1', '--batch', '--forward', '--no-backup-if-mismatch',
		   '--reject-file=-', '-d', tree], check=False, input_text=patch.text)
	out = res.stdout or ''
	if 'No space left on device' in out:
		raise UserError(f'disk full while applying {patch.name} in {tree}', Exit.SETUP)
	if res.returncode != 0:
		why = [line.strip() for line in out.splitlines()
		       if 'FAILED' in line or 'garbage' in line or "can't find" in line.lower()
		       or 'Reversed' in line or 'No such file' in line or 'malformed' in line]
		detail = why[0] if why else (out.strip().splitlines() or ['patch failed'])[-1]
		raise UserError(f'patch {patch.label} does not apply to {label}: {detail}', Exit.PATCH)
	return [line.strip() for line in out.splitlines() if 'with fuzz' in line]
