# SPDX-License-Identifier: GPL-2.0
#
# Where the kernel comes from: Debian's linux-source-* packages, reached
# through a private apt configuration in the cache (the machine's own apt
# sources are never touched), or a tree the user names (only ever read).

import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from typing import List, Optional, Tuple

from slub_kunit.common import EXIT_SETUP, EXIT_USAGE, UserError, log, run

DEBIAN_MIRROR = 'http://deb.debian.org/debian'
DEBIAN_SUITES = ('trixie', 'trixie-backports', 'sid')
KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg'
LISTS_MAX_AGE = 24 * 3600

GEN_MEMORY = 'memory_notify'
GEN_NODE = 'node_notify'


@dataclass
class Source:
	"""A pristine kernel tree and how to name it."""
	path: str
	label: str		# e.g. 'linux-source-6.12 6.12.117-1'
	key: str		# directory name for work trees and build dirs
	package: Optional[str] = None
	version: Optional[str] = None

	@property
	def generation(self) -> str:
		return generation_of(self.path)


def generation_of(tree: str) -> str:
	"""Which notifier the tree's slab listens on, from what it defines."""
	with open(os.path.join(tree, 'include/linux/node.h'), errors='replace') as f:
		return GEN_NODE if 'NODE_ADDING_FIRST_MEMORY' in f.read() else GEN_MEMORY


def default_policy(generation: str) -> str:
	return 'memory' if generation == GEN_NODE else 'normal'


# --- user trees ------------------------------------------------------------

KERNEL_MARKERS = ('Makefile', 'mm/slub.c', 'include/linux/node.h',
		  'tools/testing/kunit/kunit.py')


def _makefile_version(tree: str) -> str:
	fields = {}
	with open(os.path.join(tree, 'Makefile'), errors='replace') as f:
		for line in f.readlines()[:20]:
			m = re.match(r'^(VERSION|PATCHLEVEL|SUBLEVEL)\s*=\s*(\d*)', line)
			if m:
				fields[m.group(1)] = m.group(2)
	return '.'.join(fields.get(k, '?') for k in ('VERSION', 'PATCHLEVEL', 'SUBLEVEL'))


def user_tree(path: str) -> Source:
	tree = os.path.realpath(path)
	if not os.path.isdir(tree):
		raise UserError(f'--kernel {path}: no such directory', EXIT_USAGE)
	for marker in KERNEL_MARKERS:
		if not os.path.isfile(os.path.join(tree, marker)):
			raise UserError(f'--kernel {path}: not a kernel tree (no {marker})', EXIT_USAGE)
	if os.path.exists(os.path.join(tree, '.config')):
		raise UserError(f'--kernel {path}: tree has an in-tree .config; kunit.py '
				'needs a clean source tree (make mrproper)', EXIT_USAGE)
	import hashlib
	digest = hashlib.sha1(tree.encode()).hexdigest()[:12]
	version = _makefile_version(tree)
	return Source(path=tree, label=f'tree {tree} ({version})',
		      key=f'tree-{os.path.basename(tree)}-{digest}', version=version)


# --- Debian packages -------------------------------------------------------

class Apt:
	"""apt-get and apt-cache on a private configuration under cache_dir."""

	def __init__(self, cache_dir: str) -> None:
		self.root = os.path.join(cache_dir, 'apt')
		self.parts = os.path.join(self.root, 'sources.list.d')
		self.lists = os.path.join(self.root, 'lists')
		self.archives = os.path.join(self.root, 'cache')
		self.status = os.path.join(self.root, 'status')
		self.resolved = os.path.join(self.root, 'resolved')

	def options(self) -> List[str]:
		return ['-o', 'Dir::Etc::sourcelist=/dev/null',
			'-o', f'Dir::Etc::sourceparts={self.parts}',
			'-o', f'Dir::State::Lists={self.lists}',
			'-o', f'Dir::State::status={self.status}',
			'-o', f'Dir::Cache={self.archives}',
			'-o', 'Debug::NoLocking=1',
			'-o', 'APT::Sandbox::User=root']

	def _write_config(self) -> None:
		for d in (self.parts, os.path.join(self.lists, 'partial'),
			  os.path.join(self.archives, 'archives', 'partial')):
			os.makedirs(d, exist_ok=True)
		if not os.path.exists(self.status):
			open(self.status, 'w').close()
		text = (f'Types: deb\nURIs: {DEBIAN_MIRROR}\n'
			f'Suites: {" ".join(DEBIAN_SUITES)}\nComponents: main\n'
			f'Signed-By: {KEYRING}\n')
		path = os.path.join(self.parts, 'slub-kunit.sources')
		if not os.path.exists(path) or open(path).read() != text:
			with open(path, 'w') as f:
				f.write(text)

	def update(self, force: bool = False) -> None:
		self._write_config()
		stamp = os.path.join(self.root, 'updated')
		fresh = os.path.exists(stamp) and time.time() - os.path.getmtime(stamp) < LISTS_MAX_AGE
		if fresh and not force:
			return
		res = run(['apt-get'] + self.options() + ['update', '-q'], check=False)
		if res.returncode != 0 or 'Err:' in res.stdout:
			if os.path.exists(stamp):
				log('apt-get update failed; using the package lists from '
				    f'{time.ctime(os.path.getmtime(stamp))}')
				return
			err = [l for l in res.stdout.splitlines() if 'Err' in l or 'E:' in l]
			raise UserError('no Debian package index reachable'
					f'{": " + err[0].strip() if err else ""}', EXIT_SETUP)
		open(stamp, 'w').close()
		self.forget()

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
		tmp = self.resolved + '.tmp'
		try:
			with open(self.resolved) as f:
				kept = [l for l in f if l.split()[:1] != [spec]]
		except OSError:
			kept = []
		with open(tmp, 'w') as f:
			f.writelines(kept + [f'{spec} {package} {version}\n'])
		os.replace(tmp, self.resolved)

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

	def download(self, package: str, version: str, dest: str) -> str:
		os.makedirs(dest, exist_ok=True)
		for name in os.listdir(dest):
			if name.startswith(f'{package}_') and name.endswith('.deb') and \
			   _deb_version(name) == version:
				return os.path.join(dest, name)
		run(['apt-get'] + self.options() + ['download', '-q', f'{package}={version}'],
		    cwd=dest)
		for name in os.listdir(dest):
			if name.startswith(f'{package}_') and name.endswith('.deb') and \
			   _deb_version(name) == version:
				return os.path.join(dest, name)
		raise UserError(f'apt-get download {package}={version} left no .deb', EXIT_SETUP)


