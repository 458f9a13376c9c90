"""Full-text search: French analysis, a bounded query language, scoped results.

All Whoosh code of the project lives in this module, behind plain values
(``IndexEntry``, ``SearchScope``, ``SearchResults``) so that another engine can
later sit behind the same functions.  Nothing here knows about the database:
callers feed entries through ``writing()`` / ``rebuild()`` and give the text
for snippets through a ``text_for`` callback at search time.

On-disk layout of an index ``root``::

    root/CURRENT          name of the live generation (replaced atomically)
    root/gen-<stamp>/     one complete Whoosh index + SCHEMA_VERSION

A rebuild writes a new generation beside the live one, then swaps CURRENT, so
searchers never see a half-built index.
"""

from __future__ import annotations

import gc
import html
import logging
import os
import re
import shutil
import threading
import time
import unicodedata
import uuid
import warnings
import weakref
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field as dc_field
from datetime import datetime
from pathlib import Path
from typing import Literal

from whoosh import collectors, query as wq, sorting
from whoosh.analysis import (
    CharsetFilter,
    Filter,
    IDTokenizer,
    LowercaseFilter,
    RegexTokenizer,
    StemFilter,
    StopFilter,
)
from whoosh.analysis.analyzers import CompositeAnalyzer
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher, W3PerDocReader
from whoosh.fields import DATETIME, ID, KEYWORD, TEXT, Schema
from whoosh.filedb.filestore import FileStorage
from whoosh.index import Index, LockError
from whoosh.matching import Matcher, NullMatcher, binary, wrappers
from whoosh.lang import stopwords_for_language
from whoosh.searching import Searcher
from whoosh.support.charset import accent_map
from whoosh.util import make_binary_tree

from documents.errors import DomainError
from documents.regions import covered_codes

logger = logging.getLogger(__name__)

__all__ = [
    "FacetValue",
    "IndexBusy",
    "IndexEntry",
    "IndexWriterSession",
    "SearchHit",
    "SearchIndex",
    "SearchIndexError",
    "SearchQueryError",
    "SearchResults",
    "SearchScope",
    "SearchTimeout",
    "SearcherCache",
    "build_schema",
    "entry_id",
    "fold",
    "french_analyzer",
    "open_index",
    "rebuild",
    "search",
    "writing",
]

#: Bumped whenever the schema or the analysis chain changes: an index written
#: with another version is replaced by an empty one flagged ``needs_reindex``.
SCHEMA_VERSION = 1

NATIONAL = "national"
KINDS = ("document", "meeting", "minutes")

# Bounds (SECURITY 25-26).  Measured on the bench corpus, see bench/search_engine.py.
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


class ElisionFilter(Filter):
    """Drops French elided articles and pronouns: "l'hôpital" -> "hopital"."""

    def __call__(self, tokens):  # type: ignore[no-untyped-def]
        for t in tokens:
            text = t.text
            if "'" not in text and "’" not in text and "ʼ" not in text:
                yield t  # fast path: most words have no apostrophe
                continue
            text = text.translate(_APOSTROPHES)
            m = _ELISION_RE.match(text)
            if m and len(text) > m.end():
                cut = m.end()
                text = text[cut:]
                # Keep highlights on the word itself, not on "l'".
                if t.chars and t.startchar is not None:
                    t.startchar += cut
            t.text = text
            yield t


_FOLDED_STOPWORDS = frozenset(fold(w) for w in stopwords_for_language("fr")) | frozenset(
    _ELISIONS
)


def french_analyzer() -> CompositeAnalyzer:
    """Tokenize, lowercase, fold accents, drop elisions and stop words, then stem (French)."""
    return (
        RegexTokenizer(_WORD_PATTERN)
        | LowercaseFilter()
        | CharsetFilter(_FOLD_MAP)
        | ElisionFilter()
        | StopFilter(stoplist=_FOLDED_STOPWORDS, minsize=1, maxsize=60)
        | StemFilter(lang="fr", cachesize=100_000)
    )


def _id_analyzer() -> CompositeAnalyzer:
    # Filter values are folded so that ``statut:signe`` finds "signé".
    return IDTokenizer() | LowercaseFilter() | CharsetFilter(_FOLD_MAP)


def _keyword_field() -> KEYWORD:
    kw = KEYWORD(lowercase=True, commas=True, scorable=False)
    kw.analyzer = kw.analyzer | CharsetFilter(_FOLD_MAP)
    return kw


class _RecordingAnalyzer:
    """Runs ``analyzer`` and notes each word as it is just before stemming."""

    def __init__(self, analyzer: CompositeAnalyzer, sink: set[str]) -> None:
        self.analyzer = analyzer
        self.sink = sink

    def _record(self, tokens):  # type: ignore[no-untyped-def]
        add = self.sink.add
        for t in tokens:
            add(t.text)
            yield t

    def __call__(self, value, **kwargs):  # type: ignore[no-untyped-def]
        items = self.analyzer.items
        gen = items[0](value, **kwargs)
        recorded = False
        for item in items[1:]:
            if not recorded and getattr(item, "is_morph", False):
                gen = self._record(gen)
                recorded = True
            gen = item(gen)
        return gen if recorded else self._record(gen)


class _OnePassText(TEXT):
    """TEXT whose spelling word list comes from the indexing pass itself.

    Whoosh analyses a spelling field twice (once stemmed for the postings,
    once with ``no_morph`` for the word list): measured, the second pass was
    ~18 % of the indexing time.  Same words, same index, one analysis.
    """

    def index(self, value, **kwargs):  # type: ignore[no-untyped-def]
        if not isinstance(value, str) or not self.spelling:
            yield from super().index(value, **kwargs)
            return
        kwargs.setdefault("mode", "index")
        words: set[str] = set()
        for tstring, freq, wt, vbytes in self.format.word_values(
            value, _RecordingAnalyzer(self.analyzer, words), **kwargs
        ):
            yield (tstring.encode("utf-8"), freq, wt, vbytes)
        # The writer asks for the word list of this very value right after.
        self._spelling_memo = (value, words)

    def spellable_words(self, value):  # type: ignore[no-untyped-def]
        memo = self.__dict__.pop("_spelling_memo", None)
        if memo is not None and memo[0] is value:
            return iter(sorted(memo[1]))
        return super().spellable_words(value)

    def __getstate__(self) -> dict[str, object]:
        # The schema is pickled into the index's table of contents.
        state = dict(self.__dict__)
        state.pop("_spelling_memo", None)
        return state


