"""Navigation measures by group, one or two dimensions and an optional quarterly
series, each in one grouped query over the programme's cases (`cohort.Cohort`).

Diagnostic follow-up: the follow-ups of abnormal stool tests due 6 months ago or
more, and of those, the ones done within 6 months (`navigation_barriers`).

Completion within N days: the cases opened in the period that have had N days since,
and of those, the ones whose loop closed within N days (`cohort.followed_for`,
`cohort.completed_within`). A quarterly series splits the cases by the calendar quarter
they were opened in; each quarter is its own cohort (quarters of opening do not
overlap, unlike the population measures' rolling windows).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.db.models import Case, CharField, Q, Value, When

from navigator.equity.cohort import Cohort, completed_within, followed_for, local_midnight
from navigator.equity.dimensions import Dimension
from navigator.equity.grouping import GroupedCounts, count_grouped
from navigator.equity.navigation_barriers import DONE_WITHIN_SIX_MONTHS, follow_ups_due
from patients.caregaps.periods import Period

PREFIX = "patient__"
FOLLOW_UP_PREFIX = "case__patient__"


def completion_days(measure: str) -> int:
    return int(measure.rsplit("_", 1)[1])


def calendar_quarters(last_end: dt.date, count: int) -> list[Period]:
    """The `count` calendar quarters ending with the one that ends on `last_end`,
    oldest first, labelled "2026 Q1" (cases opened in that quarter)."""
    quarters: list[Period] = []
    end = last_end
    for _ in range(count):
        start = dt.date(end.year, 3 * ((end.month - 1) // 3) + 1, 1)
        quarters.append(Period(start, end, f"{end.year} Q{(end.month - 1) // 3 + 1}"))
        end = start - dt.timedelta(days=1)
    return quarters[::-1]


def _opening_quarter(quarters: Sequence[Period]) -> Case:
    return Case(
        *(
            When(
                opened_at__gte=local_midnight(quarter.start),
                opened_at__lt=local_midnight(quarter.end + dt.timedelta(days=1)),
                then=Value(quarter.end.isoformat()),
            )
            for quarter in quarters
        ),
        default=Value(""),
        output_field=CharField(),
    )


def _result_quarter(quarters: Sequence[Period]) -> Case:
    return Case(
        *(
            When(
                result_on__gte=quarter.start,
                result_on__lte=quarter.end,
                then=Value(quarter.end.isoformat()),
            )
            for quarter in quarters
        ),
        default=Value(""),
        output_field=CharField(),
    )


def diagnostic_counts_grouped(
    *,
    cohort: Cohort,
    today: dt.date,
    dimensions: Sequence[Dimension],
    extras: dict[str, Q] | None = None,
    quarters: Sequence[Period] = (),
) -> GroupedCounts:
    """Diagnostic colonoscopy within 6 months of an abnormal stool test, by group (1
    query), over the follow-ups `navigation_barriers.follow_ups_due` counts: the
    cohort's period applies to the result's date; with `quarters`, per quarter of the
    result."""
    return count_grouped(
        follow_ups_due(cohort, today=today),
        dimensions,
        prefix=FOLLOW_UP_PREFIX,
        on=cohort.period_end,
        numerator_q=DONE_WITHIN_SIX_MONTHS,
        series=_result_quarter(quarters) if quarters else None,
        extras=extras,
    )


def completion_counts_grouped(
    *,
    cohort: Cohort,
    days: int,
    today: dt.date,
    dimensions: Sequence[Dimension],
    extras: dict[str, Q] | None = None,
    quarters: Sequence[Period] = (),
) -> GroupedCounts:
    """Completion within `days` by group (1 query). With `quarters`, the cohort spans
    them and the counts come per quarter of opening, keyed by the quarter's last day
    (ISO text)."""
    return count_grouped(
        cohort.cases(),
        dimensions,
        prefix=PREFIX,
        on=cohort.period_end,
        numerator_q=completed_within(days),
        denominator_q=followed_for(days, today),
        series=_opening_quarter(quarters) if quarters else None,
        extras=extras,
    )
