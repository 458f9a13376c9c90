"""The search indexer: index entries from the database, the outbox drain, full rebuilds, repair.

The archive verbs never touch the index: each change writes an ``IndexOutbox`` row in
the same transaction (``documents.archive.enqueue``).  One indexer process applies the
rows in batches (``run_indexer``, started beside the web workers), so several workers
never fight for the Whoosh writer lock and a killed worker loses nothing:

- rows are applied from the *current* database state (an upsert of a trashed or purged
  document becomes a delete), so replaying a row is harmless;
- a row is deleted only after the index commit that applied it; a crash in between
  replays it;
- every drain and every rebuild holds an exclusive lock file (``drain.lock``), and the
  loop itself holds ``indexer.lock`` so that two loops never run on the same index.

``reindex_all`` builds a new generation with several processes while holding the drain
lock, so rows that arrive meanwhile wait in the outbox and are replayed after the swap.

Object types other than documents plug in through ``SOURCES``: meetings are indexed with
``documents.committees.index_entry_for_meeting(session, meeting_id)`` when that function
exists (imported lazily).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import fcntl
import importlib
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from documents import permissions
from documents.errors import DomainError
from documents.heartbeat import REBUILDING, RUNNING
from documents.models import Document, DocumentVersion, DraftingTemplate, IndexOutbox, User
from documents.unitofwork import unit_of_work
from documents.search import (
    DEFAULT_TIME_LIMIT,
    NATIONAL,
    IndexBusy,
    IndexEntry,
    SearchIndex,
    SearchIndexError,
    SearchResults,
    SearchScope,
    entry_id,
    open_index,
    rebuild,
    search,
    writing,
)

logger = logging.getLogger(__name__)

__all__ = [
    "DrainReport",
    "IndexerRunning",
    "ReindexReport",
    "SOURCES",
    "Source",
    "check_index",
    "count_indexable",
    "document_entry",
    "drain",
    "ensure_index",
    "needs_reindex",
    "pending_count",
    "register_source",
    "reindex_all",
    "run_indexer",
    "search_archive",
    "search_versions",
]

#: A row that failed this many times is left aside (``intranet check`` reports it).
MAX_ATTEMPTS = 5
DEFAULT_BATCH = 200
#: Files in the index root, beside the generations of ``documents.search``.
DRAIN_LOCK = "drain.lock"
INDEXER_LOCK = "indexer.lock"
REINDEX_MARKER = "NEEDS_REINDEX"

SessionFactory = Callable[[], Session]


class IndexerRunning(DomainError):
    """Another indexer loop already runs on this index."""

    status = 409


# --------------------------------------------------------------------------- lock files


@contextmanager
def _flock(path: Path, *, timeout: float | None, message: str,
           error: type[DomainError] = IndexBusy) -> Iterator[None]:
    # flock locks belong to the open file description: two threads of one process
    # that open the file separately exclude each other too, and the kernel drops
    # the lock when a killed process's descriptors close.
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if deadline is not None and time.monotonic() >= deadline:
                    raise error(message) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _drain_lock(root: Path, timeout: float | None) -> Any:
    return _flock(root / DRAIN_LOCK, timeout=timeout,
                  message="L'index de recherche est en cours de mise à jour ou de reconstruction ; "
                          "réessayez dans un instant.")


# --------------------------------------------------------------------------- entries


def _utc_naive(value: dt.datetime | dt.date | None) -> dt.datetime | None:
    # SQLite gives naive datetimes, PostgreSQL aware ones: the index keeps naive UTC.
    if value is None:
        return None
    if not isinstance(value, dt.datetime):
        return dt.datetime(value.year, value.month, value.day)
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value


def document_entry(document: Document, text: str | None) -> IndexEntry:
    """The index entry of a document's current version (``text`` is that version's extraction)."""
    current = document.current
    parties: list[str] = []
    for org in document.parties:
        parties.append(org.name)
        if org.short_name and org.short_name != org.name:
            parties.append(org.short_name)
    quartiers: list[str] = []
    for q in document.quartiers:
        quartiers.extend(v for v in (q.code, q.names) if v)
    keywords = document.keyword_list
    # Metadata words are appended to the searched text so that a plain query for a
    # signatory ("CNC") or a quartier name finds the document; snippets still come
    # from the version's own text.
    extra = " \n".join(v for v in (", ".join(keywords), ", ".join(parties), ", ".join(quartiers)) if v)
    body = (text or "") + ("\n\n" + extra if extra else "")
    return IndexEntry(
        id=entry_id("document", document.id),
        kind="document",
        title=document.title,
        text=body,
        type=document.doc_type,
        region=document.region_code or NATIONAL,
        year=document.year,
        status=document.status,
        version=current.number if current is not None else None,
        parties=parties,
        quartiers=quartiers,
        keywords=keywords,
        date=_utc_naive(document.signature_date or document.effective_date or document.created_at),
        updated=_utc_naive(document.updated_at),
    )


def _current_texts(session: Session, document_ids: Collection[int]) -> dict[int, tuple[str | None, str, Any]]:
    """(text, region_code, deleted_at) of each document's latest version, in one query."""
    if not document_ids:
        return {}
    latest = (
        select(DocumentVersion.document_id, func.max(DocumentVersion.number).label("n"))
        .where(DocumentVersion.document_id.in_(list(document_ids)))
        .group_by(DocumentVersion.document_id)
        .subquery()
    )
    rows = session.execute(
        select(DocumentVersion.document_id, DocumentVersion.text, Document.region_code, Document.deleted_at)
        .join(latest, and_(DocumentVersion.document_id == latest.c.document_id,
                           DocumentVersion.number == latest.c.n))
        .join(Document, Document.id == DocumentVersion.document_id)
    ).all()
    return {doc_id: (text, region, deleted) for doc_id, text, region, deleted in rows}


