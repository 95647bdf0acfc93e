"""Reading stored FHIR resources the way QI-Core/CQL logic reads them.

The functions here mirror FHIRHelpers and QICoreCommon (`toInterval`,
`prevalenceInterval`, `latest`, ...) and CumulativeMedicationDuration's
`medicationRequestPeriod`, over resources kept as received (JSON dicts).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from patients.builtin_codes import normalise_system
from patients.temporal import (
    Interval,
    Point,
    add_months,
    add_years,
    instant,
    parse_point,
    point_from_date,
)

Resource = dict[str, Any]
Code = tuple[str, str]

CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
QICORE_DO_NOT_PERFORM = "http://hl7.org/fhir/us/qicore/StructureDefinition/qicore-doNotPerform"


@dataclass
class PatientRecord:
    """One patient's demographics and clinical resources, as the logic sees them."""

    id: str
    birth_date: dt.date
    gender: str
    resources: dict[str, list[Resource]] = field(default_factory=dict)
    pk: int | None = None

    def of_type(self, resource_type: str) -> list[Resource]:
        return self.resources.get(resource_type, [])


# --- Codes ----------------------------------------------------------------------


def codings(concept: Any) -> Iterator[Code]:
    """(system, code) pairs of a CodeableConcept or Coding, systems normalised."""
    if not isinstance(concept, dict):
        return
    items = concept.get("coding") if "coding" in concept else [concept]
    for coding in items or []:
        if isinstance(coding, dict) and coding.get("code"):
            yield normalise_system(coding.get("system")), str(coding["code"]).strip()


def concept_in(concept: Any, codes: frozenset[Code] | set[Code]) -> bool:
    return any(code in codes for code in codings(concept))


def concept_is(concept: Any, system: str, code: str) -> bool:
    """CQL `~` between a concept and a code: some coding has this system and code."""
    return (system, code) in set(codings(concept))


def concepts_in(concepts: Any, codes: frozenset[Code] | set[Code]) -> bool:
    return isinstance(concepts, list) and any(concept_in(c, codes) for c in concepts)


def primary_code(resource: Resource) -> Any:
    """The element a retrieve filters on for each resource type."""
    resource_type = resource.get("resourceType")
    if resource_type == "Encounter":
        return {"coding": [c for t in resource.get("type") or [] for c in t.get("coding") or []]}
    if resource_type == "DeviceRequest":
        return resource.get("codeCodeableConcept")
    if resource_type == "MedicationRequest":
        return medication_concept(resource)
    return resource.get("code")


def medication_concept(request: Resource) -> Any:
    if "medicationCodeableConcept" in request:
        return request["medicationCodeableConcept"]
    reference = (request.get("medicationReference") or {}).get("reference", "")
    if reference.startswith("#"):
        for contained in request.get("contained") or []:
            if contained.get("id") == reference[1:]:
                return contained.get("code")
    return None


def retrieve(resources: Iterable[Resource], codes: frozenset[Code] | set[Code]) -> list[Resource]:
    """CQL `[Type: "Value Set"]`: the resources whose code is in the value set."""
    return [r for r in resources if concept_in(primary_code(r), codes)]


def first_code_display(resource: Resource) -> str:
    concept = primary_code(resource) or {}
    if isinstance(concept, dict):
        for coding in concept.get("coding") or []:
            if coding.get("display"):
                return str(coding["display"])
        if concept.get("text"):
            return str(concept["text"])
    return str(resource.get("resourceType", "resource"))


# --- Status and category ----------------------------------------------------------


def status(resource: Resource) -> str:
    return str(resource.get("status") or "")


def has_category(resource: Resource, code: str) -> bool:
    return any(
        concept_is(category, OBSERVATION_CATEGORY, code)
        for category in resource.get("category") or []
    )


def has_value(observation: Resource) -> bool:
    """`Observation.value is not null`."""
    return any(key.startswith("value") for key in observation)


