"""Échéances read from the stored deadlines: upcoming, overdue (« Dépassées ») and one document's.

Every query starts from the user's scope (``_scoped``: the rule of ``archive.visible_documents``)
and joins ``document_deadline``, so the scope, the window and the order are applied in SQL and
walk the date index; only the rows shown are loaded.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, exists, false, func, or_, select
from sqlalchemy.orm import Session, aliased

from documents import deadlines, permissions
from documents.models import DeadlineHandling, DocStatus, DocType, Document, DocumentDeadline, Region, User

#: Types of documents whose dates are tracked.
AGREEMENT_TYPES: tuple[str, ...] = (DocType.CONVENTION.value, DocType.CONTRAT_OBJECTIFS.value,
                                    DocType.AVENANT.value, DocType.PROTOCOLE.value)
#: A date passed longer ago than this is history, not an alert: it keeps an imported archive
#: of old agreements from flooding « Dépassées ».
OVERDUE_DAYS = 365

#: The handlings looked up by the « Dépassées » anti-join (an alias: the list also outer-joins them).
_HANDLED = aliased(DeadlineHandling)

STATE_UPCOMING, STATE_OVERDUE, STATE_HANDLED = "a_venir", "depassee", "traitee"
STATE_LABELS = {STATE_UPCOMING: "à venir", STATE_OVERDUE: "dépassée", STATE_HANDLED: "traitée"}


@dataclass(frozen=True)
class UpcomingDeadline:
    """One date of one document, with what was decided about its term if anything."""

    document: Document | DocRef
    deadline: deadlines.Deadline
    #: Days from the reference day to the date (0 = today, negative = passed).
    days_left: int
    handling: DeadlineHandling | None = None

    @property
    def state(self) -> str:
        """« a_venir », « depassee » or « traitee »."""
        if self.handling is not None:
            return STATE_HANDLED
        return STATE_OVERDUE if self.days_left < 0 else STATE_UPCOMING

    @property
    def state_label(self) -> str:
        """French label of the state."""
        return STATE_LABELS[self.state]


@dataclass(frozen=True)
class DocRef:
    """The few columns of a document a list of dates shows (loading whole documents is what made it slow)."""

    id: int
    title: str
    doc_type: str
    region_code: str | None
    region: Region | None

    @property
    def type_label(self) -> str:
        """French label of the type."""
        try:
            return DocType(self.doc_type).label
        except ValueError:
            return self.doc_type

    @property
    def region_label(self) -> str:
        """Region name, or « National »."""
        return self.region.label if self.region is not None else "National"


def _stored(session: Session, user: User | None, types: tuple[str, ...]) -> Select[*tuple[Any, ...]]:
    """Stored milestones of the running agreements ``user`` may read, with their term's handling id."""
    return (
        _scoped(session, user)
        .with_only_columns(Document.id, Document.title, Document.doc_type, Document.region_code,
                           DocumentDeadline.term, DocumentDeadline.kind, DocumentDeadline.date, DeadlineHandling.id)
        .join(DocumentDeadline, DocumentDeadline.document_id == Document.id)
        .outerjoin(DeadlineHandling, and_(DeadlineHandling.document_id == DocumentDeadline.document_id,
                                          DeadlineHandling.term == DocumentDeadline.term))
        .where(*_running(session, types))
    )


def _scoped(session: Session, user: User | None) -> Select[Any]:
    """``archive.visible_documents(user)``'s regional scope, written so that no index applies.

    Same rule (``permissions.read_scope``: a region with the 2009 regions it covers, and
    « national » as a NULL region), but through ``opaque`` so that SQLite walks the date index
    and stops at the LIMIT instead of gathering every document of the region and sorting them;
    the trash is left out by ``_running``.
    """
    stmt = select(Document)
    scope = permissions.read_scope(user)
    if scope is None:
        return stmt
    codes = [*scope.regions, ""] if scope.national else list(scope.regions)
    region = opaque(session, func.coalesce(Document.region_code, ""))
    return stmt.where(region.in_(codes)) if codes else stmt.where(false())


def _running(session: Session, types: tuple[str, ...]) -> tuple[Any, ...]:
    """Agreements of ``types``, not archived, not in the trash.

    Written (``opaque``) so that no index of ``document`` applies: without statistics SQLite would otherwise
    drive the join from ``ix_document_deleted_at`` or ``ix_document_doc_type`` (thousands of
    documents) and sort every date before the LIMIT, instead of walking the date index.
    """
    return (opaque(session, Document.doc_type).in_(types), Document.status != DocStatus.ARCHIVE.value,
            opaque(session, Document.deleted_at).is_(None))


