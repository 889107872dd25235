# SPDX-License-Identifier: GPL-2.0
#
# Hostile inputs: each ends in one line on stderr and a non-zero exit.

import contextlib
import io
import os
import shutil
import tempfile
import unittest
from unittest import mock

from slub_kunit import cli, host, source
from slub_kunit.common import EXIT_INTERRUPTED, EXIT_SETUP, EXIT_USAGE, UserError


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

	def tearDown(self):
		self.packages.stop()
		shutil.rmtree(self.tmp)

	def assertOneLineError(self, argv, code, words):
		got, err, _ = run_cli(argv + ['--cache', self.cache])
		self.assertEqual(got, code, err)
		self.assertEqual(len(err.strip().splitlines()), 1, err)
		self.assertTrue(err.startswith('slub-kunit: error: '), err)
		self.assertIn(words, err)

	def test_nonexistent_kernel_path(self):
		self.assertOneLineError(['run', '--kernel', os.path.join(self.tmp, 'none')],
					EXIT_USAGE, 'no such directory')

	def test_non_kernel_path(self):
		os.makedirs(os.path.join(self.tmp, 'notlinux'))
		self.assertOneLineError(['run', '--kernel', os.path.join(self.tmp, 'notlinux')],
					EXIT_USAGE, 'not a kernel tree')

	def test_unknown_kernel_value(self):
		self.assertOneLineError(['run', '--kernel', 'banana'], EXIT_USAGE, 'expected 6.12, 7')

	def test_missing_patch_file(self):
		self.assertOneLineError(['run', '--patch', os.path.join(self.tmp, 'x.patch')],
					4, 'no such file')

	def test_empty_patch_file(self):
		path = os.path.join(self.tmp, 'empty.patch')
		open(path, 'w').close()
		self.assertOneLineError(['run', '--patch', path], 4, 'empty')

	def test_binary_patch_file(self):
		path = os.path.join(self.tmp, 'bin.patch')
		with open(path, 'wb') as f:
			f.write(b'\x00\x01binary')
		self.assertOneLineError(['run', '--patch', path], 4, 'binary')

	def test_full_cache_disk(self):
		full = mock.Mock(f_bavail=10, f_frsize=4096)
		with mock.patch.object(os, 'statvfs', return_value=full):
			self.assertOneLineError(['run'], EXIT_SETUP, 'MiB free')

	def test_unwritable_cache(self):
		target = os.path.join(self.tmp, 'file')
		open(target, 'w').close()
		got, err, _ = run_cli(['run', '--cache', os.path.join(target, 'sub')])
		self.assertEqual(got, EXIT_SETUP, err)
		self.assertEqual(len(err.strip().splitlines()), 1)

	def test_unwritable_build_dir(self):
		target = os.path.join(self.tmp, 'file')
		open(target, 'w').close()
		self.assertOneLineError(['run', '--build-dir', os.path.join(target, 'sub')],
					EXIT_SETUP, '--build-dir')

	def test_disk_full_midway(self):
		import errno
		full = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), '/cache/work/x')
		with mock.patch.object(cli, 'run_suite', side_effect=full):
			self.assertOneLineError(['run'], EXIT_SETUP, 'No space left on device')

	def test_ctrl_c(self):
		with mock.patch.object(cli, 'run_suite', side_effect=KeyboardInterrupt):
			got, err, _ = run_cli(['run', '--cache', self.cache])
		self.assertEqual(got, EXIT_INTERRUPTED)
		self.assertIn('interrupted', err)


class HostTest(unittest.TestCase):

	def test_qemu_missing_as_user(self):
		with mock.patch.object(host, '_present', side_effect=lambda w: 'qemu' not in w), \
		     mock.patch.object(os, 'geteuid', return_value=1000):
			with self.assertRaises(UserError) as ctx:
				host.ensure_packages(['x86_64'])
		self.assertIn('apt-get install -y qemu-system-data qemu-system-x86', str(ctx.exception))
		self.assertEqual(ctx.exception.code, EXIT_SETUP)

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
			front = host.qemu_front(os.path.join(tmp, 'bin'), qemu='fake-qemu')
		import subprocess
		out = subprocess.run([os.path.join(front, 'fake-qemu'), '-m', '1', '-accel', 'kvm',
				      '-accel', 'hvf', '-accel', 'tcg'], capture_output=True, text=True,
				     env={k: v for k, v in os.environ.items() if k != 'SLUB_KUNIT_KVM'})
		self.assertEqual(out.stdout.split(), ['-m', '1', '-accel', 'tcg'])
		# A runner started with the front already first in PATH (bench)
		# still finds the real QEMU, not the front.
		path = front + os.pathsep + real_dir + os.pathsep + os.environ['PATH']
		with mock.patch.dict(os.environ, {'PATH': path}):
			host.qemu_front(front, qemu='fake-qemu')
		with open(os.path.join(front, 'fake-qemu')) as f:
			self.assertIn(repr(fake), f.read())


