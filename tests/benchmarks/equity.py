"""`make bench`, part "equity": the disparities dashboard against a hand-written floor.

Sizes (`--scale`): full 1,000,000 patients and 1,000,000 cases, 20 timed runs
of each view; small 20,000 and 20,000, 5 runs.

Data, built in SQL (`INSERT … SELECT generate_series`, `setseed`: seconds, where
`bulk_create` would take most of an hour): the patients over 20 clinics with race
rows and `race_group`, language, English proficiency and their sources; the CMS130
population for 8 rolling quarters (about 35% of patients in each quarter's initial
population: `MeasurePopulation`, and the `MeasurePeriod` rows that list a period once
computed); and the navigation cases, opened over the last 2.5 years, with statuses,
completion and closing dates and navigators. Every row respects the real tables'
constraints and the model defaults.

Timing: the runs' calls of `equity_dashboard` as a manager for each view
(CMS130 by race; by race × language; by race with the quarterly series; loop closed
within 180 days of opening, colorectal, by race), then `GET /api/equity/` and the page
`/reports/equity/` through the test client (DEBUG off, over HTTPS as production
serves it). Median and 95th percentile, and the queries each answer took
(`harness.QueryCounter`).

Floor: for each view one hand-written SQL query computing the same group counts
(numerator and denominator per group, the quarterly view's eight quarters in one
query), run with `cursor.execute` the same number of times. Ratio = the dashboard's
median ÷ the floor's median; the goal is 1.5 or less, at 3 queries or fewer
(the four views' target on the scoreboard; the API and the page have none).
"""

from __future__ import annotations

import datetime as dt
import json
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

MEASURE = "CMS130"
GOAL_RATIO = 1.5
GOAL_QUERIES = 3
VIEWS = {
    "cms130_by_race": "CMS130 by race",
    "cms130_by_race_language": "CMS130 by race × language",
    "cms130_by_race_quarters": "CMS130 by race, 8 quarters",
    "completion_180_by_race": "loop closed ≤ 180 d, by race",
    "api": "GET /api/equity/",
    "page": "GET /reports/equity/",
}
CLINICS = 20
NAVIGATORS = 50
QUARTERS = 8
# Each named language is common enough to be among the table's top 8, or folded into "other".
LANGUAGES = (
    ("en", 0.62),
    ("es", 0.18),
    ("pt", 0.04),
    ("ht", 0.03),
    ("vi", 0.03),
    ("zh", 0.03),
    ("ru", 0.02),
    ("ar", 0.015),
    ("km", 0.015),
    ("so", 0.01),
    ("fr", 0.01),
    ("ko", 0.01),
)
# race_group by share (2024 OMB SPD 15, tabulated exclusively); what is left is "not recorded".
RACES = (
    ("white", 0.45),
    ("hispanic", 0.20),
    ("black", 0.14),
    ("asian", 0.07),
    ("multi", 0.03),
    ("mena", 0.015),
    ("aian", 0.01),
    ("nhpi", 0.005),
    ("declined", 0.02),
    ("unknown", 0.02),
)
# The chance of being screened in the oldest quarter, and its change per quarter: the
# Hispanic-White gap narrows from 20 points to 2.5 over the two years.
SCREENED = {"white": (0.70, 0.0), "hispanic": (0.50, 0.025), "black": (0.60, 0.01)}
SCREENED_OTHER = (0.62, 0.0)


def _cumulative_case(value: str, shares: tuple[tuple[str, float], ...], default: str) -> str:
    """SQL `CASE` picking a key by cumulative share for a uniform random `value`."""
    whens, total = [], 0.0
    for key, share in shares:
        total += share
        whens.append(f"WHEN {value} < {total:.4f} THEN '{key}'")
    return f"CASE {' '.join(whens)} ELSE '{default}' END"


def _rolling_quarters(today: dt.date):
    """The last eight rolling quarters ended by `today`, oldest first."""
    from patients.caregaps.dates import add_months
    from patients.caregaps.periods import last_complete_quarter_end, quarter_periods

    last = last_complete_quarter_end(today)
    return quarter_periods(add_months(last, -3 * (QUARTERS - 1)), last)


