"""API endpoints of the signature track: read it, and add a step (same verbs as the page and the CLI).

``POST /documents/{id}/signature`` takes JSON, or a multipart form when the step is the last
signature and carries the signed scan in ``file``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from flask import current_app, jsonify, request, url_for
from sqlalchemy import select

from documents import signatures
from documents.bounds import has_nul, row_id
from documents.errors import ValidationError
from documents.intake import parse_date
from documents.models import Document, Organisation, SignatureStep, StepKind, User
from intranet.api import bp, document
from intranet.api.documents import _ERRORS, _ID_PARAM, _duplicate, _load, _payload, _spooled
from intranet.extensions import db, storage
from intranet.web import client_ip, current_actor, writer_required

_STEP_PROPS: dict[str, Any] = {
    "step": {"type": "string", "enum": ["envoi", "coordination", "drac", "signataire", "retour"],
             "description": "Étape à enregistrer : envoi, coordination, drac, signataire (protocole) ou retour "
                            "(en brouillon)"},
    "date": {"type": "string", "format": "date", "description": "Date de l'envoi ou de la signature (par défaut : "
                                                               "aujourd'hui) ; jamais dans le futur"},
    "recipient": {"type": "string", "description": "envoi : personne ou organisation destinataire"},
    "recipient_user": {"type": "integer", "minimum": 1,
                       "description": "envoi : compte destinataire, prévenu par courriel et relancé (facultatif)"},
    "signatory": {"type": "string", "description": "signataire : identifiant ou slug du signataire national"},
    "reason": {"type": "string", "description": "retour : motif du retour en brouillon"},
    "comment": {"type": "string", "description": "Dernière signature : commentaire de la version signée"},
}
_STEP_SCHEMA = {"type": "object", "required": ["step"], "properties": _STEP_PROPS}
_MULTIPART_SCHEMA = {"type": "object", "required": ["step"], "properties": {
    **_STEP_PROPS, "file": {"type": "string", "format": "binary",
                            "description": "Dernière signature : le scan du document signé"}}}
_FIELDS = frozenset(_STEP_PROPS) | {"file", "csrf_token"}


def step_json(doc: Document, step: SignatureStep) -> dict[str, Any]:
    """JSON form of a step."""
    return {
        "cycle": step.cycle, "seq": step.seq, "kind": step.kind,
        "label": signatures.step_label(StepKind(step.kind), doc, step.organisation, step.signatory),
        "date": step.step_date.isoformat(), "signatory": step.signatory or None,
        "organisation": ({"id": step.organisation.id, "slug": step.organisation.slug,
                          "name": step.organisation.name} if step.organisation else None),
        "recipient_user": step.recipient.email if step.recipient else None, "reason": step.reason or None,
        "version": step.version.number if step.version else None,
        "recorded_by": step.actor.email if step.actor else None,
        "recorded_at": step.created_at.isoformat() if step.created_at else None,
    }


def track_json(doc: Document) -> dict[str, Any]:
    """JSON form of a document's signature track."""
    track = signatures.track_of(db.session, doc)
    nxt = track.next
    return {
        "document_id": doc.id, "status": doc.status, "status_label": doc.status_label,
        "signable": signatures.is_signable(doc), "cycle": track.cycle,
        "signature_date": doc.signature_date.isoformat() if doc.signature_date else None,
        "since": track.since.isoformat() if track.since and track.open else None,
        "next": None if nxt is None else {
            "step": nxt.kind.value, "label": nxt.label, "final": nxt.final,
            "signatories": [{"id": o.id, "slug": o.slug, "name": o.name} for o in nxt.signatories]},
        "steps": [step_json(doc, s) for s in track.steps],
        "history": [step_json(doc, s) for s in track.history],
        "url": url_for("api.get_signature_api", document_id=doc.id),
    }


_TRACK = {"application/json": {"schema": {"type": "object", "required": ["document_id", "status", "steps"],
                                          "properties": {"document_id": {"type": "integer"},
                                                         "status": {"type": "string"},
                                                         "steps": {"type": "array", "items": {"type": "object"}},
                                                         "history": {"type": "array", "items": {"type": "object"}},
                                                         "next": {"type": "object", "nullable": True}}}}}

document("/documents/{id}/signature", "get", "Circuit de signature d'un document (étapes, étape attendue)",
         params=[_ID_PARAM], responses={"200": {"description": "Le circuit", "content": _TRACK},
                                        "404": _ERRORS["404"]})


@bp.get("/documents/<id:document_id>/signature")
def get_signature_api(document_id: int) -> Any:
    """The signature track of a readable document."""
    return jsonify(track_json(_load(document_id)))


