"""Typed links between documents: « modifie », « relève de », « remplace », « concerne »."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from documents import audit, permissions
from documents.errors import NotFound, ValidationError
from documents.models import Document, DocumentLink, LinkType, User


def link_documents(session: Session, *, actor: User | None, source: Document, target: Document,
                   link_type: str, ip: str = "") -> DocumentLink:
    """Record that ``source`` modifie / relève de / remplace / concerne ``target``."""
    from documents.archive import _require_write  # late: documents.archive imports this module

    try:
        kind = LinkType(link_type)
    except ValueError:
        raise ValidationError("Type de lien inconnu.", errors={"link_type": "Choisissez un type de lien."}) \
            from None
    _require_write(actor, source.region_code)
    if not permissions.can_read_region(actor, target.region_code) or target.in_trash:
        raise NotFound("Document lié introuvable.")
    if source.id == target.id:
        raise ValidationError("Un document ne peut pas être lié à lui-même.")
    duplicate = session.scalar(select(DocumentLink).where(
        DocumentLink.source_id == source.id, DocumentLink.target_id == target.id,
        DocumentLink.link_type == kind.value))
    if duplicate is not None:
        raise ValidationError("Ce lien existe déjà.")
    link = DocumentLink(source_id=source.id, target_id=target.id, link_type=kind.value,
                        created_by_id=actor.id if actor else None)
    session.add(link)
    session.flush()
    audit.record(session, "document.link", actor=actor, object_type="document", object_id=source.id,
                 region_code=source.region_code, ip=ip, details={"type": kind.value, "target": target.id})
    session.flush()
    return link


def unlink_documents(session: Session, *, actor: User | None, link: DocumentLink, ip: str = "") -> None:
    """Remove a link (the documents stay)."""
    from documents.archive import _require_write  # late: documents.archive imports this module

    _require_write(actor, link.source.region_code)
    audit.record(session, "document.unlink", actor=actor, object_type="document", object_id=link.source_id,
                 region_code=link.source.region_code, ip=ip,
                 details={"type": link.link_type, "target": link.target_id})
    session.delete(link)
    session.flush()


def links_of(session: Session, user: User | None, document: Document) -> tuple[list[DocumentLink], list[DocumentLink]]:
    """(outgoing, incoming) links whose other end ``user`` may read and is not in the trash."""
    outgoing = session.scalars(select(DocumentLink).where(DocumentLink.source_id == document.id)).all()
    incoming = session.scalars(select(DocumentLink).where(DocumentLink.target_id == document.id)).all()

    def ok(doc: Document) -> bool:
        return not doc.in_trash and permissions.can_read_region(user, doc.region_code)

    return [link for link in outgoing if ok(link.target)], [link for link in incoming if ok(link.source)]
