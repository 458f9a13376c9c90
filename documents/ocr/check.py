"""``intranet check`` for the OCR: text statuses counted as the list shows them, stuck or lost OCR repaired."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import and_, func, select

from documents.models.archive import Document, DocumentVersion, TextStatus
from documents.models.ocr import OcrJob
from documents.ocr import queue

if TYPE_CHECKING:
    from documents.consistency import CheckContext, Problem

#: Counted in the report (current versions of live documents), with the words of the document page.
_STAT_NAMES = {
    TextStatus.OCR.value: "texte(s) reconnu(s) par OCR",
    TextStatus.PARTIAL.value: "texte(s) partiel(s)",
    TextStatus.PENDING.value: "en attente de reconnaissance",
    TextStatus.RUNNING.value: "reconnaissance(s) en cours",
    TextStatus.EMPTY.value: "sans aucun texte",
    TextStatus.FAILED.value: "échec(s) de lecture du texte",
}


def check_ocr(ctx: CheckContext) -> list[Problem]:
    """Versions waiting for an OCR that no job will do, copies missing from the store; counts per status."""
    from documents.consistency import Problem

    session = ctx.session
    latest = (select(DocumentVersion.document_id, func.max(DocumentVersion.number).label("n"))
              .group_by(DocumentVersion.document_id).subquery())
    counts = session.execute(
        select(DocumentVersion.text_status, func.count())
        .join(latest, and_(DocumentVersion.document_id == latest.c.document_id,
                           DocumentVersion.number == latest.c.n))
        .join(Document, Document.id == DocumentVersion.document_id)
        .where(Document.deleted_at.is_(None))
        .group_by(DocumentVersion.text_status)).all()
    for status, count in counts:
        if status in _STAT_NAMES and count:
            ctx.stats[_STAT_NAMES[status]] = int(count)
    problems: list[Problem] = []
    active = select(OcrJob.version_id).where(OcrJob.state.in_(queue.ACTIVE))
    waiting = session.scalars(
        select(DocumentVersion).where(
            DocumentVersion.text_status.in_([TextStatus.PENDING.value, TextStatus.RUNNING.value]),
            DocumentVersion.id.not_in(active)).order_by(DocumentVersion.id)).all()
    for version in waiting:
        problem = Problem("ocr_not_queued", f"version {version.id}",
                          f"Le document {version.document_id} (version {version.number}) attend une reconnaissance "
                          "du texte qu'aucune tâche ne fera.",
                          details={"document_id": version.document_id, "version": version.number})
        if ctx.repair:
            queue.enqueue_ocr(session, version)
            ctx.durable()
            problem.repaired, problem.action = True, "Remis dans la file de reconnaissance."
        problems.append(problem)
    copies = session.scalars(select(DocumentVersion).where(DocumentVersion.ocr_sha256.is_not(None))
                             .order_by(DocumentVersion.id)).all()
    for version in copies:
        if ctx.storage.exists(version.ocr_sha256 or ""):
            continue
        problem = Problem("ocr_copy_missing", f"version {version.id}",
                          f"La copie avec texte du document {version.document_id} (version {version.number}) "
                          "est absente du stockage.",
                          details={"document_id": version.document_id, "version": version.number,
                                   "sha256": version.ocr_sha256})
        if ctx.repair:
            version.ocr_sha256 = None
            queue.enqueue_ocr(session, version)
            ctx.durable()
            problem.repaired, problem.action = True, "Copie refaite par la prochaine reconnaissance."
        problems.append(problem)
    return problems
