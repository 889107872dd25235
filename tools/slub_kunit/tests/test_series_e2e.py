# SPDX-License-Identifier: GPL-2.0
#
# validate on a real three-patch series, end to end, on Debian's 6.12: a
# benign patch, one that breaks I1 (the 5.12 cache-creation race), one that
# changes the policy. As an mbox and as BASE..HEAD of a git repository made
# here from the pristine tree, both must name patch 2 as the first bad one
# with the same verdict per step, and the repository (.git included) must
# be byte for byte what it was.
#
# It builds and boots kernels (about 10 minutes with a warm cache), so it
# runs only when SLUB_KUNIT_E2E=1; `tools/slub-kunit test` leaves it out.

import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, '..', '..', '..'))
RUNNER = os.path.join(REPO, 'tools', 'slub-kunit')
EXAMPLES = os.path.join(REPO, 'tools', 'examples')
IDENTITY = {'GIT_AUTHOR_NAME': 'E2E', 'GIT_AUTHOR_EMAIL': 'e2e@example.org',
	    'GIT_COMMITTER_NAME': 'E2E', 'GIT_COMMITTER_EMAIL': 'e2e@example.org',
	    'GIT_AUTHOR_DATE': '2026-01-01T00:00:00Z',
	    'GIT_COMMITTER_DATE': '2026-01-01T00:00:00Z'}
CACHE = os.path.abspath(os.environ.get('SLUB_KUNIT_CACHE',
				      os.path.expanduser('~/.cache/slub-kunit')))
BENIGN = ('mm/slub: fix a comment', 'Object debugging', 'Object debugging (checked)')


def tree_manifest(root: str) -> dict:
	"""Every entry below root: mode, mtime and, for files, a SHA256."""
	out = {}
	for d, dirs, files in os.walk(root):
		for name in dirs + files:
			path = os.path.join(d, name)
			st = os.lstat(path)
			digest = ''
			if os.path.isfile(path) and not os.path.islink(path):
				h = hashlib.sha256()
				with open(path, 'rb') as f:
					for block in iter(lambda: f.read(1 << 20), b''):
						h.update(block)
				digest = h.hexdigest()
			out[os.path.relpath(path, root)] = (st.st_mode, st.st_mtime_ns, digest)
	return out


@unittest.skipUnless(os.environ.get('SLUB_KUNIT_E2E') == '1', 'SLUB_KUNIT_E2E=1 runs it')
class SeriesEndToEnd(unittest.TestCase):

	@classmethod
	def setUpClass(cls):
		cls.tmp = tempfile.mkdtemp(prefix='slub-kunit-e2e-')
		cls.repo = os.path.join(cls.tmp, 'linux')
		pristine = cls.pristine_tree()
		shutil.copytree(pristine, cls.repo, symlinks=True)
		cls.git('init', '-q')
		# Debian's linux-source .gitignore ignores everything at the top.
		cls.git('add', '-A', '-f')
		cls.git('commit', '-q', '-m', 'linux 6.12 (Debian)')
		cls.base = cls.git('rev-parse', 'HEAD').strip()
		cls.commit_benign()
		for name in ('6.12-cache-race.patch', '6.12-memory-policy.patch'):
			cls.commit_example(os.path.join(EXAMPLES, name))
		cls.mbox = os.path.join(cls.tmp, 'series.mbox')
		with open(cls.mbox, 'w') as f:
			f.write(cls.git('format-patch', '--stdout', f'{cls.base}..HEAD'))

	@classmethod
	def tearDownClass(cls):
		# The runner keys what it keeps of a git tree by the tree's path:
		# drop this test's trees and builds from the cache as well.
		tag = os.path.basename(cls.tmp)
		for sub in ('src', 'work', 'build'):
			for path in glob.glob(os.path.join(CACHE, sub, f'*{tag}*')):
				shutil.rmtree(path, ignore_errors=True)
		shutil.rmtree(cls.tmp, ignore_errors=True)

	@classmethod
	def pristine_tree(cls) -> str:
		sys.path.insert(0, os.path.join(REPO, 'tools'))
		from slub_kunit.common import Stages
		from slub_kunit.kernel import source
		return source.get_source('6.12', CACHE, Stages()).path

	@classmethod
	def git(cls, *args: str) -> str:
		env = dict(os.environ, **IDENTITY)
		# Git's automatic gc must finish before the manifest is taken.
		proc = subprocess.run(['git', '-C', cls.repo, '-c', 'gc.autoDetach=false'] + list(args),
				      capture_output=True, text=True, env=env)
		if proc.returncode:
			raise AssertionError(f'git {" ".join(args)}: {proc.stderr.strip()}')
		return proc.stdout

	@classmethod
	def commit_benign(cls):
		title, old, new = BENIGN
		path = os.path.join(cls.repo, 'mm', 'slub.c')
		with open(path) as f:
			text = f.read()
		assert old in text, f'{old!r} not in mm/slub.c'
		with open(path, 'w') as f:
			f.write(text.replace(old, new, 1))
		cls.git('commit', '-q', '-am', title)

	@classmethod
	def commit_example(cls, path: str):
		with open(path) as f:
			subject = next(line for line in f if line.startswith('Subject: '))
		cls.git('apply', path)
		cls.git('commit', '-q', '-am', subject.split('] ', 1)[1].strip())

	def validate(self, name: str, *args: str) -> tuple:
		out = os.path.join(self.tmp, f'{name}.json')
		res = subprocess.run([RUNNER, 'validate', '--json', out] + list(args),
				     capture_output=True, text=True)
		sys.stderr.write(res.stdout + res.stderr)
		with open(out) as f:
			return res.returncode, res.stdout + res.stderr, json.load(f)

	@staticmethod
	def verdicts(doc: dict) -> list:
		return [(s['step'], s['verdict'], sorted((c['case'], c['kind']) for c in s['changes']))
			for s in doc['steps']]

	def test_mbox_and_commits_agree_and_the_repository_is_untouched(self):
		before = tree_manifest(self.repo)
		code, out, mbox = self.validate('mbox', '--kernel', '6.12', '--patch', self.mbox)
		self.assertEqual(code, 6)
		self.assertIn('first bad: patch 2/3', out)
		code, out, git = self.validate('commits', '--kernel', self.repo,
					       '--commits', f'{self.base[:12]}..HEAD')
		self.assertEqual(code, 6)
		self.assertIn('first bad: patch 2/3', out)
		self.assertEqual(self.verdicts(mbox), self.verdicts(git))
		self.assertEqual(mbox['first_bad'], git['first_bad'])
		after = tree_manifest(self.repo)
		changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
		self.assertEqual(changed, [], f'{len(changed)} entries changed')


if __name__ == '__main__':
	unittest.main()
