# SPDX-License-Identifier: GPL-2.0
#
# export: a series made with git, signed by the user, holding one
# generation's branches and nothing of the runner's, that git am applies.

import os
import re
import shutil
import subprocess
import tempfile
import unittest
from unittest import mock

from slub_kunit.common import REPO, UserError
from slub_kunit.inbox import patches
from slub_kunit.kernel import source
from slub_kunit.kernel.kunit_tool import QEMU_CONFIG, Build
from slub_kunit.series import export, unifdef
from slub_kunit.status import Exit


class UnifdefTest(unittest.TestCase):

	def test_resolves_only_the_symbols_given(self):
		text = ('#ifdef GEN\nnode\n#else\nmemory\n#endif\n'
			'#ifdef CONFIG_X\nkept\n#else\nkept too\n#endif\n'
			'#if !A || !B\nfallback\n#endif\n'
			'#if __has_include("tree.h")\n#include "tree.h"\n#else\n#define A 1\n#endif\n')
		out = unifdef.strip(text, {'GEN': False, 'A': True, 'B': True,
					   '__has_include("tree.h")': False})
		self.assertEqual(out, 'memory\n#ifdef CONFIG_X\nkept\n#else\nkept too\n#endif\n'
			'#define A 1\n')

	def test_nested(self):
		text = '#ifdef GEN\n#ifdef CONFIG_Y\na\n#endif\nb\n#else\nc\n#endif\n'
		self.assertEqual(unifdef.strip(text, {'GEN': True}), '#ifdef CONFIG_Y\na\n#endif\nb\n')
		self.assertEqual(unifdef.strip(text, {'GEN': False}), 'c\n')

	def test_header_of_each_generation(self):
		with open(os.path.join(REPO, 'mm/slub_kunit_helpers.h')) as f:
			text = f.read()
		for gen in (False, True):
			out = unifdef.strip(text, {'NODE_ADDING_FIRST_MEMORY': gen, 'SLUB_HP_HAVE_BARNS': gen,
						   'SLUB_HP_NODE_NOTIFIER': gen,
						   '__has_include("slub_kunit_tree.h")': False,
						   'SLUB_HP_HAVE_SLAB_NODES': True,
						   'SLUB_HP_HAVE_SLAB_BARN_NODES': True})
			self.assertNotIn('NODE_ADDING_FIRST_MEMORY\n', out.replace('(NODE_ADDING_FIRST_MEMORY', ''))
			self.assertNotIn('__has_include', out)
			self.assertNotIn('slub_hp_probe', out)
			self.assertEqual('NODE_ADDING_FIRST_MEMORY' in out, gen)
			self.assertEqual('MEM_GOING_ONLINE' in out, not gen)
			self.assertEqual(out.count('#if'), out.count('#endif'))


def old_text(patch: patches.Patch, rel: str) -> str:
	"""Lines a hunk for rel expects: enough of a file for it to apply."""
	out, inside = [], False
	for line in patch.text.splitlines():
		if line.startswith('+++ '):
			inside = line[4:].split('/', 1)[-1] == rel
		elif inside and (line.startswith(' ') or line.startswith('-')):
			out.append(line[1:])
		elif inside and line == '':
			out.append('')
	return '\n'.join(out) + '\n'


