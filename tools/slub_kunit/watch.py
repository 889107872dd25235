# SPDX-License-Identifier: GPL-2.0
"""watch: the bot loop. A spool (a maildir, or an mbox that grows: what
`lei q -o` or a list subscription fills) is read again and again; every
complete series in it is judged once with validate, and its reply mail,
patchwork checks, report and JSON are written into the output
directory.

A series is known by the hash of its diffs and of what it is judged on
(kernel, arch, policy, debug): a resend is not judged again, a new
revision is. The output directory is the whole state: a series' results
are written into a directory of their own beside it and renamed into
place whole, so a series is judged exactly when its directory exists.
Killing the loop at any point loses nothing (a series being judged is
judged again on the next start) and repeats nothing that finished.
"""

import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, replace
from typing import Callable, List

from slub_kunit.common import HostError, UsageError, UserError, atomic_write, log, printable
from slub_kunit.inbox import mail, patches
from slub_kunit.judge.validate import Answer
from slub_kunit.pipeline import RunRequest
from slub_kunit.status import Exit

# What judges one series: validate.main, or a test's stand-in.
Judge = Callable[[RunRequest, Answer], int]

# The directory a series is judged in, until it is renamed to its key.
STARTED = '.judging-'
# How many passes may find the machine failing a series' judgement before
# it is stored as judged by that failure (exit 3), for a person to look at;
# until then it is judged again on the next pass. Counts live here.
HOST_RETRIES = 3
HOST_FAILURES = '.host-failures'


def series_key(req: RunRequest, found: mail.Found) -> str:
	"""What makes a series the same series to judge."""
	assert found.read is not None
	h = hashlib.sha256()
	h.update(mail.diff_key([t.text for t in found.read.patches]).encode())
	h.update(json.dumps([req.kernel, req.arch, req.policy, req.debug, req.repeat]).encode())
	return h.hexdigest()[:24]


@dataclass
class Watch:
	"""One bot: a spool, an output directory, what to judge on."""
	spool: str
	out: str
	req: RunRequest
	sender: str
	judge: Judge

	def done(self, key: str) -> bool:
		return os.path.isdir(os.path.join(self.out, key))

	def host_failed(self, key: str) -> int:
		"""Counts one more pass whose judgement of key the machine failed;
		returns how many there were."""
		path = os.path.join(self.out, HOST_FAILURES, key)
		os.makedirs(os.path.dirname(path), exist_ok=True)
		try:
			with open(path) as f:
				n = int(f.read().strip() or 0)
		except (OSError, ValueError):
			n = 0
		atomic_write(path, f'{n + 1}\n')
		return n + 1

	def one_pass(self) -> int:
		"""Judges what is new in the spool; returns how many it judged."""
		judged = 0
		for found in mail.scan(self.spool, os.path.join(self.req.cache, 'tmp')):
			label = f'v{found.revision} "{found.name}"'
			if found.waiting:
				log(f'watch: {label}: waiting ({found.waiting})')
				continue
			if found.refused:
				log(f'watch: {label}: not taken: {found.refused}')
				continue
			key = series_key(self.req, found)
			if self.done(key):
				continue
			log(f'watch: {label}: judging as {key}')
			self.judge_one(found, key)
			judged += 1
		return judged

	def judge_one(self, found: mail.Found, key: str) -> None:
		assert found.read is not None
		work = tempfile.mkdtemp(prefix=STARTED, dir=self.out)
		try:
			inputs = patches.from_mail(self.spool, found.read)
			req = replace(self.req, patches=inputs.patches, threads=inputs.threads,
				      json_path=os.path.join(work, 'validate.json'))
			try:
				code = self.judge(req, Answer(
					report=os.path.join(work, 'report.txt'),
					reply=os.path.join(work, 'reply.eml'),
					checks=os.path.join(work, 'checks.json'), sender=self.sender))
			except HostError as err:
				# The host's trouble: judged again on a later pass.
				if self.host_failed(key) < HOST_RETRIES:
					raise
				code = int(err.code)
				atomic_write(os.path.join(work, 'refused.txt'),
					     f'the machine failed {HOST_RETRIES} passes: '
					     f'{printable(str(err))}\n')
			except UserError as err:
				code = int(err.code)
				atomic_write(os.path.join(work, 'refused.txt'), printable(str(err)) + '\n')
			if code == Exit.SETUP and not os.path.exists(os.path.join(work, 'refused.txt')):
				# validate's step failed on the host: not a verdict.
				n = self.host_failed(key)
				if n < HOST_RETRIES:
					log(f'watch: {key}: the machine failed a step ({n} of '
					    f'{HOST_RETRIES} passes); judged again on the next pass')
					return
			atomic_write(os.path.join(work, 'exit'), f'{code}\n')
			os.chmod(work, 0o755)
			os.rename(work, os.path.join(self.out, key))
			log(f'watch: judged {key}: exit {code}')
		finally:
			shutil.rmtree(work, ignore_errors=True)


def lock(out: str) -> int:
	"""One loop per output directory: a second one is refused."""
	fd = os.open(os.path.join(out, '.lock'), os.O_RDWR | os.O_CREAT, 0o644)
	try:
		fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
	except BlockingIOError:
		os.close(fd)
		raise UsageError(f'watch: another watch runs on {out}')
	return fd


def clean_leftovers(out: str) -> None:
	"""Half-judged series of a loop that was killed: judged again."""
	for name in os.listdir(out):
		if name.startswith(STARTED):
			shutil.rmtree(os.path.join(out, name), ignore_errors=True)


def main(spool: str, out: str, req: RunRequest, sender: str, judge: Judge,
	 once: bool = False, interval: float = 300.0) -> int:
	if not (os.path.isfile(spool) or mail.is_maildir(spool)):
		raise UsageError(f'watch: {spool} is neither an mbox file nor a maildir')
	os.makedirs(out, exist_ok=True)
	fd = lock(out)
	try:
		clean_leftovers(out)
		bot = Watch(spool, out, req, sender, judge)
		while True:
			try:
				n = bot.one_pass()
				log(f'watch: {n} series judged this pass; {len(judged(out))} in {out}')
			except HostError as err:
				if once:
					raise
				# A host failure (disk, packages): the series is
				# judged again on the next pass.
				log(f'watch: host failure, retrying in {interval:.0f} s: {err}')
			if once:
				return int(Exit.OK)
			time.sleep(interval)
	finally:
		os.close(fd)


def judged(out: str) -> List[str]:
	"""The series judged in out, by key."""
	return sorted(d for d in os.listdir(out) if not d.startswith('.'))

