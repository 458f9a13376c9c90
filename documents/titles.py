"""A document's default title: its own title property, else its first heading, else its file name."""

from __future__ import annotations

import io
import logging
import re
import zipfile
from pathlib import Path

from lxml import etree

from documents import filetypes
from documents.intake.guessing import title_from_name as title_from_name  # re-exported for archive
from documents.intake.properties import file_properties

logger = logging.getLogger(__name__)

_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
#: Word style ids of a title or a level-1 heading, in English and French Word.
_DOCX_HEADING_STYLE = re.compile(r"^(title|titre|heading1|titre1|heading 1|titre 1)$", re.IGNORECASE)
#: Paragraphs read before giving up on a heading: a title is at the top, never on page 40.
_MAX_PARAGRAPHS = 200
_MAX_TITLE = 500


def _clean(text: str) -> str | None:
    title = " ".join(text.split())
    return title[:_MAX_TITLE] if title else None


def _xml_events(path: Path, member: str, tags: tuple[str, ...]) -> etree.iterparse | None:
    # Entities unresolved, no network, no DTD; the sizes were bounded by filetypes.check_upload.
    with zipfile.ZipFile(path) as archive:
        try:
            blob = archive.read(member)
        except KeyError:
            return None
    if b"<!DOCTYPE" in blob[:4096].upper():
        return None
    return etree.iterparse(io.BytesIO(blob), events=("end",), tag=tags, resolve_entities=False,
                           no_network=True, load_dtd=False, huge_tree=False)


def _docx_heading(path: Path) -> str | None:
    events = _xml_events(path, "word/document.xml", (f"{{{_W}}}p",))
    if events is None:
        return None
    for count, (_event, paragraph) in enumerate(events):
        if count >= _MAX_PARAGRAPHS:
            break
        style = paragraph.find(f"{{{_W}}}pPr/{{{_W}}}pStyle")
        if style is not None and _DOCX_HEADING_STYLE.match(style.get(f"{{{_W}}}val", "")):
            text = _clean("".join(t.text or "" for t in paragraph.iter(f"{{{_W}}}t")))
            if text:
                return text
    return None


def _odt_heading(path: Path) -> str | None:
    events = _xml_events(path, "content.xml", (f"{{{_TEXT}}}h", f"{{{_TEXT}}}p"))
    if events is None:
        return None
    for count, (_event, element) in enumerate(events):
        if count >= _MAX_PARAGRAPHS:
            break
        style = element.get(f"{{{_TEXT}}}style-name", "")
        if element.tag == f"{{{_TEXT}}}h" or style.lower() in {"title", "titre"}:
            text = _clean("".join(element.itertext()))
            if text:
                return text
    return None


def first_heading(path: Path, kind: str) -> str | None:
    """The text of the first title or level-1 heading of a .docx or .odt; None if none (never raises)."""
    try:
        if kind == "docx":
            return _docx_heading(path)
        if kind == "odt":
            return _odt_heading(path)
    except Exception as exc:  # noqa: BLE001 - a heading is a hint; a damaged file still gets a title
        logger.info("could not read the headings of %s: %r", path.name, exc)
    return None


def default_title(path: Path, filename: str) -> tuple[str, str]:
    """The title a document gets when nobody typed one, and where it comes from.

    Its own title (Word/ODF core properties, PDF info), else its first heading, else its file
    name: « propriétés », « titre du document » or « nom du fichier ».
    """
    kind = filetypes.sniff(path)
    own = file_properties(path, kind).title
    if own:
        return own, "propriétés"
    heading = first_heading(path, kind)
    if heading:
        return heading, "titre du document"
    return title_from_name(filename), "nom du fichier"
