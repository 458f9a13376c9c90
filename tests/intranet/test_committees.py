"""Committee pages: scope and denials, forms, minutes workflow, exports, feeds, outbox, dashboard."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from documents.committees.actions import add_action
from documents.committees.attendance import invite_guest
from documents.committees.dates import local, paris_datetime
from documents.committees.decisions import DecisionInput, add_decision
from documents.committees.meetings import MeetingInput, schedule_meeting
from documents.committees.members import add_member
from documents.committees.minutes import approve_minutes, draft_minutes, submit_minutes
from documents.committees.notifications import Notifier
from documents.models import (
    AuditEvent,
    CalendarToken,
    Committee,
    Decision,
    Meeting,
    MinutesComment,
    Quartier,
)
from testkit import AuthActions, committee, csrf_token, deliver_mail, login_client, user, with_committees


@pytest.fixture
def session(db_session: Any) -> Any:
    """The test database with the committees of the reference data."""
    return with_committees(db_session)


def schedule(session: Any, slug: str = "regional-11", who: str = "idf", *, days: int = 10,
             title: str = "Comité de printemps") -> Meeting:
    day = dt.date.today() + dt.timedelta(days=days)
    meeting = schedule_meeting(session, committee(session, slug), actor=user(session, who), data=MeetingInput(
        starts_at=paris_datetime(day, dt.time(14)), title=title, place="DRAC, salle du conseil",
        agenda=["Bilan de l'année", "Validation des projets"]))
    session.commit()  # the test is the edge of this change
    return meeting


def count(session: Any, model: Any) -> int:
    session.rollback()
    return session.scalar(select(func.count()).select_from(model)) or 0


def denials(session: Any, object_type: str = "meeting") -> int:
    session.rollback()
    return session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "access.denied", AuditEvent.object_type == object_type)) or 0


def token(client: Any, path: str) -> str:
    return csrf_token(client, path)


# --------------------------------------------------------------------------- scope


def test_index_lists_only_visible_committees(client: Any, auth: AuthActions, session: Any) -> None:
    schedule(session, "regional-93", "paca", title="Réunion marseillaise")
    schedule(session, title="Réunion francilienne")
    auth.login("idf")
    html = client.get("/comites/").get_data(as_text=True)
    assert "Comité de pilotage régional – Île-de-France" in html and "Comité de pilotage national" in html
    assert "Provence" not in html and "marseillaise" not in html and "francilienne" in html
    auth.logout()
    auth.login("national")
    html = client.get("/comites/").get_data(as_text=True)
    assert "Provence" in html and "marseillaise" in html


def test_other_region_gets_404_everywhere_and_nothing_changes(app: Any, session: Any) -> None:
    meeting = schedule(session)
    add_decision(session, meeting, actor=user(session, "idf"), data=DecisionInput(text="Bilan adopté."))
    session.commit()
    action = add_action(session, meeting, actor=user(session, "idf"), title="Relancer")
    session.commit()
    com_id, mid = meeting.committee_id, meeting.id
    paca = login_client(app, "paca")
    before_denials = denials(session)
    gets = [f"/comites/reunions/{mid}", f"/comites/reunions/{mid}/modifier", f"/comites/reunions/{mid}.ics"]
    for path in gets:
        assert paca.get(path).status_code == 404, path
    assert paca.get(f"/comites/{com_id}").status_code == 404
    csrf = token(paca, "/comites/")
    posts = {
        f"/comites/reunions/{mid}/modifier": {"day": "2030-01-01", "start": "10:00", "place": "Marseille"},
        f"/comites/reunions/{mid}/annuler": {},
        f"/comites/reunions/{mid}/presences": {f"status-{meeting.attendance[0].id}": "absent"},
        f"/comites/reunions/{mid}/decisions": {"decision-kind": "decision", "decision-text": "Intrusion"},
        f"/comites/reunions/{mid}/decisions/{meeting.decisions[0].id}/supprimer": {},
        f"/comites/reunions/{mid}/actions": {"action-title": "Intrusion"},
        f"/comites/actions/{action.id}/statut": {"status": "faite"},
        f"/comites/reunions/{mid}/notes": {f"note-{meeting.agenda[0].id}": "Intrusion"},
        f"/comites/reunions/{mid}/compte-rendu/rediger": {},
        f"/comites/reunions/{mid}/compte-rendu/soumettre": {},
        f"/comites/reunions/{mid}/compte-rendu/approuver": {},
        f"/comites/reunions/{mid}/compte-rendu/remarques": {"comment-body": "Intrusion"},
        f"/comites/reunions/{mid}/dupliquer": {"dup-day": "2030-01-01", "dup-start": "10:00"},
        f"/comites/reunions/{mid}/documents": {"attach-document_id": "1"},
        f"/comites/{com_id}/membres": {"name": "Intrus", "role": "membre"},
        f"/comites/{com_id}/reunions/nouvelle": {"day": "2030-01-01", "start": "10:00", "place": "Marseille"},
    }
    for path, data in posts.items():
        response = paca.post(path, data={**data, "csrf_token": csrf})
        assert response.status_code == 404, path
    assert denials(session) + denials(session, "committee") >= before_denials + len(gets) + len(posts)
    session.expire_all()
    again = session.get(Meeting, mid)
    assert (again.status, again.minutes_status, again.place) == ("planifiee", "aucun", "DRAC, salle du conseil")
    assert [d.text for d in again.decisions] == ["Bilan adopté."] and len(again.actions) == 1
    assert again.actions[0].status == "a_faire" and again.agenda[0].notes == ""
    assert {a.status for a in again.attendance} == {"convoque"}
    assert count(session, Meeting) == 1 and count(session, MinutesComment) == 0


def test_national_committee_is_read_only_for_regional_staff(app: Any, session: Any) -> None:
    meeting = schedule(session, "national", "national")
    idf = login_client(app, "idf")
    html = idf.get(f"/comites/reunions/{meeting.id}").get_data(as_text=True)
    assert "lecture seule" in html and "Modifier la réunion" not in html
    before = denials(session)
    csrf = token(idf, "/comites/")
    assert idf.get(f"/comites/reunions/{meeting.id}/modifier").status_code == 403
    assert idf.post(f"/comites/reunions/{meeting.id}/annuler", data={"csrf_token": csrf}).status_code == 403
    assert idf.post(f"/comites/{meeting.committee_id}/reunions/nouvelle", data={
        "csrf_token": csrf, "day": "2030-01-01", "start": "10:00", "place": "Paris"}).status_code == 403
    assert denials(session) + denials(session, "committee") == before + 3
    session.expire_all()
    assert session.get(Meeting, meeting.id).status == "planifiee" and count(session, Meeting) == 1
    lecteur = login_client(app, "lecteur_idf")
    own = schedule(session)
    assert lecteur.get(f"/comites/reunions/{own.id}").status_code == 200
    assert lecteur.post(f"/comites/reunions/{own.id}/annuler",
                        data={"csrf_token": token(lecteur, "/comites/")}).status_code == 403


def test_post_without_csrf_is_refused(client: Any, auth: AuthActions, session: Any) -> None:
    meeting = schedule(session)
    auth.login("idf")
    response = client.post(f"/comites/reunions/{meeting.id}/annuler")
    assert response.status_code == 400
    session.expire_all()
    assert session.get(Meeting, meeting.id).status == "planifiee"


# --------------------------------------------------------------------------- forms


def test_schedule_edit_and_mail_through_forms(app: Any, client: Any, auth: AuthActions, session: Any,
                                              data_dir: Path) -> None:
    com = committee(session, "regional-11")
    add_member(session, com, actor=user(session, "idf"), name="Nadia Benali", email="nadia@melies.example")
    session.commit()
    auth.login("idf")
    path = f"/comites/{com.id}/reunions/nouvelle"
    bad = client.post(path, data={"csrf_token": token(client, path), "day": "2026-03-12", "start": "14:00",
                                  "end": "12:00", "visio_url": "javascript:alert(1)"})
    assert bad.status_code == 422
    page = bad.get_data(as_text=True)
    assert "L&#39;heure de fin doit suivre" in page and "adresse web" in page
    assert count(session, Meeting) == 0
    response = client.post(path, data={
        "csrf_token": token(client, path), "title": "<script>alert('x')</script>", "day": "2026-03-12",
        "start": "14:00", "end": "16:30", "place": "DRAC, Paris", "agenda": "Bilan 2025\n\nValidation des projets\n"})
    assert response.status_code == 302
    meeting = session.scalar(select(Meeting))
    assert response.headers["Location"].endswith(f"/comites/reunions/{meeting.id}")
    assert [i.title for i in meeting.agenda] == ["Bilan 2025", "Validation des projets"]
    assert local(meeting.starts_at).strftime("%Y-%m-%d %H:%M") == "2026-03-12 14:00"
    html = client.get(f"/comites/reunions/{meeting.id}").get_data(as_text=True)
    assert "<script>alert" not in html and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    mails = deliver_mail(session, data_dir / "mail")
    assert len(mails) == 1 and mails[0].recipients[0] == "nadia@melies.example"

    edit = f"/comites/reunions/{meeting.id}/modifier"
    form = client.get(edit).get_data(as_text=True)
    assert 'value="2026-03-12"' in form and 'value="14:00"' in form and "Validation des projets" in form
    assert client.post(edit, data={"csrf_token": token(client, edit), "title": "Comité", "day": "2026-03-19",
                                   "start": "10:00", "place": "DRAC, Paris",
                                   "agenda": "Bilan 2025\nValidation des projets"}).status_code == 302
    session.expire_all()
    assert session.get(Meeting, meeting.id).sequence == 1
    assert sorted(m.subject.split(" : ")[0] for m in deliver_mail(session, data_dir / "mail")) == [
        "[Passeurs d'images] Convocation", "[Passeurs d'images] Modification"]


def test_members_attendance_decision_action(client: Any, auth: AuthActions, session: Any) -> None:
    com = committee(session, "regional-11")
    auth.login("idf")
    page = f"/comites/{com.id}"
    assert client.post(f"{page}/membres", data={"csrf_token": token(client, page), "user_id": "",
                                                "name": "Nadia Benali", "organisation": "Cinéma Le Méliès",
                                                "email": "nadia@melies.example", "role": "membre"}).status_code == 302
    html = client.get(page).get_data(as_text=True)
    assert "Nadia Benali" in html and "nadia@melies.example" in html
    # Accounts of another region are not offered as members: they could not open the committee.
    assert "paca@test.fr" not in html and "lecteur.idf@test.fr" in html
    session.expire_all()
    meeting = schedule(session)
    drac, nadia = meeting.attendance
    url = f"/comites/reunions/{meeting.id}"
    response = client.post(f"{url}/presences", data={"csrf_token": token(client, url), f"status-{drac.id}": "present",
                                                     f"status-{nadia.id}": "represente", f"rep-{nadia.id}": ""})
    assert response.status_code == 302
    assert "Indiquez qui représente Nadia Benali" in client.get(url).get_data(as_text=True)
    client.post(f"{url}/presences", data={"csrf_token": token(client, url), f"status-{drac.id}": "present",
                                          f"status-{nadia.id}": "represente", f"rep-{nadia.id}": "Léa Durand"})
    quartier = session.scalar(select(Quartier).where(Quartier.region_code == "11").order_by(Quartier.code))
    html = client.get(url).get_data(as_text=True)
    assert f'value="{quartier.code}"' in html
    client.post(f"{url}/decisions", data={
        "decision-csrf_token": _prefixed_token(html, "decision"), "decision-kind": "validation_projet",
        "decision-project_name": "Ciné-plein-air", "decision-porteur": "Association Cinéma & Cité",
        "decision-quartier_code": quartier.code, "decision-actions_concerned": "Projections gratuites"})
    session.expire_all()
    [decision] = session.scalars(select(Decision)).all()
    assert (decision.kind, decision.quartier_code, decision.commune) == (
        "validation_projet", quartier.code, quartier.communes[:200])
    html = client.get(url).get_data(as_text=True)
    assert "Représenté par Léa Durand" not in html  # the manager sees the form, with the name in the field
    assert 'value="Léa Durand"' in html and "Ciné-plein-air" in html
    client.post(f"{url}/actions", data={
        "action-csrf_token": _prefixed_token(html, "action"), "action-title": "Signer la convention",
        "action-owner": "Coordination", "action-due_date": "2020-01-31", "action-decision_id": str(decision.id)})
    session.expire_all()
    action = session.get(Meeting, meeting.id).actions[0]
    assert (action.owner, action.due_date, action.decision_id) == ("Coordination", dt.date(2020, 1, 31), decision.id)
    assert client.post(f"/comites/actions/{action.id}/statut",
                       data={"csrf_token": token(client, url), "status": "en_cours"}).status_code == 302
    session.expire_all()
    assert session.get(Meeting, meeting.id).actions[0].status == "en_cours"


def _prefixed_token(html: str, prefix: str) -> str:
    match = re.search(rf'name="{prefix}-csrf_token" type="hidden" value="([^"]+)"', html) or \
        re.search(rf'id="{prefix}-csrf_token" name="{prefix}-csrf_token" type="hidden" value="([^"]+)"', html)
    assert match, f"no {prefix} CSRF token"
    return match.group(1)


def test_duplicate_through_form(client: Any, auth: AuthActions, session: Any) -> None:
    meeting = schedule(session)
    auth.login("idf")
    url = f"/comites/reunions/{meeting.id}"
    html = client.get(url).get_data(as_text=True)
    response = client.post(f"{url}/dupliquer", data={"dup-csrf_token": _prefixed_token(html, "dup"),
                                                     "dup-day": "2026-10-08", "dup-start": "09:30"})
    assert response.status_code == 302
    copy = session.scalar(select(Meeting).where(Meeting.id != meeting.id))
    assert response.headers["Location"].endswith(f"/comites/reunions/{copy.id}")
    assert [i.title for i in copy.agenda] == ["Bilan de l'année", "Validation des projets"]
    assert local(copy.starts_at).strftime("%Y-%m-%d %H:%M") == "2026-10-08 09:30"


# --------------------------------------------------------------------------- minutes


def test_minutes_workflow_through_pages(app: Any, client: Any, auth: AuthActions, session: Any,
                                        data_dir: Path) -> None:
    com = committee(session, "regional-11")
    add_member(session, com, actor=user(session, "idf"), user_id=user(session, "lecteur_idf").id)
    session.commit()
    meeting = schedule(session)
    url = f"/comites/reunions/{meeting.id}"
    auth.login("idf")
    assert client.post(f"{url}/compte-rendu/soumettre", data={"csrf_token": token(client, url)}).status_code == 409
    assert client.post(f"{url}/compte-rendu/rediger", data={"csrf_token": token(client, url)}).status_code == 302
    session.expire_all()
    m = session.get(Meeting, meeting.id)
    assert m.minutes_status == "brouillon" and m.minutes_document.doc_type == "compte_rendu"
    html = client.get(url).get_data(as_text=True)
    assert "Version 1" in html and "Soumettre aux membres" in html
    assert client.post(f"{url}/compte-rendu/soumettre", data={"csrf_token": token(client, url)}).status_code == 302

    member = login_client(app, "lecteur_idf")
    page = member.get(url).get_data(as_text=True)
    assert "Envoyer la remarque" in page
    assert member.post(f"{url}/compte-rendu/remarques", data={
        "comment-csrf_token": _prefixed_token(page, "comment"),
        "comment-body": "Corriger l'orthographe <b>du</b> porteur."}).status_code == 302
    assert member.post(f"{url}/compte-rendu/approuver", data={"csrf_token": token(member, url)}).status_code == 403
    outsider = login_client(app, "lecteur")
    page = outsider.get(url).get_data(as_text=True)
    assert "Envoyer la remarque" not in page
    assert outsider.post(f"{url}/compte-rendu/remarques", data={
        "csrf_token": token(outsider, url), "comment-body": "Pas membre"}).status_code == 403

    assert client.post(f"{url}/compte-rendu/approuver", data={"csrf_token": token(client, url)}).status_code == 302
    html = client.get(url).get_data(as_text=True)
    assert "version approuvée : <strong>v1</strong>" in html and "(approuvée, verrouillée)" in html
    # Approved minutes are locked: no form to file a new version, and a forged POST is refused.
    assert "Le compte rendu approuvé est verrouillé" in html and "Rédiger une nouvelle version" not in html
    redraft = client.post(f"{url}/compte-rendu/rediger", data={"csrf_token": token(client, url)},
                          follow_redirects=True).get_data(as_text=True)
    assert "verrouillé (compte rendu approuvé)" in redraft and "Version 2" not in redraft
    session.expire_all()
    m = session.get(Meeting, meeting.id)
    assert (m.minutes_status, len(m.minutes_document.versions)) == ("approuve", 1)
    assert "Corriger l&#39;orthographe &lt;b&gt;du&lt;/b&gt; porteur." in html
    subjects = [e.subject for e in deliver_mail(session, data_dir / "mail")]
    assert any("Compte rendu à relire" in s for s in subjects) and any("approuvé" in s for s in subjects)


# --------------------------------------------------------------------------- lists and exports


def test_decisions_and_actions_pages_and_csv_are_scoped(client: Any, auth: AuthActions, session: Any) -> None:
    m_idf = schedule(session)
    m_paca = schedule(session, "regional-93", "paca")
    add_decision(session, m_idf, actor=user(session, "idf"), data=DecisionInput(
        kind="validation_projet", project_name="Ciné-jeunes", porteur="MJC de Pantin"))
    session.commit()
    add_decision(session, m_paca, actor=user(session, "paca"), data=DecisionInput(text="Décision marseillaise"))
    session.commit()
    add_action(session, m_idf, actor=user(session, "idf"), title="Action francilienne",
               due_date=dt.date(2020, 5, 1))
    session.commit()
    add_action(session, m_paca, actor=user(session, "paca"), title="Action marseillaise")
    session.commit()
    auth.login("idf")
    html = client.get("/comites/decisions").get_data(as_text=True)
    assert "Ciné-jeunes" in html and "marseillaise" not in html
    response = client.get("/comites/decisions.csv?type=validation_projet")
    assert response.mimetype == "text/csv" and response.data.startswith(b"\xef\xbb\xbf")
    text = response.data.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("Date;Comité;Région;Réunion;Type;Décision")
    assert "MJC de Pantin" in text and "marseillaise" not in text
    html = client.get("/comites/actions?en_retard=1").get_data(as_text=True)
    assert "Action francilienne" in html and "(en retard)" in html and "marseillaise" not in html
    text = client.get("/comites/actions.csv").data.decode("utf-8-sig")
    assert "Action francilienne" in text and "marseillaise" not in text
    # Asking for another region by filter gives nothing, not that region's rows.
    assert "marseillaise" not in client.get("/comites/decisions.csv?region=93").data.decode("utf-8-sig")


def test_compliance_page_and_home_panel(client: Any, auth: AuthActions, session: Any) -> None:
    schedule(session, "regional-93", "paca")
    auth.login("paca")
    html = client.get("/comites/conformite").get_data(as_text=True)
    year = dt.date.today().year
    assert f"Comités qui ne se sont pas réunis en {year} (2)" in html
    assert "Comité de pilotage régional – Provence" in html and "Île-de-France" not in html
    home = client.get("/").get_data(as_text=True)
    assert "cm-panel-title" in home and f"2 comités sans réunion en {year}" in home


# --------------------------------------------------------------------------- calendar and feeds


def test_meeting_ics(client: Any, auth: AuthActions, session: Any) -> None:
    meeting = schedule(session)
    auth.login("idf")
    response = client.get(f"/comites/reunions/{meeting.id}.ics")
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    body = response.get_data(as_text=True)
    assert f"UID:reunion-{meeting.id}@" in body and "BEGIN:VEVENT" in body and "LOCATION:DRAC\\, salle" in body


def test_personal_feed_token(app: Any, client: Any, auth: AuthActions, session: Any) -> None:
    own = schedule(session, title="Réunion francilienne")
    schedule(session, "regional-93", "paca", title="Réunion marseillaise")
    auth.login("idf")
    html = client.post("/comites/agenda", data={"csrf_token": token(client, "/comites/agenda"),
                                                "action": "create"}).get_data(as_text=True)
    feed_url = re.search(r'<code class="token" id="feed-url">([^<]+)</code>', html).group(1)
    atom_url = re.search(r'<code class="token" id="atom-url">([^<]+)</code>', html).group(1)
    plaintext = feed_url.rsplit("/", 1)[1].removesuffix(".ics")
    assert session.scalar(select(CalendarToken.token_hash)) != plaintext
    assert plaintext not in client.get("/comites/agenda").get_data(as_text=True)

    anonymous = app.test_client()
    path = feed_url.split("127.0.0.1:5000", 1)[1]
    feed = anonymous.get(path)
    assert feed.status_code == 200 and feed.mimetype == "text/calendar"
    body = feed.get_data(as_text=True)
    assert f"UID:reunion-{own.id}@" in body and "marseillaise" not in body and "francilienne" in body
    assert anonymous.get(path.replace("cal_", "cal_x")).status_code == 404
    assert anonymous.get(atom_url.split("127.0.0.1:5000", 1)[1]).status_code == 200

    client.post("/comites/agenda", data={"csrf_token": token(client, "/comites/agenda"), "action": "revoke"})
    assert anonymous.get(path).status_code == 404
    assert anonymous.get(atom_url.split("127.0.0.1:5000", 1)[1]).status_code == 404
    session.rollback()
    logged = session.scalars(select(AuditEvent).where(AuditEvent.action == "calendar.feed_denied")).all()
    assert len(logged) == 3 and all(plaintext[4:] not in str(e.details) for e in logged)


def test_atom_feed_of_approved_minutes_is_scoped(app: Any, client: Any, auth: AuthActions, session: Any,
                                                 tmp_path: Path) -> None:
    from documents.storage import LocalStorage

    storage = LocalStorage(app.config["STORAGE_DIR"])
    for slug, who in (("regional-11", "idf"), ("regional-93", "paca")):
        meeting = schedule(session, slug, who, title=f"Réunion {who}")
        draft_minutes(session, storage, meeting, actor=user(session, who))
        session.commit()
        submit_minutes(session, meeting, actor=user(session, who))
        session.commit()
        approve_minutes(session, meeting, actor=user(session, who))
        session.commit()
    auth.login("idf")
    response = client.get("/comites/flux/comptes-rendus.atom")
    assert response.mimetype == "application/atom+xml"
    body = response.get_data(as_text=True)
    assert body.count("<entry>") == 1 and "Île-de-France" in body and "Provence" not in body
    auth.logout()
    auth.login("national")
    assert client.get("/comites/flux/comptes-rendus.atom").get_data(as_text=True).count("<entry>") == 2
    assert app.test_client().get("/comites/flux/comptes-rendus.atom").status_code == 302


# --------------------------------------------------------------------------- admin outbox, CLI


def test_admin_outbox_page(app: Any, session: Any, data_dir: Path) -> None:
    com = committee(session, "regional-11")
    add_member(session, com, actor=user(session, "idf"), name="Nadia", email="nadia@melies.example")
    session.commit()
    notifier = Notifier()
    schedule_meeting(session, com, actor=user(session, "idf"), notifier=notifier, data=MeetingInput(
        starts_at=paris_datetime(dt.date(2026, 3, 12), dt.time(14)), place="<b>DRAC</b>"))
    session.commit()
    deliver_mail(session, data_dir / "mail")
    admin = login_client(app, "admin")
    html = admin.get("/comites/admin/courriels").get_data(as_text=True)
    assert "Convocation" in html and "nadia@melies.example" in html
    name = re.search(r'/comites/admin/courriels/([0-9TZ-]+-[0-9a-f]{32}\.eml)"', html).group(1)
    message = admin.get(f"/comites/admin/courriels/{name}").get_data(as_text=True)
    assert "Lieu : &lt;b&gt;DRAC&lt;/b&gt;" in message and "invitation.ics" in message
    assert admin.get("/comites/admin/courriels/..%2F..%2Fsecret_key").status_code == 404
    assert admin.get("/comites/admin/courriels/nope.eml").status_code == 404
    regional = login_client(app, "idf")
    assert regional.get("/comites/admin/courriels").status_code == 403
    assert regional.get(f"/comites/admin/courriels/{name}").status_code == 403


def test_bootstrap_hook_and_cli(app: Any, runner: Any, db_session: Any) -> None:
    from intranet.cli import BOOTSTRAP_HOOKS
    from intranet.committees.cli import bootstrap_committees

    assert BOOTSTRAP_HOOKS.count(bootstrap_committees) == 1
    assert count(db_session, Committee) == 0
    result = runner.invoke(args=["committees-init"])
    assert result.exit_code == 0 and "Comités créés : 19." in result.output  # national + 18 current regions
    assert runner.invoke(args=["committees-init"]).output.strip() == "Comités créés : 0."
    result = runner.invoke(args=["committees-compliance"])
    assert result.exit_code == 0 and f"Comités sans réunion en {dt.date.today().year} : 19" in result.output


# --------------------------------------------------------------------------- edits: committee, roles, guests,
# decisions and actions


def audit_actions(session: Any, prefix: str) -> list[str]:
    session.rollback()
    return [e.action for e in session.scalars(select(AuditEvent).where(AuditEvent.action.startswith(prefix))
                                              .order_by(AuditEvent.id))]


def _edit_fixture(session: Any) -> dict[str, Any]:
    idf = user(session, "idf")
    com = committee(session, "regional-11")
    nadia = add_member(session, com, actor=idf, name="Nadia Benali", email="nadia@melies.example")
    session.commit()
    meeting = schedule(session)
    guest = invite_guest(session, meeting, actor=idf, name="Léa Durand", email="lea@ac-creteil.example")
    session.commit()
    decision = add_decision(session, meeting, actor=idf, data=DecisionInput(text="Bilan adopté."))
    session.commit()
    action = add_action(session, meeting, actor=idf, title="Relancer la mairie")
    session.commit()
    return {"com": com.id, "member": nadia.id, "mid": meeting.id, "guest": guest.id, "decision": decision.id,
            "action": action.id}


def _edit_posts(ids: dict[str, Any]) -> dict[str, dict[str, str]]:
    com, mid = ids["com"], ids["mid"]
    return {
        f"/comites/{com}/modifier": {"name": "Intrus", "active": "y"},
        f"/comites/{com}/membres/{ids['member']}/role": {"role": "invite"},
        f"/comites/{com}/membres/{ids['member']}/retirer": {},
        f"/comites/reunions/{mid}/invites": {"guest-name": "Intrus", "guest-email": "intrus@example.org"},
        f"/comites/reunions/{mid}/invites/{ids['guest']}/retirer": {},
        f"/comites/reunions/{mid}/decisions/{ids['decision']}/modifier": {"decision-kind": "decision",
                                                                          "decision-text": "Intrusion"},
        f"/comites/actions/{ids['action']}/supprimer": {},
    }


def _unchanged(session: Any, ids: dict[str, Any]) -> None:
    session.expire_all()
    com = session.get(Committee, ids["com"])
    assert (com.name, com.active) == ("Comité de pilotage régional – Île-de-France", True)
    assert [(m.display_name, m.role) for m in com.members][1:] == [("Nadia Benali", "membre")]
    meeting = session.get(Meeting, ids["mid"])
    assert [a.name for a in meeting.attendance] == ["DRAC Île-de-France", "Nadia Benali", "Léa Durand"]
    assert [d.text for d in meeting.decisions] == ["Bilan adopté."]
    assert [a.title for a in meeting.actions] == ["Relancer la mairie"]


def test_edit_routes_refuse_other_region_read_only_and_lecteur(app: Any, session: Any) -> None:
    ids = _edit_fixture(session)
    posts = _edit_posts(ids)
    gets = [f"/comites/{ids['com']}/modifier", f"/comites/reunions/{ids['mid']}/decisions/{ids['decision']}/modifier"]
    paca = login_client(app, "paca")
    before = denials(session) + denials(session, "committee") + denials(session, "action")
    for path in gets:
        assert paca.get(path).status_code == 404, path
    csrf = token(paca, "/comites/")
    for path, data in posts.items():
        assert paca.post(path, data={**data, "csrf_token": csrf}).status_code == 404, path
    after = denials(session) + denials(session, "committee") + denials(session, "action")
    assert after == before + len(gets) + len(posts)
    _unchanged(session, ids)

    lecteur = login_client(app, "lecteur_idf")
    csrf = token(lecteur, "/comites/")
    for path in gets:
        assert lecteur.get(path).status_code == 403, path
    for path, data in posts.items():
        assert lecteur.post(path, data={**data, "csrf_token": csrf}).status_code == 403, path
    html = lecteur.get(f"/comites/reunions/{ids['mid']}").get_data(as_text=True)
    assert "Corriger" not in html and "Inviter une personne" not in html
    _unchanged(session, ids)

    # Without a CSRF token nothing changes either (400).
    idf = login_client(app, "idf")
    for path, data in posts.items():
        assert idf.post(path, data=data).status_code == 400, path
    _unchanged(session, ids)


def test_national_committee_edits_are_403_for_regional_staff(app: Any, session: Any) -> None:
    national = committee(session, "national")
    meeting = schedule(session, "national", "national")
    decision = add_decision(session, meeting, actor=user(session, "national"),
                            data=DecisionInput(text="Orientations 2026."))
    session.commit()
    idf = login_client(app, "idf")
    html = idf.get(f"/comites/{national.id}").get_data(as_text=True)
    assert "Modifier le comité" not in html
    before = denials(session) + denials(session, "committee")
    csrf = token(idf, "/comites/")
    assert idf.get(f"/comites/{national.id}/modifier").status_code == 403
    assert idf.post(f"/comites/{national.id}/modifier", data={"csrf_token": csrf, "name": "X"}).status_code == 403
    assert idf.post(f"/comites/{national.id}/membres/{national.members[0].id}/role",
                    data={"csrf_token": csrf, "role": "membre"}).status_code == 403
    assert idf.post(f"/comites/reunions/{meeting.id}/invites",
                    data={"csrf_token": csrf, "guest-name": "Intrus"}).status_code == 403
    assert idf.post(f"/comites/reunions/{meeting.id}/decisions/{decision.id}/modifier",
                    data={"csrf_token": csrf, "decision-text": "X"}).status_code == 403
    assert denials(session) + denials(session, "committee") == before + 5
    session.expire_all()
    assert committee(session, "national").name == "Comité de pilotage national"
    assert session.get(Decision, decision.id).text == "Orientations 2026."
    assert len(session.get(Meeting, meeting.id).attendance) == 1


def test_edit_committee_through_form(client: Any, auth: AuthActions, session: Any) -> None:
    com = committee(session, "regional-11")
    auth.login("idf")
    page = f"/comites/{com.id}"
    assert "Modifier le comité" in client.get(page).get_data(as_text=True)
    edit = f"{page}/modifier"
    form = client.get(edit).get_data(as_text=True)
    assert 'value="Comité de pilotage régional – Île-de-France"' in form and "checked" in form
    bad = client.post(edit, data={"csrf_token": token(client, edit), "name": " ", "active": "y"})
    assert bad.status_code == 422 and "Le nom du comité est obligatoire." in bad.get_data(as_text=True)
    response = client.post(edit, data={"csrf_token": token(client, edit), "name": "Comité IDF <b>",
                                       "description": "Partenaires franciliens"})
    assert response.status_code == 302 and response.headers["Location"].endswith(page)
    session.expire_all()
    com = session.get(Committee, com.id)
    assert (com.name, com.description, com.active) == ("Comité IDF <b>", "Partenaires franciliens", False)
    html = client.get(page).get_data(as_text=True)
    assert "Comité IDF &lt;b&gt;" in html and "Ce comité est désactivé" in html and "Planifier une réunion" not in html
    assert audit_actions(session, "committee.update") == ["committee.update"]


def test_member_role_and_removal_through_forms(client: Any, auth: AuthActions, session: Any) -> None:
    com = committee(session, "regional-11")
    nadia = add_member(session, com, actor=user(session, "idf"), name="Nadia Benali")
    session.commit()
    auth.login("idf")
    page = f"/comites/{com.id}"
    html = client.get(page).get_data(as_text=True)
    assert f'id="role-{nadia.id}"' in html and f'for="role-{nadia.id}"' in html
    url = f"{page}/membres/{nadia.id}/role"
    assert client.post(url, data={"csrf_token": token(client, page), "role": "chef"}).status_code == 302
    session.expire_all()
    assert session.get(type(nadia), nadia.id).role == "membre"
    assert client.post(url, data={"csrf_token": token(client, page), "role": "president"}).status_code == 302
    session.expire_all()
    assert session.get(type(nadia), nadia.id).role == "president"
    # A member of another committee through this committee's address: 404 and logged.
    other = committee(session, "national").members[0]
    before = denials(session, "committee_member")
    assert client.post(f"{page}/membres/{other.id}/role",
                       data={"csrf_token": token(client, page), "role": "invite"}).status_code == 404
    assert denials(session, "committee_member") == before + 1
    assert client.post(f"{page}/membres/{nadia.id}/retirer", data={"csrf_token": token(client, page)}).status_code == 302
    session.expire_all()
    assert [m.display_name for m in session.get(Committee, com.id).members] == ["DRAC Île-de-France"]
    assert audit_actions(session, "committee.member_") == ["committee.member_add", "committee.member_role",
                                                           "committee.member_remove"]


def test_guest_through_form(client: Any, auth: AuthActions, session: Any, data_dir: Path) -> None:
    meeting = schedule(session)
    auth.login("idf")
    url = f"/comites/reunions/{meeting.id}"
    html = client.get(url).get_data(as_text=True)
    assert "Inviter une personne à cette réunion seulement" in html
    response = client.post(f"{url}/invites", data={
        "guest-csrf_token": _prefixed_token(html, "guest"), "guest-name": "Léa <i>Durand</i>",
        "guest-organisation": "Rectorat", "guest-email": "lea@ac-creteil.example"})
    assert response.status_code == 302
    session.expire_all()
    guest = session.get(Meeting, meeting.id).attendance[-1]
    assert (guest.name, guest.guest, guest.email, guest.role) == (
        "Léa <i>Durand</i>", True, "lea@ac-creteil.example", "invite")
    html = client.get(url).get_data(as_text=True)
    assert "Léa &lt;i&gt;Durand&lt;/i&gt;" in html and "(invité à cette réunion, lea@ac-creteil.example)" in html
    assert f'id="status-{guest.id}"' in html
    mails = deliver_mail(session, data_dir / "mail")
    assert len(mails) == 1 and "lea@ac-creteil.example" in mails[0].recipients
    # A form error says what to fix; nothing is added.
    bad = client.post(f"{url}/invites", data={"guest-csrf_token": _prefixed_token(html, "guest"),
                                              "guest-name": "X", "guest-email": "a@b.fr, c@d.fr"},
                      follow_redirects=True)
    assert "Adresse e-mail invalide" in bad.get_data(as_text=True)
    # Attendance is recorded for the guest like for members.
    client.post(f"{url}/presences", data={"csrf_token": token(client, url), f"status-{guest.id}": "present"})
    session.expire_all()
    assert session.get(Meeting, meeting.id).attendance[-1].status == "present"
    assert client.post(f"{url}/invites/{guest.id}/retirer", data={"csrf_token": token(client, url)}).status_code == 302
    session.expire_all()
    assert [a.guest for a in session.get(Meeting, meeting.id).attendance] == [False]
    # A member's row cannot be withdrawn as a guest.
    member_row = session.get(Meeting, meeting.id).attendance[0]
    assert client.post(f"{url}/invites/{member_row.id}/retirer",
                       data={"csrf_token": token(client, url)}).status_code == 404
    assert audit_actions(session, "meeting.guest") == ["meeting.guest_add", "meeting.guest_remove"]


def test_edit_decision_and_delete_action_through_forms(client: Any, auth: AuthActions, session: Any) -> None:
    meeting = schedule(session)
    idf = user(session, "idf")
    decision = add_decision(session, meeting, actor=idf, data=DecisionInput(text="Bilan adopté."))
    session.commit()
    action = add_action(session, meeting, actor=idf, title="Relancer la mairie", decision_id=decision.id)
    session.commit()
    auth.login("idf")
    url = f"/comites/reunions/{meeting.id}"
    html = client.get(url).get_data(as_text=True)
    edit = f"{url}/decisions/{decision.id}/modifier"
    assert f'href="{edit}"' in html
    form = client.get(edit).get_data(as_text=True)
    assert "Bilan adopté." in form and "Corriger la décision n° 1" in form
    bad = client.post(edit, data={"decision-csrf_token": _prefixed_token(form, "decision"),
                                  "decision-kind": "validation_projet", "decision-project_name": ""})
    assert bad.status_code == 422 and "Indiquez le porteur de projet." in bad.get_data(as_text=True)
    response = client.post(edit, data={"decision-csrf_token": _prefixed_token(form, "decision"),
                                       "decision-kind": "decision", "decision-text": "Bilan adopté à l'unanimité."})
    assert response.status_code == 302
    session.expire_all()
    again = session.get(Decision, decision.id)
    assert again.text == "Bilan adopté à l'unanimité." and again.meeting.actions[0].decision_id == decision.id
    assert client.get(f"{url}/decisions/999999/modifier").status_code == 404
    assert client.post(f"/comites/actions/{action.id}/supprimer",
                       data={"csrf_token": token(client, url)}).status_code == 302
    session.expire_all()
    assert session.get(Meeting, meeting.id).actions == []
    assert client.post("/comites/actions/999999/supprimer", data={"csrf_token": token(client, url)}).status_code == 404
    assert audit_actions(session, "meeting.decision_update") == ["meeting.decision_update"]
    assert audit_actions(session, "meeting.action_delete") == ["meeting.action_delete"]


def test_attach_a_document_found_by_searching(app: Any, client: Any, auth: AuthActions, session: Any) -> None:
    from documents.models import MeetingDocument
    from searchkit import archive_doc

    ours = archive_doc(app, session, "Bilan des ateliers de Saint-Denis 2025", ["Saint-Denis."], region="11")
    national = archive_doc(app, session, "Bilan national des ateliers 2025", ["National."], region=None)
    theirs = archive_doc(app, session, "Bilan des ateliers de Marseille 2025", ["Marseille."], region="93")
    session.commit()
    meeting = schedule(session)
    auth.login("idf")
    url = f"/comites/reunions/{meeting.id}"

    def page_of(path: str, **query: str) -> str:
        return unescape(client.get(path, query_string=query).get_data(as_text=True))

    html = page_of(url)
    # With JavaScript the field searches as one types, within what the meeting may hold.
    assert 'data-picker-suggest="/api/v1/documents/suggest?within=11"' in html
    assert "— Cherchez d'abord le document —" in html
    # Without JavaScript: « Chercher » brings the page back with the matches of the region and national.
    html = page_of(url, joindre="bilan ateliers")
    assert "2 documents trouvés" in html
    assert f'<option value="{ours.id}">' in html and f'<option value="{national.id}">' in html
    assert f'value="{theirs.id}"' not in html and "Marseille" not in html
    assert "Aucun document de la région du comité ou national ne correspond à « zzz »" in page_of(url, joindre="zzz")
    assert "au moins" in page_of(url, joindre="b")

    def attach(data: dict[str, str]) -> str:
        page = client.get(url).get_data(as_text=True)
        response = client.post(f"{url}/documents", data={"attach-csrf_token": _prefixed_token(page, "attach"), **data})
        assert response.status_code == 302
        return page_of(url)

    assert "Document joint." in attach({"attach-document": str(ours.id)})
    assert "Document joint." in attach({"attach-document": "", "attach-document_id": str(national.id)})
    # An attached document is no longer offered.
    html = page_of(url, joindre="bilan ateliers")
    assert "Aucun document de la région du comité ou national ne correspond" in html
    assert "Choisissez le document à joindre" in attach({"attach-document": ""})
    assert "Numéro de document invalide" in attach({"attach-document_id": "99999999999999999999"})
    assert "Numéro de document invalide" in attach({"attach-document_id": "douze"})
    # Typed by hand, the number of a document Île-de-France staff may not read is refused, in French.
    assert "Document introuvable." in attach({"attach-document_id": str(theirs.id)})
    assert "Document introuvable." in attach({"attach-document": str(theirs.id)})
    session.expire_all()
    assert {a.document_id for a in session.scalars(select(MeetingDocument))} == {ours.id, national.id}