def _build_documents(session: Session, ids: Sequence[int]) -> dict[int, IndexEntry | None]:
    docs = session.scalars(select(Document).where(Document.id.in_(list(ids)))).unique().all()
    texts = _current_texts(session, ids)
    out: dict[int, IndexEntry | None] = {i: None for i in ids}
    for doc in docs:
        if not doc.in_trash:
            out[doc.id] = document_entry(doc, texts.get(doc.id, (None,))[0])
    return out


def _document_ids(session: Session) -> Iterator[list[int]]:
    last = 0
    while True:
        ids = list(session.scalars(
            select(Document.id).where(Document.id > last, Document.deleted_at.is_(None))
            .order_by(Document.id).limit(DEFAULT_BATCH)))
        if not ids:
            return
        yield ids
        last = ids[-1]


def _document_texts(session: Session, ids: Sequence[int],
                    allowed: frozenset[str] | None) -> dict[int, str]:
    out = {}
    for doc_id, (text, region, deleted) in _current_texts(session, ids).items():
        if deleted is None and (allowed is None or (region or NATIONAL) in allowed):
            out[doc_id] = text or ""
    return out


def _document_fingerprints(session: Session) -> tuple[dict[str, tuple[Any, ...]], set[str]]:
    """Expected fingerprints of live documents, and the entry ids of trashed ones."""
    latest = (select(DocumentVersion.document_id, func.max(DocumentVersion.number).label("n"))
              .group_by(DocumentVersion.document_id).subquery())
    rows = session.execute(
        select(Document.id, Document.title, Document.region_code, Document.doc_type, Document.status,
               Document.year, latest.c.n, Document.updated_at, Document.deleted_at)
        .outerjoin(latest, latest.c.document_id == Document.id)
    ).all()
    live: dict[str, tuple[Any, ...]] = {}
    trashed: set[str] = set()
    for doc_id, title, region, doc_type, status, year, number, updated, deleted in rows:
        eid = entry_id("document", doc_id)
        if deleted is not None:
            trashed.add(eid)
        else:
            live[eid] = _fingerprint(title, region or NATIONAL, doc_type, status, year, number, updated)
    return live, trashed


def _fingerprint(title: str, region: str, type_: str, status: str, year: object, version: object,
                 updated: dt.datetime | None) -> tuple[Any, ...]:
    stamp = _utc_naive(updated)
    return (title or "", region or NATIONAL, type_ or "", status or "",
            "" if year in (None, "") else str(year), "" if version in (None, "") else str(version),
            stamp.replace(microsecond=0) if stamp else None)


