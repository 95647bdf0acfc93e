"""A control programme's figures by group (issue 16, item 5), counted in one grouped
query: who is in the programme, who is enrolled and coached, group and individual
attendance, education hours against Medicare's DSMT allowance, who was tested this
year and who is in CMS122's numerator.

The population is the programme's: patients whose stored care gap for it
(`patients.models.CareGap`, the nightly engine's) is one of the control statuses
(diabetes, the programme's ages, no exclusion), within the user's scope. Every other
figure is a count or sum over them; each patient's facts are correlated subqueries
(no join fan-out), and the groups are a `dimensions.Dimension`'s, so the table is
`SELECT group, COUNT(...), SUM(...) ... GROUP BY group`. Python only names and orders
the groups (the data's groups past a dimension's `top` folded into "Other").

The rules, one sentence each for the page, are `METHODS`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import (
    BooleanField,
    Case,
    Count,
    DateField,
    Exists,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Least, TruncDate
from django.utils import timezone

from navigator.equity.dimensions import OTHER, Dimension
from navigator.equity.scope import EquityScope
from navigator.equity.sql import Median, PlusMonths
from navigator.models import (
    OPEN_STATUSES,
    AttendanceStatus,
    CoachingSession,
    CoachingSessionStatus,
    EnrolmentStatus,
    GroupAttendance,
    GroupEnrolment,
    GroupSession,
    NavigationCase,
)
from navigator.selectors.coaching import (
    FOLLOW_UP_TOTAL_MINUTES,
    INITIAL_GROUP_MINUTES,
    INITIAL_INDIVIDUAL_MINUTES,
    INITIAL_TOTAL_MINUTES,
)
from patients.models import CareGap, CareGapStatus, Patient, ScreeningProgram

# In the programme: eligible and not excluded, whatever the last lab says.
CONTROL_STATUSES = (
    CareGapStatus.UNTESTED,
    CareGapStatus.NO_RESULT,
    CareGapStatus.POOR_CONTROL,
    CareGapStatus.ABOVE_TARGET,
    CareGapStatus.AT_TARGET,
)
# CMS122's numerator as the care gap reads it: no HbA1c/GMI this year, the most
# recent without a usable result, or the most recent above 9 %.
POOR_OR_UNTESTED = (CareGapStatus.UNTESTED, CareGapStatus.NO_RESULT, CareGapStatus.POOR_CONTROL)
IN_GROUP = (EnrolmentStatus.ENROLLED, EnrolmentStatus.COMPLETED)

# The counts of each group, by name (all integers; `minutes` is the coached patients'
# education minutes this year, summed).
COUNTS = (
    "eligible",
    "enrolled",
    "coached",
    "tested",
    "poor",
    "in_group",
    "group_held",
    "group_attended",
    "individual_patients",
    "individual_attended",
    "individual_missed",
    "minutes",
    "reached",
)

METHODS: dict[str, str] = {
    "population": (
        "In the programme: patients whose care gap for the programme, as last computed, "
        "makes them eligible (diabetes, the programme's ages) and not excluded (hospice, "
        "palliative care, frailty with advanced illness)."
    ),
    "enrolled": "Enrolled: with a case of the programme open today.",
    "coached": (
        "Coached this year: at least one individual session or group session attended "
        "since 1 January."
    ),
    "tested": (
        "Tested this year: an HbA1c or GMI lab on record since 1 January, with or without "
        "a usable value."
    ),
    "poor": (
        "HbA1c/GMI above 9% or none (CMS122's numerator, as EquiNav's care gap reads it): "
        "no HbA1c or GMI this year, the most recent without a usable result, or the most "
        "recent above 9.0%. An inverse measure: lower is better."
    ),
    "poor_meaningful": (
        'For this inverse measure, "meaningful" compares the shares above 9% or '
        "untested themselves (not their complements): a difference is meaningful when it "
        "is significant after adjustment and at least 10% of the reference's share."
    ),
    "group": (
        "Group attendance: sessions of the patient's own series held since 1 January and "
        "up to now (up to withdrawal for a patient who withdrew), and of those the ones "
        "attended, in person or made up in another series; patients enrolled or "
        "finished, not withdrawn, count as in a group."
    ),
    "individual": (
        "Individual sessions this year that ended attended or missed; cancelled and "
        "still scheduled ones are not counted."
    ),
    "hours": (
        "Education hours, as each patient's page counts them against Medicare's DSMT "
        "allowance: for a patient in their initial training (the 12 months from their "
        "first session attended), the individual and group hours of those 12 months; "
        "after it, those of the calendar year; mean and median over the patients coached "
        "this year."
    ),
    "allowance": (
        "Reached the allowance (42 CFR 410.141(c)): in the initial training, 10 hours, of "
        "which at most 1 individual and 9 group hours count; after it, the follow-up 2 "
        "hours of the calendar year."
    ),
    "sessions_not_independent": (
        "Sessions are not independent (each patient has several), so attendance shares "
        "have no interval or test."
    ),
}


def _scalar(queryset: QuerySet, function: str, column: str = "pk") -> Any:
    """`SELECT function(column) FROM (queryset)` as a subquery: an aggregate of the
    whole filtered set (no GROUP BY), 0 when empty."""
    aggregate = Func(F(column), function=function, output_field=IntegerField())
    return Coalesce(
        Subquery(queryset.order_by().annotate(value=aggregate).values("value")[:1]),
        Value(0),
        output_field=IntegerField(),
    )


@dataclass(frozen=True)
class YearWindow:
    """The year counted: 1 January to the next, and now (sessions held by now)."""

    start: dt.datetime
    end: dt.datetime
    now: dt.datetime

    @property
    def held_until(self) -> dt.datetime:
        return min(self.end, self.now)


def programme_patients(program: ScreeningProgram, scope: EquityScope) -> QuerySet[Patient]:
    """The programme's population within `scope`, each with its care gap's status."""
    status = CareGap.objects.filter(patient=OuterRef("pk"), program=program).values("status")[:1]
    return (
        Patient.objects.filter(scope.patient_q(""))
        .annotate(gap_status=Subquery(status))
        .filter(gap_status__in=CONTROL_STATUSES)
    )


def with_facts(
    patients: QuerySet[Patient], program: ScreeningProgram, window: YearWindow
) -> QuerySet[Patient]:
    """Each patient's coaching facts of the year, as correlated subqueries."""
    year = {"scheduled_at__gte": window.start, "scheduled_at__lt": window.end}
    individual = CoachingSession.objects.filter(
        patient=OuterRef("pk"), case__program=program, **year
    )
    attended = individual.filter(status=CoachingSessionStatus.ATTENDED)
    group_attended = GroupAttendance.objects.filter(
        patient=OuterRef("pk"),
        status=AttendanceStatus.ATTENDED,
        enrolment__series__program=program,
        session__starts_at__gte=window.start,
        session__starts_at__lt=window.end,
    )
    held = GroupSession.objects.filter(
        Q(series__enrolments__patient=OuterRef("pk"))
        & (
            Q(series__enrolments__status__in=IN_GROUP)
            | Q(series__enrolments__ended_at__gt=F("starts_at"))
        ),
        series__program=program,
        starts_at__gte=window.start,
        starts_at__lt=window.held_until,
    )
    came = GroupAttendance.objects.filter(
        Q(session=OuterRef("pk")) | Q(makeup_for=OuterRef("pk")),
        patient=OuterRef(OuterRef("pk")),
        status=AttendanceStatus.ATTENDED,
    )
    return patients.annotate(
        has_open_case=Exists(
            NavigationCase.objects.filter(
                patient=OuterRef("pk"), program=program, status__in=OPEN_STATUSES
            )
        ),
        sessions_attended=_scalar(attended, "COUNT"),
        sessions_missed=_scalar(individual.filter(status=CoachingSessionStatus.MISSED), "COUNT"),
        group_attended_year=_scalar(group_attended, "COUNT"),
        is_in_group=Exists(
            GroupEnrolment.objects.filter(
                patient=OuterRef("pk"), series__program=program, status__in=IN_GROUP
            )
        ),
        sessions_held=_scalar(held, "COUNT"),
        group_came=_scalar(held.filter(Exists(came)), "COUNT"),
    ).annotate(**education_period(window))