class ExportTest(unittest.TestCase):

	def setUp(self):
		if not shutil.which('git'):
			self.skipTest('needs git')
		self.tmp = tempfile.mkdtemp(prefix='slub-kunit-test-')
		self.tree = os.path.join(self.tmp, 'linux')
		files = {}
		for p in patches.series(os.path.join(REPO, 'tools', 'patches')):
			for rel in p.paths():
				files[rel] = files.get(rel, '') + old_text(p, rel)
		files['MAINTAINERS'] = ('SLAB ALLOCATOR\nM:\tSomeone <s@example.org>\n'
					'F:\tmm/slub.c\nF:\tmm/slab.h\n\nSOMETHING ELSE\n')
		files[export.DOC_INDEX] = '.. toctree::\n\n   bootmem\n   slab\n   highmem\n'
		files['include/linux/node.h'] = '/* memory notifier */\n'
		files['Makefile'] = 'VERSION = 6\nPATCHLEVEL = 12\nSUBLEVEL = 0\n'
		for rel, text in files.items():
			os.makedirs(os.path.dirname(os.path.join(self.tree, rel)), exist_ok=True)
			with open(os.path.join(self.tree, rel), 'w') as f:
				f.write(text)
		self.src = source.Source(path=self.tree, label='test tree', key='test')
		self.out = os.path.join(self.tmp, 'out')
		os.makedirs(self.out)

	def tearDown(self):
		shutil.rmtree(self.tmp)

	def series(self):
		work = os.path.join(self.tmp, 'work')
		os.makedirs(work)
		return export.write_series(self.src, self.out, 'Ann Author', 'ann@example.org', work)

	def read(self, path):
		with open(path) as f:
			return f.read()

	def test_series_made_and_checked_with_git(self):
		mails = self.series()
		self.assertEqual(len(mails), 2 + len(export.PARTS))
		cover, *rest = [self.read(m) for m in mails]
		self.assertIn(export.COVER_SUBJECT, cover)
		self.assertNotIn('*** ', cover)
		for text in rest:
			self.assertIn('From: Ann Author <ann@example.org>', text)
			self.assertIn('Signed-off-by: Ann Author <ann@example.org>', text)
			self.assertNotIn('localhost', text)
		# Each patch that adds files lists them in MAINTAINERS (checkpatch).
		self.assertEqual(sum('MAINTAINERS' in re.sub(r'\n\n.*', '', t.split('\n---\n', 1)[1],
								flags=re.S) for t in rest), 4)

	def test_each_patch_adds_what_it_uses(self):
		# The cases and helpers a patch adds come with their sections, and
		# mm/slub.c includes only files that exist by then.
		work = os.path.join(self.tmp, 'split')
		series = export.commits(self.src, work)
		seen = {}
		for n, commit in enumerate(series, 1):
			seen.update(commit.files)
			slub = seen.get('mm/slub.c', '')
			for name in re.findall(r'#include "(slub_kunit\w*\.c)"', slub):
				self.assertIn(f'mm/{name}', seen, f'patch {n} includes {name}')
			cases = seen.get('mm/slub_kunit.c', '')
			for name in re.findall(r'KUNIT_CASE\w*\((\w+)', cases):
				self.assertIn(f'static void {name}(struct kunit *test)', cases)
		self.assertEqual(len(series), 1 + len(export.PARTS))
		helpers = series[1].files['mm/slub_kunit_helpers.c']
		self.assertNotIn("Walking the hotplug core's sequences", helpers)
		self.assertNotIn('slub_kunit.c', series[1].files['mm/slub.c'])
		self.assertNotIn('test_event_alloc', series[2].files['mm/slub_kunit.c'])
		self.assertIn('test_event_alloc', series[3].files['mm/slub_kunit.c'])
		# Until the real-hotplug suite comes, the events register alone.
		self.assertIn('#ifndef CONFIG_SLUB_HOTPLUG_REAL_KUNIT_TEST\n'
			      'kunit_test_suite(slub_hotplug_suite);\n#endif\n',
			      series[2].files['mm/slub_kunit.c'])
		self.assertNotIn('#ifdef CONFIG_SLUB_HOTPLUG_REAL_KUNIT_TEST\n#endif',
				 series[2].files['mm/slub.c'])

	def test_one_generation_and_nothing_of_the_runner(self):
		mails = self.series()
		text = ''.join(self.read(m) for m in mails)
		self.assertNotIn('slub_kunit_runner', text)
		self.assertNotIn('slub_kunit_leaks', text)
		self.assertNotIn('SLUB_HOTPLUG_KUNIT_REPEAT', text)
		self.assertNotIn('__has_include', text)
		self.assertNotIn('NODE_ADDING_FIRST_MEMORY', text)
		self.assertIn('MEM_GOING_ONLINE', text)

	def test_identity_from_git_or_refused(self):
		self.assertEqual(export.identity('Bo <bo@example.org>'), ('Bo', 'bo@example.org'))
		with self.assertRaises(UserError):
			export.identity('nobody')
		env = {'HOME': self.tmp, 'GIT_CONFIG_GLOBAL': os.devnull, 'GIT_CONFIG_NOSYSTEM': '1',
		       'PATH': os.environ['PATH'], 'EMAIL': ''}
		old = os.getcwd()
		os.chdir(self.tmp)
		try:
			with mock.patch.dict(os.environ, env, clear=True):
				with self.assertRaises(UserError) as ctx:
					export.identity(None)
		finally:
			os.chdir(old)
		self.assertEqual(ctx.exception.code, Exit.USAGE)
		self.assertIn('--from', str(ctx.exception))


	def test_no_reply_identity_cannot_sign_off(self):
		for given in ('Bo <bo@users.noreply.github.com>', 'Bo <no-reply@example.org>'):
			with self.assertRaises(UserError) as ctx:
				export.identity(given)
			self.assertEqual(ctx.exception.code, Exit.USAGE)
			self.assertIn('cannot sign off', str(ctx.exception))
			# A reply on the list signs nothing off.
			self.assertEqual(export.identity(given, sign_off=False)[0], 'Bo')
		self.assertEqual(export.identity('Bo <replyno@example.org>')[1], 'replyno@example.org')
		env = {'HOME': self.tmp, 'GIT_CONFIG_GLOBAL': os.devnull, 'GIT_CONFIG_NOSYSTEM': '1',
		       'PATH': os.environ['PATH'], 'GIT_AUTHOR_NAME': 'Ci',
		       'GIT_AUTHOR_EMAIL': 'ci@users.noreply.example'}
		with mock.patch.dict(os.environ, env, clear=True):
			with self.assertRaises(UserError) as ctx:
				export.identity(None)
			self.assertIn('your git identity', str(ctx.exception))
			self.assertEqual(export.identity('Real <real@example.org>')[1], 'real@example.org')

	def test_base_commit_of_a_git_tree_and_of_base(self):
		env = dict(os.environ, GIT_AUTHOR_NAME='A', GIT_AUTHOR_EMAIL='a@example.org',
			   GIT_COMMITTER_NAME='A', GIT_COMMITTER_EMAIL='a@example.org',
			   GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM='1')
		with open(os.path.join(self.tree, 'Makefile'), 'w') as f:
			f.write('VERSION = 6\nPATCHLEVEL = 12\nSUBLEVEL = 3\n')
		self.assertEqual(export.base_of(self.src, None), (None, 'v6.12.3'))
		for args in (['init', '-q'], ['add', '-A'], ['commit', '-q', '-m', 'base']):
			subprocess.run(['git', '-C', self.tree] + args, env=env, check=True)
		head = subprocess.run(['git', '-C', self.tree, 'rev-parse', 'HEAD'], env=env,
				      capture_output=True, text=True, check=True).stdout.strip()
		self.assertEqual(export.base_of(self.src, None), (head, 'v6.12.3'))
		self.assertEqual(export.base_of(self.src, 'f' * 40), ('f' * 40, 'v6.12.3'))
		mails = self.series()
		cover = self.read(mails[0])
		self.assertIn(f'\nbase-commit: {head}\n-- \n', cover)
		self.assertIn('Based on v6.12.3.', cover)


