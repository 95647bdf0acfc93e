"""A seeded random set of navigation cases, and hand-written SQL to count them, for the
tests of the equity figures (`tests/navigator/equity/`).

The cases (fixed seed) come with contact attempts, appointments, tests, barriers and
follow-ups; the SQL is written from the figures' stated rules, not from the modules'
expressions. The cases' times are drawn in office hours (8:00 to 18:00 in the clinic's
time zone), when a case's local day is also its UTC day, so the SQL can take a
timestamp's day with the database's own date function (the tests pin the local-day
rule separately, with cases opened late in the evening).
"""

# The SQL below is built from table names (Django's _meta) and fixed text, never input.
# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from contextlib import contextmanager

import time_machine
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from navigator.equity.cohort import Cohort, local_midnight
from navigator.equity.dimensions import TOP_LANGUAGES
from navigator.equity.sql import add_months
from navigator.models import (
    Appointment,
    BarrierType,
    CaseBarrier,
    NavigationCase,
    NavigatorProfile,
    ResultFollowUp,
    User,
)
from outreach.models import ContactAttempt
from patients.models import Clinic, Patient, PatientRaceEthnicity, ScreeningEvent, ScreeningModality
from tests import factories

TODAY = dt.date(2026, 6, 30)
PERIOD = (dt.date(2025, 7, 1), TODAY)
SEED = 1313
LANGUAGES = ["en"] * 10 + ["es"] * 6 + ["pt", "pt", "ht", "vi", "zh", "ar", "ru", "ko", "so", "km"]

NOW = dt.datetime(2026, 6, 30, 16, 0, tzinfo=dt.UTC)


def _at(rng: random.Random, day: dt.date) -> dt.datetime:
    """A moment of office hours on `day`, in the local time zone."""
    minute = rng.randint(8 * 60, 18 * 60 - 1)
    return local_midnight(day) + dt.timedelta(minutes=minute)


def _after(rng: random.Random, start: dt.datetime, most_days: int) -> dt.datetime:
    """A moment of office hours 0 to `most_days` days after `start`, never after today."""
    day = min(timezone.localdate(start) + dt.timedelta(days=rng.randint(0, most_days)), TODAY)
    moment = _at(rng, day)
    return max(moment, start + dt.timedelta(minutes=1)) if day == start.date() else moment


def _follow_up(rng, case, writer, colonoscopy) -> str | None:
    """A test result on the case that may call for a follow-up, and what became of it
    (its state, None without a follow-up)."""
    test = rng.choice(["fit", "fit", "sdna-fit", "ct-colonography"])
    category = rng.choice(["abnormal", "abnormal", "abnormal", "inadequate"])
    if rng.random() < 0.2:  # a result at a month's end: six months on may not exist
        result_on = rng.choice([dt.date(2025, 8, 31), dt.date(2025, 10, 31), dt.date(2025, 12, 31)])
    else:
        result_on = PERIOD[0] + dt.timedelta(days=rng.randint(-40, 364))
    screening = factories.result_recorded(
        case, category=category, test=test, performed_on=result_on, resulted_on=result_on
    )
    follow_up = ResultFollowUp.objects.filter(screening=screening).first()
    if follow_up is None:
        return None
    state = rng.choice(["open", "done", "done", "done", "closed"])
    if state == "done":
        done_on = min(result_on + dt.timedelta(days=rng.randint(5, 300)), TODAY)
        if rng.random() < 0.15:  # on the last day that counts, or the day after
            done_on = min(add_months(result_on, 6) + dt.timedelta(days=rng.randint(0, 1)), TODAY)
        answer = ScreeningEvent.objects.create(
            patient=case.patient, case=case, modality=colonoscopy, performed_on=done_on,
            result="normal",
        )  # fmt: skip
        ResultFollowUp.objects.filter(pk=follow_up.pk).update(
            state="done", answered_by=answer, done_on=done_on
        )
    elif state == "closed":
        ResultFollowUp.objects.filter(pk=follow_up.pk).update(
            state="closed",
            close_reason=rng.choice(
                ["declined_informed", "done_elsewhere", "done_elsewhere", "deceased", "moved"]
            ),
            closed_by=writer,
            closed_at=timezone.now(),
        )
    return state


