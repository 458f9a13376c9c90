"""API endpoints: a region's agreements year by year, and the amounts of one agreement (read, replace).

Same verbs as the web pages and the CLI (``documents.agreements``). Amounts travel as decimal
strings with two decimals (« 12500.50 »), never as floats; on input a string (« 12 500,50 »,
« 12500.50 ») or a JSON number is accepted.
"""

from __future__ import annotations

from typing import Any

from flask import abort, jsonify

from documents.agreements import amounts as A
from documents.agreements import timeline as T
from documents.errors import NotFound, ValidationError
from documents.models import Document
from intranet.api import bp, document
from intranet.api.documents import _ID_PARAM, _load, _payload
from intranet.extensions import db
from intranet.web import client_ip, current_actor, deny

_MONEY = {"type": "string", "nullable": True, "pattern": r"^\d+\.\d{2}$",
          "description": "Montant en euros, deux décimales (« 12500.50 ») ; null : non renseigné"}
_LINES = {"type": "object", "properties": {key: _MONEY for key in A.LINE_KEYS}}
_LINE_KEYS_TEXT = ", ".join(f"{line.key} ({line.label})" for line in A.LINES)
_AGREEMENT_PROPERTIES: dict[str, object] = {
    "id": {"type": "integer"}, "title": {"type": "string"}, "type": {"type": "string"},
    "region": {"type": "string", "nullable": True}, "year": {"type": "integer", "nullable": True},
    "status": {"type": "string"}, "status_label": {"type": "string"},
    "signature_date": {"type": "string", "format": "date", "nullable": True},
    "effective_date": {"type": "string", "format": "date", "nullable": True},
    "amounts": _LINES, "total": _MONEY}
_AGREEMENT = {"type": "object", "properties": _AGREEMENT_PROPERTIES}
_APPLIED = {"type": "object", "properties": {
    **_AGREEMENT_PROPERTIES, "applied": _LINES, "applied_total": _MONEY,
    "changed_by": {"type": "object", "additionalProperties": {"type": "integer"},
                   "description": "Ligne → avenant dont le montant est en vigueur"},
    "avenants": {"type": "array", "items": _AGREEMENT}, "parent_id": {"type": "integer", "nullable": True}}}
_TIMELINE = {"type": "object", "required": ["region", "rows"], "properties": {
    "region": {"type": "object", "properties": {"code": {"type": "string"}, "name": {"type": "string"}}},
    "codes": {"type": "array", "items": {"type": "string"}},
    "rows": {"type": "array", "items": {"type": "object", "properties": {
        "year": {"type": "integer", "nullable": True}, "amounts": _LINES, "total": _MONEY,
        "conventions": {"type": "array", "items": _APPLIED}, "contracts": {"type": "array", "items": _APPLIED},
        "loose_avenants": {"type": "array", "items": _AGREEMENT}}}}}}
_AMOUNTS = {"type": "object", "required": ["document_id", "amounts"], "properties": {
    "document_id": {"type": "integer"}, "type": {"type": "string"}, "amounts": _LINES, "total": _MONEY,
    "sources": {"type": "object", "properties": {key: {"type": "string", "nullable": True, "enum": [
        A.SOURCE_ENTERED, A.SOURCE_DRAFT, None]} for key in A.LINE_KEYS}},
    "in_force": {**_LINES, "nullable": True, "description": "Convention ou contrat : montants après avenants"},
    "in_force_total": _MONEY,
    "avenants": {"type": "array", "items": {"type": "integer"}},
    "modifies": {"type": "array", "items": {"type": "integer"}}}}
_CODE_PARAM = {"name": "code", "in": "path", "required": True,
               "schema": {"type": "string", "minLength": 1, "maxLength": T.MAX_CODE}}


