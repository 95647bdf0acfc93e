"""New cases go to a navigator who speaks the patient's language; managers reassign."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from navigator.models import CaseEventKind, CaseStatus
from navigator.services.assignment import case_assign
from navigator.services.case_opening import case_open
from tests import factories
from tests.support.api import api_as

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


# --- The four factors, and their precedence -------------------------------------------------


def assign_new_case(patient, program_code: str = "colorectal"):
    case, _ = case_open(
        patient=patient, program=factories.program(program_code), actor=None, source="test"
    )
    return case


def test_a_patient_who_needs_an_interpreter_goes_only_to_a_speaker_when_one_exists():
    # Given an English-only navigator who already works the patient, at their clinic,
    # with far more room than the one Spanish speaker
    clinic = factories.ClinicFactory(name="Chelsea")
    patient = factories.PatientFactory(
        clinic=clinic, preferred_language="es", interpreter_needed=True
    )
    english = factories.NavigatorFactory(languages=["en"], caseload_capacity=500)
    english.clinics.add(clinic)
    factories.CaseFactory(navigator=english, patient=patient, program=factories.program("breast"))
    speaker = factories.NavigatorFactory(languages=["es"], caseload_capacity=10)
    give_open_cases(speaker, 8)

    case = assign_new_case(patient)

    # Then the speaker takes it: language is required, not weighed
    assert case.navigator == speaker
    assert case.needs_interpreter is False
    assert case.assignment_reason == "speaks Spanish; 8 of 10 cases"


def test_a_required_speaker_is_chosen_even_when_every_speaker_is_full():
    patient = factories.PatientFactory(preferred_language="es", interpreter_needed=True)
    speaker = factories.NavigatorFactory(languages=["es"], caseload_capacity=2)
    give_open_cases(speaker, 2)
    factories.NavigatorFactory(languages=["en"], caseload_capacity=100)

    case = assign_new_case(patient)

    assert case.navigator == speaker
    assert case.assignment_reason == (
        "speaks Spanish; 2 of 2 cases (every eligible navigator is full)"
    )


def test_limited_english_proficiency_counts_as_needing_an_interpreter():
    patient = factories.PatientFactory(
        preferred_language="pt", interpreter_needed=False, english_proficiency="not_well"
    )
    speaker = factories.NavigatorFactory(languages=["pt"], caseload_capacity=5)
    give_open_cases(speaker, 4)
    roomy = factories.NavigatorFactory(languages=["en"], caseload_capacity=500)
    roomy.clinics.add(patient.clinic)

    assert assign_new_case(patient).navigator == speaker


def test_continuity_outweighs_clinic_affinity_and_spare_capacity():
    # Given a patient whose breast case is already with `current`
    clinic = factories.ClinicFactory(name="Revere")
    patient = factories.PatientFactory(clinic=clinic)
    current = factories.NavigatorFactory(languages=["en"], caseload_capacity=50)
    factories.CaseFactory(navigator=current, patient=patient, program=factories.program("breast"))
    give_open_cases(current, 30)
    local = factories.NavigatorFactory(languages=["en"], caseload_capacity=500)
    local.clinics.add(clinic)

    # When a colorectal case opens for the same patient
    case = assign_new_case(patient)

    # Then it joins the other case: one person calls the patient
    assert case.navigator == current
    assert case.assignment_reason == (
        "speaks English; already works this patient's breast cancer case; 31 of 50 cases"
    )


def test_clinic_affinity_outweighs_spare_capacity():
    clinic = factories.ClinicFactory(name="Dorchester")
    patient = factories.PatientFactory(clinic=clinic)
    local = factories.NavigatorFactory(languages=["en"], caseload_capacity=20)
    local.clinics.add(clinic)
    give_open_cases(local, 15)
    factories.NavigatorFactory(languages=["en"], caseload_capacity=500)

    case = assign_new_case(patient)

    assert case.navigator == local
    assert case.assignment_reason == "speaks English; works with Dorchester; 15 of 20 cases"


def test_language_outweighs_continuity_when_no_interpreter_is_needed():
    patient = factories.PatientFactory(preferred_language="es", english_proficiency="very_well")
    current = factories.NavigatorFactory(languages=["en"])
    factories.CaseFactory(navigator=current, patient=patient, program=factories.program("breast"))
    speaker = factories.NavigatorFactory(languages=["es", "en"])

    assert assign_new_case(patient).navigator == speaker


def test_a_full_navigator_is_passed_over_while_anyone_has_room():
    patient = factories.PatientFactory(preferred_language="es", english_proficiency="very_well")
    full_speaker = factories.NavigatorFactory(languages=["es"], caseload_capacity=3)
    give_open_cases(full_speaker, 3)
    other = factories.NavigatorFactory(languages=["en"], caseload_capacity=100)

    case = assign_new_case(patient)

    assert case.navigator == other
    assert case.needs_interpreter is True
    assert case.assignment_reason == (
        "no Spanish speaker has room; 0 of 100 cases; interpreter needed"
    )


def test_equal_candidates_break_the_tie_the_same_way_every_time():
    first = factories.NavigatorFactory(languages=["en"], caseload_capacity=10)
    factories.NavigatorFactory(languages=["en"], caseload_capacity=10)

    assert assign_new_case(factories.PatientFactory()).navigator == first


def test_the_reason_is_kept_on_the_case_and_on_its_timeline():
    factories.NavigatorFactory(languages=["vi", "en"], caseload_capacity=120)

    case = open_case_for("vi")

    event = case.events.get(kind=CaseEventKind.ASSIGNED)
    assert case.assignment_reason == "speaks Vietnamese; 0 of 120 cases"
    assert event.data["reason"] == case.assignment_reason
    assert case.assignment_reason in event.summary


# --- Two managers, one case --------------------------------------------------------------------


def test_an_assignment_from_a_stale_form_is_refused_naming_who_assigned_it():
    # Given two managers who opened the case at the same version
    case = factories.CaseFactory()
    version = case.version
    first_manager = factories.ManagerFactory(first_name="Rosa", last_name="Diaz")
    luis = factories.NavigatorFactory()
    other = factories.NavigatorFactory()
    case_assign(case=case, navigator=luis, actor=first_manager, expected_version=version)

    # When the second submits their form
    with pytest.raises(ValidationError) as refused:
        case_assign(
            case=case, navigator=other, actor=factories.ManagerFactory(), expected_version=version
        )

    # Then they are told who won, and nothing of theirs was written
    message = refused.value.message_dict["version"][0]
    assert message.startswith(f"Rosa Diaz assigned this case to {luis} after you opened it.")
    case.refresh_from_db()
    assert case.navigator == luis
    assert case.events.filter(kind=CaseEventKind.ASSIGNED).count() == 1


def test_the_assign_api_answers_409_for_a_stale_version():
    case = factories.CaseFactory()
    manager = factories.ManagerFactory()
    target = factories.NavigatorFactory()
    case_assign(case=case, navigator=factories.NavigatorFactory(), actor=manager)

    response = api_as(manager).post(
        f"/api/cases/{case.pk}/assign/",
        {"navigator": target.pk, "version": 1},
        format="json",
    )

    assert response.status_code == 409
    assert "assigned this case to" in response.json()["version"][0]
    case.refresh_from_db()
    assert case.navigator != target


def test_the_case_page_reassign_form_refuses_a_stale_version_and_keeps_the_choice(client):
    case = factories.CaseFactory()
    manager = factories.ManagerFactory()
    target = factories.NavigatorFactory()
    case_assign(case=case, navigator=factories.NavigatorFactory(), actor=manager)
    client.force_login(manager)

    response = client.post(
        f"/cases/{case.pk}/assign/",
        {"navigator": target.pk, "version": 1},
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 200
    assert "after you opened it" in response.content.decode()
    case.refresh_from_db()
    assert case.navigator != target


def test_reassigning_to_an_inactive_navigator_is_refused_and_changes_nothing():
    case = factories.CaseFactory()
    gone = factories.NavigatorFactory(active=False)

    response = api_as(factories.ManagerFactory()).post(
        f"/api/cases/{case.pk}/assign/", {"navigator": gone.pk}, format="json"
    )

    assert response.status_code == 400
    assert "not an active navigator" in str(response.json())
    before = case.navigator
    case.refresh_from_db()
    assert case.navigator == before
    assert not case.events.exists()
