"""``intranet check``: find, and on request mend, disagreements between the database and the files.

Each check is a plain function ``(CheckContext) -> list[Problem]`` listed in ``CHECKERS``;
another subsystem adds its own (the search index compares itself with the database) with
``register_checker``. A checker repairs only when ``ctx.repair`` is set, and marks what it
mended with ``repaired=True``: what stays unrepaired makes the command exit with code 1.

Repairs never destroy bytes a user uploaded: unreferenced files go to ``lost+found`` under
the data folder, and a missing file is put back from there when its bytes are found.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from documents import audit
from documents.archive import enqueue, find_by_sha
from documents.models import AuditEvent, Document, DocumentVersion, User
from documents.storage import CHUNK, LocalStorage, Storage, StorageError, sha256_file

logger = logging.getLogger(__name__)

LOST_AND_FOUND = "lost+found"
#: Files and temp files younger than this may belong to an upload still in progress: reported
#: as such but never moved (an upload stores its file a moment before it commits its row).
DEFAULT_GRACE_S = 15 * 60


@dataclass
class Problem:
    """One inconsistency, in French, with what the repair did about it."""

    kind: str
    subject: str
    message: str
    repaired: bool = False
    action: str = ""
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class CheckContext:
    """What every checker needs; ``stats`` collects counts for the report."""

    session: Session
    storage: Storage
    data_dir: Path
    repair: bool = False
    verify_hashes: bool = True
    grace_s: float = DEFAULT_GRACE_S
    actor: User | None = None
    #: The search index folder, for checkers that compare the index with the database.
    index_dir: Path | None = None
    now: float = field(default_factory=time.time)
    stats: dict[str, int] = field(default_factory=dict)
    #: Given by the edge (the CLI passes its commit): makes each repair durable as soon as it is done.
    checkpoint: Callable[[], None] | None = None

    def durable(self) -> None:
        """Flush the repairs so far and let the edge commit them (when it gave a checkpoint)."""
        self.session.flush()
        if self.checkpoint is not None:
            self.checkpoint()

    @property
    def lost_and_found(self) -> Path:
        """Where unreferenced files are kept."""
        return self.data_dir / LOST_AND_FOUND

    def referenced(self) -> set[str]:
        """Every SHA-256 a version points at, read now."""
        # The searchable copies made by the OCR live in the store beside the originals.
        return set(self.session.scalars(select(DocumentVersion.sha256).distinct())) | set(
            self.session.scalars(select(DocumentVersion.ocr_sha256).where(DocumentVersion.ocr_sha256.is_not(None))))


Checker = Callable[[CheckContext], list[Problem]]


@dataclass
class CheckReport:
    """The outcome of a check run."""

    problems: list[Problem]
    stats: dict[str, int]
    repair: bool

    @property
    def remaining(self) -> list[Problem]:
        """Problems still there after the run."""
        return [p for p in self.problems if not p.repaired]

    @property
    def ok(self) -> bool:
        """True when nothing is left to mend."""
        return not self.remaining

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready report."""
        return {
            "ok": self.ok, "repair": self.repair, "stats": self.stats,
            "problems": [asdict(p) for p in self.problems],
            "remaining": len(self.remaining), "repaired": len(self.problems) - len(self.remaining),
        }


# ------------------------------------------------------------------ helpers


def _age_s(ctx: CheckContext, sha256: str) -> float | None:
    # Only the local store knows file times; a remote backend's objects count as old.
    if isinstance(ctx.storage, LocalStorage):
        try:
            return ctx.now - ctx.storage.local_path(sha256).stat().st_mtime
        except (StorageError, OSError):
            return None
    return None


