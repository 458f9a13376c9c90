"""Drafting: fill the Word models with values from the database and file the drafts.

The pipeline of one draft is: model (a "modele" document, its current version) → fields
(catalogue + administrators' overrides) → values (prefilled from the reference data and
last year's draft, then typed) → ``validate_values`` → render in the sandboxed worker →
filed as a "brouillon" of the model's output type, with its provenance (model, model
version, exact input values) in ``drafting_generation``, in the same transaction.

Verbs take an explicit session and storage, check permissions, write the audit log and
commit, like ``documents.archive``.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import hashlib
import io
import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
import unicodedata
import uuid
import zipfile
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from documents import archive, audit, generation, permissions
from documents.bounds import check_year, refuse_nul, row_id
from documents.errors import DomainError, NotFound, PermissionDenied, ValidationError
from documents.extraction import Extraction
from documents.formatting import parse_date
from documents.generation import FIELD_TYPES, FieldSpec, RenderWorker, TemplateError
from documents.models import (
    BatchStatus,
    DocStatus,
    DocType,
    Document,
    DocumentVersion,
    DraftingBatch,
    DraftingTemplate,
    FieldOverride,
    Generation,
    Organisation,
    OrganisationKind,
    Region,
    User,
)
from documents.storage import Storage

logger = logging.getLogger(__name__)

#: Field types an administrator may give to a plain (single-value) field.
SCALAR_TYPES = ("texte", "date", "montant", "entier", "booléen", "région")
#: Output types a model may declare (everything but "modele" itself).
OUTPUT_TYPES = tuple(t.value for t in DocType if t is not DocType.MODELE)
#: Fields filled per region in a batch grid besides the amounts.
PER_REGION_FIELDS = ("lieu_signature", "convention_reference", "convention_date")
#: A running batch whose status has not moved for this long was interrupted (process killed).
STALE_BATCH = dt.timedelta(minutes=10)
#: Longest accepted CSV of batch values.
MAX_CSV_BYTES = 2 * 1024 * 1024


# --------------------------------------------------------------------------- errors


class DraftingError(DomainError):
    """A drafting request cannot be carried out (French message)."""

    status = 422


class TemplateRejected(ValidationError):
    """An uploaded model failed its checks; ``problems`` lists every faulty tag."""

    def __init__(self, message: str, *, problems: list[TemplateError]) -> None:
        super().__init__(message, errors={"file": message})
        self.problems = problems


class ValuesInvalid(ValidationError):
    """Typed values refused; ``errors`` maps each input name to a French message."""


# --------------------------------------------------------------------------- models


@dataclass
class TemplateInfo:
    """A model ready for drafting: its document, current version and fields."""

    row: DraftingTemplate
    document: Document
    version: DocumentVersion
    analysis: dict[str, Any]

    @property
    def id(self) -> int:
        """The model's document id."""
        return self.document.id

    @property
    def slug(self) -> str:
        """Stable name."""
        return self.row.slug

    @property
    def title(self) -> str:
        """Title shown to users."""
        return self.document.title

    @property
    def output_type(self) -> str:
        """Type of the drafts it produces."""
        return self.row.output_type

    @property
    def output_type_label(self) -> str:
        """French label of the output type."""
        try:
            return DocType(self.row.output_type).label
        except ValueError:
            return self.row.output_type

    @property
    def builtin(self) -> bool:
        """True for a model shipped with the application."""
        return self.row.builtin

    @property
    def description(self) -> str:
        """What the model is for."""
        return self.row.description


_ANALYSES: dict[str, dict[str, Any]] = {}


def _analysis_of(data: bytes) -> dict[str, Any]:
    """Fields of a model (check run in the worker), remembered by SHA-256 in this process."""
    sha = hashlib.sha256(data).hexdigest()
    cached = _ANALYSES.get(sha)
    if cached is None:
        report = generation.check_template(data)
        if not report.ok:
            raise TemplateRejected(_rejection_message(report.errors), problems=report.errors)
        cached = {"variables": report.fields, "lists": report.lists, "objects": report.objects}
        _ANALYSES[sha] = cached
    return cached


def _rejection_message(problems: list[TemplateError]) -> str:
    first = problems[0].message
    more = len(problems) - 1
    return first + (f" ({more} autre{'s' if more > 1 else ''} problème{'s' if more > 1 else ''} signalé"
                    f"{'s' if more > 1 else ''} ci-dessous.)" if more else "")


def _info(session: Session, storage: Storage, row: DraftingTemplate) -> TemplateInfo:
    doc = row.document
    version = doc.current
    if version is None:
        raise NotFound("Ce modèle n'a aucune version.")
    analysis = (version.origin or {}).get("analysis")
    if not isinstance(analysis, dict) or "variables" not in analysis:
        # A version filed by other means (the library): analyse it now.
        analysis = _analysis_of(read_bytes(storage, version))
    return TemplateInfo(row=row, document=doc, version=version, analysis=analysis)


def read_bytes(storage: Storage, version: DocumentVersion) -> bytes:
    """The stored bytes of a version."""
    with storage.open(version.sha256) as fh:
        return fh.read()


