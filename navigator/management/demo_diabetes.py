"""The diabetes control programme's demo (issue 16; used by the seed_demo command through
`demo_equity.population_story`): cases, individual coaching and group classes for the
demo population's patients with diabetes, whose labs `patients.demo_diabetes` wrote
(its docstring has the story and its intended figures: CMS122's gap between
Spanish-speaking Hispanic or Latino patients and the others narrows from 25 points to
about 7 as coaching in Spanish starts).

Everything goes through the real paths, done today and then moved back to its day
(as `demo_equity` and `demo_timeline` do; seed_demo lets the timeline be rewritten):

- each coached patient's case opens from the care gap on the day the story says,
  through the engine's own opening service (`cases_open_many`, as the nightly
  care-gap run); today's diabetes gaps without a case open the same way, today;
- individual sessions are booked, then attended, missed or cancelled, with ADCES7
  topics and goals set and reviewed (`navigator.services.coaching`);
- two Spanish-language series of one curriculum (last spring's, all past; this
  autumn's, four sessions past and two ahead) and an English one, their rosters,
  attendance with absences, and a make-up of a spring session in the autumn series
  (`navigator.services.group_classes`).

Who coaches and facilitates: `COACHES`, by language (one line to change once the
demo has coach users).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from contextlib import contextmanager

from django.db.models import Max
from django.utils import timezone

from navigator.models import (
    OPEN_STATUSES,
    AttendanceStatus,
    CaseEvent,
    CoachingGoal,
    CoachingSession,
    CoachingSessionStatus,
    EnrolmentStatus,
    GoalOutcome,
    GroupAttendance,
    GroupEnrolment,
    GroupSeries,
    GroupSession,
    NavigationCase,
    SelfCareBehaviour,
    User,
)
from navigator.services import coaching, group_classes
from navigator.services.case_opening import cases_open_many
from patients.demo_diabetes import IMPROVED, DiabetesPlan
from patients.models import GAP_STATUSES, CareGap, CareGapStatus, Patient, ScreeningProgram

# Who coaches patients of each language and leads its group classes (the demo's
# navigators for now: María speaks Spanish). Once the demo has users of the coach
# role, name them here: nothing else changes.
COACHES = {"es": "maria", "pt": "ana", "ht": "jean", "vi": "linh", "zh": "wei", "en": "sam"}
CURRICULUM = "dsmes-basics"
ROSTER = 8  # patients enrolled in each demo series (of 12 seats)
# The curriculum's six weekly sessions, 90 minutes each (9 hours: Medicare's first-year
# group allowance), and the ADCES7 behaviours each teaches.
SESSION_TOPICS = (
    ("healthy_eating", "monitoring"),
    ("being_active",),
    ("taking_medication", "monitoring"),
    ("problem_solving",),
    ("healthy_coping",),
    ("reducing_risks",),
)
GOALS = {
    "healthy_eating": "Water instead of soda at lunch and dinner",
    "being_active": "Walk 20 minutes after dinner, five days a week",
    "monitoring": "Check fasting glucose every morning and write it down",
    "taking_medication": "Take metformin with breakfast and dinner every day",
    "problem_solving": "Plan what to do when glucose is under 70",
    "healthy_coping": "Call a friend or pray when stress builds up",
    "reducing_risks": "Book the eye exam and look at the feet every night",
}


def coach(language: str) -> User:
    return User.objects.get(username=COACHES.get(language, COACHES["en"]))


def at(day: dt.date, hour: int = 10, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=timezone.get_current_timezone())


@contextmanager
def dated(when: dt.datetime) -> Iterator[None]:
    """What the block records on the timeline is dated `when` (it was done today)."""
    before = CaseEvent.objects.aggregate(last=Max("pk"))["last"] or 0
    yield
    CaseEvent.objects.filter(pk__gt=before).update(at=when)


def diabetes_story(*, plans: dict[int, DiabetesPlan], today: dt.date, seed: int) -> str:
    """Cases, sessions and classes for `plans` ({patient id: plan}); what it made, in words."""
    rng = random.Random(seed)  # noqa: S311 - synthetic demo data
    program = ScreeningProgram.objects.get(code="diabetes")
    cases = _coached_cases(plans, program)
    sessions = sum(_individual_sessions(case, plans[case.patient_id], rng, today) for case in cases)
    series = _group_classes(cases, plans, program, rng, today)
    opened = _todays_gaps(program)
    return (
        f"{len(plans)} patients with diabetes ({len(cases)} coached, {sessions} individual "
        f"sessions, {series} group series; {opened} cases opened from today's gaps)"
    )


def _coached_cases(
    plans: dict[int, DiabetesPlan], program: ScreeningProgram
) -> list[NavigationCase]:
    """Each coached patient's case, opened from the care gap on its day by the
    engine's opening service, oldest first."""
    coached = sorted(
        (plan.coached_from, pk) for pk, plan in plans.items() if plan.coached_from is not None
    )
    patients = Patient.objects.select_related("clinic").in_bulk([pk for _, pk in coached])
    before = CaseEvent.objects.aggregate(last=Max("pk"))["last"] or 0
    opened = cases_open_many(
        openings=[
            (patients[pk], program, f"care gap: {CareGapStatus(plans[pk].status_on(day)).label}")
            for day, pk in coached
        ],
        actor=None,
    )
    # Each moved back to its day (opened, assigned: one UPDATE per case and table).
    for (day, _), case in zip(coached, opened, strict=True):
        NavigationCase.objects.filter(pk=case.pk).update(opened_at=at(day, 7), next_follow_up=None)
        CaseEvent.objects.filter(case_id=case.pk, pk__gt=before).update(at=at(day, 7))
    return list(
        NavigationCase.objects.select_related("patient")
        .filter(pk__in=[case.pk for case in opened])
        .order_by("opened_at", "pk")
    )


