"""The coaching API (navigator/api/coaching.py): individual sessions and goals, group
series, enrolments and attendance; who sees what, the happy paths, refused input (400
naming the field, nothing changed) and the number of queries."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from navigator.audit.models import AccessedPatient
from navigator.models import (
    AttendanceStatus,
    CaseEvent,
    CoachingGoal,
    CoachingSession,
    CoachingSessionStatus,
    EnrolmentStatus,
    GroupAttendance,
    GroupEnrolment,
)
from tests import factories
from tests.support.api import api_as
from tests.support.audit import AUDIT_QUERIES

pytestmark = pytest.mark.django_db


def in_days(days: float) -> str:
    return (timezone.now() + dt.timedelta(days=days)).isoformat()


@pytest.fixture
def case(navigator):
    """A case of the navigator's that takes coaching and group classes (diabetes)."""
    return factories.ControlCaseFactory(navigator=navigator)


@pytest.fixture
def control_case(navigator):
    """A diabetes control case of the navigator's (a screening case has no coaching)."""
    return factories.CaseFactory(navigator=navigator, program=factories.program("diabetes"))


@pytest.fixture
def client(navigator):
    return api_as(navigator.user)


def counts() -> tuple[int, ...]:
    """What a refused change must leave as it was."""
    return (
        CoachingSession.objects.count(),
        CoachingGoal.objects.count(),
        GroupEnrolment.objects.count(),
        GroupAttendance.objects.count(),
        CaseEvent.objects.count(),
    )


# --- Scope ------------------------------------------------------------------------------


def test_a_navigator_lists_the_sessions_of_their_caseload_and_covered_cases_only(navigator):
    # Given a session of the navigator's case, one of a colleague they cover, and one of
    # a colleague they do not cover
    own = factories.CoachingSessionFactory(case=factories.CaseFactory(navigator=navigator))
    absent = factories.NavigatorFactory()
    factories.CoverageFactory(absent=absent, covering=navigator)
    covered = factories.CoachingSessionFactory(case=factories.CaseFactory(navigator=absent))
    other = factories.CoachingSessionFactory()

    # When the navigator lists sessions and opens the other's
    client = api_as(navigator.user)
    listed = {row["id"] for row in client.get("/api/coaching-sessions/").json()["results"]}
    outside = client.get(f"/api/coaching-sessions/{other.pk}/")

    # Then they see their own and the covered one; the other is not found
    assert listed == {own.pk, covered.pk}
    assert outside.status_code == 404


def test_a_manager_sees_every_session_and_clinic_staff_none(manager, clinic_staff):
    sessions = {factories.CoachingSessionFactory().pk for _ in range(2)}

    listed = api_as(manager).get("/api/coaching-sessions/").json()["results"]

    assert {row["id"] for row in listed} == sessions
    for path in ("coaching-sessions", "coaching-goals", "group-series", "group-enrolments"):
        assert api_as(clinic_staff).get(f"/api/{path}/").status_code == 403


def test_the_case_filter_lists_one_cases_sessions(case, client):
    mine = factories.CoachingSessionFactory(case=case)
    factories.CoachingSessionFactory(case=factories.CaseFactory(navigator=case.navigator))

    rows = client.get(f"/api/coaching-sessions/?case={case.pk}").json()["results"]

    assert [row["id"] for row in rows] == [mine.pk]


def test_a_navigator_cannot_book_for_a_case_outside_their_caseload(client):
    other = factories.CaseFactory()
    before = counts()

    response = client.post(
        "/api/coaching-sessions/", {"case": other.pk, "scheduled_at": in_days(2)}
    )

    assert response.status_code == 400
    assert "case" in response.json()
    assert counts() == before


def test_a_navigator_sees_only_their_caseloads_roster_rows(navigator, client):
    series = factories.GroupSeriesFactory()
    mine = factories.GroupEnrolmentFactory(
        series=series, case=factories.CaseFactory(navigator=navigator)
    )
    factories.GroupEnrolmentFactory(series=series)

    rows = client.get(f"/api/group-enrolments/?series={series.pk}").json()["results"]

    assert [row["id"] for row in rows] == [mine.pk]


def test_only_the_facilitator_or_a_manager_records_attendance(navigator, client):
    # Given a started session of a series another navigator facilitates
    series = factories.GroupSeriesFactory()
    enrolment = factories.GroupEnrolmentFactory(
        series=series, case=factories.CaseFactory(navigator=navigator)
    )
    with time_machine.travel(timezone.now() - dt.timedelta(days=3)):
        session = factories.GroupSessionFactory(series=series, number=1)
    with time_machine.travel(session.starts_at + dt.timedelta(minutes=5)):
        # When the patient's own navigator records it
        response = client.post(
            f"/api/group-sessions/{session.pk}/attendance/",
            {"enrolment": enrolment.pk, "status": "attended"},
        )
    # Then the session is not theirs to take: not found, nothing recorded
    assert response.status_code == 404
    assert not GroupAttendance.objects.exists()


