"""Reads of results that called for a follow-up: the managers' board (every open one
by days since the result, overdue first, with the counts on top, and those done or
closed lately) and what a case page shows of its own."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Case, IntegerField, OuterRef, Q, Subquery, Value, When

from navigator.models import (
    Appointment,
    AppointmentPurpose,
    AppointmentStatus,
    FollowUpState,
    ResultFollowUp,
    User,
)
from navigator.selectors.visibility import cases_visible_to

# How far back the board lists follow-ups already done or closed.
RECENT_DAYS = 90


@dataclass
class FollowUpRow:
    follow_up: ResultFollowUp
    days_since_result: int
    overdue: bool
    past_limit: bool
    booked_for: dt.datetime | None

    @property
    def days_to_done(self) -> int | None:
        f = self.follow_up
        return (f.done_on - f.result_on).days if f.done_on is not None else None

    @property
    def state_words(self) -> str:
        f = self.follow_up
        if f.state == FollowUpState.DONE:
            return f"Done {f.done_on:%Y-%m-%d}"
        if f.state == FollowUpState.CLOSED:
            return f"Closed without it: {f.get_close_reason_display().lower()}"
        if f.close_reason:
            return f"Closing proposed ({f.get_close_reason_display().lower()}), awaiting a manager"
        if self.booked_for is not None:
            return "Booked"
        return "Not booked"


@dataclass
class FollowUpBoard:
    open_rows: list[FollowUpRow] = field(default_factory=list)
    recent_rows: list[FollowUpRow] = field(default_factory=list)

    @property
    def open_count(self) -> int:
        return len(self.open_rows)

    @property
    def overdue_count(self) -> int:
        return sum(row.overdue for row in self.open_rows)

    @property
    def past_limit_count(self) -> int:
        return sum(row.past_limit for row in self.open_rows)

    @property
    def proposed_count(self) -> int:
        return sum(bool(row.follow_up.close_reason) for row in self.open_rows)


def _rows(follow_ups, today: dt.date) -> list[FollowUpRow]:
    return [
        FollowUpRow(
            follow_up=f,
            days_since_result=(today - f.result_on).days,
            overdue=f.overdue(today),
            past_limit=f.past_limit(today),
            booked_for=f.booked_for,
        )
        for f in follow_ups
    ]


def follow_up_board(*, user: User, today: dt.date) -> FollowUpBoard:
    """Open follow-ups of the cases `user` may see, overdue first and then by days since
    the result (the oldest first); and those done or closed in the last RECENT_DAYS."""
    booked = Appointment.objects.filter(
        case=OuterRef("case"),
        purpose=AppointmentPurpose.DIAGNOSTIC,
        status=AppointmentStatus.BOOKED,
        created_at__date__gte=OuterRef("result_on"),
    ).order_by("scheduled_at")
    follow_ups = (
        ResultFollowUp.objects.filter(case__in=cases_visible_to(user))
        .select_related(
            "case__program",
            "case__navigator__user",
            "screening__modality",
            "screening__category",
            "close_proposed_by",
            "closed_by",
        )
        .annotate(booked_for=Subquery(booked.values("scheduled_at")[:1]))
    )
    open_ones = (
        follow_ups.filter(state=FollowUpState.OPEN)
        .annotate(
            late=Case(
                When(due_on__lt=today, then=Value(0)), default=Value(1), output_field=IntegerField()
            )
        )
        .order_by("late", "result_on", "pk")
    )
    since = today - dt.timedelta(days=RECENT_DAYS)
    recent = follow_ups.filter(
        Q(state=FollowUpState.DONE, done_on__gte=since)
        | Q(state=FollowUpState.CLOSED, closed_at__date__gte=since)
    ).order_by("-result_on", "-pk")
    return FollowUpBoard(open_rows=_rows(open_ones, today), recent_rows=_rows(recent, today))