def _fingerprint_entry(entry: IndexEntry) -> tuple[Any, ...]:
    return _fingerprint(entry.title, entry.region, entry.type, entry.status, entry.year, entry.version,
                        entry.updated)


def _fingerprint_stored(fields: Mapping[str, Any]) -> tuple[Any, ...]:
    return _fingerprint(fields.get("title", ""), fields.get("region", ""), fields.get("type", ""),
                        fields.get("status", ""), fields.get("year"), fields.get("version"),
                        fields.get("updated"))


@dataclass(frozen=True)
class Source:
    """How one object type of the outbox becomes index entries.

    ``build(session, ids)`` returns an entry per id, or None when the object must not be
    in the index (missing, trashed); ``batches(session)`` yields every indexable id;
    ``texts(session, ids, allowed)`` returns the snippet text of the ids the regions
    ``allowed`` (None = all) may read now.
    """

    object_type: str
    build: Callable[[Session, Sequence[int]], Mapping[int, IndexEntry | None]]
    batches: Callable[[Session], Iterable[Sequence[int]]]
    texts: Callable[[Session, Sequence[int], frozenset[str] | None], Mapping[int, str]]
    fingerprints: Callable[[Session], tuple[dict[str, tuple[Any, ...]], set[str]]] | None = None


#: Object types the indexer knows, by ``IndexOutbox.object_type``.
SOURCES: dict[str, Source] = {
    "document": Source("document", _build_documents, _document_ids, _document_texts, _document_fingerprints),
}


def register_source(source: Source) -> Source:
    """Add or replace the source of an object type."""
    SOURCES[source.object_type] = source
    return source


def _meeting_source() -> Source | None:
    """Meetings, once ``documents.committees.index_entry_for_meeting`` exists."""
    try:
        committees = importlib.import_module("documents.committees")
    except ImportError:
        return None
    builder = getattr(committees, "index_entry_for_meeting", None)
    if builder is None:
        return None
    from documents.models import Meeting

    def build(session: Session, ids: Sequence[int]) -> dict[int, IndexEntry | None]:
        return {i: builder(session, i) for i in ids}

    def batches(session: Session) -> Iterator[list[int]]:
        ids = list(session.scalars(select(Meeting.id).order_by(Meeting.id)))
        for start in range(0, len(ids), DEFAULT_BATCH):
            yield ids[start:start + DEFAULT_BATCH]

    def texts(session: Session, ids: Sequence[int], allowed: frozenset[str] | None) -> dict[int, str]:
        out = {}
        for i, entry in build(session, ids).items():
            if entry is not None and (allowed is None or entry.region in allowed):
                out[i] = entry.text
        return out

    return Source("meeting", build, batches, texts)


def _sources() -> dict[str, Source]:
    out = dict(SOURCES)
    if "meeting" not in out:
        meeting = _meeting_source()
        if meeting is not None:
            out["meeting"] = meeting
    return out


def _split_id(eid: str) -> tuple[str, int] | None:
    kind, _, pk = eid.partition(":")
    try:
        return kind, int(pk)
    except ValueError:
        return None


# --------------------------------------------------------------------------- outbox drain


@dataclass
class DrainReport:
    """What a drain applied."""

    rows: int = 0
    upserts: int = 0
    deletes: int = 0
    failed: int = 0
    batches: int = 0

    def add(self, other: DrainReport) -> None:
        """Accumulate another report into this one."""
        for f in dataclasses.fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


def _pending_query(types: Collection[str]) -> Any:
    return select(IndexOutbox.id).where(IndexOutbox.attempts < MAX_ATTEMPTS,
                                        IndexOutbox.object_type.in_(list(types)))


def pending_count(session: Session) -> int:
    """Outbox rows waiting for the indexer (failed rows included)."""
    return session.scalar(select(func.count()).select_from(IndexOutbox)) or 0