def build_data(*, patients: int, cases: int, today: dt.date) -> dict[str, Any]:
    from django.db import connection, transaction
    from django.utils import timezone

    from navigator.models import CaseStatus, NavigatorProfile, Role, User
    from patients.models import Clinic, MeasurePeriod, ScreeningProgram

    clinics = Clinic.objects.bulk_create(
        [Clinic(code=f"equity-{i:02d}", name=f"Equity clinic {i:02d}") for i in range(CLINICS)]
    )
    users = User.objects.bulk_create(
        [
            User(
                username=f"equity-nav-{i}", last_name=f"{i:02d}", role=Role.NAVIGATOR, password="!"
            )
            for i in range(NAVIGATORS)
        ]
    )
    profiles = NavigatorProfile.objects.bulk_create(
        [NavigatorProfile(user=user, languages=["en"]) for user in users]
    )
    programs = {p.code: p.pk for p in ScreeningProgram.objects.all()}
    quarters = _rolling_quarters(today)
    now = timezone.now()
    loop_closed = {"completed": 0.55, "closed": 0.43, "treatment": 0.02}
    still_open = (
        ("new", 0.08),
        ("assigned", 0.08),
        ("contacting", 0.30),
        ("scheduled", 0.12),
        ("follow_up_needed", 0.04),
        ("repeat_needed", 0.02),
        ("closed_unreachable", 0.20),
        ("declined", 0.08),
        ("ineligible", 0.06),
    )
    assert {s for s, _ in still_open} | set(loop_closed) <= set(CaseStatus.values)  # noqa: S101
    with transaction.atomic(), connection.cursor() as cursor:
        skip_audit_triggers(cursor)  # the synthetic rows' audit trail is not measured
        cursor.execute("SELECT setseed(0.13)")
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM patients_patient")
        first_id = cursor.fetchone()[0] + 1
        race = _cumulative_case("r_race", RACES, "not_recorded")
        language = _cumulative_case("r_lang", LANGUAGES, "en")
        cursor.execute(
            f"""
            INSERT INTO patients_patient (
                id, clinic_id, mrn, given_name, family_name, birth_date, sex,
                preferred_language, written_language, english_proficiency, language_status,
                language_source, interpreter_needed, sms_consent, email, address_line1,
                address_line2, city, state, postal_code, time_zone, insurance_type,
                smoking_status, deceased, best_contact_times, preferred_channel,
                race_group, race_ethnicity_source, created_at, updated_at)
            OVERRIDING SYSTEM VALUE
            SELECT id, (%(clinics)s::bigint[])[1 + floor(r_clinic * {CLINICS})::int],
                'EQ' || lpad(id::text, 9, '0'), 'Given', 'Family' || id,
                DATE '1949-01-01' + floor(r_age * 365 * 32)::int,
                CASE WHEN r_sex < 0.52 THEN 'female' ELSE 'male' END,
                CASE WHEN status = 'recorded' THEN lang ELSE 'en' END, '',
                CASE WHEN status <> 'recorded' THEN 'unknown'
                     WHEN lang = 'en' THEN 'very_well'
                     WHEN r_eng < 0.3 THEN 'well' WHEN r_eng < 0.6 THEN 'not_well'
                     WHEN r_eng < 0.8 THEN 'not_at_all' ELSE 'declined' END,
                status,
                CASE WHEN status = 'not_asked' THEN '' WHEN r_age < 0.8 THEN 'self_reported'
                     ELSE 'ehr_unstated' END,
                status = 'recorded' AND lang <> 'en' AND r_clinic < 0.5,
                false, '', '', '', '', '', '', %(time_zone)s,
                (ARRAY['commercial', 'medicare', 'medicaid', 'dual', 'uninsured',
                       'unknown'])[1 + floor(r_ins * 6)::int],
                'unknown', false, '', '', race,
                CASE WHEN race = 'not_recorded' THEN '' WHEN r_lang < 0.85 THEN 'self_reported'
                     ELSE 'observer' END,
                %(now)s, %(now)s
            FROM (
                SELECT id, r_clinic, r_age, r_sex, r_eng, r_ins, r_lang, {race} AS race,
                    {language} AS lang,
                    CASE WHEN r_status < 0.88 THEN 'recorded' WHEN r_status < 0.94 THEN 'not_asked'
                         WHEN r_status < 0.97 THEN 'declined' ELSE 'unknown' END AS status
                FROM (
                    SELECT id, random() AS r_clinic, random() AS r_age, random() AS r_sex,
                        random() AS r_eng, random() AS r_ins, random() AS r_race,
                        random() AS r_lang, random() AS r_status
                    FROM generate_series(%(first)s, %(last)s) AS id
                ) AS draws
            ) AS s
            """,  # noqa: S608 - built from this module's constants, not from input
            {
                "clinics": [c.pk for c in clinics],
                "time_zone": str(timezone.get_current_timezone()),
                "now": now,
                "first": first_id,
                "last": first_id + patients - 1,
            },
        )
        # The identity must go on from past the ids given explicitly.
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('patients_patient', 'id'), "
            "(SELECT MAX(id) FROM patients_patient))"
        )
        # The rows the race group was derived from: one category alone, or two for "multi".
        cursor.execute(
            """
            INSERT INTO patients_patientraceethnicity (patient_id, category)
            SELECT id, race_group FROM patients_patient
            WHERE id >= %(first)s AND race_group NOT IN ('multi', 'not_recorded')
            UNION ALL
            SELECT id, unnest(ARRAY[(ARRAY['black', 'asian', 'hispanic'])[1 + id %% 3], 'white'])
            FROM patients_patient WHERE id >= %(first)s AND race_group = 'multi'
            """,
            {"first": first_id},
        )
        # CMS130's initial population, about 35% of patients in each rolling quarter.
        screened = " ".join(
            f"WHEN '{group}' THEN {base} + {step} * k" for group, (base, step) in SCREENED.items()
        )
        cursor.execute(
            f"""
            INSERT INTO patients_measurepopulation (
                measure, program_id, patient_id, period_start, period_end,
                denominator_exclusion, numerator, age_at_end, computed_at)
            SELECT %(measure)s, %(program)s, id, period_start, period_end, r_ex < 0.04,
                r_num < CASE race_group {screened} ELSE {SCREENED_OTHER[0]} END,
                date_part('year', age(period_end, birth_date))::int, %(now)s
            FROM (
                SELECT p.id, p.birth_date, p.race_group, q.k, q.period_start, q.period_end,
                    random() AS r_in, random() AS r_ex, random() AS r_num
                FROM patients_patient AS p
                CROSS JOIN unnest(%(starts)s::date[], %(ends)s::date[])
                    WITH ORDINALITY AS q(period_start, period_end, k)
                WHERE p.id >= %(first)s
            ) AS s
            WHERE r_in < 0.35
            """,  # noqa: S608 - built from this module's constants, not from input
            {
                "measure": MEASURE,
                "program": programs["colorectal"],
                "starts": [q.start for q in quarters],
                "ends": [q.end for q in quarters],
                "first": first_id,
                "now": now,
            },
        )
        cursor.execute(
            "SELECT period_start, period_end, COUNT(*) FROM patients_measurepopulation "
            "WHERE measure = %s GROUP BY 1, 2",
            [MEASURE],
        )
        MeasurePeriod.objects.bulk_create(
            [
                MeasurePeriod(
                    measure=MEASURE, period_start=s, period_end=e, computed_at=now, patients=n
                )
                for s, e, n in cursor.fetchall()
            ]
        )
        # Cases: one per patient and programme (so the one-open-case rule holds), the
        # programme turning with each round past the number of patients.
        closed_whens = _cumulative_case("r_kind", tuple(loop_closed.items()), "completed")
        open_whens = _cumulative_case("r_kind", still_open, "contacting")
        cursor.execute(
            f"""
            INSERT INTO navigator_navigationcase (
                patient_id, program_id, navigator_id, status, needs_interpreter, opened_at,
                completed_at, closed_at, updated_at, assignment_reason, next_channel, version)
            SELECT patient_id, program_id, navigator_id, status, false, opened_at,
                CASE WHEN loop_closed THEN completed_at END,
                CASE WHEN status IN ('closed', 'treatment') THEN completed_at + interval '5 days'
                     WHEN status IN ('closed_unreachable', 'declined', 'ineligible')
                     THEN opened_at + interval '90 days' END,
                %(now)s, '', '', 1
            FROM (
                SELECT %(first)s + i %% %(patients)s AS patient_id,
                    (%(programs)s::bigint[])[1 + (i %% %(patients)s + i / %(patients)s) %% 3]
                        AS program_id,
                    CASE WHEN r_nav < 0.1 THEN NULL
                         ELSE (%(navigators)s::bigint[])[1 + floor(r_nav * {NAVIGATORS})::int]
                    END AS navigator_id,
                    loop_closed,
                    CASE WHEN loop_closed THEN {closed_whens} ELSE {open_whens} END AS status,
                    opened_at,
                    LEAST(%(now)s, opened_at + r_days * r_days * interval '300 days')
                        AS completed_at
                FROM (
                    SELECT i, random() AS r_nav, random() AS r_kind, random() AS r_days,
                        random() < 0.46 AS loop_closed,
                        %(now)s - random() * interval '900 days' AS opened_at
                    FROM generate_series(0, %(cases)s - 1) AS i
                ) AS draws
            ) AS s
            """,  # noqa: S608 - built from this module's constants, not from input
            {
                "first": first_id,
                "patients": patients,
                "programs": [programs["colorectal"], programs["breast"], programs["cervical"]],
                "navigators": [p.pk for p in profiles],
                "cases": cases,
                "now": now,
            },
        )
    with connection.cursor() as cursor:
        # Fresh bulk loads have no planner statistics yet; a live database would.
        cursor.execute("VACUUM ANALYZE")
        cursor.execute(
            "SELECT (SELECT COUNT(*) FROM patients_patient), "
            "(SELECT COUNT(*) FROM navigator_navigationcase), "
            "(SELECT COUNT(*) FROM patients_measurepopulation), "
            "(SELECT COUNT(*) FROM patients_patientraceethnicity)"
        )
        counted = cursor.fetchone()
    return {
        "patients": counted[0],
        "cases": counted[1],
        "measure_population_rows": counted[2],
        "race_rows": counted[3],
        "quarters": [f"{q.start}/{q.end}" for q in quarters],
    }