def _hash_stored(storage: Storage, sha256: str) -> str:
    digest = hashlib.sha256()
    with storage.open(sha256) as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _copy_durably(source: Any, target: Path) -> None:
    """Write the stream ``source`` to ``target`` via a temp file, fsync and rename."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.partial")
    with tmp.open("wb") as out:
        shutil.copyfileobj(source, out, CHUNK)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, target)


def move_to_lost_and_found(ctx: CheckContext, sha256: str) -> Path:
    """Copy stored content to lost+found (verified), then remove it from the store."""
    target = ctx.lost_and_found / sha256
    if not (target.is_file() and sha256_file(target) == sha256):
        with ctx.storage.open(sha256) as fh:
            _copy_durably(fh, target)
        if sha256_file(target) != sha256:
            # The stored bytes do not match their name: keep both, under a telling name.
            target.rename(ctx.lost_and_found / f"{sha256}.mismatch-{int(ctx.now)}")
            raise StorageError("La copie vers lost+found ne correspond pas à son empreinte.")
    ctx.storage.delete(sha256)
    return target


def _valid_lost_copy(ctx: CheckContext, sha256: str) -> Path | None:
    candidate = ctx.lost_and_found / sha256
    if candidate.is_file() and sha256_file(candidate) == sha256:
        return candidate
    return None


# ------------------------------------------------------------------ checkers


def check_version_files(ctx: CheckContext) -> list[Problem]:
    """Versions whose file is missing or whose bytes no longer match their SHA-256."""
    problems: list[Problem] = []
    rows = ctx.session.execute(
        select(DocumentVersion.id, DocumentVersion.document_id, DocumentVersion.number, DocumentVersion.sha256)
        .order_by(DocumentVersion.id)
    ).all()
    ctx.stats["versions"] = len(rows)
    checked: dict[str, str | None] = {}
    for _vid, doc_id, number, sha in rows:
        subject = f"document {doc_id}, version {number}"
        if sha not in checked:
            if not ctx.storage.exists(sha):
                checked[sha] = "missing"
            elif ctx.verify_hashes:
                try:
                    checked[sha] = None if _hash_stored(ctx.storage, sha) == sha else "mismatch"
                except (StorageError, OSError):
                    checked[sha] = "missing"
            else:
                checked[sha] = None
        state = checked[sha]
        if state is None:
            continue
        if state == "missing":
            problem = Problem("missing_file", subject, f"Le fichier de la {subject} est introuvable ({sha}).",
                              details={"document_id": doc_id, "version": number, "sha256": sha})
        else:
            problem = Problem("hash_mismatch", subject,
                              f"Le fichier de la {subject} a été altéré : son contenu ne correspond plus à "
                              f"son empreinte {sha}.",
                              details={"document_id": doc_id, "version": number, "sha256": sha})
        if ctx.repair:
            _repair_version_file(ctx, problem, sha, state)
        problems.append(problem)
    return problems


def _repair_version_file(ctx: CheckContext, problem: Problem, sha: str, state: str) -> None:
    copy = _valid_lost_copy(ctx, sha)
    if copy is None:
        problem.action = ("Aucune copie intacte dans lost+found : restaurez ce fichier depuis une sauvegarde "
                          "ou ajoutez une nouvelle version au document.")
        return
    if ctx.storage.exists(sha):
        if _hash_stored(ctx.storage, sha) == sha:
            problem.repaired, problem.action = True, "Déjà réparé."
            return
        # Keep the damaged bytes aside, never delete them.
        with ctx.storage.open(sha) as fh:
            _copy_durably(fh, ctx.lost_and_found / f"{sha}.altered-{int(ctx.now)}")
        ctx.storage.delete(sha)
    ctx.storage.put_file(copy, sha)
    problem.repaired = True
    problem.action = "Fichier remis en place depuis lost+found."


def check_orphan_files(ctx: CheckContext) -> list[Problem]:
    """Stored files that no version references (e.g. a process killed between file write and commit)."""
    referenced = ctx.referenced()
    problems: list[Problem] = []
    stored = 0
    for sha in sorted(ctx.storage.keys()):
        stored += 1
        if sha in referenced:
            continue
        age = _age_s(ctx, sha)
        young = age is not None and age < ctx.grace_s
        problem = Problem("orphan_file", sha, f"Le fichier {sha} n'appartient à aucune version de document.",
                          details={"sha256": sha, "age_s": None if age is None else int(age)})
        if young:
            problem.message += " Il est récent : peut-être un envoi en cours ; relancez la vérification plus tard."
        elif ctx.repair:
            # Checked again just before moving: an upload may have committed since the list was read.
            if find_by_sha(ctx.session, sha) is not None:
                problem.repaired, problem.action = True, "Référencé entre-temps par une version."
            else:
                target = move_to_lost_and_found(ctx, sha)
                problem.repaired = True
                problem.action = f"Déplacé dans {target.relative_to(ctx.data_dir)}."
        problems.append(problem)
    ctx.stats["files"] = stored
    return problems


def check_temp_files(ctx: CheckContext) -> list[Problem]:
    """Temporary upload files left behind by killed processes (older than the grace period)."""
    if not isinstance(ctx.storage, LocalStorage):
        return []
    folder = ctx.storage.root / "tmp"
    problems: list[Problem] = []
    if not folder.is_dir():
        return problems
    for path in sorted(folder.iterdir()):
        try:
            age = ctx.now - path.stat().st_mtime
        except FileNotFoundError:
            continue  # finished meanwhile
        if age < ctx.grace_s:
            continue
        problem = Problem("temp_file", path.name,
                          f"Fichier temporaire abandonné : tmp/{path.name} ({int(age // 60)} min).",
                          details={"age_s": int(age)})
        if ctx.repair:
            # A temp file is a partial copy of an upload, never the only copy of anything.
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            problem.repaired, problem.action = True, "Supprimé."
        problems.append(problem)
    return problems


def _known_hashes(ctx: CheckContext, document_id: int) -> set[str]:
    events = ctx.session.scalars(select(AuditEvent).where(
        AuditEvent.object_type == "document", AuditEvent.object_id == str(document_id),
        AuditEvent.action.in_(("document.upload", "document.version"))))
    return {str(e.details.get("sha256")) for e in events if isinstance(e.details, dict) and e.details.get("sha256")}


def check_empty_documents(ctx: CheckContext) -> list[Problem]:
    """Documents without any version; removed on repair only if no file of theirs can still be found."""
    docs = ctx.session.scalars(
        select(Document).where(~exists().where(DocumentVersion.document_id == Document.id)).order_by(Document.id)
    ).all()
    problems: list[Problem] = []
    for doc in docs:
        subject = f"document {doc.id}"
        problem = Problem("empty_document", subject,
                          f"Le document {doc.id} « {doc.title} » n'a aucune version (aucun fichier).",
                          details={"document_id": doc.id})
        if ctx.repair:
            hashes = _known_hashes(ctx, doc.id)
            still_there = sorted(h for h in hashes if (len(h) == 64 and ctx.storage.exists(h))
                                 or (ctx.lost_and_found / h).is_file())
            if still_there:
                problem.action = ("Conservé : des fichiers envoyés pour ce document existent encore ("
                                  + ", ".join(still_there) + ") ; ajoutez-les comme version à la main.")
                problem.details["files"] = still_there
            else:
                doc_id, region, title = doc.id, doc.region_code, doc.title
                ctx.session.delete(doc)
                enqueue(ctx.session, doc_id, action="delete")
                audit.record(ctx.session, "document.repair_delete", actor=ctx.actor, actor_email="intranet check",
                             object_type="document", object_id=doc_id, region_code=region,
                             details={"title": title, "reason": "aucune version"})
                ctx.durable()
                problem.repaired, problem.action = True, "Fiche sans fichier supprimée."
        problems.append(problem)
    return problems


#: The checks ``intranet check`` runs, in order. Other subsystems append theirs.
CHECKERS: list[Checker] = [check_version_files, check_orphan_files, check_temp_files, check_empty_documents]


def register_checker(checker: Checker) -> Checker:
    """Add a checker to ``CHECKERS`` (idempotent); usable as a decorator."""
    if checker not in CHECKERS:
        CHECKERS.append(checker)
    return checker


def run_checks(
    session: Session,
    storage: Storage,
    *,
    data_dir: Path,
    repair: bool = False,
    verify_hashes: bool = True,
    grace_s: float = DEFAULT_GRACE_S,
    actor: User | None = None,
    index_dir: Path | None = None,
    checkers: list[Checker] | None = None,
    checkpoint: Callable[[], None] | None = None,
) -> CheckReport:
    """Run every checker; with ``repair``, mend what can be mended safely and audit it.

    Repairs are only flushed; ``checkpoint`` (the CLI's commit) makes each one durable at once,
    and lets the search index repair drain what it queued.
    """
    ctx = CheckContext(session=session, storage=storage, data_dir=Path(data_dir), repair=repair,
                       verify_hashes=verify_hashes, grace_s=grace_s, actor=actor,
                       index_dir=Path(index_dir) if index_dir is not None else None, checkpoint=checkpoint)
    problems: list[Problem] = []
    for checker in (CHECKERS if checkers is None else checkers):
        try:
            problems.extend(checker(ctx))
        except Exception as exc:  # noqa: BLE001 - one broken check must not hide the others' findings
            # The session may be unusable after a database error: start afresh (repairs made durable
            # through ``checkpoint`` stay; without one, the unit of work is given up).
            session.rollback()
            logger.exception("checker %s failed", getattr(checker, "__name__", checker))
            problems.append(Problem("checker_failed", getattr(checker, "__name__", str(checker)),
                                    f"La vérification {getattr(checker, '__name__', checker)} a échoué : "
                                    f"{type(exc).__name__}: {exc}"))
    report = CheckReport(problems=problems, stats=ctx.stats, repair=repair)
    if repair and any(p.repaired for p in problems):
        audit.record(session, "check.repair", actor=actor, actor_email="intranet check", object_type="storage",
                     details={"repaired": len(problems) - len(report.remaining), "remaining": len(report.remaining),
                              "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")})
        ctx.durable()
    # A check without repair only reads: the edge ends the transaction (the CLI right after the report).
    return report


# ------------------------------------------------------------------ search index (documents.indexer)


def check_search_index(ctx: CheckContext) -> list[Problem]:
    """The search index against the database: missing, stale, trashed or orphan entries, failing outbox rows."""
    # Imported here: the indexer pulls in Whoosh, which the other checks do not need.
    from documents import indexer

    return indexer.check_index(ctx)


register_checker(check_search_index)


# ------------------------------------------------------------------ OCR (documents.ocr)


def check_text_recognition(ctx: CheckContext) -> list[Problem]:
    """Text statuses of current versions, OCR waiting without a job, searchable copies lost from the store."""
    from documents.ocr.check import check_ocr

    return check_ocr(ctx)


register_checker(check_text_recognition)
