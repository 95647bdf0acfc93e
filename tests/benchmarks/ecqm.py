"""`make bench`, part "ecqm": the CMS130/CMS125/CMS124/CMS122 measure report.

What is timed: `patients.caregaps.measures.reports.measure_report`, the report
behind `GET /api/measures/<measure>/report/` and `manage.py measure_report`,
over every patient known from the EHR feeds (full: 100,000; small: 5,000) for
calendar 2025, once per measure; and the API itself, as a manager, for one
feed of 500 patients.

Data: patients by `bulk_create` (so the model's defaults hold), then their feed
links and FHIR resources in SQL (`INSERT … SELECT`, `setseed`): a Patient
resource each, a visit for 90% (mostly in 2025), a FIT for 30%, a colonoscopy
for 20%, a hypertension Condition for half, and for women a mammogram (40%) and
cervical cytology (35%), coded with the engine's starter codes; and for CMS122 a
type 2 diabetes Condition (15%) and an HbA1c result (30%: 5.5 to 12.5 %, mostly
in 2025): about 3.9 resources a patient besides the Patient resource, so every
population is non-empty. No starter codes stand for CMS122's value sets (Diabetes,
HbA1c Laboratory Test), so the bench loads a two-code expansion of each through
the value-set loader (`CMS122_VALUE_SETS`); the other measures keep their starter
codes.

Floor, measured in the same run and alternated with each report (so that a
busy machine weighs on both alike): PostgreSQL `COPY … TO STDOUT` of the very
rows the report reads (each linked patient's birth date and sex, and its
resources as jsonb), read to the end by psycopg. It is the cost of getting the
input out of the database, not of evaluating it: the ratio says how much of
the report is the measure logic in Python.

Queries: the report's are a fixed few (terminology, links) plus a fixed number
per batch of 500 patients (`evaluation.BATCH_SIZE`), whatever the population;
measured as a 500-patient feed's report against the whole population's.
"""

from __future__ import annotations

import datetime as dt
import statistics
import time
from collections.abc import Callable
from typing import Any

from tests.benchmarks.harness import (
    Figure,
    PartResult,
    QueryCounter,
    Scale,
    skip_audit_triggers,
    standalone,
)

MEASURES = ("CMS130", "CMS125", "CMS124", "CMS122")
PERIOD = (dt.date(2025, 1, 1), dt.date(2025, 12, 31))
CPT = "http://www.ama-assn.org/go/cpt"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
VSAC = "http://cts.nlm.nih.gov/fhir/ValueSet/2.16.840.1.113883.3.464.1003."
# Two real members of each CMS122 value set, loaded as their expansion (bench only).
CMS122_VALUE_SETS = {
    VSAC + "103.12.1001": ("Diabetes", [(ICD10CM, "E11.9"), (ICD10CM, "E10.9")]),
    VSAC + "198.12.1013": ("HbA1c Laboratory Test", [(LOINC, "4548-4"), (LOINC, "17855-8")]),
}


# The SQL of the FHIR pieces the resources below repeat (over the row `s`).
def _codeable(system: str, code: str) -> str:
    """A CodeableConcept with one coding."""
    return (
        "jsonb_build_object('coding', jsonb_build_array("
        f"jsonb_build_object('system', '{system}', 'code', '{code}')))"
    )


def _day(start: str, span_days: int) -> str:
    """A day from `start`, spread over `span_days` by the row's second draw."""
    return f"(DATE '{start}' + floor(s.d * {span_days})::int)::text"


_SUBJECT = "'subject', jsonb_build_object('reference', 'Patient/' || s.ref)"
_LABORATORY = (
    "'category', jsonb_build_array("
    + _codeable("http://terminology.hl7.org/CodeSystem/observation-category", "laboratory")
    + ")"
)
_ACTIVE = "'clinicalStatus', " + _codeable(
    "http://terminology.hl7.org/CodeSystem/condition-clinical", "active"
)


def _resource(resource_type: str, suffix: str, *fields: str) -> str:
    """A resource of `resource_type` whose id is the patient's ref and `suffix`, about
    the patient, with `fields` (SQL pairs: 'name', value)."""
    return (
        f"jsonb_build_object('resourceType', '{resource_type}', 'id', s.ref || '{suffix}', "
        + ", ".join((*fields, _SUBJECT))
        + ")"
    )


def _lab(suffix: str, loinc: str, *fields: str) -> str:
    """A final laboratory Observation coded in LOINC."""
    return _resource(
        "Observation", suffix, "'status', 'final'", _LABORATORY,
        f"'code', {_codeable(LOINC, loinc)}", *fields,
    )  # fmt: skip


