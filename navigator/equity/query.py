"""What the dashboard is asked for, parsed and checked once for the page, the API,
the CSV and the PDF (`EquityQuery.from_params`), so each refuses the same bad input
with the same words.

Every problem is reported against the parameter that caused it
(`EquityQueryError.errors`), never as a 500 and never by silently showing another
figure than the one asked for.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from django.utils import timezone

from navigator.equity.catalog import ALIASES, MEASURES, measure_info
from navigator.equity.dimensions import DIMENSIONS
from navigator.equity.scope import ALL_DIMENSIONS, EquityScope

RACE_RULES = {
    "exclusive": "Each patient counted once (two or more categories: Multiracial)",
    "any": "Alone or in combination (a patient counted in every category chosen)",
}
MAX_DIMENSIONS = 2
# Far-off dates are typos (and past year 9999 no date arithmetic holds).
EARLIEST = dt.date(2000, 1, 1)
LATEST_AHEAD = dt.timedelta(days=366)
DEFAULT_MEASURE = "CMS130"


class EquityQueryError(ValueError):
    """The request's parameters, each with what is wrong with it."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class EquityQuery:
    measure: str = DEFAULT_MEASURE
    program: str | None = None  # a programme code, for measures that need one
    period_start: dt.date | None = None  # None: the latest period available
    period_end: dt.date | None = None
    stratify: tuple[str, ...] = ("race",)
    reference: str | None = None  # None: the dimension's preset or largest group
    quarters: bool = False
    race_rule: str = "exclusive"
    age_adjust: bool = False

    @property
    def program_code(self) -> str | None:
        return measure_info(self.measure).program or self.program

    @classmethod
    def from_params(cls, params: Mapping[str, str], *, scope: EquityScope) -> EquityQuery:
        """Parse query-string-like `params`; raise `EquityQueryError` naming each bad one."""
        errors: dict[str, str] = {}

        measure = (params.get("measure") or DEFAULT_MEASURE).strip()
        measure = ALIASES.get(measure, measure)
        if measure not in MEASURES:
            errors["measure"] = f"Unknown measure “{measure}”; choose one of: " + ", ".join(
                [*MEASURES, *ALIASES]
            )
        program = (params.get("program") or "").strip() or None
        if measure in MEASURES and MEASURES[measure].program is None and program is None:
            errors["program"] = "Choose a programme: rates of different programmes are never mixed."

        start = parse_date(params, "period_start", errors)
        end = parse_date(params, "period_end", errors)
        if (start is None) != (end is None) and not {"period_start", "period_end"} & set(errors):
            errors["period_end" if end is None else "period_start"] = (
                "Give both period_start and period_end, or neither (the latest period)."
            )
        for name, value in (("period_start", start), ("period_end", end)):
            if value is not None and not EARLIEST <= value <= timezone.localdate() + LATEST_AHEAD:
                errors[name] = f"Choose a date between {EARLIEST} and a year from today."
        if start and end and start > end and "period_end" not in errors:
            errors["period_end"] = "The period ends before it starts."

        stratify = tuple(
            part.strip() for part in (params.get("stratify") or "race").split(",") if part.strip()
        )
        if not stratify:
            errors["stratify"] = "Choose at least one dimension."
        elif len(stratify) > MAX_DIMENSIONS:
            errors["stratify"] = f"At most {MAX_DIMENSIONS} dimensions at a time."
        elif len(set(stratify)) != len(stratify):
            errors["stratify"] = "Choose two different dimensions."
        else:
            unknown = [d for d in stratify if d not in ALL_DIMENSIONS]
            barred = [d for d in stratify if d in ALL_DIMENSIONS and not scope.allows(d)]
            if unknown:
                errors["stratify"] = f"Unknown dimension “{unknown[0]}”; choose from: " + ", ".join(
                    sorted(ALL_DIMENSIONS)
                )
            elif barred:
                errors["stratify"] = f"Your role cannot stratify by “{barred[0]}”."
            elif measure in MEASURES and MEASURES[measure].kind != "navigation":
                cases_only = [d for d in stratify if d in DIMENSIONS and DIMENSIONS[d].cases_only]
                if cases_only:
                    errors["stratify"] = (
                        f"“{cases_only[0]}” describes navigation cases, not a population."
                    )
            elif measure in MEASURES and "navigated" in stratify:
                errors["stratify"] = "“navigated” splits a population; cases are all navigated."

        race_rule = (params.get("race_rule") or "exclusive").strip()
        if race_rule not in RACE_RULES:
            errors["race_rule"] = "Choose “exclusive” or “any”."
        reference = (params.get("reference") or "").strip() or None
        for name in ("quarters", "age_adjust"):
            if not _is_flag(params.get(name)):
                errors[name] = "Use true or false."

        if errors:
            raise EquityQueryError(errors)
        return cls(
            measure=measure,
            program=program,
            period_start=start,
            period_end=end,
            stratify=stratify,
            reference=reference,
            quarters=_flag(params.get("quarters")),
            race_rule=race_rule,
            age_adjust=_flag(params.get("age_adjust")),
        )


def parse_date(params: Mapping[str, str], name: str, errors: dict[str, str]) -> dt.date | None:
    """The date parameter `name`, or None when absent; a bad one is added to `errors`."""
    raw = (params.get(name) or "").strip()
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        errors[name] = f"“{raw}” is not a date (YYYY-MM-DD)."
        return None


TRUE = {"1", "true", "yes", "on"}
# Absent, empty or one of these: anything else is refused, not read as false.
FLAG_VALUES = TRUE | {"", "0", "false", "no", "off"}


def _is_flag(raw: str | None) -> bool:
    return (raw or "").strip().lower() in FLAG_VALUES


def _flag(raw: str | None) -> bool:
    return (raw or "").strip().lower() in TRUE
