"""API of the meetings: scope, creation, minutes workflow, comments, OpenAPI."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select

from documents.committees.dates import paris_datetime
from documents.committees.meetings import MeetingInput, schedule_meeting
from documents.committees.members import add_member
from documents.committees.minutes import draft_minutes
from documents.models import AuditEvent, Committee, Meeting, MinutesComment
from documents.storage import LocalStorage
from testkit import AuthActions, bearer, csrf_token, user, with_committees


@pytest.fixture
def session(db_session: Any) -> Any:
    return with_committees(db_session)


def committee_id(session: Any, slug: str) -> int:
    return session.scalar(select(Committee.id).where(Committee.slug == slug))



def schedule(session: Any, slug: str, who: str, title: str = "Comité") -> Meeting:
    com = session.get(Committee, committee_id(session, slug))
    meeting = schedule_meeting(session, com, actor=user(session, who), data=MeetingInput(
        starts_at=paris_datetime(dt.date(2026, 3, 12), dt.time(14)), title=title, place="Salle du conseil"))
    session.commit()  # the test is the edge of this change
    return meeting


def meeting_count(session: Any) -> int:
    session.rollback()
    return session.scalar(select(func.count()).select_from(Meeting)) or 0


def test_create_with_token_and_read_back(app: Any, session: Any) -> None:
    client = app.test_client()
    headers = bearer(session, "idf")
    payload = {"committee_id": committee_id(session, "regional-11"), "title": "Comité régional de printemps",
               "starts_at": "2026-03-12T14:00", "ends_at": "2026-03-12T16:00:00+01:00",
               "visio_url": "https://visio.example/idf", "agenda": ["Bilan", "Validation des projets"]}
    response = client.post("/api/v1/meetings", json=payload, headers=headers)
    assert response.status_code == 201, response.get_json()
    data = response.get_json()
    assert response.headers["Location"].endswith(f"/api/v1/meetings/{data['id']}")
    assert (data["region"], data["starts_at"], data["ends_at"]) == (
        "11", "2026-03-12T13:00:00+00:00", "2026-03-12T15:00:00+00:00")
    assert [a["title"] for a in data["agenda"]] == ["Bilan", "Validation des projets"]
    assert data["minutes"]["status"] == "aucun" and data["can_manage"] is True
    again = client.get(f"/api/v1/meetings/{data['id']}", headers=headers).get_json()
    assert again["title"] == "Comité régional de printemps"


def test_create_is_validated_and_scoped(app: Any, session: Any) -> None:
    client = app.test_client()
    headers = bearer(session, "idf")
    bad = client.post("/api/v1/meetings", headers=headers, json={
        "committee_id": committee_id(session, "regional-11"), "starts_at": "12/03/2026", "agenda": "Bilan"})
    assert bad.status_code == 422 and "agenda" in bad.get_json()["error"]["fields"]
    bad = client.post("/api/v1/meetings", headers=headers, json={
        "committee_id": committee_id(session, "regional-11"), "starts_at": "le 12 mars"})
    assert bad.status_code == 422 and "starts_at" in bad.get_json()["error"]["fields"]
    bad = client.post("/api/v1/meetings", headers=headers, json={
        "committee_id": committee_id(session, "regional-11"), "starts_at": "2026-03-12T14:00"})
    assert bad.status_code == 422 and "place" in bad.get_json()["error"]["fields"]
    assert client.post("/api/v1/meetings", headers=headers, data="pas du json").status_code == 400
    assert client.post("/api/v1/meetings", headers=headers, json={"committee_id": "11"}).status_code == 422
    base = {"starts_at": "2026-03-12T14:00", "place": "Marseille"}
    other = client.post("/api/v1/meetings", headers=headers,
                        json={**base, "committee_id": committee_id(session, "regional-93")})
    assert other.status_code == 404 and other.get_json()["error"]["status"] == 404
    national = client.post("/api/v1/meetings", headers=headers,
                           json={**base, "committee_id": committee_id(session, "national")})
    assert national.status_code == 403
    lecteur = client.post("/api/v1/meetings", headers=bearer(session, "lecteur_idf"),
                          json={**base, "committee_id": committee_id(session, "regional-11")})
    assert lecteur.status_code == 403
    assert meeting_count(session) == 0
    denied = session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "access.denied", AuditEvent.object_type == "committee"))
    assert denied == 3


def test_session_writes_need_csrf(client: Any, auth: AuthActions, session: Any) -> None:
    auth.login("idf")
    payload = {"committee_id": committee_id(session, "regional-11"), "starts_at": "2026-03-12T14:00",
               "place": "Paris"}
    assert client.post("/api/v1/meetings", json=payload).status_code == 400
    assert meeting_count(session) == 0
    response = client.post("/api/v1/meetings", json=payload, headers={"X-CSRFToken": csrf_token(client, "/")})
    assert response.status_code == 201


def test_list_and_detail_are_scoped(app: Any, session: Any) -> None:
    own = schedule(session, "regional-11", "idf", "Réunion francilienne")
    paca = schedule(session, "regional-93", "paca", "Réunion marseillaise")
    national = schedule(session, "national", "national", "Réunion nationale")
    client = app.test_client()
    headers = bearer(session, "idf")
    data = client.get("/api/v1/meetings", headers=headers).get_json()
    assert data["total"] == 2 and {m["id"] for m in data["items"]} == {own.id, national.id}
    assert client.get("/api/v1/meetings?region=93", headers=headers).get_json()["total"] == 0
    assert client.get("/api/v1/meetings?region=national", headers=headers).get_json()["items"][0]["id"] == national.id
    assert client.get(f"/api/v1/meetings?committee={paca.committee_id}", headers=headers).get_json()["total"] == 0
    assert client.get(f"/api/v1/meetings/{paca.id}", headers=headers).status_code == 404
    assert client.get(f"/api/v1/meetings/{paca.id}/minutes/comments", headers=headers).status_code == 404
    detail = client.get(f"/api/v1/meetings/{national.id}", headers=headers).get_json()
    assert detail["can_manage"] is False
    everything = client.get("/api/v1/meetings?year=2026", headers=bearer(session, "national")).get_json()
    assert everything["total"] == 3
    assert client.get("/api/v1/meetings").status_code == 401


def test_minutes_workflow_and_comments(app: Any, session: Any) -> None:
    meeting = schedule(session, "regional-11", "idf")
    com = session.get(Committee, meeting.committee_id)
    add_member(session, com, actor=user(session, "idf"), user_id=user(session, "lecteur_idf").id)
    session.commit()
    client = app.test_client()
    idf, member = bearer(session, "idf"), bearer(session, "lecteur_idf")
    paca, outsider = bearer(session, "paca"), bearer(session, "lecteur")
    base = f"/api/v1/meetings/{meeting.id}/minutes"
    no_minutes = client.post(f"{base}/submit", headers=idf)
    assert no_minutes.status_code == 409 and "compte rendu" in no_minutes.get_json()["error"]["message"]
    draft_minutes(session, LocalStorage(app.config["STORAGE_DIR"]), meeting, actor=user(session, "idf"))
    session.commit()
    assert client.post(f"{base}/submit", headers=paca).status_code == 404
    assert client.post(f"{base}/submit", headers=member).status_code == 403
    submitted = client.post(f"{base}/submit", headers=idf).get_json()
    assert submitted["minutes"]["status"] == "soumis" and submitted["minutes"]["submitted_version"] == 1

    comment = client.post(f"{base}/comments", headers=member, json={"body": "Préciser le budget."})
    assert comment.status_code == 201 and comment.get_json()["version"] == 1
    assert client.post(f"{base}/comments", headers=outsider, json={"body": "Pas membre"}).status_code == 403
    assert client.post(f"{base}/comments", headers=paca, json={"body": "Autre région"}).status_code == 404
    assert client.post(f"{base}/comments", headers=member, json={"body": ""}).status_code == 422
    listed = client.get(f"{base}/comments", headers=idf).get_json()
    assert [c["body"] for c in listed["items"]] == ["Préciser le budget."]

    approved = client.post(f"{base}/approve", headers=idf).get_json()
    assert approved["minutes"]["status"] == "approuve" and approved["minutes"]["approved_version"] == 1
    again = client.post(f"{base}/approve", headers=idf)
    assert again.status_code == 409
    assert client.post(f"{base}/comments", headers=member, json={"body": "Trop tard"}).status_code == 409
    session.rollback()
    assert session.scalar(select(func.count()).select_from(MinutesComment)) == 1


def test_openapi_documents_meetings(client: Any) -> None:
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert set(paths["/meetings"]) == {"get", "post"}
    assert "get" in paths["/meetings/{meeting_id}"]
    for action in ("submit", "approve", "reopen"):
        assert "post" in paths[f"/meetings/{{meeting_id}}/minutes/{action}"]
    assert set(paths["/meetings/{meeting_id}/minutes/comments"]) == {"get", "post"}
    assert "committee_id" in paths["/meetings"]["post"]["requestBody"]["content"]["application/json"]["schema"][
        "required"]

