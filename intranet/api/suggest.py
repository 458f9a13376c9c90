"""API endpoint: document suggestions for the pickers (the document to link, to attach…).

Scoped like every read (``documents.suggest`` starts from the documents the caller may read),
bounded (2 to 200 characters, 20 suggestions at most), drafting models left out.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, request, url_for

from documents import suggest
from documents.bounds import MAX_ID
from documents.errors import ValidationError
from intranet.api import bp, document, query_param
from intranet.extensions import db
from intranet.web import current_actor

_ITEM = {"type": "object", "required": ["id", "title", "label"], "properties": {
    "id": {"type": "integer"}, "title": {"type": "string"}, "type_label": {"type": "string"},
    "region_label": {"type": "string"}, "year": {"type": "integer", "nullable": True},
    "label": {"type": "string", "description": "Ce que la liste de choix affiche"},
    "url": {"type": "string"},
}}

document(
    "/documents/suggest", "get",
    "Suggestions de documents pour un champ de choix : titre ou numéro, parmi les documents visibles par le "
    "compte (modèles de rédaction et corbeille exclus)",
    params=[
        query_param("q", f"Mots du titre ou numéro du document ({suggest.MIN_CHARS} à {suggest.MAX_CHARS} "
                         "caractères ; accents et majuscules indifférents)"),
        query_param("limit", f"Nombre de suggestions ({suggest.DEFAULT_LIMIT} par défaut, {suggest.MAX_LIMIT} au "
                             "plus)", "integer", minimum=1, maximum=suggest.MAX_LIMIT),
        query_param("exclude", "Numéro d'un document à ne pas proposer (celui que l'on est en train de lier)",
                    "integer", minimum=1, maximum=MAX_ID),
        query_param("within", "Code d'une région : seulement les documents nationaux et ceux de cette région (ou des "
                              f"régions qu'elle a remplacées), ce qu'une réunion de son comité peut joindre ; "
                              f"« {suggest.NATIONAL_ONLY} » : les documents nationaux seulement"),
    ],
    responses={"200": {"description": "query, count, items", "content": {"application/json": {"schema": {
        "type": "object", "required": ["query", "count", "items"], "properties": {
            "query": {"type": "string"}, "count": {"type": "integer"},
            "items": {"type": "array", "maxItems": suggest.MAX_LIMIT, "items": _ITEM}}}}}}},
)


def _region_or_national(name: str) -> str | None:
    """Query argument ``name``: a region code (letters and digits, 8 at most) or « national »; None if absent."""
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    if raw == suggest.NATIONAL_ONLY or (len(raw) <= 8 and raw.isascii() and raw.isalnum()):
        return raw
    message = f"Code de région (lettres et chiffres, 8 au plus) ou « {suggest.NATIONAL_ONLY} » attendu."
    raise ValidationError(f"Paramètre « {name} » invalide : {message[0].lower()}{message[1:]}", errors={name: message})


def _bounded(name: str, low: int, high: int) -> int | None:
    """Query argument ``name`` as an integer in [low, high], None if absent; ValidationError in French."""
    raw = request.args.get(name)
    if raw is None or not raw.strip():
        return None
    text = raw.strip()
    value = int(text) if text.isascii() and text.isdigit() and len(text) <= 10 else None
    if value is None or not low <= value <= high:
        message = f"Nombre entier entre {low} et {high} attendu."
        raise ValidationError(f"Paramètre « {name} » invalide : {message.lower()}", errors={name: message})
    return value


@bp.get("/documents/suggest")
def suggest_documents() -> Any:
    """A few documents the caller may read whose title holds the words typed, or whose number was typed."""
    query = suggest.clean_query(request.args.get("q"))
    limit = _bounded("limit", 1, suggest.MAX_LIMIT) or suggest.DEFAULT_LIMIT
    exclude = _bounded("exclude", 1, MAX_ID)
    within = _region_or_national("within")
    rows = suggest.suggest_documents(db.session, current_actor(), query, limit=limit, exclude_id=exclude,
                                     within=within)
    return jsonify({"query": query, "count": len(rows), "items": [
        {"id": s.id, "title": s.title, "type_label": s.type_label, "region_label": s.region_label,
         "year": s.year, "label": s.label, "url": url_for("library.show", document_id=s.id)} for s in rows]})
