"""`make bench`, part "care_gaps": recomputing every patient's care gaps on PostgreSQL.

A population of patients (100,000; 5,000 at `--scale small`) with the FHIR
resources an EHR feed leaves (every patient a visit, a third a FIT result, a
fifth a colonoscopy, one in twenty a total colectomy that excludes them from
colorectal screening, one in ten a screening a navigator recorded) is built in
bulk; then every patient's gaps are recomputed by the real service,
`patients.services.care_gaps.care_gaps_recompute`, in batches of 1,000, twice:

1. first computation: no gap exists yet, every row is written;
2. recompute: the same data again (the nightly run's usual case), where nothing
   changed but the day the gaps were computed.

The floor, measured in the same run on the same rows: what PostgreSQL needs to
read the same inputs and write the same output with no Python in between,
i.e. a plain SELECT of the patients' facts and resources (rows fetched, jsonb
left as text) plus COPY of the resulting care-gap rows (out of the table, into a
plain table of the same columns). Reported: patients/s for each run beside that
floor, and the queries each batch made (the same for every batch).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import time

from tests.benchmarks.harness import Figure, PartResult, Scale, standalone

AS_OF = dt.date(2026, 11, 23)
BATCH = 1000
TARGET = 5000.0  # patients/s, the target


class QueryCounter:
    """Counts queries (DEBUG is off, so Django logs none)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def _resources(index: int, patient_pk: int) -> list[tuple[str, str, dict]]:
    """(type, id, resource) a feed would have sent for patient number `index`."""
    ref = {"reference": f"Patient/bench-{index}"}
    found: list[tuple[str, str, dict]] = [
        (
            "Encounter",
            f"bench-{index}-visit",
            {
                "resourceType": "Encounter",
                "id": f"bench-{index}-visit",
                "status": "finished",
                "class": {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                    "code": "AMB",
                },
                "type": [
                    {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "99213"}]}
                ],
                "subject": ref,
                "period": {"start": "2026-03-02T14:00:00Z", "end": "2026-03-02T14:30:00Z"},
            },
        )
    ]
    if index % 3 == 0:
        found.append(
            (
                "Observation",
                f"bench-{index}-fit",
                {
                    "resourceType": "Observation",
                    "id": f"bench-{index}-fit",
                    "status": "final",
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
                    "subject": ref,
                    # Spread over two years: some FITs still count, some have lapsed.
                    "effectiveDateTime": f"{2024 + index % 3}-{1 + index % 12:02d}-15",
                    "valueCodeableConcept": {
                        "coding": [{"system": "http://snomed.info/sct", "code": "260385009"}]
                    },
                },
            )
        )
    if index % 5 == 0:
        found.append(
            (
                "Procedure",
                f"bench-{index}-colonoscopy",
                {
                    "resourceType": "Procedure",
                    "id": f"bench-{index}-colonoscopy",
                    "status": "completed",
                    "code": {
                        "coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "45378"}]
                    },
                    "subject": ref,
                    "performedDateTime": f"{2012 + index % 14}-06-01",
                },
            )
        )
    if index % 20 == 7:
        found.append(
            (
                "Procedure",
                f"bench-{index}-colectomy",
                {
                    "resourceType": "Procedure",
                    "id": f"bench-{index}-colectomy",
                    "status": "completed",
                    "code": {"coding": [{"system": "http://snomed.info/sct", "code": "26390003"}]},
                    "subject": ref,
                    "performedPeriod": {"start": "2019-04-02", "end": "2019-04-02"},
                },
            )
        )
    return found


def build_population(*, count: int) -> dict[str, int]:
    """`count` patients with their resources and some recorded screenings."""
    import hashlib

    from patients.models import (
        Clinic,
        ClinicalResource,
        FhirSource,
        Patient,
        ScreeningEvent,
        ScreeningModality,
    )

    clinic = Clinic.objects.create(code="bench-gaps", name="Bench clinic")
    source = FhirSource.objects.create(key="bench-gaps", name="Bench EHR", clinic=clinic)
    modalities = list(ScreeningModality.objects.order_by("pk").values_list("pk", flat=True))
    resources = events = 0
    for start in range(0, count, 5000):
        patients = Patient.objects.bulk_create(
            [
                Patient(
                    clinic=clinic,
                    mrn=f"G{i:08d}",
                    given_name="Given",
                    family_name=f"Family{i}",
                    # Ages 20 to 90: some too young or too old for a program.
                    birth_date=dt.date(1936, 1, 1) + dt.timedelta(days=(i * 7919) % (365 * 70)),
                    sex="female" if i % 2 else "male",
                    smoking_status=("current", "former", "never")[i % 3],
                    smoking_pack_years=(i % 40) if i % 3 != 2 else None,
                )
                for i in range(start, min(start + 5000, count))
            ]
        )
        rows = []
        for offset, patient in enumerate(patients):
            for resource_type, resource_id, resource in _resources(start + offset, patient.pk):
                text = json.dumps(resource, sort_keys=True)
                rows.append(
                    ClinicalResource(
                        patient=patient,
                        source=source,
                        resource_type=resource_type,
                        resource_id=resource_id,
                        resource=resource,
                        content_hash=hashlib.sha256(text.encode()).hexdigest(),
                    )
                )
        ClinicalResource.objects.bulk_create(rows, batch_size=5000)
        resources += len(rows)
        recorded = [
            ScreeningEvent(
                patient=patient,
                modality_id=modalities[(start + offset) % len(modalities)],
                performed_on=dt.date(2021 + (start + offset) % 5, 3, 1),
                result="normal",
            )
            for offset, patient in enumerate(patients)
            if modalities and (start + offset) % 10 == 4
        ]
        ScreeningEvent.objects.bulk_create(recorded)
        events += len(recorded)
    from django.db import connection

    with connection.cursor() as cursor:
        # Fresh bulk loads have no planner statistics; a live database has them.
        cursor.execute("VACUUM ANALYZE")
    return {"patients": count, "resources": resources, "recorded_screenings": events}


