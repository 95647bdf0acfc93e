"""The navigation outcomes page (issue 13, item 1; `/reports/equity/navigation/`):
what happened to one programme's navigation cases opened in a period, by one
dimension, within the user's role scope, each section one grouped query.

`NavigationQuery.from_params` checks what is asked (refusing each bad parameter by
name, as `EquityQuery` does); `navigation_page` answers it: the funnel, completion
within 90 and 180 days, median days between steps and attempts per patient reached,
barriers with and without, close reasons, diagnostic colonoscopy after an abnormal
stool test (colorectal only), navigated versus not among the overdue
(`navigated.py`) and, for managers, each navigator's outcomes. Every count goes
through the suppression rules (`navigation_tables.py`) before it reaches a page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.db.models import CharField, Value

from navigator.equity import navigation as nav
from navigator.equity.chart_marks import Chart
from navigator.equity.charts import funnel as funnel_chart
from navigator.equity.cohort import Cohort
from navigator.equity.dimensions import AGE_BANDS, DIMENSIONS, Dimension, age_dimension
from navigator.equity.navigated import (
    METHODS as NAVIGATED_METHODS,
)
from navigator.equity.navigated import (
    NavigatedComparison,
    cohort_quarter,
    navigated_comparison,
)
from navigator.equity.navigation_barriers import (
    METHODS as BARRIER_METHODS,
)
from navigator.equity.navigation_barriers import (
    barrier_counts,
    diagnostic_follow_up_counts,
)
from navigator.equity.navigation_tables import (
    BarrierDisplay,
    JointTables,
    MedianDisplay,
    barrier_rows,
    joint_statistics,
    median_rows,
    plain_counts,
    share_text,
)
from navigator.equity.populations import population_dimension
from navigator.equity.query import EquityQueryError, parse_date
from navigator.equity.references import reference_group
from navigator.equity.scope import EquityScope, equity_scope
from navigator.equity.stats import METHOD_SENTENCES
from navigator.equity.suppression import TOTAL, hidden_text, is_small
from navigator.models import User
from patients.caregaps.periods import Period, last_complete_quarter_end
from patients.caregaps.population_measures import POPULATION_MEASURES, care_gap_measure_key
from patients.models import ScreeningProgram

DEFAULT_PROGRAM = "colorectal"
DEFAULT_DIMENSION = "race"
# Far-off dates are typos, and past year 9999 the database cannot store them.
EARLIEST = dt.date(2000, 1, 1)
# The page's dimensions: every case dimension ("navigated" splits a population).
PAGE_DIMENSIONS = tuple(key for key in DIMENSIONS if key != "navigated")
FUNNEL_NUMERATORS = tuple(step for step, _ in nav.FUNNEL_STEPS[1:])

BARRIERS_OBSERVATIONAL = (
    "Completion with and without a barrier is observational: cases with a barrier "
    "differ from the others in more ways than the barrier, so the difference is not "
    "what removing the barrier would change."
)


def default_period(today: dt.date) -> tuple[dt.date, dt.date]:
    """Twelve months of opening, ending on the last complete quarter's last day."""
    end = last_complete_quarter_end(today)
    return end.replace(year=end.year - 1) + dt.timedelta(days=1), end


def overdue_measures(program_code: str) -> list[tuple[str, str]]:
    """The stored population measures of a programme, EquiNav's rules first.

    Only screening measures: "overdue" is outside their numerator (not screened),
    while an inverse measure's numerator is itself the bad outcome (CMS122: poor
    control or untested), so `navigated.overdue_rows` would count the wrong side."""
    measures = [
        m for m in POPULATION_MEASURES.values() if m.program_code == program_code and not m.inverse
    ]
    measures.sort(key=lambda m: m.kind != "caregap")
    return [(m.key, m.label) for m in measures]


@dataclass(frozen=True)
class NavigationQuery:
    program: str
    period_start: dt.date
    period_end: dt.date
    stratify: str = DEFAULT_DIMENSION
    overdue_measure: str = ""

    @classmethod
    def from_params(
        cls, params: Mapping[str, str], *, scope: EquityScope, today: dt.date
    ) -> NavigationQuery:
        """Parse query-string-like `params`; raise `EquityQueryError` naming each bad one.
        Missing dates mean the default period; a missing programme, colorectal."""
        errors: dict[str, str] = {}
        program = (params.get("program") or DEFAULT_PROGRAM).strip()
        default_start, default_end = default_period(today)
        start = parse_date(params, "period_start", errors) or default_start
        end = parse_date(params, "period_end", errors) or default_end
        for name, value in (("period_start", start), ("period_end", end)):
            if name not in errors and not EARLIEST <= value <= today + dt.timedelta(days=366):
                errors[name] = f"Choose a date between {EARLIEST} and a year from today."
        if not errors and start > end:
            errors["period_end"] = "The period ends before it starts."
        stratify = (params.get("stratify") or DEFAULT_DIMENSION).strip()
        if stratify not in PAGE_DIMENSIONS:
            errors["stratify"] = f"Unknown dimension “{stratify}”; choose from: " + ", ".join(
                PAGE_DIMENSIONS
            )
        elif not scope.allows(stratify):
            errors["stratify"] = f"Your role cannot stratify by “{stratify}”."
        measures = dict(overdue_measures(program))
        overdue = (params.get("overdue_measure") or "").strip() or care_gap_measure_key(program)
        if measures and overdue not in measures:
            errors["overdue_measure"] = (
                f"“{overdue}” is not a population measure of this programme; choose from: "
                + ", ".join(measures)
            )
        if errors:
            raise EquityQueryError(errors)
        return cls(program, start, end, stratify, overdue)


