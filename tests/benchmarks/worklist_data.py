"""The worklist bench's data (copied from tests/benchmarks/run.py, whose copy the
bench helper removes): `total` cases bulk-created with their attempts, appointments,
barriers, results and reminders, one navigator's caseload covering every reason the
worklist ranks by."""

from __future__ import annotations

import datetime as dt
import random

# --- The data (from tests/benchmarks/run.py) ----------------------------------------

# What each of the bench navigator's cases is set up to need (navigator/worklist/rules.py).
WORKLIST_KINDS = ["prep_call", "called_back", "follow_up_due", "never_contacted", "quiet"]


def worklist_data(*, clinic, rng: random.Random, total: int, caseload: int, navigators: int):
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
        ResultFollowUp,
        Role,
        User,
    )
    from outreach.models import ContactAttempt, FollowUpReminder
    from patients.models import (
        FollowUpPathway,
        Patient,
        ScreeningEvent,
        ScreeningModality,
        ScreeningProgram,
    )

    now = timezone.now()
    today = timezone.localdate()
    programs = list(ScreeningProgram.objects.order_by("pk"))
    colorectal = next(p for p in programs if p.code == "colorectal")
    fit = ScreeningModality.objects.get(program=colorectal, code="fit")
    abnormal_pathway = FollowUpPathway.objects.select_related("category").get(
        program=colorectal, category__meaning="abnormal", modality=None
    )
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
                    category=abnormal_pathway.category,
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
    # The abnormal result rule reads the follow-up a result opens (ResultFollowUp), as
    # recording a result through the app does; its colonoscopy not booked yet.
    ResultFollowUp.objects.bulk_create(
        [
            ResultFollowUp(
                case=screening.case,
                screening=screening,
                pathway=abnormal_pathway,
                kind=abnormal_pathway.kind,
                next_step=abnormal_pathway.next_step,
                next_modality=abnormal_pathway.next_modality,
                result_on=screening.performed_on,
                due_on=screening.performed_on + dt.timedelta(days=abnormal_pathway.target_days),
            )
            for screening in screenings
            if screening.case is not None and screening.case.pk in abnormal
        ]
    )
    FollowUpReminder.objects.bulk_create(reminders)
    control_data(rng=rng, facilitator_id=users[-1].pk)
    with connection.cursor() as cursor:
        # Fresh bulk loads have no planner statistics yet; a live database would.
        cursor.execute("ANALYZE")
    return me, kinds


def control_data(*, rng: random.Random, facilitator_id: int) -> None:
    """The diabetes control cases' facts the worklist's control rules read (issue 16):
    a care gap for nine in ten of the programme's patients (untested, poor control,
    above target, at target; labs over the last 18 months), individual coaching
    sessions for a third of the cases, and a group series per language with a roster
    and attendance for a quarter of them."""
    from django.utils import timezone

    from navigator.models import (
        CoachingSession,
        GroupAttendance,
        GroupEnrolment,
        GroupSeries,
        GroupSession,
        NavigationCase,
    )
    from patients.models import CareGap, ScreeningProgram

    now = timezone.now()
    today = timezone.localdate()
    diabetes = ScreeningProgram.objects.filter(code="diabetes").first()
    if diabetes is None:  # pragma: no cover - seeded by patients' migration 0031
        return
    cases = list(
        NavigationCase.objects.filter(program=diabetes).values_list(
            "pk", "patient_id", "navigator__user_id", "patient__preferred_language"
        )
    )
    gaps, sessions = [], []
    for case_id, patient_id, user_id, language in cases:
        if rng.random() < 0.9:
            last = today - dt.timedelta(days=rng.randint(5, 540))
            value = rng.choice([6.8, 7.4, 8.3, 8.9, 9.6, 11.2])
            if last.year < today.year:
                status = "untested"
            else:
                status = (
                    "poor_control" if value > 9 else "above_target" if value >= 8 else "at_target"
                )
            months = 6 if value < 8 else 3
            gaps.append(
                CareGap(
                    patient_id=patient_id,
                    program=diabetes,
                    status=status,
                    as_of=today,
                    summary="bench",
                    evidence=[{"what": "lab", "value": f"{value}", "unit": "%"}],
                    last_screening_on=last,
                    next_due_on=last + dt.timedelta(days=30 * months),
                    rule_version=1,
                )
            )
        if rng.random() < 0.33:
            for _ in range(rng.randint(1, 4)):
                sessions.append(
                    CoachingSession(
                        case_id=case_id,
                        patient_id=patient_id,
                        coach_id=user_id,
                        created_by_id=user_id,
                        scheduled_at=now + dt.timedelta(hours=rng.randint(-24 * 120, 24 * 30)),
                        status=rng.choice(["attended", "attended", "missed", "cancelled"]),
                        language=language,
                    )
                )
    CareGap.objects.bulk_create(gaps, ignore_conflicts=True)
    CoachingSession.objects.bulk_create(sessions)

    series = {
        language: GroupSeries.objects.create(
            program=diabetes,
            name=f"Bench series {language}",
            curriculum="bench",
            language=language,
            facilitator_id=facilitator_id,
            location="Bench room",
            capacity=20,
            created_by_id=facilitator_id,
        )
        for language in sorted({case[3] for case in cases})
    }
    meetings = {
        language: GroupSession.objects.bulk_create(
            [
                GroupSession(series=one, number=n, starts_at=now + dt.timedelta(days=7 * n - 28))
                for n in range(1, 9)
            ]
        )
        for language, one in series.items()
    }
    enrolled = [case for case in cases if rng.random() < 0.25]
    enrolments = GroupEnrolment.objects.bulk_create(
        [
            GroupEnrolment(
                series=series[language],
                case_id=case_id,
                patient_id=patient_id,
                enrolled_by_id=facilitator_id,
            )
            for case_id, patient_id, _, language in enrolled
        ]
    )
    marks = []
    for enrolment, (_, _, _, language) in zip(enrolments, enrolled, strict=True):
        for meeting in meetings[language]:
            if meeting.starts_at > now:
                break
            status = rng.choice(["attended", "attended", "attended", "absent", "excused"])
            marks.append(
                GroupAttendance(
                    session=meeting,
                    enrolment=enrolment,
                    patient_id=enrolment.patient_id,
                    status=status,
                    minutes=90 if status == "attended" else 0,
                    recorded_by_id=facilitator_id,
                )
            )
    GroupAttendance.objects.bulk_create(marks)
