"""The JSON API skeleton under /api/v1: auth by token or session, me, regions, quartiers, OpenAPI."""

from __future__ import annotations

import html
import re
from typing import Any

from sqlalchemy import select

from documents import accounts
from documents.models import ApiToken
from testkit import USERS, AuthActions, csrf_token, login_client, sqlite_only, user


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def token_for(db_session: Any, who: str, name: str = "script") -> str:
    """A personal token created through the domain verb."""
    _token, plaintext = accounts.create_token(db_session, user(db_session, who), name)
    db_session.commit()
    return plaintext


@sqlite_only
def test_unauthenticated_calls_get_401_json(client: Any) -> None:
    for path in ("/api/v1/me", "/api/v1/regions", "/api/v1/quartiers"):
        response = client.get(path)
        assert response.status_code == 401 and response.mimetype == "application/json", path
        assert response.get_json()["error"]["status"] == 401
    for header in ("Bearer pi_faux", "Bearer ", "Basic YWRtaW46YWRtaW4=", "pi_faux"):
        assert client.get("/api/v1/me", headers={"Authorization": header}).status_code == 401, header


def test_me_with_session_and_with_token(app: Any, client: Any, auth: AuthActions, db_session: Any) -> None:
    auth.login("lecteur_idf")
    me = client.get("/api/v1/me").get_json()
    assert me["email"] == USERS["lecteur_idf"][0]
    assert (me["role"], me["region"], me["visible_regions"]) == ("lecteur", "11", ["11", "national"])

    plaintext = token_for(db_session, "national")
    other = app.test_client().get("/api/v1/me", headers=bearer(plaintext)).get_json()
    assert (other["email"], other["role"], other["visible_regions"]) == (USERS["national"][0], "national", None)
    db_session.rollback()
    assert db_session.scalar(select(ApiToken.last_used_at).where(ApiToken.user_id == other["id"])) is not None


@sqlite_only
def test_token_does_not_open_html_pages(app: Any, db_session: Any) -> None:
    plaintext = token_for(db_session, "admin")
    response = app.test_client().get("/admin/utilisateurs", headers=bearer(plaintext))
    assert response.status_code == 302 and response.headers["Location"].startswith("/connexion")
    assert app.test_client().get(f"/api/v1/me?token={plaintext}").status_code == 401


@sqlite_only
def test_regions(client: Any, auth: AuthActions) -> None:
    auth.login("paca")
    data = client.get("/api/v1/regions").get_json()
    assert data["total"] == 26 + 12 == len(data["items"])  # the 2009 map and today's
    assert {"code": "93", "name": "Provence-Alpes-Côte d'Azur", "slug": "provence-alpes-cote-d-azur", "current": True,
            "valid_from": None, "valid_until": None, "successor": None} in data["items"]
    assert {"code": "91", "name": "Languedoc-Roussillon", "slug": "languedoc-roussillon", "current": False,
            "valid_from": None, "valid_until": "2015-12-31", "successor": "76"} in data["items"]
    assert [item["code"] for item in data["items"]][:2] == ["01", "02"]
    assert sum(item["current"] for item in data["items"]) == 18


def test_quartiers_paginated_with_total(app: Any, db_session: Any) -> None:
    client = app.test_client()
    headers = bearer(token_for(db_session, "idf"))
    first = client.get("/api/v1/quartiers", headers=headers).get_json()
    assert (first["total"], first["page"], first["per_page"], first["pages"]) == (215, 1, 50, 5)
    assert len(first["items"]) == 50
    assert set(first["items"][0]) == {"code", "region_code", "region", "departement", "communes", "names", "type"}
    last = client.get("/api/v1/quartiers?page=5", headers=headers).get_json()
    assert len(last["items"]) == 15
    most = client.get("/api/v1/quartiers?per_page=200", headers=headers).get_json()
    assert (most["per_page"], most["page"], len(most["items"])) == (200, 1, 200)
    # Out-of-range or non-numeric paging is refused in French, not silently clamped.
    for query in ("per_page=100000", "page=abc", "per_page=null", "per_page=0", "page=99999999999"):
        refused = client.get(f"/api/v1/quartiers?{query}", headers=headers)
        assert refused.status_code == 400, query
        assert "nombre entier entre" in refused.get_json()["error"]["message"]
    beyond = client.get("/api/v1/quartiers?page=99", headers=headers).get_json()
    assert beyond["items"] == [] and beyond["total"] == 215
    codes = {q["code"] for p in range(1, 6)
             for q in client.get(f"/api/v1/quartiers?page={p}", headers=headers).get_json()["items"]}
    assert len(codes) == 215


