# SPDX-License-Identifier: GPL-2.0
"""Where the kernel comes from: Debian's linux-source-* packages, reached
through a private apt configuration in the cache (the machine's own apt
sources are never touched), a tree the user names, or a commit of the
user's git repository. The user's tree and repository are only ever read.

Every pristine tree in the cache is unpacked under a lock, into a
temporary name that is renamed when complete, with a stamp that says how
many files it has and which unpack it is: a tree found damaged later is
unpacked again, and work trees made from the old one are not reused.
"""

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from slub_kunit import procs
from slub_kunit.common import (CacheLock, HostError, UsageError, atomic_write, log, run,
				    safe_name, write_if_changed)
from slub_kunit.kernel import slubc

DEBIAN_MIRROR = 'http://deb.debian.org/debian'
# bookworm for 6.1 LTS, trixie for 6.12, backports and sid for 7.x.
DEBIAN_SUITES = ('bookworm', 'trixie', 'trixie-backports', 'sid')
KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg'
LISTS_MAX_AGE = 24 * 3600

GEN_MEMORY = 'memory_notify'
GEN_NODE = 'node_notify'

# Written into every pristine tree once it is complete.
UNPACKED = '.slub-kunit-unpacked'

# git must not write to the user's repository: no index refresh, no gc.
GIT_READ_ONLY = ['-c', 'gc.auto=0', '-c', 'maintenance.auto=0', '-c', 'core.fsmonitor=false']


@dataclass
class Source:
	"""A pristine kernel tree and how to name it."""
	path: str
	label: str		# e.g. 'linux-source-6.12 6.12.117-1'
	key: str		# directory name for work trees and build dirs
	package: Optional[str] = None
	version: Optional[str] = None
	commit: Optional[str] = None

	@property
	def generation(self) -> str:
		return generation_of(self.path)

	@property
	def unpack_id(self) -> str:
		"""Which unpack of the tree this is ('' for a user's tree)."""
		return read_stamp(self.path)[1]


def generation_of(tree: str) -> str:
	"""Which notifier the tree's slab listens on: the one mm/slub.c
	registers its callback on, as the suite's C sees it (a tree in the
	middle of the 6.17 series has the node notifier in the core and the
	slab still on the memory notifier). Where mm/slub.c registers none,
	what include/linux/node.h defines."""
	try:
		with open(os.path.join(tree, 'mm', 'slub.c'), errors='surrogateescape') as f:
			callback = slubc.slab_callback(slubc.clean(f.read()))
	except OSError:
		callback = None
	if callback:
		return GEN_NODE if callback.notifier == 'node' else GEN_MEMORY
	try:
		with open(os.path.join(tree, 'include/linux/node.h'), errors='replace') as f:
			return GEN_NODE if 'NODE_ADDING_FIRST_MEMORY' in f.read() else GEN_MEMORY
	except OSError:
		return GEN_MEMORY


def default_policy(generation: str) -> str:
	return 'memory' if generation == GEN_NODE else 'normal'


# --- pristine trees in the cache ---------------------------------------------

def count_entries(path: str) -> int:
	"""Files, links and directories below path (no stat of each: ~0.1 s)."""
	n = 0
	with os.scandir(path) as it:
		for entry in it:
			n += 1
			if entry.is_dir(follow_symlinks=False):
				n += count_entries(entry.path)
	return n


def read_stamp(tree: str) -> Tuple[int, str]:
	try:
		with open(os.path.join(tree, UNPACKED)) as f:
			fields = f.read().split()
		return int(fields[0]), fields[1]
	except (OSError, ValueError, IndexError):
		return -1, ''


def write_stamp(tree: str) -> None:
	count = count_entries(tree) + 1	# the stamp itself
	atomic_write(os.path.join(tree, UNPACKED), f'{count} {uuid.uuid4().hex}\n')


def damaged(tree: str) -> Optional[str]:
	"""Why a pristine tree in the cache cannot be used, or None."""
	want, _ = read_stamp(tree)
	if want < 0:
		return 'no record of a complete unpack'
	have = count_entries(tree)
	if have != want:
		return f'{have} of its {want} files and directories'
	return None


def finish_tree(tmp: str, dest: str) -> None:
	"""Stamps a complete tree and moves it in place of any old one."""
	write_stamp(tmp)
	if os.path.lexists(dest):
		old = f'{dest}.old.{os.getpid()}'
		os.rename(dest, old)
		shutil.rmtree(old, ignore_errors=True)
	os.rename(tmp, dest)


