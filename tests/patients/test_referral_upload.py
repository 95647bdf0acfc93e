"""Bulk referral upload: every row checked, both modes, duplicates, bad files, who may upload.

The upload is checked in its request (202, or 400 with nothing written) and imported by
a job; `upload()` and `page_post()` run the queued job as a worker would and answer
what the client then reads: the job (API) or the job's page."""

from __future__ import annotations

import csv
import io
import logging
import threading

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from navigator.cases import case_transition
from navigator.intake.referral_uploads import referrals_upload
from navigator.models import CaseStatus, NavigationCase
from patients.models import Patient, Referral, ReferralUpload
from patients.uploads import parse
from patients.uploads.parse import referral_upload_parse
from patients.uploads.template import COLUMNS, REQUIRED
from tests.factories import (
    ClinicFactory,
    ClinicStaffFactory,
    ManagerFactory,
    NavigatorFactory,
    PatientFactory,
)
from tests.support.api import api_as
from tests.support.audit import AUDIT_QUERIES_NO_PATIENTS

pytestmark = pytest.mark.django_db

UPLOAD = "/api/referrals/upload/"
TEMPLATE = "/api/referrals/upload/template/"
PAGE = reverse("patients:referral_upload")
PAGE_TEMPLATE = reverse("patients:referral_upload_template")
MODES = ["all_or_nothing", "good_rows"]


def years_ago(years: int) -> str:
    today = timezone.localdate()
    return today.replace(year=today.year - years, day=min(today.day, 28)).isoformat()


def good_row(number: int, **overrides: str) -> dict[str, str]:
    row = {
        "mrn": f"MRN{number:04d}",
        "given_name": "Ana",
        "family_name": f"Lima{number}",
        "birth_date": years_ago(58),
        "sex": "female",
        "program": "colorectal",
        "referring_clinician": "Dr. Patel",
        "reason": "Overdue",
        "preferred_language": "pt",
        "interpreter_needed": "yes",
        "phone": "(617) 555-0142",
        "phone_type": "mobile",
        "sms_consent": "no",
        "email": "",
        "race_ethnicity": "hispanic;white",
    }
    row.update(overrides)
    return row


def csv_bytes(
    rows: list[dict[str, str]], columns: tuple[str, ...] | list[str] = COLUMNS, encoding="utf-8"
) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def upload(user, content: bytes, mode: str = "all_or_nothing", filename="referrals.csv", **extra):
    """POST the file; when it is accepted (202), run its job (the task queued on commit,
    eager in tests) and answer the job as GET reads it afterwards."""
    data = {"file": SimpleUploadedFile(filename, content, "text/csv"), "mode": mode, **extra}
    client = api_as(user)
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post(UPLOAD, data, format="multipart")
    if response.status_code != 202:
        return response
    assert response["Location"] == response.json()["url"]
    assert response.json()["status"] == "queued"
    return client.get(response["Location"])


def counts() -> dict[str, int]:
    return {
        "referrals": Referral.objects.count(),
        "patients": Patient.objects.count(),
        "cases": NavigationCase.objects.count(),
        "uploads": ReferralUpload.objects.count(),
    }


@pytest.fixture
def staff(clinic):
    NavigatorFactory(languages=["pt", "en"])
    return ClinicStaffFactory(clinic=clinic)


# --- A good file -----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_a_good_file_creates_a_referral_a_patient_and_a_case_per_row(staff, clinic, mode):
    # Given a file of two good rows
    content = csv_bytes([good_row(1), good_row(2)])

    # When clinic staff upload it, in either mode
    response = upload(staff, content, mode=mode)

    # Then each row is a referral, a patient and a case, and the upload is recorded
    assert response.status_code == 200, response.content
    body = response.json()
    assert {k: body[k] for k in ("clinic", "mode", "rows", "created", "duplicates", "errors")} == {
        "clinic": clinic.code,
        "mode": mode,
        "rows": 2,
        "created": 2,
        "duplicates": 0,
        "errors": [],
    }
    assert counts() == {"referrals": 2, "patients": 2, "cases": 2, "uploads": 1}
    patient = Patient.objects.get(mrn="MRN0001")
    assert patient.clinic == clinic
    assert patient.preferred_language == "pt"
    assert patient.interpreter_needed is True
    assert patient.phones.get().number.as_e164 == "+16175550142"
    assert sorted(patient.race_ethnicities.values_list("category", flat=True)) == [
        "hispanic",
        "white",
    ]
    referral = patient.referrals.get()
    assert referral.upload_id == body["id"]
    assert len(referral.upload_key) == 64
    assert referral.referring_clinician == "Dr. Patel"
    assert ReferralUpload.objects.get().uploaded_by == staff


