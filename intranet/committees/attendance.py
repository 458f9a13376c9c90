"""Who is convened to a meeting and who came: attendance, members and one-off guests."""

from __future__ import annotations

from typing import Any

from flask import flash, request

from documents.committees import attendance as convocation
from documents.committees import errors
from documents.errors import DomainError, ValidationError
from intranet.committees.blueprint import bp
from intranet.committees.forms import GuestForm
from intranet.committees.helpers import (
    attempt,
    form_errors,
    load_meeting,
    notifier,
    to_meeting_page,
)
from intranet.extensions import db
from intranet.web import client_ip, current_actor, writer_required


@bp.route("/reunions/<id:meeting_id>/presences", methods=["POST"])
@writer_required
def attendance(meeting_id: int) -> Any:
    """Record who was present, excused, absent or represented."""
    m = load_meeting(meeting_id, write=True)
    entries = {}
    for row in m.attendance:
        status = request.form.get(f"status-{row.id}")
        if status is not None:
            entries[row.id] = (status, request.form.get(f"rep-{row.id}", ""))
    attempt(lambda: convocation.record_attendance(db.session, m, actor=current_actor(), entries=entries, ip=client_ip()),
            "Présences enregistrées.", ValidationError)
    return to_meeting_page(m, "presences")


@bp.route("/reunions/<id:meeting_id>/inviter", methods=["POST"])
@writer_required
def invite(meeting_id: int) -> Any:
    """Invite a committee member who was not invited yet."""
    m = load_meeting(meeting_id, write=True)
    try:
        convocation.invite_member(db.session, m, actor=current_actor(), member_id=int(request.form.get("member_id", "0")),
                        ip=client_ip())
    except (ValidationError, ValueError) as exc:
        db.session.rollback()
        flash(exc.message if isinstance(exc, DomainError) else "Choisissez un membre.", "error")
    else:
        flash("Membre convoqué.", "success")
    return to_meeting_page(m, "presences")


@bp.route("/reunions/<id:meeting_id>/invites", methods=["POST"])
@writer_required
def invite_guest(meeting_id: int) -> Any:
    """Invite a one-off guest (name, organisation, e-mail) to this meeting only."""
    m = load_meeting(meeting_id, write=True)
    form = GuestForm(prefix="guest")
    if not form.validate_on_submit():
        flash("L'invité n'a pas été ajouté : " + form_errors(form), "error")
        return to_meeting_page(m, "presences")
    attempt(lambda: convocation.invite_guest(db.session, m, actor=current_actor(), name=form.name.data or "",
                                    organisation=form.organisation.data or "", email=form.email.data or "",
                                    notifier=notifier(), ip=client_ip()),
            lambda row: f"{row.name} est invité(e) à cette réunion"
            + (" ; la convocation lui est envoyée." if row.email else "."))
    return to_meeting_page(m, "presences")


@bp.route("/reunions/<id:meeting_id>/invites/<id:attendance_id>/retirer", methods=["POST"])
@writer_required
def remove_guest(meeting_id: int, attendance_id: int) -> Any:
    """Withdraw a guest's invitation."""
    m = load_meeting(meeting_id, write=True)
    attempt(lambda: convocation.remove_guest(db.session, m, actor=current_actor(), attendance_id=attendance_id, ip=client_ip()),
            "Invitation retirée.", errors.CommitteeError)
    return to_meeting_page(m, "presences")
