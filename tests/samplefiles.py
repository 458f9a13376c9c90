"""Builders of real sample files, benign and hostile, for the tests of every package.

Each builder returns the bytes of a complete file; ``write_sample`` puts them on disk.
The benign ones (docx, odt, pdf, rtf) open in Word and LibreOffice; the hostile ones
reproduce the attacks the application must withstand (zip bombs, XXE, billion laughs, macros,
encrypted or endless PDFs, truncated files) with real formats, not mocks.
"""

from __future__ import annotations

import datetime as dt
import io
import shutil
import subprocess
import tempfile
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import escape

import docx
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.packuri import PackURI
from docx.opc.part import Part
from docx.oxml.ns import qn
from docx.oxml.parser import OxmlElement

FONT_CANDIDATES = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/dejavu/DejaVuSans.ttf"),
)

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
DOCX_MAIN_CT = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
DOCM_MAIN_CT = "application/vnd.ms-word.document.macroEnabled.main+xml"
FOOTNOTES_CT = "application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml"


def write_sample(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` (creating parent folders) and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


# --------------------------------------------------------------------------- docx


def _footnotes_xml(text: str) -> bytes:
    # Word wants the two separator footnotes (ids -1 and 0) before the real ones.
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<w:footnotes xmlns:w="{W_NS}">'
        '<w:footnote w:type="separator" w:id="-1"><w:p><w:pPr><w:spacing w:after="0"/></w:pPr>'
        "<w:r><w:separator/></w:r></w:p></w:footnote>"
        '<w:footnote w:type="continuationSeparator" w:id="0"><w:p><w:pPr><w:spacing w:after="0"/></w:pPr>'
        "<w:r><w:continuationSeparator/></w:r></w:p></w:footnote>"
        '<w:footnote w:id="1"><w:p><w:pPr><w:pStyle w:val="FootnoteText"/></w:pPr>'
        '<w:r><w:rPr><w:vertAlign w:val="superscript"/></w:rPr><w:footnoteRef/></w:r>'
        f'<w:r><w:t xml:space="preserve"> {escape(text)}</w:t></w:r></w:p></w:footnote>'
        "</w:footnotes>"
    ).encode()


def _fill_table(table: object, rows: Sequence[Sequence[str]]) -> None:
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            table.cell(r, c).text = value  # type: ignore[attr-defined]


def make_docx(
    paragraphs: Sequence[str],
    *,
    table: Sequence[Sequence[str]] | None = None,
    nested_table: Sequence[Sequence[str]] | None = None,
    header: str | None = None,
    footer: str | None = None,
    footnote: str | None = None,
    comment: str | None = None,
    core_title: str | None = None,
    core_created: dt.datetime | None = None,
) -> bytes:
    """Build a real .docx with python-docx: body, table (optionally nested), header, footer, footnote, comment."""
    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    if table:
        outer = document.add_table(rows=len(table), cols=max(len(row) for row in table))
        _fill_table(outer, table)
        if nested_table:
            cell = outer.cell(0, 0)
            inner = cell.add_table(rows=len(nested_table), cols=max(len(row) for row in nested_table))
            _fill_table(inner, nested_table)
            # A cell must end with a paragraph, or Word reports the file as damaged.
            cell.add_paragraph("")
    section = document.sections[0]
    if header is not None:
        section.header.is_linked_to_previous = False
        section.header.paragraphs[0].text = header
    if footer is not None:
        section.footer.is_linked_to_previous = False
        section.footer.paragraphs[0].text = footer
    if comment is not None:
        anchor = document.paragraphs[0] if document.paragraphs else document.add_paragraph("")
        runs = anchor.runs or [anchor.add_run("")]
        document.add_comment(runs, text=comment, author="Relecteur", initials="R")
    if footnote is not None:
        part = Part(
            PackURI("/word/footnotes.xml"), FOOTNOTES_CT, _footnotes_xml(footnote), document.part.package
        )
        document.part.relate_to(part, RT.FOOTNOTES)
        anchor = document.paragraphs[0] if document.paragraphs else document.add_paragraph("")
        run = anchor.add_run()
        rpr = OxmlElement("w:rPr")
        valign = OxmlElement("w:vertAlign")
        valign.set(qn("w:val"), "superscript")
        rpr.append(valign)
        run._r.append(rpr)
        ref = OxmlElement("w:footnoteReference")
        ref.set(qn("w:id"), "1")
        run._r.append(ref)
    if core_title is not None:
        document.core_properties.title = core_title
    if core_created is not None:
        document.core_properties.created = core_created
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _rewrite_zip(data: bytes, *, replace: dict[str, bytes] | None = None, add: dict[str, bytes] | None = None) -> bytes:
    """Copy a zip, replacing or adding entries (order kept, new entries appended)."""
    replace = replace or {}
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, replace.get(info.filename, src.read(info.filename)))
        for name, blob in (add or {}).items():
            dst.writestr(name, blob)
    return out.getvalue()


def make_macro_docx(*, declare_macro: bool = True) -> bytes:
    """A Word document carrying a VBA project (.docm content), meant to be renamed .docx.

    With ``declare_macro=False`` the content type still claims a plain .docx and only the
    ``vbaProject.bin`` part betrays the macros.
    """
    base = make_docx(["Document avec macro."])
    with zipfile.ZipFile(io.BytesIO(base)) as zf:
        content_types = zf.read("[Content_Types].xml").decode("utf-8")
        rels = zf.read("word/_rels/document.xml.rels").decode("utf-8")
    if declare_macro:
        content_types = content_types.replace(DOCX_MAIN_CT, DOCM_MAIN_CT)
    content_types = content_types.replace(
        "</Types>", '<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/></Types>'
    )
    rels = rels.replace(
        "</Relationships>",
        '<Relationship Id="rIdVba" Type="http://schemas.microsoft.com/office/2006/relationships/vbaProject"'
        ' Target="vbaProject.bin"/></Relationships>',
    )
    # An OLE2 signature followed by filler: enough to look like a VBA project to any scanner.
    vba = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504 + b"Attribute VB_Name = \"AutoOpen\"\r\n"
    return _rewrite_zip(
        base,
        replace={"[Content_Types].xml": content_types.encode(), "word/_rels/document.xml.rels": rels.encode()},
        add={"word/vbaProject.bin": vba},
    )


def make_xxe_docx(secret_path: Path) -> bytes:
    """A .docx whose document.xml declares an external entity pointing at ``secret_path``."""
    base = make_docx(["Avant PLACEHOLDER après."])
    with zipfile.ZipFile(io.BytesIO(base)) as zf:
        xml = zf.read("word/document.xml").decode("utf-8")
    head, sep, body = xml.partition("?>")
    doctype = f'<!DOCTYPE w:document [<!ENTITY xxe SYSTEM "file://{secret_path}">]>'
    xml = head + sep + doctype + body.replace("PLACEHOLDER", "&xxe;")
    return _rewrite_zip(base, replace={"word/document.xml": xml.encode("utf-8")})


# ---------------------------------------------------------------------------- odt

ODT_MIME = "application/vnd.oasis.opendocument.text"
_ODF_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" '
    'xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0" '
    'office:version="1.3"'
)


def _odt_content(paragraphs: Sequence[str], *, doctype: str = "", note: str | None = None) -> str:
    body = []
    for index, text in enumerate(paragraphs):
        inner = text if doctype else escape(text)
        if note is not None and index == 0:
            inner += (
                '<text:note text:id="ftn1" text:note-class="footnote"><text:note-citation>1</text:note-citation>'
                f"<text:note-body><text:p>{escape(note)}</text:p></text:note-body></text:note>"
            )
        body.append(f"<text:p>{inner}</text:p>")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"{doctype}"
        f"<office:document-content {_ODF_NS}><office:body><office:text>"
        f"{''.join(body)}"
        "</office:text></office:body></office:document-content>"
    )


def _odt_styles(header: str | None, footer: str | None) -> str:
    parts = []
    if header is not None:
        parts.append(f"<style:header><text:p>{escape(header)}</text:p></style:header>")
    if footer is not None:
        parts.append(f"<style:footer><text:p>{escape(footer)}</text:p></style:footer>")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<office:document-styles {_ODF_NS}>"
        '<office:automatic-styles><style:page-layout style:name="pm1">'
        '<style:page-layout-properties fo:page-width="21cm" fo:page-height="29.7cm"/>'
        "</style:page-layout></office:automatic-styles>"
        '<office:master-styles><style:master-page style:name="Standard" style:page-layout-name="pm1">'
        f"{''.join(parts)}"
        "</style:master-page></office:master-styles></office:document-styles>"
    )


def _odt_package(content: str, styles: str, *, extra: dict[str, bytes] | None = None) -> bytes:
    manifest_entries = [
        '<manifest:file-entry manifest:full-path="/" manifest:version="1.3" '
        f'manifest:media-type="{ODT_MIME}"/>',
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>',
        '<manifest:file-entry manifest:full-path="styles.xml" manifest:media-type="text/xml"/>',
        '<manifest:file-entry manifest:full-path="meta.xml" manifest:media-type="text/xml"/>',
    ]
    for name in extra or {}:
        manifest_entries.append(
            f'<manifest:file-entry manifest:full-path="{escape(name)}" manifest:media-type="text/xml"/>'
        )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" '
        'manifest:version="1.3">' + "".join(manifest_entries) + "</manifest:manifest>"
    )
    meta = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<office:document-meta {_ODF_NS}><office:meta>"
        "<meta:generator>samplefiles</meta:generator></office:meta></office:document-meta>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        # ODF: "mimetype" must be the first entry, stored uncompressed, without extra field.
        zf.writestr(zipfile.ZipInfo("mimetype"), ODT_MIME, compress_type=zipfile.ZIP_STORED)
        zf.writestr("META-INF/manifest.xml", manifest)
        zf.writestr("content.xml", content)
        zf.writestr("styles.xml", styles)
        zf.writestr("meta.xml", meta)
        for name, blob in (extra or {}).items():
            zf.writestr(name, blob)
    return out.getvalue()


def make_odt(
    paragraphs: Sequence[str], *, header: str | None = None, footer: str | None = None, note: str | None = None
) -> bytes:
    """Build a real OpenDocument text by hand: mimetype first and stored, manifest, content, styles."""
    return _odt_package(_odt_content(paragraphs, note=note), _odt_styles(header, footer))


def make_macro_odt() -> bytes:
    """An .odt carrying a LibreOffice Basic module (macros)."""
    module = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<script:module xmlns:script="http://openoffice.org/2000/script" script:name="Module1" '
        'script:language="StarBasic">Sub Main\nShell("calc")\nEnd Sub</script:module>'
    )
    return _odt_package(
        _odt_content(["Document avec macro."]),
        _odt_styles(None, None),
        extra={"Basic/Standard/Module1.xml": module.encode()},
    )


def make_xxe_odt(secret_path: Path) -> bytes:
    """An .odt whose content.xml declares an external entity pointing at ``secret_path``."""
    doctype = f'<!DOCTYPE office:document-content [<!ENTITY xxe SYSTEM "file://{secret_path}">]>\n'
    return _odt_package(_odt_content(["Avant &xxe; après."], doctype=doctype), _odt_styles(None, None))


def make_billion_laughs_odt(levels: int = 10) -> bytes:
    """An .odt whose content.xml holds the classic exponential entity expansion ("billion laughs")."""
    entities = ['<!ENTITY lol0 "lol">']
    for level in range(1, levels):
        entities.append(f'<!ENTITY lol{level} "{("&lol%d;" % (level - 1)) * 10}">')
    doctype = f"<!DOCTYPE office:document-content [{''.join(entities)}]>\n"
    return _odt_package(
        _odt_content(["Début", f"&lol{levels - 1};", "Fin"], doctype=doctype), _odt_styles(None, None)
    )


# ---------------------------------------------------------------------------- pdf


def _unicode_font() -> Path | None:
    return next((path for path in FONT_CANDIDATES if path.exists()), None)


def make_pdf(pages: Sequence[str]) -> bytes:
    """Build a real PDF with fpdf2, one string per page (DejaVuSans when present, for accents)."""
    from fpdf import FPDF

    pdf = FPDF()
    font = _unicode_font()
    if font is not None:
        pdf.add_font("DejaVu", fname=str(font))
        pdf.set_font("DejaVu", size=12)
    else:
        pdf.set_font("Helvetica", size=12)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 8, text if font is not None else text.encode("latin-1", "replace").decode("latin-1"))
    return bytes(pdf.output())


def make_long_pdf(pages: int = 2000) -> bytes:
    """A PDF of ``pages`` pages of text, written object by object (fpdf2 takes minutes for 2000 pages)."""
    line = "(Passeurs d'images convention bilan comite de pilotage regional) Tj T*\n"
    kids = " ".join(f"{3 + 2 * index} 0 R" for index in range(pages))
    font_number = 3 + 2 * pages
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode()]
    for index in range(pages):
        content = zlib.compress(
            f"BT /F1 9 Tf 11 TL 50 800 Td (Page {index + 1}) Tj T*\n{line * 60}ET\n".encode("ascii")
        )
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents {4 + 2 * index} 0 R "
            f"/Resources << /Font << /F1 {font_number} 0 R >> >> >>".encode()
        )
        objects.append(b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(content) + content + b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    return _assemble_pdf(objects)


def make_encrypted_pdf(*, user_password: str = "secret", owner_password: str = "proprietaire") -> bytes:
    """A PDF encrypted with pypdf (RC4-128, needs no extra library); empty ``user_password`` opens freely."""
    from pypdf import PdfReader, PdfWriter

    reader = PdfReader(io.BytesIO(make_pdf(["Texte confidentiel de la convention."])))
    writer = PdfWriter()
    for page in reader.pages:
        writer.add_page(page)
    writer.encrypt(user_password=user_password, owner_password=owner_password, algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def make_pdf_bomb(megabytes: int = 300) -> bytes:
    """A one-page PDF whose content stream inflates from a few hundred KB to ``megabytes`` MB."""
    chunk = b"BT /F1 12 Tf 72 712 Td (bombe) Tj ET\n"
    raw = chunk * (megabytes * 1024 * 1024 // len(chunk))
    stream = zlib.compress(raw, 9)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    return _assemble_pdf(objects)


def _assemble_pdf(objects: Sequence[bytes]) -> bytes:
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def make_pdf_bad_xref() -> bytes:
    """A PDF that ends with %%EOF but whose startxref points past the end of the file."""
    data = make_pdf(["Référence croisée cassée."])
    head, sep, tail = data.rpartition(b"startxref")
    return head + sep + b"\n99999999\n%%EOF\n"


def make_truncated_pdf() -> bytes:
    """The first half of a real PDF: no trailer, no %%EOF."""
    data = make_pdf(["Document coupé en deux pendant l'envoi."] * 3)
    return data[: len(data) // 2]


def make_truncated_docx() -> bytes:
    """The first half of a real .docx: the zip has lost its central directory."""
    data = make_docx(["Document coupé en deux pendant l'envoi."])
    return data[: len(data) // 2]


def make_truncated_odt() -> bytes:
    """The first half of a real .odt: the zip has lost its central directory."""
    data = make_odt(["Document coupé en deux pendant l'envoi."])
    return data[: len(data) // 2]


# ------------------------------------------------------------------- zip bombs


def make_zip_bomb(kind: str = "ratio") -> bytes:
    """A .docx-shaped zip bomb; ``kind`` is "ratio" (one 128 MB entry), "total" or "entries"."""
    base = make_docx(["Document piégé."])
    out = io.BytesIO(base)
    with zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        if kind == "ratio":
            # One entry inflating ~1000x: the classic single-file bomb. Written by chunks so
            # building it never holds 128 MB in memory.
            info = zipfile.ZipInfo("word/media/image1.png")
            info.compress_type = zipfile.ZIP_DEFLATED
            with zf.open(info, "w", force_zip64=True) as entry:
                block = b"\0" * (8 * 1024 * 1024)
                for _ in range(16):
                    entry.write(block)
        elif kind == "total":
            # 300 entries of 0.9 MB: each is under the per-entry ratio rule, the sum is 270 MB.
            blob = b"\0" * (900 * 1024)
            for index in range(300):
                zf.writestr(f"word/media/image{index}.png", blob)
        elif kind == "entries":
            for index in range(5000):
                zf.writestr(f"word/media/e{index}.xml", b"<x/>")
        else:
            raise ValueError(kind)
    return out.getvalue()


# ------------------------------------------------------------------ other formats


def make_html() -> bytes:
    """A small HTML page, the kind a browser "Save as" produces."""
    return (
        "<!DOCTYPE html>\n<html lang=\"fr\"><head><meta charset=\"utf-8\"><title>Convention</title></head>"
        "<body><h1>Convention régionale</h1><script>alert(1)</script></body></html>\n"
    ).encode()


def make_rtf(paragraphs: Sequence[str]) -> bytes:
    """A real RTF document (ANSI code page 1252, non-ASCII characters as \\uN escapes)."""

    def encode(text: str) -> str:
        out = []
        for char in text:
            if char in "\\{}":
                out.append("\\" + char)
            elif ord(char) < 128:
                out.append(char)
            else:
                code = ord(char)
                out.append(f"\\u{code if code < 32768 else code - 65536}?")
        return "".join(out)

    body = "".join(f"{encode(text)}\\par\n" for text in paragraphs)
    return (
        "{\\rtf1\\ansi\\ansicpg1252\\deff0{\\fonttbl{\\f0\\fswiss Helvetica;}}"
        "{\\colortbl;\\red0\\green0\\blue0;}"
        "{\\info{\\title Titre invisible}{\\author Auteur invisible}}"
        "\\f0\\fs24 " + body + "}"
    ).encode("ascii")


def soffice_convert(data: bytes, source_ext: str, target: str) -> bytes | None:
    """Convert with LibreOffice (e.g. target "doc", "txt:Text (encoded):UTF8"); None if soffice is absent."""
    soffice = shutil.which("soffice")
    if soffice is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / f"source.{source_ext}"
        source.write_bytes(data)
        profile = Path(tmp) / "profile"
        subprocess.run(
            [
                soffice,
                f"-env:UserInstallation=file://{profile}",
                "--headless",
                "--convert-to",
                target,
                "--outdir",
                str(Path(tmp) / "out"),
                str(source),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        out = Path(tmp) / "out"
        produced = list(out.iterdir()) if out.is_dir() else []
        return produced[0].read_bytes() if produced else None