# Each floor: the same group counts as the dashboard's view, in one plain query.
RACE_FLOOR = """
    SELECT p.race_group,
        SUM(CASE WHEN NOT m.denominator_exclusion THEN 1 ELSE 0 END),
        SUM(CASE WHEN m.numerator AND NOT m.denominator_exclusion THEN 1 ELSE 0 END)
    FROM patients_measurepopulation m JOIN patients_patient p ON p.id = m.patient_id
    WHERE m.measure = %(measure)s AND m.period_end = %(end)s AND m.period_start = %(start)s
    GROUP BY 1
"""
RACE_LANGUAGE_FLOOR = """
    SELECT p.race_group,
        CASE WHEN p.language_status = 'recorded' AND p.preferred_language <> ''
             THEN p.preferred_language ELSE 'not_recorded' END,
        SUM(CASE WHEN NOT m.denominator_exclusion THEN 1 ELSE 0 END),
        SUM(CASE WHEN m.numerator AND NOT m.denominator_exclusion THEN 1 ELSE 0 END)
    FROM patients_measurepopulation m JOIN patients_patient p ON p.id = m.patient_id
    WHERE m.measure = %(measure)s AND m.period_end = %(end)s AND m.period_start = %(start)s
    GROUP BY 1, 2
"""
# The latest quarter is one of the eight: one query gives the table and the series.
QUARTERS_FLOOR = """
    SELECT m.period_end, p.race_group,
        SUM(CASE WHEN NOT m.denominator_exclusion THEN 1 ELSE 0 END),
        SUM(CASE WHEN m.numerator AND NOT m.denominator_exclusion THEN 1 ELSE 0 END)
    FROM patients_measurepopulation m JOIN patients_patient p ON p.id = m.patient_id
    WHERE m.measure = %(measure)s AND (m.period_start, m.period_end) IN (
        SELECT * FROM unnest(%(starts)s::date[], %(ends)s::date[]))
    GROUP BY 1, 2
"""
COMPLETION_FLOOR = """
    SELECT p.race_group,
        SUM(CASE WHEN c.opened_at < %(followed)s THEN 1 ELSE 0 END),
        SUM(CASE WHEN c.opened_at < %(followed)s AND c.completed_at IS NOT NULL
                  AND c.status IN ('completed', 'closed', 'treatment')
                  AND (c.completed_at AT TIME ZONE %(tz)s)::date
                      - (c.opened_at AT TIME ZONE %(tz)s)::date <= 180
             THEN 1 ELSE 0 END)
    FROM navigator_navigationcase c JOIN patients_patient p ON p.id = c.patient_id
    WHERE c.program_id = %(program)s AND c.status <> 'ineligible'
        AND c.opened_at >= %(from)s AND c.opened_at < %(to)s
    GROUP BY 1
"""


