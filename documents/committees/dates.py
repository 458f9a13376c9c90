"""Meeting times: stored in UTC, shown and grouped by year in Paris wall-clock time."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from babel.dates import format_date as babel_date
from babel.dates import format_time as babel_time

from documents.calendar import aware
from documents.models import Meeting

PARIS = ZoneInfo("Europe/Paris")


def paris_datetime(day: dt.date, time: dt.time) -> dt.datetime:
    """The UTC instant of a wall-clock time in Paris."""
    return dt.datetime.combine(day, time, tzinfo=PARIS).astimezone(dt.UTC)


def local(value: dt.datetime) -> dt.datetime:
    """A stored instant as Paris wall-clock time."""
    return aware(value).astimezone(PARIS)


def when_fr(meeting: Meeting) -> str:
    """'jeudi 12 mars 2026 à 14:00' in Paris time."""
    start = local(meeting.starts_at)
    text = f"{babel_date(start.date(), 'EEEE d MMMM y', locale='fr_FR')} à {babel_time(start.time(), 'HH:mm', locale='fr_FR')}"
    if meeting.ends_at:
        text += f" – {babel_time(local(meeting.ends_at).time(), 'HH:mm', locale='fr_FR')}"
    return text


def year_bounds(year: int) -> tuple[dt.datetime, dt.datetime]:
    """The UTC instants of 1 January of ``year`` and of the next year, in Paris."""
    return paris_datetime(dt.date(year, 1, 1), dt.time()), paris_datetime(dt.date(year + 1, 1, 1), dt.time())
