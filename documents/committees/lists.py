"""The cross-meeting lists of decisions and actions, scoped to what the user may see."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select

from documents import permissions
from documents.committees.dates import year_bounds
from documents.committees.scope import scoped
from documents.models import ActionItem, ActionStatus, Decision, Meeting, User
from documents.regions import covered_codes


@dataclass
class ListFilters:
    """Filters of the cross-meeting lists of decisions and actions."""

    committee_id: int | None = None
    region_code: str | None = None
    year: int | None = None
    kind: str | None = None
    status: str | None = None
    overdue_on: dt.date | None = None


def _filter_meetings(stmt: Select[Any], filters: ListFilters) -> Select[Any]:
    if filters.committee_id is not None:
        stmt = stmt.where(Meeting.committee_id == filters.committee_id)
    if filters.region_code:
        if filters.region_code == permissions.NATIONAL:
            stmt = stmt.where(Meeting.region_code.is_(None))
        else:
            stmt = stmt.where(Meeting.region_code.in_(sorted(covered_codes(filters.region_code))))
    if filters.year is not None:
        start, end = year_bounds(filters.year)
        stmt = stmt.where(Meeting.starts_at >= start, Meeting.starts_at < end)
    return stmt


def decisions_query(user: User | None, filters: ListFilters | None = None) -> Select[Decision]:
    """Decisions across the meetings ``user`` may see, newest meeting first."""
    filters = filters or ListFilters()
    stmt = scoped(select(Decision).join(Meeting, Decision.meeting_id == Meeting.id), Meeting.region_code, user)
    stmt = _filter_meetings(stmt, filters)
    if filters.kind:
        stmt = stmt.where(Decision.kind == filters.kind)
    return stmt.order_by(Meeting.starts_at.desc(), Decision.position)


def actions_query(user: User | None, filters: ListFilters | None = None) -> Select[ActionItem]:
    """Actions across the meetings ``user`` may see, by due date."""
    filters = filters or ListFilters()
    stmt = scoped(select(ActionItem).join(Meeting, ActionItem.meeting_id == Meeting.id), Meeting.region_code, user)
    stmt = _filter_meetings(stmt, filters)
    if filters.status:
        stmt = stmt.where(ActionItem.status == filters.status)
    if filters.overdue_on is not None:
        stmt = stmt.where(ActionItem.due_date < filters.overdue_on,
                          ActionItem.status.in_([ActionStatus.A_FAIRE.value, ActionStatus.EN_COURS.value]))
    return stmt.order_by(ActionItem.due_date.is_(None), ActionItem.due_date, ActionItem.id)
