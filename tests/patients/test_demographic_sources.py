"""Whether a patient's language was asked, and who gave their language and race/ethnicity
answers, as every writer records it: the service, the referral form, the API, the CSV
upload, the FHIR feed, a merge and the migration's backfill (issue 13, item 5)."""

from __future__ import annotations

import csv
import datetime as dt
import importlib
import io
from pathlib import Path

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase
from django.urls import reverse

from navigator.intake.patient_merge import patient_merge
from patients.fhir.importer import fhir_import
from patients.models import FhirSource, Patient
from patients.services.patients import PatientInput, patient_find_or_create, patient_race_set
from patients.uploads.template import COLUMNS
from tests import factories
from tests.support.api import api_as
from tests.support.fhir import bundle, patient_resource

pytestmark = pytest.mark.django_db

BORN = dt.date(1965, 4, 2)
US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition/"
CDC = "urn:oid:2.16.840.1.113883.6.238"
NULL_FLAVOR = "http://terminology.hl7.org/CodeSystem/v3-NullFlavor"


def answers(patient: Patient) -> tuple[str, str, str, str, str]:
    patient.refresh_from_db()
    return (
        patient.preferred_language,
        patient.language_status,
        patient.language_source,
        patient.race_group,
        patient.race_ethnicity_source,
    )


def register(clinic, mrn: str = "R-1", **fields) -> Patient:
    # The person of tests.support.fhir.patient_resource
    data = PatientInput(
        mrn=mrn, given_name="Ana Maria", family_name="Lima", birth_date=BORN, sex="female",
        **fields,
    )  # fmt: skip
    patient, _ = patient_find_or_create(clinic=clinic, data=data)
    return patient


# --- The service ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        # Nothing given: not asked, English kept only as the placeholder, no source
        ({}, ("en", "not_asked", "", "not_recorded", "")),
        # A language given is recorded; who gave it, when not said, is "not stated"
        ({"preferred_language": "es"}, ("es", "recorded", "ehr_unstated", "not_recorded", "")),
        # English given is an answer too, unlike the old default
        (
            {"preferred_language": "en", "language_source": "proxy"},
            ("en", "recorded", "proxy", "not_recorded", ""),
        ),
        (
            {"language_status": "declined", "language_source": "self_reported"},
            ("en", "declined", "self_reported", "not_recorded", ""),
        ),
        ({"language_status": "unknown"}, ("en", "unknown", "ehr_unstated", "not_recorded", "")),
        # Answers to race with their source; a source without answers is dropped
        (
            {"race_ethnicity": ["hispanic"], "race_ethnicity_source": "observer"},
            ("en", "not_asked", "", "hispanic", "observer"),
        ),
        (
            {"race_ethnicity": ["declined"], "race_ethnicity_source": "self_reported"},
            ("en", "not_asked", "", "declined", "self_reported"),
        ),
        ({"race_ethnicity": ["asian"]}, ("en", "not_asked", "", "asian", "ehr_unstated")),
        ({"race_ethnicity_source": "proxy"}, ("en", "not_asked", "", "not_recorded", "")),
    ],
)
def test_registering_records_the_language_status_and_each_answers_source(clinic, fields, expected):
    assert answers(register(clinic, **fields)) == expected


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"preferred_language": "es", "language_status": "declined"}, "so it is recorded"),
        ({"language_status": "recorded"}, "needs its code"),
        ({"language_status": "maybe"}, "not a language status"),
        ({"preferred_language": "es", "language_source": "neighbour"}, "not a source"),
        ({"race_ethnicity": ["white"], "race_ethnicity_source": "guess"}, "not a source"),
    ],
)
def test_contradictory_or_unknown_answers_are_refused_and_nothing_is_written(
    clinic, fields, message
):
    with pytest.raises(ValidationError, match=message):
        register(clinic, **fields)

    assert not Patient.objects.exists()


def test_the_race_service_stores_the_source_with_the_answers_and_none_without_them():
    # Given a patient whose answers a family member gave
    patient = factories.PatientFactory(race_ethnicity=["black"], race_ethnicity__source="proxy")
    assert answers(patient)[3:] == ("black", "proxy")

    # When the patient gives other answers themself, then they and their source replace
    # the old ones; and clearing the answers clears the source
    assert patient_race_set(patient=patient, categories=["white"], source="self_reported")
    assert answers(patient)[3:] == ("white", "self_reported")
    patient_race_set(patient=patient, categories=[], source="self_reported")
    assert answers(patient)[3:] == ("not_recorded", "")


