"""The disparities dashboard's one entry point: `equity_dashboard(user=, query=)`
answers an `EquityQuery` for the page, the API, the CSV and the PDF alike, so each
shows the same numbers, hides the same cells and states the same methods.

At most three queries, whatever the number of groups: the periods (stored periods of
a population measure, or the programme of a navigation measure), the table itself
(one or two dimensions, with the completeness counts for the warning), and, on
request, the quarterly series.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial

from django.core.exceptions import PermissionDenied
from django.utils import timezone

from navigator.equity.age_adjustment import STANDARD_WEIGHTS, age_adjusted_rate
from navigator.equity.case_counts import (
    calendar_quarters,
    completion_counts_grouped,
    completion_days,
    diagnostic_counts_grouped,
)
from navigator.equity.catalog import MeasureInfo, measure_info
from navigator.equity.cohort import Cohort
from navigator.equity.dimensions import AGE_BANDS, DIMENSIONS, Dimension, age_dimension
from navigator.equity.grouping import GroupedCounts, pinned
from navigator.equity.methods import method_sentences
from navigator.equity.navigation import METHODS as NAVIGATION_METHODS
from navigator.equity.navigation import completion_method
from navigator.equity.navigation_barriers import METHODS as FOLLOW_UP_METHODS
from navigator.equity.populations import (
    RACE_ANY,
    population_counts,
    population_dimension,
    rolling_quarters,
    stored_periods,
)
from navigator.equity.quality import completeness_filters, completeness_warnings
from navigator.equity.query import EquityQuery, EquityQueryError
from navigator.equity.references import UnknownReferenceGroup, reference_group
from navigator.equity.scope import EquityScope, equity_scope
from navigator.equity.stats import GroupStatistics, Rate, stratified_statistics
from navigator.equity.story import gap_sentence
from navigator.equity.suppression import TOTAL, is_small, suppress_groups, suppress_two_way
from navigator.equity.two_way import (
    TwoWayTable,
    hidden_row,
    overlapping_statistics,
    two_way_statistics,
)
from navigator.models import User
from patients.caregaps.periods import Period, last_complete_quarter_end
from patients.models import ScreeningProgram

# Quarters shown in a series: two years.
SERIES_QUARTERS = 8


@dataclass(frozen=True)
class QuarterRow:
    period: Period
    groups: list[GroupStatistics]


@dataclass
class EquityResult:
    query: EquityQuery
    measure: MeasureInfo
    program_code: str
    period: Period | None
    periods: list[Period]
    dimensions: tuple[Dimension, ...]
    reference: Hashable | None = None
    groups: list[GroupStatistics] = field(default_factory=list)
    two_way: TwoWayTable | None = None
    quarters: list[QuarterRow] = field(default_factory=list)
    story: list[str] = field(default_factory=list)
    methods: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    unavailable: str | None = None
    # Directly age-adjusted rates by group key (shown groups whose age bands are all
    # large enough; see `_age_adjusted`).
    age_adjusted: dict[Hashable, Rate] = field(default_factory=dict)

    @property
    def reference_label(self) -> str | None:
        for group in self.groups:
            if group.key == self.reference:
                return group.label
        return None


@dataclass
class Counted:
    """What one request counted: the table, the quarterly series, and for race "alone
    or in combination" the same patients each counted once (its suppression)."""

    result: EquityResult
    counts: GroupedCounts | None
    series: GroupedCounts | None = None
    exclusive: GroupedCounts | None = None


