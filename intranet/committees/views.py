"""Views of the committees: committees, meetings, minutes, decisions, actions, compliance, feeds.

Views stay thin: they read the request, call a ``documents.committees`` verb (which checks
permissions, writes the audit log and commits), then render or redirect. Another region's
committee or meeting answers 404 and logs the denial; changing one that may
only be read (the national committee, for regional staff) answers 403, also logged
The calendar and Atom feeds also open with a personal token in the URL,
for calendar clients that cannot log in; the token is scoped like its owner.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import login_required
from sqlalchemy import select

from documents import committees as C
from documents import permissions
from documents.bounds import row_id
from documents.calendar import feed_ics, meeting_ics, minutes_atom
from documents.errors import DomainError, ValidationError
from documents.frenchtext import french_order
from documents.models import (
    ActionItem,
    ActionStatus,
    AttendanceStatus,
    Committee,
    CommitteeMember,
    DecisionKind,
    Meeting,
    MemberRole,
    MinutesStatus,
    Quartier,
    Region,
    User,
)
from intranet.committees import bp
from intranet.committees.forms import (
    ActionForm,
    ActionStatusForm,
    AttachForm,
    CommentForm,
    CommitteeEditForm,
    CommitteeForm,
    DecisionForm,
    DuplicateForm,
    GuestForm,
    MeetingForm,
    MemberForm,
    MemberRoleForm,
    UploadForm,
)
from intranet.extensions import db, storage
from intranet.forms import choices, show_errors
from intranet.main import DASHBOARD_PANELS
from intranet.pagination import paginate, parse_page_args
from intranet.web import client_ip, current_actor, deny, record, writer_required

#: How many days after its meeting a draft counts as late on the compliance dashboard.
DRAFT_DAYS = 30


# --------------------------------------------------------------------------- helpers


def _committee(committee_id: int, *, write: bool = False) -> Committee:
    """The committee if visible (404 + logged denial otherwise); 403 + log if ``write`` and read-only."""
    committee = db.session.get(Committee, committee_id)
    user = current_actor()
    if committee is None or not C.can_read(user, committee):
        deny("committee", committee_id, region_code=committee.region_code if committee else None)
    assert committee is not None
    if write and not C.can_manage(user, committee):
        deny("committee", committee_id, region_code=committee.region_code, status=403)
    return committee


def _meeting(meeting_id: int, *, write: bool = False) -> Meeting:
    """The meeting if visible (404 + logged denial otherwise); 403 + log if ``write`` and read-only."""
    meeting = db.session.get(Meeting, meeting_id)
    user = current_actor()
    if meeting is None or not C.can_read(user, meeting):
        deny("meeting", meeting_id, region_code=meeting.region_code if meeting else None)
    assert meeting is not None
    if write and not C.can_manage(user, meeting):
        deny("meeting", meeting_id, region_code=meeting.region_code, status=403)
    return meeting


def external_url(endpoint: str, **values: Any) -> str:
    """An absolute address for mails and feeds, built on the configured BASE_URL."""
    return current_app.config["BASE_URL"].rstrip("/") + url_for(endpoint, **values)


def notifier() -> C.Notifier:
    """How notifications write a meeting's address (they go to the mail outbox, sent by the mail worker)."""
    return C.Notifier(lambda m: external_url("committees.meeting", meeting_id=m.id))


def _flash_error(exc: DomainError) -> None:
    details = "; ".join(dict.fromkeys(getattr(exc, "errors", {}).values()))
    flash(exc.message + (f" {details}" if details else ""), "error")


def _attempt(verb: Callable[[], Any], success: str | Callable[[Any], str],
             errors: type[DomainError] = DomainError) -> None:
    """Run a committee verb for a POST: on ``errors`` roll back and flash the French
    message, otherwise flash ``success`` (a text, or made from the verb's result)."""
    try:
        result = verb()
    except errors as exc:
        db.session.rollback()
        _flash_error(exc)
    else:
        flash(success(result) if callable(success) else success, "success")


def _form_errors(form: Any) -> str:
    """A form's error messages on one line (for a flash after a POST from a tab)."""
    return " ".join(e for errs in form.errors.values() for e in errs)


def _to_meeting_page(meeting: Meeting, anchor: str = "") -> Any:
    return redirect(url_for("committees.meeting", meeting_id=meeting.id) + (f"#{anchor}" if anchor else ""))


@contextmanager
def _uploaded(field: str) -> Iterator[tuple[Path, str]]:
    """The uploaded file copied to a private temporary folder (removed afterwards)."""
    upload = request.files.get(field)
    if upload is None or not upload.filename:
        raise ValidationError("Choisissez un fichier à déposer.", errors={field: "Aucun fichier."})
    with tempfile.TemporaryDirectory(prefix="upload-") as tmp:
        path = Path(tmp) / "upload.bin"
        upload.save(path)
        yield path, upload.filename


