"""Date arithmetic of échéances, on a table of cases including month ends and 29 February."""

from __future__ import annotations

import datetime as dt

import pytest

from documents.deadlines import add_months, deadlines_of, end_date, notice_deadline, renewal_date, within

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
