"""Who may see what. Every case-derived queryset starts from `cases_visible_to`."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet
from django.utils import timezone

from navigator.models import (
    Appointment,
    CaseBarrier,
    CaseEvent,
    Coverage,
    NavigationCase,
    NavigatorProfile,
    User,
)


def cases_visible_to(user: User) -> QuerySet[NavigationCase]:
    """Managers and admins: every case. Navigators: their caseload. Clinic staff: none
    (they follow their referrals, which never expose barriers, notes or attempts)."""
    cases = NavigationCase.objects.all()
    if not user.is_authenticated:
        return cases.none()
    if user.sees_all_cases:
        return cases
    if user.works_caseload:
        return cases.filter(Q(navigator__user=user) | Q(navigator__in=navigators_covered_by(user)))
    return cases.none()


def navigators_covered_by(user: User, on: dt.date | None = None) -> QuerySet[NavigatorProfile]:
    """The navigators whose caseload `user` covers today (a subquery, not evaluated)."""
    on = on or timezone.localdate()
    return NavigatorProfile.objects.filter(
        coverages_given__covering__user=user,
        coverages_given__starts_on__lte=on,
        coverages_given__ends_on__gte=on,
        coverages_given__cancelled_at=None,
    )


def barriers_visible_to(user: User) -> QuerySet[CaseBarrier]:
    return CaseBarrier.objects.filter(case__in=cases_visible_to(user))


def appointments_visible_to(user: User) -> QuerySet[Appointment]:
    return Appointment.objects.filter(case__in=cases_visible_to(user))


def case_events_visible_to(user: User) -> QuerySet[CaseEvent]:
    return CaseEvent.objects.filter(case__in=cases_visible_to(user))


def navigators_visible_to(user: User) -> QuerySet[NavigatorProfile]:
    navigators = NavigatorProfile.objects.select_related("user")
    if user.is_authenticated and user.sees_all_cases:
        return navigators
    if user.is_authenticated and user.works_caseload:
        return navigators.filter(user=user)
    return navigators.none()


def coverages_for(*, user: User) -> QuerySet[Coverage]:
    """Covers a user may see: a manager every one, a navigator those they give or take."""
    coverages = Coverage.objects.select_related("absent__user", "covering__user", "created_by")
    if not user.is_authenticated:
        return coverages.none()
    if user.sees_all_cases:
        return coverages
    if user.works_caseload:
        return coverages.filter(Q(absent__user=user) | Q(covering__user=user))
    return coverages.none()
