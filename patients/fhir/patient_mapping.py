"""A FHIR Patient (US Core) mapped onto our Patient's fields."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from patients.fhir.outcome import Issue, issue
from patients.languages import is_language_code
from patients.phones import phone_e164

US_CORE_RACE = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race"
US_CORE_ETHNICITY = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity"
INTERPRETER_CORE = "http://hl7.org/fhir/StructureDefinition/patient-interpreterRequired"
INTERPRETER_US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-interpreter-needed"
NULL_FLAVOR = "http://terminology.hl7.org/CodeSystem/v3-NullFlavor"
CDC_RACE = "urn:oid:2.16.840.1.113883.6.238"

# CDC Race & Ethnicity codes onto the 2024 OMB minimum categories.
OMB_CODES = {
    "1002-5": "aian",
    "2028-9": "asian",
    "2054-5": "black",
    "2076-8": "nhpi",
    "2106-3": "white",
    "2118-8": "mena",  # Middle Eastern or North African (a detailed code until 2024)
    "2135-2": "hispanic",
}
NULL_ANSWERS = {"ASKU": "declined", "UNK": "unknown"}
GENDERS = {"female": "female", "male": "male", "other": "other", "unknown": "unknown"}
PHONE_KINDS = {"mobile": "mobile", "home": "home", "work": "work"}


@dataclass
class MappedPatient:
    given_name: str
    family_name: str
    birth_date: dt.date
    sex: str
    race_ethnicity: list[str]
    preferred_language: str | None
    interpreter_needed: bool | None
    phones: list[tuple[str, str]]
    email: str
    deceased: bool
    identifiers: list[tuple[str, str, bool]] = field(default_factory=list)  # system, value, is MR

    def mrn_identifier(self, mrn_system: str) -> tuple[str, str]:
        """(system, value) of the MRN: the feed's MRN system if it names one, else the
        identifier typed MR, else the first; ("", "") if there is none."""
        if mrn_system:
            return next(((s, v) for s, v, _ in self.identifiers if s == mrn_system), ("", ""))
        marked = next(((s, v) for s, v, is_mr in self.identifiers if is_mr), None)
        if marked:
            return marked
        return (self.identifiers[0][0], self.identifiers[0][1]) if self.identifiers else ("", "")

    def mrn(self, mrn_system: str) -> str:
        return self.mrn_identifier(mrn_system)[1]


def _categories(resource: dict[str, Any]) -> list[str]:
    found: list[str] = []
    for extension in resource.get("extension") or []:
        if extension.get("url") not in {US_CORE_RACE, US_CORE_ETHNICITY}:
            continue
        for part in extension.get("extension") or []:
            coding = part.get("valueCoding") or {}
            if part.get("url") not in {"ombCategory", "detailed"}:
                continue
            code = coding.get("code")
            if coding.get("system") == NULL_FLAVOR and code in NULL_ANSWERS:
                found.append(NULL_ANSWERS[code])
            elif code in OMB_CODES:
                found.append(OMB_CODES[code])
    chosen = list(dict.fromkeys(found))
    real = [c for c in chosen if c not in {"declined", "unknown"}]
    if real:
        return real
    return chosen[:1]


def _interpreter(resource: dict[str, Any]) -> bool | None:
    for extension in resource.get("extension") or []:
        if extension.get("url") == INTERPRETER_CORE and "valueBoolean" in extension:
            return bool(extension["valueBoolean"])
        if extension.get("url") == INTERPRETER_US_CORE:
            if "valueBoolean" in extension:
                return bool(extension["valueBoolean"])
            code = (extension.get("valueCoding") or {}).get("code")
            if code in {"Y", "N"}:
                return code == "Y"
    return None


def map_patient(resource: dict[str, Any], where: str) -> tuple[MappedPatient | None, list[Issue]]:
    """Our fields for a validated FHIR Patient, with errors (fatal) and warnings."""
    problems: list[Issue] = []
    names = resource.get("name") or []
    name = next((n for n in names if n.get("use") == "official"), names[0] if names else {})
    # A null among the given names is FHIR JSON's placeholder for a name part that has
    # only an extension (`_given`); R4's model accepts it, and it names nobody.
    given = " ".join(part for part in name.get("given") or [] if part).strip()
    family = (name.get("family") or "").strip()
    if not given and not family:
        problems.append(issue("The Patient has no name (family or given).", f"{where}.name"))
    birth_text = resource.get("birthDate")
    birth_date = None
    if not birth_text:
        problems.append(
            issue("The Patient has no birthDate; screening needs it.", f"{where}.birthDate")
        )
    else:
        try:
            birth_date = dt.date.fromisoformat(birth_text)
        except ValueError:
            problems.append(
                issue(
                    f"birthDate “{birth_text}” is not a full date (YYYY-MM-DD).",
                    f"{where}.birthDate",
                )
            )
    if birth_date and birth_date > dt.date.today():  # noqa: DTZ011 - a calendar date
        problems.append(issue("The birthDate is in the future.", f"{where}.birthDate"))

    language = None
    communications = resource.get("communication") or []
    preferred = next((c for c in communications if c.get("preferred")), None)
    chosen = preferred or (communications[0] if communications else None)
    if chosen:
        codings = (chosen.get("language") or {}).get("coding") or []
        raw = (codings[0].get("code") if codings else "") or ""
        primary = raw.split("-")[0].lower()
        if primary and is_language_code(primary):
            language = primary
        elif raw:
            problems.append(
                issue(
                    f"Language “{raw}” is not an ISO 639 code we know; kept the default.",
                    f"{where}.communication",
                    severity="warning",
                    code="code-invalid",
                )
            )

    phones: list[tuple[str, str]] = []
    email = ""
    for index, telecom in enumerate(resource.get("telecom") or []):
        value = (telecom.get("value") or "").strip()
        if telecom.get("system") == "phone" and value:
            # Read in PHONENUMBER_DEFAULT_REGION, remembered for the process (the
            # referral import's check: a bulk export repeats a clinic's lines).
            e164 = phone_e164(value)
            if e164 is None:
                problems.append(
                    issue(
                        "A phone number could not be read; it was skipped.",
                        f"{where}.telecom[{index}]",
                        severity="warning",
                    )
                )
                continue
            if e164 not in {n for n, _ in phones}:
                phones.append((e164, PHONE_KINDS.get(telecom.get("use", ""), "mobile")))
        elif telecom.get("system") == "email" and value and not email:
            try:
                if len(value) > 254:  # Patient.email's limit
                    raise ValidationError("too long")
                validate_email(value)
            except ValidationError:
                problems.append(
                    issue(
                        "An email address could not be read; it was skipped.",
                        f"{where}.telecom[{index}]",
                        severity="warning",
                    )
                )
                continue
            email = value

    identifiers = []
    for identifier in resource.get("identifier") or []:
        value = (identifier.get("value") or "").strip()
        if not value:
            continue
        is_mr = any(
            c.get("code") == "MR" for c in (identifier.get("type") or {}).get("coding") or []
        )
        identifiers.append((identifier.get("system") or "", value[:64], is_mr))

    if any(p["severity"] == "error" for p in problems) or birth_date is None:
        return None, problems
    return (
        MappedPatient(
            given_name=given[:100] or "(no given name)",
            family_name=family[:100] or "(no family name)",
            birth_date=birth_date,
            sex=GENDERS.get(resource.get("gender") or "", "unknown"),
            race_ethnicity=_categories(resource),
            preferred_language=language,
            interpreter_needed=_interpreter(resource),
            phones=phones,
            email=email,
            deceased=bool(resource.get("deceasedBoolean")) or "deceasedDateTime" in resource,
            identifiers=identifiers,
        ),
        problems,
    )
