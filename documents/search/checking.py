"""``intranet check``: the search index against the database (missing, stale, trashed, orphan entries).

With ``--repair`` the differences are queued in the outbox and drained at once when
the check commits (else the running indexer applies them), failed rows get a new
series of attempts, and an unreadable index is rebuilt.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from documents.models import IndexOutbox
from documents.search.common import IndexBusy, SearchIndexError
from documents.search.engines import open_index
from documents.search.outbox import MAX_ATTEMPTS, drain
from documents.search.rebuilding import ensure_index, reindex_all
from documents.search.sources import (
    Fingerprint,
    IndexSource,
    by_type,
    fingerprint_entry,
    fingerprint_stored,
    split_id,
)


def _index_root_of(ctx: Any) -> Path:
    return Path(getattr(ctx, "index_dir", None) or Path(ctx.data_dir) / "index")


def _details(eid: str) -> dict[str, Any]:
    parsed = split_id(eid)
    out: dict[str, Any] = {"id": eid}
    if parsed is not None:
        out["object_type"], out["object_id"] = parsed
    return out


def _expected(session: Session, sources: Mapping[str, IndexSource]) -> tuple[dict[str, Fingerprint], set[str]]:
    expected: dict[str, Fingerprint] = {}
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
                    expected[entry.id] = fingerprint_entry(entry)
    return expected, trashed


def check_index(ctx: Any) -> list[Any]:
    """``intranet check``: the index against the database (missing, stale, trashed, orphan entries)."""
    from documents.archive import enqueue
    from documents.consistency import Problem

    session: Session = ctx.session
    root = _index_root_of(ctx)
    sources = by_type()
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
        parsed = split_id(eid)
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
        parsed = split_id(eid)
        assert parsed is not None
        if eid not in indexed:
            found.append((Problem("index_missing", eid, f"{eid} n'est pas dans l'index de recherche.",
                                  details=_details(eid)), *parsed, "upsert"))
        elif fingerprint_stored(indexed[eid]) != fingerprint:
            found.append((Problem("index_stale", eid,
                                  f"{eid} est périmé dans l'index (titre, région, statut ou version diffèrent).",
                                  details=_details(eid)), *parsed, "upsert"))
    for eid in indexed:
        if eid in expected or waiting(eid):
            continue
        parsed = split_id(eid)
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
