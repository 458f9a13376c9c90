"""Archive operations: file, version, describe, link, trash, restore and purge documents.

Every verb takes an explicit session and plain values, checks permissions, writes the
audit log and an index-outbox row in the same transaction, and commits. Verbs that write
files also undo the file when the database transaction fails, so that a failure leaves
neither an orphan row nor an orphan file (``intranet check`` mends what a killed
process may still leave).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, false, func, or_, select
from sqlalchemy.orm import Session

from documents import audit, filetypes, locking, permissions
from documents.bounds import refuse_nul, row_id
from documents.db import utcnow
from documents.errors import DomainError, NotFound, PermissionDenied, ValidationError
from documents.frenchtext import french_order
from documents.models import (
    DocStatus,
    DocType,
    Document,
    DocumentVersion,
    IndexOutbox,
    Organisation,
    Quartier,
    Region,
    TextStatus,
    User,
)
from documents.storage import Storage, StorageError, sha256_file
from documents.unitofwork import on_rollback

if TYPE_CHECKING:  # extraction is imported lazily, only when a file is actually parsed
    from documents.extraction import Extraction

#: Called after the flush and before the commit of a filing verb, to add rows to the same transaction.
BeforeCommit = Callable[[Document, DocumentVersion], None]

logger = logging.getLogger(__name__)

MAX_TITLE = 500


class DuplicateDocument(DomainError):
    """The exact same file is already archived."""

    status = 409

    def __init__(self, message: str, *, document_id: int | None) -> None:
        super().__init__(message)
        self.document_id = document_id


@dataclass
class Metadata:
    """Descriptive metadata of a document, as plain values."""

    title: str
    doc_type: str = DocType.AUTRE.value
    region_code: str | None = None
    year: int | None = None
    status: str = DocStatus.BROUILLON.value
    signature_date: dt.date | None = None
    effective_date: dt.date | None = None
    end_date: dt.date | None = None
    duration_months: int | None = None
    tacit_renewal: bool = False
    notice_months: int | None = None
    keywords: list[str] = field(default_factory=list)
    notes: str = ""
    party_ids: list[int] = field(default_factory=list)
    quartier_codes: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, document: Document) -> Metadata:
        """The metadata of an existing document."""
        return cls(
            title=document.title, doc_type=document.doc_type, region_code=document.region_code,
            year=document.year, status=document.status, signature_date=document.signature_date,
            effective_date=document.effective_date, end_date=document.end_date,
            duration_months=document.duration_months, tacit_renewal=document.tacit_renewal,
            notice_months=document.notice_months, keywords=document.keyword_list, notes=document.notes,
            party_ids=[p.id for p in document.parties], quartier_codes=[q.code for q in document.quartiers],
        )


# --------------------------------------------------------------------------- access


def visible_documents(user: User | None, *, include_trash: bool = False) -> Select[Document]:
    """A select of the documents ``user`` may read (the scope is applied in SQL)."""
    stmt = select(Document)
    scope = permissions.read_scope(user)
    if scope is not None:
        conditions = []
        if scope.national:
            conditions.append(Document.region_code.is_(None))
        if scope.regions:
            conditions.append(Document.region_code.in_(scope.regions))
        stmt = stmt.where(or_(*conditions)) if conditions else stmt.where(false())
    if not include_trash:
        stmt = stmt.where(Document.deleted_at.is_(None))
    return stmt


def get_document(session: Session, user: User | None, document_id: int, *,
                 include_trash: bool = False) -> Document:
    """The document if ``user`` may read it; NotFound otherwise (no hint that it exists)."""
    doc = session.get(Document, document_id)
    if doc is None or not permissions.can_read_region(user, doc.region_code):
        raise NotFound("Document introuvable.")
    if doc.in_trash and not (include_trash and permissions.can_write_region(user, doc.region_code)):
        raise NotFound("Document introuvable.")
    return doc


def get_version(session: Session, user: User | None, document_id: int, number: int) -> DocumentVersion:
    """One version of a readable document."""
    doc = get_document(session, user, document_id)
    for version in doc.versions:
        if version.number == number:
            return version
    raise NotFound("Version introuvable.")


def _require_write(user: User | None, region_code: str | None) -> None:
    if not permissions.can_write_region(user, region_code):
        raise PermissionDenied("Vous ne pouvez pas modifier les documents de cette région.")


# --------------------------------------------------------------------------- validation


def _clean_metadata(session: Session, meta: Metadata) -> Metadata:
    refuse_nul(vars(meta))
    errors: dict[str, str] = {}
    title = " ".join((meta.title or "").split())[:MAX_TITLE]
    if not title:
        errors["title"] = "Le titre est obligatoire."
    try:
        DocType(meta.doc_type)
    except ValueError:
        errors["doc_type"] = "Type de document inconnu."
    try:
        DocStatus(meta.status)
    except ValueError:
        errors["status"] = "Statut inconnu."
    region_code = (meta.region_code or "").strip() or None
    if region_code in (permissions.NATIONAL, "national"):
        region_code = None
    if region_code is not None and session.get(Region, region_code) is None:
        errors["region_code"] = f"Aucune région n'a le code {region_code}."
    if meta.year is not None and not 1900 <= meta.year <= 2200:
        errors["year"] = "L'année doit être comprise entre 1900 et 2200."
    for name in ("duration_months", "notice_months"):
        value = getattr(meta, name)
        if value is not None and not 0 <= value <= 1200:
            errors[name] = "Indiquez un nombre de mois entre 0 et 1200."
    if meta.effective_date and meta.end_date and meta.end_date < meta.effective_date:
        errors["end_date"] = "L'échéance ne peut pas précéder la date d'effet."
    party_ids = sorted(set(meta.party_ids))
    if any(row_id(p) is None for p in party_ids):
        errors["party_ids"] = "Une des parties n'existe pas dans le référentiel."
    elif party_ids:
        found = set(session.scalars(select(Organisation.id).where(Organisation.id.in_(party_ids))))
        if found != set(party_ids):
            errors["party_ids"] = "Une des parties n'existe pas dans le référentiel."
    codes = sorted({c.strip() for c in meta.quartier_codes if c.strip()})
    if codes:
        found_codes = set(session.scalars(select(Quartier.code).where(Quartier.code.in_(codes))))
        missing = [c for c in codes if c not in found_codes]
        if missing:
            errors["quartier_codes"] = "Quartier inconnu : " + ", ".join(missing[:5])
    if errors:
        raise ValidationError("Certaines informations du document sont invalides.", errors=errors)
    keywords = []
    for k in meta.keywords:
        k = " ".join(k.split())[:100]
        if k and k not in keywords:
            keywords.append(k)
    return Metadata(
        title=title, doc_type=meta.doc_type, region_code=region_code, year=meta.year, status=meta.status,
        signature_date=meta.signature_date, effective_date=meta.effective_date, end_date=meta.end_date,
        duration_months=meta.duration_months, tacit_renewal=bool(meta.tacit_renewal),
        notice_months=meta.notice_months, keywords=keywords[:50], notes=(meta.notes or "")[:20000],
        party_ids=party_ids, quartier_codes=codes,
    )


def _apply(session: Session, doc: Document, meta: Metadata) -> None:
    doc.title, doc.doc_type, doc.region_code, doc.year = meta.title, meta.doc_type, meta.region_code, meta.year
    doc.status, doc.signature_date = meta.status, meta.signature_date
    doc.effective_date, doc.end_date = meta.effective_date, meta.end_date
    doc.duration_months, doc.tacit_renewal, doc.notice_months = (
        meta.duration_months, meta.tacit_renewal, meta.notice_months)
    doc.keywords, doc.notes = ", ".join(meta.keywords), meta.notes
    doc.parties = list(session.scalars(select(Organisation).where(Organisation.id.in_(meta.party_ids)))) \
        if meta.party_ids else []
    doc.quartiers = list(session.scalars(select(Quartier).where(Quartier.code.in_(meta.quartier_codes)))) \
        if meta.quartier_codes else []


def enqueue(session: Session, object_id: int, *, action: str = "upsert", object_type: str = "document") -> None:
    """Ask the indexer to (re)index or delete an object, in the caller's transaction."""
    session.add(IndexOutbox(object_type=object_type, object_id=object_id, action=action))


