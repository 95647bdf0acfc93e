"""Coaches and navigators (issue 16, part 6): language first, then a control programme's
case goes to a coach and a screening case to a navigator, the other role only where
none of the preferred one fits; the reason says so in words."""

from __future__ import annotations

import pytest
from django.db import transaction

from navigator.models import CaseEventKind, NavigationCase
from navigator.services.assignment import navigator_rebalance
from navigator.services.case_opening import case_open, cases_open_for_new_patients, cases_open_many
from tests import factories

pytestmark = pytest.mark.django_db


class _RolledBack(Exception):
    pass


def assign_new_case(patient, program_code: str) -> NavigationCase:
    case, _ = case_open(
        patient=patient, program=factories.program(program_code), actor=None, source="test"
    )
    return case


def spanish_speaker(**kwargs):
    return factories.PatientFactory(
        preferred_language="es", english_proficiency="not_well", **kwargs
    )


def give_open_cases(caseload, count: int) -> None:
    for _ in range(count):
        factories.CaseFactory(navigator=caseload)


def test_a_spanish_speakers_diabetes_case_goes_to_the_spanish_speaking_coach_first():
    # Given a Spanish-speaking navigator with more room, at the patient's clinic, who
    # already works the patient's colorectal case, and a Spanish-speaking coach
    clinic = factories.ClinicFactory(name="Chelsea")
    patient = spanish_speaker(clinic=clinic)
    navigator = factories.NavigatorFactory(languages=["es", "en"], caseload_capacity=500)
    navigator.clinics.add(clinic)
    factories.CaseFactory(navigator=navigator, patient=patient)
    coach = factories.CoachFactory(languages=["es", "en"], caseload_capacity=40)
    give_open_cases(coach, 12)

    # When the patient's diabetes control case opens
    case = assign_new_case(patient, "diabetes")

    # Then the coach takes it: the role outweighs continuity, clinic and room
    assert case.navigator == coach
    assert case.needs_interpreter is False
    assert case.assignment_reason == (
        "speaks Spanish; coach for a diabetes control case; 12 of 40 cases"
    )
    assert case.events.get(kind=CaseEventKind.ASSIGNED).data["reason"] == case.assignment_reason


def test_language_comes_before_the_role_a_coach_who_does_not_speak_it_is_passed_over():
    # Given an English-only coach with room and a Spanish-speaking navigator
    factories.CoachFactory(languages=["en"], caseload_capacity=500)
    navigator = factories.NavigatorFactory(languages=["es", "en"], caseload_capacity=50)

    # When a Spanish speaker's diabetes case opens
    case = assign_new_case(spanish_speaker(), "diabetes")

    # Then the navigator takes it, and the reason says why not a coach
    assert case.navigator == navigator
    assert case.assignment_reason == (
        "speaks Spanish; navigator for a diabetes control case (no coach speaks Spanish); "
        "0 of 50 cases"
    )


def test_a_full_coach_leaves_a_diabetes_case_to_a_navigator_with_room():
    coach = factories.CoachFactory(languages=["es"], caseload_capacity=2)
    give_open_cases(coach, 2)
    navigator = factories.NavigatorFactory(languages=["es"], caseload_capacity=50)

    case = assign_new_case(spanish_speaker(), "diabetes")

    assert case.navigator == navigator
    assert case.assignment_reason == (
        "speaks Spanish; navigator for a diabetes control case (no coach has room); 0 of 50 cases"
    )


def test_a_team_without_a_coach_gives_a_diabetes_case_to_a_navigator_and_says_so():
    navigator = factories.NavigatorFactory(languages=["en"], caseload_capacity=50)

    case = assign_new_case(factories.PatientFactory(), "diabetes")

    assert case.navigator == navigator
    assert case.assignment_reason == (
        "speaks English; navigator for a diabetes control case (no active coach); 0 of 50 cases"
    )


def test_a_screening_case_goes_to_a_navigator_before_a_coach_with_more_room():
    factories.CoachFactory(languages=["es"], caseload_capacity=500)
    navigator = factories.NavigatorFactory(languages=["es"], caseload_capacity=20)
    give_open_cases(navigator, 15)

    case = assign_new_case(spanish_speaker(), "colorectal")

    assert case.navigator == navigator
    assert case.assignment_reason == (
        "speaks Spanish; navigator for a colorectal cancer screening case; 15 of 20 cases"
    )


