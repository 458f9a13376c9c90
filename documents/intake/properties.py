"""What a file says about itself: the title property and the year it was made (docx, odt, PDF)."""

from __future__ import annotations

import logging
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree

from documents.frenchtext import fold_words as fold
from documents.intake.guessing import YEAR_MAX, YEAR_MIN

logger = logging.getLogger(__name__)

#: Largest docProps/core.xml or meta.xml read for a title or a date.
_MAX_PROPERTIES_BYTES = 256 * 1024


@dataclass(frozen=True)
class FileProperties:
    """What a file says about itself: its title property and the year it was made."""

    title: str | None = None
    year: int | None = None


#: python-docx stamps this creation date on every file made from its default template:
#: it says nothing about the document.
_TEMPLATE_TIMESTAMPS = frozenset({"2013-12-23T23:15:00Z"})
_PLACEHOLDER_TITLES = frozenset({"", "document", "word document", "document microsoft word", "sans titre",
                                 "untitled", "titre"})
_DC = "http://purl.org/dc/elements/1.1/"
_DCTERMS = "http://purl.org/dc/terms/"
_ODF_META = "urn:oasis:names:tc:opendocument:xmlns:meta:1.0"


def _year_of(value: str | None) -> int | None:
    if not value or value.strip() in _TEMPLATE_TIMESTAMPS:
        return None
    match = re.match(r"\s*(?:D:)?(\d{4})", value)
    if match and YEAR_MIN <= int(match.group(1)) <= YEAR_MAX:
        return int(match.group(1))
    return None


def _clean_title(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    title = " ".join(value.split())
    return None if fold(title) in _PLACEHOLDER_TITLES else title[:500]


def _zip_xml(path: Path, member: str) -> etree._Element | None:
    with zipfile.ZipFile(path) as archive:
        try:
            info = archive.getinfo(member)
        except KeyError:
            return None
        if info.file_size > _MAX_PROPERTIES_BYTES:
            return None
        blob = archive.read(info)
    if b"<!DOCTYPE" in blob.upper():
        return None
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    return etree.fromstring(blob, parser)


def _first_text(root: etree._Element, *tags: str) -> str | None:
    for tag in tags:
        element = root.find(f".//{tag}")
        text = element.text if element is not None else None
        if isinstance(text, str) and text.strip():
            return text.strip()
    return None


def file_properties(path: Path, kind: str) -> FileProperties:
    """Title and year from a file's own properties (docx core.xml, odt meta.xml, PDF info); never raises.

    Call it only on a file that passed ``filetypes.check_upload``: the zip checks there are what
    make opening the archive here safe.
    """
    try:
        if kind == "docx":
            root = _zip_xml(path, "docProps/core.xml")
            if root is None:
                return FileProperties()
            title = _clean_title(_first_text(root, f"{{{_DC}}}title"))
            year = _year_of(_first_text(root, f"{{{_DCTERMS}}}created")) or \
                _year_of(_first_text(root, f"{{{_DCTERMS}}}modified"))
            return FileProperties(title=title, year=year)
        if kind == "odt":
            root = _zip_xml(path, "meta.xml")
            if root is None:
                return FileProperties()
            title = _clean_title(_first_text(root, f"{{{_DC}}}title"))
            year = _year_of(_first_text(root, f"{{{_ODF_META}}}creation-date")) or \
                _year_of(_first_text(root, f"{{{_DC}}}date"))
            return FileProperties(title=title, year=year)
        if kind == "pdf":
            from pypdf import PdfReader

            # Only the trailer's /Info dictionary is read: no page or stream is decoded.
            with path.open("rb") as fh:
                reader = PdfReader(fh, strict=False)
                if reader.is_encrypted:
                    return FileProperties()
                info: Mapping[str, Any] = reader.metadata or {}
                title = _clean_title(info.get("/Title"))
                year = _year_of(str(info.get("/CreationDate") or "")) or _year_of(str(info.get("/ModDate") or ""))
            return FileProperties(title=title, year=year)
    except Exception as exc:  # noqa: BLE001 - properties are a hint; a damaged file still gets imported
        logger.info("could not read the properties of %s: %r", path.name, exc)
    return FileProperties()

