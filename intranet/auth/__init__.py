"""Login, logout, password change and personal API tokens."""

from __future__ import annotations

from flask import Blueprint, Request, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import LoginManager, current_user

from documents import accounts
from documents.models import User
from intranet.extensions import db

bp = Blueprint("auth", __name__)


def init_login(manager: LoginManager) -> None:
    """Load users from the server-side session, or from an API token."""
    manager.login_view = "auth.login"
    manager.login_message = "Connectez-vous pour accéder à cette page."
    manager.login_message_category = "info"
    # Our own session table does the binding; Flask-Login's "strong" mode silently
    # falls back to basic for permanent sessions anyway.
    manager.session_protection = "basic"

    @manager.user_loader
    def load_user(user_id: str) -> User | None:
        user = accounts.load_session_user(db.session, session.get("sid"))
        if user is None or str(user.id) != user_id:
            return None
        return user

    @manager.request_loader
    def load_from_token(req: Request) -> User | None:
        header = req.headers.get("Authorization", "")
        if not req.path.startswith("/api/") or not header.startswith("Bearer "):
            return None
        user = accounts.authenticate_token(db.session, header[7:].strip())
        if user is not None:
            request.environ["intranet.token_auth"] = True
            db.session.commit()
        return user


#: Endpoints an account holding a one-time password may still reach.
_BEFORE_NEW_PASSWORD = {"auth.password", "auth.logout", "static", "main.health"}


@bp.before_app_request
def require_new_password() -> ResponseReturnValue | None:
    """Send an account with a one-time password to the password form before anything else."""
    # API calls are left alone: scripts authenticate with personal tokens, not with a browser login.
    if request.endpoint in _BEFORE_NEW_PASSWORD or request.path.startswith("/api/"):
        return None
    if getattr(current_user, "is_authenticated", False) and current_user.must_change_password:
        return redirect(url_for("auth.password"))
    return None


from intranet.auth import deadline_views, views  # noqa: E402,F401
