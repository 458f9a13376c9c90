"""Engine-independent parts of search: bounds, errors, folding, and the plain values in and out."""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from whoosh import query as wq
from whoosh.support.charset import accent_map

from documents.errors import DomainError
from documents.regions import covered_codes

logger = logging.getLogger(__name__)

#: Bumped whenever the schema or the analysis chain changes: an index written
#: with another version is replaced by an empty one flagged ``needs_reindex``.
SCHEMA_VERSION = 1

NATIONAL = "national"
KINDS = ("document", "meeting", "minutes")

# Bounds: no query holds a worker for more than a second, and a malformed or deeply nested
# one gets a French message, never a 500.  Measured on the bench corpus, see bench/search_engine.py.
MAX_QUERY_LENGTH = 500
MAX_PAREN_DEPTH = 8
MAX_CLAUSES = 40
MAX_PREFIXES = 4
MIN_PREFIX_LENGTH = 3
MAX_PREFIX_EXPANSION = 256
MAX_PER_PAGE = 100
MAX_RESULT_WINDOW = 1000
DEFAULT_TIME_LIMIT = 1.0
#: Text given to the highlighter is cut here: highlighting re-analyses it.
HIGHLIGHT_TEXT_CAP = 200_000
#: Text indexed per entry is cut here: beyond that it is mostly OCR noise or
#: tables and would only bloat the index.
INDEX_TEXT_CAP = 2_000_000
SNIPPET_FALLBACK_CHARS = 240


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------


class SearchQueryError(DomainError):
    """The query text cannot be run as written; the message says how to fix it."""

    status = 400


class SearchTimeout(SearchQueryError):
    """The query took longer than the time bound."""

    status = 400


class SearchIndexError(DomainError):
    """The index cannot be opened or written (missing, busy, broken)."""

    status = 503


class IndexBusy(SearchIndexError):
    """Another writer holds the index lock for longer than the timeout."""


# --------------------------------------------------------------------------
# French analysis
# --------------------------------------------------------------------------

# accent_map has no entry for the ligatures, which French uses (œuvre, cœur).
_FOLD_MAP: dict[int, str] = dict(accent_map)
_FOLD_MAP.update({ord("œ"): "oe", ord("Œ"): "oe", ord("æ"): "ae", ord("Æ"): "ae"})

_ELISIONS = ("jusqu", "lorsqu", "puisqu", "qu", "l", "d", "j", "n", "s", "c", "m", "t")
_ELISION_RE = re.compile(r"^(?:%s)'" % "|".join(_ELISIONS))
_APOSTROPHES = str.maketrans({"’": "'", "ʼ": "'", "‘": "'"})
# Words keep inner apostrophes so that the elision filter can see "l'école";
# everything else (hyphens, slashes, colons, wildcard signs) separates words.
_WORD_PATTERN = r"\w+(?:['’ʼ]\w+)*"


def fold(text: str) -> str:
    """Lowercase ``text`` and strip its accents, as the index does ("Signé" -> "signe")."""
    text = unicodedata.normalize("NFC", text).lower()
    return text.translate(_FOLD_MAP).strip()


