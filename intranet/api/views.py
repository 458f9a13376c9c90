"""Foundation endpoints of the API: me, regions, quartiers and the OpenAPI document."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask_login import current_user
from sqlalchemy import select

from documents import permissions
from documents.models import Quartier, Region
from intranet.api import ERROR_SCHEMA, OPENAPI_PATHS, bp, document, query_param
from intranet.extensions import db
from intranet.pagination import MAX_PAGE, MAX_PER_PAGE, Page, paginate, parse_page_args
from intranet.reference.views import quartier_query


def page_payload(page: Page, items: list[dict[str, Any]]) -> dict[str, Any]:
    """The common envelope of paginated lists."""
    return {"items": items, "total": page.total, "page": page.page, "per_page": page.per_page,
            "pages": page.pages}


document("/me", "get", "Le compte connecté")


@bp.get("/me")
def me() -> Any:
    """The current account."""
    user = current_user
    allowed = permissions.visible_regions(user)
    return jsonify({
        "id": user.id, "email": user.email, "name": user.name, "role": user.role,
        "region": user.region_code,
        "visible_regions": None if allowed is None else sorted(allowed),
    })


document("/regions", "get", "Les régions des cartes 2009 et 2016 (codes INSEE), avec validité et successeur")


@bp.get("/regions")
def regions() -> Any:
    """All regions (reference data, visible to every account)."""
    rows = db.session.scalars(select(Region).order_by(Region.code)).all()
    items = [{"code": r.code, "name": r.name, "slug": r.slug, "current": r.current,
              "valid_from": r.valid_from.isoformat() if r.valid_from else None,
              "valid_until": r.valid_until.isoformat() if r.valid_until else None,
              "successor": r.successor_code} for r in rows]
    return jsonify({"items": items, "total": len(items)})


PAGE_PARAMS = [query_param("page", "Numéro de page (1 par défaut)", "integer", minimum=1, maximum=MAX_PAGE),
               query_param("per_page", "Éléments par page (50 par défaut, 200 au plus)", "integer",
                           minimum=1, maximum=MAX_PER_PAGE)]

document("/quartiers", "get", "Les 215 quartiers de l'annexe 2, paginés", params=[
    query_param("region", "Code de région"), query_param("departement", "Département"),
    query_param("commune", "Commune"), query_param("q", "Texte libre"), *PAGE_PARAMS,
])


@bp.get("/quartiers")
def quartiers() -> Any:
    """Quartiers with the same filters as the HTML page."""
    page_no, per_page = parse_page_args(request.args, strict=True)
    page = paginate(db.session, quartier_query(request.args), page_no, per_page)
    return jsonify(page_payload(page, [quartier_dict(q) for q in page.items]))


def quartier_dict(q: Quartier) -> dict[str, Any]:
    """JSON form of a quartier."""
    return {"code": q.code, "region_code": q.region_code, "region": q.region_name,
            "departement": q.departement, "communes": q.communes, "names": q.names, "type": q.type}


@bp.get("/openapi.json")
def openapi() -> Any:
    """The OpenAPI 3 description of this API."""
    return jsonify({
        "openapi": "3.0.3",
        "info": {"title": "Intranet Passeurs d'images", "version": "1",
                 "description": "API JSON de l'intranet. Authentification : jeton personnel "
                                "(en-tête Authorization: Bearer) ou session du navigateur avec X-CSRFToken."},
        "servers": [{"url": "/api/v1"}],
        "components": {"schemas": {"Error": ERROR_SCHEMA}, "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"},
            "cookie": {"type": "apiKey", "in": "cookie", "name": "intranet_session"},
        }},
        "paths": dict(sorted(OPENAPI_PATHS.items())),
    })
