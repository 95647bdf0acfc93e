"""The referral CSV's columns and the template clinics download: header, a guide line, an example.

A line whose first cell starts with `COMMENT` is ignored on upload, so a
clinic can keep the guide and example lines and type its rows below them.
"""

from __future__ import annotations

import csv
import io

from patients.models import PhoneType, RaceEthnicity, ScreeningProgram, Sex

REQUIRED = (
    "mrn", "given_name", "family_name", "birth_date", "sex", "program", "referring_clinician",
)  # fmt: skip
OPTIONAL = (
    "reason", "preferred_language", "interpreter_needed", "phone", "phone_type", "sms_consent",
    "email", "race_ethnicity", "written_language", "eligibility_override_reason",
)  # fmt: skip
COLUMNS = REQUIRED + OPTIONAL
COMMENT = "#"

TEMPLATE_FILENAME = "equinav-referrals-template.csv"
TEMPLATE_EXAMPLE = {
    "mrn": "CHE100234",
    "given_name": "Ana",
    "family_name": "Lima",
    "birth_date": "1968-04-30",
    "sex": "female",
    "program": "colorectal",
    "referring_clinician": "Dr. Patel",
    "reason": "Overdue for colorectal screening",
    "preferred_language": "pt",
    "interpreter_needed": "yes",
    "phone": "+16175550142",
    "phone_type": "mobile",
    "sms_consent": "yes",
    "email": "",
    "race_ethnicity": "hispanic;white",
    "written_language": "",
    "eligibility_override_reason": "",
}


def column_guide() -> dict[str, str]:
    """What each column holds, in the order of the template: for the template and the page."""
    programs = ", ".join(
        ScreeningProgram.objects.filter(active=True).order_by("code").values_list("code", flat=True)
    )
    return {
        "mrn": "Required. The patient's medical record number at your clinic.",
        "given_name": "Required. Given (first) name.",
        "family_name": "Required. Family (last) name.",
        "birth_date": "Required. Date of birth as YYYY-MM-DD, e.g. 1968-04-30.",
        "sex": f"Required. One of {', '.join(Sex.values)}.",
        "program": f"Required. The screening program's code: {programs}.",
        "referring_clinician": "Required. Who refers the patient.",
        "reason": "Optional. Why, in a few words.",
        "preferred_language": (
            "Optional. ISO 639 language code, e.g. en, es, pt, ht, vi, zh; declined or "
            "unknown if the patient was asked and did not say. Empty: not asked (letters "
            "and calls fall back to English)."
        ),
        "interpreter_needed": "Optional. yes or no. Default: no.",
        "phone": "Optional. A phone number, e.g. (617) 555-0142 or +16175550142.",
        "phone_type": f"Optional. {', '.join(PhoneType.values)}. Default: mobile.",
        "sms_consent": "Optional. yes if the patient agreed to text messages. Default: no.",
        "email": "Optional. Email address.",
        "race_ethnicity": (
            f"Optional. One or more of {', '.join(RaceEthnicity.values)}, separated by ';'."
        ),
        "written_language": (
            "Optional. ISO 639 code of the language letters and texts are written in, if "
            "not the preferred language (e.g. en for a patient who speaks Cape Verdean "
            "Creole, kea, and reads English). Default: the preferred language."
        ),
        "eligibility_override_reason": (
            "Optional. Only to refer a patient outside the program's criteria (e.g. cervical "
            "screening for a trans man with a cervix): why, in a few words."
        ),
    }


def template_csv() -> str:
    """The header, then two comment lines (ignored on upload): what each column holds, an example.

    A line whose first cell starts with '#' is a comment, so a clinic can keep
    both lines and type its rows below them.
    """
    guide = column_guide()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerow([f"{COMMENT} {guide['mrn']}"] + [guide[column] for column in COLUMNS[1:]])
    writer.writerow(
        [f"{COMMENT} Example: {TEMPLATE_EXAMPLE['mrn']}"]
        + [TEMPLATE_EXAMPLE[column] for column in COLUMNS[1:]]
    )
    return out.getvalue()