def clean_partials(parent: str, name: str) -> None:
	"""Removes what an interrupted unpack of name left in parent."""
	if not os.path.isdir(parent):
		return
	for entry in os.listdir(parent):
		if entry.startswith(f'{name}.partial') or entry.startswith(f'{name}.old.'):
			shutil.rmtree(os.path.join(parent, entry), ignore_errors=True)


# --- user trees --------------------------------------------------------------

KERNEL_MARKERS = ('Makefile', 'mm/slub.c', 'include/linux/node.h',
		  'tools/testing/kunit/kunit.py')


def makefile_version(tree: str) -> str:
	fields = {}
	with open(os.path.join(tree, 'Makefile'), errors='replace') as f:
		for line in f.readlines()[:20]:
			m = re.match(r'^(VERSION|PATCHLEVEL|SUBLEVEL)\s*=\s*(\d*)', line)
			if m:
				fields[m.group(1)] = m.group(2)
	return '.'.join(fields.get(k, '?') for k in ('VERSION', 'PATCHLEVEL', 'SUBLEVEL'))


def check_kernel_tree(tree: str, spec: str) -> None:
	for marker in KERNEL_MARKERS:
		if not os.path.isfile(os.path.join(tree, marker)):
			raise UsageError(f'--kernel {spec}: not a kernel tree (no {marker})')


def user_tree(path: str) -> Source:
	tree = os.path.realpath(path)
	if not os.path.isdir(tree):
		raise UsageError(f'--kernel {path}: no such directory')
	check_kernel_tree(tree, path)
	if os.path.exists(os.path.join(tree, '.config')):
		raise UsageError(f'--kernel {path}: tree has an in-tree .config; kunit.py '
				'needs a clean source tree (make mrproper)')
	version = makefile_version(tree)
	return Source(path=tree, label=f'tree {tree} ({version})',
		      key=f'tree-{safe_name(tree)}', version=version)


def git(repo: str, args: List[str], **kw) -> subprocess.CompletedProcess:
	"""A read-only git command in the user's repository."""
	env = dict(os.environ, GIT_OPTIONAL_LOCKS='0')
	return procs.run(['git', '-C', repo] + GIT_READ_ONLY + args, env=env, **kw)


def resolve_commit(repo: str, rev: str) -> str:
	res = git(repo, ['rev-parse', '--verify', '--quiet', f'{rev}^{{commit}}'],
		  capture_output=True, text=True)
	if res.returncode != 0 or not res.stdout.strip():
		raise UsageError(f'{rev}: no such commit in {repo}')
	return res.stdout.strip()


def git_repo(path: str) -> str:
	repo = os.path.realpath(path)
	if not os.path.isdir(repo):
		raise UsageError(f'--kernel {path}: no such directory')
	try:
		res = git(repo, ['rev-parse', '--show-toplevel'], capture_output=True, text=True)
	except FileNotFoundError:
		raise HostError('git: command not found (apt-get install git)')
	if res.returncode != 0:
		raise UsageError(f'--kernel {path}: not a git repository')
	return res.stdout.strip()


def commit_tree(path: str, rev: str, cache: str) -> Source:
	"""The tree of commit rev of the repository at path, read with git
	archive into the cache (once per commit)."""
	repo = git_repo(path)
	sha = resolve_commit(repo, rev)
	name = f'git-{safe_name(repo)}-{sha[:12]}'
	parent = os.path.join(cache, 'src')
	dest = os.path.join(parent, name)
	os.makedirs(parent, exist_ok=True)
	with CacheLock(cache, f'src-{name}'):
		if damaged(dest):
			clean_partials(parent, name)
			log(f'reading {rev} ({sha[:12]}) of {repo} with git archive')
			tmp = tempfile.mkdtemp(prefix=f'{name}.partial', dir=parent)
			try:
				archive_into(repo, sha, tmp)
				check_kernel_tree(tmp, f'{path} --commit {rev}')
				finish_tree(tmp, dest)
			except BaseException:
				shutil.rmtree(tmp, ignore_errors=True)
				raise
	version = makefile_version(dest)
	return Source(path=dest, label=f'{repo} at {sha[:12]} ({version})', key=name,
		      version=version, commit=sha)


def archive_into(repo: str, sha: str, dest: str) -> None:
	arch = git(repo, ['archive', '--format=tar', sha], stdout=subprocess.PIPE,
		   stderr=subprocess.PIPE)
	if arch.returncode != 0:
		raise HostError(f'git archive {sha[:12]} failed: '
				f'{arch.stderr.decode(errors="replace").strip()[-200:]}')
	untar = procs.run(['tar', '-x', '-C', dest], input=arch.stdout, stderr=subprocess.PIPE)
	if untar.returncode != 0:
		last = untar.stderr.decode(errors='replace').strip().splitlines()[-1:]
		raise HostError(f'unpacking {sha[:12]} failed: {last[0] if last else "tar error"}')


