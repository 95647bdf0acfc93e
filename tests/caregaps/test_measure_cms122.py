"""CMS122 (DiabetesGlycemicStatusAssessmentGreaterThan9PercentFHIR 0.1.002) on small
synthetic patients, edge by edge.

Each expectation is what the measure's CQL says, as cql-execution (the engine behind
CMS's expected results) evaluates it; the CQL definition each test turns on is named
in it. No database: an in-memory PatientRecord and a tiny Terminology of real codes
(checked against the official value sets at the end). Measurement period: 2025.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from typing import Any

import pytest

from patients.caregaps.codes import CPT, HCPCS, ICD10CM, LOINC, SNOMED, normalise_system, vsac
from patients.caregaps.fhirdata import PatientRecord
from patients.caregaps.measures.context import Terminology
from patients.caregaps.measures.registry import MEASURES
from patients.caregaps.population_measures import POPULATION_MEASURES
from tests.support.paths import ECQM
from tests.support.services import need

START, END = dt.date(2025, 1, 1), dt.date(2025, 12, 31)
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
UCUM = "http://unitsofmeasure.org"

P = "2.16.840.1.113883.3.464.1003."
DIABETES = P + "103.12.1001"
HBA1C = P + "198.12.1013"
OFFICE_VISIT = P + "101.12.1001"
HOSPICE_ENCOUNTER = P + "1003"
PALLIATIVE_DIAGNOSIS = P + "1167"
FRAILTY_ENCOUNTER = P + "101.12.1088"
ADVANCED_ILLNESS = P + "110.12.1082"
CODES: dict[str, list[tuple[str, str]]] = {
    DIABETES: [(ICD10CM, "E11.9"), (SNOMED, "44054006")],
    HBA1C: [(LOINC, "4548-4"), (LOINC, "17855-8")],
    OFFICE_VISIT: [(CPT, "99202")],
    HOSPICE_ENCOUNTER: [(HCPCS, "G9473")],
    PALLIATIVE_DIAGNOSIS: [(ICD10CM, "Z51.5")],
    FRAILTY_ENCOUNTER: [(CPT, "99504")],
    ADVANCED_ILLNESS: [(ICD10CM, "A81.00")],
}
GMI = (LOINC, "97506-0")  # code "Glucose management indicator", not a value set

_ids = itertools.count(1)


@pytest.fixture(scope="module")
def terminology() -> Terminology:
    return Terminology({vsac(oid): frozenset(codes) for oid, codes in CODES.items()})


def concept(code: str | tuple[str, str]) -> dict[str, Any]:
    system, value = CODES[code][0] if isinstance(code, str) else code
    return {"coding": [{"system": system, "code": value}]}


def resource(resource_type: str, **fields: Any) -> dict[str, Any]:
    return {"resourceType": resource_type, "id": f"r{next(_ids)}", **fields}


def visit(day: str = "2025-03-01", oid: str = OFFICE_VISIT) -> dict[str, Any]:
    period = {"start": f"{day}T10:00:00.000Z", "end": f"{day}T10:30:00.000Z"}
    return resource("Encounter", status="finished", type=[concept(oid)], period=period)


def condition(oid: str = DIABETES, *, onset: str = "2018-05-01", **fields: Any) -> dict:
    fields.setdefault("clinicalStatus", {"coding": [{"system": CLINICAL, "code": "active"}]})
    return resource("Condition", code=concept(oid), onsetDateTime=onset, **fields)


def quantity(value: Any, unit: str | None = "%", **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"value": value, **fields}
    if unit is not None:
        body.update(unit=unit, system=UCUM, code=unit)
    return {"valueQuantity": body}


def a1c(
    when: str | dict[str, str],
    result: dict[str, Any] | None = None,
    *,
    code: str | tuple[str, str] = HBA1C,
    status: str = "final",
    category: str | None = "laboratory",
) -> dict[str, Any]:
    """An HbA1c (or, with code=GMI, a GMI) result; `result` is its value[x] (none: no result)."""
    body: dict[str, Any] = {"status": status, "code": concept(code), **(result or {})}
    body["effectiveDateTime" if isinstance(when, str) else "effectivePeriod"] = when
    if category is not None:
        body["category"] = [{"coding": [{"system": CATEGORY, "code": category}]}]
    return resource("Observation", **body)


def patient(*resources: dict[str, Any], born: str = "1970-06-01") -> PatientRecord:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for item in resources:
        grouped.setdefault(item["resourceType"], []).append(item)
    return PatientRecord(
        id="p", birth_date=dt.date.fromisoformat(born), gender="male", resources=grouped
    )


def diabetic(*resources: dict[str, Any], born: str = "1970-06-01") -> PatientRecord:
    """A patient in the initial population (55, a visit, diabetes), plus `resources`."""
    return patient(visit(), condition(), *resources, born=born)


def populations(record: PatientRecord, terminology: Terminology) -> tuple[int, int, int]:
    """(initial population, denominator exclusion, numerator) as 0/1."""
    result = (
        MEASURES["CMS122"]
        .evaluate(record, period_start=START, period_end=END, terminology=terminology)
        .as_dict()
    )
    assert result["denominator"] == result["initial-population"]
    return result["initial-population"], result["denominator-exclusion"], result["numerator"]


def numerator(record: PatientRecord, terminology: Terminology) -> int:
    ip, excluded, num = populations(record, terminology)
    assert (ip, excluded) == (1, 0)
    return num


# === Initial population ====================================================================


@pytest.mark.parametrize(
    ("born", "included"),
    [
        ("2007-12-31", 1),  # 18 on 31 December 2025
        ("2008-01-01", 0),  # 17
        ("1950-01-01", 1),  # 75
        ("1949-12-31", 0),  # 76
    ],
)
def test_age_18_to_75_on_the_last_day_of_the_period(born, included, terminology):
    # AgeInYearsAt(date from end of "Measurement Period") in Interval[18, 75]
    assert populations(diabetic(born=born), terminology)[0] == included


@pytest.mark.parametrize(
    ("diagnosis", "included"),
    [
        (condition(onset="2010-01-01"), 1),  # active, ongoing
        (condition(onset="2025-12-31"), 1),  # starts on the last day
        (condition(onset="2026-01-01"), 0),  # starts after the period
        (condition(onset="2015-01-01", abatementDateTime="2024-12-31"), 0),  # over before
        (condition(onset="2015-01-01", abatementDateTime="2025-01-01"), 1),  # over on day one
        # resolved with no abatement date: prevalenceInterval() is null, never overlaps
        (
            condition(
                onset="2015-01-01",
                clinicalStatus={"coding": [{"system": CLINICAL, "code": "resolved"}]},
            ),
            0,
        ),
    ],
)
def test_diabetes_must_overlap_the_period(diagnosis, included, terminology):
    # exists ([Condition: "Diabetes"] D where D.prevalenceInterval() overlaps day of MP)
    assert populations(patient(visit(), diagnosis), terminology)[0] == included


def test_diabetes_without_a_qualifying_visit_in_the_period_is_not_in_the_population(terminology):
    # exists AdultOutpatientEncounters."Qualifying Encounters": a visit in the period
    assert populations(patient(visit("2024-12-31"), condition()), terminology) == (0, 0, 0)
    assert populations(patient(condition()), terminology) == (0, 0, 0)


def test_a_visit_without_diabetes_is_not_in_the_population(terminology):
    assert populations(patient(visit()), terminology) == (0, 0, 0)


# === Denominator exclusions ================================================================

FRAIL = visit("2025-02-01", FRAILTY_ENCOUNTER)
ILL = condition(ADVANCED_ILLNESS, onset="2024-06-01")


def housing(day: str, code: str = "160734000") -> dict[str, Any]:
    return resource(
        "Observation",
        status="final",
        category=[{"coding": [{"system": CATEGORY, "code": "survey"}]}],
        code={"coding": [{"system": LOINC, "code": "71802-3"}]},
        effectiveDateTime=day,
        valueCodeableConcept={"coding": [{"system": SNOMED, "code": code}]},
    )


@pytest.mark.parametrize(
    ("items", "born", "excluded"),
    [
        ([visit("2025-04-01", HOSPICE_ENCOUNTER)], "1970-06-01", 1),  # hospice, any age
        ([condition(PALLIATIVE_DIAGNOSIS, onset="2025-05-01")], "1970-06-01", 1),  # palliative
        ([FRAIL, ILL], "1959-06-01", 1),  # 66: frailty with advanced illness
        ([FRAIL, ILL], "1960-06-01", 0),  # 65: too young for that exclusion
        ([FRAIL], "1955-06-01", 0),  # frailty alone
        ([ILL], "1955-06-01", 0),  # advanced illness alone
        ([housing("2025-03-01")], "1959-06-01", 1),  # 66, lives in a nursing home
        ([housing("2025-03-01")], "1960-06-01", 0),  # 65
        # the last housing status by the end of the period decides: back home
        ([housing("2025-03-01"), housing("2025-09-01", "160908002")], "1955-06-01", 0),
    ],
)
def test_denominator_exclusions(items, born, excluded, terminology):
    # Hospice."Has Hospice Services" or AIFrailLTCF."Is Age 66 or Older Living Long Term
    # in a Nursing Home" or AIFrailLTCF."Is Age 66 or Older with Advanced Illness and
    # Frailty" or PalliativeCare."Has Palliative Care in the Measurement Period"
    ip, denex, _ = populations(diabetic(*items, born=born), terminology)
    assert (ip, denex) == (1, excluded)


def test_an_excluded_patient_with_no_test_is_not_in_the_numerator(terminology):
    record = diabetic(visit("2025-04-01", HOSPICE_ENCOUNTER))
    assert populations(record, terminology) == (1, 1, 0)


# === Numerator =============================================================================


def test_no_test_in_the_period_is_poor_control(terminology):
    # "Has No Record Of Glycemic Status Assessment": not exists "Glycemic Status Assessment"
    assert numerator(diabetic(), terminology) == 1


@pytest.mark.parametrize(
    ("value", "counts"),
    [(9.0, 0), (9.01, 1), (9.1, 1), (8.9, 0), (14, 1), ("9.0", 0)],
)
def test_only_a_result_above_9_percent_counts_9_itself_does_not(value, counts, terminology):
    # "Has Most Recent Elevated Glycemic Status Assessment": ... .value > 9 '%'
    record = diabetic(a1c("2025-06-01", quantity(value)))
    assert numerator(record, terminology) == counts


@pytest.mark.parametrize(
    ("when", "counts"),
    [
        ("2024-12-31", 1),  # before the period: no test in it
        ("2026-01-01", 1),  # after it
        ("2025-01-01", 0),
        ("2025-12-31", 0),
        # the latest() of a period is its end: ends in the period
        ({"start": "2024-12-20T08:00:00Z", "end": "2025-01-02T08:00:00Z"}, 0),
        # ends after it
        ({"start": "2025-12-30T08:00:00Z", "end": "2026-01-02T08:00:00Z"}, 1),
        # 22:00 in New York on 31 December is 31 December by the calendar day as written
        ("2025-12-31T22:00:00-05:00", 0),
    ],
)
def test_a_good_result_counts_only_when_its_latest_moment_is_in_the_period(
    when, counts, terminology
):
    # "Glycemic Status Assessment": ... where effective.latest() during day of MP
    assert numerator(diabetic(a1c(when, quantity(7.0))), terminology) == counts


def test_the_most_recent_test_decides_not_the_highest_or_the_first(terminology):
    # "Most Recent Glycemic Status Date": Last(dates of effective.latest() sort asc)
    high_then_good = diabetic(a1c("2025-03-01", quantity(10.5)), a1c("2025-09-01", quantity(7)))
    good_then_high = diabetic(a1c("2025-03-01", quantity(7)), a1c("2025-09-01", quantity(10.5)))
    assert numerator(high_then_good, terminology) == 0
    assert numerator(good_then_high, terminology) == 1


def test_a_gmi_and_an_hba1c_are_one_series_the_most_recent_wins(terminology):
    # [Observation: "HbA1c Laboratory Test"] union [Observation: "Glucose management indicator"]
    gmi_last = diabetic(a1c("2025-04-01", quantity(10)), a1c("2025-08-01", quantity(6.8), code=GMI))
    a1c_last = diabetic(a1c("2025-04-01", quantity(6.8), code=GMI), a1c("2025-08-01", quantity(10)))
    assert numerator(gmi_last, terminology) == 0
    assert numerator(a1c_last, terminology) == 1


def test_a_gmi_alone_is_a_test(terminology):
    assert numerator(diabetic(a1c("2025-05-01", quantity(7.2), code=GMI)), terminology) == 0


def test_two_results_on_the_most_recent_day_the_lowest_counts(terminology):
    # "Lowest Glycemic Status Assessment Reading on Most Recent Day": sort by value, First
    record = diabetic(
        a1c("2025-10-01T08:00:00Z", quantity(10.2)), a1c("2025-10-01T15:00:00Z", quantity(8.1))
    )
    assert numerator(record, terminology) == 0


def test_most_recent_is_by_calendar_day_so_an_earlier_time_that_day_still_competes(terminology):
    # `same day as`: every reading of that day, whatever its time
    record = diabetic(
        a1c("2025-10-01T23:00:00Z", quantity(10.2)), a1c("2025-10-01T01:00:00Z", quantity(8.1))
    )
    assert numerator(record, terminology) == 0


@pytest.mark.parametrize(
    "no_result",
    [
        {},  # no value[x]
        {"dataAbsentReason": {"coding": [{"code": "not-performed"}]}},
        quantity(None),  # a valueQuantity without a number: ToQuantity is null
    ],
)
def test_a_most_recent_test_without_a_result_is_poor_control(no_result, terminology):
    # "Has Most Recent Glycemic Status Assessment Without Result":
    #   Lowest ... is not null and ToValue(Lowest ....value) is null
    record = diabetic(a1c("2025-03-01", quantity(6.5)), a1c("2025-11-01", no_result))
    assert numerator(record, terminology) == 1


def test_a_test_without_a_result_before_the_most_recent_one_does_not_count(terminology):
    record = diabetic(a1c("2025-03-01", {}), a1c("2025-11-01", quantity(6.5)))
    assert numerator(record, terminology) == 0


def test_on_the_same_day_a_reading_without_a_result_sorts_before_every_number(terminology):
    # `sort by QualifyingGlycemicStatusValue`: a null value sorts first, so First() is it
    record = diabetic(a1c("2025-11-01T09:00:00Z", quantity(6.5)), a1c("2025-11-01T10:00:00Z", {}))
    assert numerator(record, terminology) == 1


def test_a_coded_result_is_a_result_but_not_a_number_above_9(terminology):
    # ToValue(value) is a Concept (not null: not "Without Result"), and `as Quantity`
    # is null (not "Elevated"); a test exists. CMS's NUMPass HbA1cGreaterThan9 case
    # carries such a value (tests/support/ecqm.py DATA_DEFECTS).
    yes = {"valueCodeableConcept": {"coding": [{"system": SNOMED, "code": "373066001"}]}}
    assert numerator(diabetic(a1c("2025-06-01", yes)), terminology) == 0
    assert numerator(diabetic(a1c("2025-06-01", {"valueString": "9.5%"})), terminology) == 0


@pytest.mark.parametrize(
    ("status", "category", "counts"),
    [
        ("final", "laboratory", 0),
        ("amended", "laboratory", 0),
        ("corrected", "laboratory", 0),
        ("preliminary", "laboratory", 1),  # not a performed laboratory test: no test
        ("entered-in-error", "laboratory", 1),
        ("final", None, 1),  # no laboratory category
        ("final", "survey", 1),
    ],
)
def test_only_a_resulted_laboratory_test_counts(status, category, counts, terminology):
    # Status.isLaboratoryTestPerformed: status in {final, amended, corrected}, category laboratory
    record = diabetic(a1c("2025-06-01", quantity(7.0), status=status, category=category))
    assert numerator(record, terminology) == counts


def test_a_preliminary_high_result_after_a_final_good_one_is_not_the_most_recent(terminology):
    record = diabetic(
        a1c("2025-05-01", quantity(7.0)), a1c("2025-09-01", quantity(11.0), status="preliminary")
    )
    assert numerator(record, terminology) == 0


@pytest.mark.parametrize(
    ("value", "unit", "counts"),
    [
        (9.5, "%", 1),
        (9.5, "%{HbA1c}", 1),  # a UCUM annotation is unity
        (75, "mmol/mol", 0),  # UCUM scales it: 7.5 % (the CQL knows no IFCC/NGSP equation)
        (95, "mmol/mol", 1),  # 9.5 %
        (0.095, "1", 1),  # a ratio: 9.5 %
        (7.0, "mg/dL", 0),  # does not compare with %: unknown, not elevated
    ],
)
def test_units_are_compared_as_ucum_converts_them(value, unit, counts, terminology):
    assert numerator(diabetic(a1c("2025-06-01", quantity(value, unit))), terminology) == counts


def test_a_number_with_no_unit_is_the_unit_one_as_the_cql_reads_it(terminology):
    # FHIRHelpers.ToQuantity: unit Coalesce(code, unit, '1'); 7 '1' is 700 %
    record = diabetic(a1c("2025-06-01", quantity(7.0, None)))
    assert numerator(record, terminology) == 1


@pytest.mark.parametrize(
    ("comparator", "value", "counts"), [(">", 14, 1), ("<", 4, 0), (">", 8, 0)]
)
def test_a_result_with_a_comparator_counts_only_when_it_settles_the_question(
    comparator, value, counts, terminology
):
    # The engine stops at a comparator; ">14 %" is certainly above 9, "<4 %" certainly
    # not, and ">8 %" is unknown, so not counted as elevated.
    result = quantity(value, comparator=comparator)
    assert numerator(diabetic(a1c("2025-06-01", result)), terminology) == counts


# === Inverse: lower is better, and every listing says so =====================================


def test_cms122_is_inverse_and_the_screening_measures_are_not():
    assert MEASURES["CMS122"].inverse is True
    assert MEASURES["CMS122"].improvement_notation == "decrease"
    for measure_id in ("CMS130", "CMS125", "CMS124"):
        assert MEASURES[measure_id].inverse is False
        assert MEASURES[measure_id].improvement_notation == "increase"


def test_the_dashboard_reads_cms122_as_lower_is_better():
    from navigator.equity.catalog import measure_info

    entry = POPULATION_MEASURES["CMS122"]
    assert (entry.favorable, entry.inverse, entry.program_code) == ("lower", True, "diabetes")
    assert "lower is better" in entry.label
    info = measure_info("CMS122")
    assert info.favorable is False
    assert info.story_label == "poor diabetes control (HbA1c/GMI above 9% or not tested)"
    assert info.numerator_label == "HbA1c/GMI above 9% or not tested"
    assert measure_info("CMS130").favorable is True


# === The hand-built codes are real members of the official value sets ========================


def test_the_hand_built_codes_belong_to_the_official_value_sets():
    path = ECQM / "CMS122-diabetes" / "valuesets.json"
    need("the CMS122 value sets", path.is_file(), f"{path} is absent")
    official: dict[str, set[tuple[str, str]]] = {}
    for entry in json.loads(path.read_text())["entry"]:
        valueset = entry["resource"]
        official[valueset["url"]] = {
            (normalise_system(c["system"]), c["code"]) for c in valueset["expansion"]["contains"]
        }
    for oid, codes in CODES.items():
        assert set(codes) <= official[vsac(oid)], oid


def test_an_inverse_measure_is_never_offered_as_who_was_overdue_for_navigation():
    # navigated.overdue_rows counts rows outside the numerator: for CMS122 that is the
    # well-controlled, so the navigation page must not offer it
    from navigator.equity.navigation_page import overdue_measures

    assert "CMS122" not in dict(overdue_measures("diabetes"))
    assert "CMS130" in dict(overdue_measures("colorectal"))