def _active_condition(suffix: str, icd10: str, onset_from: str, span_days: int) -> str:
    """An active Condition coded in ICD-10-CM, its onset drawn from a span."""
    return _resource(
        "Condition", suffix, _ACTIVE, f"'code', {_codeable(ICD10CM, icd10)}",
        f"'onsetDateTime', {_day(onset_from, span_days)}",
    )  # fmt: skip


# resource type, id suffix, share of patients, condition, resource (SQL over the row
# `s`: s.id, s.sex, s.ref, s.r the draw deciding the share, s.d a second draw).
RESOURCES: tuple[tuple[str, str, float, str, str], ...] = (
    (
        "Patient",
        "",
        1.0,
        "true",
        "jsonb_build_object('resourceType', 'Patient', 'id', s.ref, 'gender', s.sex, "
        "'birthDate', s.birth_date::text)",
    ),
    (
        "Encounter",
        "-visit",
        0.9,
        "true",
        # Most in 2025 (the period), an eighth in late 2024.
        _resource(
            "Encounter",
            "-visit",
            "'status', 'finished'",
            "'class', jsonb_build_object("
            "'system', 'http://terminology.hl7.org/CodeSystem/v3-ActCode', 'code', 'AMB')",
            f"'type', jsonb_build_array({_codeable(CPT, '99213')})",
            "'period', jsonb_build_object("
            f"'start', {_day('2024-11-01', 420)} || 'T14:00:00Z', "
            f"'end', {_day('2024-11-01', 420)} || 'T14:30:00Z')",
        ),  # fmt: skip
    ),
    (
        "Observation",
        "-fit",
        0.3,
        "true",
        _lab(
            "-fit",
            "29771-3",
            f"'effectiveDateTime', {_day('2024-07-01', 540)}",
            f"'valueCodeableConcept', {_codeable(SNOMED, '260385009')}",
        ),  # fmt: skip
    ),
    (
        "Procedure",
        "-colonoscopy",
        0.2,
        "true",
        _resource(
            "Procedure",
            "-colonoscopy",
            "'status', 'completed'",
            f"'code', {_codeable(CPT, '45378')}",
            f"'performedDateTime', {_day('2012-01-01', 5100)}",
        ),  # fmt: skip
    ),
    (
        "Condition",
        "-hypertension",
        0.5,
        "true",
        _active_condition("-hypertension", "I10", "2010-01-01", 5000),
    ),  # fmt: skip
    (
        "Observation",
        "-mammogram",
        0.4,
        "s.sex = 'female'",
        _resource(
            "Observation",
            "-mammogram",
            "'status', 'final'",
            f"'code', {_codeable(LOINC, '24606-6')}",
            f"'effectiveDateTime', {_day('2023-06-01', 940)}",
        ),  # fmt: skip
    ),
    (
        "Observation",
        "-cytology",
        0.35,
        "s.sex = 'female'",
        _lab(
            "-cytology",
            "10524-7",
            f"'effectiveDateTime', {_day('2021-01-01', 1800)}",
            f"'valueCodeableConcept', {_codeable(SNOMED, '281296001')}",
        ),  # fmt: skip
    ),
    (
        "Condition",
        "-diabetes",
        0.15,
        "true",
        _active_condition("-diabetes", "E11.9", "2005-01-01", 7000),
    ),  # fmt: skip
    (
        "Observation",
        "-hba1c",
        0.3,
        "true",
        # Most in 2025 (the period), a quarter in late 2024; 5.5 to 12.5 %. ('%%': the
        # statement has parameters, so a literal percent sign is doubled.)
        _lab(
            "-hba1c",
            "4548-4",
            f"'effectiveDateTime', {_day('2024-09-01', 480)}",
            "'valueQuantity', jsonb_build_object('value', round((5.5 + s.d * 7)::numeric, 1), "
            "'unit', '%%', 'system', 'http://unitsofmeasure.org', 'code', '%%')",
        ),  # fmt: skip
    ),
)


def load_cms122_value_sets() -> None:
    """CMS122's two value sets as two-code expansions, through the real loader."""
    import json

    from patients.caregaps.valuesets import valuesets_load

    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "resource": {
                    "resourceType": "ValueSet",
                    "url": url,
                    "version": "bench",
                    "name": name.replace(" ", ""),
                    "title": name,
                    "status": "active",
                    "expansion": {
                        "timestamp": "2025-01-01T00:00:00Z",
                        "contains": [{"system": system, "code": code} for system, code in codes],
                    },
                }
            }
            for url, (name, codes) in CMS122_VALUE_SETS.items()
        ],
    }
    valuesets_load(documents=[("bench-cms122.json", json.dumps(bundle).encode())])


