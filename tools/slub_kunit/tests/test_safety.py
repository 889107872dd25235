# SPDX-License-Identifier: GPL-2.0
#
# The runner's promises under a shared directory, odd paths and a patch
# that reaches for what is not its business (README, "Safety").

import os
import shutil
import tempfile
import unittest
from unittest import mock

from slub_kunit import common, host, source
from slub_kunit.tests.test_inputs import run_cli
from slub_kunit.status import Exit


class SafetyTest(unittest.TestCase):

	def setUp(self):
		self.tmp = tempfile.mkdtemp(prefix='slub-kunit-test-')
		self.cache = os.path.join(self.tmp, 'cache')
		self.packages = mock.patch.object(host, 'missing_packages', return_value=[])
		self.packages.start()
		self.work = mock.patch.object(source, 'get_source',
					      side_effect=AssertionError('work started'))
		self.work.start()
		self.kernel = os.path.join(self.tmp, 'linux')
		os.makedirs(os.path.join(self.kernel, 'mm'))
		with open(os.path.join(self.kernel, 'Makefile'), 'w') as f:
			f.write('VERSION = 6\n')

	def tearDown(self):
		self.work.stop()
		self.packages.stop()
		shutil.rmtree(self.tmp)

	def refused(self, argv, words):
		code, err, _ = run_cli(argv)
		self.assertEqual(code, Exit.USAGE, err)
		self.assertEqual(len(err.strip().splitlines()), 1, err)
		self.assertIn(words, err)

	def test_link_at_the_output_is_replaced_not_followed(self):
		victim = os.path.join(self.tmp, 'victim')
		with open(victim, 'w') as f:
			f.write('mine\n')
		out = os.path.join(self.tmp, 'out.json')
		os.symlink(victim, out)
		common.atomic_write(out, 'result\n')
		with open(victim) as f:
			self.assertEqual(f.read(), 'mine\n')
		self.assertFalse(os.path.islink(out))

	def test_no_temporary_name_another_user_can_plant(self):
		"""The old temporary name was <out>.slub-kunit-tmp.<pid>."""
		victim = os.path.join(self.tmp, 'victim')
		with open(victim, 'w') as f:
			f.write('mine\n')
		out = os.path.join(self.tmp, 'out.json')
		os.symlink(victim, f'{out}.slub-kunit-tmp.{os.getpid()}')
		common.atomic_write(out, 'result\n')
		with open(victim) as f:
			self.assertEqual(f.read(), 'mine\n')
		leftovers = [n for n in os.listdir(self.tmp) if n.endswith('.slub-kunit-tmp')]
		self.assertEqual(leftovers, [])

	def test_build_dir_inside_the_users_tree(self):
		for build in (self.kernel, os.path.join(self.kernel, 'build'),
			      os.path.join(self.kernel, 'mm', '..', 'out')):
			with self.subTest(build=build):
				self.refused(['run', '--kernel', self.kernel, '--cache', self.cache,
					      '--build-dir', build], 'only reads')
		self.refused(['run', '--kernel', self.kernel,
			      '--cache', os.path.join(self.kernel, '.cache')], 'only reads')
		self.assertEqual(sorted(os.listdir(self.kernel)), ['Makefile', 'mm'])

	def test_paths_kbuild_cannot_use(self):
		for bad in ('with space', 'with:colon', 'with$dollar'):
			with self.subTest(path=bad):
				self.refused(['run', '--cache', os.path.join(self.tmp, bad)],
					     'kbuild cannot build')
				self.refused(['run', '--cache', self.cache,
					      '--build-dir', os.path.join(self.tmp, bad)],
					     'kbuild cannot build')
				self.assertFalse(os.path.exists(os.path.join(self.tmp, bad)))