def _apply_batch(factory: SessionFactory, index: SearchIndex, sources: Mapping[str, Source], *,
                 batch_size: int, timeout: float) -> tuple[DrainReport, bool]:
    """Apply one batch; also says whether the outbox had more rows than the batch."""
    report = DrainReport(batches=1)
    full = False
    # One cycle of the job is one unit of work: the outbox rows it applied go with its commit.
    with unit_of_work(factory) as session:
        failures: dict[tuple[str, int], str] = {}
        groups: dict[tuple[str, int], list[int]] = {}
        # The writer lock is taken before reading the outbox and the database, so that
        # the state written is never older than the state another drain wrote before.
        with writing(index, timeout=timeout) as writer:
            rows = session.execute(
                select(IndexOutbox.id, IndexOutbox.object_type, IndexOutbox.object_id)
                .where(IndexOutbox.id.in_(_pending_query(sources).order_by(IndexOutbox.id).limit(batch_size)))
                .order_by(IndexOutbox.id)
            ).all()
            full = len(rows) >= batch_size
            for row_id, object_type, object_id in rows:
                # Coalesce: ten edits of one document cost one index update.
                groups.setdefault((object_type, object_id), []).append(row_id)
            by_type: dict[str, list[int]] = {}
            for object_type, object_id in groups:
                by_type.setdefault(object_type, []).append(object_id)
            for object_type, ids in by_type.items():
                source = sources[object_type]
                try:
                    built = dict(source.build(session, ids))
                except Exception:  # noqa: BLE001 - isolate the failing object, keep the others
                    session.rollback()
                    built = {}
                    for object_id in ids:
                        try:
                            built.update(source.build(session, [object_id]))
                        except Exception as exc:  # noqa: BLE001 - counted, retried, then reported by check
                            session.rollback()
                            logger.exception("indexing %s %s failed", object_type, object_id)
                            failures[(object_type, object_id)] = f"{type(exc).__name__}: {exc}"[:2000]
                for object_id in ids:
                    if (object_type, object_id) in failures:
                        continue
                    entry = built.get(object_id)
                    if entry is None:
                        writer.delete(entry_id(object_type, object_id))
                        report.deletes += 1
                    else:
                        writer.upsert(entry)
                        report.upserts += 1
            # End the read transaction before the (slow) index commit.
            session.rollback()
        applied = [rid for key, rids in groups.items() if key not in failures for rid in rids]
        if applied:
            session.execute(delete(IndexOutbox).where(IndexOutbox.id.in_(applied)))
        for key, message in failures.items():
            session.execute(update(IndexOutbox).where(IndexOutbox.id.in_(groups[key]))
                            .values(attempts=IndexOutbox.attempts + 1, last_error=message))
        report.rows = len(applied)
        report.failed = len(failures)
    return report, full


def _drain_locked(factory: SessionFactory, index: SearchIndex, *, batch_size: int, timeout: float,
                  max_batches: int | None) -> DrainReport:
    total = DrainReport()
    sources = _sources()
    while max_batches is None or total.batches < max_batches:
        session = factory()
        try:
            # A cheap look first: an empty outbox must not cost a Whoosh commit.
            waiting = session.scalar(_pending_query(sources).limit(1))
        finally:
            session.close()
        if waiting is None:
            break
        report, full = _apply_batch(factory, index, sources, batch_size=batch_size, timeout=timeout)
        total.add(report)
        if not full or report.rows == 0:
            break  # drained; failing rows wait for the next cycle
    return total


def drain(factory: SessionFactory, index: SearchIndex, *, batch_size: int = DEFAULT_BATCH,
          timeout: float = 10.0, max_batches: int | None = None, lock_timeout: float | None = None) -> DrainReport:
    """Apply waiting outbox rows to the index in batches; each row is deleted after the index commit."""
    with _drain_lock(index.root, timeout if lock_timeout is None else lock_timeout):
        return _drain_locked(factory, index, batch_size=batch_size, timeout=timeout, max_batches=max_batches)


# --------------------------------------------------------------------------- rebuild


def _marker(root: Path) -> Path:
    return Path(root) / REINDEX_MARKER


def needs_reindex(root: str | os.PathLike[str]) -> bool:
    """True when the index was recreated empty and waits for a full rebuild."""
    return _marker(Path(root)).exists()


def ensure_index(root: str | os.PathLike[str]) -> SearchIndex:
    """Open the index, recreating a missing or corrupted one (then flagged for a full rebuild)."""
    index = open_index(root, create=True)
    if index.needs_reindex:
        _marker(Path(root)).write_text("1", encoding="ascii")
    return index


