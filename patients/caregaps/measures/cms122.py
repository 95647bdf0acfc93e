"""CMS122 Diabetes: Glycemic Status Assessment Greater Than 9%:
DiabetesGlycemicStatusAssessmentGreaterThan9PercentFHIR 0.1.002 (2025).

An inverse measure: the numerator counts poor control, so a lower rate is
better (`Measure.inverse`).

Initial population: 18 to 75 at the end of the measurement period, with a
qualifying encounter (AdultOutpatientEncounters) and diabetes whose
prevalence interval overlaps the period. Denominator exclusions: hospice,
66 and older living long term in a nursing home, 66 and older with frailty
and advanced illness, palliative care. Numerator: the most recent glycemic
status assessment (HbA1c or GMI) of the period has no result or a result
above 9 %, or there is none in the period.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from patients.caregaps.codes import LOINC
from patients.caregaps.datetimes import Point, date_from
from patients.caregaps.fhirdata import Resource
from patients.caregaps.measures.context import Context, exists, interval_overlaps, latest_of
from patients.caregaps.measures.libraries.adult_outpatient_encounters import (
    QUALIFYING_VISITS,
    has_qualifying_encounter,
)
from patients.caregaps.measures.libraries.advanced_illness_frailty import (
    is_66_or_older_living_in_nursing_home,
    is_66_or_older_with_advanced_illness_and_frailty,
)
from patients.caregaps.measures.libraries.hospice import has_hospice_services
from patients.caregaps.measures.libraries.palliative_care import has_palliative_care
from patients.caregaps.measures.libraries.status import laboratory_test_performed
from patients.caregaps.measures.measure import Measure
from patients.caregaps.quantities import LabValue, lab_value
from patients.caregaps.temporal import Truth, point_during, same_day

DIABETES = "2.16.840.1.113883.3.464.1003.103.12.1001"
HBA1C_LAB_TEST = "2.16.840.1.113883.3.464.1003.198.12.1013"
# code "Glucose management indicator": '97506-0' from "LOINC"
GLUCOSE_MANAGEMENT_INDICATOR = (LOINC, "97506-0")
# "Has Most Recent Elevated Glycemic Status Assessment": ... > 9 '%'
THRESHOLD, THRESHOLD_UNIT = Decimal(9), "%"


def initial_population(ctx: Context) -> bool:
    """ "Initial Population":
    AgeInYearsAt(date from end of "Measurement Period") in Interval[18, 75]
      and exists AdultOutpatientEncounters."Qualifying Encounters"
      and exists ([Condition: "Diabetes"] Diabetes
        where Diabetes.prevalenceInterval() overlaps day of "Measurement Period")
    """
    return (
        18 <= ctx.age_at_end <= 75
        and has_qualifying_encounter(ctx, QUALIFYING_VISITS)
        and exists(
            ctx,
            "Diabetes",
            ctx.of_type("Condition", DIABETES),
            lambda c: interval_overlaps(ctx.prevalence(c), ctx.period),
        )
    )


def denominator_exclusion(ctx: Context) -> bool:
    """ "Denominator Exclusions": Hospice."Has Hospice Services"
    or AIFrailLTCF."Is Age 66 or Older Living Long Term in a Nursing Home"
    or AIFrailLTCF."Is Age 66 or Older with Advanced Illness and Frailty"
    or PalliativeCare."Has Palliative Care in the Measurement Period"
    """
    return (
        has_hospice_services(ctx)
        or is_66_or_older_living_in_nursing_home(ctx)
        or is_66_or_older_with_advanced_illness_and_frailty(ctx)
        or has_palliative_care(ctx)
    )


@dataclass(frozen=True)
class Assessment:
    """One "Glycemic Status Assessment": the Observation, its effective.latest()
    and its result (ToValue of its value)."""

    observation: Resource
    latest: Point
    result: LabValue


def glycemic_status_assessments(ctx: Context) -> list[Assessment]:
    """ "Glycemic Status Assessment":
    (([Observation: "HbA1c Laboratory Test"] union [Observation: "Glucose management
      indicator"]).isLaboratoryTestPerformed()) GlycemicStatus
      where GlycemicStatus.effective.latest() during day of "Measurement Period"

    The union keeps one copy of a resource in both (it is the same Observation).
    isLaboratoryTestPerformed: status final, amended or corrected, category laboratory.
    """
    hba1c = ctx.of_type("Observation", HBA1C_LAB_TEST)
    gmi = ctx.with_code("Observation", *GLUCOSE_MANAGEMENT_INDICATOR)
    union = list({id(o): o for o in hba1c + gmi}.values())
    found = []
    for observation in laboratory_test_performed(union):
        latest = latest_of(ctx.effective(observation))
        if latest is not None and point_during(latest, ctx.period) is True:
            found.append(Assessment(observation, latest, lab_value(observation)))
    return found


def most_recent_date(assessments: list[Assessment]) -> Point | None:
    """ "Most Recent Glycemic Status Date":
    Last(("Glycemic Status Assessment" Q return date from Q.effective.latest()) sort asc)

    cql-execution sorts Dates (`sort asc`, ByDirection) with JavaScript's `<`,
    which compares their text ("2025-03" before "2025-03-15" before "2025-12"),
    so a date known only to the month can be the last one.
    """
    dates = [d for d in (date_from(a.latest) for a in assessments) if d is not None]
    return max(dates, key=lambda d: d.iso()) if dates else None


def _value_before(a: LabValue, b: LabValue) -> Truth:
    """Quantity.before: a < b after converting b to a's unit; unknown when they do not compare."""
    if a.quantity is None or b.quantity is None:
        return None
    if a.quantity.unit == b.quantity.unit:
        return a.quantity.value < b.quantity.value
    other = b.quantity.in_unit(a.quantity.unit)
    return None if other is None else a.quantity.value < other


def _sort_by_value(items: list[Assessment]) -> list[Assessment]:
    """`sort by QualifyingGlycemicStatusValue` (ByColumn, asc) as cql-execution's
    asyncMergeSort runs it: a value that is not a Quantity (null) comes first; two
    nulls tie (the left one stays first); two Quantities: the left one first only
    if it is certainly smaller (`before`), so equal or incomparable values come
    out right-hand first."""

    def key(item: Assessment) -> LabValue | None:
        return item.result if item.result.quantity is not None else None

    def compare(a: Assessment, b: Assessment) -> int:
        a_value, b_value = key(a), key(b)
        if a_value is None and b_value is None:
            return 0
        if a_value is None or b_value is None:
            return -1 if a_value is None else 1
        return -1 if _value_before(a_value, b_value) is True else 1

    if len(items) <= 1:
        return items
    middle = len(items) // 2
    left, right = _sort_by_value(items[:middle]), _sort_by_value(items[middle:])
    merged = []
    while left and right:
        merged.append(left.pop(0) if compare(left[0], right[0]) <= 0 else right.pop(0))
    return merged + left + right


def lowest_on_most_recent_day(assessments: list[Assessment]) -> Assessment | None:
    """ "Lowest Glycemic Status Assessment Reading on Most Recent Day":
    First("Glycemic Status Assessment" Q
        where Q.effective.latest() same day as "Most Recent Glycemic Status Date"
        return {QualifyingGlycemicStatusValue: Q.value as Quantity, QualifyingGlycemicStatus: Q}
        sort by QualifyingGlycemicStatusValue).QualifyingGlycemicStatus

    "Most recent" is by the calendar day of effective.latest() as written (its end,
    or its start when it has no end), not by when the result was issued. Of that
    day's readings the lowest Quantity is taken, but a reading that is not a
    Quantity (no result, or a coded one) sorts before every Quantity.
    """
    day = most_recent_date(assessments)
    if day is None:
        return None
    on_day = [a for a in assessments if same_day(a.latest, day) is True]
    ordered = _sort_by_value(on_day)
    return ordered[0] if ordered else None


def numerator(ctx: Context) -> bool:
    """ "Numerator":
    "Has Most Recent Glycemic Status Assessment Without Result"
      or "Has Most Recent Elevated Glycemic Status Assessment"
      or "Has No Record Of Glycemic Status Assessment"
    """
    assessments = glycemic_status_assessments(ctx)
    if not assessments:
        # "Has No Record Of Glycemic Status Assessment": not exists "Glycemic Status Assessment"
        ctx.evidence.append("No HbA1c or GMI test in the measurement period")
        return True
    lowest = lowest_on_most_recent_day(assessments)
    if lowest is None:
        return False
    if lowest.result.missing:
        # "... Without Result": the reading is not null and ToValue(its value) is null
        return ctx.found("Most recent HbA1c/GMI has no result", lowest.observation)
    quantity = lowest.result.quantity
    # "... Elevated": ToValue(value) as Quantity > 9 '%' (a coded result is not a Quantity)
    if quantity is not None and quantity.greater_than(THRESHOLD, THRESHOLD_UNIT) is True:
        return ctx.found("Most recent HbA1c/GMI above 9 %", lowest.observation)
    return False


CMS122 = Measure(
    "CMS122",
    "Diabetes: Glycemic Status Assessment Greater Than 9%",
    "DiabetesGlycemicStatusAssessmentGreaterThan9PercentFHIR",
    "diabetes",
    initial_population,
    denominator_exclusion,
    numerator,
    inverse=True,
)
