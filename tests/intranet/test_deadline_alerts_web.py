"""Deadline alerts and feed at the edges: the profile (opt-out, feed address), the ICS feed, the CLI, API paging."""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import Any

from icalendar import Calendar
from sqlalchemy import event, func, select

from documents.models import AuditEvent, DeadlineAlert, DeadlineFeedToken, Document, MailOutbox, User
from intranet.accesslog import redact
from intranet.library.views import today_paris
from testkit import AuthActions, login_client, user


def add(session: Any, title: str, *, region: str | None = "11", **fields: Any) -> Document:
    doc = Document(title=title, doc_type="convention", region_code=region, year=2026, status="signe", keywords="",
                   notes="", **fields)
    session.add(doc)
    session.commit()
    return doc


def text(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True))


class Writes:
    """Counts the INSERT, UPDATE and DELETE statements sent to the database while active."""

    def __init__(self, engine: Any) -> None:
        self.engine, self.statements = engine, []

    def _on(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().split(None, 1)[0].upper() in {"INSERT", "UPDATE", "DELETE"}:
            self.statements.append(statement)

    def __enter__(self) -> Writes:
        event.listen(self.engine, "before_cursor_execute", self._on)
        return self

    def __exit__(self, *_exc: Any) -> None:
        event.remove(self.engine, "before_cursor_execute", self._on)


def test_profile_opt_out_needs_csrf_and_is_kept(app: Any, db_session: Any, client: Any, auth: AuthActions) -> None:
    auth.login("idf")
    page = text(client.get("/profil"))
    assert '<h2 id="alertes">Alertes d\'échéances</h2>' in page
    checkbox = re.search(r'<input[^>]*name="deadline_alerts"[^>]*>', page)
    assert checkbox and "checked" in checkbox.group(0), "on by default"
    assert re.search(r'<label for="deadline_alerts">Recevoir les alertes d\'échéances par courriel</label>', page)

    assert client.post("/profil/alertes-echeances", data={}).status_code == 400
    assert user(db_session, "idf").deadline_alerts is True
    token = auth.token("/profil")
    done = client.post("/profil/alertes-echeances", data={"csrf_token": token})
    assert done.status_code == 302 and done.headers["Location"].endswith("/profil#alertes")
    db_session.expire_all()
    assert user(db_session, "idf").deadline_alerts is False
    page = text(client.get("/profil"))
    assert "ne recevrez plus les alertes" in page
    assert "checked" not in re.search(r'<input[^>]*name="deadline_alerts"[^>]*>', page).group(0)  # type: ignore[union-attr]
    client.post("/profil/alertes-echeances", data={"csrf_token": token, "deadline_alerts": "y"})
    db_session.expire_all()
    assert user(db_session, "idf").deadline_alerts is True
    assert db_session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "account.deadline_alerts")) == 2


def _feed_path(page: str) -> str:
    match = re.search(r'<code class="token" id="deadlines-feed-url">https://intranet\.example(/[^<]+)</code>', page)
    assert match, "the new address is shown once"
    return match.group(1)


