"""A phone number as stored (E.164), checked once per distinct text.

`phone_e164` answers what `phonenumber_field`'s `to_python(text)`, then `is_valid()`
and `as_e164`, answer, remembered: `phonenumbers` costs about 0.15 ms a number, and a
referral import checks each row's number twice (when the file is read, then as
`patient_build` checks a new patient's phones, by then in E.164), over files of up to
100,000 rows that repeat numbers (a clinic's shared lines); the FHIR mapping
(`patients/fhir/patient_mapping.py`) reads a feed Patient's numbers with it too.
"""

from __future__ import annotations

from django.conf import settings
from phonenumber_field.phonenumber import to_python as to_phone_number

# Bounded: a worker checks many files in its life (an entry is about 200 bytes).
CACHED_NUMBERS = 200_000
_checked: dict[tuple[str, str | None], str | None] = {}


def phone_e164(text: str) -> str | None:
    """`text` (not empty) as E.164 when it is a valid phone number (read in the default
    region when it has no country code), else None."""
    region = getattr(settings, "PHONENUMBER_DEFAULT_REGION", None)
    try:
        return _checked[text, region]
    except KeyError:
        pass
    if len(_checked) >= CACHED_NUMBERS:
        _checked.clear()
    e164 = phone_e164_uncached(text, region)
    _checked[text, region] = e164
    if e164 is not None:
        # A valid number's E.164 form reads back as itself, valid (an E.164 text
        # carries its country: the region plays no part; tests/patients/test_phones.py).
        _checked[e164, region] = e164
    return e164


def phone_e164_uncached(text: str, region: str | None) -> str | None:
    """What `phone_e164` remembers: phonenumber_field's own answer."""
    number = to_phone_number(text, region=region)
    if number is None or not number.is_valid():
        return None
    return str(number.as_e164)
