"""Views of the archive: list, upload, document page, versions, links, échéances, completeness, export.

A document's files are served by ``files``, the trash by ``trash_views``, thumbnails by ``thumbnails``.

Views stay thin: they read the request, call a ``documents`` verb (which checks permissions,
writes the audit log and commits), then render or redirect. Reading another region's
document answers 404 and logs the denial; changing a document one may only
read answers 403, also logged.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import flash, redirect, render_template, request, send_file, url_for
from flask_login import login_required
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage

from documents import archive, history, listing, locking, permissions, uploads
from documents import preview as previews
from documents.errors import DomainError, NotFound, PermissionDenied, ValidationError
from documents.frenchtext import french_order
from documents.models import (
    DocStatus,
    DocType,
    Document,
    DocumentLink,
    DocumentVersion,
    Organisation,
    Quartier,
    Region,
    TextStatus,
)
from intranet.extensions import db, storage
from intranet.forms import choices
from intranet.library import bp, deadline_views
from intranet.library.export import check_bounds, write_export
from intranet.library.forms import EditForm, LinkForm, MetadataForm, UploadForm, VersionForm
from intranet.library.linkform import link_form as _link_form
from intranet.library.preview import html_preview
from intranet.pagination import paginate, parse_page_args
from intranet.web import PARIS, client_ip, current_actor, deny, readable_document, record, writer_required

#: How far the échéances dashboard looks ahead (days), and its first section.
HORIZON_SHORT, HORIZON_LONG = 30, 90
#: Form field that each metadata error of ``archive.Metadata`` belongs to.
_FIELD_OF = {"title": "title", "doc_type": "doc_type", "region_code": "region", "year": "year",
             "status": "status", "end_date": "end_date", "duration_months": "duration_months",
             "notice_months": "notice_months", "party_ids": "parties", "quartier_codes": "quartiers"}


def today_paris() -> dt.date:
    """Today's date in Paris (échéances are French calendar dates)."""
    return dt.datetime.now(tz=PARIS).date()


# --------------------------------------------------------------------------- loading and guards


def _document(document_id: int) -> Document:
    """The document if the user may read it; otherwise log the denial and answer 404."""
    # Only administrators open trashed documents (to restore or purge them).
    return readable_document(document_id, include_trash=permissions.is_admin(current_actor()))


def _version(doc: Document, number: int) -> DocumentVersion:
    for version in doc.versions:
        if version.number == number:
            return version
    deny("document_version", f"{doc.id}/{number}", region_code=doc.region_code)
    raise NotFound("Version introuvable.")


def _guard_write(doc: Document) -> None:
    """Log and refuse (403) a change to a document the user may only read."""
    if not permissions.can_write_region(current_actor(), doc.region_code) or doc.in_trash:
        deny("document", doc.id, region_code=doc.region_code, status=403)


def _apply_errors(form: Any, exc: ValidationError | locking.LockedDocument) -> None:
    for key, message in exc.errors.items():
        field = getattr(form, _FIELD_OF.get(key, key), None)
        if field is not None:
            field.errors = [message]
    if not exc.errors:
        form.form_errors.append(exc.message)


# --------------------------------------------------------------------------- choices


def _type_choices(*, blank: str | None = None) -> list[Any]:
    pairs = [(t.value, t.label) for t in DocType]
    return choices(([("", blank)] if blank else []) + pairs)


def _status_choices(*, blank: str | None = None) -> list[Any]:
    pairs = [(s.value, s.label) for s in DocStatus]
    return choices(([("", blank)] if blank else []) + pairs)


def _region_write_choices(current: str | None = None) -> list[Any]:
    user = current_actor()
    pairs = []
    if permissions.can_write_region(user, None):
        pairs.append((permissions.NATIONAL, "National"))
    pairs += [(r.code, f"{r.name} ({r.code})") for r in archive.regions_for_select(db.session, user)]
    return choices(pairs)


def _readable_regions() -> list[Region]:
    allowed = permissions.visible_regions(current_actor())
    regions = db.session.scalars(select(Region).order_by(french_order(Region.name), Region.code)).all()
    return [r for r in regions if allowed is None or r.code in allowed]


def _setup_metadata_form(form: MetadataForm) -> None:
    from wtforms import SelectChoice

    form.doc_type.choices = _type_choices()
    form.status.choices = _status_choices()
    form.region.choices = _region_write_choices()
    organisations = db.session.scalars(select(Organisation).order_by(french_order(Organisation.name))).all()
    # « DRAC Alsace (DRAC Alsace) » would say it twice: the short name only when it differs.
    form.parties.choices = [SelectChoice(o.id, o.name + (f" ({o.short_name})" if o.short_name and o.short_name != o.name
                                                          else "")) for o in organisations]
    quartiers = db.session.scalars(select(Quartier).order_by(Quartier.region_name, Quartier.code)).all()
    form.quartiers.choices = [SelectChoice(q.code, f"{q.code} – {q.names} ({q.communes})", optgroup=q.region_name)
                              for q in quartiers]