def test_columns_may_come_in_any_order_with_any_case_and_spacing_and_optional_ones_left_out(staff):
    # Given a header in another order, capitalised and padded, with only the required columns
    columns = list(reversed(REQUIRED))
    header = ",".join(f" {c.upper()} " for c in columns)
    row = good_row(1, given_name="  Rosa  ")
    content = (header + "\n" + ",".join(row[c] for c in columns) + "\n").encode()

    # When it is uploaded
    response = upload(staff, content)

    # Then it is read, values stripped, optional fields at their defaults
    assert response.status_code == 200, response.content
    patient = Patient.objects.get()
    assert patient.given_name == "Rosa"
    assert patient.preferred_language == "en"
    assert patient.interpreter_needed is False
    assert not patient.phones.exists()


# --- Bad rows --------------------------------------------------------------------------------

BAD_ROWS = [
    ({"phone": "12"}, "phone", "“12” is not a valid phone number."),
    ({"birth_date": "31/02/1970"}, "birth_date", "“31/02/1970” is not a date in YYYY-MM-DD form."),
    ({"birth_date": "19680430"}, "birth_date", "not a date in YYYY-MM-DD form"),
    ({"birth_date": "1970-02-31"}, "birth_date", "“1970-02-31” is not a real date."),
    ({"birth_date": "2999-01-01"}, "birth_date", "The birth date is in the future."),
    ({"program": "skin"}, "program", "“skin” is not a program code"),
    ({"sex": "f"}, "sex", "“f” is not one of female, male, other, unknown."),
    ({"preferred_language": "zz"}, "preferred_language", "not an ISO 639 language code"),
    ({"race_ethnicity": "martian"}, "race_ethnicity", "Not a category: martian"),
    # The rule a single referral applies (patients.services.patients), checked at once.
    ({"race_ethnicity": "declined;white"}, "race_ethnicity", "cannot be combined"),
    ({"interpreter_needed": "maybe"}, "interpreter_needed", "“maybe” is not yes or no."),
    ({"sms_consent": "si"}, "sms_consent", "“si” is not yes or no."),
    ({"phone_type": "pager"}, "phone_type", "“pager” is not one of mobile, home, work."),
    ({"email": "nope"}, "email", "“nope” is not an email address."),
    ({"referring_clinician": "x" * 201}, "referring_clinician", "At most 200 characters"),
    ({"mrn": "M" * 65}, "mrn", "At most 64 characters"),
    *[({column: ""}, column, f"{column} is required.") for column in REQUIRED],
]
# Refused by the rules of referral_create, not by the parser: checked by the job over
# every row before it writes anything.
SERVICE_BAD_ROWS = [
    ({"birth_date": years_ago(30)}, "program", "ages 45"),
]


@pytest.mark.parametrize(("change", "column", "message"), BAD_ROWS)
def test_all_or_nothing_names_the_line_and_column_of_a_bad_row_and_writes_nothing(
    staff, change, column, message
):
    # Given a file whose second row (line 3) is bad
    content = csv_bytes([good_row(1), good_row(2, **change), good_row(3)])
    before = counts()

    # When it is uploaded, all or nothing
    response = upload(staff, content, mode="all_or_nothing")

    # Then nothing is written and the answer names line 3, the column and the reason
    assert response.status_code == 400
    body = response.json()
    assert body["detail"] == "Nothing was imported: 1 of 3 rows has problems."
    assert body["rows"] == 3
    assert [(e["line"], e["column"]) for e in body["errors"]] == [(3, column)]
    assert message in body["errors"][0]["message"]
    assert counts() == before


@pytest.mark.parametrize(("change", "column", "message"), SERVICE_BAD_ROWS)
def test_all_or_nothing_job_refuses_a_row_the_single_referral_rules_refuse_and_writes_nothing(
    staff, change, column, message
):
    # Given a file whose second row (line 3) a single referral would refuse
    content = csv_bytes([good_row(1), good_row(2, **change), good_row(3)])
    before = counts()

    # When it is uploaded, all or nothing, and its job runs
    response = upload(staff, content, mode="all_or_nothing")

    # Then the job failed naming line 3, the column and the reason, and wrote nothing else
    body = response.json()
    assert (response.status_code, body["status"]) == (200, "failed")
    assert body["detail"] == "Nothing was imported: 1 of 3 rows has problems."
    assert (body["rows"], body["created"]) == (3, 0)
    assert [(e["line"], e["column"]) for e in body["errors"]] == [(3, column)]
    assert message in body["errors"][0]["message"]
    assert counts() == {**before, "uploads": before["uploads"] + 1}


