"""Readable previews of archived files: .docx and .odt as sanitised HTML, and text differences.

A preview parses a user's file, so it is treated like text extraction: ``render_html`` runs
the conversion in a throw-away subprocess bounded in memory, CPU and time, and every
output goes through nh3 (an allow-list sanitiser) whatever produced it. The .docx goes
through mammoth; the .odt's ``content.xml`` is read with lxml with entities and network
disabled. XML carrying a DTD is refused before any parser sees it.
"""

from __future__ import annotations

import base64
import difflib
import json
import logging
import os
import re
import signal
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

import nh3

from documents.errors import DomainError

log = logging.getLogger(__name__)

#: Kinds that get an HTML preview; PDFs are shown by the browser itself.
HTML_KINDS = frozenset({"docx", "odt"})
DEFAULT_TIMEOUT = 20.0
DEFAULT_MEMORY_MB = 512
#: Largest XML part converted (the upload check already caps the archive as a whole).
MAX_PART_BYTES = 30 * 1024 * 1024
#: Embedded images larger than this are replaced by their description.
MAX_IMAGE_BYTES = 1024 * 1024
#: HTML larger than this is cut (a preview is for reading, the file stays downloadable).
MAX_HTML_CHARS = 3_000_000
_ROOT = Path(__file__).resolve().parent.parent

_TAGS = {
    "p", "br", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "b", "em", "i", "u", "s", "sub", "sup",
    "ul", "ol", "li", "table", "thead", "tbody", "tr", "td", "th", "caption", "a", "img", "span",
    "blockquote", "pre", "code", "hr", "small",
}
_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
    "ol": {"start"},
}
_IMAGE_DATA = re.compile(r"^data:image/(png|jpeg|gif);base64,[A-Za-z0-9+/=\s]+$")
_HEADING = re.compile(r"<(/?)h([1-6])\b", re.IGNORECASE)


class PreviewUnavailable(DomainError):
    """No preview could be made; the file itself stays downloadable."""

    status = 422


# --------------------------------------------------------------------------- sanitising


def _filter_attribute(element: str, attribute: str, value: str) -> str | None:
    # Links: web and mail only (no javascript:, no data: documents). Images: inline raster data only.
    if element == "a" and attribute == "href":
        lowered = value.strip().lower()
        if lowered.startswith(("http://", "https://", "mailto:")):
            return value
        return None
    if element == "img" and attribute == "src":
        return value if _IMAGE_DATA.match(value) else None
    return value


def sanitize(html: str) -> str:
    """Keep only harmless markup: an allow-list of tags and attributes, safe links and inline images."""
    return nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto", "data"},
        attribute_filter=_filter_attribute,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


def demote_headings(html: str, *, by: int = 2) -> str:
    """Shift headings down (h1 → h3) so the document's own titles nest under the page's."""
    return _HEADING.sub(lambda m: f"<{m.group(1)}h{min(6, int(m.group(2)) + by)}", html)


# --------------------------------------------------------------------------- containers


def _guard_package(archive: zipfile.ZipFile, parts: list[str]) -> None:
    """Refuse oversized parts and any DTD before a parser reads the package."""
    for info in archive.infolist():
        if not info.filename.lower().endswith((".xml", ".rels")):
            continue
        if parts and info.filename not in parts and not info.filename.startswith(tuple(parts)):
            continue
        if info.file_size > MAX_PART_BYTES:
            raise PreviewUnavailable("Document trop volumineux pour un aperçu : téléchargez le fichier.")
        with archive.open(info) as handle:
            head = handle.read(4096)
        # A DTD can hide an entity bomb or an external entity; Office files never need one.
        if b"<!DOCTYPE" in head.upper() or b"<!ENTITY" in head.upper():
            raise PreviewUnavailable("Aperçu refusé : le document contient une déclaration XML interdite (DTD).")


