# SPDX-License-Identifier: GPL-2.0
#
# A seeded, bounded fuzz test of the patch and mbox reader: random bytes,
# truncations and splices of real patches, headers in other charsets,
# escape sequences, CRLF line ends. Each input gives patches whose every
# property can be read, printed and written as JSON, or one line and exit
# 2 or 4; never a traceback.

import glob
import json
import os
import random
import shutil
import tempfile
import unittest

from slub_kunit.common import REPO, UserError, printable
from slub_kunit.inbox import mail, patches
from slub_kunit.status import Exit

SEED = 20261201
INPUTS = 3000
# Inputs that are mail go through git mailsplit and git mailinfo (tens of
# milliseconds each): this many are read, the rest of them skipped.
MAIL_INPUTS = 120

SUBJECTS = [
	b'Subject: [PATCH 1/2] mm,slub: caf\xe9 au lait\n',
	b'Subject: =?iso-8859-1?q?caf=E9?= =?utf-8?b?w6k=?=\n',
	b'Subject: =?koi8-r?b?7tTP?= and =?x-unknown?q?what?=\n',
	b'Subject: =?utf-8?q?broken\n',
	b'Subject: \x1b]0;pwned\x07\x1b[2Jclear\n',
	b'Subject: folded\n  over\n\ttwo lines\n',
	b'Subject: \xff\xfe\xfd\n',
	b'From: Jos\xe9 <j@example.org>\n',
]


def real_patches():
	paths = sorted(glob.glob(os.path.join(REPO, 'tools', 'examples', '*')) +
		       glob.glob(os.path.join(REPO, 'tools', 'patches', '*.patch')))
	out = []
	for path in paths:
		with open(path, 'rb') as f:
			out.append(f.read())
	return out


def mutate(rng, corpus):
	a = rng.choice(corpus)
	kind = rng.randrange(7)
	if kind == 0:
		return bytes(rng.randrange(256) for _ in range(rng.randrange(400)))
	if kind == 1:
		return a[:rng.randrange(len(a) + 1)]
	if kind == 2:
		b = rng.choice(corpus)
		return a[:rng.randrange(len(a) + 1)] + b[rng.randrange(len(b) + 1):]
	if kind == 3:
		lines = a.split(b'\n')
		lines.insert(rng.randrange(len(lines) + 1), rng.choice(SUBJECTS).rstrip(b'\n'))
		return b'\n'.join(lines)
	if kind == 4:
		return a.replace(b'\n', b'\r\n')
	if kind == 5:
		cut = rng.randrange(len(a) + 1)
		return (a[:cut] + b'From 0123456789012345678901234567890123456789 '
			b'Mon Sep 17 00:00:00 2001\n' + a[cut:])
	data = bytearray(a)
	for _ in range(rng.randrange(1, 8)):
		if data:
			data[rng.randrange(len(data))] = rng.randrange(256)
	return bytes(data)


class PatchReaderFuzz(unittest.TestCase):

	def setUp(self):
		self.tmp = tempfile.mkdtemp(prefix='slub-kunit-fuzz-')

	def tearDown(self):
		shutil.rmtree(self.tmp)

	def test_result_or_one_line(self):
		rng = random.Random(SEED)
		corpus = real_patches()
		self.assertGreater(len(corpus), 3)
		read = refused = mails = 0
		for i in range(INPUTS):
			data = mutate(rng, corpus)
			if mail.is_mail(mail.unpacked(data, 'x') if data[:2] != b'\x1f\x8b' else data):
				mails += 1
				if mails > MAIL_INPUTS:
					continue
			path = os.path.join(self.tmp, f'in{i % 7}.patch')
			with open(path, 'wb') as f:
				f.write(data)
			try:
				found = patches.read(path)
			except UserError as err:
				self.assertIn(err.code, (Exit.USAGE, Exit.PATCH), data[:200])
				self.assertEqual(len(printable(str(err)).splitlines()), 1)
				refused += 1
				continue
			read += 1
			for p in found:
				shown = f'{p.name} {p.subject} {p.label}'
				self.assertFalse(any(ord(c) < 32 or 0xd800 <= ord(c) < 0xe000 for c in shown),
						 repr(shown))
				json.dumps({'name': p.name, 'subject': p.subject, 'sha256': p.sha256,
					    'paths': [printable(r) for r in p.paths()]})
		# Both kinds of input occurred: the fuzz reached past the refusals.
		self.assertGreater(read, (read + refused) // 20)
		self.assertGreater(refused, (read + refused) // 20)
		self.assertGreater(mails, MAIL_INPUTS)
