"""What waits for a signature: the « En signature » list, the dashboard's, and the reminders by e-mail.

A reminder is queued (``documents.mailqueue``) when a document has waited at its current
step for its type's delay (15 days for a convention, 30 for a protocole by default), then
again once per delay while it still waits: ``signature_step.reminded_on`` remembers the day
it went, so that running the job twice the same day sends nothing twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import cast

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from documents import archive, audit, mailqueue
from documents.errors import ValidationError
from documents.mail import Message, valid_address
from documents.models import DocStatus, DocType, Document, SignatureStep, StepKind, User
from documents.regions import covered_codes
from documents.signatures.track import SIGNABLE_TYPES, Track, build, current_signatories, steps_of, track_url

#: Days a document may wait at one step before a reminder, by type (settings may change them).
DEFAULT_REMINDER_DAYS: dict[str, int] = {
    DocType.CONVENTION.value: 15, DocType.AVENANT.value: 15, DocType.CONTRAT_OBJECTIFS.value: 15,
    DocType.PROTOCOLE.value: 30,
}
#: Longest list the « En signature » page and the dashboard read at once.
MAX_ROWS = 500
#: Documents read per batch by the reminder job (its memory stays bounded whatever the backlog).
REMINDER_BATCH = 200


@dataclass(frozen=True)
class Awaiting:
    """One document waiting for a signature."""

    document: Document
    track: Track
    #: Label of the last step done (« Envoyé pour signature », « Signé par la coordination »…).
    current: str
    #: Label of the step waited for.
    next: str
    #: Day the wait started, and its length in days.
    since: dt.date
    days: int
    #: Person or organisation the document was sent to.
    with_whom: str


def _region_filter(region_code: str | None) -> frozenset[str] | None:
    if region_code is None:
        return None
    return covered_codes(region_code)


def _awaiting(session: Session, document: Document, track: Track, today: dt.date) -> Awaiting:
    from documents.signatures.track import step_label

    last = track.steps[-1] if track.steps else None
    if last is None:
        current, since = "Aucune étape enregistrée", (document.updated_at or document.created_at).date()
    else:
        current = step_label(StepKind(last.kind), document, last.organisation, last.signatory)
        since = last.step_date
    nxt = track.next.label if track.next else "—"
    if track.next is not None and track.next.signatories:
        nxt += " (" + ", ".join(o.short_name or o.name for o in track.next.signatories) + ")"
    sending = track.sending
    return Awaiting(document=document, track=track, current=current, next=nxt, since=since,
                    days=max(0, (today - since).days), with_whom=sending.signatory if sending else "—")


def awaiting_signature(session: Session, user: User | None, *, doc_type: str | None = None,
                       region_code: str | None = None, today: dt.date | None = None,
                       limit: int = MAX_ROWS) -> list[Awaiting]:
    """Documents ``user`` may read that wait for a signature, the longest wait first."""
    today = today or dt.date.today()
    limit = max(1, min(limit, MAX_ROWS + 1))  # one more than shown: the page says the list goes on
    last_step = (select(SignatureStep.document_id, func.max(SignatureStep.step_date).label("since"))
                 .group_by(SignatureStep.document_id).subquery())
    stmt = (archive.visible_documents(user)
            .where(Document.status == DocStatus.EN_SIGNATURE.value, Document.doc_type.in_(SIGNABLE_TYPES))
            .outerjoin(last_step, last_step.c.document_id == Document.id))
    if doc_type is not None:
        stmt = stmt.where(Document.doc_type == doc_type)
    regions = _region_filter(region_code)
    if region_code == "national":
        stmt = stmt.where(Document.region_code.is_(None))
    elif regions is not None:
        stmt = stmt.where(Document.region_code.in_(regions))
    # Documents without a recorded step (set « en signature » by hand or by an import) come first.
    stmt = stmt.order_by(last_step.c.since.asc().nulls_first(), Document.updated_at, Document.id).limit(limit)
    documents = cast(list[Document], list(session.scalars(stmt)))
    steps = steps_of(session, [d.id for d in documents])
    current = current_signatories(session)  # once, not once per protocole
    rows = [_awaiting(session, d, build(session, d, steps[d.id], signatories=current), today) for d in documents]
    return sorted(rows, key=lambda r: (bool(r.track.steps), r.since, r.document.id))


# --------------------------------------------------------------------------- reminders


@dataclass
class ReminderReport:
    """What one run of the reminder job did."""

    sent: int = 0
    #: Documents due for a reminder that no one could receive, with the reason.
    skipped: list[tuple[int, str]] = field(default_factory=list)
    documents: list[int] = field(default_factory=list)


def reminder_delays(overrides: Mapping[str, int] | None = None) -> dict[str, int]:
    """Delays by type: the defaults, replaced by the positive values of ``overrides``."""
    delays = dict(DEFAULT_REMINDER_DAYS)
    for key, value in (overrides or {}).items():
        if key not in delays:
            raise ValidationError(f"Type sans circuit de signature : {key}.")
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 3650:
            raise ValidationError(f"Délai de relance invalide pour {key} : un nombre de jours entre 1 et 3650.")
        delays[key] = value
    return delays


def _due(step: SignatureStep, delay: int, today: dt.date) -> bool:
    if (today - step.step_date).days < delay:
        return False
    return step.reminded_on is None or (today - step.reminded_on).days >= delay


def _recipients(track: Track) -> list[str]:
    sending = track.sending
    people: list[User | None] = [sending.recipient, sending.actor] if sending else []
    return sorted({u.email.strip().lower() for u in people
                   if u is not None and u.active and valid_address(u.email.strip())})


def _body(item: Awaiting, url: str) -> str:
    doc = item.document
    lines = ["Bonjour,", "", f"Ce document attend une signature depuis {item.days} jours.", "",
             f"Document : {doc.title} (n° {doc.id})", f"Type : {doc.type_label}", f"Région : {doc.region_label}",
             f"Dernière étape : {item.current}, le {item.since:%d/%m/%Y}", f"Étape attendue : {item.next}",
             f"Envoyé à : {item.with_whom}"]
    if url:
        lines += ["", f"Suivre le circuit de signature : {url}"]
    return "\n".join([*lines, "", "— Intranet Passeurs d'images (message automatique)"])


def signature_reminders(session: Session, today: dt.date, *, delays: Mapping[str, int] | None = None,
                        base_url: str = "") -> ReminderReport:
    """Queue one reminder per document that waited its type's delay since its last step (or its last reminder)."""
    table = reminder_delays(delays)
    report = ReminderReport()
    current = current_signatories(session)
    after = 0
    while True:
        batch = list(session.scalars(
            select(Document).where(Document.status == DocStatus.EN_SIGNATURE.value,
                                   Document.doc_type.in_(SIGNABLE_TYPES), Document.deleted_at.is_(None),
                                   Document.id > after)
            .order_by(Document.id).limit(REMINDER_BATCH)))
        if not batch:
            break
        after = batch[-1].id
        steps = steps_of(session, [d.id for d in batch])
        for doc in batch:
            track = build(session, doc, steps[doc.id], signatories=current)
            if not track.open:
                continue
            waiting_at = track.steps[-1]
            if not _due(waiting_at, table[doc.doc_type], today):
                continue
            to = _recipients(track)
            if not to:
                report.skipped.append((doc.id, "aucun destinataire actif avec une adresse valide"))
                continue
            item = _awaiting(session, doc, track, today)
            url = track_url(base_url, doc.id)
            mailqueue.enqueue(session, Message(
                to=to, subject=f"[Passeurs d'images] Signature en attente : {doc.title}"[:200],
                body=_body(item, url)), origin=f"signature:{doc.id}:{track.cycle}:{today.isoformat()}")
            waiting_at.reminded_on = today
            audit.record(session, "document.signature_reminder", object_type="document", object_id=doc.id,
                         region_code=doc.region_code, actor_email="relance automatique",
                         details={"recipients": len(to), "days": item.days, "cycle": track.cycle})
            report.sent += 1
            report.documents.append(doc.id)
        session.flush()
    return report