class PrefixMachineTest(unittest.TestCase):
	"""export --check builds a prefix that lacks the series' QEMU machine
	(the should_failslab() stub alone) for kunit.py's own machine."""

	def test_a_build_without_the_machine_asks_for_none(self):
		build = Build(tree='/t', build_dir='/b', arch='x86_64', cache_dir='/c')
		self.assertIn('/t/' + QEMU_CONFIG, build.common())
		build = Build(tree='/t', build_dir='/b', arch='x86_64', cache_dir='/c',
			      qemu_config=None)
		self.assertNotIn('--qemu_config', build.common())

	def test_each_arch_its_machine_and_compiler(self):
		from slub_kunit.kernel.kunit_tool import PPC_QEMU_CONFIG
		build = Build(tree='/t', build_dir='/b', arch='ppc64le', cache_dir='/c')
		args = build.common()
		self.assertEqual(args[args.index('--arch') + 1], 'powerpc')
		self.assertEqual(args[args.index('--cross_compile') + 1], 'powerpc64le-linux-gnu-')
		self.assertIn('/t/' + PPC_QEMU_CONFIG, args)
		self.assertNotIn('ccache gcc', ' '.join(build.make_options()))
		build = Build(tree='/t', build_dir='/b', arch='um', cache_dir='/c')
		self.assertNotIn('--qemu_config', build.common())
		self.assertNotIn('--cross_compile', build.common())
		self.assertIsNone(build.front())


if __name__ == '__main__':
	unittest.main()
