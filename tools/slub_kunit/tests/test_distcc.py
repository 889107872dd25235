# SPDX-License-Identifier: GPL-2.0
#
# Compiles handed to distcc through ccache, as a kernel build hands them:
# a real distccd on 127.0.0.1, started here, whose own log must show the
# compile; and a host that is down costs a local compile, not the build.

import os
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

from slub_kunit.kernel.kunit_tool import Build, distcc_slots

NEEDS = [c for c in ('distcc', 'distccd', 'ccache', 'gcc') if not shutil.which(c)]


def free_port():
	with socket.socket() as s:
		s.bind(('127.0.0.1', 0))
		return s.getsockname()[1]


@unittest.skipIf(NEEDS, f'needs {" and ".join(NEEDS)} (tools/slub-kunit test installs them)')
class Distcc(unittest.TestCase):

	def setUp(self):
		self.tmp = tempfile.mkdtemp(prefix='slub-kunit-distcc-')
		os.chmod(self.tmp, 0o755)
		self.port = free_port()
		self.log = os.path.join(self.tmp, 'distccd.log')
		open(self.log, 'w').close()
		os.chmod(self.log, 0o666)
		self.daemon = subprocess.Popen(
			['distccd', '--no-detach', '--daemon', '--allow', '127.0.0.1', '--listen',
			 '127.0.0.1', '--port', str(self.port), '--log-file', self.log,
			 '--log-level', 'info', '--jobs', '2'],
			stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
		deadline = time.monotonic() + 10
		while time.monotonic() < deadline:
			with socket.socket() as s:
				if s.connect_ex(('127.0.0.1', self.port)) == 0:
					break
			time.sleep(0.1)
		with open(os.path.join(self.tmp, 'slab.c'), 'w') as f:
			f.write('int slab_nodes(int n) { return n * 2; }\n')

	def tearDown(self):
		self.daemon.terminate()
		self.daemon.wait(10)
		shutil.rmtree(self.tmp)

	def compile(self, hosts, name):
		build = Build(tree=self.tmp, build_dir=self.tmp, arch='um', cache_dir=self.tmp,
			      distcc=hosts)
		env = build.env()
		# A ccache of the test's own (SLUB_KUNIT_CCACHE_DIR may name a
		# shared one): a hit there would keep the compile from distcc.
		env['CCACHE_DIR'] = os.path.join(self.tmp, 'ccache')
		res = subprocess.run(['ccache', 'gcc', '-O2', '-c', 'slab.c', '-o', name],
				     cwd=self.tmp, env=env, capture_output=True, text=True)
		self.assertEqual(res.returncode, 0, res.stderr)
		self.assertTrue(os.path.exists(os.path.join(self.tmp, name)))

	def daemon_log(self, wait_for=None):
		"""distccd's log; it writes a job's line after the client has its
		result, so wait a little for the line wanted."""
		deadline = time.monotonic() + 10
		while True:
			with open(self.log) as f:
				text = f.read()
			if wait_for is None or wait_for in text or time.monotonic() > deadline:
				return text
			time.sleep(0.1)

	def test_compile_goes_through_distccd(self):
		self.compile(f'127.0.0.1:{self.port}/2', 'a.o')
		log = self.daemon_log(wait_for='COMPILE_OK')
		self.assertRegex(log, r'COMPILE_OK .*slab\.c')

	def test_a_host_that_is_down_costs_a_local_compile(self):
		self.compile(f'127.0.0.1:{free_port()}/4', 'b.o')
		time.sleep(0.5)
		self.assertNotIn('COMPILE_OK', self.daemon_log())


class Slots(unittest.TestCase):

	def test_slots(self):
		self.assertEqual(distcc_slots('a/8 b:3633/4 localhost c,lzo --randomize'), 8 + 4 + 2 + 4)
