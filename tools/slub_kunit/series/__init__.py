# SPDX-License-Identifier: GPL-2.0
"""The suite as a series for one kernel tree (export), checked as a
reviewer would take it (export_check), each file holding only its
tree's generation (unifdef)."""
