"""The cross-meeting lists of decisions and actions, filtered, and their CSV exports."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Response, render_template, request
from sqlalchemy import select

from documents import permissions
from documents.committees import dates, exports, lists, scope
from documents.committees.decisions import decision_sentence
from documents.frenchtext import french_order
from documents.models import ActionStatus, DecisionKind, Region
from intranet.committees.blueprint import bp
from intranet.committees.helpers import int_arg, login_required, year_arg
from intranet.extensions import db
from intranet.pagination import paginate, parse_page_args
from intranet.web import current_actor


def _list_filters() -> lists.ListFilters:
    region = (request.args.get("region") or "").strip() or None
    return lists.ListFilters(committee_id=int_arg("comite"), region_code=region, year=year_arg(),
                             kind=(request.args.get("type") or "").strip() or None,
                             status=(request.args.get("statut") or "").strip() or None,
                             overdue_on=dt.datetime.now(dates.PARIS).date() if request.args.get("en_retard") else None)


def _filter_context() -> dict[str, Any]:
    user = current_actor()
    committees = db.session.scalars(scope.visible_committees(user)).all()
    regions = [r for r in db.session.scalars(select(Region).order_by(french_order(Region.name), Region.code))
               if permissions.can_read_region(user, r.code)]
    return {"committees": committees, "regions": regions, "args": request.args}


@bp.route("/decisions")
@login_required
def decisions() -> Any:
    """Decisions across meetings (project validations included), filterable and exportable."""
    page, per_page = parse_page_args(request.args)
    result = paginate(db.session, lists.decisions_query(current_actor(), _list_filters()), page, per_page)
    return render_template("committees/decisions.html", page=result, kinds=list(DecisionKind),
                           sentence=decision_sentence, **_filter_context())


@bp.route("/decisions.csv")
@login_required
def decisions_csv() -> Any:
    """The filtered decisions as CSV (UTF-8 with BOM, ";")."""
    rows = db.session.scalars(lists.decisions_query(current_actor(), _list_filters()).limit(20000)).all()
    return Response(exports.decisions_csv(rows), mimetype="text/csv", headers={
        "Content-Disposition": 'attachment; filename="decisions.csv"'})


@bp.route("/actions")
@login_required
def actions() -> Any:
    """Actions across meetings, by due date."""
    page, per_page = parse_page_args(request.args)
    result = paginate(db.session, lists.actions_query(current_actor(), _list_filters()), page, per_page)
    return render_template("committees/actions.html", page=result, statuses=list(ActionStatus),
                           today=dt.datetime.now(dates.PARIS).date(),
                           **_filter_context())


@bp.route("/actions.csv")
@login_required
def actions_csv() -> Any:
    """The filtered actions as CSV (UTF-8 with BOM, ";")."""
    rows = db.session.scalars(lists.actions_query(current_actor(), _list_filters()).limit(20000)).all()
    return Response(exports.actions_csv(rows), mimetype="text/csv", headers={
        "Content-Disposition": 'attachment; filename="actions.csv"'})