def count_indexable(session: Session) -> int:
    """How many entries a full rebuild writes (for a progress bar)."""
    total = 0
    for source in _sources().values():
        for ids in source.batches(session):
            total += len(ids)
    return total


def _all_entries(factory: SessionFactory, sources: Mapping[str, Source]) -> Iterator[IndexEntry]:
    for source in sources.values():
        session = factory()
        try:
            for ids in source.batches(session):
                built = source.build(session, ids)
                for object_id in ids:
                    entry = built.get(object_id)
                    if entry is not None:
                        yield entry
                # Keep memory flat over a large archive.
                session.expunge_all()
        finally:
            session.close()


@dataclass
class ReindexReport:
    """Outcome of a full rebuild."""

    count: int
    replayed: DrainReport
    seconds: float


def reindex_all(factory: SessionFactory, root: str | os.PathLike[str], *, procs: int = 2,
                progress: Callable[[int], None] | None = None, lock_timeout: float = 120.0,
                limitmb: int = 128, backend: str | None = None) -> ReindexReport:
    """Rebuild the whole index into a new generation (swapped in atomically), then replay the outbox.

    ``backend`` (``tantivy`` | ``whoosh``, default ``SEARCH_BACKEND``) is the engine of the new generation.
    """
    root = Path(root)
    start = time.perf_counter()
    root.mkdir(parents=True, exist_ok=True)
    # Drains wait while we rebuild: rows written meanwhile stay in the outbox and are
    # replayed below, into the new generation.
    with _drain_lock(root, lock_timeout):
        sources = _sources()
        count = rebuild(root, _all_entries(factory, sources), procs=max(1, procs), progress=progress,
                        progress_every=50, limitmb=limitmb, backend=backend)
        _marker(root).unlink(missing_ok=True)
        index = open_index(root, create=False)
        try:
            replayed = _drain_locked(factory, index, batch_size=DEFAULT_BATCH, timeout=30.0, max_batches=None)
        finally:
            index.close()
    return ReindexReport(count=count, replayed=replayed, seconds=time.perf_counter() - start)


# --------------------------------------------------------------------------- the loop


def run_indexer(factory: SessionFactory, root: str | os.PathLike[str], *, interval: float = 1.0,
                once: bool = False, stop: threading.Event | None = None, batch_size: int = DEFAULT_BATCH,
                procs: int = 2, on_cycle: Callable[[DrainReport], None] | None = None,
                heartbeat: Callable[[str], None] | None = None) -> DrainReport:
    """The single indexer: apply the outbox every ``interval`` seconds until ``stop`` (or once).

    ``heartbeat(state)`` is called at each cycle and during a full rebuild (``documents.heartbeat``),
    so that the web workers can tell whether the indexer runs and whether a rebuild is in progress.
    """
    root = Path(root)
    stop = stop or threading.Event()
    beat = heartbeat or (lambda _state: None)
    total = DrainReport()
    with _flock(root / INDEXER_LOCK, timeout=0,
                message="Un indexeur tourne déjà pour cet index : un seul à la fois (arrêtez l'autre "
                        "ou attendez qu'il ait fini).", error=IndexerRunning):
        index: SearchIndex | None = None
        try:
            while True:
                beat(RUNNING)
                try:
                    if index is None:
                        index = ensure_index(root)
                    else:
                        index.current()  # raises if the folder vanished: reopened below
                    if needs_reindex(root):
                        logger.warning("search index at %s is being rebuilt", root)
                        beat(REBUILDING)
                        rebuilt = reindex_all(factory, root, procs=procs,
                                              progress=lambda _count: beat(REBUILDING))
                        total.add(rebuilt.replayed)
                        logger.warning("search index rebuilt: %d entries in %.1f s", rebuilt.count, rebuilt.seconds)
                        beat(RUNNING)
                    report = drain(factory, index, batch_size=batch_size)
                    total.add(report)
                    if on_cycle is not None:
                        on_cycle(report)
                    if report.rows:
                        logger.info("indexer applied %d outbox rows (%d upserts, %d deletes)",
                                    report.rows, report.upserts, report.deletes)
                except IndexBusy as exc:
                    logger.info("indexer waits: %s", exc.message)
                except SearchIndexError as exc:
                    logger.error("search index unusable, reopening: %s", exc.message)
                    if index is not None:
                        index.close()
                    index = None
                    if once:
                        continue  # recreate and rebuild now, then drain
                except Exception:  # noqa: BLE001 - the loop must outlive a bad cycle (DB restart, disk)
                    logger.exception("indexer cycle failed")
                    if index is not None:
                        index.close()
                    index = None  # reopened (and checked) next cycle
                    if once:
                        raise
                if once or stop.wait(interval):
                    break
        finally:
            if index is not None:
                index.close()
    return total


