"""API endpoints: Word models (list, describe, upload) and rendering a draft from JSON values.

``POST /api/v1/templates/<id>/render`` goes through ``documents.drafting.generate_draft``,
like the generation form: the same validation (422 with one message per field), the same
permission checks (the region must be writable by the caller), the same filing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import jsonify, request, send_file, url_for
from werkzeug.exceptions import BadRequest

from documents import drafting, permissions
from documents.bounds import MAX_ID, YEAR_MAX, YEAR_MIN, check_year, parse_year
from documents.errors import ValidationError
from documents.generation import FieldSpec
from intranet.api import bp, document
from intranet.api.documents import document_json
from intranet.extensions import db, storage
from intranet.web import admin_required, client_ip, current_actor, error_response, writer_required

DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
_KEY_PARAM = {"name": "id", "in": "path", "required": True, "description": "Identifiant ou slug du modèle",
              "schema": {"type": "string"}}


def field_json(spec: FieldSpec) -> dict[str, Any]:
    """JSON form of a field."""
    data: dict[str, Any] = {"name": spec.name, "label": spec.label, "type": spec.type, "required": spec.required,
                            "computed": spec.computed, "default": spec.default, "help": spec.help}
    if spec.subfields:
        data["subfields"] = [field_json(sub) for sub in spec.subfields]
    if spec.sum_of:
        data["sum_of"] = list(spec.sum_of)
    return data


def template_json(info: drafting.TemplateInfo) -> dict[str, Any]:
    """JSON form of a model with its fields."""
    return {
        "id": info.id, "slug": info.slug, "title": info.title, "output_type": info.output_type,
        "builtin": info.builtin, "description": info.description, "version": info.version.number,
        "fields": [field_json(s) for s in drafting.template_fields(db.session, info)],
        "url": url_for("api.get_template_api", key=info.slug),
        "render_url": url_for("api.render_template_api", key=info.id),
    }


document("/templates", "get", "Modèles Word disponibles, avec leurs champs")


@bp.route("/templates")
def list_templates_api() -> Any:
    """Every model, with its fields."""
    items = [template_json(t) for t in drafting.list_templates(db.session, storage())]
    return jsonify({"items": items, "total": len(items)})


document("/templates/{id}", "get", "Un modèle et ses champs", params=[_KEY_PARAM],
         responses={"200": {"description": "Le modèle"}, "404": {"description": "Modèle inconnu"}})


@bp.route("/templates/<key>")
def get_template_api(key: str) -> Any:
    """One model by id or slug."""
    return jsonify(template_json(drafting.get_template(db.session, storage(), key)))


document("/templates", "post", "Déposer un modèle Word (administrateurs)", body={
    "content": {"multipart/form-data": {"schema": {"type": "object", "required": ["file", "title", "output_type"],
                "properties": {"file": {"type": "string", "format": "binary"}, "title": {"type": "string"},
                               "output_type": {"type": "string"}, "description": {"type": "string"}}}}}},
    responses={"201": {"description": "Modèle enregistré"}, "403": {"description": "Réservé aux administrateurs"},
               "422": {"description": "Modèle refusé : « problems » nomme chaque balise fautive"}})


@bp.route("/templates", methods=["POST"])
@admin_required
def upload_template_api() -> Any:
    """An administrator files a Word model; it is checked first, each faulty tag named."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ValidationError("Joignez le modèle dans le champ « file ».", errors={"file": "Fichier manquant."})
    try:
        info = drafting.upload_template(
            db.session, storage(), actor=current_actor(), data=upload.read(drafting.generation.MAX_TEMPLATE_BYTES + 1),
            filename=upload.filename, title=request.form.get("title", ""),
            output_type=request.form.get("output_type", ""), description=request.form.get("description", ""),
            ip=client_ip(),
        )
    except drafting.TemplateRejected as exc:
        db.session.commit()  # the refusal is audited although the answer is a 4xx
        response, status = error_response(422, exc.message, errors=exc.errors)
        payload = response.get_json()
        payload["error"]["problems"] = [p.to_dict() for p in exc.problems]
        return jsonify(payload), status
    return jsonify(template_json(info)), 201


