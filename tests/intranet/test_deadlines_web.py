"""Échéances on the web: « Dépassées », the red warning on the document page, and the handling form."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

from sqlalchemy import select

import samplefiles as sf
from documents import archive
from documents.models import AuditEvent, DeadlineHandling, Document
from documents.storage import LocalStorage
from intranet.library.views import today_paris
from testkit import AuthActions, user


def make_doc(app: Any, session: Any, title: str, *, region: str | None = "11", **dates: Any) -> Document:
    path = Path(app.config["DATA_DIR"]) / f"in-{title}.docx"
    path.write_bytes(sf.make_docx([f"{title} : texte"]))
    try:
        doc = archive.archive_document(
            session, LocalStorage(app.config["STORAGE_DIR"]), actor=user(session, "admin"), path=path,
            filename=f"{title}.docx", meta=archive.Metadata(title=title, doc_type="convention", region_code=region,
                                                            year=2026, status="brouillon", **dates))
        session.commit()
        return doc
    finally:
        path.unlink()


def text(response: Any) -> str:
    return response.get_data(as_text=True)


def section(html: str, heading_id: str) -> str:
    match = re.search(rf'<h2 id="{heading_id}">.*?</section>', html, re.S)
    assert match, heading_id
    return match.group(0)


def test_missed_notice_is_overdue_until_handled(app: Any, db_session: Any, client: Any, auth: AuthActions) -> None:
    today = today_paris()
    # Notice was due 11 days ago; the échéance is still ahead: an unwanted tacit renewal is coming.
    end = today + dt.timedelta(days=80)
    doc = make_doc(app, db_session, "Convention tacite", end_date=end, tacit_renewal=True, notice_months=3)
    other = make_doc(app, db_session, "Convention suivante", effective_date=today, duration_months=12)
    db_session.expire(doc)
    notice = doc.deadline_rows[0]
    assert notice.kind == "preavis" and notice.date < today

    auth.login("idf")
    page = text(client.get(f"/documents/{doc.id}"))
    assert 'role="alert"' in page and "date dépassée sans suite enregistrée" in page
    assert "Date limite de préavis" in section(text(client.get("/documents/echeances")), "overdue-title")
    assert "Convention tacite" in section(text(client.get("/documents/echeances")), "overdue-title")
    assert "Échéances dépassées sans suite" in text(client.get("/"))

    token = auth.token(f"/documents/{doc.id}")
    url = f"/documents/{doc.id}/echeances"
    # No CSRF token, an unknown outcome, « remplacée » without a document: refused, nothing recorded.
    assert client.post(url, data={"term": "0", "outcome": "reconduite"}).status_code == 400
    bad = client.post(url, data={"csrf_token": token, "term": "0", "outcome": "oubliee"})
    assert bad.status_code == 422 and "Not a valid choice" not in text(bad)
    missing = client.post(url, data={"csrf_token": token, "term": "0", "outcome": "remplacee"})
    assert missing.status_code == 422 and "document qui remplace" in text(missing)
    assert db_session.scalar(select(DeadlineHandling.id)) is None

    done = client.post(url, data={"csrf_token": token, "term": "0", "outcome": "remplacee",
                                  "replacement_id": str(other.id), "note": "Nouvelle convention signée."})
    assert done.status_code == 302
    page = text(client.get(f"/documents/{doc.id}"))
    assert 'role="alert"' not in page and "traitée : remplacée par" in page and "Convention suivante" in page
    assert "Convention tacite" not in section(text(client.get("/documents/echeances")), "overdue-title")
    event = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "document.deadline")).one()
    assert event.actor_email == "idf@test.fr" and event.details["replacement_id"] == other.id
    assert client.post(url, data={"csrf_token": token, "term": "0", "outcome": "denoncee"}).status_code == 409


def test_readers_and_other_regions_cannot_handle(app: Any, db_session: Any, client: Any, auth: AuthActions) -> None:
    today = today_paris()
    doc = make_doc(app, db_session, "Convention", end_date=today - dt.timedelta(days=3))
    auth.login("lecteur_idf")
    page = text(client.get(f"/documents/{doc.id}"))
    assert 'role="alert"' in page and "lib-deadline-form" not in page
    token = auth.token(f"/documents/{doc.id}")
    assert client.post(f"/documents/{doc.id}/echeances",
                       data={"csrf_token": token, "term": "0", "outcome": "denoncee"}).status_code == 403
    auth.logout()
    auth.login("paca")
    token = auth.token("/")
    assert client.post(f"/documents/{doc.id}/echeances",
                       data={"csrf_token": token, "term": "0", "outcome": "denoncee"}).status_code == 404
    assert db_session.scalar(select(DeadlineHandling.id)) is None


def api_client(app: Any, session: Any, who: str) -> Any:
    from documents import accounts

    _token, plaintext = accounts.create_token(session, user(session, who), "tests")
    session.commit()
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {plaintext}"
    return client


def test_api_lists_states_and_handles_a_term(app: Any, db_session: Any) -> None:
    today = today_paris()
    late = make_doc(app, db_session, "En retard", end_date=today - dt.timedelta(days=5))
    soon = make_doc(app, db_session, "Bientôt", end_date=today + dt.timedelta(days=10))
    make_doc(app, db_session, "PACA", region="93", end_date=today - dt.timedelta(days=2))
    idf = api_client(app, db_session, "idf")
    body = idf.get("/api/v1/deadlines").get_json()
    assert body["today"] == today.isoformat()
    assert [(i["title"], i["kind"], i["state"], i["days_left"]) for i in body["items"]] == [
        ("En retard", "echeance", "depassee", -5), ("Bientôt", "echeance", "a_venir", 10)]
    assert [i["title"] for i in api_client(app, db_session, "admin").get(
        "/api/v1/deadlines?state=depassee").get_json()["items"]] == ["En retard", "PACA"]
    assert idf.get("/api/v1/deadlines?days=5").get_json()["items"][-1]["title"] == "En retard"
    bad = idf.get("/api/v1/deadlines?state=perdue")
    assert bad.status_code == 422 and "state" in bad.get_json()["error"]["fields"]
    assert idf.get("/api/v1/deadlines?days=-3").status_code == 400

    url = f"/api/v1/documents/{late.id}/deadlines"
    refused = idf.post(url, json={"term": "zéro", "outcome": "oubliee", "replacement_id": 999999})
    assert refused.status_code == 422 and set(refused.get_json()["error"]["fields"]) == {
        "term", "outcome", "replacement_id"}
    assert api_client(app, db_session, "lecteur_idf").post(url, json={"term": 0, "outcome": "denoncee"}).status_code == 403
    assert api_client(app, db_session, "paca").post(url, json={"term": 0, "outcome": "denoncee"}).status_code == 404
    assert idf.post(url, json={"term": 7, "outcome": "denoncee"}).status_code == 404
    done = idf.post(url, json={"term": 0, "outcome": "remplacee", "replacement_id": soon.id})
    assert done.status_code == 201 and done.get_json()["replacement_id"] == soon.id
    assert idf.post(url, json={"term": 0, "outcome": "denoncee"}).status_code == 409
    items = idf.get("/api/v1/deadlines").get_json()["items"]
    assert [(i["title"], i["state"]) for i in items] == [("En retard", "traitee"), ("Bientôt", "a_venir")]
    assert items[0]["handling"]["outcome"] == "remplacee" and items[0]["handling"]["handled_by"] == "idf@test.fr"
    assert idf.get("/api/v1/deadlines?state=depassee").get_json()["items"] == []


def test_cli_lists_and_handles(app: Any, db_session: Any, runner: Any) -> None:
    doc = make_doc(app, db_session, "Convention tacite", end_date=dt.date(2027, 2, 20), tacit_renewal=True,
                   notice_months=3)
    make_doc(app, db_session, "PACA", region="93", end_date=dt.date(2027, 1, 15))
    listed = runner.invoke(args=["deadlines", "--overdue", "--today", "2026-12-01", "--as", "idf@test.fr"])
    assert listed.exit_code == 0, listed.output
    assert listed.output.splitlines() == [
        f"2026-11-20  dépassée               Date limite de préavis     n° {doc.id} Convention tacite"]
    as_json = runner.invoke(args=["deadlines", "--json", "--today", "2026-12-01", "--days", "60"])
    items = json.loads(as_json.output)["items"]
    assert [(i["title"], i["kind"], i["state"]) for i in items] == [
        ("Convention tacite", "preavis", "depassee"), ("PACA", "echeance", "a_venir")]
    assert runner.invoke(args=["deadlines", "--today", "demain"]).exit_code == 2

    refused = runner.invoke(args=["deadline-handle", str(doc.id), "0", "remplacee", "--as", "idf@test.fr"])
    assert refused.exit_code == 2 and "document qui remplace" in refused.output
    done = runner.invoke(args=["deadline-handle", str(doc.id), "0", "denoncee", "--note", "Courrier du 2 déc.",
                               "--as", "idf@test.fr"])
    assert done.exit_code == 0, done.output
    after = runner.invoke(args=["deadlines", "--overdue", "--today", "2026-12-01", "--as", "idf@test.fr"])
    assert after.output.strip() == "Aucune date dépassée sans suite."
    row = db_session.scalars(select(DeadlineHandling)).one()
    assert (row.outcome, row.note, row.handled_by.email) == ("denoncee", "Courrier du 2 déc.", "idf@test.fr")
