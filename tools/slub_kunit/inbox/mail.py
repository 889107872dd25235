# SPDX-License-Identifier: GPL-2.0
"""Mail as the list gives it: an mbox in any of its forms (git format-patch,
b4 am's .mbx, a public-inbox thread in mboxrd, gzipped, CRLF line ends),
a single saved message, or a maildir. Messages are split by git
mailsplit and decoded by git mailinfo; a thread is turned into a series
by b4 am, offline, the way a maintainer would take it: its newest
revision unless asked for another, in [PATCH vN k/n] order, without the
cover letter, the replies and the inline patches in them. This module
only reads: what it unpacks goes to a private directory under the cache,
removed before it returns.
"""

import email
import email.policy
import email.utils
import gzip
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Set, Tuple

from slub_kunit import host, procs
from slub_kunit.common import HostError, PatchError, UsageError, UserError, log, printable

# A gzipped thread is unpacked up to this size: lore's biggest threads are
# a few MiB; anything far beyond is not a thread.
MAX_UNPACKED = 256 << 20


@dataclass(frozen=True)
class Tag:
	"""What [PATCH v2 3/5] says: revision 2, patch 3 of 5."""
	revision: int
	k: int
	n: int
	text: str	# the bracket's content, e.g. 'PATCH v2 3/5'

	@property
	def place(self) -> str:
		return f'{self.k}/{self.n}'


TAG = re.compile(r'\[([^\]]*\bPATCH\b[^\]]*)\]', re.I)


def parse_tag(subject: str) -> Optional[Tag]:
	"""The [PATCH ...] tag of a subject (not a reply's); None if none."""
	if re.match(r'^\s*(re|aw|fwd?)\s*:', subject, re.I):
		return None
	m = TAG.search(subject)
	if not m:
		return None
	text = m.group(1)
	rev = re.search(r'\bv(\d+)\b', text, re.I)
	place = re.search(r'\b(\d+)/(\d+)\b', text)
	k, n = (int(place.group(1)), int(place.group(2))) if place else (1, 1)
	return Tag(int(rev.group(1)) if rev else 1, k, n, printable(' '.join(text.split())))


def base_subject(subject: str) -> str:
	"""A subject without reply prefixes and bracketed tags: what stays the
	same across the revisions of one series."""
	s = re.sub(r'^\s*((re|aw|fwd?)\s*:\s*)+', '', subject, flags=re.I)
	s = re.sub(r'^\s*(\[[^\]]*\]\s*)+', '', s)
	return ' '.join(s.split())


def ids(value: Optional[str]) -> List[str]:
	"""The Message-Ids in a header value, without angle brackets."""
	return re.findall(r'<([^<>\s]+)>', str(value or ''))


@dataclass
class Message:
	"""One message of the input, as split to a file."""
	path: str
	msgid: str
	subject: str
	sender: str
	to: List[str]
	cc: List[str]
	date: str
	parents: List[str]	# References, then In-Reply-To
	has_diff: bool

	@property
	def tag(self) -> Optional[Tag]:
		return parse_tag(self.subject)


@dataclass
class Thread:
	"""Where a series came from: what a reply to it needs, and what was
	taken and left."""
	source: str
	revision: int
	subject: str		# the cover letter's, or the first patch's
	msgid: str		# the message a reply answers: cover letter or patch 1
	references: List[str]
	sender: str
	to: List[str]
	cc: List[str]
	taken: List[str]	# Message-Ids of the patches, in order
	series_ids: List[str] = field(default_factory=list)	# the series' own, in order
	left: List[str] = field(default_factory=list)	# what was left out, said briefly

	def as_json(self) -> Dict[str, object]:
		return {'source': self.source, 'revision': self.revision, 'subject': self.subject,
			'answers': self.msgid, 'taken': self.taken, 'left_out': self.left}


# --- reading the input ---------------------------------------------------------

def is_maildir(path: str) -> bool:
	return all(os.path.isdir(os.path.join(path, d)) for d in ('cur', 'new', 'tmp'))