def list_templates(session: Session, storage: Storage) -> list[TemplateInfo]:
    """Every model available for drafting (built-in first, then by title)."""
    rows = session.scalars(
        select(DraftingTemplate).join(Document, Document.id == DraftingTemplate.document_id)
        .where(Document.deleted_at.is_(None))
        .order_by(DraftingTemplate.builtin.desc(), Document.title)
    ).all()
    return [_info(session, storage, row) for row in rows]


def get_template(session: Session, storage: Storage, key: int | str) -> TemplateInfo:
    """A model by document id or slug; NotFound otherwise."""
    row: DraftingTemplate | None
    if isinstance(key, int) or (isinstance(key, str) and key.isascii() and key.isdigit()):
        ident = row_id(key)
        row = session.get(DraftingTemplate, ident) if ident is not None else None
    else:
        row = session.scalar(select(DraftingTemplate).where(DraftingTemplate.slug == key))
    if row is None or row.document.in_trash:
        raise NotFound(f"Modèle introuvable : « {key} ».")
    return _info(session, storage, row)


# --------------------------------------------------------------------------- fields


def template_fields(session: Session, template: TemplateInfo) -> list[FieldSpec]:
    """The fields of a model, with the administrators' catalogue overrides applied."""
    specs = generation.specs_for_names(
        list(template.analysis["variables"]), lists=template.analysis.get("lists") or {},
        objects=template.analysis.get("objects") or {},
    )
    overrides = {o.name: o for o in session.scalars(select(FieldOverride))}
    return [_apply_override(spec, overrides.get(spec.name)) for spec in specs]


def _apply_override(spec: FieldSpec, override: FieldOverride | None) -> FieldSpec:
    if override is None:
        return spec
    changes: dict[str, Any] = {}
    if override.label:
        changes["label"] = override.label
    if override.type and spec.type in SCALAR_TYPES and override.type in SCALAR_TYPES and not spec.computed:
        changes["type"] = override.type
    if override.required is not None and not spec.computed:
        changes["required"] = override.required
    if override.default is not None:
        changes["default"] = override.default
    return dataclasses.replace(spec, **changes)


def field_overrides(session: Session) -> dict[str, FieldOverride]:
    """Every override of the catalogue, by field name."""
    return {o.name: o for o in session.scalars(select(FieldOverride))}


def set_field_override(
    session: Session,
    *,
    actor: User | None,
    spec: FieldSpec,
    label: str,
    type: str,  # noqa: A002 - the catalogue's word
    required: bool,
    default: Any,
    ip: str = "",
) -> FieldOverride:
    """Change a field's label, type, required flag or default for every model (admins only)."""
    if not permissions.is_admin(actor):
        raise PermissionDenied("Seuls les administrateurs peuvent modifier le catalogue des champs.")
    errors: dict[str, str] = {}
    label = " ".join((label or "").split())[:300]
    if not label:
        errors["label"] = "Le libellé est obligatoire."
    if type != spec.type:
        if spec.type not in SCALAR_TYPES or type not in SCALAR_TYPES or spec.computed:
            errors["type"] = (
                f"Le type d'un champ « {spec.type} » ne peut pas être changé "
                f"(types possibles pour un champ simple : {', '.join(SCALAR_TYPES)})."
            )
    if isinstance(default, str):
        default = default.strip()
        if default:
            # The default must pass the field's own validation, or every form would start wrong.
            probe = dataclasses.replace(spec, type=type if type in FIELD_TYPES else spec.type, required=False)
            _values, problems = generation.validate_values([probe], {spec.name: default})
            if problems:
                errors["default"] = next(iter(problems.values()))
        else:
            default = None
    if errors:
        raise ValidationError("Le champ n'a pas été modifié.", errors=errors)
    override = session.get(FieldOverride, spec.name) or FieldOverride(name=spec.name)
    catalogue = generation.load_catalogue().get(spec.name)
    base_label = catalogue.label if catalogue else spec.label
    base_type = catalogue.type if catalogue else spec.type
    base_required = catalogue.required if catalogue else spec.required
    override.label = None if label == base_label else label
    override.type = None if type == base_type else type
    override.required = None if required == base_required else required
    override.default = default
    override.updated_at = dt.datetime.now(dt.timezone.utc)
    override.updated_by_id = actor.id if actor else None
    session.add(override)
    audit.record(session, "drafting.field", actor=actor, object_type="field", object_id=spec.name, ip=ip,
                 details={"label": label, "type": type, "required": required, "default": default})
    session.flush()
    return override


# --------------------------------------------------------------------------- prefill


def _org(org: Organisation | None) -> dict[str, str]:
    if org is None:
        return {"nom": "", "adresse": "", "representant": "", "qualite": ""}
    return {"nom": org.name, "adresse": org.address or "", "representant": org.representative or "",
            "qualite": org.representative_title or ""}


