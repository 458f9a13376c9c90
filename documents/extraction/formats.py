"""Text of PDF, plain text, RTF and Word 97-2003 files, and the page count of images."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from documents.extraction.result import MIN_PAGE_CHARS, Failed


def _has_text(text: str) -> bool:
    return sum(char.isalnum() for char in text) >= MIN_PAGE_CHARS


def pdf_text(path: Path, *, max_pages: int, max_chars: int) -> tuple[str, int, str | None, int]:
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError, LimitReachedError, PdfReadError

    try:
        reader = PdfReader(path)
        if reader.is_encrypted:
            # Many PDFs are "encrypted" with an empty user password only to set permissions.
            try:
                opened = reader.decrypt("")
            except (DependencyError, NotImplementedError) as exc:
                raise Failed("PDF chiffré : texte non indexé", detail=str(exc)) from exc
            if not opened:
                raise Failed("PDF chiffré : texte non indexé")
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
    except Failed:
        raise
    except LimitReachedError as exc:
        raise Failed("PDF piégé (contenu démesuré une fois décompressé) : texte non indexé", detail=str(exc)) from exc
    except FileNotDecryptedError as exc:
        raise Failed("PDF chiffré : texte non indexé", detail=str(exc)) from exc
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError, AssertionError) as exc:
        raise Failed("PDF endommagé ou illisible : texte non indexé", detail=repr(exc)) from exc
    # Pages never read (page cap, text cap) are counted as carrying text: OCR would not read them either.
    return "\n".join(texts), count, note, with_text + (count - len(texts))


def image_pages(path: Path) -> int:
    from PIL import Image

    with Image.open(path) as image:
        return int(getattr(image, "n_frames", 1) or 1)


# ------------------------------------------------------------------ txt, rtf, doc


def _read_capped(path: Path, max_chars: int) -> tuple[bytes, bool]:
    limit = max_chars * 4 + 4
    with path.open("rb") as handle:
        data = handle.read(limit + 1)
    return data[:limit], len(data) > limit


def txt_text(path: Path, *, max_chars: int) -> str:
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


def rtf_text(path: Path, *, max_chars: int) -> str:
    data, _cut = _read_capped(path, max_chars * 2)
    return rtf_to_text(data.decode("latin-1"))


def doc_text(path: Path, *, timeout: float) -> str:
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
            raise Failed(f"Extraction interrompue après {timeout:g} s : texte non indexé") from exc
        if done.returncode == 0:
            return done.stdout.decode("utf-8", "replace")
    if tried:
        raise Failed(
            f"Format Word 97-2003 (.doc) illisible par {' et '.join(tried)} : texte non indexé. "
            "Enregistrez le document en .docx pour qu'il soit indexé."
        )
    raise Failed(
        "Format Word 97-2003 (.doc) : aucun outil d'extraction (antiword ou catdoc) n'est installé, "
        "texte non indexé. Enregistrez le document en .docx pour qu'il soit indexé."
    )

