"""Measurement periods: rolling quarters and calendar years, their labels, and parsing them."""

from __future__ import annotations

import datetime as dt

import pytest

from patients.caregaps.periods import (
    Period,
    calendar_year,
    last_complete_quarter_end,
    parse_period_label,
    period_between,
    quarter_periods,
)


def test_a_quarter_is_the_twelve_months_ending_on_its_last_day():
    # When the quarters of 2025 Q1 to 2026 Q3 are asked for
    periods = quarter_periods(dt.date(2025, 3, 31), dt.date(2026, 9, 30))

    # Then there are seven, oldest first, each ending on its quarter's last day
    assert [p.label for p in periods] == [
        "2025 Q1",
        "2025 Q2",
        "2025 Q3",
        "2025 Q4",
        "2026 Q1",
        "2026 Q2",
        "2026 Q3",
    ]
    assert periods[0] == Period(dt.date(2024, 4, 1), dt.date(2025, 3, 31), "2025 Q1")
    assert periods[3] == Period(dt.date(2025, 1, 1), dt.date(2025, 12, 31), "2025 Q4")
    assert periods[-1] == Period(dt.date(2025, 10, 1), dt.date(2026, 9, 30), "2026 Q3")
    # And each starts on the first of the month after its end month, a year earlier
    for period in periods:
        month_after = period.end.month % 12 + 1
        year = period.end.year - (0 if period.end.month == 12 else 1)
        assert period.start == dt.date(year, month_after, 1)


def test_any_day_of_a_quarter_names_it():
    assert quarter_periods(dt.date(2025, 2, 14), dt.date(2025, 5, 1)) == quarter_periods(
        dt.date(2025, 3, 31), dt.date(2025, 6, 30)
    )


def test_a_window_holding_29_february_is_366_days_long():
    # Given the quarters ending 2024-03-31 (holds 29 Feb 2024) and 2025-03-31 (does not)
    leap, common = quarter_periods(dt.date(2024, 3, 31), dt.date(2024, 3, 31)) + quarter_periods(
        dt.date(2025, 3, 31), dt.date(2025, 3, 31)
    )

    # Then both start on 1 April of the year before, and only the first is 366 days
    assert leap == Period(dt.date(2023, 4, 1), dt.date(2024, 3, 31), "2024 Q1")
    assert (leap.end - leap.start).days + 1 == 366
    assert (common.end - common.start).days + 1 == 365
    assert calendar_year(2024) == Period(dt.date(2024, 1, 1), dt.date(2024, 12, 31), "2024")


def test_an_empty_range_of_quarters_is_no_period():
    assert quarter_periods(dt.date(2026, 1, 1), dt.date(2025, 12, 31)) == []


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("2025Q1", Period(dt.date(2024, 4, 1), dt.date(2025, 3, 31), "2025 Q1")),
        ("2025 Q1", Period(dt.date(2024, 4, 1), dt.date(2025, 3, 31), "2025 Q1")),
        ("2024q4", Period(dt.date(2024, 1, 1), dt.date(2024, 12, 31), "2024 Q4")),
        ("2025", Period(dt.date(2025, 1, 1), dt.date(2025, 12, 31), "2025")),
    ],
)
def test_a_label_reads_back_as_its_period(label, expected):
    assert parse_period_label(label) == expected


@pytest.mark.parametrize("label", ["2025Q5", "Q1 2025", "25", "2025-03-31", ""])
def test_a_label_that_is_no_period_is_refused_in_words(label):
    with pytest.raises(ValueError, match="is not a period"):
        parse_period_label(label)


def test_a_period_given_by_its_dates_gets_the_label_it_has():
    assert period_between(dt.date(2025, 1, 1), dt.date(2025, 12, 31)).label == "2025"
    assert period_between(dt.date(2024, 7, 1), dt.date(2025, 6, 30)).label == "2025 Q2"
    assert period_between(dt.date(2025, 2, 1), dt.date(2026, 1, 31)).label == (
        "2025-02-01 to 2026-01-31"
    )


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (dt.date(2026, 1, 1), dt.date(2025, 12, 31)),
        (dt.date(2026, 3, 31), dt.date(2025, 12, 31)),
        (dt.date(2026, 4, 1), dt.date(2026, 3, 31)),
        (dt.date(2026, 10, 15), dt.date(2026, 9, 30)),
    ],
)
def test_the_last_complete_quarter_is_the_one_that_ended_before_today(today, expected):
    assert last_complete_quarter_end(today) == expected
