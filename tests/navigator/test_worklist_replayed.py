"""The worklist's side reads with their SQL kept per key (navigator/worklist/replayed.py):
whose cases make up a list, how many cases it holds, and the calls due today and done.
Each, read again from its kept SQL, answers what the ORM answers afresh, in every state
the tests go through (covers given, ended and cancelled; cases opened, closed and
filtered; calls made by the navigator and by others, today and yesterday; a manager
looking on), and sends one query.

The clock stands still at 2 pm in Boston on Tuesday 24 November 2026.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from navigator.models import CaseStatus
from navigator.selectors.worklist import worklist_calls_today, worklist_cases, worklist_navigators
from navigator.worklist import replayed
from navigator.worklist.filters import Filters
from navigator.worklist.rules import Moment
from tests import factories
from tests.navigator.test_worklist import NOW, TODAY
from tests.navigator.test_worklist_morning import (
    boston,
    call_without_reaching,
    due_case,
    quiet_case,
)

pytestmark = [pytest.mark.django_db, pytest.mark.frozen_clock(NOW)]


def _fresh(read):
    """`read()` through the ORM, nothing kept: the reference."""
    replayed._CACHE.entries.clear()  # noqa: SLF001 - the test empties the process's cache
    answer = read()
    replayed._CACHE.entries.clear()  # noqa: SLF001
    return answer


def _kept(read):
    """`read()` from the kept SQL (read once first so that it is kept), with the queries
    it sent."""
    read()
    with CaptureQueriesContext(connection) as sent:
        answer = read()
    return answer, len(sent.captured_queries)


def _navigators(user, owner=None):
    return [
        (n.pk, n.user.username, n.covered_until)
        for n in worklist_navigators(user=user, navigator=owner, on=TODAY)
    ]


def _count(user, navigators, filters=None):
    moment = Moment.current()
    return worklist_cases(user=user, navigators=navigators, filters=filters, moment=moment).count()


def _calls(user, navigators, caller):
    counts = worklist_calls_today(
        user=user, navigators=navigators, caller=caller, moment=Moment.current()
    )
    return (counts.due, counts.done)


def _agree(read) -> None:
    expected = _fresh(read)
    answer, queries = _kept(read)
    assert answer == expected
    assert queries == 1


def test_whose_cases_agree_as_covers_come_and_go(navigator, manager):
    colleague, other = factories.NavigatorFactory(), factories.NavigatorFactory()
    user = navigator.user
    states = []

    def check() -> None:
        for reader, owner in [(user, None), (manager, navigator), (manager, colleague)]:
            _agree(lambda reader=reader, owner=owner: _navigators(reader, owner))
        states.append(_fresh(lambda: _navigators(user)))

    check()
    cover = factories.CoverageFactory(absent=colleague, covering=navigator)
    check()
    factories.CoverageFactory(
        absent=other, covering=navigator, ends_on=TODAY + dt.timedelta(days=9)
    )
    check()
    cover.cancelled_at = NOW
    cover.save(update_fields=["cancelled_at"])
    check()
    factories.CoverageFactory(
        absent=colleague, covering=navigator, ends_on=TODAY - dt.timedelta(days=1)
    )
    check()
    # The states differ, so each comparison above compared something.
    assert len(states[0]) == 1 and len(states[1]) == 2 and len(states[2]) == 3
    assert len(states[3]) == 2 and len(states[4]) == 2


def test_the_count_agrees_as_cases_open_close_and_filters_change(navigator, manager):
    user = navigator.user
    seen = []

    def check() -> None:
        navigators = _fresh(lambda: worklist_navigators(user=user, on=TODAY))
        for reader in (user, manager):
            for filters in (None, Filters(overdue_only=True), Filters(status="contacting")):
                _agree(lambda r=reader, f=filters: _count(r, navigators, f))
        seen.append(_fresh(lambda: _count(user, navigators)))

    check()
    due_case(navigator)
    quiet_case(navigator)
    check()
    closed = due_case(navigator)
    check()
    closed.status = CaseStatus.CLOSED
    closed.save(update_fields=["status"])
    check()
    colleague = factories.NavigatorFactory()
    factories.CoverageFactory(absent=colleague, covering=navigator)
    due_case(colleague)
    check()
    # The counts differ from state to state, so each comparison compared something.
    assert seen == [0, 2, 3, 2, 3]


def test_calls_today_agree_as_calls_are_made(navigator, manager):
    user = navigator.user
    colleague = factories.NavigatorFactory()
    seen = []

    def check() -> None:
        for reader, caller in [(user, user), (manager, user), (user, colleague.user)]:
            _agree(lambda r=reader, c=caller: _calls(r, [navigator], c))
        seen.append(_fresh(lambda: _calls(user, [navigator], user)))

    check()
    first, second = due_case(navigator), due_case(navigator)
    quiet = quiet_case(navigator)
    check()
    call_without_reaching(first, at=boston(TODAY, 9))
    check()
    call_without_reaching(second, at=boston(TODAY, 10), actor=colleague.user)
    check()
    call_without_reaching(quiet, at=boston(TODAY - dt.timedelta(days=1), 23, 30))
    check()
    factories.CaseFactory(navigator=navigator, next_follow_up=None)
    check()
    # The counts differ from state to state, so each comparison compared something.
    assert seen == [(0, 0), (2, 0), (2, 1), (1, 1), (1, 1), (2, 1)]


def test_nothing_is_kept_for_a_read_that_sends_no_query():
    # A manager's list of nobody: Django answers without a query, and so does this.
    manager = factories.UserFactory(role="manager")
    assert _fresh(lambda: _count(manager, [])) == 0
    with CaptureQueriesContext(connection) as sent:
        assert _count(manager, []) == 0
    assert sent.captured_queries == []
