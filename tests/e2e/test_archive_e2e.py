"""In a real headless Chromium: archive a .docx, an .odt and a .pdf at once, add a version, read the previews,
link the avenant to its convention, find the convention on the échéances dashboard, and check that a user of
another region gets a 404 on it. Screenshots go to /tmp/archive-*.png."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

import samplefiles as sf
from e2e.browser import LiveServer, login, logout

pytestmark = pytest.mark.e2e

SCREENSHOTS = Path("/tmp")


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"archive-{name}.png"), full_page=True)


def test_archive_in_the_browser(page: Any, live_server: LiveServer, tmp_path: Path) -> None:
    today = dt.date.today()
    files = [
        sf.write_sample(tmp_path / "convention_idf_2026.docx", sf.make_docx(
            ["Convention régionale Passeurs d'images Île-de-France 2026.", "Article 1 : objet.",
             "Article 2 : montant de 40 000 euros."],
            table=[["Ligne", "Montant"], ["Coordination régionale", "40 000 €"]])),
        sf.write_sample(tmp_path / "bilan_idf_2025.odt", sf.make_odt(
            ["Bilan qualitatif et quantitatif 2025.", "Douze ateliers de pratique dans les quartiers."])),
        sf.write_sample(tmp_path / "avenant_1.pdf", sf.make_pdf(["Avenant n° 1 à la convention 2026."])),
    ]
    login(page, live_server, "idf")

    # --- upload three files at once, with a title and a type per file (the page's script adds the rows)
    page.goto(live_server.path("/documents/nouveau"))
    page.locator("#files").set_input_files([str(f) for f in files])
    rows = page.locator("fieldset.lib-file-row")
    assert rows.count() == 3
    # Empty: left so, the document takes its own title (never a prefilled file name that would win silently).
    assert page.locator("input[name=file_title]").nth(0).input_value() == ""
    titles = ["Convention IDF 2026", "Bilan IDF 2025", "Avenant n° 1"]
    types = ["convention", "bilan", "avenant"]
    for index, (title, doc_type) in enumerate(zip(titles, types)):
        rows.nth(index).get_by_label("Titre").fill(title)
        rows.nth(index).get_by_label("Type").select_option(doc_type)
        # Title, type and year are per file while the rows show (the shared ones are hidden).
        rows.nth(index).get_by_label("Année").fill("2026")
    page.locator("#region").select_option("11")
    # « En signature »: a signed convention would be locked, and this walk adds a version and edits dates.
    page.locator("#status").select_option("en_signature")
    shot(page, "1-upload")
    page.get_by_role("button", name="Archiver").click()
    page.wait_for_load_state()
    assert "3 documents archivés." in page.locator(".flashes").inner_text()
    listed = page.locator("table tbody td:first-child a").all_inner_texts()
    assert sorted(listed) == sorted(titles)
    shot(page, "2-list")

    # --- the convention: HTML preview of the .docx, then a second version and the difference
    page.get_by_role("link", name="Convention IDF 2026").first.click()
    page.wait_for_load_state()
    convention_url = page.url
    preview = page.locator(".lib-preview")
    assert "Article 2 : montant de 40 000 euros." in preview.inner_text()
    assert preview.locator("table td").count() == 4
    version_two = sf.write_sample(tmp_path / "convention_idf_2026_v2.docx", sf.make_docx(
        ["Convention régionale Passeurs d'images Île-de-France 2026.", "Article 1 : objet.",
         "Article 2 : montant de 45 000 euros.", "Article 3 : évaluation annuelle."]))
    page.get_by_role("tab", name="Versions").click()  # the document page is in tabs
    page.get_by_label("Nouveau fichier").set_input_files(str(version_two))
    page.get_by_label("Commentaire (ce qui a changé)").fill("Montant révisé après le comité")
    page.get_by_role("button", name="Ajouter la version").click()
    page.wait_for_load_state()
    assert "Version 2 ajoutée." in page.locator(".flashes").inner_text()
    versions = page.locator("section", has=page.get_by_role("heading", name="Versions")).locator("tbody tr")
    assert versions.count() == 2
    assert "Montant révisé après le comité" in versions.first.inner_text()
    assert "45 000 euros" in page.locator(".lib-preview").inner_text()
    page.get_by_role("button", name="Voir les différences").click()
    page.wait_for_load_state()
    assert page.locator("tr.lib-add").filter(has_text="Article 3 : évaluation annuelle.").count() == 1
    assert page.locator("tr.lib-del").filter(has_text="40 000 euros").count() == 1
    shot(page, "3-diff")

    # --- its échéance in three weeks, with tacit renewal: edit the metadata
    page.goto(convention_url)
    page.get_by_role("link", name="Modifier les métadonnées").click()
    page.locator("#effective_date").fill((today - dt.timedelta(days=340)).isoformat())
    page.locator("#end_date").fill((today + dt.timedelta(days=21)).isoformat())
    page.get_by_label("Tacite reconduction").check()
    page.get_by_role("button", name="Enregistrer").click()
    page.wait_for_load_state()
    assert "Métadonnées enregistrées." in page.locator(".flashes").inner_text()
    shot(page, "4-convention")

    # --- the .odt preview
    page.goto(live_server.path("/documents/?type=bilan"))
    page.get_by_role("link", name="Bilan IDF 2025").first.click()
    page.wait_for_load_state()
    assert "Douze ateliers de pratique dans les quartiers." in page.locator(".lib-preview").inner_text()

    # --- the avenant: PDF inline in a same-origin frame, then "modifie" the convention
    page.goto(live_server.path("/documents/?type=avenant"))
    page.get_by_role("link", name="Avenant n° 1").first.click()
    page.wait_for_load_state()
    frame = page.locator("iframe.lib-pdf")
    src = frame.get_attribute("src")
    assert src and src.startswith("/documents/") and src.endswith("/versions/1/pdf")
    pdf = page.request.get(live_server.path(src))
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"].startswith("inline")
    assert pdf.body().startswith(b"%PDF")
    page.get_by_role("link", name="Ouvrir l'aperçu").click()
    page.wait_for_load_state()
    assert page.locator("iframe.lib-pdf").count() == 1
    page.wait_for_timeout(1500)  # let the browser's PDF viewer draw the page before the screenshot
    shot(page, "5-pdf-preview")
    page.go_back()
    page.wait_for_load_state()
    page.get_by_role("tab", name="Liens").click()
    page.locator("#link_type").select_option("modifie")
    # The document to link is searched by typing (suggestions of the documents one may read).
    page.get_by_role("combobox", name="Document lié").press_sequentially("convention idf")
    page.get_by_role("option", name="Convention IDF 2026", exact=False).wait_for()
    page.keyboard.press("Enter")
    target = page.locator("#target").input_value()
    assert target and convention_url.endswith(f"/documents/{target}")
    page.get_by_role("button", name="Ajouter le lien").click()
    page.wait_for_load_state()
    assert "Lien ajouté." in page.locator(".flashes").inner_text()
    links = page.locator("section#liens table")
    assert "Ce document modifie" in links.inner_text() and "Convention IDF 2026" in links.inner_text()
    page.goto(convention_url)
    links = page.locator("section#liens table")
    assert "Ce document est modifié par" in links.inner_text() and "Avenant n° 1" in links.inner_text()
    shot(page, "6-links")

    # --- échéances dashboard and home panel
    page.goto(live_server.path("/documents/"))
    page.get_by_role("link", name="Échéances", exact=True).click()
    page.wait_for_load_state()
    soon = page.locator("section", has=page.get_by_role("heading", name="Dans les 30 prochains jours"))
    assert soon.locator("tr", has_text="Convention IDF 2026").count() == 2  # échéance + tacite reconduction
    assert "dans 21 jours" not in soon.inner_text() and "21 jours" in soon.inner_text()
    shot(page, "7-deadlines")
    page.goto(live_server.path("/"))
    assert "Convention IDF 2026" in page.locator("section", has_text="Échéances à 30 jours").inner_text()
    shot(page, "8-home")
    assert page.problems == [], page.problems

    # --- another region: 404 on the page, the file and the preview
    logout(page)
    login(page, live_server, "paca")
    document_path = convention_url.removeprefix(live_server.url)
    for path in (document_path, document_path + "/versions/2/telecharger", document_path + "/versions/1/apercu"):
        page.expected_errors.add(live_server.path(path))
    response = page.goto(convention_url)
    assert response is not None and response.status == 404
    assert "Page introuvable" in page.get_by_role("heading", level=1).inner_text()
    assert "Convention IDF 2026" not in page.content()
    shot(page, "9-other-region-404")
    for path in (document_path + "/versions/2/telecharger", document_path + "/versions/1/apercu"):
        response = page.request.get(live_server.path(path))
        assert response.status == 404 and b"PK" not in response.body()
    page.goto(live_server.path("/documents/echeances"))
    assert "Convention IDF 2026" not in page.content()
    # The browser reports the 404s asked for on purpose in its console: only those are allowed.
    unexpected = [p for p in page.problems if not any(url in p for url in page.expected_errors)]
    assert unexpected == [], unexpected
