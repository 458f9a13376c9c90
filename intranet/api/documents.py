"""API endpoints: documents (file, list, read, describe, version, download, trash).

Every operation goes through the same ``documents.archive`` verbs as the web pages, so the
permission checks, the audit log and the index outbox are the same. A document of a region
the caller may not read answers 404 and the denial is logged; writes need a non-lecteur
account (403) and rights on the region, before any byte is stored.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import abort, jsonify, request, send_file, url_for
from sqlalchemy import func, or_, select
from werkzeug.datastructures import FileStorage, MultiDict

from documents import locking, permissions
from documents.archive import (
    DuplicateDocument,
    Metadata,
    add_version,
    archive_document,
    get_document,
    get_version,
    record_access,
    trash_document,
    update_metadata,
    visible_documents,
)
from documents.bounds import YEAR_MAX, YEAR_MIN, parse_year, row_id
from documents.errors import NotFound, ValidationError
from documents.intake import RegionKeys, parse_bool, parse_date, parse_doc_type, parse_status
from documents.models import Document, DocumentVersion, Organisation, User
from documents.regions import covered_codes
from intranet.api import ID_SCHEMA, bp, document, query_param
from intranet.api.views import PAGE_PARAMS, page_payload
from intranet.extensions import db, storage
from intranet.pagination import paginate, parse_page_args
from intranet.web import client_ip, current_actor, deny, error_response, writer_required

#: API field -> ``Metadata`` attribute.
FIELDS = {
    "title": "title", "type": "doc_type", "region": "region_code", "year": "year", "status": "status",
    "signature_date": "signature_date", "effective_date": "effective_date", "end_date": "end_date",
    "duration_months": "duration_months", "tacit_renewal": "tacit_renewal", "notice_months": "notice_months",
    "keywords": "keywords", "notes": "notes", "parties": "party_ids", "quartiers": "quartier_codes",
}
API_NAME = {attr: name for name, attr in FIELDS.items()}

_META_PROPS = {
    "title": {"type": "string"},
    "type": {"type": "string", "description": "protocole, convention, avenant, contrat_objectifs, compte_rendu, "
                                              "bilan, cahier_des_charges, modele, autre"},
    "region": {"type": "string", "description": "Code de région, ou « national »"},
    "year": {"type": "integer", "minimum": YEAR_MIN, "maximum": YEAR_MAX},
    "status": {"type": "string", "description": "brouillon, en_signature, signe, archive"},
    "signature_date": {"type": "string", "format": "date"},
    "effective_date": {"type": "string", "format": "date"},
    "end_date": {"type": "string", "format": "date", "description": "Échéance"},
    "duration_months": {"type": "integer"},
    "tacit_renewal": {"type": "boolean"},
    "notice_months": {"type": "integer"},
    "keywords": {"type": "string", "description": "Mots-clés séparés par des virgules"},
    "notes": {"type": "string"},
    "parties": {"type": "string", "description": "Organisations (identifiants ou slugs), séparées par des virgules"},
    "quartiers": {"type": "string", "description": "Codes de quartiers, séparés par des virgules"},
}
_FILE_BODY = {"content": {"multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
    "file": {"type": "string", "format": "binary"}, "comment": {"type": "string"}, **_META_PROPS}}}}}
_ID_PARAM = {"name": "id", "in": "path", "required": True, "schema": ID_SCHEMA}
_ERRORS = {
    "403": {"description": "Compte en lecture seule, ou région non autorisée"},
    "404": {"description": "Document introuvable (ou d'une autre région)"},
    "409": {"description": "Document verrouillé (convention signée, compte rendu approuvé…) ou source d'un "
                           "modèle de rédaction ; ou fichier déjà archivé"},
    "422": {"description": "Données refusées ; « fields » détaille chaque champ"},
}


# ------------------------------------------------------------------ JSON


def version_json(doc: Document, version: DocumentVersion) -> dict[str, Any]:
    """JSON form of a version."""
    return {
        "number": version.number, "filename": version.filename, "size": version.size, "sha256": version.sha256,
        "kind": version.kind, "mime_type": version.mime_type, "comment": version.comment,
        "created_at": version.created_at.isoformat() if version.created_at else None,
        "created_by": version.created_by.email if version.created_by else None,
        "text_status": version.text_status, "text_reason": version.text_reason, "pages": version.pages,
        "text_label": version.text_status_label, "text_pages": version.text_pages,
        "ocr_confidence": version.ocr_confidence, "has_text_copy": bool(version.ocr_sha256),
        "download_url": url_for("api.download_version", document_id=doc.id, number=version.number),
    }


def document_json(doc: Document, *, versions: bool = True) -> dict[str, Any]:
    """JSON form of a document (metadata, and its versions unless ``versions`` is False)."""

    def day(value: Any) -> str | None:
        return value.isoformat() if value else None

    data: dict[str, Any] = {
        "id": doc.id, "title": doc.title, "type": doc.doc_type, "type_label": doc.type_label,
        "region": doc.region_code, "region_label": doc.region_label, "year": doc.year,
        "status": doc.status, "status_label": doc.status_label,
        "signature_date": day(doc.signature_date), "effective_date": day(doc.effective_date),
        "end_date": day(doc.end_date), "duration_months": doc.duration_months,
        "tacit_renewal": doc.tacit_renewal, "notice_months": doc.notice_months,
        "keywords": doc.keyword_list, "notes": doc.notes,
        "parties": [{"id": p.id, "slug": p.slug, "name": p.name} for p in doc.parties],
        "quartiers": [q.code for q in doc.quartiers],
        "created_at": day(doc.created_at), "updated_at": day(doc.updated_at), "in_trash": doc.in_trash,
        "current_version": doc.current.number if doc.current else None,
        "url": url_for("api.get_document_api", document_id=doc.id),
    }
    if versions:
        data["versions"] = [version_json(doc, v) for v in doc.versions]
        data["lock"] = lock_json(doc)
    return data


def lock_json(doc: Document) -> dict[str, Any]:
    """Whether a document is locked, why, and who unlocked it (one document: the check costs a query)."""
    kind = locking.lock_reason(db.session, doc)
    # By id: right after the unlock, the relationship still holds what was loaded before it.
    unlocker = db.session.get(User, doc.unlocked_by_id) if doc.unlocked_by_id else None
    return {
        "locked": kind is not None and doc.unlocked_at is None, "reason": kind,
        "unlocked_at": doc.unlocked_at.isoformat() if doc.unlocked_at else None,
        "unlocked_by": unlocker.display_name if unlocker else None,
        "unlock_reason": doc.unlock_reason or None,
    }


# ------------------------------------------------------------------ input


def _payload() -> Mapping[str, Any]:
    if request.is_json:
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            raise ValidationError("Corps JSON invalide : envoyez un objet.")
        return data
    return request.form


def _values(data: Mapping[str, Any], name: str) -> list[str]:
    """A list field sent as a JSON list, repeated form fields, or one comma-separated string."""
    raw: list[Any]
    if isinstance(data, MultiDict):
        raw = data.getlist(name)
    else:
        value = data.get(name)
        raw = value if isinstance(value, list) else [value]
    out: list[str] = []
    for item in raw:
        if item is None:
            continue
        out.extend(part.strip() for part in str(item).split(",") if part.strip())
    return out


def _int(value: Any) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError
    return int(value)


def parse_metadata(data: Mapping[str, Any], base: Metadata) -> Metadata:
    """Apply the fields present in ``data`` to ``base``; ValidationError naming each bad field."""
    values = dict(vars(base))
    errors: dict[str, str] = {}
    for name, attr in FIELDS.items():
        if name not in data:
            continue
        raw = data.get(name)
        text = "" if raw is None else str(raw).strip()
        if name in ("title", "notes"):
            values[attr] = text
        elif name == "type":
            values[attr] = parse_doc_type(text) if text else None
            if values[attr] is None:
                errors[name] = "Type de document inconnu."
        elif name == "status":
            values[attr] = parse_status(text) if text else None
            if values[attr] is None:
                errors[name] = "Statut inconnu (brouillon, en_signature, signe, archive)."
        elif name == "region":
            known, values[attr] = RegionKeys.load(db.session).resolve_scope(text) if text else (True, None)
            if not known:
                errors[name] = f"Aucune région n'a le code {text}."
        elif name in ("year", "duration_months", "notice_months"):
            try:
                values[attr] = _int(raw)
            except (TypeError, ValueError):
                errors[name] = "Nombre entier attendu."
        elif name in ("signature_date", "effective_date", "end_date"):
            values[attr] = parse_date(text) if text else None
            if text and values[attr] is None:
                errors[name] = "Date attendue au format AAAA-MM-JJ."
        elif name == "tacit_renewal":
            flag = raw if isinstance(raw, bool) else parse_bool(text) if text else False
            if flag is None:
                errors[name] = "Valeur attendue : true ou false."
            values[attr] = bool(flag)
        elif name == "keywords":
            values[attr] = _values(data, name)
        elif name == "parties":
            ids: list[int] = []
            unknown: list[str] = []
            for item in _values(data, name):
                org = db.session.get(Organisation, row_id(item)) if row_id(item) is not None else \
                    db.session.scalar(select(Organisation).where(Organisation.slug == item))
                if org is None:
                    unknown.append(item)
                else:
                    ids.append(org.id)
            if unknown:
                errors[name] = "Organisation inconnue du référentiel : " + ", ".join(unknown[:5])
            values[attr] = ids
        elif name == "quartiers":
            values[attr] = _values(data, name)
    if errors:
        raise ValidationError("Certaines informations du document sont invalides.", errors=errors)
    return Metadata(**values)


def _api_errors(exc: ValidationError) -> ValidationError:
    """The domain's field names (region_code…) as the API's (region…)."""
    return ValidationError(exc.message, errors={API_NAME.get(k, k): v for k, v in exc.errors.items()})


def _upload() -> FileStorage:
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ValidationError("Joignez un fichier dans le champ « file ».", errors={"file": "Fichier manquant."})
    return upload


@contextmanager
def _spooled(upload: FileStorage) -> Iterator[Path]:
    """The upload on disk, in the store's temp folder (same file system, swept by ``intranet check``)."""
    store = storage()
    fd, path = store.temp_file()
    try:
        with os.fdopen(fd, "wb") as out:
            upload.save(out)
        yield path
    finally:
        path.unlink(missing_ok=True)


