"""Administration: users, the audit log and the system status."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("admin", __name__)

from intranet.admin import views  # noqa: E402,F401
from intranet.admin import system  # noqa: E402,F401