document("/documents/{id}/signature", "post",
         "Ajouter une étape au circuit de signature (envoi, signature, retour en brouillon)",
         params=[_ID_PARAM],
         body={"required": True, "content": {"application/json": {"schema": _STEP_SCHEMA},
                                             "multipart/form-data": {"schema": _MULTIPART_SCHEMA}}},
         responses={"201": {"description": "Étape enregistrée ; le circuit", "content": _TRACK},
                    "403": _ERRORS["403"], "404": _ERRORS["404"],
                    "409": {"description": "Étape hors d'ordre, document déjà en signature ou signé (verrouillé), "
                                           "ou scan identique à la version actuelle"},
                    "422": {"description": "Données refusées (type sans circuit, date future ou hors ordre, "
                                           "destinataire, motif ou scan manquant) ; « fields » détaille"}})


def _text(data: Mapping[str, Any], name: str) -> str:
    value = data.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationError(f"Le champ « {name} » doit être un texte.", errors={name: "Texte attendu."})
    return value


def _date(data: Mapping[str, Any]) -> dt.date:
    from intranet.library.views import today_paris

    raw = _text(data, "date").strip()
    if not raw:
        return today_paris()
    day = parse_date(raw)
    if day is None:
        raise ValidationError("Date attendue au format AAAA-MM-JJ.", errors={"date": "Date invalide."})
    return day


def _user(data: Mapping[str, Any]) -> User | None:
    raw = data.get("recipient_user")
    if raw is None or raw == "":
        return None
    found = db.session.get(User, row_id(raw)) if row_id(raw) is not None else None
    if found is None:
        raise ValidationError("Compte destinataire inconnu.", errors={"recipient_user": "Compte inconnu."})
    return found


def _organisation(data: Mapping[str, Any]) -> Organisation | None:
    raw = _text(data, "signatory").strip() if not isinstance(data.get("signatory"), int) else str(data["signatory"])
    if not raw:
        return None
    org = db.session.get(Organisation, row_id(raw)) if row_id(raw) is not None else \
        db.session.scalar(select(Organisation).where(Organisation.slug == raw[:120]))
    if org is None:
        raise ValidationError("Signataire inconnu du référentiel.", errors={"signatory": "Signataire inconnu."})
    return org


@bp.post("/documents/<id:document_id>/signature")
@writer_required
def post_signature_api(document_id: int) -> Any:
    """Add one step to the track; the last signature needs the signed scan (multipart ``file``)."""
    from intranet.library.views import today_paris

    doc = _load(document_id)
    data = _payload()
    if has_nul(dict(data)):
        raise ValidationError("Le texte envoyé contient un caractère nul (\\0), refusé.")
    unknown = sorted(k for k in data if k not in _FIELDS)
    if unknown:
        raise ValidationError("Champs inconnus : " + ", ".join(unknown[:10]) + ".",
                              errors={k[:50]: "Champ inconnu." for k in unknown[:10]})
    step = _text(data, "step").strip()
    today = today_paris()
    actor, ip = current_actor(), client_ip()
    if step == StepKind.ENVOI.value:
        signatures.send_for_signature(db.session, doc, actor=actor, recipient=_text(data, "recipient"),
                                      recipient_user=_user(data), on=_date(data), today=today, ip=ip,
                                      base_url=current_app.config["BASE_URL"])
    elif step == StepKind.RETOUR.value:
        signatures.return_to_draft(db.session, doc, actor=actor, reason=_text(data, "reason"), today=today, ip=ip)
    elif step in (StepKind.COORDINATION.value, StepKind.DRAC.value, StepKind.SIGNATAIRE.value):
        upload = request.files.get("file")
        kwargs: dict[str, Any] = {"actor": actor, "kind": step, "on": _date(data), "organisation": _organisation(data),
                                  "comment": _text(data, "comment"), "today": today, "ip": ip}
        from documents.archive import DuplicateDocument

        try:
            if upload is not None and upload.filename:
                with _spooled(upload) as path:
                    signatures.record_signature(db.session, storage(), doc, scan=path, filename=upload.filename,
                                                **kwargs)
            else:
                signatures.record_signature(db.session, storage(), doc, **kwargs)
        except DuplicateDocument as exc:
            return _duplicate(exc)
    else:
        raise ValidationError("Étape inconnue : envoi, coordination, drac, signataire ou retour.",
                              errors={"step": "Étape inconnue."})
    db.session.commit()
    return jsonify(track_json(doc)), 201
