"""Individual coaching sessions of a case (issue 16): booking one, recording what
became of it (attended with the minutes spent, missed, cancelled), and the goals set
in one session and reviewed in a later one. Each write locks the case first (the
case kernel), then the session, and writes the case's timeline; booking schedules
the patient's reminders and, where the patient needs one, requests an interpreter
the way an appointment does (`outreach.services.interpreters`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from navigator.cases import (
    TOO_FAR_AHEAD,
    StaleCaseError,
    actor_name,
    case_ensure_open,
    case_lock,
    event_record,
    too_far_ahead,
)
from navigator.models import (
    COACHING_SESSION_MOVES,
    MAX_SESSION_MINUTES,
    CaseEventKind,
    CoachingGoal,
    CoachingSession,
    CoachingSessionStatus,
    GoalOutcome,
    NavigationCase,
    NavigatorProfile,
    SelfCareBehaviour,
    User,
)
from outreach.messaging.patient_reminders import (
    coaching_session_reminders_schedule,
    coaching_session_subject,
)
from outreach.messaging.stops import messages_cancel_pending
from outreach.models import InterpreterModality
from outreach.services.interpreters import interpreter_request_create
from patients.languages import is_language_code, language_name


def coaching_topics_clean(topics: Iterable[str]) -> list[str]:
    """The topics as ADCES7 behaviours in ADCES's order, each once; ValidationError
    naming any that is not one."""
    chosen = list(dict.fromkeys(topics))
    unknown = [topic for topic in chosen if topic not in SelfCareBehaviour.values]
    if unknown:
        raise ValidationError(
            {"topics": f"Not an ADCES7 self-care behaviour: {', '.join(map(str, unknown))}."}
        )
    return [value for value in SelfCareBehaviour.values if value in chosen]


def session_minutes_check(minutes: int, field: str) -> None:
    if not 1 <= minutes <= MAX_SESSION_MINUTES:
        raise ValidationError({field: f"Between 1 and {MAX_SESSION_MINUTES} minutes."})


def _needs_interpreter(case: NavigationCase, session: CoachingSession) -> bool:
    patient = case.patient
    if not (case.needs_interpreter or patient.interpreter_needed):
        return False
    profile = NavigatorProfile.objects.filter(user_id=session.coach_id).first()
    coach_speaks = profile is not None and patient.preferred_language in profile.languages
    return not (coach_speaks and session.language == patient.preferred_language)


class DuplicateCoachingSessionError(ValidationError):
    """The case already has a session (not cancelled) at that very time: the booking
    is the same one sent again (a client's retry, a form submitted twice), and
    `existing` is the session it booked. The API answers it as a conflict (409)."""

    def __init__(self, existing: CoachingSession) -> None:
        local = timezone.localtime(existing.scheduled_at)
        super().__init__(
            {
                "scheduled_at": (
                    f"This case already has a coaching session at {local:%Y-%m-%d %H:%M} "
                    f"(session #{existing.pk}, {existing.get_status_display().lower()}); "
                    "nothing was booked. Open that session, or choose another time."
                )
            },
            code="duplicate",
        )
        self.existing = existing


def _same_booking(case_id: int, scheduled_at: dt.datetime) -> CoachingSession | None:
    """The case's session at exactly that time, unless cancelled (a cancelled one's
    time may be booked again)."""
    return (
        CoachingSession.objects.filter(case_id=case_id, scheduled_at=scheduled_at)
        .exclude(status=CoachingSessionStatus.CANCELLED)
        .order_by("pk")
        .first()
    )


def coaching_session_book(
    *,
    case: NavigationCase | int,
    scheduled_at: dt.datetime,
    actor: User,
    coach: User | None = None,
    duration_minutes: int = 60,
    topics: Iterable[str] = (),
    language: str = "",
    interpreter_modality: str = InterpreterModality.PHONE,
    note: str = "",
    expected_version: int | None = None,
) -> CoachingSession:
    """Book an individual session for the case's patient, in their language unless
    another is given (default: the patient's spoken language). Where the patient (or
    the case) needs an interpreter, one in the patient's language is requested with
    it (`interpreter_modality`), through the same service as for an appointment -
    unless the session is in that language and the coach speaks it (their navigator
    profile's languages).

    The same booking again (the case's session at that very time, not cancelled) is
    refused with DuplicateCoachingSessionError naming it, and writes nothing: checked
    under the case's row lock, so two copies sent at once cannot both book."""
    topics = coaching_topics_clean(topics)
    session_minutes_check(duration_minutes, "duration_minutes")
    language = (language or "").strip().lower()
    if language and not is_language_code(language):
        raise ValidationError({"language": f"“{language}” is not an ISO 639 language code."})
    if scheduled_at <= timezone.now():
        raise ValidationError({"scheduled_at": "A session must be in the future."})
    if too_far_ahead(timezone.localtime(scheduled_at).date()):
        raise ValidationError({"scheduled_at": TOO_FAR_AHEAD})
    with transaction.atomic():
        case_id = case if isinstance(case, int) else case.pk
        try:
            case = case_lock(case, expected_version=expected_version)
        except StaleCaseError:
            # The row is locked now. A retry carrying the version the first copy was
            # sent with is stale because that copy booked: say which session it booked.
            existing = _same_booking(case_id, scheduled_at)
            if existing is not None:
                raise DuplicateCoachingSessionError(existing) from None
            raise
        case_ensure_open(case)
        existing = _same_booking(case.pk, scheduled_at)
        if existing is not None:
            raise DuplicateCoachingSessionError(existing)
        if not case.program.is_control:
            # A screening case has no coaching (the case page refuses it too): through
            # the API it would count as DSMT hours of a programme that has none.
            raise ValidationError(
                {"case": f"{case.program.label} has no coaching; book it on a control case."}
            )
        patient = case.patient
        session = CoachingSession.objects.create(
            case=case,
            patient=patient,
            coach=coach or actor,
            scheduled_at=scheduled_at,
            duration_minutes=duration_minutes,
            topics=topics,
            language=language or patient.preferred_language,
            note=note,
            created_by=actor,
        )
        local = timezone.localtime(scheduled_at)
        event_record(
            case=case,
            kind=CaseEventKind.COACHING_BOOKED,
            actor=actor,
            summary=f"Coaching session {local:%Y-%m-%d %H:%M}, {duration_minutes} min, "
            f"in {language_name(session.language)} with {actor_name(session.coach)}",
            data={
                "coaching_session": session.pk,
                "scheduled_at": scheduled_at.isoformat(),
                "language": session.language,
                "topics": topics,
            },
        )
        if _needs_interpreter(case, session):
            # The same request as for an appointment: on the timeline, tracked to done.
            interpreter_request_create(
                case=case,
                modality=interpreter_modality,
                needed_at=scheduled_at,
                actor=actor,
                language=patient.preferred_language,
                coaching_session=session,
            )
        coaching_session_reminders_schedule(session=session)
        return session


def coaching_session_set_status(
    *,
    session: CoachingSession | int,
    status: str,
    actor: User,
    minutes_spent: int | None = None,
    topics: Iterable[str] | None = None,
    expected_version: int | None = None,
) -> CoachingSession:
    """Record what became of a scheduled session: attended (with the minutes of
    education actually given, the session's length unless told), missed or
    cancelled. Attended and missed only once it has begun. The same status again
    changes nothing."""
    if status not in CoachingSessionStatus.values or status == CoachingSessionStatus.SCHEDULED:
        raise ValidationError({"status": f"“{status}” is not a session outcome."})
    if minutes_spent is not None:
        if status != CoachingSessionStatus.ATTENDED:
            raise ValidationError({"minutes_spent": "Minutes are for an attended session."})
        session_minutes_check(minutes_spent, "minutes_spent")
    cleaned_topics = None if topics is None else coaching_topics_clean(topics)
    with transaction.atomic():
        session_id = session if isinstance(session, int) else session.pk
        case_id = CoachingSession.objects.values_list("case_id", flat=True).get(pk=session_id)
        # Lock order: the case, then its session.
        case = case_lock(case_id, expected_version=expected_version)
        session = CoachingSession.objects.select_for_update().get(pk=session_id)
        if session.status == status:
            return session
        if status not in COACHING_SESSION_MOVES[session.status]:
            raise ValidationError(
                {"status": f"This session is already {session.get_status_display().lower()}."},
                code="illegal_transition",
            )
        case_ensure_open(case)
        if status != CoachingSessionStatus.CANCELLED and session.scheduled_at > timezone.now():
            raise ValidationError(
                {
                    "status": "Whether the session was attended can be known only once it "
                    "has begun. Cancel it, or book another to move it."
                },
                code="not_yet",
            )
        old = session.status
        session.status = status
        fields = ["status", "updated_at"]
        if status == CoachingSessionStatus.ATTENDED:
            session.minutes_spent = minutes_spent or session.duration_minutes
            fields.append("minutes_spent")
        if cleaned_topics is not None and cleaned_topics != session.topics:
            session.topics = cleaned_topics
            fields.append("topics")
        session.save(update_fields=fields)
        messages_cancel_pending(
            subject_key=coaching_session_subject(session.pk),
            reason=f"coaching session {session.get_status_display().lower()}",
        )
        spent = f", {session.minutes_spent} min" if session.minutes_spent else ""
        event_record(
            case=case,
            kind=CaseEventKind.COACHING_UPDATED,
            actor=actor,
            summary=f"Coaching session {timezone.localtime(session.scheduled_at):%Y-%m-%d}: "
            f"{session.get_status_display().lower()}{spent}",
            data={
                "coaching_session": session.pk,
                "from": old,
                "to": status,
                "minutes_spent": session.minutes_spent,
            },
        )
        return session


def coaching_goal_set(
    *,
    session: CoachingSession | int,
    text: str,
    behaviour: str,
    actor: User,
    expected_version: int | None = None,
) -> CoachingGoal:
    """A goal the patient set in an attended session, for one ADCES7 behaviour."""
    text = text.strip()
    errors = {}
    if not text:
        errors["text"] = "Say what the goal is."
    if behaviour not in SelfCareBehaviour.values:
        errors["behaviour"] = f"“{behaviour}” is not an ADCES7 self-care behaviour."
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        session_id = session if isinstance(session, int) else session.pk
        case_id = CoachingSession.objects.values_list("case_id", flat=True).get(pk=session_id)
        case = case_lock(case_id, expected_version=expected_version)
        case_ensure_open(case)
        session = CoachingSession.objects.get(pk=session_id)
        if session.status != CoachingSessionStatus.ATTENDED:
            raise ValidationError({"session": "Goals are set in a session the patient attended."})
        goal = CoachingGoal.objects.create(
            case=case, patient_id=session.patient_id, text=text[:300], behaviour=behaviour,
            set_in=session,
        )  # fmt: skip
        event_record(
            case=case,
            kind=CaseEventKind.GOAL_SET,
            actor=actor,
            summary=f"Goal set ({SelfCareBehaviour(behaviour).label.lower()})",
            data={"goal": goal.pk, "coaching_session": session.pk, "behaviour": behaviour},
        )
        return goal


def coaching_goal_review(
    *,
    goal: CoachingGoal | int,
    session: CoachingSession | int,
    outcome: str,
    actor: User,
    expected_version: int | None = None,
) -> CoachingGoal:
    """Review a goal in a later attended session of the same case: met, partly met or
    not met. The same review again changes nothing; a reviewed goal is not reviewed
    again (set a new one)."""
    if outcome not in GoalOutcome.values:
        raise ValidationError({"outcome": f"“{outcome}” is not a goal outcome."})
    with transaction.atomic():
        goal_id = goal if isinstance(goal, int) else goal.pk
        case_id = CoachingGoal.objects.values_list("case_id", flat=True).get(pk=goal_id)
        case = case_lock(case_id, expected_version=expected_version)
        case_ensure_open(case)
        goal = CoachingGoal.objects.select_for_update().select_related("set_in").get(pk=goal_id)
        session_id = session if isinstance(session, int) else session.pk
        session = CoachingSession.objects.get(pk=session_id)
        if goal.reviewed_in_id == session.pk and goal.outcome == outcome:
            return goal
        if not goal.is_open:
            raise ValidationError({"goal": "This goal was already reviewed; set a new one."})
        if session.case_id != case.pk:
            raise ValidationError({"session": "This session is not one of this case's."})
        if session.status != CoachingSessionStatus.ATTENDED:
            raise ValidationError({"session": "Goals are reviewed in a session attended."})
        if session.scheduled_at <= goal.set_in.scheduled_at:
            raise ValidationError({"session": "A goal is reviewed in a later session."})
        goal.reviewed_in = session
        goal.outcome = outcome
        goal.save(update_fields=["reviewed_in", "outcome"])
        event_record(
            case=case,
            kind=CaseEventKind.GOAL_REVIEWED,
            actor=actor,
            summary=f"Goal reviewed ({goal.get_behaviour_display().lower()}): "
            f"{GoalOutcome(outcome).label.lower()}",
            data={"goal": goal.pk, "coaching_session": session.pk, "from": "", "to": outcome},
        )
        return goal
