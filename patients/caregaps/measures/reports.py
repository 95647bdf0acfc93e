"""Measure reports over the patients known from EHR feeds.

Reads only: patients are read and evaluated in batches by
`evaluation.evaluated_batches`, with a fixed number of queries per batch (patients,
their feed ids, their resources), whatever the batch size.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, cast

from django.utils import timezone

from patients.caregaps.measures.evaluation import (
    evaluated_batches,
    linked_patients,
    measure_terminology,
)
from patients.caregaps.measures.measure import POPULATIONS, Measure, Populations
from patients.caregaps.measures.registry import MEASURES
from patients.caregaps.periods import period_between
from patients.models import FhirSource

POPULATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/measure-population"
POPULATION_DISPLAY = {
    "initial-population": "Initial Population",
    "denominator": "Denominator",
    "denominator-exclusion": "Denominator Exclusion",
    "numerator": "Numerator",
}
MEASURE_CANONICAL = "https://madie.cms.gov/Measure/"
IMPROVEMENT_SYSTEM = "http://terminology.hl7.org/CodeSystem/measure-improvement-notation"


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
            # "increase": a higher rate is better; "decrease": an inverse measure (CMS122).
            "improvement_notation": self.measure.improvement_notation,
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
            # Which way is better, as the Measure resource says it (an inverse measure's
            # score is better lower).
            "improvementNotation": {
                "coding": [
                    {"system": IMPROVEMENT_SYSTEM, "code": self.measure.improvement_notation}
                ]
            },
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
    period = period_between(period_start, period_end)
    results = [
        PatientResult(evaluation.record.id, cast(int, evaluation.record.pk), evaluation.populations)
        for batch in evaluated_batches([measure_id], [period], links, terminology=terminology)
        for evaluation in batch
    ]
    return MeasureReport(
        measure, period_start, period_end, results, sorted(terminology.starter_used)
    )