document("/templates/{id}/render", "post", "Générer et classer un brouillon à partir de valeurs JSON",
         params=[_KEY_PARAM, {"name": "file", "in": "query", "required": False, "schema": {"type": "integer"},
                              "description": "1 : répondre par le .docx au lieu du JSON"}],
         body={"content": {"application/json": {"schema": {"type": "object", "properties": {
             "region": {"type": "string", "description": "Code de région, ou « national »"},
             "year": {"type": "integer", "minimum": YEAR_MIN, "maximum": YEAR_MAX},
             "values": {"type": "object", "description": "Valeurs des champs (voir GET /templates/{id})"},
             "prefill": {"type": "boolean", "description": "Compléter par le référentiel et l'an dernier "
                                                           "(vrai par défaut)"},
             "modifies": {"type": "integer", "minimum": 1, "maximum": MAX_ID,
                          "description": "Pour un avenant : numéro de la convention (ou du contrat d'objectifs) "
                                         "qu'il modifie ; le brouillon lui est lié (« modifie »)"}}}}}},
         responses={"201": {"description": "Brouillon classé ; « download_url » donne le .docx"},
                    "403": {"description": "Région non autorisée ou compte en lecture seule"},
                    "404": {"description": "Modèle inconnu"},
                    "409": {"description": "Un brouillon identique existe déjà"},
                    "422": {"description": "Valeurs refusées ; « fields » détaille chaque champ"}},
         success_content={"application/json": {"schema": {"type": "object"}},
                          DOCX_MIME: {"schema": {"type": "string", "format": "binary"}}})


@bp.route("/templates/<key>/render", methods=["POST"])
@writer_required
def render_template_api(key: str) -> Any:
    """Validate JSON values, render, file the draft; answer its JSON (or the .docx with ?file=1)."""
    template = drafting.get_template(db.session, storage(), key)
    try:
        body = request.get_json(force=True, silent=False)
    except BadRequest:
        body = None
    if not isinstance(body, dict):
        raise ValidationError("Envoyez un objet JSON : {\"region\": \"11\", \"year\": 2026, \"values\": {…}}.",
                              errors={"body": "JSON attendu."})
    values = body.get("values") or {}
    if not isinstance(values, dict):
        raise ValidationError("« values » doit être un objet JSON.", errors={"values": "Objet attendu."})
    region = str(body.get("region") or "").strip() or None
    if region == permissions.NATIONAL:
        region = None
    year_raw = body.get("year", dt.date.today().year)
    year = year_raw if isinstance(year_raw, int) and not isinstance(year_raw, bool) else \
        parse_year(year_raw) if isinstance(year_raw, str) else None
    if year is None:
        raise ValidationError("« year » doit être une année, par exemple 2026.", errors={"year": "Année invalide."})
    check_year(year)  # the verb checks too; refusing here spares the prefill queries
    raw = dict(values)
    if body.get("prefill", True):
        raw = {**drafting.prefill(db.session, template, region, year), **values}
    modifies = body.get("modifies")
    if modifies is not None and (not isinstance(modifies, int) or isinstance(modifies, bool)
                                 or not 1 <= modifies <= MAX_ID):
        raise ValidationError("« modifies » doit être le numéro d'un document.", errors={"modifies": "Numéro attendu."})
    result = drafting.generate_draft(db.session, storage(), actor=current_actor(), template=template, raw=raw,
                                     region_code=region, year=year, ip=client_ip(), modifies_id=modifies)
    version = result.version
    if request.args.get("file") in ("1", "true", "oui"):
        response = send_file(storage().local_path(version.sha256), mimetype=version.mime_type, as_attachment=True,
                             download_name=version.filename, max_age=0, etag=False)
        response.headers["Cache-Control"] = "private, no-store"
        response.headers["Location"] = url_for("api.get_document_api", document_id=result.document.id)
        return response, 201
    payload = {
        "document": document_json(result.document),
        "version": version.number,
        "download_url": url_for("api.download_version", document_id=result.document.id, number=version.number),
        "page_url": url_for("drafting.draft_page", document_id=result.document.id),
        "generation": {"id": result.generation.id, "template_id": template.id, "template_slug": template.slug,
                       "template_version": result.generation.template_version,
                       "values": result.generation.input_values},
    }
    return jsonify(payload), 201
