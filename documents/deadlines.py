"""Date arithmetic of conventions and contrats: end, tacit renewal and notice deadlines."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

#: Length of a renewed term when the agreement gives no duration (the usual yearly reconduction).
DEFAULT_RENEWAL_MONTHS = 12


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


def term_ends(effective: dt.date | None, duration_months: int | None, explicit_end: dt.date | None, *,
              tacit_renewal: bool, today: dt.date | None = None) -> Iterator[tuple[int, dt.date]]:
    """(renewal number, end) of each term in order: 0 for the first, then every tacitly renewed term.

    A renewed term lasts ``duration_months``, or 12 months when no duration is known. Ends
    are counted from one anchor, not from the previous end, so that month ends do not drift:
    a term ending 28 February 2025 renews into terms ending 28 February 2026 and 29 February
    2028. With ``today``, the terms whose renewal day (end + 1) is already past are skipped.
    """
    first = end_date(effective, duration_months, explicit_end)
    if first is None:
        return
    if today is None or first >= today - dt.timedelta(days=1) or not tacit_renewal:
        yield 0, first
    if not tacit_renewal:
        return
    step = duration_months or DEFAULT_RENEWAL_MONTHS
    if explicit_end is None and effective is not None and duration_months:
        anchor, base = effective, duration_months  # the k-th end is that of a (k+1)-term agreement
    else:
        anchor, base = first + dt.timedelta(days=1), 0
    k = 1
    if today is not None:
        # Jump close to today (a monthly contract from 2009 would otherwise loop 200 times), then step.
        elapsed = (today.year - anchor.year) * 12 + today.month - anchor.month - base
        k = max(1, elapsed // step - 1)
    while True:
        months = base + k * step
        if anchor.year * 12 + anchor.month + months >= dt.MAXYEAR * 12:
            return
        end = add_months(anchor, months) - dt.timedelta(days=1)
        if today is None or end >= today - dt.timedelta(days=1):
            yield k, end
        k += 1


@dataclass(frozen=True)
class Deadline:
    """One upcoming date of a document."""

    document_id: int
    kind: str  # "echeance", "reconduction", "preavis"
    date: dt.date
    #: 0 for the agreement's first term, n for its n-th tacit renewal.
    renewal: int = 0

    @property
    def label(self) -> str:
        """French label of the kind of date."""
        return {
            "echeance": "Échéance",
            "reconduction": "Tacite reconduction",
            "preavis": "Date limite de préavis",
        }[self.kind]


def deadlines_of(document_id: int, *, effective: dt.date | None, duration_months: int | None,
                 explicit_end: dt.date | None, tacit_renewal: bool, notice_months: int | None,
                 today: dt.date | None = None, until: dt.date | None = None) -> list[Deadline]:
    """Every dated milestone of one agreement's term (échéance, reconduction, préavis).

    Without ``today``: the first term. With ``today``, a tacitly renewed agreement whose
    term has run out gives the milestones of its running term instead (the renewal day
    still counts as the last day of the term it closes); with ``until`` as well, the
    following terms are added while their milestones can fall on or before ``until``.
    """
    out: list[Deadline] = []
    ends = term_ends(effective, duration_months, explicit_end, tacit_renewal=tacit_renewal, today=today)
    for index, (renewal_number, end) in enumerate(ends):
        notice = notice_deadline(end, notice_months)
        if index > 0 and (until is None or min(end, notice or end) > until):
            break
        out.append(Deadline(document_id, "echeance", end, renewal_number))
        renewal = renewal_date(end, tacit_renewal)
        if renewal is not None:
            out.append(Deadline(document_id, "reconduction", renewal, renewal_number))
        if notice is not None:
            out.append(Deadline(document_id, "preavis", notice, renewal_number))
    return out


def within(deadlines: list[Deadline], today: dt.date, days: int) -> list[Deadline]:
    """Deadlines from ``today`` (included) to ``today + days`` (included), soonest first."""
    horizon = today + dt.timedelta(days=days)
    return sorted((d for d in deadlines if today <= d.date <= horizon), key=lambda d: (d.date, d.document_id))