def build_schema() -> Schema:
    """Schema of the index (see ``IndexEntry`` for the meaning of each field)."""
    analyzer = french_analyzer()
    return Schema(
        id=ID(unique=True, stored=True),
        kind=ID(stored=True, sortable=True, analyzer=_id_analyzer()),
        title=_OnePassText(analyzer=analyzer, stored=True, field_boost=3.0, spelling=True),
        # Not stored: snippets come from the caller's stored extraction.
        text=_OnePassText(analyzer=analyzer, stored=False, spelling=True),
        type=ID(stored=True, sortable=True, analyzer=_id_analyzer()),
        region=ID(stored=True, sortable=True, analyzer=_id_analyzer()),
        year=ID(stored=True, sortable=True, analyzer=_id_analyzer()),
        status=ID(stored=True, sortable=True, analyzer=_id_analyzer()),
        version=ID(stored=True, analyzer=_id_analyzer()),
        parties=_keyword_field(),
        quartiers=_keyword_field(),
        keywords=_keyword_field(),
        date=DATETIME(stored=True, sortable=True),
        updated=DATETIME(stored=True, sortable=True),
    )


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

    def as_filter(self) -> wq.Query | None:
        """Whoosh filter query for this scope (None = no restriction)."""
        if self.regions is None:
            return None
        if not self.regions:
            return wq.NullQuery
        return wq.Or([wq.Term("region", fold(r)) for r in sorted(self.regions)])


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


# --------------------------------------------------------------------------
# Index lifecycle
# --------------------------------------------------------------------------

_CURRENT = "CURRENT"
_SCHEMA_FILE = "SCHEMA_VERSION"
_GEN_RE = re.compile(r"^gen-[0-9a-z-]{1,64}$")


def _storage(path: Path) -> FileStorage:
    # supports_mmap=False: measured, the default storage copies the whole
    # index into memory for each searcher; plain files open in milliseconds.
    return FileStorage(str(path), supports_mmap=False)


def _new_generation_name() -> str:
    return f"gen-{time.strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:8]}"


def _read_pointer(root: Path) -> str | None:
    try:
        name = (root / _CURRENT).read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return name if _GEN_RE.match(name) else None


def _write_pointer(root: Path, name: str) -> None:
    tmp = root / f"{_CURRENT}.{uuid.uuid4().hex}.tmp"
    with open(tmp, "w", encoding="ascii") as fh:
        fh.write(name)
        fh.flush()
        os.fsync(fh.fileno())
    # os.replace is atomic on POSIX and Windows: readers see old or new, never half.
    os.replace(tmp, root / _CURRENT)


def _create_generation(root: Path) -> tuple[str, Index]:
    name = _new_generation_name()
    path = root / name
    path.mkdir(parents=True)
    ix = _storage(path).create_index(build_schema())
    (path / _SCHEMA_FILE).write_text(str(SCHEMA_VERSION), encoding="ascii")
    return name, ix


def _open_generation(root: Path, name: str) -> Index:
    path = root / name
    version = (path / _SCHEMA_FILE).read_text(encoding="ascii").strip()
    if version != str(SCHEMA_VERSION):
        raise ValueError(f"schema version {version!r} != {SCHEMA_VERSION}")
    ix = _storage(path).open_index()
    # Opening a searcher reads every segment: a missing or truncated file
    # shows up here rather than in the middle of a user's search.
    with ix.searcher() as s:
        s.doc_count_all()
    return ix


class SearchIndex:
    """Handle on an index folder; follows the live generation across rebuilds."""

    def __init__(self, root: Path, *, needs_reindex: bool = False) -> None:
        self.root = root
        #: True when the index was (re)created empty and must be fed again.
        self.needs_reindex = needs_reindex
        self._lock = threading.Lock()
        self._opened: tuple[str, Index] | None = None
        self.searchers = SearcherCache(self)

    def current(self) -> tuple[str, Index]:
        """The live generation name and its Whoosh index."""
        name = _read_pointer(self.root)
        if name is None:
            raise SearchIndexError(
                "L'index de recherche est introuvable ; lancez une réindexation complète."
            )
        with self._lock:
            if self._opened is not None and self._opened[0] == name:
                return self._opened
            try:
                ix = _storage(self.root / name).open_index()
            except Exception as exc:  # noqa: BLE001 - any failure means "unusable index"
                logger.exception("cannot open search index generation %s", name)
                raise SearchIndexError(
                    "L'index de recherche est illisible ; lancez une réindexation complète."
                ) from exc
            self._opened = (name, ix)
            return self._opened

    def doc_count(self) -> int:
        """Number of entries in the live index."""
        with self.searchers.searcher() as s:
            return s.doc_count()

    def close(self) -> None:
        """Close the cached searchers."""
        self.searchers.close()

    def __enter__(self) -> SearchIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_index(path: str | os.PathLike[str], *, create: bool = True) -> SearchIndex:
    """Open the index at ``path``; a missing or broken index is recreated empty with ``needs_reindex``."""
    root = Path(path)
    name = _read_pointer(root)
    if name is not None:
        # Whoosh leaves the files it had opened when a segment turns out to be
        # missing or truncated: silence their ResourceWarning and free them now.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            try:
                _open_generation(root, name)
                return SearchIndex(root)
            except Exception as exc:  # noqa: BLE001 - corrupted or stale: rebuild, not crash
                # Only text in the log record: the exception object would pin the files.
                logger.error("search index generation %s is unusable: %s", name, repr(exc))
            gc.collect()
        if not create:
            raise SearchIndexError(
                "L'index de recherche est illisible ; lancez une réindexation complète."
            )
    elif not create:
        raise SearchIndexError(
            "L'index de recherche est introuvable ; lancez une réindexation complète."
        )
    root.mkdir(parents=True, exist_ok=True)
    new_name, _ = _create_generation(root)
    _write_pointer(root, new_name)
    if name is not None:
        shutil.rmtree(root / name, ignore_errors=True)
    logger.warning("search index at %s recreated empty; a full reindex is needed", root)
    return SearchIndex(root, needs_reindex=True)


class IndexWriterSession:
    """Pending changes to the index; used through ``writing()``."""

    def __init__(self, writer: object) -> None:
        self._writer = writer
        self.upserts = 0
        self.deletes = 0

    def upsert(self, entry: IndexEntry) -> None:
        """Add the entry, or replace the one with the same id."""
        self._writer.update_document(**entry.to_fields())  # type: ignore[attr-defined]
        self.upserts += 1

    def delete(self, entry_id: str) -> None:
        """Remove the entry with this id (no error if it is absent)."""
        self._writer.delete_by_term("id", entry_id)  # type: ignore[attr-defined]
        self.deletes += 1


@contextmanager
def writing(index: SearchIndex, *, timeout: float = 10.0) -> Iterator[IndexWriterSession]:
    """Write to the index: commits at the end, cancels everything if the block raises."""
    while True:
        name, ix = index.current()
        try:
            writer = ix.writer(timeout=timeout, delay=0.05)
        except LockError as exc:
            raise IndexBusy(
                "L'index de recherche est occupé par une autre écriture ; réessayez dans un instant.",
            ) from exc
        # A rebuild may have swapped generations while we waited for the lock:
        # writing into the retired one would lose the change.
        if _read_pointer(index.root) == name:
            break
        writer.cancel()
    session = IndexWriterSession(writer)
    try:
        yield session
    except BaseException:
        writer.cancel()
        raise
    else:
        writer.commit()