def equity_dashboard(
    *, user: User, query: EquityQuery, today: dt.date | None = None
) -> EquityResult:
    """The figures `query` asks for, as `user`'s role may see them.

    Raises `EquityQueryError` for a request that cannot be answered as asked (a period
    not computed, a reference that is not a group, a programme that does not exist),
    and `PermissionDenied` for a user who may see no figures at all.
    """
    scope = equity_scope(user)
    if scope.sees_nothing:
        raise PermissionDenied("Your role cannot see the equity figures.")
    today = today or timezone.localdate()
    measure = measure_info(query.measure)
    program_code = query.program_code or ""
    if query.race_rule == "any" and len(query.stratify) > 1 and "race" in query.stratify:
        raise EquityQueryError(
            {
                "race_rule": "Race alone or in combination counts a patient more than once; "
                "show it on its own, not crossed with another dimension."
            }
        )
    if query.age_adjust and (len(query.stratify) > 1 or "age" in query.stratify):
        raise EquityQueryError(
            {"age_adjust": "Age adjustment applies to one dimension other than age."}
        )
    dimensions = tuple(
        _dimension(key, measure=measure, program_code=program_code, race_rule=query.race_rule)
        for key in query.stratify
    )
    if query.race_rule == "any" and query.quarters and "race" in query.stratify:
        raise EquityQueryError(
            {
                "quarters": "The quarterly trend counts each patient once: choose that "
                "rule for race, or leave the trend out."
            }
        )
    if measure.kind == "navigation":
        counted = _navigation(query, measure, program_code, scope, dimensions, today)
    else:
        counted = _population(query, measure, program_code, scope, dimensions)
    result, counts = counted.result, counted.counts
    if counts is None:
        return result
    _statistics(result, counts, counted.series, counted.exclusive)
    result.warnings = _completeness(result, counts)
    result.methods = method_sentences(
        measure_kind=measure.kind,
        measure_method=_measure_method(measure),
        compared=result.reference is not None,
        two_way=len(dimensions) == 2,
        race_rule=query.race_rule if "race" in query.stratify else None,
        quarters=bool(result.quarters),
        rolling=measure.kind != "navigation",
        age_adjusted=query.age_adjust,
    )
    return result


def _dimension(key: str, *, measure: MeasureInfo, program_code: str, race_rule: str) -> Dimension:
    """A population's dimensions read the stored age of each period; a case's read the
    birth date against the period's end (`dimensions.age_dimension`)."""
    if measure.kind == "navigation" and key == "age":
        return age_dimension(AGE_BANDS.get(program_code, AGE_BANDS["colorectal"]))
    return population_dimension(key, program_code=program_code, race_rule=race_rule)


def _with_age(
    dimensions: tuple[Dimension, ...], query: EquityQuery, measure: MeasureInfo, program_code: str
) -> tuple[Dimension, ...]:
    """The dimensions the table is counted by: with age bands added when the rates are
    to be age-adjusted (the one-way table is then the first dimension's margin)."""
    if not query.age_adjust:
        return dimensions
    return (
        *dimensions,
        _dimension("age", measure=measure, program_code=program_code, race_rule="exclusive"),
    )


def _measure_method(measure: MeasureInfo) -> str | None:
    if measure.key.startswith("completion_"):
        return f"{NAVIGATION_METHODS['cohort']} {completion_method(completion_days(measure.key))}"
    if measure.key == "diagnostic_follow_up":
        return FOLLOW_UP_METHODS["diagnostic_follow_up"]
    return None


def _population(
    query: EquityQuery,
    measure: MeasureInfo,
    program_code: str,
    scope: EquityScope,
    dimensions: tuple[Dimension, ...],
) -> Counted:
    periods = stored_periods(measure.key)  # query 1
    result = EquityResult(query, measure, program_code, None, periods, dimensions)
    if not periods:
        result.unavailable = (
            f"{measure.label} has not been computed for any period yet. A manager can "
            "compute it (manage.py measure_populations, or POST /api/equity/periods/)."
        )
        return Counted(result, None)
    if query.period_start is None:
        period = periods[0]
    else:
        matching = [
            p for p in periods if (p.start, p.end) == (query.period_start, query.period_end)
        ]
        if not matching:
            raise EquityQueryError(
                {
                    "period_start": f"{measure.key} has not been computed for "
                    f"{query.period_start} to {query.period_end}. Computed periods: "
                    + ", ".join(p.label for p in periods[:12])
                    + "; a manager can ask for this one at POST /api/equity/periods/."
                }
            )
        period = matching[0]
    result.period = period
    extras = completeness_filters("patient__")
    counted = _with_age(dimensions, query, measure, program_code)
    rolling = (
        rolling_quarters(periods, through=period.end, count=SERIES_QUARTERS)
        if query.quarters
        else []
    )
    result.quarters = [QuarterRow(p, []) for p in rolling]
    if rolling and rolling[-1][:2] == period[:2] and _fixed_groups(dimensions):
        # The table is the series' last quarter: one query counts both (query 2).
        both = population_counts(
            measure=measure.key, periods=rolling, scope=scope, dimensions=counted, extras=extras
        )
        return Counted(result, both.at(_at(both, result.quarters[-1])), both)
    counts = population_counts(  # query 2
        measure=measure.key, periods=[period], scope=scope, dimensions=counted, extras=extras
    )
    if dimensions[0] is RACE_ANY:
        exclusive = population_counts(  # query 3
            measure=measure.key, periods=[period], scope=scope, dimensions=[DIMENSIONS["race"]]
        )
        return Counted(result, counts, exclusive=exclusive)
    series = None
    if rolling:
        series = population_counts(  # query 3
            measure=measure.key,
            periods=rolling,
            scope=scope,
            dimensions=[pinned(dimensions[0], counts.groups[0])],
        )
    return Counted(result, counts, series)


