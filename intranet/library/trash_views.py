"""The trash: send a document to it, list it, restore from it, purge for good (administrators)."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for

from documents import archive, listing, locking, permissions
from documents.models import Document
from intranet.extensions import db, storage
from intranet.library import bp
from intranet.library.forms import PurgeForm
from intranet.library.preview import forget as forget_preview
from intranet.library.views import _document, _guard_write, _page
from intranet.pagination import paginate, parse_page_args
from intranet.web import admin_required, client_ip, current_actor, deny, writer_required


@bp.route("/<id:document_id>/corbeille", methods=["POST"])
@writer_required
def trash(document_id: int) -> Any:
    """Send a document to the trash (its region's staff can restore it); locked records answer 409."""
    doc = _document(document_id)
    _guard_write(doc)
    try:
        archive.trash_document(db.session, doc, actor=current_actor(), ip=client_ip())
    except locking.LockedDocument as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return _page(doc, status=exc.status)
    flash(f"« {doc.title} » a été mis à la corbeille. Vous pouvez le restaurer depuis la corbeille.", "success")
    return redirect(url_for("library.index"))


@bp.route("/corbeille")
@writer_required
def trash_list() -> Any:
    """Documents in the trash that the user may restore (their regions; every region for national staff)."""
    stmt = listing.trashed_documents(current_actor())
    page, per_page = parse_page_args(request.args)
    return render_template("library/trash.html", page=paginate(db.session, stmt, page, per_page),
                           args=request.args)


def _trashed(document_id: int) -> Document:
    doc = db.session.get(Document, document_id)
    # Another region's trash is out of scope: 404, as for any document one may not change.
    if doc is None or not doc.in_trash or not permissions.can_write_region(current_actor(), doc.region_code):
        deny("document", document_id, region_code=doc.region_code if doc else None)
    assert doc is not None
    return doc


@bp.route("/<id:document_id>/restaurer", methods=["POST"])
@writer_required
def restore(document_id: int) -> Any:
    """Bring a document back from the trash (staff, within the regions they may change)."""
    doc = _trashed(document_id)
    archive.restore_document(db.session, doc, actor=current_actor(), ip=client_ip())
    flash(f"« {doc.title} » a été restauré.", "success")
    return redirect(url_for("library.show", document_id=doc.id))


@bp.route("/<id:document_id>/purger", methods=["GET", "POST"])
@admin_required
def purge(document_id: int) -> Any:
    """Remove a trashed document and its unshared files for good, after confirmation."""
    doc = _trashed(document_id)
    form = PurgeForm()
    status = 200
    if form.validate_on_submit():
        title, hashes = doc.title, {v.sha256 for v in doc.versions}
        archive.purge_document(db.session, storage(), doc, actor=current_actor(), ip=client_ip())
        # A preview is a copy of the text: it goes with the last file that held it.
        for sha in hashes:
            if not storage().exists(sha):
                forget_preview(sha)
        flash(f"« {title} » a été purgé définitivement.", "success")
        return redirect(url_for("library.trash_list"))
    if request.method == "POST":
        status = 422
    return render_template("library/purge.html", doc=doc, form=form), status
