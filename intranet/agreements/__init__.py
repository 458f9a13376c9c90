"""Agreements' money: amounts on the document page, a region's years, the national table and its CSV."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("agreements", __name__)

from intranet.agreements import views  # noqa: E402,F401