def _individual_sessions(
    case: NavigationCase, plan: DiabetesPlan, rng: random.Random, today: dt.date
) -> int:
    """Four sessions from the case's opening: the first sets two goals, later ones
    review them and set new ones. An improving patient mostly comes; one who is not
    mostly misses. Some have their next session booked in the coming weeks."""
    language = case.patient.preferred_language or "en"
    who = coach(language)
    improving = plan.course == IMPROVED
    opened = timezone.localtime(case.opened_at).date()
    offsets = (rng.randint(7, 14), rng.randint(28, 35), rng.randint(56, 70), rng.randint(100, 120))
    behaviours = list(SelfCareBehaviour.values)
    open_goals: list[CoachingGoal] = []
    made = 0
    for number, offset in enumerate(offsets):
        day = opened + dt.timedelta(days=offset)
        if day >= today:
            break
        if number == 0:
            status = CoachingSessionStatus.ATTENDED
        elif rng.random() < 0.12:
            status = CoachingSessionStatus.CANCELLED
        elif rng.random() < (0.15 if improving else 0.6):
            status = CoachingSessionStatus.MISSED
        else:
            status = CoachingSessionStatus.ATTENDED
        topics = rng.sample(behaviours, k=2)
        session = _past_session(case, who, at(day, 16, 30), topics, language, status)
        made += 1
        if status != CoachingSessionStatus.ATTENDED:
            continue
        with dated(at(day, 17, 30)):
            for goal in open_goals:
                outcome = rng.choice(
                    [GoalOutcome.MET, GoalOutcome.PARTLY_MET]
                    if improving
                    else [GoalOutcome.PARTLY_MET, GoalOutcome.NOT_MET]
                )
                coaching.coaching_goal_review(
                    goal=goal, session=session, outcome=outcome, actor=who
                )
            open_goals = [
                coaching.coaching_goal_set(
                    session=session, text=GOALS[behaviour], behaviour=behaviour, actor=who
                )
                for behaviour in topics[: 2 if number == 0 else 1]
            ]
    if rng.random() < 0.3:
        # The next one, ahead: booked today, its reminders scheduled.
        coaching.coaching_session_book(
            case=case.pk,
            scheduled_at=at(today + dt.timedelta(days=rng.randint(3, 20)), 16, 30),
            actor=who,
            coach=who,
            topics=rng.sample(behaviours, k=2),
            language=language,
        )
        made += 1
    return made


