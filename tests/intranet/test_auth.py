"""Login, logout, password change and sessions."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from documents import accounts
from documents.models import AuditEvent, LoginAttempt, User, UserSession
from testkit import (
    PASSWORD,
    USERS,
    AuthActions,
    csrf_token,
    is_logged_in,
    login_client,
    replay_client,
    session_cookie,
    sqlite_only,
    user,
)

ROOT = Path(__file__).resolve().parents[2]
NEW_PASSWORD = "Une-autre-phrase-de-passe-2026"


def change_password(client: Any, current: str, new: str, confirm: str | None = None) -> Any:
    """Post the password form with a valid CSRF token."""
    token = csrf_token(client, "/profil/mot-de-passe")
    return client.post("/profil/mot-de-passe", data={
        "current": current, "new": new, "confirm": new if confirm is None else confirm, "csrf_token": token,
    })


# --- login and logout -------------------------------------------------------------------------


@sqlite_only
def test_login_page_is_french(client: Any) -> None:
    response = client.get("/connexion")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<html lang="fr">' in html
    assert "Connexion" in html and "Mot de passe" in html
    assert '<label for="email">' in html and '<label for="password">' in html


@sqlite_only
def test_pages_need_login(client: Any) -> None:
    response = client.get("/referentiel/quartiers")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/connexion?next=")


def test_login_then_logout(client: Any, auth: AuthActions, db_session: Any) -> None:
    response = auth.login("idf")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 200
    assert "Se déconnecter" in home.get_data(as_text=True)
    assert user(db_session, "idf").last_login_at is not None

    response = auth.logout()
    assert response.status_code == 302 and response.headers["Location"] == "/connexion"
    assert not is_logged_in(client)
    db_session.rollback()  # end the read snapshot taken before the requests
    actions = db_session.scalars(
        select(AuditEvent.action).where(AuditEvent.actor_email == USERS["idf"][0]).order_by(AuditEvent.id)
    ).all()
    assert actions[-2:] == ["login", "logout"]


@sqlite_only
def test_login_follows_local_next_only(client: Any) -> None:
    for target, expected in [
        ("/referentiel/quartiers", "/referentiel/quartiers"),
        ("//evil.example/x", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
    ]:
        token = csrf_token(client, "/connexion")
        response = client.post("/connexion?next=" + target, data={
            "email": USERS["idf"][0], "password": PASSWORD, "csrf_token": token})
        assert response.status_code == 302
        assert response.headers["Location"] == expected, target
        AuthActions(client).logout()


def test_wrong_password_is_refused_in_french(client: Any, auth: AuthActions) -> None:
    response = auth.login("idf", "pas-le-bon-mot-de-passe")
    assert response.status_code == 401
    assert "Adresse e-mail ou mot de passe incorrect." in response.get_data(as_text=True)
    assert not is_logged_in(client)


@sqlite_only
def test_disabled_account_cannot_log_in(client: Any, auth: AuthActions, db_session: Any) -> None:
    account = user(db_session, "idf")
    account.active = False
    db_session.commit()
    response = auth.login("idf")
    assert response.status_code == 401
    assert not is_logged_in(client)


@sqlite_only
def test_login_with_empty_fields_is_a_french_form_error(client: Any) -> None:
    token = csrf_token(client)
    response = client.post("/connexion", data={"email": "", "password": "", "csrf_token": token})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Saisissez votre adresse e-mail." in html and "Saisissez votre mot de passe." in html


# --- password change --------------------------------------------------------------------------


def test_password_change_flow(app: Any, client: Any, auth: AuthActions) -> None:
    auth.login("idf")
    wrong = change_password(client, "pas-le-bon-mot-de-passe", NEW_PASSWORD)
    assert wrong.status_code == 422
    assert "Le mot de passe actuel est incorrect." in wrong.get_data(as_text=True)
    mismatch = change_password(client, PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "x")
    assert mismatch.status_code == 422
    assert "Les deux mots de passe ne correspondent pas." in mismatch.get_data(as_text=True)
    short = change_password(client, PASSWORD, "Court-11car")
    assert short.status_code == 422
    assert "au moins 12 caractères" in short.get_data(as_text=True)
    common = change_password(client, PASSWORD, "azerty123456")
    assert common.status_code == 422
    assert "trop courant" in common.get_data(as_text=True)

    done = change_password(client, PASSWORD, NEW_PASSWORD)
    assert done.status_code == 302 and done.headers["Location"] == "/profil"
    assert is_logged_in(client), "the session that changed the password stays open"

    assert login_client(app, "idf", NEW_PASSWORD)
    old = AuthActions(app.test_client()).login("idf", PASSWORD)
    assert old.status_code == 401


@sqlite_only
def test_long_passphrase_accepted_through_the_form(app: Any, client: Any, auth: AuthActions) -> None:
    passphrase = ("le cinéma de quartier ouvre les yeux sur le monde " * 5)[:200]
    auth.login("idf")
    assert change_password(client, PASSWORD, passphrase).status_code == 302
    assert login_client(app, "idf", passphrase)


def test_must_change_password_is_enforced(app: Any, client: Any, db_session: Any) -> None:
    one_time = accounts.generate_password()
    accounts.create_user(db_session, email="nouveau@test.fr", role="regional", region_code="93",
                         password=one_time, must_change_password=True)
    db_session.commit()

    response = AuthActions(client).login("nouveau@test.fr", one_time)
    assert response.status_code == 302 and response.headers["Location"] == "/profil/mot-de-passe"
    # Until the one-time password is replaced, every page leads back to the form.
    for path in ("/", "/referentiel/quartiers", "/profil"):
        elsewhere = client.get(path)
        assert elsewhere.status_code == 302, path
        assert elsewhere.headers["Location"] == "/profil/mot-de-passe", path
    assert client.get("/profil/mot-de-passe").status_code == 200

    assert change_password(client, one_time, NEW_PASSWORD).status_code == 302
    assert client.get("/referentiel/quartiers").status_code == 200
    db_session.rollback()
    assert db_session.scalar(select(User.must_change_password).where(User.email == "nouveau@test.fr")) is False


# --- replayed session cookies -----------------------------------------------------------------


def test_cookie_copied_before_logout_is_refused_after(app: Any, client: Any, auth: AuthActions) -> None:
    auth.login("idf")
    stolen = session_cookie(client, app)
    attacker = replay_client(app, stolen)
    assert is_logged_in(attacker), "the copy works while the session is open (else the test proves nothing)"

    auth.logout()
    assert not is_logged_in(attacker)
    assert attacker.get("/api/v1/me").status_code == 401


def test_cookie_copied_before_password_change_is_refused_after(app: Any, client: Any, auth: AuthActions) -> None:
    auth.login("idf")
    attacker = replay_client(app, session_cookie(client, app))
    other_device = login_client(app, "idf")
    assert is_logged_in(attacker) and is_logged_in(other_device)

    assert change_password(client, PASSWORD, NEW_PASSWORD).status_code == 302
    assert is_logged_in(client)
    assert not is_logged_in(attacker)
    assert not is_logged_in(other_device)


def test_cookie_is_refused_after_account_is_disabled(app: Any, client: Any, auth: AuthActions,
                                                     db_session: Any) -> None:
    auth.login("idf")
    attacker = replay_client(app, session_cookie(client, app))
    assert is_logged_in(attacker)

    admin = login_client(app, "admin")
    idf = user(db_session, "idf")
    token = csrf_token(admin, f"/admin/utilisateurs/{idf.id}")
    response = admin.post(f"/admin/utilisateurs/{idf.id}", data={
        "name": idf.name, "role": "regional", "region": "11", "csrf_token": token})  # "active" unticked
    assert response.status_code == 302
    assert not is_logged_in(client)
    assert not is_logged_in(attacker)
    db_session.rollback()
    open_sessions = db_session.scalar(select(func.count()).select_from(UserSession).where(
        UserSession.user_id == idf.id, UserSession.revoked_at.is_(None)))
    assert open_sessions == 0


def test_session_row_revoked_by_domain_call_ends_web_session(app: Any, client: Any, auth: AuthActions,
                                                             db_session: Any) -> None:
    auth.login("paca")
    assert is_logged_in(client)
    accounts.revoke_all_sessions(db_session, user(db_session, "paca"))
    db_session.commit()
    assert not is_logged_in(client)


# --- session id and cookies -------------------------------------------------------------------


def _sid(client: Any) -> str | None:
    with client.session_transaction() as sess:
        return sess.get("sid")


@sqlite_only
def test_new_session_id_at_every_login(client: Any, auth: AuthActions) -> None:
    auth.login("idf")
    first = _sid(client)
    auth.logout()
    assert _sid(client) is None
    auth.login("idf")
    second = _sid(client)
    assert first and second and first != second


@sqlite_only
def test_pre_login_session_does_not_carry_over(app: Any, client: Any, db_session: Any) -> None:
    # An attacker plants a session (fixation): a chosen sid and some state, before the victim logs in.
    with client.session_transaction() as sess:
        sess["sid"] = "choisi-par-l-attaquant"
        sess["planted"] = "oui"
    planted_cookie = session_cookie(client, app)
    AuthActions(client).login("idf")
    with client.session_transaction() as sess:
        assert sess["sid"] != "choisi-par-l-attaquant"
        assert "planted" not in sess
    assert db_session.get(UserSession, "choisi-par-l-attaquant") is None
    # The cookie the attacker kept from before the login does not give access.
    assert not is_logged_in(replay_client(app, planted_cookie))


@sqlite_only
def test_forged_sid_is_refused(app: Any, client: Any, auth: AuthActions) -> None:
    auth.login("idf")
    user_id = None
    with client.session_transaction() as sess:
        user_id = sess["_user_id"]
        sess["sid"] = "x" * 43
    assert user_id
    assert not is_logged_in(client)


def _set_cookie_headers(response: Any, name: str) -> list[str]:
    return [h for h in response.headers.getlist("Set-Cookie") if h.startswith(name + "=")]


@sqlite_only
def test_session_cookie_flags_and_no_remember_me(app: Any, client: Any, auth: AuthActions) -> None:
    response = auth.login("idf")
    headers = _set_cookie_headers(response, app.config["SESSION_COOKIE_NAME"])
    assert len(headers) == 1
    flags = [part.strip().lower() for part in headers[0].split(";")]
    assert "httponly" in flags
    assert "samesite=lax" in flags
    assert "secure" not in flags  # development config: plain http on 127.0.0.1
    assert not [h for h in response.headers.getlist("Set-Cookie") if "remember" in h.lower()]
    assert client.get_cookie("remember_token") is None
    assert "Se souvenir" not in client.get("/connexion").get_data(as_text=True)


@sqlite_only
def test_production_cookies_are_secure_and_hsts_sent(tmp_path: Path, database_url: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from intranet import create_app

    monkeypatch.setenv("INTRANET_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "yR6ZZYWLuOpMiuuJn6ouycRPI8hXsSM0-G00yewycPeWYZmj")  # random: a repeated key is refused
    monkeypatch.setenv("INTRANET_DATA_DIR", str(tmp_path / "prod"))
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("SESSION_COOKIE_SECURE", raising=False)
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    prod = create_app()
    try:
        assert prod.config["SESSION_COOKIE_SECURE"] is True
        client = prod.test_client()
        https = "https://intranet.example"
        page = client.get("/connexion", base_url=https)
        assert page.headers["Strict-Transport-Security"].startswith("max-age=")
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.get_data(as_text=True)).group(1)
        response = client.post("/connexion", data={"email": USERS["idf"][0], "password": PASSWORD,
                                                   "csrf_token": token},
                               base_url=https, headers={"Referer": https + "/connexion"})
        assert response.status_code == 302
        headers = _set_cookie_headers(response, prod.config["SESSION_COOKIE_NAME"])
        flags = [part.strip().lower() for part in headers[0].split(";")]
        assert {"secure", "httponly", "samesite=lax"} <= set(flags)
        assert client.get("/", base_url=https).status_code == 200
    finally:
        prod.extensions["db_engine"].dispose()


# --- throttling -------------------------------------------------------------------------------


def test_repeated_failures_are_throttled(client: Any, auth: AuthActions, db_session: Any) -> None:
    for _ in range(accounts.MAX_FAILURES_PER_EMAIL):
        assert auth.login("idf", "mauvais-mot-de-passe").status_code == 401
    throttled = auth.login("idf")  # even the right password is refused now
    assert throttled.status_code == 429
    assert "Trop de tentatives" in throttled.get_data(as_text=True)
    assert not is_logged_in(client)
    db_session.rollback()
    outcomes = db_session.scalars(select(AuditEvent.outcome).where(
        AuditEvent.action == "login", AuditEvent.actor_email == USERS["idf"][0])).all()
    assert outcomes.count("failed") == accounts.MAX_FAILURES_PER_EMAIL
    assert outcomes.count("throttled") == 1
    # Another account is not locked out by someone guessing idf's password.
    assert auth.login("paca").status_code == 302


@sqlite_only
def test_throttling_per_ip_covers_many_accounts(client: Any, auth: AuthActions) -> None:
    for i in range(accounts.MAX_FAILURES_PER_IP):
        assert auth.login(f"inconnu{i}@test.fr", "mauvais-mot-de-passe").status_code == 401
    assert auth.login("paca").status_code == 429


WORKER_SCRIPT = textwrap.dedent("""
    import sys
    from documents import accounts
    accounts.configure_hasher(time_cost=1, memory_cost=8 * 1024)
    from intranet import create_app
    from testkit import csrf_token
    database_url, data_dir, email, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    app = create_app({"TESTING": True, "SECRET_KEY": "autre-worker-" + "y" * 32, "DATA_DIR": data_dir,
                      "DATABASE_URL": database_url, "STORAGE_DIR": data_dir + "/files",
                      "INDEX_DIR": data_dir + "/index", "MAIL_OUTBOX_DIR": data_dir + "/mail"})
    client = app.test_client()
    for _ in range(count):
        token = csrf_token(client)
        response = client.post("/connexion", data={"email": email, "password": "mauvais-mot-de-passe",
                                                   "csrf_token": token})
        print(response.status_code)
    app.extensions["db_engine"].dispose()
