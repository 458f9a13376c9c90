"""Views of the auth blueprint."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from documents import accounts
from documents.errors import ValidationError
from documents.models import ApiToken
from intranet.auth import bp
from intranet.auth.forms import EmptyForm, LoginForm, PasswordForm, TokenForm
from intranet.extensions import db
from intranet.web import client_ip


def _safe_next(target: str | None) -> str:
    # Only local paths: an open redirect would help phishing.
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return url_for("main.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return url_for("main.index")
    return target


@bp.route("/connexion", methods=["GET", "POST"])
def login() -> Any:
    """Log in with e-mail and password."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = accounts.authenticate(db.session, form.email.data or "", form.password.data or "",
                                         ip=client_ip())
        except accounts.Throttled as exc:
            form.email.errors = [exc.message]
            status = 429
            # A refusal is still recorded (audit, throttle count): commit before the 4xx answer.
            db.session.commit()
        except accounts.AuthError as exc:
            form.password.errors = [exc.message]
            status = 401
            db.session.commit()
        else:
            # A fresh session at login: nothing from before survives (session fixation).
            session.clear()
            sid = accounts.open_session(db.session, user, ip=client_ip(),
                                        user_agent=request.headers.get("User-Agent", ""))
            db.session.commit()
            session["sid"] = sid
            login_user(user, remember=False)
            if user.must_change_password:
                flash("Choisissez un nouveau mot de passe personnel.", "info")
                return redirect(url_for("auth.password"))
            return redirect(_safe_next(request.args.get("next")))
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.route("/deconnexion", methods=["POST"])
def logout() -> Any:
    """End the session on the server, then in the browser."""
    form = EmptyForm()
    if form.validate_on_submit():
        # Load the user before revoking: afterwards the session no longer resolves to anyone.
        was_logged_in = current_user.is_authenticated
        accounts.revoke_session(db.session, session.get("sid"))
        if was_logged_in:
            from intranet.web import record

            record("logout")
        db.session.commit()
        logout_user()
        session.clear()
        flash("Vous êtes déconnecté.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/profil/mot-de-passe", methods=["GET", "POST"])
@login_required
def password() -> Any:
    """Change one's password; every other session of the account ends."""
    form = PasswordForm()
    status = 200
    if form.validate_on_submit():
        if not accounts.verify_password(current_user.password_hash, form.current.data or ""):
            form.current.errors = ["Le mot de passe actuel est incorrect."]
            status = 422
        else:
            try:
                accounts.set_password(db.session, current_user, form.new.data or "")
            except ValidationError as exc:
                form.new.errors = [exc.errors.get("password", exc.message)]
                status = 422
            else:
                sid = accounts.open_session(db.session, current_user, ip=client_ip(),
                                            user_agent=request.headers.get("User-Agent", ""))
                db.session.commit()
                session["sid"] = sid
                flash("Votre mot de passe a été changé. Vos autres sessions sont fermées.", "success")
                return redirect(url_for("auth.profile"))
    elif request.method == "POST":
        status = 422
    return render_template("auth/password.html", form=form), status


@bp.route("/profil", methods=["GET", "POST"])
@login_required
def profile() -> Any:
    """The user's profile and API tokens."""
    form = TokenForm()
    new_token = None
    if form.validate_on_submit():
        _token, new_token = accounts.create_token(db.session, current_user, form.name.data or "")
        db.session.commit()
    return render_profile(form=form, new_token=new_token)


def render_profile(*, form: TokenForm | None = None, new_token: str | None = None,
                   new_feed_url: str | None = None) -> Any:
    """The profile page: API tokens, deadline alerts and the deadlines feed (a new secret shown once)."""
    from intranet.auth.deadline_views import profile_context

    tokens = db.session.scalars(
        select(ApiToken).where(ApiToken.user_id == current_user.id).order_by(ApiToken.created_at.desc())
    ).all()
    return render_template("auth/profile.html", form=form or TokenForm(formdata=None), tokens=tokens,
                           new_token=new_token, revoke_form=EmptyForm(),
                           **profile_context(current_user, new_feed_url=new_feed_url))


@bp.route("/profil/jetons/<id:token_id>/revoquer", methods=["POST"])
@login_required
def revoke_token(token_id: int) -> Any:
    """Revoke one of the user's tokens."""
    form = EmptyForm()
    if form.validate_on_submit():
        accounts.revoke_token(db.session, current_user, token_id)
        db.session.commit()
        flash("Le jeton est révoqué.", "success")
    return redirect(url_for("auth.profile"))
