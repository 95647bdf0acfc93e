"""Control programmes in the care-gap engine: the diabetes programme's statuses from the
most recent HbA1c/GMI of the year, with evidence and the next lab due."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from patients.models import CareGap, Patient
from patients.services import care_gaps
from tests.factories import PatientFactory
from tests.support.fhir import diabetes, ehr_resource, gmi, hba1c

pytestmark = pytest.mark.django_db


def hospice_encounter(start: str, end: str) -> dict:
    return {
        "resourceType": "Encounter",
        "status": "finished",
        "type": [{"coding": [{"system": "http://snomed.info/sct", "code": "385763009"}]}],
        "period": {"start": start, "end": end},
    }


def diabetic(birth_date: dt.date = dt.date(1970, 5, 1), onset: str = "2019-03-01") -> Patient:
    patient = PatientFactory(birth_date=birth_date)
    ehr_resource(patient, diabetes(onset))
    return patient


def gap_for(patient: Patient, on: str = "2026-06-01") -> CareGap:
    with time_machine.travel(dt.datetime.fromisoformat(f"{on}T12:00:00+00:00"), tick=False):
        care_gaps.care_gaps_recompute(patient_ids=[patient.pk], as_of=dt.date.fromisoformat(on))
    return CareGap.objects.get(patient=patient, program__code="diabetes")


# --- Who is in the programme ----------------------------------------------------------


def test_a_patient_without_diabetes_is_not_eligible_and_told_why():
    patient = PatientFactory(birth_date=dt.date(1970, 5, 1))

    gap = gap_for(patient)

    assert gap.status == "not_eligible"
    assert gap.summary == "Diabetes control is for patients with diabetes; none on record."


def test_a_diabetic_aged_76_is_outside_cms122s_ages():
    patient = diabetic(birth_date=dt.date(1950, 1, 1))

    gap = gap_for(patient)

    assert gap.status == "not_eligible"
    assert "Diabetes control is for ages 18–75; the patient is 76" in gap.summary


def test_diabetes_that_resolved_before_the_year_does_not_enrol():
    patient = PatientFactory(birth_date=dt.date(1970, 5, 1))
    ehr_resource(patient, diabetes("2015-01-01", abated="2024-06-01"))

    assert gap_for(patient).status == "not_eligible"


def test_a_diabetic_in_hospice_is_excluded_as_cms122_excludes():
    patient = diabetic()
    ehr_resource(patient, hospice_encounter("2026-02-01", "2026-03-01"))

    gap = gap_for(patient)

    assert gap.status == "excluded"
    assert gap.summary == "Excluded: Hospice care"


# --- The most recent lab of the year --------------------------------------------------


def test_a_diabetic_never_tested_has_a_gap_and_the_lab_is_due_now():
    patient = diabetic()

    gap = gap_for(patient, on="2026-06-01")

    assert gap.status == "untested"
    assert gap.get_status_display() == "Not tested this year"
    assert gap.summary == "Not tested this year: no HbA1c or GMI since 2026-01-01"
    assert "No HbA1c or GMI on record." in gap.reasons
    assert gap.next_due_on == dt.date(2026, 6, 1)
    assert gap.overdue_since == dt.date(2026, 1, 1)


def test_a_lab_only_last_year_is_a_gap_this_year_but_the_reasons_show_it():
    patient = diabetic()
    ehr_resource(patient, hba1c("2025-11-20", 7.1))

    gap = gap_for(patient, on="2026-02-01")

    assert gap.status == "untested"
    assert "Last: 7.1 % on 2025-11-20." in gap.reasons
    # At target last time: the next lab was due 6 months later (ADA: twice a year).
    assert gap.next_due_on == dt.date(2026, 5, 20)
    assert gap.last_screening_on == dt.date(2025, 11, 20)
    assert gap.evidence[0]["value"] == "7.1"


def test_an_hba1c_of_9_4_is_poor_control_with_the_lab_its_value_and_date_as_evidence():
    patient = diabetic()
    stored = ehr_resource(patient, hba1c("2026-04-10", 9.4))

    gap = gap_for(patient, on="2026-06-01")

    assert gap.status == "poor_control"
    assert gap.get_status_display() == "Poor control (above threshold)"
    assert gap.summary == "Poor control: 9.4 % on 2026-04-10, above 9 %"
    assert gap.evidence == [
        {
            "resource": f"Observation/{stored.resource_id}",
            "clinical_resource": stored.pk,
            "what": "lab",
            "display": "HbA1c",
            "date": "2026-04-10",
            "value": "9.4",
            "unit": "%",
            "comparator": None,
        }
    ]
    # Not at target: the next lab in 3 months (ADA: quarterly when not meeting goals).
    assert gap.next_due_on == dt.date(2026, 7, 10)
    assert gap.overdue_since is None
    assert gap.last_screening_on == dt.date(2026, 4, 10)


def test_an_hba1c_of_7_2_with_a_target_of_8_is_at_target_not_completed():
    patient = diabetic()
    ehr_resource(patient, hba1c("2026-03-02", 7.2))

    gap = gap_for(patient, on="2026-06-01")

    assert gap.status == "at_target"
    assert gap.summary == "At target: 7.2 % on 2026-03-02, below 8 %"
    assert gap.next_due_on == dt.date(2026, 9, 2)
    assert gap.recheck_on == dt.date(2026, 9, 2)


@pytest.mark.parametrize(
    ("value", "status"),
    [
        ("9.0", "above_target"),  # exactly 9 is not above 9 (CMS122: > 9 %)
        ("9.01", "poor_control"),
        ("8.0", "above_target"),  # the target is below 8: 8 is not at target
        ("7.99", "at_target"),
    ],
)
def test_the_boundaries_of_the_threshold_and_the_target(value, status):
    patient = diabetic()
    ehr_resource(patient, hba1c("2026-03-02", value))

    assert gap_for(patient).status == status


def test_a_gmi_counts_as_a_glycemic_status_assessment():
    patient = diabetic()
    ehr_resource(patient, gmi("2026-05-01", 9.8))

    gap = gap_for(patient)

    assert gap.status == "poor_control"
    assert gap.evidence[0]["display"] == "HbA1c"  # (the helper's display)


def test_the_most_recent_day_decides_and_of_that_day_the_lowest_as_cms122_reads_it():
    patient = diabetic()
    ehr_resource(patient, hba1c("2026-01-15", 11.0))
    ehr_resource(patient, hba1c("2026-04-01", 9.6))
    ehr_resource(patient, hba1c("2026-04-01", 8.5))

    gap = gap_for(patient)

    assert gap.status == "above_target"
    assert gap.summary == "Above target: 8.5 % on 2026-04-01, target below 8 %"


def test_a_lab_without_a_value_is_a_gap_as_cms122_counts_it():
    patient = diabetic()
    ehr_resource(patient, hba1c("2026-03-02", None))

    gap = gap_for(patient)

    assert gap.status == "no_result"
    assert gap.summary == "Last HbA1c/GMI has no result to read: no result on 2026-03-02"


def test_an_ifcc_value_in_mmol_per_mol_is_not_converted_by_ucum_scale_but_flagged():
    # 64 mmol/mol is 8.0 % NGSP clinically; UCUM's scale would say 6.4 % (at target).
    patient = diabetic()
    ehr_resource(patient, hba1c("2026-03-02", 64, unit="mmol/mol"))

    gap = gap_for(patient)

    assert gap.status == "no_result"
    assert "not in %" in gap.summary


def test_a_lab_reported_as_above_14_is_poor_control():
    patient = diabetic()
    ehr_resource(patient, hba1c("2026-03-02", 14, comparator=">"))

    assert gap_for(patient).status == "poor_control"


def test_a_preliminary_lab_does_not_count():
    patient = diabetic()
    ehr_resource(patient, hba1c("2026-03-02", 7.0, status="preliminary"))

    assert gap_for(patient).status == "untested"


def test_on_new_years_day_last_years_lab_no_longer_counts_and_the_gap_was_due_for_a_recheck():
    patient = diabetic()
    ehr_resource(patient, hba1c("2025-12-10", 7.0))

    december = gap_for(patient, on="2025-12-31")
    assert december.status == "at_target"
    assert december.recheck_on == dt.date(2026, 1, 1)

    new_year = gap_for(patient, on="2026-01-01")
    assert new_year.status == "untested"


def test_at_target_but_past_the_next_lab_date_says_the_lab_is_overdue():
    patient = diabetic()
    ehr_resource(patient, hba1c("2026-01-10", 7.2))

    gap = gap_for(patient, on="2026-08-01")

    assert gap.status == "at_target"
    assert gap.overdue_since == dt.date(2026, 7, 10)
    assert "Lab overdue since 2026-07-10." in gap.reasons
    assert gap.recheck_on == dt.date(2027, 1, 1)


def test_a_lab_dated_after_the_day_evaluated_does_not_count_yet():
    patient = diabetic()
    ehr_resource(patient, hba1c("2026-07-01", 7.0))

    assert gap_for(patient, on="2026-06-01").status == "untested"


def test_screening_programmes_are_unchanged_by_a_diabetic_patients_labs():
    patient = diabetic(birth_date=dt.date(1960, 1, 1))
    ehr_resource(patient, hba1c("2026-03-02", 9.4))

    care_gaps.care_gaps_recompute(patient_ids=[patient.pk], as_of=dt.date(2026, 6, 1))

    colorectal = CareGap.objects.get(patient=patient, program__code="colorectal")
    assert colorectal.status == "overdue"