def opaque(session: Session, column: Any) -> Any:
    """``column`` hidden from SQLite's index choice; as is elsewhere.

    PostgreSQL has statistics (autovacuum) and picks the date index by itself; wrapped
    expressions would only blind its estimates (it then misjudged a 7,000-row scan as 2 rows).
    """
    if session.get_bind().dialect.name != "sqlite":
        return column
    return func.coalesce(column, column)


def _rows(session: Session, stmt: Select[Any], today: dt.date) -> list[UpcomingDeadline]:
    """Run a ``_stored`` select; regions and the (few) handlings are loaded in one query each."""
    raw = session.execute(stmt).all()
    regions = {r.code: r for r in session.scalars(select(Region))} if raw else {}
    handling_ids = {row[7] for row in raw if row[7] is not None}
    handlings = {h.id: h for h in session.scalars(select(DeadlineHandling).where(
        DeadlineHandling.id.in_(handling_ids)))} if handling_ids else {}
    out = []
    for doc_id, title, doc_type, region_code, term, kind, day, handling_id in raw:
        ref = DocRef(doc_id, title, doc_type, region_code, regions.get(region_code) if region_code else None)
        out.append(UpcomingDeadline(ref, deadlines.Deadline(doc_id, kind, day, term), (day - today).days,
                                    handlings.get(handling_id) if handling_id is not None else None))
    return out


def _row(doc: Any, row: DocumentDeadline, handling: DeadlineHandling | None,
         today: dt.date) -> UpcomingDeadline:
    item = deadlines.Deadline(doc.id, row.kind, row.date, row.term)
    return UpcomingDeadline(doc, item, (row.date - today).days, handling)


#: SQL order of the lists: that of the index on (date, document), so that a LIMIT stops the scan early.
#: Rows of one day are then re-sorted by title in Python (``_order``); with a limit, which rows of the
#: last day shown make the cut follows the document number.
_INDEX_ORDER = (DocumentDeadline.date, DocumentDeadline.document_id, DocumentDeadline.kind)



def _order(rows: list[UpcomingDeadline]) -> list[UpcomingDeadline]:
    rows.sort(key=lambda u: (u.deadline.date, u.document.title.lower(), u.document.id, u.deadline.kind))
    return rows


def upcoming_deadlines(session: Session, user: User | None, *, today: dt.date, days: int,
                       types: tuple[str, ...] = AGREEMENT_TYPES, limit: int | None = None,
                       from_days: int = 0) -> list[UpcomingDeadline]:
    """Échéances, tacit-renewal dates and notice deadlines from ``today`` to ``today + days``, soonest first.

    Archived documents (status « archivé ») are left out: they no longer run. A tacitly renewed
    agreement whose first term has run out shows the dates of its running (and following) terms.
    """
    horizon = today + dt.timedelta(days=days)
    start = today + dt.timedelta(days=from_days)
    # Tacit renewals are stored up to ``deadlines_until``; the rare agreement left untouched past
    # that horizon is computed here instead (and its stored rows skipped).
    stale_filter = and_(Document.tacit_renewal.is_(True), Document.deadlines_until < horizon)
    stmt = (_stored(session, user, types)
            .where(DocumentDeadline.date >= start, DocumentDeadline.date <= horizon, ~stale_filter)
            .order_by(*_INDEX_ORDER))
    if limit is not None:
        stmt = stmt.limit(limit)
    out = _rows(session, stmt, today)
    stale = _scoped(session, user).where(*_running(session, types), stale_filter)
    for doc in session.scalars(stale):
        dates = deadlines.deadlines_of(
            doc.id, effective=doc.effective_date, duration_months=doc.duration_months,
            explicit_end=doc.end_date, tacit_renewal=doc.tacit_renewal, notice_months=doc.notice_months,
            today=today, until=horizon)
        out.extend(UpcomingDeadline(doc, d, (d.date - today).days) for d in deadlines.within(dates, today, days)
                   if d.date >= start)
    out = _order(out)
    return out[:limit] if limit is not None else out