def _region_choices(user: Any) -> list:
    # New committees sit in today's regions; the 2009 ones keep only their closed committees.
    regions = db.session.scalars(select(Region).where(Region.valid_until.is_(None)).order_by(french_order(Region.name), Region.code)).all()
    return choices([("", "— Choisir —")] + [(r.code, r.name) for r in regions
                                            if permissions.can_write_region(user, r.code)])


def _year_arg() -> int | None:
    try:
        year = int(request.args.get("annee", ""))
    except ValueError:
        return None
    return year if 1990 <= year <= 2200 else None


def _int_arg(name: str) -> int | None:
    # An id filter: beyond PostgreSQL's integer it can match nothing, so it filters nothing.
    return row_id(request.args.get(name, ""))


# --------------------------------------------------------------------------- committees


@bp.route("/")
@login_required
def index() -> Any:
    """Committees the user may see, with upcoming and recent meetings."""
    user = current_actor()
    committees = db.session.scalars(C.visible_committees(user)).all()
    now = C.paris_datetime(dt.datetime.now(C.PARIS).date(), dt.time())
    upcoming = db.session.scalars(C.visible_meetings(user).where(Meeting.starts_at >= now)
                                  .order_by(Meeting.starts_at).limit(20)).all()
    recent = db.session.scalars(C.visible_meetings(user).where(Meeting.starts_at < now)
                                .order_by(Meeting.starts_at.desc()).limit(20)).all()
    return render_template("committees/index.html", committees=committees, upcoming=upcoming, recent=recent,
                           can_create=any(permissions.can_write_region(user, r.code)
                                          for r in db.session.scalars(select(Region))))


@bp.route("/nouveau", methods=["GET", "POST"])
@writer_required
def create() -> Any:
    """Add a local committee to a region."""
    user = current_actor()
    form = CommitteeForm()
    form.region.choices = _region_choices(user)
    if not request.form and user.region_code:
        form.region.data = user.region_code
    status = 200
    if form.validate_on_submit():
        try:
            committee = C.create_committee(db.session, actor=user, name=form.name.data or "",
                                           region_code=form.region.data, description=form.description.data or "",
                                           ip=client_ip())
        except ValidationError as exc:
            db.session.rollback()
            show_errors(form, exc, "name", {"region_code": "region"})
            status = 422
        else:
            flash("Comité créé.", "success")
            return redirect(url_for("committees.committee", committee_id=committee.id))
    elif request.method == "POST":
        status = 422
    return render_template("committees/committee_form.html", form=form), status


def _member_form(committee: Committee) -> MemberForm:
    form = MemberForm()
    users = db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.name, User.email)).all()
    already = {m.user_id for m in committee.members}
    # Only accounts that can read the committee: a member who cannot open it would get 404s.
    form.user_id.choices = choices([("", "— Contact extérieur —")] + [
        (str(u.id), f"{u.display_name} ({u.email})") for u in users
        if u.id not in already and permissions.can_read_region(u, committee.region_code)])
    return form


@bp.route("/<id:committee_id>")
@login_required
def committee(committee_id: int) -> Any:
    """A committee: members and meetings."""
    com = _committee(committee_id)
    meetings = db.session.scalars(select(Meeting).where(Meeting.committee_id == com.id)
                                  .order_by(Meeting.starts_at.desc())).all()
    manage = C.can_manage(current_actor(), com)
    return render_template("committees/committee.html", committee=com, meetings=meetings, manage=manage,
                           member_form=_member_form(com) if manage else None, roles=list(MemberRole))


@bp.route("/<id:committee_id>/modifier", methods=["GET", "POST"])
@writer_required
def edit_committee(committee_id: int) -> Any:
    """Change a committee's name, description and active flag."""
    com = _committee(committee_id, write=True)
    form = CommitteeEditForm()
    if request.method == "GET":
        form.name.data, form.description.data, form.active.data = com.name, com.description, com.active
    status = 200
    if form.validate_on_submit():
        try:
            C.update_committee(db.session, com, actor=current_actor(), name=form.name.data or "",
                               description=form.description.data or "", active=bool(form.active.data),
                               ip=client_ip())
        except ValidationError as exc:
            db.session.rollback()
            show_errors(form, exc, "name")
            status = 422
        else:
            flash("Comité enregistré.", "success")
            return redirect(url_for("committees.committee", committee_id=com.id))
    elif request.method == "POST":
        status = 422
    return render_template("committees/committee_form.html", form=form, committee=com), status


