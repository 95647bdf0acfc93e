"""Navigated versus not among the overdue (issue 13, item 4: "the evidence that
navigation closes the gap"): of the patients who were overdue for screening at a
quarter's end, the share screened within the next 180 days, for those a navigator took
on and those nobody did, per group of one dimension, in one grouped query.

- Cohort: the stored population rows (`MeasurePopulation`) of one measure (EquiNav's
  care-gap rules for the programme, or its eCQM) for the rolling period ending on the
  quarter's last day `q`, in the denominator (not excluded) and not in the numerator:
  overdue on `q`. Only a period computed for everyone (`MeasurePeriod`) counts, and
  only a quarter whose 180 days have passed (`q + 180 days ≤ today`).
- Exposure: a case of that programme open on `q`, or opened in the 30 days after it.
- Outcome: a screening test of that programme (a modality with the role "screening")
  performed after `q` and at most 180 days after it.

It is observational: patients were not assigned to navigation at random (navigators
take on the patients they can reach, and the care-gap list ranks them), so the
difference is an association, not the effect of navigation. `METHODS` says so.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable
from dataclasses import dataclass

from django.db.models import Case, CharField, Exists, OuterRef, Q, QuerySet, Value, When

from navigator.equity.cohort import local_midnight
from navigator.equity.dimensions import Dimension, Expression
from navigator.equity.grouping import GroupedCounts, count_grouped
from navigator.equity.populations import PREFIX
from navigator.equity.scope import EquityScope
from navigator.equity.two_way import TwoWayTable, two_way_statistics
from navigator.models import NavigationCase
from patients.caregaps.periods import Period, last_complete_quarter_end, quarter_period
from patients.models import MeasurePeriod, MeasurePopulation, ModalityRole, ScreeningEvent

FOLLOW_DAYS = 180  # the outcome window after the quarter's end
GRACE_DAYS = 30  # a case opened this soon after the quarter's end still counts

NAVIGATED = "navigated"
NOT_NAVIGATED = "not_navigated"

METHODS: dict[str, str] = {
    "navigated": (
        "Among patients overdue for screening at a quarter's end (in the measure's "
        "denominator and not in its numerator), screened within 180 days compares "
        "those with a navigation case of the programme open on that day or opened "
        "within the next 30 days against those without one; a screening test of the "
        "programme done in the 180 days after the quarter's end counts, and only "
        "quarters whose 180 days have passed are shown."
    ),
    "navigated_observational": (
        "This is an observational comparison, not a randomised one: navigators chose "
        "whom to take on, so the difference is an association and may partly reflect "
        "who was navigated rather than what navigation did."
    ),
}


def _navigated(prefix: str, on: dt.date) -> Expression:
    """ "navigated" when the row's patient had a case of the row's programme open on
    `on` (the quarter's end) or opened in the 30 days after it."""
    case = NavigationCase.objects.filter(
        patient=OuterRef("patient"),
        program=OuterRef("program"),
        opened_at__lt=local_midnight(on + dt.timedelta(days=GRACE_DAYS + 1)),
    ).filter(Q(closed_at__isnull=True) | Q(closed_at__gte=local_midnight(on)))
    return Case(
        When(Exists(case), then=Value(NAVIGATED)),
        default=Value(NOT_NAVIGATED),
        output_field=CharField(),
    )


EXPOSURE = Dimension(
    "navigated",
    "Navigation",
    (
        (NAVIGATED, "Navigated"),
        (NOT_NAVIGATED, "Not navigated"),
    ),
    _navigated,
)


def screened_within(quarter_end: dt.date) -> Q:
    """A screening test of the row's programme performed in (q, q + 180 days]."""
    test = ScreeningEvent.objects.filter(
        patient=OuterRef("patient"),
        modality__program=OuterRef("program"),
        modality__role=ModalityRole.SCREENING,
        performed_on__gt=quarter_end,
        performed_on__lte=quarter_end + dt.timedelta(days=FOLLOW_DAYS),
    )
    return Q(Exists(test))


def cohort_quarter(*, period_end: dt.date, today: dt.date) -> Period:
    """The latest rolling quarter ending by `period_end` whose 180 days have passed."""
    latest = last_complete_quarter_end(
        min(period_end, today - dt.timedelta(days=FOLLOW_DAYS)) + dt.timedelta(days=1)
    )
    return quarter_period(latest.year, (latest.month - 1) // 3 + 1)


def overdue_rows(*, measure: str, quarter: Period, scope: EquityScope) -> QuerySet:
    """The stored rows of patients overdue at the quarter's end, within `scope`, of a
    period computed for everyone (an `EXISTS` on `MeasurePeriod`, in the same query)."""
    complete = MeasurePeriod.objects.filter(
        measure=measure, period_start=quarter.start, period_end=quarter.end
    )
    return MeasurePopulation.objects.filter(
        scope.patient_q(PREFIX),
        Exists(complete),
        measure=measure,
        period_start=quarter.start,
        period_end=quarter.end,
        denominator_exclusion=False,
        numerator=False,
    )


def navigated_counts(
    *, measure: str, quarter: Period, scope: EquityScope, dimension: Dimension
) -> GroupedCounts:
    """(screened within 180 days, overdue) per (group of `dimension`, navigated or not),
    in one grouped query."""
    return count_grouped(
        overdue_rows(measure=measure, quarter=quarter, scope=scope),
        [dimension, EXPOSURE],
        prefix=PREFIX,
        on=quarter.end,
        numerator_q=screened_within(quarter.end),
    )


@dataclass(frozen=True)
class NavigatedComparison:
    measure: str
    quarter: Period
    table: TwoWayTable  # rows: the dimension's groups; columns: navigated, not navigated
    overdue: int  # everyone counted (0: nothing stored, or nobody overdue)


def navigated_comparison(
    *,
    measure: str,
    quarter: Period,
    scope: EquityScope,
    dimension: Dimension,
) -> NavigatedComparison:
    """The counts with their statistics: each group's navigated rate against its
    not-navigated rate (difference, interval, Holm across the groups), small cells
    hidden with their complements (`two_way.two_way_statistics`)."""
    counts = navigated_counts(measure=measure, quarter=quarter, scope=scope, dimension=dimension)
    cells: dict[tuple[Hashable, Hashable], tuple[int, int]] = dict(counts.two_way().items())
    table = two_way_statistics(cells, counts.groups[0], counts.groups[1], NOT_NAVIGATED)
    return NavigatedComparison(measure, quarter, table, counts.denominator())
