# SPDX-License-Identifier: GPL-2.0
"""export: the suite as a git format-patch series for one kernel tree, made
with git itself. A scratch repository holds the pristine version of every
file the series touches; each patch is a commit there, by the user (git's
own identity, or --from), and git format-patch --cover-letter writes the
series. It is then checked with git am on a fresh scratch repository of
the same files. With --check, each prefix of the series is applied to a
copy of the whole pristine tree and built, and the whole series is run
with stock kunit.py, whose results must equal the runner's.

What only the runner needs (tools/patches/runner) stays out, and the files
hold only the branches of the tree's generation. The series is cut into
PARTS, each of which builds and passes on its own.
"""

import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Set, Tuple

from slub_kunit.common import HostError, REPO, Stages, UsageError, atomic_write, log, run
from slub_kunit.inbox import patches as patchfiles
from slub_kunit.kernel import source
from slub_kunit.kernel.kunit_tool import QEMU_CONFIG
from slub_kunit.series import unifdef
from slub_kunit.status import Exit

KUNITCONFIG = 'mm/slub_kunit.kunitconfig'
DOC = 'Documentation/mm/slub-hotplug-kunit.rst'
DOC_INDEX = 'Documentation/mm/index.rst'

# Files of the repository the series adds, and where (repository path ->
# kernel path). Everything of the suite but the runner's own file.
NEW_FILES: Tuple[Tuple[str, str], ...] = (
	('lib/Kconfig.slub_hotplug_kunit', 'lib/Kconfig.slub_hotplug_kunit'),
	('lib/mm_kunit_helpers.c', 'lib/mm_kunit_helpers.c'),
	('lib/mm_kunit_helpers.h', 'lib/mm_kunit_helpers.h'),
	('mm/slub_kunit_helpers.h', 'mm/slub_kunit_helpers.h'),
	('mm/slub_kunit_helpers.c', 'mm/slub_kunit_helpers.c'),
	('mm/slub_kunit.c', 'mm/slub_kunit.c'),
	('mm/slub_kunit_real.c', 'mm/slub_kunit_real.c'),
	('.kunitconfig', KUNITCONFIG),
	(QEMU_CONFIG, QEMU_CONFIG),
	(DOC, DOC),
)
# Listed one by one: checkpatch wants every patch that adds a file to add
# it to MAINTAINERS.
MAINTAINERS_FILES = tuple(kernel for _, kernel in NEW_FILES)

COVER_SUBJECT = 'mm/slub: KUnit tests for NUMA node hotplug'
COVER = '''This series adds KUnit tests for SLUB's handling of NUMA nodes that gain
and lose memory: slab_nodes, the per-node structures of every cache, the
node fallback of the allocation slow path, and fault injection inside the
allocator, through synthetic notifier events on mocked node states and
through the memory hotplug core under QEMU.

Patch 1 lets a KUnit test stub should_failslab(). Patch 2 adds the
helpers: two in lib/ that other tests can use (failing the k-th slab
allocation of the test's own thread; mocking node_states[] with automatic
restore), and the tests' own, with the model they hold the kernel to.
Patch 3 adds the cases that send every event, patch 4 those of the slow
path and of failing allocations, patch 5 the cases that go through the
memory hotplug core, with a QEMU machine that has a CPU-less node owning
a cold-plugged, offline DIMM, and patch 6 their documentation. Each patch
builds and passes on its own.

The tests are part of mm/slub.c (included at its end, like mm/damon's), so
they can call slab_memory_callback() and read slab_nodes without widening
either. Three things a reviewer may question, and why they stay:

- The real-hotplug cases start the node's kswapd and kcompactd before
  onlining it: since 6.17 online_pages() creates them on the new memory,
  and their task structs would pin it against the offline the cases need.
- Each offline runs under a watchdog that signals the test thread:
  offline_pages() retries until a signal is pending, which for a kernel
  thread is never, so a page that does not migrate would hang the boot.
- The QEMU machine boots with preempt=full: one case makes the cache
  creation race of 5.12 happen on purpose, with a SCHED_FIFO creator that
  must run the moment going-online releases slab_mutex.

Run them with:

  ./tools/testing/kunit/kunit.py run --kunitconfig mm/slub_kunit.kunitconfig \\
      --qemu_config tools/testing/kunit/qemu_configs/x86_64_slub_numa.py
'''