def _deb_version(filename: str) -> str:
	# linux-source-7.3_7.3.4-1~bpo13+1_all.deb; ':' in epochs is '%3a'
	return filename.split('_')[1].replace('%3a', ':')


def _version_key(package: str) -> Tuple[int, ...]:
	return tuple(int(x) for x in re.findall(r'\d+', package.split('linux-source-')[1]))


def package_pattern(spec: str) -> str:
	"""'6.12' -> linux-source-6.12; '7' -> any linux-source-7.N."""
	if re.fullmatch(r'\d+\.\d+', spec):
		return re.escape(f'linux-source-{spec}')
	if re.fullmatch(r'\d+', spec):
		return re.escape(f'linux-source-{spec}.') + r'\d+'
	raise UserError(f'--kernel {spec}: expected 6.12, 7, 7.N or a kernel tree path',
			EXIT_USAGE)


def resolve_package(apt: Apt, spec: str) -> str:
	"""The package for spec; for a major version, the newest one served."""
	pattern = package_pattern(spec)
	found = [p for p in apt.packages(pattern) if apt.candidate(p)]
	if not found:
		wanted = f'linux-source-{spec}' + ('' if '.' in spec else '.*')
		raise UserError(f'--kernel {spec}: no Debian package {wanted} in '
				f'{", ".join(DEBIAN_SUITES)}', EXIT_SETUP)
	return max(found, key=_version_key)


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


def _unpack(deb: str, package: str, dest: str) -> None:
	"""dpkg-deb | tar -xO the source tarball | xz -d | tar -x into dest."""
	tmp = dest + '.partial'
	shutil.rmtree(tmp, ignore_errors=True)
	os.makedirs(tmp)
	member = f'./usr/src/{package}.tar.xz'
	procs = []
	try:
		deb_p = subprocess.Popen(['dpkg-deb', '--fsys-tarfile', deb], stdout=subprocess.PIPE)
		procs.append(deb_p)
		tar_p = subprocess.Popen(['tar', '-xO', member], stdin=deb_p.stdout,
					 stdout=subprocess.PIPE)
		procs.append(tar_p)
		xz_p = subprocess.Popen(['xz', '-dc', '-T0'], stdin=tar_p.stdout,
					stdout=subprocess.PIPE)
		procs.append(xz_p)
		untar = subprocess.Popen(['tar', '-x', '-C', tmp], stdin=xz_p.stdout)
		procs.append(untar)
		for p in procs[:-1]:
			p.stdout.close()
		codes = [p.wait() for p in reversed(procs)]
	except BaseException:
		for p in procs:
			p.kill()
		shutil.rmtree(tmp, ignore_errors=True)
		raise
	if any(codes):
		shutil.rmtree(tmp, ignore_errors=True)
		raise UserError(f'unpacking {os.path.basename(deb)} failed (disk full?)', EXIT_SETUP)
	inner = os.path.join(tmp, package)
	if not os.path.isdir(inner):
		shutil.rmtree(tmp, ignore_errors=True)
		raise UserError(f'{os.path.basename(deb)} holds no {package}/ tree', EXIT_SETUP)
	os.rename(inner, dest)
	shutil.rmtree(tmp, ignore_errors=True)


def debian_source(spec: str, cache_dir: str, stages) -> Source:
	package_pattern(spec)
	apt = Apt(cache_dir)
	with stages.stage('download'):
		apt.update()
		package, version = resolve(apt, spec)
		src_dir = os.path.join(cache_dir, 'src', f'{package}_{version}')
		if not os.path.isdir(src_dir):
			deb = apt.download(package, version, os.path.join(cache_dir, 'debs'))
	if not os.path.isdir(src_dir):
		with stages.stage('unpack'):
			_unpack(deb, package, src_dir)
	key = re.sub(r'[^A-Za-z0-9.+-]', '_', f'{package}_{version}')
	return Source(path=src_dir, label=f'{package} {version}', key=key,
		      package=package, version=version)


def get_source(spec: str, cache_dir: str, stages) -> Source:
	if os.sep in spec or spec.startswith('.') or os.path.isdir(spec):
		return user_tree(spec)
	return debian_source(spec, cache_dir, stages)
