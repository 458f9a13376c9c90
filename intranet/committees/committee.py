"""Pages of the committees themselves: the list, a committee, creating and editing one, its members."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from wtforms import SelectChoice

from documents import permissions
from documents.committees import dates, members, scope
from documents.committees.committee import create_committee, update_committee
from documents.errors import ValidationError
from documents.models import (
    Committee,
    CommitteeMember,
    Meeting,
    MemberRole,
    Region,
    User,
)
from documents.regions import current_regions
from intranet.committees.blueprint import bp
from intranet.committees.forms import (
    CommitteeEditForm,
    CommitteeForm,
    MemberForm,
    MemberRoleForm,
)
from intranet.committees.helpers import (
    attempt,
    form_errors,
    load_committee,
    login_required,
)
from intranet.extensions import db
from intranet.forms import choices, show_errors
from intranet.web import client_ip, current_actor, deny, writer_required


def _region_choices(user: Any) -> list[SelectChoice]:
    # New committees sit in today's regions; the 2009 ones keep only their closed committees.
    regions = current_regions(db.session)
    return choices([("", "— Choisir —")] + [(r.code, r.name) for r in regions
                                            if permissions.can_write_region(user, r.code)])


@bp.route("/")
@login_required
def index() -> Any:
    """Committees the user may see, with upcoming and recent meetings."""
    user = current_actor()
    committees = db.session.scalars(scope.visible_committees(user)).all()
    now = dates.paris_datetime(dt.datetime.now(dates.PARIS).date(), dt.time())
    upcoming = db.session.scalars(scope.visible_meetings(user).where(Meeting.starts_at >= now)
                                  .order_by(Meeting.starts_at).limit(20)).all()
    recent = db.session.scalars(scope.visible_meetings(user).where(Meeting.starts_at < now)
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
            committee = create_committee(db.session, actor=user, name=form.name.data or "",
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
    com = load_committee(committee_id)
    meetings = db.session.scalars(select(Meeting).where(Meeting.committee_id == com.id)
                                  .order_by(Meeting.starts_at.desc())).all()
    manage = scope.can_manage(current_actor(), com)
    return render_template("committees/committee.html", committee=com, meetings=meetings, manage=manage,
                           member_form=_member_form(com) if manage else None, roles=list(MemberRole))


@bp.route("/<id:committee_id>/modifier", methods=["GET", "POST"])
@writer_required
def edit_committee(committee_id: int) -> Any:
    """Change a committee's name, description and active flag."""
    com = load_committee(committee_id, write=True)
    form = CommitteeEditForm()
    if request.method == "GET":
        form.name.data, form.description.data, form.active.data = com.name, com.description, com.active
    status = 200
    if form.validate_on_submit():
        try:
            update_committee(db.session, com, actor=current_actor(), name=form.name.data or "",
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
    com = load_committee(committee_id, write=True)
    form = _member_form(com)
    if form.validate_on_submit():
        attempt(lambda: members.add_member(db.session, com, actor=current_actor(), role=form.role.data,
                                      user_id=int(form.user_id.data) if form.user_id.data else None,
                                      name=form.name.data or "", organisation=form.organisation.data or "",
                                      email=form.email.data or "", ip=client_ip()),
                "Membre ajouté.", ValidationError)
    else:
        flash("Le membre n'a pas été ajouté : " + form_errors(form), "error")
    return redirect(url_for("committees.committee", committee_id=com.id) + "#membres")


@bp.route("/<id:committee_id>/membres/<id:member_id>/retirer", methods=["POST"])
@writer_required
def remove_member(committee_id: int, member_id: int) -> Any:
    """Remove a member."""
    com = load_committee(committee_id, write=True)
    member = db.session.get(CommitteeMember, member_id)
    if member is None or member.committee_id != com.id:
        abort(404)
    members.remove_member(db.session, member, actor=current_actor(), ip=client_ip())
    flash("Membre retiré.", "success")
    return redirect(url_for("committees.committee", committee_id=com.id) + "#membres")


@bp.route("/<id:committee_id>/membres/<id:member_id>/role", methods=["POST"])
@writer_required
def member_role(committee_id: int, member_id: int) -> Any:
    """Make a member président, membre or invité."""
    com = load_committee(committee_id, write=True)
    member = db.session.get(CommitteeMember, member_id)
    if member is None or member.committee_id != com.id:
        deny("committee_member", member_id, region_code=com.region_code)
    assert member is not None
    # One small form per table row: the app-wide CSRFProtect has checked the token already.
    form = MemberRoleForm(meta={"csrf": False})
    if form.validate_on_submit():
        members.set_member_role(db.session, member, actor=current_actor(), role=form.role.data, ip=client_ip())
        flash(f"{member.display_name} est maintenant « {member.role_label} ».", "success")
    else:
        flash("Choisissez un rôle : président, membre ou invité.", "error")
    return redirect(url_for("committees.committee", committee_id=com.id) + "#membres")
