# SPDX-License-Identifier: GPL-2.0
"""What the tree's mm/slub.c has, read the way the compiler sees it, as far
as the suite needs:
without comments, across line breaks, with any qualifiers or attributes
(__read_mostly, __initdata, __section(...)), at file scope; and the
callback the slab registers on the hotplug notifier, found through the
registration rather than by its name. A correct patch that renames the
callback or qualifies a mask must not look like a tree without them.
"""

import re
from dataclasses import dataclass
from typing import Dict, Iterator, List, Optional, Tuple

from slub_kunit.common import NotJudged, UserError

NOTIFIERS = ('memory', 'node')

# One word that may stand beside a declarator: a qualifier, a storage class
# or an attribute macro with its arguments (one level of parentheses).
_QUAL = r'(?:[A-Za-z_]\w*(?:\s*\((?:[^()]|\([^()]*\))*\))?)'


def blank(text: str, literals: bool = True) -> str:
	"""text with comments, preprocessor lines and (with literals) string and
	character literals replaced by spaces, newlines kept: offsets stay, and
	braces and parentheses left are the code's. The one C lexer of the
	runner (mutant schemata read functions with it too)."""
	out = list(text)
	i, n = 0, len(text)
	line_start = True
	while i < n:
		c = text[i]
		if line_start and text[i:].lstrip(' \t').startswith('#'):
			# a directive, with its continuations
			j = i
			while j < n:
				k = text.find('\n', j)
				k = n if k < 0 else k
				cont = text[j:k].rstrip().endswith('\\')
				j = k + 1
				if not cont:
					break
			for p in range(i, min(j, n)):
				if out[p] != '\n':
					out[p] = ' '
			i = j
			line_start = True
			continue
		if text.startswith('/*', i):
			j = text.find('*/', i + 2)
			j = n if j < 0 else j + 2
		elif text.startswith('//', i):
			j = text.find('\n', i)
			j = n if j < 0 else j
		elif c in '"\'':
			j = i + 1
			while j < n and text[j] != c and text[j] != '\n':
				j += 2 if text[j] == '\\' else 1
			j = min(j + 1, n)
			if not literals:
				line_start = False
				i = j
				continue
		else:
			line_start = c == '\n' or (line_start and c in ' \t')
			i += 1
			continue
		for p in range(i, j):
			if out[p] != '\n':
				out[p] = ' '
		line_start = False
		i = j
	return ''.join(out)


def file_scope(text: str) -> Iterator[str]:
	"""The statements at brace depth 0 of comment-free C, each up to its ';'.
	Function bodies and type definitions are skipped whole; a braced
	initialiser stays in its declaration."""
	depth, start, initialiser = 0, 0, False
	for i, c in enumerate(text):
		if c == '{':
			if depth == 0:
				initialiser = '=' in text[start:i]
			depth += 1
		elif c == '}':
			depth = max(0, depth - 1)
			if depth == 0 and not initialiser:
				start = i + 1
		elif c == ';' and depth == 0:
			yield text[start:i + 1]
			start = i + 1


def clean(slub_c: str) -> str:
	"""slub_c without comments and directives; literals kept (they cannot
	hide a declaration)."""
	return blank(slub_c, literals=False)


# Words that qualify a declaration rather than name it: C's own, and the
# kernel's attribute macros (__read_mostly, __initdata, __section(...),
# ____cacheline_aligned), which all start with two underscores.
_QUALIFIERS = {'static', 'extern', 'const', 'volatile', 'register', 'thread_local',
	       '_Thread_local'}
_PARENS = re.compile(r'\((?:[^()]|\([^()]*\))*\)')


def _declared_name(stmt: str, ctype: str) -> Optional[str]:
	"""The object a file-scope statement declares of type ctype, or None
	(another type, a pointer, an array, a function, several names)."""
	head = _PARENS.sub(' ', stmt.split('=', 1)[0].rstrip(';'))
	words = head.split()
	if ctype not in words or any(not re.fullmatch(r'[A-Za-z_]\w*', w) for w in words):
		return None
	names = [w for w in words[words.index(ctype) + 1:]
		 if w not in _QUALIFIERS and not w.startswith('__')]
	return names[0] if len(names) == 1 else None


def declared(code: str, ctype: str) -> List[str]:
	"""The file-scope objects of type ctype comment-free code declares, in
	order, with any qualifiers or attributes around their names."""
	out: List[str] = []
	for stmt in file_scope(code):
		name = _declared_name(stmt, ctype)
		if name and name not in out:
			out.append(name)
	return out


def declares(code: str, ctype: str, name: str) -> bool:
	return name in declared(code, ctype)


@dataclass(frozen=True)
class Callback:
	"""What the slab listens on: 'memory' or 'node', and the function."""
	notifier: str
	function: str


def _hotplug_macro(code: str) -> Iterator[Tuple[str, str]]:
	for m in re.finditer(r'\bhotplug_(memory|node)_notifier\s*\(\s*([A-Za-z_]\w*)\s*,', code):
		yield m.group(1), m.group(2)


