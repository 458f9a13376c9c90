"""The thumbnail queue in the database: enqueue, sweep for missing ones, claim under a lease, finish.

Jobs are keyed by the file's SHA-256: a file shared by several versions is drawn once. A worker
claims a job with one guarded UPDATE (pending, or running with an expired lease), so two
workers never draw the same file; on PostgreSQL the candidate is also picked with
``FOR UPDATE SKIP LOCKED``. Verbs only flush: the worker loop and the CLI commit.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import exists, func, select, update
from sqlalchemy.orm import Session

from documents import leases
from documents.db import utcnow
from documents.models.archive import Document, DocumentVersion
from documents.models.thumbnails import ThumbnailJob, ThumbnailState
from documents.thumbnails.render import THUMB_KINDS

#: Tries of one file (a worker killed mid-job counts) before it fails for good.
MAX_ATTEMPTS = 3
#: Most jobs one sweep adds (the next sweep adds the rest).
SWEEP_BATCH = 500


def enqueue(session: Session, sha256: str, kind: str) -> ThumbnailJob | None:
    """Queue the file ``sha256`` unless it is queued or drawn already; None for kinds without thumbnail."""
    if kind not in THUMB_KINDS:
        return None
    job = session.scalar(select(ThumbnailJob).where(ThumbnailJob.sha256 == sha256))
    if job is None:
        job = ThumbnailJob(sha256=sha256, kind=kind, state=ThumbnailState.PENDING.value, attempts=0,
                           worker="", error="")
        session.add(job)
        session.flush()
    return job


def _current_versions_without_job() -> object:
    latest = (select(func.max(DocumentVersion.number)).where(DocumentVersion.document_id == Document.id)
              .correlate(Document).scalar_subquery())
    return (select(DocumentVersion.sha256, DocumentVersion.kind)
            .join(Document, Document.id == DocumentVersion.document_id)
            .where(Document.deleted_at.is_(None), DocumentVersion.number == latest,
                   DocumentVersion.kind.in_(sorted(THUMB_KINDS)),
                   ~exists().where(ThumbnailJob.sha256 == DocumentVersion.sha256))
            .distinct().order_by(DocumentVersion.sha256))


def sweep(session: Session, *, limit: int = SWEEP_BATCH) -> int:
    """Queue the current files of live documents that have no job yet (at most ``limit``); how many."""
    rows = session.execute(_current_versions_without_job().limit(limit)).all()  # type: ignore[attr-defined]  # the select is built by a helper typed as object
    for sha256, kind in rows:
        session.add(ThumbnailJob(sha256=sha256, kind=kind, state=ThumbnailState.PENDING.value, attempts=0,
                                 worker="", error=""))
    session.flush()
    return len(rows)


def requeue_all(session: Session) -> int:
    """Put every known job back in the queue (thumbnails drawn again, failures retried); how many."""
    done = session.execute(update(ThumbnailJob).values(state=ThumbnailState.PENDING.value, attempts=0, error="",
                                                      lease_until=None, finished_at=None, worker="")
                           .execution_options(synchronize_session=False))
    session.flush()
    return int(done.rowcount or 0)  # type: ignore[attr-defined]  # an UPDATE's result is a CursorResult; SQLAlchemy types execute() as Result


def claim(session: Session, worker: str, *, lease_s: float) -> ThumbnailJob | None:
    """Take the oldest claimable job for ``worker``, or None when nothing waits."""
    for _ in range(leases.RACE_RETRIES):
        job = leases.claim_next(session, ThumbnailJob, worker, pending=ThumbnailState.PENDING.value,
                                running=ThumbnailState.RUNNING.value, lease_s=lease_s)
        if job is None:
            return None
        if job.attempts > MAX_ATTEMPTS:
            fail(session, job, f"Vignette abandonnée après {MAX_ATTEMPTS} tentatives.", retry=False)
            continue
        session.flush()
        return job
    return None


def complete(session: Session, job: ThumbnailJob) -> None:
    """Mark a job done (the image is on disk)."""
    job.state, job.error, job.finished_at, job.lease_until = ThumbnailState.DONE.value, "", utcnow(), None
    session.flush()


def fail(session: Session, job: ThumbnailJob, reason: str, *, retry: bool) -> None:
    """Record a failed attempt: back in the queue while attempts remain and it is worth it, else « échec »."""
    job.error = reason[:2000]
    job.lease_until = None
    if retry and job.attempts < MAX_ATTEMPTS:
        job.state = ThumbnailState.PENDING.value
    else:
        job.state, job.finished_at = ThumbnailState.FAILED.value, utcnow()
    session.flush()


@dataclass(frozen=True)
class QueueCounts:
    """How many jobs are in each state."""

    pending: int
    running: int
    done: int
    failed: int


def counts(session: Session) -> QueueCounts:
    """The number of jobs in each state."""
    rows = dict(session.execute(select(ThumbnailJob.state, func.count()).group_by(ThumbnailJob.state)).all())
    return QueueCounts(pending=int(rows.get("pending", 0)), running=int(rows.get("running", 0)),
                       done=int(rows.get("done", 0)), failed=int(rows.get("failed", 0)))