def _open_package(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise PreviewUnavailable("Ce fichier est endommagé : aucun aperçu possible, téléchargez-le.") from exc


# --------------------------------------------------------------------------- docx


def _image(image: Any) -> dict[str, str]:
    with image.open() as handle:
        data = handle.read(MAX_IMAGE_BYTES + 1)
    if len(data) > MAX_IMAGE_BYTES or image.content_type not in {"image/png", "image/jpeg", "image/gif"}:
        return {"alt": image.alt_text or "[image non affichée]"}
    return {"src": f"data:{image.content_type};base64,{base64.b64encode(data).decode('ascii')}"}


def docx_to_html(path: Path) -> str:
    """A .docx as sanitised HTML (mammoth), headings shifted under the page's own."""
    import mammoth

    with _open_package(path) as archive:
        _guard_package(archive, ["word/", "[Content_Types].xml", "_rels/"])
    try:
        with path.open("rb") as handle:
            result = mammoth.convert_to_html(handle, convert_image=mammoth.images.img_element(_image))
    except Exception as exc:  # noqa: BLE001 - any converter failure is "no preview", never a crash
        log.info("docx preview failed: %s", exc)
        raise PreviewUnavailable("Aperçu impossible pour ce document Word : téléchargez le fichier.") from exc
    return sanitize(demote_headings(result.value[:MAX_HTML_CHARS]))


# --------------------------------------------------------------------------- odt

_NS = {
    "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
    "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
    "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
    "style": "urn:oasis:names:tc:opendocument:xmlns:style:1.0",
    "fo": "urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0",
    "xlink": "http://www.w3.org/1999/xlink",
}


def _q(prefix: str, name: str) -> str:
    return f"{{{_NS[prefix]}}}{name}"


_SKIP = {_q("text", "note-citation"), _q("text", "tracked-changes"), _q("text", "sequence-decls"),
         _q("office", "annotation"), _q("text", "bookmark-ref")}


def _text_styles(root: Any) -> dict[str, tuple[bool, bool]]:
    """Automatic text styles: name -> (bold, italic)."""
    out: dict[str, tuple[bool, bool]] = {}
    for style in root.iter(_q("style", "style")):
        props = style.find(_q("style", "text-properties"))
        if props is None:
            continue
        bold = props.get(_q("fo", "font-weight")) == "bold"
        italic = props.get(_q("fo", "font-style")) == "italic"
        if bold or italic:
            out[style.get(_q("style", "name"), "")] = (bold, italic)
    return out


#: Elements whose content must be phrasing content, and block elements that cannot go inside them.
_PHRASING = {"p", "h3", "h4", "h5", "h6", "span", "strong", "em", "small", "a"}
_BLOCKS = {"p", "h3", "h4", "h5", "h6", "ul", "li", "table", "tr", "td"}


class _OdtWriter:
    """Turns ODF text elements into HTML elements (lxml.html), content as text nodes only."""

    def __init__(self, styles: dict[str, tuple[bool, bool]]) -> None:
        from lxml import html

        self.E = html.Element
        self.styles = styles
        self.count = 0

    def _append_text(self, parent: Any, text: str | None) -> None:
        if not text:
            return
        if len(parent):
            last = parent[-1]
            last.tail = (last.tail or "") + text
        else:
            parent.text = (parent.text or "") + text

    def children(self, source: Any, parent: Any) -> None:
        self._append_text(parent, source.text)
        for child in source:
            self.element(child, parent)
            self._append_text(parent, child.tail)

    def element(self, source: Any, parent: Any) -> None:
        self.count += 1
        if self.count > 500_000:
            raise PreviewUnavailable("Document trop long pour un aperçu : téléchargez le fichier.")
        tag = source.tag if isinstance(source.tag, str) else ""
        if tag in _SKIP or not tag:
            return
        if tag == _q("text", "h"):
            level = int(source.get(_q("text", "outline-level"), "1") or 1)
            self.children(source, self._sub(parent, f"h{min(6, max(1, level) + 2)}"))
        elif tag == _q("text", "p"):
            self.children(source, self._sub(parent, "p"))
        elif tag == _q("text", "list"):
            self.children(source, self._sub(parent, "ul"))
        elif tag in (_q("text", "list-item"), _q("text", "list-header")):
            self.children(source, self._sub(parent, "li"))
        elif tag == _q("table", "table"):
            self.children(source, self._sub(parent, "table"))
        elif tag == _q("table", "table-row"):
            self.children(source, self._sub(parent, "tr"))
        elif tag == _q("table", "table-cell"):
            cell = self._sub(parent, "td")
            for attr, name in (("number-columns-spanned", "colspan"), ("number-rows-spanned", "rowspan")):
                value = source.get(_q("table", attr))
                if value and value.isdigit() and value != "1":
                    cell.set(name, value)
            self.children(source, cell)
        elif tag == _q("text", "a"):
            link = self._sub(parent, "a")
            link.set("href", source.get(_q("xlink", "href"), ""))
            self.children(source, link)
        elif tag == _q("text", "span"):
            bold, italic = self.styles.get(source.get(_q("text", "style-name"), ""), (False, False))
            target = parent
            if bold:
                target = self._sub(target, "strong")
            if italic:
                target = self._sub(target, "em")
            self.children(source, target)
        elif tag == _q("text", "line-break"):
            self._sub(parent, "br")
        elif tag == _q("text", "tab"):
            self._append_text(parent, "\t")
        elif tag == _q("text", "s"):
            count = source.get(_q("text", "c"), "1")
            self._append_text(parent, " " * min(int(count) if count.isdigit() else 1, 100))
        elif tag == _q("text", "note"):
            body = source.find(_q("text", "note-body"))
            if body is not None:
                note = self._sub(parent, "small")
                self._append_text(note, " [note : ")
                self.children(body, note)
                self._append_text(note, "]")
        else:
            # Sections, frames, indexes…: keep their content, drop the wrapper.
            self.children(source, parent)

    def _sub(self, parent: Any, tag: str) -> Any:
        # Block elements cannot nest inside a paragraph in HTML; flatten them into a span.
        inline = parent.tag in _PHRASING or any(a.tag in _PHRASING for a in parent.iterancestors())
        if inline and tag in _BLOCKS:
            tag = "span"
        child = self.E(tag)
        parent.append(child)
        return child


def odt_to_html(path: Path) -> str:
    """An .odt's ``content.xml`` as sanitised HTML; entities and network disabled."""
    from lxml import etree, html

    with _open_package(path) as archive:
        _guard_package(archive, ["content.xml"])
        try:
            blob = archive.read("content.xml")
        except KeyError as exc:
            raise PreviewUnavailable("Ce document OpenDocument n'a pas de contenu : téléchargez-le.") from exc
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise PreviewUnavailable("Ce fichier est endommagé : aucun aperçu possible, téléchargez-le.") from exc
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.fromstring(blob, parser)
    except etree.XMLSyntaxError as exc:
        raise PreviewUnavailable("Le contenu de ce document est illisible : téléchargez le fichier.") from exc
    body = root.find(f"{_q('office', 'body')}/{_q('office', 'text')}")
    container = html.Element("div")
    if body is not None:
        _OdtWriter(_text_styles(root)).children(body, container)
    out = escape(container.text or "") + "".join(html.tostring(child, encoding="unicode") for child in container)
    return sanitize(out[:MAX_HTML_CHARS])


# --------------------------------------------------------------------------- bounded runner


def html_of(path: Path, kind: str) -> str:
    """Sanitised HTML of a .docx or .odt, in this process (use ``render_html`` from a web worker)."""
    if kind == "docx":
        return docx_to_html(path)
    if kind == "odt":
        return odt_to_html(path)
    raise PreviewUnavailable("Pas d'aperçu HTML pour ce format : téléchargez le fichier.")


def render_html(path: Path, kind: str, *, timeout: float = DEFAULT_TIMEOUT,
                memory_mb: int = DEFAULT_MEMORY_MB) -> str:
    """Sanitised HTML of a .docx or .odt, made in a subprocess bounded in memory, CPU and time."""
    if kind not in HTML_KINDS:
        raise PreviewUnavailable("Pas d'aperçu HTML pour ce format : téléchargez le fichier.")
    command = [sys.executable, "-s", "-B", "-m", "documents.preview", kind, str(Path(path).resolve()),
               str(memory_mb), repr(float(timeout))]
    env = {key: value for key, value in os.environ.items() if key in {"PATH", "LANG", "LC_ALL", "HOME", "TMPDIR"}}
    env["PYTHONPATH"] = str(_ROOT)
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               cwd=str(_ROOT), env=env, start_new_session=True)
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise PreviewUnavailable(
            f"Aperçu interrompu après {timeout:g} s : le document est trop lourd, téléchargez-le.") from None
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    if process.returncode == 0:
        try:
            payload = json.loads(out.decode("utf-8"))
        except ValueError:
            payload = None
        if isinstance(payload, dict):
            if payload.get("error"):
                raise PreviewUnavailable(str(payload["error"]))
            # Sanitised again here: the parent never trusts what the child printed.
            return sanitize(str(payload.get("html", "")))
    log.warning("preview worker exited with %s: %s", process.returncode, err[-2000:].decode("utf-8", "replace"))
    raise PreviewUnavailable("Aperçu impossible (document trop lourd ou endommagé) : téléchargez le fichier.")


