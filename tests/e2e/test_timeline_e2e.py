"""In a real headless Chromium: a DRAC Île-de-France agent enters a convention's amounts, links an avenant that
raises one line, and sees the region's 2025 row with the avenant's amount applied and the new total."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

import pytest
from sqlalchemy import select

import samplefiles as sf
from documents import archive
from documents.models import User
from documents.storage import LocalStorage
from e2e.browser import LiveServer, login
from testkit import USERS

pytestmark = pytest.mark.e2e


def _file(server: LiveServer, title: str, name: str, **meta: Any) -> int:
    session = server.app.extensions["db_factory"]()
    try:
        admin = session.scalar(select(User).where(User.email == USERS["admin"][0]))
        path = sf.write_sample(server.data_dir / "in" / uuid.uuid4().hex / name, sf.make_docx([title, "Article 1."]))
        doc = archive.archive_document(session, LocalStorage(server.app.config["STORAGE_DIR"]), actor=admin,
                                       path=path, filename=name, meta=archive.Metadata(title=title, **meta))
        session.commit()
        return doc.id
    finally:
        session.close()


def test_a_convention_with_an_avenant_shows_its_timeline_row_with_the_avenant_applied(
        live_server: LiveServer, page: Any) -> None:
    convention = _file(live_server, "Convention DRAC Île-de-France 2025", "convention-2025.docx", doc_type="convention",
                       region_code="11", year=2025, status="en_signature", signature_date=dt.date(2025, 3, 1))
    avenant = _file(live_server, "Avenant n° 1 à la convention 2025", "avenant-2025.docx", doc_type="avenant",
                    region_code="11", year=2025, status="en_signature", signature_date=dt.date(2025, 9, 15))
    login(page, live_server, "idf")

    page.goto(live_server.path(f"/documents/{convention}#montants-section"))  # in « Informations »
    panel = page.locator("#montants-section")
    panel.get_by_label("Mission de coordination régionale").fill("18 000")
    panel.get_by_label("Projets mis en œuvre par la coordination").fill("9 500")
    panel.get_by_label("Formation et recherche pédagogique").fill("4 250,50")
    panel.get_by_label("Sensibilisation et développement sur le terrain").fill("3000")
    panel.get_by_role("button", name="Enregistrer les montants").click()
    page.wait_for_load_state()
    assert "Montants enregistrés." in page.locator(".flashes").inner_text()
    assert "34\u202f750,50\u00a0€" in panel.inner_text()

    # The avenant: linked to its convention, then « le montant est porté à 5 500 € » on one line.
    page.goto(live_server.path(f"/documents/{avenant}#liens"))
    page.get_by_label("Type de lien").select_option(label="Ce document modifie …")
    page.get_by_label("… ou son numéro").fill(str(convention))
    page.get_by_role("button", name="Ajouter le lien").click()
    page.wait_for_load_state()
    page.goto(live_server.path(f"/documents/{avenant}#montants-section"))  # the « Informations » tab
    panel = page.locator("#montants-section")
    assert "Cet avenant modifie Convention DRAC Île-de-France 2025" in panel.inner_text()
    panel.get_by_label("Formation et recherche pédagogique").fill("5 500")
    panel.get_by_role("button", name="Enregistrer les montants").click()
    page.wait_for_load_state()
    assert "Montants enregistrés." in page.locator(".flashes").inner_text()

    # The region's years: the 2025 row carries the avenant's amount on its line, the others unchanged.
    page.goto(live_server.path(f"/documents/{convention}#montants-section"))
    page.locator("a", has_text="Conventions de la région année par année").click()
    page.wait_for_load_state()
    assert page.url.endswith("/regions/11/conventions")
    row = page.locator("tr#annee-2025")
    cells = [c.strip() for c in row.locator("td.num").all_inner_texts()]
    assert cells == ["18\u202f000,00\u00a0€", "9\u202f500,00\u00a0€", "5\u202f500,00\u00a0€", "3\u202f000,00\u00a0€",
                     "36\u202f000,00\u00a0€"]
    text = row.inner_text()
    assert "Convention DRAC Île-de-France 2025" in text and "signée le 1 mars 2025" in text
    assert re.search(rf"Avenant n° {avenant} \(en signature, signé le 15 septembre 2025\) : en vigueur sur 1 ligne",
                     text), text
    # The convention's page shows the amounts in force beside its own.
    page.goto(live_server.path(f"/documents/{convention}#montants-section"))  # in « Informations »
    header = page.locator("#montants-section thead").inner_text()
    assert "En vigueur" in header
    assert "36\u202f000,00\u00a0€" in page.locator("#montants-section tr.agr-total").inner_text()
    assert not page.problems, page.problems
