"""Reads of coaching (navigator/selectors/coaching.py): each role's scope, the next
series with room, and the DSMT education hours."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from navigator.selectors.coaching import (
    coaching_goals_visible_to,
    coaching_sessions_visible_to,
    education_hours,
    group_attendance_visible_to,
    group_enrolments_visible_to,
    group_roster,
    group_series_visible_to,
    next_group_series_with_room,
)
from tests import factories

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 1, 15, 0, tzinfo=dt.UTC)


@pytest.fixture
def world(navigator, manager, clinic_staff):
    """Two navigators' caseloads, each with a session and an enrolment in one series."""
    other = factories.NavigatorFactory()
    series = factories.GroupSeriesFactory()
    mine = factories.CoachingSessionFactory(case__navigator=navigator)
    theirs = factories.CoachingSessionFactory(case__navigator=other)
    my_enrolment = factories.GroupEnrolmentFactory(series=series, case=mine.case)
    their_enrolment = factories.GroupEnrolmentFactory(series=series, case=theirs.case)
    return {
        "navigator": navigator, "other": other, "manager": manager, "clinic_staff": clinic_staff,
        "series": series, "mine": mine, "theirs": theirs, "my_enrolment": my_enrolment,
        "their_enrolment": their_enrolment,
    }  # fmt: skip


def test_a_navigator_sees_the_sessions_and_roster_rows_of_their_caseload_only(world):
    user = world["navigator"].user

    assert list(coaching_sessions_visible_to(user)) == [world["mine"]]
    assert list(group_enrolments_visible_to(user)) == [world["my_enrolment"]]
    assert list(group_series_visible_to(user)) == [world["series"]]


def test_a_navigator_covering_a_colleague_sees_the_colleagues_sessions(world):
    factories.CoverageFactory(absent=world["other"], covering=world["navigator"])

    seen = set(coaching_sessions_visible_to(world["navigator"].user))

    assert seen == {world["mine"], world["theirs"]}


def test_a_manager_sees_every_session_and_roster_row(world):
    user = world["manager"]

    assert set(coaching_sessions_visible_to(user)) == {world["mine"], world["theirs"]}
    assert set(group_enrolments_visible_to(user)) == {
        world["my_enrolment"], world["their_enrolment"],
    }  # fmt: skip


def test_the_facilitator_sees_the_whole_roster_of_their_series(world):
    facilitator = world["series"].facilitator

    assert set(group_enrolments_visible_to(facilitator)) == {
        world["my_enrolment"], world["their_enrolment"],
    }  # fmt: skip
    # but not the individual sessions of patients outside their caseload
    assert list(coaching_sessions_visible_to(facilitator)) == []


@pytest.mark.parametrize("role", ["clinic_staff", "compliance", "anonymous"])
def test_clinic_staff_the_compliance_officer_and_nobody_see_no_coaching(world, role):
    from django.contrib.auth.models import AnonymousUser

    user = {
        "clinic_staff": world["clinic_staff"],
        "compliance": factories.UserFactory(role="compliance"),
        "anonymous": AnonymousUser(),
    }[role]

    assert not coaching_sessions_visible_to(user).exists()
    assert not coaching_goals_visible_to(user).exists()
    assert not group_series_visible_to(user).exists()
    assert not group_enrolments_visible_to(user).exists()
    assert not group_attendance_visible_to(user).exists()


def test_the_roster_reads_in_two_queries_whatever_its_size(world, django_assert_num_queries):
    for _ in range(3):
        factories.GroupEnrolmentFactory(series=world["series"])

    # 1: the roster rows with patient and case (scoped); 2: their attendance with sessions
    with django_assert_num_queries(2):
        roster = group_roster(user=world["manager"], series_id=world["series"].pk)
        [list(enrolment.attendance.all()) for enrolment in roster]

    assert len(roster) == 5


def _series_starting(days, *, language="es", capacity=8):
    series = factories.GroupSeriesFactory(language=language, capacity=capacity)
    factories.GroupSessionFactory(series=series, starts_at=NOW + dt.timedelta(days=days))
    return series


def test_the_next_series_with_room_is_the_soonest_in_the_patients_language(
    django_assert_num_queries,
):
    with time_machine.travel(NOW, tick=False):
        # Given a Spanish speaker, and series: full, English, started, later and sooner
        case = factories.ControlCaseFactory(patient__preferred_language="es")
        full = _series_starting(3, capacity=2)
        for _ in range(2):
            factories.GroupEnrolmentFactory(series=full)
        _series_starting(4, language="en")
        _series_starting(-2)
        later = _series_starting(30)
        sooner = _series_starting(10)
        case.patient  # noqa: B018 - loaded before counting

        # 1: the series with their first session and seats taken, filtered and ordered
        with django_assert_num_queries(1):
            found = next_group_series_with_room(case=case, now=timezone.now())

    # Then it is the soonest Spanish series still ahead with a seat
    assert found == sooner
    assert later != sooner


