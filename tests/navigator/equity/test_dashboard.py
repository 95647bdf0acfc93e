"""The dashboard's one entry point: the figures, their statistics, the story, each
role's scope, and at most three queries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.db.models import Count

from navigator.equity.dashboard import equity_dashboard
from navigator.equity.query import EquityQuery, EquityQueryError
from navigator.equity.stats import stratified_statistics
from patients.models import Patient
from tests import factories
from tests.navigator.equity.test_two_way import _feasible_ranges as feasible_ranges
from tests.support.equity_story import QUARTERS

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 8, 15)


def _query(**params):
    return EquityQuery(**params)


def _by_key(groups):
    return {str(group.key): group for group in groups}


def test_the_latest_period_by_race_compares_each_group_with_white_patients(
    story_population, django_assert_max_num_queries
):
    manager = factories.ManagerFactory()
    # When a manager asks for CMS130 by race, with the quarterly series
    # (queries: the stored periods, the grouped table, the grouped quarters)
    with django_assert_max_num_queries(3):
        result = equity_dashboard(user=manager, query=_query(quarters=True), today=TODAY)
    # Then the period is the latest stored, 2026 Q2, and White is the reference
    assert result.period.label == "2026 Q2"
    assert result.reference == "white"
    groups = _by_key(result.groups)
    # And every group's row is the statistics of its known counts (58% of 200
    # Hispanic patients, 60% of 200 White ones), the small group hidden
    known = {"white": (120, 200), "hispanic": (116, 200), "black": (20, 40), "nhpi": (3, 6)}
    expected = stratified_statistics(
        [(g.key, g.label, *known.get(str(g.key), (0, 0))) for g in result.groups], "white"
    )
    assert result.groups == expected
    groups = _by_key(result.groups)
    assert (groups["hispanic"].numerator, groups["hispanic"].denominator) == (116, 200)
    assert groups["nhpi"].suppressed and groups["nhpi"].numerator is None
    # And "Not recorded" is listed, though nobody is in it
    assert groups["not_recorded"].denominator == 0


def test_with_quarters_by_race_the_table_is_the_last_quarter_of_the_same_query(
    story_population, django_assert_num_queries
):
    manager = factories.ManagerFactory()
    alone = equity_dashboard(user=manager, query=_query(), today=TODAY)
    # When the quarterly series is asked for by race, whose groups are all fixed
    # (queries: the stored periods, the quarters by race with the completeness counts)
    with django_assert_num_queries(2):
        result = equity_dashboard(user=manager, query=_query(quarters=True), today=TODAY)
    # Then the table, its warnings and the last quarter are what the period alone gives
    assert result.groups == alone.groups
    assert result.warnings == alone.warnings
    assert result.quarters[-1].groups == alone.groups


def test_the_story_says_the_gap_narrowed_and_is_no_longer_significant(story_population):
    result = equity_dashboard(
        user=factories.ManagerFactory(), query=_query(quarters=True), today=TODAY
    )
    # Given six quarters, oldest first, each with its own comparison
    assert [row.period.label for row in result.quarters] == [p.label for p in QUARTERS]
    first = _by_key(result.quarters[0].groups)["hispanic"]
    last = _by_key(result.quarters[-1].groups)["hispanic"]
    assert first.meaningful is True
    assert last.significant is False
    # Then one sentence tells what happened, with the first and last gaps
    assert result.story == [
        "The gap between Hispanic or Latino and White patients in colorectal cancer "
        "screening narrowed from 20.0 points in 2025 Q1 to 2.0 points in 2026 Q2 and is "
        "no longer statistically significant."
    ]


def test_a_period_not_computed_is_refused_with_the_periods_that_are(story_population):
    query = _query(period_start=dt.date(2024, 1, 1), period_end=dt.date(2024, 12, 31))
    with pytest.raises(EquityQueryError) as error:
        equity_dashboard(user=factories.ManagerFactory(), query=query, today=TODAY)
    assert "has not been computed" in error.value.errors["period_start"]
    assert "2026 Q2" in error.value.errors["period_start"]


def test_a_measure_never_computed_says_so_instead_of_showing_zeros(db):
    result = equity_dashboard(
        user=factories.ManagerFactory(), query=_query(measure="CMS125"), today=TODAY
    )
    assert result.groups == []
    assert "has not been computed for any period yet" in result.unavailable


def test_clinic_staff_count_only_their_clinics_patients(story_population):
    dorchester = story_population[0]
    staff = factories.ClinicStaffFactory(clinic=dorchester)
    result = equity_dashboard(user=staff, query=_query(), today=TODAY)
    # Then every group shown counts exactly Dorchester's patients of that group
    shown = {str(g.key): g.denominator for g in result.groups if not g.suppressed and g.denominator}
    theirs = dict(
        Patient.objects.filter(clinic=dorchester).values_list("race_group").annotate(n=Count("pk"))
    )
    assert shown and all(theirs[key] == n for key, n in shown.items())
    # And the small group is hidden here too
    assert _by_key(result.groups)["nhpi"].suppressed


def test_a_navigator_counts_only_the_patients_of_their_caseload(story_population):
    navigator = factories.NavigatorFactory()
    patient = factories.PatientFactory(race_ethnicity=["white"])
    factories.CaseFactory(patient=patient, navigator=navigator)
    result = equity_dashboard(user=navigator.user, query=_query(), today=TODAY)
    # Their one patient has no stored row: nobody in any group
    assert all((g.denominator or 0) == 0 for g in result.groups)


def test_someone_without_a_dashboard_role_is_refused(story_population):
    user = factories.UserFactory(is_active=False)
    with pytest.raises(PermissionDenied):
        equity_dashboard(user=user, query=_query(), today=TODAY)


def test_a_reference_that_is_not_a_group_is_refused_by_name(story_population):
    with pytest.raises(EquityQueryError) as error:
        equity_dashboard(
            user=factories.ManagerFactory(), query=_query(reference="martian"), today=TODAY
        )
    assert "“martian” is not a group" in error.value.errors["reference"]


def test_two_dimensions_give_a_two_way_table_in_the_same_three_queries(
    story_population, django_assert_max_num_queries
):
    manager = factories.ManagerFactory()
    # (queries: the stored periods, the race × clinic table, the quarters by race)
    with django_assert_max_num_queries(3):
        result = equity_dashboard(
            user=manager,
            query=_query(stratify=("race", "clinic"), quarters=True),
            today=TODAY,
        )
    assert result.two_way is not None
    # Every cell of race × clinic is there, hidden or not
    assert len(result.two_way.cells) == len(result.two_way.rows) * len(result.two_way.columns)
    # And the one-way table is the first dimension's margin
    assert _by_key(result.groups)["hispanic"].denominator == 200


def test_race_alone_or_in_combination_shows_rates_without_comparisons(story_population):
    result = equity_dashboard(
        user=factories.ManagerFactory(), query=_query(race_rule="any"), today=TODAY
    )
    assert result.reference is None
    assert all(g.p_value is None and g.difference is None for g in result.groups)
    assert _by_key(result.groups)["hispanic"].rate == pytest.approx(0.58)


def test_race_alone_or_in_combination_cannot_be_crossed_with_another_dimension(
    story_population,
):
    with pytest.raises(EquityQueryError) as error:
        equity_dashboard(
            user=factories.ManagerFactory(),
            query=_query(race_rule="any", stratify=("race", "clinic")),
            today=TODAY,
        )
    assert "race_rule" in error.value.errors


def test_a_two_way_table_hides_its_margins_as_the_one_way_tables_do(story_population):
    # Given the race × clinic table and, asked for separately, the clinic table
    manager = factories.ManagerFactory()
    both = equity_dashboard(user=manager, query=_query(stratify=("race", "clinic")), today=TODAY)
    clinics = equity_dashboard(user=manager, query=_query(stratify=("clinic",)), today=TODAY)
    # Then every race margin is hidden exactly when the race table on the same page
    # hides that group, and every clinic margin as the clinic table does: neither table
    # can be used to work out what the other hides
    assert {k: g.suppressed for k, g in both.two_way.row_totals.items()} == {
        g.key: g.suppressed for g in both.groups
    }
    assert {k: g.suppressed for k, g in both.two_way.column_totals.items()} == {
        g.key: g.suppressed for g in clinics.groups
    }
    # And the small group's cells with anyone in them are hidden inside the table too
    nhpi = [both.two_way.cells[("nhpi", c)] for c, _ in both.two_way.columns]
    assert all(cell.suppressed for cell in nhpi if cell.denominator != 0)
    # And from what the two-way table shows, margins included, no hidden cell can be
    # worked out exactly
    for key, (low, high) in feasible_ranges(both.two_way).items():
        assert high - low >= 1 - 1e-9, key
