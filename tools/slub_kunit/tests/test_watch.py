# SPDX-License-Identifier: GPL-2.0
#
# The bot loop, fed a maildir that receives two series and a resend one
# after another, and killed (SIGKILL) while judging the second: exactly
# two replies in the end, the first series judged once, the resend never.
# The loop runs as a process of its own, with a stand-in for validate that
# records each call (no kernel is built).

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

from slub_kunit import pipeline, watch
from slub_kunit.common import REPO, UserError
from slub_kunit.tests import mailfix

NEEDS = [cmd for cmd in ('git', 'b4') if not shutil.which(cmd)]

DRIVER = r'''
import os, sys, time
sys.path.insert(0, sys.argv[1])
from slub_kunit import pipeline, watch
spool, out, cache, calls = sys.argv[2:6]

def judge(req, answer):
    subject = req.threads[0].subject
    with open(calls, 'a') as f:
        f.write(subject + '\n')
    if os.environ.get('SLOW'):
        time.sleep(60)
    if os.environ.get('HOSTFAIL'):
        return 3    # a step the machine failed: validate's exit 3
    for path in (answer.reply, answer.checks, req.json_path):
        with open(path, 'w') as f:
            f.write(subject + '\n')
    return 6 if 'other' in subject else 0

sys.exit(watch.main(spool, out, pipeline.RunRequest(cache=cache), 'Bot <bot@x>', judge,
                    once=True))
'''


def other_series(when):
	msgs = mailfix.series(1, ['int o1;', 'int o2;'], when=when, name='mm/other')
	for m in msgs:
		for h in ('Message-Id', 'In-Reply-To', 'References'):
			if m[h]:
				m.replace_header(h, str(m[h]).replace('v1-', 'o1-'))
	return msgs


@unittest.skipIf(NEEDS, f'needs {" and ".join(NEEDS)} (tools/slub-kunit test installs them)')
class WatchTest(unittest.TestCase):

	def setUp(self):
		self.tmp = tempfile.mkdtemp(prefix='slub-kunit-watch-')
		self.spool = os.path.join(self.tmp, 'Maildir')
		self.out = os.path.join(self.tmp, 'out')
		self.cache = os.path.join(self.tmp, 'cache')
		self.calls = os.path.join(self.tmp, 'calls')
		mailfix.write_maildir(self.spool, [])

	def tearDown(self):
		shutil.rmtree(self.tmp)

	def loop(self, slow=False, hostfail=False):
		env = dict(os.environ)
		env.pop('SLOW', None)
		env.pop('HOSTFAIL', None)
		if slow:
			env['SLOW'] = '1'
		if hostfail:
			env['HOSTFAIL'] = '1'
		with open(os.path.join(self.tmp, 'loop.log'), 'ab') as log:
			return subprocess.Popen([sys.executable, '-c', DRIVER,
						 os.path.join(REPO, 'tools'), self.spool, self.out,
						 self.cache, self.calls], env=env, stdout=log,
						stderr=subprocess.STDOUT)

	def calls_made(self):
		if not os.path.exists(self.calls):
			return []
		with open(self.calls) as f:
			return f.read().splitlines()

	def replies(self):
		return sorted(os.path.join(self.out, d, 'reply.eml') for d in watch.judged(self.out)
			      if os.path.exists(os.path.join(self.out, d, 'reply.eml')))

	def test_two_series_a_resend_and_a_kill(self):
		first = mailfix.series(2, ['int a;', 'int b;', 'int c;'])
		mailfix.write_maildir(self.spool, first)
		self.assertEqual(self.loop().wait(60), 0)
		self.assertEqual(len(self.replies()), 1)

		# The second series arrives, half of it first: nothing to judge yet.
		second = other_series(500)
		mailfix.write_maildir(self.spool, second[:2])
		self.assertEqual(self.loop().wait(60), 0)
		self.assertEqual(len(self.calls_made()), 1)
		mailfix.write_maildir(self.spool, second[2:])

		# Killed while judging the second series.
		proc = self.loop(slow=True)
		deadline = time.monotonic() + 60
		while len(self.calls_made()) < 2 and time.monotonic() < deadline:
			time.sleep(0.1)
		self.assertEqual(len(self.calls_made()), 2)
		proc.send_signal(signal.SIGKILL)
		proc.wait(10)
		self.assertEqual(len(self.replies()), 1)

		# The first series resent (new Message-Ids, same diffs), then a
		# restart: the second series is judged again, the resend not.
		resend = mailfix.series(2, ['int a;', 'int b;', 'int c;'], when=900,
					tag='PATCH RESEND')
		mailfix.write_maildir(self.spool, resend)
		self.assertEqual(self.loop().wait(60), 0)
		self.assertEqual(len(self.replies()), 2)
		calls = self.calls_made()
		self.assertEqual(len(calls), 3, calls)
		self.assertEqual(calls[1], calls[2])
		self.assertEqual(sorted(n for n in os.listdir(self.out) if n.startswith('.judging')), [])

		# A new revision of the first series is a new series.
		v3 = mailfix.series(3, ['int a;', 'int b2;', 'int c;'], when=1000)
		mailfix.write_maildir(self.spool, v3)
		self.assertEqual(self.loop().wait(60), 0)
		self.assertEqual(len(self.replies()), 3)

	def exit_of(self, key):
		with open(os.path.join(self.out, key, 'exit')) as f:
			return f.read().strip()

	def test_a_host_failure_is_judged_again(self):
		"""A series whose step the machine failed is not stored as judged:
		the next pass judges it again, up to watch.HOST_RETRIES passes."""
		mailfix.write_maildir(self.spool, mailfix.series(2, ['int a;', 'int b;']))
		self.assertEqual(self.loop(hostfail=True).wait(60), 0)
		self.assertEqual(watch.judged(self.out), [])
		self.assertEqual(self.loop().wait(60), 0)
		self.assertEqual(len(self.replies()), 1)
		self.assertEqual(len(self.calls_made()), 2)

		# A machine that keeps failing: stored, exit 3, after the bound.
		mailfix.write_maildir(self.spool, other_series(500))
		for _ in range(watch.HOST_RETRIES):
			self.assertEqual(self.loop(hostfail=True).wait(60), 0)
		self.assertEqual(len(self.calls_made()), 2 + watch.HOST_RETRIES)
		stored = [d for d in watch.judged(self.out) if self.exit_of(d) == '3']
		self.assertEqual(len(stored), 1)
		self.assertEqual(self.loop(hostfail=True).wait(60), 0)
		self.assertEqual(len(self.calls_made()), 2 + watch.HOST_RETRIES)

	def test_one_loop_per_output(self):
		os.makedirs(self.out)
		fd = watch.lock(self.out)
		try:
			with self.assertRaises(UserError):
				watch.main(self.spool, self.out, pipeline.RunRequest(cache=self.cache),
					   'b <b@x>', lambda r, a: 0, once=True)
		finally:
			os.close(fd)
