"""Stored deadlines: kept current on every flush, listed in SQL, and handled (reconduite, dénoncée, remplacée).

The dates are computed by ``documents.deadlines`` (the single source of the arithmetic) and written
to ``document_deadline`` whenever a document's dates change, whoever changes them: a
``before_flush`` hook watches the five fields they derive from, so upload, metadata edits,
drafting and imports all keep them current without each verb having to remember.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Table, event, inspect, select
from sqlalchemy.orm import Session

from documents import audit, deadlines, permissions
from documents.errors import DomainError, NotFound, PermissionDenied
from documents.models import DeadlineHandling, DeadlineOutcome, Document, DocumentDeadline, User

#: Tacit renewals are stored this many years past the later of today and the first échéance; the
#: listing computes the rare older rows past that horizon on the fly (see ``listing``).
STORE_YEARS = 10
#: Fields the deadlines derive from.
SOURCE_FIELDS = ("effective_date", "end_date", "duration_months", "tacit_renewal", "notice_months")
#: Outcomes after which the agreement stops renewing: its later terms are not stored.
FINAL_OUTCOMES = (DeadlineOutcome.DENONCEE.value, DeadlineOutcome.REMPLACEE.value)


def _add_years(day: dt.date, years: int) -> dt.date:
    return deadlines.add_months(day, 12 * years)


def compute(doc: Document, *, today: dt.date, last_term: int | None = None) -> tuple[list[deadlines.Deadline], dt.date]:
    """Milestones of every term of ``doc`` up to the storage horizon, and that horizon."""
    first = deadlines.end_date(doc.effective_date, doc.duration_months, doc.end_date)
    until = _add_years(max(today, first or today), STORE_YEARS)
    items = deadlines.deadlines_of(
        0, effective=doc.effective_date, duration_months=doc.duration_months, explicit_end=doc.end_date,
        tacit_renewal=bool(doc.tacit_renewal), notice_months=doc.notice_months, until=until,
    )
    if last_term is not None:
        items = [d for d in items if d.renewal <= last_term]
    return items, until


def _last_term(session: Session, doc: Document) -> int | None:
    """The term after which a denounced or replaced agreement stops: no later term is stored."""
    if doc.id is None:
        return None
    with session.no_autoflush:
        return session.scalar(select(DeadlineHandling.term).where(
            DeadlineHandling.document_id == doc.id, DeadlineHandling.outcome.in_(FINAL_OUTCOMES),
        ).order_by(DeadlineHandling.term).limit(1))


def refresh(session: Session, doc: Document, *, today: dt.date | None = None) -> None:
    """Rewrite the stored milestones of ``doc`` from its current dates (no flush, no commit)."""
    items, until = compute(doc, today=today or dt.date.today(), last_term=_last_term(session, doc))
    wanted = {(d.renewal, d.kind): d.date for d in items}
    with session.no_autoflush:
        current = {(r.term, r.kind): r for r in doc.deadline_rows}
    # Update in place rather than delete + insert: the unique key (document, term, kind) would
    # otherwise clash inside one flush.
    for key, row in current.items():
        if key not in wanted:
            doc.deadline_rows.remove(row)
        else:
            row.date, row.superseded_on = wanted[key], wanted.get((key[0] + 1, key[1]))
    for (term, kind), day in wanted.items():
        if (term, kind) not in current:
            doc.deadline_rows.append(DocumentDeadline(term=term, kind=kind, date=day,
                                                      superseded_on=wanted.get((term + 1, kind))))
    doc.deadlines_until = until if doc.tacit_renewal and items else None


def _dates_changed(doc: Document) -> bool:
    state = inspect(doc)
    if state.pending or state.transient:
        return True
    return any(state.attrs[name].history.has_changes() for name in SOURCE_FIELDS)


@event.listens_for(Session, "before_flush")
def _keep_current(session: Session, _context: Any, _instances: Any) -> None:
    """Recompute the stored deadlines of every document whose dates changed in this flush."""
    for obj in list(session.new) + list(session.dirty):
        if isinstance(obj, Document) and _dates_changed(obj):
            refresh(session, obj)


# --------------------------------------------------------------------------- handling


class DeadlineError(DomainError):
    """A deadline cannot be handled as asked (French message for the user)."""

    status = 422


def handle_term(session: Session, document: Document, *, actor: User | None, term: int, outcome: str,
                replacement: Document | None = None, note: str = "", ip: str = "") -> DeadlineHandling:
    """Record what was decided about one term (reconduite, dénoncée, remplacée par …), audited.

    The term's dates leave « Dépassées ». A denounced or replaced agreement stops renewing: the
    stored dates of its later terms are dropped. Only flushes.
    """
    if not permissions.can_write_region(actor, document.region_code):
        raise PermissionDenied("Vous ne pouvez pas modifier les documents de cette région.")
    try:
        kind = DeadlineOutcome(outcome)
    except ValueError:
        raise DeadlineError("Choisissez « reconduite », « dénoncée » ou « remplacée ».") from None
    if not session.scalar(select(DocumentDeadline.id).where(DocumentDeadline.document_id == document.id,
                                                            DocumentDeadline.term == term).limit(1)):
        raise NotFound("Cette échéance n'existe pas pour ce document.")
    if kind is DeadlineOutcome.REMPLACEE:
        if replacement is None:
            raise DeadlineError("Indiquez le document qui remplace celui-ci.")
        if replacement.id == document.id:
            raise DeadlineError("Un document ne peut pas se remplacer lui-même.")
    elif replacement is not None:
        raise DeadlineError("Un document de remplacement ne s'indique que pour « remplacée ».")
    if session.scalar(select(DeadlineHandling.id).where(DeadlineHandling.document_id == document.id,
                                                        DeadlineHandling.term == term)):
        raise DeadlineError("Cette échéance est déjà traitée.", status=409)
    note = (note or "").strip()[:2000]
    row = DeadlineHandling(document_id=document.id, term=term, outcome=kind.value,
                           replacement_id=replacement.id if replacement else None, note=note,
                           handled_by_id=actor.id if actor else None)
    session.add(row)
    session.flush()
    if kind.value in FINAL_OUTCOMES:
        refresh(session, document)
    details: dict[str, Any] = {"term": term, "outcome": kind.value}
    if replacement is not None:
        details["replacement_id"] = replacement.id
    if note:
        details["note"] = note
    audit.record(session, "document.deadline", actor=actor, object_type="document", object_id=document.id,
                 region_code=document.region_code, ip=ip, details=details)
    session.flush()
    return row


def handlings_of(session: Session, document: Document) -> dict[int, DeadlineHandling]:
    """Decisions recorded on ``document``'s terms, by term."""
    rows = session.scalars(select(DeadlineHandling).where(DeadlineHandling.document_id == document.id))
    return {r.term: r for r in rows}