# --- Individual sessions and goals -------------------------------------------------------


def test_a_navigator_books_a_session_records_it_attended_and_sets_and_reviews_a_goal(
    control_case, client
):
    case = control_case
    # Given a session booked for tomorrow, in Spanish, on healthy eating
    response = client.post(
        "/api/coaching-sessions/",
        {"case": case.pk, "scheduled_at": in_days(1), "duration_minutes": 45,
         "topics": ["healthy_eating"], "language": "es"},
    )  # fmt: skip
    assert response.status_code == 201, response.content
    first = response.json()
    assert (first["status"], first["language"], first["topic_labels"]) == (
        "scheduled", "es", ["Healthy eating"],
    )  # fmt: skip
    second_id = client.post(
        "/api/coaching-sessions/", {"case": case.pk, "scheduled_at": in_days(8)}
    ).json()["id"]

    # When it has taken place, it is recorded attended and a goal is set in it
    with time_machine.travel(timezone.now() + dt.timedelta(days=2)):
        response = client.post(
            f"/api/coaching-sessions/{first['id']}/status/",
            {"status": "attended", "minutes_spent": 40},
        )
        assert response.status_code == 200, response.content
        assert (response.json()["status"], response.json()["minutes_spent"]) == ("attended", 40)
        response = client.post(
            f"/api/coaching-sessions/{first['id']}/goals/",
            {"text": "Walk 20 minutes after dinner", "behaviour": "being_active"},
        )
        assert response.status_code == 201, response.content
        goal = response.json()

    # Then in the next session the goal is reviewed
    with time_machine.travel(timezone.now() + dt.timedelta(days=9)):
        client.post(f"/api/coaching-sessions/{second_id}/status/", {"status": "attended"})
        response = client.post(
            f"/api/coaching-goals/{goal['id']}/review/",
            {"session": second_id, "outcome": "partly_met"},
        )
    assert response.status_code == 200, response.content
    assert (response.json()["reviewed_in"], response.json()["outcome"]) == (
        second_id, "partly_met",
    )  # fmt: skip
    detail = client.get(f"/api/coaching-sessions/{second_id}/").json()
    assert [g["id"] for g in detail["goals_reviewed"]] == [goal["id"]]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"scheduled_at": "yesterday"}, "scheduled_at"),
        ({"scheduled_at": "2001-01-01T10:00:00Z"}, "scheduled_at"),
        ({"scheduled_at": "9999-12-31T23:00:00Z"}, "scheduled_at"),
        ({"topics": ["jogging"]}, "topics"),
        ({"duration_minutes": 0}, "duration_minutes"),
        ({"duration_minutes": 10**9}, "duration_minutes"),
        ({"language": "xx-notalanguage"}, "language"),
        ({"language": "zz"}, "language"),
        ({"coach": 10**12}, "coach"),
        ({"interpreter_modality": "telepathy"}, "interpreter_modality"),
        ({"version": 0}, "version"),
    ],
)
def test_a_booking_with_bad_input_is_refused_on_its_field_and_changes_nothing(
    case, client, body, field
):
    before = counts()

    response = client.post(
        "/api/coaching-sessions/", {"case": case.pk, "scheduled_at": in_days(2), **body}
    )

    assert response.status_code == 400, response.content
    assert field in response.json()
    assert counts() == before


def test_a_booking_from_a_stale_case_version_is_a_conflict_and_changes_nothing(case, client):
    version = case.version
    client.post(f"/api/cases/{case.pk}/notes/", {"text": "x"})  # never conflicts
    client.post(f"/api/cases/{case.pk}/follow-up/", {"next_follow_up": None})
    before = counts()

    response = client.post(
        "/api/coaching-sessions/",
        {"case": case.pk, "scheduled_at": in_days(2), "version": version},
    )

    assert response.status_code == 409
    assert "version" in response.json()
    assert counts() == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "scheduled"}, "status"),
        ({"status": "attended", "minutes_spent": 0}, "minutes_spent"),
        ({"status": "missed", "minutes_spent": 30}, "minutes_spent"),
        ({"status": "attended"}, "status"),  # it has not begun yet
    ],
)
def test_a_status_with_bad_input_is_refused_on_its_field_and_changes_nothing(
    case, client, body, field
):
    session = factories.CoachingSessionFactory(case=case)
    before = counts()

    response = client.post(f"/api/coaching-sessions/{session.pk}/status/", body)

    assert response.status_code == 400, response.content
    assert field in response.json()
    assert counts() == before
    session.refresh_from_db()
    assert session.status == CoachingSessionStatus.SCHEDULED


