"""Writes for patients: find or register a patient with their phones and race/ethnicity.

`patient_race_set` is the only writer of `PatientRaceEthnicity` rows: it keeps
`Patient.race_group` and `race_ethnicity_source` equal to what the rows say
(tests/project/test_race_writers.py); the bulk FHIR import's new patients get the
same through `new_patient_race_prepare` and `new_patients_race_rows_create`, here too.

Whether the language was asked (`language_status`) follows from the input: a language
given is "recorded"; none given is "not asked" (the stored language keeps its "en"
placeholder); "declined" and "unknown" are said explicitly. An answer whose source is
not given is "ehr_unstated" (nobody said who answered); no answer has no source.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from config.bulk_copy import objects_copy, rows_copy
from config.model_clean import FieldsCleaner
from patients.models import (
    Clinic,
    DemographicSource,
    LanguageStatus,
    Patient,
    PatientPhone,
    PatientRaceEthnicity,
    PhoneType,
    RaceEthnicity,
    race_group_of,
)
from patients.mrn import mrn_normalise, patient_with_mrn_for_update
from patients.names import name_normalise
from patients.phones import phone_e164

EXCLUSIVE_RACE_ANSWERS = {RaceEthnicity.DECLINED, RaceEthnicity.UNKNOWN}
# Also the referral upload's request-time check (patients.uploads.parse): the same words.
EXCLUSIVE_RACE_MESSAGE = "“Declined” and “unknown” cannot be combined with a category."
# The choices' values, built once (`Choices.values` builds a list at every call; the
# bulk imports check several per row).
RACE_CATEGORIES = frozenset(RaceEthnicity.values)
DEMOGRAPHIC_SOURCES = frozenset(DemographicSource.values)
LANGUAGE_STATUSES = frozenset(LanguageStatus.values)
PHONE_TYPES = frozenset(PhoneType.values)


@dataclass
class PhoneInput:
    number: str
    kind: str = PhoneType.MOBILE


@dataclass
class PatientInput:
    mrn: str
    given_name: str
    family_name: str
    birth_date: dt.date
    sex: str
    # Empty: not asked (stored as the "en" placeholder with language_status "not_asked").
    preferred_language: str = ""
    # Empty: "recorded" when a language is given, else "not_asked".
    language_status: str = ""
    # Who answered (DemographicSource); empty: not stated.
    language_source: str = ""
    # Empty: letters and texts in the preferred (spoken) language.
    written_language: str = ""
    english_proficiency: str = "unknown"
    interpreter_needed: bool = False
    race_ethnicity: list[str] = field(default_factory=list)
    race_ethnicity_source: str = ""
    phones: list[PhoneInput] = field(default_factory=list)
    sms_consent: bool = False
    # When the patient is easiest to reach, in words ("weekday mornings", "after 6").
    best_contact_times: str = ""
    email: str = ""
    address_line1: str = ""
    address_line2: str = ""
    city: str = ""
    state: str = ""
    postal_code: str = ""
    time_zone: str = ""
    insurance_type: str = "unknown"
    smoking_status: str = "unknown"
    smoking_pack_years: int | None = None


def _validate_race_ethnicity(values: list[str]) -> list[str]:
    unknown = [v for v in values if v not in RACE_CATEGORIES]
    if unknown:
        raise ValidationError(
            {"race_ethnicity": f"Unknown categories: {', '.join(map(str, unknown))}."}
        )
    chosen = list(dict.fromkeys(values))
    if len(chosen) > 1 and EXCLUSIVE_RACE_ANSWERS & set(chosen):
        raise ValidationError({"race_ethnicity": EXCLUSIVE_RACE_MESSAGE})
    return chosen


def answer_source(source: str, *, answered: bool, field_name: str) -> str:
    """The source to store: none without an answer; "ehr_unstated" for an answer whose
    source nobody gave; refused when it is not a `DemographicSource`."""
    if source not in DEMOGRAPHIC_SOURCES:
        raise ValidationError({field_name: f"“{source}” is not a source of an answer."})
    if not answered:
        return DemographicSource.NEVER_RECORDED
    return source or DemographicSource.EHR_UNSTATED


def language_answer(data: PatientInput) -> tuple[str, str, str]:
    """(preferred_language, language_status, language_source) to store for the input."""
    language = data.preferred_language.strip().lower()
    status = data.language_status or (
        LanguageStatus.RECORDED if language else LanguageStatus.NOT_ASKED
    )
    if status not in LANGUAGE_STATUSES:
        raise ValidationError({"language_status": f"“{status}” is not a language status."})
    if status == LanguageStatus.RECORDED and not language:
        raise ValidationError({"preferred_language": "A recorded language needs its code."})
    if status != LanguageStatus.RECORDED and language:
        raise ValidationError(
            {
                "language_status": f"A language was given, so it is recorded, not “{status}”; "
                "leave the language empty when it was declined, unknown or not asked."
            }
        )
    source = answer_source(
        data.language_source,
        answered=status != LanguageStatus.NOT_ASKED,
        field_name="language_source",
    )
    # Not recorded: English stays as the placeholder that letters and calls fall back to.
    return language or "en", status, source


def _validate_phones(phones: list[PhoneInput]) -> list[tuple[str, str]]:
    cleaned: list[tuple[str, str]] = []
    for index, phone in enumerate(phones):
        e164 = phone_e164(phone.number) if phone.number else None
        if e164 is None:
            raise ValidationError(
                {"phones": f"Phone {index + 1}: “{phone.number}” is not a valid phone number."}
            )
        if phone.kind not in PHONE_TYPES:
            raise ValidationError(
                {"phones": f"Phone {index + 1}: “{phone.kind}” is not a phone type."}
            )
        if e164 not in {n for n, _ in cleaned}:
            cleaned.append((e164, phone.kind))
    return cleaned


def _written_language(data: PatientInput) -> str:
    """Blank when it is the spoken language: "the same as spoken" follows a later change."""
    written = data.written_language.strip().lower()
    return "" if written == (data.preferred_language.strip().lower() or "en") else written


@dataclass
class NewPatient:
    """An unsaved patient checked as `patient_find_or_create` checks one, with the race
    answers and phones to store beside it (the bulk import writes many at once)."""

    patient: Patient
    race_ethnicity: list[str]
    race_source: str
    phones: list[tuple[str, str]]


def patients_cleaner() -> FieldsCleaner:
    """What `patient_build` checks a patient with, remembering each field's answer per
    value: for a bulk import's batch, the referral import's (`patient_build`) and the
    FHIR bulk import's (`patients/fhir/bulk_write.py`); build one per batch: a birth
    date's check depends on the day."""
    # Not the clinic: the caller holds it, and checking it would cost a query a row.
    return FieldsCleaner(Patient, exclude=["clinic"])


