"""Administration: users, the audit log and the system status."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("admin", __name__)

from intranet.admin import system, views  # noqa: E402,F401 - the view modules register their routes on bp
