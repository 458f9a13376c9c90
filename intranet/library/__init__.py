"""Archive: documents, versions, links, trash, échéances."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("library", __name__)

from intranet.library import (  # noqa: E402,F401 - the view modules register their routes on bp
    deadline_feed_views,
    deadline_views,
    files,
    locks,
    ocr_views,
    thumbnails,
    trash_views,
    views,
)
