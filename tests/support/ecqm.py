"""The official CMS eCQM test cases, read from ../shared/ecqm (never copied into the
project), and imported as an EHR feed would deliver them.

Used by the conformance test (`manage.py measure_report` against CMS's expected
populations) and by the stored population measures' agreement with it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from patients.caregaps.valuesets import valuesets_load
from patients.fhir.importer import fhir_import
from patients.models import FhirSource
from tests.factories import ClinicFactory
from tests.support.paths import ECQM
from tests.support.services import need

# Measure id → its folder under ../shared/ecqm.
MEASURE_FOLDERS = {
    "CMS130": "CMS130-colorectal",
    "CMS125": "CMS125-breast",
    "CMS124": "CMS124-cervical",
    "CMS122": "CMS122-diabetes",
}
POPULATIONS = ("initial-population", "denominator", "denominator-exclusion", "numerator")


@dataclass(frozen=True)
class DataDefect:
    """A case whose expected populations its own test data cannot give: what the CQL
    gives instead, as the reference engine computes it, and why."""

    why: str
    cql_gives: dict[str, int]


# Measure id → the case's Patient id → its defect. Each was run through the reference
# engine (cql-execution 3.3.2 with cql-exec-fhir 2.2.0, on the ELM CMS published with
# the measure, in UTC and in US and Indian time zones alike): it computes what
# EquiNav computes, not what the MeasureReport expects. The conformance test holds
# EquiNav to the engine's populations for these cases and to CMS's for all others,
# and prints them apart; a corrected case (data fixed upstream) fails it until this
# entry goes.
DATA_DEFECTS: dict[str, dict[str, DataDefect]] = {
    "CMS122": {
        "8956ebb5-d3c0-4112-a34a-200961713efd": DataDefect(
            "NUMPass HbA1cGreaterThan9 is described as 'HbA1c level is 9.1%', but its "
            "Observation's value is valueCodeableConcept SNOMED 373066001 'Yes', not a "
            "Quantity: `ToValue(value) as Quantity > 9 '%'` is null and ToValue(value) is "
            "not null, so neither 'Elevated' nor 'Without Result' holds and a test exists. "
            "Its twin NUMFail HbA1cLessThan9 has the same value (and expects numerator 0).",
            {"initial-population": 1, "denominator": 1, "denominator-exclusion": 0, "numerator": 0},
        ),
    },
}


def expected_case(bundle: dict) -> tuple[str, dict[str, int], dict[str, str]]:
    """The case's Patient id, CMS's expected populations and its measurement period."""
    report = next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "MeasureReport"
    )
    subject = next(
        p["valueString"]
        for contained in report.get("contained", [])
        for p in contained.get("parameter", [])
        if p["name"] == "subject"
    )
    counts = {p["code"]["coding"][0]["code"]: p["count"] for p in report["group"][0]["population"]}
    return subject, {name: counts.get(name, 0) for name in POPULATIONS}, report["period"]


@dataclass
class OfficialCases:
    source: FhirSource
    # The case's Patient id → (its name in cases.txt, CMS's expected populations).
    expected: dict[str, tuple[str, dict[str, int]]]
    # The measurement period every case of the measure uses (ISO dates).
    periods: set[tuple[str, str]]
    # Cases whose expectation their own data cannot give (DATA_DEFECTS).
    defects: dict[str, DataDefect]

    @property
    def held_to(self) -> dict[str, tuple[str, dict[str, int]]]:
        """The populations each case must get: CMS's, or for a data defect what the
        CQL gives."""
        return {
            patient_id: (
                name,
                self.defects[patient_id].cql_gives if patient_id in self.defects else want,
            )
            for patient_id, (name, want) in self.expected.items()
        }


def official_cases_imported(measure: str) -> OfficialCases:
    """Load the measure's value sets and import every case's Bundle into one new feed
    (skips the test, or fails it under REQUIRE_SERVICES=1, when the cases are absent)."""
    folder = ECQM / MEASURE_FOLDERS[measure]
    need("the CMS eCQM test cases", folder.is_dir(), f"{folder} is absent")
    names = dict(
        line.strip().split(" = ", 1)
        for line in (folder / "cases.txt").read_text().splitlines()
        if " = " in line
    )
    valuesets_load(documents=[("valuesets.json", (folder / "valuesets.json").read_bytes())])
    source = FhirSource.objects.create(
        key=f"cms-{measure.lower()}", name="CMS", clinic=ClinicFactory()
    )
    expected: dict[str, tuple[str, dict[str, int]]] = {}
    periods = set()
    for case_file in sorted((folder / "tests").glob("*.json")):
        payload = case_file.read_bytes()
        patient_id, populations, period = expected_case(json.loads(payload))
        expected[patient_id] = (names.get(case_file.stem, case_file.stem), populations)
        periods.add((period["start"], period["end"]))
        fhir_import(source=source, payload=payload, origin=case_file.name, actor=None)
    defects = DATA_DEFECTS.get(measure, {})
    assert set(defects) <= set(expected), "a data defect names no case of the measure"
    # An entry whose CQL answer is CMS's own expectation exempts nothing: the case was
    # corrected upstream (expectation or data), and the entry must go.
    stale = [pid for pid, defect in defects.items() if defect.cql_gives == expected[pid][1]]
    assert not stale, f"data defects CMS now expects as the CQL gives: {stale}"
    return OfficialCases(source, expected, periods, defects)