def test_all_or_nothing_lists_every_bad_row_in_line_order(staff):
    # Given bad rows on lines 2 and 4, one of them wrong twice
    rows = [good_row(1, sex="x"), good_row(2), good_row(3, phone="1", birth_date="soon")]

    # When it is uploaded
    response = upload(staff, csv_bytes(rows))

    # Then every problem is listed, by line
    body = response.json()
    assert body["detail"] == "Nothing was imported: 2 of 3 rows have problems."
    assert [(e["line"], e["column"]) for e in body["errors"]] == [
        (2, "sex"),
        (4, "birth_date"),
        (4, "phone"),
    ]


def test_all_or_nothing_rolls_back_good_rows_when_a_later_row_fails_inside_referral_create(
    staff, clinic
):
    # Given a known patient whose MRN a later row gives to somebody else
    PatientFactory(clinic=clinic, mrn="MRN0003", given_name="Rosa")
    before = counts()
    rows = [good_row(1), good_row(2), good_row(3), good_row(4)]

    # When the file is uploaded all or nothing
    response = upload(staff, csv_bytes(rows), mode="all_or_nothing")

    # Then the conflict is a row error, and the rows before it were never written
    assert response.json()["status"] == "failed"
    [error] = response.json()["errors"]
    assert (error["line"], error["column"]) == (4, "mrn")
    assert "different name or birth date" in error["message"]
    assert counts() == {**before, "uploads": before["uploads"] + 1}


def test_good_rows_imports_the_good_rows_and_lists_the_bad_ones(staff):
    # Given a file whose line 3 is bad twice over
    rows = [good_row(1), good_row(2, phone="12", birth_date="x"), good_row(3)]

    # When it is uploaded, good rows only
    response = upload(staff, csv_bytes(rows), mode="good_rows")

    # Then the good rows are imported and the bad one is listed, and kept with the upload
    body = response.json()
    assert response.status_code == 200
    assert (body["rows"], body["created"], body["duplicates"]) == (3, 2, 0)
    assert {(e["line"], e["column"]) for e in body["errors"]} == {(3, "phone"), (3, "birth_date")}
    assert sorted(Patient.objects.values_list("mrn", flat=True)) == ["MRN0001", "MRN0003"]
    assert ReferralUpload.objects.get().errors == body["errors"]


def test_good_rows_turns_a_row_refused_by_referral_create_into_a_row_error(staff, clinic):
    # Given a known patient whose MRN the second row gives to somebody else
    PatientFactory(clinic=clinic, mrn="MRN0002", given_name="Rosa")

    # When the file is uploaded, good rows only
    response = upload(staff, csv_bytes([good_row(1), good_row(2), good_row(3)]), mode="good_rows")

    # Then that row is an error on its line, the others are imported, Rosa is untouched
    body = response.json()
    assert response.status_code == 200
    assert [(e["line"], e["column"]) for e in body["errors"]] == [(3, "mrn")]
    assert body["created"] == 2
    assert Patient.objects.get(mrn="MRN0002").given_name == "Rosa"
    assert not Referral.objects.filter(patient__mrn="MRN0002").exists()


def test_good_rows_with_no_good_row_is_refused_and_writes_nothing(staff):
    before = counts()

    response = upload(
        staff, csv_bytes([good_row(1, sex="?"), good_row(2, program="?")]), "good_rows"
    )

    assert response.status_code == 400
    assert response.json()["detail"] == "Nothing was imported: every row has a problem."
    assert len(response.json()["errors"]) == 2
    assert counts() == before


def test_a_row_with_more_cells_than_the_header_is_a_row_error(staff):
    content = csv_bytes([good_row(1)]) + b",".join([b"x"] * (len(COLUMNS) + 1)) + b"\n"

    response = upload(staff, content, mode="good_rows")

    assert response.status_code == 200
    [error] = response.json()["errors"]
    assert error["line"] == 3
    assert f"{len(COLUMNS) + 1} cells; the header names {len(COLUMNS)} columns" in error["message"]


def test_line_numbers_count_comment_lines_blank_lines_and_cells_spanning_lines(staff):
    # Given a comment line, a blank line and a reason spanning two lines before a bad row
    header = csv_bytes([])
    body = csv_bytes([good_row(1, reason="first\nsecond"), good_row(2, sex="x")]).split(b"\n", 1)[1]
    content = header + b"# a comment,,\n\n" + body

    # When it is uploaded
    response = upload(staff, content, mode="good_rows")

    # Then the bad row is reported on its physical line: 1 header, 2 comment, 3 blank, 4-5, 6
    assert response.json()["created"] == 1
    assert [e["line"] for e in response.json()["errors"]] == [6]
    assert Referral.objects.get().reason == "first\nsecond"