def case_dimension(key: str, program_code: str) -> Dimension:
    """The dimension as it applies to a programme's cases (its own age bands)."""
    if key == "age":
        return age_dimension(AGE_BANDS.get(program_code, AGE_BANDS["colorectal"]))
    return DIMENSIONS[key]


ALL_OVERDUE = Dimension(
    "all",
    "All overdue patients",
    (("all", "All overdue patients"),),
    lambda prefix, on: Value("all", output_field=CharField()),
)


# --- The sections -------------------------------------------------------------------


def funnel_section(cohort: Cohort, dimension: Dimension) -> JointTables:
    """The funnel per group (1 query), each step a rate of the cases referred."""
    rows = nav.funnel_counts(cohort, dimension)
    tables = {step: [row.counts(step) for row in rows] for step in FUNNEL_NUMERATORS}
    sizes = [row.counts("complete") for row in rows]
    return joint_statistics(tables, reference=reference_group(dimension.key, sizes))


def funnel_picture(tables: JointTables) -> Chart:
    """The funnel of all cases as bars; hidden when the section's total is."""
    steps: list[tuple[str, int | None]] = []
    complete = tables.totals["complete"]
    referred = None if complete is None else complete.denominator
    steps.append((nav.FUNNEL_STEPS[0][1], referred))
    for step, label in nav.FUNNEL_STEPS[1:]:
        total = tables.totals[step]
        steps.append((label, None if total is None else total.numerator))
    return funnel_chart(steps, title="Navigation funnel, all cases")


def completion_section(cohort: Cohort, dimension: Dimension, *, today: dt.date) -> JointTables:
    """Completion within 90 and 180 days per group (1 query)."""
    rows = nav.completion_table(cohort, dimension, today=today)
    tables = {f"completion_{days}": [row.counts(days) for row in rows] for days in (90, 180)}
    return joint_statistics(
        tables, reference=reference_group(dimension.key, tables["completion_180"])
    )


def medians_section(
    cohort: Cohort, dimension: Dimension, *, hidden: frozenset
) -> list[MedianDisplay]:
    """Median days between steps and attempts per patient reached (1 query)."""
    rows = nav.step_medians(cohort, dimension)
    return median_rows(rows, [name for name, _ in nav.STEPS], hidden=hidden)


@dataclass(frozen=True)
class CloseReasonDisplay:
    label: str
    count: str
    share: str


def close_reasons_section(cohort: Cohort) -> tuple[list[CloseReasonDisplay], str]:
    """How the period's closed cases closed, all cases (1 query), and the total."""
    (row,) = nav.close_reasons(cohort)
    shown = plain_counts(row.by_reason, total=row.closed)
    labels = dict(nav.CLOSE_REASONS)
    total_shown = shown[TOTAL] != hidden_text()
    rows = [
        CloseReasonDisplay(
            labels[reason],
            shown[reason],
            share_text(shown[reason], number, row.closed) if total_shown else "",
        )
        for reason, number in row.by_reason.items()
    ]
    return rows, shown[TOTAL]


@dataclass(frozen=True)
class FollowUpSection:
    tables: JointTables  # "done": colonoscopy within 6 months, of those due
    elsewhere: dict[str, str]  # per group key, shown or "Suppressed"


def follow_up_section(cohort: Cohort, dimension: Dimension, *, today: dt.date) -> FollowUpSection:
    """Diagnostic colonoscopy within 6 months of an abnormal stool test (1 query)."""
    rows = diagnostic_follow_up_counts(cohort, dimension, today=today)
    counts = [row.counts() for row in rows]
    tables = joint_statistics({"done": counts}, reference=reference_group(dimension.key, counts))
    elsewhere = {
        row.key: hidden_text()
        if row.key in tables.hidden or is_small(row.done_elsewhere)
        else f"{row.done_elsewhere:,}"
        for row in rows
    }
    return FollowUpSection(tables, elsewhere)


