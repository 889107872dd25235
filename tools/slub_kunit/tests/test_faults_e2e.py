# SPDX-License-Identifier: GPL-2.0
"""The machine's faults are never a patch's verdict, end to end: validate
of a harmless patch on Debian's 6.12 while QEMU cannot start on the
patched step, while QEMU is killed mid-boot, beside four CPU hogs, and
with the disk full under the patched build; and watch, which judges the
series again on its next pass.

QEMU's faults come from a stand-in the runner's QEMU front finds first in
PATH (a directory of the test's, which the sandbox shows as the
directory of the caller's QEMU): for each boot it
reads what to do from a FIFO the test feeds, so that the fault strikes
exactly the boots the test names.

It builds and boots kernels (about 6 minutes with a warm cache), so it
runs only when SLUB_KUNIT_E2E=1, as root (it mounts a tmpfs);
`tools/slub-kunit test` leaves it out. The full-disk case mounts that
tmpfs over the cache's sandbox/ for one validate: give it a cache no
other runner uses meanwhile (SLUB_KUNIT_CACHE).
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import unittest
from typing import List, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, '..', '..', '..'))
sys.path.insert(0, os.path.join(REPO, 'tools'))

from slub_kunit.common import Stages	# noqa: E402
from slub_kunit.judge import hostile	# noqa: E402
from slub_kunit.kernel import source	# noqa: E402

CACHE = os.path.abspath(os.environ.get('SLUB_KUNIT_CACHE',
				      os.path.expanduser('~/.cache/slub-kunit')))
REAL_QEMU = shutil.which('qemu-system-x86_64') or '/usr/bin/qemu-system-x86_64'

STAND_IN = r'''#!/usr/bin/python3
# QEMU as the fault test plans it: one line of the plan per boot.
import os, signal, subprocess, sys, time
here = os.path.dirname(os.path.abspath(__file__))
# One line, a byte at a time: the rest stays in the FIFO for the next boot.
fd = os.open(os.path.join(here, 'plan'), os.O_RDONLY)
line = b''
while not line.endswith(b'\n'):
    byte = os.read(fd, 1)
    if not byte:
        break
    line += byte
os.close(fd)
what = line.decode().strip() or 'ok'
if what == 'nomem':
    sys.stderr.write("qemu-system-x86_64: cannot set up guest memory 'pc.ram': "
                     "Cannot allocate memory\n")
    sys.exit(1)
if what == 'kill':
    qemu = subprocess.Popen([REAL] + sys.argv[1:])
    time.sleep(3)
    qemu.kill()
    qemu.wait()
    os.kill(os.getpid(), signal.SIGKILL)
os.execv(REAL, [REAL] + sys.argv[1:])
'''


class Plan:
	"""Feeds the stand-in one line per boot: the planned ones, then 'ok'.
	The whole plan is written at once into a FIFO the feeder then holds
	open, so that what one boot does not read stays for the next."""

	OK_LINES = 1000

	def __init__(self, directory: str, lines: List[str]) -> None:
		self.fifo = os.path.join(directory, 'plan')
		if not os.path.exists(self.fifo):
			os.mkfifo(self.fifo)
		self.text = ''.join(line + '\n' for line in list(lines) + ['ok'] * self.OK_LINES)
		self.stop = threading.Event()
		self.opened = threading.Event()
		self.thread = threading.Thread(target=self.feed, daemon=True)
		self.thread.start()

	def feed(self) -> None:
		with open(self.fifo, 'w') as f:	# until the first boot opens it
			self.opened.set()
			if self.stop.is_set():
				return
			f.write(self.text)
			f.flush()
			self.stop.wait()

	def close(self) -> None:
		self.stop.set()
		if not self.opened.is_set():	# no boot read it: let the feeder go
			fd = os.open(self.fifo, os.O_RDONLY | os.O_NONBLOCK)
			self.thread.join(10)
			os.close(fd)
		self.thread.join(10)


@unittest.skipUnless(os.environ.get('SLUB_KUNIT_E2E') == '1' and os.geteuid() == 0,
		     'SLUB_KUNIT_E2E=1 runs it, as root')
class FaultsEndToEnd(unittest.TestCase):

	@classmethod
	def setUpClass(cls) -> None:
		src = source.get_source('6.12', CACHE, Stages())
		cls.tmp = tempfile.mkdtemp(prefix='slub-kunit-faults-')
		cls.patch = os.path.join(cls.tmp, 'comment.patch')
		with open(cls.patch, 'w') as f:
			f.write(hostile.harmless_patch(src.path))

	@classmethod
	def tearDownClass(cls) -> None:
		shutil.rmtree(cls.tmp, ignore_errors=True)

	def setUp(self) -> None:
		self.fault = tempfile.mkdtemp(prefix='fault-', dir=self.tmp)
		qemu = os.path.join(self.fault, 'qemu-system-x86_64')
		with open(qemu, 'w') as f:
			f.write(STAND_IN.replace('REAL', repr(REAL_QEMU)))
		os.chmod(qemu, 0o755)
		self.out = tempfile.mkdtemp(prefix='case-', dir=self.tmp)
		self.plan: Optional[Plan] = None

	def tearDown(self) -> None:
		if self.plan:
			self.plan.close()
		shutil.rmtree(self.fault, ignore_errors=True)

	def runner(self, args: List[str], plan: List[str]) -> int:
		self.plan = Plan(self.fault, plan)
		env = dict(os.environ, SLUB_KUNIT_CACHE=CACHE,
			   PATH=self.fault + os.pathsep + os.environ['PATH'])
		with open(os.path.join(self.out, 'log'), 'ab') as log:
			return subprocess.run([sys.executable, hostile.RUNNER] + args, env=env,
					      stdout=log, stderr=subprocess.STDOUT,
					      stdin=subprocess.DEVNULL).returncode

	def validate(self, plan: List[str]) -> int:
		return self.runner(['validate', '--patch', self.patch,
				    '--json', os.path.join(self.out, 'v.json'),
				    '--checks', os.path.join(self.out, 'checks.json')], plan)

	def log(self) -> str:
		with open(os.path.join(self.out, 'log'), errors='replace') as f:
			return f.read()

	def checks(self) -> List[str]:
		with open(os.path.join(self.out, 'checks.json')) as f:
			return [c['check']['state'] for c in json.load(f)]

	def steps(self) -> List[str]:
		with open(os.path.join(self.out, 'v.json')) as f:
			return [st['verdict'] for st in json.load(f)['steps']]

	def test_qemu_cannot_start_on_the_patched_step(self) -> None:
		code = self.validate(['ok', 'nomem', 'nomem', 'nomem'])
		self.assertEqual(code, 3)
		self.assertEqual(self.log().count('[slub-kunit] boot and run: the machine failed the '
						  'boot, not the kernel: QEMU did not start'), 3)
		self.assertEqual(self.steps(), ['host failure, not the patch'])
		self.assertEqual(self.checks(), ['warning'])

	def test_qemu_killed_mid_boot(self) -> None:
		code = self.validate(['ok', 'kill'])
		self.assertEqual(code, 0)
		self.assertIn('QEMU was killed by signal 9, which nobody of the run sent', self.log())
		self.assertEqual(self.steps(), ['no behaviour change'])
		self.assertEqual(self.checks(), ['success'])

	def test_four_cpu_hogs(self) -> None:
		hogs = [subprocess.Popen([sys.executable, '-c', 'while True: pass'])
			for _ in range(4)]
		try:
			code = self.validate([])
		finally:
			for hog in hogs:
				hog.kill()
				hog.wait()
		self.assertEqual(code, 0)
		self.assertEqual(self.steps(), ['no behaviour change'])

	def test_disk_full_under_the_patched_build(self) -> None:
		"""The overlay the patched build writes lives in sandbox/ of the
		cache: a 4 MiB tmpfs there fills during that build."""
		full = os.path.join(CACHE, 'sandbox')
		os.makedirs(full, exist_ok=True)
		subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=4m', 'slub-kunit-full', full],
			       check=True)
		try:
			code = self.validate([])
		finally:
			subprocess.run(['umount', full], check=True)
		self.assertEqual(code, 3)
		self.assertEqual(self.steps(), ['host failure, not the patch'])
		self.assertEqual(self.checks(), ['warning'])

	def test_watch_judges_again_after_the_host_failed(self) -> None:
		spool = os.path.join(self.tmp, 'spool.mbox')
		shutil.copyfile(self.patch, spool)
		with open(spool, 'rb') as f:
			text = f.read()
		with open(spool, 'wb') as f:
			f.write(b'From hostile@example.org Mon Sep 17 00:00:00 2001\n'
				b'Message-Id: <comment-1@example.org>\n'
				b'Date: Mon, 7 Dec 2026 06:00:00 +0000\n' + text)
		out = os.path.join(self.out, 'verdicts')
		args = ['watch', spool, '--out', out, '--once']
		self.assertEqual(self.runner(args, ['ok', 'nomem', 'nomem', 'nomem']), 0)
		self.plan.close()
		self.plan = None
		judged = [d for d in os.listdir(out) if not d.startswith('.')]
		self.assertEqual(judged, [])
		self.assertEqual(self.runner(args, []), 0)
		judged = [d for d in os.listdir(out) if not d.startswith('.')]
		self.assertEqual(len(judged), 1)
		with open(os.path.join(out, judged[0], 'exit')) as f:
			self.assertEqual(f.read().strip(), '0')


if __name__ == '__main__':
	unittest.main()
