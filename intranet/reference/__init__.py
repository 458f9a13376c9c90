"""Référentiel: regions, organisations and quartiers of annex 2."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("reference", __name__)

from intranet.reference import views  # noqa: E402,F401