def unpacked(data: bytes, name: str) -> bytes:
	"""data, gunzipped if it is gzip (bounded, so a gzip bomb is refused)."""
	if not data.startswith(b'\x1f\x8b'):
		return data
	try:
		with gzip.GzipFile(fileobj=_Bytes(data)) as f:
			out = f.read(MAX_UNPACKED + 1)
	except (OSError, EOFError) as e:
		raise PatchError(f'patch {name}: broken gzip file ({e})')
	if len(out) > MAX_UNPACKED:
		raise PatchError(f'patch {name}: unpacks to more than {MAX_UNPACKED >> 20} MiB; '
				'refused')
	return out


class _Bytes:
	"""The least of a file object GzipFile reads from."""

	def __init__(self, data: bytes) -> None:
		self.data, self.pos = data, 0

	def read(self, n: int = -1) -> bytes:
		end = len(self.data) if n is None or n < 0 else self.pos + n
		out = self.data[self.pos:end]
		self.pos += len(out)
		return out


HEADER = re.compile(rb'^[A-Za-z][A-Za-z0-9-]*:[ \t]')


def is_mail(data: bytes) -> bool:
	"""An mbox (first line 'From '), or one message saved as it came (a
	header block with a Subject: before the first empty line)."""
	text = data.lstrip(b'\r\n')
	if text.startswith(b'From '):
		return True
	head = re.split(rb'\r?\n\r?\n', text, maxsplit=1)[0]
	lines = head.splitlines()
	return bool(lines) and bool(HEADER.match(lines[0])) and \
		any(line.lower().startswith(b'subject:') for line in lines)


def mailsplit(src: str, dest: str, mboxrd: bool) -> List[str]:
	"""git mailsplit of an mbox file or a maildir into dest, CR stripped;
	the message files in order."""
	os.makedirs(dest, exist_ok=True)
	cmd = ['git', 'mailsplit', '-b', f'-o{dest}'] + (['--mboxrd'] if mboxrd else []) + [src]
	res = _git(cmd)
	if res.returncode != 0:
		raise PatchError(f'patch {os.path.basename(src)}: git mailsplit cannot read it: '
				f'{_first_line(res.stderr)}')
	return sorted(os.path.join(dest, n) for n in os.listdir(dest))


def split_input(path: str, data: Optional[bytes], scratch: str) -> List[str]:
	"""The message files of an input, split into scratch: the maildir at
	path (data None), or the mbox or message data (public-inbox's mboxrd
	unescaped)."""
	dest = os.path.join(scratch, 'split')
	if data is None:
		return mailsplit(path, dest, mboxrd=False)
	plain = os.path.join(scratch, 'input.mbox')
	with open(plain, 'wb') as f:
		f.write(data)
	return mailsplit(plain, dest, mboxrd=data.lstrip(b'\r\n').startswith(b'From mboxrd@z'))


def _git(cmd: Sequence[str], stdin: Optional[object] = None) -> subprocess.CompletedProcess:
	try:
		return procs.run(list(cmd), stdin=stdin, stdout=subprocess.PIPE,
				 stderr=subprocess.PIPE, env=quiet_git_env())
	except FileNotFoundError:
		raise HostError(f'{cmd[0]}: command not found (apt-get install {cmd[0]})')


def quiet_git_env() -> Dict[str, str]:
	"""git and b4 as this module runs them: no pager, no prompt, b4's
	attestation off (it would ask DNS), b4's cache out of $HOME."""
	env = dict(os.environ, GIT_PAGER='cat', PAGER='cat', GIT_TERMINAL_PROMPT='0')
	extra = [('b4.attestation-policy', 'off'), ('b4.midmask', 'https://localhost/%s'),
		 ('b4.linkmask', 'https://localhost/r/%s')]
	base = int(env.get('GIT_CONFIG_COUNT', '0') or 0)
	for i, (key, value) in enumerate(extra):
		env[f'GIT_CONFIG_KEY_{base + i}'] = key
		env[f'GIT_CONFIG_VALUE_{base + i}'] = value
	env['GIT_CONFIG_COUNT'] = str(base + len(extra))
	return env


def _first_line(data: bytes) -> str:
	lines = [line for line in data.decode('utf-8', 'replace').splitlines() if line.strip()]
	return printable(lines[0].strip()) if lines else 'no reason given'


def header_text(msg: email.message.Message, name: str) -> str:
	value = msg.get(name)
	if value is None:
		return ''
	try:
		text = str(value)
	except (ValueError, LookupError, AssertionError, TypeError):
		text = str(msg.get_all(name, [''])[0])
	return ' '.join(text.split())


