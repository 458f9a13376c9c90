"""Cross-cutting security cases: failing checks deny, CSRF, headers and CSP, production configuration, error pages."""

from __future__ import annotations

import html as html_lib
import logging
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, select, text, update
from werkzeug.routing import FloatConverter, IntegerConverter

from documents import accounts
from documents.models import ApiToken, Organisation, User
from intranet.config import ConfigError, deploy_problems, load_config
from testkit import PASSWORD, USERS, AuthActions, csrf_token, is_logged_in, login_client, sqlite_only, user

# --- helpers ----------------------------------------------------------------------------------


def snapshot(app: Any, *, skip: tuple[str, ...] = ()) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (reflected, so that other features' tables count too)."""
    engine = app.extensions["db_engine"]
    meta = MetaData()
    meta.reflect(bind=engine)
    out: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            if table.name == "alembic_version" or table.name in skip:
                continue
            order = list(table.primary_key.columns) or list(table.columns)
            out[table.name] = [tuple(row) for row in conn.execute(select(table).order_by(*order))]
    return out


def sample_args(app: Any, db_session: Any) -> dict[str, Any]:
    """Values for the URL arguments of the foundation's routes."""
    idf = user(db_session, "idf")
    org = db_session.scalar(select(Organisation).order_by(Organisation.id))
    token, _plain = accounts.create_token(db_session, user(db_session, "admin"), "sonde")
    db_session.commit()
    quartier = db_session.execute(text("SELECT code FROM quartier ORDER BY code")).scalar()
    return {"user_id": idf.id, "org_id": org.id, "code": quartier, "token_id": token.id}


def rule_url(app: Any, rule: Any, args: dict[str, Any], *, fill_unknown: bool) -> str | None:
    """Build a URL for ``rule``; unknown arguments get a dummy value or make it skipped."""
    values = {}
    for name in rule.arguments:
        if name in args:
            values[name] = args[name]
        elif fill_unknown:
            converter = rule._converters[name]  # noqa: SLF001
            values[name] = 999999 if isinstance(converter, (IntegerConverter, FloatConverter)) else "x"
        else:
            return None
    with app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, **values)


