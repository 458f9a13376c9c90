"""« En signature »: the list of what waits for a signature, and the track's forms on the document page."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("signatures", __name__)

from intranet.signatures import views  # noqa: E402,F401