@bp.route("/<id:committee_id>/membres", methods=["POST"])
@writer_required
def add_member(committee_id: int) -> Any:
    """Add a member (account or external contact)."""
    com = _committee(committee_id, write=True)
    form = _member_form(com)
    if form.validate_on_submit():
        _attempt(lambda: C.add_member(db.session, com, actor=current_actor(), role=form.role.data,
                                      user_id=int(form.user_id.data) if form.user_id.data else None,
                                      name=form.name.data or "", organisation=form.organisation.data or "",
                                      email=form.email.data or "", ip=client_ip()),
                 "Membre ajouté.", ValidationError)
    else:
        flash("Le membre n'a pas été ajouté : " + _form_errors(form), "error")
    return redirect(url_for("committees.committee", committee_id=com.id) + "#membres")


@bp.route("/<id:committee_id>/membres/<id:member_id>/retirer", methods=["POST"])
@writer_required
def remove_member(committee_id: int, member_id: int) -> Any:
    """Remove a member."""
    com = _committee(committee_id, write=True)
    member = db.session.get(CommitteeMember, member_id)
    if member is None or member.committee_id != com.id:
        abort(404)
    C.remove_member(db.session, member, actor=current_actor(), ip=client_ip())
    flash("Membre retiré.", "success")
    return redirect(url_for("committees.committee", committee_id=com.id) + "#membres")


@bp.route("/<id:committee_id>/membres/<id:member_id>/role", methods=["POST"])
@writer_required
def member_role(committee_id: int, member_id: int) -> Any:
    """Make a member président, membre or invité."""
    com = _committee(committee_id, write=True)
    member = db.session.get(CommitteeMember, member_id)
    if member is None or member.committee_id != com.id:
        deny("committee_member", member_id, region_code=com.region_code)
    assert member is not None
    # One small form per table row: the app-wide CSRFProtect has checked the token already.
    form = MemberRoleForm(meta={"csrf": False})
    if form.validate_on_submit():
        C.set_member_role(db.session, member, actor=current_actor(), role=form.role.data, ip=client_ip())
        flash(f"{member.display_name} est maintenant « {member.role_label} ».", "success")
    else:
        flash("Choisissez un rôle : président, membre ou invité.", "error")
    return redirect(url_for("committees.committee", committee_id=com.id) + "#membres")


# --------------------------------------------------------------------------- meetings


def _meeting_input(form: MeetingForm) -> C.MeetingInput:
    day, start, end = form.day.data, form.start.data, form.end.data
    return C.MeetingInput(
        starts_at=C.paris_datetime(day, start) if day and start else None,
        ends_at=C.paris_datetime(day, end) if day and end else None,
        title=form.title.data or "", place=form.place.data or "", visio_url=form.visio_url.data or "",
        notes=form.notes.data or "", agenda=(form.agenda.data or "").splitlines(),
    )


_MEETING_FIELDS = {"starts_at": "day", "ends_at": "end"}


@bp.route("/<id:committee_id>/reunions/nouvelle", methods=["GET", "POST"])
@writer_required
def new_meeting(committee_id: int) -> Any:
    """Schedule a meeting; members get an invitation."""
    com = _committee(committee_id, write=True)
    form = MeetingForm()
    status = 200
    if form.validate_on_submit():
        try:
            meeting = C.schedule_meeting(db.session, com, actor=current_actor(), data=_meeting_input(form),
                                         notifier=notifier(), ip=client_ip())
        except ValidationError as exc:
            db.session.rollback()
            show_errors(form, exc, "day", _MEETING_FIELDS)
            status = 422
        else:
            flash("Réunion planifiée ; l'invitation part vers les membres ayant une adresse e-mail.", "success")
            return _to_meeting_page(meeting)
    elif request.method == "POST":
        status = 422
    return render_template("committees/meeting_form.html", form=form, committee=com, meeting=None), status


def _decision_form(m: Meeting) -> DecisionForm:
    form = DecisionForm(prefix="decision")
    quartiers = db.session.scalars(select(Quartier).where(Quartier.region_code == m.region_code)
                                   .order_by(Quartier.departement, Quartier.code)).all() if m.region_code else []
    form.quartier_code.choices = choices(
        [("", "— Aucun —")] + [(q.code, f"{q.code} – {q.communes} – {q.names}") for q in quartiers])
    if m.region_code is None:
        form.kind.choices = choices([(DecisionKind.DECISION.value, DecisionKind.DECISION.label)])
    return form


def _decision_input(form: DecisionForm) -> C.DecisionInput:
    return C.DecisionInput(
        kind=form.kind.data or "", text=form.text.data or "", project_name=form.project_name.data or "",
        porteur=form.porteur.data or "", commune=form.commune.data or "",
        quartier_code=form.quartier_code.data or "", actions_concerned=form.actions_concerned.data or "")


