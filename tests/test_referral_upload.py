"""Bulk referral upload: every row checked, both modes, duplicates, bad files, who may upload."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from navigator.models import NavigationCase
from patients.models import Patient, Referral, ReferralUpload
from patients.uploads import COLUMNS
from tests.conftest import api_as
from tests.factories import (
    PASSWORD,
    ClinicFactory,
    ClinicStaffFactory,
    ManagerFactory,
    NavigatorFactory,
    PatientFactory,
)

pytestmark = pytest.mark.django_db


def good_row(number: int, **overrides) -> dict[str, str]:
    row = {
        "mrn": f"MRN{number:04d}",
        "given_name": "Ana",
        "family_name": f"Lima{number}",
        "birth_date": "1968-04-30",
        "sex": "female",
        "program": "colorectal",
        "referring_clinician": "Dr. Patel",
        "reason": "Overdue",
        "preferred_language": "pt",
        "interpreter_needed": "yes",
        "phone": "+16175550142",
        "phone_type": "mobile",
        "sms_consent": "no",
        "email": "",
        "race_ethnicity": "hispanic;white",
    }
    row.update(overrides)
    return row


def csv_bytes(rows: list[dict[str, str]], columns: list[str] = COLUMNS, encoding="utf-8") -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def upload(user, content: bytes, mode: str = "all_or_nothing", **extra):
    data = {"file": SimpleUploadedFile("referrals.csv", content, "text/csv"), "mode": mode, **extra}
    return api_as(user).post("/api/referrals/upload/", data, format="multipart")


def counts() -> tuple[int, int, int, int]:
    return (
        Referral.objects.count(),
        Patient.objects.count(),
        NavigationCase.objects.count(),
        ReferralUpload.objects.count(),
    )


@pytest.fixture
def staff(clinic):
    NavigatorFactory(languages=["pt", "en"])
    return ClinicStaffFactory(clinic=clinic)


def test_a_good_file_creates_a_referral_a_patient_and_a_case_per_row(staff):
    response = upload(staff, csv_bytes([good_row(1), good_row(2)]))

    assert response.status_code == 201
    assert response.json()["created"] == 2
    assert counts()[:3] == (2, 2, 2)
    patient = Patient.objects.get(mrn="MRN0001")
    assert patient.preferred_language == "pt"
    assert patient.interpreter_needed is True
    assert sorted(patient.race_ethnicities.values_list("category", flat=True)) == [
        "hispanic",
        "white",
    ]
    assert Referral.objects.filter(upload__isnull=False).count() == 2


BAD_ROWS = [
    ({"phone": "12"}, "phone", "not a valid phone number"),
    ({"birth_date": "30/04/1968"}, "birth_date", "not a date in YYYY-MM-DD form"),
    ({"birth_date": "2999-01-01"}, "birth_date", "in the future"),
    ({"program": "skin"}, "program", "not a program code"),
    ({"sex": "f"}, "sex", "is not one of"),
    ({"family_name": ""}, "family_name", "family_name is required"),
    ({"preferred_language": "zz"}, "preferred_language", "not an ISO 639"),
    ({"race_ethnicity": "martian"}, "race_ethnicity", "Unknown: martian"),
    ({"interpreter_needed": "maybe"}, "interpreter_needed", "not yes or no"),
    ({"email": "nope"}, "email", "not an email address"),
    ({"birth_date": "2020-01-01"}, "program", "ages 45–75"),  # refused by referral_create
]


@pytest.mark.parametrize(("change", "column", "message"), BAD_ROWS)
def test_all_or_nothing_names_the_line_and_column_and_writes_nothing(
    staff, change, column, message
):
    before = counts()

    response = upload(staff, csv_bytes([good_row(1), good_row(2, **change), good_row(3)]))

    assert response.status_code == 400
    assert response.json()["detail"] == "Nothing was imported."
    error = response.json()["errors"][0]
    assert error["line"] == 3
    assert error["column"] == column
    assert message in error["message"]
    assert counts() == before


def test_good_rows_mode_imports_the_good_rows_and_lists_the_bad(staff):
    rows = [good_row(1), good_row(2, phone="12", birth_date="x"), good_row(3)]

    response = upload(staff, csv_bytes(rows), mode="good_rows")

    body = response.json()
    assert response.status_code == 201
    assert body["created"] == 2
    assert {(e["line"], e["column"]) for e in body["errors"]} == {(3, "phone"), (3, "birth_date")}
    assert sorted(Patient.objects.values_list("mrn", flat=True)) == ["MRN0001", "MRN0003"]
    assert ReferralUpload.objects.get().errors == body["errors"]


def test_an_mrn_that_belongs_to_someone_else_becomes_a_row_error(staff, clinic):
    PatientFactory(clinic=clinic, mrn="MRN0002", given_name="Rosa")

    response = upload(staff, csv_bytes([good_row(1), good_row(2)]), mode="good_rows")

    error = response.json()["errors"][0]
    assert (error["line"], error["column"]) == (3, "mrn")
    assert "different name or birth date" in error["message"]
    assert response.json()["created"] == 1


def test_uploading_the_same_file_again_creates_nothing(staff):
    content = csv_bytes([good_row(1), good_row(2)])
    upload(staff, content)
    before = counts()[:3]

    response = upload(staff, content)

    assert response.json()["created"] == 0
    assert response.json()["duplicates"] == 2
    assert counts()[:3] == before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"mrn,given_name\nX,Y\n", "Missing columns: family_name"),
        (csv_bytes([good_row(1)], columns=[*COLUMNS, "ssn"]), "Unknown columns: ssn"),
        (b"", "The file is empty."),
        (",".join(COLUMNS).encode(), "no rows"),
        (csv_bytes([good_row(1, given_name="José")], encoding="latin-1"), "not UTF-8"),
    ],
)
def test_unusable_files_are_refused_clearly_and_nothing_is_written(staff, content, message):
    before = counts()

    response = upload(staff, content, mode="good_rows")

    assert response.status_code == 400
    assert message in response.json()["errors"][0]["message"]
    assert counts() == before


def test_a_utf8_file_with_a_bom_is_read(staff):
    content = "\ufeff".encode() + csv_bytes([good_row(1, given_name="José")])

    response = upload(staff, content)

    assert response.status_code == 201
    assert Patient.objects.get().given_name == "José"


def test_clinic_staff_upload_only_for_their_own_clinic(staff):
    other = ClinicFactory()

    upload(staff, csv_bytes([good_row(1)]), clinic=other.code)

    assert Referral.objects.get().clinic == staff.clinic


def test_a_manager_names_the_clinic(clinic):
    manager = ManagerFactory()

    assert upload(manager, csv_bytes([good_row(1)])).status_code == 400
    response = upload(manager, csv_bytes([good_row(1)]), clinic=clinic.code)

    assert response.status_code == 201
    assert Referral.objects.get().clinic == clinic


def test_navigators_may_not_upload(clinic):
    assert upload(NavigatorFactory().user, csv_bytes([good_row(1)])).status_code == 403


def test_the_template_documents_every_column(staff):
    response = api_as(staff).get("/api/referrals/upload/template/")

    assert response.status_code == 200
    header, example = list(csv.reader(io.StringIO(response.content.decode())))
    assert header == COLUMNS
    assert len(example) == len(COLUMNS)


def test_the_page_uploads_and_lists_each_bad_row(client, staff):
    assert client.login(username=staff.username, password=PASSWORD)
    content = csv_bytes([good_row(1), good_row(2, phone="12")])

    response = client.post(
        reverse("patients:referral_upload"),
        {"file": SimpleUploadedFile("r.csv", content, "text/csv"), "mode": "good_rows"},
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "1 referral imported" in page
    assert "not a valid phone number" in page
    rejected = client.post(
        reverse("patients:referral_upload"),
        {"file": SimpleUploadedFile("r.csv", content, "text/csv"), "mode": "all_or_nothing"},
    )
    assert rejected.status_code == 400
    assert "Nothing was imported" in rejected.content.decode()
    assert client.get(reverse("patients:referral_upload_template")).status_code == 200
