"""Adversarial review of issue 13 (branch i13-review): each test is a defect reproduced.

Every test here FAILS on the code it was written against and states the property the
issue asks for (small cells unrecoverable, no 500 on odd parameters, intervals that
mean what they say). See the review report for severity and suggested fixes.
"""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from navigator.equity.cohort import local_midnight
from navigator.equity.stats import compare_to_reference
from patients.caregaps.periods import quarter_periods
from patients.models import MeasurePeriod, MeasurePopulation
from tests import factories
from tests.support.api import api_as

pytestmark = pytest.mark.django_db


def _groups(payload):
    return {group["key"]: group for group in payload["groups"]}


# --- 1. Suppression: race "alone or in combination" opens the exclusive table -------------


def test_a_hidden_race_count_cannot_be_worked_out_from_the_race_any_table(story_population):
    """Six NHPI patients (3 screened) are hidden in the exclusive race table, with Black
    (40) as their complement. race_rule=any counts only small cells, so it shows Black
    40/20; with no multiracial patients (the exclusive table shows Multiracial 0/0) an
    "any" group IS the "alone" group. Any table's total (here the clinic table's) then
    gives NHPI = total - White - Hispanic - Black."""
    api = api_as(factories.ManagerFactory())
    exclusive = _groups(api.get("/api/equity/", {"stratify": "race"}).json())
    overlapping = _groups(api.get("/api/equity/", {"stratify": "race", "race_rule": "any"}).json())
    by_clinic = api.get("/api/equity/", {"stratify": "clinic"}).json()["groups"]
    assert exclusive["nhpi"]["suppressed"] and exclusive["black"]["suppressed"]
    assert exclusive["multi"]["denominator"] == 0  # shown: nobody chose two categories

    # when a reader combines the three responses
    total_n = sum(g["numerator"] for g in by_clinic)
    total_d = sum(g["denominator"] for g in by_clinic)
    black = overlapping["black"]
    derived = None
    if not black["suppressed"]:
        derived = (
            total_n - exclusive["white"]["numerator"] - exclusive["hispanic"]["numerator"]
            - black["numerator"],
            total_d - exclusive["white"]["denominator"] - exclusive["hispanic"]["denominator"]
            - black["denominator"],
        )  # fmt: skip

    # then the hidden NHPI cell (3 of 6) must not come out
    assert derived != (3, 6)


# --- 2. Suppression: a ranked dimension's quarterly series opens its own table -----------


def _language_population():
    """Two rolling quarters of CMS130 by preferred language. In the last quarter:
    English 40, Spanish 30, six languages of 20, Vietnamese 15 and Korean 5 (small). In
    the first quarter 60 more Korean speakers, so over both quarters Korean ranks in
    the top 8 and Vietnamese does not: the series (ranked over both quarters) and the
    table (ranked over the last one) put different languages in "Other languages"."""
    program = factories.program("colorectal")
    clinic = factories.ClinicFactory()
    first, last = quarter_periods(dt.date(2025, 1, 1), dt.date(2025, 6, 30))
    sizes = {"en": 40, "es": 30, "fr": 20, "de": 20, "it": 20, "pt": 20, "ru": 20, "zh": 20}
    sizes["vi"] = 15
    now = timezone.now()
    rows = []

    def add(language, count, periods):
        for number in range(count):
            patient = factories.PatientFactory(clinic=clinic, preferred_language=language)
            for period in periods:
                rows.append(
                    MeasurePopulation(
                        measure="CMS130", program=program, patient=patient,
                        period_start=period.start, period_end=period.end,
                        denominator_exclusion=False, numerator=number < round(count * 0.6),
                        age_at_end=60, computed_at=now,
                    )
                )  # fmt: skip

    for language, count in sizes.items():
        add(language, count, (first, last))
    add("ko", 5, (first, last))
    add("ko", 60, (first,))
    MeasurePopulation.objects.bulk_create(rows)
    for period in (first, last):
        MeasurePeriod.objects.create(
            measure="CMS130", period_start=period.start, period_end=period.end,
            computed_at=now, patients=0,
        )  # fmt: skip


def test_a_hidden_language_count_cannot_be_worked_out_from_the_quarterly_series():
    """The table ranks languages over the last quarter, the series over both quarters,
    and the series' last quarter is the table's own 12 months (one response). The
    table folds Vietnamese (15) and Korean (5) into "Other languages"; the series lists
    Korean (hidden, small) and folds Russian and Vietnamese into its "Other". Russian is
    shown in the table, so: Vietnamese = Other(series) - Russian, and Korean =
    Other(table) - Vietnamese."""
    _language_population()
    payload = (
        api_as(factories.ManagerFactory())
        .get("/api/equity/", {"stratify": "language", "quarters": "1"})
        .json()
    )
    table = _groups(payload)
    last_quarter = {g["key"]: g for g in payload["quarters"][-1]["groups"]}
    assert payload["quarters"][-1]["period"]["end"] == payload["period"]["end"]
    # then the series' last quarter, the table's own 12 months, is folded as the table
    # is and hides what it hides, number for number: nothing to subtract
    assert last_quarter == table
    assert "ko" not in table and "ko" not in last_quarter


