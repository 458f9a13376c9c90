"""Full-text search."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("search", __name__)

from intranet.search import views  # noqa: E402,F401
