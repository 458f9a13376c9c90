"""Facts of the « Déclaration d'accessibilité »: the last audit, kept next to the page that states it.

Update these figures whenever ``tests/e2e/test_pages_e2e.py`` (the automated audit) changes what it
covers; the page must not claim more than what was checked.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Audit:
    """What was checked, when, with which tool, and what it found."""

    date: str
    tool: str
    pages: int
    widths: tuple[int, ...]
    roles: tuple[str, ...]
    violations: int


AUDIT = Audit(
    date="décembre 2026",
    tool="axe-core 4.14 (règles WCAG 2.1 A et AA), dans Chromium",
    pages=54,  # distinct addresses visited by tests/e2e/test_pages_e2e.py
    widths=(390, 1366),
    roles=("administrateur", "équipe régionale", "lecteur"),
    violations=0,
)