FINAL_STATUSES = [
    "assigned", "contacting", "scheduled", "completed", "completed", "closed", "closed",
    "treatment", "follow_up_closed", "closed_unreachable", "declined", "ineligible",
]  # fmt: skip


@contextmanager
def seeded_cases(django_db_blocker) -> Iterator[dict]:
    """About 170 cases, one in eleven of another programme, opened over 14 months, with
    what happened on each, drawn with a fixed seed, inside a transaction rolled back at
    the end (for a module-scoped fixture: each test's own changes roll back with it)."""
    with (
        django_db_blocker.unblock(),
        time_machine.travel(NOW, tick=False),
        transaction.atomic(),
    ):
        yield _build(random.Random(SEED))
        transaction.set_rollback(True)


def _build(rng: random.Random) -> dict:
    colorectal, breast = factories.program("colorectal"), factories.program("breast")
    diagnostic = ScreeningModality.objects.create(
        program=colorectal, code="diag-only", name="A diagnostic-only test", interval_months=12,
        role="diagnostic",
    )  # fmt: skip
    tests = {
        colorectal.pk: [factories.modality("fit"), factories.modality("colonoscopy"), diagnostic],
        breast.pk: [factories.modality("mammography", "breast")],
    }
    colonoscopy = factories.modality("colonoscopy")
    clinics = [factories.ClinicFactory() for _ in range(3)]
    navigators = [factories.NavigatorFactory() for _ in range(3)]
    writer = factories.ManagerFactory()
    barrier_types = list(BarrierType.objects.all()[:6])
    for number in range(170):
        patient = factories.PatientFactory(
            clinic=rng.choice(clinics),
            birth_date=TODAY - dt.timedelta(days=rng.randint(40 * 365, 80 * 365)),
            sex=rng.choice(["female", "male", "unknown"]),
            preferred_language=rng.choice([*LANGUAGES, ""]),
            english_proficiency=rng.choice(["very_well", "well", "not_well", "unknown"]),
            insurance_type=rng.choice(["commercial", "medicaid", "medicare", "unknown"]),
            race_ethnicity=rng.choice([[], ["white"], ["hispanic"], ["black"], ["asian"]]),
        )
        program = breast if number % 11 == 0 else colorectal
        opened_at = _at(rng, TODAY - dt.timedelta(days=rng.randint(0, 420)))
        case = factories.CaseFactory(
            patient=patient,
            program=program,
            navigator=rng.choice([*navigators, None]),
            opened_at=opened_at,
        )
        for _ in range(rng.randint(0, 5)):
            factories.ContactAttemptFactory(
                case=case,
                attempted_at=_after(rng, opened_at, 60),
                outcome=rng.choice(["reached", "no_answer", "left_voicemail", "no_answer"]),
                direction=rng.choice(["outbound"] * 4 + ["inbound"]),
                created_by=writer,
            )
        for _ in range(rng.choice([0, 0, 1, 1, 2])):
            appointment = factories.AppointmentFactory(
                case=case, purpose=rng.choice(["screening", "screening", "diagnostic"]),
                created_by=writer,
            )  # fmt: skip
            # `created_at` is set on saving: the day it was booked is written afterwards.
            Appointment.objects.filter(pk=appointment.pk).update(
                created_at=_after(rng, opened_at, 90)
            )
        for _ in range(rng.choice([0, 1, 1, 2])):
            factories.ScreeningEventFactory(
                case=case,
                modality=rng.choice(tests[program.pk]),
                performed_on=timezone.localdate(_after(rng, opened_at, 120)),
            )
        follow_up = None
        if program == colorectal and rng.random() < 0.35:
            follow_up = _follow_up(rng, case, writer, colonoscopy)
        for barrier_type in rng.sample(barrier_types, rng.choice([0, 0, 1, 2, 3])):
            factories.CaseBarrierFactory(
                case=case, barrier_type=barrier_type, created_by=writer,
                status=rng.choice(["identified", "action_taken", "resolved"]),
            )  # fmt: skip
        if follow_up == "open":
            continue  # the result still waits for its follow-up
        status = rng.choice(FINAL_STATUSES)
        if follow_up == "closed" and rng.random() < 0.8:
            status = "follow_up_closed"
        completed_at = None
        if status in {"completed", "closed", "treatment"} and rng.random() > 0.03:
            completed_at = _after(rng, opened_at, 260)
        NavigationCase.objects.filter(pk=case.pk).update(
            status=status,
            completed_at=completed_at,
            closed_at=completed_at if status not in {"assigned", "contacting"} else None,
        )
    return {"colorectal": colorectal, "breast": breast, "clinics": clinics}


