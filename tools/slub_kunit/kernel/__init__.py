# SPDX-License-Identifier: GPL-2.0
"""The kernel tree and its build: where the source comes from (source),
the work tree with the suite overlaid and the patches applied (tree),
what the tree's mm/slub.c has (slubc), kunit.py driven one stage at a
time (kunit_tool) inside the sandbox the tree's code runs in (sandbox),
and what kunit.py's results say (results)."""
