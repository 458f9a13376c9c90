"""In a real headless Chromium: a year of a regional committee, from the invitation to the approved minutes.

Schedule a meeting of the Île-de-France committee, record attendance and a project
validation, draft the minutes from the Word model, submit, comment and approve them;
then a user of the region finds the minutes by a word written in them, and a user of
another region finds nothing and gets a 404 on the meeting's address.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from documents.committees.committee import ensure_committees
from e2e.browser import LiveServer, login, logout

pytestmark = pytest.mark.e2e

SCREENSHOTS = "/tmp"
#: A word nobody else writes, noted on an agenda point and so present in the minutes.
WORD = "zoopraxinoscope"


@pytest.fixture
def server(live_server: LiveServer) -> Iterator[LiveServer]:
    """The live server, whose search index handle is closed at the end (no open segment files)."""
    yield live_server
    if "search.index" in live_server.app.view_functions:
        from intranet.search.views import reset_index

        reset_index(live_server.app)


def _prepare(server: LiveServer) -> None:
    """The committees of the reference data, as ``intranet bootstrap`` creates them."""
    factory = server.app.extensions["db_factory"]
    session = factory()
    try:
        ensure_committees(session)
        session.commit()
    finally:
        session.close()


def _index_now(server: LiveServer) -> bool:
    """Apply the search outbox (the job of ``intranet indexer``); False if search is not installed."""
    if "search.index" not in server.app.view_functions:
        return False
    from intranet.search.views import sync_drain

    with server.app.app_context():
        sync_drain(server.app)
    return True


def _flash(page: Any) -> str:
    """The flash messages of the page the last click led to (waits for that page)."""
    page.wait_for_load_state()
    page.locator(".flash").first.wait_for()
    return " ".join(page.locator(".flash").all_inner_texts())


def test_regional_committee_year(page: Any, server: LiveServer) -> None:
    live_server = server
    _prepare(live_server)
    login(page, live_server, "idf")

    # The committee, one member added (an account of the region), then a meeting scheduled.
    page.get_by_role("navigation", name="Navigation principale").get_by_role("link", name="Comités").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Comités de pilotage"
    assert page.get_by_text("Provence").count() == 0
    page.get_by_role("link", name="Comité de pilotage régional – Île-de-France").click()
    # The picker replaces the native select once its deferred script has run: type into the picker
    # itself (until then the select is the only « combobox » of that name), and wait for the match.
    account = page.locator("#user_id-picker")
    assert account.get_attribute("role") == "combobox"
    account.press_sequentially("lecteur.idf")
    page.get_by_role("option", name="lecteur.idf", exact=False).wait_for()
    page.keyboard.press("Enter")
    assert page.locator("#user_id").input_value() != ""
    page.get_by_role("button", name="Ajouter le membre").click()
    assert "Membre ajouté." in _flash(page)
    page.screenshot(path=f"{SCREENSHOTS}/e2e_committee.png", full_page=True)

    page.get_by_role("link", name="Planifier une réunion").click()
    page.get_by_label("Intitulé").fill("Comité de pilotage de printemps")
    page.get_by_label("Date", exact=True).fill("2026-03-12")
    page.get_by_label("Heure de début").fill("14:00")
    page.get_by_label("Heure de fin").fill("16:30")
    page.get_by_label("Lieu").fill("DRAC Île-de-France, 47 rue Le Peletier, Paris")
    page.get_by_label("Ordre du jour (un point par ligne, dans l'ordre)").fill(
        "Bilan de l'année 2025\nValidation des projets 2026")
    page.get_by_role("button", name="Enregistrer la réunion").click()
    page.wait_for_url(re.compile(r"/comites/reunions/\d+$"))
    meeting_url = page.url
    assert "Réunion planifiée" in _flash(page)
    assert page.get_by_text("jeudi 12 mars 2026 à 14:00 – 16:30").first.is_visible()

    # Attendance, the notes of the session, a project validation (the meeting page is in tabs).
    page.get_by_role("tab", name="Participants").click()
    page.get_by_label("Présence de DRAC Île-de-France").select_option(label="Présent")
    page.get_by_label("Présence de Lecteur.idf").select_option(label="Représenté")
    page.get_by_label("Lecteur.idf est représenté par").fill("Léa Durand")
    page.get_by_role("button", name="Enregistrer les présences").click()
    assert "Présences enregistrées." in _flash(page)
    page.get_by_role("tab", name="Séance").click()
    page.get_by_label("Notes de séance sur « Bilan de l'année 2025 »").fill(
        f"La coordination présente le bilan ; un atelier {WORD} a réuni 40 jeunes.")
    page.get_by_role("button", name="Enregistrer les notes").click()
    assert "Notes de séance enregistrées." in _flash(page)

    page.get_by_role("tab", name="Décisions et actions").click()
    decisions = page.locator("section[aria-labelledby=decisions]")
    decisions.get_by_label("Type").select_option(label="Validation de projet")
    decisions.get_by_label("Nom du projet").fill("Ciné-quartier des Courtillières")
    decisions.get_by_label("Porteur de projet").fill("Association Cinéma & Cité")
    # The quartier picker: the arrows open the whole list and walk it; Enter takes the first one.
    decisions.locator("#decision-quartier_code-picker").focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    assert page.locator("#decision-quartier_code").input_value() != ""
    decisions.get_by_label("Actions concernées").fill("Projections en plein air gratuites")
    decisions.get_by_role("button", name="Enregistrer la décision").click()
    assert "Décision enregistrée." in _flash(page)
    assert page.get_by_role("cell", name="Validation de projet").is_visible()

    # Minutes drafted from the model, submitted to the members.
    page.get_by_role("tab", name="Compte rendu").click()
    page.get_by_role("button", name="Rédiger depuis le modèle").click()
    assert "Projet de compte rendu rédigé (version 1)" in _flash(page)
    page.get_by_role("button", name="Soumettre aux membres").click()
    assert "Compte rendu soumis aux membres." in _flash(page)
    logout(page)

    # A member comments.
    login(page, live_server, "lecteur_idf")
    page.goto(meeting_url)
    assert page.get_by_text("Vous consultez cette réunion en lecture seule.").is_visible()
    page.get_by_role("tab", name="Compte rendu").click()
    page.get_by_label("Votre remarque").fill("Merci d'ajouter le nombre de séances en plein air.")
    page.get_by_role("button", name="Envoyer la remarque").click()
    assert "Remarque enregistrée." in _flash(page)
    logout(page)

    # The coordinator approves: the version is recorded and locked.
    login(page, live_server, "idf")
    page.goto(meeting_url + "#remarques")
    assert page.get_by_text("Merci d'ajouter le nombre de séances en plein air.").is_visible()
    page.get_by_role("button", name="Approuver le compte rendu").click()
    assert "Compte rendu approuvé (version 1)." in _flash(page)
    assert page.get_by_text("(approuvée, verrouillée)").is_visible()
    page.screenshot(path=f"{SCREENSHOTS}/e2e_meeting_approved.png", full_page=True)
    page.goto(live_server.path("/comites/conformite"))
    page.screenshot(path=f"{SCREENSHOTS}/e2e_committees_compliance.png", full_page=True)
    page.goto(live_server.path("/comites/decisions"))
    assert page.get_by_text("Le comité valide le projet « Ciné-quartier des Courtillières »").is_visible()
    page.screenshot(path=f"{SCREENSHOTS}/e2e_committees_decisions.png", full_page=True)
    page.goto(live_server.path("/"))
    assert page.get_by_role("heading", name="Comités").is_visible()
    page.screenshot(path=f"{SCREENSHOTS}/e2e_committees_home.png", full_page=True)
    # The job of ``intranet mail-worker``: send the outbox to the folder of .eml files.
    from documents import mailqueue
    from documents.mail import OutboxMailer

    mailqueue.deliver_due(live_server.app.extensions["db_factory"], OutboxMailer(live_server.data_dir / "mail"))
    mails = sorted(p.name for p in (live_server.data_dir / "mail").glob("*.eml"))
    assert len(mails) == 3  # invitation, submission, approval (to the member with an e-mail)
    logout(page)

    searched = _index_now(live_server)
    if searched:
        # A regional user of the region finds the minutes by a word written in them.
        login(page, live_server, "lecteur_idf")
        page.goto(live_server.path("/recherche/"))
        page.get_by_role("searchbox").first.fill(WORD)
        page.get_by_role("button", name="Rechercher").click()
        page.wait_for_url(re.compile(rf"q={WORD}"))
        results = page.locator("main")
        page.screenshot(path=f"{SCREENSHOTS}/e2e_committees_search.png", full_page=True)
        assert results.get_by_text("Compte rendu – Comité de pilotage régional – Île-de-France – 12/03/2026").first \
            .is_visible()
        logout(page)

    # Another region: nothing in search, nothing in the list, 404 on the meeting.
    login(page, live_server, "paca")
    if searched:
        page.goto(live_server.path(f"/recherche/?q={WORD}"))
        assert page.get_by_text("Compte rendu – Comité de pilotage régional – Île-de-France").count() == 0
        assert page.get_by_text("Ciné-quartier").count() == 0
    page.goto(live_server.path("/comites/"))
    assert page.get_by_text("Île-de-France").count() == 0
    page.expected_errors.add(meeting_url)
    response = page.goto(meeting_url)
    assert response is not None and response.status == 404
    assert page.get_by_role("heading", level=1).inner_text().startswith("Page introuvable")
    assert "Ciné-quartier" not in page.content()

    # Chromium also logs the expected 404 on the console; every other problem counts.
    problems = [p for p in page.problems if not (p.startswith("console error") and p.endswith(f"({meeting_url})"))]
    assert problems == [], "the browser reported errors (CSP, missing assets, scripts)"
    assert searched, "the search step did not run: the search.index endpoint is missing"
