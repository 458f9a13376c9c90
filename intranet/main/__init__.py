"""Home dashboard."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template
from flask_login import current_user, login_required
from sqlalchemy import func, select

from documents.models import Organisation, Quartier, Region
from intranet.extensions import db

bp = Blueprint("main", __name__)

#: Panels that features add to the home page: (template, context function).
DASHBOARD_PANELS: list[tuple[str, Any]] = []


@bp.route("/")
@login_required
def index() -> Any:
    """The home dashboard; each feature contributes a panel."""
    counts = {
        "regions": db.session.scalar(select(func.count()).select_from(Region)) or 0,
        "organisations": db.session.scalar(select(func.count()).select_from(Organisation)) or 0,
        "quartiers": db.session.scalar(select(func.count()).select_from(Quartier)) or 0,
    }
    panels = [(template, fn(current_user)) for template, fn in DASHBOARD_PANELS]
    return render_template("main/index.html", counts=counts, panels=panels)


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
