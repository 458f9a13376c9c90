"""The /modeles pages: list, model page, field edit, upload (admins), generation form, drafts, batch."""

from __future__ import annotations

import io
import time
import zipfile
from typing import Any

import pytest
from sqlalchemy import func, select

from documents import drafting
from documents.formatting import format_amount, parse_amount
from documents.models import AuditEvent, Document, DraftingTemplate, Generation
from testkit import AMOUNTS, docx_text, file_builtin_models, form_fields
from testkit import template_docx as make_docx


@pytest.fixture
def models(app: Any, db_session: Any) -> dict[str, int]:
    """Built-in models filed, référentiel complete; slug -> template id."""
    return file_builtin_models(app, db_session)


def download(client: Any, url: str) -> tuple[int, bytes]:
    """Status and body of a file download (the response is closed, as a browser would)."""
    response = client.get(url)
    try:
        return response.status_code, response.get_data()
    finally:
        response.close()


def generate(client: Any, template_id: int, region: str, **changes: str) -> Any:
    page = client.get(f"/modeles/{template_id}/rediger?region_choice={region}&year=2026")
    assert page.status_code == 200
    data = form_fields(page.get_data(as_text=True))
    data.update(AMOUNTS)
    data.update(changes)
    data["action"] = "generer"
    return client.post(f"/modeles/{template_id}/rediger", data=data)


# --------------------------------------------------------------------------- pages


def test_index_lists_models_with_fields(client: Any, auth: Any, models: dict[str, int]) -> None:
    auth.login("lecteur")
    html = client.get("/modeles/").get_data(as_text=True)
    assert "Convention annuelle DRAC – coordination régionale" in html
    assert "Mission de coordination régionale*" in html
    assert "Déposer un modèle Word" not in html
    assert client.get(f"/modeles/{models['avenant']}").status_code == 200
    nav = client.get("/").get_data(as_text=True)
    assert 'href="/modeles/"' in nav


def test_generation_form_is_prefilled_and_files_a_draft(client: Any, auth: Any, models: dict[str, int],
                                                         db_session: Any) -> None:
    auth.login("idf")
    page = client.get(f"/modeles/{models['convention-drac-coordination']}/rediger?year=2026")
    html = page.get_data(as_text=True)
    assert 'value="DRAC Île-de-France"' in html  # a regional user gets their region by default
    assert "Madame Représentante" in html and 'value="2026-01-01"' in html
    assert '<label for="f-drac-representant">' in html
    response = generate(client, models["convention-drac-coordination"], "11",
                        lieu_signature='Dupont & Fils <b> "ok" l\'été')
    assert response.status_code == 302
    doc_id = int(response.headers["Location"].rsplit("/", 1)[1])
    doc = db_session.get(Document, doc_id)
    assert (doc.doc_type, doc.status, doc.region_code) == ("convention", "brouillon", "11")
    page = client.get(f"/modeles/brouillons/{doc_id}").get_data(as_text=True)
    assert "Télécharger la version 1" in page and "convention-drac-coordination, version 1" in page
    assert "Dupont &amp; Fils &lt;b&gt;" in page  # escaped in the provenance JSON: user text is always escaped
    status, data = download(client, f"/modeles/brouillons/{doc_id}/versions/1/telecharger")
    assert status == 200
    text = docx_text(data)
    assert 'Dupont & Fils <b> "ok" l\'été' in text
    assert format_amount(sum(parse_amount(v) for v in AMOUNTS.values())) in text


def test_per_field_errors_answer_422_and_file_nothing(client: Any, auth: Any, models: dict[str, int],
                                                       db_session: Any) -> None:
    auth.login("idf")
    before = db_session.scalar(select(func.count()).select_from(Document))
    response = generate(client, models["convention-drac-coordination"], "11", montant_formation="douze",
                        **{"drac.representant": ""})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="f-montant_formation-err"' in html and "douze" in html
    assert 'aria-invalid="true" aria-describedby="f-drac-representant-err"' in html
    assert 'value="douze"' in html  # what was typed is kept
    assert db_session.scalar(select(func.count()).select_from(Document)) == before


def test_regenerate_makes_version_2(client: Any, auth: Any, models: dict[str, int], db_session: Any) -> None:
    auth.login("idf")
    doc_id = int(generate(client, models["convention-drac-coordination"], "11").headers["Location"].rsplit("/", 1)[1])
    page = client.get(f"/modeles/brouillons/{doc_id}").get_data(as_text=True)
    data = form_fields(page.split('id="regen-titre"', 1)[1])
    assert data["montant_formation"] == "3000"
    data["montant_formation"] = "4 500"
    response = client.post(f"/modeles/brouillons/{doc_id}", data=data)
    assert response.status_code == 302
    rows = db_session.scalars(select(Generation).where(Generation.document_id == doc_id)
                              .order_by(Generation.version_number)).all()
    assert [r.version_number for r in rows] == [1, 2] and rows[1].input_values["montant_formation"] == "4 500"
    text = docx_text(download(client, f"/modeles/brouillons/{doc_id}/versions/2/telecharger")[1])
    assert format_amount(parse_amount("4500")) in text
    again = client.post(f"/modeles/brouillons/{doc_id}", data=data)
    assert again.status_code == 409 and "déjà à jour" in again.get_data(as_text=True)


