"""Group class series (issue 16): a manager sets up a series and its sessions; a
navigator or coach enrols a case's patient (capacity enforced under the series' row
lock, so two enrolments at once cannot overfill it); the facilitator or a manager
takes attendance, make-ups included.

Lock order: the case, then the series, then the enrolment (every path that meets
agrees on it). Reminders for the series' upcoming sessions are scheduled by a worker
once the enrolment or the new session commits (`outreach.tasks.schedule_group_reminders`,
which may run twice: the messages are made once).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from config.enqueue import enqueue_on_commit
from navigator.cases import case_ensure_open, case_lock, event_record
from navigator.models import (
    ENROLMENT_MOVES,
    GROUP_MAX_CAPACITY,
    GROUP_MIN_CAPACITY,
    AttendanceStatus,
    CaseEventKind,
    EnrolmentStatus,
    GroupAttendance,
    GroupEnrolment,
    GroupSeries,
    GroupSession,
    NavigationCase,
    User,
)
from navigator.permissions import ensure_manager
from navigator.services.coaching import coaching_topics_clean, session_minutes_check
from outreach.messaging.patient_reminders import group_session_subject
from outreach.messaging.stops import messages_cancel_pending
from patients.languages import is_language_code
from patients.models import ScreeningProgram

REMINDER_TASK = "outreach.tasks.schedule_group_reminders"


def group_series_create(
    *,
    program: ScreeningProgram,
    name: str,
    curriculum: str,
    language: str,
    facilitator: User,
    capacity: int,
    actor: User,
    location: str = "",
    video_link: str = "",
) -> GroupSeries:
    """A new class series (a manager's). Capacity 2 to 20: Medicare's group size for
    DSMT (42 CFR 410.141(c)(1)(ii)); a place or a video link, or both."""
    ensure_manager(actor, "set up a group class series")
    errors = {}
    if not program.is_control:
        errors["program"] = not_a_control_programme(program)
    if not name.strip():
        errors["name"] = "Name the series."
    if not is_language_code(language):
        errors["language"] = f"“{language}” is not an ISO 639 language code."
    if not GROUP_MIN_CAPACITY <= capacity <= GROUP_MAX_CAPACITY:
        errors["capacity"] = (
            f"A group has {GROUP_MIN_CAPACITY} to {GROUP_MAX_CAPACITY} patients "
            "(Medicare's DSMT group size)."
        )
    if not location.strip() and not video_link.strip():
        errors["location"] = "Give a place, a video link, or both."
    if not facilitator.is_active:
        errors["facilitator"] = "The facilitator's account is not active."
    if errors:
        raise ValidationError(errors)
    return GroupSeries.objects.create(
        program=program,
        name=name.strip(),
        curriculum=curriculum,
        language=language,
        facilitator=facilitator,
        location=location.strip(),
        video_link=video_link.strip(),
        capacity=capacity,
        created_by=actor,
    )


def not_a_control_programme(program: ScreeningProgram) -> str:
    """Why a screening programme has no class series: group classes are diabetes
    self-management education, a control programme's work (a screening loop closes
    with one test, and its cases have no DSMT hours)."""
    return (
        f"{program.label} is a screening programme: group classes are for control "
        "programmes (such as diabetes) only."
    )


def group_session_add(
    *,
    series: GroupSeries | int,
    number: int,
    starts_at: dt.datetime,
    actor: User,
    duration_minutes: int = 90,
    topics: Iterable[str] = (),
) -> GroupSession:
    """A meeting of the series (a manager's); its enrolled patients' reminders are
    scheduled once it commits."""
    ensure_manager(actor, "add a group class session")
    cleaned = coaching_topics_clean(topics)
    session_minutes_check(duration_minutes, "duration_minutes")
    if starts_at <= timezone.now():
        raise ValidationError({"starts_at": "A session must be in the future."})
    with transaction.atomic():
        series_id = series if isinstance(series, int) else series.pk
        series = GroupSeries.objects.select_for_update().get(pk=series_id)
        if series.sessions.filter(number=number).exists():
            raise ValidationError({"number": f"This series already has a session {number}."})
        session = GroupSession.objects.create(
            series=series,
            number=number,
            starts_at=starts_at,
            duration_minutes=duration_minutes,
            topics=cleaned,
        )
        enqueue_on_commit(REMINDER_TASK, session.pk)
        return session


def _seats_taken(series: GroupSeries) -> int:
    return series.enrolments.filter(status=EnrolmentStatus.ENROLLED).count()


def group_enrol(
    *,
    case: NavigationCase | int,
    series: GroupSeries | int,
    actor: User,
    expected_version: int | None = None,
) -> GroupEnrolment:
    """Enrol the case's patient in a series. The series' row is locked while its seats
    are counted, so two enrolments at once cannot take more seats than it has.
    Already enrolled: nothing changes. Withdrawn before: enrolled again, if there is
    room."""
    with transaction.atomic():
        case = case_lock(case, expected_version=expected_version)
        case_ensure_open(case)
        series_id = series if isinstance(series, int) else series.pk
        series = GroupSeries.objects.select_for_update().get(pk=series_id)
        if series.program_id != case.program_id:
            raise ValidationError({"series": f"This series is not one of {case.program}'s."})
        if not case.program.is_control:
            raise ValidationError({"series": not_a_control_programme(case.program)})
        enrolment = GroupEnrolment.objects.filter(series=series, patient_id=case.patient_id).first()
        if enrolment is not None and enrolment.status == EnrolmentStatus.ENROLLED:
            return enrolment
        if (
            enrolment is not None
            and EnrolmentStatus.ENROLLED not in ENROLMENT_MOVES[enrolment.status]
        ):
            raise ValidationError({"series": "The patient already completed this series."})
        if _seats_taken(series) >= series.capacity:
            raise ValidationError(
                {"series": f"{series.name} is full ({series.capacity} patients)."}, code="full"
            )
        now = timezone.now()
        if enrolment is None:
            enrolment = GroupEnrolment.objects.create(
                series=series, case=case, patient_id=case.patient_id, enrolled_by=actor,
                enrolled_at=now,
            )  # fmt: skip
            old = ""
        else:
            old = enrolment.status
            enrolment.status, enrolment.case, enrolment.ended_at = (
                EnrolmentStatus.ENROLLED, case, None,
            )  # fmt: skip
            enrolment.enrolled_at, enrolment.enrolled_by = now, actor
            enrolment.save(update_fields=["status", "case", "ended_at", "enrolled_at",
                                          "enrolled_by"])  # fmt: skip
        event_record(
            case=case,
            kind=CaseEventKind.GROUP_ENROLLED,
            actor=actor,
            summary=f"Enrolled in {series.name}",
            data={"enrolment": enrolment.pk, "series": series.pk, "from": old, "to": "enrolled"},
        )
        for session_id in series.sessions.filter(starts_at__gt=now).values_list("pk", flat=True):
            enqueue_on_commit(REMINDER_TASK, session_id)
        return enrolment


# Why an enrolment already ended one way cannot end the other (the status asked for).
ENDED_ALREADY: dict[str, str] = {
    EnrolmentStatus.WITHDRAWN: "The patient already completed the series; it cannot be "
    "withdrawn from now.",
    EnrolmentStatus.COMPLETED: "The patient was withdrawn from the series; it cannot be "
    "completed. Enrol them again to take a seat in it.",
}


def group_enrolment_set_status(
    *,
    enrolment: GroupEnrolment | int,
    status: str,
    actor: User,
    expected_version: int | None = None,
) -> GroupEnrolment:
    """Withdraw a patient (their pending reminders stop) or mark the series completed.
    The same end again changes nothing (a second click, a retry); the other end of an
    enrolment already ended is refused, saying why.

    A closed case (declined, unreachable, ineligible: moved, care transferred, died)
    keeps its patient's seat until someone ends the enrolment. Withdrawing them is
    allowed: in a class of 2 to 20 the seat is scarce, and freeing it for a patient
    who is being followed matters more than the closed case's stillness (the end is
    on its timeline, and any reminder left stops). Marking them as having completed
    the series is refused: completion is the programme's record that a patient it
    follows finished the education, and a case closed as declined, unreachable or
    ineligible is one the programme stopped following; the hours they attended stay
    counted from their attendance either way."""
    if status not in (EnrolmentStatus.WITHDRAWN, EnrolmentStatus.COMPLETED):
        raise ValidationError({"status": f"“{status}” is not an end of an enrolment."})
    with transaction.atomic():
        enrolment_id = enrolment if isinstance(enrolment, int) else enrolment.pk
        case_id = GroupEnrolment.objects.values_list("case_id", flat=True).get(pk=enrolment_id)
        case = case_lock(case_id, expected_version=expected_version)
        enrolment = (
            GroupEnrolment.objects.select_for_update().select_related("series").get(pk=enrolment_id)
        )
        if enrolment.case_id != case.pk:
            # Enrolled again through another case between the read and the lock.
            raise ValidationError(
                {"status": "This enrolment moved to another case meanwhile; reload the roster."}
            )
        if enrolment.status == status:
            return enrolment
        if status not in ENROLMENT_MOVES[enrolment.status]:
            raise ValidationError({"status": ENDED_ALREADY[status]}, code="illegal_transition")
        if status == EnrolmentStatus.COMPLETED and not case.is_open:
            raise ValidationError(
                {
                    "status": f"Case #{case.pk} is {case.get_status_display().lower()}: a "
                    "patient whose case has closed is withdrawn from the series (which "
                    "frees the seat), not marked as having completed it."
                },
                code="case_closed",
            )
        old = enrolment.status
        enrolment.status, enrolment.ended_at = status, timezone.now()
        enrolment.save(update_fields=["status", "ended_at"])
        # One UPDATE for the series' sessions, not one per session.
        messages_cancel_pending(
            subject_keys=[
                group_session_subject(session_id, enrolment.patient_id)
                for session_id in enrolment.series.sessions.values_list("pk", flat=True)
            ],
            reason=f"group class enrolment {enrolment.get_status_display().lower()}",
        )
        event_record(
            case=case,
            kind=CaseEventKind.GROUP_ENROLMENT_UPDATED,
            actor=actor,
            summary=f"{enrolment.series.name}: {enrolment.get_status_display().lower()}",
            data={"enrolment": enrolment.pk, "from": old, "to": status},
        )
        return enrolment


def _ensure_takes_attendance(actor: User, series: GroupSeries) -> None:
    allowed = actor.sees_all_cases or actor.pk == series.facilitator_id
    if not (actor.is_authenticated and allowed):
        raise PermissionDenied("Only the series' facilitator or a manager takes attendance.")


def group_attendance_record(
    *,
    session: GroupSession | int,
    enrolment: GroupEnrolment | int,
    status: str,
    actor: User,
    minutes: int | None = None,
    makeup_for: GroupSession | int | None = None,
) -> GroupAttendance:
    """Whether an enrolled patient came to a session (the minutes of education: the
    session's length unless told). A session of another series is attended only as a
    make-up: of the same curriculum, for a session of the patient's own series they
    did not attend (`makeup_for`). Recording it again with other values corrects it;
    with the same, changes nothing."""
    if status not in AttendanceStatus.values:
        raise ValidationError({"status": f"“{status}” is not an attendance status."})
    with transaction.atomic():
        enrolment_id = enrolment if isinstance(enrolment, int) else enrolment.pk
        case_id = GroupEnrolment.objects.values_list("case_id", flat=True).get(pk=enrolment_id)
        case = case_lock(case_id)
        enrolment = (
            GroupEnrolment.objects.select_for_update().select_related("series").get(pk=enrolment_id)
        )
        session_id = session if isinstance(session, int) else session.pk
        session = GroupSession.objects.select_related("series").get(pk=session_id)
        own_series = enrolment.series
        _ensure_takes_attendance(actor, session.series)
        if enrolment.status == EnrolmentStatus.WITHDRAWN:
            raise ValidationError({"enrolment": "The patient withdrew from this series."})
        if session.starts_at > timezone.now():
            raise ValidationError({"session": "Attendance is taken once the session has begun."})
        missed = None
        if makeup_for is not None:
            missed_id = makeup_for if isinstance(makeup_for, int) else makeup_for.pk
            missed = GroupSession.objects.get(pk=missed_id)
            if missed.series_id != own_series.pk:
                raise ValidationError({"makeup_for": "A make-up is for a session of their series."})
            if missed.pk == session.pk:
                raise ValidationError({"makeup_for": "A session cannot make up itself."})
            if status != AttendanceStatus.ATTENDED:
                raise ValidationError({"status": "A make-up is a session attended."})
            if GroupAttendance.objects.filter(
                enrolment=enrolment, session=missed, status=AttendanceStatus.ATTENDED
            ).exists():
                raise ValidationError({"makeup_for": "The patient attended that session."})
        if session.series_id != own_series.pk:
            if missed is None:
                raise ValidationError(
                    {"makeup_for": "A session of another series is attended as a make-up."}
                )
            if session.series.curriculum != own_series.curriculum:
                raise ValidationError({"session": "A make-up is a session of the same curriculum."})
        if status == AttendanceStatus.ATTENDED:
            minutes = session.duration_minutes if minutes is None else minutes
            session_minutes_check(minutes, "minutes")
        elif minutes:
            raise ValidationError({"minutes": "Minutes are for a session attended."})
        else:
            minutes = 0
        existing = GroupAttendance.objects.filter(session=session, enrolment=enrolment).first()
        old = None
        if existing is not None:
            if (existing.status, existing.minutes, existing.makeup_for_id) == (
                status, minutes, missed.pk if missed else None,
            ):  # fmt: skip
                return existing
            old = {"status": existing.status, "minutes": existing.minutes}
            existing.status, existing.minutes, existing.makeup_for = status, minutes, missed
            existing.recorded_by, existing.recorded_at = actor, timezone.now()
            existing.save(
                update_fields=["status", "minutes", "makeup_for", "recorded_by", "recorded_at"]
            )
            attendance = existing
        else:
            attendance = GroupAttendance.objects.create(
                session=session, enrolment=enrolment, patient_id=enrolment.patient_id,
                status=status, minutes=minutes, makeup_for=missed, recorded_by=actor,
            )  # fmt: skip
        makeup = f" (make-up for session {missed.number})" if missed else ""
        event_record(
            case=case,
            kind=CaseEventKind.GROUP_ATTENDANCE,
            actor=actor,
            summary=f"{session.series.name} session {session.number}: "
            f"{attendance.get_status_display().lower()}{makeup}",
            data={
                "attendance": attendance.pk,
                "session": session.pk,
                "from": old,
                "to": {"status": status, "minutes": minutes},
                "makeup_for": missed.pk if missed else None,
            },
        )
        return attendance
