"""Glycemic status readings (HbA1c, GMI): which one is "the most recent", as CMS122's
CQL reads it, for both the measure (measures/cms122.py) and the care-gap engine's
control programmes (engine.py, control.py).

On the engine's floor: the measure imports it, never the other way round. The
value sets and the code are CMS122's; the diabetes control programme's concepts
(builtin_codes.py) name the same ones.
"""

from __future__ import annotations

from dataclasses import dataclass

from patients.caregaps.codes import LOINC, vsac
from patients.caregaps.datetimes import Point, date_from
from patients.caregaps.fhirdata import Resource
from patients.caregaps.quantities import LabValue
from patients.caregaps.temporal import Truth, same_day

DIABETES = "2.16.840.1.113883.3.464.1003.103.12.1001"
HBA1C_LAB_TEST = "2.16.840.1.113883.3.464.1003.198.12.1013"
# code "Glucose management indicator": '97506-0' from "LOINC"
GLUCOSE_MANAGEMENT_INDICATOR = (LOINC, "97506-0")
DIABETES_URL = vsac(DIABETES)
HBA1C_LAB_TEST_URL = vsac(HBA1C_LAB_TEST)


@dataclass(frozen=True)
class Assessment:
    """One "Glycemic Status Assessment": the Observation, its effective.latest()
    and its result (ToValue of its value)."""

    observation: Resource
    latest: Point
    result: LabValue


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
