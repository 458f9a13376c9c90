"""Library views of the OCR: the searchable copy (download and preview) and the admin's « relancer »."""

from __future__ import annotations

import os
from typing import Any

from flask import abort, flash, redirect, send_file, url_for
from flask_login import login_required

from documents import archive, filetypes
from documents.errors import ValidationError
from documents.models import DocumentVersion
from documents.ocr.queue import OCR_KINDS, enqueue_ocr
from intranet.extensions import db, storage
from intranet.library import bp
from intranet.library.views import _document, _version
from intranet.web import admin_required, client_ip, current_actor, record


def _copy_name(version: DocumentVersion) -> str:
    stem = os.path.splitext(filetypes.safe_filename(version.filename))[0]
    return filetypes.safe_filename(f"{stem} (avec texte).pdf")


def _send_copy(document_id: int, number: int, *, inline: bool) -> Any:
    doc = _document(document_id)
    version = _version(doc, number)
    if not version.ocr_sha256:
        abort(404)
    archive.record_access(db.session, "document.preview" if inline else "document.download", doc,
                          actor=current_actor(), ip=client_ip(), version=number)
    response = send_file(storage().local_path(version.ocr_sha256), mimetype="application/pdf",
                         as_attachment=not inline, download_name=_copy_name(version), max_age=0, etag=False)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/<id:document_id>/versions/<id:number>/copie-avec-texte")
@login_required
def download_copy(document_id: int, number: int) -> Any:
    """« Télécharger la copie avec texte »: the PDF/A made by the OCR, beside the untouched original."""
    return _send_copy(document_id, number, inline=False)


@bp.route("/<id:document_id>/versions/<id:number>/copie-avec-texte/pdf")
@login_required
def inline_copy(document_id: int, number: int) -> Any:
    """The searchable copy inline, same origin, for the preview frame."""
    return _send_copy(document_id, number, inline=True)


@bp.route("/<id:document_id>/reconnaissance", methods=["POST"])
@admin_required
def rerun_ocr(document_id: int) -> Any:
    """« Relancer la reconnaissance du texte » of the current version: its scanned pages are read again.

    The OCR always starts from the untouched original, so a re-run reads every scanned page
    anew without ``force`` (which would also turn typed pages into images in the copy).
    """
    doc = _document(document_id)
    version = doc.current
    if doc.in_trash or version is None or version.kind not in OCR_KINDS:
        raise ValidationError("La reconnaissance du texte ne s'applique qu'aux PDF et aux images d'un document actif.")
    enqueue_ocr(db.session, version)
    record("document.ocr", object_type="document", object_id=doc.id, region_code=doc.region_code,
           details={"version": version.number})
    db.session.commit()
    flash("Reconnaissance du texte relancée : le texte sera mis à jour dans quelques instants.", "success")
    return redirect(url_for("library.show", document_id=doc.id))
