"""A lab value a member of staff copies from an outside report (an HbA1c or a glucose
management indicator that reached the clinic on paper or by fax, from a lab whose
results do not flow in through an EHR feed).

It is stored the way an imported lab is: a FHIR R4 laboratory Observation, a
`ClinicalResource` under a source of the patient's clinic (the clinic's own
staff-entry source, `FhirSource.kind` staff_entry, made on first use: not an EHR
feed, never listed or imported into as one), coded in LOINC with a UCUM quantity, so
that the care-gap engine and CMS122 (`patients.caregaps.control`, `glycemic.py`) and
the case page's trend read it exactly as they read an EHR's. Its provenance stays on
the resource: `meta.tag` says it was entered by staff, `performer` names the
reporting lab, and a note says who entered it from which report. The patient's
`clinical_data_changed_at` moves, so their care gaps are stale until recomputed.

Only percentages (NGSP/DCCT units) are entered: an IFCC result in mmol/mol is not
on the same scale (CMS122 compares % with 9 %), and converting it is the lab's work.

A value mistyped is withdrawn (`lab_result_enter_in_error`: its FHIR status becomes
"entered-in-error", which QI-Core's Status.cql and so the engine no longer count) or
corrected (`lab_result_correct`: the same, and the right value stored beside it).
Only staff-entered Observations: an EHR feed's result is its sender's to correct.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from navigator.models import User
from patients.models import (
    STAFF_ENTRY_KEY_PREFIX,
    ClinicalResource,
    FhirSource,
    FhirSourceKind,
    Patient,
)

# The tag on every Observation staff entered (meta.tag): the trend and any export can
# tell an outside report copied by hand from a feed's result.
ENTERED_BY_STAFF_SYSTEM = "https://equinav.org/fhir/CodeSystem/provenance"
ENTERED_BY_STAFF_CODE = "staff-entered"
ENTERED_BY_STAFF_TAG = {
    "system": ENTERED_BY_STAFF_SYSTEM,
    "code": ENTERED_BY_STAFF_CODE,
    "display": "Entered by staff from an outside report",
}
LAB_CATEGORY = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "laboratory",
            "display": "Laboratory",
        }
    ]
}


@dataclass(frozen=True)
class LabTest:
    """A lab staff may enter: its LOINC code and the values a real report can hold."""

    key: str
    label: str
    loinc: str
    display: str
    lowest: Decimal
    highest: Decimal


# HbA1c: LOINC 4548-4 (in CMS122's "HbA1c Laboratory Test" value set,
# 2.16.840.1.113883.3.464.1003.198.12.1013); GMI: LOINC 97506-0 (CMS122 2025's
# "Glucose Management Indicator" direct reference code). Plausible ranges: an HbA1c
# below 3 % or above 20 % is not a value an NGSP-certified method reports (assays
# read about 4-18 %); a GMI is 3.31 + 0.02392 x mean glucose (mg/dL) (Bergenstal,
# Diabetes Care 2018;41:2275), 4.3 % to 12.9 % for a mean of 40 to 400 mg/dL.
LAB_TESTS = {
    "hba1c": LabTest(
        "hba1c",
        "HbA1c",
        "4548-4",
        "Hemoglobin A1c/Hemoglobin.total in Blood",
        Decimal("3.0"),
        Decimal("20.0"),
    ),
    "gmi": LabTest(
        "gmi",
        "GMI",
        "97506-0",
        "Glucose management indicator",
        Decimal("4.0"),
        Decimal("14.0"),
    ),
}
UNIT = "%"

# FHIR R4 Observation.status: the value should never have been recorded (mistyped,
# or the wrong patient's). QI-Core's Status.cql counts only final, amended and
# corrected results, so the engine and CMS122 read it no more
# (`patients.caregaps.fhirdata.RESULTED`); the resource is kept, not deleted.
ENTERED_IN_ERROR = "entered-in-error"


def is_staff_entered(resource: dict) -> bool:
    """Whether an Observation was copied in by staff (its meta.tag)."""
    tags = (resource.get("meta") or {}).get("tag") or []
    return any(
        isinstance(tag, dict)
        and tag.get("system") == ENTERED_BY_STAFF_SYSTEM
        and tag.get("code") == ENTERED_BY_STAFF_CODE
        for tag in tags
    )


def lab_entry_errors(
    *, patient: Patient, test: str, value: Decimal, unit: str, collected_on: dt.date, source: str
) -> dict[str, str]:
    """What is wrong with a lab as entered, by field (empty: nothing)."""
    errors: dict[str, str] = {}
    lab = LAB_TESTS.get(test)
    if lab is None:
        errors["test"] = f"“{test}” is not a lab entered here (HbA1c or GMI)."
    elif not lab.lowest <= value <= lab.highest:
        errors["value"] = (
            f"{value} % is outside what a lab reports for {lab.label} ({lab.lowest} to "
            f"{lab.highest} %); check the report."
        )
    if unit != UNIT:
        errors["unit"] = (
            "Enter the percentage (NGSP/DCCT); a result in mmol/mol (IFCC) is on another scale."
        )
    today = timezone.localdate()
    if collected_on > today:
        errors["collected_on"] = "The sample cannot have been collected after today."
    elif collected_on < patient.birth_date:
        errors["collected_on"] = "The sample cannot have been collected before the patient's birth."
    if not source.strip():
        errors["source"] = "Name the lab or the report the value comes from."
    return errors


def _staff_feed(patient: Patient) -> FhirSource:
    """The clinic's staff-entry source, made on first use: marked as such (`kind`), so
    that no feed list, feed-health page or import takes it for an EHR feed."""
    source, _ = FhirSource.objects.get_or_create(
        clinic_id=patient.clinic_id,
        kind=FhirSourceKind.STAFF_ENTRY,
        defaults={
            "key": f"{STAFF_ENTRY_KEY_PREFIX}{patient.clinic_id}",
            "name": "Entered by staff from outside reports",
        },
    )
    return source


def lab_result_record(
    *,
    patient: Patient,
    test: str,
    value: Decimal,
    collected_on: dt.date,
    source: str,
    actor: User,
    unit: str = UNIT,
) -> tuple[ClinicalResource, bool]:
    """Store a lab value copied from an outside report as a laboratory Observation of
    the patient's; (the resource, whether it is new). The same test, day and value
    already entered by staff (and not withdrawn as entered in error): nothing changes
    (a form sent twice). The patient's
    care gaps are stale after it: the caller recomputes them."""
    errors = lab_entry_errors(
        patient=patient, test=test, value=value, unit=unit, collected_on=collected_on,
        source=source,
    )  # fmt: skip
    if errors:
        raise ValidationError(errors)
    lab = LAB_TESTS[test]
    source = source.strip()[:200]
    with transaction.atomic():
        feed = _staff_feed(patient)
        for row in ClinicalResource.objects.filter(
            patient=patient, source=feed, resource_type="Observation"
        ).only("pk", "resource"):
            resource = row.resource
            same_code = (resource.get("code") or {}).get("coding", [{}])[0].get("code")
            if (
                resource.get("status") != ENTERED_IN_ERROR
                and same_code == lab.loinc
                and resource.get("effectiveDateTime") == collected_on.isoformat()
                and Decimal(str((resource.get("valueQuantity") or {}).get("value"))) == value
            ):
                return row, False
        now = timezone.now()
        resource_id = f"staff-{uuid.uuid4().hex}"
        who = actor.get_full_name() or actor.get_username()
        resource = {
            "resourceType": "Observation",
            "id": resource_id,
            "meta": {"tag": [ENTERED_BY_STAFF_TAG]},
            "status": "final",
            "category": [LAB_CATEGORY],
            "code": {
                "coding": [
                    {"system": "http://loinc.org", "code": lab.loinc, "display": lab.display}
                ],
                "text": lab.label,
            },
            "subject": {"reference": f"Patient/{patient.pk}"},
            "effectiveDateTime": collected_on.isoformat(),
            "issued": now.isoformat(),
            "performer": [{"display": source}],
            "valueQuantity": {
                "value": float(value),
                "unit": UNIT,
                "system": "http://unitsofmeasure.org",
                "code": UNIT,
            },
            "note": [
                {
                    "authorString": who,
                    "time": now.isoformat(),
                    "text": f"Entered by {who} from an outside report ({source}).",
                }
            ],
        }
        row = ClinicalResource.objects.create(
            patient=patient,
            source=feed,
            resource_type="Observation",
            resource_id=resource_id,
            resource=resource,
            content_hash=resource_id,
            imported_at=now,
            updated_at=now,
        )
        Patient.objects.filter(pk=patient.pk).update(clinical_data_changed_at=now)
        return row, True


def _staff_lab_locked(*, patient: Patient, resource_pk: int) -> ClinicalResource:
    """The staff-entered lab Observation of the patient's, locked; refused for any
    other resource (an EHR feed's result is the feed's to correct, never ours)."""
    row = (
        ClinicalResource.objects.select_for_update(of=("self",))
        .select_related("source")
        .filter(pk=resource_pk, patient=patient, resource_type="Observation")
        .first()
    )
    if row is None:
        raise ValidationError({"lab": "This lab is not one of the patient's."})
    if row.source.kind != FhirSourceKind.STAFF_ENTRY or not is_staff_entered(row.resource):
        raise ValidationError(
            {"lab": "This result came from the EHR: only its sender can correct it."}
        )
    return row


def _lab_key(resource: dict) -> str | None:
    coding = ((resource.get("code") or {}).get("coding") or [{}])[0]
    code = coding.get("code")
    return next((key for key, lab in LAB_TESTS.items() if lab.loinc == code), None)


def lab_result_enter_in_error(
    *, patient: Patient, resource_pk: int, actor: User, replaced_by: str = ""
) -> tuple[ClinicalResource, dict, bool]:
    """Mark a staff-entered lab entered in error: (the row, the resource as it was,
    whether it changed). Already so: nothing changes. The patient's care gaps are
    stale after it: the caller recomputes them."""
    with transaction.atomic():
        row = _staff_lab_locked(patient=patient, resource_pk=resource_pk)
        before = dict(row.resource)
        if before.get("status") == ENTERED_IN_ERROR:
            return row, before, False
        now = timezone.now()
        who = actor.get_full_name() or actor.get_username()
        text = f"Marked entered in error by {who}."
        if replaced_by:
            text = f"Marked entered in error by {who}: replaced by Observation/{replaced_by}."
        resource = {
            **before,
            "status": ENTERED_IN_ERROR,
            "note": [*(before.get("note") or []), {"authorString": who, "time": now.isoformat(),
                                                    "text": text}],
        }  # fmt: skip
        row.resource = resource
        row.content_hash = f"{row.resource_id}:{ENTERED_IN_ERROR}"
        row.updated_at = now
        row.save(update_fields=["resource", "content_hash", "updated_at"])
        Patient.objects.filter(pk=patient.pk).update(clinical_data_changed_at=now)
        return row, before, True


def lab_result_correct(
    *, patient: Patient, resource_pk: int, value: Decimal, actor: User
) -> tuple[ClinicalResource, ClinicalResource]:
    """Correct a mistyped staff-entered lab: the new value of the same test, day and
    report is stored as a new Observation, and the one mistyped is marked entered in
    error, pointing at it; (the old row, the new row). The same value: refused (nothing
    to correct). The caller recomputes the care gaps."""
    with transaction.atomic():
        row = _staff_lab_locked(patient=patient, resource_pk=resource_pk)
        resource = row.resource
        if resource.get("status") == ENTERED_IN_ERROR:
            raise ValidationError({"lab": "This lab was already marked entered in error."})
        test = _lab_key(resource)
        old_value = (resource.get("valueQuantity") or {}).get("value")
        if test is None:
            raise ValidationError({"lab": "This Observation is not an HbA1c or GMI."})
        if old_value is not None and Decimal(str(old_value)) == value:
            raise ValidationError({"value": f"The lab already reads {value} %."})
        performer = ((resource.get("performer") or [{}])[0]).get("display") or "outside report"
        new, _ = lab_result_record(
            patient=patient, test=test, value=value,
            collected_on=dt.date.fromisoformat(str(resource.get("effectiveDateTime"))[:10]),
            source=performer, actor=actor,
        )  # fmt: skip
        old, _, _ = lab_result_enter_in_error(
            patient=patient, resource_pk=row.pk, actor=actor, replaced_by=new.resource_id
        )
        return old, new