def test_a_patient_already_on_a_series_is_offered_the_next_one():
    with time_machine.travel(NOW, tick=False):
        case = factories.ControlCaseFactory(patient__preferred_language="es")
        sooner, later = _series_starting(5), _series_starting(20)
        factories.GroupEnrolmentFactory(series=sooner, case=case)

        assert next_group_series_with_room(case=case) == later


def _attended_session(patient_case, when, minutes):
    return factories.CoachingSessionFactory(
        case=patient_case, scheduled_at=when, status="attended", minutes_spent=minutes
    )


def _attended_class(enrolment, when, minutes):
    from navigator.models import GroupAttendance

    session = factories.GroupSessionFactory(series=enrolment.series, starts_at=when)
    return GroupAttendance.objects.create(
        session=session, enrolment=enrolment, patient=enrolment.patient, status="attended",
        minutes=minutes, recorded_by=enrolment.enrolled_by,
    )  # fmt: skip


def test_the_first_years_hours_count_against_one_individual_and_nine_group_hours(
    django_assert_num_queries,
):
    # Given an hour and a half of individual coaching and four group classes of 90 minutes
    case = factories.ControlCaseFactory()
    enrolment = factories.GroupEnrolmentFactory(case=case)
    first = dt.datetime(2026, 2, 10, 15, 0, tzinfo=dt.UTC)
    _attended_session(case, first, 60)
    _attended_session(case, first + dt.timedelta(days=40), 30)
    for week in range(4):
        _attended_class(enrolment, first + dt.timedelta(weeks=week + 1), 90)
    factories.CoachingSessionFactory(case=case, scheduled_at=first, status="missed")

    # 1: attended individual minutes; 2: attended group minutes
    with django_assert_num_queries(2):
        hours = education_hours(patient=case.patient, year=2026)

    # Then the initial training's allowance applies from the first session, and the
    # individual hour is used up (the half hour over it is not covered: it does not
    # count against the ten hours)
    assert (hours.kind, hours.starts_on, hours.ends_on) == (
        "initial", dt.date(2026, 2, 10), dt.date(2027, 2, 10),
    )  # fmt: skip
    assert (hours.individual_used, hours.group_used) == (90, 360)
    assert hours.individual_remaining == 0
    assert hours.group_remaining == 540 - 360
    assert hours.total_remaining == 600 - 60 - 360


def test_after_the_first_twelve_months_a_year_allows_two_hours_of_either_kind():
    case = factories.ControlCaseFactory()
    enrolment = factories.GroupEnrolmentFactory(case=case)
    _attended_session(case, dt.datetime(2025, 3, 1, 15, 0, tzinfo=dt.UTC), 60)
    _attended_class(enrolment, dt.datetime(2027, 5, 1, 15, 0, tzinfo=dt.UTC), 90)

    hours = education_hours(patient=case.patient, year=2027)

    assert hours.kind == "follow_up"
    assert (hours.starts_on, hours.ends_on) == (dt.date(2027, 1, 1), dt.date(2028, 1, 1))
    assert (hours.group_used, hours.total_remaining, hours.individual_remaining) == (90, 30, 30)


def test_the_initial_twelve_months_reaching_into_a_year_still_count_as_initial():
    case = factories.ControlCaseFactory()
    _attended_session(case, dt.datetime(2025, 9, 1, 15, 0, tzinfo=dt.UTC), 45)

    hours = education_hours(patient=case.patient, year=2026)

    assert (hours.kind, hours.starts_on, hours.individual_used) == (
        "initial", dt.date(2025, 9, 1), 45,
    )  # fmt: skip


def test_a_screening_programmes_classes_count_no_education_hours():
    # Given a patient's 90-minute class in a screening programme's series (stored before
    # such series were refused) beside an hour of diabetes coaching
    case = factories.ControlCaseFactory()
    screening = factories.CaseFactory(patient=case.patient)
    enrolment = factories.GroupEnrolmentFactory(
        case=screening, series=factories.GroupSeriesFactory(program=screening.program)
    )
    _attended_class(enrolment, dt.datetime(2026, 2, 10, 15, 0, tzinfo=dt.UTC), 90)
    _attended_session(case, dt.datetime(2026, 2, 3, 15, 0, tzinfo=dt.UTC), 60)

    hours = education_hours(patient=case.patient, year=2026)

    # Then only the diabetes hour counts
    assert (hours.individual_used, hours.group_used) == (60, 0)


def test_a_patient_with_no_education_has_the_whole_initial_allowance():
    hours = education_hours(patient=factories.PatientFactory(), year=2026)

    assert (hours.kind, hours.total_used, hours.total_remaining) == ("initial", 0, 600)
    assert (hours.individual_remaining, hours.group_remaining) == (60, 540)
