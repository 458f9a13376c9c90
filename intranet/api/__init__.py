"""JSON API under /api/v1: personal tokens or the browser session."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError, validate_csrf
from wtforms import ValidationError as WTFValidationError

from documents.bounds import MAX_ID

bp = Blueprint("api", __name__)

#: The OpenAPI ``paths`` object; each feature's views add their operations.
OPENAPI_PATHS: dict[str, dict[str, Any]] = {}


#: The body of every error answer: ``{"error": {"status", "title", "message", "fields"?}}``.
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["error"],
    "properties": {"error": {
        "type": "object", "required": ["status", "title", "message"],
        "properties": {
            "status": {"type": "integer"}, "title": {"type": "string"}, "message": {"type": "string"},
            "fields": {"type": "object", "description": "Un message par champ refusé"},
        },
    }},
}
#: A row id in a path: PostgreSQL ``integer``, positive.
ID_SCHEMA: dict[str, Any] = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
_JSON_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
#: Answers any operation may give, whatever it does.
_COMMON_ERRORS = {
    "400": "Requête invalide (paramètre hors limites, caractère nul, JSON illisible…)",
    "401": "Authentification requise",
    "404": "Introuvable (identifiant inconnu, hors limites ou d'une autre région)",
    "405": "Méthode non autorisée ; l'en-tête Allow donne les méthodes possibles",
    "414": "Adresse trop longue",
}
#: Answers of operations that change something (403) or take a body (413, 415, 422).
_WRITE_ERRORS = {"403": "Compte en lecture seule, ou région non autorisée"}
_BODY_ERRORS = {
    "413": "Corps de requête trop volumineux",
    "415": "Format du corps non pris en charge",
    "422": "Données refusées ; « fields » détaille chaque champ",
}


def error_response_spec(description: str) -> dict[str, Any]:
    """An OpenAPI error answer with the common JSON error body."""
    return {"description": description, "content": dict(_JSON_ERROR)}


def document(path: str, method: str, summary: str, *, params: list[dict[str, Any]] | None = None,
             body: dict[str, Any] | None = None, responses: dict[str, Any] | None = None,
             success_content: dict[str, Any] | None = None) -> None:
    """Describe one operation in the OpenAPI document, with every status it may answer."""
    declared = dict(responses or {"200": {"description": "Succès"}})
    defaults = dict(_COMMON_ERRORS)
    if method.lower() != "get":
        defaults.update(_WRITE_ERRORS)
    if body:
        defaults.update(_BODY_ERRORS)
    if params and any(p["in"] == "query" for p in params):
        defaults["422"] = "Filtres refusés ; « fields » détaille chaque paramètre"
    for status, description in defaults.items():
        declared.setdefault(status, {"description": description})
    for status, answer in declared.items():
        answer = dict(answer)
        if int(status) >= 400:
            answer.setdefault("content", dict(_JSON_ERROR))
        elif int(status) < 300 and "content" not in answer:
            answer["content"] = success_content or {"application/json": {"schema": {"type": "object"}}}
        if status == "405":
            answer["headers"] = {"Allow": {"description": "Méthodes possibles", "schema": {"type": "string"}}}
        declared[status] = answer
    op: dict[str, Any] = {
        "summary": summary,
        "security": [{"bearer": []}, {"cookie": []}],
        "responses": dict(sorted(declared.items())),
    }
    if params:
        op["parameters"] = params
    if body:
        op["requestBody"] = body
    OPENAPI_PATHS.setdefault(path, {})[method.lower()] = op


def query_param(name: str, description: str, schema_type: str = "string", *,
                minimum: int | None = None, maximum: int | None = None) -> dict[str, Any]:
    """An OpenAPI query parameter (with its bounds, when it has some)."""
    schema: dict[str, Any] = {"type": schema_type}
    if minimum is not None:
        schema["minimum"] = minimum
    if maximum is not None:
        schema["maximum"] = maximum
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


@bp.before_request
def require_auth() -> None:
    """Every API call needs a token or a session; cookie sessions also need CSRF on writes."""
    if request.endpoint == "api.openapi":
        return
    if not current_user.is_authenticated:
        abort(401)
    if request.method not in ("GET", "HEAD", "OPTIONS") and not request.environ.get("intranet.token_auth"):
        try:
            validate_csrf(request.headers.get("X-CSRFToken") or request.form.get("csrf_token"))
        except (WTFValidationError, CSRFError):
            abort(400, "Jeton CSRF manquant ou invalide : utilisez un jeton d'API ou l'en-tête X-CSRFToken.")


from intranet.api import (  # noqa: E402,F401
    agreements,
    deadlines,
    documents,
    locks,
    meetings,
    search,
    signatures,
    suggest,
    templates,
    views,
)
