"""/api/v1/templates: list, describe, upload (admins), render a draft from JSON values."""

from __future__ import annotations

import io
from typing import Any

import pytest
from sqlalchemy import func, select

from documents.formatting import format_amount, parse_amount
from documents.models import Document, DraftingTemplate, Generation
from testkit import AMOUNTS, bearer, docx_text, file_builtin_models
from testkit import template_docx as make_docx

TRICKY = 'Dupont & Fils <b> "ok" l\'été\nligne 2'



@pytest.fixture
def models(app: Any, db_session: Any) -> dict[str, int]:
    return file_builtin_models(app, db_session)


def test_list_and_describe(client: Any, db_session: Any, models: dict[str, int]) -> None:
    headers = bearer(db_session, "lecteur")
    items = client.get("/api/v1/templates", headers=headers).get_json()["items"]
    assert {i["slug"] for i in items} == set(models)
    convention = next(i for i in items if i["slug"] == "convention-drac-coordination")
    fields = {f["name"]: f for f in convention["fields"]}
    assert fields["montant_total"]["computed"] and fields["drac"]["type"] == "organisation"
    assert [s["name"] for s in fields["drac"]["subfields"]] == ["nom", "adresse", "representant", "qualite"]
    one = client.get("/api/v1/templates/avenant", headers=headers).get_json()
    assert one["id"] == models["avenant"] and one["output_type"] == "avenant"
    assert client.get("/api/v1/templates/inconnu", headers=headers).status_code == 404
    assert client.get("/api/v1/templates").status_code == 401
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "post" in spec["paths"]["/templates/{id}/render"]


def test_render_files_a_draft_and_values_survive(client: Any, db_session: Any, models: dict[str, int]) -> None:
    headers = bearer(db_session, "idf")
    body = {"region": "11", "year": 2026, "values": {**AMOUNTS, "lieu_signature": TRICKY}}
    response = client.post(f"/api/v1/templates/{models['convention-drac-coordination']}/render", json=body,
                           headers=headers)
    assert response.status_code == 201, response.get_json()
    payload = response.get_json()
    doc = payload["document"]
    assert (doc["type"], doc["status"], doc["region"], doc["year"]) == ("convention", "brouillon", "11", 2026)
    assert payload["generation"]["template_slug"] == "convention-drac-coordination"
    assert payload["generation"]["values"]["lieu_signature"] == TRICKY
    download = client.get(payload["download_url"], headers=headers)
    text = docx_text(download.get_data())
    download.close()
    assert 'Dupont & Fils <b> "ok" l\'été' in text and "ligne 2" in text
    assert format_amount(sum(parse_amount(v) for v in AMOUNTS.values())) in text
    # ?file=1 answers the .docx itself (a new draft, here national region 93 refused first).
    again = client.post(f"/api/v1/templates/{models['avenant']}/render?file=1", headers=headers, json={
        "region": "11", "year": 2026, "values": {"convention_reference": "DRAC-IDF-2026-1", "avenant_numero": "1",
                                                 "convention_date": "2026-02-01",
                                                 "motif_avenant": "un atelier de plus", **AMOUNTS}})
    assert again.status_code == 201, again.get_data(as_text=True)[:500]
    assert again.mimetype.endswith("wordprocessingml.document")
    assert "DRAC-IDF-2026-1" in docx_text(again.get_data())
    again.close()


def test_render_errors(client: Any, db_session: Any, models: dict[str, int]) -> None:
    headers = bearer(db_session, "idf")
    url = f"/api/v1/templates/{models['convention-drac-coordination']}/render"
    before = db_session.scalar(select(func.count()).select_from(Document))
    bad = client.post(url, headers=headers, json={"region": "11", "values": {**AMOUNTS, "montant_formation": "x"}})
    assert bad.status_code == 422
    assert "montant_formation" in bad.get_json()["error"]["fields"]
    assert client.post(url, headers=headers, json={"region": "93", "values": AMOUNTS}).status_code == 403
    assert client.post(url, headers=headers, data="pas du json",
                       content_type="application/json").status_code == 422
    assert client.post(url, headers=bearer(db_session, "lecteur"),
                       json={"region": "11", "values": AMOUNTS}).status_code == 403
    assert db_session.scalar(select(func.count()).select_from(Document)) == before
    assert db_session.scalar(select(func.count()).select_from(Generation)) == 0


def test_upload_through_the_api(client: Any, db_session: Any, models: dict[str, int]) -> None:
    files = {"title": "Bilan", "output_type": "bilan"}
    refused = client.post("/api/v1/templates", headers=bearer(db_session, "national"),
                          data={**files, "file": (io.BytesIO(make_docx("{{ a }}")), "b.docx")},
                          content_type="multipart/form-data")
    assert refused.status_code == 403
    admin = bearer(db_session, "admin")
    for paragraphs, tag in ((("Titre", "{{ nom.__class__ }}"), "{{ nom.__class__ }}"),
                            (("{% if x %}", "texte"), "{% if x %}")):
        bad = client.post("/api/v1/templates", headers=admin, content_type="multipart/form-data",
                          data={**files, "file": (io.BytesIO(make_docx(*paragraphs)), "b.docx")})
        assert bad.status_code == 422
        problems = bad.get_json()["error"]["problems"]
        assert problems[0]["tag"] == tag and tag in problems[0]["message"]
    ok = client.post("/api/v1/templates", headers=admin, content_type="multipart/form-data",
                     data={**files, "file": (io.BytesIO(make_docx("Bilan {{ region_nom }}")), "b.docx")})
    assert ok.status_code == 201 and [f["name"] for f in ok.get_json()["fields"]] == ["region_nom"]
    assert db_session.scalar(select(func.count()).select_from(DraftingTemplate)) == len(models) + 1
