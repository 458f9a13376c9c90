"""API endpoints: unlock and relock a locked record (admins), restore from the trash (staff).

Same verbs as the web pages and the CLI (``documents.locking``, ``documents.archive``).
"""

from __future__ import annotations

from typing import Any

from flask import abort, jsonify

from documents import locking, permissions
from documents.archive import restore_document
from documents.errors import ValidationError
from documents.models import Document
from intranet.api import bp, document
from intranet.api.documents import _ERRORS, _ID_PARAM, _load, _payload, document_json
from intranet.extensions import db
from intranet.web import admin_required, client_ip, current_actor, deny, writer_required

_ADMIN = {"403": {"description": "Réservé aux administrateurs"}, "404": _ERRORS["404"]}

document("/documents/{id}/unlock", "post", "Déverrouiller un document verrouillé, avec un motif (administrateurs)",
         params=[_ID_PARAM], body={"content": {
             "application/json": {"schema": {"type": "object", "required": ["reason"], "properties": {
                 "reason": {"type": "string", "description": "Motif écrit, conservé dans le journal"}}}}}},
         responses={"200": {"description": "Le document, déverrouillé"}, **_ADMIN,
                    "409": {"description": "Document non verrouillé, ou déjà déverrouillé"},
                    "422": {"description": "Motif manquant ou trop long"}})


@bp.post("/documents/<id:document_id>/unlock")
@admin_required
def unlock_document_api(document_id: int) -> Any:
    """Unlock a locked record with a written reason (audited)."""
    doc = _load(document_id)
    data = _payload()
    reason = data.get("reason")
    if reason is not None and not isinstance(reason, str):
        raise ValidationError("Le motif doit être un texte.", errors={"reason": "Texte attendu."})
    locking.unlock_document(db.session, doc, actor=current_actor(), reason=reason or "", ip=client_ip())
    db.session.commit()
    return jsonify(document_json(doc))


document("/documents/{id}/lock", "post", "Reverrouiller un document déverrouillé (administrateurs)",
         params=[_ID_PARAM], responses={"200": {"description": "Le document, reverrouillé"}, **_ADMIN,
                                        "409": {"description": "Document non déverrouillé"}})


@bp.post("/documents/<id:document_id>/lock")
@admin_required
def lock_document_api(document_id: int) -> Any:
    """Lock again a record an administrator had unlocked (audited)."""
    doc = _load(document_id)
    locking.lock_document(db.session, doc, actor=current_actor(), ip=client_ip())
    db.session.commit()
    return jsonify(document_json(doc))


document("/documents/{id}/restore", "post", "Restaurer un document de la corbeille (équipe de sa région)",
         params=[_ID_PARAM], responses={"200": {"description": "Le document, restauré"},
                                        "403": _ERRORS["403"], "404": _ERRORS["404"]})


@bp.post("/documents/<id:document_id>/restore")
@writer_required
def restore_document_api(document_id: int) -> Any:
    """Bring a document back from the trash, within the regions the caller may change."""
    doc = db.session.get(Document, document_id)
    if doc is None or not doc.in_trash:
        if doc is not None and not permissions.can_read_region(current_actor(), doc.region_code):
            deny("document", document_id, region_code=doc.region_code)
        abort(404)
    if not permissions.can_write_region(current_actor(), doc.region_code):
        deny("document", document_id, region_code=doc.region_code)
    restore_document(db.session, doc, actor=current_actor(), ip=client_ip())
    return jsonify(document_json(doc))
