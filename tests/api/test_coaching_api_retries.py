"""A coaching API request sent again (a client retrying after a timeout) changes nothing
more (navigator/api/coaching.py): a booking is refused with 409 naming the session it
already booked; an enrolment or an attendance is answered with what is there."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from navigator.models import (
    CaseEvent,
    CaseEventKind,
    CoachingSession,
    GroupAttendance,
    GroupEnrolment,
)
from tests import factories
from tests.support.api import api_as

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(navigator):
    return factories.ControlCaseFactory(navigator=navigator)


@pytest.fixture
def client(navigator):
    return api_as(navigator.user)


def at(days: float) -> str:
    return (timezone.now() + dt.timedelta(days=days)).replace(microsecond=0).isoformat()


def events(case) -> int:
    return CaseEvent.objects.filter(case=case).count()


@pytest.mark.parametrize("with_version", [False, True], ids=["no version", "same version"])
def test_a_booking_sent_again_is_a_conflict_naming_the_session_already_booked(
    case, client, with_version
):
    # Given a session booked through the API (from the case's version, or without one)
    body = {"case": case.pk, "scheduled_at": at(2), "duration_minutes": 45}
    if with_version:
        case.refresh_from_db()
        body["version"] = case.version
    first = client.post("/api/coaching-sessions/", body)
    assert first.status_code == 201, first.content
    before = (CoachingSession.objects.count(), events(case))

    # When the client sends the same request again
    again = client.post("/api/coaching-sessions/", body)

    # Then it is a 409 on the time, naming the session booked, and nothing more is written
    assert again.status_code == 409, again.content
    answer = again.json()
    assert f"session #{first.json()['id']}" in answer["scheduled_at"][0]
    assert answer["existing_session"] == {
        "id": first.json()["id"],
        "url": f"/api/coaching-sessions/{first.json()['id']}/",
        "status": "scheduled",
        "scheduled_at": first.json()["scheduled_at"],
    }
    assert (CoachingSession.objects.count(), events(case)) == before


def test_an_enrolment_sent_again_answers_the_enrolment_there_and_adds_nothing(case, client):
    # Given a patient enrolled in a series through the API
    series = factories.GroupSeriesFactory()
    body = {"case": case.pk, "series": series.pk}
    first = client.post("/api/group-enrolments/", body)
    assert first.status_code == 201, first.content
    before = events(case)

    # When the same enrolment is sent again
    again = client.post("/api/group-enrolments/", body)

    # Then the answer is the same enrolment, 200 (nothing created), and nothing is written
    assert again.status_code == 200, again.content
    assert again.json()["id"] == first.json()["id"]
    assert GroupEnrolment.objects.filter(series=series).count() == 1
    assert events(case) == before


def test_attendance_sent_again_records_it_once(navigator, client):
    # Given a session that has begun, and a patient on its roster
    series = factories.GroupSeriesFactory(facilitator=navigator.user)
    enrolment = factories.GroupEnrolmentFactory(series=series)
    session = factories.GroupSessionFactory(
        series=series, number=1, starts_at=timezone.now() - dt.timedelta(hours=2)
    )
    url = f"/api/group-sessions/{session.pk}/attendance/"
    body = {"enrolment": enrolment.pk, "status": "attended"}

    # When the facilitator's app sends the same attendance twice
    answers = [client.post(url, body) for _ in range(2)]

    # Then both answer the one row, and the timeline has one entry
    assert [answer.status_code for answer in answers] == [200, 200]
    assert answers[0].json()["id"] == answers[1].json()["id"]
    assert GroupAttendance.objects.filter(session=session).count() == 1
    kind = CaseEventKind.GROUP_ATTENDANCE
    assert CaseEvent.objects.filter(case=enrolment.case, kind=kind).count() == 1
