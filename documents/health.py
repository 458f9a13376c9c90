"""The state of the background work, as ``/sante`` and the « État du système » page report it.

Everything here is read from what exists (the indexer's heartbeat file, the index outbox table,
the mail outbox folder, the data folder's disk), never assumed: a page that says « à jour »
while nothing indexes is worse than no page.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from documents import heartbeat
from documents.indexer import MAX_ATTEMPTS, needs_reindex
from documents.models import IndexOutbox

#: Below this much free space in the data folder the system is reported degraded.
LOW_DISK_BYTES = 1024 ** 3


@dataclass(frozen=True)
class IndexerStatus:
    """Whether the search indexer runs, from its heartbeat."""

    mode: str  # "worker" (a separate indexer process) or "synchronous" (tests, SEARCH_SYNC)
    alive: bool
    pid: int | None
    state: str | None  # heartbeat.RUNNING / REBUILDING, or None when it never beat
    heartbeat_at: dt.datetime | None
    heartbeat_age: float | None  # seconds
    started_at: dt.datetime | None
    rebuild_pending: bool  # the index was recreated empty and waits for a full rebuild

    @property
    def rebuilding(self) -> bool:
        """True only while a live indexer actually rebuilds the index."""
        return self.alive and self.state == heartbeat.REBUILDING


@dataclass(frozen=True)
class OutboxStatus:
    """The changes waiting for the indexer."""

    pending: int
    failed: int  # left aside after MAX_ATTEMPTS failures (``intranet check`` repairs them)
    oldest_pending_at: dt.datetime | None
    oldest_pending_age: float | None  # seconds


@dataclass(frozen=True)
class MailStatus:
    """Outgoing mail: the outbox table that the mail worker empties, and the backend it sends through."""

    backend: str  # "smtp" or "outbox"
    queue: int | None  # messages not yet sent (waiting, being sent or to retry); None: not read
    outbox_messages: int | None  # .eml files in the outbox folder (outbox backend only)
    failed: int = 0  # messages whose last attempt failed, retried later
    dead: int = 0  # messages given up after every attempt: an administrator retries them
    oldest_pending_age: float | None = None  # seconds since the oldest message not yet sent was queued


@dataclass(frozen=True)
class DiskStatus:
    """Space on the disk of the data folder."""

    free_bytes: int
    total_bytes: int

    @property
    def low(self) -> bool:
        """True when less than ``LOW_DISK_BYTES`` remain."""
        return self.free_bytes < LOW_DISK_BYTES


@dataclass(frozen=True)
class WorkerStatus:
    """Another background worker that records a heartbeat under its name."""

    name: str
    alive: bool
    pid: int | None
    heartbeat_age: float | None  # seconds; None: it never beat


@dataclass(frozen=True)
class SystemStatus:
    """Everything the health page reports."""

    checked_at: dt.datetime
    indexer: IndexerStatus
    outbox: OutboxStatus
    mail: MailStatus
    disk: DiskStatus
    workers: tuple[WorkerStatus, ...] = ()

    @property
    def problems(self) -> list[str]:
        """French sentences, one per thing that is wrong (empty when all is well)."""
        found = []
        if not self.indexer.alive:
            found.append(indexer_down_message(self.indexer))
        for worker in self.workers:
            if not worker.alive:
                since = (f"depuis {format_duration(worker.heartbeat_age)}" if worker.heartbeat_age is not None
                         else "(aucun signe de vie)")
                found.append(f"Le processus de fond « {worker.name} » ne tourne pas {since}.")
        if self.outbox.failed:
            found.append(f"{self.outbox.failed} modification(s) de l'index en échec : lancez « intranet check ».")
        if self.mail.dead:
            found.append(f"{self.mail.dead} courriel(s) abandonné(s) après plusieurs essais : "
                         "voyez « Courriels » dans l'administration pour les renvoyer.")
        if self.disk.low:
            found.append(f"Espace disque faible dans le dossier de données : {format_bytes(self.disk.free_bytes)} libres.")
        return found

    @property
    def ok(self) -> bool:
        """True when nothing is wrong."""
        return not self.problems

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready mapping (datetimes in ISO 8601 UTC, ages in seconds)."""
        def plain(value: Any) -> Any:
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items()}
            if isinstance(value, dt.datetime):
                return value.isoformat()
            if isinstance(value, float):
                return round(value, 1)
            return value

        data: dict[str, Any] = plain(asdict(self))
        data["workers"] = [plain(asdict(w)) for w in self.workers]
        data["indexer"]["rebuilding"] = self.indexer.rebuilding
        data["disk"]["low"] = self.disk.low
        data["status"] = "ok" if self.ok else "degraded"
        data["problems"] = self.problems
        return data


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    # SQLite gives naive datetimes (stored as UTC), PostgreSQL aware ones.
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)