FAILSLAB_PATCH = '0001-mm-failslab-let-KUnit-tests-stub-should_failslab.patch'
WIRING_PATCHES = ('0002-lib-add-KUnit-helpers-for-memory-management-tests.patch',
		  '0003-mm-slub-build-the-NUMA-hotplug-KUnit-tests-into-slub.patch')


@dataclass(frozen=True)
class Part:
	"""One patch of the series: the files it adds (or changes) and the
	sections (see SECTION) it adds to files of earlier patches."""
	subject: str
	body: str
	files: Tuple[str, ...] = ()
	sections: Tuple[str, ...] = ()


# The series after the failslab stub, whose message is its patch's.
PARTS: Tuple[Part, ...] = (
	Part('mm/slub: add helpers for KUnit tests of NUMA node hotplug',
	     '''Tests of SLUB's NUMA node handling need to fail the k-th slab allocation
of their own thread from inside the allocator, and to mock a node's
node_states[] with automatic restore: add both to lib/mm_kunit_helpers.c
under CONFIG_MM_KUNIT_HELPERS, which tests select, for any memory
management test to use.

Add the first of those tests' own helpers, in mm/slub_kunit_helpers.c,
built into mm/slub.c under CONFIG_SLUB_HOTPLUG_KUNIT_TEST. Their header,
mm/slub_kunit_helpers.h, holds the model the tests hold the kernel to
(the notifier's actions and the order the hotplug core sends them in,
the transitions of a node's memory, the tracking policy) and what
differs between trees; the helpers deliver an event to the slab's
callback with the hotplug core's locks held, count and fail the
callback's allocations, and guard a node's slab state, restoring it when
the test ends. What a synthetic event leaves in the slab and SLUB has no
operation to undo is undone by a few functions that each mirror the code
of mm/slub.c they undo.''',
	     files=('lib/Kconfig.debug', 'lib/Makefile', 'lib/Kconfig.slub_hotplug_kunit',
		    'lib/mm_kunit_helpers.c', 'lib/mm_kunit_helpers.h', 'mm/slub.c',
		    'mm/slub_kunit_helpers.h', 'mm/slub_kunit_helpers.c', 'MAINTAINERS')),
	Part('mm/slub: add KUnit tests for NUMA node hotplug events',
	     '''Add the suite slub_hotplug, in mm/slub_kunit.c, built into mm/slub.c. It
drives slab_memory_callback() with every action of the hotplug notifier,
crossed with every transition of a node's memory (a memoryless node with
and without CPUs, a node that is not online, boot nodes, node 0 among
them, whose loss of memory is mocked), each event one the hotplug core
can send, and checks that the node is tracked as the policy says, that
every cache covers every tracked node with an initialised structure,
that no structure is freed or replaced, and that actions the slab
ignores allocate nothing. Other cases create a cache between going-online
and the node_states[] update, make the cache creation race of 5.12 happen
on purpose, and send events while slab_mutex is held elsewhere.

Every case undoes what it changed with deferred actions and ends by
checking that it left slab_nodes, node_states[] and every per-node
structure as it found them.''',
	     files=('mm/slub_kunit.c', KUNITCONFIG),
	     sections=('Snapshots and invariant checks', "Walking the hotplug core's sequences",
		       'Suite and case set-up')),
	Part('mm/slub: add KUnit tests for the slow path and allocation failures',
	     '''Check the node fallback of the allocation slow path after every event,
from caches that outlived a node's offline and from a CPU of a memoryless
node: kmem_cache_alloc_node() for any node id, with and without
__GFP_THISNODE, from a cold, a warm and a fragmented cache, gives an
object from where the slow path promises, or none.

Fail the k-th per-node structure (or barn) allocation inside going-online
and inside kmem_cache_create(): the callback fails cleanly, what it
published stays, the cancel frees nothing and a retry completes; a cache
creation fails cleanly and a retry covers every tracked node. Check that
going-offline leaves no empty slab behind.''',
	     sections=('The allocation slow path',
		       'The allocation slow path, failures and races')),
	Part('mm/slub: add KUnit tests through the memory hotplug core',
	     '''Add the suite slub_hotplug_real, in mm/slub_kunit_real.c, which onlines
and offlines the memory blocks of a memoryless node through the memory
hotplug core, with notifiers that veto, allocations that fail, and
threads that create caches and allocate meanwhile, and which takes a CPU
of a memoryless node down and up again through the CPU hotplug core
around its node's memory; and a QEMU machine for kunit.py with such nodes: a
CPU-less node and a node with a CPU, each owning a cold-plugged, offline
DIMM, which enables the suite's option. Its cases are marked slow and
skip elsewhere.''',
	     files=('mm/slub_kunit_real.c', QEMU_CONFIG)),
	Part('Documentation/mm: document the SLUB NUMA hotplug tests',
	     '''Describe what the SLUB NUMA hotplug tests check, why they are opt-in
and a suite of their own beside lib/slub_kunit.c, the words they use, the
two generations of the hotplug notifier they cover and how to run them,
and list their files under SLAB ALLOCATOR.''',
	     files=(DOC, DOC_INDEX)),
)

