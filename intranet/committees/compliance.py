"""The protocol's checks page and the committees' panel on the home page."""

from __future__ import annotations

from typing import Any

from flask import render_template

from documents.committees import compliance as protocol
from documents.committees import dashboard
from intranet.committees.blueprint import bp
from intranet.committees.helpers import login_required
from intranet.extensions import db
from intranet.main import DASHBOARD_PANELS
from intranet.web import current_actor


@bp.route("/conformite")
@login_required
def compliance() -> Any:
    """Who has not met this year, minutes still in draft, actions past due."""
    report = protocol.compliance(db.session, current_actor())
    return render_template("committees/compliance.html", report=report)


def _panel(user: Any) -> dict[str, Any]:
    return dashboard.dashboard_counts(db.session, user)


DASHBOARD_PANELS.append(("committees/_panel.html", _panel))
