# SPDX-License-Identifier: GPL-2.0
"""The sandbox the tree's code runs in: a hostile kunit.py (the tree's
own, as a patch may make it) tries what a patch's Makefile, Kconfig or
scripts/ could, and the test checks each try failed, with no kernel
built. The same kunit.py run --trusted succeeds at each: the checks can
fail."""

import json
import os
import shutil
import subprocess
import tempfile
import unittest
from typing import List

from slub_kunit.common import HostError
from slub_kunit.judge import hostile
from slub_kunit.kernel import sandbox
from slub_kunit.kernel.kunit_tool import Build

ADDR_NO_RANDOMIZE = 0x0040000

HOSTILE = r'''
import json, os, socket, sys
build = sys.argv[sys.argv.index('--build_dir') + 1]
os.makedirs(build, exist_ok=True)
probe = json.load(open(os.path.join(os.path.dirname(__file__), 'probe.json')))
got = {}

def attempt(name, fn):
    try:
        fn()
        got[name] = True
    except Exception as e:
        got[name] = False

def write(path):
    with open(path, 'w') as f:
        f.write('planted')

attempt('write_outside', lambda: write(os.path.join(probe['outside'], 'planted')))
attempt('write_tree', lambda: write(os.path.join(probe['tree'], 'Makefile')))
attempt('write_ccache', lambda: write(os.path.join(probe['ccache'], 'forged')))
attempt('read_secret_file', lambda: open(probe['secret_file']).read())
attempt('read_home', lambda: os.listdir(probe['home']))
attempt('read_shadow', lambda: open('/etc/shadow').read())
got['env_token'] = os.environ.get('SLUB_KUNIT_TEST_TOKEN') == 'sekrit'

def connect():
    with socket.create_connection(('127.0.0.1', probe['port']), timeout=3) as s:
        s.sendall(b'hello')

attempt('connect', connect)
attempt('write_build', lambda: write(os.path.join(build, 'built')))
with open(os.path.join(build, 'report.json'), 'w') as f:
    json.dump(got, f)
'''


def can_sandbox() -> bool:
	return os.geteuid() == 0 and shutil.which('bwrap') is not None and \
		os.path.exists(sandbox.PYTHON)


@unittest.skipUnless(can_sandbox(), 'needs root, bwrap and /usr/bin/python3')
class HostileTreeTest(unittest.TestCase):
	"""A tree whose kunit.py tries to escape."""

	def setUp(self) -> None:
		self.top = tempfile.mkdtemp(prefix='slub-kunit-sandbox-')
		self.cache = os.path.join(self.top, 'cache')
		self.tree = os.path.join(self.cache, 'work', 'tree')
		self.outside = os.path.join(self.top, 'outside')
		self.home = os.path.join(self.top, 'home')
		for d in (self.tree, self.outside, self.home):
			os.makedirs(d)
		secret = os.path.join(self.home, 'id_rsa')
		with open(secret, 'w') as f:
			f.write('key')
		kunit = os.path.join(self.tree, 'tools', 'testing', 'kunit')
		os.makedirs(kunit)
		with open(os.path.join(kunit, 'kunit.py'), 'w') as f:
			f.write(HOSTILE)
		with open(os.path.join(self.tree, 'Makefile'), 'w') as f:
			f.write('# pristine\n')
		self.listener = hostile.Listener()
		self.ccache = os.path.join(self.cache, 'ccache')
		os.makedirs(self.ccache)
		with open(os.path.join(kunit, 'probe.json'), 'w') as f:
			json.dump({'outside': self.outside, 'tree': self.tree, 'ccache': self.ccache,
				   'secret_file': secret, 'home': self.home,
				   'port': self.listener.port}, f)
		os.environ['SLUB_KUNIT_TEST_TOKEN'] = 'sekrit'
		os.environ['SLUB_KUNIT_CCACHE_DIR'] = self.ccache

	def tearDown(self) -> None:
		self.listener.close()
		del os.environ['SLUB_KUNIT_TEST_TOKEN']
		del os.environ['SLUB_KUNIT_CCACHE_DIR']
		shutil.rmtree(self.top, ignore_errors=True)

	def build(self, **kw: object) -> Build:
		return Build(tree=self.tree, build_dir=os.path.join(self.cache, 'build', 'b'),
			     arch='um', cache_dir=self.cache, **kw)

	def run_kunit(self, build: Build) -> dict:
		res = build.kunit('config', [], capture=True)
		self.assertEqual(res.returncode, 0, res.stdout)
		with open(os.path.join(build.output_dir(), 'report.json')) as f:
			return json.load(f)

	def assert_contained(self, got: dict) -> None:
		for name in ('write_outside', 'write_tree', 'read_secret_file', 'read_home',
			     'read_shadow', 'env_token', 'connect'):
			self.assertFalse(got[name], f'the sandboxed tree could: {name}')
		self.assertTrue(got['write_build'])
		self.assertEqual(os.listdir(self.outside), [])
		with open(os.path.join(self.tree, 'Makefile')) as f:
			self.assertEqual(f.read(), '# pristine\n')
		self.assertEqual(self.listener.received, [])

	def test_sandboxed_tree_is_contained(self) -> None:
		got = self.run_kunit(self.build(ccache_writable=False))
		self.assert_contained(got)
		self.assertFalse(got['write_ccache'])
		self.assertEqual(os.listdir(self.ccache), [])

	def test_overlay_keeps_the_build_directory(self) -> None:
		"""What an untrusted build writes to the build directory lands in
		the overlay, never in the warm directory below it."""
		build = self.build(ccache_writable=False)
		os.makedirs(build.build_dir)
		with open(os.path.join(build.build_dir, 'built'), 'w') as f:
			f.write('warm')
		build.overlay = sandbox.Overlay(lower=build.build_dir,
						root=os.path.join(self.cache, 'sandbox', 'b'))
		build.overlay.create()
		got = self.run_kunit(build)
		self.assert_contained(got)
		with open(os.path.join(build.build_dir, 'built')) as f:
			self.assertEqual(f.read(), 'warm')
		self.assertFalse(os.path.exists(os.path.join(build.build_dir, 'report.json')))
		with open(os.path.join(build.overlay.upper, 'built')) as f:
			self.assertEqual(f.read(), 'planted')
		build.overlay.remove()
		self.assertFalse(os.path.exists(build.overlay.root))

	def test_trusted_tree_is_not_contained(self) -> None:
		"""--trusted runs the tree's code as the runner: the probes above
		can see an escape."""
		got = self.run_kunit(self.build(trusted=True))
		self.assertTrue(got['write_outside'])
		self.assertTrue(got['env_token'])
		self.assertTrue(got['connect'])
		self.assertTrue(got['write_ccache'])