def _notifier_block(code: str, block: str) -> Optional[str]:
	"""The .notifier_call of a notifier_block named block."""
	m = re.search(rf'\b{re.escape(block)}\s*(?:{_QUAL}\s*)*=\s*\{{([^{{}}]*)\}}', code)
	if not m:
		return None
	call = re.search(r'\.notifier_call\s*=\s*&?\s*([A-Za-z_]\w*)', m.group(1))
	return call.group(1) if call else None


def _registered_blocks(code: str) -> Iterator[Tuple[str, str]]:
	for m in re.finditer(r'\bregister_(memory|node)_notifier\s*\(\s*&\s*([A-Za-z_]\w*)\s*\)',
			     code):
		fn = _notifier_block(code, m.group(2))
		if fn:
			yield m.group(1), fn


def _defined(code: str, fn: str) -> bool:
	"""Whether fn is defined here as a notifier callback (three parameters)."""
	return re.search(rf'\bint\s+(?:{_QUAL}\s+)*{re.escape(fn)}\s*\([^;{{)]*,[^;{{)]*,'
			 r'[^;{)]*\)\s*\{', code) is not None


def slab_callback(code: str) -> Optional[Callback]:
	"""The callback comment-free mm/slub.c (clean()) registers on the
	hotplug notifier, through hotplug_*_notifier() or register_*_notifier()
	of a notifier_block; the node notifier where a tree registers on both.
	None if there is none."""
	found = [Callback(kind, fn) for kind, fn in
		 list(_hotplug_macro(code)) + list(_registered_blocks(code)) if _defined(code, fn)]
	for kind in reversed(NOTIFIERS):
		for cb in found:
			if cb.notifier == kind:
				return cb
	return None


def defines_struct(code: str, name: str) -> bool:
	return re.search(rf'\bstruct\s+{re.escape(name)}\s*\{{', code) is not None


def mentions(code: str, name: str) -> bool:
	return re.search(rf'\b{re.escape(name)}\b', code) is not None


# The suite reads static names of mm/slub.c. A patch under test may remove
# some of them (the review thread's counter-proposal drops slab_nodes); where
# the tree lacks one of these, the suite observes instead (which nodes a new
# cache gets structures for), so the patch is judged, not refused a build.
# Names are found as the compiler sees them (slubc): a qualifier such as
# __read_mostly, or a renamed callback, changes nothing.
# What the suite cannot do without, besides the callback: it reads these.
REQUIRED_NAMES = ('kmem_cache_node', 'get_node', 'init_kmem_cache_node', 'node_nr_slabs',
		  'flush_all_cpus_locked', '__kmem_cache_do_shrink')


def not_judged(what: str) -> UserError:
	return NotJudged(f'not judged: {what}')


def tracking_masks(declared: List[str], barns: bool) -> Dict[str, str]:
	"""Which of the tree's file-scope nodemasks are slab_nodes and (with
	barns) slab_barn_nodes. Under their own names; or, where one is
	missing and exactly one unclaimed mask is left, that one (a rename).
	Left out where it cannot be told: the suite then observes instead."""
	wanted = ['slab_nodes'] + (['slab_barn_nodes'] if barns else [])
	found = {name: name for name in wanted if name in declared}
	missing = [name for name in wanted if name not in found]
	others = [name for name in declared if name not in wanted]
	if len(missing) == 1 and len(others) == 1:
		found[missing[0]] = others[0]
	return found


def tree_header(slub_c: str) -> str:
	"""mm/slub_kunit_tree.h for a tree whose mm/slub.c reads slub_c."""
	code = clean(slub_c)
	callback = slab_callback(code)
	if callback is None:
		raise not_judged('mm/slub.c registers no callback on the memory or node '
				 'hotplug notifier, which the suite drives')
	for name in REQUIRED_NAMES:
		if not mentions(code, name):
			raise not_judged(f'mm/slub.c has no {name}, which the suite reads')
	barns = defines_struct(code, 'node_barn')
	masks = tracking_masks(declared(code, 'nodemask_t'), barns)
	has = {
		'SLUB_HP_HAVE_SLAB_NODES': 'slab_nodes' in masks,
		'SLUB_HP_HAVE_SLAB_BARN_NODES': 'slab_barn_nodes' in masks,
		'SLUB_HP_NODE_NOTIFIER': callback.notifier == 'node',
		# The per_node[] layout with barns (7.x), whatever the notifier.
		'SLUB_HP_HAVE_BARNS': barns,
	}
	lines = ['/* SPDX-License-Identifier: GPL-2.0 */',
		 '/* Written by tools/slub-kunit: what this tree\'s mm/slub.c has. */']
	lines += [f'#define {macro}\t{int(value)}' for macro, value in has.items()]
	lines.append(f'#define SLUB_HP_CALLBACK\t{callback.function}')
	# The suite is included after all of mm/slub.c: a renamed mask is
	# reached under its usual name from there on.
	lines += [f'#define {ours}\t{theirs}' for ours, theirs in masks.items() if ours != theirs]
	return '\n'.join(lines) + '\n'
