"""Drafting from Word templates."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("drafting", __name__)

from intranet.drafting import views  # noqa: E402,F401