# --- Duplicates ------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_uploading_the_same_file_again_creates_nothing_and_counts_duplicates(staff, mode):
    # Given a file already uploaded
    content = csv_bytes([good_row(1), good_row(2)])
    assert upload(staff, content, mode=mode).status_code == 200
    before = counts()

    # When the same file is uploaded again
    response = upload(staff, content, mode=mode)

    # Then no referral, patient or case is created: every row is a duplicate, not an error
    assert response.status_code == 200
    body = response.json()
    assert (body["created"], body["duplicates"], body["errors"]) == (0, 2, [])
    assert counts() == {**before, "uploads": before["uploads"] + 1}
    assert ReferralUpload.objects.order_by("pk").last().duplicate_count == 2


def test_the_same_rows_written_differently_are_still_duplicates(staff):
    upload(staff, csv_bytes([good_row(1)]))
    before = counts()
    respelled = good_row(
        1,
        mrn=" mrn0001 ",
        given_name="ANA",
        phone="+1 617-555-0142",
        interpreter_needed="Yes",
        race_ethnicity="white; Hispanic",
        preferred_language="PT",
    )

    response = upload(staff, csv_bytes([respelled]))

    assert response.json()["duplicates"] == 1
    assert counts()["referrals"] == before["referrals"]


def test_a_row_repeated_within_one_file_is_imported_once(staff):
    response = upload(staff, csv_bytes([good_row(1), good_row(1)]))

    assert (response.json()["created"], response.json()["duplicates"]) == (1, 1)
    assert Referral.objects.count() == 1


def test_after_importing_the_good_rows_the_fixed_file_imports_only_the_fixed_row(staff):
    # Given a file imported good-rows-only with one bad row
    rows = [good_row(1), good_row(2, phone="12"), good_row(3)]
    upload(staff, csv_bytes(rows), mode="good_rows")

    # When the clinic fixes that row and uploads the whole file again
    rows[1] = good_row(2)
    response = upload(staff, csv_bytes(rows), mode="all_or_nothing")

    # Then only the fixed row is new
    assert (response.json()["created"], response.json()["duplicates"]) == (1, 2)
    assert Referral.objects.count() == 3


def test_a_changed_row_is_a_new_referral_of_the_same_patient_joining_the_open_case(staff):
    upload(staff, csv_bytes([good_row(1)]))

    response = upload(staff, csv_bytes([good_row(1, reason="Positive FIT")]))

    assert response.json()["created"] == 1
    assert (Referral.objects.count(), Patient.objects.count(), NavigationCase.objects.count()) == (
        2,
        1,
        1,
    )


def test_a_row_imported_before_is_skipped_after_its_case_closed_and_the_page_says_how_to_refer(
    client, staff
):
    # Given a referral imported from a file, whose case the patient then declined
    upload(staff, csv_bytes([good_row(1)]))
    case = NavigationCase.objects.get()
    case_transition(case=case, to_status=CaseStatus.DECLINED, actor=None, note="Declined")

    # When the clinic uploads the same file again
    response = upload(staff, csv_bytes([good_row(1)]))

    # Then the row is a duplicate (an old file sent twice refers nobody twice) ...
    assert (response.json()["created"], response.json()["duplicates"]) == (0, 1)
    assert NavigationCase.objects.get().status == CaseStatus.DECLINED
    # ... and the page says so, and how to refer the patient again
    client.force_login(staff)
    page = client.get(PAGE).content.decode()
    assert "even once that referral's case has closed" in page
    assert reverse("patients:referral_create") in page


# --- Unusable files --------------------------------------------------------------------------


def latin1_file() -> bytes:
    return csv_bytes([good_row(1), good_row(2, given_name="José")], encoding="latin-1")


def header_with(*columns: str) -> bytes:
    return (",".join(columns) + "\n").encode()


