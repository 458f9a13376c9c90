"""Bounded text extraction: the "parse" stage of the pipeline, run in a throw-away subprocess.

``extract_text`` starts ``python -m documents.extraction`` with a memory cap, a CPU cap and a
wall-clock timeout, so a hostile file (PDF bomb, endless PDF, XML entity tricks) can at
worst fail its own extraction; it can never exhaust or stall the web worker. Failures are
results, not exceptions: the document is kept and marked "texte non indexé" with a reason.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import zipfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # lxml is imported lazily: a PDF worker has no use for it
    from lxml.etree import XMLParser, _Element

log = logging.getLogger(__name__)

#: A PDF longer than this is indexed on its first pages only.
MAX_PDF_PAGES = 2000
DEFAULT_TIMEOUT = 30.0
DEFAULT_MEMORY_MB = 512
DEFAULT_MAX_CHARS = 5_000_000
#: Largest single XML part parsed in a .docx/.odt (the upload check already caps the whole archive).
MAX_XML_PART_BYTES = 64 * 1024 * 1024

IMAGE_KINDS = frozenset({"jpeg", "png", "tiff"})
KINDS = frozenset({"docx", "odt", "pdf", "doc", "rtf", "txt"}) | IMAGE_KINDS
#: A page with fewer letters or digits than this carries no real text (a scan, a stray mark).
MIN_PAGE_CHARS = 3
_PACKAGE_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Extraction:
    """Outcome of an extraction; ``reason`` (French) says why text is missing or partial."""

    text: str | None
    status: Literal["ok", "failed"]
    reason: str | None
    pages: int | None = None
    #: Pages (of ``pages``) that carry real text; fewer than ``pages`` means a scan needs OCR.
    text_pages: int | None = None


class _Failed(Exception):
    """A known failure with a reason fit for the user."""

    def __init__(self, reason: str, *, detail: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


def _failed(reason: str, *, pages: int | None = None) -> Extraction:
    return Extraction(text=None, status="failed", reason=reason, pages=pages)


# ----------------------------------------------------------------- XML helpers


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
            raise _Failed("Document piégé (entités XML en cascade) : texte non indexé", detail=str(exc)) from exc
        raise _Failed("Document endommagé (XML illisible) : texte non indexé", detail=str(exc)) from exc


def _read_part(archive: zipfile.ZipFile, name: str) -> bytes | None:
    try:
        info = archive.getinfo(name)
    except KeyError:
        return None
    if info.file_size > MAX_XML_PART_BYTES:
        raise _Failed("Document trop volumineux pour être indexé : texte non indexé")
    # zipfile stops at the size declared in the central directory, so a lying entry cannot inflate further.
    return archive.read(info)


def _own_text(element: _Element) -> str:
    """Text directly inside an element, skipping entity references left unexpanded."""
    parts = [element.text or ""]
    parts.extend(child.tail or "" for child in element)
    return "".join(parts)


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


def _docx_text(path: Path) -> str:
    from documents.filetypes import check_zip_archive

    with zipfile.ZipFile(path) as archive:
        check_zip_archive(archive, path.stat().st_size)
        types_blob = _read_part(archive, "[Content_Types].xml")
        if types_blob is None:
            raise _Failed("Document Word endommagé (description interne absente) : texte non indexé")
        by_type: dict[str, list[str]] = {}
        for override in _parse_xml(types_blob):
            if isinstance(override.tag, str) and override.get("PartName"):
                content_type = override.get("ContentType", "")
                if content_type.startswith(_CT_PREFIX):
                    suffix = content_type[len(_CT_PREFIX) :]
                    by_type.setdefault(suffix, []).append(override.get("PartName").lstrip("/"))
        if not any(by_type.get(kind) for kind in _DOCX_PART_ORDER[1]):
            raise _Failed("Document Word endommagé (corps du texte absent) : texte non indexé")
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


def _odt_text(path: Path) -> str:
    from documents.filetypes import check_zip_archive

    with zipfile.ZipFile(path) as archive:
        check_zip_archive(archive, path.stat().st_size)
        content = _read_part(archive, "content.xml")
        if content is None:
            raise _Failed("Document OpenDocument endommagé (content.xml absent) : texte non indexé")
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


# ------------------------------------------------------------------------- pdf


def _has_text(text: str) -> bool:
    return sum(char.isalnum() for char in text) >= MIN_PAGE_CHARS


def _pdf_text(path: Path, *, max_pages: int, max_chars: int) -> tuple[str, int, str | None, int]:
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError, LimitReachedError, PdfReadError

    try:
        reader = PdfReader(path)
        if reader.is_encrypted:
            # Many PDFs are "encrypted" with an empty user password only to set permissions.
            try:
                opened = reader.decrypt("")
            except (DependencyError, NotImplementedError) as exc:
                raise _Failed("PDF chiffré : texte non indexé", detail=str(exc)) from exc
            if not opened:
                raise _Failed("PDF chiffré : texte non indexé")
        count = len(reader.pages)
        texts: list[str] = []
        total = 0
        note = None
        with_text = 0
        for number in range(count):
            if number >= max_pages:
                note = f"Texte partiel : seules les {max_pages} premières pages sur {count} ont été indexées"
                break
            text = reader.pages[number].extract_text() or ""
            texts.append(text)
            with_text += _has_text(text)
            total += len(text) + 1
            if total > max_chars:
                break
    except _Failed:
        raise
    except LimitReachedError as exc:
        raise _Failed("PDF piégé (contenu démesuré une fois décompressé) : texte non indexé", detail=str(exc)) from exc
    except FileNotDecryptedError as exc:
        raise _Failed("PDF chiffré : texte non indexé", detail=str(exc)) from exc
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError, AssertionError) as exc:
        raise _Failed("PDF endommagé ou illisible : texte non indexé", detail=repr(exc)) from exc
    # Pages never read (page cap, text cap) are counted as carrying text: OCR would not read them either.
    return "\n".join(texts), count, note, with_text + (count - len(texts))


def _image_pages(path: Path) -> int:
    from PIL import Image

    with Image.open(path) as image:
        return int(getattr(image, "n_frames", 1) or 1)


# ------------------------------------------------------------------ txt, rtf, doc


def _read_capped(path: Path, max_chars: int) -> tuple[bytes, bool]:
    limit = max_chars * 4 + 4
    with path.open("rb") as handle:
        data = handle.read(limit + 1)
    return data[:limit], len(data) > limit


def _txt_text(path: Path, *, max_chars: int) -> str:
    data, cut = _read_capped(path, max_chars)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", "replace")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if cut and exc.start >= len(data) - 3:
            return data[: exc.start].decode("utf-8")  # the cap fell inside a character
    # Not UTF-8: Windows' Western code page is what French files written on Windows use.
    return data.decode("cp1252", "replace")


_RTF_TOKEN = re.compile(
    r"\\([a-zA-Z]{1,32})(-?\d{1,10})? ?|\\'([0-9a-fA-F]{2})|\\([^a-zA-Z])|([{}])|[\r\n]+|([^\\{}\r\n]+)"
)
#: Groups that hold tables, metadata or pictures, never body text.
_RTF_DESTINATIONS = frozenset(
    "fonttbl colortbl stylesheet info pict object themedata colorschememapping datastore latentstyles "
    "listtable listoverridetable rsidtbl generator xmlnstbl mmathPr filetbl revtbl pgdsctbl "
    "fldinst objdata bkmkstart bkmkend".split()
)
_RTF_SYMBOLS = {
    "par": "\n", "line": "\n", "sect": "\n", "page": "\n", "row": "\n", "cell": "\t", "tab": "\t",
    "emdash": "\u2014", "endash": "\u2013", "lquote": "\u2018", "rquote": "\u2019",
    "ldblquote": "\u201c", "rdblquote": "\u201d", "bullet": "\u2022", "emspace": " ", "enspace": " ",
}  # fmt: skip
_RTF_ESCAPES = {"~": "\u00a0", "_": "\u2011", "-": "", "\\": "\\", "{": "{", "}": "}"}


def rtf_to_text(source: str) -> str:
    """Plain text of an RTF document (body, headers, footers), dropping control words and tables of styles."""
    out: list[str] = []
    stack: list[tuple[bool, int]] = []
    skipping, unicode_skip, pending_skip = False, 1, 0
    codepage = "cp1252"
    pos = 0
    while pos < len(source):
        match = _RTF_TOKEN.match(source, pos)
        if match is None:
            pos += 1
            continue
        pos = match.end()
        word, arg, hexcode, symbol, brace, text = match.groups()
        if brace == "{":
            stack.append((skipping, unicode_skip))
            continue
        if brace == "}":
            skipping, unicode_skip = stack.pop() if stack else (False, 1)
            continue
        if word is not None:
            if word == "bin" and arg:
                pos += max(0, int(arg))  # raw binary data follows: jump over it
                continue
            if word in _RTF_DESTINATIONS:
                skipping = True
            if skipping:
                continue
            if word == "ansicpg" and arg:
                codepage = f"cp{arg}"
            elif word == "uc" and arg:
                unicode_skip = max(0, int(arg))
            elif word == "u" and arg:
                code = int(arg)
                out.append(chr(code + 65536 if code < 0 else code) if -32768 <= code < 65536 else "")
                pending_skip = unicode_skip
            elif word in _RTF_SYMBOLS:
                out.append(_RTF_SYMBOLS[word])
            continue
        if symbol is not None:
            if symbol == "*":
                skipping = True  # "{\\*\\dest …}": a destination readers may ignore
            elif not skipping and symbol in _RTF_ESCAPES:
                out.append(_RTF_ESCAPES[symbol])
            continue
        if skipping:
            continue
        if hexcode is not None:
            if pending_skip:
                pending_skip -= 1
                continue
            try:
                out.append(bytes([int(hexcode, 16)]).decode(codepage))
            except (LookupError, UnicodeDecodeError):
                out.append(bytes([int(hexcode, 16)]).decode("cp1252", "replace"))
            continue
        if text is not None:
            if pending_skip:
                skipped = min(pending_skip, len(text))
                pending_skip -= skipped
                text = text[skipped:]
            out.append(text)
    lines = (line.strip() for line in "".join(out).split("\n"))
    return "\n".join(line for line in lines if line)


def _rtf_text(path: Path, *, max_chars: int) -> str:
    data, _cut = _read_capped(path, max_chars * 2)
    return rtf_to_text(data.decode("latin-1"))


def _doc_text(path: Path, *, timeout: float) -> str:
    # catdoc first: antiword refuses short documents ("text stream too small").
    tried = []
    for tool, arguments in (("catdoc", ["-d", "utf-8", "-w"]), ("antiword", ["-m", "UTF-8.txt", "-w", "0"])):
        executable = shutil.which(tool)
        if executable is None:
            continue
        tried.append(tool)
        try:
            done = subprocess.run(
                [executable, *arguments, str(path)],
                capture_output=True,
                timeout=timeout,
                check=False,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired as exc:
            raise _Failed(f"Extraction interrompue après {timeout:g} s : texte non indexé") from exc
        if done.returncode == 0:
            return done.stdout.decode("utf-8", "replace")
    if tried:
        raise _Failed(
            f"Format Word 97-2003 (.doc) illisible par {' et '.join(tried)} : texte non indexé. "
            "Enregistrez le document en .docx pour qu'il soit indexé."
        )
    raise _Failed(
        "Format Word 97-2003 (.doc) : aucun outil d'extraction (antiword ou catdoc) n'est installé, "
        "texte non indexé. Enregistrez le document en .docx pour qu'il soit indexé."
    )


# ---------------------------------------------------------------------- in process


def _clean(text: str) -> str:
    # NUL cannot be stored in PostgreSQL text; lone surrogates cannot be encoded at all.
    return text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def extract_text_inline(
    path: Path,
    kind: str,
    *,
    max_chars: int = DEFAULT_MAX_CHARS,
    max_pages: int = MAX_PDF_PAGES,
    timeout: float = DEFAULT_TIMEOUT,
) -> Extraction:
    """Extract in this process, without bounds: for the worker itself and for trusted files only."""
    path = Path(path)
    pages: int | None = None
    text_pages: int | None = None
    note: str | None = None
    try:
        if kind == "docx":
            text = _docx_text(path)
        elif kind == "odt":
            text = _odt_text(path)
        elif kind == "pdf":
            text, pages, note, text_pages = _pdf_text(path, max_pages=max_pages, max_chars=max_chars)
        elif kind in IMAGE_KINDS:
            text, pages, text_pages = "", _image_pages(path), 0
            note = "Image : texte à reconnaître (OCR)"
        elif kind == "txt":
            text = _txt_text(path, max_chars=max_chars)
        elif kind == "rtf":
            text = _rtf_text(path, max_chars=max_chars)
        elif kind == "doc":
            text = _doc_text(path, timeout=timeout)
        else:
            return _failed(f"Format « {kind} » inconnu : texte non indexé")
    except _Failed as failure:
        if failure.detail:
            log.info("extraction of %s failed: %s", path.name, failure.detail)
        return _failed(failure.reason, pages=pages)
    except MemoryError:
        return _failed("Extraction abandonnée : le document demande trop de mémoire, texte non indexé")
    except RecursionError:
        return _failed("Document trop profondément imbriqué : texte non indexé")
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError, NotImplementedError) as exc:
        log.info("extraction of %s failed: %r", path.name, exc)
        return _failed("Document endommagé ou illisible : texte non indexé")
    except Exception as exc:  # noqa: BLE001 - hostile input may break a parser in any way; never raise
        log.warning("unexpected extraction error on %s: %r", path.name, exc)
        return _failed("Document illisible (erreur inattendue) : texte non indexé")
    text = _clean(text)
    if len(text) > max_chars:
        text = text[:max_chars]
        note = note or f"Texte tronqué aux {max_chars} premiers caractères"
    if not text.strip() and note is None:
        note = "Aucun texte trouvé (document scanné ou vide ?)"
    return Extraction(text=text, status="ok", reason=note, pages=pages, text_pages=text_pages)


# ---------------------------------------------------------------------- bounded


def _subprocess_env() -> dict[str, str]:
    # A minimal environment: the worker parses hostile files and has no use for our secrets.
    return {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(_PACKAGE_ROOT),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONIOENCODING": "utf-8",
    }


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def extract_text(
    path: Path,
    kind: str,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    memory_mb: int = DEFAULT_MEMORY_MB,
    max_chars: int = DEFAULT_MAX_CHARS,
    max_pages: int = MAX_PDF_PAGES,
) -> Extraction:
    """Extract text in a subprocess bounded in memory, CPU and wall-clock time; never raises for bad content."""
    if kind not in KINDS:
        return _failed(f"Format « {kind} » inconnu : texte non indexé")
    path = Path(path).resolve()
    if not path.is_file():
        return _failed("Fichier introuvable : texte non indexé")
    command = [
        sys.executable, "-s", "-B", "-m", "documents.extraction",
        kind, str(path), str(max_chars), str(max_pages), str(memory_mb), repr(float(timeout)),
    ]  # fmt: skip
    try:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=str(_PACKAGE_ROOT),
            env=_subprocess_env(),
            start_new_session=True,  # its own process group, so a timeout kills antiword too
        )
    except OSError as exc:
        # Out of processes or file descriptors: the document is still kept, to be reindexed later.
        log.error("cannot start the extraction worker: %r", exc)
        return _failed("Extraction impossible pour le moment (serveur surchargé) : texte non indexé")
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(process)
        process.communicate()
        log.info("extraction of %s stopped after %s s", path.name, timeout)
        return _failed(f"Extraction interrompue après {timeout:g} s : texte non indexé")
    finally:
        if process.poll() is None:  # an exception of ours (KeyboardInterrupt…): never leave a worker behind
            _kill_group(process)
            process.wait()
    if process.returncode == 0:
        try:
            payload = json.loads(out.decode("utf-8"))
            if payload["status"] not in {"ok", "failed"}:
                raise ValueError(payload["status"])
            return Extraction(
                text=payload["text"], status=payload["status"], reason=payload["reason"], pages=payload["pages"],
                text_pages=payload.get("text_pages"),
            )
        except (ValueError, KeyError, TypeError):
            pass
    log.warning(
        "extraction worker for %s exited with %s: %s", path.name, process.returncode, err[-2000:].decode("utf-8", "replace")
    )
    if process.returncode == -signal.SIGXCPU:
        return _failed(f"Extraction interrompue (temps de calcul dépassé, {timeout:g} s) : texte non indexé")
    return _failed("Extraction abandonnée (mémoire insuffisante ou fichier corrompu) : texte non indexé")


# ---------------------------------------------------------------------- worker


def _limit_resources(memory_mb: int, timeout: float) -> None:
    import resource

    memory = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    cpu = math.ceil(timeout) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # The worker writes no file; a parser trying to would be killed.
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))


def _worker(argv: Sequence[str]) -> int:
    kind, path, max_chars, max_pages, memory_mb, timeout = argv
    # Keep fd 1 for the JSON answer; anything a library prints goes to stderr instead.
    answer = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    _limit_resources(int(memory_mb), float(timeout))
    result = extract_text_inline(
        Path(path), kind, max_chars=int(max_chars), max_pages=int(max_pages), timeout=float(timeout)
    )
    json.dump(asdict(result), answer, ensure_ascii=False)
    answer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(_worker(sys.argv[1:]))
