"""Reading stored FHIR resources the way QI-Core/CQL logic reads them.

The functions here mirror FHIRHelpers and QICoreCommon (`toInterval`,
`prevalenceInterval`, `latest`, ...), and the status values Status counts,
over resources kept as received (JSON dicts), as cql-execution/cql-exec-fhir
(the engine behind MADiE's expected results) evaluate them. Where the engine
would stop with an error (`singleton from` with several items, a quantity
with a comparator), the element is read as missing.

CumulativeMedicationDuration's `medicationRequestPeriod`: medication_period.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from patients.caregaps.codes import normalise_system
from patients.caregaps.dates import date_plus_quantity
from patients.caregaps.datetimes import Point, parse_point, point_from_date
from patients.caregaps.temporal import Interval, instant

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
    """(system, code) pairs of a CodeableConcept or Coding, systems normalised.

    cql-execution matches a code only when its system and code are exactly the
    value set's. A coding with no system never matches (its system is "").
    Deliberate leniency: well-known aliases of a system (an OID URN, a trailing
    slash) are read as the canonical URL (codes.SYSTEM_ALIASES), for
    EHR feeds; MADiE's data always use the canonical URLs.
    """
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


def primary_code(resource: Resource, *, follow_references: bool = True) -> Any:
    """The element a retrieve filters on for each resource type (QI-Core primaryCodePath).

    Encounter: `type`; DeviceRequest: `code` (only codeCodeableConcept can
    match, a codeReference has no codes); MedicationRequest: `medication`.
    With follow_references=False a medicationReference never matches, as in
    cql-execution/cql-exec-fhir, which do not resolve references in a
    retrieve; the care-gap engine follows contained Medications.
    """
    resource_type = resource.get("resourceType")
    if resource_type == "Encounter":
        return {"coding": [c for t in resource.get("type") or [] for c in t.get("coding") or []]}
    if resource_type == "DeviceRequest":
        return resource.get("codeCodeableConcept")
    if resource_type == "MedicationRequest":
        if not follow_references:
            return resource.get("medicationCodeableConcept")
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


def retrieve(
    resources: Iterable[Resource],
    codes: frozenset[Code] | set[Code],
    *,
    follow_references: bool = True,
) -> list[Resource]:
    """CQL `[Type: "Value Set"]`: the resources whose code is in the value set."""
    return [
        r
        for r in resources
        if concept_in(primary_code(r, follow_references=follow_references), codes)
    ]


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


# The status values Status.cql (1.8.000) counts, compared exactly. Defined once:
# the measures' Status port and the care-gap engine both read them.
# isEncounterPerformed:
PERFORMED_ENCOUNTER = frozenset({"finished", "arrived", "triaged", "in-progress", "onleave"})
# isDiagnosticStudyPerformed, isLaboratoryTestPerformed, isAssessmentPerformed
# (isSymptom adds 'preliminary'):
RESULTED = frozenset({"final", "amended", "corrected"})
# isDeviceOrder, isInterventionOrder, isMedicationOrder ("active and completed only"):
ORDERED = frozenset({"active", "completed"})


def status(resource: Resource) -> str:
    """The status as written. Status.cql compares it exactly (`in {...}`, `=`), except
    `status ~ 'completed'` (Procedure), which ignores case: callers lower() for that."""
    return str(resource.get("status") or "")


def has_category(resource: Resource, code: str) -> bool:
    return any(
        concept_is(category, OBSERVATION_CATEGORY, code)
        for category in resource.get("category") or []
    )


_VALUE_CHOICE = re.compile(r"^value[A-Z]")


def has_value(observation: Resource) -> bool:
    """`Observation.value is not null`: some value[x] element is present.

    Observation.dataAbsentReason is a separate element, so an observation that
    only says why it has no value has a null value; so has `"valueQuantity": null`.
    """
    return any(_VALUE_CHOICE.match(key) and value is not None for key, value in observation.items())


def device_do_not_perform(request: Resource) -> bool | None:
    """QICoreCommon.doNotPerform(DeviceRequest).

    `singleton from (modifierExtension E where E.url = '...qicore-doNotPerform'
    return E.value as Boolean)`: null when there is no such extension (a
    misspelt URL does not count), or its value is not a boolean. Several such
    extensions make `singleton from` an error in the engine; here they count
    only if they agree.
    """
    values = {
        extension.get("valueBoolean") if isinstance(extension.get("valueBoolean"), bool) else None
        for extension in request.get("modifierExtension") or []
        if isinstance(extension, dict) and extension.get("url") == QICORE_DO_NOT_PERFORM
    }
    return values.pop() if len(values) == 1 else None


# --- Timing -----------------------------------------------------------------------

UCUM = "http://unitsofmeasure.org"
CALENDAR_UNITS = "http://hl7.org/fhirpath/CodeSystem/calendar-units"

# FHIRHelpers.ToCalendarUnit, plus the plural spellings cql-execution accepts
# in date arithmetic (its convertToCQLDateUnit).
_CALENDAR_UNIT = {
    "ms": "millisecond",
    "s": "second",
    "min": "minute",
    "h": "hour",
    "d": "day",
    "wk": "week",
    "mo": "month",
    "a": "year",
}


def to_decimal(value: Any) -> Decimal | None:
    """A FHIR decimal as a Decimal; None when missing, a boolean or unreadable."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def calendar_quantity(quantity: Any) -> tuple[Decimal, str] | None:
    """FHIRHelpers.ToQuantity for a duration: (value, CQL unit), or None.

    The engine raises an error for a comparator or a system other than UCUM or
    calendar-units; such a quantity is treated as missing here.
    """
    if not isinstance(quantity, dict) or quantity.get("comparator") is not None:
        return None
    value = to_decimal(quantity.get("value"))
    if value is None or quantity.get("system") not in (None, UCUM, CALENDAR_UNITS):
        return None
    unit = str(quantity.get("code") or quantity.get("unit") or "1")
    unit = _CALENDAR_UNIT.get(unit, unit)
    return value, unit[:-1] if unit.endswith("s") and unit[:-1] in _CALENDAR_UNIT.values() else unit