UNUSABLE_FILES = {
    "missing columns": (
        b"mrn,given_name,sex\nX,Y,female\n",
        1,
        "family_name, birth_date, program, referring_clinician",
        "Missing columns: family_name, birth_date, program, referring_clinician.",
    ),
    "an unknown column": (
        csv_bytes([good_row(1)], columns=[*COLUMNS, "ssn"]),
        1,
        "ssn",
        "Unknown columns: ssn.",
    ),
    "a column twice": (header_with(*COLUMNS, "mrn"), 1, "mrn", "Columns named twice: mrn."),
    "no header": (csv_bytes([good_row(1)]).split(b"\n", 1)[1], 1, "", "must be the header"),
    "semicolons": (header_with(*COLUMNS).replace(b",", b";"), 1, "", "uses semicolons"),
    "plain text": (b"Dear clinic,\nplease see attached.\n", 1, "", "must be the header"),
    "latin-1": (latin1_file(), 3, "", "The file is not UTF-8: line 3"),
    "UTF-16": (csv_bytes([good_row(1)], encoding="utf-16"), None, "", "UTF-16"),
    "an Excel workbook": (b"PK\x03\x04\x14\x00rest-of-zip", None, "", "not a CSV file"),
    "a NUL byte": (csv_bytes([good_row(1, given_name="A\x00B")]), 2, "", "NUL"),
    "nothing": (b"", None, "", "The file is empty."),
    "only spaces": (b"  \r\n \n", None, "", "The file is empty."),
    "only a header": (header_with(*COLUMNS), None, "", "The file has a header but no rows."),
    "only comments": (
        header_with(*COLUMNS) + b"# example,,,\n",
        None,
        "",
        "The file has a header but no rows.",
    ),
    "an unclosed quote": (
        csv_bytes([good_row(1), good_row(2)]) + b'MRN9,Ana,"Lima,1968-04-30\r\nMRN10,Bo,Li\r\n',
        4,
        "",
        'A quote (") opened on line 4 is never closed.',
    ),
    "text after a closing quote": (
        csv_bytes([good_row(1)]).replace(b"Dr. Patel", b'"Dr." Patel'),
        2,
        "",
        "Line 2 is not readable CSV",
    ),
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("content", "line", "column", "message"),
    list(UNUSABLE_FILES.values()),
    ids=list(UNUSABLE_FILES),
)
def test_an_unusable_file_is_refused_naming_the_place_and_nothing_is_written(
    staff, mode, content, line, column, message
):
    before = counts()

    response = upload(staff, content, mode=mode)

    assert response.status_code == 400
    body = response.json()
    assert body["detail"].endswith("nothing was imported.")
    [error] = body["errors"]
    assert message in error["message"]
    assert error["line"] == line
    assert error["column"] == column
    assert counts() == before


def test_a_file_that_is_not_utf8_names_the_line_and_byte(staff):
    response = upload(staff, latin1_file())

    [error] = response.json()["errors"]
    offset = latin1_file().index("é".encode("latin-1")) + 1
    assert error["line"] == 3
    assert f"(0xE9, byte {offset} of the file)" in error["message"]
    assert "CSV UTF-8" in error["message"]


def test_a_file_named_like_a_spreadsheet_is_refused_as_not_a_csv(staff):
    response = upload(staff, csv_bytes([good_row(1)]), filename="referrals.xlsx")

    assert response.status_code == 400
    assert "A .xlsx file is not a CSV file." in response.json()["errors"][0]["message"]


def test_a_utf8_file_with_a_bom_is_read(staff):
    # Given a UTF-8 file with a byte-order mark, as Excel saves "CSV UTF-8"
    content = b"\xef\xbb\xbf" + csv_bytes([good_row(1, given_name="José")])

    # When it is uploaded
    response = upload(staff, content)

    # Then the first column is still "mrn" and the accent survives
    assert response.status_code == 200, response.content
    assert Patient.objects.get().given_name == "José"


def test_carriage_return_line_endings_are_read(staff):
    content = csv_bytes([good_row(1), good_row(2)]).replace(b"\r\n", b"\r")

    assert upload(staff, content).json()["created"] == 2


def test_a_file_over_the_row_limit_is_refused_before_anything_is_written(staff, monkeypatch):
    # Given a limit of two rows
    monkeypatch.setattr(parse, "MAX_ROWS", 2)
    before = counts()

    # When a file of three rows is uploaded, then one of two
    over = upload(staff, csv_bytes([good_row(1), good_row(2), good_row(3)]), "good_rows")
    after_refusal = counts()
    at_limit = upload(staff, csv_bytes([good_row(1), good_row(2)]), "good_rows")

    # Then the first is refused at its third row, with nothing written; the second is imported
    assert over.status_code == 400
    [error] = over.json()["errors"]
    assert error["line"] == 4
    assert "More than 2 rows" in error["message"]
    assert after_refusal == before
    assert at_limit.status_code == 200


def test_a_file_over_the_size_limit_is_refused(staff, monkeypatch):
    monkeypatch.setattr(parse, "MAX_BYTES", 100)
    monkeypatch.setattr("patients.api.upload.MAX_BYTES", 100)

    response = upload(staff, csv_bytes([good_row(1)]))

    assert response.status_code == 400
    assert "larger than" in response.json()["errors"][0]["message"]
    assert not Referral.objects.exists()


@pytest.mark.parametrize(
    ("data", "field"),
    [({"mode": "all_or_nothing"}, "file"), ({"mode": "some"}, "mode")],
)
def test_a_request_without_a_file_or_with_an_unknown_mode_is_a_field_error(staff, data, field):
    if field == "mode":
        data["file"] = SimpleUploadedFile("r.csv", csv_bytes([good_row(1)]), "text/csv")

    response = api_as(staff).post(UPLOAD, data, format="multipart")

    assert response.status_code == 400
    assert field in response.json()
    assert not Referral.objects.exists()


# --- Who may upload, and for which clinic ----------------------------------------------------