def _fixed_groups(dimensions: tuple[Dimension, ...]) -> bool:
    """One dimension whose groups are all fixed, so that its series, sliced at one
    quarter, lists the groups that counting the quarter alone would (a language's or a
    clinic's groups are ranked by size over what was counted)."""
    return len(dimensions) == 1 and not any(
        d.top is not None or d.label_expression or d.name for d in dimensions
    )


def _navigation(
    query: EquityQuery,
    measure: MeasureInfo,
    program_code: str,
    scope: EquityScope,
    dimensions: tuple[Dimension, ...],
    today: dt.date,
) -> Counted:
    program = ScreeningProgram.objects.filter(code=program_code).only("pk").first()  # query 1
    if program is None:
        raise EquityQueryError({"program": f"There is no programme “{program_code}”."})
    if query.period_start is None or query.period_end is None:
        end = last_complete_quarter_end(today)
        period = Period(end.replace(year=end.year - 1) + dt.timedelta(days=1), end, "")
    else:
        period = Period(query.period_start, query.period_end, "")
    period = period._replace(label=f"Opened {period.start:%-d %b %Y} to {period.end:%-d %b %Y}")
    result = EquityResult(query, measure, program_code, period, [period], dimensions)
    cohort = Cohort(scope.cases_q, program.pk, period.start, period.end)
    quarters = calendar_quarters(last_complete_quarter_end(today), SERIES_QUARTERS)
    if measure.key == "diagnostic_follow_up":
        counts = diagnostic_counts_grouped(  # query 2
            cohort=cohort,
            today=today,
            dimensions=_with_age(dimensions, query, measure, program_code),
            extras=completeness_filters("case__patient__"),
        )
        series_of = partial(diagnostic_counts_grouped, today=today)
    else:
        days = completion_days(measure.key)
        counts = completion_counts_grouped(  # query 2
            cohort=cohort,
            days=days,
            today=today,
            dimensions=_with_age(dimensions, query, measure, program_code),
            extras=completeness_filters("patient__"),
        )
        series_of = partial(completion_counts_grouped, days=days, today=today)
    if dimensions[0] is RACE_ANY:
        exclusive = series_of(cohort=cohort, dimensions=[DIMENSIONS["race"]])  # query 3
        return Counted(result, counts, exclusive=exclusive)
    series = None
    if query.quarters:
        result.quarters = [QuarterRow(q, []) for q in quarters]
        series = series_of(  # query 3
            cohort=Cohort(scope.cases_q, program.pk, quarters[0].start, quarters[-1].end),
            dimensions=[pinned(dimensions[0], counts.groups[0])],
            quarters=quarters,
        )
    return Counted(result, counts, series)