def _json(content: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": content}}


document(
    "/regions/{code}/agreements", "get",
    "Conventions, avenants et contrats d'objectifs d'une région (avec les régions qu'elle a remplacées), année "
    "par année : les quatre lignes et le total en vigueur, avenants appliqués dans l'ordre de leur signature",
    params=[_CODE_PARAM],
    responses={"200": {"description": "Une ligne par année", "content": _json(_TIMELINE)},
               "404": {"description": "Région inconnue, ou hors du périmètre du compte"}},
)


@bp.get("/regions/<code>/agreements")
def region_agreements(code: str) -> Any:
    """A region's timeline in the caller's scope."""
    try:
        timeline = T.region_timeline(db.session, current_actor(), code)
    except NotFound:
        deny("region", code[:T.MAX_CODE])
        raise
    return jsonify(T.timeline_json(timeline))


def _agreement(document_id: int) -> Document:
    doc = _load(document_id)
    if not A.is_agreement(doc):
        abort(404, "Ce document n'est ni une convention, ni un avenant, ni un contrat d'objectifs : "
                   "il n'a pas de montants.")
    return doc


def _amounts_json(doc: Document) -> dict[str, Any]:
    view = T.agreement_view(db.session, current_actor(), doc)
    amounts = view.agreement.amounts
    applied = view.applied
    return {
        "document_id": doc.id, "type": doc.doc_type,
        "amounts": {key: A.amount_json(value) for key, value in amounts.values.items()},
        "total": A.amount_json(amounts.total),
        "sources": {item.line.key: item.source for item in amounts.lines},
        "in_force": {key: A.amount_json(v) for key, v in applied.lines.items()} if applied else None,
        "in_force_total": A.amount_json(applied.total) if applied else None,
        "avenants": [a.id for a in applied.avenants] if applied else [],
        "modifies": [a.id for a in view.modifies],
    }


document(
    "/documents/{id}/amounts", "get",
    "Montants des quatre lignes d'une convention, d'un avenant ou d'un contrat d'objectifs (saisis, ou repris "
    "du brouillon d'origine), et montants en vigueur après avenants",
    params=[_ID_PARAM],
    responses={"200": {"description": "Les montants", "content": _json(_AMOUNTS)},
               "404": {"description": "Document introuvable (ou d'une autre région), ou qui n'est pas un accord"}},
)


@bp.get("/documents/<id:document_id>/amounts")
def get_amounts(document_id: int) -> Any:
    """The amounts of one agreement."""
    return jsonify(_amounts_json(_agreement(document_id)))


_VALUE = {"anyOf": [{"type": "string", "maxLength": 40}, {"type": "number", "minimum": 0}], "nullable": True,
          "description": "« 12500.50 », « 12 500,50 » ou un nombre ; vide ou null : non renseigné "
                         "(sur un avenant : ligne inchangée)"}

document(
    "/documents/{id}/amounts", "put",
    "Remplacer les montants saisis d'un accord : les lignes absentes ou nulles redeviennent non renseignées "
    f"(celles d'un brouillon d'origine reprennent sa valeur). Lignes : {_LINE_KEYS_TEXT}. Sur un avenant, un "
    "montant est le nouveau montant de sa ligne. Un accord signé (verrouillé) accepte seulement les lignes encore "
    "vides.",
    params=[_ID_PARAM],
    body={"required": True, "content": _json({"type": "object", "additionalProperties": False,
                                              "properties": {key: _VALUE for key in A.LINE_KEYS}})},
    responses={
        "200": {"description": "Les montants enregistrés", "content": _json(_AMOUNTS)},
        "403": {"description": "Compte en lecture seule, ou région non autorisée"},
        "404": {"description": "Document introuvable (ou d'une autre région)"},
        "409": {"description": "Accord signé (verrouillé) : un montant déjà connu ne change plus"},
        "422": {"description": "Montant refusé (négatif, trop grand, plus de deux décimales, caractère nul…), "
                               "ligne inconnue, ou document qui n'est pas un accord ; « fields » détaille chaque "
                               "ligne"},
    },
)


@bp.put("/documents/<id:document_id>/amounts")
def put_amounts(document_id: int) -> Any:
    """Replace the entered amounts of one agreement (audited)."""
    doc = _load(document_id)
    data = _payload()
    if not isinstance(data, dict):
        raise ValidationError("Corps JSON invalide : envoyez un objet.")
    values: dict[str, object] = {key: None for key in A.LINE_KEYS}
    # A browser session may send its CSRF token in the form rather than in the header: not a line.
    values.update({key: value for key, value in data.items() if key != "csrf_token"})
    A.set_amounts(db.session, doc, actor=current_actor(), amounts=values, ip=client_ip())
    db.session.commit()
    return jsonify(_amounts_json(doc))