def test_clinic_staff_may_not_upload_for_another_clinic(staff):
    # Given another clinic
    other = ClinicFactory(code="south")

    # When clinic staff name it
    response = upload(staff, csv_bytes([good_row(1)]), clinic=other.code)

    # Then they are refused and nothing is written
    assert response.status_code == 400
    body = response.json()
    assert body["clinic"] == ["You can only upload referrals for your own clinic."]
    assert body["detail"] == "Nothing was imported: the request is invalid."
    assert body["errors"] == [
        {
            "line": None,
            "column": "clinic",
            "message": "You can only upload referrals for your own clinic.",
        }
    ]
    assert counts() == {"referrals": 0, "patients": 0, "cases": 0, "uploads": 0}


def test_clinic_staff_upload_for_their_own_clinic_named_or_not(staff, clinic):
    assert upload(staff, csv_bytes([good_row(1)])).status_code == 200
    assert upload(staff, csv_bytes([good_row(2)]), clinic=clinic.code).status_code == 200

    assert set(Referral.objects.values_list("clinic", flat=True)) == {clinic.pk}


def test_the_service_refuses_clinic_staff_another_clinics_upload(staff):
    with pytest.raises(ValidationError) as refused:
        referrals_upload(
            clinic=ClinicFactory(),
            actor=staff,
            file_bytes=csv_bytes([good_row(1)]),
            filename="r.csv",
            mode="good_rows",
        )

    assert "your own clinic" in str(refused.value)
    assert not ReferralUpload.objects.exists()


def test_a_manager_must_name_the_clinic(clinic):
    # Given a manager and a navigator to take the cases
    manager = ManagerFactory()
    NavigatorFactory(languages=["pt"])

    # When the manager uploads without naming a clinic, then with it
    unnamed = upload(manager, csv_bytes([good_row(1)]))
    named = upload(manager, csv_bytes([good_row(1)]), clinic=clinic.code)

    # Then the first is refused, the second lands at that clinic
    assert unnamed.status_code == 400
    assert "clinic" in unnamed.json()
    assert named.status_code == 200
    assert Referral.objects.get().clinic == clinic
    assert ReferralUpload.objects.get().uploaded_by == manager


def test_navigators_may_not_upload_or_download_the_template(clinic):
    navigator = NavigatorFactory().user

    assert upload(navigator, csv_bytes([good_row(1)])).status_code == 403
    assert api_as(navigator).get(TEMPLATE).status_code == 403
    assert not Referral.objects.exists()


def test_anonymous_requests_are_refused(clinic):
    data = {"file": SimpleUploadedFile("r.csv", csv_bytes([good_row(1)])), "mode": "good_rows"}

    assert APIClient().post(UPLOAD, data, format="multipart").status_code in {401, 403}
    assert not Referral.objects.exists()


# --- The template ----------------------------------------------------------------------------


def test_the_template_names_every_column_and_documents_each_in_comment_lines(staff):
    # When clinic staff download the template
    response = api_as(staff).get(TEMPLATE)

    # Then it is a CSV of the header, a line describing each column, and an example
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    header, guide, example = list(csv.reader(io.StringIO(response.content.decode())))
    assert tuple(header) == COLUMNS
    assert guide[0].startswith("#") and example[0].startswith("#")
    assert len(guide) == len(example) == len(COLUMNS)
    assert all(text.strip() for text in guide)
    described = dict(zip(header, guide, strict=True))
    assert "YYYY-MM-DD" in described["birth_date"]
    assert "colorectal" in described["program"]
    assert "ISO 639" in described["preferred_language"]
    assert "aian" in described["race_ethnicity"]


def test_the_template_with_rows_typed_below_its_comment_lines_imports_only_those_rows(staff):
    # Given the template, and a row typed below its comment lines
    template = api_as(staff).get(TEMPLATE).content
    alone = upload(staff, template)
    content = template + csv_bytes([good_row(1)]).split(b"\n", 1)[1]

    # When each is uploaded
    response = upload(staff, content)

    # Then the template alone has no rows, and the example is never imported
    assert alone.status_code == 400
    assert "no rows" in alone.json()["errors"][0]["message"]
    assert response.status_code == 200, response.content
    assert (response.json()["rows"], response.json()["created"]) == (1, 1)
    assert Patient.objects.get().mrn == "MRN0001"


# --- The page --------------------------------------------------------------------------------


def page_post(client, content: bytes, mode: str, **extra):
    """POST the file on the page; when it is accepted (sent to its job's page), run the
    job and answer that page as the browser then shows it."""
    file = SimpleUploadedFile("referrals.csv", content, "text/csv")
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post(PAGE, {"file": file, "mode": mode, **extra})
    if response.status_code != 302 or "/uploads/" not in response["Location"]:
        return response
    return client.get(response["Location"])


