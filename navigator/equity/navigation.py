"""The navigation figures of the disparities dashboard (issue 13, plan section 2): what
happened to the cases of one programme opened in a period, per group of one
stratification dimension, each figure one grouped query counted in the database.

- `funnel_counts`: referred → reached → scheduled → tested → loop complete;
- `completion_counts`: loop complete within 90 or 180 days, cases without that much
  follow-up time left out (`completion_table`: both windows in one query);
- `step_medians`: median days between the steps, and attempts per patient reached;
- `close_reasons`: how the closed cases closed (the follow-up's reason included);
- `navigator_outcomes`: the funnel and 180-day completion per navigator, in one query.

Barriers and diagnostic follow-up are in `navigation_barriers.py`. Every function
takes a `Cohort` (the caller's role scope as a `Q`, one programme, the period) and
returns plain rows; `.counts(...)` gives the `(key, label, numerator, denominator)`
tuples `stats.stratified_statistics` takes. `METHODS` says each figure's rule in one
sentence for the page.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from navigator.equity.cohort import (
    LOOP_COMPLETE,
    OUTBOUND,
    REACHED,
    SCHEDULED,
    TESTED,
    Cohort,
    completed_within,
    count_of,
    first,
    followed_for,
    grouped_rows,
    has,
    loop_completed_at,
)
from navigator.equity.dimensions import DIMENSIONS, Dimension, GroupCounts
from navigator.equity.sql import DaysBetween, Median
from navigator.models import (
    CaseStatus,
    FollowUpCloseReason,
    FollowUpState,
    ResultFollowUp,
)


def completion_method(days: int) -> str:
    return (
        f"Completed within {days} days counts the cases whose screening loop closed (a "
        "normal result, the follow-up of an abnormal one done, or a diagnosis handed to "
        f"treatment) by the {days}th day after the case was opened, out of the cases "
        f"opened at least {days} days ago; newer cases are left out because they have not "
        f"had {days} days yet, and declined or unreachable cases count as not completed."
    )


# One plain sentence per figure, for the page, the API, CSV and PDF.
METHODS: dict[str, str] = {
    "cohort": (
        "Navigation figures count the cases of one screening programme opened in the "
        "period, leaving out cases closed as ineligible."
    ),
    "funnel": (
        "The funnel counts, of the cases referred, those where the patient was reached by "
        "any contact, a screening appointment was booked, a screening test was recorded, "
        "and the screening loop closed; each step counts on its own, so a mailed kit "
        "returned without a call can make a later step larger than an earlier one."
    ),
    "completion_90": completion_method(90),
    "completion_180": completion_method(180),
    "step_medians": (
        "Each step's median is the middle number of days between the first time the "
        "earlier step happened and the first time the later one did, among the cases "
        "that reached both; days to a test or from it are counted between calendar days."
    ),
    "attempts": (
        "Attempts per patient reached is the number of outbound contact attempts (calls, "
        "texts, letters, visits) on the cases where the patient was reached, divided by "
        "the number of those cases."
    ),
    "close_reasons": (
        "Reasons for closing count the cases of the period that are closed, by how they "
        "closed; a case closed without its follow-up is counted under the reason the "
        "program manager confirmed."
    ),
}

FUNNEL_STEPS: tuple[tuple[str, str], ...] = (
    ("referred", "Referred"),
    ("reached", "Reached"),
    ("scheduled", "Screening scheduled"),
    ("tested", "Test done"),
    ("complete", "Loop complete"),
)


@dataclass(frozen=True)
class FunnelRow:
    key: str
    label: str
    referred: int
    reached: int
    scheduled: int
    tested: int
    complete: int

    def counts(self, step: str) -> GroupCounts:
        """(key, label, cases at `step`, cases referred)."""
        return (self.key, self.label, getattr(self, step), self.referred)


def _funnel_aggregates() -> dict[str, Any]:
    return {
        "referred": Count("pk"),
        "reached": Count("pk", filter=Q(has(REACHED))),
        "scheduled": Count("pk", filter=Q(has(SCHEDULED))),
        "tested": Count("pk", filter=Q(has(TESTED))),
        "complete": Count("pk", filter=LOOP_COMPLETE),
    }


def _rows(cohort: Cohort, dimension: Dimension, on: dt.date | None, **kwargs: Any) -> list:
    cases = cohort.cases()
    return grouped_rows(
        cases,
        dimension,
        prefix="patient__",
        on=on or cohort.period_end,
        population=cases,
        **kwargs,
    )


def funnel_counts(
    cohort: Cohort, dimension: Dimension, *, on: dt.date | None = None
) -> list[FunnelRow]:
    """The funnel per group, in one query. `on` is the day ages are reckoned on (the
    period's end when not given)."""
    aggregates = _funnel_aggregates()
    rows = _rows(
        cohort, dimension, on, aggregates=aggregates, size="referred", empty=_zeros(aggregates)
    )
    return [FunnelRow(key, label, **values) for key, label, values in rows]


def _zeros(aggregates: dict[str, Any]) -> dict[str, int]:
    return dict.fromkeys(aggregates, 0)


def _completion_aggregates(days: int, today: dt.date) -> dict[str, Any]:
    followed = followed_for(days, today)
    return {
        f"completed_{days}": Count("pk", filter=followed & completed_within(days)),
        f"followed_{days}": Count("pk", filter=followed),
    }


def completion_counts(
    cohort: Cohort,
    dimension: Dimension,
    *,
    days: int,
    today: dt.date,
    on: dt.date | None = None,
) -> list[GroupCounts]:
    """(key, label, completed within `days`, cases opened at least `days` days before
    `today`) per group, in one query; the rule is `METHODS[f"completion_{days}"]`."""
    aggregates = _completion_aggregates(days, today)
    rows = _rows(
        cohort,
        dimension,
        on,
        aggregates=aggregates,
        size=f"followed_{days}",
        empty=_zeros(aggregates),
    )
    return [
        (key, label, values[f"completed_{days}"], values[f"followed_{days}"])
        for key, label, values in rows
    ]


@dataclass(frozen=True)
class CompletionRow:
    """Completion within 90 and within 180 days of one group, from one query."""

    key: str
    label: str
    completed_90: int
    followed_90: int
    completed_180: int
    followed_180: int

    def counts(self, days: int) -> GroupCounts:
        """(key, label, completed within `days`, cases followed for `days`)."""
        return (
            self.key,
            self.label,
            getattr(self, f"completed_{days}"),
            getattr(self, f"followed_{days}"),
        )


def completion_table(
    cohort: Cohort, dimension: Dimension, *, today: dt.date, on: dt.date | None = None
) -> list[CompletionRow]:
    """Completion within 90 and 180 days per group, both in one query (the rules of
    `completion_counts`)."""
    aggregates = {**_completion_aggregates(90, today), **_completion_aggregates(180, today)}
    rows = _rows(
        cohort, dimension, on, aggregates=aggregates, size="followed_90", empty=_zeros(aggregates)
    )
    return [CompletionRow(key, label, **values) for key, label, values in rows]


STEPS: tuple[tuple[str, str], ...] = (
    ("opened_to_reached", "Referral to first reached"),
    ("reached_to_scheduled", "Reached to screening booked"),
    ("scheduled_to_tested", "Booked to test done"),
    ("tested_to_complete", "Test done to loop complete"),
)


@dataclass(frozen=True)
class Step:
    median_days: float | None
    cases: int  # the cases that reached both ends of the step


@dataclass(frozen=True)
class StepMedians:
    key: str
    label: str
    steps: dict[str, Step]
    reached: int
    attempts: int  # outbound attempts on the cases where the patient was reached
    attempts_median: float | None  # of outbound attempts per case where reached

    @property
    def attempts_per_reached(self) -> float | None:
        return self.attempts / self.reached if self.reached else None


def _step_intervals() -> dict[str, DaysBetween]:
    reached_at = first(REACHED, "attempted_at")
    scheduled_at = first(SCHEDULED, "created_at")
    tested_on = first(TESTED, "performed_on")
    return {
        "opened_to_reached": DaysBetween(reached_at, F("opened_at")),
        "reached_to_scheduled": DaysBetween(scheduled_at, reached_at),
        "scheduled_to_tested": DaysBetween(tested_on, scheduled_at),
        "tested_to_complete": DaysBetween(loop_completed_at(), tested_on),
    }


def step_medians(
    cohort: Cohort, dimension: Dimension, *, on: dt.date | None = None
) -> list[StepMedians]:
    """Per group, in one query: each step's median days and how many cases it is the
    median of, and the outbound attempts on the cases where the patient was reached
    (their sum, for attempts per patient reached, and their median)."""
    aggregates: dict[str, Any] = {}
    for name, interval in _step_intervals().items():
        aggregates[f"{name}_median"] = Median(interval)
        aggregates[f"{name}_cases"] = Count(interval)
    reached = Q(has(REACHED))
    attempts = count_of(OUTBOUND)
    aggregates["reached"] = Count("pk", filter=reached)
    aggregates["attempts"] = Coalesce(Sum(attempts, filter=reached), Value(0))
    aggregates["attempts_median"] = Median(attempts, filter=reached)
    empty = {name: (None if name.endswith("_median") else 0) for name in aggregates}
    rows = _rows(cohort, dimension, on, aggregates=aggregates, size="reached", empty=empty)
    return [
        StepMedians(
            key,
            label,
            steps={
                name: Step(values[f"{name}_median"], values[f"{name}_cases"]) for name, _ in STEPS
            },
            reached=values["reached"],
            attempts=values["attempts"],
            attempts_median=values["attempts_median"],
        )
        for key, label, values in rows
    ]


# How a case of the period closed. A case closed without its follow-up is split by the
# reason the manager confirmed (`ResultFollowUp.close_reason`).
FOLLOW_UP_CLOSED = CaseStatus.FOLLOW_UP_CLOSED.value
CLOSE_REASONS: tuple[tuple[str, str], ...] = (
    (CaseStatus.CLOSED.value, CaseStatus.CLOSED.label),
    (CaseStatus.TREATMENT.value, CaseStatus.TREATMENT.label),
    *(
        (
            f"{FOLLOW_UP_CLOSED}:{reason.value}",
            f"{CaseStatus.FOLLOW_UP_CLOSED.label}: {reason.label}",
        )
        for reason in FollowUpCloseReason
    ),
    (f"{FOLLOW_UP_CLOSED}:", f"{CaseStatus.FOLLOW_UP_CLOSED.label}: reason not recorded"),
    (CaseStatus.CLOSED_UNREACHABLE.value, CaseStatus.CLOSED_UNREACHABLE.label),
    (CaseStatus.DECLINED.value, CaseStatus.DECLINED.label),
)
ALL_CASES = ("all", "All cases")


@dataclass(frozen=True)
class CloseReasons:
    key: str
    label: str
    closed: int
    by_reason: dict[str, int]  # every key of CLOSE_REASONS, zeros included

    def counts(self, reason: str) -> GroupCounts:
        """(key, label, cases closed for `reason`, cases closed)."""
        return (self.key, self.label, self.by_reason[reason], self.closed)


def _closing_reason() -> Subquery:
    """The reason the case's follow-up was closed without being done (its latest)."""
    return Subquery(
        ResultFollowUp.objects.filter(case=OuterRef("pk"), state=FollowUpState.CLOSED)
        .order_by("-closed_at", "-pk")
        .values("close_reason")[:1]
    )


def close_reasons(
    cohort: Cohort, dimension: Dimension | None = None, *, on: dt.date | None = None
) -> list[CloseReasons]:
    """The closed cases of the period by how they closed, per group of `dimension` (or
    one row for all cases without it), in one query."""
    statuses = {key.partition(":")[0] for key, _ in CLOSE_REASONS}
    closed = Q(status__in=sorted(statuses))
    aggregates: dict[str, Any] = {"closed": Count("pk", filter=closed)}
    for index, (key, _) in enumerate(CLOSE_REASONS):
        status, _, reason = key.partition(":")
        condition = Q(status=status)
        if status == FOLLOW_UP_CLOSED:
            condition &= Q(closing_reason=reason)
        aggregates[f"reason_{index}"] = Count("pk", filter=condition)
    cases = cohort.cases().annotate(closing_reason=Coalesce(_closing_reason(), Value("")))
    if dimension is None:
        totals = cases.aggregate(**aggregates)
        rows = [(*ALL_CASES, totals)]
    else:
        rows = grouped_rows(
            cases,
            dimension,
            aggregates,
            prefix="patient__",
            on=on or cohort.period_end,
            population=cohort.cases(),
            size="closed",
            empty=_zeros(aggregates),
        )
    return [
        CloseReasons(
            key,
            label,
            closed=values["closed"],
            by_reason={
                reason: values[f"reason_{index}"] for index, (reason, _) in enumerate(CLOSE_REASONS)
            },
        )
        for key, label, values in rows
    ]


@dataclass(frozen=True)
class NavigatorOutcome:
    funnel: FunnelRow
    completion_180: GroupCounts


def navigator_outcomes(cohort: Cohort, *, today: dt.date) -> list[NavigatorOutcome]:
    """Per navigator ("Unassigned" apart), in one query: the funnel and completion within
    180 days. For managers only: the caller's scope decides who may see it."""
    aggregates = {**_funnel_aggregates(), **_completion_aggregates(180, today)}
    rows = _rows(
        cohort,
        DIMENSIONS["navigator"],
        None,
        aggregates=aggregates,
        size="referred",
        empty=_zeros(aggregates),
    )
    return [
        NavigatorOutcome(
            FunnelRow(key, label, **{name: values[name] for name, _ in FUNNEL_STEPS}),
            (key, label, values["completed_180"], values["followed_180"]),
        )
        for key, label, values in rows
    ]
