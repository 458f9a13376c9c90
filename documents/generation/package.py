"""Checks on the uploaded .docx package itself, before any XML is parsed."""

from __future__ import annotations

import io
import zipfile

from documents.generation.errors import TemplateError
from documents.generation.limits import (
    MAX_TEMPLATE_BYTES,
)
from documents.ziplimits import zip_bomb_message

# --------------------------------------------------------------------------- package checks

_MAIN_DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
_W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def _check_package(data: bytes) -> None:
    """Refuse what is not a plain .docx (macro, .doc, .odt, zip bomb) before parsing it."""
    if not data:
        raise TemplateError("Le fichier est vide : choisissez un modèle Word (.docx).")
    if len(data) > MAX_TEMPLATE_BYTES:
        raise TemplateError(
            f"Le modèle est trop volumineux ({len(data) // 1024 // 1024} Mo) : "
            f"{MAX_TEMPLATE_BYTES // 1024 // 1024} Mo au plus.", status=413
        )
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise TemplateError(
            "Ce fichier est au format Word 97-2003 (.doc) : ouvrez-le dans Word et "
            "enregistrez-le au format « Document Word (*.docx) »."
        )
    if data[:4] != b"PK\x03\x04":
        raise TemplateError(
            "Ce fichier n'est pas un document Word .docx : enregistrez le modèle au format "
            "« Document Word (*.docx) »."
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise TemplateError(
            "Le fichier .docx est endommagé ou incomplet : enregistrez-le de nouveau depuis Word."
        ) from None
    with archive:
        bomb = zip_bomb_message(infos)
        if bomb is not None:
            raise TemplateError(bomb)
        names = {info.filename for info in infos}
        if "mimetype" in names and "content.xml" in names:
            raise TemplateError(
                "Ce fichier est un document OpenDocument (.odt) : enregistrez-le au format "
                "« Document Word (*.docx) »."
            )
        if "[Content_Types].xml" not in names or "word/document.xml" not in names:
            raise TemplateError(
                "Ce fichier n'est pas un document Word .docx : enregistrez le modèle au format "
                "« Document Word (*.docx) »."
            )
        try:
            content_types = archive.read("[Content_Types].xml").decode("utf-8", "replace")
        except (zipfile.BadZipFile, OSError, ValueError, RuntimeError):
            raise TemplateError("Le fichier .docx est endommagé : enregistrez-le de nouveau depuis Word.") from None
    if "macroEnabled" in content_types or any(n.lower().endswith("vbaproject.bin") for n in names):
        raise TemplateError(
            "Ce modèle contient des macros (.docm) : elles sont refusées. Enregistrez-le au "
            "format « Document Word (*.docx) », sans macros."
        )
    if _MAIN_DOCX not in content_types:
        raise TemplateError(
            "Ce fichier n'est pas un document Word ordinaire (modèle .dotx ?) : enregistrez-le "
            "au format « Document Word (*.docx) »."
        )
