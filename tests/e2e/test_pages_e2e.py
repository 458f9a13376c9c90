"""Every page of the intranet in Chromium, at 390 px (a phone) and 1,366 px, as admin, regional and lecteur:
no page wider than the screen, and axe-core (vendored, injected under the app's real CSP) finds nothing.

The pages are the GET routes of ``app.url_map`` that answer HTML, filled with the ids of real seeded
rows (a .docx and a PDF document, the built-in models, a draft, a batch, a committee, a meeting and a
decision). A route no one can fill is a failure, so a new page cannot slip out of the audit. The
report (width at 390 px and axe count of each page) is printed: run with ``-s`` to read it.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

import samplefiles as sf
from documents import archive, drafting, signatures
from documents.committees.committee import ensure_committees
from documents.committees.dates import paris_datetime
from documents.committees.decisions import DecisionInput, add_decision
from documents.committees.meetings import MeetingInput, schedule_meeting
from documents.models import Committee, Document, Organisation, Quartier, User
from documents.storage import LocalStorage
from e2e.browser import TIMEOUT_MS, LiveServer, login
from testkit import AMOUNTS, PASSWORD, USERS

pytestmark = pytest.mark.e2e

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
WIDTHS = (390, 1366)
#: Admin sees everything; the regional and lecteur accounts see their region's pages (others answer 403).
ROLES = ("admin", "idf", "lecteur_idf")
#: Routes that answer a file, a feed or JSON, not a page.
NOT_PAGES = {
    "static", "main.health", "auth.logout", "library.export", "library.download", "library.inline_pdf",
    "committees.actions_csv", "committees.decisions_csv", "committees.calendar_feed", "committees.minutes_feed",
    "committees.minutes_feed_token", "committees.meeting_calendar", "reference.organisations_export",
    "drafting.pdf", "drafting.download", "drafting.batch_zip", "drafting.batch_status",
    "library.download_copy", "library.inline_copy", "agreements.national_csv", "library.deadlines_feed",
    "library.thumbnail",
}
#: The panels of the tabbed pages, each audited open (the others are hidden, so axe would skip them).
DOCUMENT_TABS = ("apercu", "informations", "versions", "liens", "historique")
MEETING_TABS = ("seance", "participants", "pieces", "suivi", "cr")


def _file(server: LiveServer, session: Any, title: str, name: str, data: bytes, **meta: Any) -> int:
    path = sf.write_sample(server.data_dir / "in" / uuid.uuid4().hex / name, data)
    admin = session.scalar(select(User).where(User.email == USERS["admin"][0]))
    doc = archive.archive_document(session, LocalStorage(server.app.config["STORAGE_DIR"]), actor=admin, path=path,
                                   filename=name, meta=archive.Metadata(title=title, **meta))
    session.commit()
    return doc.id


def _seed(server: LiveServer) -> dict[str, Any]:
    """Real rows for every kind of id a route takes."""
    app = server.app
    session = app.extensions["db_factory"]()
    store = LocalStorage(app.config["STORAGE_DIR"])
    try:
        def who(name: str) -> User:
            return session.scalar(select(User).where(User.email == USERS[name][0]))

        docx = _file(server, session, "Convention de coordination Île-de-France 2025", "convention-idf-2025.docx",
                     sf.make_docx(["Convention entre la DRAC et la coordination régionale.",
                                   "Ateliers de programmation à l'hôpital de jour."]),
                     region_code="11", doc_type="convention", year=2025, status="en_signature")
        trashed = _file(server, session, "Brouillon abandonné", "abandon.docx", sf.make_docx(["Texte abandonné."]),
                        region_code="11", doc_type="autre", year=2023)
        archive.trash_document(session, session.get(Document, trashed), actor=who("admin"))
        session.commit()
        _file(server, session, "Bilan régional 2024", "bilan-2024.pdf",
              sf.make_pdf(["Bilan qualitatif et quantitatif de l'année 2024."]),
              region_code="11", doc_type="bilan", year=2024)
        # A second version, for the difference page.
        path = sf.write_sample(server.data_dir / "in" / uuid.uuid4().hex / "v2.docx",
                               sf.make_docx(["Convention entre la DRAC et la coordination régionale.",
                                             "Ateliers de programmation à l'hôpital et en prison."]))
        archive.add_version(session, store, session.get(Document, docx), actor=who("admin"), path=path,
                            filename="convention-idf-2025-v2.docx")
        session.commit()
        # Its signature track is open at the coordination's signature (the panel shows its forms).
        signatures.send_for_signature(session, session.get(Document, docx), actor=who("admin"),
                                      recipient="DRAC Île-de-France", on=dt.date.today())
        session.commit()

        drafting.load_builtin_models(session, store)
        for org in session.scalars(select(Organisation)):
            org.address = org.address or f"{org.id} rue de la Paix, 75002 Paris"
            org.representative = org.representative or f"Madame Représentante {org.id}"
            org.representative_title = org.representative_title or "Directrice"
        session.commit()
        templates = drafting.list_templates(session, store)
        convention = next(t for t in templates if "convention" in t.slug and "drac" in t.slug)
        raw = drafting.prefill(session, convention, "11", 2026)
        raw.update(AMOUNTS)
        draft = drafting.generate_draft(session, store, actor=who("idf"), template=convention, raw=raw,
                                        region_code="11", year=2026)
        session.commit()
        field = drafting.template_fields(session, convention)[0]
        batch = drafting.start_batch(session, actor=who("admin"), template=convention, year=2027,
                                     region_codes=["11"], common={}, rows={})
        session.commit()

        ensure_committees(session)
        session.commit()
        committee = session.scalar(select(Committee).where(Committee.slug == "regional-11"))
        meeting = schedule_meeting(session, committee, actor=who("admin"), data=MeetingInput(
            starts_at=paris_datetime(dt.date.today() + dt.timedelta(days=20), dt.time(14)),
            title="Comité de pilotage régional", place="DRAC, salle 2", agenda=["Bilan 2025", "Projets 2026"]))
        decision = add_decision(session, meeting, actor=who("admin"),
                                data=DecisionInput(text="Le bilan 2025 est adopté."))
        session.commit()
        mail_dir = Path(app.config["MAIL_OUTBOX_DIR"])
        mails = sorted(p.name for p in mail_dir.glob("*")) if mail_dir.exists() else []
        return {
            "document_id": docx, "number": 1, "template_id": convention.id, "name": field.name,
            "batch_id": batch.id, "committee_id": committee.id, "meeting_id": meeting.id,
            "decision_id": decision.id, "user_id": who("idf").id, "region_code": "11",
            # Routes whose id must be of a particular row: a trashed document, a draft.
            "library.purge": {"document_id": trashed}, "drafting.draft_page": {"document_id": draft.document.id},
            "org_id": session.scalar(select(Organisation.id).order_by(Organisation.id)),
            "code": session.scalar(select(Quartier.code).where(Quartier.region_code == "11").order_by(Quartier.code)),
            **({"name_mail": mails[0]} if mails else {}),
        }
    finally:
        session.close()


def _page_urls(server: LiveServer, ids: dict[str, Any]) -> list[str]:
    """One URL per HTML page of the application, with real ids."""
    from flask import url_for

    urls = []
    missing = []
    with server.app.test_request_context():
        for rule in sorted(server.app.url_map.iter_rules(), key=lambda r: r.rule):
            if "GET" not in (rule.methods or ()) or rule.endpoint in NOT_PAGES or rule.rule.startswith("/api/"):
                continue
            values = {**ids, **ids.get(rule.endpoint, {})}
            if rule.endpoint == "committees.mail_message":
                if "name_mail" not in ids:
                    continue  # no message was written by this seed: the outbox list page is audited
                values["name"] = ids["name_mail"]
            if not set(rule.arguments) <= set(values):
                missing.append(rule.rule)
                continue
            urls.append(url_for(rule.endpoint, **{k: values[k] for k in rule.arguments}))
    assert not missing, f"routes without seeded ids (extend _seed): {missing}"
    # Search with results (facets shown) and the 404 page are pages too.
    urls += ["/recherche/?q=convention", "/documents/?modeles=1", "/page-introuvable",
             "/signatures/?type=convention&region=11"]
    # Each tab of the document and meeting pages; the two pages alternate, so that every visit is a
    # real navigation (a jump to another anchor of the same page would not load it again).
    with server.app.test_request_context():
        document = url_for("library.show", document_id=ids["document_id"])
        meeting = url_for("committees.meeting", meeting_id=ids["meeting_id"])
    for doc_tab, meeting_tab in zip(DOCUMENT_TABS, MEETING_TABS):
        urls += [f"{document}#{doc_tab}", f"{meeting}#{meeting_tab}"]
    urls += [f"{document}?historique=2#historique"]
    # Pickers with chosen values (chips) and the search for a document to link, with its matches.
    urls += ["/aide/composants?title=Essai&parties=1&parties=2&document=1#formulaires",
             f"/documents/{ids['document_id']}?lien=bilan#liens", "/documents/?party=1"]
    return urls


@pytest.fixture
def audited_server(live_server: LiveServer) -> Iterator[tuple[LiveServer, list[str]]]:
    """The live server with seeded rows and the search index built, and the URLs to visit."""
    from intranet.search.views import sync_drain

    ids = _seed(live_server)
    sync_drain(live_server.app)
    yield live_server, _page_urls(live_server, ids)


def _audit(page: Any) -> dict[str, Any]:
    """Width and axe violations of the page as it is now."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # evaluate() runs through the DevTools protocol, outside the page's CSP: nothing is relaxed for it.
        page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ["violations"]});
        // The deepest elements sticking out on the right: what to fix when the page is too wide.
        const wide = document.documentElement.scrollWidth > window.innerWidth;
        const out = !wide ? [] : [...document.body.querySelectorAll("*")].filter(e => e.getBoundingClientRect().right
            > window.innerWidth + 1 && ![...e.children].some(c => c.getBoundingClientRect().right > window.innerWidth + 1));
        const name = e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + (e.className && typeof e.className
            === "string" ? "." + e.className.trim().split(/ +/).join(".") : "");
        return {width: document.documentElement.scrollWidth, inner: window.innerWidth,
                culprits: out.slice(0, 4).map(e => (e.parentElement ? name(e.parentElement) + " > " : "") + name(e)),
                violations: r.violations.map(v => ({id: v.id, impact: v.impact,
                    nodes: v.nodes.slice(0, 3).map(n => n.target.join(" "))}))};
    }""")
    return result


def test_every_page_fits_a_phone_and_has_no_axe_violation(browser: Any, audited_server: Any) -> None:
    server, urls = audited_server
    started = time.monotonic()
    report: list[tuple[str, str, int, int, int, int]] = []
    problems: list[str] = []
    refused: list[tuple[str, str, int]] = []
    for role in ROLES:
        context = browser.new_context(locale="fr-FR", viewport={"width": WIDTHS[0], "height": 844})
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc, errors=errors: errors.append(f"page error: {exc}"))
        page.on("console", lambda msg, errors=errors: errors.append(f"console {msg.type}: {msg.text}")
                if msg.type == "error" and "404" not in msg.text and "403" not in msg.text else None)
        try:
            login(page, server, role, PASSWORD)
            for url in urls:
                response = page.goto(server.path(url))
                status = response.status if response else 0
                if status in (403, 404) and url != "/page-introuvable":
                    refused.append((role, url, status))
                    continue  # not this role's page (403), or a row this role may not see (404)
                assert status == 200 or url == "/page-introuvable", f"{role} {url} -> {status}"
                counts = {}
                # The page stays at the width it was left at: one resize per page instead of two.
                here = page.viewport_size["width"]
                for width in sorted(WIDTHS, key=lambda w: w != here):
                    if width != here:
                        page.set_viewport_size({"width": width, "height": 844 if width < 800 else 900})
                    found = _audit(page)
                    counts[width] = (found["width"], len(found["violations"]))
                    if found["width"] > found["inner"]:
                        problems.append(f"{role} {url} @{width}px: {found['width']} px wide {found['culprits']}")
                    for v in found["violations"]:
                        problems.append(f"{role} {url} @{width}px: {v['id']} ({v['impact']}) {v['nodes']}")
                report.append((role, url, *counts[WIDTHS[0]], *counts[WIDTHS[1]]))
        finally:
            context.close()
        problems += [f"{role}: {e}" for e in errors]
    elapsed = time.monotonic() - started
    print(f"\n{len(report)} pages audited in {elapsed:.0f} s (role, URL, width @390, axe @390, width @1366, axe @1366)")
    for row in report:
        print(" | ".join(str(c) for c in row))
    print("refused:", refused)
    assert not problems, "\n".join(problems)
    # Every page is audited for at least one role (the admin may open them all).
    assert {url for _, url, *_ in report} == set(urls)


def test_search_facets_fold_after_the_results_on_a_phone(browser: Any, audited_server: Any) -> None:
    server, _urls = audited_server
    for width, javascript, folded in ((390, True, True), (1366, True, False), (390, False, False)):
        context = browser.new_context(locale="fr-FR", viewport={"width": width, "height": 844},
                                      java_script_enabled=javascript)
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        try:
            login(page, server, "admin", PASSWORD)
            page.goto(server.path("/recherche/?q=convention"))
            facets = page.locator("#search-filters")
            # Results first in reading order, the facets after them.
            assert page.evaluate("""() => !!(document.querySelector('.search-results').compareDocumentPosition(
                document.getElementById('search-filters')) & Node.DOCUMENT_POSITION_FOLLOWING)""")
            assert facets.evaluate("d => d.open") is (not folded), (width, javascript)
            assert page.locator("summary", has_text="Filtrer les résultats").is_visible()
            if folded:
                page.locator("summary", has_text="Filtrer les résultats").click()
                assert facets.evaluate("d => d.open") is True
                assert page.get_by_label("Inclure les modèles").is_visible()
        finally:
            context.close()
