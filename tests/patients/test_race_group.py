"""`Patient.race_group` always says what the patient's race/ethnicity rows say, whoever
writes them: the service, registration, the FHIR feed, a merge, the migration's backfill."""

from __future__ import annotations

import datetime as dt
import importlib
from pathlib import Path

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import connection

from navigator.intake.patient_merge import patient_merge
from patients.fhir.importer import fhir_import
from patients.models import FhirSource, Patient, PatientRaceEthnicity, race_group_of
from patients.services.patients import PatientInput, patient_find_or_create, patient_race_set
from tests import factories
from tests.support.fhir import bundle, patient_resource

pytestmark = pytest.mark.django_db

BORN = dt.date(1965, 4, 2)
US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition/"
CDC = "urn:oid:2.16.840.1.113883.6.238"


def groups_from_rows() -> dict[int, str]:
    """Each patient's group computed in SQL from the rows alone (GROUP BY patient)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT p.id,
                   CASE
                     WHEN COUNT(r.id) = 0 THEN 'not_recorded'
                     WHEN SUM(CASE WHEN r.category NOT IN ('declined', 'unknown')
                                   THEN 1 ELSE 0 END) > 1 THEN 'multi'
                     ELSE MIN(r.category)
                   END
            FROM patients_patient p
            LEFT JOIN patients_patientraceethnicity r ON r.patient_id = p.id
            GROUP BY p.id
            """
        )
        return dict(cursor.fetchall())


def assert_every_race_group_matches_its_rows() -> None:
    stored = dict(Patient.objects.values_list("pk", "race_group"))
    assert stored == groups_from_rows()


@pytest.mark.parametrize(
    ("categories", "group"),
    [
        ([], "not_recorded"),
        (["asian"], "asian"),
        (["hispanic"], "hispanic"),
        (["hispanic", "white"], "multi"),
        (["aian", "black", "mena"], "multi"),
        (["declined"], "declined"),
        (["unknown"], "unknown"),
    ],
)
def test_the_service_stores_the_rows_and_their_group_together(categories, group):
    # Given a patient with no answers
    patient = factories.PatientFactory()
    assert patient.race_group == "not_recorded"

    # When the service records the answers
    patient_race_set(patient=patient, categories=categories, source="self_reported")

    # Then the rows are the answers and the group is the 2024 OMB tabulation of them
    patient.refresh_from_db()
    assert sorted(patient.race_ethnicities.values_list("category", flat=True)) == sorted(categories)
    assert patient.race_group == group == race_group_of(categories)
    assert_every_race_group_matches_its_rows()


def test_new_answers_replace_the_old_ones_and_the_group_follows():
    patient = factories.PatientFactory(race_ethnicity=["hispanic", "white"])
    assert patient.race_group == "multi"

    changed = patient_race_set(patient=patient, categories=["white"], source="self_reported")

    patient.refresh_from_db()
    assert changed is True
    assert list(patient.race_ethnicities.values_list("category", flat=True)) == ["white"]
    assert patient.race_group == "white"

    # And clearing them leaves the patient "not recorded"
    patient_race_set(patient=patient, categories=[], source="self_reported")
    patient.refresh_from_db()
    assert patient.race_group == "not_recorded"
    assert not patient.race_ethnicities.exists()


def test_the_same_answers_again_change_nothing(django_assert_max_num_queries):
    patient = factories.PatientFactory(race_ethnicity=["black"])

    with django_assert_max_num_queries(2):
        changed = patient_race_set(patient=patient, categories=["black"], source="self_reported")

    assert changed is False


@pytest.mark.parametrize(
    ("categories", "message"),
    [
        (["declined", "white"], "cannot be combined"),
        (["unknown", "asian"], "cannot be combined"),
        (["martian"], "Unknown categories: martian"),
    ],
)
def test_impossible_answers_are_refused_and_change_nothing(categories, message):
    patient = factories.PatientFactory(race_ethnicity=["asian"])

    with pytest.raises(ValidationError, match=message):
        patient_race_set(patient=patient, categories=categories, source="self_reported")

    patient.refresh_from_db()
    assert patient.race_group == "asian"
    assert list(patient.race_ethnicities.values_list("category", flat=True)) == ["asian"]


