"""Home dashboard."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, current_app, render_template
from flask_login import current_user, login_required
from sqlalchemy import select

from intranet.extensions import db

bp = Blueprint("main", __name__)

#: Panels that features add to the home page: (template, context function).
DASHBOARD_PANELS: list[tuple[str, Any]] = []


@bp.route("/")
@login_required
def index() -> Any:
    """« Mon tableau de bord »: what waits for me (documents.dashboard), recent documents, features' panels."""
    from documents import dashboard
    from intranet.web import PARIS, current_actor

    user = current_actor()
    today = dt.datetime.now(tz=PARIS).date()
    sections = dashboard.what_waits(db.session, user, today)
    recent = dashboard.recent_documents(db.session, user)
    panels = [(template, fn(current_user)) for template, fn in DASHBOARD_PANELS]
    return render_template("main/index.html", sections=sections, recent=recent, panels=panels, today=today)


@bp.route("/accessibilite")
def accessibility() -> Any:
    """The « Déclaration d'accessibilité » (RGAA 4.1), public: it must be reachable before logging in."""
    from intranet.main.accessibility import AUDIT

    return render_template("main/accessibility.html", audit=AUDIT,
                           contact=current_app.config.get("ACCESSIBILITY_CONTACT") or "")


@bp.route("/sante")
def health() -> Any:
    """Health probe without a session: 200 while the database answers, with the background work's state.

    ``status`` is « degraded » when the indexer does not run, index changes failed or the disk is
    nearly full; the answer stays 200 so that a load balancer keeps a web worker that serves fine.
    """
    from intranet.status import current_status

    db.session.execute(select(1))
    return current_status(db.session).as_json()


from intranet.main import components  # noqa: E402,F401  (the « Composants » page registers its route)
