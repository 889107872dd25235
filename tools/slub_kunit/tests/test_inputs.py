# SPDX-License-Identifier: GPL-2.0
#
# Hostile and careless command lines: each ends in one line on stderr and
# the documented exit code, before any work is done.

import contextlib
import errno
import io
import os
import shutil
import subprocess
import tempfile
import unittest
from unittest import mock

from slub_kunit import cli, host, pipeline
from slub_kunit.common import UserError
from slub_kunit.kernel import kunit_tool, results, source
from slub_kunit.status import Exit


def run_cli(argv):
	err = io.StringIO()
	out = io.StringIO()
	with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
		code = cli.main(argv)
	return code, err.getvalue(), out.getvalue()


class CliInputTest(unittest.TestCase):

	def setUp(self):
		self.tmp = tempfile.mkdtemp(prefix='slub-kunit-test-')
		self.cache = os.path.join(self.tmp, 'cache')
		self.packages = mock.patch.object(host, 'missing_packages', return_value=[])
		self.packages.start()
		# No test here may get as far as fetching or building a kernel.
		self.work = mock.patch.object(source, 'debian_source',
					      side_effect=AssertionError('work started'))
		self.work.start()

	def tearDown(self):
		self.work.stop()
		self.packages.stop()
		for d, dirs, _ in os.walk(self.tmp):
			for name in dirs:
				os.chmod(os.path.join(d, name), 0o755)
		shutil.rmtree(self.tmp)

	def assertOneLineError(self, argv, code, words, cache=True):
		got, err, _ = run_cli(argv + (['--cache', self.cache] if cache else []))
		self.assertEqual(got, code, err)
		self.assertEqual(len(err.strip().splitlines()), 1, err)
		self.assertTrue(err.startswith('slub-kunit: error: '), err)
		self.assertIn(words, err)
		self.assertNotIn("['", err)
		return err

	def test_kconfig_option(self):
		for bad in ('CONFIG_X=$(rm -rf ~)', 'X=y', 'CONFIG_X', 'CONFIG_X="a b"'):
			self.assertOneLineError(['run', '--kconfig', bad], 2, 'not CONFIG_NAME=y')
		args = cli.parser().parse_args(['run', '--kconfig', 'CONFIG_MEMORY_HOTREMOVE=n',
						'--kconfig', 'CONFIG_NR_CPUS=4'])
		self.assertEqual(args.kconfig, ['CONFIG_MEMORY_HOTREMOVE=n', 'CONFIG_NR_CPUS=4'])
		# Each set of added options builds in a directory of its own.
		plain = pipeline.RunRequest(cache=self.cache)
		one = pipeline.RunRequest(cache=self.cache, kconfig=['CONFIG_MEMORY_HOTREMOVE=n'])
		src = mock.Mock(key='linux-source-6.12')
		self.assertNotEqual(pipeline.build_dir_for(plain, src), pipeline.build_dir_for(one, src))
		self.assertIn('CONFIG_MEMORY_HOTREMOVE=n', one.kconfig_add())
		# Options that rule out the real-hotplug suite turn off its
		# option (the QEMU machine turns it on), or kunit.py refuses
		# the .config; and the boot then expects the events alone.
		self.assertIn('CONFIG_SLUB_HOTPLUG_REAL_KUNIT_TEST=n', one.kconfig_add())
		self.assertNotIn('CONFIG_SLUB_HOTPLUG_REAL_KUNIT_TEST=n', plain.kconfig_add())
		for text, suites in (('CONFIG_SLUB_HOTPLUG_REAL_KUNIT_TEST=y\n', results.SUITES),
				     ('# CONFIG_SLUB_HOTPLUG_REAL_KUNIT_TEST is not set\n',
				      ('slub_hotplug',))):
			with open(os.path.join(self.tmp, '.config'), 'w') as f:
				f.write('CONFIG_KUNIT=y\n' + text)
			build = kunit_tool.Build(tree=self.tmp, arch='x86_64', build_dir=self.tmp,
						 cache_dir=self.cache)
			self.assertEqual(pipeline.expected_suites(build), suites)

	def file(self, name, data=b''):
		path = os.path.join(self.tmp, name)
		with open(path, 'wb') as f:
			f.write(data)
		return path

	def test_nonexistent_kernel_path(self):
		self.assertOneLineError(['run', '--kernel', os.path.join(self.tmp, 'none')],
					Exit.USAGE, 'no such directory')

	def test_non_kernel_path(self):
		os.makedirs(os.path.join(self.tmp, 'notlinux'))
		self.assertOneLineError(['run', '--kernel', os.path.join(self.tmp, 'notlinux')],
					Exit.USAGE, 'not a kernel tree')

	def test_unknown_kernel_value(self):
		self.assertOneLineError(['run', '--kernel', 'banana'], Exit.USAGE, 'expected 6.12, 7')

	def test_missing_patch_file(self):
		self.assertOneLineError(['run', '--patch', os.path.join(self.tmp, 'x.patch')],
					Exit.PATCH, 'no such file')

	def test_empty_patch_file(self):
		self.assertOneLineError(['run', '--patch', self.file('empty.patch')], Exit.PATCH,
					'empty')

	def test_binary_patch_file(self):
		self.assertOneLineError(['run', '--patch', self.file('bin.patch', b'\x00\x01bin')],
					Exit.PATCH, 'binary')

	def test_patch_out_of_the_tree(self):
		text = b'--- a/x\n+++ b//etc/passwd\n@@ -1 +1 @@\n-a\n+b\n'
		self.assertOneLineError(['run', '--patch', self.file('abs.patch', text)],
					Exit.PATCH, 'outside the kernel tree')

	def test_jobs_must_be_positive(self):
		for value in ('0', '-3', 'x'):
			self.assertOneLineError(['run', '--jobs', value], Exit.USAGE, '--jobs')

	def test_output_files_checked_first(self):
		os.makedirs(os.path.join(self.tmp, 'adir'))
		ro = os.path.join(self.tmp, 'ro')
		os.makedirs(ro)
		os.chmod(ro, 0o555)
		cases = [(os.path.join(self.tmp, 'adir'), 'is a directory'),
			 (os.path.join(self.tmp, 'missing', 'r.json'), 'no such directory')]
		if os.geteuid() != 0:
			cases.append((os.path.join(ro, 'r.json'), 'not writable'))
		for path, words in cases:
			for opt in ('--json', '--junit'):
				self.assertOneLineError(['run', opt, path], Exit.USAGE, words)

	def test_relative_paths_become_absolute(self):
		old = os.getcwd()
		os.chdir(self.tmp)
		try:
			args = cli.parser().parse_args(['run', '--cache', 'rel/cache', '--build-dir', 'b',
							'--json', 'r.json'])
		finally:
			os.chdir(old)
		self.assertEqual(args.cache, os.path.join(os.path.realpath(self.tmp), 'rel/cache'))
		self.assertTrue(os.path.isabs(args.build_dir))
		self.assertTrue(os.path.isabs(args.json_path))

	def test_version_is_not_hijacked_by_a_directory(self):
		old = os.getcwd()
		os.chdir(self.tmp)
		os.makedirs('6.12')
		try:
			self.assertEqual(cli.parser().parse_args(['run']).kernel, '6.12')
			self.assertEqual(cli.parser().parse_args(['run', '--kernel', '6.12']).kernel,
					 '6.12')
			self.assertEqual(cli.parser().parse_args(['run', '--kernel', './6.12']).kernel,
					 os.path.join(os.path.realpath(self.tmp), '6.12'))
		finally:
			os.chdir(old)

	def test_test_with_bogus_kernel(self):
		self.assertOneLineError(['test', '--kernel', 'bogus'], Exit.USAGE, 'bogus')

	def test_export_into_a_non_empty_directory(self):
		out = os.path.join(self.tmp, 'out')
		os.makedirs(out)
		self.file('out/0001-old.patch', b'old')
		self.assertOneLineError(['export', '--out', out], Exit.USAGE, 'not an empty directory')

	def test_unknown_version_lists_what_there_is(self):
		apt = mock.Mock()
		apt.packages.side_effect = lambda pat: [p for p in (
			'linux-source-6.1', 'linux-source-6.12', 'linux-source-7.3')
			if __import__('re').fullmatch(pat, p)]
		apt.candidate.return_value = '1'
		with self.assertRaises(UserError) as ctx:
			source.resolve_package(apt, '5.10')
		self.assertEqual(ctx.exception.code, Exit.USAGE)
		self.assertIn('available: 6.1, 6.12, 7.3', str(ctx.exception))

	def test_full_cache_disk(self):
		full = mock.Mock(f_bavail=10, f_frsize=4096)
		req = pipeline.RunRequest(cache=self.tmp)
		with mock.patch.object(os, 'statvfs', return_value=full):
			with self.assertRaises(UserError) as ctx:
				pipeline.check_space(req, warm=False)
		self.assertEqual(ctx.exception.code, Exit.SETUP)
		self.assertIn('MiB free', str(ctx.exception))

	def test_warm_run_needs_little_space(self):
		gig = mock.Mock(f_bavail=1 << 18, f_frsize=4096)
		req = pipeline.RunRequest(cache=self.tmp)
		with mock.patch.object(os, 'statvfs', return_value=gig):
			pipeline.check_space(req, warm=True)
			with self.assertRaises(UserError):
				pipeline.check_space(req, warm=False)

	def test_unwritable_cache(self):
		target = self.file('file')
		got, err, _ = run_cli(['run', '--cache', os.path.join(target, 'sub')])
		self.assertEqual(got, Exit.SETUP, err)
		self.assertEqual(len(err.strip().splitlines()), 1)

	def test_unwritable_build_dir(self):
		target = self.file('file')
		self.assertOneLineError(['run', '--build-dir', os.path.join(target, 'sub')],
					Exit.SETUP, '--build-dir')

	def test_disk_full_midway(self):
		full = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), '/cache/work/x')
		with mock.patch.object(pipeline, 'run_suite', side_effect=full):
			self.assertOneLineError(['run'], Exit.SETUP, 'No space left on device')

	def test_ctrl_c(self):
		with mock.patch.object(pipeline, 'run_suite', side_effect=KeyboardInterrupt):
			got, err, _ = run_cli(['run', '--cache', self.cache])
		self.assertEqual(got, Exit.INTERRUPTED)
		self.assertIn('interrupted', err)

	def test_validate_checks_patches_before_any_build(self):
		self.assertOneLineError(['validate', '--patch', os.path.join(self.tmp, 'nope')],
					Exit.PATCH, 'no such file')
		self.assertOneLineError(['validate'], Exit.USAGE, 'needs --patch')

	def test_commit_needs_a_repository_path(self):
		from slub_kunit.judge import validate
		req = pipeline.RunRequest(cache=self.cache)
		with self.assertRaises(UserError) as ctx:
			validate.from_commits(req, 'a..b')
		self.assertEqual(ctx.exception.code, Exit.USAGE)
		with self.assertRaises(UserError):
			validate.from_commits(req, 'nonsense')


