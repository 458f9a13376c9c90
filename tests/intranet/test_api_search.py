"""GET /api/v1/search: the search as JSON, with the same scope, facets and errors as the page."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest

import samplefiles as sf
import testkit
from searchkit import archive_doc, close_index, drain
from testkit import AuthActions

#: Queries trying to reach another region, with the answer each must get: a prefix of one
#: letter is refused (400, French message); every other one runs within the user's scope.
HOSTILE = [("region:93 OR a*", 400), ("region:XX OR coord*", 200), ("NOT region:11", 200), ("region:93", 200),
           ("(region:93) OR projection", 200), ("-region:11", 200), ("statut:signe OR region:93", 200)]


@pytest.fixture(autouse=True)
def _closed_index(app: Any):
    yield
    close_index(app)


@pytest.fixture
def bearer(app: Any, db_session: Any):
    return lambda who: testkit.bearer(db_session, who)


@pytest.fixture
def corpus(app: Any, db_session: Any) -> dict[str, Any]:
    docs = {
        "idf": archive_doc(app, db_session, "Convention coordination régionale IDF",
                           ["Coordination régionale : projection à l'hôpital de Kyrnéa."],
                           region="11", doc_type="convention", year=2010, status="signe",
                           signature_date=dt.date(2010, 5, 1)),
        "idf2": archive_doc(app, db_session, "Avenant IDF 2012", ["Avenant sur les projections en plein air."],
                            region="11", doc_type="avenant", year=2012, status="brouillon",
                            effective_date=dt.date(2012, 3, 1)),
        "paca": archive_doc(app, db_session, "Convention secrète PACA",
                            ["Coordination régionale marseillaise, projection au Panier."],
                            region="93", doc_type="convention", year=2010, status="signe",
                            signature_date=dt.date(2010, 9, 1)),
    }
    drain(app)
    return docs


def test_search_as_json_with_facets(client: Any, bearer: Any, corpus: dict[str, Any]) -> None:
    response = client.get("/api/v1/search?q=projections", headers=bearer("national"))
    assert response.status_code == 200 and response.mimetype == "application/json"
    data = response.get_json()
    assert data["total"] == 3 and data["page"] == 1 and data["pages"] == 1
    assert {i["id"] for i in data["items"]} == {d.id for d in corpus.values()}
    first = next(i for i in data["items"] if i["id"] == corpus["idf"].id)
    assert first["title"] == "Convention coordination régionale IDF"
    assert (first["type"], first["region"], first["year"], first["status"], first["kind"]) == \
        ("convention", "11", 2010, "signe", "document")
    assert first["region_label"] == "Île-de-France" and first["status_label"] == "Signé"
    assert first["url"] == f"/documents/{corpus['idf'].id}"
    assert "<mark>projection</mark>" in first["snippet_html"] and "<mark>" not in first["snippet"]
    assert first["score"] > 0
    facets = {name: {f["value"]: f["count"] for f in values} for name, values in data["facets"].items()}
    assert facets["type"] == {"convention": 2, "avenant": 1}
    assert facets["region"] == {"11": 2, "93": 1}
    assert facets["year"] == {"2010": 2, "2012": 1}
    assert facets["status"] == {"signe": 2, "brouillon": 1}


def test_filters_pages_and_sort(client: Any, bearer: Any, corpus: dict[str, Any]) -> None:
    headers = bearer("admin")
    get = lambda **q: client.get("/api/v1/search", query_string=q, headers=headers).get_json()  # noqa: E731
    assert [i["id"] for i in get(q="projection", type="avenant")["items"]] == [corpus["idf2"].id]
    assert {i["id"] for i in get(q="projection", region="93")["items"]} == {corpus["paca"].id}
    assert {i["id"] for i in get(q="projection", year="2010")["items"]} == {corpus["idf"].id, corpus["paca"].id}
    assert get(q="projection", status="brouillon")["total"] == 1
    paged = get(q="projection", per_page="2", page="2")
    assert paged["total"] == 3 and paged["pages"] == 2 and len(paged["items"]) == 1
    dated = get(q="projection", sort="date")
    assert [i["id"] for i in dated["items"]] == [corpus["idf2"].id, corpus["paca"].id, corpus["idf"].id]
    assert [i["date"] for i in dated["items"]] == ["2012-03-01", "2010-09-01", "2010-05-01"]
    assert get(q="kyrnea")["items"][0]["id"] == corpus["idf"].id, "accents folded"


def test_browser_session_works_too(client: Any, auth: AuthActions, corpus: dict[str, Any]) -> None:
    auth.login("idf")
    assert client.get("/api/v1/search?q=avenant").get_json()["total"] == 1


def test_unauthenticated_is_401(client: Any) -> None:
    response = client.get("/api/v1/search?q=convention")
    assert response.status_code == 401 and response.mimetype == "application/json"


@pytest.mark.parametrize("query, status", HOSTILE)
def test_regional_token_never_sees_another_region(client: Any, bearer: Any, corpus: dict[str, Any],
                                                  query: str, status: int) -> None:
    response = client.get("/api/v1/search", query_string={"q": query, "per_page": 100}, headers=bearer("idf"))
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_data(as_text=True)
    assert "PACA" not in body and "marseillaise" not in body and "Panier" not in body
    if response.status_code == 200:
        data = response.get_json()
        assert {i["region"] for i in data["items"]} <= {"11", "national"}
        assert data["total"] <= 2
        for values in data["facets"].values():
            assert "93" not in {f["value"] for f in values}
        assert set(v["value"] for v in data["facets"].get("region", [])) <= {"11", "national"}


def test_regional_facets_and_suggestions_stay_in_scope(client: Any, bearer: Any, corpus: dict[str, Any]) -> None:
    idf = bearer("idf")
    data = client.get("/api/v1/search?q=coordination", headers=idf).get_json()
    assert data["total"] == 1 and data["facets"]["region"] == [{"value": "11", "count": 1, "label": "Île-de-France"}]
    hidden = client.get("/api/v1/search?q=marsellaise", headers=idf).get_json()
    assert hidden["total"] == 0 and hidden["suggestion"] is None
    shown = client.get("/api/v1/search?q=marsellaise", headers=bearer("paca")).get_json()
    assert shown["suggestion"] == "marseillaise"


@pytest.mark.parametrize("query", ['"non fermé', "(" * 30, "x" * 800, "convention)"])
def test_bad_query_is_a_french_json_400(client: Any, bearer: Any, corpus: dict[str, Any], query: str) -> None:
    response = client.get("/api/v1/search", query_string={"q": query}, headers=bearer("idf"))
    assert response.status_code == 400 and response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert error["status"] == 400 and error["message"] and "Traceback" not in error["message"]


def test_uploads_through_the_api_are_found(client: Any, bearer: Any) -> None:
    headers = bearer("idf")
    created = client.post("/api/v1/documents", headers=headers, content_type="multipart/form-data", data={
        "file": (io.BytesIO(sf.make_docx(["Séances au cinéma de quartier."])), "seances.docx"),
        "title": "Séances de quartier", "doc_type": "bilan",
    })
    assert created.status_code == 201, created.get_data(as_text=True)
    data = client.get("/api/v1/search?q=seance", headers=headers).get_json()
    assert [i["title"] for i in data["items"]] == ["Séances de quartier"]


def test_openapi_documents_the_operation(client: Any) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    op = spec["paths"]["/search"]["get"]
    names = {p["name"] for p in op["parameters"]}
    assert {"q", "page", "per_page", "type", "region", "year", "status", "sort"} <= names
    assert {"200", "400", "401", "503"} <= set(op["responses"])


def test_the_search_time_limit_comes_from_the_configuration(app: Any, client: Any, bearer: Any,
                                                            corpus: dict[str, Any]) -> None:
    headers = bearer("idf")
    assert client.get("/api/v1/search?q=coordination", headers=headers).status_code == 200
    app.config["SEARCH_TIME_LIMIT"] = 1e-9
    refused = client.get("/api/v1/search?q=coordination", headers=headers)
    assert refused.status_code == 400 and "trop de temps" in refused.get_json()["error"]["message"]


def test_search_time_limit_setting_is_checked() -> None:
    from intranet.config import ConfigError, _search_time_limit

    assert _search_time_limit({}) == 1.0
    assert _search_time_limit({"INTRANET_SEARCH_TIME_LIMIT": "2,5"}) == 2.5
    for raw, message in (("vite", "nombre de secondes"), ("0", "entre 0,1 et 30"), ("1e400", "entre 0,1 et 30"),
                         ("nan", "entre 0,1 et 30")):
        with pytest.raises(ConfigError, match=message):
            _search_time_limit({"INTRANET_SEARCH_TIME_LIMIT": raw})
