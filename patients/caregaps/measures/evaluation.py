"""Evaluating eCQMs over the patients known from EHR feeds, a batch at a time.

Reads only. Patients are loaded in batches with a fixed number of queries per batch
(their demographics, their resources), whatever the batch size; each batch is read
once and then evaluated for every measure × period asked for, so a quarterly series
costs one read per patient, not one per period.

Used by `reports.measure_report` (one measure, one period, kept in memory) and by
`patients.services.measure_populations` (several measures and periods, stored).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple

from django.db.models import QuerySet

from patients.caregaps.codes import normalise_system
from patients.caregaps.fhirdata import PatientRecord
from patients.caregaps.measures.context import Terminology
from patients.caregaps.measures.measure import Populations
from patients.caregaps.measures.registry import MEASURES
from patients.caregaps.periods import Period
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


def _batches(
    links: QuerySet[PatientSourceLink], batch_size: int
) -> Iterator[list[tuple[int, str]]]:
    batch: list[tuple[int, str]] = []
    seen: set[int] = set()
    for patient_id, resource_id in links.values_list("patient_id", "resource_id").iterator(
        chunk_size=batch_size
    ):
        if patient_id in seen:  # a patient known from two feeds counts once
            continue
        seen.add(patient_id)
        batch.append((patient_id, resource_id))
        if len(batch) == batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


class Evaluation(NamedTuple):
    """One patient's populations for one measure and period."""

    record: PatientRecord  # .pk (the Patient), .id (the feed's Patient id), .birth_date
    measure_id: str
    period: Period
    populations: Populations


def evaluated_batches(
    measure_ids: Sequence[str],
    periods: Sequence[Period],
    links: QuerySet[PatientSourceLink],
    *,
    terminology: Terminology,
    batch_size: int = BATCH_SIZE,
) -> Iterator[list[Evaluation]]:
    """Per batch of linked patients, every patient × measure × period evaluated.

    Each batch reads its patients once (`patient_records`: two queries) whatever the
    number of measures and periods; the links are one query for the whole run. A
    patient known from two feeds is evaluated once, under the first link's feed id.
    """
    measures = [MEASURES[measure_id] for measure_id in measure_ids]
    for batch in _batches(links, batch_size):
        evaluations = []
        for record in patient_records(batch):
            for measure in measures:
                for period in periods:
                    populations = measure.evaluate(
                        record,
                        period_start=period.start,
                        period_end=period.end,
                        terminology=terminology,
                    )
                    evaluations.append(Evaluation(record, measure.id, period, populations))
        yield evaluations