def test_the_page_offers_a_file_the_mode_and_the_template_to_clinic_staff(client, staff):
    client.force_login(staff)

    response = client.get(PAGE)

    page = response.content.decode()
    assert response.status_code == 200
    assert 'type="file"' in page and 'accept=".csv,text/csv"' in page
    assert "<legend" in page and "If some rows have problems" in page
    assert 'value="all_or_nothing"' in page and 'value="good_rows"' in page
    assert response.context["form"]["mode"].value() == "all_or_nothing"
    assert PAGE_TEMPLATE in page
    assert 'name="clinic"' not in page
    assert "Uploading for North Clinic" in page
    assert "<code>race_ethnicity</code>" in page
    assert "cdn" not in page.lower()


def test_the_page_imports_the_good_rows_and_lists_each_bad_one_with_its_line(client, staff):
    # Given clinic staff on the page, and a file whose line 3 has a bad phone
    client.force_login(staff)
    content = csv_bytes([good_row(1), good_row(2, phone="12"), good_row(3)])

    # When they upload it, good rows only
    response = page_post(client, content, "good_rows")

    # Then the counts and a table of the bad row with its line and reason are shown
    page = response.content.decode()
    assert response.status_code == 200
    assert "2 referrals imported" in page
    assert "3 rows read" in page
    assert response.context["row_errors"] == [
        {"line": 3, "column": "phone", "message": "“12” is not a valid phone number."}
    ]
    assert "<td>3</td><td><code>phone</code></td>" in page
    assert "“12” is not a valid phone number." in page
    assert Referral.objects.count() == 2


def test_the_page_refuses_a_file_with_a_bad_row_all_or_nothing_and_says_why(client, staff):
    client.force_login(staff)
    content = csv_bytes([good_row(1), good_row(2, birth_date="31/02/1970")])

    response = page_post(client, content, "all_or_nothing")

    page = response.content.decode()
    assert response.status_code == 400
    assert "Nothing was imported" in page
    assert "1 of 2 rows has problems" in page
    assert "<td>3</td><td><code>birth_date</code></td>" in page
    assert "“31/02/1970” is not a date in YYYY-MM-DD form." in page
    assert counts() == {"referrals": 0, "patients": 0, "cases": 0, "uploads": 0}


def test_the_page_explains_a_file_that_is_not_utf8(client, staff):
    client.force_login(staff)

    response = page_post(client, latin1_file(), "good_rows")

    assert response.status_code == 400
    assert "The file is not UTF-8: line 3" in response.content.decode()
    assert not Referral.objects.exists()


def test_the_page_says_so_when_every_row_was_imported_before(client, staff):
    client.force_login(staff)
    content = csv_bytes([good_row(1)])
    page_post(client, content, "all_or_nothing")

    response = page_post(client, content, "all_or_nothing")

    assert response.status_code == 200
    assert "0 referrals imported" in response.content.decode()
    assert "1 already imported by an earlier upload (skipped)" in response.content.decode()
    assert Referral.objects.count() == 1


def test_the_page_asks_for_a_file_when_none_is_sent(client, staff):
    client.force_login(staff)

    response = client.post(PAGE, {"mode": "good_rows"})

    assert response.status_code == 400
    assert response.context["form"].errors["file"]


def test_a_manager_chooses_the_clinic_on_the_page(client, clinic):
    # Given a manager on the page
    NavigatorFactory(languages=["pt"])
    client.force_login(ManagerFactory())
    assert 'name="clinic"' in client.get(PAGE).content.decode()

    # When they upload without a clinic, then for a clinic
    unnamed = page_post(client, csv_bytes([good_row(1)]), "good_rows")
    named = page_post(client, csv_bytes([good_row(1)]), "good_rows", clinic=clinic.pk)

    # Then the clinic is required, and the referrals land at the chosen one
    assert unnamed.status_code == 400
    assert unnamed.context["form"].errors["clinic"]
    assert named.status_code == 200
    assert Referral.objects.get().clinic == clinic


def test_clinic_staff_posting_another_clinic_on_the_page_still_upload_for_their_own(
    client, staff, clinic
):
    client.force_login(staff)
    other = ClinicFactory(code="south")

    page_post(client, csv_bytes([good_row(1)]), "good_rows", clinic=other.pk)

    assert Referral.objects.get().clinic == clinic


def test_navigators_may_not_open_the_page_and_strangers_are_sent_to_sign_in(client, clinic):
    assert client.get(PAGE).status_code == 302
    client.force_login(NavigatorFactory().user)

    assert client.get(PAGE).status_code == 403
    assert page_post(client, csv_bytes([good_row(1)]), "good_rows").status_code == 403
    assert client.get(PAGE_TEMPLATE).status_code == 403
    assert not Referral.objects.exists()


