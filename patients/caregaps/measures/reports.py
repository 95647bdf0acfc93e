"""Measure reports over the patients known from EHR feeds.

Reads only: patients are loaded in batches with a fixed number of queries per
batch (patients, their feed ids, their resources), whatever the batch size.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

from django.db.models import QuerySet
from django.utils import timezone

from patients.caregaps.codes import normalise_system
from patients.caregaps.fhirdata import PatientRecord
from patients.caregaps.measures.context import Terminology
from patients.caregaps.measures.measure import POPULATIONS, Measure, Populations
from patients.caregaps.measures.registry import MEASURES
from patients.models import (
    ClinicalResource,
    CodeConcept,
    ConceptCode,
    FhirSource,
    Patient,
    PatientSourceLink,
    ValueSetCode,
)

BATCH_SIZE = 500
POPULATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/measure-population"
POPULATION_DISPLAY = {
    "initial-population": "Initial Population",
    "denominator": "Denominator",
    "denominator-exclusion": "Denominator Exclusion",
    "numerator": "Numerator",
}
MEASURE_CANONICAL = "https://madie.cms.gov/Measure/"


def measure_terminology() -> Terminology:
    """Every loaded value set; for one not loaded, the starter codes of its concepts."""
    codes: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for url, system, code in ValueSetCode.objects.values_list(
        "value_set__url", "system", "code"
    ).iterator(chunk_size=5000):
        codes[url].add((normalise_system(system), code))
    loaded = set(codes)
    concept_urls = dict(CodeConcept.objects.values_list("pk", "value_set_urls"))
    starter: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for concept_id, system, code in ConceptCode.objects.values_list("concept_id", "system", "code"):
        for url in concept_urls.get(concept_id) or []:
            if url not in loaded:
                starter[url].add((normalise_system(system), code))
    return Terminology(
        {url: frozenset(values) for url, values in (codes | starter).items()},
        starter_urls=frozenset(starter),
    )


def linked_patients(source: FhirSource | None = None) -> QuerySet[PatientSourceLink]:
    links = PatientSourceLink.objects.all()
    if source is not None:
        links = links.filter(source=source)
    return links.order_by("patient_id", "pk")


def patient_records(links: list[tuple[int, str]]) -> list[PatientRecord]:
    """Records for (patient pk, feed id) pairs: two queries whatever their number."""
    ids = [patient_id for patient_id, _ in links]
    patients = {p.pk: p for p in Patient.objects.filter(pk__in=ids).only("pk", "birth_date", "sex")}
    resources: dict[int, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    rows = (
        ClinicalResource.objects.filter(patient_id__in=ids)
        .exclude(resource_type="Patient")
        .order_by("pk")
        .values_list("patient_id", "resource_type", "resource")
    )
    for patient_id, resource_type, resource in rows:
        resources[patient_id][resource_type].append(resource)
    records = []
    for patient_id, feed_id in links:
        patient = patients.get(patient_id)
        if patient is None:
            continue
        records.append(
            PatientRecord(
                id=feed_id,
                pk=patient_id,
                birth_date=patient.birth_date,
                gender=patient.sex,
                resources=dict(resources.get(patient_id, {})),
            )
        )
    return records


def _batches(links: QuerySet[PatientSourceLink]) -> Iterator[list[tuple[int, str]]]:
    batch: list[tuple[int, str]] = []
    seen: set[int] = set()
    for patient_id, resource_id in links.values_list("patient_id", "resource_id").iterator(
        chunk_size=BATCH_SIZE
    ):
        if patient_id in seen:  # a patient known from two feeds counts once
            continue
        seen.add(patient_id)
        batch.append((patient_id, resource_id))
        if len(batch) == BATCH_SIZE:
            yield batch
            batch = []
    if batch:
        yield batch


@dataclass
class PatientResult:
    id: str
    pk: int
    populations: Populations


@dataclass
class MeasureReport:
    measure: Measure
    period_start: dt.date
    period_end: dt.date
    patients: list[PatientResult]
    starter_value_sets: list[str]

    def summary(self) -> dict[str, Any]:
        counts = dict.fromkeys(POPULATIONS, 0)
        for result in self.patients:
            for name, value in result.populations.as_dict().items():
                counts[name] += value
        eligible = counts["denominator"] - counts["denominator-exclusion"]
        rate = round(counts["numerator"] / eligible, 4) if eligible else None
        return {**counts, "rate": rate}

    def as_json(self) -> dict[str, Any]:
        """The `measure_report --format json` document."""
        answer: dict[str, Any] = {
            "measure": self.measure.id,
            "period": {"start": self.period_start.isoformat(), "end": self.period_end.isoformat()},
            "patients": [
                {"id": result.id, "populations": result.populations.as_dict()}
                for result in self.patients
            ],
            "summary": self.summary(),
        }
        if self.starter_value_sets:
            answer["warnings"] = [
                "These value sets are not loaded; built-in starter codes stood in: "
                + ", ".join(sorted(self.starter_value_sets))
            ]
        return answer

    def as_fhir(self, *, individual: PatientResult | None = None) -> dict[str, Any]:
        """A FHIR R4 MeasureReport: summary, or individual for one patient."""
        if individual is not None:
            counts: dict[str, Any] = individual.populations.as_dict()
            counts["rate"] = None
        else:
            counts = self.summary()
        group: dict[str, Any] = {
            "population": [
                {
                    "code": {
                        "coding": [
                            {
                                "system": POPULATION_SYSTEM,
                                "code": name,
                                "display": POPULATION_DISPLAY[name],
                            }
                        ]
                    },
                    "count": counts[name],
                }
                for name in POPULATIONS
            ]
        }
        if individual is None and counts["rate"] is not None:
            group["measureScore"] = {"value": counts["rate"]}
        report: dict[str, Any] = {
            "resourceType": "MeasureReport",
            "status": "complete",
            "type": "individual" if individual is not None else "summary",
            "measure": MEASURE_CANONICAL + self.measure.library,
            "date": timezone.now().isoformat(timespec="seconds"),
            "period": {"start": self.period_start.isoformat(), "end": self.period_end.isoformat()},
            "group": [group],
        }
        if individual is not None:
            report["subject"] = {"reference": f"Patient/{individual.id}"}
            if individual.populations.evidence:
                report["extension"] = [
                    {
                        "url": "https://equinav.example.org/fhir/StructureDefinition/evidence",
                        "valueString": line,
                    }
                    for line in individual.populations.evidence
                ]
        return report


def measure_report(
    *,
    measure_id: str,
    period_start: dt.date,
    period_end: dt.date,
    source: FhirSource | None = None,
    patient_resource_id: str | None = None,
) -> MeasureReport:
    """Evaluate a measure for every patient known from the EHR feeds (or one feed, or one id)."""
    measure = MEASURES[measure_id]
    terminology = measure_terminology()
    links = linked_patients(source)
    if patient_resource_id is not None:
        links = links.filter(resource_id=patient_resource_id)
    results = []
    for batch in _batches(links):
        for record in patient_records(batch):
            populations = measure.evaluate(
                record,
                period_start=period_start,
                period_end=period_end,
                terminology=terminology,
            )
            results.append(PatientResult(record.id, cast(int, record.pk), populations))
    return MeasureReport(
        measure, period_start, period_end, results, sorted(terminology.starter_used)
    )
