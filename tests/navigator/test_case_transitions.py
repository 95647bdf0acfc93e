"""The case status machine: every legal move works, every other move is refused.

The tables of moves (about 300 tests) start from one case in each status, built once
for the module inside a transaction rolled back at its end (`cases`); each test runs in
a savepoint of its own, so whatever it did to its case is undone before the next test,
and reads its case afresh. Building a case (patient, navigator, user) for each test was
most of the module's time.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from navigator.cases import ALLOWED_TRANSITIONS, case_transition
from navigator.models import (
    OPEN_STATUSES,
    AppointmentStatus,
    CaseEvent,
    CaseEventKind,
    CaseStatus,
    NavigationCase,
    User,
)
from navigator.services.appointments import appointment_book
from navigator.services.screenings import case_record_screening
from tests import factories
from tests.support.api import api_as

pytestmark = pytest.mark.django_db

ALL_MOVES = list(itertools.product(CaseStatus.values, CaseStatus.values))
ILLEGAL_MOVES = [(a, b) for a, b in ALL_MOVES if a != b and b not in ALLOWED_TRANSITIONS[a]]
LEGAL_MOVES = [(a, b) for a, b in ALL_MOVES if b in ALLOWED_TRANSITIONS[a]]
# The statuses a recorded result leads to (navigator.services.screenings).
RESULT_STATUSES = {
    CaseStatus.COMPLETED,
    CaseStatus.FOLLOW_UP_NEEDED,
    CaseStatus.REPEAT_NEEDED,
    CaseStatus.TREATMENT,
}


def case_in(status: str, *, program=None, site: str = "Endoscopy") -> NavigationCase:
    """A case in a status (of `program`, colorectal by default), with whatever that status
    presupposes: a scheduled case has its appointment at `site` (test setup only)."""
    extra = {"program": program} if program is not None else {}
    case = factories.CaseFactory(status=status, **extra)
    if status in {CaseStatus.SCHEDULED}:
        case.appointments.create(
            scheduled_at=timezone.now() + dt.timedelta(days=3),
            site=site,
            created_by=case.navigator.user,
        )
    return case


@pytest.fixture(scope="module")
def cases(django_db_setup, django_db_blocker) -> Iterator[dict[str, int]]:
    """The primary key of a case in each status, and of a program manager."""
    with django_db_blocker.unblock(), transaction.atomic():
        built = {status: case_in(status).pk for status in CaseStatus.values}
        yield {**built, "manager": factories.ManagerFactory().pk}
        transaction.set_rollback(True)


def case_from(cases: dict[str, int], status: str) -> NavigationCase:
    """The module's case in `status`, as the database holds it (an instance read by an
    earlier test keeps that test's moves, which its savepoint undid)."""
    return NavigationCase.objects.select_related("navigator__user", "patient", "program").get(
        pk=cases[status]
    )


def manager_from(cases: dict[str, int]) -> User:
    return User.objects.get(pk=cases["manager"])


def satisfy_preconditions(case: NavigationCase, to_status: str) -> None:
    actor = case.navigator.user
    if (
        to_status == CaseStatus.SCHEDULED
        and not case.appointments.filter(status=AppointmentStatus.BOOKED).exists()
    ):
        case.appointments.create(
            scheduled_at=timezone.now() + dt.timedelta(days=3), site="Lab", created_by=actor
        )
    if to_status in {
        CaseStatus.COMPLETED,
        CaseStatus.FOLLOW_UP_NEEDED,
        CaseStatus.REPEAT_NEEDED,
        CaseStatus.TREATMENT,
    }:
        case.screenings.create(
            patient=case.patient,
            modality=case.program.modalities.get(code="fit"),
            performed_on=timezone.localdate(),
            result="normal",
            recorded_by=actor,
        )


def test_every_status_has_a_row_in_the_transition_table():
    assert set(ALLOWED_TRANSITIONS) == set(CaseStatus.values)


def test_closed_statuses_are_final():
    for status in set(CaseStatus.values) - OPEN_STATUSES:
        assert ALLOWED_TRANSITIONS[status] == frozenset()


@pytest.mark.parametrize(("from_status", "to_status"), LEGAL_MOVES)
def test_it_allows_a_legal_move_and_records_who_and_when(cases, from_status, to_status):
    # Given a case in the starting status
    case = case_from(cases, from_status)
    satisfy_preconditions(case, to_status)
    # Only a manager closes a case as unreachable (a navigator proposes it; see
    # test_a_navigator_cannot_close_a_case_as_unreachable_directly).
    actor = (
        manager_from(cases) if to_status == CaseStatus.CLOSED_UNREACHABLE else case.navigator.user
    )

    # When it moves (closing with a result unresolved is the safety net's, which
    # confirms it with a manager; what a result leads to follows from a recorded result:
    # see tests/navigator/test_follow_ups.py and test_review12.py for the refusals)
    moved = case_transition(
        case=case,
        to_status=to_status,
        actor=actor,
        note="because",
        safety_net_confirmed=to_status == CaseStatus.FOLLOW_UP_CLOSED,
        by_result=to_status in RESULT_STATUSES,
    )

    # Then the status changed and the move is on the timeline with its actor and values
    assert moved.status == to_status
    event = CaseEvent.objects.get(case=case, kind=CaseEventKind.STATUS_CHANGED)
    assert event.actor == actor
    assert event.data == {"from": from_status, "to": to_status, "note": "because"}
    assert event.at is not None


