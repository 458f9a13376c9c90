"""Cross-cutting web concerns: security headers, error pages, request helpers."""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from babel.dates import format_date, format_datetime, get_timezone
from flask import Flask, Response, abort, current_app, g, jsonify, render_template, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from documents import archive, audit, permissions
from documents.errors import DomainError, NotFound
from documents.models import Document
from intranet import frenchfilters
from intranet.extensions import db

logger = logging.getLogger(__name__)
PARIS = get_timezone("Europe/Paris")
F = TypeVar("F", bound=Callable[..., Any])

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; frame-src 'self'; object-src 'self'; "
    "frame-ancestors 'self'; base-uri 'self'; form-action 'self'"
)

ERROR_MESSAGES = {
    400: ("Requête invalide", "La requête n'a pas pu être traitée. Vérifiez les informations saisies."),
    401: ("Connexion requise", "Connectez-vous pour accéder à cette page."),
    403: ("Accès refusé", "Vous n'avez pas les droits nécessaires pour cette action."),
    404: ("Page introuvable", "Cette page n'existe pas ou vous n'y avez pas accès."),
    405: ("Méthode non autorisée", "Cette action n'est pas possible de cette façon."),
    409: ("Conflit", "Cette action n'est pas possible dans l'état actuel."),
    413: (
        "Fichier trop volumineux",
        "Le fichier dépasse la taille maximale autorisée. Réduisez-le ou découpez-le, puis réessayez.",
    ),
    414: ("Adresse trop longue", "L'adresse demandée est trop longue. Raccourcissez la recherche ou les filtres."),
    415: ("Format non pris en charge", "Le format des données envoyées n'est pas pris en charge."),
    422: ("Données refusées", "Certaines informations sont invalides."),
    429: ("Trop de tentatives", "Trop de tentatives en peu de temps. Réessayez dans quelques minutes."),
    500: ("Erreur interne", "Une erreur inattendue s'est produite. L'équipe technique a été prévenue."),
}


def init_app(app: Flask) -> None:
    """Install headers and template helpers."""
    app.after_request(_security_headers)
    app.context_processor(_template_globals)
    app.jinja_env.filters["datetime_fr"] = datetime_fr
    app.jinja_env.filters["date_fr"] = date_fr
    frenchfilters.register(app)


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def datetime_fr(value: dt.datetime | None) -> str:
    """'24 nov. 2026, 16:05' in Paris time."""
    if value is None:
        return ""
    return format_datetime(_aware(value), "d MMM y, HH:mm", tzinfo=PARIS, locale="fr_FR")


def date_fr(value: dt.date | None) -> str:
    """'26 octobre 2009'."""
    if value is None:
        return ""
    return format_date(value, "d MMMM y", locale="fr_FR")


def _security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    if current_app.config.get("HSTS"):
        response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    if current_user and getattr(current_user, "is_authenticated", False):
        # Pages of a logged-in user must not be served back from a shared cache.
        response.headers.setdefault("Cache-Control", "no-store")
    return response


#: Main navigation: (endpoint, label). Items whose feature is not installed are hidden.
NAVIGATION = [
    ("main.index", "Accueil"),
    ("library.index", "Documents"),
    ("signatures.index", "En signature"),
    ("search.index", "Recherche"),
    ("drafting.index", "Modèles"),
    ("committees.index", "Comités"),
    ("agreements.index", "Conventions"),
    ("reference.regions", "Référentiel"),
]


def _template_globals() -> dict[str, Any]:
    user = current_user if getattr(current_user, "is_authenticated", False) else None
    nav = [(endpoint, label) for endpoint, label in NAVIGATION if endpoint in current_app.view_functions]
    return {
        "is_admin": permissions.is_admin(user),
        "can_write": permissions.can_write_anything(user),
        "navigation": nav,
    }


def client_ip() -> str:
    """The client's address (ProxyFix sets it behind a trusted proxy)."""
    return (request.remote_addr or "")[:64]