def _seconds(call: Callable[[], Any], runs: int) -> list[float]:
    seconds = []
    for _ in range(runs):
        t0 = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - t0)
    return seconds


def _paired_seconds(
    call: Callable[[], Any], floor: Callable[[], Any], runs: int
) -> tuple[list[float], list[float]]:
    """Each run times the view then its floor, so that the load of a shared machine
    weighs on both alike and the ratio stays fair."""
    seconds: list[float] = []
    floors: list[float] = []
    for _ in range(runs):
        seconds += _seconds(call, 1)
        floors += _seconds(floor, 1)
    return seconds, floors


def _summary(seconds: list[float], floor: list[float], queries: int) -> dict[str, Any]:
    median, floor_median = statistics.median(seconds), statistics.median(floor)
    return {
        "median_s": round(median, 4),
        "p95_s": round(statistics.quantiles(seconds, n=20)[18], 4),
        "floor_median_s": round(floor_median, 4),
        "floor_p95_s": round(statistics.quantiles(floor, n=20)[18], 4),
        "ratio": round(median / floor_median, 2),
        "queries": queries,
    }


def run(*, scale: Scale) -> PartResult:
    from django.utils import timezone

    from navigator.models import Role, User

    patients = scale.pick(small=20_000, full=1_000_000)
    cases = scale.pick(small=20_000, full=1_000_000)
    runs = scale.pick(small=5, full=20)
    today = timezone.localdate()

    started = time.perf_counter()
    data = build_data(patients=patients, cases=cases, today=today)
    data_seconds = round(time.perf_counter() - started, 1)
    print(json.dumps({"equity_data": data, "seconds": data_seconds}), flush=True)
    User.objects.create(username="equity-manager", role=Role.MANAGER, password="!")
    timings = time_views(runs=runs, today=today)
    _print_table(timings)
    result = PartResult(
        part="equity",
        sizes={k: v for k, v in data.items() if isinstance(v, int)},
        details={"data_seconds": data_seconds, "runs": runs, "quarters": data["quarters"]},
    )
    for name, row in timings.items():
        # The goal is for the full population, where the query is most of the time; at
        # small sizes the dashboard's fixed work (statistics, suppression) dominates.
        view = name not in ("api", "page")
        judged = view and scale.name == "full"
        result.figures.append(
            Figure(
                name=f"{VIEWS[name]} (median)",
                value=round(row["median_s"] * 1000, 1),
                unit="ms",
                higher_is_better=False,
                floor_name="hand-written SQL, same group counts",
                floor_value=round(row["floor_median_s"] * 1000, 1),
                target=f"full: ≤ {GOAL_RATIO}× floor, ≤ {GOAL_QUERIES} queries" if view else None,
                met=(row["ratio"] <= GOAL_RATIO and row["queries"] <= GOAL_QUERIES)
                if judged
                else None,
            )
        )
        result.queries[name] = row["queries"]
        result.details[name] = row
    return result


