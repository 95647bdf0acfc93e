"""FHIR resources and bundles as a feed sends them, and what the patients app holds."""

from __future__ import annotations

import itertools
import json

from django.apps import apps
from django.utils import timezone

from patients.models import ClinicalResource, FhirSource, Patient

_ids = itertools.count(1)


def patient_resource(**overrides) -> dict:
    resource = {
        "resourceType": "Patient",
        "id": "p1",
        "identifier": [
            {
                "type": {
                    "coding": [
                        {"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}
                    ]
                },
                "system": "urn:mrn",
                "value": "MRN-1",
            }
        ],
        "name": [{"use": "official", "family": "Lima", "given": ["Ana", "Maria"]}],
        "gender": "female",
        "birthDate": "1965-04-02",
    }
    resource.update(overrides)
    return resource


def observation(number: int, subject: str = "Patient/p1", **overrides) -> dict:
    resource = {
        "resourceType": "Observation",
        "id": f"obs-{number}",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "29771-3"}]},
        "subject": {"reference": subject},
        "effectiveDateTime": "2025-03-02",
        "valueString": "negative",
    }
    resource.update(overrides)
    return resource


def bundle(*resources: dict, kind: str = "transaction") -> bytes:
    entries = []
    for resource in resources:
        entry: dict = {"resource": resource}
        if kind == "transaction":
            entry["request"] = {
                "method": "PUT",
                "url": f"{resource['resourceType']}/{resource['id']}",
            }
        entries.append(entry)
    return json.dumps({"resourceType": "Bundle", "type": kind, "entry": entries}).encode()


def row_counts() -> dict[str, int]:
    return {m.__name__: m.objects.count() for m in apps.get_app_config("patients").get_models()}


def ehr_resource(patient: Patient, resource: dict) -> ClinicalResource:
    """A resource as an EHR feed would have delivered it."""
    source, _ = FhirSource.objects.get_or_create(
        key="test-ehr", defaults={"name": "Test EHR", "clinic": patient.clinic}
    )
    resource = {"id": f"r{next(_ids)}", "subject": {"reference": "Patient/p"}, **resource}
    stored = ClinicalResource.objects.create(
        patient=patient,
        source=source,
        resource_type=resource["resourceType"],
        resource_id=resource["id"],
        resource=resource,
        content_hash=resource["id"],
    )
    Patient.objects.filter(pk=patient.pk).update(clinical_data_changed_at=timezone.now())
    return stored


def colonoscopy(day: str, status: str = "completed") -> dict:
    """A colonoscopy Procedure (CPT 45378) the EHR reports, performed on `day`."""
    return {
        "resourceType": "Procedure",
        "status": status,
        "code": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "45378"}]},
        "performedDateTime": day,
    }


def fit(day: str, status: str = "final") -> dict:
    return {
        "resourceType": "Observation",
        "status": status,
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "laboratory",
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": "http://loinc.org", "code": "29771-3"}]},
        "effectiveDateTime": day,
        "valueCodeableConcept": {
            "coding": [{"system": "http://snomed.info/sct", "code": "260385009"}]
        },
    }


_LAB_CATEGORY = [
    {
        "coding": [
            {
                "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                "code": "laboratory",
            }
        ]
    }
]


def hba1c(
    day: str,
    value: float | str | None,
    unit: str = "%",
    *,
    loinc: str = "4548-4",
    status: str = "final",
    comparator: str | None = None,
) -> dict:
    """An HbA1c lab Observation (LOINC 4548-4, in CMS122's value set); `value` None:
    a result with no value."""
    resource: dict = {
        "resourceType": "Observation",
        "status": status,
        "category": _LAB_CATEGORY,
        "code": {"coding": [{"system": "http://loinc.org", "code": loinc, "display": "HbA1c"}]},
        "effectiveDateTime": day,
    }
    if value is not None:
        quantity: dict = {"value": value, "unit": unit, "system": "http://unitsofmeasure.org"}
        if unit:
            quantity["code"] = unit
        if comparator:
            quantity["comparator"] = comparator
        resource["valueQuantity"] = quantity
    return resource


def gmi(day: str, value: float | str) -> dict:
    """A glucose management indicator (LOINC 97506-0), in %."""
    return hba1c(day, value, loinc="97506-0")


def diabetes(onset: str, *, abated: str | None = None, code: str = "E11.9") -> dict:
    """A diabetes Condition (ICD-10-CM, in CMS122's value set)."""
    resource: dict = {
        "resourceType": "Condition",
        "clinicalStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": "resolved" if abated else "active",
                }
            ]
        },
        "verificationStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                    "code": "confirmed",
                }
            ]
        },
        "code": {
            "coding": [
                {
                    "system": "http://hl7.org/fhir/sid/icd-10-cm",
                    "code": code,
                    "display": "Type 2 diabetes mellitus",
                }
            ]
        },
        "onsetDateTime": onset,
    }
    if abated:
        resource["abatementDateTime"] = abated
    return resource