# A section of a file: a banner, a title line, a banner, and what follows
# up to the next banner or the end of the header's guard.
BANNER = re.compile(r'^/\* -{10,} \*/\n/\* (.+?)\s*\*/\n/\* -{10,} \*/\n', re.M)
HEADER_END = re.compile(r'^#endif /\* _MM_\w+_H \*/$', re.M)
REAL = 'mm/slub_kunit_real.c'
# The tests are included at the end of mm/slub.c.
INCLUDED = re.compile(r'^#include "(slub_kunit\w*\.c)"\n', re.M)


@dataclass
class Commit:
	subject: str
	body: str
	files: Dict[str, str] = field(default_factory=dict)


def generation_symbols(src: source.Source) -> unifdef.Symbols:
	"""What the exported files may assume about the tree they are for."""
	node = src.generation == source.GEN_NODE
	return {'NODE_ADDING_FIRST_MEMORY': node, 'SLUB_HP_NODE_NOTIFIER': node,
		'SLUB_HP_HAVE_BARNS': node,
		'__has_include("slub_kunit_tree.h")': False,
		'SLUB_HP_HAVE_SLAB_NODES': True, 'SLUB_HP_HAVE_SLAB_BARN_NODES': True}


def read(path: str) -> str:
	with open(path) as f:
		return f.read()


def apply_texts(patch: patchfiles.Patch, texts: Dict[str, str], scratch: str) -> Dict[str, str]:
	"""The files patch touches, after it, applied to texts (rel -> text)."""
	shutil.rmtree(scratch, ignore_errors=True)
	for rel, text in texts.items():
		os.makedirs(os.path.dirname(os.path.join(scratch, rel)), exist_ok=True)
		atomic_write(os.path.join(scratch, rel), text)
	patchfiles.apply(scratch, patch, 'the pristine files')
	return {rel: read(os.path.join(scratch, rel)) for rel in patch.paths()}


def with_maintainers(text: str, present: Set[str]) -> str:
	"""MAINTAINERS with the series' files present in the SLAB ALLOCATOR
	section: each patch lists the files it adds."""
	lines = text.splitlines(keepends=True)
	try:
		start = lines.index('SLAB ALLOCATOR\n')
	except ValueError:
		raise UsageError('MAINTAINERS: no SLAB ALLOCATOR section')
	end = lines.index('\n', start)
	files = [i for i in range(start, end) if lines[i].startswith('F:\t')]
	entries = sorted({lines[i] for i in files} |
			 {f'F:\t{p}\n' for p in MAINTAINERS_FILES if p in present})
	lines[files[0]:files[-1] + 1] = entries
	return ''.join(lines)


