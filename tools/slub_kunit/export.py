# SPDX-License-Identifier: GPL-2.0
#
# export: the suite as a git format-patch series for a kernel tree, with a
# cover letter. The integration patches are taken as they are; the suite's
# own files become new-file patches; the documentation page is added to the
# KUnit index.

import difflib
import os
from typing import List, Tuple

from slub_kunit import source, tree
from slub_kunit.cli import RunRequest
from slub_kunit.common import EXIT_OK, EXIT_USAGE, REPO, Stages, UserError, log

AUTHOR = 'slub-kunit developers <slub-kunit@localhost>'
DOC = 'Documentation/dev-tools/kunit/slub-hotplug.rst'
DOC_INDEX = 'Documentation/dev-tools/kunit/index.rst'

SUITE_FILES: Tuple[Tuple[str, str], ...] = (
	('mm/slub_kunit.c', 'mm/slub_kunit.c'),
	('.kunitconfig', 'mm/slub_kunit.kunitconfig'),
	('tools/testing/kunit/qemu_configs/x86_64_slub_numa.py',
	 'tools/testing/kunit/qemu_configs/x86_64_slub_numa.py'),
)


def _read(path: str) -> List[str]:
	with open(path) as f:
		return f.read().splitlines(keepends=True)


def new_file_diff(rel: str, lines: List[str]) -> str:
	body = ''.join('+' + line for line in lines)
	return (f'diff --git a/{rel} b/{rel}\nnew file mode 100644\n--- /dev/null\n'
		f'+++ b/{rel}\n@@ -0,0 +1,{len(lines)} @@\n{body}')


def changed_file_diff(rel: str, old: List[str], new: List[str]) -> str:
	diff = difflib.unified_diff(old, new, f'a/{rel}', f'b/{rel}', n=3)
	return f'diff --git a/{rel} b/{rel}\n' + ''.join(diff)


def diffstat(diff: str) -> str:
	"""A git-style diffstat of a diff (checkpatch reads it for MAINTAINERS)."""
	stats = {}
	current = None
	for line in diff.splitlines():
		if line.startswith('diff --git '):
			current = line.split(' b/', 1)[1]
			stats[current] = [0, 0]
		elif current and line.startswith('+') and not line.startswith('+++'):
			stats[current][0] += 1
		elif current and line.startswith('-') and not line.startswith('---'):
			stats[current][1] += 1
	width = max(len(f) for f in stats)
	rows = [f' {f:<{width}} | {a + d} {"+" * min(a, 40)}{"-" * min(d, 40)}'
		for f, (a, d) in stats.items()]
	adds = sum(a for a, _ in stats.values())
	dels = sum(d for _, d in stats.values())
	rows.append(f' {len(stats)} files changed, {adds} insertions(+), {dels} deletions(-)')
	return '\n'.join(rows) + '\n\n'


def mail(n: int, total: int, subject: str, body: str, diff: str) -> str:
	return (f'From: {AUTHOR}\nSubject: [PATCH {n}/{total}] {subject}\n\n{body}\n\n'
		f'Signed-off-by: {AUTHOR}\n---\n{diffstat(diff)}{diff}--\n2.39.5\n\n')


def integration_mail(path: str, n: int, total: int) -> Tuple[str, str]:
	"""Renumbers one of tools/patches/ as patch n of total."""
	with open(path) as f:
		text = f.read()
	head, _, rest = text.partition('\n\n')
	subject = [l for l in head.splitlines() if l.startswith('Subject:')][0]
	subject = subject.replace('Subject: [PATCH] ', '')
	head = head.replace('Subject: [PATCH] ', f'Subject: [PATCH {n}/{total}] ')
	return subject, f'{head}\n\n{rest.rstrip()}\n--\n2.39.5\n\n'


def with_maintainers_entry(lines: List[str], path: str) -> List[str]:
	"""MAINTAINERS with path added, sorted, to the SLAB ALLOCATOR F: lines."""
	out = list(lines)
	try:
		start = out.index('SLAB ALLOCATOR\n')
	except ValueError:
		raise UserError('MAINTAINERS: no SLAB ALLOCATOR section', EXIT_USAGE)
	end = out.index('\n', start)
	files = [i for i in range(start, end) if out[i].startswith('F:\t')]
	entries = sorted([out[i] for i in files] + [f'F:\t{path}\n'])
	out[files[0]:files[-1] + 1] = entries
	return out


