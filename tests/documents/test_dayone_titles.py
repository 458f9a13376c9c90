"""A document's default title is its own: properties, then first heading, the file name last."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path
from typing import Any

import docx
import pytest

import samplefiles as sf
import testkit
from documents import intake
from documents.storage import LocalStorage
from documents.titles import default_title, first_heading


def _docx_with_heading(heading: str, *, core_title: str | None = None, style: str = "Heading1") -> bytes:
    document = docx.Document()
    document.add_paragraph("Entre les soussignés :")
    document.add_heading(heading, level=1)
    document.add_paragraph("Article 1 : objet.")
    document.add_heading("Article 2", level=1)
    if core_title is not None:
        document.core_properties.title = core_title
    buffer = io.BytesIO()
    document.save(buffer)
    data = buffer.getvalue()
    if style == "Heading1":
        return data
    # French Word names its heading style « Titre1 »: rename the style id in the package.
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            blob = source.read(info)
            if info.filename in ("word/document.xml", "word/styles.xml"):
                blob = blob.replace(b'w:val="Heading1"', f'w:val="{style}"'.encode()) \
                    .replace(b'w:styleId="Heading1"', f'w:styleId="{style}"'.encode())
            target.writestr(info, blob)
    return out.getvalue()


def _odt_with_heading(heading: str) -> bytes:
    data = sf.make_odt(["Introduction.", "Suite."])
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            blob = source.read(info)
            if info.filename == "content.xml":
                blob = blob.replace(b"<office:text>", (
                    '<office:text><text:h text:outline-level="1">' + heading + "</text:h>").encode())
            target.writestr(info, blob, compress_type=info.compress_type)
    return out.getvalue()


def _pdf_with_title(title: str | None) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    if title is not None:
        pdf.set_title(title)
    pdf.set_creation_date(dt.datetime(2026, 1, 5, tzinfo=dt.UTC))
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.cell(0, 10, "Bilan regional")
    return bytes(pdf.output())


def test_core_property_title_comes_first(tmp_path: Path) -> None:
    path = sf.write_sample(tmp_path / "fichier_1.docx", _docx_with_heading(
        "Convention de partenariat", core_title="Convention DRAC – coordination 2026"))
    assert default_title(path, "fichier_1.docx") == ("Convention DRAC – coordination 2026", "propriétés")


@pytest.mark.parametrize("style", ["Heading1", "Titre1", "Title"])
def test_first_heading_of_a_docx_when_no_property(tmp_path: Path, style: str) -> None:
    path = sf.write_sample(tmp_path / "scan_0042.docx", _docx_with_heading("Convention de partenariat 2026",
                                                                           style=style))
    assert first_heading(path, "docx") == "Convention de partenariat 2026"
    assert default_title(path, "scan_0042.docx") == ("Convention de partenariat 2026", "titre du document")


def test_placeholder_property_is_ignored_for_the_heading(tmp_path: Path) -> None:
    path = sf.write_sample(tmp_path / "a.docx", _docx_with_heading("Bilan 2025", core_title="Document"))
    assert default_title(path, "a.docx") == ("Bilan 2025", "titre du document")


def test_odt_heading_and_odt_property(tmp_path: Path) -> None:
    path = sf.write_sample(tmp_path / "cr.odt", _odt_with_heading("Compte rendu du comité du 12 mars"))
    assert default_title(path, "cr.odt") == ("Compte rendu du comité du 12 mars", "titre du document")


def test_pdf_info_title_then_file_name(tmp_path: Path) -> None:
    titled = sf.write_sample(tmp_path / "x_1.pdf", _pdf_with_title("Bilan régional 2025"))
    assert default_title(titled, "x_1.pdf") == ("Bilan régional 2025", "propriétés")
    bare = sf.write_sample(tmp_path / "bilan_idf_2025.pdf", _pdf_with_title(None))
    assert default_title(bare, "bilan_idf_2025.pdf") == ("bilan idf 2025", "nom du fichier")


def test_plain_docx_without_heading_falls_back_to_the_file_name(tmp_path: Path) -> None:
    path = sf.write_sample(tmp_path / "note.docx", sf.make_docx(["Juste un paragraphe."]))
    assert first_heading(path, "docx") is None
    assert default_title(path, "Note_de_service.docx") == ("Note de service", "nom du fichier")


def test_folder_import_titles_a_document_by_its_first_heading(db_session: Any, tmp_path: Path) -> None:
    root = tmp_path / "partage"
    sf.write_sample(root / "Ile-de-France" / "2026" / "scan_0042.docx", _docx_with_heading("Convention IDF 2026"))
    sf.write_sample(root / "Ile-de-France" / "2026" / "Note_interne.docx", sf.make_docx(["Sans titre."]))
    report = intake.import_folder(db_session, LocalStorage(tmp_path / "files"), root,
                                  actor=testkit.user(db_session, "admin"))
    outcomes = {o.path: o for o in report.outcomes}
    heading = outcomes["Ile-de-France/2026/scan_0042.docx"]
    assert (heading.title, heading.sources["title"]) == ("Convention IDF 2026", "titre du document")
    plain = outcomes["Ile-de-France/2026/Note_interne.docx"]
    assert (plain.title, plain.sources["title"]) == ("Note interne", "nom")
