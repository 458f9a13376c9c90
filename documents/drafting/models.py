"""Loading the built-in models and uploading new ones."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from documents import archive, audit, generation, permissions
from documents.drafting.constants import OUTPUT_TYPES
from documents.drafting.errors import TemplateRejected
from documents.drafting.filing import _file, _slugify
from documents.drafting.templates import (
    _ANALYSES,
    TemplateInfo,
    _analysis_of,
    _rejection_message,
    get_template,
)
from documents.errors import PermissionDenied, ValidationError
from documents.models import (
    DocStatus,
    DocType,
    Document,
    DocumentVersion,
    DraftingTemplate,
    User,
)
from documents.storage import Storage

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

            def register(doc: Document, _version: DocumentVersion, model: Any = model, row: Any = row) -> None:
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
                  ip="", document=row.document, check_permissions=False, action="drafting.template_load",
                  checked_model=True)
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
              action="drafting.template_upload", checked_model=True)
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
