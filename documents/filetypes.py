"""Upload checks: what a file really is, whether we accept it, and a safe version of its name.

First stage of the document pipeline (checks → parse → store → index). It trusts neither
the extension nor the browser's MIME type: it sniffs the bytes, and for zip-based formats
it reads only the central directory, so a zip bomb is refused before anything inflates.
No parsing of document content happens here; that runs in a bounded subprocess
(``documents.extraction``).
"""

from __future__ import annotations

import io
import os
import re
import struct
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from lxml import etree

from documents.errors import DomainError
from documents.imagecheck import IMAGE_KINDS, check_image, image_kind
from documents.ziplimits import zip_bomb_message

#: Largest file accepted outside the web layer too (the web layer also sets MAX_CONTENT_LENGTH).
MAX_UPLOAD_BYTES = 100 * 1024 * 1024
#: Small XML parts read during the check ([Content_Types].xml, mimetype, manifest).
MAX_SNIFFED_PART_BYTES = 1024 * 1024
#: Cap for names kept as metadata and sent in Content-Disposition.
MAX_FILENAME_CHARS = 200

DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ODT_MIME = "application/vnd.oasis.opendocument.text"

#: Accepted extension -> (kind, MIME type sent back on download).
ACCEPTED: dict[str, tuple[str, str]] = {
    ".docx": ("docx", DOCX_MIME),
    ".odt": ("odt", ODT_MIME),
    ".pdf": ("pdf", "application/pdf"),
    ".doc": ("doc", "application/msword"),
    ".rtf": ("rtf", "application/rtf"),
    ".txt": ("txt", "text/plain"),
    ".jpg": ("jpeg", "image/jpeg"),
    ".jpeg": ("jpeg", "image/jpeg"),
    ".png": ("png", "image/png"),
    ".tif": ("tiff", "image/tiff"),
    ".tiff": ("tiff", "image/tiff"),
}

#: How each sniffed content is named to the user ("ce fichier est en réalité …").
_CONTENT_NAMES: dict[str, str] = {
    "docx": "un document Word (.docx)",
    "docm": "un document Word avec macros (.docm)",
    "dotx": "un modèle Word (.dotx)",
    "xlsx": "un classeur Excel",
    "pptx": "une présentation PowerPoint",
    "ooxml": "un document Office inconnu",
    "odt": "un document OpenDocument texte (.odt)",
    "ott": "un modèle OpenDocument (.ott)",
    "ods": "un classeur OpenDocument (.ods)",
    "odp": "une présentation OpenDocument (.odp)",
    "odf": "un document OpenDocument qui n'est pas un texte",
    "zip": "une archive ZIP",
    "pdf": "un PDF",
    "doc": "un document Word 97-2003 (.doc)",
    "ole": "un fichier Office 97-2003 qui n'est pas un document Word (Excel, PowerPoint…)",
    "rtf": "un document RTF (.rtf)",
    "html": "une page HTML",
    "svg": "une image SVG",
    "txt": "un fichier texte (.txt)",
    "jpeg": "une image JPEG",
    "png": "une image PNG",
    "tiff": "une image TIFF",
    "gif": "une image GIF",
    "binary": "un fichier binaire d'un type non pris en charge",
}

_OOXML_MAIN_TYPES = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": "docx",
    "application/vnd.ms-word.document.macroEnabled.main+xml": "docm",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml": "dotx",
    "application/vnd.ms-word.template.macroEnabledTemplate.main+xml": "docm",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": "xlsx",
    "application/vnd.ms-excel.sheet.macroEnabled.main+xml": "xlsx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml": "pptx",
    "application/vnd.ms-powerpoint.presentation.macroEnabled.main+xml": "pptx",
}
_VBA_CONTENT_TYPE = "application/vnd.ms-office.vbaProject"
_ODF_KINDS = {
    ODT_MIME: "odt",
    "application/vnd.oasis.opendocument.text-template": "ott",
    "application/vnd.oasis.opendocument.spreadsheet": "ods",
    "application/vnd.oasis.opendocument.presentation": "odp",
}

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ACCEPTED_LIST = ", ".join(sorted(ACCEPTED))


class UploadRejected(DomainError):
    """A file refused at upload; ``code`` names the reason for logs and tests."""

    def __init__(self, message: str, *, code: str, status: int = 400) -> None:
        super().__init__(message, status=status)
        self.code = code


@dataclass(frozen=True)
class FileCheck:
    """What an accepted upload really is."""

    kind: str
    mime: str
    extension: str
    size: int

    @property
    def mime_type(self) -> str:
        """Same as ``mime`` (the name documents.archive reads)."""
        return self.mime


# ------------------------------------------------------------------ reading


