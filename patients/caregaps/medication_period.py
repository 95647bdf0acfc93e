"""CumulativeMedicationDuration 4.1.000's `medicationRequestPeriod`, over stored FHIR.

When a MedicationRequest's supply lasts, as cql-execution evaluates the CQL
(see patients.caregaps.fhirdata for how resources are read). The measures
use it for dementia medications (AdvancedIllnessandFrailty); the care-gap
engine for when a medication request happened.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from patients.caregaps.datetimes import date_from, date_plus_days, parse_point
from patients.caregaps.fhirdata import Resource, calendar_quantity, period_interval, to_decimal
from patients.caregaps.temporal import Interval

# CMD.ToDaily(frequency, period): doses a day = frequency * factor / period.value.
_PER_DAY_BY_UNIT = {
    "h": Decimal(24),
    "hour": Decimal(24),
    "hours": Decimal(24),
    "min": Decimal(24 * 60),
    "minute": Decimal(24 * 60),
    "minutes": Decimal(24 * 60),
    "s": Decimal(24 * 3600),
    "second": Decimal(24 * 3600),
    "seconds": Decimal(24 * 3600),
    "d": Decimal(1),
    "day": Decimal(1),
    "days": Decimal(1),
    "wk": Decimal(1) / 7,
    "week": Decimal(1) / 7,
    "weeks": Decimal(1) / 7,
    "mo": Decimal(1) / 30,
    "month": Decimal(1) / 30,
    "months": Decimal(1) / 30,
    "a": Decimal(1) / 365,
    "year": Decimal(1) / 365,
    "years": Decimal(1) / 365,
}
# `convert <duration> to days` (cql-execution with UCUM): CQL's month and year
# are UCUM's Gregorian mo_g (30.436875 d) and a_g (365.2425 d).
_DAYS_PER_CALENDAR_UNIT = {
    "day": Decimal(1),
    "week": Decimal(7),
    "month": Decimal("30.436875"),
    "year": Decimal("365.2425"),
    "hour": Decimal(1) / 24,
    "minute": Decimal(1) / (24 * 60),
    "second": Decimal(1) / (24 * 3600),
    "millisecond": Decimal(1) / (24 * 3600 * 1000),
}


def _to_daily(frequency: Decimal | None, period: Decimal | None, unit: Any) -> Decimal | None:
    """CMD.ToDaily(frequency, Quantity(period, periodUnit)); null for an unknown unit
    (the CQL's Message is a warning that returns null) or a zero period."""
    if frequency is None or period is None or period == 0 or unit not in _PER_DAY_BY_UNIT:
        return None
    return frequency * _PER_DAY_BY_UNIT[unit] / period


def _singleton(items: Any) -> Any:
    """`singleton from`: the only element, None if there is none.

    More than one is an error in the engine (the whole evaluation fails); it
    is read as none here.
    """
    if isinstance(items, list):
        return items[0] if len(items) == 1 else None
    return items if isinstance(items, dict) else None


def medication_request_period(request: Resource) -> Interval | None:
    """CMD.medicationRequestPeriod(), statement by statement:

        dosage: singleton from R.dosageInstruction,
        doseAndRate: singleton from dosage.doseAndRate,
        frequency: Coalesce(timing.repeat.frequencyMax, timing.repeat.frequency),
        dose: Coalesce(end of doseRange, doseQuantity),
        dosesPerDay: Coalesce(ToDaily(frequency, period), Count(timing.repeat.timeOfDay), 1.0),
        daysSupply: (convert R.dispenseRequest.expectedSupplyDuration to days).value,
        refills: Coalesce(R.dispenseRequest.numberOfRepeatsAllowed, 0),
        startDate: Coalesce(date from start of boundsPeriod, date from R.authoredOn,
                            date from start of R.dispenseRequest.validityPeriod),
        totalDaysSupplied: Coalesce(daysSupply, quantity.value / (dose.value * dosesPerDay))
                           * (1 + refills)
        return Interval[startDate, startDate + Quantity(totalDaysSupplied - 1, 'day')]
          or, with no total, Interval[startDate, date from end of boundsPeriod]

    `Count` is never null (0 for no timeOfDay), so without a frequency or
    times of day dosesPerDay is 0 (not the 1.0 the comment promises) and the
    quantity-based supply divides by zero: null.
    """
    dosage = _singleton(request.get("dosageInstruction")) or {}
    dose_and_rate = _singleton(dosage.get("doseAndRate")) or {}
    repeat = (dosage.get("timing") or {}).get("repeat") or {}
    frequency = to_decimal(repeat.get("frequencyMax"))
    if frequency is None:
        frequency = to_decimal(repeat.get("frequency"))
    per_day = _to_daily(frequency, to_decimal(repeat.get("period")), repeat.get("periodUnit"))
    if per_day is None:
        times = repeat.get("timeOfDay")
        per_day = Decimal(sum(t is not None for t in times) if isinstance(times, list) else 0)
    dose = None
    if dose_and_rate.get("doseRange") is not None:
        dose = to_decimal((dose_and_rate["doseRange"].get("high") or {}).get("value"))
    elif dose_and_rate.get("doseQuantity") is not None:
        dose = to_decimal(dose_and_rate["doseQuantity"].get("value"))
    bounds = period_interval(repeat.get("boundsPeriod"))
    dispense = request.get("dispenseRequest") or {}
    days_supply = None
    supply = calendar_quantity(dispense.get("expectedSupplyDuration"))
    if supply is not None and supply[1] in _DAYS_PER_CALENDAR_UNIT:
        days_supply = round(supply[0] * _DAYS_PER_CALENDAR_UNIT[supply[1]], 8)
    quantity = to_decimal((dispense.get("quantity") or {}).get("value"))
    refills = to_decimal(dispense.get("numberOfRepeatsAllowed")) or Decimal(0)
    validity = period_interval(dispense.get("validityPeriod"))

    start = (
        date_from(bounds.start if bounds is not None else None)
        or date_from(parse_point(request.get("authoredOn")))
        or date_from(validity.start if validity is not None else None)
    )
    total = days_supply
    if total is None and quantity is not None and dose is not None and dose * per_day != 0:
        total = quantity / (dose * per_day)
    if total is not None:
        total *= 1 + refills
    if start is not None and total is not None:
        return Interval(start, date_plus_days(start, float(total - 1)))
    if start is not None and bounds is not None and bounds.high is not None:
        return Interval(start, date_from(bounds.end))
    return None
