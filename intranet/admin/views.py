"""Views of the admin blueprint."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from documents import accounts
from documents.errors import ValidationError
from documents.models import AuditEvent, User
from documents.regions import current_regions
from intranet.admin import bp
from intranet.admin.forms import UserCreateForm, UserEditForm
from intranet.auth.forms import EmptyForm
from intranet.extensions import db
from intranet.forms import choices, show_errors
from intranet.pagination import paginate, parse_page_args
from intranet.web import admin_required, current_actor


def _region_choices() -> list:
    # Accounts belong to today's regions; each sees its predecessors' records.
    regions = current_regions(db.session)
    return choices([("", "— Aucune (national) —")] + [(r.code, f"{r.name} ({r.code})") for r in regions])


@bp.route("/")
@admin_required
def index() -> Any:
    """Admin home."""
    return redirect(url_for("admin.users"))


@bp.route("/utilisateurs")
@admin_required
def users() -> Any:
    """List accounts."""
    page, per_page = parse_page_args(request.args)
    result = paginate(db.session, select(User).order_by(User.email), page, per_page)
    return render_template("admin/users.html", page=result)


@bp.route("/utilisateurs/nouveau", methods=["GET", "POST"])
@admin_required
def create_user() -> Any:
    """Create an account with a one-time password."""
    form = UserCreateForm()
    form.region.choices = _region_choices()
    status = 200
    if form.validate_on_submit():
        password = accounts.generate_password()
        try:
            user = accounts.create_user(
                db.session, email=form.email.data or "", role=form.role.data or "",
                region_code=form.region.data or None, name=form.name.data or "",
                password=password, must_change_password=True, actor=current_actor(),
            )
        except ValidationError as exc:
            db.session.rollback()
            form.region.choices = _region_choices()
            # The account form has no password field: a password problem shows under the e-mail.
            show_errors(form, exc, "email", {"password": "email"})
            status = 422
        else:
            db.session.commit()
            return render_template("admin/user_created.html", user=user, password=password)
    elif request.method == "POST":
        status = 422
    return render_template("admin/user_form.html", form=form, user=None), status


@bp.route("/utilisateurs/<id:user_id>", methods=["GET", "POST"])
@admin_required
def edit_user(user_id: int) -> Any:
    """Edit role, region, name, active flag."""
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    form = UserEditForm(obj=user if request.method == "GET" else None)
    form.region.choices = _region_choices()
    if request.method == "GET":
        form.region.data = user.region_code or ""
    status = 200
    if form.validate_on_submit():
        try:
            accounts.update_user(db.session, user, role=form.role.data or "",
                                 region_code=form.region.data or None, name=form.name.data or "",
                                 active=bool(form.active.data), actor=current_actor())
        except ValidationError as exc:
            db.session.rollback()
            for field, message in exc.errors.items():
                getattr(form, field if field in ("role", "region") else "role").errors = [message]
            status = 422
        else:
            db.session.commit()
            flash("Compte enregistré.", "success")
            return redirect(url_for("admin.users"))
    elif request.method == "POST":
        status = 422
    return render_template("admin/user_form.html", form=form, user=user,
                           reset_form=EmptyForm()), status


@bp.route("/utilisateurs/<id:user_id>/reinitialiser", methods=["POST"])
@admin_required
def reset_password(user_id: int) -> Any:
    """Give the user a new one-time password; their sessions end."""
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    if EmptyForm().validate_on_submit():
        password = accounts.generate_password()
        accounts.set_password(db.session, user, password, actor=current_actor(), must_change=True)
        db.session.commit()
        return render_template("admin/user_created.html", user=user, password=password, reset=True)
    return redirect(url_for("admin.edit_user", user_id=user_id))


@bp.route("/journal")
@admin_required
def audit_log() -> Any:
    """Browse the audit log, newest first, with filters."""
    stmt = select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    action = (request.args.get("action") or "").strip()[:60]
    actor = (request.args.get("actor") or "").strip()[:254]
    outcome = (request.args.get("outcome") or "").strip()[:20]
    if action:
        stmt = stmt.where(AuditEvent.action.startswith(action, autoescape=True))
    if actor:
        stmt = stmt.where(AuditEvent.actor_email.contains(actor.lower(), autoescape=True))
    if outcome:
        stmt = stmt.where(AuditEvent.outcome == outcome)
    page, per_page = parse_page_args(request.args, default_per_page=100)
    return render_template("admin/audit.html", page=paginate(db.session, stmt, page, per_page),
                           args=request.args)