def test_a_goal_is_set_only_in_an_attended_session(case, client):
    session = factories.CoachingSessionFactory(case=case)
    before = counts()

    response = client.post(
        f"/api/coaching-sessions/{session.pk}/goals/", {"text": "Walk", "behaviour": "being_active"}
    )
    bad_behaviour = client.post(
        f"/api/coaching-sessions/{session.pk}/goals/", {"text": "Walk", "behaviour": "flying"}
    )

    assert response.status_code == 400 and "session" in response.json()
    assert bad_behaviour.status_code == 400 and "behaviour" in bad_behaviour.json()
    assert counts() == before


def test_a_goal_is_not_reviewed_in_a_session_of_another_caseload(case, client):
    with time_machine.travel(timezone.now() - dt.timedelta(days=5)):
        session = factories.CoachingSessionFactory(case=case)
    CoachingSession.objects.filter(pk=session.pk).update(status="attended", minutes_spent=60)
    goal = CoachingGoal.objects.create(
        case=case, patient=case.patient, text="Walk", behaviour="being_active", set_in=session
    )
    elsewhere = factories.CoachingSessionFactory()
    before = counts()

    response = client.post(
        f"/api/coaching-goals/{goal.pk}/review/", {"session": elsewhere.pk, "outcome": "met"}
    )

    assert response.status_code == 400 and "session" in response.json()
    assert counts() == before
    goal.refresh_from_db()
    assert goal.is_open


# --- Group classes ------------------------------------------------------------------------


def test_a_navigator_finds_a_series_enrols_a_patient_and_withdraws_them(case, client):
    series = factories.GroupSeriesFactory(capacity=2)
    factories.GroupSessionFactory(series=series, number=1)
    factories.GroupSessionFactory(
        series=series, number=2, starts_at=timezone.now() + dt.timedelta(days=14)
    )

    listed = client.get("/api/group-series/?language=es").json()["results"]
    assert [(row["id"], row["session_count"], row["seats_taken"]) for row in listed] == [
        (series.pk, 2, 0)
    ]
    detail = client.get(f"/api/group-series/{series.pk}/").json()
    assert [session["number"] for session in detail["sessions"]] == [1, 2]

    response = client.post("/api/group-enrolments/", {"case": case.pk, "series": series.pk})
    assert response.status_code == 201, response.content
    enrolment = response.json()
    assert enrolment["status"] == EnrolmentStatus.ENROLLED
    assert client.get(f"/api/group-series/{series.pk}/").json()["seats_taken"] == 1

    response = client.post(f"/api/group-enrolments/{enrolment['id']}/withdraw/", {})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == EnrolmentStatus.WITHDRAWN


def test_enrolling_in_a_full_series_is_refused_on_the_series_and_changes_nothing(case, client):
    series = factories.GroupSeriesFactory(capacity=2)
    factories.GroupEnrolmentFactory.create_batch(2, series=series)
    before = counts()

    response = client.post("/api/group-enrolments/", {"case": case.pk, "series": series.pk})

    assert response.status_code == 400
    assert "full" in response.json()["series"][0]
    assert counts() == before


@pytest.mark.parametrize(
    "body",
    [{"series": 10**12}, {"series": "one"}, {"case": None}, {"case": -1}],
    ids=["no such series", "not an id", "no case", "negative case"],
)
def test_an_enrolment_with_bad_input_is_refused_and_changes_nothing(case, client, body):
    series = factories.GroupSeriesFactory()
    before = counts()

    response = client.post("/api/group-enrolments/", {"case": case.pk, "series": series.pk, **body})

    assert response.status_code == 400
    assert set(response.json()) & {"case", "series"}
    assert counts() == before