# --- 3. Robustness: far-off dates on a navigation measure are a 500, not a 400 ----------


@pytest.mark.parametrize(
    "params",
    [
        {"period_start": "0001-01-01", "period_end": "0001-12-31", "stratify": "age"},
        {"period_start": "9999-01-01", "period_end": "9999-12-31"},
        {"period_start": "0001-01-01", "period_end": "9999-12-31", "quarters": "1"},
    ],
    ids=["year-1-by-age", "year-9999", "year-1-to-9999-quarters"],
)
@pytest.mark.parametrize(
    "url", ["/api/equity/", "/reports/equity/", "/reports/equity.csv", "/reports/equity.pdf"]
)
def test_a_far_off_period_of_a_navigation_measure_is_refused_by_name(client, url, params):
    # given a manager asking for loop completion over a period the navigation page refuses
    client.force_login(factories.ManagerFactory())
    client.raise_request_exception = False
    # when
    response = client.get(url, {"measure": "completion", "program": "colorectal", **params})
    # then a 400 naming the date, as /reports/equity/navigation/ answers (EARLIEST..)
    assert response.status_code == 400


# --- 4. Statistics: a ratio interval of zero width ---------------------------------------


def test_the_ratio_of_two_groups_all_screened_has_no_zero_width_interval():
    """20/20 against 20/20: Katz's log interval has standard error
    sqrt(1/20 - 1/20 + 1/20 - 1/20) = 0, so the page shows "1.00–1.00", claiming a
    certainty 40 patients cannot give (the difference's Newcombe interval is about
    -16 to +16 points). The same happens for any pair of groups both at 100%."""
    comparison = compare_to_reference((20, 20), (20, 20))
    assert comparison.difference_ci_low < -0.1  # the difference is honest
    assert comparison.ratio_ci_low is None or comparison.ratio_ci_low < comparison.ratio_ci_high


# --- 5. Suppression: a navigation measure's table is the sum of its own quarters --------


def test_a_hidden_quarter_of_completion_cannot_be_worked_out_from_the_years_table():
    """Completion within 180 days, default period (the 12 months of opening ending with
    the last complete quarter) and quarters=1: the table's cells are the sums of the
    series' last four quarters (same cohort rule, grouped by quarter of opening), but
    each quarter is suppressed on its own. NHPI cases: 11 opened in 2025 Q3, 11 in
    2025 Q4, 3 in early 2026 Q1 (hidden), none with follow-up in 2026 Q2; the table
    shows 25, so the hidden quarter is 25 - 11 - 11 - 0 = 3."""
    openings = {"white": [], "nhpi": []}
    for day, count in (
        (dt.date(2025, 8, 1), 11),
        (dt.date(2025, 11, 3), 11),
        (dt.date(2026, 1, 5), 3),
    ):
        openings["nhpi"] += [day] * count
    for day in (dt.date(2025, 8, 1), dt.date(2025, 11, 3), dt.date(2026, 1, 5)):
        openings["white"] += [day] * 30
    with time_machine.travel(dt.datetime(2026, 7, 15, 12, tzinfo=dt.UTC), tick=False):
        for race, days in openings.items():
            for day in days:
                factories.CaseFactory(
                    patient=factories.PatientFactory(race_ethnicity=[race]),
                    opened_at=local_midnight(day) + dt.timedelta(hours=10),
                )
        payload = (
            api_as(factories.ManagerFactory())
            .get(
                "/api/equity/",
                {"measure": "completion_180", "program": "colorectal", "quarters": "1"},
            )
            .json()
        )
    table = _groups(payload)
    period = payload["period"]
    inside = [q for q in payload["quarters"] if q["period"]["start"] >= period["start"]]
    assert [q["period"]["label"] for q in inside] == ["2025 Q3", "2025 Q4", "2026 Q1", "2026 Q2"]
    nhpi = [next(g for g in q["groups"] if g["key"] == "nhpi") for q in inside]
    assert nhpi[2]["suppressed"] and not table["nhpi"]["suppressed"]

    # when a reader subtracts the shown quarters from the table
    shown = sum(g["denominator"] for g in nhpi if not g["suppressed"])
    derived = table["nhpi"]["denominator"] - shown

    # then the hidden quarter's 3 cases must not come out
    assert derived != 3