def _org_of(session: Session, kind: OrganisationKind, region_code: str | None = None) -> Organisation | None:
    stmt = select(Organisation).where(Organisation.kind == kind.value)
    if region_code is not None:
        stmt = stmt.where(Organisation.region_code == region_code)
    return session.scalars(stmt.order_by(Organisation.id)).first()


def _city(address: str) -> str:
    """"Hôtel de Blossac, 6 rue du Chapitre, 35044 Rennes Cedex" -> "Rennes"."""
    match = re.search(r"\b\d{5}\s+([^,\d]+?)(?:\s+cedex\b.*)?$", address.strip(), re.IGNORECASE)
    return match.group(1).strip() if match else ""


def previous_generation(session: Session, template: TemplateInfo, region_code: str | None,
                        year: int) -> Generation | None:
    """The latest generation of this model for this region in ``year - 1``, if any."""
    stmt = (
        select(Generation).join(Document, Document.id == Generation.document_id)
        .where(Generation.template_document_id == template.id, Generation.year == year - 1,
               Document.deleted_at.is_(None))
        .order_by(Generation.id.desc())
    )
    stmt = stmt.where(Generation.region_code.is_(None)) if region_code is None else \
        stmt.where(Generation.region_code == region_code)
    return session.scalars(stmt).first()


def _shift_year(value: Any) -> Any:
    """"2025-01-01" -> "2026-01-01" (last year's dates, moved to this year)."""
    try:
        day = parse_date(str(value))
    except ValueError:
        return value
    try:
        return day.replace(year=day.year + 1).isoformat()
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28).isoformat()


def prefill(session: Session, template: TemplateInfo, region_code: str | None, year: int) -> dict[str, Any]:
    """Starting values of a form: defaults < last year's values < reference data < the year."""
    check_year(year)
    fields = template_fields(session, template)
    names = {spec.name for spec in fields}
    by_name = {spec.name: spec for spec in fields}
    raw: dict[str, Any] = {}
    for spec in fields:
        if spec.computed:
            continue
        if spec.default is not None:
            raw[spec.name] = json.loads(json.dumps(spec.default))
    previous = previous_generation(session, template, region_code, year)
    if previous is not None:
        for name, value in (previous.input_values or {}).items():
            spec = by_name.get(name)
            if spec is None or spec.computed:
                continue
            raw[name] = _shift_year(value) if spec.type == "date" else value
        for name in ("annee_debut", "annee_fin"):
            if name in names and str(raw.get(name, "")).isdigit():
                raw[name] = str(int(raw[name]) + 1)
    # Reference data last: it is the source of truth for names, addresses and representatives.
    region = session.get(Region, region_code) if region_code else None
    drac = _org_of(session, OrganisationKind.DRAC, region_code) if region else None
    coordination = _org_of(session, OrganisationKind.COORDINATION_REGIONALE, region_code) if region else None
    nationale = _org_of(session, OrganisationKind.COORDINATION_NATIONALE)
    if region is not None:
        raw["region"] = region.code
        raw["region_nom"] = region.name
        raw["drac"] = _org(drac)
        raw["coordination_regionale"] = _org(coordination)
        raw["financeur"] = _org(drac)
        raw["beneficiaire"] = _org(coordination)
        if drac is not None and not raw.get("lieu_signature"):
            raw["lieu_signature"] = _city(drac.address or "")
        if "comite" in names and not raw.get("comite"):
            raw["comite"] = f"Comité de pilotage régional « Passeurs d'images » – {region.name}"
    else:
        cnc = session.scalar(select(Organisation).where(Organisation.slug == "cnc"))
        raw.setdefault("financeur", _org(cnc) if cnc is not None else _org(None))
        raw["beneficiaire"] = _org(nationale)
        if "lieu_signature" in names and not raw.get("lieu_signature"):
            raw["lieu_signature"] = "Paris"
    raw["coordination_nationale"] = _org(nationale)
    signatories = session.scalars(
        select(Organisation).where(Organisation.kind == OrganisationKind.SIGNATAIRE.value).order_by(Organisation.id)
    ).all()
    if signatories:
        raw["signataires"] = [
            {"nom": o.name, "representant": o.representative or "", "qualite": o.representative_title or ""}
            for o in signatories
        ]
    if "annee" in names:
        raw["annee"] = str(year)
    if previous is None:
        for name, value in (("annee_debut", year), ("annee_fin", year + 2)):
            if name in names and not raw.get(name):
                raw[name] = str(value)
        if "date_effet" in names and not raw.get("date_effet"):
            raw["date_effet"] = dt.date(year, 1, 1).isoformat()
        if "date_echeance" in names and not raw.get("date_echeance"):
            raw["date_echeance"] = dt.date(year, 12, 31).isoformat()
        if "date_remise_bilan" in names and not raw.get("date_remise_bilan"):
            raw["date_remise_bilan"] = dt.date(year + 1, 3, 31).isoformat()
    return {name: value for name, value in raw.items() if name in names}


# --------------------------------------------------------------------------- filing


