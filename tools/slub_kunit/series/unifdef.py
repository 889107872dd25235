# SPDX-License-Identifier: GPL-2.0
"""A small unifdef for the exported series: the files a tree is sent with
hold only the branches of that tree's generation. Conditionals on the
symbols given are resolved and their directives dropped; every other
conditional (CONFIG_*, ...) is left as it is.
"""

import re
from typing import Dict, List, Optional

Symbols = Dict[str, bool]

_TOKEN = re.compile(r'\s*(defined\s*\(\s*\w+\s*\)|defined\s+\w+|__has_include\s*\(\s*"[^"]*"\s*\)|'
		    r'\|\||&&|!|\(|\)|\w+)')


def evaluate(expr: str, symbols: Symbols) -> Optional[bool]:
	"""The value of a #if expression, or None if it names an unknown symbol
	(or is beyond the little grammar: ! && || () defined __has_include)."""
	tokens, pos = [], 0
	expr = expr.split('/*')[0].split('//')[0].strip()
	while pos < len(expr):
		m = _TOKEN.match(expr, pos)
		if not m:
			return None
		tokens.append(m.group(1))
		pos = m.end()

	def value(tok: str) -> Optional[bool]:
		m = re.fullmatch(r'defined\s*\(?\s*(\w+)\s*\)?', tok)
		name = m.group(1) if m else tok
		if tok.startswith('__has_include'):
			name = re.sub(r'\s+', '', tok)
		if re.fullmatch(r'\d+', name):
			return name != '0'
		return symbols.get(name)

	def parse_or(i: int):
		v, i = parse_and(i)
		while i < len(tokens) and tokens[i] == '||':
			w, i = parse_and(i + 1)
			v = None if v is None or w is None else v or w
		return v, i

	def parse_and(i: int):
		v, i = parse_not(i)
		while i < len(tokens) and tokens[i] == '&&':
			w, i = parse_not(i + 1)
			v = None if v is None or w is None else v and w
		return v, i

	def parse_not(i: int):
		if i < len(tokens) and tokens[i] == '!':
			v, i = parse_not(i + 1)
			return (None if v is None else not v), i
		if i < len(tokens) and tokens[i] == '(':
			v, i = parse_or(i + 1)
			return v, i + 1
		if i >= len(tokens):
			return None, i
		return value(tokens[i]), i + 1

	result, end = parse_or(0)
	return result if end == len(tokens) else None


def strip(text: str, symbols: Symbols) -> str:
	"""text with the conditionals on symbols resolved."""
	out: List[str] = []
	# One frame per open conditional: (known, keeping this branch, active
	# outside it).
	stack: List[List] = []

	def active() -> bool:
		return all(frame[1] for frame in stack if frame[0]) and \
			all(frame[2] for frame in stack)

	for line in text.splitlines(keepends=True):
		m = re.match(r'^\s*#\s*(if|ifdef|ifndef|elif|else|endif)\b(.*)$', line)
		if not m:
			if active():
				out.append(line)
			continue
		word, rest = m.group(1), m.group(2).strip()
		if word in ('if', 'ifdef', 'ifndef'):
			if word == 'if':
				v = evaluate(rest, symbols)
			else:
				v = symbols.get(rest.split()[0]) if rest else None
				v = None if v is None else (v if word == 'ifdef' else not v)
			outer = active()
			stack.append([v is not None, bool(v), outer])
			if v is None and outer:
				out.append(line)
		elif word == 'elif':
			if stack and stack[-1][0]:
				raise ValueError('#elif after a resolved #if is not supported')
			if active():
				out.append(line)
		elif word == 'else':
			frame = stack[-1]
			if frame[0]:
				frame[1] = not frame[1]
			elif frame[2]:
				out.append(line)
		else:
			frame = stack.pop()
			if not frame[0] and frame[2]:
				out.append(line)
	# What a dropped branch leaves: no run of blank lines, none at the end.
	return re.sub(r'\n{3,}', '\n\n', ''.join(out)).rstrip('\n') + '\n'