def with_doc(index: str) -> str:
	lines = index.splitlines(keepends=True)
	try:
		at = lines.index('   slab\n') + 1
	except ValueError:
		raise UsageError(f'{DOC_INDEX}: no slab entry to add the page after')
	lines.insert(at, '   slub-hotplug-kunit\n')
	return ''.join(lines)


def message_of(patch: patchfiles.Patch) -> Tuple[str, str]:
	head, _, rest = patch.text.partition('\n\n')
	body = rest.split('\n---\n', 1)[0].strip()
	return patch.subject, body


def without_sections(text: str, titles: Set[str]) -> str:
	"""text without the sections whose titles are given."""
	marks = list(BANNER.finditer(text))
	cut = []
	for i, m in enumerate(marks):
		if m.group(1) not in titles:
			continue
		end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
		guard = HEADER_END.search(text, m.end(), end)
		cut.append((m.start(), guard.start() if guard else end))
	if not cut:
		return text
	for start, end in reversed(cut):
		text = text[:start].rstrip('\n') + '\n\n' + text[end:]
	return text.rstrip('\n') + '\n'


def without_missing_cases(text: str) -> str:
	"""A suite's case list without the cases the file does not define."""
	defined = set(re.findall(r'^static void (\w+)\(struct kunit \*test\)$', text, re.M))
	return re.sub(r'^\tKUNIT_CASE\w*\((\w+)[,)].*\n',
		      lambda m: m.group(0) if m.group(1) in defined else '', text, flags=re.M)


def with_includes(text: str, present: Set[str]) -> str:
	"""mm/slub.c including only the tests' files the prefix has; as it was
	without any."""
	text = INCLUDED.sub(lambda m: m.group(0) if f'mm/{m.group(1)}' in present else '', text)
	text = re.sub(r'\n#ifdef CONFIG_SLUB_HOTPLUG_REAL_KUNIT_TEST\n#endif\n', '\n', text)
	return re.sub(r'\n#ifdef CONFIG_SLUB_HOTPLUG_KUNIT_TEST\n#endif\n', '', text)


def at_part(final: Dict[str, str], pristine: Dict[str, str], k: int) -> Dict[str, str]:
	"""Every file of the series as it is after PARTS[:k + 1]."""
	present = {rel for part in PARTS[:k + 1] for rel in part.files}
	later = {title for part in PARTS[k + 1:] for title in part.sections}
	out = {}
	for rel, text in final.items():
		if rel not in present:
			if rel in pristine:
				out[rel] = pristine[rel]
			continue
		text = without_sections(text, later)
		if rel.endswith('.c'):
			text = without_missing_cases(text)
		if rel == 'mm/slub.c':
			text = with_includes(text, present)
		if rel == 'MAINTAINERS':
			text = with_maintainers(text, present)
		out[rel] = text
	return out


def commits(src: source.Source, scratch: str) -> List[Commit]:
	"""The series for src's tree, as file contents per commit."""
	symbols = generation_symbols(src)
	final: Dict[str, str] = {}

	def pristine(rels: List[str]) -> Dict[str, str]:
		return {rel: final.get(rel) or read(os.path.join(src.path, rel)) for rel in rels}

	failslab = patchfiles.read(os.path.join(REPO, 'tools', 'patches', FAILSLAB_PATCH))[0]
	subject, body = message_of(failslab)
	first = Commit(subject, body, apply_texts(failslab, pristine(failslab.paths()), scratch))
	for patch_name in WIRING_PATCHES:
		wiring = patchfiles.read(os.path.join(REPO, 'tools', 'patches', patch_name))[0]
		final.update(apply_texts(wiring, pristine(wiring.paths()), scratch))
	for repo_rel, kernel_rel in NEW_FILES:
		text = read(os.path.join(REPO, repo_rel))
		if kernel_rel.endswith(('.c', '.h')):
			text = unifdef.strip(text, symbols)
		final[kernel_rel] = text
	final['MAINTAINERS'] = read(os.path.join(src.path, 'MAINTAINERS'))
	final[DOC_INDEX] = with_doc(read(os.path.join(src.path, DOC_INDEX)))
	owned = {rel for part in PARTS for rel in part.files}
	stray = sorted(set(final) - owned)
	if stray:
		raise UsageError(f'export: no patch of the series adds {", ".join(stray)}')
	olds = {rel: read(os.path.join(src.path, rel)) for rel in final
		if os.path.isfile(os.path.join(src.path, rel))}
	out = [first]
	for k, part in enumerate(PARTS):
		files = at_part(final, olds, k)
		before = at_part(final, olds, k - 1) if k else olds
		changed = {rel: text for rel, text in files.items() if before.get(rel) != text}
		out.append(Commit(part.subject, part.body, changed))
	return out


