"""The timeline entries of a control case's staff-entered lab (navigator/services/labs.py):
a correction and a withdrawal as entered in error are their own kinds of event, not a
lab entered, each with who did it and what changed (the Observations' ids, the old and
new values), and no text beyond what the entry of the lab already holds."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from navigator.models import CaseEvent, CaseEventKind
from navigator.services.labs import case_lab_correct, case_lab_enter_in_error, case_lab_record
from navigator.views.case_page import TIMELINE_KINDS
from tests import factories

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 1, 14, 0, tzinfo=dt.UTC)
DAY = dt.date(2026, 5, 20)


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def case():
    return factories.ControlCaseFactory(patient__birth_date=dt.date(1970, 5, 1))


def typed(case, value="7.1"):
    """The navigator copies an HbA1c from Quest's report."""
    return case_lab_record(
        case=case, test="hba1c", value=Decimal(value), collected_on=DAY,
        source="Quest Diagnostics, report 4411 for Ana", actor=case.navigator.user,
    )  # fmt: skip


def latest(case) -> CaseEvent:
    return CaseEvent.objects.filter(case=case).latest("pk")


def test_entering_a_lab_is_a_lab_recorded_event(case):
    lab = typed(case)

    event = latest(case)

    assert event.kind == CaseEventKind.LAB_RECORDED
    assert event.data["clinical_resource"] == lab.pk


def test_correcting_a_lab_is_a_lab_corrected_event_with_both_observations(case):
    # Given an HbA1c mistyped as 7.1 %
    old = typed(case)
    recorded = latest(case)

    # When the coach corrects it to 9.1 %
    coach = factories.NavigatorFactory().user
    new = case_lab_correct(case=case, resource_pk=old.pk, value=Decimal("9.1"), actor=coach)

    # Then the timeline's entry is a correction, by the coach, from the old value and
    # Observation to the new ones
    event = latest(case)
    assert event.kind == CaseEventKind.LAB_CORRECTED
    assert event.actor == coach
    assert event.data == {
        "clinical_resource": new.pk,
        "corrects": old.pk,
        "test": "hba1c",
        "unit": "%",
        "collected_on": DAY.isoformat(),
        "from": "7.1",
        "to": "9.1",
    }
    assert event.summary == "HbA1c 7.1 % collected 2026-05-20 corrected to 9.1 %"
    # And it holds nothing the lab's entry did not (the report's name stays there)
    assert set(event.data) - {"corrects"} <= set(recorded.data)
    assert "Quest" not in event.summary + str(event.data)


def test_withdrawing_a_lab_is_a_lab_entered_in_error_event_once(case):
    # Given an HbA1c typed on the wrong patient's case
    wrong = typed(case)
    recorded = latest(case)

    # When it is marked entered in error, twice
    for _ in range(2):
        case_lab_enter_in_error(case=case, resource_pk=wrong.pk, actor=case.navigator.user)

    # Then there is one such entry, saying which Observation, its value and status before
    [event] = CaseEvent.objects.filter(case=case, kind=CaseEventKind.LAB_ENTERED_IN_ERROR)
    assert event.actor == case.navigator.user
    assert event.data == {
        "clinical_resource": wrong.pk,
        "test": "hba1c",
        "unit": "%",
        "collected_on": DAY.isoformat(),
        "from": "7.1",
        "to": None,
        "status_from": "final",
        "status_to": "entered-in-error",
    }
    assert event.summary == "HbA1c 7.1 % collected 2026-05-20 marked entered in error"
    assert set(event.data) - {"status_from", "status_to"} <= set(recorded.data)
    assert CaseEvent.objects.filter(case=case, kind=CaseEventKind.LAB_RECORDED).count() == 1


def test_the_timeline_draws_each_lab_event_kind_with_its_own_symbol():
    kinds = (
        CaseEventKind.LAB_RECORDED,
        CaseEventKind.LAB_CORRECTED,
        CaseEventKind.LAB_ENTERED_IN_ERROR,
    )

    assert all(kind in TIMELINE_KINDS for kind in kinds)
    assert TIMELINE_KINDS[CaseEventKind.LAB_ENTERED_IN_ERROR][1] == "barrier"
