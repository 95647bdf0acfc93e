"""map_patient's cached phone parse answers as phonenumber_field's own parse does."""

from __future__ import annotations

import phonenumbers
import pytest
from django.db import connection
from django.test import override_settings
from phonenumber_field.phonenumber import to_python

from patients.fhir.bulk_insert import _preparer
from patients.fhir.bulk_write import PHONES_PREPARED
from patients.fhir.patient_mapping import map_patient, phone_e164
from patients.models import PatientPhone
from tests.support.fhir import patient_resource

NUMBERS = ["+16175550100", "(617) 555-0100", "617-555-0100", "555", "not a number",
           "+44 20 7946 0958", "+1 617 555 0100 ext. 12", "0"]  # fmt: skip


@pytest.mark.parametrize("value", NUMBERS)
def test_the_cached_parse_is_the_field_parse(value):
    number = to_python(value)
    expected = str(number.as_e164) if number is not None and number.is_valid() else None
    for _ in range(2):  # the first call fills the cache, the second reads it
        assert phone_e164(value, "US") == expected


def test_the_region_is_part_of_the_key(settings):
    phone_e164.cache_clear()
    settings.PHONENUMBER_DEFAULT_REGION = "US"
    assert phone_e164("(617) 555-0100", "US") == "+16175550100"
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


def test_the_mappings_numbers_are_stored_as_they_are(settings):
    # The bulk insert passes the mapping's numbers (phone_e164) to the number column as
    # they are (PHONES_PREPARED): the field's own preparation gives each back unchanged.
    assert settings.PHONENUMBER_DB_FORMAT == "E164"
    assert PHONES_PREPARED == ("number",)
    field = PatientPhone._meta.get_field("number")
    numbers = example_numbers()
    assert len(numbers) > 2000
    stored = 0
    for value, region in numbers:
        with override_settings(PHONENUMBER_DEFAULT_REGION=region):
            e164 = phone_e164(value, region)
        if e164 is None:
            continue
        assert field.get_db_prep_save(e164, connection) == e164, (value, region)
        assert _preparer(field)(e164) == e164
        stored += 1
    assert stored > 2000
