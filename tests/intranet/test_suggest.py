"""GET /api/v1/documents/suggest: the document picker's suggestions — scoped, bounded, models left out."""

from __future__ import annotations

from typing import Any

import pytest

import testkit
from documents import archive
from documents.models import DraftingTemplate
from searchkit import archive_doc
from testkit import AuthActions


@pytest.fixture
def bearer(app: Any, db_session: Any):
    return lambda who: testkit.bearer(db_session, who)


@pytest.fixture
def corpus(app: Any, db_session: Any) -> dict[str, Any]:
    docs = {
        "idf": archive_doc(app, db_session, "Convention de coordination Île-de-France 2025", ["IDF."],
                           region="11", doc_type="convention", year=2025),
        "national": archive_doc(app, db_session, "Protocole national de Passeurs d'images", ["Protocole."],
                                region=None, doc_type="protocole", year=2009),
        "paca": archive_doc(app, db_session, "Convention de coordination Provence-Alpes-Côte d'Azur",
                            ["PACA."], region="93", doc_type="convention", year=2025),
        "model": archive_doc(app, db_session, "Convention type pour les régions", ["{{ region_nom }}"],
                             region=None, doc_type="autre"),
        "typed_model": archive_doc(app, db_session, "Convention modèle", ["Modèle."], region=None,
                                   doc_type="modele"),
        "trashed": archive_doc(app, db_session, "Convention abandonnée", ["Abandon."], region="11",
                               doc_type="convention"),
    }
    db_session.add(DraftingTemplate(document_id=docs["model"].id, slug="convention-type", output_type="convention"))
    archive.trash_document(db_session, docs["trashed"], actor=testkit.user(db_session, "admin"))
    db_session.commit()
    return docs


def _ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.get_data(as_text=True)
    data = response.get_json()
    assert data["count"] == len(data["items"])
    return [item["id"] for item in data["items"]]


def test_a_regional_user_never_gets_another_regions_document(client: Any, bearer: Any, corpus: dict[str, Any]) -> None:
    idf = _ids(client.get("/api/v1/documents/suggest?q=convention", headers=bearer("idf")))
    assert idf == [corpus["idf"].id]
    # Whatever is typed: the other region's title, its number, words of both.
    for query in ("Provence", "azur", str(corpus["paca"].id), "coordination", "convention coordination"):
        ids = _ids(client.get("/api/v1/documents/suggest", query_string={"q": query}, headers=bearer("idf")))
        assert corpus["paca"].id not in ids, query
    paca = _ids(client.get("/api/v1/documents/suggest?q=coordination", headers=bearer("paca")))
    assert paca == [corpus["paca"].id]
    national = _ids(client.get("/api/v1/documents/suggest?q=coordination", headers=bearer("national")))
    assert set(national) == {corpus["idf"].id, corpus["paca"].id}
    # National documents are in every region's scope.
    assert _ids(client.get("/api/v1/documents/suggest?q=protocole", headers=bearer("idf"))) == [corpus["national"].id]


def test_models_and_the_trash_are_never_suggested(client: Any, bearer: Any, corpus: dict[str, Any]) -> None:
    ids = _ids(client.get("/api/v1/documents/suggest?q=convention&limit=20", headers=bearer("admin")))
    assert set(ids) == {corpus["idf"].id, corpus["paca"].id}
    for key in ("model", "typed_model", "trashed"):
        ids = _ids(client.get("/api/v1/documents/suggest", query_string={"q": str(corpus[key].id)},
                              headers=bearer("admin")))
        assert corpus[key].id not in ids, key


def test_accents_case_and_numbers(client: Any, bearer: Any, corpus: dict[str, Any]) -> None:
    headers = bearer("admin")
    for query in ("ile-de-france", "ÎLE DE FRANCE", "île de", "COORDINATION ile"):
        assert _ids(client.get("/api/v1/documents/suggest", query_string={"q": query}, headers=headers)) == \
            [corpus["idf"].id], query
    assert _ids(client.get("/api/v1/documents/suggest?q=cote+d%27azur", headers=headers)) == [corpus["paca"].id]
    # A number: that document first, then titles holding the digits.
    number = corpus["national"].id
    assert _ids(client.get(f"/api/v1/documents/suggest?q={number}", headers=headers))[0] == number
    assert _ids(client.get("/api/v1/documents/suggest?q=2025", headers=headers)) == [corpus["idf"].id]
    # The document being linked is left out; % and _ are plain characters.
    assert _ids(client.get(f"/api/v1/documents/suggest?q=coordination&exclude={corpus['idf'].id}",
                           headers=headers)) == [corpus["paca"].id]
    assert _ids(client.get("/api/v1/documents/suggest?q=%25%25", headers=headers)) == []
    assert _ids(client.get("/api/v1/documents/suggest?q=__", headers=headers)) == []
    item = client.get("/api/v1/documents/suggest?q=protocole", headers=headers).get_json()["items"][0]
    assert item["label"] == f"n° {number} – Protocole national de Passeurs d'images (Protocole, National, 2009)"
    assert item["url"] == f"/documents/{number}"


