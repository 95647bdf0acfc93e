"""A booking sent twice (a client's retry, a form submitted again) books one coaching
session (navigator/services/coaching.py `coaching_session_book`): the second is refused
naming the session already there, and writes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from navigator.models import CaseEvent, CoachingSession, CoachingSessionStatus
from navigator.services.coaching import (
    DuplicateCoachingSessionError,
    coaching_session_book,
    coaching_session_set_status,
)
from outreach.models import InterpreterRequest, PatientMessage
from tests import factories

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
AT = NOW + dt.timedelta(days=3)


@pytest.fixture(autouse=True)
def now():
    with time_machine.travel(NOW, tick=False):
        yield


def written(case) -> tuple[int, ...]:
    """Everything a refused booking must leave as it was."""
    case.refresh_from_db()
    return (
        CoachingSession.objects.count(),
        CaseEvent.objects.filter(case=case).count(),
        InterpreterRequest.objects.count(),
        PatientMessage.objects.count(),
        case.version,
    )


def book(case, **kwargs):
    return coaching_session_book(case=case.pk, scheduled_at=AT, actor=case.navigator.user, **kwargs)


def test_the_same_booking_again_is_refused_naming_the_session_already_booked():
    # Given a session booked for a patient who needs an interpreter
    case = factories.ControlCaseFactory(patient__interpreter_needed=True)
    first = book(case)
    before = written(case)

    # When the same booking arrives again (a retry)
    with pytest.raises(DuplicateCoachingSessionError) as refused:
        book(case)

    # Then it is refused on the time, naming the session there, and nothing is written
    assert refused.value.existing == first
    [message] = refused.value.message_dict["scheduled_at"]
    assert f"session #{first.pk}" in message and "nothing was booked" in message
    assert written(case) == before


def test_a_retry_made_from_the_version_the_first_booking_saw_names_the_session_too():
    # Given a session booked from the case's current version
    case = factories.ControlCaseFactory()
    case.refresh_from_db()
    version = case.version
    first = book(case, expected_version=version)
    before = written(case)

    # When the same request, with the same version, is sent again
    with pytest.raises(DuplicateCoachingSessionError) as refused:
        book(case, expected_version=version)

    # Then the answer is the session it already booked, not only "the case changed"
    assert refused.value.existing == first
    assert written(case) == before


def test_a_session_at_the_same_time_can_be_booked_again_once_the_first_is_cancelled():
    # Given a session booked, then cancelled
    case = factories.ControlCaseFactory()
    first = book(case)
    coaching_session_set_status(session=first, status="cancelled", actor=case.navigator.user)

    # When the same time is booked again
    again = book(case)

    # Then there are two sessions, one cancelled and one scheduled
    assert again != first
    assert sorted(CoachingSession.objects.values_list("status", flat=True)) == [
        CoachingSessionStatus.CANCELLED, CoachingSessionStatus.SCHEDULED,
    ]  # fmt: skip


def test_another_time_or_another_patients_case_at_that_time_is_booked():
    # Given a session booked for one case
    case = factories.ControlCaseFactory()
    book(case)
    other = factories.ControlCaseFactory(navigator=case.navigator)

    # When the same case books a minute later, and another case at the same time
    coaching_session_book(case=case, scheduled_at=AT + dt.timedelta(minutes=1),
                          actor=case.navigator.user)  # fmt: skip
    book(other)

    # Then all three are booked
    assert CoachingSession.objects.filter(status="scheduled").count() == 3
