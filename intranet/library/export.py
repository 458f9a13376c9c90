"""ZIP export of a list of documents with a CSV manifest (for audits and the public archives).

No Flask here: the view (and the API) pass a session, the file store, the documents and an
open binary file; the archive is streamed into it entry by entry, never held in memory.
"""

from __future__ import annotations

import csv
import io
import shutil
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import BinaryIO

from documents.errors import DomainError
from documents.filetypes import safe_filename
from documents.models import Document
from documents.storage import Storage, StorageError

#: Bounds of one export: beyond them the user is asked to narrow the filters.
MAX_EXPORT_DOCUMENTS = 2000
MAX_EXPORT_BYTES = 2 * 1024 * 1024 * 1024
MANIFEST_NAME = "manifeste.csv"

MANIFEST_COLUMNS = [
    "numéro", "titre", "type", "région", "année", "statut", "date de signature", "date d'effet", "échéance",
    "durée (mois)", "tacite reconduction", "préavis (mois)", "parties", "quartiers", "mots-clés", "notes",
    "version", "fichier dans l'archive", "nom d'origine", "taille (octets)", "sha256", "texte indexé",
    "créé le", "modifié le",
]


class ExportTooLarge(DomainError):
    """The filtered list is too big to export in one ZIP."""

    status = 422


@dataclass(frozen=True)
class ExportSummary:
    """What went into an export."""

    documents: int
    files: int
    missing: int
    bytes: int


def check_bounds(count: int, total_bytes: int) -> None:
    """Refuse an export over the document or size bound, with a message saying what to do."""
    if count > MAX_EXPORT_DOCUMENTS:
        raise ExportTooLarge(
            f"Cette liste compte {count} documents ; un export en contient au plus {MAX_EXPORT_DOCUMENTS}. "
            "Affinez les filtres (année, région, type…) puis recommencez."
        )
    if total_bytes > MAX_EXPORT_BYTES:
        raise ExportTooLarge(
            f"Les fichiers de cette liste pèsent plus de {MAX_EXPORT_BYTES // (1024 ** 3)} Go. "
            "Affinez les filtres puis recommencez."
        )


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    # A cell starting like a formula would be run by Excel (CSV injection): make it plain text.
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        text = "'" + text
    return text


def _date(value: object) -> str:
    return value.isoformat() if value is not None else ""  # type: ignore[attr-defined]  # dates and datetimes both have isoformat()


def _row(doc: Document, archive_name: str) -> list[str]:
    current = doc.current
    return [_cell(v) for v in (
        doc.id, doc.title, doc.type_label, doc.region_label, doc.year or "", doc.status_label,
        _date(doc.signature_date), _date(doc.effective_date), _date(doc.end_date),
        doc.duration_months if doc.duration_months is not None else "",
        "oui" if doc.tacit_renewal else "non",
        doc.notice_months if doc.notice_months is not None else "",
        " | ".join(p.name for p in doc.parties), " | ".join(q.code for q in doc.quartiers),
        ", ".join(doc.keyword_list), doc.notes,
        current.number if current else "", archive_name, current.filename if current else "",
        current.size if current else "", current.sha256 if current else "",
        "oui" if current is not None and current.text_indexed else "non",
        doc.created_at.isoformat(timespec="seconds") if doc.created_at else "",
        doc.updated_at.isoformat(timespec="seconds") if doc.updated_at else "",
    )]


def write_export(store: Storage, documents: Sequence[Document], out: BinaryIO) -> ExportSummary:
    """Write a ZIP of the current version of each document plus ``manifeste.csv`` into ``out``."""
    check_bounds(len(documents), sum(d.current.size for d in documents if d.current is not None))
    manifest = io.StringIO()
    # Excel opens a UTF-8 CSV correctly only with a BOM; French Excel expects ";".
    manifest.write("\ufeff")
    writer = csv.writer(manifest, delimiter=";", quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(MANIFEST_COLUMNS)
    files = missing = total = 0
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for doc in documents:
            current = doc.current
            name = ""
            if current is not None:
                name = f"documents/{doc.id:05d}-v{current.number}-{safe_filename(current.filename)}"
                try:
                    with store.open(current.sha256) as source, archive.open(name, "w", force_zip64=True) as target:
                        shutil.copyfileobj(source, target, 1024 * 1024)
                    files += 1
                    total += current.size
                except StorageError:
                    missing += 1
                    name = "(fichier manquant dans le stockage)"
            writer.writerow(_row(doc, name))
        archive.writestr(MANIFEST_NAME, manifest.getvalue().encode("utf-8"), compress_type=zipfile.ZIP_DEFLATED)
    return ExportSummary(documents=len(documents), files=files, missing=missing, bytes=total)