def test_other_regions_drafts_are_404_and_generation_403(client: Any, auth: Any, models: dict[str, int],
                                                          db_session: Any, app: Any) -> None:
    auth.login("idf")
    doc_id = int(generate(client, models["convention-drac-coordination"], "11").headers["Location"].rsplit("/", 1)[1])
    auth.logout()
    auth.login("paca")
    for url in (f"/modeles/brouillons/{doc_id}", f"/modeles/brouillons/{doc_id}/versions/1/telecharger",
                f"/modeles/brouillons/{doc_id}/versions/1/pdf"):
        assert download(client, url)[0] == 404
    token = auth.token(f"/modeles/{models['avenant']}")
    assert client.post(f"/modeles/brouillons/{doc_id}", data={"csrf_token": token}).status_code == 404
    denied = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "access.denied",
                                                         AuditEvent.object_id == str(doc_id))).all()
    assert len(denied) >= 3
    assert client.get(f"/modeles/{models['convention-drac-coordination']}/rediger?region_choice=11").status_code == 403
    before = db_session.scalar(select(func.count()).select_from(Document))
    response = client.post(f"/modeles/{models['convention-drac-coordination']}/rediger",
                           data={"csrf_token": token, "region_choice": "11", "year": "2026", "action": "generer",
                                 **AMOUNTS})
    assert response.status_code == 403
    assert db_session.scalar(select(func.count()).select_from(Document)) == before


def test_post_without_csrf_changes_nothing(client: Any, auth: Any, models: dict[str, int], db_session: Any) -> None:
    auth.login("admin")
    before = db_session.scalar(select(func.count()).select_from(Document))
    response = client.post(f"/modeles/{models['avenant']}/rediger", data={"region_choice": "11", "action": "generer"})
    assert response.status_code == 400
    assert db_session.scalar(select(func.count()).select_from(Document)) == before


# --------------------------------------------------------------------------- admin: upload and fields


def test_only_admins_upload(client: Any, auth: Any, models: dict[str, int]) -> None:
    auth.login("national")
    assert client.get("/modeles/nouveau").status_code == 403
    token = auth.token("/modeles/")
    response = client.post("/modeles/nouveau", data={"csrf_token": token, "title": "X", "output_type": "bilan",
                                                     "file": (io.BytesIO(make_docx("{{ a }}")), "x.docx")},
                           content_type="multipart/form-data")
    assert response.status_code == 403


@pytest.mark.parametrize(("paragraphs", "shown"), [
    (("{{ ''.__class__.__mro__ }}",), "{{ &#39;&#39;.__class__.__mro__ }}"),
    (("Région : {{ region", "_nom }}"), "coupée par un retour à la ligne"),
    (("{{ nom | majuscules }}",), "filtre inconnu « majuscules »"),
    (("Total : {{ montant_total | }}",), "{{ montant_total | }}"),
])
def test_upload_page_names_the_faulty_tag(client: Any, auth: Any, models: dict[str, int], db_session: Any,
                                          paragraphs: tuple[str, ...], shown: str) -> None:
    auth.login("admin")
    token = auth.token("/modeles/nouveau")
    before = db_session.scalar(select(func.count()).select_from(DraftingTemplate))
    response = client.post("/modeles/nouveau", data={
        "csrf_token": token, "title": "Modèle fautif", "output_type": "convention",
        "file": (io.BytesIO(make_docx(*paragraphs)), "fautif.docx")}, content_type="multipart/form-data")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Le modèle a été refusé" in html and shown in html
    assert db_session.scalar(select(func.count()).select_from(DraftingTemplate)) == before