def test_the_page_serves_the_template_and_the_referral_list_links_to_the_page(client, staff):
    client.force_login(staff)

    template = client.get(PAGE_TEMPLATE)
    listing = client.get(reverse("patients:referral_list"))

    assert template.status_code == 200
    assert template.content == api_as(staff).get(TEMPLATE).content
    assert f'href="{PAGE}"' in listing.content.decode()


# --- Cost, logs and simultaneous uploads -----------------------------------------------------


def test_checking_a_file_costs_one_query_however_many_rows(staff, django_assert_num_queries):
    content = csv_bytes([good_row(n, sex="?" if n % 2 else "female") for n in range(40)])

    with django_assert_num_queries(1):  # the programs
        parsed = referral_upload_parse(file_bytes=content, filename="r.csv")

    assert (len(parsed.rows), len(parsed.errors), parsed.row_count) == (20, 20, 40)


def test_refusing_a_file_of_bad_rows_all_or_nothing_costs_one_query_besides_its_audit_row(
    staff, django_assert_num_queries
):
    content = csv_bytes([good_row(n, phone="1") for n in range(40)])

    # the programs, then the audit trail's row of the refused request (no patient)
    with django_assert_num_queries(1 + AUDIT_QUERIES_NO_PATIENTS):
        response = upload(staff, content, mode="all_or_nothing")

    assert response.status_code == 400


def test_accepting_a_file_costs_the_same_few_queries_however_many_rows(
    staff, django_assert_num_queries, django_capture_on_commit_callbacks
):
    for rows in (10, 40):
        content = csv_bytes([good_row(n) for n in range(rows)])
        data = {"file": SimpleUploadedFile("r.csv", content, "text/csv"), "mode": "good_rows"}

        # the programs; a savepoint, the upload (the job) and its file inserted, release;
        # the audit trail's row of the request (no patient is read)
        with (
            django_assert_num_queries(5 + AUDIT_QUERIES_NO_PATIENTS),
            django_capture_on_commit_callbacks(execute=False),
        ):
            response = api_as(staff).post(UPLOAD, data, format="multipart")

        assert response.status_code == 202


def test_importing_a_file_costs_queries_per_batch_not_per_row(staff):
    # The job's cost per batch is counted query by query in
    # tests/navigator/test_referral_import.py; here, the whole path from the request on.
    # (At most 25 rows: above that SQLite splits a bulk insert, PostgreSQL does not.)
    def cost(first: int, rows: int) -> int:
        content = csv_bytes([good_row(n) for n in range(first, first + rows)])
        with CaptureQueriesContext(connection) as queries:
            response = upload(staff, content, mode="good_rows")
        assert response.json()["created"] == rows
        return len(queries)

    assert cost(0, 5) == cost(100, 25)


def test_uploads_log_ids_and_counts_never_patient_details(staff, caplog):
    # Given a file naming a patient, and one bad row
    caplog.set_level(logging.DEBUG)
    rows = [
        good_row(1, mrn="ZQ77123", given_name="Ximena", family_name="Quiroga-Tellez"),
        good_row(2, phone="+16175550187", birth_date="1961-07-13", sex="?"),
    ]

    # When it is uploaded in both modes
    upload(staff, csv_bytes(rows), mode="all_or_nothing", filename="quiroga-ximena.csv")
    upload(staff, csv_bytes(rows), mode="good_rows", filename="quiroga-ximena.csv")

    # Then the logs say what happened by ids and counts, and nothing that identifies anyone
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "Referral upload rejected for clinic" in logged
    assert f"for clinic {staff.clinic_id} by user {staff.pk} (good_rows): 2 rows, 1 created" in (
        logged
    )
    for secret in ["Ximena", "Quiroga", "ZQ77123", "quiroga", "1961-07-13", "5550187", "MRN0002"]:
        assert secret not in logged


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_same_file_uploaded_twice_at_once_is_imported_once(require_postgres):
    # Given a file, and clinic staff about to send it twice at the same moment (a double click)
    NavigatorFactory(languages=["pt", "en"])
    staff = ClinicStaffFactory()
    content = csv_bytes([good_row(n) for n in range(5)])
    barrier = threading.Barrier(2)
    answers: list[tuple[int, dict]] = []

    def send():
        barrier.wait()
        try:
            response = upload(staff, content, mode="all_or_nothing")
            answers.append((response.status_code, response.json()))
        finally:
            connection.close()

    # When both requests run together
    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    # Then one job imports the file and the other finds every row already imported (each
    # batch locks the clinic: the second waits and then sees the first one's rows)
    assert sorted((code, body["created"], body["duplicates"]) for code, body in answers) == [
        (200, 0, 5),
        (200, 5, 0),
    ]
    assert (Referral.objects.count(), Patient.objects.count(), NavigationCase.objects.count()) == (
        5,
        5,
        5,
    )