def test_ics_feed_of_deadlines_with_a_revocable_token(app: Any, db_session: Any, client: Any,
                                                      auth: AuthActions) -> None:
    app.config["BASE_URL"] = "https://intranet.example"
    today = today_paris()
    # Characters the iCalendar text format escapes, and a title long enough to be folded inside accents.
    title = "Convention <Île-de-France> ; avenant, n° 2 \\ " + "é" * 60
    soon = add(db_session, title, end_date=today + dt.timedelta(days=12), notice_months=1)
    add(db_session, "Convention PACA", region="93", end_date=today + dt.timedelta(days=15))
    national = add(db_session, "Protocole national", region=None, end_date=today - dt.timedelta(days=4))
    auth.login("idf")
    assert "Vous n'avez pas d'adresse d'abonnement aux échéances." in text(client.get("/profil"))
    assert client.post("/profil/flux-echeances", data={"action": "create"}).status_code == 400
    assert db_session.scalar(select(DeadlineFeedToken.id)) is None

    token = auth.token("/profil")
    page = text(client.post("/profil/flux-echeances", data={"csrf_token": token, "action": "create"}))
    path = _feed_path(page)
    assert path.startswith("/documents/echeances/flux/ech_") and path.endswith(".ics")
    secret = path.split("/")[-1][:-4]
    # Only the hash is stored; the profile then shows the beginning only.
    stored = db_session.scalars(select(DeadlineFeedToken)).one()
    assert stored.prefix == secret[:10] and secret not in stored.token_hash
    page = text(client.get("/profil"))
    assert secret not in page and f"<code>{secret[:10]}…</code>" in page and "Régénérer l'adresse" in page

    feed_client = app.test_client()  # a calendar application: no session
    engine = app.extensions["db_engine"]
    with Writes(engine) as writes:
        answer = feed_client.get(path)
    assert answer.status_code == 200 and answer.mimetype == "text/calendar"
    assert writes.statements == [], "reading the feed writes nothing"
    cal = Calendar.from_ical(answer.data)
    events = {str(e["uid"]): e for e in cal.walk("VEVENT")}
    assert set(events) == {f"echeance-{soon.id}-0-echeance@intranet.passeurs-images",
                           f"echeance-{soon.id}-0-preavis@intranet.passeurs-images",
                           f"echeance-{national.id}-0-echeance@intranet.passeurs-images"}, "no other region's date"
    due = events[f"echeance-{soon.id}-0-echeance@intranet.passeurs-images"]
    assert str(due["summary"]) == f"Échéance – {title}"
    assert all(len(line) <= 75 for line in answer.data.split(b"\r\n")), "lines folded at 75 octets"
    assert answer.data.endswith(b"END:VCALENDAR\r\n") and str(cal["x-wr-calname"]) == "Échéances – Passeurs d'images"
    assert due.decoded("dtstart") == today + dt.timedelta(days=12)
    assert due.decoded("dtend") == today + dt.timedelta(days=13), "an all-day event"
    assert str(due["url"]) == f"https://intranet.example/documents/{soon.id}"
    assert "État : à venir" in str(due["description"])
    assert str(events[f"echeance-{soon.id}-0-preavis@intranet.passeurs-images"]["summary"]).startswith(
        "Date limite de préavis – ")

    # Regenerate: the old address stops, the new one works; revoke: nothing works.
    with Writes(engine) as writes:
        page = text(client.post("/profil/flux-echeances", data={"csrf_token": token, "action": "create"}))
    assert writes.statements, "the counter sees writes (the POST revokes and creates)"
    new_path = _feed_path(page)
    with Writes(engine) as writes:
        assert feed_client.get(path).status_code == 404
    assert writes.statements == [], "even a refused token writes nothing"
    assert feed_client.get(new_path).status_code == 200
    done = client.post("/profil/flux-echeances", data={"csrf_token": token, "action": "revoke"})
    assert done.status_code == 302
    assert feed_client.get(new_path).status_code == 404
    assert feed_client.get("/documents/echeances/flux/ech_" + "x" * 200 + ".ics").status_code == 404
    assert feed_client.get("/documents/echeances/flux/cal_abc.ics").status_code == 404
    actions = db_session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("deadlines.feed%"))
                                 .order_by(AuditEvent.id)).all()
    assert actions == ["deadlines.feed_create", "deadlines.feed_revoke", "deadlines.feed_create",
                       "deadlines.feed_revoke"]
    # An account disabled after subscribing: its feed stops too.
    page = text(client.post("/profil/flux-echeances", data={"csrf_token": token, "action": "create"}))
    last = _feed_path(page)
    idf = user(db_session, "idf")
    idf.active = False
    db_session.commit()
    assert feed_client.get(last).status_code == 404


def test_access_log_hides_the_feed_token() -> None:
    assert redact("GET /documents/echeances/flux/ech_SECRET123.ics HTTP/1.1") == \
        "GET /documents/echeances/flux/*** HTTP/1.1"
    assert redact("GET /documents/echeances HTTP/1.1") == "GET /documents/echeances HTTP/1.1"


