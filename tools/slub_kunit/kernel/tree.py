# SPDX-License-Identifier: GPL-2.0
"""The work tree: a hard-link copy of a pristine tree with the suite overlaid
and the patches applied. Every file that is written is first unlinked, so
the pristine tree (which may be the user's own) is never changed. A user's
tree is copied again on every run (it may have changed since); over a
Debian tree, which never changes, the work tree is refreshed in place: the
files the last run changed (its manifest) get their pristine links back,
then the suite and patches are applied again. Either way, files whose
content did not change keep their old mtime, so make rebuilds only what
did change.
"""

import os
import shutil
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional

from slub_kunit.common import (HostError, NotJudged, REPO, UserError, atomic_write, run,
				    write_if_changed)
from slub_kunit.inbox import patches as patchfiles
from slub_kunit.inbox.patches import Patch
from slub_kunit.kernel import slubc

# Repository paths that are kernel paths: overlaid onto the tree.
OVERLAY_DIRS = ('mm', 'lib', 'Documentation', 'tools/testing')
# The runner's own kernel files, at their kernel paths below this directory.
RUNNER_OVERLAY = os.path.join('tools', 'patches', 'runner')
# The work tree's bookkeeping, kept beside it in <key>.state/, never inside:
# nothing a patch can name is runner state.
MANIFEST = 'manifest'
# The pristine tree a work tree was copied from: a refresh needs the same.
ORIGIN = 'origin'
# Present while a work tree is being changed: a tree left with it is copied
# anew, never trusted.
DIRTY = 'dirty'


def state_path(work: str, name: str) -> str:
	"""Where the bookkeeping file name of the work tree work lives."""
	return os.path.join(work + '.state', name)


def _new_state(work: str, name: str) -> str:
	"""state_path(), its directory made if need be, for writing."""
	os.makedirs(work + '.state', exist_ok=True)
	return state_path(work, name)


def _mark_dirty(work: str) -> None:
	open(_new_state(work, DIRTY), 'w').close()


def _mark_clean(work: str) -> None:
	os.unlink(state_path(work, DIRTY))


def overlay_map(repo: str = REPO) -> Dict[str, str]:
	"""Kernel path -> repository file, for every file overlaid onto the
	tree: the suite's (at their kernel paths) and the runner's own
	(tools/patches/runner/<kernel path>, never exported)."""
	out = {}
	for top in OVERLAY_DIRS:
		for root, dirs, files in os.walk(os.path.join(repo, top)):
			dirs[:] = [d for d in dirs if d != '__pycache__']
			for name in files:
				rel = os.path.relpath(os.path.join(root, name), repo)
				out[rel] = os.path.join(repo, rel)
	runner = os.path.join(repo, RUNNER_OVERLAY)
	for top in ('mm', 'lib'):
		for root, dirs, files in os.walk(os.path.join(runner, top)):
			for name in files:
				path = os.path.join(root, name)
				out[os.path.relpath(path, runner)] = path
	return out


def overlay_files(repo: str = REPO) -> List[str]:
	"""Kernel paths the overlay writes, sorted."""
	return sorted(overlay_map(repo))


def integration_patches(repo: str = REPO, runner: bool = True) -> List[Patch]:
	"""The suite's own edits to kernel files: tools/patches/series, then
	(unless only what is exported is wanted) tools/patches/runner/series."""
	patch_dir = os.path.join(repo, 'tools', 'patches')
	out = patchfiles.series(patch_dir)
	runner_dir = os.path.join(patch_dir, 'runner')
	if runner and os.path.isdir(runner_dir):
		out += patchfiles.series(runner_dir)
	return out


def _unlink_copy(src: str, dst: str) -> None:
	"""Writes a private copy of src at dst, never through a hard link."""
	os.makedirs(os.path.dirname(dst), exist_ok=True)
	tmp = dst + '.slub-kunit-tmp'
	shutil.copyfile(src, tmp)
	shutil.copymode(src, tmp)
	os.replace(tmp, dst)


def break_link(path: str) -> None:
	if os.path.isfile(path) and os.stat(path).st_nlink > 1:
		_unlink_copy(path, path)


def apply_patch(tree: str, patch: Patch, label: str) -> List[str]:
	"""Applies patch to tree through private copies of what it touches;
	returns the lines that say a hunk needed fuzz."""
	for rel in patch.paths():
		break_link(os.path.join(tree, rel))
	return patchfiles.apply(tree, patch, label)