@bp.route("/reunions/<id:meeting_id>")
@login_required
def meeting(meeting_id: int) -> Any:
    """A meeting: agenda, attendance, documents, decisions, actions, minutes and comments."""
    m = _meeting(meeting_id)
    user = current_actor()
    manage = C.can_manage(user, m)
    forms: dict[str, Any] = {}
    if manage:
        decision_form = _decision_form(m)
        action_form = ActionForm(prefix="action")
        action_form.decision_id.choices = choices(
            [("", "— Aucune —")] + [(str(d.id), f"{i}. {C.decision_sentence(d)[:80]}")
                                    for i, d in enumerate(m.decisions, start=1)])
        forms = {"decision": decision_form, "action": action_form, "attach": AttachForm(prefix="attach"),
                 "guest": GuestForm(prefix="guest"),
                 "upload": UploadForm(prefix="upload"), "minutes_upload": UploadForm(prefix="minutes"),
                 "duplicate": DuplicateForm(prefix="dup")}
    doc = m.minutes_document if m.minutes_document is not None and not m.minutes_document.in_trash else None
    return render_template(
        "committees/meeting.html", meeting=m, manage=manage, forms=forms,
        attachments=C.readable_attachments(user, m), minutes=doc,
        can_comment=C.can_comment(user, m) and m.minutes_status == MinutesStatus.SOUMIS.value,
        comment_form=CommentForm(prefix="comment"), statuses=list(AttendanceStatus),
        action_statuses=list(ActionStatus), has_library="library.show" in current_app.view_functions,
        when=C.when_fr(m),
    )


@bp.route("/reunions/<id:meeting_id>/modifier", methods=["GET", "POST"])
@writer_required
def edit_meeting(meeting_id: int) -> Any:
    """Change date, place, agenda; members are told when the date or place changes."""
    m = _meeting(meeting_id, write=True)
    form = MeetingForm()
    if request.method == "GET":
        start = C.local(m.starts_at)
        form.title.data, form.day.data, form.start.data = m.title, start.date(), start.time().replace(tzinfo=None)
        form.end.data = C.local(m.ends_at).time().replace(tzinfo=None) if m.ends_at else None
        form.place.data, form.visio_url.data, form.notes.data = m.place, m.visio_url, m.notes
        form.agenda.data = "\n".join(item.title for item in m.agenda)
    status = 200
    if form.validate_on_submit():
        try:
            C.update_meeting(db.session, m, actor=current_actor(), data=_meeting_input(form), notifier=notifier(),
                             ip=client_ip())
        except ValidationError as exc:
            db.session.rollback()
            show_errors(form, exc, "day", _MEETING_FIELDS)
            status = 422
        else:
            flash("Réunion enregistrée.", "success")
            return _to_meeting_page(m)
    elif request.method == "POST":
        status = 422
    return render_template("committees/meeting_form.html", form=form, committee=m.committee, meeting=m), status


@bp.route("/reunions/<id:meeting_id>/annuler", methods=["POST"])
@writer_required
def cancel_meeting(meeting_id: int) -> Any:
    """Cancel a meeting (kept in the list, marked "annulée")."""
    m = _meeting(meeting_id, write=True)
    C.cancel_meeting(db.session, m, actor=current_actor(), notifier=notifier(), ip=client_ip())
    flash("Réunion annulée ; les membres ont été prévenus.", "success")
    return _to_meeting_page(m)


@bp.route("/reunions/<id:meeting_id>/dupliquer", methods=["POST"])
@writer_required
def duplicate_meeting(meeting_id: int) -> Any:
    """Prepare the next meeting from this one."""
    m = _meeting(meeting_id, write=True)
    form = DuplicateForm(prefix="dup")
    if not form.validate_on_submit():
        flash("Indiquez la date et l'heure de la prochaine réunion.", "error")
        return _to_meeting_page(m, "preparer")
    try:
        copy = C.duplicate_meeting(db.session, m, actor=current_actor(),
                                   starts_at=C.paris_datetime(form.day.data, form.start.data),
                                   notifier=notifier(), ip=client_ip())
    except ValidationError as exc:
        db.session.rollback()
        _flash_error(exc)
        return _to_meeting_page(m, "preparer")
    flash("Prochaine réunion préparée : vérifiez l'ordre du jour.", "success")
    return _to_meeting_page(copy)


@bp.route("/reunions/<id:meeting_id>/presences", methods=["POST"])
@writer_required
def attendance(meeting_id: int) -> Any:
    """Record who was present, excused, absent or represented."""
    m = _meeting(meeting_id, write=True)
    entries = {}
    for row in m.attendance:
        status = request.form.get(f"status-{row.id}")
        if status is not None:
            entries[row.id] = (status, request.form.get(f"rep-{row.id}", ""))
    _attempt(lambda: C.record_attendance(db.session, m, actor=current_actor(), entries=entries, ip=client_ip()),
             "Présences enregistrées.", ValidationError)
    return _to_meeting_page(m, "presences")