""")


def test_throttle_holds_across_worker_processes(app: Any, client: Any, auth: AuthActions, database_url: str,
                                                tmp_path: Path, db_session: Any) -> None:
    # Two failures in this process, three in another process (another gunicorn worker, other
    # secret, other memory) on the same database: the sixth attempt here is throttled.
    for _ in range(2):
        assert auth.login("idf", "mauvais-mot-de-passe").status_code == 401
    env = dict(os.environ, PYTHONPATH=f"{ROOT}{os.pathsep}{ROOT / 'tests'}")
    done = subprocess.run(
        [sys.executable, "-c", WORKER_SCRIPT, database_url, str(tmp_path / "worker2"), USERS["idf"][0],
         str(accounts.MAX_FAILURES_PER_EMAIL - 2)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["401"] * (accounts.MAX_FAILURES_PER_EMAIL - 2)
    db_session.rollback()
    assert db_session.scalar(select(func.count()).select_from(LoginAttempt).where(
        LoginAttempt.email == USERS["idf"][0], LoginAttempt.success.is_(False))) == accounts.MAX_FAILURES_PER_EMAIL
    assert auth.login("idf").status_code == 429


@sqlite_only
def test_throttle_holds_across_two_app_instances(app: Any, client: Any, auth: AuthActions) -> None:
    from intranet import create_app

    second = create_app(dict(app.config, SECRET_KEY="second-worker-" + "z" * 32))
    try:
        other = AuthActions(second.test_client())
        for _ in range(accounts.MAX_FAILURES_PER_EMAIL):
            assert other.login("paca", "mauvais-mot-de-passe").status_code == 401
        assert auth.login("paca").status_code == 429
    finally:
        second.extensions["db_engine"].dispose()


def _normalised(html: str, email: str) -> str:
    html = re.sub(r'name="csrf_token"[^>]*value="[^"]+"', 'name="csrf_token" value="X"', html)
    return html.replace(email, "EMAIL")


@sqlite_only
def test_unknown_user_and_wrong_password_look_the_same(app: Any) -> None:
    known, unknown = AuthActions(app.test_client()), AuthActions(app.test_client())
    wrong_password = known.login("idf", "mauvais-mot-de-passe")
    no_such_user = unknown.login("personne@test.fr", "mauvais-mot-de-passe")
    assert wrong_password.status_code == no_such_user.status_code == 401
    assert _normalised(wrong_password.get_data(as_text=True), USERS["idf"][0]) == \
        _normalised(no_such_user.get_data(as_text=True), "personne@test.fr")