def _duplicate(exc: DuplicateDocument) -> Any:
    response, status = error_response(409, exc.message)
    payload = response.get_json()
    existing = db.session.get(Document, exc.document_id) if exc.document_id else None
    # Name the existing document only to someone allowed to open it.
    if existing is not None and permissions.can_read_region(current_actor(), existing.region_code) \
            and not existing.in_trash:
        payload["error"]["document_id"] = existing.id
        payload["error"]["url"] = url_for("api.get_document_api", document_id=existing.id)
    else:
        payload["error"]["message"] = ("Ce fichier est déjà archivé dans un document auquel vous n'avez pas "
                                       "accès : demandez à la coordination nationale.")
    return jsonify(payload), 409


def _load(document_id: int) -> Document:
    """A document the caller may read; otherwise 404, with the denial logged when it exists."""
    user = current_actor()
    try:
        return get_document(db.session, user, document_id)
    except NotFound:
        doc = db.session.get(Document, document_id)
        if doc is not None and not permissions.can_read_region(user, doc.region_code):
            deny("document", document_id, region_code=doc.region_code)
        abort(404)


def _default_region(meta: Metadata, data: Mapping[str, Any]) -> Metadata:
    # A regional account files into its own region unless it says otherwise.
    user = current_actor()
    if "region" not in data and user is not None and user.region_code \
            and not permissions.can_write_region(user, None):
        meta.region_code = user.region_code
    return meta