# --------------------------------------------------------------------------- searching


def search_archive(session: Session, index: SearchIndex, query: str, *, user: User | None,
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
    sources = _sources()
    live: set[str] = set()

    def text_for(ids: Sequence[str]) -> dict[str, str]:
        wanted: dict[str, list[int]] = {}
        for eid in ids:
            parsed = _split_id(eid)
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
                   year=document.year, status=document.status, version=n, date=_utc_naive(created),
                   updated=_utc_naive(created))
        for n, filename, created, text in rows
    ]
    # The versions go through a throwaway index with the same analysis, query language
    # and highlighter as the archive search: a handful of texts index in milliseconds.
    with tempfile.TemporaryDirectory(prefix="intranet-versions-") as tmp:
        rebuild(tmp, entries)
        with open_index(tmp, create=False) as index:
            return search(index, query, scope=SearchScope.all(), sort=sort, page=page, per_page=per_page,
                          text_for=lambda ids: {i: texts.get(i, "") for i in ids})


# --------------------------------------------------------------------------- intranet check


def _index_root_of(ctx: Any) -> Path:
    return Path(getattr(ctx, "index_dir", None) or Path(ctx.data_dir) / "index")


def _details(eid: str) -> dict[str, Any]:
    parsed = _split_id(eid)
    out: dict[str, Any] = {"id": eid}
    if parsed is not None:
        out["object_type"], out["object_id"] = parsed
    return out


def _expected(session: Session, sources: Mapping[str, Source]) -> tuple[dict[str, tuple[Any, ...]], set[str]]:
    expected: dict[str, tuple[Any, ...]] = {}
    trashed: set[str] = set()
    for source in sources.values():
        if source.fingerprints is not None:
            live, gone = source.fingerprints(session)
            expected.update(live)
            trashed |= gone
            continue
        for ids in source.batches(session):
            for entry in source.build(session, ids).values():
                if entry is not None:
                    expected[entry.id] = _fingerprint_entry(entry)
    return expected, trashed


