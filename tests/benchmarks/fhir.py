"""`make bench`, part "fhir": FHIR import on PostgreSQL, one bundle at a time and in bulk.

(a) Single bundles: BENCH_BUNDLES (300 small / 10,000 full) synthetic patient bundles
    (`patient_bundle`: a patient, a visit, every third a FIT Observation, every fifth a
    colonoscopy Procedure) through `fhir_import`, one after another: bundles/s.
(b) Bulk: BENCH_BULK_PATIENTS (2,000 small / 100,000 full) patients with the same
    resources, written as NDJSON files per type (as $export writes them), imported by
    the bulk job (`patients.fhir.bulk`) in batches of BENCH_BULK_BATCH lines (the
    job's default, DEFAULT_BATCH) by BENCH_BULK_WORKERS (2) processes claiming
    batches as the Celery workers do; then the care gaps of the patients touched.
    Reported: patients/s of the import, of the import with its care gaps, and of a
    second run of the same export (all unchanged); the queries per batch. Beside it,
    the floor: PostgreSQL COPY of the same resources as jsonb into a plain table, in
    the same run.

BENCH_PROFILE=1 prints where a one-process bulk run of the same size spends its time
(cProfile, top 25 by cumulative time).
"""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import os
import random
import tempfile
import time
from pathlib import Path

from tests.benchmarks.harness import Figure, PartResult, Scale, standalone

TARGET_PATIENTS_PER_SECOND = 2000


def patient_bundle(index: int, rng: random.Random) -> bytes:
    """A plausible EHR bundle: the patient, a visit, and some screening history."""
    patient_id = f"bench-{index}"
    birth = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 30))
    entries = [
        {
            "resource": {
                "resourceType": "Patient",
                "id": patient_id,
                "identifier": [{"system": "urn:bench:mrn", "value": f"MRN{index:07d}"}],
                "name": [{"family": f"Family{index}", "given": [f"Given{index}"]}],
                "gender": rng.choice(["female", "male"]),
                "birthDate": birth.isoformat(),
                "telecom": [{"system": "phone", "value": "+16175550100", "use": "mobile"}],
            },
            "request": {"method": "PUT", "url": f"Patient/{patient_id}"},
        },
        {
            "resource": {
                "resourceType": "Encounter",
                "id": f"{patient_id}-visit",
                "status": "finished",
                "class": {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                    "code": "AMB",
                },
                "type": [
                    {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "99213"}]}
                ],
                "subject": {"reference": f"Patient/{patient_id}"},
                "period": {"start": "2026-03-02T14:00:00Z", "end": "2026-03-02T14:30:00Z"},
            },
            "request": {"method": "PUT", "url": f"Encounter/{patient_id}-visit"},
        },
    ]
    if index % 3 == 0:
        entries.append(
            {
                "resource": {
                    "resourceType": "Observation",
                    "id": f"{patient_id}-fit",
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
                    "subject": {"reference": f"Patient/{patient_id}"},
                    "effectiveDateTime": f"2025-{rng.randrange(1, 13):02d}-15",
                    "valueCodeableConcept": {
                        "coding": [{"system": "http://snomed.info/sct", "code": "260385009"}]
                    },
                },
                "request": {"method": "PUT", "url": f"Observation/{patient_id}-fit"},
            }
        )
    if index % 5 == 0:
        entries.append(
            {
                "resource": {
                    "resourceType": "Procedure",
                    "id": f"{patient_id}-colonoscopy",
                    "status": "completed",
                    "code": {
                        "coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "45378"}]
                    },
                    "subject": {"reference": f"Patient/{patient_id}"},
                    "performedDateTime": f"{rng.randrange(2012, 2026)}-06-01",
                },
                "request": {"method": "PUT", "url": f"Procedure/{patient_id}-colonoscopy"},
            }
        )
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
    return json.dumps(bundle).encode()


def export_write(folder: Path, first: int, patients: int, rng: random.Random) -> dict[str, int]:
    """The same resources as `patient_bundle`, one NDJSON file per type; lines per type."""
    handles: dict[str, object] = {}
    counts: dict[str, int] = {}
    try:
        for index in range(first, first + patients):
            for entry in json.loads(patient_bundle(index, rng))["entry"]:
                resource = entry["resource"]
                kind = resource["resourceType"]
                if kind not in handles:
                    handles[kind] = (folder / f"{kind}.ndjson").open("w")
                handles[kind].write(json.dumps(resource) + "\n")  # type: ignore[attr-defined]
                counts[kind] = counts.get(kind, 0) + 1
    finally:
        for handle in handles.values():
            handle.close()  # type: ignore[attr-defined]
    return counts


def _worker(job_id: int) -> None:
    from django.db import connection

    from navigator.intake.fhir_bulk import fhir_bulk_run_inline

    connection.close()  # a connection of its own, not the parent's
    fhir_bulk_run_inline(job_id=job_id)
    connection.close()


def bulk_run(source, folder: Path, batch_size: int, workers: int) -> tuple[float, float, int]:
    """(seconds to import, seconds with the care gaps, job id), `workers` processes."""
    from django.db import connection

    from patients.fhir.bulk import fhir_bulk_import_create
    from patients.models import FhirBulkImport

    started = time.perf_counter()
    job = fhir_bulk_import_create(
        source=source, location=folder, actor=None, batch_size=batch_size, start=False
    )
    cut = time.perf_counter() - started
    connection.close()
    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=_worker, args=(job.pk,)) for _ in range(workers)]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
        if process.exitcode != 0:
            raise RuntimeError(f"a bulk worker failed (exit {process.exitcode})")
    done = time.perf_counter()
    job = FhirBulkImport.objects.get(pk=job.pk)
    assert job.status == FhirBulkImport.Status.DONE, job.status
    assert job.imported_at is not None
    # Cutting the files into batches, then created → every batch imported.
    imported = cut + (job.imported_at - job.created_at).total_seconds()
    return imported, done - started, job.pk


