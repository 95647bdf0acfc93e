"""Reads for outreach, scoped through the cases a user may see."""

from __future__ import annotations

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db.models import QuerySet

from navigator.models import CaseEvent, CaseEventKind, NavigationCase, User
from navigator.selectors import cases_visible_to
from outreach.models import ContactAttempt, FollowUpReminder, OutreachProtocol


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
