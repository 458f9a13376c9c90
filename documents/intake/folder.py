"""Folder import: walk a shared folder and file each document, extracting ahead in a worker pool.

The pipeline per file is: ignore noise → check the format → hash → skip if already archived
→ metadata (manifest, then command-line defaults, then guesses from the path and the file's
own properties) → ``archive_document`` (store, parse, record, index), committed on its own.

Resuming after an interruption relies on the SHA-256 deduplication alone, not on a state
file: the database already says which bytes are archived, a state file could disagree with
it (restored backup, purged document) and rehashing a folder costs far less than parsing
it. A file that was stored but not committed when the process died is an orphan that the
rerun adopts (``put_file`` finds the bytes already there) and that ``intranet check`` reports
meanwhile.

Extraction is the slow stage and runs in bounded worker processes (``ExtractionPool``): while
the main thread files document *n* (SQL, storage, its commit), the workers already parse the
next files, so every core stays busy. Only the extraction runs ahead; the checks that decide
an outcome and the writes happen in folder order, one transaction per file.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from sqlalchemy import select
from sqlalchemy.orm import Session

from documents import audit, filetypes, permissions
from documents.archive import DuplicateDocument, Metadata, archive_document, find_by_sha
from documents.errors import DomainError, PermissionDenied, ValidationError
from documents.extraction import Extraction, ExtractionPool
from documents.frenchtext import fold_words as fold
from documents.intake.guessing import RegionKeys, guess_region, guess_type, guess_year, path_components, title_from_name
from documents.intake.manifest import COLUMN_OF, normalise_relpath, parse_doc_type, parse_fields, read_manifest
from documents.intake.properties import FileProperties, file_properties
from documents.intake.report import FileOutcome, ImportReport
from documents.models import DocType, TextStatus, User
from documents.storage import Storage, sha256_file

logger = logging.getLogger(__name__)

#: Files every shared folder collects and nobody means to archive.
_NOISE_NAMES = frozenset({"thumbs.db", "desktop.ini", ".ds_store", "icon\r"})


def collect_files(folder: Path) -> list[Path]:
    """Every file under ``folder``, sorted; symlinked folders are not followed (no loops, no escape)."""
    found: list[Path] = []
    for root, dirs, files in os.walk(folder, followlinks=False):
        dirs.sort()
        found.extend(Path(root) / name for name in sorted(files))
    return found


def _noise_reason(path: Path) -> str | None:
    name = path.name
    if name.startswith("~$"):
        return "fichier de verrouillage de Word ignoré"
    if name.startswith(".") or name.lower() in _NOISE_NAMES:
        return "fichier caché ou système ignoré"
    return None


# ------------------------------------------------------------------ import


def default_actor(session: Session) -> User | None:
    """The first active administrator: the acting user when none is named."""
    from documents.models import Role

    return session.scalar(
        select(User).where(User.role == Role.ADMIN.value, User.active.is_(True)).order_by(User.id).limit(1)
    )


def import_folder(
    session: Session,
    storage: Storage,
    folder: Path,
    *,
    actor: User | None,
    manifest: Path | None = None,
    region: str | None = None,
    doc_type: str | None = None,
    files: Sequence[Path] | None = None,
    progress: Callable[[FileOutcome], None] | None = None,
    checkpoint: Callable[[], None] | None = None,
    pool: ExtractionPool | None = None,
) -> ImportReport:
    """Import every file under ``folder``, each in its own savepoint: a refused file undoes only itself.

    ``region`` and ``doc_type`` are defaults for files the manifest is silent about; they win
    over guesses. ``files`` (from ``collect_files``) lets the caller size a progress bar.
    ``checkpoint`` is called after each file: the CLI passes its commit, so that a rerun resumes
    where a killed import stopped; without it everything stays in the caller's unit of work.
    ``pool`` extracts the text; without it the import starts its own and stops it at the end.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ValidationError(f"Le dossier {folder} n'existe pas ou n'est pas un dossier.")
    if not permissions.can_write_anything(actor):
        raise PermissionDenied("Ce compte ne peut pas ajouter de documents (lecture seule ou désactivé).")
    keys = RegionKeys.load(session)
    default_region: str | None = None
    region_given = region is not None and region.strip() != ""
    if region_given:
        assert region is not None
        if fold(region) == "national":
            default_region = None
        else:
            default_region = keys.resolve(region)
            if default_region is None:
                raise ValidationError(f"Région inconnue : « {region} » (code, nom ou slug attendu).")
        if not permissions.can_write_region(actor, default_region):
            raise PermissionDenied("Vous ne pouvez pas importer de documents dans cette région.")
    default_type: str | None = None
    if doc_type:
        default_type = parse_doc_type(doc_type)
        if default_type is None:
            raise ValidationError(f"Type de document inconnu : « {doc_type} ».")
    rows = read_manifest(manifest, folder) if manifest is not None else {}
    skip = {manifest.resolve()} if manifest is not None else set()
    files = collect_files(folder) if files is None else list(files)
    report = ImportReport(folder=str(folder))
    seen_relpaths: set[str] = set()
    own_pool = pool is None
    workers = pool if pool is not None else ExtractionPool()
    filing = _Filing(session, storage, actor=actor, keys=keys, root_name=folder.name, region_given=region_given,
                     default_region=default_region, default_type=default_type)
    # Files whose extraction may run ahead of the one being filed: enough to keep every worker busy.
    window = 2 * workers.size + 1
    ahead: deque[_Staged] = deque()
    queue = iter(path for path in files if path.resolve() not in skip)
    try:
        while True:
            while len(ahead) < window:
                path = next(queue, None)
                if path is None:
                    break
                relative = PurePosixPath(path.relative_to(folder).as_posix())
                key = normalise_relpath(str(relative))
                seen_relpaths.add(key)
                ahead.append(_stage(session, workers, path, relative, rows.get(key)))
            if not ahead:
                break
            outcome = filing.file(ahead.popleft())
            report.outcomes.append(outcome)
            if checkpoint is not None:
                checkpoint()
            if progress is not None:
                progress(outcome)
    finally:
        for staged in ahead:
            if staged.extraction is not None:
                staged.extraction.cancel()
        if own_pool:
            workers.close()
    for key in sorted(set(rows) - seen_relpaths):
        report.outcomes.append(FileOutcome(path=key, outcome="rejected",
                                           reason="Listé dans le manifeste mais absent du dossier."))
    audit.record(session, "import.folder", actor=actor, object_type="folder", object_id=folder.name,
                 details={"folder": str(folder), **report.counts})
    session.flush()
    return report