def test_cli_deadlines_notify(app: Any, db_session: Any, runner: Any) -> None:
    app.config["BASE_URL"] = "https://intranet.example/"
    doc = add(db_session, "Convention IDF", end_date=dt.date(2027, 1, 15))
    result = runner.invoke(args=["deadlines-notify", "--today", "2027-01-10"])
    assert result.exit_code == 0, result.output
    assert "Alertes d'échéances du 10/01/2027 : 5 courriel(s) mis en file (5 alerte(s)) pour 6 compte(s)" \
        in result.output
    mail = db_session.scalars(select(MailOutbox).where(MailOutbox.recipients.is_not(None))).all()
    idf = [m for m in mail if m.recipients == ["idf@test.fr"]]
    assert len(idf) == 1 and f"https://intranet.example/documents/{doc.id}\n" in idf[0].body
    assert "https://intranet.example/profil#alertes" in idf[0].body
    assert "https://intranet.example/documents/echeances" in idf[0].body
    again = runner.invoke(args=["deadlines-notify", "--today", "2027-01-10"])
    assert "0 courriel(s) mis en file" in again.output
    assert db_session.scalar(select(func.count()).select_from(DeadlineAlert)) == 5
    bad = runner.invoke(args=["deadlines-notify", "--today", "2027-13-45"])
    assert bad.exit_code == 2 and "date invalide « 2027-13-45 »" in bad.output


def test_cli_deadlines_limit(app: Any, db_session: Any, runner: Any) -> None:
    for i in range(3):
        add(db_session, f"Convention {i}", end_date=dt.date(2027, 1, 11 + i))
    full = runner.invoke(args=["deadlines", "--today", "2027-01-10"])
    assert full.output.count("n° ") == 3
    cut = runner.invoke(args=["deadlines", "--today", "2027-01-10", "--limit", "2"])
    assert cut.exit_code == 0 and cut.output.count("n° ") == 2 and "Convention 2" not in cut.output
    assert runner.invoke(args=["deadlines", "--limit", "0"]).exit_code == 2


def test_api_deadlines_are_paginated(app: Any, db_session: Any) -> None:
    from documents import accounts

    today = today_paris()
    for i in range(5):
        add(db_session, f"Convention {i}", end_date=today + dt.timedelta(days=i + 1))
    add(db_session, "Convention PACA", region="93", end_date=today + dt.timedelta(days=3))
    _token, plaintext = accounts.create_token(db_session, user(db_session, "idf"), "tests")
    db_session.commit()
    api = app.test_client()
    api.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {plaintext}"

    body = api.get("/api/v1/deadlines?per_page=2&page=2").get_json()
    assert (body["total"], body["page"], body["per_page"], body["pages"]) == (5, 2, 2, 3)
    assert [i["title"] for i in body["items"]] == ["Convention 2", "Convention 3"]
    assert body["today"] == today.isoformat()
    assert [i["title"] for i in api.get("/api/v1/deadlines?per_page=2&page=3").get_json()["items"]] == [
        "Convention 4"]
    assert api.get("/api/v1/deadlines?per_page=2&page=9").get_json()["items"] == []
    assert api.get("/api/v1/deadlines").get_json()["per_page"] == 50
    for bad in ("per_page=0", "per_page=201", "page=0", "page=abc", "page=99999999999", "per_page=%00"):
        answer = api.get(f"/api/v1/deadlines?{bad}")
        assert answer.status_code == 400, bad
        assert "error" in answer.get_json()
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    params = {p["name"] for p in spec["paths"]["/deadlines"]["get"]["parameters"]}
    assert {"page", "per_page", "state", "days"} <= params
    schema = spec["paths"]["/deadlines"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert set(schema["required"]) == {"today", "items", "total", "page", "per_page", "pages"}


def test_profile_feed_and_alerts_for_every_role(app: Any, db_session: Any) -> None:
    for who in ("admin", "lecteur_idf", "paca"):
        client = login_client(app, who)
        page = text(client.get("/profil"))
        assert 'id="flux-echeances"' in page and 'id="alertes"' in page
    assert db_session.scalar(select(func.count()).select_from(User).where(User.deadline_alerts.is_(True))) == 6
