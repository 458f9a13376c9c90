"""Bounded extraction on real files: no XXE or entity expansion, PDF bombs kept but marked, exact text of
benign documents."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from documents.extraction import Extraction, extract_text, extract_text_inline, rtf_to_text
from samplefiles import (
    make_billion_laughs_odt,
    make_docx,
    make_encrypted_pdf,
    make_long_pdf,
    make_odt,
    make_pdf,
    make_pdf_bomb,
    make_rtf,
    make_xxe_docx,
    make_xxe_odt,
    soffice_convert,
    write_sample,
)

SECRET = "MOT-DE-PASSE-ULTRA-SECRET-4242"


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    return write_sample(tmp_path / "secret.txt", SECRET.encode())


def _full_docx() -> bytes:
    return make_docx(
        ["Été à Noël, la convention.", "Colonne\tvaleur", "Ligne un\nLigne deux"],
        table=[["Région", "Montant"], ["Île-de-France", "12 000 €"]],
        nested_table=[["Tableau imbriqué"]],
        header="En-tête DRAC",
        footer="Pied de page",
        footnote="Note de bas de page",
        comment="Commentaire du relecteur",
    )


FULL_DOCX_TEXT = "\n".join(
    [
        "En-tête DRAC",
        "Été à Noël, la convention.",
        "Colonne\tvaleur",
        "Ligne un\nLigne deux",
        "Région",
        "Tableau imbriqué",
        "Montant",
        "Île-de-France",
        "12 000 €",
        "Note de bas de page",
        "Pied de page",
        "Commentaire du relecteur",
    ]
)


# ------------------------------------------------------------------ benign


def test_docx_gives_body_tables_nested_tables_header_footer_footnote_and_comment(tmp_path: Path) -> None:
    path = write_sample(tmp_path / "convention.docx", _full_docx())
    assert extract_text(path, "docx") == Extraction(text=FULL_DOCX_TEXT, status="ok", reason=None, pages=None)


def test_inline_and_bounded_extraction_agree(tmp_path: Path) -> None:
    path = write_sample(tmp_path / "convention.docx", _full_docx())
    assert extract_text_inline(path, "docx") == extract_text(path, "docx")


def test_odt_gives_header_body_note_and_footer(tmp_path: Path) -> None:
    path = write_sample(
        tmp_path / "cr.odt",
        make_odt(
            ["Procès-verbal du comité régional", "Décisions : 3 projets validés"],
            header="Comité de pilotage régional",
            footer="Page de fin",
            note="Voir l'annexe 2",
        ),
    )
    result = extract_text(path, "odt")
    assert result.status == "ok"
    assert result.text == (
        "Comité de pilotage régional\n"
        "Procès-verbal du comité régional\n"
        "Voir l'annexe 2\n"
        "Décisions : 3 projets validés\n"
        "Page de fin"
    )


def test_pdf_gives_each_page_and_the_page_count(tmp_path: Path) -> None:
    path = write_sample(tmp_path / "protocole.pdf", make_pdf(["Protocole signé à Paris", "Annexe 2 : quartiers"]))
    assert extract_text(path, "pdf") == Extraction(
        text="Protocole signé à Paris\nAnnexe 2 : quartiers", status="ok", reason=None, pages=2, text_pages=2
    )


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("Procès-verbal\r\nÉté".encode(), "Procès-verbal\r\nÉté"),
        ("\ufeffProcès-verbal".encode("utf-8"), "Procès-verbal"),
        ("Procès-verbal – été".encode("cp1252"), "Procès-verbal – été"),
        ("Procès-verbal".encode("utf-16"), "Procès-verbal"),
    ],
)
def test_txt_decodes_utf8_then_falls_back_to_cp1252(tmp_path: Path, data: bytes, expected: str) -> None:
    result = extract_text(write_sample(tmp_path / "notes.txt", data), "txt")
    assert (result.status, result.text) == ("ok", expected)


def test_rtf_keeps_text_and_drops_control_words_and_metadata(tmp_path: Path) -> None:
    path = write_sample(tmp_path / "bilan.rtf", make_rtf(["Bilan d'été {2010}", "Île-de-France \\ DRAC"]))
    result = extract_text(path, "rtf")
    assert (result.status, result.text) == ("ok", "Bilan d'été {2010}\nÎle-de-France \\ DRAC")


def test_rtf_hex_escapes_use_the_declared_code_page() -> None:
    source = r"{\rtf1\ansi\ansicpg1252{\*\generator Word;}\pard Proc\'e8s\tab verbal\par {\b \'c9t\'e9}\par}"
    assert rtf_to_text(source) == "Procès\tverbal\nÉté"


def test_doc_without_a_converter_is_kept_with_a_reason(tmp_path: Path) -> None:
    data = soffice_convert(make_docx(["Convention régionale 2010"]), "docx", "doc")
    if data is None:
        pytest.skip("LibreOffice (soffice) absent: no way to build a real .doc")
    result = extract_text(write_sample(tmp_path / "ancienne.doc", data), "doc")
    if shutil.which("antiword") or shutil.which("catdoc"):
        assert result.status == "ok"
        assert "Convention régionale 2010" in (result.text or "")
    else:
        assert result.status == "failed"
        assert "antiword" in (result.reason or "")


@pytest.mark.slow
def test_libreoffice_reads_the_sample_docx_and_odt_like_we_do() -> None:
    # Proves the builders make real files, not something only our own parser accepts.
    docx_text = soffice_convert(_full_docx(), "docx", "txt:Text (encoded):UTF8")
    odt_text = soffice_convert(make_odt(["Procès-verbal du comité"]), "odt", "txt:Text (encoded):UTF8")
    if docx_text is None or odt_text is None:
        pytest.skip("LibreOffice (soffice) absent")
    assert "Été à Noël, la convention." in docx_text.decode("utf-8-sig")
    assert "Île-de-France" in docx_text.decode("utf-8-sig")
    assert odt_text.decode("utf-8-sig").strip() == "Procès-verbal du comité"


# ---------------------------------------------------------- case 16: XML


@pytest.mark.parametrize(("builder", "kind"), [(make_xxe_docx, "docx"), (make_xxe_odt, "odt")])
def test_xxe_does_not_leak_the_file_and_keeps_the_rest(
    tmp_path: Path, secret_file: Path, builder: object, kind: str
) -> None:
    path = write_sample(tmp_path / f"xxe.{kind}", builder(secret_file))  # type: ignore[operator]
    for result in (extract_text(path, kind), extract_text_inline(path, kind)):
        assert result.status == "ok"
        assert SECRET not in (result.text or "")
        assert result.text == "Avant  après."


def test_billion_laughs_fails_fast_with_a_clear_reason(tmp_path: Path) -> None:
    path = write_sample(tmp_path / "rires.odt", make_billion_laughs_odt())
    started = time.monotonic()
    result = extract_text(path, "odt")
    assert time.monotonic() - started < 5
    assert result == Extraction(
        text=None, status="failed", reason="Document piégé (entités XML en cascade) : texte non indexé", pages=None
    )


# ---------------------------------------------------------- case 19: PDF


def test_encrypted_pdf_is_marked_not_indexed(tmp_path: Path) -> None:
    path = write_sample(tmp_path / "chiffre.pdf", make_encrypted_pdf(user_password="secret"))
    assert extract_text(path, "pdf") == Extraction(
        text=None, status="failed", reason="PDF chiffré : texte non indexé", pages=None
    )


def test_pdf_encrypted_with_an_empty_user_password_is_extracted(tmp_path: Path) -> None:
    path = write_sample(tmp_path / "permissions.pdf", make_encrypted_pdf(user_password=""))
    result = extract_text(path, "pdf")
    assert (result.status, result.text, result.pages) == ("ok", "Texte confidentiel de la convention.", 1)


def test_pdf_bomb_is_marked_not_indexed(tmp_path: Path) -> None:
    path = write_sample(tmp_path / "bombe.pdf", make_pdf_bomb(300))
    started = time.monotonic()
    result = extract_text(path, "pdf", timeout=10)
    assert time.monotonic() - started < 10
    assert result.status == "failed"
    assert result.reason == "PDF piégé (contenu démesuré une fois décompressé) : texte non indexé"


def test_very_long_pdf_is_cut_by_the_time_bound(tmp_path: Path) -> None:
    path = write_sample(tmp_path / "long.pdf", make_long_pdf(2000))
    started = time.monotonic()
    result = extract_text(path, "pdf", timeout=1)
    elapsed = time.monotonic() - started
    assert result == Extraction(
        text=None, status="failed", reason="Extraction interrompue après 1 s : texte non indexé", pages=None
    )
    assert elapsed < 3, f"the worker was not stopped in time ({elapsed:.1f} s)"


def test_pdf_page_cap_keeps_the_first_pages_and_says_so(tmp_path: Path) -> None:
    path = write_sample(tmp_path / "long.pdf", make_long_pdf(12))
    result = extract_text(path, "pdf", max_pages=5)
    assert result.status == "ok"
    assert result.pages == 12
    page_lines = [line for line in (result.text or "").splitlines() if line.startswith("Page ")]
    assert page_lines == ["Page 1", "Page 2", "Page 3", "Page 4", "Page 5"]
    assert result.reason == "Texte partiel : seules les 5 premières pages sur 12 ont été indexées"


def test_memory_bound_stops_a_greedy_extraction(tmp_path: Path) -> None:
    small = write_sample(tmp_path / "petit.txt", "Été".encode())
    big = write_sample(tmp_path / "gros.txt", ("é" * 999 + "\n").encode() * 40_000)
    # The same 100 MB cap lets the worker start and read a small file…
    assert extract_text(small, "txt", memory_mb=100).text == "Été"
    # …but not decode 80 MB of text: the bound, not the file, decides.
    greedy = extract_text(big, "txt", memory_mb=100, max_chars=50_000_000)
    assert greedy.status == "failed"
    assert "mémoire" in (greedy.reason or "")


def test_max_chars_truncates_and_says_so(tmp_path: Path) -> None:
    path = write_sample(tmp_path / "long.docx", make_docx(["Convention régionale " * 100]))
    result = extract_text(path, "docx", max_chars=25)
    assert (result.status, result.text) == ("ok", "Convention régionale Conv")
    assert result.reason == "Texte tronqué aux 25 premiers caractères"


# ------------------------------------------------------ never raises


@pytest.mark.parametrize("kind", ["docx", "odt", "pdf", "doc", "rtf", "txt"])
def test_garbage_never_raises(tmp_path: Path, kind: str) -> None:
    path = write_sample(tmp_path / f"garbage.{kind}", b"PK\x03\x04" + bytes(range(256)) * 64)
    result = extract_text(path, kind)
    assert isinstance(result, Extraction)
    if kind in {"docx", "odt", "pdf", "doc"}:
        assert result.status == "failed"
        assert result.text is None
        assert result.reason and "texte non indexé" in result.reason


def test_unknown_kind_and_missing_file_fail_with_a_reason(tmp_path: Path) -> None:
    assert extract_text(tmp_path / "absent.pdf", "pdf").reason == "Fichier introuvable : texte non indexé"
    path = write_sample(tmp_path / "x.bin", b"x")
    assert extract_text(path, "exe") == Extraction(
        text=None, status="failed", reason="Format « exe » inconnu : texte non indexé", pages=None
    )


def test_empty_pdf_page_says_no_text_was_found(tmp_path: Path) -> None:
    path = write_sample(tmp_path / "scan.pdf", make_pdf([""]))
    result = extract_text(path, "pdf")
    assert (result.status, result.text, result.pages) == ("ok", "", 1)
    assert result.reason == "Aucun texte trouvé (document scanné ou vide ?)"
