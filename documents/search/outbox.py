"""The search outbox: rows waiting for the indexer, applied in batches (``drain``).

The archive verbs never touch the index: each change writes an ``IndexOutbox`` row in
the same transaction (``documents.archive.enqueue``).  One indexer process applies the
rows in batches (``documents.search.worker.run_indexer``), so several web workers never
fight for the index writer and a killed worker loses nothing:

- rows are applied from the *current* database state (an upsert of a trashed or purged
  document becomes a delete), so replaying a row is harmless;
- a row is deleted only after the index commit that applied it; a crash in between
  replays it;
- every drain and every rebuild holds an exclusive lock file (``drain.lock``).
"""

from __future__ import annotations

import dataclasses
import fcntl
import logging
import os
import time
from collections.abc import Collection, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from documents.errors import DomainError
from documents.models import IndexOutbox
from documents.search.common import IndexBusy, entry_id
from documents.search.engines import AnyIndex, writing
from documents.search.sources import IndexSource, by_type
from documents.unitofwork import unit_of_work

# The indexer logs under one stable name, whatever module of it speaks (operators filter on it).
logger = logging.getLogger("documents.indexer")

#: A row that failed this many times is left aside (``intranet check`` reports it).
MAX_ATTEMPTS = 5
DEFAULT_BATCH = 200
#: File in the index root, beside the generations of ``documents.search``.
DRAIN_LOCK = "drain.lock"

SessionFactory = sessionmaker[Session]


# --------------------------------------------------------------------------- lock files


@contextmanager
def flock(path: Path, *, timeout: float | None, message: str,
          error: type[DomainError] = IndexBusy) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (``error`` after ``timeout`` seconds; None waits)."""
    # flock locks belong to the open file description: two threads of one process
    # that open the file separately exclude each other too, and the kernel drops
    # the lock when a killed process's descriptors close.
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if deadline is not None and time.monotonic() >= deadline:
                    raise error(message) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def drain_lock(root: Path, timeout: float | None) -> AbstractContextManager[None]:
    """The exclusive lock of drains and rebuilds on the index at ``root``."""
    return flock(root / DRAIN_LOCK, timeout=timeout,
                 message="L'index de recherche est en cours de mise à jour ou de reconstruction ; "
                         "réessayez dans un instant.")


# --------------------------------------------------------------------------- the drain


@dataclass
class DrainReport:
    """What a drain applied."""

    rows: int = 0
    upserts: int = 0
    deletes: int = 0
    failed: int = 0
    batches: int = 0

    def add(self, other: DrainReport) -> None:
        """Accumulate another report into this one."""
        for f in dataclasses.fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


def _pending_query(types: Collection[str]) -> Select[int]:
    return select(IndexOutbox.id).where(IndexOutbox.attempts < MAX_ATTEMPTS,
                                        IndexOutbox.object_type.in_(list(types)))


def pending_count(session: Session) -> int:
    """Outbox rows waiting for the indexer (failed rows included)."""
    return session.scalar(select(func.count()).select_from(IndexOutbox)) or 0


def _apply_batch(factory: SessionFactory, index: AnyIndex, sources: Mapping[str, IndexSource], *,
                 batch_size: int, timeout: float) -> tuple[DrainReport, bool]:
    """Apply one batch; also says whether the outbox had more rows than the batch."""
    report = DrainReport(batches=1)
    full = False
    # One cycle of the job is one unit of work: the outbox rows it applied go with its commit.
    with unit_of_work(factory) as session:
        failures: dict[tuple[str, int], str] = {}
        groups: dict[tuple[str, int], list[int]] = {}
        # The writer lock is taken before reading the outbox and the database, so that
        # the state written is never older than the state another drain wrote before.
        with writing(index, timeout=timeout) as writer:
            rows = session.execute(
                select(IndexOutbox.id, IndexOutbox.object_type, IndexOutbox.object_id)
                .where(IndexOutbox.id.in_(_pending_query(sources).order_by(IndexOutbox.id).limit(batch_size)))
                .order_by(IndexOutbox.id)
            ).all()
            full = len(rows) >= batch_size
            for row_id, object_type, object_id in rows:
                # Coalesce: ten edits of one document cost one index update.
                groups.setdefault((object_type, object_id), []).append(row_id)
            by_type: dict[str, list[int]] = {}
            for object_type, object_id in groups:
                by_type.setdefault(object_type, []).append(object_id)
            for object_type, ids in by_type.items():
                source = sources[object_type]
                try:
                    built = dict(source.build(session, ids))
                except Exception:  # noqa: BLE001 - isolate the failing object, keep the others
                    session.rollback()
                    built = {}
                    for object_id in ids:
                        try:
                            built.update(source.build(session, [object_id]))
                        except Exception as exc:  # noqa: BLE001 - counted, retried, then reported by check
                            session.rollback()
                            logger.exception("indexing %s %s failed", object_type, object_id)
                            failures[(object_type, object_id)] = f"{type(exc).__name__}: {exc}"[:2000]
                for object_id in ids:
                    if (object_type, object_id) in failures:
                        continue
                    entry = built.get(object_id)
                    if entry is None:
                        writer.delete(entry_id(object_type, object_id))
                        report.deletes += 1
                    else:
                        writer.upsert(entry)
                        report.upserts += 1
            # End the read transaction before the (slow) index commit.
            session.rollback()
        applied = [rid for key, rids in groups.items() if key not in failures for rid in rids]
        if applied:
            session.execute(delete(IndexOutbox).where(IndexOutbox.id.in_(applied)))
        for key, message in failures.items():
            session.execute(update(IndexOutbox).where(IndexOutbox.id.in_(groups[key]))
                            .values(attempts=IndexOutbox.attempts + 1, last_error=message))
        report.rows = len(applied)
        report.failed = len(failures)
    return report, full


def drain_locked(factory: SessionFactory, index: AnyIndex, *, batch_size: int, timeout: float,
                  max_batches: int | None, sources: Iterable[IndexSource] | None = None) -> DrainReport:
    """``drain`` once the drain lock is held (a rebuild replays the outbox with it)."""
    total = DrainReport()
    known = by_type(sources)
    while max_batches is None or total.batches < max_batches:
        session = factory()
        try:
            # A cheap look first: an empty outbox must not cost a Whoosh commit.
            waiting = session.scalar(_pending_query(known).limit(1))
        finally:
            session.close()
        if waiting is None:
            break
        report, full = _apply_batch(factory, index, known, batch_size=batch_size, timeout=timeout)
        total.add(report)
        if not full or report.rows == 0:
            break  # drained; failing rows wait for the next cycle
    return total


def drain(factory: SessionFactory, index: AnyIndex, *, batch_size: int = DEFAULT_BATCH,
          timeout: float = 10.0, max_batches: int | None = None, lock_timeout: float | None = None,
          sources: Iterable[IndexSource] | None = None) -> DrainReport:
    """Apply waiting outbox rows to the index in batches; each row is deleted after the index commit.

    ``sources`` (default: the registry ``documents.search.sources.SOURCES``) are the object types applied.
    """
    with drain_lock(index.root, timeout if lock_timeout is None else lock_timeout):
        return drain_locked(factory, index, batch_size=batch_size, timeout=timeout, max_batches=max_batches,
                            sources=sources)