def copy_floor(folder: Path) -> float:
    """Seconds for PostgreSQL COPY of every line of the export as jsonb into a plain table."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_fhir_copy")
        cursor.execute(
            "CREATE TABLE bench_fhir_copy (resource_type text, resource_id text, resource jsonb)"
        )
    started = time.perf_counter()
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg 3
        with raw.copy(
            "COPY bench_fhir_copy (resource_type, resource_id, resource) FROM STDIN"
        ) as copy:
            for path in sorted(folder.glob("*.ndjson")):
                kind = path.stem
                with path.open() as handle:
                    for line in handle:
                        resource = json.loads(line)
                        copy.write_row((kind, resource["id"], line.rstrip("\n")))
    elapsed = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_fhir_copy")
    return elapsed


def run(*, scale: Scale) -> PartResult:
    from patients.fhir.bulk import DEFAULT_BATCH
    from patients.fhir.importer import fhir_import
    from patients.models import Clinic, FhirBulkChunk, FhirSource

    result = PartResult(part="fhir")
    rng = random.Random(20261123)  # noqa: S311 - synthetic data, not security
    clinic = Clinic.objects.create(code="bench-fhir", name="Bench FHIR clinic")

    # (a) One bundle at a time, as today.
    bundles = int(os.environ.get("BENCH_BUNDLES", scale.pick(small=300, full=10_000)))
    source = FhirSource.objects.create(key="bench-bundle", name="Bundles", clinic=clinic)
    payloads = [patient_bundle(i, rng) for i in range(bundles)]
    started = time.perf_counter()
    for payload in payloads:
        fhir_import(source=source, payload=payload, origin="bench", actor=None)
    elapsed = time.perf_counter() - started
    result.figures.append(
        Figure(name="FHIR import, one bundle at a time", value=round(bundles / elapsed, 1),
               unit="bundles/s")
    )  # fmt: skip
    result.sizes["bundles"] = bundles

    # (b) Bulk: new patients (their MRNs after the bundles').
    patients = int(os.environ.get("BENCH_BULK_PATIENTS", scale.pick(small=2000, full=100_000)))
    batch_size = int(os.environ.get("BENCH_BULK_BATCH", str(DEFAULT_BATCH)))
    workers = int(os.environ.get("BENCH_BULK_WORKERS", "2"))
    bulk = FhirSource.objects.create(key="bench-bulk", name="Bulk", clinic=clinic)
    with tempfile.TemporaryDirectory(prefix="fhir-bulk-") as tmp:
        folder = Path(tmp)
        lines = export_write(folder, 1_000_000, patients, rng)
        floor = copy_floor(folder)
        if os.environ.get("BENCH_PROFILE"):
            _profile(folder, batch_size)
        imported, with_gaps, job_id = bulk_run(bulk, folder, batch_size, workers)
        again, _, again_id = bulk_run(bulk, folder, batch_size, workers)
    rate = patients / imported
    result.figures += [
        Figure(name=f"FHIR bulk import ({workers} workers)", value=round(rate, 1),
               unit="patients/s", floor_name="PostgreSQL COPY of the same resources as jsonb",
               floor_value=round(patients / floor, 1),
               target=f"≥ {TARGET_PATIENTS_PER_SECOND:,} patients/s",
               met=rate >= TARGET_PATIENTS_PER_SECOND),
        Figure(name="FHIR bulk import with the care gaps of the patients touched",
               value=round(patients / with_gaps, 1), unit="patients/s"),
        Figure(name="FHIR bulk import of the same export again (nothing changes)",
               value=round(patients / again, 1), unit="patients/s"),
    ]  # fmt: skip
    for phase, name in ((0, "Patient"), (1, "other resources")):
        counts = set(
            FhirBulkChunk.objects.filter(job_id=job_id, phase=phase, lines=batch_size).values_list(
                "queries", flat=True
            )
        )
        if counts:
            result.queries[f"bulk import, per full batch of {name} lines"] = max(counts)
    result.sizes.update(
        {
            "bulk_patients": patients,
            "bulk_batch": batch_size,
            "bulk_workers": workers,
            **{f"lines_{k}": v for k, v in lines.items()},
        }
    )
    result.details.update({"bulk_import_seconds": round(imported, 2),
                           "bulk_with_care_gaps_seconds": round(with_gaps, 2),
                           "bulk_again_seconds": round(again, 2),
                           "copy_floor_seconds": round(floor, 3),
                           "jobs": [job_id, again_id]})  # fmt: skip
    result.notes.append(
        "Bulk figures are end to end (files cut into batches, every line checked against "
        "the R4 model, patients matched, records written, audit triggers), measured on "
        "this machine's cores shared with PostgreSQL."
    )
    return result


def _profile(folder: Path, batch_size: int) -> None:
    import cProfile
    import pstats

    from navigator.intake.fhir_bulk import fhir_bulk_run_inline
    from patients.fhir.bulk import fhir_bulk_import_create
    from patients.models import Clinic, FhirSource

    # A clinic of its own: its patients' MRNs must not be the measured runs'.
    clinic = Clinic.objects.create(code="bench-profile", name="Profile clinic")
    source = FhirSource.objects.create(key="bench-profile", name="Profile", clinic=clinic)
    job = fhir_bulk_import_create(
        source=source, location=folder, actor=None, batch_size=batch_size, start=False
    )
    profile = cProfile.Profile()
    profile.enable()
    fhir_bulk_run_inline(job_id=job.pk)
    profile.disable()
    pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
    pstats.Stats(profile).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    standalone(run)
