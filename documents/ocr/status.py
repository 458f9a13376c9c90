"""A version's text status in French: the same words on the document page, the list, the API and the check."""

from __future__ import annotations

from typing import TYPE_CHECKING

from documents.models.archive import TextStatus

if TYPE_CHECKING:
    from documents.models.archive import DocumentVersion

_NBSP = "\u00a0"


def _pages(count: int) -> str:
    return f"{count} page{'s' if count > 1 else ''}"


def text_status_label(version: DocumentVersion) -> str:
    """« Texte extrait », « Texte reconnu (OCR), confiance 92 % », « Texte partiel (1 page sur 3) »…"""
    status = version.text_status
    if status == TextStatus.OK.value:
        return "Texte extrait"
    if status == TextStatus.OCR.value:
        if version.ocr_confidence is None:
            return "Texte reconnu (OCR)"
        return f"Texte reconnu (OCR), confiance {round(version.ocr_confidence)}{_NBSP}%"
    if status == TextStatus.PARTIAL.value:
        return f"Texte partiel ({version.text_pages or 0} {'pages' if (version.text_pages or 0) > 1 else 'page'}" \
               f" sur {version.pages or 0})"
    if status == TextStatus.PENDING.value:
        return "Reconnaissance du texte en attente"
    if status == TextStatus.RUNNING.value:
        return "Reconnaissance du texte en cours"
    if status == TextStatus.EMPTY.value:
        return "Aucun texte"
    # A failure's reason says what failed (« PDF chiffré : texte non indexé », « Échec de la reconnaissance… »).
    return "Texte non indexé"


def status_after_ocr(pages: int, text_pages: int, ocr_pages: int) -> tuple[str, str]:
    """(text_status, reason) of a version once OCR has run on its ``pages``."""
    if text_pages <= 0:
        return TextStatus.EMPTY.value, f"Aucun texte reconnu sur {_pages(pages)}"
    if text_pages < pages:
        return TextStatus.PARTIAL.value, f"Texte trouvé sur {text_pages} {'pages' if text_pages > 1 else 'page'}" \
                                         f" sur {pages} : les autres pages semblent vides"
    if ocr_pages == 0:
        return TextStatus.OK.value, ""
    return TextStatus.OCR.value, ""