# --------------------------------------------------------------------------- files


@dataclass
class PreparedFile:
    """A checked, hashed, stored and parsed upload, ready to become a version."""

    sha256: str
    size: int
    filename: str
    kind: str
    mime_type: str
    text: str | None
    text_status: str
    text_reason: str
    pages: int | None
    newly_stored: bool
    pending_store: _BackgroundStore | None = None
    text_pages: int | None = None

    def wait_stored(self, *, quiet: bool = False) -> None:
        """Block until the file is durably in the store (raises its StorageError unless ``quiet``)."""
        if self.pending_store is not None:
            self.pending_store.wait(quiet=quiet)


class _BackgroundStore:
    """``storage.put_file`` in a thread, so that its fsyncs overlap the caller's SQL.

    Used when the text is already known (nothing reads the stored copy before the commit).
    The verbs wait for it before committing: a version row is never committed before its
    file is on disk, exactly as when the file is stored first.
    """

    def __init__(self, storage: Storage, path: Path, sha256: str) -> None:
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(storage, path, sha256), name="stockage",
                                        daemon=True)
        self._thread.start()

    def _run(self, storage: Storage, path: Path, sha256: str) -> None:
        try:
            storage.put_file(path, sha256)
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting verb
            self._error = exc

    def wait(self, *, quiet: bool = False) -> None:
        self._thread.join()
        if self._error is not None and not quiet:
            raise self._error


