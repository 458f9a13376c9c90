"""Date arithmetic of échéances, on a table of cases including month ends and 29 February."""

from __future__ import annotations

import datetime as dt

import pytest

from documents.deadlines import (
    add_months,
    deadlines_of,
    end_date,
    notice_deadline,
    renewal_date,
    term_ends,
    within,
)

D = dt.date


@pytest.mark.parametrize(("start", "months", "expected"), [
    (D(2026, 1, 15), 1, D(2026, 2, 15)),
    (D(2026, 1, 31), 1, D(2026, 2, 28)),
    (D(2024, 1, 31), 1, D(2024, 2, 29)),
    (D(2024, 2, 29), 12, D(2025, 2, 28)),
    (D(2024, 2, 29), 48, D(2028, 2, 29)),
    (D(2026, 3, 31), -1, D(2026, 2, 28)),
    (D(2026, 12, 31), 2, D(2027, 2, 28)),
    (D(2026, 5, 31), 1, D(2026, 6, 30)),
    (D(2026, 1, 1), -1, D(2025, 12, 1)),
    (D(2026, 8, 30), 6, D(2027, 2, 28)),
])
def test_add_months(start: dt.date, months: int, expected: dt.date) -> None:
    assert add_months(start, months) == expected


@pytest.mark.parametrize(("effective", "duration", "explicit", "expected"), [
    (D(2026, 1, 1), 12, None, D(2026, 12, 31)),
    (D(2026, 1, 1), 36, None, D(2028, 12, 31)),
    (D(2009, 10, 26), 36, None, D(2012, 10, 25)),
    (D(2024, 2, 29), 12, None, D(2025, 2, 27)),
    (D(2026, 3, 1), 1, None, D(2026, 3, 31)),
    (D(2026, 1, 31), 1, None, D(2026, 2, 27)),
    (D(2026, 1, 1), 12, D(2026, 6, 30), D(2026, 6, 30)),
    (None, 12, None, None),
    (D(2026, 1, 1), None, None, None),
])
def test_end_date(effective, duration, explicit, expected) -> None:
    assert end_date(effective, duration, explicit) == expected


@pytest.mark.parametrize(("end", "notice", "expected"), [
    (D(2026, 12, 31), 3, D(2026, 9, 30)),
    (D(2026, 12, 31), 2, D(2026, 10, 31)),
    (D(2025, 5, 31), 3, D(2025, 2, 28)),
    (D(2024, 5, 31), 3, D(2024, 2, 29)),
    (D(2026, 3, 15), 0, None),
    (None, 3, None),
])
def test_notice_deadline(end, notice, expected) -> None:
    assert notice_deadline(end, notice) == expected


def test_renewal_is_day_after_end_including_leap_day() -> None:
    assert renewal_date(D(2024, 2, 28), True) == D(2024, 2, 29)
    assert renewal_date(D(2025, 2, 28), True) == D(2025, 3, 1)
    assert renewal_date(D(2026, 12, 31), True) == D(2027, 1, 1)
    assert renewal_date(D(2026, 12, 31), False) is None


def test_within_window_bounds_are_inclusive_and_sorted() -> None:
    items = deadlines_of(7, effective=D(2026, 1, 1), duration_months=12, explicit_end=None,
                         tacit_renewal=True, notice_months=3)
    assert [(d.kind, d.date) for d in items] == [
        ("echeance", D(2026, 12, 31)), ("reconduction", D(2027, 1, 1)), ("preavis", D(2026, 9, 30))]
    today = D(2026, 9, 30)
    assert [d.kind for d in within(items, today, 30)] == ["preavis"]
    assert [d.kind for d in within(items, today, 90)] == ["preavis"]  # horizon 29 December
    assert [d.kind for d in within(items, today, 92)] == ["preavis", "echeance"]  # horizon 31 December
    assert [d.kind for d in within(items, D(2026, 10, 3), 90)] == ["echeance", "reconduction"]
    assert within(items, D(2027, 1, 2), 90) == []