def _worker(argv: list[str]) -> int:
    import math
    import resource

    kind, path, memory_mb, timeout = argv
    answer = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # whatever a library prints must not corrupt the JSON answer
    memory = int(memory_mb) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    cpu = math.ceil(float(timeout)) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    try:
        payload = {"html": html_of(Path(path), kind)}
    except PreviewUnavailable as exc:
        payload = {"error": exc.message}
    json.dump(payload, answer, ensure_ascii=False)
    answer.flush()
    return 0


# --------------------------------------------------------------------------- differences


@dataclass(frozen=True)
class DiffLine:
    """One line of a text difference: ``kind`` is "add", "del", "ctx" or "hunk"."""

    kind: str
    text: str


@dataclass(frozen=True)
class TextDiff:
    """The difference between two texts, line by line."""

    lines: list[DiffLine]
    added: int
    removed: int
    truncated: bool

    @property
    def identical(self) -> bool:
        """True when the texts have the same lines."""
        return not self.added and not self.removed


def diff_texts(old: str, new: str, *, context: int = 3, max_lines: int = 5000) -> TextDiff:
    """Unified, line-based difference of two texts, bounded to ``max_lines`` lines of each."""
    old_lines, new_lines = old.splitlines(), new.splitlines()
    truncated = len(old_lines) > max_lines or len(new_lines) > max_lines
    lines: list[DiffLine] = []
    added = removed = 0
    for raw in difflib.unified_diff(old_lines[:max_lines], new_lines[:max_lines], n=context, lineterm=""):
        if raw.startswith(("---", "+++")):
            continue
        if raw.startswith("@@"):
            lines.append(DiffLine("hunk", raw))
        elif raw.startswith("+"):
            added += 1
            lines.append(DiffLine("add", raw[1:]))
        elif raw.startswith("-"):
            removed += 1
            lines.append(DiffLine("del", raw[1:]))
        else:
            lines.append(DiffLine("ctx", raw[1:]))
    return TextDiff(lines=lines, added=added, removed=removed, truncated=truncated)


if __name__ == "__main__":
    sys.exit(_worker(sys.argv[1:]))
