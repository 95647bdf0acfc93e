"""The bulk imports' check of new patients (`config.model_clean.FieldsCleaner`, through
`patients_cleaner`, one per batch) answers as `Patient.full_clean` does, for the
referral import's patients and the FHIR bulk import's alike: accepted or refused, the
same messages in the same order, and the same values (with their types) left on the
patient, over thousands of patients mixing good and bad values of every field, one
cleaner for all of a run (its remembered answers reused)."""

from __future__ import annotations

import copy
import datetime as dt
import random
import zoneinfo
from dataclasses import replace
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Value
from django.db.models.expressions import DatabaseDefault
from django.utils import timezone

from patients.fhir.identity import demographics_apply
from patients.fhir.patient_mapping import MappedPatient
from patients.models import (
    DemographicSource,
    EnglishProficiency,
    InsuranceType,
    LanguageStatus,
    Patient,
    PreferredChannel,
    RaceGroup,
    Sex,
    SmokingStatus,
)
from patients.services.patients import (
    PatientInput,
    PhoneInput,
    new_patient_race_prepare,
    patient_build,
    patients_cleaner,
)
from tests.factories import ClinicFactory

NOW = dt.datetime(2026, 3, 2, 14, 0, tzinfo=dt.UTC)
TOO_LONG = "x" * 250
CHOICE_BAD = ["", "bad", "Female", None, 3, TOO_LONG]


def choices(values: list[str]) -> list[object]:
    return [*values, *CHOICE_BAD]


# The referral import's patients: each value of each field, good and bad.
VALUES: dict[str, list[object]] = {
    "mrn": ["A1", " mrn-7 ", "", None, "x" * 64, "x" * 65],
    "given_name": ["Ana", "José", "", None, " ", "x" * 100, "x" * 101, "a\x00b"],
    "family_name": ["Lima", "Ō'Brien", "", "x" * 101, 7],
    "birth_date": [
        dt.date(1960, 1, 1), dt.date(1899, 12, 31), dt.date(2999, 1, 1), None, "1960-01-02",
        "1960-02-30", "not a date", NOW, "",
    ],
    "sex": choices(Sex.values),
    "preferred_language": ["en", "pt", "es", "zz", "", "english", "EN", None, "x" * 9],
    "written_language": ["", "es", "vi", "zz", None, "x" * 9],
    "english_proficiency": choices(EnglishProficiency.values),
    "language_status": choices(LanguageStatus.values),
    "language_source": choices(DemographicSource.values),
    "interpreter_needed": [True, False, None, "yes", 1, 0, "true", "maybe"],
    "sms_consent": [True, False, None, "no"],
    "sms_consent_at": [None, NOW, "2026-03-02 14:00", "soon", ""],
    "preferred_channel": choices(PreferredChannel.values),
    "best_contact_times": ["", "after 6", "x" * 200, "x" * 201],
    "email": ["", "a@example.org", "A.B@Example.ORG", "bad", "a@b", "@x.org", None],
    "address_line1": ["", "1 Main St", TOO_LONG],
    "city": ["", "Boston", "x" * 101],
    "state": ["", "MA", "x" * 51],
    "postal_code": ["", "02118", "x" * 21],
    "time_zone": ["America/New_York", "UTC", "Mars/Base", "", None],
    "insurance_type": choices(InsuranceType.values),
    "smoking_status": choices(SmokingStatus.values),
    "smoking_pack_years": [None, 0, 20, -1, 40000, "12", "x", ""],
    "deceased": [False, True, None],
    "race_group": choices(RaceGroup.values),
    "race_ethnicity_source": choices(DemographicSource.values),
}  # fmt: skip
GOOD = {
    "mrn": "A1", "given_name": "Ana", "family_name": "Lima", "birth_date": dt.date(1960, 1, 1),
    "sex": "female", "preferred_language": "pt", "time_zone": "America/New_York",
}  # fmt: skip

