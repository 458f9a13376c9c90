"""The tantivy engine: same entries, query language, scope, counts and snippets as Whoosh.

A generation folder holds one tantivy index plus ``SCHEMA_VERSION`` and
``ENGINE`` (``tantivy``); the generation swap, the pointer file and the
outbox are shared with the Whoosh engine (``whoosh_index``).  French analysis
runs inside tantivy: a word tokenizer, lowercasing and ASCII folding before
the stop words (elided articles included: « l'école » is « l », « école »)
and the Snowball French stemmer.
"""

from __future__ import annotations

import fcntl
import gc
import logging
import os
import shutil
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import tantivy

from documents.search.analysis import _FOLDED_STOPWORDS
from documents.search.common import INDEX_TEXT_CAP, SCHEMA_VERSION, IndexBusy, IndexEntry, SearchIndexError
from documents.search.query import FACET_FIELDS
from documents.search.whoosh_index import _new_generation_name, _read_pointer, _write_pointer

logger = logging.getLogger(__name__)

ENGINE = "tantivy"
ENGINE_FILE = "ENGINE"
_SCHEMA_FILE = "SCHEMA_VERSION"
_WRITER_LOCK = "writer.lock"
#: Same weight of a title match as Whoosh's ``field_boost=3.0``.
TITLE_BOOST = 3.0
_ID_FIELDS = ("kind", "type", "region", "year", "status", "version")
_MULTI_FIELDS = ("parties", "quartiers", "keywords")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _analyzer(*, stem: bool) -> tantivy.TextAnalyzer:
    builder = (
        # Words are runs of letters and digits (apostrophes, hyphens and underscores
        # separate): measured, the regex tokenizer cost twice as much for the same words.
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .filter(tantivy.Filter.custom_stopword(sorted(_FOLDED_STOPWORDS)))
        .filter(tantivy.Filter.remove_long(61))
    )
    if stem:
        builder = builder.filter(tantivy.Filter.stemmer("french"))
    return builder.build()


def _folded_analyzer() -> tantivy.TextAnalyzer:
    return (tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.raw()).filter(tantivy.Filter.lowercase())
            .filter(tantivy.Filter.ascii_fold()).build())


FRENCH = _analyzer(stem=True)
WORDS = _analyzer(stem=False)
FOLDED = _folded_analyzer()


def french_stems(text: str) -> list[str]:
    """Stems of ``text`` as the tantivy index holds them ("Régionales" -> "regional")."""
    return FRENCH.analyze(unicodedata.normalize("NFC", text))


class _StemAnalyzer:
    """The tantivy analysis with the call shape the highlighter expects (tokens with ``.text``)."""

    def __call__(self, text: str) -> list[SimpleNamespace]:
        return [SimpleNamespace(text=t) for t in french_stems(text)]


def build_schema() -> tantivy.Schema:
    """The tantivy schema (see ``IndexEntry``): filter fields folded, facets and dates fast."""
    sb = tantivy.SchemaBuilder()
    sb.add_text_field("id", stored=True, tokenizer_name="raw")
    for name in _ID_FIELDS:
        # Indexed folded (statut:signe finds "signé"); fast and stored as filed (facets show "signé").
        sb.add_text_field(name, stored=True, fast=name in FACET_FIELDS, tokenizer_name="folded")
    sb.add_text_field("title", stored=True, tokenizer_name="fr")
    sb.add_text_field("text", stored=False, tokenizer_name="fr")  # snippets come from the caller
    # Unstemmed words of title and text: prefix expansion and spelling suggestions.
    sb.add_text_field("words", stored=False, tokenizer_name="words", index_option="basic")
    for name in _MULTI_FIELDS:
        sb.add_text_field(name, stored=False, tokenizer_name="folded")
    sb.add_date_field("date", stored=True, indexed=False, fast=False)
    # Date order by microseconds: a tantivy date fast field keeps whole seconds only,
    # and two versions filed within a second must still come newest first.
    sb.add_integer_field("date_order", stored=False, indexed=False, fast=True)
    sb.add_date_field("updated", stored=True, indexed=False, fast=False)
    return sb.build()


def _register(ix: tantivy.Index) -> tantivy.Index:
    ix.register_tokenizer("fr", FRENCH)
    ix.register_tokenizer("words", WORDS)
    ix.register_tokenizer("folded", FOLDED)
    # Fast (facet) values keep the value as filed.
    ix.register_fast_field_tokenizer("folded", tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.raw()).build())
    return ix