def find_by_sha(session: Session, sha256: str) -> DocumentVersion | None:
    """A version holding exactly these bytes, if any."""
    return session.scalar(select(DocumentVersion).where(DocumentVersion.sha256 == sha256).limit(1))


def _text_fields(result: Extraction, kind: str = "") -> tuple[str | None, str, str, int | None]:
    """(text, text_status, text_reason, pages) of a version from an extraction outcome."""
    from documents.ocr.queue import needs_ocr

    if result.status == "ok" and needs_ocr(kind, result.pages, result.text_pages):
        # Scanned pages: their words come from the OCR worker; the typed pages' text is indexed meanwhile.
        return result.text or "", TextStatus.PENDING.value, "Reconnaissance du texte en attente", result.pages
    if result.status == "ok":
        # A partial text (page cap, truncation) is indexed, and the reason is kept.
        return result.text or "", TextStatus.OK.value, result.reason or "", result.pages
    return None, TextStatus.FAILED.value, result.reason or "Texte non indexé.", result.pages


def prepare_file(session: Session, storage: Storage, path: Path, filename: str, *,
                 extracted: Extraction | None = None, allow_duplicate_of: int | None = None) -> PreparedFile:
    """The pipeline's first stages: checks → dedup → store → parse. Nothing is written to the DB.

    ``extracted`` is the file's text when the caller already knows it (a draft the render
    worker has just read): the extraction subprocess is then skipped.
    """
    check = filetypes.check_upload(path, filename)
    sha = sha256_file(path)
    existing = find_by_sha(session, sha)
    if existing is not None and existing.document_id != allow_duplicate_of:
        raise DuplicateDocument(
            "Ce fichier est déjà archivé : ouvrez le document existant plutôt que d'en créer un second.",
            document_id=existing.document_id,
        )
    newly_stored = not storage.exists(sha)
    pending_store = None
    if extracted is not None:
        pending_store = _BackgroundStore(storage, path, sha)
        text, status, reason, pages = _text_fields(extracted, check.kind)
        text_pages = extracted.text_pages
    else:
        storage.put_file(path, sha)
        from documents import extraction

        text_pages = None
        try:
            extracted = extraction.extract_text(storage.local_path(sha), check.kind)
            text, status, reason, pages = _text_fields(extracted, check.kind)
            text_pages = extracted.text_pages
        except Exception as exc:  # noqa: BLE001 - extraction failure must never lose the file
            logger.exception("extraction crashed")
            text, status, pages = None, TextStatus.FAILED.value, None
            reason = f"Extraction impossible ({type(exc).__name__}) : texte non indexé."
    return PreparedFile(
        sha256=sha, size=check.size, filename=filetypes.safe_filename(filename), kind=check.kind,
        mime_type=check.mime_type, text=text, text_status=status, text_reason=reason[:500], pages=pages,
        newly_stored=newly_stored, pending_store=pending_store, text_pages=text_pages,
    )


def _discard(session: Session, storage: Storage, prepared: PreparedFile) -> None:
    # Undo the file only if we stored it and nothing else references it.
    if prepared.newly_stored and find_by_sha(session, prepared.sha256) is None:
        try:
            storage.delete(prepared.sha256)
        except StorageError:
            logger.exception("could not remove orphan file %s", prepared.sha256)


