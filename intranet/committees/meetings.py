"""Pages of a meeting: scheduling, the meeting page, changing, cancelling, duplicating, notes, .ics."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, flash, render_template, request

from documents.calendar import meeting_ics
from documents.committees import agenda, attachments, dates, decisions, meetings, scope
from documents.errors import ValidationError
from documents.models import ActionStatus, AttendanceStatus, MinutesStatus
from intranet.committees.attachform import attach_form
from intranet.committees.blueprint import bp
from intranet.committees.decisions import decision_form
from intranet.committees.forms import (
    ActionForm,
    CommentForm,
    DuplicateForm,
    GuestForm,
    MeetingForm,
    UploadForm,
)
from intranet.committees.helpers import (
    external_url,
    flash_error,
    load_committee,
    load_meeting,
    login_required,
    notifier,
    to_meeting_page,
)
from intranet.extensions import db
from intranet.forms import choices, show_errors
from intranet.web import client_ip, current_actor, writer_required


def _meeting_input(form: MeetingForm) -> meetings.MeetingInput:
    day, start, end = form.day.data, form.start.data, form.end.data
    return meetings.MeetingInput(
        starts_at=dates.paris_datetime(day, start) if day and start else None,
        ends_at=dates.paris_datetime(day, end) if day and end else None,
        title=form.title.data or "", place=form.place.data or "", visio_url=form.visio_url.data or "",
        notes=form.notes.data or "", agenda=(form.agenda.data or "").splitlines(),
    )


_MEETING_FIELDS = {"starts_at": "day", "ends_at": "end"}


@bp.route("/<id:committee_id>/reunions/nouvelle", methods=["GET", "POST"])
@writer_required
def new_meeting(committee_id: int) -> Any:
    """Schedule a meeting; members get an invitation."""
    com = load_committee(committee_id, write=True)
    form = MeetingForm()
    status = 200
    if form.validate_on_submit():
        try:
            meeting = meetings.schedule_meeting(db.session, com, actor=current_actor(), data=_meeting_input(form),
                                         notifier=notifier(), ip=client_ip())
        except ValidationError as exc:
            db.session.rollback()
            show_errors(form, exc, "day", _MEETING_FIELDS)
            status = 422
        else:
            flash("Réunion planifiée ; l'invitation part vers les membres ayant une adresse e-mail.", "success")
            return to_meeting_page(meeting)
    elif request.method == "POST":
        status = 422
    return render_template("committees/meeting_form.html", form=form, committee=com, meeting=None), status


@bp.route("/reunions/<id:meeting_id>")
@login_required
def meeting(meeting_id: int) -> Any:
    """A meeting: agenda, attendance, documents, decisions, actions, minutes and comments."""
    m = load_meeting(meeting_id)
    user = current_actor()
    manage = scope.can_manage(user, m)
    forms: dict[str, Any] = {}
    if manage:
        form_of_decision = decision_form(m)
        action_form = ActionForm(prefix="action")
        action_form.decision_id.choices = choices(
            [("", "— Aucune —")] + [(str(d.id), f"{i}. {decisions.decision_sentence(d)[:80]}")
                                    for i, d in enumerate(m.decisions, start=1)])
        forms = {"decision": form_of_decision, "action": action_form, "attach": attach_form(m),
                 "guest": GuestForm(prefix="guest"),
                 "upload": UploadForm(prefix="upload"), "minutes_upload": UploadForm(prefix="minutes"),
                 "duplicate": DuplicateForm(prefix="dup")}
    doc = m.minutes_document if m.minutes_document is not None and not m.minutes_document.in_trash else None
    return render_template(
        "committees/meeting.html", meeting=m, manage=manage, forms=forms,
        attachments=attachments.readable_attachments(user, m), minutes=doc,
        can_comment=scope.can_comment(user, m) and m.minutes_status == MinutesStatus.SOUMIS.value,
        comment_form=CommentForm(prefix="comment"), statuses=list(AttendanceStatus),
        action_statuses=list(ActionStatus), has_library="library.show" in current_app.view_functions,
        when=dates.when_fr(m),
    )


@bp.route("/reunions/<id:meeting_id>/modifier", methods=["GET", "POST"])
@writer_required
def edit_meeting(meeting_id: int) -> Any:
    """Change date, place, agenda; members are told when the date or place changes."""
    m = load_meeting(meeting_id, write=True)
    form = MeetingForm()
    if request.method == "GET":
        start = dates.local(m.starts_at)
        form.title.data, form.day.data, form.start.data = m.title, start.date(), start.time().replace(tzinfo=None)
        form.end.data = dates.local(m.ends_at).time().replace(tzinfo=None) if m.ends_at else None
        form.place.data, form.visio_url.data, form.notes.data = m.place, m.visio_url, m.notes
        form.agenda.data = "\n".join(item.title for item in m.agenda)
    status = 200
    if form.validate_on_submit():
        try:
            meetings.update_meeting(db.session, m, actor=current_actor(), data=_meeting_input(form), notifier=notifier(),
                             ip=client_ip())
        except ValidationError as exc:
            db.session.rollback()
            show_errors(form, exc, "day", _MEETING_FIELDS)
            status = 422
        else:
            flash("Réunion enregistrée.", "success")
            return to_meeting_page(m)
    elif request.method == "POST":
        status = 422
    return render_template("committees/meeting_form.html", form=form, committee=m.committee, meeting=m), status


@bp.route("/reunions/<id:meeting_id>/annuler", methods=["POST"])
@writer_required
def cancel_meeting(meeting_id: int) -> Any:
    """Cancel a meeting (kept in the list, marked "annulée")."""
    m = load_meeting(meeting_id, write=True)
    meetings.cancel_meeting(db.session, m, actor=current_actor(), notifier=notifier(), ip=client_ip())
    flash("Réunion annulée ; les membres ont été prévenus.", "success")
    return to_meeting_page(m)


@bp.route("/reunions/<id:meeting_id>/dupliquer", methods=["POST"])
@writer_required
def duplicate_meeting(meeting_id: int) -> Any:
    """Prepare the next meeting from this one."""
    m = load_meeting(meeting_id, write=True)
    form = DuplicateForm(prefix="dup")
    if not form.validate_on_submit():
        flash("Indiquez la date et l'heure de la prochaine réunion.", "error")
        return to_meeting_page(m, "preparer")
    try:
        copy = meetings.duplicate_meeting(db.session, m, actor=current_actor(),
                                   starts_at=dates.paris_datetime(form.day.data, form.start.data),
                                   notifier=notifier(), ip=client_ip())
    except ValidationError as exc:
        db.session.rollback()
        flash_error(exc)
        return to_meeting_page(m, "preparer")
    flash("Prochaine réunion préparée : vérifiez l'ordre du jour.", "success")
    return to_meeting_page(copy)


@bp.route("/reunions/<id:meeting_id>/notes", methods=["POST"])
@writer_required
def agenda_notes(meeting_id: int) -> Any:
    """Record the notes taken on each agenda point."""
    m = load_meeting(meeting_id, write=True)
    notes = {item.id: request.form.get(f"note-{item.id}", "") for item in m.agenda
             if f"note-{item.id}" in request.form}
    agenda.set_agenda_notes(db.session, m, actor=current_actor(), notes=notes, ip=client_ip())
    flash("Notes de séance enregistrées.", "success")
    return to_meeting_page(m, "ordre-du-jour")


@bp.route("/reunions/<id:meeting_id>.ics")
@login_required
def meeting_calendar(meeting_id: int) -> Any:
    """The meeting as an .ics invitation."""
    m = load_meeting(meeting_id)
    data = meeting_ics(m, url=external_url("committees.meeting", meeting_id=m.id))
    return Response(data, mimetype="text/calendar", headers={
        "Content-Disposition": f'attachment; filename="reunion-{m.id}.ics"'})