# ------------------------------------------------------------------ routes

document("/documents", "post", "Archiver un fichier avec ses métadonnées", body=_FILE_BODY, responses={
    "201": {"description": "Document créé"},
    "409": {"description": "Fichier déjà archivé ; « document_id » désigne le document existant"},
    "413": {"description": "Fichier trop volumineux"}, **_ERRORS,
})


@bp.post("/documents")
@writer_required
def create_document() -> Any:
    """File a new document from a multipart upload."""
    upload = _upload()
    data = request.form
    # No title sent: the domain gives the document its own title (see documents.titles).
    meta = _default_region(parse_metadata(data, Metadata(title="")), data)
    with _spooled(upload) as path:
        try:
            doc = archive_document(db.session, storage(), actor=current_actor(), path=path,
                                   filename=upload.filename or "document", meta=meta,
                                   comment=data.get("comment", ""), origin={"source": "api"}, ip=client_ip())
        except DuplicateDocument as exc:
            return _duplicate(exc)
        except ValidationError as exc:
            raise _api_errors(exc) from None
    body = document_json(doc)
    return jsonify(body), 201, {"Location": body["url"]}


document("/documents", "get", "Documents visibles, filtrés et paginés", params=[
    query_param("type", "Type de document"), query_param("region", "Code de région, ou « national »"),
    query_param("year", "Année", "integer", minimum=YEAR_MIN, maximum=YEAR_MAX),
    query_param("status", "Statut"),
    query_param("q", "Mots du titre"), *PAGE_PARAMS,
])


