"""Archived documents attached to a meeting (filed in the committee's region)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from documents import archive, audit, permissions
from documents.committees.dates import local
from documents.committees.scope import require_manage
from documents.errors import NotFound, ValidationError
from documents.models import DocType, Document, Meeting, MeetingDocument, User
from documents.regions import covered_codes
from documents.storage import Storage


def attach_document(session: Session, meeting: Meeting, *, actor: User | None, document_id: int,
                    ip: str = "") -> MeetingDocument:
    """Attach an archived document the committee's audience may read (its region or a predecessor, or national)."""
    require_manage(actor, meeting)
    doc = archive.get_document(session, actor, document_id)
    if doc.region_code is not None and doc.region_code not in covered_codes(meeting.region_code):
        # Attaching another region's document would show a link its readers cannot open.
        raise ValidationError("Ce document appartient à une autre région : les membres du comité ne "
                              "pourraient pas l'ouvrir. Joignez un document de la région ou national.",
                              errors={"document_id": "Document d'une autre région."})
    if any(a.document_id == doc.id for a in meeting.attachments):
        raise ValidationError("Ce document est déjà joint à la réunion.", errors={"document_id": "Déjà joint."})
    link = MeetingDocument(meeting=meeting, document_id=doc.id, created_by_id=actor.id if actor else None)
    session.add(link)
    session.flush()
    audit.record(session, "meeting.attach", actor=actor, object_type="meeting", object_id=meeting.id,
                 region_code=meeting.region_code, ip=ip, details={"document": doc.id})
    session.flush()
    return link


def upload_attachment(session: Session, storage: Storage, meeting: Meeting, *, actor: User | None, path: Path,
                      filename: str, title: str = "", doc_type: str = DocType.AUTRE.value,
                      ip: str = "") -> Document:
    """File an uploaded document in the archive (region of the committee) and attach it."""
    require_manage(actor, meeting)
    year = local(meeting.starts_at).year
    meta = archive.Metadata(title=title or Path(filename).stem or "Document de séance", doc_type=doc_type,
                            region_code=meeting.region_code, year=year,
                            keywords=["comité", meeting.committee.name[:100]])
    doc = archive.archive_document(session, storage, actor=actor, path=path, filename=filename, meta=meta,
                                   comment=f"Document de la réunion du {local(meeting.starts_at):%d/%m/%Y}",
                                   origin={"source": "meeting", "meeting": meeting.id}, ip=ip)
    attach_document(session, meeting, actor=actor, document_id=doc.id, ip=ip)
    return doc


def detach_document(session: Session, meeting: Meeting, *, actor: User | None, document_id: int,
                    ip: str = "") -> None:
    """Remove a document from the meeting (it stays in the archive)."""
    require_manage(actor, meeting)
    link = next((a for a in meeting.attachments if a.document_id == document_id), None)
    if link is None:
        raise NotFound("Ce document n'est pas joint à la réunion.")
    meeting.attachments.remove(link)
    audit.record(session, "meeting.detach", actor=actor, object_type="meeting", object_id=meeting.id,
                 region_code=meeting.region_code, ip=ip, details={"document": document_id})
    session.flush()


def readable_attachments(user: User | None, meeting: Meeting) -> list[Document]:
    """The meeting's documents that ``user`` may open and that are not in the trash."""
    return [a.document for a in meeting.attachments
            if a.document is not None and not a.document.in_trash
            and permissions.can_read_region(user, a.document.region_code)]
