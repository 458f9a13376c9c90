"""API endpoints: the échéances in the caller's scope with their state, and recording how a term was handled.

Same verbs as the web page and the CLI (``documents.deadline_lists``, ``documents.deadline_store``).
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, request

from documents import archive, deadline_lists, deadline_store
from documents.bounds import MAX_ID
from documents.errors import NotFound, ValidationError
from intranet.api import bp, document, query_param
from intranet.api.documents import _ID_PARAM, _load, _payload
from intranet.api.views import PAGE_PARAMS, page_payload
from intranet.extensions import db
from intranet.library.views import today_paris
from intranet.pagination import MAX_PER_PAGE, Page, bounded_int_arg, parse_page_args
from intranet.web import client_ip, current_actor, writer_required

#: Largest look-ahead the list accepts (days).
MAX_DAYS = 3660
STATES = (deadline_lists.STATE_UPCOMING, deadline_lists.STATE_OVERDUE, deadline_lists.STATE_HANDLED)

_DEADLINE = {"type": "object", "properties": {
    "document_id": {"type": "integer"}, "title": {"type": "string"}, "type": {"type": "string"},
    "region": {"type": "string", "nullable": True}, "kind": {"type": "string", "enum": ["echeance", "reconduction", "preavis"]},
    "label": {"type": "string"}, "date": {"type": "string", "format": "date"}, "term": {"type": "integer"},
    "days_left": {"type": "integer"}, "state": {"type": "string", "enum": list(STATES)},
    "state_label": {"type": "string"}, "handling": {"type": "object", "nullable": True},
}}

document(
    "/deadlines", "get",
    "Échéances, dates de tacite reconduction et de préavis des accords visibles par le compte, avec leur état, "
    "paginées",
    params=[
        query_param("state", "a_venir, depassee (passée depuis moins d'un an sans suite) ou traitee ; "
                             "toutes par défaut"),
        query_param("days", f"Horizon en jours pour les dates à venir (90 par défaut, {MAX_DAYS} au plus)",
                    "integer", minimum=0, maximum=MAX_DAYS),
        *PAGE_PARAMS,
    ],
    responses={"200": {"description": "today, items (une entrée par date, la plus proche d'abord), total, page, "
                                      "per_page, pages", "content": {"application/json": {
        "schema": {"type": "object", "required": ["today", "items", "total", "page", "per_page", "pages"],
                   "properties": {"today": {"type": "string", "format": "date"},
                                  "items": {"type": "array", "items": _DEADLINE},
                                  "total": {"type": "integer", "minimum": 0},
                                  "page": {"type": "integer", "minimum": 1},
                                  "per_page": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE},
                                  "pages": {"type": "integer", "minimum": 1}}}}}}},
)


@bp.get("/deadlines")
def list_deadlines() -> Any:
    """Dates in the caller's scope: overdue, upcoming and handled, or one state only."""
    state = request.args.get("state") or None
    if state is not None and state not in STATES:
        raise ValidationError("Filtre refusé.", errors={"state": "Choisissez a_venir, depassee ou traitee."})
    days = bounded_int_arg(request.args, "days", 90, 0, MAX_DAYS)
    page_no, per_page = parse_page_args(request.args, strict=True)
    today = today_paris()
    # The list merges three selects (dépassées, à venir, traitées) and the rare tacit renewals computed
    # past their stored horizon, in date order: it is built whole (one scope, one year back, ``days``
    # ahead at most) and the page cut from it, so that the total is exact.
    rows = deadline_lists.deadlines_in_state(db.session, current_actor(), today=today, days=days, state=state)
    page = Page(items=rows[(page_no - 1) * per_page:page_no * per_page], total=len(rows), page=page_no,
                per_page=per_page)
    return jsonify({"today": today.isoformat(),
                    **page_payload(page, [deadline_lists.deadline_json(r) for r in page.items])})


document(
    "/documents/{id}/deadlines", "post",
    "Enregistrer la suite donnée à un terme : reconduite, dénoncée ou remplacée par un autre document",
    params=[_ID_PARAM],
    body={"required": True, "content": {"application/json": {"schema": {
        "type": "object", "required": ["term", "outcome"], "properties": {
            "term": {"type": "integer", "minimum": 0, "description": "0 pour le premier terme, n après n reconductions"},
            "outcome": {"type": "string", "enum": ["reconduite", "denoncee", "remplacee"]},
            "replacement_id": {"type": "integer", "minimum": 1, "description": "Pour « remplacee » : le document "
                                                                                "qui le remplace"},
            "note": {"type": "string", "maxLength": 2000}}}}}},
    responses={
        "201": {"description": "La suite enregistrée", "content": {"application/json": {"schema": {"type": "object"}}}},
        "403": {"description": "Compte en lecture seule, ou région non autorisée"},
        "404": {"description": "Document introuvable (ou d'une autre région), ou terme sans date"},
        "409": {"description": "Ce terme est déjà traité"},
        "422": {"description": "Données refusées ; « fields » détaille chaque champ"},
    },
)


@bp.post("/documents/<id:document_id>/deadlines")
@writer_required
def handle_deadline_api(document_id: int) -> Any:
    """Record the decision on one term of an agreement (audited)."""
    doc = _load(document_id)
    data = _payload()
    errors: dict[str, str] = {}
    term = _int(data.get("term"))
    if term is None or term < 0 or term > 100_000:
        errors["term"] = "Numéro de terme attendu (0 pour le premier)."
    outcome = data.get("outcome")
    if not isinstance(outcome, str) or outcome not in ("reconduite", "denoncee", "remplacee"):
        errors["outcome"] = "Choisissez reconduite, denoncee ou remplacee."
    replacement = None
    raw_replacement = data.get("replacement_id")
    if raw_replacement not in (None, ""):
        replacement_id = _int(raw_replacement)
        if replacement_id is None or not 1 <= replacement_id <= MAX_ID:
            errors["replacement_id"] = "Numéro de document attendu."
        else:
            try:
                replacement = archive.get_document(db.session, current_actor(), replacement_id)
            except NotFound:
                errors["replacement_id"] = "Document de remplacement introuvable."
    note = data.get("note", "")
    if not isinstance(note, str) or len(note) > 2000:
        errors["note"] = "Texte de 2000 caractères au plus attendu."
    if errors:
        raise ValidationError("Données refusées.", errors=errors)
    assert term is not None and isinstance(outcome, str) and isinstance(note, str)
    try:
        row = deadline_store.handle_term(db.session, doc, actor=current_actor(), term=term, outcome=outcome,
                                         replacement=replacement, note=note, ip=client_ip())
    except deadline_store.DeadlineError as exc:
        if exc.status == 422:
            raise ValidationError(exc.message, errors={"replacement_id": exc.message}) from None
        raise
    db.session.commit()
    return jsonify({"document_id": doc.id, "term": row.term, "outcome": row.outcome,
                    "outcome_label": row.outcome_label, "replacement_id": row.replacement_id, "note": row.note,
                    "handled_at": row.handled_at.isoformat()}), 201


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit() and len(value.strip()) <= 10:
        return int(value.strip())
    return None
