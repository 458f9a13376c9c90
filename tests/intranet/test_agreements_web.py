"""Agreements' amounts through the web, the API and the CLI: form on the document page, a region's years,
the national table and its CSV, the draft's amounts, scope and French refusals (SQLite + PostgreSQL)."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import json
import re
from typing import Any

import pytest
from sqlalchemy import select

from documents import archive, drafting
from documents.agreements import amounts as A
from documents.models import AgreementAmount, AuditEvent, Document
from intranet.extensions import storage
from testkit import AMOUNTS, bearer, csrf_token, file_builtin_models, login_client, user

API = "/api/v1"


def add(session: Any, title: str, *, region: str | None = "11", doc_type: str = "convention", year: int = 2024,
        status: str = "brouillon", **fields: Any) -> int:
    doc = Document(title=title, doc_type=doc_type, region_code=region, year=year, status=status, keywords="",
                   notes="", **fields)
    session.add(doc)
    session.commit()
    return doc.id



def stored(session: Any, doc_id: int) -> dict[str, int]:
    session.expire_all()
    return {r.line: r.amount_cents for r in session.scalars(
        select(AgreementAmount).where(AgreementAmount.document_id == doc_id))}


def form(client: Any, doc_id: int, **values: str) -> Any:
    token = csrf_token(client, f"/documents/{doc_id}")
    data = {key: "" for key in A.LINE_KEYS} | values | {"csrf_token": token}
    return client.post(f"/documents/{doc_id}/montants", data=data)


# --------------------------------------------------------------------------- web


def test_the_document_page_form_records_amounts(app: Any, db_session: Any) -> None:
    doc_id = add(db_session, "Convention 2024")
    client = login_client(app, "idf")
    page = client.get(f"/documents/{doc_id}").get_data(as_text=True)
    assert 'id="montants"' in page and "Saisir ou corriger les montants" in page
    assert '<label for="formation">Formation et recherche pédagogique</label>' in page
    response = form(client, doc_id, mission_coordination="18 000", formation="4 250,50")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/documents/{doc_id}#montants")
    assert stored(db_session, doc_id) == {"mission_coordination": 1_800_000, "formation": 425_050}
    page = client.get(f"/documents/{doc_id}").get_data(as_text=True)
    assert "18\u202f000,00\u00a0€" in page and "22\u202f250,50\u00a0€" in page
    assert 'value="4250,50"' in page
    assert "a modifié les montants de l'accord" in html.unescape(page)  # the document's history names the change
    # The region's page is linked from the panel.
    assert 'href="/regions/11/conventions"' in page


@pytest.mark.parametrize(("typed", "message"), [
    ("-5", "négatif"), ("12,345", "deux chiffres"), ("99999999999999", "trop grand"), ("douze", "Montant invalide"),
    ("1\x00", "nul"), ("1" * 41, ""),
])
def test_bad_amounts_get_a_french_422_and_change_nothing(app: Any, db_session: Any, typed: str, message: str) -> None:
    doc_id = add(db_session, "Convention 2024")
    client = login_client(app, "admin")
    form(client, doc_id, formation="100")
    response = form(client, doc_id, formation=typed, sensibilisation="50")
    assert response.status_code in (400, 422)
    assert message in response.get_data(as_text=True)
    assert stored(db_session, doc_id) == {"formation": 10_000}


def test_the_form_needs_csrf_and_rights(app: Any, db_session: Any) -> None:
    doc_id = add(db_session, "Convention 2024")
    paca_doc = add(db_session, "Convention PACA", region="93")
    client = login_client(app, "idf")
    response = client.post(f"/documents/{doc_id}/montants", data={"formation": "1"})
    assert response.status_code == 400 and stored(db_session, doc_id) == {}
    token = csrf_token(client, f"/documents/{doc_id}")
    response = client.post(f"/documents/{paca_doc}/montants", data={"formation": "1", "csrf_token": token})
    assert response.status_code == 404 and stored(db_session, paca_doc) == {}
    assert db_session.scalar(select(AuditEvent).where(AuditEvent.action == "access.denied",
                                                      AuditEvent.object_id == str(paca_doc))) is not None
    reader = login_client(app, "lecteur_idf")
    page = reader.get(f"/documents/{doc_id}").get_data(as_text=True)
    assert 'id="montants"' in page and "Saisir ou corriger" not in page
    assert reader.get(f"/documents/{doc_id}/montants").status_code == 403
    # Other documents have no amounts panel.
    bilan = add(db_session, "Bilan 2024", doc_type="bilan")
    assert 'id="montants"' not in client.get(f"/documents/{bilan}").get_data(as_text=True)
    assert form(login_client(app, "admin"), bilan, formation="1").status_code == 422


def test_a_signed_convention_refuses_a_changed_amount_with_409(app: Any, db_session: Any) -> None:
    doc_id = add(db_session, "Convention signée", status="signe")
    client = login_client(app, "admin")
    assert form(client, doc_id, formation="100").status_code == 302
    response = form(client, doc_id, formation="200")
    assert response.status_code == 409 and "verrouillé" in response.get_data(as_text=True)
    assert stored(db_session, doc_id) == {"formation": 10_000}


def test_region_timeline_page_shows_avenants_applied_and_is_scoped(app: Any, db_session: Any) -> None:
    convention = add(db_session, "Convention IdF 2024", signature_date=dt.date(2024, 2, 1))
    avenant = add(db_session, "Avenant n° 1", doc_type="avenant")
    admin = user(db_session, "admin")
    A.set_amounts(db_session, db_session.get(Document, convention), actor=admin,
                  amounts={"mission_coordination": "18 000", "formation": "4 000"})
    A.set_amounts(db_session, db_session.get(Document, avenant), actor=admin, amounts={"formation": "5 500"})
    archive.link_documents(db_session, actor=admin, source=db_session.get(Document, avenant),
                           target=db_session.get(Document, convention), link_type="modifie")
    db_session.commit()
    client = login_client(app, "idf")
    page = client.get("/regions/11/conventions").get_data(as_text=True)
    row = re.search(r'<tr id="annee-2024">(.*?)</tr>', page, re.S)
    assert row, page
    cells = re.findall(r'<td class="num">(.*?)</td>', row.group(1), re.S)
    assert cells[:4] == ["18\u202f000,00\u00a0€", "—", "5\u202f500,00\u00a0€", "—"]
    assert "23\u202f500,00\u00a0€" in cells[4]
    assert f"n° {avenant}" in row.group(1) and "signée le 1 février 2024" in row.group(1)
    # Another region's page does not exist for a regional account, and the attempt is logged.
    paca = login_client(app, "paca")
    assert paca.get("/regions/11/conventions").status_code == 404
    assert paca.get("/regions/99/conventions").status_code == 404
    assert paca.get("/regions/" + "9" * 300 + "/conventions").status_code in (404, 414)
    assert db_session.scalar(select(AuditEvent).where(AuditEvent.action == "access.denied",
                                                      AuditEvent.object_type == "region")) is not None
    # The national table is for national accounts; a regional one is sent to its region.
    response = client.get("/conventions")
    assert response.status_code == 302 and response.headers["Location"].endswith("/regions/11/conventions")
    assert client.get("/conventions.csv").status_code == 403


def test_national_table_and_csv(app: Any, db_session: Any) -> None:
    doc_id = add(db_session, "+Convention IdF", year=2023)
    A.set_amounts(db_session, db_session.get(Document, doc_id), actor=user(db_session, "admin"),
                  amounts={"mission_coordination": "12 500,50"})
    db_session.commit()
    client = login_client(app, "national")
    page = client.get("/conventions").get_data(as_text=True)
    assert "12\u202f500,50\u00a0€" in page and 'href="/regions/11/conventions"' in page
    response = client.get("/conventions.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig")), delimiter=";"))
    idf = next(r for r in rows if r[0] == "11")
    assert idf[2:4] == ["2023", "12500,50"] and idf[7] == "12500,50"
    assert idf[8] == f"n° {doc_id} +Convention IdF"  # a cell only starting with a sign is guarded
    assert login_client(app, "lecteur").get("/conventions").status_code == 200


# --------------------------------------------------------------------------- API


def test_api_amounts_get_put_and_refusals(app: Any, db_session: Any) -> None:
    doc_id = add(db_session, "Convention 2024")
    client = app.test_client()
    idf = bearer(db_session, "idf")
    response = client.put(f"{API}/documents/{doc_id}/amounts", headers=idf,
                          json={"mission_coordination": "18 000", "formation": 4250.5, "sensibilisation": None})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["amounts"] == {"mission_coordination": "18000.00", "projets_coordination": None,
                               "formation": "4250.50", "sensibilisation": None}
    assert body["total"] == "22250.50" and body["sources"]["formation"] == "saisi"
    assert client.get(f"{API}/documents/{doc_id}/amounts", headers=idf).get_json() == body
    for payload, field in (({"formation": -1}, "formation"), ({"formation": "1,234"}, "formation"),
                           ({"formation": 10**20}, "formation"), ({"formation": "1\u0000"}, None),
                           ({"autre": "1"}, "autre"), ({"formation": [1]}, "formation"),
                           ({"formation": True}, "formation")):
        response = client.put(f"{API}/documents/{doc_id}/amounts", headers=idf, json=payload)
        assert response.status_code in (400, 422), payload
        error = response.get_json()["error"]
        assert error["message"] and (field is None or field in error.get("fields", {})), error
    assert client.put(f"{API}/documents/{doc_id}/amounts", headers=idf, data="[1]",
                      content_type="application/json").status_code == 422
    assert stored(db_session, doc_id) == {"mission_coordination": 1_800_000, "formation": 425_050}
    # PUT replaces: absent lines become unknown.
    assert client.put(f"{API}/documents/{doc_id}/amounts", headers=idf, json={"formation": "1"}).status_code == 200
    assert stored(db_session, doc_id) == {"formation": 100}
    # Scope and roles.
    paca_doc = add(db_session, "Convention PACA", region="93")
    assert client.get(f"{API}/documents/{paca_doc}/amounts", headers=idf).status_code == 404
    assert client.put(f"{API}/documents/{paca_doc}/amounts", headers=idf, json={}).status_code == 404
    lecteur = bearer(db_session, "lecteur_idf")
    assert client.get(f"{API}/documents/{doc_id}/amounts", headers=lecteur).status_code == 200
    assert client.put(f"{API}/documents/{doc_id}/amounts", headers=lecteur, json={"formation": "2"}).status_code == 403
    bilan = add(db_session, "Bilan", doc_type="bilan")
    assert client.get(f"{API}/documents/{bilan}/amounts", headers=idf).status_code == 404
    assert client.put(f"{API}/documents/{bilan}/amounts", headers=idf, json={}).status_code == 422
    signed = add(db_session, "Convention signée", status="signe")
    assert client.put(f"{API}/documents/{signed}/amounts", headers=idf, json={"formation": "1"}).status_code == 200
    assert client.put(f"{API}/documents/{signed}/amounts", headers=idf, json={"formation": "2"}).status_code == 409
    assert client.get(f"{API}/documents/2147483648/amounts", headers=idf).status_code == 404


def test_api_timeline_and_openapi(app: Any, db_session: Any) -> None:
    doc_id = add(db_session, "Convention Midi-Pyrénées", region="73", year=2012)
    A.set_amounts(db_session, db_session.get(Document, doc_id), actor=user(db_session, "admin"),
                  amounts={"formation": "700"})
    db_session.commit()
    client = app.test_client()
    body = client.get(f"{API}/regions/76/agreements", headers=bearer(db_session, "national")).get_json()
    assert body["region"] == {"code": "76", "name": "Occitanie"} and body["codes"] == ["73", "76", "91"]
    assert body["rows"][0]["year"] == 2012 and body["rows"][0]["total"] == "700.00"
    assert body["rows"][0]["conventions"][0]["id"] == doc_id
    idf = bearer(db_session, "idf")
    assert client.get(f"{API}/regions/76/agreements", headers=idf).status_code == 404
    assert client.get(f"{API}/regions/11/agreements", headers=idf).get_json()["rows"] == []
    spec = client.get(f"{API}/openapi.json").get_json()
    assert {"get", "put"} <= set(spec["paths"]["/documents/{id}/amounts"])
    assert "get" in spec["paths"]["/regions/{code}/agreements"]


# --------------------------------------------------------------------------- the draft's amounts


def test_a_generated_convention_brings_its_drafts_amounts(app: Any, db_session: Any) -> None:
    file_builtin_models(app, db_session)
    with app.app_context():
        template = drafting.get_template(db_session, storage(), "convention-drac-coordination")
        raw = drafting.prefill(db_session, template, "11", 2026)
        raw.update(AMOUNTS)
        draft = drafting.generate_draft(db_session, storage(), actor=user(db_session, "idf"), template=template,
                                        raw=raw, region_code="11", year=2026)
        db_session.commit()
    doc_id = draft.document.id
    client = app.test_client()
    body = client.get(f"{API}/documents/{doc_id}/amounts", headers=bearer(db_session, "idf")).get_json()
    assert body["amounts"] == {"mission_coordination": "12500.00", "projets_coordination": "8000.50",
                               "formation": "3000.00", "sensibilisation": "1499.50"}
    assert set(body["sources"].values()) == {"brouillon"} and body["total"] == "25000.00"
    rows = client.get(f"{API}/regions/11/agreements", headers=bearer(db_session, "idf")).get_json()["rows"]
    assert [(r["year"], r["total"]) for r in rows] == [(2026, "25000.00")]


# --------------------------------------------------------------------------- CLI


def test_cli_amounts_and_timeline(app: Any, db_session: Any, runner: Any) -> None:
    convention = add(db_session, "Convention 2024")
    avenant = add(db_session, "Avenant 2024", doc_type="avenant")
    result = runner.invoke(args=["amounts", str(convention), "--line", "formation=4 250,50", "--line",
                                 "mission_coordination=18000"])
    assert result.exit_code == 0, result.output
    assert "montants enregistrés" in result.output and "4 250,50 €" in result.output
    result = runner.invoke(args=["amounts", str(avenant), "--line", "formation=5000", "--as", "idf@test.fr"])
    assert result.exit_code == 0, result.output
    archive.link_documents(db_session, actor=user(db_session, "admin"), source=db_session.get(Document, avenant),
                           target=db_session.get(Document, convention), link_type="modifie")
    db_session.commit()
    result = runner.invoke(args=["amounts", str(convention), "--json"])
    data = json.loads(result.output)
    assert data["in_force"]["formation"] == "5000.00" and data["amounts"]["formation"] == "4250.50"
    result = runner.invoke(args=["timeline", "11", "--json"])
    assert result.exit_code == 0
    row = json.loads(result.output)["rows"][0]
    assert row["total"] == "23000.00" and row["conventions"][0]["avenants"][0]["id"] == avenant
    result = runner.invoke(args=["timeline", "11"])
    assert "2024  total 23 000,00 €" in result.output
    for args, message in ((["amounts", str(convention), "--line", "formation=-1"], "négatif"),
                          (["amounts", str(convention), "--line", "autre=1"], "--line attend"),
                          (["amounts", str(convention), "--line", "formation=1", "--as", "paca@test.fr"],
                           "introuvable"),
                          (["timeline", "11", "--as", "paca@test.fr"], "introuvable"),
                          (["timeline", "zz"], "introuvable")):
        result = runner.invoke(args=args)
        assert result.exit_code == 2 and message in result.output, (args, result.output)
    assert stored(db_session, convention) == {"formation": 425_050, "mission_coordination": 1_800_000}
