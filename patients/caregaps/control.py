"""A control programme's care gap: what the most recent lab of the year says.

A control programme (diabetes) follows a lab value (HbA1c, GMI) against a target,
where a screening programme looks for one test that closes a loop. For an
eligible patient (age range, the condition; exclusions as for screening, all
decided in engine.py), the gap follows CMS122's numerator for the calendar year
of the day evaluated:

- `untested`: no HbA1c/GMI this year (CMS122 counts the patient as poorly
  controlled: getting the patient tested is the work);
- `no_result`: the most recent one has no value (CMS122's "without result"), or
  one that is not compared with the target (a coded result; a unit other than the
  target's scale, such as IFCC mmol/mol, whose UCUM scale is not the clinical
  conversion, or none): CMS122 does not count the latter, but a person should look;
- `poor_control`: the most recent value is above the poor-control threshold
  (HbA1c > 9 %; exactly 9 is not above it);
- `above_target`: at or above the target but not above the threshold;
- `at_target`: below the target (HbA1c < 8 %).

The first three are gaps (`patients.models.GAP_STATUSES`). "The most recent" is
CMS122's reading (patients.caregaps.glycemic): the last day with a reading, and
of that day's readings the lowest. The next lab is due a programme-set number of
months after the last one: fewer when it was not at target (ADA Standards of
Care 2025, section 6: A1C at least twice a year in patients meeting their goals,
quarterly in those whose therapy changed or who are not meeting them).

Reads no database and imports nothing above the engine's base: engine.py hands
it the patient's resources as it reads them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from patients.caregaps.dates import add_months
from patients.caregaps.fhirdata import Code, Resource, first_code_display, has_category
from patients.caregaps.glycemic import Assessment, lowest_on_most_recent_day
from patients.caregaps.quantities import LabQuantity, lab_value
from patients.caregaps.temporal import Interval, Truth


class EvidenceItem(Protocol):
    """One resource as engine.py reads it (its `_Evidence`)."""

    pk: int
    resource: Resource
    resource_type: Any

    def matches(self, codes: frozenset[Code]) -> bool: ...

    def counts(self) -> bool: ...

    def span(self) -> Interval | None: ...


@dataclass(frozen=True, slots=True)
class ControlRules:
    """A control programme's rules as the evaluation reads them (prepared once a batch)."""

    condition_name: str
    condition_codes: frozenset[Code]
    lab_codes: frozenset[Code]
    target: Decimal
    unit: str
    poor_control: Decimal
    interval_months: int
    interval_above_target_months: int


def prepare_control(
    rules: dict[str, Any], concept_codes: dict[str, frozenset[Code]]
) -> ControlRules | None:
    """The control rules of a programme's snapshot; None for a screening programme."""
    if rules.get("kind") != "control":
        return None
    control = rules["control"]
    condition = control["condition"] or ""
    return ControlRules(
        condition_name=condition.replace("-", " "),
        condition_codes=concept_codes.get(condition, frozenset()),
        lab_codes=frozenset().union(
            *(concept_codes.get(key, frozenset()) for key in control["labs"])
        ),
        target=Decimal(control["target"]),
        unit=control["unit"],
        poor_control=Decimal(control["poor_control"]),
        interval_months=control["interval_months"],
        interval_above_target_months=control["interval_above_target_months"],
    )


@dataclass(frozen=True)
class Reading:
    """One lab reading: CMS122's Assessment, with its clinical resource and its day."""

    pk: int
    day: dt.date
    assessment: Assessment


def lab_readings(evidence: Sequence[EvidenceItem], codes: frozenset[Code]) -> list[Reading]:
    """The patient's resulted laboratory HbA1c/GMI Observations (CMS122's
    isLaboratoryTestPerformed: final, amended or corrected, category laboratory),
    with the day of their effective.latest(); oldest first."""
    readings = []
    for item in evidence:
        if item.resource_type != "Observation" or not item.matches(codes) or not item.counts():
            continue
        if not has_category(item.resource, "laboratory"):
            continue
        span = item.span()
        latest = span.latest() if span is not None else None
        if latest is None:
            continue
        day = latest.day or latest.local_days()[0]
        readings.append(
            Reading(item.pk, day, Assessment(item.resource, latest, lab_value(item.resource)))
        )
    readings.sort(key=lambda r: (r.day, r.pk))
    return readings


def _below(quantity: LabQuantity, bound: Decimal, unit: str) -> Truth:
    """`quantity < bound 'unit'`; None when the units do not compare or a comparator
    leaves it open ("<=8" against 8)."""
    value = quantity.in_unit(unit)
    if value is None:
        return None
    if quantity.comparator is None:
        return value < bound
    if quantity.comparator in ("<", "<="):
        return True if value < bound or (quantity.comparator == "<" and value == bound) else None
    return False if value >= bound else None


def value_words(reading: Reading) -> str:
    """The reading as a clinician reads it: "9.4 %", "> 14 %", "no result"."""
    quantity = reading.assessment.result.quantity
    if reading.assessment.result.missing:
        return "no result"
    if quantity is None:
        return "a result that is not a number"
    comparator = f"{quantity.comparator} " if quantity.comparator else ""
    unit = "" if quantity.unit == "1" else f" {quantity.unit}"
    return f"{comparator}{quantity.value:f}{unit}"