def series(tree_dir: str) -> List[Tuple[str, str]]:
	"""(subject, mail) for every patch, in order."""
	patches = tree.integration_patches()
	total = len(patches) + 2
	out = [integration_mail(p, i + 1, total) for i, p in enumerate(patches)]
	n = len(patches) + 1
	maint0 = _read(os.path.join(tree_dir, 'MAINTAINERS'))
	maint1 = with_maintainers_entry(maint0, 'mm/slub_kunit.c')
	maint2 = with_maintainers_entry(maint1, DOC)
	diff = changed_file_diff('MAINTAINERS', maint0, maint1)
	diff += ''.join(new_file_diff(dst, _read(os.path.join(REPO, src)))
			for src, dst in SUITE_FILES)
	subject = 'mm/slub: add KUnit tests for NUMA node hotplug'
	body = ('Add mm/slub_kunit.c with two suites: slub_hotplug drives\n'
		'slab_memory_callback() with synthetic events of either notifier\n'
		'generation and checks slab_nodes, the per-node structures and the\n'
		'allocation slow path; slub_hotplug_real onlines and offlines a\n'
		'memoryless node\'s memory blocks through the hotplug core. Add a\n'
		'kunitconfig and a QEMU machine with a CPU-less node that owns a\n'
		'cold-plugged, offline DIMM.')
	out.append((subject, mail(n, total, subject, body, diff)))
	old_index = _read(os.path.join(tree_dir, DOC_INDEX))
	new_index = list(old_index)
	try:
		at = new_index.index('\trunning_tips\n') + 1
	except ValueError:
		raise UserError(f'{DOC_INDEX}: no running_tips entry to add the page after', EXIT_USAGE)
	new_index.insert(at, '\tslub-hotplug\n')
	diff = (changed_file_diff('MAINTAINERS', maint1, maint2) +
		new_file_diff(DOC, _read(os.path.join(REPO, DOC))) +
		changed_file_diff(DOC_INDEX, old_index, new_index))
	subject = 'Documentation: kunit: describe the SLUB NUMA hotplug tests'
	body = ('Describe the invariants and policies the SLUB hotplug suites pin\n'
		'and how to run them with kunit.py.')
	out.append((subject, mail(n + 1, total, subject, body, diff)))
	return out


def cover(src: source.Source, subjects: List[str]) -> str:
	total = len(subjects)
	lines = '\n'.join(f'  {s}' for s in subjects)
	return (f'From: {AUTHOR}\nSubject: [PATCH 0/{total}] mm/slub: KUnit tests for NUMA node '
		f'hotplug\n\n'
		'This series adds a KUnit regression suite for SLUB\'s handling of NUMA\n'
		'nodes that gain and lose memory: slab_nodes, the per-node structures\n'
		'of every cache, fault injection inside the allocator and real memory\n'
		'hotplug under QEMU. One source compiles against the memory notifier\n'
		'(up to 6.16) and the node notifier (6.17 on).\n\n'
		'Run it with:\n\n'
		'  ./tools/testing/kunit/kunit.py run --kunitconfig mm/slub_kunit.kunitconfig \\\n'
		'      --qemu_config tools/testing/kunit/qemu_configs/x86_64_slub_numa.py\n\n'
		f'Generated against {src.label}.\n\n{lines}\n\n-- \n2.39.5\n\n')


def main(req: RunRequest, out_dir: str) -> int:
	src = source.get_source(req.kernel, req.cache, Stages())
	mails = series(src.path)
	os.makedirs(out_dir, exist_ok=True)
	names = []
	subjects = [s for s, _ in mails]
	for i, (subject, text) in enumerate([('cover-letter', cover(src, subjects))] + mails):
		slug = ''.join(c if c.isalnum() else '-' for c in subject)[:52].strip('-')
		name = f'{i:04d}-{slug}.patch'
		with open(os.path.join(out_dir, name), 'w') as f:
			f.write(text)
		names.append(name)
	for name in names:
		log(f'wrote {os.path.join(out_dir, name)}')
	print(f'{len(names) - 1} patches and a cover letter in {out_dir}')
	return EXIT_OK