def _undo_on_rollback(session: Session, storage: Storage, prepared: PreparedFile) -> None:
    # If the unit of work that files this version is rolled back later, the file it stored goes too.
    if not prepared.newly_stored:
        return

    def undo() -> None:
        try:
            storage.delete(prepared.sha256)
        except StorageError:
            logger.exception("could not remove orphan file %s", prepared.sha256)

    on_rollback(session, undo)


def _new_version(doc: Document, prepared: PreparedFile, *, number: int, actor: User | None,
                 comment: str, origin: dict[str, Any] | None) -> DocumentVersion:
    return DocumentVersion(
        document=doc, number=number, sha256=prepared.sha256, size=prepared.size,
        filename=prepared.filename, kind=prepared.kind, mime_type=prepared.mime_type,
        comment=(comment or "")[:5000], created_by_id=actor.id if actor else None,
        text=prepared.text, text_status=prepared.text_status, text_reason=prepared.text_reason,
        pages=prepared.pages, text_pages=prepared.text_pages, origin=origin or {},
    )


def _queue_ocr(session: Session, version: DocumentVersion) -> None:
    # Scanned pages are read in the background, never in the request: the upload answers at once.
    if version.text_status == TextStatus.PENDING.value:
        from documents.ocr.queue import enqueue_ocr

        enqueue_ocr(session, version)


def _queue_thumbnail(session: Session, version: DocumentVersion) -> None:
    # The first-page thumbnail is drawn by the thumbnail worker, never in the request.
    from documents.thumbnails.queue import enqueue as enqueue_thumbnail

    enqueue_thumbnail(session, version.sha256, version.kind)


# --------------------------------------------------------------------------- verbs


def archive_document(
    session: Session,
    storage: Storage,
    *,
    actor: User | None,
    path: Path,
    filename: str,
    meta: Metadata,
    comment: str = "",
    origin: dict[str, Any] | None = None,
    ip: str = "",
    check_permissions: bool = True,
    extracted: Extraction | None = None,
    before_commit: BeforeCommit | None = None,
) -> Document:
    """File a new document from the file at ``path``: checks, store, parse, record, index.

    ``extracted`` (the text already read) skips the extraction subprocess; ``before_commit``
    adds the caller's rows (a draft's provenance) to the same transaction. Without a title, the
    document takes its own (properties, first heading), its file name as a last resort.
    """
    # Imported here: documents.titles reads file properties through documents.intake, which imports us.
    from documents.titles import default_title, title_from_name

    untitled = not " ".join((meta.title or "").split())
    if untitled:
        # The file name stands in while the metadata is checked; the file's own title replaces it once
        # the file itself has passed its checks.
        meta = replace(meta, title=title_from_name(filename) or "Document sans titre")
    meta = _clean_metadata(session, meta)
    if check_permissions:
        _require_write(actor, meta.region_code)
    prepared = prepare_file(session, storage, path, filename, extracted=extracted)
    if untitled:
        own = " ".join(default_title(path, filename)[0].split())[:MAX_TITLE]
        meta = replace(meta, title=own or meta.title)
    try:
        # A savepoint: a failure undoes this verb's rows only, and the session stays usable.
        with session.begin_nested():
            doc = Document(created_by_id=actor.id if actor else None, updated_by_id=actor.id if actor else None)
            _apply(session, doc, meta)
            session.add(doc)
            # The back-reference adds the version to doc.versions: appending it again would list it twice.
            # SQLAlchemy 2 no longer cascades a backref into the session: add the version explicitly,
            # or the flush drops it (SAWarning) and the document is committed without any version.
            version = _new_version(doc, prepared, number=1, actor=actor, comment=comment or "Version initiale",
                                   origin=origin)
            session.add(version)
            session.flush()
            _queue_ocr(session, version)
            _queue_thumbnail(session, version)
            enqueue(session, doc.id)
            audit.record(session, "document.upload", actor=actor, object_type="document", object_id=doc.id,
                         region_code=doc.region_code, ip=ip,
                         details={"filename": prepared.filename, "sha256": prepared.sha256, "version": 1,
                                  "text": prepared.text_status})
            if before_commit is not None:
                before_commit(doc, version)
            prepared.wait_stored()
    except BaseException:
        prepared.wait_stored(quiet=True)
        _discard(session, storage, prepared)
        raise
    _undo_on_rollback(session, storage, prepared)
    return doc


