"""The change in HbA1c after coaching (issue 16, item 5), by group.

For each patient of the programme's population (`control_figures`) with at least
one coaching session attended (individual or group, ever): the baseline is the last
laboratory HbA1c in the 12 months before the day of the first session attended (an
older value says nothing of the patient when coaching began), the follow-up the most
recent laboratory HbA1c on a day at least 3 months after that day (up to today); the
change is follow-up minus baseline, in percentage points. Of a day with several
HbA1c readings the lowest counts, as CMS122 reads "the most recent"
(`patients.caregaps.glycemic`). Only numbers in the programme's scale (%, no
comparator such as "> 14") are paired.

Like is paired with like: the GMI, which counts for CMS122's status, is left out of
the change. It is an estimate from a continuous glucose monitor's mean glucose and
can differ from the same patient's laboratory A1C by a point or more (ADA Standards
of Care 2025, §6 "Glycemic Goals": "GMI ... may not match the laboratory-measured
A1C"), so a GMI after an HbA1c (or before it) would measure the two tests'
disagreement as much as any change.

Each group's mean change has a paired t 95% interval; a group's mean is compared
with the reference group's by Welch's t-test, the p-values adjusted with Holm's
method across the groups, as the rates are. A group whose number of pairs is 1 to
10 is hidden, with a complement, like every other count.

The lab values are FHIR Observations stored as received (JSON), read by the
engine's own reader (`engine.lab_readings_of`) so that the change, the care gap and
the case page's trend agree on what a reading is. The cohort (with each patient's
group and first session, one grouped query) and its Observations (one query) are
read set-wise; the readings are then paired in Python, for the coached patients only.

Before and after, not cause and effect: with no comparison group, regression to the
mean (patients are enrolled when their value is high), other treatment and the
passing of time all move the change.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections import defaultdict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import F, Func, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce, Least
from django.utils import timezone
from scipy import stats as scipy_stats

from navigator.equity.dimensions import OTHER, Dimension
from navigator.equity.sql import add_months
from navigator.equity.stats import ALPHA, holm_adjust
from navigator.equity.suppression import TOTAL, suppress_groups
from navigator.models import (
    AttendanceStatus,
    CoachingSession,
    CoachingSessionStatus,
    GroupAttendance,
)
from patients.caregaps.control import Reading
from patients.caregaps.engine import lab_readings_of
from patients.models import ClinicalResource, Patient, ScreeningProgram
from patients.selectors import concept_codes

FOLLOW_UP_MONTHS = 3
BASELINE_LOOKBACK_MONTHS = 12
# The one lab concept the change reads (`LabConcept.key`): the laboratory HbA1c, not
# the GMI (see the module's docstring).
CHANGE_LAB_CONCEPT = "hba1c"

METHODS: dict[str, str] = {
    "definition": (
        "Change after coaching: for each patient with at least one coaching session "
        "attended (individual or group), the most recent laboratory HbA1c on a day at "
        "least 3 months after the first session attended, minus the last one in the 12 "
        "months before that session (of a day's readings the lowest, as CMS122 reads "
        "them). Patients without both values are not counted; n is the number of "
        "patients with both."
    ),
    "lab_only": (
        "Only laboratory HbA1c values are paired: a GMI (glucose management indicator, "
        "estimated from a glucose monitor) can differ from the laboratory A1C (ADA "
        "Standards of Care 2025, section 6), so it is not used for a before and after "
        "change, though it counts for CMS122."
    ),
    "interval": (
        "Each mean change has a 95% paired t interval; a group is compared with the "
        "reference group by Welch's t-test, with Holm's adjustment across the groups."
    ),
    "not_causal": (
        "This is before and after, not the effect of coaching: without a comparison "
        "group, regression to the mean (patients join when their value is high), "
        "changes in treatment and time itself all move it."
    ),
}


@dataclass(frozen=True)
class Pair:
    patient_id: int
    group: str
    baseline: Decimal
    follow_up: Decimal

    @property
    def change(self) -> float:
        return float(self.follow_up - self.baseline)


@dataclass(frozen=True)
class ChangeRow:
    """One group's mean change; a hidden group has its key and label only."""

    key: Hashable
    label: str
    n: int | None
    mean: float | None
    ci_low: float | None
    ci_high: float | None
    difference: float | None = None
    p_value: float | None = None
    p_adjusted: float | None = None
    suppressed: bool = False
    is_reference: bool = False


