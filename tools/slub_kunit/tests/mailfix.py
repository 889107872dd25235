# SPDX-License-Identifier: GPL-2.0
#
# Mail as the list sends it, built by the tests themselves: a series in two
# revisions with a cover letter each, reviews (one carrying an inline
# counter-patch to the same lines), in every form the runner reads.

import email.message
import email.policy
import email.utils
import gzip
import mailbox
import os
import shutil
from typing import Iterable, List, Optional

AUTHOR = 'A U Thor <author@example.org>'
REVIEWER = 'Rév Iewer <rev@example.org>'
LIST = 'linux-mm@kvack.org'
CC = ['Vlastimil Babka <vbabka@suse.cz>', 'linux-kernel@vger.kernel.org']


def diff(k: int, line: str) -> str:
	return (f'--- a/mm/f{k}.c\n+++ b/mm/f{k}.c\n'
		f'@@ -1 +1,2 @@\n int a;\n+{line}\n')


def body(k: int, line: str) -> str:
	return (f'The {k}. change; a line in the body starts\nFrom here, as mboxrd escapes.\n\n'
		f'Signed-off-by: {AUTHOR}\n---\n mm/f{k}.c | 1 +\n 1 file changed\n\n'
		f'diff --git a/mm/f{k}.c b/mm/f{k}.c\n' + diff(k, line) + '-- \n2.39.5\n')


def message(mid: str, subject: str, text: str, sender: str = AUTHOR,
	    parents: Iterable[str] = (), when: int = 0,
	    charset: Optional[str] = None) -> email.message.EmailMessage:
	m = email.message.EmailMessage(policy=email.policy.SMTP)
	m['From'] = sender
	m['To'] = LIST
	m['Cc'] = ', '.join(CC)
	m['Subject'] = subject
	m['Date'] = email.utils.formatdate(1700000000 + when)
	m['Message-Id'] = f'<{mid}@example.org>'
	parents = list(parents)
	if parents:
		m['In-Reply-To'] = f'<{parents[-1]}@example.org>'
		m['References'] = ' '.join(f'<{p}@example.org>' for p in parents)
	if charset:
		m.set_content(text, charset=charset, cte='quoted-printable')
	else:
		m.set_content(text)
	return m


def series(rev: int, lines: List[str], when: int = 0, cover: bool = True,
	   parents: Iterable[str] = (), tag: str = 'PATCH',
	   name: str = 'mm/slub: node handling') -> List[email.message.EmailMessage]:
	n = len(lines)
	v = f' v{rev}' if rev > 1 else ''
	root = f'v{rev}-0-{tag}'.replace(' ', '')
	out = []
	parents = list(parents)
	if cover:
		out.append(message(root, f'[{tag}{v} 0/{n}] {name}', f'Cover letter v{rev}.\n',
				   parents=parents, when=when))
		parents = parents + [root]
	for k, line in enumerate(lines, 1):
		mid = f'v{rev}-{k}-{tag}'.replace(' ', '')
		out.append(message(mid, f'[{tag}{v} {k}/{n}] mm/slub: part {k}', body(k, line),
				   parents=parents if cover or k == 1 else parents + [f'v{rev}-1-{tag}'],
				   when=when + k))
	return out


def thread(lines2: Optional[List[str]] = None) -> List[email.message.EmailMessage]:
	"""v1 and v2 (in reply to v1's cover), a review with a trailer and one
	with an inline counter-patch touching the same lines as v2's 2/3."""
	v1 = series(1, ['int v1_1;', 'int v1_2;', 'int v1_3;'])
	v2 = series(2, lines2 or ['int v2_1;', 'int v2_2;', 'int v2_3;'], when=100,
		    parents=['v1-0-PATCH'])
	review = message('r1', 'Re: [PATCH v2 2/3] mm/slub: part 2',
			 '> +int v2_2;\n\nHow about this instead:\n\n' + body(2, 'int counter;'),
			 sender=REVIEWER, parents=['v1-0-PATCH', 'v2-0-PATCH', 'v2-2-PATCH'], when=200)
	ack = message('r2', 'Re: [PATCH v2 1/3] mm/slub: part 1',
		      'Reviewed-by: Rév Iewer <rev@example.org>\n', sender=REVIEWER,
		      parents=['v1-0-PATCH', 'v2-0-PATCH', 'v2-1-PATCH'], when=201)
	return v1 + v2 + [review, ack]


def as_bytes(m: email.message.EmailMessage) -> bytes:
	return m.as_bytes(policy=email.policy.SMTP.clone(linesep='\n'))


def write_mboxrd(path: str, msgs: List[email.message.EmailMessage],
		 first: bytes = b'From mboxrd@z Thu Jan  1 00:00:00 1970') -> None:
	"""public-inbox's form: mboxrd ('>From ' and '>>From ' escaped)."""
	with open(path, 'wb') as f:
		for m in msgs:
			f.write(first + b'\n')
			for line in as_bytes(m).split(b'\n'):
				stripped = line.lstrip(b'>')
				f.write((b'>' + line if stripped.startswith(b'From ') else line) + b'\n')


def write_b4_mbx(path: str, msgs: List[email.message.EmailMessage]) -> None:
	"""b4 am's form: 'From git@z ...' lines, the patches only, without
	threading headers."""
	patches = [m for m in msgs if ' 0/' not in str(m['Subject'])]
	for m in patches:
		del m['In-Reply-To']
		del m['References']
	write_mboxrd(path, patches, first=b'From git@z Thu Jan  1 00:00:00 1970')


def write_gz(path: str, msgs: List[email.message.EmailMessage]) -> None:
	plain = path + '.plain'
	write_mboxrd(plain, msgs)
	with open(plain, 'rb') as f, gzip.open(path, 'wb') as g:
		shutil.copyfileobj(f, g)
	os.unlink(plain)


def write_crlf(path: str, msgs: List[email.message.EmailMessage]) -> None:
	write_mboxrd(path, msgs)
	with open(path, 'rb') as f:
		data = f.read()
	with open(path, 'wb') as f:
		f.write(data.replace(b'\n', b'\r\n'))


def write_maildir(path: str, msgs: List[email.message.EmailMessage]) -> None:
	box = mailbox.Maildir(path, create=True)
	for m in msgs:
		box.add(as_bytes(m))
