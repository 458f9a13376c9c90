"""Views of the search blueprint: the results page, search inside one document, the index of the process.

Each process holds one ``SearchIndex`` in ``app.extensions["search_index"]``, opened lazily;
its searchers are reused across requests and refreshed after the indexer's commits. The
web workers never write the index: the archive verbs leave outbox rows and the single
indexer (``intranet indexer``, started by ``make run``) applies them. With the test
setting ``SEARCH_SYNC``, a request that wrote outbox rows drains them itself before it
answers, so that tests see their changes at once.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import re
import threading
from collections.abc import Mapping
from enum import Enum
from typing import Any

from flask import Flask, current_app, g, render_template, request, url_for
from flask.blueprints import BlueprintSetupState
from flask_login import login_required
from sqlalchemy import event, select
from werkzeug.routing import BuildError

from documents import health, heartbeat, indexer
from documents.models import DocStatus, DocType, IndexOutbox, Region
from documents.models.archive import DOC_STATUS_LABELS, DOC_TYPE_LABELS
from documents.models.committees import LABELS as COMMITTEE_LABELS
from documents.models.committees import CommitteeLevel, MinutesStatus
from documents.search import DEFAULT_TIME_LIMIT, NATIONAL, SearchIndexError, SearchQueryError, SearchResults
from documents.search.engines import AnyIndex
from intranet.extensions import db
from intranet.pagination import Page
from intranet.search import bp
from intranet.search.forms import FACETS, SORTS, SearchForm, selected_filters, wants_models
from intranet.web import current_actor, readable_document

logger = logging.getLogger(__name__)

PER_PAGE = 20
_OPEN_LOCK = threading.Lock()
KIND_LABELS = {"document": "Document", "meeting": "Réunion", "minutes": "Compte rendu"}


# --------------------------------------------------------------------------- the index of this process


def get_index(app: Flask | None = None) -> AnyIndex:
    """The process's index handle, opened on first use (a missing or broken index is recreated empty)."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]  # werkzeug's LocalProxy does not show the proxied object's methods
    index = app.extensions.get("search_index")
    if index is None:
        with _OPEN_LOCK:
            index = app.extensions.get("search_index")
            if index is None:
                index = indexer.ensure_index(app.config["INDEX_DIR"])
                app.extensions["search_index"] = index
    return index


def reset_index(app: Flask | None = None) -> None:
    """Forget the process's index handle (after the folder vanished or broke)."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]  # werkzeug's LocalProxy does not show the proxied object's methods
    index = app.extensions.pop("search_index", None)
    if index is not None:
        index.close()


def index_notice(app: Flask | None = None) -> str | None:
    """The search page's banner from the indexer's heartbeat: what is true, or None when all is well."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]  # werkzeug's LocalProxy does not show the proxied object's methods
    status = health.indexer_status(
        app.config["DATA_DIR"], app.config["INDEX_DIR"], synchronous=bool(app.config.get("SEARCH_SYNC")),
        stale_after=float(app.config.get("INDEXER_STALE_AFTER") or heartbeat.DEFAULT_STALE_AFTER))
    if not status.alive:
        return health.indexer_down_message(status)
    if status.rebuilding:
        return ("L'index de recherche est en cours de reconstruction : les résultats peuvent être incomplets "
                "quelques minutes.")
    return None


def run_search(query: str, *, user: Any, all_regions: bool = False, filters: dict[str, list[str]] | None = None,
               sort: str = "relevance", page: int = 1, per_page: int = PER_PAGE,
               include_models: bool = False) -> SearchResults:
    """Search through the process's index; a vanished or broken index is reopened once."""
    for attempt in (1, 2):
        try:
            if attempt == 2 and current_app.config.get("SEARCH_SYNC"):
                sync_drain()
            return indexer.search_archive(db.session, get_index(), query, user=user, all_regions=all_regions,
                                          filters=filters, sort=sort,  # type: ignore[arg-type]  # the sort was checked against the form's choices
                                          page=page, per_page=per_page, include_models=include_models,
                                          time_limit=current_app.config.get("SEARCH_TIME_LIMIT", DEFAULT_TIME_LIMIT))
        except SearchQueryError:
            raise
        except SearchIndexError:
            if attempt == 2:
                raise
            logger.warning("search index unusable in this process; reopening it")
            reset_index()
    raise AssertionError("unreachable")


