"""`make bench`: FHIR import and care-gap throughput, and worklist speed, on PostgreSQL.

Not a test: it reports numbers, it asserts none. It builds a fresh database
(`equinav_bench` by default; BENCH_DATABASE_URL overrides), then:

1. imports BENCH_BUNDLES (10,000) synthetic patient bundles through the real
   importer, one transaction each, and reports bundles and resources per second;
2. grows the population to BENCH_PATIENTS (100,000) and recomputes every care
   gap through the real service in batches, reporting patients per second and
   the queries each batch made (the same for every batch size);
3. fills the database to BENCH_WORKLIST_CASES (200,000) cases with their
   attempts, appointments, barriers and results, gives one navigator
   BENCH_WORKLIST_CASELOAD (300) open cases spread across every worklist
   reason, and times that navigator's worklist page and API BENCH_WORKLIST_RUNS
   (50) times each through Django's test client, signed in, DEBUG off:
   median and 95th percentile, and the queries each answer took;
4. sweeps BENCH_SWEEP_MESSAGES (100,000) due patient messages with the real
   sweep service, enqueueing the real send task to a Redis database kept for
   the bench (BENCH_REDIS_URL, redis://127.0.0.1:6379/7; emptied before and
   after, no worker): messages per second claimed and dispatched, the claim
   alone, queries per batch (BENCH_SWEEP_BATCH, else EQUINAV_SWEEP_BATCH), and
   that memory stays flat (tracemalloc peak of the full sweep against one ten
   times smaller). See tests/benchmarks/sweep.py;
5. builds BENCH_EQUITY_PATIENTS (1,000,000) patients, their CMS130 populations over
   8 rolling quarters and BENCH_EQUITY_CASES (1,000,000) navigation cases in SQL, and
   times the disparities dashboard (four views, its API and its page) BENCH_EQUITY_RUNS
   (20) times each against a hand-written SQL floor computing the same group counts:
   median, 95th percentile, the ratio to the floor and the queries. See
   tests/benchmarks/equity.py.

BENCH_PARTS (default "fhir,caregaps,worklist,sweep,equity") runs only some of them, e.g.
BENCH_PARTS=worklist. With "sweep" the whole run's Celery broker is that Redis
database. Results are printed and written to .run/bench.json.
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
    parts = set(os.environ.get("BENCH_PARTS", "fhir,caregaps,worklist,sweep,equity").split(","))
    if "sweep" in parts:
        from tests.benchmarks import sweep

        sweep.check_broker(sweep.broker_url())
        # Before the settings load: they make REDIS_URL the Celery broker.
        os.environ["REDIS_URL"] = sweep.broker_url()
    bundles = int(os.environ.get("BENCH_BUNDLES", "10000")) if "fhir" in parts else 0
    population = int(os.environ.get("BENCH_PATIENTS", "100000"))
    batch_size = int(os.environ.get("BENCH_BATCH", "1000"))
    recreate_database(BENCH_URL)

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    # Pages are served as in production (DEBUG off), where whitenoise serves the
    # collected static files; collect them so the page timings include that setup.
    call_command("collectstatic", verbosity=0, interactive=False)

    from patients.fhir.importer import fhir_import
    from patients.models import Clinic, FhirSource

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

    if "caregaps" in parts:
        results["care_gap_recompute"] = bench_care_gaps(
            clinic=clinic, source=source, population=population, batch_size=batch_size
        )
        print(json.dumps({"care_gap_recompute": results["care_gap_recompute"]}, indent=2))
    if "worklist" in parts:
        results["worklist"] = bench_worklist(clinic=clinic, rng=rng)
        print(json.dumps({"worklist": results["worklist"]}, indent=2))
    if "sweep" in parts:
        results["sweep"] = sweep.bench_sweep(clinic=clinic)
        print(json.dumps({"sweep": results["sweep"]}, indent=2))
    if "equity" in parts:
        from tests.benchmarks import equity

        results["equity"] = equity.bench_equity()
    out = ROOT / ".run" / "bench.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"Written to {out}")


def bench_care_gaps(*, clinic, source, population: int, batch_size: int) -> dict[str, object]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from patients import selectors
    from patients.models import CareGap, ClinicalResource, Patient
    from patients.services import care_gaps

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
    if not ids:
        return {"patients": 0}
    programs = selectors.program_rules_list()
    as_of = dt.date(2026, 11, 23)
    queries_per_batch: set[int] = set()
    started = time.perf_counter()
    for start in range(0, len(ids), batch_size):
        connection.queries_log.clear()
        with CaptureQueriesContext(connection) as captured:
            care_gaps.care_gaps_recompute(
                patient_ids=ids[start : start + batch_size], as_of=as_of, programs=programs
            )
        queries_per_batch.add(len(captured))
    elapsed = time.perf_counter() - started
    return {
        "patients": len(ids),
        "gaps": CareGap.objects.count(),
        "batch_size": batch_size,
        "seconds": round(elapsed, 2),
        "patients_per_second": round(len(ids) / elapsed, 1),
        "queries_per_batch": sorted(queries_per_batch),
    }


# --- The worklist ---------------------------------------------------------------------

# What each of the bench navigator's cases is set up to need (navigator/worklist/rules.py).
WORKLIST_KINDS = ["prep_call", "called_back", "follow_up_due", "never_contacted", "quiet"]


def _percentiles(seconds: list[float]) -> dict[str, float]:
    return {
        "median_ms": round(statistics.median(seconds) * 1000, 1),
        "p95_ms": round(statistics.quantiles(seconds, n=20)[18] * 1000, 1),
        "min_ms": round(min(seconds) * 1000, 1),
        "max_ms": round(max(seconds) * 1000, 1),
    }


def _worklist_data(*, clinic, rng: random.Random, total: int, caseload: int, navigators: int):
    """`total` cases in the database, bulk-created with their attempts, appointments,
    barriers, results and reminders; the first navigator's `caseload` open cases
    cover every reason the worklist ranks by. Returns that navigator."""
    from django.db import connection
    from django.utils import timezone

    from navigator.models import (
        OPEN_STATUSES,
        Appointment,
        BarrierType,
        CaseBarrier,
        CaseStatus,
        NavigationCase,
        NavigatorProfile,
        Role,
        User,
    )
    from outreach.models import ContactAttempt, FollowUpReminder
    from patients.models import Patient, ScreeningEvent, ScreeningModality, ScreeningProgram

    now = timezone.now()
    today = timezone.localdate()
    programs = list(ScreeningProgram.objects.order_by("pk"))
    colorectal = next(p for p in programs if p.code == "colorectal")
    fit = ScreeningModality.objects.get(program=colorectal, code="fit")
    barrier_types = list(BarrierType.objects.values_list("pk", flat=True))
    users = User.objects.bulk_create(
        [
            User(
                username=f"bench-nav-{i}",
                first_name="Navigator",
                last_name=f"{i:03d}",
                role=Role.NAVIGATOR,
                password="!",  # unusable: the bench signs in with force_login
            )
            for i in range(navigators)
        ]
    )
    profiles = NavigatorProfile.objects.bulk_create(
        [
            NavigatorProfile(user=user, languages=["en", "es"], caseload_capacity=400)
            for user in users
        ]
    )
    me = profiles[0]

    # One case per patient and program, so the open-case constraint always holds.
    needed = -(-total // len(programs))
    patient_ids = list(Patient.objects.order_by("pk").values_list("pk", flat=True)[:needed])
    for start in range(len(patient_ids), needed, 5000):
        chunk = Patient.objects.bulk_create(
            [
                Patient(
                    clinic=clinic,
                    mrn=f"W{i:08d}",
                    given_name=rng.choice(["Maria", "Ana", "Jose", "Linh", "Wei", "Sam"]),
                    family_name=f"Family{i}",
                    birth_date=dt.date(1950, 1, 1) + dt.timedelta(days=i % (365 * 25)),
                    sex="female" if i % 2 else "male",
                    preferred_language=rng.choice(["en", "en", "es", "pt", "ht", "vi"]),
                )
                for i in range(start, min(start + 5000, needed))
            ]
        )
        patient_ids += [patient.pk for patient in chunk]

    statuses = list(CaseStatus.values)
    open_statuses = [s for s in statuses if s in OPEN_STATUSES and s != CaseStatus.COMPLETED]
    mine: list[NavigationCase] = []
    for start in range(0, total, 5000):
        cases = []
        for i in range(start, min(start + 5000, total)):
            own = i < caseload
            cases.append(
                NavigationCase(
                    patient_id=patient_ids[i // len(programs)],
                    program=programs[i % len(programs)],
                    navigator=me if own else profiles[1 + i % (navigators - 1)],
                    status=rng.choice(open_statuses) if own else rng.choice(statuses),
                    next_follow_up=today + dt.timedelta(days=rng.randint(-20, 30)),
                    opened_at=now - dt.timedelta(days=rng.randint(1, 400)),
                )
            )
        cases = NavigationCase.objects.bulk_create(cases)
        mine += [case for case in cases if case.navigator_id == me.pk]
        attempts, appointments, barriers, screenings = [], [], [], []
        for case in cases:
            if case.navigator_id == me.pk:
                continue
            user_id = case.navigator.user_id
            for _ in range(rng.choice([0, 1, 1, 2, 3])):
                attempts.append(
                    ContactAttempt(
                        case=case,
                        attempted_at=now - dt.timedelta(hours=rng.randint(1, 24 * 300)),
                        channel=rng.choice(["phone", "phone", "sms", "letter"]),
                        direction="inbound" if rng.random() < 0.1 else "outbound",
                        outcome=rng.choice(["no_answer", "left_voicemail", "reached"]),
                        created_by_id=user_id,
                    )
                )
            if rng.random() < 0.15:
                appointments.append(
                    Appointment(
                        case=case,
                        scheduled_at=now + dt.timedelta(hours=rng.randint(-24 * 90, 24 * 30)),
                        site="Bench site",
                        status=rng.choice(["booked", "kept", "no_show"]),
                        created_by_id=user_id,
                    )
                )
            if rng.random() < 0.2:
                barriers.append(
                    CaseBarrier(
                        case=case,
                        barrier_type_id=rng.choice(barrier_types),
                        status=rng.choice(["identified", "action_taken", "resolved"]),
                        created_by_id=user_id,
                    )
                )
            if case.program_id == colorectal.pk and rng.random() < 0.1:
                screenings.append(
                    ScreeningEvent(
                        case=case,
                        patient_id=case.patient_id,
                        modality=fit,
                        performed_on=today - dt.timedelta(days=rng.randint(1, 300)),
                        result=rng.choice(["normal", "normal", "normal", "abnormal"]),
                    )
                )
        ContactAttempt.objects.bulk_create(attempts)
        Appointment.objects.bulk_create(appointments)
        CaseBarrier.objects.bulk_create(barriers)
        ScreeningEvent.objects.bulk_create(screenings)

    # The bench navigator's caseload: every reason, and cases with none.
    user_id = me.user_id
    attempts, appointments, barriers, screenings, reminders = [], [], [], [], []
    colorectal_cases = [case for case in mine if case.program_id == colorectal.pk]
    abnormal = {case.pk for case in colorectal_cases[: len(mine) // 6]}
    others = iter(WORKLIST_KINDS * len(mine))
    kinds: dict[str, int] = {}
    for case in mine:
        kind = "abnormal_result" if case.pk in abnormal else next(others)
        kinds[kind] = kinds.get(kind, 0) + 1
        if kind != "never_contacted":
            attempts.append(
                ContactAttempt(
                    case=case,
                    attempted_at=now - dt.timedelta(days=rng.randint(2, 20)),
                    channel="phone",
                    outcome="no_answer",
                    created_by_id=user_id,
                )
            )
        due = kind == "follow_up_due"
        case.next_follow_up = today - dt.timedelta(days=rng.randint(0, 9)) if due else None
        if case.next_follow_up is None:
            case.next_follow_up = today + dt.timedelta(days=rng.randint(1, 20))
        if kind == "abnormal_result":
            case.status = CaseStatus.COMPLETED
            screenings.append(
                ScreeningEvent(
                    case=case,
                    patient_id=case.patient_id,
                    modality=fit,
                    performed_on=today - dt.timedelta(days=rng.randint(1, 30)),
                    result="abnormal",
                )
            )
        elif kind == "prep_call":
            case.status = CaseStatus.SCHEDULED
            appointments.append(
                Appointment(
                    case=case,
                    scheduled_at=now + dt.timedelta(hours=rng.randint(2, 24 * 6)),
                    site="Bench site",
                    created_by_id=user_id,
                )
            )
        elif kind == "called_back":
            attempts.append(
                ContactAttempt(
                    case=case,
                    attempted_at=now - dt.timedelta(hours=rng.randint(1, 40)),
                    channel="sms",
                    direction="inbound",
                    outcome="reached",
                    created_by_id=user_id,
                )
            )
        if rng.random() < 0.4:
            barriers.append(
                CaseBarrier(
                    case=case, barrier_type_id=rng.choice(barrier_types), created_by_id=user_id
                )
            )
        if due:
            reminders.append(FollowUpReminder(case=case, navigator=me, due_on=today))
    NavigationCase.objects.bulk_update(mine, ["status", "next_follow_up"])
    ContactAttempt.objects.bulk_create(attempts)
    Appointment.objects.bulk_create(appointments)
    CaseBarrier.objects.bulk_create(barriers)
    ScreeningEvent.objects.bulk_create(screenings)
    FollowUpReminder.objects.bulk_create(reminders)
    with connection.cursor() as cursor:
        # Fresh bulk loads have no planner statistics yet; a live database would.
        cursor.execute("ANALYZE")
    return me, kinds


def bench_worklist(*, clinic, rng: random.Random) -> dict[str, object]:
    from django.db import connection
    from django.test import Client, override_settings

    from navigator.models import NavigationCase
    from navigator.selectors.worklist import worklist_for, worklist_rows
    from navigator.worklist import rules as worklist

    total = int(os.environ.get("BENCH_WORKLIST_CASES", "200000"))
    caseload = int(os.environ.get("BENCH_WORKLIST_CASELOAD", "300"))
    runs = int(os.environ.get("BENCH_WORKLIST_RUNS", "50"))
    navigators = int(os.environ.get("BENCH_WORKLIST_NAVIGATORS", "100"))

    started = time.perf_counter()
    me, kinds = _worklist_data(
        clinic=clinic, rng=rng, total=total, caseload=caseload, navigators=navigators
    )
    built = time.perf_counter() - started
    moment = worklist.Moment.current()
    rows = worklist_rows(worklist_for(user=me.user, moment=moment), user=me.user, moment=moment)
    top_reasons: dict[str, int] = {}
    for row in rows:
        code = row.reasons[0].code if row.reasons else "none"
        top_reasons[code] = top_reasons.get(code, 0) + 1

    result: dict[str, object] = {
        "cases_in_database": NavigationCase.objects.count(),
        "navigator_open_cases": len(rows),
        "set_up_as": kinds,
        "top_reasons": top_reasons,
        "data_seconds": round(built, 1),
        "runs": runs,
    }
    # Production settings but the test client's host, and static files without the
    # collectstatic manifest a deployment would have.
    static = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}

    with override_settings(
        ALLOWED_HOSTS=["testserver"],
        STORAGES={"default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
                  "staticfiles": static},
    ):  # fmt: skip
        client = Client()
        client.force_login(me.user)
        for name, path in [("page", "/worklist/"), ("api", "/api/worklist/")]:
            for _ in range(3):  # warm up: templates, the connection
                client.get(path)
            counter = QueryCounter()
            with connection.execute_wrapper(counter):
                response = client.get(path)
            assert response.status_code == 200, response.status_code  # noqa: S101
            seconds = []
            for _ in range(runs):
                t0 = time.perf_counter()
                client.get(path)
                seconds.append(time.perf_counter() - t0)
            result[name] = {"path": path, **_percentiles(seconds), "queries": counter.count}
            print(json.dumps({f"worklist_{name}": result[name]}), flush=True)

    # PostgreSQL compiles a query with JIT once its estimated cost passes
    # jit_above_cost, which would cost more than this query takes to run: report
    # how far below it the worklist's query stays, and what running it takes.
    cases = worklist_for(user=me.user, moment=moment)[:50]
    sql, params = cases.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit_above_cost")
        jit_above_cost = float(cursor.fetchone()[0])
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params)
        plan = cursor.fetchone()[0]
        plan = json.loads(plan) if isinstance(plan, str) else plan
    result["rows_query"] = {
        "estimated_cost": round(plan[0]["Plan"]["Total Cost"]),
        "jit_above_cost": round(jit_above_cost),
        "jit_used": "JIT" in plan[0],
        "planning_ms": round(plan[0]["Planning Time"], 1),
        "execution_ms": round(plan[0]["Execution Time"], 1),
    }
    return result


class QueryCounter:
    """Counts the queries a request makes (DEBUG is off, so Django logs none)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


if __name__ == "__main__":
    main()