def rebuild(
    path: str | os.PathLike[str],
    entries: Iterable[IndexEntry],
    *,
    procs: int = 1,
    progress: Callable[[int], None] | None = None,
    progress_every: int = 100,
    limitmb: int = 128,
) -> int:
    """Index ``entries`` into a fresh generation, then swap it in atomically; returns the count.

    Changes committed through ``writing()`` while this runs go to the old
    generation and are not carried over: replay them (outbox) after it returns.
    """
    root = Path(path)
    root.mkdir(parents=True, exist_ok=True)
    old_name = _read_pointer(root)
    new_name, ix = _create_generation(root)
    count = 0
    try:
        kwargs: dict[str, object] = {"limitmb": limitmb}
        if procs > 1:
            kwargs["procs"] = procs
            kwargs["multisegment"] = True
        writer = ix.writer(**kwargs)
        try:
            for entry in entries:
                writer.add_document(**entry.to_fields())
                count += 1
                if progress is not None and count % progress_every == 0:
                    progress(count)
        except BaseException:
            writer.cancel()
            raise
        writer.commit()
        _open_generation(root, new_name)
    except BaseException:
        shutil.rmtree(root / new_name, ignore_errors=True)
        raise
    _write_pointer(root, new_name)
    if progress is not None:
        progress(count)
    if old_name is not None and old_name != new_name:
        # Open searchers keep their file handles (POSIX), so removal is safe.
        shutil.rmtree(root / old_name, ignore_errors=True)
    return count


def _open_searcher(ix: Index) -> Searcher:
    """A searcher whose scored fields' lengths are read from memory.

    Every BM25F score asks for the document's field length; over plain files (no
    mmap, item 9 of the search issue) each ask is a seek and a one-byte read, and a
    phrase query scoring 20,000 matches spent a fifth of its time there. The length
    columns hold one byte per document (20 KB per field at 20,000 documents): they
    are read once per searcher, in one read each, and handed to Whoosh's own reader
    as the ``bytes`` it indexes the same way (same bytes, same scores; tested).
    """
    searcher = ix.searcher()
    for leaf, _offset in searcher.leaf_searchers():
        perdoc = getattr(leaf.reader(), "_perdoc", None)
        if type(perdoc) is not W3PerDocReader:
            continue
        for name, field in searcher.schema.items():
            lenfield = f"_{name}_len"
            if not field.scorable or lenfield in perdoc._readers or not perdoc.has_column(lenfield):
                continue
            column = perdoc.column_reader(lenfield, LENGTHS_COLUMN)
            if column._fixedlen != 1:
                continue
            stored = column._dbfile.get(column._basepos, column._count) if column._count else b""
            # Documents past the stored bytes have the column's default, 0 (as Whoosh reads them).
            perdoc._readers[lenfield] = stored + bytes(perdoc.doc_count_all() - len(stored))
    return searcher


class SearcherCache:
    """Reuses one searcher per thread and refreshes it when the index changed.

    Per thread because a searcher over plain files (no mmap) seeks and reads
    shared file handles, which is not safe across threads.
    """

    def __init__(self, index: SearchIndex) -> None:
        self._index = index
        self._local = threading.local()
        self._all: list[Searcher] = []
        self._lock = threading.Lock()
        self.opened = 0
        self.refreshed = 0

    @contextmanager
    def searcher(self) -> Iterator[Searcher]:
        """A searcher on the latest committed state of the live generation."""
        name, ix = self._index.current()
        cached: tuple[str, Searcher] | None = getattr(self._local, "entry", None)
        if cached is not None and cached[0] == name:
            s = cached[1]
            if ix.latest_generation() != s.reader().generation():
                # Not ``s.refresh()``: it reuses the segment readers it can, and a
                # reused reader keeps its old set of deleted documents, so a deleted
                # (trashed) entry would still be found.  A fresh searcher over plain
                # files opens in milliseconds.
                fresh = _open_searcher(ix)
                self.refreshed += 1
                self._track(s, fresh)
                s.close()
                s = fresh
        else:
            if cached is not None:
                self._track(cached[1], None)
                cached[1].close()
            s = _open_searcher(ix)
            self.opened += 1
            self._track(None, s)
        self._local.entry = (name, s)
        yield s

    def _track(self, old: Searcher | None, new: Searcher | None) -> None:
        with self._lock:
            if old is not None and old in self._all:
                self._all.remove(old)
            if new is not None:
                self._all.append(new)

    def close(self) -> None:
        """Close every cached searcher."""
        with self._lock:
            for s in self._all:
                try:
                    s.close()
                except Exception:  # noqa: BLE001 - closing must not fail shutdown
                    logger.exception("closing a searcher failed")
            self._all.clear()
        self._local = threading.local()


# --------------------------------------------------------------------------
# Phrases
# --------------------------------------------------------------------------


class _PhraseMatcher(wrappers.WrappingMatcher):
    """Documents where the words follow each other, checked on raw positions.

    Same matches and scores as Whoosh's ``Phrase`` (a ``SpanNear2`` with
    slop 1 over the same term matchers, scored as their intersection), but
    the check is a set lookup per position instead of building span objects:
    measured, phrase checking was most of the time of a phrase search.
    """

    def __init__(self, terms: list[Matcher]) -> None:
        self.terms = terms
        super().__init__(make_binary_tree(binary.IntersectionMatcher, terms))
        self._find_next()

    def _here(self) -> bool:
        starts = self.terms[0].value_as("positions")
        follow = [frozenset(m.value_as("positions")) for m in self.terms[1:]]
        return any(all(p + i in s for i, s in enumerate(follow, 1)) for p in starts)

    def _find_next(self) -> None:
        child = self.child
        while child.is_active() and not self._here():
            child.next()

    def copy(self) -> _PhraseMatcher:
        return _PhraseMatcher([m.copy() for m in self.terms])

    def replace(self, minquality: float = 0) -> Matcher:
        # The intersection must keep these very term matchers (positions are
        # read from them): never swapped for a "more efficient" one.
        return self if self.is_active() else NullMatcher()

    def supports_block_quality(self) -> bool:
        return False

    def next(self) -> None:
        self.child.next()
        self._find_next()

    def skip_to(self, id: int) -> None:
        self.child.skip_to(id)
        self._find_next()

    def all_ids(self) -> Iterator[int]:
        while self.is_active():
            yield self.id()
            self.next()