def git(repo: str, args: List[str], env: Optional[Dict[str, str]] = None,
	input_text: Optional[str] = None) -> str:
	res = run(['git', '-C', repo, '-c', 'core.autocrlf=false', '-c', 'gc.auto=0'] + args,
		  env=env, check=False, input_text=input_text)
	if res.returncode != 0:
		raise HostError(f'git {args[0]} failed: {res.stdout.strip()[:600]}')
	return res.stdout


# An address that takes no mail cannot certify the DCO's Signed-off-by.
NOREPLY = re.compile(r'(^|[^a-z0-9])no-?reply([^a-z0-9]|$)', re.I)


def identity(author: Optional[str], sign_off: bool = True) -> Tuple[str, str]:
	"""(name, email) from --from, or from the user's git configuration.
	With sign_off, an identity that cannot sign off (a no-reply address)
	is refused."""
	if author:
		m = re.fullmatch(r'\s*(.+?)\s*<([^<>@\s]+@[^<>\s]+)>\s*', author)
		if not m:
			raise UsageError(f'--from {author}: expected "Name <email>"')
		name, email = m.group(1), m.group(2)
		where = '--from'
	else:
		res = run(['git', 'var', 'GIT_AUTHOR_IDENT'], check=False)
		m = re.match(r'^(.+?) <([^>]+)> \d+', res.stdout or '')
		if res.returncode != 0 or not m or '@' not in m.group(2):
			raise UsageError('no git identity to sign the series with: set git config '
					'user.name and user.email, or pass --from "Name <email>"')
		name, email = m.group(1), m.group(2)
		where = 'your git identity'
	if sign_off and NOREPLY.search(email):
		raise UsageError(f'{where} <{email}> is a no-reply address, which cannot sign off '
				'a patch (DCO): pass --from "Name <email>" with one that takes mail')
	return name, email


def base_of(src: source.Source, given: Optional[str]) -> Tuple[Optional[str], str]:
	"""(base-commit, what the series is based on): --base, the commit of
	--kernel PATH --commit REV, or HEAD of a git tree --kernel PATH names;
	for a Debian tree only the upstream release, since
	its commit cannot be known without the stable repository."""
	version = source.makefile_version(src.path)
	if given:
		return given, f'v{version}'
	if src.commit:
		return src.commit, f'v{version}'
	if not src.package:
		res = run(['git', '-C', src.path, 'rev-parse', '--verify', '--quiet', 'HEAD'],
			  check=False)
		if res.returncode == 0 and re.fullmatch(r'[0-9a-f]{40}', res.stdout.strip()):
			return res.stdout.strip(), f'v{version}'
	return None, f'v{version}'


def with_base(cover: str, base: Optional[str]) -> str:
	"""The cover letter with git's base-commit: trailer before the
	signature, as format-patch --base writes it."""
	if not base:
		return cover
	at = cover.rfind('\n-- \n')
	at = at + 1 if at >= 0 else len(cover)
	return cover[:at] + f'base-commit: {base}\n' + cover[at:]


