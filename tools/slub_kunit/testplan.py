# SPDX-License-Identifier: GPL-2.0
"""What `test` runs: which kernel line on which arch, and to what depth.

Every row boots its kernel twice and asks for the same results both times.
The x86_64 rows of the two generations also run their mutant catalogue
(every node case runs there); the ppc64le rows run the mutants only a
pseries machine can kill (a catalogue entry's "arch"), since the rest are
killed on x86_64 already and a full catalogue there costs about ten
minutes each. An extra kernel line (7.2, the 7.x line before the newest)
adds its suite run; when Debian no longer serves it, its row says so and
is skipped, not failed: the archive is not the suite's verdict.
"""

import enum
from dataclasses import dataclass
from typing import List, Optional, Tuple


class Mutants(enum.Enum):
	NONE = 'none'
	ALL = 'all'		# the generation's whole catalogue
	ARCH = 'arch'		# only the entries that need this arch


@dataclass(frozen=True)
class Row:
	kernel: str
	arch: str
	mutants: Mutants = Mutants.NONE
	optional: bool = False	# a line Debian may stop serving


# Both generations on every arch; the catalogues where they add most per
# minute. Order: every suite first, so a broken tree fails early.
DEFAULT_PLAN: Tuple[Row, ...] = (
	Row('6.12', 'x86_64', Mutants.ALL),
	Row('6.12', 'um'),
	Row('7', 'x86_64', Mutants.ALL),
	Row('7', 'um'),
	Row('6.12', 'ppc64le', Mutants.ARCH),
	Row('7', 'ppc64le', Mutants.ARCH),
	Row('7.2', 'x86_64', optional=True),
)


def plan(kernels: Optional[List[str]], arches: Optional[List[str]]) -> List[Row]:
	"""The default plan, or, with --kernel or --arch, every named kernel
	on every named arch (the default's kernels or arches for the other),
	with the catalogue depth the default gives that arch."""
	if not kernels and not arches:
		return list(DEFAULT_PLAN)
	kernels = kernels or ['6.12', '7']
	arches = arches or ['x86_64', 'um']
	depth = {'x86_64': Mutants.ALL, 'ppc64le': Mutants.ARCH}
	return [Row(k, a, depth.get(a, Mutants.NONE)) for k in kernels for a in arches]


def suites(rows: List[Row]) -> List[Row]:
	return list(rows)


def catalogues(rows: List[Row]) -> List[Row]:
	return [r for r in rows if r.mutants != Mutants.NONE]