class _Phrase(wq.Phrase):
    """``wq.Phrase`` (consecutive words) with the faster matcher above."""

    def matcher(self, searcher: Searcher, context=None) -> Matcher:  # type: ignore[no-untyped-def]
        fieldname = self.fieldname
        if fieldname not in searcher.schema or len(self.words) < 2 or self.slop != 1:
            return super().matcher(searcher, context)
        field = searcher.schema[fieldname]
        reader = searcher.reader()
        terms = []
        for word in self.words:
            if (fieldname, field.to_bytes(word)) not in reader:
                return NullMatcher()
            terms.append(wq.Term(fieldname, word).matcher(searcher, context))
        m: Matcher = _PhraseMatcher(terms)
        if self.boost != 1.0:
            m = wrappers.WrappingMatcher(m, boost=self.boost)
        return m


# --------------------------------------------------------------------------
# Query language
# --------------------------------------------------------------------------

#: French (and English) names of the filterable fields.
FIELD_ALIASES: dict[str, str] = {
    "type": "type",
    "region": "region",
    "annee": "year",
    "an": "year",
    "year": "year",
    "statut": "status",
    "etat": "status",
    "status": "status",
    "nature": "kind",
    "kind": "kind",
    "version": "version",
    "partie": "parties",
    "parties": "parties",
    "signataire": "parties",
    "signataires": "parties",
    "quartier": "quartiers",
    "quartiers": "quartiers",
    "motcle": "keywords",
    "mot-cle": "keywords",
    "motscles": "keywords",
    "mots-cles": "keywords",
    "keywords": "keywords",
    "titre": "title",
    "title": "title",
    "texte": "text",
    "text": "text",
}
_TEXT_FIELDS = ("title", "text")
FACET_FIELDS = ("type", "region", "year", "status", "kind")

_OPERATORS = {"AND": "AND", "ET": "AND", "OR": "OR", "OU": "OR", "NOT": "NOT", "SAUF": "NOT"}
_QUOTES = {'"': '"', "“": "”", "«": "»", "„": "“"}
_STOP_CHARS = set(" \t\r\n()") | set(_QUOTES)
_LUCENE_SUFFIX = re.compile(r"[~^][\d.]*$")
_FIELD_RE = re.compile(r"^([^\W\d_][\w-]*):(.*)$", re.S)


@dataclass
class _Tok:
    kind: str  # WORD PHRASE FIELD LPAREN RPAREN AND OR NOT
    text: str
    start: int
    end: int


@dataclass
class _Node:
    op: str  # word phrase field and or not all
    text: str = ""
    field: str | None = None
    prefix: bool = False
    children: list[_Node] = dc_field(default_factory=list)
    start: int = 0
    end: int = 0


def _err(message: str) -> SearchQueryError:
    return SearchQueryError(message)


