"""The SQL building blocks compute, in the database, what Python computes by hand:
days between moments, the median, and calendar months later (on SQLite, and on
PostgreSQL when DATABASE_URL points at it)."""

from __future__ import annotations

import datetime as dt
import statistics

import pytest
from django.db import NotSupportedError, connection
from django.db.models import Case, DateField, DateTimeField, F, Q, Value, When

from navigator.equity.sql import DaysBetween, Median, PlusMonths, add_months
from navigator.models import NavigatorProfile
from patients.models import Clinic
from tests import factories

pytestmark = pytest.mark.django_db

EASTERN = dt.timezone(dt.timedelta(hours=-4))  # New York in summer (EDT)


def _in_database(expression):
    """The value of `expression` computed by the database, on a one-row queryset."""
    clinic = factories.ClinicFactory()
    return Clinic.objects.filter(pk=clinic.pk).annotate(v=expression).values_list("v", flat=True)[0]


def _date(day: dt.date) -> Value:
    return Value(day, output_field=DateField())


def _moment(moment: dt.datetime) -> Value:
    return Value(moment, output_field=DateTimeField())


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (dt.date(2025, 8, 31), 6, dt.date(2026, 2, 28)),
        (dt.date(2023, 8, 31), 6, dt.date(2024, 2, 29)),  # a leap year
        (dt.date(2025, 1, 31), 6, dt.date(2025, 7, 31)),
        (dt.date(2025, 3, 15), 6, dt.date(2025, 9, 15)),
        (dt.date(2025, 12, 31), 2, dt.date(2026, 2, 28)),
        (dt.date(2026, 6, 30), -6, dt.date(2025, 12, 30)),
        (dt.date(2026, 8, 31), -6, dt.date(2026, 2, 28)),
        (dt.date(2026, 1, 15), -13, dt.date(2024, 12, 15)),
        (dt.date(2025, 7, 1), 0, dt.date(2025, 7, 1)),
    ],
)
def test_months_later_land_on_the_same_day_or_the_months_last(day, months, expected):
    assert add_months(day, months) == expected
    assert _in_database(PlusMonths(_date(day), months)) == expected


def test_months_later_agree_with_python_on_every_day_of_two_years():
    # Given every day of 2024 (a leap year) and 2025
    days = [dt.date(2024, 1, 1) + dt.timedelta(days=n) for n in range(731)]
    clinic = factories.ClinicFactory()
    query = Clinic.objects.filter(pk=clinic.pk)

    # When the database moves each by 6 months forward and back (one query per day of
    # the month's end, the rest spot-checked every ninth day)
    checked = [d for n, d in enumerate(days) if d.day >= 28 or n % 9 == 0]
    for day in checked:
        forward, back = query.annotate(
            f=PlusMonths(_date(day), 6), b=PlusMonths(_date(day), -6)
        ).values_list("f", "b")[0]

        # Then it agrees with add_months
        assert (forward, back) == (add_months(day, 6), add_months(day, -6)), day


def test_months_must_be_a_whole_number():
    with pytest.raises(TypeError):
        PlusMonths(F("x"), 1.5)  # type: ignore[arg-type]


def test_days_between_two_moments_keep_the_fraction_of_a_day():
    later = dt.datetime(2026, 3, 10, 18, 0, tzinfo=dt.UTC)
    earlier = dt.datetime(2026, 3, 1, 6, 0, tzinfo=dt.UTC)

    days = _in_database(DaysBetween(_moment(later), _moment(earlier)))

    assert days == pytest.approx(9.5, abs=1e-6)


def test_days_between_two_dates_are_whole():
    days = _in_database(DaysBetween(_date(dt.date(2024, 3, 1)), _date(dt.date(2024, 2, 1))))

    assert days == 29.0


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        # 23:30 in New York on 1 July is already 2 July in UTC: still 1 July here
        (dt.datetime(2026, 7, 1, 23, 30, tzinfo=EASTERN), 9.0),
        (dt.datetime(2026, 7, 1, 0, 30, tzinfo=EASTERN), 9.0),
        (dt.datetime(2026, 7, 2, 9, 0, tzinfo=EASTERN), 8.0),
    ],
)
def test_days_between_a_date_and_a_moment_count_local_calendar_days(moment, expected):
    test_day = dt.date(2026, 7, 10)

    assert _in_database(DaysBetween(_date(test_day), _moment(moment))) == expected
    assert _in_database(DaysBetween(_moment(moment), _date(test_day))) == -expected


@pytest.fixture
def capacities() -> list[int]:
    values = [7, 1, 12, 4, 9, 30]
    for value in values:
        factories.NavigatorFactory(caseload_capacity=value)
    return values


def test_the_median_of_an_even_number_of_values_is_the_mean_of_the_middle_two(capacities):
    result = NavigatorProfile.objects.aggregate(m=Median("caseload_capacity"))

    assert result["m"] == statistics.median(capacities) == 8.0


def test_the_median_skips_nulls_and_honours_a_filter(capacities):
    small = Case(When(caseload_capacity__lt=10, then=F("caseload_capacity")))

    result = NavigatorProfile.objects.aggregate(
        nulls_skipped=Median(small),
        filtered=Median("caseload_capacity", filter=Q(caseload_capacity__gt=4)),
        nobody=Median("caseload_capacity", filter=Q(caseload_capacity__gt=100)),
    )

    assert result == {
        "nulls_skipped": statistics.median([v for v in capacities if v < 10]),
        "filtered": statistics.median([v for v in capacities if v > 4]),
        "nobody": None,
    }


def test_the_median_is_one_value_per_group(capacities, django_assert_num_queries):
    with django_assert_num_queries(1):
        rows = list(
            NavigatorProfile.objects.order_by()
            .values("active")
            .annotate(
                m=Median(DaysBetween(_date(dt.date(2026, 1, 31)), _date(dt.date(2026, 1, 1))))
            )
        )

    assert rows == [{"active": True, "m": 30.0}]


def test_other_databases_are_refused_rather_than_given_wrong_sql():
    class Elsewhere:
        vendor = "oracle"

    with pytest.raises(NotSupportedError):
        Median("x").as_sql(None, Elsewhere())


def test_sqlite_connections_have_the_median_aggregate():
    if connection.vendor != "sqlite":
        pytest.skip("SQLite only")
    with connection.cursor() as cursor:
        cursor.execute("SELECT equinav_median(v) FROM (SELECT 3 AS v UNION ALL SELECT 1) t")
        assert cursor.fetchone()[0] == 2.0
