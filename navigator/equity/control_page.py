"""The control programme dashboard (issue 16, item 5; `/reports/equity/control/`):
one control programme's figures this year by one equity dimension, within the
user's role scope (`scope.equity_scope`: managers every patient, clinic staff their
clinic's, navigators their caseload's).

`ControlQuery.from_params` checks what is asked (refusing each bad parameter by
name); `control_page` answers it in 5 queries when someone was coached (the
programme; the grouped figures; the all-patients median; the change's cohort and
its lab concepts, codes and Observations add 4), with every figure through the
suppression rules: the shares of the population (enrolled, coached, tested, CMS122's
numerator) jointly, as they share a denominator (`navigation_tables.joint_statistics`);
attendance and hours jointly; the change in HbA1c on its own (`control_change`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.utils import timezone

from navigator.equity import control_change, control_figures
from navigator.equity.chart_marks import Chart, count, percent
from navigator.equity.charts import dot_whisker
from navigator.equity.control_figures import GroupFigures, YearWindow
from navigator.equity.dimensions import AGE_BANDS, DIMENSIONS, Dimension, age_dimension
from navigator.equity.navigation_tables import JointTables, joint_statistics
from navigator.equity.query import EquityQueryError
from navigator.equity.references import reference_group
from navigator.equity.scope import equity_scope
from navigator.equity.sql import Median
from navigator.equity.stats import METHOD_SENTENCES
from navigator.equity.suppression import TOTAL, hidden_text, suppress_groups
from navigator.models import User
from patients.models import ProgramKind, ScreeningProgram

DEFAULT_DIMENSION = "race"
PAGE_DIMENSIONS = tuple(key for key in DIMENSIONS if key not in ("navigator", "navigated"))
# The shares of the population, and the one that is better lower.
SHARES = ("enrolled", "coached", "tested", "poor")
INVERSE = frozenset({"poor"})


@dataclass(frozen=True)
class ControlQuery:
    program: str
    stratify: str = DEFAULT_DIMENSION

    @classmethod
    def from_params(
        cls, params: Mapping[str, str], *, user: User, default: str | None = None
    ) -> ControlQuery:
        """Parse query-string-like `params`; raise `EquityQueryError` naming each bad one.
        A missing programme is `default`, else the first control programme."""
        errors: dict[str, str] = {}
        scope = equity_scope(user)
        program = (params.get("program") or "").strip() or default or default_program()
        stratify = (params.get("stratify") or DEFAULT_DIMENSION).strip()
        if stratify not in PAGE_DIMENSIONS:
            errors["stratify"] = f"Unknown dimension “{stratify}”; choose from: " + ", ".join(
                PAGE_DIMENSIONS
            )
        elif not scope.allows(stratify):
            errors["stratify"] = f"Your role cannot stratify by “{stratify}”."
        if errors:
            raise EquityQueryError(errors)
        return cls(program, stratify)


def control_programs() -> list[tuple[str, str]]:
    """(code, name) of every control programme (1 query)."""
    return list(
        ScreeningProgram.objects.filter(kind=ProgramKind.CONTROL)
        .order_by("name")
        .values_list("code", "name")
    )


def default_program() -> str:
    programs = control_programs()
    return programs[0][0] if programs else "diabetes"


def page_dimension(key: str, program_code: str) -> Dimension:
    if key == "age":
        return age_dimension(AGE_BANDS.get(program_code, AGE_BANDS["diabetes"]))
    return DIMENSIONS[key]


@dataclass(frozen=True)
class CoachingLine:
    """One group's attendance and hours as the page shows them (text; hidden cells
    read "Suppressed")."""

    label: str
    in_group: str
    group_attended: str
    group_held: str
    group_share: str
    individual_attended: str
    individual_missed: str
    individual_share: str
    coached: str
    mean_hours: str
    median_hours: str
    reached: str
    reached_share: str
    is_total: bool = False


@dataclass
class ControlPage:
    query: ControlQuery
    program: ScreeningProgram
    year: int
    dimension: Dimension
    shares: JointTables
    coaching: list[CoachingLine]
    change: list[control_change.ChangeRow]
    change_total: control_change.ChangeRow | None
    chart: Chart
    methods: dict[str, list[str]] = field(default_factory=dict)


def _hours(minutes: float | None) -> str:
    return "" if minutes is None else f"{minutes / 60:.1f}"


def _share(numerator: int, denominator: int) -> str:
    return percent(numerator / denominator) if denominator else ""


def coaching_lines(groups: list[GroupFigures], *, total_median: float | None) -> list[CoachingLine]:
    """Attendance and hours per group, then all patients; a group hidden in any of the
    section's counts is hidden in all of them (they share patients), and so is the
    total wherever one count hides it."""
    families = {
        "in_group": lambda g: (g.counts["in_group"], g.counts["in_group"]),
        "group": lambda g: (g.counts["group_attended"], g.counts["group_held"]),
        "individual": lambda g: (
            g.counts["individual_attended"],
            g.counts["individual_attended"] + g.counts["individual_missed"],
        ),
        "individual_patients": lambda g: (
            g.counts["individual_patients"],
            g.counts["individual_patients"],
        ),
        "reached": lambda g: (g.counts["reached"], g.counts["coached"]),
    }
    hidden: set = set()
    while True:
        found: set = set()
        for family in families.values():
            cells: dict[Hashable, tuple[int, int]] = {g.key: family(g) for g in groups}
            sums = (sum(n for n, _ in cells.values()), sum(d for _, d in cells.values()))
            found |= suppress_groups(cells, total=sums, forced=hidden - {TOTAL})
        if found <= hidden:
            break
        hidden |= found
    lines = [_line(g, hidden=g.key in hidden) for g in groups if g.counts["eligible"]]
    if TOTAL not in hidden:
        everyone = GroupFigures("__all__", "All patients")
        for group in groups:
            everyone.add(group.counts)
        everyone.median_minutes = total_median
        lines.append(_line(everyone, hidden=False, is_total=True))
    return lines


def _line(group: GroupFigures, *, hidden: bool, is_total: bool = False) -> CoachingLine:
    c = group.counts
    if hidden:
        h = hidden_text()
        return CoachingLine(group.label, h, h, h, h, h, h, h, h, h, h, h, h)
    individual = c["individual_attended"] + c["individual_missed"]
    return CoachingLine(
        label=group.label,
        in_group=count(c["in_group"]),
        group_attended=count(c["group_attended"]),
        group_held=count(c["group_held"]),
        group_share=_share(c["group_attended"], c["group_held"]),
        individual_attended=count(c["individual_attended"]),
        individual_missed=count(c["individual_missed"]),
        individual_share=_share(c["individual_attended"], individual),
        coached=count(c["coached"]),
        mean_hours=_hours(c["minutes"] / c["coached"]) if c["coached"] else "",
        median_hours=_hours(group.median_minutes) if c["coached"] else "",
        reached=count(c["reached"]),
        reached_share=_share(c["reached"], c["coached"]),
        is_total=is_total,
    )


def control_page(*, user: User, query: ControlQuery, today: dt.date | None = None) -> ControlPage:
    """Every section as `user`'s role may see it. Raises `PermissionDenied` for a user
    who may see no figures, and `EquityQueryError` for a programme that is not a
    control programme."""
    scope = equity_scope(user)
    if scope.sees_nothing:
        raise PermissionDenied("Your role cannot see the programme figures.")
    now = timezone.now()
    today = today or timezone.localdate()
    program = ScreeningProgram.objects.filter(code=query.program, kind=ProgramKind.CONTROL).first()
    if program is None:
        raise EquityQueryError({"program": f"There is no control programme “{query.program}”."})
    window = YearWindow(
        _midnight(dt.date(today.year, 1, 1)), _midnight(dt.date(today.year + 1, 1, 1)), now
    )
    dimension = page_dimension(query.stratify, program.code)
    groups = control_figures.control_figures(
        program=program, scope=scope, dimension=dimension, window=window, on=today
    )
    tables = {
        name: [(g.key, g.label, g.counts[name], g.counts["eligible"]) for g in groups]
        for name in SHARES
    }
    shares = joint_statistics(
        tables,
        reference=reference_group(dimension.key, tables["poor"]),
        inverse=INVERSE,
    )
    patients = control_figures.programme_patients(program, scope)
    coached = control_figures.with_facts(patients, program, window)
    total_median = coached.aggregate(
        median=Median("minutes_total", filter=control_figures.COACHED)
    )["median"]
    pairs = control_change.change_pairs(
        patients=patients,
        program=program,
        dimension=dimension,
        groups=[g.key for g in groups],
        today=today,
        now=now,
    )
    group_keys = [(g.key, g.label) for g in groups]
    sizes = [(key, label, 0, sum(1 for p in pairs if p.group == key)) for key, label in group_keys]
    change, change_total = control_change.change_rows(
        pairs, group_keys, reference=reference_group(dimension.key, sizes)
    )
    return ControlPage(
        query=query,
        program=program,
        year=today.year,
        dimension=dimension,
        shares=shares,
        coaching=coaching_lines(groups, total_median=total_median),
        change=[row for row in change if row.suppressed or row.n],
        change_total=change_total,
        chart=poor_chart(shares, program),
        methods=page_methods(),
    )


def _midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time()))


def poor_chart(shares: JointTables, program: ScreeningProgram) -> Chart:
    """CMS122's numerator by group: a dot and whisker, the reference's rate dashed."""
    rows = [row for row in shares.tables["poor"] if row.suppressed or row.denominator]
    reference = next((r for r in rows if r.is_reference and not r.suppressed), None)
    return dot_whisker(
        rows,
        reference_rate=reference.rate if reference else None,
        title=f"{program.name}: HbA1c/GMI above 9% or none this year (lower is better)",
        measure_label="Share above 9% or not tested (lower is better)",
    )


def page_methods() -> dict[str, list[str]]:
    m = control_figures.METHODS
    return {
        "population": [
            m["population"],
            m["enrolled"],
            m["coached"],
            m["tested"],
            m["poor"],
            m["poor_meaningful"],
        ],  # fmt: skip
        "coaching": [
            m["group"],
            m["individual"],
            m["hours"],
            m["allowance"],
            m["sessions_not_independent"],
        ],
        "change": list(control_change.METHODS.values()),
        "statistics": [
            METHOD_SENTENCES[name]
            for name in ("rate", "difference", "test", "holm", "meaningful", "suppression")
        ],
    }