def reading_status(reading: Reading, *, target: Decimal, poor_control: Decimal, unit: str) -> str:
    """What one reading says against the programme's numbers: "no_result",
    "not_compared" (a value in another scale, or coded), "poor_control",
    "above_target" or "at_target". The gap and the case page's trend both ask this."""
    result = reading.assessment.result
    quantity = result.quantity
    if result.missing:
        return "no_result"
    if quantity is None or not quantity.same_scale(unit):
        return "not_compared"
    if quantity.greater_than(poor_control, unit) is True:
        return "poor_control"
    if _below(quantity, target, unit) is True:
        return "at_target"
    return "above_target"


def evidence_row(reading: Reading) -> dict[str, Any]:
    """The lab, its value and its date, as a gap's evidence (and the case page) show it."""
    resource = reading.assessment.observation
    quantity = reading.assessment.result.quantity
    return {
        "resource": f"Observation/{resource.get('id', reading.pk)}",
        "clinical_resource": reading.pk,
        "what": "lab",
        "display": first_code_display(resource),
        "date": reading.day.isoformat(),
        "value": None if quantity is None else f"{quantity.value:f}",
        "unit": None if quantity is None else quantity.unit,
        "comparator": None if quantity is None else quantity.comparator,
    }


@dataclass(frozen=True)
class ControlOutcome:
    """What engine.py turns into a GapResult."""

    status: str
    summary: str
    reasons: list[str]
    evidence: list[dict[str, Any]]
    last_lab_on: dt.date | None
    last_lab_resource_pk: int | None
    next_due_on: dt.date
    overdue_since: dt.date | None
    recheck_on: dt.date


def _next_due(
    rules: ControlRules, reading: Reading | None, at_target: bool, as_of: dt.date
) -> dt.date:
    if reading is None:
        return as_of  # never tested: due now
    months = rules.interval_months if at_target else rules.interval_above_target_months
    return add_months(reading.day, months)


def evaluate_control(
    *, evidence: Sequence[EvidenceItem], rules: ControlRules, as_of: dt.date
) -> ControlOutcome:
    """An eligible, not excluded patient's control status on `as_of`."""
    year_start = dt.date(as_of.year, 1, 1)
    next_year = dt.date(as_of.year + 1, 1, 1)
    readings = [r for r in lab_readings(evidence, rules.lab_codes) if r.day <= as_of]
    this_year = [r for r in readings if r.day >= year_start]
    target_words = f"{rules.target:f} {rules.unit}".strip()
    threshold_words = f"{rules.poor_control:f} {rules.unit}".strip()

    if not this_year:
        last = readings[-1] if readings else None
        last_at_target = False
        reasons = [f"No HbA1c or GMI since {year_start.isoformat()}."]
        if last is not None:
            last_at_target = (
                reading_status(
                    last, target=rules.target, poor_control=rules.poor_control, unit=rules.unit
                )
                == "at_target"
            )
            reasons.append(f"Last: {value_words(last)} on {last.day.isoformat()}.")
        else:
            reasons.append("No HbA1c or GMI on record.")
        due = _next_due(rules, last, last_at_target, as_of)
        return ControlOutcome(
            "untested",
            "Not tested this year: no HbA1c or GMI since " + year_start.isoformat(),
            reasons,
            [evidence_row(last)] if last is not None else [],
            last.day if last is not None else None,
            last.pk if last is not None else None,
            due,
            # CMS122's gap runs from the start of the year without a test.
            year_start,
            min(d for d in (due, next_year) if d > as_of),
        )

    lowest = lowest_on_most_recent_day([r.assessment for r in this_year])
    chosen = next(r for r in reversed(this_year) if r.assessment is lowest)
    said = f"{value_words(chosen)} on {chosen.day.isoformat()}"
    status = reading_status(
        chosen, target=rules.target, poor_control=rules.poor_control, unit=rules.unit
    )
    summary = {
        "no_result": f"Last HbA1c/GMI has no result to read: {said}",
        # Not converted: the UCUM scale is not the clinical conversion (IFCC mmol/mol
        # to NGSP %), and a bare number may be either. A person reads it.
        "not_compared": (
            f"Last HbA1c/GMI is not in {rules.unit}, so not compared with the target: {said}"
        ),
        "poor_control": f"Poor control: {said}, above {threshold_words}",
        "at_target": f"At target: {said}, below {target_words}",
        "above_target": f"Above target: {said}, target below {target_words}",
    }[status]
    status = "no_result" if status == "not_compared" else status
    due = _next_due(rules, chosen, status == "at_target", as_of)
    reasons = [summary, f"Next HbA1c/GMI due {due.isoformat()}."]
    overdue_since = due if due <= as_of else None
    if overdue_since is not None:
        reasons.append(f"Lab overdue since {due.isoformat()}.")
    return ControlOutcome(
        status,
        summary,
        reasons,
        [evidence_row(chosen)],
        chosen.day,
        chosen.pk,
        due,
        overdue_since,
        min(d for d in (due, next_year) if d > as_of),
    )
