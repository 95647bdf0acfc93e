"""A control programme's worklist rules (issue 16): the coaching session the patient
missed, the HbA1c/GMI that is due, and the last one above target.

Each is a `Rule` like the screening ones (`navigator.worklist.rules`, where `RULES`
ranks them all): a fact per case, NULL where the rule does not hold. The lab rules
read the case's care gap (patients.models.CareGap, one row per patient and
programme, found by its unique index), which the care-gap engine keeps with the
last lab's day, value and the next lab due (patients.caregaps.control: due a
programme-set number of months after the last lab, sooner when it was not at
target, after ADA Standards of Care 2025, section 6). The gap's dates are compared
with today here, so a lab falls due on its day without waiting for the nightly run.

Words: the gap keeps the reading, not which of the programme's labs it was, so a
row says "HbA1c/GMI" as the gap's own summaries do (the glucose management
indicator is a CGM estimate of the A1c, not the lab; calling one the other would
mislead).
"""

from __future__ import annotations

import datetime as dt
import functools
from decimal import Decimal
from typing import Any

from django.db.models import (
    Case,
    DateField,
    DateTimeField,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce

from navigator.models import (
    AttendanceStatus,
    CoachingSession,
    CoachingSessionStatus,
    GroupAttendance,
    NavigationCase,
)
from navigator.worklist.rule_base import Moment, Rule, annotation, day_label
from patients.models import CareGap, CareGapStatus, ProgramKind, ScreeningProgram

LAB = "HbA1c/GMI"

# A control programme's gap statuses (patients.caregaps.control); an excluded or
# ineligible patient's gap (hospice, no diabetes on record) has no lab due.
CONTROL_STATUSES = (
    CareGapStatus.UNTESTED,
    CareGapStatus.NO_RESULT,
    CareGapStatus.POOR_CONTROL,
    CareGapStatus.ABOVE_TARGET,
    CareGapStatus.AT_TARGET,
)


def _for_control(fact: Any, output_field: Any) -> Case:
    """`fact` for a case of a control programme, NULL for any other without running
    it: the programmes of that kind are read once per statement (a hashed subplan on
    PostgreSQL), so a screening case costs a hash probe, not the rule's lookups."""
    control = ScreeningProgram.objects.filter(kind=ProgramKind.CONTROL).values("pk")
    return Case(When(program__in=control, then=fact), default=None, output_field=output_field)


def year_start(moment: Moment) -> dt.date:
    return dt.date(moment.today.year, 1, 1)


@functools.cache
def _gap() -> QuerySet[CareGap]:
    """The case's care gap for its own programme (at most one: care_gap_unique)."""
    return CareGap.objects.filter(
        patient=OuterRef("patient"), program=OuterRef("program"), status__in=CONTROL_STATUSES
    ).order_by()


# --- A coaching session missed --------------------------------------------------------
# Missed: an individual session marked missed, or a group class the patient was absent
# from (not excused) and has not made up, with nothing attended since, individual or
# group (once the patient comes again, the miss is behind them).


def _attended_since(case: str, when: str) -> Q:
    """Something attended on the case after `when`, an individual session or a group
    class (`case`, `when`: the inner row's fields, read as OuterRefs; the inner row has
    the patient too). Each looks up the patient's rows by the (patient, status, ...)
    indexes the coaching tables have, then checks the case."""
    individual = CoachingSession.objects.filter(
        patient=OuterRef("patient"),
        status=CoachingSessionStatus.ATTENDED,
        scheduled_at__gt=OuterRef(when),
        case=OuterRef(case),
    )
    group = GroupAttendance.objects.filter(
        patient=OuterRef("patient"),
        status=AttendanceStatus.ATTENDED,
        session__starts_at__gt=OuterRef(when),
        enrolment__case=OuterRef(case),
    )
    return Q(Exists(individual)) | Q(Exists(group))


@functools.cache
def _individual_missed() -> Subquery:
    # By the patient's missed sessions, latest first (index patient, status,
    # scheduled_at: read backwards, no sort), then the case's.
    missed = (
        CoachingSession.objects.filter(
            patient=OuterRef("patient"), status=CoachingSessionStatus.MISSED, case=OuterRef("pk")
        )
        .filter(~_attended_since("case", "scheduled_at"))
        .order_by("-scheduled_at", "-pk")
    )
    return Subquery(missed.values("scheduled_at")[:1])


@functools.cache
def _group_missed() -> Subquery:
    made_up = GroupAttendance.objects.filter(
        patient=OuterRef("patient"),
        makeup_for=OuterRef("session"),
        status=AttendanceStatus.ATTENDED,
    )
    # By the patient's absences (index patient, status), then the case's.
    missed = (
        GroupAttendance.objects.filter(
            patient=OuterRef("patient"),
            status=AttendanceStatus.ABSENT,
            enrolment__case=OuterRef("pk"),
        )
        .filter(~Exists(made_up))
        .filter(~_attended_since("enrolment__case", "session__starts_at"))
        .order_by("-session__starts_at", "-pk")
    )
    return Subquery(missed.values("session__starts_at")[:1])


@functools.cache
def _session_missed_fact() -> Case:
    # The individual session first: the group's subquery runs only where there is none.
    return _for_control(Coalesce(_individual_missed(), _group_missed()), DateTimeField())


def _session_missed_label(case: NavigationCase, moment: Moment) -> str:
    individual = annotation(case, SESSION_MISSED.detail("individual"))
    group = annotation(case, SESSION_MISSED.detail("group"))
    said = []
    if individual is not None:
        said.append(f"Missed coaching session on {day_label(individual, moment)}")
    if group is not None:
        words = "missed group class" if said else "Missed group class"
        said.append(f"{words} on {day_label(group, moment)}, not made up")
    return "; ".join(said) or "Missed coaching session"


SESSION_MISSED: Rule = Rule(
    code="session_missed",
    priority=5,
    title="Coaching session or group class missed, nothing attended since",
    fact=lambda moment: _session_missed_fact(),
    label=_session_missed_label,
    details=lambda moment: {
        SESSION_MISSED.detail("individual"): _individual_missed(),
        SESSION_MISSED.detail("group"): _group_missed(),
    },
)


# --- The last value above target ------------------------------------------------------
# This year's most recent reading (CMS122's: the gap's status says how it compares).
# A reading from before this year is no longer CMS122's: the lab is due instead.


def _value_gap(status: str, moment: Moment) -> QuerySet[CareGap]:
    return _gap().filter(status=status, last_screening_on__gte=year_start(moment))


def _value_fact(status: str, moment: Moment) -> Case:
    fact = Subquery(_value_gap(status, moment).values("last_screening_on")[:1])
    return _for_control(fact, DateField())


def _value_details(rule_code: str, status: str, moment: Moment) -> dict[str, Subquery]:
    """The reading the gap judged: its evidence's first row (control.evidence_row),
    read where the rule holds only (NULL elsewhere, as the rule's fact)."""
    gap = _value_gap(status, moment)
    return {
        f"wl_{rule_code}_{key}": Subquery(
            gap.annotate(read=KT(f"evidence__0__{key}")).values("read")[:1]
        )
        for key in ("value", "unit", "comparator")
    }


def _number(value: Decimal | None) -> str:
    return "" if value is None else f"{value.normalize():f}"


def _with_unit(value: str, unit: str) -> str:
    # "9.4%" as clinicians write a percentage; "53 mmol/mol" with its space.
    if not unit or unit == "1":
        return value
    return f"{value}{unit}" if unit == "%" else f"{value} {unit}"


# FHIR's Quantity.comparator values; anything else (a JSON null read as text) is none.
COMPARATORS = frozenset({"<", "<=", ">=", ">"})


def _reading_words(case: NavigationCase, rule: Rule) -> str:
    # As recorded (the gap's evidence keeps the value's text: "9.4", "14").
    value = annotation(case, rule.detail("value")) or "?"
    comparator = annotation(case, rule.detail("comparator"))
    comparator = comparator if comparator in COMPARATORS else ""
    unit = annotation(case, rule.detail("unit"))
    unit = case.program.target_unit if unit in (None, "", "null") else unit
    return f"{comparator + ' ' if comparator else ''}{_with_unit(value, unit)}"


def _value_label(rule: Rule, case: NavigationCase, moment: Moment) -> str:
    program = case.program
    unit = program.target_unit
    day = day_label(annotation(case, rule.fact_name), moment)
    target = f"target < {_with_unit(_number(program.target_value), unit)}"
    reading = f"Last {LAB} {_reading_words(case, rule)} on {day}"
    if rule is POOR_CONTROL:
        return (
            f"{reading}: poor control, above "
            f"{_with_unit(_number(program.poor_control_value), unit)} ({target})"
        )
    return f"{reading} ({target})"


POOR_CONTROL: Rule = Rule(
    code="poor_control",
    priority=7,
    title="Last HbA1c/GMI this year above the poor-control threshold (CMS122: above 9 %)",
    fact=lambda moment: _value_fact(CareGapStatus.POOR_CONTROL, moment),
    label=lambda case, moment: _value_label(POOR_CONTROL, case, moment),
    details=lambda moment: _value_details("poor_control", CareGapStatus.POOR_CONTROL, moment),
)

ABOVE_TARGET: Rule = Rule(
    code="above_target",
    priority=9,
    title="Last HbA1c/GMI this year above target, not above the poor-control threshold",
    fact=lambda moment: _value_fact(CareGapStatus.ABOVE_TARGET, moment),
    label=lambda case, moment: _value_label(ABOVE_TARGET, case, moment),
    details=lambda moment: _value_details("above_target", CareGapStatus.ABOVE_TARGET, moment),
)


# --- The lab due ----------------------------------------------------------------------
# Due: no HbA1c/GMI this year (CMS122 counts the patient as poorly controlled; due
# since the year began, or since the interval ran out last year if it did earlier),
# or this year's last one's interval has run out (due on its day, as the gap says).


def _lab_overdue_gap(moment: Moment) -> QuerySet[CareGap]:
    """The case's gap with the day its lab fell due (`due`), where it has."""
    began = year_start(moment)
    none_this_year = Q(last_screening_on__isnull=True) | Q(last_screening_on__lt=began)
    due = Case(
        When(last_screening_on__lt=began, next_due_on__lt=began, then=F("next_due_on")),
        When(none_this_year, then=Value(began, output_field=DateField())),
        When(next_due_on__lte=moment.today, then=F("next_due_on")),
        default=None,
        output_field=DateField(),
    )
    return _gap().annotate(due=due).filter(due__isnull=False)


def _lab_overdue_fact(moment: Moment) -> Case:
    fact = Subquery(_lab_overdue_gap(moment).values("due")[:1])  # type: ignore[misc]  # annotated
    return _for_control(fact, DateField())


def _lab_overdue_label(case: NavigationCase, moment: Moment) -> str:
    last = annotation(case, LAB_OVERDUE.detail("last"))
    if last is None:
        return f"{LAB} overdue: none on record"
    last_words = f"last {day_label(last, moment)}"
    if last < year_start(moment):
        return f"{LAB} overdue: none this year ({last_words})"
    due = annotation(case, LAB_OVERDUE.fact_name)
    if due >= moment.today:
        return f"{LAB} due today ({last_words})"
    return f"{LAB} overdue since {day_label(due, moment)} ({last_words})"


LAB_OVERDUE: Rule = Rule(
    code="lab_overdue",
    priority=8,
    title="HbA1c/GMI overdue: none this year, or the interval since the last one has run out",
    fact=_lab_overdue_fact,
    label=_lab_overdue_label,
    details=lambda moment: {
        LAB_OVERDUE.detail("last"): Subquery(
            _lab_overdue_gap(moment).values("last_screening_on")[:1]
        )
    },
)

CONTROL_RULES: tuple[Rule, ...] = (SESSION_MISSED, POOR_CONTROL, LAB_OVERDUE, ABOVE_TARGET)