def record(action: str, **kwargs: Any) -> None:
    """Audit an action of the current user from the current request."""
    user = current_user if getattr(current_user, "is_authenticated", False) else None
    audit.record(db.session, action, actor=user, ip=client_ip(), **kwargs)


def deny(object_type: str, object_id: object, *, region_code: str | None = None, status: int = 404) -> None:
    """Log a denial and answer 404 (or ``status``) without revealing anything."""
    record("access.denied", outcome="denied", object_type=object_type, object_id=object_id,
           region_code=region_code, details={"path": request.path, "method": request.method})
    db.session.commit()
    abort(status)


def deny_document(document_id: int) -> None:
    """Log the denial of a document the user may not read (or that does not exist) and answer 404."""
    existing = db.session.get(Document, document_id)
    deny("document", document_id, region_code=existing.region_code if existing else None)


def readable_document(document_id: int, *, include_trash: bool = False) -> Document:
    """The document if the current user may read it; otherwise the denial is logged and the answer is 404."""
    try:
        return archive.get_document(db.session, current_actor(), document_id, include_trash=include_trash)
    except NotFound:
        deny_document(document_id)
        raise  # deny() aborts; this keeps type checkers aware that nothing is returned


def admin_required(view: F) -> F:
    """Allow only logged-in administrators; others get 403 (logged)."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not getattr(current_user, "is_authenticated", False):
            return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]  # Flask-Login adds login_manager to the app at run time
        if not permissions.is_admin(current_user):
            deny("admin", request.path, status=403)
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]  # functools.wraps keeps the view's signature; mypy sees the inner function


def writer_required(view: F) -> F:
    """Refuse read-only accounts (lecteur) with 403."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not getattr(current_user, "is_authenticated", False):
            return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]  # Flask-Login adds login_manager to the app at run time
        if not permissions.can_write_anything(current_user):
            deny("write", request.path, status=403)
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]  # functools.wraps keeps the view's signature; mypy sees the inner function


def wants_json() -> bool:
    """True for API paths."""
    return request.path.startswith("/api/")


def error_response(status: int, message: str | None = None, *, errors: dict[str, str] | None = None) -> Any:
    """A French error page, or a JSON error under /api."""
    title, default = ERROR_MESSAGES.get(status, ERROR_MESSAGES[400])
    text = message or default
    if wants_json():
        payload: dict[str, Any] = {"error": {"status": status, "title": title, "message": text}}
        if errors:
            payload["error"]["fields"] = errors
        return jsonify(payload), status
    return render_template("errors/error.html", status=status, title=title, message=text,
                           errors=errors or {}), status


def register_errorhandlers(app: Flask) -> None:
    """Every error becomes a French page with a 4xx/5xx status, never a traceback."""

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError) -> Any:
        return error_response(
            400, "Le formulaire a expiré ou n'est pas valide (jeton CSRF). Rechargez la page et recommencez."
        )

    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError) -> Any:
        db.session.rollback()
        return error_response(exc.status, exc.message, errors=getattr(exc, "errors", None))

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        status = exc.code or 500
        message = exc.description if status in (400, 422, 429) and exc.description and \
            not exc.description.startswith("The ") else None
        response, code = error_response(status, message)
        # Keep werkzeug's own headers, e.g. « Allow » on a 405 (RFC 9110 requires it).
        headers = [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]
        return response, code, headers

    @app.errorhandler(Exception)
    def internal_error(exc: Exception) -> Any:
        logger.exception("unhandled error on %s %s", request.method, request.path)
        try:
            db.session.rollback()
        except Exception:  # noqa: BLE001 - the error page must render whatever happened
            pass
        return error_response(500)


def current_actor() -> Any:
    """The logged-in user (a ``documents.models.User``), or None."""
    return current_user if getattr(current_user, "is_authenticated", False) else None


def stash(key: str, value: Any) -> None:
    """Keep a value for the rest of the request."""
    setattr(g, key, value)
