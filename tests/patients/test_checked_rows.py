"""The checked rows the request stores for the import job read back as the rows the file
gives (every field, over many kinds of rows), and a job stored by an earlier version (the
file itself) is still read."""

from __future__ import annotations

import pytest

from patients.models import ScreeningProgram
from patients.uploads.checked_rows import FORMAT, rows_dump, rows_load, rows_stored
from patients.uploads.parse import referral_upload_parse
from tests.patients.test_referral_upload import csv_bytes, good_row

pytestmark = pytest.mark.django_db

VARIANTS = [
    {},
    {"preferred_language": "", "interpreter_needed": "no"},
    {"preferred_language": "declined"},
    {"preferred_language": "unknown", "written_language": "es"},
    {"written_language": "pt"},
    {"phone": "", "race_ethnicity": ""},
    {"phone": "+44 20 7946 0958", "phone_type": "home", "sms_consent": "yes"},
    {"race_ethnicity": "declined"},
    {"race_ethnicity": "Black; white ;black"},
    {"email": "Ana.Lima@Example.org", "sex": "Male"},
    {"eligibility_override_reason": "Family history, age 42", "birth_date": "1984-02-29"},
    {"given_name": "José  Émile", "family_name": "Ō'Brien-Núñez", "mrn": " mrn-77 "},
    {"reason": 'Line one\nline two, "quoted" ✓', "referring_clinician": "Dr. 李"},
    {"program": "CERVICAL", "sex": "female"},
    {"program": "breast"},
    # Bad rows: not stored (their errors are the job's already).
    {"birth_date": "1900-13-01"},
    {"phone": "555"},
    {"program": "nope"},
]


def test_the_stored_rows_read_back_as_the_files_rows():
    rows = [good_row(n, **VARIANTS[n % len(VARIANTS)]) for n in range(3 * len(VARIANTS))]
    parsed = referral_upload_parse(file_bytes=csv_bytes(rows), filename="r.csv")
    assert parsed.errors and len(parsed.rows) > 2 * len(VARIANTS)

    stored = rows_dump(parsed.rows)

    assert stored.startswith(FORMAT)
    assert rows_load(stored) == parsed.rows  # every field of every row, programs too
    assert rows_stored(stored, "r.csv") == parsed.rows


def test_a_file_stored_by_an_earlier_version_is_read_and_checked_again():
    content = csv_bytes([good_row(1), good_row(2, phone="555"), good_row(3)])

    rows = rows_stored(content, "r.csv")

    assert rows == referral_upload_parse(file_bytes=content).rows
    assert [row.line for row in rows] == [2, 4]


def test_a_row_whose_program_was_deleted_since_is_left_out_as_before():
    program = ScreeningProgram.objects.get(code="colorectal")
    program.pk, program.code, program.name = None, "gone", "Gone"
    program.save()
    rows = [good_row(1), good_row(2, program="gone")]
    stored = rows_dump(referral_upload_parse(file_bytes=csv_bytes(rows)).rows)
    program.delete()

    assert [row.line for row in rows_load(stored)] == [2]
