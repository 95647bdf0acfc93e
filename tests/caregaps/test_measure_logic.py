"""The measure logic (CMS130, CMS125, CMS124) on small synthetic patients, edge by edge.

Each test builds an in-memory PatientRecord and a tiny Terminology with one
or two real codes per value set, so no database and no shared files are
needed. The expected answers are what the CQL means as fqm-execution /
cql-execution (the engine MADiE computes CMS's expected results with)
evaluate it; see patients/caregaps/temporal.py for the date and time-zone rules.
The measurement period is 2025-01-01 to 2025-12-31 throughout.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from typing import Any

import pytest

from patients.caregaps.codes import (
    CPT,
    HCPCS,
    ICD10CM,
    ICD10PCS,
    LOINC,
    RXNORM,
    SNOMED,
    normalise_system,
    vsac,
)
from patients.caregaps.datetimes import MAX_POINT, MIN_POINT, parse_point, point_from_date
from patients.caregaps.fhirdata import (
    PatientRecord,
    device_do_not_perform,
    has_value,
    prevalence_interval,
    prevalence_interval_or_null,
)
from patients.caregaps.measures.context import Terminology
from patients.caregaps.measures.measure import Populations
from patients.caregaps.measures.registry import MEASURES
from patients.caregaps.medication_period import medication_request_period
from patients.caregaps.temporal import (
    Interval,
    after_or_same,
    before_or_same,
    period_of,
    point_during,
)
from tests.support.paths import ECQM
from tests.support.services import need

START, END = dt.date(2025, 1, 1), dt.date(2025, 12, 31)
PERIOD = period_of(START, END)

CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
DO_NOT_PERFORM = "http://hl7.org/fhir/us/qicore/StructureDefinition/qicore-doNotPerform"

# --- A tiny terminology: a code or two per value set ---------------------------------------

P = "2.16.840.1.113883.3.464.1003."
OFFICE_VISIT = P + "101.12.1001"
ANNUAL_WELLNESS = "2.16.840.1.113883.3.526.3.1240"
HOME_HEALTH = P + "101.12.1016"
TELEPHONE = P + "101.12.1080"
FOBT = P + "198.12.1011"
SDNA_FIT = P + "108.12.1039"
FLEX_SIG = P + "198.12.1010"
CT_COLONOGRAPHY = P + "108.12.1038"
COLONOSCOPY = P + "108.12.1020"
COLON_CANCER = P + "108.12.1001"
TOTAL_COLECTOMY = P + "198.12.1019"
MAMMOGRAPHY = P + "108.12.1018"
BILATERAL_MASTECTOMY = P + "198.12.1005"
HISTORY_BILATERAL = P + "198.12.1068"
STATUS_POST_LEFT = P + "198.12.1069"
STATUS_POST_RIGHT = P + "198.12.1070"
UNSPECIFIED_MASTECTOMY = P + "198.12.1071"
MASTECTOMY_LEFT = P + "198.12.1133"
MASTECTOMY_RIGHT = P + "198.12.1134"
PAP_TEST = P + "108.12.1017"
HPV_TEST = P + "110.12.1059"
HYSTERECTOMY = P + "198.12.1014"
ABSENCE_OF_CERVIX = P + "111.12.1016"
ENCOUNTER_INPATIENT = "2.16.840.1.113883.3.666.5.307"
HOSPICE_ENCOUNTER = P + "1003"
HOSPICE_CARE = "2.16.840.1.113883.3.526.3.1584"
HOSPICE_DIAGNOSIS = P + "1165"
PALLIATIVE_ENCOUNTER = P + "101.12.1090"
PALLIATIVE_INTERVENTION = P + "198.12.1135"
PALLIATIVE_DIAGNOSIS = P + "1167"
FRAILTY_DEVICE = P + "118.12.1300"
FRAILTY_DIAGNOSIS = P + "113.12.1074"
FRAILTY_ENCOUNTER = P + "101.12.1088"
FRAILTY_SYMPTOM = P + "113.12.1075"
ADVANCED_ILLNESS = P + "110.12.1082"
DEMENTIA_MEDICATIONS = P + "196.12.1510"

CODES: dict[str, list[tuple[str, str]]] = {
    OFFICE_VISIT: [(CPT, "99202"), (CPT, "99203")],
    ANNUAL_WELLNESS: [(HCPCS, "G0438")],
    HOME_HEALTH: [(CPT, "99341")],
    P + "101.12.1023": [(CPT, "99385")],
    P + "101.12.1025": [(CPT, "99395")],
    TELEPHONE: [(CPT, "98966")],
    P + "101.12.1089": [(CPT, "98970")],
    FOBT: [(LOINC, "12503-9")],
    SDNA_FIT: [(LOINC, "77353-1")],
    FLEX_SIG: [(CPT, "45330")],
    CT_COLONOGRAPHY: [(LOINC, "60515-4")],
    COLONOSCOPY: [(CPT, "44388")],
    COLON_CANCER: [(ICD10CM, "C18.0")],
    TOTAL_COLECTOMY: [(CPT, "44152")],
    MAMMOGRAPHY: [(LOINC, "24604-1")],
    BILATERAL_MASTECTOMY: [(ICD10PCS, "0HTV0ZZ")],
    HISTORY_BILATERAL: [(ICD10CM, "Z90.13")],
    STATUS_POST_LEFT: [(ICD10CM, "Z90.12")],
    STATUS_POST_RIGHT: [(ICD10CM, "Z90.11")],
    UNSPECIFIED_MASTECTOMY: [(ICD10CM, "Z90.10")],
    MASTECTOMY_LEFT: [(ICD10PCS, "0HTU0ZZ")],
    MASTECTOMY_RIGHT: [(ICD10PCS, "0HTT0ZZ")],
    PAP_TEST: [(LOINC, "10524-7")],
    HPV_TEST: [(LOINC, "21440-3")],
    HYSTERECTOMY: [(CPT, "58293")],
    ABSENCE_OF_CERVIX: [(ICD10CM, "Q51.5")],
    ENCOUNTER_INPATIENT: [(SNOMED, "32485007")],
    HOSPICE_ENCOUNTER: [(HCPCS, "G9473")],
    HOSPICE_CARE: [(CPT, "99377")],
    HOSPICE_DIAGNOSIS: [(SNOMED, "170935008")],
    PALLIATIVE_ENCOUNTER: [(HCPCS, "M1017")],
    PALLIATIVE_INTERVENTION: [(SNOMED, "103735009")],
    PALLIATIVE_DIAGNOSIS: [(ICD10CM, "Z51.5")],
    FRAILTY_DEVICE: [(SNOMED, "466986006")],
    FRAILTY_DIAGNOSIS: [(ICD10CM, "L89.000")],
    FRAILTY_ENCOUNTER: [(CPT, "99504")],
    FRAILTY_SYMPTOM: [(ICD10CM, "R26.2")],
    ADVANCED_ILLNESS: [(ICD10CM, "A81.00")],
    DEMENTIA_MEDICATIONS: [(RXNORM, "1100184")],
}


@pytest.fixture(scope="module")
def terminology() -> Terminology:
    return Terminology({vsac(oid): frozenset(codes) for oid, codes in CODES.items()})


# --- Building patients ------------------------------------------------------------------------

_ids = itertools.count(1)


def concept(oid_or_code: str | tuple[str, str]) -> dict[str, Any]:
    system, code = CODES[oid_or_code][0] if isinstance(oid_or_code, str) else oid_or_code
    return {"coding": [{"system": system, "code": code}]}


def resource(resource_type: str, **fields: Any) -> dict[str, Any]:
    return {"resourceType": resource_type, "id": f"{resource_type.lower()}-{next(_ids)}", **fields}


def encounter(
    start: str | None = "2025-06-01T10:00:00.000Z",
    end: str | None = "2025-06-01T10:30:00.000Z",
    *,
    oid: str = OFFICE_VISIT,
    status: str = "finished",
    **fields: Any,
) -> dict[str, Any]:
    period = {key: value for key, value in (("start", start), ("end", end)) if value is not None}
    return resource("Encounter", status=status, type=[concept(oid)], period=period, **fields)


def timing(prefix: str, when: str | dict[str, Any]) -> dict[str, Any]:
    """`performed`/`effective`/`onset`: a string is a dateTime, a dict a Period."""
    return {f"{prefix}DateTime": when} if isinstance(when, str) else {f"{prefix}Period": when}


def procedure(oid: str, performed: str | dict[str, Any], *, status: str = "completed") -> dict:
    return resource("Procedure", status=status, code=concept(oid), **timing("performed", performed))


def observation(
    code: str | tuple[str, str],
    effective: str | dict[str, Any] | None,
    *,
    status: str = "final",
    category: str | None = "laboratory",
    value: dict[str, Any] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    if value is None:
        value = {"valueInteger": 1}
    body: dict[str, Any] = {"status": status, "code": concept(code), **value, **fields}
    if category is not None:
        body["category"] = [{"coding": [{"system": CATEGORY, "code": category}]}]
    if effective is not None:
        body.update(timing("effective", effective))
    return resource("Observation", **body)


def condition(
    oid: str, *, clinical: str | None = "active", onset: str | None = None, **fields: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {"code": concept(oid), **fields}
    if clinical is not None:
        body["clinicalStatus"] = {"coding": [{"system": CLINICAL, "code": clinical}]}
    if onset is not None:
        body["onsetDateTime"] = onset
    return resource("Condition", **body)


def answer(system: str, code: str) -> dict[str, Any]:
    return {"valueCodeableConcept": {"coding": [{"system": system, "code": code}]}}


def patient(born: str, *resources: dict[str, Any], gender: str = "female") -> PatientRecord:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for item in resources:
        grouped.setdefault(item["resourceType"], []).append(item)
    return PatientRecord(
        id="p", birth_date=dt.date.fromisoformat(born), gender=gender, resources=grouped
    )


def run(measure: str, record: PatientRecord, terminology: Terminology) -> Populations:
    return MEASURES[measure].evaluate(
        record, period_start=START, period_end=END, terminology=terminology
    )


def populations(measure: str, record: PatientRecord, terminology: Terminology) -> tuple:
    """(initial population, denominator exclusion, numerator) as 0/1."""
    result = run(measure, record, terminology).as_dict()
    assert result["denominator"] == result["initial-population"]
    return (
        result["initial-population"],
        result["denominator-exclusion"],
        result["numerator"],
    )


# Patients in each initial population, to add one thing to.
AGE_65 = "1960-06-01"  # colorectal, 65 on 31 Dec 2025
AGE_70 = "1955-06-01"  # colorectal and breast, old enough for frailty and nursing homes
AGE_60 = "1965-06-01"  # breast
AGE_40 = "1985-06-01"  # cervical


def colorectal(*resources: dict[str, Any], born: str = AGE_65) -> PatientRecord:
    return patient(born, encounter(), *resources)


def breast(*resources: dict[str, Any], born: str = AGE_60) -> PatientRecord:
    return patient(born, encounter(), *resources)


def cervical(*resources: dict[str, Any], born: str = AGE_40) -> PatientRecord:
    return patient(born, encounter(), *resources)


def numerator(measure: str, record: PatientRecord, terminology: Terminology) -> int:
    ip, excluded, num = populations(measure, record, terminology)
    assert ip == 1 and excluded == 0
    return num


def excluded(measure: str, record: PatientRecord, terminology: Terminology) -> int:
    ip, denex, _ = populations(measure, record, terminology)
    assert ip == 1
    return denex


# === Dates, times and time zones (patients.caregaps.datetimes, .temporal) =========================


def test_an_evening_in_new_york_on_new_years_eve_is_in_the_period_by_calendar_day():
    # 2025-12-31T22:00-05:00 is 2026-01-01T03:00Z, but `day of` compares days as written.
    late = parse_point("2025-12-31T22:00:00-05:00")
    assert point_during(late, PERIOD) is True


def test_the_same_evening_is_after_the_period_end_to_the_millisecond():
    late = parse_point("2025-12-31T22:00:00-05:00")
    assert before_or_same(late, PERIOD.end, by_day=False) is False


def test_half_past_midnight_in_berlin_on_new_years_day_is_outside_the_period_by_day():
    # 2026-01-01T00:30+01:00 is 2025-12-31T23:30Z: its written day is 1 January.
    assert point_during(parse_point("2026-01-01T00:30:00+01:00"), PERIOD) is False
    assert before_or_same(parse_point("2026-01-01T00:30:00+01:00"), PERIOD.end, by_day=False)


def test_a_date_with_only_a_year_cannot_be_placed_in_the_period():
    assert point_during(parse_point("2025"), PERIOD) is None


def test_a_date_with_a_month_is_in_the_period_unless_it_is_a_boundary_month():
    assert point_during(parse_point("2025-06"), PERIOD) is True
    assert point_during(parse_point("2025-01"), PERIOD) is None
    assert point_during(parse_point("2024-12"), PERIOD) is False


def test_a_date_on_the_last_day_is_unknown_against_the_last_millisecond():
    last_day = parse_point("2025-12-31")
    assert before_or_same(last_day, PERIOD.end, by_day=False) is None
    assert before_or_same(last_day, PERIOD.end, by_day=True) is True
    assert before_or_same(parse_point("2025-12-30"), PERIOD.end, by_day=False) is True


def test_seconds_without_milliseconds_compare_as_zero_milliseconds():
    assert before_or_same(parse_point("2025-12-31T23:59:59Z"), PERIOD.end, by_day=False)
    assert after_or_same(parse_point("2025-01-01T00:00:00Z"), PERIOD.start, by_day=False)


def test_an_interval_with_no_start_overlaps_when_its_end_is_in_the_period():
    no_start = Interval(None, parse_point("2025-03-01T00:00:00.000Z"), False, True)
    assert no_start.overlaps(PERIOD) is True
    assert no_start.during(PERIOD) is None  # it may have started before the period
    ended_before = Interval(None, parse_point("2024-03-01T00:00:00.000Z"), False, True)
    assert ended_before.during(PERIOD) is False


def test_an_interval_with_no_end_is_still_going_on():
    ongoing = Interval(parse_point("2025-03-01T00:00:00.000Z"), None)
    assert ongoing.end == MAX_POINT
    assert ongoing.overlaps(PERIOD) is True
    assert ongoing.during(PERIOD) is False
    assert ongoing.ends_during(PERIOD) is False
    assert ongoing.latest() == parse_point("2025-03-01T00:00:00.000Z")


def test_an_unknown_end_overlaps_only_if_the_interval_starts_in_the_period():
    assert Interval(parse_point("2025-02-01"), None, True, False).overlaps(PERIOD) is True
    assert Interval(parse_point("2024-02-01"), None, True, False).overlaps(PERIOD) is None


def test_an_open_end_at_midnight_ends_the_millisecond_before():
    interval = Interval(parse_point("2024-06-01"), parse_point("2025-01-01T00:00:00.000Z"))
    half_open = Interval(interval.low, interval.high, True, False)
    assert half_open.end == parse_point("2024-12-31T23:59:59.999Z")
    assert half_open.overlaps(PERIOD) is False


# === FHIR elements (patients.caregaps.fhirdata) ===================================================


def test_an_observation_with_only_a_data_absent_reason_has_no_value():
    assert not has_value({"resourceType": "Observation", "dataAbsentReason": {"text": "x"}})
    assert not has_value({"resourceType": "Observation", "valueQuantity": None})
    assert has_value({"resourceType": "Observation", "valueBoolean": False})


@pytest.mark.parametrize(
    ("extensions", "expected"),
    [
        ([{"url": DO_NOT_PERFORM, "valueBoolean": True}], True),
        ([{"url": DO_NOT_PERFORM, "valueBoolean": False}], False),
        ([], None),
        ([{"url": DO_NOT_PERFORM.replace("Perform", "Peform"), "valueBoolean": True}], None),
        ([{"url": DO_NOT_PERFORM, "valueString": "true"}], None),
    ],
)
def test_do_not_perform_reads_only_the_qicore_modifier_extension(extensions, expected):
    assert device_do_not_perform({"modifierExtension": extensions}) is expected


def test_an_active_condition_with_no_onset_is_prevalent_for_all_time():
    interval = prevalence_interval_or_null(condition(COLON_CANCER), dt.date(1960, 1, 1))
    assert interval is not None
    assert interval.start == MIN_POINT and interval.end == MAX_POINT


def test_a_resolved_condition_with_no_abatement_has_no_prevalence_interval():
    resolved = condition(COLON_CANCER, clinical="resolved", onset="2025-02-01")
    assert prevalence_interval_or_null(resolved, dt.date(1960, 1, 1)) is None
    # The compatibility form keeps the documented open end.
    assert prevalence_interval(resolved, dt.date(1960, 1, 1)).high_closed is False


def test_an_onset_age_is_the_year_from_that_birthday():
    aged = condition(COLON_CANCER, onsetAge={"value": 40, "unit": "a", "code": "a"})
    interval = prevalence_interval_or_null(aged, dt.date(1960, 3, 15))
    assert interval is not None and interval.start == point_from_date(dt.date(2000, 3, 15))


def test_an_onset_range_with_only_a_low_age_starts_on_that_birthday():
    ranged = condition(COLON_CANCER, onsetRange={"low": {"value": 50, "code": "a"}})
    interval = prevalence_interval_or_null(ranged, dt.date(1960, 3, 15))
    assert interval is not None and interval.start == point_from_date(dt.date(2010, 3, 15))


def test_a_resolved_condition_abated_at_an_age_ends_the_day_before_the_next_birthday():
    abated = condition(
        COLON_CANCER,
        clinical="resolved",
        onset="2000-01-01",
        abatementAge={"value": 64, "code": "a"},
    )
    interval = prevalence_interval_or_null(abated, dt.date(1960, 3, 15))
    assert interval is not None and interval.end == point_from_date(dt.date(2025, 3, 14))


def medication(**fields: Any) -> dict[str, Any]:
    body = {
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": concept(DEMENTIA_MEDICATIONS),
        **fields,
    }
    return resource("MedicationRequest", **body)


def test_a_medication_period_runs_for_the_expected_supply_from_the_written_day():
    request = medication(
        authoredOn="2024-03-01T23:30:00-05:00",  # 1 March as written, 2 March in UTC
        dispenseRequest={"expectedSupplyDuration": {"value": 30, "code": "d"}},
    )
    period = medication_request_period(request)
    assert period is not None
    assert period.low == point_from_date(dt.date(2024, 3, 1))
    assert period.high == point_from_date(dt.date(2024, 3, 30))


def test_a_medication_supply_in_months_uses_gregorian_months_and_refills():
    request = medication(
        authoredOn="2024-01-01",
        dispenseRequest={
            "expectedSupplyDuration": {"value": 1, "code": "mo"},
            "numberOfRepeatsAllowed": 1,
        },
    )
    # 2 x 30.436875 = 60.87 days: the last day is start + floor(59.87) days.
    period = medication_request_period(request)
    assert period is not None and period.high == point_from_date(dt.date(2024, 2, 29))


def test_a_medication_period_from_quantity_needs_a_frequency_or_times_of_day():
    dosage = {"doseAndRate": [{"doseQuantity": {"value": 1}}]}
    no_frequency = medication(
        authoredOn="2024-01-01",
        dosageInstruction=[dosage],
        dispenseRequest={"quantity": {"value": 30}},
    )
    assert medication_request_period(no_frequency) is None  # dosesPerDay is Count([]) = 0
    twice_daily = medication(
        authoredOn="2024-01-01",
        dosageInstruction=[
            {**dosage, "timing": {"repeat": {"frequency": 2, "period": 1, "periodUnit": "d"}}}
        ],
        dispenseRequest={"quantity": {"value": 30}},
    )
    period = medication_request_period(twice_daily)
    assert period is not None and period.high == point_from_date(dt.date(2024, 1, 15))


def test_a_medication_period_falls_back_to_the_dosage_bounds():
    request = medication(
        authoredOn="2024-01-01",
        dosageInstruction=[
            {"timing": {"repeat": {"boundsPeriod": {"start": "2024-02-01", "end": "2024-04-30"}}}}
        ],
    )
    period = medication_request_period(request)
    assert period is not None
    assert period.low == point_from_date(dt.date(2024, 2, 1))
    assert period.high == point_from_date(dt.date(2024, 4, 30))


# === Initial population: ages, sex and qualifying encounters ===================================


@pytest.mark.parametrize(
    ("measure", "born", "included"),
    [
        ("CMS130", "1980-01-01", 0),  # 45 on 31 Dec 2025 (46 the next day)
        ("CMS130", "1979-12-31", 1),  # turns 46 on the period's last day
        ("CMS130", "1950-01-01", 1),  # 75
        ("CMS130", "1949-12-31", 0),  # turns 76 on the last day
        ("CMS125", "1974-01-01", 0),  # 51
        ("CMS125", "1973-12-31", 1),  # 52
        ("CMS125", "1951-01-01", 1),  # 74
        ("CMS125", "1950-12-31", 0),  # 75
        ("CMS124", "2002-01-01", 0),  # 23
        ("CMS124", "2001-12-31", 1),  # 24
        ("CMS124", "1961-01-01", 1),  # 64
        ("CMS124", "1960-12-31", 0),  # 65
    ],
)
def test_age_is_taken_on_the_last_day_of_the_period(measure, born, included, terminology):
    assert populations(measure, patient(born, encounter()), terminology)[0] == included


def test_a_man_is_not_in_the_breast_or_cervical_populations(terminology):
    assert populations("CMS125", patient(AGE_60, encounter(), gender="male"), terminology)[0] == 0
    assert populations("CMS124", patient(AGE_40, encounter(), gender="male"), terminology)[0] == 0
    assert populations("CMS130", patient(AGE_65, encounter(), gender="male"), terminology)[0] == 1


def test_an_annual_wellness_visit_qualifies_for_colorectal_but_not_cervical(terminology):
    assert populations("CMS130", patient(AGE_65, encounter(oid=ANNUAL_WELLNESS)), terminology)[0]
    assert not populations("CMS124", patient(AGE_40, encounter(oid=ANNUAL_WELLNESS)), terminology)[
        0
    ]


@pytest.mark.parametrize(
    ("start", "end", "included"),
    [
        ("2025-01-01T00:00:00.000Z", "2025-01-01T00:30:00.000Z", 1),
        ("2025-12-31T23:00:00.000Z", "2025-12-31T23:59:59.000Z", 1),
        ("2024-12-31T23:30:00.000Z", "2025-01-01T00:30:00.000Z", 0),  # overlaps the start
        ("2025-12-31T23:30:00.000Z", "2026-01-01T00:30:00.000Z", 0),  # overlaps the end
        ("2025-06-01T10:00:00.000Z", None, 0),  # no end: still going on
        (None, "2025-06-01T10:00:00.000Z", 0),  # no start: may have begun before
        ("2025-12-31T22:00:00-05:00", "2025-12-31T23:00:00-05:00", 1),  # Dec 31 as written
        ("2025-06", "2025-06", 1),  # partial dates well inside the period
        ("2025", "2025", 0),  # a year cannot be placed in the period
    ],
)
def test_a_qualifying_encounter_must_fall_within_the_period_by_day(
    start, end, included, terminology
):
    assert populations("CMS130", patient(AGE_65, encounter(start, end)), terminology)[0] == included


@pytest.mark.parametrize(
    ("status", "included"),
    [
        ("finished", 1),
        ("arrived", 1),
        ("triaged", 1),
        ("in-progress", 1),
        ("onleave", 1),
        ("planned", 0),
        ("cancelled", 0),
        ("entered-in-error", 0),
        ("Finished", 0),  # `status in {...}` is case-sensitive
    ],
)
def test_only_performed_encounter_statuses_qualify(status, included, terminology):
    record = patient(AGE_65, encounter(status=status))
    assert populations("CMS130", record, terminology)[0] == included


def test_an_encounter_without_a_period_does_not_qualify(terminology):
    visit = encounter()
    del visit["period"]
    assert populations("CMS130", patient(AGE_65, visit), terminology)[0] == 0


def test_an_encounter_coded_without_a_system_does_not_qualify(terminology):
    visit = encounter()
    visit["type"] = [{"coding": [{"code": "99202"}]}]
    assert populations("CMS130", patient(AGE_65, visit), terminology)[0] == 0


# === CMS130 numerator: each test's look-back window ===========================================


@pytest.mark.parametrize(
    ("when", "counts"),
    [
        ("2025-01-01", 1),
        ("2025-12-31", 1),
        ("2024-12-31", 0),
        ("2026-01-01", 0),
        ("2025-12-31T22:00:00-05:00", 1),
        ("2026-01-01T00:30:00+01:00", 0),  # 2025-12-31 in UTC, but 1 January as written
        ("2025", 0),
        ("2025-06", 1),
    ],
)
def test_a_fecal_occult_blood_test_counts_only_in_the_period(when, counts, terminology):
    assert numerator("CMS130", colorectal(observation(FOBT, when)), terminology) == counts


def test_the_latest_of_a_fobt_period_is_its_end(terminology):
    spans_new_year = observation(FOBT, {"start": "2024-12-30", "end": "2025-01-02"})
    assert numerator("CMS130", colorectal(spans_new_year), terminology) == 1
    no_end = observation(FOBT, {"start": "2024-12-30"})  # latest() falls back to the start
    assert numerator("CMS130", colorectal(no_end), terminology) == 0


@pytest.mark.parametrize(
    ("status", "category", "value", "counts"),
    [
        ("final", "laboratory", {"valueInteger": 0}, 1),
        ("amended", "laboratory", {"valueInteger": 0}, 1),
        ("corrected", "laboratory", {"valueInteger": 0}, 1),
        ("preliminary", "laboratory", {"valueInteger": 0}, 0),
        ("cancelled", "laboratory", {"valueInteger": 0}, 0),
        ("entered-in-error", "laboratory", {"valueInteger": 0}, 0),
        ("final", "survey", {"valueInteger": 0}, 0),
        ("final", None, {"valueInteger": 0}, 0),
        ("final", "laboratory", {"dataAbsentReason": {"text": "not done"}}, 0),
    ],
)
def test_a_fobt_must_be_a_resulted_laboratory_test_with_a_value(
    status, category, value, counts, terminology
):
    test = observation(FOBT, "2025-06-01", status=status, category=category, value=value)
    assert numerator("CMS130", colorectal(test), terminology) == counts


@pytest.mark.parametrize(("when", "counts"), [("2023-01-01", 1), ("2022-12-31", 0)])
def test_a_stool_dna_test_counts_back_to_the_start_of_two_years_before(when, counts, terminology):
    assert numerator("CMS130", colorectal(observation(SDNA_FIT, when)), terminology) == counts


@pytest.mark.parametrize(("when", "counts"), [("2021-01-01", 1), ("2020-12-31", 0)])
def test_a_flexible_sigmoidoscopy_counts_back_to_four_years_before(when, counts, terminology):
    assert numerator("CMS130", colorectal(procedure(FLEX_SIG, when)), terminology) == counts


@pytest.mark.parametrize(("when", "counts"), [("2021-01-01", 1), ("2020-12-31", 0)])
def test_a_ct_colonography_counts_back_to_four_years_before(when, counts, terminology):
    # A diagnostic study: any resulted status, no category and no value needed.
    study = observation(CT_COLONOGRAPHY, when, category=None, value={})
    assert numerator("CMS130", colorectal(study), terminology) == counts


@pytest.mark.parametrize(
    ("performed", "counts"),
    [
        ("2016-01-01", 1),
        ("2015-12-31", 0),
        ("2025-12-31T23:59:59.000Z", 1),
        ({"start": "2015-12-31T10:00:00.000Z", "end": "2016-01-01T10:00:00.000Z"}, 1),
        ({"start": "2025-12-31T10:00:00.000Z", "end": "2026-01-01T10:00:00.000Z"}, 0),
        ({"start": "2025-06-01T10:00:00.000Z"}, 0),  # no end: it never ends in the window
    ],
)
def test_a_colonoscopy_ending_in_the_nine_years_back_counts(performed, counts, terminology):
    assert numerator("CMS130", colorectal(procedure(COLONOSCOPY, performed)), terminology) == counts


def test_a_colonoscopy_ending_on_the_first_day_nine_years_back_counts(terminology):
    record = colorectal(procedure(COLONOSCOPY, {"start": "2015-12-31", "end": "2016-01-01"}))
    assert numerator("CMS130", record, terminology) == 1


@pytest.mark.parametrize(
    ("status", "counts"),
    [("completed", 1), ("COMPLETED", 1), ("in-progress", 0), ("not-done", 0), ("stopped", 0)],
)
def test_only_a_completed_procedure_counts(status, counts, terminology):
    record = colorectal(procedure(COLONOSCOPY, "2024-05-01", status=status))
    assert numerator("CMS130", record, terminology) == counts


# === CMS125 and CMS124 numerators ==============================================================


@pytest.mark.parametrize(
    ("when", "counts"),
    [
        ("2023-10-01", 1),
        ("2023-09-30", 0),
        ("2025-12-31", 1),
        ("2026-01-01", 0),
        ("2023-10-01T00:00:00.000Z", 1),
        ("2023-09-30T22:00:00-04:00", 0),  # 1 October in UTC, 30 September as written
        ({"start": "2023-09-30", "end": "2023-10-01"}, 1),  # it ends on 1 October
    ],
)
def test_a_mammogram_counts_from_october_first_two_years_before(when, counts, terminology):
    study = observation(MAMMOGRAPHY, when, category="imaging", value={})
    assert numerator("CMS125", breast(study), terminology) == counts


@pytest.mark.parametrize(
    ("when", "counts"), [("2023-01-01", 1), ("2022-12-31", 0), ("2026-01-01", 0)]
)
def test_cervical_cytology_counts_back_to_two_years_before(when, counts, terminology):
    assert numerator("CMS124", cervical(observation(PAP_TEST, when)), terminology) == counts


@pytest.mark.parametrize(
    ("born", "tested", "counts"),
    [
        ("1991-03-15", "2021-03-15", 1),  # 30 on the day of the test
        ("1991-03-15", "2021-03-14", 0),  # 29 the day before
        ("1985-06-01", "2021-01-01", 1),  # first day of the four years back
        ("1985-06-01", "2020-12-31", 0),  # one day too early
        ("1991-03-15", "2021-03-15T23:00:00-05:00", 1),  # the birthday as written
        ("1991-03-15", "2021-03", None),  # 29 or 30: unknown, so it does not count
        ("1991-03-15", "2021-04", 1),  # 30 all month
    ],
)
def test_an_hpv_test_counts_from_age_thirty_within_four_years(born, tested, counts, terminology):
    record = cervical(observation(HPV_TEST, tested), born=born)
    assert numerator("CMS124", record, terminology) == (counts or 0)


def test_an_hpv_test_without_a_value_does_not_count(terminology):
    test = observation(HPV_TEST, "2024-01-01", value={"dataAbsentReason": {"text": "lost"}})
    assert numerator("CMS124", cervical(test), terminology) == 0


# === Denominator exclusions =====================================================================


def test_a_patient_excluded_with_a_screening_is_not_in_the_numerator(terminology):
    record = colorectal(
        procedure(COLONOSCOPY, "2025-03-01"),
        condition(HOSPICE_DIAGNOSIS, onset="2025-06-01"),
    )
    assert populations("CMS130", record, terminology) == (1, 1, 0)


def test_a_patient_outside_the_population_is_in_nothing(terminology):
    record = patient("1990-01-01", encounter(), condition(HOSPICE_DIAGNOSIS))
    assert populations("CMS130", record, terminology) == (0, 0, 0)


# --- Conditions (prevalence) ---


@pytest.mark.parametrize(
    ("fields", "counts"),
    [
        ({}, 1),  # active, no onset: prevalent since the start of time
        ({"onsetDateTime": "2025-12-31"}, 1),
        ({"onsetDateTime": "2026-01-01"}, 0),
        ({"clinicalStatus": "resolved", "onsetDateTime": "2020-01-01"}, 0),  # no abatement
        (
            {
                "clinicalStatus": "resolved",
                "onsetDateTime": "2020-01-01",
                "abatementDateTime": "2021-01-01",
            },
            1,
        ),
        ({"onsetAge": {"value": 40, "code": "a", "system": "http://unitsofmeasure.org"}}, 1),
        ({"onsetPeriod": {"end": "2020-01-01"}}, 1),  # no start: start of time
    ],
)
def test_colorectal_cancer_counts_if_it_starts_by_the_end_of_the_period(
    fields, counts, terminology
):
    clinical = fields.pop("clinicalStatus", "active")
    cancer = condition(COLON_CANCER, clinical=clinical, **fields)
    assert excluded("CMS130", colorectal(cancer), terminology) == counts


@pytest.mark.parametrize(
    ("clinical", "onset", "abatement", "counts"),
    [
        ("active", "2025-06-01", {}, 1),
        ("active", "2020-06-01", {"abatementDateTime": "2024-12-31"}, 0),
        ("active", "2020-06-01", {"abatementDateTime": "2025-01-01"}, 1),
        ("resolved", "2025-06-01", {}, 0),  # no abatement: no prevalence interval at all
        ("resolved", "2020-06-01", {"abatementPeriod": {"end": "2025-01-01T00:00:00.000Z"}}, 0),
        ("resolved", "2020-06-01", {"abatementPeriod": {"end": "2025-01-02"}}, 1),
        ("resolved", "2020-06-01", {"abatementAge": {"value": 64, "code": "a"}}, 1),
        ("resolved", "2020-06-01", {"abatementAge": {"value": 63, "code": "a"}}, 0),
        (None, "2025-06-01", {}, 0),  # no clinical status: not active, no abatement
    ],
)
def test_a_hospice_diagnosis_must_overlap_the_period(
    clinical, onset, abatement, counts, terminology
):
    diagnosis = condition(HOSPICE_DIAGNOSIS, clinical=clinical, onset=onset, **abatement)
    # Born 1960-06-01: 64 until 31 May 2025; the age-63 year ends 31 May 2024.
    assert excluded("CMS130", colorectal(diagnosis), terminology) == counts


@pytest.mark.parametrize(
    ("performed", "counts"),
    [("2025-12-31", 1), ("2026-01-01", 0), ({"start": "2025-06-01"}, 0)],
)
def test_a_total_colectomy_must_end_by_the_last_day(performed, counts, terminology):
    record = colorectal(procedure(TOTAL_COLECTOMY, performed))
    assert excluded("CMS130", record, terminology) == counts


# --- Hospice ---


def inpatient(end: str, disposition: str = "428361000124107", **fields: Any) -> dict[str, Any]:
    return encounter(
        "2025-12-20T10:00:00.000Z",
        end,
        oid=ENCOUNTER_INPATIENT,
        hospitalization={"dischargeDisposition": concept((SNOMED, disposition))},
        **fields,
    )


@pytest.mark.parametrize(
    ("stay", "counts"),
    [
        (inpatient("2025-12-31T23:59:59.000Z"), 1),
        (inpatient("2025-12-31T22:00:00.000Z", "428371000124100"), 1),  # to a hospice facility
        (inpatient("2026-01-01T00:00:00.000Z"), 0),  # ends after the period
        (inpatient("2025-12-31T23:00:00.000Z", "306689006"), 0),  # discharged home
        (inpatient("2025-12-31T23:00:00.000Z", status="cancelled"), 0),
        (
            encounter(
                "2024-12-20T10:00:00.000Z",
                "2025-01-01T01:00:00.000Z",
                oid=ENCOUNTER_INPATIENT,
                hospitalization={"dischargeDisposition": concept((SNOMED, "428361000124107"))},
            ),
            1,
        ),
    ],
)
def test_a_discharge_to_hospice_counts_when_the_stay_ends_in_the_period(stay, counts, terminology):
    assert excluded("CMS130", colorectal(stay), terminology) == counts


@pytest.mark.parametrize(
    ("start", "end", "counts"),
    [
        ("2024-12-15T10:00:00.000Z", "2025-01-01T00:00:00.000Z", 1),
        ("2024-12-15T10:00:00.000Z", "2024-12-31T23:59:59.000Z", 0),
        ("2024-12-15T10:00:00.000Z", None, 1),  # still in hospice
        ("2026-01-01T00:00:00.000Z", "2026-01-02T00:00:00.000Z", 0),
    ],
)
def test_a_hospice_encounter_must_overlap_the_period(start, end, counts, terminology):
    stay = encounter(start, end, oid=HOSPICE_ENCOUNTER)
    assert excluded("CMS130", colorectal(stay), terminology) == counts


@pytest.mark.parametrize(
    ("answer_code", "status", "category", "counts"),
    [
        ("373066001", "final", "survey", 1),  # Yes
        ("373067005", "final", "survey", 0),  # No
        ("373066001", "preliminary", "survey", 0),
        ("373066001", "final", None, 0),  # an assessment must be a survey
    ],
)
def test_a_hospice_assessment_must_be_answered_yes(
    answer_code, status, category, counts, terminology
):
    assessment = observation(
        (LOINC, "45755-6"),
        "2025-04-01",
        status=status,
        category=category,
        value=answer(SNOMED, answer_code),
    )
    assert excluded("CMS130", colorectal(assessment), terminology) == counts


@pytest.mark.parametrize(
    ("status", "intent", "authored", "counts"),
    [
        ("active", "order", "2025-03-01", 1),
        ("completed", "order", "2025-03-01", 1),
        ("draft", "order", "2025-03-01", 0),
        ("active", "plan", "2025-03-01", 0),
        ("active", "order", "2024-12-31", 0),
    ],
)
def test_a_hospice_order_must_be_an_active_or_completed_order_in_the_period(
    status, intent, authored, counts, terminology
):
    order = resource(
        "ServiceRequest",
        status=status,
        intent=intent,
        code=concept(HOSPICE_CARE),
        authoredOn=authored,
        doNotPerform=True,  # commented out in Hospice 6.12.000 (CQLIT-447): ignored
    )
    assert excluded("CMS130", colorectal(order), terminology) == counts


@pytest.mark.parametrize(("status", "counts"), [("completed", 1), ("in-progress", 0)])
def test_hospice_care_must_have_been_performed(status, counts, terminology):
    care = procedure(HOSPICE_CARE, "2025-05-01", status=status)
    assert excluded("CMS130", colorectal(care), terminology) == counts


# --- Palliative care ---


@pytest.mark.parametrize(
    ("item", "counts"),
    [
        (observation((LOINC, "71007-9"), "2025-01-01", category="survey"), 1),
        (observation((LOINC, "71007-9"), "2026-01-01", category="survey"), 0),
        (observation((LOINC, "71007-9"), "2025-06-01", category="laboratory"), 0),
        (condition(PALLIATIVE_DIAGNOSIS, onset="2024-01-01"), 1),
        (
            encounter(
                "2024-12-31T20:00:00.000Z", "2025-01-01T02:00:00.000Z", oid=PALLIATIVE_ENCOUNTER
            ),
            1,
        ),
        (procedure(PALLIATIVE_INTERVENTION, "2025-12-31T23:00:00.000Z"), 1),
        (procedure(PALLIATIVE_INTERVENTION, "2024-12-31T23:00:00.000Z"), 0),
    ],
)
def test_palliative_care_in_the_period_excludes_from_every_measure(item, counts, terminology):
    assert excluded("CMS130", colorectal(item), terminology) == counts
    assert excluded("CMS124", cervical(item), terminology) == counts


# --- Advanced illness and frailty ---

ILLNESS_2024 = condition(ADVANCED_ILLNESS, onset="2024-01-01")


def device_request(**fields: Any) -> dict[str, Any]:
    body = {
        "status": "active",
        "intent": "order",
        "codeCodeableConcept": concept(FRAILTY_DEVICE),
        "authoredOn": "2025-05-01",
        **fields,
    }
    return resource("DeviceRequest", **body)


@pytest.mark.parametrize(
    ("extensions", "counts"),
    [
        ([{"url": DO_NOT_PERFORM, "valueBoolean": True}], 0),
        ([{"url": DO_NOT_PERFORM, "valueBoolean": False}], 1),
        ([], 1),
        ([{"url": DO_NOT_PERFORM.replace("Perform", "Peform"), "valueBoolean": True}], 1),
    ],
)
def test_a_frailty_device_order_counts_unless_marked_do_not_perform(
    extensions, counts, terminology
):
    order = device_request(modifierExtension=extensions)
    assert excluded("CMS130", colorectal(order, ILLNESS_2024, born=AGE_70), terminology) == counts


@pytest.mark.parametrize(
    ("fields", "counts"),
    [
        ({"status": "completed"}, 1),
        ({"status": "draft"}, 0),
        ({"intent": "plan"}, 0),
        ({"authoredOn": "2026-01-01"}, 0),
        ({"codeCodeableConcept": None, "codeReference": {"reference": "Device/1"}}, 0),
    ],
)
def test_a_frailty_device_order_must_be_an_order_in_the_period(fields, counts, terminology):
    order = device_request(**fields)
    assert excluded("CMS130", colorectal(order, ILLNESS_2024, born=AGE_70), terminology) == counts


def test_frailty_with_advanced_illness_needs_age_66_at_the_end_of_the_period(terminology):
    frail = condition(FRAILTY_DIAGNOSIS, onset="2025-02-01")
    sixty_five = colorectal(frail, ILLNESS_2024, born="1960-01-01")
    sixty_six = colorectal(frail, ILLNESS_2024, born="1959-12-31")
    assert excluded("CMS130", sixty_five, terminology) == 0
    assert excluded("CMS130", sixty_six, terminology) == 1


def test_frailty_alone_or_advanced_illness_alone_does_not_exclude(terminology):
    frail = condition(FRAILTY_DIAGNOSIS, onset="2025-02-01")
    assert excluded("CMS130", colorectal(frail, born=AGE_70), terminology) == 0
    assert excluded("CMS130", colorectal(ILLNESS_2024, born=AGE_70), terminology) == 0


@pytest.mark.parametrize(
    ("illness", "counts"),
    [
        (condition(ADVANCED_ILLNESS, onset="2024-01-01"), 1),
        (condition(ADVANCED_ILLNESS, onset="2023-12-31"), 0),  # it must start in the window
        (condition(ADVANCED_ILLNESS, onset="2026-01-01"), 0),
        (condition(ADVANCED_ILLNESS), 0),  # no onset: it starts at the start of time
        (condition(ADVANCED_ILLNESS, clinical="resolved", onset="2025-01-01"), 0),
    ],
)
def test_advanced_illness_must_start_in_the_year_before_or_during(illness, counts, terminology):
    frail = encounter(oid=FRAILTY_ENCOUNTER)
    assert excluded("CMS130", colorectal(frail, illness, born=AGE_70), terminology) == counts


@pytest.mark.parametrize(
    ("fields", "counts"),
    [
        ({"authoredOn": "2024-03-01", "supply": 30}, 1),
        ({"authoredOn": "2023-11-01", "supply": 30}, 0),  # ended 30 Nov 2023
        ({"authoredOn": "2023-11-15", "supply": 90}, 1),  # runs into 2024
        ({"authoredOn": "2026-01-01", "supply": 30}, 0),
        ({"authoredOn": "2024-03-01", "supply": 30, "status": "completed"}, 0),
        ({"authoredOn": "2024-03-01", "supply": 30, "intent": "plan"}, 0),
        ({"authoredOn": "2024-03-01", "supply": 30, "doNotPerform": True}, 1),  # ignored
        ({"authoredOn": "2024-03-01"}, 0),  # no supply and no bounds: no period
    ],
)
def test_a_dementia_medication_must_overlap_the_year_before_or_the_period(
    fields, counts, terminology
):
    supply = fields.pop("supply", None)
    if supply is not None:
        fields["dispenseRequest"] = {"expectedSupplyDuration": {"value": supply, "code": "d"}}
    frail = encounter(oid=FRAILTY_ENCOUNTER)
    record = colorectal(frail, medication(**fields), born=AGE_70)
    assert excluded("CMS130", record, terminology) == counts


def test_a_dementia_medication_given_by_reference_is_not_retrieved(terminology):
    by_reference = resource(
        "MedicationRequest",
        status="active",
        intent="order",
        medicationReference={"reference": "#med"},
        contained=[
            {"resourceType": "Medication", "id": "med", "code": concept(DEMENTIA_MEDICATIONS)}
        ],
        authoredOn="2025-03-01",
        dispenseRequest={"expectedSupplyDuration": {"value": 30, "code": "d"}},
    )
    frail = encounter(oid=FRAILTY_ENCOUNTER)
    assert excluded("CMS130", colorectal(frail, by_reference, born=AGE_70), terminology) == 0


@pytest.mark.parametrize(
    ("frailty", "counts"),
    [
        (observation(FRAILTY_SYMPTOM, "2025-03-01", status="preliminary", category=None), 1),
        (observation(FRAILTY_SYMPTOM, "2025-03-01", status="cancelled", category=None), 0),
        (
            observation(
                (LOINC, "98181-1"),
                "2025-03-01",
                category="survey",
                value=answer(SNOMED, "466986006"),
            ),
            1,
        ),
        (
            observation(
                (LOINC, "98181-1"), "2025-03-01", category="survey", value=answer(SNOMED, "1")
            ),
            0,
        ),
        (
            encounter(
                "2024-12-31T20:00:00.000Z", "2025-01-01T01:00:00.000Z", oid=FRAILTY_ENCOUNTER
            ),
            1,
        ),
        (condition(FRAILTY_DIAGNOSIS, clinical="resolved", onset="2024-01-01"), 0),
    ],
)
def test_each_kind_of_frailty_evidence(frailty, counts, terminology):
    record = colorectal(frailty, ILLNESS_2024, born=AGE_70)
    assert excluded("CMS130", record, terminology) == counts


# --- Nursing home ---


def housing(when: str | dict[str, Any], code: str = "160734000", **fields: Any) -> dict:
    return observation(
        (LOINC, "71802-3"), when, category="survey", value=answer(SNOMED, code), **fields
    )


NURSING_HOME, AT_HOME = "160734000", "160734001"


@pytest.mark.parametrize(
    ("assessments", "counts"),
    [
        ([housing("2025-03-01")], 1),
        ([housing("2025-12-31T23:59:00.000Z")], 1),
        ([housing("2024-03-01")], 1),  # any time before the end
        ([housing("2025-03-01"), housing("2025-06-01", AT_HOME)], 0),  # the last one wins
        ([housing("2025-06-01", AT_HOME), housing("2025-03-01")], 0),  # whatever the order
        ([housing("2025-03-01"), housing("2025-06-01", AT_HOME, status="cancelled")], 1),
        ([housing("2025-03-01"), housing("2026-01-01", AT_HOME)], 1),  # after the period
        ([housing("2026-01-01")], 0),
        ([housing({"start": "2025-03-01"})], 0),  # no end: never ends by the period's end
    ],
)
def test_the_last_housing_status_by_the_end_of_the_period_decides(assessments, counts, terminology):
    assert excluded("CMS130", colorectal(*assessments, born=AGE_70), terminology) == counts


def test_living_in_a_nursing_home_needs_age_66(terminology):
    at_65 = colorectal(housing("2025-03-01"), born="1960-01-01")
    at_66 = colorectal(housing("2025-03-01"), born="1959-12-31")
    assert excluded("CMS130", at_65, terminology) == 0
    assert excluded("CMS130", at_66, terminology) == 1
    assert excluded("CMS124", cervical(housing("2025-03-01"), born="1962-01-01"), terminology) == 0


def test_two_housing_assessments_at_the_same_moment_keep_the_first_listed(terminology):
    # cql-execution's `sort by` never answers "equal" for two DateTimes, so ties
    # come out reversed and Last() is the first listed.
    same = "2025-03-01T10:00:00.000Z"
    first_nursing = colorectal(housing(same), housing(same, AT_HOME), born=AGE_70)
    first_home = colorectal(housing(same, AT_HOME), housing(same), born=AGE_70)
    assert excluded("CMS130", first_nursing, terminology) == 1
    assert excluded("CMS130", first_home, terminology) == 0


# --- Mastectomy (CMS125) ---


def with_site(oid: str, site: str | None, **fields: Any) -> dict[str, Any]:
    extra = {"bodySite": [concept((SNOMED, site))]} if site else {}
    return condition(oid, onset="2020-01-01", **extra, **fields)


RIGHT, LEFT = "24028007", "7771000"


@pytest.mark.parametrize(
    ("items", "counts"),
    [
        ([procedure(MASTECTOMY_RIGHT, "2010-01-01"), procedure(MASTECTOMY_LEFT, "2015-01-01")], 1),
        ([procedure(MASTECTOMY_RIGHT, "2010-01-01")], 0),
        (
            [
                condition(STATUS_POST_RIGHT, onset="2010-01-01"),
                procedure(MASTECTOMY_LEFT, "2015-01-01"),
            ],
            1,
        ),
        ([with_site(UNSPECIFIED_MASTECTOMY, RIGHT), with_site(UNSPECIFIED_MASTECTOMY, LEFT)], 1),
        ([with_site(UNSPECIFIED_MASTECTOMY, RIGHT), with_site(UNSPECIFIED_MASTECTOMY, None)], 0),
        ([with_site(UNSPECIFIED_MASTECTOMY, RIGHT), with_site(STATUS_POST_LEFT, None)], 1),
        (
            [
                procedure(MASTECTOMY_RIGHT, "2010-01-01"),
                procedure(MASTECTOMY_LEFT, "2015-01-01", status="in-progress"),
            ],
            0,
        ),
        (
            [
                condition(STATUS_POST_RIGHT, onset="2026-01-01T00:00:00.000Z"),
                condition(STATUS_POST_LEFT, onset="2025-01-01T00:00:00.000Z"),
            ],
            0,
        ),
    ],
)
def test_unilateral_mastectomies_exclude_only_when_both_sides_are_done(items, counts, terminology):
    assert excluded("CMS125", breast(*items), terminology) == counts


@pytest.mark.parametrize(
    ("item", "counts"),
    [
        (procedure(BILATERAL_MASTECTOMY, "2025-12-31T23:59:59.000Z"), 1),
        (procedure(BILATERAL_MASTECTOMY, "2026-01-01T00:00:00.000Z"), 0),
        # Without `day of` the comparison is to the millisecond: a bare date on the
        # last day cannot be placed before 23:59:59.999, and an evening in New York
        # is already the next day in UTC.
        (procedure(BILATERAL_MASTECTOMY, "2025-12-31"), 0),
        (procedure(BILATERAL_MASTECTOMY, "2025-12-30"), 1),
        (procedure(BILATERAL_MASTECTOMY, "2025-12-31T22:00:00-05:00"), 0),
        (condition(HISTORY_BILATERAL, onset="2025-12-31T23:59:59.000Z"), 1),
        (condition(HISTORY_BILATERAL, onset="2026-01-01T00:00:00.000Z"), 0),
        (condition(HISTORY_BILATERAL), 1),  # active with no onset
    ],
)
def test_a_bilateral_mastectomy_by_the_end_of_the_period_excludes(item, counts, terminology):
    assert excluded("CMS125", breast(item), terminology) == counts


# --- Absence of cervix (CMS124) ---


@pytest.mark.parametrize(
    ("item", "counts"),
    [
        (procedure(HYSTERECTOMY, "2015-06-01"), 1),
        (procedure(HYSTERECTOMY, "2026-01-01T00:00:00.000Z"), 0),
        (procedure(HYSTERECTOMY, "2015-06-01", status="not-done"), 0),
        (condition(ABSENCE_OF_CERVIX, onset="2025-12-31T12:00:00.000Z"), 1),
        (condition(ABSENCE_OF_CERVIX, onset="2026-01-01T00:00:00.000Z"), 0),
        (condition(ABSENCE_OF_CERVIX, clinical="inactive", onset="2010-01-01"), 0),
    ],
)
def test_a_hysterectomy_or_absent_cervix_by_the_end_of_the_period_excludes(
    item, counts, terminology
):
    assert excluded("CMS124", cervical(item), terminology) == counts


def test_frailty_and_nursing_homes_do_not_exclude_from_cervical_screening(terminology):
    frail = encounter(oid=FRAILTY_ENCOUNTER)
    record = cervical(frail, ILLNESS_2024, housing("2025-03-01"), born="1961-06-01")
    assert excluded("CMS124", record, terminology) == 0


# === The hand-built codes are real members of the official value sets =========================


def test_the_hand_built_codes_belong_to_the_official_value_sets():
    files = sorted(ECQM.glob("*/valuesets.json"))
    need("the CMS eCQM value sets", bool(files), f"{ECQM} has no valuesets.json")
    official: dict[str, set[tuple[str, str]]] = {}
    for path in files:
        for entry in json.loads(path.read_text())["entry"]:
            valueset = entry["resource"]
            official.setdefault(valueset["url"], set()).update(
                (normalise_system(c["system"]), c["code"])
                for c in valueset["expansion"]["contains"]
            )
    for oid, codes in CODES.items():
        assert set(codes) <= official[vsac(oid)], oid
