"""The indexer loop: one process applies the outbox every second and rebuilds when asked.

The loop holds ``indexer.lock`` so that two loops never run on the same index; it
outlives a bad cycle (database restart, full disk) and reopens a damaged index, which
is then recreated empty and rebuilt from the database.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

from documents.errors import DomainError
from documents.heartbeat import REBUILDING, RUNNING
from documents.search.common import IndexBusy, SearchIndexError
from documents.search.engines import AnyIndex
from documents.search.outbox import DEFAULT_BATCH, DrainReport, SessionFactory, drain, flock
from documents.search.rebuilding import ensure_index, needs_reindex, reindex_all

# The indexer logs under one stable name, whatever module of it speaks (operators filter on it).
logger = logging.getLogger("documents.indexer")

#: File in the index root held by the running loop.
INDEXER_LOCK = "indexer.lock"


class IndexerRunning(DomainError):
    """Another indexer loop already runs on this index."""

    status = 409


def run_indexer(factory: SessionFactory, root: str | os.PathLike[str], *, interval: float = 1.0,
                once: bool = False, stop: threading.Event | None = None, batch_size: int = DEFAULT_BATCH,
                procs: int = 2, on_cycle: Callable[[DrainReport], None] | None = None,
                heartbeat: Callable[[str], None] | None = None) -> DrainReport:
    """The single indexer: apply the outbox every ``interval`` seconds until ``stop`` (or once).

    ``heartbeat(state)`` is called at each cycle and during a full rebuild (``documents.heartbeat``),
    so that the web workers can tell whether the indexer runs and whether a rebuild is in progress.
    """
    root = Path(root)
    stop = stop or threading.Event()
    beat = heartbeat or (lambda _state: None)
    total = DrainReport()
    with flock(root / INDEXER_LOCK, timeout=0,
                message="Un indexeur tourne déjà pour cet index : un seul à la fois (arrêtez l'autre "
                        "ou attendez qu'il ait fini).", error=IndexerRunning):
        index: AnyIndex | None = None
        try:
            while True:
                beat(RUNNING)
                try:
                    if index is None:
                        index = ensure_index(root)
                    else:
                        index.current()  # raises if the folder vanished: reopened below
                    if needs_reindex(root):
                        logger.warning("search index at %s is being rebuilt", root)
                        beat(REBUILDING)
                        rebuilt = reindex_all(factory, root, procs=procs,
                                              progress=lambda _count: beat(REBUILDING))
                        total.add(rebuilt.replayed)
                        logger.warning("search index rebuilt: %d entries in %.1f s", rebuilt.count, rebuilt.seconds)
                        beat(RUNNING)
                    report = drain(factory, index, batch_size=batch_size)
                    total.add(report)
                    if on_cycle is not None:
                        on_cycle(report)
                    if report.rows:
                        logger.info("indexer applied %d outbox rows (%d upserts, %d deletes)",
                                    report.rows, report.upserts, report.deletes)
                except IndexBusy as exc:
                    logger.info("indexer waits: %s", exc.message)
                except SearchIndexError as exc:
                    logger.error("search index unusable, reopening: %s", exc.message)
                    if index is not None:
                        index.close()
                    index = None
                    if once:
                        continue  # recreate and rebuild now, then drain
                except Exception:  # noqa: BLE001 - the loop must outlive a bad cycle (DB restart, disk)
                    logger.exception("indexer cycle failed")
                    if index is not None:
                        index.close()
                    index = None  # reopened (and checked) next cycle
                    if once:
                        raise
                if once or stop.wait(interval):
                    break
        finally:
            if index is not None:
                index.close()
    return total

