"""Administration: users, roles and regions, the audit log (only admins manage users; actions logged, secrets never)."""

from __future__ import annotations

import html
import logging
import re
from typing import Any

import pytest
from sqlalchemy import select

from documents import accounts
from documents.models import AuditEvent, User
from testkit import PASSWORD, USERS, AuthActions, csrf_token, is_logged_in, login_client, sqlite_only, user

NEW_PASSWORD = "Une-phrase-de-passe-toute-neuve"


def post_form(client: Any, path: str, data: dict[str, Any]) -> Any:
    """Post ``data`` to ``path`` with the CSRF token of the form page."""
    return client.post(path, data={**data, "csrf_token": csrf_token(client, path)})


def text_of(response: Any) -> str:
    """The response body with HTML entities decoded."""
    return html.unescape(response.get_data(as_text=True))


def one_time_password(response: Any) -> str:
    """The one-time password shown on the 'account created' page."""
    match = re.search(r'<code class="token">([^<]+)</code>', response.get_data(as_text=True))
    assert match, "no one-time password on the page"
    return html.unescape(match.group(1))


def by_email(db_session: Any, email: str) -> User | None:
    db_session.rollback()  # a fresh read, after the requests
    return db_session.scalar(select(User).where(User.email == email))


@sqlite_only
def test_admin_lists_users(client: Any, auth: AuthActions) -> None:
    auth.login("admin")
    page = text_of(client.get("/admin/utilisateurs"))
    for email, _role, _region in USERS.values():
        assert email in page
    assert "Équipe régionale" in page and "Île-de-France" in page


def test_admin_creates_a_regional_user(app: Any, client: Any, auth: AuthActions, db_session: Any) -> None:
    auth.login("admin")
    response = post_form(client, "/admin/utilisateurs/nouveau", {
        "email": "Nouvelle.Recrue@Test.fr", "name": "Nouvelle Recrue", "role": "regional", "region": "24"})
    assert response.status_code == 200
    assert "Compte créé" in text_of(response)
    password = one_time_password(response)
    created = by_email(db_session, "nouvelle.recrue@test.fr")
    assert created is not None
    assert (created.role, created.region_code, created.must_change_password) == ("regional", "24", True)
    assert password not in created.password_hash and created.password_hash.startswith("$argon2id$")
    event = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "user.create",
                                                       AuditEvent.object_id == str(created.id)))
    assert event.actor_email == USERS["admin"][0]

    newcomer = app.test_client()
    first = AuthActions(newcomer).login("nouvelle.recrue@test.fr", password)
    assert first.headers["Location"] == "/profil/mot-de-passe"


@sqlite_only
def test_regional_user_without_region_is_refused(client: Any, auth: AuthActions, db_session: Any) -> None:
    auth.login("admin")
    response = post_form(client, "/admin/utilisateurs/nouveau", {
        "email": "sans.region@test.fr", "role": "regional", "region": ""})
    assert response.status_code == 422
    assert "Choisissez la région de ce compte." in text_of(response)
    assert 'aria-invalid="true"' in response.get_data(as_text=True)
    assert by_email(db_session, "sans.region@test.fr") is None


CREATE_ERRORS = [
    ({"email": USERS["idf"][0], "role": "national", "region": ""}, "Un compte utilise déjà cette adresse."),
    ({"email": "pas-une-adresse", "role": "national", "region": ""}, "Saisissez une adresse e-mail valide."),
    ({"email": "x@test.fr", "role": "regional", "region": "99"}, "Aucune région n'a le code 99."),
    # A tampered select: refused, though with WTForms' own (English) message, so only the status is checked.
    ({"email": "x@test.fr", "role": "superadmin", "region": ""}, ""),
]


@sqlite_only
def test_create_user_errors(client: Any, auth: AuthActions, db_session: Any) -> None:
    auth.login("admin")
    for data, message in CREATE_ERRORS:
        response = post_form(client, "/admin/utilisateurs/nouveau", data)
        assert response.status_code == 422, data
        assert message in text_of(response), data
    assert by_email(db_session, "x@test.fr") is None
    assert by_email(db_session, "pas-une-adresse") is None


