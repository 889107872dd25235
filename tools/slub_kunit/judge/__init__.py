# SPDX-License-Identifier: GPL-2.0
"""Verdicts: a patch or series judged (validate), the mutant and
correct-patch catalogues (mutate, with every mutant in one kernel:
schemata), and the hostile patches that check the sandbox (hostile)."""