# --------------------------------------------------------------------------- synchronous drain (tests)


def _note_outbox(session: Any, _flush_context: Any) -> None:
    if any(isinstance(obj, IndexOutbox) for obj in session.new):
        session.info["outbox_written"] = True


def sync_drain(app: Flask | None = None) -> indexer.DrainReport:
    """Apply the outbox now, in this process (tests and ``SEARCH_SYNC`` only)."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]  # werkzeug's LocalProxy does not show the proxied object's methods
    factory = app.extensions["db_factory"]
    root = app.config["INDEX_DIR"]
    index = get_index(app)
    if indexer.needs_reindex(root):
        indexer.reindex_all(factory, root, procs=1)
    return indexer.drain(factory, index)


def _drain_after_request(response: Any) -> Any:
    session = g.get("db_session")
    if session is not None and session.info.pop("outbox_written", False):
        try:
            sync_drain()
        except Exception:  # noqa: BLE001 - the rows stay in the outbox; the answer must not fail
            logger.exception("synchronous drain of the search outbox failed")
    return response


@bp.record_once
def _setup(state: BlueprintSetupState) -> None:
    app = state.app
    if app.config.get("SEARCH_SYNC"):
        event.listen(app.extensions["db_factory"], "after_flush", _note_outbox)
        app.after_request(_drain_after_request)


# --------------------------------------------------------------------------- presentation helpers


def region_names() -> dict[str, str]:
    """Region names by code, with "National"."""
    names = {code: name for code, name in db.session.execute(select(Region.code, Region.name))}
    names[NATIONAL] = "National"
    return names


#: Labels of the type and status facets: documents' values first, then meetings' (committee levels and
#: minutes states share those facets).
_FACET_LABELS: dict[str, tuple[tuple[type[Enum], Mapping[Any, str]], ...]] = {
    "type": ((DocType, DOC_TYPE_LABELS), (CommitteeLevel, COMMITTEE_LABELS)),
    "status": ((DocStatus, DOC_STATUS_LABELS), (MinutesStatus, COMMITTEE_LABELS)),
}


def _label(kind: str, value: str, regions: dict[str, str]) -> str:
    if kind in _FACET_LABELS:
        for enum_type, labels in _FACET_LABELS[kind]:
            try:
                return labels[enum_type(value)]
            except (ValueError, KeyError):
                continue
        return value
    if kind == "region":
        return regions.get(value, value)
    if kind == "kind":
        return KIND_LABELS.get(value, value)
    return value


def hit_url(entry_id: str) -> str | None:
    """The page of a hit, or None when its feature has no page (yet)."""
    kind, _, pk = entry_id.partition(":")
    try:
        if kind == "document":
            return url_for("library.show", document_id=int(pk))
        if kind == "meeting":
            return url_for("committees.meeting", meeting_id=int(pk))
    except (BuildError, ValueError):
        return None
    return None


_MARK_RE = re.compile(r"</?mark>")


def plain(fragment: str) -> str:
    """Text of an escaped snippet with its ``<mark>`` tags removed."""
    return html.unescape(_MARK_RE.sub("", fragment))


def results_payload(results: SearchResults, *, regions: dict[str, str], with_urls: bool = True) -> dict[str, Any]:
    """JSON form of a results page (API and ``intranet search --json``)."""
    items = []
    for hit in results.hits:
        kind, _, pk = hit.id.partition(":")
        item: dict[str, Any] = {
            "id": int(pk) if pk.isdigit() else pk,
            "entry": hit.id,
            "kind": hit.kind,
            "title": hit.title,
            "type": hit.type,
            "type_label": _label("type", hit.type, regions),
            "region": hit.region,
            "region_label": _label("region", hit.region, regions),
            "year": hit.year,
            "status": hit.status,
            "status_label": _label("status", hit.status, regions),
            "version": hit.version,
            "date": hit.date.date().isoformat() if isinstance(hit.date, dt.datetime) else None,
            "score": round(hit.score, 4),
            "snippet": plain(hit.snippet_html),
            "snippet_html": hit.snippet_html,
            "title_html": hit.title_html,
        }
        if with_urls:
            item["url"] = hit_url(hit.id)
        items.append(item)
    return {
        "query": results.query,
        "total": results.total,
        "page": results.page,
        "per_page": results.per_page,
        "pages": results.pages,
        "items": items,
        "facets": {
            name: [{"value": f.value, "count": f.count, "label": _label(name, f.value, regions)} for f in values]
            for name, values in results.facets.items()
        },
        "suggestion": results.suggestion,
        "notices": list(results.notices),
    }


def _page_number() -> int:
    try:
        return min(max(1, int(request.args.get("page", 1))), 10_000)
    except (TypeError, ValueError):
        return 1


def _facet_groups(results: SearchResults | None, filters: dict[str, list[str]],
                  regions: dict[str, str]) -> list[dict[str, Any]]:
    groups = []
    for name, heading in FACETS.items():
        counts = {f.value: f.count for f in (results.facets.get(name, ()) if results else ())}
        chosen = filters.get(name, [])
        values = [(v, counts.get(v, 0)) for v in chosen] + [(v, c) for v, c in counts.items() if v not in chosen]
        if name == "year":
            values.sort(key=lambda vc: vc[0], reverse=True)
        if not values:
            continue
        groups.append({"name": name, "heading": heading, "values": [
            {"value": v, "count": c, "label": _label(name, v, regions), "checked": v in chosen} for v, c in values
        ]})
    return groups


# --------------------------------------------------------------------------- pages


@bp.route("/")
@login_required
def index() -> Any:
    """The archive search: query, facets, sort, pagination, highlighted snippets."""
    form = SearchForm(formdata=request.args)
    filters = selected_filters(request.args)
    query = (form.q.data or "").strip()
    searched = "q" in request.args or bool(filters)
    results: SearchResults | None = None
    error = None
    status = 200
    page = _page_number()
    sort = form.sort_value()
    models = wants_models(request.args, query, filters)
    if searched:
        try:
            results = run_search(query, user=current_actor(), filters=filters, sort=sort, page=page,
                                 include_models=models)
        except SearchQueryError as exc:
            error, status = exc.message, exc.status
        except SearchIndexError as exc:
            error, status = exc.message, exc.status
    regions = region_names()
    hits = []
    for hit in results.hits if results else ():
        hits.append({
            "hit": hit, "url": hit_url(hit.id), "kind_label": KIND_LABELS.get(hit.kind, hit.kind),
            "type_label": _label("type", hit.type, regions), "region_label": _label("region", hit.region, regions),
            "status_label": _label("status", hit.status, regions),
        })
    args: dict[str, Any] = {"q": query, "sort": sort, **filters, **({"modeles": "1"} if models else {})}
    pager = Page(items=[], total=results.total, page=results.page, per_page=results.per_page) if results else None
    return render_template(
        "search/index.html", form=form, query=query, results=results, hits=hits, error=error,
        facets=_facet_groups(results, filters, regions), filters=filters, pager=pager, args=args,
        sorts=SORTS, searched=searched, notice=index_notice(), models=models,
    ), status


@bp.route("/documents/<id:document_id>")
@login_required
def document(document_id: int) -> Any:
    """Search the text of every version of one document (scoped by the document's read permission)."""
    doc = readable_document(document_id)
    form = SearchForm(formdata=request.args)
    query = (form.q.data or "").strip()
    results: SearchResults | None = None
    error = None
    status = 200
    page = _page_number()
    sort = form.sort_value()
    if query:
        try:
            results = indexer.search_versions(db.session, doc, query, sort=sort, page=page)  # type: ignore[arg-type]  # the sort was checked against the form's choices
        except SearchQueryError as exc:
            error, status = exc.message, exc.status
    pager = Page(items=[], total=results.total, page=results.page, per_page=results.per_page) if results else None
    return render_template(
        "search/document.html", doc=doc, form=form, query=query, results=results, error=error, pager=pager,
        args={"q": query, "sort": sort}, sorts=SORTS,
    ), status
