"""Reads for the team view: each navigator's week in numbers, today's covers, and
the order in which a rebalance hands a navigator's cases on."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from navigator.models import OPEN_STATUSES, Coverage, NavigationCase, NavigatorProfile, User
from outreach.models import ContactAttempt, Outcome


def week_start(today: dt.date) -> dt.datetime:
    """Monday 00:00 of this week, in the local time zone."""
    monday = today - dt.timedelta(days=today.weekday())
    return dt.datetime.combine(monday, dt.time.min, tzinfo=timezone.get_current_timezone())


def _count(queryset: QuerySet[Any], *, distinct_field: str = "pk") -> Subquery:
    """A correlated COUNT as a subquery, so that several counts never multiply rows."""
    return Subquery(
        queryset.order_by()
        .annotate(_group=Value(1))
        .values("_group")
        .annotate(n=Count(distinct_field, distinct=True))
        .values("n"),
        output_field=IntegerField(),
    )


def team_overview(*, user: User, today: dt.date | None = None) -> list[NavigatorProfile]:
    """Every navigator with this week's numbers, in two queries whatever the team size:
    the navigators with their counts, and today's covers."""
    if not (user.is_authenticated and user.sees_all_cases):
        return []
    today = today or timezone.localdate()
    since = week_start(today)
    open_cases = NavigationCase.objects.filter(navigator=OuterRef("pk"), status__in=OPEN_STATUSES)
    attempts = ContactAttempt.objects.filter(
        created_by=OuterRef("user_id"), attempted_at__gte=since
    )
    navigators: list[NavigatorProfile] = list(
        NavigatorProfile.objects.select_related("user")
        .annotate(
            open_cases=Coalesce(_count(open_cases), 0),
            overdue_follow_ups=Coalesce(_count(open_cases.filter(next_follow_up__lt=today)), 0),
            attempts_this_week=Coalesce(_count(attempts), 0),
            reached_this_week=Coalesce(
                _count(attempts.filter(outcome=Outcome.REACHED), distinct_field="case_id"), 0
            ),
            completed_this_week=Coalesce(
                _count(
                    NavigationCase.objects.filter(navigator=OuterRef("pk"), completed_at__gte=since)
                ),
                0,
            ),
        )
        .order_by("-active", "user__last_name", "user__first_name", "pk")
    )
    covers: dict[int, Coverage] = {
        coverage.absent_id: coverage
        for coverage in Coverage.objects.filter(
            starts_on__lte=today, ends_on__gte=today, cancelled_at=None
        ).select_related("covering__user")
    }
    for navigator in navigators:
        navigator.covered_by = covers.get(navigator.pk)  # type: ignore[attr-defined]
        capacity = navigator.caseload_capacity or 1
        navigator.load_percent = round(100 * navigator.open_cases / capacity)  # type: ignore[attr-defined]
    return navigators


def navigators_active() -> QuerySet[NavigatorProfile]:
    return NavigatorProfile.objects.filter(active=True).select_related("user")


def rebalance_order(navigator: NavigatorProfile) -> list[int]:
    """The open cases of a navigator in the order they are handed on.

    Cases nobody has contacted yet go first, then those with the least history,
    newest first: the relationships the navigator has built are moved last.
    """
    return list(
        NavigationCase.objects.filter(navigator=navigator, status__in=OPEN_STATUSES)
        .annotate(history=Count("attempts"))
        .order_by("history", "-opened_at", "pk")
        .values_list("pk", flat=True)
    )
