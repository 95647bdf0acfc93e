"""The navigation page's sections (`navigation_page.py`, `navigation_tables.py`): one
query each, whatever the number of groups; joint suppression across a section's
tables; the parameters refused by name."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db.models import Q
from django.utils import timezone

from navigator.equity import navigation_page as pages
from navigator.equity.cohort import Cohort, local_midnight
from navigator.equity.dimensions import DIMENSIONS
from navigator.equity.navigation_barriers import barrier_counts
from navigator.equity.navigation_tables import joint_statistics
from navigator.equity.query import EquityQueryError
from navigator.equity.scope import EquityScope, equity_scope
from navigator.equity.suppression import TOTAL, suppress_groups
from navigator.models import CaseStatus
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.frozen_clock("2026-08-15 16:00:00+00:00")]

TODAY = dt.date(2026, 8, 15)
START, END = dt.date(2025, 7, 1), dt.date(2026, 6, 30)


@pytest.fixture
def cohort(db):
    """Cases of three races and two navigators, with an attempt, a barrier and a test."""
    navigators = [factories.NavigatorFactory(), factories.NavigatorFactory()]
    for index, race in enumerate(["white"] * 4 + ["hispanic"] * 3 + ["black"] * 2):
        opened = local_midnight(TODAY - dt.timedelta(days=100 + 20 * index))
        case = factories.CaseFactory(
            patient=factories.PatientFactory(race_ethnicity=[race]),
            navigator=navigators[index % 2],
            opened_at=opened,
            status=CaseStatus.COMPLETED if index % 3 else CaseStatus.CONTACTING,
            completed_at=opened + dt.timedelta(days=40) if index % 3 else None,
        )
        factories.ContactAttemptFactory(case=case, outcome="reached", attempted_at=opened)
        factories.CaseBarrierFactory(
            case=case, barrier_type=factories.barrier_type("transportation")
        )
    return Cohort(Q(), factories.program("colorectal").pk, START, END)


RACE = DIMENSIONS["race"]


@pytest.mark.parametrize(
    "section",
    [
        lambda cohort: pages.funnel_section(cohort, RACE),
        lambda cohort: pages.completion_section(cohort, RACE, today=TODAY),
        lambda cohort: pages.medians_section(cohort, RACE, hidden=frozenset()),
        lambda cohort: barrier_counts(cohort, today=TODAY),
        lambda cohort: pages.close_reasons_section(cohort),
        lambda cohort: pages.follow_up_section(cohort, RACE, today=TODAY),
        lambda cohort: pages.navigators_section(cohort, today=TODAY),
    ],
    ids=["funnel", "completion", "medians", "barriers", "close_reasons", "follow_up", "navigators"],
)
def test_each_section_is_one_query(cohort, section, django_assert_num_queries):
    # One grouped query per section, however many groups it shows
    with django_assert_num_queries(1):
        section(cohort)


def test_the_whole_page_for_a_manager_is_the_programme_and_one_query_per_section(
    cohort, django_assert_num_queries
):
    manager = factories.ManagerFactory()
    query = pages.NavigationQuery.from_params({}, scope=equity_scope(manager), today=TODAY)
    # Queries: the programme; then funnel, diagnostic follow-up, navigated versus not,
    # close reasons, completion, medians, barriers, per navigator
    with django_assert_num_queries(9):
        page = pages.navigation_page(user=manager, query=query, today=TODAY)
    assert page.navigators is not None
    assert (page.period.start, page.period.end) == (START, END)


def test_a_navigator_has_no_per_navigator_section_and_one_query_less(
    cohort, django_assert_num_queries
):
    navigator = factories.NavigatorFactory().user
    query = pages.NavigationQuery.from_params({}, scope=equity_scope(navigator), today=TODAY)
    with django_assert_num_queries(8):
        page = pages.navigation_page(user=navigator, query=query, today=TODAY)
    assert page.navigators is None


def test_a_non_colorectal_programme_has_no_diagnostic_follow_up_section(cohort):
    manager = factories.ManagerFactory()
    query = pages.NavigationQuery.from_params(
        {"program": "breast"}, scope=equity_scope(manager), today=TODAY
    )
    page = pages.navigation_page(user=manager, query=query, today=TODAY)
    assert page.follow_up is None
    assert page.query.overdue_measure == "caregap:breast"


def test_tables_of_a_section_hide_the_union_of_their_hidden_groups():
    # Given two steps over the same groups and denominators: "a" is small in the first
    # step only, and each table alone would hide a different complement
    first = [("a", "A", 5, 50), ("b", "B", 30, 60), ("c", "C", 40, 70)]
    second = [("a", "A", 20, 50), ("b", "B", 30, 60), ("c", "C", 3, 70)]
    alone = [
        suppress_groups({k: (n, d) for k, _, n, d in t}, total=(sum(r[2] for r in t), 180))
        for t in (first, second)
    ]
    assert alone[0] - {TOTAL} == {"a", "b"} and alone[1] - {TOTAL} == {"a", "c"}
    # When they are suppressed together
    tables = joint_statistics({"one": first, "two": second}, reference="b")
    # Then both tables hide every group either hides, numbers and all
    hidden = (alone[0] | alone[1]) - {TOTAL}
    assert tables.hidden == hidden
    for rows in tables.tables.values():
        assert {row.key for row in rows if row.suppressed} == hidden
        assert all(row.denominator is None for row in rows if row.suppressed)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"period_start": "2026-02-30"}, "period_start"),
        ({"period_start": "1999-12-31"}, "period_start"),
        ({"stratify": "navigated"}, "stratify"),
        ({"stratify": "navigator"}, "stratify"),  # not for clinic staff
        ({"overdue_measure": "CMS124"}, "overdue_measure"),
    ],
)
def test_bad_parameters_are_refused_by_name(params, field):
    with pytest.raises(EquityQueryError) as error:
        pages.NavigationQuery.from_params(
            params, scope=EquityScope("clinic", clinic_id=1, dimensions=frozenset({"race"})),
            today=TODAY,
        )  # fmt: skip
    assert field in error.value.errors


def test_the_default_period_ends_on_the_last_complete_quarter():
    assert pages.default_period(TODAY) == (START, END)
    assert pages.default_period(dt.date(2026, 1, 1)) == (dt.date(2025, 1, 1), dt.date(2025, 12, 31))
    assert timezone.localdate() == TODAY