class PageAudit(HTMLParser):
    """Collects what a strict CSP would block, and assets from elsewhere."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=…> (gestionnaire d'événement en ligne)")
            if name == "style":
                self.problems.append(f"<{tag} style=…> (style en ligne bloqué par la CSP)")
            if name in ("href", "src", "action", "formaction") and value and \
                    value.strip().lower().startswith("javascript:"):
                self.problems.append(f"<{tag} {name}=javascript:…>")
        if tag == "script":
            self._in_script = True
            if not named.get("src"):
                self.problems.append("<script> en ligne")
        if tag == "style":
            self.problems.append("<style> en ligne")
        asset = named.get("src") if tag in ("script", "img", "iframe", "source", "audio", "video") else \
            named.get("href") if tag == "link" else None
        if asset and (asset.startswith("//") or "://" in asset):
            self.problems.append(f"ressource externe {asset}")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.problems.append("contenu de <script>")


def page_problems(html: str) -> list[str]:
    """What in ``html`` breaks the no-inline-script rule."""
    audit = PageAudit()
    audit.feed(html)
    return audit.problems


# --- a failing permission check denies --------------------------------------------------------


@sqlite_only
def test_corrupt_role_gets_nothing(app: Any, client: Any, auth: AuthActions, db_session: Any) -> None:
    db_session.execute(update(User).where(User.email == USERS["admin"][0]).values(role="Admin "))
    db_session.commit()
    assert auth.login("admin").status_code == 302
    assert client.get("/admin/utilisateurs").status_code == 403
    assert client.get("/referentiel/organisations/1/modifier").status_code == 403
    home = client.get("/").get_data(as_text=True)
    assert "Administration" not in home
    me = client.get("/api/v1/me").get_json()
    assert me["visible_regions"] == []


@sqlite_only
def test_permission_check_raising_denies_in_views(app: Any, client: Any, auth: AuthActions,
                                                  db_session: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # A fault deep inside the check (here: reading the role blows up) must deny, not grant.
    auth.login("admin")
    assert client.get("/admin/utilisateurs").status_code == 200

    monkeypatch.setattr("documents.permissions.Role", _ExplodingRole)
    assert client.get("/admin/utilisateurs").status_code == 403
    assert client.get("/api/v1/me").get_json()["visible_regions"] == []


class _ExplodingRole:
    """Stands in for ``Role`` and fails on every lookup, like a corrupted enum or a driver error."""

    ADMIN = NATIONAL = REGIONAL = LECTEUR = object()

    def __new__(cls, value: Any) -> Any:
        raise RuntimeError("vérification impossible")


# --- CSRF on every POST, no state change on GET ----------------------------------------------


def unsafe_rules(app: Any) -> list[Any]:
    """Every URL rule that accepts a state-changing method."""
    return [rule for rule in app.url_map.iter_rules()
            if rule.endpoint != "static" and set(rule.methods or ()) & {"POST", "PUT", "PATCH", "DELETE"}]


@sqlite_only
def test_every_post_route_requires_csrf(app: Any, client: Any, auth: AuthActions, db_session: Any) -> None:
    args = sample_args(app, db_session)
    auth.login("admin")
    rules = unsafe_rules(app)
    endpoints = {rule.endpoint for rule in rules}
    # The foundation's own forms must be among them, or the enumeration is broken.
    assert {"auth.login", "auth.logout", "auth.password", "auth.profile", "auth.revoke_token",
            "admin.create_user", "admin.edit_user", "admin.reset_password",
            "reference.edit_organisation"} <= endpoints
    before = snapshot(app)
    checked = []
    for rule in rules:
        url = rule_url(app, rule, args, fill_unknown=True)
        for method in sorted(set(rule.methods or ()) & {"POST", "PUT", "PATCH", "DELETE"}):
            response = client.open(url, method=method, data={"email": "x@test.fr", "name": "Pirate",
                                                             "role": "admin", "active": "y"})
            assert response.status_code == 400, f"{method} {url} ({rule.endpoint}) -> {response.status_code}"
            checked.append(url)
            # A forged token is no better than none.
            forged = client.open(url, method=method, data={"csrf_token": "forge", "name": "Pirate"},
                                 headers={"X-CSRFToken": "forge"})
            assert forged.status_code == 400, f"{method} {url} with a forged token"
    assert snapshot(app) == before
    assert is_logged_in(client), "a logout without CSRF token must not log out"
    assert len(checked) >= 9


@sqlite_only
def test_csrf_failure_is_a_french_page(client: Any) -> None:
    response = client.post("/connexion", data={"email": USERS["idf"][0], "password": PASSWORD})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "jeton CSRF" in html and "Rechargez la page" in html


@sqlite_only
def test_token_of_another_session_is_refused_at_login(app: Any, client: Any, db_session: Any) -> None:
    other_token = csrf_token(app.test_client(), "/connexion")
    csrf_token(client, "/connexion")  # this browser has its own session
    response = client.post("/connexion", data={"email": USERS["idf"][0], "password": PASSWORD,
                                               "csrf_token": other_token})
    assert response.status_code == 400
    assert not is_logged_in(client)


@sqlite_only
def test_forms_without_token_change_nothing(app: Any, client: Any, auth: AuthActions, db_session: Any) -> None:
    idf = user(db_session, "idf")
    auth.login("admin")
    token, _plain = accounts.create_token(db_session, user(db_session, "admin"), "outil")
    db_session.commit()
    admin_hash = user(db_session, "admin").password_hash
    org = db_session.scalar(select(Organisation).order_by(Organisation.id))
    posts = [
        ("/profil/mot-de-passe", {"current": PASSWORD, "new": "Nouvelle-phrase-secrete-1", "confirm":
                                  "Nouvelle-phrase-secrete-1"}),
        ("/profil", {"name": "jeton pirate"}),
        (f"/profil/jetons/{token.id}/revoquer", {}),
        ("/admin/utilisateurs/nouveau", {"email": "pirate@test.fr", "role": "admin", "region": ""}),
        (f"/admin/utilisateurs/{idf.id}", {"name": "Pirate", "role": "admin", "region": "", "active": "y"}),
        (f"/admin/utilisateurs/{idf.id}/reinitialiser", {}),
        (f"/referentiel/organisations/{org.id}/modifier", {"name": "Pirate", "kind": "partenaire"}),
        ("/deconnexion", {}),
    ]
    for path, data in posts:
        assert client.post(path, data=data).status_code == 400, path
    db_session.rollback()
    assert user(db_session, "admin").password_hash == admin_hash
    assert db_session.scalar(select(ApiToken).where(ApiToken.name == "jeton pirate")) is None
    assert db_session.get(ApiToken, token.id).revoked_at is None
    assert db_session.scalar(select(User).where(User.email == "pirate@test.fr")) is None
    assert user(db_session, "idf").role == "regional" and user(db_session, "idf").name != "Pirate"
    assert db_session.get(Organisation, org.id).name != "Pirate"
    assert is_logged_in(client)


@sqlite_only
def test_api_post_with_cookie_needs_csrf_header(app: Any, client: Any, auth: AuthActions,
                                                db_session: Any) -> None:
    calls: list[str] = []

    def probe() -> Any:
        calls.append("changed")
        return {"ok": True}

    # A state-changing API endpoint, registered the way a feature's API view would be.
    app.add_url_rule("/api/v1/sonde", endpoint="api.sonde", view_func=probe, methods=["POST"])
    auth.login("idf")
    refused = client.post("/api/v1/sonde", json={"x": 1})
    assert refused.status_code == 400
    assert refused.get_json()["error"]["status"] == 400
    assert "X-CSRFToken" in refused.get_json()["error"]["message"]
    assert calls == []

    token = csrf_token(client, "/")
    assert client.post("/api/v1/sonde", json={"x": 1}, headers={"X-CSRFToken": token}).status_code == 200
    assert calls == ["changed"]

    # A personal token is not sent by browsers on their own, so it needs no CSRF token.
    _tok, plaintext = accounts.create_token(db_session, user(db_session, "idf"), "script")
    db_session.commit()
    bearer = app.test_client().post("/api/v1/sonde", json={}, headers={"Authorization": f"Bearer {plaintext}"})
    assert bearer.status_code == 200
    assert calls == ["changed", "changed"]


@sqlite_only
def test_get_logout_is_not_a_logout(client: Any, auth: AuthActions) -> None:
    auth.login("idf")
    response = client.get("/deconnexion")
    assert response.status_code == 405
    assert "Méthode non autorisée" in response.get_data(as_text=True)
    assert is_logged_in(client)


def test_no_get_route_changes_state(app: Any, client: Any, auth: AuthActions, db_session: Any) -> None:
    args = sample_args(app, db_session)
    auth.login("admin")
    # Audit rows (a download is logged) and session bookkeeping may move; nothing else may.
    volatile = ("audit_event", "login_attempt", "user_session", "api_token")
    before = snapshot(app, skip=volatile)
    visited = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or "GET" not in (rule.methods or ()) or rule.endpoint == "auth.logout":
            continue
        url = rule_url(app, rule, args, fill_unknown=False)
        if url is None:
            continue
        response = client.get(url)
        assert response.status_code < 500, f"GET {url} -> {response.status_code}"
        visited.append(url)
    assert snapshot(app, skip=volatile) == before
    assert is_logged_in(client)
    assert {"/", "/referentiel/quartiers", "/admin/journal", "/api/v1/me"} <= set(visited)


# --- headers and CSP --------------------------------------------------------------------------


def _csp(response: Any) -> dict[str, list[str]]:
    header = response.headers["Content-Security-Policy"]
    directives: dict[str, list[str]] = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


@sqlite_only
def test_security_headers_on_every_kind_of_response(app: Any, client: Any, auth: AuthActions) -> None:
    auth.login("idf")
    responses = {
        "page": client.get("/referentiel/quartiers"),
        "login": app.test_client().get("/connexion"),
        "404": client.get("/nulle-part"),
        "403": client.get("/admin/utilisateurs"),
        "json": client.get("/api/v1/me"),
        "static": client.get("/static/css/app.css"),
    }
    for kind, response in responses.items():
        csp = _csp(response)
        for name in ("default-src", "script-src"):
            assert name in csp, kind
        for source in csp["script-src"] + csp["default-src"] + csp.get("style-src", []):
            assert source not in ("'unsafe-inline'", "'unsafe-eval'", "*", "data:", "http:", "https:"), kind
        assert csp["frame-ancestors"] in (["'none'"], ["'self'"]), kind
        assert csp.get("object-src") in (["'none'"], ["'self'"]), kind
        assert response.headers["X-Content-Type-Options"] == "nosniff", kind
        assert response.headers["X-Frame-Options"] in ("DENY", "SAMEORIGIN"), kind
        assert response.headers["Referrer-Policy"] in ("same-origin", "no-referrer", "strict-origin"), kind
        assert "Strict-Transport-Security" not in response.headers, kind  # development: plain http
    static = responses["static"]
    static.close()
    assert responses["page"].headers["Cache-Control"] == "no-store"


@sqlite_only
def test_no_inline_script_or_style_in_any_page(app: Any, client: Any, auth: AuthActions,
                                               db_session: Any) -> None:
    args = sample_args(app, db_session)
    pages: dict[str, str] = {
        "connexion": app.test_client().get("/connexion").get_data(as_text=True),
        "connexion refusée": AuthActions(app.test_client()).login("idf", "mauvais-mot-de-passe")
        .get_data(as_text=True),
    }
    auth.login("admin")
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or "GET" not in (rule.methods or ()):
            continue
        url = rule_url(app, rule, args, fill_unknown=False)
        if url is None or url.startswith("/api/") or url == "/deconnexion":
            continue
        response = client.get(url, follow_redirects=True)
        if response.mimetype == "text/html":
            pages[url] = response.get_data(as_text=True)
    pages["404"] = client.get("/nulle-part").get_data(as_text=True)
    token = csrf_token(client, "/profil")
    pages["jeton créé"] = client.post("/profil", data={"name": "script", "csrf_token": token}).get_data(as_text=True)
    token = csrf_token(client, "/admin/utilisateurs/nouveau")
    pages["compte créé"] = client.post("/admin/utilisateurs/nouveau", data={
        "email": "neuf@test.fr", "name": "Neuf", "role": "regional", "region": "24", "csrf_token": token,
    }).get_data(as_text=True)
    token = csrf_token(client, "/admin/utilisateurs/nouveau")
    pages["formulaire en erreur"] = client.post("/admin/utilisateurs/nouveau", data={
        "email": "", "role": "regional", "region": "", "csrf_token": token}).get_data(as_text=True)
    assert len(pages) >= 15
    found = {name: page_problems(html) for name, html in pages.items()}
    assert {name: problems for name, problems in found.items() if problems} == {}


def test_page_audit_catches_what_it_looks_for() -> None:
    # The scanner above must be able to fail.
    assert page_problems('<script>alert(1)</script>')
    assert page_problems('<a href="#" onclick="x()">a</a>')
    assert page_problems('<p style="color:red">a</p>')
    assert page_problems('<script src="https://cdn.example/x.js"></script>')
    assert page_problems('<a href="javascript:alert(1)">a</a>')
    assert page_problems('<script src="/static/js/app.js" defer></script>') == []


# --- production configuration -----------------------------------------------------------------


def _prod_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    env = {"INTRANET_ENV": "production", "SECRET_KEY": "p" * 12 + "-cle-aleatoire-de-production-" + "q" * 12,
           "INTRANET_DATA_DIR": str(tmp_path / "prod")}
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


def test_production_problems_name_the_setting(tmp_path: Path) -> None:
    good = load_config(_prod_env(tmp_path))
    assert good["SESSION_COOKIE_SECURE"] and good["HSTS"] and not good["DEBUG"]
    assert deploy_problems(good) == []
    cases = {
        "SECRET_KEY": _prod_env(tmp_path, SECRET_KEY=""),
        "trop courte": _prod_env(tmp_path, SECRET_KEY="changeme"),
        "SESSION_COOKIE_SECURE": _prod_env(tmp_path, SESSION_COOKIE_SECURE="false"),
        "FLASK_DEBUG": _prod_env(tmp_path, FLASK_DEBUG="1"),
    }
    for expected, env in cases.items():
        problems = deploy_problems(load_config(env))
        assert problems and any(expected in p for p in problems), (expected, problems)
    # A development key generated in the data folder is a default key: refused in production.
    dev = load_config({"INTRANET_DATA_DIR": str(tmp_path / "prod")})
    assert dev["SECRET_KEY"] and dev["SECRET_KEY_IS_DEV"]
    assert (tmp_path / "prod" / "secret_key").read_text(encoding="utf-8") == dev["SECRET_KEY"]
    assert load_config({"INTRANET_DATA_DIR": str(tmp_path / "prod")})["SECRET_KEY"] == dev["SECRET_KEY"], \
        "the development key is kept, so that sessions survive a restart"
    assert (tmp_path / "prod" / "secret_key").stat().st_mode & 0o077 == 0, "the key file is private"
    assert any("SECRET_KEY" in p for p in deploy_problems(dict(dev, ENV_NAME="production",
                                                               SESSION_COOKIE_SECURE=True,
                                                               REMEMBER_COOKIE_SECURE=True)))


def test_production_app_refuses_to_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from intranet import create_app

    for key, value in _prod_env(tmp_path, SECRET_KEY="court", FLASK_DEBUG="true").items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError) as refused:
        create_app()
    message = str(refused.value)
    assert "SECRET_KEY" in message and "FLASK_DEBUG" in message


def test_check_deploy_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The ``intranet`` program itself (its click group), configured by the environment only.
    from click.testing import CliRunner

    from intranet.cli import main

    for key in ("SECRET_KEY", "FLASK_DEBUG", "SESSION_COOKIE_SECURE", "DATABASE_URL"):
        monkeypatch.delenv(key, raising=False)
    runner = CliRunner()
    bad = runner.invoke(main, ["check-deploy"],
                        env=_prod_env(tmp_path, SECRET_KEY="court", SESSION_COOKIE_SECURE="0"))
    assert bad.exit_code == 1
    assert "SECRET_KEY est trop courte (5 caractères)" in bad.output
    assert "SESSION_COOKIE_SECURE doit valoir true" in bad.output
    assert bad.exception is None or isinstance(bad.exception, SystemExit), "a crash, not an answer"
    assert "Traceback" not in bad.output

    good = runner.invoke(main, ["check-deploy"], env=_prod_env(tmp_path))
    assert good.exit_code == 0, good.output
    assert "Configuration de production correcte" in good.output


@sqlite_only
def test_check_deploy_in_the_test_app_flags_testing(runner: Any) -> None:
    result = runner.invoke(args=["check-deploy"])
    assert result.exit_code == 1
    assert "Le mode test doit être désactivé" in result.output


# --- error pages ------------------------------------------------------------------------------


@sqlite_only
def test_generic_500_page_without_traceback(app: Any, client: Any, auth: AuthActions,
                                            caplog: pytest.LogCaptureFixture) -> None:
    def boom() -> Any:
        raise ZeroDivisionError("détail interne secret")

    app.config["PROPAGATE_EXCEPTIONS"] = False
    app.add_url_rule("/panne", view_func=boom)
    app.add_url_rule("/api/v1/panne", endpoint="api.panne", view_func=boom)
    auth.login("idf")
    with caplog.at_level(logging.ERROR):
        response = client.get("/panne")
        api = client.get("/api/v1/panne")
    html = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Erreur interne" in html and "Une erreur inattendue" in html and '<html lang="fr">' in html
    for leak in ("Traceback", "ZeroDivisionError", "détail interne secret", "File \""):
        assert leak not in html and leak not in api.get_data(as_text=True)
    assert api.status_code == 500 and api.mimetype == "application/json"
    assert api.get_json()["error"]["status"] == 500
    # The details go to the server log, for the technical team.
    assert "ZeroDivisionError" in caplog.text


@sqlite_only
def test_french_error_pages(app: Any, client: Any, auth: AuthActions) -> None:
    auth.login("idf")
    not_found = client.get("/nulle-part")
    assert not_found.status_code == 404 and "Page introuvable" in not_found.get_data(as_text=True)
    assert "Cette page n'existe pas" in html_lib.unescape(not_found.get_data(as_text=True))
    not_allowed = client.put("/referentiel/regions")
    assert not_allowed.status_code == 405 and "Méthode non autorisée" in not_allowed.get_data(as_text=True)

    app.config["MAX_CONTENT_LENGTH"] = 10_000
    too_big = client.post("/profil", data={"name": "x" * 20_000, "csrf_token": csrf_token(client, "/profil")})
    assert too_big.status_code == 413
    assert "Fichier trop volumineux" in too_big.get_data(as_text=True)
    assert "taille maximale" in too_big.get_data(as_text=True)
    for response in (not_found, not_allowed, too_big):
        html = response.get_data(as_text=True)
        assert '<html lang="fr">' in html and "Not Found" not in html and "Request Entity" not in html


@sqlite_only
def test_json_errors_under_the_api(app: Any, client: Any) -> None:
    anonymous = client.get("/api/v1/me")
    assert anonymous.status_code == 401 and anonymous.mimetype == "application/json"
    assert anonymous.get_json() == {"error": {"status": 401, "title": "Connexion requise",
                                              "message": "Connectez-vous pour accéder à cette page."}}
    token = login_client(app, "idf")
    missing = token.get("/api/v1/nulle-part")
    assert missing.status_code == 404 and missing.get_json()["error"]["title"] == "Page introuvable"
    wrong_method = token.delete("/api/v1/me")
    assert wrong_method.status_code == 405 and wrong_method.mimetype == "application/json"