def test_admin_edits_role_and_region(client: Any, auth: AuthActions, db_session: Any) -> None:
    idf = user(db_session, "idf")
    auth.login("admin")
    form = text_of(client.get(f"/admin/utilisateurs/{idf.id}"))
    assert '<option selected value="11">' in form
    response = post_form(client, f"/admin/utilisateurs/{idf.id}", {
        "name": "Île-de-France", "role": "regional", "region": "93", "active": "y"})
    assert response.status_code == 302 and response.headers["Location"] == "/admin/utilisateurs"
    edited = by_email(db_session, USERS["idf"][0])
    assert (edited.role, edited.region_code, edited.name, edited.active) == ("regional", "93", "Île-de-France", True)

    # A national account has no region, whatever the form says.
    post_form(client, f"/admin/utilisateurs/{idf.id}", {"name": "", "role": "national", "region": "93",
                                                        "active": "y"})
    edited = by_email(db_session, USERS["idf"][0])
    assert (edited.role, edited.region_code) == ("national", None)

    refused = post_form(client, f"/admin/utilisateurs/{idf.id}", {"name": "", "role": "regional", "region": "",
                                                                 "active": "y"})
    assert refused.status_code == 422
    assert "Choisissez la région de ce compte." in text_of(refused)
    assert by_email(db_session, USERS["idf"][0]).role == "national"
    assert db_session.scalar(select(AuditEvent).where(AuditEvent.action == "user.update").limit(1)) is not None


def test_admin_disables_a_user(app: Any, client: Any, auth: AuthActions, db_session: Any) -> None:
    paca = user(db_session, "paca")
    auth.login("admin")
    response = post_form(client, f"/admin/utilisateurs/{paca.id}", {"name": "", "role": "regional",
                                                                   "region": "93"})
    assert response.status_code == 302
    assert by_email(db_session, USERS["paca"][0]).active is False
    assert "Désactivé" in text_of(client.get("/admin/utilisateurs"))
    assert AuthActions(app.test_client()).login("paca").status_code == 401


@sqlite_only
def test_admin_cannot_demote_or_disable_themself(client: Any, auth: AuthActions, db_session: Any) -> None:
    admin = user(db_session, "admin")
    auth.login("admin")
    for data in ({"role": "national", "region": "", "active": "y"}, {"role": "admin", "region": ""}):
        response = post_form(client, f"/admin/utilisateurs/{admin.id}", {"name": "", **data})
        assert response.status_code == 422
        assert "Vous ne pouvez pas retirer vos propres droits" in text_of(response)
    refreshed = by_email(db_session, USERS["admin"][0])
    assert (refreshed.role, refreshed.active) == ("admin", True)


def test_admin_resets_a_password(app: Any, client: Any, auth: AuthActions, db_session: Any) -> None:
    victim = login_client(app, "lecteur")
    lecteur = user(db_session, "lecteur")
    auth.login("admin")
    token = csrf_token(client, f"/admin/utilisateurs/{lecteur.id}")
    response = client.post(f"/admin/utilisateurs/{lecteur.id}/reinitialiser", data={"csrf_token": token})
    assert response.status_code == 200 and "Mot de passe réinitialisé" in text_of(response)
    password = one_time_password(response)
    assert not is_logged_in(victim)
    assert AuthActions(app.test_client()).login("lecteur", PASSWORD).status_code == 401
    fresh = AuthActions(app.test_client()).login("lecteur", password)
    assert fresh.headers["Location"] == "/profil/mot-de-passe"


ADMIN_GETS = ["/admin/", "/admin/utilisateurs", "/admin/utilisateurs/nouveau", "/admin/utilisateurs/{id}",
              "/admin/journal"]


@pytest.mark.parametrize("who", ["national", "idf", "lecteur"])
def test_non_admins_get_403_and_are_logged(app: Any, who: str, db_session: Any) -> None:
    target = user(db_session, "paca")
    client = login_client(app, who)
    for path in ADMIN_GETS:
        assert client.get(path.format(id=target.id)).status_code == 403, path
    token = csrf_token(client, "/")
    attempts = {
        "/admin/utilisateurs/nouveau": {"email": "pirate@test.fr", "role": "admin", "region": ""},
        f"/admin/utilisateurs/{target.id}": {"name": "Pirate", "role": "admin", "region": "", "active": "y"},
        f"/admin/utilisateurs/{target.id}/reinitialiser": {},
    }
    for path, data in attempts.items():
        response = client.post(path, data={**data, "csrf_token": token})
        assert response.status_code == 403, path
        assert "Accès refusé" in text_of(response)
    assert by_email(db_session, "pirate@test.fr") is None
    assert by_email(db_session, USERS["paca"][0]).role == "regional"
    denials = db_session.scalars(select(AuditEvent).where(
        AuditEvent.action == "access.denied", AuditEvent.actor_email == USERS[who][0])).all()
    assert len(denials) == len(ADMIN_GETS) + len(attempts)
    assert {d.outcome for d in denials} == {"denied"}
    assert {d.details["path"] for d in denials} >= {"/admin/utilisateurs", "/admin/utilisateurs/nouveau"}