# --- Debian packages ---------------------------------------------------------

class Apt:
	"""apt-get and apt-cache on a private configuration under cache_dir.

	The package lists are updated under the cache's apt lock; the stamp
	that keeps them for a day is written only after an update that
	succeeded, so a failed or interrupted update is retried next time.
	"""

	def __init__(self, cache_dir: str) -> None:
		self.cache_dir = cache_dir
		self.root = os.path.join(cache_dir, 'apt')
		self.parts = os.path.join(self.root, 'sources.list.d')
		self.lists = os.path.join(self.root, 'lists')
		self.archives = os.path.join(self.root, 'cache')
		self.status = os.path.join(self.root, 'status')
		self.resolved = os.path.join(self.root, 'resolved')
		self.stamp = os.path.join(self.root, 'updated')

	def options(self) -> List[str]:
		return ['-o', 'Dir::Etc::sourcelist=/dev/null',
			'-o', f'Dir::Etc::sourceparts={self.parts}',
			'-o', f'Dir::State::Lists={self.lists}',
			'-o', f'Dir::State::status={self.status}',
			'-o', f'Dir::Cache={self.archives}',
			'-o', 'APT::Sandbox::User=root']

	def write_config(self) -> bool:
		"""Writes the private apt configuration; returns whether its
		sources changed (the lists then need an update)."""
		for d in (self.parts, os.path.join(self.lists, 'partial'),
			  os.path.join(self.archives, 'archives', 'partial')):
			os.makedirs(d, exist_ok=True)
		if not os.path.exists(self.status):
			atomic_write(self.status, '')
		text = (f'Types: deb\nURIs: {DEBIAN_MIRROR}\n'
			f'Suites: {" ".join(DEBIAN_SUITES)}\nComponents: main\n'
			f'Signed-By: {KEYRING}\n')
		return write_if_changed(os.path.join(self.parts, 'slub-kunit.sources'), text)

	def fresh(self) -> bool:
		try:
			return time.time() - os.path.getmtime(self.stamp) < LISTS_MAX_AGE
		except OSError:
			return False

	def update(self, force: bool = False) -> None:
		"""Caller holds the cache's apt lock."""
		changed = self.write_config()
		if self.fresh() and not force and not changed:
			return
		res = run(['apt-get'] + self.options() + ['update', '-q'], check=False)
		if res.returncode == 0 and 'Err:' not in res.stdout and self.has_lists():
			atomic_write(self.stamp, time.ctime() + '\n')
			self.forget()
			return
		if self.has_lists():
			log('apt-get update failed; using the package lists already in the cache')
			return
		err = [line for line in res.stdout.splitlines() if 'Err' in line or 'E:' in line]
		raise HostError('no Debian package index reachable'
				f'{": " + err[0].strip() if err else ""}')

	def has_lists(self) -> bool:
		try:
			return any(name.endswith('_Packages') or '_Packages.' in name
				   for name in os.listdir(self.lists))
		except OSError:
			return False

	# Each apt-cache call reads the three suites' lists again (about 2 s
	# here); what a version spec resolved to is kept until the next update.

	def remembered(self, spec: str) -> Optional[Tuple[str, str]]:
		"""The (package, version) spec resolved to since the last update."""
		try:
			with open(self.resolved) as f:
				for line in f:
					fields = line.split()
					if len(fields) == 3 and fields[0] == spec:
						return fields[1], fields[2]
		except OSError:
			pass
		return None

	def remember(self, spec: str, package: str, version: str) -> None:
		try:
			with open(self.resolved) as f:
				kept = [line for line in f if line.split()[:1] != [spec]]
		except OSError:
			kept = []
		atomic_write(self.resolved, ''.join(kept + [f'{spec} {package} {version}\n']))

	def forget(self) -> None:
		try:
			os.unlink(self.resolved)
		except FileNotFoundError:
			pass

	def packages(self, pattern: str) -> List[str]:
		res = run(['apt-cache'] + self.options() + ['pkgnames', 'linux-source-'],
			  check=False)
		return sorted(p for p in res.stdout.split() if re.fullmatch(pattern, p))

	def candidate(self, package: str) -> Optional[str]:
		res = run(['apt-cache'] + self.options() + ['policy', package], check=False)
		m = re.search(r'Candidate:\s*(\S+)', res.stdout)
		return m.group(1) if m and m.group(1) != '(none)' else None

	def record(self, package: str, version: str) -> Dict[str, str]:
		"""Size and SHA256 of package=version, from the package index."""
		res = run(['apt-cache'] + self.options() + ['show', f'{package}={version}'],
			  check=False)
		fields = {}
		for line in res.stdout.splitlines():
			m = re.match(r'^(Size|SHA256):\s*(\S+)', line)
			if m and m.group(1) not in fields:
				fields[m.group(1)] = m.group(2)
		if 'Size' not in fields or 'SHA256' not in fields:
			raise HostError(f'no size and checksum for {package} {version} in the '
					'package index')
		return fields

	def download(self, package: str, version: str, dest: str) -> str:
		"""The checked .deb of package=version in dest, fetched if needed.

		apt-get download writes under the final name as it goes, so it runs
		in a temporary directory; the file is checked against the index
		(size, SHA256) before it takes its place. A .deb already in dest
		that fails the check is fetched again.
		"""
		os.makedirs(dest, exist_ok=True)
		# Under the apt lock no other download is under way: anything a
		# killed one left is stale.
		for entry in os.listdir(dest):
			if entry.startswith('download.'):
				shutil.rmtree(os.path.join(dest, entry), ignore_errors=True)
		want = self.record(package, version)
		final = os.path.join(dest, deb_name(package, version))
		if os.path.exists(final):
			if deb_ok(final, want):
				return final
			log(f'{os.path.basename(final)} in the cache is damaged; fetching it again')
			os.unlink(final)
		with tempfile.TemporaryDirectory(prefix='download.', dir=dest) as tmp:
			run(['apt-get'] + self.options() + ['download', '-q', f'{package}={version}'],
			    cwd=tmp)
			got = [n for n in os.listdir(tmp) if n.endswith('.deb')]
			if len(got) != 1 or not deb_ok(os.path.join(tmp, got[0]), want):
				raise HostError(f'apt-get download {package}={version}: the file does '
						'not match the package index (size or SHA256)')
			os.replace(os.path.join(tmp, got[0]), final)
		return final


