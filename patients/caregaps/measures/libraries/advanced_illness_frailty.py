"""AdvancedIllnessandFrailty 1.16.000: frailty with advanced illness, and nursing homes.

"Is Age 66 or Older with Advanced Illness and Frailty" and "Is Age 66 or Older
Living Long Term in a Nursing Home": denominator exclusions of CMS130,
CMS125 and CMS122. Dementia medications are read with CumulativeMedicationDuration's
`medicationRequestPeriod` (patients.caregaps.medication_period).
"""

from __future__ import annotations

from patients.caregaps.codes import LOINC, SNOMED
from patients.caregaps.datetimes import Point
from patients.caregaps.fhirdata import (
    Resource,
    authored_interval,
    concept_in,
    concept_is,
    device_do_not_perform,
    period_interval,
)
from patients.caregaps.measures.context import Context, exists, interval_overlaps, is_true
from patients.caregaps.measures.libraries.status import (
    assessment_performed,
    encounter_performed,
    medication_active,
    order,
    symptom,
)
from patients.caregaps.medication_period import medication_request_period
from patients.caregaps.temporal import Interval, Truth, before_or_same

FRAILTY_DEVICE = "2.16.840.1.113883.3.464.1003.118.12.1300"


def has_frailty(ctx: Context) -> bool:
    """ "Has Criteria Indicating Frailty"."""

    def device_ordered(request: Resource) -> Truth:
        # `FrailtyDeviceOrder.doNotPerform() is not true`: absent, false or a
        # misspelt extension URL all leave the order counting.
        if device_do_not_perform(request) is True:
            return False
        interval = authored_interval(request)
        return interval.during(ctx.period) if interval else None

    def equipment_used(observation: Resource) -> Truth:
        if not concept_in(observation.get("valueCodeableConcept"), ctx.vs(FRAILTY_DEVICE)):
            return False
        interval = ctx.effective(observation)
        return interval.ends_during(ctx.period) if interval else None

    def overlaps(interval: Interval | None) -> Truth:
        return interval_overlaps(interval, ctx.period)

    return (
        exists(
            ctx,
            "Frailty device ordered",
            order(ctx.of_type("DeviceRequest", FRAILTY_DEVICE)),
            device_ordered,
        )
        or exists(
            ctx,
            "Frailty device used",
            assessment_performed(ctx.with_code("Observation", LOINC, "98181-1")),
            equipment_used,
        )
        or exists(
            ctx,
            "Frailty diagnosis",
            ctx.of_type("Condition", "2.16.840.1.113883.3.464.1003.113.12.1074"),
            lambda c: overlaps(ctx.prevalence(c)),
        )
        or exists(
            ctx,
            "Frailty encounter",
            encounter_performed(
                ctx.of_type("Encounter", "2.16.840.1.113883.3.464.1003.101.12.1088")
            ),
            lambda e: overlaps(period_interval(e.get("period"))),
        )
        or exists(
            ctx,
            "Frailty symptom",
            symptom(ctx.of_type("Observation", "2.16.840.1.113883.3.464.1003.113.12.1075")),
            lambda o: overlaps(ctx.effective(o)),
        )
    )


def has_advanced_illness_or_dementia_medication(ctx: Context) -> bool:
    """ "Has Advanced Illness ..." or "Has Dementia Medications in Year Before or During ..."."""
    window = ctx.back(1)

    def starts_in_window(condition: Resource) -> Truth:
        # `prevalenceInterval() starts during day of Interval[start - 1 year, end]`:
        # an active condition with no onset starts at the start of time, so never.
        interval = ctx.prevalence(condition)
        return interval.starts_during(window) if interval is not None else None

    return exists(
        ctx,
        "Advanced illness",
        ctx.of_type("Condition", "2.16.840.1.113883.3.464.1003.110.12.1082"),
        starts_in_window,
    ) or exists(
        ctx,
        "Dementia medication",
        medication_active(
            ctx.of_type("MedicationRequest", "2.16.840.1.113883.3.464.1003.196.12.1510")
        ),
        lambda m: interval_overlaps(medication_request_period(m), window),
    )


def is_66_or_older_with_advanced_illness_and_frailty(ctx: Context) -> bool:
    return (
        ctx.age_at_end >= 66
        and has_frailty(ctx)
        and has_advanced_illness_or_dementia_medication(ctx)
    )


Keyed = list[tuple[Point | None, Resource]]


def _sort_ascending(items: Keyed) -> list[Resource]:
    """cql-execution's `sort by <expression> asc` (ByExpression in asyncMergeSort).

    Nulls come first. Two DateTimes are compared with JavaScript's `<`, which
    compares their text (DateTime.toString(): as written, in its own offset,
    at its own precision), and a tie is never 0: the right-hand one is put
    first, so equal values come out in reverse order and `Last` picks the
    first one listed.
    """

    def compare(a: Point | None, b: Point | None) -> int:
        if a is None and b is None:
            return 0
        if a is None or b is None:
            return -1 if a is None else 1
        return -1 if a.iso() < b.iso() else 1

    def merge_sort(pairs: Keyed) -> Keyed:
        if len(pairs) <= 1:
            return pairs
        middle = len(pairs) // 2
        left, right = merge_sort(pairs[:middle]), merge_sort(pairs[middle:])
        merged = []
        while left and right:
            if compare(left[0][0], right[0][0]) <= 0:
                merged.append(left.pop(0))
            else:
                merged.append(right.pop(0))
        return merged + left + right

    return [resource for _, resource in merge_sort(items)]


def is_66_or_older_living_in_nursing_home(ctx: Context) -> bool:
    """ "Is Age 66 or Older Living Long Term in a Nursing Home":

    Last(housing-status assessments (isAssessmentPerformed) whose
    effective.toInterval() ends on or before day of end of "Measurement Period",
    sort by end of effective.toInterval() asc), whose value ~ "Lives in a
    nursing home". Only the last assessment counts: a later "lives at home"
    undoes an earlier nursing home.
    """
    if ctx.age_at_end < 66:
        return False
    assessments: Keyed = []
    for observation in assessment_performed(ctx.with_code("Observation", LOINC, "71802-3")):
        interval = ctx.effective(observation)
        end = interval.end if interval is not None else None
        if is_true(before_or_same(end, ctx.end)):
            assessments.append((end, observation))
    if not assessments:
        return False
    last = _sort_ascending(assessments)[-1]
    if concept_is(last.get("valueCodeableConcept"), SNOMED, "160734000"):
        return ctx.found("Lives in a nursing home", last)
    return False
