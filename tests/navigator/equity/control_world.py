"""A diabetes programme's patients for the control dashboard's tests: care gaps,
cases, individual sessions, a group series with attendance and make-ups, labs before
and after coaching, drawn at random from a seed so that many combinations occur.
And the plain-Python reading of the same figures, patient by patient, that the SQL
must equal."""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from decimal import Decimal

from django.utils import timezone

from navigator.models import (
    CaseStatus,
    CoachingSession,
    GroupAttendance,
    GroupEnrolment,
    NavigationCase,
)
from navigator.selectors.coaching import education_hours
from patients.models import CareGap, Patient
from tests.factories import (
    CaseFactory,
    CoachingSessionFactory,
    GroupEnrolmentFactory,
    GroupSeriesFactory,
    GroupSessionFactory,
    NavigatorFactory,
    PatientFactory,
    program,
)
from tests.support.fhir import ehr_resource, gmi, hba1c

TODAY = dt.datetime(2026, 9, 15, 15, 0, tzinfo=dt.UTC)
STATUSES = ["untested", "no_result", "poor_control", "above_target", "at_target"]
OUTSIDE = ["not_eligible", "excluded"]
SEXES = ["female", "male", "unknown"]
RACES = [["white"], ["black"], ["hispanic"], ["asian", "white"], []]


def at(day: str, hour: int = 10) -> dt.datetime:
    return timezone.make_aware(dt.datetime.fromisoformat(day).replace(hour=hour))


def gap(patient: Patient, status: str) -> CareGap:
    return CareGap.objects.create(
        patient=patient,
        program=program("diabetes"),
        status=status,
        as_of=TODAY.date(),
        summary=status,
        rule_version=1,
    )


def build_world(seed: int = 16, patients: int = 36, navigator=None) -> dict:
    """The world; returns its navigator, series and patients."""
    rng = random.Random(seed)
    diabetes = program("diabetes")
    navigator = navigator or NavigatorFactory()
    series = GroupSeriesFactory(program=diabetes, facilitator=navigator.user)
    other = GroupSeriesFactory(program=diabetes, facilitator=navigator.user)
    sessions = [
        GroupSessionFactory(series=series, number=n, starts_at=at(day), duration_minutes=90)
        for n, day in enumerate(
            ["2025-11-20", "2026-02-10", "2026-03-10", "2026-06-01", "2026-10-01"], start=1
        )
    ]
    other_session = GroupSessionFactory(series=other, number=1, starts_at=at("2026-04-01"))
    made = []
    for _ in range(patients):
        patient = PatientFactory(
            sex=rng.choice(SEXES), race_ethnicity=rng.choice(RACES), preferred_language="es"
        )
        made.append(patient)
        gap(patient, rng.choice(STATUSES + STATUSES + OUTSIDE))
        if rng.random() < 0.15:
            continue  # no case at all
        case = CaseFactory(patient=patient, program=diabetes, navigator=navigator)
        if rng.random() < 0.3:
            NavigationCase.objects.filter(pk=case.pk).update(status=CaseStatus.CLOSED)
        for _ in range(rng.randint(0, 3)):
            day = rng.choice(["2024-11-01", "2025-06-01", "2026-01-15", "2026-03-20", "2026-05-05"])
            status = rng.choice(["attended", "attended", "missed", "cancelled", "scheduled"])
            CoachingSessionFactory(
                case=case,
                scheduled_at=at(day, rng.randint(8, 16)),
                status=status,
                minutes_spent=rng.choice([30, 45, 60, 90]) if status == "attended" else None,
            )
        if rng.random() < 0.6:
            enrolment = GroupEnrolmentFactory(
                series=series,
                case=case,
                status=rng.choice(["enrolled", "enrolled", "completed", "withdrawn"]),
            )
            if enrolment.status == "withdrawn":
                GroupEnrolment.objects.filter(pk=enrolment.pk).update(ended_at=at("2026-03-01"))
            for session in sessions[:4]:
                roll = rng.random()
                if roll < 0.55:
                    minutes = rng.choice([90, 90, 60])
                    GroupAttendance.objects.create(
                        session=session, enrolment=enrolment, patient=patient,
                        status="attended", minutes=minutes, recorded_by=navigator.user,
                    )  # fmt: skip
                elif roll < 0.8:
                    GroupAttendance.objects.create(
                        session=session, enrolment=enrolment, patient=patient,
                        status="absent", recorded_by=navigator.user,
                    )  # fmt: skip
                    if session.number == 3 and rng.random() < 0.6:
                        GroupAttendance.objects.create(
                            session=other_session, enrolment=enrolment, patient=patient,
                            status="attended", minutes=90, makeup_for=session,
                            recorded_by=navigator.user,
                        )  # fmt: skip
        for day in rng.sample(
            ["2025-03-01", "2025-10-01", "2026-01-10", "2026-04-20", "2026-07-01", "2026-08-30"],
            rng.randint(0, 4),
        ):
            value = round(rng.uniform(6.0, 11.5), 1)
            maker = gmi if rng.random() < 0.2 else hba1c
            ehr_resource(patient, maker(day, value))
        if rng.random() < 0.2:
            ehr_resource(patient, hba1c("2026-07-01", 12.0))  # a second reading that day
    return {"navigator": navigator, "series": series, "patients": made}