class FakeApt(source.Apt):

	def __init__(self, names, candidates):
		self.names = names
		self.candidates = candidates

	def packages(self, pattern):
		import re
		return sorted(n for n in self.names if re.fullmatch(pattern, n))

	def candidate(self, package):
		return self.candidates.get(package)


class SourceTest(unittest.TestCase):

	def test_newest_7(self):
		apt = FakeApt(['linux-source-6.12', 'linux-source-7.2', 'linux-source-7.10',
			       'linux-source-7.3'],
			      {'linux-source-7.2': '1', 'linux-source-7.3': '1',
			       'linux-source-7.10': None, 'linux-source-6.12': '1'})
		self.assertEqual(source.resolve_package(apt, '7'), 'linux-source-7.3')
		self.assertEqual(source.resolve_package(apt, '6.12'), 'linux-source-6.12')

	def test_no_package_reachable(self):
		with self.assertRaises(UserError) as ctx:
			source.resolve_package(FakeApt([], {}), '7')
		self.assertEqual(ctx.exception.code, EXIT_SETUP)
		self.assertIn('linux-source-7.*', str(ctx.exception))

	def test_resolution_remembered_until_update(self):
		tmp = tempfile.mkdtemp(prefix='slub-kunit-test-')
		self.addCleanup(shutil.rmtree, tmp)
		apt = FakeApt(['linux-source-7.2'], {'linux-source-7.2': '7.2.1-1'})
		source.Apt.__init__(apt, tmp)
		os.makedirs(apt.root)
		self.assertEqual(source.resolve(apt, '7'), ('linux-source-7.2', '7.2.1-1'))
		apt.names, apt.candidates = [], {}
		self.assertEqual(source.resolve(apt, '7'), ('linux-source-7.2', '7.2.1-1'))
		apt.forget()
		with self.assertRaises(UserError):
			source.resolve(apt, '7')

	def test_apt_update_unreachable(self):
		tmp = tempfile.mkdtemp(prefix='slub-kunit-test-')
		self.addCleanup(shutil.rmtree, tmp)
		failed = mock.Mock(returncode=100, stdout='Err:1 http://x trixie InRelease\n')
		with mock.patch.object(source, 'run', return_value=failed):
			with self.assertRaises(UserError) as ctx:
				source.Apt(tmp).update()
		self.assertIn('no Debian package index reachable', str(ctx.exception))

	def test_generation(self):
		tmp = tempfile.mkdtemp(prefix='slub-kunit-test-')
		self.addCleanup(shutil.rmtree, tmp)
		os.makedirs(os.path.join(tmp, 'include/linux'))
		path = os.path.join(tmp, 'include/linux/node.h')
		with open(path, 'w') as f:
			f.write('#define MEM_ONLINE 1\n')
		self.assertEqual(source.generation_of(tmp), source.GEN_MEMORY)
		with open(path, 'w') as f:
			f.write('#define NODE_ADDING_FIRST_MEMORY (1<<0)\n')
		self.assertEqual(source.generation_of(tmp), source.GEN_NODE)

	def test_in_tree_config_refused(self):
		tmp = tempfile.mkdtemp(prefix='slub-kunit-test-')
		self.addCleanup(shutil.rmtree, tmp)
		for rel in source.KERNEL_MARKERS + ('.config',):
			os.makedirs(os.path.dirname(os.path.join(tmp, rel)), exist_ok=True)
			open(os.path.join(tmp, rel), 'w').close()
		with self.assertRaises(UserError) as ctx:
			source.user_tree(tmp)
		self.assertIn('mrproper', str(ctx.exception))


if __name__ == '__main__':
	unittest.main()