@dataclass
class _Staged:
    """A file on its way: its early outcome (noise, bad format, duplicate), or its extraction under way."""

    path: Path
    relative: PurePosixPath
    row: Mapping[str, str] | None
    outcome: FileOutcome | None = None
    kind: str = ""
    extraction: Future[Extraction] | None = None


def _stage(session: Session, pool: ExtractionPool, path: Path, relative: PurePosixPath,
           row: Mapping[str, str] | None) -> _Staged:
    """Checks that need no write (noise, format, already archived), then the extraction handed to the pool."""
    rel = str(relative)
    staged = _Staged(path=path, relative=relative, row=row)
    noise = _noise_reason(path)
    if noise is not None:
        staged.outcome = FileOutcome(path=rel, outcome="ignored", reason=noise)
    elif path.is_symlink():
        staged.outcome = FileOutcome(path=rel, outcome="rejected",
                                     reason="Lien symbolique ignoré : importez le fichier lui-même.")
    else:
        try:
            check = filetypes.check_upload(path, path.name)
            existing = find_by_sha(session, sha256_file(path))
        except Exception as exc:  # noqa: BLE001 - classified like the filing stage's errors
            staged.outcome = _refused(rel, exc)
            return staged
        if existing is not None:
            staged.outcome = FileOutcome(path=rel, outcome="duplicate", document_id=existing.document_id,
                                         reason="Fichier déjà archivé.")
        else:
            # Extracted from the file in the folder; ``put_file`` later checks that the stored bytes
            # still have the hash checked here, so text and file cannot disagree.
            staged.kind = check.kind
            staged.extraction = pool.submit(path, check.kind)
    return staged


def _refused(rel: str, exc: Exception) -> FileOutcome:
    """The outcome of a file whose import raised ``exc``."""
    if isinstance(exc, DuplicateDocument):
        return FileOutcome(path=rel, outcome="duplicate", document_id=exc.document_id, reason=exc.message)
    if isinstance(exc, ValidationError):
        reason = exc.message
        if exc.errors and "(" not in reason:
            reason += " " + " ; ".join(f"{COLUMN_OF.get(k, k)} : {v}" for k, v in exc.errors.items())
        return FileOutcome(path=rel, outcome="rejected", reason=reason)
    if isinstance(exc, DomainError):
        return FileOutcome(path=rel, outcome="rejected", reason=exc.message)
    if isinstance(exc, OSError):
        return FileOutcome(path=rel, outcome="rejected", reason=f"Fichier illisible ({exc.strerror or exc}).")
    logger.error("import of %s failed", rel, exc_info=exc)
    return FileOutcome(path=rel, outcome="rejected",
                       reason=f"Erreur inattendue ({type(exc).__name__}) : fichier non importé.")