def device_do_not_perform(request: Resource) -> bool | None:
    """QICoreCommon.doNotPerform(DeviceRequest): the modifier extension's value, if any."""
    values = [
        extension.get("valueBoolean")
        for extension in request.get("modifierExtension") or []
        if extension.get("url") == QICORE_DO_NOT_PERFORM
    ]
    return values[0] if values else None


# --- Timing -----------------------------------------------------------------------


def _quantity_years(quantity: Any) -> Decimal | None:
    if not isinstance(quantity, dict) or quantity.get("value") is None:
        return None
    unit = str(quantity.get("code") or quantity.get("unit") or "a").lower()
    try:
        value = Decimal(str(quantity["value"]))
    except InvalidOperation:
        return None
    if unit in {"a", "year", "years", "yr", "yrs"}:
        return value
    if unit in {"mo", "month", "months"}:
        return value / 12
    return None


def _age_interval(birth_date: dt.date, low: Any, high: Any) -> Interval | None:
    """An age (or age range) as the interval from that birthday to a year later."""
    low_years = _quantity_years(low)
    high_years = _quantity_years(high)
    if low_years is None or high_years is None:
        return None
    start = _add_quantity_years(birth_date, low_years)
    end = add_years(_add_quantity_years(birth_date, high_years), 1)
    return Interval(point_from_date(start), point_from_date(end), True, False)


def _add_quantity_years(day: dt.date, years: Decimal) -> dt.date:
    whole = int(years)
    months = int((years - whole) * 12)
    return add_months(add_years(day, whole), months)


def period_interval(period: Any) -> Interval | None:
    """FHIRHelpers.ToInterval(Period)."""
    if not isinstance(period, dict):
        return None
    start = parse_point(period.get("start"))
    end = parse_point(period.get("end"))
    if period.get("start") is None:
        return Interval(None, end, False, True)
    return Interval(start, end, True, True)


def choice_interval(resource: Resource, prefix: str, birth_date: dt.date) -> Interval | None:
    """QICoreCommon.toInterval() of a timing choice element such as `performed[x]`."""
    for suffix in ("DateTime", "Instant", "Date"):
        if f"{prefix}{suffix}" in resource:
            point = parse_point(resource[f"{prefix}{suffix}"])
            return instant(point) if point else None
    if f"{prefix}Period" in resource:
        return period_interval(resource[f"{prefix}Period"])
    if f"{prefix}Age" in resource:
        age = resource[f"{prefix}Age"]
        return _age_interval(birth_date, age, age)
    if f"{prefix}Range" in resource:
        value = resource[f"{prefix}Range"] or {}
        return _age_interval(birth_date, value.get("low"), value.get("high"))
    return None


def abatement_interval(condition: Resource, birth_date: dt.date) -> Interval | None:
    """QICoreCommon.abatementInterval(): a period's end is excluded."""
    if "abatementPeriod" in condition:
        period = condition["abatementPeriod"] or {}
        start, end = parse_point(period.get("start")), parse_point(period.get("end"))
        return Interval(start, end, True, False)
    return choice_interval(condition, "abatement", birth_date)


def is_active(condition: Resource) -> bool:
    clinical_status = condition.get("clinicalStatus")
    return any(
        concept_is(clinical_status, CONDITION_CLINICAL, code)
        for code in ("active", "recurrence", "relapse")
    )


def prevalence_interval(condition: Resource, birth_date: dt.date) -> Interval:
    """QICoreCommon.prevalenceInterval(): onset to abatement.

    Active (or recurring) conditions run to the end of time unless abated; a
    resolved condition with no abatement date has an unknown end.
    """
    onset = choice_interval(condition, "onset", birth_date)
    onset_start = onset.start if onset is not None else None
    abatement = abatement_interval(condition, birth_date)
    abatement_end = abatement.end if abatement is not None else None
    if is_active(condition):
        return Interval(onset_start, abatement_end, True, True)
    return Interval(onset_start, abatement_end, True, abatement_end is not None)


