"""Views that unlock and relock a locked record (approved minutes, signed agreements); admins only.

The decision and the audit live in ``documents.locking``; these views read the form, call
the verb, commit and redirect, like every other view of the archive.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, url_for
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from documents import locking
from documents.errors import ValidationError
from intranet.extensions import db
from intranet.forms import FrenchForm
from intranet.library import bp
from intranet.library.views import _document, _page
from intranet.web import admin_required, client_ip, current_actor


class UnlockForm(FrenchForm):
    """The written reason an administrator gives to unlock a record."""

    reason = TextAreaField("Motif du déverrouillage", validators=[
        DataRequired("Indiquez le motif du déverrouillage."),
        Length(max=locking.MAX_REASON, message=f"{locking.MAX_REASON} caractères au plus.")])


@bp.route("/<id:document_id>/deverrouiller", methods=["POST"])
@admin_required
def unlock(document_id: int) -> Any:
    """Unlock a locked record for changes, with a written reason (audited)."""
    doc = _document(document_id)
    form = UnlockForm()
    if not form.validate_on_submit():
        return _page(doc, status=422, unlock_errors=[e for errors in form.errors.values() for e in errors])
    try:
        locking.unlock_document(db.session, doc, actor=current_actor(), reason=form.reason.data or "",
                                ip=client_ip())
    except ValidationError as exc:
        db.session.rollback()
        return _page(doc, status=exc.status, unlock_errors=list(exc.errors.values()) or [exc.message])
    db.session.commit()
    flash("Document déverrouillé : ses informations juridiques et ses versions peuvent être modifiées. "
          "Pensez à le reverrouiller.", "success")
    return redirect(url_for("library.show", document_id=doc.id))


@bp.route("/<id:document_id>/verrouiller", methods=["POST"])
@admin_required
def lock(document_id: int) -> Any:
    """Lock again a record an administrator had unlocked (audited)."""
    doc = _document(document_id)
    locking.lock_document(db.session, doc, actor=current_actor(), ip=client_ip())
    db.session.commit()
    flash("Document reverrouillé.", "success")
    return redirect(url_for("library.show", document_id=doc.id))
