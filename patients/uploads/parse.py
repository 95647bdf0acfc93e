"""Read and check a clinic's referral CSV, writing nothing.

`referral_upload_parse` turns the file into rows ready for `referral_create`
(`UploadRow`) and row errors naming the CSV line (the header is line 1) and
the column; a file that is unusable as a whole raises `UploadRejected`.
Importing the rows is intake orchestration: `navigator.intake.referral_uploads`.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import models
from django.utils import timezone

from patients.languages import is_language_code
from patients.models import (
    LanguageStatus,
    Patient,
    PhoneType,
    RaceEthnicity,
    Referral,
    ScreeningProgram,
    Sex,
)
from patients.phones import phone_e164
from patients.services.patients import (
    EXCLUSIVE_RACE_ANSWERS,
    EXCLUSIVE_RACE_MESSAGE,
    PatientInput,
    PhoneInput,
)
from patients.uploads.template import COLUMNS, COMMENT, REQUIRED

# A file is checked within its request, then imported by a background job
# (navigator.intake.referral_import) in batches. 100,000 rows of the template's
# columns are about 15 MB; the request keeps the file in memory
# (FILE_UPLOAD_MAX_MEMORY_SIZE), never in a temporary file: it names patients.
MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 100_000

YES = frozenset({"yes", "y", "true", "1"})
NO = frozenset({"no", "n", "false", "0", ""})
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
REASON_MAX_LENGTH = 5000  # as on the referral form
# What preferred_language may say instead of a code: the patient was asked (the file
# does not say who answered, so the source is "ehr_unstated").
NON_ANSWERS = (LanguageStatus.DECLINED, LanguageStatus.UNKNOWN)
# The choices' values, built once: `Choices.values` builds a new list at every call,
# and a 100,000-row file checks several per row (the messages keep `.values`' order).
SEXES = frozenset(Sex.values)
PHONE_TYPES = frozenset(PhoneType.values)
RACE_CATEGORIES = frozenset(RaceEthnicity.values)


def _max_length(model: type[models.Model], name: str) -> int:
    max_length = getattr(model._meta.get_field(name), "max_length", None)
    if not isinstance(max_length, int):
        raise TypeError(f"{model.__name__}.{name} has no max_length")
    return max_length


@dataclass
class RowError:
    """A problem and where it is: `line` is the CSV line (header = 1), None for the whole file."""

    line: int | None
    column: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        # A backstop: each cell a message quotes is cut already (`shown`).
        return {"line": self.line, "column": self.column, "message": shown(self.message, 500)}


# The most of a cell a row error quotes: the errors are stored on the job and listed on
# its page, and a 1 MB cell must not be copied there.
SHOWN_CHARS = 80


def shown(value: str, limit: int = SHOWN_CHARS) -> str:
    """`value` as a row error quotes it: cut to `limit` characters, with an ellipsis."""
    return value if len(value) <= limit else value[: limit - 1] + "…"


@dataclass
class UploadRow:
    """A row that passed every check, ready for referral_create."""

    line: int
    program: ScreeningProgram
    patient: PatientInput
    referring_clinician: str
    reason: str
    key: str  # the digest of the normalised row; the same row again is a duplicate
    eligibility_override_reason: str = ""


@dataclass
class ParsedUpload:
    rows: list[UploadRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    row_count: int = 0  # data rows read, good and bad (not blank or comment lines)


class UploadRejected(Exception):
    """Nothing was written: `detail` says why in a sentence, `errors` where."""

    def __init__(self, detail: str, errors: list[RowError], *, row_count: int = 0) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.row_count = row_count

    def as_dict(self) -> dict[str, Any]:
        return {
            "detail": self.detail,
            "rows": self.row_count,
            "errors": [error.as_dict() for error in self.errors],
        }


def _unreadable(message: str, line: int | None = None, column: str = "") -> UploadRejected:
    return UploadRejected(
        "The file could not be read; nothing was imported.", [RowError(line, column, message)]
    )


SAVE_AS_CSV = "In your spreadsheet, choose Save As › “CSV UTF-8 (comma delimited)”."
NOT_CSV_SIGNATURES = [
    (b"PK\x03\x04", "a spreadsheet workbook (.xlsx, .ods) or another zip file"),
    (b"\xd0\xcf\x11\xe0", "an Excel 97-2003 workbook (.xls)"),
    (b"%PDF", "a PDF"),
]
NOT_CSV_EXTENSIONS = {".xlsx", ".xlsm", ".xls", ".ods", ".numbers", ".pdf", ".docx", ".doc"}


def _decode(file_bytes: bytes, filename: str) -> str:
    if len(file_bytes) > MAX_BYTES:
        raise _unreadable(
            f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB. "
            f"Split it into files of at most {MAX_ROWS} rows."
        )
    if not file_bytes.strip():
        raise _unreadable("The file is empty.")
    for signature, kind in NOT_CSV_SIGNATURES:
        if file_bytes.startswith(signature):
            raise _unreadable(f"This is {kind}, not a CSV file. {SAVE_AS_CSV}")
    extension = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if extension in NOT_CSV_EXTENSIONS:
        raise _unreadable(f"A {extension} file is not a CSV file. {SAVE_AS_CSV}")
    if file_bytes.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _unreadable(f"The file is UTF-16 (“Unicode text”), not UTF-8. {SAVE_AS_CSV}")
    try:
        text = file_bytes.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = file_bytes[: error.start].count(b"\n") + 1
        raise _unreadable(
            f"The file is not UTF-8: line {line} has a byte UTF-8 does not allow "
            f"(0x{file_bytes[error.start]:02X}, byte {error.start + 1} of the file). "
            f"{SAVE_AS_CSV}",
            line,
        ) from None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise _unreadable(f"Line {line} contains a NUL character: not a text CSV file.", line)
    if not text.strip():
        raise _unreadable("The file is empty.")
    return text


def _header(cells: list[str], line: int) -> list[str]:
    names = [cell.strip().lower() for cell in cells]
    problems: list[RowError] = []
    if len(names) == 1 and (";" in names[0] or "\t" in names[0]):
        separator = "semicolons" if ";" in names[0] else "tabs"
        problems.append(
            RowError(line, "", f"Columns must be separated by commas; this file uses {separator}.")
        )
    elif not set(names) & set(COLUMNS):
        problems.append(
            RowError(
                line,
                "",
                f"Line {line} must be the header naming the columns "
                f"({', '.join(REQUIRED)}, ...); see the template.",
            )
        )
    else:
        twice = sorted({name for name in names if name and names.count(name) > 1})
        if twice:
            problems.append(
                RowError(line, ", ".join(twice), f"Columns named twice: {', '.join(twice)}.")
            )
        missing = [column for column in REQUIRED if column not in names]
        if missing:
            problems.append(
                RowError(line, ", ".join(missing), f"Missing columns: {', '.join(missing)}.")
            )
        unknown = [name for name in dict.fromkeys(names) if name and name not in COLUMNS]
        if unknown:
            problems.append(
                RowError(
                    line,
                    ", ".join(unknown),
                    f"Unknown columns: {', '.join(unknown)}. The columns are "
                    f"{', '.join(COLUMNS)}; see the template.",
                )
            )
    if problems:
        raise UploadRejected("The file's header is wrong; nothing was imported.", problems)
    return names


def _yes_no(value: str, line: int, column: str, errors: list[RowError]) -> bool:
    lowered = value.lower()
    if lowered in YES:
        return True
    if lowered not in NO:
        errors.append(RowError(line, column, f"“{shown(value)}” is not yes or no."))
    return False


def _normalise(text: str) -> str:
    return " ".join(text.split()).casefold()


MAX_LENGTHS = {
    "mrn": _max_length(Patient, "mrn"),
    "given_name": _max_length(Patient, "given_name"),
    "family_name": _max_length(Patient, "family_name"),
    "referring_clinician": _max_length(Referral, "referring_clinician"),
    "reason": REASON_MAX_LENGTH,
    "eligibility_override_reason": REASON_MAX_LENGTH,
    "email": _max_length(Patient, "email"),
}


def _parse_row(
    line: int, value: dict[str, str], programs: dict[str, ScreeningProgram], today: dt.date
) -> tuple[UploadRow | None, list[RowError]]:
    errors: list[RowError] = []
    for column in REQUIRED:
        if not value[column]:
            errors.append(RowError(line, column, f"{column} is required."))
    for column, limit in MAX_LENGTHS.items():
        if len(value[column]) > limit:
            errors.append(
                RowError(
                    line, column, f"At most {limit} characters (this has {len(value[column])})."
                )
            )

    birth_date = None
    if value["birth_date"]:
        text = value["birth_date"]
        if not ISO_DATE.fullmatch(text):
            errors.append(
                RowError(line, "birth_date", f"“{shown(text)}” is not a date in YYYY-MM-DD form.")
            )
        else:
            try:
                birth_date = dt.date.fromisoformat(text)
            except ValueError:
                errors.append(RowError(line, "birth_date", f"“{shown(text)}” is not a real date."))
            else:
                if birth_date > today:
                    errors.append(RowError(line, "birth_date", "The birth date is in the future."))
                    birth_date = None
                elif birth_date.year < 1900:
                    errors.append(RowError(line, "birth_date", "The birth date is before 1900."))
                    birth_date = None

    sex = value["sex"].lower()
    if sex and sex not in SEXES:
        errors.append(
            RowError(line, "sex", f"“{shown(value['sex'])}” is not one of {', '.join(Sex.values)}.")
        )

    program = programs.get(value["program"].lower())
    if value["program"] and program is None:
        errors.append(
            RowError(
                line,
                "program",
                f"“{shown(value['program'])}” is not a program code "
                f"({', '.join(sorted(programs))}).",
            )
        )

    # A code is the patient's language; "declined" or "unknown" say they were asked;
    # empty: not asked (stored as the "en" placeholder).
    language = value["preferred_language"].strip().lower()
    language_status = ""
    if language in NON_ANSWERS:
        language_status, language = language, ""
    elif language and not is_language_code(language):
        errors.append(
            RowError(
                line,
                "preferred_language",
                f"“{shown(value['preferred_language'])}” is not an ISO 639 language code.",
            )
        )

    written = value.get("written_language", "").strip().lower()
    if written and not is_language_code(written):
        errors.append(
            RowError(
                line,
                "written_language",
                f"“{shown(value['written_language'])}” is not an ISO 639 language code.",
            )
        )

    interpreter = _yes_no(value["interpreter_needed"], line, "interpreter_needed", errors)
    sms_consent = _yes_no(value["sms_consent"], line, "sms_consent", errors)

    kind = value["phone_type"].lower() or PhoneType.MOBILE
    if kind not in PHONE_TYPES:
        errors.append(
            RowError(
                line,
                "phone_type",
                f"“{shown(value['phone_type'])}” is not one of {', '.join(PhoneType.values)}.",
            )
        )
    phones: list[PhoneInput] = []
    phone_key = ""
    if value["phone"]:
        e164 = phone_e164(value["phone"])
        if e164 is None:
            errors.append(
                RowError(line, "phone", f"“{shown(value['phone'])}” is not a valid phone number.")
            )
        else:
            phones.append(PhoneInput(number=e164, kind=kind))
            phone_key = f"{e164} {kind}"

    if value["email"]:
        try:
            validate_email(value["email"])
        except ValidationError:
            errors.append(
                RowError(line, "email", f"“{shown(value['email'])}” is not an email address.")
            )

    categories = list(
        dict.fromkeys(
            category.strip().lower()
            for category in value["race_ethnicity"].split(";")
            if category.strip()
        )
    )
    unknown = [category for category in categories if category not in RACE_CATEGORIES]
    if unknown:
        errors.append(
            RowError(
                line,
                "race_ethnicity",
                f"Not a category: {shown(', '.join(unknown))}. "
                f"Use {', '.join(RaceEthnicity.values)}, separated by ';'.",
            )
        )
    elif len(categories) > 1 and EXCLUSIVE_RACE_ANSWERS & set(categories):
        # The rule the job applies to the patient (patients.services.patients): refused
        # here already, so that ALL_OR_NOTHING refuses the file at once.
        errors.append(RowError(line, "race_ethnicity", EXCLUSIVE_RACE_MESSAGE))

    if errors or program is None or birth_date is None:
        return None, errors
    # The same referral written differently (case, spacing, phone format, "Yes"
    # for "yes") is the same row.
    normalised = [
        _normalise(value["mrn"]),
        _normalise(value["given_name"]),
        _normalise(value["family_name"]),
        birth_date.isoformat(),
        sex,
        program.code,
        _normalise(value["referring_clinician"]),
        _normalise(value["reason"]),
        # As before the statuses: an empty language keys as "en".
        language_status or language or "en",
        "yes" if interpreter else "no",
        phone_key,
        "yes" if sms_consent else "no",
        value["email"].casefold(),
        ";".join(sorted(categories)),
        # Only when given: rows of files from before the column keep their key.
        *([f"written:{written}"] if written else []),
    ]
    if value["eligibility_override_reason"].strip():
        # Only when given, so that the rows of files without the column keep their keys.
        normalised.append("override:" + _normalise(value["eligibility_override_reason"]))
    key = hashlib.sha256("\x1f".join(["referral-upload-v1", *normalised]).encode()).hexdigest()
    return (
        UploadRow(
            line=line,
            program=program,
            patient=PatientInput(
                mrn=value["mrn"],
                given_name=value["given_name"],
                family_name=value["family_name"],
                birth_date=birth_date,
                sex=sex,
                preferred_language=language,
                language_status=language_status,
                written_language=written,
                interpreter_needed=interpreter,
                race_ethnicity=categories,
                phones=phones,
                sms_consent=sms_consent,
                email=value["email"],
            ),
            referring_clinician=value["referring_clinician"],
            reason=value["reason"],
            key=key,
            eligibility_override_reason=value["eligibility_override_reason"],
        ),
        [],
    )


def referral_upload_parse(*, file_bytes: bytes, filename: str = "") -> ParsedUpload:
    """Read and check every row; nothing is written.

    Raises UploadRejected when the file itself is unusable (not UTF-8, not a
    CSV, a wrong header, empty, too large); a bad row is a row error instead.
    """
    text = _decode(file_bytes, filename)
    # strict: a quote opened and never closed is an error, not the rest of the file in one cell.
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    parsed = ParsedUpload()
    programs = {p.code: p for p in ScreeningProgram.objects.all()}
    # Once per file: a row's date is checked against the day the file is read.
    today = timezone.localdate()
    names: list[str] | None = None
    end_of_previous = 0
    try:
        for cells in reader:
            line = end_of_previous + 1  # where this record starts (a quoted cell may span lines)
            end_of_previous = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if names is None:
                names = _header(cells, line)
                continue
            if cells[0].strip().startswith(COMMENT):
                continue
            parsed.row_count += 1
            if parsed.row_count > MAX_ROWS:
                raise UploadRejected(
                    "The file has too many rows; nothing was imported.",
                    [
                        RowError(
                            line,
                            "",
                            f"More than {MAX_ROWS} rows. Split the file into files of at most "
                            f"{MAX_ROWS} rows.",
                        )
                    ],
                )
            extra = cells[len(names) :]
            if any(cell.strip() for cell in extra):
                parsed.errors.append(
                    RowError(
                        line,
                        "",
                        f"This row has {len(cells)} cells; the header names {len(names)} columns.",
                    )
                )
                continue
            value = dict.fromkeys(COLUMNS, "")
            unnamed = False
            for name, cell in zip(names, cells, strict=False):
                if name in value:
                    value[name] = cell.strip()
                elif not name and cell.strip():
                    unnamed = True
            if unnamed:
                parsed.errors.append(
                    RowError(line, "", "This row has a value in a column with no header.")
                )
                continue
            row, errors = _parse_row(line, value, programs, today)
            parsed.errors += errors
            if row is not None:
                parsed.rows.append(row)
    except csv.Error as error:
        line = end_of_previous + 1  # where the unreadable record starts
        if "unexpected end of data" in str(error):
            raise _unreadable(f'A quote (") opened on line {line} is never closed.', line) from None
        raise _unreadable(f"Line {line} is not readable CSV: {error}.", line) from None
    if names is None:
        raise _unreadable("The file is empty.")
    if not parsed.row_count:
        raise _unreadable("The file has a header but no rows.")
    return parsed