def addresses(msg: email.message.Message, name: str) -> List[str]:
	out = []
	for real, addr in email.utils.getaddresses([header_text(msg, name)]):
		if '@' in addr:
			out.append(email.utils.formataddr((real, addr)) if real else addr)
	return out


def parse(path: str) -> Message:
	with open(path, 'rb') as f:
		data = f.read()
	try:
		msg = email.message_from_bytes(data, policy=email.policy.default)
		subject = header_text(msg, 'Subject')
		msgid = (ids(header_text(msg, 'Message-Id')) or [''])[0]
		parents = ids(header_text(msg, 'References'))
		irt = ids(header_text(msg, 'In-Reply-To'))
		to, cc = addresses(msg, 'To'), addresses(msg, 'Cc')
		sender, date = header_text(msg, 'From'), header_text(msg, 'Date')
	except (ValueError, LookupError, AssertionError, TypeError, IndexError):
		subject, msgid, parents, irt, to, cc, sender, date = '', '', [], [], [], [], '', ''
	if irt and (not parents or parents[-1] != irt[0]):
		parents = [p for p in parents if p != irt[0]] + irt[:1]
	has_diff = bool(re.search(rb'^(\+\+\+ |diff --git )', data, re.M))
	return Message(path, msgid, subject, sender, to, cc, date, parents, has_diff)


# --- threads -------------------------------------------------------------------

def threads(msgs: List[Message]) -> List[List[Message]]:
	"""Messages grouped by thread (References and In-Reply-To), in input
	order of each thread's first message."""
	parent: Dict[str, str] = {}

	def root(x: str) -> str:
		while parent.get(x, x) != x:
			parent[x] = parent.get(parent[x], parent[x])
			x = parent[x]
		return x

	for i, m in enumerate(msgs):
		key = m.msgid or f'#{i}'
		parent.setdefault(key, key)
		for p in m.parents:
			parent.setdefault(p, p)
			a, b = root(key), root(p)
			if a != b:
				parent[a] = b
	groups: Dict[str, List[Message]] = {}
	for i, m in enumerate(msgs):
		groups.setdefault(root(m.msgid or f'#{i}'), []).append(m)
	return unthreaded_series(list(groups.values()))


def unthreaded_series(groups: List[List[Message]]) -> List[List[Message]]:
	"""Patches of one series that carry no threading headers (b4 am's .mbx
	drops them) are one thread each: they are put back together when one
	sender's patches say the same revision and count and none repeats a
	place."""
	out: List[List[Message]] = []
	lone: Dict[Tuple[str, int, int], List[Message]] = {}
	for group in groups:
		tags = {(m.sender, m.tag.revision, m.tag.n) for m in group if m.tag}
		if len(group) == 1 and len(tags) == 1 and group[0].tag and group[0].tag.n > 1:
			key = tags.pop()
			places = {m.tag.k for m in lone.get(key, []) if m.tag}
			if group[0].tag.k not in places:
				if key not in lone:
					lone[key] = []
					out.append(lone[key])
				lone[key].append(group[0])
				continue
		out.append(group)
	return out


def patch_messages(thread: List[Message]) -> List[Message]:
	return [m for m in thread if m.tag is not None and (m.has_diff or m.tag.k == 0)]


def revisions(thread: List[Message]) -> List[int]:
	return sorted({m.tag.revision for m in patch_messages(thread) if m.tag})


def series_name(thread: List[Message]) -> str:
	ms = patch_messages(thread)
	first = min(ms, key=lambda m: (m.tag.k if m.tag else 0)) if ms else thread[0]
	return base_subject(first.subject)


def sent_at(m: Message) -> Optional[float]:
	try:
		return email.utils.parsedate_to_datetime(m.date).timestamp()
	except (TypeError, ValueError, IndexError):
		return None


def names_one_of(a: List[Message], b: List[Message]) -> bool:
	"""Whether a message of a names a Message-Id of b (b4's "Link to v1")."""
	wanted = [m.msgid.encode() for m in b if m.msgid]
	for m in patch_messages(a):
		try:
			with open(m.path, 'rb') as f:
				text = f.read()
		except OSError:
			continue
		if any(w in text for w in wanted):
			return True
	return False