def time_views(*, runs: int, today: dt.date) -> dict[str, Any]:
    """Each view's timings against its floor, on the data `build_data` left (also run
    alone, on a bench database already built, while profiling)."""
    from django.db import connection
    from django.test import Client, override_settings
    from django.utils import timezone

    from navigator.equity.cohort import local_midnight
    from navigator.equity.dashboard import equity_dashboard
    from navigator.equity.query import EquityQuery
    from navigator.models import User
    from patients.models import ScreeningProgram

    manager = User.objects.get(username="equity-manager")
    result: dict[str, Any] = {}

    quarters = _rolling_quarters(today)
    latest = quarters[-1]
    population = {"measure": MEASURE, "start": latest.start, "end": latest.end}
    completion = equity_dashboard(
        user=manager,
        query=EquityQuery(measure="completion_180", program="colorectal"),
        today=today,
    ).period
    assert completion is not None  # noqa: S101
    views: dict[str, tuple[EquityQuery, str, dict[str, Any]]] = {
        "cms130_by_race": (EquityQuery(), RACE_FLOOR, population),
        "cms130_by_race_language": (
            EquityQuery(stratify=("race", "language")),
            RACE_LANGUAGE_FLOOR,
            population,
        ),
        "cms130_by_race_quarters": (
            EquityQuery(quarters=True),
            QUARTERS_FLOOR,
            {
                "measure": MEASURE,
                "starts": [q.start for q in quarters],
                "ends": [q.end for q in quarters],
            },
        ),
        "completion_180_by_race": (
            EquityQuery(measure="completion_180", program="colorectal"),
            COMPLETION_FLOOR,
            {
                "program": ScreeningProgram.objects.get(code="colorectal").pk,
                "from": local_midnight(completion.start),
                "to": local_midnight(completion.end + dt.timedelta(days=1)),
                "followed": local_midnight(today - dt.timedelta(days=179)),
                "tz": str(timezone.get_current_timezone()),
            },
        ),
    }

    def floor_run(sql: str, params: dict[str, Any]) -> Callable[[], Any]:
        def run() -> list[tuple]:
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                return cursor.fetchall()

        return run

    for name, (query, sql, params) in views.items():

        def call(query: EquityQuery = query) -> Any:
            return equity_dashboard(user=manager, query=query, today=today)

        floor = floor_run(sql, params)
        for _ in range(2):  # warm up: the connection, the plans, the caches
            call()
            floor()
        counter = QueryCounter()
        with connection.execute_wrapper(counter):
            answer = call()
        _check_floor(name, answer, floor())
        seconds, floor_seconds = _paired_seconds(call, floor, runs)
        result[name] = _summary(seconds, floor_seconds, counter.count)
        print(json.dumps({f"equity_{name}": result[name]}), flush=True)

    static = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    with override_settings(
        ALLOWED_HOSTS=["testserver"],
        STORAGES={"default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
                  "staticfiles": static},
    ):  # fmt: skip
        client = Client()
        client.force_login(manager)
        for name, path in [("api", "/api/equity/"), ("page", "/reports/equity/")]:
            for _ in range(2):
                client.get(path, secure=True)
            counter = QueryCounter()
            with connection.execute_wrapper(counter):
                # Over HTTPS, as production serves it (SECURE_SSL_REDIRECT with DEBUG off).
                response = client.get(path, secure=True)
            assert response.status_code == 200, response.status_code  # noqa: S101
            # The same figures as the dashboard's CMS130-by-race view: the same floor.
            seconds, floor_seconds = _paired_seconds(
                lambda path=path: client.get(path, secure=True),
                floor_run(RACE_FLOOR, population),
                runs,
            )
            result[name] = {"path": path, **_summary(seconds, floor_seconds, counter.count)}
            print(json.dumps({f"equity_{name}": result[name]}), flush=True)
    return result


def _check_floor(name: str, answer: Any, rows: list[tuple]) -> None:
    """The floor counts what the dashboard counts: the same total denominator."""
    if name == "cms130_by_race_quarters":
        latest = max(row[0] for row in rows)
        rows = [row[1:] for row in rows if row[0] == latest]
    denominators = sum(row[-2] for row in rows)
    shown = sum(g.denominator or 0 for g in answer.groups)
    hidden = any(g.denominator is None for g in answer.groups)
    if not hidden and denominators != shown:
        raise AssertionError(f"{name}: the floor counts {denominators}, the dashboard {shown}")


def _print_table(result: dict[str, Any]) -> None:
    print(
        f"\n{'equity view':<26}{'median s':>10}{'p95 s':>10}{'floor s':>10}"
        f"{'ratio':>8}{'queries':>9}"
    )
    for name, row in result.items():
        if isinstance(row, dict) and "ratio" in row:
            print(
                f"{name:<26}{row['median_s']:>10.3f}{row['p95_s']:>10.3f}"
                f"{row['floor_median_s']:>10.3f}{row['ratio']:>8.2f}{row['queries']:>9}"
            )
    print(flush=True)


if __name__ == "__main__":
    standalone(run)
