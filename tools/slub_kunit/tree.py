# SPDX-License-Identifier: GPL-2.0
#
# The work tree: a hard-link copy of a pristine tree with the suite overlaid
# and the patches applied. Every file that is written is first unlinked, so
# the pristine tree (which may be the user's own) is never changed. A user's
# tree is copied again on every run (it may have changed since); over a
# Debian tree, which never changes, the work tree is refreshed in place: the
# files the last run changed (its manifest) get their pristine links back,
# then the suite and patches are applied again. Either way, files whose
# content did not change keep their old mtime, so make rebuilds only what
# did change.

import hashlib
import os
import re
import shutil
from typing import Callable, Dict, List, Optional

from slub_kunit.common import EXIT_PATCH, EXIT_SETUP, REPO, UserError, run

# Repository paths that are kernel paths: overlaid onto the tree.
OVERLAY_DIRS = ('mm', 'lib', 'Documentation', 'tools/testing')
MANIFEST = '.slub-kunit-manifest'
# The pristine tree a work tree was copied from: a refresh needs the same.
ORIGIN = '.slub-kunit-origin'
# Present while a refresh is under way: a tree left with it is copied anew.
DIRTY = '.slub-kunit-dirty'


def overlay_files(repo: str = REPO) -> List[str]:
	"""Repository files that go into the kernel tree, relative paths."""
	out = []
	for top in OVERLAY_DIRS:
		base = os.path.join(repo, top)
		for root, dirs, files in os.walk(base):
			dirs[:] = [d for d in dirs if d != '__pycache__']
			for name in files:
				out.append(os.path.relpath(os.path.join(root, name), repo))
	return sorted(out)


def series_patches(patch_dir: str) -> List[str]:
	"""The patches a quilt-style series file in patch_dir lists, in order."""
	with open(os.path.join(patch_dir, 'series')) as f:
		names = [l.strip() for l in f if l.strip() and not l.startswith('#')]
	return [os.path.join(patch_dir, n) for n in names]


def integration_patches(repo: str = REPO, runner: bool = True) -> List[str]:
	"""The suite's own edits to kernel files: tools/patches/series, then
	(unless only what is exported is wanted) tools/patches/runner/series."""
	patch_dir = os.path.join(repo, 'tools', 'patches')
	out = series_patches(patch_dir)
	runner_dir = os.path.join(patch_dir, 'runner')
	if runner and os.path.isdir(runner_dir):
		out += series_patches(runner_dir)
	return out


def sha256(path: str) -> str:
	h = hashlib.sha256()
	with open(path, 'rb') as f:
		for block in iter(lambda: f.read(1 << 20), b''):
			h.update(block)
	return h.hexdigest()


def check_patch(path: str) -> None:
	"""A patch must be a readable, non-empty text diff."""
	name = os.path.basename(path)
	if not os.path.isfile(path):
		raise UserError(f'patch {path}: no such file', EXIT_PATCH)
	try:
		with open(path, 'rb') as f:
			data = f.read()
	except OSError as e:
		raise UserError(f'patch {path}: {e.strerror}', EXIT_PATCH)
	if not data.strip():
		raise UserError(f'patch {name}: empty file', EXIT_PATCH)
	if b'\0' in data:
		raise UserError(f'patch {name}: binary file, not a diff', EXIT_PATCH)
	if not re.search(rb'^\+\+\+ ', data, re.M):
		raise UserError(f'patch {name}: no diff in it', EXIT_PATCH)


def patched_paths(path: str) -> List[str]:
	"""Files a -p1 patch (or mbox of patches) touches, old and new names."""
	out = set()
	with open(path, errors='replace') as f:
		for line in f:
			m = re.match(r'^(?:---|\+\+\+) (\S+)', line)
			if m and m.group(1) != '/dev/null':
				parts = m.group(1).split('/', 1)
				if len(parts) == 2:
					out.add(parts[1])
			m = re.match(r'^(?:rename|copy) (?:from|to) (\S+)$', line)
			if m:
				out.add(m.group(1))
	return sorted(out)


def _unlink_copy(src: str, dst: str) -> None:
	"""Writes a private copy of src at dst, never through a hard link."""
	os.makedirs(os.path.dirname(dst), exist_ok=True)
	tmp = dst + '.slub-kunit-tmp'
	shutil.copyfile(src, tmp)
	shutil.copymode(src, tmp)
	os.replace(tmp, dst)


def _break_link(path: str) -> None:
	if os.path.isfile(path) and os.stat(path).st_nlink > 1:
		_unlink_copy(path, path)