def same_series(a: List[Message], b: List[Message]) -> bool:
	"""Whether two threads hold revisions of one series: the same subject
	(a v2 sent as a new thread); or a series retitled between revisions,
	as b4 takes it: one author, no revision in both, every message of the
	older revisions sent before the newer ones, and a patch subject in
	common or one naming a Message-Id of the other."""
	if series_name(a) == series_name(b):
		return True
	pa, pb = patch_messages(a), patch_messages(b)
	if {m.sender for m in pa} != {m.sender for m in pb}:
		return False
	ra, rb = set(revisions(a)), set(revisions(b))
	if not ra or not rb or ra & rb:
		return False
	if max(ra) < min(rb):
		old, new = pa, pb
	elif max(rb) < min(ra):
		old, new = pb, pa
	else:
		return False
	last = [t for t in map(sent_at, old) if t is not None]
	first = [t for t in map(sent_at, new) if t is not None]
	if last and first and max(last) > min(first):
		return False

	def subjects(ms: List[Message]) -> Set[str]:
		return {base_subject(m.subject) for m in ms if m.tag and m.tag.k > 0}
	return bool(subjects(pa) & subjects(pb)) or names_one_of(a, b) or names_one_of(b, a)


def series_of(groups: List[List[Message]]) -> List[List[List[Message]]]:
	"""Threads grouped into series (same_series), in input order."""
	out: List[List[List[Message]]] = []
	for group in groups:
		home = next((s for s in out if any(same_series(group, t) for t in s)), None)
		if home is None:
			out.append([group])
		else:
			home.append(group)
	return out


def newest(series: List[List[Message]], revision: Optional[int] = None
	   ) -> Tuple[List[Message], int, List[int]]:
	"""The thread holding a series' revision (default the newest; the last
	thread to hold it: a resend replaces a send), that revision, and the
	revisions only other threads of the series hold."""
	have = sorted({r for t in series for r in revisions(t)})
	rev = revision or have[-1]
	thread = [t for t in series if rev in revisions(t)][-1]
	mine = set(revisions(thread))
	return thread, rev, [r for r in have if r not in mine]


@dataclass(frozen=True)
class Choice:
	"""Which series of an input to take (the command line's mail options)."""
	revision: Optional[int] = None		# --revision N; default the newest
	msgid: Optional[str] = None		# --message-id: the thread holding it
	reply_patches: Tuple[str, ...] = ()	# --reply-patch MSGID: also take these


def pick(msgs: List[Message], choice: Choice, name: str
	 ) -> Tuple[List[Message], int, List[int]]:
	"""The thread and revision to take, and the revisions left in other
	threads. Threads of one series (same_series(): a v2 sent as a new
	thread, retitled or not) count as one; two series need --message-id."""
	groups = [t for t in threads(msgs) if patch_messages(t)]
	if choice.msgid:
		want = choice.msgid.strip('<>')
		groups = [t for t in groups if any(m.msgid == want for m in t)]
		if not groups:
			raise PatchError(f'patch {name}: no series holds Message-Id <{want}>')
	found = series_of(groups)
	if len(found) > 1:
		names = [series_name(newest(ts)[0]) for ts in found]
		raise UsageError(f'patch {name}: {len(found)} different series in it ('
				+ '; '.join(f'"{printable(n)}"' for n in names[:3])
				+ '); pick one with --message-id')
	have = sorted({r for t in groups for r in revisions(t)})
	if choice.revision and choice.revision not in have:
		raise UsageError(f'patch {name}: no revision v{choice.revision} in it (it has '
				+ ', '.join(f'v{r}' for r in have) + ')')
	return newest(found[0], choice.revision)


def missing(tags: List[Tag]) -> List[str]:
	"""What a series' tags lack: places k/n absent, or counts that differ."""
	if not tags:
		return ['every patch']
	counts = {t.n for t in tags}
	if len(counts) > 1:
		return [f'one count of patches (it says {", ".join(str(c) for c in sorted(counts))})']
	n = counts.pop()
	have = {t.k for t in tags}
	return [f'{k}/{n}' for k in range(1, n + 1) if k not in have]


# --- b4 --------------------------------------------------------------------------

