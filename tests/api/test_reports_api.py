"""`GET /api/reports/completion/` on the navigation figures: one programme at a time,
ineligible cases left out, completion within 90 and 180 days with the cases too new
for a window left out of it, Wilson intervals from statsmodels, small cells null."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from statsmodels.stats.proportion import proportion_confint

from navigator.equity.cohort import local_midnight
from navigator.equity.completion_report import DEFINITION
from navigator.models import CaseStatus, NavigationCase
from tests import factories
from tests.support.api import api_as
from tests.support.audit import AUDIT_QUERIES_NO_PATIENTS

pytestmark = [pytest.mark.django_db, pytest.mark.frozen_clock("2026-06-30 16:00:00+00:00")]


def opened(days_ago: int, *, completed_after: int | None, **kwargs) -> NavigationCase:
    """A case opened `days_ago` days ago at 10:00 local time, its loop closed
    `completed_after` days later (None: not closed)."""
    when = local_midnight(timezone.localdate() - dt.timedelta(days=days_ago)) + dt.timedelta(
        hours=10
    )
    kwargs.setdefault(
        "status", CaseStatus.COMPLETED if completed_after is not None else CaseStatus.CONTACTING
    )
    return factories.CaseFactory(
        opened_at=when,
        completed_at=None if completed_after is None else when + dt.timedelta(days=completed_after),
        **kwargs,
    )


@pytest.fixture
def cases(db):
    maria = factories.NavigatorFactory(user__first_name="Maria", user__last_name="R")
    sam = factories.NavigatorFactory(user__first_name="Sam", user__last_name="O")
    spanish = {"patient__preferred_language": "es", "patient__race_ethnicity": ["hispanic"]}
    english = {"patient__preferred_language": "en", "patient__race_ethnicity": ["white", "black"]}
    opened(200, completed_after=30, navigator=maria, **spanish)  # in 90 and in 180
    opened(200, completed_after=120, navigator=maria, **spanish)  # in 180 only
    opened(200, completed_after=None, navigator=sam, **english)  # followed, never closed
    opened(100, completed_after=10, navigator=sam, **english)  # 90 only: too new for 180
    opened(20, completed_after=5, navigator=sam, **english)  # too new for either window
    opened(150, completed_after=None, navigator=sam, status=CaseStatus.INELIGIBLE)  # left out
    opened(400, completed_after=3, navigator=sam, **english)  # outside the period
    opened(200, completed_after=5, navigator=sam, program=factories.program("breast"))
    return {"maria": maria, "sam": sam}


def period():
    today = timezone.localdate()
    return today - dt.timedelta(days=365), today


def get(manager, **params):
    start, end = period()
    query = {"start": start.isoformat(), "end": end.isoformat(), **params}
    return api_as(manager).get("/api/reports/completion/", query)


def by_program(body):
    return {entry["program"]: entry for entry in body["programs"]}


def test_each_programme_is_reported_on_its_own_with_ineligible_cases_left_out(
    cases, manager, settings
):
    # Given no small-cell suppression, to read every count
    settings.EQUINAV_SMALL_CELL_MAX = 0
    # When a manager asks for the last 365 days
    response = get(manager)
    # Then each programme has its own funnel: colorectal counts its five eligible
    # cases of the period, breast its one, never added together
    assert response.status_code == 200
    programs = by_program(response.json())
    assert programs["colorectal"]["funnel"]["referred"] == 5
    assert programs["colorectal"]["funnel"]["complete"] == 4
    assert programs["breast"]["funnel"]["referred"] == 1
    assert "overall" not in response.json()


def test_completion_leaves_out_cases_too_new_for_the_window(cases, manager, settings):
    settings.EQUINAV_SMALL_CELL_MAX = 0
    colorectal = by_program(get(manager).json())["colorectal"]
    # Within 90 days: the four cases opened at least 90 days ago; two closed in time
    within_90 = colorectal["completion_90"]
    assert (within_90["numerator"], within_90["denominator"], within_90["rate"]) == (2, 4, 0.5)
    # Within 180 days: the three opened at least 180 days ago; two closed in time
    within_180 = colorectal["completion_180"]
    assert (within_180["numerator"], within_180["denominator"]) == (2, 3)
    # And the interval is statsmodels' Wilson interval
    low, high = proportion_confint(2, 3, method="wilson")
    assert within_180["ci95_low"] == round(low, 4) and within_180["ci95_high"] == round(high, 4)


def test_groups_count_completion_within_180_days_each_patient_once(cases, manager, settings):
    settings.EQUINAV_SMALL_CELL_MAX = 0
    colorectal = by_program(get(manager).json())["colorectal"]
    navigators = {
        row["label"]: (row["numerator"], row["denominator"]) for row in colorectal["by_navigator"]
    }
    assert navigators == {"Maria R": (2, 2), "Sam O": (0, 1), "Unassigned": (0, 0)}
    race = {
        row["key"]: (row["numerator"], row["denominator"])
        for row in colorectal["by_race_ethnicity"]
    }
    # The patient who chose White and Black is counted once, as multiracial
    assert race["hispanic"] == (2, 2)
    assert race["multi"] == (0, 1)
    assert race["white"] == (0, 0)
    language = {
        row["key"]: (row["numerator"], row["denominator"]) for row in colorectal["by_language"]
    }
    assert language["es"] == (2, 2) and language["en"] == (0, 1)


def test_small_cells_are_null_never_the_number(cases, manager):
    # Given the default rule (counts from 1 to 10 hidden)
    body = get(manager).json()
    colorectal = by_program(body)["colorectal"]
    # Then every count here is small: each figure is null and flagged
    for figure in (colorectal["completion_90"], colorectal["completion_180"]):
        assert figure["suppressed"] is True
        assert figure["numerator"] is figure["denominator"] is figure["rate"] is None
        assert figure["ci95_low"] is None
    assert colorectal["funnel"]["referred"] is None
    hispanic = next(r for r in colorectal["by_race_ethnicity"] if r["key"] == "hispanic")
    assert hispanic["suppressed"] and hispanic["numerator"] is None


def test_the_definition_states_the_new_rules(cases, manager):
    body = get(manager).json()
    assert body["definition"] == DEFINITION
    for words in (
        "leaving out cases closed as ineligible",
        "never mixed",
        "newer cases are left out because they have not had 90 days yet",
        "Wilson",
        "null",
    ):
        assert words in body["definition"]


def test_the_api_filters_by_program(cases, manager, settings):
    settings.EQUINAV_SMALL_CELL_MAX = 0
    body = get(manager, program="breast").json()
    assert [entry["program"] for entry in body["programs"]] == ["breast"]
    assert body["programs"][0]["completion_180"]["numerator"] == 1


def test_the_api_answers_each_programme_in_four_queries(
    cases, manager, django_assert_max_num_queries
):
    # Queries: the user's token/session (1-2), the programme, then per programme the
    # overall completion, per navigator, by race, by language; the audit trail's row
    # (counts name no patient)
    with django_assert_max_num_queries(2 + 1 + 4 + AUDIT_QUERIES_NO_PATIENTS):
        assert get(manager, program="colorectal").status_code == 200


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
