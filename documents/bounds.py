"""Limits every value must respect before it reaches the database or a date computation.

PostgreSQL's ``integer`` stops at 2³¹ − 1 and Python's dates at year 9999: a value beyond
either raises deep inside a query or a date constructor. The verbs check them here first, so
any input, from the web, the API or the CLI, is refused with a French message instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from documents.errors import ValidationError

#: Largest row id (PostgreSQL ``integer``).
MAX_ID = 2**31 - 1
#: Years a document, a draft or a filter may carry (same bounds as the metadata form).
YEAR_MIN, YEAR_MAX = 1900, 2200


def row_id(value: Any) -> int | None:
    """``value`` as a row id (ASCII digits, 1 to 2³¹ − 1), or None when it cannot be one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    else:
        text = str(value).strip()
        # str.isdigit() accepts « ² » and other digits that int() refuses: ASCII only.
        if not text.isascii() or not text.isdigit() or len(text) > 10:
            return None
        number = int(text)
    return number if 1 <= number <= MAX_ID else None


def parse_year(value: Any) -> int | None:
    """``value`` as a year between 1900 and 2200 (ASCII digits), or None."""
    text = str(value).strip()
    if not text.isascii() or not text.isdigit() or len(text) > 4:
        return None
    year = int(text)
    return year if YEAR_MIN <= year <= YEAR_MAX else None


def check_year(year: int, *, field: str = "year") -> int:
    """``year`` if it lies between 1900 and 2200; ValidationError otherwise."""
    if isinstance(year, bool) or not isinstance(year, int) or not YEAR_MIN <= year <= YEAR_MAX:
        raise ValidationError(f"L'année doit être comprise entre {YEAR_MIN} et {YEAR_MAX}.",
                              errors={field: f"Année entre {YEAR_MIN} et {YEAR_MAX} attendue."})
    return year


def has_nul(value: Any) -> bool:
    """True if a NUL character hides anywhere in ``value`` (strings, keys, lists, dicts)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, Mapping):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    if isinstance(value, Iterable) and not isinstance(value, (bytes, bytearray)):
        return any(has_nul(item) for item in value)
    return False


def refuse_nul(values: Mapping[str, Any]) -> None:
    """ValidationError naming each field whose text contains a NUL character."""
    bad = {name: "Caractère nul (\\0) refusé." for name, value in values.items() if has_nul(value)}
    if bad:
        raise ValidationError("Le texte envoyé contient un caractère nul (\\0), refusé.", errors=bad)
