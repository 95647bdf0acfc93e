"""What a rate is stratified by (issue 13, plan increment 3): each `Dimension` turns a
patient's (or a case's) recorded facts into one group key with a SQL expression, so a
whole table of groups is counted in one grouped query (`grouped_counts`), ready for
`navigator.equity.stats.stratified_statistics`.

Rules every dimension keeps:
- each patient (or case) falls in exactly one group, so the groups add up to the total;
- anything not recorded, or recorded as "unknown", is the group "not_recorded", which
  is always listed (with zeros when empty): missing data is shown, never dropped;
- the queryset is rooted at `Patient` (prefix "") or at something with a `patient`
  foreign key, such as `NavigationCase` (prefix "patient__").

Race follows the 2024 OMB SPD 15 combined question tabulated exclusively
(`patients.models.RaceGroup`): one category chosen is "<category> alone", two or more
"Multiracial and/or Multiethnic". `preferred_language` keeps English as a placeholder
when no language was given, so a language counts only where `language_status` is
"recorded"; declined, unknown and never asked are "not recorded" (records from before
the status, with both defaults, were backfilled as "unknown"). `interpreter_needed` is a
plain yes/no defaulting to no, so "no interpreter needed" is believed only beside a
recorded language. English proficiency "declined" and "unknown" are "not recorded".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Case, CharField, Count, F, Q, QuerySet, Value, When
from django.db.models.functions import Cast, Concat

from patients.languages import language_name
from patients.models import (
    LIMITED_ENGLISH_LEVELS,
    EnglishProficiency,
    InsuranceType,
    LanguageStatus,
    Patient,
    RaceGroup,
    Sex,
)

NOT_RECORDED = "not_recorded"
OTHER = "other"
NOT_RECORDED_GROUP = (NOT_RECORDED, "Not recorded")
TOP_LANGUAGES = 8

Expression = Any  # a Django expression giving the group key as text
GroupCounts = tuple[str, str, int, int]  # (key, label, numerator, denominator)


@dataclass(frozen=True)
class Dimension:
    """One way of splitting patients into groups.

    `groups` are listed in this order whatever the data, with zeros when empty
    ("not_recorded" last). Dimensions whose groups come from the data (language,
    clinic, navigator) list those first, largest first, named by `label_expression`
    (counted in the same query) or `name` (in Python); past `top` of them the rest
    are summed into "other".
    """

    key: str
    label: str
    groups: tuple[tuple[str, str], ...]
    expression: Callable[[str, dt.date], Expression]  # (prefix, reference day) -> key
    label_expression: Callable[[str], Expression] | None = None
    name: Callable[[str], str] | None = None
    top: int | None = None
    cases_only: bool = False


def _choice(field: str, keep: Sequence[str]) -> Callable[[str, dt.date], Expression]:
    """The field's value when it is one of `keep`, else "not_recorded"."""

    def expression(prefix: str, on: dt.date) -> Expression:
        return Case(
            When(**{f"{prefix}{field}__in": list(keep)}, then=F(f"{prefix}{field}")),
            default=Value(NOT_RECORDED),
            output_field=CharField(),
        )

    return expression


def _race(prefix: str, on: dt.date) -> Expression:
    return _choice("race_group", [v for v in RaceGroup.values if v != NOT_RECORDED])(prefix, on)


def _language_not_recorded(prefix: str) -> Q:
    return ~Q(**{f"{prefix}language_status": LanguageStatus.RECORDED})


def _language(prefix: str, on: dt.date) -> Expression:
    field = f"{prefix}preferred_language"
    return Case(
        When(_language_not_recorded(prefix), then=Value(NOT_RECORDED)),
        When(**{field: ""}, then=Value(NOT_RECORDED)),
        default=F(field),
        output_field=CharField(),
    )


def _lep(prefix: str, on: dt.date) -> Expression:
    # Neither "declined" nor "unknown" says anything of the patient's English.
    field = f"{prefix}english_proficiency"
    return Case(
        When(**{f"{field}__in": sorted(LIMITED_ENGLISH_LEVELS)}, then=Value("lep")),
        When(**{field: EnglishProficiency.VERY_WELL}, then=Value("english_proficient")),
        default=Value(NOT_RECORDED),
        output_field=CharField(),
    )


