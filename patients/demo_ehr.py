"""Synthetic FHIR bundles for the demo: an EHR feed with every kind of care gap.

Each bundle is a transaction Bundle (Patient, a recent visit, and a history
that puts the patient in one status: up to date by FIT, overdue after an old
colonoscopy, excluded for colorectal cancer or hospice, a recent mammogram, an
HPV test, ...). Some also have diabetes and HbA1c labs over two years that put
them in each of the diabetes control programme's statuses. Names come from
Faker; nothing here is real.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from typing import Any

from faker import Faker

LAB = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "laboratory",
        }
    ]
}
NEGATIVE = {"coding": [{"system": "http://snomed.info/sct", "code": "260385009"}]}


def _coding(system: str, code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code, "display": display}]}


def _history(kind: str, patient_id: str, today: dt.date) -> list[dict[str, Any]]:
    subject = {"reference": f"Patient/{patient_id}"}

    def days_ago(days: int) -> str:
        return (today - dt.timedelta(days=days)).isoformat()

    def fit(days: int) -> dict[str, Any]:
        return {
            "resourceType": "Observation",
            "status": "final",
            "category": [LAB],
            "code": _coding("http://loinc.org", "29771-3", "FIT hemoglobin in stool"),
            "effectiveDateTime": days_ago(days),
            "valueCodeableConcept": NEGATIVE,
            "subject": subject,
        }

    if kind == "fit-recent":
        return [fit(150)]
    if kind == "fit-due-soon":
        return [fit(340)]
    if kind == "colonoscopy-old":
        return [
            {
                "resourceType": "Procedure",
                "status": "completed",
                "code": _coding("http://www.ama-assn.org/go/cpt", "45378", "Colonoscopy"),
                "performedDateTime": days_ago(365 * 11),
                "subject": subject,
            }
        ]
    if kind == "colonoscopy-recent":
        return [
            {
                "resourceType": "Procedure",
                "status": "completed",
                "code": _coding("http://www.ama-assn.org/go/cpt", "45378", "Colonoscopy"),
                "performedDateTime": days_ago(365 * 3),
                "subject": subject,
            }
        ]
    if kind == "colorectal-cancer":
        return [
            {
                "resourceType": "Condition",
                "clinicalStatus": _coding(
                    "http://terminology.hl7.org/CodeSystem/condition-clinical", "active", "Active"
                ),
                "code": _coding(
                    "http://hl7.org/fhir/sid/icd-10-cm",
                    "C18.9",
                    "Malignant neoplasm of colon, unspecified",
                ),
                "onsetDateTime": days_ago(800),
                "subject": subject,
            }
        ]
    if kind == "hospice":
        return [
            {
                "resourceType": "Encounter",
                "status": "finished",
                "class": {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                    "code": "AMB",
                },
                "type": [_coding("http://snomed.info/sct", "385763009", "Hospice care")],
                "period": {"start": days_ago(60), "end": days_ago(30)},
                "subject": subject,
            }
        ]
    if kind == "mammogram-recent":
        return [
            {
                "resourceType": "Observation",
                "status": "final",
                "code": _coding("http://loinc.org", "24606-6", "MG Breast Screening"),
                "effectiveDateTime": days_ago(300),
                "valueString": "BI-RADS 1",
                "subject": subject,
            }
        ]
    if kind == "hpv-recent":
        return [
            {
                "resourceType": "Observation",
                "status": "final",
                "category": [LAB],
                "code": _coding("http://loinc.org", "21440-3", "HPV DNA in cervix"),
                "effectiveDateTime": days_ago(400),
                "valueCodeableConcept": NEGATIVE,
                "subject": subject,
            }
        ]
    return []


def _diabetes(profile: str, patient_id: str, today: dt.date) -> list[dict[str, Any]]:
    """Diabetes and its HbA1c history, putting the patient in one control status
    (diabetes control programme): labs over two years, the last ones this year."""
    subject = {"reference": f"Patient/{patient_id}"}
    year_start = dt.date(today.year, 1, 1)

    def day(days: int, *, this_year: bool = False) -> str:
        when = today - dt.timedelta(days=days)
        return max(when, year_start).isoformat() if this_year else when.isoformat()

    def a1c(when: str, value: float | None) -> dict[str, Any]:
        resource: dict[str, Any] = {
            "resourceType": "Observation",
            "status": "final",
            "category": [LAB],
            "code": _coding("http://loinc.org", "4548-4", "Hemoglobin A1c/Hemoglobin.total"),
            "effectiveDateTime": when,
            "subject": subject,
        }
        if value is not None:
            resource["valueQuantity"] = {
                "value": value,
                "unit": "%",
                "system": "http://unitsofmeasure.org",
                "code": "%",
            }
        return resource

    condition = {
        "resourceType": "Condition",
        "clinicalStatus": _coding(
            "http://terminology.hl7.org/CodeSystem/condition-clinical", "active", "Active"
        ),
        "code": _coding("http://hl7.org/fhir/sid/icd-10-cm", "E11.9", "Type 2 diabetes mellitus"),
        "onsetDateTime": day(365 * 6),
        "subject": subject,
    }
    labs = {
        # Coming down under coaching: at target now.
        "at-target": [(700, 9.8), (520, 9.1), (340, 8.4), (160, 7.6), (20, 7.1)],
        "poor-control": [(600, 8.9), (400, 9.6), (30, 9.4)],
        "above-target": [(500, 7.4), (45, 8.6)],
        "untested": [(600, 7.9), (400, 8.1)],  # nothing this year
        "no-result": [(300, 8.2), (15, None)],
        "excluded": [(90, 10.2)],  # in hospice: excluded whatever the value
    }[profile]
    recent = {min(days for days, _ in labs)}
    return [
        condition,
        *(
            a1c(day(days, this_year=days in recent and profile != "untested"), value)
            for days, value in labs
        ),
    ]


# The diabetes profile of the patient at each position of SCENARIOS (none elsewhere).
DIABETES_PROFILES = {
    0: "at-target",
    1: "poor-control",
    2: "above-target",
    3: "untested",
    4: "no-result",
    5: "excluded",
}

SCENARIOS = [
    ("fit-recent", "male", 58),
    ("fit-due-soon", "female", 62),
    ("colonoscopy-old", "male", 67),
    ("colonoscopy-recent", "female", 55),
    ("colorectal-cancer", "male", 70),
    ("hospice", "female", 72),
    ("mammogram-recent", "female", 54),
    ("hpv-recent", "female", 41),
    ("none", "female", 47),
    ("none", "male", 50),
]


def demo_bundles(*, count: int, today: dt.date, seed: int = 2026) -> list[tuple[str, bytes]]:
    """(Patient id, transaction Bundle JSON) for `count` synthetic EHR patients."""
    rng = random.Random(seed)  # noqa: S311 - synthetic demo data
    faker = Faker("en_US")
    faker.seed_instance(seed)
    bundles = []
    for index in range(count):
        kind, sex, age = SCENARIOS[index % len(SCENARIOS)]
        patient_id = f"demo-{index:04d}"
        birth = today - dt.timedelta(days=age * 365 + rng.randint(20, 300))
        given = faker.first_name_female() if sex == "female" else faker.first_name_male()
        patient = {
            "resourceType": "Patient",
            "id": patient_id,
            "identifier": [
                {
                    "type": _coding("http://terminology.hl7.org/CodeSystem/v2-0203", "MR", "MRN"),
                    "system": "urn:equinav:demo-ehr:mrn",
                    "value": f"EHR{700000 + index}",
                }
            ],
            "name": [{"use": "official", "family": faker.last_name(), "given": [given]}],
            "gender": sex,
            "birthDate": birth.isoformat(),
            "telecom": [
                {"system": "phone", "value": f"+1617555{8000 + index:04d}", "use": "mobile"}
            ],
            "communication": [
                {
                    "language": {
                        "coding": [
                            {"system": "urn:ietf:bcp:47", "code": rng.choice(["en", "es", "pt"])}
                        ]
                    },
                    "preferred": True,
                }
            ],
        }
        visit_day = (today - dt.timedelta(days=rng.randint(10, 200))).isoformat()
        visit = {
            "resourceType": "Encounter",
            "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
            "type": [_coding("http://www.ama-assn.org/go/cpt", "99213", "Office visit")],
            "period": {"start": f"{visit_day}T14:00:00Z", "end": f"{visit_day}T14:30:00Z"},
            "subject": {"reference": f"Patient/{patient_id}"},
        }
        resources = [patient, visit, *_history(kind, patient_id, today)]
        profile = DIABETES_PROFILES.get(index % len(SCENARIOS))
        if profile is not None:
            resources += _diabetes(profile, patient_id, today)
        entries = []
        for number, resource in enumerate(resources):
            if resource["resourceType"] != "Patient":
                resource["id"] = f"{patient_id}-{number}"
            entries.append(
                {
                    "resource": resource,
                    "request": {
                        "method": "PUT",
                        "url": f"{resource['resourceType']}/{resource['id']}",
                    },
                }
            )
        bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
        bundles.append((patient_id, json.dumps(bundle).encode()))
    return bundles