def test_the_same_answers_from_a_record_that_does_not_say_who_gave_them_keep_their_source():
    patient = factories.PatientFactory(race_ethnicity=["asian"])  # self-reported

    # When a record repeats them without a source, the stated source holds
    assert patient_race_set(patient=patient, categories=["asian"], source="ehr_unstated") is False
    assert answers(patient)[3:] == ("asian", "self_reported")

    # But other answers from it are "not stated"
    patient_race_set(patient=patient, categories=["asian", "white"], source="ehr_unstated")
    assert answers(patient)[3:] == ("multi", "ehr_unstated")


# --- The referral form, the API and the CSV upload -------------------------------------------


def form_post(**overrides) -> dict:
    data = {
        "program": factories.program("colorectal").pk,
        "referring_clinician": "Dr. Okafor",
        "mrn": "F-1",
        "given_name": "Maria",
        "family_name": "Santos",
        "birth_date": "1965-04-02",
        "sex": "female",
        "preferred_language": "pt",
        "preferred_language_other": "",
        "language_status": "recorded",
        "language_source": "self_reported",
        "english_proficiency": "not_well",
        "race_ethnicity": ["hispanic"],
        "race_ethnicity_source": "proxy",
        "phone_1_kind": "mobile",
        "phone_2_kind": "home",
        "time_zone": "America/New_York",
        "insurance_type": "medicaid",
        "smoking_status": "never",
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, ("pt", "recorded", "self_reported", "hispanic", "proxy", "not_well")),
        # Declined: the language select's choice is no answer; proficiency declined too
        (
            {"language_status": "declined", "english_proficiency": "declined"},
            ("en", "declined", "self_reported", "hispanic", "proxy", "declined"),
        ),
        (
            {"language_status": "unknown", "language_source": "observer", "race_ethnicity": []},
            ("en", "unknown", "observer", "not_recorded", "", "not_well"),
        ),
    ],
)
def test_the_referral_form_records_status_and_sources(
    client, clinic_staff, navigator, overrides, expected
):
    client.force_login(clinic_staff)

    response = client.post(reverse("patients:referral_create"), form_post(**overrides))

    assert response.status_code == 302, response.context["form"].errors
    patient = Patient.objects.get()
    assert (*answers(patient), patient.english_proficiency) == expected


def test_the_referral_form_offers_declined_and_unknown_for_language_and_proficiency(
    client, clinic_staff
):
    client.force_login(clinic_staff)

    form = client.get(reverse("patients:referral_create")).context["form"]

    statuses = dict(form.fields["language_status"].choices)
    assert {"declined", "unknown", "not_asked", "recorded"} == set(statuses)
    assert "declined" in dict(form.fields["english_proficiency"].choices)
    assert set(dict(form.fields["race_ethnicity_source"].choices)) == {
        "self_reported",
        "proxy",
        "observer",
    }


def api_payload(**patient) -> dict:
    return {
        "program": "colorectal",
        "referring_clinician": "Dr. Patel",
        "patient": {
            "mrn": "A-1",
            "given_name": "Rosa",
            "family_name": "Martínez",
            "birth_date": "1965-04-02",
            "sex": "female",
            **patient,
        },
    }


@pytest.mark.parametrize(
    ("patient", "expected"),
    [
        ({}, ("en", "not_asked", "", "not_recorded", "")),
        ({"preferred_language": "es"}, ("es", "recorded", "ehr_unstated", "not_recorded", "")),
        (
            {
                "language_status": "declined",
                "language_source": "self_reported",
                "race_ethnicity": ["unknown"],
                "race_ethnicity_source": "observer",
            },
            ("en", "declined", "self_reported", "unknown", "observer"),
        ),
    ],
)
def test_the_api_records_status_and_sources_and_returns_them(
    clinic_staff, navigator, patient, expected
):
    response = api_as(clinic_staff).post("/api/referrals/", api_payload(**patient), format="json")

    assert response.status_code == 201, response.json()
    stored = Patient.objects.get()
    assert answers(stored) == expected
    shown = api_as(clinic_staff).get(f"/api/patients/{stored.pk}/").json()
    assert (shown["language_status"], shown["language_source"]) == expected[1:3]
    assert shown["race_ethnicity_source"] == expected[4]


