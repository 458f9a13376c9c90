"""Archiving several files at once (the upload form): the rules of a batch, whoever sends it.

- Every file is checked before any is stored (type, size, content, duplicates among the files sent
  and in the archive): one bad file stores nothing, and each problem is reported by file name.
- A title typed once applies to one file only; several files each take their own title unless one
  is typed per file.
- Files are then archived one by one, each in its own savepoint (``archive.archive_document``). If one
  fails after others were archived, those stay complete: ``BatchResult.created`` lists them and the
  edge commits them with its unit of work, although it answers the failure.
- A duplicate is described without revealing a document the sender may not read.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from documents import archive, filetypes, permissions
from documents.errors import DomainError, ValidationError
from documents.models import Document, User
from documents.storage import Storage, sha256_file
from documents.titles import default_title


@dataclass(frozen=True)
class IncomingFile:
    """One file of a batch, already saved to ``path``, with what was typed for it alone."""

    path: Path
    filename: str
    title: str = ""
    doc_type: str | None = None
    year: int | None = None


@dataclass(frozen=True)
class FileProblem:
    """Why one file of the batch was not archived (French), and the existing document when it may be named."""

    filename: str
    message: str
    document_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """The problem as the upload page and the API show it."""
        return dataclasses.asdict(self)


@dataclass
class BatchResult:
    """What a batch did: the documents archived, the files refused, and the HTTP-like status of the answer."""

    created: list[Document] = field(default_factory=list)
    problems: list[FileProblem] = field(default_factory=list)
    status: int = 200
    #: Metadata refused (the whole batch stops there); the edge shows it on the form's fields.
    invalid: ValidationError | None = None


def duplicate_message(session: Session, user: User | None, document_id: int | None) -> tuple[str, int | None]:
    """What to tell about an already archived file, without revealing what ``user`` may not read."""
    existing = session.get(Document, document_id) if document_id else None
    if existing is not None and permissions.can_read_region(user, existing.region_code):
        if not existing.in_trash:
            return "Ce fichier est déjà archivé : ouvrez le document existant.", existing.id
        if permissions.is_admin(user):
            return "Ce fichier est déjà archivé, dans un document mis à la corbeille.", existing.id
    return ("Ce fichier est déjà archivé dans un espace auquel vous n'avez pas accès : "
            "demandez à la coordination nationale."), None


def precheck(session: Session, user: User | None, files: Sequence[IncomingFile]) -> tuple[list[FileProblem], int]:
    """Check every file before storing any; the problems found and the status they call for (200: none)."""
    problems: list[FileProblem] = []
    status = 200
    seen: dict[str, str] = {}
    for incoming in files:
        name = filetypes.safe_filename(incoming.filename)
        try:
            filetypes.check_upload(incoming.path, incoming.filename)
        except DomainError as exc:
            problems.append(FileProblem(name, exc.message))
            status = max(status, exc.status)
            continue
        sha = sha256_file(incoming.path)
        if sha in seen:
            problems.append(FileProblem(name, f"Ce fichier est identique à « {seen[sha]} », envoyé en même temps."))
            status = max(status, 409)
            continue
        seen[sha] = name
        existing = archive.find_by_sha(session, sha)
        if existing is not None:
            message, document_id = duplicate_message(session, user, existing.document_id)
            problems.append(FileProblem(name, message, document_id))
            status = max(status, 409)
    return problems, status


def title_conflict(shared_title: str, files: Sequence[IncomingFile]) -> str | None:
    """Why a title typed once cannot be applied to these files (French), or None."""
    shared = shared_title.strip()
    if not shared:
        return None
    if len(files) > 1:
        return ("Ce titre ne peut pas servir à plusieurs fichiers : laissez-le vide (chaque document prend "
                "son propre titre) ou donnez un titre à chaque fichier.")
    own = files[0].title.strip() if files else ""
    if own and own != shared:
        return f"Deux titres différents pour ce fichier (« {shared} » et « {own} ») : gardez-en un seul."
    return None


def archive_batch(session: Session, storage: Storage, *, actor: User | None, files: Sequence[IncomingFile],
                  shared_title: str, metadata: Callable[[str, str | None, int | None], archive.Metadata],
                  comment: str = "", origin: dict[str, Any] | None = None, ip: str = "") -> BatchResult:
    """Archive ``files`` under the batch rules; ``metadata(title, doc_type, year)`` gives each file's metadata.

    Flushes only. A refused batch (``problems`` from the checks, or a title conflict in ``invalid``)
    stores nothing; a failure during archiving leaves the files archived before it in ``created``.
    """
    result = BatchResult()
    if not files:
        result.invalid = ValidationError("Choisissez au moins un fichier.",
                                         errors={"files": "Choisissez au moins un fichier."})
        result.status = 422
        return result
    result.problems, result.status = precheck(session, actor, files)
    if result.problems:
        return result
    conflict = title_conflict(shared_title, files)
    if conflict:
        result.invalid = ValidationError(conflict, errors={"title": conflict})
        result.status = 422
        return result
    for incoming in files:
        # One title per file, never replaced behind the user's back: the one typed for this file, else
        # the shared one (one file only), else the file's own title.
        title = (incoming.title.strip() or shared_title.strip()
                 or default_title(incoming.path, incoming.filename)[0])
        name = filetypes.safe_filename(incoming.filename)
        try:
            result.created.append(archive.archive_document(
                session, storage, actor=actor, path=incoming.path, filename=incoming.filename,
                meta=metadata(title, incoming.doc_type, incoming.year), comment=comment,
                origin=dict(origin or {}), ip=ip))
        except ValidationError as exc:
            result.invalid, result.status = exc, 422
            break
        except archive.DuplicateDocument as exc:
            message, document_id = duplicate_message(session, actor, exc.document_id)
            result.problems.append(FileProblem(name, message, document_id))
            result.status = 409
            break
        except DomainError as exc:
            result.problems.append(FileProblem(name, exc.message))
            result.status = exc.status
            break
    return result
