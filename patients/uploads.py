"""Bulk referrals: a clinic's CSV, every row checked, imported all-or-nothing or good rows only.

Each row goes through `services.referral_create`, so a bulk referral follows
exactly the rules of a single one (MRN matching, eligibility, one open case).
A row already imported (same clinic, same content) is a duplicate, counted and
skipped: uploading the same file again creates nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from phonenumber_field.phonenumber import to_python as to_phone_number

from navigator.models import User
from patients.languages import is_language_code
from patients.models import (
    Clinic,
    PhoneType,
    RaceEthnicity,
    Referral,
    ReferralUpload,
    ScreeningProgram,
    Sex,
)
from patients.services import PatientInput, PhoneInput, referral_create

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 5000
REQUIRED = [
    "mrn", "given_name", "family_name", "birth_date", "sex", "program", "referring_clinician",
]  # fmt: skip
OPTIONAL = [
    "reason", "preferred_language", "interpreter_needed", "phone", "phone_type", "sms_consent",
    "email", "race_ethnicity",
]  # fmt: skip
COLUMNS = REQUIRED + OPTIONAL
# What each column holds, for the template and the page.
COLUMN_HELP = {
    "mrn": "Required. The patient's medical record number at your clinic.",
    "given_name": "Required. Given (first) name.",
    "family_name": "Required. Family (last) name.",
    "birth_date": "Required. Date of birth as YYYY-MM-DD, e.g. 1968-04-30.",
    "sex": "Required. female, male, other or unknown.",
    "program": "Required. Screening program code: colorectal, breast, cervical or lung.",
    "referring_clinician": "Required. Who refers the patient.",
    "reason": "Optional. Why, in a few words.",
    "preferred_language": "Optional. ISO 639 code, e.g. en, es, pt, ht, vi. Default: en.",
    "interpreter_needed": "Optional. yes or no. Default: no.",
    "phone": "Optional. A phone number, e.g. (617) 555-0142 or +16175550142.",
    "phone_type": "Optional. mobile, home or work. Default: mobile.",
    "sms_consent": "Optional. yes if the patient agreed to text messages. Default: no.",
    "email": "Optional. Email address.",
    "race_ethnicity": (
        "Optional. One or more of " + ", ".join(RaceEthnicity.values) + ", separated by ';'."
    ),
}
YES = {"yes", "y", "true", "1"}
NO = {"no", "n", "false", "0", ""}


def template_csv() -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    writer.writerow(
        [
            "CHE100234",
            "Ana",
            "Lima",
            "1968-04-30",
            "female",
            "colorectal",
            "Dr. Patel",
            "Overdue for screening",
            "pt",
            "yes",
            "+16175550142",
            "mobile",
            "yes",
            "",
            "hispanic;white",
        ]  # fmt: skip
    )
    return out.getvalue()


@dataclass
class RowError:
    line: int
    column: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "column": self.column, "message": self.message}


@dataclass
class _Row:
    line: int
    program: ScreeningProgram
    patient: PatientInput
    referring_clinician: str
    reason: str
    key: str


class UploadRejected(Exception):
    """Nothing was written; `errors` says why, row by row where it can."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(f"{len(errors)} problem(s)")
        self.errors = errors


@dataclass
class UploadResult:
    upload: ReferralUpload
    errors: list[RowError] = field(default_factory=list)


def _decode(file_bytes: bytes) -> str:
    try:
        return file_bytes.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = file_bytes[: error.start].count(b"\n") + 1
        raise UploadRejected(
            [
                RowError(
                    line,
                    "",
                    f"The file is not UTF-8 (byte {error.start} on line {line}). "
                    "Save it as “CSV UTF-8” and upload it again.",
                )
            ]
        ) from None


def _yes_no(value: str, line: int, column: str, errors: list[RowError]) -> bool:
    lowered = value.strip().lower()
    if lowered in YES:
        return True
    if lowered not in NO:
        errors.append(RowError(line, column, f"“{value}” is not yes or no."))
    return False


