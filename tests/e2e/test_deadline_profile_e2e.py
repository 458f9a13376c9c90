"""« Mon profil » in Chromium: the deadline alerts checkbox and the deadlines feed address, in each state.

The page audit (test_pages_e2e.py) sees the profile as it first is; here it is also audited with a
new feed address shown (a long secret) and with a live address, at 390 and 1,366 px, without
JavaScript for the essentials: the forms post and redirect on their own.
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


def test_profile_alerts_and_feed_without_javascript(browser: Any, live_server: LiveServer) -> None:
    context = browser.new_context(locale="fr-FR", viewport={"width": 390, "height": 844}, java_script_enabled=False)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    session = live_server.app.extensions["db_factory"]()
    try:
        login(page, live_server, "idf")
        page.goto(live_server.path("/profil"))
        problems = _check(page, "profil")
        box = page.get_by_label("Recevoir les alertes d'échéances par courriel")
        assert box.is_checked()
        box.uncheck()
        page.locator("#alertes ~ form").get_by_role("button", name="Enregistrer").click()
        page.wait_for_load_state()
        assert "ne recevrez plus les alertes" in page.content()
        assert not page.get_by_label("Recevoir les alertes d'échéances par courriel").is_checked()
        idf = session.scalar(select(User).where(User.email == USERS["idf"][0]))
        assert idf is not None and idf.deadline_alerts is False

        page.get_by_role("button", name="Créer mon adresse d'abonnement").click()
        page.wait_for_load_state()
        address = page.locator("#deadlines-feed-url").inner_text()
        assert "/documents/echeances/flux/ech_" in address
        problems += _check(page, "profil, nouvelle adresse")
        page.goto(live_server.path("/profil"))
        assert address not in page.content() and page.get_by_role("button", name="Révoquer l'adresse").is_visible()
        problems += _check(page, "profil, adresse active")
        page.get_by_role("button", name="Révoquer l'adresse").click()
        page.wait_for_load_state()
        assert "Vous n'avez pas d'adresse d'abonnement aux échéances." in page.content()
        session.rollback()
        assert session.scalars(select(DeadlineFeedToken.revoked_at)).all() != [None]
        assert not problems, "\n".join(problems)
    finally:
        session.close()
        context.close()
