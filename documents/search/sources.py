"""What the indexer indexes: an explicit, typed registry of index sources.

Each object type that the outbox names (``IndexOutbox.object_type``) has one
``IndexSource`` in ``SOURCES``: how to build entries for ids, how to list every
indexable id, how to read the snippet texts a user may see, and (optionally) the
fingerprints ``intranet check`` compares with the index.  Adding a kind of object to
search is adding one source here; a test builds every source of the tuple, so a
missing loader fails the suite, not the indexer at night.

Documents are read with plain column queries in chunks (one query for the rows and
the current version's text, one for the parties, one for the quartiers): loading
``Document`` objects drags every version's text, the users and the region through
the ORM, which cost more than indexing itself.

This module and the indexer modules beside it (``outbox``, ``rebuilding``,
``worker``, ``checking``, ``archive_search``) read the database; the engines
(``whoosh_*``, ``tantivy_*``) never do.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from documents.models import (
    Document,
    DocumentVersion,
    Meeting,
    Organisation,
    Quartier,
    document_party,
    document_quartier,
)
from documents.search.common import NATIONAL, IndexEntry, entry_id

#: Ids read per query when building or listing entries.
CHUNK = 200

Fingerprint = tuple[Any, ...]
Builder = Callable[[Session, Sequence[int]], Mapping[int, IndexEntry | None]]
Batches = Callable[[Session], Iterable[Sequence[int]]]
Texts = Callable[[Session, Sequence[int], frozenset[str] | None], Mapping[int, str]]
Fingerprints = Callable[[Session], tuple[dict[str, Fingerprint], set[str]]]


@dataclass(frozen=True)
class IndexSource:
    """How one object type of the outbox becomes index entries.

    ``build(session, ids)`` returns an entry per id, or None when the object must not be
    in the index (missing, trashed); ``batches(session)`` yields every indexable id;
    ``texts(session, ids, allowed)`` returns the snippet text of the ids the regions
    ``allowed`` (None = all) may read now; ``fingerprints(session)`` (optional) gives the
    expected fingerprint of each live entry and the entry ids of trashed objects.
    """

    object_type: str
    build: Builder
    batches: Batches
    texts: Texts
    fingerprints: Fingerprints | None = None


# --------------------------------------------------------------------------- values


def utc_naive(value: dt.datetime | dt.date | None) -> dt.datetime | None:
    """A naive UTC datetime (SQLite gives naive datetimes, PostgreSQL aware ones; the index keeps naive UTC)."""
    if value is None:
        return None
    if not isinstance(value, dt.datetime):
        return dt.datetime(value.year, value.month, value.day)
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def fingerprint(title: str, region: str, type_: str, status: str, year: object, version: object,
                updated: dt.datetime | dt.date | None) -> Fingerprint:
    """What ``intranet check`` compares between the database and a stored entry."""
    stamp = utc_naive(updated)
    return (title or "", region or NATIONAL, type_ or "", status or "",
            "" if year in (None, "") else str(year), "" if version in (None, "") else str(version),
            stamp.replace(microsecond=0) if stamp else None)


def fingerprint_entry(entry: IndexEntry) -> Fingerprint:
    """The fingerprint of an entry about to be indexed."""
    return fingerprint(entry.title, entry.region, entry.type, entry.status, entry.year, entry.version,
                       entry.updated)


def fingerprint_stored(fields: Mapping[str, Any]) -> Fingerprint:
    """The fingerprint of an entry's stored fields, as the index gives them back."""
    return fingerprint(fields.get("title", ""), fields.get("region", ""), fields.get("type", ""),
                       fields.get("status", ""), fields.get("year"), fields.get("version"),
                       fields.get("updated"))


def split_id(eid: str) -> tuple[str, int] | None:
    """``"document:12"`` -> ``("document", 12)``; None for an id of another shape."""
    kind, _, pk = eid.partition(":")
    try:
        return kind, int(pk)
    except ValueError:
        return None


