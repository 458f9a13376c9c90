"""Regions through time: which codes a current region covers, and which current region a code is today.

The 2016 reform merged 2009 regions; the archive keeps each document in the region of its time.
Every scope and filter (permissions, lists, search, committees, échéances, matrix) asks this module
which codes a region stands for, so that « Occitanie » (76) also means Languedoc-Roussillon (91)
and Midi-Pyrénées (73). Pure data from ``documents/data/regions.csv``: no database, no Flask.
"""

from __future__ import annotations

from functools import cache

from documents import referencedata

__all__ = ["covered_codes", "current_code", "current_codes", "expand", "region_rows"]


@cache
def region_rows() -> dict[str, referencedata.RegionRow]:
    """Every shipped region by code."""
    return {row.code: row for row in referencedata.load_regions()}


@cache
def _covered() -> dict[str, frozenset[str]]:
    covered: dict[str, set[str]] = {}
    for row in region_rows().values():
        covered.setdefault(row.code, set()).add(row.code)
        if row.successor_code:
            covered.setdefault(row.successor_code, set()).add(row.code)
    return {code: frozenset(codes) for code, codes in covered.items()}


def covered_codes(code: str | None) -> frozenset[str]:
    """Codes a region stands for: itself and, for a current region, its predecessors.

    ``covered_codes("76") == {"76", "91", "73"}``; a 2009 code covers only itself; an unknown
    code covers itself (fail closed: never more than what was asked).
    """
    if not code:
        return frozenset()
    return _covered().get(code, frozenset({code}))


def expand(codes: frozenset[str] | set[str]) -> frozenset[str]:
    """Union of ``covered_codes`` over ``codes`` (other markers such as « national » kept as is)."""
    result: set[str] = set()
    for code in codes:
        result |= covered_codes(code)
    return frozenset(result)


def current_code(code: str | None) -> str | None:
    """The current region a code belongs to today (itself when current; None stays None)."""
    if not code:
        return None
    row = region_rows().get(code)
    if row is None or row.successor_code is None:
        return code
    return row.successor_code


def current_codes() -> list[str]:
    """Codes of the 18 current regions, in code order."""
    return [row.code for row in referencedata.current_regions()]
