"""Import a FHIR R4 Bundle (or single resource) from an EHR feed, all or nothing.

Phase one reads and checks everything and writes nothing: JSON, the Bundle,
each supported resource against the R4 model (fhir.resources' R4B classes, which
R4 content validates under), identities, and every reference to a patient.
Any error raises FhirImportError with an OperationOutcome issue per problem.
Phase two writes everything in one transaction, in a number of queries that
does not grow with the number of clinical resources in the bundle.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from fhir.resources import get_fhir_model_class as r5_model_class
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.resource import Resource as R4BResource
from fhir.resources.resource import Resource as R5Resource
from pydantic import ValidationError as PydanticValidationError

from config.enqueue import enqueue_on_commit
from navigator.models import User
from outreach.message_stops import messages_cancel_pending
from patients.caregaps.codes import KNOWN_SYSTEMS, normalise_system
from patients.fhir.outcome import FhirImportError, Issue, issue
from patients.fhir.patient_mapping import MappedPatient, map_patient
from patients.models import (
    ClinicalResource,
    DataQualityWarning,
    FhirImport,
    FhirSource,
    Patient,
    PatientPhone,
    PatientRaceEthnicity,
    PatientSourceLink,
)

CLINICAL_TYPES = {
    "Encounter": "subject",
    "Procedure": "subject",
    "Observation": "subject",
    "Condition": "subject",
    "ServiceRequest": "subject",
    "DeviceRequest": "subject",
    "MedicationRequest": "subject",
    "Coverage": "beneficiary",
}
BUNDLE_TYPES = {"transaction", "batch", "collection"}
MAX_BYTES = 20 * 1024 * 1024
_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
_REFERENCE = re.compile(r"(?:^|/)([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$")
_UUID_URN = re.compile(r"^urn:uuid:([0-9A-Fa-f\-]{36})$")
# Systems that describe the record rather than the clinical fact: no warning.
QUIET_SYSTEMS = ("http://terminology.hl7.org/", "urn:oid:2.16.840.1.113883.6.238", "urn:ietf:")
# R4 resource types that R4B (whose models validate R4 content) no longer has.
R4_ONLY_TYPES = frozenset(
    {
        "EffectEvidenceSynthesis", "RiskEvidenceSynthesis", "MedicinalProduct",
        "MedicinalProductAuthorization", "MedicinalProductContraindication",
        "MedicinalProductIndication", "MedicinalProductIngredient",
        "MedicinalProductInteraction", "MedicinalProductManufactured",
        "MedicinalProductPackaged", "MedicinalProductPharmaceutical",
        "MedicinalProductUndesirableEffect", "SubstanceSpecification",
    }
)  # fmt: skip


@dataclass
class _Item:
    expression: str
    resource_type: str
    resource_id: str
    resource: dict[str, Any]
    content_hash: str
    patient_ref: str = ""  # clinical resources: the patient's id in this feed
    mapped: MappedPatient | None = None


@dataclass
class FhirImportResult:
    """What one import did. Counts are of resources (the Patient resource included)."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    warnings: list[Issue] = field(default_factory=list)
    # (Patient id in the feed, our Patient pk) for every patient the bundle is about.
    patients: list[tuple[str, int]] = field(default_factory=list)
    fhir_import: FhirImport | None = None

    def summary(self) -> str:
        skipped = ", ".join(f"{count} {name}" for name, count in sorted(self.skipped.items()))
        return (
            f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged"
            + (f"; skipped {skipped}" if skipped else "")
            + (f"; {len(self.warnings)} warning(s)" if self.warnings else "")
        )