def _recompute(ids: list[int], programs) -> tuple[float, list[int], float]:
    """Every patient's gaps, a batch at a time: seconds, the queries per batch, and
    this process's CPU seconds (the app's Python, apart from the database's time)."""
    from django.db import connection

    from patients.services import care_gaps

    per_batch: set[int] = set()
    cpu = time.process_time()
    started = time.perf_counter()
    for start in range(0, len(ids), BATCH):
        counter = QueryCounter()
        with connection.execute_wrapper(counter):
            care_gaps.care_gaps_recompute(
                patient_ids=ids[start : start + BATCH], as_of=AS_OF, programs=programs
            )
        per_batch.add(counter.count)
    return time.perf_counter() - started, sorted(per_batch), time.process_time() - cpu


GAP_COLUMNS = (
    "patient_id, program_id, status, as_of, summary, reasons, evidence, last_screening_on, "
    "last_modality_id, next_due_on, overdue_since, recheck_on, rule_version, computed_at"
)


def _floor(ids: list[int]) -> dict[str, float]:
    """PostgreSQL alone: read the same inputs (in the same batches), COPY the same output."""
    from django.db import connection

    read_started = time.perf_counter()
    with connection.cursor() as cursor:
        for start in range(0, len(ids), BATCH):
            batch = ids[start : start + BATCH]
            cursor.execute(
                "SELECT id, birth_date, sex, smoking_status, smoking_pack_years, deceased "
                "FROM patients_patient WHERE id = ANY(%s)",
                [batch],
            )
            cursor.fetchall()
            cursor.execute(
                "SELECT patient_id, performed_on, result FROM patients_screeningevent "
                "WHERE patient_id = ANY(%s)",
                [batch],
            )
            cursor.fetchall()
            # ::text: the rows as PostgreSQL holds them, no JSON parsed on this side.
            cursor.execute(
                "SELECT id, patient_id, resource::text FROM patients_clinicalresource "
                "WHERE patient_id = ANY(%s) AND resource_type <> 'Patient'",
                [batch],
            )
            cursor.fetchall()
    read_seconds = time.perf_counter() - read_started

    raw = connection.connection  # psycopg 3
    buffer = io.BytesIO()
    with raw.cursor() as cursor:
        cursor.execute(
            # The column list is this module's constant.
            f"CREATE TEMP TABLE bench_gap_copy AS SELECT {GAP_COLUMNS} "  # noqa: S608
            "FROM patients_caregap LIMIT 0"
        )
        out = f"COPY (SELECT {GAP_COLUMNS} FROM patients_caregap) TO STDOUT"  # noqa: S608
        with cursor.copy(out) as copy:
            for data in copy:
                buffer.write(data)
        copy_started = time.perf_counter()
        with cursor.copy(f"COPY bench_gap_copy ({GAP_COLUMNS}) FROM STDIN") as copy:
            copy.write(buffer.getvalue())
        copy_seconds = time.perf_counter() - copy_started
        cursor.execute("DROP TABLE bench_gap_copy")
    return {"read_seconds": read_seconds, "copy_seconds": copy_seconds}


def run(*, scale: Scale) -> PartResult:
    from django.db import connection
    from django.db.models import Count

    from patients import selectors
    from patients.models import CareGap, Patient

    count = scale.pick(small=5000, full=100_000)
    result = PartResult(part="care_gaps")
    started = time.perf_counter()
    result.sizes.update(build_population(count=count))
    result.sizes["batch"] = BATCH
    result.details["build_seconds"] = round(time.perf_counter() - started, 1)

    ids = list(Patient.objects.order_by("pk").values_list("pk", flat=True))
    programs = selectors.program_rules_list()
    first_seconds, first_queries, first_cpu = _recompute(ids, programs)
    gaps = CareGap.objects.count()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE patients_caregap")
    again_seconds, again_queries, again_cpu = _recompute(ids, programs)
    floor = _floor(ids)
    floor_seconds = floor["read_seconds"] + floor["copy_seconds"]
    floor_rate = len(ids) / floor_seconds
    floor_name = "SQL alone: SELECT of the same facts and resources + COPY of the resulting gaps"
    for name, seconds in (
        ("care-gap recompute, first computation", first_seconds),
        ("care-gap recompute, nothing changed", again_seconds),
    ):
        rate = len(ids) / seconds
        result.figures.append(
            Figure(
                name=name,
                value=round(rate, 1),
                unit="patients/s",
                floor_name=floor_name,
                floor_value=round(floor_rate, 1),
                target="≥ 5,000 patients/s",
                met=rate >= TARGET,
            )
        )
    result.queries["care_gaps_recompute per batch of 1,000 patients"] = max(
        first_queries + again_queries
    )
    result.sizes["gaps"] = gaps
    result.details.update(
        {
            "first_seconds": round(first_seconds, 2),
            "again_seconds": round(again_seconds, 2),
            "first_python_cpu_seconds": round(first_cpu, 2),
            "again_python_cpu_seconds": round(again_cpu, 2),
            "queries_per_batch_first": first_queries,
            "queries_per_batch_again": again_queries,
            "floor_read_seconds": round(floor["read_seconds"], 3),
            "floor_copy_seconds": round(floor["copy_seconds"], 3),
            "gaps_by_status": dict(
                CareGap.objects.values_list("status").order_by("status").annotate(n=Count("pk"))
            ),
        }
    )
    return result


if __name__ == "__main__":
    standalone(run)
