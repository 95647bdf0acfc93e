"""map_patient's cached phone parse answers as phonenumber_field's own parse does."""

from __future__ import annotations

import pytest
from phonenumber_field.phonenumber import to_python

from patients.fhir.patient_mapping import map_patient, phone_e164
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
