"""Filing a rendered draft (or an uploaded model) in the archive."""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from documents import archive, audit, frenchtext
from documents.extraction import Extraction
from documents.formatting import parse_date
from documents.models import (
    Document,
    DocumentVersion,
    Organisation,
    User,
)
from documents.storage import Storage

# --------------------------------------------------------------------------- filing


def _document_year(values: dict[str, Any], raw: dict[str, Any], year: int | None) -> int:
    if isinstance(values.get("annee"), int):
        return int(values["annee"])
    if year is not None:
        return year
    return dt.date.today().year


def _raw_date(raw: dict[str, Any], name: str) -> dt.date | None:
    value = raw.get(name)
    if value in (None, ""):
        return None
    try:
        return parse_date(str(value))
    except ValueError:
        return None


def _party_ids(session: Session, raw: dict[str, Any]) -> list[int]:
    """Organisations of the reference data named in the values (parties of the draft)."""
    names: set[str] = set()
    for value in raw.values():
        if isinstance(value, dict) and value.get("nom"):
            names.add(str(value["nom"]).strip())
        elif isinstance(value, list):
            names.update(str(row["nom"]).strip() for row in value if isinstance(row, dict) and row.get("nom"))
    if not names:
        return []
    return sorted(session.scalars(select(Organisation.id).where(Organisation.name.in_(names))))


def _slugify(text: str) -> str:
    return frenchtext.slugify(text)[:80].strip("-") or "modele"


def _file(
    session: Session,
    storage: Storage,
    *,
    actor: User | None,
    data: bytes,
    filename: str,
    text: str | None,
    text_reason: str,
    origin: dict[str, Any],
    comment: str,
    ip: str,
    meta: archive.Metadata | None = None,
    document: Document | None = None,
    extra: Callable[[Document, DocumentVersion], None] | None = None,
    check_permissions: bool = True,
    action: str = "drafting.generate",
    checked_model: bool = False,
) -> tuple[Document, DocumentVersion]:
    """File ``data`` as a new document (``meta``) or a new version of ``document``.

    A draft's text is already known: the render worker extracted it from the document it
    had just produced, inside the same sandbox and bounds (see ``RenderWorker``), so the
    archive verbs are given that text and skip their extraction subprocess (~100 ms); every
    other step (upload checks, dedup, storage, audit, outbox) is theirs. ``extra`` adds rows
    (the provenance) and the drafting audit entry to the same transaction.
    """
    extracted = (Extraction(text=text, status="ok", reason=None) if text is not None
                 else Extraction(text=None, status="failed", reason=text_reason[:500] or None))

    filed: list[DocumentVersion] = []

    def before_commit(doc: Document, version: DocumentVersion) -> None:
        filed.append(version)
        if extra is not None:
            extra(doc, version)
        audit.record(session, action, actor=actor, object_type="document", object_id=doc.id,
                     region_code=doc.region_code, ip=ip,
                     details={k: v for k, v in origin.items() if k != "analysis"})

    fd, name = tempfile.mkstemp(suffix=".docx", prefix="brouillon-")
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        if document is None:
            assert meta is not None
            doc = archive.archive_document(
                session, storage, actor=actor, path=path, filename=filename, meta=meta, comment=comment,
                origin=origin, ip=ip, check_permissions=check_permissions, extracted=extracted,
                before_commit=before_commit)
        else:
            doc = document
            archive.add_version(
                session, storage, document, actor=actor, path=path, filename=filename, comment=comment,
                origin=origin, ip=ip, check_permissions=check_permissions, extracted=extracted,
                before_commit=before_commit, checked_model=checked_model)
    finally:
        path.unlink(missing_ok=True)
    return doc, filed[0]