def authored_interval(resource: Resource) -> Interval | None:
    point = parse_point(resource.get("authoredOn"))
    return instant(point) if point else None


# --- Medication requests (CumulativeMedicationDuration 4.1.000) --------------------

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
_DAYS_PER_UNIT = {
    "d": Decimal(1),
    "day": Decimal(1),
    "days": Decimal(1),
    "wk": Decimal(7),
    "week": Decimal(7),
    "weeks": Decimal(7),
    "mo": Decimal(30),
    "month": Decimal(30),
    "months": Decimal(30),
    "a": Decimal(365),
    "year": Decimal(365),
    "years": Decimal(365),
    "h": Decimal(1) / 24,
    "hour": Decimal(1) / 24,
    "hours": Decimal(1) / 24,
}


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _to_daily(frequency: Decimal | None, period: Decimal | None, unit: str) -> Decimal | None:
    if frequency is None or period is None or period == 0 or unit not in _PER_DAY_BY_UNIT:
        return None
    return frequency * _PER_DAY_BY_UNIT[unit] / period


def _date_of(point: Point | None) -> dt.date | None:
    return point.day if point is not None else None


def medication_request_period(request: Resource) -> Interval | None:
    """CMD.medicationRequestPeriod(): from the start date, the days supplied."""
    dosages = request.get("dosageInstruction") or []
    dosage = dosages[0] if len(dosages) == 1 else {}
    rates = dosage.get("doseAndRate") or []
    dose_and_rate = rates[0] if len(rates) == 1 else {}
    repeat = (dosage.get("timing") or {}).get("repeat") or {}
    frequency = _decimal(repeat.get("frequencyMax", repeat.get("frequency")))
    per_day = _to_daily(frequency, _decimal(repeat.get("period")), str(repeat.get("periodUnit")))
    if per_day is None and repeat.get("timeOfDay"):
        per_day = Decimal(len(repeat["timeOfDay"]))
    if per_day is None:
        per_day = Decimal(1)
    dose = None
    if "doseRange" in dose_and_rate:
        dose = _decimal((dose_and_rate["doseRange"].get("high") or {}).get("value"))
    elif "doseQuantity" in dose_and_rate:
        dose = _decimal(dose_and_rate["doseQuantity"].get("value"))
    bounds = repeat.get("boundsPeriod")
    bounds_interval = period_interval(bounds) if bounds else None
    dispense = request.get("dispenseRequest") or {}
    supply = dispense.get("expectedSupplyDuration") or {}
    supply_unit = str(supply.get("code") or supply.get("unit") or "")
    days_supply = None
    if _decimal(supply.get("value")) is not None and supply_unit in _DAYS_PER_UNIT:
        days_supply = _decimal(supply.get("value")) * _DAYS_PER_UNIT[supply_unit]  # type: ignore[operator]
    quantity = _decimal((dispense.get("quantity") or {}).get("value"))
    refills = _decimal(dispense.get("numberOfRepeatsAllowed")) or Decimal(0)
    validity = period_interval(dispense.get("validityPeriod"))

    start = (
        _date_of(bounds_interval.low if bounds_interval else None)
        or _date_of(parse_point(request.get("authoredOn")))
        or _date_of(validity.low if validity else None)
    )
    total = days_supply
    if total is None and quantity is not None and dose:
        total = quantity / (dose * per_day)
    if total is not None:
        total *= 1 + refills
    if start is not None and total is not None:
        end = start + dt.timedelta(days=int(total - 1))
        return Interval(point_from_date(start), point_from_date(end))
    if start is not None and bounds_interval is not None and bounds_interval.high is not None:
        end_day = _date_of(bounds_interval.high)
        return Interval(point_from_date(start), point_from_date(end_day) if end_day else None)
    return None
