"""Stored deadlines: computed rows by table, kept current by edits, overdue until handled (SQLite + PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from documents import archive, deadline_store, listing
from documents.deadline_store import DeadlineError
from documents.errors import NotFound, PermissionDenied
from documents.models import AuditEvent, DeadlineHandling, Document, DocumentDeadline
from testkit import user

D = dt.date


def add(session: Any, title: str, *, region: str | None = "11", doc_type: str = "convention",
        status: str = "signe", **fields: Any) -> Document:
    doc = Document(title=title, doc_type=doc_type, region_code=region, year=2025, status=status, keywords="",
                   notes="", **fields)
    session.add(doc)
    session.commit()
    return doc


def stored(session: Any, doc: Document, *, terms: int = 2) -> list[tuple[int, str, dt.date]]:
    rows = session.scalars(select(DocumentDeadline).where(DocumentDeadline.document_id == doc.id,
                                                          DocumentDeadline.term < terms)
                           .order_by(DocumentDeadline.term, DocumentDeadline.date, DocumentDeadline.kind))
    return [(r.term, r.kind, r.date) for r in rows]


@pytest.mark.parametrize(("fields", "expected"), [
    # 12 months from 1 January: ends 31 December, 3 months of notice on 30 September (clamped from 31).
    ({"effective_date": D(2026, 1, 1), "duration_months": 12, "notice_months": 3},
     [(0, "preavis", D(2026, 9, 30)), (0, "echeance", D(2026, 12, 31))]),
    # Month end: 31 August + 6 months lands on 28 February, minus a day.
    ({"effective_date": D(2025, 8, 31), "duration_months": 6}, [(0, "echeance", D(2026, 2, 27))]),
    # 29 February 2024 for 24 months: 28 February 2026 (no 29th) minus a day; renewed on the 28th;
    # the second term is counted from the anchor (no drift): 29 February 2028 minus a day.
    ({"effective_date": D(2024, 2, 29), "duration_months": 24, "tacit_renewal": True, "notice_months": 1},
     [(0, "preavis", D(2026, 1, 27)), (0, "echeance", D(2026, 2, 27)), (0, "reconduction", D(2026, 2, 28)),
      (1, "preavis", D(2028, 1, 28)), (1, "echeance", D(2028, 2, 28)), (1, "reconduction", D(2028, 2, 29))]),
    # An explicit end on 28 February renewed yearly: the renewed term runs from 1 March to 29 February
    # in a leap year.
    ({"end_date": D(2027, 2, 28), "tacit_renewal": True},
     [(0, "echeance", D(2027, 2, 28)), (0, "reconduction", D(2027, 3, 1)),
      (1, "echeance", D(2028, 2, 29)), (1, "reconduction", D(2028, 3, 1))]),
    # No end and no duration: nothing to follow.
    ({"effective_date": D(2026, 1, 1)}, []),
])
def test_stored_rows_by_table(db_session: Any, fields: dict[str, Any], expected: list[Any]) -> None:
    doc = add(db_session, "Convention", **fields)
    assert stored(db_session, doc) == expected


def test_tacit_renewals_are_stored_ten_years_ahead(db_session: Any) -> None:
    doc = add(db_session, "Mensuelle", effective_date=D(2026, 1, 1), duration_months=1, tacit_renewal=True)
    rows = db_session.scalars(select(DocumentDeadline).where(DocumentDeadline.document_id == doc.id,
                                                             DocumentDeadline.kind == "echeance")).all()
    assert doc.deadlines_until is not None and doc.deadlines_until >= dt.date.today() + dt.timedelta(days=3650)
    assert max(r.date for r in rows) <= doc.deadlines_until < max(r.date for r in rows) + dt.timedelta(days=32)


def test_stored_dates_follow_edits(db_session: Any) -> None:
    admin = user(db_session, "admin")
    doc = add(db_session, "Convention", status="brouillon", effective_date=D(2026, 1, 1), duration_months=12,
              notice_months=3)
    meta = archive.Metadata.of(doc)
    meta.duration_months, meta.tacit_renewal = 24, True
    archive.update_metadata(db_session, doc, actor=admin, meta=meta)
    db_session.commit()
    assert stored(db_session, doc, terms=1) == [
        (0, "preavis", D(2027, 9, 30)), (0, "echeance", D(2027, 12, 31)), (0, "reconduction", D(2028, 1, 1))]
    # An explicit end wins over the duration; removing the notice drops the préavis.
    doc.end_date, doc.notice_months = D(2026, 6, 30), None
    db_session.commit()
    assert stored(db_session, doc, terms=1) == [(0, "echeance", D(2026, 6, 30)), (0, "reconduction", D(2026, 7, 1))]
    doc.end_date = doc.effective_date = None
    db_session.commit()
    assert stored(db_session, doc) == [] and doc.deadlines_until is None
    # A title change leaves the rows alone (nothing recomputed, nothing lost).
    doc.end_date = D(2026, 6, 30)
    db_session.commit()
    ids = [r.id for r in doc.deadline_rows]
    doc.title = "Autre titre"
    db_session.commit()
    assert [r.id for r in doc.deadline_rows] == ids


TODAY = D(2026, 12, 1)


def overdue(session: Any, who: str = "admin") -> list[tuple[str, str, dt.date]]:
    return [(r.document.title, r.deadline.kind, r.deadline.date)
            for r in listing.overdue_deadlines(session, user(session, who), today=TODAY)]


def test_a_passed_notice_date_is_overdue_until_handled(db_session: Any) -> None:
    # Notice due 20 November for an end on 20 February: missed, the agreement would renew itself.
    doc = add(db_session, "Tacite", end_date=D(2027, 2, 20), tacit_renewal=True, notice_months=3)
    add(db_session, "Encore à venir", end_date=D(2027, 6, 30), notice_months=3)
    add(db_session, "Trop ancienne", end_date=D(2024, 6, 30))
    add(db_session, "Archivée", end_date=D(2026, 11, 2), status="archive")
    add(db_session, "Bilan", doc_type="bilan", end_date=D(2026, 11, 2))
    add(db_session, "PACA", region="93", end_date=D(2026, 11, 3))
    assert overdue(db_session) == [("PACA", "echeance", D(2026, 11, 3)), ("Tacite", "preavis", D(2026, 11, 20))]
    assert overdue(db_session, "idf") == [("Tacite", "preavis", D(2026, 11, 20))]
    # Still listed among the upcoming dates: its échéance is ahead.
    upcoming = listing.upcoming_deadlines(db_session, user(db_session, "admin"), today=TODAY, days=90)
    assert [(r.document.title, r.deadline.kind, r.state) for r in upcoming] == [
        ("Tacite", "echeance", "a_venir"), ("Tacite", "reconduction", "a_venir")]

    idf = user(db_session, "idf")
    handling = deadline_store.handle_term(db_session, doc, actor=idf, term=0, outcome="reconduite",
                                          note="Reconduite en comité du 25 novembre.")
    db_session.commit()
    assert overdue(db_session) == [("PACA", "echeance", D(2026, 11, 3))]
    upcoming = listing.upcoming_deadlines(db_session, user(db_session, "admin"), today=TODAY, days=90)
    assert {r.state for r in upcoming} == {"traitee"} and upcoming[0].handling.outcome_label == "Reconduite"
    event = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "document.deadline")).one()
    assert (event.actor_id, event.object_id, event.details["outcome"], event.details["term"]) == (
        idf.id, str(doc.id), "reconduite", 0)
    assert handling.handled_by_id == idf.id and handling.handled_at is not None
    # Reconduite: the next term is still followed.
    assert (1, "preavis", D(2027, 11, 20)) in stored(db_session, doc)


def test_a_later_term_supersedes_an_earlier_one(db_session: Any) -> None:
    # Monthly terms: only the latest passed échéance and reconduction are alerts, not every month's.
    add(db_session, "Mensuelle", effective_date=D(2026, 6, 1), duration_months=1, tacit_renewal=True)
    # Terms end on 31 October and 30 November; the latter's reconduction is today, not yet passed.
    assert overdue(db_session) == [("Mensuelle", "reconduction", D(2026, 11, 1)),
                                   ("Mensuelle", "echeance", D(2026, 11, 30))]


def test_denounced_or_replaced_agreements_stop_renewing(db_session: Any) -> None:
    admin = user(db_session, "admin")
    old = add(db_session, "Ancienne", end_date=D(2026, 11, 30), tacit_renewal=True, notice_months=2)
    new = add(db_session, "Nouvelle", effective_date=D(2026, 12, 1), duration_months=12)
    assert {k for _, k, _ in overdue(db_session)} == {"preavis", "echeance"}
    with pytest.raises(DeadlineError, match="document qui remplace"):
        deadline_store.handle_term(db_session, old, actor=admin, term=0, outcome="remplacee")
    with pytest.raises(DeadlineError, match="lui-même"):
        deadline_store.handle_term(db_session, old, actor=admin, term=0, outcome="remplacee", replacement=old)
    with pytest.raises(DeadlineError, match="reconduite"):
        deadline_store.handle_term(db_session, old, actor=admin, term=0, outcome="oubliee")
    with pytest.raises(NotFound):
        deadline_store.handle_term(db_session, old, actor=admin, term=99, outcome="denoncee")
    with pytest.raises(PermissionDenied):
        deadline_store.handle_term(db_session, old, actor=user(db_session, "paca"), term=0, outcome="denoncee")
    deadline_store.handle_term(db_session, old, actor=admin, term=0, outcome="remplacee", replacement=new)
    db_session.commit()
    assert overdue(db_session) == []
    assert stored(db_session, old, terms=99) == [
        (0, "preavis", D(2026, 9, 30)), (0, "echeance", D(2026, 11, 30)), (0, "reconduction", D(2026, 12, 1))]
    assert old.deadlines_until is not None
    row = db_session.scalars(select(DeadlineHandling)).one()
    assert row.replacement.title == "Nouvelle" and row.outcome_label == "Remplacée"
    with pytest.raises(DeadlineError, match="déjà traitée") as exc:
        deadline_store.handle_term(db_session, old, actor=admin, term=0, outcome="denoncee")
    assert exc.value.status == 409
    # An edit keeps the stop: the later terms do not come back.
    old.notice_months = 1
    db_session.commit()
    assert max(t for t, _, _ in stored(db_session, old, terms=99)) == 0
