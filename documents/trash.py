"""The trash: send a document to it, restore it, purge it for good (administrators only)."""

from __future__ import annotations

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from documents import audit, locking, permissions
from documents.db import utcnow
from documents.errors import NotFound, PermissionDenied, ValidationError
from documents.models import Document, DocumentVersion, User
from documents.storage import Storage


def trash_document(session: Session, document: Document, *, actor: User | None, ip: str = "") -> None:
    """Send a document to the trash (restorable; bytes and rows are kept)."""
    from documents.archive import _require_write, enqueue  # late: documents.archive imports this module

    _require_write(actor, document.region_code)
    if document.in_trash:
        return
    locking.ensure_can_trash(session, document)
    document.deleted_at = utcnow()
    document.deleted_by_id = actor.id if actor else None
    enqueue(session, document.id, action="delete")
    audit.record(session, "document.trash", actor=actor, object_type="document", object_id=document.id,
                 region_code=document.region_code, ip=ip)
    session.flush()


def restore_document(session: Session, document: Document, *, actor: User | None, ip: str = "") -> None:
    """Bring a document back from the trash (staff, within the regions they may change)."""
    from documents.archive import enqueue  # late: documents.archive imports this module

    if not permissions.can_write_anything(actor):
        raise PermissionDenied("Les comptes en lecture seule ne restaurent pas depuis la corbeille.")
    if not permissions.can_write_region(actor, document.region_code):
        # Another region's trash is not even shown: no hint that the document exists.
        raise NotFound("Document introuvable.")
    if not document.in_trash:
        return
    document.deleted_at = None
    document.deleted_by_id = None
    enqueue(session, document.id)
    audit.record(session, "document.restore", actor=actor, object_type="document", object_id=document.id,
                 region_code=document.region_code, ip=ip)
    session.flush()


def purge_document(session: Session, storage: Storage, document: Document, *, actor: User | None,
                   ip: str = "") -> None:
    """Remove a trashed document for good, with the files no other version uses (admins only)."""
    from documents.archive import enqueue  # late: documents.archive imports this module

    if not permissions.is_admin(actor):
        raise PermissionDenied("Seuls les administrateurs peuvent purger un document.")
    if not document.in_trash:
        raise ValidationError("Mettez d'abord le document à la corbeille.")
    hashes = {v.sha256 for v in document.versions} | {v.ocr_sha256 for v in document.versions if v.ocr_sha256}
    doc_id, region, title = document.id, document.region_code, document.title
    session.delete(document)
    enqueue(session, doc_id, action="delete")
    audit.record(session, "document.purge", actor=actor, object_type="document", object_id=doc_id,
                 region_code=region, ip=ip, details={"title": title, "files": len(hashes)})
    session.flush()
    # Bytes go last: if this fails, `intranet check` finds the unreferenced files.
    for sha in hashes:
        if not session.scalar(select(exists().where(
                or_(DocumentVersion.sha256 == sha, DocumentVersion.ocr_sha256 == sha)))):
            storage.delete(sha)