@bp.get("/documents")
def list_documents() -> Any:
    """Documents the caller may read, newest first."""
    args = request.args
    stmt = visible_documents(current_actor())
    errors: dict[str, str] = {}
    if args.get("type"):
        doc_type = parse_doc_type(args["type"])
        if doc_type is None:
            errors["type"] = "Type de document inconnu."
        stmt = stmt.where(Document.doc_type == doc_type)
    if args.get("region"):
        known, code = RegionKeys.load(db.session).resolve_scope(args["region"])
        if not known:
            errors["region"] = "Région inconnue."
        # None (national) compiles to IS NULL; a current region also covers its predecessors.
        stmt = stmt.where(Document.region_code.is_(None) if code is None
                          else Document.region_code.in_(sorted(covered_codes(code))))
    if args.get("year"):
        year = parse_year(args["year"])
        if year is None:
            errors["year"] = f"Année entre {YEAR_MIN} et {YEAR_MAX} attendue."
        stmt = stmt.where(Document.year == year)
    if args.get("status"):
        status = parse_status(args["status"])
        if status is None:
            errors["status"] = "Statut inconnu."
        stmt = stmt.where(Document.status == status)
    if args.get("q"):
        for word in args["q"].split()[:10]:
            escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            # SQLite's lower() folds ASCII only: also match the word as typed ("Île" in "Île-de-France").
            stmt = stmt.where(or_(func.lower(Document.title).like(f"%{escaped.lower()}%", escape="\\"),
                                  Document.title.like(f"%{escaped}%", escape="\\")))
    if errors:
        raise ValidationError("Filtres invalides.", errors=errors)
    stmt = stmt.order_by(Document.updated_at.desc(), Document.id.desc())
    page_no, per_page = parse_page_args(args, strict=True)
    page = paginate(db.session, stmt, page_no, per_page)
    return jsonify(page_payload(page, [document_json(d, versions=False) for d in page.items]))


document("/documents/{id}", "get", "Un document et ses versions", params=[_ID_PARAM],
         responses={"200": {"description": "Le document"}, "404": _ERRORS["404"]})


@bp.get("/documents/<id:document_id>")
def get_document_api(document_id: int) -> Any:
    """One document with its versions (the view is audited)."""
    doc = _load(document_id)
    record_access(db.session, "document.view", doc, actor=current_actor(), ip=client_ip())
    return jsonify(document_json(doc))


