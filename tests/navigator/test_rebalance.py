"""Managers move cases between navigators in one atomic, logged action."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from navigator.models import CaseEventKind, CaseStatus, NavigationCase, Rebalance
from navigator.services import assignment
from navigator.services.assignment import navigator_rebalance
from outreach.models import FollowUpReminder
from tests import factories
from tests.support.api import api_as

pytestmark = pytest.mark.django_db


def caseload(navigator, count: int) -> list[NavigationCase]:
    return [factories.CaseFactory(navigator=navigator) for _ in range(count)]


def open_count(navigator) -> int:
    return NavigationCase.objects.filter(navigator=navigator, status=CaseStatus.ASSIGNED).count()


def test_it_moves_the_requested_number_of_cases_uncontacted_first_and_logs_it():
    # Given a navigator with five cases, two of them already contacted
    manager = factories.ManagerFactory()
    source = factories.NavigatorFactory()
    cases = caseload(source, 5)
    for contacted in cases[:2]:
        factories.ContactAttemptFactory(case=contacted)
    target = factories.NavigatorFactory()

    # When a manager moves three
    rebalance = navigator_rebalance(from_navigator=source, actor=manager, count=3)

    # Then the three never contacted move, and the two relationships stay
    moved = set(NavigationCase.objects.filter(navigator=target).values_list("pk", flat=True))
    assert moved == {c.pk for c in cases[2:]}
    assert open_count(source) == 2
    assert rebalance.moved == 3 and rebalance.requested == 3 and rebalance.actor == manager
    assert rebalance.summary == f"Moved 3 cases from {source}: 3 to {target}"
    events = list(cases[2].events.filter(kind=CaseEventKind.ASSIGNED))
    assert len(events) == 1
    assert events[0].actor == manager
    assert events[0].data["rebalance"] == rebalance.pk
    assert events[0].data["from"] == source.pk
    assert events[0].data["reason"].startswith(f"rebalanced from {source}: speaks English")


def test_cases_spread_by_spare_capacity_as_they_move():
    source = factories.NavigatorFactory()
    caseload(source, 4)
    roomy = factories.NavigatorFactory(caseload_capacity=100)
    caseload(roomy, 97)
    roomier = factories.NavigatorFactory(caseload_capacity=100)
    caseload(roomier, 96)

    navigator_rebalance(from_navigator=source, actor=factories.ManagerFactory())

    # 96 → 97, then 97/97 ties go to the lower id, and so on: loads stay level
    assert open_count(roomy) == 99
    assert open_count(roomier) == 98


def test_a_leaving_navigator_hands_on_every_case_and_is_made_inactive():
    source = factories.NavigatorFactory()
    cases = caseload(source, 3)
    reminder = FollowUpReminder.objects.create(
        case=cases[0], navigator=source, due_on=cases[0].next_follow_up
    )
    target = factories.NavigatorFactory()

    rebalance = navigator_rebalance(
        from_navigator=source, actor=factories.ManagerFactory(), deactivate=True
    )

    source.refresh_from_db()
    reminder.refresh_from_db()
    assert source.active is False
    assert open_count(source) == 0
    assert open_count(target) == 3
    assert rebalance.deactivated and rebalance.moved == 3
    assert rebalance.summary.endswith("; navigator made inactive")
    # Pending reminders follow their cases
    assert reminder.navigator == target


def test_it_moves_only_to_the_chosen_navigators():
    source = factories.NavigatorFactory()
    caseload(source, 2)
    chosen = factories.NavigatorFactory(caseload_capacity=10)
    factories.NavigatorFactory(caseload_capacity=1000)

    navigator_rebalance(
        from_navigator=source, actor=factories.ManagerFactory(), to_navigators=[chosen]
    )

    assert open_count(chosen) == 2


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"count": 0}, "count", "Move at least one case."),
        ({"count": 4}, "count", "has only 3 open cases."),
        ({"count": 1, "deactivate": True}, "count", "leave the number empty"),
    ],
)
def test_it_refuses_a_bad_count_and_moves_nothing(kwargs, field, message):
    source = factories.NavigatorFactory()
    caseload(source, 3)
    factories.NavigatorFactory()

    with pytest.raises(ValidationError) as refused:
        navigator_rebalance(from_navigator=source, actor=factories.ManagerFactory(), **kwargs)

    assert message in refused.value.message_dict[field][0]
    assert open_count(source) == 3
    assert not Rebalance.objects.exists()
    source.refresh_from_db()
    assert source.active


def test_it_refuses_to_move_cases_to_their_own_navigator():
    source = factories.NavigatorFactory()
    caseload(source, 1)

    with pytest.raises(ValidationError) as refused:
        navigator_rebalance(
            from_navigator=source, actor=factories.ManagerFactory(), to_navigators=[source]
        )

    assert "the navigator they come from" in refused.value.message_dict["to_navigators"][0]
    assert open_count(source) == 1


def test_it_refuses_an_inactive_target():
    source = factories.NavigatorFactory()
    caseload(source, 1)
    gone = factories.NavigatorFactory(active=False)

    with pytest.raises(ValidationError) as refused:
        navigator_rebalance(
            from_navigator=source, actor=factories.ManagerFactory(), to_navigators=[gone]
        )

    assert f"Not an active navigator: {gone}." == refused.value.message_dict["to_navigators"][0]
    assert open_count(source) == 1


def test_it_refuses_when_nobody_else_can_take_the_cases():
    source = factories.NavigatorFactory()
    caseload(source, 1)

    with pytest.raises(ValidationError) as refused:
        navigator_rebalance(from_navigator=source, actor=factories.ManagerFactory())

    assert "No other active navigator" in refused.value.message_dict["to_navigators"][0]


def test_a_failure_midway_leaves_every_case_where_it_was(monkeypatch):
    # Given a rebalance whose third move fails
    source = factories.NavigatorFactory()
    caseload(source, 5)
    factories.NavigatorFactory()
    real_assign = assignment.case_assign
    calls = {"n": 0}

    def failing_assign(**kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("database went away")
        return real_assign(**kwargs)

    monkeypatch.setattr(assignment, "case_assign", failing_assign)

    with pytest.raises(RuntimeError):
        navigator_rebalance(from_navigator=source, actor=factories.ManagerFactory())

    # Then nothing moved and nothing was logged
    assert open_count(source) == 5
    assert not Rebalance.objects.exists()
    assert not NavigationCase.objects.filter(events__kind=CaseEventKind.ASSIGNED).exists()


def test_the_api_moves_cases_for_a_manager():
    source = factories.NavigatorFactory()
    caseload(source, 3)
    target = factories.NavigatorFactory()

    response = api_as(factories.ManagerFactory()).post(
        f"/api/navigators/{source.pk}/rebalance/",
        {"count": 2, "to_navigators": [target.pk]},
        format="json",
    )

    assert response.status_code == 201, response.content
    assert response.json()["moved"] == 2
    assert open_count(target) == 2


def test_the_api_refuses_a_bad_count_with_a_field_error():
    source = factories.NavigatorFactory()
    caseload(source, 1)
    factories.NavigatorFactory()

    response = api_as(factories.ManagerFactory()).post(
        f"/api/navigators/{source.pk}/rebalance/", {"count": 5}, format="json"
    )

    assert response.status_code == 400
    assert "has only 1 open case." in str(response.json()["count"])


def test_navigators_cannot_rebalance():
    source = factories.NavigatorFactory()
    caseload(source, 1)

    response = api_as(source.user).post(
        f"/api/navigators/{source.pk}/rebalance/", {}, format="json"
    )

    assert response.status_code == 403
    assert open_count(source) == 1


def test_the_team_page_form_moves_cases_and_says_where_they_went(client):
    source = factories.NavigatorFactory()
    caseload(source, 2)
    target = factories.NavigatorFactory()
    client.force_login(factories.ManagerFactory())

    response = client.post(
        "/team/rebalance/", {"from_navigator": source.pk, "count": "2"}, follow=True
    )

    assert response.status_code == 200
    assert f"Moved 2 cases from {source}: 2 to {target}." in response.content.decode()
    assert open_count(target) == 2


def test_the_team_page_form_shows_a_refusal_on_its_field(client):
    source = factories.NavigatorFactory()
    caseload(source, 1)
    factories.NavigatorFactory()
    client.force_login(factories.ManagerFactory())

    response = client.post("/team/rebalance/", {"from_navigator": source.pk, "count": "9"})

    assert response.status_code == 400
    assert "has only 1 open case." in response.content.decode()
    assert open_count(source) == 1