def _chunks(ids: Sequence[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield list(ids[start:start + CHUNK])


# --------------------------------------------------------------------------- documents


def _latest_versions(ids: Sequence[int]) -> Any:
    return (select(DocumentVersion.document_id, func.max(DocumentVersion.number).label("n"))
            .where(DocumentVersion.document_id.in_(ids))
            .group_by(DocumentVersion.document_id).subquery())


def _document_rows(session: Session, ids: Sequence[int]) -> list[Any]:
    latest = _latest_versions(ids)
    return list(session.execute(
        select(Document.id, Document.title, Document.doc_type, Document.region_code, Document.year,
               Document.status, Document.keywords, Document.signature_date, Document.effective_date,
               Document.created_at, Document.updated_at, Document.deleted_at, latest.c.n, DocumentVersion.text)
        .where(Document.id.in_(ids))
        .outerjoin(latest, latest.c.document_id == Document.id)
        .outerjoin(DocumentVersion, and_(DocumentVersion.document_id == Document.id,
                                         DocumentVersion.number == latest.c.n))
    ))


def _parties(session: Session, ids: Sequence[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for doc_id, name, short in session.execute(
        select(document_party.c.document_id, Organisation.name, Organisation.short_name)
        .join(Organisation, Organisation.id == document_party.c.organisation_id)
        .where(document_party.c.document_id.in_(ids))
        .order_by(document_party.c.document_id, Organisation.name)
    ):
        values = out.setdefault(doc_id, [])
        values.append(name)
        if short and short != name:
            values.append(short)
    return out


def _quartiers(session: Session, ids: Sequence[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for doc_id, code, names in session.execute(
        select(document_quartier.c.document_id, Quartier.code, Quartier.names)
        .join(Quartier, Quartier.code == document_quartier.c.quartier_code)
        .where(document_quartier.c.document_id.in_(ids))
        .order_by(document_quartier.c.document_id, Quartier.code)
    ):
        out.setdefault(doc_id, []).extend(v for v in (code, names) if v)
    return out


def _document_entry(row: Any, parties: list[str], quartiers: list[str]) -> IndexEntry:
    keywords = [k.strip() for k in (row.keywords or "").split(",") if k.strip()]
    # Metadata words are appended to the searched text so that a plain query for a
    # signatory ("CNC") or a quartier name finds the document; snippets still come
    # from the version's own text.
    extra = " \n".join(v for v in (", ".join(keywords), ", ".join(parties), ", ".join(quartiers)) if v)
    body = (row.text or "") + ("\n\n" + extra if extra else "")
    return IndexEntry(
        id=entry_id("document", row.id), kind="document", title=row.title, text=body, type=row.doc_type,
        region=row.region_code or NATIONAL, year=row.year, status=row.status, version=row.n,
        parties=parties, quartiers=quartiers, keywords=keywords,
        date=utc_naive(row.signature_date or row.effective_date or row.created_at),
        updated=utc_naive(row.updated_at),
    )


def build_documents(session: Session, ids: Sequence[int]) -> dict[int, IndexEntry | None]:
    """Entries of these documents' current versions; None for a missing or trashed one."""
    out: dict[int, IndexEntry | None] = {i: None for i in ids}
    for chunk in _chunks(ids):
        rows = [r for r in _document_rows(session, chunk) if r.deleted_at is None]
        live = [r.id for r in rows]
        parties = _parties(session, live)
        quartiers = _quartiers(session, live)
        for row in rows:
            out[row.id] = _document_entry(row, parties.get(row.id, []), quartiers.get(row.id, []))
    return out


def document_batches(session: Session) -> Iterator[list[int]]:
    """Ids of every document out of the trash, in chunks."""
    last = 0
    while True:
        ids = list(session.scalars(
            select(Document.id).where(Document.id > last, Document.deleted_at.is_(None))
            .order_by(Document.id).limit(CHUNK)))
        if not ids:
            return
        yield ids
        last = ids[-1]


def document_texts(session: Session, ids: Sequence[int], allowed: frozenset[str] | None) -> dict[int, str]:
    """The current text of each document out of the trash that the regions ``allowed`` may read."""
    out: dict[int, str] = {}
    for chunk in _chunks(ids):
        latest = _latest_versions(chunk)
        for doc_id, text, region in session.execute(
            select(DocumentVersion.document_id, DocumentVersion.text, Document.region_code)
            .join(latest, and_(DocumentVersion.document_id == latest.c.document_id,
                               DocumentVersion.number == latest.c.n))
            .join(Document, Document.id == DocumentVersion.document_id)
            .where(Document.deleted_at.is_(None))
        ):
            if allowed is None or (region or NATIONAL) in allowed:
                out[doc_id] = text or ""
    return out


def document_fingerprints(session: Session) -> tuple[dict[str, Fingerprint], set[str]]:
    """Expected fingerprints of live documents, and the entry ids of trashed ones."""
    latest = (select(DocumentVersion.document_id, func.max(DocumentVersion.number).label("n"))
              .group_by(DocumentVersion.document_id).subquery())
    rows = session.execute(
        select(Document.id, Document.title, Document.region_code, Document.doc_type, Document.status,
               Document.year, latest.c.n, Document.updated_at, Document.deleted_at)
        .outerjoin(latest, latest.c.document_id == Document.id)
    ).all()
    live: dict[str, Fingerprint] = {}
    trashed: set[str] = set()
    for doc_id, title, region, doc_type, status, year, number, updated, deleted in rows:
        eid = entry_id("document", doc_id)
        if deleted is not None:
            trashed.add(eid)
        else:
            live[eid] = fingerprint(title, region or NATIONAL, doc_type, status, year, number, updated)
    return live, trashed


# --------------------------------------------------------------------------- meetings


def _meeting_builder() -> Callable[[Session, int], IndexEntry | None]:
    # The one reference of the indexer to the committees feature (its entry builder).
    from documents.committees.indexing import index_entry_for_meeting

    builder: Callable[[Session, int], IndexEntry | None] = index_entry_for_meeting
    return builder


def build_meetings(session: Session, ids: Sequence[int]) -> dict[int, IndexEntry | None]:
    """Entries of these meetings; None for a missing one."""
    builder = _meeting_builder()
    return {i: builder(session, i) for i in ids}


def meeting_batches(session: Session) -> Iterator[list[int]]:
    """Ids of every meeting, in chunks."""
    last = 0
    while True:
        ids = list(session.scalars(select(Meeting.id).where(Meeting.id > last).order_by(Meeting.id).limit(CHUNK)))
        if not ids:
            return
        yield ids
        last = ids[-1]


def meeting_texts(session: Session, ids: Sequence[int], allowed: frozenset[str] | None) -> dict[int, str]:
    """The searched text of each meeting that the regions ``allowed`` may read."""
    out: dict[int, str] = {}
    for i, entry in build_meetings(session, ids).items():
        if entry is not None and (allowed is None or entry.region in allowed):
            out[i] = entry.text
    return out


# --------------------------------------------------------------------------- the registry


#: Every object type the indexer knows, by ``IndexOutbox.object_type``.
SOURCES: tuple[IndexSource, ...] = (
    IndexSource("document", build_documents, document_batches, document_texts, document_fingerprints),
    IndexSource("meeting", build_meetings, meeting_batches, meeting_texts),
)


def by_type(sources: Iterable[IndexSource] | None = None) -> dict[str, IndexSource]:
    """The sources (default: ``SOURCES``) by object type; a later one replaces an earlier one."""
    return {s.object_type: s for s in (SOURCES if sources is None else sources)}