def apply_patch(tree: str, patch: str, label: str) -> None:
	check_patch(patch)
	for rel in patched_paths(patch):
		_break_link(os.path.join(tree, rel))
	res = run(['patch', '-p1', '--batch', '--forward', '--no-backup-if-mismatch',
		   '--reject-file=-', '-d', tree, '-i', os.path.abspath(patch)], check=False)
	if res.returncode != 0:
		why = [l for l in res.stdout.splitlines()
		       if 'FAILED' in l or 'garbage' in l or "can't find" in l.lower()
		       or 'Reversed' in l or 'No such file' in l]
		detail = why[0].strip() if why else res.stdout.strip().splitlines()[-1:]
		raise UserError(f'patch {os.path.basename(patch)} does not apply to {label}: '
				f'{detail}', EXIT_PATCH)


def _hardlink_copy(src: str, dst: str) -> None:
	res = run(['cp', '-al', src, dst], check=False)
	if res.returncode != 0:
		shutil.rmtree(dst, ignore_errors=True)
		res = run(['cp', '-a', src, dst], check=False)
		if res.returncode != 0:
			shutil.rmtree(dst, ignore_errors=True)
			raise UserError(f'cannot copy {src} to {dst}: '
					f'{res.stdout.strip().splitlines()[-1:]}', EXIT_SETUP)


def _changed_files(tree: str, pristine: str) -> List[str]:
	"""Files in tree that are not hard links of the pristine file."""
	out = []
	for root, dirs, files in os.walk(tree):
		for name in files:
			path = os.path.join(root, name)
			rel = os.path.relpath(path, tree)
			try:
				st = os.lstat(path)
				pst = os.lstat(os.path.join(pristine, rel))
			except FileNotFoundError:
				out.append(rel)
				continue
			if st.st_ino != pst.st_ino:
				out.append(rel)
	return out


def _same_content(a: str, b: str) -> bool:
	try:
		if os.path.getsize(a) != os.path.getsize(b):
			return False
		with open(a, 'rb') as fa, open(b, 'rb') as fb:
			return fa.read() == fb.read()
	except OSError:
		return False


def _read_manifest(work: str) -> List[str]:
	try:
		with open(os.path.join(work, MANIFEST)) as f:
			return [l.rstrip('\n') for l in f if l.strip()]
	except FileNotFoundError:
		return []


def mark_modified(work: str, rel: str) -> None:
	"""Records that rel was edited in place (a mutant), so that the next
	prepare() gives it a fresh mtime and make rebuilds what it compiled."""
	with open(os.path.join(work, MANIFEST), 'a') as f:
		f.write(f'{rel}\n')


def _apply_all(work: str, label: str, patches: List[str], repo: str,
	       edits: Optional[Dict[str, str]]) -> None:
	"""Overlays the suite, applies its patches and then the user's, then
	edits (relative path -> new content; mutants)."""
	for rel in overlay_files(repo):
		_unlink_copy(os.path.join(repo, rel), os.path.join(work, rel))
	for patch in integration_patches(repo) + list(patches):
		apply_patch(work, patch, label)
	for rel, text in (edits or {}).items():
		dst = os.path.join(work, rel)
		tmp = dst + '.slub-kunit-tmp'
		with open(tmp, 'w') as f:
			f.write(text)
		os.replace(tmp, dst)


def _write_manifest(work: str, changed: List[str]) -> None:
	with open(os.path.join(work, MANIFEST), 'w') as f:
		f.write(''.join(f'{rel}\n' for rel in sorted(set(changed))))


def _link_pristine(pristine: str, work: str, rel: str) -> None:
	"""Puts the pristine file back at rel, or nothing where it has none."""
	path = os.path.join(work, rel)
	if os.path.lexists(path):
		os.unlink(path)
	src = os.path.join(pristine, rel)
	if os.path.isfile(src) and not os.path.islink(src):
		os.link(src, path)
	elif os.path.islink(src):
		os.symlink(os.readlink(src), path)


def _differs(pristine: str, work: str, rel: str) -> bool:
	"""Whether rel in work is not the pristine file (a copy, new or gone)."""
	try:
		st = os.lstat(os.path.join(work, rel))
	except FileNotFoundError:
		return os.path.lexists(os.path.join(pristine, rel))
	try:
		return st.st_ino != os.lstat(os.path.join(pristine, rel)).st_ino
	except FileNotFoundError:
		return True


def _touched(patches: List[str], repo: str, edits: Optional[Dict[str, str]]) -> List[str]:
	"""Every path _apply_all() may write."""
	out = set(overlay_files(repo)) | set(edits or {})
	for patch in integration_patches(repo) + list(patches):
		check_patch(patch)
		out.update(patched_paths(patch))
	return sorted(out)


