"""Whoosh index lifecycle: generations swapped atomically, writer sessions, rebuild, cached searchers."""

from __future__ import annotations

import gc
import logging
import os
import re
import shutil
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3PerDocReader
from whoosh.filedb.filestore import FileStorage
from whoosh.index import Index, LockError
from whoosh.searching import Searcher

from documents.search.analysis import build_schema
from documents.search.common import SCHEMA_VERSION, IndexBusy, IndexEntry, SearchIndexError

logger = logging.getLogger(__name__)

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

    engine = "whoosh"

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
            return int(s.doc_count())

    def stored_by_id(self) -> dict[str, dict[str, object]]:
        """Every entry's stored fields, by id (for ``intranet check``)."""
        with self.searchers.searcher() as searcher:
            return {f["id"]: f for f in searcher.all_stored_fields() if "id" in f}

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
        self._writer.update_document(**entry.to_fields())  # type: ignore[attr-defined]  # Whoosh has no type information
        self.upserts += 1

    def delete(self, entry_id: str) -> None:
        """Remove the entry with this id (no error if it is absent)."""
        self._writer.delete_by_term("id", entry_id)  # type: ignore[attr-defined]  # Whoosh has no type information
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
    mmap, see ``_storage``) each ask is a seek and a one-byte read, and a
    phrase query scoring 20,000 matches spent a fifth of its time there. The length
    columns hold one byte per document (20 KB per field at 20,000 documents): they
    are read once per searcher, in one read each, and handed to Whoosh's own reader
    as the ``bytes`` it indexes the same way (same bytes, same scores; tested).
    """
    searcher = ix.searcher()
    for leaf, _offset in searcher.leaf_searchers():
        perdoc = getattr(leaf.reader(), "_perdoc", None)
        if perdoc is None or type(perdoc) is not W3PerDocReader:
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
