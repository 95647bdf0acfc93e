"""Reads for outreach, scoped through the cases a user may see."""

from __future__ import annotations

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db.models import QuerySet

from navigator.models import CaseEvent, CaseEventKind, NavigationCase, User
from navigator.selectors.visibility import cases_visible_to
from outreach.keywords import Intent
from outreach.models import (
    CaseTask,
    ContactAttempt,
    FollowUpReminder,
    InboundSms,
    OutreachProtocol,
    PatientMessage,
    ReminderRule,
    TaskRule,
)
from patients.models import ScreeningProgram


def attempts_visible_to(user: User) -> QuerySet[ContactAttempt]:
    # Clinic staff see no case, so no attempt: notes stay with the care team.
    return ContactAttempt.objects.filter(case__in=cases_visible_to(user))


def reminders_visible_to(user: User) -> QuerySet[FollowUpReminder]:
    reminders = FollowUpReminder.objects.all()
    if not user.is_authenticated:
        return reminders.none()
    if user.sees_all_cases:
        return reminders
    if user.is_navigator:
        # The case's current navigator, whoever the reminder was first made for.
        return reminders.filter(case__navigator__user=user)
    return reminders.none()


def reminders_pending_for(user: User) -> QuerySet[FollowUpReminder]:
    return (
        reminders_visible_to(user)
        .filter(dismissed_at=None, case__navigator__user=user)
        .select_related("case__patient", "case__program")
        .order_by("due_on", "pk")
    )


def protocol_history(protocol: OutreachProtocol, limit: int = 50) -> list[LogEntry]:
    """Who changed a protocol, when, and what (written by services.protocol_update)."""
    return list(
        LogEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(OutreachProtocol),
            object_id=str(protocol.pk),
        )
        .select_related("user")
        .order_by("-action_time", "-pk")[:limit]
    )


def unreachable_proposal(case: NavigationCase) -> CaseEvent | None:
    """The timeline entry that proposed closing the case, from its prefetched events."""
    if case.unreachable_proposed_at is None:
        return None
    return next(
        (e for e in case.events.all() if e.kind == CaseEventKind.UNREACHABLE_PROPOSED), None
    )


# --- Managers' messages page ------------------------------------------------------------------


def problem_messages(
    *, user: User, states: tuple[str, ...] = (), program_code: str = ""
) -> QuerySet[PatientMessage]:
    """Messages in the given states (e.g. failed, suppressed), newest due first, for
    managers (who see every case); nobody else sees this list."""
    if not (user.is_authenticated and user.sees_all_cases):
        return PatientMessage.objects.none()
    rows = PatientMessage.objects.select_related("patient", "case__program")
    if states:
        rows = rows.filter(state__in=states)
    if program_code:
        rows = rows.filter(case__program__code=program_code)
    return rows.order_by("-due_at", "-pk")


def open_escalations(*, user: User) -> QuerySet[CaseTask]:
    if not (user.is_authenticated and user.sees_all_cases):
        return CaseTask.objects.none()
    return (
        CaseTask.objects.filter(for_manager=True, done_at=None)
        .select_related("case__patient", "case__program", "case__navigator__user")
        .order_by("due_on", "pk")
    )


def unmatched_texts(*, user: User) -> QuerySet[InboundSms]:
    """Texts we could not put on a case: an unknown number, a number shared by several
    patients, or a patient with no open case. Managers only."""
    if not (user.is_authenticated and user.sees_all_cases):
        return InboundSms.objects.none()
    return (
        InboundSms.objects.filter(case=None, intent=Intent.MESSAGE.value)
        .select_related("patient")
        .order_by("-received_at", "-pk")
    )


def rule_history(program: ScreeningProgram, limit: int = 50) -> list[LogEntry]:
    """Changes to a program's reminder and task rules (message_admin writes them)."""
    types = ContentType.objects.get_for_models(ReminderRule, TaskRule).values()
    ids = [
        str(pk)
        for pk in [
            *ReminderRule.objects.filter(program=program).values_list("pk", flat=True),
            *TaskRule.objects.filter(program=program).values_list("pk", flat=True),
        ]
    ]
    return list(
        LogEntry.objects.filter(content_type__in=list(types), object_id__in=ids)
        .filter(change_message__startswith=f"{program}:")
        .select_related("user")
        .order_by("-action_time", "-pk")[:limit]
    )
