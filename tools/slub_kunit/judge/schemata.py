# SPDX-License-Identifier: GPL-2.0
"""Mutant schemata (Untch, Offutt and Harrold, 1993): every mutant of a
catalogue compiled into one kernel, the one to run chosen at boot with
slub_kunit_mutant=N. With no selector (or 0) the kernel behaves as the
pristine one.

The unit of a schema is a function. Each function a mutant edits is
renamed to NAME__m0 (the pristine body) beside one copy per mutant,
NAME__mN with that mutant's edits; a dispatcher under the original
header and name calls the copy the selector names, else NAME__m0. So
any edit inside a function body can be expressed, whatever it changes
(a condition, a declaration, a statement), and callers, prototypes,
EXPORT_SYMBOL and function pointers (the notifier callback) are left
as they are. An edit outside every function body (a global's
initialiser, a macro, a declaration) cannot be: that mutant is built
on its own, as before.
"""

import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from slub_kunit.kernel import slubc

SELECTOR = 'slub_kunit_mutant'
# Macros that take parentheses in a function's header without being its
# parameter list.
ATTRIBUTE_MACROS = {'__printf', '__scanf', '__attribute__', '__must_hold', '__acquires',
		    '__releases', '__cond_acquires', '__section', '__alloc_size', '__aligned',
		    '__assume_aligned', '__realloc_size', '__diagnose_as', 'ALLOC_HOOK',
		    '__no_sanitize_address'}


@dataclass
class Function:
	"""A function definition: where its header and body are in the text."""
	name: str
	start: int		# first character of the header
	name_at: int		# offset of the name in the header
	body: int		# offset of the opening brace
	end: int		# one past the closing brace
	params: List[str]	# parameter names; [] for (void)
	returns_void: bool
	variadic: bool


def functions(text: str) -> List[Function]:
	"""Every function definition at file scope."""
	code = slubc.blank(text)
	out = []
	depth, stmt_start, i = 0, 0, 0
	n = len(code)
	while i < n:
		c = code[i]
		if c == '{' and depth == 0:
			end = _match(code, i)
			if end is None:
				break
			fn = _header(text, code, stmt_start, i, end)
			if fn:
				out.append(fn)
			i = end
			# a struct definition ends with ';' later; a function here
			stmt_start = end if fn else stmt_start
			continue
		if c == ';' and depth == 0:
			stmt_start = i + 1
		i += 1
	return out


def _match(code: str, open_at: int) -> Optional[int]:
	depth = 0
	for j in range(open_at, len(code)):
		if code[j] == '{':
			depth += 1
		elif code[j] == '}':
			depth -= 1
			if depth == 0:
				return j + 1
	return None


def _groups(code: str, start: int, stop: int) -> List[Tuple[int, int]]:
	"""Top-level parenthesised groups in code[start:stop] as (open, close)."""
	out, depth, opened = [], 0, 0
	for j in range(start, stop):
		if code[j] == '(':
			if depth == 0:
				opened = j
			depth += 1
		elif code[j] == ')':
			depth -= 1
			if depth == 0:
				out.append((opened, j))
	return out


def _header(text: str, code: str, start: int, brace: int, end: int) -> Optional[Function]:
	head = code[start:brace]
	if '=' in head or '(' not in head or \
	   re.search(r'\b(struct|union|enum)\s*\w*\s*$', head.strip()):
		return None
	# skip what closed the statement before: '}' of a function, blank lines
	lead = len(head) - len(head.lstrip())
	start += lead
	for opened, closed in _groups(code, start, brace):
		m = re.search(r'([A-Za-z_]\w*)\s*$', code[start:opened])
		if not m or m.group(1) in ATTRIBUTE_MACROS:
			continue
		name = m.group(1)
		params_text = code[opened + 1:closed]
		params, variadic = _param_names(params_text)
		if params is None:
			return None
		before = code[start:start + m.start(1)]
		returns_void = bool(re.search(r'\bvoid\b(?!\s*\*)', before))
		return Function(name, start, start + m.start(1), brace, end, params, returns_void,
				variadic)
	return None


def _param_names(text: str) -> Tuple[Optional[List[str]], bool]:
	text = text.strip()
	if text in ('', 'void'):
		return [], False
	parts, depth, cur = [], 0, ''
	for c in text:
		if c in '([':
			depth += 1
		elif c in ')]':
			depth -= 1
		if c == ',' and depth == 0:
			parts.append(cur)
			cur = ''
		else:
			cur += c
	parts.append(cur)
	names = []
	variadic = False
	for p in parts:
		p = p.strip()
		if p == '...':
			variadic = True
			continue
		m = re.search(r'\(\s*\*\s*([A-Za-z_]\w*)\s*\)', p)	# a function pointer
		if not m:
			m = re.search(r'([A-Za-z_]\w*)\s*(\[[^\]]*\]\s*)*$', p)
		if not m:
			return None, variadic
		names.append(m.group(1))
	return names, variadic


@dataclass
class Schema:
	"""The catalogue's mutants in one text: which mutant got which number,
	and which could not be expressed (with why)."""
	text: str
	numbers: Dict[str, int] = field(default_factory=dict)
	apart: Dict[str, str] = field(default_factory=dict)	# name -> why built apart


