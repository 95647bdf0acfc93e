"""Reads for outreach, scoped through the cases a user may see."""

from __future__ import annotations

from django.db.models import QuerySet

from navigator.models import User
from navigator.selectors import cases_visible_to
from outreach.models import ContactAttempt, FollowUpReminder


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
