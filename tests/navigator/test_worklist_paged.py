"""The worklist's page ranked on facts worked out once, then read for its cases only
(navigator/worklist/paged.py): the same cases, in the same order, saying the same
things as the ORM's one ranked queryset (`worklist_for`), for every sort, every
page and the filters.

The clock stands still at 2 pm in Boston on Tuesday 24 November 2026.
"""

from __future__ import annotations

import datetime as dt

import pytest

from navigator.selectors.worklist import (
    worklist_cases,
    worklist_for,
    worklist_navigators,
    worklist_rows,
)
from navigator.worklist.filters import Filters, parse_search
from navigator.worklist.query import SORTS
from navigator.worklist.rules import RULES, Moment
from tests import factories
from tests.navigator.test_worklist import NOW, TODAY, caseload

pytestmark = [pytest.mark.django_db, pytest.mark.frozen_clock(NOW)]

# Everything a row carries that the query worked out.
ANNOTATIONS = [
    "wl_priority",
    "wl_tried_today",
    "tried_today_at",
    "last_attempt_at",
    "open_barrier_count",
    "best_phone",
    "has_pending_reminder",
    "next_appointment_at",
    "interpreter_arranged",
    "follow_up_is_overdue",
    *[rule.fact_name for rule in RULES],
    *[rule.flag_name for rule in RULES],
    *[name for rule in RULES for name in rule.details(Moment.current())],
]


def said(row) -> tuple:
    return (
        row.pk,
        row.summary,
        [(r.code, r.priority, r.label) for r in row.reasons],
        row.tried_today_label,
        row.covering_for,
        *[getattr(row, name) for name in ANNOTATIONS],
    )


def paged(user, filters: Filters, moment: Moment, size: int) -> list:
    """Every page of `size` read through the compiled, two-step query, in turn."""
    navigators = worklist_navigators(user=user, on=moment.today)
    cases = worklist_cases(user=user, navigators=navigators, filters=filters, moment=moment)
    found = []
    for start in range(0, cases.count() + size, size):
        found += worklist_rows(cases[start : start + size], user=user, moment=moment)
    return found


def expected(user, filters: Filters, moment: Moment) -> list:
    return worklist_rows(
        worklist_for(user=user, filters=filters, moment=moment), user=user, moment=moment
    )


@pytest.fixture
def varied(navigator):
    """Every reason, a covered colleague's case, ties on every sort key, cases tried
    today (one still due, one reopened by a callback) and more than one page."""
    caseload(navigator, 14)
    same_day = TODAY + dt.timedelta(days=2)
    for family in ["Zhou", "zhou", "Abbott", "Abbott"]:
        factories.CaseFactory(
            navigator=navigator, next_follow_up=same_day, patient__family_name=family
        )
    tried = factories.CaseFactory(navigator=navigator, next_follow_up=TODAY)
    factories.ContactAttemptFactory(
        case=tried, outcome="no_answer", attempted_at=NOW - dt.timedelta(hours=3)
    )
    reopened = factories.CaseFactory(navigator=navigator, next_follow_up=None)
    factories.ContactAttemptFactory(
        case=reopened, outcome="no_answer", attempted_at=NOW - dt.timedelta(hours=3)
    )
    factories.ContactAttemptFactory(
        case=reopened, direction="inbound", outcome="reached", attempted_at=NOW
    )

    # Tried today, each way a try can stand or be reopened: reached later today; an
    # inbound contact before the try (it stands) or between two tries (the later
    # stands); tried with the follow-up overdue (no waiting); an inbound contact
    # answered at the same minute (not a callback).
    def attempt(case, hours_ago: float, **kwargs):
        factories.ContactAttemptFactory(
            case=case, attempted_at=NOW - dt.timedelta(hours=hours_ago), **kwargs
        )

    reached = factories.CaseFactory(navigator=navigator, next_follow_up=TODAY)
    attempt(reached, 4, outcome="no_answer")
    attempt(reached, 1, outcome="reached")
    before = factories.CaseFactory(navigator=navigator, next_follow_up=TODAY)
    attempt(before, 5, direction="inbound", outcome="reached")
    attempt(before, 2, outcome="left_voicemail")
    between = factories.CaseFactory(navigator=navigator, next_follow_up=TODAY)
    attempt(between, 6, outcome="no_answer")
    attempt(between, 5, direction="inbound", outcome="left_voicemail")
    attempt(between, 2, outcome="no_answer")
    overdue = factories.CaseFactory(navigator=navigator, next_follow_up=TODAY - dt.timedelta(1))
    attempt(overdue, 2, outcome="no_answer")
    same_time = factories.CaseFactory(navigator=navigator)
    attempt(same_time, 30, direction="inbound", outcome="reached")
    attempt(same_time, 30, outcome="reached")
    booked = factories.CaseFactory(navigator=navigator, next_follow_up=None)
    factories.AppointmentFactory(case=booked, scheduled_at=NOW + dt.timedelta(days=20))
    # Results: an inadequate one (repeat the test), an older abnormal one, and one
    # whose colonoscopy is booked (its follow-up open, the rule not holding).
    inadequate = factories.CaseFactory(navigator=navigator)
    factories.result_recorded(inadequate, category="inadequate")
    older = factories.CaseFactory(navigator=navigator)
    factories.result_recorded(older, performed_on=TODAY - dt.timedelta(days=400))
    answered = factories.CaseFactory(navigator=navigator)
    factories.result_recorded(answered)
    factories.AppointmentFactory(
        case=answered, purpose="diagnostic", scheduled_at=NOW + dt.timedelta(days=30)
    )
    return navigator


@pytest.mark.parametrize("sort", list(SORTS))
def test_every_sort_pages_through_what_the_ranked_queryset_lists(varied, sort):
    # Given a varied caseload
    moment = Moment.current()
    filters = Filters(sort=sort)

    # When it is read a page of 4 at a time through the two-step query
    rows = paged(varied.user, filters, moment, size=4)

    # Then the pages list, in order, what the one ranked queryset lists, saying the same
    assert [said(row) for row in rows] == [
        said(row) for row in expected(varied.user, filters, moment)
    ]


@pytest.mark.parametrize(
    "filters",
    [
        Filters(overdue_only=True),
        Filters(search=parse_search("zhou")),
        Filters(status="assigned", sort="-name"),
    ],
    ids=["overdue", "search", "status-by-name"],
)
def test_a_filtered_list_pages_through_what_the_ranked_queryset_lists(varied, filters):
    moment = Moment.current()

    rows = paged(varied.user, filters, moment, size=3)

    assert rows, "the filter should keep some cases"
    assert [said(row) for row in rows] == [
        said(row) for row in expected(varied.user, filters, moment)
    ]


def test_a_page_past_the_end_is_empty_and_a_manager_sees_the_navigators_list(varied, manager):
    moment = Moment.current()
    navigators = worklist_navigators(user=varied.user, on=moment.today)

    # When a manager reads the navigator's list, and the page past its end
    cases = worklist_cases(user=manager, navigators=navigators, moment=moment)
    past = cases[cases.count() + 10 : cases.count() + 20]

    # Then the pages are the queryset's, and past the end there is nothing
    assert past == []
    assert [c.pk for c in cases[0:100]] == [
        c.pk for c in worklist_for(user=manager, navigators=navigators, moment=moment)
    ]
