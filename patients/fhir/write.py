"""Phase two: write everything in one transaction, in a number of queries that does not
grow with the number of clinical resources in the bundle."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import transaction

from config.enqueue import enqueue_on_commit
from navigator.models import User
from patients.fhir.identity import patient_link_or_create
from patients.fhir.outcome import Issue, issue
from patients.fhir.parse import BundleItem
from patients.models import (
    ClinicalResource,
    DataQualityWarning,
    FhirImport,
    FhirSource,
    Patient,
    PatientSourceLink,
)


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


def import_write(
    source: FhirSource,
    patient_items: list[BundleItem],
    clinical_items: list[BundleItem],
    result: FhirImportResult,
    now: dt.datetime,
    actor: User | None,
    origin: str,
) -> None:
    """Phase two in one transaction: the records, the import and its warnings."""
    with transaction.atomic():
        conflicts, touched = _records_write(source, patient_items, clinical_items, result, now)
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


def _records_write(
    source: FhirSource,
    patient_items: list[BundleItem],
    clinical_items: list[BundleItem],
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
        patient, outcome = patient_link_or_create(
            source, item, links.get(item.resource_id), result.warnings, conflicts
        )
        patient_by_ref[item.resource_id] = patient
        if outcome != "unchanged":
            touched.add(patient.pk)
        # The Patient resource is kept as received, like every other.
        items.append(
            BundleItem(
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
