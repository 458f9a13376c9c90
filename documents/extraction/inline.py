"""Extraction in the calling process (the pool's child runs this), and the cleanup of its text."""

from __future__ import annotations

import logging
import zipfile
from pathlib import Path

from documents.extraction.formats import doc_text, image_pages, pdf_text, rtf_text, txt_text
from documents.extraction.office import docx_text, odt_text
from documents.extraction.result import (
    DEFAULT_MAX_CHARS,
    DEFAULT_TIMEOUT,
    IMAGE_KINDS,
    MAX_PDF_PAGES,
    MEMORY_REASON,
    RECURSION_REASON,
    Extraction,
    Failed,
    failed,
)

log = logging.getLogger(__name__)


def clean_text(text: str) -> str:
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
            text = docx_text(path)
        elif kind == "odt":
            text = odt_text(path)
        elif kind == "pdf":
            text, pages, note, text_pages = pdf_text(path, max_pages=max_pages, max_chars=max_chars)
        elif kind in IMAGE_KINDS:
            text, pages, text_pages = "", image_pages(path), 0
            note = "Image : texte à reconnaître (OCR)"
        elif kind == "txt":
            text = txt_text(path, max_chars=max_chars)
        elif kind == "rtf":
            text = rtf_text(path, max_chars=max_chars)
        elif kind == "doc":
            text = doc_text(path, timeout=timeout)
        else:
            return failed(f"Format « {kind} » inconnu : texte non indexé")
    except Failed as failure:
        if failure.detail:
            log.info("extraction of %s failed: %s", path.name, failure.detail)
        return failed(failure.reason, pages=pages)
    except MemoryError:
        return failed(MEMORY_REASON)
    except RecursionError:
        return failed(RECURSION_REASON)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError, NotImplementedError) as exc:
        log.info("extraction of %s failed: %r", path.name, exc)
        return failed("Document endommagé ou illisible : texte non indexé")
    except Exception as exc:  # noqa: BLE001 - hostile input may break a parser in any way; never raise
        log.warning("unexpected extraction error on %s: %r", path.name, exc)
        return failed("Document illisible (erreur inattendue) : texte non indexé")
    text = clean_text(text)
    if len(text) > max_chars:
        text = text[:max_chars]
        note = note or f"Texte tronqué aux {max_chars} premiers caractères"
    if not text.strip() and note is None:
        note = "Aucun texte trouvé (document scanné ou vide ?)"
    return Extraction(text=text, status="ok", reason=note, pages=pages, text_pages=text_pages)