def _lex(q: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i, n, depth = 0, len(q), 0
    while i < n:
        c = q[i]
        if c.isspace():
            i += 1
        elif c == "(":
            depth += 1
            if depth > MAX_PAREN_DEPTH:
                raise _err(
                    f"La recherche imbrique trop de parenthèses ({MAX_PAREN_DEPTH} niveaux au plus) ; "
                    "simplifiez-la."
                )
            toks.append(_Tok("LPAREN", c, i, i + 1))
            i += 1
        elif c == ")":
            depth -= 1
            if depth < 0:
                raise _err(
                    "Une parenthèse fermante « ) » n'a pas de parenthèse ouvrante ; "
                    "retirez-la ou ajoutez « ( »."
                )
            toks.append(_Tok("RPAREN", c, i, i + 1))
            i += 1
        elif c in _QUOTES:
            close = q.find(_QUOTES[c], i + 1)
            if close < 0:
                raise _err(
                    "Un guillemet n'est pas fermé ; mettez l'expression exacte entre deux guillemets, "
                    'par exemple "comité de pilotage".'
                )
            toks.append(_Tok("PHRASE", q[i + 1 : close], i, close + 1))
            i = close + 1
        elif c in "-+" and i + 1 < n and not q[i + 1].isspace() and (
            i == 0 or q[i - 1].isspace() or q[i - 1] == "("
        ):
            if c == "-":
                toks.append(_Tok("NOT", c, i, i + 1))
            i += 1
        else:
            j = i
            while j < n and q[j] not in _STOP_CHARS:
                j += 1
            chunk = q[i:j]
            if chunk in _OPERATORS:
                toks.append(_Tok(_OPERATORS[chunk], chunk, i, j))
            else:
                m = _FIELD_RE.match(chunk)
                alias = fold(m.group(1)) if m else ""
                if m and alias in FIELD_ALIASES:
                    toks.append(_Tok("FIELD", FIELD_ALIASES[alias], i, i + len(m.group(1)) + 1))
                    if m.group(2):
                        toks.append(_Tok("WORD", m.group(2), i + len(m.group(1)) + 1, j))
                else:
                    toks.append(_Tok("WORD", chunk, i, j))
            i = j
    if depth > 0:
        raise _err(
            "Une parenthèse ouvrante « ( » n'est pas fermée ; ajoutez « ) » ou retirez-la."
        )
    return toks


_OP_NAMES = {"AND": "ET", "OR": "OU", "NOT": "SAUF"}


class _Parser:
    """Recursive descent; depth is bounded by MAX_PAREN_DEPTH, checked in the lexer."""

    def __init__(self, toks: list[_Tok]) -> None:
        self.toks = toks
        self.i = 0
        self.clauses = 0

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def parse(self) -> _Node:
        if not self.toks:
            return _Node("all")
        node = self.parse_or(None)
        tok = self.peek()
        if tok is not None:  # only a stray ")" can stop parse_or early; the lexer catches it
            raise _err(f"La recherche est mal formée près de « {tok.text} ».")
        return node

    def parse_or(self, fld: str | None) -> _Node:
        items = [self.parse_and(fld)]
        while (tok := self.peek()) is not None and tok.kind == "OR":
            self.take()
            items.append(self.parse_and(fld))
        return items[0] if len(items) == 1 else _Node("or", children=items)

    def parse_and(self, fld: str | None) -> _Node:
        items = [self.parse_unary(fld)]
        while (tok := self.peek()) is not None and tok.kind not in ("OR", "RPAREN"):
            if tok.kind == "AND":
                self.take()
            items.append(self.parse_unary(fld))
        return items[0] if len(items) == 1 else _Node("and", children=items)

    def parse_unary(self, fld: str | None) -> _Node:
        negate = False
        while (tok := self.peek()) is not None and tok.kind == "NOT":
            self.take()
            negate = not negate
        tok = self.peek()
        if tok is None or tok.kind in ("AND", "OR", "RPAREN"):
            before = self.toks[self.i - 1] if self.i else None
            if before is not None and before.kind in _OP_NAMES:
                name = _OP_NAMES[before.kind]
                raise _err(
                    f"L'opérateur {name} doit être suivi d'un mot ; complétez ou retirez-le."
                )
            if tok is not None and tok.kind in _OP_NAMES:
                name = _OP_NAMES[tok.kind]
                raise _err(f"L'opérateur {name} doit relier deux mots ; complétez ou retirez-le.")
            raise _err("Les parenthèses sont vides ; mettez-y au moins un mot.")
        node = self.parse_primary(fld)
        return _Node("not", children=[node]) if negate else node

    def parse_primary(self, fld: str | None) -> _Node:
        tok = self.take()
        if tok.kind == "LPAREN":
            node = self.parse_or(fld)
            end = self.peek()
            if end is None or end.kind != "RPAREN":  # pragma: no cover - lexer balances
                raise _err("Une parenthèse n'est pas fermée.")
            self.take()
            return node
        if tok.kind == "FIELD":
            if fld is not None:
                raise _err("Un filtre ne peut pas contenir un autre filtre ; séparez-les.")
            nxt = self.peek()
            if nxt is None or nxt.kind not in ("WORD", "PHRASE", "LPAREN") or nxt.start != tok.end:
                raise _err(
                    f"Le filtre « {tok.text} » n'a pas de valeur ; écrivez par exemple "
                    "type:convention ou region:11."
                )
            return self.parse_primary(tok.text)
        self.clauses += 1
        if self.clauses > MAX_CLAUSES:
            raise _err(f"La recherche contient trop de mots ({MAX_CLAUSES} au plus) ; raccourcissez-la.")
        if tok.kind == "PHRASE":
            return _Node("phrase", text=tok.text, field=fld, start=tok.start, end=tok.end)
        # Lucene habits ("word~2" fuzzy, "word^3" boost) are neutralised to the plain word.
        text = _LUCENE_SUFFIX.sub("", tok.text) or tok.text
        prefix = False
        if "*" in text:
            if text.count("*") > 1 or not text.endswith("*") or fld not in (None, *_TEXT_FIELDS):
                raise _err(
                    "L'étoile * n'est permise qu'à la fin d'un mot, par exemple conven* ; "
                    "retirez les autres étoiles."
                )
            text = text[:-1]
            prefix = True
        return _Node("word", text=text, field=fld, prefix=prefix, start=tok.start, end=tok.end)


def parse_query(q: str) -> _Node:
    """Check and parse a user query into a syntax tree (raises ``SearchQueryError``)."""
    if len(q) > MAX_QUERY_LENGTH:
        raise _err(
            f"La recherche est trop longue ({len(q)} caractères, {MAX_QUERY_LENGTH} au plus) ; "
            "raccourcissez-la."
        )
    q = unicodedata.normalize("NFC", q).replace("\x00", " ")
    return _Parser(_lex(q)).parse()


class _Compiler:
    """Turns the tree into a Whoosh query, expanding prefixes within bounds."""

    def __init__(self, searcher: Searcher) -> None:
        self.searcher = searcher
        self.reader = searcher.reader()
        self.analyzer = searcher.schema["text"].analyzer
        #: stems to highlight (positive clauses only).
        self.highlight: set[str] = set()
        #: plain words that may be spell-corrected: (node, stems)
        self.words: list[tuple[_Node, list[str]]] = []
        self.prefixes = 0
        self.dropped_stopwords = False

    def stems(self, text: str) -> list[str]:
        return [t.text for t in self.analyzer(text)]

    def compile(self, node: _Node, *, negated: bool = False) -> wq.Query | None:
        op = node.op
        if op == "all":
            return wq.Every()
        if op == "and":
            pos: list[wq.Query] = []
            neg: list[wq.Query] = []
            for child in node.children:
                if child.op == "not":
                    q = self.compile(child.children[0], negated=not negated)
                    if q is not None:
                        neg.append(q)
                else:
                    q = self.compile(child, negated=negated)
                    if q is not None:
                        pos.append(q)
            if not pos and not neg:
                return None
            base: wq.Query = wq.And(pos) if len(pos) > 1 else pos[0] if pos else wq.Every()
            if neg:
                return wq.AndNot(base, wq.Or(neg) if len(neg) > 1 else neg[0])
            return base
        if op == "or":
            parts = [self.compile(c, negated=negated) for c in node.children]
            kept = [p for p in parts if p is not None]
            if not kept:
                return None
            return wq.Or(kept) if len(kept) > 1 else kept[0]
        if op == "not":
            inner = self.compile(node.children[0], negated=not negated)
            if inner is None:
                return None
            return wq.AndNot(wq.Every(), inner)
        fld = node.field
        if fld is not None and fld not in _TEXT_FIELDS:
            return self.compile_filter(fld, node.text)
        fields = (fld,) if fld else _TEXT_FIELDS
        if op == "word" and node.prefix:
            return self.compile_prefix(node, fields, negated=negated)
        stems = self.stems(node.text)
        if not stems:
            if re.search(r"\w", node.text):
                self.dropped_stopwords = True
            return None
        if not negated:
            self.highlight.update(stems)
            if op == "word" and fld is None and len(stems) == 1:
                self.words.append((node, stems))
        if len(stems) == 1:
            subs: list[wq.Query] = [wq.Term(f, stems[0]) for f in fields]
        else:
            subs = [_Phrase(f, stems) for f in fields]
        return wq.Or(subs) if len(subs) > 1 else subs[0]

    def compile_filter(self, fld: str, value: str) -> wq.Query:
        folded = fold(value)
        if not folded:
            raise _err(
                f"Le filtre « {fld} » n'a pas de valeur ; écrivez par exemple "
                "type:convention ou region:11."
            )
        return _filter_term(fld, folded)

    def compile_prefix(self, node: _Node, fields: Sequence[str], *, negated: bool) -> wq.Query:
        self.prefixes += 1
        if self.prefixes > MAX_PREFIXES:
            raise _err(
                f"La recherche contient trop de troncatures * ({MAX_PREFIXES} au plus) ; "
                "retirez-en."
            )
        base = fold(node.text).translate(_APOSTROPHES)
        m = _ELISION_RE.match(base)
        if m:
            base = base[m.end() :]
        if len(base) < MIN_PREFIX_LENGTH or not re.fullmatch(r"\w+", base):
            raise _err(
                f"Une troncature * demande au moins {MIN_PREFIX_LENGTH} lettres avant l'étoile, "
                "par exemple conven*."
            )
        # Expand over the unstemmed word lists (spell_*), then stem: "region*"
        # then finds "régionales" whose stem "regional" is not a prefix match.
        words: set[str] = set()
        for f in fields:
            spell = self.searcher.schema[f].spelling_fieldname(f)
            if spell not in self.reader.indexed_field_names():
                continue
            for raw in self.reader.expand_prefix(spell, base):
                words.add(raw.decode("utf-8") if isinstance(raw, bytes) else raw)
                # Bounded: at most MAX_PREFIX_EXPANSION words, whatever the prefix.
                if len(words) >= MAX_PREFIX_EXPANSION:
                    break
        stems = sorted({s for w in words for s in self.stems(w)})
        if not negated:
            self.highlight.update(stems)
        if not stems:
            return wq.NullQuery
        return wq.Or([wq.Term(f, s) for f in fields for s in stems])


# --------------------------------------------------------------------------
# Highlighting
# --------------------------------------------------------------------------


# Length-preserving fold used only to find candidate words quickly: every
# character maps to exactly one character, so offsets stay those of the text.
_GATE_MAP: dict[int, str] = {k: v for k, v in accent_map.items() if isinstance(v, str) and len(v) == 1}
_GATE_MAP.update({ord("œ"): "o", ord("Œ"): "o", ord("æ"): "a", ord("Æ"): "a"})
_GATE_LEN = 3


class _Highlighter:
    """Finds the words of a text whose stem is one of the query's, and formats them.

    Re-analysing a whole document with the stemmer is the cost of a search
    page (measured: ~15 ms per 2,000-word text).  Here a regex over a folded
    copy first picks the words that start like a query stem (stems are
    prefixes of the folded word), and only those go through the analyzer.
    Every piece of document text is HTML-escaped; only our ``<mark>`` is markup.
    """

    def __init__(self, terms: Collection[str], analyzer: CompositeAnalyzer) -> None:
        self.terms = frozenset(terms)
        self.analyzer = analyzer
        self.cache: dict[str, bool] = {}
        gates = sorted({t[:_GATE_LEN] for t in self.terms if t}, key=lambda g: (-len(g), g))
        self.pattern = (
            re.compile(r"(?<!\w)(?:%s)\w*" % "|".join(map(re.escape, gates)), re.IGNORECASE)
            if gates
            else None
        )

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Character spans of the matching words in ``text``."""
        if self.pattern is None or not text:
            return []
        out = []
        for m in self.pattern.finditer(text.translate(_GATE_MAP)):
            word = text[m.start() : m.end()]
            key = word.lower()
            hit = self.cache.get(key)
            if hit is None:
                hit = any(t.text in self.terms for t in self.analyzer(word))
                self.cache[key] = hit
            if hit:
                out.append((m.start(), m.end()))
        return out

    @staticmethod
    def mark(text: str, spans: Sequence[tuple[int, int]], start: int, end: int) -> str:
        """Escaped ``text[start:end]`` with ``<mark>`` around the spans inside it."""
        out, pos = [], start
        for a, b in spans:
            if a < pos or b > end:
                continue
            out.append(html.escape(text[pos:a], quote=True))
            out.append("<mark>%s</mark>" % html.escape(text[a:b], quote=True))
            pos = b
        out.append(html.escape(text[pos:end], quote=True))
        return "".join(out)

    def whole(self, text: str) -> str | None:
        """The whole (short) text with marks, or None if nothing matches."""
        spans = self.spans(text)
        return self.mark(text, spans, 0, len(text)) if spans else None

    def snippet(self, text: str, *, maxchars: int = 200, surround: int = 60, top: int = 3) -> str | None:
        """Up to ``top`` fragments around the densest groups of matches, or None."""
        text = text[:HIGHLIGHT_TEXT_CAP]
        spans = self.spans(text)
        if not spans:
            return None
        groups: list[list[tuple[int, int]]] = []
        for span in spans:
            if groups and span[1] - groups[-1][0][0] <= maxchars:
                groups[-1].append(span)
            else:
                groups.append([span])

        def richness(g: list[tuple[int, int]]) -> tuple[int, int, int]:
            distinct = len({text[a:b].lower() for a, b in g})
            return (-distinct, -len(g), g[0][0])

        best = sorted(sorted(groups, key=richness)[:top], key=lambda g: g[0][0])
        windows: list[list[int]] = []
        for g in best:
            a = max(0, g[0][0] - surround)
            b = min(len(text), g[-1][1] + surround)
            # Cut at spaces so that words are not sliced.
            if a > 0:
                sp = text.find(" ", a, g[0][0])
                a = sp + 1 if sp >= 0 else a
            if b < len(text):
                sp = text.rfind(" ", g[-1][1], b)
                b = sp if sp >= 0 else b
            if windows and a <= windows[-1][1]:
                windows[-1][1] = max(windows[-1][1], b)
            else:
                windows.append([a, b])
        parts = [" ".join(self.mark(text, spans, a, b).split()) for a, b in windows]
        out = " … ".join(parts)
        if windows[0][0] > 0:
            out = "… " + out
        if windows[-1][1] < len(text):
            out += " …"
        return out


def _plain_snippet(text: str) -> str:
    text = " ".join(text[: SNIPPET_FALLBACK_CHARS * 2].split())
    if len(text) > SNIPPET_FALLBACK_CHARS:
        text = text[:SNIPPET_FALLBACK_CHARS].rsplit(" ", 1)[0] + " …"
    return html.escape(text, quote=True)


# --------------------------------------------------------------------------
# Search
# --------------------------------------------------------------------------

TextFor = Callable[[Sequence[str]], Mapping[str, str]]


def _filter_term(fld: str, folded: str) -> wq.Query:
    """One filter value; a current region also matches its predecessors (region:76 finds 91 and 73)."""
    if fld == "region":
        codes = sorted(covered_codes(folded))
        if len(codes) > 1:
            return wq.Or([wq.Term(fld, code) for code in codes])
    return wq.Term(fld, folded)


def _filters_query(filters: Mapping[str, str | Sequence[str]] | None) -> list[wq.Query]:
    out: list[wq.Query] = []
    for key, value in (filters or {}).items():
        fld = FIELD_ALIASES.get(fold(key))
        if fld is None or fld in _TEXT_FIELDS:
            raise _err(f"Le filtre « {key} » n'existe pas.")
        values = [value] if isinstance(value, str) else list(value)
        terms = [_filter_term(fld, fold(str(v))) for v in values if fold(str(v))]
        if terms:
            out.append(wq.Or(terms) if len(terms) > 1 else terms[0])
    return out


def _hit_value(fields: Mapping[str, object], name: str) -> str:
    value = fields.get(name)
    return str(value) if value is not None else ""


def _int_or_none(value: object) -> int | None:
    try:
        return int(str(value)) if value not in (None, "") else None
    except ValueError:
        return None


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        return self.end - time.monotonic()

    def passed(self) -> bool:
        return self.left() <= 0


class _DeadlineCollector(collectors.WrappingCollector):
    """Raises ``TimeLimit`` once the deadline has passed, checked every few documents."""

    def __init__(self, child: collectors.Collector, deadline: _Deadline,
                 record: list[int] | None = None) -> None:
        self.child = child
        self.deadline = deadline
        self.record = record
        self.seen = 0

    def collect(self, sub_docnum: int):  # type: ignore[no-untyped-def]
        self.seen += 1
        if self.seen % 32 == 0 and self.deadline.passed():
            raise collectors.TimeLimit
        if self.record is not None:
            self.record.append(self.child.offset + sub_docnum)
        return self.child.collect(sub_docnum)

    def collect_matches(self) -> None:
        # Route every match through collect() so that the check runs even
        # when no filter collector sits above us.
        for sub_docnum in self.child.matches():
            self.collect(sub_docnum)


def _has_phrase(q: wq.Query) -> bool:
    return any(isinstance(sub, wq.Phrase) for sub in q.leaves()) or isinstance(q, wq.Phrase)


def _docset(searcher: Searcher, scope_filter: wq.Query | None, deadline: _Deadline) -> set[int] | None:
    """Document numbers the scope allows (None = all), from the region postings."""
    if scope_filter is None:
        return None
    return set(searcher.docs_for_query(scope_filter))


def _term_docs(leaf: Searcher, q: wq.Term) -> set[int]:
    """Segment document numbers of one term, read a posting block at a time.

    ``Matcher.all_ids`` calls ``is_active``/``id``/``next`` for every posting (about
    40 ms for four terms of 19,000 documents at 20k); a posting block already holds
    its document numbers as one array. This reads those arrays from Whoosh's own
    W3 leaf matcher (whoosh-reloaded is pinned); deleted documents are taken out as
    Whoosh's filter would. Any other matcher goes through ``all_ids``.
    """
    matcher = q.matcher(leaf)
    excluded: Collection[int] = ()
    if type(matcher) is wrappers.FilterMatcher and matcher._exclude:  # deleted documents
        excluded, matcher = matcher._ids, matcher.child
    out: set[int] = set()
    if type(matcher) is W3LeafMatcher:
        while matcher.is_active():
            if matcher._ids is None:
                matcher._read_ids()
            out.update(matcher._ids[matcher._i:])  # from the current posting (a filter may have moved it)
            matcher._next_block()
    else:
        out.update(matcher.all_ids())
    return out.difference(excluded) if excluded else out


def _docs_of(leaf: Searcher, q: wq.Query, deadline: _Deadline) -> set[int]:
    """Segment document numbers matching ``q``: set algebra over the terms' posting lists.

    Stepping an intersection of unions in Python costs several calls per
    posting; one ``all_ids`` per term and C-level set operations do not.
    Any other query type goes through its own Whoosh matcher.
    """
    if deadline.passed():
        raise collectors.TimeLimit
    if type(q) is wq.And and q.subqueries:
        parts = sorted((_docs_of(leaf, sub, deadline) for sub in q.subqueries), key=len)
        return parts[0].intersection(*parts[1:])
    if type(q) is wq.Or and q.subqueries and not getattr(q, "minmatch", 0):
        return set().union(*(_docs_of(leaf, sub, deadline) for sub in q.subqueries))
    if type(q) is wq.AndNot:
        return _docs_of(leaf, q.a, deadline) - _docs_of(leaf, q.b, deadline)
    if type(q) is wq.Term:
        return _term_docs(leaf, q)
    return set(q.docs(leaf))


def _matching_docs(searcher: Searcher, q: wq.Query, allowed: set[int] | None, deadline: _Deadline) -> list[int]:
    """Every allowed match of ``q``, unscored."""
    out: list[int] = []
    for leaf, offset in searcher.leaf_searchers():
        docs = _docs_of(leaf, q, deadline)
        out.extend(d + offset for d in docs if allowed is None or d + offset in allowed)
    return out


def _top(searcher: Searcher, q: wq.Query, allowed: set[int] | None, deadline: _Deadline, *, limit: int,
         sortedby: sorting.FacetType | None, record: list[int] | None):  # type: ignore[no-untyped-def]
    """The first ``limit`` allowed matches, best first (or by ``sortedby``)."""
    if sortedby is not None:
        top: collectors.Collector = collectors.SortingCollector(sortedby, limit=limit)
    else:
        # Block skipping would leave matches unrecorded: off when recording.
        top = collectors.TopCollector(limit=limit, usequality=record is None)
    # The deadline check sits INSIDE the scope filter.  Whoosh's own
    # TimeLimitCollector cannot be used here: wrapped around a filtered
    # collector it iterates the raw matches and bypasses the filter, so a
    # regional user would see every region (caught by the scope tests).
    timed = collectors.FilterCollector(_DeadlineCollector(top, deadline, record), allowed)
    searcher.search_with_collector(q, timed)
    return timed.results()


_FACET_COLUMNS: weakref.WeakKeyDictionary[Searcher, dict[str, list[object]]] = weakref.WeakKeyDictionary()
_FACET_LOCK = threading.Lock()


def _facet_columns(searcher: Searcher) -> dict[str, list[object]]:
    """The facet fields' values of every document, read once per searcher (from the sortable columns)."""
    with _FACET_LOCK:
        cached = _FACET_COLUMNS.get(searcher)
    if cached is not None:
        return cached
    columns: dict[str, list[object]] = {}
    for name in FACET_FIELDS:
        values: list[object] = []
        for leaf, offset in searcher.leaf_searchers():
            reader = leaf.reader()
            values.extend([None] * (offset - len(values)))
            values.extend(reader.column_reader(name) if reader.doc_count_all() else ())
        columns[name] = values
    with _FACET_LOCK:
        _FACET_COLUMNS[searcher] = columns
    return columns


def _count_facets(searcher: Searcher, docnums: Sequence[int]) -> dict[str, tuple[FacetValue, ...]]:
    """All the facets in one pass per field over the matched document numbers."""
    out: dict[str, tuple[FacetValue, ...]] = {}
    columns = _facet_columns(searcher)
    for name in FACET_FIELDS:
        counts = Counter(map(columns[name].__getitem__, docnums))
        out[name] = tuple(
            FacetValue(str(k), int(v))
            for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))
            if k is not None and k != ""
        )
    return out