@bp.route("/reunions/<id:meeting_id>/inviter", methods=["POST"])
@writer_required
def invite(meeting_id: int) -> Any:
    """Invite a committee member who was not invited yet."""
    m = _meeting(meeting_id, write=True)
    try:
        C.invite_member(db.session, m, actor=current_actor(), member_id=int(request.form.get("member_id", "0")),
                        ip=client_ip())
    except (ValidationError, ValueError) as exc:
        db.session.rollback()
        flash(exc.message if isinstance(exc, DomainError) else "Choisissez un membre.", "error")
    else:
        flash("Membre convoqué.", "success")
    return _to_meeting_page(m, "presences")


@bp.route("/reunions/<id:meeting_id>/invites", methods=["POST"])
@writer_required
def invite_guest(meeting_id: int) -> Any:
    """Invite a one-off guest (name, organisation, e-mail) to this meeting only."""
    m = _meeting(meeting_id, write=True)
    form = GuestForm(prefix="guest")
    if not form.validate_on_submit():
        flash("L'invité n'a pas été ajouté : " + _form_errors(form), "error")
        return _to_meeting_page(m, "presences")
    _attempt(lambda: C.invite_guest(db.session, m, actor=current_actor(), name=form.name.data or "",
                                    organisation=form.organisation.data or "", email=form.email.data or "",
                                    notifier=notifier(), ip=client_ip()),
             lambda row: f"{row.name} est invité(e) à cette réunion"
             + (" ; la convocation lui est envoyée." if row.email else "."))
    return _to_meeting_page(m, "presences")


@bp.route("/reunions/<id:meeting_id>/invites/<id:attendance_id>/retirer", methods=["POST"])
@writer_required
def remove_guest(meeting_id: int, attendance_id: int) -> Any:
    """Withdraw a guest's invitation."""
    m = _meeting(meeting_id, write=True)
    _attempt(lambda: C.remove_guest(db.session, m, actor=current_actor(), attendance_id=attendance_id, ip=client_ip()),
             "Invitation retirée.", C.CommitteeError)
    return _to_meeting_page(m, "presences")


@bp.route("/reunions/<id:meeting_id>/notes", methods=["POST"])
@writer_required
def agenda_notes(meeting_id: int) -> Any:
    """Record the notes taken on each agenda point."""
    m = _meeting(meeting_id, write=True)
    notes = {item.id: request.form.get(f"note-{item.id}", "") for item in m.agenda
             if f"note-{item.id}" in request.form}
    C.set_agenda_notes(db.session, m, actor=current_actor(), notes=notes, ip=client_ip())
    flash("Notes de séance enregistrées.", "success")
    return _to_meeting_page(m, "ordre-du-jour")


@bp.route("/reunions/<id:meeting_id>/documents", methods=["POST"])
@writer_required
def attach(meeting_id: int) -> Any:
    """Attach an archived document."""
    m = _meeting(meeting_id, write=True)
    form = AttachForm(prefix="attach")
    if form.validate_on_submit():
        _attempt(lambda: C.attach_document(db.session, m, actor=current_actor(), document_id=form.document_id.data,
                                           ip=client_ip()),
                 "Document joint.")
    else:
        flash("Indiquez le numéro d'un document de l'archive.", "error")
    return _to_meeting_page(m, "documents")


@bp.route("/reunions/<id:meeting_id>/documents/deposer", methods=["POST"])
@writer_required
def upload_attachment(meeting_id: int) -> Any:
    """Upload a document: it is filed in the archive (region of the committee) and attached."""
    m = _meeting(meeting_id, write=True)
    form = UploadForm(prefix="upload")
    if not form.validate_on_submit():
        flash("Choisissez un fichier à déposer.", "error")
        return _to_meeting_page(m, "documents")

    def upload() -> None:
        with _uploaded(form.file.name) as (path, filename):
            C.upload_attachment(db.session, storage(), m, actor=current_actor(), path=path, filename=filename,
                                title=form.title.data or "", doc_type=form.doc_type.data, ip=client_ip())

    _attempt(upload, "Document déposé dans l'archive et joint à la réunion.")
    return _to_meeting_page(m, "documents")


@bp.route("/reunions/<id:meeting_id>/documents/<id:document_id>/retirer", methods=["POST"])
@writer_required
def detach(meeting_id: int, document_id: int) -> Any:
    """Remove a document from the meeting (it stays in the archive)."""
    m = _meeting(meeting_id, write=True)
    C.detach_document(db.session, m, actor=current_actor(), document_id=document_id, ip=client_ip())
    flash("Document retiré de la réunion (il reste dans l'archive).", "success")
    return _to_meeting_page(m, "documents")


@bp.route("/reunions/<id:meeting_id>.ics")
@login_required
def meeting_calendar(meeting_id: int) -> Any:
    """The meeting as an .ics invitation."""
    m = _meeting(meeting_id)
    data = meeting_ics(m, url=external_url("committees.meeting", meeting_id=m.id))
    return Response(data, mimetype="text/calendar", headers={
        "Content-Disposition": f'attachment; filename="reunion-{m.id}.ics"'})


# --------------------------------------------------------------------------- decisions and actions