def _document_year(values: dict[str, Any], raw: dict[str, Any], year: int | None) -> int:
    if isinstance(values.get("annee"), int):
        return values["annee"]
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
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:80] or "modele"


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
                before_commit=before_commit)
    finally:
        path.unlink(missing_ok=True)
    return doc, filed[0]


# --------------------------------------------------------------------------- models: load and upload


def load_builtin_models(session: Session, storage: Storage, *, actor: User | None = None) -> dict[str, str]:
    """File the built-in models as national "modele" documents (idempotent; a new build → a new version)."""
    from documents import extraction

    outcome: dict[str, str] = {}
    for model in generation.BUILTIN_MODELS:
        data = model.read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        row = session.scalar(select(DraftingTemplate).where(DraftingTemplate.slug == model.slug))
        if row is not None and row.document.current is not None and row.document.current.sha256 == sha:
            outcome[model.slug] = "inchangé"
            continue
        analysis = _analysis_of(data)
        # Our own shipped files: their text is read here, without the upload sandbox.
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"{model.slug}.docx"
            path.write_bytes(data)
            extracted = extraction.extract_text_inline(path, "docx")
        text = extracted.text if extracted.status == "ok" else None
        origin = {"source": "modele-integre", "slug": model.slug, "sha256": sha, "analysis": analysis}
        if row is None or row.document.in_trash:
            meta = archive.Metadata(
                title=model.title, doc_type=DocType.MODELE.value, region_code=None, year=None,
                status=DocStatus.SIGNE.value, keywords=["modèle", model.slug], notes=model.description,
            )

            def register(doc: Document, _version: DocumentVersion, model: Any = model) -> None:
                if row is not None:
                    session.delete(row)
                    session.flush()
                session.add(DraftingTemplate(document_id=doc.id, slug=model.slug, output_type=model.doc_type,
                                             builtin=True, description=model.description))

            _file(session, storage, actor=actor, data=data, filename=f"{model.slug}.docx", text=text,
                  text_reason=extracted.reason or "", origin=origin, comment="Modèle intégré", ip="",
                  meta=meta, extra=register, check_permissions=False, action="drafting.template_load")
            outcome[model.slug] = "créé"
        else:
            _file(session, storage, actor=actor, data=data, filename=f"{model.slug}.docx", text=text,
                  text_reason=extracted.reason or "", origin=origin, comment="Nouvelle version du modèle intégré",
                  ip="", document=row.document, check_permissions=False, action="drafting.template_load")
            outcome[model.slug] = "nouvelle version"
    return outcome


def upload_template(
    session: Session,
    storage: Storage,
    *,
    actor: User | None,
    data: bytes,
    filename: str,
    title: str,
    output_type: str,
    description: str = "",
    template_id: int | None = None,
    ip: str = "",
) -> TemplateInfo:
    """File an uploaded Word model (admins only), refused with every faulty tag named if it fails its check."""
    if not permissions.is_admin(actor):
        raise PermissionDenied("Seuls les administrateurs peuvent déposer un modèle.")
    if not filename.lower().endswith(".docx"):
        raise ValidationError("Le modèle doit être un fichier Word .docx.",
                              errors={"file": "Choisissez un fichier Word .docx."})
    report = generation.check_template(data)
    if not report.ok:
        audit.record(session, "drafting.template_upload", actor=actor, outcome="refused", object_type="template",
                     ip=ip, details={"filename": filename[:200], "errors": [e.message for e in report.errors[:5]]})
        session.flush()
        raise TemplateRejected(_rejection_message(report.errors), problems=report.errors)
    analysis = {"variables": report.fields, "lists": report.lists, "objects": report.objects}
    _ANALYSES[hashlib.sha256(data).hexdigest()] = analysis
    if output_type not in OUTPUT_TYPES:
        raise ValidationError("Type de document produit inconnu.",
                              errors={"output_type": "Choisissez le type des brouillons produits."})
    origin = {"source": "modele-depose", "analysis": analysis}
    if template_id is not None:
        info = get_template(session, storage, template_id)
        info.row.output_type = output_type
        if description:
            info.row.description = description
        _file(session, storage, actor=actor, data=data, filename=filename, text=None,
              text_reason="Modèle Word : texte non indexé.", origin={**origin, "slug": info.slug},
              comment="Nouvelle version du modèle", ip=ip, document=info.document,
              action="drafting.template_upload")
        return get_template(session, storage, template_id)
    title = " ".join((title or "").split())
    if not title:
        raise ValidationError("Le titre est obligatoire.", errors={"title": "Donnez un titre au modèle."})
    base = _slugify(title)
    slug, n = base, 2
    while session.scalar(select(DraftingTemplate).where(DraftingTemplate.slug == slug)) is not None:
        slug, n = f"{base}-{n}", n + 1
    meta = archive.Metadata(title=title, doc_type=DocType.MODELE.value, region_code=None, year=None,
                            status=DocStatus.SIGNE.value, keywords=["modèle"], notes=description)

    def register(doc: Document, _version: DocumentVersion) -> None:
        session.add(DraftingTemplate(document_id=doc.id, slug=slug, output_type=output_type, builtin=False,
                                     description=description))

    # The model's own text is not indexed: its tags would only pollute search results.
    doc, _ = _file(session, storage, actor=actor, data=data, filename=filename, text=None,
                   text_reason="Modèle Word : texte non indexé.", origin={**origin, "slug": slug},
                   comment="Modèle déposé", ip=ip, meta=meta, extra=register, action="drafting.template_upload")
    return get_template(session, storage, doc.id)


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
    return json.loads(json.dumps(raw, ensure_ascii=False, default=str))


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