# --- The same figures read patient by patient, in plain Python ----------------------


def sex_key(patient: Patient) -> str:
    return patient.sex if patient.sex in ("female", "male", "other") else "not_recorded"


def plain_figures(key_of, *, patients, year: int, now: dt.datetime) -> dict[str, dict]:
    """{group: {count name: value}} computed one patient at a time."""
    diabetes = program("diabetes")
    start = at(f"{year}-01-01", 0)
    end = at(f"{year + 1}-01-01", 0)
    out: dict[str, dict] = defaultdict(lambda: defaultdict(int))
    minutes_of: dict[str, list[int]] = defaultdict(list)
    for patient in patients:
        gap_row = CareGap.objects.filter(patient=patient, program=diabetes).first()
        if gap_row is None or gap_row.status not in STATUSES:
            continue
        g = out[key_of(patient)]
        g["eligible"] += 1
        # Open: the world's cases are "assigned" or "closed".
        g["enrolled"] += NavigationCase.objects.filter(
            patient=patient, program=diabetes, status="assigned"
        ).exists()
        g["tested"] += gap_row.status != "untested"
        g["poor"] += gap_row.status in ("untested", "no_result", "poor_control")
        sessions = [
            s for s in CoachingSession.objects.filter(patient=patient, case__program=diabetes)
            if start <= s.scheduled_at < end
        ]  # fmt: skip
        attended = [s for s in sessions if s.status == "attended"]
        missed = [s for s in sessions if s.status == "missed"]
        g["individual_attended"] += len(attended)
        g["individual_missed"] += len(missed)
        g["individual_patients"] += bool(attended or missed)
        rows = [
            a for a in GroupAttendance.objects.filter(patient=patient, status="attended")
            if a.enrolment.series.program_id == diabetes.pk
        ]  # fmt: skip
        in_year = [a for a in rows if start <= a.session.starts_at < end]
        enrolments = GroupEnrolment.objects.filter(patient=patient, series__program=diabetes)
        g["in_group"] += any(e.status in ("enrolled", "completed") for e in enrolments)
        for enrolment in enrolments:
            for session in enrolment.series.sessions.all():
                if not (start <= session.starts_at < min(end, now)):
                    continue
                if enrolment.status == "withdrawn" and not (
                    enrolment.ended_at and enrolment.ended_at > session.starts_at
                ):
                    continue
                g["group_held"] += 1
                g["group_attended"] += any(
                    a.session_id == session.pk or a.makeup_for_id == session.pk for a in rows
                )
        coached = bool(attended) or bool(in_year)
        if not coached:
            continue
        g["coached"] += 1
        # Hours and the allowance as the patient's page reads them
        hours = education_hours(patient=patient, year=year)
        g["minutes"] += hours.total_used
        minutes_of[key_of(patient)].append(hours.total_used)
        g["reached"] += hours.total_counted >= hours.total_allowed
    result = {key: dict(counts) for key, counts in out.items()}
    for key, values in minutes_of.items():
        values.sort()
        middle = len(values) // 2
        median = values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2
        result[key]["median_minutes"] = float(median)
    return result


def value_of(resource: dict) -> Decimal:
    return Decimal(str(resource["valueQuantity"]["value"]))