# --------------------------------------------------------------------------- list


@bp.route("/")
@login_required
def index() -> Any:
    """The documents the user may read, with filters, sort and pagination."""
    user = current_actor()
    filters = listing.DocumentFilters.from_args(request.args)
    page, per_page = parse_page_args(request.args, default_per_page=25)
    result = paginate(db.session, listing.filter_documents(user, filters), page, per_page)
    return render_template(
        "library/index.html", page=result, filters=filters, args=request.args,
        filter_args=filters.to_args(), sorts=listing.SORTS, types=list(DocType), statuses=list(DocStatus),
        regions=_readable_regions(), national=permissions.can_read_region(user, None),
        organisations=db.session.scalars(select(Organisation).order_by(french_order(Organisation.name))).all(),
        quartiers=db.session.scalars(select(Quartier).order_by(Quartier.region_name, Quartier.code)).all(),
        recent=listing.recently_modified(db.session, user, limit=8),
    )


@bp.route("/export.zip")
@login_required
def export() -> Any:
    """A ZIP of the filtered list (current version of each document) with a CSV manifest."""
    user = current_actor()
    filters = listing.DocumentFilters.from_args(request.args)
    if filters.region and not permissions.can_read_region(
            user, None if filters.region == permissions.NATIONAL else filters.region):
        deny("export", filters.region, region_code=filters.region)
    stmt = listing.filter_documents(user, filters)
    count = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    check_bounds(count, 0)
    documents = list(db.session.scalars(stmt).unique())
    if not documents:
        flash("Aucun document ne correspond à ces filtres : rien à exporter.", "error")
        back: dict[str, Any] = filters.to_args()
        return redirect(url_for("library.index", **back))
    handle = tempfile.TemporaryFile(dir=storage().temp_dir())
    try:
        summary = write_export(storage(), documents, handle)
    except BaseException:
        handle.close()
        raise
    record("document.export", object_type="document", object_id="liste",
           details={"documents": summary.documents, "files": summary.files, "missing": summary.missing,
                    "filters": str(filters.to_args())})
    db.session.commit()
    handle.seek(0)
    stamp = dt.datetime.now(tz=PARIS).strftime("%Y%m%d-%H%M")
    response = send_file(handle, mimetype="application/zip", as_attachment=True,
                         download_name=f"export-documents-{stamp}.zip", max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response


# --------------------------------------------------------------------------- upload


@contextmanager
def _temp_copies(files: list[FileStorage]) -> Iterator[list[Path]]:
    """Write each upload to a temporary file next to the store; always removed afterwards."""
    store = storage()
    paths: list[Path] = []
    try:
        for upload in files:
            fd, path = store.temp_file()
            paths.append(path)
            with os.fdopen(fd, "wb") as out:
                upload.save(out)
        yield paths
    finally:
        for path in paths:
            path.unlink(missing_ok=True)


def _per_file(values: list[str], index: int) -> str:
    return (values[index] if index < len(values) else "").strip()


def _incoming(files: list[FileStorage], paths: list[Path]) -> list[uploads.IncomingFile]:
    """The files of the form, each with the title, type and year typed for it alone."""
    titles, types = request.form.getlist("file_title"), request.form.getlist("file_type")
    years = request.form.getlist("file_year")
    incoming = []
    for index, (upload_file, path) in enumerate(zip(files, paths)):
        year_text = _per_file(years, index)
        incoming.append(uploads.IncomingFile(
            path=path, filename=upload_file.filename or "", title=_per_file(titles, index),
            doc_type=_per_file(types, index) or None,
            year=int(year_text) if year_text.isdigit() and len(year_text) <= 9 else None))
    return incoming


@bp.route("/nouveau", methods=["GET", "POST"])
@writer_required
def upload() -> Any:
    """Archive one or many files; one set of metadata, with optional per-file title, type and year."""
    form = UploadForm()
    _setup_metadata_form(form)
    problems: list[dict[str, Any]] = []
    status = 200
    if request.method == "GET":
        form.region.data = current_actor().region_code or permissions.NATIONAL
        form.year.data = today_paris().year
        form.doc_type.data = DocType.CONVENTION.value
    elif form.validate_on_submit():
        files = [f for f in request.files.getlist(form.files.name) if f and f.filename]
        with _temp_copies(files) as paths:
            result = uploads.archive_batch(
                db.session, storage(), actor=current_actor(), files=_incoming(files, paths),
                shared_title=form.title.data or "",
                metadata=lambda title, doc_type, year: form.metadata(title=title, doc_type=doc_type, year=year),
                comment=form.comment.data or "", origin={"source": "web"}, ip=client_ip())
        created, status = result.created, result.status
        problems = [p.as_dict() for p in result.problems]
        if result.invalid is not None:
            _apply_errors(form, result.invalid)
        for doc in created:
            current = doc.current
            if current is not None and current.text_status == TextStatus.PENDING.value:
                flash(f"« {doc.title} » : reconnaissance du texte en attente.", "info")
            elif current is not None and not current.text_indexed:
                flash(f"« {doc.title} » : texte non indexé. {current.text_reason}", "error")
        if created and status == 200:
            if len(created) == 1:
                flash("Document archivé.", "success")
                return redirect(url_for("library.show", document_id=created[0].id))
            flash(f"{len(created)} documents archivés.", "success")
            return redirect(url_for("library.index"))
        if created:
            # The files archived before the error are complete (each in its savepoint): they stay,
            # although the answer is a 4xx, which the request's unit of work would roll back.
            db.session.commit()
            flash(f"{len(created)} document(s) archivé(s) avant l'erreur : "
                  + ", ".join(d.title for d in created), "success")
    else:
        status = 422
    return render_template("library/upload.html", form=form, problems=problems), status


# --------------------------------------------------------------------------- document page


def _history_page() -> int:
    # ?historique=N: bounded here, the verb clamps it to the last page.
    raw = request.args.get("historique", "")
    return int(raw) if raw.isdigit() and len(raw) < 7 else 1


def _page(doc: Document, *, link_form: LinkForm | None = None, version_form: VersionForm | None = None,
          status: int = 200, unlock_errors: list[str] | None = None) -> Any:
    user = current_actor()
    outgoing, incoming = archive.links_of(db.session, user, doc)
    current = doc.current
    preview_html = preview_error = None
    if current is not None and current.kind in previews.HTML_KINDS and not doc.in_trash:
        try:
            preview_html = html_preview(current)
        except DomainError as exc:
            preview_error = exc.message
    return render_template(
        "library/document.html", doc=doc, current=current, outgoing=outgoing, incoming=incoming,
        history=history.document_history_page(db.session, doc, include_access=permissions.is_admin(user),
                                              page=_history_page()),
        can_edit=permissions.can_write_region(user, doc.region_code) and not doc.in_trash,
        link_form=link_form or _link_form(doc), version_form=version_form or VersionForm(),
        preview_html=preview_html, preview_error=preview_error,
        **deadline_views.page_context(doc),
        lock_kind=locking.lock_reason(db.session, doc), model=locking.model_of(db.session, doc),
        unlock_errors=unlock_errors or [],
    ), status


@bp.route("/<id:document_id>")
@login_required
def show(document_id: int) -> Any:
    """Metadata, links, versions, preview and history of one document."""
    doc = _document(document_id)
    archive.record_access(db.session, "document.view", doc, actor=current_actor(), ip=client_ip())
    return _page(doc)


@bp.route("/<id:document_id>/modifier", methods=["GET", "POST"])
@writer_required
def edit(document_id: int) -> Any:
    """Edit a document's metadata."""
    doc = _document(document_id)
    _guard_write(doc)
    form = EditForm()
    _setup_metadata_form(form)
    status = 200
    if request.method == "GET":
        form.fill(archive.Metadata.of(doc))
    elif form.validate_on_submit():
        try:
            archive.update_metadata(db.session, doc, actor=current_actor(), meta=form.metadata(), ip=client_ip())
        except locking.LockedDocument as exc:
            db.session.rollback()
            _apply_errors(form, exc)
            if exc.errors:  # _apply_errors only shows the message when no field is named
                form.form_errors.append(exc.message)
            status = 409
        except ValidationError as exc:
            db.session.rollback()
            _apply_errors(form, exc)
            status = 422
        except PermissionDenied:
            db.session.rollback()
            deny("document", doc.id, region_code=doc.region_code, status=403)
        else:
            flash("Métadonnées enregistrées.", "success")
            return redirect(url_for("library.show", document_id=doc.id))
    else:
        status = 422
    return render_template("library/edit.html", form=form, doc=doc,
                           locked=locking.is_locked(db.session, doc)), status


@bp.route("/<id:document_id>/versions", methods=["POST"])
@writer_required
def add_version(document_id: int) -> Any:
    """Upload a new version; earlier ones stay downloadable."""
    doc = _document(document_id)
    _guard_write(doc)
    form = VersionForm()
    if form.validate_on_submit():
        upload_file = request.files.get(form.file.name)
        if upload_file is None or not upload_file.filename:
            form.file.errors = ["Choisissez un fichier."]
            return _page(doc, version_form=form, status=422)
        with _temp_copies([upload_file]) as (path,):
            try:
                version = archive.add_version(
                    db.session, storage(), doc, actor=current_actor(), path=path,
                    filename=upload_file.filename, comment=form.comment.data or "",
                    origin={"source": "web"}, ip=client_ip(),
                )
            except archive.DuplicateDocument as exc:
                db.session.rollback()
                if exc.document_id == doc.id:
                    form.file.errors = [exc.message]
                else:
                    message, other = uploads.duplicate_message(db.session, current_actor(), exc.document_id)
                    form.file.errors = [message + (f" (document n° {other})" if other else "")]
                return _page(doc, version_form=form, status=409)
            except DomainError as exc:
                db.session.rollback()
                form.file.errors = [exc.message]
                return _page(doc, version_form=form, status=exc.status)
        flash(f"Version {version.number} ajoutée.", "success")
        if version.text_status == TextStatus.PENDING.value:
            flash("Reconnaissance du texte en attente.", "info")
        elif not version.text_indexed:
            flash(f"Texte non indexé. {version.text_reason}", "error")
        return redirect(url_for("library.show", document_id=doc.id))
    return _page(doc, version_form=form, status=422)


# --------------------------------------------------------------------------- links


@bp.route("/<id:document_id>/liens", methods=["POST"])
@writer_required
def link(document_id: int) -> Any:
    """Link this document to another one (modifie, relève de, remplace, concerne, or the inverse)."""
    doc = _document(document_id)
    form = _link_form(doc)
    if not form.validate_on_submit():
        return _page(doc, link_form=form, status=422)
    target_id = form.target_id.data or (int(form.target.data) if (form.target.data or "").isdigit() else None)
    if target_id is None:
        form.target.errors = ["Choisissez un document dans la liste ou indiquez son numéro."]
        return _page(doc, link_form=form, status=422)
    other = _document(target_id)
    kind = form.link_type.data or ""
    source, target = (other, doc) if kind.startswith("inverse:") else (doc, other)
    if not permissions.can_write_region(current_actor(), source.region_code):
        deny("document", source.id, region_code=source.region_code, status=403)
    try:
        archive.link_documents(db.session, actor=current_actor(), source=source, target=target,
                               link_type=kind.removeprefix("inverse:"), ip=client_ip())
    except ValidationError as exc:
        db.session.rollback()
        form.target.errors = [exc.message]
        return _page(doc, link_form=form, status=422)
    flash("Lien ajouté.", "success")
    return redirect(url_for("library.show", document_id=doc.id) + "#liens")


@bp.route("/<id:document_id>/liens/<id:link_id>/supprimer", methods=["POST"])
@writer_required
def unlink(document_id: int, link_id: int) -> Any:
    """Remove a link shown on this document's page."""
    doc = _document(document_id)
    row = db.session.get(DocumentLink, link_id)
    if row is None or doc.id not in (row.source_id, row.target_id):
        deny("document_link", link_id, region_code=doc.region_code)
    assert row is not None
    other = row.target if row.source_id == doc.id else row.source
    if not permissions.can_read_region(current_actor(), other.region_code):
        deny("document_link", link_id, region_code=other.region_code)
    if not permissions.can_write_region(current_actor(), row.source.region_code):
        deny("document_link", link_id, region_code=row.source.region_code, status=403)
    archive.unlink_documents(db.session, actor=current_actor(), link=row, ip=client_ip())
    flash("Lien supprimé.", "success")
    return redirect(url_for("library.show", document_id=doc.id) + "#liens")


# --------------------------------------------------------------------------- dashboards


@bp.route("/completude")
@login_required
def completeness() -> Any:
    """Region × year matrix of one type of document: which regions lack which year."""
    this_year = today_paris().year
    doc_type = request.args.get("type") or DocType.CONVENTION.value
    if doc_type not in {t.value for t in DocType}:
        doc_type = DocType.CONVENTION.value
    status = request.args.get("statut") or None
    if status not in {s.value for s in DocStatus}:
        status = None
    first = request.args.get("de", type=int) or this_year - 4
    last = request.args.get("a", type=int) or this_year
    first, last = (max(1900, min(first, 2200)), max(1900, min(last, 2200)))
    matrix = listing.completeness(db.session, current_actor(), doc_type=doc_type, first_year=first,
                                  last_year=last, status=status, include_national=bool(request.args.get("national")))
    return render_template("library/completeness.html", matrix=matrix, types=list(DocType),
                           statuses=list(DocStatus), args=request.args)