def test_quartiers_filters(app: Any, db_session: Any) -> None:
    client = app.test_client()
    headers = bearer(token_for(db_session, "idf"))

    def get(**params: str) -> Any:
        return client.get("/api/v1/quartiers", query_string=params, headers=headers).get_json()

    ssd = get(departement="Seine-Saint-Denis")
    assert ssd["total"] == 20 and {q["departement"] for q in ssd["items"]} == {"Seine St Denis (93)"}
    assert get(region="971")["items"][0] == {
        "code": "0119901", "region_code": "971", "region": "Guadeloupe", "departement": "Guadeloupe (971)",
        "communes": "Pointe-à-Pitre", "names": "RUPAP", "type": "Art.6"}
    assert [q["code"] for q in get(commune="Bondy")["items"]] == ["1127020"]
    assert get(q="Pavé Neuf")["total"] == 1
    assert get(region="11", departement="93")["total"] == 20
    assert get(region="93", departement="93")["total"] == 0
    art6 = [q for page in (1, 2, 3, 4, 5) for q in get(page=str(page))["items"] if q["type"] == "Art.6"]
    assert len(art6) == 3


def test_token_created_and_revoked_from_the_profile(app: Any, client: Any, auth: AuthActions,
                                                    db_session: Any) -> None:
    auth.login("idf")
    response = client.post("/profil", data={"name": "tableur", "csrf_token": csrf_token(client, "/profil")})
    assert response.status_code == 200
    match = re.search(r'<code class="token">([^<]+)</code>', response.get_data(as_text=True))
    assert match
    plaintext = html.unescape(match.group(1))
    assert plaintext.startswith("pi_")
    again = client.get("/profil").get_data(as_text=True)
    assert "tableur" in again and plaintext not in again, "the token is shown once only"

    script = app.test_client()
    assert script.get("/api/v1/me", headers=bearer(plaintext)).get_json()["email"] == USERS["idf"][0]

    token = db_session.scalar(select(ApiToken).where(ApiToken.name == "tableur"))
    assert token.token_hash != plaintext and plaintext not in token.token_hash
    revoke = client.post(f"/profil/jetons/{token.id}/revoquer", data={"csrf_token": csrf_token(client, "/profil")})
    assert revoke.status_code == 302
    refused = script.get("/api/v1/me", headers=bearer(plaintext))
    assert refused.status_code == 401 and refused.mimetype == "application/json"
    assert "Révoqué" in client.get("/profil").get_data(as_text=True)


@sqlite_only
def test_cannot_revoke_someone_elses_token(app: Any, db_session: Any) -> None:
    plaintext = token_for(db_session, "paca")
    token = db_session.scalar(select(ApiToken).where(ApiToken.user_id == user(db_session, "paca").id))
    intruder = login_client(app, "idf")
    response = intruder.post(f"/profil/jetons/{token.id}/revoquer", data={"csrf_token": csrf_token(intruder, "/")})
    assert response.status_code == 404
    assert app.test_client().get("/api/v1/me", headers=bearer(plaintext)).status_code == 200


@sqlite_only
def test_token_of_disabled_account_is_refused(app: Any, db_session: Any) -> None:
    plaintext = token_for(db_session, "paca")
    assert app.test_client().get("/api/v1/me", headers=bearer(plaintext)).status_code == 200
    paca = user(db_session, "paca")
    accounts.update_user(db_session, paca, role="regional", region_code="93", name="", active=False)
    db_session.commit()
    assert app.test_client().get("/api/v1/me", headers=bearer(plaintext)).status_code == 401


@sqlite_only
def test_openapi_document(app: Any, client: Any) -> None:
    response = client.get("/api/v1/openapi.json")  # public: it describes, it does not reveal data
    assert response.status_code == 200 and response.mimetype == "application/json"
    spec = response.get_json()
    assert spec["openapi"].startswith("3.")
    assert spec["info"]["title"] and spec["info"]["version"]
    assert spec["servers"] == [{"url": "/api/v1"}]
    schemes = spec["components"]["securitySchemes"]
    assert schemes["bearer"] == {"type": "http", "scheme": "bearer"}
    for path in ("/me", "/regions", "/quartiers"):
        operation = spec["paths"][path]["get"]
        assert operation["summary"] and "200" in operation["responses"] and "401" in operation["responses"]
        for requirement in operation["security"]:
            assert set(requirement) <= set(schemes)
    params = {p["name"] for p in spec["paths"]["/quartiers"]["get"]["parameters"]}
    assert {"region", "departement", "commune", "q", "page", "per_page"} <= params
    for op in (op for item in spec["paths"].values() for op in item.values()):
        for param in op.get("parameters", []):
            assert param["in"] in ("query", "path", "header") and "schema" in param

    # Every path parameter is declared, as OpenAPI requires.
    for path, item in spec["paths"].items():
        for method, op in item.items():
            declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert set(re.findall(r"{([^}]+)}", path)) <= declared, f"{method} {path}: undeclared path parameter"

    # Every API route that the app serves is described (features add theirs with ``document``);
    # parameter names may differ between Flask and OpenAPI, so compare the path shapes.
    described = {(re.sub(r"{[^}]+}", "{}", path), method) for path, item in spec["paths"].items() for method in item}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint == "api.openapi":
            continue
        shape = re.sub(r"<[^<>]+>", "{}", rule.rule[len("/api/v1"):])
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            assert (shape, method.lower()) in described, f"{method} {rule.rule} missing from openapi.json"