@dataclass
class _Filing:
    """Files staged documents one by one, in folder order, with the import's defaults."""

    session: Session
    storage: Storage
    actor: User | None
    keys: RegionKeys
    root_name: str
    region_given: bool
    default_region: str | None
    default_type: str | None

    def file(self, staged: _Staged) -> FileOutcome:
        """Record one staged file (its savepoint undoes only its own rows if it is refused)."""
        if staged.outcome is not None:
            return staged.outcome
        assert staged.extraction is not None
        session, path, rel = self.session, staged.path, str(staged.relative)
        try:
            extracted = staged.extraction.result()
            with session.begin_nested():
                # The kind is a hint for the metadata guesses only: archive_document checks the file again.
                meta, sources = _metadata(
                    session, path, staged.relative, staged.kind, actor=self.actor, row=staged.row or {},
                    keys=self.keys, root_name=self.root_name, region_given=self.region_given,
                    default_region=self.default_region, default_type=self.default_type)
                doc = archive_document(
                    session, self.storage, actor=self.actor, path=path, filename=path.name, meta=meta,
                    comment="Import d'un dossier partagé", origin={"source": "import", "path": rel},
                    extracted=extracted,
                )
        except Exception as exc:  # noqa: BLE001 - one bad file must not stop a long import
            return _refused(rel, exc)
        outcome = FileOutcome(path=rel, outcome="imported", document_id=doc.id, title=doc.title,
                              doc_type=doc.doc_type, region_code=doc.region_code, year=doc.year, sources=sources,
                              ocr_queued=doc.current is not None
                              and doc.current.text_status == TextStatus.PENDING.value)
        # Keep the session small on folders of thousands of files.
        session.expunge(doc)
        return outcome


def _metadata(
    session: Session,
    path: Path,
    relative: PurePosixPath,
    kind: str,
    *,
    actor: User | None,
    row: Mapping[str, str],
    keys: RegionKeys,
    root_name: str,
    region_given: bool,
    default_region: str | None,
    default_type: str | None,
) -> tuple[Metadata, dict[str, str]]:
    values = parse_fields(session, row, keys)
    sources = {name: "manifeste" for name in values}
    components = path_components(relative, root_name=root_name)
    folders = components[1:]
    props: FileProperties | None = None

    def properties() -> FileProperties:
        nonlocal props
        if props is None:
            props = file_properties(path, kind)
        return props

    if "doc_type" not in values:
        if default_type is not None:
            values["doc_type"], sources["doc_type"] = default_type, "option"
        else:
            guessed = guess_type(components[:1]) or guess_type(folders)
            where = "nom" if guess_type(components[:1]) else "dossier"
            values["doc_type"], sources["doc_type"] = (guessed, where) if guessed else (DocType.AUTRE.value, "défaut")
    if "region_code" not in values:
        if region_given:
            values["region_code"], sources["region_code"] = default_region, "option"
        else:
            guessed = guess_region(components, keys, values.get("year") or guess_year(components))
            if guessed is not None:
                values["region_code"] = guessed
                sources["region_code"] = "nom" if len(keys.find(components[0])) == 1 else "dossier"
            elif actor is not None and actor.region_code and not permissions.can_write_region(actor, None):
                # A regional account files into its own region what names no region.
                values["region_code"], sources["region_code"] = actor.region_code, "compte"
            else:
                values["region_code"], sources["region_code"] = None, "défaut"
    if "year" not in values:
        year = guess_year(components)
        if year is not None:
            values["year"] = year
            sources["year"] = "nom" if guess_year(components[:1]) else "dossier"
        elif properties().year is not None:
            values["year"], sources["year"] = properties().year, "propriétés"
    if "title" not in values:
        from documents.titles import first_heading  # titles builds on this module

        heading = None if properties().title else first_heading(path, kind)
        if properties().title:
            values["title"], sources["title"] = properties().title, "propriétés"
        elif heading:
            values["title"], sources["title"] = heading, "titre du document"
        else:
            values["title"], sources["title"] = title_from_name(path.name), "nom"
    return Metadata(**values), sources