@unittest.skipUnless(can_sandbox(), 'needs root, bwrap and /usr/bin/python3')
class ProcessTest(unittest.TestCase):
	"""What a process inside may and may not keep across exec."""

	def inside(self, cmd: List[str]) -> str:
		box = sandbox.Sandbox()
		return subprocess.run(box.argv(cmd, '/'), stdout=subprocess.PIPE, check=True,
				      text=True, stdin=subprocess.DEVNULL).stdout

	def test_no_capability_comes_back_on_exec(self) -> None:
		"""The bounding set is empty: an exec as root regains nothing."""
		status = self.inside(['/usr/bin/cat', '/proc/self/status'])
		caps = dict(line.split(':\t') for line in status.splitlines()
			    if line.startswith('Cap'))
		for name in ('CapPrm', 'CapEff', 'CapBnd', 'CapAmb'):
			self.assertEqual(int(caps[name], 16), 0, name)

	def test_a_kernel_can_turn_aslr_off(self) -> None:
		"""A UML kernel (7.x) sets ADDR_NO_RANDOMIZE and executes itself
		again until the flag holds: it must survive the exec, or UML
		loops for ever without printing a line."""
		got = self.inside(['/usr/bin/setarch', '-R', '/usr/bin/cat', '/proc/self/personality'])
		self.assertTrue(int(got, 16) & ADDR_NO_RANDOMIZE, got)


class MachineFailureTest(unittest.TestCase):
	"""A configuration or build the machine failed is no verdict on the
	tree: a sandbox that could not be set up, a full disk."""

	def test_machine_or_tree(self) -> None:
		build = Build(tree='/t', build_dir='/b', arch='x86_64', cache_dir='/c')
		for output in ('bwrap: Creating new namespace failed: Operation not permitted\n',
			       'slub-kunit sandbox: overlay on /b: No such device\n',
			       'make[2]: write error: No space left on device\n'):
			with self.assertRaises(HostError, msg=output):
				build.machine_failed(output, 'configuration')
		build.machine_failed('mm/Kconfig:12: syntax error\nbwrap: said later\n',
				     'configuration')


class EnvironmentTest(unittest.TestCase):

	def test_no_caller_variable_passes_but_kbuild_ones(self) -> None:
		os.environ['SLUB_KUNIT_TEST_TOKEN'] = 'sekrit'
		os.environ['KBUILD_BUILD_USER'] = 'ci'
		try:
			env = sandbox.environment({'CCACHE_DIR': '/c'}, '/front')
		finally:
			del os.environ['SLUB_KUNIT_TEST_TOKEN']
			del os.environ['KBUILD_BUILD_USER']
		self.assertNotIn('SLUB_KUNIT_TEST_TOKEN', env)
		self.assertEqual(env['KBUILD_BUILD_USER'], 'ci')
		self.assertEqual(env['CCACHE_DIR'], '/c')
		self.assertTrue(env['PATH'].startswith('/front:'))
		self.assertEqual(env['HOME'], '/tmp')


if __name__ == '__main__':
	unittest.main()