@pytest.mark.parametrize(
    ("categories", "group"),
    [([], "not_recorded"), (["mena"], "mena"), (["nhpi", "white"], "multi")],
)
def test_registering_a_patient_sets_the_group_from_their_answers(clinic, categories, group):
    data = PatientInput(
        mrn="R-1", given_name="Ana", family_name="Lima", birth_date=BORN, sex="female",
        race_ethnicity=categories,
    )  # fmt: skip

    patient, created = patient_find_or_create(clinic=clinic, data=data)

    patient.refresh_from_db()
    assert created and patient.race_group == group
    assert_every_race_group_matches_its_rows()


def race_extension(*codes: str) -> list[dict]:
    return [
        {
            "url": US_CORE + "us-core-race",
            "extension": [
                {"url": "ombCategory", "valueCoding": {"system": CDC, "code": code}}
                for code in codes
            ],
        }
    ]


def test_the_fhir_feed_sets_the_group_and_a_later_bundle_replaces_it(clinic):
    # Given a feed that sends a patient as Black and Asian
    feed = FhirSource.objects.create(key="ehr", name="Hospital EHR", clinic=clinic)
    payload = bundle(patient_resource(extension=race_extension("2054-5", "2028-9")))
    fhir_import(source=feed, payload=payload, origin="test", actor=None)
    patient = Patient.objects.get()
    assert patient.race_group == "multi"

    # When it later sends them as Asian only
    payload = bundle(patient_resource(extension=race_extension("2028-9")))
    fhir_import(source=feed, payload=payload, origin="test", actor=None)

    # Then the rows and the group both say "Asian"
    patient.refresh_from_db()
    assert list(patient.race_ethnicities.values_list("category", flat=True)) == ["asian"]
    assert patient.race_group == "asian"
    assert_every_race_group_matches_its_rows()


@pytest.mark.parametrize(
    ("kept", "duplicate", "categories", "group"),
    [
        (["hispanic"], ["hispanic", "white"], ["hispanic", "white"], "multi"),
        ([], ["black"], ["black"], "black"),
        (["declined"], ["white"], ["white"], "white"),
        (["unknown"], ["declined"], ["declined"], "declined"),
        ([], [], [], "not_recorded"),
    ],
)
def test_a_merge_gives_the_kept_record_both_records_answers_and_their_group(
    clinic, manager, kept, duplicate, categories, group
):
    # Given the same person twice, with their answers on each record
    survivor = factories.PatientFactory(
        clinic=clinic, given_name="Carlos", family_name="Rivera", birth_date=BORN,
        mrn="A1", race_ethnicity=kept,
    )  # fmt: skip
    other = factories.PatientFactory(
        clinic=clinic, given_name="Carlos", family_name="Rivera", birth_date=BORN,
        mrn="A2", race_ethnicity=duplicate,
    )  # fmt: skip

    # When they are merged
    patient_merge(survivor_id=survivor.pk, duplicate_id=other.pk, actor=manager)

    # Then the kept record has every category either gave (a non-answer only when
    # neither gave one), and its group says the same
    survivor.refresh_from_db()
    assert sorted(survivor.race_ethnicities.values_list("category", flat=True)) == categories
    assert survivor.race_group == group
    assert_every_race_group_matches_its_rows()


def test_the_migration_backfills_every_patient_group_from_the_rows():
    # Given patients whose stored group has gone stale (as before the migration)
    factories.PatientFactory(race_ethnicity=["white"])
    factories.PatientFactory(race_ethnicity=["black", "hispanic"])
    factories.PatientFactory(race_ethnicity=["declined"])
    factories.PatientFactory()
    Patient.objects.update(race_group="not_recorded")
    stale = factories.PatientFactory()
    Patient.objects.filter(pk=stale.pk).update(race_group="asian")
    assert PatientRaceEthnicity.objects.count() == 4

    # When the migration's backfill runs
    # (found by name: the lead renumbers migrations on merge)
    (path,) = (Path(__file__).parents[2] / "patients" / "migrations").glob(
        "*_patient_race_group.py"
    )
    migration = importlib.import_module(f"patients.migrations.{path.stem}")
    migration.backfill_race_group(apps, None)

    # Then every group is what the rows say
    assert sorted(Patient.objects.values_list("race_group", flat=True)) == sorted(
        ["white", "multi", "declined", "not_recorded", "not_recorded"]
    )
    assert_every_race_group_matches_its_rows()
