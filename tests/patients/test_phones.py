"""`phone_e164` (the remembered phone check of the referral import and of the FHIR
mapping) answers what phonenumber_field's own parse and `is_valid` answer, first call or
remembered, in every region, and a valid number's E.164 form reads back as itself (what
it remembers beside the text) and is what the number field stores."""

from __future__ import annotations

import itertools

import phonenumbers
import pytest
from django.db import connection
from django.test import override_settings
from phonenumber_field.phonenumber import to_python

from patients import phones
from patients.fhir.bulk_insert import _preparer
from patients.fhir.bulk_write import PHONES_PREPARED
from patients.fhir.patient_mapping import map_patient
from patients.models import PatientPhone
from patients.phones import phone_e164
from tests.support.fhir import patient_resource

NUMBERS = [
    "+16175550100", "(617) 555-0100", "617-555-0100", "617.555.0100", "6175550100",
    "1 617 555 0100", "+1 (617) 555-0100", "555", "555-0100", "not a number", "0",
    "+44 20 7946 0958", "020 7946 0958", "+1 617 555 0100 ext. 12", "+33 1 42 68 53 00",
    "(212) 555-1234", "(800) 555-0199", "(617) 555-01000", "+999 123", "++1617", "617555",
    "(617) 555-O100", "+1-617-555-0100 x7", "+5511987654321", "11 98765-4321", " 617 555 0100 ",
    "+16175550100\u200b", "+1 202 555 0123", "(000) 555-0100", "(617) 055-0100",
]  # fmt: skip


def expected(text: str) -> str | None:
    number = to_python(text)
    return str(number.as_e164) if number is not None and number.is_valid() else None


@pytest.mark.parametrize("region", ["US", "GB", "BR"])
def test_the_remembered_check_is_the_field_check(settings, region):
    settings.PHONENUMBER_DEFAULT_REGION = region
    phones._checked.clear()
    areas = itertools.product((617, 212, 999), (0, 100, 9999))
    generated = [f"({area}) 555-{n:04d}" for area, n in areas]
    for text in NUMBERS + generated:
        for _ in range(2):  # the first call fills the memory, the second reads it
            assert phone_e164(text) == expected(text), text


@pytest.mark.parametrize("text", NUMBERS)
def test_a_valid_numbers_e164_reads_back_as_itself(text):
    e164 = expected(text)
    if e164 is None:
        return
    for region in ("US", "GB", "BR", None):
        assert phones.phone_e164_uncached(e164, region) == e164


def test_the_region_is_part_of_the_key(settings):
    phones._checked.clear()
    settings.PHONENUMBER_DEFAULT_REGION = "US"
    assert phone_e164("020 7946 0958") is None
    settings.PHONENUMBER_DEFAULT_REGION = "GB"
    assert phone_e164("020 7946 0958") == "+442079460958"


def test_the_memory_is_bounded(monkeypatch):
    phones._checked.clear()
    monkeypatch.setattr(phones, "CACHED_NUMBERS", 4)
    for n in range(20):
        assert phone_e164(f"(617) 555-{n:04d}") == f"+1617555{n:04d}"
        assert len(phones._checked) <= 5  # the limit, and a valid number's E.164 beside it


@pytest.mark.parametrize("text", NUMBERS)
def test_a_checked_number_is_what_the_field_stores(text):
    # patients_bulk_create sends a checked number as it is (rows_copy's `prepared`).
    from patients.models import PatientPhone

    e164 = expected(text)
    if e164 is None:
        return
    field = PatientPhone._meta.get_field("number")
    assert field.get_prep_value(e164) == e164


def test_the_mapping_reads_a_number_in_the_default_region(settings):
    # The FHIR mapping's numbers go through the same remembered check: a number first
    # read in one region is read again in another.
    phones._checked.clear()
    settings.PHONENUMBER_DEFAULT_REGION = "US"
    assert phone_e164("(617) 555-0100") == "+16175550100"
    assert phone_e164("020 7946 0958") is None
    settings.PHONENUMBER_DEFAULT_REGION = "GB"
    resource = patient_resource(telecom=[{"system": "phone", "value": "020 7946 0958"}])
    mapped, problems = map_patient(resource, "Patient")
    assert mapped is not None and mapped.phones == [("+442079460958", "mobile")]
    assert not [p for p in problems if "phone" in p["diagnostics"]]


def example_numbers() -> list[tuple[str, str]]:
    """(number as a person writes it, region) for every region's example numbers of every
    type, nationally and internationally formatted."""
    found = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in range(12):  # every PhoneNumberType
            number = phonenumbers.example_number_for_type(region, kind)
            if number is None:
                continue
            for style in (
                phonenumbers.PhoneNumberFormat.NATIONAL,
                phonenumbers.PhoneNumberFormat.INTERNATIONAL,
            ):
                found.append((phonenumbers.format_number(number, style), region))
    return found


def test_every_regions_numbers_are_checked_as_the_field_does_and_stored_as_they_are(settings):
    # The FHIR bulk insert passes the mapping's numbers (phone_e164) to the number column
    # as they are (PHONES_PREPARED): the field's own preparation gives each back unchanged.
    assert settings.PHONENUMBER_DB_FORMAT == "E164"
    assert PHONES_PREPARED == ("number",)
    field = PatientPhone._meta.get_field("number")
    numbers = example_numbers()
    assert len(numbers) > 2000
    stored = 0
    phones._checked.clear()
    for value, region in numbers:
        with override_settings(PHONENUMBER_DEFAULT_REGION=region):
            for _ in range(2):  # the first call fills the memory, the second reads it
                e164 = phone_e164(value)
                assert e164 == expected(value), (value, region)
        if e164 is None:
            continue
        assert field.get_db_prep_save(e164, connection) == e164, (value, region)
        assert _preparer(field)(e164) == e164
        stored += 1
    assert stored > 2000
