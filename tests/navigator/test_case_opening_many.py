"""Opening many cases at once (`cases_open_many`, the care-gap refresh's path) does what
`case_open` one by one does: the same cases, navigators, reasons, versions and events."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from navigator.models import CaseEvent, NavigationCase
from navigator.services.case_opening import case_open, cases_open_many
from patients.models import PatientMerge
from tests import factories

pytestmark = pytest.mark.django_db


class _RolledBack(Exception):
    pass


def _outcome(patient_ids: list[int]) -> list[tuple]:
    """The open cases of these patients and their timelines, comparable across runs."""
    cases = NavigationCase.objects.filter(patient_id__in=patient_ids).order_by(
        "patient_id", "program_id"
    )
    return [
        (
            case.patient_id,
            case.program_id,
            case.navigator_id,
            case.status,
            case.needs_interpreter,
            case.assignment_reason,
            case.version,
            case.next_follow_up,
            [
                (event.kind, event.summary, event.data)
                for event in CaseEvent.objects.filter(case=case).order_by("pk")
            ],
        )
        for case in cases
    ]


def _one_by_one(openings, patient_ids):
    """What case_open one by one leaves, then undone."""
    try:
        with transaction.atomic():
            for patient, program, source in openings:
                case_open(patient=patient, program=program, actor=None, source=source)
            found = _outcome(patient_ids)
            raise _RolledBack
    except _RolledBack:
        return found


def test_many_at_once_opens_what_one_by_one_would():
    # Given navigators who differ by language, clinic and load, and patients of whom one
    # already has a case with a navigator (continuity), one an open case in a program
    # asked for again, one who needs a Spanish speaker
    clinic = factories.ClinicFactory()
    spanish = factories.NavigatorFactory(languages=["es", "en"], caseload_capacity=3)
    local = factories.NavigatorFactory(languages=["en"], caseload_capacity=50)
    local.clinics.add(clinic)
    other = factories.NavigatorFactory(languages=["en"], caseload_capacity=50)
    for _ in range(2):
        factories.CaseFactory(navigator=spanish)
    followed = factories.PatientFactory(clinic=clinic)
    factories.CaseFactory(patient=followed, navigator=other, program=factories.program("breast"))
    already = factories.PatientFactory()
    factories.CaseFactory(patient=already, navigator=local, program=factories.program("colorectal"))
    speaker = factories.PatientFactory(preferred_language="es", english_proficiency="not_well")
    speaker_two = factories.PatientFactory(preferred_language="es", english_proficiency="not_well")
    plain = factories.PatientFactory(clinic=clinic)
    colorectal, cervical, lung = (
        factories.program("colorectal"),
        factories.program("cervical"),
        factories.program("lung"),
    )
    openings = [
        (followed, colorectal, "care gap: a"),
        (followed, cervical, "care gap: b"),  # a second case: continuity with the first
        (already, colorectal, "care gap: c"),  # open already: kept
        (speaker, colorectal, "care gap: d"),
        (speaker_two, colorectal, "care gap: e"),  # the speaker is full by now
        (plain, lung, "care gap: f"),
        (plain, lung, "care gap: f"),  # the same pair twice: one case
    ]
    ids = [p.pk for p in (followed, already, speaker, speaker_two, plain)]
    expected = _one_by_one(openings, ids)

    # When they are opened at once
    opened = cases_open_many(openings=openings, actor=None)

    # Then the same cases, assignments and timelines as one by one
    assert len(opened) == 5
    assert _outcome(ids) == expected
    # (the scenario does exercise continuity, language and a full speaker)
    reasons = " | ".join(row[5] for row in expected)
    assert "already works this patient's" in reasons
    assert "speaks Spanish" in reasons


def test_a_merged_record_is_refused_as_case_open_refuses_it():
    survivor = factories.PatientFactory()
    duplicate = factories.PatientFactory()
    PatientMerge.objects.create(
        survivor=survivor, duplicate=duplicate, actor=factories.ManagerFactory()
    )
    colorectal = factories.program("colorectal")
    with pytest.raises(ValidationError) as single:
        case_open(patient=duplicate, program=colorectal, actor=None, source="x")
    with pytest.raises(ValidationError) as many:
        cases_open_many(
            openings=[(survivor, colorectal, "x"), (duplicate, colorectal, "x")], actor=None
        )
    assert many.value.message_dict == single.value.message_dict
    assert not NavigationCase.objects.filter(patient=survivor).exists()


@pytest.mark.parametrize("count", [1, 12])
def test_opening_many_takes_the_same_queries_for_one_case_or_twelve(count):
    factories.NavigatorFactory(languages=["en"])
    colorectal = factories.program("colorectal")
    patients = [factories.PatientFactory() for _ in range(count)]
    with CaptureQueriesContext(connection) as captured:
        cases_open_many(openings=[(p, colorectal, "care gap") for p in patients], actor=None)
    # 1. lock the patients  2. their merges  3. their open cases  4. lock the navigators
    # 5. read them with their users  6. their clinics  7. their loads  8. the patients'
    # other open assigned cases  9. INSERT the cases  10. INSERT the events; on
    # PostgreSQL the cases go by COPY, their keys first reserved from the sequence (11.)
    # (savepoints aside; none of them per case)
    statements = [
        q["sql"] for q in captured.captured_queries if "SAVEPOINT" not in q["sql"].upper()
    ]
    assert len(statements) == (11 if connection.vendor == "postgresql" else 10)