def scratch_repo(path: str, src: source.Source, rels: List[str], env: Dict[str, str]) -> None:
	"""A git repository with the pristine version of rels, committed."""
	os.makedirs(path, exist_ok=True)
	git(path, ['init', '-q'], env)
	for rel in rels:
		pristine = os.path.join(src.path, rel)
		if os.path.exists(pristine):
			os.makedirs(os.path.dirname(os.path.join(path, rel)), exist_ok=True)
			shutil.copyfile(pristine, os.path.join(path, rel))
	git(path, ['add', '-A'], env)
	git(path, ['commit', '-q', '-m', f'{src.label} (files the series touches)'], env)


def write_series(src: source.Source, out_dir: str, name: str, email: str,
		 work: str, base: Optional[str] = None) -> List[str]:
	env = dict(os.environ, GIT_AUTHOR_NAME=name, GIT_AUTHOR_EMAIL=email,
		   GIT_COMMITTER_NAME=name, GIT_COMMITTER_EMAIL=email, GIT_CONFIG_NOSYSTEM='1',
		   GIT_CONFIG_GLOBAL=os.devnull)
	series = commits(src, os.path.join(work, 'apply'))
	rels = sorted({rel for c in series for rel in c.files})
	repo = os.path.join(work, 'repo')
	scratch_repo(repo, src, rels, env)
	for c in series:
		for rel, text in c.files.items():
			path = os.path.join(repo, rel)
			os.makedirs(os.path.dirname(path), exist_ok=True)
			atomic_write(path, text)
		git(repo, ['add', '-A'], env)
		git(repo, ['commit', '-q', '-s', '-F', '-'], env,
		    input_text=f'{c.subject}\n\n{c.body}\n')
	git(repo, ['format-patch', '-q', '--cover-letter', '-o', out_dir,
		   f'--subject-prefix=PATCH', 'HEAD~%d' % len(series)], env)
	names = sorted(n for n in os.listdir(out_dir) if n.endswith('.patch'))
	cover = os.path.join(out_dir, names[0])
	text = read(cover)
	text = text.replace('*** SUBJECT HERE ***', COVER_SUBJECT)
	commit, release = base_of(src, base)
	if not commit:
		log(f'warning: no base-commit: {src.label} is no git tree; pass --base SHA1 '
		    f'(the commit of {release})')
	text = text.replace('*** BLURB HERE ***', COVER.rstrip() + f'\n\nBased on {release}.')
	atomic_write(cover, with_base(text, commit))
	# The series applies with git am to the pristine files.
	check = os.path.join(work, 'am')
	scratch_repo(check, src, rels, env)
	git(check, ['am', '-q', '--whitespace=error'] + [os.path.join(out_dir, n)
							  for n in names[1:]], env)
	return [os.path.join(out_dir, n) for n in names]


def main(kernel: str, cache: str, out_dir: str, author: Optional[str] = None,
	 check: bool = False, jobs: int = 1, base: Optional[str] = None,
	 commit: Optional[str] = None) -> int:
	if os.path.exists(out_dir) and (not os.path.isdir(out_dir) or os.listdir(out_dir)):
		raise UsageError(f'--out {out_dir}: not an empty directory; the series would mix '
				'with what is there')
	name, email = identity(author)
	stages = Stages()
	src = source.get_source(kernel, cache, stages, commit)
	os.makedirs(out_dir, exist_ok=True)
	os.makedirs(os.path.join(cache, 'export'), exist_ok=True)
	with tempfile.TemporaryDirectory(prefix='export-', dir=os.path.join(cache, 'export')) as work:
		mails = write_series(src, out_dir, name, email, work, base)
	for path in mails:
		log(f'wrote {path}')
	print(f'{len(mails) - 1} patches and a cover letter in {out_dir}, for {src.label} '
	      f'({src.generation} generation); git am applies them to the pristine files')
	if not check:
		return Exit.OK
	from slub_kunit.series import export_check
	return export_check.main(src, mails[1:], cache, jobs)
