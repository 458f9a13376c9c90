"""API endpoints: full-text search, with the same scope, query language and facets as the page."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask_login import current_user

from documents.search import MAX_PER_PAGE
from intranet.api import bp, document, query_param
from intranet.pagination import bounded_int_arg
from intranet.search.forms import SORTS, selected_filters, wants_models
from intranet.search.views import region_names, results_payload, run_search

_ERROR = {"description": "Erreur (JSON : error.status, error.title, error.message en français)"}

document(
    "/search", "get",
    "Recherche plein texte dans les documents visibles par le compte (mêmes règles que la page Recherche)",
    params=[
        query_param("q", 'Requête : mots (ET implicite), OR, NOT ou -mot, "expression", type:, region:, '
                         "annee:, statut: ; accents et pluriels indifférents"),
        query_param("page", "Numéro de page (1 par défaut)", "integer"),
        query_param("per_page", f"Résultats par page (20 par défaut, {MAX_PER_PAGE} au plus)", "integer"),
        query_param("type", "Filtre de type (répétable) : convention, avenant, bilan…"),
        query_param("region", "Filtre de région (répétable) : code de région ou « national »"),
        query_param("year", "Filtre d'année (répétable)", "integer"),
        query_param("status", "Filtre de statut (répétable) : brouillon, en_signature, signe, archive"),
        query_param("sort", "relevance (par défaut) ou date"),
        query_param("modeles", "1 pour inclure les modèles de rédaction (exclus par défaut)"),
    ],
    responses={
        "200": {"description": "Une page de résultats : total, page, pages, items (id, entry, kind, title, type, "
                               "region, year, status, version, date, score, snippet, snippet_html, title_html, "
                               "url), facets {type, region, year, status, kind: [{value, count, label}]}, "
                               "suggestion, notices"},
        "400": {"description": "Requête invalide (syntaxe, trop longue, trop coûteuse) : message en français"},
        "503": _ERROR | {"description": "Index de recherche indisponible"},
    },
)


@bp.get("/search")
def search() -> Any:
    """Search results as JSON; errors (bad query, index down) are French JSON errors with 400/503."""
    sort = request.args.get("sort", "relevance")
    query, filters = request.args.get("q", ""), selected_filters(request.args)
    results = run_search(
        query,
        user=current_user,
        filters=filters,
        include_models=wants_models(request.args, query, filters),
        sort=sort if sort in SORTS else "relevance",
        page=bounded_int_arg(request.args, "page", 1, 1, 10_000),
        per_page=bounded_int_arg(request.args, "per_page", 20, 1, MAX_PER_PAGE),
    )
    return jsonify(results_payload(results, regions=region_names()))
