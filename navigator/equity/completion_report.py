"""`GET /api/reports/completion/` on the navigation figures (issue 13, plan item 12).

The old report mixed programmes in one rate, counted cases closed as ineligible and
cases opened last week that had no time to complete, and computed its own Wilson
interval. This one reports each programme on its own (`navigation.py`'s cohort: one
programme, opened in the period, ineligible left out), completion within 90 and 180
days of opening with the cases too new for that window left out, the funnel, and
completion within 180 days by navigator, race and ethnicity (each patient counted
once) and preferred language; every rate with `stats.rate_with_interval`, and every
count through the suppression rules (a hidden value is `null`, with `suppressed`).
Four queries per programme, and one for the programmes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.db.models import CharField, Value

from navigator.equity import navigation as nav
from navigator.equity.cohort import Cohort
from navigator.equity.dimensions import DIMENSIONS, Dimension, GroupCounts
from navigator.equity.navigation_tables import joint_statistics
from navigator.equity.scope import EquityScope
from navigator.equity.stats import METHOD_SENTENCES, GroupStatistics
from patients.models import ScreeningProgram

DEFINITION = (
    f"{nav.METHODS['cohort']} Each programme is reported on its own, never mixed. "
    f"{nav.completion_method(90)} {nav.completion_method(180)} "
    "Groups (navigator, race and ethnicity with each patient counted once, preferred "
    "language) are given for completion within 180 days. "
    f"{METHOD_SENTENCES['rate']} {METHOD_SENTENCES['suppression']} Hidden values are null."
)

ALL_CASES = Dimension(
    "all",
    "All cases",
    (("all", "All cases"),),
    lambda prefix, on: Value("all", output_field=CharField()),
)


def _rate(row: GroupStatistics) -> dict[str, Any]:
    return {
        "key": str(row.key),
        "label": row.label,
        "numerator": row.numerator,
        "denominator": row.denominator,
        "rate": None if row.rate is None else round(row.rate, 4),
        "ci95_low": None if row.ci_low is None else round(row.ci_low, 4),
        "ci95_high": None if row.ci_high is None else round(row.ci_high, 4),
        "suppressed": row.suppressed,
    }


def _groups(counts: Sequence[GroupCounts]) -> list[dict[str, Any]]:
    """Rates and intervals by group, hidden cells null (the total counts as shown)."""
    tables = joint_statistics({"rate": counts}, reference=None, compare=False)
    return [_rate(row) for row in tables.tables["rate"]]


def _program_report(program: ScreeningProgram, cohort: Cohort, today: dt.date) -> dict[str, Any]:
    (overall,) = nav.completion_table(cohort, ALL_CASES, today=today)  # query 1
    completion = joint_statistics(
        {f"completion_{days}": [overall.counts(days)] for days in (90, 180)},
        reference=None,
        compare=False,
    )
    outcomes = nav.navigator_outcomes(cohort, today=today)  # query 2
    steps = [step for step, _ in nav.FUNNEL_STEPS[1:]]
    funnel = joint_statistics(
        {step: [outcome.funnel.counts(step) for outcome in outcomes] for step in steps},
        reference=None,
        compare=False,
    )
    referred = sum(outcome.funnel.referred for outcome in outcomes)
    funnel_totals: dict[str, int | None] = {"referred": referred}
    for step in steps:
        total = funnel.totals[step]
        funnel_totals[step] = None if total is None else total.numerator
    if funnel.total_hidden:
        funnel_totals["referred"] = None
    by_race = nav.completion_counts(cohort, DIMENSIONS["race"], days=180, today=today)  # query 3
    by_language = nav.completion_counts(  # query 4
        cohort, DIMENSIONS["language"], days=180, today=today
    )
    return {
        "program": program.code,
        "name": program.name,
        "funnel": funnel_totals,
        "completion_90": _rate(completion.tables["completion_90"][0]),
        "completion_180": _rate(completion.tables["completion_180"][0]),
        "by_navigator": _groups([outcome.completion_180 for outcome in outcomes]),
        "by_race_ethnicity": _groups(by_race),
        "by_language": _groups(by_language),
    }


def completion_report(
    *,
    scope: EquityScope,
    start: dt.date,
    end: dt.date,
    program_code: str | None,
    today: dt.date,
) -> dict[str, Any]:
    """The report for `program_code` (every programme when None), as `scope` may see
    it. Raises `ScreeningProgram.DoesNotExist` for an unknown programme code."""
    programs = ScreeningProgram.objects.order_by("name")
    if program_code:
        programs = programs.filter(code=program_code)
    chosen = list(programs)
    if program_code and not chosen:
        raise ScreeningProgram.DoesNotExist(program_code)
    return {
        "period": {"start": start.isoformat(), "end": end.isoformat()},
        "definition": DEFINITION,
        "programs": [
            _program_report(program, Cohort(scope.cases_q, program.pk, start, end), today)
            for program in chosen
        ],
    }