class _Source:
    """The upload as bytes or as a file on disk, read only as far as each check needs."""

    HEAD = 64 * 1024
    TAIL = 4 * 1024

    def __init__(self, data_or_path: bytes | bytearray | memoryview | str | os.PathLike[str]) -> None:
        if isinstance(data_or_path, (bytes, bytearray, memoryview)):
            self._data: bytes | None = bytes(data_or_path)
            self._path: Path | None = None
            self.size = len(self._data)
        else:
            self._data = None
            self._path = Path(data_or_path)
            self.size = self._path.stat().st_size

    def open(self) -> BinaryIO:
        if self._data is not None:
            return io.BytesIO(self._data)
        assert self._path is not None
        return self._path.open("rb")

    def head(self) -> bytes:
        with self.open() as handle:
            return handle.read(self.HEAD)

    def tail(self) -> bytes:
        with self.open() as handle:
            handle.seek(max(0, self.size - self.TAIL))
            return handle.read()

    def read_at(self, offset: int, length: int) -> bytes:
        with self.open() as handle:
            handle.seek(offset)
            return handle.read(length)


def _reject(message: str, code: str, *, status: int = 400) -> UploadRejected:
    return UploadRejected(message, code=code, status=status)


# ---------------------------------------------------------------- zip family


def check_zip_archive(archive: zipfile.ZipFile, size: int) -> None:
    """Refuse a zip (bomb, truncated, encrypted) from its central directory alone, before inflating anything."""
    infos = archive.infolist()
    bomb = zip_bomb_message(infos)
    if bomb is not None:
        raise _reject(bomb, "zip_bomb")
    for info in infos:
        # An entry whose data would lie past the end of the file means the file was cut.
        if info.header_offset + info.compress_size > size:
            raise _truncated()
        if info.flag_bits & 0x1:
            raise _reject(
                "Ce fichier est protégé par un mot de passe : enregistrez-le sans mot de passe puis renvoyez-le.",
                "encrypted",
            )


def _truncated() -> UploadRejected:
    return _reject(
        "Le fichier est tronqué ou endommagé (envoi interrompu ?) : renvoyez-le depuis l'original.",
        "truncated",
    )


def _read_small(archive: zipfile.ZipFile, name: str) -> bytes | None:
    try:
        info = archive.getinfo(name)
    except KeyError:
        return None
    if info.file_size > MAX_SNIFFED_PART_BYTES:
        raise _reject("Archive refusée : sa description interne est anormalement grande.", "zip_bomb")
    try:
        return archive.read(info)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError) as exc:
        raise _truncated() from exc


def _safe_xml(blob: bytes) -> etree._Element:
    # OPC forbids DTDs in package parts: one here can only be an attack, so refuse it outright.
    if b"<!DOCTYPE" in blob.upper():
        raise _reject("Document refusé : il contient une déclaration XML interdite (DTD).", "xml_dtd")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False)
    try:
        return etree.fromstring(blob, parser)
    except etree.XMLSyntaxError as exc:
        raise _truncated() from exc


def _sniff_zip(source: _Source) -> str:
    """Kind of a zip-based file; refuses bombs, truncation, encryption and macros on the way."""
    with source.open() as handle:
        try:
            archive = zipfile.ZipFile(handle)
        except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
            # No readable central directory: typically an upload cut short.
            raise _truncated() from exc
        with archive:
            check_zip_archive(archive, source.size)
            names = archive.namelist()
            lowered = [name.lower() for name in names]
            content_types = _read_small(archive, "[Content_Types].xml")
            if content_types is not None:
                return _sniff_ooxml(_safe_xml(content_types), lowered)
            mimetype = _read_small(archive, "mimetype")
            if mimetype is not None:
                return _sniff_odf(archive, mimetype.decode("ascii", "replace").strip(), lowered)
            if any(name == "encryptedpackage" for name in lowered):
                return "ooxml"
            return "zip"


def _sniff_ooxml(types: etree._Element, lowered_names: list[str]) -> str:
    kind = "ooxml"
    has_vba = any(name.endswith(("vbaproject.bin", "vbadata.xml")) for name in lowered_names)
    for element in types:
        if not isinstance(element.tag, str):
            continue
        content_type = element.get("ContentType", "")
        if content_type in _OOXML_MAIN_TYPES:
            kind = _OOXML_MAIN_TYPES[content_type]
        if content_type == _VBA_CONTENT_TYPE:
            has_vba = True
    # A VBA project inside a file that calls itself .docx is still a macro document.
    if has_vba and kind in {"docx", "dotx", "docm"}:
        return "docm"
    return kind


