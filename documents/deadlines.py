"""Date arithmetic of conventions and contrats: end, tacit renewal and notice deadlines."""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved by ``months`` calendar months, clamped to the month's last day.

    31 January + 1 month is 28 (or 29) February; 29 February 2024 + 12 months is
    28 February 2025.
    """
    month_index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(month_index, 12)
    month += 1
    last = calendar.monthrange(year, month)[1]
    return dt.date(year, month, min(day.day, last))


def end_date(effective: dt.date | None, duration_months: int | None, explicit_end: dt.date | None) -> dt.date | None:
    """The échéance: the explicit end if given, else the day before ``effective + duration``.

    A 12-month convention taking effect on 1 January 2026 ends on 31 December 2026.
    """
    if explicit_end is not None:
        return explicit_end
    if effective is None or not duration_months:
        return None
    return add_months(effective, duration_months) - dt.timedelta(days=1)


def notice_deadline(end: dt.date | None, notice_months: int | None) -> dt.date | None:
    """Last day to give notice before ``end``: ``notice_months`` earlier, clamped to month end."""
    if end is None or not notice_months:
        return None
    return add_months(end, -notice_months)


def renewal_date(end: dt.date | None, tacit_renewal: bool) -> dt.date | None:
    """Day a tacitly renewed agreement starts its next term (the day after its end)."""
    if end is None or not tacit_renewal:
        return None
    return end + dt.timedelta(days=1)


@dataclass(frozen=True)
class Deadline:
    """One upcoming date of a document."""

    document_id: int
    kind: str  # "echeance", "reconduction", "preavis"
    date: dt.date

    @property
    def label(self) -> str:
        """French label of the kind of date."""
        return {
            "echeance": "Échéance",
            "reconduction": "Tacite reconduction",
            "preavis": "Date limite de préavis",
        }[self.kind]


def deadlines_of(document_id: int, *, effective: dt.date | None, duration_months: int | None,
                 explicit_end: dt.date | None, tacit_renewal: bool, notice_months: int | None) -> list[Deadline]:
    """Every dated milestone of one agreement."""
    end = end_date(effective, duration_months, explicit_end)
    out: list[Deadline] = []
    if end is not None:
        out.append(Deadline(document_id, "echeance", end))
    renewal = renewal_date(end, tacit_renewal)
    if renewal is not None:
        out.append(Deadline(document_id, "reconduction", renewal))
    notice = notice_deadline(end, notice_months)
    if notice is not None:
        out.append(Deadline(document_id, "preavis", notice))
    return out


def within(deadlines: list[Deadline], today: dt.date, days: int) -> list[Deadline]:
    """Deadlines from ``today`` (included) to ``today + days`` (included), soonest first."""
    horizon = today + dt.timedelta(days=days)
    return sorted((d for d in deadlines if today <= d.date <= horizon), key=lambda d: (d.date, d.document_id))