def check_index(ctx: Any) -> list[Any]:
    """``intranet check``: the index against the database (missing, stale, trashed, orphan entries)."""
    from documents.archive import enqueue
    from documents.consistency import Problem

    session: Session = ctx.session
    root = _index_root_of(ctx)
    sources = _sources()
    problems: list[Problem] = []
    pending = {(t, i) for t, i in session.execute(
        select(IndexOutbox.object_type, IndexOutbox.object_id).where(IndexOutbox.attempts < MAX_ATTEMPTS))}
    stuck = session.execute(
        select(IndexOutbox.id, IndexOutbox.object_type, IndexOutbox.object_id, IndexOutbox.last_error)
        .where(IndexOutbox.attempts >= MAX_ATTEMPTS).order_by(IndexOutbox.id)).all()
    stuck_problems: list[Problem] = []
    for row_id, object_type, object_id, error in stuck:
        stuck_problems.append(Problem(
            "index_outbox_failed", f"{object_type} {object_id}",
            f"L'indexation de {object_type} {object_id} échoue depuis {MAX_ATTEMPTS} essais : {error}",
            details={"outbox_id": row_id, "object_type": object_type, "object_id": object_id}))
    problems.extend(stuck_problems)
    expected, trashed = _expected(session, sources)

    def waiting(eid: str) -> bool:
        parsed = _split_id(eid)
        return parsed is not None and parsed in pending

    try:
        index = open_index(root, create=False)
    except SearchIndexError as exc:
        missing = [eid for eid in expected if not waiting(eid)]
        if not missing and not (root / "CURRENT").exists():
            # Nothing indexed yet and nothing that should be (a fresh installation, or every
            # change still waits for the indexer): no index to compare, no statistics either.
            return problems
        problem = Problem("index_unreadable", "index",
                          f"{exc.message} ({len(expected)} élément(s) à indexer).",
                          details={"path": str(root)})
        if ctx.repair:
            report = reindex_all(sessionmaker(bind=session.get_bind()), root)
            problem.repaired = True
            problem.action = f"Index reconstruit ({report.count} élément(s))."
        problems.append(problem)
        if ctx.repair and stuck_problems:
            _reset_failed(ctx, stuck_problems)
            _drain_for_repair(ctx, root, stuck_problems)
        return problems
    try:
        indexed = index.stored_by_id()
    finally:
        index.close()
    ctx.stats["index_entries"] = len(indexed)
    ctx.stats["index_pending"] = len(pending)
    found: list[tuple[Problem, str, int, str]] = []
    for eid, fingerprint in expected.items():
        if waiting(eid):
            continue
        parsed = _split_id(eid)
        assert parsed is not None
        if eid not in indexed:
            found.append((Problem("index_missing", eid, f"{eid} n'est pas dans l'index de recherche.",
                                  details=_details(eid)), *parsed, "upsert"))
        elif _fingerprint_stored(indexed[eid]) != fingerprint:
            found.append((Problem("index_stale", eid,
                                  f"{eid} est périmé dans l'index (titre, région, statut ou version diffèrent).",
                                  details=_details(eid)), *parsed, "upsert"))
    for eid in indexed:
        if eid in expected or waiting(eid):
            continue
        parsed = _split_id(eid)
        if eid in trashed:
            problem = Problem("index_trashed", eid, f"{eid} est dans la corbeille mais encore dans l'index.",
                              details=_details(eid))
        else:
            problem = Problem("index_orphan", eid, f"{eid} n'existe plus mais reste dans l'index.",
                              details=_details(eid))
        if parsed is None or parsed[0] not in sources:
            problems.append(problem)  # not ours to mend: reported only
            continue
        found.append((problem, parsed[0], parsed[1], "delete"))
    if ctx.repair and found:
        for _problem, object_type, object_id, action in found:
            enqueue(session, object_id, object_type=object_type, action=action)
        ctx.durable()
    problems.extend(p for p, *_ in found)
    if ctx.repair:
        _reset_failed(ctx, stuck_problems)
        if found or stuck_problems:
            _drain_for_repair(ctx, root, [p for p, *_ in found] + stuck_problems)
    return problems


def _reset_failed(ctx: Any, problems: list[Any]) -> None:
    # Failed rows get a fresh series of attempts; the drain then tells whether they work now.
    ids = [p.details["outbox_id"] for p in problems]
    if ids:
        ctx.session.execute(update(IndexOutbox).where(IndexOutbox.id.in_(ids)).values(attempts=0))
        ctx.durable()


def _drain_for_repair(ctx: Any, root: Path, problems: list[Any]) -> None:
    session: Session = ctx.session
    if ctx.checkpoint is None:
        # Without a checkpoint the queued rows are not committed yet: the running indexer applies them after.
        for problem in problems:
            problem.action = "Mis en file pour l'indexeur."
        return
    factory = sessionmaker(bind=session.get_bind())
    index = ensure_index(root)
    try:
        drain(factory, index, lock_timeout=30.0)
    except IndexBusy as exc:
        for problem in problems:
            problem.action = f"Mis en file pour l'indexeur ; {exc.message}"
        return
    finally:
        index.close()
    left = {(t, i): a for t, i, a in session.execute(
        select(IndexOutbox.object_type, IndexOutbox.object_id, IndexOutbox.attempts))}
    session.rollback()
    for problem in problems:
        key = (problem.details["object_type"], problem.details["object_id"])
        if key not in left:
            problem.repaired = True
            problem.action = "Index corrigé."
        else:
            problem.action = f"Toujours en échec après {left[key]} essai(s) : voir le journal de l'indexeur."
