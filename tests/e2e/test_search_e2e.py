"""In a real headless Chromium: archive three documents in two regions, search them, use a facet, open a hit,
and check that a user of the other region never sees them. The index is fed by the real indexer loop."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import samplefiles as sf
from documents import indexer
from e2e.browser import LiveServer, login, logout

pytestmark = pytest.mark.e2e

SCREENSHOTS = "/tmp"


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


def upload(page: Any, server: LiveServer, tmp_path: Path, *, title: str, text: str, doc_type: str, region: str,
           year: str) -> None:
    path = sf.write_sample(tmp_path / f"{abs(hash(title))}.docx", sf.make_docx([text]))
    page.goto(server.path("/documents/nouveau"))
    # Type and year first: the page's script copies them into the row it adds per chosen file
    # (and hides the shared ones); without it, the shared fields apply.
    page.locator("#doc_type").select_option(doc_type)
    page.locator("#region").select_option(region)
    page.locator("#year").fill(year)
    page.locator("#files").set_input_files(str(path))
    per_file = page.locator("input[name=file_title]")
    (per_file.first if per_file.count() else page.locator("#title")).fill(title)
    page.get_by_role("button", name="Archiver").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).inner_text().startswith(title)


def search(page: Any, query: str, *, expect: int) -> None:
    """Type the query in the search box; the indexer applies changes within a few seconds."""
    deadline = time.monotonic() + 15
    while True:
        box = page.get_by_role("searchbox", name="Rechercher")
        box.fill(query)
        page.get_by_role("button", name="Rechercher").click()
        page.wait_for_load_state()
        found = page.locator("li.search-hit").count()
        if found == expect or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert found == expect, f"{query!r}: {found} results, expected {expect}"


def hit_titles(page: Any) -> list[str]:
    return page.locator("li.search-hit h2").all_inner_texts()


def test_search_in_the_browser(page: Any, live_server: LiveServer, running_indexer: None, tmp_path: Path) -> None:
    login(page, live_server, "idf")
    upload(page, live_server, tmp_path, title="Convention hôpital Île-de-France", doc_type="convention",
           region="11", year="2010",
           text="Ateliers de cinéma à l'hôpital Necker avec la coordination régionale.")
    upload(page, live_server, tmp_path, title="Bilan des coordinations franciliennes", doc_type="bilan",
           region="11", year="2011", text="Bilan annuel : projections à l'hôpital Saint-Louis et en prison.")
    logout(page)
    login(page, live_server, "paca")
    upload(page, live_server, tmp_path, title="Convention hôpital PACA", doc_type="convention",
           region="93", year="2010", text="Projection à l'hôpital de la Timone pour les jeunes patients.")
    logout(page)

    login(page, live_server, "idf")
    page.get_by_role("navigation", name="Navigation principale").get_by_role("link", name="Recherche").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Recherche dans les documents"
    search(page, "hôpital", expect=2)
    assert sorted(hit_titles(page)) == ["Bilan des coordinations franciliennes", "Convention hôpital Île-de-France"]
    assert page.locator("li.search-hit mark").first.inner_text().lower() == "hôpital"
    search(page, "hopital", expect=2)  # without the accent
    assert "Convention hôpital PACA" not in page.content()
    page.screenshot(path=f"{SCREENSHOTS}/e2e_search_results.png", full_page=True)

    # A facet: ticking "Bilan" runs the search again (JavaScript), keeping the query.
    page.get_by_role("checkbox", name=re.compile(r"^Bilan \(1\)")).check()
    page.wait_for_url(re.compile(r"type=bilan"))
    assert hit_titles(page) == ["Bilan des coordinations franciliennes"]
    assert page.get_by_role("searchbox", name="Rechercher").input_value() == "hopital"
    page.locator("li.search-hit h2 a").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).inner_text().startswith("Bilan des coordinations franciliennes")
    logout(page)

    # The other region's user: the Île-de-France documents do not appear, whatever the query.
    login(page, live_server, "paca")
    page.goto(live_server.path("/recherche/"))
    search(page, "hopital", expect=1)
    assert hit_titles(page) == ["Convention hôpital PACA"]
    for query in ("coordination", "region:11 OR hop*", "NOT region:93"):
        page.goto(live_server.path("/recherche/"))
        page.get_by_role("searchbox", name="Rechercher").fill(query)
        page.get_by_role("button", name="Rechercher").click()
        page.wait_for_load_state()
        content = page.content()
        assert "Île-de-France" not in content and "francilien" not in content, query
    page.screenshot(path=f"{SCREENSHOTS}/e2e_search_other_region.png", full_page=True)
    assert page.problems == [], "the browser reported errors (CSP, missing assets, scripts)"