def test_suggestions_are_bounded(app: Any, client: Any, bearer: Any, db_session: Any) -> None:
    for n in range(23):
        archive_doc(app, db_session, f"Bilan régional numéro {n}", [f"Bilan {n}."], region="11", doc_type="bilan")
    headers = bearer("admin")
    assert len(_ids(client.get("/api/v1/documents/suggest?q=bilan", headers=headers))) == 10
    assert len(_ids(client.get("/api/v1/documents/suggest?q=bilan&limit=20", headers=headers))) == 20
    assert len(_ids(client.get("/api/v1/documents/suggest?q=bilan&limit=3", headers=headers))) == 3


@pytest.mark.parametrize(("query", "status", "field"), [
    ({}, 422, "q"),
    ({"q": ""}, 422, "q"),
    ({"q": "a"}, 422, "q"),
    ({"q": "  b  "}, 422, "q"),
    ({"q": "x" * 201}, 422, "q"),
    ({"q": "bi", "limit": "21"}, 422, "limit"),
    ({"q": "bi", "limit": "0"}, 422, "limit"),
    ({"q": "bi", "limit": "dix"}, 422, "limit"),
    ({"q": "bi", "limit": "99999999999999999999"}, 422, "limit"),
    ({"q": "bi", "exclude": "-1"}, 422, "exclude"),
    ({"q": "bi", "exclude": "2147483648"}, 422, "exclude"),
    ({"q": "bi\x00"}, 400, None),
    ({"q": "bi", "within": "île"}, 422, "within"),
    ({"q": "bi", "within": "123456789"}, 422, "within"),
    ({"q": "bi", "within": "11 OR 1=1"}, 422, "within"),
])
def test_bad_input_gets_a_french_4xx(client: Any, bearer: Any, query: dict[str, str], status: int,
                                     field: str | None) -> None:
    response = client.get("/api/v1/documents/suggest", query_string=query, headers=bearer("idf"))
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["status"] == status and error["message"]
    if field:
        assert field in error["fields"]
        assert any(word in error["message"] + error["fields"][field]
                   for word in ("caractères", "Nombre entier", "nombre entier", "Code de région"))


def test_the_browser_session_may_ask_and_a_stranger_may_not(client: Any, auth: AuthActions,
                                                           corpus: dict[str, Any]) -> None:
    assert client.get("/api/v1/documents/suggest?q=convention").status_code == 401
    auth.login("idf")
    response = client.get("/api/v1/documents/suggest?q=convention")
    assert _ids(response) == [corpus["idf"].id]


def test_the_domain_verb_refuses_what_the_api_refuses(app: Any, db_session: Any) -> None:
    from documents.errors import ValidationError
    from documents.suggest import suggest_documents

    admin = testkit.user(db_session, "admin")
    for query in ("", "a", "x" * 201, "ab\x00"):
        with pytest.raises(ValidationError):
            suggest_documents(db_session, admin, query)


def test_within_a_region_offers_what_its_committee_may_hold(app: Any, client: Any, bearer: Any,
                                                            db_session: Any, corpus: dict[str, Any]) -> None:
    # Occitanie (76) replaced Languedoc-Roussillon (91): a document filed under the old code belongs to it.
    old = archive_doc(app, db_session, "Convention Languedoc-Roussillon 2012", ["LR."], region="91",
                      doc_type="convention", year=2012)
    db_session.commit()
    admin = bearer("admin")

    def ids(within: str) -> set[int]:
        return set(_ids(client.get("/api/v1/documents/suggest", headers=admin,
                                   query_string={"q": "co", "within": within, "limit": "20"})))

    everything = set(_ids(client.get("/api/v1/documents/suggest?q=co&limit=20", headers=admin)))
    assert {corpus["idf"].id, corpus["paca"].id, corpus["national"].id, old.id} <= everything
    assert ids("11") == {corpus["idf"].id, corpus["national"].id}
    assert ids("76") == {old.id, corpus["national"].id}
    assert ids("national") == {corpus["national"].id}
    # The number of a document outside the region is not offered either.
    assert _ids(client.get("/api/v1/documents/suggest", headers=admin,
                           query_string={"q": str(corpus["paca"].id), "within": "11"})) == []
    # Never more than the caller's own scope: Île-de-France staff asking for Provence get national only.
    assert set(_ids(client.get("/api/v1/documents/suggest", headers=bearer("idf"),
                               query_string={"q": "co", "within": "93"}))) == {corpus["national"].id}
