"""Individual coaching sessions and their goals (navigator/services/coaching.py)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from navigator.models import CaseEvent, CaseEventKind, CoachingSessionStatus, GoalOutcome
from navigator.services.coaching import (
    coaching_goal_review,
    coaching_goal_set,
    coaching_session_book,
    coaching_session_set_status,
)
from outreach.models import InterpreterRequest
from tests import factories

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def control_case(**kwargs):
    """A diabetes control case (a screening case has no coaching)."""
    return factories.CaseFactory(program=factories.program("diabetes"), **kwargs)


def _events(case, kind):
    return list(CaseEvent.objects.filter(case=case, kind=kind))


def test_booking_a_session_takes_the_patients_language_and_puts_it_on_the_timeline():
    # Given a Spanish-speaking patient's case
    case = control_case(patient__preferred_language="es")
    coach = case.navigator.user

    # When a session on healthy eating and monitoring is booked
    with time_machine.travel(START, tick=False):
        session = coaching_session_book(
            case=case,
            scheduled_at=START + dt.timedelta(days=3),
            actor=coach,
            topics=["monitoring", "healthy_eating", "monitoring"],
        )

    # Then it is in Spanish, its topics in the ADCES7 order, once each, and on the timeline
    assert session.language == "es"
    assert session.patient == case.patient
    assert session.topics == ["healthy_eating", "monitoring"]
    assert session.status == CoachingSessionStatus.SCHEDULED
    [event] = _events(case, CaseEventKind.COACHING_BOOKED)
    assert event.actor == coach and event.data["coaching_session"] == session.pk


def test_a_topic_that_is_not_an_adces7_behaviour_is_refused():
    case = control_case()

    with pytest.raises(ValidationError) as refused:
        coaching_session_book(
            case=case,
            scheduled_at=timezone.now() + dt.timedelta(days=1),
            actor=case.navigator.user,
            topics=["sleeping"],
        )

    assert "topics" in refused.value.message_dict


def test_a_patient_who_needs_an_interpreter_gets_one_requested_for_the_session():
    # Given a patient who needs an interpreter
    case = control_case(patient__preferred_language="pt", patient__interpreter_needed=True)

    # When a session is booked
    session = coaching_session_book(
        case=case,
        scheduled_at=timezone.now() + dt.timedelta(days=2),
        actor=case.navigator.user,
        interpreter_modality="video",
    )

    # Then the same interpreter request as an appointment's is made, for this session
    [request] = InterpreterRequest.objects.filter(case=case)
    assert request.coaching_session == session
    assert request.appointment is None
    assert (request.language, request.modality) == ("pt", "video")
    assert _events(case, CaseEventKind.INTERPRETER_REQUESTED)


def test_a_coach_who_speaks_the_patients_language_needs_no_interpreter():
    # Given a Portuguese speaker who needs an interpreter, and a coach who speaks Portuguese
    case = control_case(
        patient__preferred_language="pt", patient__interpreter_needed=True,
        navigator__languages=["en", "pt"],
    )  # fmt: skip

    # When a session in Portuguese, and one in English, are booked with that coach
    for language in ("pt", "en"):
        coaching_session_book(
            case=case, scheduled_at=timezone.now() + dt.timedelta(days=2),
            actor=case.navigator.user, language=language,
        )  # fmt: skip

    # Then only the English one has an interpreter, in Portuguese
    [request] = InterpreterRequest.objects.filter(case=case)
    assert (request.coaching_session.language, request.language) == ("en", "pt")


def test_a_patient_who_needs_no_interpreter_gets_none():
    case = control_case()

    coaching_session_book(
        case=case, scheduled_at=timezone.now() + dt.timedelta(days=2), actor=case.navigator.user
    )

    assert not InterpreterRequest.objects.filter(case=case).exists()


def test_an_attended_session_keeps_its_minutes_and_the_same_status_again_changes_nothing():
    # Given a session that has begun
    with time_machine.travel(START, tick=False):
        session = factories.CoachingSessionFactory(scheduled_at=START - dt.timedelta(hours=1))
        actor = session.coach

        # When it is marked attended with 45 minutes, then again
        coaching_session_set_status(
            session=session, status="attended", actor=actor, minutes_spent=45
        )
        version = session.case.__class__.objects.get(pk=session.case_id).version
        again = coaching_session_set_status(session=session, status="attended", actor=actor)

    # Then the minutes are kept, and the repeat wrote nothing
    assert (again.status, again.minutes_spent) == ("attended", 45)
    assert session.case.__class__.objects.get(pk=session.case_id).version == version
    [event] = _events(session.case, CaseEventKind.COACHING_UPDATED)
    assert event.data == {
        "coaching_session": session.pk,
        "from": "scheduled",
        "to": "attended",
        "minutes_spent": 45,
    }


def test_attended_without_minutes_counts_the_sessions_length():
    with time_machine.travel(START, tick=False):
        session = factories.CoachingSessionFactory(
            scheduled_at=START - dt.timedelta(hours=1), duration_minutes=30
        )
        done = coaching_session_set_status(session=session, status="attended", actor=session.coach)

    assert done.minutes_spent == 30


def test_a_session_still_ahead_cannot_be_marked_attended_or_missed_but_can_be_cancelled():
    session = factories.CoachingSessionFactory()

    for status in ("attended", "missed"):
        with pytest.raises(ValidationError) as refused:
            coaching_session_set_status(session=session, status=status, actor=session.coach)
        assert "only once it has begun" in refused.value.message_dict["status"][0]
    cancelled = coaching_session_set_status(
        session=session, status="cancelled", actor=session.coach
    )
    assert cancelled.status == "cancelled"


def test_an_ended_session_does_not_move_again():
    with time_machine.travel(START, tick=False):
        session = factories.CoachingSessionFactory(scheduled_at=START - dt.timedelta(hours=1))
        coaching_session_set_status(session=session, status="missed", actor=session.coach)

        with pytest.raises(ValidationError) as refused:
            coaching_session_set_status(session=session, status="attended", actor=session.coach)

    assert refused.value.message_dict["status"] == ["This session is already missed."]


def test_minutes_are_refused_for_a_session_not_attended():
    session = factories.CoachingSessionFactory()

    with pytest.raises(ValidationError) as refused:
        coaching_session_set_status(
            session=session, status="cancelled", actor=session.coach, minutes_spent=10
        )

    assert "minutes_spent" in refused.value.message_dict


def test_a_goal_set_in_one_session_is_reviewed_in_a_later_one_with_its_outcome():
    # Given two attended sessions a week apart
    with time_machine.travel(START, tick=False):
        first = factories.CoachingSessionFactory(scheduled_at=START - dt.timedelta(days=8))
        second = factories.CoachingSessionFactory(
            case=first.case, scheduled_at=START - dt.timedelta(days=1)
        )
        for session in (first, second):
            coaching_session_set_status(session=session, status="attended", actor=first.coach)

        # When a goal set in the first is reviewed in the second as partly met
        goal = coaching_goal_set(
            session=first, text="Walk 20 minutes after dinner", behaviour="being_active",
            actor=first.coach,
        )  # fmt: skip
        reviewed = coaching_goal_review(
            goal=goal, session=second, outcome=GoalOutcome.PARTLY_MET, actor=first.coach
        )

    # Then the goal carries both sessions and the outcome, and the timeline both steps
    assert (reviewed.set_in, reviewed.reviewed_in, reviewed.outcome) == (
        first, second, "partly_met",
    )  # fmt: skip
    assert _events(first.case, CaseEventKind.GOAL_SET)
    assert _events(first.case, CaseEventKind.GOAL_REVIEWED)


def test_a_goal_is_not_reviewed_in_the_session_that_set_it():
    with time_machine.travel(START, tick=False):
        session = factories.CoachingSessionFactory(scheduled_at=START - dt.timedelta(days=1))
        coaching_session_set_status(session=session, status="attended", actor=session.coach)
        goal = coaching_goal_set(
            session=session, text="Check sugar before breakfast", behaviour="monitoring",
            actor=session.coach,
        )  # fmt: skip

        with pytest.raises(ValidationError) as refused:
            coaching_goal_review(goal=goal, session=session, outcome="met", actor=session.coach)

    assert "session" in refused.value.message_dict


def test_a_goal_is_set_only_in_a_session_attended():
    session = factories.CoachingSessionFactory()

    with pytest.raises(ValidationError):
        coaching_goal_set(
            session=session, text="Eat breakfast", behaviour="healthy_eating", actor=session.coach
        )