def _sniff_odf(archive: zipfile.ZipFile, mimetype: str, lowered_names: list[str]) -> str:
    kind = _ODF_KINDS.get(mimetype, "odf" if mimetype.startswith("application/vnd.oasis.opendocument") else "zip")
    if kind == "zip":
        return kind
    manifest = _read_small(archive, "META-INF/manifest.xml") or b""
    if b"encryption-data" in manifest:
        raise _reject(
            "Ce document est protégé par un mot de passe : enregistrez-le sans mot de passe puis renvoyez-le.",
            "encrypted",
        )
    # Basic/script-lc.xml and the library index exist in some macro-free files; modules do not.
    macro = any(
        name.startswith("scripts/")
        or (name.startswith("basic/") and not name.endswith(("script-lc.xml", "script-lb.xml", "/")))
        for name in lowered_names
    )
    if macro and kind == "odt":
        return "odt-macro"
    return kind


# ---------------------------------------------------------------- OLE (.doc)


def _ole_stream_names(source: _Source) -> set[str]:
    """Names in an OLE2 compound file's directory (enough to tell .doc from .xls or an encrypted .docx)."""
    header = source.read_at(0, 512)
    if len(header) < 512:
        raise _truncated()
    sector_shift = struct.unpack_from("<H", header, 0x1E)[0]
    if sector_shift not in (9, 12):
        raise _truncated()
    sector_size = 1 << sector_shift
    num_fat = struct.unpack_from("<I", header, 0x2C)[0]
    first_dir = struct.unpack_from("<I", header, 0x30)[0]
    difat = list(struct.unpack_from("<109I", header, 0x4C))
    max_sector = (source.size - 512) // sector_size  # sectors that really exist in the file
    if num_fat > 109 or num_fat > max_sector:
        # Documents needing extra DIFAT sectors weigh over 6 MB of FAT alone; not worth a full reader.
        raise _reject("Ce document Word 97-2003 est trop volumineux ou endommagé.", "truncated")

    def sector(number: int) -> bytes:
        if number >= max_sector:
            raise _truncated()
        return source.read_at(512 + number * sector_size, sector_size)

    fat: list[int] = []
    for number in difat[:num_fat]:
        fat.extend(struct.unpack(f"<{sector_size // 4}I", sector(number)))
    names: set[str] = set()
    current, seen = first_dir, 0
    while current < 0xFFFFFFFA:
        seen += 1
        if seen > 10_000 or current >= len(fat):
            raise _truncated()
        block = sector(current)
        for offset in range(0, sector_size, 128):
            length = struct.unpack_from("<H", block, offset + 64)[0]
            if 2 <= length <= 64:
                names.add(block[offset : offset + length - 2].decode("utf-16-le", "replace"))
        current = fat[current]
    return names


def _sniff_ole(source: _Source) -> str:
    names = _ole_stream_names(source)
    if "EncryptedPackage" in names:
        raise _reject(
            "Ce document est protégé par un mot de passe : enregistrez-le sans mot de passe puis renvoyez-le.",
            "encrypted",
        )
    if "WordDocument" not in names:
        return "ole"
    if "Macros" in names or "_VBA_PROJECT" in names:
        return "doc-macro"
    return "doc"


# ---------------------------------------------------------------- text-ish


_HTML_STARTS = (b"<!doctype html", b"<html", b"<head", b"<body", b"<script", b"<meta", b"<iframe")
_CP1252_UNDEFINED = frozenset(b"\x81\x8d\x8f\x90\x9d")
_ALLOWED_CONTROLS = frozenset(b"\t\n\r\f\x1a")
# As byte strings for ``bytes.translate``, which scans in C: a per-byte Python loop took ~7 ms per text file.
_FORBIDDEN_CONTROL_BYTES = bytes(byte for byte in range(0x20) if byte not in _ALLOWED_CONTROLS)
_CP1252_UNDEFINED_BYTES = bytes(sorted(_CP1252_UNDEFINED))


def _contains_any(data: bytes, forbidden: bytes) -> bool:
    return len(data.translate(None, forbidden)) != len(data)


def _looks_like_markup(head: bytes) -> str | None:
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if start.startswith(_HTML_STARTS):
        return "html"
    if start.startswith(b"<svg") or (start.startswith(b"<?xml") and b"<svg" in start[:2048]):
        return "svg"
    if start.startswith(b"<?xml") and b"<html" in start[:2048]:
        return "html"
    return None


def _is_text(head: bytes) -> bool:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True  # UTF-16 with BOM
    if _contains_any(head, _FORBIDDEN_CONTROL_BYTES):
        return False
    try:
        head.decode("utf-8")
        return True
    except UnicodeDecodeError as exc:
        # The head may stop in the middle of a multi-byte character.
        if exc.start >= len(head) - 3 and exc.reason == "unexpected end of data":
            return True
    return not _contains_any(head, _CP1252_UNDEFINED_BYTES)


# ---------------------------------------------------------------- PDF


_STARTXREF = re.compile(rb"startxref\s+(\d+)")


