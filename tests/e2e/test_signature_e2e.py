"""In a real headless Chromium, without relying on JavaScript: a convention goes through the whole signature
track from its page (sent, signed by the coordination, signed by the DRAC with the scan uploaded), ends locked
with the scan as its signed version, and leaves « En signature ». Screenshots go to /tmp/signature-*.png."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

import samplefiles as sf
from documents import archive, locking
from documents.models import Document, User
from documents.storage import LocalStorage
from e2e.browser import LiveServer, login
from testkit import USERS

pytestmark = pytest.mark.e2e


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(Path("/tmp") / f"signature-{name}.png"), full_page=True)


def _file_convention(server: LiveServer) -> int:
    session = server.app.extensions["db_factory"]()
    try:
        path = sf.write_sample(server.data_dir / "in" / uuid.uuid4().hex / "convention.docx",
                               sf.make_docx(["Convention entre la DRAC et la coordination régionale 2026."]))
        admin = session.scalar(select(User).where(User.email == USERS["admin"][0]))
        doc = archive.archive_document(
            session, LocalStorage(server.app.config["STORAGE_DIR"]), actor=admin, path=path,
            filename="convention.docx", meta=archive.Metadata(
                title="Convention DRAC Île-de-France 2026", doc_type="convention", region_code="11", year=2026,
                duration_months=12))
        session.commit()
        return doc.id
    finally:
        session.close()


def test_a_convention_is_signed_from_its_page(page: Any, live_server: LiveServer, tmp_path: Path) -> None:
    doc_id = _file_convention(live_server)
    scan = sf.write_sample(tmp_path / "convention-signee.pdf",
                           sf.make_pdf(["Convention signée par la coordination et par la DRAC."]))
    today = dt.date.today()
    login(page, live_server, "idf")
    page.goto(live_server.path(f"/documents/{doc_id}#signature"))  # in the « Informations » tab
    panel = page.locator("#signature")
    assert "Aucune étape enregistrée" in panel.inner_text()

    # 1. Sent for signature, to a person and an account to remind.
    panel.get_by_label("Destinataire (personne ou organisation)").fill("Mme Martin, DRAC Île-de-France")
    panel.get_by_label("Compte de l'intranet destinataire, prévenu par courriel (facultatif)").select_option(
        label="Lecteur.idf (lecteur.idf@test.fr)")
    panel.get_by_label("Date d'envoi").fill(today.isoformat())
    shot(page, "1-envoi")
    panel.get_by_role("button", name="Envoyer pour signature").click()
    page.wait_for_load_state()
    assert "Document envoyé pour signature." in page.locator(".flashes").inner_text()
    assert "Étape attendue : Signé par la coordination" in panel.inner_text()

    # It waits on « En signature ».
    page.goto(live_server.path("/signatures/"))
    row = page.locator("table tbody tr", has_text="Convention DRAC Île-de-France 2026")
    assert row.count() == 1 and "Mme Martin, DRAC Île-de-France" in row.inner_text()
    row.get_by_role("link", name="Convention DRAC Île-de-France 2026").click()
    page.wait_for_load_state()

    # 2. Signed by the coordination: a future date is refused first (422), with the message beside the form.
    refused = live_server.path(f"/signatures/documents/{doc_id}/signature")
    page.expected_errors.update({refused, refused + "#signature"})  # the response, and the console's location
    panel.get_by_label("Date de signature").fill((today + dt.timedelta(days=2)).isoformat())
    panel.get_by_role("button", name="Enregistrer la signature").click()
    page.wait_for_load_state()
    assert "ne peut pas être dans le futur" in page.locator("#signature-erreur").inner_text()
    panel.get_by_label("Date de signature").fill(today.isoformat())
    panel.get_by_role("button", name="Enregistrer la signature").click()
    page.wait_for_load_state()
    assert "Étape attendue : Signé par la DRAC" in panel.inner_text()
    page.expected_errors.clear()

    # 3. Signed by the DRAC, with the signed scan.
    panel.get_by_label("Date de signature").fill(today.isoformat())
    panel.get_by_label("Scan du document signé (PDF)").set_input_files(str(scan))
    panel.get_by_label("Commentaire de la version signée").fill("Original conservé à la DRAC")
    shot(page, "2-derniere-signature")
    panel.get_by_role("button", name="Enregistrer la signature").click()
    page.wait_for_load_state()
    assert "le document est signé et verrouillé" in page.locator(".flashes").inner_text()
    shot(page, "3-signe")
    text = panel.inner_text()
    assert "Signé par la DRAC" in text and "version signée n° 2" in text and "le circuit est terminé" in text
    assert page.locator("#verrou").count() == 1 and "Document verrouillé" in page.locator("#verrou").inner_text()
    assert panel.locator("form").count() == 0
    assert "convention-signee.pdf" in page.locator("table", has_text="Versions du document").inner_text()

    session = live_server.app.extensions["db_factory"]()
    try:
        doc = session.get(Document, doc_id)
        assert (doc.status, doc.signature_date, doc.effective_date) == ("signe", today, today)
        assert locking.is_locked(session, doc) and doc.current.origin["signed"] is True
    finally:
        session.close()
    page.goto(live_server.path("/signatures/"))
    assert "Convention DRAC Île-de-France 2026" not in page.locator("main").inner_text()
    assert not page.problems, page.problems
