"""The care-gap engine: statuses with reasons, boundary days, rules as data, the nightly run."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from navigator.intake.care_gaps import care_gaps_refresh
from navigator.models import CaseEvent, CaseStatus, NavigationCase
from patients import selectors
from patients.models import (
    CareGap,
    Patient,
    RuleVersion,
    ScreeningEvent,
    ScreeningModality,
)
from patients.services import care_gaps, program_rules
from tests.factories import (
    CaseFactory,
    ClinicFactory,
    ManagerFactory,
    NavigatorFactory,
    PatientFactory,
    program,
)
from tests.support.care_gap_runs import nightly_care_gaps_run
from tests.support.fhir import colonoscopy, ehr_resource, fit

pytestmark = pytest.mark.django_db


def gap_for(patient: Patient, code: str = "colorectal", on: str = "2026-06-01") -> CareGap:
    care_gaps.care_gaps_recompute(patient_ids=[patient.pk], as_of=dt.date.fromisoformat(on))
    return CareGap.objects.get(patient=patient, program__code=code)


# --- Eligibility ---------------------------------------------------------------------


def test_a_patient_under_45_is_not_eligible_and_is_looked_at_again_on_their_45th_birthday():
    patient = PatientFactory(birth_date=dt.date(1981, 6, 2))

    gap = gap_for(patient, on="2026-06-01")

    assert gap.status == "not_eligible"
    assert "ages 45–75; the patient is 44" in gap.summary
    assert gap.recheck_on == dt.date(2026, 6, 2)


def test_a_patient_is_eligible_on_the_day_they_turn_45():
    patient = PatientFactory(birth_date=dt.date(1981, 6, 1))

    gap = gap_for(patient, on="2026-06-01")

    assert gap.status == "overdue"
    assert gap.overdue_since == dt.date(2026, 6, 1)


def test_a_man_is_not_eligible_for_breast_screening():
    patient = PatientFactory(sex="male", birth_date=dt.date(1970, 1, 1))

    gap = gap_for(patient, code="breast")

    assert gap.status == "not_eligible"
    assert "female" in gap.summary


def test_a_deceased_patient_is_not_eligible():
    patient = PatientFactory(birth_date=dt.date(1960, 1, 1), deceased=True)

    assert gap_for(patient).status == "not_eligible"


# --- Up to date, due soon, overdue ------------------------------------------------------


def test_a_fit_keeps_a_patient_up_to_date_for_a_year_and_says_so():
    patient = PatientFactory(birth_date=dt.date(1960, 1, 1))
    ehr_resource(patient, fit("2025-03-02"))

    gap = gap_for(patient, on="2025-06-01")

    assert gap.status == "up_to_date"
    assert gap.summary == "FIT (fecal immunochemical test) 2025-03-02, next due 2026-03-02"
    assert gap.last_modality.code == "fit"
    assert gap.next_due_on == dt.date(2026, 3, 2)
    # Looked at again when it becomes due soon (60 days before).
    assert gap.recheck_on == dt.date(2026, 1, 1)


def test_a_fit_due_within_the_window_is_due_soon_and_on_its_due_date_overdue():
    patient = PatientFactory(birth_date=dt.date(1960, 1, 1))
    ehr_resource(patient, fit("2025-03-02"))

    day_before = gap_for(patient, on="2026-03-01")
    assert day_before.status == "due_soon"
    assert "(in 1 days)" in day_before.summary or "in 1 day" in day_before.summary

    on_due_date = gap_for(patient, on="2026-03-02")
    assert on_due_date.status == "overdue"
    assert on_due_date.overdue_since == dt.date(2026, 3, 2)


def test_first_day_of_the_due_soon_window_is_due_soon_and_the_day_before_up_to_date():
    patient = PatientFactory(birth_date=dt.date(1960, 1, 1))
    ehr_resource(patient, fit("2025-03-02"))

    assert gap_for(patient, on="2026-01-01").status == "due_soon"  # 60 days before 03-02
    assert gap_for(patient, on="2025-12-31").status == "up_to_date"


def test_yearly_fit_counts_even_when_the_last_colonoscopy_is_eleven_years_old():
    patient = PatientFactory(birth_date=dt.date(1960, 1, 1))
    ehr_resource(patient, colonoscopy("2015-01-10"))
    ehr_resource(patient, fit("2026-02-01"))

    gap = gap_for(patient, on="2026-06-01")

    assert gap.status == "up_to_date"
    assert gap.last_modality.code == "fit"


def test_the_test_whose_interval_runs_longest_decides():
    patient = PatientFactory(birth_date=dt.date(1960, 1, 1))
    ehr_resource(patient, colonoscopy("2020-05-01"))
    ehr_resource(patient, fit("2026-02-01"))

    gap = gap_for(patient, on="2026-06-01")

    assert gap.last_modality.code == "colonoscopy"
    assert gap.next_due_on == dt.date(2030, 5, 1)


def test_tests_that_did_not_happen_or_have_no_result_do_not_count():
    patient = PatientFactory(birth_date=dt.date(1960, 1, 1))
    ehr_resource(patient, colonoscopy("2024-05-01", status="not-done"))
    ehr_resource(patient, fit("2026-02-01", status="cancelled"))
    no_value = fit("2026-03-01")
    del no_value["valueCodeableConcept"]
    ehr_resource(patient, no_value)

    gap = gap_for(patient, on="2026-06-01")

    assert gap.status == "overdue"
    assert "No colorectal cancer screening on record" in gap.reasons[0]


def test_a_screening_a_navigator_recorded_counts():
    patient = PatientFactory(birth_date=dt.date(1960, 1, 1))
    ScreeningEvent.objects.create(
        patient=patient,
        modality=ScreeningModality.objects.get(program__code="colorectal", code="colonoscopy"),
        performed_on=dt.date(2024, 1, 5),
        result="normal",
    )

    gap = gap_for(patient, on="2026-06-01")

    assert gap.status == "up_to_date"
    assert gap.next_due_on == dt.date(2034, 1, 5)


def test_an_hpv_test_before_30_does_not_count_for_cervical_screening():
    patient = PatientFactory(sex="female", birth_date=dt.date(1998, 1, 1))
    ehr_resource(
        patient,
        {
            **fit("2025-06-01"),
            "code": {"coding": [{"system": "http://loinc.org", "code": "21440-3"}]},
        },
    )

    gap = gap_for(patient, code="cervical", on="2026-06-01")

    assert gap.status == "overdue"


# --- Exclusions ---------------------------------------------------------------------------


def test_colorectal_cancer_excludes_with_the_evidence():
    patient = PatientFactory(birth_date=dt.date(1960, 1, 1))
    stored = ehr_resource(
        patient,
        {
            "resourceType": "Condition",
            "clinicalStatus": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                        "code": "active",
                    }
                ]
            },
            "code": {
                "coding": [
                    {
                        "system": "http://hl7.org/fhir/sid/icd-10-cm",
                        "code": "C18.9",
                        "display": "Malignant neoplasm of colon, unspecified",
                    }
                ]
            },
            "onsetDateTime": "2023-04-01",
        },
    )

    gap = gap_for(patient, on="2026-06-01")

    assert gap.status == "excluded"
    assert gap.summary == "Excluded: Colorectal cancer"
    assert gap.reasons == [
        "Colorectal cancer: Malignant neoplasm of colon, unspecified (2023-04-01)"
    ]
    assert gap.evidence[0]["clinical_resource"] == stored.pk


def hospice_encounter(start: str, end: str) -> dict:
    return {
        "resourceType": "Encounter",
        "status": "finished",
        "type": [{"coding": [{"system": "http://snomed.info/sct", "code": "385763009"}]}],
        "period": {"start": start, "end": end},
    }


def test_hospice_within_the_last_twelve_months_excludes_and_is_rechecked_when_it_lapses():
    patient = PatientFactory(birth_date=dt.date(1960, 1, 1))
    ehr_resource(patient, hospice_encounter("2025-07-01", "2025-08-01"))

    gap = gap_for(patient, on="2026-06-01")

    assert gap.status == "excluded"
    assert gap.recheck_on == dt.date(2026, 8, 2)


def test_hospice_that_ended_more_than_twelve_months_ago_no_longer_excludes():
    patient = PatientFactory(birth_date=dt.date(1960, 1, 1))
    ehr_resource(patient, hospice_encounter("2025-04-01", "2025-05-31"))

    assert gap_for(patient, on="2026-06-01").status == "overdue"


def test_a_condition_that_starts_after_the_day_does_not_exclude_yet():
    patient = PatientFactory(birth_date=dt.date(1960, 1, 1))
    ehr_resource(
        patient,
        {
            "resourceType": "Condition",
            "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "C20"}]},
            "onsetDateTime": "2026-06-02",
        },
    )

    assert gap_for(patient, on="2026-06-01").status == "overdue"
    assert gap_for(patient, on="2026-06-02").status == "excluded"


# --- Rules as data, versioned ---------------------------------------------------------------


def test_changing_a_rule_records_a_version_with_who_when_before_and_after():
    manager = ManagerFactory()
    colorectal = program("colorectal")
    seeded = colorectal.rule_version  # the migrations' versions (rules, then result pathways)

    version = program_rules.program_rules_update(
        program=colorectal,
        actor=manager,
        summary="Flag due soon 90 days ahead",
        fields={"due_soon_days": 90},
    )

    assert version.number == seeded + 1
    assert version.changed_by == manager
    assert version.before["due_soon_days"] == 60
    assert version.after["due_soon_days"] == 90
    colorectal.refresh_from_db()
    assert colorectal.rule_version == seeded + 1


def test_a_rule_change_that_changes_nothing_records_nothing():
    colorectal = program("colorectal")

    version = program_rules.program_rules_update(
        program=colorectal,
        actor=ManagerFactory(),
        summary="No-op",
        fields={"due_soon_days": colorectal.due_soon_days},
    )

    assert version is None
    assert RuleVersion.objects.filter(program=colorectal).count() == colorectal.rule_version


def test_a_bad_rule_change_is_refused_and_changes_nothing():
    colorectal = program("colorectal")
    seeded = colorectal.rule_version

    with pytest.raises(Exception) as error:
        program_rules.program_rules_update(
            program=colorectal,
            actor=ManagerFactory(),
            summary="Oops",
            fields={"min_age": 80, "max_age": 40},
        )

    assert "min_age" in str(error.value) or "age" in str(error.value).lower()
    colorectal.refresh_from_db()
    assert (colorectal.min_age, colorectal.rule_version) == (45, seeded)


def test_each_gap_records_the_rule_version_that_produced_it_and_a_rule_change_recomputes():
    patient = PatientFactory(birth_date=dt.date(1960, 1, 1))
    ehr_resource(patient, fit("2025-06-01"))
    seeded = program("colorectal").rule_version
    assert gap_for(patient, on="2026-03-01").rule_version == seeded

    program_rules.program_rules_update(
        program=program("colorectal"),
        actor=ManagerFactory(),
        summary="Due soon at 120 days",
        fields={"due_soon_days": 120},
    )
    care_gaps_refresh(as_of=dt.date(2026, 3, 1))

    gap = CareGap.objects.get(patient=patient, program__code="colorectal")
    assert gap.rule_version == seeded + 1
    assert gap.status == "due_soon"


def test_a_longer_modality_interval_is_applied_after_the_change():
    patient = PatientFactory(birth_date=dt.date(1960, 1, 1))
    ehr_resource(patient, fit("2024-06-01"))
    assert gap_for(patient, on="2026-03-01").status == "overdue"

    program_rules.program_rules_update(
        program=program("colorectal"),
        actor=ManagerFactory(),
        summary="FIT every two years (local protocol)",
        modalities=[program_rules.ModalityRuleChange(code="fit", interval_months=24)],
    )

    gap = gap_for(patient, on="2026-03-01")
    assert gap.status == "up_to_date"
    assert gap.next_due_on == dt.date(2026, 6, 1)


# --- The nightly run ------------------------------------------------------------------------------


@time_machine.travel(dt.datetime(2026, 6, 1, 7, 0, tzinfo=dt.UTC), tick=False)
def test_the_nightly_run_opens_a_case_for_a_newly_overdue_patient_once(
    django_capture_on_commit_callbacks,
):
    NavigatorFactory()
    patient = PatientFactory(birth_date=dt.date(1960, 1, 1))

    first = nightly_care_gaps_run(django_capture_on_commit_callbacks)
    second = nightly_care_gaps_run(django_capture_on_commit_callbacks)

    case = NavigationCase.objects.get(patient=patient, program__code="colorectal")
    assert case.is_open
    assert "care gap" in case.events.get(kind="opened").summary
    assert first.nightly == {"patients": 1, "batches": 1}
    assert first.total("cases_opened") >= 1
    # The second night finds nobody due: no batch, nothing opened
    assert second.nightly == {"patients": 0, "batches": 0}
    assert second.batches == []
    assert NavigationCase.objects.filter(patient=patient, program__code="colorectal").count() == 1


@time_machine.travel(dt.datetime(2026, 6, 1, 7, 0, tzinfo=dt.UTC), tick=False)
def test_the_nightly_run_leaves_inactive_programs_alone(django_capture_on_commit_callbacks):
    colorectal = program("colorectal")
    program_rules.program_rules_update(
        program=colorectal, actor=ManagerFactory(), summary="Paused", fields={"active": False}
    )
    patient = PatientFactory(birth_date=dt.date(1960, 1, 1))

    run = nightly_care_gaps_run(django_capture_on_commit_callbacks)

    assert run.total("patients") == 1
    assert not NavigationCase.objects.filter(patient=patient, program=colorectal).exists()


@time_machine.travel(dt.datetime(2026, 6, 1, 7, 0, tzinfo=dt.UTC))
def test_a_screening_arriving_from_the_ehr_closes_the_open_case_as_screened(
    django_capture_on_commit_callbacks,
):
    navigator = NavigatorFactory()
    patient = PatientFactory(birth_date=dt.date(1960, 1, 1), clinic=ClinicFactory())
    case = CaseFactory(patient=patient, program=program("colorectal"), navigator=navigator)
    nightly_care_gaps_run(django_capture_on_commit_callbacks)
    assert NavigationCase.objects.get(pk=case.pk).is_open

    ehr_resource(patient, colonoscopy("2026-05-20"))
    run = nightly_care_gaps_run(django_capture_on_commit_callbacks)

    case.refresh_from_db()
    assert run.total("cases_closed") == 1
    assert case.status == CaseStatus.CLOSED
    screening = ScreeningEvent.objects.get(case=case)
    assert (screening.modality.code, screening.performed_on) == (
        "colonoscopy",
        dt.date(2026, 5, 20),
    )
    assert screening.clinical_resource is not None
    timeline = list(CaseEvent.objects.filter(case=case).values_list("summary", flat=True))
    assert any("reported by the EHR" in line for line in timeline)
    assert any(line.endswith(": screened") for line in timeline)


def test_recomputing_makes_the_same_number_of_queries_for_one_patient_or_twenty():
    one = [PatientFactory(birth_date=dt.date(1960, 1, 1)).pk]
    many = [PatientFactory(birth_date=dt.date(1960, 1, 1)).pk for _ in range(20)]
    for pk in many[:5]:
        ehr_resource(Patient.objects.get(pk=pk), fit("2025-06-01"))
    programs = selectors.program_rules_list()

    def queries_for(patient_ids: list[int]) -> tuple[int, int]:
        with CaptureQueriesContext(connection) as captured:
            care_gaps.care_gaps_recompute(
                patient_ids=patient_ids, as_of=dt.date(2026, 6, 1), programs=programs
            )
        sql = [q["sql"].lstrip().upper() for q in captured.captured_queries]
        # On PostgreSQL the upsert is one `WITH ... INSERT` statement.
        upserts = sum(1 for q in sql if 'INSERT INTO "PATIENTS_CAREGAP"' in q)
        return len(sql) - upserts, upserts

    # Facts: patients, recorded screenings, resources; the concepts' codes (two); on
    # SQLite also the patients' timestamps and the existing gaps (read to compare).
    # Then the upsert: one statement on PostgreSQL (which also reads the previous
    # statuses and stamps the patients' timestamps); SQLite splits it by its
    # variable limit.
    reads_expected = 5 if connection.vendor == "postgresql" else 7
    assert queries_for(one) == (reads_expected, 1)
    reads, upserts = queries_for(many)
    assert reads == reads_expected
    assert upserts == 1 or connection.vendor == "sqlite"
