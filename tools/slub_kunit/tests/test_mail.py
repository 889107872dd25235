# SPDX-License-Identifier: GPL-2.0
#
# Reading a series from mail in every form the list gives it.

import os
import shutil
import tempfile
import unittest

from slub_kunit.common import UserError
from slub_kunit.inbox import mail, patches
from slub_kunit.status import Exit
from slub_kunit.tests import mailfix

NEEDS = [cmd for cmd in ('git', 'b4') if not shutil.which(cmd)]
V2 = ['v2-1-PATCH@example.org', 'v2-2-PATCH@example.org', 'v2-3-PATCH@example.org']


@unittest.skipIf(NEEDS, f'needs {" and ".join(NEEDS)} (tools/slub-kunit test installs them)')
class SeriesFromMail(unittest.TestCase):

	def setUp(self):
		self.tmp = tempfile.mkdtemp(prefix='slub-kunit-mail-')
		self.scratch = os.path.join(self.tmp, 'cache')

	def tearDown(self):
		shutil.rmtree(self.tmp)

	def read(self, path, **choice):
		return patches.read_input(path, self.scratch, mail.Choice(**choice))

	def assert_v2(self, got, thread=True):
		self.assertEqual([p.message_id for p in got.patches], V2)
		self.assertEqual([(p.index, p.count) for p in got.patches], [(1, 3), (2, 3), (3, 3)])
		for k, p in enumerate(got.patches, 1):
			self.assertIn(f'+int v2_{k};', p.text)
			self.assertNotIn('counter', p.text)
			self.assertEqual(p.paths(), [f'mm/f{k}.c'])
			self.assertEqual(p.subject, f'mm/slub: part {k}')
		if thread:
			t = got.threads[0]
			self.assertEqual(t.revision, 2)
			self.assertEqual(t.msgid, 'v2-0-PATCH@example.org')
			self.assertEqual(t.taken, V2)
		# Scratch files are gone: nothing is left in the cache.
		self.assertEqual(os.listdir(self.scratch), [])

	def test_thread_mbox_takes_newest_revision(self):
		path = os.path.join(self.tmp, 't.mbox')
		mailfix.write_mboxrd(path, mailfix.thread())
		got = self.read(path)
		self.assert_v2(got)
		left = ' '.join(got.threads[0].left)
		self.assertIn('v1', left)
		self.assertIn('cover letter', left)
		self.assertIn('r1@example.org', left)	# the inline patch, named
		# mboxrd's '>From ' unescaped in the body
		self.assertIn('\nFrom here', got.patches[0].text)

	def test_every_form(self):
		msgs = mailfix.thread()
		forms = {'t.mbox.gz': mailfix.write_gz, 'crlf.mbox': mailfix.write_crlf,
			 'maildir': mailfix.write_maildir}
		for name, write in forms.items():
			with self.subTest(form=name):
				path = os.path.join(self.tmp, name)
				write(path, msgs)
				self.assert_v2(self.read(path))

	def test_b4_mbx(self):
		path = os.path.join(self.tmp, 'v2.mbx')
		msgs = mailfix.series(2, ['int v2_1;', 'int v2_2;', 'int v2_3;'], parents=['x'])
		mailfix.write_b4_mbx(path, msgs)
		got = self.read(path)
		self.assertEqual([p.message_id for p in got.patches], V2)
		self.assertEqual(got.threads[0].msgid, 'v2-1-PATCH@example.org')

	def test_resend_in_the_same_thread(self):
		msgs = mailfix.thread()
		resend = mailfix.series(2, ['int v2_1;', 'int v2_2;', 'int v2_3;'], when=300,
					parents=['v1-0-PATCH'], tag='PATCH RESEND')
		path = os.path.join(self.tmp, 't.mbox')
		mailfix.write_mboxrd(path, msgs + resend)
		got = self.read(path)
		self.assertEqual([(p.index, p.count) for p in got.patches], [(1, 3), (2, 3), (3, 3)])
		self.assertEqual(mail.diff_key([p.text for p in got.patches]),
				 mail.diff_key([p.text for p in self.read(path, revision=2).patches]))

	def test_other_revision(self):
		path = os.path.join(self.tmp, 't.mbox')
		mailfix.write_mboxrd(path, mailfix.thread())
		got = self.read(path, revision=1)
		self.assertEqual([p.message_id for p in got.patches],
				 [f'v1-{k}-PATCH@example.org' for k in (1, 2, 3)])
		with self.assertRaises(UserError) as e:
			self.read(path, revision=3)
		self.assertEqual(e.exception.code, Exit.USAGE)

	def test_reply_patch_on_request(self):
		path = os.path.join(self.tmp, 't.mbox')
		mailfix.write_mboxrd(path, mailfix.thread())
		got = self.read(path, reply_patches=('r1@example.org',))
		self.assertIn('+int counter;', got.patches[1].text)
		self.assertEqual(got.patches[1].message_id, 'r1@example.org')
		self.assertIn('+int v2_1;', got.patches[0].text)
		with self.assertRaises(UserError):
			self.read(path, reply_patches=('r2@example.org',))	# no diff in it

	def test_incomplete_series_refused(self):
		msgs = [m for m in mailfix.thread() if 'v2-2-' not in str(m['Message-Id'])]
		path = os.path.join(self.tmp, 't.mbox')
		mailfix.write_mboxrd(path, msgs)
		with self.assertRaises(UserError) as e:
			self.read(path)
		self.assertEqual(e.exception.code, Exit.PATCH)
		self.assertIn('missing 2/3', str(e.exception))

	def test_two_series_need_a_choice(self):
		other = mailfix.series(1, ['int x;'], name='mm/other', tag='PATCH', when=50)
		for m in other:
			m.replace_header('Message-Id', str(m['Message-Id']).replace('v1-', 'o1-'))
			if m['In-Reply-To']:
				m.replace_header('In-Reply-To', '<o1-0-PATCH@example.org>')
				m.replace_header('References', '<o1-0-PATCH@example.org>')
			m.replace_header('Subject', str(m['Subject']).replace('part', 'other'))
		path = os.path.join(self.tmp, 't.mbox')
		mailfix.write_mboxrd(path, mailfix.thread() + other)
		with self.assertRaises(UserError) as e:
			self.read(path)
		self.assertEqual(e.exception.code, Exit.USAGE)
		self.assertIn('--message-id', str(e.exception))
		got = self.read(path, msgid='<o1-1-PATCH@example.org>')
		self.assertEqual([p.message_id for p in got.patches], ['o1-1-PATCH@example.org'])

	def test_retitled_revision_in_a_new_thread(self):
		"""v1 (2 patches, cover "A"), then v2 (3 patches, the cover retitled
		"A and B", a new thread, reviews in it): one series, as b4 takes
		it, judged at v2; v1 is said to be left out."""
		v1 = mailfix.series(1, ['int v1_1;', 'int v1_2;'], name='mm/slub: A')
		v2 = mailfix.series(2, ['int v2_1;', 'int v2_2;', 'int v2_3;'], when=100,
				    name='mm/slub: A and B')
		review = mailfix.message('r1', 'Re: [PATCH v2 1/3] mm/slub: part 1',
					 'Reviewed-by: R <r@example.org>\n', sender=mailfix.REVIEWER,
					 parents=['v2-0-PATCH', 'v2-1-PATCH'], when=200)
		for form in ('mbox', 'maildir'):
			path = os.path.join(self.tmp, f'spool.{form}')
			if form == 'mbox':
				mailfix.write_mboxrd(path, v1 + v2 + [review])
			else:
				mailfix.write_maildir(path, v1 + v2 + [review])
			got = self.read(path)
			self.assert_v2(got, thread=False)
			self.assertIn('revision(s) v1', got.threads[0].left)
			self.assertEqual(got.threads[0].subject, '[PATCH v2 0/3] mm/slub: A and B')
			found = mail.scan(path, self.scratch)
			self.assertEqual([(f.name, f.revision) for f in found], [('mm/slub: A and B', 2)])

	def test_same_author_other_series_stays_apart(self):
		"""Two series of one author, each its own subjects, v1 each: two
		series, refused without --message-id."""
		other = mailfix.series(1, ['int x;'], name='mm/other', when=500)
		for m in other:
			for h in ('Message-Id', 'In-Reply-To', 'References'):
				if m[h]:
					m.replace_header(h, str(m[h]).replace('v1-', 'o1-'))
			m.replace_header('Subject', str(m['Subject']).replace('part', 'other'))
		path = os.path.join(self.tmp, 'two.mbox')
		mailfix.write_mboxrd(path, mailfix.series(2, ['int a;', 'int b;']) + other)
		with self.assertRaises(UserError) as e:
			self.read(path)
		self.assertIn('2 different series', str(e.exception))

	def test_charsets(self):
		m = mailfix.message('c1', '=?iso-8859-1?q?=5BPATCH=5D_mm=3A_caf=E9?=',
				    mailfix.body(1, 'int caf\u00e9;'), charset='iso-8859-1')
		path = os.path.join(self.tmp, 'c.eml')
		with open(path, 'wb') as f:
			f.write(mailfix.as_bytes(m))
		got = self.read(path)
		self.assertEqual(got.patches[0].subject, 'mm: caf\u00e9')
		self.assertIn('+int caf\u00e9;', got.patches[0].text)

	def test_format_patch_without_thread(self):
		path = os.path.join(self.tmp, 'fp.mbox')
		with open(path, 'w') as f:
			for k in (1, 2):
				f.write(f'From {k:040x} Mon Sep 17 00:00:00 2001\nFrom: {mailfix.AUTHOR}\n'
					f'Subject: [PATCH {k}/2] part {k}\n\n' + mailfix.body(k, 'int y;'))
		got = self.read(path)
		self.assertEqual([p.subject for p in got.patches], ['part 1', 'part 2'])
		self.assertEqual(got.threads, [])


class Tags(unittest.TestCase):

	def test_tags(self):
		t = mail.parse_tag('[RFC PATCH v3 02/10] mm: x')
		self.assertEqual((t.revision, t.k, t.n), (3, 2, 10))
		self.assertIsNone(mail.parse_tag('Re: [PATCH v3 02/10] mm: x'))
		self.assertEqual(mail.parse_tag('[PATCH] mm').place, '1/1')
		self.assertEqual(mail.missing([mail.Tag(1, 1, 3, ''), mail.Tag(1, 3, 3, '')]), ['2/3'])

	def test_diff_key_ignores_what_a_resend_changes(self):
		a = 'Subject: x\n\nmsg\n---\ndiff --git a/f b/f\nindex 1..2 100644\n--- a/f\n+++ b/f\n'
		b = 'Subject: [RESEND] x\n\nmsg\n\nAcked-by: y\n---\ndiff --git a/f b/f\n' \
		    'index 3..4 100644\n--- a/f\n+++ b/f\n'
		self.assertEqual(mail.diff_key([a]), mail.diff_key([b]))
		self.assertNotEqual(mail.diff_key([a]), mail.diff_key([a + '+x\n']))