def _timeout_error() -> SearchTimeout:
    return SearchTimeout(
        "La recherche a pris trop de temps ; précisez-la avec des mots plus rares ou un filtre."
    )


def search(
    index: SearchIndex,
    query: str,
    *,
    scope: SearchScope,
    filters: Mapping[str, str | Sequence[str]] | None = None,
    sort: Literal["relevance", "date"] = "relevance",
    page: int = 1,
    per_page: int = 20,
    text_for: TextFor | None = None,
    suggest: bool = True,
    time_limit: float = DEFAULT_TIME_LIMIT,
    exclude_ids: Collection[str] = (),
) -> SearchResults:
    """Run a user query restricted to ``scope``; results, counts, facets, snippets and suggestion all respect it.

    ``exclude_ids`` are entry ids left out of every count (the drafting models by default).
    """
    if not isinstance(scope, SearchScope):
        raise TypeError("scope must be a SearchScope")
    deadline = _Deadline(time_limit)
    # Normalised once here so that suggestion spans index the same string.
    query = unicodedata.normalize("NFC", query)
    tree = parse_query(query)
    page = max(1, int(page))
    per_page = min(max(1, int(per_page)), MAX_PER_PAGE)
    if page * per_page > MAX_RESULT_WINDOW:
        raise _err(
            f"Seuls les {MAX_RESULT_WINDOW} premiers résultats sont consultables ; "
            "précisez la recherche ou ajoutez un filtre."
        )
    if sort not in ("relevance", "date"):
        raise _err("Le tri demandé n'existe pas : choisissez pertinence ou date.")
    extra = _filters_query(filters)
    scope_filter = scope.as_filter()
    empty = SearchResults(query=query, total=0, page=page, per_page=per_page, hits=(), facets={})
    if scope_filter is wq.NullQuery:
        return empty

    with index.searchers.searcher() as searcher:
        compiler = _Compiler(searcher)
        compiled = compiler.compile(tree)
        notices: list[str] = []
        if compiler.dropped_stopwords:
            notices.append("Les mots trop courants (le, de, pour…) sont ignorés.")
        if compiled is None:
            return SearchResults(
                query=query, total=0, page=page, per_page=per_page, hits=(), facets={},
                notices=tuple(notices),
            )
        full = wq.And([compiled, *extra]) if extra else compiled
        if exclude_ids:
            # Not part of the scope: a scope is a set of allowed docnums, which would turn the
            # national users' fast path off; AndNot is a plain set difference in ``_docs_of``.
            full = wq.AndNot(full, wq.Or([wq.Term("id", i) for i in sorted(exclude_ids)]))
        try:
            allowed = _docset(searcher, scope_filter, deadline)
            if allowed is None and sort == "relevance" and not _has_phrase(full):
                # Two cheap passes instead of one scored pass over every match:
                # the unscored match list gives the exact total and facets, and
                # the top-N collector may then skip blocks that cannot enter
                # the page (Whoosh's block quality), as bare Whoosh does.
                # Under a regional scope only the allowed matches are scored,
                # so the single recording pass below is the cheaper one.
                matched = _matching_docs(searcher, full, allowed, deadline)
                results = _top(searcher, full, allowed, deadline, limit=page * per_page, sortedby=None,
                               record=None)
            else:
                # Sorting by date or checking phrase positions visits every
                # match anyway: one pass that records the allowed matches.
                matched = []
                sortedby = sorting.FieldFacet("date", reverse=True) if sort == "date" else None
                results = _top(searcher, full, allowed, deadline, limit=page * per_page, sortedby=sortedby,
                               record=matched)
        except collectors.TimeLimit:
            raise _timeout_error() from None
        if deadline.passed():
            raise _timeout_error()
        total = len(matched)
        facet_values = _count_facets(searcher, matched)
        page_hits = list(results)[(page - 1) * per_page : page * per_page]
        ids = [h["id"] for h in page_hits]
        texts: Mapping[str, str] = text_for(ids) if (text_for and ids) else {}
        highlighter = _Highlighter(compiler.highlight, searcher.schema["text"].analyzer)
        hits: list[SearchHit] = []
        for h in page_hits:
            stored = h.fields()
            title = _hit_value(stored, "title")
            text = texts.get(h["id"], "") or ""
            title_html = snippet = None
            if not deadline.passed():
                # Past the deadline, snippets degrade to plain text rather than fail.
                title_html = highlighter.whole(title)
                snippet = highlighter.snippet(text)
            hits.append(
                SearchHit(
                    id=h["id"],
                    kind=_hit_value(stored, "kind"),
                    title=title,
                    type=_hit_value(stored, "type"),
                    region=_hit_value(stored, "region"),
                    year=_int_or_none(stored.get("year")),
                    status=_hit_value(stored, "status"),
                    version=_int_or_none(stored.get("version")),
                    date=stored.get("date"),  # type: ignore[arg-type]
                    score=float(h.score or 0.0),
                    title_html=title_html or html.escape(title, quote=True),
                    snippet_html=snippet or _plain_snippet(text),
                )
            )
        suggestion = None
        if suggest and total == 0 and compiler.words and not deadline.passed():
            suggestion = _suggest(searcher, query, compiler, extra, scope_filter, deadline)
    return SearchResults(
        query=query,
        total=total,
        page=page,
        per_page=per_page,
        hits=tuple(hits),
        facets=facet_values,
        suggestion=suggestion,
        notices=tuple(notices),
    )


