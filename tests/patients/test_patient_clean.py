"""The bulk import's remembered check of new patients (`config.model_clean.FieldsCleaner`,
through `patients_cleaner`) answers as `Patient.full_clean` does: the same error for each
field, the same cleaned values, over thousands of patients mixing good and bad values of
every field, one cleaner for all of them (its remembered answers reused)."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import replace

import pytest
from django.core.exceptions import ValidationError

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
from patients.services.patients import PatientInput, PhoneInput, patient_build, patients_cleaner
from tests.factories import ClinicFactory

NOW = dt.datetime(2026, 3, 2, 14, 0, tzinfo=dt.UTC)
TOO_LONG = "x" * 250
CHOICE_BAD = ["", "bad", "Female", None, 3, TOO_LONG]


def choices(values: list[str]) -> list[object]:
    return [*values, *CHOICE_BAD]


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


def answer(patient: Patient, clean) -> tuple[object, dict[str, object]]:
    try:
        clean(patient)
    except ValidationError as error:
        outcome: object = list(error.message_dict.items())
    else:
        outcome = None
    return outcome, {f.attname: getattr(patient, f.attname) for f in Patient._meta.fields}


def full_clean(patient: Patient) -> None:
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
        expected = answer(reference, full_clean)
        assert answer(remembered, cleaner.full_clean) == expected, values
        seen_errors += expected[0] is not None
        seen_good += expected[0] is None
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