@bp.route("/reunions/<id:meeting_id>/decisions", methods=["POST"])
@writer_required
def add_decision(meeting_id: int) -> Any:
    """Record a decision or a project validation."""
    m = _meeting(meeting_id, write=True)
    form = DecisionForm(prefix="decision")
    form.validate_on_submit()
    if not form.csrf_token.errors:
        _attempt(lambda: C.add_decision(db.session, m, actor=current_actor(), ip=client_ip(),
                                        data=_decision_input(form)),
                 "Décision enregistrée.", ValidationError)
    return _to_meeting_page(m, "decisions")


@bp.route("/reunions/<id:meeting_id>/decisions/<id:decision_id>/supprimer", methods=["POST"])
@writer_required
def delete_decision(meeting_id: int, decision_id: int) -> Any:
    """Remove a decision entered by mistake."""
    m = _meeting(meeting_id, write=True)
    _attempt(lambda: C.delete_decision(db.session, m, actor=current_actor(), decision_id=decision_id, ip=client_ip()),
             "Décision supprimée.", C.CommitteeError)
    return _to_meeting_page(m, "decisions")




@bp.route("/reunions/<id:meeting_id>/decisions/<id:decision_id>/modifier", methods=["GET", "POST"])
@writer_required
def edit_decision(meeting_id: int, decision_id: int) -> Any:
    """Correct a decision in place (instead of deleting and entering it again)."""
    m = _meeting(meeting_id, write=True)
    decision = next((d for d in m.decisions if d.id == decision_id), None)
    if decision is None:
        deny("decision", decision_id, region_code=m.region_code)
    assert decision is not None
    form = _decision_form(m)
    form.submit.label.text = "Enregistrer la correction"
    if request.method == "GET":
        for name in ("kind", "text", "project_name", "porteur", "commune", "actions_concerned"):
            getattr(form, name).data = getattr(decision, name)
        form.quartier_code.data = decision.quartier_code or ""
    status = 200
    if form.validate_on_submit():
        try:
            C.update_decision(db.session, m, actor=current_actor(), decision_id=decision.id,
                              data=_decision_input(form), ip=client_ip())
        except ValidationError as exc:
            db.session.rollback()
            show_errors(form, exc, "text")
            status = 422
        except C.CommitteeError as exc:
            db.session.rollback()
            _flash_error(exc)
            return _to_meeting_page(m, "decisions")
        else:
            flash("Décision corrigée.", "success")
            return _to_meeting_page(m, "decisions")
    elif request.method == "POST":
        status = 422
    return render_template("committees/decision_form.html", form=form, meeting=m, decision=decision,
                           position=m.decisions.index(decision) + 1), status


@bp.route("/reunions/<id:meeting_id>/actions", methods=["POST"])
@writer_required
def add_action(meeting_id: int) -> Any:
    """Record an action."""
    m = _meeting(meeting_id, write=True)
    form = ActionForm(prefix="action")
    if form.validate_on_submit():
        _attempt(lambda: C.add_action(
                     db.session, m, actor=current_actor(), title=form.title.data or "", owner=form.owner.data or "",
                     due_date=form.due_date.data,
                     decision_id=int(form.decision_id.data) if (form.decision_id.data or "").isdigit() else None,
                     ip=client_ip()),
                 "Action enregistrée.", ValidationError)
    else:
        flash("L'action n'a pas été enregistrée : " + _form_errors(form), "error")
    return _to_meeting_page(m, "actions")


@bp.route("/actions/<id:action_id>/statut", methods=["POST"])
@writer_required
def action_status(action_id: int) -> Any:
    """Change an action's status."""
    action = db.session.get(ActionItem, action_id)
    if action is None:
        deny("action", action_id)
    assert action is not None
    m = _meeting(action.meeting_id, write=True)
    # One small form per table row: the app-wide CSRFProtect has checked the token already.
    form = ActionStatusForm(meta={"csrf": False})
    if form.validate_on_submit():
        C.set_action_status(db.session, action, actor=current_actor(), status=form.status.data, ip=client_ip())
        flash("Statut de l'action mis à jour.", "success")
    else:
        flash("Statut inconnu.", "error")
    target = request.form.get("next", "")
    if target == "actions":
        return redirect(url_for("committees.actions"))
    return _to_meeting_page(m, "actions")


@bp.route("/actions/<id:action_id>/supprimer", methods=["POST"])
@writer_required
def delete_action(action_id: int) -> Any:
    """Remove an action entered by mistake."""
    action = db.session.get(ActionItem, action_id)
    if action is None:
        deny("action", action_id)
    assert action is not None
    m = _meeting(action.meeting_id, write=True)
    _attempt(lambda: C.delete_action(db.session, action, actor=current_actor(), ip=client_ip()),
             "Action supprimée.", C.CommitteeError)
    return _to_meeting_page(m, "actions")


