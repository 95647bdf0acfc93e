"""The completion report: cases opened in a period and how many completed, overall
and by program, navigator, race and ethnicity, and language, with 95% intervals."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from navigator.models import NavigationCase, NavigatorProfile
from patients.languages import language_name
from patients.models import RaceEthnicity

# Below this many cases a rate is shown, but flagged: it is too noisy to compare.
SMALL_GROUP = 20


def wilson_interval(successes: int, total: int, z: float = 1.96) -> tuple[float, float] | None:
    """95% Wilson score interval for a proportion; honest at small n and near 0 or 1."""
    if total == 0:
        return None
    p = successes / total
    denominator = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass
class RateRow:
    key: str
    label: str
    opened: int
    completed: int

    @property
    def rate(self) -> float | None:
        return self.completed / self.opened if self.opened else None

    @property
    def interval(self) -> tuple[float, float] | None:
        return wilson_interval(self.completed, self.opened)

    @property
    def small_group(self) -> bool:
        return self.opened < SMALL_GROUP

    def as_dict(self) -> dict[str, Any]:
        interval = self.interval
        return {
            "key": self.key,
            "label": self.label,
            "opened": self.opened,
            "completed": self.completed,
            "rate": round(self.rate, 4) if self.rate is not None else None,
            "ci95_low": round(interval[0], 4) if interval else None,
            "ci95_high": round(interval[1], 4) if interval else None,
            "small_group": self.small_group,
        }


@dataclass
class CompletionReport:
    start: dt.date
    end: dt.date
    overall: RateRow
    by_program: list[RateRow]
    by_navigator: list[RateRow]
    by_race_ethnicity: list[RateRow]
    by_language: list[RateRow]

    def as_dict(self) -> dict[str, Any]:
        return {
            "period": {"start": self.start.isoformat(), "end": self.end.isoformat()},
            "definition": (
                COMPLETION_DEFINITION + " Race and ethnicity is multi-select, so a patient "
                "counts in every group they chose and the groups add up to more than the total."
            ),
            "overall": self.overall.as_dict(),
            "by_program": [r.as_dict() for r in self.by_program],
            "by_navigator": [r.as_dict() for r in self.by_navigator],
            "by_race_ethnicity": [r.as_dict() for r in self.by_race_ethnicity],
            "by_language": [r.as_dict() for r in self.by_language],
        }


def _period_bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    zone = timezone.get_current_timezone()
    return (
        dt.datetime.combine(start, dt.time.min, tzinfo=zone),
        dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=zone),
    )


# What "completed" counts, said once for the page and the API.
COMPLETION_DEFINITION = (
    "Cases opened in the period; completed means the screening loop closed (at any time "
    "up to now): a normal result, or, after a result that called for a follow-up, the "
    "follow-up done and its result recorded (a diagnosis handed to treatment navigation "
    "included), or a test reported done by the EHR feed without a result. A test with an "
    "abnormal result whose follow-up is still open, or was closed without it, is not "
    "completed."
)


def _grouped(cases: QuerySet[NavigationCase], field: str) -> list[tuple[Any, int, int]]:
    rows = (
        cases.values(field)
        .annotate(
            opened=Count("pk", distinct=True),
            completed=Count("pk", filter=Q(completed_at__isnull=False), distinct=True),
        )
        .order_by(field)
    )
    return [(row[field], row["opened"], row["completed"]) for row in rows]


def completion_report(
    *, start: dt.date, end: dt.date, program_id: int | None = None
) -> CompletionReport:
    low, high = _period_bounds(start, end)
    cases = NavigationCase.objects.filter(opened_at__gte=low, opened_at__lt=high)
    if program_id is not None:
        cases = cases.filter(program_id=program_id)

    totals = cases.aggregate(
        opened=Count("pk"), completed=Count("pk", filter=Q(completed_at__isnull=False))
    )
    overall = RateRow("all", "All cases", totals["opened"], totals["completed"])

    by_program = [
        RateRow(str(name), str(name), opened, completed)
        for name, opened, completed in _grouped(cases, "program__name")
    ]

    navigator_names = {n.pk: str(n) for n in NavigatorProfile.objects.select_related("user")}
    by_navigator = sorted(
        (
            RateRow(
                str(pk) if pk else "unassigned",
                navigator_names.get(pk, "Unassigned"),
                opened,
                completed,
            )
            for pk, opened, completed in _grouped(cases, "navigator_id")
        ),
        key=lambda r: r.label,
    )

    race_labels = dict(RaceEthnicity.choices)
    race_rows = {
        key: (opened, completed)
        for key, opened, completed in _grouped(cases, "patient__race_ethnicities__category")
    }
    by_race_ethnicity = [
        RateRow(key, label, *race_rows.get(key, (0, 0))) for key, label in race_labels.items()
    ]
    if None in race_rows:
        by_race_ethnicity.append(RateRow("not_recorded", "Not recorded", *race_rows[None]))

    by_language = sorted(
        (
            RateRow(code, language_name(code), opened, completed)
            for code, opened, completed in _grouped(cases, "patient__preferred_language")
        ),
        key=lambda r: -r.opened,
    )
    return CompletionReport(
        start=start,
        end=end,
        overall=overall,
        by_program=by_program,
        by_navigator=by_navigator,
        by_race_ethnicity=by_race_ethnicity,
        by_language=by_language,
    )