def _value(reading: Reading, unit: str) -> Decimal | None:
    """The reading's number in the programme's scale, or None when it has none."""
    result = reading.assessment.result
    quantity = result.quantity
    if result.missing or quantity is None or quantity.comparator is not None:
        return None
    if not quantity.same_scale(unit):
        return None
    return quantity.in_unit(unit)


def _lowest_on_last_day(values: Iterable[tuple[dt.date, Decimal]]) -> Decimal | None:
    by_day: dict[dt.date, list[Decimal]] = defaultdict(list)
    for day, value in values:
        by_day[day].append(value)
    return min(by_day[max(by_day)]) if by_day else None


def pair_of(
    readings: Sequence[Reading], *, first_session: dt.date, unit: str, today: dt.date
) -> tuple[Decimal, Decimal] | None:
    """(baseline, follow-up) of one patient, or None when either is missing."""
    values = [(r.day, v) for r in readings if (v := _value(r, unit)) is not None]
    after = add_months(first_session, FOLLOW_UP_MONTHS)
    since = add_months(first_session, -BASELINE_LOOKBACK_MONTHS)
    baseline = _lowest_on_last_day((d, v) for d, v in values if since <= d < first_session)
    follow_up = _lowest_on_last_day((d, v) for d, v in values if after <= d <= today)
    if baseline is None or follow_up is None:
        return None
    return baseline, follow_up


def coached_cohort(
    patients: QuerySet[Patient], program: ScreeningProgram, *, now: dt.datetime
) -> QuerySet[Patient]:
    """The patients with a session attended by `now`, each with the start of their
    first one (`first_session`)."""
    individual = CoachingSession.objects.filter(
        patient=OuterRef("pk"),
        case__program=program,
        status=CoachingSessionStatus.ATTENDED,
        scheduled_at__lte=now,
    )
    group = GroupAttendance.objects.filter(
        patient=OuterRef("pk"),
        enrolment__series__program=program,
        status=AttendanceStatus.ATTENDED,
        session__starts_at__lte=now,
    )

    def first(queryset: QuerySet, column: str) -> Any:
        earliest = Func(F(column), function="MIN")
        return Subquery(queryset.order_by().annotate(value=earliest).values("value")[:1])

    return (
        patients.annotate(
            first_individual=first(individual, "scheduled_at"),
            first_group=first(group, "session__starts_at"),
        )
        .annotate(
            first_session=Least(
                Coalesce("first_individual", "first_group"),
                Coalesce("first_group", "first_individual"),
            )
        )
        .filter(Q(first_individual__isnull=False) | Q(first_group__isnull=False))
    )


