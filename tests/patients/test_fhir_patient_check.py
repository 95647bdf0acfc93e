"""The bulk import's check of a new patient (`patient_check.new_patient_clean`) against
the full_clean it replaces, on many generated patients, good and bad: the same answer
(accepted or refused), the same messages in the same order, and the same values left
on the patient afterwards."""

from __future__ import annotations

import copy
import datetime as dt
import random
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from patients.fhir.identity import demographics_apply
from patients.fhir.patient_check import new_patient_clean
from patients.fhir.patient_mapping import MappedPatient
from patients.models import Patient
from patients.services.patients import new_patient_race_prepare

NOW = dt.datetime(2026, 3, 2, 14, 0, tzinfo=dt.UTC)

# Values each field may be given: good ones, and ones full_clean refuses (too long, not a
# choice, the wrong type, in the future, unknown codes, ...). Fields the mapping never
# sets are here too: the check must hold for any field not at its default.
VALUES: dict[str, list[Any]] = {
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


def new_patient(rng: random.Random) -> Patient:
    """A new patient built as `bulk_write._patients_write` builds one."""
    mapped = mapped_patient(rng)
    patient = Patient(clinic_id=1, mrn=f"MRN{rng.randrange(10**6)}", clinical_data_changed_at=NOW)
    demographics_apply(patient, mapped)
    if mapped.race_ethnicity:
        new_patient_race_prepare(patient=patient, categories=mapped.race_ethnicity)
    return patient


def patients(count: int, seed: int) -> list[Patient]:
    """`count` patients: a quarter as built, the rest with one to four fields changed."""
    rng = random.Random(seed)
    found = []
    for index in range(count):
        patient = new_patient(rng)
        if index % 4:
            for name in rng.sample(sorted(VALUES), rng.randint(1, 4)):
                field = Patient._meta.get_field(name)
                setattr(patient, field.attname, rng.choice(VALUES[name]))
        found.append(patient)
    return found


def answer(check, patient: Patient) -> tuple[Any, ...]:
    """(refused?, messages joined as bulk_write joins them, message dict, values after);
    for an error other than a refusal, its type and text in their place."""
    try:
        check(patient)
    except ValidationError as error:
        outcome: tuple[Any, ...] = (True, "; ".join(error.messages), error.message_dict)
    except (TypeError, ValueError) as error:  # a value of a type no field converts
        outcome = (type(error), str(error), {})
    else:
        outcome = (False, "", {})
    # With their types: 0 == False, but a patient left holding 0 was not cleaned.
    values = {
        f.attname: (type(getattr(patient, f.attname)), getattr(patient, f.attname))
        for f in Patient._meta.concrete_fields
    }
    return (*outcome, values)


def full_clean(patient: Patient) -> None:
    # What bulk_write ran before: the clinic is the feed's, uniqueness the database's.
    patient.full_clean(exclude=["clinic"], validate_unique=False, validate_constraints=False)


@pytest.mark.frozen_clock("2026-03-02T15:00:00+00:00")
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_check_answers_as_full_clean_on_generated_patients(seed):
    refused = accepted = 0
    for patient in patients(1500, seed):
        twin = copy.deepcopy(patient)
        fast, slow = answer(new_patient_clean, patient), answer(full_clean, twin)
        assert fast == slow
        refused += fast[0] is True
        accepted += fast[0] is False
    # Both kinds were tried, many of each.
    assert refused > 300
    assert accepted > 300


def test_defaults_are_checked_once_and_a_bad_default_type_still_checked():
    # A patient at the model's defaults except the mapped fields passes, as full_clean says.
    patient = new_patient(random.Random(5))
    twin = copy.deepcopy(patient)
    assert answer(new_patient_clean, patient) == answer(full_clean, twin)
    assert answer(new_patient_clean, patient)[0] is False
    # A value equal to a default but of another type is not taken for it: 0 == False.
    patient.sms_consent = 0
    twin = copy.deepcopy(patient)
    assert answer(new_patient_clean, patient) == answer(full_clean, twin)


@pytest.mark.frozen_clock("2026-03-02T15:00:00+00:00")
def test_a_birth_date_after_today_is_refused_with_the_models_message():
    patient = new_patient(random.Random(9))
    patient.birth_date = timezone.localdate() + dt.timedelta(days=1)
    with pytest.raises(ValidationError) as raised:
        new_patient_clean(patient)
    assert raised.value.message_dict == {"birth_date": ["This date is in the future."]}
