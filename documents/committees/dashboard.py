"""Figures of the committees' panel on the home page."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from documents.committees.compliance import compliance
from documents.committees.dates import PARIS, paris_datetime
from documents.committees.scope import visible_meetings
from documents.models import Meeting, MeetingStatus, MinutesStatus, User


def dashboard_counts(session: Session, user: User | None, *, today: dt.date | None = None) -> dict[str, Any]:
    """Figures for the home panel: upcoming meetings and the compliance problems."""
    today = today or dt.datetime.now(PARIS).date()
    report = compliance(session, user, today=today)
    upcoming = session.scalars(visible_meetings(user).where(
        Meeting.starts_at >= paris_datetime(today, dt.time()), Meeting.status != MeetingStatus.ANNULEE.value,
    ).order_by(Meeting.starts_at).limit(5)).all()
    to_review = session.scalar(select(func.count()).select_from(visible_meetings(user).where(
        Meeting.minutes_status == MinutesStatus.SOUMIS.value).subquery())) or 0
    return {"upcoming": list(upcoming), "not_met": len(report.not_met), "minutes_late": len(report.minutes_late),
            "actions_overdue": len(report.actions_overdue), "to_review": to_review, "year": report.year}
