"""Agreement with CMS: every official test case, imported as FHIR, gives CMS's populations.

Reads the cases, value sets and expected MeasureReports from ../shared/ecqm/
(never copied into the project), loads the value sets with the real loader,
imports every case's Bundle through the real importer into one feed, runs
`manage.py measure_report` and compares each patient's four populations with
the expected MeasureReport. Prints the agreement per measure.
"""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from patients.caregaps.valuesets import valuesets_load
from patients.fhir.importer import fhir_import
from patients.models import FhirSource
from tests.factories import ClinicFactory
from tests.support.paths import ECQM
from tests.support.services import need

MEASURES = {
    "CMS130": "CMS130-colorectal",
    "CMS125": "CMS125-breast",
    "CMS124": "CMS124-cervical",
}
POPULATIONS = ("initial-population", "denominator", "denominator-exclusion", "numerator")

pytestmark = pytest.mark.django_db


def expected_case(bundle: dict) -> tuple[str, dict[str, int], str]:
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


@pytest.mark.parametrize("measure", sorted(MEASURES))
def test_every_official_case_agrees_with_cms(measure, capsys):
    folder = ECQM / MEASURES[measure]
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
    assert len(periods) == 1
    ((start, end),) = periods

    out = StringIO()
    call_command(
        "measure_report",
        measure=measure,
        period_start=start,
        period_end=end,
        format="json",
        source=source.key,
        stdout=out,
    )
    report = json.loads(out.getvalue())

    computed = {p["id"]: p["populations"] for p in report["patients"]}
    disagreements = [
        f"{name}: expected {want}, computed {computed.get(patient_id)}"
        for patient_id, (name, want) in sorted(expected.items())
        if computed.get(patient_id) != want
    ]
    agreed = len(expected) - len(disagreements)
    with capsys.disabled():
        print(f"\n{measure}: {agreed}/{len(expected)} CMS test cases agree on all four populations")
    assert report["measure"] == measure
    assert report["period"] == {"start": start, "end": end}
    assert "warnings" not in report, report.get("warnings")
    assert set(computed) == set(expected)
    assert disagreements == []
    summary = report["summary"]
    for name in POPULATIONS:
        assert summary[name] == sum(want[name] for _, want in expected.values())