def test_the_api_refuses_a_language_with_a_status_that_says_there_is_none(clinic_staff):
    payload = api_payload(preferred_language="es", language_status="declined")

    response = api_as(clinic_staff).post("/api/referrals/", payload, format="json")

    assert response.status_code == 400
    assert not Patient.objects.exists()


def test_the_csv_upload_reads_a_language_declined_unknown_or_left_empty(clinic):
    # Given a file whose rows give a language, decline it, do not know it, or leave it out
    factories.NavigatorFactory(languages=["pt", "en"])
    staff = factories.ClinicStaffFactory(clinic=clinic)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(COLUMNS), restval="")
    writer.writeheader()
    for number, language in enumerate(["pt", "declined", "Unknown", ""]):
        writer.writerow(
            {
                "mrn": f"C{number}", "given_name": "Ana", "family_name": f"Lima{number}",
                "birth_date": "1965-04-02", "sex": "female", "program": "colorectal",
                "referring_clinician": "Dr. Patel", "preferred_language": language,
                "race_ethnicity": "hispanic" if number == 0 else "",
            }
        )  # fmt: skip
    upload = SimpleUploadedFile("r.csv", out.getvalue().encode(), "text/csv")

    # When it is uploaded
    # (accepted, 202; its job runs when the request commits: eager in tests)
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = api_as(staff).post(
            "/api/referrals/upload/", {"file": upload, "mode": "all_or_nothing"}, format="multipart"
        )

    # Then each row's status says so; the file does not say who answered
    assert response.status_code == 202, response.json()
    stored = {p.mrn: answers(p) for p in Patient.objects.all()}
    assert stored == {
        "C0": ("pt", "recorded", "ehr_unstated", "hispanic", "ehr_unstated"),
        "C1": ("en", "declined", "ehr_unstated", "not_recorded", ""),
        "C2": ("en", "unknown", "ehr_unstated", "not_recorded", ""),
        "C3": ("en", "not_asked", "", "not_recorded", ""),
    }


# --- The FHIR feed ---------------------------------------------------------------------------


def omb(url: str, system: str, code: str) -> dict:
    return {
        "url": US_CORE + url,
        "extension": [{"url": "ombCategory", "valueCoding": {"system": system, "code": code}}],
    }


@pytest.mark.parametrize(
    ("extension", "group"),
    [
        ([omb("us-core-race", NULL_FLAVOR, "ASKU")], "declined"),
        ([omb("us-core-race", NULL_FLAVOR, "UNK")], "unknown"),
        # A category on one question wins over a non-answer on the other
        (
            [omb("us-core-race", NULL_FLAVOR, "ASKU"), omb("us-core-ethnicity", CDC, "2135-2")],
            "hispanic",
        ),
    ],
)
def test_the_feed_records_asked_but_unanswered_race_as_declined_or_unknown_not_stated_by_whom(
    clinic, extension, group
):
    feed = FhirSource.objects.create(key="ehr", name="Hospital EHR", clinic=clinic)

    fhir_import(
        source=feed, payload=bundle(patient_resource(extension=extension)), origin="t", actor=None
    )

    assert answers(Patient.objects.get())[3:] == (group, "ehr_unstated")


def test_the_feed_records_a_communication_language_and_leaves_a_missing_one_not_asked(clinic):
    feed = FhirSource.objects.create(key="ehr", name="Hospital EHR", clinic=clinic)
    spoken = [{"language": {"coding": [{"code": "pt-BR"}]}, "preferred": True}]

    fhir_import(
        source=feed,
        payload=bundle(
            patient_resource(communication=spoken),
            patient_resource(id="p2", identifier=[{"system": "urn:mrn", "value": "MRN-2"}]),
        ),
        origin="t",
        actor=None,
    )

    by_id = {link.resource_id: link.patient for link in feed.links.all()}
    assert answers(by_id["p1"])[:3] == ("pt", "recorded", "ehr_unstated")
    assert answers(by_id["p2"])[:3] == ("en", "not_asked", "")


