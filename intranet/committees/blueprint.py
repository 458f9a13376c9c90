"""The committees blueprint: every view module of the feature adds its routes to it."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("committees", __name__)