def _parse_row(
    line: int, row: dict[str, str], programs: dict[str, ScreeningProgram], clinic: Clinic
) -> tuple[_Row | None, list[RowError]]:
    errors: list[RowError] = []
    value = {column: (row.get(column) or "").strip() for column in COLUMNS}
    for column in REQUIRED:
        if not value[column]:
            errors.append(RowError(line, column, f"{column} is required."))
    birth_date = None
    if value["birth_date"]:
        try:
            birth_date = dt.date.fromisoformat(value["birth_date"])
        except ValueError:
            errors.append(
                RowError(
                    line, "birth_date", f"“{value['birth_date']}” is not a date in YYYY-MM-DD form."
                )
            )
        else:
            if birth_date > timezone.localdate():
                errors.append(RowError(line, "birth_date", "The birth date is in the future."))
            elif birth_date.year < 1900:
                errors.append(RowError(line, "birth_date", "The birth date is before 1900."))
    if value["sex"] and value["sex"].lower() not in Sex.values:
        errors.append(
            RowError(line, "sex", f"“{value['sex']}” is not one of {', '.join(Sex.values)}.")
        )
    program = programs.get(value["program"].lower()) if value["program"] else None
    if value["program"] and program is None:
        errors.append(
            RowError(
                line,
                "program",
                f"“{value['program']}” is not a program code ({', '.join(sorted(programs))}).",
            )
        )
    language = value["preferred_language"].lower() or "en"
    if not is_language_code(language):
        errors.append(
            RowError(line, "preferred_language", f"“{language}” is not an ISO 639 language code.")
        )
    interpreter = _yes_no(value["interpreter_needed"], line, "interpreter_needed", errors)
    sms_consent = _yes_no(value["sms_consent"], line, "sms_consent", errors)
    phones = []
    if value["phone"]:
        number = to_phone_number(value["phone"])
        if number is None or not number.is_valid():
            errors.append(
                RowError(line, "phone", f"“{value['phone']}” is not a valid phone number.")
            )
        kind = value["phone_type"].lower() or PhoneType.MOBILE
        if kind not in PhoneType.values:
            errors.append(
                RowError(
                    line, "phone_type", f"“{kind}” is not one of {', '.join(PhoneType.values)}."
                )
            )
        phones.append(PhoneInput(number=value["phone"], kind=kind))
    if value["email"]:
        try:
            validate_email(value["email"])
        except ValidationError:
            errors.append(RowError(line, "email", f"“{value['email']}” is not an email address."))
    categories = [c.strip().lower() for c in value["race_ethnicity"].split(";") if c.strip()]
    unknown = [c for c in categories if c not in RaceEthnicity.values]
    if unknown:
        errors.append(
            RowError(
                line,
                "race_ethnicity",
                f"Unknown: {', '.join(unknown)}. Use {', '.join(RaceEthnicity.values)}.",
            )
        )
    if errors or program is None or birth_date is None:
        return None, errors
    normalised = [
        value[column].lower() if column != "reason" else value[column] for column in COLUMNS
    ]
    key = hashlib.sha256("\x1f".join([str(clinic.pk), *normalised]).encode()).hexdigest()
    return (
        _Row(
            line=line,
            program=program,
            patient=PatientInput(
                mrn=value["mrn"],
                given_name=value["given_name"],
                family_name=value["family_name"],
                birth_date=birth_date,
                sex=value["sex"].lower(),
                preferred_language=language,
                interpreter_needed=interpreter,
                race_ethnicity=categories,
                phones=phones,
                sms_consent=sms_consent,
                email=value["email"],
            ),
            referring_clinician=value["referring_clinician"],
            reason=value["reason"],
            key=key,
        ),
        [],
    )


