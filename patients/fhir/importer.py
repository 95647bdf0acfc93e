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
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError as PydanticValidationError

from navigator.models import User
from patients.builtin_codes import KNOWN_SYSTEMS, normalise_system
from patients.fhir.outcome import FhirImportError, Issue, issue
from patients.fhir.patient_mapping import MappedPatient, map_patient
from patients.fhirdata import primary_code
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
# Systems that describe the record rather than the clinical fact: no warning.
QUIET_SYSTEMS = ("http://terminology.hl7.org/", "urn:oid:2.16.840.1.113883.6.238", "urn:ietf:")


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
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    warnings: list[Issue] = field(default_factory=list)
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
        raise FhirImportError(
            [
                issue(
                    f"Bundle.type “{bundle_type}” cannot be imported; "
                    "use transaction, batch or collection.",
                    "Bundle.type",
                    code="not-supported",
                )
            ]
        )
    entries = document.get("entry") or []
    if not isinstance(entries, list):
        raise FhirImportError([issue("Bundle.entry must be a list.", "Bundle.entry")])
    return [(f"Bundle.entry[{i}]", e) for i, e in enumerate(entries)], bundle_type


def _check_codes(resource: dict[str, Any], where: str) -> list[Issue]:
    concept = primary_code(resource)
    warnings = []
    for index, coding in enumerate((concept or {}).get("coding") or []):
        system = coding.get("system")
        if not system:
            warnings.append(
                issue(
                    "A code has no system; it cannot be matched.",
                    f"{where}.code.coding[{index}]",
                    severity="warning",
                    code="code-invalid",
                )
            )
        elif normalise_system(system) not in KNOWN_SYSTEMS and not system.startswith(QUIET_SYSTEMS):
            warnings.append(
                issue(
                    f"Code system “{system}” is not one the engine knows; kept, never matched.",
                    f"{where}.code.coding[{index}]",
                    severity="warning",
                    code="code-unknown",
                )
            )
    return warnings


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

    for where, entry in entries:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            errors.append(issue("The entry has no resource.", f"{where}.resource"))
            continue
        resource_type = resource["resourceType"]
        expression = f"{where}.resource" if bundle_type else where
        if resource_type != "Patient" and resource_type not in CLINICAL_TYPES:
            skipped[resource_type] += 1
            continue
        try:
            get_fhir_model_class(resource_type).model_validate(resource)
        except PydanticValidationError as error:
            for problem in error.errors()[:20]:
                errors.append(issue(f"{problem['msg']}.", f"{expression}{_loc(problem['loc'])}"))
            continue
        request = entry.get("request") or {}
        method = str(request.get("method") or "").upper()
        resource_id = ""
        if method == "DELETE":
            errors.append(
                issue("DELETE is not supported.", f"{where}.request", code="not-supported")
            )
            continue
        if bundle_type == "transaction" and method == "PUT":
            match = re.match(r"^([A-Za-z]+)/([^/?]+)$", str(request.get("url") or ""))
            if not match or match.group(1) != resource_type:
                errors.append(
                    issue(
                        f"request.url must be “{resource_type}/<id>” for a PUT.",
                        f"{where}.request.url",
                    )
                )
                continue
            resource_id = match.group(2)
        resource_id = resource_id or str(resource.get("id") or "")
        full_url = str(entry.get("fullUrl") or "")
        if not resource_id and full_url:
            resource_id = hashlib.sha256(full_url.encode()).hexdigest()[:40]
        if resource_type == "Patient" and not resource_id:
            identifiers = [i for i in resource.get("identifier") or [] if i.get("value")]
            if not identifiers:
                errors.append(
                    issue(
                        "A Patient needs an id or an identifier to be recognised again.",
                        expression,
                        code="required",
                    )
                )
                continue
            first = identifiers[0]
            resource_id = hashlib.sha256(
                f"{first.get('system', '')}|{first['value']}".encode()
            ).hexdigest()[:40]
        content_hash = _hash(resource)
        resource_id = resource_id or content_hash[:40]
        if not _ID.match(resource_id):
            errors.append(issue(f"“{resource_id}” is not a valid FHIR id.", f"{expression}.id"))
            continue
        if (resource_type, resource_id) in seen:
            errors.append(
                issue(f"{resource_type}/{resource_id} appears twice in the bundle.", expression)
            )
            continue
        seen.add((resource_type, resource_id))
        if full_url:
            full_urls[full_url] = (resource_type, resource_id)
            # A relative reference resolves against the fullUrl's base (FHIR 2.36.4.1).
            tail = _REFERENCE.search(full_url)
            if tail and full_url.startswith(("http://", "https://")):
                full_urls.setdefault(
                    f"{tail.group(1)}/{tail.group(2)}", (resource_type, resource_id)
                )
        item = _Item(expression, resource_type, resource_id, resource, content_hash)
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
                errors.append(issue(f"“{reference}” is not a reference we can resolve.", where))
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
        if target_id not in bundle_patients:
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


