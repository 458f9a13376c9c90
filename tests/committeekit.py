"""Helpers of the committee tests: a meeting scheduled in one call, sample files, counts, audit rows."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from documents.committees.dates import paris_datetime
from documents.committees.meetings import MeetingInput, schedule_meeting
from documents.committees.notifications import Notifier
from documents.models import AuditEvent, Meeting
from samplefiles import make_docx
from testkit import committee, user


def at(day: dt.date, hour: int = 14) -> dt.datetime:
    return paris_datetime(day, dt.time(hour))


def schedule(session: Any, slug: str = "regional-11", who: str = "idf", *, day: dt.date = dt.date(2026, 3, 12),
             notifier: Notifier | None = None, agenda: list[str] | None = None) -> Meeting:
    com = committee(session, slug)
    return schedule_meeting(session, com, actor=user(session, who), notifier=notifier, data=MeetingInput(
        starts_at=at(day), ends_at=at(day, 16), title="Comité de printemps", place="DRAC, 47 rue Le Peletier, Paris",
        agenda=agenda if agenda is not None else ["Bilan de l'année", "Validation des projets"]))


def docx_file(path: Path, paragraphs: list[str]) -> Path:
    path.write_bytes(make_docx(paragraphs))
    return path


def count(session: Any, model: Any) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def audits(session: Any, action: str) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))
