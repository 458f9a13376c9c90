"""Text of Word (.docx) and OpenDocument (.odt) files, read straight from their XML parts.

lxml parses with entity expansion, network and DTDs off (no XXE, no billion laughs), and each
part is capped in size; the zip itself was checked against bombs before any part is read.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from documents.extraction.result import MAX_XML_PART_BYTES, Failed

if TYPE_CHECKING:  # lxml is imported lazily: a PDF worker has no use for it
    from lxml.etree import XMLParser, _Element


def _xml_parser() -> XMLParser:
    from lxml import etree

    # No entity expansion (XXE, billion laughs), no network, libxml2's default depth/size caps.
    return etree.XMLParser(
        resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False, dtd_validation=False
    )


def _parse_xml(blob: bytes) -> _Element:
    from lxml import etree

    try:
        return etree.fromstring(blob, _xml_parser())
    except etree.XMLSyntaxError as exc:
        # libxml2 itself refuses entity loops and exponential expansion ("billion laughs").
        if "entity" in str(exc).lower():
            raise Failed("Document piégé (entités XML en cascade) : texte non indexé", detail=str(exc)) from exc
        raise Failed("Document endommagé (XML illisible) : texte non indexé", detail=str(exc)) from exc


def _read_part(archive: zipfile.ZipFile, name: str) -> bytes | None:
    try:
        info = archive.getinfo(name)
    except KeyError:
        return None
    if info.file_size > MAX_XML_PART_BYTES:
        raise Failed("Document trop volumineux pour être indexé : texte non indexé")
    # zipfile stops at the size declared in the central directory, so a lying entry cannot inflate further.
    return archive.read(info)


def _own_text(element: _Element) -> str:
    """Text directly inside an element, skipping entity references left unexpanded."""
    parts = [element.text or ""]
    parts.extend(child.tail or "" for child in element)
    return "".join(parts)


def _check_archive(archive: zipfile.ZipFile, path: Path) -> None:
    """The upload's zip checks (bomb, truncation, password) again: the worker may be given any file."""
    from documents.errors import DomainError
    from documents.filetypes import check_zip_archive

    try:
        check_zip_archive(archive, path.stat().st_size)
    except DomainError as exc:
        raise Failed(f"{exc.message} Texte non indexé.") from exc


def _natural_key(name: str) -> list[int | str]:
    return [int(token) if token.isdigit() else token for token in re.split(r"(\d+)", name)]


def _join(paragraphs: Sequence[str]) -> str:
    stripped = (text.strip() for text in paragraphs)
    return "\n".join(text for text in stripped if text)


# ------------------------------------------------------------------------ docx

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
_W_P, _W_T = f"{_W}p", f"{_W}t"
_W_BREAKS = {f"{_W}br", f"{_W}cr"}
_W_SKIP = {f"{_W}delText", f"{_W}instrText", f"{_W}delInstrText", f"{_W}moveFrom", _MC_FALLBACK}

_CT_PREFIX = "application/vnd.openxmlformats-officedocument.wordprocessingml."
#: Word parts read, in the order their text is given: page top, body, notes, page bottom, comments.
_DOCX_PART_ORDER = (
    ("header+xml",),
    ("document.main+xml", "template.main+xml"),
    ("footnotes+xml",),
    ("endnotes+xml",),
    ("footer+xml",),
    ("comments+xml",),
)


def _walk_ooxml(element: _Element, paragraphs: list[str], current: list[str] | None) -> None:
    for child in element:
        tag = child.tag
        if not isinstance(tag, str) or tag in _W_SKIP:
            continue  # comments, processing instructions, unexpanded entities, deleted or duplicate text
        if tag == _W_P:
            slot = len(paragraphs)
            paragraphs.append("")
            buffer: list[str] = []
            _walk_ooxml(child, paragraphs, buffer)
            paragraphs[slot] = "".join(buffer)
        elif current is None:
            _walk_ooxml(child, paragraphs, None)
        elif tag == _W_T:
            current.append(_own_text(child))
        elif tag == f"{_W}tab":
            current.append("\t")
        elif tag in _W_BREAKS:
            current.append("\n")
        elif tag == f"{_W}noBreakHyphen":
            current.append("-")
        else:
            _walk_ooxml(child, paragraphs, current)