def navigators_section(cohort: Cohort, *, today: dt.date) -> JointTables:
    """Each navigator's funnel and completion within 180 days (1 query); rates and
    intervals only: colleagues are not tested against each other."""
    outcomes = nav.navigator_outcomes(cohort, today=today)
    tables = {
        step: [outcome.funnel.counts(step) for outcome in outcomes] for step in FUNNEL_NUMERATORS
    }
    tables["completion_180"] = [outcome.completion_180 for outcome in outcomes]
    return joint_statistics(tables, reference=None, compare=False)


@dataclass
class NavigationPage:
    query: NavigationQuery
    program: ScreeningProgram
    period: Period
    dimension: Dimension
    funnel: JointTables
    chart: Chart
    completion: JointTables
    medians: list[MedianDisplay]
    barriers: list[BarrierDisplay]
    close_reasons: list[CloseReasonDisplay]
    closed_total: str
    follow_up: FollowUpSection | None
    navigated: NavigatedComparison | None
    navigated_unavailable: str | None
    navigators: JointTables | None
    methods: dict[str, list[str]] = field(default_factory=dict)


def navigation_page(*, user: User, query: NavigationQuery, today: dt.date) -> NavigationPage:
    """Every section of the page as `user`'s role may see it: 9 queries for a
    colorectal programme seen by a manager (the programme, then one per section: the
    funnel, completion, medians, barriers, close reasons, diagnostic follow-up,
    navigated versus not, per navigator), fewer otherwise.

    Raises `PermissionDenied` for a user who may see no figures, and
    `EquityQueryError` for a programme that does not exist."""
    scope = equity_scope(user)
    if scope.sees_nothing:
        raise PermissionDenied("Your role cannot see the navigation figures.")
    program = ScreeningProgram.objects.filter(code=query.program).first()
    if program is None:
        raise EquityQueryError({"program": f"There is no programme “{query.program}”."})
    period = Period(
        query.period_start,
        query.period_end,
        f"Cases opened {query.period_start:%-d %b %Y} to {query.period_end:%-d %b %Y}",
    )
    cohort = Cohort(scope.cases_q, program.pk, query.period_start, query.period_end)
    dimension = case_dimension(query.stratify, program.code)
    funnel = funnel_section(cohort, dimension)
    follow_up = None
    if program.code == "colorectal":
        follow_up = follow_up_section(cohort, dimension, today=today)
    navigated, unavailable = _navigated(query, scope, program.code, today)
    close_rows, closed_total = close_reasons_section(cohort)
    return NavigationPage(
        query=query,
        program=program,
        period=period,
        dimension=dimension,
        funnel=funnel,
        chart=funnel_picture(funnel),
        completion=completion_section(cohort, dimension, today=today),
        medians=medians_section(cohort, dimension, hidden=funnel.hidden),
        barriers=barrier_rows(barrier_counts(cohort, today=today)),
        close_reasons=close_rows,
        closed_total=closed_total,
        follow_up=follow_up,
        navigated=navigated,
        navigated_unavailable=unavailable,
        navigators=navigators_section(cohort, today=today) if user.sees_all_cases else None,
        methods=page_methods(),
    )


def _navigated(
    query: NavigationQuery, scope: EquityScope, program_code: str, today: dt.date
) -> tuple[NavigatedComparison | None, str | None]:
    quarter = cohort_quarter(period_end=query.period_end, today=today)
    if quarter.end < query.period_start:
        return None, (
            "No quarter of this period has had 180 days of follow-up yet; choose an earlier period."
        )
    if not overdue_measures(program_code):
        return None, "This programme has no stored population measure."
    key = query.stratify
    dimension = (
        ALL_OVERDUE
        if DIMENSIONS[key].cases_only
        else population_dimension(key, program_code=program_code)
    )
    comparison = navigated_comparison(
        measure=query.overdue_measure, quarter=quarter, scope=scope, dimension=dimension
    )
    if comparison.overdue == 0:
        return None, (
            f"No overdue patients are stored for {query.overdue_measure} at the end of "
            f"{quarter.label} (the period may not have been computed)."
        )
    return comparison, None


def page_methods() -> dict[str, list[str]]:
    """Each section's method sentences, and those every rate on the page shares."""
    return {
        "cohort": [nav.METHODS["cohort"]],
        "funnel": [nav.METHODS["funnel"]],
        "completion": [nav.METHODS["completion_90"], nav.METHODS["completion_180"]],
        "medians": [nav.METHODS["step_medians"], nav.METHODS["attempts"]],
        "barriers": [BARRIER_METHODS["barriers"], BARRIERS_OBSERVATIONAL],
        "close_reasons": [nav.METHODS["close_reasons"]],
        "follow_up": [BARRIER_METHODS["diagnostic_follow_up"]],
        "navigated": [
            NAVIGATED_METHODS["navigated"],
            NAVIGATED_METHODS["navigated_observational"],
        ],
        "statistics": [
            METHOD_SENTENCES[name]
            for name in ("rate", "difference", "test", "holm", "meaningful", "suppression")
        ],
    }