def _statistics(
    result: EquityResult,
    counts: GroupedCounts,
    series: GroupedCounts | None,
    exclusive: GroupedCounts | None = None,
) -> None:
    query, favorable = result.query, result.measure.favorable
    first = result.dimensions[0]
    groups = counts.one_way(0)
    if first is RACE_ANY:
        result.groups = overlapping_statistics(
            groups, hidden=_race_any_hidden(groups, exclusive) if exclusive else ()
        )
        return
    try:
        reference = reference_group(
            first.key, groups, query.reference if len(result.dimensions) == 1 else None
        )
    except UnknownReferenceGroup as error:
        raise EquityQueryError({"reference": str(error)}) from error
    result.reference = reference
    if reference is not None:
        result.groups = stratified_statistics(groups, reference, favorable=favorable)
    if query.age_adjust:
        result.age_adjusted = _age_adjusted(result, counts)
    if len(result.dimensions) == 2:
        columns = counts.groups[1]
        try:
            column_reference = reference_group(
                result.dimensions[1].key, counts.one_way(1), query.reference
            )
        except UnknownReferenceGroup as error:
            raise EquityQueryError({"reference": str(error)}) from error
        if column_reference is not None:
            # The margins are the one-way tables of both dimensions, hidden as those
            # tables hide them (the rows' is `result.groups`, on this very page).
            result.two_way = two_way_statistics(
                counts.two_way(),
                counts.groups[0],
                columns,
                column_reference,
                favorable=favorable,
                rows_hidden=_one_way_hidden(counts, 0),
                columns_hidden=_one_way_hidden(counts, 1),
            )
    if series is None or reference is None:
        return
    forced = _quarters_forced(result, counts, series)
    for index, row in enumerate(result.quarters):
        at_groups = series.one_way(at=_at(series, row))
        result.quarters[index] = QuarterRow(
            row.period,
            stratified_statistics(
                at_groups, reference, favorable=favorable, forced=forced.get(row.period.end, ())
            ),
        )
    result.story = _story(result)


def _quarters_forced(
    result: EquityResult, counts: GroupedCounts, series: GroupedCounts
) -> dict[dt.date, set[Hashable]]:
    """For a navigation measure whose period is exactly some quarters of its series,
    the table is the sum of those quarters, group by group. The groups × quarters are
    then suppressed as one two-way table whose margins are the table (hidden as it
    hides them) and each quarter's total, so that no quarter's hidden cell is the table
    less the shown quarters; each quarter's own table then hides at least those cells
    (and its complements, which go back into the two-way table until both agree).
    Returns, per quarter's end, the groups that quarter must hide."""
    period = result.period
    if result.measure.kind != "navigation" or period is None:
        return {}
    inside = [
        row.period
        for row in result.quarters
        if period.start <= row.period.start and row.period.end <= period.end
    ]
    if not inside or (inside[0].start, inside[-1].end) != (period.start, period.end):
        return {}
    per_quarter: dict[dt.date, dict[Hashable, tuple[int, int]]] = {
        quarter.end: {
            key: (n, d) for key, _, n, d in series.one_way(at=_at_end(series, quarter.end))
        }
        for quarter in inside
    }
    cells: dict[tuple[Hashable, Hashable], tuple[int, int]] = {
        (key, end): pair for end, groups in per_quarter.items() for key, pair in groups.items()
    }
    table_hidden: set[Hashable] = {
        (key, TOTAL) for key in _one_way_hidden(counts, 0) if key != TOTAL
    }
    forced: dict[dt.date, set[Hashable]] = {end: set() for end in per_quarter}
    while True:
        margins_hidden = set(table_hidden)
        for end, groups in per_quarter.items():
            quarter_hidden = suppress_groups(
                groups, total=_sum_counts(groups.values()), forced=forced[end]
            )
            forced[end] = {key for key in quarter_hidden if key != TOTAL}
            if TOTAL in quarter_hidden:
                margins_hidden.add((TOTAL, end))
        already = {(key, end) for end, keys in forced.items() for key in keys}
        hidden = suppress_two_way(cells, margins_hidden=margins_hidden, forced_cells=already)
        inner = {key for key in hidden if TOTAL not in key}
        if inner <= already:
            return forced
        for key, quarter_end in inner - already:
            forced[quarter_end].add(key)  # type: ignore[index]


def _at_end(series: GroupedCounts, end: dt.date) -> Hashable:
    for value in series.series:
        if str(value) == end.isoformat():
            return value
    return end


def _sum_counts(counts: Iterable[tuple[int, int]]) -> tuple[int, int]:
    pairs = list(counts)
    return sum(n for n, _ in pairs), sum(d for _, d in pairs)


def _race_any_hidden(any_groups: list, exclusive: GroupedCounts) -> set[Hashable]:
    """What the "alone or in combination" table must hide so that it cannot open the
    "each patient once" table of the same patients: every category that table hides,
    and every category whose patients who chose it among others (its count less its
    "alone" count) are 1 to 10 (a reader would get them by subtraction)."""
    alone = {key: (n, d) for key, _, n, d in exclusive.one_way(0)}
    hidden = _one_way_hidden(exclusive, 0)
    for key, _, numerator, denominator in any_groups:
        alone_numerator, alone_denominator = alone.get(key, (0, 0))
        if is_small(numerator - alone_numerator) or is_small(denominator - alone_denominator):
            hidden.add(key)
    return {key for key, *_ in any_groups if key in hidden}


