"""Documents of a meeting: attach an archived one, upload a new one, detach."""

from __future__ import annotations

from typing import Any

from flask import flash

from documents.committees import attachments
from intranet.committees.attachform import chosen_document
from intranet.committees.blueprint import bp
from intranet.committees.forms import AttachForm, UploadForm
from intranet.committees.helpers import attempt, load_meeting, to_meeting_page, uploaded
from intranet.extensions import db, storage
from intranet.web import client_ip, current_actor, writer_required


@bp.route("/reunions/<id:meeting_id>/documents", methods=["POST"])
@writer_required
def attach(meeting_id: int) -> Any:
    """Attach an archived document."""
    m = load_meeting(meeting_id, write=True)
    form = AttachForm(prefix="attach")
    document_id = chosen_document(form) if form.validate_on_submit() else None
    if document_id is not None:
        attempt(lambda: attachments.attach_document(db.session, m, actor=current_actor(), document_id=document_id,
                                                    ip=client_ip()),
                "Document joint.")
    elif form.document_id.errors:
        flash("Numéro de document invalide : un nombre entier positif est attendu.", "error")
    else:
        flash("Choisissez le document à joindre (cherchez-le par son titre), ou indiquez son numéro.", "error")
    return to_meeting_page(m, "documents")


@bp.route("/reunions/<id:meeting_id>/documents/deposer", methods=["POST"])
@writer_required
def upload_attachment(meeting_id: int) -> Any:
    """Upload a document: it is filed in the archive (region of the committee) and attached."""
    m = load_meeting(meeting_id, write=True)
    form = UploadForm(prefix="upload")
    if not form.validate_on_submit():
        flash("Choisissez un fichier à déposer.", "error")
        return to_meeting_page(m, "documents")

    def upload() -> None:
        with uploaded(form.file.name) as (path, filename):
            attachments.upload_attachment(db.session, storage(), m, actor=current_actor(), path=path, filename=filename,
                                title=form.title.data or "", doc_type=form.doc_type.data, ip=client_ip())

    attempt(upload, "Document déposé dans l'archive et joint à la réunion.")
    return to_meeting_page(m, "documents")


@bp.route("/reunions/<id:meeting_id>/documents/<id:document_id>/retirer", methods=["POST"])
@writer_required
def detach(meeting_id: int, document_id: int) -> Any:
    """Remove a document from the meeting (it stays in the archive)."""
    m = load_meeting(meeting_id, write=True)
    attachments.detach_document(db.session, m, actor=current_actor(), document_id=document_id, ip=client_ip())
    flash("Document retiré de la réunion (il reste dans l'archive).", "success")
    return to_meeting_page(m, "documents")