def _apply_demographics(patient: Patient, mapped: MappedPatient) -> None:
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
    if mapped.race_ethnicity:
        if not created:
            PatientRaceEthnicity.objects.filter(patient=patient).delete()
        PatientRaceEthnicity.objects.bulk_create(
            [PatientRaceEthnicity(patient=patient, category=c) for c in mapped.race_ethnicity]
        )
    known = set() if created else {str(n) for n in patient.phones.values_list("number", flat=True)}
    rank = 0 if created else patient.phones.count()
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
    """The patient for a feed Patient: (patient, "created" | "updated" | "unchanged")."""
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

    mrn = mapped.mrn(source.mrn_system)
    existing = (
        Patient.objects.select_for_update().filter(clinic=source.clinic, mrn=mrn).first()
        if mrn
        else None
    )
    if existing is not None:
        linked_elsewhere = (
            PatientSourceLink.objects.filter(source=source, patient=existing)
            .exclude(resource_id=item.resource_id)
            .exists()
        )
        if not linked_elsewhere and _same_person(existing, mapped):
            PatientSourceLink.objects.create(
                source=source,
                resource_id=item.resource_id,
                patient=existing,
                content_hash=item.content_hash,
            )
            _save_details(existing, mapped, created=False)
            return existing, "updated"
    patient = Patient(clinic=source.clinic, mrn="" if existing is not None else mrn)
    _apply_demographics(patient, mapped)
    patient.full_clean(validate_unique=False, validate_constraints=False)
    patient.save()
    _save_details(patient, mapped, created=True)
    PatientSourceLink.objects.create(
        source=source, resource_id=item.resource_id, patient=patient, content_hash=item.content_hash
    )
    if existing is not None:
        message = (
            f"Feed {source.key} Patient/{item.resource_id} shares its MRN with patient "
            f"#{existing.pk}, whose name, birth date or feed id differ; not merged."
        )
        conflicts.append((patient, existing, message))
        warnings.append(issue(message, item.expression, severity="warning", code="duplicate"))
    return patient, "created"


def fhir_import(
    *, source: FhirSource, payload: bytes, origin: str, actor: User | None
) -> FhirImportResult:
    """Import one bundle (or resource) from a feed; all or nothing, idempotent."""
    patient_items, clinical_items, skipped, warnings = _read(source, payload)
    result = FhirImportResult(skipped=dict(skipped), warnings=warnings)
    now = timezone.now()
    try:
        with transaction.atomic():
            conflicts = _write(source, patient_items, clinical_items, result, now)
            if result.created or result.updated or result.warnings:
                result.fhir_import = FhirImport.objects.create(
                    source=source,
                    received_by=actor,
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
            changed = [pk for _, pk in result.patients]
            if changed:
                transaction.on_commit(lambda: _refresh_later(changed))
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
        raise FhirImportError(
            [
                issue(
                    "Another import changed these records at the same time; send it again.",
                    code="conflict",
                )
            ]  # fmt: skip
        ) from None
    return result


def _refresh_later(patient_ids: list[int]) -> None:
    from patients.tasks import refresh_care_gaps_for

    refresh_care_gaps_for.delay(patient_ids)


def _write(
    source: FhirSource,
    patient_items: list[_Item],
    clinical_items: list[_Item],
    result: FhirImportResult,
    now: dt.datetime,
) -> list[tuple[Patient, Patient, str]]:
    """Phase two: patients, then every resource; returns identifier conflicts to record."""
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
    for item in patient_items:
        patient, outcome = _write_patient(
            source, item, links.get(item.resource_id), result.warnings, conflicts
        )
        patient_by_ref[item.resource_id] = patient
        if outcome != "unchanged":
            touched.add(patient.pk)
        # The Patient resource is kept as received, like every other.
        clinical_items = [*clinical_items, _Item(item.expression, "Patient", item.resource_id,
                                                 item.resource, item.content_hash,
                                                 item.resource_id)]  # fmt: skip
    existing = {
        (row.resource_type, row.resource_id): row
        for row in ClinicalResource.objects.filter(
            source=source, resource_id__in=[i.resource_id for i in clinical_items]
        )
    }
    to_create, to_update = [], []
    for item in clinical_items:
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
    result.patients = [(ref, p.pk) for ref, p in patient_by_ref.items() if p.pk in touched]
    return conflicts
