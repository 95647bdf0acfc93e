"""A control case's lab recorded by its navigator or coach: an HbA1c or GMI seen on an
outside report, stored as the patient's lab Observation (`patients.services.labs`),
the patient's care gaps recomputed in the same transaction (as recording a
screening does, so the page never shows the old status beside the new value), and
the case's timeline saying who entered what from which report. A staff-entered value
mistyped is corrected or withdrawn the same way (`case_lab_correct`,
`case_lab_enter_in_error`), each with its own kind of timeline entry (lab corrected,
lab entered in error: never read as a new result) holding the Observations' ids and
the old and new values.

Lock order: the case (the kernel), then the patient's row (its
`clinical_data_changed_at`), as recording a screening does."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from navigator.cases import case_ensure_open, case_lock, event_record
from navigator.models import CaseEventKind, NavigationCase, User
from patients.models import ClinicalResource
from patients.services.care_gaps import care_gaps_recompute
from patients.services.labs import (
    LAB_TESTS,
    UNIT,
    lab_result_correct,
    lab_result_enter_in_error,
    lab_result_record,
)


def case_lab_record(
    *,
    case: NavigationCase | int,
    test: str,
    value: Decimal,
    collected_on: dt.date,
    source: str,
    actor: User,
    unit: str = UNIT,
    expected_version: int | None = None,
) -> ClinicalResource:
    """Record a lab value from an outside report on a control programme's case. The same
    value of the same day entered again changes nothing."""
    with transaction.atomic():
        case = case_lock(case, expected_version=expected_version)
        case_ensure_open(case)
        if not case.program.is_control:
            raise ValidationError(
                {"test": f"{case.program.label} follows no lab value; record its screening."}
            )
        resource, created = lab_result_record(
            patient=case.patient, test=test, value=value, collected_on=collected_on,
            source=source, actor=actor, unit=unit,
        )  # fmt: skip
        if not created:
            return resource
        care_gaps_recompute(patient_ids=[case.patient_id], as_of=timezone.localdate())
        label = LAB_TESTS[test].label
        event_record(
            case=case,
            kind=CaseEventKind.LAB_RECORDED,
            actor=actor,
            summary=f"{label} {value} {unit} collected {collected_on:%Y-%m-%d}, "
            f"from an outside report ({source.strip()[:120]})",
            data={
                "clinical_resource": resource.pk,
                "test": test,
                "value": str(value),
                "unit": unit,
                "collected_on": collected_on.isoformat(),
                "source": source.strip()[:200],
                "from": None,
                "to": str(value),
            },
        )
        return resource


def _lock_control_case(case: NavigationCase | int, expected_version: int | None) -> NavigationCase:
    case = case_lock(case, expected_version=expected_version)
    case_ensure_open(case)
    if not case.program.is_control:
        raise ValidationError({"lab": f"{case.program.label} follows no lab value."})
    return case


def _value(resource: dict) -> str:
    return str((resource.get("valueQuantity") or {}).get("value"))


def _what(resource: dict) -> dict[str, str | None]:
    """Which lab of which day (as the entry's event says it), for a fix's event."""
    code = (((resource.get("code") or {}).get("coding") or [{}])[0]).get("code")
    return {
        "test": next((key for key, lab in LAB_TESTS.items() if lab.loinc == code), None),
        "unit": UNIT,
        "collected_on": str(resource.get("effectiveDateTime"))[:10],
    }


def _words(resource: dict) -> str:
    code = (((resource.get("code") or {}).get("coding") or [{}])[0]).get("code")
    label = next((lab.label for lab in LAB_TESTS.values() if lab.loinc == code), "Lab")
    value = (resource.get("valueQuantity") or {}).get("value")
    return f"{label} {value} {UNIT} collected {str(resource.get('effectiveDateTime'))[:10]}"


def case_lab_enter_in_error(
    *,
    case: NavigationCase | int,
    resource_pk: int,
    actor: User,
    expected_version: int | None = None,
) -> ClinicalResource:
    """Withdraw a staff-entered lab of the case's patient as entered in error; the care
    gaps recomputed in the same transaction. Already withdrawn: nothing changes."""
    with transaction.atomic():
        case = _lock_control_case(case, expected_version)
        row, before, changed = lab_result_enter_in_error(
            patient=case.patient, resource_pk=resource_pk, actor=actor
        )
        if not changed:
            return row
        care_gaps_recompute(patient_ids=[case.patient_id], as_of=timezone.localdate())
        event_record(
            case=case,
            kind=CaseEventKind.LAB_ENTERED_IN_ERROR,
            actor=actor,
            summary=f"{_words(before)} marked entered in error",
            data={
                "clinical_resource": row.pk,
                **_what(before),
                "from": _value(before),
                "to": None,
                "status_from": before.get("status"),
                "status_to": row.resource.get("status"),
            },
        )
        return row


def case_lab_correct(
    *,
    case: NavigationCase | int,
    resource_pk: int,
    value: Decimal,
    actor: User,
    expected_version: int | None = None,
) -> ClinicalResource:
    """Correct a staff-entered lab of the case's patient: the mistyped one marked
    entered in error, the right value stored (same test, day and report); the care
    gaps recomputed in the same transaction. Returns the new Observation."""
    with transaction.atomic():
        case = _lock_control_case(case, expected_version)
        old, new = lab_result_correct(
            patient=case.patient, resource_pk=resource_pk, value=value, actor=actor
        )
        care_gaps_recompute(patient_ids=[case.patient_id], as_of=timezone.localdate())
        # Saved with the mistyped value's Observation (`corrects`, now entered in error)
        # and the new one: what changed, never the report's text (the entry has it).
        event_record(
            case=case,
            kind=CaseEventKind.LAB_CORRECTED,
            actor=actor,
            summary=f"{_words(old.resource)} corrected to {value} {UNIT}",
            data={
                "clinical_resource": new.pk,
                "corrects": old.pk,
                **_what(old.resource),
                "from": _value(old.resource),
                "to": str(value),
            },
        )
        return new
