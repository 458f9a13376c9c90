"""Archive: documents, versions, links, trash, échéances."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("library", __name__)

from intranet.library import deadline_views, locks, views  # noqa: E402,F401
from intranet.library import deadline_feed_views, ocr_views  # noqa: E402,F401
from intranet.library import files, trash_views  # noqa: E402,F401
from intranet.library import thumbnails  # noqa: E402,F401
