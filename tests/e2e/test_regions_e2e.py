"""In a real headless Chromium: a DRAC Occitanie agent finds a 2012 Languedoc-Roussillon convention and a 2019
Occitanie one, and never a Nouvelle-Aquitaine (or Aquitaine) document, in lists, search and facets."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import samplefiles as sf
import searchkit
from documents import accounts, indexer
from e2e.browser import LiveServer, login
from testkit import PASSWORD

pytestmark = pytest.mark.e2e

SCREENSHOTS = "/tmp"
OCCITANIE = "agent.occitanie@test.fr"


@pytest.fixture
def running_indexer(live_server: LiveServer) -> Iterator[None]:
    """The single indexer beside the live server, as ``make run`` starts it."""
    stop = threading.Event()
    loop = threading.Thread(
        target=indexer.run_indexer,
        args=(live_server.app.extensions["db_factory"], live_server.app.config["INDEX_DIR"]),
        kwargs={"interval": 0.2, "stop": stop, "procs": 1}, name="indexer", daemon=True)
    loop.start()
    try:
        yield
    finally:
        stop.set()
        loop.join(15)
        index = live_server.app.extensions.pop("search_index", None)
        if index is not None:
            index.close()


@pytest.fixture
def archive(live_server: LiveServer) -> None:
    """The agent's account and the archive of both maps, filed by an administrator."""
    session = live_server.app.extensions["db_factory"]()
    try:
        accounts.create_user(session, email=OCCITANIE, role="regional", region_code="76", password=PASSWORD,
                             name="Agent DRAC Occitanie")
        for title, region, year, text in (
            ("Convention Languedoc-Roussillon 2012", "91", 2012, "Ateliers de cinéma à Montpellier."),
            ("Convention Nouvelle-Aquitaine 2019", "75", 2019, "Ateliers de cinéma à Bordeaux."),
            ("Convention Aquitaine 2012", "72", 2012, "Projections à Pau."),
        ):
            searchkit.archive_doc(live_server.app, session, title, [f"{title}. {text}"], region=region, year=year,
                                  doc_type="convention")
        session.commit()
    finally:
        session.close()


def run_search(page: Any, server: LiveServer, query: str, *, expect: int) -> str:
    """Search until the indexer has caught up (a few seconds at most); the page's text."""
    deadline = time.monotonic() + 15
    while True:
        page.goto(server.path("/recherche/"))
        page.get_by_role("searchbox", name="Rechercher").fill(query)
        page.get_by_role("button", name="Rechercher").click()
        page.wait_for_load_state()
        found = page.locator("li.search-hit").count()
        if found == expect or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert found == expect, f"{query!r}: {found} results, expected {expect}"
    return page.locator("main").inner_text()


def test_occitanie_agent_sees_both_maps_of_the_region_and_nothing_else(
        page: Any, live_server: LiveServer, archive: None, running_indexer: None, tmp_path: Path) -> None:
    login(page, live_server, OCCITANIE)
    # The agent files the 2019 convention through the form: Occitanie is offered, Nouvelle-Aquitaine is not.
    path = sf.write_sample(tmp_path / "occitanie.docx", sf.make_docx(["Convention Occitanie 2019. Ateliers à Nîmes."]))
    page.goto(live_server.path("/documents/nouveau"))
    page.locator("#files").set_input_files(str(path))
    # With JavaScript, title, type and year are asked per file (the shared ones are hidden).
    row = page.locator("fieldset.lib-file-row")
    assert row.count() == 1
    row.get_by_label("Titre").fill("Convention Occitanie 2019")
    row.get_by_label("Type").select_option("convention")
    row.get_by_label("Année").fill("2019")
    options = page.locator("#region option").all_inner_texts()
    assert any("Occitanie" in o for o in options) and any("Languedoc-Roussillon" in o for o in options)
    assert not any("Aquitaine" in o for o in options)
    page.locator("#region").select_option("76")
    page.get_by_role("button", name="Archiver").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).inner_text().startswith("Convention Occitanie 2019")

    # The list: both conventions, the former region shown with today's beside it; no Aquitaine.
    page.goto(live_server.path("/documents/"))
    table = page.locator("table").first.inner_text()
    assert "Convention Languedoc-Roussillon 2012" in table and "Convention Occitanie 2019" in table
    assert "Languedoc-Roussillon (auj. Occitanie)" in table
    # (The référentiel's organisations, public to every user, stay in the « Partie » filter.)
    assert "Aquitaine" not in table
    assert not any("Aquitaine" in o for o in page.locator("#f-region option").all_inner_texts())
    # Filtering by today's region keeps the predecessor's document.
    page.locator("#f-region").select_option("76")
    page.locator("form.filters").get_by_role("button").first.click()
    page.wait_for_load_state()
    table = page.locator("table").first.inner_text()
    assert "Convention Languedoc-Roussillon 2012" in table and "Convention Occitanie 2019" in table
    page.screenshot(path=f"{SCREENSHOTS}/e2e_regions_list.png", full_page=True)

    # Search and facets: the two conventions, never Nouvelle-Aquitaine, whatever the query.
    text = run_search(page, live_server, "convention", expect=2)
    assert "Aquitaine" not in text and "Bordeaux" not in text
    facet_labels = page.locator(".search-facets label").all_inner_texts()
    assert any(re.match(r"Occitanie \(1\)", label) for label in facet_labels)
    assert any(re.match(r"Languedoc-Roussillon.*\(1\)", label) for label in facet_labels)
    assert not any("Aquitaine" in label for label in facet_labels)
    page.screenshot(path=f"{SCREENSHOTS}/e2e_regions_search.png", full_page=True)
    text = run_search(page, live_server, "region:76", expect=2)
    assert "Convention Languedoc-Roussillon 2012" in re.sub(r"\s+", " ", text)
    for query in ("region:75 OR conv*", "NOT region:76", "bordeaux OR ateliers", "region:72"):
        expect = {"region:75 OR conv*": 2, "NOT region:76": 0, "bordeaux OR ateliers": 2, "region:72": 0}[query]
        text = run_search(page, live_server, query, expect=expect)
        assert "Aquitaine" not in text and "Bordeaux" not in text and "Pau" not in text, query
    assert page.problems == [], "the browser reported errors (CSP, missing assets, scripts)"
