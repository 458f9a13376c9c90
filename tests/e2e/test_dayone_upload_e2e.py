"""In a real headless Chromium: the upload form shows one « Titre », « Type » and « Année » per file, carries
over a title typed before choosing the files, and a title left empty becomes the document's own."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import docx
import pytest

import samplefiles as sf
from e2e.browser import LiveServer, login

pytestmark = pytest.mark.e2e


def _heading_docx(heading: str) -> bytes:
    document = docx.Document()
    document.add_heading(heading, level=1)
    document.add_paragraph("Article 1 : objet de la convention.")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _visible(page: Any) -> tuple[int, int, int]:
    """How many title, type and year boxes (shared or per file) a user sees, each with its visible label."""
    counts = []
    for names in (("title", "file_title"), ("doc_type", "file_type"), ("year", "file_year")):
        controls = page.locator(", ".join(f"form.lib-upload [name={n}]" for n in names)).all()
        shown = [c for c in controls if c.is_visible()]
        for control in shown:
            label = page.locator(f"label[for='{control.get_attribute('id')}']")
            assert label.count() == 1 and label.is_visible(), control.get_attribute("id")
        counts.append(len(shown))
    return counts[0], counts[1], counts[2]


def test_one_title_per_file_never_silently_replaced(page: Any, live_server: LiveServer, tmp_path: Path) -> None:
    first = sf.write_sample(tmp_path / "scan_0042.docx", _heading_docx("Convention de partenariat 2026"))
    second = sf.write_sample(tmp_path / "scan_0043.docx", _heading_docx("Bilan qualitatif 2025"))
    login(page, live_server, "idf")
    page.goto(live_server.path("/documents/nouveau"))
    # Before any file: the shared fields, once each.
    assert _visible(page) == (1, 1, 1)
    page.locator("#title").fill("Convention IDF – version signée")
    page.locator("#year").fill("2026")

    page.locator("#files").set_input_files([str(first)])
    rows = page.locator("fieldset.lib-file-row")
    assert rows.count() == 1
    assert not page.locator("#title").is_visible() and page.locator("#title").is_disabled()
    assert _visible(page) == (1, 1, 1)
    # The title typed before choosing the file is carried into its row, not replaced by « scan 0042 ».
    assert rows.nth(0).get_by_label("Titre").input_value() == "Convention IDF – version signée"
    assert rows.nth(0).get_by_label("Année").input_value() == "2026"

    # A second file: the first keeps its title; the new one starts empty, its hint says what it will get.
    page.locator("#files").set_input_files([str(first), str(second)])
    assert rows.count() == 2
    assert rows.nth(0).get_by_label("Titre").input_value() == "Convention IDF – version signée"
    assert rows.nth(1).get_by_label("Titre").input_value() == ""
    assert "le titre du document lui-même, à défaut « scan 0043 »" in rows.nth(1).inner_text()
    assert _visible(page) == (2, 2, 2)
    rows.nth(1).get_by_label("Type").select_option("bilan")
    rows.nth(1).get_by_label("Année").fill("2025")
    page.locator("#region").select_option("11")
    page.get_by_role("button", name="Archiver").click()
    page.wait_for_load_state()
    assert "2 documents archivés." in page.locator(".flashes").inner_text()
    listed = page.locator("table tbody td:first-child a").all_inner_texts()
    assert sorted(listed) == ["Bilan qualitatif 2025", "Convention IDF – version signée"]
    page.screenshot(path="/tmp/dayone-upload.png", full_page=True)

    # Removing the files brings the shared fields back.
    page.goto(live_server.path("/documents/nouveau"))
    page.locator("#files").set_input_files([str(first)])
    page.locator("#files").set_input_files([])
    assert page.locator("#title").is_visible() and not page.locator("#title").is_disabled()
    assert page.problems == []