def _list_filters() -> C.ListFilters:
    region = (request.args.get("region") or "").strip() or None
    return C.ListFilters(committee_id=_int_arg("comite"), region_code=region, year=_year_arg(),
                         kind=(request.args.get("type") or "").strip() or None,
                         status=(request.args.get("statut") or "").strip() or None,
                         overdue_on=dt.datetime.now(C.PARIS).date() if request.args.get("en_retard") else None)


def _filter_context() -> dict[str, Any]:
    user = current_actor()
    committees = db.session.scalars(C.visible_committees(user)).all()
    regions = [r for r in db.session.scalars(select(Region).order_by(french_order(Region.name), Region.code))
               if permissions.can_read_region(user, r.code)]
    return {"committees": committees, "regions": regions, "args": request.args}


@bp.route("/decisions")
@login_required
def decisions() -> Any:
    """Decisions across meetings (project validations included), filterable and exportable."""
    page, per_page = parse_page_args(request.args)
    result = paginate(db.session, C.decisions_query(current_actor(), _list_filters()), page, per_page)
    return render_template("committees/decisions.html", page=result, kinds=list(DecisionKind),
                           sentence=C.decision_sentence, **_filter_context())


@bp.route("/decisions.csv")
@login_required
def decisions_csv() -> Any:
    """The filtered decisions as CSV (UTF-8 with BOM, ";")."""
    rows = db.session.scalars(C.decisions_query(current_actor(), _list_filters()).limit(20000)).all()
    return Response(C.decisions_csv(rows), mimetype="text/csv", headers={
        "Content-Disposition": 'attachment; filename="decisions.csv"'})


@bp.route("/actions")
@login_required
def actions() -> Any:
    """Actions across meetings, by due date."""
    page, per_page = parse_page_args(request.args)
    result = paginate(db.session, C.actions_query(current_actor(), _list_filters()), page, per_page)
    return render_template("committees/actions.html", page=result, statuses=list(ActionStatus),
                           today=dt.datetime.now(C.PARIS).date(),
                           **_filter_context())


@bp.route("/actions.csv")
@login_required
def actions_csv() -> Any:
    """The filtered actions as CSV (UTF-8 with BOM, ";")."""
    rows = db.session.scalars(C.actions_query(current_actor(), _list_filters()).limit(20000)).all()
    return Response(C.actions_csv(rows), mimetype="text/csv", headers={
        "Content-Disposition": 'attachment; filename="actions.csv"'})


# --------------------------------------------------------------------------- minutes


@bp.route("/reunions/<id:meeting_id>/compte-rendu/rediger", methods=["POST"])
@writer_required
def draft_minutes(meeting_id: int) -> Any:
    """Draft the minutes from the compte-rendu model, pre-filled with the meeting."""
    m = _meeting(meeting_id, write=True)
    _attempt(lambda: C.draft_minutes(db.session, storage(), m, actor=current_actor(), ip=client_ip()),
             lambda doc: f"Projet de compte rendu rédigé (version {doc.current.number if doc.current else 1}) : "
             "téléchargez-le, complétez-le dans Word et déposez la version revue.")
    return _to_meeting_page(m, "compte-rendu")


@bp.route("/reunions/<id:meeting_id>/compte-rendu/deposer", methods=["POST"])
@writer_required
def upload_minutes(meeting_id: int) -> Any:
    """Upload the minutes (a first version or a new one)."""
    m = _meeting(meeting_id, write=True)
    form = UploadForm(prefix="minutes")
    if not form.validate_on_submit():
        flash("Choisissez le fichier du compte rendu.", "error")
        return _to_meeting_page(m, "compte-rendu")

    def upload() -> None:
        with _uploaded(form.file.name) as (path, filename):
            C.upload_minutes(db.session, storage(), m, actor=current_actor(), path=path, filename=filename,
                             ip=client_ip())

    _attempt(upload, "Compte rendu déposé.")
    return _to_meeting_page(m, "compte-rendu")


@bp.route("/reunions/<id:meeting_id>/compte-rendu/soumettre", methods=["POST"])
@writer_required
def submit_minutes(meeting_id: int) -> Any:
    """Submit the draft to the members."""
    m = _meeting(meeting_id, write=True)
    C.submit_minutes(db.session, m, actor=current_actor(), notifier=notifier(), ip=client_ip())
    flash("Compte rendu soumis aux membres.", "success")
    return _to_meeting_page(m, "compte-rendu")


@bp.route("/reunions/<id:meeting_id>/compte-rendu/brouillon", methods=["POST"])
@writer_required
def reopen_minutes(meeting_id: int) -> Any:
    """Take submitted minutes back to draft."""
    m = _meeting(meeting_id, write=True)
    C.reopen_minutes(db.session, m, actor=current_actor(), ip=client_ip())
    flash("Compte rendu repassé en brouillon ; les remarques sont conservées.", "success")
    return _to_meeting_page(m, "compte-rendu")


