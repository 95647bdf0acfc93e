"""Agreement with CMS: every official test case, imported as FHIR, gives CMS's populations.

Reads the cases, value sets and expected MeasureReports from ../shared/ecqm/
(never copied into the project), loads the value sets with the real loader,
imports every case's Bundle through the real importer into one feed, runs
`manage.py measure_report` and compares each patient's four populations with
the expected MeasureReport. Prints the agreement per measure.

A case whose expected MeasureReport its own data cannot give (`DATA_DEFECTS`,
each checked against the reference CQL engine) is held to what the CQL gives
instead, and printed apart: it never counts as agreeing with CMS.
"""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from tests.support.ecqm import MEASURE_FOLDERS, POPULATIONS, official_cases_imported

MEASURES = MEASURE_FOLDERS

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("measure", sorted(MEASURES))
def test_every_official_case_agrees_with_cms(measure, capsys):
    cases = official_cases_imported(measure)
    source, expected, periods = cases.source, cases.expected, cases.periods

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
    defects = cases.defects
    disagreements = [
        f"{name}: expected {want}, computed {computed.get(patient_id)}"
        for patient_id, (name, want) in sorted(cases.held_to.items())
        if computed.get(patient_id) != want
    ]
    agreed = sum(computed.get(patient_id) == want for patient_id, (_, want) in expected.items())
    with capsys.disabled():
        print(f"\n{measure}: {agreed}/{len(expected)} CMS test cases agree on all four populations")
        for patient_id in sorted(defects):
            print(
                f"  {expected[patient_id][0]}: CMS's expectation contradicts its own data; "
                f"computed as the reference CQL engine computes it ({defects[patient_id].why})"
            )
    assert report["measure"] == measure
    assert report["period"] == {"start": start, "end": end}
    assert "warnings" not in report, report.get("warnings")
    assert set(computed) == set(expected)
    assert disagreements == []
    summary = report["summary"]
    for name in POPULATIONS:
        assert summary[name] == sum(want[name] for _, want in cases.held_to.values())
