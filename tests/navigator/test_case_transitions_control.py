"""The case status machine by programme kind: a control programme's case (diabetes) is
never closed by a lab. Every move of every status is tried on a control case, against
its own table (`CONTROL_TRANSITIONS`); the screening table's moves are tried in
test_case_transitions.py. The kernel refuses, whatever the caller claims (a result, a
screening on record), and the API says the same.

As in test_case_transitions.py, one case in each status is built once for the module
inside a transaction rolled back at its end; each test runs in a savepoint.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from navigator.cases import (
    ALLOWED_TRANSITIONS,
    CONTROL_TRANSITIONS,
    MANUAL_TARGETS,
    SCREENING_LOOP_STATUSES,
    SCREENING_TRANSITIONS,
    allowed_targets,
    case_transition,
    manual_targets,
)
from navigator.models import (
    CLOSED_STATUSES,
    OPEN_STATUSES,
    AppointmentStatus,
    CaseEvent,
    CaseEventKind,
    CaseStatus,
    NavigationCase,
)
from patients.models import ProgramKind
from tests import factories
from tests.navigator.test_case_transitions import case_from, case_in, manager_from
from tests.support.api import api_as

pytestmark = pytest.mark.django_db

ALL_MOVES = list(itertools.product(CaseStatus.values, CaseStatus.values))
CONTROL_LEGAL = [(a, b) for a, b in ALL_MOVES if b in CONTROL_TRANSITIONS[a]]
CONTROL_ILLEGAL = [(a, b) for a, b in ALL_MOVES if a != b and b not in CONTROL_TRANSITIONS[a]]
GIVING_UP = {CaseStatus.DECLINED, CaseStatus.INELIGIBLE, CaseStatus.CLOSED_UNREACHABLE}
# What a control case may do: be assigned, contacted, have a lab draw or visit booked,
# or close for a reason outside the lab.
CONTROL_STATUSES = {
    CaseStatus.NEW,
    CaseStatus.ASSIGNED,
    CaseStatus.CONTACTING,
    CaseStatus.SCHEDULED,
    *GIVING_UP,
}


def control_case_in(status: str) -> NavigationCase:
    """A diabetes case in a status (set directly: test setup only)."""
    return case_in(status, program=factories.program("diabetes"), site="Lab draw")


@pytest.fixture(scope="module")
def cases(django_db_setup, django_db_blocker) -> Iterator[dict[str, int]]:
    with django_db_blocker.unblock(), transaction.atomic():
        built = {status: control_case_in(status).pk for status in CaseStatus.values}
        yield {**built, "manager": factories.ManagerFactory().pk}
        transaction.set_rollback(True)


def satisfy_preconditions(case: NavigationCase, to_status: str) -> None:
    """Whatever a move could ask for: a booked appointment, and even a screening on
    record (so that only the programme's kind can refuse a result's status)."""
    actor = case.navigator.user
    if not case.appointments.filter(status=AppointmentStatus.BOOKED).exists():
        case.appointments.create(
            scheduled_at=timezone.now() + dt.timedelta(days=3), site="Lab", created_by=actor
        )
    if to_status in SCREENING_LOOP_STATUSES:
        case.screenings.create(
            patient=case.patient,
            modality=factories.program("colorectal").modalities.get(code="fit"),
            performed_on=timezone.localdate(),
            result="normal",
            recorded_by=actor,
        )


# --- The tables -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ProgramKind.values)
def test_every_status_of_every_kind_has_a_row(kind):
    assert {status: allowed_targets(kind=kind, status=status) for status in CaseStatus.values}


@pytest.mark.parametrize(
    ("kind", "status"), list(itertools.product(ProgramKind.values, CaseStatus.values))
)
def test_each_kind_reads_its_own_table(kind, status):
    table = SCREENING_TRANSITIONS if kind == ProgramKind.SCREENING else CONTROL_TRANSITIONS
    assert allowed_targets(kind=kind, status=status) == table[status]


def test_the_outreach_name_is_the_screening_table():
    assert ALLOWED_TRANSITIONS is SCREENING_TRANSITIONS


def test_no_control_move_leads_to_a_screening_loop_status():
    reached = set().union(*CONTROL_TRANSITIONS.values())
    assert reached <= CONTROL_STATUSES
    assert not reached & SCREENING_LOOP_STATUSES


def test_a_control_case_is_open_until_a_reason_closes_it():
    # Every open status can still close, for a reason outside the lab, and nothing closed moves
    for status in OPEN_STATUSES:
        assert CONTROL_TRANSITIONS[status] >= GIVING_UP, status
    for status in CLOSED_STATUSES:
        assert CONTROL_TRANSITIONS[status] == frozenset(), status


def test_the_two_tables_agree_on_closing_as_unreachable_where_a_control_case_can_be():
    # (outreach's unreachable proposal reads the screening table's name)
    for status in CONTROL_STATUSES & OPEN_STATUSES:
        assert (CaseStatus.CLOSED_UNREACHABLE in SCREENING_TRANSITIONS[status]) == (
            CaseStatus.CLOSED_UNREACHABLE in CONTROL_TRANSITIONS[status]
        )


# --- The kernel, every status --------------------------------------------------------


@pytest.mark.parametrize(("from_status", "to_status"), CONTROL_LEGAL)
def test_a_control_case_makes_each_legal_move_and_records_it(cases, from_status, to_status):
    # Given a control case in the starting status
    case = case_from(cases, from_status)
    satisfy_preconditions(case, to_status)
    actor = (
        manager_from(cases) if to_status == CaseStatus.CLOSED_UNREACHABLE else case.navigator.user
    )

    # When it moves
    moved = case_transition(case=case, to_status=to_status, actor=actor, note="because")

    # Then the status changed, on the timeline with its actor and values
    assert moved.status == to_status
    event = CaseEvent.objects.get(case=case, kind=CaseEventKind.STATUS_CHANGED)
    assert (event.actor, event.data) == (
        actor,
        {"from": from_status, "to": to_status, "note": "because"},
    )


@pytest.mark.parametrize(("from_status", "to_status"), CONTROL_ILLEGAL)
def test_a_control_case_refuses_every_other_move_and_changes_nothing(cases, from_status, to_status):
    # Given a control case, with an appointment and even a screening on record
    case = case_from(cases, from_status)
    satisfy_preconditions(case, to_status)
    events_before = CaseEvent.objects.count()

    # When it is moved, as a manager, claiming a result and a safety net's confirmation
    with pytest.raises(ValidationError) as refused:
        case_transition(
            case=case,
            to_status=to_status,
            actor=manager_from(cases),
            note="x",
            by_result=True,
            safety_net_confirmed=True,
        )

    # Then the kernel refuses on `status`, saying why, and nothing changed
    message = " ".join(refused.value.message_dict["status"])
    if to_status in SCREENING_LOOP_STATUSES:
        assert message.startswith("Diabetes control is not a screening: no test or result")
        assert "closes only as declined, ineligible" in message
    else:
        assert message.startswith("A case cannot move from")
    assert NavigationCase.objects.get(pk=case.pk).status == from_status
    assert CaseEvent.objects.count() == events_before


@pytest.mark.parametrize(
    ("from_status", "to_status"),
    [(a, b) for a, b in CONTROL_ILLEGAL if a in OPEN_STATUSES and b in SCREENING_LOOP_STATUSES],
)
def test_the_api_refuses_a_screening_status_on_a_control_case(cases, from_status, to_status):
    case = case_from(cases, from_status)

    response = api_as(manager_from(cases)).post(
        f"/api/cases/{case.pk}/transition/", {"status": to_status, "note": "x"}, format="json"
    )

    assert response.status_code == 400, response.content
    assert "never" in response.json()["status"][0]
    assert NavigationCase.objects.get(pk=case.pk).status == from_status


def test_a_screening_case_in_the_same_status_is_not_refused_for_its_kind(cases):
    # Given a screening case scheduled, with its screening on record
    case = factories.CaseFactory(status=CaseStatus.SCHEDULED)
    satisfy_preconditions(case, CaseStatus.COMPLETED)

    # When its result completes it
    case_transition(case=case, to_status=CaseStatus.COMPLETED, actor=None, by_result=True)

    # Then it is complete: the kind, not the status, decided the control case's refusal
    assert NavigationCase.objects.get(pk=case.pk).status == CaseStatus.COMPLETED


# --- What is offered --------------------------------------------------------------------


@pytest.mark.parametrize("status", CaseStatus.values)
def test_the_menu_and_the_api_offer_only_the_control_tables_manual_moves(cases, status):
    case = case_from(cases, status)

    offered = manual_targets(case)
    answer = api_as(manager_from(cases)).get(f"/api/cases/{case.pk}/").json()

    assert offered == CONTROL_TRANSITIONS[status] & MANUAL_TARGETS
    assert not offered & SCREENING_LOOP_STATUSES
    assert set(answer["next_statuses"]) == offered