def hardlink_copy(src: str, dst: str) -> None:
	"""cp -al, or a real copy across file systems; nothing left behind if
	it fails or is interrupted."""
	try:
		res = run(['cp', '-al', src, dst], check=False)
		if res.returncode != 0:
			shutil.rmtree(dst, ignore_errors=True)
			res = run(['cp', '-a', src, dst], check=False)
	except BaseException:
		shutil.rmtree(dst, ignore_errors=True)
		raise
	if res.returncode != 0:
		shutil.rmtree(dst, ignore_errors=True)
		last = (res.stdout.strip().splitlines() or ['cp failed'])[-1]
		raise HostError(f'cannot copy {src} to {dst}: {last}')


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
		with open(state_path(work, MANIFEST)) as f:
			# mark_modified() appends: a path may be listed twice.
			return list(dict.fromkeys(l.rstrip('\n') for l in f if l.strip()))
	except FileNotFoundError:
		return []


def mark_modified(work: str, rel: str) -> None:
	"""Records that rel was edited in place (a mutant), so that the next
	prepare() gives it a fresh mtime and make rebuilds what it compiled."""
	with open(_new_state(work, MANIFEST), 'a') as f:
		f.write(f'{rel}\n')


def real_dirs(work: str, rel: str) -> str:
	"""work/rel, after every directory on the way to it that is a symbolic
	link (a user's tree may have them; the copy keeps them) has become a
	real directory of the work tree: hard links to what the link led to,
	which writing replaces, never changes. Nothing the runner writes passes
	through a link it did not make."""
	path = work
	for part in os.path.dirname(os.path.normpath(rel)).split(os.sep):
		if not part or part == '.':
			continue
		path = os.path.join(path, part)
		if not os.path.islink(path):
			continue
		target = os.path.realpath(path)
		staging = path + '.slub-kunit-dir'
		shutil.rmtree(staging, ignore_errors=True)
		if os.path.isdir(target):
			hardlink_copy(target, staging)
		else:
			os.makedirs(staging)
		os.unlink(path)
		os.rename(staging, path)
	return os.path.join(work, rel)


def _apply_all(work: str, label: str, patches: List[Patch], repo: str,
	       edits: Optional[Dict[str, str]]) -> List[str]:
	"""Overlays the suite, applies its patches and then the user's, then
	edits (relative path -> new content; mutants). Returns fuzz notes."""
	fuzz = []
	for rel, path in overlay_map(repo).items():
		_unlink_copy(path, real_dirs(work, rel))
	for patch in integration_patches(repo) + list(patches):
		fuzz += [f'{patch.name}: {line}' for line in apply_patch(work, patch, label)]
	for rel, text in (edits or {}).items():
		atomic_write(real_dirs(work, rel), text)
	return fuzz


def _write_manifest(work: str, changed: List[str]) -> None:
	atomic_write(_new_state(work, MANIFEST), ''.join(f'{rel}\n' for rel in sorted(set(changed))))


def _link_pristine(pristine: str, work: str, rel: str) -> None:
	"""Puts the pristine file back at rel, or nothing where it has none.
	A directory (a patch may name one) is never touched."""
	path = os.path.join(work, rel)
	if os.path.isdir(path) and not os.path.islink(path):
		return
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


def _touched(patches: List[Patch], repo: str, edits: Optional[Dict[str, str]]) -> List[str]:
	"""Every path _apply_all() may write (patch paths were checked to stay
	inside the tree when the patches were read)."""
	out = set(overlay_files(repo)) | set(edits or {})
	for patch in integration_patches(repo) + list(patches):
		out.update(patch.paths())
	return sorted(out)


