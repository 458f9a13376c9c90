"""The compte rendu's workflow: draft, upload, submit, take back, approve, and members' remarks."""

from __future__ import annotations

from typing import Any

from flask import flash

from documents.committees import minutes, scope
from intranet.committees.blueprint import bp
from intranet.committees.forms import CommentForm, UploadForm
from intranet.committees.helpers import (
    attempt,
    load_meeting,
    login_required,
    notifier,
    to_meeting_page,
    uploaded,
)
from intranet.extensions import db, storage
from intranet.web import client_ip, current_actor, deny, writer_required


@bp.route("/reunions/<id:meeting_id>/compte-rendu/rediger", methods=["POST"])
@writer_required
def draft_minutes(meeting_id: int) -> Any:
    """Draft the minutes from the compte-rendu model, pre-filled with the meeting."""
    m = load_meeting(meeting_id, write=True)
    attempt(lambda: minutes.draft_minutes(db.session, storage(), m, actor=current_actor(), ip=client_ip()),
            lambda doc: f"Projet de compte rendu rédigé (version {doc.current.number if doc.current else 1}) : "
            "téléchargez-le, complétez-le dans Word et déposez la version revue.")
    return to_meeting_page(m, "compte-rendu")


@bp.route("/reunions/<id:meeting_id>/compte-rendu/deposer", methods=["POST"])
@writer_required
def upload_minutes(meeting_id: int) -> Any:
    """Upload the minutes (a first version or a new one)."""
    m = load_meeting(meeting_id, write=True)
    form = UploadForm(prefix="minutes")
    if not form.validate_on_submit():
        flash("Choisissez le fichier du compte rendu.", "error")
        return to_meeting_page(m, "compte-rendu")

    def upload() -> None:
        with uploaded(form.file.name) as (path, filename):
            minutes.upload_minutes(db.session, storage(), m, actor=current_actor(), path=path, filename=filename,
                             ip=client_ip())

    attempt(upload, "Compte rendu déposé.")
    return to_meeting_page(m, "compte-rendu")


@bp.route("/reunions/<id:meeting_id>/compte-rendu/soumettre", methods=["POST"])
@writer_required
def submit_minutes(meeting_id: int) -> Any:
    """Submit the draft to the members."""
    m = load_meeting(meeting_id, write=True)
    minutes.submit_minutes(db.session, m, actor=current_actor(), notifier=notifier(), ip=client_ip())
    flash("Compte rendu soumis aux membres.", "success")
    return to_meeting_page(m, "compte-rendu")


@bp.route("/reunions/<id:meeting_id>/compte-rendu/brouillon", methods=["POST"])
@writer_required
def reopen_minutes(meeting_id: int) -> Any:
    """Take submitted minutes back to draft."""
    m = load_meeting(meeting_id, write=True)
    minutes.reopen_minutes(db.session, m, actor=current_actor(), ip=client_ip())
    flash("Compte rendu repassé en brouillon ; les remarques sont conservées.", "success")
    return to_meeting_page(m, "compte-rendu")


@bp.route("/reunions/<id:meeting_id>/compte-rendu/approuver", methods=["POST"])
@writer_required
def approve_minutes(meeting_id: int) -> Any:
    """Approve the submitted version."""
    m = load_meeting(meeting_id, write=True)
    minutes.approve_minutes(db.session, m, actor=current_actor(), notifier=notifier(), ip=client_ip())
    flash(f"Compte rendu approuvé (version {m.minutes_approved_version}).", "success")
    return to_meeting_page(m, "compte-rendu")


@bp.route("/reunions/<id:meeting_id>/compte-rendu/remarques", methods=["POST"])
@login_required
def comment_minutes(meeting_id: int) -> Any:
    """A member's remark on the submitted minutes."""
    m = load_meeting(meeting_id)
    if not scope.can_comment(current_actor(), m):
        deny("meeting", m.id, region_code=m.region_code, status=403)
    form = CommentForm(prefix="comment")
    if not form.validate_on_submit():
        flash("Écrivez votre remarque (5 000 caractères au plus).", "error")
        return to_meeting_page(m, "remarques")
    minutes.comment_minutes(db.session, m, actor=current_actor(), body=form.body.data or "", ip=client_ip())
    flash("Remarque enregistrée.", "success")
    return to_meeting_page(m, "remarques")
