"""What the navigation figures (`navigation.py`, `barriers.py`) share: the cases one
figure counts (`Cohort`), each step of a case as a correlated subquery on the case, the
completion rule, and the one grouped query per figure (`grouped_rows`).

Every step is read through a subquery correlated on the case (`Exists`, or the first
date with `ORDER BY … LIMIT 1`), never by joining the attempts, appointments and
tests: joining two of those multiplies rows (3 attempts × 2 appointments = 6), and
the counts would need `DISTINCT` and still be wrong for sums and medians.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncDate
from django.db.models.lookups import In, LessThanOrEqual
from django.utils import timezone

from navigator.equity.dimensions import OTHER, Dimension, Expression
from navigator.equity.sql import DaysBetween
from navigator.models import (
    LOOP_CLOSED_STATUSES,
    Appointment,
    AppointmentPurpose,
    CaseStatus,
    NavigationCase,
)
from outreach.models import ContactAttempt, Direction, Outcome
from patients.models import ModalityRole, ScreeningEvent

# The completion windows the dashboard offers (days after the case was opened).
COMPLETION_DAYS = (90, 180)

# The screening loop closed, as the completion report has always counted it: a normal
# result, a follow-up done with its result, or a diagnosis handed to treatment
# (`navigator.cases` sets `completed_at` on the way to "completed" or "treatment" and
# keeps it when a completed case is closed).
LOOP_COMPLETE = Q(status__in=sorted(LOOP_CLOSED_STATUSES), completed_at__isnull=False)

REACHED = ContactAttempt.objects.filter(outcome=Outcome.REACHED)
OUTBOUND = ContactAttempt.objects.filter(direction=Direction.OUTBOUND)
SCHEDULED = Appointment.objects.filter(purpose=AppointmentPurpose.SCREENING)
TESTED = ScreeningEvent.objects.filter(modality__role=ModalityRole.SCREENING)


def local_midnight(day: dt.date) -> dt.datetime:
    """The first instant of `day` in the active time zone."""
    return dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_current_timezone())


@dataclass(frozen=True)
class Cohort:
    """The cases a navigation figure counts: those of one programme (figures never mix
    programmes, whose completion rates differ twofold), opened in the period (both days
    included, local time), within the caller's role scope (`scope`, a `Q` on
    `NavigationCase`), leaving out cases closed as ineligible (they were never meant
    to be screened)."""

    scope: Q
    program_id: int
    period_start: dt.date
    period_end: dt.date

    def __post_init__(self) -> None:
        if self.period_start > self.period_end:
            raise ValueError("the period ends before it starts")

    def in_scope(self) -> QuerySet[NavigationCase]:
        """The programme's cases in scope, whenever opened (ineligible left out)."""
        return (
            NavigationCase.objects.filter(self.scope, program_id=self.program_id)
            .exclude(status=CaseStatus.INELIGIBLE)
            .order_by()
        )

    def cases(self) -> QuerySet[NavigationCase]:
        return self.in_scope().filter(
            opened_at__gte=local_midnight(self.period_start),
            opened_at__lt=local_midnight(self.period_end + dt.timedelta(days=1)),
        )


def on_case(steps: QuerySet, case: str = "pk") -> QuerySet:
    """The rows of `steps` (attempts, appointments, tests) of the outer query's case."""
    return steps.filter(case=OuterRef(case)).order_by()


def has(steps: QuerySet) -> Exists:
    return Exists(on_case(steps))


def first(steps: QuerySet, field: str) -> Subquery:
    """The earliest `field` among the case's rows of `steps` (NULL when none)."""
    return Subquery(on_case(steps).order_by(field).values(field)[:1])


def count_of(steps: QuerySet) -> Coalesce:
    """How many rows of `steps` the case has (0 when none)."""
    counted = on_case(steps).values("case").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted), Value(0))


def followed_for(days: int, today: dt.date, prefix: str = "") -> Q:
    """Cases that have had `days` full days since the day they were opened: opened on
    or before `today − days` (local days)."""
    if days not in COMPLETION_DAYS:
        raise ValueError(f"completion is counted within {COMPLETION_DAYS} days, not {days}")
    cutoff = local_midnight(today - dt.timedelta(days=days - 1))
    return Q(**{f"{prefix}opened_at__lt": cutoff})


def completed_within(days: int, prefix: str = "") -> Q:
    """The loop closed on or before the `days`-th day after the day the case was
    opened (local calendar days, so a case opened at 5 pm is not a day short)."""
    elapsed = DaysBetween(TruncDate(f"{prefix}completed_at"), TruncDate(f"{prefix}opened_at"))
    complete = Q(
        **{
            f"{prefix}status__in": sorted(LOOP_CLOSED_STATUSES),
            f"{prefix}completed_at__isnull": False,
        }
    )
    return complete & Q(LessThanOrEqual(elapsed, days))


def group_key(dimension: Dimension, prefix: str, on: dt.date, population: QuerySet) -> Expression:
    """The dimension's group key. For a dimension that names only its largest groups
    (language: the top 8, the rest "other"), the largest are those with the most rows in
    `population`, chosen by a subquery inside the same query (ties by key), so that
    medians, which cannot be added up afterwards, are computed for "other" too."""
    expression = dimension.expression(prefix, on)
    if dimension.top is None:
        return expression
    fixed = [key for key, _ in dimension.groups]
    largest = (
        population.order_by()
        .annotate(top_group=dimension.expression(prefix, on))
        .exclude(top_group__in=fixed)
        .values("top_group")
        .annotate(size=Count("pk"))
        .order_by("-size", "top_group")
        .values("top_group")[: dimension.top]
    )
    return Case(
        When(In(expression, fixed), then=expression),
        When(In(expression, largest), then=expression),
        default=Value(OTHER),
        output_field=expression.output_field,
    )


GroupRow = tuple[str, str, dict[str, Any]]  # (key, label, the figure's values)


def grouped_rows(
    queryset: QuerySet,
    dimension: Dimension,
    aggregates: Mapping[str, Any],
    *,
    prefix: str,
    on: dt.date,
    population: QuerySet,
    size: str,
    empty: Mapping[str, Any],
) -> list[GroupRow]:
    """`aggregates` per group of `dimension`, in one grouped query. Groups named by the
    data come first, largest `size` first; then the dimension's fixed groups in their
    order, listed with `empty` values when nobody is in them ("not recorded" is always
    shown)."""
    values: dict[str, Any] = {"group": group_key(dimension, prefix, on, population)}
    if dimension.label_expression is not None:
        values["group_label"] = dimension.label_expression(prefix)
    rows = queryset.order_by().annotate(**values).values(*values).annotate(**aggregates)
    fixed = dict(dimension.groups)
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    for row in rows:
        key = str(row["group"])
        label = fixed.get(key) or (row.get("group_label") or "").strip()
        if not label:
            label = dimension.name(key) if dimension.name else key
        # The label follows from the key, so each key comes back in one row.
        found[key] = (label, {name: row[name] for name in aggregates})
    named = sorted(
        (key for key in found if key not in fixed),
        key=lambda key: (-(found[key][1][size] or 0), found[key][0], key),
    )
    result: list[GroupRow] = [(key, *found[key]) for key in named]
    for key, label in dimension.groups:
        result.append((key, label, found[key][1] if key in found else dict(empty)))
    return result


def loop_completed_at() -> Case:
    """The case's `completed_at` when its loop is complete, else NULL."""
    return Case(When(LOOP_COMPLETE, then=F("completed_at")))