def _first_day(queryset: QuerySet, column: str) -> Any:
    earliest = Func(F("day"), function="MIN", output_field=DateField())
    return Subquery(
        queryset.order_by()
        .annotate(day=TruncDate(column))
        .annotate(value=earliest)
        .values("value")[:1]
    )


def _minutes_between(queryset: QuerySet, column: str, minutes: str) -> Any:
    in_period = queryset.annotate(day=TruncDate(column)).filter(
        day__gte=OuterRef("dsmt_start"), day__lt=OuterRef("dsmt_end")
    )
    return _scalar(in_period, "SUM", minutes)


def education_period(window: YearWindow) -> dict[str, Any]:
    """The DSMT period of the year as `navigator.selectors.coaching.education_hours`
    reads it, in SQL: the initial training's 12 months from the first session attended
    (any programme, local days) when they reach into the year, or the year's
    follow-up; the minutes used in it, individual and group; and whether they reach
    the period's allowance (what counts: at most each kind's own limit)."""
    year_start = timezone.localtime(window.start).date()
    next_year = year_start.replace(year=year_start.year + 1)
    last_year = year_start.replace(year=year_start.year - 1)
    individual = CoachingSession.objects.filter(
        patient=OuterRef("pk"), status=CoachingSessionStatus.ATTENDED
    )
    group = GroupAttendance.objects.filter(patient=OuterRef("pk"), status=AttendanceStatus.ATTENDED)
    first_individual = _first_day(individual, "scheduled_at")
    first_group = _first_day(group, "session__starts_at")
    first = Least(Coalesce(first_individual, first_group), Coalesce(first_group, first_individual))
    # Initial training running in the year: begun after 1 January last year (its 12
    # months reach past this 1 January) and before next year.
    running = Q(dsmt_first__gt=last_year) & Q(dsmt_first__lt=next_year)
    return {
        "dsmt_first": first,
        "dsmt_start": Case(
            When(running, then=F("dsmt_first")),
            default=Value(year_start),
            output_field=DateField(),
        ),
        "dsmt_end": Case(
            When(running, then=PlusMonths(F("dsmt_first"), 12)),
            default=Value(next_year),
            output_field=DateField(),
        ),
        "individual_minutes": _minutes_between(individual, "scheduled_at", "minutes_spent"),
        "group_minutes": _minutes_between(group, "session__starts_at", "minutes"),
        "minutes_total": F("individual_minutes") + F("group_minutes"),
        "follow_up": Case(
            When(dsmt_first__lte=last_year, then=Value(True)),
            default=Value(False),
            output_field=BooleanField(),
        ),
        "minutes_initial": Least(F("individual_minutes"), Value(INITIAL_INDIVIDUAL_MINUTES))
        + Least(F("group_minutes"), Value(INITIAL_GROUP_MINUTES)),
        "minutes_follow_up": Least(F("individual_minutes"), Value(FOLLOW_UP_TOTAL_MINUTES))
        + Least(F("group_minutes"), Value(FOLLOW_UP_TOTAL_MINUTES)),
    }


