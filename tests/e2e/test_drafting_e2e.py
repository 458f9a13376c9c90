"""In a real headless Chromium: draft the DRAC convention for Île-de-France from the form, find it in the
archive (and in search, when the search feature is installed), regenerate it with a changed amount
(version 2), then run a batch for three regions and download the ZIP."""

from __future__ import annotations

import re
import threading
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from documents import drafting
from documents.models import Organisation
from documents.storage import LocalStorage
from e2e.browser import LiveServer, login, logout
from testkit import AMOUNTS

pytestmark = pytest.mark.e2e

SCREENSHOTS = "/tmp"


@pytest.fixture
def drafting_server(live_server: LiveServer) -> Iterator[LiveServer]:
    """The live server with the built-in models filed (as ``make run`` does) and a complete référentiel."""
    session = live_server.app.extensions["db_factory"]()
    try:
        drafting.load_builtin_models(session, LocalStorage(live_server.app.config["STORAGE_DIR"]))
        for org in session.scalars(select(Organisation)):
            org.address = org.address or f"{org.id} rue de la Paix, 75002 Paris"
            org.representative = org.representative or f"Madame Représentante {org.id}"
            org.representative_title = org.representative_title or "Directrice"
        session.commit()
    finally:
        session.close()
    yield live_server


@pytest.fixture
def search_indexer(drafting_server: LiveServer) -> Iterator[bool]:
    """The indexer loop beside the server when the search feature exists; False otherwise."""
    if "search.index" not in drafting_server.app.view_functions:
        yield False
        return
    from documents import indexer

    stop = threading.Event()
    loop = threading.Thread(
        target=indexer.run_indexer,
        args=(drafting_server.app.extensions["db_factory"], drafting_server.app.config["INDEX_DIR"]),
        kwargs={"interval": 0.2, "stop": stop, "procs": 1}, name="indexer", daemon=True)
    loop.start()
    try:
        yield True
    finally:
        stop.set()
        loop.join(15)
        index = drafting_server.app.extensions.pop("search_index", None)
        if index is not None:
            index.close()


def test_draft_regenerate_and_batch(page: Any, drafting_server: LiveServer, search_indexer: bool) -> None:
    server = drafting_server
    login(page, server, "idf")
    page.get_by_role("navigation", name="Navigation principale").get_by_role("link", name="Modèles").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Modèles de documents"
    page.get_by_role("link", name="Convention annuelle DRAC – coordination régionale").click()
    page.locator("#year").fill("2026")
    page.get_by_role("button", name="Ouvrir le formulaire").click()
    page.wait_for_load_state()
    assert page.locator("#region_choice").input_value() == "11"
    assert page.locator("#f-drac-nom").input_value() == "DRAC Île-de-France"
    for name, value in AMOUNTS.items():
        page.locator(f"#f-{name}").fill(value)
    page.locator("#f-lieu_signature").fill("Montreuil-sous-Bois")
    # The script shows the total as it is typed (the server computes it again).
    assert re.sub(r"\s", " ", page.locator("#f-montant_total").inner_text()) == "25 000,00 €"
    page.screenshot(path=f"{SCREENSHOTS}/e2e_drafting_form.png", full_page=True)
    page.get_by_role("button", name="Générer le brouillon").click()
    page.wait_for_load_state()
    title = "Convention annuelle DRAC – coordination régionale – Île-de-France – 2026"
    assert page.get_by_role("heading", level=1).inner_text().startswith(title)
    assert page.get_by_text("Brouillon généré et classé dans les documents.").is_visible()
    draft_url = page.url

    # In the archive, as a brouillon of type convention.
    page.get_by_role("link", name="Voir dans les documents").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).inner_text().startswith(title)
    assert "Brouillon" in page.locator("dl.meta").inner_text()

    if search_indexer:
        page.goto(server.path("/recherche/"))
        found = 0
        for _attempt in range(50):
            page.get_by_role("searchbox", name="Rechercher").fill("Montreuil-sous-Bois")
            page.get_by_role("button", name="Rechercher").click()
            page.wait_for_load_state()
            found = page.locator("li.search-hit").count()
            if found:
                break
            page.wait_for_timeout(300)
        assert found == 1
        assert page.locator("li.search-hit h2").inner_text() == title

    # Régénérer with a changed amount: version 2.
    page.goto(draft_url)
    regen = page.locator("form.draft-form")
    regen.locator("#f-montant_formation").fill("4 500")
    regen.get_by_role("button", name="Régénérer").click()
    page.wait_for_load_state()
    assert page.get_by_text("Brouillon régénéré : version 2.").is_visible()
    assert page.get_by_role("link", name="Télécharger la version 2 (.docx)").is_visible()
    logout(page)

    # A batch for three regions (the national coordination's account).
    login(page, server, "national")
    page.goto(server.path("/modeles/"))
    page.get_by_role("link", name="Convention annuelle DRAC – coordination régionale").click()
    page.get_by_role("link", name="Produire un brouillon par région (lot)").click()
    page.wait_for_load_state()
    for code in ("44", "53", "93"):  # the grid offers today's regions (Grand Est, not Champagne-Ardenne)
        page.locator(f"#reg-{code}").check()
        for name, value in AMOUNTS.items():
            page.locator(f"#r-{code}-{name}").fill(value)
    page.get_by_role("button", name="Lancer le lot").click()
    # The progress bar polls the status; the page shows the report when the batch ends.
    page.get_by_role("link", name="Télécharger les brouillons (ZIP)").wait_for(timeout=60_000)
    rows = page.locator("table tbody tr")
    assert rows.count() == 3
    assert set(rows.locator("td:nth-child(2)").all_inner_texts()) == {"Brouillon classé"}
    page.screenshot(path=f"{SCREENSHOTS}/e2e_drafting_batch.png", full_page=True)
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Télécharger les brouillons (ZIP)").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".zip")
    with zipfile.ZipFile(download.path()) as bundle:
        assert len([n for n in bundle.namelist() if n.endswith(".docx")]) == 3
    # Chromium reports a followed download link as an aborted request: not a page problem.
    problems = [p for p in page.problems if not (p.startswith("request failed:") and p.endswith("/brouillons.zip"))]
    assert problems == [], "the browser reported errors (CSP, missing assets, scripts)"
