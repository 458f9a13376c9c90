"""Login, logout, password change and personal API tokens."""

from __future__ import annotations

from flask import Blueprint, request, session
from flask_login import LoginManager

from documents import accounts
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
    def load_user(user_id: str):  # type: ignore[no-untyped-def]
        user = accounts.load_session_user(db.session, session.get("sid"))
        if user is None or str(user.id) != user_id:
            return None
        return user

    @manager.request_loader
    def load_from_token(req):  # type: ignore[no-untyped-def]
        header = req.headers.get("Authorization", "")
        if not req.path.startswith("/api/") or not header.startswith("Bearer "):
            return None
        user = accounts.authenticate_token(db.session, header[7:].strip())
        if user is not None:
            request.environ["intranet.token_auth"] = True
            db.session.commit()
        return user


from intranet.auth import views  # noqa: E402,F401
