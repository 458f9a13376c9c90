"""Upload checks on real files: content sniffed whatever the name says, zip bombs refused before parsing,
hostile file names."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from documents.errors import DomainError
from documents.filetypes import (
    DOCX_MIME,
    MAX_FILENAME_CHARS,
    ODT_MIME,
    FileCheck,
    UploadRejected,
    check_upload,
    safe_filename,
    sniff,
)
from samplefiles import (
    make_docx,
    make_html,
    make_macro_docx,
    make_macro_odt,
    make_odt,
    make_pdf,
    make_pdf_bad_xref,
    make_rtf,
    make_truncated_docx,
    make_truncated_odt,
    make_truncated_pdf,
    make_xxe_docx,
    make_zip_bomb,
    soffice_convert,
    write_sample,
)


def _rejected(data: bytes, filename: str) -> UploadRejected:
    with pytest.raises(UploadRejected) as caught:
        check_upload(data, filename)
    return caught.value


# ------------------------------------------------------------------ accepted


@pytest.mark.parametrize(
    ("builder", "filename", "kind", "mime"),
    [
        (lambda: make_docx(["Convention régionale"]), "convention.docx", "docx", DOCX_MIME),
        (lambda: make_odt(["Compte rendu"]), "compte-rendu.ODT", "odt", ODT_MIME),
        (lambda: make_pdf(["Protocole national"]), "protocole.pdf", "pdf", "application/pdf"),
        (lambda: make_rtf(["Bilan régional"]), "bilan.rtf", "rtf", "application/rtf"),
        (lambda: "Procès-verbal\n".encode("cp1252"), "pv.txt", "txt", "text/plain"),
        (lambda: "Procès-verbal\n".encode(), "pv.txt", "txt", "text/plain"),
    ],
)
def test_real_documents_are_accepted_from_bytes_and_from_a_path(
    tmp_path: Path, builder: object, filename: str, kind: str, mime: str
) -> None:
    data = builder()  # type: ignore[operator]
    expected = FileCheck(kind=kind, mime=mime, extension=Path(filename).suffix.lower(), size=len(data))
    assert check_upload(data, filename) == expected
    assert check_upload(data, filename).mime_type == mime
    assert check_upload(write_sample(tmp_path / filename, data), filename) == expected


def test_a_real_doc_is_accepted_and_not_mistaken_for_docx() -> None:
    data = soffice_convert(make_docx(["Convention 2010"]), "docx", "doc")
    if data is None:
        pytest.skip("LibreOffice (soffice) absent: no way to build a real .doc")
    assert check_upload(data, "ancienne.doc").kind == "doc"
    assert _rejected(data, "ancienne.docx").code == "mismatch"
    assert _rejected(data[: len(data) // 2], "ancienne.doc").code == "truncated"


def test_an_xxe_docx_passes_the_check_because_extraction_defuses_it(tmp_path: Path) -> None:
    # The check reads no document XML; the entity is neutralised by the extraction test.
    assert check_upload(make_xxe_docx(tmp_path / "secret"), "x.docx").kind == "docx"


# ------------------------------------------------------------- case 14: lies


def test_html_renamed_pdf_is_refused_and_named_as_html() -> None:
    error = _rejected(make_html(), "convention.pdf")
    assert isinstance(error, DomainError)
    assert error.code == "mismatch"
    assert 400 <= error.status < 500
    assert "page HTML" in error.message
    assert "convention.pdf" in error.message


def test_pdf_renamed_docx_is_refused() -> None:
    error = _rejected(make_pdf(["Protocole"]), "protocole.docx")
    assert error.code == "mismatch"
    assert "un PDF" in error.message


def test_odt_renamed_docx_and_docx_renamed_odt_are_refused() -> None:
    odt_as_docx = _rejected(make_odt(["Compte rendu"]), "cr.docx")
    docx_as_odt = _rejected(make_docx(["Compte rendu"]), "cr.odt")
    assert (odt_as_docx.code, docx_as_odt.code) == ("mismatch", "mismatch")
    assert "OpenDocument" in odt_as_docx.message
    assert "document Word (.docx)" in docx_as_odt.message


def test_html_renamed_txt_is_refused() -> None:
    assert "page HTML" in _rejected(make_html(), "notes.txt").message


def test_binary_renamed_txt_is_refused() -> None:
    assert _rejected(bytes(range(256)) * 4, "notes.txt").code == "mismatch"


@pytest.mark.parametrize("declare_macro", [True, False])
def test_macro_word_renamed_docx_is_refused(declare_macro: bool) -> None:
    # declare_macro=False: the content types claim a plain .docx, only vbaProject.bin betrays it.
    error = _rejected(make_macro_docx(declare_macro=declare_macro), "convention.docx")
    assert error.code == "macro"
    assert "macros" in error.message


def test_docm_extension_is_not_accepted() -> None:
    assert _rejected(make_macro_docx(), "convention.docm").code == "extension"


def test_odt_with_basic_macros_is_refused() -> None:
    assert _rejected(make_macro_odt(), "cr.odt").code == "macro"


def test_empty_file_is_refused(tmp_path: Path) -> None:
    assert _rejected(b"", "vide.pdf").code == "empty"
    with pytest.raises(UploadRejected, match="vide"):
        check_upload(write_sample(tmp_path / "vide.docx", b""), "vide.docx")


@pytest.mark.parametrize(
    ("builder", "filename"),
    [(make_truncated_docx, "coupe.docx"), (make_truncated_odt, "coupe.odt"), (make_truncated_pdf, "coupe.pdf")],
)
def test_truncated_files_are_refused(builder: object, filename: str) -> None:
    error = _rejected(builder(), filename)  # type: ignore[operator]
    assert error.code == "truncated"
    assert "tronqué" in error.message


def test_pdf_whose_xref_points_past_the_end_is_refused() -> None:
    error = _rejected(make_pdf_bad_xref(), "casse.pdf")
    assert error.code == "truncated"
    assert "références" in error.message


def test_truncated_rtf_is_refused() -> None:
    data = make_rtf(["Bilan"])
    assert _rejected(data[:-10], "bilan.rtf").code == "truncated"


@pytest.mark.parametrize("filename", ["programme.exe", "LISEZMOI", "page.html", "archive.zip", "image.svg"])
def test_unknown_extensions_are_refused_with_the_accepted_list(filename: str) -> None:
    error = _rejected(b"anything", filename)
    assert error.code == "extension"
    assert ".docx" in error.message and ".odt" in error.message and ".pdf" in error.message


def test_extension_check_ignores_case_but_not_trailing_tricks() -> None:
    assert check_upload(make_pdf(["x"]), "RAPPORT.PDF").extension == ".pdf"
    # "x.pdf\0.exe" must not pass as a PDF once the NUL is dropped.
    assert _rejected(make_pdf(["x"]), "rapport.pdf\x00.exe").code == "extension"


def test_sniff_tells_the_real_content() -> None:
    assert sniff(make_docx(["a"])) == "docx"
    assert sniff(make_odt(["a"])) == "odt"
    assert sniff(make_pdf(["a"])) == "pdf"
    assert sniff(make_html()) == "html"
    assert sniff(make_macro_docx(declare_macro=False)) == "docm"


# ------------------------------------------------------------- case 15: bombs


@pytest.mark.parametrize(("kind", "word"), [("ratio", "100 fois"), ("total", "200 Mo"), ("entries", "éléments")])
def test_zip_bombs_are_refused_in_under_a_second(tmp_path: Path, kind: str, word: str) -> None:
    path = write_sample(tmp_path / "bombe.docx", make_zip_bomb(kind))
    started = time.monotonic()
    with pytest.raises(UploadRejected) as caught:
        check_upload(path, "bombe.docx")
    elapsed = time.monotonic() - started
    assert caught.value.code == "zip_bomb"
    assert word in caught.value.message
    assert elapsed < 1.0, f"zip bomb check took {elapsed:.2f} s"


# ------------------------------------------------------ case 18: file names


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\system.ini", "system.ini"),
        ("C:\\Users\\marie\\Convention 2010.docx", "Convention 2010.docx"),
        ("rapport\x00.pdf", "rapport.pdf"),
        ("pv\r\nSet-Cookie: x=1.pdf", "pv Set-Cookie_ x=1.pdf"),
        ("CON.txt", "_CON.txt"),
        ("nul", "_nul"),
        ("com1.docx", "_com1.docx"),
        ("Procès-verbal été Île-de-France.docx", "Procès-verbal été Île-de-France.docx"),
        ("facture\u202efdp.exe", "facturefdp.exe"),
        ('a<b>c:"d"|e?f*.pdf', "a_b_c__d__e_f_.pdf"),
        ("", "document"),
        ("...", "document"),
        ("../", "document"),
        (".pdf", "pdf"),
        ("Proce\u0300s.odt", "Procès.odt"),
    ],
)
def test_safe_filename(given: str, expected: str) -> None:
    assert safe_filename(given) == expected


def test_safe_filename_caps_long_names_and_keeps_the_extension() -> None:
    name = safe_filename("é" * 300 + ".docx")
    assert len(name) == MAX_FILENAME_CHARS
    assert name.endswith("é.docx")
    assert safe_filename("a" * 300) == "a" * MAX_FILENAME_CHARS


def test_safe_filename_output_is_safe_for_headers() -> None:
    hostile = "\x00\x01../\r\n\t\u2028CON.\u200b.pdf   "
    name = safe_filename(hostile)
    assert name
    assert not any(ord(char) < 32 or char in "/\\\u2028\u200b" for char in name)