@pytest.mark.parametrize(("from_status", "to_status"), ILLEGAL_MOVES)
def test_it_refuses_an_illegal_move_and_changes_nothing(cases, from_status, to_status):
    case = case_from(cases, from_status)
    satisfy_preconditions(case, to_status)
    events_before = CaseEvent.objects.count()

    with pytest.raises(ValidationError) as error:
        case_transition(case=case, to_status=to_status, actor=case.navigator.user)

    assert "status" in error.value.message_dict
    case.refresh_from_db()
    assert case.status == from_status
    assert CaseEvent.objects.count() == events_before


@pytest.mark.parametrize(("from_status", "to_status"), ILLEGAL_MOVES)
def test_the_api_answers_an_illegal_move_with_a_400_on_status(cases, from_status, to_status):
    case = case_from(cases, from_status)
    manager = manager_from(cases)

    response = api_as(manager).post(
        f"/api/cases/{case.pk}/transition/", {"status": to_status}, format="json"
    )

    assert response.status_code == 400, response.content
    assert "status" in response.json()
    case.refresh_from_db()
    assert case.status == from_status


CAN_CLOSE_UNREACHABLE = sorted(
    s for s in OPEN_STATUSES if CaseStatus.CLOSED_UNREACHABLE in ALLOWED_TRANSITIONS[s]
)


@pytest.mark.parametrize("from_status", CAN_CLOSE_UNREACHABLE)
def test_a_navigator_cannot_close_a_case_as_unreachable_directly(cases, from_status):
    # Given an open case and its navigator
    case = case_from(cases, from_status)
    events_before = CaseEvent.objects.count()

    # When the navigator closes it as unreachable, from the service and the API
    with pytest.raises(ValidationError, match="Only a program manager closes a case"):
        case_transition(
            case=case, to_status=CaseStatus.CLOSED_UNREACHABLE, actor=case.navigator.user, note="x"
        )
    response = api_as(case.navigator.user).post(
        f"/api/cases/{case.pk}/transition/",
        {"status": CaseStatus.CLOSED_UNREACHABLE, "note": "x"},
        format="json",
    )

    # Then both refuse on `status`, and nothing changed
    assert response.status_code == 400
    assert "manager" in response.json()["status"][0]
    case.refresh_from_db()
    assert case.status == from_status
    assert CaseEvent.objects.count() == events_before


def test_it_refuses_an_unknown_status():
    case = case_in(CaseStatus.CONTACTING)
    with pytest.raises(ValidationError):
        case_transition(case=case, to_status="teleported", actor=None)


def test_it_refuses_scheduled_without_a_booked_appointment():
    case = case_in(CaseStatus.CONTACTING)
    with pytest.raises(ValidationError, match="Book an appointment"):
        case_transition(case=case, to_status=CaseStatus.SCHEDULED, actor=None)


def test_it_refuses_completed_without_a_recorded_screening():
    case = case_in(CaseStatus.SCHEDULED)
    with pytest.raises(ValidationError, match="Record the screening"):
        case_transition(case=case, to_status=CaseStatus.COMPLETED, actor=None)


def test_moving_to_the_same_status_changes_nothing():
    case = case_in(CaseStatus.CONTACTING)
    case_transition(case=case, to_status=CaseStatus.CONTACTING, actor=None)
    assert not CaseEvent.objects.filter(case=case).exists()


def test_closing_a_case_clears_its_follow_up_and_stamps_closed_at():
    case = case_in(CaseStatus.CONTACTING)
    case_transition(case=case, to_status=CaseStatus.DECLINED, actor=None)
    case.refresh_from_db()
    assert case.next_follow_up is None
    assert case.closed_at is not None


def test_booking_moves_the_case_to_scheduled_and_recording_the_screening_completes_it():
    # Given a case being contacted
    case = case_in(CaseStatus.CONTACTING)
    actor = case.navigator.user
    colonoscopy = case.program.modalities.get(code="colonoscopy")

    # When the navigator books the test and later records it
    appointment_book(
        case=case,
        scheduled_at=timezone.now() + dt.timedelta(days=5),
        site="Endoscopy Center",
        modality=colonoscopy,
        actor=actor,
    )
    case.refresh_from_db()
    assert case.status == CaseStatus.SCHEDULED
    with time_machine.travel(timezone.now() + dt.timedelta(days=5, hours=2), tick=False):
        case_record_screening(
            case=case,
            modality=colonoscopy,
            performed_on=timezone.localdate(),
            result="normal",
            actor=actor,
        )

    # Then the case is completed, with its completion time and the appointment kept
    case.refresh_from_db()
    assert case.status == CaseStatus.COMPLETED
    assert case.completed_at is not None
    assert case.appointments.get().status == AppointmentStatus.KEPT


@pytest.mark.parametrize(
    ("from_status", "to_status"),
    [(a, b) for a, b in LEGAL_MOVES if b in RESULT_STATUSES],
)
def test_what_a_result_leads_to_is_refused_by_hand(cases, from_status, to_status):
    # Given a case with a test on record, moved by hand to what only a result decides
    case = case_from(cases, from_status)
    satisfy_preconditions(case, to_status)

    with pytest.raises(ValidationError) as refused:
        case_transition(case=case, to_status=to_status, actor=case.navigator.user)

    assert "the status follows from it" in str(refused.value.message_dict["status"])
    assert NavigationCase.objects.get(pk=case.pk).status == from_status
