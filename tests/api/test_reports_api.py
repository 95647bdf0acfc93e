"""The completion report: counts, rates and honest intervals, by every grouping."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from navigator.models import CaseStatus, NavigationCase
from navigator.selectors.reports import completion_report, wilson_interval
from tests import factories
from tests.support.api import api_as

pytestmark = pytest.mark.django_db


def opened(days_ago: int, *, completed: bool, **kwargs) -> NavigationCase:
    when = timezone.now() - dt.timedelta(days=days_ago)
    return factories.CaseFactory(
        opened_at=when,
        completed_at=when + dt.timedelta(days=1) if completed else None,
        status=CaseStatus.COMPLETED if completed else CaseStatus.CONTACTING,
        **kwargs,
    )


@pytest.fixture
def cases(db):
    maria = factories.NavigatorFactory(user__first_name="Maria", user__last_name="R")
    sam = factories.NavigatorFactory(user__first_name="Sam", user__last_name="O")
    spanish = {"patient__preferred_language": "es", "patient__race_ethnicity": ["hispanic"]}
    english = {"patient__preferred_language": "en", "patient__race_ethnicity": ["white", "black"]}
    opened(10, completed=True, navigator=maria, **spanish)
    opened(20, completed=False, navigator=maria, **spanish)
    opened(30, completed=False, navigator=maria, **spanish)
    opened(10, completed=True, navigator=sam, **english)
    opened(15, completed=True, navigator=sam, **english)
    opened(12, completed=False, navigator=sam, patient__preferred_language="vi",
           program=factories.program("breast"))  # fmt: skip
    opened(400, completed=True, navigator=sam, **english)  # outside the period
    return {"maria": maria, "sam": sam}


def period():
    today = timezone.localdate()
    return today - dt.timedelta(days=90), today


def test_it_counts_cases_opened_in_the_period_and_those_completed(cases):
    start, end = period()
    report = completion_report(start=start, end=end)

    assert (report.overall.opened, report.overall.completed) == (6, 3)
    assert report.overall.rate == 0.5


def test_it_groups_by_language_navigator_and_program(cases):
    start, end = period()
    report = completion_report(start=start, end=end)

    by_language = {r.key: (r.opened, r.completed) for r in report.by_language}
    assert by_language == {"es": (3, 1), "en": (2, 2), "vi": (1, 0)}
    by_navigator = {r.label: (r.opened, r.completed) for r in report.by_navigator}
    assert by_navigator == {"Maria R": (3, 1), "Sam O": (3, 2)}
    by_program = {r.key: (r.opened, r.completed) for r in report.by_program}
    assert by_program == {"Colorectal cancer": (5, 3), "Breast cancer": (1, 0)}


def test_a_multiracial_patient_counts_in_each_group_they_chose(cases):
    start, end = period()
    report = completion_report(start=start, end=end)

    by_race = {r.key: (r.opened, r.completed) for r in report.by_race_ethnicity}
    assert by_race["hispanic"] == (3, 1)
    assert by_race["white"] == (2, 2)
    assert by_race["black"] == (2, 2)
    assert by_race["asian"] == (0, 0)
    assert by_race["not_recorded"] == (1, 0)


def test_every_group_is_flagged_small_below_twenty_cases(cases):
    start, end = period()
    report = completion_report(start=start, end=end)
    assert all(row.small_group for row in report.by_language)


def test_the_wilson_interval_matches_a_known_value_and_stays_inside_zero_and_one():
    low, high = wilson_interval(8, 10)
    assert round(low, 3) == 0.490 and round(high, 3) == 0.943
    assert wilson_interval(0, 5)[0] == 0.0
    assert wilson_interval(5, 5)[1] == 1.0
    assert wilson_interval(0, 0) is None


def test_the_api_returns_the_report_for_a_manager(cases, manager):
    start, end = period()
    response = api_as(manager).get(
        f"/api/reports/completion/?start={start.isoformat()}&end={end.isoformat()}"
    )

    assert response.status_code == 200
    body = response.json()
    assert body["overall"]["opened"] == 6
    assert body["overall"]["completed"] == 3
    assert body["overall"]["rate"] == 0.5
    assert 0 < body["overall"]["ci95_low"] < 0.5 < body["overall"]["ci95_high"] < 1
    assert {"by_program", "by_navigator", "by_race_ethnicity", "by_language"} <= set(body)


def test_the_api_filters_by_program(cases, manager):
    start, end = period()
    response = api_as(manager).get(
        f"/api/reports/completion/?start={start}&end={end}&program=breast"
    )
    assert response.json()["overall"]["opened"] == 1


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("start=2026-13-01&end=2026-12-31", "start"),
        ("start=2026-12-31&end=2026-01-01", "end"),
        ("end=2026-12-31", "start"),
        ("start=2026-01-01&end=2026-12-31&program=unicorn", "program"),
        ("start=2026-01-01&end=9999-12-31", "end"),
        ("start=0001-01-01&end=2026-12-31", "start"),
    ],
)
def test_the_api_rejects_a_bad_period_with_a_field_error(manager, query, field):
    response = api_as(manager).get(f"/api/reports/completion/?{query}")
    assert response.status_code == 400
    assert field in response.json()
