"""Two managers acting on the same cases at the same moment, on PostgreSQL."""

from __future__ import annotations

from functools import partial

import pytest

from navigator.models import CaseEvent, CaseEventKind, NavigationCase, Rebalance
from navigator.services.assignment import case_assign, navigator_rebalance
from tests import factories
from tests.support.api import api_as

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def post_together(at_once):
    def post(requests: list[tuple[object, str, dict]]) -> list[tuple[int, dict]]:
        """POST each (user, url, payload) from its own thread, released at once."""
        jobs = [
            partial(api_as(user).post, url, payload, format="json")
            for user, url, payload in requests
        ]
        responses = [outcome.result() for outcome in at_once(jobs, timeout=30)]
        return [(response.status_code, response.json()) for response in responses]

    return post


def test_two_managers_assigning_one_case_at_once_cannot_both_win(require_postgres, post_together):
    # Given a case both managers opened at the same version
    case = factories.CaseFactory()
    version = case.version
    luis, rosa = factories.NavigatorFactory(), factories.NavigatorFactory()
    first, second = factories.ManagerFactory(), factories.ManagerFactory()
    url = f"/api/cases/{case.pk}/assign/"

    # When both assign it to different navigators at the same moment
    answers = post_together(
        [
            (first, url, {"navigator": luis.pk, "version": version}),
            (second, url, {"navigator": rosa.pk, "version": version}),
        ]
    )

    # Then exactly one wins, the other is told who did, and one assignment is recorded
    codes = sorted(code for code, _ in answers)
    assert codes == [200, 409], answers
    winner = luis if answers[0][0] == 200 else rosa
    loser_message = next(body for code, body in answers if code == 409)["version"][0]
    assert f"assigned this case to {winner} after you opened it" in loser_message
    case.refresh_from_db()
    assert case.navigator == winner
    assert CaseEvent.objects.filter(case=case, kind=CaseEventKind.ASSIGNED).count() == 1


def test_two_rebalances_from_one_navigator_never_move_a_case_twice(require_postgres, post_together):
    # Given a navigator with six cases and two colleagues
    source = factories.NavigatorFactory()
    cases = [factories.CaseFactory(navigator=source) for _ in range(6)]
    factories.NavigatorFactory()
    factories.NavigatorFactory()
    url = f"/api/navigators/{source.pk}/rebalance/"

    # When two managers each move four at the same moment
    answers = post_together(
        [
            (factories.ManagerFactory(), url, {"count": 4}),
            (factories.ManagerFactory(), url, {"count": 4}),
        ]
    )

    # Then one moved four; the other, seeing only two left, was refused and moved none
    codes = sorted(code for code, _ in answers)
    assert codes == [201, 400], answers
    refusal = next(body for code, body in answers if code == 400)
    assert "has only 2 open cases" in refusal["count"][0]
    assert Rebalance.objects.get().moved == 4
    assert NavigationCase.objects.filter(navigator=source).count() == 2
    for case in cases:
        moves = CaseEvent.objects.filter(case=case, kind=CaseEventKind.ASSIGNED).count()
        assert moves <= 1


def test_a_manager_assigning_a_case_while_another_rebalances_its_navigator_never_deadlocks(
    require_postgres, at_once
):
    # Given a navigator with cases, a colleague, and one of the cases that a second
    # manager is about to give to that colleague by hand
    source, colleague = factories.NavigatorFactory(), factories.NavigatorFactory()
    cases = [factories.CaseFactory(navigator=source) for _ in range(5)]
    by_hand = cases[-1]
    first, second = factories.ManagerFactory(), factories.ManagerFactory()

    for attempt in range(3):
        # When one manager moves every case of the navigator while the other assigns
        # that case, at the same moment (the rebalance locks navigators, then cases)
        outcomes = at_once(
            [
                partial(navigator_rebalance, from_navigator=source, actor=first),
                partial(case_assign, case=by_hand.pk, navigator=colleague, actor=second),
            ]
        )

        # Then both go through, one after the other: neither dies in a deadlock
        rebalance, assigned = (outcome.result() for outcome in outcomes)
        assert rebalance.moved >= len(cases) - 1, attempt
        assert assigned.navigator_id == colleague.pk
        NavigationCase.objects.filter(pk__in=[c.pk for c in cases]).update(navigator=source)