def _settle(tree: str, changed: List[str], previous: List[str],
	    before: Callable[[str], str]) -> None:
	"""Sets the mtimes make will see in tree (its manifest is the
	caller's to write, once the tree is in place).

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


def origin_of(pristine: str, unpack_id: str) -> str:
	return f'{pristine}\n{unpack_id}\n'


def reusable(work: str, pristine: str, unpack_id: str = '') -> bool:
	"""Whether work can be refreshed in place from pristine: made from the
	same unpack of it (a tree unpacked again has new inodes), and not left
	half-refreshed."""
	try:
		with open(state_path(work, ORIGIN)) as f:
			return (os.path.isdir(work) and f.read() == origin_of(pristine, unpack_id) and
				not os.path.exists(state_path(work, DIRTY)))
	except OSError:
		return False


@dataclass
class WorkTree:
	"""A prepared work tree, and the hunks its patches applied with fuzz."""
	path: str
	fuzz: List[str] = field(default_factory=list)


def _drop(path: str) -> None:
	"""Removes what a patch or an overlay made at path (never a directory)."""
	if os.path.islink(path) or os.path.isfile(path):
		os.unlink(path)


def refresh(pristine: str, label: str, work: str, patches: List[Patch],
	    repo: str = REPO, edits: Optional[Dict[str, str]] = None) -> WorkTree:
	"""Brings an existing work tree of pristine up to date in place.

	Same result as a fresh prepare(); on a failing patch (or Ctrl-C, or a
	full disk) the tree is put back as it was. Only for a pristine tree that
	never changes. Only files below work that the suite or the patches name
	are touched.
	"""
	previous = _read_manifest(work)
	touched = _touched(patches, repo, edits)
	aside = work + '.prev'
	shutil.rmtree(aside, ignore_errors=True)
	_mark_dirty(work)
	moved = []
	for rel in previous:
		cur = os.path.join(work, rel)
		if os.path.lexists(cur) and not os.path.isdir(cur):
			os.makedirs(os.path.dirname(os.path.join(aside, rel)), exist_ok=True)
			os.replace(cur, os.path.join(aside, rel))
			moved.append(rel)
		_link_pristine(pristine, work, rel)
	try:
		fuzz = _apply_all(work, label, patches, repo, edits)
	except BaseException:
		for rel in set(touched) | set(previous):
			_drop(os.path.join(work, rel))
			if rel not in previous:
				_link_pristine(pristine, work, rel)
		for rel in moved:
			os.replace(os.path.join(aside, rel), os.path.join(work, rel))
		shutil.rmtree(aside, ignore_errors=True)
		_mark_clean(work)
		raise
	changed = [rel for rel in sorted(set(touched) | set(previous))
		   if _differs(pristine, work, rel)]
	_settle(work, changed, previous,
		lambda rel: os.path.join(aside if rel in moved else pristine, rel))
	_write_manifest(work, changed)
	shutil.rmtree(aside, ignore_errors=True)
	_mark_clean(work)
	return WorkTree(work, fuzz)


def prepare(pristine: str, label: str, work_root: str, key: str,
	    patches: List[Patch], repo: str = REPO,
	    edits: Optional[Dict[str, str]] = None, reuse: bool = False,
	    unpack_id: str = '') -> WorkTree:
	"""Builds the work tree for key.

	edits maps a relative path to new content, applied last (mutants).
	With reuse, an existing work tree of the same unpack of the pristine
	tree is refreshed in place instead of copied anew.
	"""
	os.makedirs(work_root, exist_ok=True)
	work = os.path.join(work_root, key)
	if reuse and reusable(work, pristine, unpack_id):
		return refresh(pristine, label, work, patches, repo, edits)
	touched = _touched(patches, repo, edits)
	staging = work + '.staging'
	old = work + '.old'
	for d in (staging, old):
		if os.path.exists(d):
			shutil.rmtree(d)
	hardlink_copy(pristine, staging)
	try:
		fuzz = _apply_all(staging, label, patches, repo, edits)
		# What differs from pristine: copies and new files, and files a
		# patch deleted (so that a refresh puts them back).
		changed = sorted(set(_changed_files(staging, pristine)) |
				 {rel for rel in touched if _differs(pristine, staging, rel)})
		previous = _read_manifest(work) if os.path.isdir(work) else []
		_settle(staging, changed, previous, lambda rel: os.path.join(work, rel))
	except BaseException:
		shutil.rmtree(staging, ignore_errors=True)
		raise
	_mark_dirty(work)
	if os.path.exists(work):
		os.rename(work, old)
	os.rename(staging, work)
	_write_manifest(work, changed)
	atomic_write(state_path(work, ORIGIN), origin_of(pristine, unpack_id))
	_mark_clean(work)
	shutil.rmtree(old, ignore_errors=True)
	return WorkTree(work, fuzz)


# --- what the tree has (read by slubc) ----------------------------------------

TREE_HEADER = 'mm/slub_kunit_tree.h'


def write_tree_header(work: str) -> None:
	"""Writes mm/slub_kunit_tree.h into work from its mm/slub.c, as it is
	now (after patches and mutant edits); unchanged content keeps its
	mtime, so make rebuilds nothing for it."""
	slub_c = os.path.join(work, 'mm', 'slub.c')
	if not os.path.isfile(slub_c):
		raise slubc.not_judged('the tree has no mm/slub.c')
	with open(slub_c, errors='replace') as f:
		text = slubc.tree_header(f.read())
	if TREE_HEADER not in _read_manifest(work):
		mark_modified(work, TREE_HEADER)
	write_if_changed(real_dirs(work, TREE_HEADER), text)