def b4_am(pool: str, revision: int, out: str) -> Tuple[List[str], str]:
	"""b4 am, offline, on the maildir pool (one thread): the message files
	of revision's patches in order, and b4's own account."""
	cmd = ['b4', '--offline-mode', '--no-stdin', 'am', '-C', '-T', '-M', '-m', pool,
	       '-o', out, '-n', 'series', '-v', str(revision)]
	env = quiet_git_env()
	env['XDG_CACHE_HOME'] = os.path.join(out, 'b4-cache')
	env['XDG_DATA_HOME'] = os.path.join(out, 'b4-data')
	try:
		res = procs.run(cmd, cwd=out, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
	except FileNotFoundError:
		raise HostError('b4: command not found (apt-get install b4)')
	said = (res.stdout + res.stderr).decode('utf-8', 'replace')
	new = os.path.join(out, 'series.maildir', 'new')
	if res.returncode != 0 or not os.path.isdir(new):
		raise PatchError(f'b4 am cannot take a series from it: {_b4_reason(said)}')
	return sorted(os.path.join(new, n) for n in os.listdir(new)), said


def _b4_reason(said: str) -> str:
	lines = [line.strip() for line in said.splitlines() if line.strip()]
	for line in reversed(lines):
		if re.match(r'^(ERROR|CRITICAL|No patches|[A-Za-z]+Error)', line):
			return printable(line)
	return printable(lines[-1]) if lines else 'it said nothing'


# --- the patches -----------------------------------------------------------------

@dataclass
class Taken:
	"""One patch as taken from mail: decoded text and where it came from."""
	text: str
	msgid: str
	tag: Optional[Tag]


def mailinfo(path: str, scratch: str) -> Taken:
	"""git mailinfo of one message: its headers, log message and diff,
	transfer encodings undone and re-encoded as UTF-8, as a patch text."""
	msg_file, patch_file = os.path.join(scratch, 'msg'), os.path.join(scratch, 'patch')
	with open(path, 'rb') as f:
		res = _git(['git', 'mailinfo', '-u', msg_file, patch_file], stdin=f)
	if res.returncode != 0:
		raise PatchError(f'patch {os.path.basename(path)}: git mailinfo cannot read it: '
				f'{_first_line(res.stderr)}')
	info = dict(re.findall(r'^(\w+): ?(.*)$', res.stdout.decode('utf-8', 'surrogateescape'),
			       re.M))
	with open(msg_file, 'rb') as f:
		body = f.read().decode('utf-8', 'surrogateescape')
	with open(patch_file, 'rb') as f:
		diff = f.read().decode('utf-8', 'surrogateescape')
	whole = parse(path)
	tag = parse_tag(whole.subject)
	subject = f'[{tag.text}] {info.get("Subject", "")}' if tag else info.get('Subject', '')
	head = [f'From: {info.get("Author", "")} <{info.get("Email", "")}>',
		f'Date: {info.get("Date", "")}', f'Subject: {subject}']
	if whole.msgid:
		head.append(f'Message-Id: <{whole.msgid}>')
	text = '\n'.join(head) + '\n\n' + body + ('---\n' if diff else '') + diff
	return Taken(text, whole.msgid, tag)


def diff_key(texts: Sequence[str]) -> str:
	"""A series' identity by content: the hash of its diffs alone (what a
	resend keeps, whatever its Message-Ids, dates and trailers)."""
	h = hashlib.sha256()
	for text in texts:
		m = re.search(r'^(diff --git |--- \S)', text, re.M)
		diff = text[m.start():] if m else text
		diff = re.sub(r'^index [0-9a-f]+\.\.[0-9a-f]+.*$', '', diff, flags=re.M)
		diff = re.sub(r'^-- \n[\s\S]*\Z', '', diff, flags=re.M)
		h.update(diff.encode('utf-8', 'surrogateescape'))
		h.update(b'\0')
	return h.hexdigest()


@dataclass
class Read:
	"""What one input gave: patches (text, Message-Id, tag) and, for a
	thread, where they came from."""
	patches: List[Taken]
	thread: Optional[Thread] = None


def read(path: str, data: Optional[bytes], scratch_root: str, choice: Choice = Choice()) -> Read:
	"""The patches of a mail input: a maildir (path a directory, data None)
	or an mbox or message (data its bytes, unpacked)."""
	name = printable(os.path.basename(path.rstrip('/')) or path)
	host.ensure_commands({'git': 'git'})
	os.makedirs(scratch_root, exist_ok=True)
	scratch = tempfile.mkdtemp(prefix='mail-', dir=scratch_root)
	try:
		return _read(path, data, scratch, name, choice)
	finally:
		shutil.rmtree(scratch, ignore_errors=True)


def _read(path: str, data: Optional[bytes], scratch: str, name: str, choice: Choice) -> Read:
	files = split_input(path, data, scratch)
	if not files:
		raise PatchError(f'patch {name}: no message in it')
	msgs = [parse(f) for f in files]
	threaded = any(m.msgid and m.tag and m.has_diff for m in msgs)
	if not threaded:
		return Read(_in_file_order(msgs, scratch, name))
	return _series(path, msgs, scratch, name, choice)


def _in_file_order(msgs: List[Message], scratch: str, name: str) -> List[Taken]:
	"""Messages without threading (git format-patch without --thread):
	each one with a diff is a patch, in file order; a cover letter is
	left out."""
	out = []
	for m in msgs:
		if not m.has_diff and m.tag is not None and m.tag.k == 0:
			continue
		out.append(mailinfo(m.path, scratch) if m.has_diff else
			   Taken(_raw(m.path), m.msgid, m.tag))
	if not out:
		raise PatchError(f'patch {name}: no diff in it')
	return out


def _raw(path: str) -> str:
	with open(path, 'rb') as f:
		return f.read().decode('utf-8', 'surrogateescape')


def _series(path: str, msgs: List[Message], scratch: str, name: str, choice: Choice) -> Read:
	host.ensure_commands(host.MAIL_NEEDS)
	thread, rev, elsewhere = pick(msgs, choice, name)
	gaps = gaps_of(thread, rev)
	if gaps:
		raise PatchError(f'patch {name}: series v{rev} "{printable(series_name(thread))}" '
				f'is incomplete: missing {", ".join(gaps)}; refused before any '
				'build')
	return _take(path, thread, rev, scratch, name, choice, elsewhere)


def gaps_of(thread: List[Message], rev: int) -> List[str]:
	"""What revision rev of the thread's series lacks, by its tags."""
	return missing([m.tag for m in patch_messages(thread)
			if m.tag and m.tag.revision == rev and m.tag.k > 0 and m.has_diff])


def _take(path: str, thread: List[Message], rev: int, scratch: str, name: str,
	  choice: Choice, elsewhere: Sequence[int] = ()) -> Read:
	"""Revision rev of the thread's series, as b4 am takes it; elsewhere,
	the revisions of the series in other threads (left out)."""
	of_rev = [m for m in patch_messages(thread) if m.tag and m.tag.revision == rev]
	pool = tempfile.mkdtemp(prefix='pool-', dir=scratch)
	for d in ('cur', 'new', 'tmp'):
		os.makedirs(os.path.join(pool, d))
	for i, m in enumerate(thread):
		shutil.copyfile(m.path, os.path.join(pool, 'new', f'{i:06d}.eml'))
	anchor = next((m for m in of_rev if m.tag and m.tag.k == 0), None) or \
		min((m for m in of_rev if m.tag), key=lambda m: m.tag.k if m.tag else 0)
	out = tempfile.mkdtemp(prefix='b4-', dir=scratch)
	files, _ = b4_am(pool, rev, out)
	taken = [mailinfo(f, scratch) for f in files]
	gaps = missing([t.tag for t in taken if t.tag])
	# A place sent twice (a resend in the same thread) counts once.
	places = {m.tag.k for m in of_rev if m.tag and m.tag.k > 0 and m.has_diff}
	if gaps or len(taken) != len(places):
		raise PatchError(f'patch {name}: b4 am took {len(taken)} patch(es) of series v{rev} '
				f'"{printable(series_name(thread))}"'
				+ (f', missing {", ".join(gaps)}' if gaps else '') + '; refused')
	series_ids = [t.msgid for t in taken]
	taken = _with_reply_patches(taken, thread, choice, scratch, name)
	info = Thread(source=os.path.abspath(path), revision=rev,
		      subject=printable(anchor.subject), msgid=anchor.msgid,
		      references=[p for p in anchor.parents] + [anchor.msgid],
		      sender=anchor.sender, to=anchor.to, cc=anchor.cc,
		      taken=[t.msgid for t in taken], series_ids=series_ids,
		      left=_left_out(thread, rev, choice, elsewhere))
	log(f'{name}: series v{rev} "{printable(series_name(thread))}", {len(taken)} patch(es): '
	    + ', '.join(f'<{printable(t.msgid)}>' for t in taken)
	    + (f'; left out: {"; ".join(info.left)}' if info.left else ''))
	return Read(taken, info)


@dataclass
class Found:
	"""One series of a spool: taken, waiting for the rest of its patches,
	or refused (b4 or the checks would not take it)."""
	name: str		# the series' subject, tags dropped
	revision: int
	read: Optional[Read] = None
	waiting: str = ''	# what is missing
	refused: str = ''	# why not


def scan(path: str, scratch_root: str) -> List[Found]:
	"""Every series in a spool (a maildir, or an mbox that grows): the
	newest revision of each thread's series, in the order their threads
	began. Splits the spool once."""
	host.ensure_commands(host.MAIL_NEEDS)
	os.makedirs(scratch_root, exist_ok=True)
	scratch = tempfile.mkdtemp(prefix='scan-', dir=scratch_root)
	try:
		data = None
		if not os.path.isdir(path):
			with open(path, 'rb') as f:
				data = unpacked(f.read(), os.path.basename(path))
		files = split_input(path, data, scratch)
		msgs = [parse(f) for f in files]
		out = []
		groups = [t for t in threads(msgs) if any(m.msgid for m in patch_messages(t))]
		for series in series_of(groups):
			thread, rev, elsewhere = newest(series)
			found = Found(printable(series_name(thread)), rev)
			gaps = gaps_of(thread, rev)
			if gaps:
				found.waiting = 'missing ' + ', '.join(gaps)
			else:
				try:
					found.read = _take(path, thread, rev, scratch, found.name, Choice(),
							   elsewhere)
				except HostError:
					raise
				except UserError as err:
					found.refused = str(err)
			out.append(found)
		return out
	finally:
		shutil.rmtree(scratch, ignore_errors=True)


def _with_reply_patches(taken: List[Taken], thread: List[Message], choice: Choice,
			scratch: str, name: str) -> List[Taken]:
	"""--reply-patch: a reviewer's inline patch takes the place of the
	patch it answers (the "how about this instead" of a review)."""
	by_id = {m.msgid: m for m in thread}
	out = list(taken)
	for want in choice.reply_patches:
		want = want.strip('<>')
		m = by_id.get(want)
		if m is None or not m.has_diff:
			raise UsageError(f'patch {name}: --reply-patch <{want}>: no reply with a diff '
					'has that Message-Id in the thread')
		place = next((i for i, t in enumerate(out) if t.msgid in m.parents[-1:]), None)
		if place is None:
			raise UsageError(f'patch {name}: --reply-patch <{want}> does not answer a patch '
					'of the series taken')
		reply = mailinfo(m.path, scratch)
		out[place] = Taken(reply.text, reply.msgid, out[place].tag)
		log(f'{name}: patch {out[place].tag.place if out[place].tag else place + 1} '
		    f'replaced by the inline patch of <{printable(want)}>')
	return out


def _left_out(thread: List[Message], rev: int, choice: Choice,
	      elsewhere: Sequence[int] = ()) -> List[str]:
	out = []
	others = sorted({m.tag.revision for m in patch_messages(thread)
			 if m.tag and m.tag.revision != rev} | set(elsewhere))
	if others:
		out.append('revision(s) ' + ', '.join(f'v{r}' for r in others))
	if any(m.tag and m.tag.k == 0 and m.tag.revision == rev for m in thread):
		out.append('the cover letter')
	replies = [m for m in thread if m.tag is None]
	inline = [m for m in replies if m.has_diff and m.msgid not in
		  {r.strip('<>') for r in choice.reply_patches}]
	if replies:
		out.append(f'{len(replies)} repl{"y" if len(replies) == 1 else "ies"}'
			   + (f' ({len(inline)} with an inline patch: '
			      + ', '.join(f'<{printable(m.msgid)}>' for m in inline) + ')'
			      if inline else ''))
	return out