class HostTest(unittest.TestCase):

	def test_qemu_missing_as_user(self):
		with mock.patch.object(host, '_present', side_effect=lambda w: 'qemu' not in w), \
		     mock.patch.object(os, 'geteuid', return_value=1000):
			with self.assertRaises(UserError) as ctx:
				host.ensure_packages(['x86_64'])
		self.assertIn('apt-get install -y qemu-system-data qemu-system-x86', str(ctx.exception))
		self.assertEqual(ctx.exception.code, Exit.SETUP)

	def test_um_needs_no_qemu(self):
		with mock.patch.object(host, '_present', side_effect=lambda w: 'qemu' not in w):
			self.assertEqual(host.missing_packages(['um']), [])

	def test_qemu_front_drops_kvm(self):
		tmp = tempfile.mkdtemp(prefix='slub-kunit-test-')
		self.addCleanup(shutil.rmtree, tmp)
		real_dir = os.path.join(tmp, 'real')
		os.makedirs(real_dir)
		fake = os.path.join(real_dir, 'fake-qemu')
		with open(fake, 'w') as f:
			f.write('#!/bin/sh\necho "$@"\n')
		os.chmod(fake, 0o755)
		with mock.patch.dict(os.environ, {'PATH': real_dir + os.pathsep + os.environ['PATH']}):
			front = host.qemu_front(os.path.join(tmp, 'bin'), qemu='fake-qemu').dir
		out = subprocess.run([os.path.join(front, 'fake-qemu'), '-m', '1', '-accel', 'kvm',
				      '-accel', 'hvf', '-accel', 'tcg'], capture_output=True, text=True,
				     env={k: v for k, v in os.environ.items() if k != 'SLUB_KUNIT_KVM'})
		self.assertEqual(out.stdout.split(), ['-m', '1', '-accel', 'tcg'])
		# A runner started with the front already first in PATH (bench)
		# still finds the real QEMU, not the front.
		path = front + os.pathsep + real_dir + os.pathsep + os.environ['PATH']
		with mock.patch.dict(os.environ, {'PATH': path}):
			self.assertEqual(host.qemu_front(os.path.join(tmp, 'bin'), qemu='fake-qemu'),
					 (front, fake))
		with open(os.path.join(front, 'fake-qemu')) as f:
			self.assertIn(repr(fake), f.read())
		# Another QEMU first in another caller's PATH gets a front of its
		# own: the first front still calls the first QEMU.
		other_dir = os.path.join(tmp, 'other')
		os.makedirs(other_dir)
		shutil.copy(fake, other_dir)
		with mock.patch.dict(os.environ, {'PATH': other_dir + os.pathsep + os.environ['PATH']}):
			other = host.qemu_front(os.path.join(tmp, 'bin'), qemu='fake-qemu').dir
		self.assertNotEqual(other, front)
		with open(os.path.join(front, 'fake-qemu')) as f:
			self.assertIn(repr(fake), f.read())
		# The front of a QEMU that is gone goes with the next one written.
		os.unlink(os.path.join(other_dir, 'fake-qemu'))
		with mock.patch.dict(os.environ, {'PATH': real_dir + os.pathsep + os.environ['PATH']}):
			host.qemu_front(os.path.join(tmp, 'bin'), qemu='fake-qemu')
		self.assertFalse(os.path.exists(other))
		self.assertTrue(os.path.exists(front))


if __name__ == '__main__':
	unittest.main()