def change_pairs(
    *,
    patients: QuerySet[Patient],
    program: ScreeningProgram,
    dimension: Dimension,
    groups: Sequence[str],
    today: dt.date,
    now: dt.datetime,
) -> list[Pair]:
    """Every coached patient's pair of laboratory HbA1c values, keyed by group (keys
    outside `groups` are "Other", as the main table folds them). Four queries: the
    cohort, the programme's HbA1c concept, its codes (2)... then the Observations (1)."""
    cohort = coached_cohort(patients, program, now=now)
    rows = list(
        cohort.annotate(group=dimension.expression("", today)).values_list(
            "pk", "group", "first_session", "birth_date"
        )
    )
    if not rows:
        return []
    keys = list(program.lab_concepts.filter(key=CHANGE_LAB_CONCEPT).values_list("key", flat=True))
    codes = frozenset().union(*concept_codes(keys).values()) if keys else frozenset()
    resources: dict[int, list[tuple[int, dict]]] = defaultdict(list)
    observations = ClinicalResource.objects.filter(
        patient_id__in=Subquery(cohort.values("pk")), resource_type="Observation"
    ).order_by("pk")
    for pk, patient_id, resource in observations.values_list("pk", "patient_id", "resource"):
        resources[patient_id].append((pk, resource))
    known = set(groups)
    pairs = []
    for patient_id, group, first_session, birth_date in rows:
        readings = lab_readings_of(
            resources=resources.get(patient_id, []), birth_date=birth_date, codes=codes
        )
        found = pair_of(
            readings,
            first_session=timezone.localdate(first_session),
            unit=program.target_unit,
            today=today,
        )
        if found is not None:
            key = str(group) if str(group) in known else OTHER
            pairs.append(Pair(patient_id, key, *found))
    return pairs


def mean_interval(changes: Sequence[float], alpha: float = ALPHA) -> tuple[float, float, float]:
    """The mean and its t interval (scipy's t quantile); one value has no interval."""
    mean = statistics.fmean(changes)
    if len(changes) < 2:
        return mean, math.nan, math.nan
    sem = statistics.stdev(changes) / math.sqrt(len(changes))
    half = float(scipy_stats.t.ppf(1 - alpha / 2, len(changes) - 1)) * sem
    return mean, mean - half, mean + half


def change_rows(
    pairs: Sequence[Pair],
    groups: Sequence[tuple[str, str]],
    *,
    reference: str | None,
) -> tuple[list[ChangeRow], ChangeRow | None]:
    """Each group's row (in `groups`' order) and the all-patients row (None when
    hidden): small groups and their complements hidden, shown groups compared with
    the reference (when shown) by Welch's t-test, Holm across them."""
    by_group: dict[str, list[float]] = {key: [] for key, _ in groups}
    for pair in pairs:
        by_group.setdefault(pair.group, []).append(pair.change)
    counts: dict[Hashable, tuple[int, int]] = {k: (len(v), len(v)) for k, v in by_group.items()}
    hidden = suppress_groups(counts, total=(len(pairs), len(pairs)))
    if reference in hidden or not by_group.get(reference or "", []):
        reference = None
    tests: dict[str, tuple[float, float]] = {}
    for key, values in by_group.items():
        if key in hidden or key == reference or reference is None:
            continue
        base = by_group[reference]
        if len(values) < 2 or len(base) < 2:
            continue
        if statistics.pvariance(values) == 0 and statistics.pvariance(base) == 0:
            continue  # no spread at all: the t statistic is undefined
        result = scipy_stats.ttest_ind(values, base, equal_var=False)
        tests[key] = (statistics.fmean(values) - statistics.fmean(base), float(result.pvalue))
    adjusted = dict(zip(tests, holm_adjust([p for _, p in tests.values()]), strict=True))
    rows = []
    for key, label in groups:
        values = by_group[key]
        if key in hidden:
            rows.append(ChangeRow(key, label, None, None, None, None, suppressed=True))
            continue
        mean, low, high = mean_interval(values) if values else (math.nan, math.nan, math.nan)
        difference, p_value = tests.get(key, (None, None))
        rows.append(
            ChangeRow(
                key, label, len(values), _number(mean), _number(low), _number(high),
                difference, p_value, adjusted.get(key), is_reference=key == reference,
            )
        )  # fmt: skip
    total = None
    if TOTAL not in hidden and pairs:
        mean, low, high = mean_interval([p.change for p in pairs])
        total = ChangeRow("__all__", "All patients", len(pairs), mean, _number(low), _number(high))
    return rows, total


def _number(value: float) -> float | None:
    return None if math.isnan(value) else value
