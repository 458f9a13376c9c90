"""« Mon profil » in Chromium: the deadline alerts checkbox and the deadlines feed address, in each state.

The page audit (test_pages_e2e.py) sees the profile as it first is; here it is also audited with a
new feed address shown (a long secret) and with a live address, at 390 and 1,366 px; and the forms
are used without JavaScript (they post and redirect on their own).
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from documents.models import DeadlineFeedToken, User
from e2e.browser import TIMEOUT_MS, LiveServer, login
from e2e.test_pages_e2e import WIDTHS, _audit
from testkit import USERS

pytestmark = pytest.mark.e2e


def _check(page: Any, where: str) -> list[str]:
    problems = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 844})
        found = _audit(page)
        if found["width"] > found["inner"]:
            problems.append(f"{where} @{width}px: {found['width']} px wide {found['culprits']}")
        problems += [f"{where} @{width}px: {v['id']} ({v['impact']}) {v['nodes']}" for v in found["violations"]]
    return problems


def _context(browser: Any, *, javascript: bool) -> Any:
    context = browser.new_context(locale="fr-FR", viewport={"width": 390, "height": 844},
                                  java_script_enabled=javascript)
    context.set_default_timeout(TIMEOUT_MS)
    return context


def test_profile_alerts_and_feed_pages_pass_the_audit(browser: Any, live_server: LiveServer) -> None:
    # axe runs as a script: this context keeps JavaScript (the page itself has none to need).
    context = _context(browser, javascript=True)
    page = context.new_page()
    try:
        login(page, live_server, "idf")
        page.goto(live_server.path("/profil"))
        problems = _check(page, "profil")
        page.get_by_role("button", name="Créer mon adresse d'abonnement").click()
        page.wait_for_load_state()
        address = page.locator("#deadlines-feed-url").inner_text()
        assert "/documents/echeances/flux/ech_" in address
        problems += _check(page, "profil, nouvelle adresse")
        page.goto(live_server.path("/profil"))
        assert address not in page.content() and page.get_by_role("button", name="Révoquer l'adresse").is_visible()
        problems += _check(page, "profil, adresse active")
        assert not problems, "\n".join(problems)
    finally:
        context.close()


def test_profile_alerts_and_feed_work_without_javascript(browser: Any, live_server: LiveServer) -> None:
    context = _context(browser, javascript=False)
    page = context.new_page()
    session = live_server.app.extensions["db_factory"]()
    try:
        login(page, live_server, "idf")
        page.goto(live_server.path("/profil"))
        box = page.get_by_label("Recevoir les alertes d'échéances par courriel")
        assert box.is_checked()
        box.uncheck()
        page.locator("form", has=page.get_by_label("Recevoir les alertes d'échéances par courriel")) \
            .get_by_role("button", name="Enregistrer").click()
        page.wait_for_load_state()
        assert "ne recevrez plus les alertes" in page.content()
        assert not page.get_by_label("Recevoir les alertes d'échéances par courriel").is_checked()
        idf = session.scalar(select(User).where(User.email == USERS["idf"][0]))
        assert idf is not None and idf.deadline_alerts is False

        page.get_by_role("button", name="Créer mon adresse d'abonnement").click()
        page.wait_for_load_state()
        assert "/documents/echeances/flux/ech_" in page.locator("#deadlines-feed-url").inner_text()
        page.get_by_role("button", name="Révoquer l'adresse").click()
        page.wait_for_load_state()
        assert "Vous n'avez pas d'adresse d'abonnement aux échéances." in page.content()
        session.rollback()
        assert [t is not None for t in session.scalars(select(DeadlineFeedToken.revoked_at))] == [True]
    finally:
        session.close()
        context.close()
