"""The rows of a referral file that passed its checks, stored for the import job.

The request reads and checks the file (`parse.referral_upload_parse`); the job only
writes. What the request stores for it (`ReferralUploadContent.data`) is therefore the
checked rows, not the file: `rows_dump` writes them as compact JSON (plain values, never
pickle: a worker must not run what the database hands it), `rows_load` reads them back
as the same `UploadRow`s, the programs looked up again by code (a program closed since
is refused at write time, as before).

A job stored by an earlier version holds the file itself (no `FORMAT` prefix): the job
reads and checks it as it did then (`rows_stored`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence

from patients.models import ScreeningProgram
from patients.services.patients import PatientInput, PhoneInput
from patients.uploads.parse import UploadRow, referral_upload_parse

FORMAT = b"equinav-checked-referral-rows-v1\n"


def rows_dump(rows: Sequence[UploadRow]) -> bytes:
    """The checked rows as the job reads them back (`rows_load`)."""
    return (
        FORMAT
        + json.dumps(
            [
                [
                    row.line,
                    row.program.code,
                    row.referring_clinician,
                    row.reason,
                    row.key,
                    row.eligibility_override_reason,
                    row.patient.mrn,
                    row.patient.given_name,
                    row.patient.family_name,
                    row.patient.birth_date.isoformat(),
                    row.patient.sex,
                    row.patient.preferred_language,
                    row.patient.language_status,
                    row.patient.written_language,
                    row.patient.interpreter_needed,
                    row.patient.race_ethnicity,
                    [[phone.number, phone.kind] for phone in row.patient.phones],
                    row.patient.sms_consent,
                    row.patient.email,
                ]
                for row in rows
            ],
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode()
    )


def rows_load(data: bytes) -> list[UploadRow]:
    """The rows `rows_dump` stored. A row whose program no longer exists is left out,
    as reading the file again left it out (its error was reported when it was read)."""
    programs = {p.code: p for p in ScreeningProgram.objects.all()}
    rows = []
    fromisoformat = dt.date.fromisoformat
    for (
        line,
        program,
        referring_clinician,
        reason,
        key,
        override,
        mrn,
        given_name,
        family_name,
        birth_date,
        sex,
        preferred_language,
        language_status,
        written_language,
        interpreter_needed,
        race_ethnicity,
        phones,
        sms_consent,
        email,
    ) in json.loads(data[len(FORMAT) :]):
        if program not in programs:
            continue
        rows.append(
            UploadRow(
                line=line,
                program=programs[program],
                patient=PatientInput(
                    mrn=mrn,
                    given_name=given_name,
                    family_name=family_name,
                    birth_date=fromisoformat(birth_date),
                    sex=sex,
                    preferred_language=preferred_language,
                    language_status=language_status,
                    written_language=written_language,
                    interpreter_needed=interpreter_needed,
                    race_ethnicity=race_ethnicity,
                    phones=[PhoneInput(number=number, kind=kind) for number, kind in phones],
                    sms_consent=sms_consent,
                    email=email,
                ),
                referring_clinician=referring_clinician,
                reason=reason,
                key=key,
                eligibility_override_reason=override,
            )
        )
    return rows


def rows_stored(data: bytes, filename: str) -> list[UploadRow]:
    """The good rows of what a job stored: its checked rows, or (a job queued by an
    earlier version) its file, read and checked again."""
    if data.startswith(FORMAT):
        return rows_load(data)
    return referral_upload_parse(file_bytes=data, filename=filename).rows