def cohort(cases, scope: Q | None = None, program: str = "colorectal") -> Cohort:
    return Cohort(scope or Q(), cases[program].pk, *PERIOD)


# --- The hand-written SQL: each group's key, then the navigation rules ---------------------

PATIENT = Patient._meta.db_table
RACE = PatientRaceEthnicity._meta.db_table
CASE = NavigationCase._meta.db_table
CLINIC = Clinic._meta.db_table
PROFILE = NavigatorProfile._meta.db_table
USER = User._meta.db_table


def _race_rows(condition: str) -> str:
    return f"SELECT COUNT(*) FROM {RACE} r WHERE r.patient_id = p.id AND {condition}"


REAL = "r.category NOT IN ('declined', 'unknown')"
GROUP_SQL = {
    "race": f"""CASE
        WHEN ({_race_rows(REAL)}) > 1 THEN 'multi'
        WHEN ({_race_rows(REAL)}) = 1
          THEN (SELECT MIN(r.category) FROM {RACE} r WHERE r.patient_id = p.id AND {REAL})
        WHEN ({_race_rows("r.category = 'declined'")}) > 0 THEN 'declined'
        WHEN ({_race_rows("r.category = 'unknown'")}) > 0 THEN 'unknown'
        ELSE 'not_recorded' END""",
    # A language counts only when its status says it was recorded.
    "language": "CASE WHEN p.language_status <> 'recorded' OR p.preferred_language = '' "
    "THEN 'not_recorded' ELSE p.preferred_language END",
    "lep": """CASE WHEN p.english_proficiency IN ('well', 'not_well', 'not_at_all') THEN 'lep'
        WHEN p.english_proficiency = 'very_well' THEN 'english_proficient'
        ELSE 'not_recorded' END""",
    # "No" is the default: it is an answer only beside a recorded language.
    "interpreter": """CASE WHEN p.interpreter_needed THEN 'needed'
        WHEN p.language_status = 'recorded' THEN 'not_needed'
        ELSE 'not_recorded' END""",
    "sex": "CASE WHEN p.sex IN ('female', 'male', 'other') THEN p.sex ELSE 'not_recorded' END",
    "insurance": "CASE WHEN p.insurance_type = 'unknown' THEN 'not_recorded' "
    "ELSE p.insurance_type END",
    "clinic": "(SELECT c.code FROM " + CLINIC + " c WHERE c.id = p.clinic_id)",
    "navigator": "CASE WHEN k.navigator_id IS NULL THEN 'not_recorded' "
    "ELSE CAST(k.navigator_id AS VARCHAR(20)) END",
}
ATTEMPT = ContactAttempt._meta.db_table
APPOINTMENT = Appointment._meta.db_table
SCREENING = ScreeningEvent._meta.db_table
MODALITY = ScreeningModality._meta.db_table
BARRIER = CaseBarrier._meta.db_table
BARRIER_TYPE = BarrierType._meta.db_table
FOLLOW_UP = ResultFollowUp._meta.db_table

# The only SQL that differs between the databases: a timestamp's (UTC) day, days
# between two days, and a date's year*12+month and day of month.
DAY = {"sqlite": "date({})", "postgresql": "CAST({} AS DATE)"}
DAYS_APART = {
    "sqlite": "(julianday({}) - julianday({}))",
    "postgresql": "({} - {})",
}
MONTH_INDEX = {
    "sqlite": "(CAST(substr({0}, 1, 4) AS INTEGER) * 12 + CAST(substr({0}, 6, 2) AS INTEGER))",
    "postgresql": "(EXTRACT(YEAR FROM {0}) * 12 + EXTRACT(MONTH FROM {0}))",
}
DAY_OF_MONTH = {
    "sqlite": "CAST(substr({}, 9, 2) AS INTEGER)",
    "postgresql": "EXTRACT(DAY FROM {})",
}