document("/documents/{id}", "patch", "Modifier les métadonnées (seuls les champs envoyés changent)",
         params=[_ID_PARAM], body={"content": {
             "application/json": {"schema": {"type": "object", "properties": _META_PROPS}},
             "application/x-www-form-urlencoded": {"schema": {"type": "object", "properties": _META_PROPS}}}},
         responses={"200": {"description": "Le document modifié"}, **_ERRORS})


@bp.patch("/documents/<id:document_id>")
@writer_required
def patch_document(document_id: int) -> Any:
    """Change some metadata of a document."""
    doc = _load(document_id)
    data = _payload()
    unknown = sorted(k for k in data if k not in FIELDS and k != "csrf_token")
    if unknown:
        raise ValidationError("Champs inconnus : " + ", ".join(unknown[:10]) + ".",
                              errors={k: "Champ inconnu." for k in unknown[:10]})
    meta = parse_metadata(data, Metadata.of(doc))
    try:
        update_metadata(db.session, doc, actor=current_actor(), meta=meta, ip=client_ip())
    except ValidationError as exc:
        raise _api_errors(exc) from None
    except locking.LockedDocument as exc:
        raise locking.LockedDocument(exc.message, errors={API_NAME.get(k, k): v for k, v in exc.errors.items()}) \
            from None
    return jsonify(document_json(doc))


document("/documents/{id}/versions", "post", "Ajouter une version", params=[_ID_PARAM], body={
    "content": {"multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
        "file": {"type": "string", "format": "binary"}, "comment": {"type": "string"}}}}}},
    responses={"201": {"description": "Version ajoutée"}, **_ERRORS})


@bp.post("/documents/<id:document_id>/versions")
@writer_required
def create_version(document_id: int) -> Any:
    """Add a new version; earlier ones stay downloadable."""
    doc = _load(document_id)
    upload = _upload()
    with _spooled(upload) as path:
        try:
            version = add_version(db.session, storage(), doc, actor=current_actor(), path=path,
                                  filename=upload.filename or "document", comment=request.form.get("comment", ""),
                                  origin={"source": "api"}, ip=client_ip())
        except DuplicateDocument as exc:
            return _duplicate(exc)
    return jsonify(version_json(doc, version)), 201


document("/documents/{id}/versions/{n}/file", "get", "Télécharger une version", params=[
    _ID_PARAM, {"name": "n", "in": "path", "required": True, "schema": ID_SCHEMA}],
    responses={"200": {"description": "Le fichier (Content-Disposition RFC 6266)"}, "404": _ERRORS["404"]},
    success_content={"*/*": {"schema": {"type": "string", "format": "binary"}}})


@bp.get("/documents/<id:document_id>/versions/<id:number>/file")
def download_version(document_id: int, number: int) -> Any:
    """The bytes of one version, as an attachment (the download is audited)."""
    doc = _load(document_id)
    version = get_version(db.session, current_actor(), doc.id, number)
    path = storage().local_path(version.sha256)
    record_access(db.session, "document.download", doc, actor=current_actor(), ip=client_ip(), version=number)
    # werkzeug writes filename= (ASCII) and filename*=UTF-8'' (RFC 6266/5987); the stored name has no CR/LF.
    return send_file(path, mimetype=version.mime_type, as_attachment=True, download_name=version.filename,
                     max_age=0, etag=version.sha256)


document("/documents/{id}", "delete", "Mettre un document à la corbeille (restaurable)", params=[_ID_PARAM],
         responses={"200": {"description": "Le document, à la corbeille"}, **_ERRORS})


@bp.delete("/documents/<id:document_id>")
@writer_required
def delete_document(document_id: int) -> Any:
    """Send a document to the trash (restorable by its region's staff); a locked record answers 409."""
    doc = _load(document_id)
    trash_document(db.session, doc, actor=current_actor(), ip=client_ip())
    return jsonify(document_json(doc, versions=False))
