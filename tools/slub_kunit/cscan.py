# SPDX-License-Identifier: GPL-2.0
"""Reading mm/slub.c the way the compiler sees it, as far as the suite needs:
without comments, across line breaks, with any qualifiers or attributes
(__read_mostly, __initdata, __section(...)), at file scope; and the
callback the slab registers on the hotplug notifier, found through the
registration rather than by its name. A correct patch that renames the
callback or qualifies a mask must not look like a tree without them.
"""

import re
from dataclasses import dataclass
from typing import Iterator, List, Optional, Tuple

NOTIFIERS = ('memory', 'node')

_COMMENT = re.compile(r'/\*.*?\*/|//[^\n]*|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'',
		      re.S)
# One word that may stand beside a declarator: a qualifier, a storage class
# or an attribute macro with its arguments (one level of parentheses).
_QUAL = r'(?:[A-Za-z_]\w*(?:\s*\((?:[^()]|\([^()]*\))*\))?)'


def strip_comments(text: str) -> str:
	"""text with comments replaced by a space; string and character
	literals kept (they cannot hide a declaration)."""
	def keep(m: 're.Match[str]') -> str:
		s = m.group(0)
		return s if s[0] in '"\'' else ' '
	return _COMMENT.sub(keep, text)


def _preprocessor_free(text: str) -> str:
	"""Directive lines blanked (continuations included); what remains is C."""
	out, cont = [], False
	for line in text.split('\n'):
		directive = cont or line.lstrip().startswith('#')
		cont = directive and line.rstrip().endswith('\\')
		out.append('' if directive else line)
	return '\n'.join(out)


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
	return _preprocessor_free(strip_comments(slub_c))


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
