"""A control case's lab recorded by its navigator or coach: an HbA1c or GMI seen on an
outside report, stored as the patient's lab Observation (`patients.services.labs`),
the patient's care gaps recomputed in the same transaction (as recording a
screening does, so the page never shows the old status beside the new value), and
the case's timeline saying who entered what from which report.

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
from patients.services.labs import LAB_TESTS, UNIT, lab_result_record


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
