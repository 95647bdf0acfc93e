"""CMS122 end to end: lab Observations with their values, units and dates, sent by an
EHR feed through the real FHIR importer, then `measure_report` and the FHIR
MeasureReport API, which say the measure is inverse (lower is better)."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from patients.caregaps.valuesets import valuesets_load
from patients.fhir.importer import fhir_import
from patients.models import ClinicalResource, FhirSource
from tests.factories import ManagerFactory
from tests.support.api import api_as
from tests.support.fhir import bundle, patient_resource
from tests.support.paths import ECQM
from tests.support.services import need

pytestmark = pytest.mark.django_db

LAB = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                   "code": "laboratory"}]}  # fmt: skip


def visit(subject: str) -> dict:
    return {
        "resourceType": "Encounter",
        "id": f"{subject}-visit",
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "type": [{"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "99202"}]}],
        "subject": {"reference": f"Patient/{subject}"},
        "period": {"start": "2025-02-03T09:00:00Z", "end": "2025-02-03T09:20:00Z"},
    }


def diabetes(subject: str) -> dict:
    return {
        "resourceType": "Condition",
        "id": f"{subject}-dm",
        "clinicalStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": "active",
                }
            ]
        },
        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "E11.9"}]},
        "subject": {"reference": f"Patient/{subject}"},
        "onsetDateTime": "2019-04-01",
    }


def hba1c(subject: str, number: int, day: str, value: float | None, unit: str = "%") -> dict:
    resource = {
        "resourceType": "Observation",
        "id": f"{subject}-a1c-{number}",
        "status": "final",
        "category": [LAB],
        "code": {"coding": [{"system": "http://loinc.org", "code": "4548-4"}]},
        "subject": {"reference": f"Patient/{subject}"},
        "effectiveDateTime": day,
    }
    if value is not None:
        resource["valueQuantity"] = {
            "value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit
        }  # fmt: skip
    return resource


PATIENTS = {
    # id: (its HbA1c results, in the numerator?)
    "controlled": ([(1, "2025-03-01", 10.4), (2, "2025-10-02", 7.9)], 0),
    "poor": ([(1, "2025-03-01", 7.1), (2, "2025-10-02", 9.4)], 1),
    "exactly-nine": ([(1, "2025-10-02", 9.0)], 0),
    "untested": ([(1, "2024-11-30", 6.5)], 1),  # last test before the period
    "no-result": ([(1, "2025-10-02", None)], 1),
}


@pytest.fixture
def feed(clinic):
    folder = ECQM / "CMS122-diabetes"
    need("the CMS122 value sets", folder.is_dir(), f"{folder} is absent")
    valuesets_load(documents=[("valuesets.json", (folder / "valuesets.json").read_bytes())])
    source = FhirSource.objects.create(key="lab-ehr", name="Lab EHR", clinic=clinic)
    for number, (subject, (results, _)) in enumerate(PATIENTS.items()):
        resources = [
            patient_resource(
                id=subject,
                birthDate="1968-05-20",
                identifier=[{"system": "urn:mrn", "value": f"MRN-{number}"}],
                name=[{"family": f"Family{number}", "given": ["Given"]}],
            ),
            visit(subject),
            diabetes(subject),
            *(hba1c(subject, n, day, value) for n, day, value in results),
        ]
        fhir_import(source=source, payload=bundle(*resources), origin=subject, actor=None)
    return source


def test_the_import_keeps_each_lab_value_with_its_unit_and_date(feed):
    stored = ClinicalResource.objects.get(resource_id="poor-a1c-2").resource
    assert stored["valueQuantity"] == {
        "value": 9.4, "unit": "%", "system": "http://unitsofmeasure.org", "code": "%"
    }  # fmt: skip
    assert (stored["status"], stored["effectiveDateTime"]) == ("final", "2025-10-02")


def test_the_report_counts_poor_control_and_says_lower_is_better(feed):
    out = StringIO()
    call_command(
        "measure_report",
        measure="CMS122",
        period_start="2025-01-01",
        period_end="2025-12-31",
        source=feed.key,
        stdout=out,
    )
    report = json.loads(out.getvalue())

    numerators = {p["id"]: p["populations"]["numerator"] for p in report["patients"]}
    assert numerators == {subject: want for subject, (_, want) in PATIENTS.items()}
    assert report["improvement_notation"] == "decrease"
    assert report["summary"]["rate"] == round(3 / 5, 4)
    assert "warnings" not in report


def test_the_fhir_measure_report_carries_the_improvement_notation(feed):
    client = api_as(ManagerFactory())
    response = client.get(
        "/api/measures/CMS122/report/",
        {"period_start": "2025-01-01", "period_end": "2025-12-31"},
        secure=True,
    )
    assert response.status_code == 200
    body = response.json()
    assert body["improvementNotation"]["coding"][0]["code"] == "decrease"
    counts = {p["code"]["coding"][0]["code"]: p["count"] for p in body["group"][0]["population"]}
    assert counts == {
        "initial-population": 5, "denominator": 5, "denominator-exclusion": 0, "numerator": 3
    }  # fmt: skip

    screening = client.get(
        "/api/measures/CMS130/report/",
        {"period_start": "2025-01-01", "period_end": "2025-12-31"},
        secure=True,
    )
    assert screening.json()["improvementNotation"]["coding"][0]["code"] == "increase"
