# SPDX-License-Identifier: GPL-2.0
"""Mail: a series as the list gives it (mail), its patches as untrusted
input (patches), and the answer to the list and patchwork (answer)."""