# What the report reads, as one query: the links, their patients, their resources.
FLOOR_SQL = """
    COPY (
        SELECT l.patient_id, l.resource_id, p.birth_date, p.sex, r.resource_type, r.resource
        FROM patients_patientsourcelink l
        JOIN patients_patient p ON p.id = l.patient_id
        LEFT JOIN patients_clinicalresource r
            ON r.patient_id = l.patient_id AND r.resource_type <> 'Patient'
        {where}
        ORDER BY l.patient_id, r.id
    ) TO STDOUT
"""


def build_data(*, patients: int, small_feed: int) -> dict[str, Any]:
    """`patients` linked to two feeds, the last `small_feed` to the second."""
    from django.db import connection

    from patients.models import Clinic, FhirSource

    load_cms122_value_sets()
    clinic = Clinic.objects.create(code="ecqm", name="eCQM bench clinic")
    big = FhirSource.objects.create(key="ecqm-main", name="Main EHR", clinic=clinic)
    small = FhirSource.objects.create(key="ecqm-small", name="Small EHR", clinic=clinic)
    _load(clinic=clinic, big=big, small=small, patients=patients, small_feed=small_feed)
    with connection.cursor() as cursor:
        # Fresh bulk loads have no planner statistics yet; a live database would.
        cursor.execute("VACUUM ANALYZE")
        cursor.execute(
            "SELECT (SELECT COUNT(*) FROM patients_patientsourcelink), "
            "(SELECT COUNT(*) FROM patients_clinicalresource), "
            "(SELECT pg_total_relation_size('patients_clinicalresource'))"
        )
        links, resources, size = cursor.fetchone()
    return {
        "patients": links,
        "small_feed_patients": small_feed,
        "resources": resources,
        "resources_mib": round(size / 2**20),
    }


def _load(*, clinic, big, small, patients: int, small_feed: int) -> None:
    import random

    from django.db import connection, transaction

    from patients.models import Patient

    rng = random.Random(20251231)
    first = None
    with transaction.atomic(), connection.cursor() as cursor:
        skip_audit_triggers(cursor)  # the synthetic rows' audit trail is not measured
        for start in range(0, patients, 5000):
            chunk = Patient.objects.bulk_create(
                [
                    Patient(
                        clinic=clinic,
                        mrn=f"Q{i:08d}",
                        given_name="Given",
                        family_name=f"Family{i}",
                        # 40 to 80 at the end of 2025: inside and outside each measure's ages.
                        birth_date=dt.date(1945, 1, 1) + dt.timedelta(days=rng.randrange(365 * 40)),
                        sex="female" if rng.random() < 0.55 else "male",
                    )
                    for i in range(start, min(start + 5000, patients))
                ]
            )
            first = chunk[0].pk if first is None else first
        assert first is not None
        last = first + patients - 1
        split = last - small_feed + 1
        bounds = {"first": first, "last": last, "split": split, "big": big.pk, "small": small.pk}
        cursor.execute("SELECT setseed(0.2025)")
        cursor.execute(
            """
            INSERT INTO patients_patientsourcelink
                (source_id, resource_id, patient_id, linked_at, content_hash)
            SELECT CASE WHEN id >= %(split)s THEN %(small)s ELSE %(big)s END,
                'ecqm-' || id, id, now(), ''
            FROM patients_patient WHERE id BETWEEN %(first)s AND %(last)s
            """,
            bounds,
        )
        for resource_type, suffix, share, condition, resource in RESOURCES:
            cursor.execute(
                f"""
                INSERT INTO patients_clinicalresource (patient_id, source_id, resource_type,
                    resource_id, resource, content_hash, imported_at, updated_at)
                SELECT s.id, s.source_id, %(type)s, s.ref || %(suffix)s, res,
                    md5(res::text), now(), now()
                FROM (
                    SELECT id, sex, birth_date, 'ecqm-' || id AS ref,
                        CASE WHEN id >= %(split)s THEN %(small)s ELSE %(big)s END AS source_id,
                        random() AS r, random() AS d
                    FROM patients_patient WHERE id BETWEEN %(first)s AND %(last)s
                ) AS s
                CROSS JOIN LATERAL (SELECT {resource} AS res) AS built
                WHERE s.r < %(share)s AND {condition}
                """,  # noqa: S608 - this module's constants, not input
                {**bounds, "type": resource_type, "suffix": suffix, "share": share},
            )


def copy_out(source_id: int | None) -> Callable[[], int]:
    """The floor: COPY of the rows the report reads; returns the bytes read."""
    from django.db import connection

    where = f"WHERE l.source_id = {int(source_id)}" if source_id else ""
    sql = FLOOR_SQL.format(where=where)

    def run() -> int:
        read = 0
        with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
            for data in copy:
                read += len(data)
        return read

    return run