def test_admin_uploads_a_model_then_edits_a_field(client: Any, auth: Any, models: dict[str, int]) -> None:
    auth.login("admin")
    token = auth.token("/modeles/nouveau")
    response = client.post("/modeles/nouveau", data={
        "csrf_token": token, "title": "Bilan régional", "output_type": "bilan", "description": "",
        "file": (io.BytesIO(make_docx("Bilan {{ region_nom }} {{ annee }} : {{ montant_formation }}")), "bilan.docx"),
    }, content_type="multipart/form-data")
    assert response.status_code == 302
    template_id = int(response.headers["Location"].rsplit("/", 1)[1])
    html = client.get(f"/modeles/{template_id}").get_data(as_text=True)
    assert "montant_formation" in html and "Modifier<span class=\"visually-hidden\"> le champ" in html
    edit = f"/modeles/{template_id}/champs/montant_formation"
    form = form_fields(client.get(edit).get_data(as_text=True))
    form.update({"label": "Formation des relais", "default": "abc", "required": "y"})
    bad = client.post(edit, data=form)
    assert bad.status_code == 422 and "Montant invalide" in bad.get_data(as_text=True)
    form["default"] = "1 000"
    assert client.post(edit, data=form).status_code == 302
    html = client.get(f"/modeles/{template_id}").get_data(as_text=True)
    assert "Formation des relais" in html and "1 000" in html
    auth.logout()
    auth.login("national")
    assert client.get(edit).status_code == 403


# --------------------------------------------------------------------------- batch


def _wait(client: Any, url: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        state = client.get(url).get_json()
        if state["finished"]:
            return state
        time.sleep(0.2)
    raise AssertionError("batch did not finish")


def test_batch_grid_runs_in_background_and_gives_a_zip(client: Any, auth: Any, models: dict[str, int],
                                                       db_session: Any) -> None:
    auth.login("national")
    template_id = models["convention-drac-coordination"]
    page = client.get(f"/modeles/{template_id}/lot?year=2026")
    html = page.get_data(as_text=True)
    assert 'name="r-11-montant_formation"' in html and "<caption>Valeurs par région" in html
    data = {"csrf_token": auth.token(f"/modeles/{template_id}/lot"), "year": "2026", "action": "lancer",
            "regions": ["11", "93", "53"]}
    for code in ("11", "93", "53"):
        for name, value in AMOUNTS.items():
            data[f"r-{code}-{name}"] = value
    data["r-93-montant_formation"] = "beaucoup"
    response = client.post(f"/modeles/{template_id}/lot", data=data)
    assert response.status_code == 302
    batch_url = response.headers["Location"]
    batch_id = int(batch_url.rsplit("/", 1)[1])
    running = client.get(batch_url)
    assert running.status_code == 200
    state = _wait(client, f"/modeles/lots/{batch_id}/etat")
    assert state["status"] == "termine" and state["done"] == 3
    assert [(r["region_code"], r["status"]) for r in state["report"]] == [
        ("11", "ok"), ("93", "invalide"), ("53", "ok")]
    html = client.get(batch_url).get_data(as_text=True)
    assert "Refresh" not in client.get(batch_url).headers
    assert "Télécharger les brouillons (ZIP)" in html and "beaucoup" in html
    bundle = zipfile.ZipFile(io.BytesIO(download(client, state["zip_url"])[1]))
    assert len([n for n in bundle.namelist() if n.endswith(".docx")]) == 2
    assert db_session.scalar(select(func.count()).select_from(Generation).where(Generation.batch_id == batch_id)) == 2
    auth.logout()
    auth.login("idf")
    assert client.get(batch_url).status_code == 404
    assert download(client, f"/modeles/lots/{batch_id}/brouillons.zip")[0] == 404


def test_batch_from_csv(client: Any, auth: Any, models: dict[str, int]) -> None:
    auth.login("admin")
    template_id = models["convention-drac-coordination"]
    csv_text = "region;" + ";".join(AMOUNTS) + "\n" + "\n".join(
        f"{code};" + ";".join(AMOUNTS.values()) for code in ("21", "22")) + "\n"
    response = client.post(f"/modeles/{template_id}/lot", data={
        "csrf_token": auth.token(f"/modeles/{template_id}/lot"), "year": "2027", "action": "lancer",
        "csv": (io.BytesIO(csv_text.encode("utf-8")), "valeurs.csv")}, content_type="multipart/form-data")
    assert response.status_code == 302
    state = _wait(client, response.headers["Location"] + "/etat")
    assert [(r["region_code"], r["status"]) for r in state["report"]] == [("21", "ok"), ("22", "ok")]
    bad = client.post(f"/modeles/{template_id}/lot", data={
        "csrf_token": auth.token(f"/modeles/{template_id}/lot"), "year": "2027", "action": "lancer",
        "csv": (io.BytesIO(b"region;colonne_inconnue\n21;1\n"), "v.csv")}, content_type="multipart/form-data")
    assert bad.status_code == 422 and "colonne_inconnue" in bad.get_data(as_text=True)


def test_pdf_option_follows_soffice(client: Any, auth: Any, models: dict[str, int]) -> None:
    auth.login("admin")
    html = client.get(f"/modeles/{models['avenant']}/rediger?region_choice=11").get_data(as_text=True)
    assert ('name="pdf"' in html) == drafting.pdf_available()
