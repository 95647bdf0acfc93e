"""Managers see each navigator's caseload and this week's work, and open any worklist."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from navigator.models import CaseStatus
from navigator.selectors.team import team_overview
from tests import factories
from tests.support.api import api_as
from tests.support.audit import AUDIT_QUERIES_NO_PATIENTS

# Wednesday; the week began on Monday 2026-11-23 at 00:00 local time.
WEDNESDAY = dt.datetime(2026, 11, 25, 17, 0, tzinfo=dt.UTC)

pytestmark = [pytest.mark.django_db, pytest.mark.frozen_clock(WEDNESDAY)]


def at_local(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=timezone.get_current_timezone())


def test_it_counts_each_navigators_week():
    # Given Ana's caseload and work
    today = timezone.localdate()
    monday = dt.date(2026, 11, 23)
    ana = factories.NavigatorFactory(caseload_capacity=10)
    overdue = factories.CaseFactory(navigator=ana, next_follow_up=today - dt.timedelta(days=1))
    factories.CaseFactory(navigator=ana, next_follow_up=today)
    reached_twice = factories.CaseFactory(navigator=ana)
    for when in (at_local(monday), at_local(today)):
        factories.ContactAttemptFactory(
            case=reached_twice, outcome="reached", attempted_at=when, created_by=ana.user
        )
    factories.ContactAttemptFactory(
        case=overdue, outcome="no_answer", attempted_at=at_local(today), created_by=ana.user
    )
    # Last Sunday: not this week
    factories.ContactAttemptFactory(
        case=overdue,
        outcome="reached",
        attempted_at=at_local(monday - dt.timedelta(days=1), 23),
        created_by=ana.user,
    )
    factories.CaseFactory(navigator=ana, status=CaseStatus.CLOSED, completed_at=at_local(monday, 9))
    factories.CaseFactory(
        navigator=ana,
        status=CaseStatus.CLOSED,
        completed_at=at_local(monday - dt.timedelta(days=2)),
    )

    (row,) = team_overview(user=factories.ManagerFactory())

    assert row == ana
    assert row.open_cases == 3
    assert row.overdue_follow_ups == 1
    assert row.attempts_this_week == 3
    assert row.reached_this_week == 1
    assert row.completed_this_week == 1
    assert row.load_percent == 30
    assert row.covered_by is None


def test_it_shows_who_covers_a_navigator_away():
    ana = factories.NavigatorFactory()
    coverage = factories.CoverageFactory(absent=ana)

    rows = {row.pk: row for row in team_overview(user=factories.ManagerFactory())}

    assert rows[ana.pk].covered_by == coverage
    assert rows[coverage.covering.pk].covered_by is None


def test_the_page_makes_the_same_number_of_queries_for_any_team_size(
    client, django_assert_num_queries
):
    manager = factories.ManagerFactory()
    client.force_login(manager)

    def team_of(size: int) -> None:
        for _ in range(size):
            navigator = factories.NavigatorFactory()
            factories.CaseFactory(navigator=navigator)
            factories.ContactAttemptFactory(case=navigator.cases.first(), created_by=navigator.user)

    team_of(2)
    # session, user, navigators with their counts, today's covers, the rebalance
    # form's two navigator lists (its checkboxes are read twice: once to render,
    # once for their fieldset), the current covers, the cover form's two lists, the
    # audit trail's row (no patient on the page: tests/support/audit.py)
    with django_assert_num_queries(10 + AUDIT_QUERIES_NO_PATIENTS) as small:
        assert client.get("/team/").status_code == 200
    team_of(6)
    with django_assert_num_queries(len(small.captured_queries)):
        assert client.get("/team/").status_code == 200


def test_each_row_links_to_that_navigators_worklist(client):
    ana = factories.NavigatorFactory()
    factories.CaseFactory(navigator=ana)
    client.force_login(factories.ManagerFactory())

    page = client.get("/team/").content.decode()

    assert f'href="/worklist/?navigator={ana.pk}"' in page
    assert client.get(f"/worklist/?navigator={ana.pk}").status_code == 200


def test_navigators_and_clinic_staff_cannot_see_the_team(client):
    navigator = factories.NavigatorFactory()
    client.force_login(navigator.user)
    assert client.get("/team/").status_code == 403
    assert api_as(navigator.user).get("/api/team/").status_code == 403
    assert api_as(factories.ClinicStaffFactory()).get("/api/team/").status_code == 403


def test_the_api_gives_the_same_numbers(django_assert_num_queries):
    ana = factories.NavigatorFactory(caseload_capacity=40)
    case = factories.CaseFactory(navigator=ana)
    factories.ContactAttemptFactory(case=case, outcome="reached", created_by=ana.user)
    client = api_as(factories.ManagerFactory())

    # navigators with their counts, today's covers, the audit trail's row
    with django_assert_num_queries(2 + AUDIT_QUERIES_NO_PATIENTS):
        response = client.get("/api/team/")

    assert response.status_code == 200
    (row,) = response.json()
    assert row["id"] == ana.pk
    assert row["open_cases"] == 1
    assert row["attempts_this_week"] == 1
    assert row["reached_this_week"] == 1
    assert row["caseload_capacity"] == 40
    assert row["covered_by"] is None
