"""The worklist's query: the rules' facts, flags and priority annotated on every
case, what each row shows besides, and the sort orders (priority order breaks
every tie)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OrderBy,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Lower

from navigator.models import (
    Appointment,
    AppointmentStatus,
    BarrierStatus,
    CaseBarrier,
    GroupSeries,
    NavigationCase,
)
from navigator.worklist.rules import NO_REASON_PRIORITY, RULES, Moment, tried_today
from outreach.models import (
    ContactAttempt,
    FollowUpReminder,
    InterpreterRequest,
    InterpreterRequestStatus,
)
from patients.models import PatientPhone


def annotate(cases: QuerySet[NavigationCase], moment: Moment) -> QuerySet[NavigationCase]:
    """Each rule's fact, details and flag, the case's priority, and what a row shows."""
    cases = cases.annotate(**{rule.fact_name: rule.fact(moment) for rule in RULES})
    flags = {
        rule.flag_name: ExpressionWrapper(
            Q(**{f"{rule.fact_name}__isnull": False}), output_field=BooleanField()
        )
        for rule in RULES
    }
    priority = Case(
        *[
            When(**{f"{rule.fact_name}__isnull": False}, then=Value(rule.priority))
            for rule in RULES
        ],
        default=Value(NO_REASON_PRIORITY),
        output_field=IntegerField(),
    )
    details = {name: value for rule in RULES for name, value in rule.details(moment).items()}
    cases = cases.annotate(
        **details, **flags, wl_priority=priority, tried_today_at=tried_today(moment)
    )
    # 1 for a case tried today (it waits below the rest), else 0.
    waits = Case(
        When(tried_today_at__isnull=False, then=Value(1)),
        default=Value(0),
        output_field=IntegerField(),
    )
    return cases.annotate(wl_tried_today=waits, **row_facts(moment))


@functools.cache
def _timeless_row_facts() -> tuple[tuple[str, Any], ...]:
    open_barriers = (
        CaseBarrier.objects.filter(case=OuterRef("pk"))
        .exclude(status=BarrierStatus.RESOLVED)
        .order_by()
        .values("case")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return (
        (
            "last_attempt_at",
            Subquery(
                ContactAttempt.objects.filter(case=OuterRef("pk"))
                .order_by("-attempted_at", "-pk")
                .values("attempted_at")[:1]
            ),
        ),
        ("open_barrier_count", Coalesce(Subquery(open_barriers), 0)),
        # The number to call: the patient's first number not marked bad, in the order
        # the case page offers them for a call (PatientPhone's rank, then pk).
        (
            "best_phone",
            Subquery(
                PatientPhone.objects.filter(patient=OuterRef("patient"), is_bad=False)
                .order_by("rank", "pk")
                .values("number")[:1]
            ),
        ),
        (
            "has_pending_reminder",
            Exists(FollowUpReminder.objects.filter(case=OuterRef("pk"), dismissed_at=None)),
        ),
        # Whether the case's programme runs group class series: a control case's row
        # offers to enrol the patient in the next one (navigator.views.worklist_enrol).
        (
            "program_has_series",
            Exists(GroupSeries.objects.filter(program=OuterRef("program"))),
        ),
    )


def row_facts(moment: Moment) -> dict[str, Any]:
    """What every row shows besides its reasons, each a subquery rather than a join,
    so that no GROUP BY multiplies the work and every row is one row."""
    return {
        **dict(_timeless_row_facts()),
        "next_appointment_at": Subquery(
            Appointment.objects.filter(
                case=OuterRef("pk"), status=AppointmentStatus.BOOKED, scheduled_at__gte=moment.now
            )
            .order_by("scheduled_at", "pk")
            .values("scheduled_at")[:1]
        ),
        # An interpreter confirmed for a call or appointment still ahead: the row's
        # "interpreter needed" says whether one is arranged (a subquery: no more queries).
        "interpreter_arranged": Exists(
            InterpreterRequest.objects.filter(
                case=OuterRef("pk"),
                status=InterpreterRequestStatus.CONFIRMED,
                needed_at__gte=moment.now,
            )
        ),
        # Case/When, not a bare Q: a case with no follow-up date is "not overdue", never NULL.
        "follow_up_is_overdue": Case(
            When(next_follow_up__lt=moment.today, then=Value(True)),
            default=Value(False),
            output_field=BooleanField(),
        ),
    }


# --- Sorting --------------------------------------------------------------------------


def priority_ordering() -> list[OrderBy]:
    """Cases tried today without reaching the patient after every other (each part
    in the order that follows); most urgent reason first; within a reason its fact,
    earliest first (the oldest result, the soonest appointment, the longest-waiting
    callback, the longest-due follow-up, the longest-waiting new case); then the
    rest by next follow-up.

    A rule's fact is NULL wherever the rule does not hold, and every rule above a
    case's priority does not hold for it, so sorting on all the facts in rule order
    sorts each priority group by its own fact.
    """
    return [
        F("wl_tried_today").asc(),
        F("wl_priority").asc(),
        *[F(rule.fact_name).asc(nulls_last=True) for rule in RULES],
        F("next_follow_up").asc(nulls_last=True),
        F("opened_at").asc(),
        F("pk").asc(),
    ]


@dataclass(frozen=True)
class Sort:
    label: str
    column: str  # the table column it sorts, for aria-sort
    direction: str  # "ascending" or "descending"
    ordering: Callable[[], list[OrderBy]]


DEFAULT_SORT = "priority"
SORTS: dict[str, Sort] = {
    "priority": Sort("What to do first", "reasons", "ascending", lambda: []),
    "follow_up": Sort(
        "Next follow-up, soonest first",
        "next_step",
        "ascending",
        lambda: [F("next_follow_up").asc(nulls_last=True)],
    ),
    "-follow_up": Sort(
        "Next follow-up, latest first",
        "next_step",
        "descending",
        lambda: [F("next_follow_up").desc(nulls_last=True)],
    ),
    # Never contacted counts as longest ago.
    "last_attempt": Sort(
        "Last attempt, longest ago first",
        "last_attempt",
        "ascending",
        lambda: [F("last_attempt_at").asc(nulls_first=True)],
    ),
    "-last_attempt": Sort(
        "Last attempt, most recent first",
        "last_attempt",
        "descending",
        lambda: [F("last_attempt_at").desc(nulls_last=True)],
    ),
    "opened": Sort("Opened, oldest first", "", "ascending", lambda: [F("opened_at").asc()]),
    "-opened": Sort("Opened, newest first", "", "descending", lambda: [F("opened_at").desc()]),
    "name": Sort(
        "Patient name, A to Z",
        "patient",
        "ascending",
        lambda: [Lower("patient__family_name").asc(), Lower("patient__given_name").asc()],
    ),
    "-name": Sort(
        "Patient name, Z to A",
        "patient",
        "descending",
        lambda: [Lower("patient__family_name").desc(), Lower("patient__given_name").desc()],
    ),
    "appointment": Sort(
        "Next appointment, soonest first",
        "next_step",
        "ascending",
        lambda: [F("next_appointment_at").asc(nulls_last=True)],
    ),
    "-appointment": Sort(
        "Next appointment, latest first",
        "next_step",
        "descending",
        lambda: [F("next_appointment_at").desc(nulls_last=True)],
    ),
}
SORT_CHOICES = [(key, sort.label) for key, sort in SORTS.items()]


def ordering(sort: str) -> list[Any]:
    """The chosen order, then priority order to break its ties, then the case id."""
    return [*SORTS[sort].ordering(), *priority_ordering()]