def _check_pdf(source: _Source) -> None:
    tail = source.tail()
    if b"%%EOF" not in tail[-2048:]:
        raise _truncated()
    matches = _STARTXREF.findall(tail)
    if not matches or int(matches[-1]) >= source.size:
        raise _reject(
            "Ce PDF est endommagé (table des références illisible) : ré-exportez-le en PDF puis renvoyez-le.",
            "truncated",
        )


# ---------------------------------------------------------------- public


def sniff(data_or_path: bytes | str | os.PathLike[str]) -> str:
    """What the content really is ("docx", "pdf", "html", "docm", "zip"…), whatever its name says."""
    return _sniff(_Source(data_or_path))


def _sniff(source: _Source) -> str:
    head = source.head()
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _sniff_zip(source)
    if head.startswith(_OLE_MAGIC):
        return _sniff_ole(source)
    if head.startswith(b"{\\rtf"):
        return "rtf"
    image = image_kind(head)
    if image is not None:
        return image
    # Markup first: a page that starts as HTML is HTML to a browser, whatever follows.
    markup = _looks_like_markup(head)
    if markup is not None:
        return markup
    # The PDF header may follow a little junk (the spec tolerates 1024 bytes of it).
    if b"%PDF-" in head[:1024]:
        return "pdf"
    return "txt" if _is_text(head) else "binary"


def check_upload(data_or_path: bytes | str | os.PathLike[str], filename: str) -> FileCheck:
    """Check an upload (bytes or a path) against its name; raise UploadRejected with a French message."""
    extension = os.path.splitext(safe_filename(filename))[1].lower()
    if extension not in ACCEPTED:
        shown = f"« {extension} »" if extension else "sans extension"
        raise _reject(
            f"Format non accepté ({shown}). Formats acceptés : {_ACCEPTED_LIST}.",
            "extension",
            status=415,
        )
    expected, mime = ACCEPTED[extension]
    source = _Source(data_or_path)
    if source.size == 0:
        raise _reject("Le fichier est vide : vérifiez que vous avez choisi le bon fichier.", "empty")
    if source.size > MAX_UPLOAD_BYTES:
        raise _reject(
            f"Le fichier dépasse la taille maximale de {MAX_UPLOAD_BYTES // (1024 * 1024)} Mo.",
            "too_large",
            status=413,
        )
    actual = _sniff(source)
    if actual in {"docm", "odt-macro", "doc-macro"}:
        raise _reject(
            "Ce document contient des macros, refusées pour des raisons de sécurité. "
            "Enregistrez-le sans macros (format .docx ou .odt) puis renvoyez-le.",
            "macro",
        )
    if actual != expected:
        raise _reject(
            f"Le fichier « {safe_filename(filename)} » porte l'extension {extension} mais c'est en réalité "
            f"{_CONTENT_NAMES.get(actual, _CONTENT_NAMES['binary'])}. "
            "Envoyez le bon fichier ou enregistrez-le au bon format.",
            "mismatch",
            status=415,
        )
    if actual == "pdf":
        _check_pdf(source)
    elif actual in IMAGE_KINDS:
        check_image(source.open, source.size)
    elif actual == "rtf" and not source.tail().rstrip(b"\x00 \t\r\n").endswith(b"}"):
        raise _truncated()
    return FileCheck(kind=expected, mime=mime, extension=extension, size=source.size)


_WINDOWS_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"}
    | {f"COM{n}" for n in "123456789¹²³"}
    | {f"LPT{n}" for n in "123456789¹²³"}
)
_FORBIDDEN_CHARS = re.compile(r'[<>:"|?*\\/]')
_SPACES = re.compile(r"\s+")


def safe_filename(name: str) -> str:
    """A user-given file name made safe to keep as metadata and to send in Content-Disposition."""
    name = unicodedata.normalize("NFC", str(name))
    # Path parts never belong to the name: keep what follows the last separator of any OS.
    name = re.split(r"[\\/]", name)[-1]
    # Control and format characters (NUL, CR/LF, bidi overrides that disguise ".exe") go.
    name = "".join(
        " " if char in "\t\r\n" else char
        for char in name
        if char in "\t\r\n" or unicodedata.category(char) not in {"Cc", "Cf", "Cs", "Co", "Cn"}
    )
    name = _FORBIDDEN_CHARS.sub("_", name)
    name = _SPACES.sub(" ", name).strip(" .")
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    stem = stem.strip(" .")
    if len(ext) > 16 or " " in ext:
        stem, ext = name, ""
    if stem.split(".")[0].upper() in _WINDOWS_RESERVED:
        stem = "_" + stem
    if not stem:
        stem = "document"
    suffix = f".{ext}" if ext else ""
    stem = stem[: MAX_FILENAME_CHARS - len(suffix)].rstrip(" .") or "document"
    return stem + suffix
