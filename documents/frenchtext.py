"""French text details shared by every page: elision, file sizes, alphabetical order."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from babel.numbers import format_decimal
from sqlalchemy import String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement, SQLCoreOperations
from sqlalchemy.sql.functions import FunctionElement

T = TypeVar("T")

#: Name of the SQL function that SQLite connections get from documents.db.
SQLITE_FOLD_FUNCTION = "fold_fr"

#: Words that elide before a vowel or a mute h, and their elided form.
_ELIDING = {"de": "d'", "que": "qu'", "le": "l'", "la": "l'", "ne": "n'", "je": "j'", "me": "m'",
            "te": "t'", "se": "s'", "lorsque": "lorsqu'", "puisque": "puisqu'", "jusque": "jusqu'"}
#: Starts of common words whose h is aspirated (no elision: « de Hauts-de-France », « le hall »).
_ASPIRATED_H = (
    "hache", "haie", "haine", "hall", "halte", "hamac", "hameau", "hamburger", "hanche", "handball",
    "handicap", "hangar", "hanter", "harcel", "hardi", "hareng", "haricot", "harpe", "hasard", "hate",
    "haut", "havre", "hennir", "herisson", "hernie", "heron", "heros", "hetre", "hibou", "hierarch",
    "hisser", "hockey", "hollande", "homard", "hongr", "honte", "hors", "hotte", "houill", "housse",
    "hublot", "huer", "huit", "hurl", "hutte",
)
_VOWELS = "aeiou"


def fold(text: str) -> str:
    """``text`` without accents, case-folded: « Île-de-France » → « ile-de-france »."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    # Ligatures have no decomposition: œ and æ are written out as French dictionaries sort them.
    return bare.replace("œ", "oe").replace("Œ", "OE").replace("æ", "ae").replace("Æ", "AE").casefold()


def fold_words(text: str) -> str:
    """``fold`` with every run of characters other than a-z and 0-9 turned into one space."""
    return " ".join(re.sub(r"[^0-9a-z]+", " ", fold(text)).split())


def slugify(text: str) -> str:
    """The folded words joined by hyphens, as slugs are written: « Île-de-France » → « ile-de-france »."""
    return fold_words(text).replace(" ", "-")


def _starts_with_vowel_sound(word: str) -> bool:
    folded = fold(word.lstrip())
    if not folded or not folded[0].isalpha():
        return False  # « de 2026 », « que « Mon film » »: no elision before digits or quotes
    first = folded[0]
    if first in _VOWELS:
        return True
    if first == "y":  # « d'Yves », « d'Yvelines », but « le yaourt », « de Yaoundé »
        return len(folded) > 1 and folded[1] not in _VOWELS + "y"
    if first == "h":
        return not folded.startswith(_ASPIRATED_H)
    return False


def elided(particle: str, word: str) -> str:
    """The particle as written before ``word``: « qu'» before « Équipe », « que » (with its space) otherwise."""
    short = _ELIDING.get(particle.lower())
    if short is None or not _starts_with_vowel_sound(word):
        return particle + " "
    return particle[0] + short[1:] if particle[0].isupper() else short


def elide(particle: str, word: str) -> str:
    """``particle`` and ``word`` joined with the elision French requires: « qu'Équipe régionale »."""
    return elided(particle, word) + word.lstrip()


_SIZE_UNITS = ("ko", "Mo", "Go", "To")


def format_size(size: int | float | None) -> str:
    """A file size as French writes it: « 512 octets », « 186,7 ko », « 2,4 Mo » (1 ko = 1 000 octets)."""
    if size is None:
        return ""
    value = float(size)
    if abs(value) < 1000:
        count = int(value)
        # « 0 octet », « 1 octet » are singular in French, « 2 octets » plural.
        return f"{count}\u00a0octet" + ("s" if abs(count) >= 2 else "")
    unit = ""
    for unit in _SIZE_UNITS:  # noqa: B007 - the unit reached is read after the loop
        value /= 1000
        if abs(round(value, 1)) < 1000:  # 999 999 octets is « 1 Mo », not « 1 000 ko »
            break
    # A no-break space keeps the number and its unit on one line.
    return f"{format_decimal(round(value, 1), format='#,##0.#', locale='fr_FR')}\u00a0{unit}"


def sort_key(text: str) -> tuple[str, str]:
    """Key for French alphabetical order: accents and case ignored first, then used to break ties."""
    return fold(text), text


# French letters folded in SQL, where neither SQLite's lower() nor its binary order knows accents.
_ACCENTED = "àâäáçéèêëîïôöóùûüÿ"
_PLAIN = "aaaaceeeeiiooouuuy"


class french_fold(FunctionElement[str]):  # noqa: N801 — named like the SQL function it renders
    """SQL: ``text`` folded for French order (accents removed, lower case)."""

    type = String()
    inherit_cache = True


@compiles(french_fold)
def _fold_sqlite(element: french_fold, compiler: Any, **kw: Any) -> str:
    # SQLite: the Python fold() registered on every connection by documents.db.
    return f"{SQLITE_FOLD_FUNCTION}({compiler.process(element.clauses, **kw)})"


@compiles(french_fold, "postgresql")
def _fold_postgresql(element: french_fold, compiler: Any, **kw: Any) -> str:
    # PostgreSQL: translate() one accented letter to one plain letter; œ and æ become two.
    # Both cases are translated before lower(), which knows no accents under a "C" ctype.
    inner = compiler.process(element.clauses, **kw)
    accented, plain = _ACCENTED + _ACCENTED.upper(), _PLAIN + _PLAIN.upper()
    return (f"lower(replace(replace(replace(replace(translate({inner}, '{accented}', '{plain}'), "
            "'œ', 'oe'), 'Œ', 'OE'), 'æ', 'ae'), 'Æ', 'AE'))")


def fold_for_sql(text: str | None) -> str | None:
    """The SQLite function behind ``french_fold`` (NULL stays NULL)."""
    return None if text is None else fold(text)


def french_order(column: SQLCoreOperations[str]) -> ColumnElement[str]:
    """SQL sort expression for French alphabetical order of ``column`` (SQLite and PostgreSQL alike)."""
    return french_fold(column)


def by_name(items: Iterable[T], name: Callable[[T], str] = lambda item: item.name) -> list[T]:  # type: ignore[attr-defined]  # the default applies to items that have a name
    """``items`` in French alphabetical order of their name (« Île-de-France » among the I)."""
    return sorted(items, key=lambda item: sort_key(name(item)))
