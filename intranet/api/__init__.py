"""JSON API under /api/v1: personal tokens or the browser session."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError, validate_csrf
from wtforms import ValidationError as WTFValidationError

bp = Blueprint("api", __name__)

#: The OpenAPI ``paths`` object; each feature's views add their operations.
OPENAPI_PATHS: dict[str, dict[str, Any]] = {}


def document(path: str, method: str, summary: str, *, params: list[dict[str, Any]] | None = None,
             body: dict[str, Any] | None = None, responses: dict[str, Any] | None = None) -> None:
    """Describe one operation in the OpenAPI document."""
    op: dict[str, Any] = {
        "summary": summary,
        "security": [{"bearer": []}, {"cookie": []}],
        "responses": responses or {"200": {"description": "Succès"}},
    }
    op["responses"].setdefault("401", {"description": "Authentification requise"})
    if params:
        op["parameters"] = params
    if body:
        op["requestBody"] = body
    OPENAPI_PATHS.setdefault(path, {})[method.lower()] = op


def query_param(name: str, description: str, schema_type: str = "string") -> dict[str, Any]:
    """An OpenAPI query parameter."""
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": {"type": schema_type}}


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


from intranet.api import documents, locks, meetings, search, templates, views  # noqa: E402,F401