def rebuild_all(session: Session, *, today: dt.date | None = None, batch: int = 5000) -> int:
    """Recompute the stored deadlines of every document (after a bulk load that bypassed the ORM); rows written.

    Reads the five source columns only and writes with bulk inserts, so 20,000 documents take
    seconds. Handled terms are kept; a denounced or replaced agreement stays stopped. Only flushes.
    """
    from types import SimpleNamespace

    from sqlalchemy import delete, insert, update

    today = today or dt.date.today()
    stops = dict(session.execute(select(DeadlineHandling.document_id, DeadlineHandling.term)
                                 .where(DeadlineHandling.outcome.in_(FINAL_OUTCOMES))
                                 .order_by(DeadlineHandling.term.desc())).all())
    session.execute(delete(DocumentDeadline))
    session.execute(update(Document).values(deadlines_until=None))
    columns = [Document.id, *(getattr(Document, name) for name in SOURCE_FIELDS)]
    rows: list[dict[str, Any]] = []
    written = 0
    horizons: list[dict[str, Any]] = []
    for values in session.execute(select(*columns)).all():
        doc = SimpleNamespace(**dict(zip(("id", *SOURCE_FIELDS), values, strict=True)))
        items, until = compute(doc, today=today, last_term=stops.get(doc.id))  # type: ignore[arg-type]  # a namespace with the five source fields stands for the document
        dates = {(d.renewal, d.kind): d.date for d in items}
        rows.extend({"document_id": doc.id, "term": d.renewal, "kind": d.kind, "date": d.date,
                     "superseded_on": dates.get((d.renewal + 1, d.kind))} for d in items)
        if doc.tacit_renewal and items:
            horizons.append({"b_id": doc.id, "until": until})
        if len(rows) >= batch:
            session.execute(insert(DocumentDeadline), rows)
            written, rows = written + len(rows), []
    if rows:
        session.execute(insert(DocumentDeadline), rows)
        written += len(rows)
    if horizons:
        from sqlalchemy import bindparam

        table = Document.__table__
        assert isinstance(table, Table)  # a mapped class's table, for update()
        session.execute(update(table).where(table.c.id == bindparam("b_id"))
                        .values(deadlines_until=bindparam("until")), horizons)
    session.flush()
    return written
