"""No 5xx, whatever the input, on SQLite and PostgreSQL.

Ids past 2³¹ in any path answer 404; out-of-range filters and values 400/422 in French;
NUL bytes 400 everywhere; 405 carries ``Allow``; an endless request line gets a French 414.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from werkzeug.routing import IntegerConverter

from documents import drafting
from documents.bounds import MAX_ID, has_nul, parse_year, row_id
from documents.committees.dates import paris_datetime
from documents.committees.meetings import MeetingInput, schedule_meeting
from documents.errors import ValidationError
from intranet.extensions import storage
from intranet.guards import IdConverter
from testkit import (
    bearer,
    committee,
    csrf_token,
    file_builtin_models,
    login_client,
    sqlite_only,
    user,
    with_committees,
)

HUGE_IDS = [MAX_ID + 1, 2**31 * 10, 99999999999, 10**30]



def id_rules(app: Any) -> list[Any]:
    """Every URL rule with an integer part in its path."""
    return [rule for rule in app.url_map.iter_rules()
            if any(isinstance(c, IntegerConverter) for c in rule._converters.values())]  # noqa: SLF001


def test_every_integer_route_part_is_a_bounded_id(app: Any) -> None:
    rules = id_rules(app)
    assert len(rules) > 40  # the web pages and the API alike
    for rule in rules:
        for name, converter in rule._converters.items():  # noqa: SLF001
            if isinstance(converter, IntegerConverter):
                assert isinstance(converter, IdConverter), f"{rule.rule}: <{name}> is not <id:…>"


def test_huge_ids_answer_404_on_every_route(app: Any, db_session: Any) -> None:
    client = login_client(app, "admin")
    api_headers = bearer(db_session, "admin")
    for rule in id_rules(app):
        methods = sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
        for huge in HUGE_IDS:
            values = {name: (huge if isinstance(c, IntegerConverter) else "x")
                      for name, c in rule._converters.items()}  # noqa: SLF001
            url = rule.rule
            for name, value in values.items():
                url = url.replace(f"<id:{name}>", str(value)).replace(f"<{name}>", str(value))
            for method in methods:
                response = client.open(url, method=method, headers=api_headers if url.startswith("/api/") else {})
                assert response.status_code == 404, f"{method} {url} -> {response.status_code}"
        # Negative and non-numeric ids never match either.
        url = rule.rule
        for name in rule.arguments:
            url = url.replace(f"<id:{name}>", "-1").replace(f"<{name}>", "x")
        assert client.open(url, method=methods[0]).status_code == 404, url


def test_row_id_and_year_parsing() -> None:
    assert [row_id(v) for v in ("1", " 42 ", MAX_ID, str(MAX_ID))] == [1, 42, MAX_ID, MAX_ID]
    assert [row_id(v) for v in ("0", "-1", MAX_ID + 1, "99999999999", "²", "１", "1.5", True, "")] == [None] * 9
    assert [parse_year(v) for v in ("2026", "1900", "2200")] == [2026, 1900, 2200]
    assert [parse_year(v) for v in ("1899", "2201", "100000000000000", "１９９９", "null", "")] == [None] * 6
    assert has_nul({"a": ["b", {"c\x00": 1}]}) and not has_nul({"a": ["b", {"c": 1}]})


def test_api_out_of_range_filters_are_refused_in_french(app: Any, db_session: Any) -> None:
    client = app.test_client()
    headers = bearer(db_session, "admin")
    cases = {
        "/api/v1/documents?year=100000000000000": 422,
        "/api/v1/documents?year=99999": 422,
        "/api/v1/meetings?year=100000000000000": 400,
        "/api/v1/meetings?committee=99999999999": 400,
        "/api/v1/documents?per_page=null": 400,
        "/api/v1/quartiers?per_page=null": 400,
        "/api/v1/meetings?per_page=null": 400,
        "/api/v1/search?q=convention&per_page=null": 400,
        "/api/v1/search?q=convention&page=99999999999": 400,
        "/api/v1/documents?page=-1": 400,
        "/api/v1/documents?per_page=201": 400,
    }
    for url, status in cases.items():
        response = client.get(url, headers=headers)
        assert response.status_code == status, f"{url} -> {response.status_code}"
        error = response.get_json()["error"]
        assert error["status"] == status and ("Année" in str(error) or "attendu" in error["message"]), error
    assert client.get("/api/v1/documents?year=2026&per_page=200&page=100000", headers=headers).status_code == 200


def test_web_pages_survive_huge_query_values(app: Any) -> None:
    client = login_client(app, "admin")
    hostile = ("page=99999999999&per_page=99999999999&year=100000000000000&annee=100000000000000&party=99999999999"
               "&comite=99999999999&de=99999999999&a=-99999999999&region=99999999999&type=x&statut=x")
    visited = 0
    for rule in app.url_map.iter_rules():
        if rule.arguments or "GET" not in (rule.methods or ()) or rule.rule.startswith("/api/") \
                or rule.endpoint in ("static", "auth.logout"):
            continue
        response = client.get(f"{rule.rule}?{hostile}")
        assert response.status_code < 500, f"{rule.rule} -> {response.status_code}"
        visited += 1
    assert visited > 15


def test_nul_bytes_are_refused_everywhere(app: Any, db_session: Any) -> None:
    api = app.test_client()
    headers = bearer(db_session, "admin")
    web = login_client(app, "admin")

    def refused(response: Any) -> None:
        assert response.status_code == 400, response.status_code
        text = response.get_json()["error"]["message"] if response.is_json else response.get_data(as_text=True)
        assert "caractère nul" in text

    refused(api.get("/api/v1/documents?q=a%00b", headers=headers))
    refused(api.get("/api/v1/documents?a%00=1", headers=headers))
    refused(api.get("/api/v1/templates/a%00b", headers=headers))
    refused(api.post("/api/v1/meetings", json={"committee_id": 1, "title": "x\u0000y"}, headers=headers))
    refused(api.post("/api/v1/meetings", json={"agenda": [{"k\u0000": 1}]}, headers=headers))
    # A body read as JSON whatever its Content-Type (the render endpoint does so).
    refused(api.post("/api/v1/templates/x/render", data='{"year": "2026\\u0000"}', content_type="text/plain",
                     headers=headers))
    refused(api.get("/api/v1/me", headers={**headers, "X-Custom": "a\x00b"}))
    refused(web.get("/recherche/?q=convention%00"))
    refused(web.get("/documents/%00"))
    token = csrf_token(web, "/profil")
    refused(web.post("/profil", data={"name": "script\x00", "csrf_token": token}))
    # The page says it in French, with the site's layout.
    page = web.get("/recherche/?q=%00").get_data(as_text=True)
    assert "Requête invalide" in page and "<html" in page


def test_nul_bytes_are_refused_by_the_verbs_too(app: Any, db_session: Any) -> None:
    """The CLI reaches the verbs without the web guard: they refuse NUL bytes themselves."""
    with_committees(db_session)
    with pytest.raises(ValidationError) as caught:
        schedule_meeting(db_session, committee(db_session, "regional-11"), actor=user(db_session, "admin"),
                         data=MeetingInput(starts_at=paris_datetime(dt.date(2026, 3, 12), dt.time(14)),
                                           title="Comité\x00", place="Salle"))
        db_session.commit()
    assert "caractère nul" in caught.value.message and "title" in caught.value.errors


def test_render_year_is_bounded_in_the_api_and_in_the_verb(app: Any, db_session: Any) -> None:
    models = file_builtin_models(app, db_session)
    client = app.test_client()
    headers = bearer(db_session, "admin")
    for year in (1719709, 99999999999999999999, 1899, "１９９９", "²"):
        response = client.post(f"/api/v1/templates/{models['avenant']}/render", headers=headers,
                               json={"region": "11", "year": year, "values": {}})
        assert response.status_code == 422, (year, response.status_code)
        assert "année" in response.get_json()["error"]["message"].lower()
    with app.app_context():
        template = drafting.get_template(db_session, storage(), "avenant")
        with pytest.raises(ValidationError):
            drafting.prefill(db_session, template, "11", 1719709)
        with pytest.raises(ValidationError) as caught:
            drafting.generate_draft(db_session, storage(), actor=user(db_session, "admin"), template=template,
                                    raw={}, region_code="11", year=1719709)
            db_session.commit()
        assert "entre 1900 et 2200" in caught.value.message
        # A numeric key beyond 2³¹ is an unknown model, not a database error.
        for key in ("99999999999", "²"):
            with pytest.raises(drafting.NotFound):
                drafting.get_template(db_session, storage(), key)


def test_meeting_dates_far_in_time_are_refused(app: Any, db_session: Any) -> None:
    with_committees(db_session)
    com = committee(db_session, "regional-11")
    client = app.test_client()
    headers = bearer(db_session, "admin")
    for starts in ("9999-12-31T23:59:00-14:00", "0001-01-01T00:00:00+14:00", "10000-01-01T00:00:00"):
        response = client.post("/api/v1/meetings", headers=headers,
                               json={"committee_id": com.id, "starts_at": starts, "place": "Salle"})
        assert response.status_code == 422, (starts, response.status_code)
    response = client.post("/api/v1/meetings", headers=headers,
                           json={"committee_id": 99999999999, "starts_at": "2026-03-12T14:00:00", "place": "Salle"})
    assert response.status_code == 404


@sqlite_only
def test_405_carries_allow_and_long_lines_get_a_french_414(app: Any, db_session: Any) -> None:
    client = app.test_client()
    headers = bearer(db_session, "admin")
    response = client.put("/api/v1/documents", headers=headers)
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}
    assert response.get_json()["error"]["title"] == "Méthode non autorisée"
    web = login_client(app, "admin")
    page = web.delete("/documents/")
    assert page.status_code == 405 and "GET" in page.headers["Allow"]
    long = web.get("/recherche/?q=" + "a" * 5000)
    assert long.status_code == 414 and "trop longue" in long.get_data(as_text=True)
    assert client.get("/api/v1/documents?q=" + "a" * 5000, headers=headers).get_json()["error"]["status"] == 414


@sqlite_only
def test_openapi_declares_every_status_with_the_error_schema(app: Any) -> None:
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    assert spec["components"]["schemas"]["Error"]["required"] == ["error"]
    for path, item in spec["paths"].items():
        for method, op in item.items():
            responses = op["responses"]
            assert {"400", "401", "404", "405", "414"} <= set(responses), f"{method} {path}"
            if "requestBody" in op:
                assert {"413", "415", "422"} <= set(responses), f"{method} {path}"
            if method != "get":
                assert "403" in responses, f"{method} {path}"
            for status, answer in responses.items():
                if int(status) >= 400:
                    schema = answer["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Error"}, f"{method} {path} {status}"
            assert "Allow" in responses["405"]["headers"]
            for param in op.get("parameters", []):
                if param["in"] == "path" and param["schema"]["type"] == "integer":
                    assert param["schema"]["maximum"] == MAX_ID, f"{method} {path} {param['name']}"