def changed(edit: Dict[str, str]) -> Tuple[int, int]:
	"""The part of an edit's search text it changes: (skip, keep), the
	lengths of the prefix and suffix it shares with its replacement."""
	a, b = edit['search'], edit['replace']
	skip = 0
	while skip < min(len(a), len(b)) and a[skip] == b[skip]:
		skip += 1
	keep = 0
	while keep < min(len(a), len(b)) - skip and a[-1 - keep] == b[-1 - keep]:
		keep += 1
	return skip, keep


def _locate(text: str, fns: List[Function], edits: Sequence[Dict[str, str]]
	    ) -> Optional[Dict[str, Tuple[Function, List[Dict[str, str]]]]]:
	"""The functions the edits change, each with its edits; None when an
	edit is not found exactly once or changes text outside every function
	body. An edit's search text may reach beyond the body (context), as
	long as what it changes lies inside."""
	out: Dict[str, Tuple[Function, List[Dict[str, str]]]] = {}
	for edit in edits:
		if text.count(edit['search']) != 1:
			return None
		skip, keep = changed(edit)
		a = text.index(edit['search']) + skip
		b = text.index(edit['search']) + len(edit['search']) - keep
		fn = next((f for f in fns if f.body < a and b <= f.end - 1), None)
		if fn is None:
			return None
		out.setdefault(fn.name, (fn, []))[1].append(edit)
	return out


def build(text: str, mutants: Sequence[Tuple[str, Sequence[Dict[str, str]]]],
	  selector_home: bool = True, first: int = 1) -> Schema:
	"""text with every mutant it can express woven in, numbered from first
	in catalogue order. selector_home: this file defines the selector (the
	others declare it)."""
	fns = functions(text)
	schema = Schema(text)
	copies: Dict[str, List[Tuple[int, List[Dict[str, str]]]]] = {}
	by_name = {f.name: f for f in fns}
	number = first
	for name, edits in mutants:
		where = _locate(text, fns, edits)
		if where is None:
			schema.apart[name] = 'an edit outside every function body, or not found once'
			continue
		bad = [f.name for f, _ in where.values() if f.variadic]
		if bad:
			schema.apart[name] = f'{bad[0]}() takes variable arguments'
			continue
		if len({f.name for f in fns if f.name in where}) != len(where) or \
		   any(sum(1 for g in fns if g.name == f) > 1 for f in where):
			schema.apart[name] = 'a function defined twice (#ifdef branches)'
			continue
		schema.numbers[name] = number
		for fname, (_, fedits) in where.items():
			copies.setdefault(fname, []).append((number, fedits))
		number += 1
	out = text
	# From the end, so earlier offsets stay right.
	for fname in sorted(copies, key=lambda f: by_name[f].start, reverse=True):
		fn = by_name[fname]
		out = out[:fn.start] + _woven(text, fn, copies[fname]) + out[fn.end:]
	first_fn = min((by_name[f].start for f in copies), default=None)
	if first_fn is None and selector_home and fns:
		first_fn = fns[0].start
	if first_fn is not None:
		out = out[:first_fn] + _selector(selector_home) + out[first_fn:]
	schema.text = out
	return schema


def _selector(home: bool) -> str:
	if not home:
		return f'extern int {SELECTOR};\n\n'
	return (f'/* slub-kunit mutant schemata: the mutant {SELECTOR}=N selects; 0 is none. */\n'
		f'int {SELECTOR} __read_mostly;\n\n'
		f'static int __init {SELECTOR}_setup(char *arg)\n{{\n'
		f'\treturn kstrtoint(arg, 0, &{SELECTOR});\n}}\n'
		f'early_param("{SELECTOR}", {SELECTOR}_setup);\n\n')


def _renamed(text: str, fn: Function, new: str, edits: Sequence[Dict[str, str]]) -> str:
	"""fn under another name, static, with edits (each changing only its
	body) applied."""
	head = text[fn.start:fn.name_at] + new + text[fn.name_at + len(fn.name):fn.body]
	if not re.search(r'\bstatic\b', head):
		head = 'static ' + head
	head = re.sub(r'\b(__weak|__visible)\b', '', head)
	mutated, end = text, fn.end
	for edit in edits:
		mutated = mutated.replace(edit['search'], edit['replace'])
		end += len(edit['replace']) - len(edit['search'])
	return head + mutated[fn.body:end]


def _woven(text: str, fn: Function, copies: List[Tuple[int, List[Dict[str, str]]]]) -> str:
	parts = [_renamed(text, fn, f'{fn.name}__m0', [])]
	for number, edits in copies:
		parts.append(_renamed(text, fn, f'{fn.name}__m{number}', edits))
	args = ', '.join(fn.params)
	lines = [text[fn.start:fn.body] + '{', f'\tswitch (READ_ONCE({SELECTOR})) {{']
	for number, _ in copies:
		call = f'{fn.name}__m{number}({args})'
		lines.append(f'\tcase {number}:')
		lines.append(f'\t\t{call};\n\t\treturn;' if fn.returns_void else f'\t\treturn {call};')
	lines.append('\t}')
	call = f'{fn.name}__m0({args})'
	lines.append(f'\t{call};' if fn.returns_void else f'\treturn {call};')
	lines.append('}')
	return '\n\n'.join(parts) + '\n\n' + '\n'.join(lines)