def _document(entry: IndexEntry) -> tantivy.Document:
    fields = entry.to_fields()
    doc = tantivy.Document()
    for name in ("id", *_ID_FIELDS):
        if name in fields:
            doc.add_text(name, str(fields[name]))
    title = str(fields["title"])
    text = str(fields["text"])[:INDEX_TEXT_CAP]
    doc.add_text("title", title)
    doc.add_text("text", text)
    doc.add_text("words", title)
    doc.add_text("words", text)
    for name in _MULTI_FIELDS:
        for part in str(fields.get(name, "")).split(","):
            if part.strip():
                doc.add_text(name, part.strip())
    for name in ("date", "updated"):
        value = fields.get(name)
        if isinstance(value, datetime):
            aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value
            doc.add_date(name, aware)
            if name == "date":
                delta = aware - _EPOCH
                doc.add_integer("date_order", (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds)
    return doc


# --------------------------------------------------------------------------- generations


def is_tantivy_generation(path: Path) -> bool:
    """True if the generation folder holds a tantivy index."""
    try:
        return (path / ENGINE_FILE).read_text(encoding="ascii").strip() == ENGINE
    except OSError:
        return False


def _create_generation(root: Path) -> tuple[str, tantivy.Index]:
    name = _new_generation_name()
    path = root / name
    path.mkdir(parents=True)
    ix = _register(tantivy.Index(build_schema(), path=str(path), reuse=False))
    (path / _SCHEMA_FILE).write_text(str(SCHEMA_VERSION), encoding="ascii")
    (path / ENGINE_FILE).write_text(ENGINE, encoding="ascii")
    return name, ix


def _open_generation(root: Path, name: str) -> tantivy.Index:
    path = root / name
    version = (path / _SCHEMA_FILE).read_text(encoding="ascii").strip()
    if version != str(SCHEMA_VERSION) or not is_tantivy_generation(path):
        raise ValueError(f"not a tantivy index of schema version {SCHEMA_VERSION}")
    ix = _register(tantivy.Index.open(str(path)))
    # Reading every segment's metadata and the document count shows a
    # damaged index now, not in the middle of a user's search.
    searcher = ix.searcher()
    searcher.search(tantivy.Query.all_query(), 1, count=True)
    return ix


class TantivyIndex:
    """Handle on an index folder whose live generation is a tantivy index."""

    engine = ENGINE

    def __init__(self, root: Path, *, needs_reindex: bool = False) -> None:
        self.root = root
        #: True when the index was (re)created empty and must be fed again.
        self.needs_reindex = needs_reindex
        self._lock = threading.Lock()
        self._opened: tuple[str, tantivy.Index] | None = None

    def current(self) -> tuple[str, tantivy.Index]:
        """The live generation name and its tantivy index (reloaded to the last commit)."""
        name = _read_pointer(self.root)
        if name is None:
            raise SearchIndexError("L'index de recherche est introuvable ; lancez une réindexation complète.")
        with self._lock:
            if self._opened is None or self._opened[0] != name:
                try:
                    self._opened = (name, _register(tantivy.Index.open(str(self.root / name))))
                except Exception as exc:  # noqa: BLE001 - any failure means "unusable index"
                    logger.exception("cannot open search index generation %s", name)
                    raise SearchIndexError(
                        "L'index de recherche est illisible ; lancez une réindexation complète."
                    ) from exc
            ix = self._opened[1]
        ix.reload()
        return name, ix

    def searcher(self) -> tantivy.Searcher:
        """A searcher on the latest committed state."""
        return self.current()[1].searcher()

    def doc_count(self) -> int:
        """Number of entries in the live index."""
        return int(self.searcher().num_docs)

    def stored_by_id(self) -> dict[str, dict[str, object]]:
        """Every entry's stored fields, by id (for ``intranet check``)."""
        searcher = self.searcher()
        found = searcher.search(tantivy.Query.all_query(), max(1, searcher.num_docs), count=False)
        out: dict[str, dict[str, object]] = {}
        for _score, address in found.hits:
            fields = _stored(searcher.doc(address))
            out[str(fields["id"])] = fields
        return out

    def close(self) -> None:
        """Forget the opened generation (tantivy frees its files with the objects)."""
        with self._lock:
            self._opened = None

    def __enter__(self) -> TantivyIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _stored(doc: tantivy.Document) -> dict[str, object]:
    out: dict[str, object] = {}
    for name, values in doc.to_dict().items():
        if not values:
            continue
        value = values[0]
        if isinstance(value, datetime):
            value = value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
        out[name] = value
    return out


def open_index(root: Path, *, create: bool = True, broken: str | None = None) -> TantivyIndex:
    """Open the tantivy index at ``root``; a missing or broken one is recreated empty with ``needs_reindex``."""
    name = _read_pointer(root)
    if name is not None and broken is None:
        try:
            _open_generation(root, name)
            return TantivyIndex(root)
        except Exception as exc:  # noqa: BLE001 - corrupted or stale: rebuild, not crash
            logger.error("search index generation %s is unusable: %s", name, repr(exc))
            gc.collect()
    if not create:
        raise SearchIndexError(
            "L'index de recherche est illisible ; lancez une réindexation complète." if name
            else "L'index de recherche est introuvable ; lancez une réindexation complète."
        )
    root.mkdir(parents=True, exist_ok=True)
    new_name, _ = _create_generation(root)
    _write_pointer(root, new_name)
    if name is not None:
        shutil.rmtree(root / name, ignore_errors=True)
    logger.warning("search index at %s recreated empty; a full reindex is needed", root)
    return TantivyIndex(root, needs_reindex=True)


# --------------------------------------------------------------------------- writing


@contextmanager
def _writer_lock(path: Path, timeout: float) -> Iterator[None]:
    """One writer per generation, across processes and threads (``IndexBusy`` after ``timeout``)."""
    fd = os.open(path / _WRITER_LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        end = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= end:
                    raise IndexBusy(
                        "L'index de recherche est occupé par une autre écriture ; réessayez dans un instant."
                    ) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


class TantivyWriterSession:
    """Pending changes to the index; used through ``writing()``."""

    def __init__(self, writer: tantivy.IndexWriter) -> None:
        self._writer = writer
        self.upserts = 0
        self.deletes = 0

    def upsert(self, entry: IndexEntry) -> None:
        """Add the entry, or replace the one with the same id."""
        doc = _document(entry)
        self._writer.delete_documents_by_term("id", entry.id)
        self._writer.add_document(doc)
        self.upserts += 1

    def delete(self, entry_id: str) -> None:
        """Remove the entry with this id (no error if it is absent)."""
        self._writer.delete_documents_by_term("id", entry_id)
        self.deletes += 1


@contextmanager
def writing(index: TantivyIndex, *, timeout: float = 10.0) -> Iterator[TantivyWriterSession]:
    """Write to the index: commits at the end, cancels everything if the block raises."""
    while True:
        name, ix = index.current()
        with _writer_lock(index.root / name, timeout):
            # A rebuild may have swapped generations while we waited for the lock.
            if _read_pointer(index.root) != name:
                continue
            session = TantivyWriterSession(ix.writer(heap_size=64_000_000, num_threads=1))
            try:
                yield session
            except BaseException:
                session._writer.rollback()
                raise
            else:
                session._writer.commit()
                session._writer.wait_merging_threads()
            finally:
                # tantivy's own directory lock goes with the writer object: drop
                # it now, not when a traceback holding this frame is collected.
                session._writer = None  # type: ignore[assignment]  # tantivy has no type information for its writer slot
            return


def rebuild(root: Path, entries: Iterable[IndexEntry], *, procs: int = 1,
            progress: Callable[[int], None] | None = None, progress_every: int = 100,
            limitmb: int = 128) -> int:
    """Index ``entries`` into a fresh tantivy generation, then swap it in atomically; returns the count."""
    root.mkdir(parents=True, exist_ok=True)
    old_name = _read_pointer(root)
    new_name, ix = _create_generation(root)
    count = 0
    try:
        writer = ix.writer(heap_size=max(limitmb, 16) * 1_000_000, num_threads=max(1, procs))
        try:
            for entry in entries:
                writer.add_document(_document(entry))
                count += 1
                if progress is not None and count % progress_every == 0:
                    progress(count)
        except BaseException:
            writer.rollback()
            raise
        writer.commit()
        writer.wait_merging_threads()
        del writer
        _open_generation(root, new_name)
    except BaseException:
        shutil.rmtree(root / new_name, ignore_errors=True)
        raise
    _write_pointer(root, new_name)
    if progress is not None:
        progress(count)
    if old_name is not None and old_name != new_name:
        shutil.rmtree(root / old_name, ignore_errors=True)
    return count