@sqlite_only
def test_anonymous_is_sent_to_login(client: Any) -> None:
    response = client.get("/admin/utilisateurs")
    assert response.status_code == 302 and response.headers["Location"].startswith("/connexion")


def test_audit_log_shows_logins(app: Any, client: Any, auth: AuthActions) -> None:
    login_client(app, "idf")
    AuthActions(app.test_client()).login("paca", "mauvais-mot-de-passe")
    auth.login("admin")
    page = text_of(client.get("/admin/journal"))
    assert "Journal d'audit" in page
    rows = re.findall(r"<tr>(.*?)</tr>", page, flags=re.S)
    assert any(USERS["idf"][0] in row and ">login<" in row and ">ok<" in row for row in rows)
    assert any(USERS["paca"][0] in row and ">login<" in row and ">failed<" in row for row in rows)
    assert re.search(r"\d{1,2} [a-zéû.]+ \d{4}, \d\d:\d\d:\d\d", page), "Paris time, to the second"

    failed_only = text_of(client.get("/admin/journal?outcome=failed"))
    assert USERS["paca"][0] in failed_only and USERS["idf"][0] not in failed_only
    by_actor = text_of(client.get("/admin/journal?actor=IDF@"))
    assert USERS["idf"][0] in by_actor and USERS["paca"][0] not in by_actor


def test_crlf_in_login_email_cannot_forge_log_lines(app: Any, client: Any, auth: AuthActions,
                                                    db_session: Any, caplog: pytest.LogCaptureFixture) -> None:
    forged = "pirate@test.fr\r\nlogin ok by=admin@test.fr ip=127.0.0.1\n"
    with caplog.at_level(logging.INFO, logger="intranet.audit"):
        token = csrf_token(client)
        response = client.post("/connexion", data={"email": forged, "password": "mauvais-mot-de-passe",
                                                   "csrf_token": token})
    assert response.status_code == 401
    audit_lines = [r.getMessage() for r in caplog.records if r.name == "intranet.audit"]
    assert audit_lines, "the failed login was not logged"
    for line in audit_lines:
        assert "\n" not in line and "\r" not in line
    assert not any(line.startswith("login ok by=admin") for line in audit_lines)
    db_session.rollback()
    event = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "login")
                               .order_by(AuditEvent.id.desc())).first()
    assert event.outcome == "failed"
    assert "\n" not in event.actor_email and "\r" not in event.actor_email
    assert event.actor_email.startswith("pirate@test.fr\\r\\nlogin ok")

    auth.login("admin")
    page = client.get("/admin/journal?outcome=failed").get_data(as_text=True)
    row = next(r for r in re.findall(r"<tr>(.*?)</tr>", page, flags=re.S) if "pirate@test.fr" in r)
    assert "\n" not in row.split("<td>")[2]


@sqlite_only
def test_no_password_or_token_in_audit_or_logs(app: Any, client: Any, auth: AuthActions, db_session: Any,
                                               caplog: pytest.LogCaptureFixture) -> None:
    secrets: list[str] = [PASSWORD, NEW_PASSWORD, "mauvais-mot-de-passe-tres-long"]
    with caplog.at_level(logging.DEBUG):
        AuthActions(app.test_client()).login("idf", secrets[2])
        auth.login("admin")
        created = post_form(client, "/admin/utilisateurs/nouveau", {
            "email": "secret@test.fr", "role": "national", "region": ""})
        secrets.append(one_time_password(created))
        profile = post_form(client, "/profil", {"name": "mon script"})
        secrets.append(re.search(r'<code class="token">([^<]+)</code>', profile.get_data(as_text=True)).group(1))
        post_form(client, "/profil/mot-de-passe", {"current": PASSWORD, "new": NEW_PASSWORD,
                                                   "confirm": NEW_PASSWORD})
        _tok, cli_token = accounts.create_token(db_session, user(db_session, "idf"), "cli")
        db_session.commit()
        secrets.append(cli_token)
    assert caplog.records, "nothing was logged at all"
    db_session.rollback()
    stored = " ".join(
        f"{e.actor_email} {e.action} {e.object_id} {e.ip} {e.details}" for e in db_session.scalars(select(AuditEvent))
    )
    assert "token.create" in stored and "user.password" in stored
    for secret in secrets:
        assert secret not in caplog.text, "a secret reached the logs"
        assert secret not in stored, "a secret reached the audit log"