def _interpreter(prefix: str, on: dt.date) -> Expression:
    field = f"{prefix}interpreter_needed"
    # A need is recorded when marked; "no" is the default, an answer only beside a
    # recorded language (asked together on the referral).
    recorded = {f"{prefix}language_status": LanguageStatus.RECORDED}
    return Case(
        When(**{field: True}, then=Value("needed")),
        When(**{field: False, **recorded}, then=Value("not_needed")),
        default=Value(NOT_RECORDED),
        output_field=CharField(),
    )


def add_years(day: dt.date, years: int) -> dt.date:
    """The same calendar day `years` later (earlier when negative); 29 February becomes
    the 28th, which matches `Patient.age_on` (a birthday is reached on its date)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


AgeBand = tuple[int, int]  # youngest and oldest age in whole years, both included

# The screening ages of each programme, in bands (USPSTF: colorectal 45–75, breast
# 50–74 biennial with 40–49 on request, cervical 21–65), and CMS122's 18–75 for
# diabetes in the usual adult bands.
AGE_BANDS: dict[str, tuple[AgeBand, ...]] = {
    "colorectal": ((45, 49), (50, 64), (65, 75)),
    "breast": ((50, 64), (65, 74)),
    "cervical": ((21, 29), (30, 65)),
    "diabetes": ((18, 44), (45, 64), (65, 75)),
}


def age_dimension(bands: Sequence[AgeBand], *, key: str = "age") -> Dimension:
    """Age on the reference day, in `bands` (contiguous, youngest first), with the
    younger and older patients in their own groups. Computed as birth-date ranges
    (someone is at least N on `on` when born on or before `add_years(on, -N)`), which
    is exact and needs no SQL age function."""
    bands = tuple(bands)
    for (_, oldest), (youngest, _) in zip(bands, bands[1:], strict=False):
        if youngest != oldest + 1:
            raise ValueError("age bands must be contiguous, youngest first")
    first, last = bands[0][0], bands[-1][1]

    def expression(prefix: str, on: dt.date) -> Expression:
        field = f"{prefix}birth_date"
        whens = [
            When(**{f"{field}__isnull": True}, then=Value(NOT_RECORDED)),
            When(**{f"{field}__gt": add_years(on, -first)}, then=Value(f"under_{first}")),
        ]
        for youngest, oldest in bands:
            born_after = add_years(on, -(oldest + 1))
            whens.append(When(**{f"{field}__gt": born_after}, then=Value(f"{youngest}_{oldest}")))
        return Case(*whens, default=Value(f"over_{last}"), output_field=CharField())

    groups = (
        (f"under_{first}", f"Under {first}"),
        *((f"{youngest}_{oldest}", f"{youngest}–{oldest}") for youngest, oldest in bands),
        (f"over_{last}", f"Over {last}"),
        NOT_RECORDED_GROUP,
    )
    return Dimension(key, "Age", groups, expression)


def _clinic(prefix: str, on: dt.date) -> Expression:
    return F(f"{prefix}clinic__code")


def _clinic_name(prefix: str) -> Expression:
    return F(f"{prefix}clinic__name")


def _case_prefix(prefix: str) -> str:
    """The navigator is the case's, not the patient's: "patient__" (rooted at the case)
    becomes "", "case__patient__" (rooted at a follow-up) "case__"."""
    return prefix.removesuffix("patient__")


def _navigator(prefix: str, on: dt.date) -> Expression:
    case = _case_prefix(prefix)
    return Case(
        When(**{f"{case}navigator__isnull": True}, then=Value(NOT_RECORDED)),
        default=Cast(f"{case}navigator_id", CharField()),
        output_field=CharField(),
    )


def _navigator_name(prefix: str) -> Expression:
    case = _case_prefix(prefix)
    return Concat(
        f"{case}navigator__user__first_name",
        Value(" "),
        f"{case}navigator__user__last_name",
        output_field=CharField(),
    )


def _known(choices: Sequence[tuple[str, str]], *unknown: str) -> tuple[tuple[str, str], ...]:
    return tuple((value, label) for value, label in choices if value not in unknown)


DIMENSIONS: dict[str, Dimension] = {
    dimension.key: dimension
    for dimension in (
        Dimension(
            "race",
            "Race and ethnicity",
            _known(RaceGroup.choices, NOT_RECORDED) + (NOT_RECORDED_GROUP,),
            _race,
        ),
        Dimension(
            "language",
            "Preferred language",
            ((OTHER, "Other languages"), NOT_RECORDED_GROUP),
            _language,
            name=language_name,
            top=TOP_LANGUAGES,
        ),
        Dimension(
            "lep",
            "English proficiency",
            (
                ("lep", "Limited English proficiency (speaks English less than very well)"),
                ("english_proficient", "Speaks English very well"),
                NOT_RECORDED_GROUP,
            ),
            _lep,
        ),
        Dimension(
            "interpreter",
            "Interpreter",
            (
                ("needed", "Interpreter needed"),
                ("not_needed", "No interpreter needed (language recorded)"),
                NOT_RECORDED_GROUP,
            ),
            _interpreter,
        ),
        Dimension(
            "sex",
            "Sex",
            _known(Sex.choices, Sex.UNKNOWN) + (NOT_RECORDED_GROUP,),
            _choice("sex", [v for v in Sex.values if v != Sex.UNKNOWN]),
        ),
        age_dimension(AGE_BANDS["colorectal"]),
        Dimension(
            "insurance",
            "Insurance",
            _known(InsuranceType.choices, InsuranceType.UNKNOWN) + (NOT_RECORDED_GROUP,),
            _choice("insurance_type", [v for v in InsuranceType.values if v != "unknown"]),
        ),
        Dimension(
            "clinic", "Clinic", (NOT_RECORDED_GROUP,), _clinic, label_expression=_clinic_name
        ),
        Dimension(
            "navigator",
            "Navigator",
            ((NOT_RECORDED, "Unassigned"),),
            _navigator,
            label_expression=_navigator_name,
            cases_only=True,
        ),
    )
}


def _prefix(queryset: QuerySet) -> str:
    return "" if queryset.model is Patient else "patient__"


def grouped_counts(
    queryset: QuerySet, dimension: Dimension, *, numerator_q: Q, on: dt.date
) -> list[GroupCounts]:
    """[(group key, label, numerator, denominator)] for the rows of `queryset`, in one
    grouped query: the denominator counts the rows of each group, the numerator those
    that also match `numerator_q`. `on` is the reference day (ages)."""
    if dimension.cases_only and queryset.model is Patient:
        raise ValueError(f"“{dimension.label}” applies to cases, not to patients")
    prefix = _prefix(queryset)
    values: dict[str, Expression] = {"group": dimension.expression(prefix, on)}
    if dimension.label_expression is not None:
        values["group_label"] = dimension.label_expression(prefix)
    rows = (
        queryset.order_by()
        .annotate(**values)
        .values(*values)
        .annotate(
            numerator=Count("pk", filter=numerator_q, distinct=True),
            denominator=Count("pk", distinct=True),
        )
    )
    return _assemble(dimension, list(rows))


def _assemble(dimension: Dimension, rows: list[dict[str, Any]]) -> list[GroupCounts]:
    fixed = dict(dimension.groups)
    counts: dict[str, list[int]] = {key: [0, 0] for key in fixed}
    found: dict[str, list[Any]] = {}  # groups named by the data: key -> [label, n, d]
    for row in rows:
        key = str(row["group"])
        if key in fixed:
            counts[key][0] += row["numerator"]
            counts[key][1] += row["denominator"]
            continue
        label = (row.get("group_label") or "").strip()
        if not label:
            label = dimension.name(key) if dimension.name else key
        entry = found.setdefault(key, [label, 0, 0])
        entry[1] += row["numerator"]
        entry[2] += row["denominator"]
    ordered = sorted(found.items(), key=lambda item: (-item[1][2], item[1][0], item[0]))
    if dimension.top is not None:
        for _, (_, numerator, denominator) in ordered[dimension.top :]:
            counts[OTHER][0] += numerator
            counts[OTHER][1] += denominator
        ordered = ordered[: dimension.top]
    result: list[GroupCounts] = [(key, label, n, d) for key, (label, n, d) in ordered]
    for key, label in dimension.groups:
        result.append((key, label, counts[key][0], counts[key][1]))
    return result
