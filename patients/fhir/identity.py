"""Who a resource is: its id in its feed, the patient each clinical resource refers to,
and the patient of ours a feed Patient is (linked, matched by MRN, or new)."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from outreach.messaging.stops import messages_cancel_pending
from patients.fhir.outcome import FhirImportError, Issue, issue
from patients.fhir.parse import CLINICAL_TYPES, BundleItem, resource_digest
from patients.fhir.patient_mapping import MappedPatient
from patients.models import (
    DemographicSource,
    FhirSource,
    LanguageStatus,
    Patient,
    PatientPhone,
    PatientSourceLink,
)
from patients.mrn import mrn_normalise, patient_with_mrn_for_update
from patients.names import name_normalise
from patients.services.patients import patient_race_set

REFERENCE = re.compile(r"(?:^|/)([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$")
UUID_URN = re.compile(r"^urn:uuid:([0-9A-Fa-f\-]{36})$")


def resource_identity(
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
    tail = REFERENCE.search(full_url)
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
    uuid = UUID_URN.match(full_url)
    if uuid:
        return uuid.group(1).lower(), None
    if full_url:
        return hashlib.sha256(full_url.encode()).hexdigest()[:40], None
    return resource_digest(resource)[:40], None


def patient_references_resolve(
    *,
    source: FhirSource,
    patients: list[BundleItem],
    clinical: list[BundleItem],
    full_urls: dict[str, tuple[str, str]],
    unreadable_patients: set[str],
) -> tuple[list[Issue], list[Issue]]:
    """Point each clinical resource at its patient: in the bundle, or known in this feed.

    Sets each clinical item's `patient_ref`; returns (errors, warnings).
    """
    errors: list[Issue] = []
    warnings: list[Issue] = []
    bundle_patients = {item.resource_id for item in patients}
    wanted: dict[str, list[tuple[BundleItem, str]]] = {}
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
            match = REFERENCE.search(reference)
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
    return errors, warnings


def _same_person(patient: Patient, mapped: MappedPatient) -> bool:
    return (
        name_normalise(patient.given_name) == name_normalise(mapped.given_name)
        and name_normalise(patient.family_name) == name_normalise(mapped.family_name)
        and patient.birth_date == mapped.birth_date
    )


def demographics_apply(patient: Patient, mapped: MappedPatient, *, names: bool = True) -> None:
    if names:
        patient.given_name = mapped.given_name
        patient.family_name = mapped.family_name
        patient.birth_date = mapped.birth_date
    patient.sex = mapped.sex
    patient.deceased = mapped.deceased
    if mapped.preferred_language:
        same = (
            patient.language_status == LanguageStatus.RECORDED
            and patient.preferred_language == mapped.preferred_language
        )
        patient.preferred_language = mapped.preferred_language
        patient.language_status = LanguageStatus.RECORDED
        if not (same and patient.language_source):
            # US Core's Patient.communication does not say who gave the language; a
            # stated source of the same language still holds.
            patient.language_source = DemographicSource.EHR_UNSTATED
    if mapped.interpreter_needed is not None:
        patient.interpreter_needed = mapped.interpreter_needed
    if mapped.email:
        patient.email = mapped.email


def _save_details(patient: Patient, mapped: MappedPatient, created: bool) -> None:
    if mapped.deceased and not created:
        # Nothing more goes to a patient the EHR reports as deceased.
        messages_cancel_pending(patient=patient, reason="patient deceased", suppress=True)
    if mapped.race_ethnicity:
        # US Core's race and ethnicity extensions do not say who answered.
        patient_race_set(
            patient=patient,
            categories=mapped.race_ethnicity,
            source=DemographicSource.EHR_UNSTATED,
        )
    known = set() if created else {str(n) for n in patient.phones.values_list("number", flat=True)}
    rank = 0 if created else len(known)
    new_phones = []
    for number, kind in mapped.phones:
        if number not in known:
            new_phones.append(PatientPhone(patient=patient, number=number, kind=kind, rank=rank))
            rank += 1
    PatientPhone.objects.bulk_create(new_phones)


def patient_link_or_create(
    source: FhirSource,
    item: BundleItem,
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
        demographics_apply(patient, mapped)
        patient.full_clean(validate_unique=False, validate_constraints=False)
        patient.save()
        _save_details(patient, mapped, created=False)
        link.content_hash = item.content_hash
        link.save(update_fields=["content_hash"])
        return patient, "updated"

    system, mrn = mapped.mrn_identifier(source.mrn_system)
    mrn = mrn_normalise(mrn)
    existing = patient_with_mrn_for_update(clinic=source.clinic, mrn=mrn) if mrn else None
    if existing is not None:
        other_id = (
            PatientSourceLink.objects.filter(source=source, patient=existing)
            .exclude(resource_id=item.resource_id)
            .values_list("resource_id", flat=True)
            .first()
        )
        if other_id is None and _same_person(existing, mapped):
            # The names agree (ignoring case and spacing): keep the clinic's spelling.
            demographics_apply(existing, mapped, names=False)
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
    demographics_apply(patient, mapped)
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
