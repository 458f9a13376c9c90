"""Full rebuilds of the search index from the database, and the "needs a rebuild" marker.

``reindex_all`` builds a new generation while holding the drain lock, so rows that
arrive meanwhile wait in the outbox and are replayed after the swap.  Entries are
built in chunks with plain column queries (``documents.search.sources``) while the
engine's own threads analyse the previous ones.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from documents.search.common import IndexEntry
from documents.search.engines import AnyIndex, open_index, rebuild
from documents.search.outbox import DEFAULT_BATCH, DrainReport, SessionFactory, drain_lock, drain_locked
from documents.search.sources import IndexSource, by_type

#: File in the index root saying that the index was recreated empty and must be rebuilt.
REINDEX_MARKER = "NEEDS_REINDEX"


def _marker(root: Path) -> Path:
    return Path(root) / REINDEX_MARKER


def needs_reindex(root: str | os.PathLike[str]) -> bool:
    """True when the index was recreated empty and waits for a full rebuild."""
    return _marker(Path(root)).exists()


def ensure_index(root: str | os.PathLike[str]) -> AnyIndex:
    """Open the index, recreating a missing or corrupted one (then flagged for a full rebuild)."""
    index = open_index(root, create=True)
    if index.needs_reindex:
        _marker(Path(root)).write_text("1", encoding="ascii")
    return index


def count_indexable(session: Session) -> int:
    """How many entries a full rebuild writes (for a progress bar)."""
    total = 0
    for source in by_type().values():
        for ids in source.batches(session):
            total += len(ids)
    return total


def all_entries(factory: SessionFactory, sources: Iterable[IndexSource]) -> Iterator[IndexEntry]:
    """Every entry of every source, read chunk by chunk in one session per source."""
    for source in sources:
        session = factory()
        try:
            for ids in source.batches(session):
                built = source.build(session, ids)
                for object_id in ids:
                    entry = built.get(object_id)
                    if entry is not None:
                        yield entry
                # Keep memory flat over a large archive.
                session.expunge_all()
        finally:
            session.close()


@dataclass
class ReindexReport:
    """Outcome of a full rebuild."""

    count: int
    replayed: DrainReport
    seconds: float


def reindex_all(factory: SessionFactory, root: str | os.PathLike[str], *, procs: int = 2,
                progress: Callable[[int], None] | None = None, lock_timeout: float = 120.0,
                limitmb: int = 128, backend: str | None = None,
                sources: Iterable[IndexSource] | None = None) -> ReindexReport:
    """Rebuild the whole index into a new generation (swapped in atomically), then replay the outbox.

    ``backend`` (``tantivy`` | ``whoosh``, default ``SEARCH_BACKEND``) is the engine of the new generation;
    ``sources`` (default: the registry) the object types indexed.
    """
    root = Path(root)
    start = time.perf_counter()
    root.mkdir(parents=True, exist_ok=True)
    known = list(by_type(sources).values())
    # Drains wait while we rebuild: rows written meanwhile stay in the outbox and are
    # replayed below, into the new generation.
    with drain_lock(root, lock_timeout):
        count = rebuild(root, all_entries(factory, known), procs=max(1, procs), progress=progress,
                        progress_every=50, limitmb=limitmb, backend=backend)
        _marker(root).unlink(missing_ok=True)
        index = open_index(root, create=False)
        try:
            replayed = drain_locked(factory, index, batch_size=DEFAULT_BATCH, timeout=30.0, max_batches=None,
                                    sources=known)
        finally:
            index.close()
    return ReindexReport(count=count, replayed=replayed, seconds=time.perf_counter() - start)
