"""The tabbed document and meeting pages in Chromium: by keyboard (ARIA tabs), and without JavaScript (links and :target)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from sqlalchemy import select

import samplefiles as sf
from documents import archive
from documents.committees.committee import ensure_committees
from documents.committees.dates import paris_datetime
from documents.committees.decisions import DecisionInput, add_decision
from documents.committees.meetings import MeetingInput, schedule_meeting
from documents.models import Committee, User
from documents.storage import LocalStorage
from e2e.browser import TIMEOUT_MS, LiveServer, login
from testkit import PASSWORD, USERS

pytestmark = pytest.mark.e2e

DOCUMENT_TABS = ["Aperçu", "Informations", "Versions", "Liens", "Historique"]


def _seed(server: LiveServer) -> tuple[int, int]:
    session = server.app.extensions["db_factory"]()
    try:
        admin = session.scalar(select(User).where(User.email == USERS["admin"][0]))
        path = sf.write_sample(server.data_dir / "in" / uuid.uuid4().hex / "convention.docx",
                               sf.make_docx(["Convention entre la DRAC et la coordination régionale."]))
        doc = archive.archive_document(session, LocalStorage(server.app.config["STORAGE_DIR"]), actor=admin,
                                       path=path, filename="convention.docx",
                                       meta=archive.Metadata(title="Convention Île-de-France 2026", region_code="11",
                                                             doc_type="convention", year=2026))
        session.commit()
        # 25 changes: the history has two pages.
        for n in range(24):
            archive.update_metadata(session, doc, actor=admin, ip="",
                                    meta=archive.Metadata(title=f"Convention Île-de-France 2026 ({n})",
                                                          region_code="11", doc_type="convention", year=2026))
            session.commit()
        ensure_committees(session)
        session.commit()
        committee = session.scalar(select(Committee).where(Committee.slug == "regional-11"))
        meeting = schedule_meeting(session, committee, actor=admin, data=MeetingInput(
            starts_at=paris_datetime(dt.date.today() + dt.timedelta(days=20), dt.time(14)),
            title="Comité de pilotage régional", place="DRAC", agenda=["Bilan"]))
        add_decision(session, meeting, actor=admin, data=DecisionInput(text="Le bilan 2025 est adopté."))
        session.commit()
        return doc.id, meeting.id
    finally:
        session.close()


def _selected(page: Any) -> str:
    return page.locator('[role="tab"][aria-selected="true"]').inner_text().split("(")[0].strip()


def test_document_tabs_by_keyboard(browser: Any, live_server: LiveServer) -> None:
    doc_id, meeting_id = _seed(live_server)
    context = browser.new_context(locale="fr-FR", viewport={"width": 1366, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        login(page, live_server, "idf", PASSWORD)
        page.goto(live_server.path(f"/documents/{doc_id}"))
        tabs = page.get_by_role("tab")
        assert [t.split("(")[0].strip() for t in tabs.all_inner_texts()] == DOCUMENT_TABS
        assert page.get_by_role("tablist", name="Sections du document").is_visible()
        assert _selected(page) == "Aperçu" and page.locator("#apercu").is_visible()
        assert page.locator("#versions").is_hidden()
        # One tab in the Tab order: the selected one.
        assert [t.get_attribute("tabindex") for t in tabs.all()] == ["0", "-1", "-1", "-1", "-1"]
        page.get_by_role("tab", name="Aperçu").focus()
        page.keyboard.press("ArrowRight")
        assert _selected(page) == "Informations"
        assert page.evaluate("document.activeElement.id") == "onglet-informations"
        assert page.locator("#informations").is_visible() and page.locator("#apercu").is_hidden()
        assert page.get_by_role("tabpanel").count() == 1
        page.keyboard.press("End")
        assert _selected(page) == "Historique" and page.locator("#historique").is_visible()
        assert page.url.endswith("#historique")
        page.keyboard.press("ArrowRight")  # wraps around
        assert _selected(page) == "Aperçu"
        page.keyboard.press("ArrowLeft")
        assert _selected(page) == "Historique"
        page.keyboard.press("Home")
        assert _selected(page) == "Aperçu"
        # Tab leaves the tab list for the panel's content.
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.getAttribute('role')") != "tab"

        # The history: plain French sentences, 20 per page, the next page opens on the same tab.
        page.goto(live_server.path(f"/documents/{doc_id}#historique"))
        assert _selected(page) == "Historique"
        history = page.locator("#historique")
        assert history.locator("ol.history > li").count() == 20
        assert "a modifié les informations (titre)" in history.inner_text()
        assert "sha256" not in history.inner_text()  # technical details are for administrators
        history.get_by_role("link", name="Événements plus anciens").click()
        page.wait_for_load_state()
        assert "historique=2" in page.url and _selected(page) == "Historique"
        assert page.locator("#historique ol.history > li").count() == 5
        assert "a déposé le document" in page.locator("#historique").inner_text()

        # The meeting page: same pattern; an anchor inside a panel (#decisions) opens that panel.
        page.goto(live_server.path(f"/comites/reunions/{meeting_id}#decisions"))
        assert _selected(page) == "Décisions et actions"
        assert page.get_by_role("cell", name="Le bilan 2025 est adopté").is_visible()
        page.get_by_role("tab", name="Décisions et actions").focus()
        page.keyboard.press("ArrowRight")
        assert _selected(page) == "Compte rendu" and page.locator("#cr").is_visible()
    finally:
        context.close()


def test_tabs_work_without_javascript(browser: Any, live_server: LiveServer) -> None:
    doc_id, meeting_id = _seed(live_server)
    context = browser.new_context(locale="fr-FR", viewport={"width": 390, "height": 844}, java_script_enabled=False)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        login(page, live_server, "idf", PASSWORD)
        page.goto(live_server.path(f"/documents/{doc_id}"))
        assert page.get_by_role("tab").count() == 0  # plain links: no ARIA promise without the script
        assert page.locator("#apercu").is_visible() and page.locator("#versions").is_hidden()
        page.get_by_role("link", name="Versions").click()
        assert page.locator("#versions").is_visible() and page.locator("#apercu").is_hidden()
        assert page.get_by_role("button", name="Déposer la nouvelle version").is_visible() or \
            page.locator("#versions table").is_visible()
        page.get_by_role("link", name="Historique").click()
        assert page.locator("#historique").is_visible() and page.locator("#versions").is_hidden()
        page.goto(live_server.path(f"/comites/reunions/{meeting_id}#decisions"))
        assert page.get_by_role("cell", name="Le bilan 2025 est adopté").is_visible()
        assert page.locator("#seance").is_hidden()
    finally:
        context.close()