def patient_build(
    *, clinic: Clinic, data: PatientInput, cleaner: FieldsCleaner | None = None
) -> NewPatient:
    """The patient `data` describes, unsaved and checked; ValidationError when refused.

    One writer's rules for every path: `patient_find_or_create` saves what this builds,
    the bulk referral import saves many with `bulk_create`, checking them with the
    batch's `cleaner` (`patients_cleaner`: the same checks as `full_clean`)."""
    race_ethnicity = _validate_race_ethnicity(data.race_ethnicity)
    race_source = answer_source(
        data.race_ethnicity_source,
        answered=bool(race_ethnicity),
        field_name="race_ethnicity_source",
    )
    language, language_status, language_source = language_answer(data)
    phones = _validate_phones(data.phones)
    mrn = mrn_normalise(data.mrn)
    if not mrn:
        raise ValidationError({"mrn": "An MRN is required."})
    patient = Patient(
        clinic=clinic,
        mrn=mrn,
        given_name=data.given_name.strip(),
        family_name=data.family_name.strip(),
        birth_date=data.birth_date,
        sex=data.sex,
        preferred_language=language,
        language_status=language_status,
        language_source=language_source,
        written_language=_written_language(data),
        english_proficiency=data.english_proficiency,
        interpreter_needed=data.interpreter_needed,
        sms_consent=data.sms_consent,
        sms_consent_at=timezone.now() if data.sms_consent else None,
        best_contact_times=" ".join(data.best_contact_times.split()),
        email=data.email,
        address_line1=data.address_line1,
        address_line2=data.address_line2,
        city=data.city,
        state=data.state,
        postal_code=data.postal_code,
        insurance_type=data.insurance_type,
        smoking_status=data.smoking_status,
        smoking_pack_years=data.smoking_pack_years,
    )
    if data.time_zone:
        patient.time_zone = data.time_zone
    # full_clean checks choices, the language code, the time zone and the birth date
    # (not the clinic: the caller holds it, and checking it would cost a query a row).
    if cleaner is not None:
        cleaner.full_clean(patient)
    else:
        patient.full_clean(exclude=["clinic"], validate_unique=False, validate_constraints=False)
    return NewPatient(patient, race_ethnicity, race_source, phones)


