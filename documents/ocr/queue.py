"""The OCR queue kept in the database: enqueue, claim under a lease, renew, finish or fail.

A worker claims a job with one guarded UPDATE (``… WHERE state = 'pending' OR lease expired``),
so two workers never hold the same job, on SQLite as on PostgreSQL (where the candidate row is
also picked with ``FOR UPDATE SKIP LOCKED``). Verbs only flush: the worker loop commits.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from documents import leases
from documents.db import utcnow
from documents.models.archive import Document, DocumentVersion, TextStatus
from documents.models.ocr import OcrJob, OcrState
from documents.ocr.status import status_after_ocr

#: How many times a job is tried (a worker killed mid-job counts) before it fails for good.
MAX_ATTEMPTS = 3
DEFAULT_LEASE_S = 60.0
ACTIVE = (OcrState.PENDING.value, OcrState.RUNNING.value)
#: Formats the OCR reads.
OCR_KINDS = frozenset({"pdf", "jpeg", "png", "tiff"})


def needs_ocr(kind: str, pages: int | None, text_pages: int | None) -> bool:
    """True when some pages of a PDF or an image carry no text yet."""
    return kind in OCR_KINDS and pages is not None and text_pages is not None and text_pages < pages


def active_job(session: Session, version_id: int) -> OcrJob | None:
    """The pending or running job of a version, if any."""
    return session.scalar(select(OcrJob).where(OcrJob.version_id == version_id, OcrJob.state.in_(ACTIVE))
                          .order_by(OcrJob.id).limit(1))


def enqueue_ocr(session: Session, version: DocumentVersion, *, force: bool = False) -> OcrJob:
    """Queue a version for OCR (once: an active job is reused) and mark it « en attente »."""
    job = active_job(session, version.id)
    if job is None:
        job = OcrJob(version_id=version.id, state=OcrState.PENDING.value, attempts=0, force=force,
                     worker="", error="")
        session.add(job)
        if version.text_status != TextStatus.RUNNING.value:
            version.text_status = TextStatus.PENDING.value
            version.text_reason = "Reconnaissance du texte en attente"
    elif force:
        job.force = True
    session.flush()
    return job


def claim(session: Session, worker: str, *, lease_s: float = DEFAULT_LEASE_S) -> OcrJob | None:
    """Take the oldest claimable job (pending, or running with an expired lease) for ``worker``, or None."""
    for _ in range(leases.RACE_RETRIES):
        job = leases.claim_next(session, OcrJob, worker, pending=OcrState.PENDING.value,
                                running=OcrState.RUNNING.value, lease_s=lease_s)
        if job is None:
            return None
        if job.attempts > MAX_ATTEMPTS:
            fail(session, job, f"Reconnaissance abandonnée après {MAX_ATTEMPTS} tentatives "
                               "(le lecteur s'est arrêté en cours de route)", retry=False)
            continue
        job.version.text_status = TextStatus.RUNNING.value
        job.version.text_reason = "Reconnaissance du texte en cours"
        session.flush()
        return job
    return None


def renew_lease(session: Session, job_id: int, worker: str, *, lease_s: float = DEFAULT_LEASE_S) -> bool:
    """Push the lease of a job this worker still holds; False if it lost it."""
    done = session.execute(
        update(OcrJob).where(OcrJob.id == job_id, OcrJob.worker == worker[:120],
                             OcrJob.state == OcrState.RUNNING.value)
        .values(lease_until=utcnow() + dt.timedelta(seconds=lease_s))
        .execution_options(synchronize_session=False))
    return bool(done.rowcount)  # type: ignore[attr-defined]  # an UPDATE's result is a CursorResult; SQLAlchemy types execute() as Result


@dataclass(frozen=True)
class OcrResult:
    """What the worker read: the copy's hash and the text of every page of it."""

    copy_sha256: str
    text: str
    pages: int
    text_pages: int
    ocr_pages: int
    confidence: float | None


def complete(session: Session, job: OcrJob, result: OcrResult) -> None:
    """Record the recognised text on the version and queue it for the search index (same transaction)."""
    from documents.archive import enqueue

    version = job.version
    status, reason = status_after_ocr(result.pages, result.text_pages, result.ocr_pages)
    version.text = result.text
    version.pages = result.pages
    version.text_pages = result.text_pages
    version.ocr_confidence = result.confidence if result.ocr_pages else None
    version.ocr_sha256 = result.copy_sha256
    version.text_status, version.text_reason = status, reason
    job.state, job.error, job.finished_at, job.lease_until = OcrState.DONE.value, "", utcnow(), None
    enqueue(session, version.document_id)
    session.flush()


def fail(session: Session, job: OcrJob, reason: str, *, retry: bool) -> None:
    """Record a failed attempt: back in the queue while attempts remain and it is worth it, else « échec »."""
    version = job.version
    job.error = reason[:2000]
    job.lease_until = None
    if retry and job.attempts < MAX_ATTEMPTS:
        job.state = OcrState.PENDING.value
        version.text_status = TextStatus.PENDING.value
        version.text_reason = "Reconnaissance du texte en attente (nouvelle tentative)"
    else:
        job.state, job.finished_at = OcrState.FAILED.value, utcnow()
        version.text_status = TextStatus.FAILED.value
        version.text_reason = f"Échec de la reconnaissance du texte : {reason}"[:500]
    session.flush()


def missing_versions(session: Session) -> list[int]:
    """Current versions of live documents whose pages may lack text and that no job handles yet.

    Versions archived before OCR existed have no page count of text (``text_pages`` is NULL):
    they are included, and the OCR's ``--skip-text`` leaves their typed pages alone.
    """
    latest = (select(DocumentVersion.document_id, func.max(DocumentVersion.number).label("n"))
              .group_by(DocumentVersion.document_id).subquery())
    active = select(OcrJob.version_id).where(OcrJob.state.in_(ACTIVE))
    rows = session.scalars(
        select(DocumentVersion.id)
        .join(latest, and_(DocumentVersion.document_id == latest.c.document_id,
                           DocumentVersion.number == latest.c.n))
        .join(Document, Document.id == DocumentVersion.document_id)
        .where(Document.deleted_at.is_(None), DocumentVersion.kind.in_(sorted(OCR_KINDS)),
               DocumentVersion.ocr_sha256.is_(None), DocumentVersion.id.not_in(active),
               DocumentVersion.text_status.not_in([TextStatus.FAILED.value, TextStatus.EMPTY.value]),
               or_(DocumentVersion.text_pages.is_(None), DocumentVersion.text_pages < DocumentVersion.pages,
                   DocumentVersion.text_status.in_([TextStatus.PENDING.value, TextStatus.RUNNING.value])))
        .order_by(DocumentVersion.id))
    return list(rows)


def queue_counts(session: Session) -> dict[str, int]:
    """Jobs per state."""
    return {state: count for state, count in session.execute(select(OcrJob.state, func.count()).group_by(OcrJob.state))}