def _past_session(
    case: NavigationCase,
    who: User,
    when: dt.datetime,
    topics: list[str],
    language: str,
    status: str,
) -> CoachingSession:
    """Booked a week before, then what became of it, on its day."""
    booked_on = when - dt.timedelta(days=7)
    with dated(booked_on):
        session = coaching.coaching_session_book(
            case=case.pk,
            scheduled_at=timezone.now() + dt.timedelta(days=1),
            actor=who,
            coach=who,
            topics=topics,
            language=language,
        )
    CoachingSession.objects.filter(pk=session.pk).update(scheduled_at=when, created_at=booked_on)
    with dated(when + dt.timedelta(hours=1)):
        return coaching.coaching_session_set_status(
            session=session.pk, status=status, actor=who, minutes_spent=None
        )


def _group_classes(
    cases: list[NavigationCase],
    plans: dict[int, DiabetesPlan],
    program: ScreeningProgram,
    rng: random.Random,
    today: dt.date,
) -> int:
    """Last spring's Spanish series, this autumn's, and an English one running now."""
    manager = User.objects.get(username="manager")
    spanish = [c for c in cases if c.patient.preferred_language == "es"]
    english = [c for c in cases if c.patient.preferred_language == "en"]
    # Weekly: last spring's all past; this autumn's four past and two ahead (the fourth
    # four days ago, the fifth in three); the English one three past.
    spring_start = today - dt.timedelta(days=240)
    autumn_start = today - dt.timedelta(days=25)
    # Whose case was open three weeks before the series' start: the earlier ones in spring.
    ready = [c for c in spanish if c.opened_at.date() + dt.timedelta(days=21) <= spring_start]
    spring_roster = ready[: max(2, len(ready) // 2)][:ROSTER]
    autumn_roster = [c for c in spanish if c not in spring_roster][:ROSTER]
    spring = _series(
        program, manager, "Diabetes: tomando el control (primavera)", "es",
        "Chelsea Community Health Center, community room", "", spring_start,
    )  # fmt: skip
    autumn = _series(
        program, manager, "Diabetes: tomando el control (otoño)", "es",
        "Revere Family Medicine, room B", "https://video.equinav.example/dsmes-es",
        autumn_start,
    )  # fmt: skip
    living = _series(
        program, manager, "Living well with diabetes", "en", "",
        "https://video.equinav.example/dsmes-en", today - dt.timedelta(days=19),
    )  # fmt: skip
    made_up = _roster(spring, spring_roster, rng, today, makeup_at=4)
    _roster(autumn, autumn_roster, rng, today)
    _roster(living, english[:ROSTER], rng, today)
    if made_up is not None:
        enrolment, missed = made_up
        autumn_fourth = autumn.sessions.get(number=4)
        if autumn_fourth.starts_at <= timezone.now():
            with dated(autumn_fourth.starts_at + dt.timedelta(minutes=95)):
                group_classes.group_attendance_record(
                    session=autumn_fourth, enrolment=enrolment, status=AttendanceStatus.ATTENDED,
                    actor=autumn.facilitator, makeup_for=missed,
                )  # fmt: skip
            _completed(enrolment, autumn_fourth.starts_at + dt.timedelta(hours=2))
    return 3


def _series(
    program: ScreeningProgram,
    manager: User,
    name: str,
    language: str,
    location: str,
    video_link: str,
    first_day: dt.date,
) -> GroupSeries:
    """The series and its six weekly sessions at 17:30, set up a month before it starts."""
    series = group_classes.group_series_create(
        program=program, name=name, curriculum=CURRICULUM, language=language,
        facilitator=coach(language), capacity=12, actor=manager, location=location,
        video_link=video_link,
    )  # fmt: skip
    GroupSeries.objects.filter(pk=series.pk).update(
        created_at=at(first_day - dt.timedelta(days=30))
    )
    for number, topics in enumerate(SESSION_TOPICS, start=1):
        starts_at = at(first_day + dt.timedelta(weeks=number - 1), 17, 30)
        session = group_classes.group_session_add(
            series=series, number=number, actor=manager, topics=topics,
            starts_at=max(starts_at, timezone.now() + dt.timedelta(hours=1)),
        )  # fmt: skip
        GroupSession.objects.filter(pk=session.pk).update(starts_at=starts_at)
    return series


def _roster(
    series: GroupSeries,
    roster: list[NavigationCase],
    rng: random.Random,
    today: dt.date,
    makeup_at: int | None = None,
) -> tuple[GroupEnrolment, GroupSession] | None:
    """Enrol the cases two weeks before the first session; take attendance at each past
    session (most come; some absent, a few excused). With `makeup_at`, the first patient
    misses that session, to make it up in another series; the rest complete a series
    whose sessions are all past. Answers (the first's enrolment, the session missed)."""
    sessions = list(series.sessions.order_by("number"))
    first = sessions[0].starts_at
    enrolments = []
    for case in roster:
        with dated(first - dt.timedelta(days=14)):
            enrolment = group_classes.group_enrol(
                case=case.pk, series=series, actor=series.facilitator
            )
        GroupEnrolment.objects.filter(pk=enrolment.pk).update(
            enrolled_at=first - dt.timedelta(days=14)
        )
        enrolments.append(enrolment)
    made_up = None
    for session in sessions:
        if session.starts_at > timezone.now():
            break
        for index, enrolment in enumerate(enrolments):
            if makeup_at is not None and index == 0 and session.number == makeup_at:
                status = AttendanceStatus.ABSENT
                made_up = (enrolment, session)
            else:
                draw = rng.random()
                status = (
                    AttendanceStatus.ABSENT
                    if draw < 0.12
                    else AttendanceStatus.EXCUSED
                    if draw < 0.18
                    else AttendanceStatus.ATTENDED
                )
            recorded = session.starts_at + dt.timedelta(minutes=95)
            with dated(recorded):
                attendance = group_classes.group_attendance_record(
                    session=session, enrolment=enrolment, status=status, actor=series.facilitator
                )
            GroupAttendance.objects.filter(pk=attendance.pk).update(recorded_at=recorded)
    if sessions[-1].starts_at <= timezone.now():
        for index, enrolment in enumerate(enrolments):
            if made_up is None or index != 0:
                _completed(enrolment, sessions[-1].starts_at + dt.timedelta(hours=2))
    return made_up


def _completed(enrolment: GroupEnrolment, when: dt.datetime) -> None:
    with dated(when):
        group_classes.group_enrolment_set_status(
            enrolment=enrolment.pk, status=EnrolmentStatus.COMPLETED,
            actor=enrolment.series.facilitator,
        )  # fmt: skip
    GroupEnrolment.objects.filter(pk=enrolment.pk).update(ended_at=when)


def _todays_gaps(program: ScreeningProgram) -> int:
    """A case for each patient in a diabetes gap today without one open: what the
    nightly care-gap run opens (navigator.intake.care_gaps), through the same service."""
    with_case = NavigationCase.objects.filter(program=program, status__in=OPEN_STATUSES)
    gaps = (
        CareGap.objects.filter(program=program, status__in=GAP_STATUSES)
        .exclude(patient_id__in=with_case.values("patient_id"))
        .select_related("patient__clinic")
        .order_by("patient_id")
    )
    openings = [(gap.patient, program, f"care gap: {gap.summary}") for gap in gaps]
    return len(cases_open_many(openings=openings, actor=None))