def referral_upload_parse(
    *, clinic: Clinic, file_bytes: bytes
) -> tuple[list[_Row], list[RowError]]:
    """Every row checked; nothing written. Raises UploadRejected if the file itself is unusable."""
    if not file_bytes.strip():
        raise UploadRejected([RowError(1, "", "The file is empty.")])
    if len(file_bytes) > MAX_BYTES:
        raise UploadRejected([RowError(1, "", "The file is over 5 MB; split it.")])
    text = _decode(file_bytes)
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        header = [h.strip().lower() for h in (reader.fieldnames or [])]
    except csv.Error as error:
        raise UploadRejected([RowError(1, "", f"Not a readable CSV: {error}.")]) from None
    missing = [c for c in REQUIRED if c not in header]
    extra = [c for c in header if c and c not in COLUMNS]
    problems = []
    if missing:
        problems.append(RowError(1, ", ".join(missing), f"Missing columns: {', '.join(missing)}."))
    if extra:
        problems.append(
            RowError(1, ", ".join(extra), f"Unknown columns: {', '.join(extra)}. See the template.")
        )
    if problems:
        raise UploadRejected(problems)
    reader.fieldnames = header
    programs = {p.code: p for p in ScreeningProgram.objects.all()}
    rows: list[_Row] = []
    errors: list[RowError] = []
    try:
        for record in reader:
            line = reader.line_num
            if len(rows) + len(errors) >= MAX_ROWS:
                raise UploadRejected(
                    [RowError(line, "", f"More than {MAX_ROWS} rows; split the file.")]
                )
            if None in record:
                errors.append(RowError(line, "", "This row has more cells than the header."))
                continue
            if not any((v or "").strip() for v in record.values()):
                continue  # a blank line
            row, row_errors = _parse_row(line, record, programs, clinic)
            errors += row_errors
            if row is not None:
                rows.append(row)
    except csv.Error as error:
        raise UploadRejected(
            [RowError(reader.line_num, "", f"Not a readable CSV: {error}.")]
        ) from None
    if not rows and not errors:
        raise UploadRejected([RowError(1, "", "The file has a header but no rows.")])
    return rows, errors


def _service_errors(line: int, error: ValidationError) -> list[RowError]:
    if hasattr(error, "error_dict"):
        return [
            RowError(line, column if column in COLUMNS else "", " ".join(messages))
            for column, messages in error.message_dict.items()
        ]
    return [RowError(line, "", " ".join(error.messages))]


def referrals_upload(
    *, clinic: Clinic, actor: User, file_bytes: bytes, filename: str, mode: str
) -> UploadResult:
    """Import a CSV of referrals. ALL_OR_NOTHING raises UploadRejected on any bad row."""
    if mode not in ReferralUpload.Mode.values:
        raise UploadRejected([RowError(1, "", f"“{mode}” is not an upload mode.")])
    if actor.is_clinic_staff and actor.clinic_id != clinic.pk:
        raise UploadRejected(
            [RowError(1, "", "You can only upload referrals for your own clinic.")]
        )
    rows, errors = referral_upload_parse(clinic=clinic, file_bytes=file_bytes)
    all_or_nothing = mode == ReferralUpload.Mode.ALL_OR_NOTHING
    if errors and all_or_nothing:
        raise UploadRejected(errors)
    with transaction.atomic():
        upload = ReferralUpload.objects.create(
            clinic=clinic,
            uploaded_by=actor,
            filename=filename[:255],
            sha256=hashlib.sha256(file_bytes).hexdigest(),
            mode=mode,
            row_count=len(rows) + len({e.line for e in errors}),
        )
        already = set(
            Referral.objects.filter(
                clinic=clinic, upload_key__in=[r.key for r in rows]
            ).values_list("upload_key", flat=True)
        )
        created = duplicates = 0
        for row in rows:
            if row.key in already:
                duplicates += 1
                continue
            try:
                with transaction.atomic():
                    referral = referral_create(
                        clinic=clinic,
                        program=row.program,
                        patient_data=row.patient,
                        referring_clinician=row.referring_clinician,
                        reason=row.reason,
                        actor=actor,
                    )
                    Referral.objects.filter(pk=referral.pk).update(
                        upload=upload, upload_key=row.key
                    )
            except ValidationError as error:
                errors += _service_errors(row.line, error)
                continue
            already.add(row.key)
            created += 1
        errors.sort(key=lambda e: e.line)
        if errors and all_or_nothing:
            transaction.set_rollback(True)
            raise UploadRejected(errors)
        upload.created_count = created
        upload.duplicate_count = duplicates
        upload.errors = [e.as_dict() for e in errors]
        upload.save(update_fields=["created_count", "duplicate_count", "errors"])
    return UploadResult(upload=upload, errors=errors)
