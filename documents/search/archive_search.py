"""Searching the archive as a user: scope by region, snippets read from the database, versions of one document."""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Mapping, Sequence
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from documents import permissions
from documents.models import Document, DocumentVersion, DraftingTemplate, User
from documents.search.common import (
    DEFAULT_TIME_LIMIT,
    NATIONAL,
    IndexEntry,
    SearchResults,
    SearchScope,
    entry_id,
)
from documents.search.engines import AnyIndex, open_index, rebuild, search
from documents.search.sources import by_type, split_id, utc_naive


def search_archive(session: Session, index: AnyIndex, query: str, *, user: User | None,
                   all_regions: bool = False, filters: Mapping[str, str | Sequence[str]] | None = None,
                   sort: Literal["relevance", "date"] = "relevance", page: int = 1, per_page: int = 20,
                   suggest: bool = True, time_limit: float = DEFAULT_TIME_LIMIT,
                   include_models: bool = False) -> SearchResults:
    """Search what ``user`` may read (or everything with ``all_regions``); snippets from the stored extraction.

    The drafting models' source documents are left out unless ``include_models``: they live under
    « Modèles » and their placeholders (``{{ region_nom }}``) are noise among archive results.
    """
    allowed = None if all_regions else permissions.visible_regions(user)
    excluded = () if include_models else [
        entry_id("document", pk) for pk in session.scalars(select(DraftingTemplate.document_id))]
    sources = by_type()
    live: set[str] = set()

    def text_for(ids: Sequence[str]) -> dict[str, str]:
        wanted: dict[str, list[int]] = {}
        for eid in ids:
            parsed = split_id(eid)
            if parsed is not None and parsed[0] in sources:
                wanted.setdefault(parsed[0], []).append(parsed[1])
        out: dict[str, str] = {}
        for object_type, pks in wanted.items():
            for pk, text in sources[object_type].texts(session, pks, allowed).items():
                out[entry_id(object_type, pk)] = text
        live.update(out)
        return out

    results = search(index, query, scope=SearchScope.from_visible(allowed), filters=filters, sort=sort,
                     page=page, per_page=per_page, text_for=text_for, suggest=suggest, time_limit=time_limit,
                     exclude_ids=excluded)
    # The index lags the database by a second or two: a hit trashed or moved out of the
    # user's regions since is dropped rather than shown with a title it no longer has.
    kept = tuple(h for h in results.hits if h.id in live)
    if len(kept) != len(results.hits):
        results = dataclasses.replace(results, hits=kept, total=max(0, results.total - (len(results.hits) - len(kept))))
    return results


def search_versions(session: Session, document: Document, query: str, *,
                    sort: Literal["relevance", "date"] = "relevance", page: int = 1,
                    per_page: int = 20) -> SearchResults:
    """Search the text of every version of one document (the caller checked read access)."""
    rows = session.execute(
        select(DocumentVersion.number, DocumentVersion.filename, DocumentVersion.created_at, DocumentVersion.text)
        .where(DocumentVersion.document_id == document.id).order_by(DocumentVersion.number)
    ).all()
    texts = {entry_id("version", n): text or "" for n, _f, _c, text in rows}
    entries = [
        IndexEntry(id=entry_id("version", n), kind="document", title=f"Version {n} – {filename}",
                   text=text or "", type=document.doc_type, region=document.region_code or NATIONAL,
                   year=document.year, status=document.status, version=n, date=utc_naive(created),
                   updated=utc_naive(created))
        for n, filename, created, text in rows
    ]
    # The versions go through a throwaway index with the same analysis, query language
    # and highlighter as the archive search: a handful of texts index in milliseconds.
    with tempfile.TemporaryDirectory(prefix="intranet-versions-") as tmp:
        rebuild(tmp, entries)
        with open_index(tmp, create=False) as index:
            return search(index, query, scope=SearchScope.all(), sort=sort, page=page, per_page=per_page,
                          text_for=lambda ids: {i: texts.get(i, "") for i in ids})