def _birthday_plus(birth_date: dt.date, quantity: Any) -> Point | None:
    """Patient.birthDate + (an Age): a day-precision DateTime, or None."""
    converted = calendar_quantity(quantity)
    if converted is None:
        return None
    day = date_plus_quantity(birth_date, float(converted[0]), converted[1])
    return point_from_date(day) if day is not None else None


def _age_interval(birth_date: dt.date, low: Any, high: Any) -> Interval:
    """QICoreCommon.toInterval() of an Age or an age Range:
    Interval[birthDate + low, birthDate + high + 1 year).

    A missing low age leaves a null closed start (the start of time); a missing
    high age a null open end (unknown).
    """
    start = _birthday_plus(birth_date, low)
    end_age = _birthday_plus(birth_date, high)
    end = end_age.plus(years=1) if end_age is not None else None
    return Interval(start, end, True, False)


def period_interval(period: Any) -> Interval | None:
    """FHIRHelpers.ToInterval(Period): Interval[start, end], or Interval(null, end]
    when there is no start (a null closed end is the end of time: still going on)."""
    if not isinstance(period, dict):
        return None
    start = parse_point(period.get("start"))
    end = parse_point(period.get("end"))
    if period.get("start") is None:
        return Interval(None, end, False, True)
    return Interval(start, end, True, True)


def choice_interval(resource: Resource, prefix: str, birth_date: dt.date) -> Interval | None:
    """QICoreCommon.toInterval() of a timing choice element such as `performed[x]`.

    dateTime/instant: Interval[x, x]; Period: ToInterval(Period); Age and Range:
    the birthday interval; anything else (a string, a Timing, which the engine
    refuses) is null.
    """
    for suffix in ("DateTime", "Instant", "Date"):
        if resource.get(f"{prefix}{suffix}") is not None:
            point = parse_point(resource[f"{prefix}{suffix}"])
            return instant(point) if point else None
    if resource.get(f"{prefix}Period") is not None:
        return period_interval(resource[f"{prefix}Period"])
    if resource.get(f"{prefix}Age") is not None:
        age = resource[f"{prefix}Age"]
        return _age_interval(birth_date, age, age)
    if resource.get(f"{prefix}Range") is not None:
        value = resource[f"{prefix}Range"]
        if not isinstance(value, dict):
            return None
        return _age_interval(birth_date, value.get("low"), value.get("high"))
    return None


def abatement_interval(condition: Resource, birth_date: dt.date) -> Interval | None:
    """QICoreCommon.abatementInterval(): a Period becomes Interval[start, end)."""
    if condition.get("abatementPeriod") is not None:
        period = period_interval(condition["abatementPeriod"])
        if period is None:
            return None
        return Interval(period.low, period.high, True, False)
    return choice_interval(condition, "abatement", birth_date)


def is_active(condition: Resource) -> bool:
    """QICoreCommon.isActive(): clinicalStatus ~ active, recurrence or relapse."""
    clinical_status = condition.get("clinicalStatus")
    return any(
        concept_is(clinical_status, CONDITION_CLINICAL, code)
        for code in ("active", "recurrence", "relapse")
    )


def prevalence_interval(condition: Resource, birth_date: dt.date) -> Interval:
    """QICoreCommon.prevalenceInterval(): onset to abatement.

    Active (or recurring) conditions run to the end of time unless abated; a
    resolved condition with no abatement date has an unknown end. (The measure
    engine uses `prevalence_interval_or_null`, which follows the CQL exactly.)
    """
    onset = choice_interval(condition, "onset", birth_date)
    onset_start = onset.start if onset is not None else None
    abatement = abatement_interval(condition, birth_date)
    abatement_end = abatement.end if abatement is not None else None
    if is_active(condition):
        return Interval(onset_start, abatement_end, True, True)
    return Interval(onset_start, abatement_end, True, abatement_end is not None)


def prevalence_interval_or_null(condition: Resource, birth_date: dt.date) -> Interval | None:
    """QICoreCommon.prevalenceInterval() exactly as CQL evaluates it.

    For a condition that is not active the CQL is a query over one value:
        (end of condition.abatementInterval()) abatementDate return ...
    and a query whose only source is null is null (CQL 1.5.3, FHIR-40225;
    cql-execution's Query since 2.x). So a resolved, inactive or status-less
    condition with no abatement end has no prevalence interval at all: every
    comparison with it is unknown and it never counts.
    """
    interval = prevalence_interval(condition, birth_date)
    if not is_active(condition) and interval.high is None:
        return None
    return interval


def authored_interval(resource: Resource) -> Interval | None:
    """`authoredOn.toInterval()`: Interval[authoredOn, authoredOn]."""
    point = parse_point(resource.get("authoredOn"))
    return instant(point) if point else None