# Tacit renewal: (effective, duration, explicit end, today) → (renewal number, end of the running term).
@pytest.mark.parametrize(("effective", "duration", "explicit", "today", "expected"), [
    # First term still running, or its renewal day is today: no roll forward.
    (None, None, D(2026, 12, 31), D(2026, 2, 10), (0, D(2026, 12, 31))),
    (None, None, D(2026, 2, 9), D(2026, 2, 10), (0, D(2026, 2, 9))),
    # Explicit end, no duration: yearly terms starting on the renewal day.
    (None, None, D(2026, 2, 8), D(2026, 2, 10), (1, D(2027, 2, 8))),
    (None, None, D(2025, 12, 31), D(2026, 2, 10), (1, D(2026, 12, 31))),
    # A term ending 28 February of a common year starts on 1 March: its renewals end on the
    # last day of February, 29 February in leap years.
    (None, None, D(2025, 2, 28), D(2026, 3, 5), (2, D(2027, 2, 28))),
    (None, None, D(2027, 2, 28), D(2028, 1, 10), (1, D(2028, 2, 29))),
    # A term ending 29 February: the next ones end 28 February, not 1 March.
    (None, None, D(2024, 2, 29), D(2024, 3, 2), (1, D(2025, 2, 28))),
    (None, None, D(2024, 2, 29), D(2027, 6, 1), (4, D(2028, 2, 29))),
    # Month ends with a duration: ends stay on month ends (30 April, 31 July), no drift.
    (None, 3, D(2026, 1, 31), D(2026, 6, 15), (2, D(2026, 7, 31))),
    (None, 1, D(2026, 3, 31), D(2026, 4, 20), (1, D(2026, 4, 30))),
    # Computed ends are counted from the effective date: 36-month terms of the 2009 protocol.
    (D(2009, 10, 26), 36, None, D(2026, 2, 10), (5, D(2027, 10, 25))),
    (D(2024, 2, 29), 12, None, D(2025, 3, 1), (1, D(2026, 2, 27))),
    (D(2024, 2, 29), 24, None, D(2026, 2, 28), (0, D(2026, 2, 27))),
    (D(2026, 1, 31), 1, None, D(2026, 3, 1), (1, D(2026, 3, 30))),
    # Many short terms: the jump lands on the right one.
    (D(2000, 1, 1), 1, None, D(2026, 2, 10), (313, D(2026, 2, 28))),
])
def test_running_term_of_a_tacitly_renewed_agreement(effective, duration, explicit, today, expected) -> None:
    assert next(term_ends(effective, duration, explicit, tacit_renewal=True, today=today)) == expected


def test_term_ends_without_renewal_or_dates() -> None:
    assert list(term_ends(None, None, D(2026, 2, 8), tacit_renewal=False, today=D(2026, 2, 10))) == [
        (0, D(2026, 2, 8))]
    assert list(term_ends(None, 12, None, tacit_renewal=True, today=D(2026, 2, 10))) == []
    ends = term_ends(None, None, D(2025, 2, 28), tacit_renewal=True)
    assert [next(ends) for _ in range(4)] == [
        (0, D(2025, 2, 28)), (1, D(2026, 2, 28)), (2, D(2027, 2, 28)), (3, D(2028, 2, 29))]


def test_deadlines_of_the_next_term_and_of_the_following_ones_up_to_until() -> None:
    past = {"effective": None, "duration_months": None, "explicit_end": D(2025, 5, 31), "tacit_renewal": True,
            "notice_months": 3}
    assert [(d.kind, d.date, d.renewal) for d in deadlines_of(4, **past)] == [
        ("echeance", D(2025, 5, 31), 0), ("reconduction", D(2025, 6, 1), 0), ("preavis", D(2025, 2, 28), 0)]
    assert [(d.kind, d.date, d.renewal) for d in deadlines_of(4, **past, today=D(2026, 2, 10))] == [
        ("echeance", D(2026, 5, 31), 1), ("reconduction", D(2026, 6, 1), 1), ("preavis", D(2026, 2, 28), 1)]
    # Not renewed tacitly: the past term stays, and ``within`` drops its dates.
    ended = {**past, "tacit_renewal": False}
    assert [d.date for d in deadlines_of(4, **ended, today=D(2026, 2, 10))] == [D(2025, 5, 31), D(2025, 2, 28)]
    monthly = {"effective": D(2026, 1, 1), "duration_months": 1, "explicit_end": None, "tacit_renewal": True,
               "notice_months": None}
    items = deadlines_of(5, **monthly, today=D(2026, 2, 10), until=D(2026, 4, 30))
    assert [(d.date, d.renewal) for d in items if d.kind == "echeance"] == [
        (D(2026, 2, 28), 1), (D(2026, 3, 31), 2), (D(2026, 4, 30), 3)]
    assert [d.date for d in items if d.kind == "reconduction"] == [D(2026, 3, 1), D(2026, 4, 1), D(2026, 5, 1)]
