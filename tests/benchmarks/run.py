"""`make bench`: throughput of FHIR import and care-gap recomputation on PostgreSQL.

Not a test: it reports numbers, it asserts none. It builds a fresh database
(`equinav_bench` by default; BENCH_DATABASE_URL overrides), then:

1. imports BENCH_BUNDLES (10,000) synthetic patient bundles through the real
   importer, one transaction each, and reports bundles and resources per second;
2. grows the population to BENCH_PATIENTS (100,000) and recomputes every care
   gap through the real service in batches, reporting patients per second and
   the queries each batch made (the same for every batch size).

Results are printed and written to .run/bench.json.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
BENCH_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/equinav_bench")
os.environ["DATABASE_URL"] = BENCH_URL
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Production settings: no query logging to slow the numbers.
os.environ["DEBUG"] = "0"
os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret")
# Imports enqueue a care-gap refresh each; keep those messages out of the app's queue.
os.environ.setdefault("EQUINAV_RUN_DIR", str(ROOT / ".run" / "bench"))


def recreate_database(url: str) -> None:
    import psycopg
    from dj_database_url import parse

    config = parse(url)
    name = config["NAME"]
    admin = psycopg.connect(
        host=config["HOST"] or "127.0.0.1",
        port=config["PORT"] or 5432,
        user=config["USER"] or "postgres",
        password=config["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )
    with admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')


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


def main() -> None:
    bundles = int(os.environ.get("BENCH_BUNDLES", "10000"))
    population = int(os.environ.get("BENCH_PATIENTS", "100000"))
    batch_size = int(os.environ.get("BENCH_BATCH", "1000"))
    recreate_database(BENCH_URL)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    call_command("migrate", verbosity=0)

    from patients import services
    from patients.fhir.importer import fhir_import
    from patients.models import CareGap, Clinic, ClinicalResource, FhirSource, Patient

    clinic = Clinic.objects.create(code="bench", name="Bench clinic")
    source = FhirSource.objects.create(key="bench", name="Bench EHR", clinic=clinic)
    rng = random.Random(20261123)  # noqa: S311 - synthetic data, not security
    results: dict[str, object] = {}

    # 1. FHIR import.
    if bundles:
        payloads = [patient_bundle(i, rng) for i in range(bundles)]
        resources = sum(len(json.loads(p)["entry"]) for p in payloads)
        per_bundle: list[float] = []
        started = time.perf_counter()
        for payload in payloads:
            t0 = time.perf_counter()
            fhir_import(source=source, payload=payload, origin="bench", actor=None)
            per_bundle.append(time.perf_counter() - t0)
        elapsed = time.perf_counter() - started
        results["fhir_import"] = {
            "bundles": bundles,
            "resources": resources,
            "seconds": round(elapsed, 2),
            "bundles_per_second": round(bundles / elapsed, 1),
            "resources_per_second": round(resources / elapsed, 1),
            "median_ms_per_bundle": round(statistics.median(per_bundle) * 1000, 2),
            "p95_ms_per_bundle": round(statistics.quantiles(per_bundle, n=20)[18] * 1000, 2),
        }
        print(json.dumps({"fhir_import": results["fhir_import"]}, indent=2), flush=True)

    # 2. Grow to the population with patients known from referrals, a third with a FIT.
    missing = population - Patient.objects.count()
    template = ClinicalResource.objects.filter(resource_type="Observation").first()
    created: list[Patient] = []
    for start in range(0, missing, 5000):
        chunk = [
            Patient(
                clinic=clinic,
                mrn=f"R{start + i:08d}",
                given_name="Given",
                family_name=f"Family{start + i}",
                birth_date=dt.date(1945, 1, 1) + dt.timedelta(days=(start + i) % (365 * 40)),
                sex="female" if i % 2 else "male",
            )
            for i in range(min(5000, missing - start))
        ]
        created += Patient.objects.bulk_create(chunk)
    if template is not None:
        ClinicalResource.objects.bulk_create(
            [
                ClinicalResource(
                    patient=patient,
                    source=source,
                    resource_type="Observation",
                    resource_id=f"grown-{patient.pk}",
                    resource=template.resource,
                    content_hash=template.content_hash,
                )
                for patient in created[::3]
            ],
            batch_size=5000,
        )

    # 3. Recompute every gap.
    ids = list(Patient.objects.order_by("pk").values_list("pk", flat=True))
    programs = services._program_rules()
    as_of = dt.date(2026, 11, 23)
    queries_per_batch: set[int] = set()
    started = time.perf_counter()
    for start in range(0, len(ids), batch_size):
        connection.queries_log.clear()
        with CaptureQueriesContext(connection) as captured:
            services.care_gaps_recompute(
                patient_ids=ids[start : start + batch_size], as_of=as_of, programs=programs
            )
        queries_per_batch.add(len(captured))
    elapsed = time.perf_counter() - started
    results["care_gap_recompute"] = {
        "patients": len(ids),
        "gaps": CareGap.objects.count(),
        "batch_size": batch_size,
        "seconds": round(elapsed, 2),
        "patients_per_second": round(len(ids) / elapsed, 1),
        "queries_per_batch": sorted(queries_per_batch),
    }
    print(json.dumps({"care_gap_recompute": results["care_gap_recompute"]}, indent=2))
    out = ROOT / ".run" / "bench.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"Written to {out}")


if __name__ == "__main__":
    main()
