# SPDX-License-Identifier: GPL-2.0
"""Patches are untrusted input. A file given with --patch (a diff, a git
format-patch file or an mbox of several) is read whole, split into its
messages, and refused before anything is touched if it is not a diff or
names a path outside the tree. Mail in any form the list gives (mbox
forms, gzip, CRLF, a maildir, a thread with several revisions and
replies) is read by mail.py. A patch is applied to one work tree only,
through a private copy of every file it touches.
"""

import email.header
import hashlib
import os
import re
import tempfile
from dataclasses import dataclass, field
from typing import List, Optional, Set

from slub_kunit.common import HostError, PatchError, UserError, printable, run
from slub_kunit.inbox import mail


@dataclass(frozen=True)
class Patch:
	"""One patch: a file, or one message of an mbox file."""
	source: str	# the file it came from, absolute
	index: int	# 1-based place in that file
	count: int	# messages in that file
	text: str
	message_id: str = ''	# read from mail: its Message-Id

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


@dataclass
class Inputs:
	"""What the --patch files gave: the patches in order, and the mail
	threads they were taken from."""
	patches: List[Patch] = field(default_factory=list)
	threads: List[mail.Thread] = field(default_factory=list)


def read_input(path: str, scratch: Optional[str] = None,
	       choice: mail.Choice = mail.Choice()) -> Inputs:
	"""The patches in a file or maildir, checked: readable, a text diff,
	paths inside the tree. Raises UserError (exit 4) naming the input and
	the problem; an incomplete series is refused here, before any build.
	scratch is where mail is unpacked (the cache's; a temporary directory
	if None)."""
	name = printable(os.path.basename(path.rstrip('/')) or path)
	scratch = scratch or tempfile.gettempdir()
	if os.path.isdir(path):
		if not mail.is_maildir(path):
			raise PatchError(f'patch {path}: a directory, but not a maildir (cur, new, tmp)')
		got = mail.read(path, None, scratch, choice)
		return from_mail(path, got)
	if not os.path.isfile(path):
		raise PatchError(f'patch {path}: no such file')
	try:
		with open(path, 'rb') as f:
			data = f.read()
	except OSError as e:
		raise PatchError(f'patch {path}: {e.strerror}')
	data = mail.unpacked(data, name)
	if not data.strip():
		raise PatchError(f'patch {name}: empty file')
	if b'\0' in data:
		raise PatchError(f'patch {name}: binary file, not a diff')
	if mail.is_mail(data):
		return from_mail(path, mail.read(path, data, scratch, choice))
	out = Patch(os.path.abspath(path), 1, 1, data.decode('utf-8', errors='surrogateescape'))
	check(out)
	return Inputs([out])


def from_mail(path: str, got: mail.Read) -> Inputs:
	count = len(got.patches)
	out = []
	for i, taken in enumerate(got.patches):
		index, total = (taken.tag.k, taken.tag.n) if got.thread and taken.tag else (i + 1, count)
		out.append(Patch(os.path.abspath(path), index, total, taken.text, taken.msgid))
	for patch in out:
		check(patch)
	return Inputs(out, [got.thread] if got.thread else [])


def read(path: str, scratch: Optional[str] = None) -> List[Patch]:
	"""read_input()'s patches, for a caller that wants nothing else."""
	return read_input(path, scratch).patches


def check(patch: Patch) -> None:
	if not re.search(r'^\+\+\+ ', patch.text, re.M):
		raise PatchError(f'patch {patch.name}: no diff in it')
	for rel in patch.paths():
		if outside(rel):
			raise PatchError(f'patch {patch.name}: path "{rel}" is outside the kernel '
					'tree; refused')


def read_inputs(paths: List[str], scratch: Optional[str] = None,
		choice: mail.Choice = mail.Choice()) -> Inputs:
	out = Inputs()
	for path in paths:
		got = read_input(path, scratch, choice)
		out.patches += got.patches
		out.threads += got.threads
	return out


def read_all(paths: List[str], scratch: Optional[str] = None) -> List[Patch]:
	return read_inputs(paths, scratch).patches


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
			raise PatchError(f'patch {patch.name}: "{rel}" leads out of the tree through a '
					'symbolic link; refused')


def apply(tree: str, patch: Patch, label: str) -> List[str]:
	"""Applies patch with -p1 to tree, whose files it touches must already be
	private copies. Returns the lines saying a hunk needed fuzz."""
	check_targets(tree, patch)
	res = run(['patch', '-p1', '--batch', '--forward', '--no-backup-if-mismatch',
		   '--reject-file=-', '-d', tree], check=False, input_text=patch.text)
	out = res.stdout or ''
	if 'No space left on device' in out:
		raise HostError(f'disk full while applying {patch.name} in {tree}')
	if res.returncode != 0:
		why = [line.strip() for line in out.splitlines()
		       if 'FAILED' in line or 'garbage' in line or "can't find" in line.lower()
		       or 'Reversed' in line or 'No such file' in line or 'malformed' in line]
		detail = why[0] if why else (out.strip().splitlines() or ['patch failed'])[-1]
		raise PatchError(f'patch {patch.label} does not apply to {label}: {detail}')
	return [line.strip() for line in out.splitlines() if 'with fuzz' in line]
