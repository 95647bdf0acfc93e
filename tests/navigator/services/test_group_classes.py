"""Group class series, enrolment and attendance (navigator/services/group_classes.py)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from navigator.models import CaseEvent, CaseEventKind, GroupEnrolment, GroupSeries
from navigator.services.group_classes import (
    group_attendance_record,
    group_enrol,
    group_enrolment_set_status,
    group_series_create,
    group_session_add,
)
from tests import factories

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)


def test_a_manager_sets_up_a_series_and_a_navigator_may_not(manager, navigator):
    # Given the fields of a Spanish-language series
    fields = {
        "program": factories.program("diabetes"), "name": "Vivir bien",
        "curriculum": "dsmes-basics", "language": "es", "facilitator": navigator.user,
        "capacity": 12, "location": "Sala 2",
    }  # fmt: skip

    # When a manager and a navigator each set it up
    series = group_series_create(actor=manager, **fields)
    with pytest.raises(PermissionDenied):
        group_series_create(actor=navigator.user, **fields)

    # Then only the manager's exists
    assert list(GroupSeries.objects.all()) == [series]


@pytest.mark.parametrize("capacity", [1, 21])
def test_a_series_holds_two_to_twenty_patients(manager, capacity):
    with pytest.raises(ValidationError) as refused:
        group_series_create(
            program=factories.program("diabetes"), name="Too big or small",
            curriculum="x", language="en", facilitator=manager, capacity=capacity,
            location="Room", actor=manager,
        )  # fmt: skip

    assert "capacity" in refused.value.message_dict


def test_the_database_refuses_a_capacity_outside_two_to_twenty_and_a_series_nowhere():
    with pytest.raises(IntegrityError), transaction.atomic():
        factories.GroupSeriesFactory(capacity=21)
    with pytest.raises(IntegrityError), transaction.atomic():
        factories.GroupSeriesFactory(location="", video_link="")


def test_a_series_needs_a_place_or_a_video_link(manager):
    with pytest.raises(ValidationError) as refused:
        group_series_create(
            program=factories.program("diabetes"), name="Nowhere", curriculum="x",
            language="en", facilitator=manager, capacity=8, actor=manager,
        )  # fmt: skip

    assert "location" in refused.value.message_dict


def test_enrolling_puts_the_patient_on_the_roster_once(navigator):
    # Given a case and a series of its program
    case = factories.ControlCaseFactory(navigator=navigator)
    series = factories.GroupSeriesFactory()

    # When the patient is enrolled twice
    first = group_enrol(case=case, series=series, actor=navigator.user)
    second = group_enrol(case=case, series=series, actor=navigator.user)

    # Then there is one enrolment and one timeline entry
    assert first == second and first.patient == case.patient
    assert CaseEvent.objects.filter(case=case, kind=CaseEventKind.GROUP_ENROLLED).count() == 1


def test_a_full_series_refuses_one_more_and_a_withdrawal_frees_the_seat(navigator):
    # Given a series of two, full
    series = factories.GroupSeriesFactory(capacity=2)
    cases = [factories.ControlCaseFactory(navigator=navigator) for _ in range(3)]
    first = group_enrol(case=cases[0], series=series, actor=navigator.user)
    group_enrol(case=cases[1], series=series, actor=navigator.user)

    # When a third patient is enrolled, then one withdraws and the third tries again
    with pytest.raises(ValidationError) as refused:
        group_enrol(case=cases[2], series=series, actor=navigator.user)
    group_enrolment_set_status(enrolment=first, status="withdrawn", actor=navigator.user)
    third = group_enrol(case=cases[2], series=series, actor=navigator.user)

    # Then the third was refused while full, and has the freed seat
    assert "is full (2 patients)" in refused.value.message_dict["series"][0]
    assert third.status == "enrolled"
    assert series.enrolments.filter(status="enrolled").count() == 2


def test_a_series_of_another_program_is_refused(navigator):
    case = factories.ControlCaseFactory(navigator=navigator)
    series = factories.GroupSeriesFactory(program=factories.program("breast"))

    with pytest.raises(ValidationError):
        group_enrol(case=case, series=series, actor=navigator.user)


def _series_with_past_session(*, curriculum="dsmes-basics"):
    series = factories.GroupSeriesFactory(curriculum=curriculum)
    session = factories.GroupSessionFactory(series=series, starts_at=START - dt.timedelta(hours=2))
    return series, session


def test_the_facilitator_takes_attendance_and_a_correction_replaces_it():
    with time_machine.travel(START, tick=False):
        # Given an enrolled patient and a session that has taken place
        series, session = _series_with_past_session()
        enrolment = factories.GroupEnrolmentFactory(series=series)
        facilitator = series.facilitator

        # When the facilitator marks them attended, then corrects it to 60 minutes
        group_attendance_record(
            session=session, enrolment=enrolment, status="attended", actor=facilitator
        )
        corrected = group_attendance_record(
            session=session, enrolment=enrolment, status="attended", actor=facilitator, minutes=60
        )
        same = group_attendance_record(
            session=session, enrolment=enrolment, status="attended", actor=facilitator, minutes=60
        )

    # Then one row holds the corrected minutes, and the repeat recorded nothing
    assert corrected.pk == same.pk and corrected.minutes == 60
    events = CaseEvent.objects.filter(case=enrolment.case, kind=CaseEventKind.GROUP_ATTENDANCE)
    assert [event.data["to"]["minutes"] for event in events.order_by("pk")] == [90, 60]


def test_only_the_facilitator_or_a_manager_takes_attendance(navigator, manager):
    with time_machine.travel(START, tick=False):
        series, session = _series_with_past_session()
        enrolment = factories.GroupEnrolmentFactory(series=series, case__navigator=navigator)

        with pytest.raises(PermissionDenied):
            group_attendance_record(
                session=session, enrolment=enrolment, status="absent", actor=navigator.user
            )
        absent = group_attendance_record(
            session=session, enrolment=enrolment, status="absent", actor=manager
        )

    assert absent.minutes == 0


def test_a_session_of_another_series_of_the_curriculum_makes_up_a_missed_one(manager):
    with time_machine.travel(START, tick=False):
        # Given a patient absent from session 2 of their series
        own, missed = _series_with_past_session()
        enrolment = factories.GroupEnrolmentFactory(series=own)
        group_attendance_record(session=missed, enrolment=enrolment, status="absent", actor=manager)
        other, other_session = _series_with_past_session()

        # When they attend the other series' session as its make-up
        makeup = group_attendance_record(
            session=other_session, enrolment=enrolment, status="attended", actor=manager,
            makeup_for=missed,
        )  # fmt: skip

    # Then it counts, attended, for the missed session
    assert (makeup.makeup_for, makeup.minutes) == (missed, 90)


def test_another_curriculum_or_no_missed_session_is_no_make_up(manager):
    with time_machine.travel(START, tick=False):
        own, missed = _series_with_past_session()
        enrolment = factories.GroupEnrolmentFactory(series=own)
        _, foreign = _series_with_past_session(curriculum="cooking")
        _, same_curriculum = _series_with_past_session()

        with pytest.raises(ValidationError) as no_makeup:
            group_attendance_record(
                session=same_curriculum, enrolment=enrolment, status="attended", actor=manager
            )
        with pytest.raises(ValidationError) as other_curriculum:
            group_attendance_record(
                session=foreign, enrolment=enrolment, status="attended", actor=manager,
                makeup_for=missed,
            )  # fmt: skip

    assert "makeup_for" in no_makeup.value.message_dict
    assert "same curriculum" in other_curriculum.value.message_dict["session"][0]


def test_a_session_ahead_takes_no_attendance_yet(manager):
    enrolment = factories.GroupEnrolmentFactory()
    session = factories.GroupSessionFactory(series=enrolment.series)

    with pytest.raises(ValidationError):
        group_attendance_record(
            session=session, enrolment=enrolment, status="absent", actor=manager
        )


def test_adding_a_session_is_a_managers_and_its_number_is_its_own(manager, navigator):
    series = factories.GroupSeriesFactory()
    starts = dt.datetime(2030, 1, 7, 17, 0, tzinfo=dt.UTC)

    with time_machine.travel(START, tick=False):
        session = group_session_add(series=series, number=1, starts_at=starts, actor=manager)
        with pytest.raises(ValidationError):
            group_session_add(series=series, number=1, starts_at=starts, actor=manager)
        with pytest.raises(PermissionDenied):
            group_session_add(series=series, number=2, starts_at=starts, actor=navigator.user)

    assert list(series.sessions.all()) == [session]


def test_a_completed_enrolment_does_not_enrol_again(navigator):
    enrolment = factories.GroupEnrolmentFactory(case__navigator=navigator)
    group_enrolment_set_status(enrolment=enrolment, status="completed", actor=navigator.user)

    with pytest.raises(ValidationError):
        group_enrol(case=enrolment.case, series=enrolment.series, actor=navigator.user)
    assert GroupEnrolment.objects.get(pk=enrolment.pk).status == "completed"


def test_a_screening_programme_has_no_series_and_its_cases_no_enrolment(manager, navigator):
    # Given a colorectal screening case, and a series of that programme stored before
    # series were refused for screening programmes
    case = factories.CaseFactory(navigator=navigator)
    legacy = factories.GroupSeriesFactory(program=case.program)

    # When a manager sets one up for it, and the navigator enrols the case in the old one
    with pytest.raises(ValidationError) as series_refused:
        group_series_create(
            program=case.program, name="Colon class", curriculum="x", language="en",
            facilitator=navigator.user, capacity=8, location="Room", actor=manager,
        )  # fmt: skip
    with pytest.raises(ValidationError) as enrol_refused:
        group_enrol(case=case, series=legacy, actor=navigator.user)

    # Then both are refused, saying group classes are a control programme's
    assert "control programmes" in series_refused.value.message_dict["program"][0]
    assert "control programmes" in enrol_refused.value.message_dict["series"][0]
    assert list(GroupSeries.objects.all()) == [legacy]
    assert not GroupEnrolment.objects.exists()