def deb_name(package: str, version: str) -> str:
	# linux-source-7.3_7.3.4-1~bpo13+1_all.deb; ':' in epochs is '%3a'
	return f'{package}_{version.replace(":", "%3a")}_all.deb'


def deb_ok(path: str, want: Dict[str, str]) -> bool:
	try:
		if os.path.getsize(path) != int(want['Size']):
			return False
		h = hashlib.sha256()
		with open(path, 'rb') as f:
			for block in iter(lambda: f.read(1 << 20), b''):
				h.update(block)
		return h.hexdigest() == want['SHA256']
	except (OSError, ValueError):
		return False


def version_key(package: str) -> Tuple[int, ...]:
	return tuple(int(x) for x in re.findall(r'\d+', package.split('linux-source-')[1]))


def package_pattern(spec: str) -> str:
	"""'6.12' -> linux-source-6.12; '7' -> any linux-source-7.N."""
	if re.fullmatch(r'\d+\.\d+', spec):
		return re.escape(f'linux-source-{spec}')
	if re.fullmatch(r'\d+', spec):
		return re.escape(f'linux-source-{spec}.') + r'\d+'
	raise UsageError(f'--kernel {spec}: expected 6.12, 7, 7.N or a kernel tree path')


class NoPackage(UsageError):
	"""The kernel line asked for is not (or no longer) served by Debian."""


def resolve_package(apt: Apt, spec: str) -> str:
	"""The package for spec; for a major version, the newest one served."""
	pattern = package_pattern(spec)
	found = [p for p in apt.packages(pattern) if apt.candidate(p)]
	if not found:
		served = sorted({p.split('linux-source-')[1] for p in apt.packages(r'linux-source-\d+\.\d+')},
				key=lambda v: tuple(int(x) for x in v.split('.')))
		wanted = f'linux-source-{spec}' + ('' if '.' in spec else '.*')
		raise NoPackage(f'--kernel {spec}: no Debian package {wanted} in '
				f'{", ".join(DEBIAN_SUITES)}; available: '
				f'{", ".join(served) or "none"}')
	return max(found, key=version_key)


def resolve(apt: Apt, spec: str) -> Tuple[str, str]:
	"""Package and version for spec, from memory while the lists are unchanged."""
	known = apt.remembered(spec)
	if known:
		return known
	package = resolve_package(apt, spec)
	version = apt.candidate(package)
	assert version
	apt.remember(spec, package, version)
	return package, version


