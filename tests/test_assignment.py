"""New cases go to a navigator who speaks the patient's language; managers reassign."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from navigator.models import CaseEventKind, CaseStatus
from navigator.services import case_assign, case_open
from tests import factories
from tests.conftest import api_as

pytestmark = pytest.mark.django_db


def open_case_for(language: str):
    patient = factories.PatientFactory(preferred_language=language)
    case, _ = case_open(
        patient=patient, program=factories.program("colorectal"), actor=None, source="test"
    )
    return case


def give_open_cases(navigator, count: int) -> None:
    for _ in range(count):
        factories.CaseFactory(navigator=navigator)


def test_it_assigns_the_speaker_of_the_language_with_the_most_spare_capacity():
    # Given two Spanish speakers, the larger caseload having more spare room
    busy = factories.NavigatorFactory(languages=["es", "en"], caseload_capacity=10)
    roomy = factories.NavigatorFactory(languages=["es", "en"], caseload_capacity=50)
    give_open_cases(busy, 2)
    give_open_cases(roomy, 20)
    factories.NavigatorFactory(languages=["en"], caseload_capacity=500)

    case = open_case_for("es")

    assert case.navigator == roomy
    assert case.status == CaseStatus.ASSIGNED
    assert case.needs_interpreter is False
    reason = case.events.get(kind=CaseEventKind.ASSIGNED).data["reason"]
    assert reason == "speaks Spanish; 20 of 50 cases"


def test_without_a_speaker_it_assigns_the_least_loaded_and_flags_an_interpreter():
    light = factories.NavigatorFactory(languages=["en"], caseload_capacity=100)
    heavy = factories.NavigatorFactory(languages=["es"], caseload_capacity=100)
    give_open_cases(light, 1)
    give_open_cases(heavy, 5)

    case = open_case_for("vi")

    assert case.navigator == light
    assert case.needs_interpreter is True
    assert "interpreter needed" in case.events.get(kind=CaseEventKind.ASSIGNED).summary


def test_inactive_navigators_are_never_chosen():
    factories.NavigatorFactory(languages=["ht"], active=False)
    active = factories.NavigatorFactory(languages=["en"])

    case = open_case_for("ht")

    assert case.navigator == active
    assert case.needs_interpreter is True


def test_closed_cases_do_not_count_toward_a_caseload():
    a = factories.NavigatorFactory(languages=["es"], caseload_capacity=10)
    b = factories.NavigatorFactory(languages=["es"], caseload_capacity=10)
    for _ in range(5):
        factories.CaseFactory(navigator=a, status=CaseStatus.CLOSED)
    give_open_cases(b, 1)

    assert open_case_for("es").navigator == a


def test_a_manager_reassigns_a_case_and_the_move_is_logged(manager):
    case = factories.CaseFactory()
    old = case.navigator
    new = factories.NavigatorFactory(languages=["en"])

    response = api_as(manager).post(
        f"/api/cases/{case.pk}/assign/", {"navigator": new.pk, "reason": "rebalance"}
    )

    assert response.status_code == 200, response.content
    case.refresh_from_db()
    assert case.navigator == new
    event = case.events.get(kind=CaseEventKind.ASSIGNED)
    assert event.actor == manager
    assert event.data["from"] == old.pk and event.data["to"] == new.pk


def test_a_navigator_cannot_reassign(navigator):
    case = factories.CaseFactory(navigator=navigator)
    other = factories.NavigatorFactory()

    response = api_as(navigator.user).post(f"/api/cases/{case.pk}/assign/", {"navigator": other.pk})

    assert response.status_code == 403
    case.refresh_from_db()
    assert case.navigator == navigator


def test_it_refuses_to_assign_to_an_inactive_navigator(manager):
    case = factories.CaseFactory()
    inactive = factories.NavigatorFactory(active=False)

    response = api_as(manager).post(f"/api/cases/{case.pk}/assign/", {"navigator": inactive.pk})

    assert response.status_code == 400
    assert "navigator" in response.json()
    case.refresh_from_db()
    assert case.navigator != inactive


def test_it_refuses_to_assign_a_closed_case():
    case = factories.CaseFactory(status=CaseStatus.DECLINED)
    with pytest.raises(ValidationError):
        case_assign(case=case, navigator=factories.NavigatorFactory(), actor=None)


def test_an_unknown_navigator_id_is_a_400(manager):
    case = factories.CaseFactory()
    response = api_as(manager).post(f"/api/cases/{case.pk}/assign/", {"navigator": 999999})
    assert response.status_code == 400
    assert "navigator" in response.json()