def timed(call: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    call()
    return time.perf_counter() - t0


def run(*, scale: Scale) -> PartResult:
    from django.db import connection
    from django.test import Client, override_settings

    from navigator.models import Role, User
    from patients.caregaps.measures.evaluation import BATCH_SIZE
    from patients.caregaps.measures.reports import measure_report
    from patients.models import FhirSource

    patients = scale.pick(small=5_000, full=100_000)
    runs = scale.pick(small=2, full=1)
    api_runs = scale.pick(small=10, full=20)
    result = PartResult(part="ecqm")

    started = time.perf_counter()
    data = build_data(patients=patients, small_feed=BATCH_SIZE)
    result.details["data_seconds"] = round(time.perf_counter() - started, 1)
    result.sizes = {k: v for k, v in data.items() if isinstance(v, int)}
    small = FhirSource.objects.get(key="ecqm-small")
    start, end = PERIOD

    def report(measure: str, source: FhirSource | None = None):
        return measure_report(measure_id=measure, period_start=start, period_end=end, source=source)

    print(f"ecqm: data built in {result.details['data_seconds']} s: {data}", flush=True)
    floor = copy_out(None)
    floor()  # warm: the plan, the cache
    summaries: dict[str, Any] = {}
    # Queries of the whole population's report (the execute wrapper costs a few
    # microseconds a query: a report makes a few dozen), against one batch's below.
    counts: dict[str, int] = {}
    for measure in MEASURES:
        report(measure, small)  # warm: terminology, code paths
        seconds, floors = [], []
        for _ in range(runs):
            counter = QueryCounter()
            with connection.execute_wrapper(counter):
                t0 = time.perf_counter()
                built = report(measure)
                seconds.append(time.perf_counter() - t0)
            counts[measure] = counter.count
            floors.append(timed(floor))
        print(f"ecqm: {measure} {seconds} s, floor {floors} s", flush=True)
        median, floor_median = statistics.median(seconds), statistics.median(floors)
        summaries[measure] = {
            "seconds": [round(s, 3) for s in seconds],
            "floor_seconds": [round(s, 3) for s in floors],
            "summary": built.summary(),
        }
        result.figures.append(
            Figure(
                name=f"{measure} report, {patients:,} patients",
                value=round(patients / median, 1),
                unit="patients/s",
                floor_name="COPY out of the report's input rows",
                floor_value=round(patients / floor_median, 1),
            )
        )
    result.details["reports"] = summaries

    # Queries: one batch (the small feed) against them all.
    counter = QueryCounter()
    with connection.execute_wrapper(counter):
        report("CMS130", small)
    one, whole = counter.count, counts["CMS130"]
    batches = -(-patients // BATCH_SIZE)
    per_batch, rest = divmod(whole - one, batches - 1)
    result.queries[f"report: per batch of {BATCH_SIZE} patients"] = per_batch
    result.queries["report: fixed"] = one - per_batch
    if rest:
        result.notes.append(f"queries do not split per batch: {one} for one, {whole} for {batches}")

    # The API, for the small feed, as a manager.
    manager = User.objects.create(username="ecqm-manager", role=Role.MANAGER, password="!")
    path = f"/api/measures/CMS130/report/?period_start={start}&period_end={end}&source={small.key}"
    static = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    small_floor = copy_out(small.pk)
    with override_settings(
        ALLOWED_HOSTS=["testserver"],
        STORAGES={"default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
                  "staticfiles": static},
    ):  # fmt: skip
        # Over HTTPS, as production serves it (SECURE_SSL_REDIRECT is on with DEBUG off).
        client = Client()
        client.force_login(manager)
        for _ in range(2):
            client.get(path, secure=True)
            small_floor()
        counter = QueryCounter()
        with connection.execute_wrapper(counter):
            response = client.get(path, secure=True)
        if response.status_code != 200:
            raise AssertionError(f"{path}: {response.status_code}")
        seconds, floors = [], []
        for _ in range(api_runs):
            seconds.append(timed(lambda: client.get(path, secure=True)))
            floors.append(timed(small_floor))
    result.queries["API: CMS130 report of a 500-patient feed"] = counter.count
    result.figures.append(
        Figure(
            name=f"GET CMS130 report, {BATCH_SIZE}-patient feed (median)",
            value=round(statistics.median(seconds) * 1000, 1),
            unit="ms",
            higher_is_better=False,
            floor_name="COPY out of that feed's input rows",
            floor_value=round(statistics.median(floors) * 1000, 1),
        )
    )
    result.details["api"] = {
        "path": path.split("?")[0],
        "p95_ms": round(statistics.quantiles(seconds, n=20)[18] * 1000, 1),
        "runs": api_runs,
    }
    result.notes.append(
        "No target in the issue; the floor is reading the input, not evaluating it."
    )
    return result


if __name__ == "__main__":
    standalone(run)
