# SPDX-License-Identifier: GPL-2.0
#
# Mutant schemata: a small C file with the shapes mm/slub.c has (static and
# global functions, void and pointer returns, attributes, a function
# pointer, an edit whose search text reaches past the body), woven,
# compiled with gcc and run under every selector: selector 0 behaves as
# the pristine file, selector N as mutant N alone.

import os
import shutil
import subprocess
import tempfile
import unittest

from slub_kunit.judge import schemata
from slub_kunit.kernel import slubc

SOURCE = r'''
#define __init
#define __read_mostly
#define READ_ONCE(x) (x)
#define early_param(name, fn) int (*early_##fn)(char *) = fn
#define __printf(a, b) __attribute__((format(printf, a, b)))
#include <stdio.h>
#include <stdlib.h>
static int kstrtoint(const char *s, int base, int *out) { *out = atoi(s); return 0; }

struct cache { int nodes[4]; };	/* a struct { } is not a function */
static int table[] = { 1, 2, 3 };

static int count_nodes(struct cache *c, int (*ok)(int))
{
	int n = 0, i;

	for (i = 0; i < 4; i++)
		if (c->nodes[i] && ok(i))
			n++;
	return n;
}

static int any(int i) { return 1; }

static __printf(2, 3) void say(int level, const char *fmt, ...)
{
}

void set_node(struct cache *c, int nid)
{
	if (nid >= 0)
		c->nodes[nid] = 1;
}

static inline int *first(struct cache *c)
{
	return &c->nodes[0];
}

int main(int argc, char **argv)
{
	struct cache c = { { 0 } };

	if (argc > 1)
		early_kstr(argv[1]);
	set_node(&c, 0);
	set_node(&c, 2);
	printf("%d %d %d\n", count_nodes(&c, any), *first(&c), table[0]);
	return 0;
}
'''.replace('early_kstr', 'early_slub_kunit_mutant_setup')

MUTANTS = [
	('count-off-by-one', [{'search': '\t\t\tn++;', 'replace': '\t\t\tn += 2;'}]),
	# search text reaching past the body's end into the next function
	('set-ignores-zero', [{'search': '\tif (nid >= 0)\n\t\tc->nodes[nid] = 1;\n}\n\nstatic inline',
			       'replace': '\tif (nid > 0)\n\t\tc->nodes[nid] = 1;\n}\n\nstatic inline'}]),
	('first-is-second', [{'search': '&c->nodes[0]', 'replace': '&c->nodes[2]'}]),
	('table-changed', [{'search': '{ 1, 2, 3 }', 'replace': '{ 7, 2, 3 }'}]),
	('two-functions', [{'search': '\t\t\tn++;', 'replace': '\t\t\tn--;'},
			   {'search': '&c->nodes[0]', 'replace': '&c->nodes[1]'}]),
]


class Functions(unittest.TestCase):

	def test_finds_definitions_not_structs_or_initialisers(self):
		got = {f.name: f for f in schemata.functions(SOURCE)}
		self.assertEqual(sorted(got), ['any', 'count_nodes', 'first', 'kstrtoint', 'main',
					       'say', 'set_node'])
		self.assertEqual(got['count_nodes'].params, ['c', 'ok'])
		self.assertTrue(got['set_node'].returns_void)
		self.assertFalse(got['first'].returns_void)
		self.assertTrue(got['say'].variadic)

	def test_blank_keeps_offsets(self):
		text = 'int a; /* { */\n#define X {\\\n }\nchar *s = "}";\n'
		self.assertEqual(len(slubc.blank(text)), len(text))
		self.assertNotIn('{', slubc.blank(text))


@unittest.skipUnless(shutil.which('gcc'), 'needs gcc')
class Woven(unittest.TestCase):

	def setUp(self):
		self.tmp = tempfile.mkdtemp(prefix='slub-kunit-schemata-')

	def tearDown(self):
		shutil.rmtree(self.tmp)

	def run_c(self, text, arg=None):
		src, exe = os.path.join(self.tmp, 'a.c'), os.path.join(self.tmp, 'a')
		with open(src, 'w') as f:
			f.write(text)
		res = subprocess.run(['gcc', '-Wall', '-Werror', '-Wno-unused-function',
				      '-Wno-unused-variable', '-o', exe, src],
				     capture_output=True, text=True)
		self.assertEqual(res.returncode, 0, res.stderr)
		res = subprocess.run([exe] + ([arg] if arg else []), capture_output=True, text=True,
				     check=True)
		return res.stdout

	def test_each_selector_is_one_mutant(self):
		schema = schemata.build(SOURCE, MUTANTS)
		self.assertEqual(schema.numbers, {'count-off-by-one': 1, 'set-ignores-zero': 2,
						  'first-is-second': 3, 'two-functions': 4})
		self.assertIn('table-changed', schema.apart)
		pristine = self.run_c(SOURCE.replace('early_slub_kunit_mutant_setup(argv[1])', '(void)argv'))
		self.assertEqual(pristine, '2 1 1\n')
		self.assertEqual(self.run_c(schema.text), pristine)
		self.assertEqual(self.run_c(schema.text, '0'), pristine)
		for name, edits in MUTANTS:
			if name not in schema.numbers:
				continue
			alone = SOURCE.replace('early_slub_kunit_mutant_setup(argv[1])', '(void)argv')
			for e in edits:
				alone = alone.replace(e['search'], e['replace'])
			with self.subTest(mutant=name):
				self.assertEqual(self.run_c(schema.text, str(schema.numbers[name])),
						 self.run_c(alone))

	def test_numbers_start_where_asked(self):
		schema = schemata.build(SOURCE, MUTANTS[:1], selector_home=False, first=7)
		self.assertEqual(schema.numbers, {'count-off-by-one': 7})
		self.assertIn('extern int slub_kunit_mutant;', schema.text)
