"""Deadline alerts by e-mail: one digest per user, in their scope, once per threshold (SQLite + PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from typing import Any

import pytest
from sqlalchemy import func, select

from documents import deadline_alerts, deadline_store, mailqueue
from documents.deadline_alerts import AlertLinks, notify_deadlines, threshold
from documents.mail import OutboxMailer
from documents.models import AuditEvent, DeadlineAlert, Document, MailOutbox
from testkit import USERS, user

TODAY = dt.date(2027, 1, 10)
BASE = "https://intranet.example"
LINKS = AlertLinks(document_url=lambda i: f"{BASE}/documents/{i}", deadlines_url=f"{BASE}/documents/echeances",
                   profile_url=f"{BASE}/profil#alertes")


def add(session: Any, title: str, *, region: str | None = "11", **fields: Any) -> Document:
    doc = Document(title=title, doc_type="convention", region_code=region, year=2026, status="signe", keywords="",
                   notes="", **fields)
    session.add(doc)
    session.commit()
    return doc


def days(n: int, today: dt.date = TODAY) -> dt.date:
    return today + dt.timedelta(days=n)


@pytest.fixture
def docs(db_session: Any) -> dict[str, Document]:
    """One agreement per case, each with a single échéance (no notice, no renewal)."""
    out = {
        "idf7": add(db_session, "Convention <b>Dupont & Fils</b>", end_date=days(5)),
        "paca30": add(db_session, "Convention PACA", region="93", end_date=days(20)),
        "idf90": add(db_session, "Convention IDF lointaine", end_date=days(60)),
        "national": add(db_session, "Protocole national", region=None, end_date=days(-10)),
        "handled": add(db_session, "Convention dénoncée", end_date=days(-3)),
        "far": add(db_session, "Convention 2028", end_date=days(200)),
        "trash": add(db_session, "Convention à la corbeille", end_date=days(6)),
    }
    deadline_store.handle_term(db_session, out["handled"], actor=user(db_session, "admin"), term=0,
                               outcome="denoncee")
    out["trash"].deleted_at = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
    db_session.commit()
    return out


def outbox(session: Any) -> dict[str, MailOutbox]:
    rows = session.scalars(select(MailOutbox).order_by(MailOutbox.id)).all()
    by_user = {}
    for row in rows:
        assert len(row.recipients) == 1, "one digest per user, never a shared message"
        assert row.recipients[0] not in by_user, "one message per user and run"
        by_user[row.recipients[0]] = row
    return by_user


def sections(body: str) -> list[tuple[str, list[str]]]:
    """(« Dépassées (1) », [titles…]) for each section of a plain-text digest."""
    out: list[tuple[str, list[str]]] = []
    for line in body.splitlines():
        if line.startswith(("Dépassées (", "Dans 7 jours (", "Dans 30 jours (", "Dans 90 jours (")):
            out.append((line, []))
        elif line.startswith("- ") and out:
            out[-1][1].append(line.split(" – ")[2].split(" (Convention")[0].split(" (Protocole")[0])
    return out


def run(session: Any, today: dt.date = TODAY) -> deadline_alerts.NotifyReport:
    report = notify_deadlines(session, today=today, links=LINKS)
    session.commit()
    return report


def test_thresholds_are_ranges() -> None:
    assert [threshold(d) for d in (-400, -1, 0, 7, 8, 30, 31, 90, 91)] == [
        "depassee", "depassee", "7", "7", "30", "30", "90", "90", None]


def test_each_user_gets_one_digest_of_their_scope(db_session: Any, docs: dict[str, Document]) -> None:
    deadline_alerts.set_alert_preference(db_session, user(db_session, "lecteur"), enabled=False)
    db_session.commit()
    report = run(db_session)
    mails = outbox(db_session)
    assert sorted(mails) == sorted(USERS[k][0] for k in ("admin", "national", "idf", "paca", "lecteur_idf"))
    assert (report.messages, report.users) == (5, 5)
    [notified] = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "deadlines.notify")).all()
    assert notified.object_id == "2027-01-10" and notified.details == {"messages": 5, "alerts": 16}

    idf = mails["idf@test.fr"]
    assert sections(idf.body) == [("Dépassées (1)", ["Protocole national"]),
                                  ("Dans 7 jours (1)", ["Convention <b>Dupont & Fils</b>"]),
                                  ("Dans 90 jours (1)", ["Convention IDF lointaine"])]
    assert idf.subject == "[Passeurs d'images] Échéances : 1 dépassée, 2 à venir"
    assert idf.body.startswith("Bonjour Idf,") and "au 10/01/2027" in idf.body
    assert f"{BASE}/documents/{docs['idf7'].id}" in idf.body and f"{BASE}/profil#alertes" in idf.body
    # A regional account never hears of another region's agreements.
    assert "PACA" not in idf.body and "PACA" not in idf.html
    paca = mails["paca@test.fr"]
    assert sections(paca.body) == [("Dépassées (1)", ["Protocole national"]),
                                   ("Dans 30 jours (1)", ["Convention PACA"])]
    assert "IDF" not in paca.body and "Dupont" not in paca.html
    assert sections(mails["admin@test.fr"].body) == [
        ("Dépassées (1)", ["Protocole national"]), ("Dans 7 jours (1)", ["Convention <b>Dupont & Fils</b>"]),
        ("Dans 30 jours (1)", ["Convention PACA"]), ("Dans 90 jours (1)", ["Convention IDF lointaine"])]
    for mail in mails.values():
        # Handled terms, trashed documents and dates beyond 90 days are never announced.
        for title in ("Convention dénoncée", "Convention à la corbeille", "Convention 2028"):
            assert title not in mail.body and title not in mail.html

    # HTML: every value escaped, links to the documents.
    assert "&lt;b&gt;Dupont &amp; Fils&lt;/b&gt;" in idf.html and "<b>Dupont" not in idf.html
    assert f'<a href="{BASE}/documents/{docs["idf7"].id}">' in idf.html
    assert idf.html.index("<h2>Dépassées (1)</h2>") < idf.html.index("<h2>Dans 7 jours (1)</h2>") \
        < idf.html.index("<h2>Dans 90 jours (1)</h2>")

    # Each alert is recorded with its outbox row.
    alerts = db_session.scalars(select(DeadlineAlert).where(DeadlineAlert.user_id == user(db_session, "idf").id)
                                .order_by(DeadlineAlert.date)).all()
    assert [(a.document_id, a.threshold, a.outbox_id) for a in alerts] == [
        (docs["national"].id, "depassee", idf.id), (docs["idf7"].id, "7", idf.id), (docs["idf90"].id, "90", idf.id)]


def test_a_second_run_sends_nothing_the_next_threshold_sends_again(db_session: Any, docs: dict[str, Document]) -> None:
    first = run(db_session)
    assert first.messages == 6
    count = db_session.scalar(select(func.count()).select_from(MailOutbox))
    again = run(db_session)
    assert (again.messages, again.alerts) == (0, 0)
    assert db_session.scalar(select(func.count()).select_from(MailOutbox)) == count
    # The next day, nothing crossed a threshold: still nothing.
    assert run(db_session, days(1)).messages == 0

    # 31 days on: the far IDF date is 29 days ahead (« Dans 30 jours »), the 7-day one has passed.
    later = days(31)
    last_id = db_session.scalar(select(func.max(MailOutbox.id)))
    report = run(db_session, later)
    new = db_session.scalars(select(MailOutbox).where(MailOutbox.id > last_id)).all()
    by_user = {row.recipients[0]: row for row in new}
    assert sections(by_user["idf@test.fr"].body) == [("Dépassées (1)", ["Convention <b>Dupont & Fils</b>"]),
                                                     ("Dans 30 jours (1)", ["Convention IDF lointaine"])]
    assert sections(by_user["paca@test.fr"].body) == [("Dépassées (1)", ["Convention PACA"])]
    assert report.messages == len(new) == 6
    assert run(db_session, later).messages == 0


def test_a_moved_date_is_announced_again_and_a_handled_term_stops(db_session: Any, docs: dict[str, Document]) -> None:
    run(db_session)
    doc = db_session.get(Document, docs["idf90"].id)
    doc.end_date = days(45)  # still « Dans 90 jours », but another date
    db_session.commit()
    report = run(db_session)
    latest = db_session.scalars(select(MailOutbox).order_by(MailOutbox.id.desc()).limit(report.messages)).all()
    assert report.messages == 5 and all(sections(m.body) == [("Dans 90 jours (1)", ["Convention IDF lointaine"])]
                                        for m in latest)
    deadline_store.handle_term(db_session, doc, actor=user(db_session, "idf"), term=0, outcome="reconduite")
    db_session.commit()
    # 20 days on, the moved date is 25 days ahead: it would be « Dans 30 jours », but its term is handled.
    run(db_session, days(20))
    assert db_session.scalars(select(DeadlineAlert.threshold).where(DeadlineAlert.document_id == doc.id)
                              .distinct()).all() == ["90"]


def test_opt_out_is_audited_and_respected(db_session: Any, docs: dict[str, Document]) -> None:
    idf = user(db_session, "idf")
    deadline_alerts.set_alert_preference(db_session, idf, enabled=False, ip="127.0.0.1")
    deadline_alerts.set_alert_preference(db_session, idf, enabled=False)  # no change, no second event
    db_session.commit()
    run(db_session)
    assert "idf@test.fr" not in outbox(db_session)
    events = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "account.deadline_alerts")).all()
    assert [(e.actor_email, e.details) for e in events] == [("idf@test.fr", {"enabled": False})]
    # Back on: the dates not announced to this account meanwhile come in the next digest.
    deadline_alerts.set_alert_preference(db_session, idf, enabled=True)
    db_session.commit()
    assert run(db_session).recipients == ["idf@test.fr"]


def test_inactive_accounts_get_nothing(db_session: Any, docs: dict[str, Document]) -> None:
    paca = user(db_session, "paca")
    paca.active = False
    db_session.commit()
    run(db_session)
    assert "paca@test.fr" not in outbox(db_session)


def test_records_older_than_the_overdue_window_are_purged(db_session: Any, docs: dict[str, Document]) -> None:
    run(db_session)
    total = db_session.scalar(select(func.count()).select_from(DeadlineAlert))
    # Two years later every announced date is older than « Dépassées » looks back: the records go.
    report = run(db_session, days(800))
    assert report.purged == total
    assert db_session.scalar(select(func.count()).select_from(DeadlineAlert)) == 0


def test_the_digest_is_sent_as_text_and_html(db_session: Any, docs: dict[str, Document], tmp_path: Any) -> None:
    run(db_session)
    row = outbox(db_session)["idf@test.fr"]
    OutboxMailer(tmp_path).send(mailqueue.as_message(row))
    [path] = tmp_path.glob("*.eml")
    msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    page = msg.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    assert "Convention <b>Dupont & Fils</b>" in text and "&lt;b&gt;Dupont &amp; Fils&lt;/b&gt;" in page
    assert str(msg["Subject"]) == row.subject and "idf@test.fr" in str(msg["Bcc"])


def test_long_sections_are_cut_and_counted(db_session: Any) -> None:
    for i in range(deadline_alerts.MAX_LISTED + 3):
        db_session.add(Document(title=f"Avenant {i:03d}", doc_type="avenant", region_code="11", year=2026,
                                status="signe", keywords="", notes="", end_date=days(3)))
    db_session.commit()
    report = run(db_session)
    body = outbox(db_session)["idf@test.fr"].body
    assert f"Dans 7 jours ({deadline_alerts.MAX_LISTED + 3})" in body
    assert body.count("\n- ") == deadline_alerts.MAX_LISTED and "… et 3 autre(s)" in body
    # All of them are recorded: the three not listed are not announced again tomorrow.
    assert (report.messages, report.alerts) == (5, 5 * (deadline_alerts.MAX_LISTED + 3))  # all but PACA
    assert run(db_session, days(1)).messages == 0