# The FHIR bulk import's patients: values each field may be given over a mapped feed
# Patient, good ones and ones full_clean refuses (too long, not a choice, the wrong type,
# in the future, unknown codes, ...). Fields the mapping never sets are here too.
FEED_VALUES: dict[str, list[Any]] = {
    "mrn": ["", "M1", " m-2 ", "x" * 64, "x" * 65, None, 7],
    "given_name": ["Ana", "", " ", "é" * 100, "é" * 101, None, "(no given name)"],
    "family_name": ["Silva", "", "x" * 100, "x" * 101, None],
    "birth_date": [dt.date(1960, 5, 1), dt.date(2999, 1, 1), None, "1970-01-01", "1970-13-01",
                   "x", dt.datetime(1970, 1, 1, 12, 0), 5],
    "sex": ["female", "male", "other", "unknown", "", "F", None, "x" * 17],
    "preferred_language": ["en", "es", "pt", "", "zz", "english", None, "x" * 9],
    "written_language": ["", "es", "zz", "x" * 9],
    "language_status": ["recorded", "not_asked", "", "maybe"],
    "language_source": ["", "ehr_unstated", "patient", "guess"],
    "interpreter_needed": [True, False, None, "yes", 1],
    "email": ["", "a@example.org", "not an email", "a@" + "b" * 260 + ".org", None],
    "deceased": [True, False, None, "no"],
    "race_group": ["not_recorded", "white", "multiracial", "", "purple"],
    "race_ethnicity_source": ["", "ehr_unstated", "bogus"],
    "clinical_data_changed_at": [NOW, None, "2026-03-02T14:00:00Z", "yesterday"],
    "time_zone": ["America/New_York", "Mars/Olympus", "", "UTC"],
    "english_proficiency": ["unknown", "very_well", "fluent", ""],
    "insurance_type": ["unknown", "medicaid", "gold", ""],
    "smoking_status": ["unknown", "current", "sometimes"],
    "smoking_pack_years": [None, 0, 12, -1, "ten", 40000],
    "sms_consent": [False, True, None],
    "sms_consent_at": [None, NOW, "x"],
    "preferred_channel": ["", "sms", "fax"],
    "best_contact_times": ["", "mornings", "x" * 201],
    "postal_code": ["", "02139", "x" * 21],
    "city": ["", "Boston", "x" * 101],
}  # fmt: skip
RACES = [[], ["white"], ["black", "hispanic"], ["declined"], ["unknown"]]


def answer(check, patient: Patient) -> tuple[Any, ...]:
    """(refused?, messages joined as bulk_write joins them, the message dict's items in
    their order, values after); for an error other than a refusal, its type and text."""
    try:
        check(patient)
    except ValidationError as error:
        outcome: tuple[Any, ...] = (
            True,
            "; ".join(error.messages),
            list(error.message_dict.items()),
        )
    except (TypeError, ValueError) as error:  # a value of a type no field converts
        outcome = (type(error), str(error), [])
    else:
        outcome = (False, "", [])
    # With their types: 0 == False, but a patient left holding 0 was not cleaned.
    values = {
        f.attname: (type(getattr(patient, f.attname)), getattr(patient, f.attname))
        for f in Patient._meta.concrete_fields
    }
    return (*outcome, values)


def full_clean(patient: Patient) -> None:
    # What both imports ran before: the clinic is the caller's, uniqueness the database's.
    patient.full_clean(exclude=["clinic"], validate_unique=False, validate_constraints=False)


def two_patients(values: dict[str, object]) -> tuple[Patient, Patient]:
    return Patient(**values), Patient(**values)


@pytest.mark.frozen_clock(NOW)
def test_the_remembered_check_answers_as_full_clean():
    cleaner = patients_cleaner()
    seen_errors = seen_good = 0
    cases = [dict(GOOD)]
    # Each value of each field alone in a good patient, then random mixes.
    cases += [{**GOOD, name: value} for name, values in VALUES.items() for value in values]
    rng = random.Random(15)
    for _ in range(3000):
        mix = dict(GOOD)
        for name in rng.sample(sorted(VALUES), rng.randint(1, 6)):
            mix[name] = rng.choice(VALUES[name])
        cases.append(mix)
    for values in cases * 2:  # the second round reads remembered answers only
        reference, remembered = two_patients(values)
        expected = answer(full_clean, reference)
        assert answer(cleaner.full_clean, remembered) == expected, values
        seen_errors += expected[0] is True
        seen_good += expected[0] is False
    assert seen_errors > 1000 and seen_good > 100


@pytest.mark.django_db
@pytest.mark.frozen_clock(NOW)
def test_patient_build_with_the_batchs_cleaner_builds_the_same_patient():
    clinic = ClinicFactory()
    cleaner = patients_cleaner()
    base = PatientInput(
        mrn="A1", given_name="Ana", family_name="Lima", birth_date=dt.date(1960, 1, 1),
        sex="female", preferred_language="pt", phones=[PhoneInput("+16175550142")],
    )  # fmt: skip
    inputs = [
        base,
        replace(base, sex="x"),
        replace(base, preferred_language="zz"),
        replace(base, birth_date=dt.date(2999, 1, 1)),
        replace(base, given_name="x" * 101, email="bad"),
        replace(base, sms_consent=True, time_zone="Mars/Base"),
        replace(base, written_language="es", interpreter_needed=True),
        replace(base, insurance_type="bad", smoking_pack_years=-1),
    ]
    for data in inputs * 2:
        outcomes = []
        for with_cleaner in (None, cleaner):
            try:
                built = patient_build(clinic=clinic, data=data, cleaner=with_cleaner)
            except ValidationError as error:
                outcomes.append(("refused", error.message_dict))
            else:
                fields = {
                    f.attname: getattr(built.patient, f.attname) for f in Patient._meta.fields
                }
                outcomes.append(("built", fields, built.race_ethnicity, built.phones))
        assert outcomes[0] == outcomes[1], data