def _prepare(session: Session, *, actor: User | None, template: TemplateInfo, raw: dict[str, Any],
             region_code: str | None, year: int | None, batch_id: int | None) -> _Pending:
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
                    values=values, meta=meta, batch_id=batch_id)


def _file_draft(session: Session, storage: Storage, pending: _Pending, rendered: generation.RenderResult, *,
                actor: User | None, ip: str) -> Draft:
    """File a rendered draft with its provenance, in one transaction."""
    template = pending.template
    record: dict[str, Generation] = {}

    def add_generation(doc: Document, version: DocumentVersion) -> None:
        record["row"] = _generation_row(session, doc, version, template, pending.raw, actor, pending.region_code,
                                        pending.year, pending.batch_id)

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
) -> Draft:
    """Validate, render and file a new "brouillon" of the model's type for a region (or national)."""
    pending = _prepare(session, actor=actor, template=template, raw=raw, region_code=region_code, year=year,
                       batch_id=batch_id)
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


# --------------------------------------------------------------------------- PDF


def pdf_available() -> bool:
    """True when LibreOffice (``soffice``) is installed."""
    return shutil.which("soffice") is not None


def convert_to_pdf(docx: bytes, *, timeout: float = 120.0) -> bytes:
    """Convert a .docx to PDF with ``soffice --headless --convert-to pdf`` (own profile, bounded time)."""
    binary = shutil.which("soffice")
    if binary is None:
        raise DraftingError("LibreOffice n'est pas installé : le PDF ne peut pas être produit.", status=503)
    with tempfile.TemporaryDirectory(prefix="pdf-") as tmp:
        work = Path(tmp)
        source = work / "brouillon.docx"
        source.write_bytes(docx)
        # A private profile per run: two soffice processes sharing one profile block each other.
        profile = (work / "profil").as_uri()
        command = [binary, f"-env:UserInstallation={profile}", "--headless", "--norestore",
                   "--convert-to", "pdf", "--outdir", str(work), str(source)]
        try:
            subprocess.run(command, cwd=work, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=timeout, check=False,
                           env={"PATH": os.environ.get("PATH", os.defpath), "HOME": str(work),
                                "LANG": "C.UTF-8"})
        except subprocess.TimeoutExpired:
            raise DraftingError(f"La conversion en PDF a dépassé {timeout:g} secondes.", status=503) from None
        target = work / "brouillon.pdf"
        if not target.is_file():
            raise DraftingError("LibreOffice n'a pas pu convertir le brouillon en PDF.", status=500)
        return target.read_bytes()


def rendition_path(rendition_dir: Path, version: DocumentVersion) -> Path:
    """Where the PDF rendition of a version lives (derived data, outside the archive's store)."""
    return Path(rendition_dir) / version.sha256[:2] / f"{version.sha256}.pdf"


def make_pdf_rendition(storage: Storage, version: DocumentVersion, rendition_dir: Path) -> Path:
    """Produce (once) the PDF rendition of a generated version and return its path."""
    target = rendition_path(rendition_dir, version)
    if target.is_file():
        return target
    pdf = convert_to_pdf(read_bytes(storage, version))
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".{uuid.uuid4().hex}.tmp")
    tmp.write_bytes(pdf)
    os.replace(tmp, target)
    return target


# --------------------------------------------------------------------------- batch


def grid_fields(fields: list[FieldSpec]) -> list[FieldSpec]:
    """Fields asked per region in a batch grid: the amounts and a few per-region texts."""
    return [
        spec for spec in fields
        if not spec.computed and (spec.type == "montant" or spec.name in PER_REGION_FIELDS)
    ]


def common_fields(fields: list[FieldSpec]) -> list[FieldSpec]:
    """Fields given once for every region of a batch (the rest comes from the database)."""
    per_region = {s.name for s in grid_fields(fields)} | {"region", "region_nom"}
    return [
        spec for spec in fields
        if not spec.computed and spec.name not in per_region and spec.type in SCALAR_TYPES
    ]


@dataclass
class RegionOutcome:
    """What happened to one region of a batch."""

    region_code: str
    region_name: str
    status: str  # "ok", "invalide", "refusé", "échec"
    message: str = ""
    errors: dict[str, str] = field(default_factory=dict)
    document_id: int | None = None
    filename: str = ""

    def as_dict(self) -> dict[str, Any]:
        """JSON form (stored in the batch report)."""
        return dataclasses.asdict(self)


