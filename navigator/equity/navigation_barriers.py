"""Two more navigation figures (issue 13, plan section 2), each one query:

- `barrier_counts`: per barrier type, the barriers found and resolved on the cohort's
  cases, and the 180-day completion of the cases with that barrier against those
  without it;
- `diagnostic_follow_up_counts`: diagnostic follow-up (colonoscopy) within 6 months
  of an abnormal stool test, per group of a dimension.

`METHODS` says each rule in one sentence, as `navigation.METHODS` does for the others.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, F, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from navigator.equity.cohort import (
    Cohort,
    completed_within,
    followed_for,
    grouped_rows,
)
from navigator.equity.dimensions import Dimension, GroupCounts
from navigator.equity.sql import PlusMonths, add_months
from navigator.models import (
    BarrierStatus,
    BarrierType,
    FollowUpCloseReason,
    FollowUpState,
    ResultFollowUp,
)
from patients.models import ScreeningResult

# USMSTF (Robertson et al., Gastroenterology 2017;152:1217–1237; Shaukat et al., Am J
# Gastroenterol 2021;116:458–479): colonoscopy after an abnormal stool test within 6
# months, later colonoscopy carrying more advanced cancers (Corley et al., JAMA 2017).
FOLLOW_UP_MONTHS = 6
BARRIER_COMPLETION_DAYS = 180

METHODS: dict[str, str] = {
    "barriers": (
        "Barriers found and resolved count the barriers recorded on the period's cases; "
        "completion with and without a barrier compares, among cases opened at least 180 "
        "days ago, those with a barrier of that type and those without one, for completion "
        "within 180 days."
    ),
    "diagnostic_follow_up": (
        "Diagnostic follow-up within 6 months counts the abnormal stool tests (FIT, "
        "FOBT, stool DNA) with a result in the period and at least 6 months ago whose "
        "colonoscopy was recorded within 6 months of the result; patients who died are "
        "left out, and a colonoscopy done elsewhere counts as not done here and is shown "
        "as its own number."
    ),
}


@dataclass(frozen=True)
class BarrierRow:
    code: str
    name: str
    category: str
    found: int  # barriers of this type recorded on the cohort's cases
    resolved: int
    cases: int  # cases with at least one barrier of this type
    completed_with: int  # of `followed_with`, completed within 180 days
    followed_with: int  # cases with this barrier opened at least 180 days ago
    completed_without: int
    followed_without: int

    def counts(self) -> list[GroupCounts]:
        """Completion within 180 days, with the barrier and without it, for
        `stats.stratified_statistics` (reference: "without")."""
        return [
            ("with", f"With “{self.name}”", self.completed_with, self.followed_with),
            ("without", f"Without “{self.name}”", self.completed_without, self.followed_without),
        ]


def _count_of(queryset: QuerySet) -> Coalesce:
    """How many rows `queryset` has, as a scalar subquery (evaluated once)."""
    counted = queryset.order_by().annotate(one=Value(1)).values("one").annotate(n=Count("pk"))
    return Coalesce(Subquery(counted.values("n")), Value(0))


def barrier_counts(cohort: Cohort, *, today: dt.date) -> list[BarrierRow]:
    """Every active barrier type (and retired ones found on the cohort's cases), in one
    query rooted at the barrier types: their barriers on the cohort's cases joined
    once (a type without any is still listed, with zeros), the with-barrier completion
    counted over distinct cases, the without-barrier one as all cases minus them."""
    cases = cohort.cases()
    followed = followed_for(BARRIER_COMPLETION_DAYS, today)
    completed = completed_within(BARRIER_COMPLETION_DAYS)
    # The barrier types' barriers joined once (LEFT JOIN: a type without any is still a
    # row); each count takes those on the cohort's cases.
    found = Q(casebarrier__case__in=cases.values("pk"))
    case = "casebarrier__case__"
    followed_here = found & followed_for(BARRIER_COMPLETION_DAYS, today, prefix=case)
    completed_here = followed_here & completed_within(BARRIER_COMPLETION_DAYS, prefix=case)
    rows = (
        BarrierType.objects.order_by("category__order", "name")
        .values("code", "name", "active", category_name=F("category__name"))
        .annotate(
            found=Count("casebarrier", filter=found),
            resolved=Count(
                "casebarrier", filter=found & Q(casebarrier__status=BarrierStatus.RESOLVED)
            ),
            cases=Count("casebarrier__case", filter=found, distinct=True),
            followed_with=Count("casebarrier__case", filter=followed_here, distinct=True),
            completed_with=Count("casebarrier__case", filter=completed_here, distinct=True),
            followed_all=_count_of(cases.filter(followed)),
            completed_all=_count_of(cases.filter(followed & completed)),
        )
    )
    return [
        BarrierRow(
            code=row["code"],
            name=row["name"],
            category=row["category_name"],
            found=row["found"],
            resolved=row["resolved"],
            cases=row["cases"],
            completed_with=row["completed_with"],
            followed_with=row["followed_with"],
            completed_without=row["completed_all"] - row["completed_with"],
            followed_without=row["followed_all"] - row["followed_with"],
        )
        for row in rows
        if row["active"] or row["found"]
    ]


@dataclass(frozen=True)
class FollowUpRow:
    key: str
    label: str
    done: int  # colonoscopy recorded within 6 months of the result
    due: int  # abnormal stool tests whose 6 months have passed (deaths left out)
    done_elsewhere: int  # closed as done elsewhere: counted in `due`, not in `done`

    def counts(self) -> GroupCounts:
        return (self.key, self.label, self.done, self.due)


# Done, with the colonoscopy's date within 6 months of the stool test's result.
DONE_WITHIN_SIX_MONTHS = Q(
    state=FollowUpState.DONE, done_on__lte=PlusMonths(F("result_on"), FOLLOW_UP_MONTHS)
)


def follow_ups_due(cohort: Cohort, *, today: dt.date) -> QuerySet[ResultFollowUp]:
    """The diagnostic follow-ups of abnormal stool tests on the programme's cases in
    scope, with a result in the cohort's period and at least 6 months before `today`,
    deaths left out (the denominator of `diagnostic_follow_up_counts`)."""
    latest = min(cohort.period_end, add_months(today, -FOLLOW_UP_MONTHS))
    return (
        ResultFollowUp.objects.filter(
            case__in=cohort.in_scope().values("pk"),
            kind="diagnostic",
            screening__modality__mailed_kit=True,
            screening__result=ScreeningResult.ABNORMAL,
            result_on__gte=cohort.period_start,
            result_on__lte=latest,
        )
        .exclude(state=FollowUpState.CLOSED, close_reason=FollowUpCloseReason.DECEASED)
        .order_by()
    )


def diagnostic_follow_up_counts(
    cohort: Cohort, dimension: Dimension, *, today: dt.date, on: dt.date | None = None
) -> list[FollowUpRow]:
    """Per group, in one query: of the follow-ups due (`follow_ups_due`), those done
    within 6 months of the result, and those closed as done elsewhere. The cohort's
    period applies to the result's date, not to when the case was opened."""
    due = follow_ups_due(cohort, today=today)
    within = DONE_WITHIN_SIX_MONTHS
    elsewhere = Q(state=FollowUpState.CLOSED, close_reason=FollowUpCloseReason.DONE_ELSEWHERE)
    aggregates = {
        "done": Count("pk", filter=within),
        "due": Count("pk"),
        "done_elsewhere": Count("pk", filter=elsewhere),
    }
    rows = grouped_rows(
        due,
        dimension,
        aggregates,
        prefix="case__patient__",
        on=on or cohort.period_end,
        population=due,
        size="due",
        empty=dict.fromkeys(aggregates, 0),
    )
    return [FollowUpRow(key, label, **values) for key, label, values in rows]
