"""What the protocol asks and is not done: committees that have not met, late minutes, overdue actions."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from documents.committees.dates import PARIS, paris_datetime, year_bounds
from documents.committees.limits import DEFAULT_DRAFT_DAYS
from documents.committees.lists import ListFilters, actions_query
from documents.committees.scope import visible_committees, visible_meetings
from documents.models import (
    ActionItem,
    Committee,
    Meeting,
    MeetingStatus,
    MinutesStatus,
    User,
)


@dataclass
class ComplianceReport:
    """What the protocol asks and is not done yet, within what a user may see."""

    year: int
    today: dt.date
    draft_days: int
    #: (committee, next planned meeting this year or None) for committees that have not met this year.
    not_met: list[tuple[Committee, Meeting | None]]
    minutes_late: list[Meeting]
    actions_overdue: list[ActionItem]

    @property
    def total(self) -> int:
        """Number of problems listed."""
        return len(self.not_met) + len(self.minutes_late) + len(self.actions_overdue)


def compliance(session: Session, user: User | None, *, today: dt.date | None = None,
               draft_days: int = DEFAULT_DRAFT_DAYS) -> ComplianceReport:
    """Committees that have not met this year, minutes still in draft N days on, actions past due."""
    today = today or dt.datetime.now(PARIS).date()
    year_start, year_end = year_bounds(today.year)
    tomorrow = paris_datetime(today + dt.timedelta(days=1), dt.time())
    not_cancelled = Meeting.status != MeetingStatus.ANNULEE.value
    met = select(Meeting.committee_id).where(not_cancelled, Meeting.starts_at >= year_start,
                                             Meeting.starts_at < tomorrow)
    committees = session.scalars(visible_committees(user).where(Committee.id.not_in(met))).all()
    planned: dict[int, Meeting] = {}
    if committees:
        for meeting in session.scalars(select(Meeting).where(
                not_cancelled, Meeting.committee_id.in_([c.id for c in committees]),
                Meeting.starts_at >= tomorrow, Meeting.starts_at < year_end).order_by(Meeting.starts_at)):
            planned.setdefault(meeting.committee_id, meeting)
    limit = paris_datetime(today - dt.timedelta(days=draft_days), dt.time())
    late = session.scalars(visible_meetings(user).where(
        not_cancelled, Meeting.starts_at < limit,
        Meeting.minutes_status.in_([MinutesStatus.AUCUN.value, MinutesStatus.BROUILLON.value]),
    ).order_by(Meeting.starts_at)).all()
    overdue = session.scalars(actions_query(user, ListFilters(overdue_on=today))).all()
    return ComplianceReport(year=today.year, today=today, draft_days=draft_days,
                            not_met=[(c, planned.get(c.id)) for c in committees],
                            minutes_late=list(late), actions_overdue=list(overdue))
