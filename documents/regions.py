"""Regions through time: which codes a current region covers, and which current region a code is today.

The 2016 reform merged 2009 regions; the archive keeps each document in the region of its time.
Every scope and filter (permissions, lists, search, committees, échéances, matrix) asks this module
which codes a region stands for, so that « Occitanie » (76) also means Languedoc-Roussillon (91)
and Midi-Pyrénées (73). Pure data from ``documents/data/regions.csv``: no database, no Flask.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from typing import TYPE_CHECKING

from documents import referencedata

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from documents.models import Region

__all__ = ["aliases", "covered_codes", "current_code", "current_codes", "departement_region", "expand", "for_year",
           "region_rows"]


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


# ------------------------------------------------------------------ guesses from paths


def _slug(text: str) -> str:
    bare = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch)).lower()
    return "-".join(re.sub(r"[^0-9a-z]+", " ", bare).split())


def aliases() -> list[tuple[str, str]]:
    """(slug, code) of the other names folders give regions: 2016 provisional names, abbreviations, 2009 names."""
    out: list[tuple[str, str]] = []
    for row in region_rows().values():
        out.extend((_slug(alias), row.code) for alias in row.aliases)
        if row.former_name:
            out.append((_slug(row.former_name), row.code))
    return out


def for_year(code: str, year: int | None) -> str:
    """The code a region had in ``year``: overseas regions kept their name but took 01–04 in 2016."""
    row = region_rows().get(code)
    if year is None or row is None or row.successor_code is None or not row.valid_until:
        return code
    successor = region_rows()[row.successor_code]
    if successor.name == row.name and year > int(row.valid_until[:4]):
        return successor.code
    return code


@cache
def _departements() -> dict[str, referencedata.DepartementRow]:
    return {row.code.lower(): row for row in referencedata.load_departements()}


_DEP_PAREN = re.compile(r"\((\d{2}|2[ab]|97[1-6])\)", re.IGNORECASE)
_DEP_WORD = re.compile(r"(?:^|-)(?:dep|dept|departement|d)-?(\d{2}|2[ab]|97[1-6])(?:-|$)")
_DEP_LEADING = re.compile(r"^(\d{2}|2[ab]|97[1-6])-(.+)$")


def departement_region(component: str, year: int | None) -> str | None:
    """Region of a département a path component names by number: « Hérault (34) », « dept 34 », « 34 - Hérault ».

    A bare number is not enough (« 93 » is a region code, « 2012 » a year): the number
    must come in parentheses, after « dep »/« département », or before the département's
    own name. The region is the one of ``year`` (2009 map up to 2015, today's after).
    """
    by_code = _departements()
    slug = _slug(component)
    code = None
    match = _DEP_PAREN.search(component) or _DEP_WORD.search(slug)
    if match:
        code = match.group(1).lower()
    else:
        leading = _DEP_LEADING.match(slug)
        named = by_code.get(leading.group(1)) if leading else None
        if leading and named is not None and leading.group(2).startswith(_slug(named.name)):
            code = leading.group(1)
    row = by_code.get(code or "")
    if row is None:
        return None
    if year is not None and year <= 2015 and row.region_2009:
        return row.region_2009
    return row.region_code


def current_regions(session: Session) -> list[Region]:
    """Today's regions from the database, in French alphabetical order (the choices of every form and table)."""
    from sqlalchemy import select

    from documents.frenchtext import french_order
    from documents.models import Region

    stmt = select(Region).where(Region.valid_until.is_(None)).order_by(french_order(Region.name), Region.code)
    return list(session.scalars(stmt))
