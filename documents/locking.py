"""Locked records: approved minutes and signed agreements do not change.

This module is the one place that decides whether a document is locked and what a lock
forbids: a new version, the trash, and any change to what carries legal meaning (type,
region, year, status, dates, durations, parties). Title, keywords, notes and quartiers
stay editable. An administrator may unlock a record with a written reason, and relock it;
both are audited. The archive verbs call the ``ensure_*`` checks, so the web, the API and
the CLI all get the same refusal (``LockedDocument``, HTTP 409).

A document that is the current source of a drafting model cannot be trashed either: every
draft of that model would then answer « Modèle introuvable ».
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from documents import audit, permissions
from documents.db import utcnow
from documents.errors import DomainError, PermissionDenied, ValidationError
from documents.models import DocStatus, DocType, Document, DraftingTemplate, Meeting, MinutesStatus, User

#: Agreements that bind their parties once signed, with the participle agreeing with the noun.
SIGNED_AGREEMENTS = {
    DocType.CONVENTION.value: "convention signée",
    DocType.AVENANT.value: "avenant signé",
    DocType.CONTRAT_OBJECTIFS.value: "contrat d'objectifs signé",
    DocType.PROTOCOLE.value: "protocole signé",
    # A compte rendu is « signé » exactly when its committee approved it (documents.committees.minutes.DOC_STATUS_OF_MINUTES).
    DocType.COMPTE_RENDU.value: "compte rendu approuvé",
}

#: ``archive.Metadata`` fields that carry legal meaning, with their French names.
LEGAL_FIELDS = {
    "doc_type": "type", "region_code": "région", "year": "année", "status": "statut",
    "signature_date": "date de signature", "effective_date": "date d'effet", "end_date": "échéance",
    "duration_months": "durée", "tacit_renewal": "tacite reconduction", "notice_months": "préavis",
    "party_ids": "parties",
}

MAX_REASON = 2000

_UNLOCK_HINT = "Un administrateur peut le déverrouiller en indiquant un motif."


class LockedDocument(DomainError):
    """The document is locked: the change it asks for is refused (409)."""

    status = 409

    def __init__(self, message: str, *, errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or {}


def lock_reason(session: Session, document: Document) -> str | None:
    """Why ``document`` is lockable (« convention signée »…), or None if it never locks."""
    if document.status == DocStatus.SIGNE.value and document.doc_type in SIGNED_AGREEMENTS:
        return SIGNED_AGREEMENTS[document.doc_type]
    # Minutes approved by their committee lock even if their archive status was set by hand before.
    approved = session.scalar(select(Meeting.id).where(
        Meeting.minutes_document_id == document.id,
        Meeting.minutes_status == MinutesStatus.APPROUVE.value).limit(1))
    if approved is not None and document.id is not None:
        return "compte rendu approuvé"
    return None


def is_locked(session: Session, document: Document) -> bool:
    """True when ``document`` is lockable and no administrator has unlocked it."""
    return document.unlocked_at is None and lock_reason(session, document) is not None


def _refuse(session: Session, document: Document, what: str) -> None:
    reason = lock_reason(session, document)
    if reason is not None and document.unlocked_at is None:
        raise LockedDocument(f"Ce document est verrouillé ({reason}) : {what}. {_UNLOCK_HINT}")


def ensure_can_version(session: Session, document: Document, *, checked_model: bool = False) -> None:
    """Refuse a new version of a locked document, and an unchecked one of a drafting model's source.

    A model's new version goes through ``drafting.upload_template`` (``checked_model``), which checks
    the Word file and its fields: filed as a plain version, a PDF or a broken .docx would make the
    model, and the list of models, unusable for everyone.
    """
    _refuse(session, document, "on ne peut plus en déposer de nouvelle version")
    if not checked_model:
        model = model_of(session, document)
        if model is not None:
            raise LockedDocument(
                f"Ce document est la source du modèle de rédaction « {document.title} » ({model.slug}) : "
                "déposez sa nouvelle version depuis la page du modèle (Modèles), où le fichier Word et ses "
                "champs sont vérifiés.")


def model_of(session: Session, document: Document) -> DraftingTemplate | None:
    """The drafting model whose current source is ``document``, if any."""
    if document.id is None:
        return None
    return session.get(DraftingTemplate, document.id)


def ensure_can_trash(session: Session, document: Document) -> None:
    """Refuse the trash for a locked document or the source of a drafting model."""
    _refuse(session, document, "il ne peut pas être mis à la corbeille")
    model = model_of(session, document)
    if model is not None:
        raise LockedDocument(
            f"Ce document est la source du modèle de rédaction « {document.title} » ({model.slug}) : "
            "le mettre à la corbeille rendrait ce modèle introuvable pour tous les brouillons. "
            "Déposez d'abord un autre modèle à sa place.")


def normalised(name: str, value: object) -> object:
    """A ``Metadata`` value in the form that compares: parties are a set (their order means nothing)."""
    # Parties come in the referential's name order from the document, sorted ids from a form.
    if name == "party_ids" and isinstance(value, Iterable):
        return frozenset(value)
    return value


def legal_changes(before: object, after: object) -> list[str]:
    """Names of the legal fields that differ between two ``archive.Metadata``."""
    return [name for name in LEGAL_FIELDS
            if normalised(name, getattr(before, name)) != normalised(name, getattr(after, name))]


def ensure_can_describe(session: Session, document: Document, before: object, after: object) -> None:
    """Refuse a metadata change that touches a legal field of a locked document."""
    changed = legal_changes(before, after)
    if not changed or not is_locked(session, document):
        return
    reason = lock_reason(session, document)
    names = ", ".join(LEGAL_FIELDS[name] for name in changed)
    raise LockedDocument(
        f"Ce document est verrouillé ({reason}) : ses informations juridiques ne changent plus "
        f"({names}). Le titre, les mots-clés, les notes et les quartiers restent modifiables. {_UNLOCK_HINT}",
        errors={name: "Champ verrouillé." for name in changed})


# --------------------------------------------------------------------------- verbs


def _require_admin(actor: User | None, what: str) -> None:
    if not permissions.is_admin(actor):
        raise PermissionDenied(f"Seuls les administrateurs peuvent {what} un document.")


def unlock_document(session: Session, document: Document, *, actor: User | None, reason: str,
                    ip: str = "") -> Document:
    """Unlock a locked record for changes (administrators, with a written reason; audited)."""
    _require_admin(actor, "déverrouiller")
    text = " ".join((reason or "").split())
    if not text:
        raise ValidationError("Indiquez le motif du déverrouillage.",
                              errors={"reason": "Le motif est obligatoire."})
    if len(text) > MAX_REASON:
        raise ValidationError(f"Le motif dépasse {MAX_REASON} caractères.",
                              errors={"reason": f"{MAX_REASON} caractères au plus."})
    kind = lock_reason(session, document)
    if kind is None:
        raise DomainError("Ce document n'est pas verrouillé : il n'y a rien à déverrouiller.", status=409)
    if document.unlocked_at is not None:
        raise DomainError("Ce document est déjà déverrouillé.", status=409)
    document.unlocked_at = utcnow()
    document.unlocked_by_id = actor.id if actor else None
    document.unlock_reason = text
    audit.record(session, "document.unlock", actor=actor, object_type="document", object_id=document.id,
                 region_code=document.region_code, ip=ip, details={"reason": text, "lock": kind})
    session.flush()
    return document


def lock_document(session: Session, document: Document, *, actor: User | None, ip: str = "") -> Document:
    """Lock again a record an administrator had unlocked (administrators; audited)."""
    _require_admin(actor, "verrouiller")
    if document.unlocked_at is None:
        raise DomainError("Ce document n'est pas déverrouillé.", status=409)
    kind = lock_reason(session, document)
    document.unlocked_at = None
    document.unlocked_by_id = None
    document.unlock_reason = ""
    audit.record(session, "document.lock", actor=actor, object_type="document", object_id=document.id,
                 region_code=document.region_code, ip=ip, details={"lock": kind or ""})
    session.flush()
    return document


def relock(session: Session, document: Document, *, actor: User | None, why: str, ip: str = "") -> None:
    """Lock again, without an administrator, a record that a new approval or signature seals anew."""
    if document.unlocked_at is None:
        return
    document.unlocked_at = None
    document.unlocked_by_id = None
    document.unlock_reason = ""
    audit.record(session, "document.lock", actor=actor, object_type="document", object_id=document.id,
                 region_code=document.region_code, ip=ip, details={"lock": why})
    session.flush()