def patients_bulk_create(*, new: Sequence[NewPatient]) -> None:
    """Save many built patients in three statements: the patients (with the race group
    and source `patient_race_set` would give them), their race answers, their phones
    (COPY on PostgreSQL, with the patients' keys reserved in one more query).

    An MRN registered meanwhile raises IntegrityError: the caller's transaction rolls
    back and it looks the patients up again."""
    for item in new:
        if item.race_ethnicity:  # none: the defaults already say "not recorded"
            item.patient.race_group = race_group_of(item.race_ethnicity)
            item.patient.race_ethnicity_source = item.race_source
    objects_copy([item.patient for item in new])
    # Rows rather than instances: nobody reads them back, and building one costs more
    # than sending it.
    rows_copy(
        PatientRaceEthnicity,
        ["patient_id", "category"],
        [(item.patient.pk, category) for item in new for category in item.race_ethnicity],
    )
    rows_copy(
        PatientPhone,
        ["patient_id", "number", "kind", "rank"],
        [
            (item.patient.pk, number, kind, rank)
            for item in new
            for rank, (number, kind) in enumerate(item.phones)
        ],
        # Checked and in E.164 (`_validate_phones`): what the field stores in that format.
        prepared=["number"] if settings.PHONENUMBER_DB_FORMAT == "E164" else [],
    )


def patient_mismatch_error(*, clinic: Clinic, existing: Patient, data: PatientInput) -> str:
    """Why `data` may not be the clinic's patient `existing` (same MRN), or ""."""
    if (
        name_normalise(existing.given_name) != name_normalise(data.given_name)
        or name_normalise(existing.family_name) != name_normalise(data.family_name)
        or existing.birth_date != data.birth_date
    ):
        return (
            f"MRN {mrn_normalise(data.mrn)} at {clinic} belongs to a patient with a different "
            "name or birth date. Check the MRN, or correct the patient's record first."
        )
    return ""


def patient_input_check(*, data: PatientInput) -> None:
    """The checks of the input that `patient_find_or_create` makes before matching a
    stored patient (phones, race answers, language), for a caller checking a row
    without writing: ValidationError."""
    _validate_phones(data.phones)
    _validate_race_ethnicity(data.race_ethnicity)
    language_answer(data)


def patient_find_or_create(*, clinic: Clinic, data: PatientInput) -> tuple[Patient, bool]:
    """The clinic's patient with this MRN, or a new one: (patient, created).

    The same MRN at the same clinic is the same patient, never a duplicate,
    but only if name and birth date agree: an MRN that points at somebody
    else is refused rather than merged.
    """
    mrn = mrn_normalise(data.mrn)
    if not mrn:
        raise ValidationError({"mrn": "An MRN is required."})
    existing = patient_with_mrn_for_update(clinic=clinic, mrn=mrn)
    if existing is not None:
        # The same checks of the input as for a new patient, then the match.
        phones = _validate_phones(data.phones)
        _validate_race_ethnicity(data.race_ethnicity)
        language_answer(data)
        mismatch = patient_mismatch_error(clinic=clinic, existing=existing, data=data)
        if mismatch:
            raise ValidationError({"mrn": mismatch}, code="mrn_conflict")
        known = set(existing.phones.values_list("number", flat=True))
        next_rank = existing.phones.count()
        for number, kind in phones:
            if number not in known:
                PatientPhone.objects.create(
                    patient=existing, number=number, kind=kind, rank=next_rank
                )
                next_rank += 1
        return existing, False

    new = patient_build(clinic=clinic, data=data)
    patient = new.patient
    try:
        with transaction.atomic():
            patient.save()
    except IntegrityError as error:
        # Another request created this MRN a moment ago.
        raise ValidationError(
            {"mrn": f"MRN {mrn} was just registered at {clinic}; submit again to refer them."}
        ) from error
    if new.race_ethnicity:  # none: a new patient's race_group is already "not recorded"
        patient_race_set(patient=patient, categories=new.race_ethnicity, source=new.race_source)
    PatientPhone.objects.bulk_create(
        [
            PatientPhone(patient=patient, number=number, kind=kind, rank=rank)
            for rank, (number, kind) in enumerate(new.phones)
        ]
    )
    return patient, True