def mapped_patient(rng: random.Random) -> MappedPatient:
    """A patient as `map_patient` returns it for a good line."""
    return MappedPatient(
        given_name=rng.choice(["Ana", "(no given name)", "Jo Ann"]),
        family_name=rng.choice(["Silva", "(no family name)", "O'Neil"]),
        birth_date=dt.date(1940, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 60)),
        sex=rng.choice(["female", "male", "other", "unknown"]),
        race_ethnicity=rng.choice(RACES),
        preferred_language=rng.choice([None, "es", "pt", "en"]),
        interpreter_needed=rng.choice([None, True, False]),
        phones=[],
        email=rng.choice(["", "a@example.org"]),
        deceased=rng.random() < 0.1,
    )


def feed_patient(rng: random.Random) -> Patient:
    """A new patient built as `bulk_write._patients_write` builds one."""
    mapped = mapped_patient(rng)
    patient = Patient(clinic_id=1, mrn=f"MRN{rng.randrange(10**6)}", clinical_data_changed_at=NOW)
    demographics_apply(patient, mapped)
    if mapped.race_ethnicity:
        new_patient_race_prepare(patient=patient, categories=mapped.race_ethnicity)
    return patient


def feed_patients(count: int, seed: int) -> list[Patient]:
    """`count` patients: a quarter as built, the rest with one to four fields changed."""
    rng = random.Random(seed)
    found = []
    for index in range(count):
        patient = feed_patient(rng)
        if index % 4:
            for name in rng.sample(sorted(FEED_VALUES), rng.randint(1, 4)):
                field = Patient._meta.get_field(name)
                setattr(patient, field.attname, rng.choice(FEED_VALUES[name]))
        found.append(patient)
    return found


@pytest.mark.frozen_clock("2026-03-02T15:00:00+00:00")
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_check_answers_as_full_clean_on_generated_feed_patients(seed):
    cleaner = patients_cleaner()  # one for the run, as for a batch
    refused = accepted = 0
    for _ in range(2):  # the second round reads remembered answers
        for patient in feed_patients(1500, seed):
            twin = copy.deepcopy(patient)
            fast, slow = answer(cleaner.full_clean, patient), answer(full_clean, twin)
            assert fast == slow
            refused += fast[0] is True
            accepted += fast[0] is False
    # Both kinds were tried, many of each.
    assert refused > 600
    assert accepted > 600


def test_a_patient_at_the_defaults_passes_and_a_value_equal_to_one_of_another_type_is_checked():
    cleaner = patients_cleaner()
    # A patient at the model's defaults except the mapped fields passes, as full_clean says.
    patient = feed_patient(random.Random(5))
    twin = copy.deepcopy(patient)
    assert answer(cleaner.full_clean, patient) == answer(full_clean, twin)
    assert answer(cleaner.full_clean, copy.deepcopy(twin))[0] is False
    # A value equal to a remembered one but of another type is not taken for it: 0 == False.
    patient.sms_consent = 0
    twin = copy.deepcopy(patient)
    assert answer(cleaner.full_clean, patient) == answer(full_clean, twin)
    assert patient.sms_consent is False


@pytest.mark.frozen_clock("2026-03-02T15:00:00+00:00")
def test_a_birth_date_after_today_is_refused_with_the_models_message():
    patient = feed_patient(random.Random(9))
    patient.birth_date = timezone.localdate() + dt.timedelta(days=1)
    with pytest.raises(ValidationError) as raised:
        patients_cleaner().full_clean(patient)
    assert raised.value.message_dict == {"birth_date": ["This date is in the future."]}


def test_equal_instants_in_other_time_zones_each_keep_their_own():
    # Remembered by ==: 14:00 UTC and 09:00 in Boston are one key. full_clean leaves each
    # patient its own datetime, and so does the cleaner.
    cleaner = patients_cleaner()
    boston = NOW.astimezone(zoneinfo.ZoneInfo("America/New_York"))
    for when in (NOW, boston, NOW, boston):
        patient = feed_patient(random.Random(3))
        patient.clinical_data_changed_at = when
        twin = copy.deepcopy(patient)
        assert answer(cleaner.full_clean, patient) == answer(full_clean, twin)
        assert patient.clinical_data_changed_at.tzinfo is when.tzinfo


def test_a_value_the_database_gives_is_not_checked():
    # Model.clean_fields skips a db_default's placeholder; so does the cleaner.
    cleaner = patients_cleaner()
    for _ in range(2):
        patient = feed_patient(random.Random(4))
        patient.given_name = DatabaseDefault(Value("x" * 500))
        twin = copy.deepcopy(patient)
        assert answer(cleaner.full_clean, patient) == answer(full_clean, twin)
        assert answer(cleaner.full_clean, patient)[0] is False
        assert isinstance(patient.given_name, DatabaseDefault)