def _settle(tree: str, changed: List[str], previous: List[str],
	    before: Callable[[str], str]) -> None:
	"""Sets the mtimes make will see in tree, then writes its manifest.

	A changed file whose content equals the one it replaces (before(rel))
	keeps that file's mtime, so make does not rebuild it. A file changed
	last time and pristine now gets a fresh private copy, newer than the
	objects built from the changed version. (Once: it is not in the new
	manifest, and the object built next is newer still.)
	"""
	for rel in changed:
		new, old = os.path.join(tree, rel), before(rel)
		if _same_content(new, old):
			st = os.stat(old)
			os.utime(new, ns=(st.st_atime_ns, st.st_mtime_ns))
	for rel in set(previous) - set(changed):
		path = os.path.join(tree, rel)
		if os.path.isfile(path):
			_unlink_copy(path, path)
	_write_manifest(tree, changed)


def reusable(work: str, pristine: str) -> bool:
	"""Whether work can be refreshed in place from pristine."""
	try:
		with open(os.path.join(work, ORIGIN)) as f:
			return (f.read() == pristine and
				not os.path.exists(os.path.join(work, DIRTY)))
	except OSError:
		return False


def refresh(pristine: str, label: str, work: str, patches: List[str],
	    repo: str = REPO, edits: Optional[Dict[str, str]] = None) -> str:
	"""Brings an existing work tree of pristine up to date in place.

	Same result as a fresh prepare(); on a failing patch the tree is put
	back as it was. Only for a pristine tree that never changes.
	"""
	previous = _read_manifest(work)
	touched = _touched(patches, repo, edits)
	aside = work + '.prev'
	shutil.rmtree(aside, ignore_errors=True)
	open(os.path.join(work, DIRTY), 'w').close()
	moved = []
	for rel in previous:
		cur = os.path.join(work, rel)
		if os.path.lexists(cur):
			os.makedirs(os.path.dirname(os.path.join(aside, rel)), exist_ok=True)
			os.replace(cur, os.path.join(aside, rel))
			moved.append(rel)
		_link_pristine(pristine, work, rel)
	try:
		_apply_all(work, label, patches, repo, edits)
	except BaseException:
		for rel in set(touched) | set(previous):
			path = os.path.join(work, rel)
			if os.path.lexists(path):
				os.unlink(path)
			if rel not in previous:
				_link_pristine(pristine, work, rel)
		for rel in moved:
			os.replace(os.path.join(aside, rel), os.path.join(work, rel))
		shutil.rmtree(aside, ignore_errors=True)
		os.unlink(os.path.join(work, DIRTY))
		raise
	changed = [rel for rel in sorted(set(touched) | set(previous))
		   if _differs(pristine, work, rel)]
	_settle(work, changed, previous,
		lambda rel: os.path.join(aside if rel in moved else pristine, rel))
	shutil.rmtree(aside, ignore_errors=True)
	os.unlink(os.path.join(work, DIRTY))
	return work


def prepare(pristine: str, label: str, work_root: str, key: str,
	    patches: List[str], repo: str = REPO,
	    edits: Optional[Dict[str, str]] = None, reuse: bool = False) -> str:
	"""Builds the work tree for key; returns its path.

	edits maps a relative path to new content, applied last (mutants).
	With reuse, an existing work tree of the same pristine tree is
	refreshed in place instead of copied anew.
	"""
	os.makedirs(work_root, exist_ok=True)
	work = os.path.join(work_root, key)
	if reuse and reusable(work, pristine):
		return refresh(pristine, label, work, patches, repo, edits)
	touched = _touched(patches, repo, edits)
	staging = work + '.staging'
	old = work + '.old'
	for d in (staging, old):
		if os.path.exists(d):
			shutil.rmtree(d)
	_hardlink_copy(pristine, staging)
	try:
		_apply_all(staging, label, patches, repo, edits)
		# What differs from pristine: copies and new files, and files a
		# patch deleted (so that a refresh puts them back).
		changed = sorted(set(_changed_files(staging, pristine)) |
				 {rel for rel in touched if _differs(pristine, staging, rel)})
		previous = _read_manifest(work) if os.path.isdir(work) else []
		_settle(staging, changed, previous, lambda rel: os.path.join(work, rel))
		with open(os.path.join(staging, ORIGIN), 'w') as f:
			f.write(pristine)
	except BaseException:
		shutil.rmtree(staging, ignore_errors=True)
		raise
	if os.path.exists(work):
		os.rename(work, old)
	os.rename(staging, work)
	shutil.rmtree(old, ignore_errors=True)
	return work
