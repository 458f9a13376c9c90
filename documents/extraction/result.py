"""What an extraction gives back, its bounds, and the failures it reports (in French)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

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

#: Reasons that mean a bound was hit inside the worker: its state is not trusted afterwards.
MEMORY_REASON = "Extraction abandonnée : le document demande trop de mémoire, texte non indexé"
RECURSION_REASON = "Document trop profondément imbriqué : texte non indexé"
LIMIT_REASONS = frozenset({MEMORY_REASON, RECURSION_REASON})


@dataclass(frozen=True)
class Extraction:
    """Outcome of an extraction; ``reason`` (French) says why text is missing or partial."""

    text: str | None
    status: Literal["ok", "failed"]
    reason: str | None
    pages: int | None = None
    #: Pages (of ``pages``) that carry real text; fewer than ``pages`` means a scan needs OCR.
    text_pages: int | None = None


class Failed(Exception):
    """A known failure with a reason fit for the user."""

    def __init__(self, reason: str, *, detail: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


def failed(reason: str, *, pages: int | None = None) -> Extraction:
    return Extraction(text=None, status="failed", reason=reason, pages=pages)