@bp.route("/reunions/<id:meeting_id>/compte-rendu/approuver", methods=["POST"])
@writer_required
def approve_minutes(meeting_id: int) -> Any:
    """Approve the submitted version."""
    m = _meeting(meeting_id, write=True)
    C.approve_minutes(db.session, m, actor=current_actor(), notifier=notifier(), ip=client_ip())
    flash(f"Compte rendu approuvé (version {m.minutes_approved_version}).", "success")
    return _to_meeting_page(m, "compte-rendu")


@bp.route("/reunions/<id:meeting_id>/compte-rendu/remarques", methods=["POST"])
@login_required
def comment_minutes(meeting_id: int) -> Any:
    """A member's remark on the submitted minutes."""
    m = _meeting(meeting_id)
    if not C.can_comment(current_actor(), m):
        deny("meeting", m.id, region_code=m.region_code, status=403)
    form = CommentForm(prefix="comment")
    if not form.validate_on_submit():
        flash("Écrivez votre remarque (5 000 caractères au plus).", "error")
        return _to_meeting_page(m, "remarques")
    C.comment_minutes(db.session, m, actor=current_actor(), body=form.body.data or "", ip=client_ip())
    flash("Remarque enregistrée.", "success")
    return _to_meeting_page(m, "remarques")


# --------------------------------------------------------------------------- compliance and dashboard


@bp.route("/conformite")
@login_required
def compliance() -> Any:
    """Who has not met this year, minutes still in draft, actions past due."""
    report = C.compliance(db.session, current_actor(), draft_days=DRAFT_DAYS)
    return render_template("committees/compliance.html", report=report)


def _panel(user: Any) -> dict[str, Any]:
    return C.dashboard_counts(db.session, user)


DASHBOARD_PANELS.append(("committees/_panel.html", _panel))


# --------------------------------------------------------------------------- calendar and Atom feeds


@bp.route("/agenda", methods=["GET", "POST"])
@login_required
def calendar_settings() -> Any:
    """The personal calendar feed: create (or replace) and revoke its secret address."""
    user = current_actor()
    new_url = None
    if request.method == "POST":
        # CSRFProtect has already checked the token of this POST.
        if request.form.get("action") == "revoke":
            C.revoke_feed_tokens(db.session, user, ip=client_ip())
            flash("Adresse d'abonnement révoquée : les agendas abonnés ne reçoivent plus rien.", "success")
            return redirect(url_for("committees.calendar_settings"))
        token = C.create_feed_token(db.session, user, ip=client_ip())
        new_url = external_url("committees.calendar_feed", token=token)
        atom_url = external_url("committees.minutes_feed_token", token=token)
        return render_template("committees/calendar.html", token=C.feed_token_info(db.session, user),
                               new_url=new_url, atom_url=atom_url,
                               meetings=C.my_meetings(db.session, user))
    return render_template("committees/calendar.html", token=C.feed_token_info(db.session, user), new_url=None,
                           atom_url=None, meetings=C.my_meetings(db.session, user))


def _feed_user(token: str) -> User:
    user = C.user_for_feed_token(db.session, token)
    if user is None:
        # The path holds the (wrong) secret: it is never written to the log.
        record("calendar.feed_denied", outcome="denied", object_type="calendar",
               details={"feed": "atom" if request.path.endswith(".atom") else "ics"})
        db.session.commit()
        abort(404)
    return user


@bp.route("/agenda/<token>.ics")
def calendar_feed(token: str) -> Any:
    """A user's meetings as an iCalendar feed, opened with the personal token (no session)."""
    user = _feed_user(token)
    data = feed_ics(C.my_meetings(db.session, user), name="Comités – Passeurs d'images",
                    url_for=lambda m: external_url("committees.meeting", meeting_id=m.id))
    return Response(data, mimetype="text/calendar", headers={"Cache-Control": "private, max-age=0",
                                                             "Referrer-Policy": "no-referrer"})


def _atom(user: Any, feed_url: str) -> Response:
    data = minutes_atom(C.approved_minutes(db.session, user), feed_url=feed_url,
                        site_url=external_url("committees.index"),
                        url_for=lambda m: external_url("committees.meeting", meeting_id=m.id))
    return Response(data, mimetype="application/atom+xml", headers={"Cache-Control": "private, max-age=0"})


@bp.route("/flux/comptes-rendus.atom")
@login_required
def minutes_feed() -> Any:
    """Atom feed of newly approved minutes (session)."""
    return _atom(current_actor(), external_url("committees.minutes_feed"))


@bp.route("/flux/<token>/comptes-rendus.atom")
def minutes_feed_token(token: str) -> Any:
    """Atom feed of newly approved minutes, opened with the personal token (no session)."""
    user = _feed_user(token)
    return _atom(user, request.base_url)


# The administrators' mail outbox pages live in intranet/committees/outbox.py.