def vendor(sql: dict[str, str], *args: str) -> str:
    return sql[connection.vendor].format(*args)


def day_of(column: str) -> str:
    return vendor(DAY, column)


def days_between(later_day: str, earlier_day: str) -> str:
    return vendor(DAYS_APART, later_day, earlier_day)


def param(value):
    """A datetime as the database stores it (UTC text on SQLite)."""
    if isinstance(value, dt.datetime):
        return connection.ops.adapt_datetimefield_value(value)
    return value


BASE = "k.program_id = %s AND k.status <> 'ineligible' AND k.opened_at >= %s AND k.opened_at < %s"


def base_params(cases, program: str = "colorectal") -> list:
    return [
        cases[program].pk,
        param(local_midnight(PERIOD[0])),
        param(local_midnight(PERIOD[1] + dt.timedelta(days=1))),
    ]


COMPLETE = "(k.status IN ('completed', 'closed', 'treatment') AND k.completed_at IS NOT NULL)"
REACHED_SQL = f"EXISTS (SELECT 1 FROM {ATTEMPT} a WHERE a.case_id = k.id AND a.outcome = 'reached')"
SCHEDULED_SQL = (
    f"EXISTS (SELECT 1 FROM {APPOINTMENT} ap WHERE ap.case_id = k.id AND ap.purpose = 'screening')"
)
TESTED_SQL = (
    f"EXISTS (SELECT 1 FROM {SCREENING} s JOIN {MODALITY} m ON m.id = s.modality_id "
    "WHERE s.case_id = k.id AND m.role = 'screening')"
)


def flag(condition: str) -> str:
    return f"CASE WHEN {condition} THEN 1 ELSE 0 END"


def followed_sql(days: int) -> str:
    return f"{day_of('k.opened_at')} <= %s"


def within_sql(days: int) -> str:
    return (
        f"{COMPLETE} AND {days_between(day_of('k.completed_at'), day_of('k.opened_at'))} <= {days}"
    )


def language_sql(cases) -> str:
    """The language group with the top languages of the cohort, chosen by SQL here."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT p.preferred_language, COUNT(*) AS n FROM {CASE} k "
            f"JOIN {PATIENT} p ON p.id = k.patient_id WHERE {BASE} "
            "AND p.preferred_language <> '' AND p.language_status = 'recorded' "
            "GROUP BY p.preferred_language "
            "ORDER BY n DESC, p.preferred_language",
            base_params(cases),
        )
        top = [code for code, _ in cursor.fetchall()[:TOP_LANGUAGES]]
    listed = ", ".join(f"'{code}'" for code in top)
    return (
        "CASE WHEN p.preferred_language = '' OR p.language_status <> 'recorded' "
        "THEN 'not_recorded' "
        f"WHEN p.preferred_language IN ({listed}) THEN p.preferred_language ELSE 'other' END"
    )


def group_sql(cases, key: str) -> str:
    return language_sql(cases) if key == "language" else GROUP_SQL[key]


def sql_sums(group: str, columns: list[str], params: list, cases) -> dict[str, tuple]:
    """{group: (SUM of each column…)} over the cohort's cases."""
    selected = ", ".join(f"{column} AS c{i}" for i, column in enumerate(columns))
    sums = ", ".join(f"SUM(c{i})" for i in range(len(columns)))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT g, {sums} FROM (SELECT {group} AS g, {selected} FROM {CASE} k "
            f"JOIN {PATIENT} p ON p.id = k.patient_id WHERE {BASE}) t GROUP BY g",
            [*params, *base_params(cases)],
        )
        return {str(row[0]): tuple(int(v) for v in row[1:]) for row in cursor.fetchall()}


def shown(rows, *fields) -> dict[str, tuple]:
    return {
        row.key: tuple(getattr(row, name) for name in fields)
        for row in rows
        if getattr(row, fields[0])
    }
