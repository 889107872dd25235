# SPDX-License-Identifier: GPL-2.0
#
# Interrupt `tools/slub-kunit run` in each stage, with SIGINT (Ctrl-C) and
# with SIGKILL (a CI job killed at its time limit: the whole process group),
# then run again: the next run must pass with the same cases as an
# uninterrupted one, and nothing of the interrupted run may be left in use
# (no temporary download, no half-unpacked tree, no staging directory).
#
# It downloads, unpacks, builds and boots kernels in a cache of its own
# (about 30 minutes with a warm compiler cache), so it runs only when
# SLUB_KUNIT_E2E=1; SLUB_KUNIT_CCACHE_DIR may name a warm compiler cache.

import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
from typing import List, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
RUNNER = os.path.normpath(os.path.join(HERE, '..', '..', 'slub-kunit'))
STAGES = ('download', 'unpack', 'prepare', 'configure', 'build', 'boot and run')
SUMMARY = re.compile(r'Testing complete\. Ran (\d+) tests: passed: (\d+)')


@unittest.skipUnless(os.environ.get('SLUB_KUNIT_E2E') == '1', 'SLUB_KUNIT_E2E=1 runs it')
class InterruptEachStage(unittest.TestCase):

	@classmethod
	def setUpClass(cls):
		cls.cache = tempfile.mkdtemp(prefix='slub-kunit-int-')
		code, out = cls.run_to_end()
		assert code == 0, out[-2000:]
		cls.expected = SUMMARY.search(out).groups()

	@classmethod
	def tearDownClass(cls):
		shutil.rmtree(cls.cache, ignore_errors=True)

	@classmethod
	def command(cls) -> List[str]:
		return [RUNNER, 'run', '--kernel', '6.12', '--cache', cls.cache]

	@classmethod
	def run_to_end(cls):
		res = subprocess.run(cls.command(), stdout=subprocess.PIPE,
				     stderr=subprocess.STDOUT, text=True)
		return res.returncode, res.stdout

	def make_stage_happen(self, stage: str) -> None:
		"""Removes what the stage would otherwise find done."""
		if stage == 'download':
			for path in glob.glob(os.path.join(self.cache, 'debs', '*')):
				os.unlink(path)
			shutil.rmtree(os.path.join(self.cache, 'src'), ignore_errors=True)
		elif stage == 'unpack':
			shutil.rmtree(os.path.join(self.cache, 'src'), ignore_errors=True)
		elif stage == 'prepare':
			shutil.rmtree(os.path.join(self.cache, 'work'), ignore_errors=True)
		elif stage == 'configure':
			for path in glob.glob(os.path.join(self.cache, 'build', '*', '.config')):
				os.unlink(path)
		elif stage == 'build':
			for path in glob.glob(os.path.join(self.cache, 'build', '*', 'mm', 'slub.o')):
				os.unlink(path)

	def interrupt(self, stage: str, sig: int, delay: float) -> Optional[int]:
		"""Starts a run, signals its process group `delay` seconds into the
		stage, and returns its exit code (None if the stage never came)."""
		proc = subprocess.Popen(self.command(), stdout=subprocess.PIPE,
					stderr=subprocess.STDOUT, text=True, start_new_session=True)
		# The first 'download' resolves the version; the second fetches.
		wanted = 2 if stage == 'download' else 1
		seen = 0
		for line in proc.stdout:
			if line.startswith(f'[slub-kunit] {stage} ...'):
				seen += 1
				if seen == wanted:
					time.sleep(delay)
					os.killpg(proc.pid, sig)
					break
		proc.stdout.close()
		code = proc.wait()
		return code if seen == wanted else None

	def leftovers(self) -> List[str]:
		found = []
		for pattern in ('debs/download.*', 'src/*.partial*', 'src/*.old.*',
				'work/*.staging', 'work/*.old'):
			found += glob.glob(os.path.join(self.cache, pattern))
		return found

	def check_stage(self, stage: str, sig: int) -> None:
		self.make_stage_happen(stage)
		delay = {'download': 0.1, 'prepare': 0.5, 'configure': 0.3}.get(stage, 2.0)
		stopped = self.interrupt(stage, sig, delay)
		self.assertIsNotNone(stopped, f'{stage}: the stage did not happen')
		self.assertNotEqual(stopped, 0, f'{stage}: an interrupted run passed')
		code, out = self.run_to_end()
		self.assertEqual(code, 0, f'{stage}, {sig.name}: next run failed:\n{out[-3000:]}')
		self.assertEqual(SUMMARY.search(out).groups(), self.expected)
		self.assertEqual(self.leftovers(), [])
		sys.stderr.write(f'{stage} {sig.name}: interrupted, exit {stopped}; the next run passed\n')

	def test_sigint_in_each_stage(self):
		for stage in STAGES:
			with self.subTest(stage=stage):
				self.check_stage(stage, signal.SIGINT)

	def test_sigkill_in_each_stage(self):
		for stage in STAGES:
			with self.subTest(stage=stage):
				self.check_stage(stage, signal.SIGKILL)


if __name__ == '__main__':
	unittest.main()