def docx_text(path: Path) -> str:
    with zipfile.ZipFile(path) as archive:
        _check_archive(archive, path)
        types_blob = _read_part(archive, "[Content_Types].xml")
        if types_blob is None:
            raise Failed("Document Word endommagé (description interne absente) : texte non indexé")
        by_type: dict[str, list[str]] = {}
        for override in _parse_xml(types_blob):
            if isinstance(override.tag, str) and override.get("PartName"):
                content_type = override.get("ContentType", "")
                if content_type.startswith(_CT_PREFIX):
                    suffix = content_type[len(_CT_PREFIX) :]
                    by_type.setdefault(suffix, []).append(override.get("PartName").lstrip("/"))
        if not any(by_type.get(kind) for kind in _DOCX_PART_ORDER[1]):
            raise Failed("Document Word endommagé (corps du texte absent) : texte non indexé")
        sections: list[str] = []
        for kinds in _DOCX_PART_ORDER:
            names = sorted((name for kind in kinds for name in by_type.get(kind, [])), key=_natural_key)
            for name in names:
                blob = _read_part(archive, name)
                if blob is None:
                    continue
                paragraphs: list[str] = []
                _walk_ooxml(_parse_xml(blob), paragraphs, None)
                sections.append(_join(paragraphs))
    return "\n".join(section for section in sections if section)


# ------------------------------------------------------------------------- odt

_TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
_OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
_STYLE = "{urn:oasis:names:tc:opendocument:xmlns:style:1.0}"
_ODF_PARAGRAPHS = {f"{_TEXT}p", f"{_TEXT}h"}
_ODF_SKIP = {f"{_TEXT}note-citation", f"{_TEXT}tracked-changes", f"{_TEXT}sequence-decls"}
#: Containers whose own text is metadata (author, date) but whose paragraphs are content.
_ODF_DETACHED = {f"{_TEXT}note", f"{_OFFICE}annotation", f"{_TEXT}note-body"}


def _walk_odf(element: _Element, paragraphs: list[str], current: list[str] | None) -> None:
    for child in element:
        tag = child.tag
        if isinstance(tag, str) and tag not in _ODF_SKIP:
            if tag in _ODF_PARAGRAPHS:
                slot = len(paragraphs)
                paragraphs.append("")
                buffer = [child.text or ""]
                _walk_odf(child, paragraphs, buffer)
                paragraphs[slot] = "".join(buffer)
            elif tag in _ODF_DETACHED:
                _walk_odf(child, paragraphs, None)
            elif current is not None and tag == f"{_TEXT}s":
                current.append(" " * _count(child.get(f"{_TEXT}c")))
            elif current is not None and tag == f"{_TEXT}tab":
                current.append("\t")
            elif current is not None and tag == f"{_TEXT}line-break":
                current.append("\n")
            else:
                if current is not None:
                    current.append(child.text or "")
                _walk_odf(child, paragraphs, current)
        # The tail belongs to the enclosing paragraph, whatever the child was (an entity too).
        if current is not None:
            current.append(child.tail or "")


def _count(value: str | None) -> int:
    try:
        return max(1, min(int(value or 1), 1000))
    except ValueError:
        return 1


def odt_text(path: Path) -> str:
    with zipfile.ZipFile(path) as archive:
        _check_archive(archive, path)
        content = _read_part(archive, "content.xml")
        if content is None:
            raise Failed("Document OpenDocument endommagé (content.xml absent) : texte non indexé")
        styles = _read_part(archive, "styles.xml")
        headers: list[str] = []
        footers: list[str] = []
        if styles is not None:
            root = _parse_xml(styles)
            for master in root.iter(f"{_STYLE}master-page"):
                for block in master:
                    if not isinstance(block.tag, str):
                        continue
                    local = block.tag.rpartition("}")[2]
                    target = headers if local.startswith("header") else footers if local.startswith("footer") else None
                    if target is not None:
                        _walk_odf(block, target, None)
        body: list[str] = []
        _walk_odf(_parse_xml(content), body, None)
    return "\n".join(part for part in (_join(headers), _join(body), _join(footers)) if part)

