"""Committees, meetings and minutes."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("committees", __name__)

from intranet.committees import outbox, views  # noqa: E402,F401
