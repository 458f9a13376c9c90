"""The Word models: listing, reading, their fields and the administrators' overrides."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from documents import audit, generation, permissions
from documents.bounds import row_id
from documents.drafting.constants import SCALAR_TYPES
from documents.drafting.errors import TemplateRejected
from documents.errors import NotFound, PermissionDenied, ValidationError
from documents.generation import FIELD_TYPES, FieldSpec, TemplateError
from documents.models import (
    DocType,
    Document,
    DocumentVersion,
    DraftingTemplate,
    FieldOverride,
    User,
)
from documents.storage import Storage

# --------------------------------------------------------------------------- models

logger = logging.getLogger(__name__)


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
    usable: list[TemplateInfo] = []
    for row in rows:
        try:
            usable.append(_info(session, storage, row))
        except (TemplateRejected, TemplateError, NotFound) as exc:
            # One broken model (a version filed before versions were checked) must not take the
            # list down for everyone: it stays in the archive, and its own page says what is wrong.
            logger.warning("drafting model %s (%s) left out of the list: %s", row.document_id, row.slug, exc.message)
    return usable


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
    override.updated_at = dt.datetime.now(dt.UTC)
    override.updated_by_id = actor.id if actor else None
    session.add(override)
    audit.record(session, "drafting.field", actor=actor, object_type="field", object_id=spec.name, ip=ip,
                 details={"label": label, "type": type, "required": required, "default": default})
    session.flush()
    return override
