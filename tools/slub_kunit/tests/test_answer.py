# SPDX-License-Identifier: GPL-2.0
#
# validate's answer on the list and in patchwork: the reply mail threads
# under the cover letter and reads as a report; the checks are patchwork's.

import contextlib
import email
import email.policy
import io
import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest
from contextlib import contextmanager
from unittest import mock

from slub_kunit import pipeline
from slub_kunit.inbox import answer, mail, patches
from slub_kunit.judge import validate
from slub_kunit.status import Exit
from slub_kunit.tests import mailfix
from slub_kunit.tests.test_validate import WINDOW, FakeSession, outcomes

NEEDS = [cmd for cmd in ('git', 'b4') if not shutil.which(cmd)]
SEND_EMAIL = os.path.exists('/usr/lib/git-core/git-send-email')
# The fields patchwork's REST API takes for a check (api/check.py).
CHECK_FIELDS = {'state', 'target_url', 'context', 'description'}


@unittest.skipIf(NEEDS, f'needs {" and ".join(NEEDS)} (tools/slub-kunit test installs them)')
class AnswerTest(unittest.TestCase):

	def setUp(self):
		self.tmp = tempfile.mkdtemp(prefix='slub-kunit-answer-')
		path = os.path.join(self.tmp, 'thread.mbox')
		mailfix.write_mboxrd(path, mailfix.thread())
		got = patches.read_input(path, os.path.join(self.tmp, 'cache'), mail.Choice())
		tree = os.path.join(self.tmp, 'linux')
		os.makedirs(tree)
		self.req = pipeline.RunRequest(cache=self.tmp, patches=got.patches,
					       threads=got.threads)
		self.reply = os.path.join(self.tmp, 'reply.eml')
		self.checks = os.path.join(self.tmp, 'checks.json')
		out = io.StringIO()

		@contextmanager
		def fake(req, stages):
			yield FakeSession(req, outcomes(), tree)
		with mock.patch.object(pipeline, 'session', fake), contextlib.redirect_stdout(out):
			self.code = validate.main(self.req, validate.Answer(
				reply=self.reply, checks=self.checks, sender='Bot <bot@example.org>'))

	def tearDown(self):
		shutil.rmtree(self.tmp)

	def test_reply_threads_under_the_cover_letter(self):
		self.assertEqual(self.code, Exit.INVARIANT)
		with open(self.reply, 'rb') as f:
			msg = email.message_from_binary_file(f, policy=email.policy.default)
		self.assertEqual(msg['In-Reply-To'], '<v2-0-PATCH@example.org>')
		self.assertEqual(msg['References'].split(),
				 ['<v1-0-PATCH@example.org>', '<v2-0-PATCH@example.org>'])
		self.assertEqual(msg['Subject'], 'Re: [PATCH v2 0/3] mm/slub: node handling')
		self.assertEqual(msg['To'], mailfix.AUTHOR)
		self.assertEqual([a.strip() for a in msg['Cc'].split(',')],
				 [mailfix.LIST] + mailfix.CC)
		self.assertTrue(msg['Message-Id'].endswith('@slub-kunit.invalid>'))
		text = msg.get_content()
		self.assertIn('Hi A,', text)
		self.assertIn('verdict: first bad: patch 2/3', text)
		self.assertIn('first bad: [2/3] mm/slub: part 2', text)
		self.assertIn(f'  {WINDOW}\n', text)
		self.assertIn('PASS -> FAIL (invariant; I1 coverage', text)
		self.assertIn('| EXPECTATION FAILED at mm/slub_kunit.c:42', text)
		self.assertIn('b4 mbox -o - v2-0-PATCH@example.org > thread.mbox && '
			      'tools/slub-kunit validate --kernel 6.12 --arch x86_64 '
			      '--patch thread.mbox --revision 2', text)
		self.assertIn('<v2-2-PATCH@example.org>', text)
		self.assertTrue(text.rstrip().endswith(answer.SIGNATURE))

	@unittest.skipUnless(SEND_EMAIL, 'needs git send-email (package git-email)')
	def test_git_send_email_keeps_the_thread(self):
		res = subprocess.run(['git', 'send-email', '--dry-run', '--confirm=never',
				      '--suppress-cc=all', '--from', 'Bot <bot@example.org>',
				      self.reply], capture_output=True, text=True,
				     env=dict(os.environ, GIT_CONFIG_NOSYSTEM='1', HOME=self.tmp))
		self.assertEqual(res.returncode, 0, res.stderr)
		self.assertIn('In-Reply-To: <v2-0-PATCH@example.org>', res.stdout)
		self.assertIn('Subject: Re: [PATCH v2 0/3] mm/slub: node handling', res.stdout)

	def test_checks_are_patchworks(self):
		with open(self.checks) as f:
			got = json.load(f)
		self.assertEqual([c['message_id'] for c in got],
				 [f'v2-{k}-PATCH@example.org' for k in (1, 2, 3)])
		self.assertEqual([c['check']['state'] for c in got], ['warning', 'fail', 'fail'])
		for c in got:
			self.assertEqual(set(c['check']), CHECK_FIELDS)
			self.assertIn(c['check']['state'], ('pending', 'success', 'warning', 'fail'))
			self.assertRegex(c['check']['context'], r'^[-a-zA-Z0-9_]+$')
			self.assertNotIn('\n', c['check']['description'])
		self.assertEqual(got[0]['check']['context'], 'slub-kunit-6-12-x86_64')
		self.assertIn('I1 coverage', got[1]['check']['description'])


class NotTested(unittest.TestCase):

	def test_after_a_patch_that_does_not_build(self):
		data = {'kernel_spec': '7', 'arch': 'um', 'debug': False,
			'series_patches': [{'subject': 'a', 'message_id': 'a@x'},
					   {'subject': 'b', 'message_id': 'b@x'}],
			'steps': [{'step': 1, 'verdict': 'does not build', 'detail': 'error: x'}]}
		got = answer.checks(data)
		self.assertEqual([c['check']['state'] for c in got], ['fail', 'warning'])
		self.assertEqual(got[1]['check']['description'],
				 'not tested: patch 1/2 does not build')
		self.assertEqual(got[0]['check']['context'], 'slub-kunit-7-um')

	def test_recipients_once_and_never_the_sender(self):
		t = mail.Thread(source='', revision=1, subject='[PATCH] x', msgid='m@x',
				references=['m@x'], sender='A <a@x>', to=['l@x', 'Bot <bot@x>'],
				cc=['A <A@x>', 'c@x', 'l@x'], taken=['m@x'])
		self.assertEqual(answer.recipients(t, 'Bot <bot@x>'),
				 {'To': ['A <a@x>'], 'Cc': ['l@x', 'c@x']})
		self.assertTrue(re.match(r'^Hi', answer.body({
			'patches': 1, 'steps': [], 'arch': 'um', 'kernel': 'k', 'generation': 'g',
			'policy': 'normal', 'baseline': 'b', 'verdict': 'v', 'reproduce': 'r'}, t)))