def patient_race_set(*, patient: Patient, categories: Sequence[str], source: str) -> bool:
    """Make `categories` the patient's race/ethnicity answers, replacing the old ones,
    and set `race_group` and `race_ethnicity_source` from them in the same transaction.
    False when nothing changed.

    An empty list means "never recorded" (and no source, whatever `source` says).
    `source` is a `DemographicSource`; empty with answers means nobody said who gave
    them ("ehr_unstated"), which never replaces a stated source of the same answers.
    Unknown categories, "declined"/"unknown" together with
    another answer, or an unknown source are refused and nothing changes.
    """
    chosen = _validate_race_ethnicity(list(categories))
    group = race_group_of(chosen)
    source = answer_source(source, answered=bool(chosen), field_name="race_ethnicity_source")
    # No savepoint of its own: a failure here undoes the caller's whole write.
    with transaction.atomic(savepoint=False):
        locked = (
            Patient.objects.select_for_update()
            .only("pk", "race_group", "race_ethnicity_source")
            .get(pk=patient.pk)
        )
        rows = PatientRaceEthnicity.objects.filter(patient=locked)
        current = set(rows.values_list("category", flat=True))
        if current == set(chosen) and source == DemographicSource.EHR_UNSTATED:
            # The same answers from a record that does not say who gave them: what we
            # were told of their source still holds.
            source = locked.race_ethnicity_source or source
        stored = (locked.race_group, locked.race_ethnicity_source)
        if current == set(chosen) and stored == (group, source):
            patient.race_group, patient.race_ethnicity_source = group, source
            return False
        if current - set(chosen):
            rows.exclude(category__in=chosen).delete()
        added = [
            PatientRaceEthnicity(patient=locked, category=c) for c in chosen if c not in current
        ]
        if added:
            PatientRaceEthnicity.objects.bulk_create(added)
        if stored != (group, source):
            Patient.objects.filter(pk=locked.pk).update(
                race_group=group, race_ethnicity_source=source, updated_at=timezone.now()
            )
    patient.race_group, patient.race_ethnicity_source = group, source
    return True


def new_patient_race_prepare(*, patient: Patient, categories: Sequence[str]) -> list[str]:
    """Set an unsaved patient's `race_group` and `race_ethnicity_source` as `patient_race_set`
    would for `categories` told by a record that does not say who answered; the
    categories to store with `new_patients_race_rows_create` once it is saved. The bulk
    FHIR import does this for a batch of new patients at once. Raises ValidationError
    as `patient_race_set` does."""
    chosen = _validate_race_ethnicity(list(categories))
    patient.race_group = race_group_of(chosen)
    patient.race_ethnicity_source = answer_source(
        DemographicSource.EHR_UNSTATED, answered=bool(chosen), field_name="race_ethnicity_source"
    )
    return chosen


def new_patients_race_rows_create(*, answers: Sequence[tuple[Patient, Sequence[str]]]) -> None:
    """The race/ethnicity rows of patients just created with `new_patient_race_prepare`,
    in one INSERT."""
    rows = [PatientRaceEthnicity(patient=p, category=c) for p, chosen in answers for c in chosen]
    if rows:
        PatientRaceEthnicity.objects.bulk_create(rows)
