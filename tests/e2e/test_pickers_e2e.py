"""In a real headless Chromium, by keyboard only: every kind of picker (organisations and quartiers to
tag a document, a filter, an intranet account, a quartier of a decision, the document to link) — type,
arrows, Enter, Backspace on the chips, submit — then the stored values. The same forms with JavaScript
off submit the same values through the native controls (the document to link: search, then choose).
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

import samplefiles as sf
from documents import archive
from documents.committees.committee import ensure_committees
from documents.committees.dates import paris_datetime
from documents.committees.meetings import MeetingInput, schedule_meeting
from documents.models import Committee, CommitteeMember, Decision, Document, DocumentLink, Organisation, Quartier, User
from documents.storage import LocalStorage
from e2e.browser import TIMEOUT_MS, LiveServer, login
from testkit import PASSWORD, USERS

pytestmark = pytest.mark.e2e

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"


def _axe(page: Any) -> list[str]:
    """axe-core's violations on the page as it is now (a list open, chips shown), injected outside the CSP."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    return page.evaluate("""async () => (await axe.run(document, {resultTypes: ["violations"]})).violations
        .map(v => v.id + ": " + v.nodes.map(n => n.target.join(" ")).join(", "))""")


def _session(server: LiveServer) -> Any:
    return server.app.extensions["db_factory"]()


def _file(server: LiveServer, title: str, region: str | None, doc_type: str = "convention") -> int:
    session = _session(server)
    try:
        admin = session.scalar(select(User).where(User.email == USERS["admin"][0]))
        path = sf.write_sample(server.data_dir / "in" / uuid.uuid4().hex / "doc.docx", sf.make_docx([title]))
        doc = archive.archive_document(session, LocalStorage(server.app.config["STORAGE_DIR"]), actor=admin,
                                       path=path, filename="doc.docx",
                                       meta=archive.Metadata(title=title, region_code=region, doc_type=doc_type))
        session.commit()
        return doc.id
    finally:
        session.close()


def _idf_meeting(server: LiveServer, agenda_item: str) -> tuple[int, int]:
    """(committee id, meeting id) of a meeting of the Île-de-France committee in ten days."""
    session = _session(server)
    try:
        ensure_committees(session)
        session.commit()
        committee = session.scalar(select(Committee).where(Committee.slug == "regional-11"))
        admin = session.scalar(select(User).where(User.email == USERS["admin"][0]))
        meeting = schedule_meeting(session, committee, actor=admin, data=MeetingInput(
            starts_at=paris_datetime(dt.date.today() + dt.timedelta(days=10), dt.time(14)), title="Comité",
            place="DRAC, salle 2", agenda=[agenda_item]))
        session.commit()
        return committee.id, meeting.id
    finally:
        session.close()


def _open(browser: Any, width: int = 1280, *, javascript: bool = True) -> tuple[Any, Any, list[str]]:
    """A new context and page; the list collects console errors, page errors and failed requests."""
    context = browser.new_context(locale="fr-FR", viewport={"width": width, "height": 900},
                                  java_script_enabled=javascript)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("response", lambda r: errors.append(f"HTTP {r.status} {r.url}") if r.status >= 400 else None)
    return context, page, errors


def _combobox(page: Any, name: str) -> Any:
    # The picker's own field: before its deferred script has run, a native select has the same name.
    box = page.get_by_role("combobox", name=name).and_(page.locator("input.picker-input"))
    assert box.get_attribute("aria-expanded") == "false"
    return box



def _status(page: Any, input_id: str) -> str:
    return page.locator(f"#{input_id.removesuffix('-picker')}-status").inner_text()


def _org(server: LiveServer, short: str) -> Organisation:
    session = _session(server)
    try:
        return session.scalar(select(Organisation).where(Organisation.short_name == short))
    finally:
        session.close()


def _document(server: LiveServer, document_id: int) -> tuple[set[int], set[str]]:
    session = _session(server)
    try:
        doc = session.get(Document, document_id)
        return {p.id for p in doc.parties}, {q.code for q in doc.quartiers}
    finally:
        session.close()


def test_metadata_pickers_by_keyboard_then_without_javascript(browser: Any, live_server: LiveServer) -> None:
    doc_id = _file(live_server, "Convention de coordination 2026", "11")
    session = _session(live_server)
    cnc = session.scalar(select(Organisation).where(Organisation.short_name == "CNC"))
    quartiers = session.scalars(select(Quartier).where(Quartier.region_code == "11").order_by(Quartier.code)).all()
    session.close()
    first_q, second_q = quartiers[0], quartiers[1]

    context, page, errors = _open(browser)
    try:
        login(page, live_server, "idf", PASSWORD)
        page.goto(live_server.path(f"/documents/{doc_id}/modifier"))
        parties = _combobox(page, "Parties (organisations du référentiel)")
        parties.focus()
        # Typing filters (accents and case ignored) and announces the count; Enter takes the first match.
        parties.press_sequentially("cinema et de l'image")
        assert parties.get_attribute("aria-expanded") == "true"
        options = page.get_by_role("listbox", name="Parties (organisations du référentiel)").get_by_role("option")
        assert options.count() >= 1 and "Centre national du cinéma" in options.first.inner_text()
        assert "résultat" in _status(page, "parties")
        assert parties.get_attribute("aria-activedescendant") == options.first.get_attribute("id")
        page.keyboard.press("Enter")
        assert parties.get_attribute("aria-expanded") == "false" and parties.input_value() == ""
        assert page.get_by_role("button", name=f"Retirer {cnc.name} (CNC)").is_visible()
        # Arrows walk the list: the second match of « drac », then a third organisation removed by Backspace.
        parties.press_sequentially("drac")
        page.keyboard.press("ArrowDown")
        second = page.locator(f"#{parties.get_attribute('aria-activedescendant')}").inner_text()
        page.keyboard.press("Enter")
        parties.press_sequentially("acsé")
        page.keyboard.press("Enter")
        chips = page.locator(".picker").first.get_by_role("button")
        assert chips.count() == 3
        # Chips follow the list's order (the Agence…, the Centre… (CNC), then the DRAC): Backspace in the
        # empty field removes the last one.
        assert second in chips.last.inner_text()
        page.keyboard.press("Backspace")
        assert chips.count() == 2 and "Retiré" in _status(page, "parties") and second in _status(page, "parties")
        # Escape closes the list without choosing.
        parties.press_sequentially("kyrn")
        assert parties.get_attribute("aria-expanded") == "true"
        assert _axe(page) == []  # the open list, its active option and the chips pass axe-core
        page.keyboard.press("Escape")
        assert parties.get_attribute("aria-expanded") == "false" and chips.count() == 2
        page.keyboard.press("Escape")
        assert parties.input_value() == ""

        quartier_box = _combobox(page, "Quartiers « Espoir banlieues »")
        quartier_box.focus()
        quartier_box.press_sequentially(first_q.code)
        page.keyboard.press("Enter")
        quartier_box.press_sequentially(second_q.code)
        page.keyboard.press("Enter")
        # A chip is a button « Retirer … »: Enter on it removes it, and the focus goes back to the field.
        chip = page.get_by_role("button", name=f"Retirer {second_q.code}", exact=False)
        chip.focus()
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "quartiers-picker"
        quartier_box.press_sequentially(second_q.code)
        page.keyboard.press("Enter")
        page.get_by_role("button", name="Enregistrer").focus()
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert "Métadonnées enregistrées." in page.locator(".flashes").inner_text()
        party_ids, quartier_codes = _document(live_server, doc_id)
        assert cnc.id in party_ids and len(party_ids) == 2
        assert second_q.code in quartier_codes and first_q.code in quartier_codes and len(quartier_codes) == 2
        # The page shown again holds the same chips.
        page.goto(live_server.path(f"/documents/{doc_id}/modifier"))
        assert page.get_by_role("button", name=f"Retirer {cnc.name} (CNC)").is_visible()
        kept = page.locator(".picker").first.inner_text()
        assert second not in kept and "(Acsé)" in kept
        assert not errors, errors
    finally:
        context.close()

    # Without JavaScript: the native multiple selects, same values stored.
    context, page, errors = _open(browser, javascript=False)
    try:
        login(page, live_server, "idf", PASSWORD)
        page.goto(live_server.path(f"/documents/{doc_id}/modifier"))
        assert page.get_by_role("combobox", name="Parties (organisations du référentiel)").count() == 0
        page.get_by_label("Parties (organisations du référentiel)").select_option([str(i) for i in sorted(party_ids)])
        page.get_by_label("Quartiers « Espoir banlieues »").select_option([first_q.code])
        page.get_by_role("button", name="Enregistrer").click()
        page.wait_for_load_state()
        assert _document(live_server, doc_id) == (party_ids, {first_q.code})
    finally:
        context.close()


def test_single_pickers_filter_and_committee_forms(page: Any, live_server: LiveServer) -> None:
    _file(live_server, "Convention de coordination 2026", "11")
    committee_id, meeting_id = _idf_meeting(live_server, "Projets 2026")
    session = _session(live_server)
    quartier = session.scalars(select(Quartier).where(Quartier.region_code == "11")
                               .order_by(Quartier.departement, Quartier.code)).all()[3]
    session.close()
    cnc = _org(live_server, "CNC")
    login(page, live_server, "admin")

    # A filter of the document list: one value, Enter in the empty field submits the filter form.
    page.goto(live_server.path("/documents/"))
    party = _combobox(page, "Partie")
    party.focus()
    party.press_sequentially("CNC")
    page.keyboard.press("Enter")
    assert page.get_by_role("button", name="Retirer CNC").is_visible()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert f"party={cnc.id}" in page.url
    # The chosen filter shows as a chip; Backspace empties it, and the list is unfiltered again.
    party = _combobox(page, "Partie")
    party.focus()
    page.keyboard.press("Backspace")
    assert page.get_by_role("button", name="Retirer CNC").count() == 0
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "party=&" in page.url or page.url.endswith("party=")

    # An intranet account as a committee member.
    page.goto(live_server.path(f"/comites/{committee_id}"))
    account = _combobox(page, "Compte de l'intranet")
    account.focus()
    account.press_sequentially("lecteur.idf")
    page.keyboard.press("ArrowDown")  # already on the first match: stays within the list
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Enter")
    assert page.get_by_role("button", name="Retirer", exact=False).filter(has_text="lecteur.idf@test.fr").count() == 1
    page.get_by_role("button", name="Ajouter le membre").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Membre ajouté." in page.locator(".flashes").inner_text()
    session = _session(live_server)
    lecteur = session.scalar(select(User).where(User.email == USERS["lecteur_idf"][0]))
    assert session.scalar(select(CommitteeMember).where(CommitteeMember.committee_id == committee_id,
                                                        CommitteeMember.user_id == lecteur.id)) is not None
    session.close()

    # The quartier of a project validation (one of the committee's region).
    page.goto(live_server.path(f"/comites/reunions/{meeting_id}#decisions"))  # the « Décisions et actions » tab
    decisions = page.locator("section[aria-labelledby=decisions]")
    decisions.get_by_label("Type").select_option(label="Validation de projet")
    decisions.get_by_label("Nom du projet").fill("Ciné-quartier")
    decisions.get_by_label("Porteur de projet").fill("Association Cinéma & Cité")
    box = decisions.get_by_role("combobox", name="Quartier (annexe 2)").and_(page.locator("input.picker-input"))
    box.focus()
    box.press_sequentially(quartier.code)
    page.keyboard.press("Enter")
    decisions.get_by_role("button", name="Enregistrer la décision").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Décision enregistrée." in page.locator(".flashes").inner_text()
    session = _session(live_server)
    decision = session.scalar(select(Decision).where(Decision.meeting_id == meeting_id))
    assert decision.quartier_code == quartier.code
    session.close()
    assert not page.problems, page.problems


def test_document_to_link_is_searched_with_and_without_javascript(browser: Any, live_server: LiveServer) -> None:
    avenant = _file(live_server, "Avenant n° 1 à la convention", "11", "avenant")
    convention = _file(live_server, "Convention de coordination Île-de-France", "11")
    bilan = _file(live_server, "Bilan de la coordination Île-de-France", "11", "bilan")
    paca = _file(live_server, "Convention de coordination Provence", "93")

    context, page, errors = _open(browser, 390)
    try:
        login(page, live_server, "idf", PASSWORD)
        page.goto(live_server.path(f"/documents/{avenant}#liens"))
        # The search-then-choose form is for browsers without JavaScript.
        assert page.get_by_role("search", name="Chercher le document à lier").is_hidden()
        page.locator("#link_type").select_option("modifie")
        target = _combobox(page, "Document lié")
        target.focus()
        target.press_sequentially("i")
        assert "au moins deux" in _status(page, "target")
        target.press_sequentially("le-de-france coord")  # « ile-de-france coord »: accents ignored
        options = page.get_by_role("listbox", name="Document lié").get_by_role("option")
        options.first.wait_for()
        texts = options.all_inner_texts()
        assert len(texts) == 2 and all("Île-de-France" in t for t in texts), texts
        assert "Provence" not in " ".join(texts)  # another region's document is never suggested
        assert "2 documents" in _status(page, "target")
        page.keyboard.press("ArrowDown")
        chosen = page.locator(f"#{target.get_attribute('aria-activedescendant')}").inner_text()
        page.keyboard.press("Enter")
        assert page.get_by_role("button", name=f"Retirer {chosen}").is_visible()
        chosen_id = convention if "Convention" in chosen else bilan
        page.get_by_role("button", name="Ajouter le lien").focus()
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert "Lien ajouté." in page.locator(".flashes").inner_text()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, width
        assert not errors, errors
    finally:
        context.close()

    # Without JavaScript: search, the page comes back with the matches to choose from, same link stored.
    context, page, errors = _open(browser, javascript=False)
    try:
        login(page, live_server, "idf", PASSWORD)
        page.goto(live_server.path(f"/documents/{bilan if chosen_id == convention else convention}#liens"))
        other = chosen_id
        assert page.locator("#target option").count() == 1  # nothing listed before a search
        page.get_by_label("Chercher le document à lier (mots du titre ou numéro)").fill("avenant")
        page.get_by_role("button", name="Chercher").click()
        page.wait_for_load_state()
        assert "1 document trouvé" in page.get_by_role("status").inner_text()
        page.locator("#link_type").select_option("modifie")
        page.get_by_label("Document lié").select_option(str(avenant))
        page.get_by_role("button", name="Ajouter le lien").click()
        page.wait_for_load_state()
        assert "Lien ajouté." in page.locator(".flashes").inner_text()
        page.get_by_label("Chercher le document à lier (mots du titre ou numéro)").fill("provence")
        page.get_by_role("button", name="Chercher").click()
        assert "Aucun document ne correspond" in page.get_by_role("status").inner_text()
    finally:
        context.close()

    session = _session(live_server)
    try:
        links = {(link.source_id, link.target_id, link.link_type) for link in session.scalars(select(DocumentLink))}
        source = bilan if other == convention else convention
        assert links == {(avenant, chosen_id, "modifie"), (source, avenant, "modifie")}
        assert paca not in {doc_id for row in links for doc_id in row[:2]}
    finally:
        session.close()


def test_the_document_to_attach_to_a_meeting_is_searched(browser: Any, live_server: LiveServer) -> None:
    ours = _file(live_server, "Bilan des ateliers de Saint-Denis", "11", "bilan")
    national = _file(live_server, "Bilan national des ateliers", None, "bilan")
    _file(live_server, "Bilan des ateliers de Marseille", "93", "bilan")
    _committee_id, meeting_id = _idf_meeting(live_server, "Bilans")

    context, page, errors = _open(browser, 390)
    try:
        login(page, live_server, "idf", PASSWORD)
        page.goto(live_server.path(f"/comites/reunions/{meeting_id}#pieces"))
        assert page.get_by_role("search", name="Chercher le document à joindre").is_hidden()
        box = _combobox(page, "Document à joindre")
        box.focus()
        box.press_sequentially("bilan ateliers")
        options = page.get_by_role("listbox", name="Document à joindre").get_by_role("option")
        options.first.wait_for()
        texts = options.all_inner_texts()
        # The committee's region and national documents only, never Provence's.
        assert sorted("national" in t for t in texts) == [False, True] and "Marseille" not in " ".join(texts), texts
        page.keyboard.press("Enter")
        page.get_by_role("button", name="Joindre", exact=True).focus()
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert "Document joint." in page.locator(".flashes").inner_text()
        assert not errors, errors
    finally:
        context.close()

    session = _session(live_server)
    try:
        from documents.models import MeetingDocument
        attached = set(session.scalars(select(MeetingDocument.document_id).where(
            MeetingDocument.meeting_id == meeting_id)))
        assert attached <= {ours, national} and len(attached) == 1
    finally:
        session.close()