def _hash(resource: dict[str, Any]) -> str:
    canonical = json.dumps(resource, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _loc(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def _message(problem: Mapping[str, Any]) -> str:
    """pydantic's message for one problem, in words about FHIR (never the value sent)."""
    kind = problem.get("type", "")
    if kind in {"json_invalid", "model_type", "model_attributes_type", "dict_type"}:
        return "Expected a JSON object (a FHIR element) here."
    if kind == "list_type":
        return "Expected a JSON array here."
    if kind == "extra_forbidden":
        return "Not an element of this resource in FHIR R4."
    text = str(problem.get("msg", ""))
    if "does not match spec regex" in text:
        # fhir.resources: "Date value string does not match spec regex."
        name = text.removeprefix("Value error, ").split(" value string")[0]
        return FORMATS.get(name, f"Not a valid FHIR {name[:1].lower()}{name[1:]}.")
    return f"{str(problem['msg']).removeprefix('Value error, ').rstrip('.')}."


FORMATS = {
    "Date": "Not a valid FHIR date (YYYY, YYYY-MM or YYYY-MM-DD).",
    "DateTime": "Not a valid FHIR dateTime (e.g. 2025-03-02 or 2025-03-02T09:30:00-05:00).",
    "Instant": "Not a valid FHIR instant (e.g. 2025-03-02T09:30:00Z).",
    "Time": "Not a valid FHIR time (hh:mm:ss).",
}


@lru_cache(maxsize=512)
def is_resource_type(name: str) -> bool:
    """Whether `name` is a FHIR resource type (R4, R4B or R5), not a data type or a typo."""
    if name in R4_ONLY_TYPES:
        return True
    for lookup, base in ((get_fhir_model_class, R4BResource), (r5_model_class, R5Resource)):
        try:
            model = lookup(name)
        except (ValueError, KeyError, AttributeError, ImportError):
            continue
        if isinstance(model, type) and issubclass(model, base):
            return True
    return False


def _parse(payload: bytes) -> Any:
    if not payload.strip():
        raise FhirImportError([issue("The input is empty.", code="structure")])
    if len(payload) > MAX_BYTES:
        raise FhirImportError(
            [issue(f"The input is over {MAX_BYTES // (1024 * 1024)} MB.", code="too-costly")]
        )
    try:
        text = payload.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise FhirImportError(
            [issue(f"The input is not UTF-8 (byte {error.start}).", code="structure")]
        ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        truncated = error.pos >= len(text.rstrip()) - 1 or error.msg.startswith("Unterminated")
        ending = "; is the file truncated?" if truncated else ""
        raise FhirImportError(
            [
                issue(
                    f"Not valid JSON at line {error.lineno}, column {error.colno} "
                    f"({error.msg.removesuffix(' starting at')}){ending}",
                    code="structure",
                )
            ]
        ) from None
    except RecursionError:
        raise FhirImportError([issue("The JSON is nested too deeply.", code="structure")]) from None


def _entries(document: Any) -> tuple[list[tuple[str, dict[str, Any]]], str]:
    """(expression, entry) pairs and the Bundle type ("" for a single resource)."""
    if not isinstance(document, dict) or not isinstance(document.get("resourceType"), str):
        raise FhirImportError(
            [
                issue(
                    "Expected a FHIR resource: a JSON object with a resourceType.", code="structure"
                )
            ]
        )
    if document["resourceType"] != "Bundle":
        return [(document["resourceType"], {"resource": document})], ""
    bundle_type = document.get("type")
    if bundle_type not in BUNDLE_TYPES:
        said = f"Bundle.type “{bundle_type}”" if bundle_type else "A Bundle without a type"
        raise FhirImportError(
            [
                issue(
                    f"{said} cannot be imported; use transaction, batch or collection.",
                    "Bundle.type",
                    code="not-supported" if bundle_type else "required",
                )
            ]
        )
    entries = document.get("entry") or []
    if not isinstance(entries, list):
        raise FhirImportError([issue("Bundle.entry must be a list.", "Bundle.entry")])
    return [(f"Bundle.entry[{i}]", e) for i, e in enumerate(entries)], bundle_type


def _main_codings(resource: dict[str, Any]) -> list[tuple[str, Any]]:
    """(path, coding) for the codes the engine matches a resource by (fhirdata.primary_code)."""
    resource_type = resource.get("resourceType")
    found: list[tuple[str, Any]] = []

    def add(path: str, concept: Any) -> None:
        if isinstance(concept, dict) and isinstance(concept.get("coding"), list):
            found.extend((f"{path}.coding[{i}]", c) for i, c in enumerate(concept["coding"]))

    if resource_type == "Encounter":
        for index, concept in enumerate(resource.get("type") or []):
            add(f"type[{index}]", concept)
    elif resource_type == "DeviceRequest":
        add("codeCodeableConcept", resource.get("codeCodeableConcept"))
    elif resource_type == "MedicationRequest":
        if "medicationCodeableConcept" in resource:
            add("medicationCodeableConcept", resource["medicationCodeableConcept"])
        reference = str((resource.get("medicationReference") or {}).get("reference") or "")
        for index, contained in enumerate(resource.get("contained") or []):
            if reference.startswith("#") and contained.get("id") == reference[1:]:
                add(f"contained[{index}].code", contained.get("code"))
    elif resource_type != "Coverage":
        add("code", resource.get("code"))
    return found


def _check_codes(resource: dict[str, Any], where: str) -> list[Issue]:
    warnings = []
    for path, coding in _main_codings(resource):
        system = coding.get("system") if isinstance(coding, dict) else None
        if not system:
            warnings.append(
                issue(
                    "A code has no system; it is kept but can never match.",
                    f"{where}.{path}",
                    severity="warning",
                    code="code-invalid",
                )
            )
        elif normalise_system(system) not in KNOWN_SYSTEMS and not system.startswith(QUIET_SYSTEMS):
            warnings.append(
                issue(
                    f"Code system “{system}” is not one the engine knows; "
                    "the code is kept but never matched.",
                    f"{where}.{path}",
                    severity="warning",
                    code="code-invalid",
                )
            )
    return warnings


def _identity(
    entry: dict[str, Any], resource: dict[str, Any], bundle_type: str, where: str
) -> tuple[str, Issue | None]:
    """A resource's id in its feed, or the problem that keeps it from having one.

    In order: the id a transaction's PUT names; the resource's id; the id an
    absolute fullUrl ends with; for a Patient, its first identifier; the uuid of
    a urn:uuid fullUrl; and for anything else, a digest of its content.
    """
    resource_type = resource["resourceType"]
    expression = f"{where}.resource" if bundle_type else where
    request = entry.get("request") or {}
    method = str(request.get("method") or "").upper() if isinstance(request, dict) else ""
    if method == "DELETE":
        return "", issue("DELETE is not supported.", f"{where}.request", code="not-supported")
    if bundle_type == "transaction" and method == "PUT":
        match = re.match(r"^([A-Za-z]+)/([^/?]+)$", str(request.get("url") or ""))
        if not match or match.group(1) != resource_type:
            return "", issue(
                f"request.url must be “{resource_type}/<id>” for a PUT.", f"{where}.request.url"
            )
        return match.group(2), None
    if resource.get("id"):
        return str(resource["id"]), None
    full_url = str(entry.get("fullUrl") or "")
    tail = _REFERENCE.search(full_url)
    if tail and full_url.startswith(("http://", "https://")) and tail.group(1) == resource_type:
        return tail.group(2), None
    if resource_type == "Patient":
        identifiers = [
            i
            for i in resource.get("identifier") or []
            if isinstance(i, dict) and str(i.get("value") or "").strip()
        ]
        if not identifiers:
            # A urn:uuid is new with every export: it cannot recognise the patient again.
            return "", issue(
                "A Patient needs an id or an identifier to be recognised again.",
                expression,
                code="required",
            )
        first = identifiers[0]
        key = f"{first.get('system') or ''}|{str(first['value']).strip()}"
        return hashlib.sha256(key.encode()).hexdigest()[:40], None
    uuid = _UUID_URN.match(full_url)
    if uuid:
        return uuid.group(1).lower(), None
    if full_url:
        return hashlib.sha256(full_url.encode()).hexdigest()[:40], None
    return _hash(resource)[:40], None


def _read(
    source: FhirSource, payload: bytes
) -> tuple[list[_Item], list[_Item], Counter[str], list[Issue]]:
    """Phase one: everything checked, nothing written."""
    entries, bundle_type = _entries(_parse(payload))
    errors: list[Issue] = []
    warnings: list[Issue] = []
    skipped: Counter[str] = Counter()
    patients: list[_Item] = []
    clinical: list[_Item] = []
    full_urls: dict[str, tuple[str, str]] = {}
    seen: set[tuple[str, str]] = set()
    unreadable_patients: set[str] = set()

    def unreadable(entry: dict[str, Any], resource_id: str, where: str) -> None:
        # A Patient already reported: references to it are not errors of their own.
        resource_id = resource_id or f"#{where}"
        unreadable_patients.add(resource_id)
        if entry.get("fullUrl"):
            full_urls.setdefault(str(entry["fullUrl"]), ("Patient", resource_id))

    for where, entry in entries:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            errors.append(issue("The entry has no resource.", f"{where}.resource"))
            continue
        resource_type = resource["resourceType"]
        expression = f"{where}.resource" if bundle_type else where
        if resource_type != "Patient" and resource_type not in CLINICAL_TYPES:
            if is_resource_type(resource_type):
                skipped[resource_type] += 1
            else:
                errors.append(
                    issue(
                        f"“{resource_type[:64]}” is not a FHIR resource type.",
                        f"{expression}.resourceType",
                        code="not-supported",
                    )
                )
            continue
        try:
            get_fhir_model_class(resource_type).model_validate(resource)
        except PydanticValidationError as error:
            for detail in error.errors()[:20]:
                errors.append(issue(_message(detail), f"{expression}{_loc(detail['loc'])}"))
            if resource_type == "Patient":
                unreadable(entry, _identity(entry, resource, bundle_type, where)[0], where)
            continue
        resource_id, problem = _identity(entry, resource, bundle_type, where)
        if problem is not None:
            errors.append(problem)
            if resource_type == "Patient":
                unreadable(entry, resource_id, where)
            continue
        if not _ID.match(resource_id):
            errors.append(
                issue(f"“{resource_id[:80]}” is not a valid FHIR id.", f"{expression}.id")
            )
            continue
        if (resource_type, resource_id) in seen:
            errors.append(
                issue(
                    f"{resource_type}/{resource_id} appears twice in the bundle.",
                    expression,
                    code="duplicate",
                )
            )
            continue
        seen.add((resource_type, resource_id))
        full_url = str(entry.get("fullUrl") or "")
        if full_url:
            full_urls[full_url] = (resource_type, resource_id)
            # A relative reference resolves against the fullUrl's base (FHIR 2.36.4.1).
            tail = _REFERENCE.search(full_url)
            if tail and full_url.startswith(("http://", "https://")):
                full_urls.setdefault(
                    f"{tail.group(1)}/{tail.group(2)}", (resource_type, resource_id)
                )
        item = _Item(expression, resource_type, resource_id, resource, _hash(resource))
        if resource_type == "Patient":
            mapped, problems = map_patient(resource, expression)
            errors += [p for p in problems if p["severity"] == "error"]
            warnings += [p for p in problems if p["severity"] != "error"]
            item.mapped = mapped
            patients.append(item)
        else:
            warnings += _check_codes(resource, expression)
            clinical.append(item)

    # References to the patient: within the bundle, or already known in this feed.
    bundle_patients = {item.resource_id for item in patients}
    wanted: dict[str, list[tuple[_Item, str]]] = {}
    for item in clinical:
        field_name = CLINICAL_TYPES[item.resource_type]
        reference = str((item.resource.get(field_name) or {}).get("reference") or "")
        where = f"{item.expression}.{field_name}"
        if not reference:
            errors.append(
                issue(f"The {item.resource_type} names no patient.", where, code="required")
            )
            continue
        if reference in full_urls:
            target_type, target_id = full_urls[reference]
        else:
            match = _REFERENCE.search(reference)
            if match is None:
                errors.append(
                    issue(
                        f"“{reference[:100]}” is not a reference we can resolve.",
                        f"{where}.reference",
                        code="not-found",
                    )
                )
                continue
            target_type, target_id = match.group(1), match.group(2)
        if target_type != "Patient":
            errors.append(
                issue(
                    f"{field_name} must refer to a Patient, not a {target_type}.",
                    f"{where}.reference",
                )
            )
            continue
        item.patient_ref = target_id
        if target_id not in bundle_patients and target_id not in unreadable_patients:
            wanted.setdefault(target_id, []).append((item, where))
    if wanted:
        known = set(
            PatientSourceLink.objects.filter(
                source=source, resource_id__in=list(wanted)
            ).values_list("resource_id", flat=True)
        )
        sole_patient = patients[0].resource_id if len(patients) == 1 else None
        for target_id, items in wanted.items():
            if target_id in known:
                continue
            if sole_patient is not None:
                # A bundle about one patient (an EHR's per-patient export, CMS's test
                # cases): a dangling patient reference can only mean that patient.
                for item, where in items:
                    item.patient_ref = sole_patient
                    warnings.append(
                        issue(
                            f"Patient/{target_id} is not in this bundle; attributed to its only "
                            f"Patient, Patient/{sole_patient}.",
                            f"{where}.reference",
                            severity="warning",
                            code="not-found",
                        )
                    )
            else:
                for _item, where in items:
                    errors.append(
                        issue(
                            f"Patient/{target_id} is neither in this bundle nor known from "
                            f"feed “{source.key}”.",
                            f"{where}.reference",
                            code="not-found",
                        )
                    )
    if errors:
        raise FhirImportError(errors)
    return patients, clinical, skipped, warnings


def _same_person(patient: Patient, mapped: MappedPatient) -> bool:
    def norm(text: str) -> str:
        return " ".join(text.split()).casefold()

    return (
        norm(patient.given_name) == norm(mapped.given_name)
        and norm(patient.family_name) == norm(mapped.family_name)
        and patient.birth_date == mapped.birth_date
    )


def _apply_demographics(patient: Patient, mapped: MappedPatient, *, names: bool = True) -> None:
    if names:
        patient.given_name = mapped.given_name
        patient.family_name = mapped.family_name
        patient.birth_date = mapped.birth_date
    patient.sex = mapped.sex
    patient.deceased = mapped.deceased
    if mapped.preferred_language:
        patient.preferred_language = mapped.preferred_language
    if mapped.interpreter_needed is not None:
        patient.interpreter_needed = mapped.interpreter_needed
    if mapped.email:
        patient.email = mapped.email


def _save_details(patient: Patient, mapped: MappedPatient, created: bool) -> None:
    if mapped.deceased and not created:
        # Nothing more goes to a patient the EHR reports as deceased.
        messages_cancel_pending(patient=patient, reason="patient deceased", suppress=True)
    if mapped.race_ethnicity:
        if not created:
            PatientRaceEthnicity.objects.filter(patient=patient).delete()
        PatientRaceEthnicity.objects.bulk_create(
            [PatientRaceEthnicity(patient=patient, category=c) for c in mapped.race_ethnicity]
        )
    known = set() if created else {str(n) for n in patient.phones.values_list("number", flat=True)}
    rank = 0 if created else len(known)
    new_phones = []
    for number, kind in mapped.phones:
        if number not in known:
            new_phones.append(PatientPhone(patient=patient, number=number, kind=kind, rank=rank))
            rank += 1
    PatientPhone.objects.bulk_create(new_phones)


def _write_patient(
    source: FhirSource,
    item: _Item,
    link: PatientSourceLink | None,
    warnings: list[Issue],
    conflicts: list[tuple[Patient, Patient, str]],
) -> tuple[Patient, str]:
    """The patient for a feed Patient: (patient, "created" | "linked" | "updated" | "unchanged").

    (a) The feed's id is linked already: that patient, demographics updated if the
    resource changed. (b) Its MRN is a patient of the clinic with the same name
    and birth date who is not another id of this feed: linked to them. (c) The
    MRN is somebody else's (or another id's of this feed): a new patient without
    an MRN and a data-quality warning, never a merge. (d) Otherwise a new
    patient with that MRN.
    """
    mapped = item.mapped
    if mapped is None:  # excluded by phase one
        raise FhirImportError([issue("Patient could not be read.", item.expression)])
    if link is not None:
        patient = link.patient
        if link.content_hash == item.content_hash:
            return patient, "unchanged"
        _apply_demographics(patient, mapped)
        patient.full_clean(validate_unique=False, validate_constraints=False)
        patient.save()
        _save_details(patient, mapped, created=False)
        link.content_hash = item.content_hash
        link.save(update_fields=["content_hash"])
        return patient, "updated"

    system, mrn = mapped.mrn_identifier(source.mrn_system)
    existing = (
        Patient.objects.select_for_update().filter(clinic=source.clinic, mrn=mrn).first()
        if mrn
        else None
    )
    if existing is not None:
        other_id = (
            PatientSourceLink.objects.filter(source=source, patient=existing)
            .exclude(resource_id=item.resource_id)
            .values_list("resource_id", flat=True)
            .first()
        )
        if other_id is None and _same_person(existing, mapped):
            # The names agree (ignoring case and spacing): keep the clinic's spelling.
            _apply_demographics(existing, mapped, names=False)
            existing.full_clean(validate_unique=False, validate_constraints=False)
            existing.save()
            _save_details(existing, mapped, created=False)
            PatientSourceLink.objects.create(
                source=source,
                resource_id=item.resource_id,
                patient=existing,
                content_hash=item.content_hash,
            )
            return existing, "linked"
    patient = Patient(clinic=source.clinic, mrn="" if existing is not None else mrn)
    _apply_demographics(patient, mapped)
    patient.full_clean(validate_unique=False, validate_constraints=False)
    patient.save()
    _save_details(patient, mapped, created=True)
    PatientSourceLink.objects.create(
        source=source, resource_id=item.resource_id, patient=patient, content_hash=item.content_hash
    )
    if existing is not None:
        # Ids and the identifier's system only: the MRN itself is PHI.
        shared = (
            f"shares identifier {system or '(no system)'} (its MRN) with patient #{existing.pk}"
        )
        reason = (
            f"who is already Patient/{other_id} in this feed"
            if other_id is not None
            else "whose name or birth date differ"
        )
        message = f"Feed {source.key} Patient/{item.resource_id} {shared}, {reason}; not merged."
        conflicts.append((patient, existing, message))
        warnings.append(issue(message, item.expression, severity="warning", code="duplicate"))
    return patient, "created"


def fhir_import(
    *, source: FhirSource, payload: bytes, origin: str, actor: User | None
) -> FhirImportResult:
    """Import one bundle (or resource) from a feed; all or nothing, idempotent.

    Raises FhirImportError (nothing written) when the input cannot be imported.
    The same bundle again writes nothing at all, not even an import record.
    """
    patient_items, clinical_items, skipped, warnings = _read(source, payload)
    now = timezone.now()
    for attempt in (1, 2):
        result = FhirImportResult(skipped=dict(skipped), warnings=list(warnings))
        try:
            _write_all(source, patient_items, clinical_items, result, now, actor, origin)
        except ValidationError as error:
            raise FhirImportError(
                [
                    issue(f"{name}: {'; '.join(messages)}")
                    for name, messages in error.message_dict.items()
                ]
                if hasattr(error, "error_dict")
                else [issue("; ".join(error.messages))]
            ) from None
        except IntegrityError:
            # Another import created the same patient or resource a moment ago: the
            # second attempt sees it and updates (or leaves) it instead.
            if attempt == 1:
                continue
            raise FhirImportError(
                [
                    issue(
                        "Another import changed these records at the same time; send it again.",
                        code="conflict",
                    )
                ]
            ) from None
        break
    return result


def _write_all(
    source: FhirSource,
    patient_items: list[_Item],
    clinical_items: list[_Item],
    result: FhirImportResult,
    now: dt.datetime,
    actor: User | None,
    origin: str,
) -> None:
    """Phase two in one transaction: the records, the import and its warnings."""
    with transaction.atomic():
        conflicts, touched = _write(source, patient_items, clinical_items, result, now)
        if result.created or result.updated or conflicts:
            result.fhir_import = FhirImport.objects.create(
                source=source,
                received_at=now,
                received_by=actor if actor is not None and actor.pk else None,
                origin=origin[:300],
                created=result.created,
                updated=result.updated,
                unchanged=result.unchanged,
                skipped=result.skipped,
            )
        DataQualityWarning.objects.bulk_create(
            [
                DataQualityWarning(
                    source=source,
                    fhir_import=result.fhir_import,
                    kind=DataQualityWarning.Kind.IDENTIFIER_CONFLICT,
                    message=message[:500],
                    patient=new,
                    other_patient=existing,
                    created_at=now,
                )
                for new, existing, message in conflicts
            ]
        )
        if touched:
            changed = sorted(touched)
            enqueue_on_commit("patients.tasks.refresh_care_gaps_for", changed)


def _write(
    source: FhirSource,
    patient_items: list[_Item],
    clinical_items: list[_Item],
    result: FhirImportResult,
    now: dt.datetime,
) -> tuple[list[tuple[Patient, Patient, str]], set[int]]:
    """Phase two: patients, then every resource.

    Returns the identifier conflicts to record and the pks of the patients whose
    data changed.
    """
    links = {
        link.resource_id: link
        for link in PatientSourceLink.objects.select_related("patient").filter(
            source=source,
            resource_id__in=[i.resource_id for i in patient_items]
            + [i.patient_ref for i in clinical_items],
        )
    }
    conflicts: list[tuple[Patient, Patient, str]] = []
    patient_by_ref: dict[str, Patient] = {ref: link.patient for ref, link in links.items()}
    touched: set[int] = set()
    items = list(clinical_items)
    for item in patient_items:
        patient, outcome = _write_patient(
            source, item, links.get(item.resource_id), result.warnings, conflicts
        )
        patient_by_ref[item.resource_id] = patient
        if outcome != "unchanged":
            touched.add(patient.pk)
        # The Patient resource is kept as received, like every other.
        items.append(
            _Item(
                item.expression,
                "Patient",
                item.resource_id,
                item.resource,
                item.content_hash,
                patient_ref=item.resource_id,
            )
        )
    existing = {
        (row.resource_type, row.resource_id): row
        for row in ClinicalResource.objects.filter(
            source=source, resource_id__in=[i.resource_id for i in items]
        )
    }
    to_create, to_update = [], []
    for item in items:
        patient = patient_by_ref[item.patient_ref]
        row = existing.get((item.resource_type, item.resource_id))
        if row is None:
            to_create.append(
                ClinicalResource(
                    patient=patient,
                    source=source,
                    resource_type=item.resource_type,
                    resource_id=item.resource_id,
                    resource=item.resource,
                    content_hash=item.content_hash,
                    imported_at=now,
                    updated_at=now,
                )
            )
        elif row.content_hash != item.content_hash or row.patient_id != patient.pk:
            if row.patient_id != patient.pk:
                touched.add(row.patient_id)
                result.warnings.append(
                    issue(
                        f"{item.resource_type}/{item.resource_id} was filed under patient "
                        f"#{row.patient_id}; moved to patient #{patient.pk}.",
                        item.expression,
                        severity="warning",
                        code="business-rule",
                    )
                )
            row.patient = patient
            row.resource = item.resource
            row.content_hash = item.content_hash
            row.updated_at = now
            to_update.append(row)
        else:
            result.unchanged += 1
            continue
        touched.add(patient.pk)
    ClinicalResource.objects.bulk_create(to_create, batch_size=500)
    ClinicalResource.objects.bulk_update(
        to_update, ["patient", "resource", "content_hash", "updated_at"], batch_size=500
    )
    result.created = len(to_create)
    result.updated = len(to_update)
    if touched:
        Patient.objects.filter(pk__in=touched).update(clinical_data_changed_at=now)
    in_bundle = [i.resource_id for i in patient_items] + [i.patient_ref for i in clinical_items]
    result.patients = [(ref, patient_by_ref[ref].pk) for ref in dict.fromkeys(in_bundle)]
    return conflicts, touched
