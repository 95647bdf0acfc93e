"""Ending a group class enrolment (navigator/services/group_classes.py
`group_enrolment_set_status`): withdrawing twice changes nothing the second time, an
enrolment already ended the other way is refused with a specific error, and a closed
case's patient may be withdrawn (freeing the seat) but not marked as having completed
the series. Every refusal writes nothing."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from navigator.models import (
    CaseEvent,
    CaseEventKind,
    CaseStatus,
    EnrolmentStatus,
    GroupEnrolment,
    NavigationCase,
)
from navigator.services.group_classes import group_enrol, group_enrolment_set_status
from tests import factories

pytestmark = pytest.mark.django_db


def enrolled(*, capacity: int = 12, **case):
    """A control case's patient enrolled in a series, through the service."""
    control = factories.ControlCaseFactory(**case)
    series = factories.GroupSeriesFactory(capacity=capacity)
    return group_enrol(case=control, series=series, actor=control.navigator.user)


def end(enrolment, status="withdrawn", **kwargs):
    return group_enrolment_set_status(
        enrolment=enrolment.pk, status=status, actor=enrolment.case.navigator.user, **kwargs
    )


def close(case, status=CaseStatus.DECLINED) -> None:
    NavigationCase.objects.filter(pk=case.pk).update(status=status)


def state(enrolment) -> tuple:
    """Everything a refused or repeated end must leave as it was."""
    row = GroupEnrolment.objects.get(pk=enrolment.pk)
    case = NavigationCase.objects.get(pk=enrolment.case_id)
    return row.status, row.ended_at, CaseEvent.objects.filter(case=case).count(), case.version


def test_withdrawing_an_enrolment_already_withdrawn_changes_nothing():
    # Given a patient withdrawn from a series
    enrolment = enrolled()
    end(enrolment)
    before = state(enrolment)

    # When they are withdrawn again (a second click, a retry)
    again = end(enrolment)

    # Then it is the same withdrawal: no new end date, no second timeline entry
    assert again.status == EnrolmentStatus.WITHDRAWN
    assert state(enrolment) == before


@pytest.mark.parametrize(
    ("first", "then", "says"),
    [
        ("completed", "withdrawn", "already completed the series; it cannot be withdrawn"),
        ("withdrawn", "completed", "was withdrawn from the series; it cannot be completed"),
    ],
)
def test_an_enrolment_ended_one_way_is_not_ended_the_other(first, then, says):
    # Given an enrolment already ended one way
    enrolment = enrolled()
    end(enrolment, first)
    before = state(enrolment)

    # When it is ended the other way
    with pytest.raises(ValidationError) as refused:
        end(enrolment, then)

    # Then the refusal says why, on the status, and nothing changes
    assert says in refused.value.message_dict["status"][0]
    assert state(enrolment) == before


@pytest.mark.parametrize("status", ["enrolled", "", "deleted"])
def test_a_status_that_is_not_an_end_is_refused_and_changes_nothing(status):
    enrolment = enrolled()
    before = state(enrolment)

    with pytest.raises(ValidationError) as refused:
        end(enrolment, status)

    assert "is not an end of an enrolment" in refused.value.message_dict["status"][0]
    assert state(enrolment) == before


@pytest.mark.parametrize("closed_as", [CaseStatus.DECLINED, CaseStatus.CLOSED_UNREACHABLE])
def test_a_closed_cases_patient_is_withdrawn_and_the_seat_freed(closed_as):
    # Given a series of two, full, one of whose patients' case has since closed
    enrolment = enrolled(capacity=2)
    series = enrolment.series
    factories.GroupEnrolmentFactory(series=series)
    close(enrolment.case, closed_as)

    # When that patient is withdrawn
    withdrawn = end(enrolment)

    # Then the seat is free for another patient, and the closed case's timeline says so
    assert withdrawn.status == EnrolmentStatus.WITHDRAWN
    newcomer = factories.ControlCaseFactory()
    group_enrol(case=newcomer, series=series, actor=newcomer.navigator.user)
    assert series.enrolments.filter(status="enrolled").count() == 2
    event = CaseEvent.objects.filter(case=enrolment.case).latest("pk")
    assert event.kind == CaseEventKind.GROUP_ENROLMENT_UPDATED
    assert (event.data["from"], event.data["to"]) == ("enrolled", "withdrawn")


def test_a_closed_cases_patient_is_not_marked_as_having_completed_the_series():
    # Given an enrolment whose case closed (the patient declined)
    enrolment = enrolled()
    close(enrolment.case)
    before = state(enrolment)

    # When it is marked completed
    with pytest.raises(ValidationError) as refused:
        end(enrolment, "completed")

    # Then it is refused, saying what can be done instead, and nothing changes
    [message] = refused.value.message_dict["status"]
    assert "is declined" in message and "withdraw" in message
    assert state(enrolment) == before