def test_a_feed_repeating_a_self_reported_language_keeps_its_source_and_a_new_one_does_not(
    clinic,
):
    # Given a patient referred with Portuguese, as they said themself, then linked by MRN
    patient = register(
        clinic, mrn="MRN-1", preferred_language="pt", language_source="self_reported"
    )
    feed = FhirSource.objects.create(key="ehr", name="Hospital EHR", clinic=clinic)
    said = [{"language": {"coding": [{"code": "pt"}]}}]

    # When the feed sends the same language, the patient's own word still holds
    result = fhir_import(
        source=feed, payload=bundle(patient_resource(communication=said)), origin="t", actor=None
    )
    assert result.patients == [("p1", patient.pk)]
    assert answers(patient)[:3] == ("pt", "recorded", "self_reported")

    # And when it sends another one, nobody said who gave it
    other = [{"language": {"coding": [{"code": "es"}]}}]
    fhir_import(
        source=feed, payload=bundle(patient_resource(communication=other)), origin="t", actor=None
    )
    assert answers(patient)[:3] == ("es", "recorded", "ehr_unstated")


# --- A merge and the page --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kept", "kept_source", "other", "other_source", "source"),
    [
        (["hispanic"], "self_reported", ["white"], "observer", "observer"),
        # The same answers, once from a record that does not say who gave them: the
        # patient's own word holds (an unstated source never replaces a stated one)
        (["hispanic"], "self_reported", ["hispanic"], "ehr_unstated", "self_reported"),
        (["black"], "proxy", ["declined"], "self_reported", "proxy"),
        ([], "", ["asian"], "self_reported", "self_reported"),
        ([], "", [], "", ""),
    ],
)
def test_a_merge_claims_the_weakest_source_of_the_records_that_gave_the_answers(
    clinic, manager, kept, kept_source, other, other_source, source
):
    def person(mrn: str, categories: list[str], given_by: str) -> Patient:
        return factories.PatientFactory(
            clinic=clinic, given_name="Carlos", family_name="Rivera", birth_date=BORN,
            mrn=mrn, race_ethnicity=categories, race_ethnicity__source=given_by,
        )  # fmt: skip

    survivor = person("A1", kept, kept_source)
    duplicate = person("A2", other, other_source)

    patient_merge(survivor_id=survivor.pk, duplicate_id=duplicate.pk, actor=manager)

    assert answers(survivor)[4] == source


def test_the_patient_page_says_who_gave_the_answers_and_when_no_language_was_given(client, manager):
    patient = factories.PatientFactory(
        language_status="declined",
        language_source="self_reported",
        race_ethnicity=["black"],
        race_ethnicity__source="proxy",
    )
    client.force_login(manager)

    html = client.get(reverse("patients:patient_detail", args=[patient.pk])).content.decode()

    assert "Declined to answer (letters and calls in English)" in html
    assert "Self-reported by the patient" in html
    assert "Reported by a family member or caregiver" in html


# --- The backfill ----------------------------------------------------------------------------


def test_the_migration_backfills_what_the_old_records_can_honestly_say():
    # Given records as they were before the fields: the defaults everywhere
    old = {
        "spanish": factories.PatientFactory(preferred_language="es", english_proficiency="unknown"),
        "proficiency": factories.PatientFactory(english_proficiency="very_well"),
        "defaults": factories.PatientFactory(english_proficiency="unknown"),
        "race": factories.PatientFactory(english_proficiency="unknown", race_ethnicity=["white"]),
    }
    Patient.objects.update(language_status="not_asked", language_source="")
    Patient.objects.filter(pk=old["race"].pk).update(race_ethnicity_source="")

    # When the migration's backfill runs (found by name: migrations may be renumbered)
    (path,) = (Path(__file__).parents[2] / "patients" / "migrations").glob(
        "*_demographic_sources_and_language_status.py"
    )
    migration = importlib.import_module(f"patients.migrations.{path.stem}")
    migration.backfill_sources_and_language_status(apps, None)

    # Then an answer other than a default is recorded (source not stated), and the
    # defaults are "unknown": an English speaker and a patient never asked look the same
    assert {key: answers(patient)[1:] for key, patient in old.items()} == {
        "spanish": ("recorded", "ehr_unstated", "not_recorded", ""),
        "proficiency": ("recorded", "ehr_unstated", "not_recorded", ""),
        "defaults": ("unknown", "", "not_recorded", ""),
        "race": ("unknown", "", "white", "ehr_unstated"),
    }
