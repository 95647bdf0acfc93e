"""Navigation measures by group, one or two dimensions and an optional quarterly
series, each in one grouped query over the programme's cases (`cohort.Cohort`).

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
from patients.caregaps.periods import Period

PREFIX = "patient__"


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
