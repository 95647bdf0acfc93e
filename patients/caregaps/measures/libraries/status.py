"""Status 1.8.000: which resources count as performed, resulted or ordered.

Each function ports one of the library's fluent functions (named in its
docstring) to a filter over a list of resources. The status values themselves
are defined once in patients.caregaps.fhirdata (the care-gap engine reads them
too).
"""

from __future__ import annotations

from patients.caregaps.fhirdata import (
    ORDERED,
    PERFORMED_ENCOUNTER,
    RESULTED,
    Resource,
    has_category,
    status,
)


def encounter_performed(items: list[Resource]) -> list[Resource]:
    """isEncounterPerformed."""
    return [e for e in items if status(e) in PERFORMED_ENCOUNTER]


def procedure_performed(items: list[Resource]) -> list[Resource]:
    """isProcedurePerformed / isInterventionPerformed: status ~ 'completed'."""
    return [p for p in items if status(p).lower() == "completed"]


def laboratory_test_performed(items: list[Resource]) -> list[Resource]:
    """isLaboratoryTestPerformed: resulted, category laboratory."""
    return [o for o in items if status(o) in RESULTED and has_category(o, "laboratory")]


def diagnostic_study_performed(items: list[Resource]) -> list[Resource]:
    """isDiagnosticStudyPerformed."""
    return [o for o in items if status(o) in RESULTED]


def assessment_performed(items: list[Resource]) -> list[Resource]:
    """isAssessmentPerformed: resulted, category survey."""
    return [o for o in items if status(o) in RESULTED and has_category(o, "survey")]


def symptom(items: list[Resource]) -> list[Resource]:
    """isSymptom: resulted or preliminary."""
    return [o for o in items if status(o) in RESULTED | {"preliminary"}]


def order(items: list[Resource]) -> list[Resource]:
    """isDeviceOrder / isInterventionOrder: active or completed orders."""
    return [r for r in items if status(r) in ORDERED and r.get("intent") == "order"]


def medication_active(items: list[Resource]) -> list[Resource]:
    """isMedicationActive: active orders only."""
    return [r for r in items if status(r) == "active" and r.get("intent") == "order"]