def add_version(
    session: Session,
    storage: Storage,
    document: Document,
    *,
    actor: User | None,
    path: Path,
    filename: str,
    comment: str = "",
    origin: dict[str, Any] | None = None,
    ip: str = "",
    check_permissions: bool = True,
    extracted: Extraction | None = None,
    before_commit: BeforeCommit | None = None,
    checked_model: bool = False,
) -> DocumentVersion:
    """Add a new version of ``document``; earlier versions stay downloadable.

    ``extracted`` and ``before_commit`` work as in ``archive_document``; ``checked_model``: the
    caller (``drafting.upload_template``) has checked a drafting model's new version.
    """
    if check_permissions:
        _require_write(actor, document.region_code)
    if document.in_trash:
        raise ValidationError("Ce document est dans la corbeille : restaurez-le d'abord.")
    locking.ensure_can_version(session, document, checked_model=checked_model)
    prepared = prepare_file(session, storage, path, filename, allow_duplicate_of=document.id,
                            extracted=extracted)
    current = document.current
    if current is not None and current.sha256 == prepared.sha256:
        prepared.wait_stored(quiet=True)  # the caller removes its temp file next
        raise DuplicateDocument("Ce fichier est identique à la version actuelle.", document_id=document.id)
    try:
        with session.begin_nested():
            number = (session.scalar(select(func.max(DocumentVersion.number))
                                     .where(DocumentVersion.document_id == document.id)) or 0) + 1
            version = _new_version(document, prepared, number=number, actor=actor, comment=comment, origin=origin)
            session.add(version)
            document.updated_at = utcnow()
            document.updated_by_id = actor.id if actor else None
            session.flush()
            _queue_ocr(session, version)
            _queue_thumbnail(session, version)
            enqueue(session, document.id)
            audit.record(session, "document.version", actor=actor, object_type="document", object_id=document.id,
                         region_code=document.region_code, ip=ip,
                         details={"filename": prepared.filename, "sha256": prepared.sha256, "version": number,
                                  "text": prepared.text_status})
            if before_commit is not None:
                before_commit(document, version)
            prepared.wait_stored()
    except BaseException:
        prepared.wait_stored(quiet=True)
        _discard(session, storage, prepared)
        raise
    _undo_on_rollback(session, storage, prepared)
    return version


def update_metadata(session: Session, document: Document, *, actor: User | None, meta: Metadata,
                    ip: str = "") -> Document:
    """Change a document's metadata; moving it to another region needs rights on both."""
    _require_write(actor, document.region_code)
    meta = _clean_metadata(session, meta)
    _require_write(actor, meta.region_code)
    before = Metadata.of(document)
    locking.ensure_can_describe(session, document, before, meta)
    changed = {k: str(getattr(meta, k)) for k in vars(meta)
               if locking.normalised(k, getattr(meta, k)) != locking.normalised(k, getattr(before, k))}
    _apply(session, document, meta)
    if before.status != meta.status == DocStatus.SIGNE.value:
        # Signed anew after an administrator's unlocking: the record is sealed again.
        locking.relock(session, document, actor=actor, why="signé", ip=ip)
    document.updated_at = utcnow()
    document.updated_by_id = actor.id if actor else None
    enqueue(session, document.id)
    audit.record(session, "document.metadata", actor=actor, object_type="document", object_id=document.id,
                 region_code=document.region_code, ip=ip, details={"changed": sorted(changed)})
    session.flush()
    return document


def record_access(session: Session, action: str, document: Document, *, actor: User | None, ip: str = "",
                  version: int | None = None) -> None:
    """Audit a view or a download, and commit it."""
    audit.record(session, action, actor=actor, object_type="document", object_id=document.id,
                 region_code=document.region_code, ip=ip,
                 details={"version": version} if version is not None else None)
    session.flush()


def regions_for_select(session: Session, user: User | None) -> Iterable[Region]:
    """Regions the user may file documents for."""
    regions = session.scalars(select(Region).order_by(french_order(Region.name), Region.code)).all()
    return [r for r in regions if permissions.can_write_region(user, r.code)]


# Links and the trash live in their own modules; their verbs stay reachable as ``archive.<verb>``.
from documents.doclinks import link_documents as link_documents  # noqa: E402
from documents.doclinks import links_of as links_of  # noqa: E402
from documents.doclinks import unlink_documents as unlink_documents  # noqa: E402
from documents.trash import purge_document as purge_document  # noqa: E402
from documents.trash import restore_document as restore_document  # noqa: E402
from documents.trash import trash_document as trash_document  # noqa: E402