def test_a_screening_case_falls_back_to_a_coach_only_when_no_navigator_fits():
    # Given a coach who speaks the patient's language and a navigator who does not
    coach = factories.CoachFactory(languages=["es"], caseload_capacity=50)
    factories.NavigatorFactory(languages=["en"], caseload_capacity=500)

    # When a Spanish speaker's colorectal case opens
    case = assign_new_case(spanish_speaker(), "colorectal")

    # Then the coach takes it: language first
    assert case.navigator == coach
    assert case.assignment_reason == (
        "speaks Spanish; coach for a colorectal cancer screening case "
        "(no navigator speaks Spanish); 0 of 50 cases"
    )


def test_a_coach_alone_on_the_team_takes_every_case():
    coach = factories.CoachFactory(languages=["en"], caseload_capacity=50)

    case = assign_new_case(factories.PatientFactory(), "breast")

    assert case.navigator == coach
    assert case.assignment_reason == (
        "speaks English; coach for a breast cancer screening case (no active navigator); "
        "0 of 50 cases"
    )


def _opened(openings, opener) -> list[tuple]:
    """(patient, program, caseload, reason) of what `opener` opens, then undone."""
    try:
        with transaction.atomic():
            cases = opener(openings)
            found = [
                (c.patient_id, c.program_id, c.navigator_id, c.assignment_reason)
                for c in NavigationCase.objects.filter(pk__in=[c.pk for c in cases]).order_by("pk")
            ]
            raise _RolledBack
    except _RolledBack:
        return found


def test_the_bulk_paths_choose_coaches_as_opening_one_by_one_does():
    # Given a Spanish coach with room for one more, a Spanish navigator, an English coach
    coach = factories.CoachFactory(languages=["es", "en"], caseload_capacity=1)
    factories.NavigatorFactory(languages=["es", "en"], caseload_capacity=50)
    factories.CoachFactory(languages=["en"], caseload_capacity=50)
    diabetes, colorectal = factories.program("diabetes"), factories.program("colorectal")
    first, second, third = spanish_speaker(), spanish_speaker(), factories.PatientFactory()
    openings = [(first, diabetes), (second, diabetes), (third, colorectal), (third, diabetes)]

    # When they are opened one by one, as the care-gap refresh opens them, and as the
    # referral import opens new patients' cases
    one_by_one = _opened(
        openings,
        lambda rows: [
            case_open(patient=p, program=program, actor=None, source="t")[0] for p, program in rows
        ],
    )
    many = _opened(
        openings,
        lambda rows: cases_open_many(openings=[(p, g, "t") for p, g in rows], actor=None),
    )
    new_patients = _opened(
        openings,
        lambda rows: cases_open_for_new_patients(openings=rows, actor=None, source="t"),
    )

    # Then the first Spanish speaker's case goes to the Spanish coach, the second (the
    # coach now full) to the Spanish navigator; each path chose the same caseloads
    assert one_by_one[0][2] == coach.pk
    assert "no coach has room" in one_by_one[1][3]
    assert [row[2] for row in many] == [row[2] for row in one_by_one]
    assert many == one_by_one
    # (the new patients' path knows no continuity: the same caseloads, its own words)
    assert [row[2] for row in new_patients] == [row[2] for row in one_by_one]


def test_rebalancing_a_navigators_diabetes_cases_moves_them_to_a_coach():
    # Given a leaving navigator with a diabetes case and a colorectal case
    manager = factories.ManagerFactory()
    leaving = factories.NavigatorFactory(languages=["en"])
    diabetes_case = factories.CaseFactory(navigator=leaving, program=factories.program("diabetes"))
    colorectal_case = factories.CaseFactory(navigator=leaving)
    coach = factories.CoachFactory(languages=["en"], caseload_capacity=50)
    navigator = factories.NavigatorFactory(languages=["en"], caseload_capacity=50)

    # When a manager moves all of them
    navigator_rebalance(from_navigator=leaving, actor=manager, deactivate=True)

    # Then the diabetes case goes to the coach, the colorectal case to the navigator
    diabetes_case.refresh_from_db()
    colorectal_case.refresh_from_db()
    assert diabetes_case.navigator == coach
    assert colorectal_case.navigator == navigator
    assert "coach for a diabetes control case" in diabetes_case.assignment_reason
    assert "navigator for a colorectal cancer screening case" in colorectal_case.assignment_reason
