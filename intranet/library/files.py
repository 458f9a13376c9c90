"""A document's files: download any version, the PDF inline for the preview frame, the readable preview, differences."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import login_required

from documents import archive, filetypes
from documents import preview as previews
from documents.errors import DomainError
from documents.models import DocumentVersion
from intranet.extensions import db, storage
from intranet.library import bp
from intranet.library.preview import html_preview
from intranet.library.views import _document, _version
from intranet.web import client_ip, current_actor


@bp.route("/<id:document_id>/versions/<id:number>/telecharger")
@login_required
def download(document_id: int, number: int) -> Any:
    """Any version's file, as an attachment with its stored safe name (RFC 6266)."""
    doc = _document(document_id)
    version = _version(doc, number)
    path = storage().local_path(version.sha256)
    archive.record_access(db.session, "document.download", doc, actor=current_actor(), ip=client_ip(),
                          version=number)
    return _send(path, version, inline=False)


def _send(path: Path, version: DocumentVersion, *, inline: bool) -> Any:
    # The stored name is already safe; cleaning again costs nothing and guards older rows.
    response = send_file(path, mimetype=version.mime_type, as_attachment=not inline,
                         download_name=filetypes.safe_filename(version.filename), max_age=0, etag=False)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/<id:document_id>/versions/<id:number>/pdf")
@login_required
def inline_pdf(document_id: int, number: int) -> Any:
    """A PDF version served inline, same origin, for the preview frame."""
    doc = _document(document_id)
    version = _version(doc, number)
    if version.kind != "pdf":
        abort(404)
    path = storage().local_path(version.sha256)
    archive.record_access(db.session, "document.preview", doc, actor=current_actor(), ip=client_ip(),
                          version=number)
    return _send(path, version, inline=True)


@bp.route("/<id:document_id>/versions/<id:number>/apercu")
@login_required
def preview(document_id: int, number: int) -> Any:
    """A readable preview of one version: HTML for .docx/.odt, the PDF inline, the text otherwise."""
    doc = _document(document_id)
    version = _version(doc, number)
    html = error = None
    if version.kind in previews.HTML_KINDS:
        try:
            html = html_preview(version)
        except DomainError as exc:
            error = exc.message
    archive.record_access(db.session, "document.view", doc, actor=current_actor(), ip=client_ip(),
                          version=number)
    return render_template("library/preview.html", doc=doc, version=version, html=html, error=error)


@bp.route("/<id:document_id>/difference")
@login_required
def diff(document_id: int) -> Any:
    """The difference between the texts of two versions (by default the last two)."""
    doc = _document(document_id)
    numbers = [v.number for v in doc.versions]
    if len(numbers) < 2:
        flash("Ce document n'a qu'une version : aucune différence à montrer.", "error")
        return redirect(url_for("library.show", document_id=doc.id))
    old_n = request.args.get("de", type=int) or numbers[-2]
    new_n = request.args.get("a", type=int) or numbers[-1]
    old, new = _version(doc, old_n), _version(doc, new_n)
    result = None
    if old.text_indexed and new.text_indexed:
        result = previews.diff_texts(old.text or "", new.text or "")
    archive.record_access(db.session, "document.view", doc, actor=current_actor(), ip=client_ip(),
                          version=new_n)
    return render_template("library/diff.html", doc=doc, old=old, new=new, result=result, numbers=numbers)