NOTHING_PRODUCED = (
    "Aucun brouillon n'a été produit : chaque région a échoué (détail ci-dessous). Complétez les valeurs "
    "manquantes dans Référentiel › Organisations (adresse, représentant et qualité de la DRAC et de la "
    "coordination, ou import du CSV des organisations), ou par région dans la grille du lot ou son CSV "
    "(colonnes drac.adresse, drac.representant, coordination_regionale.adresse…), puis relancez le lot."
)


@dataclass
class BatchResult:
    """A batch's ZIP (None when no region produced a draft) and its per-region report."""

    zip_path: Path | None
    outcomes: list[RegionOutcome]

    @property
    def produced(self) -> list[RegionOutcome]:
        """Regions whose draft was filed."""
        return [o for o in self.outcomes if o.status == "ok"]

    @property
    def skipped(self) -> list[RegionOutcome]:
        """Regions reported and skipped."""
        return [o for o in self.outcomes if o.status != "ok"]


def _merge(*layers: dict[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for layer in layers:
        for name, value in layer.items():
            if value is None or (isinstance(value, str) and not value.strip()):
                continue
            if isinstance(value, dict) and isinstance(merged.get(name), dict):
                merged[name] = {**merged[name], **{k: v for k, v in value.items() if str(v).strip()}}
            else:
                merged[name] = value
    return merged


def generate_batch(
    session: Session,
    storage: Storage,
    *,
    actor: User | None,
    template: TemplateInfo,
    year: int,
    out_path: Path,
    region_codes: Iterable[str] | None = None,
    common: dict[str, Any] | None = None,
    rows: dict[str, dict[str, Any]] | None = None,
    prefilled: bool = True,
    progress: Callable[[int, int, str], None] | None = None,
    worker: RenderWorker | None = None,
    batch_id: int | None = None,
    ip: str = "",
) -> BatchResult:
    """One draft per region, filed and zipped; a region whose values fail is reported and skipped.

    ``region_codes`` None means every current region; values are, by
    priority: the region's row, ``common``, then the prefill (database, last year).
    """
    common = common or {}
    rows = rows or {}
    if region_codes is None:
        # « Toutes les régions » are today's 18: drafts are written for the current DRACs.
        codes = list(session.scalars(select(Region.code).where(Region.valid_until.is_(None)).order_by(Region.code)))
    else:
        codes = list(dict.fromkeys(str(c).strip() for c in region_codes if str(c).strip()))
    total = len(codes)
    outcomes: list[RegionOutcome] = []
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp_zip = out_path.with_name(out_path.name + ".part")
    # Pipelined: while the worker renders region N (a thread waits on its pipe), this thread
    # validates region N+1 and files region N-1, so rendering and filing overlap.
    data = read_bytes(storage, template.version)
    render_worker = worker or generation.shared_worker()
    slots: list[RegionOutcome | None] = []
    pending_job: tuple[int, _Pending, Future[generation.RenderResult]] | None = None

    def finish(job: tuple[int, _Pending, Future[generation.RenderResult]], bundle: zipfile.ZipFile) -> None:
        slot, pending, future = job
        region_name = pending.region.name if pending.region else str(pending.region_code)
        code = str(pending.region_code)
        try:
            rendered = future.result()
            # A savepoint per region: a refused draft undoes itself only, never the regions filed before.
            with session.begin_nested():
                draft = _file_draft(session, storage, pending, rendered, actor=actor, ip=ip)
        except DomainError as exc:
            slots[slot] = RegionOutcome(code, region_name, "échec", exc.message)
        else:
            bundle.writestr(draft.version.filename, rendered.data)
            slots[slot] = RegionOutcome(code, region_name, "ok", "Brouillon classé.",
                                        document_id=draft.document.id, filename=draft.version.filename)
        if progress is not None:
            progress(sum(1 for o in slots if o is not None), total, region_name)

    def render_job(values: dict[str, Any]) -> generation.RenderResult:
        return render_worker.render(data, values, with_text=True)

    with zipfile.ZipFile(tmp_zip, "w", zipfile.ZIP_DEFLATED) as bundle, \
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="rendu") as pool:
        if progress is not None:
            progress(0, total, "")
        for code in codes:
            slot = len(slots)
            slots.append(None)
            region = session.get(Region, code)
            name = region.name if region else code
            outcome: RegionOutcome | None = None
            job = None
            if region is None:
                outcome = RegionOutcome(code, code, "invalide", f"Aucune région n'a le code {code}.")
            elif not permissions.can_write_region(actor, code):
                outcome = RegionOutcome(code, name, "refusé", "Vous ne pouvez pas rédiger de brouillon pour cette région.")
            else:
                base = prefill(session, template, code, year) if prefilled else {}
                raw = _merge(base, common, rows.get(code, {}))
                if not raw.get("lieu_signature") and isinstance(raw.get("drac"), dict):
                    # The DRAC's address given in the row (not in the référentiel) names the city too.
                    raw["lieu_signature"] = _city(str(raw["drac"].get("adresse") or ""))
                try:
                    pending = _prepare(session, actor=actor, template=template, raw=raw, region_code=code, year=year,
                                       batch_id=batch_id)
                except ValuesInvalid as exc:
                    outcome = RegionOutcome(code, name, "invalide", exc.message, errors=dict(exc.errors))
                except DomainError as exc:
                    outcome = RegionOutcome(code, name, "échec", exc.message)
                else:
                    job = (slot, pending, pool.submit(render_job, pending.values))
            if pending_job is not None:
                finish(pending_job, bundle)
                pending_job = None
            if outcome is not None:
                slots[slot] = outcome
                if progress is not None:
                    progress(sum(1 for o in slots if o is not None), total, name)
            pending_job = job
        if pending_job is not None:
            finish(pending_job, bundle)
        outcomes.extend(o for o in slots if o is not None)
        bundle.writestr("rapport.txt", _report_text(template, year, outcomes))
    produced = any(o.status == "ok" for o in outcomes)
    if produced:
        os.replace(tmp_zip, out_path)
    else:
        # A ZIP holding only « rapport.txt » is no help: the page says what to fill instead.
        tmp_zip.unlink(missing_ok=True)
    if progress is not None:
        progress(total, total, "")
    audit.record(session, "drafting.batch", actor=actor, object_type="template", object_id=template.id, ip=ip,
                 details={"year": year, "produced": sum(o.status == "ok" for o in outcomes),
                          "skipped": [o.region_code for o in outcomes if o.status != "ok"], "batch_id": batch_id})
    session.flush()
    return BatchResult(zip_path=out_path if produced else None, outcomes=outcomes)


def _report_text(template: TemplateInfo, year: int, outcomes: list[RegionOutcome]) -> str:
    lines = [f"Modèle : {template.title} (version {template.version.number})", f"Année : {year}", ""]
    for o in outcomes:
        lines.append(f"{o.region_code} {o.region_name} : {o.status} – {o.message}")
        for key, message in o.errors.items():
            lines.append(f"    {key} : {message}")
    return "\n".join(lines) + "\n"


def parse_values_csv(data: bytes, fields: list[FieldSpec]) -> dict[str, dict[str, Any]]:
    """Per-region values from a CSV whose header names the fields (names or labels) and a "region" column."""
    if len(data) > MAX_CSV_BYTES:
        raise ValidationError("Le fichier CSV est trop volumineux (2 Mo au plus).", errors={"csv": "Fichier trop gros."})
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", "replace")  # Excel's "CSV (séparateur : point-virgule)"
    if not text.strip():
        raise ValidationError("Le fichier CSV est vide.", errors={"csv": "Fichier vide."})
    first = text.splitlines()[0]
    delimiter = ";" if first.count(";") >= first.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = [h.strip() for h in next(reader)]
    columns: dict[str, str] = {}
    for spec in fields:
        if spec.computed:
            continue
        if spec.type == "organisation":
            for sub in spec.subfields:
                columns[f"{spec.name}.{sub.name}".lower()] = f"{spec.name}.{sub.name}"
                columns[f"{spec.label} – {sub.label}".lower()] = f"{spec.name}.{sub.name}"
        elif spec.type != "liste":
            columns[spec.name.lower()] = spec.name
            columns[spec.label.lower()] = spec.name
    columns.setdefault("region", "region")
    columns.setdefault("région", "region")
    columns.setdefault("code", "region")
    mapped: list[str] = []
    unknown = []
    for title in header:
        key = columns.get(title.lower())
        if key is None:
            unknown.append(title)
        mapped.append(key or "")
    if unknown:
        known = ", ".join(sorted({v for v in columns.values()}))
        raise ValidationError(
            f"Colonnes inconnues dans le CSV : {', '.join(unknown)}. Colonnes possibles : {known}.",
            errors={"csv": "Colonnes inconnues : " + ", ".join(unknown)},
        )
    if "region" not in mapped:
        raise ValidationError("Le CSV doit avoir une colonne « region » (code de la région, ex. 11).",
                              errors={"csv": "Colonne « region » manquante."})
    result: dict[str, dict[str, Any]] = {}
    for line in reader:
        if not any(cell.strip() for cell in line):
            continue
        row: dict[str, Any] = {}
        for key, cell in zip(mapped, line):
            if "." in key:
                owner, _, sub = key.partition(".")
                row.setdefault(owner, {})[sub] = cell
            else:
                row[key] = cell
        code = str(row.pop("region", "")).strip()
        if code:
            result[code] = row
    if not result:
        raise ValidationError("Le CSV ne contient aucune ligne de région.", errors={"csv": "Aucune ligne."})
    return result


# --------------------------------------------------------------------------- background batch jobs


def start_batch(
    session: Session,
    *,
    actor: User | None,
    template: TemplateInfo,
    year: int,
    region_codes: list[str],
    common: dict[str, Any],
    rows: dict[str, dict[str, Any]],
    ip: str = "",
) -> DraftingBatch:
    """Record a batch job (run it with ``run_batch``, e.g. in a background thread)."""
    if not permissions.can_write_anything(actor):
        raise PermissionDenied("Votre compte est en lecture seule.")
    if not region_codes:
        raise ValidationError("Choisissez au moins une région.", errors={"regions": "Aucune région choisie."})
    refused = [c for c in region_codes if not permissions.can_write_region(actor, c)]
    if refused:
        raise PermissionDenied(f"Vous ne pouvez pas rédiger pour la région {refused[0]}.")
    batch = DraftingBatch(
        template_document_id=template.id, year=year, status=BatchStatus.EN_ATTENTE.value,
        total=len(region_codes), done=0, message="En attente de démarrage…",
        inputs={"common": _plain_raw(common), "rows": _plain_raw(rows), "regions": list(region_codes)},
        created_by_id=actor.id if actor else None,
    )
    session.add(batch)
    session.flush()
    audit.record(session, "drafting.batch_start", actor=actor, object_type="batch", object_id=batch.id, ip=ip,
                 details={"template": template.slug, "year": year, "regions": list(region_codes)})
    session.flush()
    return batch


def batch_zip_path(batch_dir: Path, batch: DraftingBatch) -> Path:
    """Where the ZIP of a batch is written."""
    return Path(batch_dir) / f"lot-{batch.id}.zip"


def run_batch(session: Session, storage: Storage, batch_id: int, batch_dir: Path, *,
              worker: RenderWorker | None = None, checkpoint: Callable[[], None] | None = None) -> DraftingBatch:
    """Run a recorded batch job, updating its progress row as regions are done.

    ``checkpoint`` is the job's commit, called at each step so that the progress page sees it
    (the background thread passes ``session.commit``); without it all stays in the caller's unit of work.
    """

    def durable() -> None:
        session.flush()
        if checkpoint is not None:
            checkpoint()

    batch = session.get(DraftingBatch, batch_id)
    if batch is None:
        raise NotFound("Lot introuvable.")
    actor = session.get(User, batch.created_by_id) if batch.created_by_id else None
    batch.status = BatchStatus.EN_COURS.value
    batch.updated_at = dt.datetime.now(dt.timezone.utc)
    durable()

    def progress(done: int, total: int, region_name: str) -> None:
        row = session.get(DraftingBatch, batch_id)
        assert row is not None
        row.done, row.total = done, total
        row.message = f"{done} / {total} – {region_name}" if region_name else f"{done} / {total}"
        row.updated_at = dt.datetime.now(dt.timezone.utc)
        durable()

    try:
        if batch.template_document_id is None:
            raise DraftingError("Le modèle de ce lot a été supprimé.")
        template = get_template(session, storage, batch.template_document_id)
        inputs = batch.inputs or {}
        result = generate_batch(
            session, storage, actor=actor, template=template, year=batch.year or dt.date.today().year,
            out_path=batch_zip_path(batch_dir, batch), region_codes=inputs.get("regions") or [],
            common=inputs.get("common") or {}, rows=inputs.get("rows") or {}, progress=progress,
            worker=worker, batch_id=batch_id,
        )
    except Exception as exc:  # noqa: BLE001 - a background job reports its failure in its row
        logger.exception("batch %s failed", batch_id)
        session.rollback()
        row = session.get(DraftingBatch, batch_id)
        assert row is not None
        row.status = BatchStatus.ECHEC.value
        row.message = exc.message if isinstance(exc, DomainError) else \
            f"Le lot s'est arrêté sur une erreur inattendue ({type(exc).__name__})."
        row.finished_at = row.updated_at = dt.datetime.now(dt.timezone.utc)
        durable()
        return row
    row = session.get(DraftingBatch, batch_id)
    assert row is not None
    row.status = BatchStatus.TERMINE.value
    row.report = [o.as_dict() for o in result.outcomes]
    row.zip_name = result.zip_path.name if result.zip_path is not None else ""
    produced, skipped = len(result.produced), len(result.skipped)
    row.message = f"{produced} brouillon{'s' if produced > 1 else ''} classé{'s' if produced > 1 else ''}" + (
        f", {skipped} région{'s' if skipped > 1 else ''} signalée{'s' if skipped > 1 else ''} et ignorée"
        f"{'s' if skipped > 1 else ''}." if skipped else ".")
    if not produced and skipped:
        row.message = NOTHING_PRODUCED
    row.done = row.total
    row.finished_at = row.updated_at = dt.datetime.now(dt.timezone.utc)
    durable()
    return row


def get_batch(session: Session, user: User | None, batch_id: int) -> DraftingBatch:
    """A batch the user started (admins see all); NotFound otherwise."""
    batch = session.get(DraftingBatch, batch_id)
    if batch is None or not (permissions.is_admin(user) or (user is not None and batch.created_by_id == user.id)):
        raise NotFound("Lot introuvable.")
    return batch


def batch_interrupted(batch: DraftingBatch) -> bool:
    """True when a running batch has not moved for ``STALE_BATCH`` (its process was stopped)."""
    if batch.finished:
        return False
    updated = batch.updated_at if batch.updated_at.tzinfo else batch.updated_at.replace(tzinfo=dt.timezone.utc)
    return dt.datetime.now(dt.timezone.utc) - updated > STALE_BATCH