def _allowed_hits(searcher: Searcher, q: wq.Query, scope_filter: wq.Query | None) -> bool:
    return searcher.search(q, limit=1, filter=scope_filter).scored_length() > 0


def _suggest(
    searcher: Searcher,
    query: str,
    compiler: _Compiler,
    extra: list[wq.Query],
    scope_filter: wq.Query | None,
    deadline: _Deadline,
) -> str | None:
    """A corrected query string whose words all occur in documents of the scope."""
    corrector = searcher.corrector("text")
    title_corrector = searcher.corrector("title")
    replacements: list[tuple[_Node, str]] = []
    for node, stems in compiler.words[:5]:
        word_q = wq.Or([wq.Term(f, stems[0]) for f in _TEXT_FIELDS])
        if _allowed_hits(searcher, word_q, scope_filter):
            continue  # the word is fine where the user may look
        folded = fold(node.text)
        candidates: list[str] = []
        for c in (*corrector.suggest(folded, limit=5), *title_corrector.suggest(folded, limit=3)):
            if c not in candidates and c != folded:
                candidates.append(c)
        for cand in candidates[:6]:
            if deadline.passed():
                return None
            cand_stems = compiler.stems(cand)
            if len(cand_stems) != 1:
                continue
            cand_q = wq.Or([wq.Term(f, cand_stems[0]) for f in _TEXT_FIELDS])
            # Candidates come from the whole index: keep only those the user may see.
            if _allowed_hits(searcher, cand_q, scope_filter):
                replacements.append((node, cand))
                break
    if not replacements:
        return None
    out = query
    for node, cand in sorted(replacements, key=lambda r: r[0].start, reverse=True):
        out = out[: node.start] + cand + out[node.end :]
    # Propose it only if the whole corrected query finds something allowed.
    try:
        tree = parse_query(out)
        check = _Compiler(searcher).compile(tree)
    except SearchQueryError:
        return None
    if check is None or not _allowed_hits(searcher, wq.And([check, *extra]), scope_filter):
        return None
    return out
