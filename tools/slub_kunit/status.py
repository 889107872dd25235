# SPDX-License-Identifier: GPL-2.0
"""Every status the runner reports, in one place: exit codes, case results,
mutant verdicts, and how validate sorts a changed case and a step.
"""

import enum


class Exit(enum.IntEnum):
	"""Exit codes of tools/slub-kunit (README, "Exit codes")."""
	OK = 0
	TESTS_FAILED = 1	# a case failed, or the kernel crashed, hung or splatted
	USAGE = 2		# bad arguments
	SETUP = 3		# host set-up: packages, cache, downloads, disk
	PATCH = 4		# a patch does not apply or is not a patch
	BUILD = 5		# the kernel does not build
	INVARIANT = 6		# validate: an invariant broke
	NOT_JUDGED = 7		# the tree lacks what the suite drives or reads
	INTERRUPTED = 130


class Status(str, enum.Enum):
	"""A case's result, as kunit.py's JSON writes it."""
	PASS = 'PASS'
	FAIL = 'FAIL'
	SKIP = 'SKIP'
	ERROR = 'ERROR'
	MISSING = 'missing'	# not in this run at all

	@classmethod
	def of(cls, text: str) -> 'Status':
		try:
			return cls(text)
		except ValueError:
			return cls.ERROR

	@property
	def failed(self) -> bool:
		return self not in (Status.PASS, Status.SKIP)


class Mutant(str, enum.Enum):
	"""What became of one mutant of mm/slub.c."""
	KILLED = 'killed'
	ELSEWHERE = 'killed elsewhere'
	SURVIVED = 'SURVIVED'
	NO_BUILD = 'does not build'
	NOT_JUDGED = 'not judged'
	HOST = 'not judged (host)'	# the machine failed its boots, not the mutant
	STALE = 'stale'
	NEEDS_DEBUG = 'needs --debug'
	NEEDS_KCONFIG = 'needs --kconfig'	# its killer runs only in another configuration
	NEEDS_ARCH = 'needs --arch'		# its killer runs only on another machine


class Correct(str, enum.Enum):
	"""What became of one correct patch of mm/slub.c (tools/correct/)."""
	PASSED = 'passed'
	NOT_JUDGED = 'not judged'	# the tree lacks what the suite drives
	HOST = 'not judged (host)'	# the machine failed its boots
	FLAGGED = 'FLAGGED'		# a case failed on a correct patch
	NO_BUILD = 'does not build'
	STALE = 'stale'

	@property
	def ok(self) -> bool:
		return self in (Correct.PASSED, Correct.NOT_JUDGED)


class Change(str, enum.Enum):
	"""How validate sorts a case whose result a patch changed."""
	POLICY = 'policy'	# fails as expected, passes under the other policy
	INVARIANT = 'invariant'	# fails under both policies
	FIXED = 'fixed'		# passes (or skips) where it failed
	NEW = 'new'		# passes (or skips), not in the baseline's run
	GONE = 'gone'		# no longer in the run (the tree's notifier changed)


class Step(str, enum.Enum):
	"""validate's verdict on the tree after one patch."""
	NO_CHANGE = 'no behaviour change'
	CHANGED = 'no invariant broken; some cases changed'
	POLICY = 'policy expectations changed; no invariant broken'
	BROKEN = 'invariants broken'
	NO_APPLY = 'does not apply'
	NO_BUILD = 'does not build'
	NOT_JUDGED = 'not judged'
	HOST_FAILED = 'host failure, not the patch'