def indexer_status(data_dir: str | os.PathLike[str], index_dir: str | os.PathLike[str], *,
                   synchronous: bool = False, stale_after: float = heartbeat.DEFAULT_STALE_AFTER,
                   now: dt.datetime | None = None) -> IndexerStatus:
    """The indexer's state from its heartbeat file (``synchronous``: the web process indexes itself)."""
    now = now or dt.datetime.now(dt.UTC)
    beat = heartbeat.read(data_dir, "indexer")
    fresh = beat is not None and beat.is_fresh(now, stale_after)
    return IndexerStatus(
        mode="synchronous" if synchronous else "worker",
        alive=synchronous or fresh,
        pid=beat.pid if beat else None,
        state=beat.state if beat else None,
        heartbeat_at=beat.at if beat else None,
        heartbeat_age=beat.age(now) if beat else None,
        started_at=beat.started_at if beat else None,
        rebuild_pending=needs_reindex(index_dir),
    )


def worker_status(data_dir: str | os.PathLike[str], name: str, *,
                  stale_after: float = heartbeat.DEFAULT_STALE_AFTER, now: dt.datetime | None = None) -> WorkerStatus:
    """Whether worker ``name`` runs, from its heartbeat file."""
    now = now or dt.datetime.now(dt.UTC)
    beat = heartbeat.read(data_dir, name)
    return WorkerStatus(name=name, alive=beat is not None and beat.is_fresh(now, stale_after),
                        pid=beat.pid if beat else None, heartbeat_age=beat.age(now) if beat else None)


def outbox_status(session: Session, *, now: dt.datetime | None = None) -> OutboxStatus:
    """Depth of the index outbox and age of its oldest pending change."""
    now = now or dt.datetime.now(dt.UTC)
    waiting = IndexOutbox.attempts < MAX_ATTEMPTS
    pending, oldest = session.execute(
        select(func.count(), func.min(IndexOutbox.created_at)).where(waiting)).one()
    failed = session.scalar(select(func.count()).select_from(IndexOutbox).where(~waiting)) or 0
    oldest_at = _aware(oldest)
    return OutboxStatus(pending=pending or 0, failed=failed, oldest_pending_at=oldest_at,
                        oldest_pending_age=max(0.0, (now - oldest_at).total_seconds()) if oldest_at else None)


def mail_status(backend: str, outbox_dir: str | os.PathLike[str] | None, session: Session | None = None,
                now: dt.datetime | None = None) -> MailStatus:
    """The mail outbox's depth and oldest waiting message (with ``session``), and the .eml folder's count."""
    count = None
    if backend == "outbox":
        folder = Path(outbox_dir) if outbox_dir else None
        count = sum(1 for p in folder.glob("*.eml")) if folder is not None and folder.is_dir() else 0
    if session is None:
        return MailStatus(backend=backend, queue=None, outbox_messages=count)
    from documents import mailqueue

    stats = mailqueue.stats(session, now=now)
    return MailStatus(backend=backend, queue=stats.pending + stats.failed, outbox_messages=count,
                      failed=stats.failed, dead=stats.dead, oldest_pending_age=stats.oldest_pending_age)


def disk_status(data_dir: str | os.PathLike[str]) -> DiskStatus:
    """Free and total bytes on the data folder's file system."""
    usage = shutil.disk_usage(data_dir)
    return DiskStatus(free_bytes=usage.free, total_bytes=usage.total)


def system_status(session: Session, *, data_dir: str | os.PathLike[str], index_dir: str | os.PathLike[str],
                  mail_backend: str, mail_outbox_dir: str | os.PathLike[str] | None,
                  synchronous_index: bool = False, stale_after: float = heartbeat.DEFAULT_STALE_AFTER,
                  workers: Sequence[str] = (), now: dt.datetime | None = None) -> SystemStatus:
    """Everything ``/sante`` reports, read now; ``workers``: other heartbeat-recording workers by name."""
    now = now or dt.datetime.now(dt.UTC)
    return SystemStatus(
        checked_at=now,
        indexer=indexer_status(data_dir, index_dir, synchronous=synchronous_index, stale_after=stale_after, now=now),
        outbox=outbox_status(session, now=now),
        mail=mail_status(mail_backend, mail_outbox_dir, session, now=now),
        disk=disk_status(data_dir),
        workers=tuple(worker_status(data_dir, name, stale_after=stale_after, now=now) for name in workers),
    )


def format_duration(seconds: float) -> str:
    """« 45 s », « 3 min », « 2 h 05 », « 3 j » (French, rounded down)."""
    seconds = int(max(0, seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d}"
    return f"{seconds // 86400} j"


def format_bytes(size: int) -> str:
    """« 12,3 Go » (French units and decimal comma)."""
    value = float(size)
    for unit in ("o", "ko", "Mo", "Go", "To"):
        if value < 1000 or unit == "To":
            text = f"{value:.0f}" if unit == "o" else f"{value:.1f}".replace(".", ",")
            return f"{text}\u00a0{unit}"
        value /= 1000
    raise AssertionError("unreachable")


def indexer_down_message(status: IndexerStatus) -> str:
    """The French sentence for an indexer that does not run."""
    if status.heartbeat_age is None:
        return ("L'indexeur de recherche ne tourne pas (aucun signe de vie) : les documents archivés "
                "ne deviennent pas cherchables.")
    return (f"L'indexeur ne tourne pas depuis {format_duration(status.heartbeat_age)} : les documents archivés "
            "depuis ne deviennent pas cherchables.")