def unpack(deb: str, package: str, dest: str) -> None:
	"""dpkg-deb | tar -xO the source tarball | xz -d | tar -x, into a
	temporary directory that becomes dest when complete."""
	parent, name = os.path.split(dest)
	clean_partials(parent, name)
	tmp = tempfile.mkdtemp(prefix=f'{name}.partial', dir=parent)
	member = f'./usr/src/{package}.tar.xz'
	children: List[subprocess.Popen] = []
	errors = tempfile.TemporaryFile()
	try:
		cmds = [['dpkg-deb', '--fsys-tarfile', deb], ['tar', '-xO', member],
			['xz', '-dc', '-T0'], ['tar', '-x', '-C', tmp]]
		stdin = None
		for i, cmd in enumerate(cmds):
			last = i == len(cmds) - 1
			p = procs.popen(cmd, stdin=stdin, stderr=errors,
					stdout=None if last else subprocess.PIPE)
			if stdin is not None:
				stdin.close()
			stdin = p.stdout
			children.append(p)
		codes = [p.wait() for p in reversed(children)]
		if any(codes):
			errors.seek(0)
			lines = errors.read().decode(errors='replace').strip().splitlines()
			raise HostError(f'unpacking {os.path.basename(deb)} failed'
					f'{": " + lines[-1] if lines else ""} (disk full?)')
		inner = os.path.join(tmp, package)
		if not os.path.isdir(inner):
			raise HostError(f'{os.path.basename(deb)} holds no {package}/ tree')
		finish_tree(inner, dest)
	finally:
		for p in children:
			procs.release(p)
		errors.close()
		shutil.rmtree(tmp, ignore_errors=True)


def debian_source(spec: str, cache_dir: str, stages) -> Source:
	package_pattern(spec)
	apt = Apt(cache_dir)
	with stages.stage('download'):
		with CacheLock(cache_dir, 'apt'):
			apt.update()
			package, version = resolve(apt, spec)
	name = f'{package}_{version}'
	# The key names work trees and build directories: kbuild takes no '~'.
	key = re.sub(r'[^A-Za-z0-9.+-]', '_', name)
	src = Source(path=os.path.join(cache_dir, 'src', name), label=f'{package} {version}',
		     key=key, package=package, version=version)
	with CacheLock(cache_dir, f'src-{key}'):
		adopt(src.path)
		why = damaged(src.path)
		if why:
			if os.path.exists(src.path):
				log(f'the pristine tree of {src.label} is damaged ({why}); '
				    'unpacking it again')
			with stages.stage('download'):
				with CacheLock(cache_dir, 'apt'):
					deb = apt.download(package, version,
							   os.path.join(cache_dir, 'debs'))
			with stages.stage('unpack'):
				os.makedirs(os.path.dirname(src.path), exist_ok=True)
				unpack(deb, package, src.path)
	return src


def adopt(tree: str) -> None:
	"""Stamps a tree that an older runner unpacked completely (it renamed
	only complete trees into place) but did not stamp."""
	if read_stamp(tree)[0] < 0 and os.path.isdir(tree) and all(
			os.path.isfile(os.path.join(tree, m)) for m in KERNEL_MARKERS):
		write_stamp(tree)


def looks_like_path(spec: str) -> bool:
	"""A path names a directory: it has a slash, or starts with . or ~.
	'6.12' is a version even where a directory of that name exists."""
	return os.sep in spec or spec.startswith(('.', '~'))


# What the suite's C needs of a tree's KUnit, and from which release.
KUNIT_NEEDS = (('include/kunit/resource.h', 'kunit_add_action(', 'deferred actions', '6.5'),
	       ('include/kunit/static_stub.h', 'KUNIT_STATIC_STUB_REDIRECT', 'static stubs',
		'6.4'))


def check_supported(src: Source) -> None:
	"""Refuses, in one line, a tree whose KUnit lacks what the suite uses
	(Debian's 6.1 LTS, for one), instead of a build that fails."""
	for rel, marker, what, since in KUNIT_NEEDS:
		try:
			with open(os.path.join(src.path, rel), errors='replace') as f:
				if marker in f.read():
					continue
		except OSError:
			pass
		raise UsageError(f'{src.label}: its KUnit has no {what} ({marker.rstrip("(")}, '
				 f'{since} on), which the suite uses; not supported')


def get_source(spec: str, cache_dir: str, stages, commit: Optional[str] = None) -> Source:
	if commit is not None:
		if not looks_like_path(spec):
			raise UsageError('--commit needs --kernel PATH, a git repository')
		src = commit_tree(os.path.expanduser(spec), commit, cache_dir)
	elif looks_like_path(spec):
		src = user_tree(os.path.expanduser(spec))
	else:
		src = debian_source(spec, cache_dir, stages)
	check_supported(src)
	return src
