"""Navigator tasks and manager escalations: created by rules, done by people.

The rules are data (TaskRule, per program); `case_tasks_scan` runs them (hourly, from
beat) and each finding becomes at most one CaseTask, because (kind, subject) is
unique: two beat processes, or a scan run twice at once, make no second task.
Events that need a person at once (a failed message, a text from the patient, a
message with no template in the patient's language) open their task directly.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, Max, OuterRef, QuerySet
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from navigator.cases import case_lock, event_record
from navigator.models import (
    OPEN_STATUSES,
    Appointment,
    AppointmentStatus,
    CaseEventKind,
    CaseStatus,
    FollowUpState,
    NavigationCase,
    ResultFollowUp,
    User,
)
from navigator.worklist.rules import follow_up_booked
from outreach.models import (
    ESCALATION_KINDS,
    CaseTask,
    ContactAttempt,
    MessageState,
    PatientMessage,
    Purpose,
    TaskKind,
    TaskRule,
)
from outreach.selectors import tasks_visible_to
from patients.models import ScreeningEvent

# Kinds a TaskRule can set (the others open when their event happens).
RULED_KINDS = (
    TaskKind.PREP_CALL,
    TaskKind.NO_SHOW,
    TaskKind.RESULT_MISSING,
    TaskKind.ABNORMAL_NO_FOLLOW_UP,
    TaskKind.NO_ATTEMPT,
    TaskKind.MESSAGE_FAILED,
)
# How far back a scan looks: older findings were either handled or escalated long ago.
LOOK_BACK = dt.timedelta(days=90)
# Cases a navigator is still trying to reach; a scheduled case waits for its test.
REACHING_STATUSES = (CaseStatus.NEW, CaseStatus.ASSIGNED, CaseStatus.CONTACTING)


def case_task_open(
    *,
    case: NavigationCase,
    kind: str,
    subject_key: str,
    summary: str,
    due_on: dt.date | None = None,
) -> tuple[CaseTask, bool]:
    """Open a task (or an escalation) about a case: (task, created).

    At most one per kind and subject: a second call returns the first task,
    open or done. Written on the case's timeline with the task's words.
    """
    due_on = due_on or timezone.localdate()
    with transaction.atomic():
        existing = CaseTask.objects.filter(kind=kind, subject_key=subject_key).first()
        if existing is not None:
            return existing, False
        locked = case_lock(case)
        try:
            with transaction.atomic():
                task = CaseTask.objects.create(
                    case=locked,
                    kind=kind,
                    for_manager=kind in ESCALATION_KINDS,
                    subject_key=subject_key,
                    due_on=due_on,
                    summary=summary[:300],
                )
        except IntegrityError:
            # A concurrent scan opened it a moment ago: theirs stands.
            return CaseTask.objects.get(kind=kind, subject_key=subject_key), False
        audience = "Escalated to the program managers" if task.for_manager else "Task"
        event_record(
            case=locked,
            kind=CaseEventKind.TASK_CREATED,
            actor=None,
            summary=f"{audience}: {task.summary}",
            data={"task": task.pk, "kind": kind, "due_on": due_on.isoformat()},
        )
        return task, True


def case_task_done(*, task: CaseTask, actor: User, note: str = "") -> CaseTask:
    """Mark a task done, with what was done; a task already done is left as it is."""
    if not CaseTask.objects.filter(tasks_visible_to(actor), pk=task.pk).exists():
        raise PermissionDenied("You cannot close this task.")
    note = note.strip()[:300]
    with transaction.atomic():
        locked = case_lock(task.case_id)
        now = timezone.now()
        changed = CaseTask.objects.filter(pk=task.pk, done_at=None).update(
            done_at=now, done_by=actor, done_note=note
        )
        task.refresh_from_db()
        if not changed:
            return task
        event_record(
            case=locked,
            kind=CaseEventKind.TASK_DONE,
            actor=actor,
            summary=f"Done: {task.summary}" + (f" ({note})" if note else ""),
            data={"task": task.pk, "kind": task.kind, "note": note},
        )
        return task


# --- Opened by events ------------------------------------------------------------------------


def message_failure_escalate(*, message_id: int) -> CaseTask | None:
    """A message that failed for good goes on its case's timeline and, where the
    program's rule is on, to its managers; an escalation closed by an earlier retry
    opens again."""
    message = PatientMessage.objects.filter(pk=message_id, state=MessageState.FAILED).first()
    if message is None or message.case_id is None:
        return None
    with transaction.atomic():
        return _escalate_failure(message, case_id=message.case_id)


def _escalate_failure(message: PatientMessage, *, case_id: int) -> CaseTask | None:
    case = case_lock(case_id)
    kind_label = message.get_kind_display()
    channel = message.get_channel_display()
    event_record(
        case=case,
        kind=CaseEventKind.MESSAGE_FAILED,
        actor=None,
        summary=f"{kind_label} by {channel} failed: {message.state_reason}",
        data={"message": message.pk, "reason": message.state_reason},
    )
    rule = TaskRule.objects.filter(
        program_id=case.program_id, kind=TaskKind.MESSAGE_FAILED, active=True
    ).first()
    if rule is None:
        return None
    summary = (
        f"{kind_label} by {channel} failed ({message.state_reason}): retry or reach the "
        "patient another way"
    )
    due_on = timezone.localdate() + dt.timedelta(days=rule.days)
    task, created = case_task_open(
        case=case,
        kind=TaskKind.MESSAGE_FAILED,
        subject_key=f"message:{message.pk}",
        summary=summary,
        due_on=due_on,
    )
    if not created and task.done_at is not None:
        # Retried, and failed again: the managers must hear of it again.
        CaseTask.objects.filter(pk=task.pk).update(
            done_at=None, done_by=None, done_note="", summary=summary[:300], due_on=due_on
        )
        task.refresh_from_db()
    return task


# --- Opened by the rules ---------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    case: NavigationCase
    subject_key: str
    summary: str
    due_on: dt.date


def _local_day(moment: dt.datetime, case: NavigationCase) -> dt.date:
    return moment.astimezone(ZoneInfo(case.patient.time_zone)).date()


def _day(day: dt.date) -> str:
    return f"{day:%a} {day.day} {day:%b}"


def _appointments(rule: TaskRule) -> QuerySet[Appointment]:
    return (
        Appointment.objects.filter(
            case__program_id=rule.program_id, case__status__in=sorted(OPEN_STATUSES)
        )
        .select_related("case__patient", "modality")
        .order_by("scheduled_at", "pk")
    )


def _prep_calls_due(rule: TaskRule, now: dt.datetime) -> Iterator[Finding]:
    """Appointments `days` ahead or sooner with no prep call logged since booking."""
    prep_called = ContactAttempt.objects.filter(
        case=OuterRef("case"), purpose=Purpose.PREP_CALL, attempted_at__gte=OuterRef("created_at")
    )
    horizon = now + dt.timedelta(days=rule.days + 1)
    for appointment in (
        _appointments(rule)
        .filter(
            ~Exists(prep_called),
            status=AppointmentStatus.BOOKED,
            scheduled_at__gte=now,
            scheduled_at__lt=horizon,
        )
        .iterator(chunk_size=500)
    ):
        day = _local_day(appointment.scheduled_at, appointment.case)
        if (day - _local_day(now, appointment.case)).days > rule.days:
            continue
        test = appointment.modality.name if appointment.modality else "the appointment"
        yield Finding(
            case=appointment.case,
            subject_key=f"appointment:{appointment.pk}",
            summary=f"Prep call before {test} on {_day(day)}",
            due_on=_local_day(now, appointment.case),
        )


def _no_shows(rule: TaskRule, now: dt.datetime) -> Iterator[Finding]:
    """Missed appointments with nothing booked since: call to re-book."""
    rebooked = Appointment.objects.filter(
        case=OuterRef("case"),
        status__in=[AppointmentStatus.BOOKED, AppointmentStatus.KEPT],
        scheduled_at__gt=OuterRef("scheduled_at"),
    )
    for appointment in (
        _appointments(rule)
        .filter(
            ~Exists(rebooked),
            status=AppointmentStatus.NO_SHOW,
            scheduled_at__lte=now - dt.timedelta(days=rule.days),
            scheduled_at__gte=now - LOOK_BACK,
        )
        .iterator(chunk_size=500)
    ):
        day = _local_day(appointment.scheduled_at, appointment.case)
        yield Finding(
            case=appointment.case,
            subject_key=f"appointment:{appointment.pk}",
            summary=f"No-show on {_day(day)}: call to re-book",
            due_on=day + dt.timedelta(days=rule.days),
        )


def _results_missing(rule: TaskRule, now: dt.datetime) -> Iterator[Finding]:
    """Appointments `days` or more ago (kept, or never settled) with no result since."""
    resulted = ScreeningEvent.objects.filter(
        patient=OuterRef("case__patient"),
        modality__program=OuterRef("case__program"),
        performed_on__gte=OuterRef("scheduled_at__date"),
    )
    for appointment in (
        _appointments(rule)
        .filter(
            ~Exists(resulted),
            status__in=[AppointmentStatus.KEPT, AppointmentStatus.BOOKED],
            scheduled_at__lte=now - dt.timedelta(days=rule.days),
            scheduled_at__gte=now - LOOK_BACK,
        )
        .iterator(chunk_size=500)
    ):
        day = _local_day(appointment.scheduled_at, appointment.case)
        test = appointment.modality.name if appointment.modality else "Appointment"
        yield Finding(
            case=appointment.case,
            subject_key=f"appointment:{appointment.pk}",
            summary=f"{test} on {_day(day)}: no result after {rule.days} days; chase it",
            due_on=day + dt.timedelta(days=rule.days),
        )


def _abnormal_without_follow_up(rule: TaskRule, now: dt.datetime) -> Iterator[Finding]:
    """A result calling for a follow-up (an open ResultFollowUp), `days` after the result
    came back, with its test not booked."""
    today = timezone.localdate(now)
    found = (
        ResultFollowUp.objects.filter(
            ~follow_up_booked(),
            state=FollowUpState.OPEN,
            case__program_id=rule.program_id,
            case__status__in=sorted(OPEN_STATUSES),
            result_on__lte=today - dt.timedelta(days=rule.days),
            result_on__gte=today - LOOK_BACK,
        )
        .select_related("case__patient", "screening__modality", "screening__category")
        .order_by("result_on", "pk")
    )
    for follow_up in found.iterator(chunk_size=500):
        screening = follow_up.screening
        inadequate = screening.category is not None and screening.category.meaning == "inadequate"
        yield Finding(
            case=follow_up.case,
            subject_key=f"screening:{screening.pk}",
            summary=f"{'Inadequate' if inadequate else 'Abnormal'} {screening.modality.name} "
            f"on {_day(screening.performed_on)}: {follow_up.next_step.lower()} not booked "
            f"after {rule.days} days (due {_day(follow_up.due_on)})",
            due_on=follow_up.result_on + dt.timedelta(days=rule.days),
        )


def _no_attempts(rule: TaskRule, now: dt.datetime) -> Iterator[Finding]:
    """Cases still to be reached with no contact attempt for `days` (since the last one,
    or since the case opened): an escalation for the managers."""
    since = now - dt.timedelta(days=rule.days)
    cases = (
        NavigationCase.objects.filter(
            program_id=rule.program_id, status__in=REACHING_STATUSES, navigator__isnull=False
        )
        .annotate(
            last_touch=Greatest(
                F("opened_at"), Coalesce(Max("attempts__attempted_at"), F("opened_at"))
            )
        )  # fmt: skip
        .filter(last_touch__lte=since)
        .select_related("patient", "navigator__user")
        .order_by("pk")
    )
    for case in cases.iterator(chunk_size=500):
        last = _local_day(case.last_touch, case)
        yield Finding(
            case=case,
            subject_key=f"case:{case.pk}:quiet-since:{last.isoformat()}",
            summary=f"No contact attempt since {_day(last)} ({rule.days}+ days) "
            f"by {case.navigator}",
            due_on=last + dt.timedelta(days=rule.days),
        )


SCANS = {
    TaskKind.PREP_CALL: _prep_calls_due,
    TaskKind.NO_SHOW: _no_shows,
    TaskKind.RESULT_MISSING: _results_missing,
    TaskKind.ABNORMAL_NO_FOLLOW_UP: _abnormal_without_follow_up,
    TaskKind.NO_ATTEMPT: _no_attempts,
}


def case_tasks_scan(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Run every active task rule; how many tasks each kind opened.

    Each task commits on its own, so a failure part way leaves the earlier ones
    done and a rerun finds only what is still missing.
    """
    now = now or timezone.now()
    opened: dict[str, int] = {}
    rules = TaskRule.objects.filter(active=True, kind__in=list(SCANS)).order_by("program", "kind")
    for rule in rules:
        for finding in SCANS[TaskKind(rule.kind)](rule, now):
            _, created = case_task_open(
                case=finding.case,
                kind=rule.kind,
                subject_key=finding.subject_key,
                summary=finding.summary,
                due_on=finding.due_on,
            )
            opened[rule.kind] = opened.get(rule.kind, 0) + int(created)
    return opened
