"""Administration: users and the audit log."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("admin", __name__)

from intranet.admin import views  # noqa: E402,F401