def test_the_facilitator_records_attendance_and_a_make_up(navigator, client):
    # Given two series of one curriculum the navigator facilitates, a patient in the
    # first who missed its session 1
    series = factories.GroupSeriesFactory(facilitator=navigator.user)
    other = factories.GroupSeriesFactory(facilitator=navigator.user)
    enrolment = factories.GroupEnrolmentFactory(series=series)
    with time_machine.travel(timezone.now() - dt.timedelta(days=10)):
        missed = factories.GroupSessionFactory(series=series, number=1)
        makeup = factories.GroupSessionFactory(series=other, number=1)
    now = timezone.now()
    response = client.post(
        f"/api/group-sessions/{missed.pk}/attendance/",
        {"enrolment": enrolment.pk, "status": "absent"},
    )
    assert response.status_code == 200, response.content

    # When they attend the other series' session 1 as a make-up
    response = client.post(
        f"/api/group-sessions/{makeup.pk}/attendance/",
        {"enrolment": enrolment.pk, "status": "attended", "makeup_for": missed.pk},
    )

    # Then it is recorded, with the session's minutes
    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["minutes"]) == ("attended", 90)
    assert response.json()["makeup_for"] == missed.pk
    assert GroupAttendance.objects.filter(status=AttendanceStatus.ATTENDED).count() == 1
    assert now <= timezone.now()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "sleeping"}, "status"),
        ({"status": "absent", "minutes": 30}, "minutes"),
        ({"status": "attended", "minutes": 10**6}, "minutes"),
        ({"status": "attended", "makeup_for": 10**12}, "makeup_for"),
        ({"enrolment": 10**12, "status": "attended"}, "enrolment"),
    ],
)
def test_attendance_with_bad_input_is_refused_on_its_field_and_changes_nothing(
    navigator, client, body, field
):
    series = factories.GroupSeriesFactory(facilitator=navigator.user)
    enrolment = factories.GroupEnrolmentFactory(series=series)
    session = factories.GroupSessionFactory(
        series=series, number=1, starts_at=timezone.now() - dt.timedelta(hours=2)
    )
    before = counts()

    response = client.post(
        f"/api/group-sessions/{session.pk}/attendance/", {"enrolment": enrolment.pk, **body}
    )

    assert response.status_code == 400, response.content
    assert field in response.json()
    assert counts() == before


def test_attendance_is_not_taken_before_the_session_begins(navigator, client):
    series = factories.GroupSeriesFactory(facilitator=navigator.user)
    enrolment = factories.GroupEnrolmentFactory(series=series)
    session = factories.GroupSessionFactory(series=series, number=1)

    response = client.post(
        f"/api/group-sessions/{session.pk}/attendance/",
        {"enrolment": enrolment.pk, "status": "attended"},
    )

    assert response.status_code == 400 and "session" in response.json()
    assert not GroupAttendance.objects.exists()


# --- Queries ------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [2, 20])
def test_the_session_list_makes_a_fixed_number_of_queries(
    manager, count, django_assert_num_queries
):
    for _ in range(count):
        factories.CoachingSessionFactory()
    client = api_as(manager)
    # 1: count for pagination; 2: the page of sessions with their coach; then the audit
    # trail's row and the patients listed.
    with django_assert_num_queries(2 + AUDIT_QUERIES):
        response = client.get("/api/coaching-sessions/?page_size=100")
    assert len(response.json()["results"]) == count


@pytest.mark.parametrize("count", [2, 20])
def test_the_series_list_and_roster_make_a_fixed_number_of_queries(
    manager, count, django_assert_num_queries
):
    series = factories.GroupSeriesFactory(capacity=20)
    for number in range(1, count + 1):
        factories.GroupSeriesFactory()
        factories.GroupSessionFactory(series=series, number=number)
        factories.GroupEnrolmentFactory(series=series)
    client = api_as(manager)
    # 1: count for pagination; 2: the series with facilitator, program, dates and seats;
    # then the audit trail's row (no patient).
    with django_assert_num_queries(3):
        response = client.get("/api/group-series/?page_size=100")
    assert len(response.json()["results"]) == count + 1
    # 1: count; 2: the roster rows; 3: their attendance; then the audit trail's rows.
    with django_assert_num_queries(3 + AUDIT_QUERIES):
        response = client.get(f"/api/group-enrolments/?series={series.pk}&page_size=100")
    assert len(response.json()["results"]) == count


def test_listing_sessions_and_roster_rows_notes_their_patients_in_the_access_trail(manager):
    session = factories.CoachingSessionFactory()
    enrolment = factories.GroupEnrolmentFactory()
    client = api_as(manager)

    client.get("/api/coaching-sessions/")
    client.get("/api/group-enrolments/")

    noted = set(AccessedPatient.objects.values_list("patient_id", flat=True))
    assert noted == {session.patient_id, enrolment.patient_id}


@pytest.mark.parametrize("value", ["99999999999999999999999", "0", "1.5", "x"])
def test_an_id_filter_no_column_can_hold_is_a_400_on_the_parameter(manager, value):
    client = api_as(manager)

    for path in ("coaching-sessions", "coaching-goals", "group-enrolments"):
        response = client.get(f"/api/{path}/", {"case": value})
        assert response.status_code == 400, (path, response.content)
        assert "case" in response.json()