def _one_way_hidden(counts: GroupedCounts, index: int) -> set[Hashable]:
    """What the one-way table of dimension `index` hides (`stratified_statistics` hides
    the same: the same counts, the same total)."""
    groups: dict[Hashable, tuple[int, int]] = {
        key: (n, d) for key, _, n, d in counts.one_way(index)
    }
    total = (sum(n for n, _ in groups.values()), sum(d for _, d in groups.values()))
    return suppress_groups(groups, total=total)


def _age_adjusted(result: EquityResult, counts: GroupedCounts) -> dict[Hashable, Rate]:
    """Each shown group's rate adjusted to the 2000 US standard population over the
    programme's age bands. Left out for a group with an age band of 1 to 10 people (an
    unstable rate, and one that could help work out a hidden cell); patients outside
    the bands are not part of an adjusted rate."""
    bands = AGE_BANDS.get(result.program_code, AGE_BANDS["colorectal"])
    weights = STANDARD_WEIGHTS.get(result.program_code, STANDARD_WEIGHTS["colorectal"])
    cells = counts.two_way()
    adjusted: dict[Hashable, Rate] = {}
    for group in result.groups:
        if group.suppressed or not group.denominator:
            continue
        per_band = [
            (*cells[(str(group.key), f"{youngest}_{oldest}")], weight)
            for (youngest, oldest), weight in zip(bands, weights, strict=True)
        ]
        if any(is_small(n) or is_small(d) for n, d, _ in per_band):
            continue
        adjusted[group.key] = age_adjusted_rate(per_band)
    return adjusted


def _completeness(result: EquityResult, counts: GroupedCounts) -> list[str]:
    """The data-quality warnings of the table: per clinic when the table is by clinic
    (which clinic's data are thin), else for everyone counted."""
    if result.dimensions[0].key == "clinic":
        labels = dict(counts.groups[0])
        warnings = []
        for (_, key), row in sorted(counts.group_extras.items(), key=lambda item: str(item[0][1])):
            for warning in completeness_warnings(row):
                warnings.append(f"{labels.get(key, key)}: {warning}")
        return warnings
    total = {
        "denominator": counts.denominator(),
        **{name: counts.extra_count(name) for name in completeness_filters()},
    }
    return completeness_warnings(total)


def _at(series: GroupedCounts, row: QuarterRow) -> Hashable:
    """The series key of a quarter: the period's end, as the query returned it (a date
    from the stored periods, ISO text from the quarter-of-opening expression)."""
    for value in series.series:
        if str(value) == row.period.end.isoformat():
            return value
    return row.period.end


def story_series(
    result: EquityResult, key: Hashable
) -> list[tuple[str, GroupStatistics, GroupStatistics]]:
    """(quarter label, the group's row, the reference's row) for each quarter; a group
    absent from a quarter is a hidden row (nothing to say about it)."""
    series = []
    for row in result.quarters:
        group = _find(row.groups, key) or hidden_row(key, "", is_reference=False)
        reference = _find(row.groups, result.reference) or hidden_row(
            result.reference, "", is_reference=True
        )
        series.append((row.period.label, group, reference))
    return series


def plain_label(label: str) -> str:
    """A group's name inside a sentence: "Hispanic or Latino alone" reads "Hispanic or
    Latino" (the exclusive counting rule is stated in the methods)."""
    return label.removesuffix(" alone")


def _story(result: EquityResult) -> list[str]:
    """One sentence per group whose gap to the reference was meaningful in some quarter."""
    sentences = []
    for group in result.groups:
        if group.is_reference or group.suppressed:
            continue
        series = story_series(result, group.key)
        if not any(quarter_group.meaningful for _, quarter_group, _ in series):
            continue
        sentences.append(
            gap_sentence(
                series,
                group_label=plain_label(group.label),
                reference_label=plain_label(result.reference_label or ""),
                measure_label=result.measure.story_label,
                favorable=result.measure.favorable,
                action=result.measure.action if result.measure.kind != "navigation" else None,
            )
        )
    return sentences


def _find(groups: Sequence[GroupStatistics], key: Hashable) -> GroupStatistics | None:
    return next((group for group in groups if group.key == key), None)
