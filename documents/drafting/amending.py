"""The agreement an avenant modifies: offered when drafting an avenant, linked (« modifie ») when it is filed.

An avenant drafted from a model names the convention it modifies by its reference and date, in
its text; the archive also needs the link, since a region's timeline applies an avenant's amounts
to the agreement it « modifie » (``documents.agreements.timeline``). The drafting form offers the
region's conventions and contrats d'objectifs; the verb checks the choice and the draft is filed
with its link in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from documents import archive
from documents.bounds import MAX_ID
from documents.errors import NotFound, ValidationError
from documents.listing import is_drafting_model
from documents.models import DocType, Document, User
from documents.regions import covered_codes

#: What an avenant modifies.
AMENDABLE_TYPES: tuple[str, ...] = (DocType.CONVENTION.value, DocType.CONTRAT_OBJECTIFS.value)
#: Most agreements offered in the form (a region has one or two a year).
MAX_OFFERED = 200

_FIELD = "modifies"


def drafts_an_avenant(output_type: str) -> bool:
    """True when a model of this output type drafts an avenant (the form then asks what it modifies)."""
    return output_type == DocType.AVENANT.value


def amendable_agreements(session: Session, user: User | None, region_code: str | None) -> list[Document]:
    """The conventions and contrats d'objectifs of the region (or national ones) ``user`` may read, newest first."""
    stmt = archive.visible_documents(user).where(Document.doc_type.in_(AMENDABLE_TYPES), ~is_drafting_model())
    if region_code is None:
        stmt = stmt.where(Document.region_code.is_(None))
    else:
        stmt = stmt.where(Document.region_code.in_(sorted(covered_codes(region_code))))
    stmt = stmt.order_by(Document.year.desc().nulls_last(), Document.id.desc()).limit(MAX_OFFERED)
    return list(session.scalars(stmt))


def amended_agreement(session: Session, actor: User | None, *, output_type: str, region_code: str | None,
                      document_id: int) -> Document:
    """The agreement an avenant of this region will modify; a French ValidationError otherwise."""
    if not drafts_an_avenant(output_type):
        raise ValidationError("Seul un avenant modifie une convention : ce modèle n'en rédige pas.",
                              errors={_FIELD: "Réservé aux avenants."})
    # Missing and unreadable are one answer (nothing tells that another region's document exists).
    missing = ValidationError("Convention modifiée introuvable : choisissez-la dans la liste.",
                              errors={_FIELD: "Introuvable."})
    if not 1 <= document_id <= MAX_ID:
        raise missing
    try:
        target = archive.get_document(session, actor, document_id)
    except NotFound:
        raise missing from None
    if target.doc_type not in AMENDABLE_TYPES:
        raise ValidationError(
            f"Le document n° {target.id} est un(e) « {target.type_label} » : un avenant modifie une convention "
            "ou un contrat d'objectifs.", errors={_FIELD: "Choisissez une convention ou un contrat d'objectifs."})
    same_place = (target.region_code is None if region_code is None
                  else target.region_code in covered_codes(region_code))
    if not same_place:
        raise ValidationError(
            "La convention modifiée appartient à une autre région que l'avenant : choisissez une convention de la "
            "région du brouillon.", errors={_FIELD: "Autre région."})
    return target


def with_amended_agreement(session: Session, actor: User | None, raw: dict[str, Any], *, output_type: str,
                           region_code: str | None, document_id: int) -> tuple[Document, dict[str, Any]]:
    """The agreement an avenant will modify (``amended_agreement``), and ``raw`` with its date filled in
    « convention_date » when that was left empty."""
    target = amended_agreement(session, actor, output_type=output_type, region_code=region_code,
                               document_id=document_id)
    when: dt.date | None = target.signature_date or target.effective_date
    if when is not None and not str(raw.get("convention_date") or "").strip():
        return target, {**raw, "convention_date": when.isoformat()}
    return target, raw
