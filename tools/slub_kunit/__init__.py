# SPDX-License-Identifier: GPL-2.0
"""The library behind tools/slub-kunit.

cli is the front end. Below it: source (kernel trees: Debian packages, the
user's tree, a git commit), patches and mail (what is judged), tree (the
work tree), kunit_tool, sandbox, host and procs (building and booting with
the tree's kunit.py, sandboxed), results and status (what a boot means),
pipeline (sessions and the test matrix), and the subcommands validate,
mutate (with schemata), watch, answer, export (with export_check), bench
and hostile. README.md's "Layout" maps each stage to its module.
"""
