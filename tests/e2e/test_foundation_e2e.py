"""In a real headless Chromium: log in, browse the quartiers of Seine-Saint-Denis, log out."""

from __future__ import annotations

import re
from typing import Any

import pytest

from e2e.browser import LiveServer, login, logout

pytestmark = pytest.mark.e2e

SCREENSHOTS = "/tmp"


def test_login_browse_quartiers_logout(page: Any, live_server: LiveServer) -> None:
    login(page, live_server, "idf")
    assert page.url == live_server.path("/")
    assert page.get_by_role("heading", level=1).inner_text() == "Mon tableau de bord"
    assert page.get_by_text("Bonjour Idf.").is_visible()
    assert page.locator("html").get_attribute("lang") == "fr"

    nav = page.get_by_role("navigation", name="Navigation principale")
    nav.get_by_role("link", name="Référentiel").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Régions"
    page.get_by_role("navigation", name="Référentiel").get_by_role("link", name="Quartiers").click()
    assert page.get_by_role("heading", level=1).inner_text().startswith("Quartiers")

    page.get_by_label("Département").select_option(label="Seine St Denis (93)")
    page.get_by_role("button", name="Filtrer").click()
    page.wait_for_url(re.compile(r"departement=Seine"))
    rows = page.locator("table tbody tr")
    assert rows.count() == 20
    assert page.get_by_text("20 résultats").first.is_visible()
    assert set(rows.locator("td:nth-child(4)").all_inner_texts()) == {"Seine St Denis (93)"}
    page.screenshot(path=f"{SCREENSHOTS}/e2e_quartiers_93.png", full_page=True)

    first = rows.first.get_by_role("link")
    code = first.inner_text()
    first.click()
    quartier_url = live_server.path(f"/referentiel/quartiers/{code}")
    assert page.url == quartier_url
    assert page.get_by_text("Seine St Denis (93)").is_visible()
    page.screenshot(path=f"{SCREENSHOTS}/e2e_quartier.png", full_page=True)

    logout(page)
    assert page.url == live_server.path("/connexion")
    assert page.get_by_text("Vous êtes déconnecté.").is_visible()
    page.goto(quartier_url)
    assert page.url.startswith(live_server.path("/connexion?next="))
    assert page.get_by_role("heading", level=1).inner_text() == "Connexion"

    assert page.problems == [], "the browser reported errors (CSP, missing assets, scripts)"


def test_small_screen_and_keyboard(page: Any, live_server: LiveServer) -> None:
    page.set_viewport_size({"width": 375, "height": 800})
    login(page, live_server, "admin")
    page.goto(live_server.path("/referentiel/quartiers?departement=Seine-Saint-Denis"))
    # The first Tab reaches the skip link, which leads to the main content (RGAA 12.7).
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent.trim()")
    assert focused == "Aller au contenu"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "contenu"
    # Nothing wider than the screen but the table, which scrolls in its own box.
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    page.screenshot(path=f"{SCREENSHOTS}/e2e_quartiers_mobile.png", full_page=True)
    assert overflow <= 0, f"the page is {overflow}px wider than a phone screen"
    clipped, scrolls = page.evaluate(
        "(() => { const t = document.querySelector('table');"
        " return [t.scrollWidth > t.clientWidth, getComputedStyle(t).overflowX]; })()")
    assert not clipped or scrolls in ("auto", "scroll"), "table columns cut off with no way to reach them"
    assert page.problems == []
