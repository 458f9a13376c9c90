"""API endpoints: meetings of the committees, their minutes' workflow and comments.

Same scope as the HTML pages: another region's meeting answers 404 (denial logged), a
change to a meeting one may only read answers 403 (logged).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import abort, jsonify, request, url_for

from documents.bounds import MAX_ID, YEAR_MAX, YEAR_MIN, parse_year, row_id
from documents.calendar import aware
from documents.committees import minutes
from documents.committees.attachments import readable_attachments
from documents.committees.dates import paris_datetime
from documents.committees.decisions import decision_sentence
from documents.committees.meetings import MeetingInput, schedule_meeting
from documents.committees.scope import can_comment, can_manage, visible_meetings
from documents.errors import ValidationError
from documents.models import Meeting
from documents.regions import covered_codes
from intranet.api import ID_SCHEMA, bp, document, query_param
from intranet.api.views import PAGE_PARAMS, page_payload
from intranet.committees.helpers import load_committee, load_meeting, notifier
from intranet.extensions import db
from intranet.pagination import paginate, parse_page_args
from intranet.web import client_ip, current_actor, deny

_ERRORS = {"400": {"description": "Requête invalide"}, "404": {"description": "Réunion introuvable"},
           "409": {"description": "Étape du compte rendu impossible dans l'état actuel"},
           "422": {"description": "Données refusées (détail par champ)"}}


def _iso(value: dt.datetime | None) -> str | None:
    return aware(value).astimezone(dt.UTC).isoformat() if value else None


def meeting_summary(m: Meeting) -> dict[str, Any]:
    """JSON form of a meeting in lists."""
    return {
        "id": m.id, "title": m.title, "committee": {"id": m.committee.id, "name": m.committee.name,
                                                   "level": m.committee.level},
        "region": m.region_code, "starts_at": _iso(m.starts_at), "ends_at": _iso(m.ends_at),
        "place": m.place, "visio_url": m.visio_url, "status": m.status, "minutes_status": m.minutes_status,
        "url": url_for("committees.meeting", meeting_id=m.id),
    }


def meeting_detail(m: Meeting) -> dict[str, Any]:
    """JSON form of one meeting with agenda, attendance, decisions, actions and minutes."""
    user = current_actor()
    data = meeting_summary(m)
    doc = m.minutes_document if m.minutes_document is not None and not m.minutes_document.in_trash else None
    data.update({
        "notes": m.notes,
        "agenda": [{"position": i.position + 1, "title": i.title, "notes": i.notes} for i in m.agenda],
        "attendance": [{"id": a.id, "name": a.name, "organisation": a.organisation, "role": a.role,
                        "status": a.status, "represented_by": a.represented_by} for a in m.attendance],
        "documents": [{"id": d.id, "title": d.title, "type": d.doc_type}
                      for d in readable_attachments(user, m)],
        "decisions": [{"id": d.id, "kind": d.kind, "text": d.text, "sentence": decision_sentence(d),
                       "project_name": d.project_name, "porteur": d.porteur, "commune": d.commune,
                       "quartier": d.quartier_code, "actions_concerned": d.actions_concerned}
                      for d in m.decisions],
        "actions": [{"id": a.id, "title": a.title, "owner": a.owner,
                     "due_date": a.due_date.isoformat() if a.due_date else None, "status": a.status}
                    for a in m.actions],
        "minutes": {
            "status": m.minutes_status,
            "document_id": doc.id if doc else None,
            "current_version": doc.current.number if doc and doc.current else None,
            "submitted_version": m.minutes_submitted_version,
            "approved_version": m.minutes_approved_version,
            "approved_at": _iso(m.minutes_approved_at),
            "comments": len(m.comments),
        },
        "can_manage": can_manage(user, m),
    })
    return data


def _body() -> dict[str, Any]:
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        abort(400, "Envoyez un objet JSON (Content-Type: application/json).")
    return payload


def _datetime(value: Any, field: str) -> dt.datetime | None:
    if value in (None, ""):
        return None
    try:
        parsed = dt.datetime.fromisoformat(str(value))
    except ValueError:
        raise ValidationError("Date invalide.", errors={
            field: "Date et heure au format ISO 8601, par exemple 2026-03-12T14:00:00+01:00."}) from None
    if not YEAR_MIN <= parsed.year <= YEAR_MAX:
        raise ValidationError("Date invalide.", errors={field: f"Année entre {YEAR_MIN} et {YEAR_MAX} attendue."})
    # A time without offset is a Paris wall-clock time, as in the forms.
    return parsed if parsed.tzinfo else paris_datetime(parsed.date(), parsed.time())


def _text(payload: dict[str, Any], key: str) -> str:
    value = payload.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationError("Type de valeur invalide.", errors={key: "Une chaîne de caractères est attendue."})
    return value


document("/meetings", "get", "Réunions des comités visibles, paginées", params=[
    query_param("committee", "Identifiant du comité", "integer", minimum=1, maximum=MAX_ID),
    query_param("region", "Code de région ou national"),
    query_param("year", "Année", "integer", minimum=YEAR_MIN, maximum=YEAR_MAX),
    query_param("minutes_status", "aucun, brouillon, soumis ou approuve"),
    *PAGE_PARAMS,
])


@bp.get("/meetings")
def meetings() -> Any:
    """Meetings the caller may see, newest first."""
    stmt = visible_meetings(current_actor())
    args = request.args
    if args.get("committee"):
        committee_id = row_id(args["committee"])
        if committee_id is None:
            abort(400, "Paramètre « committee » invalide : identifiant de comité attendu.")
        stmt = stmt.where(Meeting.committee_id == committee_id)
    region = (args.get("region") or "").strip()
    if region:
        stmt = stmt.where(Meeting.region_code.is_(None) if region == "national"
                          else Meeting.region_code.in_(sorted(covered_codes(region))))
    if args.get("year"):
        year = parse_year(args["year"])
        if year is None:
            abort(400, f"Paramètre « year » invalide : année entre {YEAR_MIN} et {YEAR_MAX} attendue.")
        stmt = stmt.where(Meeting.starts_at >= paris_datetime(dt.date(year, 1, 1), dt.time()),
                          Meeting.starts_at < paris_datetime(dt.date(year + 1, 1, 1), dt.time()))
    if args.get("minutes_status"):
        stmt = stmt.where(Meeting.minutes_status == args["minutes_status"])
    page_no, per_page = parse_page_args(args, strict=True)
    page = paginate(db.session, stmt.order_by(Meeting.starts_at.desc(), Meeting.id.desc()), page_no, per_page)
    return jsonify(page_payload(page, [meeting_summary(m) for m in page.items]))


document("/meetings", "post", "Planifier une réunion (les membres reçoivent l'invitation)", body={
    "required": True, "content": {"application/json": {"schema": {
        "type": "object", "required": ["committee_id", "starts_at"],
        "properties": {
            "committee_id": ID_SCHEMA,
            "title": {"type": "string"},
            "starts_at": {"type": "string", "format": "date-time",
                          "description": "ISO 8601 ; sans décalage, heure de Paris"},
            "ends_at": {"type": "string", "format": "date-time"},
            "place": {"type": "string"}, "visio_url": {"type": "string"}, "notes": {"type": "string"},
            "agenda": {"type": "array", "items": {"type": "string"}},
        }}}},
}, responses={"201": {"description": "Réunion créée"}, "403": {"description": "Comité en lecture seule"},
              **_ERRORS})


@bp.post("/meetings")
def create_meeting() -> Any:
    """Schedule a meeting of a committee the caller runs."""
    payload = _body()
    committee_id = payload.get("committee_id")
    if not isinstance(committee_id, int) or isinstance(committee_id, bool):
        raise ValidationError("Comité manquant.", errors={"committee_id": "Identifiant entier du comité attendu."})
    if row_id(committee_id) is None:
        abort(404)
    com = load_committee(committee_id, write=True)
    agenda = payload.get("agenda") or []
    if not isinstance(agenda, list) or not all(isinstance(a, str) for a in agenda):
        raise ValidationError("Ordre du jour invalide.", errors={"agenda": "Une liste de chaînes est attendue."})
    data = MeetingInput(starts_at=_datetime(payload.get("starts_at"), "starts_at"),
                        ends_at=_datetime(payload.get("ends_at"), "ends_at"), title=_text(payload, "title"),
                        place=_text(payload, "place"), visio_url=_text(payload, "visio_url"),
                        notes=_text(payload, "notes"), agenda=agenda)
    meeting = schedule_meeting(db.session, com, actor=current_actor(), data=data, notifier=notifier(),
                               ip=client_ip())
    response = jsonify(meeting_detail(meeting))
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_meeting", meeting_id=meeting.id)
    return response


_ID = [{"name": "meeting_id", "in": "path", "required": True, "schema": ID_SCHEMA}]

document("/meetings/{meeting_id}", "get", "Une réunion : ordre du jour, présences, décisions, actions, compte rendu",
         params=_ID, responses={"200": {"description": "Succès"}, **_ERRORS})


@bp.get("/meetings/<id:meeting_id>")
def get_meeting(meeting_id: int) -> Any:
    """One meeting."""
    return jsonify(meeting_detail(load_meeting(meeting_id)))


document("/meetings/{meeting_id}/minutes/submit", "post", "Soumettre le compte rendu (brouillon) aux membres",
         params=_ID, responses={"200": {"description": "Compte rendu soumis"}, **_ERRORS})


@bp.post("/meetings/<id:meeting_id>/minutes/submit")
def submit_minutes(meeting_id: int) -> Any:
    """Submit the draft minutes to the members."""
    m = load_meeting(meeting_id, write=True)
    minutes.submit_minutes(db.session, m, actor=current_actor(), notifier=notifier(), ip=client_ip())
    return jsonify(meeting_detail(m))


document("/meetings/{meeting_id}/minutes/reopen", "post", "Repasser le compte rendu soumis en brouillon",
         params=_ID, responses={"200": {"description": "Compte rendu en brouillon"}, **_ERRORS})


@bp.post("/meetings/<id:meeting_id>/minutes/reopen")
def reopen_minutes(meeting_id: int) -> Any:
    """Take submitted minutes back to draft."""
    m = load_meeting(meeting_id, write=True)
    minutes.reopen_minutes(db.session, m, actor=current_actor(), ip=client_ip())
    return jsonify(meeting_detail(m))


document("/meetings/{meeting_id}/minutes/approve", "post",
         "Approuver la version soumise (elle est enregistrée et verrouillée)",
         params=_ID, responses={"200": {"description": "Compte rendu approuvé"}, **_ERRORS})


@bp.post("/meetings/<id:meeting_id>/minutes/approve")
def approve_minutes(meeting_id: int) -> Any:
    """Approve the submitted version."""
    m = load_meeting(meeting_id, write=True)
    minutes.approve_minutes(db.session, m, actor=current_actor(), notifier=notifier(), ip=client_ip())
    return jsonify(meeting_detail(m))


document("/meetings/{meeting_id}/minutes/comments", "get", "Remarques des membres sur le compte rendu",
         params=_ID, responses={"200": {"description": "Succès"}, **_ERRORS})


def _comment(c: Any) -> dict[str, Any]:
    return {"id": c.id, "author": c.author_name, "version": c.version, "body": c.body,
            "created_at": _iso(c.created_at)}


@bp.get("/meetings/<id:meeting_id>/minutes/comments")
def minutes_comments(meeting_id: int) -> Any:
    """Comments on the minutes, oldest first."""
    m = load_meeting(meeting_id)
    items = [_comment(c) for c in m.comments]
    return jsonify({"items": items, "total": len(items)})


document("/meetings/{meeting_id}/minutes/comments", "post",
         "Ajouter une remarque (membres, pendant la soumission)", params=_ID, body={
             "required": True, "content": {"application/json": {"schema": {
                 "type": "object", "required": ["body"], "properties": {"body": {"type": "string"}}}}}},
         responses={"201": {"description": "Remarque enregistrée"}, "403": {"description": "Pas membre du comité"},
                    **_ERRORS})


@bp.post("/meetings/<id:meeting_id>/minutes/comments")
def add_minutes_comment(meeting_id: int) -> Any:
    """A member's remark on the submitted minutes."""
    m = load_meeting(meeting_id)
    payload = _body()
    if not can_comment(current_actor(), m):
        deny("meeting", m.id, region_code=m.region_code, status=403)
    comment = minutes.comment_minutes(db.session, m, actor=current_actor(), body=_text(payload, "body"), ip=client_ip())
    response = jsonify(_comment(comment))
    response.status_code = 201
    return response
