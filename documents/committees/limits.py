"""Bounds every committee verb applies to what users type, and the protocol's default delay."""

from __future__ import annotations

#: Longest free text (description, notes, decision, action).
MAX_TEXT = 20_000
#: Longest remark on submitted minutes.
MAX_COMMENT = 5_000
#: Most points on one agenda.
MAX_AGENDA_ITEMS = 60
#: How many days after its meeting a compte rendu still in draft counts as late.
DEFAULT_DRAFT_DAYS = 30