# --------------------------------------------------------------------------
# Plain values in and out
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class IndexEntry:
    """One searchable object, as plain values (the caller builds it from the database).

    ``id`` must be unique across kinds, e.g. ``"document:12"`` (see ``entry_id``).
    ``region`` is a region code or ``"national"``.
    """

    id: str
    kind: str
    title: str
    text: str = ""
    type: str = ""
    region: str = NATIONAL
    year: int | None = None
    status: str = ""
    version: int | None = None
    parties: Sequence[str] = ()
    quartiers: Sequence[str] = ()
    keywords: Sequence[str] = ()
    date: datetime | None = None
    updated: datetime | None = None

    def to_fields(self) -> dict[str, object]:
        """Field values for Whoosh (missing values are left out, not indexed as "")."""
        if not self.id:
            raise ValueError("IndexEntry.id must not be empty")
        if self.kind not in KINDS:
            raise ValueError(f"IndexEntry.kind must be one of {KINDS}, not {self.kind!r}")
        fields: dict[str, object] = {
            "id": self.id,
            "kind": self.kind,
            "title": self.title,
            "text": self.text[:INDEX_TEXT_CAP],
            "region": self.region or NATIONAL,
        }
        if self.type:
            fields["type"] = self.type
        if self.year is not None:
            fields["year"] = str(self.year)
        if self.status:
            fields["status"] = self.status
        if self.version is not None:
            fields["version"] = str(self.version)
        for name in ("parties", "quartiers", "keywords"):
            # Commas separate values in a KEYWORD field: a comma inside a value
            # would split it, so it becomes a space.
            values = [v.replace(",", " ").strip() for v in getattr(self, name)]
            if any(values):
                fields[name] = ",".join(v for v in values if v)
        if self.date is not None:
            fields["date"] = self.date
        if self.updated is not None:
            fields["updated"] = self.updated
        return fields


def entry_id(kind: str, pk: int | str) -> str:
    """Index id of a database object: ``entry_id("document", 12) == "document:12"``."""
    return f"{kind}:{pk}"


@dataclass(frozen=True)
class SearchScope:
    """What a user may see: every region (``regions is None``) or only these region codes."""

    regions: frozenset[str] | None

    @classmethod
    def all(cls) -> SearchScope:
        """Scope of a national user or an admin: everything."""
        return cls(None)

    @classmethod
    def only(cls, regions: Iterable[str]) -> SearchScope:
        """Scope limited to these region codes (``"national"`` must be listed to see national items)."""
        return cls(frozenset(regions))

    @classmethod
    def from_visible(cls, regions: Collection[str] | None) -> SearchScope:
        """Scope from ``documents.permissions.visible_regions`` (None means all)."""
        return cls.all() if regions is None else cls.only(regions)

    def region_terms(self) -> list[str] | None:
        """The ``region`` index values this scope may read (None = every region), for both engines.

        The one place that turns a scope into region values: both engines'
        filters (``as_filter`` here, ``tantivy_search.region_filter``) use it.
        """
        if self.regions is None:
            return None
        return sorted({fold(r) for r in self.regions} - {""})

    def as_filter(self) -> wq.Query | None:
        """Whoosh filter query for this scope (None = no restriction)."""
        terms = self.region_terms()
        if terms is None:
            return None
        if not terms:
            return wq.NullQuery
        return wq.Or([wq.Term("region", t) for t in terms])


@dataclass(frozen=True)
class SearchHit:
    """One result; ``title_html`` and ``snippet_html`` are escaped HTML with ``<mark>``."""

    id: str
    kind: str
    title: str
    type: str
    region: str
    year: int | None
    status: str
    version: int | None
    date: datetime | None
    score: float
    title_html: str
    snippet_html: str


@dataclass(frozen=True)
class FacetValue:
    """One value of a facet and how many results carry it."""

    value: str
    count: int


@dataclass(frozen=True)
class SearchResults:
    """A page of results with the total, the facets and an optional suggestion."""

    query: str
    total: int
    page: int
    per_page: int
    hits: tuple[SearchHit, ...]
    facets: dict[str, tuple[FacetValue, ...]]
    suggestion: str | None = None
    notices: tuple[str, ...] = ()

    @property
    def pages(self) -> int:
        """Number of pages for ``total`` results."""
        return max(1, -(-self.total // self.per_page))


def filter_values(fld: str, folded: str) -> list[str]:
    """The indexed values one filter value stands for: a current region also matches its predecessors.

    ``region:76`` finds Occitanie, Languedoc-Roussillon (91) and Midi-Pyrénées (73) documents; a 2009
    code, or any other field, stands for itself.
    """
    if fld == "region":
        return sorted(covered_codes(folded)) or [folded]
    return [folded]
