"""« État du système »: the same figures as ``/sante``, for administrators, in French."""

from __future__ import annotations

from typing import Any

from flask import render_template

from documents import health
from intranet.admin import bp
from intranet.background import WORKERS
from intranet.extensions import db
from intranet.status import current_status
from intranet.web import admin_required


@bp.route("/systeme")
@admin_required
def system_status() -> Any:
    """The background work (indexer, outbox, mail) and the free disk, read now."""
    status = current_status(db.session)
    return render_template("admin/system.html", status=status, workers=WORKERS,
                           beats={w.name: w for w in status.workers},
                           duration=health.format_duration, size=health.format_bytes)
