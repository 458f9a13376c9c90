"""Drafting an avenant: the convention it modifies is chosen, linked (« modifie ») when the draft is filed,
and its date fills « Date de la convention modifiée »; the form, the API and the CLI alike."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from documents.models import AuditEvent, Document, DocumentLink, Generation
from searchkit import archive_doc
from testkit import AMOUNTS, bearer, file_builtin_models, form_fields

VALUES = {"convention_reference": "DRAC-IDF-2026-1", "avenant_numero": "1", "motif_avenant": "un atelier de plus",
          **AMOUNTS}


@pytest.fixture
def setup(app: Any, db_session: Any) -> dict[str, Any]:
    models = file_builtin_models(app, db_session)
    docs = {
        "convention": archive_doc(app, db_session, "Convention DRAC – coordination Île-de-France 2026",
                                  ["Convention 2026."], region="11", doc_type="convention", year=2026,
                                  signature_date=dt.date(2026, 2, 15)),
        "contrat": archive_doc(app, db_session, "Contrat d'objectifs Île-de-France 2025-2027", ["Contrat."],
                               region="11", doc_type="contrat_objectifs", year=2025),
        "bilan": archive_doc(app, db_session, "Bilan 2025 Île-de-France", ["Bilan."], region="11",
                             doc_type="bilan", year=2025),
        "paca": archive_doc(app, db_session, "Convention DRAC – coordination PACA 2026", ["PACA."], region="93",
                            doc_type="convention", year=2026),
    }
    return {"models": models, **{k: v.id for k, v in docs.items()}}



def links(db_session: Any) -> set[tuple[int, int, str]]:
    db_session.expire_all()
    return {(x.source_id, x.target_id, x.link_type) for x in db_session.scalars(select(DocumentLink))}


def documents(db_session: Any) -> int:
    db_session.expire_all()
    return db_session.scalar(select(func.count()).select_from(Document)) or 0


def test_api_files_the_avenant_with_its_link_and_the_conventions_date(client: Any, db_session: Any,
                                                                      setup: dict[str, Any]) -> None:
    headers = bearer(db_session, "idf")
    url = f"/api/v1/templates/{setup['models']['avenant']}/render"
    response = client.post(url, headers=headers, json={"region": "11", "year": 2026, "values": VALUES,
                                                       "modifies": setup["convention"]})
    assert response.status_code == 201, response.get_json()
    avenant = response.get_json()["document"]["id"]
    assert links(db_session) == {(avenant, setup["convention"], "modifie")}
    generation = db_session.scalar(select(Generation).where(Generation.document_id == avenant))
    assert generation.input_values["convention_date"] == "2026-02-15"  # from the convention's signature date
    assert db_session.scalar(select(AuditEvent).where(AuditEvent.action == "document.link",
                                                      AuditEvent.object_id == str(avenant))) is not None
    # The region's timeline now applies the avenant to its convention, not as a loose avenant.
    timeline = client.get("/api/v1/regions/11/agreements", headers=headers).get_json()
    conventions = [c for row in timeline["rows"] for c in row["conventions"]]
    [convention] = [c for c in conventions if c["id"] == setup["convention"]]
    assert [a["id"] for a in convention["avenants"]] == [avenant]
    assert avenant not in [a["id"] for row in timeline["rows"] for a in row["loose_avenants"]]
    # A date typed by hand is kept.
    response = client.post(url, headers=headers, json={
        "region": "11", "year": 2026, "values": {**VALUES, "avenant_numero": "2", "convention_date": "2025-12-01"},
        "modifies": setup["contrat"]})
    assert response.status_code == 201, response.get_json()
    second = response.get_json()["document"]["id"]
    assert db_session.scalar(select(Generation).where(Generation.document_id == second)) \
        .input_values["convention_date"] == "2025-12-01"
    assert (second, setup["contrat"], "modifie") in links(db_session)


@pytest.mark.parametrize(("who", "region", "target", "model", "field_error"), [
    ("idf", "11", "paca", "avenant", "Introuvable."),          # another region's convention: not even named
    ("admin", "11", "paca", "avenant", "Autre région."),        # readable, but not the avenant's region
    ("idf", "11", "bilan", "avenant", "Choisissez une convention ou un contrat d'objectifs."),
    ("idf", "11", "convention", "convention-drac-coordination", "Réservé aux avenants."),
    ("idf", "11", 99999999, "avenant", "Introuvable."),
    ("idf", "11", "12", "avenant", "Numéro attendu."),
    ("idf", "11", True, "avenant", "Numéro attendu."),
    ("idf", "11", 2**63, "avenant", "Numéro attendu."),
])
def test_api_refuses_what_an_avenant_cannot_modify(client: Any, db_session: Any, setup: dict[str, Any], who: str,
                                                    region: str, target: Any, model: str, field_error: str) -> None:
    before, linked = documents(db_session), links(db_session)
    modifies = setup.get(target, target) if isinstance(target, str) else target
    response = client.post(f"/api/v1/templates/{setup['models'][model]}/render", headers=bearer(db_session, who),
                           json={"region": region, "year": 2026, "values": {**VALUES, "convention_date": "2026-01-01"},
                                 "modifies": modifies})
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.get_json()["error"]["fields"]["modifies"] == field_error
    assert (documents(db_session), links(db_session)) == (before, linked)


def test_the_form_offers_the_regions_agreements_and_links_the_choice(client: Any, auth: Any, db_session: Any,
                                                                    setup: dict[str, Any]) -> None:
    auth.login("idf")
    url = f"/modeles/{setup['models']['avenant']}/rediger"
    html = client.get(f"{url}?region_choice=11&year=2026").get_data(as_text=True)
    assert 'name="modifies"' in html and "data-picker" in html
    assert f'<option value="{setup["convention"]}">' in html and f'<option value="{setup["contrat"]}">' in html
    assert f'value="{setup["bilan"]}"' not in html and f'value="{setup["paca"]}"' not in html
    # « Préremplir » with the convention chosen: its date comes into the form.
    data = form_fields(html)
    data.update({"action": "preremplir", "modifies": str(setup["convention"])})
    html = client.post(url, data=data).get_data(as_text=True)
    assert 'value="2026-02-15"' in html
    assert f'<option value="{setup["convention"]}" selected>' in html
    data = form_fields(html)
    data.update({**VALUES, "action": "generer"})
    response = client.post(url, data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    [(avenant, target, kind)] = links(db_session)
    assert (target, kind) == (setup["convention"], "modifie")
    assert db_session.get(Document, avenant).doc_type == "avenant"
    # A model that is not an avenant asks nothing of the kind.
    other = client.get(f"/modeles/{setup['models']['convention-drac-coordination']}/rediger?region_choice=11")
    assert 'name="modifies"' not in other.get_data(as_text=True)
    # A tampered choice is a field error in French, nothing filed.
    before = documents(db_session)
    data["modifies"] = str(setup["paca"])
    data["avenant_numero"] = "3"
    response = client.post(url, data=data)
    assert response.status_code == 422
    assert "Convention modifiée introuvable" in response.get_data(as_text=True)
    assert documents(db_session) == before


def test_cli_modifie(runner: Any, db_session: Any, setup: dict[str, Any], tmp_path: Path) -> None:
    values = tmp_path / "valeurs.json"
    values.write_text(json.dumps(VALUES), encoding="utf-8")
    out = tmp_path / "avenant.docx"
    result = runner.invoke(args=["generate", "avenant", "--region", "11", "--year", "2026", "--values", str(values),
                                 "--modifie", str(setup["convention"]), "--out", str(out)])
    assert result.exit_code == 0, result.output
    [(avenant, target, kind)] = links(db_session)
    assert (target, kind) == (setup["convention"], "modifie") and out.exists()
    refused = runner.invoke(args=["generate", "avenant", "--region", "11", "--values", str(values),
                                  "--modifie", str(setup["bilan"]), "--out", str(tmp_path / "x.docx")])
    assert refused.exit_code == 2 and "modifies : Choisissez une convention" in refused.output
    assert not (tmp_path / "x.docx").exists()
