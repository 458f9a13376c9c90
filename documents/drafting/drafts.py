"""Generating one draft, regenerating it, and the provenance of each generation."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from documents import archive, generation, permissions
from documents.bounds import check_year, refuse_nul
from documents.doclinks import link_documents
from documents.drafting import amending
from documents.drafting.errors import DraftingError, ValuesInvalid
from documents.drafting.filing import _document_year, _file, _party_ids, _raw_date
from documents.drafting.templates import (
    TemplateInfo,
    get_template,
    read_bytes,
    template_fields,
)
from documents.errors import NotFound, PermissionDenied, ValidationError
from documents.generation import FieldSpec, RenderWorker
from documents.models import (
    DocStatus,
    Document,
    DocumentVersion,
    Generation,
    LinkType,
    Region,
    User,
)
from documents.storage import Storage

# --------------------------------------------------------------------------- generation


@dataclass
class Draft:
    """A filed draft: its document, the new version, the provenance row, the rendered values."""

    document: Document
    version: DocumentVersion
    generation: Generation
    values: dict[str, Any]


def validate(session: Session, template: TemplateInfo, raw: dict[str, Any]) -> tuple[list[FieldSpec], dict[str, Any]]:
    """Fields and validated values; ``ValuesInvalid`` (422) with an error per input otherwise."""
    fields = template_fields(session, template)
    values, errors = generation.validate_values(fields, raw)
    if errors:
        count = len(errors)
        raise ValuesInvalid(
            f"{count} champ{'s' if count > 1 else ''} à corriger avant de générer le brouillon.", errors=errors
        )
    return fields, values


def _plain_raw(raw: dict[str, Any]) -> dict[str, Any]:
    """The typed values as JSON (kept exactly, for provenance and next year's form)."""
    plain: dict[str, Any] = json.loads(json.dumps(raw, ensure_ascii=False, default=str))
    return plain


def _draft_title(template: TemplateInfo, region: Region | None, year: int) -> str:
    return f"{template.title} – {region.name if region else 'National'} – {year}"


def _draft_filename(template: TemplateInfo, region: Region | None, year: int) -> str:
    where = f"{region.code}-{region.slug}" if region else "national"
    return f"{template.slug}-{where}-{year}.docx"


def _render(template: TemplateInfo, storage: Storage, values: dict[str, Any],
            worker: RenderWorker | None) -> generation.RenderResult:
    data = read_bytes(storage, template.version)
    return (worker or generation.shared_worker()).render(data, values, with_text=True)


@dataclass
class _Pending:
    """A draft validated and ready to render and file (the phases of ``generate_draft``)."""

    template: TemplateInfo
    region: Region | None
    region_code: str | None
    year: int
    raw: dict[str, Any]
    values: dict[str, Any]
    meta: archive.Metadata
    batch_id: int | None
    #: For an avenant: the agreement it « modifie » (linked when filed).
    modifies: Document | None = None


def _prepare(session: Session, *, actor: User | None, template: TemplateInfo, raw: dict[str, Any],
             region_code: str | None, year: int | None, batch_id: int | None,
             modifies_id: int | None = None) -> _Pending:
    """Permission, values and metadata of a draft; nothing is written."""
    if year is not None:
        check_year(year)
    refuse_nul(raw)
    region = session.get(Region, region_code) if region_code else None
    if region_code and region is None:
        raise ValidationError(f"Aucune région n'a le code {region_code}.", errors={"region": "Région inconnue."})
    if not permissions.can_write_region(actor, region_code):
        raise PermissionDenied("Vous ne pouvez pas rédiger de brouillon pour cette région.")
    raw = _plain_raw(raw)
    modifies = None
    if modifies_id is not None:
        modifies, raw = amending.with_amended_agreement(session, actor, raw, output_type=template.output_type,
                                                        region_code=region_code, document_id=modifies_id)
    names = set(template.analysis["variables"])
    if region is not None:
        # The region chosen for filing is the one written in the document.
        if "region" in names:
            raw["region"] = region.code
        if "region_nom" in names and not str(raw.get("region_nom") or "").strip():
            raw["region_nom"] = region.name
    _fields, values = validate(session, template, raw)
    doc_year = _document_year(values, raw, year)
    duration = values.get("duree_mois") if isinstance(values.get("duree_mois"), int) else (
        values["duree_annees"] * 12 if isinstance(values.get("duree_annees"), int) else None)
    meta = archive.Metadata(
        title=_draft_title(template, region, doc_year), doc_type=template.output_type,
        region_code=region_code, year=doc_year, status=DocStatus.BROUILLON.value,
        signature_date=_raw_date(raw, "date_signature"), effective_date=_raw_date(raw, "date_effet"),
        end_date=_raw_date(raw, "date_echeance"), duration_months=duration,
        tacit_renewal=bool(values.get("tacite_reconduction")) if "tacite_reconduction" in values else False,
        notice_months=values["preavis_mois"] if isinstance(values.get("preavis_mois"), int) else None,
        keywords=["brouillon généré", template.slug], party_ids=_party_ids(session, raw),
    )
    if meta.effective_date and meta.end_date and meta.end_date < meta.effective_date:
        raise ValuesInvalid("La date d'échéance précède la date d'effet.",
                            errors={"date_echeance": "« Date d'échéance » : elle précède la date d'effet."})
    return _Pending(template=template, region=region, region_code=region_code, year=doc_year, raw=raw,
                    values=values, meta=meta, batch_id=batch_id, modifies=modifies)


def _file_draft(session: Session, storage: Storage, pending: _Pending, rendered: generation.RenderResult, *,
                actor: User | None, ip: str) -> Draft:
    """File a rendered draft with its provenance, in one transaction."""
    template = pending.template
    record: dict[str, Generation] = {}

    def add_generation(doc: Document, version: DocumentVersion) -> None:
        record["row"] = _generation_row(session, doc, version, template, pending.raw, actor, pending.region_code,
                                        pending.year, pending.batch_id)
        if pending.modifies is not None:
            link_documents(session, actor=actor, source=doc, target=pending.modifies,
                           link_type=LinkType.MODIFIE.value, ip=ip)

    try:
        doc, version = _file(session, storage, actor=actor, data=rendered.data,
                             filename=_draft_filename(template, pending.region, pending.year), text=rendered.text,
                             text_reason=rendered.text_reason,
                             origin=_provenance(template, pending.raw, pending.batch_id),
                             comment=f"Généré depuis le modèle « {template.title} » (version {template.version.number})",
                             ip=ip, meta=pending.meta, extra=add_generation)
    except archive.DuplicateDocument as exc:
        raise DraftingError(
            f"Un brouillon identique existe déjà (document n° {exc.document_id}) : ouvrez-le, ou modifiez une "
            "valeur avant de générer.", status=409,
        ) from None
    return Draft(document=doc, version=version, generation=record["row"], values=pending.values)


def generate_draft(
    session: Session,
    storage: Storage,
    *,
    actor: User | None,
    template: TemplateInfo,
    raw: dict[str, Any],
    region_code: str | None,
    year: int | None = None,
    ip: str = "",
    worker: RenderWorker | None = None,
    batch_id: int | None = None,
    modifies_id: int | None = None,
) -> Draft:
    """Validate, render and file a new "brouillon" of the model's type for a region (or national).

    ``modifies_id``: for an avenant, the convention or contrat d'objectifs it modifies; the draft is
    filed with its « modifie » link, and the convention's date fills « convention_date » if empty.
    """
    pending = _prepare(session, actor=actor, template=template, raw=raw, region_code=region_code, year=year,
                       batch_id=batch_id, modifies_id=modifies_id)
    rendered = _render(template, storage, pending.values, worker)
    return _file_draft(session, storage, pending, rendered, actor=actor, ip=ip)


def _provenance(template: TemplateInfo, raw: dict[str, Any], batch_id: int | None) -> dict[str, Any]:
    origin: dict[str, Any] = {
        "source": "generation", "template_id": template.id, "template_slug": template.slug,
        "template_version": template.version.number, "template_sha256": template.version.sha256,
        "values": raw,
    }
    if batch_id is not None:
        origin["batch_id"] = batch_id
    return origin


def _generation_row(session: Session, doc: Document, version: DocumentVersion, template: TemplateInfo,
                    raw: dict[str, Any], actor: User | None, region_code: str | None, year: int | None,
                    batch_id: int | None) -> Generation:
    row = Generation(
        document_id=doc.id, version_number=version.number, template_document_id=template.id,
        template_version=template.version.number, template_slug=template.slug,
        template_sha256=template.version.sha256, region_code=region_code, year=year, input_values=raw,
        batch_id=batch_id, created_by_id=actor.id if actor else None,
    )
    session.add(row)
    return row


def draft_generations(session: Session, user: User | None, document_id: int) -> tuple[Document, list[Generation]]:
    """A draft the user may read and its generations (newest last); NotFound otherwise."""
    doc = archive.get_document(session, user, document_id)
    rows = session.scalars(
        select(Generation).where(Generation.document_id == doc.id).order_by(Generation.version_number)
    ).all()
    if not rows:
        raise NotFound("Ce document n'a pas été généré depuis un modèle.")
    return doc, list(rows)


def regenerate(
    session: Session,
    storage: Storage,
    *,
    actor: User | None,
    document_id: int,
    raw: dict[str, Any],
    ip: str = "",
    worker: RenderWorker | None = None,
) -> Draft:
    """Render a draft again with changed values: a new version of the same document."""
    doc, rows = draft_generations(session, actor, document_id)
    if not permissions.can_write_region(actor, doc.region_code):
        raise PermissionDenied("Vous ne pouvez pas modifier les documents de cette région.")
    last = rows[-1]
    if last.template_document_id is None:
        raise DraftingError("Le modèle de ce brouillon a été supprimé : il ne peut plus être régénéré.")
    template = get_template(session, storage, last.template_document_id)
    raw = _plain_raw(raw)
    if doc.region_code and "region" in template.analysis["variables"]:
        raw["region"] = doc.region_code
    _fields, values = validate(session, template, raw)
    rendered = _render(template, storage, values, worker)
    record: dict[str, Generation] = {}

    def add_generation(d: Document, version: DocumentVersion) -> None:
        d.effective_date = _raw_date(raw, "date_effet") or d.effective_date
        d.end_date = _raw_date(raw, "date_echeance") or d.end_date
        record["row"] = _generation_row(session, d, version, template, raw, actor, doc.region_code, doc.year, None)

    region = doc.region
    try:
        _doc, version = _file(session, storage, actor=actor, data=rendered.data,
                              filename=_draft_filename(template, region, doc.year or dt.date.today().year),
                              text=rendered.text, text_reason=rendered.text_reason,
                              origin=_provenance(template, raw, None),
                              comment="Régénéré avec des valeurs modifiées", ip=ip, document=doc,
                              extra=add_generation, action="drafting.regenerate")
    except archive.DuplicateDocument:
        raise DraftingError("Les valeurs n'ont pas changé : le brouillon est déjà à jour.", status=409) from None
    return Draft(document=doc, version=version, generation=record["row"], values=values)


def drafts_of_template(session: Session, user: User | None, template: TemplateInfo, *,
                       limit: int = 50) -> list[Document]:
    """Drafts generated from a model that ``user`` may read, newest first."""
    ids = select(Generation.document_id).where(Generation.template_document_id == template.id)
    stmt = archive.visible_documents(user).where(Document.id.in_(ids)).order_by(Document.updated_at.desc())
    return list(session.scalars(stmt.limit(limit)).unique())