def overdue_deadlines(session: Session, user: User | None, *, today: dt.date,
                      types: tuple[str, ...] = AGREEMENT_TYPES, limit: int | None = None,
                      document_id: int | None = None) -> list[UpcomingDeadline]:
    """« Dépassées »: dates passed (in the last ``OVERDUE_DAYS``) whose term nobody handled, oldest first.

    Of a tacitly renewed agreement only the latest passed date of each kind counts: an earlier
    term's date is superseded once the same date of the next term has passed too (``superseded_on``).
    """
    stmt = (_stored(session, user, types)
            .where(DocumentDeadline.date < today,
                   DocumentDeadline.date >= today - dt.timedelta(days=OVERDUE_DAYS),
                   or_(DocumentDeadline.superseded_on.is_(None), DocumentDeadline.superseded_on >= today),
                   # NOT EXISTS rather than « handling IS NULL » on the outer join: PostgreSQL estimates an
                   # anti-join well, and then walks the date index up to the LIMIT instead of sorting.
                   ~exists().where(_HANDLED.document_id == DocumentDeadline.document_id,
                                   _HANDLED.term == DocumentDeadline.term))
            .order_by(*_INDEX_ORDER))
    if document_id is not None:
        stmt = stmt.where(Document.id == document_id)
    if limit is not None:
        stmt = stmt.limit(limit)
    return _order(_rows(session, stmt, today))


def document_deadlines(session: Session, document: Document, *, today: dt.date) -> list[UpcomingDeadline]:
    """The dates of one document's running term: the first term with a date still ahead, else the last one."""
    stmt = (select(DocumentDeadline, DeadlineHandling)
            .outerjoin(DeadlineHandling, and_(DeadlineHandling.document_id == DocumentDeadline.document_id,
                                              DeadlineHandling.term == DocumentDeadline.term))
            .where(DocumentDeadline.document_id == document.id)
            .order_by(DocumentDeadline.term, DocumentDeadline.date, DocumentDeadline.kind))
    rows = [_row(document, row, handling, today) for row, handling in session.execute(stmt)]
    if not rows:
        return []
    ahead = [r.deadline.renewal for r in rows if r.days_left >= 0]
    term = min(ahead) if ahead else max(r.deadline.renewal for r in rows)
    return [r for r in rows if r.deadline.renewal == term]


def handled_deadlines(session: Session, user: User | None, *, today: dt.date, days: int,
                      types: tuple[str, ...] = AGREEMENT_TYPES, limit: int | None = None) -> list[UpcomingDeadline]:
    """Dates whose term was handled, from ``OVERDUE_DAYS`` ago to ``today + days``, soonest first."""
    stmt = (_stored(session, user, types)
            .where(DeadlineHandling.id.is_not(None),
                   DocumentDeadline.date >= today - dt.timedelta(days=OVERDUE_DAYS),
                   DocumentDeadline.date <= today + dt.timedelta(days=days))
            .order_by(*_INDEX_ORDER))
    if limit is not None:
        stmt = stmt.limit(limit)
    return _order(_rows(session, stmt, today))


def deadlines_in_state(session: Session, user: User | None, *, today: dt.date, days: int,
                       state: str | None = None, limit: int | None = None) -> list[UpcomingDeadline]:
    """The API's and CLI's list: overdue, upcoming (unhandled) and handled dates, or only one ``state``."""
    out: list[UpcomingDeadline] = []
    if state in (None, STATE_OVERDUE):
        out += overdue_deadlines(session, user, today=today, limit=limit)
    if state in (None, STATE_UPCOMING):
        out += [r for r in upcoming_deadlines(session, user, today=today, days=days) if r.handling is None]
    if state in (None, STATE_HANDLED):
        out += handled_deadlines(session, user, today=today, days=days, limit=limit)
    out = _order(out)
    return out[:limit] if limit is not None else out


def deadline_json(item: UpcomingDeadline) -> dict[str, object]:
    """One date as plain JSON-ready values (API and ``intranet deadlines --json``)."""
    handling = item.handling
    return {
        "document_id": item.document.id, "title": item.document.title, "type": item.document.doc_type,
        "region": item.document.region_code, "kind": item.deadline.kind, "label": item.deadline.label,
        "date": item.deadline.date.isoformat(), "term": item.deadline.renewal, "days_left": item.days_left,
        "state": item.state, "state_label": item.state_label,
        "handling": None if handling is None else {
            "outcome": handling.outcome, "outcome_label": handling.outcome_label,
            "replacement_id": handling.replacement_id, "note": handling.note,
            "handled_at": handling.handled_at.isoformat() if handling.handled_at else None,
            "handled_by": handling.handled_by.email if handling.handled_by else None,
        },
    }