COACHED = Q(sessions_attended__gt=0) | Q(group_attended_year__gt=0)
REACHED = COACHED & (
    (Q(follow_up=False) & Q(minutes_initial__gte=INITIAL_TOTAL_MINUTES))
    | (Q(follow_up=True) & Q(minutes_follow_up__gte=FOLLOW_UP_TOTAL_MINUTES))
)


@dataclass
class GroupFigures:
    """One group's counts (`COUNTS`) and its median education minutes (None when
    nobody was coached, or for "Other" folded from several groups)."""

    key: str
    label: str
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTS, 0))
    median_minutes: float | None = None

    def add(self, counts: dict[str, int]) -> None:
        for name in COUNTS:
            self.counts[name] += counts[name]


def control_figures(
    *,
    program: ScreeningProgram,
    scope: EquityScope,
    dimension: Dimension,
    window: YearWindow,
    on: dt.date,
) -> list[GroupFigures]:
    """Every group's figures, in the dimension's order (1 query)."""
    patients = with_facts(programme_patients(program, scope), program, window)
    values: dict[str, Any] = {"group": dimension.expression("", on)}
    if dimension.label_expression is not None:
        values["group_label"] = dimension.label_expression("")
    rows = (
        patients.order_by()
        .annotate(**values)
        .values(*values)
        .annotate(
            eligible=Count("pk"),
            enrolled=Count("pk", filter=Q(has_open_case=True)),
            coached=Count("pk", filter=COACHED),
            tested=Count("pk", filter=~Q(gap_status=CareGapStatus.UNTESTED)),
            poor=Count("pk", filter=Q(gap_status__in=POOR_OR_UNTESTED)),
            in_group=Count("pk", filter=Q(is_in_group=True)),
            group_held=Coalesce(Sum("sessions_held"), 0),
            group_attended=Coalesce(Sum("group_came"), 0),
            individual_patients=Count(
                "pk", filter=Q(sessions_attended__gt=0) | Q(sessions_missed__gt=0)
            ),
            individual_attended=Coalesce(Sum("sessions_attended"), 0),
            individual_missed=Coalesce(Sum("sessions_missed"), 0),
            minutes=Coalesce(Sum("minutes_total", filter=COACHED), 0),
            median_minutes=Median("minutes_total", filter=COACHED),
            reached=Count("pk", filter=REACHED),
        )
    )
    return assemble(dimension, list(rows))


def assemble(dimension: Dimension, rows: list[dict[str, Any]]) -> list[GroupFigures]:
    """The dimension's groups in order: the data's own groups (largest first, past
    `top` folded into "Other"), then its fixed groups with zeros when empty."""
    fixed = {key: GroupFigures(key, label) for key, label in dimension.groups}
    found: dict[str, GroupFigures] = {}
    folded: dict[str, int] = dict.fromkeys(fixed, 0)
    for row in rows:
        key = str(row["group"])
        counts = {name: int(row[name] or 0) for name in COUNTS}
        if key in fixed:
            fixed[key].add(counts)
            fixed[key].median_minutes = row["median_minutes"]
            folded[key] += 1
            continue
        label = (row.get("group_label") or "").strip()
        if not label:
            label = dimension.name(key) if dimension.name else key
        entry = found.setdefault(key, GroupFigures(key, label))
        entry.add(counts)
        entry.median_minutes = row["median_minutes"]
    ordered = sorted(found.values(), key=lambda g: (-g.counts["eligible"], g.label, g.key))
    if dimension.top is not None:
        for extra in ordered[dimension.top :]:
            fixed[OTHER].add(extra.counts)
            fixed[OTHER].median_minutes = extra.median_minutes
            folded[OTHER] += 1
        ordered = ordered[: dimension.top]
    for key, number in folded.items():
        if number > 1:  # a median of medians is not the median
            fixed[key].median_minutes = None
    return ordered + [fixed[key] for key, _ in dimension.groups]
